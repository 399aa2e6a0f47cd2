/*  test_market_idx.c — market_idx's removal (backward shift) against a
    reference: runs that wrap at the table's end, random put/get/remove on
    a table that never grows and on one that grows. The put/get paths at
    scale are in test_market_view.c (test_idx_many_keys).
*/
#include <sodium.h>
#include "hearth_error.h"
#include "hearth_test.h"
#include "market_idx.h"

/*  Keys of the tests: "k<n>" strings, index = n. */
#define S_N_KEYS 4096
static char s_keys [S_N_KEYS][16];

static const void *
s_key_of (const void *arg, uint32_t index)
{
    (void) arg;
    HT_CHECK (index < S_N_KEYS);
    return s_keys [index];
}

static const market_idx_keys_t s_keys_fn = { s_key_of, NULL };

/*  The SipHash key of the tests' keyed maps. */
static const uint8_t s_sip_key [crypto_shorthash_KEYBYTES] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };

/*  Home slot of a key in a table of n_slots, as market_idx computes it
    (the low bits of the first 8 bytes of SipHash-2-4, host order). */
static size_t
s_home (const char *key, size_t n_slots)
{
    uint8_t out [crypto_shorthash_BYTES];
    crypto_shorthash (out, (const unsigned char *) key, strlen (key), s_sip_key);
    uint64_t h;
    memcpy (&h, out, sizeof h);
    return (size_t) h & (n_slots - 1);
}

/*  Every key with present [i] found at index i, every other key absent,
    and the size right; returns the number of mismatches. */
static size_t
s_mismatches (const market_idx_t *idx, const uint8_t *present, size_t n_keys)
{
    size_t bad = 0, n_present = 0;
    for (uint32_t i = 0; i < n_keys; i++) {
        uint32_t at = UINT32_MAX;
        int rc = market_idx_get (idx, s_keys [i], &s_keys_fn, &at);
        if (present [i]) {
            n_present++;
            bad += rc != 0 || at != i;
        }
        else
            bad += rc != HEARTH_ENOTFOUND;
    }
    return bad + (market_idx_size (idx) != n_present);
}

HT_TEST (test_idx_remove_wraps_at_table_end)
{
    market_idx_t *idx = market_idx_new_keyed (0, s_sip_key);
    HT_CHECK (idx != NULL);
    size_t n_slots = market_idx_slots (idx);
    HT_CHECK_EQ_INT (n_slots, 16);
    //  Three keys whose home is the last slot (they take 15, 0, 1), two
    //  whose home is 0 (2, 3) and one whose home is 1 (4): one run
    //  wrapping past the end
    uint32_t pick [6];
    size_t want_home [6] = { 15, 15, 15, 0, 0, 1 };
    uint8_t used [S_N_KEYS] = { 0 };
    for (size_t p = 0; p < 6; p++) {
        uint32_t i = 0;
        while (i < S_N_KEYS && (used [i] || s_home (s_keys [i], n_slots) != want_home [p]))
            i++;
        HT_CHECK (i < S_N_KEYS);
        if (i == S_N_KEYS) {
            market_idx_destroy (&idx);
            return;
        }
        used [i] = 1;
        pick [p] = i;
    }
    //  Remove each of the six first, in turn, from the full run; then all
    //  six in an order that empties the wrapped part first
    uint8_t present [S_N_KEYS] = { 0 };
    for (size_t first = 0; first < 6; first++) {
        for (size_t p = 0; p < 6; p++) {
            HT_CHECK_EQ_INT (market_idx_put (idx, s_keys [pick [p]], pick [p], &s_keys_fn), 0);
            present [pick [p]] = 1;
        }
        HT_CHECK_EQ_INT (market_idx_slots (idx), 16);
        HT_CHECK_EQ_INT (s_mismatches (idx, present, S_N_KEYS), 0);
        HT_CHECK_EQ_INT (market_idx_remove (idx, s_keys [pick [first]], &s_keys_fn), 0);
        present [pick [first]] = 0;
        HT_CHECK_EQ_INT (s_mismatches (idx, present, S_N_KEYS), 0);
        HT_CHECK_EQ_INT (market_idx_remove (idx, s_keys [pick [first]], &s_keys_fn),
                         HEARTH_ENOTFOUND);
        size_t order [6] = { 1, 3, 5, 0, 2, 4 };
        for (size_t o = 0; o < 6; o++) {
            uint32_t i = pick [order [o]];
            if (!present [i])
                continue;
            HT_CHECK_EQ_INT (market_idx_remove (idx, s_keys [i], &s_keys_fn), 0);
            present [i] = 0;
            HT_CHECK_EQ_INT (s_mismatches (idx, present, S_N_KEYS), 0);
        }
        HT_CHECK_EQ_INT (market_idx_size (idx), 0);
    }
    //  A key never put
    HT_CHECK_EQ_INT (market_idx_remove (idx, "never", &s_keys_fn), HEARTH_ENOTFOUND);
    market_idx_destroy (&idx);
    HT_CHECK (idx == NULL);
}

