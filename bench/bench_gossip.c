/*  bench_gossip.c — the mesh measured between two processes on loopback
    (figures in docs/performance.md, "Log and link alone"). Not a test.

    Node A (the server, a forked child) holds a community, an invite for B,
    and N market posts by the root (~350 B each, lamports 1..N+2). Node B
    (this process) dials A. Modes:
      join N        B starts empty: time until it holds all N+2 events.
      diff N D      B holds the same N (a copy of A's RocksDB); A then gets D
                    more posts (the newest lamports, as after a partition):
                    time until B holds them.
      latency K     both in sync; A appends K posts at 100/s; push latency
                    from A's accept (its view sees the event) to B's accept.
    Reports time, events/s, B's bytes in/out, reconciliation rounds and
    Negentropy bytes, next to the bytes of the missing events.

    Memory: "B RSS +X" is B's peak RSS during the transfer minus its RSS
    with the (empty) log open, i.e. everything the join made resident. In
    join mode a fresh process (this binary, mode "reopen") then opens B's
    synced data as a restarted node would (log + gossip, which rebuilds its
    reconciliation store) and reports its RSS over its own start: the state
    itself. The difference is what syncing costs beyond that state.
    CPU: user + system seconds of B (this process, during the transfer)
    and of A (the whole child), against 2 x wall time.

      flood KIND K [N]
                    A holds N posts (10,000), B a copy; A appends K posts
                    at 100/s (as latency). When B has seen K/2 of them, H
                    (a third process, an invited key A admits) floods A
                    until B has seen all K: KIND rateless (openings asking
                    for all 32,768 symbols, 7 bytes), v1 (openings of an
                    empty set: "send me every id", 5 bytes), fetch
                    (fetches of 1,024 existing hashes) or all (in turn).
                    H runs at nice 19: its CPU would be another machine's.
                    Reports, from A's side, the bytes A read from H and
                    sent to H (whole flood and its second half: sustained)
                    and A's budget counters; and the push latency A -> B
                    of the posts before the flood (idle) and during it.
                    (BENCH_BUDGET=1 prints A's budget counters in the
                    other modes too.)

      store DIR     the reconciliation store of the log in DIR (a synced B,
                    e.g. BENCH_A_DIR): the node's backed store (pages read
                    from RocksDB) against an in-memory store of the same
                    items, built and queried in the same run: build time
                    and RSS, then BENCH_STORE_QUERIES random fingerprints,
                    lower bounds and gets, and v1 openings, on each; ratios
                    backed / in memory. Results are checked equal.

    Usage: bench_gossip join N | diff N D | latency K | flood KIND K [N]   [--dir DIR]
           bench_gossip reopen DIR | store DIR
*/
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <czmq.h>
#include <sodium.h>
#include "eventlog.h"
#include "gossip.h"
#include "gossip_wire.h"
#include "hearth_bench.h"
#include "hearth_error.h"
#include "negentropy.h"
#include "hearth_log.h"
#include "hearth_memory.h"
#include "ulid.h"

#define BENCH_HOUR_MS   3600000ULL
/*  A cached A (BENCH_A_DIR) is reused across days: its invite of B lasts 30 days. */
#define BENCH_CACHED_INVITE_MS (30ULL * 24 * BENCH_HOUR_MS)
/*  Frames per eventlog_ingest call while building A's log. */
#define BENCH_CALL      4096
/*  Latency mode: one post every 10 ms (the 100 posts/s). */
#define BENCH_POST_MS   10
/*  Give up after this long. */
#define BENCH_DEADLINE_MS 600000

static uint64_t
s_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

/* ---- events ------------------------------------------------------------------------ */

static identity_t *
s_identity (uint8_t fill)
{
    uint8_t seed [32];
    memset (seed, fill, sizeof seed);
    return identity_from_seed (seed);
}

/*  A post draft; with community NULL the log fills the envelope (local
    append), else a complete body for signing. */
typedef struct {
    Hearth__Event             ev;
    Hearth__MarketPostCreated post;
    char                      id [ULID_SIZE];
    char                     *tags [2];
} s_post_t;

static void
s_post_init (s_post_t *d, const identity_t *author, const uint8_t *community, uint64_t lamport,
             uint64_t ms, uint32_t n, const char *client_id, const char *title)
{
    Hearth__Event e = HEARTH__EVENT__INIT;
    Hearth__MarketPostCreated p = HEARTH__MARKET_POST_CREATED__INIT;
    d->ev = e;
    d->post = p;
    d->ev.event_id = (char *) "";
    if (community) {
        ulid_gen_t gen = { 0 };
        uint8_t rnd [10] = { 0 };
        rnd [6] = (uint8_t) (n >> 24); rnd [7] = (uint8_t) (n >> 16);
        rnd [8] = (uint8_t) (n >> 8);  rnd [9] = (uint8_t) n;
        ulid_gen_next (&gen, ms, rnd, d->id);
        d->ev.schema_version = 1;
        d->ev.event_id = d->id;
        d->ev.lamport = lamport;
        d->ev.wall_clock_ms = ms;
        d->ev.community_id.data = (uint8_t *) community;
        d->ev.community_id.len = 32;
        d->ev.author.data = (uint8_t *) identity_public_key (author);
        d->ev.author.len = 32;
    }
    d->ev.type = HEARTH__EVENT_TYPE__MARKET_POST_CREATED;
    d->ev.payload_case = HEARTH__EVENT__PAYLOAD_MARKET_POST_CREATED;
    d->ev.market_post_created = &d->post;
    d->post.client_id = (char *) client_id;
    d->post.category = HEARTH__CATEGORY__CATEGORY_OFFER;
    d->post.title = (char *) title;
    /*  ~350 bytes on the wire, a typical signed post. */
    d->post.body = (char *) "Two bags of apples from our tree, come by any evening after six; bring "
                            "your own bag if you can. Also a box of pears, a little bruised but sweet. "
                            "Ring twice, the bell is quiet.";
    d->tags [0] = (char *) "food";
    d->tags [1] = (char *) "free";
    d->post.tags = d->tags;
    d->post.n_tags = 2;
    d->post.ttl_seconds = 604800;
}

