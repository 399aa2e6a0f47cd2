/*  market_view.h — the marketplace view: a pure, order-insensitive fold of
    market.post.{created,updated,expired} events (docs/market.md).

    State per post id (the .created event's ULID):
      - the .created event (if seen yet),
      - per author of .updated events, the LWW winner by (lamport, event_id)
        of each field (title, body, tags, location, ttl), the newest update
        (updated_at) and the set of update hashes (history); only the post
        author's are applied, the others are kept pending because the author
        may be unknown until the .created arrives,
      - expiry claims: per claiming author the smallest (lamport, event_id)
        claim,
      with at most MARKET_VIEW_MAX_CLAIMERS authors of each kind per post.
    Two .created with one id (a forged collision): the smaller (author key,
    event hash) wins.
    Whether a post is expired is decided at read time from the claims and the
    current membership view (docs/decisions/0008: the author may always expire; `stale`
    also counts from TRUSTED or ANCHOR members) and from now >= expires_at.
    A post dated more than EVENT_MAX_FUTURE_SKEW_MS after now is not live
    either (listed, searched and counted as active only from then on), so no
    post is live longer than its ttl (at most EVENT_MAX_TTL_SECONDS) plus
    the skew, whatever created_at it claims.
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
#include "market_search.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  Distinct expiry claimers remembered per post; more are counted, dropped. */
#define MARKET_VIEW_MAX_CLAIMERS  32
/*  Distinct .updated events of one author on one post counted in a post's
    history; beyond it the smallest event hashes are kept (order-free) and
    the count stays there. */
#define MARKET_VIEW_MAX_HISTORY   256
/*  Posts kept at most (active + expired tombstones). */
#define MARKET_VIEW_MAX_POSTS     1000000
/*  market.list limit default and cap (docs/protocol.md, "market.list"). */
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
    uint64_t       expired_via_lamport; /* lamport of that claim, 0 if none */
    const uint8_t *expired_by;       /* 32 bytes: that claim's author; NULL if none */
    uint64_t       expired_at_ms;    /* that claim's wall clock, 0 if none */
    uint64_t       updated_at_ms;    /* wall clock of the author's newest .updated, 0 if none */
    size_t         history;          /* the author's distinct .updated events (at most
                                        MARKET_VIEW_MAX_HISTORY), 0 if never edited */
    int            has_distance;     /* 1 if read with a location filter (market_near_t) */
    double         distance_km;      /* to its centre, if has_distance */
} market_post_t;

/*  A location filter ("near me", docs/market.md): posts whose effective
    location is within radius_km of (lat, lng) on the sphere
    (market_geo.h: haversine, mean Earth radius). A post without a
    location is left out. Values must pass market_geo_circle_init (lat
    -90..90, lng -180..180, 0 < radius_km <= 20037.5, all finite); an
    invalid one matches nothing. */
typedef struct {
    double lat, lng, radius_km;
    int    by_distance;              /* list: nearest first instead of newest first */
} market_near_t;

/*  A list query (docs/protocol.md, "market.list"). Tags match ANY: a post is listed if it
    has at least one of the given tags (case-insensitive); none = all. */
typedef struct {
    int          category;           /* 0 = any */
    const char *const *tags;
    size_t       n_tags;
    uint64_t     since_lamport;      /* exclusive: lamport > since_lamport */
    size_t       limit;              /* 0 = MARKET_LIST_DEFAULT_LIMIT; capped at MAX */
    const market_near_t *near;       /* borrowed; NULL = no location filter */
} market_query_t;

market_view_t *market_view_new (void);
void market_view_destroy (market_view_t **self_p);

/*  Fold one event (other types ignored). 0, HEARTH_ECAPACITY, HEARTH_ENOMEM. */
int  market_view_apply (market_view_t *self, const event_t *ev);
void market_view_reset (market_view_t *self);

/*  Active posts matching q (not expired by claim under `members`,
    now_ms < expires_at, created_at <= now_ms + EVENT_MAX_FUTURE_SKEW_MS),
    newest first by (lamport, event_id) descending. With q->near: only
    posts within its circle, each with distance_km, and with by_distance
    nearest first (equal distances newest first).
    Fills out[0..cap) and returns the count written. */
size_t market_view_list (market_view_t *self, const market_query_t *q, const membership_t *members,
                         uint64_t now_ms, market_post_t *out, size_t cap);

/*  Any post by id, expired or not: 0 and *out filled, or HEARTH_ENOTFOUND
    (also for a post whose .created has not arrived). */
int  market_view_get (market_view_t *self, const char *event_id, const membership_t *members,
                      market_post_t *out);

/*  1 if the post is not live at now_ms: expired by a valid claim or its
    ttl, or dated more than EVENT_MAX_FUTURE_SKEW_MS after now_ms. */
int  market_view_is_expired (const market_post_t *post, uint64_t now_ms);

/*  Visit every post with a .created (active or not); stop when fn != 0. */
typedef int (market_view_visit_fn) (void *arg, const market_post_t *post);
int  market_view_each (market_view_t *self, const membership_t *members, market_view_visit_fn *fn,
                       void *arg);

