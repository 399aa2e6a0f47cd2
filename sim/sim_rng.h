/*  sim_rng.h — the simulator's one source of randomness: xoshiro256**
    seeded through splitmix64. Every random choice of a run (latencies,
    losses, who posts, who leaves, the nodes' own seeds) comes from streams
    derived from the run's seed, so a seed gives the same run, byte for byte.
    No wall clock, no libc rand.
*/
#ifndef HEARTH_SIM_RNG_H
#define HEARTH_SIM_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s [4];
} sim_rng_t;

/*  One splitmix64 step: advances *state, returns the next value. */
static inline uint64_t
sim_splitmix64 (uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/*  Seed a stream (any seed, 0 included). */
static inline void
sim_rng_seed (sim_rng_t *self, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        self->s [i] = sim_splitmix64 (&seed);
}

static inline uint64_t
sim_rng_next (sim_rng_t *self)
{
    uint64_t *s = self->s;
    uint64_t x = s [1] * 5;
    uint64_t r = ((x << 7) | (x >> 57)) * 9;
    uint64_t t = s [1] << 17;
    s [2] ^= s [0];
    s [3] ^= s [1];
    s [1] ^= s [2];
    s [0] ^= s [3];
    s [2] ^= t;
    s [3] = (s [3] << 45) | (s [3] >> 19);
    return r;
}

/*  Uniform in [0, n), n > 0 (Lemire's multiply; the tiny bias of the
    plain multiply is irrelevant at n <= 2^32 for a simulation). */
static inline uint64_t
sim_rng_below (sim_rng_t *self, uint64_t n)
{
    return (uint64_t) (((unsigned __int128) sim_rng_next (self) * n) >> 64);
}

/*  Uniform in [0, 1). */
static inline double
sim_rng_unit (sim_rng_t *self)
{
    return (double) (sim_rng_next (self) >> 11) * (1.0 / 9007199254740992.0);
}

#endif
