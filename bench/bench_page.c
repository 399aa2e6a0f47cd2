/*  bench_page.c — server time of the marketplace page's main views
    (node_page_handle, in process) at many active posts
    (scripts/bench.sh page; docs/performance.md "Marketplace page").

        bench_page [N] [--base B] [--runs R]

    Builds two real nodes (event log in a temp dir, market, node_bus,
    node_page), one with B (default 1,000) and one with N (default 100,000)
    active posts: signed market.post.created events through eventlog_ingest
    (the receive pipeline), synthetic text from a Zipf vocabulary of 5,000
    words (titles of 3-6 words, bodies of 10-25), categories offer 40 %,
    request 30 %, info 20 %, emergency 10 %, two of 40 tags each, a place
    uniform in a 40 x 40 km square around Berlin's centre. Then
    times R (default 200) requests of each view, alternating views:
      newest      GET /                       (50 newest)
      filtered    GET /?category=request&tag=T   (T drawn per run)
      (worst)     the same with a tag no post has: the whole list is scanned
      search      GET /search?q=W [W2]        (1-2 words drawn per run)
      post        GET /post/ID                (ID drawn per run)
      near        GET /?near_lat=&near_lng=&radius_km=2&order=distance
                                              (centre drawn per run in the square)
    For each view: p50/p99 of the page at B and at N, and of the raw
    capability call the view makes (market.list / market.search /
    market.get through node_bus_call, same inputs) at N — the baselines,
    measured in the same run. Ratios: page at N over page at B (scaling),
    page over raw call at N (what rendering adds). The goal is a page p99
    at or under 100 ms at N = 100,000.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>
#include <jansson.h>
#include "eventlog.h"
#include "hearth_bench.h"
#include "bench_fixture.h"
#include "hearth_codec.h"
#include "hearth_error.h"
#include "hearth_log.h"
#include "identity.h"
#include "market.h"
#include "node_bus.h"
#include "node_page.h"
#include "node_stats.h"
#include "ulid.h"

#define S_TAGS       40
#define S_BATCH      4096
#define S_TTL        2592000          /* 30 days: every post stays active */
#define S_GOAL_MS    100.0
/*  Where the posts are: a square of 2 * S_SPREAD degrees of latitude
    (~40 km) and as many km of longitude around S_LAT, S_LNG. */
#define S_LAT        52.52
#define S_LNG        13.405
#define S_SPREAD     0.18

static char s_tag_names [S_TAGS][16];
static uint64_t s_rng = 42;

/*  Uniform in [0, 1). */
static double
s_unit (void)
{
    return (double) (hb_splitmix64 (&s_rng) >> 11) / 9007199254740992.0;
}

static void
s_make_tags (void)
{
    for (size_t i = 0; i < S_TAGS; i++)
        snprintf (s_tag_names [i], sizeof s_tag_names [i], "tag%zu", i);
}

typedef struct {
    char          dir [256];
    identity_t   *id;
    eventlog_t   *log;
    market_t     *market;
    node_stats_t *stats;
    node_bus_t   *bus;
    node_page_t  *page;
    char        (*ids) [ULID_SIZE];  /* owned: every post's id */
    size_t        n;
} s_node_t;

