/*  test_riblt.c — unit tests of the rateless IBLT mode: riblt (hash,
    mapping, symbols), riblt_encoder, riblt_decoder and riblt_session.

    - the mapping hits index i with probability ~1/(1 + i/2) and strictly
      ascends; the encoder's symbols equal a naive encoding;
    - random sets differing by 0, 1, 10, 1000 and 10000 items, in either
      direction and both, and with one side empty: the decoder and the
      session find exactly the symmetric difference;
    - too large a difference fails cleanly (HEARTH_ECAPACITY: fall back to
      Negentropy), and a Negentropy-only peer's answer gives HEARTH_ESCHEMA;
    - frame limits; items added during a session;
    - thousands of random, truncated and mutated messages to responders and
      initiators, and random symbols to decoders: 0 or a clean negative code.
    All randomness is a seeded PRNG, so a failure reproduces.
*/
#include "hearth_test.h"
#include "hearth_error.h"
#include "riblt.h"
#include "riblt_encoder.h"
#include "riblt_decoder.h"
#include "riblt_session.h"
#include "negentropy.h"

static uint64_t s_rng_state = 0x5249424c54746573ULL;     /* "RIBLTtes" */

static uint64_t
s_rand (void)
{
    return ht_splitmix64 (&s_rng_state);
}

static void
s_rand_id (uint8_t id [RIBLT_ID_SIZE])
{
    for (int i = 0; i < RIBLT_ID_SIZE; i += 8) {
        uint64_t v = s_rand ();
        memcpy (id + i, &v, 8);
    }
}

static int
s_id_cmp (const void *a, const void *b)
{
    return memcmp (a, b, RIBLT_ID_SIZE);
}

/*  Sorted copy of count ids equals the sorted expected ids. */
static int
s_same_ids (const uint8_t *got, size_t count, uint8_t *expect, size_t expect_count)
{
    if (count != expect_count)
        return 0;
    if (count == 0)
        return 1;
    uint8_t *copy = (uint8_t *) malloc (count * RIBLT_ID_SIZE);
    memcpy (copy, got, count * RIBLT_ID_SIZE);
    qsort (copy, count, RIBLT_ID_SIZE, s_id_cmp);
    qsort (expect, expect_count, RIBLT_ID_SIZE, s_id_cmp);
    int same = memcmp (copy, expect, count * RIBLT_ID_SIZE) == 0;
    free (copy);
    return same;
}

/* ---- symbols and mapping -------------------------------------------------- */

HT_TEST (test_mapping)
{
    /*  Frequency of index i over many items: 1/(1 + i/2). */
    enum { ITEMS = 200000, SPAN = 64 };
    static uint32_t hits [SPAN];
    memset (hits, 0, sizeof hits);
    int ascending = 1;
    for (int n = 0; n < ITEMS; n++) {
        riblt_mapping_t m;
        riblt_mapping_init (&m, s_rand ());
        for (uint64_t i = 0, prev = 0; i < SPAN; prev = i, i = riblt_mapping_next (&m)) {
            if (i != 0 && i <= prev)
                ascending = 0;
            hits [i]++;
        }
    }
    HT_CHECK (ascending);
    HT_CHECK_EQ_INT (hits [0], ITEMS);
    uint64_t checks [] = { 1, 2, 5, 10, 30, 63 };
    for (size_t c = 0; c < sizeof checks / sizeof checks [0]; c++) {
        double expect = (double) ITEMS / (1.0 + (double) checks [c] / 2.0);
        double got = hits [checks [c]];
        if (got < expect * 0.95 || got > expect * 1.05)
            fprintf (stderr, "index %llu: %.0f hits, expected %.0f\n",
                     (unsigned long long) checks [c], got, expect);
        HT_CHECK (got >= expect * 0.95 && got <= expect * 1.05);
    }
    /*  Degenerate seeds still ascend and end at UINT64_MAX, never wrap. */
    uint64_t seeds [] = { 0, 1, UINT64_MAX };
    for (size_t s = 0; s < 3; s++) {
        riblt_mapping_t m;
        riblt_mapping_init (&m, seeds [s]);
        uint64_t prev = 0, i = 0;
        for (int step = 0; step < 200; step++) {
            i = riblt_mapping_next (&m);
            HT_CHECK (i > prev || i == UINT64_MAX);
            prev = i;
        }
    }
    /*  The hash is fixed (both peers must agree) and nonlinear. */
    uint8_t a [32], b [32], x [32];
    s_rand_id (a);
    s_rand_id (b);
    for (int i = 0; i < 32; i++)
        x [i] = a [i] ^ b [i];
    HT_CHECK (riblt_hash (a) == riblt_hash (a));
    HT_CHECK ((riblt_hash (a) ^ riblt_hash (b)) != riblt_hash (x));
    riblt_symbol_t s = { { 0 }, 0, 0 };
    HT_CHECK (riblt_symbol_is_empty (&s));
    riblt_symbol_apply (&s, a, riblt_hash (a), 1);
    HT_CHECK (riblt_symbol_is_pure (&s));
    riblt_symbol_apply (&s, b, riblt_hash (b), 1);
    HT_CHECK (!riblt_symbol_is_pure (&s));
    riblt_symbol_apply (&s, a, riblt_hash (a), -1);
    riblt_symbol_apply (&s, b, riblt_hash (b), -1);
    HT_CHECK (riblt_symbol_is_empty (&s));
}

