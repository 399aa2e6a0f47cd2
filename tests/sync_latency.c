/*  sync_latency.c — bench helper (scripts/bench.sh sync): push latency of
    the mesh, from a post's acceptance on one node to its arrival in the log
    (and so the views) of every other node.

        sync_latency POST_DIR RATE SECONDS WATCH_DIR...

    One thread posts market.post.created to POST_DIR's control socket at
    RATE posts per second for SECONDS (scheduled on absolute times, so a slow
    reply does not lower the rate); a post counts as accepted when its reply
    arrives (the append is synced before the reply is sent). One thread per
    WATCH_DIR polls that node's events.list for new events every
    S_POLL_SLEEP_US and records when each of our posts first shows up. The
    latency of a (post, node) pair is first-seen minus accepted.

    What the figure includes besides the mesh: one control round trip to
    read the log (~0.1-0.3 ms, a fresh ipc connection per call) and up to
    S_POLL_SLEEP_US of polling delay; and the pollers share the machine's
    cores with the nodes. It excludes the post's own synced append (that
    happens before "accepted").

    Prints a JSON summary: posts, pairs seen/missing, p50/p90/p99/max in ms,
    and p50/p99 per watched node.
*/
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include "hearth_error.h"
#include "node_client.h"
#include "node_config.h"

/*  Watched nodes at most. */
#define S_MAX_WATCH        16
/*  Posts at most (RATE x SECONDS). */
#define S_MAX_POSTS        100000
/*  Sleep between two polls of one node: 200 us bounds the polling delay
    while leaving the cores to the nodes most of the time. */
#define S_POLL_SLEEP_US    200
/*  Re-read this many lamports below the highest seen, so an event that
    arrives late with a lower lamport is not skipped by since_lamport. */
#define S_LAMPORT_OVERLAP  64
/*  How long the watchers keep looking after the last post. */
#define S_DRAIN_SECONDS    10

typedef struct {
    char     id [32];
    int64_t  accepted_us;            /* 0 = not acknowledged */
} s_post_t;

typedef struct {
    char        endpoint [NODE_CONFIG_PATH_MAX];
    int64_t    *seen_us;             /* per post index, 0 = not yet */
    pthread_t   thread;
} s_watch_t;

static s_post_t  *s_posts;
static size_t     s_n_posts;         /* posts issued so far */
static size_t     s_planned;
static volatile int s_stop;
static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;

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

static void *
s_watch (void *arg)
{
    s_watch_t *w = (s_watch_t *) arg;
    node_client_t *client = node_client_new (w->endpoint, 5000);
    uint64_t since = 0;
    while (client && !s_stop) {
        json_t *input = json_pack ("{s:I, s:i}", "since_lamport", (json_int_t) since, "limit", 500);
        json_t *reply = NULL;
        int64_t now = 0;
        if (node_client_call (client, "events.list", input, &reply) == HEARTH_OK) {
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
        usleep (S_POLL_SLEEP_US);
    }
    node_client_destroy (&client);
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
        fprintf (stderr, "usage: sync_latency POST_DIR RATE SECONDS WATCH_DIR...\n");
        return 2;
    }
    double rate = atof (argv [2]), seconds = atof (argv [3]);
    s_planned = (size_t) (rate * seconds);
    size_t n_watch = (size_t) argc - 4;
    if (rate <= 0 || seconds <= 0 || s_planned == 0 || s_planned > S_MAX_POSTS || n_watch > S_MAX_WATCH) {
        fprintf (stderr, "sync_latency: RATE x SECONDS must be 1..%d, at most %d watched nodes\n",
                 S_MAX_POSTS, S_MAX_WATCH);
        return 2;
    }
    s_posts = calloc (s_planned, sizeof *s_posts);
    s_watch_t *watch = calloc (n_watch, sizeof *watch);
    for (size_t w = 0; w < n_watch; w++) {
        node_config_control_endpoint (argv [4 + w], watch [w].endpoint, sizeof watch [w].endpoint);
        watch [w].seen_us = calloc (s_planned, sizeof (int64_t));
        pthread_create (&watch [w].thread, NULL, s_watch, &watch [w]);
    }
    char post_endpoint [NODE_CONFIG_PATH_MAX];
    node_config_control_endpoint (argv [1], post_endpoint, sizeof post_endpoint);
    node_client_t *poster = node_client_new (post_endpoint, 5000);
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
        json_t *input = json_pack ("{s:s, s:s, s:s}", "category", "info", "title", title,
                                   "body", "push latency probe");
        json_t *reply = NULL;
        int rc = node_client_call (poster, "market.post", input, &reply);
        int64_t acked = s_now_us ();
        const char *id = json_string_value (json_object_get (json_object_get (reply, "output"), "event_id"));
        if (rc == HEARTH_OK && id) {
            pthread_mutex_lock (&s_lock);
            snprintf (s_posts [s_n_posts].id, sizeof s_posts [s_n_posts].id, "%s", id);
            s_posts [s_n_posts].accepted_us = acked;
            s_n_posts++;
            pthread_mutex_unlock (&s_lock);
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
    size_t n_all = 0, missing = 0;
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
        }
        qsort (mine, n_mine, sizeof (double), s_cmp);
        json_array_append_new (per_node, json_pack ("{s:s, s:f, s:f}", "node", argv [4 + w],
                                                    "p50_ms", s_pct (mine, n_mine, 0.50),
                                                    "p99_ms", s_pct (mine, n_mine, 0.99)));
        free (mine);
        free (watch [w].seen_us);
    }
    qsort (all, n_all, sizeof (double), s_cmp);
    json_t *out = json_pack ("{s:i, s:i, s:f, s:f, s:i, s:i, s:f, s:f, s:f, s:f, s:f, s:o}",
                             "posts", (int) s_n_posts, "failed_posts", (int) failed,
                             "rate_requested", rate, "rate_achieved", (double) s_n_posts / posting,
                             "pairs_seen", (int) n_all, "pairs_missing", (int) missing,
                             "p50_ms", s_pct (all, n_all, 0.50), "p90_ms", s_pct (all, n_all, 0.90),
                             "p99_ms", s_pct (all, n_all, 0.99),
                             "max_ms", n_all? all [n_all - 1]: -1.0,
                             "poll_sleep_ms", S_POLL_SLEEP_US / 1000.0, "per_node", per_node);
    char *text = json_dumps (out, JSON_COMPACT | JSON_REAL_PRECISION (6));
    printf ("%s\n", text);
    free (text);
    json_decref (out);
    free (all);
    free (watch);
    free (s_posts);
    return missing? 1: 0;
}
