/*  market_view_private.h — what market_view.c (the fold and its queries)
    and market_view_snapshot.c (records, digest, restore, the eventlog
    adapter) share: the view struct, the per-post records, and the small
    helpers both use. Not part of any public API: included only by those
    two files; everything else uses market_view.h.

    Invariants (see market_view.c's banner for the layout and why): posts
    live in slabs that never move, found by id through `by_id`; posts with
    a .created are also in `order`; `dirty` covers n_posts bits; a post's
    author points into the view's author table. The helpers here keep the
    names they had as file-local functions (s_*, static inline); the four
    functions the snapshot half calls in the fold's half are named
    market_view_* and declared at the end.
*/
#ifndef HEARTH_MARKET_VIEW_PRIVATE_H
#define HEARTH_MARKET_VIEW_PRIVATE_H

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "hearth_error.h"
#include "market_geo.h"
#include "market_idx.h"
#include "market_order.h"
#include "market_search.h"
#include "market_view.h"

/*  Capacity of a growable array on its first allocation. */
#define S_FIRST_CAP 16

/*  A (lamport, event_id) stamp; event_id NULL = none. */
typedef struct {
    char     *event_id;             /* owned */
    uint64_t  lamport;
} s_stamp_t;

/*  The field winners of one author's .updated events on a post, the
    newest of them (updated_at) and the set of them (history). */
typedef struct {
    uint8_t   author [32];
    s_stamp_t title_at, body_at, tags_at, loc_at, ttl_at;
    char     *title;                /* owned, valid if title_at set */
    char     *body;                 /* owned, valid if body_at set */
    char    **tags;                 /* owned (each and array), valid if tags_at set */
    size_t    n_tags;
    double    lat, lng;             /* valid if loc_at set and !loc_cleared */
    char     *label;                /* owned */
    int       loc_cleared;          /* the location winner removed the location */
    uint64_t  ttl_seconds;          /* valid if ttl_at set: expires_at = */
    uint64_t  ttl_wall_ms;          /*   ttl_wall_ms + ttl_seconds * 1000 */
    s_stamp_t latest_at;            /* the newest .updated (any fields) */
    uint64_t  latest_wall_ms;       /* its wall clock: the post's updated_at */
    uint8_t (*history) [32];        /* owned: hashes of the distinct .updated, sorted,
                                       the smallest MARKET_VIEW_MAX_HISTORY; NULL if none */
    size_t    n_history;
} s_upd_t;

typedef struct {
    uint8_t   author [32];
    char     *event_id;             /* owned */
    uint64_t  lamport;
    uint64_t  wall_ms;              /* of the claim: when it was expired */
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
    //  Near me: the located posts by effective location, brought up to date
    //  lazily from `geo_dirty` (a bit per post, set with `dirty`)
    market_geo_t    *geo;           /* owned; NULL until first needed */
    uint64_t        *geo_dirty;     /* owned bitmap, cap_dirty words like dirty */
    size_t           n_geo_dirty;   /* bits set */
    const market_lexicon_t  *lexicon;   /* borrowed (market_view_set_search); may be NULL */
    const market_synonyms_t *synonyms;  /* borrowed (market_view_set_search); may be NULL */
    uint64_t         max_lamport;
    uint64_t         dropped;
    market_view_restore_t *restoring; /* owned; NULL unless a restore is open */
};

/* ---- helpers both halves use ------------------------------------------- */

/*  (lamport, id) order; NULL id sorts first (= no stamp). */
static inline int
s_stamp_cmp (uint64_t la, const char *ia, uint64_t lb, const char *ib)
{
    if (la != lb)
        return la < lb? -1: 1;
    if (!ia || !ib)
        return ia? 1: ib? -1: 0;
    return strcmp (ia, ib);
}

static inline void
s_strv_free (char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free (v [i]);
    free (v);
}

static inline char *
s_strdup0 (const char *s)
{
    return strdup (s? s: "");
}

