/*  bench_ingest.c — how close the receive pipeline gets to the bare cost of
    its signature checks (run it with scripts/bench.sh ingest; docs/performance.md,
    "Receive pipeline vs. bare signature checks").

    Setup (untimed): a community, BENCH_AUTHORS members invited and joined,
    then N signed market.post.created events (~350 bytes each) from those
    members, all encoded up front.
    Timed, in one run, for 1 and 2 threads, the whole process confined to
    as many CPUs as threads (see s_pin):
      verify-only : libsodium crypto_sign_verify_detached over exactly the
                    bytes the pipeline verifies (domain prefix || body), the
                    events split evenly across the threads;
      batch verify-only : identity_verify_events (ed25519_batch) of the
                    same signatures in batches of BENCH_VERIFY_BATCH, what
                    the pipeline's verify workers do per claim, split evenly;
      ingest      : eventlog_ingest of all N frames into a fresh RocksDB with
                    a registered trivial view, in calls of --call frames.
    The three are interleaved per ingest call (verify the call's events
    both ways, then ingest them), so on a shared machine all see the same
    load; a run's ratios are its total verify-only times over its total
    ingest time. Each thread count runs --repeat times (default 5); the
    table shows the median rates and the median (min-max) of the paired
    ratios.

    Usage: bench_ingest [N] [--repeat R] [--call FRAMES] [--threads 1|2] [--dir DIR]
*/
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>
#include "eventlog.h"
#include "hearth_bench.h"
#include "hearth_error.h"
#include "hearth_log.h"

/*  Other authors posting (issue: "from e.g. 64 other authors"). */
#define BENCH_AUTHORS       64
/*  Default events; the issue asks for >= 100,000. */
#define BENCH_DEFAULT_N     100000
/*  Frames per eventlog_ingest call: what one anti-entropy fetch might carry. */
#define BENCH_DEFAULT_CALL  4096
/*  Signatures per identity_verify_events call in the batch verify-only
    row: the verify pool's claim (S_VERIFY_CLAIM in eventlog_ingest.c). */
#define BENCH_VERIFY_BATCH  128
/*  A fixed wall clock for the generated events (2026-05-26). */
#define BENCH_T0_MS         1779783262000ULL

/* ---- cores ----------------------------------------------------------------
   "The same number of cores": each measurement with t threads runs with the
   whole process (verify workers, the writer thread, RocksDB's background
   threads) confined to t CPUs, so the ingest cannot borrow a core the
   verify-only run did not have. */

static cpu_set_t s_all_cpus;

/*  Confine every thread of this process (and threads they create) to the
    first n CPUs we were allowed. Returns the number of CPUs used. */
static int
s_pin (int n)
{
    cpu_set_t set;
    CPU_ZERO (&set);
    int used = 0;
    for (int c = 0; c < CPU_SETSIZE && used < n; c++)
        if (CPU_ISSET (c, &s_all_cpus)) {
            CPU_SET (c, &set);
            used++;
        }
    DIR *dir = opendir ("/proc/self/task");
    struct dirent *de;
    while (dir && (de = readdir (dir)) != NULL) {
        if (de->d_name [0] == '.')
            continue;
        pid_t tid = (pid_t) atoi (de->d_name);
        if (sched_setaffinity (tid, sizeof set, &set) != 0)
            fprintf (stderr, "warning: could not pin thread %d\n", (int) tid);
    }
    if (dir)
        closedir (dir);
    return used;
}

/* ---- the data set --------------------------------------------------------- */

typedef struct {
    uint8_t **frames;                       /* SignedEvent wire bytes */
    size_t   *lens;
    uint8_t **msgs;                         /* domain prefix || body, for verify-only */
    size_t   *msg_lens;
    uint8_t (*sigs) [64];
    const uint8_t **keys;                   /* author public key (borrowed) */
    size_t    n;
} dataset_t;

static int
s_collect (void *arg, const event_t *ev)
{
    dataset_t *d = (dataset_t *) arg;
    size_t len;
    const uint8_t *w = event_wire (ev, &len);
    d->frames [d->n] = malloc (len);
    memcpy (d->frames [d->n], w, len);
    d->lens [d->n++] = len;
    return 0;
}

