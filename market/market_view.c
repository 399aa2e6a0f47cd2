/*  market_view.c — the marketplace view: an order-insensitive fold of the
    market.post.* events (see market_view.h and docs/market.md).

    Layout: every post id seen (by a .created, .updated or .expired) has one
    s_post_t, numbered in order of arrival and kept in slabs that never move
    (s_post_at), found by id through `by_id` (market_idx: 8 bytes a post, the
    id read back from the post). Posts with a .created are also in `order`
    (market_order: chunked, sorted by (lamport, event_id)), so list walks it
    newest first and stops at since_lamport without sorting, and any
    arrival order costs O(log n) per insert. The search index is brought up
    to date lazily from the `dirty` bitmap (a bit per post). A .created's
    payload lives in one block found by offsets; its author is a pointer
    into the view's author table (each key once).
    What can be derived is not stored: the effective content (the .created
    with the author's winning updates) and expires_at are computed when a
    post is read, and the readers' pointers point into the block, the
    author table or the updates, so they stay valid until the next apply,
    restore or reset. A view holds up to a million posts
    (MARKET_VIEW_MAX_POSTS), so every byte of s_post_t costs ~1 MB
    (docs/performance.md "Market view memory").

    Why the fold is order-insensitive: every piece of state is a function of
    the event *set*: the .created winner is the minimum (author, hash), each
    update field is a max by (lamport, event_id) per author, each claim a
    min by (lamport, event_id) per author, the kept authors are the
    MARKET_VIEW_MAX_CLAIMERS smallest keys, max_lamport is a max. What
    depends on membership (is a claim valid?) is decided at read time.
*/
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "hearth_error.h"
#include "market_idx.h"
#include "market_order.h"
#include "market_search.h"
#include "market_text.h"
#include "market_util.h"
#include "market_view.h"

/*  Capacity of a growable array on its first allocation. */
#define S_FIRST_CAP 16

/*  ttl_seconds 0 in a .created means the contract default (CONTRACT §3,
    7 days). A constant, never the node's config: every node must compute
    the same expires_at. */
#define S_DEFAULT_TTL_SECONDS 604800
/*  MarketSnapshot.version written and accepted. */
#define S_SNAPSHOT_VERSION    1
/*  The three market event types as an eventlog_view_t mask. */
#define S_TYPES_MASK ((1u << HEARTH__EVENT_TYPE__MARKET_POST_CREATED) \
                    | (1u << HEARTH__EVENT_TYPE__MARKET_POST_UPDATED) \
                    | (1u << HEARTH__EVENT_TYPE__MARKET_POST_EXPIRED))

/*  A (lamport, event_id) stamp; event_id NULL = none. */
typedef struct {
    char     *event_id;             /* owned */
    uint64_t  lamport;
} s_stamp_t;

/*  The field winners of one author's .updated events on a post. */
typedef struct {
    uint8_t   author [32];
    s_stamp_t title_at, body_at, tags_at, loc_at;
    char     *title;                /* owned, valid if title_at set */
    char     *body;                 /* owned, valid if body_at set */
    char    **tags;                 /* owned (each and array), valid if tags_at set */
    size_t    n_tags;
    double    lat, lng;             /* valid if loc_at set */
    char     *label;                /* owned */
} s_upd_t;

typedef struct {
    uint8_t   author [32];
    char     *event_id;             /* owned */
    uint64_t  lamport;
    int       reason;
} s_claim_t;

/*  The payload of the winning .created, in one block:
        ttl_seconds         a uint64, as in the event (0 = default)
        [lat, lng]          2 doubles, if has_loc
        tags array          max (n_tags, 1) pointers into the block
        client_id, title, body, label, the tags (lower-cased)
                            NUL-terminated strings (label "" if none)
    Offsets, not pointers, find the parts: 2 bytes instead of 8 each. A
    block is at most a few KiB (an event is at most EVENT_MAX_BYTES, a
    restored one is checked against the field limits), so they fit. The
    ttl is in the block too: s_post_t is then 152 bytes, a 160-byte malloc
    chunk instead of 176, and the block's chunk mostly has the room. */
typedef struct {
    char       *block;              /* owned */
    int32_t     category;
    uint16_t    tags_at, client_id_at, title_at, body_at, label_at;
    uint8_t     n_tags;             /* <= EVENT_MAX_TAGS */
    uint8_t     has_loc;
} s_created_t;

/*  One post id's state. Kept small: a 1M-post view holds a million of
    these (docs/performance.md "Market view memory"). What is derived (the
    effective content, expires_at) is computed at read time. */
typedef struct {
    char        id [ULID_SIZE];     /* the post id, NUL-terminated */
    uint8_t     created;            /* 1 if a .created won; the rest valid then */
    //  Pending and applied updates, claims: sorted by author
    uint8_t     n_upds;             /* <= MARKET_VIEW_MAX_CLAIMERS */
    uint8_t     n_claims;           /* <= MARKET_VIEW_MAX_CLAIMERS */
    s_upd_t    *upds;               /* owned; NULL if none */
    s_claim_t  *claims;             /* owned; NULL if none */
    //  The winning .created (valid if created)
    uint64_t    lamport, wall_ms;
    const uint8_t *author;          /* 32 bytes, in the view's author table */
    uint8_t     hash [32];
    s_created_t cr;
} s_post_t;

_Static_assert (MARKET_VIEW_MAX_POSTS - 1 <= MARKET_IDX_MAX_INDEX, "post indices fit market_idx");
_Static_assert (MARKET_VIEW_MAX_CLAIMERS <= UINT8_MAX, "n_upds and n_claims are uint8_t");
_Static_assert (EVENT_MAX_TAGS <= UINT8_MAX, "s_created_t.n_tags is a uint8_t");

/*  The effective content of a post: the .created's fields, each replaced
    by the post author's winning update of it. Pointers borrowed from the
    post (its block or its s_upd_t), so valid as long as it is unchanged. */
typedef struct {
    const char        *title, *body, *label;
    const char *const *tags;
    size_t             n_tags;
    int                has_loc;
    double             lat, lng;
} s_content_t;

/*  Posts live in slabs, so a post costs its size and no malloc chunk
    header or pointer: slab k holds 2^(S_SLAB_FIRST_SHIFT + k) posts, up to
    2^S_SLAB_MAX_SHIFT, then every slab that many (s_slab_of). Slabs never
    move (a post's address is in the order index and in what readers
    borrow) and are freed only all at once: a view never drops one post. */
#define S_SLAB_FIRST_SHIFT 4        /* 16 posts, so a small view stays small */
#define S_SLAB_MAX_SHIFT   12       /* 4096 posts, ~600 KB: at most that unused */
/*  Slabs before the fixed-size ones, and the posts they hold (8176). */
#define S_SLAB_GROWING     (S_SLAB_MAX_SHIFT - S_SLAB_FIRST_SHIFT + 1)
#define S_SLAB_GROWING_POSTS (((size_t) 1 << S_SLAB_FIRST_SHIFT) * (((size_t) 1 << S_SLAB_GROWING) - 1))

struct _market_view_t {
    s_post_t       **slabs;         /* owned (array and slabs); post i at s_post_at */
    size_t           n_slabs, cap_slabs;
    size_t           n_posts;
    market_idx_t    *by_id;         /* owned; id -> post index (keys: the posts' ids) */
    //  Authors of .created, each once (a community has far fewer authors
    //  than posts: a key per post was 24 bytes more than a pointer)
    uint8_t        **authors;       /* owned (array and each 32-byte key); never move */
    size_t           n_authors, cap_authors;
    market_idx_t    *by_author;     /* owned; key -> index in authors */
    market_order_t  *order;         /* owned; (lamport, id) -> borrowed post */
    uint64_t        *dirty;         /* owned bitmap: bit i = post i changed since the
                                       index saw it; cap_dirty words cover n_posts */
    size_t           n_dirty, cap_dirty;  /* bits set; words allocated (zeroed) */
    market_search_t *index;         /* owned; NULL until first needed */
    uint64_t         max_lamport;
    uint64_t         dropped;
    market_view_restore_t *restoring; /* owned; NULL unless a restore is open */
};

