/*  test_ed25519_batch.c — the batch verifier (ed25519_batch.h) against
    libsodium 1.0.18: honest signatures in batches of many sizes, with
    distinct and with repeated keys; single-byte corruptions of message, R,
    S and A; the edges of the acceptance rule (S >= L, every small-order
    point as A and as R, non-canonical encodings, torsion components that
    the cofactored equation accepts and libsodium does not); all-zero and
    all-0xFF inputs; random junk. Signatures are forged with libsodium's
    public point and scalar operations (crypto_core_ed25519_*), an
    arithmetic independent of ours. Deterministic: keys, messages,
    corruptions and batch seeds all come from fixed-seed generators. */
#include "test_util.h"
#include "ed25519_batch.h"

/*  Honest signatures with a key each (the brief: >= 10,000). */
#define T_HONEST        10000
/*  Honest signatures whose keys come from a pool of T_POOL_KEYS. */
#define T_REPEATED      2000
#define T_POOL_KEYS     5
/*  Longest message body of the corpus. */
#define T_MSG_MAX       400

/* ---- deterministic randomness (splitmix64) ------------------------------- */

static uint64_t s_rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
s_rng (void)
{
    return ht_splitmix64 (&s_rng_state);
}

static size_t
s_below (size_t n)
{
    return (size_t) (s_rng () % n);
}

static void
s_fill (uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        buf [i] = (uint8_t) s_rng ();
}

/* ---- keys and signed messages ---------------------------------------------- */

typedef struct {
    uint8_t pk [32];
    uint8_t sk [64];
    uint8_t a [32];                         /* secret scalar mod L, for forging */
} t_key_t;

/*  One signed message. The signed bytes are msg[0..len); the batch item
    hands the first prefix_len of them as the prefix, to exercise the
    incremental hash. */
typedef struct {
    uint8_t pk [32];
    uint8_t sig [64];
    uint8_t msg [16 + T_MSG_MAX];
    size_t  len;
    size_t  prefix_len;
} t_case_t;

static void
s_key_make (t_key_t *key)
{
    uint8_t seed [32], h [64], wide [64] = { 0 };
    s_fill (seed, sizeof seed);
    crypto_sign_seed_keypair (key->pk, key->sk, seed);
    /*  RFC 8032 §5.1.5: a = clamp (SHA-512 (seed) [0..32]); kept mod L. */
    crypto_hash_sha512 (h, seed, sizeof seed);
    h [0] &= 248;
    h [31] &= 127;
    h [31] |= 64;
    memcpy (wide, h, 32);
    crypto_core_ed25519_scalar_reduce (key->a, wide);
}

/*  Random message of 0..T_MSG_MAX bytes, half of the time after Hearth's
    domain prefix; a random split point for the batch item. */
static void
s_case_message (t_case_t *c)
{
    size_t body = s_below (T_MSG_MAX + 1);
    size_t pre = 0;
    if (s_below (2)) {
        memcpy (c->msg, IDENTITY_EVENT_DOMAIN, IDENTITY_EVENT_DOMAIN_LEN);
        pre = IDENTITY_EVENT_DOMAIN_LEN;
    }
    s_fill (c->msg + pre, body);
    c->len = pre + body;
    c->prefix_len = s_below (c->len + 1);
}

static void
s_case_sign (t_case_t *c, const t_key_t *key)
{
    memcpy (c->pk, key->pk, 32);
    crypto_sign_detached (c->sig, NULL, c->msg, c->len, key->sk);
}

static ed25519_batch_item_t
s_item (const t_case_t *c)
{
    ed25519_batch_item_t item = {
        .pk = c->pk, .sig = c->sig,
        .prefix = c->prefix_len? c->msg: NULL, .prefix_len = c->prefix_len,
        .msg = c->len > c->prefix_len? c->msg + c->prefix_len: NULL, .msg_len = c->len - c->prefix_len
    };
    return item;
}

static int
s_sodium_ok (const t_case_t *c)
{
    return crypto_sign_verify_detached (c->sig, c->msg, c->len, c->pk) == 0;
}

/*  A signature the cofactored equation accepts, made by hand:
    R = [r]B (+ T if given, a point of small order), k = SHA-512(R || pk ||
    msg), S = r + k a. pk is what the signature claims (it may differ from
    [a]B by a torsion point). */
