/*  market_map.h — a string -> uint32 hash map for the search index (word
    -> term, document id -> slot). The view's post ids use market_idx,
    which stores no keys.

    Open addressing with linear probing and backward-shift deletion. Keys are
    hashed with SipHash-2-4 (libsodium crypto_shorthash) under a random
    per-map key, so remote text (post ids, words) cannot force collisions.
    Keys are BORROWED: the caller keeps each key string alive and unchanged
    while it is in the map. Never iterated, so the random key cannot change
    any output.
*/
#ifndef HEARTH_MARKET_MAP_H
#define HEARTH_MARKET_MAP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _market_map_t market_map_t;

/*  New empty map; NULL on OOM. */
market_map_t *market_map_new (void);
/*  Free the map (not the keys); safe on NULL; nulls *self_p. */
void market_map_destroy (market_map_t **self_p);

/*  0 and *value, or HEARTH_ENOTFOUND. */
int market_map_get (const market_map_t *self, const char *key, uint32_t *value);
/*  Insert or replace; key borrowed (see banner). 0 or HEARTH_ENOMEM. */
int market_map_put (market_map_t *self, const char *key, uint32_t value);
/*  0 or HEARTH_ENOTFOUND. */
int market_map_remove (market_map_t *self, const char *key);
/*  Entries held. */
size_t market_map_size (const market_map_t *self);
/*  Drop every entry (keeps the table). */
void market_map_clear (market_map_t *self);

#ifdef __cplusplus
}
#endif
#endif
