/*  test_gossip_admit.c — admission of remote queries, with time passed in:
    soft limit -> rate_limited, hard limit -> drop, budget spent -> timeout,
    pending cap and max_concurrent -> capacity_exceeded; refill, the "other"
    entry, registration and the bounded peer table. */
#include "hearth_error.h"
#include "hearth_test.h"
#include "gossip_admit.h"

static void
s_key (uint8_t key [32], int n)
{
    memset (key, 0, 32);
    key [0] = (uint8_t) (n & 0xff);
    key [1] = (uint8_t) (n >> 8);
}

/*  The capability's entry. */
static const gossip_admit_cap_t *
s_cap (const gossip_admit_t *a, const char *name)
{
    const gossip_admit_cap_t *caps;
    size_t n = gossip_admit_caps (a, &caps);
    for (size_t i = 0; i < n; i++)
        if (strcmp (caps [i].name, name) == 0)
            return &caps [i];
    return NULL;
}

/*  One call answered at once (start and done when admitted). */
static gossip_admit_verdict_t
s_call (gossip_admit_t *a, const uint8_t *peer, const char *capability, uint64_t now,
        gossip_admit_result_t *out)
{
    gossip_admit_result_t local;
    if (!out)
        out = &local;
    gossip_admit_verdict_t v = gossip_admit_arrive (a, peer, capability, 0, now, out);
    if (v == GOSSIP_ADMIT_RUN) {
        HT_CHECK_EQ_INT (gossip_admit_start (a, out->ticket, now, NULL), HEARTH_OK);
        gossip_admit_done (a, out->ticket, HEARTH_OK);
    }
    return v;
}

static gossip_admit_t *
s_new_served (void)
{
    gossip_admit_t *a = gossip_admit_new (NULL);
    HT_CHECK (a != NULL);
    HT_CHECK_EQ_INT (gossip_admit_serve (a, "market.list", 8, 5000), HEARTH_OK);
    HT_CHECK_EQ_INT (gossip_admit_serve (a, "market.search", 4, 10000), HEARTH_OK);
    return a;
}

HT_TEST (test_soft_then_refill)
{
    gossip_admit_t *a = s_new_served ();
    uint8_t p [32];
    s_key (p, 1);
    gossip_admit_result_t r;
    for (int i = 0; i < GOSSIP_ADMIT_SOFT_CAP_BURST; i++)
        HT_CHECK_EQ_INT (s_call (a, p, "market.list", 1000, &r), GOSSIP_ADMIT_RUN);
    HT_CHECK_EQ_INT (s_call (a, p, "market.list", 1000, &r), GOSSIP_ADMIT_RATE_LIMITED);
    HT_CHECK_EQ_INT (r.reason, GOSSIP_ADMIT_REASON_SOFT_CAPABILITY);
    HT_CHECK_EQ_INT (r.ticket, -1);
    /*  One token at 10/s takes 100 ms. */
    HT_CHECK_EQ_INT (r.retry_after_ms, 1000 / GOSSIP_ADMIT_SOFT_CAP_RPS);
    /*  Not yet a whole token after 99 ms; one after 100 ms, and only one. */
    HT_CHECK_EQ_INT (s_call (a, p, "market.list", 1099, &r), GOSSIP_ADMIT_RATE_LIMITED);
    HT_CHECK_EQ_INT (r.retry_after_ms, 1);
    HT_CHECK_EQ_INT (s_call (a, p, "market.list", 1100, &r), GOSSIP_ADMIT_RUN);
    HT_CHECK_EQ_INT (s_call (a, p, "market.list", 1100, &r), GOSSIP_ADMIT_RATE_LIMITED);
    /*  The other capability and another peer have their own buckets. */
    uint8_t q [32];
    s_key (q, 2);
    HT_CHECK_EQ_INT (s_call (a, p, "market.search", 1100, NULL), GOSSIP_ADMIT_RUN);
    HT_CHECK_EQ_INT (s_call (a, q, "market.list", 1100, NULL), GOSSIP_ADMIT_RUN);
    /*  A long idle refills to the burst, not beyond. */
    int ok = 0;
    for (int i = 0; i < 3 * GOSSIP_ADMIT_SOFT_CAP_BURST; i++)
        ok += s_call (a, p, "market.list", 1000000, NULL) == GOSSIP_ADMIT_RUN;
    HT_CHECK_EQ_INT (ok, GOSSIP_ADMIT_SOFT_CAP_BURST);
    /*  Time going backwards earns nothing and does not crash. */
    HT_CHECK_EQ_INT (s_call (a, p, "market.list", 5, NULL), GOSSIP_ADMIT_RATE_LIMITED);
    const gossip_admit_cap_t *list = s_cap (a, "market.list");
    HT_CHECK_EQ_INT (list->ok, GOSSIP_ADMIT_SOFT_CAP_BURST * 2 + 2);
    HT_CHECK_EQ_INT (list->rate_limited, 3 + 2 * GOSSIP_ADMIT_SOFT_CAP_BURST + 1);
    HT_CHECK_EQ_INT (list->received, list->ok + list->rate_limited);
    HT_CHECK_EQ_INT (list->in_flight, 0);
    gossip_admit_destroy (&a);
    HT_CHECK (a == NULL);
    gossip_admit_destroy (&a);
}

