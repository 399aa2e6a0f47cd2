/*  fuzz_ed25519.c — the Ed25519 batch verifier (eventlog/ed25519_batch.c)
    against libsodium's crypto_sign_verify_detached and against an
    independent statement of its rule (ed25519_oracle.h).

    Input: a mode byte, then
      mode 0: pk[32] sig[64] msg            raw bytes;
      mode 1: seed[32] at[1] xor[1] msg     an honest signature, then one
                                            byte of pk || sig xored;
      mode 2: a[32] r[32] tA[1] tR[1] f[1] msg
              a mixed-order key A = [a]B + T[tA] and commitment
              R = [r]B + T[tR] (T: the 8 torsion points), S = r + k a mod L
              (f bit 0: add L to S; bit 1: drop [a]B, bit 2: drop [r]B, so
              A or R is small-order), the shapes of "Taming the many
              EdDSAs" (Chalkias, Garillot, Nikolaenko 2020).
    Properties:
      - ed25519_batch_verify_one agrees with the oracle on every input;
      - libsodium accepts => the batch verifier accepts;
      - the batch verifier accepts and libsodium rejects => A or R has a
        torsion component (the documented difference: the cofactored
        equation; ed25519_batch.h);
      - a batch (this item twice, plus an honest signature) gives each item
        the single verdict, whatever the seed.
*/
#include <sodium.h>
#include <string.h>
#include "fuzz.h"
#include "ed25519_batch.h"
#include "ed25519_oracle.h"
#include "hearth_error.h"

/*  The 8-torsion points (canonical encodings): identity, order 2, two of
    order 4, four of order 8. */
static const uint8_t s_torsion [8][32] = {
    { 0x01 },
    { 0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },
    { 0x00 },
    { [31] = 0x80 },
    { 0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f,
      0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a },
    { 0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f,
      0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0xfa },
    { 0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0,
      0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05 },
    { 0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0,
      0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x85 },
};

static const uint8_t s_L [32] = {
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10 };

/*  out = in (32 bytes) mod L. */
static void
s_reduce32 (uint8_t out [32], const uint8_t in [32])
{
    uint8_t wide [64] = { 0 };
    memcpy (wide, in, 32);
    crypto_core_ed25519_scalar_reduce (out, wide);
}

/*  out = [s]B + t, with [0]B the identity; -1 if the sum fails. */
static int
s_point (uint8_t out [32], const uint8_t s [32], const uint8_t t [32], int drop_base)
{
    uint8_t sB [32];
    if (drop_base || crypto_scalarmult_ed25519_base_noclamp (sB, s) != 0)
        memcpy (sB, ed25519_oracle_identity, 32);
    return crypto_core_ed25519_add (out, sB, t);
}

