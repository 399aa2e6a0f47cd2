/*  bench_near.c — market.list with a location filter ("near me") at scale,
    in one process (scripts/bench.sh near; docs/performance.md "Near me").

        bench_near [N] [--queries Q] [--dir DIR]

    Builds a market service (market_new on an event log in DIR, default
    under $TMPDIR) and folds N (default 100,000) signed, located posts into
    its view: 60 % around ten German towns (each a spread of 1-15 km), 40 %
    anywhere in a box over Germany (47.3-55.0 N, 5.9-15.0 E). Then, with Q
    (default 1000) queries of each kind, times market_handle ("market.list")
    end to end (input checks, the view, the JSON reply):
      baseline   market.list {} (50 newest, no filter): the same run's yardstick;
      scan       the filter done as a plain scan, without the index: the
                 feed walked newest first, each post's distance computed
                 (haversine) until 50 hits (no JSON; what the index saves);
      near R     market.list {location_filter: {random centre, R km}} for R =
                 0.5, 2, 10, 50, newest first and by distance; half the
                 centres at a random post (where people are), half anywhere
                 in the box.
    Every kind uses the same centres per radius. Prints p50/p99/max per
    kind, of the calling thread's CPU time (what the call costs; on a
    shared machine the wall clock adds other processes' time slices) and
    of the wall clock, the ratio of each p50/p99 to the baseline's, the
    mean hits, the index's first build (the first filtered query after
    ingest) and its bytes per located post.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>
#include "hearth_bench.h"
#include "bench_fixture.h"
#include "eventlog.h"
#include "hearth_log.h"
#include "identity.h"
#include "market.h"
#include "market_view.h"
#include "ulid.h"

#define S_WALL_MS  UINT64_C (1780000000000)
#define S_NOW_MS   (S_WALL_MS + 60000)
#define S_LIMIT    50

static uint64_t s_rng = 42;

static double
s_unit (void)
{
    return (double) (hb_splitmix64 (&s_rng) >> 11) / 9007199254740992.0;
}

/*  A normal deviate (Box-Muller). */
static double
s_normal (void)
{
    double u = s_unit (), v = s_unit ();
    return sqrt (-2 * log (u > 1e-300? u: 1e-300)) * cos (2 * 3.14159265358979 * v);
}

static const struct { double lat, lng, spread_km; } s_towns [] = {
    { 52.520, 13.405, 15 }, { 53.551, 9.993, 12 }, { 48.137, 11.575, 12 }, { 50.938, 6.960, 10 },
    { 50.110, 8.682, 8 },   { 51.050, 13.738, 6 }, { 51.340, 12.375, 6 }, { 49.452, 11.077, 5 },
    { 54.323, 10.123, 3 },  { 47.999, 7.842, 1 },
};
#define S_N_TOWNS (sizeof s_towns / sizeof s_towns [0])

static void
s_point (double *lat, double *lng)
{
    if (s_unit () < 0.6) {
        size_t t = (size_t) (hb_splitmix64 (&s_rng) % S_N_TOWNS);
        double km = s_towns [t].spread_km;
        *lat = s_towns [t].lat + s_normal () * km / 111.2;
        *lng = s_towns [t].lng + s_normal () * km / (111.2 * cos (s_towns [t].lat * 3.14159265358979 / 180));
    }
    else {
        *lat = 47.3 + 7.7 * s_unit ();
        *lng = 5.9 + 9.1 * s_unit ();
    }
}

static int
s_cmp (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y? -1: x > y;
}

typedef struct {
    double p50, p99, max;
} s_stats_t;

static s_stats_t
s_stats (double *t, size_t n)
{
    qsort (t, n, sizeof *t, s_cmp);
    s_stats_t s = { t [n / 2], t [(size_t) ((double) n * 0.99)], t [n - 1] };
    return s;
}

static void
s_row (const char *name, const char *clock, s_stats_t s, const s_stats_t *base, double hits)
{
    printf ("  %-26s %-4s p50 %8.1f us  p99 %8.1f us  max %8.1f us", name, clock, s.p50 * 1e6,
            s.p99 * 1e6, s.max * 1e6);
    if (base)
        printf ("  x%.2f / x%.2f of baseline", s.p50 / base->p50, s.p99 / base->p99);
    if (hits >= 0)
        printf ("  hits %.1f", hits);
    printf ("\n");
}