/*  Past the hard rate calls are dropped, counted per reason; every call
    (refused by the soft limit or not) spends a hard token. */
HT_TEST (test_hard_drop)
{
    gossip_admit_t *a = s_new_served ();
    uint8_t p [32], q [32];
    s_key (p, 1);
    s_key (q, 2);
    gossip_admit_result_t r;
    int run = 0, limited = 0, dropped = 0;
    for (int i = 0; i < GOSSIP_ADMIT_HARD_CAP_BURST + 50; i++) {
        gossip_admit_verdict_t v = s_call (a, p, "market.list", 0, &r);
        run += v == GOSSIP_ADMIT_RUN;
        limited += v == GOSSIP_ADMIT_RATE_LIMITED;
        if (v == GOSSIP_ADMIT_DROP) {
            dropped++;
            HT_CHECK_EQ_INT (r.reason, GOSSIP_ADMIT_REASON_HARD_CAPABILITY);
            HT_CHECK_EQ_INT (r.retry_after_ms, 0);
        }
    }
    HT_CHECK_EQ_INT (run, GOSSIP_ADMIT_SOFT_CAP_BURST);
    HT_CHECK_EQ_INT (limited, GOSSIP_ADMIT_HARD_CAP_BURST - GOSSIP_ADMIT_SOFT_CAP_BURST);
    HT_CHECK_EQ_INT (dropped, 50);
    const gossip_admit_cap_t *list = s_cap (a, "market.list");
    HT_CHECK_EQ_INT (list->dropped_capability, 50);
    HT_CHECK_EQ_INT (list->dropped_total, 0);
    HT_CHECK_EQ_INT (list->received, GOSSIP_ADMIT_HARD_CAP_BURST + 50);
    /*  A good peer is untouched. */
    HT_CHECK_EQ_INT (s_call (a, q, "market.list", 0, NULL), GOSSIP_ADMIT_RUN);
    /*  One hard token comes back every 10 ms (100/s): that call is heard
        again (rate_limited: the soft bucket is still empty). */
    HT_CHECK_EQ_INT (s_call (a, p, "market.list", 9, &r), GOSSIP_ADMIT_DROP);
    HT_CHECK_EQ_INT (s_call (a, p, "market.list", 10, &r), GOSSIP_ADMIT_RATE_LIMITED);
    HT_CHECK_EQ_INT (s_call (a, p, "market.list", 10, &r), GOSSIP_ADMIT_DROP);
    gossip_admit_destroy (&a);
}

