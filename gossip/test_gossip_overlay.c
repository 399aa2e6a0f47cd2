/*  test_gossip_overlay.c — the overlay's rules, deterministically: times
    are arguments, keys are made from counters, each overlay has a fixed
    seed. Checks the out links (count, never ourselves, dial timeouts and
    backoff, bootstrap and pinned seeds, shuffles, surplus), in links
    (in_max, the invitee reserve), the table (forget, the known_max cap,
    samples), the saved table (round trip, hostile bytes), and that the
    random choice of links is not biased by the order of the table.
*/
#include "hearth_test.h"
#include "hearth_error.h"
#include "gossip_overlay.h"
#include "gossip_wire.h"                    /* GOSSIP_MAX_ADDRESS */

#define S_MAX_ACTIONS 64

static uint8_t s_self [32] = { 0xee, 0xee };

static void
s_key (uint32_t i, uint8_t key [32])
{
    memset (key, 0x5a, 32);
    memcpy (key, &i, sizeof i);
}

static const char *
s_address (uint32_t i)
{
    static char text [64];
    snprintf (text, sizeof text, "node%u@tcp://127.0.0.1:%u", i, 10000 + i);
    return text;
}

/*  Key i known as a member learnt from a hello; 1 when new. */
static int
s_learn (gossip_overlay_t *o, uint32_t i, int from, uint64_t now)
{
    uint8_t key [32];
    s_key (i, key);
    return gossip_overlay_learn (o, key, s_address (i), from, now);
}

/*  Which key i an action names (keys made by s_key), or -1. */
static long
s_index (const uint8_t key [32])
{
    uint8_t k [32];
    uint32_t i;
    memcpy (&i, key, sizeof i);
    s_key (i, k);
    return memcmp (k, key, 32) == 0? (long) i: -1;
}

static gossip_overlay_config_t
s_config (size_t out)
{
    gossip_overlay_config_t cfg;
    gossip_overlay_config_defaults (&cfg);
    cfg.out = out;
    return cfg;
}

static size_t
s_plan (gossip_overlay_t *o, uint64_t now, gossip_overlay_action_t *a)
{
    return gossip_overlay_plan (o, now, a, S_MAX_ACTIONS);
}

static size_t
s_count_verb (const gossip_overlay_action_t *a, size_t n, int verb)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += a [i].verb == verb;
    return c;
}

/*  Bring every DIAL of a plan up. */
static void
s_up_all (gossip_overlay_t *o, const gossip_overlay_action_t *a, size_t n, uint64_t now)
{
    for (size_t i = 0; i < n; i++)
        if (a [i].verb == GOSSIP_OVERLAY_DIAL)
            gossip_overlay_link_up (o, a [i].key, 1, now);
}

HT_TEST (test_config)
{
    gossip_overlay_config_t cfg = s_config (0);
    HT_CHECK (gossip_overlay_new (s_self, &cfg, 1) == NULL);
    cfg = s_config (5);
    cfg.in_max = 0;
    HT_CHECK (gossip_overlay_new (s_self, &cfg, 1) == NULL);
    cfg = s_config (5);
    cfg.known_max = 4;
    HT_CHECK (gossip_overlay_new (s_self, &cfg, 1) == NULL);
    cfg = s_config (5);
    cfg.dial_timeout_ms = 0;
    HT_CHECK (gossip_overlay_new (s_self, &cfg, 1) == NULL);
    HT_CHECK (gossip_overlay_new (NULL, NULL, 1) == NULL);
    gossip_overlay_t *o = gossip_overlay_new (s_self, NULL, 1);
    HT_CHECK (o != NULL);
    gossip_overlay_destroy (&o);
    HT_CHECK (o == NULL);
    gossip_overlay_destroy (&o);
    gossip_overlay_destroy (NULL);
    /*  The address cap is the wire's. */
    HT_CHECK_EQ_INT (GOSSIP_MAX_ADDRESS, 256);
}