/* ---- small helpers ------------------------------------------------------ */

/*  (lamport, id) order; NULL id sorts first (= no stamp). */
static int
s_stamp_cmp (uint64_t la, const char *ia, uint64_t lb, const char *ib)
{
    if (la != lb)
        return la < lb? -1: 1;
    if (!ia || !ib)
        return ia? 1: ib? -1: 0;
    return strcmp (ia, ib);
}

static void
s_strv_free (char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free (v [i]);
    free (v);
}

/*  Lower-cased copies of tags; NULL on OOM (n == 0 gives a 1-slot array). */
static char **
s_tags_copy (char *const *tags, size_t n)
{
    char **out = (char **) calloc (n? n: 1, sizeof (char *));
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen (tags [i]);
        out [i] = (char *) malloc (len + 1);
        if (!out [i]) {
            s_strv_free (out, i);
            return NULL;
        }
        //  Never grows, so len + 1 is enough
        int rc = market_text_lower (tags [i], len, out [i], len + 1);
        assert (rc >= 0);
        (void) rc;
    }
    return out;
}

static char *
s_strdup0 (const char *s)
{
    return strdup (s? s: "");
}

static void
s_upd_clear (s_upd_t *u)
{
    free (u->title_at.event_id);
    free (u->body_at.event_id);
    free (u->tags_at.event_id);
    free (u->loc_at.event_id);
    free (u->title);
    free (u->body);
    s_strv_free (u->tags, u->n_tags);
    free (u->label);
    memset (u, 0, sizeof *u);
}

static const char *
s_str (const char *s)
{
    return s? s: "";
}

/*  Copy s into block at *at (advanced); returns the copy's offset. */
static uint16_t
s_put (char *block, size_t *at, const char *s)
{
    size_t n = strlen (s) + 1;
    memcpy (block + *at, s, n);
    uint16_t copy = (uint16_t) *at;
    *at += n;
    return copy;
}

/*  Build a created payload (tags lower-cased) in one allocation. */
static int
s_created_build (const Hearth__MarketPostCreated *c, s_created_t *out)
{
    const char *label = c->location? s_str (c->location->label): "";
    size_t n_tags = c->n_tags;
    size_t head = sizeof (uint64_t) + (c->location? 2 * sizeof (double): 0);
    size_t need = head + (n_tags? n_tags: 1) * sizeof (char *) + strlen (s_str (c->client_id))
                + strlen (s_str (c->title)) + strlen (s_str (c->body)) + strlen (label) + 4;
    for (size_t i = 0; i < n_tags; i++)
        need += strlen (s_str (c->tags [i])) + 1;
    //  The fold and restore take only events and states within the field
    //  limits (EVENT_MAX_*), some KiB in all, so offsets fit in 16 bits
    assert (need <= UINT16_MAX && n_tags <= EVENT_MAX_TAGS);
    char *block = (char *) malloc (need);
    if (!block)
        return HEARTH_ENOMEM;
    memset (out, 0, sizeof *out);
    out->block = block;
    uint64_t ttl = c->ttl_seconds;
    memcpy (block, &ttl, sizeof ttl);
    if (c->location) {
        double loc [2] = { c->location->lat, c->location->lng };
        memcpy (block + sizeof ttl, loc, sizeof loc);
    }
    out->tags_at = (uint16_t) head;
    char **tags = (char **) (block + head);
    size_t at = head + (n_tags? n_tags: 1) * sizeof (char *);
    for (size_t i = 0; i < n_tags; i++) {
        const char *tag = s_str (c->tags [i]);
        size_t len = strlen (tag);
        //  Lower-casing never grows the text, so len + 1 is enough
        int n = market_text_lower (tag, len, block + at, len + 1);
        assert (n >= 0);
        tags [i] = block + at;
        at += (size_t) n + 1;
    }
    out->n_tags = (uint8_t) n_tags;
    out->client_id_at = s_put (block, &at, s_str (c->client_id));
    out->title_at = s_put (block, &at, s_str (c->title));
    out->body_at = s_put (block, &at, s_str (c->body));
    out->label_at = s_put (block, &at, label);
    assert (at <= need);
    out->category = c->category;
    out->has_loc = c->location != NULL;
    return 0;
}

/*  The parts of a created payload. */
static const char *
s_cr_client_id (const s_created_t *cr)
{
    return cr->block + cr->client_id_at;
}

static const char *
s_cr_title (const s_created_t *cr)
{
    return cr->block + cr->title_at;
}

static const char *
s_cr_body (const s_created_t *cr)
{
    return cr->block + cr->body_at;
}

static const char *
s_cr_label (const s_created_t *cr)
{
    return cr->block + cr->label_at;
}

static char **
s_cr_tags (const s_created_t *cr)
{
    return (char **) (cr->block + cr->tags_at);
}

static uint64_t
s_cr_ttl_seconds (const s_created_t *cr)
{
    uint64_t ttl;
    memcpy (&ttl, cr->block, sizeof ttl);
    return ttl;
}

/*  Latitude, longitude: 0 unless has_loc. */
static double
s_cr_lat (const s_created_t *cr)
{
    double loc [2] = { 0, 0 };
    if (cr->has_loc)
        memcpy (loc, cr->block + sizeof (uint64_t), sizeof loc);
    return loc [0];
}

static double
s_cr_lng (const s_created_t *cr)
{
    double loc [2] = { 0, 0 };
    if (cr->has_loc)
        memcpy (loc, cr->block + sizeof (uint64_t), sizeof loc);
    return loc [1];
}

static void
s_created_clear (s_post_t *p)
{
    free (p->cr.block);
    memset (&p->cr, 0, sizeof p->cr);
    p->created = 0;
}

/*  Free what a post owns (not the post: its slab holds it). */
static void
s_post_clear (s_post_t *p)
{
    s_created_clear (p);
    for (size_t i = 0; i < p->n_upds; i++)
        s_upd_clear (&p->upds [i]);
    free (p->upds);
    for (size_t i = 0; i < p->n_claims; i++)
        free (p->claims [i].event_id);
    free (p->claims);
}

/*  The slab and the position in it of post i. */
static void
s_slab_of (size_t i, size_t *slab, size_t *pos)
{
    if (i < S_SLAB_GROWING_POSTS) {
        //  Slab k starts at 2^FIRST (2^k - 1): k = floor (log2 (i / 2^FIRST + 1))
        size_t q = (i >> S_SLAB_FIRST_SHIFT) + 1;
        *slab = (size_t) (63 - __builtin_clzll ((unsigned long long) q));
        *pos = i - (((size_t) 1 << *slab) - 1) * ((size_t) 1 << S_SLAB_FIRST_SHIFT);
    }
    else {
        size_t j = i - S_SLAB_GROWING_POSTS;
        *slab = S_SLAB_GROWING + (j >> S_SLAB_MAX_SHIFT);
        *pos = j & (((size_t) 1 << S_SLAB_MAX_SHIFT) - 1);
    }
}

/*  Post i (< n_posts). */
/*  by_author's keys. */
static const void *
s_author_key_of (const void *arg, uint32_t index)
{
    const market_view_t *self = (const market_view_t *) arg;
    assert (index < self->n_authors);
    return self->authors [index];
}

/*  The view's copy of an author key (added if new): 0 and *out, or
    HEARTH_ENOMEM. */
static int
s_author_intern (market_view_t *self, const uint8_t key [32], const uint8_t **out)
{
    market_idx_keys_t keys = { s_author_key_of, self };
    uint32_t at;
    if (market_idx_get (self->by_author, key, &keys, &at) == 0) {
        *out = self->authors [at];
        return 0;
    }
    uint8_t *copy = (uint8_t *) malloc (32);
    if (!copy
    ||  market_util_reserve ((void **) &self->authors, &self->cap_authors, self->n_authors + 1,
                             sizeof (uint8_t *), S_FIRST_CAP)) {
        free (copy);
        return HEARTH_ENOMEM;
    }
    memcpy (copy, key, 32);
    self->authors [self->n_authors] = copy;
    if (market_idx_put (self->by_author, copy, (uint32_t) self->n_authors, &keys)) {
        free (copy);
        return HEARTH_ENOMEM;
    }
    self->n_authors++;
    *out = copy;
    return 0;
}