static double
s_cpu (void)
{
    return hb_clock_s (CLOCK_THREAD_CPUTIME_ID);
}

/*  The plain scan the index replaces: newest first, haversine each. */
typedef struct {
    double lat, lng, radius;
    size_t hits;
} s_scan_t;

static int
s_scan_visit (void *arg, const market_post_t *post)
{
    s_scan_t *s = (s_scan_t *) arg;
    if (!post->has_location || market_view_is_expired (post, S_NOW_MS))
        return 0;
    double r = 3.14159265358979323846 / 180;
    double dphi = (post->lat - s->lat) * r, dl = (post->lng - s->lng) * r;
    double a = sin (dphi / 2) * sin (dphi / 2)
             + cos (s->lat * r) * cos (post->lat * r) * sin (dl / 2) * sin (dl / 2);
    double d = 2 * 6371.0088 * asin (sqrt (a > 1? 1: a));
    if (d <= s->radius)
        s->hits++;
    return s->hits >= S_LIMIT;
}

int
main (int argc, char **argv)
{
    size_t n = 100000, queries = 1000;
    const char *dir_arg = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp (argv [i], "--queries") == 0 && i + 1 < argc)
            queries = strtoull (argv [++i], NULL, 10);
        else
        if (strcmp (argv [i], "--dir") == 0 && i + 1 < argc)
            dir_arg = argv [++i];
        else
        if (argv [i][0] != '-')
            n = strtoull (argv [i], NULL, 10);
        else {
            fprintf (stderr, "usage: bench_near [N] [--queries Q] [--dir DIR]\n");
            return 2;
        }
    }
    if (sodium_init () < 0 || n == 0 || queries < 2)
        return 1;
    hearth_log_set_level (HEARTH_LOG_WARN);        /* the market's start-up lines are noise here */
    char dir [512];
    if (dir_arg)
        snprintf (dir, sizeof dir, "%s", dir_arg);
    else {
        const char *tmp = getenv ("TMPDIR");
        snprintf (dir, sizeof dir, "%s/bench-near-XXXXXX", tmp? tmp: "/tmp");
        if (!mkdtemp (dir))
            return 1;
    }
    char path [600];
    snprintf (path, sizeof path, "%s/db", dir);
    int err = 0;
    eventlog_t *log = eventlog_open (path, &err);
    uint8_t seed [32];
    memset (seed, 0x5a, sizeof seed);
    identity_t *root = identity_from_seed (seed);
    if (!log || !root || eventlog_community_create (log, root, "Bench", S_WALL_MS - 5000) != 0)
        return 1;
    market_t *market = market_new (log, root, NULL);
    if (!market || eventlog_views_load (log, NULL) != 0)
        return 1;
    market_view_t *view = market_view (market);
    const uint8_t *community = identity_public_key (root);
    printf ("bench_near: %zu located posts, %zu queries per kind, limit %d\n", n, queries, S_LIMIT);

    double *lat = (double *) malloc (n * sizeof *lat), *lng = (double *) malloc (n * sizeof *lng);
    double t0 = hb_now_s ();
    for (size_t i = 0; i < n; i++) {
        char id [ULID_SIZE], title [64];
        bench_fixture_ulid (i, S_WALL_MS - 1000, id);
        s_point (&lat [i], &lng [i]);
        snprintf (title, sizeof title, "Leiter zu verleihen %zu", i);
        Hearth__MarketPostCreated p = HEARTH__MARKET_POST_CREATED__INIT;
        Hearth__Location loc = HEARTH__LOCATION__INIT;
        p.category = HEARTH__CATEGORY__CATEGORY_OFFER;
        p.title = title;
        p.body = (char *) "Drei Meter, Alu, abholen.";
        p.ttl_seconds = 86400;
        loc.lat = lat [i];
        loc.lng = lng [i];
        loc.label = (char *) "";
        p.location = &loc;
        event_t *ev = bench_fixture_post_sign (&p, id, i + 2, S_WALL_MS - 1000, community, root, &err);
        if (!ev || market_view_apply (view, ev) != 0)
            return 1;
        event_destroy (&ev);
    }
    printf ("  view built in %.1f s\n", hb_now_s () - t0);

    uint8_t caller [32];
    memcpy (caller, community, 32);
    double *t = (double *) malloc (queries * sizeof *t);
    double *c = (double *) malloc (queries * sizeof *c);
    double *clats = (double *) malloc (queries * sizeof *clats);
    double *clngs = (double *) malloc (queries * sizeof *clngs);
    json_t *out = NULL;
    char *message = NULL;

    /*  The first filtered query builds the index from the view. */
    json_t *input = json_pack ("{s:{s:{s:f, s:f}, s:f}}", "location_filter", "center", "lat", 52.52,
                               "lng", 13.405, "radius_km", 1.0);
    double b0 = hb_now_s ();
    if (market_handle (market, "market.list", input, caller, S_NOW_MS, &out, &message) != 0)
        return 1;
    double build = hb_now_s () - b0;
    json_decref (out);
    json_decref (input);
    size_t located = market_view_geo_size (view);
    printf ("  index: first filtered query (builds it) %.1f ms; %zu posts, %.1f bytes per post\n",
            build * 1e3, located, (double) market_view_geo_bytes (view) / (double) located);

    /*  Baseline: market.list without a filter. */
    json_t *empty = json_object ();
    for (size_t q = 0; q < queries; q++) {
        double q0 = hb_now_s (), c0 = s_cpu ();
        market_handle (market, "market.list", empty, caller, S_NOW_MS, &out, &message);
        c [q] = s_cpu () - c0;
        t [q] = hb_now_s () - q0;
        json_decref (out);
    }
    json_decref (empty);
    s_stats_t base_cpu = s_stats (c, queries), base = s_stats (t, queries);
    s_row ("baseline (no filter)", "cpu", base_cpu, NULL, -1);
    s_row ("", "wall", base, NULL, -1);

    static const double radii [] = { 0.5, 2, 10, 50 };
    for (size_t r = 0; r < sizeof radii / sizeof radii [0]; r++) {
        for (size_t q = 0; q < queries; q++) {
            if (q % 2 == 0) {
                size_t i = (size_t) (hb_splitmix64 (&s_rng) % n);
                clats [q] = lat [i];
                clngs [q] = lng [i];
            }
            else {
                clats [q] = 47.3 + 7.7 * s_unit ();
                clngs [q] = 5.9 + 9.1 * s_unit ();
            }
        }
        for (int order = 0; order < 3; order++) {
            double hits = 0;
            for (size_t q = 0; q < queries; q++) {
                double clat = clats [q], clng = clngs [q];
                if (order == 2) {
                    s_scan_t scan = { clat, clng, radii [r], 0 };
                    double q0 = hb_now_s (), c0 = s_cpu ();
                    market_view_each_newest (view, NULL, s_scan_visit, &scan);
                    c [q] = s_cpu () - c0;
                    t [q] = hb_now_s () - q0;
                    hits += (double) scan.hits;
                    continue;
                }
                input = json_pack ("{s:{s:{s:f, s:f}, s:f}, s:s}", "location_filter", "center", "lat",
                                   clat, "lng", clng, "radius_km", radii [r],
                                   "order", order? "distance": "newest");
                double q0 = hb_now_s (), c0 = s_cpu ();
                int rc = market_handle (market, "market.list", input, caller, S_NOW_MS, &out, &message);
                c [q] = s_cpu () - c0;
                t [q] = hb_now_s () - q0;
                if (rc != 0) {
                    fprintf (stderr, "bench_near: market.list failed: %s\n", message? message: "?");
                    return 1;
                }
                hits += (double) json_array_size (json_object_get (out, "posts"));
                json_decref (out);
                json_decref (input);
            }
            char name [64];
            snprintf (name, sizeof name, "%s %.1f km", order == 0? "near": order == 1? "near, by distance"
                                                                               : "plain scan", radii [r]);
            s_row (name, "cpu", s_stats (c, queries), &base_cpu, hits / (double) queries);
            s_row ("", "wall", s_stats (t, queries), &base, -1);
        }
    }
    printf ("  peak RSS %.0f MiB\n", (double) hb_status_kib ("VmHWM:") / 1024);
    free (t);
    free (c);
    free (clats);
    free (clngs);
    free (lat);
    free (lng);
    eventlog_destroy (&log);
    market_destroy (&market);
    identity_destroy (&root);
    if (!dir_arg) {
        char cmd [700];
        snprintf (cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system (cmd) != 0)
            fprintf (stderr, "bench_near: could not remove %s\n", dir);
    }
    return 0;
}
