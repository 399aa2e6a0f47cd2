/*  gossip_index.c — the chained hash index of event hashes shared by
    gossip_want and gossip_refused; see gossip_index.h. The entries are
    read through stride and next_offset, so one index serves both entry
    layouts.
*/
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "gossip_index.h"

struct _gossip_index_t {
    uint8_t   key [crypto_shorthash_KEYBYTES];
    uint32_t *buckets;                      /* owned: chain heads */
    size_t    mask;                         /* buckets - 1 (a power of two minus one) */
    size_t    stride, next_offset;          /* the entries' layout */
};

/*  Entry i's chain link, in the user's array. */
static uint32_t *
s_next (const gossip_index_t *self, const void *entries, uint32_t i)
{
    return (uint32_t *) ((uint8_t *) entries + (size_t) i * self->stride + self->next_offset);
}

static const uint8_t *
s_hash (const gossip_index_t *self, const void *entries, uint32_t i)
{
    return (const uint8_t *) entries + (size_t) i * self->stride;
}

static size_t
s_bucket (const gossip_index_t *self, const uint8_t hash [32])
{
    uint8_t out [crypto_shorthash_BYTES];
    crypto_shorthash (out, hash, 32, self->key);
    uint64_t h;
    memcpy (&h, out, sizeof h);
    return (size_t) (h & self->mask);
}

gossip_index_t *
gossip_index_new (size_t max, const uint8_t key [16], size_t stride, size_t next_offset)
{
    if (max == 0 || max >= GOSSIP_INDEX_NIL || stride < 32 || next_offset < 32
    ||  next_offset > stride - sizeof (uint32_t))
        return NULL;
    gossip_index_t *self = (gossip_index_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    memcpy (self->key, key, sizeof self->key);
    self->stride = stride;
    self->next_offset = next_offset;
    size_t buckets = 16;
    while (buckets < max)
        buckets *= 2;                       /* load factor <= 1 */
    self->mask = buckets - 1;
    self->buckets = (uint32_t *) malloc (buckets * sizeof *self->buckets);
    if (!self->buckets) {
        free (self);
        return NULL;
    }
    for (size_t b = 0; b < buckets; b++)
        self->buckets [b] = GOSSIP_INDEX_NIL;
    return self;
}

void
gossip_index_destroy (gossip_index_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->buckets);
    free (*self_p);
    *self_p = NULL;
}

uint32_t
gossip_index_find (const gossip_index_t *self, const void *entries, const uint8_t hash [32])
{
    for (uint32_t i = self->buckets [s_bucket (self, hash)]; i != GOSSIP_INDEX_NIL;
         i = *s_next (self, entries, i))
        if (memcmp (s_hash (self, entries, i), hash, 32) == 0)
            return i;
    return GOSSIP_INDEX_NIL;
}

void
gossip_index_insert (gossip_index_t *self, void *entries, uint32_t i)
{
    size_t b = s_bucket (self, s_hash (self, entries, i));
    *s_next (self, entries, i) = self->buckets [b];
    self->buckets [b] = i;
}

void
gossip_index_remove (gossip_index_t *self, void *entries, uint32_t i)
{
    uint32_t *link = &self->buckets [s_bucket (self, s_hash (self, entries, i))];
    while (*link != i)
        link = s_next (self, entries, *link);  /* i is in this chain (invariant) */
    *link = *s_next (self, entries, i);
}
