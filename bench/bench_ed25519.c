/*  bench_ed25519.c — batch verification (ed25519_batch.h) against
    libsodium's single verify, on one core (run it with scripts/bench.sh
    ed25519; not a test: it measures, it does not judge).

    Setup (untimed): N signatures by libsodium over Hearth-like messages
    (the 16-byte domain prefix + a 340-byte body, ~ a market post), by
    --authors K keys (default: a key per signature; each signature's key
    drawn at random from the K otherwise).
    Timed, the process pinned to one CPU, per round: libsodium
    crypto_sign_verify_detached of all N, then ed25519_batch_verify of the
    same N in batches of 16, of 64 and of 256. A round's ratio for a batch
    size is libsodium's time over the batch time (both thread CPU time, so
    a shared machine's other load does not count against either). --repeat
    R rounds (default 5); prints the median rates and the median (min-max)
    ratios. --batch B (repeatable) measures batches of B instead.

    Usage: bench_ed25519 [N] [--authors K] [--repeat R] [--batch B]...
*/
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>
#include "ed25519_batch.h"
#include "hearth_bench.h"
#include "identity.h"

/*  Default signatures: enough for many batches of 256. */
#define BENCH_DEFAULT_N     8192
/*  Body bytes after the domain prefix: a market post's SignedEvent body. */
#define BENCH_BODY_BYTES    340
/*  Batch sizes measured by default (16, 64 and 256); at most
    BENCH_MAX_SIZES with --batch. */
#define BENCH_MAX_SIZES     8
static size_t s_sizes [BENCH_MAX_SIZES] = { 16, 64, 256 };
static size_t s_n_sizes = 3;

static double
s_cpu_now (void)
{
    return hb_clock_s (CLOCK_THREAD_CPUTIME_ID);
}

static int
s_cmp_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y? -1: x > y;
}

static double
s_median (double *v, int n)
{
    qsort (v, (size_t) n, sizeof *v, s_cmp_double);
    return n % 2? v [n / 2]: (v [n / 2 - 1] + v [n / 2]) / 2;
}

/*  Pin this (single-threaded) process to the first CPU it may use. */
static int
s_pin_one (void)
{
    cpu_set_t all, one;
    if (sched_getaffinity (0, sizeof all, &all) != 0)
        return -1;
    CPU_ZERO (&one);
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET (c, &all)) {
            CPU_SET (c, &one);
            return sched_setaffinity (0, sizeof one, &one) == 0? c: -1;
        }
    return -1;
}

