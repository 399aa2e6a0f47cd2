/*  negentropy_store_memory.c — the in-memory store (negentropy_store_new):
    the tree's bottom level is leaves of up to S_LEAF_MAX items, 40 bytes
    each, chained left to right; tests, tools and the interop driver use it.

    Its operations (s_ops_t, negentropy_store_private.h): insert descends
    once and splits a full leaf ("full | new" at the right edge, else in
    halves); build fills an empty store bottom-up in O(n); compact repacks
    the leaves full in place; queries find a leaf by counts (an index) or
    by keys (a bound) and read it. Invariants: every leaf but the rightmost
    may be anywhere from 1 to S_LEAF_MAX items; leaves are in item order
    and the chain visits them all; see negentropy_store.c for the tree's.
*/
#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "negentropy_store_private.h"
#include "hearth_error.h"

/* ---- leaves ----------------------------------------------------------------- */

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

/*  The item goes into leaf c of node (height 1). */
static int
s_memory_insert_under (negentropy_store_t *self, s_inner_t *node, uint32_t c, uint64_t ts,
                       const uint8_t *id, const s_sum_t *v, bool append, s_entry_t *split)
{
    (void) self;
    (void) v;
    (void) append;
    return s_leaf_insert ((s_leaf_t *) node->child [c], ts, id, split);
}

static int
s_memory_insert (negentropy_store_t *self, uint64_t timestamp, const uint8_t *id, const s_sum_t *v)
{
    /*  A full root (leaf or inner) gets a new root above it first, so every
        node we descend into has room for one more child. */
    int rc = negentropy_store_root_make_room (self);
    if (rc)
        return rc;
    if (self->height == 0) {
        s_entry_t split;
        rc = s_leaf_insert ((s_leaf_t *) self->root, timestamp, id, &split);
        assert (rc || !split.node);         /* a root leaf with room never splits */
    }
    else
        rc = negentropy_store_inner_insert (self, (s_inner_t *) self->root, self->height, timestamp,
                                            id, v, false);
    return rc;
}

/*  Sum of the ids of items [0, index): one root-to-leaf path, then at most
    half a leaf. */
static int
s_memory_prefix_sum (const negentropy_store_t *self, size_t index, s_sum_t *out)
{
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

/* ---- bulk build, compaction --------------------------------------------------- */

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
                negentropy_store_inner_put (inner, (uint32_t) i, &level [from + i]);
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

static int
s_memory_build (negentropy_store_t *self, const negentropy_item_t *items, size_t count)
{
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
    negentropy_store_node_free (self->root, self->height);
    self->root = level [0].node;
    self->height = height;
    self->size = count;
    self->total = level [0].sum;
    free (level);
    return 0;
}

static unsigned
s_memory_fill (const negentropy_store_t *self)
{
    size_t leaves = 0;
    for (const s_leaf_t *l = s_leftmost (self); l; l = l->next)
        leaves++;
    if (self->size == 0 || leaves == 0)
        return 100;
    return (unsigned) (self->size * 100 / (leaves * S_LEAF_MAX));
}

static int
s_memory_compact (negentropy_store_t *self)
{
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

/*  Nothing to settle: leaves split as they fill. */
static int
s_memory_settle (negentropy_store_t *self)
{
    (void) self;
    return 0;
}

/* ---- queries ---------------------------------------------------------------- */

static int
s_memory_get (const negentropy_store_t *self, size_t index, negentropy_item_t *item)
{
    uint32_t pos;
    const s_leaf_t *leaf = s_locate (self, index, &pos);
    item->timestamp = leaf->ts [pos];
    memcpy (item->id, leaf->id [pos], NEGENTROPY_ID_SIZE);
    return 0;
}

/*  Descend by keys to the leaf, counting the items to the left. */
static int
s_memory_lower_bound (const negentropy_store_t *self, uint64_t timestamp, const uint8_t *id,
                      size_t *index_out)
{
    size_t index = 0;
    const void *node = self->root;
    for (int h = self->height; h > 0; h--) {
        const s_inner_t *inner = (const s_inner_t *) node;
        uint32_t c = s_inner_route (inner, timestamp, id);
        for (uint32_t j = 0; j < c; j++)
            index += inner->count [j];
        node = inner->child [c];
    }
    *index_out = index + s_leaf_lower_bound ((const s_leaf_t *) node, timestamp, id);
    return 0;
}

static int
s_memory_iterate (const negentropy_store_t *self, size_t begin, size_t end,
                  negentropy_store_fn *fn, void *arg)
{
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

/*  The leaves are the tree's: negentropy_store_destroy frees them. */
static void
s_memory_destroy (negentropy_store_t *self)
{
    (void) self;
}

static const s_ops_t s_memory_ops = {
    .insert       = s_memory_insert,
    .insert_under = s_memory_insert_under,
    .build        = s_memory_build,
    .compact      = s_memory_compact,
    .fill         = s_memory_fill,
    .settle       = s_memory_settle,
    .get          = s_memory_get,
    .lower_bound  = s_memory_lower_bound,
    .prefix_sum   = s_memory_prefix_sum,
    .iterate      = s_memory_iterate,
    .destroy      = s_memory_destroy,
};

negentropy_store_t *
negentropy_store_new (void)
{
    if (sodium_init () < 0)
        return NULL;
    negentropy_store_t *self = (negentropy_store_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->ops = &s_memory_ops;
    self->root = calloc (1, sizeof (s_leaf_t));
    if (!self->root) {
        free (self);
        return NULL;
    }
    return self;
}
