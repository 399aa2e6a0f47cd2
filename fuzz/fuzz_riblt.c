/*  fuzz_riblt.c — rateless (RIBLT) sessions (gossip/riblt_session.c and
    the decoder behind it) fed a peer's messages, as responder and as
    initiator receiving symbols.

    Our side holds a fixed encoder over S_ITEMS ids. Input: a flags byte
    (bit 0: 1 = we initiate; bit 1: frame limit RIBLT_FRAME_SIZE_MIN), then
    the peer's messages as parts (fuzz.h).
    Properties: every call returns one of the documented codes; replies
    are never empty and fit the frame limit; an initiator that failed
    stays failed (HEARTH_EINVAL after); ids are only reported once decoded.
*/
#include <string.h>
#include <sodium.h>
#include "fuzz.h"
#include "hearth_error.h"
#include "riblt_session.h"
#include "negentropy.h"

#define S_ITEMS    300
#define S_SYMBOLS  4096
#define S_PARTS    8

static riblt_encoder_t *s_enc;

static riblt_encoder_t *
s_build (uint8_t salt, size_t n, size_t skip_every)
{
    riblt_encoder_t *enc = riblt_encoder_new (S_SYMBOLS);
    for (size_t i = 0; i < n; i++) {
        if (skip_every && i % skip_every == 0)
            continue;
        uint8_t in [9] = { salt }, id [32];
        for (int b = 0; b < 8; b++)
            in [1 + b] = (uint8_t) (i >> (8 * b));
        crypto_generichash (id, 32, in, sizeof in, NULL, 0);
        riblt_encoder_add (enc, id);
    }
    return enc;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (!s_enc)
        s_enc = s_build (0, S_ITEMS, 0);
    fuzz_reader_t r = { data, size, 0 };
    uint8_t flags = fuzz_u8 (&r);
    size_t limit = flags & 2? RIBLT_FRAME_SIZE_MIN: 0;
    riblt_session_t *rs = riblt_session_new (s_enc, limit);
    FUZZ_CHECK (rs);
    const uint8_t *out;
    size_t out_len;
    int initiator = flags & 1, failed = 0;
    if (initiator) {
        FUZZ_CHECK (riblt_session_initiate (rs, &out, &out_len) == 0);
        FUZZ_CHECK (out_len > 0 && (!limit || out_len <= limit));
    }
    for (int p = 0; p < S_PARTS && r.pos < r.size; p++) {
        size_t len;
        const uint8_t *msg = fuzz_part (&r, &len);
        int finished = failed || riblt_session_done (rs);
        int rc = riblt_session_reconcile (rs, msg, len, &out, &out_len);
        if (initiator) {
            if (finished)
                FUZZ_CHECK (rc == HEARTH_EINVAL);
            FUZZ_CHECK (rc == 0 || rc == HEARTH_EDECODE || rc == HEARTH_ESCHEMA
                     || rc == HEARTH_EINVAL || rc == HEARTH_ECAPACITY);
            if (rc)
                failed = 1;
            else
            if (out)
                FUZZ_CHECK (out_len > 0 && (!limit || out_len <= limit));
            else
                FUZZ_CHECK (riblt_session_done (rs));
        }
        else {
            FUZZ_CHECK (rc == 0 || rc == HEARTH_EDECODE);
            if (rc == 0)
                FUZZ_CHECK (out && out_len > 0 && (!limit || out_len <= limit));
        }
    }
    size_t n_have, n_need;
    riblt_session_have_ids (rs, &n_have);
    riblt_session_need_ids (rs, &n_need);
    if (!riblt_session_done (rs))
        FUZZ_CHECK (n_have == 0 && n_need == 0);
    riblt_session_destroy (&rs);
    return 0;
}

/*  Seeds: the peer's side of real sessions against encoders that differ
    from ours, and a Negentropy-only peer's decline. */
void
fuzz_seeds (fuzz_emit_fn *emit, void *arg)
{
    if (!s_enc)
        s_enc = s_build (0, S_ITEMS, 0);
    struct { uint8_t salt; size_t n, skip; } peers [] = {
        { 0, S_ITEMS, 7 }, { 0, S_ITEMS + 40, 0 }, { 0, S_ITEMS / 2, 0 }, { 9, 200, 0 },
        { 0, 0, 0 }, { 0, S_ITEMS, 0 }, { 9, 3000, 0 }
    };
    for (size_t k = 0; k < sizeof peers / sizeof peers [0]; k++) {
        riblt_encoder_t *other = s_build (peers [k].salt, peers [k].n, peers [k].skip);
        for (uint8_t flags = 0; flags < 4; flags++) {
            size_t limit = flags & 2? RIBLT_FRAME_SIZE_MIN: 0;
            riblt_session_t *ours = riblt_session_new (s_enc, limit);
            riblt_session_t *theirs = riblt_session_new (other, limit);
            riblt_session_t *init = flags & 1? ours: theirs, *resp = flags & 1? theirs: ours;
            uint8_t *seed = (uint8_t *) malloc (1);
            size_t seed_len = 1;
            seed [0] = flags;
            const uint8_t *msg, *reply;
            size_t msg_len, reply_len;
            int rc = riblt_session_initiate (init, &msg, &msg_len);
            for (int round = 0; rc == 0 && msg && round < S_PARTS; round++) {
                if (!(flags & 1))
                    fuzz_part_append (&seed, &seed_len, msg, msg_len);
                rc = riblt_session_reconcile (resp, msg, msg_len, &reply, &reply_len);
                if (rc)
                    break;
                if (flags & 1)
                    fuzz_part_append (&seed, &seed_len, reply, reply_len);
                rc = riblt_session_reconcile (init, reply, reply_len, &msg, &msg_len);
            }
            emit (arg, seed, seed_len);
            free (seed);
            riblt_session_destroy (&ours);
            riblt_session_destroy (&theirs);
        }
        riblt_encoder_destroy (&other);
    }
    uint8_t decline [4] = { 1, 0, 1, NEGENTROPY_PROTOCOL_VERSION };
    emit (arg, decline, sizeof decline);
}
