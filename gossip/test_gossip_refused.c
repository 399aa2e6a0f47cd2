/*  test_gossip_refused.c — the memory of refused events, deterministically:
    times are arguments, the table key is fixed, hashes are made from
    counters. Checks which refusals are permanent, the backoff of the others
    (and that a context refusal waits for the context to change), the bound
    and its first-in-first-out eviction, and forgetting. */
#include <sodium.h>
#include "hearth_test.h"
#include "hearth_error.h"
#include "gossip_refused.h"
#include "lamport.h"

static const uint8_t s_key [16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

static void
s_hash (uint32_t i, uint8_t h [32])
{
    memset (h, 0x5a, 32);
    memcpy (h, &i, sizeof i);
}

static gossip_refused_t *
s_new (size_t max, uint64_t min_ms, uint64_t max_ms)
{
    gossip_refused_limits_t l = { max, min_ms, max_ms };
    return gossip_refused_new (&l, s_key);
}

HT_TEST (test_limits_refused)
{
    HT_CHECK (s_new (0, 1, 1) == NULL);
    HT_CHECK (s_new (1, 0, 1) == NULL);
    HT_CHECK (s_new (1, 2, 1) == NULL);
    gossip_refused_t *r = gossip_refused_new (NULL, s_key);    /* the defaults */
    HT_CHECK (r != NULL);
    gossip_refused_destroy (&r);
    HT_CHECK (r == NULL);
    gossip_refused_destroy (&r);
    gossip_refused_destroy (NULL);
}

/*  The same bytes are refused forever for these; the others may pass. */
HT_TEST (test_kinds)
{
    HT_CHECK_EQ_INT (gossip_refused_kind (EVENT_REJECT_NONE, 5), GOSSIP_REFUSED_NONE);
    HT_CHECK_EQ_INT (gossip_refused_kind (EVENT_REJECT_DUPLICATE, 5), GOSSIP_REFUSED_NONE);
    HT_CHECK_EQ_INT (gossip_refused_kind (EVENT_REJECT_DECODE, 5), GOSSIP_REFUSED_PERMANENT);
    HT_CHECK_EQ_INT (gossip_refused_kind (EVENT_REJECT_STRUCTURE, 5), GOSSIP_REFUSED_PERMANENT);
    HT_CHECK_EQ_INT (gossip_refused_kind (EVENT_REJECT_SIGNATURE, 5), GOSSIP_REFUSED_PERMANENT);
    HT_CHECK_EQ_INT (gossip_refused_kind (EVENT_REJECT_COMMUNITY, 5), GOSSIP_REFUSED_PERMANENT);
    HT_CHECK_EQ_INT (gossip_refused_kind (EVENT_REJECT_REVOKED, 5), GOSSIP_REFUSED_PERMANENT);
    HT_CHECK_EQ_INT (gossip_refused_kind (EVENT_REJECT_CONFLICT, 5), GOSSIP_REFUSED_PERMANENT);
    HT_CHECK_EQ_INT (gossip_refused_kind (EVENT_REJECT_LAMPORT, 0), GOSSIP_REFUSED_PERMANENT);
    HT_CHECK_EQ_INT (gossip_refused_kind (EVENT_REJECT_LAMPORT, LAMPORT_MAX), GOSSIP_REFUSED_PERMANENT);
    HT_CHECK_EQ_INT (gossip_refused_kind (EVENT_REJECT_LAMPORT, UINT64_MAX), GOSSIP_REFUSED_PERMANENT);
    HT_CHECK_EQ_INT (gossip_refused_kind (EVENT_REJECT_LAMPORT, LAMPORT_MAX_JUMP + 2), GOSSIP_REFUSED_LATER);
    HT_CHECK_EQ_INT (gossip_refused_kind (EVENT_REJECT_FUTURE, 5), GOSSIP_REFUSED_LATER);
    HT_CHECK_EQ_INT (gossip_refused_kind (EVENT_REJECT_MEMBERSHIP, 5), GOSSIP_REFUSED_CONTEXT);
    HT_CHECK_EQ_INT (gossip_refused_kind (EVENT_REJECT_TYPE_RULE, 5), GOSSIP_REFUSED_CONTEXT);
}

/*  A permanent refusal is skipped at any time, in any context. */
HT_TEST (test_permanent)
{
    gossip_refused_t *r = s_new (16, 1000, 8000);
    uint8_t h [32], other [32];
    s_hash (1, h);
    s_hash (2, other);
    HT_CHECK_EQ_INT (gossip_refused_skip (r, h, 0, 0), 0);
    HT_CHECK_EQ_INT (gossip_refused_add (r, h, GOSSIP_REFUSED_PERMANENT, 0, 100), 0);
    HT_CHECK_EQ_INT (gossip_refused_skip (r, h, 0, 100), 1);
    HT_CHECK_EQ_INT (gossip_refused_skip (r, h, 7, UINT64_MAX), 1);
    HT_CHECK_EQ_INT (gossip_refused_skip (r, other, 0, 100), 0);  /* only those bytes */
    HT_CHECK_EQ_INT (gossip_refused_lookup (r, h), GOSSIP_REFUSED_PERMANENT);
    /*  Refused again for a reason that may pass: permanent stays. */
    HT_CHECK_EQ_INT (gossip_refused_add (r, h, GOSSIP_REFUSED_LATER, 0, 200), 0);
    HT_CHECK_EQ_INT (gossip_refused_lookup (r, h), GOSSIP_REFUSED_PERMANENT);
    HT_CHECK_EQ_INT (gossip_refused_skip (r, h, 0, UINT64_MAX), 1);
    HT_CHECK_EQ_INT (gossip_refused_add (r, h, GOSSIP_REFUSED_NONE, 0, 200), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (gossip_refused_count (r), 1);
    HT_CHECK_EQ_INT (gossip_refused_stats (r)->remembered, 1);
    HT_CHECK_EQ_INT (gossip_refused_stats (r)->again, 1);
    gossip_refused_destroy (&r);
}

/*  LATER: skipped until its backoff passes; each refusal doubles it, up to
    the ceiling. */
HT_TEST (test_later_backoff)
{
    gossip_refused_t *r = s_new (16, 1000, 8000);
    uint8_t h [32];
    s_hash (3, h);
    uint64_t now = 50000;
    uint64_t expect [] = { 1000, 2000, 4000, 8000, 8000, 8000 };
    for (size_t k = 0; k < sizeof expect / sizeof expect [0]; k++) {
        HT_CHECK_EQ_INT (gossip_refused_add (r, h, GOSSIP_REFUSED_LATER, 0, now), 0);
        HT_CHECK_EQ_INT (gossip_refused_skip (r, h, 0, now), 1);
        HT_CHECK_EQ_INT (gossip_refused_skip (r, h, 0, now + expect [k] - 1), 1);
        HT_CHECK_EQ_INT (gossip_refused_skip (r, h, 0, now + expect [k]), 0);     /* fetch again */
        now += expect [k];
    }
    /*  No overflow near the end of time. */
    HT_CHECK_EQ_INT (gossip_refused_add (r, h, GOSSIP_REFUSED_LATER, 0, UINT64_MAX - 1), 0);
    HT_CHECK_EQ_INT (gossip_refused_skip (r, h, 0, UINT64_MAX - 1), 1);
    /*  Stored after all: forgotten. */
    gossip_refused_forget (r, h);
    HT_CHECK_EQ_INT (gossip_refused_skip (r, h, 0, 0), 0);
    HT_CHECK_EQ_INT (gossip_refused_count (r), 0);
    gossip_refused_forget (r, h);           /* unknown: no effect */
    gossip_refused_destroy (&r);
}

/*  CONTEXT: fetched again only once the backoff has passed and the context
    has changed; refused again, it waits for the next change. */
HT_TEST (test_context)
{
    gossip_refused_t *r = s_new (16, 1000, 8000);
    uint8_t h [32];
    s_hash (4, h);
    HT_CHECK_EQ_INT (gossip_refused_add (r, h, GOSSIP_REFUSED_CONTEXT, 10, 0), 0);
    HT_CHECK_EQ_INT (gossip_refused_skip (r, h, 10, 0), 1);
    HT_CHECK_EQ_INT (gossip_refused_skip (r, h, 10, 1000000), 1);     /* membership unchanged */
    HT_CHECK_EQ_INT (gossip_refused_skip (r, h, 11, 0), 0);           /* changed: at once, the first time */
    HT_CHECK_EQ_INT (gossip_refused_add (r, h, GOSSIP_REFUSED_CONTEXT, 11, 0), 0);
    HT_CHECK_EQ_INT (gossip_refused_skip (r, h, 11, 1000000), 1);     /* unchanged */
    HT_CHECK_EQ_INT (gossip_refused_skip (r, h, 12, 999), 1);         /* changed, backoff not passed */
    HT_CHECK_EQ_INT (gossip_refused_skip (r, h, 12, 1000), 0);        /* both */
    HT_CHECK_EQ_INT (gossip_refused_add (r, h, GOSSIP_REFUSED_CONTEXT, 12, 1000), 0);
    HT_CHECK_EQ_INT (gossip_refused_skip (r, h, 12, 1000000), 1);
    HT_CHECK_EQ_INT (gossip_refused_skip (r, h, 13, 2999), 1);        /* backoff doubled */
    HT_CHECK_EQ_INT (gossip_refused_skip (r, h, 13, 3000), 0);
    /*  Refused later for a reason that is permanent: permanent from now. */
    HT_CHECK_EQ_INT (gossip_refused_add (r, h, GOSSIP_REFUSED_PERMANENT, 13, 3000), 0);
    HT_CHECK_EQ_INT (gossip_refused_skip (r, h, 99, UINT64_MAX), 1);
    gossip_refused_destroy (&r);
}

/*  Never more than max; beyond, the oldest goes first, and what was
    evicted is fetched again (and can be remembered again). */
HT_TEST (test_bound_fifo)
{
    const size_t max = 1000;
    gossip_refused_t *r = s_new (max, 1000, 8000);
    uint8_t h [32];
    for (uint32_t i = 0; i < 3 * max; i++) {
        s_hash (i, h);
        HT_CHECK_EQ_INT (gossip_refused_add (r, h, GOSSIP_REFUSED_PERMANENT, 0, i), 0);
        HT_CHECK (gossip_refused_count (r) <= max);
    }
    HT_CHECK_EQ_INT (gossip_refused_count (r), max);
    HT_CHECK_EQ_INT (gossip_refused_stats (r)->evicted, 2 * max);
    size_t kept = 0;
    for (uint32_t i = 0; i < 3 * max; i++) {
        s_hash (i, h);
        int skip = gossip_refused_skip (r, h, 0, 0);
        kept += (size_t) skip;
        HT_CHECK_EQ_INT (skip, i >= 2 * max);   /* the newest max */
    }
    HT_CHECK_EQ_INT (kept, max);
    /*  A forgotten hash leaves a free slot; the ring still bounds the count. */
    s_hash (2 * max + 5, h);
    gossip_refused_forget (r, h);
    HT_CHECK_EQ_INT (gossip_refused_count (r), max - 1);
    for (uint32_t i = 0; i < max; i++) {
        s_hash (10 * max + i, h);
        HT_CHECK_EQ_INT (gossip_refused_add (r, h, GOSSIP_REFUSED_LATER, 0, 0), 0);
        HT_CHECK (gossip_refused_count (r) <= max);
    }
    /*  Evicted and refused again: remembered again. */
    s_hash (0, h);
    HT_CHECK_EQ_INT (gossip_refused_skip (r, h, 0, 0), 0);
    HT_CHECK_EQ_INT (gossip_refused_add (r, h, GOSSIP_REFUSED_PERMANENT, 0, 0), 0);
    HT_CHECK_EQ_INT (gossip_refused_skip (r, h, 0, 0), 1);
    HT_CHECK (gossip_refused_count (r) <= max);
    gossip_refused_destroy (&r);
}

/*  Many hashes, some refused twice, some forgotten: the table stays
    consistent with a plain reference (a flag per counter). */
HT_TEST (test_against_reference)
{
    const uint32_t n = 5000;
    gossip_refused_t *r = s_new (n, 1, 1);
    uint8_t *in = (uint8_t *) calloc (n, 1);
    uint32_t x = 12345;
    for (int step = 0; step < 40000; step++) {
        x = x * 1103515245u + 12345u;
        uint32_t i = (x >> 8) % n;
        uint8_t h [32];
        s_hash (i, h);
        if ((x >> 4) % 4 == 0) {
            gossip_refused_forget (r, h);
            in [i] = 0;
        }
        else {
            HT_CHECK_EQ_INT (gossip_refused_add (r, h, GOSSIP_REFUSED_PERMANENT, 0, 0), 0);
            in [i] = 1;
        }
    }
    size_t count = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t h [32];
        s_hash (i, h);
        HT_CHECK_EQ_INT (gossip_refused_skip (r, h, 0, 0), in [i]);
        count += in [i];
    }
    HT_CHECK_EQ_INT (gossip_refused_count (r), count);
    free (in);
    gossip_refused_destroy (&r);
}

int
main (void)
{
    if (sodium_init () < 0)
        return 1;
    HT_RUN (test_limits_refused);
    HT_RUN (test_kinds);
    HT_RUN (test_permanent);
    HT_RUN (test_later_backoff);
    HT_RUN (test_context);
    HT_RUN (test_bound_fifo);
    HT_RUN (test_against_reference);
    return ht_summary ();
}
