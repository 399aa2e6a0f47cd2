/*  bench_sync_latency.c — bench helper (scripts/bench.sh sync): push latency of
    the mesh, from a post's acceptance on one node to its arrival in the log
    (and so the views) of every other node.

        bench_sync_latency POST_DIR RATE SECONDS WATCH_DIR...

    One thread posts market.post.created to POST_DIR's control socket at
    RATE posts per second for SECONDS (scheduled on absolute times, so a slow
    reply does not lower the rate); a post counts as accepted when its reply
    arrives (the append is synced before the reply is sent). One thread per
    WATCH_DIR polls that node's events.list for new events every
    S_POLL_SLEEP_US (POLL_US in the environment overrides it) and records
    when each of our posts first shows up. The latency of a (post, node)
    pair is first-seen minus accepted.

    What the figure includes besides the mesh: one control round trip to
    read the log and up to S_POLL_SLEEP_US of polling delay; and the pollers
    share the machine's cores with the nodes. It excludes the post's own
    synced append (that happens before "accepted").

    The probe must stay cheap, or it measures itself: a fresh ipc
    connection per poll and many events re-read per poll keep four pollers
    and the four nodes serving them busy, and the latency measured grows
    with the number of nodes watched. So each watcher keeps one DEALER socket open (one request in flight; replies come
    in order, and a call that times out replaces the socket, so a late reply
    is never taken for the next one) and re-reads only S_LAMPORT_OVERLAP
    lamports. The JSON summary gives the probe's own CPU time.

    Prints a JSON summary: posts, pairs seen/missing, p50/p90/p99/max in ms,
    p50/p99 per watched node, and the probe's CPU seconds.

    UPDATES=1 in the environment: every second probe is a market.update of
    the post made just before it (a new title) instead of a post, tracked
    by the update's own event id in the same way, so posts and updates are
    measured in one run under one load. The summary then adds per kind the
    pairs, p50 and p99, and the ratios update/post of p50 and p99.
*/
#include <inttypes.h>
#include <pthread.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <czmq.h>
#include <jansson.h>
#include "hearth_error.h"
#include "node_client.h"
#include "node_control.h"
#include "node_config.h"

/*  Watched nodes at most. */
#define S_MAX_WATCH        16
/*  Posts at most (RATE x SECONDS). */
#define S_MAX_POSTS        100000
/*  Sleep between two polls of one node: 200 us bounds the polling delay
    while leaving the cores to the nodes most of the time. */
#define S_POLL_SLEEP_US    200
/*  Re-read this many lamports below the highest seen, so an event that
    arrives late with a lower lamport is not skipped by since_lamport. Only
    the posting node writes during the run, so its lamports arrive in order
    on every node; 4 is slack, and every re-read event costs JSON on both
    sides of every poll. */
#define S_LAMPORT_OVERLAP  4
/*  A poll that gets no reply in this long replaces its socket. */
#define S_CALL_TIMEOUT_MS  5000
/*  Slowest pairs listed in the summary. */
#define S_WORST            12
/*  How long the watchers keep looking after the last post. */
#define S_DRAIN_SECONDS    10

typedef struct {
    char     id [32];
    int64_t  accepted_us;            /* 0 = not acknowledged */
    int      update;                 /* a market.update probe (UPDATES=1) */
} s_post_t;

typedef struct {
    char        endpoint [NODE_CONFIG_PATH_MAX];
    int64_t    *seen_us;             /* per post index, 0 = not yet */
    volatile int ready;              /* caught up with the node's head */
    pthread_t   thread;
} s_watch_t;

static s_post_t  *s_posts;
static size_t     s_n_posts;         /* posts issued so far */
static size_t     s_planned;
static volatile int s_stop;
static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static useconds_t s_poll_us = S_POLL_SLEEP_US;

static int64_t
s_now_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*  Index of a posted id, or -1. */
static long
s_find (const char *id)
{
    pthread_mutex_lock (&s_lock);
    size_t n = s_n_posts;
    pthread_mutex_unlock (&s_lock);
    for (size_t i = n; i-- > 0;)
        if (strcmp (s_posts [i].id, id) == 0)
            return (long) i;
    return -1;
}