static void
s_forge (t_case_t *c, const uint8_t a [32], const uint8_t pk [32], const uint8_t *torsion)
{
    uint8_t wide [64], r [32], R [32], h [64], k [32], ka [32];
    s_fill (wide, sizeof wide);
    crypto_core_ed25519_scalar_reduce (r, wide);
    HT_CHECK (crypto_scalarmult_ed25519_base_noclamp (R, r) == 0);
    if (torsion)
        HT_CHECK (crypto_core_ed25519_add (R, R, torsion) == 0);
    memcpy (c->pk, pk, 32);
    memcpy (c->sig, R, 32);
    crypto_hash_sha512_state st;
    crypto_hash_sha512_init (&st);
    crypto_hash_sha512_update (&st, R, 32);
    crypto_hash_sha512_update (&st, pk, 32);
    crypto_hash_sha512_update (&st, c->msg, c->len);
    crypto_hash_sha512_final (&st, h);
    crypto_core_ed25519_scalar_reduce (k, h);
    crypto_core_ed25519_scalar_mul (ka, k, a);
    crypto_core_ed25519_scalar_add (c->sig + 32, r, ka);
}

/*  k = SHA-512(R || A || M) mod L of a case. */
static void
s_challenge (const t_case_t *c, uint8_t k [32])
{
    uint8_t h [64];
    crypto_hash_sha512_state st;
    crypto_hash_sha512_init (&st);
    crypto_hash_sha512_update (&st, c->sig, 32);
    crypto_hash_sha512_update (&st, c->pk, 32);
    crypto_hash_sha512_update (&st, c->msg, c->len);
    crypto_hash_sha512_final (&st, h);
    crypto_core_ed25519_scalar_reduce (k, h);
}

/* ---- checking verdicts ---------------------------------------------------------- */

/*  Run cases in batches of `size` (a fresh deterministic seed each), and
    unless `batch_only`, each alone too; every verdict must equal expect[i]
    (1 = valid). Returns the number of mismatches (each also fails a check). */
static size_t
s_check_with (const t_case_t *cases, size_t n, const int *expect, size_t size, int batch_only,
              const char *what)
{
    ed25519_batch_item_t *items = (ed25519_batch_item_t *) malloc (n * sizeof *items);
    int *rcs = (int *) malloc (n * sizeof *rcs);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        items [i] = s_item (&cases [i]);
    for (size_t base = 0; base < n; base += size) {
        size_t m = n - base < size? n - base: size;
        uint8_t seed [ED25519_BATCH_SEED_BYTES];
        s_fill (seed, sizeof seed);
        int all = 1;
        for (size_t i = base; i < base + m; i++)
            all &= expect [i];
        HT_CHECK_EQ_INT (ed25519_batch_verify (items + base, m, seed, rcs + base), all? 0: HEARTH_ESIGNATURE);
    }
    for (size_t i = 0; i < n; i++) {
        int single = batch_only? rcs [i]: ed25519_batch_verify_one (&items [i]);
        if ((rcs [i] == 0) != expect [i] || (single == 0) != expect [i]) {
            if (bad++ < 5)
                fprintf (stderr, "  %s, batches of %zu: case %zu: batch %d, single %d, expected %s\n",
                         what, size, i, rcs [i], single, expect [i]? "valid": "invalid");
        }
        HT_CHECK (rcs [i] == 0 || rcs [i] == HEARTH_ESIGNATURE);
    }
    HT_CHECK_EQ_INT (bad, 0);
    free (items);
    free (rcs);
    return bad;
}

static size_t
s_check (const t_case_t *cases, size_t n, const int *expect, size_t size, const char *what)
{
    return s_check_with (cases, n, expect, size, 0, what);
}

static const size_t s_sizes [] = { 1, 2, 3, 7, 64, 65, 128, 1000 };
#define T_N_SIZES (sizeof s_sizes / sizeof s_sizes [0])

static t_case_t *s_honest;                  /* T_HONEST, a key each */
static t_case_t *s_repeated;                /* T_REPEATED, T_POOL_KEYS keys */
static t_key_t   s_pool [T_POOL_KEYS];

