/*  test_node_ratelimit.c — node_ratelimit: burst, refusal, refill, key
    independence, the per-peer total, and the bounded peer table. */
#include "hearth_error.h"
#include "hearth_test.h"
#include "node_ratelimit.h"

static void
s_key (uint8_t key [32], int n)
{
    memset (key, 0, 32);
    key [0] = (uint8_t) (n & 0xff);
    key [1] = (uint8_t) (n >> 8);
}

HT_TEST (test_burst_then_refused)
{
    node_ratelimit_t *rl = node_ratelimit_new (0);
    HT_CHECK (rl != NULL);
    uint8_t a [32];
    s_key (a, 1);
    uint64_t retry = 0;
    for (int i = 0; i < NODE_RATELIMIT_CAP_BURST; i++)
        HT_CHECK_EQ_INT (node_ratelimit_check (rl, a, "market.list", 1000, &retry), HEARTH_OK);
    HT_CHECK_EQ_INT (node_ratelimit_check (rl, a, "market.list", 1000, &retry), HEARTH_ERATE);
    /*  One token at 10/s takes 100 ms. */
    HT_CHECK_EQ_INT (retry, 1000 / NODE_RATELIMIT_CAP_RPS);
    node_ratelimit_destroy (&rl);
    HT_CHECK (rl == NULL);
    node_ratelimit_destroy (&rl);
}

HT_TEST (test_refill)
{
    node_ratelimit_t *rl = node_ratelimit_new (0);
    uint8_t a [32];
    s_key (a, 1);
    uint64_t retry = 0;
    for (int i = 0; i < NODE_RATELIMIT_CAP_BURST; i++)
        node_ratelimit_check (rl, a, "market.search", 0, &retry);
    HT_CHECK_EQ_INT (node_ratelimit_check (rl, a, "market.search", 0, &retry), HEARTH_ERATE);
    /*  Not yet a whole token after 99 ms; one after 100 ms, and only one. */
    HT_CHECK_EQ_INT (node_ratelimit_check (rl, a, "market.search", 99, &retry), HEARTH_ERATE);
    HT_CHECK_EQ_INT (retry, 1);
    HT_CHECK_EQ_INT (node_ratelimit_check (rl, a, "market.search", 100, &retry), HEARTH_OK);
    HT_CHECK_EQ_INT (node_ratelimit_check (rl, a, "market.search", 100, &retry), HEARTH_ERATE);
    /*  A long idle refills to the burst, not beyond. */
    int ok = 0;
    for (int i = 0; i < 3 * NODE_RATELIMIT_CAP_BURST; i++)
        if (node_ratelimit_check (rl, a, "market.search", 1000000, &retry) == HEARTH_OK)
            ok++;
    HT_CHECK_EQ_INT (ok, NODE_RATELIMIT_CAP_BURST);
    /*  Time going backwards earns nothing and does not crash. */
    HT_CHECK_EQ_INT (node_ratelimit_check (rl, a, "market.search", 5, &retry), HEARTH_ERATE);
    node_ratelimit_destroy (&rl);
}

HT_TEST (test_keys_independent)
{
    node_ratelimit_t *rl = node_ratelimit_new (0);
    uint8_t a [32], b [32];
    s_key (a, 1);
    s_key (b, 2);
    for (int i = 0; i < NODE_RATELIMIT_CAP_BURST; i++)
        node_ratelimit_check (rl, a, "market.list", 0, NULL);
    HT_CHECK_EQ_INT (node_ratelimit_check (rl, a, "market.list", 0, NULL), HEARTH_ERATE);
    /*  Same peer, other capability; other peer, same capability. */
    HT_CHECK_EQ_INT (node_ratelimit_check (rl, a, "market.search", 0, NULL), HEARTH_OK);
    HT_CHECK_EQ_INT (node_ratelimit_check (rl, b, "market.list", 0, NULL), HEARTH_OK);
    HT_CHECK_EQ_INT (node_ratelimit_size (rl), 2);
    HT_CHECK_EQ_INT (node_ratelimit_check (NULL, a, "market.list", 0, NULL), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (node_ratelimit_check (rl, a, NULL, 0, NULL), HEARTH_EINVAL);
    node_ratelimit_destroy (&rl);
}

HT_TEST (test_total_per_peer)
{
    /*  Spread over many capabilities, a peer still gets TOTAL_BURST calls. */
    node_ratelimit_t *rl = node_ratelimit_new (0);
    uint8_t a [32];
    s_key (a, 7);
    int ok = 0;
    uint64_t retry = 0;
    for (int i = 0; i < 2 * NODE_RATELIMIT_TOTAL_BURST; i++) {
        char cap [32];
        snprintf (cap, sizeof cap, "cap.%d", i);   /* more names than slots */
        if (node_ratelimit_check (rl, a, cap, 0, &retry) == HEARTH_OK)
            ok++;
    }
    HT_CHECK_EQ_INT (ok, NODE_RATELIMIT_TOTAL_BURST);
    HT_CHECK_EQ_INT (node_ratelimit_check (rl, a, "cap.new", 0, &retry), HEARTH_ERATE);
    HT_CHECK_EQ_INT (retry, 1000 / NODE_RATELIMIT_TOTAL_RPS);
    node_ratelimit_destroy (&rl);
}

HT_TEST (test_table_bound_lru)
{
    node_ratelimit_t *rl = node_ratelimit_new (4);
    uint8_t k [32];
    /*  Peers 0..3 fill the table; 0 is drained. */
    for (int n = 0; n < 4; n++) {
        s_key (k, n);
        node_ratelimit_check (rl, k, "market.list", (uint64_t) n, NULL);
    }
    s_key (k, 0);
    for (int i = 0; i < NODE_RATELIMIT_CAP_BURST; i++)
        node_ratelimit_check (rl, k, "market.list", 10, NULL);
    HT_CHECK_EQ_INT (node_ratelimit_check (rl, k, "market.list", 10, NULL), HEARTH_ERATE);
    /*  Peer 1 is now least recently seen: peer 4 evicts it, not peer 0. */
    s_key (k, 4);
    HT_CHECK_EQ_INT (node_ratelimit_check (rl, k, "market.list", 11, NULL), HEARTH_OK);
    HT_CHECK_EQ_INT (node_ratelimit_size (rl), 4);
    s_key (k, 0);
    HT_CHECK_EQ_INT (node_ratelimit_check (rl, k, "market.list", 12, NULL), HEARTH_ERATE);
    /*  Many more peers: the table never grows past its bound. */
    for (int n = 100; n < 1100; n++) {
        s_key (k, n);
        node_ratelimit_check (rl, k, "market.list", 20 + (uint64_t) n, NULL);
    }
    HT_CHECK_EQ_INT (node_ratelimit_size (rl), 4);
    node_ratelimit_destroy (&rl);
}

int
main (void)
{
    HT_RUN (test_burst_then_refused);
    HT_RUN (test_refill);
    HT_RUN (test_keys_independent);
    HT_RUN (test_total_per_peer);
    HT_RUN (test_table_bound_lru);
    return ht_summary ();
}