/*  The per-peer totals, with limits small enough to reach them. */
HT_TEST (test_totals)
{
    gossip_admit_limits_t lim;
    gossip_admit_limits_defaults (&lim);
    lim.soft_total_rps = lim.soft_total_burst = 3;
    lim.hard_total_rps = lim.hard_total_burst = 5;
    lim.peer_pending = 100;
    gossip_admit_t *a = gossip_admit_new (&lim);
    HT_CHECK (a != NULL);
    HT_CHECK_EQ_INT (gossip_admit_serve (a, "a.one", 8, 1000), HEARTH_OK);
    HT_CHECK_EQ_INT (gossip_admit_serve (a, "a.two", 8, 1000), HEARTH_OK);
    uint8_t p [32];
    s_key (p, 9);
    gossip_admit_result_t r;
    HT_CHECK_EQ_INT (s_call (a, p, "a.one", 0, &r), GOSSIP_ADMIT_RUN);
    HT_CHECK_EQ_INT (s_call (a, p, "a.two", 0, &r), GOSSIP_ADMIT_RUN);
    HT_CHECK_EQ_INT (s_call (a, p, "a.one", 0, &r), GOSSIP_ADMIT_RUN);
    HT_CHECK_EQ_INT (s_call (a, p, "a.two", 0, &r), GOSSIP_ADMIT_RATE_LIMITED);
    HT_CHECK_EQ_INT (r.reason, GOSSIP_ADMIT_REASON_SOFT_TOTAL);
    HT_CHECK_EQ_INT (r.retry_after_ms, 1000 / 3 + 1);
    HT_CHECK_EQ_INT (s_call (a, p, "a.one", 0, &r), GOSSIP_ADMIT_RATE_LIMITED);
    HT_CHECK_EQ_INT (s_call (a, p, "a.two", 0, &r), GOSSIP_ADMIT_DROP);
    HT_CHECK_EQ_INT (r.reason, GOSSIP_ADMIT_REASON_HARD_TOTAL);
    HT_CHECK_EQ_INT (s_cap (a, "a.two")->dropped_total, 1);
    HT_CHECK_EQ_INT (s_cap (a, "a.two")->dropped_capability, 0);
    gossip_admit_destroy (&a);
    /*  Zero limits are refused. */
    lim.hard_cap_rps = 0;
    HT_CHECK (gossip_admit_new (&lim) == NULL);
}

/*  A call that waited its whole budget is not run; the budget is the
    caller's, cut to the capability's timeout. */
