/*  ed25519_msm.c — the arithmetic under ed25519_batch.c: the field, the
    curve points and their decoding, and the multi-scalar multiplication
    that decides whether a (combined) cofactored equation holds. Shared
    with ed25519_batch.c through ed25519_msm.h; the acceptance rule and the
    batch API stay there.

    Our own variable-time arithmetic on edwards25519 (all inputs are
    public, so nothing here needs to be constant-time); no libsodium here
    (ed25519_batch.c hashes and reduces mod L). Pure: no I/O; the only
    state is the base point's table, built once per process.

    FIELD. GF(p), p = 2^255 - 19. An element is five limbs of 51 bits,
    x = v0 + v1 2^51 + v2 2^102 + v3 2^153 + v4 2^204, products in
    unsigned __int128; 2^255 = 19 (mod p) folds the top of a product back
    onto the bottom. Limb bounds (the invariant every function keeps):
      - "tight": every limb < 2^51 + 2^19 — what mul, sq, sub and carry
        return, and every coordinate of a stored point but Y+X of a
        cached point;
      - "loose": a sum of at most three tight elements, limbs < 2^53 — what
        add returns; a loose value goes only into mul, sq and sub;
      - mul and sq accept limbs < 2^54 (so 19 * limb fits 64 bits and a
        column of five products stays below 2^115), sub accepts a
        subtrahend with limbs < 2^55 - 304 (it adds 16p first).

    CURVE. The twisted Edwards curve -x^2 + y^2 = 1 + d x^2 y^2, d =
    -121665/121666, group order 8L with L = 2^252 +
    27742317777372353535851937790883648493; B the base point of order L.
    Point forms (Hisil-Wong-Carter-Dawson 2008, "extended coordinates"):
      p3     (X:Y:Z:T)  x = X/Z, y = Y/Z, x y = T/Z;
      p2     (X:Y:Z)    the same without T (enough to double);
      p1p1   (X:Y:Z:T)  "completed": x = X/Z, y = Y/T; the output of an
                        add or a double before the final multiplications;
      cached (Y+X, Y-X, Z, 2dT) of a p3 point, what an addition consumes.
    Formulas (HWCD's dbl-2008-hwcd and add-2008-hwcd-3 with a = -1):
      double  A = X1^2, B = Y1^2, C = 2 Z1^2, E = (X1+Y1)^2 - A - B,
              G = B - A, F = G - C, H = -A - B; x3 = E/G, y3 = H/F,
              stored as p1p1 (E : -H : G : -F); 4S.
      add     A = (Y1-X1)(Y2-X2), B = (Y1+X1)(Y2+X2), C = 2d T1 T2,
              D = 2 Z1 Z2; E = B - A, F = D - C, G = D + C, H = B + A;
              x3 = E/G, y3 = H/F, stored as p1p1 (E : H : G : F); 4M (the
              cached form holds Y2+X2, Y2-X2, 2d T2). Subtracting swaps
              Y2+X2 with Y2-X2 and negates C.
      p1p1 -> p3: (X T : Y Z : Z T : X Y), 4M; -> p2 the first three, 3M.
    These formulas are complete on this curve (a = -1 is a square mod p, d
    is not), so they hold for every input including the identity and
    points of small order.

    MULTI-SCALAR MULTIPLICATION. Straus's interleaved method with signed
    windows (width-w NAF): one shared chain of doublings, and per term a
    table of its odd multiples P, 3P, ..., (2^(w-1) - 1)P. Terms use w =
    S_TERM_WINDOW; the base point, whose table is built once, uses the
    wider S_BASE_WINDOW. From S_PIPPENGER_MIN terms on, Pippenger's bucket
    method instead: per window of c bits, every term is added into the
    bucket of its signed digit, and the buckets are summed with their
    weights by running sums. Both were measured, see the constants.
*/
#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "ed25519_msm.h"
#include "hearth_error.h"

#define S_MASK51  ((UINT64_C(1) << 51) - 1)

/*  The tuning constants below (S_TERM_WINDOW, S_PIPPENGER_MIN,
    S_PIP_BIAS) may be overridden with -D at compile time only to
    repeat the measurements that chose them (docs/performance.md). */

/*  Window of the terms' NAF in Straus's method: 8 odd multiples per point,
    a table of 7 additions + 1 doubling against one addition per ~6 bits in
    the chain. 5 was the fastest of 4, 5, 6 for batches of 16 and 64 (4 is
    within noise): docs/performance.md, "How the constants were chosen"
    (bench_ed25519 of a -DS_TERM_WINDOW build). */
#ifndef S_TERM_WINDOW
#define S_TERM_WINDOW  5
#endif
#define S_TERM_TABLE   (1 << (S_TERM_WINDOW - 2))
/*  Window of the base point's NAF: 64 odd multiples, built once per process. */
#define S_BASE_WINDOW  8
#define S_BASE_TABLE   (1 << (S_BASE_WINDOW - 2))
/*  Digits of a NAF: scalars here are below 2^253 (reduced mod L, or 128-bit
    coefficients), and a NAF is at most one digit longer than the number. */
#define S_NAF_LEN      256
/*  Terms (signatures plus distinct keys) from which Pippenger's method
    replaces Straus's: Straus is faster below ~128 terms, Pippenger above,
    with distinct keys and with few authors alike. docs/performance.md,
    "How the constants were chosen" (bench_ed25519 of builds with
    -DS_PIPPENGER_MIN=1000000 and =2). */