/*  A node with n active posts; 0 or -1. */
static int
s_node_open (s_node_t *node, size_t n)
{
    memset (node, 0, sizeof *node);
    snprintf (node->dir, sizeof node->dir, "%s/hearth-bench-page-XXXXXX",
              getenv ("TMPDIR")? getenv ("TMPDIR"): "/tmp");
    if (!mkdtemp (node->dir))
        return -1;
    char keys [300], db [300];
    snprintf (keys, sizeof keys, "%s/keys", node->dir);
    snprintf (db, sizeof db, "%s/db", node->dir);
    int err = 0;
    uint64_t now_ms = hearth_now_ms ();
    node->id = identity_create (keys, &err);
    node->log = node->id? eventlog_open (db, &err): NULL;
    node->ids = calloc (n, sizeof *node->ids);
    if (!node->log || !node->ids
    ||  eventlog_community_create (node->log, node->id, "Benchkiez", now_ms) != 0
    ||  !(node->market = market_new (node->log, node->id, NULL))
    ||  eventlog_views_load (node->log, NULL) != 0
    ||  !(node->stats = node_stats_new ())
    ||  !(node->bus = node_bus_new (node->log, node->market, node->id, node->stats))
    ||  !(node->page = node_page_new (node->bus)))
        return -1;
    eventlog_set_verify_threads (node->log, 2);
    uint8_t community [32];
    memcpy (community, eventlog_community_id (node->log), 32);
    uint64_t lamport = eventlog_stats (node->log)->lamport_head + 1;
    uint8_t **frames = calloc (S_BATCH, sizeof *frames);
    size_t *lens = calloc (S_BATCH, sizeof *lens);
    if (!frames || !lens)
        return -1;
    ulid_gen_t gen;
    memset (&gen, 0, sizeof gen);
    static const Hearth__Category cats [10] = {
        HEARTH__CATEGORY__CATEGORY_OFFER, HEARTH__CATEGORY__CATEGORY_OFFER,
        HEARTH__CATEGORY__CATEGORY_OFFER, HEARTH__CATEGORY__CATEGORY_OFFER,
        HEARTH__CATEGORY__CATEGORY_REQUEST, HEARTH__CATEGORY__CATEGORY_REQUEST,
        HEARTH__CATEGORY__CATEGORY_REQUEST, HEARTH__CATEGORY__CATEGORY_INFO,
        HEARTH__CATEGORY__CATEGORY_INFO, HEARTH__CATEGORY__CATEGORY_EMERGENCY
    };
    size_t done = 0;
    while (done < n) {
        size_t batch = n - done < S_BATCH? n - done: S_BATCH;
        for (size_t i = 0; i < batch; i++) {
            char title [128], body [512];
            bench_fixture_text (&s_rng, title, sizeof title, 3, 6);
            bench_fixture_text (&s_rng, body, sizeof body, 10, 25);
            uint8_t rnd [10];
            randombytes_buf (rnd, sizeof rnd);
            ulid_gen_next (&gen, now_ms, rnd, node->ids [done + i]);
            size_t t1 = hb_splitmix64 (&s_rng) % S_TAGS, t2 = (t1 + 1 + hb_splitmix64 (&s_rng) % (S_TAGS - 1)) % S_TAGS;
            char *tags [2] = { s_tag_names [t1], s_tag_names [t2] };
            Hearth__MarketPostCreated post = HEARTH__MARKET_POST_CREATED__INIT;
            post.category = cats [hb_splitmix64 (&s_rng) % 10];
            post.title = title;
            post.body = body;
            post.tags = tags;
            post.n_tags = 2;
            post.ttl_seconds = S_TTL;
            Hearth__Location loc = HEARTH__LOCATION__INIT;
            loc.lat = S_LAT + s_unit () * 2 * S_SPREAD - S_SPREAD;
            loc.lng = S_LNG + (s_unit () * 2 * S_SPREAD - S_SPREAD) / 0.61;    /* cos 52.5° */
            post.location = &loc;
            event_t *ev = bench_fixture_post_sign (&post, node->ids [done + i], lamport++, now_ms,
                                                   community, node->id, &err);
            if (!ev)
                return -1;
            size_t len;
            const uint8_t *wire = event_wire (ev, &len);
            frames [i] = malloc (len);
            if (!frames [i])
                return -1;
            memcpy (frames [i], wire, len);
            lens [i] = len;
            event_destroy (&ev);
        }
        eventlog_ingest_result_t result;
        int rc = eventlog_ingest (node->log, (const uint8_t *const *) frames, lens, batch, &result, NULL);
        for (size_t i = 0; i < batch; i++)
            free (frames [i]);
        if (rc || result.accepted != batch) {
            fprintf (stderr, "bench_page: ingest: rc %d, %llu of %zu accepted\n", rc,
                     (unsigned long long) result.accepted, batch);
            return -1;
        }
        done += batch;
    }
    free (frames);
    free (lens);
    node->n = n;
    return 0;
}

static void
s_node_close (s_node_t *node)
{
    node_page_destroy (&node->page);
    node_bus_destroy (&node->bus);
    eventlog_destroy (&node->log);
    market_destroy (&node->market);
    node_stats_destroy (&node->stats);
    identity_destroy (&node->id);
    free (node->ids);
    char cmd [300];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", node->dir);
    if (system (cmd) != 0)
        fprintf (stderr, "bench_page: could not remove %s\n", node->dir);
}

static double
s_now_ms (void)
{
    struct timespec t;
    clock_gettime (CLOCK_MONOTONIC, &t);
    return (double) t.tv_sec * 1e3 + (double) t.tv_nsec / 1e6;
}