/*  Build the membership prefix on a scratch log and return its frames. */
static int
s_make_prefix (const char *dir, identity_t *root, identity_t **authors, dataset_t *prefix)
{
    int err;
    eventlog_t *log = eventlog_open (dir, &err);
    if (!log)
        return err;
    int rc = eventlog_community_create (log, root, "Bench", BENCH_T0_MS);
    uint64_t now = BENCH_T0_MS;
    for (int i = 0; rc == 0 && i < BENCH_AUTHORS; i++) {
        Hearth__Event d = HEARTH__EVENT__INIT;
        Hearth__MemberInvited inv = HEARTH__MEMBER_INVITED__INIT;
        inv.invitee.data = (uint8_t *) identity_public_key (authors [i]);
        inv.invitee.len = 32;
        inv.display_name = (char *) "bench";
        inv.initial_level = HEARTH__LEVEL__LEVEL_MEMBER;
        inv.expires_at_ms = BENCH_T0_MS + 86400000ULL;
        d.type = HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_INVITED;
        d.payload_case = HEARTH__EVENT__PAYLOAD_MEMBER_INVITED;
        d.member_invited = &inv;
        event_t *ev = NULL;
        rc = eventlog_append_local (log, root, &d, ++now, &ev);
        if (rc)
            break;
        Hearth__Event j = HEARTH__EVENT__INIT;
        Hearth__MemberJoined mj = HEARTH__MEMBER_JOINED__INIT;
        mj.invite_event_id = (char *) event_id (ev);
        mj.display_name = (char *) "bench";
        j.type = HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_JOINED;
        j.payload_case = HEARTH__EVENT__PAYLOAD_MEMBER_JOINED;
        j.member_joined = &mj;
        rc = eventlog_append_local (log, authors [i], &j, ++now, NULL);
        event_destroy (&ev);
    }
    size_t total = 1 + 2 * BENCH_AUTHORS;
    prefix->frames = calloc (total, sizeof *prefix->frames);
    prefix->lens = calloc (total, sizeof *prefix->lens);
    if (rc == 0)
        rc = eventlog_scan (log, 0, s_collect, prefix);
    eventlog_destroy (&log);
    return rc;
}