#ifndef S_PIPPENGER_MIN
#define S_PIPPENGER_MIN  128
#endif
/*  Pippenger's window c for m terms: the largest c in 5..S_PIP_MAX_C with
    2^(c + S_PIP_BIAS) <= m, i.e. about log2(m) - 3 bits. Each window costs
    m additions into the buckets plus 2 * 2^(c-1) to sum them. A bias of 3
    was the fastest of 1, 2, 3 at 256 and 1024 signatures, distinct keys
    and few: docs/performance.md, "How the constants were chosen"
    (bench_ed25519 of a -DS_PIP_BIAS build). */
#ifndef S_PIP_BIAS
#define S_PIP_BIAS       3
#endif
#define S_PIP_MAX_C      10
/*  A scalar below 2^255 has at most 256/5 + 1 signed digits of 5 bits. */
#define S_PIP_WINDOWS    52

/* ==== field arithmetic mod p = 2^255 - 19 ================================== */

/*  d = -121665/121666, 2d and sqrt(-1) = 2^((p-1)/4), in limbs. */
static const ed25519_fe_t s_fe_d = { {
    0x34dca135978a3, 0x1a8283b156ebd, 0x5e7a26001c029, 0x739c663a03cbb, 0x52036cee2b6ff } };
static const ed25519_fe_t s_fe_d2 = { {
    0x69b9426b2f159, 0x35050762add7a, 0x3cf44c0038052, 0x6738cc7407977, 0x2406d9dc56dff } };
static const ed25519_fe_t s_fe_sqrtm1 = { {
    0x61b274a0ea0b0, 0x0d5a5fc8f189d, 0x7ef5e9cbd0c60, 0x78595a6804c9e, 0x2b8324804fc1d } };


static inline void
s_fe_0 (ed25519_fe_t *h)
{
    memset (h, 0, sizeof *h);
}

static inline void
s_fe_1 (ed25519_fe_t *h)
{
    memset (h, 0, sizeof *h);
    h->v [0] = 1;
}

/*  The low 255 bits of s, little-endian (bit 255 ignored; the value may
    be >= p, which the callers check on the bytes where it matters). */
static void
s_fe_frombytes (ed25519_fe_t *h, const uint8_t s [32])
{
    h->v [0] =  ed25519_load64 (s)            & S_MASK51;     /* bits   0..50  */
    h->v [1] = (ed25519_load64 (s +  6) >>  3) & S_MASK51;    /* bits  51..101 */
    h->v [2] = (ed25519_load64 (s + 12) >>  6) & S_MASK51;    /* bits 102..152 */
    h->v [3] = (ed25519_load64 (s + 19) >>  1) & S_MASK51;    /* bits 153..203 */
    h->v [4] = (ed25519_load64 (s + 24) >> 12) & S_MASK51;    /* bits 204..254 */
}

/*  Propagate carries once: limbs < 2^63 in, tight out. */
static inline void
s_fe_carry (ed25519_fe_t *h)
{
    uint64_t c;
    c = h->v [0] >> 51; h->v [0] &= S_MASK51; h->v [1] += c;
    c = h->v [1] >> 51; h->v [1] &= S_MASK51; h->v [2] += c;
    c = h->v [2] >> 51; h->v [2] &= S_MASK51; h->v [3] += c;
    c = h->v [3] >> 51; h->v [3] &= S_MASK51; h->v [4] += c;
    c = h->v [4] >> 51; h->v [4] &= S_MASK51; h->v [0] += 19 * c;
}

/*  The canonical encoding (value mod p, in [0, p)). */
static void
s_fe_tobytes (uint8_t s [32], const ed25519_fe_t *f)
{
    ed25519_fe_t h = *f;
    s_fe_carry (&h);
    s_fe_carry (&h);
    /*  Now every limb < 2^51 but v0 (< 2^51 + 19), so h < 2^255 + 19 < 2p
        and q = floor((h + 19) / 2^255) is 1 exactly when h >= p. */
    uint64_t q = (h.v [0] + 19) >> 51;
    q = (h.v [1] + q) >> 51;
    q = (h.v [2] + q) >> 51;
    q = (h.v [3] + q) >> 51;
    q = (h.v [4] + q) >> 51;
    /*  h - q p = h + 19 q - q 2^255: add 19q, carry, drop bit 255. */
    h.v [0] += 19 * q;
    uint64_t c;
    c = h.v [0] >> 51; h.v [0] &= S_MASK51; h.v [1] += c;
    c = h.v [1] >> 51; h.v [1] &= S_MASK51; h.v [2] += c;
    c = h.v [2] >> 51; h.v [2] &= S_MASK51; h.v [3] += c;
    c = h.v [3] >> 51; h.v [3] &= S_MASK51; h.v [4] += c;
    h.v [4] &= S_MASK51;
    ed25519_store64 (s,      h.v [0]        | (h.v [1] << 51));
    ed25519_store64 (s +  8, (h.v [1] >> 13) | (h.v [2] << 38));
    ed25519_store64 (s + 16, (h.v [2] >> 26) | (h.v [3] << 25));
    ed25519_store64 (s + 24, (h.v [3] >> 39) | (h.v [4] << 12));
}

