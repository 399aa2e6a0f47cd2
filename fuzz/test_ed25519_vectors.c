/*  test_ed25519_vectors.c — the twelve Ed25519 edge cases of "Taming the
    many EdDSAs" (Chalkias, Garillot, Nikolaenko, SSR 2020; the vectors as
    published with the paper, ed25519-speccheck cases.txt), each with the
    verdict libsodium's crypto_sign_verify_detached gives and the one
    Hearth's batch verifier (eventlog/ed25519_batch.h) gives, alone and in
    a batch, and the independent oracle (fuzz/ed25519_oracle.h) agrees.

    The two verifiers differ exactly on cases 4 and 5: a mixed-order R or
    A whose torsion components do not cancel, which the cofactored
    equation accepts and libsodium's cofactorless one rejects (the rule
    documented in ed25519_batch.h and docs/decisions/0020-cofactored-signature-rule.md). Every
    other case gets the same verdict from both.
*/
#include <sodium.h>
#include "hearth_test.h"
#include "hearth_error.h"
#include "ed25519_batch.h"
#include "ed25519_oracle.h"

typedef struct {
    const char *what;
    const char *msg, *pk, *sig;
    int sodium_ok, batch_ok;
} s_case_t;

static const s_case_t s_cases [12] = {
    { "0: S = 0, small-order A and R",
      "8c93255d71dcab10e8f379c26200f3c7bd5f09d9bc3068d3ef4edeb4853022b6",
      "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
      "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"
      "0000000000000000000000000000000000000000000000000000000000000000", 0, 0 },
    { "1: 0 < S < L, small-order A, mixed-order R",
      "9bd9f44f4dcc75bd531b56b2cd280b0bb38fc1cd6d1230e14861d861de092e79",
      "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
      "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43"
      "a5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04", 0, 0 },
    { "2: 0 < S < L, mixed-order A, small-order R",
      "aebf3f2601a0c8c5d39cc7d8911642f740b78168218da8471772b35f9d35b9ab",
      "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43",
      "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"
      "8c4bd45aecaca5b24fb97bc10ac27ac8751a7dfe1baff8b953ec9f5833ca260e", 0, 0 },
    { "3: 0 < S < L, mixed-order A and R, both equations hold",
      "9bd9f44f4dcc75bd531b56b2cd280b0bb38fc1cd6d1230e14861d861de092e79",
      "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d",
      "9046a64750444938de19f227bb80485e92b83fdb4b6506c160484c016cc1852f"
      "87909e14428a7a1d62e9f22f3d3ad7802db02eb2e688b6c52fcd6648a98bd009", 1, 1 },
    { "4: mixed-order A and R, only the cofactored equation holds",
      "e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec4011eaccd55b53f56c",
      "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d",
      "160a1cb0dc9c0258cd0a7d23e94d8fa878bcb1925f2c64246b2dee1796bed512"
      "5ec6bc982a269b723e0668e540911a9a6a58921d6925e434ab10aa7940551a09", 0, 1 },
    { "5: as 4, made for checks that multiply k by 8 before reducing it",
      "e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec4011eaccd55b53f56c",
      "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d",
      "21122a84e0b5fca4052f5b1235c80a537878b38f3142356b2c2384ebad4668b7"
      "e40bc836dac0f71076f9abe3a53f9c03c1ceeeddb658d0030494ace586687405", 0, 1 },
    { "6: S > L (non-canonical S)",
      "85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40",
      "442aad9f089ad9e14647b1ef9099a1ff4798d78589e66f28eca69c11f582a623",
      "e96f66be976d82e60150baecff9906684aebb1ef181f67a7189ac78ea23b6c0e"
      "547f7690a0e2ddcd04d87dbc3490dc19b3b3052f7ff0538cb68afb369ba3a514", 0, 0 },
    { "7: S much larger than L",
      "85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40",
      "442aad9f089ad9e14647b1ef9099a1ff4798d78589e66f28eca69c11f582a623",
      "8ce5b96c8f26d0ab6c47958c9e68b937104cd36e13c33566acd2fe8d38aa1942"
      "7e71f98a473474f2f13f06f97c20d58cc3f54b8bd0d272f42b695dd7e89a8c22", 0, 0 },
    { "8: non-canonical R (small order), k computed over the reduced R",
      "9bedc267423725d473888631ebf45988bad3db83851ee85c85e241a07d148b41",
      "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43",
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
      "03be9678ac102edcd92b0210bb34d7428d12ffc5df5f37e359941266a4e35f0f", 0, 0 },
    { "9: non-canonical R (small order), k computed over R as sent",
      "9bedc267423725d473888631ebf45988bad3db83851ee85c85e241a07d148b41",
      "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43",
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
      "ca8c5b64cd208982aa38d4936621a4775aa233aa0505711d8fdcfdaa943d4908", 0, 0 },
    { "10: non-canonical A (small order), k over the reduced A",
      "e96b7021eb39c1a163b6da4e3093dcd3f21387da4cc4572be588fafae23c155b",
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
      "a9d55260f765261eb9b84e106f665e00b867287a761990d7135963ee0a7d59dc"
      "a5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04", 0, 0 },
    { "11: non-canonical A (small order), k over A as sent",
      "39a591f5321bbe07fd5a23dc2f39d025d74526615746727ceefd6e82ae65c06f",
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
      "a9d55260f765261eb9b84e106f665e00b867287a761990d7135963ee0a7d59dc"
      "a5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04", 0, 0 },
};