/*  The parts of a created payload. */
static inline const char *
s_cr_client_id (const s_created_t *cr)
{
    return cr->block + cr->client_id_at;
}

static inline const char *
s_cr_title (const s_created_t *cr)
{
    return cr->block + cr->title_at;
}

static inline const char *
s_cr_body (const s_created_t *cr)
{
    return cr->block + cr->body_at;
}

static inline const char *
s_cr_label (const s_created_t *cr)
{
    return cr->block + cr->label_at;
}

static inline char **
s_cr_tags (const s_created_t *cr)
{
    return (char **) (cr->block + cr->tags_at);
}

static inline uint64_t
s_cr_ttl_seconds (const s_created_t *cr)
{
    uint64_t ttl;
    memcpy (&ttl, cr->block, sizeof ttl);
    return ttl;
}

/*  Latitude, longitude: 0 unless has_loc. */
static inline double
s_cr_lat (const s_created_t *cr)
{
    double loc [2] = { 0, 0 };
    if (cr->has_loc)
        memcpy (loc, cr->block + sizeof (uint64_t), sizeof loc);
    return loc [0];
}

static inline double
s_cr_lng (const s_created_t *cr)
{
    double loc [2] = { 0, 0 };
    if (cr->has_loc)
        memcpy (loc, cr->block + sizeof (uint64_t), sizeof loc);
    return loc [1];
}

/*  The slab and the position in it of post i. */
static inline void
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
static inline s_post_t *
s_post_at (const market_view_t *self, size_t i)
{
    assert (i < self->n_posts);
    size_t slab, pos;
    s_slab_of (i, &slab, &pos);
    return &self->slabs [slab][pos];
}

/*  Bits per dirty word. */
#define S_WORD_BITS 64

/*  Queue post at for the search index and the spatial index: its
    effective content (location included) may have changed (cannot fail:
    s_post_add keeps both bitmaps covering n_posts). */
static inline void
s_mark_dirty_at (market_view_t *self, uint32_t at)
{
    assert (at < self->n_posts && at / S_WORD_BITS < self->cap_dirty);
    uint64_t bit = (uint64_t) 1 << (at % S_WORD_BITS);
    if (!(self->geo_dirty [at / S_WORD_BITS] & bit)) {
        self->geo_dirty [at / S_WORD_BITS] |= bit;
        self->n_geo_dirty++;
    }
    if (self->dirty [at / S_WORD_BITS] & bit)
        return;
    self->dirty [at / S_WORD_BITS] |= bit;
    self->n_dirty++;
}

static inline int
s_order_insert (market_view_t *self, s_post_t *p)
{
    int rc = market_order_insert (self->order, p->lamport, p->id, p);
    assert (rc != HEARTH_EEXISTS);      // one entry per post id
    return rc;
}

/*  by_id's keys: the id of the post at an index. */
static inline const void *
s_key_of (const void *arg, uint32_t index)
{
    const market_view_t *self = (const market_view_t *) arg;
    return s_post_at (self, index)->id;
}

/* ---- in market_view.c ------------------------------------------------------ */

/*  The entry for id and its index, created if needed (ECAPACITY at
    MARKET_VIEW_MAX_POSTS, ENOMEM). */
int market_view_post_add (market_view_t *self, const char *id, s_post_t **out, uint32_t *out_at);

/*  Build a created payload (tags lower-cased) in one allocation, owned by
    *out. 0 or HEARTH_ENOMEM. c must be within the field limits (EVENT_MAX_*). */
int market_view_created_build (const Hearth__MarketPostCreated *c, s_created_t *out);

/*  The view's copy of an author key (added if new): 0 and *out (borrowed
    from the view's author table), or HEARTH_ENOMEM. */
int market_view_author_intern (market_view_t *self, const uint8_t key [32], const uint8_t **out);

/*  Lower-cased copies of tags, owned by the caller (s_strv_free); NULL on
    OOM (n == 0 gives a 1-slot array). */
char **market_view_tags_copy (char *const *tags, size_t n);

#endif