/*  N posts, lamports after the prefix, round-robin over the authors. */
static int
s_make_posts (const uint8_t *community, uint64_t first_lamport, identity_t **authors, size_t n,
              dataset_t *d)
{
    d->frames = calloc (n, sizeof *d->frames);
    d->lens = calloc (n, sizeof *d->lens);
    d->msgs = calloc (n, sizeof *d->msgs);
    d->msg_lens = calloc (n, sizeof *d->msg_lens);
    d->sigs = calloc (n, sizeof *d->sigs);
    d->keys = calloc (n, sizeof *d->keys);
    if (!d->frames || !d->lens || !d->msgs || !d->msg_lens || !d->sigs || !d->keys)
        return HEARTH_ENOMEM;
    ulid_gen_t gen [BENCH_AUTHORS];
    memset (gen, 0, sizeof gen);
    char *tags [2] = { (char *) "garden", (char *) "free" };
    for (size_t i = 0; i < n; i++) {
        identity_t *who = authors [i % BENCH_AUTHORS];
        uint64_t ms = BENCH_T0_MS + i;
        char id [ULID_SIZE], client [40], title [80];
        uint8_t rnd [10];
        randombytes_buf (rnd, sizeof rnd);
        ulid_gen_next (&gen [i % BENCH_AUTHORS], ms, rnd, id);
        snprintf (client, sizeof client, "bench-%zu", i);
        snprintf (title, sizeof title, "Offer %zu: seedlings and garden tools", i);
        Hearth__Event e = HEARTH__EVENT__INIT;
        Hearth__MarketPostCreated p = HEARTH__MARKET_POST_CREATED__INIT;
        Hearth__Location loc = HEARTH__LOCATION__INIT;
        loc.lat = 52.52 + (double) (i % 100) / 1000.0;
        loc.lng = 13.40;
        loc.label = (char *) "Kiez";
        p.client_id = client;
        p.category = HEARTH__CATEGORY__CATEGORY_OFFER;
        p.title = title;
        p.body = (char *) "Tomato and basil seedlings, a rake and two spades. Pick up any evening.";
        p.location = &loc;
        p.tags = tags;
        p.n_tags = 2;
        p.ttl_seconds = 604800;
        e.schema_version = 1;
        e.event_id = id;
        e.lamport = first_lamport + i;
        e.wall_clock_ms = ms;
        e.community_id.data = (uint8_t *) community;
        e.community_id.len = 32;
        e.author.data = (uint8_t *) identity_public_key (who);
        e.author.len = 32;
        e.type = HEARTH__EVENT_TYPE__MARKET_POST_CREATED;
        e.payload_case = HEARTH__EVENT__PAYLOAD_MARKET_POST_CREATED;
        e.market_post_created = &p;
        int err;
        event_t *ev = event_sign (&e, who, &err);
        if (!ev)
            return err;
        size_t len;
        const uint8_t *w = event_wire (ev, &len);
        d->frames [i] = malloc (len);
        memcpy (d->frames [i], w, len);
        d->lens [i] = len;
        size_t blen;
        const uint8_t *body = event_signed_body (ev, &blen);
        d->msg_lens [i] = IDENTITY_EVENT_DOMAIN_LEN + blen;
        d->msgs [i] = malloc (d->msg_lens [i]);
        memcpy (d->msgs [i], IDENTITY_EVENT_DOMAIN, IDENTITY_EVENT_DOMAIN_LEN);
        memcpy (d->msgs [i] + IDENTITY_EVENT_DOMAIN_LEN, body, blen);
        memcpy (d->sigs [i], event_signature (ev), 64);
        d->keys [i] = identity_public_key (who);
        d->n++;
        event_destroy (&ev);
    }
    return 0;
}

static void
s_dataset_free (dataset_t *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free (d->frames [i]);
        if (d->msgs)
            free (d->msgs [i]);
    }
    free (d->frames);
    free (d->lens);
    free (d->msgs);
    free (d->msg_lens);
    free (d->sigs);
    free (d->keys);
}

/* ---- verify-only ------------------------------------------------------------ */

typedef struct {
    const dataset_t *d;
    size_t from, to;
    size_t bad;
    int    batch;                           /* identity_verify_events, not libsodium */
} s_slice_t;

static void *
s_verify_slice (void *arg)
{
    s_slice_t *s = (s_slice_t *) arg;
    if (!s->batch) {
        for (size_t i = s->from; i < s->to; i++)
            if (crypto_sign_verify_detached (s->d->sigs [i], s->d->msgs [i], s->d->msg_lens [i],
                                             s->d->keys [i]) != 0)
                s->bad++;
        return NULL;
    }
    identity_sig_t sigs [BENCH_VERIFY_BATCH];
    int rcs [BENCH_VERIFY_BATCH];
    for (size_t at = s->from; at < s->to; at += BENCH_VERIFY_BATCH) {
        size_t m = s->to - at < BENCH_VERIFY_BATCH? s->to - at: BENCH_VERIFY_BATCH;
        for (size_t j = 0; j < m; j++) {
            sigs [j].pub = s->d->keys [at + j];
            sigs [j].msg = s->d->msgs [at + j] + IDENTITY_EVENT_DOMAIN_LEN;
            sigs [j].len = s->d->msg_lens [at + j] - IDENTITY_EVENT_DOMAIN_LEN;
            sigs [j].sig = s->d->sigs [at + j];
        }
        uint8_t seed [IDENTITY_SEED_BYTES];
        randombytes_buf (seed, sizeof seed);
        if (identity_verify_events (sigs, m, seed, rcs) != 0)
            s->bad++;
    }
    return NULL;
}

/*  Seconds to verify events [from, to) on `threads` threads (the caller
    plus threads-1), split evenly; one by one with libsodium, or in batches
    (batch). */
