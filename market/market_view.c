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
    update field (and the newest update, for updated_at) is a max by
    (lamport, event_id) per author, the history a set of update hashes of
    which the MARKET_VIEW_MAX_HISTORY smallest are kept, each claim a min
    by (lamport, event_id) per author, the kept authors are the
    MARKET_VIEW_MAX_CLAIMERS smallest keys, max_lamport is a max. What
    depends on membership (is a claim valid?) is decided at read time.
*/
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include "hearth_error.h"
#include "hearth_vec.h"
#include "market_idx.h"
#include "market_order.h"
#include "market_search.h"
#include "market_text.h"
#include "market_view_private.h"

/*  ttl_seconds 0 in a .created means the contract default (7 days,
    docs/protocol.md "Post"). A constant, never the node's config: every node must compute
    the same expires_at. */
#define S_DEFAULT_TTL_SECONDS 604800

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

/* ---- small helpers ------------------------------------------------------ */

/*  Lower-cased copies of tags; NULL on OOM (n == 0 gives a 1-slot array). */
char **
market_view_tags_copy (char *const *tags, size_t n)
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

static void
s_upd_clear (s_upd_t *u)
{
    free (u->title_at.event_id);
    free (u->body_at.event_id);
    free (u->tags_at.event_id);
    free (u->loc_at.event_id);
    free (u->ttl_at.event_id);
    free (u->latest_at.event_id);
    free (u->history);
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
int
market_view_created_build (const Hearth__MarketPostCreated *c, s_created_t *out)
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
int
market_view_author_intern (market_view_t *self, const uint8_t key [32], const uint8_t **out)
{
    market_idx_keys_t keys = { s_author_key_of, self };
    uint32_t at;
    if (market_idx_get (self->by_author, key, &keys, &at) == 0) {
        *out = self->authors [at];
        return 0;
    }
    uint8_t *copy = (uint8_t *) malloc (32);
    if (!copy
    ||  HEARTH_VEC_GROW (self->authors, self->cap_authors, self->n_authors + 1, S_FIRST_CAP)) {
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

/* ---- lifecycle ------------------------------------------------------------ */

/*  The order index's items are posts. */
static const char *
s_order_id (const void *item)
{
    return ((const s_post_t *) item)->id;
}

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
    free (self->geo_dirty);
    market_search_destroy (&self->index);
    market_geo_destroy (&self->geo);
    if (self->order)
        market_order_clear (self->order);
    self->slabs = NULL;
    self->dirty = NULL;
    self->geo_dirty = NULL;
    self->n_slabs = self->cap_slabs = self->n_posts = 0;
    self->n_dirty = self->cap_dirty = self->n_geo_dirty = 0;
    self->max_lamport = 0;
    self->dropped = 0;
}

void
market_view_destroy (market_view_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    market_view_t *self = *self_p;
    market_view_restore_end (self, 0);      /* drop an open restore */
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
            out->has_loc = !u->loc_cleared;
            out->lat = u->loc_cleared? 0: u->lat;
            out->lng = u->loc_cleared? 0: u->lng;
            out->label = u->loc_cleared? "": u->label;
        }
    }
}

/*  from_ms + ttl seconds in ms, saturating. */
static uint64_t
s_plus_ttl (uint64_t from_ms, uint64_t ttl)
{
    //  ttl * 1000 cannot overflow for any uint64 ttl below 2^54; saturate anyway
    uint64_t span = ttl > UINT64_MAX / 1000? UINT64_MAX: ttl * 1000;
    return from_ms > UINT64_MAX - span? UINT64_MAX: from_ms + span;
}

/*  When p expires by time: the author's winning ttl update's wall clock +
    its ttl, else created_at + ttl (HearthNet's default if 0), in ms. */
