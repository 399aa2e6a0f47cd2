/*  bench_negentropy.c — figures for docs/performance.md, "Reconciliation in process": store build/insert/
    fingerprint speed, and in-process reconciliation cost.

        bench_negentropy store N
            bulk build, appends, random inserts, fingerprints, lower bounds of N items
        bench_negentropy sync N DIFF head|random|both [FRAME_LIMIT] [lacks]
            N shared items; DIFF more on one side only, at the head of the
            order (written during a partition), or at random old places, or
            DIFF/2 on each side at the head. The extra items are on the
            initiator, or with "lacks" on the responder (the initiator lacks
            them). Reports round trips and bytes.
        bench_negentropy riblt N DIFF head|random|both [FRAME_LIMIT] [lacks]
            the same sets reconciled with the Hearth-only rateless IBLT mode
            (riblt_session.h); also the encoders' start-up build time.

    Items model the event log: timestamp = lamport (shared items take lamports
    1..N, so about one event per lamport), id = random 32 bytes. Missing-event
    bytes use ~350 bytes per event, a typical signed post.
*/
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "hearth_bench.h"
#include "negentropy_store.h"
#include "negentropy.h"
#include "riblt_session.h"

/*  Typical signed event on the wire (a post, ~350 bytes). */
#define S_EVENT_BYTES 350

static uint64_t s_rng = 0x62656e6368ULL;           /* "bench" */

static uint64_t
s_rand (void)
{
    return hb_splitmix64 (&s_rng);
}

static void
s_rand_id (uint8_t *id)
{
    for (int i = 0; i < NEGENTROPY_ID_SIZE; i += 8) {
        uint64_t v = s_rand ();
        memcpy (id + i, &v, 8);
    }
}

static int
s_item_cmp (const void *a, const void *b)
{
    const negentropy_item_t *x = (const negentropy_item_t *) a, *y = (const negentropy_item_t *) b;
    if (x->timestamp != y->timestamp)
        return x->timestamp < y->timestamp? -1: 1;
    return memcmp (x->id, y->id, NEGENTROPY_ID_SIZE);
}

static int
s_bench_store (size_t n)
{
    negentropy_item_t *items = (negentropy_item_t *) malloc (n * sizeof *items);
    if (!items)
        return 1;
    for (size_t i = 0; i < n; i++) {
        items [i].timestamp = i + 1;
        s_rand_id (items [i].id);
    }
    long rss0 = (long) hb_status_kib ("VmRSS:");
    negentropy_store_t *store = negentropy_store_new ();
    double t0 = hb_now_s ();
    if (negentropy_store_build (store, items, n))
        return 1;
    double t1 = hb_now_s ();
    long rss1 = (long) hb_status_kib ("VmRSS:");
    printf ("bulk build      %8zu items  %8.1f ms  (%.0f ns/item), store RSS %.1f MiB (%.1f B/item)\n",
            n, (t1 - t0) * 1e3, (t1 - t0) * 1e9 / (double) n,
            (double) (rss1 - rss0) / 1024, (double) (rss1 - rss0) * 1024 / (double) n);

    negentropy_store_t *app = negentropy_store_new ();
    t0 = hb_now_s ();
    for (size_t i = 0; i < n; i++)
        if (negentropy_store_insert (app, items [i].timestamp, items [i].id))
            return 1;
    t1 = hb_now_s ();
    printf ("append inserts  %8zu items  %8.1f ms  (%.0f ns/item)\n",
            n, (t1 - t0) * 1e3, (t1 - t0) * 1e9 / (double) n);
    negentropy_store_destroy (&app);

    /*  Random order: shuffle a copy. */
    negentropy_item_t *shuffled = (negentropy_item_t *) malloc (n * sizeof *items);
    memcpy (shuffled, items, n * sizeof *items);
    for (size_t i = n; i > 1; i--) {
        size_t j = s_rand () % i;
        negentropy_item_t t = shuffled [i - 1];
        shuffled [i - 1] = shuffled [j];
        shuffled [j] = t;
    }
    negentropy_store_t *rnd = negentropy_store_new ();
    t0 = hb_now_s ();
    for (size_t i = 0; i < n; i++)
        if (negentropy_store_insert (rnd, shuffled [i].timestamp, shuffled [i].id))
            return 1;
    t1 = hb_now_s ();
    printf ("random inserts  %8zu items  %8.1f ms  (%.0f ns/item)\n",
            n, (t1 - t0) * 1e3, (t1 - t0) * 1e9 / (double) n);
    negentropy_store_destroy (&rnd);
    free (shuffled);

    size_t ops = 1000000;
    uint8_t fp [NEGENTROPY_FINGERPRINT_SIZE], acc = 0;
    t0 = hb_now_s ();
    for (size_t k = 0; k < ops; k++) {
        size_t a = s_rand () % (n + 1), b = s_rand () % (n + 1);
        negentropy_store_fingerprint (store, a < b? a: b, a < b? b: a, fp);
        acc ^= fp [0];
    }
    t1 = hb_now_s ();
    printf ("fingerprint     %8zu ranges %8.1f ms  (%.0f ns/range, random ranges)\n",
            ops, (t1 - t0) * 1e3, (t1 - t0) * 1e9 / (double) ops);
    /*  Reconciliation fingerprints neighbouring buckets: adjacent ranges. */
    size_t width = n / ops > 100? n / ops: 100;
    t0 = hb_now_s ();
    for (size_t k = 0, a = 0; k < ops; k++, a = a + width + width > n? 0: a + width) {
        negentropy_store_fingerprint (store, a, a + width, fp);
        acc ^= fp [0];
    }
    t1 = hb_now_s ();
    printf ("fingerprint     %8zu ranges %8.1f ms  (%.0f ns/range, adjacent ranges of %zu)\n",
            ops, (t1 - t0) * 1e3, (t1 - t0) * 1e9 / (double) ops, width);
    size_t sink = 0;
    t0 = hb_now_s ();
    for (size_t k = 0; k < ops; k++) {
        const negentropy_item_t *it = &items [s_rand () % n];
        size_t at = 0;
        negentropy_store_lower_bound (store, it->timestamp, it->id, &at);
        sink += at;
    }
    t1 = hb_now_s ();
    printf ("lower bound     %8zu probes %8.1f ms  (%.0f ns/probe)  [%u %zu]\n",
            ops, (t1 - t0) * 1e3, (t1 - t0) * 1e9 / (double) ops, acc, sink % 10);
    negentropy_store_destroy (&store);
    free (items);
    return 0;
}