/*  Pack and sign a complete body: SignedEvent wire bytes (malloc'd). */
static uint8_t *
s_sign (const Hearth__Event *body, const identity_t *signer, size_t *wire_len)
{
    size_t len = hearth__event__get_packed_size (body);
    uint8_t *buf = malloc (len + 1), sig [64];
    hearth__event__pack (body, buf);
    identity_sign_event (signer, buf, len, sig);
    Hearth__SignedEvent se = HEARTH__SIGNED_EVENT__INIT;
    se.body.data = buf;
    se.body.len = len;
    se.signature.data = sig;
    se.signature.len = 64;
    *wire_len = hearth__signed_event__get_packed_size (&se);
    uint8_t *wire = malloc (*wire_len);
    hearth__signed_event__pack (&se, wire);
    free (buf);
    return wire;
}

/* ---- a view that notes when each post is accepted ------------------------------- */

typedef struct {
    uint64_t *t;                            /* accept time (ns) by post number */
    size_t    n;
    size_t    seen;
} s_clock_view_t;

static int
s_view_apply (void *ctx, const event_t *ev)
{
    s_clock_view_t *v = (s_clock_view_t *) ctx;
    const Hearth__Event *e = event_body (ev);
    if (e->type != HEARTH__EVENT_TYPE__MARKET_POST_CREATED || !v->t)
        return 0;
    unsigned long i = strtoul (e->market_post_created->title + 1, NULL, 10);   /* "@123" */
    if (e->market_post_created->title [0] == '@' && i < v->n && !v->t [i]) {
        v->t [i] = s_ns ();
        v->seen++;
    }
    return 0;
}

static int  s_view_snapshot (void *c, eventlog_record_fn *e, void *a) { (void) c; (void) e; (void) a; return 0; }
static int  s_view_restore_begin (void *c) { (void) c; return 0; }
static int  s_view_restore_chunk (void *c, const uint8_t *b, size_t l) { (void) c; (void) b; (void) l; return 0; }
static int  s_view_restore_end (void *c, int commit) { (void) c; (void) commit; return 0; }
static void s_view_reset (void *c) { (void) c; }

static void
s_view_register (eventlog_t *log, s_clock_view_t *v)
{
    eventlog_view_t view = {
        .name = "bench", .types = 1u << HEARTH__EVENT_TYPE__MARKET_POST_CREATED, .ctx = v,
        .apply = s_view_apply, .snapshot = s_view_snapshot, .restore_begin = s_view_restore_begin,
        .restore_chunk = s_view_restore_chunk, .restore_end = s_view_restore_end, .reset = s_view_reset,
    };
    eventlog_view_register (log, &view);
    eventlog_views_load (log, NULL);
}

/* ---- building A's log --------------------------------------------------------------- */

static size_t s_event_bytes;                /* bytes of generated posts */

/*  Ingest posts first..first+n-1 by root, lamports from `lamport`. */
static void
s_add_posts (eventlog_t *log, const identity_t *root, size_t first, size_t n, uint64_t lamport)
{
    uint8_t **frames = calloc (BENCH_CALL, sizeof *frames);
    size_t *lens = calloc (BENCH_CALL, sizeof *lens);
    for (size_t done = 0; done < n; ) {
        size_t k = n - done < BENCH_CALL? n - done: BENCH_CALL;
        for (size_t i = 0; i < k; i++) {
            size_t num = first + done + i;
            char title [32], client [32];
            snprintf (title, sizeof title, "#%zu", num);
            snprintf (client, sizeof client, "c%zu", num);
            s_post_t p;
            s_post_init (&p, root, identity_public_key (root), lamport + done + i,
                         1779783262000ULL + num, (uint32_t) num, client, title);
            frames [i] = s_sign (&p.ev, root, &lens [i]);
            s_event_bytes += lens [i];
        }
        eventlog_ingest_result_t r;
        eventlog_ingest (log, (const uint8_t *const *) frames, lens, k, &r, NULL);
        if (r.accepted != k)
            fprintf (stderr, "warning: %zu of %zu posts accepted\n", (size_t) r.accepted, k);
        for (size_t i = 0; i < k; i++)
            free (frames [i]);
        done += k;
    }
    free (frames);
    free (lens);
}

/*  eventlog_scan_order callback: adds the event's size to s_event_bytes. */
static int
s_count_bytes (void *arg, uint64_t lamport, const uint8_t *hash)
{
    (void) lamport;
    uint8_t *wire;
    size_t len;
    if (eventlog_get_wire ((eventlog_t *) arg, hash, &wire, &len) == 0) {
        s_event_bytes += len;
        free (wire);
    }
    return 0;
}

/* ---- the server (child) ----------------------------------------------------------------- */

typedef struct {
    eventlog_t     *log;
    identity_t     *id;
    s_clock_view_t  view;
    gossip_t       *g;
    size_t          posted, to_post;
    int             out_fd;
} s_server_t;

static int
s_on_post (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    s_server_t *s = (s_server_t *) arg;
    if (s->posted == s->to_post || gossip_stats (s->g)->peers_connected == 0)
        return 0;                           /* done, or B not linked yet */
    char title [32];
    snprintf (title, sizeof title, "@%zu", s->posted);
    s_post_t p;
    s_post_init (&p, s->id, NULL, 0, 0, 0, NULL, title);
    eventlog_append_local (s->log, s->id, &p.ev, hearth_now_ms (), NULL);
    s->posted++;
    if (s->posted == s->to_post) {
        /*  Accept times to the parent, then keep serving until killed. */
        ssize_t w = write (s->out_fd, s->view.t, s->to_post * sizeof (uint64_t));
        (void) w;
    }
    return 0;
}