static s_post_t *
s_post_at (const market_view_t *self, size_t i)
{
    assert (i < self->n_posts);
    size_t slab, pos;
    s_slab_of (i, &slab, &pos);
    return &self->slabs [slab][pos];
}

/* ---- lifecycle ------------------------------------------------------------ */

/*  The order index's items are posts. */
static const char *
s_order_id (const void *item)
{
    return ((const s_post_t *) item)->id;
}

static void s_restore_free (market_view_restore_t **r_p);

market_view_t *
market_view_new (void)
{
    market_view_t *self = (market_view_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->by_id = market_idx_new (0);
    self->by_author = market_idx_new (32);
    self->order = market_order_new (s_order_id);
    if (!self->by_id || !self->by_author || !self->order) {
        market_view_destroy (&self);
        return NULL;
    }
    return self;
}

static void
s_free_state (market_view_t *self)
{
    for (size_t i = 0; i < self->n_posts; i++)
        s_post_clear (s_post_at (self, i));
    for (size_t i = 0; i < self->n_slabs; i++)
        free (self->slabs [i]);
    free (self->slabs);
    for (size_t i = 0; i < self->n_authors; i++)
        free (self->authors [i]);
    free (self->authors);
    self->authors = NULL;
    self->n_authors = self->cap_authors = 0;
    if (self->by_author)
        market_idx_clear (self->by_author);
    free (self->dirty);
    market_search_destroy (&self->index);
    if (self->order)
        market_order_clear (self->order);
    self->slabs = NULL;
    self->dirty = NULL;
    self->n_slabs = self->cap_slabs = self->n_posts = 0;
    self->n_dirty = self->cap_dirty = 0;
    self->max_lamport = 0;
    self->dropped = 0;
}

void
market_view_destroy (market_view_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    market_view_t *self = *self_p;
    s_restore_free (&self->restoring);
    s_free_state (self);
    market_idx_destroy (&self->by_id);
    market_idx_destroy (&self->by_author);
    market_order_destroy (&self->order);
    free (self);
    *self_p = NULL;
}

void
market_view_reset (market_view_t *self)
{
    s_free_state (self);
    market_idx_clear (self->by_id);
}

/* ---- effective content, expiry -------------------------------------------- */

static const s_upd_t *
s_upd_of (const s_post_t *p, const uint8_t author [32])
{
    size_t lo = 0, hi = p->n_upds;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = memcmp (p->upds [mid].author, author, 32);
        if (c == 0)
            return &p->upds [mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/*  The effective content of a created post: the .created's fields, each
    replaced by the post author's winning update of it, if any. */
static void
s_content (const s_post_t *p, s_content_t *out)
{
    assert (p->created);
    out->title = s_cr_title (&p->cr);
    out->body = s_cr_body (&p->cr);
    out->tags = (const char *const *) s_cr_tags (&p->cr);
    out->n_tags = p->cr.n_tags;
    out->has_loc = p->cr.has_loc;
    out->lat = s_cr_lat (&p->cr);
    out->lng = s_cr_lng (&p->cr);
    out->label = s_cr_label (&p->cr);
    const s_upd_t *u = s_upd_of (p, p->author);
    if (u) {
        if (u->title_at.event_id)
            out->title = u->title;
        if (u->body_at.event_id)
            out->body = u->body;
        if (u->tags_at.event_id) {
            out->tags = (const char *const *) u->tags;
            out->n_tags = u->n_tags;
        }
        if (u->loc_at.event_id) {
            out->has_loc = 1;
            out->lat = u->lat;
            out->lng = u->lng;
            out->label = u->label;
        }
    }
}

/*  created_at + ttl (the contract default if 0) in ms, saturating. */
static uint64_t
s_expires_at (const s_post_t *p)
{
    uint64_t ttl = s_cr_ttl_seconds (&p->cr);
    if (ttl == 0)
        ttl = S_DEFAULT_TTL_SECONDS;
    //  ttl * 1000 cannot overflow for any uint64 ttl below 2^54; saturate anyway
    uint64_t span = ttl > UINT64_MAX / 1000? UINT64_MAX: ttl * 1000;
    return p->wall_ms > UINT64_MAX - span? UINT64_MAX: p->wall_ms + span;
}

/*  The claim that expires p under `members`, or NULL: the smallest
    (lamport, event_id) among valid claims. Valid (M06 §4.4, DESIGN §7): by
    the post author with any reason, or `stale` by a TRUSTED/ANCHOR member. */
static const s_claim_t *
s_valid_claim (const s_post_t *p, const membership_t *members)
{
    const s_claim_t *best = NULL;
    for (size_t i = 0; i < p->n_claims; i++) {
        const s_claim_t *c = &p->claims [i];
        int valid = memcmp (c->author, p->author, 32) == 0;
        if (!valid && c->reason == HEARTH__EXPIRY_REASON__EXPIRY_REASON_STALE && members)
            valid = membership_level (members, c->author) >= HEARTH__LEVEL__LEVEL_TRUSTED;
        if (valid && (!best || s_stamp_cmp (c->lamport, c->event_id, best->lamport, best->event_id) < 0))
            best = c;
    }
    return best;
}

/*  1 if the post author has a claim: expired for good, whatever membership. */
static int
s_author_claimed (const s_post_t *p)
{
    for (size_t i = 0; i < p->n_claims; i++)
        if (memcmp (p->claims [i].author, p->author, 32) == 0)
            return 1;
    return 0;
}

static void
s_fill (const s_post_t *p, const membership_t *members, market_post_t *out)
{
    out->event_id = p->id;
    out->lamport = p->lamport;
    out->author = p->author;
    out->category = p->cr.category;
    s_content_t content;
    s_content (p, &content);
    out->title = content.title;
    out->body = content.body;
    out->has_location = content.has_loc;
    out->lat = content.lat;
    out->lng = content.lng;
    out->label = content.label;
    out->tags = content.tags;
    out->n_tags = content.n_tags;
    out->created_at_ms = p->wall_ms;
    out->expires_at_ms = s_expires_at (p);
    const s_claim_t *c = s_valid_claim (p, members);
    out->expired_via_event_id = c? c->event_id: NULL;
    out->expiry_reason = c? c->reason: 0;
    out->expired_via_lamport = c? c->lamport: 0;
}

/*  1 if a post created at created_ms is dated too far ahead of now_ms to
    be live yet (EVENT_MAX_FUTURE_SKEW_MS, the receive pipeline's bound): so
    a post is live at most ttl + the skew, whatever date it carries, also
    one stored before the receive rule or by a node whose clock ran ahead. */
static int
s_not_yet (uint64_t created_ms, uint64_t now_ms)
{
    return now_ms <= UINT64_MAX - EVENT_MAX_FUTURE_SKEW_MS
        && created_ms > now_ms + EVENT_MAX_FUTURE_SKEW_MS;
}

static int
s_active (const s_post_t *p, const membership_t *members, uint64_t now_ms)
{
    return p->created && now_ms < s_expires_at (p) && !s_not_yet (p->wall_ms, now_ms)
        && !s_valid_claim (p, members);
}

int
market_view_is_expired (const market_post_t *post, uint64_t now_ms)
{
    return post->expired_via_event_id != NULL || now_ms >= post->expires_at_ms
        || s_not_yet (post->created_at_ms, now_ms);
}

/* ---- indexes ------------------------------------------------------------- */

/*  Bits per dirty word. */
#define S_WORD_BITS 64

/*  Queue post at for the search index (cannot fail: s_post_add keeps the
    bitmap covering n_posts). */
static void
s_mark_dirty_at (market_view_t *self, uint32_t at)
{
    assert (at < self->n_posts && at / S_WORD_BITS < self->cap_dirty);
    uint64_t bit = (uint64_t) 1 << (at % S_WORD_BITS);
    if (self->dirty [at / S_WORD_BITS] & bit)
        return;
    self->dirty [at / S_WORD_BITS] |= bit;
    self->n_dirty++;
}

/*  Grow the dirty bitmap, zeroed, to cover n posts (doubling). 0 or
    HEARTH_ENOMEM. */
static int
s_dirty_reserve (market_view_t *self, size_t n)
{
    size_t need = (n + S_WORD_BITS - 1) / S_WORD_BITS;
    if (need <= self->cap_dirty)
        return 0;
    if (need < 2 * self->cap_dirty)
        need = 2 * self->cap_dirty;
    uint64_t *grown = (uint64_t *) realloc (self->dirty, need * sizeof (uint64_t));
    if (!grown)
        return HEARTH_ENOMEM;
    memset (grown + self->cap_dirty, 0, (need - self->cap_dirty) * sizeof (uint64_t));
    self->dirty = grown;
    self->cap_dirty = need;
    return 0;
}

static int
s_order_insert (market_view_t *self, s_post_t *p)
{
    int rc = market_order_insert (self->order, p->lamport, p->id, p);
    assert (rc != HEARTH_EEXISTS);      // one entry per post id
    return rc;
}

static void
s_order_remove (market_view_t *self, s_post_t *p)
{
    int rc = market_order_remove (self->order, p->lamport, p->id);
    assert (rc == 0);
    (void) rc;
}

/*  by_id's keys: the id of the post at an index. */
static const void *
s_key_of (const void *arg, uint32_t index)
{
    const market_view_t *self = (const market_view_t *) arg;
    return s_post_at (self, index)->id;
}

/*  The entry for id and its index, created if needed (ECAPACITY at
    MARKET_VIEW_MAX_POSTS). */
static int
s_post_add (market_view_t *self, const char *id, s_post_t **out, uint32_t *out_at)
{
    market_idx_keys_t keys = { s_key_of, self };
    uint32_t at;
    if (market_idx_get (self->by_id, id, &keys, &at) == 0) {
        *out = s_post_at (self, at);
        *out_at = at;
        return 0;
    }
    if (self->n_posts >= MARKET_VIEW_MAX_POSTS)
        return HEARTH_ECAPACITY;
    size_t slab, pos;
    s_slab_of (self->n_posts, &slab, &pos);
    if (slab == self->n_slabs) {
        //  The next slab (slab > n_slabs cannot be: posts fill slabs in turn)
        size_t size = (size_t) 1 << (slab < S_SLAB_GROWING? S_SLAB_FIRST_SHIFT + slab: S_SLAB_MAX_SHIFT);
        s_post_t *fresh = NULL;
        if (market_util_reserve ((void **) &self->slabs, &self->cap_slabs, slab + 1,
                                 sizeof (s_post_t *), S_FIRST_CAP)
        ||  !(fresh = (s_post_t *) malloc (size * sizeof (s_post_t))))
            return HEARTH_ENOMEM;
        self->slabs [self->n_slabs++] = fresh;
    }
    if (s_dirty_reserve (self, self->n_posts + 1))
        return HEARTH_ENOMEM;
    s_post_t *p = &self->slabs [slab][pos];
    memset (p, 0, sizeof *p);
    //  Every id reaching here is a valid ULID: the event checks and restore see to it
    assert (strlen (id) == ULID_SIZE - 1);
    memcpy (p->id, id, ULID_SIZE);
    //  by_id may ask for the key of the new index while it grows
    uint32_t new_at = (uint32_t) self->n_posts++;
    if (market_idx_put (self->by_id, p->id, new_at, &keys)) {
        self->n_posts--;
        return HEARTH_ENOMEM;
    }
    *out_at = new_at;
    *out = p;
    return 0;
}

/*  The entry for id, created if needed (ECAPACITY at MARKET_VIEW_MAX_POSTS). */
static int
s_post_get (market_view_t *self, const char *id, s_post_t **out)
{
    uint32_t at;
    return s_post_add (self, id, out, &at);
}

/*  Queue a post for the search index. */
static void
s_mark_dirty (market_view_t *self, const s_post_t *p)
{
    //  Restore marks each post just after adding it: no lookup for that
    if (self->n_posts > 0 && s_post_at (self, self->n_posts - 1) == p) {
        s_mark_dirty_at (self, (uint32_t) (self->n_posts - 1));
        return;
    }
    market_idx_keys_t keys = { s_key_of, self };
    uint32_t at;
    int rc = market_idx_get (self->by_id, p->id, &keys, &at);
    assert (rc == 0);               // every post is in by_id
    (void) rc;
    s_mark_dirty_at (self, at);
}

/*  Index in a by-author sorted array of elem-sized records (author first),
    inserting a zeroed record if needed. Keeps at most
    MARKET_VIEW_MAX_CLAIMERS: the smallest author keys (an eviction counts
    in *evicted). Returns NULL with *dropped set if the author does not make
    the cut, or NULL on OOM. */
static void *
s_author_slot (void **array, uint8_t *n, size_t elem, const uint8_t author [32], int *dropped,
               void (*evict) (void *), uint64_t *evicted)
{
    *dropped = 0;
    char *base = (char *) *array;
    size_t lo = 0, hi = *n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = memcmp (base + mid * elem, author, 32);
        if (c == 0)
            return base + mid * elem;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (*n >= MARKET_VIEW_MAX_CLAIMERS) {
        if (lo == *n) {             // larger than every kept author
            *dropped = 1;
            return NULL;
        }
        evict (base + (*n - 1) * elem);  // the largest key makes room
        (*n)--;
        (*evicted)++;
    }
    else {
        char *grown = (char *) realloc (base, (*n + 1) * elem);
        if (!grown)
            return NULL;
        base = grown;
        *array = base;
    }
    memmove (base + (lo + 1) * elem, base + lo * elem, (*n - lo) * elem);
    memset (base + lo * elem, 0, elem);
    memcpy (base + lo * elem, author, 32);
    (*n)++;
    return base + lo * elem;
}

static void
s_evict_upd (void *rec)
{
    s_upd_clear ((s_upd_t *) rec);
}

static void
s_evict_claim (void *rec)
{
    free (((s_claim_t *) rec)->event_id);
}

/* ---- apply ----------------------------------------------------------------- */

/*  Set a stamp if (lamport, id) beats it; 1 if it did, HEARTH_ENOMEM. */
static int
s_stamp_win (s_stamp_t *at, uint64_t lamport, const char *id)
{
    if (at->event_id && s_stamp_cmp (lamport, id, at->lamport, at->event_id) <= 0)
        return 0;
    char *copy = strdup (id);
    if (!copy)
        return HEARTH_ENOMEM;
    free (at->event_id);
    at->event_id = copy;
    at->lamport = lamport;
    return 1;
}

static int
s_apply_created (market_view_t *self, const event_t *ev)
{
    const Hearth__MarketPostCreated *c = event_body (ev)->market_post_created;
    s_post_t *p;
    uint32_t at;
    int rc = s_post_add (self, event_id (ev), &p, &at);
    if (rc)
        return rc;
    if (p->created) {
        //  Same id twice: the smaller (author, hash) wins; equal = a repeat
        int cmp = memcmp (event_author (ev), p->author, 32);
        if (cmp == 0)
            cmp = memcmp (event_hash (ev), p->hash, 32);
        if (cmp >= 0)
            return 0;
    }
    //  Build the new content first, so OOM leaves the old one intact
    const uint8_t *author;
    if (s_author_intern (self, event_author (ev), &author))
        return HEARTH_ENOMEM;
    s_created_t cr;
    if (s_created_build (c, &cr))
        return HEARTH_ENOMEM;
    if (p->created) {
        s_order_remove (self, p);
        s_created_clear (p);
    }
    p->created = 1;
    p->lamport = event_lamport (ev);
    p->wall_ms = event_wall_ms (ev);
    p->author = author;
    memcpy (p->hash, event_hash (ev), 32);
    p->cr = cr;
    if (s_order_insert (self, p)) {
        s_created_clear (p);
        return HEARTH_ENOMEM;
    }
    s_mark_dirty_at (self, at);
    return 0;
}

static int
s_apply_updated (market_view_t *self, const event_t *ev)
{
    const Hearth__MarketPostUpdated *u = event_body (ev)->market_post_updated;
    s_post_t *p;
    uint32_t at;
    int rc = s_post_add (self, u->target_event_id, &p, &at);
    if (rc)
        return rc;
    int dropped;
    s_upd_t *rec = (s_upd_t *) s_author_slot ((void **) &p->upds, &p->n_upds, sizeof (s_upd_t),
                                              event_author (ev), &dropped, s_evict_upd,
                                              &self->dropped);
    if (!rec) {
        if (!dropped)
            return HEARTH_ENOMEM;
        self->dropped++;
        return 0;
    }
    uint64_t lamport = event_lamport (ev);
    const char *id = event_id (ev);
    //  Each field: the newest (lamport, event_id) setting it wins
    if (u->title && *u->title) {
        char *v = strdup (u->title);
        if (!v)
            return HEARTH_ENOMEM;
        if ((rc = s_stamp_win (&rec->title_at, lamport, id)) == 1) {
            free (rec->title);
            rec->title = v;
        }
        else
            free (v);
        if (rc < 0)
            return rc;
    }
    if (u->body && *u->body) {
        char *v = strdup (u->body);
        if (!v)
            return HEARTH_ENOMEM;
        if ((rc = s_stamp_win (&rec->body_at, lamport, id)) == 1) {
            free (rec->body);
            rec->body = v;
        }
        else
            free (v);
        if (rc < 0)
            return rc;
    }
    if (u->replace_tags) {
        char **v = s_tags_copy (u->tags, u->n_tags);
        if (!v)
            return HEARTH_ENOMEM;
        if ((rc = s_stamp_win (&rec->tags_at, lamport, id)) == 1) {
            s_strv_free (rec->tags, rec->n_tags);
            rec->tags = v;
            rec->n_tags = u->n_tags;
        }
        else
            s_strv_free (v, u->n_tags);
        if (rc < 0)
            return rc;
    }
    if (u->location) {
        char *v = s_strdup0 (u->location->label);
        if (!v)
            return HEARTH_ENOMEM;
        if ((rc = s_stamp_win (&rec->loc_at, lamport, id)) == 1) {
            free (rec->label);
            rec->label = v;
            rec->lat = u->location->lat;
            rec->lng = u->location->lng;
        }
        else
            free (v);
        if (rc < 0)
            return rc;
    }
    if (p->created && memcmp (p->author, event_author (ev), 32) == 0)
        s_mark_dirty_at (self, at);
    return 0;
}

static int
s_apply_expired (market_view_t *self, const event_t *ev)
{
    const Hearth__MarketPostExpired *x = event_body (ev)->market_post_expired;
    s_post_t *p;
    uint32_t at;
    int rc = s_post_add (self, x->target_event_id, &p, &at);
    if (rc)
        return rc;
    int dropped;
    s_claim_t *claim = (s_claim_t *) s_author_slot ((void **) &p->claims, &p->n_claims,
                                                    sizeof (s_claim_t), event_author (ev),
                                                    &dropped, s_evict_claim, &self->dropped);
    if (!claim) {
        if (!dropped)
            return HEARTH_ENOMEM;
        self->dropped++;
        return 0;
    }
    uint64_t lamport = event_lamport (ev);
    const char *id = event_id (ev);
    //  Per author the earliest claim counts
    if (!claim->event_id || s_stamp_cmp (lamport, id, claim->lamport, claim->event_id) < 0) {
        char *copy = strdup (id);
        if (!copy) {
            if (!claim->event_id) {
                //  Drop the empty record just inserted
                size_t at = (size_t) (claim - p->claims);
                memmove (p->claims + at, p->claims + at + 1, (p->n_claims - at - 1) * sizeof *claim);
                p->n_claims--;
            }
            return HEARTH_ENOMEM;
        }
        free (claim->event_id);
        claim->event_id = copy;
        claim->lamport = lamport;
        claim->reason = x->reason;
    }
    if (p->created && memcmp (p->author, event_author (ev), 32) == 0)
        s_mark_dirty_at (self, at); // the author expired it: drop it from the index
    return 0;
}

int
market_view_apply (market_view_t *self, const event_t *ev)
{
    int rc;
    switch (event_type (ev)) {
        case HEARTH__EVENT_TYPE__MARKET_POST_CREATED:
            rc = s_apply_created (self, ev);
            break;
        case HEARTH__EVENT_TYPE__MARKET_POST_UPDATED:
            rc = s_apply_updated (self, ev);
            break;
        case HEARTH__EVENT_TYPE__MARKET_POST_EXPIRED:
            rc = s_apply_expired (self, ev);
            break;
        default:
            return 0;
    }
    if (rc == 0 && event_lamport (ev) > self->max_lamport)
        self->max_lamport = event_lamport (ev);
    return rc;
}

/* ---- queries --------------------------------------------------------------- */

static s_post_t *
s_find (const market_view_t *self, const char *id)
{
    market_idx_keys_t keys = { s_key_of, self };
    uint32_t at;
    if (market_idx_get (self->by_id, id, &keys, &at))
        return NULL;
    return s_post_at (self, at);
}

/*  1 if the post has at least one of the (lower-cased) tags. */
static int
s_tags_any (const s_post_t *p, char *const *tags, size_t n)
{
    s_content_t content;
    s_content (p, &content);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < content.n_tags; j++)
            if (strcmp (tags [i], content.tags [j]) == 0)
                return 1;
    return 0;
}

size_t
market_view_list (market_view_t *self, const market_query_t *q, const membership_t *members,
                  uint64_t now_ms, market_post_t *out, size_t cap)
{
    size_t limit = q->limit? q->limit: MARKET_LIST_DEFAULT_LIMIT;
    if (limit > MARKET_LIST_MAX_LIMIT)
        limit = MARKET_LIST_MAX_LIMIT;
    if (limit > cap)
        limit = cap;
    //  Query tags lower-cased once (copies; OOM lists nothing rather than all)
    char **tags = NULL;
    if (q->n_tags) {
        tags = s_tags_copy ((char *const *) q->tags, q->n_tags);
        if (!tags)
            return 0;
    }
    size_t n = 0;
    market_order_cursor_t cursor;
    for (const market_order_entry_t *e = market_order_last (self->order, &cursor);
         e && n < limit; e = market_order_prev (self->order, &cursor)) {
        const s_post_t *p = (const s_post_t *) e->item;
        if (p->lamport <= q->since_lamport)
            break;                  // sorted by lamport: the rest are older
        if (q->category && p->cr.category != q->category)
            continue;
        if (q->n_tags && !s_tags_any (p, tags, q->n_tags))
            continue;
        if (!s_active (p, members, now_ms))
            continue;
        s_fill (p, members, &out [n++]);
    }
    s_strv_free (tags, q->n_tags);
    return n;
}

int
market_view_get (market_view_t *self, const char *event_id, const membership_t *members,
                 market_post_t *out)
{
    const s_post_t *p = s_find (self, event_id);
    if (!p || !p->created)
        return HEARTH_ENOTFOUND;
    s_fill (p, members, out);
    return 0;
}

int
market_view_each (market_view_t *self, const membership_t *members, market_view_visit_fn *fn,
                  void *arg)
{
    market_order_cursor_t cursor;
    for (const market_order_entry_t *e = market_order_first (self->order, &cursor); e;
         e = market_order_next (self->order, &cursor)) {
        market_post_t post;
        s_fill ((const s_post_t *) e->item, members, &post);
        int rc = fn (arg, &post);
        if (rc)
            return rc;
    }
    return 0;
}

uint64_t
market_view_max_lamport (const market_view_t *self)
{
    return self->max_lamport;
}

size_t
market_view_count (const market_view_t *self)
{
    return market_order_size (self->order);
}

size_t
market_view_count_active (market_view_t *self, const membership_t *members, uint64_t now_ms)
{
    size_t n = 0;
    market_order_cursor_t cursor;
    for (const market_order_entry_t *e = market_order_first (self->order, &cursor); e;
         e = market_order_next (self->order, &cursor))
        n += (size_t) s_active ((const s_post_t *) e->item, members, now_ms);
    return n;
}

uint64_t
market_view_dropped (const market_view_t *self)
{
    return self->dropped;
}

/* ---- search ---------------------------------------------------------------- */

typedef struct {
    market_view_t      *view;
    const membership_t *members;
    uint64_t            now_ms;
} s_accept_ctx_t;

static int
s_accept (void *arg, const char *doc_id)
{
    s_accept_ctx_t *ctx = (s_accept_ctx_t *) arg;
    const s_post_t *p = s_find (ctx->view, doc_id);
    return p && s_active (p, ctx->members, ctx->now_ms);
}

/*  Bring the index up to date with one changed post. */
static int
s_index_post (market_view_t *self, const s_post_t *p)
{
    if (!p->created)
        return 0;
    if (s_author_claimed (p)) {
        market_search_remove (self->index, p->id);   // ENOTFOUND is fine
        return 0;
    }
    s_content_t content;
    s_content (p, &content);
    return market_search_put (self->index, p->id, content.title, content.body, content.tags,
                              content.n_tags);
}

/*  Bring the index up to date with the posts changed since the last sync. */
static int
s_index_sync (market_view_t *self)
{
    if (!self->index) {
        self->index = market_search_new ();
        if (!self->index)
            return HEARTH_ENOMEM;
    }
    for (size_t w = 0; self->n_dirty > 0 && w < self->cap_dirty; w++)
        while (self->dirty [w]) {
            size_t at = w * S_WORD_BITS + (size_t) __builtin_ctzll (self->dirty [w]);
            int rc = s_index_post (self, s_post_at (self, at));
            if (rc)
                return rc;          // the post stays queued
            self->dirty [w] &= self->dirty [w] - 1;     // clear that lowest bit
            self->n_dirty--;
        }
    return 0;
}

int
market_view_search (market_view_t *self, const char *query, size_t k,
                    const membership_t *members, uint64_t now_ms,
                    market_post_t *out, double *scores)
{
    int rc = s_index_sync (self);
    if (rc)
        return rc;
    if (k > MARKET_SEARCH_MAX_K)
        k = MARKET_SEARCH_MAX_K;
    market_search_hit_t hits [MARKET_SEARCH_MAX_K];
    s_accept_ctx_t ctx = { self, members, now_ms };
    size_t n = market_search_query (self->index, query, k, s_accept, &ctx, hits);
    for (size_t i = 0; i < n; i++) {
        const s_post_t *p = s_find (self, hits [i].doc_id);
        assert (p && p->created);
        s_fill (p, members, &out [i]);
        scores [i] = hits [i].score;
    }
    return (int) n;
}

/* ---- snapshot / restore ------------------------------------------------------ */

static int
s_cmp_post_id (const void *a, const void *b)
{
    return strcmp ((*(const s_post_t *const *) a)->id, (*(const s_post_t *const *) b)->id);
}

/*  The snapshot is streamed as records (eventlog.h, "Snapshots"): first
    the header, pack (MarketSnapshot {version, max_lamport}), then per
    post in id order the bytes of one element of field 3: its tag (0x1a),
    a varint length and pack (MarketPostState). protobuf-c packs fields in
    field-number order, so the concatenation is byte for byte the single
    pack of the whole MarketSnapshot written before records (the digest
    did not change), and any run of whole records, with the header or
    without, is itself a MarketSnapshot message: a chunk unpacks alone.
    A record is built from the fixed temporaries of s_record_t (a post
    holds at most MARKET_VIEW_MAX_CLAIMERS updates and claims), so the
    stream costs the sorted array of post pointers (8 B per post) and one
    record buffer, never a copy of the view. */

/*  Field 3 (posts), length-delimited: (3 << 3) | 2. */
#define S_POSTS_TAG 0x1a
/*  Largest post record: a .created's fields fit an event
    (EVENT_MAX_BYTES), so does each author's set of update winners (title
    200 + body 8000 + 16 tags of 32 + label 120 + four ids and lamports,
    under 9.3 KB), a claim is under 128 B (author, id, lamport, reason),
    and the post's own fields (id, lamports, author, hash) and the record's
    tag and length under 256 B: ~545 KB. */
#define S_RECORD_BOUND ((1 + MARKET_VIEW_MAX_CLAIMERS) * (size_t) EVENT_MAX_BYTES \
                        + MARKET_VIEW_MAX_CLAIMERS * 128 + 256)
_Static_assert (S_RECORD_BOUND <= EVENTLOG_SNAPSHOT_RECORD_MAX,
                "a post record fits the eventlog's record cap");

/*  Temporaries for one post record: protobuf-c structs pointing into the
    state (protobuf-c packs, never writes through them), and the packed
    record. */
typedef struct {
    Hearth__MarketPostState    st;
    Hearth__MarketPostCreated  cr;
    Hearth__Location           locs [1 + MARKET_VIEW_MAX_CLAIMERS];
    Hearth__MarketFieldUpdates upds [MARKET_VIEW_MAX_CLAIMERS];
    Hearth__MarketFieldUpdates *upd_ptrs [MARKET_VIEW_MAX_CLAIMERS];
    Hearth__MarketExpiryClaim  claims [MARKET_VIEW_MAX_CLAIMERS];
    Hearth__MarketExpiryClaim  *claim_ptrs [MARKET_VIEW_MAX_CLAIMERS];
    uint8_t                   *buf;         /* owned: the record */
    size_t                     cap;
} s_record_t;

/*  Fill r->st for post p. */
static void
s_record_fill (s_record_t *r, const s_post_t *p)
{
    //  The fold and restore keep at most MARKET_VIEW_MAX_CLAIMERS of each
    assert (p->n_upds <= MARKET_VIEW_MAX_CLAIMERS && p->n_claims <= MARKET_VIEW_MAX_CLAIMERS);
    Hearth__MarketPostState *st = &r->st;
    hearth__market_post_state__init (st);
    st->event_id = (char *) p->id;
    st->created = p->created;
    size_t l = 0;
    if (p->created) {
        Hearth__MarketPostCreated *cr = &r->cr;
        hearth__market_post_created__init (cr);
        cr->client_id = (char *) s_cr_client_id (&p->cr);
        cr->category = (Hearth__Category) p->cr.category;
        cr->title = (char *) s_cr_title (&p->cr);
        cr->body = (char *) s_cr_body (&p->cr);
        cr->tags = s_cr_tags (&p->cr);
        cr->n_tags = p->cr.n_tags;
        cr->ttl_seconds = s_cr_ttl_seconds (&p->cr);
        if (p->cr.has_loc) {
            Hearth__Location *loc = &r->locs [l++];
            hearth__location__init (loc);
            loc->lat = s_cr_lat (&p->cr);
            loc->lng = s_cr_lng (&p->cr);
            loc->label = (char *) s_cr_label (&p->cr);
            cr->location = loc;
        }
        st->lamport = p->lamport;
        st->wall_clock_ms = p->wall_ms;
        st->author.data = (uint8_t *) p->author;
        st->author.len = 32;
        st->created_hash.data = (uint8_t *) p->hash;
        st->created_hash.len = 32;
        st->post = cr;
    }
    st->updates = r->upd_ptrs;
    st->n_updates = p->n_upds;
    for (size_t j = 0; j < p->n_upds; j++) {
        const s_upd_t *src = &p->upds [j];
        Hearth__MarketFieldUpdates *d = &r->upds [j];
        hearth__market_field_updates__init (d);
        d->author.data = (uint8_t *) src->author;
        d->author.len = 32;
        if (src->title_at.event_id) {
            d->title_event_id = src->title_at.event_id;
            d->title_lamport = src->title_at.lamport;
            d->title = src->title;
        }
        if (src->body_at.event_id) {
            d->body_event_id = src->body_at.event_id;
            d->body_lamport = src->body_at.lamport;
            d->body = src->body;
        }
        if (src->tags_at.event_id) {
            d->tags_event_id = src->tags_at.event_id;
            d->tags_lamport = src->tags_at.lamport;
            d->tags = src->tags;
            d->n_tags = src->n_tags;
        }
        if (src->loc_at.event_id) {
            Hearth__Location *loc = &r->locs [l++];
            hearth__location__init (loc);
            loc->lat = src->lat;
            loc->lng = src->lng;
            loc->label = src->label;
            d->location_event_id = src->loc_at.event_id;
            d->location_lamport = src->loc_at.lamport;
            d->location = loc;
        }
        r->upd_ptrs [j] = d;
    }
    st->claims = r->claim_ptrs;
    st->n_claims = p->n_claims;
    for (size_t j = 0; j < p->n_claims; j++) {
        Hearth__MarketExpiryClaim *d = &r->claims [j];
        hearth__market_expiry_claim__init (d);
        d->event_id = p->claims [j].event_id;
        d->lamport = p->claims [j].lamport;
        d->author.data = (uint8_t *) p->claims [j].author;
        d->author.len = 32;
        d->reason = (Hearth__ExpiryReason) p->claims [j].reason;
        r->claim_ptrs [j] = d;
    }
}

/*  Pack post p's record into r->buf; its length, or 0 (ENOMEM/ETOOBIG in *rc). */
static size_t
s_record_pack (s_record_t *r, const s_post_t *p, int *rc)
{
    s_record_fill (r, p);
    size_t size = hearth__market_post_state__get_packed_size (&r->st);
    size_t len = 1 + 10 + size;             /* tag, varint (<= 10 bytes), message */
    if (len > EVENTLOG_SNAPSHOT_RECORD_MAX) {
        *rc = HEARTH_ETOOBIG;               /* not with state within the caps */
        return 0;
    }
    if (market_util_reserve ((void **) &r->buf, &r->cap, len, 1, 4096)) {
        *rc = HEARTH_ENOMEM;
        return 0;
    }
    size_t at = 0;
    r->buf [at++] = S_POSTS_TAG;
    for (uint64_t v = size; ; v >>= 7) {
        r->buf [at++] = (uint8_t) ((v & 0x7f) | (v >= 0x80? 0x80: 0));
        if (v < 0x80)
            break;
    }
    return at + hearth__market_post_state__pack (&r->st, r->buf + at);
}

int
market_view_records (market_view_t *self, eventlog_record_fn *emit, void *arg)
{
    size_t n = self->n_posts;
    s_post_t **sorted = (s_post_t **) malloc ((n + 1) * sizeof *sorted);
    s_record_t *r = (s_record_t *) calloc (1, sizeof *r);
    int rc = HEARTH_ENOMEM;
    if (!sorted || !r)
        goto done;
    for (size_t i = 0; i < n; i++)
        sorted [i] = s_post_at (self, i);
    qsort (sorted, n, sizeof *sorted, s_cmp_post_id);

    Hearth__MarketSnapshot head = HEARTH__MARKET_SNAPSHOT__INIT;
    head.version = S_SNAPSHOT_VERSION;
    head.max_lamport = self->max_lamport;
    uint8_t hbuf [32];                      /* two tags and two varints: <= 17 B */
    assert (hearth__market_snapshot__get_packed_size (&head) <= sizeof hbuf);
    rc = emit (arg, hbuf, hearth__market_snapshot__pack (&head, hbuf));
    for (size_t i = 0; rc == 0 && i < n; i++) {
        size_t len = s_record_pack (r, sorted [i], &rc);
        if (len)
            rc = emit (arg, r->buf, len);
    }
done:
    free (sorted);
    if (r)
        free (r->buf);
    free (r);
    return rc;
}

/*  Appends records to a growing buffer (market_view_snapshot). */
typedef struct {
    uint8_t *buf;                           /* owned until handed out */
    size_t   len, cap;
} s_concat_t;

static int
s_concat_emit (void *arg, const uint8_t *rec, size_t len)
{
    s_concat_t *c = (s_concat_t *) arg;
    if (market_util_reserve ((void **) &c->buf, &c->cap, c->len + len, 1, 4096))
        return HEARTH_ENOMEM;
    memcpy (c->buf + c->len, rec, len);
    c->len += len;
    return 0;
}

int
market_view_snapshot (market_view_t *self, uint8_t **buf, size_t *len)
{
    s_concat_t c = { NULL, 0, 0 };
    int rc = market_view_records (self, s_concat_emit, &c);
    if (rc) {
        free (c.buf);
        return rc;
    }
    *buf = c.buf;
    *len = c.len;
    return 0;
}

static int
s_digest_emit (void *arg, const uint8_t *rec, size_t len)
{
    crypto_generichash_update ((crypto_generichash_state *) arg, rec, len);
    return 0;
}

int
market_view_digest (market_view_t *self, uint8_t out [32])
{
    crypto_generichash_state state;
    crypto_generichash_init (&state, NULL, 0, 32);
    int rc = market_view_records (self, s_digest_emit, &state);
    if (rc)
        return rc;
    crypto_generichash_final (&state, out, 32);
    return 0;
}

/*  Checks shared by restore: a text field within max bytes, valid UTF-8. */
static int
s_text_ok (const char *s, size_t max)
{
    if (!s)
        return 1;
    size_t n = strnlen (s, max + 1);
    return n <= max && hearth_utf8_valid (s, n);
}

static int
s_tags_ok (char *const *tags, size_t n)
{
    if (n > EVENT_MAX_TAGS)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!tags [i] || !*tags [i] || !s_text_ok (tags [i], EVENT_MAX_TAG_BYTES))
            return 0;
    return 1;
}