/*  h = f + g, no carry (tight + tight = loose). */
static inline void
s_fe_add (ed25519_fe_t *h, const ed25519_fe_t *f, const ed25519_fe_t *g)
{
    for (int i = 0; i < 5; i++)
        h->v [i] = f->v [i] + g->v [i];
}

/*  h = f - g: f + 16p - g (no limb goes negative while g's limbs are
    below 2^55 - 304), then carried to tight. */
static inline void
s_fe_sub (ed25519_fe_t *h, const ed25519_fe_t *f, const ed25519_fe_t *g)
{
    h->v [0] = f->v [0] + ((UINT64_C(1) << 55) - 304) - g->v [0];
    h->v [1] = f->v [1] + ((UINT64_C(1) << 55) - 16) - g->v [1];
    h->v [2] = f->v [2] + ((UINT64_C(1) << 55) - 16) - g->v [2];
    h->v [3] = f->v [3] + ((UINT64_C(1) << 55) - 16) - g->v [3];
    h->v [4] = f->v [4] + ((UINT64_C(1) << 55) - 16) - g->v [4];
    s_fe_carry (h);
}

static inline void
s_fe_neg (ed25519_fe_t *h, const ed25519_fe_t *f)
{
    ed25519_fe_t zero;
    s_fe_0 (&zero);
    s_fe_sub (h, &zero, f);
}

/*  Fold five 128-bit columns (each < 2^115) into a tight element. */
static inline void
s_fe_reduce (ed25519_fe_t *h, ed25519_u128_t r0, ed25519_u128_t r1, ed25519_u128_t r2, ed25519_u128_t r3, ed25519_u128_t r4)
{
    r1 += (uint64_t) (r0 >> 51);
    r2 += (uint64_t) (r1 >> 51);
    r3 += (uint64_t) (r2 >> 51);
    r4 += (uint64_t) (r3 >> 51);
    uint64_t c = (uint64_t) (r4 >> 51);                 /* < 2^64 as r4 < 2^115 */
    ed25519_u128_t t = (ed25519_u128_t) c * 19 + ((uint64_t) r0 & S_MASK51);
    h->v [0] = (uint64_t) t & S_MASK51;
    h->v [1] = ((uint64_t) r1 & S_MASK51) + (uint64_t) (t >> 51);   /* < 2^51 + 2^19 */
    h->v [2] = (uint64_t) r2 & S_MASK51;
    h->v [3] = (uint64_t) r3 & S_MASK51;
    h->v [4] = (uint64_t) r4 & S_MASK51;
}

/*  h = f g. Column i+j of limb products, with i+j >= 5 wrapped to
    i+j-5 times 19. Inlined everywhere: the call overhead is a visible share
    of a batch (scripts/bench.sh ed25519). */
static inline __attribute__ ((always_inline)) void
s_fe_mul (ed25519_fe_t *h, const ed25519_fe_t *f, const ed25519_fe_t *g)
{
    uint64_t a0 = f->v [0], a1 = f->v [1], a2 = f->v [2], a3 = f->v [3], a4 = f->v [4];
    uint64_t b0 = g->v [0], b1 = g->v [1], b2 = g->v [2], b3 = g->v [3], b4 = g->v [4];
    uint64_t b1_19 = 19 * b1, b2_19 = 19 * b2, b3_19 = 19 * b3, b4_19 = 19 * b4;
    ed25519_u128_t r0 = (ed25519_u128_t) a0 * b0 + (ed25519_u128_t) a1 * b4_19 + (ed25519_u128_t) a2 * b3_19
                + (ed25519_u128_t) a3 * b2_19 + (ed25519_u128_t) a4 * b1_19;
    ed25519_u128_t r1 = (ed25519_u128_t) a0 * b1 + (ed25519_u128_t) a1 * b0 + (ed25519_u128_t) a2 * b4_19
                + (ed25519_u128_t) a3 * b3_19 + (ed25519_u128_t) a4 * b2_19;
    ed25519_u128_t r2 = (ed25519_u128_t) a0 * b2 + (ed25519_u128_t) a1 * b1 + (ed25519_u128_t) a2 * b0
                + (ed25519_u128_t) a3 * b4_19 + (ed25519_u128_t) a4 * b3_19;
    ed25519_u128_t r3 = (ed25519_u128_t) a0 * b3 + (ed25519_u128_t) a1 * b2 + (ed25519_u128_t) a2 * b1
                + (ed25519_u128_t) a3 * b0 + (ed25519_u128_t) a4 * b4_19;
    ed25519_u128_t r4 = (ed25519_u128_t) a0 * b4 + (ed25519_u128_t) a1 * b3 + (ed25519_u128_t) a2 * b2
                + (ed25519_u128_t) a3 * b1 + (ed25519_u128_t) a4 * b0;
    s_fe_reduce (h, r0, r1, r2, r3, r4);
}