/*  The same, newest first by (lamport, event_id) descending. */
int  market_view_each_newest (market_view_t *self, const membership_t *members,
                              market_view_visit_fn *fn, void *arg);

/*  Highest lamport of any market event folded. */
uint64_t market_view_max_lamport (const market_view_t *self);
/*  Counts: posts with a .created; of them, active at now_ms. */
size_t market_view_count (const market_view_t *self);
size_t market_view_count_active (market_view_t *self, const membership_t *members, uint64_t now_ms);

/*  The canonical serialisation is a MarketSnapshot (posts sorted by id),
    streamed as records: a header (version, max_lamport), then one record
    per post (field 3's tag, length, MarketPostState). The records'
    concatenation is the MarketSnapshot's single pack, and so is any run of
    whole records: each unpacks as a MarketSnapshot. Costs 8 B per post
    and one record buffer, never a copy of the view.

    Call emit (arg, record, len) for each record in order (record borrowed
    for the call; each at most EVENTLOG_SNAPSHOT_RECORD_MAX bytes); stops
    at and returns emit's first error. 0, HEARTH_ENOMEM. */
int  market_view_records (market_view_t *self, eventlog_record_fn *emit, void *arg);
/*  The whole serialisation in one malloc'd buffer the caller frees (tests
    and tools; the log streams the records). */
int  market_view_snapshot (market_view_t *self, uint8_t **buf, size_t *len);

/*  Restore in parts: begin (any restore still open is dropped), then one
    chunk at a time, each a run of whole records in stream order (the
    first starts with the header; post ids strictly increase across
    chunks), then end. The new state is built aside: the view is unchanged
    until end with commit != 0 swaps it in (0, or HEARTH_ECORRUPT if a
    chunk failed or none had the header, the view unchanged). end with
    commit == 0 drops it (returns 0). chunk: 0, HEARTH_EDECODE,
    HEARTH_ECORRUPT, HEARTH_ENOMEM, HEARTH_EINVAL (no restore open, or a
    chunk failed already). */
typedef struct _market_view_restore_t market_view_restore_t;
int  market_view_restore_begin (market_view_t *self);
int  market_view_restore_chunk (market_view_t *self, const uint8_t *buf, size_t len);
int  market_view_restore_end (market_view_t *self, int commit);
/*  Replace state from a whole serialisation (begin, one chunk, end). 0,
    HEARTH_EDECODE, HEARTH_ECORRUPT; on error the view is unchanged. */
int  market_view_restore (market_view_t *self, const uint8_t *buf, size_t len);
/*  BLAKE2b-256 of the canonical serialisation, hashed record by record:
    equal state, equal digest. */
int  market_view_digest (market_view_t *self, uint8_t out [32]);

/*  Relevance search (market_search: BM25 over folded, stemmed words and
    trigrams) among active posts. The view keeps the index in step with the
    posts, lazily: posts changed since the last call are (re)indexed first.
    Fills out[0..k) and scores[0..k) (both borrowed views of the state, like
    list), best first; returns the count, or HEARTH_ENOMEM. k is capped at
    MARKET_SEARCH_MAX_K. */
int  market_view_search (market_view_t *self, const char *query, size_t k,
                         const membership_t *members, uint64_t now_ms,
                         market_post_t *out, double *scores);

/*  The same among the posts within near's circle (NULL = all), each
    with distance_km: the k most relevant of them, best first. */
int  market_view_search_near (market_view_t *self, const char *query, size_t k,
                              const market_near_t *near, const membership_t *members,
                              uint64_t now_ms, market_post_t *out, double *scores);

/*  Bytes the spatial index holds, and the posts in it (0 before the
    first query with a location filter). */
size_t market_view_geo_bytes (const market_view_t *self);
size_t market_view_geo_size (const market_view_t *self);

/*  The search resources (both borrowed until the next call or destroy;
    NULL = none): the lexicon (compound parts, translations, synonyms) and
    the community synonyms. A new lexicon re-indexes every post at the next
    search; new synonyms take effect at once. */
void market_view_set_search (market_view_t *self, const market_lexicon_t *lexicon,
                             const market_synonyms_t *synonyms);
/*  Bytes the search index holds (0 before the first search). */
size_t market_view_search_bytes (const market_view_t *self);
/*  Approximate bytes the view holds, search index excluded: post slabs
    (allocated), each post's payload block, updates and claims, the id and
    author tables, the order index and the dirty bitmap (not the strings of
    updates). Walks every post (bench_market prints its cost and the heap it
    estimates): for the stats, not a hot path. */
size_t market_view_bytes (const market_view_t *self);

/*  Update/expiry records dropped because a post already had
    MARKET_VIEW_MAX_CLAIMERS other authors (kept: the smallest author keys,
    so the kept set does not depend on arrival order). Since new/reset. */
uint64_t market_view_dropped (const market_view_t *self);

/*  Fill an eventlog_view_t whose ctx is self (name "market"). */
void market_view_as_eventlog_view (market_view_t *self, eventlog_view_t *view);

#ifdef __cplusplus
}
#endif
#endif
