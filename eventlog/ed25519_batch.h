/*  ed25519_batch.h — Ed25519 signature verification, many signatures at once.

    THE ACCEPTANCE RULE (docs/decisions/0020-cofactored-signature-rule.md, "Signatures are judged by
    the cofactored equation"). A signature sig = R || S (64 bytes) by the
    public key A (32 bytes) over the message M = prefix || msg is valid iff
      1. S < L, the order of the base point (canonical scalar);
      2. A and R are canonical point encodings (their y < p = 2^255 - 19)
         of points on the curve, and neither encodes a point of small order
         (the y values of libsodium 1.0.18's blacklist);
      3. [8][S]B = [8]R + [8][k]A, where k = SHA-512(R || A || M) read as a
         little-endian integer: the cofactored equation of RFC 8032 §5.1.7.
    Every signature libsodium's crypto_sign_verify_detached accepts passes
    this rule (libsodium checks 1 and 2 too, and its equation without the
    factor 8 implies the one with it). The two differ only for signatures
    whose R or A carries a torsion (small-order) component: libsodium may
    reject those, this rule accepts them. Batch and single verification
    follow this one rule, so a node's verdict never depends on how the
    signatures were grouped.

    Batch verification checks one random linear combination of the
    equations, [8]([sum z_i S_i]B - sum [z_i]R_i - sum [z_i k_i]A_i) = O,
    with 128-bit coefficients z_i derived from a caller-supplied seed: if
    any signature fails the rule, the combination passes with probability
    below 2^-127. When it fails, each signature is checked alone, so the
    verdicts are exact either way. Signatures by the same public key share
    one term of the multi-scalar multiplication.

    Everything here is variable-time: all inputs (keys, messages,
    signatures) are public. Pure: no clock, no randomness of its own.
*/
#ifndef HEARTH_ED25519_BATCH_H
#define HEARTH_ED25519_BATCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*  Bytes of the seed the random coefficients are derived from. */
#define ED25519_BATCH_SEED_BYTES  32

/*  One signature to check. All pointers are borrowed for the call. */
typedef struct {
    const uint8_t *pk;                      /* public key, 32 bytes */
    const uint8_t *sig;                     /* R || S, 64 bytes */
    const uint8_t *prefix;                  /* signed before msg; NULL if prefix_len is 0 */
    size_t         prefix_len;
    const uint8_t *msg;                     /* the rest of the message; NULL if msg_len is 0 */
    size_t         msg_len;
} ed25519_batch_item_t;

/*  Check n signatures under the rule above. rcs[i] (caller's array of n)
    gets 0 if items[i] is valid, HEARTH_ESIGNATURE if not. seed must be
    unpredictable to whoever made the signatures (the caller draws it
    from randombytes_buf); the verdicts do not depend on it except with
    probability below 2^-127 per call. Returns 0 if every signature is
    valid, else HEARTH_ESIGNATURE. Never fails otherwise: if memory runs
    out, it checks the signatures one by one. */
int ed25519_batch_verify (const ed25519_batch_item_t *items, size_t n,
                          const uint8_t seed [ED25519_BATCH_SEED_BYTES], int *rcs);

/*  Check one signature under the same rule (no randomness involved).
    Returns 0 or HEARTH_ESIGNATURE. */
int ed25519_batch_verify_one (const ed25519_batch_item_t *item);

#ifdef __cplusplus
}
#endif
#endif