static void
s_corpus_make (void)
{
    s_honest = (t_case_t *) calloc (T_HONEST, sizeof (t_case_t));
    s_repeated = (t_case_t *) calloc (T_REPEATED, sizeof (t_case_t));
    for (size_t i = 0; i < T_HONEST; i++) {
        t_key_t key;
        s_key_make (&key);
        s_case_message (&s_honest [i]);
        s_case_sign (&s_honest [i], &key);
    }
    for (int j = 0; j < T_POOL_KEYS; j++)
        s_key_make (&s_pool [j]);
    for (size_t i = 0; i < T_REPEATED; i++) {
        s_case_message (&s_repeated [i]);
        s_case_sign (&s_repeated [i], &s_pool [s_below (T_POOL_KEYS)]);
    }
}

/* ---- honest signatures ------------------------------------------------------------ */

HT_TEST (test_honest_accepted_in_every_batch_size)
{
    int *expect = (int *) malloc (T_HONEST * sizeof (int));
    size_t sodium_ok = 0;
    for (size_t i = 0; i < T_HONEST; i++) {
        expect [i] = 1;
        sodium_ok += (size_t) s_sodium_ok (&s_honest [i]);
    }
    HT_CHECK_EQ_INT (sodium_ok, T_HONEST);
    /*  Each alone once, then in batches of every size. */
    for (size_t s = 0; s < T_N_SIZES; s++)
        s_check_with (s_honest, T_HONEST, expect, s_sizes [s], s > 0, "honest, distinct keys");
    for (size_t s = 0; s < T_N_SIZES; s++)
        s_check_with (s_repeated, T_REPEATED, expect, s_sizes [s], s > 0, "honest, 5 keys");
    /*  A batch that is one key throughout. */
    t_case_t *one = (t_case_t *) calloc (300, sizeof (t_case_t));
    for (size_t i = 0; i < 300; i++) {
        s_case_message (&one [i]);
        s_case_sign (&one [i], &s_pool [0]);
    }
    s_check (one, 300, expect, 300, "honest, one key");
    s_check (one, 300, expect, 64, "honest, one key");
    free (one);
    free (expect);
}

HT_TEST (test_empty_batch)
{
    uint8_t seed [ED25519_BATCH_SEED_BYTES] = { 0 };
    HT_CHECK_EQ_INT (ed25519_batch_verify (NULL, 0, seed, NULL), 0);
}

/* ---- corruptions --------------------------------------------------------------------- */

/*  Flip one byte (a nonzero XOR) of the message, R, S or A of about half
    of the cases; the verdicts must equal libsodium's. */
static void
s_corrupt_and_compare (const t_case_t *source, size_t n, size_t size, const char *what)
{
    t_case_t *cases = (t_case_t *) malloc (n * sizeof (t_case_t));
    int *expect = (int *) malloc (n * sizeof (int));
    size_t rejected = 0;
    for (size_t i = 0; i < n; i++) {
        cases [i] = source [i];
        t_case_t *c = &cases [i];
        if (s_below (2)) {
            uint8_t x = (uint8_t) (1 + s_below (255));
            size_t what = s_below (4);
            if (what == 0 && c->len == 0)
                what = 1;                   /* an empty message: corrupt R instead */
            if (what == 0)
                c->msg [s_below (c->len)] ^= x;
            else if (what == 1)
                c->sig [s_below (32)] ^= x;
            else if (what == 2)
                c->sig [32 + s_below (32)] ^= x;
            else
                c->pk [s_below (32)] ^= x;
        }
        expect [i] = s_sodium_ok (c);
        rejected += (size_t) !expect [i];
    }
    HT_CHECK (rejected > n / 3);            /* the corruptions took */
    s_check (cases, n, expect, size, what);
    free (cases);
    free (expect);
}

HT_TEST (test_corruptions_match_libsodium)
{
    s_corrupt_and_compare (s_honest, 3000, 64, "corrupted, distinct keys");
    s_corrupt_and_compare (s_honest + 3000, 2000, 7, "corrupted, distinct keys");
    s_corrupt_and_compare (s_honest + 5000, 2000, 1000, "corrupted, distinct keys");
    s_corrupt_and_compare (s_repeated, 2000, 65, "corrupted, 5 keys");
}