static int
s_loc_ok (const Hearth__Location *loc)
{
    return !loc || (isfinite (loc->lat) && isfinite (loc->lng)
                    && s_text_ok (loc->label, EVENT_MAX_LABEL_BYTES));
}

/*  Load one post state into p (fresh, zeroed but for id). */
static int
s_restore_post (market_view_t *self, s_post_t *p, const Hearth__MarketPostState *st)
{
    if (st->created) {
        const Hearth__MarketPostCreated *c = st->post;
        if (!c || st->author.len != 32 || st->created_hash.len != 32
        ||  !s_text_ok (c->client_id, EVENT_MAX_CLIENT_ID_BYTES)
        ||  !c->title || !s_text_ok (c->title, EVENT_MAX_TITLE_BYTES)
        ||  !c->body || !s_text_ok (c->body, EVENT_MAX_BODY_BYTES)
        ||  !s_tags_ok (c->tags, c->n_tags) || !s_loc_ok (c->location))
            return HEARTH_ECORRUPT;
        if (s_created_build (c, &p->cr))
            return HEARTH_ENOMEM;
        p->created = 1;
        p->lamport = st->lamport;
        p->wall_ms = st->wall_clock_ms;
        if (s_author_intern (self, st->author.data, &p->author))
            return HEARTH_ENOMEM;
        memcpy (p->hash, st->created_hash.data, 32);
    }
    else
    if (st->post || st->author.len)
        return HEARTH_ECORRUPT;

    if (st->n_updates > MARKET_VIEW_MAX_CLAIMERS || st->n_claims > MARKET_VIEW_MAX_CLAIMERS)
        return HEARTH_ECORRUPT;
    /*  No array for none, as the fold leaves it: two empty arrays were
        ~208 B of each restored post (heaptrack of a 1M restart). */
    if (st->n_updates && !(p->upds = (s_upd_t *) calloc (st->n_updates, sizeof (s_upd_t))))
        return HEARTH_ENOMEM;
    if (st->n_claims && !(p->claims = (s_claim_t *) calloc (st->n_claims, sizeof (s_claim_t))))
        return HEARTH_ENOMEM;
    for (size_t j = 0; j < st->n_updates; j++) {
        const Hearth__MarketFieldUpdates *d = st->updates [j];
        s_upd_t *u = &p->upds [p->n_upds];
        if (d->author.len != 32
        ||  (j > 0 && memcmp (p->upds [j - 1].author, d->author.data, 32) >= 0)
        ||  !s_text_ok (d->title, EVENT_MAX_TITLE_BYTES) || !s_text_ok (d->body, EVENT_MAX_BODY_BYTES)
        ||  !s_tags_ok (d->tags, d->n_tags) || !s_loc_ok (d->location))
            return HEARTH_ECORRUPT;
        p->n_upds++;
        memcpy (u->author, d->author.data, 32);
        if (d->title_event_id && *d->title_event_id) {
            if (!(u->title_at.event_id = strdup (d->title_event_id))
            ||  !(u->title = s_strdup0 (d->title)))
                return HEARTH_ENOMEM;
            u->title_at.lamport = d->title_lamport;
        }
        if (d->body_event_id && *d->body_event_id) {
            if (!(u->body_at.event_id = strdup (d->body_event_id))
            ||  !(u->body = s_strdup0 (d->body)))
                return HEARTH_ENOMEM;
            u->body_at.lamport = d->body_lamport;
        }
        if (d->tags_event_id && *d->tags_event_id) {
            if (!(u->tags_at.event_id = strdup (d->tags_event_id))
            ||  !(u->tags = s_tags_copy (d->tags, d->n_tags)))
                return HEARTH_ENOMEM;
            u->n_tags = d->n_tags;
            u->tags_at.lamport = d->tags_lamport;
        }
        if (d->location_event_id && *d->location_event_id) {
            if (!d->location)
                return HEARTH_ECORRUPT;
            if (!(u->loc_at.event_id = strdup (d->location_event_id))
            ||  !(u->label = s_strdup0 (d->location->label)))
                return HEARTH_ENOMEM;
            u->loc_at.lamport = d->location_lamport;
            u->lat = d->location->lat;
            u->lng = d->location->lng;
        }
    }
    for (size_t j = 0; j < st->n_claims; j++) {
        const Hearth__MarketExpiryClaim *d = st->claims [j];
        s_claim_t *c = &p->claims [p->n_claims];
        if (d->author.len != 32 || !d->event_id || !ulid_valid (d->event_id)
        ||  (j > 0 && memcmp (p->claims [j - 1].author, d->author.data, 32) >= 0))
            return HEARTH_ECORRUPT;
        p->n_claims++;
        memcpy (c->author, d->author.data, 32);
        if (!(c->event_id = strdup (d->event_id)))
            return HEARTH_ENOMEM;
        c->lamport = d->lamport;
        c->reason = d->reason;
    }
    return 0;
}

