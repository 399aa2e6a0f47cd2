/*  negentropy_store.c — sorted (timestamp, id) items in a counted, summed
    B+tree; see negentropy_store.h.

    Shape: leaves hold up to S_LEAF_MAX items in order and are chained left to
    right; inner nodes hold up to S_INNER_MAX children and, per child, its item
    count, the sum of its ids (mod 2^256) and its smallest item (the routing
    key). All leaves are at the same depth (`height` inner levels above them).
    Nodes have no minimum fill: items are never removed.

    Insert descends once. Full inner nodes are split on the way down, before
    anything changes, so a leaf split always finds room in its parent and a
    failed allocation leaves a valid tree. A full rightmost leaf receiving an
    item at its end (the usual case: lamports grow) splits as "full | new"
    rather than in halves, so appended runs pack leaves full.

    Fingerprint(begin, end) = H(prefix(end) - prefix(begin), end - begin).
    Inner nodes also keep, per child, the sum of the children to its left, so
    prefix(i) walks one root-to-leaf path adding one 256-bit value per level,
    then at most half a leaf (from whichever end is nearer, using the leaf's
    total from its parent). An insert under child c updates the left-sums of
    the children after c: nothing when appending at the right edge.

    A backed store (negentropy_store_new_backed) has no leaves: the entries of
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

    Invariants (asserted, never derived from peer input): every inner entry's
    count and sum equal its subtree's; keys are each subtree's minimum; the
    store's size and total equal the root's. A backed store's page counts
    and sums describe the source only as long as the caller keeps them
    equal: that is checked on every page read, never assumed.
*/
#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "negentropy_store.h"
#include "hearth_error.h"

/*  Items per leaf: 64 x 40 bytes = 2.5 KiB, a few pages' worth of binary
    search and at most 63 additions for the in-leaf part of a prefix sum. */
#define S_LEAF_MAX   64
/*  Children per inner node: 1M items need 3 inner levels above 64-item leaves. */
#define S_INNER_MAX  64
/*  Longest varint of a uint64: ceil(64 / 7) digits. */
#define S_VARINT_MAX 10
/*  A grown page is split into pages of about this many items (and at most
    NEGENTROPY_PAGE_MAX): half full, so the next NEGENTROPY_PAGE_MAX / 2
    inserts into it fit before it is read and split again. */
#define S_PAGE_SPLIT (NEGENTROPY_PAGE_MAX / 2)
/*  Pages of a backed store kept decoded (16 x 64 x 40 B = 40 KiB): a
    session's queries come back to the same pages (a bucket's bound and
    fingerprint, the next bucket's start), and a page read from RocksDB
    costs ~45 us. gossip_bench store on a 1M log, one v1 opening: 11.2 ms
    uncached (128-item pages), 1.40 ms with 8 pages cached, 1.51 ms with
    32; only a cache holding every page an opening touches (64) does better,
    and only when the same opening repeats on an unchanged store. */
#define S_CACHE_PAGES 16

/*  A 256-bit unsigned integer as four little-endian 64-bit limbs. */
typedef struct {
    uint64_t w [4];
} s_sum_t;

typedef struct s_leaf_t {
    uint32_t n;
    struct s_leaf_t *next;                        /* right neighbour; not owned */
    uint64_t ts [S_LEAF_MAX];
    uint8_t  id [S_LEAF_MAX][NEGENTROPY_ID_SIZE];
} s_leaf_t;

typedef struct {
    uint32_t n;
    void    *child [S_INNER_MAX];                 /* owned: s_inner_t or s_leaf_t */
    uint64_t count [S_INNER_MAX];                 /* items under child c */
    s_sum_t  sum [S_INNER_MAX];                   /* sum of ids under child c */
    s_sum_t  left [S_INNER_MAX];                  /* sum of sum[0..c) */
    uint64_t key_ts [S_INNER_MAX];                /* smallest item under child c */
    uint8_t  key_id [S_INNER_MAX][NEGENTROPY_ID_SIZE];
} s_inner_t;

/*  A subtree handed to a parent: after a split or while bulk building. */
typedef struct {
    void    *node;
    uint64_t count;
    s_sum_t  sum;
    uint64_t key_ts;
    uint8_t  key_id [NEGENTROPY_ID_SIZE];
} s_entry_t;

/*  A decoded page of a backed store, valid while the store's generation
    is unchanged (any insert or split moves it on). */
typedef struct {
    negentropy_item_t *items;       /* owned: NEGENTROPY_PAGE_MAX items, or NULL until used */
    size_t   n;                     /* items held; 0 = empty */
    uint64_t key_ts;
    uint8_t  key_id [NEGENTROPY_ID_SIZE];
    uint64_t generation, used;      /* used: LRU tick */
} s_slot_t;

