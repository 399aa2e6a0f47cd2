/*  fuzz_negentropy.c — Negentropy v1 sessions (gossip/negentropy.c) fed a
    peer's messages, as responder and as initiator receiving.

    Our side holds a fixed store of S_ITEMS items. Input: a flags byte
    (bit 0: 1 = we initiate, else we respond; bit 1: frame size limit
    NEGENTROPY_FRAME_SIZE_MIN, else none), then the peer's messages as
    parts (fuzz.h: 2-byte length, bytes).
    Properties: every call returns one of the documented codes; a
    responder's reply is never empty and fits the frame limit; an
    initiator's messages fit it too; its "have" ids are ids we hold and
    each id is listed once.
*/
#include <string.h>
#include <sodium.h>
#include "fuzz.h"
#include "hearth_error.h"
#include "negentropy.h"

#define S_ITEMS   300
#define S_PARTS   8

static negentropy_store_t *s_store;
static uint8_t s_ids [S_ITEMS][32];        /* sorted, for bsearch */

static int
s_cmp (const void *a, const void *b)
{
    return memcmp (a, b, 32);
}

/*  Item i of a set: lamport 1 + i / 3 (ties share a timestamp), id
    BLAKE2b (salt, i). */
static void
s_item (uint8_t salt, size_t i, negentropy_item_t *it)
{
    uint8_t in [9] = { salt };
    for (int b = 0; b < 8; b++)
        in [1 + b] = (uint8_t) (i >> (8 * b));
    it->timestamp = 1 + i / 3;
    crypto_generichash (it->id, 32, in, sizeof in, NULL, 0);
}

static negentropy_store_t *
s_build (uint8_t salt, size_t n, size_t skip_every)
{
    negentropy_store_t *store = negentropy_store_new ();
    for (size_t i = 0; i < n; i++) {
        if (skip_every && i % skip_every == 0)
            continue;
        negentropy_item_t it;
        s_item (salt, i, &it);
        if (negentropy_store_insert (store, it.timestamp, it.id) != 0)
            abort ();
    }
    return store;
}

static void
s_init (void)
{
    if (s_store)
        return;
    s_store = s_build (0, S_ITEMS, 0);
    for (size_t i = 0; i < S_ITEMS; i++) {
        negentropy_item_t it;
        s_item (0, i, &it);
        memcpy (s_ids [i], it.id, 32);
    }
    qsort (s_ids, S_ITEMS, 32, s_cmp);
}

static int
s_ours (const uint8_t *id)
{
    return bsearch (id, s_ids, S_ITEMS, 32, s_cmp) != NULL;
}

/*  Each id once; with `ours`, each one we hold. (A "need" id may still
    be one we hold: a peer can list our id inside another range, and the
    fetch then finds it stored; harmless.) */
static void
s_check_ids (const uint8_t *ids, size_t n, int ours)
{
    for (size_t i = 0; i < n; i++) {
        if (ours)
            FUZZ_CHECK (s_ours (ids + 32 * i));
        for (size_t j = 0; j < i && j < 64; j++)
            FUZZ_CHECK (memcmp (ids + 32 * i, ids + 32 * j, 32) != 0);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    s_init ();
    fuzz_reader_t r = { data, size, 0 };
    uint8_t flags = fuzz_u8 (&r);
    size_t limit = flags & 2? NEGENTROPY_FRAME_SIZE_MIN: 0;
    negentropy_t *ne = negentropy_new (s_store, limit);
    FUZZ_CHECK (ne);
    const uint8_t *out;
    size_t out_len;
    int initiator = flags & 1;
    if (initiator) {
        FUZZ_CHECK (negentropy_initiate (ne, &out, &out_len) == 0);
        FUZZ_CHECK (out_len > 0 && (!limit || out_len <= limit));
    }
    for (int p = 0; p < S_PARTS && r.pos < r.size; p++) {
        size_t len;
        const uint8_t *msg = fuzz_part (&r, &len);
        int rc = negentropy_reconcile (ne, msg, len, &out, &out_len);
        if (initiator) {
            FUZZ_CHECK (rc == 0 || rc == HEARTH_EDECODE || rc == HEARTH_ESCHEMA
                     || rc == HEARTH_EINVAL || rc == HEARTH_ECAPACITY);
            if (rc == 0 && out)
                FUZZ_CHECK (out_len > 0 && (!limit || out_len <= limit));
            if (rc == 0 && !out)
                FUZZ_CHECK (negentropy_done (ne));
        }
        else {
            FUZZ_CHECK (rc == 0 || rc == HEARTH_EDECODE || rc == HEARTH_ECAPACITY);
            if (rc == 0)
                FUZZ_CHECK (out && out_len > 0 && (!limit || out_len <= limit));
        }
    }
    size_t n_have, n_need;
    const uint8_t *have = negentropy_have_ids (ne, &n_have);
    const uint8_t *need = negentropy_need_ids (ne, &n_need);
    if (!initiator)
        FUZZ_CHECK (n_have == 0 && n_need == 0);
    s_check_ids (have, n_have, 1);
    s_check_ids (need, n_need, 0);
    negentropy_destroy (&ne);
    return 0;
}

/*  Seeds: the peer's side of real sessions between our store and stores
    that differ from it in several ways (missing items, extra items, a
    disjoint set, an empty one), with and without frame limits. */
void
fuzz_seeds (fuzz_emit_fn *emit, void *arg)
{
    s_init ();
    struct { uint8_t salt; size_t n, skip; } peers [] = {
        { 0, S_ITEMS, 7 }, { 0, S_ITEMS + 40, 0 }, { 0, S_ITEMS / 2, 0 }, { 9, 200, 0 },
        { 0, 0, 0 }, { 0, S_ITEMS, 0 }, { 0, S_ITEMS + 2000, 5 }
    };
    for (size_t k = 0; k < sizeof peers / sizeof peers [0]; k++) {
        negentropy_store_t *other = s_build (peers [k].salt, peers [k].n, peers [k].skip);
        for (uint8_t flags = 0; flags < 4; flags++) {
            size_t limit = flags & 2? NEGENTROPY_FRAME_SIZE_MIN: 0;
            /*  flags bit 0 set: we initiate, the peer (other) responds. */
            negentropy_t *ours = negentropy_new (s_store, limit);
            negentropy_t *theirs = negentropy_new (other, limit);
            negentropy_t *init = flags & 1? ours: theirs, *resp = flags & 1? theirs: ours;
            uint8_t *seed = (uint8_t *) malloc (1);
            size_t seed_len = 1;
            seed [0] = flags;
            const uint8_t *msg, *reply;
            size_t msg_len, reply_len;
            int rc = negentropy_initiate (init, &msg, &msg_len);
            for (int round = 0; rc == 0 && msg && round < S_PARTS; round++) {
                if (!(flags & 1))           /* the peer's message to our responder */
                    fuzz_part_append (&seed, &seed_len, msg, msg_len);
                rc = negentropy_reconcile (resp, msg, msg_len, &reply, &reply_len);
                if (rc)
                    break;
                if (flags & 1)              /* the peer's reply to our initiator */
                    fuzz_part_append (&seed, &seed_len, reply, reply_len);
                rc = negentropy_reconcile (init, reply, reply_len, &msg, &msg_len);
            }
            emit (arg, seed, seed_len);
            free (seed);
            negentropy_destroy (&ours);
            negentropy_destroy (&theirs);
        }
        negentropy_store_destroy (&other);
    }
}
