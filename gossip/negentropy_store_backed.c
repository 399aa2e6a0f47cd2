/*  negentropy_store_backed.c — the backed store (negentropy_store_new_backed),
    the one a node uses (docs/decisions/0017-*): no leaves; the entries of
    its lowest inner level (height 1) are pages, child NULL, whose count, sum
    and key (smallest item) say which items of the source they are: count
    items from the key on. Its height is at least 1 (an empty store is an
    empty root). A page's items are read when a query needs inside it, and
    checked against the summary. Insert only counts (never reads, since the
    source may already hold later items while the event log's hook runs):
    an item above the largest opens a new page after a full last page
    ("full | new" again); any other joins its page, and a page past
    NEGENTROPY_PAGE_MAX is split into pages of S_PAGE_SPLIT by
    negentropy_store_settle, which reads it.

    Invariants: a page's count and sum describe the source only as long as
    the caller keeps them equal: that is checked on every page read, never
    assumed (HEARTH_ECORRUPT). Cached pages are valid for one generation;
    every insert and split starts a new one. The tree itself is
    negentropy_store.c's; its operations table is s_backed_ops below.
*/
#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "negentropy_store_private.h"
#include "hearth_error.h"
#include "hearth_vec.h"

/*  A grown page is split into pages of about this many items (and at most
    NEGENTROPY_PAGE_MAX): half full, so the next NEGENTROPY_PAGE_MAX / 2
    inserts into it fit before it is read and split again. */
#define S_PAGE_SPLIT (NEGENTROPY_PAGE_MAX / 2)
/*  Pages of a backed store kept decoded (16 x 64 x 40 B = 40 KiB): a
    session's queries come back to the same pages (a bucket's bound and
    fingerprint, the next bucket's start), and a page read from RocksDB
    costs tens of microseconds. Fewer pages lose most of the gain, more
    gain only when the same opening repeats on an unchanged store
    (`gossip_bench store`; its figures are in docs/performance.md). */
#define S_CACHE_PAGES 16

/*  A decoded page of a backed store, valid while the store's generation
    is unchanged (any insert or split moves it on). */
typedef struct {
    negentropy_item_t *items;       /* owned: NEGENTROPY_PAGE_MAX items, or NULL until used */
    size_t   n;                     /* items held; 0 = empty */
    uint64_t key_ts;
    uint8_t  key_id [NEGENTROPY_ID_SIZE];
    uint64_t generation, used;      /* used: LRU tick */
} s_slot_t;

/*  A backed store: the base (first, so a store pointer is a backed one)
    and what only pages need. */
typedef struct {
    negentropy_store_t base;
    negentropy_source_fn *read;     /* page reader */
    void    *source;                /* borrowed until destroy */
    bool     grown;                 /* a page is past NEGENTROPY_PAGE_MAX */
    uint64_t max_ts;                /* the largest item, */
    uint8_t  max_id [NEGENTROPY_ID_SIZE];   /* valid when size > 0 */
    /*  The page cache: not part of the store's value, so const queries
        fill it (a store belongs to one thread). */
    s_slot_t cache [S_CACHE_PAGES];
    uint64_t generation, tick;
} s_backed_t;

/*  The backed store a base pointer belongs to (the cache is filled by
    const queries too, hence no const). */
static inline s_backed_t *
s_backed (const negentropy_store_t *self)
{
    return (s_backed_t *) self;
}

/* ---- pages ------------------------------------------------------------------ */

/*  The items of one page: borrowed from the page cache (valid until the
    next page load), or owned for a grown page. */
typedef struct {
    const negentropy_item_t *items;
    size_t n;
    negentropy_item_t *owned;               /* owned, or NULL */
} s_page_t;

static void
s_page_free (s_page_t *page)
{
    free (page->owned);
    page->owned = NULL;
    page->items = NULL;
}

/*  Where a page read lands. */
typedef struct {
    negentropy_item_t *buf;                 /* borrowed */
    size_t n, cap;
} s_fill_t;

/*  negentropy_store_fn collecting into an s_fill_t; more items than asked
    for is a broken source. */
static int
s_page_collect (const negentropy_item_t *item, size_t index, void *arg)
{
    (void) index;
    s_fill_t *fill = (s_fill_t *) arg;
    if (fill->n == fill->cap)
        return HEARTH_ECORRUPT;
    fill->buf [fill->n++] = *item;
    return 0;
}

