/*  negentropy_store_private.h — what the files of negentropy_store share:
    the counted, summed B+tree (its nodes, the 256-bit sums, the ordering),
    the store's base struct, and the operations table through which the
    two kinds of store differ. Not part of any public API: included only by
    negentropy_store.c (the tree code and the public functions),
    negentropy_store_memory.c (leaves in memory) and
    negentropy_store_backed.c (pages read from a source, docs/decisions/0017-*).

    One interface, two implementations, as in SQLite's VFS: a store
    carries a pointer to its implementation's table of operations, and
    every public call that differs between the two goes through it, so no
    function asks which kind of store it holds. A backed store's struct
    begins with the base struct (s_backed_t in negentropy_store_backed.c):
    its ops cast the base pointer back.

    Invariants: see negentropy_store.c's banner. The small helpers here keep
    the names they had as file-local functions (s_*, static inline); the
    shared tree functions are negentropy_store_* and declared at the end.
*/
#ifndef HEARTH_NEGENTROPY_STORE_PRIVATE_H
#define HEARTH_NEGENTROPY_STORE_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "negentropy_store.h"

/*  Items per leaf: 64 x 40 bytes = 2.5 KiB, a few pages' worth of binary
    search and at most 63 additions for the in-leaf part of a prefix sum. */
#define S_LEAF_MAX   64
/*  Children per inner node: 1M items need 3 inner levels above 64-item leaves. */
#define S_INNER_MAX  64

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

/*  The operations of one kind of store. Each is called by the public
    function of the same name, after the checks both kinds share (shown
    beside each); none may be NULL. */
typedef struct {
    /*  Insert (ts, id), v its id as a sum; ts < NEGENTROPY_TIMESTAMP_MAX.
        The caller then counts it in size and total. */
    int      (*insert) (negentropy_store_t *self, uint64_t ts, const uint8_t *id, const s_sum_t *v);
    /*  negentropy_store_inner_insert's step at a height-1 node: put the
        item under entry c (a leaf's split into *split), then return 0 for
        the caller to count it under c; or return S_PLACED having put it
        as a new entry of node itself, counted. */
    int      (*insert_under) (negentropy_store_t *self, s_inner_t *node, uint32_t c, uint64_t ts,
                              const uint8_t *id, const s_sum_t *v, bool append, s_entry_t *split);
    /*  Empty store, count > 0 valid items (sorted, no duplicate). */
    int      (*build) (negentropy_store_t *self, const negentropy_item_t *items, size_t count);
    int      (*compact) (negentropy_store_t *self);
    unsigned (*fill) (const negentropy_store_t *self);
    int      (*settle) (negentropy_store_t *self);
    /*  index < size. */
    int      (*get) (const negentropy_store_t *self, size_t index, negentropy_item_t *item);
    /*  size > 0; id not NULL. */
    int      (*lower_bound) (const negentropy_store_t *self, uint64_t ts, const uint8_t *id,
                             size_t *index);
    /*  Sum of the ids of items [0, index) into *out (zeroed), 0 < index < size. */
    int      (*prefix_sum) (const negentropy_store_t *self, size_t index, s_sum_t *out);
    /*  begin < end <= size. */
    int      (*iterate) (const negentropy_store_t *self, size_t begin, size_t end,
                         negentropy_store_fn *fn, void *arg);
    /*  Free what the implementation adds to the base (not the tree, not
        the struct: negentropy_store_destroy frees those). */
    void     (*destroy) (negentropy_store_t *self);
} s_ops_t;

/*  insert_under: the item was put as a new entry, counted. */
#define S_PLACED 1

/*  The part of a store every kind has. */
struct _negentropy_store_t {
    const s_ops_t *ops;     /* the kind's table; static, never freed */
    void    *root;          /* owned; s_leaf_t when height == 0, never NULL */
    int      height;        /* inner levels above the leaves (pages: >= 1) */
    size_t   size;
    s_sum_t  total;
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

static inline void
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

/*  Child to descend into for key: the last child whose smallest item is
    <= key, or child 0 when key is below them all. */
static inline uint32_t
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

/* ---- the tree, in negentropy_store.c ---------------------------------------- */

/*  Free a subtree of the given height (leaves at 0). Safe on NULL. */
void negentropy_store_node_free (void *node, int height);

/*  Put entry at position pos of a node with room, shifting the rest right. */
void negentropy_store_inner_put (s_inner_t *node, uint32_t pos, const s_entry_t *entry);

/*  Before descending into inner child *c of node (which has room): split
    the child if full, and move *c to the half whose keys cover (ts, id).
    Returns 0 or HEARTH_ENOMEM (unchanged). */
int negentropy_store_child_make_room (s_inner_t *node, uint32_t *c, uint64_t ts, const uint8_t *id);

/*  Insert under an inner node that has room, down to the store's
    insert_under at height 1. append: the item is above every stored one. */
int negentropy_store_inner_insert (negentropy_store_t *store, s_inner_t *node, int height,
                                   uint64_t ts, const uint8_t *id, const s_sum_t *v, bool append);

/*  Make sure the root has room for one more child. Returns 0 or
    HEARTH_ENOMEM (unchanged). */
int negentropy_store_root_make_room (negentropy_store_t *self);

#endif
