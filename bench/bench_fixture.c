/*  bench_fixture.c — the synthetic marketplace of the market benchmarks
    (bench_fixture.h): one definition of the vocabulary, the texts and the
    signed post, so the benchmarks that compare figures build the same data.
*/
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "hearth_bench.h"
#include "bench_fixture.h"

static char s_words [BENCH_FIXTURE_VOCAB][16];

void
bench_fixture_vocab_make (void)
{
    static const char *syl [] = { "ka", "ri", "so", "le", "ma", "te", "nu", "bo", "gi", "sch",
                                  "an", "er", "un", "ter", "wa", "ser", "ro", "li", "fa", "dr" };
    uint64_t st = 7;
    for (size_t i = 0; i < BENCH_FIXTURE_VOCAB; i++) {
        size_t len = 0;
        int parts = 2 + (int) (hb_splitmix64 (&st) % 3);
        for (int p = 0; p < parts; p++)
            len += (size_t) snprintf (s_words [i] + len, sizeof s_words [i] - len, "%s",
                                      syl [hb_splitmix64 (&st) % 20]);
        /*  A suffix of the index keeps every word distinct. */
        snprintf (s_words [i] + (len > 10? 10: len), sizeof s_words [i] - (len > 10? 10: len),
                  "%zx", i % 4096);
    }
}

const char *
bench_fixture_word (size_t rank)
{
    return s_words [rank < BENCH_FIXTURE_VOCAB? rank: BENCH_FIXTURE_VOCAB - 1];
}

size_t
bench_fixture_zipf (uint64_t *rng)
{
    double u = (double) (hb_splitmix64 (rng) >> 11) / 9007199254740992.0;
    size_t r = (size_t) (pow ((double) BENCH_FIXTURE_VOCAB, u)) - 1;
    return r < BENCH_FIXTURE_VOCAB? r: BENCH_FIXTURE_VOCAB - 1;
}

void
bench_fixture_text (uint64_t *rng, char *out, size_t cap, int min, int max)
{
    int n = min + (int) (hb_splitmix64 (rng) % (uint64_t) (max - min + 1));
    size_t len = 0;
    out [0] = '\0';
    for (int i = 0; i < n && len + 17 < cap; i++)
        len += (size_t) snprintf (out + len, cap - len, "%s%s", i? " ": "",
                                  s_words [bench_fixture_zipf (rng)]);
}

void
bench_fixture_ulid (size_t i, uint64_t wall_ms, char id [ULID_SIZE])
{
    ulid_gen_t gen = { 0 };
    uint8_t rnd [10] = { 0 };
    for (int b = 0; b < 8; b++)
        rnd [2 + b] = (uint8_t) (i >> (8 * (7 - b)));
    ulid_gen_next (&gen, wall_ms, rnd, id);
}

event_t *
bench_fixture_post_sign (Hearth__MarketPostCreated *post, const char *event_id, uint64_t lamport,
                         uint64_t wall_ms, const uint8_t community [32], const identity_t *author,
                         int *err)
{
    Hearth__Event e = HEARTH__EVENT__INIT;
    e.schema_version = 1;
    e.event_id = (char *) event_id;
    e.lamport = lamport;
    e.wall_clock_ms = wall_ms;
    e.community_id.data = (uint8_t *) community;
    e.community_id.len = 32;
    e.author.data = (uint8_t *) identity_public_key (author);
    e.author.len = 32;
    e.type = HEARTH__EVENT_TYPE__MARKET_POST_CREATED;
    e.payload_case = HEARTH__EVENT__PAYLOAD_MARKET_POST_CREATED;
    e.market_post_created = post;
    return event_sign (&e, author, err);
}