static void
s_hex (const char *hex, uint8_t *out, size_t len)
{
    size_t got = 0;
    HT_CHECK (sodium_hex2bin (out, len, hex, strlen (hex), NULL, &got, NULL) == 0 && got == len);
}

HT_TEST (test_taming_vectors)
{
    ed25519_batch_item_t items [12];
    uint8_t pk [12][32], sig [12][64], msg [12][32];
    int single [12];
    for (int i = 0; i < 12; i++) {
        const s_case_t *c = &s_cases [i];
        s_hex (c->msg, msg [i], 32);
        s_hex (c->pk, pk [i], 32);
        s_hex (c->sig, sig [i], 64);
        int sodium_ok = crypto_sign_verify_detached (sig [i], msg [i], 32, pk [i]) == 0;
        ed25519_batch_item_t item = { .pk = pk [i], .sig = sig [i], .msg = msg [i], .msg_len = 32 };
        items [i] = item;
        single [i] = ed25519_batch_verify_one (&item);
        int batch_ok = single [i] == 0;
        int oracle_ok = ed25519_oracle_verify (pk [i], sig [i], msg [i], 32);
        fprintf (stderr, "case %-70s libsodium %s, batch %s, oracle %s\n", c->what,
                 sodium_ok? "accepts": "rejects", batch_ok? "accepts": "rejects",
                 oracle_ok? "accepts": "rejects");
        HT_CHECK_EQ_INT (sodium_ok, c->sodium_ok);
        HT_CHECK_EQ_INT (batch_ok, c->batch_ok);
        HT_CHECK_EQ_INT (oracle_ok, batch_ok);
        /*  The only allowed difference: a torsion component in A or R. */
        if (sodium_ok != batch_ok)
            HT_CHECK (batch_ok && (!crypto_core_ed25519_is_valid_point (pk [i])
                                || !crypto_core_ed25519_is_valid_point (sig [i])));
    }
    /*  All twelve in one batch: each gets its single verdict. */
    uint8_t seed [ED25519_BATCH_SEED_BYTES] = { 7 };
    int rcs [12];
    HT_CHECK_EQ_INT (ed25519_batch_verify (items, 12, seed, rcs), HEARTH_ESIGNATURE);
    for (int i = 0; i < 12; i++)
        HT_CHECK_EQ_INT (rcs [i], single [i]);
    /*  The accepted ones alone in a batch: all pass. */
    ed25519_batch_item_t ok [12];
    size_t n_ok = 0;
    for (int i = 0; i < 12; i++)
        if (single [i] == 0)
            ok [n_ok++] = items [i];
    HT_CHECK_EQ_INT (ed25519_batch_verify (ok, n_ok, seed, rcs), 0);
}

int
main (void)
{
    if (sodium_init () < 0)
        return 1;
    HT_RUN (test_taming_vectors);
    return ht_summary ();
}