static uint64_t
s_expires_at (const s_post_t *p)
{
    const s_upd_t *u = p->n_upds? s_upd_of (p, p->author): NULL;
    if (u && u->ttl_at.event_id)
        return s_plus_ttl (u->ttl_wall_ms, u->ttl_seconds);
    uint64_t ttl = s_cr_ttl_seconds (&p->cr);
    if (ttl == 0)
        ttl = S_DEFAULT_TTL_SECONDS;
    return s_plus_ttl (p->wall_ms, ttl);
}

/*  The claim that expires p under `members`, or NULL: the smallest
    (lamport, event_id) among valid claims. Valid (docs/decisions/0008-*): by
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
    out->expired_by = c? c->author: NULL;
    out->expired_at_ms = c? c->wall_ms: 0;
    const s_upd_t *u = p->n_upds? s_upd_of (p, p->author): NULL;
    out->updated_at_ms = u && u->latest_at.event_id? u->latest_wall_ms: 0;
    out->history = u? u->n_history: 0;
    out->has_distance = 0;
    out->distance_km = 0;
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
    //  Both bitmaps grow together; cap_dirty moves only when both did (a
    //  bitmap larger than cap_dirty is zeroed beyond it at the next try)
    uint64_t *grown = (uint64_t *) realloc (self->dirty, need * sizeof (uint64_t));
    if (!grown)
        return HEARTH_ENOMEM;
    self->dirty = grown;
    grown = (uint64_t *) realloc (self->geo_dirty, need * sizeof (uint64_t));
    if (!grown)
        return HEARTH_ENOMEM;
    self->geo_dirty = grown;
    memset (self->dirty + self->cap_dirty, 0, (need - self->cap_dirty) * sizeof (uint64_t));
    memset (self->geo_dirty + self->cap_dirty, 0, (need - self->cap_dirty) * sizeof (uint64_t));
    self->cap_dirty = need;
    return 0;
}

static void
s_order_remove (market_view_t *self, s_post_t *p)
{
    int rc = market_order_remove (self->order, p->lamport, p->id);
    assert (rc == 0);
    (void) rc;
}

/*  The entry for id and its index, created if needed (ECAPACITY at
    MARKET_VIEW_MAX_POSTS). */
