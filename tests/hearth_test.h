/*  hearth_test.h — the tiny test harness every unit test uses (CTest runs
    each test binary; a binary fails if any check fails).

        HT_TEST (name) { HT_CHECK (x == 1); HT_CHECK_EQ_INT (a, b); }
        int main (void) { HT_RUN (name); return ht_summary (); }

    Checks never abort, so one run reports every failure. ht_tmpdir() makes a
    fresh directory under $TMPDIR (removed by the test's own cleanup or left
    for post-mortem when a check failed). ht_wait_until() polls a condition
    with a deadline: tests wait for conditions, never for fixed times.
*/
#ifndef HEARTH_TEST_H
#define HEARTH_TEST_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "../bench/hearth_bench.h"      /* ht_splitmix64 is hb_splitmix64 */

static int ht_checks, ht_failures, ht_tests, ht_failed_tests;

#define HT_TEST(name) static void name (void)
#define HT_RUN(name) do {                                                      \
        int before_ = ht_failures;                                             \
        fprintf (stderr, "[ RUN  ] %s\n", #name);                              \
        name ();                                                               \
        ht_tests++;                                                            \
        if (ht_failures != before_) ht_failed_tests++;                         \
        fprintf (stderr, "[ %s ] %s\n", ht_failures == before_? " OK ": "FAIL", #name); \
    } while (0)

#define HT_CHECK(cond) do {                                                    \
        ht_checks++;                                                           \
        if (!(cond)) {                                                         \
            ht_failures++;                                                     \
            fprintf (stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                      \
    } while (0)

#define HT_CHECK_EQ_INT(a, b) do {                                             \
        long long a_ = (long long) (a), b_ = (long long) (b);                  \
        ht_checks++;                                                           \
        if (a_ != b_) {                                                        \
            ht_failures++;                                                     \
            fprintf (stderr, "%s:%d: %s == %s failed: %lld != %lld\n",         \
                     __FILE__, __LINE__, #a, #b, a_, b_);                      \
        }                                                                      \
    } while (0)

#define HT_CHECK_EQ_STR(a, b) do {                                             \
        const char *a_ = (a), *b_ = (b);                                       \
        ht_checks++;                                                           \
        if (!a_ || !b_ || strcmp (a_, b_) != 0) {                              \
            ht_failures++;                                                     \
            fprintf (stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n",     \
                     __FILE__, __LINE__, #a, #b, a_? a_: "(null)", b_? b_: "(null)"); \
        }                                                                      \
    } while (0)

/*  Fresh temp dir; returns a malloc'd path (caller frees). */
/*  splitmix64: a small seeded stream for tests that must reproduce their
    random data. Advances *state. */
static inline uint64_t
ht_splitmix64 (uint64_t *state)
{
    return hb_splitmix64 (state);
}

/*  The seed of a randomised test: HEARTH_TEST_SEED when set and not empty
    (decimal, or hex with 0x), else fallback; never 0 (0 becomes 1, a
    stream that never leaves its start). The test prints it so a failure
    can be replayed. */
static inline uint64_t
ht_seed (uint64_t fallback)
{
    const char *env = getenv ("HEARTH_TEST_SEED");
    uint64_t seed = env && *env? strtoull (env, NULL, 0): fallback;
    return seed? seed: 1;
}

static inline char *
ht_tmpdir (const char *tag)
{
    const char *base = getenv ("TMPDIR");
    char *path = NULL;
    if (asprintf (&path, "%s/hearth-%s-XXXXXX", base? base: "/tmp", tag) < 0)
        return NULL;
    if (!mkdtemp (path)) {
        free (path);
        return NULL;
    }
    return path;
}

/*  rm -rf path (test cleanup only). */
static inline void
ht_rmtree (const char *path)
{
    char *cmd = NULL;
    if (path && asprintf (&cmd, "rm -rf '%s'", path) >= 0) {
        if (system (cmd) != 0)
            fprintf (stderr, "warning: could not remove %s\n", path);
    }
    free (cmd);
}

/*  Poll cond_fn(arg) every 10 ms until it returns non-zero or deadline_ms
    passes; returns the last result. */
static inline int
ht_wait_until (int (*cond_fn) (void *), void *arg, int deadline_ms)
{
    struct timespec start, now;
    clock_gettime (CLOCK_MONOTONIC, &start);
    for (;;) {
        int r = cond_fn (arg);
        if (r)
            return r;
        clock_gettime (CLOCK_MONOTONIC, &now);
        long elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (elapsed > deadline_ms)
            return 0;
        usleep (10000);
    }
}

/*  Print the closing line ctest logs and return the exit status. */
static inline int
ht_summary (void)
{
    fprintf (stderr, "%d tests, %d checks: %d passed, %d failed\n",
             ht_tests, ht_checks, ht_tests - ht_failed_tests, ht_failed_tests);
    return ht_failures? 1: 0;
}

#endif