enum { V_NEWEST, V_FILTERED, V_FILTER_MISS, V_SEARCH, V_POST, V_NEAR, V_COUNT };
static const char *const s_view_names [V_COUNT] = {
    "newest (/)", "category+tag (/?category=&tag=)", "  the same, a tag no post has",
    "search (/search?q=)", "post (/post/ID)", "near 2 km, nearest first"
};

/*  The request's args and path for view v, drawn from the stream. */
static json_t *
s_args (int v, const s_node_t *node, char *path, size_t cap)
{
    snprintf (path, cap, "/");
    switch (v) {
        case V_FILTERED:
            return json_pack ("{s:s, s:s}", "category", "request",
                              "tag", s_tag_names [hb_splitmix64 (&s_rng) % S_TAGS]);
        case V_FILTER_MISS:
            return json_pack ("{s:s, s:s}", "category", "request", "tag", "nosuchtag");
        case V_SEARCH: {
            char q [40];
            if (hb_splitmix64 (&s_rng) % 2)
                snprintf (q, sizeof q, "%s", bench_fixture_word (bench_fixture_zipf (&s_rng)));
            else
                snprintf (q, sizeof q, "%s %s", bench_fixture_word (bench_fixture_zipf (&s_rng)), bench_fixture_word (bench_fixture_zipf (&s_rng)));
            snprintf (path, cap, "/search");
            return json_pack ("{s:s}", "q", q);
        }
        case V_POST:
            snprintf (path, cap, "/post/%s", node->ids [hb_splitmix64 (&s_rng) % node->n]);
            return json_object ();
        case V_NEAR: {
            char lat [32], lng [32];
            snprintf (lat, sizeof lat, "%.5f", S_LAT + s_unit () * 2 * S_SPREAD - S_SPREAD);
            snprintf (lng, sizeof lng, "%.5f", S_LNG + (s_unit () * 2 * S_SPREAD - S_SPREAD) / 0.61);
            return json_pack ("{s:s, s:s, s:s, s:s}", "near_lat", lat, "near_lng", lng, "radius_km", "2",
                              "order", "distance");
        }
        default:
            return json_object ();
    }
}

/*  The raw capability call the view makes, with the same inputs. */
static double
s_time_raw (s_node_t *node, int v, const json_t *args, const char *path)
{
    json_t *input;
    const char *cap = "market.list";
    if (v == V_NEWEST)
        input = json_pack ("{s:i}", "limit", 50);
    else if (v == V_FILTERED || v == V_FILTER_MISS)
        input = json_pack ("{s:i, s:O, s:[O]}", "limit", 50, "category", json_object_get (args, "category"),
                           "tags", json_object_get (args, "tag"));
    else if (v == V_NEAR)
        input = json_pack ("{s:i, s:{s:{s:f, s:f}, s:f}, s:s}", "limit", 50, "location_filter", "center",
                           "lat", atof (json_string_value (json_object_get (args, "near_lat"))),
                           "lng", atof (json_string_value (json_object_get (args, "near_lng"))),
                           "radius_km", 2.0, "order", "distance");
    else if (v == V_SEARCH) {
        cap = "market.search";
        input = json_pack ("{s:O, s:i}", "query", json_object_get (args, "q"), "k", 50);
    }
    else {
        cap = "market.get";
        input = json_pack ("{s:s}", "event_id", path + strlen ("/post/"));
    }
    json_t *output = NULL;
    char *message = NULL;
    double t0 = s_now_ms ();
    int rc = node_bus_call (node->bus, cap, input, &output, &message);
    double ms = s_now_ms () - t0;
    if (rc)
        fprintf (stderr, "bench_page: %s: %s\n", cap, message? message: "?");
    json_decref (output);
    json_decref (input);
    free (message);
    return ms;
}

static double
s_time_page (s_node_t *node, const char *path, const json_t *args, size_t *bytes)
{
    node_page_request_t req = { .method = "GET", .path = path, .args = args, .may_write = 1,
                                .csrf_token = "bench" };
    node_page_response_t resp;
    memset (&resp, 0, sizeof resp);
    double t0 = s_now_ms ();
    int rc = node_page_handle (node->page, &req, &resp);
    double ms = s_now_ms () - t0;
    if (rc || resp.status != 200)
        fprintf (stderr, "bench_page: %s: rc %d status %d\n", path, rc, resp.status);
    *bytes = resp.body_len;
    free (resp.body);
    free (resp.location);
    return ms;
}