/*  h = f^2: the products a_i a_j (i != j) appear twice. */
static inline __attribute__ ((always_inline)) void
s_fe_sq (ed25519_fe_t *h, const ed25519_fe_t *f)
{
    uint64_t a0 = f->v [0], a1 = f->v [1], a2 = f->v [2], a3 = f->v [3], a4 = f->v [4];
    uint64_t d0 = 2 * a0, d1 = 2 * a1, d2 = 2 * a2, d3 = 2 * a3;
    uint64_t a3_19 = 19 * a3, a4_19 = 19 * a4;
    ed25519_u128_t r0 = (ed25519_u128_t) a0 * a0 + (ed25519_u128_t) d1 * a4_19 + (ed25519_u128_t) d2 * a3_19;
    ed25519_u128_t r1 = (ed25519_u128_t) d0 * a1 + (ed25519_u128_t) d2 * a4_19 + (ed25519_u128_t) a3 * a3_19;
    ed25519_u128_t r2 = (ed25519_u128_t) d0 * a2 + (ed25519_u128_t) a1 * a1 + (ed25519_u128_t) d3 * a4_19;
    ed25519_u128_t r3 = (ed25519_u128_t) d0 * a3 + (ed25519_u128_t) d1 * a2 + (ed25519_u128_t) a4 * a4_19;
    ed25519_u128_t r4 = (ed25519_u128_t) d0 * a4 + (ed25519_u128_t) d1 * a3 + (ed25519_u128_t) a2 * a2;
    s_fe_reduce (h, r0, r1, r2, r3, r4);
}

/*  h = f^(2^n), n >= 1. */
static void
s_fe_sqn (ed25519_fe_t *h, const ed25519_fe_t *f, int n)
{
    s_fe_sq (h, f);
    while (--n > 0)
        s_fe_sq (h, h);
}

/*  h = z^((p-5)/8) = z^(2^252 - 3), by the addition chain
    z^(2^5-1), z^(2^10-1), ..., z^(2^250-1), then two squarings and one
    multiplication: (2^250 - 1) * 4 + 1 = 2^252 - 3. */
static void
s_fe_pow22523 (ed25519_fe_t *h, const ed25519_fe_t *z)
{
    ed25519_fe_t z2, z9, z11, t, z5_0, z10_0, z20_0, z50_0, z100_0;
    s_fe_sq (&z2, z);                       /* z^2 */
    s_fe_sqn (&t, &z2, 2);                  /* z^8 */
    s_fe_mul (&z9, &t, z);                  /* z^9 */
    s_fe_mul (&z11, &z9, &z2);              /* z^11 */
    s_fe_sq (&t, &z11);                     /* z^22 */
    s_fe_mul (&z5_0, &t, &z9);              /* z^(2^5 - 1) = z^31 */
    s_fe_sqn (&t, &z5_0, 5);
    s_fe_mul (&z10_0, &t, &z5_0);           /* z^(2^10 - 1) */
    s_fe_sqn (&t, &z10_0, 10);
    s_fe_mul (&z20_0, &t, &z10_0);          /* z^(2^20 - 1) */
    s_fe_sqn (&t, &z20_0, 20);
    s_fe_mul (&t, &t, &z20_0);              /* z^(2^40 - 1) */
    s_fe_sqn (&t, &t, 10);
    s_fe_mul (&z50_0, &t, &z10_0);          /* z^(2^50 - 1) */
    s_fe_sqn (&t, &z50_0, 50);
    s_fe_mul (&z100_0, &t, &z50_0);         /* z^(2^100 - 1) */
    s_fe_sqn (&t, &z100_0, 100);
    s_fe_mul (&t, &t, &z100_0);             /* z^(2^200 - 1) */
    s_fe_sqn (&t, &t, 50);
    s_fe_mul (&t, &t, &z50_0);              /* z^(2^250 - 1) */
    s_fe_sqn (&t, &t, 2);                   /* z^(2^252 - 4) */
    s_fe_mul (h, &t, z);                    /* z^(2^252 - 3) */
}

static int
s_fe_iszero (const ed25519_fe_t *f)
{
    uint8_t s [32];
    s_fe_tobytes (s, f);
    uint8_t acc = 0;
    for (int i = 0; i < 32; i++)
        acc |= s [i];
    return acc == 0;
}

/*  "Negative" in RFC 8032's sense: the canonical value is odd. */
static int
s_fe_isodd (const ed25519_fe_t *f)
{
    uint8_t s [32];
    s_fe_tobytes (s, f);
    return s [0] & 1;
}

static int
s_fe_eq (const ed25519_fe_t *f, const ed25519_fe_t *g)
{
    ed25519_fe_t t;
    s_fe_sub (&t, f, g);
    return s_fe_iszero (&t);
}

/* ==== points ================================================================= */

typedef struct {
    ed25519_fe_t X, Y, Z;
} s_p2_t;

typedef struct {
    ed25519_fe_t X, Y, Z, T;
} s_p1p1_t;

typedef struct {
    ed25519_fe_t YplusX, YminusX, Z, T2d;
} s_cached_t;

static void
s_p1p1_to_p3 (ed25519_p3_t *r, const s_p1p1_t *p)
{
    s_fe_mul (&r->X, &p->X, &p->T);
    s_fe_mul (&r->Y, &p->Y, &p->Z);
    s_fe_mul (&r->Z, &p->Z, &p->T);
    s_fe_mul (&r->T, &p->X, &p->Y);
}

static void
s_p1p1_to_p2 (s_p2_t *r, const s_p1p1_t *p)
{
    s_fe_mul (&r->X, &p->X, &p->T);
    s_fe_mul (&r->Y, &p->Y, &p->Z);
    s_fe_mul (&r->Z, &p->Z, &p->T);
}

static void
s_p3_to_cached (s_cached_t *r, const ed25519_p3_t *p)
{
    s_fe_add (&r->YplusX, &p->Y, &p->X);
    s_fe_sub (&r->YminusX, &p->Y, &p->X);
    r->Z = p->Z;
    s_fe_mul (&r->T2d, &p->T, &s_fe_d2);
}

