/*  market_view.h — the marketplace view: a pure, order-insensitive fold of
    market.post.{created,updated,expired} events (M06 §3.2, DESIGN §7).

    State per post id (the .created event's ULID):
      - the .created event (if seen yet),
      - the LWW winner of .updated events by (lamport, event_id) from the
        post's author (updates seen before their .created are kept pending
        and judged once the author is known),
      - expiry claims: per claiming author the smallest (lamport, event_id)
        claim, at most MARKET_VIEW_MAX_CLAIMERS per post.
    Whether a post is expired is decided at read time from the claims and the
    current membership view (M06 §4.4: the author may always expire; `stale`
    also counts from TRUSTED or ANCHOR members) and from now >= expires_at.
    So the same event set gives the same state in any arrival order, and the
    state digest is equal across nodes. No I/O, no clock: time is an argument.
*/
#ifndef HEARTH_MARKET_VIEW_H
#define HEARTH_MARKET_VIEW_H

#include <stddef.h>
#include <stdint.h>
#include "event.h"
#include "eventlog.h"
#include "membership.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  Distinct expiry claimers remembered per post; more are counted, dropped. */
#define MARKET_VIEW_MAX_CLAIMERS  32
/*  Posts kept at most (active + expired tombstones). */
#define MARKET_VIEW_MAX_POSTS     1000000
/*  market.list limit default and cap (CONTRACT §4.11). */
#define MARKET_LIST_DEFAULT_LIMIT 50
#define MARKET_LIST_MAX_LIMIT     500

typedef struct _market_view_t market_view_t;

/*  A post as read from the view; all pointers borrowed from the view until
    its next apply/restore/reset/destroy. */
typedef struct {
    const char    *event_id;         /* ULID of the .created event */
    uint64_t       lamport;
    const uint8_t *author;           /* 32 bytes */
    int            category;         /* HEARTH__CATEGORY__* */
    const char    *title;
    const char    *body;
    int            has_location;
    double         lat, lng;
    const char    *label;
    const char   *const *tags;       /* n_tags entries */
    size_t         n_tags;
    uint64_t       created_at_ms;    /* the .created event's wall clock */
    uint64_t       expires_at_ms;    /* created_at + ttl_seconds * 1000 (saturating) */
    const char    *expired_via_event_id; /* NULL unless expired by a valid claim */
    int            expiry_reason;    /* HEARTH__EXPIRY_REASON__*, 0 if none */
} market_post_t;

/*  A list query (CONTRACT §4.11). Tags match ANY: a post is listed if it
    has at least one of the given tags (case-insensitive); none = all. */
typedef struct {
    int          category;           /* 0 = any */
    const char *const *tags;
    size_t       n_tags;
    uint64_t     since_lamport;      /* exclusive: lamport > since_lamport */
    size_t       limit;              /* 0 = MARKET_LIST_DEFAULT_LIMIT; capped at MAX */
} market_query_t;

market_view_t *market_view_new (void);
void market_view_destroy (market_view_t **self_p);

/*  Fold one event (other types ignored). 0, HEARTH_ECAPACITY, HEARTH_ENOMEM. */
int  market_view_apply (market_view_t *self, const event_t *ev);
void market_view_reset (market_view_t *self);

/*  Active posts matching q (not expired by claim under `members`, and
    now_ms < expires_at), newest first by (lamport, event_id) descending.
    Fills out[0..cap) and returns the count written. */
size_t market_view_list (market_view_t *self, const market_query_t *q, const membership_t *members,
                         uint64_t now_ms, market_post_t *out, size_t cap);

/*  Any post by id, expired or not: 0 and *out filled, or HEARTH_ENOTFOUND
    (also for a post whose .created has not arrived). */
int  market_view_get (market_view_t *self, const char *event_id, const membership_t *members,
                      market_post_t *out);

/*  1 if the post is expired for `members` at now_ms (by valid claim or ttl). */
int  market_view_is_expired (const market_post_t *post, uint64_t now_ms);

/*  Visit every post with a .created (active or not); stop when fn != 0. */
typedef int (market_view_visit_fn) (void *arg, const market_post_t *post);
int  market_view_each (market_view_t *self, const membership_t *members, market_view_visit_fn *fn,
                       void *arg);

/*  Highest lamport of any market event folded. */
uint64_t market_view_max_lamport (const market_view_t *self);
/*  Counts: posts with a .created; of them, active at now_ms. */
size_t market_view_count (const market_view_t *self);
size_t market_view_count_active (market_view_t *self, const membership_t *members, uint64_t now_ms);

/*  Canonical serialisation (MarketSnapshot, posts sorted by id) into a
    malloc'd buffer the caller frees. */
int  market_view_snapshot (market_view_t *self, uint8_t **buf, size_t *len);
/*  Replace state from a snapshot. 0, HEARTH_EDECODE, HEARTH_ECORRUPT. */
int  market_view_restore (market_view_t *self, const uint8_t *buf, size_t len);
/*  BLAKE2b-256 of the canonical serialisation: equal state, equal digest. */
int  market_view_digest (market_view_t *self, uint8_t out [32]);

/*  Fill an eventlog_view_t whose ctx is self (name "market"). */
void market_view_as_eventlog_view (market_view_t *self, eventlog_view_t *view);

#ifdef __cplusplus
}
#endif
#endif
