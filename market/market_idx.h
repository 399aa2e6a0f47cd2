/*  market_idx.h — a key -> index hash map that stores no keys: 8 bytes a
    slot. The market's one hash map: the view's post ids (up to a million)
    and authors (32-byte keys), and the search index's stems, word forms
    and document ids. A slot holding a key pointer, a 64-bit hash and the
    value would take 24 bytes, ~50 bytes a post at the table's load
    (docs/performance.md, "Market view memory").
    Keys are C strings, or byte strings of one length fixed at new.

    The caller owns the keys and numbers them: the map holds the index and
    32 bits of the key's hash per slot, and asks keys->fn (keys->arg,
    index) for the key of an index when a probe's hash bits match. Open
    addressing, linear probing, removal by backward shift (no tombstones,
    so a table with many removals probes as fast as a fresh one). Keys are
    hashed with SipHash-2-4 under a random per-map key, so remote text
    (post ids, words) cannot force collisions. Never iterated, so the
    random key cannot change any output.
*/
#ifndef HEARTH_MARKET_IDX_H
#define HEARTH_MARKET_IDX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*  Indices stored: 0 .. MARKET_IDX_MAX_INDEX (a slot holds index + 1 in 32
    bits, 0 meaning empty). */
#define MARKET_IDX_MAX_INDEX  0xFFFFFFFEu

typedef struct _market_idx_t market_idx_t;

/*  The key of an index put earlier, unchanged since (borrowed). */
typedef const void *(market_idx_key_fn) (const void *arg, uint32_t index);
typedef struct {
    market_idx_key_fn *fn;
    const void        *arg;
} market_idx_keys_t;

/*  New empty map whose keys are key_len bytes, or C strings if key_len is
    0; NULL on OOM. */
market_idx_t *market_idx_new (size_t key_len);
/*  Same, hashing under the given SipHash key (crypto_shorthash_KEYBYTES
    bytes) instead of a random one: for tests, which place keys in chosen
    slots. Never with a key a peer could know. */
market_idx_t *market_idx_new_keyed (size_t key_len, const uint8_t *sip_key);
/*  Free the map; safe on NULL; nulls *self_p. */
void market_idx_destroy (market_idx_t **self_p);

/*  0 and *index, or HEARTH_ENOTFOUND. */
int market_idx_get (const market_idx_t *self, const void *key, const market_idx_keys_t *keys,
                    uint32_t *index);
/*  Add key -> index (index <= MARKET_IDX_MAX_INDEX; key not in the map).
    0 or HEARTH_ENOMEM (the map unchanged). */
int market_idx_put (market_idx_t *self, const void *key, uint32_t index,
                    const market_idx_keys_t *keys);
/*  Remove key (put earlier; keys->fn still returns the key of every index
    in the map). 0 or HEARTH_ENOTFOUND. Never allocates. */
int market_idx_remove (market_idx_t *self, const void *key, const market_idx_keys_t *keys);
/*  Entries held. */
size_t market_idx_size (const market_idx_t *self);
/*  Drop every entry (keeps the table). */
void market_idx_clear (market_idx_t *self);
/*  Table slots (a power of two; grows, never shrinks): for tests. */
size_t market_idx_slots (const market_idx_t *self);

#ifdef __cplusplus
}
#endif
#endif
