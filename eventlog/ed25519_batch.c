/*  ed25519_batch.c — Ed25519 batch verification; see ed25519_batch.h for the
    acceptance rule and the contract.

    Our own variable-time arithmetic on edwards25519 (all inputs are
    public, so nothing here needs to be constant-time); from libsodium only
    its public SHA-512, BLAKE2b, SipHash and scalar reduction mod L. The
    arithmetic (field, points, multi-scalar multiplication) is in
    ed25519_msm.c behind ed25519_msm.h; this file holds the acceptance
    rule's checks on the encodings, the scalars mod L, the random
    combination and the slicing of a call.
*/
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "ed25519_batch.h"
#include "ed25519_msm.h"
#include "hearth_error.h"

/*  Signatures per multi-scalar multiplication: larger calls are split into
    slices of this many (about 1.5 KiB of scratch per signature). Slices of
    2048 were measured against it: docs/performance.md, "How the constants
    were chosen" (bench_ed25519 --batch 2048). May be overridden with -D
    at compile time only to repeat that measurement. */
#ifndef S_MAX_SLICE
#define S_MAX_SLICE      1024
#endif

/* ==== scalars mod L ========================================================== */

/*  L = 2^252 + 27742317777372353535851937790883648493, little-endian. */
static const uint8_t s_L [32] = {
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10 };

/*  Rule 1: S < L. */
static int
s_scalar_is_canonical (const uint8_t s [32])
{
    for (int i = 31; i >= 0; i--) {
        if (s [i] < s_L [i])
            return 1;
        if (s [i] > s_L [i])
            return 0;
    }
    return 0;                               /* S = L */
}

/*  acc (512-bit, little-endian limbs) += z (128-bit) * s (256-bit). The
    sum of up to 2^131 such products fits. */
static void
s_mac (uint64_t acc [8], const uint8_t z [16], const uint8_t s [32])
{
    uint64_t zl [2] = { ed25519_load64 (z), ed25519_load64 (z + 8) };
    uint64_t sl [4] = { ed25519_load64 (s), ed25519_load64 (s + 8), ed25519_load64 (s + 16), ed25519_load64 (s + 24) };
    for (int i = 0; i < 2; i++) {
        ed25519_u128_t carry = 0;
        for (int j = 0; j < 4; j++) {
            ed25519_u128_t t = (ed25519_u128_t) zl [i] * sl [j] + acc [i + j] + carry;
            acc [i + j] = (uint64_t) t;
            carry = t >> 64;
        }
        for (int j = i + 4; j < 8 && carry; j++) {
            ed25519_u128_t t = (ed25519_u128_t) acc [j] + carry;
            acc [j] = (uint64_t) t;
            carry = t >> 64;
        }
    }
}

/*  out = acc mod L. */
static void
s_acc_reduce (uint8_t out [32], const uint64_t acc [8])
{
    uint8_t wide [64];
    for (int i = 0; i < 8; i++)
        ed25519_store64 (wide + 8 * i, acc [i]);
    crypto_core_ed25519_scalar_reduce (out, wide);
}

/*  k = SHA-512(R || A || prefix || msg) mod L, hashed in parts. */
static void
s_challenge (uint8_t k [32], const ed25519_batch_item_t *item)
{
    crypto_hash_sha512_state st;
    uint8_t h [crypto_hash_sha512_BYTES];
    crypto_hash_sha512_init (&st);
    crypto_hash_sha512_update (&st, item->sig, 32);
    crypto_hash_sha512_update (&st, item->pk, 32);
    if (item->prefix_len)
        crypto_hash_sha512_update (&st, item->prefix, item->prefix_len);
    if (item->msg_len)
        crypto_hash_sha512_update (&st, item->msg, item->msg_len);
    crypto_hash_sha512_final (&st, h);
    crypto_core_ed25519_scalar_reduce (k, h);
}

/* ==== verification ============================================================ */

int
ed25519_batch_verify_one (const ed25519_batch_item_t *item)
{
    ed25519_p3_t r, a;
    if (!s_scalar_is_canonical (item->sig + 32)
    ||  ed25519_point_check (&a, item->pk) != 0
    ||  ed25519_point_check (&r, item->sig) != 0)
        return HEARTH_ESIGNATURE;
    uint8_t k [32];
    s_challenge (k, item);
    ed25519_p3_neg (&r);
    ed25519_p3_neg (&a);
    return ed25519_check_one (&r, &a, item->sig + 32, k);
}

