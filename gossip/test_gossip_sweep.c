/*  test_gossip_sweep.c — the sweep's Bloom filter, deterministically (a
    fixed key, hashes from counters): no false "no", the false "yes" rate
    near its design figure, another key gives other false positives. */
#include <sodium.h>
#include "hearth_test.h"
#include "gossip_sweep.h"

static const uint8_t s_key [16] = { 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6 };

static void
s_hash (uint32_t i, uint8_t h [32])
{
    memset (h, 0x3c, 32);
    memcpy (h, &i, sizeof i);
}

HT_TEST (test_sizes)
{
    HT_CHECK (gossip_sweep_new (0, s_key) == NULL);
    HT_CHECK (gossip_sweep_new (32, s_key) == NULL);
    HT_CHECK (gossip_sweep_new (1000, s_key) == NULL);          /* not a power of two */
    gossip_sweep_t *s = gossip_sweep_new (64, s_key);
    HT_CHECK (s != NULL);
    gossip_sweep_destroy (&s);
    HT_CHECK (s == NULL);
    gossip_sweep_destroy (&s);
    gossip_sweep_destroy (NULL);
}

/*  200,000 hashes in the default size: every one found, and of 100,000
    others ~0.1% found (the design figure in gossip_sweep.h). */
HT_TEST (test_default_rate)
{
    gossip_sweep_t *s = gossip_sweep_new (GOSSIP_SWEEP_BITS, s_key);
    uint8_t h [32];
    for (uint32_t i = 0; i < 200000; i++) {
        s_hash (i, h);
        gossip_sweep_add (s, h);
    }
    HT_CHECK_EQ_INT (gossip_sweep_count (s), 200000);
    size_t missed = 0, false_yes = 0;
    for (uint32_t i = 0; i < 200000; i++) {
        s_hash (i, h);
        missed += !gossip_sweep_contains (s, h);
    }
    for (uint32_t i = 1000000; i < 1100000; i++) {
        s_hash (i, h);
        false_yes += (size_t) gossip_sweep_contains (s, h);
    }
    HT_CHECK_EQ_INT (missed, 0);
    fprintf (stderr, "false positives after 200,000: %zu of 100,000\n", false_yes);
    HT_CHECK (false_yes < 300);             /* design ~0.09%: 91 expected */
    gossip_sweep_destroy (&s);
}

/*  A small filter saturates (most answers "yes") but never says "no" to
    what it holds; another key makes other false positives. */
HT_TEST (test_saturated_and_rekeyed)
{
    uint8_t key2 [16];
    memcpy (key2, s_key, 16);
    key2 [0] ^= 0xff;
    gossip_sweep_t *a = gossip_sweep_new (1024, s_key), *b = gossip_sweep_new (1024, key2);
    uint8_t h [32];
    for (uint32_t i = 0; i < 256; i++) {
        s_hash (i, h);
        gossip_sweep_add (a, h);
        gossip_sweep_add (b, h);
    }
    size_t both = 0, a_only = 0;
    for (uint32_t i = 0; i < 256; i++) {
        s_hash (i, h);
        HT_CHECK (gossip_sweep_contains (a, h) && gossip_sweep_contains (b, h));
    }
    for (uint32_t i = 5000; i < 15000; i++) {
        s_hash (i, h);
        int x = gossip_sweep_contains (a, h), y = gossip_sweep_contains (b, h);
        both += (size_t) (x && y);
        a_only += (size_t) (x && !y);
    }
    HT_CHECK (a_only > 0);                  /* the false positives differ by key */
    HT_CHECK (both < a_only + both);
    gossip_sweep_destroy (&a);
    gossip_sweep_destroy (&b);
}

int
main (void)
{
    if (sodium_init () < 0)
        return 1;
    HT_RUN (test_sizes);
    HT_RUN (test_default_rate);
    HT_RUN (test_saturated_and_rekeyed);
    return ht_summary ();
}