/*  A single bad signature is found wherever it sits in a batch. */
HT_TEST (test_one_bad_is_found)
{
    int *expect = (int *) malloc (1000 * sizeof (int));
    t_case_t *cases = (t_case_t *) malloc (1000 * sizeof (t_case_t));
    memcpy (cases, s_honest, 1000 * sizeof (t_case_t));
    for (size_t i = 0; i < 1000; i++)
        expect [i] = 1;
    size_t spots [] = { 0, 1, 63, 500, 999 };
    for (size_t s = 0; s < sizeof spots / sizeof spots [0]; s++) {
        cases [spots [s]].sig [40] ^= 1;
        expect [spots [s]] = 0;
        s_check (cases, 1000, expect, 1000, "one bad of 1000");
        s_check (cases, 1000, expect, 64, "one bad of 64");
        cases [spots [s]].sig [40] ^= 1;
        expect [spots [s]] = 1;
    }
    free (cases);
    free (expect);
}

/* ---- S >= L ---------------------------------------------------------------------------- */

static const uint8_t s_L [32] = {
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10 };

/*  S + L satisfies the equation exactly as S does ([L]B = O), so only
    rule 1 rejects it; so do S = L and S = 2^256 - 1. */
HT_TEST (test_s_not_canonical)
{
    enum { N = 40 };
    t_case_t cases [3 * N];
    int expect [3 * N];
    for (size_t i = 0; i < N; i++) {
        for (int v = 0; v < 3; v++) {
            t_case_t *c = &cases [3 * i + v];
            *c = s_honest [i];
            if (v == 0) {                   /* S + L */
                unsigned carry = 0;
                for (int b = 0; b < 32; b++) {
                    unsigned t = c->sig [32 + b] + s_L [b] + carry;
                    c->sig [32 + b] = (uint8_t) t;
                    carry = t >> 8;
                }
            }
            else if (v == 1)
                memcpy (c->sig + 32, s_L, 32);
            else
                memset (c->sig + 32, 0xff, 32);
            expect [3 * i + v] = 0;
            HT_CHECK (!s_sodium_ok (c));
        }
    }
    s_check (cases, 3 * N, expect, 3 * N, "S >= L");
    s_check (cases, 3 * N, expect, 7, "S >= L");
    /*  Mixed with honest ones, the honest ones still pass. */
    t_case_t mixed [2 * N];
    int mexpect [2 * N];
    for (size_t i = 0; i < N; i++) {
        mixed [2 * i] = cases [3 * i];
        mexpect [2 * i] = 0;
        mixed [2 * i + 1] = s_honest [N + i];
        mexpect [2 * i + 1] = 1;
    }
    s_check (mixed, 2 * N, mexpect, 2 * N, "S + L among honest");
}

/* ---- small-order and non-canonical points ---------------------------------------------- */

/*  The point (x, y) of order 8 with y = the first entry below, x even. */
static const uint8_t s_t8 [32] = {
    0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0,
    0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05 };

/*  The 8 points of small order, canonically encoded: [i]T8, i = 1..8,
    with libsodium's addition; then 6 non-canonical encodings of them:
    y = p and y = p + 1 (= 0 and 1) with either sign bit, and the
    identity and the order-2 point (both x = 0) with the sign bit set.
    Returns the count (14). */
static size_t
s_small_order_encodings (uint8_t out [14][32])
{
    size_t n = 0;
    memcpy (out [n++], s_t8, 32);
    for (int i = 2; i <= 8; i++) {
        HT_CHECK (crypto_core_ed25519_add (out [n], out [n - 1], s_t8) == 0);
        n++;
    }
    /*  8 T8 is the identity, and the eight are distinct. */
    uint8_t identity [32] = { 1 };
    HT_CHECK (memcmp (out [7], identity, 32) == 0);
    for (size_t i = 0; i < 8; i++)
        for (size_t j = 0; j < i; j++)
            HT_CHECK (memcmp (out [i], out [j], 32) != 0);
    uint8_t p [32];
    memset (p, 0xff, 32);
    p [0] = 0xed;
    p [31] = 0x7f;
    for (int plus = 0; plus < 2; plus++)
        for (int sign = 0; sign < 2; sign++) {
            memcpy (out [n], p, 32);
            out [n][0] = (uint8_t) (0xed + plus);
            out [n][31] = sign? 0xff: 0x7f;
            n++;
        }
    memcpy (out [n], identity, 32);
    out [n++][31] |= 0x80;
    memcpy (out [n], p, 32);                /* p - 1: y = -1, the point of order 2 */
    out [n][0] = 0xec;
    out [n++][31] |= 0x80;
    return n;
}

