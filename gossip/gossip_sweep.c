/*  gossip_sweep.c — a keyed Bloom filter of refused hashes; see
    gossip_sweep.h. Probe i of a hash is (h1 + i * h2) mod bits, with h1
    and h2 the two halves of its keyed SipHash-2-4 (double hashing).
*/
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "gossip_sweep.h"

struct _gossip_sweep_t {
    uint8_t   key [crypto_shorthash_KEYBYTES];
    uint64_t *words;                        /* owned: bits / 64 words */
    uint32_t  mask;                         /* bits - 1 */
    uint64_t  count;
};

static void
s_probes (const gossip_sweep_t *self, const uint8_t hash [32], uint32_t *h1, uint32_t *h2)
{
    uint8_t out [crypto_shorthash_BYTES];
    crypto_shorthash (out, hash, 32, self->key);
    memcpy (h1, out, sizeof *h1);
    memcpy (h2, out + 4, sizeof *h2);
    *h2 |= 1;                               /* odd: the probes differ for any power-of-two size */
}

gossip_sweep_t *
gossip_sweep_new (uint32_t bits, const uint8_t key [16])
{
    if (bits < 64 || bits > (UINT32_C (1) << 31) || (bits & (bits - 1)) != 0)
        return NULL;
    gossip_sweep_t *self = (gossip_sweep_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->words = (uint64_t *) calloc (bits / 64, sizeof *self->words);
    if (!self->words) {
        free (self);
        return NULL;
    }
    memcpy (self->key, key, sizeof self->key);
    self->mask = bits - 1;
    return self;
}

void
gossip_sweep_destroy (gossip_sweep_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->words);
    free (*self_p);
    *self_p = NULL;
}

void
gossip_sweep_add (gossip_sweep_t *self, const uint8_t hash [32])
{
    uint32_t h1, h2;
    s_probes (self, hash, &h1, &h2);
    for (uint32_t i = 0; i < GOSSIP_SWEEP_HASHES; i++) {
        uint32_t bit = (h1 + i * h2) & self->mask;
        self->words [bit / 64] |= UINT64_C (1) << (bit % 64);
    }
    self->count++;
}

int
gossip_sweep_contains (const gossip_sweep_t *self, const uint8_t hash [32])
{
    uint32_t h1, h2;
    s_probes (self, hash, &h1, &h2);
    for (uint32_t i = 0; i < GOSSIP_SWEEP_HASHES; i++) {
        uint32_t bit = (h1 + i * h2) & self->mask;
        if (!(self->words [bit / 64] & (UINT64_C (1) << (bit % 64))))
            return 0;
    }
    return 1;
}

uint64_t
gossip_sweep_count (const gossip_sweep_t *self)
{
    return self->count;
}
