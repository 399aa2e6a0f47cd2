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
    its lowest inner level (height 1) are pages, summaries of items read
    from a source on demand (negentropy_store_backed.c has the details).

    Files: this one holds the tree (its nodes, the insert descent) and the
    public functions, which check what both kinds of store share and then
    call the store's operations (s_ops_t in negentropy_store_private.h);
    negentropy_store_memory.c holds the leaves of the in-memory store,
    negentropy_store_backed.c the pages of the backed one.

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
#include "negentropy_store_private.h"
#include "hearth_error.h"

/*  Longest varint of a uint64: ceil(64 / 7) digits. */
#define S_VARINT_MAX 10

/* ---- node helpers --------------------------------------------------------- */

void
negentropy_store_node_free (void *node, int height)
{
    if (!node)
        return;
    if (height > 0) {
        s_inner_t *inner = (s_inner_t *) node;
        for (uint32_t c = 0; c < inner->n; c++)
            negentropy_store_node_free (inner->child [c], height - 1);
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
void
negentropy_store_inner_put (s_inner_t *node, uint32_t pos, const s_entry_t *entry)
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
    negentropy_store_inner_put (parent, c + 1, &entry);
    return 0;
}

/*  Before descending into inner child *c of node (which has room): split
    the child if full, and move *c to the half whose keys cover (ts, id).
    Counts and sums do not change. Returns 0 or HEARTH_ENOMEM (unchanged). */
int
negentropy_store_child_make_room (s_inner_t *node, uint32_t *c, uint64_t ts, const uint8_t *id)
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
int
negentropy_store_inner_insert (negentropy_store_t *store, s_inner_t *node, int height, uint64_t ts,
                const uint8_t *id, const s_sum_t *v, bool append)
{
    assert (node->n < S_INNER_MAX);
    uint32_t c = s_inner_route (node, ts, id);
    s_entry_t split = { .node = NULL };
    int rc = 0;
    if (height > 1) {
        if ((rc = negentropy_store_child_make_room (node, &c, ts, id)))
            return rc;
        rc = negentropy_store_inner_insert (store, (s_inner_t *) node->child [c], height - 1, ts, id, v, append);
    }
    else
    if ((rc = store->ops->insert_under (store, node, c, ts, id, v, append, &split)) == S_PLACED)
        return 0;
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
        negentropy_store_inner_put (node, c + 1, &split);
    }
    return 0;
}

/*  Make sure the root has room for one more child: a full root gets a new
    root above it, split in two. Returns 0 or HEARTH_ENOMEM (unchanged). */
int
negentropy_store_root_make_room (negentropy_store_t *self)
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
    negentropy_store_inner_put (root, 0, &entry);
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

/* ---- public --------------------------------------------------------------- */

void
negentropy_store_destroy (negentropy_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    negentropy_store_t *self = *self_p;
    negentropy_store_node_free (self->root, self->height);
    self->ops->destroy (self);
    free (self);
    *self_p = NULL;
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
    return self->ops->build (self, items, count);
}

unsigned
negentropy_store_fill (const negentropy_store_t *self)
{
    return self->ops->fill (self);
}

int
negentropy_store_compact (negentropy_store_t *self)
{
    return self->ops->compact (self);
}

int
negentropy_store_insert (negentropy_store_t *self, uint64_t timestamp,
                         const uint8_t id [NEGENTROPY_ID_SIZE])
{
    if (timestamp == NEGENTROPY_TIMESTAMP_MAX || !id)
        return HEARTH_EINVAL;
    s_sum_t v = {{ 0 }};
    s_sum_add_id (&v, id);
    int rc = self->ops->insert (self, timestamp, id, &v);
    if (rc)
        return rc;
    self->size++;
    s_sum_add (&self->total, &v);
    return 0;
}

int
negentropy_store_settle (negentropy_store_t *self)
{
    return self->ops->settle (self);
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
    return self->ops->get (self, index, item);
}

int
negentropy_store_lower_bound (const negentropy_store_t *self, uint64_t timestamp,
                              const uint8_t *id, size_t *index_out)
{
    static const uint8_t zero [NEGENTROPY_ID_SIZE];
    if (!id)
        id = zero;
    *index_out = 0;
    if (self->size == 0)
        return 0;
    return self->ops->lower_bound (self, timestamp, id, index_out);
}

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
    return self->ops->prefix_sum (self, index, out);
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

int
negentropy_store_iterate (const negentropy_store_t *self, size_t begin, size_t end,
                          negentropy_store_fn *fn, void *arg)
{
    if (begin > end || end > self->size)
        return HEARTH_EINVAL;
    if (begin == end)
        return 0;
    return self->ops->iterate (self, begin, end, fn, arg);
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