/*  r = 2 (X:Y:Z), the doubling formula of the banner. Stored as
    (E : -H : G : -F) = (2XY : Y^2+X^2 : Y^2-X^2 : 2Z^2-(Y^2-X^2)),
    i.e. x = 2XY / (Y^2-X^2), y = (Y^2+X^2) / (2Z^2-Y^2+X^2). */
static void
s_dbl (s_p1p1_t *r, const ed25519_fe_t *X, const ed25519_fe_t *Y, const ed25519_fe_t *Z)
{
    ed25519_fe_t xx, yy, b, a, aa;
    s_fe_sq (&xx, X);
    s_fe_sq (&yy, Y);
    s_fe_sq (&b, Z);
    s_fe_add (&b, &b, &b);                  /* 2 Z^2, loose */
    s_fe_add (&a, X, Y);
    s_fe_sq (&aa, &a);                      /* (X+Y)^2 */
    s_fe_add (&r->Y, &yy, &xx);             /* Y^2 + X^2, loose */
    s_fe_sub (&r->Z, &yy, &xx);             /* Y^2 - X^2 */
    s_fe_sub (&r->X, &aa, &r->Y);           /* (X+Y)^2 - X^2 - Y^2 = 2XY */
    s_fe_sub (&r->T, &b, &r->Z);            /* 2Z^2 - (Y^2 - X^2) */
}

static void
s_p2_dbl (s_p1p1_t *r, const s_p2_t *p)
{
    s_dbl (r, &p->X, &p->Y, &p->Z);
}

static void
s_p3_dbl (s_p1p1_t *r, const ed25519_p3_t *p)
{
    s_dbl (r, &p->X, &p->Y, &p->Z);
}

/*  r = p + q, the addition formula of the banner. */
static void
s_add (s_p1p1_t *r, const ed25519_p3_t *p, const s_cached_t *q)
{
    ed25519_fe_t a, b, c, d, t;
    s_fe_sub (&t, &p->Y, &p->X);
    s_fe_mul (&a, &t, &q->YminusX);         /* (Y1-X1)(Y2-X2) */
    s_fe_add (&t, &p->Y, &p->X);
    s_fe_mul (&b, &t, &q->YplusX);          /* (Y1+X1)(Y2+X2) */
    s_fe_mul (&c, &p->T, &q->T2d);          /* 2d T1 T2 */
    s_fe_mul (&d, &p->Z, &q->Z);
    s_fe_add (&d, &d, &d);                  /* 2 Z1 Z2, loose */
    s_fe_sub (&r->X, &b, &a);               /* E */
    s_fe_add (&r->Y, &b, &a);               /* H, loose */
    s_fe_add (&r->Z, &d, &c);               /* G = D + C, < 2^53 + 2^52 */
    s_fe_sub (&r->T, &d, &c);               /* F */
}

/*  r = p - q: -q has Y-X and Y+X swapped and T negated. */
static void
s_sub (s_p1p1_t *r, const ed25519_p3_t *p, const s_cached_t *q)
{
    ed25519_fe_t a, b, c, d, t;
    s_fe_sub (&t, &p->Y, &p->X);
    s_fe_mul (&a, &t, &q->YplusX);
    s_fe_add (&t, &p->Y, &p->X);
    s_fe_mul (&b, &t, &q->YminusX);
    s_fe_mul (&c, &p->T, &q->T2d);
    s_fe_mul (&d, &p->Z, &q->Z);
    s_fe_add (&d, &d, &d);
    s_fe_sub (&r->X, &b, &a);
    s_fe_add (&r->Y, &b, &a);
    s_fe_sub (&r->Z, &d, &c);
    s_fe_add (&r->T, &d, &c);
}

void
ed25519_p3_neg (ed25519_p3_t *p)
{
    s_fe_neg (&p->X, &p->X);
    s_fe_neg (&p->T, &p->T);
}

/*  Decode a 32-byte encoding (RFC 8032 §5.1.3): y from bits 0..254, x
    recovered from x^2 = u/v with u = y^2 - 1, v = d y^2 + 1 as
    x = u v^3 (u v^7)^((p-5)/8), times sqrt(-1) when v x^2 = -u; its parity
    set from bit 255. -1 if no x exists, or x = 0 with bit 255 set. Does
    NOT check y < p nor the order: see ed25519_point_check. */
static int
s_point_decode (ed25519_p3_t *r, const uint8_t s [32])
{
    ed25519_fe_t u, v, v3, x, vxx, check;
    s_fe_frombytes (&r->Y, s);
    s_fe_1 (&r->Z);
    s_fe_sq (&u, &r->Y);
    s_fe_mul (&v, &u, &s_fe_d);
    s_fe_sub (&u, &u, &r->Z);               /* u = y^2 - 1 */
    s_fe_add (&v, &v, &r->Z);               /* v = d y^2 + 1, loose */
    s_fe_sq (&v3, &v);
    s_fe_mul (&v3, &v3, &v);                /* v^3 */
    s_fe_sq (&x, &v3);
    s_fe_mul (&x, &x, &v);
    s_fe_mul (&x, &x, &u);                  /* u v^7 */
    s_fe_pow22523 (&x, &x);
    s_fe_mul (&x, &x, &v3);
    s_fe_mul (&x, &x, &u);                  /* u v^3 (u v^7)^((p-5)/8) */
    s_fe_sq (&vxx, &x);
    s_fe_mul (&vxx, &vxx, &v);              /* v x^2 */
    s_fe_sub (&check, &vxx, &u);
    if (!s_fe_iszero (&check)) {
        s_fe_add (&check, &vxx, &u);
        s_fe_carry (&check);
        if (!s_fe_iszero (&check))
            return -1;                      /* u/v is not a square */
        s_fe_mul (&x, &x, &s_fe_sqrtm1);
    }
    int sign = s [31] >> 7;
    if (sign && s_fe_iszero (&x))
        return -1;
    if (s_fe_isodd (&x) != sign)
        s_fe_neg (&x, &x);
    r->X = x;
    s_fe_mul (&r->T, &r->X, &r->Y);
    return 0;
}

