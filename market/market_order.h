/*  market_order.h — an ordered set of items keyed by (lamport, id), the
    index market.list walks newest first.

    A chunked sorted array: chunks of at most MARKET_ORDER_CHUNK entries, in
    key order. Insert and remove cost a binary search plus a memmove within
    one chunk, whatever the arrival order (a flat sorted array costs O(n)
    per out-of-order insert, O(n^2) for a log fetched in hash order). An
    append past the last key fills the last chunk, then starts a new one, so
    in-order ingest keeps chunks full. Iteration is by cursor, both ways.
    An entry holds the lamport and the item (16 bytes); an item's id is
    read back through the id_of function given to market_order_new, so
    items are BORROWED and must keep their id alive and unchanged while
    their entry exists. (The market view holds up to a million entries: an
    id pointer in each would be 8 MB.)
*/
#ifndef HEARTH_MARKET_ORDER_H
#define HEARTH_MARKET_ORDER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*  Entries per chunk: 256 x 16 bytes = 4 KB, a memmove of at most that. */
#define MARKET_ORDER_CHUNK 256

typedef struct _market_order_t market_order_t;

typedef struct {
    uint64_t    lamport;
    void       *item;           /* borrowed */
} market_order_entry_t;

/*  The id of an item (borrowed from it). */
typedef const char *(market_order_id_fn) (const void *item);

/*  Position of an iteration; valid until the set changes. */
typedef struct {
    size_t chunk;
    size_t pos;
} market_order_cursor_t;

/*  New empty set whose items' ids id_of reads; NULL on OOM. */
market_order_t *market_order_new (market_order_id_fn *id_of);
/*  Free the set (not ids or items); safe on NULL; nulls *self_p. */
void market_order_destroy (market_order_t **self_p);

/*  Insert item, whose id (id_of (item)) is id; 0, HEARTH_EEXISTS (key
    present) or HEARTH_ENOMEM. */
int market_order_insert (market_order_t *self, uint64_t lamport, const char *id, void *item);
/*  Remove; 0 or HEARTH_ENOTFOUND. */
int market_order_remove (market_order_t *self, uint64_t lamport, const char *id);
size_t market_order_size (const market_order_t *self);
/*  Drop every entry. */
void market_order_clear (market_order_t *self);

/*  Newest (largest key) entry, then older ones; NULL past the end. */
const market_order_entry_t *market_order_last (const market_order_t *self, market_order_cursor_t *cursor);
const market_order_entry_t *market_order_prev (const market_order_t *self, market_order_cursor_t *cursor);
/*  Oldest entry, then newer ones; NULL past the end. */
const market_order_entry_t *market_order_first (const market_order_t *self, market_order_cursor_t *cursor);
const market_order_entry_t *market_order_next (const market_order_t *self, market_order_cursor_t *cursor);

#ifdef __cplusplus
}
#endif
#endif
