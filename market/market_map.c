/*  market_map.c — string -> uint32 hash map (see market_map.h).
*/
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "hearth_error.h"
#include "market_map.h"

/*  First table size (slots, a power of two). */
#define S_MIN_SLOTS 16
/*  Grow when entries * 4 > slots * 3 (load factor 0.75). */
#define S_LOAD_NUM  3
#define S_LOAD_DEN  4

typedef struct {
    const char *key;            /* borrowed; NULL = empty slot */
    uint64_t    hash;           /* of key: probes skip strcmp, growth skips rehashing */
    uint32_t    value;
} s_slot_t;

struct _market_map_t {
    s_slot_t *slots;            /* owned, n_slots entries */
    size_t    n_slots;          /* power of two */
    size_t    size;
    uint8_t   sip_key [crypto_shorthash_KEYBYTES];
};

static uint64_t
s_hash (const market_map_t *self, const char *key)
{
    uint8_t out [crypto_shorthash_BYTES];
    crypto_shorthash (out, (const unsigned char *) key, strlen (key), self->sip_key);
    uint64_t h;
    memcpy (&h, out, sizeof h);
    return h;
}

market_map_t *
market_map_new (void)
{
    if (sodium_init () < 0)
        return NULL;
    market_map_t *self = (market_map_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->slots = (s_slot_t *) calloc (S_MIN_SLOTS, sizeof (s_slot_t));
    if (!self->slots) {
        free (self);
        return NULL;
    }
    self->n_slots = S_MIN_SLOTS;
    randombytes_buf (self->sip_key, sizeof self->sip_key);
    return self;
}

void
market_map_destroy (market_map_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->slots);
    free (*self_p);
    *self_p = NULL;
}

/*  Slot holding key (with hash h), or the empty slot where it would go. */
static size_t
s_find (const market_map_t *self, const char *key, uint64_t h)
{
    size_t mask = self->n_slots - 1;
    size_t i = (size_t) h & mask;
    while (self->slots [i].key
       &&  (self->slots [i].hash != h || strcmp (self->slots [i].key, key) != 0))
        i = (i + 1) & mask;
    return i;
}

int
market_map_get (const market_map_t *self, const char *key, uint32_t *value)
{
    size_t i = s_find (self, key, s_hash (self, key));
    if (!self->slots [i].key)
        return HEARTH_ENOTFOUND;
    *value = self->slots [i].value;
    return 0;
}

static int
s_grow (market_map_t *self)
{
    size_t n = self->n_slots * 2;
    s_slot_t *old = self->slots;
    size_t old_n = self->n_slots;
    self->slots = (s_slot_t *) calloc (n, sizeof (s_slot_t));
    if (!self->slots) {
        self->slots = old;
        return HEARTH_ENOMEM;
    }
    self->n_slots = n;
    size_t mask = n - 1;
    for (size_t i = 0; i < old_n; i++) {
        if (old [i].key) {
            size_t j = (size_t) old [i].hash & mask;
            while (self->slots [j].key)
                j = (j + 1) & mask;
            self->slots [j] = old [i];
        }
    }
    free (old);
    return 0;
}

int
market_map_put (market_map_t *self, const char *key, uint32_t value)
{
    uint64_t h = s_hash (self, key);
    size_t i = s_find (self, key, h);
    if (self->slots [i].key) {
        self->slots [i].key = key;      // the caller's current copy
        self->slots [i].value = value;
        return 0;
    }
    if ((self->size + 1) * S_LOAD_DEN > self->n_slots * S_LOAD_NUM) {
        int rc = s_grow (self);
        if (rc)
            return rc;
        i = s_find (self, key, h);
    }
    self->slots [i].key = key;
    self->slots [i].hash = h;
    self->slots [i].value = value;
    self->size++;
    return 0;
}

int
market_map_remove (market_map_t *self, const char *key)
{
    size_t mask = self->n_slots - 1;
    size_t i = s_find (self, key, s_hash (self, key));
    if (!self->slots [i].key)
        return HEARTH_ENOTFOUND;
    //  Backward-shift deletion: move later members of the probe run into
    //  the hole when their home slot does not lie in (hole, j].
    size_t hole = i;
    size_t j = (i + 1) & mask;
    while (self->slots [j].key) {
        size_t home = (size_t) self->slots [j].hash & mask;
        int between = hole <= j? (home > hole && home <= j): (home > hole || home <= j);
        if (!between) {
            self->slots [hole] = self->slots [j];
            hole = j;
        }
        j = (j + 1) & mask;
    }
    self->slots [hole].key = NULL;
    self->slots [hole].hash = 0;
    self->slots [hole].value = 0;
    assert (self->size > 0);
    self->size--;
    return 0;
}

size_t
market_map_size (const market_map_t *self)
{
    return self->size;
}

void
market_map_clear (market_map_t *self)
{
    memset (self->slots, 0, self->n_slots * sizeof (s_slot_t));
    self->size = 0;
}