/*  The y values (bit 255 cleared) of libsodium 1.0.18's small-order
    blacklist: 0 (order 4), 1 (order 1), the two y of the order-8 points,
    p - 1 (order 2), and the non-canonical p and p + 1 (= 0 and 1). With
    y < p also required, these are exactly the encodings of the 8 points of
    small order (any x sign). */
static const uint8_t s_small_order_y [7][32] = {
    { 0 },
    { 1 },
    { 0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0,
      0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05 },
    { 0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f,
      0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a },
    { 0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },
    { 0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },
    { 0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },
};

/*  y (bit 255 cleared) < p = 2^255 - 19. */
static int
s_y_is_canonical (const uint8_t s [32])
{
    if ((s [31] & 0x7f) != 0x7f)
        return 1;
    for (int i = 30; i > 0; i--)
        if (s [i] != 0xff)
            return 1;
    return s [0] < 0xed;
}

static int
s_is_small_order (const uint8_t s [32])
{
    for (size_t k = 0; k < sizeof s_small_order_y / sizeof s_small_order_y [0]; k++)
        if (memcmp (s, s_small_order_y [k], 31) == 0 && (s [31] & 0x7f) == s_small_order_y [k][31])
            return 1;
    return 0;
}

/*  Rule 2 of the header for A or R: canonical, not of small order, on the
    curve. 0 and the decoded point, or -1. */
int
ed25519_point_check (ed25519_p3_t *r, const uint8_t s [32])
{
    if (!s_y_is_canonical (s) || s_is_small_order (s))
        return -1;
    return s_point_decode (r, s);
}

/* ==== multi-scalar multiplication ============================================ */

/*  Width-w NAF of s < 2^255 (little-endian): digits naf[i] in {0, ±1, ±3,
    ..., ±(2^(w-1) - 1)}, s = sum naf[i] 2^i, each nonzero digit followed by
    at least w - 1 zeros. Scans s from the bottom: at an odd window
    (carry + next w bits) it emits the window's signed residue mod 2^w and
    carries 1 upward when that residue is negative. Returns the largest
    |digit| (0 for s = 0); *top = the highest nonzero position, or -1. */
static int
s_naf (int8_t naf [S_NAF_LEN], const uint8_t s [32], int w, int *top)
{
    uint64_t x [5] = { ed25519_load64 (s), ed25519_load64 (s + 8), ed25519_load64 (s + 16), ed25519_load64 (s + 24), 0 };
    const uint64_t width = UINT64_C(1) << w, mask = width - 1;
    uint64_t carry = 0;
    int largest = 0;
    memset (naf, 0, S_NAF_LEN);
    *top = -1;
    int pos = 0;
    while (pos < S_NAF_LEN) {
        int idx = pos / 64, off = pos % 64;
        uint64_t bits = x [idx] >> off;
        if (off + w > 64)
            bits |= x [idx + 1] << (64 - off);
        uint64_t window = carry + (bits & mask);
        if ((window & 1) == 0) {
            pos++;
            continue;
        }
        int digit;
        if (window < width / 2) {
            carry = 0;
            digit = (int) window;
        }
        else {
            carry = 1;
            digit = (int) window - (int) width;
        }
        naf [pos] = (int8_t) digit;
        *top = pos;
        if (abs (digit) > largest)
            largest = abs (digit);
        pos += w;
    }
    assert (carry == 0);                    /* s < 2^255 */
    return largest;
}

/*  Odd multiples P, 3P, ..., (2 count - 1) P in cached form (count >= 1). */
static void
s_table_build (s_cached_t *table, const ed25519_p3_t *p, int count)
{
    s_cached_t two;
    s_p1p1_t t;
    ed25519_p3_t cur, p2;
    s_p3_to_cached (&table [0], p);
    if (count < 2)
        return;
    s_p3_dbl (&t, p);
    s_p1p1_to_p3 (&p2, &t);
    s_p3_to_cached (&two, &p2);
    cur = *p;
    for (int e = 1; e < count; e++) {
        s_add (&t, &cur, &two);
        s_p1p1_to_p3 (&cur, &t);
        s_p3_to_cached (&table [e], &cur);
    }
}

/*  B (y = 4/5, x even), and its odd multiples B, 3B, ..., 127B. */
static const uint8_t s_base_bytes [32] = {
    0x58, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
    0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66 };
static ed25519_p3_t s_base;
static s_cached_t s_base_table [S_BASE_TABLE];
static pthread_once_t s_base_once = PTHREAD_ONCE_INIT;