HT_TEST (test_encoder)
{
    HT_CHECK (riblt_encoder_new (0) == NULL);
    HT_CHECK (riblt_encoder_new (RIBLT_ENCODER_SYMBOLS_MAX + 1) == NULL);
    enum { LENGTH = 500, ITEMS = 300 };
    riblt_encoder_t *enc = riblt_encoder_new (LENGTH);
    negentropy_store_t *store = negentropy_store_new ();
    riblt_symbol_t naive [LENGTH];
    memset (naive, 0, sizeof naive);
    for (int n = 0; n < ITEMS; n++) {
        uint8_t id [32];
        s_rand_id (id);
        riblt_encoder_add (enc, id);
        negentropy_store_insert (store, (uint64_t) n, id);
        /*  Naive: walk the mapping by hand. */
        riblt_mapping_t m;
        riblt_mapping_init (&m, riblt_hash (id));
        for (uint64_t i = 0; i < LENGTH; i = riblt_mapping_next (&m))
            riblt_symbol_apply (&naive [i], id, riblt_hash (id), 1);
    }
    size_t length;
    const riblt_symbol_t *symbols = riblt_encoder_symbols (enc, &length);
    HT_CHECK_EQ_INT (length, LENGTH);
    HT_CHECK (memcmp (symbols, naive, sizeof naive) == 0);
    HT_CHECK_EQ_INT (riblt_encoder_items (enc), ITEMS);
    HT_CHECK_EQ_INT (symbols [0].count, ITEMS);
    /*  The start-up scan gives the same symbols. */
    riblt_encoder_t *scan = riblt_encoder_new (LENGTH);
    HT_CHECK_EQ_INT (riblt_encoder_add_store (scan, store), 0);
    HT_CHECK (memcmp (riblt_encoder_symbols (scan, &length), naive, sizeof naive) == 0);
    riblt_encoder_destroy (&enc);
    HT_CHECK (enc == NULL);
    riblt_encoder_destroy (&enc);
    riblt_encoder_destroy (&scan);
    negentropy_store_destroy (&store);
}

/* ---- decoder and session on random sets ------------------------------------ */

typedef struct {
    riblt_encoder_t *a, *b;             /* a: initiator / local; b: responder / remote */
    uint8_t *only_a, *only_b;
    size_t   n_a, n_b;
} s_sets_t;

static s_sets_t
s_sets (size_t shared, size_t only_a, size_t only_b, size_t length)
{
    s_sets_t sets = { riblt_encoder_new (length), riblt_encoder_new (length),
                      (uint8_t *) malloc (only_a * 32 + 1), (uint8_t *) malloc (only_b * 32 + 1),
                      only_a, only_b };
    uint8_t id [32];
    for (size_t i = 0; i < shared; i++) {
        s_rand_id (id);
        riblt_encoder_add (sets.a, id);
        riblt_encoder_add (sets.b, id);
    }
    for (size_t i = 0; i < only_a; i++) {
        s_rand_id (sets.only_a + i * 32);
        riblt_encoder_add (sets.a, sets.only_a + i * 32);
    }
    for (size_t i = 0; i < only_b; i++) {
        s_rand_id (sets.only_b + i * 32);
        riblt_encoder_add (sets.b, sets.only_b + i * 32);
    }
    return sets;
}