/*  Build (pk, sig) for mode 2; -1 if the input does not give one. */
static int
s_mixed (const uint8_t *in, uint8_t pk [32], uint8_t sig [64], const uint8_t *msg, size_t len)
{
    uint8_t a [32], r [32], k [32], h [64], ka [32], S [32];
    s_reduce32 (a, in);
    s_reduce32 (r, in + 32);
    uint8_t tA = in [64] & 7, tR = in [65] & 7, f = in [66];
    if (s_point (pk, a, s_torsion [tA], f & 2) != 0 || s_point (sig, r, s_torsion [tR], f & 4) != 0)
        return -1;
    crypto_hash_sha512_state st;
    crypto_hash_sha512_init (&st);
    crypto_hash_sha512_update (&st, sig, 32);
    crypto_hash_sha512_update (&st, pk, 32);
    crypto_hash_sha512_update (&st, msg, len);
    crypto_hash_sha512_final (&st, h);
    crypto_core_ed25519_scalar_reduce (k, h);
    crypto_core_ed25519_scalar_mul (ka, k, a);
    crypto_core_ed25519_scalar_add (S, r, ka);
    if (f & 1) {                            /* S + L: same value mod L, not canonical */
        unsigned carry = 0;
        for (int i = 0; i < 32; i++) {
            carry += (unsigned) S [i] + s_L [i];
            S [i] = (uint8_t) carry;
            carry >>= 8;
        }
    }
    memcpy (sig + 32, S, 32);
    return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t pk [32], sig [64];
    const uint8_t *msg;
    size_t len;
    switch (data [0] % 3) {
        case 0:
            if (size < 97)
                return 0;
            memcpy (pk, data + 1, 32);
            memcpy (sig, data + 33, 64);
            msg = data + 97;
            len = size - 97;
            break;
        case 1: {
            if (size < 35)
                return 0;
            uint8_t sk [64];
            crypto_sign_seed_keypair (pk, sk, data + 1);
            msg = data + 35;
            len = size - 35;
            crypto_sign_detached (sig, NULL, msg, len, sk);
            uint8_t at = data [33] % 96, x = data [34];
            if (at < 32)
                pk [at] ^= x;
            else
                sig [at - 32] ^= x;
            break;
        }
        default:
            if (size < 68)
                return 0;
            msg = data + 68;
            len = size - 68;
            if (s_mixed (data + 1, pk, sig, msg, len) != 0)
                return 0;
            break;
    }
    int sodium_ok = crypto_sign_verify_detached (sig, msg, len, pk) == 0;
    int oracle_ok = ed25519_oracle_verify (pk, sig, msg, len);
    ed25519_batch_item_t item = { .pk = pk, .sig = sig, .msg = len? msg: NULL, .msg_len = len };
    int rc = ed25519_batch_verify_one (&item);
    FUZZ_CHECK (rc == 0 || rc == HEARTH_ESIGNATURE);
    int batch_ok = rc == 0;
    if (batch_ok != oracle_ok)
        fprintf (stderr, "batch %d oracle %d sodium %d\n", batch_ok, oracle_ok, sodium_ok);
    FUZZ_CHECK (batch_ok == oracle_ok);
    if (sodium_ok)
        FUZZ_CHECK (batch_ok);
    if (batch_ok && !sodium_ok)
        FUZZ_CHECK (!ed25519_oracle_torsion_free (pk) || !ed25519_oracle_torsion_free (sig));
    /*  Grouping never changes a verdict. */
    static uint8_t hpk [32], hsig [64];
    static const uint8_t hmsg [] = "an honest signature in the same batch";
    if (!hsig [0] && !hsig [1]) {
        uint8_t seed [32] = { 42 }, sk [64];
        crypto_sign_seed_keypair (hpk, sk, seed);
        crypto_sign_detached (hsig, NULL, hmsg, sizeof hmsg, sk);
    }
    ed25519_batch_item_t items [3] = {
        item,
        { .pk = hpk, .sig = hsig, .msg = hmsg, .msg_len = sizeof hmsg },
        item
    };
    uint8_t seed [ED25519_BATCH_SEED_BYTES];
    crypto_generichash (seed, sizeof seed, data, size, NULL, 0);
    int rcs [3] = { 1, 1, 1 };
    int all = ed25519_batch_verify (items, 3, seed, rcs);
    FUZZ_CHECK (rcs [0] == rc && rcs [1] == 0 && rcs [2] == rc);
    FUZZ_CHECK (all == (rc == 0? 0: HEARTH_ESIGNATURE));
    return 0;
}

void
fuzz_seeds (fuzz_emit_fn *emit, void *arg)
{
    uint8_t buf [128];
    /*  Honest signatures, untouched and with a flipped bit in each part. */
    for (int i = 0; i < 4; i++) {
        memset (buf, 0, sizeof buf);
        buf [0] = 1;
        memset (buf + 1, 0x30 + i, 32);
        buf [33] = (uint8_t) (i == 0? 0: i == 1? 5: i == 2? 40: 90);
        buf [34] = i? 0x01: 0;
        memcpy (buf + 35, "market.post.created", 19);
        emit (arg, buf, 35 + 19);
    }
    /*  Every torsion shape of mode 2. */
    for (int t = 0; t < 16; t++) {
        memset (buf, 0, sizeof buf);
        buf [0] = 2;
        memset (buf + 1, 0x11, 32);
        memset (buf + 33, 0x22, 32);
        buf [65] = (uint8_t) (t & 7);
        buf [66] = (uint8_t) ((t * 3) & 7);
        buf [67] = (uint8_t) (t >> 1);
        memcpy (buf + 68, "msg", 3);
        emit (arg, buf, 71);
    }
    /*  Raw: an honest signature as bytes. */
    uint8_t seed [32] = { 9 }, sk [64];
    buf [0] = 0;
    crypto_sign_seed_keypair (buf + 1, sk, seed);
    crypto_sign_detached (buf + 33, NULL, (const uint8_t *) "hi", 2, sk);
    memcpy (buf + 97, "hi", 2);
    emit (arg, buf, 99);
}