HT_TEST (test_budget)
{
    gossip_admit_t *a = s_new_served ();
    uint8_t p [32];
    s_key (p, 1);
    gossip_admit_result_t r1, r2;
    HT_CHECK_EQ_INT (gossip_admit_arrive (a, p, "market.list", 50, 1000, &r1), GOSSIP_ADMIT_RUN);
    HT_CHECK_EQ_INT (r1.budget_ms, 50);
    HT_CHECK_EQ_INT (gossip_admit_arrive (a, p, "market.list", 50, 1000, &r2), GOSSIP_ADMIT_RUN);
    uint64_t waited = 0;
    HT_CHECK_EQ_INT (gossip_admit_start (a, r1.ticket, 1049, &waited), HEARTH_OK);
    HT_CHECK_EQ_INT (waited, 49);
    gossip_admit_done (a, r1.ticket, HEARTH_OK);
    HT_CHECK_EQ_INT (gossip_admit_start (a, r2.ticket, 1050, &waited), HEARTH_ETIMEOUT);
    HT_CHECK_EQ_INT (waited, 50);
    gossip_admit_done (a, r2.ticket, HEARTH_ETIMEOUT);
    const gossip_admit_cap_t *list = s_cap (a, "market.list");
    HT_CHECK_EQ_INT (list->ok, 1);
    HT_CHECK_EQ_INT (list->timeouts, 1);
    HT_CHECK_EQ_INT (list->errors, 0);
    HT_CHECK_EQ_INT (list->in_flight, 0);
    HT_CHECK_EQ_INT (list->in_flight_peak, 2);
    /*  No budget: the capability's timeout; more than it: cut to it. */
    HT_CHECK_EQ_INT (gossip_admit_arrive (a, p, "market.search", 0, 2000, &r1), GOSSIP_ADMIT_RUN);
    HT_CHECK_EQ_INT (r1.budget_ms, 10000);
    HT_CHECK_EQ_INT (gossip_admit_arrive (a, p, "market.list", 60000, 2000, &r2), GOSSIP_ADMIT_RUN);
    HT_CHECK_EQ_INT (r2.budget_ms, 5000);
    HT_CHECK_EQ_INT (gossip_admit_start (a, r1.ticket, 11999, NULL), HEARTH_OK);
    gossip_admit_done (a, r1.ticket, HEARTH_EINVAL);       /* the handler's error */
    HT_CHECK_EQ_INT (gossip_admit_start (a, r2.ticket, 7000, NULL), HEARTH_ETIMEOUT);
    gossip_admit_done (a, r2.ticket, HEARTH_ETIMEOUT);
    HT_CHECK_EQ_INT (s_cap (a, "market.search")->errors, 1);
    HT_CHECK_EQ_INT (s_cap (a, "market.list")->timeouts, 2);
    /*  A clock that goes back never times out. */
    HT_CHECK_EQ_INT (gossip_admit_arrive (a, p, "market.list", 1, 9000, &r1), GOSSIP_ADMIT_RUN);
    HT_CHECK_EQ_INT (gossip_admit_start (a, r1.ticket, 8000, &waited), HEARTH_OK);
    HT_CHECK_EQ_INT (waited, 0);
    gossip_admit_done (a, r1.ticket, HEARTH_OK);
    gossip_admit_destroy (&a);
}

/*  One peer holds at most GOSSIP_ADMIT_PEER_PENDING calls; a capability at
    most max_concurrent; beyond: capacity_exceeded with retry_after_ms. */
