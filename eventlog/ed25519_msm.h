/*  ed25519_msm.h — private to eventlog/: what ed25519_batch.c (the
    acceptance rule, the batch API) uses of ed25519_msm.c (the field, the
    points, the multi-scalar multiplication). Nothing outside the module
    includes it.

    The types are here, not opaque, because the batch keeps points and
    terms by value in its per-slice scratch. The field and point
    representations and their limb bounds are described in the banner of
    ed25519_msm.c. Everything is variable-time (all inputs are public) and
    pure; the functions are safe to call from several threads at once (the
    base point's table is built once, under pthread_once).

    ed25519_load64 and ed25519_store64 stay static inline here: the
    arithmetic calls them in its hot loops.
*/
#ifndef ED25519_MSM_H_INCLUDED
#define ED25519_MSM_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

typedef unsigned __int128 ed25519_u128_t;

/*  An element of GF(2^255 - 19): five limbs of 51 bits. */
typedef struct {
    uint64_t v [5];
} ed25519_fe_t;

/*  A point in extended coordinates (X:Y:Z:T): x = X/Z, y = Y/Z, x y = T/Z. */
typedef struct {
    ed25519_fe_t X, Y, Z, T;
} ed25519_p3_t;

/*  One term of a multi-scalar multiplication. */
typedef struct {
    ed25519_p3_t  P;
    uint8_t k [32];                         /* little-endian, < 2^253 */
} ed25519_term_t;

/*  8 bytes little-endian to and from a uint64_t. */
static inline uint64_t
ed25519_load64 (const uint8_t *b)
{
    uint64_t x = 0;
    for (int i = 7; i >= 0; i--)
        x = (x << 8) | b [i];
    return x;
}

static inline void
ed25519_store64 (uint8_t *b, uint64_t x)
{
    for (int i = 0; i < 8; i++, x >>= 8)
        b [i] = (uint8_t) x;
}

/*  Rule 2 of ed25519_batch.h for A or R: canonical, not of small order, on
    the curve. 0 and the decoded point in *r, or -1. */
int ed25519_point_check (ed25519_p3_t *r, const uint8_t s [32]);

/*  p = -p. */
void ed25519_p3_neg (ed25519_p3_t *p);

/*  Rule 3 for one signature whose points are decoded (and negated)
    already: [8]([S]B + [1](-R) + [k](-A)) = O. 0 or HEARTH_ESIGNATURE. */
int ed25519_check_one (const ed25519_p3_t *neg_r, const ed25519_p3_t *neg_a,
                       const uint8_t S [32], const uint8_t k [32]);

/*  Bytes of scratch ed25519_msm_is_torsion needs for m terms. */
size_t ed25519_msm_scratch_size (size_t m);

/*  Whether [8]([b]B + sum [k_j] P_j) is the identity; scratch has
    ed25519_msm_scratch_size (m) bytes, aligned as malloc aligns. */
int ed25519_msm_is_torsion (const ed25519_term_t *terms, size_t m, const uint8_t b [32],
                            void *scratch);

#endif