static int
s_cmp_order (const void *a, const void *b)
{
    const s_post_t *x = *(const s_post_t *const *) a, *y = *(const s_post_t *const *) b;
    return s_stamp_cmp (x->lamport, x->id, y->lamport, y->id);
}

/*  A restore in progress: the state is built in `fresh` and swapped in
    by market_view_restore_end, so the view is untouched until then. */
struct _market_view_restore_t {
    market_view_t *fresh;                   /* owned */
    s_post_t     **created;                 /* owned array; posts borrowed from fresh */
    size_t         n_created, cap_created;
    char           last_id [ULID_SIZE];     /* last post id restored; "" before any */
    int            has_header;              /* the first chunk had the header */
    int            failed;                  /* a chunk failed: only end(0) is left */
};

static void
s_restore_free (market_view_restore_t **r_p)
{
    market_view_restore_t *r = *r_p;
    if (!r)
        return;
    market_view_destroy (&r->fresh);
    free (r->created);
    free (r);
    *r_p = NULL;
}

int
market_view_restore_begin (market_view_t *self)
{
    s_restore_free (&self->restoring);
    market_view_restore_t *r = (market_view_restore_t *) calloc (1, sizeof *r);
    if (!r)
        return HEARTH_ENOMEM;
    r->fresh = market_view_new ();
    if (!r->fresh) {
        free (r);
        return HEARTH_ENOMEM;
    }
    self->restoring = r;
    return 0;
}