HT_TEST (test_capacity)
{
    gossip_admit_t *a = s_new_served ();
    uint8_t p [32], q [32], s [32];
    s_key (p, 1);
    s_key (q, 2);
    s_key (s, 3);
    gossip_admit_result_t r [GOSSIP_ADMIT_PEER_PENDING + 1];
    for (int i = 0; i < GOSSIP_ADMIT_PEER_PENDING; i++)
        HT_CHECK_EQ_INT (gossip_admit_arrive (a, p, "market.search", 0, 0, &r [i]), GOSSIP_ADMIT_RUN);
    HT_CHECK_EQ_INT (gossip_admit_pending (a, p), GOSSIP_ADMIT_PEER_PENDING);
    gossip_admit_result_t x;
    HT_CHECK_EQ_INT (gossip_admit_arrive (a, p, "market.list", 0, 0, &x), GOSSIP_ADMIT_CAPACITY);
    HT_CHECK_EQ_INT (x.reason, GOSSIP_ADMIT_REASON_PEER_PENDING);
    HT_CHECK_EQ_INT (x.retry_after_ms, GOSSIP_ADMIT_CAPACITY_RETRY_MS);
    HT_CHECK_EQ_INT (s_cap (a, "market.list")->capacity_peer, 1);
    /*  market.search has 4 slots: the second peer fills them, the third is refused. */
    gossip_admit_result_t y [2];
    HT_CHECK_EQ_INT (gossip_admit_arrive (a, q, "market.search", 0, 0, &y [0]), GOSSIP_ADMIT_RUN);
    HT_CHECK_EQ_INT (gossip_admit_arrive (a, q, "market.search", 0, 0, &y [1]), GOSSIP_ADMIT_RUN);
    HT_CHECK_EQ_INT (gossip_admit_arrive (a, s, "market.search", 0, 0, &x), GOSSIP_ADMIT_CAPACITY);
    HT_CHECK_EQ_INT (x.reason, GOSSIP_ADMIT_REASON_MAX_CONCURRENT);
    HT_CHECK_EQ_INT (x.retry_after_ms, GOSSIP_ADMIT_CAPACITY_RETRY_MS);
    const gossip_admit_cap_t *search = s_cap (a, "market.search");
    HT_CHECK_EQ_INT (search->in_flight, 4);
    HT_CHECK_EQ_INT (search->capacity_concurrent, 1);
    /*  Another capability still has room for the third peer. */
    HT_CHECK_EQ_INT (s_call (a, s, "market.list", 0, NULL), GOSSIP_ADMIT_RUN);
    /*  Answering frees the slots. */
    for (int i = 0; i < GOSSIP_ADMIT_PEER_PENDING; i++) {
        HT_CHECK_EQ_INT (gossip_admit_start (a, r [i].ticket, 1, NULL), HEARTH_OK);
        gossip_admit_done (a, r [i].ticket, HEARTH_OK);
    }
    HT_CHECK_EQ_INT (gossip_admit_pending (a, p), 0);
    HT_CHECK_EQ_INT (gossip_admit_arrive (a, s, "market.search", 0, 2, &x), GOSSIP_ADMIT_RUN);
    HT_CHECK_EQ_INT (gossip_admit_arrive (a, p, "market.list", 0, 2, &r [0]), GOSSIP_ADMIT_RUN);
    HT_CHECK_EQ_INT (search->in_flight, 3);
    HT_CHECK_EQ_INT (search->in_flight_peak, 4);
    gossip_admit_done (a, x.ticket, HEARTH_OK);     /* never started: an error answer */
    HT_CHECK_EQ_INT (search->errors, 1);
    gossip_admit_done (a, y [0].ticket, HEARTH_OK);
    gossip_admit_done (a, y [1].ticket, HEARTH_OK);
    gossip_admit_done (a, r [0].ticket, HEARTH_OK);
    HT_CHECK_EQ_INT (search->in_flight, 0);
    HT_CHECK_EQ_INT (s_cap (a, "market.list")->in_flight, 0);
    gossip_admit_destroy (&a);
}

/*  Names that were not registered share the "other" entry: one set of
    buckets, slots and counters, whatever names a peer invents. */