static int
s_on_parent_gone (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void) loop;
    (void) item;
    (void) arg;
    return -1;
}

static void
s_server (const char *dir, const identity_t *root_unused, int addr_fd, int parent_fd, size_t to_post,
          int times_fd)
{
    (void) root_unused;
    zsys_init ();
    hearth_log_set_level (HEARTH_LOG_WARN);
    s_server_t s = { 0 };
    int err;
    s.log = eventlog_open (dir, &err);
    s.id = s_identity (1);
    s.to_post = to_post;
    s.out_fd = times_fd;
    s.view.n = to_post;
    s.view.t = to_post? calloc (to_post, sizeof (uint64_t)): NULL;
    s_view_register (s.log, &s.view);
    zloop_t *loop = zloop_new ();
    gossip_config_t cfg;
    gossip_config_defaults (&cfg);
    snprintf (cfg.listen, sizeof cfg.listen, "tcp://127.0.0.1:*");
    gossip_t *g = gossip_new (s.log, s.id, loop, &cfg, &err);
    if (!g)
        _exit (3);
    s.g = g;
    char addr [GOSSIP_MAX_ADDRESS] = { 0 };
    snprintf (addr, sizeof addr, "%s", gossip_address (g));
    if (write (addr_fd, addr, sizeof addr) != (ssize_t) sizeof addr)
        _exit (4);
    zmq_pollitem_t item = { NULL, parent_fd, ZMQ_POLLIN, 0 };
    zloop_poller (loop, &item, s_on_parent_gone, NULL);
    if (to_post)
        zloop_timer (loop, BENCH_POST_MS, 0, s_on_post, &s);
    zloop_start (loop);
    if ((to_post && getenv ("BENCH_FLOOD_REPORT")) || getenv ("BENCH_BUDGET")) {
        /*  Flood mode (or BENCH_BUDGET set): A's own figures for H's link
            and its budget. */
        json_t *peers = gossip_peers_json (g);
        size_t i;
        json_t *pj;
        json_array_foreach (json_object_get (peers, "peers"), i, pj)
            if (getenv ("BENCH_FLOOD_REPORT")
            &&  streq (json_string_value (json_object_get (pj, "node_id")), getenv ("BENCH_FLOOD_REPORT")))
                printf ("A: link from H: bytes_in %" JSON_INTEGER_FORMAT " bytes_out %" JSON_INTEGER_FORMAT "\n",
                        json_integer_value (json_object_get (pj, "bytes_in")),
                        json_integer_value (json_object_get (pj, "bytes_out")));
        json_decref (peers);
        const gossip_stats_t *st = gossip_stats (g);
        printf ("A: budget: charged %" PRIu64 " B, owed %" PRIu64 " B; deferred debt %" PRIu64 ", open %" PRIu64
                ", round %" PRIu64 "; refused superseded %" PRIu64 ", fetch %" PRIu64 "\n",
                st->budget_bytes_charged, st->budget_bytes_owed, st->budget_deferred_debt,
                st->budget_deferred_open, st->budget_deferred_round, st->budget_refused_superseded,
                st->budget_refused_fetch);
        struct rusage ru;
        getrusage (RUSAGE_SELF, &ru);
        printf ("A: CPU %.1f s\n", (double) ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
                                   + (double) ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
        fflush (stdout);
    }
    gossip_destroy (&g);
    zloop_destroy (&loop);
    eventlog_destroy (&s.log);
    identity_destroy (&s.id);
    free (s.view.t);
    _exit (0);
}

/* ---- the client (parent) ---------------------------------------------------------------- */

typedef struct {
    eventlog_t     *log;
    uint64_t        target;
    s_clock_view_t *view;
    uint64_t        deadline;
    gossip_t       *gossip;
    uint64_t        last_trace;
    uint64_t        rss_max;                /* KiB */
    eventlog_memory_t mem_at_max;           /* RocksDB's accounting at rss_max */
    struct mallinfo2 heap_at_max;           /* glibc's, at rss_max */
    int             go_fd;                  /* flood: H starts on a byte here, -1 = none */
    size_t          flood_from;             /* flood: posts B had seen when it started */
} s_goal_t;

/*  Resident set size of this process, KiB (0 if unknown). */
static uint64_t
s_rss_kib (void)
{
    return hb_status_kib ("VmRSS:");
}

/*  Reset the kernel's peak-RSS mark (VmHWM) to the current RSS (Linux
    >= 4.0: "5" to clear_refs); 0 on success. */
static int
s_hwm_reset (void)
{
    FILE *f = fopen ("/proc/self/clear_refs", "w");
    if (!f)
        return -1;
    int rc = fputs ("5", f) < 0;
    return fclose (f) || rc? -1: 0;
}

static int
s_on_check (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    s_goal_t *g = (s_goal_t *) arg;
    uint64_t rss = s_rss_kib ();
    if (rss > g->rss_max) {
        g->rss_max = rss;
        eventlog_memory (g->log, &g->mem_at_max);
        g->heap_at_max = mallinfo2 ();
    }
    if (getenv ("BENCH_TRACE") && hearth_mono_ms () / 250 != g->last_trace) {
        g->last_trace = hearth_mono_ms () / 250;
        const gossip_stats_t *st = gossip_stats (g->gossip);
        struct mallinfo2 mi = mallinfo2 ();
        fprintf (stderr, "  t=%" PRIu64 " events %" PRIu64 " pulled %" PRIu64 " recv %" PRIu64 " rounds %" PRIu64
                 " rss %.1f MiB heap in use %.1f free %.1f mmapped %.1f\n",
                 hearth_mono_ms (), eventlog_stats (g->log)->events_total, st->events_pulled,
                 st->events_received, st->reconcile_rounds, rss / 1024.0, mi.uordblks / 1048576.0,
                 mi.fordblks / 1048576.0, mi.hblkhd / 1048576.0);
        for (int r = 1; r < EVENT_REJECT_COUNT; r++)
            if (eventlog_stats (g->log)->rejected [r])
                fprintf (stderr, "    rejected %s: %" PRIu64 "\n", event_reject_name ((event_reject_t) r),
                         eventlog_stats (g->log)->rejected [r]);
    }
    if (g->go_fd >= 0 && g->view && g->view->seen >= g->view->n / 2) {
        g->flood_from = g->view->seen;
        if (write (g->go_fd, "g", 1) != 1)
            fprintf (stderr, "could not start the flood\n");
        g->go_fd = -1;
    }
    if (g->view && g->view->seen >= g->view->n)
        return -1;
    if (!g->view && eventlog_stats (g->log)->events_total >= g->target)
        return -1;
    return hearth_mono_ms () > g->deadline? -1: 0;
}

static double
s_cpu_secs (const struct rusage *ru)
{
    return (double) ru->ru_utime.tv_sec + (double) ru->ru_utime.tv_usec / 1e6
         + (double) ru->ru_stime.tv_sec + (double) ru->ru_stime.tv_usec / 1e6;
}

/*  A restarted node on a synced data dir: RSS of log + gossip over the
    process's RSS before opening them. */
static int
s_reopen (const char *dir)
{
    zsys_init ();
    hearth_log_set_level (HEARTH_LOG_WARN);
    uint64_t rss0 = s_rss_kib ();
    int err;
    eventlog_t *log = eventlog_open (dir, &err);
    if (!log)
        return 1;
    eventlog_set_verify_threads (log, 2);
    uint64_t rss_log = s_rss_kib ();
    zloop_t *loop = zloop_new ();
    gossip_config_t cfg;
    gossip_config_defaults (&cfg);
    snprintf (cfg.listen, sizeof cfg.listen, "tcp://127.0.0.1:*");
    identity_t *id = s_identity (2);
    gossip_t *g = gossip_new (log, id, loop, &cfg, &err);
    uint64_t rss = s_rss_kib ();
    printf ("restarted on the synced data: %" PRIu64 " events, RSS %.1f MiB (+%.1f MiB over start: "
            "log +%.1f, gossip +%.1f)\n",
            eventlog_stats (log)->events_total, (double) rss / 1024.0, (double) (rss - rss0) / 1024.0,
            (double) (rss_log - rss0) / 1024.0, (double) (rss - rss_log) / 1024.0);
    gossip_destroy (&g);
    zloop_destroy (&loop);
    eventlog_destroy (&log);
    identity_destroy (&id);
    return 0;
}

/*  Random queries per kind in store mode: enough for a stable mean (each
    backed query reads one or two pages of <= 128 items from RocksDB). */
#define BENCH_STORE_QUERIES 20000

typedef struct {
    negentropy_item_t *items;
    size_t n, cap;
} s_items_t;

static int
s_collect_item (void *arg, uint64_t lamport, const uint8_t hash [32])
{
    s_items_t *v = (s_items_t *) arg;
    if (v->n == v->cap) {
        v->cap = v->cap? v->cap * 2: 1024;
        negentropy_item_t *p = (negentropy_item_t *) realloc (v->items, v->cap * sizeof *p);
        if (!p)
            return HEARTH_ENOMEM;
        v->items = p;
    }
    v->items [v->n].timestamp = lamport;
    memcpy (v->items [v->n].id, hash, 32);
    v->n++;
    return 0;
}

/*  Seconds per query of kind `kind` (0 fingerprint, 1 lower bound, 2 get,
    3 v1 opening) on store, over the same random picks (seeded by seed);
    *digest folds the answers so two stores can be compared. */
static double
s_store_queries (negentropy_store_t *store, const s_items_t *v, int kind, uint32_t seed,
                 uint64_t *digest)
{
    uint64_t state = seed, t0 = s_ns ();
    size_t n = v->n, rounds = kind == 3? 200: BENCH_STORE_QUERIES;
    *digest = 0;
    for (size_t q = 0; q < rounds; q++) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;  /* an LCG: picks only */
        size_t a = (size_t) ((state >> 33) % (n + 1)), b = (size_t) ((state >> 11) % (n + 1));
        if (a > b) {
            size_t t = a;
            a = b;
            b = t;
        }
        if (kind == 0) {
            uint8_t fp [NEGENTROPY_FINGERPRINT_SIZE];
            if (negentropy_store_fingerprint (store, a, b, fp) == 0)
                *digest += fp [0] | (uint64_t) fp [1] << 8;
        }
        else
        if (kind == 1 && n) {
            size_t at = 0;
            const negentropy_item_t *it = &v->items [a % n];
            uint8_t id [32];
            memcpy (id, it->id, 32);
            id [31] ^= 1;                   /* near an item, rarely on one */
            negentropy_store_lower_bound (store, it->timestamp, id, &at);
            *digest += at;
        }
        else
        if (kind == 2 && n) {
            negentropy_item_t item;
            if (negentropy_store_get (store, a % n, &item) == 0)
                *digest += item.timestamp + item.id [0];
        }
        else
        if (kind == 3) {
            negentropy_t *ne = negentropy_new (store, 0);
            const uint8_t *msg;
            size_t size;
            if (ne && negentropy_initiate (ne, &msg, &size) == 0)
                *digest += size + msg [size / 2];
            negentropy_destroy (&ne);
        }
    }
    return (double) (s_ns () - t0) / 1e9 / (double) rounds;
}