static double
s_cpu (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/*  The Hearth rateless IBLT mode over stores a (initiator) and b. */
static int
s_run_riblt (negentropy_store_t *a, negentropy_store_t *b, size_t n, size_t diff,
             const char *where, size_t limit, int lacks)
{
    riblt_encoder_t *ea = riblt_encoder_new (RIBLT_ENCODER_SYMBOLS_DEFAULT);
    riblt_encoder_t *eb = riblt_encoder_new (RIBLT_ENCODER_SYMBOLS_DEFAULT);
    if (!ea || !eb)
        return 1;
    double t0 = hb_now_s ();
    if (riblt_encoder_add_store (ea, a))
        return 1;
    double t1 = hb_now_s ();
    if (riblt_encoder_add_store (eb, b))
        return 1;
    printf ("riblt encoder build: %zu items in %.1f ms (%.0f ns/item, %d symbols)\n",
            negentropy_store_size (a), (t1 - t0) * 1e3,
            (t1 - t0) * 1e9 / (double) (negentropy_store_size (a)? negentropy_store_size (a): 1),
            RIBLT_ENCODER_SYMBOLS_DEFAULT);
    riblt_session_t *init = riblt_session_new (ea, limit), *resp = riblt_session_new (eb, limit);
    if (!init || !resp)
        return 1;
    const uint8_t *msg, *reply;
    size_t size, reply_size;
    int rounds = 0;
    double c0 = s_cpu ();
    t0 = hb_now_s ();
    int rc = riblt_session_initiate (init, &msg, &size);
    while (rc == 0 && msg) {
        rounds++;
        rc = riblt_session_reconcile (resp, msg, size, &reply, &reply_size);
        if (rc == 0)
            rc = riblt_session_reconcile (init, reply, reply_size, &msg, &size);
    }
    t1 = hb_now_s ();
    double c1 = s_cpu ();
    riblt_session_stats_t si, sr;
    riblt_session_stats (init, &si);
    riblt_session_stats (resp, &sr);
    size_t have, need;
    riblt_session_have_ids (init, &have);
    riblt_session_need_ids (init, &need);
    uint64_t bytes = si.bytes_out + sr.bytes_out;
    double missing = (double) diff * S_EVENT_BYTES;
    printf ("riblt n=%zu diff=%zu %s%s limit=%zu: rc %d, %d round trips, %" PRIu64 " B initiator->responder, "
            "%" PRIu64 " B back (%" PRIu64 " symbols), %" PRIu64 " B total = %.2fx the missing events "
            "(%zu x %d B); have %zu need %zu; %.1f ms in-process, %.1f ms CPU\n",
            n, diff, where, lacks? " (initiator lacks)": "", limit, rc, rounds, si.bytes_out, sr.bytes_out,
            sr.symbols_out, bytes, bytes / missing, diff, S_EVENT_BYTES, have, need,
            (t1 - t0) * 1e3, (c1 - c0) * 1e3);
    int ok = rc == 0 && have + need == diff;
    riblt_session_destroy (&init);
    riblt_session_destroy (&resp);
    riblt_encoder_destroy (&ea);
    riblt_encoder_destroy (&eb);
    return ok? 0: 1;
}

static int
s_bench_sync (size_t n, size_t diff, const char *where, size_t limit, int lacks, int riblt)
{
    int head = strcmp (where, "head") == 0, both = strcmp (where, "both") == 0;
    if (!head && !both && strcmp (where, "random") != 0)
        return 2;
    size_t total = head || both? n + diff: n;
    negentropy_item_t *items = (negentropy_item_t *) malloc (total * sizeof *items);
    for (size_t i = 0; i < total; i++) {
        items [i].timestamp = i + 1;
        s_rand_id (items [i].id);
    }
    /*  Which items each side lacks: flags per item. */
    uint8_t *lack = (uint8_t *) calloc (total, 1);     /* 1: B lacks, 2: A lacks */
    if (head)
        for (size_t i = n; i < total; i++)
            lack [i] = 1;
    else
    if (both)
        for (size_t i = n; i < total; i++)
            lack [i] = (i - n) % 2? 2: 1;
    else
        for (size_t k = 0; k < diff; ) {
            size_t i = s_rand () % n;
            if (!lack [i]) {
                lack [i] = 1;
                k++;
            }
        }
    if (lacks)                              /* swap sides: the initiator lacks them */
        for (size_t i = 0; i < total; i++)
            lack [i] = lack [i] == 1? 2: lack [i] == 2? 1: 0;
    negentropy_item_t *a_items = (negentropy_item_t *) malloc (total * sizeof *items);
    negentropy_item_t *b_items = (negentropy_item_t *) malloc (total * sizeof *items);
    size_t na = 0, nb = 0;
    for (size_t i = 0; i < total; i++) {
        if (lack [i] != 2)
            a_items [na++] = items [i];
        if (lack [i] != 1)
            b_items [nb++] = items [i];
    }
    qsort (a_items, na, sizeof *items, s_item_cmp);
    qsort (b_items, nb, sizeof *items, s_item_cmp);
    negentropy_store_t *a = negentropy_store_new (), *b = negentropy_store_new ();
    if (negentropy_store_build (a, a_items, na) || negentropy_store_build (b, b_items, nb))
        return 1;

    if (riblt) {
        int rc = s_run_riblt (a, b, n, diff, where, limit, lacks);
        negentropy_store_destroy (&a);
        negentropy_store_destroy (&b);
        free (items);
        free (a_items);
        free (b_items);
        free (lack);
        return rc;
    }
    negentropy_t *init = negentropy_new (a, limit), *resp = negentropy_new (b, limit);
    if (!init || !resp)
        return 1;
    const uint8_t *msg, *reply;
    size_t size, reply_size;
    int rounds = 0;
    double t0 = hb_now_s ();
    int rc = negentropy_initiate (init, &msg, &size);
    while (rc == 0 && msg) {
        rounds++;
        rc = negentropy_reconcile (resp, msg, size, &reply, &reply_size);
        if (rc == 0)
            rc = negentropy_reconcile (init, reply, reply_size, &msg, &size);
    }
    double t1 = hb_now_s ();
    if (rc) {
        fprintf (stderr, "reconcile failed: %d\n", rc);
        return 1;
    }
    negentropy_stats_t si, sr;
    negentropy_stats (init, &si);
    negentropy_stats (resp, &sr);
    size_t have, need;
    negentropy_have_ids (init, &have);
    negentropy_need_ids (init, &need);
    uint64_t bytes = si.bytes_out + sr.bytes_out;
    double missing = (double) diff * S_EVENT_BYTES;
    printf ("sync n=%zu diff=%zu %s%s limit=%zu: %d round trips, %" PRIu64 " B initiator->responder, "
            "%" PRIu64 " B back, %" PRIu64 " B total = %.2fx the missing events (%zu x %d B); "
            "have %zu need %zu; %.1f ms in-process\n",
            n, diff, where, lacks? " (initiator lacks)": "", limit, rounds, si.bytes_out, sr.bytes_out, bytes,
            bytes / missing, diff, S_EVENT_BYTES, have, need, (t1 - t0) * 1e3);
    int ok = have + need == diff;
    negentropy_destroy (&init);
    negentropy_destroy (&resp);
    negentropy_store_destroy (&a);
    negentropy_store_destroy (&b);
    free (items);
    free (a_items);
    free (b_items);
    free (lack);
    return ok? 0: 1;
}

int
main (int argc, char **argv)
{
    if (argc >= 3 && strcmp (argv [1], "store") == 0)
        return s_bench_store ((size_t) strtoull (argv [2], NULL, 10));
    if (argc >= 5 && (strcmp (argv [1], "sync") == 0 || strcmp (argv [1], "riblt") == 0))
        return s_bench_sync ((size_t) strtoull (argv [2], NULL, 10),
                             (size_t) strtoull (argv [3], NULL, 10), argv [4],
                             argc >= 6? (size_t) strtoull (argv [5], NULL, 10): 0,
                             argc >= 7 && strcmp (argv [6], "lacks") == 0,
                             strcmp (argv [1], "riblt") == 0);
    fprintf (stderr, "usage: bench_negentropy store N\n"
                     "       bench_negentropy sync N DIFF head|random|both [FRAME_LIMIT] [lacks]\n"
                     "       bench_negentropy riblt N DIFF head|random|both [FRAME_LIMIT] [lacks]\n");
    return 2;
}