/*  Each small-order point as A (S = r, R = [r]B: the cofactored equation
    holds since [8]A = O) and as R (S = k a: it holds since [8]R = O):
    rule 2 must reject all, as libsodium does. */
HT_TEST (test_small_order_points_rejected)
{
    uint8_t small [14][32];
    size_t n = s_small_order_encodings (small);
    HT_CHECK_EQ_INT (n, 14);
    t_case_t cases [2 * 14 + 14];
    int expect [2 * 14 + 14];
    size_t m = 0;
    for (size_t e = 0; e < n; e++) {
        /*  as A: a = 0 makes S = r. */
        t_case_t *c = &cases [m];
        s_case_message (c);
        uint8_t zero [32] = { 0 };
        s_forge (c, zero, small [e], NULL);
        expect [m++] = 0;
        HT_CHECK (!s_sodium_ok (c));
        /*  as R, with an honest key. */
        c = &cases [m];
        s_case_message (c);
        memcpy (c->pk, s_pool [1].pk, 32);
        memcpy (c->sig, small [e], 32);
        uint8_t k [32];
        s_challenge (c, k);
        crypto_core_ed25519_scalar_mul (c->sig + 32, k, s_pool [1].a);
        expect [m++] = 0;
        HT_CHECK (!s_sodium_ok (c));
    }
    /*  and a few honest ones among them. */
    for (size_t i = 0; i < n; i++) {
        cases [m] = s_repeated [i];
        expect [m++] = 1;
    }
    s_check (cases, m, expect, m, "small order");
    s_check (cases, m, expect, 3, "small order");
    s_check (cases, m, expect, 1, "small order");
}

/*  Encodings with y >= p that are not of small order (y = p + 2 .. p + 18,
    either sign; y = p + 18 with the sign bit is all 0xFF): rejected as A
    and as R, and never a crash. */
HT_TEST (test_noncanonical_points_rejected)
{
    t_case_t cases [4 * 17];
    int expect [4 * 17];
    size_t m = 0;
    for (int plus = 2; plus <= 18; plus++)
        for (int sign = 0; sign < 2; sign++) {
            uint8_t enc [32];
            memset (enc, 0xff, 32);
            enc [0] = (uint8_t) (0xed + plus);
            enc [31] = sign? 0xff: 0x7f;
            t_case_t *c = &cases [m];
            s_case_message (c);
            s_case_sign (c, &s_pool [2]);
            memcpy (c->pk, enc, 32);        /* as A */
            expect [m++] = 0;
            HT_CHECK (!s_sodium_ok (c));
            c = &cases [m];
            s_case_message (c);
            s_forge (c, s_pool [2].a, s_pool [2].pk, NULL);
            memcpy (c->sig, enc, 32);       /* as R */
            expect [m++] = 0;
            HT_CHECK (!s_sodium_ok (c));
        }
    s_check (cases, m, expect, m, "non-canonical");
    s_check (cases, m, expect, 2, "non-canonical");
}

/* ---- torsion components: where the rule and libsodium differ -------------------------- */

/*  R' = [r]B + T with T of order 8, 4 or 2; S = r + k' a for k' over R'.
    The cofactored equation holds ([8]T = O); libsodium's does not. Batch
    and single accept it, alone and among honest signatures. */
HT_TEST (test_torsion_r_accepted)
{
    uint8_t small [14][32];
    s_small_order_encodings (small);
    /*  small[0] = T8 (order 8), small[1] = 2 T8 (order 4), small[3] =
        4 T8 (order 2). */
    const uint8_t *torsions [3] = { small [0], small [1], small [3] };
    enum { N = 60 };
    t_case_t cases [N];
    int expect [N];
    size_t libsodium_rejects = 0;
    for (size_t i = 0; i < N; i++) {
        t_case_t *c = &cases [i];
        if (i % 3 == 2) {                   /* honest in between */
            *c = s_honest [i];
            expect [i] = 1;
            continue;
        }
        s_case_message (c);
        const t_key_t *key = &s_pool [i % T_POOL_KEYS];
        s_forge (c, key->a, key->pk, torsions [i % 3]);
        expect [i] = 1;
        libsodium_rejects += (size_t) !s_sodium_ok (c);
    }
    HT_CHECK_EQ_INT (libsodium_rejects, 40);
    for (size_t s = 0; s < T_N_SIZES; s++)
        s_check (cases, N, expect, s_sizes [s], "torsion R");
    /*  The same without the torsion point passes libsodium too. */
    t_case_t plain;
    s_case_message (&plain);
    s_forge (&plain, s_pool [0].a, s_pool [0].pk, NULL);
    HT_CHECK (s_sodium_ok (&plain));
}