/*  A DEALER socket on the control endpoint, kept open across polls. */
static zsock_t *
s_watch_socket (const char *endpoint)
{
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    if (!sock)
        return NULL;
    zsock_set_linger (sock, 0);
    zsock_set_rcvtimeo (sock, S_CALL_TIMEOUT_MS);
    if (zsock_connect (sock, "%s", endpoint) != 0)
        zsock_destroy (&sock);
    return sock;
}

/*  One control call on the watcher's socket; on a timeout or error the
    socket is replaced, so a late reply is never read as the next one. */
static int
s_watch_call (zsock_t **sock, const char *endpoint, const char *capability, const json_t *input,
              json_t **reply)
{
    *reply = NULL;
    if (!*sock)
        *sock = s_watch_socket (endpoint);
    char *request = node_control_request_encode (capability, input);
    int rc = *sock && request? HEARTH_OK: HEARTH_EIO;
    if (rc == HEARTH_OK && zstr_send (*sock, request) != 0)
        rc = HEARTH_EIO;
    free (request);
    zmsg_t *msg = rc == HEARTH_OK? zmsg_recv (*sock): NULL;
    if (rc == HEARTH_OK && !msg)
        rc = HEARTH_ETIMEOUT;
    zframe_t *body = msg? zmsg_last (msg): NULL;      /* as node_client: the body is last */
    if (msg)
        rc = body? node_control_reply_parse (zframe_data (body), zframe_size (body), reply): HEARTH_EDECODE;
    zmsg_destroy (&msg);
    if (rc != HEARTH_OK)
        zsock_destroy (sock);
    return rc;
}

static void *
s_watch (void *arg)
{
    s_watch_t *w = (s_watch_t *) arg;
    zsock_t *sock = NULL;
    uint64_t since = 0;
    /*  Start at the node's head, not at lamport 0: paging through an old
        log while the posts begin would show up as latency of the first
        posts. */
    while (!s_stop && !w->ready) {
        json_t *input = json_pack ("{s:I, s:i}", "since_lamport", (json_int_t) UINT32_MAX, "limit", 1);
        json_t *reply = NULL;
        if (s_watch_call (&sock, w->endpoint, "events.list", input, &reply) == HEARTH_OK) {
            json_t *head = json_object_get (json_object_get (reply, "output"), "head");
            if (json_is_integer (head)) {
                uint64_t top = (uint64_t) json_integer_value (head);
                since = top > S_LAMPORT_OVERLAP? top - S_LAMPORT_OVERLAP: 0;
                w->ready = 1;
            }
        }
        json_decref (input);
        json_decref (reply);
        if (!w->ready)
            usleep (s_poll_us);
    }
    while (!s_stop) {
        json_t *input = json_pack ("{s:I, s:i}", "since_lamport", (json_int_t) since, "limit", 500);
        json_t *reply = NULL;
        int64_t now = 0;
        if (s_watch_call (&sock, w->endpoint, "events.list", input, &reply) == HEARTH_OK) {
            now = s_now_us ();
            json_t *events = json_object_get (json_object_get (reply, "output"), "events");
            size_t i;
            json_t *ev;
            uint64_t top = since;
            json_array_foreach (events, i, ev) {
                uint64_t lamport = (uint64_t) json_integer_value (json_object_get (ev, "lamport"));
                if (lamport > top)
                    top = lamport;
                const char *id = json_string_value (json_object_get (ev, "event_id"));
                long index = id? s_find (id): -1;
                if (index >= 0 && !w->seen_us [index])
                    w->seen_us [index] = now;
            }
            since = top > S_LAMPORT_OVERLAP? top - S_LAMPORT_OVERLAP: 0;
        }
        json_decref (input);
        json_decref (reply);
        usleep (s_poll_us);
    }
    zsock_destroy (&sock);
    return NULL;
}

static int
s_cmp (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y? -1: x > y;
}

static double
s_pct (const double *sorted, size_t n, double p)
{
    if (n == 0)
        return -1;
    size_t index = (size_t) (p * (double) (n - 1) + 0.5);
    return sorted [index];
}