int
main (int argc, char **argv)
{
    size_t n = BENCH_DEFAULT_N, authors = 0;
    int repeat = 5, custom = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp (argv [i], "--authors") == 0 && i + 1 < argc)
            authors = (size_t) strtoul (argv [++i], NULL, 10);
        else if (strcmp (argv [i], "--repeat") == 0 && i + 1 < argc)
            repeat = atoi (argv [++i]);
        else if (strcmp (argv [i], "--batch") == 0 && i + 1 < argc && custom < BENCH_MAX_SIZES) {
            s_sizes [custom++] = (size_t) strtoul (argv [++i], NULL, 10);
            s_n_sizes = (size_t) custom;
        }
        else if (argv [i][0] != '-')
            n = (size_t) strtoul (argv [i], NULL, 10);
        else {
            fprintf (stderr, "usage: bench_ed25519 [N] [--authors K] [--repeat R] [--batch B]...\n");
            return 2;
        }
    }
    if (n == 0 || repeat < 1 || repeat > 100 || sodium_init () < 0)
        return 2;
    for (size_t s = 0; s < s_n_sizes; s++)
        if (s_sizes [s] == 0)
            return 2;
    if (authors == 0 || authors > n)
        authors = n;

    /*  Setup. */
    uint8_t (*pks) [32] = malloc (authors * 32);
    uint8_t (*sks) [64] = malloc (authors * 64);
    uint8_t (*msgs) [IDENTITY_EVENT_DOMAIN_LEN + BENCH_BODY_BYTES] = malloc (n * sizeof *msgs);
    uint8_t (*sigs) [64] = malloc (n * 64);
    size_t *who = malloc (n * sizeof *who);
    ed25519_batch_item_t *items = malloc (n * sizeof *items);
    int *rcs = malloc (n * sizeof *rcs);
    if (!pks || !sks || !msgs || !sigs || !who || !items || !rcs)
        return 1;
    for (size_t a = 0; a < authors; a++)
        crypto_sign_keypair (pks [a], sks [a]);
    for (size_t i = 0; i < n; i++) {
        who [i] = authors == n? i: (size_t) randombytes_uniform ((uint32_t) authors);
        memcpy (msgs [i], IDENTITY_EVENT_DOMAIN, IDENTITY_EVENT_DOMAIN_LEN);
        randombytes_buf (msgs [i] + IDENTITY_EVENT_DOMAIN_LEN, BENCH_BODY_BYTES);
        crypto_sign_detached (sigs [i], NULL, msgs [i], sizeof msgs [i], sks [who [i]]);
        items [i].pk = pks [who [i]];
        items [i].sig = sigs [i];
        items [i].prefix = msgs [i];
        items [i].prefix_len = IDENTITY_EVENT_DOMAIN_LEN;
        items [i].msg = msgs [i] + IDENTITY_EVENT_DOMAIN_LEN;
        items [i].msg_len = BENCH_BODY_BYTES;
    }
    int cpu = s_pin_one ();
    printf ("bench_ed25519: %zu signatures, %zu authors, %d rounds, pinned to CPU %d, thread CPU time\n",
            n, authors, repeat, cpu);

    double single_rate [100], batch_rate [BENCH_MAX_SIZES][100], ratio [BENCH_MAX_SIZES][100];
    int failures = 0;
    for (int r = 0; r < repeat; r++) {
        double t0 = s_cpu_now ();
        for (size_t i = 0; i < n; i++)
            failures += crypto_sign_verify_detached (sigs [i], msgs [i], sizeof msgs [i], pks [who [i]]) != 0;
        double single = s_cpu_now () - t0;
        single_rate [r] = (double) n / single;
        for (size_t s = 0; s < s_n_sizes; s++) {
            uint8_t seed [ED25519_BATCH_SEED_BYTES];
            t0 = s_cpu_now ();
            for (size_t base = 0; base < n; base += s_sizes [s]) {
                size_t m = n - base < s_sizes [s]? n - base: s_sizes [s];
                randombytes_buf (seed, sizeof seed);
                failures += ed25519_batch_verify (items + base, m, seed, rcs + base) != 0;
            }
            double batch = s_cpu_now () - t0;
            batch_rate [s][r] = (double) n / batch;
            ratio [s][r] = single / batch;
        }
    }
    if (failures)
        fprintf (stderr, "bench_ed25519: %d verifications FAILED\n", failures);
    printf ("%-22s %12s   %s\n", "", "verifies/s", "ratio to libsodium: median (min-max)");
    printf ("%-22s %12.0f\n", "libsodium, one by one", s_median (single_rate, repeat));
    for (size_t s = 0; s < s_n_sizes; s++) {
        double lo = ratio [s][0], hi = ratio [s][0];
        for (int r = 1; r < repeat; r++) {
            lo = ratio [s][r] < lo? ratio [s][r]: lo;
            hi = ratio [s][r] > hi? ratio [s][r]: hi;
        }
        char label [32];
        snprintf (label, sizeof label, "batch of %zu", s_sizes [s]);
        printf ("%-22s %12.0f   %.2f (%.2f-%.2f)\n", label, s_median (batch_rate [s], repeat),
                s_median (ratio [s], repeat), lo, hi);
    }
    free (pks);
    free (sks);
    free (msgs);
    free (sigs);
    free (who);
    free (items);
    free (rcs);
    return failures? 1: 0;
}
