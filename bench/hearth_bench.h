/*  hearth_bench.h — small helpers shared by the benchmark programs
    (bench/bench_*.c): seeded random streams, clocks in seconds and the
    kernel's memory figures of this process. Header-only (static inline),
    like tests/hearth_test.h, which includes it (ht_splitmix64 is
    hb_splitmix64). For benchmarks and tests only: nothing here is used by
    the node.
*/
#ifndef HEARTH_BENCH_H
#define HEARTH_BENCH_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*  splitmix64: a small seeded stream, so a benchmark's (and a test's)
    random data is the same in every run. Advances *state. */
static inline uint64_t
hb_splitmix64 (uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/*  Seconds on clock `id` (CLOCK_MONOTONIC for wall time,
    CLOCK_PROCESS_CPUTIME_ID / CLOCK_THREAD_CPUTIME_ID for CPU time). */
static inline double
hb_clock_s (clockid_t id)
{
    struct timespec ts;
    clock_gettime (id, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/*  Monotonic wall-clock seconds. */
static inline double
hb_now_s (void)
{
    return hb_clock_s (CLOCK_MONOTONIC);
}

/*  The value in KiB of a "Vm...:" line of /proc/self/status (field with
    its colon, e.g. "VmRSS:" or "VmHWM:"), or 0 if unknown. */
static inline uint64_t
hb_status_kib (const char *field)
{
    FILE *f = fopen ("/proc/self/status", "r");
    char line [256];
    uint64_t kib = 0;
    size_t n = strlen (field);
    while (f && fgets (line, sizeof line, f))
        if (strncmp (line, field, n) == 0)
            kib = strtoull (line + n, NULL, 10);
    if (f)
        fclose (f);
    return kib;
}

#endif