static void
s_base_init (void)
{
    int rc = s_point_decode (&s_base, s_base_bytes);
    assert (rc == 0);
    (void) rc;
    s_table_build (s_base_table, &s_base, S_BASE_TABLE);
}

/*  Straus scratch of one term: its NAF and its table of odd multiples. */
typedef struct {
    int8_t     naf [S_NAF_LEN];
    s_cached_t table [S_TERM_TABLE];
} s_straus_t;

/*  q = [b]B + sum [k_j] P_j by Straus: one doubling per bit from the
    highest NAF digit down, and at each bit one addition per term whose
    digit is nonzero there. scratch holds m entries. */
static void
s_straus (s_p2_t *q, const ed25519_term_t *terms, size_t m, const uint8_t b [32], s_straus_t *scratch)
{
    int top = -1, t;
    int8_t bnaf [S_NAF_LEN];
    s_naf (bnaf, b, S_BASE_WINDOW, &t);
    if (t > top)
        top = t;
    for (size_t j = 0; j < m; j++) {
        int largest = s_naf (scratch [j].naf, terms [j].k, S_TERM_WINDOW, &t);
        if (t > top)
            top = t;
        if (largest > 0)                    /* only the multiples the NAF uses */
            s_table_build (scratch [j].table, &terms [j].P, (largest + 1) / 2);
    }
    s_fe_0 (&q->X);
    s_fe_1 (&q->Y);
    s_fe_1 (&q->Z);
    s_p1p1_t r;
    ed25519_p3_t u;
    for (int i = top; i >= 0; i--) {
        s_p2_dbl (&r, q);
        for (size_t j = 0; j < m; j++) {
            int digit = scratch [j].naf [i];
            if (digit > 0) {
                s_p1p1_to_p3 (&u, &r);
                s_add (&r, &u, &scratch [j].table [digit / 2]);
            }
            else if (digit < 0) {
                s_p1p1_to_p3 (&u, &r);
                s_sub (&r, &u, &scratch [j].table [-digit / 2]);
            }
        }
        int digit = bnaf [i];
        if (digit > 0) {
            s_p1p1_to_p3 (&u, &r);
            s_add (&r, &u, &s_base_table [digit / 2]);
        }
        else if (digit < 0) {
            s_p1p1_to_p3 (&u, &r);
            s_sub (&r, &u, &s_base_table [-digit / 2]);
        }
        s_p1p1_to_p2 (q, &r);
    }
}

/*  Pippenger scratch of one term: its cached form and signed digits. */
typedef struct {
    s_cached_t cached;
    int16_t    digit [S_PIP_WINDOWS];
} s_pip_t;

/*  Signed radix-2^c digits of s < 2^255 (5 <= c <= S_PIP_MAX_C):
    s = sum d_w 2^(c w), d_w in [-2^(c-1), 2^(c-1)]; a window above
    2^(c-1) becomes negative and carries 1 into the next. Returns the
    number of windows up to the highest nonzero digit. */
static int
s_pip_digits (int16_t digit [S_PIP_WINDOWS], const uint8_t s [32], int c)
{
    uint64_t x [5] = { ed25519_load64 (s), ed25519_load64 (s + 8), ed25519_load64 (s + 16), ed25519_load64 (s + 24), 0 };
    const uint64_t mask = (UINT64_C(1) << c) - 1, half = UINT64_C(1) << (c - 1);
    const int windows = 256 / c + 1;
    uint64_t carry = 0;
    int used = 0;
    assert (windows <= S_PIP_WINDOWS);
    for (int w = 0; w < windows; w++) {
        int pos = w * c, idx = pos / 64, off = pos % 64;
        uint64_t bits = x [idx] >> off;
        if (off + c > 64)
            bits |= x [idx + 1] << (64 - off);
        uint64_t v = (bits & mask) + carry;
        if (v > half) {
            digit [w] = (int16_t) ((int64_t) v - (int64_t) (mask + 1));
            carry = 1;
        }
        else {
            digit [w] = (int16_t) v;
            carry = 0;
        }
        if (digit [w])
            used = w + 1;
    }
    assert (carry == 0);                    /* s < 2^255 */
    return used;
}

/*  q = [b]B + sum [k_j] P_j by Pippenger's bucket method with windows of c
    bits. Per window, from the top: q = 2^c q; each term with digit d != 0
    goes into bucket |d| (negated if d < 0); then sum_d d * bucket_d is
    formed by running sums from the highest bucket down (2 additions per
    bucket) and added to q. scratch holds m + 1 entries (the last for B),
    buckets 2^(c-1) points, used 2^(c-1) flags. */