static void
s_sets_free (s_sets_t *sets)
{
    riblt_encoder_destroy (&sets->a);
    riblt_encoder_destroy (&sets->b);
    free (sets->only_a);
    free (sets->only_b);
}

/*  Decode b - a in batches of `batch`; returns symbols used (0: failed). */
static size_t
s_decode (s_sets_t *sets, size_t batch)
{
    riblt_decoder_t *dec = riblt_decoder_new ();
    size_t length;
    const riblt_symbol_t *remote = riblt_encoder_symbols (sets->b, &length);
    const riblt_symbol_t *local = riblt_encoder_symbols (sets->a, &length);
    size_t used = 0;
    while (used < length && !riblt_decoder_decoded (dec)) {
        size_t k = batch < length - used? batch: length - used;
        HT_CHECK_EQ_INT (riblt_decoder_add (dec, remote + used, local + used, k), 0);
        used += k;
    }
    size_t n_remote, n_local;
    const uint8_t *r = riblt_decoder_remote_ids (dec, &n_remote);
    const uint8_t *l = riblt_decoder_local_ids (dec, &n_local);
    int ok = riblt_decoder_decoded (dec) && s_same_ids (r, n_remote, sets->only_b, sets->n_b)
          && s_same_ids (l, n_local, sets->only_a, sets->n_a);
    riblt_decoder_destroy (&dec);
    return ok? used: 0;
}

HT_TEST (test_decoder)
{
    struct { size_t shared, a, b; } cases [] = {
        { 20000, 0, 0 }, { 20000, 1, 0 }, { 20000, 0, 1 }, { 20000, 5, 5 },
        { 20000, 10, 0 }, { 20000, 0, 10 }, { 20000, 1000, 0 }, { 20000, 0, 1000 },
        { 20000, 500, 500 }, { 5000, 10000, 0 }, { 5000, 0, 10000 }, { 5000, 5000, 5000 },
        { 0, 300, 0 }, { 0, 0, 300 }, { 0, 0, 0 },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases [0]; c++) {
        s_sets_t sets = s_sets (cases [c].shared, cases [c].a, cases [c].b, RIBLT_SYMBOLS_MAX);
        size_t used = s_decode (&sets, 1);
        size_t d = cases [c].a + cases [c].b;
        HT_CHECK (used > 0);
        /*  The paper's overhead: ~1.35-1.7 symbols per difference for large
            d, more for tiny d; never all 32k for these. */
        HT_CHECK (used <= 2 * d + 40);
        fprintf (stderr, "  shared %zu, +%zu/-%zu: decoded after %zu symbols (%.2f per item)\n",
                 cases [c].shared, cases [c].a, cases [c].b, used, d? (double) used / (double) d: 0.0);
        /*  In batches the result is the same. */
        HT_CHECK (s_decode (&sets, 257) > 0);
        s_sets_free (&sets);
    }
    /*  Too few symbols: not decoded, no error, partial results only. */
    s_sets_t sets = s_sets (1000, 500, 500, 256);
    HT_CHECK_EQ_INT (s_decode (&sets, 64), 0);
    s_sets_free (&sets);
}

typedef struct {
    int      rc;                /* the initiator's final code */
    int      rounds;            /* initiator messages answered */
    uint64_t bytes;
    size_t   max_msg;
    int      ok;                /* done and exactly the difference */
} s_result_t;

