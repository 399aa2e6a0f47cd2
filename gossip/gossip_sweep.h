/*  gossip_sweep.h — the event hashes one link's run of capped
    reconciliation sessions (a "sweep") fetched and saw refused, in a
    Bloom filter of fixed size (docs/sync.md §7.4, "Refused events").

    A session stops asking after GOSSIP_NEED_MAX new ids and the next one
    finds the missing ids again from the start of the peer's order. The
    memory of refusals (gossip_refused.h) lets the next session skip what
    was refused, but it is bounded: a peer holding more refused events than
    it remembers, below valid ones, would have every session fetch the
    oldest forgotten ones again and never reach the valid ones. A sweep
    remembers, for one link, every hash its sessions fetched and saw
    refused, at GOSSIP_SWEEP_BITS bits in all, so each capped session
    reaches further than the last. The caller drops it after a session on
    the link ran to its end, if membership changed since it began (what it
    skipped for missing membership may pass now), if it holds nothing, or
    once it is GOSSIP_REFUSED_RETRY_MAX_MS old; until then later sessions
    skip what it holds too.

    A Bloom filter can answer "yes" for a hash it never saw (with
    GOSSIP_SWEEP_HASHES = 4 probes into 2^22 bits: ~0.1% after 200,000
    hashes, ~14% after 1,000,000); such a hash, which may be a valid event,
    is only skipped until the sweep is dropped, and the next sweep uses
    another key. It never answers "no" for a hash it saw.

    Pure core: no I/O, no clock, no randomness (the key is an argument).
*/
#ifndef HEARTH_GOSSIP_SWEEP_H
#define HEARTH_GOSSIP_SWEEP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*  Bits of one sweep's filter (512 KiB, allocated when a link's session is
    first capped, freed when the caller drops the sweep). */
#define GOSSIP_SWEEP_BITS       (UINT32_C (1) << 22)
/*  Probes per hash. */
#define GOSSIP_SWEEP_HASHES     4

typedef struct _gossip_sweep_t gossip_sweep_t;

/*  New, empty, with `bits` bits (a power of two, 64 .. 2^31) and
    GOSSIP_SWEEP_HASHES probes; key (16 bytes, copied) keys the probes
    (pass random bytes, new for every sweep). NULL on a bad size or out of
    memory. */
gossip_sweep_t *gossip_sweep_new (uint32_t bits, const uint8_t key [16]);

/*  Free; safe on NULL; nulls *self_p. */
void gossip_sweep_destroy (gossip_sweep_t **self_p);

/*  Remember hash (32 bytes). */
void gossip_sweep_add (gossip_sweep_t *self, const uint8_t hash [32]);

/*  1 if hash may have been added (always if it was), else 0. */
int gossip_sweep_contains (const gossip_sweep_t *self, const uint8_t hash [32]);

/*  Hashes added (repeats counted). */
uint64_t gossip_sweep_count (const gossip_sweep_t *self);

#ifdef __cplusplus
}
#endif
#endif
