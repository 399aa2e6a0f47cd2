/*  bench_snapshot.c — view snapshots at scale, without a market view: a
    view emits N records of 272 bytes (a market post's ~270 B) and the log
    snapshots it ROUNDS times, then a reopen restores it. Prints each
    snapshot's time, the process peak RSS (VmHWM), RocksDB's memtables and
    the bytes on disk, then the restore's. With the RocksDB LOG in DB_DIR
    it shows whether snapshots stall writes or compact (not a test: it
    measures, docs/decisions/0019-snapshots-stream-into-an-ingested-sst.md).

        bench_snapshot DB_DIR [N (1000000)] [ROUNDS (4)]

    DB_DIR must not exist (a fresh log). Records are half text-like, half
    xorshift bytes, so they compress about as a market view does not
    (worse, not better).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "eventlog.h"
#include "hearth_bench.h"
#include "hearth_error.h"

/*  Bytes per record: about a market post's. */
#define S_RECORD_BYTES 272

typedef struct {
    size_t   n;
    uint64_t restored, chunks;
} s_view_t;

static int
s_snapshot (void *ctx, eventlog_record_fn *emit, void *arg)
{
    s_view_t *v = (s_view_t *) ctx;
    uint8_t rec [S_RECORD_BYTES];
    uint64_t x = 88172645463325252ULL;
    for (size_t i = 0; i < v->n; i++) {
        for (size_t j = 0; j < sizeof rec; j += 8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            uint64_t w = (j / 8) % 2? x: 0x6d65726f6c207469ULL;
            memcpy (rec + j, &w, 8);
        }
        int rc = emit (arg, rec, sizeof rec);
        if (rc)
            return rc;
    }
    return 0;
}

static int
s_restore_begin (void *ctx)
{
    s_view_t *v = (s_view_t *) ctx;
    v->restored = v->chunks = 0;
    return 0;
}

static int
s_restore_chunk (void *ctx, const uint8_t *buf, size_t len)
{
    s_view_t *v = (s_view_t *) ctx;
    (void) buf;
    v->restored += len;
    v->chunks++;
    return 0;
}

static int
s_restore_end (void *ctx, int commit)
{
    (void) ctx;
    (void) commit;
    return 0;
}

static void
s_reset (void *ctx)
{
    (void) ctx;
}

/*  Open dir with the view registered and loaded; NULL on failure. */
static eventlog_t *
s_open (const char *dir, s_view_t *v)
{
    int err;
    eventlog_t *log = eventlog_open (dir, &err);
    if (!log) {
        fprintf (stderr, "open %s: %s\n", dir, hearth_strerror (err));
        return NULL;
    }
    eventlog_view_t view = {
        .name = "bench", .types = 0, .ctx = v, .snapshot = s_snapshot,
        .restore_begin = s_restore_begin, .restore_chunk = s_restore_chunk,
        .restore_end = s_restore_end, .reset = s_reset,
    };
    double t0 = hb_now_s ();
    if (eventlog_view_register (log, &view) != 0 || eventlog_views_load (log, NULL) != 0) {
        fprintf (stderr, "views load failed\n");
        eventlog_destroy (&log);
        return NULL;
    }
    printf ("open + views load: %.2f s, restored %llu bytes in %llu chunks, VmHWM %.1f MiB\n",
            hb_now_s () - t0, (unsigned long long) v->restored, (unsigned long long) v->chunks,
            (double) hb_status_kib ("VmHWM:") / 1024);
    return log;
}

int
main (int argc, char **argv)
{
    struct stat st;
    if (argc < 2 || stat (argv [1], &st) == 0) {
        fprintf (stderr, "usage: bench_snapshot DB_DIR [N] [ROUNDS] (DB_DIR must not exist)\n");
        return 2;
    }
    s_view_t v = { argc > 2? (size_t) atol (argv [2]): 1000000, 0, 0 };
    int rounds = argc > 3? atoi (argv [3]): 4;
    printf ("%zu records of %d bytes (%.0f MB), %d snapshots\n", v.n, S_RECORD_BYTES,
            (double) v.n * S_RECORD_BYTES / 1e6, rounds);
    eventlog_t *log = s_open (argv [1], &v);
    if (!log)
        return 1;
    for (int i = 0; i < rounds; i++) {
        double t0 = hb_now_s ();
        int rc = eventlog_views_snapshot (log);
        eventlog_memory_t mem;
        eventlog_memory (log, &mem);
        printf ("snapshot %d: %s, %.2f s, VmHWM %.1f MiB, memtables %.1f MiB, on disk %.0f MB\n", i + 1,
                hearth_strerror (rc), hb_now_s () - t0, (double) hb_status_kib ("VmHWM:") / 1024,
                (double) mem.memtables / 1048576, (double) eventlog_disk_bytes (log) / 1e6);
    }
    eventlog_destroy (&log);                /* no community: no final snapshot */
    /*  The restore: its own peak (writing 5 to clear_refs resets VmHWM). */
    FILE *f = fopen ("/proc/self/clear_refs", "w");
    if (f) {
        fputs ("5", f);
        fclose (f);
    }
    log = s_open (argv [1], &v);
    eventlog_destroy (&log);
    return 0;
}