/*  Add the posts of one unpacked chunk to r. */
static int
s_restore_snap (market_view_restore_t *r, const Hearth__MarketSnapshot *snap)
{
    market_view_t *fresh = r->fresh;
    if (!r->has_header) {
        if (snap->version != S_SNAPSHOT_VERSION)
            return HEARTH_ECORRUPT;         /* no header first, or another version */
        r->has_header = 1;
        fresh->max_lamport = snap->max_lamport;
    }
    else
    if (snap->version || snap->max_lamport)
        return HEARTH_ECORRUPT;             /* a second header */
    if (snap->n_posts > MARKET_VIEW_MAX_POSTS - fresh->n_posts)
        return HEARTH_ECORRUPT;
    if (market_util_reserve ((void **) &r->created, &r->cap_created, r->n_created + snap->n_posts,
                             sizeof (s_post_t *), S_FIRST_CAP))
        return HEARTH_ENOMEM;
    for (size_t i = 0; i < snap->n_posts; i++) {
        const Hearth__MarketPostState *st = snap->posts [i];
        //  Ids strictly increasing, across chunks too: no post twice
        if (!st->event_id || !ulid_valid (st->event_id) || strcmp (r->last_id, st->event_id) >= 0)
            return HEARTH_ECORRUPT;
        memcpy (r->last_id, st->event_id, ULID_SIZE);
        s_post_t *p;
        int rc = s_post_get (fresh, st->event_id, &p);
        if (rc == 0)
            rc = s_restore_post (fresh, p, st);
        if (rc)
            return rc;
        if (p->created)
            r->created [r->n_created++] = p;
        s_mark_dirty (fresh, p);
    }
    return 0;
}