static void
s_pippenger (s_p2_t *q, const ed25519_term_t *terms, size_t m, const uint8_t b [32], int c,
             s_pip_t *scratch, ed25519_p3_t *buckets, uint8_t *used)
{
    int top = 0, t;
    for (size_t j = 0; j <= m; j++) {
        const ed25519_p3_t *P = j < m? &terms [j].P: &s_base;
        s_p3_to_cached (&scratch [j].cached, P);
        t = s_pip_digits (scratch [j].digit, j < m? terms [j].k: b, c);
        if (t > top)
            top = t;
    }
    const int n_buckets = 1 << (c - 1);
    ed25519_p3_t acc, running, total;
    s_cached_t cached;
    s_p1p1_t r;
    int acc_set = 0;
    for (int w = top - 1; w >= 0; w--) {
        if (acc_set) {
            s_p2_t p2;
            for (int i = 0; i < c; i++) {
                if (i == 0)
                    s_p3_dbl (&r, &acc);
                else
                    s_p2_dbl (&r, &p2);
                if (i < c - 1)
                    s_p1p1_to_p2 (&p2, &r);
            }
            s_p1p1_to_p3 (&acc, &r);
        }
        memset (used, 0, (size_t) n_buckets);
        for (size_t j = 0; j <= m; j++) {
            int d = scratch [j].digit [w];
            if (d == 0)
                continue;
            int i = (d > 0? d: -d) - 1;
            if (!used [i]) {
                buckets [i] = j < m? terms [j].P: s_base;
                if (d < 0)
                    ed25519_p3_neg (&buckets [i]);
                used [i] = 1;
            }
            else {
                if (d > 0)
                    s_add (&r, &buckets [i], &scratch [j].cached);
                else
                    s_sub (&r, &buckets [i], &scratch [j].cached);
                s_p1p1_to_p3 (&buckets [i], &r);
            }
        }
        /*  running = sum of buckets i..top; total = sum over i of running. */
        int running_set = 0, total_set = 0;
        for (int i = n_buckets - 1; i >= 0; i--) {
            if (used [i]) {
                if (!running_set)
                    running = buckets [i];
                else {
                    s_p3_to_cached (&cached, &buckets [i]);
                    s_add (&r, &running, &cached);
                    s_p1p1_to_p3 (&running, &r);
                }
                running_set = 1;
            }
            if (!running_set)
                continue;
            if (!total_set)
                total = running;
            else {
                s_p3_to_cached (&cached, &running);
                s_add (&r, &total, &cached);
                s_p1p1_to_p3 (&total, &r);
            }
            total_set = 1;
        }
        if (!total_set)
            continue;
        if (!acc_set)
            acc = total;
        else {
            s_p3_to_cached (&cached, &total);
            s_add (&r, &acc, &cached);
            s_p1p1_to_p3 (&acc, &r);
        }
        acc_set = 1;
    }
    if (acc_set) {
        q->X = acc.X;
        q->Y = acc.Y;
        q->Z = acc.Z;
    }
    else {
        s_fe_0 (&q->X);
        s_fe_1 (&q->Y);
        s_fe_1 (&q->Z);
    }
}

/*  Pippenger's window for m terms (see S_PIP_BIAS). */
static int
s_pip_window (size_t m)
{
    int c = 5;
    while (c < S_PIP_MAX_C && ((size_t) 1 << (c + S_PIP_BIAS)) <= m)
        c++;
    return c;
}

/*  Bytes of scratch ed25519_msm_is_torsion needs for m terms. */
size_t
ed25519_msm_scratch_size (size_t m)
{
    if (m < S_PIPPENGER_MIN)
        return m * sizeof (s_straus_t);
    size_t n_buckets = (size_t) 1 << (s_pip_window (m) - 1);
    return (m + 1) * sizeof (s_pip_t) + n_buckets * (sizeof (ed25519_p3_t) + 1);
}

/*  Whether [8]q is the identity (0 : Z : Z). */
static int
s_is_torsion (s_p2_t q)
{
    s_p1p1_t r;
    for (int i = 0; i < 3; i++) {
        s_p2_dbl (&r, &q);
        s_p1p1_to_p2 (&q, &r);
    }
    return s_fe_iszero (&q.X) && s_fe_eq (&q.Y, &q.Z);
}

/*  Whether [8]([b]B + sum [k_j] P_j) is the identity; scratch has
    ed25519_msm_scratch_size (m) bytes, aligned as malloc aligns. Straus below
    S_PIPPENGER_MIN terms, Pippenger from there. */
int
ed25519_msm_is_torsion (const ed25519_term_t *terms, size_t m, const uint8_t b [32], void *scratch)
{
    pthread_once (&s_base_once, s_base_init);
    s_p2_t q;
    if (m < S_PIPPENGER_MIN)
        s_straus (&q, terms, m, b, (s_straus_t *) scratch);
    else {
        int c = s_pip_window (m);
        s_pip_t *pip = (s_pip_t *) scratch;
        ed25519_p3_t *buckets = (ed25519_p3_t *) (pip + m + 1);
        uint8_t *used = (uint8_t *) (buckets + ((size_t) 1 << (c - 1)));
        s_pippenger (&q, terms, m, b, c, pip, buckets, used);
    }
    return s_is_torsion (q);
}
/*  The cofactored equation for one signature whose points are decoded
    already: [8]([S]B + [1](-R) + [k](-A)) = O. */
/*  The cofactored equation for one signature whose points are decoded
    already: [8]([S]B + [1](-R) + [k](-A)) = O. */
int
ed25519_check_one (const ed25519_p3_t *neg_r, const ed25519_p3_t *neg_a, const uint8_t S [32], const uint8_t k [32])
{
    ed25519_term_t terms [2];
    s_straus_t scratch [2];
    terms [0].P = *neg_r;
    memset (terms [0].k, 0, 32);
    terms [0].k [0] = 1;
    terms [1].P = *neg_a;
    memcpy (terms [1].k, k, 32);
    pthread_once (&s_base_once, s_base_init);
    s_p2_t q;
    s_straus (&q, terms, 2, S, scratch);
    return s_is_torsion (q)? 0: HEARTH_ESIGNATURE;
}