static double
s_verify_only (const dataset_t *d, size_t from, size_t to, int threads, int batch)
{
    pthread_t tid [8];
    s_slice_t slices [8];
    size_t per = (to - from) / (size_t) threads;
    double t0 = hb_now_s ();
    for (int t = 0; t < threads; t++) {
        slices [t] = (s_slice_t) { d, from + per * (size_t) t,
                                   t == threads - 1? to: from + per * (size_t) (t + 1), 0, batch };
        if (t > 0)
            pthread_create (&tid [t], NULL, s_verify_slice, &slices [t]);
    }
    s_verify_slice (&slices [0]);
    for (int t = 1; t < threads; t++)
        pthread_join (tid [t], NULL);
    double dt = hb_now_s () - t0;
    for (int t = 0; t < threads; t++)
        if (slices [t].bad)
            fprintf (stderr, "verify-only: %zu bad signatures?\n", slices [t].bad);
    return dt;
}

/* ---- ingest ----------------------------------------------------------------- */

/*  The trivial view: counts what it is fed. */
static int
s_count_apply (void *ctx, const event_t *ev)
{
    (void) ev;
    (*(uint64_t *) ctx)++;
    return 0;
}

static int
s_count_snapshot (void *ctx, eventlog_record_fn *emit, void *emit_arg)
{
    return emit (emit_arg, (const uint8_t *) ctx, 8);
}

/*  The count being restored: committed by s_count_restore_end. */
static uint64_t s_count_pending;
static int      s_count_pending_ok;

static int
s_count_restore_begin (void *ctx)
{
    (void) ctx;
    s_count_pending_ok = 0;
    return 0;
}

static int
s_count_restore_chunk (void *ctx, const uint8_t *buf, size_t len)
{
    (void) ctx;
    if (len != 8 || s_count_pending_ok)
        return HEARTH_EDECODE;
    memcpy (&s_count_pending, buf, 8);
    s_count_pending_ok = 1;
    return 0;
}

static int
s_count_restore_end (void *ctx, int commit)
{
    if (!commit)
        return 0;
    if (!s_count_pending_ok)
        return HEARTH_ECORRUPT;
    memcpy (ctx, &s_count_pending, 8);
    return 0;
}

static void
s_count_reset (void *ctx)
{
    *(uint64_t *) ctx = 0;
}

/*  One paired run on `threads` threads: for each slice of `call` events,
    time bare verification of the slice (libsodium, then batches), then
    eventlog_ingest of the same slice into a fresh DB (with the trivial
    view). Interleaving at this grain means all see the same load on a
    shared machine. Sums the seconds of each into *verify_s, *batch_s and
    *ingest_s; 0 or -1 on failure. */
static int
s_paired_run (const char *dir, const uint8_t *community, const dataset_t *prefix, const dataset_t *posts,
              int threads, size_t call, double *verify_s, double *batch_s, double *ingest_s)
{
    int err;
    eventlog_t *log = eventlog_open (dir, &err);
    if (!log) {
        fprintf (stderr, "open %s: %s\n", dir, hearth_strerror (err));
        return -1;
    }
    uint64_t applied = 0;
    eventlog_view_t view = {
        .name = "bench", .types = 1u << HEARTH__EVENT_TYPE__MARKET_POST_CREATED, .ctx = &applied,
        .apply = s_count_apply, .snapshot = s_count_snapshot,
        .restore_begin = s_count_restore_begin, .restore_chunk = s_count_restore_chunk,
        .restore_end = s_count_restore_end, .reset = s_count_reset,
    };
    eventlog_ingest_result_t r;
    if (eventlog_community_adopt (log, community) != 0
    ||  eventlog_view_register (log, &view) != 0
    ||  eventlog_views_load (log, NULL) != 0
    ||  eventlog_ingest (log, (const uint8_t *const *) prefix->frames, prefix->lens, prefix->n, &r, NULL) != 0
    ||  r.accepted != prefix->n
    ||  eventlog_set_verify_threads (log, threads) != 0) {
        fprintf (stderr, "ingest setup failed\n");
        eventlog_destroy (&log);
        return -1;
    }
    uint64_t accepted = 0;
    *verify_s = *batch_s = *ingest_s = 0;
    for (size_t at = 0; at < posts->n; at += call) {
        size_t m = posts->n - at < call? posts->n - at: call;
        *verify_s += s_verify_only (posts, at, at + m, threads, 0);
        *batch_s += s_verify_only (posts, at, at + m, threads, 1);
        double t0 = hb_now_s ();
        int rc = eventlog_ingest (log, (const uint8_t *const *) posts->frames + at, posts->lens + at, m,
                                  &r, NULL);
        *ingest_s += hb_now_s () - t0;
        if (rc != 0) {
            fprintf (stderr, "ingest failed: %s\n", hearth_strerror (rc));
            break;
        }
        accepted += r.accepted;
    }
    if (accepted != posts->n || applied != posts->n)
        fprintf (stderr, "ingest: accepted %llu, view saw %llu, of %zu\n", (unsigned long long) accepted,
                 (unsigned long long) applied, posts->n);
    eventlog_destroy (&log);
    return accepted == posts->n? 0: -1;
}