int
market_view_restore_chunk (market_view_t *self, const uint8_t *buf, size_t len)
{
    market_view_restore_t *r = self->restoring;
    if (!r || r->failed)
        return HEARTH_EINVAL;
    Hearth__MarketSnapshot *snap = hearth__market_snapshot__unpack (NULL, len, buf);
    int rc = snap? s_restore_snap (r, snap): HEARTH_EDECODE;
    if (snap)
        hearth__market_snapshot__free_unpacked (snap, NULL);
    if (rc)
        r->failed = 1;
    return rc;
}

int
market_view_restore_end (market_view_t *self, int commit)
{
    market_view_restore_t *r = self->restoring;
    self->restoring = NULL;
    if (!r)
        return commit? HEARTH_EINVAL: 0;
    int rc = 0;
    if (commit) {
        if (r->failed || !r->has_header)
            rc = HEARTH_ECORRUPT;
        //  Created posts are appended to the order index in its order
        if (rc == 0 && r->n_created > 1)
            qsort (r->created, r->n_created, sizeof (s_post_t *), s_cmp_order);
        for (size_t i = 0; rc == 0 && i < r->n_created; i++)
            rc = s_order_insert (r->fresh, r->created [i]);
        if (rc == 0) {
            market_view_t tmp = *self;
            *self = *r->fresh;
            *r->fresh = tmp;                /* destroyed below: the old state */
        }
    }
    s_restore_free (&r);
    return rc;
}