static s_result_t
s_session (s_sets_t *sets, size_t limit_a, size_t limit_b)
{
    s_result_t res = { 0 };
    riblt_session_t *init = riblt_session_new (sets->a, limit_a);
    riblt_session_t *resp = riblt_session_new (sets->b, limit_b);
    const uint8_t *msg, *reply;
    size_t size, reply_size;
    int rc = riblt_session_initiate (init, &msg, &size);
    while (rc == 0 && msg) {
        res.rounds++;
        res.bytes += size;
        res.max_msg = size > res.max_msg? size: res.max_msg;
        if (limit_a)
            HT_CHECK (size <= limit_a);
        rc = riblt_session_reconcile (resp, msg, size, &reply, &reply_size);
        HT_CHECK_EQ_INT (rc, 0);
        if (rc)
            break;
        res.bytes += reply_size;
        res.max_msg = reply_size > res.max_msg? reply_size: res.max_msg;
        if (limit_b)
            HT_CHECK (reply_size <= limit_b);
        rc = riblt_session_reconcile (init, reply, reply_size, &msg, &size);
        if (res.rounds > 1000) {
            HT_CHECK (!"too many rounds");
            break;
        }
    }
    res.rc = rc;
    size_t n_have, n_need;
    const uint8_t *have = riblt_session_have_ids (init, &n_have);
    const uint8_t *need = riblt_session_need_ids (init, &n_need);
    res.ok = rc == 0 && riblt_session_done (init)
          && s_same_ids (have, n_have, sets->only_a, sets->n_a)
          && s_same_ids (need, n_need, sets->only_b, sets->n_b);
    if (rc) {
        HT_CHECK (!riblt_session_done (init));
        HT_CHECK (have == NULL && n_have == 0 && need == NULL && n_need == 0);
        HT_CHECK_EQ_INT (riblt_session_reconcile (init, reply, reply_size, &msg, &size), HEARTH_EINVAL);
    }
    riblt_session_destroy (&init);
    riblt_session_destroy (&resp);
    return res;
}

HT_TEST (test_session)
{
    struct { size_t shared, a, b; int max_rounds; } cases [] = {
        { 20000, 0, 0, 1 }, { 20000, 1, 0, 1 }, { 20000, 0, 1, 1 }, { 20000, 10, 0, 1 },
        { 20000, 0, 10, 1 }, { 20000, 1000, 0, 2 }, { 20000, 0, 1000, 2 }, { 20000, 500, 500, 3 },
        { 5000, 10000, 0, 2 }, { 5000, 0, 10000, 2 }, { 0, 300, 0, 2 }, { 0, 0, 300, 2 },
        { 0, 0, 0, 1 }, { 20000, 20, 20, 3 },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases [0]; c++) {
        s_sets_t sets = s_sets (cases [c].shared, cases [c].a, cases [c].b, RIBLT_SYMBOLS_MAX);
        s_result_t r = s_session (&sets, 0, 0);
        HT_CHECK_EQ_INT (r.rc, 0);
        HT_CHECK (r.ok);
        HT_CHECK (r.rounds <= cases [c].max_rounds);
        fprintf (stderr, "  session shared %zu, +%zu/-%zu: %d round trips, %llu bytes\n",
                 cases [c].shared, cases [c].a, cases [c].b, r.rounds, (unsigned long long) r.bytes);
        r = s_session (&sets, 4096, 4096);
        HT_CHECK_EQ_INT (r.rc, 0);
        HT_CHECK (r.ok);
        HT_CHECK (r.max_msg <= 4096);
        s_sets_free (&sets);
    }
    /*  Sizes alone show too large a difference: TooLarge, ECAPACITY. */
    s_sets_t sets = s_sets (0, 0, 30000, RIBLT_SYMBOLS_MAX);
    s_result_t r = s_session (&sets, 0, 0);
    HT_CHECK_EQ_INT (r.rc, HEARTH_ECAPACITY);
    HT_CHECK_EQ_INT (r.rounds, 1);
    s_sets_free (&sets);
    /*  Equal sizes, difference past the symbols: runs out, ECAPACITY. */
    sets = s_sets (1000, 2000, 2000, 1024);
    r = s_session (&sets, 0, 0);
    HT_CHECK_EQ_INT (r.rc, HEARTH_ECAPACITY);
    s_sets_free (&sets);
    /*  Short responder encoder: it runs out of symbols first. */
    sets = s_sets (1000, 300, 300, RIBLT_SYMBOLS_MAX);
    riblt_encoder_t *shortb = riblt_encoder_new (128);
    riblt_encoder_t *full = sets.b;
    sets.b = shortb;
    r = s_session (&sets, 0, 0);
    HT_CHECK_EQ_INT (r.rc, HEARTH_ECAPACITY);
    sets.b = full;
    riblt_encoder_destroy (&shortb);
    s_sets_free (&sets);
}

