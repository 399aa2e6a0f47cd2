/*  test_gossip_index.c — the hash index gossip_want and gossip_refused
    share: its arguments, and find / insert / remove against a plain
    reference over an entry array that grows (realloc) between calls, with
    the chain link away from the hash as in both users' layouts. The key is
    fixed, hashes are made from counters. */
#include <stddef.h>
#include <sodium.h>
#include "hearth_test.h"
#include "gossip_index.h"

static const uint8_t s_key [16] = { 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6 };

typedef struct {
    uint8_t  hash [32];
    uint64_t payload;
    uint32_t next;
    uint8_t  in;                            /* in the index (the reference) */
} s_entry_t;

static void
s_hash (uint32_t i, uint8_t h [32])
{
    memset (h, 0xa5, 32);
    memcpy (h, &i, sizeof i);
}

HT_TEST (test_index_arguments)
{
    size_t next = offsetof (s_entry_t, next);
    HT_CHECK (gossip_index_new (0, s_key, sizeof (s_entry_t), next) == NULL);
    HT_CHECK (gossip_index_new (GOSSIP_INDEX_NIL, s_key, sizeof (s_entry_t), next) == NULL);
    HT_CHECK (gossip_index_new (8, s_key, 16, 8) == NULL);                  /* no room for a hash */
    HT_CHECK (gossip_index_new (8, s_key, sizeof (s_entry_t), 0) == NULL);  /* link inside the hash */
    HT_CHECK (gossip_index_new (8, s_key, sizeof (s_entry_t), sizeof (s_entry_t)) == NULL);
    gossip_index_t *index = gossip_index_new (8, s_key, sizeof (s_entry_t), next);
    HT_CHECK (index != NULL);
    uint8_t h [32];
    s_hash (1, h);
    HT_CHECK_EQ_INT (gossip_index_find (index, NULL, h), GOSSIP_INDEX_NIL);  /* empty: no entry read */
    gossip_index_destroy (&index);
    HT_CHECK (index == NULL);
    gossip_index_destroy (&index);
    gossip_index_destroy (NULL);
}

HT_TEST (test_index_against_reference)
{
    enum { MAX = 600 };
    gossip_index_t *index = gossip_index_new (MAX, s_key, sizeof (s_entry_t), offsetof (s_entry_t, next));
    s_entry_t *entries = NULL;
    size_t n = 0;
    uint64_t rng = 11;
    int wrong = 0;
    for (int step = 0; step < 20000; step++) {
        uint32_t key = (uint32_t) (ht_splitmix64 (&rng) % (2 * MAX));
        uint8_t h [32];
        s_hash (key, h);
        uint32_t found = gossip_index_find (index, entries, h);
        /*  The reference: entry `key` of the array, if it exists and is in. */
        uint32_t expect = key < n && entries [key].in? key: GOSSIP_INDEX_NIL;
        wrong += found != expect;
        if (found == GOSSIP_INDEX_NIL) {
            if (key >= n) {
                /*  Grow the array to hold entry `key` (the index keeps no pointer). */
                s_entry_t *p = (s_entry_t *) realloc (entries, (key + 1) * sizeof *p);
                HT_CHECK (p != NULL);
                if (!p)
                    break;
                entries = p;
                for (size_t i = n; i <= key; i++) {
                    s_hash ((uint32_t) i, entries [i].hash);
                    entries [i].in = 0;
                }
                n = key + 1;
            }
            gossip_index_insert (index, entries, key);
            entries [key].in = 1;
        }
        else
        if (ht_splitmix64 (&rng) % 2) {
            gossip_index_remove (index, entries, found);
            entries [found].in = 0;
        }
    }
    HT_CHECK_EQ_INT (wrong, 0);
    size_t in = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t h [32];
        s_hash ((uint32_t) i, h);
        in += entries [i].in;
        wrong += gossip_index_find (index, entries, h) != (entries [i].in? (uint32_t) i: GOSSIP_INDEX_NIL);
    }
    HT_CHECK_EQ_INT (wrong, 0);
    HT_CHECK (in > 0);
    free (entries);
    gossip_index_destroy (&index);
}

int
main (void)
{
    if (sodium_init () < 0)
        return 1;
    HT_RUN (test_index_arguments);
    HT_RUN (test_index_against_reference);
    return ht_summary ();
}