/*  The backed store against an in-memory one on the same items. */
static int
s_store_bench (const char *dir)
{
    hearth_log_set_level (HEARTH_LOG_WARN);
    int err;
    eventlog_t *log = eventlog_open (dir, &err);
    if (!log) {
        fprintf (stderr, "cannot open %s: %s\n", dir, hearth_strerror (err));
        return 1;
    }
    s_items_t v = { NULL, 0, 0 };
    if (eventlog_scan_order (log, s_collect_item, &v) != 0)
        return 1;
    malloc_trim (0);
    uint64_t rss0 = s_rss_kib (), t0 = s_ns ();
    negentropy_store_t *mem = negentropy_store_new ();
    if (!mem || negentropy_store_build (mem, v.items, v.n) != 0)
        return 1;
    double mem_build = (double) (s_ns () - t0) / 1e9;
    uint64_t rss1 = s_rss_kib ();
    t0 = s_ns ();
    negentropy_store_t *backed = gossip_store_new (log, &err);
    if (!backed)
        return 1;
    double backed_build = (double) (s_ns () - t0) / 1e9;
    uint64_t rss2 = s_rss_kib ();
    printf ("store: %zu items; in memory: built from the array in %.3f s, RSS +%.1f MiB; "
            "backed: built by a scan of the order index in %.3f s, RSS +%.1f MiB\n",
            v.n, mem_build, (double) (rss1 - rss0) / 1024.0, backed_build,
            (double) (rss2 - rss1) / 1024.0);
    static const char *kinds [] = { "fingerprint of a random range", "lower bound near an item",
                                    "get at a random index", "v1 opening (whole set)" };
    int rc = 0;
    for (int kind = 0; kind < 4; kind++) {
        uint64_t dm, db;
        double tm = s_store_queries (mem, &v, kind, 7, &dm);
        double tb = s_store_queries (backed, &v, kind, 7, &db);
        printf ("  %-32s in memory %8.2f us, backed %8.2f us: %.1fx%s\n", kinds [kind],
                tm * 1e6, tb * 1e6, tb / tm, dm == db? "": "  ANSWERS DIFFER");
        rc |= dm != db;
    }
    negentropy_store_destroy (&backed);
    negentropy_store_destroy (&mem);
    free (v.items);
    eventlog_destroy (&log);
    return rc;
}

