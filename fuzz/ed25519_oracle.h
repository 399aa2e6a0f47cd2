/*  ed25519_oracle.h — an independent statement of the acceptance rule of
    eventlog/ed25519_batch.h, built only from libsodium's point and scalar
    primitives, for the differential fuzz target and the edge-case vector
    test. Slow and simple on purpose; test code only.

    valid iff S < L, A and R are canonical encodings of curve points of
    more than small order, and [8][S]B = [8]R + [8][k]A with
    k = SHA-512 (R || A || M) mod L. [8]P is computed by three doublings
    (crypto_core_ed25519_add accepts points with a torsion component, which
    libsodium's scalar multiplication refuses); [8]A and [8]R are then in
    the prime-order subgroup where crypto_scalarmult_ed25519_noclamp works.
*/
#ifndef HEARTH_ED25519_ORACLE_H
#define HEARTH_ED25519_ORACLE_H

#include <sodium.h>
#include <string.h>

static const uint8_t ed25519_oracle_identity [32] = { 1 };

/*  1 if s (32 bytes LE) < L = 2^252 + 27742317777372353535851937790883648493. */
static inline int
ed25519_oracle_scalar_canonical (const uint8_t s [32])
{
    static const uint8_t L [32] = {
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10 };
    for (int i = 31; i >= 0; i--) {
        if (s [i] < L [i])
            return 1;
        if (s [i] > L [i])
            return 0;
    }
    return 0;                               /* equal to L */
}

/*  1 if the encoding's y (sign bit cleared) is below p = 2^255 - 19. */
static inline int
ed25519_oracle_point_canonical (const uint8_t e [32])
{
    if ((e [31] & 0x7f) != 0x7f)
        return 1;
    for (int i = 30; i >= 1; i--)
        if (e [i] != 0xff)
            return 1;
    return e [0] < 0xed;
}

/*  out = [8]p; 0, or -1 if p is not a point on the curve. */
static inline int
ed25519_oracle_times8 (uint8_t out [32], const uint8_t p [32])
{
    uint8_t a [32], b [32];
    if (crypto_core_ed25519_add (a, p, ed25519_oracle_identity) != 0)
        return -1;
    for (int i = 0; i < 3; i++) {
        if (crypto_core_ed25519_add (b, a, a) != 0)
            return -1;
        memcpy (a, b, 32);
    }
    memcpy (out, a, 32);
    return 0;
}

/*  1 if (pk, sig) is valid for msg under the rule; 0 if not. */
static inline int
ed25519_oracle_verify (const uint8_t pk [32], const uint8_t sig [64], const uint8_t *msg, size_t len)
{
    const uint8_t *R = sig, *S = sig + 32;
    if (!ed25519_oracle_scalar_canonical (S)
    ||  !ed25519_oracle_point_canonical (pk) || !ed25519_oracle_point_canonical (R))
        return 0;
    uint8_t A8 [32], R8 [32];
    if (ed25519_oracle_times8 (A8, pk) != 0 || ed25519_oracle_times8 (R8, R) != 0)
        return 0;                           /* not on the curve */
    if (memcmp (A8, ed25519_oracle_identity, 32) == 0 || memcmp (R8, ed25519_oracle_identity, 32) == 0)
        return 0;                           /* small order */
    uint8_t h [64], k [32];
    crypto_hash_sha512_state st;
    crypto_hash_sha512_init (&st);
    crypto_hash_sha512_update (&st, R, 32);
    crypto_hash_sha512_update (&st, pk, 32);
    crypto_hash_sha512_update (&st, msg, len);
    crypto_hash_sha512_final (&st, h);
    crypto_core_ed25519_scalar_reduce (k, h);
    uint8_t kA8 [32], SB [32], SB8 [32], rhs [32];
    if (crypto_scalarmult_ed25519_noclamp (kA8, k, A8) != 0)
        memcpy (kA8, ed25519_oracle_identity, 32);      /* k = 0 mod L */
    if (crypto_scalarmult_ed25519_base_noclamp (SB, S) != 0)
        memcpy (SB, ed25519_oracle_identity, 32);       /* S = 0 */
    if (ed25519_oracle_times8 (SB8, SB) != 0 || crypto_core_ed25519_add (rhs, R8, kA8) != 0)
        return 0;
    return memcmp (SB8, rhs, 32) == 0;
}

/*  1 if the encoding is a point in the prime-order subgroup (libsodium's
    own test: canonical, on the curve, not small order, no torsion). */
static inline int
ed25519_oracle_torsion_free (const uint8_t p [32])
{
    return crypto_core_ed25519_is_valid_point (p);
}

#endif
