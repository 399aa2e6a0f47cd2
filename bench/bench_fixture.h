/*  bench_fixture.h — the synthetic marketplace the market benchmarks fill
    a log or a view with (bench_page, bench_fused, bench_near): a
    Zipf-distributed vocabulary of BENCH_FIXTURE_VOCAB words, texts drawn
    from it, and a market.post.created event signed around a post.

    Deterministic: the vocabulary is the same in every run and every
    program; the texts and word draws advance the caller's seeded stream
    (hb_splitmix64 of hearth_bench.h), so one seed gives one data set. For
    benchmarks only. Single-threaded (the vocabulary is one static table).
*/
#ifndef BENCH_FIXTURE_H_INCLUDED
#define BENCH_FIXTURE_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include "event.h"
#include "identity.h"
#include "ulid.h"

/*  Words in the vocabulary. */
#define BENCH_FIXTURE_VOCAB  5000

/*  Fill the vocabulary (call once before the other functions): words of
    2-4 syllables with a hex suffix of their rank, all distinct. */
void
    bench_fixture_vocab_make (void);

/*  The word of rank (0 <= rank < BENCH_FIXTURE_VOCAB); borrowed from the
    vocabulary. */
const char *
    bench_fixture_word (size_t rank);

/*  A word rank, Zipf-like (s = 1): rank = V^u - 1 for uniform u drawn
    from *rng. */
size_t
    bench_fixture_zipf (uint64_t *rng);

/*  min to max Zipf words (the count drawn from *rng), separated by
    spaces, into out (at most cap bytes, NUL-terminated). */
void
    bench_fixture_text (uint64_t *rng, char *out, size_t cap, int min, int max);

/*  The event id of the i-th post of a data set: a ULID at wall_ms whose
    random part is i, so ids are distinct and the same in every run. */
void
    bench_fixture_ulid (size_t i, uint64_t wall_ms, char id [ULID_SIZE]);

/*  post (borrowed) in a market.post.created event (schema 1) with
    event_id, lamport and wall_ms, in community, signed by author; the new
    event (caller owns) or NULL with *err set, as event_sign. */
event_t *
    bench_fixture_post_sign (Hearth__MarketPostCreated *post, const char *event_id, uint64_t lamport,
                             uint64_t wall_ms, const uint8_t community [32], const identity_t *author,
                             int *err);

#endif