static int
s_cmp_u64 (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y? -1: x > y;
}

/* ---- flood mode: H, a member flooding A with sync requests ------------------------------ */

/*  H's view of the flood, sent to the parent at the end. */
typedef struct {
    uint64_t sent, received;                /* whole flood */
    uint64_t sent_half, received_half;      /* its second half */
    uint64_t messages;
    uint64_t t_ms;                          /* the flood's length */
} s_flood_report_t;

typedef struct {
    uint8_t *hashes;
    size_t   n, cap;
} s_hashes_t;

static int
s_collect_hash (void *arg, uint64_t lamport, const uint8_t *hash)
{
    (void) lamport;
    s_hashes_t *h = (s_hashes_t *) arg;
    if (h->n < h->cap)
        memcpy (h->hashes + 32 * h->n++, hash, 32);
    return 0;
}

/*  One flood message of `kind` ("rateless", "v1", "fetch"; "all" takes
    them in turn), encoded (malloc'd). */
static uint8_t *
s_flood_message (const char *kind, uint64_t i, const s_hashes_t *h, size_t *len)
{
    if (streq (kind, "all"))
        kind = i % 3 == 0? "rateless": i % 3 == 1? "v1": "fetch";
    Hearth__GossipMessage m = HEARTH__GOSSIP_MESSAGE__INIT;
    Hearth__GossipNeg n = HEARTH__GOSSIP_NEG__INIT;
    Hearth__GossipFetch f = HEARTH__GOSSIP_FETCH__INIT;
    ProtobufCBinaryData bins [1024];
    n.session = i + 1;
    if (streq (kind, "fetch")) {
        size_t k = h->n < 1024? h->n: 1024;
        for (size_t j = 0; j < k; j++) {
            bins [j].data = h->hashes + 32 * ((i * 1024 + j) % h->n);
            bins [j].len = 32;
        }
        f.hashes = bins;
        f.n_hashes = k;
        f.request_id = i + 1;
        m.body_case = HEARTH__GOSSIP_MESSAGE__BODY_FETCH;
        m.fetch = &f;
    }
    else {
        if (streq (kind, "rateless")) {
            n.msg.data = (uint8_t *) "\x48\x01\x00\x00\x82\x80\x00";  /* symbols [0, 32768) */
            n.msg.len = 7;
        }
        else {
            n.msg.data = (uint8_t *) "\x61\x00\x00\x02\x00";          /* v1: "I have nothing" */
            n.msg.len = 5;
        }
        m.body_case = HEARTH__GOSSIP_MESSAGE__BODY_NEG_OPEN;
        m.neg_open = &n;
    }
    return gossip_wire_encode (&m, len);
}

/*  H: wait for the go byte on go_fd, then flood A (address) as `who` until
    go_fd closes, reading everything A sends; the report goes to out_fd. */
