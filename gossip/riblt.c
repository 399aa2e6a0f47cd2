/*  riblt.c — rateless IBLT coded symbols: the item hash, the index mapping
    and symbol arithmetic; see riblt.h. */
#include <math.h>
#include <string.h>
#include "riblt.h"

/*  Seed of riblt_hash: "HearthRB" as ASCII, any constant would do; it only
    has to be the same on both peers. */
#define S_HASH_SEED     UINT64_C (0x4865617274685242)
/*  Multiplier of the mapping's generator (the reference's; odd, so the
    state walks a full-period multiplicative sequence of its odd values). */
#define S_PRNG_MUL      UINT64_C (0xda942042e4dd58b5)
/*  2^32 as a double: sqrt of the generator's 2^64 range (see below). */
#define S_TWO_POW_32    4294967296.0
/*  Steps at or beyond 2^63 are treated as "past every index". */
#define S_STEP_MAX      9223372036854775808.0

/*  splitmix64's finalizer: a bijective, nonlinear 64-bit mixer. */
static uint64_t
s_mix (uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C (0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C (0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static uint64_t
s_load_le64 (const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p [i];
    return v;
}

uint64_t
riblt_hash (const uint8_t id [RIBLT_ID_SIZE])
{
    uint64_t h = S_HASH_SEED;
    for (int i = 0; i < RIBLT_ID_SIZE; i += 8)
        h = s_mix (h ^ s_load_le64 (id + i));
    return h;
}

void
riblt_mapping_init (riblt_mapping_t *mapping, uint64_t hash)
{
    mapping->prng = hash;
    mapping->index = 0;
}

/*  The gap to the next index is (i + 1.5) * ((1 - u)^(-1/2) - 1) rounded up,
    i the current index and u uniform in [0, 1): that makes index j present
    with probability 1/(1 + j/2) (the paper, §4). With u = r / 2^64 for a
    uniform 64-bit r, (1 - u)^(-1/2) is taken as 2^32 / sqrt(r + 1), exactly
    as the reference does (the two sides must agree bit for bit). */
uint64_t
riblt_mapping_next (riblt_mapping_t *mapping)
{
    if (mapping->index == UINT64_MAX)
        return UINT64_MAX;
    uint64_t r = mapping->prng * S_PRNG_MUL;
    mapping->prng = r;
    double step = ceil (((double) mapping->index + 1.5)
                        * (S_TWO_POW_32 / sqrt ((double) r + 1.0) - 1.0));
    if (!(step < S_STEP_MAX))
        mapping->index = UINT64_MAX;
    else {
        uint64_t gap = step < 1.0? 1: (uint64_t) step;     /* indexes strictly grow */
        if (__builtin_add_overflow (mapping->index, gap, &mapping->index))
            mapping->index = UINT64_MAX;
    }
    return mapping->index;
}

void
riblt_symbol_apply (riblt_symbol_t *symbol, const uint8_t id [RIBLT_ID_SIZE],
                    uint64_t hash, int64_t direction)
{
    for (int i = 0; i < RIBLT_ID_SIZE; i++)
        symbol->id [i] ^= id [i];
    symbol->hash ^= hash;
    /*  Wraps like the peer's count would; counts are compared, never trusted. */
    symbol->count = (int64_t) ((uint64_t) symbol->count + (uint64_t) direction);
}

bool
riblt_symbol_is_pure (const riblt_symbol_t *symbol)
{
    return (symbol->count == 1 || symbol->count == -1)
        && riblt_hash (symbol->id) == symbol->hash;
}

bool
riblt_symbol_is_empty (const riblt_symbol_t *symbol)
{
    static const uint8_t zero [RIBLT_ID_SIZE];
    return symbol->count == 0 && symbol->hash == 0
        && memcmp (symbol->id, zero, RIBLT_ID_SIZE) == 0;
}
