/*  ulid.c — ULID generation and checks; see ulid.h. Pure: the caller gives
    time and randomness.

    Layout: 128 bits = 48-bit unix ms (big-endian) || 80 random bits, written
    as 26 Crockford base32 chars, most significant first. The first char
    carries only 3 bits (26 * 5 = 130), hence "first char <= '7'".
    Invariant: ids from one generator strictly increase as strings.
*/
#include <string.h>
#include "ulid.h"
#include "hearth_error.h"

/*  Crockford's alphabet: digits and upper-case letters without I, L, O, U. */
static const char s_crockford [] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/*  2^48: the first ms a 48-bit timestamp cannot hold. */
#define ULID_MAX_MS  (UINT64_C (1) << 48)

static int
s_crockford_value (char c)
{
    const char *p = c? strchr (s_crockford, c): NULL;
    return p? (int) (p - s_crockford): -1;
}

/*  Encode 16 bytes as 26 chars: 130 bits with two leading zero bits. */
static void
s_encode (const uint8_t bytes [16], char out [ULID_SIZE])
{
    /*  Walk 5-bit groups from the least significant end. */
    unsigned acc = 0, bits = 0;
    int pos = ULID_LEN - 1;
    for (int i = 15; i >= 0; i--) {
        acc |= (unsigned) bytes [i] << bits;
        bits += 8;
        while (bits >= 5 && pos >= 0) {
            out [pos--] = s_crockford [acc & 31];
            acc >>= 5;
            bits -= 5;
        }
    }
    if (pos >= 0)
        out [pos] = s_crockford [acc & 31];   /* top 3 bits */
    out [ULID_LEN] = 0;
}

/*  Next id; monotonic within the generator (see ulid.h). */
int
ulid_gen_next (ulid_gen_t *gen, uint64_t now_ms, const uint8_t rand10 [10], char out [ULID_SIZE])
{
    if (now_ms >= ULID_MAX_MS)
        return HEARTH_EINVAL;
    uint8_t bytes [16];
    if (gen->started && now_ms <= gen->last_ms) {
        /*  Same ms or the clock stepped back: previous random part + 1,
            keeping the previous ms so the id still sorts after the last. */
        uint8_t next [10];
        memcpy (next, gen->last_rand, 10);
        int i = 9;
        while (i >= 0 && ++next [i] == 0)
            i--;
        if (i < 0)
            return HEARTH_EINVAL;           /* 2^80 ids in one ms */
        memcpy (gen->last_rand, next, 10);
    }
    else {
        gen->last_ms = now_ms;
        memcpy (gen->last_rand, rand10, 10);
        gen->started = 1;
    }
    for (int i = 0; i < 6; i++)
        bytes [i] = (uint8_t) (gen->last_ms >> (8 * (5 - i)));
    memcpy (bytes + 6, gen->last_rand, 10);
    s_encode (bytes, out);
    return 0;
}

/*  26 upper-case Crockford chars, first <= '7'. */
int
ulid_valid (const char *text)
{
    if (!text)
        return 0;
    for (int i = 0; i < ULID_LEN; i++)
        if (s_crockford_value (text [i]) < 0)
            return 0;
    return text [ULID_LEN] == 0 && text [0] <= '7';
}

/*  The first 10 chars carry 50 bits: 2 zero bits + the 48-bit ms. */
uint64_t
ulid_time_ms (const char *text)
{
    uint64_t ms = 0;
    for (int i = 0; i < 10; i++) {
        int v = s_crockford_value (text [i]);
        ms = (ms << 5) | (uint64_t) (v < 0? 0: v);
    }
    return ms & (ULID_MAX_MS - 1);
}