/*  A distinct public key of a slice. */
typedef struct {
    const uint8_t *pk;                      /* borrowed from an item */
    int            ok;                      /* passed rule 2; P is valid */
    size_t         uses;                    /* signatures that reached the sum */
    ed25519_p3_t         P;                       /* -A */
    uint64_t       acc [8];                 /* sum of z_i k_i over its signatures */
} s_key_t;

/*  A signature of a slice that passed the encoding checks. */
typedef struct {
    size_t  item;                           /* index into the slice */
    size_t  key;                            /* index into keys */
    ed25519_p3_t  P;                              /* -R */
    uint8_t k [32];                         /* SHA-512(R || A || M) mod L */
    uint8_t z [16];                         /* random coefficient, nonzero */
} s_sig_t;

/*  Scratch of one slice of m signatures, one allocation. */
typedef struct {
    s_key_t     *keys;                      /* m */
    s_sig_t     *sigs;                      /* m */
    ed25519_term_t    *terms;                     /* 2m */
    uint32_t    *slots;                     /* n_slots: key index + 1, or 0 */
    size_t       n_slots;                   /* power of two >= 2m */
} s_slice_t;

static void *
s_slice_alloc (s_slice_t *s, size_t m)
{
    s->n_slots = 4;
    while (s->n_slots < 2 * m)
        s->n_slots *= 2;
    size_t size = m * sizeof (s_key_t) + m * sizeof (s_sig_t) + 2 * m * sizeof (ed25519_term_t)
                + s->n_slots * sizeof (uint32_t);
    /*  Every part's size is a multiple of 8 but the slots, placed last. */
    uint8_t *block = (uint8_t *) malloc (size);
    if (!block)
        return NULL;
    uint8_t *p = block;
    s->keys = (s_key_t *) p;          p += m * sizeof (s_key_t);
    s->sigs = (s_sig_t *) p;          p += m * sizeof (s_sig_t);
    s->terms = (ed25519_term_t *) p;        p += 2 * m * sizeof (ed25519_term_t);
    s->slots = (uint32_t *) p;
    memset (s->slots, 0, s->n_slots * sizeof (uint32_t));
    return block;
}

/*  The key of pk in the slice, adding (and checking) it if new. */
static size_t
s_key_find (s_slice_t *s, size_t *n_keys, const uint8_t *pk, const uint8_t hash_key [crypto_shorthash_KEYBYTES])
{
    uint8_t h [crypto_shorthash_BYTES];
    crypto_shorthash (h, pk, 32, hash_key);
    size_t mask = s->n_slots - 1;
    for (size_t i = (size_t) ed25519_load64 (h) & mask;; i = (i + 1) & mask) {
        uint32_t slot = s->slots [i];
        if (slot == 0) {
            s_key_t *key = &s->keys [*n_keys];
            key->pk = pk;
            key->uses = 0;
            memset (key->acc, 0, sizeof key->acc);
            key->ok = ed25519_point_check (&key->P, pk) == 0;
            if (key->ok)
                ed25519_p3_neg (&key->P);
            s->slots [i] = (uint32_t) (*n_keys + 1);
            return (*n_keys)++;
        }
        if (memcmp (s->keys [slot - 1].pk, pk, 32) == 0)
            return slot - 1;
    }
}

/*  z = the first 16 bytes of BLAKE2b keyed with the seed, over the
    signature's index in the call, the signature, the key and k; 1 if
    that is zero. */
static void
s_coefficient (uint8_t z [16], const uint8_t seed [ED25519_BATCH_SEED_BYTES], size_t index,
               const ed25519_batch_item_t *item, const uint8_t k [32])
{
    uint8_t buf [8 + 64 + 32 + 32];
    ed25519_store64 (buf, (uint64_t) index);
    memcpy (buf + 8, item->sig, 64);
    memcpy (buf + 72, item->pk, 32);
    memcpy (buf + 104, k, 32);
    crypto_generichash (z, 16, buf, sizeof buf, seed, ED25519_BATCH_SEED_BYTES);
    uint8_t any = 0;
    for (int i = 0; i < 16; i++)
        any |= z [i];
    if (!any)
        z [0] = 1;
}