struct _negentropy_store_t {
    void    *root;          /* owned; s_leaf_t when height == 0, never NULL */
    int      height;        /* inner levels above the leaves (pages: >= 1) */
    size_t   size;
    s_sum_t  total;
    negentropy_source_fn *read;     /* backed store: page reader, else NULL */
    void    *source;                /* borrowed until destroy */
    bool     grown;                 /* a page is past NEGENTROPY_PAGE_MAX */
    uint64_t max_ts;                /* backed store: the largest item, */
    uint8_t  max_id [NEGENTROPY_ID_SIZE];   /* valid when size > 0 */
    /*  Backed store's page cache: not part of the store's value, so const
        queries fill it (a store belongs to one thread). */
    s_slot_t cache [S_CACHE_PAGES];
    uint64_t generation, tick;
};

/* ---- 256-bit arithmetic --------------------------------------------------- */

static inline uint64_t
s_load_le64 (const uint8_t *p)
{
    return (uint64_t) p [0]       | (uint64_t) p [1] << 8  | (uint64_t) p [2] << 16
         | (uint64_t) p [3] << 24 | (uint64_t) p [4] << 32 | (uint64_t) p [5] << 40
         | (uint64_t) p [6] << 48 | (uint64_t) p [7] << 56;
}

static inline void
s_store_le64 (uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p [i] = (uint8_t) (v >> (8 * i));
}

static inline void
s_sum_add (s_sum_t *a, const s_sum_t *b)
{
    unsigned __int128 carry = 0;
    for (int i = 0; i < 4; i++) {
        carry += (unsigned __int128) a->w [i] + b->w [i];
        a->w [i] = (uint64_t) carry;
        carry >>= 64;
    }
}

static inline void
s_sum_sub (s_sum_t *a, const s_sum_t *b)
{
    uint64_t borrow = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t x = a->w [i], y = b->w [i];
        uint64_t d = x - y - borrow;
        borrow = (x < y) || (x == y && borrow)? 1: 0;
        a->w [i] = d;
    }
}

/*  Add the 32 id bytes, read as a little-endian integer, to a. */
static inline void
s_sum_add_id (s_sum_t *a, const uint8_t *id)
{
    s_sum_t v = {{ s_load_le64 (id), s_load_le64 (id + 8),
                   s_load_le64 (id + 16), s_load_le64 (id + 24) }};
    s_sum_add (a, &v);
}

static void
s_sum_to_bytes (const s_sum_t *a, uint8_t out [NEGENTROPY_ID_SIZE])
{
    for (int i = 0; i < 4; i++)
        s_store_le64 (out + 8 * i, a->w [i]);
}

/* ---- ordering ------------------------------------------------------------- */

static inline int
s_cmp (uint64_t ts_a, const uint8_t *id_a, uint64_t ts_b, const uint8_t *id_b)
{
    if (ts_a != ts_b)
        return ts_a < ts_b? -1: 1;
    return memcmp (id_a, id_b, NEGENTROPY_ID_SIZE);
}