/*  A' = A + T8 (a key with a torsion component, not of small order):
    S = r + k a with k over A'. The cofactored equation holds; libsodium's
    holds only when [k]T8 = O (k = 0 mod 8), so it rejects most. All are
    accepted, one MSM term for the repeated key. */
HT_TEST (test_torsion_a_accepted)
{
    enum { N = 40 };
    uint8_t mixed [32];
    HT_CHECK (crypto_core_ed25519_add (mixed, s_pool [3].pk, s_t8) == 0);
    t_case_t cases [N];
    int expect [N];
    size_t libsodium_accepts = 0;
    for (size_t i = 0; i < N; i++) {
        s_case_message (&cases [i]);
        s_forge (&cases [i], s_pool [3].a, mixed, NULL);
        expect [i] = 1;
        libsodium_accepts += (size_t) s_sodium_ok (&cases [i]);
    }
    HT_CHECK (libsodium_accepts < N / 2);   /* ~1/8 expected */
    s_check (cases, N, expect, N, "torsion A");
    s_check (cases, N, expect, 7, "torsion A");
    s_check (cases, N, expect, 1, "torsion A");
}

/* ---- the rule through identity.h (what events use) ------------------------------------- */

HT_TEST (test_identity_same_rule)
{
    enum { N = 12 };
    t_case_t cases [N];
    identity_sig_t sigs [N];
    int expect [N], rcs [N];
    /*  Signed over the domain prefix, as events are: honest, torsion R,
        corrupted. */
    for (size_t i = 0; i < N; i++) {
        t_case_t *c = &cases [i];
        memcpy (c->msg, IDENTITY_EVENT_DOMAIN, IDENTITY_EVENT_DOMAIN_LEN);
        size_t body = 1 + s_below (200);
        s_fill (c->msg + IDENTITY_EVENT_DOMAIN_LEN, body);
        c->len = IDENTITY_EVENT_DOMAIN_LEN + body;
        const t_key_t *key = &s_pool [i % T_POOL_KEYS];
        if (i % 3 == 0)
            s_case_sign (c, key);
        else
            s_forge (c, key->a, key->pk, i % 3 == 1? s_t8: NULL);
        expect [i] = 1;
        if (i % 4 == 3) {
            c->sig [50] ^= 0x10;
            expect [i] = 0;
        }
        sigs [i].pub = c->pk;
        sigs [i].msg = c->msg + IDENTITY_EVENT_DOMAIN_LEN;
        sigs [i].len = body;
        sigs [i].sig = c->sig;
        int single = identity_verify_event (c->pk, sigs [i].msg, body, c->sig);
        HT_CHECK_EQ_INT (single, expect [i]? 0: HEARTH_ESIGNATURE);
    }
    HT_CHECK (!s_sodium_ok (&cases [1]));   /* torsion R: libsodium says no */
    uint8_t seed [IDENTITY_SEED_BYTES];
    s_fill (seed, sizeof seed);
    HT_CHECK_EQ_INT (identity_verify_events (sigs, N, seed, rcs), HEARTH_ESIGNATURE);
    for (size_t i = 0; i < N; i++)
        HT_CHECK_EQ_INT (rcs [i], expect [i]? 0: HEARTH_ESIGNATURE);
    /*  n = 1 takes the single path. */
    HT_CHECK_EQ_INT (identity_verify_events (sigs + 1, 1, seed, rcs), 0);
    HT_CHECK_EQ_INT (rcs [0], 0);
    HT_CHECK_EQ_INT (identity_verify_events (sigs + 3, 1, seed, rcs), HEARTH_ESIGNATURE);
}

/* ---- extreme and junk inputs ------------------------------------------------------------- */