HT_TEST (test_learn)
{
    gossip_overlay_t *o = gossip_overlay_new (s_self, NULL, 1);
    uint8_t key [32];
    s_key (1, key);
    HT_CHECK_EQ_INT (gossip_overlay_learn (o, key, "a@tcp://1", GOSSIP_OVERLAY_FROM_HELLO, 10), 1);
    HT_CHECK (gossip_overlay_dirty (o));
    HT_CHECK_EQ_INT (gossip_overlay_learn (o, key, "a@tcp://1", GOSSIP_OVERLAY_FROM_HELLO, 20), 0);
    const gossip_overlay_peer_t *p = gossip_overlay_find (o, key);
    HT_CHECK (p && p->learned_ms == 20 && !p->seed && p->from == GOSSIP_OVERLAY_FROM_HELLO);
    /*  A new address replaces the old; learning as a seed makes a seed, `from` stays. */
    HT_CHECK_EQ_INT (gossip_overlay_learn (o, key, "a@tcp://2", GOSSIP_OVERLAY_FROM_SEED, 30), 0);
    p = gossip_overlay_find (o, key);
    HT_CHECK (p && p->seed && p->from == GOSSIP_OVERLAY_FROM_HELLO);
    HT_CHECK_EQ_STR (p->address, "a@tcp://2");
    /*  Our own key is never known. */
    HT_CHECK_EQ_INT (gossip_overlay_learn (o, s_self, "me@tcp://1", GOSSIP_OVERLAY_FROM_SEED, 30), 0);
    HT_CHECK (gossip_overlay_find (o, s_self) == NULL);
    HT_CHECK_EQ_INT (gossip_overlay_count (o), 1);
    /*  Addresses: empty and GOSSIP_MAX_ADDRESS bytes are refused, one less is taken. */
    char longest [GOSSIP_MAX_ADDRESS + 1];
    memset (longest, 'x', sizeof longest);
    longest [GOSSIP_MAX_ADDRESS] = 0;
    s_key (2, key);
    HT_CHECK_EQ_INT (gossip_overlay_learn (o, key, "", GOSSIP_OVERLAY_FROM_HELLO, 1), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (gossip_overlay_learn (o, key, NULL, GOSSIP_OVERLAY_FROM_HELLO, 1), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (gossip_overlay_learn (o, key, longest, GOSSIP_OVERLAY_FROM_HELLO, 1), HEARTH_EINVAL);
    longest [GOSSIP_MAX_ADDRESS - 1] = 0;
    HT_CHECK_EQ_INT (gossip_overlay_learn (o, key, longest, GOSSIP_OVERLAY_FROM_HELLO, 1), 1);
    HT_CHECK_EQ_INT (strlen (gossip_overlay_find (o, key)->address), GOSSIP_MAX_ADDRESS - 1);
    /*  Many keys: the index grows and finds all of them; forgetting half keeps the rest. */
    for (uint32_t i = 100; i < 400; i++)
        HT_CHECK_EQ_INT (s_learn (o, i, GOSSIP_OVERLAY_FROM_HELLO, 1), 1);
    for (uint32_t i = 100; i < 400; i += 2) {
        s_key (i, key);
        gossip_overlay_forget (o, key);
    }
    HT_CHECK_EQ_INT (gossip_overlay_count (o), 2 + 150);
    for (uint32_t i = 100; i < 400; i++) {
        s_key (i, key);
        p = gossip_overlay_find (o, key);
        HT_CHECK ((p != NULL) == (i % 2 == 1));
        if (p)
            HT_CHECK_EQ_STR (p->address, s_address (i));
    }
    for (size_t i = 0; i < gossip_overlay_count (o); i++)
        HT_CHECK (gossip_overlay_find (o, gossip_overlay_at (o, i)->key) == gossip_overlay_at (o, i));
    HT_CHECK (gossip_overlay_at (o, gossip_overlay_count (o)) == NULL);
    gossip_overlay_destroy (&o);
}

/*  A run of plans over simulated time, with some links coming up and
    others not; its actions written into trace. */
static size_t
s_scenario (uint64_t seed, gossip_overlay_action_t *trace, size_t max)
{
    gossip_overlay_config_t cfg = s_config (4);
    cfg.shuffle_ms = 5000;
    gossip_overlay_t *o = gossip_overlay_new (s_self, &cfg, seed);
    s_learn (o, 0, GOSSIP_OVERLAY_FROM_SEED, 0);
    size_t n = 0;
    gossip_overlay_action_t a [S_MAX_ACTIONS];
    for (uint64_t t = 0; t < 60000; t += 250) {
        if (t == 1000)
            for (uint32_t i = 1; i < 40; i++)
                s_learn (o, i, GOSSIP_OVERLAY_FROM_HELLO, t);
        size_t k = s_plan (o, t, a);
        for (size_t i = 0; i < k; i++) {
            long idx = s_index (a [i].key);
            if (a [i].verb == GOSSIP_OVERLAY_DIAL && idx % 3 != 1)    /* a third never answers */
                gossip_overlay_link_up (o, a [i].key, 1, t);
            if (n < max)
                trace [n++] = a [i];
        }
    }
    gossip_overlay_destroy (&o);
    return n;
}

HT_TEST (test_deterministic)
{
    static gossip_overlay_action_t a [4096], b [4096], c [4096];
    size_t na = s_scenario (42, a, 4096);
    size_t nb = s_scenario (42, b, 4096);
    size_t nc = s_scenario (43, c, 4096);
    HT_CHECK (na > 20);
    HT_CHECK_EQ_INT (na, nb);
    HT_CHECK (memcmp (a, b, na * sizeof a [0]) == 0);
    HT_CHECK (nc != na || memcmp (a, c, na * sizeof a [0]) != 0);
}

HT_TEST (test_never_self)
{
    gossip_overlay_config_t cfg = s_config (5);
    gossip_overlay_t *o = gossip_overlay_new (s_self, &cfg, 7);
    gossip_overlay_learn (o, s_self, "me@tcp://x", GOSSIP_OVERLAY_FROM_HELLO, 0);
    for (uint32_t i = 1; i <= 3; i++)
        s_learn (o, i, GOSSIP_OVERLAY_FROM_HELLO, 0);
    gossip_overlay_dialling (o, s_self, 0);
    gossip_overlay_link_up (o, s_self, 1, 0);
    HT_CHECK_EQ_INT (gossip_overlay_in_admit (o, s_self, 1, 0), 0);
    gossip_overlay_action_t a [S_MAX_ACTIONS];
    for (uint64_t t = 0; t < 100000; t += 500) {
        size_t n = s_plan (o, t, a);
        for (size_t i = 0; i < n; i++)
            HT_CHECK (memcmp (a [i].key, s_self, 32) != 0);
    }
    size_t total = 9, in = 9;
    gossip_overlay_links (o, &total, NULL, &in, NULL);
    HT_CHECK (total <= 3);
    HT_CHECK_EQ_INT (in, 0);
    gossip_overlay_destroy (&o);
}

HT_TEST (test_out_count)
{
    gossip_overlay_config_t cfg = s_config (5);
    gossip_overlay_t *o = gossip_overlay_new (s_self, &cfg, 9);
    for (uint32_t i = 1; i <= 50; i++)
        s_learn (o, i, GOSSIP_OVERLAY_FROM_HELLO, 0);
    gossip_overlay_action_t a [S_MAX_ACTIONS];
    size_t n = s_plan (o, 100, a);
    HT_CHECK_EQ_INT (n, 5);
    HT_CHECK_EQ_INT (s_count_verb (a, n, GOSSIP_OVERLAY_DIAL), 5);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            HT_CHECK (memcmp (a [i].key, a [j].key, 32) != 0);
    HT_CHECK_EQ_INT (s_plan (o, 200, a), 0);        /* dialling: nothing more */
    s_up_all (o, a, n, 300);
    size_t total, up;
    gossip_overlay_links (o, &total, &up, NULL, NULL);
    HT_CHECK_EQ_INT (total, 5);
    HT_CHECK_EQ_INT (up, 5);
    HT_CHECK_EQ_INT (s_plan (o, 400, a), 0);
    HT_CHECK_EQ_INT (gossip_overlay_stats (o)->dials, 5);
    /*  A peer dialling us is no reason for another out link. */
    uint8_t key [32];
    s_key (49, key);
    HT_CHECK_EQ_INT (gossip_overlay_in_admit (o, key, 1, 500), 1);
    HT_CHECK_EQ_INT (s_plan (o, 600, a), 0);
    gossip_overlay_destroy (&o);
}

HT_TEST (test_dial_timeout_backoff)
{
    gossip_overlay_config_t cfg = s_config (1);
    cfg.shuffle_ms = 0;
    gossip_overlay_t *o = gossip_overlay_new (s_self, &cfg, 11);
    for (uint32_t i = 1; i <= 10; i++)
        s_learn (o, i, GOSSIP_OVERLAY_FROM_HELLO, 0);
    gossip_overlay_action_t a [S_MAX_ACTIONS];
    uint64_t t = 1000;
    HT_CHECK_EQ_INT (s_plan (o, t, a), 1);
    uint8_t first [32];
    memcpy (first, a [0].key, 32);
    HT_CHECK_EQ_INT (s_plan (o, t + GOSSIP_OVERLAY_DIAL_TIMEOUT_MS - 1, a), 0);
    t += GOSSIP_OVERLAY_DIAL_TIMEOUT_MS;
    size_t n = s_plan (o, t, a);
    HT_CHECK_EQ_INT (n, 2);
    HT_CHECK (a [0].verb == GOSSIP_OVERLAY_CLOSE && memcmp (a [0].key, first, 32) == 0);
    HT_CHECK (a [1].verb == GOSSIP_OVERLAY_DIAL && memcmp (a [1].key, first, 32) != 0);
    const gossip_overlay_peer_t *p = gossip_overlay_find (o, first);
    HT_CHECK_EQ_INT (p->fails, 1);
    HT_CHECK_EQ_INT (p->retry_at_ms, t + GOSSIP_OVERLAY_RETRY_MIN_MS);
    HT_CHECK_EQ_INT (gossip_overlay_stats (o)->dial_failures, 1);
    /*  The backoff doubles per failure up to the max. */
    uint64_t expect = GOSSIP_OVERLAY_RETRY_MIN_MS;
    for (int i = 2; i < 20; i++) {
        gossip_overlay_dial_failed (o, first, t);
        expect = expect * 2 > GOSSIP_OVERLAY_RETRY_MAX_MS? GOSSIP_OVERLAY_RETRY_MAX_MS: expect * 2;
        p = gossip_overlay_find (o, first);
        HT_CHECK_EQ_INT (p->fails, i);
        HT_CHECK_EQ_INT (p->retry_at_ms - t, expect);
    }
    HT_CHECK_EQ_INT (expect, GOSSIP_OVERLAY_RETRY_MAX_MS);
    /*  An up link that goes down and is not up again in time fails the same way. */
    uint8_t second [32];
    memcpy (second, a [1].key, 32);
    gossip_overlay_link_up (o, second, 1, t + 10);
    p = gossip_overlay_find (o, second);
    HT_CHECK (p->last_reached_ms == t + 10 && p->fails == 0);
    gossip_overlay_link_down (o, second, 1, t + 20);
    HT_CHECK_EQ_INT (s_plan (o, t + 20 + GOSSIP_OVERLAY_DIAL_TIMEOUT_MS - 1, a), 0);
    gossip_overlay_link_up (o, second, 1, t + 30);              /* back in time: stays */
    HT_CHECK_EQ_INT (s_plan (o, t + 10000, a), 0);
    gossip_overlay_link_down (o, second, 1, t + 10000);
    n = s_plan (o, t + 10000 + GOSSIP_OVERLAY_DIAL_TIMEOUT_MS, a);
    HT_CHECK_EQ_INT (n, 2);
    HT_CHECK (a [0].verb == GOSSIP_OVERLAY_CLOSE && memcmp (a [0].key, second, 32) == 0);
    HT_CHECK (a [1].verb == GOSSIP_OVERLAY_DIAL && memcmp (a [1].key, second, 32) != 0
              && memcmp (a [1].key, first, 32) != 0);
    /*  A dial the caller could not start: the entry backs off, another is dialled. */
    uint8_t third [32];
    memcpy (third, a [1].key, 32);
    gossip_overlay_dial_failed (o, third, t + 10000 + GOSSIP_OVERLAY_DIAL_TIMEOUT_MS);
    n = s_plan (o, t + 10001 + GOSSIP_OVERLAY_DIAL_TIMEOUT_MS, a);
    HT_CHECK_EQ_INT (n, 1);
    HT_CHECK (a [0].verb == GOSSIP_OVERLAY_DIAL && memcmp (a [0].key, third, 32) != 0);
    gossip_overlay_destroy (&o);
}

/*  Every member down: each is tried, backs off, and plans keep within
    bounds (no dial of a backing-off entry). */
HT_TEST (test_all_failing)
{
    gossip_overlay_config_t cfg = s_config (3);
    gossip_overlay_t *o = gossip_overlay_new (s_self, &cfg, 12);
    for (uint32_t i = 1; i <= 6; i++)
        s_learn (o, i, GOSSIP_OVERLAY_FROM_HELLO, 0);
    gossip_overlay_action_t a [S_MAX_ACTIONS];
    for (uint64_t t = 0; t < 600000; t += 100) {
        size_t n = s_plan (o, t, a);
        for (size_t i = 0; i < n; i++)
            if (a [i].verb == GOSSIP_OVERLAY_DIAL)
                HT_CHECK (gossip_overlay_find (o, a [i].key)->retry_at_ms <= t);
        size_t total;
        gossip_overlay_links (o, &total, NULL, NULL, NULL);
        HT_CHECK (total <= 3);
    }
    for (uint32_t i = 0; i < 6; i++)
        HT_CHECK (gossip_overlay_at (o, i)->fails >= 3);
    gossip_overlay_destroy (&o);
}

HT_TEST (test_bootstrap)
{
    gossip_overlay_config_t cfg = s_config (3);
    cfg.shuffle_ms = 0;
    gossip_overlay_t *o = gossip_overlay_new (s_self, &cfg, 13);
    HT_CHECK_EQ_INT (s_learn (o, 0, GOSSIP_OVERLAY_FROM_SEED, 0), 1);
    gossip_overlay_action_t a [S_MAX_ACTIONS];
    size_t n = s_plan (o, 0, a);
    HT_CHECK_EQ_INT (n, 1);
    HT_CHECK (a [0].verb == GOSSIP_OVERLAY_DIAL && s_index (a [0].key) == 0);
    gossip_overlay_link_up (o, a [0].key, 1, 10);
    /*  The seed's hello brings two members: fewer than `out` besides the seed. */
    s_learn (o, 1, GOSSIP_OVERLAY_FROM_HELLO, 20);
    s_learn (o, 2, GOSSIP_OVERLAY_FROM_HELLO, 20);
    n = s_plan (o, 30, a);
    HT_CHECK_EQ_INT (n, 2);
    HT_CHECK_EQ_INT (s_count_verb (a, n, GOSSIP_OVERLAY_DIAL), 2);
    s_up_all (o, a, n, 40);
    HT_CHECK_EQ_INT (s_plan (o, 50, a), 0);     /* 2 random up, the seed stays */
    s_learn (o, 3, GOSSIP_OVERLAY_FROM_HELLO, 60);
    s_learn (o, 4, GOSSIP_OVERLAY_FROM_HELLO, 60);
    n = s_plan (o, 70, a);
    HT_CHECK_EQ_INT (n, 1);
    HT_CHECK (a [0].verb == GOSSIP_OVERLAY_DIAL && s_index (a [0].key) >= 3);
    HT_CHECK_EQ_INT (s_plan (o, 80, a), 0);     /* not up yet: the seed stays */
    s_up_all (o, a, n, 90);
    n = s_plan (o, 100, a);
    HT_CHECK_EQ_INT (n, 1);
    HT_CHECK (a [0].verb == GOSSIP_OVERLAY_CLOSE && s_index (a [0].key) == 0);
    HT_CHECK_EQ_INT (gossip_overlay_stats (o)->closes_bootstrap, 1);
    /*  Enough members known: the seed is not dialled to bootstrap again. */
    for (uint64_t t = 200; t < 20000; t += 500)
        HT_CHECK_EQ_INT (s_plan (o, t, a), 0);
    size_t total, up;
    gossip_overlay_links (o, &total, &up, NULL, NULL);
    HT_CHECK (total == 3 && up == 3);
    /*  The shell's own dial (peers add) is a bootstrap link too. */
    uint8_t key [32];
    s_key (4, key);
    const gossip_overlay_peer_t *p = gossip_overlay_find (o, key);
    HT_CHECK (p != NULL);
    if (p && p->last_reached_ms == 0) {
        gossip_overlay_dialling (o, key, 30000);
        gossip_overlay_link_up (o, key, 1, 30001);
        n = s_plan (o, 30002, a);
        HT_CHECK_EQ_INT (n, 1);
        HT_CHECK (a [0].verb == GOSSIP_OVERLAY_CLOSE && s_index (a [0].key) == 4);
    }
    gossip_overlay_destroy (&o);
}

HT_TEST (test_pin_seeds)
{
    gossip_overlay_config_t cfg = s_config (3);
    cfg.pin_seeds = 1;
    cfg.shuffle_ms = 1000;
    gossip_overlay_t *o = gossip_overlay_new (s_self, &cfg, 14);
    s_learn (o, 0, GOSSIP_OVERLAY_FROM_SEED, 0);
    s_learn (o, 1, GOSSIP_OVERLAY_FROM_SEED, 0);
    for (uint32_t i = 2; i < 20; i++)
        s_learn (o, i, GOSSIP_OVERLAY_FROM_HELLO, 0);
    gossip_overlay_action_t a [S_MAX_ACTIONS];
    size_t n = s_plan (o, 0, a);
    HT_CHECK_EQ_INT (n, 2);
    HT_CHECK_EQ_INT (s_count_verb (a, n, GOSSIP_OVERLAY_DIAL), 2);
    for (size_t i = 0; i < n; i++)
        HT_CHECK (s_index (a [i].key) <= 1);
    uint8_t seed0 [32];
    s_key (0, seed0);
    gossip_overlay_link_up (o, seed0, 1, 10);       /* seed 1 never answers */
    for (uint64_t t = 100; t < 120000; t += 300) {
        n = s_plan (o, t, a);
        HT_CHECK_EQ_INT (n, 0);
    }
    size_t total, up;
    gossip_overlay_links (o, &total, &up, NULL, NULL);
    HT_CHECK (total == 2 && up == 1);
    uint8_t seed1 [32];
    s_key (1, seed1);
    HT_CHECK (gossip_overlay_find (o, seed1)->fails > 0);  /* its timeouts are counted */
    /*  A seed whose dial failed for good is dialled again after its backoff. */
    gossip_overlay_dial_failed (o, seed1, 200000);
    HT_CHECK_EQ_INT (s_plan (o, 200001, a), 0);
    n = s_plan (o, 200000 + GOSSIP_OVERLAY_RETRY_MAX_MS, a);
    HT_CHECK (n == 1 && a [0].verb == GOSSIP_OVERLAY_DIAL && s_index (a [0].key) == 1);
    gossip_overlay_destroy (&o);
}

HT_TEST (test_shuffle)
{
    gossip_overlay_config_t cfg = s_config (3);
    cfg.shuffle_ms = 10000;
    cfg.dial_timeout_ms = 1000000;
    gossip_overlay_t *o = gossip_overlay_new (s_self, &cfg, 15);
    for (uint32_t i = 1; i <= 3; i++)
        s_learn (o, i, GOSSIP_OVERLAY_FROM_HELLO, 0);
    gossip_overlay_action_t a [S_MAX_ACTIONS];
    size_t n = s_plan (o, 0, a);
    HT_CHECK_EQ_INT (n, 3);
    s_up_all (o, a, n, 1);
    /*  No other member: never a shuffle. */
    for (uint64_t t = 100; t < 100000; t += 100)
        HT_CHECK_EQ_INT (s_plan (o, t, a), 0);
    HT_CHECK_EQ_INT (gossip_overlay_stats (o)->closes_shuffle, 0);
    /*  A fourth member: within 3/2 shuffle_ms one link is replaced by it. */
    s_learn (o, 4, GOSSIP_OVERLAY_FROM_HELLO, 100000);
    uint64_t t, shuffled_at = 0;
    for (t = 100000; t <= 100000 + 15000 + 100; t += 100) {
        n = s_plan (o, t, a);
        if (n) {
            HT_CHECK_EQ_INT (n, 2);
            HT_CHECK_EQ_INT (s_count_verb (a, n, GOSSIP_OVERLAY_DIAL), 1);
            HT_CHECK_EQ_INT (s_count_verb (a, n, GOSSIP_OVERLAY_CLOSE), 1);
            for (size_t i = 0; i < n; i++)
                if (a [i].verb == GOSSIP_OVERLAY_DIAL)
                    HT_CHECK_EQ_INT (s_index (a [i].key), 4);
            shuffled_at = t;
            break;
        }
    }
    HT_CHECK (shuffled_at > 0);
    HT_CHECK_EQ_INT (gossip_overlay_stats (o)->closes_shuffle, 1);
    /*  The new link is dialling, not up: no shuffle until it is. */
    for (t = shuffled_at + 100; t < shuffled_at + 40000; t += 100)
        HT_CHECK_EQ_INT (s_plan (o, t, a), 0);
    s_up_all (o, a, n, t);
    size_t k = 0;
    for (; t < shuffled_at + 80000; t += 100)
        k += s_plan (o, t, a);
    HT_CHECK (k >= 2);
    gossip_overlay_destroy (&o);
}

HT_TEST (test_surplus)
{
    gossip_overlay_config_t cfg = s_config (2);
    gossip_overlay_t *o = gossip_overlay_new (s_self, &cfg, 16);
    for (uint32_t i = 1; i <= 5; i++)
        s_learn (o, i, GOSSIP_OVERLAY_FROM_HELLO, 0);
    gossip_overlay_action_t a [S_MAX_ACTIONS];
    size_t n = s_plan (o, 0, a);
    s_up_all (o, a, n, 1);
    /*  A link the transport brought up though the plan had not (or no longer) wanted it. */
    uint8_t key [32] = { 0 };
    for (uint32_t i = 1; i <= 5; i++) {
        s_key (i, key);
        if (!(gossip_overlay_find (o, key) && s_index (a [0].key) != (long) i && s_index (a [1].key) != (long) i))
            continue;
        break;
    }
    gossip_overlay_link_up (o, key, 1, 2);
    n = s_plan (o, 3, a);
    HT_CHECK_EQ_INT (n, 1);
    HT_CHECK (a [0].verb == GOSSIP_OVERLAY_CLOSE && memcmp (a [0].key, key, 32) == 0);
    HT_CHECK_EQ_INT (gossip_overlay_stats (o)->closes_surplus, 1);
    gossip_overlay_destroy (&o);
}

/*  A plan that may return one action at a time records only what it
    returned: the rest follows in the next plans. */
HT_TEST (test_small_buffer)
{
    gossip_overlay_config_t cfg = s_config (5);
    cfg.shuffle_ms = 0;
    gossip_overlay_t *o = gossip_overlay_new (s_self, &cfg, 31);
    for (uint32_t i = 1; i <= 20; i++)
        s_learn (o, i, GOSSIP_OVERLAY_FROM_HELLO, 0);
    gossip_overlay_action_t a [5], one;
    for (size_t i = 0; i < 5; i++) {
        HT_CHECK_EQ_INT (gossip_overlay_plan (o, 0, &one, 1), 1);
        HT_CHECK (one.verb == GOSSIP_OVERLAY_DIAL);
        a [i] = one;
        for (size_t j = 0; j < i; j++)
            HT_CHECK (memcmp (a [j].key, one.key, 32) != 0);
        size_t total;
        gossip_overlay_links (o, &total, NULL, NULL, NULL);
        HT_CHECK_EQ_INT (total, i + 1);
    }
    HT_CHECK_EQ_INT (gossip_overlay_plan (o, 0, &one, 1), 0);
    HT_CHECK_EQ_INT (gossip_overlay_plan (o, 0, &one, 0), 0);
    /*  All five time out: close, close, ... then dial five others. */
    uint64_t t = GOSSIP_OVERLAY_DIAL_TIMEOUT_MS;
    size_t closes = 0, dials = 0;
    for (int i = 0; i < 12; i++) {
        size_t n = gossip_overlay_plan (o, t, &one, 1);
        if (n == 0)
            break;
        if (one.verb == GOSSIP_OVERLAY_CLOSE) {
            closes++;
            HT_CHECK_EQ_INT (dials, 0);
        }
        else
            dials++;
    }
    HT_CHECK (closes == 5 && dials == 5);
    HT_CHECK_EQ_INT (gossip_overlay_stats (o)->dial_failures, 5);
    gossip_overlay_destroy (&o);
}

/*  Links the transport reports up though no plan dialled them: a seed's
    stays with pin_seeds, any other member's is closed as surplus; a key
    forgotten and learnt again before the plan keeps its link. */
HT_TEST (test_unplanned_links)
{
    gossip_overlay_config_t cfg = s_config (3);
    cfg.pin_seeds = 1;
    gossip_overlay_t *o = gossip_overlay_new (s_self, &cfg, 32);
    s_learn (o, 0, GOSSIP_OVERLAY_FROM_SEED, 0);
    s_learn (o, 1, GOSSIP_OVERLAY_FROM_HELLO, 0);
    uint8_t seed [32], other [32];
    s_key (0, seed);
    s_key (1, other);
    gossip_overlay_link_up (o, seed, 1, 1);
    gossip_overlay_link_up (o, other, 1, 1);
    gossip_overlay_action_t a [S_MAX_ACTIONS];
    size_t n = s_plan (o, 2, a);
    HT_CHECK_EQ_INT (n, 1);
    HT_CHECK (a [0].verb == GOSSIP_OVERLAY_CLOSE && s_index (a [0].key) == 1);
    HT_CHECK_EQ_INT (s_plan (o, 3, a), 0);
    gossip_overlay_forget (o, seed);
    s_learn (o, 0, GOSSIP_OVERLAY_FROM_SEED, 4);
    HT_CHECK_EQ_INT (s_plan (o, 5, a), 0);
    gossip_overlay_forget (o, seed);
    n = s_plan (o, 6, a);
    HT_CHECK (n == 1 && a [0].verb == GOSSIP_OVERLAY_CLOSE && s_index (a [0].key) == 0);
    gossip_overlay_destroy (&o);
}

/*  An overlay of 2 out links accepting in_max members' and reserve
    invitees' in links (rng_seed for its stream), and the keys 0..n-1 in k. */
static gossip_overlay_t *
s_in_overlay (size_t in_max, size_t reserve, uint64_t rng_seed, uint8_t k [][32], uint32_t n)
{
    gossip_overlay_config_t cfg = s_config (2);
    cfg.in_max = in_max;
    cfg.invitee_reserve = reserve;
    for (uint32_t i = 0; i < n; i++)
        s_key (i, k [i]);
    return gossip_overlay_new (s_self, &cfg, rng_seed);
}

HT_TEST (test_in_admit)
{
    uint8_t k [6][32];
    gossip_overlay_t *o = s_in_overlay (2, 1, 17, k, 6);
    HT_CHECK_EQ_INT (gossip_overlay_in_admit (o, k [0], 1, 1), 1);
    HT_CHECK_EQ_INT (gossip_overlay_in_admit (o, k [1], 1, 1), 1);
    HT_CHECK_EQ_INT (gossip_overlay_in_admit (o, k [2], 1, 1), 0);     /* in_max */
    HT_CHECK_EQ_INT (gossip_overlay_in_admit (o, k [0], 1, 1), 1);     /* counted already */
    HT_CHECK_EQ_INT (gossip_overlay_in_admit (o, k [3], 0, 1), 1);     /* the invitee reserve */
    HT_CHECK_EQ_INT (gossip_overlay_in_admit (o, k [4], 0, 1), 0);
    HT_CHECK_EQ_INT (gossip_overlay_in_admit (o, k [3], 0, 1), 1);
    HT_CHECK_EQ_INT (gossip_overlay_stats (o)->in_refused, 2);
    size_t members, invitees;
    gossip_overlay_links (o, NULL, NULL, &members, &invitees);
    HT_CHECK (members == 2 && invitees == 1);
    gossip_overlay_link_down (o, k [0], 0, 2);
    HT_CHECK_EQ_INT (gossip_overlay_in_admit (o, k [2], 1, 3), 1);
    gossip_overlay_link_down (o, k [3], 0, 2);
    HT_CHECK_EQ_INT (gossip_overlay_in_admit (o, k [4], 0, 3), 1);
    /*  An in link makes a known member ineligible for an out link. */
    s_learn (o, 1, GOSSIP_OVERLAY_FROM_HELLO, 4);
    s_learn (o, 5, GOSSIP_OVERLAY_FROM_HELLO, 4);
    gossip_overlay_action_t a [S_MAX_ACTIONS];
    size_t n = s_plan (o, 5, a);
    HT_CHECK_EQ_INT (n, 1);
    HT_CHECK (s_index (a [0].key) == 5);
    gossip_overlay_destroy (&o);
}

/*  An invitee's in link becomes a member's when its join arrives: within
    in_max it moves to the members' count, past it the link is let go
    (the caller redirects it), so joiners never leave a node over
    out + in_max links. */
HT_TEST (test_in_member)
{
    uint8_t k [5][32];
    gossip_overlay_t *o = s_in_overlay (2, 3, 23, k, 5);
    HT_CHECK_EQ_INT (gossip_overlay_in_admit (o, k [0], 1, 1), 1);
    for (int i = 1; i <= 3; i++)
        HT_CHECK_EQ_INT (gossip_overlay_in_admit (o, k [i], 0, 1), 1);
    HT_CHECK_EQ_INT (gossip_overlay_in_member (o, k [0], 2), 0);      /* a member already: nothing */
    HT_CHECK_EQ_INT (gossip_overlay_in_member (o, k [4], 2), 0);      /* no link: nothing */
    HT_CHECK_EQ_INT (gossip_overlay_in_member (o, k [1], 2), 0);      /* fits: moved */
    size_t members, invitees;
    gossip_overlay_links (o, NULL, NULL, &members, &invitees);
    HT_CHECK (members == 2 && invitees == 2);
    HT_CHECK_EQ_INT (gossip_overlay_in_member (o, k [2], 3), 1);      /* over in_max: let go */
    gossip_overlay_links (o, NULL, NULL, &members, &invitees);
    HT_CHECK (members == 2 && invitees == 1);
    HT_CHECK_EQ_INT (gossip_overlay_stats (o)->in_refused, 1);
    HT_CHECK_EQ_INT (gossip_overlay_in_admit (o, k [2], 1, 4), 0);    /* and refused if it dials again */
    gossip_overlay_destroy (&o);
}

HT_TEST (test_forget)
{
    gossip_overlay_config_t cfg = s_config (1);
    gossip_overlay_t *o = gossip_overlay_new (s_self, &cfg, 18);
    for (uint32_t i = 1; i <= 4; i++)
        s_learn (o, i, GOSSIP_OVERLAY_FROM_HELLO, 0);
    gossip_overlay_action_t a [S_MAX_ACTIONS];
    HT_CHECK_EQ_INT (s_plan (o, 0, a), 1);
    uint8_t linked [32];
    memcpy (linked, a [0].key, 32);
    gossip_overlay_link_up (o, linked, 1, 1);
    gossip_overlay_forget (o, linked);
    HT_CHECK (gossip_overlay_find (o, linked) == NULL);
    HT_CHECK_EQ_INT (gossip_overlay_count (o), 3);
    size_t n = s_plan (o, 2, a);
    HT_CHECK_EQ_INT (n, 2);
    HT_CHECK (a [0].verb == GOSSIP_OVERLAY_CLOSE && memcmp (a [0].key, linked, 32) == 0);
    HT_CHECK (a [1].verb == GOSSIP_OVERLAY_DIAL && memcmp (a [1].key, linked, 32) != 0);
    uint8_t unknown [32];
    s_key (999, unknown);
    gossip_overlay_forget (o, unknown);
    HT_CHECK_EQ_INT (gossip_overlay_count (o), 3);
    gossip_overlay_destroy (&o);
}

HT_TEST (test_known_max)
{
    gossip_overlay_config_t cfg = s_config (2);
    cfg.known_max = 5;
    gossip_overlay_t *o = gossip_overlay_new (s_self, &cfg, 19);
    s_learn (o, 1000, GOSSIP_OVERLAY_FROM_SEED, 0);
    s_learn (o, 1001, GOSSIP_OVERLAY_FROM_SEED, 0);
    for (uint32_t i = 1; i <= 5; i++)
        s_learn (o, i, GOSSIP_OVERLAY_FROM_HELLO, 0);
    gossip_overlay_action_t a [S_MAX_ACTIONS];
    size_t n = s_plan (o, 0, a);
    HT_CHECK_EQ_INT (n, 2);
    s_up_all (o, a, n, 1);
    uint8_t in_key [32];
    s_key (3, in_key);
    if (!gossip_overlay_find (o, in_key) || (s_index (a [0].key) != 3 && s_index (a [1].key) != 3))
        HT_CHECK_EQ_INT (gossip_overlay_in_admit (o, in_key, 1, 2), 1);
    for (uint32_t i = 100; i < 400; i++)
        s_learn (o, i, GOSSIP_OVERLAY_FROM_HELLO, 3);
    HT_CHECK_EQ_INT (gossip_overlay_count (o), 5 + 2);
    HT_CHECK (gossip_overlay_stats (o)->known_evicted >= 295);
    uint8_t key [32];
    s_key (1000, key);
    HT_CHECK (gossip_overlay_find (o, key) != NULL);
    s_key (1001, key);
    HT_CHECK (gossip_overlay_find (o, key) != NULL);
    HT_CHECK (gossip_overlay_find (o, a [0].key) != NULL);
    HT_CHECK (gossip_overlay_find (o, a [1].key) != NULL);
    HT_CHECK (gossip_overlay_find (o, in_key) != NULL);
    /*  Full of seeds and linked entries: a new key is not taken. */
    gossip_overlay_config_t small = s_config (2);
    small.known_max = 2;
    gossip_overlay_t *full = gossip_overlay_new (s_self, &small, 20);
    s_learn (full, 1, GOSSIP_OVERLAY_FROM_HELLO, 0);
    s_learn (full, 2, GOSSIP_OVERLAY_FROM_HELLO, 0);
    n = s_plan (full, 0, a);
    HT_CHECK_EQ_INT (n, 2);
    HT_CHECK_EQ_INT (s_learn (full, 3, GOSSIP_OVERLAY_FROM_HELLO, 1), 0);
    HT_CHECK_EQ_INT (gossip_overlay_count (full), 2);
    HT_CHECK_EQ_INT (s_learn (full, 4, GOSSIP_OVERLAY_FROM_SEED, 1), 1);     /* seeds aside */
    HT_CHECK_EQ_INT (gossip_overlay_count (full), 3);
    gossip_overlay_destroy (&full);
    gossip_overlay_destroy (&o);
}

HT_TEST (test_sample)
{
    gossip_overlay_t *o = gossip_overlay_new (s_self, NULL, 21);
    const gossip_overlay_peer_t *out [64];
    HT_CHECK_EQ_INT (gossip_overlay_sample (o, NULL, 0, out, 16), 0);
    for (uint32_t i = 0; i < 30; i++)
        s_learn (o, i, GOSSIP_OVERLAY_FROM_HELLO, 0);
    uint8_t exclude [32];
    s_key (7, exclude);
    for (int round = 0; round < 200; round++) {
        size_t n = gossip_overlay_sample (o, exclude, 0, out, 16);
        HT_CHECK_EQ_INT (n, 16);
        for (size_t i = 0; i < n; i++) {
            HT_CHECK (memcmp (out [i]->key, exclude, 32) != 0);
            for (size_t j = i + 1; j < n; j++)
                HT_CHECK (out [i] != out [j]);
        }
    }
    HT_CHECK_EQ_INT (gossip_overlay_sample (o, exclude, 0, out, 64), 29);
    /*  20 failing: a sample of 10 is the 10 healthy ones. */
    uint8_t key [32];
    for (uint32_t i = 0; i < 20; i++) {
        s_key (i, key);
        gossip_overlay_dial_failed (o, key, 1);
    }
    size_t n = gossip_overlay_sample (o, NULL, 2, out, 10);
    HT_CHECK_EQ_INT (n, 10);
    for (size_t i = 0; i < n; i++)
        HT_CHECK (s_index (out [i]->key) >= 20);
    /*  A failing one reached within the hour counts as healthy. */
    s_key (3, key);
    gossip_overlay_link_up (o, key, 0, 100);
    gossip_overlay_dial_failed (o, key, 200);
    n = gossip_overlay_sample (o, NULL, 300, out, 11);
    HT_CHECK_EQ_INT (n, 11);
    int seen = 0;
    for (size_t i = 0; i < n; i++)
        seen |= s_index (out [i]->key) == 3;
    HT_CHECK (seen);
    gossip_overlay_destroy (&o);
}

/*  A table with every kind of field for the save tests. */
static gossip_overlay_t *
s_table (size_t entries)
{
    gossip_overlay_t *o = gossip_overlay_new (s_self, NULL, 22);
    s_learn (o, 0, GOSSIP_OVERLAY_FROM_SEED, 5);
    for (uint32_t i = 1; i < entries; i++)
        s_learn (o, i, 1 + (int) (i % 4), 5);
    uint8_t key [32];
    s_key (1, key);
    gossip_overlay_link_up (o, key, 0, 123456789012ULL);
    s_key (2, key);
    gossip_overlay_dial_failed (o, key, 7);
    gossip_overlay_dial_failed (o, key, 8);
    return o;
}

HT_TEST (test_save_load)
{
    gossip_overlay_t *o = s_table (40);
    HT_CHECK (gossip_overlay_dirty (o));
    uint8_t *buf = NULL;
    size_t len = 0;
    HT_CHECK_EQ_INT (gossip_overlay_save (o, &buf, &len), 0);
    HT_CHECK (!gossip_overlay_dirty (o));
    gossip_overlay_t *copy = gossip_overlay_new (s_self, NULL, 23);
    HT_CHECK_EQ_INT (gossip_overlay_load (copy, buf, len, 999), 40);
    HT_CHECK_EQ_INT (gossip_overlay_count (copy), 40);
    HT_CHECK_EQ_INT (gossip_overlay_stats (copy)->load_skipped, 0);
    for (size_t i = 0; i < 40; i++) {
        const gossip_overlay_peer_t *p = gossip_overlay_at (o, i);
        const gossip_overlay_peer_t *q = gossip_overlay_find (copy, p->key);
        HT_CHECK (q != NULL);
        if (!q)
            continue;
        HT_CHECK_EQ_STR (q->address, p->address);
        HT_CHECK_EQ_INT (q->last_reached_ms, p->last_reached_ms);
        HT_CHECK_EQ_INT (q->fails, p->fails);
        HT_CHECK_EQ_INT (q->from, p->from);
        HT_CHECK_EQ_INT (q->seed, p->seed);
        HT_CHECK_EQ_INT (q->retry_at_ms, 0);
        HT_CHECK_EQ_INT (q->learned_ms, 999);
    }
    uint8_t key [32];
    s_key (2, key);
    HT_CHECK_EQ_INT (gossip_overlay_find (copy, key)->fails, 2);
    s_key (1, key);
    HT_CHECK_EQ_INT (gossip_overlay_find (copy, key)->last_reached_ms, 123456789012ULL);
    /*  Loading again replaces nothing. */
    HT_CHECK_EQ_INT (gossip_overlay_load (copy, buf, len, 1000), 0);
    HT_CHECK_EQ_INT (gossip_overlay_find (copy, key)->learned_ms, 999);
    /*  An empty table saves and loads. */
    gossip_overlay_t *empty = gossip_overlay_new (s_self, NULL, 24);
    uint8_t *ebuf = NULL;
    size_t elen = 0;
    HT_CHECK_EQ_INT (gossip_overlay_save (empty, &ebuf, &elen), 0);
    HT_CHECK_EQ_INT (gossip_overlay_load (empty, ebuf, elen, 0), 0);
    /*  Over known_max: the rest is skipped, counted. */
    gossip_overlay_config_t cfg = s_config (2);
    cfg.known_max = 10;
    gossip_overlay_t *small = gossip_overlay_new (s_self, &cfg, 25);
    HT_CHECK_EQ_INT (gossip_overlay_load (small, buf, len, 0), 11);         /* 10 + the seed */
    HT_CHECK_EQ_INT (gossip_overlay_stats (small)->load_skipped, 29);
    free (ebuf);
    free (buf);
    gossip_overlay_destroy (&small);
    gossip_overlay_destroy (&empty);
    gossip_overlay_destroy (&copy);
    gossip_overlay_destroy (&o);
}

HT_TEST (test_load_hostile)
{
    gossip_overlay_t *o = s_table (10);
    uint8_t *buf = NULL;
    size_t len = 0;
    HT_CHECK_EQ_INT (gossip_overlay_save (o, &buf, &len), 0);
    /*  Not a table. */
    gossip_overlay_t *t = gossip_overlay_new (s_self, NULL, 26);
    HT_CHECK_EQ_INT (gossip_overlay_load (t, buf, 0, 0), HEARTH_ECORRUPT);
    HT_CHECK_EQ_INT (gossip_overlay_load (t, buf, 5, 0), HEARTH_ECORRUPT);
    buf [5] ^= 0x02;                                /* version 3 */
    HT_CHECK_EQ_INT (gossip_overlay_load (t, buf, len, 0), HEARTH_ECORRUPT);
    buf [5] ^= 0x02;
    buf [0] ^= 1;
    HT_CHECK_EQ_INT (gossip_overlay_load (t, buf, len, 0), HEARTH_ECORRUPT);
    buf [0] ^= 1;
    HT_CHECK_EQ_INT (gossip_overlay_count (t), 0);
    gossip_overlay_destroy (&t);
    /*  Every truncation keeps the whole records before the cut. */
    size_t ends [16], n_ends = 0, pos = 6;
    while (pos < len) {
        pos += 2 + ((size_t) buf [pos] << 8 | buf [pos + 1]);
        ends [n_ends++] = pos;
    }
    HT_CHECK_EQ_INT (n_ends, 10);
    for (size_t cut = 6; cut <= len; cut++) {
        t = gossip_overlay_new (s_self, NULL, 27);
        int whole = 0;
        while ((size_t) whole < n_ends && ends [whole] <= cut)
            whole++;
        HT_CHECK_EQ_INT (gossip_overlay_load (t, buf, cut, 0), whole);
        HT_CHECK_EQ_INT (gossip_overlay_stats (t)->load_skipped, (size_t) whole < n_ends && cut > (whole? ends [whole - 1]: 6));
        gossip_overlay_destroy (&t);
    }
    /*  A record claiming more than is left, an address of GOSSIP_MAX_ADDRESS
        bytes, a zero-length address, a NUL in an address, a bad `from` or
        seed flag: the load stops there, the first record is kept. */
    size_t second = ends [0];
    uint8_t *bad = (uint8_t *) malloc (len + 512);
    for (int kind = 0; kind < 7; kind++) {
        memcpy (bad, buf, len);
        size_t blen = len;
        uint8_t *r = bad + second;
        size_t alen = (size_t) r [2 + 32] << 8 | r [2 + 33];
        switch (kind) {
            case 0: r [0] = 0xff; r [1] = 0xff; break;
            case 1: r [0] = 0; r [1] = 10; break;
            case 2: {                               /* an overlong address, whole record */
                size_t big = GOSSIP_MAX_ADDRESS;
                size_t rec = 32 + 2 + big + 14;
                uint8_t *q = bad + second;
                q [0] = (uint8_t) (rec >> 8); q [1] = (uint8_t) rec;
                q [34] = (uint8_t) (big >> 8); q [35] = (uint8_t) big;
                memset (q + 36, 'a', big);
                memset (q + 36 + big, 0, 14);
                blen = second + 2 + rec;
                break;
            }
            case 3: r [34] = 0; r [35] = 0; break;
            case 4: r [36 + alen / 2] = 0; break;
            case 5: r [36 + alen + 12] = 9; break;
            case 6: r [36 + alen + 13] = 2; break;
        }
        t = gossip_overlay_new (s_self, NULL, 28);
        HT_CHECK_EQ_INT (gossip_overlay_load (t, bad, blen, 0), 1);
        HT_CHECK_EQ_INT (gossip_overlay_count (t), 1);
        HT_CHECK_EQ_INT (gossip_overlay_stats (t)->load_skipped, 1);
        gossip_overlay_destroy (&t);
    }
    /*  A record longer than its fields (a later version's): its extra bytes are skipped. */
    {
        uint8_t rec [2 + 32 + 2 + 3 + 14 + 5];
        memset (rec, 0, sizeof rec);
        rec [1] = sizeof rec - 2;
        s_key (77, rec + 2);
        rec [35] = 3;
        memcpy (rec + 36, "a@b", 3);
        uint8_t table [6 + 2 * sizeof rec];
        memcpy (table, buf, 6);
        memcpy (table + 6, rec, sizeof rec);
        memcpy (table + 6 + sizeof rec, rec, sizeof rec);
        s_key (78, table + 6 + sizeof rec + 2);
        t = gossip_overlay_new (s_self, NULL, 29);
        HT_CHECK_EQ_INT (gossip_overlay_load (t, table, sizeof table, 0), 2);
        HT_CHECK (gossip_overlay_count (t) == 2 && strcmp (gossip_overlay_at (t, 1)->address, "a@b") == 0);
        gossip_overlay_destroy (&t);
    }
    /*  Random bytes after a valid header, and random flips of a valid table. */
    uint64_t rng = 30;
    uint8_t noise [2048];
    for (int round = 0; round < 2000; round++) {
        size_t nlen = 6 + (size_t) (ht_splitmix64 (&rng) % (sizeof noise - 6));
        if (round % 2) {
            memcpy (noise, buf, 6);
            for (size_t i = 6; i < nlen; i++)
                noise [i] = (uint8_t) ht_splitmix64 (&rng);
        }
        else {
            nlen = len;
            memcpy (noise, buf, len);
            for (int f = 0; f < 4; f++)
                noise [6 + ht_splitmix64 (&rng) % (len - 6)] ^= (uint8_t) (1 + ht_splitmix64 (&rng) % 255);
        }
        t = gossip_overlay_new (s_self, NULL, (uint64_t) round);
        int rc = gossip_overlay_load (t, noise, nlen, 0);
        HT_CHECK (rc >= 0 && (size_t) rc == gossip_overlay_count (t));
        for (size_t i = 0; i < gossip_overlay_count (t); i++) {
            size_t l = strlen (gossip_overlay_at (t, i)->address);
            HT_CHECK (l > 0 && l < GOSSIP_MAX_ADDRESS);
        }
        gossip_overlay_action_t a [S_MAX_ACTIONS];
        s_plan (t, 1, a);
        gossip_overlay_destroy (&t);
    }
    free (bad);
    free (buf);
    gossip_overlay_destroy (&o);
}

/*  A small mesh in simulated time: 300 nodes that know only the founder
    (node 0) as their seed. A dial is answered at once through the
    target's in_admit; a refused dialler gets a redirect (the target's
    sample); a link that comes up makes both sides learn each other and a
    sample of each other's table, as hellos do. After two simulated
    minutes every node has its out links up, nobody carries more than
    in_max member in links, the founder is no hub, and the graph is
    connected. */
#define S_MESH 300

static gossip_overlay_t *s_mesh [S_MESH];

static void
s_mesh_hello (uint32_t from, uint32_t to, uint64_t t)
{
    const gossip_overlay_peer_t *sample [GOSSIP_OVERLAY_SAMPLE];
    uint8_t key [32];
    s_key (to, key);
    size_t n = gossip_overlay_sample (s_mesh [from], key, t, sample, GOSSIP_OVERLAY_SAMPLE);
    uint8_t keys [GOSSIP_OVERLAY_SAMPLE][32];
    char addresses [GOSSIP_OVERLAY_SAMPLE][64];
    for (size_t i = 0; i < n; i++) {                /* copied: learning invalidates them */
        memcpy (keys [i], sample [i]->key, 32);
        snprintf (addresses [i], sizeof addresses [i], "%s", sample [i]->address);
    }
    s_key (from, key);
    gossip_overlay_learn (s_mesh [to], key, s_address (from), GOSSIP_OVERLAY_FROM_LINK, t);
    for (size_t i = 0; i < n; i++)
        gossip_overlay_learn (s_mesh [to], keys [i], addresses [i], GOSSIP_OVERLAY_FROM_HELLO, t);
}

HT_TEST (test_small_mesh)
{
    static uint8_t linked [S_MESH][S_MESH];         /* [i][j]: i's out link to j is up */
    memset (linked, 0, sizeof linked);
    for (uint32_t i = 0; i < S_MESH; i++) {
        uint8_t key [32];
        s_key (i, key);
        s_mesh [i] = gossip_overlay_new (key, NULL, 1000 + i);
        if (i > 0)
            s_learn (s_mesh [i], 0, GOSSIP_OVERLAY_FROM_SEED, 0);
    }
    gossip_overlay_action_t a [S_MAX_ACTIONS];
    uint64_t refused = 0, all_up_at = 0;
    for (uint64_t t = 0; t <= 120000; t += 250) {
        size_t short_of_out = 0;
        for (uint32_t i = 0; i < S_MESH; i++) {
            uint8_t me [32];
            s_key (i, me);
            size_t n = s_plan (s_mesh [i], t, a);
            for (size_t k = 0; k < n; k++) {
                long j = s_index (a [k].key);
                HT_CHECK (j >= 0 && j < S_MESH && j != (long) i);
                if (j < 0 || j >= S_MESH)
                    continue;
                if (a [k].verb == GOSSIP_OVERLAY_CLOSE) {
                    gossip_overlay_link_down (s_mesh [j], me, 0, t);
                    linked [i][j] = 0;
                    continue;
                }
                if (gossip_overlay_in_admit (s_mesh [j], me, 1, t)) {
                    gossip_overlay_link_up (s_mesh [i], a [k].key, 1, t);
                    linked [i][j] = 1;
                    s_mesh_hello ((uint32_t) j, i, t);
                    s_mesh_hello (i, (uint32_t) j, t);
                }
                else {
                    refused++;
                    gossip_overlay_dial_failed (s_mesh [i], a [k].key, t);
                    s_mesh_hello ((uint32_t) j, i, t);      /* the redirect */
                }
            }
            size_t up;
            gossip_overlay_links (s_mesh [i], NULL, &up, NULL, NULL);
            short_of_out += up < GOSSIP_OVERLAY_OUT;
        }
        if (short_of_out == 0 && all_up_at == 0)
            all_up_at = t;
    }
    /*  Degrees, and connectivity by a walk over the links either way. */
    size_t short_of_out = 0, max_in = 0, founder_in = 0, max_degree = 0;
    for (uint32_t i = 0; i < S_MESH; i++) {
        size_t total, up, in;
        gossip_overlay_links (s_mesh [i], &total, &up, &in, NULL);
        short_of_out += up < GOSSIP_OVERLAY_OUT;
        if (in > max_in)
            max_in = in;
        if (i == 0)
            founder_in = in;
        if (up + in > max_degree)
            max_degree = up + in;
        size_t mine = 0;
        for (uint32_t j = 0; j < S_MESH; j++)
            mine += linked [i][j];
        HT_CHECK_EQ_INT (mine, up);
    }
    static uint32_t queue [S_MESH];
    static uint8_t seen [S_MESH];
    memset (seen, 0, sizeof seen);
    size_t head = 0, tail = 0;
    queue [tail++] = 0;
    seen [0] = 1;
    while (head < tail) {
        uint32_t i = queue [head++];
        for (uint32_t j = 0; j < S_MESH; j++)
            if ((linked [i][j] || linked [j][i]) && !seen [j]) {
                seen [j] = 1;
                queue [tail++] = j;
            }
    }
    fprintf (stderr, "small mesh: all out links up at %llu ms (simulated), %zu short at the end, "
             "max member in %zu, founder in %zu, max degree %zu, refusals %llu, reached %zu of %d\n",
             (unsigned long long) all_up_at, short_of_out, max_in, founder_in, max_degree,
             (unsigned long long) refused, tail, S_MESH);
    HT_CHECK (all_up_at > 0);
    HT_CHECK (short_of_out <= S_MESH / 50);         /* a shuffle's refused dial, redialled next plan */
    HT_CHECK (max_in <= GOSSIP_OVERLAY_IN_MAX);
    HT_CHECK (max_degree <= GOSSIP_OVERLAY_OUT + GOSSIP_OVERLAY_IN_MAX);
    HT_CHECK_EQ_INT (tail, S_MESH);
    for (uint32_t i = 0; i < S_MESH; i++)
        gossip_overlay_destroy (&s_mesh [i]);
}

/*  The choice of out links does not depend on where a key sits in the
    table: over many seeds each of 100 keys is chosen about equally often. */
HT_TEST (test_uniform_choice)
{
    enum { KNOWN = 100, OUT = 5, SEEDS = 4000 };
    static unsigned chosen [KNOWN];
    memset (chosen, 0, sizeof chosen);
    for (uint64_t seed = 0; seed < SEEDS; seed++) {
        gossip_overlay_config_t cfg = s_config (OUT);
        gossip_overlay_t *o = gossip_overlay_new (s_self, &cfg, seed);
        for (uint32_t i = 0; i < KNOWN; i++)
            s_learn (o, i, GOSSIP_OVERLAY_FROM_HELLO, 0);
        gossip_overlay_action_t a [S_MAX_ACTIONS];
        size_t n = s_plan (o, 0, a);
        HT_CHECK_EQ_INT (n, OUT);
        for (size_t i = 0; i < n; i++) {
            long idx = s_index (a [i].key);
            HT_CHECK (idx >= 0 && idx < KNOWN);
            if (idx >= 0 && idx < KNOWN)
                chosen [idx]++;
        }
        gossip_overlay_destroy (&o);
    }
    double mean = (double) SEEDS * OUT / KNOWN;
    unsigned lo = UINT32_MAX, hi = 0;
    for (int i = 0; i < KNOWN; i++) {
        if (chosen [i] < lo) lo = chosen [i];
        if (chosen [i] > hi) hi = chosen [i];
        HT_CHECK (chosen [i] >= 0.7 * mean && chosen [i] <= 1.3 * mean);
    }
    fprintf (stderr, "uniform choice: mean %.0f, min %u, max %u\n", mean, lo, hi);
}

int
main (void)
{
    HT_RUN (test_config);
    HT_RUN (test_learn);
    HT_RUN (test_deterministic);
    HT_RUN (test_never_self);
    HT_RUN (test_out_count);
    HT_RUN (test_dial_timeout_backoff);
    HT_RUN (test_all_failing);
    HT_RUN (test_bootstrap);
    HT_RUN (test_pin_seeds);
    HT_RUN (test_shuffle);
    HT_RUN (test_surplus);
    HT_RUN (test_small_buffer);
    HT_RUN (test_unplanned_links);
    HT_RUN (test_in_admit);
    HT_RUN (test_in_member);
    HT_RUN (test_forget);
    HT_RUN (test_known_max);
    HT_RUN (test_sample);
    HT_RUN (test_save_load);
    HT_RUN (test_load_hostile);
    HT_RUN (test_uniform_choice);
    HT_RUN (test_small_mesh);
    return ht_summary ();
}