/*  First position in the leaf whose item is >= key. */
static uint32_t
s_leaf_lower_bound (const s_leaf_t *leaf, uint64_t ts, const uint8_t *id)
{
    uint32_t lo = 0, hi = leaf->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (s_cmp (leaf->ts [mid], leaf->id [mid], ts, id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/*  Child to descend into for key: the last child whose smallest item is
    <= key, or child 0 when key is below them all. */
static uint32_t
s_inner_route (const s_inner_t *node, uint64_t ts, const uint8_t *id)
{
    uint32_t lo = 1, hi = node->n;          /* first c >= 1 with key[c] > key */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (s_cmp (node->key_ts [mid], node->key_id [mid], ts, id) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo - 1;
}

/* ---- node helpers --------------------------------------------------------- */

static void
s_node_free (void *node, int height)
{
    if (!node)
        return;
    if (height > 0) {
        s_inner_t *inner = (s_inner_t *) node;
        for (uint32_t c = 0; c < inner->n; c++)
            s_node_free (inner->child [c], height - 1);
    }
    free (node);
}

/*  Recompute left[] from position from on. */
static void
s_inner_refresh_left (s_inner_t *node, uint32_t from)
{
    for (uint32_t c = from; c < node->n; c++) {
        if (c == 0)
            memset (&node->left [0], 0, sizeof node->left [0]);
        else {
            node->left [c] = node->left [c - 1];
            s_sum_add (&node->left [c], &node->sum [c - 1]);
        }
    }
}

/*  Put entry at position pos of a node with room, shifting the rest right. */
static void
s_inner_put (s_inner_t *node, uint32_t pos, const s_entry_t *entry)
{
    assert (node->n < S_INNER_MAX && pos <= node->n);
    uint32_t tail = node->n - pos;
    memmove (&node->child [pos + 1], &node->child [pos], tail * sizeof node->child [0]);
    memmove (&node->count [pos + 1], &node->count [pos], tail * sizeof node->count [0]);
    memmove (&node->sum [pos + 1], &node->sum [pos], tail * sizeof node->sum [0]);
    memmove (&node->key_ts [pos + 1], &node->key_ts [pos], tail * sizeof node->key_ts [0]);
    memmove (&node->key_id [pos + 1], &node->key_id [pos], tail * sizeof node->key_id [0]);
    node->child [pos] = entry->node;
    node->count [pos] = entry->count;
    node->sum [pos] = entry->sum;
    node->key_ts [pos] = entry->key_ts;
    memcpy (node->key_id [pos], entry->key_id, NEGENTROPY_ID_SIZE);
    node->n++;
    s_inner_refresh_left (node, pos);
}

/*  Split the full inner child c of parent (which has room) into two halves. */
static int
s_inner_split_child (s_inner_t *parent, uint32_t c)
{
    s_inner_t *left = (s_inner_t *) parent->child [c];
    assert (left->n == S_INNER_MAX);
    s_inner_t *right = (s_inner_t *) calloc (1, sizeof (s_inner_t));
    if (!right)
        return HEARTH_ENOMEM;
    uint32_t half = left->n / 2, moved = left->n - half;
    memcpy (right->child, &left->child [half], moved * sizeof left->child [0]);
    memcpy (right->count, &left->count [half], moved * sizeof left->count [0]);
    memcpy (right->sum, &left->sum [half], moved * sizeof left->sum [0]);
    memcpy (right->key_ts, &left->key_ts [half], moved * sizeof left->key_ts [0]);
    memcpy (right->key_id, &left->key_id [half], moved * sizeof left->key_id [0]);
    right->n = moved;
    left->n = half;
    s_inner_refresh_left (right, 0);

    s_entry_t entry = { .node = right, .key_ts = right->key_ts [0] };
    memcpy (entry.key_id, right->key_id [0], NEGENTROPY_ID_SIZE);
    for (uint32_t i = 0; i < moved; i++) {
        entry.count += right->count [i];
        s_sum_add (&entry.sum, &right->sum [i]);
    }
    parent->count [c] -= entry.count;
    s_sum_sub (&parent->sum [c], &entry.sum);
    s_inner_put (parent, c + 1, &entry);
    return 0;
}

/*  Insert into a leaf. If the leaf is full it splits (its parent is known to
    have room) and *split describes the new right leaf; else split->node is
    NULL. Returns 0, HEARTH_EDUPLICATE or HEARTH_ENOMEM (leaf unchanged). */
static int
s_leaf_insert (s_leaf_t *leaf, uint64_t ts, const uint8_t *id, s_entry_t *split)
{
    split->node = NULL;
    uint32_t pos = s_leaf_lower_bound (leaf, ts, id);
    if (pos < leaf->n && s_cmp (leaf->ts [pos], leaf->id [pos], ts, id) == 0)
        return HEARTH_EDUPLICATE;

    s_leaf_t *into = leaf;
    if (leaf->n == S_LEAF_MAX) {
        s_leaf_t *right = (s_leaf_t *) calloc (1, sizeof (s_leaf_t));
        if (!right)
            return HEARTH_ENOMEM;
        if (pos == leaf->n && !leaf->next) {
            into = right;                   /* appending at the very end: "full | new" */
            pos = 0;
        }
        else {
            uint32_t half = S_LEAF_MAX / 2, moved = leaf->n - half;
            memcpy (right->ts, &leaf->ts [half], moved * sizeof leaf->ts [0]);
            memcpy (right->id, &leaf->id [half], moved * sizeof leaf->id [0]);
            right->n = moved;
            leaf->n = half;
            if (pos > half) {
                into = right;
                pos -= half;
            }
        }
        right->next = leaf->next;
        leaf->next = right;
        split->node = right;
    }
    uint32_t tail = into->n - pos;
    memmove (&into->ts [pos + 1], &into->ts [pos], tail * sizeof into->ts [0]);
    memmove (&into->id [pos + 1], &into->id [pos], tail * sizeof into->id [0]);
    into->ts [pos] = ts;
    memcpy (into->id [pos], id, NEGENTROPY_ID_SIZE);
    into->n++;

    if (split->node) {
        s_leaf_t *right = (s_leaf_t *) split->node;
        split->count = right->n;
        memset (&split->sum, 0, sizeof split->sum);
        for (uint32_t i = 0; i < right->n; i++)
            s_sum_add_id (&split->sum, right->id [i]);
        split->key_ts = right->ts [0];
        memcpy (split->key_id, right->id [0], NEGENTROPY_ID_SIZE);
    }
    return 0;
}

/*  Before descending into inner child *c of node (which has room): split
    the child if full, and move *c to the half whose keys cover (ts, id).
    Counts and sums do not change. Returns 0 or HEARTH_ENOMEM (unchanged). */
static int
s_child_make_room (s_inner_t *node, uint32_t *c, uint64_t ts, const uint8_t *id)
{
    if (((s_inner_t *) node->child [*c])->n < S_INNER_MAX)
        return 0;
    int rc = s_inner_split_child (node, *c);
    if (rc == 0 && s_cmp (node->key_ts [*c + 1], node->key_id [*c + 1], ts, id) <= 0)
        (*c)++;
    return rc;
}

/*  Insert under an inner node that has room (n < S_INNER_MAX). append: the
    item is above every stored one. */
static int
s_inner_insert (negentropy_store_t *store, s_inner_t *node, int height, uint64_t ts,
                const uint8_t *id, const s_sum_t *v, bool append)
{
    assert (node->n < S_INNER_MAX);
    uint32_t c = s_inner_route (node, ts, id);
    s_entry_t split = { .node = NULL };
    int rc = 0;
    if (height > 1) {
        if ((rc = s_child_make_room (node, &c, ts, id)))
            return rc;
        rc = s_inner_insert (store, (s_inner_t *) node->child [c], height - 1, ts, id, v, append);
    }
    else
    if (store->read) {
        if (append && node->count [c] >= NEGENTROPY_PAGE_MAX) {
            assert (c + 1 == node->n);      /* above everything: the last page */
            s_entry_t page = { .node = NULL, .count = 1, .sum = *v, .key_ts = ts };
            memcpy (page.key_id, id, NEGENTROPY_ID_SIZE);
            s_inner_put (node, c + 1, &page);
            return 0;                       /* "full | new": counted by the new entry */
        }
    }
    else
        rc = s_leaf_insert ((s_leaf_t *) node->child [c], ts, id, &split);
    if (rc)
        return rc;

    node->count [c]++;
    s_sum_add (&node->sum [c], v);
    for (uint32_t j = c + 1; j < node->n; j++)
        s_sum_add (&node->left [j], v);
    if (s_cmp (ts, id, node->key_ts [c], node->key_id [c]) < 0) {
        node->key_ts [c] = ts;              /* a new smallest item (child 0 only) */
        memcpy (node->key_id [c], id, NEGENTROPY_ID_SIZE);
    }
    if (split.node) {
        node->count [c] -= split.count;
        s_sum_sub (&node->sum [c], &split.sum);
        s_inner_put (node, c + 1, &split);
    }
    if (store->read && height == 1 && node->count [c] > NEGENTROPY_PAGE_MAX)
        store->grown = true;
    return 0;
}

/*  Leaf holding index (< size) and the position in it. */
static const s_leaf_t *
s_locate (const negentropy_store_t *self, size_t index, uint32_t *pos)
{
    const void *node = self->root;
    for (int h = self->height; h > 0; h--) {
        const s_inner_t *inner = (const s_inner_t *) node;
        uint32_t c = 0;
        while (index >= inner->count [c]) {
            index -= inner->count [c];
            c++;
            assert (c < inner->n);
        }
        node = inner->child [c];
    }
    const s_leaf_t *leaf = (const s_leaf_t *) node;
    assert (index < leaf->n);
    *pos = (uint32_t) index;
    return leaf;
}

static int s_page_prefix_sum (const negentropy_store_t *self, size_t index, s_sum_t *out);

/*  Sum of the ids of items [0, index). Returns 0 or a page read's error. */
static int
s_prefix_sum (const negentropy_store_t *self, size_t index, s_sum_t *out)
{
    memset (out, 0, sizeof *out);
    if (index == 0)
        return 0;
    if (index == self->size) {
        *out = self->total;
        return 0;
    }
    if (self->read)
        return s_page_prefix_sum (self, index, out);
    const void *node = self->root;
    s_sum_t node_total = self->total;       /* sum of the ids under node */
    for (int h = self->height; h > 0; h--) {
        const s_inner_t *inner = (const s_inner_t *) node;
        uint32_t c = 0;
        while (index >= inner->count [c]) {
            index -= inner->count [c];
            c++;
            assert (c < inner->n);
        }
        s_sum_add (out, &inner->left [c]);
        node_total = inner->sum [c];
        node = inner->child [c];
    }
    const s_leaf_t *leaf = (const s_leaf_t *) node;
    assert (index < leaf->n);
    if (index <= leaf->n / 2) {
        for (size_t i = 0; i < index; i++)
            s_sum_add_id (out, leaf->id [i]);
    }
    else {                                  /* nearer the end: total - the tail */
        s_sum_t tail = {{ 0 }};
        for (size_t i = index; i < leaf->n; i++)
            s_sum_add_id (&tail, leaf->id [i]);
        s_sum_sub (&node_total, &tail);
        s_sum_add (out, &node_total);
    }
    return 0;
}

/* ---- pages of a backed store --------------------------------------------- */

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
s_page_read (const negentropy_store_t *self, const s_inner_t *node, uint32_t c,
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
    negentropy_store_t *self = (negentropy_store_t *) store;   /* the cache only */
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

/*  Make sure the root has room for one more child: a full root gets a new
    root above it, split in two. Returns 0 or HEARTH_ENOMEM (unchanged). */
static int
s_root_make_room (negentropy_store_t *self)
{
    bool root_full = self->height == 0
        ? ((s_leaf_t *) self->root)->n == S_LEAF_MAX
        : ((s_inner_t *) self->root)->n == S_INNER_MAX;
    if (!root_full)
        return 0;
    s_inner_t *root = (s_inner_t *) calloc (1, sizeof (s_inner_t));
    if (!root)
        return HEARTH_ENOMEM;
    s_entry_t entry = { .node = self->root, .count = self->size, .sum = self->total };
    if (self->height == 0) {
        s_leaf_t *leaf = (s_leaf_t *) self->root;
        entry.key_ts = leaf->ts [0];
        memcpy (entry.key_id, leaf->id [0], NEGENTROPY_ID_SIZE);
    }
    else {
        s_inner_t *inner = (s_inner_t *) self->root;
        entry.key_ts = inner->key_ts [0];
        memcpy (entry.key_id, inner->key_id [0], NEGENTROPY_ID_SIZE);
    }
    s_inner_put (root, 0, &entry);
    if (self->height > 0) {
        int rc = s_inner_split_child (root, 0);
        if (rc) {
            free (root);
            return rc;
        }
    }
    self->root = root;
    self->height++;
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
    int rc = s_root_make_room (self);
    if (rc)
        return rc;
    s_inner_t *node = (s_inner_t *) self->root;
    for (int h = self->height; h > 1; h--) {
        uint32_t c = s_inner_route (node, ts, id);
        if ((rc = s_child_make_room (node, &c, ts, id)))
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
        s_inner_put (node, c + 1, &rest);
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
        if (keys->n == keys->cap) {
            size_t cap = keys->cap? keys->cap * 2: 16;
            negentropy_item_t *p = (negentropy_item_t *) realloc (keys->keys, cap * sizeof *p);
            if (!p)
                return HEARTH_ENOMEM;
            keys->keys = p;
            keys->cap = cap;
        }
        keys->keys [keys->n].timestamp = node->key_ts [c];
        memcpy (keys->keys [keys->n].id, node->key_id [c], NEGENTROPY_ID_SIZE);
        keys->n++;
    }
    return 0;
}

/* ---- public --------------------------------------------------------------- */

negentropy_store_t *
negentropy_store_new (void)
{
    if (sodium_init () < 0)
        return NULL;
    negentropy_store_t *self = (negentropy_store_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->root = calloc (1, sizeof (s_leaf_t));
    if (!self->root) {
        free (self);
        return NULL;
    }
    return self;
}

negentropy_store_t *
negentropy_store_new_backed (negentropy_source_fn *read, void *source)
{
    if (!read || sodium_init () < 0)
        return NULL;
    negentropy_store_t *self = (negentropy_store_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->root = calloc (1, sizeof (s_inner_t));   /* an empty root above no pages */
    if (!self->root) {
        free (self);
        return NULL;
    }
    self->height = 1;
    self->read = read;
    self->source = source;
    return self;
}

void
negentropy_store_destroy (negentropy_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    negentropy_store_t *self = *self_p;
    s_node_free (self->root, self->height);
    for (size_t i = 0; i < S_CACHE_PAGES; i++)
        free (self->cache [i].items);
    free (self);
    *self_p = NULL;
}

/*  Inner nodes a tree needs above width leaves. */
static size_t
s_inner_count (size_t width)
{
    size_t n = 0;
    for (size_t w = width; w > 1; w = (w + S_INNER_MAX - 1) / S_INNER_MAX)
        n += (w + S_INNER_MAX - 1) / S_INNER_MAX;
    return n;
}

/*  n zeroed inner nodes, or NULL (nothing left allocated) if out of memory. */
static s_inner_t **
s_pool_new (size_t n)
{
    s_inner_t **pool = (s_inner_t **) calloc (n? n: 1, sizeof *pool);
    size_t got = 0;
    while (pool && got < n && (pool [got] = (s_inner_t *) calloc (1, sizeof (s_inner_t))))
        got++;
    if (pool && got < n) {
        while (got > 0)
            free (pool [--got]);
        free (pool);
        pool = NULL;
    }
    return pool;
}

/*  Link the inner levels above level[0, width) (the leaves' entries, in
    order) with the nodes of pool (s_inner_count (width) of them, all
    used); level[0] ends as the root's entry. Returns the height. */
static int
s_link_levels (s_entry_t *level, size_t width, s_inner_t **pool)
{
    int height = 0;
    size_t used = 0;
    while (width > 1) {
        size_t parents = (width + S_INNER_MAX - 1) / S_INNER_MAX;
        for (size_t p = 0; p < parents; p++) {
            s_inner_t *inner = pool [used++];
            size_t from = p * S_INNER_MAX;
            size_t n = width - from < S_INNER_MAX? width - from: S_INNER_MAX;
            s_entry_t parent = { .node = inner };
            for (size_t i = 0; i < n; i++) {
                s_inner_put (inner, (uint32_t) i, &level [from + i]);
                parent.count += level [from + i].count;
                s_sum_add (&parent.sum, &level [from + i].sum);
            }
            parent.key_ts = inner->key_ts [0];
            memcpy (parent.key_id, inner->key_id [0], NEGENTROPY_ID_SIZE);
            level [p] = parent;             /* p <= from: never overwrites an unread entry */
        }
        width = parents;
        height++;
    }
    return height;
}

int
negentropy_store_build (negentropy_store_t *self, const negentropy_item_t *items, size_t count)
{
    if (self->size != 0 || (count > 0 && !items))
        return HEARTH_EINVAL;
    for (size_t i = 0; i < count; i++) {
        if (items [i].timestamp == NEGENTROPY_TIMESTAMP_MAX)
            return HEARTH_EINVAL;
        if (i > 0 && s_cmp (items [i - 1].timestamp, items [i - 1].id,
                            items [i].timestamp, items [i].id) >= 0)
            return HEARTH_EINVAL;
    }
    if (count == 0)
        return 0;
    if (self->read) {
        /*  Pages are summaries: append them in order, full. */
        for (size_t i = 0; i < count; i++) {
            int rc = negentropy_store_insert (self, items [i].timestamp, items [i].id);
            if (rc)
                return rc;                  /* ENOMEM: a prefix stored, as the source holds it all */
        }
        return 0;
    }

    size_t width = (count + S_LEAF_MAX - 1) / S_LEAF_MAX;   /* entries at this level */
    size_t n_inner = s_inner_count (width);
    s_entry_t *level = (s_entry_t *) calloc (width, sizeof (s_entry_t));
    s_inner_t **pool = level? s_pool_new (n_inner): NULL;
    if (!pool) {
        free (level);
        return HEARTH_ENOMEM;
    }
    s_leaf_t *prev = NULL;
    for (size_t l = 0; l < width; l++) {
        s_leaf_t *leaf = (s_leaf_t *) calloc (1, sizeof (s_leaf_t));
        if (!leaf) {
            for (size_t j = 0; j < l; j++)
                free (level [j].node);
            for (size_t j = 0; j < n_inner; j++)
                free (pool [j]);
            free (pool);
            free (level);
            return HEARTH_ENOMEM;
        }
        size_t first = l * S_LEAF_MAX;
        size_t n = count - first < S_LEAF_MAX? count - first: S_LEAF_MAX;
        for (size_t i = 0; i < n; i++) {
            leaf->ts [i] = items [first + i].timestamp;
            memcpy (leaf->id [i], items [first + i].id, NEGENTROPY_ID_SIZE);
            s_sum_add_id (&level [l].sum, leaf->id [i]);
        }
        leaf->n = (uint32_t) n;
        if (prev)
            prev->next = leaf;
        prev = leaf;
        level [l].node = leaf;
        level [l].count = n;
        level [l].key_ts = leaf->ts [0];
        memcpy (level [l].key_id, leaf->id [0], NEGENTROPY_ID_SIZE);
    }
    int height = s_link_levels (level, width, pool);
    free (pool);
    s_node_free (self->root, self->height);
    self->root = level [0].node;
    self->height = height;
    self->size = count;
    self->total = level [0].sum;
    free (level);
    return 0;
}

/*  The leftmost leaf. */
static s_leaf_t *
s_leftmost (const negentropy_store_t *self)
{
    void *node = self->root;
    for (int h = self->height; h > 0; h--)
        node = ((s_inner_t *) node)->child [0];
    return (s_leaf_t *) node;
}

/*  Free the inner nodes of a subtree, not its leaves. */
static void
s_inner_free_only (void *node, int height)
{
    if (height == 0)
        return;
    s_inner_t *inner = (s_inner_t *) node;
    for (uint32_t c = 0; c < inner->n; c++)
        s_inner_free_only (inner->child [c], height - 1);
    free (inner);
}

unsigned
negentropy_store_fill (const negentropy_store_t *self)
{
    if (self->read)
        return 100;
    size_t leaves = 0;
    for (const s_leaf_t *l = s_leftmost (self); l; l = l->next)
        leaves++;
    if (self->size == 0 || leaves == 0)
        return 100;
    return (unsigned) (self->size * 100 / (leaves * S_LEAF_MAX));
}

int
negentropy_store_compact (negentropy_store_t *self)
{
    if (self->read)
        return 0;
    size_t width = (self->size + S_LEAF_MAX - 1) / S_LEAF_MAX;
    size_t leaves = 0;
    for (const s_leaf_t *l = s_leftmost (self); l; l = l->next)
        leaves++;
    if (self->size == 0 || leaves <= width)
        return 0;                           /* packed already */

    /*  Everything that can fail first: the level array and every inner
        node of the new tree. */
    s_entry_t *level = (s_entry_t *) calloc (width, sizeof (s_entry_t));
    s_inner_t **pool = level? s_pool_new (s_inner_count (width)): NULL;
    if (!pool) {
        free (level);
        return HEARTH_ENOMEM;
    }

    /*  Slide every item left along the leaf chain. The write position never
        passes the read position, so each item is read before it can be
        overwritten; a leaf's n and next are read before it is written. */
    s_leaf_t *first = s_leftmost (self);
    s_inner_free_only (self->root, self->height);
    s_leaf_t *w = first;
    uint32_t wn = 0;
    for (s_leaf_t *r = first; r; ) {
        uint32_t rn = r->n;
        s_leaf_t *rnext = r->next;
        for (uint32_t i = 0; i < rn; i++) {
            if (wn == S_LEAF_MAX) {
                w->n = S_LEAF_MAX;
                w = w->next;
                wn = 0;
            }
            if (w != r || wn != i) {
                w->ts [wn] = r->ts [i];
                memmove (w->id [wn], r->id [i], NEGENTROPY_ID_SIZE);
            }
            wn++;
        }
        r = rnext;
    }
    w->n = wn;
    s_leaf_t *tail = w->next;
    w->next = NULL;
    while (tail) {
        s_leaf_t *next = tail->next;
        free (tail);
        tail = next;
    }

    /*  The new leaf level, then the inner levels from the pool. */
    size_t l = 0;
    for (s_leaf_t *leaf = first; leaf; leaf = leaf->next, l++) {
        assert (l < width);
        level [l].node = leaf;
        level [l].count = leaf->n;
        for (uint32_t i = 0; i < leaf->n; i++)
            s_sum_add_id (&level [l].sum, leaf->id [i]);
        level [l].key_ts = leaf->ts [0];
        memcpy (level [l].key_id, leaf->id [0], NEGENTROPY_ID_SIZE);
    }
    assert (l == width);
    int height = s_link_levels (level, width, pool);
    assert (level [0].count == self->size);
    self->root = level [0].node;
    self->height = height;
    free (pool);
    free (level);
    return 0;
}

int
negentropy_store_insert (negentropy_store_t *self, uint64_t timestamp,
                         const uint8_t id [NEGENTROPY_ID_SIZE])
{
    if (timestamp == NEGENTROPY_TIMESTAMP_MAX || !id)
        return HEARTH_EINVAL;
    s_sum_t v = {{ 0 }};
    s_sum_add_id (&v, id);
    self->generation++;                     /* cached pages may be stale now */

    if (self->read) {
        bool append = self->size == 0
                   || s_cmp (timestamp, id, self->max_ts, self->max_id) > 0;
        s_inner_t *root = (s_inner_t *) self->root;
        int rc = 0;
        if (self->size == 0) {
            s_entry_t page = { .node = NULL, .count = 1, .sum = v, .key_ts = timestamp };
            memcpy (page.key_id, id, NEGENTROPY_ID_SIZE);
            s_inner_put (root, 0, &page);
        }
        else
        if ((rc = s_root_make_room (self)) == 0)
            rc = s_inner_insert (self, (s_inner_t *) self->root, self->height, timestamp, id, &v,
                                 append);
        if (rc)
            return rc;
        if (append) {
            self->max_ts = timestamp;
            memcpy (self->max_id, id, NEGENTROPY_ID_SIZE);
        }
        self->size++;
        s_sum_add (&self->total, &v);
        return 0;
    }

    /*  A full root (leaf or inner) gets a new root above it first, so every
        node we descend into has room for one more child. */
    int rc = s_root_make_room (self);
    if (rc)
        return rc;
    if (self->height == 0) {
        s_entry_t split;
        rc = s_leaf_insert ((s_leaf_t *) self->root, timestamp, id, &split);
        assert (rc || !split.node);         /* a root leaf with room never splits */
    }
    else
        rc = s_inner_insert (self, (s_inner_t *) self->root, self->height, timestamp, id, &v, false);
    if (rc)
        return rc;
    self->size++;
    s_sum_add (&self->total, &v);
    return 0;
}

int
negentropy_store_settle (negentropy_store_t *self)
{
    if (!self->read || !self->grown)
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
            self->generation++;
        }
    }
    free (keys.keys);
    if (rc == 0)
        self->grown = false;
    return rc;
}

size_t
negentropy_store_size (const negentropy_store_t *self)
{
    return self->size;
}

int
negentropy_store_get (const negentropy_store_t *self, size_t index, negentropy_item_t *item)
{
    if (index >= self->size)
        return HEARTH_EINVAL;
    if (self->read) {
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
    uint32_t pos;
    const s_leaf_t *leaf = s_locate (self, index, &pos);
    item->timestamp = leaf->ts [pos];
    memcpy (item->id, leaf->id [pos], NEGENTROPY_ID_SIZE);
    return 0;
}

int
negentropy_store_lower_bound (const negentropy_store_t *self, uint64_t timestamp,
                              const uint8_t *id, size_t *index_out)
{
    static const uint8_t zero [NEGENTROPY_ID_SIZE];
    if (!id)
        id = zero;
    size_t index = 0;
    *index_out = 0;
    if (self->size == 0)
        return 0;
    const void *node = self->root;
    for (int h = self->height; h > 0; h--) {
        const s_inner_t *inner = (const s_inner_t *) node;
        uint32_t c = s_inner_route (inner, timestamp, id);
        for (uint32_t j = 0; j < c; j++)
            index += inner->count [j];
        if (h == 1 && self->read) {
            /*  No read when the bound is at or below the page's first item. */
            if (s_cmp (timestamp, id, inner->key_ts [c], inner->key_id [c]) <= 0) {
                *index_out = index;
                return 0;
            }
            if (s_cmp (timestamp, id, self->max_ts, self->max_id) > 0) {
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
        node = inner->child [c];
    }
    *index_out = index + s_leaf_lower_bound ((const s_leaf_t *) node, timestamp, id);
    return 0;
}

int
negentropy_store_sum (const negentropy_store_t *self, size_t begin, size_t end,
                      uint8_t out [NEGENTROPY_ID_SIZE])
{
    if (begin > end || end > self->size)
        return HEARTH_EINVAL;
    s_sum_t hi, lo;
    int rc = s_prefix_sum (self, end, &hi);
    if (rc == 0)
        rc = s_prefix_sum (self, begin, &lo);
    if (rc)
        return rc;
    s_sum_sub (&hi, &lo);
    s_sum_to_bytes (&hi, out);
    return 0;
}

int
negentropy_store_fingerprint (const negentropy_store_t *self, size_t begin, size_t end,
                              uint8_t out [NEGENTROPY_FINGERPRINT_SIZE])
{
    uint8_t sum [NEGENTROPY_ID_SIZE];
    int rc = negentropy_store_sum (self, begin, end, sum);
    if (rc)
        return rc;
    negentropy_fingerprint_of_sum (sum, end - begin, out);
    return 0;
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

int
negentropy_store_iterate (const negentropy_store_t *self, size_t begin, size_t end,
                          negentropy_store_fn *fn, void *arg)
{
    if (begin > end || end > self->size)
        return HEARTH_EINVAL;
    if (begin == end)
        return 0;
    if (self->read) {
        uint32_t c;
        size_t offset;
        const s_inner_t *node = s_page_locate (self, begin, &c, &offset, NULL);
        s_walk_t walk = { .fn = fn, .arg = arg, .skip = offset, .begin = begin, .key_ts = node->key_ts [c],
                          .key_id = node->key_id [c] };
        int rc = self->read (self->source, node->key_ts [c], node->key_id [c], offset + (end - begin),
                             s_walk_one, &walk);
        if (rc == 0 && walk.seen != offset + (end - begin))
            rc = HEARTH_ECORRUPT;           /* the source has fewer items than the store */
        return walk.stopped? rc: (rc > 0? HEARTH_ECORRUPT: rc);
    }
    uint32_t pos;
    const s_leaf_t *leaf = s_locate (self, begin, &pos);
    negentropy_item_t item;
    for (size_t index = begin; index < end; index++) {
        if (pos == leaf->n) {
            leaf = leaf->next;
            pos = 0;
            assert (leaf && leaf->n > 0);
        }
        item.timestamp = leaf->ts [pos];
        memcpy (item.id, leaf->id [pos], NEGENTROPY_ID_SIZE);
        pos++;
        int rc = fn (&item, index, arg);
        if (rc)
            return rc;
    }
    return 0;
}

void
negentropy_fingerprint_of_sum (const uint8_t sum [NEGENTROPY_ID_SIZE], uint64_t count,
                               uint8_t out [NEGENTROPY_FINGERPRINT_SIZE])
{
    uint8_t input [NEGENTROPY_ID_SIZE + S_VARINT_MAX];
    memcpy (input, sum, NEGENTROPY_ID_SIZE);
    /*  Varint: base-128 digits, most significant first, high bit on all but
        the last. */
    uint8_t digits [S_VARINT_MAX];
    size_t n = 0;
    do {
        digits [n++] = (uint8_t) (count & 0x7f);
        count >>= 7;
    } while (count);
    size_t len = NEGENTROPY_ID_SIZE;
    while (n > 0) {
        n--;
        input [len++] = (uint8_t) (digits [n] | (n > 0? 0x80: 0));
    }
    uint8_t hash [crypto_hash_sha256_BYTES];
    crypto_hash_sha256 (hash, input, len);
    memcpy (out, hash, NEGENTROPY_FINGERPRINT_SIZE);
}