HT_TEST (test_zero_and_ff_inputs)
{
    static const uint8_t fills [2] = { 0x00, 0xff };
    t_case_t cases [64];
    int expect [64];
    size_t m = 0;
    for (int pk = 0; pk < 3; pk++)
        for (int sig = 0; sig < 3; sig++)
            for (int msg = 0; msg < 3; msg++) {
                t_case_t *c = &cases [m];
                memset (c, 0, sizeof *c);
                c->len = msg == 0? 0: msg == 1? 64: 1;
                memset (c->msg, msg == 1? 0xff: 0, c->len);
                c->prefix_len = c->len / 2;
                if (pk < 2)
                    memset (c->pk, fills [pk], 32);
                else
                    memcpy (c->pk, s_pool [4].pk, 32);
                if (sig < 2)
                    memset (c->sig, fills [sig], 64);
                else                        /* honest, but over another message */
                    crypto_sign_detached (c->sig, NULL, (const uint8_t *) "other", 5, s_pool [4].sk);
                expect [m] = 0;
                HT_CHECK (!s_sodium_ok (c));
                m++;
            }
    s_check (cases, m, expect, m, "zero / 0xff");
    s_check (cases, m, expect, 1, "zero / 0xff");
}

/*  Random keys, signatures and messages (S below 2^252 half of the time,
    so the points get decoded): never valid, never a crash (run this under
    the sanitizer build). Mixed with honest ones, which stay valid. */
HT_TEST (test_random_junk)
{
    enum { N = 6000 };
    t_case_t *cases = (t_case_t *) calloc (N, sizeof (t_case_t));
    int *expect = (int *) malloc (N * sizeof (int));
    for (size_t i = 0; i < N; i++) {
        t_case_t *c = &cases [i];
        if (i % 10 == 0) {
            *c = s_repeated [i % T_REPEATED];
            expect [i] = 1;
            continue;
        }
        c->len = s_below (100);
        s_fill (c->msg, c->len);
        c->prefix_len = s_below (c->len + 1);
        s_fill (c->sig, 64);
        if (s_below (2))
            c->sig [63] &= 0x0f;
        if (s_below (3) == 0)
            memcpy (c->pk, s_pool [s_below (T_POOL_KEYS)].pk, 32);
        else
            s_fill (c->pk, 32);
        expect [i] = 0;
        HT_CHECK (!s_sodium_ok (c));
    }
    s_check (cases, N, expect, 64, "junk");
    s_check_with (cases, N, expect, 1000, 1, "junk");
    free (cases);
    free (expect);
}

/*  The verdicts do not depend on the seed. */
HT_TEST (test_seed_independent)
{
    enum { N = 200 };
    ed25519_batch_item_t items [N];
    int rcs [N], again [N];
    for (size_t i = 0; i < N; i++)
        items [i] = s_item (&s_repeated [i]);
    t_case_t bad = s_repeated [7];
    bad.msg [0] ^= 1;
    items [7] = s_item (&bad);
    for (int round = 0; round < 4; round++) {
        uint8_t seed [ED25519_BATCH_SEED_BYTES];
        memset (seed, round == 0? 0: round == 1? 0xff: round, sizeof seed);
        HT_CHECK_EQ_INT (ed25519_batch_verify (items, N, seed, round? again: rcs), HEARTH_ESIGNATURE);
        if (round)
            HT_CHECK (memcmp (rcs, again, sizeof rcs) == 0);
    }
    for (size_t i = 0; i < N; i++)
        HT_CHECK_EQ_INT (rcs [i], i == 7? HEARTH_ESIGNATURE: 0);
}

int
main (void)
{
    if (sodium_init () < 0)
        return 1;
    s_corpus_make ();
    HT_RUN (test_honest_accepted_in_every_batch_size);
    HT_RUN (test_empty_batch);
    HT_RUN (test_corruptions_match_libsodium);
    HT_RUN (test_one_bad_is_found);
    HT_RUN (test_s_not_canonical);
    HT_RUN (test_small_order_points_rejected);
    HT_RUN (test_noncanonical_points_rejected);
    HT_RUN (test_torsion_r_accepted);
    HT_RUN (test_torsion_a_accepted);
    HT_RUN (test_identity_same_rule);
    HT_RUN (test_zero_and_ff_inputs);
    HT_RUN (test_random_junk);
    HT_RUN (test_seed_independent);
    free (s_honest);
    free (s_repeated);
    return ht_summary ();
}