/*  Random put/remove/get against present[] over n_keys keys; returns the
    number of mismatches seen. */
static size_t
s_random_ops (market_idx_t *idx, size_t n_keys, size_t n_ops, uint64_t seed, size_t check_every)
{
    static uint8_t present [S_N_KEYS];
    memset (present, 0, sizeof present);
    size_t bad = 0;
    for (size_t op = 0; op < n_ops; op++) {
        uint64_t r = ht_splitmix64 (&seed);
        uint32_t i = (uint32_t) (r % n_keys);
        if ((r >> 32) % 3 == 0) {           // a third of the time: a lookup
            uint32_t at = UINT32_MAX;
            int rc = market_idx_get (idx, s_keys [i], &s_keys_fn, &at);
            bad += present [i]? (rc != 0 || at != i): rc != HEARTH_ENOTFOUND;
        }
        else
        if (present [i]) {
            bad += market_idx_remove (idx, s_keys [i], &s_keys_fn) != 0;
            present [i] = 0;
        }
        else {
            bad += market_idx_put (idx, s_keys [i], i, &s_keys_fn) != 0;
            present [i] = 1;
        }
        if (op % check_every == 0)
            bad += s_mismatches (idx, present, n_keys);
    }
    return bad + s_mismatches (idx, present, n_keys);
}

HT_TEST (test_idx_random_ops_small_table)
{
    //  At most 12 keys stay in 16 slots (load 0.75): runs form, wrap and
    //  break up all the time
    for (uint64_t seed = 1; seed <= 20; seed++) {
        market_idx_t *idx = market_idx_new_keyed (0, s_sip_key);
        HT_CHECK_EQ_INT (s_random_ops (idx, 12, 2000, seed, 1), 0);
        HT_CHECK_EQ_INT (market_idx_slots (idx), 16);
        market_idx_destroy (&idx);
    }
    //  And under random SipHash keys
    for (uint64_t seed = 21; seed <= 40; seed++) {
        market_idx_t *idx = market_idx_new (0);
        HT_CHECK_EQ_INT (s_random_ops (idx, 12, 2000, seed, 1), 0);
        market_idx_destroy (&idx);
    }
}

HT_TEST (test_idx_random_ops_growing)
{
    //  Up to all S_N_KEYS present: the table grows (16 -> 8192) while
    //  removals run, and clear keeps the table usable
    market_idx_t *idx = market_idx_new (0);
    HT_CHECK_EQ_INT (s_random_ops (idx, S_N_KEYS, 200000, 99, 997), 0);
    HT_CHECK (market_idx_slots (idx) >= 2048);
    market_idx_clear (idx);
    HT_CHECK_EQ_INT (market_idx_size (idx), 0);
    HT_CHECK_EQ_INT (s_random_ops (idx, S_N_KEYS, 50000, 7, 4999), 0);
    market_idx_destroy (&idx);
    //  Fill, then remove every key: nothing left behind
    idx = market_idx_new_keyed (0, s_sip_key);
    for (uint32_t i = 0; i < S_N_KEYS; i++)
        HT_CHECK_EQ_INT (market_idx_put (idx, s_keys [i], i, &s_keys_fn), 0);
    HT_CHECK_EQ_INT (market_idx_slots (idx), 8192);
    size_t bad = 0;
    for (uint32_t k = 0; k < S_N_KEYS; k++) {
        uint32_t i = (uint32_t) ((k * UINT64_C (2749)) % S_N_KEYS);    // scrambled order
        bad += market_idx_remove (idx, s_keys [i], &s_keys_fn) != 0;
    }
    HT_CHECK_EQ_INT (bad, 0);
    HT_CHECK_EQ_INT (market_idx_size (idx), 0);
    uint8_t none [S_N_KEYS] = { 0 };
    HT_CHECK_EQ_INT (s_mismatches (idx, none, S_N_KEYS), 0);
    market_idx_destroy (&idx);
}

int
main (void)
{
    for (uint32_t i = 0; i < S_N_KEYS; i++)
        snprintf (s_keys [i], sizeof s_keys [i], "k%u", i);
    HT_RUN (test_idx_remove_wraps_at_table_end);
    HT_RUN (test_idx_random_ops_small_table);
    HT_RUN (test_idx_random_ops_growing);
    return ht_summary ();
}