HT_TEST (test_other_and_serve)
{
    gossip_admit_t *a = s_new_served ();
    uint8_t p [32];
    s_key (p, 1);
    int ok = 0;
    for (int i = 0; i < 3 * GOSSIP_ADMIT_SOFT_CAP_BURST; i++) {
        char name [32];
        snprintf (name, sizeof name, "made.up.%d", i);
        ok += s_call (a, p, name, 0, NULL) == GOSSIP_ADMIT_RUN;
    }
    HT_CHECK_EQ_INT (ok, GOSSIP_ADMIT_SOFT_CAP_BURST);
    const gossip_admit_cap_t *caps;
    HT_CHECK_EQ_INT (gossip_admit_caps (a, &caps), 3);
    HT_CHECK_EQ_STR (caps [0].name, GOSSIP_ADMIT_OTHER);
    HT_CHECK_EQ_INT (caps [0].received, 3 * GOSSIP_ADMIT_SOFT_CAP_BURST);
    HT_CHECK_EQ_INT (caps [0].max_concurrent, GOSSIP_ADMIT_OTHER_MAX_CONCURRENT);
    HT_CHECK_EQ_INT (caps [0].timeout_ms, GOSSIP_ADMIT_OTHER_TIMEOUT_MS);
    /*  Registration: bad names and limits, re-registering, a full table. */
    HT_CHECK_EQ_INT (gossip_admit_serve (a, "", 1, 1), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (gossip_admit_serve (a, GOSSIP_ADMIT_OTHER, 1, 1), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (gossip_admit_serve (a, "x", 0, 1), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (gossip_admit_serve (a, "x", GOSSIP_ADMIT_MAX_CONCURRENT + 1, 1), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (gossip_admit_serve (a, "x", 1, 0), HEARTH_EINVAL);
    char longname [GOSSIP_ADMIT_NAME_BYTES + 2];
    memset (longname, 'a', sizeof longname - 1);
    longname [sizeof longname - 1] = 0;
    HT_CHECK_EQ_INT (gossip_admit_serve (a, longname, 1, 1), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (gossip_admit_serve (a, "market.list", 2, 700), HEARTH_OK);
    HT_CHECK_EQ_INT (gossip_admit_caps (a, &caps), 3);
    HT_CHECK_EQ_INT (s_cap (a, "market.list")->max_concurrent, 2);
    HT_CHECK_EQ_INT (s_cap (a, "market.list")->timeout_ms, 700);
    for (int i = 3; i < GOSSIP_ADMIT_MAX_CAPS; i++) {
        char name [32];
        snprintf (name, sizeof name, "cap.%d", i);
        HT_CHECK_EQ_INT (gossip_admit_serve (a, name, 1, 1), HEARTH_OK);
    }
    HT_CHECK_EQ_INT (gossip_admit_serve (a, "one.more", 1, 1), HEARTH_ECAPACITY);
    HT_CHECK_EQ_INT (gossip_admit_serve (NULL, "x", 1, 1), HEARTH_EINVAL);
    gossip_admit_destroy (&a);
}

HT_TEST (test_peer_table_bound)
{
    gossip_admit_limits_t lim;
    gossip_admit_limits_defaults (&lim);
    lim.max_peers = 4;
    gossip_admit_t *a = gossip_admit_new (&lim);
    HT_CHECK_EQ_INT (gossip_admit_serve (a, "market.list", 8, 5000), HEARTH_OK);
    uint8_t k [32];
    /*  Peers 0..3 fill the table; 0 is drained. */
    for (int n = 0; n < 4; n++) {
        s_key (k, n);
        s_call (a, k, "market.list", (uint64_t) n, NULL);
    }
    s_key (k, 0);
    for (int i = 0; i < GOSSIP_ADMIT_SOFT_CAP_BURST; i++)
        s_call (a, k, "market.list", 10, NULL);
    HT_CHECK_EQ_INT (s_call (a, k, "market.list", 10, NULL), GOSSIP_ADMIT_RATE_LIMITED);
    /*  Peer 1 is now least recently seen: peer 4 evicts it, not peer 0. */
    s_key (k, 4);
    HT_CHECK_EQ_INT (s_call (a, k, "market.list", 11, NULL), GOSSIP_ADMIT_RUN);
    HT_CHECK_EQ_INT (gossip_admit_peers (a), 4);
    s_key (k, 0);
    HT_CHECK_EQ_INT (s_call (a, k, "market.list", 12, NULL), GOSSIP_ADMIT_RATE_LIMITED);
    /*  Many more peers: the table never grows past its bound. */
    for (int n = 100; n < 1100; n++) {
        s_key (k, n);
        s_call (a, k, "market.list", 20 + (uint64_t) n, NULL);
    }
    HT_CHECK_EQ_INT (gossip_admit_peers (a), 4);
    HT_CHECK_EQ_STR (gossip_admit_reason_name (GOSSIP_ADMIT_REASON_HARD_TOTAL), "hard_total");
    HT_CHECK_EQ_STR (gossip_admit_reason_name (GOSSIP_ADMIT_REASON_COUNT), "none");
    gossip_admit_destroy (&a);
}

int
main (void)
{
    HT_RUN (test_soft_then_refill);
    HT_RUN (test_hard_drop);
    HT_RUN (test_totals);
    HT_RUN (test_budget);
    HT_RUN (test_capacity);
    HT_RUN (test_other_and_serve);
    HT_RUN (test_peer_table_bound);
    return ht_summary ();
}