static int
s_cmp (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y? -1: x > y;
}

static double
s_pct (double *ms, size_t n, double p)
{
    qsort (ms, n, sizeof *ms, s_cmp);
    size_t i = (size_t) ((double) n * p);
    return ms [i < n? i: n - 1];
}

int
main (int argc, char **argv)
{
    size_t n = argc > 1 && argv [1][0] != '-'? strtoull (argv [1], NULL, 10): 100000;
    size_t base = 1000, runs = 200;
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp (argv [i], "--base") == 0) base = strtoull (argv [i + 1], NULL, 10);
        if (strcmp (argv [i], "--runs") == 0) runs = strtoull (argv [i + 1], NULL, 10);
    }
    if (sodium_init () < 0 || n < 1 || base < 1 || runs < 1)
        return 2;
    hearth_log_set_silent (1);
    bench_fixture_vocab_make ();
    s_make_tags ();
    s_node_t small, big;
    double t0 = s_now_ms ();
    if (s_node_open (&small, base)) {
        fprintf (stderr, "bench_page: cannot build the %zu-post node\n", base);
        return 1;
    }
    double t1 = s_now_ms ();
    if (s_node_open (&big, n)) {
        fprintf (stderr, "bench_page: cannot build the %zu-post node\n", n);
        return 1;
    }
    double t2 = s_now_ms ();
    printf ("bench_page: %zu posts (baseline node %zu posts), %zu runs per view; "
            "filled in %.1f s and %.1f s\n", n, base, runs, (t1 - t0) / 1e3, (t2 - t1) / 1e3);

    double *page_small [V_COUNT], *page_big [V_COUNT], *raw_big [V_COUNT];
    size_t bytes [V_COUNT] = { 0 };
    for (int v = 0; v < V_COUNT; v++) {
        page_small [v] = calloc (runs, sizeof (double));
        page_big [v] = calloc (runs, sizeof (double));
        raw_big [v] = calloc (runs, sizeof (double));
        if (!page_small [v] || !page_big [v] || !raw_big [v])
            return 1;
    }
    /*  Warm up once per view, then alternate views and nodes. */
    for (int v = 0; v < V_COUNT; v++) {
        char path [64];
        size_t b;
        json_t *args = s_args (v, &big, path, sizeof path);
        s_time_page (&big, path, args, &b);
        json_decref (args);
    }
    for (size_t r = 0; r < runs; r++)
        for (int v = 0; v < V_COUNT; v++) {
            char path [64];
            size_t b;
            json_t *args = s_args (v, &small, path, sizeof path);
            page_small [v][r] = s_time_page (&small, path, args, &b);
            json_decref (args);
            args = s_args (v, &big, path, sizeof path);
            page_big [v][r] = s_time_page (&big, path, args, &b);
            if (b > bytes [v])
                bytes [v] = b;
            raw_big [v][r] = s_time_raw (&big, v, args, path);
            json_decref (args);
        }
    printf ("%-34s %21s %21s %21s %9s %9s %8s\n", "view", "page @base p50/p99 ms", "page @N p50/p99 ms",
            "raw call @N p50/p99", "N/base", "page/raw", "max kB");
    int ok = 1;
    for (int v = 0; v < V_COUNT; v++) {
        double s50 = s_pct (page_small [v], runs, 0.5), s99 = s_pct (page_small [v], runs, 0.99);
        double b50 = s_pct (page_big [v], runs, 0.5), b99 = s_pct (page_big [v], runs, 0.99);
        double r50 = s_pct (raw_big [v], runs, 0.5), r99 = s_pct (raw_big [v], runs, 0.99);
        printf ("%-34s %9.3f / %9.3f %9.3f / %9.3f %9.3f / %9.3f %9.2f %9.2f %8.1f\n", s_view_names [v],
                s50, s99, b50, b99, r50, r99, s50 > 0? b50 / s50: 0, r50 > 0? b50 / r50: 0,
                (double) bytes [v] / 1024.0);
        ok &= b99 <= S_GOAL_MS;
        free (page_small [v]);
        free (page_big [v]);
        free (raw_big [v]);
    }
    printf ("goal: every view's page p99 <= %.0f ms at %zu posts: %s\n", S_GOAL_MS, n, ok? "met": "NOT met");
    s_node_close (&small);
    s_node_close (&big);
    return 0;
}
