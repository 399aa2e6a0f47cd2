/*  gossip_index.h — a bounded chained hash index of 32-byte event hashes
    over an array of entries its user owns (gossip_want, gossip_refused).

    The index holds only the bucket heads and the SipHash-2-4 key (keyed by
    the user, so a peer cannot aim hashes at one chain); the entries and
    their chain links live in the user's array, addressed by index, so the
    array may grow (realloc) between calls. Each entry is `stride` bytes,
    begins with its 32-byte hash and holds a uint32_t chain link at
    `next_offset` (free for the user's own free list while the entry is not
    in the index). Buckets: the power of two (at least 16) at or above
    `max`, so the load factor stays at most 1 while at most `max` entries
    are in. Private to the gossip module; single-threaded, as its users.
*/
#ifndef GOSSIP_INDEX_H_INCLUDED
#define GOSSIP_INDEX_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

/*  "No entry": what find returns for an absent hash, the end of a chain. */
#define GOSSIP_INDEX_NIL  UINT32_MAX

typedef struct _gossip_index_t gossip_index_t;

/*  An empty index sized for max entries (0 < max < GOSSIP_INDEX_NIL) with
    the 16-byte key (copied); NULL on bad arguments or out of memory. */
gossip_index_t *
    gossip_index_new (size_t max, const uint8_t key [16], size_t stride, size_t next_offset);

/*  Destroy; safe on NULL and *self_p NULL. The entries are the user's. */
void
    gossip_index_destroy (gossip_index_t **self_p);

/*  The index of the entry of entries (borrowed) whose hash is hash, or
    GOSSIP_INDEX_NIL. */
uint32_t
    gossip_index_find (const gossip_index_t *self, const void *entries, const uint8_t hash [32]);

/*  Put entry i (its hash set, not in the index) at the head of its
    bucket's chain. */
void
    gossip_index_insert (gossip_index_t *self, void *entries, uint32_t i);

/*  Take entry i (in the index) out of its chain; its link is then free
    for the user. */
void
    gossip_index_remove (gossip_index_t *self, void *entries, uint32_t i);

#endif
