/*  negentropy_store.h — the incremental item store behind Hearth's
    anti-entropy reconciliation (DESIGN §5).

    Items are (timestamp, id) pairs: timestamp = the event's lamport, id = the
    32-byte event hash. They are kept sorted by (timestamp, id) in a B+tree
    whose inner nodes hold, per child, the item count and the sum of the ids
    (256-bit little-endian integers, mod 2^256). That gives, in O(log n):
      - insert one item (events arrive one at a time; never rebuilt per session),
      - the item at an index, the index of a bound (lower bound),
      - the Negentropy fingerprint of any index range:
        first 16 bytes of SHA-256(sum of ids mod 2^256 as 32 LE bytes || varint(count)).
    negentropy_store_build() fills an empty store from a sorted array in
    O(n) (the start-up scan of the RocksDB order index).

    Items are never removed: Hearth's event log is append-only.
    Threading: a store belongs to one thread; callers serialise access.
    Inserting between two messages of a reconciliation session is allowed
    (sessions keep bounds, never indexes, from one message to the next).
*/
#ifndef HEARTH_NEGENTROPY_STORE_H
#define HEARTH_NEGENTROPY_STORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*  Bytes in an item id (an event hash). */
#define NEGENTROPY_ID_SIZE          32
/*  Bytes in a range fingerprint (protocol v1). */
#define NEGENTROPY_FINGERPRINT_SIZE 16
/*  The reserved "infinity" timestamp: no item may carry it. */
#define NEGENTROPY_TIMESTAMP_MAX    UINT64_MAX

/*  One item, a plain value. */
typedef struct {
    uint64_t timestamp;
    uint8_t  id [NEGENTROPY_ID_SIZE];
} negentropy_item_t;

typedef struct _negentropy_store_t negentropy_store_t;

/*  Called by negentropy_store_iterate for each item; return 0 to go on,
    anything else to stop (that value is returned by iterate). */
typedef int (negentropy_store_fn) (const negentropy_item_t *item, size_t index, void *arg);

/*  Empty store, or NULL if out of memory. Caller owns the result. */
negentropy_store_t *negentropy_store_new (void);

/*  Free the store and set *self_p to NULL. Safe on NULL and on *self_p NULL. */
void negentropy_store_destroy (negentropy_store_t **self_p);

/*  Fill an EMPTY store from items (borrowed; copied) sorted strictly
    ascending by (timestamp, id). Returns 0; HEARTH_EINVAL if the store is not
    empty, the items are out of order or duplicated, or a timestamp is
    NEGENTROPY_TIMESTAMP_MAX; HEARTH_ENOMEM (store left empty). */
int negentropy_store_build (negentropy_store_t *self, const negentropy_item_t *items, size_t count);

/*  Repack the leaves full (in place, in item order) and rebuild the inner
    levels: the store then takes the memory negentropy_store_build would
    give it. Items inserted out of order (a join's fetched events) split
    leaves in halves and leave them 50-100% full. O(n); the only new memory
    is the inner levels (~1/64 of the leaves), allocated before anything
    changes. Returns 0 (also when already packed), or HEARTH_ENOMEM with
    the store unchanged. */
int negentropy_store_compact (negentropy_store_t *self);

/*  Leaf fill in percent: items / (leaves x items per leaf); 100 for an
    empty store. O(leaves). */
unsigned negentropy_store_fill (const negentropy_store_t *self);

/*  Insert one item (id borrowed; copied). Returns 0; HEARTH_EDUPLICATE if it
    is already stored; HEARTH_EINVAL if timestamp is NEGENTROPY_TIMESTAMP_MAX;
    HEARTH_ENOMEM (store unchanged in content). */
int negentropy_store_insert (negentropy_store_t *self, uint64_t timestamp,
                             const uint8_t id [NEGENTROPY_ID_SIZE]);

/*  Number of items. */
size_t negentropy_store_size (const negentropy_store_t *self);

/*  Copy the item at index into *item. Returns 0 or HEARTH_EINVAL (index >= size). */
int negentropy_store_get (const negentropy_store_t *self, size_t index, negentropy_item_t *item);

/*  Index of the first item >= (timestamp, id) in (timestamp, id) order, or
    size if none. id is borrowed; NULL means 32 zero bytes (a bound whose id
    prefix is empty). */
size_t negentropy_store_lower_bound (const negentropy_store_t *self, uint64_t timestamp,
                                     const uint8_t *id);

/*  Fingerprint of the items in [begin, end) into out. Returns 0, or
    HEARTH_EINVAL if begin > end or end > size. */
int negentropy_store_fingerprint (const negentropy_store_t *self, size_t begin, size_t end,
                                  uint8_t out [NEGENTROPY_FINGERPRINT_SIZE]);

/*  Sum mod 2^256 of the ids in [begin, end) as 32 little-endian bytes into
    out (exposed for tests and tools). Returns 0 or HEARTH_EINVAL. */
int negentropy_store_sum (const negentropy_store_t *self, size_t begin, size_t end,
                          uint8_t out [NEGENTROPY_ID_SIZE]);

/*  Call fn(item, index, arg) for each item in [begin, end) in order, in
    O(log n + (end - begin)). Returns 0 when all were visited, the first
    non-zero value fn returned, or HEARTH_EINVAL for a bad range. fn must not
    modify the store. */
int negentropy_store_iterate (const negentropy_store_t *self, size_t begin, size_t end,
                              negentropy_store_fn *fn, void *arg);

/*  Fingerprint of a given id sum (32 LE bytes, borrowed) and item count:
    the protocol's definition, shared with the session code and tests. */
void negentropy_fingerprint_of_sum (const uint8_t sum [NEGENTROPY_ID_SIZE], uint64_t count,
                                    uint8_t out [NEGENTROPY_FINGERPRINT_SIZE]);

#ifdef __cplusplus
}
#endif
#endif
