/*  market_idx.c — key -> index hash map without keys (see market_idx.h).

    A slot is the low 32 bits of the key's hash and index + 1 (0 = empty):
    a probe compares keys only when the hash bits match (1 in 2^32 for
    another key), and growing the table needs no key (the home slot is the
    hash's low bits, and tables stay below 2^32 slots).

    Invariant (linear probing): every entry sits in the run of occupied
    slots that starts at its home slot (hash & mask), that is, no empty
    slot lies between its home and it, cyclically. Lookups rely on it (they
    stop at the first empty slot). Put keeps it by taking the first empty
    slot from home on. Remove keeps it by backward shift: after emptying
    slot `hole`, each later entry of the run at j whose home is not in
    (hole, j] cyclically would be cut off from its home, so it moves into
    the hole and j becomes the hole; the shift ends at the run's first
    empty slot. No tombstones, so probes never lengthen with removals.
*/
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "hearth_error.h"
#include "market_idx.h"

/*  First table size (slots, a power of two). */
#define S_MIN_SLOTS  16
/*  Grow when entries * 4 > slots * 3 (load factor 0.75). */
#define S_LOAD_NUM   3
#define S_LOAD_DEN   4
typedef struct {
    uint32_t hash;              /* low 32 bits of the key's hash */
    uint32_t index1;            /* index + 1; 0 = empty slot */
} s_slot_t;

struct _market_idx_t {
    s_slot_t *slots;            /* owned, n_slots entries */
    size_t    n_slots;          /* power of two */
    size_t    size;
    size_t    key_len;          /* 0: C strings */
    uint8_t   sip_key [crypto_shorthash_KEYBYTES];
};

static uint64_t
s_hash (const market_idx_t *self, const void *key)
{
    uint8_t out [crypto_shorthash_BYTES];
    size_t len = self->key_len? self->key_len: strlen ((const char *) key);
    crypto_shorthash (out, (const unsigned char *) key, len, self->sip_key);
    uint64_t h;
    memcpy (&h, out, sizeof h);
    return h;
}

static int
s_key_eq (const market_idx_t *self, const void *a, const void *b)
{
    return self->key_len? memcmp (a, b, self->key_len) == 0
                        : strcmp ((const char *) a, (const char *) b) == 0;
}

market_idx_t *
market_idx_new (size_t key_len)
{
    if (sodium_init () < 0)
        return NULL;
    uint8_t sip_key [crypto_shorthash_KEYBYTES];
    randombytes_buf (sip_key, sizeof sip_key);
    market_idx_t *self = market_idx_new_keyed (key_len, sip_key);
    sodium_memzero (sip_key, sizeof sip_key);
    return self;
}

market_idx_t *
market_idx_new_keyed (size_t key_len, const uint8_t *sip_key)
{
    if (sodium_init () < 0)
        return NULL;
    market_idx_t *self = (market_idx_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->slots = (s_slot_t *) calloc (S_MIN_SLOTS, sizeof (s_slot_t));
    if (!self->slots) {
        free (self);
        return NULL;
    }
    self->n_slots = S_MIN_SLOTS;
    self->key_len = key_len;
    memcpy (self->sip_key, sip_key, sizeof self->sip_key);
    return self;
}

void
market_idx_destroy (market_idx_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->slots);
    free (*self_p);
    *self_p = NULL;
}

/*  Slot holding key (hash h), or the empty slot where it would go. */
static size_t
s_find (const market_idx_t *self, const void *key, uint64_t h, const market_idx_keys_t *keys)
{
    size_t mask = self->n_slots - 1;
    size_t i = (size_t) h & mask;
    for (; self->slots [i].index1; i = (i + 1) & mask) {
        const s_slot_t *slot = &self->slots [i];
        if (slot->hash == (uint32_t) h && s_key_eq (self, keys->fn (keys->arg, slot->index1 - 1), key))
            break;
    }
    return i;
}

int
market_idx_get (const market_idx_t *self, const void *key, const market_idx_keys_t *keys,
                uint32_t *index)
{
    const s_slot_t *slot = &self->slots [s_find (self, key, s_hash (self, key), keys)];
    if (!slot->index1)
        return HEARTH_ENOTFOUND;
    *index = slot->index1 - 1;
    return 0;
}

/*  Place a slot in its first empty probe slot (no key compares). */
static void
s_place (s_slot_t *slots, size_t n_slots, s_slot_t slot)
{
    size_t mask = n_slots - 1;
    size_t i = (size_t) slot.hash & mask;
    while (slots [i].index1)
        i = (i + 1) & mask;
    slots [i] = slot;
}

static int
s_grow (market_idx_t *self)
{
    size_t n = self->n_slots * 2;
    s_slot_t *slots = (s_slot_t *) calloc (n, sizeof (s_slot_t));
    if (!slots)
        return HEARTH_ENOMEM;
    for (size_t i = 0; i < self->n_slots; i++)
        if (self->slots [i].index1)
            s_place (slots, n, self->slots [i]);
    free (self->slots);
    self->slots = slots;
    self->n_slots = n;
    return 0;
}

int
market_idx_put (market_idx_t *self, const void *key, uint32_t index, const market_idx_keys_t *keys)
{
    assert (index <= MARKET_IDX_MAX_INDEX);
    uint64_t h = s_hash (self, key);
    assert (!self->slots [s_find (self, key, h, keys)].index1);    // the caller's contract: a new key
    (void) keys;                    // only for that check
    //  Tables stay below 2^32 slots, so 32 hash bits place every entry
    if ((self->size + 1) * S_LOAD_DEN > self->n_slots * S_LOAD_NUM) {
        if (self->n_slots >= (size_t) 1 << 31)
            return HEARTH_ENOMEM;
        int rc = s_grow (self);
        if (rc)
            return rc;
    }
    s_slot_t slot = { (uint32_t) h, index + 1 };
    s_place (self->slots, self->n_slots, slot);
    self->size++;
    return 0;
}

int
market_idx_remove (market_idx_t *self, const void *key, const market_idx_keys_t *keys)
{
    size_t mask = self->n_slots - 1;
    size_t hole = s_find (self, key, s_hash (self, key), keys);
    if (!self->slots [hole].index1)
        return HEARTH_ENOTFOUND;
    //  Backward shift (see the banner): no key compares, homes from the
    //  32 stored hash bits
    for (size_t j = (hole + 1) & mask; self->slots [j].index1; j = (j + 1) & mask) {
        size_t home = (size_t) self->slots [j].hash & mask;
        int reachable = hole < j? (home > hole && home <= j)
                                : (home > hole || home <= j);     // the run wrapped
        if (!reachable) {
            self->slots [hole] = self->slots [j];
            hole = j;
        }
    }
    self->slots [hole].hash = 0;
    self->slots [hole].index1 = 0;
    assert (self->size > 0);
    self->size--;
    return 0;
}

size_t
market_idx_size (const market_idx_t *self)
{
    return self->size;
}

void
market_idx_clear (market_idx_t *self)
{
    memset (self->slots, 0, self->n_slots * sizeof (s_slot_t));
    self->size = 0;
}

size_t
market_idx_slots (const market_idx_t *self)
{
    return self->n_slots;
}