/*  The offer to a Negentropy-only responder: it answers 0x61, and the
    initiator reports HEARTH_ESCHEMA (fall back to v1). */
HT_TEST (test_fallback)
{
    riblt_encoder_t *enc = riblt_encoder_new (64);
    negentropy_store_t *store = negentropy_store_new ();
    riblt_session_t *init = riblt_session_new (enc, 0);
    negentropy_t *v1 = negentropy_new (store, 0);
    const uint8_t *msg, *reply;
    size_t size, reply_size;
    HT_CHECK_EQ_INT (riblt_session_initiate (init, &msg, &size), 0);
    HT_CHECK (size >= 2 && msg [0] == RIBLT_PROTOCOL_VERSION);
    const uint8_t *again;
    size_t again_size;
    HT_CHECK_EQ_INT (riblt_session_initiate (init, &again, &again_size), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (negentropy_reconcile (v1, msg, size, &reply, &reply_size), 0);
    HT_CHECK (reply_size == 1 && reply [0] == NEGENTROPY_PROTOCOL_VERSION);
    HT_CHECK_EQ_INT (riblt_session_reconcile (init, reply, reply_size, &msg, &size), HEARTH_ESCHEMA);
    HT_CHECK_EQ_INT (riblt_session_reconcile (init, reply, reply_size, &msg, &size), HEARTH_EINVAL);
    /*  A riblt responder refuses Negentropy and junk. */
    riblt_session_t *resp = riblt_session_new (enc, 0);
    const uint8_t v1msg [] = { 0x61, 0x00, 0x00, 0x02, 0x00 };
    HT_CHECK_EQ_INT (riblt_session_reconcile (resp, v1msg, sizeof v1msg, &reply, &reply_size), HEARTH_EDECODE);
    HT_CHECK_EQ_INT (riblt_session_reconcile (resp, v1msg, 0, &reply, &reply_size), HEARTH_EDECODE);
    HT_CHECK (riblt_session_new (enc, 4095) == NULL);
    HT_CHECK (riblt_session_new (NULL, 0) == NULL);
    riblt_session_destroy (&resp);
    riblt_session_destroy (&init);
    HT_CHECK (init == NULL);
    riblt_session_destroy (&init);
    negentropy_destroy (&v1);
    negentropy_store_destroy (&store);
    riblt_encoder_destroy (&enc);
}

/*  Items added to both encoders during a session do not disturb it: the
    session decodes the difference of the snapshots. */
HT_TEST (test_insert_mid_session)
{
    s_sets_t sets = s_sets (5000, 0, 400, RIBLT_SYMBOLS_MAX);
    riblt_session_t *init = riblt_session_new (sets.a, 0);
    riblt_session_t *resp = riblt_session_new (sets.b, 0);
    const uint8_t *msg, *reply;
    size_t size, reply_size;
    int rc = riblt_session_initiate (init, &msg, &size);
    int rounds = 0;
    while (rc == 0 && msg && rounds++ < 20) {
        rc = riblt_session_reconcile (resp, msg, size, &reply, &reply_size);
        for (int k = 0; k < 50; k++) {
            uint8_t id [32];
            s_rand_id (id);
            riblt_encoder_add (sets.b, id);
            if (k % 2)
                riblt_encoder_add (sets.a, id);
        }
        if (rc == 0)
            rc = riblt_session_reconcile (init, reply, reply_size, &msg, &size);
    }
    HT_CHECK_EQ_INT (rc, 0);
    size_t n;
    const uint8_t *need = riblt_session_need_ids (init, &n);
    HT_CHECK (s_same_ids (need, n, sets.only_b, 400));
    riblt_session_destroy (&init);
    riblt_session_destroy (&resp);
    s_sets_free (&sets);
}

/* ---- robustness ----------------------------------------------------------- */

static size_t
s_mutate (uint8_t *buf, size_t size, size_t cap)
{
    switch (s_rand () % 5) {
    case 0:                                 /* flip bits */
        for (int k = 0; k < 3 && size; k++)
            buf [s_rand () % size] ^= (uint8_t) (1u << (s_rand () % 8));
        return size;
    case 1:                                 /* truncate */
        return size? s_rand () % size: 0;
    case 2:                                 /* random byte values */
        for (int k = 0; k < 4 && size; k++)
            buf [s_rand () % size] = (uint8_t) s_rand ();
        return size;
    case 3:                                 /* extreme varint digits */
        for (int k = 0; k < 4 && size > 2; k++)
            buf [2 + s_rand () % (size - 2)] = (s_rand () & 1)? 0xff: 0x80;
        return size;
    default:                                /* append junk */
        while (size < cap && s_rand () % 8)
            buf [size++] = (uint8_t) s_rand ();
        return size;
    }
}

HT_TEST (test_fuzz)
{
    s_sets_t sets = s_sets (2000, 40, 40, 2048);
    enum { CAP = 8192 };
    static uint8_t buf [CAP];
    int clean = 1;
    for (int iter = 0; iter < 6000; iter++) {
        /*  A valid conversation to mutate from. */
        riblt_session_t *init = riblt_session_new (sets.a, iter % 3? 0: 4096);
        riblt_session_t *resp = riblt_session_new (sets.b, iter % 2? 0: 4096);
        const uint8_t *msg, *reply;
        size_t size, reply_size;
        riblt_session_initiate (init, &msg, &size);
        size_t n;
        if (iter % 4 == 0) {                /* random request to a responder */
            n = s_rand () % 40;
            for (size_t i = 0; i < n; i++)
                buf [i] = (uint8_t) s_rand ();
            if (n && s_rand () % 2)
                buf [0] = RIBLT_PROTOCOL_VERSION;
        }
        else {
            memcpy (buf, msg, size);
            n = s_mutate (buf, size, CAP);
        }
        int rc = riblt_session_reconcile (resp, buf, n, &reply, &reply_size);
        if (rc > 0 || (rc == 0 && reply_size == 0))
            clean = 0;
        /*  A mutated reply to the initiator. */
        rc = riblt_session_reconcile (resp, msg, size, &reply, &reply_size);
        if (rc == 0 && reply_size <= CAP) {
            memcpy (buf, reply, reply_size);
            n = iter % 7 == 0? s_rand () % 60: s_mutate (buf, reply_size, CAP);
            if (iter % 7 == 0)
                for (size_t i = 0; i < n; i++)
                    buf [i] = (uint8_t) s_rand ();
            rc = riblt_session_reconcile (init, buf, n, &msg, &size);
            if (rc > 0)
                clean = 0;
        }
        riblt_session_destroy (&init);
        riblt_session_destroy (&resp);
    }
    HT_CHECK (clean);
    /*  Random symbols straight into a decoder: never crashes, a clean code. */
    for (int iter = 0; iter < 300; iter++) {
        riblt_decoder_t *dec = riblt_decoder_new ();
        riblt_symbol_t remote [64], local [64];
        for (int batch = 0; batch < 8; batch++) {
            for (int k = 0; k < 64; k++) {
                s_rand_id (remote [k].id);
                remote [k].hash = s_rand ();
                remote [k].count = (int64_t) (s_rand () % 5) - 2;
                local [k] = remote [k];
                if (s_rand () % 3 == 0) {   /* craft pure symbols now and then */
                    s_rand_id (remote [k].id);
                    remote [k].hash = riblt_hash (remote [k].id);
                    local [k].hash = 0;
                    memset (local [k].id, 0, 32);
                    remote [k].count = 1;
                    local [k].count = 0;
                }
            }
            int rc = riblt_decoder_add (dec, remote, local, 64);
            HT_CHECK (rc == 0 || rc == HEARTH_EDECODE);
            if (rc)
                HT_CHECK_EQ_INT (riblt_decoder_add (dec, remote, local, 1), HEARTH_EDECODE);
        }
        riblt_decoder_destroy (&dec);
    }
    s_sets_free (&sets);
}

int
main (void)
{
    HT_RUN (test_mapping);
    HT_RUN (test_encoder);
    HT_RUN (test_decoder);
    HT_RUN (test_session);
    HT_RUN (test_fallback);
    HT_RUN (test_insert_mid_session);
    HT_RUN (test_fuzz);
    return ht_summary ();
}