static void
s_flooder (const char *address, const identity_t *who, const char *kind, const s_hashes_t *h,
           int go_fd, int out_fd)
{
    char go;
    if (read (go_fd, &go, 1) != 1)
        _exit (0);
    /*  A real flooder's CPU is its own machine's: here it shares A's two
        cores, so it yields to A and B (nice 19) instead of competing. */
    if (setpriority (PRIO_PROCESS, 0, 19) != 0)
        fprintf (stderr, "flooder: setpriority failed\n");
    zsys_init ();
    uint8_t key [32], server [32], pub [32], sec [32];
    char endpoint [GOSSIP_MAX_ADDRESS];
    if (gossip_address_parse (address, key, endpoint) != 0
    ||  crypto_sign_ed25519_pk_to_curve25519 (server, key) != 0
    ||  identity_curve_keypair (who, pub, sec) != 0)
        _exit (5);
    zsock_t *d = zsock_new (ZMQ_DEALER);
    zsock_set_curve_serverkey_bin (d, server);
    zsock_set_curve_publickey_bin (d, pub);
    zsock_set_curve_secretkey_bin (d, sec);
    zsock_set_linger (d, 0);
    zsock_set_rcvhwm (d, 0);
    zsock_connect (d, "%s", endpoint);
    void *sock = zsock_resolve (d);
    s_flood_report_t r = { 0 };
    uint64_t i = 0;
    /*  Counters every 250 ms: the second half of the flood is its sustained part. */
    enum { SNAPS = 4096 };
    static uint64_t snap_sent [SNAPS], snap_received [SNAPS];
    size_t n_snaps = 0;
    uint64_t next_snap = hearth_mono_ms ();
    r.t_ms = next_snap;
    for (;;) {
        if (hearth_mono_ms () >= next_snap && n_snaps < SNAPS) {
            snap_sent [n_snaps] = r.sent;
            snap_received [n_snaps++] = r.received;
            next_snap += 250;
        }
        zmq_pollitem_t items [2] = { { sock, 0, ZMQ_POLLIN | ZMQ_POLLOUT, 0 }, { NULL, go_fd, ZMQ_POLLIN, 0 } };
        if (zmq_poll (items, 2, 10) < 0)
            break;
        if (items [1].revents & (ZMQ_POLLIN | ZMQ_POLLERR))
            break;                          /* the parent closed go_fd (POLLHUP): the flood ends */
        zmq_msg_t msg;
        zmq_msg_init (&msg);
        while (zmq_msg_recv (&msg, sock, ZMQ_DONTWAIT) >= 0)
            r.received += zmq_msg_size (&msg);
        zmq_msg_close (&msg);
        for (int burst = 0; burst < 64 && (items [0].revents & ZMQ_POLLOUT); burst++) {
            size_t len;
            uint8_t *buf = s_flood_message (kind, i, h, &len);
            int rc = zmq_send (sock, buf, len, ZMQ_DONTWAIT);
            free (buf);
            if (rc < 0)
                break;
            r.sent += len;
            r.messages++;
            i++;
        }
    }
    r.t_ms = hearth_mono_ms () - r.t_ms;
    r.sent_half = r.sent - (n_snaps? snap_sent [n_snaps / 2]: 0);
    r.received_half = r.received - (n_snaps? snap_received [n_snaps / 2]: 0);
    zsock_destroy (&d);
    if (write (out_fd, &r, sizeof r) != (ssize_t) sizeof r)
        _exit (6);
    _exit (0);
}