int
market_view_restore (market_view_t *self, const uint8_t *buf, size_t len)
{
    int rc = market_view_restore_begin (self);
    if (rc)
        return rc;
    rc = market_view_restore_chunk (self, buf, len);
    int end_rc = market_view_restore_end (self, rc == 0);
    return rc? rc: end_rc;
}

/* ---- eventlog adapter ------------------------------------------------------ */

static int
s_view_apply (void *ctx, const event_t *ev)
{
    return market_view_apply ((market_view_t *) ctx, ev);
}

static int
s_view_snapshot (void *ctx, eventlog_record_fn *emit, void *emit_arg)
{
    return market_view_records ((market_view_t *) ctx, emit, emit_arg);
}

static int
s_view_restore_begin (void *ctx)
{
    return market_view_restore_begin ((market_view_t *) ctx);
}

static int
s_view_restore_chunk (void *ctx, const uint8_t *buf, size_t len)
{
    return market_view_restore_chunk ((market_view_t *) ctx, buf, len);
}

static int
s_view_restore_end (void *ctx, int commit)
{
    return market_view_restore_end ((market_view_t *) ctx, commit);
}

static void
s_view_reset (void *ctx)
{
    market_view_reset ((market_view_t *) ctx);
}

void
market_view_as_eventlog_view (market_view_t *self, eventlog_view_t *view)
{
    memset (view, 0, sizeof *view);
    view->name = "market";
    view->types = S_TYPES_MASK;
    view->ctx = self;
    view->apply = s_view_apply;
    view->snapshot = s_view_snapshot;
    view->restore_begin = s_view_restore_begin;
    view->restore_chunk = s_view_restore_chunk;
    view->restore_end = s_view_restore_end;
    view->reset = s_view_reset;
}
