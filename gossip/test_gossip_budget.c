/*  test_gossip_budget.c — the per-peer budget of responder work, with time
    passed in: floods of openings and of fetches stay within the bound of
    gossip_budget.h, a join that fetches what it was told about is never
    deferred, session buckets, refill, owed cap, the bounded peer table. */
#include "hearth_error.h"
#include "hearth_test.h"
#include "gossip_budget.h"

static void
s_key (uint8_t key [32], int n)
{
    memset (key, 0, 32);
    key [0] = (uint8_t) (n & 0xff);
    key [1] = (uint8_t) (n >> 8);
}

/*  The bound for one peer over `ms`: charged bytes <= ratio x in + base x
    seconds + burst + one reply. */
static uint64_t
s_bound (uint64_t in, uint64_t ms, uint64_t one_reply)
{
    return GOSSIP_BUDGET_EARN_RATIO * in + (uint64_t) GOSSIP_BUDGET_BASE_BPS * ms / 1000
         + GOSSIP_BUDGET_BURST_BYTES + one_reply;
}

/*  A rateless flood: a 13-byte opening every ms for 10 s, each served one
    would draw 856 KB. */
HT_TEST (test_flood_openings)
{
    gossip_budget_t *b = gossip_budget_new (NULL);
    HT_CHECK (b != NULL);
    uint8_t p [32];
    s_key (p, 1);
    uint64_t in = 0, out = 0, served = 0;
    const uint64_t reply = 856 * 1024;
    for (uint64_t t = 0; t < 10000; t++) {
        gossip_budget_earn (b, p, 13, t);
        in += 13;
        if (gossip_budget_ask (b, p, GOSSIP_BUDGET_OPEN, t, NULL) == GOSSIP_BUDGET_GO) {
            gossip_budget_reply (b, p, reply, t);
            out += reply;
            served++;
        }
    }
    HT_CHECK (out <= s_bound (in, 10000, reply));
    /*  Without the budget: 10,000 x 856 KB = 8.8 GB. */
    HT_CHECK (served <= 5);
    HT_CHECK (gossip_budget_stats (b)->deferred [GOSSIP_BUDGET_REASON_DEBT] > 9000);
    HT_CHECK_EQ_INT (gossip_budget_stats (b)->bytes_charged, out);
    gossip_budget_destroy (&b);
}

/*  Openings with tiny replies (a v1 opening that matches): the open bucket
    limits them, 8 at once then 2 a second. */
HT_TEST (test_open_rate)
{
    gossip_budget_t *b = gossip_budget_new (NULL);
    uint8_t p [32];
    s_key (p, 1);
    int go = 0;
    uint64_t wait = 0;
    for (int i = 0; i < 20; i++)
        if (gossip_budget_ask (b, p, GOSSIP_BUDGET_OPEN, 1000, &wait) == GOSSIP_BUDGET_GO) {
            gossip_budget_reply (b, p, 1, 1000);
            go++;
        }
    HT_CHECK_EQ_INT (go, GOSSIP_BUDGET_OPEN_BURST);
    HT_CHECK_EQ_INT (wait, 1000 / GOSSIP_BUDGET_OPEN_RATE);
    HT_CHECK_EQ_INT (gossip_budget_stats (b)->deferred [GOSSIP_BUDGET_REASON_OPEN_RATE], 12);
    HT_CHECK (gossip_budget_ask (b, p, GOSSIP_BUDGET_OPEN, 1000 + wait - 1, NULL) == GOSSIP_BUDGET_DEFER);
    HT_CHECK (gossip_budget_ask (b, p, GOSSIP_BUDGET_OPEN, 1000 + wait, NULL) == GOSSIP_BUDGET_GO);
    /*  Rounds have their own bucket. */
    go = 0;
    for (int i = 0; i < 100; i++)
        go += gossip_budget_ask (b, p, GOSSIP_BUDGET_ROUND, 2000, NULL) == GOSSIP_BUDGET_GO;
    HT_CHECK_EQ_INT (go, GOSSIP_BUDGET_ROUND_BURST);
    HT_CHECK (gossip_budget_ask (b, p, GOSSIP_BUDGET_ROUND, 2000 + 1000 / GOSSIP_BUDGET_ROUND_RATE, NULL)
              == GOSSIP_BUDGET_GO);
    gossip_budget_destroy (&b);
}

/*  Fetches of events the peer was never told about (it has the hashes
    from its own log): paid from credit, deferred in debt, served again
    when the base rate has repaid it. */
