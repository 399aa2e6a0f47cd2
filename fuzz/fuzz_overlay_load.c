/*  fuzz_overlay_load.c — the saved known-peer table (gossip/gossip_overlay.c
    load), read from disk at every start of a node.

    Input: the table's bytes. Properties: the load fails only with
    ECORRUPT (not a table) and otherwise returns the number of entries it
    added; the table holds at most known_max entries besides seeds, never
    our own key, one entry per key, and every address is non-empty, within
    the wire's cap and NUL-terminated; a loaded table saves and loads again
    to the same bytes; plans over it dial only known members, never
    ourselves, and keep out links within out + seeds + 1.
*/
#include <string.h>
#include "fuzz.h"
#include "hearth_error.h"
#include "gossip_overlay.h"
#include "gossip_wire.h"                    /* GOSSIP_MAX_ADDRESS */

/*  A table of a few hundred entries is a few tens of KiB. */
#define S_MAX_INPUT (256 * 1024)
/*  Small enough that a short input reaches the cap. */
#define S_KNOWN_MAX 24

static const uint8_t s_self [32] = { 0x5e, 0x1f };

static gossip_overlay_t *
s_new (uint64_t seed)
{
    gossip_overlay_config_t cfg;
    gossip_overlay_config_defaults (&cfg);
    cfg.known_max = S_KNOWN_MAX;
    cfg.shuffle_ms = 1000;
    return gossip_overlay_new (s_self, &cfg, seed);
}

static void
s_check_table (const gossip_overlay_t *o)
{
    size_t seeds = 0;
    for (size_t i = 0; i < gossip_overlay_count (o); i++) {
        const gossip_overlay_peer_t *p = gossip_overlay_at (o, i);
        FUZZ_CHECK (p && p->address);
        size_t len = strnlen (p->address, GOSSIP_MAX_ADDRESS);
        FUZZ_CHECK (len > 0 && len < GOSSIP_MAX_ADDRESS);
        FUZZ_CHECK (memcmp (p->key, s_self, 32) != 0);
        FUZZ_CHECK (gossip_overlay_find (o, p->key) == p);
        FUZZ_CHECK (p->from >= GOSSIP_OVERLAY_FROM_SEED && p->from <= GOSSIP_OVERLAY_FROM_LINK);
        FUZZ_CHECK (p->seed == 0 || p->seed == 1);
        FUZZ_CHECK (p->retry_at_ms == 0);
        seeds += (size_t) p->seed;
    }
    FUZZ_CHECK (gossip_overlay_count (o) - seeds <= S_KNOWN_MAX);
    FUZZ_CHECK (seeds <= S_KNOWN_MAX);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size > S_MAX_INPUT)
        return 0;
    gossip_overlay_t *o = s_new (size);
    FUZZ_CHECK (o);
    int rc = gossip_overlay_load (o, data, size, 1000);
    if (rc < 0) {
        FUZZ_CHECK (rc == HEARTH_ECORRUPT);
        FUZZ_CHECK (gossip_overlay_count (o) == 0);
        gossip_overlay_destroy (&o);
        return 0;
    }
    FUZZ_CHECK ((size_t) rc == gossip_overlay_count (o));
    s_check_table (o);

    /*  What it saves loads again to the same table and the same bytes. */
    uint8_t *s1 = NULL, *s2 = NULL;
    size_t l1 = 0, l2 = 0;
    FUZZ_CHECK (gossip_overlay_save (o, &s1, &l1) == 0);
    gossip_overlay_t *copy = s_new (1);
    FUZZ_CHECK (copy && gossip_overlay_load (copy, s1, l1, 1000) == rc);
    FUZZ_CHECK (gossip_overlay_stats (copy)->load_skipped == 0);
    FUZZ_CHECK (gossip_overlay_save (copy, &s2, &l2) == 0);
    FUZZ_CHECK (l1 == l2 && memcmp (s1, s2, l1) == 0);
    free (s1);
    free (s2);
    gossip_overlay_destroy (&copy);

    /*  A few plans: every other dial comes up, the rest time out. */
    size_t seeds = 0;
    for (size_t i = 0; i < gossip_overlay_count (o); i++)
        seeds += (size_t) gossip_overlay_at (o, i)->seed;
    gossip_overlay_action_t a [64];
    for (uint64_t t = 1000; t < 12000; t += 700) {
        size_t n = gossip_overlay_plan (o, t, a, 64);
        for (size_t i = 0; i < n; i++) {
            FUZZ_CHECK (a [i].verb == GOSSIP_OVERLAY_DIAL || a [i].verb == GOSSIP_OVERLAY_CLOSE);
            FUZZ_CHECK (memcmp (a [i].key, s_self, 32) != 0);
            if (a [i].verb == GOSSIP_OVERLAY_DIAL) {
                FUZZ_CHECK (gossip_overlay_find (o, a [i].key) != NULL);
                if (i % 2 == 0)
                    gossip_overlay_link_up (o, a [i].key, 1, t);
            }
        }
        size_t total = 0;
        gossip_overlay_links (o, &total, NULL, NULL, NULL);
        FUZZ_CHECK (total <= GOSSIP_OVERLAY_OUT + seeds + 1);
    }
    const gossip_overlay_peer_t *sample [GOSSIP_OVERLAY_SAMPLE];
    size_t n = gossip_overlay_sample (o, s_self, 12000, sample, GOSSIP_OVERLAY_SAMPLE);
    FUZZ_CHECK (n <= gossip_overlay_count (o));
    gossip_overlay_destroy (&o);
    return 0;
}

void
fuzz_seeds (fuzz_emit_fn *emit, void *arg)
{
    gossip_overlay_t *o = s_new (7);
    uint8_t *buf = NULL;
    size_t len = 0;
    if (gossip_overlay_save (o, &buf, &len) != 0)          /* the empty table */
        abort ();
    emit (arg, buf, len);
    free (buf);
    for (uint32_t i = 0; i < 40; i++) {
        uint8_t key [32];
        memset (key, 0x33, 32);
        memcpy (key, &i, sizeof i);
        char address [GOSSIP_MAX_ADDRESS];
        if (i == 5) {                                       /* the longest address */
            memset (address, 'a', sizeof address - 1);
            address [sizeof address - 1] = 0;
        }
        else
            snprintf (address, sizeof address, "NODE%u@tcp://10.0.0.%u:7400", i, i);
        int from = i < 2? GOSSIP_OVERLAY_FROM_SEED: (int) (1 + i % 4);
        gossip_overlay_learn (o, key, address, from, 100 + i);
        if (i % 3 == 0)
            gossip_overlay_link_up (o, key, 0, 200 + i);
        if (i % 5 == 1)
            gossip_overlay_dial_failed (o, key, 300 + i);
        if (i == 3 || i == 10 || i == 39) {
            if (gossip_overlay_save (o, &buf, &len) != 0)
                abort ();
            emit (arg, buf, len);
            free (buf);
        }
    }
    gossip_overlay_destroy (&o);
}