int
market_view_post_add (market_view_t *self, const char *id, s_post_t **out, uint32_t *out_at)
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
        if (HEARTH_VEC_GROW (self->slabs, self->cap_slabs, slab + 1, S_FIRST_CAP)
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

/*  Count an update in rec's history: its hash joins the sorted set (a
    repeat is already there). At MARKET_VIEW_MAX_HISTORY the smallest
    hashes are kept, so the set, and the count, do not depend on arrival
    order. 0 or HEARTH_ENOMEM. */
static int
s_history_add (s_upd_t *rec, const uint8_t hash [32])
{
    size_t lo = 0, hi = rec->n_history;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = memcmp (rec->history [mid], hash, 32);
        if (c == 0)
            return 0;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (rec->n_history >= MARKET_VIEW_MAX_HISTORY) {
        if (lo == rec->n_history)
            return 0;               // larger than every kept hash
        rec->n_history--;           // the largest makes room
    }
    else {
        uint8_t (*grown) [32] = (uint8_t (*) [32]) realloc (rec->history,
                                                          (rec->n_history + 1) * 32);
        if (!grown)
            return HEARTH_ENOMEM;
        rec->history = grown;
    }
    memmove (rec->history + lo + 1, rec->history + lo, (rec->n_history - lo) * 32);
    memcpy (rec->history [lo], hash, 32);
    rec->n_history++;
    return 0;
}

static int
s_apply_created (market_view_t *self, const event_t *ev)
{
    const Hearth__MarketPostCreated *c = event_body (ev)->market_post_created;
    s_post_t *p;
    uint32_t at;
    int rc = market_view_post_add (self, event_id (ev), &p, &at);
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
    if (market_view_author_intern (self, event_author (ev), &author))
        return HEARTH_ENOMEM;
    s_created_t cr;
    if (market_view_created_build (c, &cr))
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
    int rc = market_view_post_add (self, u->target_event_id, &p, &at);
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
        char **v = market_view_tags_copy (u->tags, u->n_tags);
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
    if (u->location || u->clear_location) {
        char *v = s_strdup0 (u->location? u->location->label: "");
        if (!v)
            return HEARTH_ENOMEM;
        if ((rc = s_stamp_win (&rec->loc_at, lamport, id)) == 1) {
            free (rec->label);
            rec->label = v;
            rec->loc_cleared = u->location == NULL;
            rec->lat = u->location? u->location->lat: 0;
            rec->lng = u->location? u->location->lng: 0;
        }
        else
            free (v);
        if (rc < 0)
            return rc;
    }
    if (u->ttl_seconds) {
        if ((rc = s_stamp_win (&rec->ttl_at, lamport, id)) == 1) {
            rec->ttl_seconds = u->ttl_seconds;
            rec->ttl_wall_ms = event_wall_ms (ev);
        }
        if (rc < 0)
            return rc;
    }
    if ((rc = s_stamp_win (&rec->latest_at, lamport, id)) == 1)
        rec->latest_wall_ms = event_wall_ms (ev);
    if (rc < 0 || (rc = s_history_add (rec, event_hash (ev))) < 0)
        return rc;
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
    int rc = market_view_post_add (self, x->target_event_id, &p, &at);
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
        claim->wall_ms = event_wall_ms (ev);
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

/* ---- near me: the spatial index, filtered lists ------------------------------ */

/*  Bring the spatial index in step with one post: its effective location
    if it has one (and its author has not expired it: final, as for the
    search index), else out. A location that is not a valid point (only a
    damaged snapshot could hold one) counts as none. */
static int
s_geo_post (market_view_t *self, uint32_t at)
{
    const s_post_t *p = s_post_at (self, at);
    s_content_t content;
    if (p->created && !s_author_claimed (p)) {
        s_content (p, &content);
        if (content.has_loc) {
            int rc = market_geo_put (self->geo, at, content.lat, content.lng);
            return rc == HEARTH_EINVAL? 0: rc;
        }
    }
    market_geo_remove (self->geo, at);
    return 0;
}

/*  Bring the spatial index up to date with the posts changed since the
    last sync (created, updated by the author, expired by the author,
    restored). 0 or HEARTH_ENOMEM (the rest stay queued). */
static int
s_geo_sync (market_view_t *self)
{
    if (!self->geo && !(self->geo = market_geo_new ()))
        return HEARTH_ENOMEM;
    for (size_t w = 0; self->n_geo_dirty > 0 && w < self->cap_dirty; w++)
        while (self->geo_dirty [w]) {
            size_t at = w * S_WORD_BITS + (size_t) __builtin_ctzll (self->geo_dirty [w]);
            int rc = s_geo_post (self, (uint32_t) at);
            if (rc)
                return rc;
            self->geo_dirty [w] &= self->geo_dirty [w] - 1;
            self->n_geo_dirty--;
        }
    return 0;
}

size_t
market_view_geo_bytes (const market_view_t *self)
{
    return self->geo? market_geo_bytes (self->geo): 0;
}

size_t
market_view_geo_size (const market_view_t *self)
{
    return self->geo? market_geo_size (self->geo): 0;
}

/*  A post picked by a filtered list, and its squared chord to the centre. */
typedef struct {
    const s_post_t *p;
    double          chord2;
} s_pick_t;

/*  > 0 if a ranks before b: nearer (by_distance), then newer by
    (lamport, id). A total order: ids are unique. */
static int
s_pick_cmp (const s_pick_t *a, const s_pick_t *b, int by_distance)
{
    if (by_distance && a->chord2 != b->chord2)
        return a->chord2 < b->chord2? 1: -1;
    return s_stamp_cmp (a->p->lamport, a->p->id, b->p->lamport, b->p->id);
}

/*  The best `limit` picks so far: a heap whose root is the worst kept. */
typedef struct {
    s_pick_t *items;                /* borrowed, limit of them */
    size_t    n, limit;
    int       by_distance;
} s_picks_t;

static void
s_picks_sift (s_picks_t *h, size_t i)
{
    for (;;) {
        size_t worst = i, l = 2 * i + 1, r = l + 1;
        if (l < h->n && s_pick_cmp (&h->items [l], &h->items [worst], h->by_distance) < 0)
            worst = l;
        if (r < h->n && s_pick_cmp (&h->items [r], &h->items [worst], h->by_distance) < 0)
            worst = r;
        if (worst == i)
            return;
        s_pick_t tmp = h->items [i];
        h->items [i] = h->items [worst];
        h->items [worst] = tmp;
        i = worst;
    }
}

static void
s_picks_offer (s_picks_t *h, const s_post_t *p, double chord2)
{
    s_pick_t pick = { p, chord2 };
    if (h->n < h->limit) {
        //  Sift up: the worst stays at the root
        size_t i = h->n++;
        h->items [i] = pick;
        while (i > 0) {
            size_t parent = (i - 1) / 2;
            if (s_pick_cmp (&h->items [i], &h->items [parent], h->by_distance) >= 0)
                break;
            s_pick_t tmp = h->items [i];
            h->items [i] = h->items [parent];
            h->items [parent] = tmp;
            i = parent;
        }
    }
    else
    if (h->limit > 0 && s_pick_cmp (&pick, &h->items [0], h->by_distance) > 0) {
        h->items [0] = pick;
        s_picks_sift (h, 0);
    }
}

/*  Everything but the location a listed post must pass. */
typedef struct {
    market_view_t        *view;
    const market_query_t *q;
    char                **tags;     /* lower-cased query tags */
    const membership_t   *members;
    uint64_t              now_ms;
    const market_geo_circle_t *circle;
    s_picks_t             picks;
} s_near_ctx_t;

static int
s_listable (const s_near_ctx_t *ctx, const s_post_t *p)
{
    const market_query_t *q = ctx->q;
    return p->created && p->lamport > q->since_lamport
        && (!q->category || p->cr.category == q->category)
        && (!q->n_tags || s_tags_any (p, ctx->tags, q->n_tags))
        && s_active (p, ctx->members, ctx->now_ms);
}

static int
s_near_visit (void *arg, uint32_t at, double chord2)
{
    s_near_ctx_t *ctx = (s_near_ctx_t *) arg;
    const s_post_t *p = s_post_at (ctx->view, at);
    if (s_listable (ctx, p))
        s_picks_offer (&ctx->picks, p, chord2);
    return 0;
}

/*  Walk the feed newest first, taking each post's location from its
    content: newest order stops at `limit` hits; distance order (only
    without the index, out of memory) reads everything. */
static void
s_near_walk (s_near_ctx_t *ctx)
{
    market_order_cursor_t cursor;
    for (const market_order_entry_t *e = market_order_last (ctx->view->order, &cursor);
         e; e = market_order_prev (ctx->view->order, &cursor)) {
        const s_post_t *p = (const s_post_t *) e->item;
        if (p->lamport <= ctx->q->since_lamport)
            break;                  // sorted by lamport: the rest are older
        if (!ctx->picks.by_distance && ctx->picks.n == ctx->picks.limit)
            break;                  // newest first: the first hits are the answer
        if (s_author_claimed (p))
            continue;
        s_content_t content;
        s_content (p, &content);
        if (!content.has_loc || !market_geo_point_ok (content.lat, content.lng))
            continue;
        double chord2 = market_geo_circle_chord2 (ctx->circle, content.lat, content.lng);
        if (market_geo_circle_holds (ctx->circle, chord2) && s_listable (ctx, p))
            s_picks_offer (&ctx->picks, p, chord2);
    }
}

/*  Sort the heap in place, best first: the root (the worst) goes last,
    then the next worst before it, and so on. */
static void
s_picks_sort (s_picks_t *h)
{
    size_t n = h->n;
    while (h->n > 1) {
        s_pick_t tmp = h->items [0];
        h->items [0] = h->items [h->n - 1];
        h->items [h->n - 1] = tmp;
        h->n--;
        s_picks_sift (h, 0);
    }
    h->n = n;
}

/*  Which way to answer a newest-first filtered list: the index costs
    about the candidates in the circle's cells (m); the walk about
    limit × N / hits, a hit taking ~3 candidate tests. So the walk wins
    when the circle holds many posts: m² > 6 · limit · N. */
static int
s_walk_cheaper (market_view_t *self, const market_geo_circle_t *circle, size_t limit)
{
    double m = (double) market_geo_estimate (self->geo, circle);
    double n = (double) market_order_size (self->order);
    return m * m > 6.0 * (double) limit * n;
}

static size_t
s_list_near (market_view_t *self, const market_query_t *q, char **tags, const membership_t *members,
             uint64_t now_ms, market_post_t *out, size_t limit)
{
    market_geo_circle_t circle;
    if (market_geo_circle_init (&circle, q->near->lat, q->near->lng, q->near->radius_km))
        return 0;
    s_pick_t *items = (s_pick_t *) malloc (limit * sizeof *items);
    if (!items)
        return 0;
    s_near_ctx_t ctx = { self, q, tags, members, now_ms, &circle,
                         { items, 0, limit, q->near->by_distance } };
    //  Out of memory for the index: the walk needs none (slower, same answer)
    int indexed = s_geo_sync (self) == 0;
    if (indexed && (q->near->by_distance || !s_walk_cheaper (self, &circle, limit)))
        market_geo_query (self->geo, &circle, s_near_visit, &ctx);
    else
        s_near_walk (&ctx);
    s_picks_sort (&ctx.picks);
    for (size_t i = 0; i < ctx.picks.n; i++) {
        s_fill (items [i].p, members, &out [i]);
        out [i].has_distance = 1;
        out [i].distance_km = market_geo_chord2_km (items [i].chord2);
    }
    size_t n = ctx.picks.n;
    free (items);
    return n;
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
        tags = market_view_tags_copy ((char *const *) q->tags, q->n_tags);
        if (!tags)
            return 0;
    }
    if (q->near) {
        size_t n = limit? s_list_near (self, q, tags, members, now_ms, out, limit): 0;
        s_strv_free (tags, q->n_tags);
        return n;
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

/*  Visit every post in feed order, oldest first or (newest) newest first;
    stops at and returns the first non-zero rc from fn. */
static int
s_each (market_view_t *self, const membership_t *members, int newest,
        market_view_visit_fn *fn, void *arg)
{
    market_order_cursor_t cursor;
    for (const market_order_entry_t *e = newest? market_order_last (self->order, &cursor)
                                               : market_order_first (self->order, &cursor);
         e;
         e = newest? market_order_prev (self->order, &cursor)
                   : market_order_next (self->order, &cursor)) {
        market_post_t post;
        s_fill ((const s_post_t *) e->item, members, &post);
        int rc = fn (arg, &post);
        if (rc)
            return rc;
    }
    return 0;
}

int
market_view_each (market_view_t *self, const membership_t *members, market_view_visit_fn *fn,
                  void *arg)
{
    return s_each (self, members, 0, fn, arg);
}

int
market_view_each_newest (market_view_t *self, const membership_t *members,
                         market_view_visit_fn *fn, void *arg)
{
    return s_each (self, members, 1, fn, arg);
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
    const market_geo_circle_t *circle;  /* NULL = no location filter */
} s_accept_ctx_t;

static int
s_accept (void *arg, const char *doc_id)
{
    s_accept_ctx_t *ctx = (s_accept_ctx_t *) arg;
    market_idx_keys_t keys = { s_key_of, ctx->view };
    uint32_t at;
    if (market_idx_get (ctx->view->by_id, doc_id, &keys, &at))
        return 0;
    const s_post_t *p = s_post_at (ctx->view, at);
    double chord2;
    return s_active (p, ctx->members, ctx->now_ms)
        && (!ctx->circle || (market_geo_item (ctx->view->geo, at, ctx->circle, &chord2)
                             && market_geo_circle_holds (ctx->circle, chord2)));
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
        market_search_set_lexicon (self->index, self->lexicon);    // empty: cannot fail
        market_search_set_synonyms (self->index, self->synonyms);
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

void
market_view_set_search (market_view_t *self, const market_lexicon_t *lexicon,
                        const market_synonyms_t *synonyms)
{
    self->synonyms = synonyms;
    if (self->index)
        market_search_set_synonyms (self->index, synonyms);
    if (lexicon == self->lexicon)
        return;
    //  Posts indexed without the lexicon lack their compound parts: index
    //  them all again at the next search
    self->lexicon = lexicon;
    market_search_destroy (&self->index);
    for (size_t at = 0; at < self->n_posts; at++)
        s_mark_dirty_at (self, (uint32_t) at);
}

size_t
market_view_search_bytes (const market_view_t *self)
{
    return self->index? market_search_bytes (self->index): 0;
}

/*  Bytes of a created block: its last string ends it (the tags come
    first, then client_id, title, body and label). */
static size_t
s_block_bytes (const s_created_t *cr)
{
    return cr->block? (size_t) cr->label_at + strlen (cr->block + cr->label_at) + 1: 0;
}

size_t
market_view_bytes (const market_view_t *self)
{
    size_t bytes = sizeof *self + self->cap_slabs * sizeof (s_post_t *);
    for (size_t k = 0; k < self->n_slabs; k++)
        bytes += (k < S_SLAB_GROWING? ((size_t) 1 << (S_SLAB_FIRST_SHIFT + k))
                                    : ((size_t) 1 << S_SLAB_MAX_SHIFT)) * sizeof (s_post_t);
    for (size_t i = 0; i < self->n_posts; i++) {
        const s_post_t *p = s_post_at (self, i);
        bytes += s_block_bytes (&p->cr);
        bytes += p->n_upds * sizeof (s_upd_t) + p->n_claims * sizeof (s_claim_t);
    }
    /*  market_idx: 8 bytes a slot; market_order: 16 bytes an entry in
        chunks at least half full; authors: the key and its pointer. */
    bytes += (market_idx_slots (self->by_id) + market_idx_slots (self->by_author)) * 8;
    bytes += market_order_size (self->order) * 16 * 3 / 2;
    bytes += self->cap_authors * sizeof (uint8_t *) + self->n_authors * 32;
    bytes += self->cap_dirty * sizeof (uint64_t);
    return bytes;
}

int
market_view_search (market_view_t *self, const char *query, size_t k,
                    const membership_t *members, uint64_t now_ms,
                    market_post_t *out, double *scores)
{
    return market_view_search_near (self, query, k, NULL, members, now_ms, out, scores);
}

int
market_view_search_near (market_view_t *self, const char *query, size_t k,
                         const market_near_t *near, const membership_t *members,
                         uint64_t now_ms, market_post_t *out, double *scores)
{
    market_geo_circle_t circle;
    if (near && market_geo_circle_init (&circle, near->lat, near->lng, near->radius_km))
        return 0;
    int rc = s_index_sync (self);
    if (rc == 0 && near)
        rc = s_geo_sync (self);
    if (rc)
        return rc;
    if (k > MARKET_SEARCH_MAX_K)
        k = MARKET_SEARCH_MAX_K;
    market_search_hit_t hits [MARKET_SEARCH_MAX_K];
    s_accept_ctx_t ctx = { self, members, now_ms, near? &circle: NULL };
    size_t n = market_search_query (self->index, query, k, s_accept, &ctx, hits);
    for (size_t i = 0; i < n; i++) {
        const s_post_t *p = s_find (self, hits [i].doc_id);
        assert (p && p->created);
        s_fill (p, members, &out [i]);
        if (near) {
            out [i].has_distance = 1;
            out [i].distance_km = market_geo_chord2_km (
                market_geo_circle_chord2 (&circle, out [i].lat, out [i].lng));
        }
        scores [i] = hits [i].score;
    }
    return (int) n;
}
