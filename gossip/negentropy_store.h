/*  negentropy_store.h — the incremental item store behind Hearth's
    anti-entropy reconciliation (docs/decisions/0003-*).

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

    Two kinds of store share this interface:
      - in memory (negentropy_store_new): the leaves hold the items, 40 bytes
        each; tests, tools and the interop driver use it.
      - backed (negentropy_store_new_backed): the leaves are pages, summaries
        of NEGENTROPY_PAGE_MAX or fewer consecutive items (count, id sum,
        smallest item) kept in the inner nodes, and a page's items are read
        on demand from a source, the node's own sorted index of the same
        items (the event log's order column family). A node's store then
        costs ~2 bytes per item instead of 40 (docs/decisions/0017-*). The caller
        keeps the source and the store equal: insert every item the source
        gains, before the next query, and nothing else. A page read that
        disagrees with its summary (count, sum or first item) fails the query
        with HEARTH_ECORRUPT; the caller then rebuilds the store.
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

/*  Source of a backed store: call fn(item, i, arg) for the stored items >=
    (timestamp, id) in (timestamp, id) order, i counting from 0, at most
    limit of them, stopping early when fn returns non-zero. Returns 0 (also
    when the items ran out first), fn's non-zero value, or a negative
    HEARTH_E* code (HEARTH_EIO for a failed read). source is borrowed. */
typedef int (negentropy_source_fn) (void *source, uint64_t timestamp,
                                    const uint8_t id [NEGENTROPY_ID_SIZE], size_t limit,
                                    negentropy_store_fn *fn, void *arg);

/*  Items per page of a backed store at most, after negentropy_store_settle.
    A query inside a page reads it: a RocksDB seek plus a cost per item, so
    smaller pages read faster. A page's summary is ~120 bytes in its inner
    node, so 64-item pages (half to fully packed) cost ~2-4 bytes per item,
    against 40 in memory (`gossip_bench store`; its figures are in
    docs/performance.md). */
#define NEGENTROPY_PAGE_MAX 64

/*  Empty store, or NULL if out of memory. Caller owns the result. */
negentropy_store_t *negentropy_store_new (void);

/*  Empty backed store reading pages through read(source, ...), or NULL if
    out of memory. source is borrowed until destroy. Caller owns the result. */
negentropy_store_t *negentropy_store_new_backed (negentropy_source_fn *read, void *source);

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
    changes. Returns 0 (also when already packed, and always for a backed
    store, whose pages negentropy_store_settle keeps packed), or
    HEARTH_ENOMEM with the store unchanged. */
int negentropy_store_compact (negentropy_store_t *self);

/*  Leaf fill in percent: items / (leaves x items per leaf); 100 for an
    empty store and for a backed store. O(leaves). */
unsigned negentropy_store_fill (const negentropy_store_t *self);

/*  Insert one item (id borrowed; copied). Returns 0; HEARTH_EDUPLICATE if it
    is already stored (in-memory stores only: a backed store trusts its
    caller, whose source holds each item once, and never reads the source
    here); HEARTH_EINVAL if timestamp is NEGENTROPY_TIMESTAMP_MAX;
    HEARTH_ENOMEM (store unchanged in content). An item beyond the largest
    opens a new page when the last is full; any other item joins its page,
    which may then grow past NEGENTROPY_PAGE_MAX until the next settle. */
int negentropy_store_insert (negentropy_store_t *self, uint64_t timestamp,
                             const uint8_t id [NEGENTROPY_ID_SIZE]);

/*  Backed store: split the pages inserts grew past NEGENTROPY_PAGE_MAX,
    reading each from the source. Call it when the source holds exactly the
    inserted items (after the event log's ingest call returned, not from
    inside its accept hook, which runs while later writes are in flight).
    Queries are correct without it, only slower on grown pages. Returns 0
    (also for an in-memory store), HEARTH_ENOMEM (store still valid, pages
    left grown), or a page read's error (HEARTH_ECORRUPT, HEARTH_EIO). */
int negentropy_store_settle (negentropy_store_t *self);

/*  Number of items. */
size_t negentropy_store_size (const negentropy_store_t *self);

/*  Copy the item at index into *item. Returns 0 or HEARTH_EINVAL (index >= size).
    The queries below can also fail with a page read's error on a backed
    store (HEARTH_ECORRUPT, HEARTH_EIO, HEARTH_ENOMEM). */
int negentropy_store_get (const negentropy_store_t *self, size_t index, negentropy_item_t *item);

/*  Into *index: the index of the first item >= (timestamp, id) in
    (timestamp, id) order, or size if none. id is borrowed; NULL means 32
    zero bytes (a bound whose id prefix is empty). Returns 0 or a page
    read's error. */
int negentropy_store_lower_bound (const negentropy_store_t *self, uint64_t timestamp,
                                  const uint8_t *id, size_t *index);

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
    non-zero value fn returned, HEARTH_EINVAL for a bad range, or a page
    read's error. fn must not modify the store. */
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