int
main (int argc, char **argv)
{
    if (argc < 3) {
        fprintf (stderr, "usage: bench_gossip join N | diff N D | latency K | flood KIND K [N] [--dir DIR]\n");
        return 2;
    }
    const char *mode = argv [1];
    if (!getenv ("BENCH_NO_MEMORY_SETUP"))
        hearth_memory_setup ();             /* as hearthd does (BENCH_NO_MEMORY_SETUP: glibc's default) */
    if (streq (mode, "reopen"))
        return s_reopen (argv [2]);
    if (streq (mode, "store"))
        return s_store_bench (argv [2]);
    const char *flood = NULL;
    if (streq (mode, "flood")) {
        if (argc < 4)
            return 2;
        flood = argv [2];
        if (!streq (flood, "rateless") && !streq (flood, "v1") && !streq (flood, "fetch") && !streq (flood, "all"))
            return 2;
        argv++;
        argc--;
    }
    size_t n = strtoull (argv [2], NULL, 10), d = 0, k = 0;
    int arg = 3;
    if (flood) {
        k = n;
        n = 10000;
        if (argc > 3 && argv [3][0] != '-')
            n = strtoull (argv [arg++], NULL, 10);
    }
    if (streq (mode, "diff") && argc > 3)
        d = strtoull (argv [arg++], NULL, 10);
    if (streq (mode, "latency")) {
        k = n;
        n = 100;
    }
    const char *base = getenv ("TMPDIR")? getenv ("TMPDIR"): "/tmp";
    if (arg + 1 < argc && streq (argv [arg], "--dir"))
        base = argv [arg + 1];
    char tmpl [512];
    snprintf (tmpl, sizeof tmpl, "%s/gossip-bench-XXXXXX", base);
    char *root_dir = mkdtemp (tmpl);
    char dir_a [600], dir_b [600], cmd [1400];
    snprintf (dir_a, sizeof dir_a, "%s/a", root_dir);
    snprintf (dir_b, sizeof dir_b, "%s/b", root_dir);
    hearth_log_set_level (HEARTH_LOG_WARN);

    /*  A: community, invite of B, N posts. With BENCH_A_DIR (join mode), A's
        log is built there once and reused by later runs (building 1M posts
        takes minutes; its invite of B expires after an hour). */
    identity_t *root = s_identity (1), *b_id = s_identity (2), *h_id = s_identity (3);
    int err;
    uint64_t t0 = 0;
    const char *a_cache = streq (mode, "join")? getenv ("BENCH_A_DIR"): NULL;
    if (a_cache) {
        snprintf (dir_a, sizeof dir_a, "%s", a_cache);
        snprintf (cmd, sizeof cmd, "%s/CURRENT", a_cache);
    }
    eventlog_t *log;
    if (a_cache && access (cmd, F_OK) == 0) {
        log = eventlog_open (dir_a, &err);
        if (!log)
            return 1;
        s_event_bytes = 0;
        eventlog_scan_order (log, s_count_bytes, log);
        n = (size_t) eventlog_stats (log)->events_total - 2;
        fprintf (stderr, "reusing A in %s: %zu posts, %zu bytes\n", dir_a, n, s_event_bytes);
        eventlog_destroy (&log);
    }
    else {
        log = eventlog_open (dir_a, &err);
        eventlog_set_verify_threads (log, 2);
        eventlog_community_create (log, root, "Bench", hearth_now_ms ());
        Hearth__Event dr = HEARTH__EVENT__INIT;
        Hearth__MemberInvited inv = HEARTH__MEMBER_INVITED__INIT;
        inv.invitee.data = (uint8_t *) identity_public_key (b_id);
        inv.invitee.len = 32;
        inv.display_name = (char *) "b";
        inv.initial_level = HEARTH__LEVEL__LEVEL_MEMBER;
        inv.expires_at_ms = hearth_now_ms () + (a_cache? BENCH_CACHED_INVITE_MS: BENCH_HOUR_MS);
        dr.type = HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_INVITED;
        dr.payload_case = HEARTH__EVENT__PAYLOAD_MEMBER_INVITED;
        dr.member_invited = &inv;
        eventlog_append_local (log, root, &dr, hearth_now_ms (), NULL);
        if (flood) {
            /*  H: invited too, so A admits it (as B). */
            inv.invitee.data = (uint8_t *) identity_public_key (h_id);
            inv.display_name = (char *) "h";
            eventlog_append_local (log, root, &dr, hearth_now_ms (), NULL);
        }
        t0 = s_ns ();
        s_add_posts (log, root, 0, n, 3);
        fprintf (stderr, "built A: %zu posts, %zu bytes, %.1f s\n", n, s_event_bytes, (double) (s_ns () - t0) / 1e9);
        eventlog_destroy (&log);
    }
    if (!streq (mode, "join")) {
        snprintf (cmd, sizeof cmd, "cp -r '%s' '%s'", dir_a, dir_b);
        if (system (cmd) != 0)
            return 1;
    }
    size_t missing_bytes = s_event_bytes;
    if (streq (mode, "diff")) {
        log = eventlog_open (dir_a, &err);
        eventlog_set_verify_threads (log, 2);
        s_event_bytes = 0;
        s_add_posts (log, root, n, d, 3 + n);
        missing_bytes = s_event_bytes;
        eventlog_destroy (&log);
    }
    uint64_t total_a = 2 + n + d;
    s_hashes_t hashes = { NULL, 0, 0 };
    if (flood) {
        log = eventlog_open (dir_a, &err);
        hashes.cap = eventlog_stats (log)->events_total;
        hashes.hashes = malloc (hashes.cap * 32 + 32);
        eventlog_scan_order (log, s_collect_hash, &hashes);
        eventlog_destroy (&log);
        static char node_id [HEARTH_NODE_ID_SIZE];
        hearth_node_id_format (identity_public_key (h_id), node_id);
        setenv ("BENCH_FLOOD_REPORT", node_id, 1);
    }

    int addr_pipe [2], parent_pipe [2], times_pipe [2];
    if (pipe (addr_pipe) || pipe (parent_pipe) || pipe (times_pipe))
        return 1;
    pid_t pid = fork ();
    if (pid == 0) {
        close (parent_pipe [1]);
        s_server (dir_a, root, addr_pipe [1], parent_pipe [0], k, times_pipe [1]);
    }
    close (parent_pipe [0]);
    char addr [GOSSIP_MAX_ADDRESS];
    if (read (addr_pipe [0], addr, sizeof addr) != (ssize_t) sizeof addr)
        return 1;
    int go_pipe [2] = { -1, -1 }, report_pipe [2] = { -1, -1 };
    pid_t h_pid = -1;
    if (flood) {
        if (pipe (go_pipe) || pipe (report_pipe))
            return 1;
        h_pid = fork ();
        if (h_pid == 0) {
            close (parent_pipe [1]);        /* A must see the parent go */
            close (go_pipe [1]);
            s_flooder (addr, h_id, flood, &hashes, go_pipe [0], report_pipe [1]);
        }
        close (go_pipe [0]);
        close (report_pipe [1]);
    }

    zsys_init ();
    log = eventlog_open (dir_b, &err);
    eventlog_set_verify_threads (log, 2);
    if (streq (mode, "join"))
        eventlog_community_adopt (log, identity_public_key (root));
    s_clock_view_t view = { 0 };
    if (k) {
        view.n = k;
        view.t = calloc (k, sizeof (uint64_t));
    }
    s_view_register (log, &view);
    zloop_t *loop = zloop_new ();
    gossip_config_t cfg;
    gossip_config_defaults (&cfg);
    snprintf (cfg.listen, sizeof cfg.listen, "tcp://127.0.0.1:*");
    const char *peers [1] = { addr };
    cfg.peers = peers;
    cfg.n_peers = 1;
    uint64_t rss0 = s_rss_kib ();
    int hwm_ok = s_hwm_reset () == 0;
    struct rusage ru0, ru1, ru_a;
    getrusage (RUSAGE_SELF, &ru0);
    t0 = s_ns ();
    gossip_t *g = gossip_new (log, b_id, loop, &cfg, &err);
    s_goal_t goal = { .log = log, .target = total_a, .view = k? &view: NULL,
                      .deadline = hearth_mono_ms () + BENCH_DEADLINE_MS, .gossip = g, .rss_max = rss0,
                      .go_fd = flood? go_pipe [1]: -1 };
    zloop_timer (loop, 1, 0, s_on_check, &goal);
    zloop_start (loop);
    double secs = (double) (s_ns () - t0) / 1e9;
    getrusage (RUSAGE_SELF, &ru1);
    const gossip_stats_t *st = gossip_stats (g);
    if (k) {
        uint64_t *sent = calloc (k, sizeof *sent), *lat = calloc (k, sizeof *lat);
        if (read (times_pipe [0], sent, k * sizeof *sent) != (ssize_t) (k * sizeof *sent))
            fprintf (stderr, "short read of the server's accept times\n");
        size_t m = 0;
        for (size_t i = 0; i < k; i++)
            if (view.t [i] && sent [i]) {
                lat [m++] = view.t [i] - sent [i];
                if (getenv ("BENCH_TRACE") && lat [m - 1] > 20000000)
                    fprintf (stderr, "  post %zu: %.1f ms\n", i, lat [m - 1] / 1e6);
            }
        if (flood) {
            /*  The flood ends; H's figures, then the latency before and during it. */
            close (go_pipe [1]);
            s_flood_report_t fr = { 0 };
            if (read (report_pipe [0], &fr, sizeof fr) != (ssize_t) sizeof fr)
                fprintf (stderr, "no report from H\n");
            waitpid (h_pid, NULL, 0);
            printf ("flood %s: H sent %" PRIu64 " messages, %" PRIu64 " bytes, read %" PRIu64 " bytes back "
                    "(%.2fx) in %.1f s; second half %" PRIu64 " -> %" PRIu64 " bytes (%.2fx)\n",
                    flood, fr.messages, fr.sent, fr.received, fr.sent? (double) fr.received / (double) fr.sent: 0,
                    (double) fr.t_ms / 1000.0, fr.sent_half, fr.received_half,
                    fr.sent_half? (double) fr.received_half / (double) fr.sent_half: 0);
            size_t skip = 20;               /* posts in flight when it began */
            for (int phase = 0; phase < 2; phase++) {
                size_t from = phase? goal.flood_from + skip: 0, to = phase? k: goal.flood_from;
                size_t q = 0;
                uint64_t *pl = calloc (k, sizeof *pl);
                for (size_t i = from; i < to; i++)
                    if (view.t [i] && sent [i])
                        pl [q++] = view.t [i] - sent [i];
                qsort (pl, q, sizeof *pl, s_cmp_u64);
                printf ("latency %s: %zu posts, accept on A -> accept on B: p50 %.2f ms, p90 %.2f ms, "
                        "p99 %.2f ms, max %.2f ms\n", phase? "during the flood": "idle", q,
                        q? pl [q / 2] / 1e6: 0, q? pl [q * 9 / 10] / 1e6: 0, q? pl [q * 99 / 100] / 1e6: 0,
                        q? pl [q - 1] / 1e6: 0);
                free (pl);
            }
        }
        qsort (lat, m, sizeof *lat, s_cmp_u64);
        printf ("latency: %zu posts at %d/s, accept on A -> accept on B: p50 %.2f ms, p90 %.2f ms, "
                "p99 %.2f ms, max %.2f ms\n", m, 1000 / BENCH_POST_MS, m? lat [m / 2] / 1e6: 0,
                m? lat [m * 9 / 10] / 1e6: 0, m? lat [m * 99 / 100] / 1e6: 0, m? lat [m - 1] / 1e6: 0);
        free (sent);
        free (lat);
    }
    else
        printf ("%s %zu + %zu: B holds %" PRIu64 "/%" PRIu64 " events after %.3f s (%.0f events/s); "
                "B bytes in %" PRIu64 " out %" PRIu64 "; rounds %" PRIu64 ", negentropy bytes %" PRIu64
                "; missing events %zu bytes (wire/missing %.3f, negentropy/missing %.4f); "
                "B RSS +%.1f MiB\n",
                mode, n, d, eventlog_stats (log)->events_total, total_a, secs,
                (double) (eventlog_stats (log)->events_total) / secs, st->bytes_in, st->bytes_out,
                st->reconcile_rounds, st->reconcile_bytes, missing_bytes,
                (double) (st->bytes_in + st->bytes_out) / (double) missing_bytes,
                (double) st->reconcile_bytes / (double) missing_bytes,
                (double) (goal.rss_max - rss0) / 1024.0);
    if (!k && hwm_ok)
        printf ("B peak RSS by the kernel's mark (VmHWM, every moment, not sampled): +%.1f MiB "
                "(VmHWM %.1f MiB, RSS at start %.1f MiB)\n",
                (double) (hb_status_kib ("VmHWM:") - rss0) / 1024.0,
                (double) hb_status_kib ("VmHWM:") / 1024.0, (double) rss0 / 1024.0);
    if (!k)
        printf ("B at its sampled peak RSS: RocksDB memtables %.1f MiB, block cache %.1f MiB, table readers "
                "%.1f MiB; malloc in use %.1f MiB, free but held %.1f MiB, mmapped %.1f MiB\n",
                goal.mem_at_max.memtables / 1048576.0, goal.mem_at_max.block_cache / 1048576.0,
                goal.mem_at_max.table_readers / 1048576.0, goal.heap_at_max.uordblks / 1048576.0,
                goal.heap_at_max.fordblks / 1048576.0, goal.heap_at_max.hblkhd / 1048576.0);
    fflush (stdout);
    close (parent_pipe [1]);                /* the server's loop ends */
    int status;
    if (wait4 (pid, &status, 0, &ru_a) == pid)
        printf ("CPU: B %.1f s, A %.1f s (of %.1f s on 2 cores)\n",
                s_cpu_secs (&ru1) - s_cpu_secs (&ru0), s_cpu_secs (&ru_a), 2 * secs);
    gossip_destroy (&g);
    zloop_destroy (&loop);
    eventlog_destroy (&log);
    if (streq (mode, "join")) {
        fflush (stdout);
        snprintf (cmd, sizeof cmd, "'/proc/%d/exe' reopen '%s'", (int) getpid (), dir_b);
        if (system (cmd) != 0)
            fprintf (stderr, "reopen failed\n");
    }
    free (view.t);
    identity_destroy (&root);
    identity_destroy (&b_id);
    identity_destroy (&h_id);
    free (hashes.hashes);
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", root_dir);
    return system (cmd) == 0? 0: 1;
}