/*  One slice: items[0..m) are the call's items base..base+m. */
static void
s_verify_slice (s_slice_t *s, const ed25519_batch_item_t *items, size_t m, size_t base,
                const uint8_t seed [ED25519_BATCH_SEED_BYTES], int *rcs)
{
    size_t n_keys = 0, n_sigs = 0;
    memset (s->slots, 0, s->n_slots * sizeof (uint32_t));
    /*  Rules 1 and 2, and k, per signature. */
    for (size_t i = 0; i < m; i++) {
        rcs [i] = HEARTH_ESIGNATURE;
        const ed25519_batch_item_t *item = &items [i];
        if (!s_scalar_is_canonical (item->sig + 32))
            continue;
        size_t key = s_key_find (s, &n_keys, item->pk, seed);
        if (!s->keys [key].ok)
            continue;
        s_sig_t *sig = &s->sigs [n_sigs];
        if (ed25519_point_check (&sig->P, item->sig) != 0)
            continue;
        ed25519_p3_neg (&sig->P);
        sig->item = i;
        sig->key = key;
        s_challenge (sig->k, item);
        n_sigs++;
    }
    if (n_sigs == 0)
        return;
    if (n_sigs == 1) {                      /* nothing to combine */
        const s_sig_t *sig = &s->sigs [0];
        rcs [sig->item] = ed25519_check_one (&sig->P, &s->keys [sig->key].P, items [sig->item].sig + 32, sig->k);
        return;
    }
    /*  The combination: terms (-R_i, z_i), (-A_j, sum z_i k_i), and B with
        sum z_i S_i. */
    uint64_t acc_b [8] = { 0 };
    size_t m_terms = 0;
    for (size_t i = 0; i < n_sigs; i++) {
        s_sig_t *sig = &s->sigs [i];
        const ed25519_batch_item_t *item = &items [sig->item];
        s_coefficient (sig->z, seed, base + sig->item, item, sig->k);
        s_mac (acc_b, sig->z, item->sig + 32);
        s_key_t *key = &s->keys [sig->key];
        s_mac (key->acc, sig->z, sig->k);
        key->uses++;
        ed25519_term_t *term = &s->terms [m_terms++];
        term->P = sig->P;
        memset (term->k, 0, 32);
        memcpy (term->k, sig->z, 16);
    }
    for (size_t j = 0; j < n_keys; j++) {
        const s_key_t *key = &s->keys [j];
        if (!key->uses)
            continue;
        ed25519_term_t *term = &s->terms [m_terms++];
        term->P = key->P;
        s_acc_reduce (term->k, key->acc);
    }
    uint8_t b [32];
    s_acc_reduce (b, acc_b);
    /*  Accepted: every signature holds (but with probability < 2^-127).
        Rejected (or no memory for the scratch): judge each alone. */
    void *scratch = malloc (ed25519_msm_scratch_size (m_terms));
    int all = scratch && ed25519_msm_is_torsion (s->terms, m_terms, b, scratch);
    free (scratch);
    for (size_t i = 0; i < n_sigs; i++) {
        const s_sig_t *sig = &s->sigs [i];
        rcs [sig->item] = all? 0: ed25519_check_one (&sig->P, &s->keys [sig->key].P,
                                              items [sig->item].sig + 32, sig->k);
    }
}

int
ed25519_batch_verify (const ed25519_batch_item_t *items, size_t n,
                      const uint8_t seed [ED25519_BATCH_SEED_BYTES], int *rcs)
{
    s_slice_t s;
    memset (&s, 0, sizeof s);
    void *block = n > 1? s_slice_alloc (&s, n < S_MAX_SLICE? n: S_MAX_SLICE): NULL;
    for (size_t base = 0; base < n; base += S_MAX_SLICE) {
        size_t m = n - base < S_MAX_SLICE? n - base: S_MAX_SLICE;
        if (block)
            s_verify_slice (&s, items + base, m, base, seed, rcs + base);
        else                                /* one signature, or out of memory */
            for (size_t i = 0; i < m; i++)
                rcs [base + i] = ed25519_batch_verify_one (&items [base + i]);
    }
    free (block);
    for (size_t i = 0; i < n; i++)
        if (rcs [i])
            return HEARTH_ESIGNATURE;
    return 0;
}