/*  Read count items from key into buf and check them against the summary
    (count, first item, id sum). Returns 0, HEARTH_ECORRUPT if the source
    disagrees, or the source's error. */
static int
s_page_read (const s_backed_t *self, const s_inner_t *node, uint32_t c,
             negentropy_item_t *buf)
{
    size_t count = node->count [c];
    s_fill_t fill = { buf, 0, count };
    int rc = self->read (self->source, node->key_ts [c], node->key_id [c], count,
                         s_page_collect, &fill);
    if (rc == 0 && (fill.n != count
    ||  s_cmp (buf [0].timestamp, buf [0].id, node->key_ts [c], node->key_id [c]) != 0))
        rc = HEARTH_ECORRUPT;
    if (rc == 0) {
        s_sum_t sum = {{ 0 }};
        for (size_t i = 0; i < count; i++)
            s_sum_add_id (&sum, buf [i].id);
        if (memcmp (&sum, &node->sum [c], sizeof sum) != 0)
            rc = HEARTH_ECORRUPT;
    }
    return rc > 0? HEARTH_ECORRUPT: rc;
}

/*  Page c of node (height 1) into page, from the cache or read and checked
    (s_page_read). Returns 0 (page to be freed with s_page_free),
    HEARTH_ENOMEM, HEARTH_ECORRUPT or the source's error. */
static int
s_page_load (const negentropy_store_t *store, const s_inner_t *node, uint32_t c, s_page_t *page)
{
    s_backed_t *self = s_backed (store);    /* the cache only */
    size_t count = node->count [c];
    page->owned = NULL;
    page->items = NULL;
    page->n = 0;
    if (count > NEGENTROPY_PAGE_MAX) {      /* grown: never cached */
        page->owned = (negentropy_item_t *) malloc (count * sizeof (negentropy_item_t));
        if (!page->owned)
            return HEARTH_ENOMEM;
        int rc = s_page_read (self, node, c, page->owned);
        if (rc) {
            s_page_free (page);
            return rc;
        }
        page->items = page->owned;
        page->n = count;
        return 0;
    }
    s_slot_t *lru = &self->cache [0];
    for (size_t i = 0; i < S_CACHE_PAGES; i++) {
        s_slot_t *slot = &self->cache [i];
        if (slot->n == count && slot->generation == self->generation
        &&  slot->key_ts == node->key_ts [c]
        &&  memcmp (slot->key_id, node->key_id [c], NEGENTROPY_ID_SIZE) == 0) {
            slot->used = ++self->tick;
            page->items = slot->items;
            page->n = count;
            return 0;
        }
        if (slot->used < lru->used)
            lru = slot;
    }
    if (!lru->items)
        lru->items = (negentropy_item_t *) malloc (NEGENTROPY_PAGE_MAX * sizeof (negentropy_item_t));
    if (!lru->items)
        return HEARTH_ENOMEM;
    lru->n = 0;                             /* empty until read and checked */
    int rc = s_page_read (self, node, c, lru->items);
    if (rc)
        return rc;
    lru->n = count;
    lru->key_ts = node->key_ts [c];
    memcpy (lru->key_id, node->key_id [c], NEGENTROPY_ID_SIZE);
    lru->generation = self->generation;
    lru->used = ++self->tick;
    page->items = lru->items;
    page->n = count;
    return 0;
}

/*  The page holding index (< size) of a backed store: its node (height 1)
    and position there, the offset of index in it, and, added into *before
    when not NULL, the sum of the ids before the page. */
static const s_inner_t *
s_page_locate (const negentropy_store_t *self, size_t index, uint32_t *c_out, size_t *offset,
               s_sum_t *before)
{
    const s_inner_t *inner = (const s_inner_t *) self->root;
    for (int h = self->height; ; h--) {
        uint32_t c = 0;
        while (index >= inner->count [c]) {
            index -= inner->count [c];
            c++;
            assert (c < inner->n);
        }
        if (before)
            s_sum_add (before, &inner->left [c]);
        if (h == 1) {
            *c_out = c;
            *offset = index;
            return inner;
        }
        inner = (const s_inner_t *) inner->child [c];
    }
}