HT_TEST (test_fetch_unowed)
{
    gossip_budget_t *b = gossip_budget_new (NULL);
    uint8_t p [32];
    s_key (p, 2);
    uint64_t in = 0, out = 0, t = 0;
    for (; t < 5000; t++) {
        /*  A fetch of 1,024 hashes (~34 KB) every ms, events of 400 bytes. */
        gossip_budget_earn (b, p, 34 * 1024, t);
        in += 34 * 1024;
        if (gossip_budget_ask (b, p, GOSSIP_BUDGET_FETCH, t, NULL) != GOSSIP_BUDGET_GO)
            continue;
        for (int i = 0; i < 1024 && gossip_budget_event_ok (b, p, t); i++) {
            HT_CHECK_EQ_INT (gossip_budget_event (b, p, 400, t), 0);
            out += 400;
        }
    }
    HT_CHECK (out <= s_bound (in, t, 400));
    /*  The pace binds before the credit: a fast sender buys at most 4 MiB/s. */
    HT_CHECK (out <= (uint64_t) GOSSIP_BUDGET_PACE_BPS * t / 1000 + GOSSIP_BUDGET_PACE_BURST + 400);
    HT_CHECK (out >= (uint64_t) GOSSIP_BUDGET_PACE_BPS * t / 1000 / 2);  /* and it is served */
    HT_CHECK_EQ_INT (gossip_budget_stats (b)->bytes_owed, 0);
    /*  Silent now: one more fetch in debt waits, then goes. */
    gossip_budget_event (b, p, 1024 * 1024, t);             /* an unowed event: credit only */
    uint64_t wait = 0;
    HT_CHECK (gossip_budget_ask (b, p, GOSSIP_BUDGET_FETCH, t, &wait) == GOSSIP_BUDGET_DEFER);
    HT_CHECK (wait >= 1);
    HT_CHECK (gossip_budget_ask (b, p, GOSSIP_BUDGET_FETCH, t + wait, NULL) == GOSSIP_BUDGET_GO);
    gossip_budget_destroy (&b);
}

/*  An empty node joining 100k events: each opening is answered with a
    frame of ids (32,768 owed), then fetched in 1,024-hash requests. Not
    one request waits, and the events are paid by owed events, not credit. */
HT_TEST (test_join_never_waits)
{
    gossip_budget_t *b = gossip_budget_new (NULL);
    uint8_t p [32];
    s_key (p, 3);
    gossip_budget_earn (b, p, 100, 0);                      /* its hello, before the node knew its items */
    gossip_budget_set_items (b, 100000);
    uint64_t t = 0, fetched = 0;
    while (fetched < 100000) {
        gossip_budget_earn (b, p, 5, t);                    /* the empty opening */
        HT_CHECK (gossip_budget_ask (b, p, GOSSIP_BUDGET_OPEN, t, NULL) == GOSSIP_BUDGET_GO);
        uint64_t ids = 100000 - fetched < 32768? 100000 - fetched: 32768;
        gossip_budget_reply (b, p, ids * 32 + 20, t);
        for (uint64_t done = 0; done < ids; done += 1024) {
            t += 1;                                         /* ~1,000 fetches a second */
            gossip_budget_earn (b, p, 1024 * 34, t);
            HT_CHECK (gossip_budget_ask (b, p, GOSSIP_BUDGET_FETCH, t, NULL) == GOSSIP_BUDGET_GO);
            for (uint64_t i = done; i < ids && i < done + 1024; i++) {
                HT_CHECK (gossip_budget_event_ok (b, p, t));
                HT_CHECK_EQ_INT (gossip_budget_event (b, p, 400, t), 1);
                fetched++;
            }
        }
    }
    const gossip_budget_stats_t *s = gossip_budget_stats (b);
    HT_CHECK_EQ_INT (s->deferred [GOSSIP_BUDGET_REASON_DEBT], 0);
    HT_CHECK_EQ_INT (s->bytes_owed, 100000 * 400);
    HT_CHECK (gossip_budget_credit (b, p, t) > 0);
    gossip_budget_destroy (&b);
}

/*  A peer that claims to lack everything again and again: the ids of its
    replies are owed only as far as its grant goes (2 x items + min per
    period), the rest of what it fetches is paid from its credit. */
HT_TEST (test_rejoin_loop)
{
    gossip_budget_t *b = gossip_budget_new (NULL);
    uint8_t p [32];
    s_key (p, 5);
    const uint64_t items = 1000;
    gossip_budget_set_items (b, items);
    uint64_t t = 0, in = 0, charged_out = 0;
    for (int round = 0; round < 50; round++) {
        gossip_budget_earn (b, p, 5, t);
        in += 5;
        if (gossip_budget_ask (b, p, GOSSIP_BUDGET_OPEN, t, NULL) == GOSSIP_BUDGET_GO) {
            gossip_budget_reply (b, p, items * 32, t);
            charged_out += items * 32;
        }
        t += 10;
        gossip_budget_earn (b, p, items * 34, t);
        in += items * 34;
        if (gossip_budget_ask (b, p, GOSSIP_BUDGET_FETCH, t, NULL) != GOSSIP_BUDGET_GO)
            continue;
        for (uint64_t i = 0; i < items && gossip_budget_event_ok (b, p, t); i++)
            if (gossip_budget_event (b, p, 400, t) == 0)
                charged_out += 400;
        t += 10;
    }
    const gossip_budget_stats_t *s = gossip_budget_stats (b);
    HT_CHECK (s->bytes_owed <= (2 * items + GOSSIP_BUDGET_GRANT_MIN) * 400);
    HT_CHECK (s->events_ungranted > 0);
    HT_CHECK (charged_out <= s_bound (in, t, 400 + items * 32));
    /*  After a period the grant is whole again. */
    gossip_budget_reply (b, p, 32 * 100, t + GOSSIP_BUDGET_GRANT_PERIOD_S * 1000ULL);
    HT_CHECK (gossip_budget_owed (b, p) >= 100);
    gossip_budget_destroy (&b);
}