int
main (int argc, char **argv)
{
    if (argc < 5) {
        fprintf (stderr, "usage: bench_sync_latency POST_DIR RATE SECONDS WATCH_DIR...\n");
        return 2;
    }
    double rate = atof (argv [2]), seconds = atof (argv [3]);
    s_planned = (size_t) (rate * seconds);
    size_t n_watch = (size_t) argc - 4;
    if (rate <= 0 || seconds <= 0 || s_planned == 0 || s_planned > S_MAX_POSTS || n_watch > S_MAX_WATCH) {
        fprintf (stderr, "bench_sync_latency: RATE x SECONDS must be 1..%d, at most %d watched nodes\n",
                 S_MAX_POSTS, S_MAX_WATCH);
        return 2;
    }
    /*  CZMQ's global state, once, before the threads make sockets: a lazy
        zsys_init racing between watcher threads trips its assertion
        (s_open_sockets == 0 in zsys_set_thread_name_prefix_str). */
    zsys_init ();
    if (getenv ("POLL_US"))
        s_poll_us = (useconds_t) atoi (getenv ("POLL_US"));
    s_posts = calloc (s_planned, sizeof *s_posts);
    s_watch_t *watch = calloc (n_watch, sizeof *watch);
    for (size_t w = 0; w < n_watch; w++) {
        node_config_control_endpoint (argv [4 + w], watch [w].endpoint, sizeof watch [w].endpoint);
        watch [w].seen_us = calloc (s_planned, sizeof (int64_t));
        pthread_create (&watch [w].thread, NULL, s_watch, &watch [w]);
    }
    for (size_t w = 0; w < n_watch; w++)
        while (!watch [w].ready)
            usleep (1000);
    char post_endpoint [NODE_CONFIG_PATH_MAX];
    node_config_control_endpoint (argv [1], post_endpoint, sizeof post_endpoint);
    node_client_t *poster = node_client_new (post_endpoint, 5000);
    int updates = getenv ("UPDATES") && atoi (getenv ("UPDATES")) > 0;
    char last_post [32] = "";
    int64_t start = s_now_us ();
    int64_t interval = (int64_t) (1e6 / rate);
    size_t failed = 0;
    for (size_t i = 0; i < s_planned; i++) {
        int64_t due = start + (int64_t) i * interval;
        int64_t wait = due - s_now_us ();
        if (wait > 0)
            usleep ((useconds_t) wait);
        char title [64];
        snprintf (title, sizeof title, "latency probe %zu", i);
        int update = updates && (i % 2) == 1 && last_post [0];
        json_t *input = update? json_pack ("{s:s, s:s}", "event_id", last_post, "title", title)
                              : json_pack ("{s:s, s:s, s:s}", "category", "info", "title", title,
                                           "body", "push latency probe");
        json_t *reply = NULL;
        int rc = node_client_call (poster, update? "market.update": "market.post", input, &reply);
        int64_t acked = s_now_us ();
        const char *id = json_string_value (json_object_get (json_object_get (reply, "output"), "event_id"));
        if (rc == HEARTH_OK && id) {
            pthread_mutex_lock (&s_lock);
            snprintf (s_posts [s_n_posts].id, sizeof s_posts [s_n_posts].id, "%s", id);
            s_posts [s_n_posts].accepted_us = acked;
            s_posts [s_n_posts].update = update;
            s_n_posts++;
            pthread_mutex_unlock (&s_lock);
            if (!update)
                snprintf (last_post, sizeof last_post, "%s", id);
        }
        else
            failed++;
        json_decref (input);
        json_decref (reply);
    }
    double posting = (double) (s_now_us () - start) / 1e6;
    /*  Drain: until every node saw every post, or S_DRAIN_SECONDS. */
    int64_t drain_end = s_now_us () + (int64_t) S_DRAIN_SECONDS * 1000000;
    for (;;) {
        size_t missing = 0;
        for (size_t w = 0; w < n_watch; w++)
            for (size_t i = 0; i < s_n_posts; i++)
                missing += !watch [w].seen_us [i];
        if (missing == 0 || s_now_us () > drain_end)
            break;
        usleep (10000);
    }
    s_stop = 1;
    for (size_t w = 0; w < n_watch; w++)
        pthread_join (watch [w].thread, NULL);
    node_client_destroy (&poster);

    double *all = calloc (s_n_posts * n_watch + 1, sizeof (double));
    double *by_kind [2] = { calloc (s_n_posts * n_watch + 1, sizeof (double)),
                            calloc (s_n_posts * n_watch + 1, sizeof (double)) };
    size_t n_all = 0, missing = 0, n_kind [2] = { 0, 0 };
    json_t *per_node = json_array ();
    for (size_t w = 0; w < n_watch; w++) {
        double *mine = calloc (s_n_posts + 1, sizeof (double));
        size_t n_mine = 0;
        for (size_t i = 0; i < s_n_posts; i++) {
            if (!watch [w].seen_us [i]) {
                missing++;
                continue;
            }
            double ms = (double) (watch [w].seen_us [i] - s_posts [i].accepted_us) / 1000.0;
            mine [n_mine++] = ms;
            all [n_all++] = ms;
            by_kind [s_posts [i].update][n_kind [s_posts [i].update]++] = ms;
        }
        qsort (mine, n_mine, sizeof (double), s_cmp);
        json_array_append_new (per_node, json_pack ("{s:s, s:f, s:f}", "node", argv [4 + w],
                                                    "p50_ms", s_pct (mine, n_mine, 0.50),
                                                    "p99_ms", s_pct (mine, n_mine, 0.99)));
        free (mine);
    }
    qsort (all, n_all, sizeof (double), s_cmp);
    /*  The S_WORST slowest pairs (post index, watched node, ms): tells a
        stall of the sender (one post late everywhere) from one node's. */
    json_t *worst = json_array ();
    double floor_ms = n_all > S_WORST? all [n_all - S_WORST]: 0;
    for (size_t w = 0; w < n_watch && json_array_size (worst) < S_WORST; w++)
        for (size_t i = 0; i < s_n_posts && json_array_size (worst) < S_WORST; i++) {
            double ms = watch [w].seen_us [i]? (double) (watch [w].seen_us [i] - s_posts [i].accepted_us) / 1000.0: -1;
            if (ms >= floor_ms)
                json_array_append_new (worst, json_pack ("[i, i, f]", (int) i, (int) w + 2, ms));
        }
    for (size_t w = 0; w < n_watch; w++)
        free (watch [w].seen_us);
    struct rusage usage;
    getrusage (RUSAGE_SELF, &usage);
    double cpu_s = (double) usage.ru_utime.tv_sec + (double) usage.ru_utime.tv_usec / 1e6
                 + (double) usage.ru_stime.tv_sec + (double) usage.ru_stime.tv_usec / 1e6;
    json_t *out = json_pack ("{s:i, s:i, s:f, s:f, s:i, s:i, s:f, s:f, s:f, s:f, s:f, s:f, s:o, s:o}",
                             "posts", (int) s_n_posts, "failed_posts", (int) failed,
                             "rate_requested", rate, "rate_achieved", (double) s_n_posts / posting,
                             "pairs_seen", (int) n_all, "pairs_missing", (int) missing,
                             "p50_ms", s_pct (all, n_all, 0.50), "p90_ms", s_pct (all, n_all, 0.90),
                             "p99_ms", s_pct (all, n_all, 0.99),
                             "max_ms", n_all? all [n_all - 1]: -1.0,
                             "poll_sleep_ms", s_poll_us / 1000.0, "probe_cpu_s", cpu_s,
                             "per_node", per_node, "worst", worst);
    if (updates) {
        /*  Posts and updates apart, from the same run: the update/post ratios. */
        double p [2][2];
        for (int k = 0; k < 2; k++) {
            qsort (by_kind [k], n_kind [k], sizeof (double), s_cmp);
            p [k][0] = s_pct (by_kind [k], n_kind [k], 0.50);
            p [k][1] = s_pct (by_kind [k], n_kind [k], 0.99);
        }
        json_object_set_new (out, "post", json_pack ("{s:i, s:f, s:f}", "pairs", (int) n_kind [0],
                                                      "p50_ms", p [0][0], "p99_ms", p [0][1]));
        json_object_set_new (out, "update", json_pack ("{s:i, s:f, s:f}", "pairs", (int) n_kind [1],
                                                        "p50_ms", p [1][0], "p99_ms", p [1][1]));
        json_object_set_new (out, "update_post_ratio_p50", json_real (p [0][0] > 0? p [1][0] / p [0][0]: -1));
        json_object_set_new (out, "update_post_ratio_p99", json_real (p [0][1] > 0? p [1][1] / p [0][1]: -1));
    }
    free (by_kind [0]);
    free (by_kind [1]);
    char *text = json_dumps (out, JSON_COMPACT | JSON_REAL_PRECISION (6));
    printf ("%s\n", text);
    free (text);
    json_decref (out);
    free (all);
    free (watch);
    free (s_posts);
    return missing? 1: 0;
}