/*  First position in the page's items whose item is >= key. */
static size_t
s_page_lower_bound (const s_page_t *page, uint64_t ts, const uint8_t *id)
{
    size_t lo = 0, hi = page->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s_cmp (page->items [mid].timestamp, page->items [mid].id, ts, id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/*  Backed store: sum of the ids of items [0, index), index < size. */
static int
s_page_prefix_sum (const negentropy_store_t *self, size_t index, s_sum_t *out)
{
    uint32_t c;
    size_t offset;
    memset (out, 0, sizeof *out);
    const s_inner_t *node = s_page_locate (self, index, &c, &offset, out);
    if (offset == 0)
        return 0;
    s_page_t page;
    int rc = s_page_load (self, node, c, &page);
    if (rc)
        return rc;
    if (offset <= page.n / 2) {
        for (size_t i = 0; i < offset; i++)
            s_sum_add_id (out, page.items [i].id);
    }
    else {                                  /* nearer the end: the page's sum - the tail */
        s_sum_t part = node->sum [c], tail = {{ 0 }};
        for (size_t i = offset; i < page.n; i++)
            s_sum_add_id (&tail, page.items [i].id);
        s_sum_sub (&part, &tail);
        s_sum_add (out, &part);
    }
    s_page_free (&page);
    return 0;
}

/*  Backed store: the node (height 1, with room for one more page) and
    position of the page whose smallest item is (ts, id), splitting full
    nodes on the way down (which changes no count or sum). Returns 0 or
    HEARTH_ENOMEM (the tree still valid). */
static int
s_page_parent (negentropy_store_t *self, uint64_t ts, const uint8_t *id, s_inner_t **node_out,
               uint32_t *c_out)
{
    int rc = negentropy_store_root_make_room (self);
    if (rc)
        return rc;
    s_inner_t *node = (s_inner_t *) self->root;
    for (int h = self->height; h > 1; h--) {
        uint32_t c = s_inner_route (node, ts, id);
        if ((rc = negentropy_store_child_make_room (node, &c, ts, id)))
            return rc;
        node = (s_inner_t *) node->child [c];
    }
    *node_out = node;
    *c_out = s_inner_route (node, ts, id);
    assert (s_cmp (node->key_ts [*c_out], node->key_id [*c_out], ts, id) == 0);
    return 0;
}

/*  Split one grown page, read into page (its items, in order), into
    page.n / S_PAGE_SPLIT pages of near-equal size, carving from the left. */
static int
s_page_split (negentropy_store_t *self, const s_page_t *page)
{
    size_t pieces = page->n / S_PAGE_SPLIT;
    size_t start = 0;
    for (size_t k = 1; k < pieces; k++) {
        size_t cut = page->n * k / pieces;
        s_inner_t *node;
        uint32_t c;
        int rc = s_page_parent (self, page->items [start].timestamp, page->items [start].id, &node, &c);
        if (rc)
            return rc;
        assert (node->count [c] == page->n - start);
        s_entry_t rest = { .node = NULL, .count = page->n - cut, .key_ts = page->items [cut].timestamp };
        memcpy (rest.key_id, page->items [cut].id, NEGENTROPY_ID_SIZE);
        for (size_t i = cut; i < page->n; i++)
            s_sum_add_id (&rest.sum, page->items [i].id);
        node->count [c] -= rest.count;
        s_sum_sub (&node->sum [c], &rest.sum);
        negentropy_store_inner_put (node, c + 1, &rest);
        start = cut;
    }
    return 0;
}

/*  Smallest items of the grown pages under node, appended to *keys. */
typedef struct {
    negentropy_item_t *keys;                /* owned */
    size_t n, cap;
} s_keys_t;

static int
s_grown_keys (const s_inner_t *node, int height, s_keys_t *keys)
{
    for (uint32_t c = 0; c < node->n; c++) {
        if (height > 1) {
            int rc = s_grown_keys ((const s_inner_t *) node->child [c], height - 1, keys);
            if (rc)
                return rc;
            continue;
        }
        if (node->count [c] <= NEGENTROPY_PAGE_MAX)
            continue;
        if (HEARTH_VEC_GROW (keys->keys, keys->cap, keys->n + 1, 16))
            return HEARTH_ENOMEM;
        keys->keys [keys->n].timestamp = node->key_ts [c];
        memcpy (keys->keys [keys->n].id, node->key_id [c], NEGENTROPY_ID_SIZE);
        keys->n++;
    }
    return 0;
}

/* ---- insert, settle ----------------------------------------------------------- */

/*  Under page c of node (height 1): an item above everything after a full
    last page opens a new page ("full | new": counted by the new entry);
    any other joins page c, which the caller counts (it may grow past
    NEGENTROPY_PAGE_MAX until settle). Never reads the source. */
static int
s_backed_insert_under (negentropy_store_t *self, s_inner_t *node, uint32_t c, uint64_t ts,
                       const uint8_t *id, const s_sum_t *v, bool append, s_entry_t *split)
{
    (void) split;                           /* pages never split here */
    if (append && node->count [c] >= NEGENTROPY_PAGE_MAX) {
        assert (c + 1 == node->n);          /* above everything: the last page */
        s_entry_t page = { .node = NULL, .count = 1, .sum = *v, .key_ts = ts };
        memcpy (page.key_id, id, NEGENTROPY_ID_SIZE);
        negentropy_store_inner_put (node, c + 1, &page);
        return S_PLACED;
    }
    if (node->count [c] >= NEGENTROPY_PAGE_MAX)
        s_backed (self)->grown = true;      /* past the max once counted */
    return 0;
}

static int
s_backed_insert (negentropy_store_t *self, uint64_t timestamp, const uint8_t *id, const s_sum_t *v)
{
    s_backed_t *backed = s_backed (self);
    backed->generation++;                   /* cached pages may be stale now */
    bool append = self->size == 0
               || s_cmp (timestamp, id, backed->max_ts, backed->max_id) > 0;
    s_inner_t *root = (s_inner_t *) self->root;
    int rc = 0;
    if (self->size == 0) {
        s_entry_t page = { .node = NULL, .count = 1, .sum = *v, .key_ts = timestamp };
        memcpy (page.key_id, id, NEGENTROPY_ID_SIZE);
        negentropy_store_inner_put (root, 0, &page);
    }
    else
    if ((rc = negentropy_store_root_make_room (self)) == 0)
        rc = negentropy_store_inner_insert (self, (s_inner_t *) self->root, self->height, timestamp,
                                            id, v, append);
    if (rc)
        return rc;
    if (append) {
        backed->max_ts = timestamp;
        memcpy (backed->max_id, id, NEGENTROPY_ID_SIZE);
    }
    return 0;
}

/*  Pages are summaries: append them in order, full. */
static int
s_backed_build (negentropy_store_t *self, const negentropy_item_t *items, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        int rc = negentropy_store_insert (self, items [i].timestamp, items [i].id);
        if (rc)
            return rc;                      /* ENOMEM: a prefix stored, as the source holds it all */
    }
    return 0;
}

/*  Pages are kept packed by settle: nothing to compact. */
static int
s_backed_compact (negentropy_store_t *self)
{
    (void) self;
    return 0;
}

static unsigned
s_backed_fill (const negentropy_store_t *self)
{
    (void) self;
    return 100;
}

static int
s_backed_settle (negentropy_store_t *self)
{
    s_backed_t *backed = s_backed (self);
    if (!backed->grown)
        return 0;
    s_keys_t keys = { NULL, 0, 0 };
    int rc = s_grown_keys ((const s_inner_t *) self->root, self->height, &keys);
    for (size_t k = 0; k < keys.n && rc == 0; k++) {
        s_inner_t *node;
        uint32_t c;
        rc = s_page_parent (self, keys.keys [k].timestamp, keys.keys [k].id, &node, &c);
        s_page_t page;
        if (rc == 0 && (rc = s_page_load (self, node, c, &page)) == 0) {
            rc = s_page_split (self, &page);
            s_page_free (&page);
            backed->generation++;
        }
    }
    free (keys.keys);
    if (rc == 0)
        backed->grown = false;
    return rc;
}

/* ---- queries ---------------------------------------------------------------- */

static int
s_backed_get (const negentropy_store_t *self, size_t index, negentropy_item_t *item)
{
    uint32_t c;
    size_t offset;
    const s_inner_t *node = s_page_locate (self, index, &c, &offset, NULL);
    s_page_t page;
    int rc = s_page_load (self, node, c, &page);
    if (rc == 0) {
        *item = page.items [offset];
        s_page_free (&page);
    }
    return rc;
}

/*  Descend by keys to the page, counting the items to the left; read it
    only when the bound falls inside it. */
static int
s_backed_lower_bound (const negentropy_store_t *self, uint64_t timestamp, const uint8_t *id,
                      size_t *index_out)
{
    size_t index = 0;
    const s_inner_t *inner = (const s_inner_t *) self->root;
    for (int h = self->height; ; h--) {
        uint32_t c = s_inner_route (inner, timestamp, id);
        for (uint32_t j = 0; j < c; j++)
            index += inner->count [j];
        if (h == 1) {
            /*  No read when the bound is at or below the page's first item. */
            if (s_cmp (timestamp, id, inner->key_ts [c], inner->key_id [c]) <= 0) {
                *index_out = index;
                return 0;
            }
            if (s_cmp (timestamp, id, s_backed (self)->max_ts, s_backed (self)->max_id) > 0) {
                *index_out = self->size;
                return 0;
            }
            s_page_t page;
            int rc = s_page_load (self, inner, c, &page);
            if (rc)
                return rc;
            *index_out = index + s_page_lower_bound (&page, timestamp, id);
            s_page_free (&page);
            return 0;
        }
        inner = (const s_inner_t *) inner->child [c];
    }
}

/*  A backed store's iterate: skip the first items of the page, hand the
    rest to the caller's fn. */
typedef struct {
    negentropy_store_fn *fn;
    void       *arg;
    size_t      skip, begin, seen;
    uint64_t    key_ts;
    const uint8_t *key_id;
    bool        stopped;                    /* fn returned non-zero */
} s_walk_t;

static int
s_walk_one (const negentropy_item_t *item, size_t index, void *arg)
{
    (void) index;
    s_walk_t *walk = (s_walk_t *) arg;
    if (walk->seen == 0 && s_cmp (item->timestamp, item->id, walk->key_ts, walk->key_id) != 0)
        return HEARTH_ECORRUPT;             /* the page's first item is gone */
    size_t i = walk->seen++;
    if (i < walk->skip)
        return 0;
    int rc = walk->fn (item, walk->begin + (i - walk->skip), walk->arg);
    if (rc)
        walk->stopped = true;
    return rc;
}

/*  One read from the first page's key: the source hands over the rest of
    the range in order (s_walk_one skips the page's items before begin). */
static int
s_backed_iterate (const negentropy_store_t *self, size_t begin, size_t end,
                  negentropy_store_fn *fn, void *arg)
{
    uint32_t c;
    size_t offset;
    const s_inner_t *node = s_page_locate (self, begin, &c, &offset, NULL);
    s_walk_t walk = { .fn = fn, .arg = arg, .skip = offset, .begin = begin, .key_ts = node->key_ts [c],
                      .key_id = node->key_id [c] };
    const s_backed_t *backed = s_backed (self);
    int rc = backed->read (backed->source, node->key_ts [c], node->key_id [c], offset + (end - begin),
                           s_walk_one, &walk);
    if (rc == 0 && walk.seen != offset + (end - begin))
        rc = HEARTH_ECORRUPT;               /* the source has fewer items than the store */
    return walk.stopped? rc: (rc > 0? HEARTH_ECORRUPT: rc);
}

static void
s_backed_destroy (negentropy_store_t *self)
{
    s_backed_t *backed = s_backed (self);
    for (size_t i = 0; i < S_CACHE_PAGES; i++)
        free (backed->cache [i].items);
}

static const s_ops_t s_backed_ops = {
    .insert       = s_backed_insert,
    .insert_under = s_backed_insert_under,
    .build        = s_backed_build,
    .compact      = s_backed_compact,
    .fill         = s_backed_fill,
    .settle       = s_backed_settle,
    .get          = s_backed_get,
    .lower_bound  = s_backed_lower_bound,
    .prefix_sum   = s_page_prefix_sum,
    .iterate      = s_backed_iterate,
    .destroy      = s_backed_destroy,
};

negentropy_store_t *
negentropy_store_new_backed (negentropy_source_fn *read, void *source)
{
    if (!read || sodium_init () < 0)
        return NULL;
    s_backed_t *backed = (s_backed_t *) calloc (1, sizeof *backed);
    if (!backed)
        return NULL;
    negentropy_store_t *self = &backed->base;
    self->ops = &s_backed_ops;
    self->root = calloc (1, sizeof (s_inner_t));   /* an empty root above no pages */
    if (!self->root) {
        free (backed);
        return NULL;
    }
    self->height = 1;
    backed->read = read;
    backed->source = source;
    return self;
}