/*  Announced hashes are owed; owed events are capped. */
HT_TEST (test_owed_cap)
{
    gossip_budget_limits_t lim;
    gossip_budget_limits_defaults (&lim);
    lim.owed_max = 100;
    gossip_budget_t *b = gossip_budget_new (&lim);
    uint8_t p [32];
    s_key (p, 4);
    gossip_budget_owe (b, p, 60, 0);
    gossip_budget_owe (b, p, 60, 0);
    HT_CHECK_EQ_INT (gossip_budget_owed (b, p), 100);
    gossip_budget_reply (b, p, UINT64_MAX, 0);              /* absurd: clamped, no wrap */
    HT_CHECK_EQ_INT (gossip_budget_owed (b, p), 100);
    HT_CHECK (gossip_budget_credit (b, p, 0) < 0);
    HT_CHECK (gossip_budget_event_ok (b, p, 0));             /* owed: goes in debt */
    for (int i = 0; i < 100; i++)
        HT_CHECK_EQ_INT (gossip_budget_event (b, p, 400, 0), 1);
    HT_CHECK (!gossip_budget_event_ok (b, p, 0));
    /*  Time going backwards earns nothing; a long silence refills to the burst. */
    int64_t c = gossip_budget_credit (b, p, 0);
    HT_CHECK_EQ_INT (gossip_budget_credit (b, p, 0), c);
    HT_CHECK_EQ_INT (gossip_budget_credit (b, p, UINT64_MAX / 2), GOSSIP_BUDGET_BURST_BYTES);
    gossip_budget_earn (b, p, UINT64_MAX, UINT64_MAX / 2);
    HT_CHECK_EQ_INT (gossip_budget_credit (b, p, UINT64_MAX / 2), GOSSIP_BUDGET_BANK_BYTES);
    HT_CHECK_EQ_INT (gossip_budget_credit (b, p, UINT64_MAX / 2 + 100000), GOSSIP_BUDGET_BANK_BYTES);
    gossip_budget_destroy (&b);
}

/*  Peers are independent; the table is bounded (LRU); limits checked. */
HT_TEST (test_peers_and_limits)
{
    gossip_budget_limits_t lim;
    gossip_budget_limits_defaults (&lim);
    lim.max_peers = 4;
    gossip_budget_t *b = gossip_budget_new (&lim);
    uint8_t p [32], q [32];
    s_key (p, 1);
    s_key (q, 2);
    gossip_budget_reply (b, p, 10 * 1024 * 1024, 0);
    HT_CHECK (gossip_budget_ask (b, p, GOSSIP_BUDGET_OPEN, 0, NULL) == GOSSIP_BUDGET_DEFER);
    HT_CHECK (gossip_budget_ask (b, q, GOSSIP_BUDGET_OPEN, 0, NULL) == GOSSIP_BUDGET_GO);
    for (int n = 10; n < 20; n++) {
        uint8_t k [32];
        s_key (k, n);
        gossip_budget_earn (b, k, 1, 10 + (uint64_t) n);
    }
    HT_CHECK_EQ_INT (gossip_budget_owed (b, p), 0);          /* p was forgotten */
    gossip_budget_refused (b, GOSSIP_BUDGET_REASON_HELD_FULL);
    gossip_budget_refused (b, GOSSIP_BUDGET_REASON_COUNT);   /* ignored */
    HT_CHECK_EQ_INT (gossip_budget_stats (b)->refused [GOSSIP_BUDGET_REASON_HELD_FULL], 1);
    HT_CHECK_EQ_STR (gossip_budget_reason_name (GOSSIP_BUDGET_REASON_OPEN_RATE), "open_rate");
    HT_CHECK_EQ_STR (gossip_budget_reason_name (GOSSIP_BUDGET_REASON_COUNT), "unknown");
    gossip_budget_destroy (&b);
    gossip_budget_destroy (&b);                              /* safe on NULL */
    lim.base_bps = 0;
    HT_CHECK (gossip_budget_new (&lim) == NULL);
    gossip_budget_limits_defaults (&lim);
    lim.max_peers = 0;
    HT_CHECK (gossip_budget_new (&lim) == NULL);
}

int
main (void)
{
    HT_RUN (test_flood_openings);
    HT_RUN (test_open_rate);
    HT_RUN (test_fetch_unowed);
    HT_RUN (test_join_never_waits);
    HT_RUN (test_rejoin_loop);
    HT_RUN (test_owed_cap);
    HT_RUN (test_peers_and_limits);
    return ht_summary ();
}