static int
s_cmp_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y? -1: x > y;
}

int
main (int argc, char **argv)
{
    size_t n = BENCH_DEFAULT_N, call = BENCH_DEFAULT_CALL;
    int repeat = 5, only = 0;
    const char *base = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp (argv [i], "--repeat") == 0 && i + 1 < argc)
            repeat = atoi (argv [++i]);
        else if (strcmp (argv [i], "--call") == 0 && i + 1 < argc)
            call = (size_t) strtoull (argv [++i], NULL, 10);
        else if (strcmp (argv [i], "--threads") == 0 && i + 1 < argc)
            only = atoi (argv [++i]);
        else if (strcmp (argv [i], "--dir") == 0 && i + 1 < argc)
            base = argv [++i];
        else if (argv [i][0] != '-')
            n = (size_t) strtoull (argv [i], NULL, 10);
        else {
            fprintf (stderr, "usage: bench_ingest [N] [--repeat R] [--call FRAMES] [--threads 1|2] [--dir DIR]\n");
            return 2;
        }
    }
    if (n == 0 || call == 0 || repeat < 1 || sodium_init () < 0)
        return 2;
    if (sched_getaffinity (0, sizeof s_all_cpus, &s_all_cpus) != 0) {
        perror ("sched_getaffinity");
        return 1;
    }
    hearth_log_set_level (HEARTH_LOG_WARN);
    char tmpl [512];
    snprintf (tmpl, sizeof tmpl, "%s/hearth-bench-XXXXXX", base? base: getenv ("TMPDIR")? getenv ("TMPDIR"): "/tmp");
    char *dir = mkdtemp (tmpl);
    if (!dir) {
        perror ("mkdtemp");
        return 1;
    }

    uint8_t seed [32];
    memset (seed, 1, sizeof seed);
    identity_t *root = identity_from_seed (seed);
    identity_t *authors [BENCH_AUTHORS];
    for (int i = 0; i < BENCH_AUTHORS; i++) {
        memset (seed, 0, sizeof seed);
        seed [0] = 2;
        seed [1] = (uint8_t) i;
        authors [i] = identity_from_seed (seed);
    }
    dataset_t prefix = { 0 }, posts = { 0 };
    char path [600];
    snprintf (path, sizeof path, "%s/prefix", dir);
    fprintf (stderr, "building %zu events from %d authors...\n", n, BENCH_AUTHORS);
    if (s_make_prefix (path, root, authors, &prefix) != 0
    ||  s_make_posts (identity_public_key (root), prefix.n + 1, authors, n, &posts) != 0) {
        fprintf (stderr, "could not build the data set\n");
        return 1;
    }
    size_t bytes = 0;
    for (size_t i = 0; i < posts.n; i++)
        bytes += posts.lens [i];

    /*  Per thread count: each run's verify-only and ingest rates and their
        paired ratio. */
    enum { MAX_RUNS = 32 };
    if (repeat > MAX_RUNS)
        repeat = MAX_RUNS;
    double vrate [3][MAX_RUNS], brate [3][MAX_RUNS], irate [3][MAX_RUNS];
    double ratio [3][MAX_RUNS], bratio [3][MAX_RUNS];
    int runs [3] = { 0, 0, 0 }, failed = 0;
    for (int r = 0; r < repeat; r++) {
        for (int t = 1; t <= 2; t++) {
            if (only && t != only)
                continue;
            if (s_pin (t) != t)
                fprintf (stderr, "warning: fewer than %d CPUs available\n", t);
            snprintf (path, sizeof path, "rm -rf '%s/db'", dir);
            if (system (path) != 0)
                fprintf (stderr, "cleanup failed\n");
            snprintf (path, sizeof path, "%s/db", dir);
            double vs, bs, is;
            if (s_paired_run (path, identity_public_key (root), &prefix, &posts, t, call, &vs, &bs, &is) != 0) {
                failed = 1;
                continue;
            }
            int k = runs [t]++;
            vrate [t][k] = (double) posts.n / vs;
            brate [t][k] = (double) posts.n / bs;
            irate [t][k] = (double) posts.n / is;
            ratio [t][k] = vs / is;
            bratio [t][k] = bs / is;
            fprintf (stderr, "run %d, %d thread%s: verify-only %.0f/s, batch verify-only %.0f/s, "
                     "ingest %.0f/s, ratios %.2f, %.2f\n", r + 1, t, t > 1? "s": "",
                     vrate [t][k], brate [t][k], irate [t][k], ratio [t][k], bratio [t][k]);
        }
    }
    printf ("bench_ingest: %zu market.post.created events (mean %.0f bytes), %d authors, "
            "ingest calls of %zu frames,\n  each run interleaves verify-only and ingest per call; "
            "process pinned to <threads> CPUs; %d runs per row\n",
            posts.n, (double) bytes / (double) posts.n, BENCH_AUTHORS, call, repeat);
    printf ("| threads | verify-only (events/s) | batch verify-only (events/s) | ingest (events/s) "
            "| ingest / verify-only: median (min-max) | ingest / batch verify-only: median (min-max) |\n");
    printf ("|--------:|-----------------------:|-----------------------------:|------------------:"
            "|:---------------------------------------|:---------------------------------------------|\n");
    for (int t = 1; t <= 2; t++) {
        if (!runs [t])
            continue;
        /*  Rates: the median run; ratio: median of the paired ratios. */
        double v [MAX_RUNS], b [MAX_RUNS], g [MAX_RUNS], q [MAX_RUNS], bq [MAX_RUNS];
        memcpy (v, vrate [t], sizeof v);
        memcpy (b, brate [t], sizeof b);
        memcpy (g, irate [t], sizeof g);
        memcpy (q, ratio [t], sizeof q);
        memcpy (bq, bratio [t], sizeof bq);
        qsort (v, (size_t) runs [t], sizeof (double), s_cmp_double);
        qsort (b, (size_t) runs [t], sizeof (double), s_cmp_double);
        qsort (g, (size_t) runs [t], sizeof (double), s_cmp_double);
        qsort (q, (size_t) runs [t], sizeof (double), s_cmp_double);
        qsort (bq, (size_t) runs [t], sizeof (double), s_cmp_double);
        int mid = runs [t] / 2;
        char cell [64], bcell [64];
        snprintf (cell, sizeof cell, "%.2f (%.2f-%.2f)", q [mid], q [0], q [runs [t] - 1]);
        snprintf (bcell, sizeof bcell, "%.2f (%.2f-%.2f)", bq [mid], bq [0], bq [runs [t] - 1]);
        printf ("| %7d | %22.0f | %28.0f | %17.0f | %-38s | %-44s |\n", t, v [mid], b [mid], g [mid],
                cell, bcell);
    }
    printf ("goal: ingest / verify-only >= 0.85 with 1 and with 2 threads\n");

    snprintf (path, sizeof path, "rm -rf '%s'", dir);
    if (system (path) != 0)
        fprintf (stderr, "could not remove %s\n", dir);
    s_dataset_free (&prefix);
    s_dataset_free (&posts);
    identity_destroy (&root);
    for (int i = 0; i < BENCH_AUTHORS; i++)
        identity_destroy (&authors [i]);
    return failed? 1: 0;
}
