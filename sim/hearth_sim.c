/*  hearth_sim.c — the district-sized simulation of a Hearth mesh
    (docs/simulation.md): grows a community to N nodes by star invites,
    posts, partitions it into halves and heals it, restarts a node while
    its inviter and a minority are down, and removes nodes until someone is
    cut off; prints the figures as a table and as JSON lines, and checks
    the goals.

        hearth_sim [--nodes N] [--posts P] [--seed S] [--loss P] [--check]
                   [--out K] [--in-max K] [--invitee-reserve K] [--shuffle-ms MS]
                   [--join-gap-ms MS] [--no-churn] [--posts-only]

    Everything on stdout depends only on the arguments (the same run twice
    gives the same bytes); wall time and memory go to stderr. --check exits
    1 when an invariant fails (delivery to every connected member, the link
    bound, the heal); no timing is judged.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include "sim_world.h"
#include "sim_rng.h"

typedef struct {
    uint32_t nodes, posts;
    uint64_t seed;
    double   loss;
    int      check, churn, posts_only;
    uint32_t join_gap_ms, post_gap_ms;
    gossip_overlay_config_t ov;
} s_args_t;

static int s_failed;

static void
s_goal (const char *what, int ok, const char *figure)
{
    printf ("goal  %-58s %-4s %s\n", what, ok? "met": "MISS", figure);
}

static void
s_invariant (const char *what, int ok)
{
    if (!ok) {
        printf ("INVARIANT FAILED: %s\n", what);
        s_failed = 1;
    }
}

static int
s_cmp_u32 (const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
    return x < y? -1: x > y;
}

static int
s_cmp_dbl (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y? -1: x > y;
}

/*  Sort v (n > 0 items of size bytes, by cmp) and return the index of its
    p-quantile, rounded to the nearest item. */
static size_t
s_pct_sort (void *v, size_t n, size_t size, int (*cmp) (const void *, const void *), double p)
{
    qsort (v, n, size, cmp);
    return (size_t) (p * (double) (n - 1) + 0.5);
}

static uint32_t
s_pct_u32 (uint32_t *v, size_t n, double p)
{
    return n? v [s_pct_sort (v, n, sizeof *v, s_cmp_u32, p)]: 0;
}

static double
s_pct_dbl (double *v, size_t n, double p)
{
    return n? v [s_pct_sort (v, n, sizeof *v, s_cmp_dbl, p)]: 0;
}

/* ---- components of the up-link graph ----------------------------------------------- */

static uint32_t
s_uf_find (uint32_t *parent, uint32_t x)
{
    while (parent [x] != x) {
        parent [x] = parent [parent [x]];
        x = parent [x];
    }
    return x;
}

/*  Mark in `in_big` the members of the largest component among nodes with
    present[i] over edges (a, b) (both present). Returns its size. */
static uint32_t
s_largest (uint32_t n, const uint8_t *present, const uint32_t *ea, const uint32_t *eb, size_t n_edges,
           uint8_t *in_big)
{
    uint32_t *parent = (uint32_t *) malloc (n * sizeof *parent);
    uint32_t *size = (uint32_t *) calloc (n, sizeof *size);
    for (uint32_t i = 0; i < n; i++)
        parent [i] = i;
    for (size_t e = 0; e < n_edges; e++)
        if (present [ea [e]] && present [eb [e]]) {
            uint32_t a = s_uf_find (parent, ea [e]), b = s_uf_find (parent, eb [e]);
            if (a != b)
                parent [a] = b;
        }
    uint32_t best = 0, best_root = UINT32_MAX;
    for (uint32_t i = 0; i < n; i++)
        if (present [i]) {
            uint32_t r = s_uf_find (parent, i);
            if (++size [r] > best) {
                best = size [r];
                best_root = r;
            }
        }
    for (uint32_t i = 0; i < n; i++)
        in_big [i] = present [i] && s_uf_find (parent, i) == best_root;
    free (parent);
    free (size);
    return best;
}

/*  The up links of the live world as edges (each out link once). */
static size_t
s_edges (const sim_world_t *w, uint32_t **ea, uint32_t **eb)
{
    uint32_t n = sim_world_nodes (w);
    size_t cap = 16 * (size_t) n + 16, k = 0;
    *ea = (uint32_t *) malloc (cap * sizeof **ea);
    *eb = (uint32_t *) malloc (cap * sizeof **eb);
    uint32_t peers [256];
    for (uint32_t i = 0; i < n; i++) {
        size_t m = sim_world_links (w, i, NULL, NULL, peers, 256);
        for (size_t j = 0; j < m && j < 256; j++) {
            if (peers [j] < i)
                continue;                   /* each pair once (from its lower end) */
            if (k == cap) {
                cap *= 2;
                *ea = (uint32_t *) realloc (*ea, cap * sizeof **ea);
                *eb = (uint32_t *) realloc (*eb, cap * sizeof **eb);
            }
            (*ea) [k] = i;
            (*eb) [k] = peers [j];
            k++;
        }
    }
    return k;
}

static uint32_t
s_connected (const sim_world_t *w, uint8_t *in_big, uint32_t *alive_p)
{
    uint32_t n = sim_world_nodes (w), alive = 0;
    uint8_t *present = (uint8_t *) malloc (n);
    for (uint32_t i = 0; i < n; i++)
        alive += present [i] = (uint8_t) sim_world_alive (w, i);
    uint32_t *ea, *eb;
    size_t ne = s_edges (w, &ea, &eb);
    uint32_t big = s_largest (n, present, ea, eb, ne, in_big);
    free (ea);
    free (eb);
    free (present);
    if (alive_p)
        *alive_p = alive;
    return big;
}

/* ---- scenario (a): grow by star invites, then post -------------------------------- */

typedef struct {
    uint32_t links_max, out_max, in_max;
    double   links_mean, out_mean, in_mean;
    uint32_t founder_links;
    uint32_t bound;
} s_linkfig_t;

static void
s_link_figures (const sim_world_t *w, const gossip_overlay_config_t *ov, s_linkfig_t *f)
{
    memset (f, 0, sizeof *f);
    uint32_t n = sim_world_nodes (w), alive = 0;
    uint64_t sum = 0, so = 0, si = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!sim_world_alive (w, i))
            continue;
        size_t o, in;
        size_t t = sim_world_links (w, i, &o, &in, NULL, 0);
        alive++;
        sum += t;
        so += o;
        si += in;
        if (t > f->links_max) f->links_max = (uint32_t) t;
        if (o > f->out_max) f->out_max = (uint32_t) o;
        if (in > f->in_max) f->in_max = (uint32_t) in;
        if (i == 0)
            f->founder_links = (uint32_t) t;
    }
    f->links_mean = alive? (double) sum / alive: 0;
    f->out_mean = alive? (double) so / alive: 0;
    f->in_mean = alive? (double) si / alive: 0;
    f->bound = (uint32_t) (ov->out + ov->in_max + ov->invitee_reserve);
}

static void
s_print_links (const char *when, const s_linkfig_t *f)
{
    printf ("links %-9s per node: max %u (out %u, in %u), mean %.2f (out %.2f, in %.2f); founder %u; "
            "bound %u\n", when, f->links_max, f->out_max, f->in_max, f->links_mean, f->out_mean, f->in_mean,
            f->founder_links, f->bound);
    printf ("{\"figure\":\"links\",\"when\":\"%s\",\"max\":%u,\"out_max\":%u,\"in_max\":%u,\"mean\":%.3f,"
            "\"out_mean\":%.3f,\"in_mean\":%.3f,\"founder\":%u,\"bound\":%u}\n", when, f->links_max,
            f->out_max, f->in_max, f->links_mean, f->out_mean, f->in_mean, f->founder_links, f->bound);
}

/*  Shortest-path hops over the up links from each post's author to every
    member of its component: what the fastest path's hops are measured
    against. Fills dist (one per author-member pair, authors excluded). */
static size_t
s_graph_hops (const sim_world_t *w, uint32_t first, uint32_t last, const int *authors, uint32_t *dist)
{
    uint32_t n = sim_world_nodes (w);
    uint32_t *ea, *eb;
    size_t ne = s_edges (w, &ea, &eb);
    uint32_t *deg = (uint32_t *) calloc (n + 1, sizeof *deg);
    for (size_t e = 0; e < ne; e++) {
        deg [ea [e] + 1]++;
        deg [eb [e] + 1]++;
    }
    for (uint32_t i = 0; i < n; i++)
        deg [i + 1] += deg [i];
    uint32_t *adj = (uint32_t *) malloc ((2 * ne + 1) * sizeof *adj);
    uint32_t *fill = (uint32_t *) malloc ((n + 1) * sizeof *fill);
    memcpy (fill, deg, (n + 1) * sizeof *fill);
    for (size_t e = 0; e < ne; e++) {
        adj [fill [ea [e]]++] = eb [e];
        adj [fill [eb [e]]++] = ea [e];
    }
    uint32_t *d = (uint32_t *) malloc (n * sizeof *d), *queue = (uint32_t *) malloc (n * sizeof *queue);
    size_t k = 0;
    for (uint32_t p = first; p < last; p++) {
        if (authors [p - first] < 0)
            continue;
        for (uint32_t i = 0; i < n; i++)
            d [i] = UINT32_MAX;
        uint32_t head = 0, tail = 0, src = (uint32_t) authors [p - first];
        d [src] = 0;
        queue [tail++] = src;
        while (head < tail) {
            uint32_t v = queue [head++];
            for (uint32_t j = deg [v]; j < deg [v + 1]; j++)
                if (d [adj [j]] == UINT32_MAX) {
                    d [adj [j]] = d [v] + 1;
                    queue [tail++] = adj [j];
                }
        }
        for (uint32_t i = 0; i < n; i++)
            if (d [i] != UINT32_MAX && d [i] > 0)
                dist [k++] = d [i];
    }
    free (ea);
    free (eb);
    free (deg);
    free (adj);
    free (fill);
    free (d);
    free (queue);
    return k;
}

/*  Posts [first, last): delivery to the largest component's members,
    hops and latency. Returns 1 if every member has every post. */
static int
s_delivery (const sim_world_t *w, uint32_t first, uint32_t last, const char *label, uint32_t *hops_p99_p)
{
    uint32_t n = sim_world_nodes (w), alive;
    uint8_t *big = (uint8_t *) malloc (n);
    uint32_t members = s_connected (w, big, &alive);
    size_t cells = (size_t) members * (last - first), got = 0, k = 0;
    uint32_t *hops = (uint32_t *) malloc ((cells + 1) * sizeof *hops);
    uint32_t *lat = (uint32_t *) malloc ((cells + 1) * sizeof *lat);
    int *authors = (int *) malloc ((last - first + 1) * sizeof *authors);
    for (uint32_t p = first; p < last; p++) {
        authors [p - first] = -1;
        for (uint32_t i = 0; i < n && authors [p - first] < 0; i++)
            if (sim_world_hops (w, i, p) == 0 && big [i])
                authors [p - first] = (int) i;
    }
    for (uint32_t p = first; p < last; p++)
        for (uint32_t i = 0; i < n; i++) {
            if (!big [i])
                continue;
            int h = sim_world_hops (w, i, p);
            if (h < 0)
                continue;
            got++;
            if (h == 0)
                continue;                   /* its author */
            hops [k] = (uint32_t) h;
            lat [k] = (uint32_t) (sim_world_arrival (w, i, p) - sim_world_post_time (w, p));
            k++;
        }
    double pct = cells? 100.0 * (double) got / (double) cells: 100.0;
    uint32_t h50 = s_pct_u32 (hops, k, 0.5), h99 = s_pct_u32 (hops, k, 0.99), hmax = s_pct_u32 (hops, k, 1.0);
    uint32_t l50 = s_pct_u32 (lat, k, 0.5), l99 = s_pct_u32 (lat, k, 0.99), lmax = s_pct_u32 (lat, k, 1.0);
    uint32_t *dist = (uint32_t *) malloc (((size_t) n * (last - first) + 1) * sizeof *dist);
    size_t nd = s_graph_hops (w, first, last, authors, dist);
    uint32_t d50 = s_pct_u32 (dist, nd, 0.5), d99 = s_pct_u32 (dist, nd, 0.99), dmax = s_pct_u32 (dist, nd, 1.0);
    printf ("delivery %-8s %u posts to %u connected members (of %u up): %.4f %%; hops p50 %u p99 %u max %u "
            "(shortest paths in the link graph: p50 %u p99 %u max %u); latency ms p50 %u p99 %u max %u\n",
            label, last - first, members, alive, pct, h50, h99, hmax, d50, d99, dmax, l50, l99, lmax);
    printf ("{\"figure\":\"delivery\",\"when\":\"%s\",\"posts\":%u,\"members\":%u,\"up\":%u,\"pct\":%.4f,"
            "\"hops_p50\":%u,\"hops_p99\":%u,\"hops_max\":%u,\"graph_p50\":%u,\"graph_p99\":%u,"
            "\"graph_max\":%u,\"latency_p50_ms\":%u,\"latency_p99_ms\":%u,\"latency_max_ms\":%u}\n",
            label, last - first, members, alive, pct, h50, h99, hmax, d50, d99, dmax, l50, l99, lmax);
    free (dist);
    free (authors);
    if (hops_p99_p)
        *hops_p99_p = h99;
    free (big);
    free (hops);
    free (lat);
    return got == cells;
}

static sim_node_stats_t *
s_snapshot (const sim_world_t *w)
{
    uint32_t n = sim_world_nodes (w);
    sim_node_stats_t *s = (sim_node_stats_t *) malloc (n * sizeof *s);
    for (uint32_t i = 0; i < n; i++)
        s [i] = *sim_world_stats (w, i);
    return s;
}

/*  Bytes per post per node over the post window, against one copy of the
    post plus one announcement frame from each other link. */
static double
s_bytes (const sim_world_t *w, const sim_node_stats_t *before, uint32_t posts, double *p99_p, double *max_p)
{
    uint32_t n = sim_world_nodes (w);
    double e1 = (double) sim_world_event_frame_bytes (), a1 = (double) sim_world_announce_frame_bytes ();
    double *ratio = (double *) malloc ((n + 1) * sizeof *ratio);
    double sum_r = 0, data = 0, sync = 0, ovl = 0, copies = 0, base = 0, ann = 0;
    size_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!sim_world_alive (w, i))
            continue;
        const sim_node_stats_t *a = &before [i], *b = sim_world_stats (w, i);
        double d = (double) (b->bytes_in [SIM_BYTES_DATA] - a->bytes_in [SIM_BYTES_DATA]) / posts;
        size_t deg = sim_world_degree (w, i);
        double baseline = e1 + (deg > 1? (double) (deg - 1) * a1: 0);
        ratio [k++] = d / baseline;
        sum_r += d / baseline;
        data += d;
        base += baseline;
        sync += (double) (b->bytes_in [SIM_BYTES_SYNC] - a->bytes_in [SIM_BYTES_SYNC]) / posts;
        ovl += (double) (b->bytes_in [SIM_BYTES_OVERLAY] - a->bytes_in [SIM_BYTES_OVERLAY]) / posts;
        copies += (double) (b->events_in - a->events_in) / posts;
        ann += (double) (b->announces_in - a->announces_in) / posts;
    }
    double mean = k? sum_r / (double) k: 0, p99 = s_pct_dbl (ratio, k, 0.99), mx = s_pct_dbl (ratio, k, 1.0);
    printf ("bytes per post per node: %.0f received (posts, announcements, fetches) against %.0f for one copy "
            "(%.0f B) + an announcement (%.0f B) per other link: ratio mean %.2f p99 %.2f max %.2f; "
            "copies %.3f, hashes announced %.2f; also %.0f B of reconciliation and %.0f B of overlay per "
            "post per node\n", k? data / (double) k: 0, k? base / (double) k: 0, e1, a1, mean, p99, mx,
            k? copies / (double) k: 0, k? ann / (double) k: 0, k? sync / (double) k: 0,
            k? ovl / (double) k: 0);
    printf ("{\"figure\":\"bytes_per_post\",\"data\":%.1f,\"baseline\":%.1f,\"event_frame\":%.0f,"
            "\"announce_frame\":%.0f,\"ratio_mean\":%.3f,\"ratio_p99\":%.3f,\"ratio_max\":%.3f,"
            "\"copies\":%.4f,\"announced\":%.3f,\"sync\":%.1f,\"overlay\":%.1f}\n",
            k? data / (double) k: 0, k? base / (double) k: 0, e1, a1, mean, p99, mx, k? copies / (double) k: 0,
            k? ann / (double) k: 0, k? sync / (double) k: 0, k? ovl / (double) k: 0);
    free (ratio);
    if (p99_p)
        *p99_p = p99;
    if (max_p)
        *max_p = mx;
    return mean;
}

/*  A random node that is up, from rng. */
static uint32_t
s_random_up (const sim_world_t *w, sim_rng_t *rng)
{
    uint32_t n = sim_world_nodes (w);
    for (;;) {
        uint32_t i = (uint32_t) sim_rng_below (rng, n);
        if (sim_world_alive (w, i))
            return i;
    }
}

/* ---- scenario (c) without repair: the graph alone ---------------------------------- */

static double
s_churn_static (const sim_world_t *w, sim_rng_t *rng, double step)
{
    uint32_t n = sim_world_nodes (w);
    uint8_t *present = (uint8_t *) malloc (n), *big = (uint8_t *) malloc (n);
    uint32_t *order = (uint32_t *) malloc (n * sizeof *order), alive = 0;
    for (uint32_t i = 0; i < n; i++)
        if ((present [i] = (uint8_t) sim_world_alive (w, i)))
            order [alive++] = i;
    for (uint32_t i = alive; i > 1; i--) {
        uint32_t j = (uint32_t) sim_rng_below (rng, i), t = order [i - 1];
        order [i - 1] = order [j];
        order [j] = t;
    }
    uint32_t *ea, *eb;
    size_t ne = s_edges (w, &ea, &eb);
    uint32_t removed = 0, per = (uint32_t) (step * alive) > 0? (uint32_t) (step * alive): 1;
    double safe = 0;
    while (removed + per < alive) {
        for (uint32_t k = 0; k < per; k++)
            present [order [removed++]] = 0;
        uint32_t big_n = s_largest (n, present, ea, eb, ne, big);
        if (big_n < alive - removed)
            break;
        safe = (double) removed / alive;
    }
    free (ea);
    free (eb);
    free (present);
    free (big);
    free (order);
    return safe;
}

/* ---- the run --------------------------------------------------------------------- */

static void
s_usage (void)
{
    fprintf (stderr, "usage: hearth_sim [--nodes N] [--posts P] [--seed S] [--loss P] [--check] [--out K] "
             "[--in-max K] [--invitee-reserve K] [--shuffle-ms MS] [--known-max K] [--join-gap-ms MS] "
             "[--no-churn] [--posts-only]\n");
    exit (2);
}

static long
s_rss_kib (void)
{
    struct rusage ru;
    getrusage (RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

int
main (int argc, char **argv)
{
    s_args_t a;
    memset (&a, 0, sizeof a);
    a.nodes = 1000;
    a.posts = 50;
    a.seed = 1;
    a.churn = 1;
    a.join_gap_ms = 20;
    a.post_gap_ms = 200;
    gossip_overlay_config_defaults (&a.ov);
    for (int i = 1; i < argc; i++) {
        const char *o = argv [i];
        const char *v = i + 1 < argc? argv [i + 1]: NULL;
        if (!strcmp (o, "--check")) { a.check = 1; continue; }
        if (!strcmp (o, "--no-churn")) { a.churn = 0; continue; }
        if (!strcmp (o, "--posts-only")) { a.posts_only = 1; a.churn = 0; continue; }
        if (!v)
            s_usage ();
        i++;
        if (!strcmp (o, "--nodes")) a.nodes = (uint32_t) strtoul (v, NULL, 10);
        else if (!strcmp (o, "--posts")) a.posts = (uint32_t) strtoul (v, NULL, 10);
        else if (!strcmp (o, "--seed")) a.seed = strtoull (v, NULL, 10);
        else if (!strcmp (o, "--loss")) a.loss = strtod (v, NULL);
        else if (!strcmp (o, "--join-gap-ms")) a.join_gap_ms = (uint32_t) strtoul (v, NULL, 10);
        else if (!strcmp (o, "--out")) a.ov.out = strtoul (v, NULL, 10);
        else if (!strcmp (o, "--in-max")) a.ov.in_max = strtoul (v, NULL, 10);
        else if (!strcmp (o, "--invitee-reserve")) a.ov.invitee_reserve = strtoul (v, NULL, 10);
        else if (!strcmp (o, "--shuffle-ms")) a.ov.shuffle_ms = strtoull (v, NULL, 10);
        else if (!strcmp (o, "--known-max")) a.ov.known_max = strtoul (v, NULL, 10);
        else s_usage ();
    }
    if (a.nodes < 10 || a.posts < 4 || a.join_gap_ms == 0)
        s_usage ();
    clock_t wall0 = clock ();
    uint32_t part_posts = 20, extra_posts = 8;
    sim_config_t cfg;
    sim_config_defaults (&cfg);
    cfg.nodes_max = a.nodes;
    cfg.posts_max = a.posts + part_posts + extra_posts;
    cfg.seed = a.seed;
    cfg.loss = a.loss;
    cfg.overlay = a.ov;
    sim_world_t *w = sim_world_new (&cfg);
    if (!w) {
        fprintf (stderr, "hearth_sim: bad configuration or out of memory\n");
        return 2;
    }
    sim_rng_t rng;
    sim_rng_seed (&rng, a.seed ^ 0x5eed5eed5eedULL);
    printf ("hearth_sim: %u nodes, seed %llu, latency %u-%u ms, loss %.3f, overlay out %zu in_max %zu "
            "invitee_reserve %zu known_max %zu shuffle %llu ms\n", a.nodes, (unsigned long long) a.seed,
            cfg.lat_min_ms, cfg.lat_max_ms, a.loss, a.ov.out, a.ov.in_max, a.ov.invitee_reserve, a.ov.known_max,
            (unsigned long long) a.ov.shuffle_ms);

    /* (a) grow: one founder invites everyone (the worst case for hubs) */
    sim_world_add_node (w, SIM_NONE);
    for (uint32_t i = 1; i < a.nodes; i++) {
        sim_world_run_until (w, (uint64_t) i * a.join_gap_ms);
        sim_world_add_node (w, 0);
    }
    uint64_t grown = sim_world_now (w);
    sim_world_run_until (w, grown + 30000);
    uint64_t t = sim_world_now (w);
    printf ("grow: %u joins, one every %u ms, all invited by node 0; settled 30 s (t = %.1f s)\n",
            a.nodes - 1, a.join_gap_ms, (double) t / 1000);
    s_linkfig_t lf;
    s_link_figures (w, &a.ov, &lf);
    s_print_links ("grown", &lf);
    s_invariant ("no node above the link bound after growing", lf.links_max <= lf.bound);
    /*  Every joiner is a member now: in links admitted from the invitee
        reserve have moved to the members' count or been redirected. */
    s_invariant ("no node above out + in_max once its joiners are members",
                 lf.links_max <= a.ov.out + a.ov.in_max);
    uint32_t alive0;
    uint8_t *big = (uint8_t *) malloc (a.nodes);
    uint32_t comp = s_connected (w, big, &alive0);
    printf ("graph grown: largest component %u of %u up nodes\n", comp, alive0);

    /* posts at a rate by random members */
    sim_node_stats_t *before = s_snapshot (w);
    uint32_t first = sim_world_posts (w);
    for (uint32_t p = 0; p < a.posts; p++) {
        sim_world_run_until (w, t + (uint64_t) p * a.post_gap_ms);
        sim_world_post (w, s_random_up (w, &rng));
    }
    t = sim_world_now (w);
    sim_world_run_until (w, t + 5000);      /* push and announcements: well within 5 s */
    uint32_t posted = sim_world_posts (w) - first;
    uint32_t h99;
    int all = s_delivery (w, first, sim_world_posts (w), "posts", &h99);
    double r99, rmax;
    double rmean = s_bytes (w, before, posted, &r99, &rmax);
    free (before);
    s_invariant ("every post reaches every connected member", all);
    s_link_figures (w, &a.ov, &lf);
    s_print_links ("posting", &lf);
    s_invariant ("no node above the link bound while posting", lf.links_max <= lf.bound);

    double heal_s = -1;
    int healed = 0;
    double churn_static = 0, churn_live = 0;
    uint8_t *side = NULL;
    if (!a.posts_only) {
        /* (b) partition into halves, posts on both sides, heal */
        t = sim_world_now (w);
        side = (uint8_t *) calloc (a.nodes, 1);
        for (uint32_t i = 0; i < a.nodes; i++)
            side [i] = (uint8_t) sim_rng_below (&rng, 2);
        sim_world_partition (w, side);
        uint32_t pfirst = sim_world_posts (w);
        uint64_t part_ms = 30000;
        for (uint32_t p = 0; p < part_posts; p++) {
            sim_world_run_until (w, t + 1000 + (uint64_t) p * ((part_ms - 2000) / part_posts));
            uint32_t who;
            do
                who = s_random_up (w, &rng);
            while (side [who] != (p & 1));
            sim_world_post (w, who);
        }
        sim_world_run_until (w, t + part_ms);
        s_link_figures (w, &a.ov, &lf);
        s_print_links ("cut", &lf);
        uint64_t healed_at = sim_world_now (w);
        sim_world_heal (w);
        sim_world_run_until (w, healed_at + 60000);
        uint64_t last = 0;
        healed = 1;
        for (uint32_t i = 0; i < a.nodes; i++)
            for (uint32_t p = pfirst; p < sim_world_posts (w) && sim_world_alive (w, i); p++) {
                if (sim_world_hops (w, i, p) < 0)
                    healed = 0;
                else
                if (sim_world_arrival (w, i, p) > last)
                    last = sim_world_arrival (w, i, p);
            }
        heal_s = healed? (last > healed_at? (double) (last - healed_at) / 1000: 0): -1;
        printf ("partition: halves cut for %.0f s with %u posts on both sides; after the heal every node has "
                "every post %s %.3f s after it ended\n", (double) part_ms / 1000, part_posts,
                healed? "at": "NOT within 60 s:", healed? heal_s: 60.0);
        printf ("{\"figure\":\"partition\",\"cut_s\":%.0f,\"posts\":%u,\"healed\":%d,\"heal_s\":%.3f}\n",
                (double) part_ms / 1000, part_posts, healed, heal_s);
        s_invariant ("the partition heals (every node gets every post)", healed);

        /* (d) restart a node while its inviter and a minority are down */
        t = sim_world_now (w);
        uint32_t x = 1 + (uint32_t) sim_rng_below (&rng, a.nodes - 1);
        sim_world_stop (w, x);
        sim_world_run_until (w, t + 1000);
        uint32_t *down = (uint32_t *) malloc (a.nodes * sizeof *down), n_down = 0;
        sim_world_stop (w, 0);
        down [n_down++] = 0;
        uint32_t minority = (uint32_t) (0.4 * a.nodes);
        while (n_down < minority) {
            uint32_t v = s_random_up (w, &rng);
            if (v == x)
                continue;
            sim_world_stop (w, v);
            down [n_down++] = v;
        }
        uint32_t dfirst = sim_world_posts (w);
        for (uint32_t p = 0; p < extra_posts; p++)
            sim_world_post (w, s_random_up (w, &rng));
        sim_world_run_until (w, t + 5000);
        uint64_t restart = sim_world_now (w);
        sim_world_start (w, x);
        uint64_t first_link = 0, full_links = 0, converged = 0;
        for (uint64_t ms = restart; ms <= restart + 60000 && !(first_link && full_links && converged); ms += 10) {
            sim_world_run_until (w, ms);
            size_t o;
            size_t l = sim_world_links (w, x, &o, NULL, NULL, 0);
            if (!first_link && l > 0)
                first_link = ms;
            if (!full_links && o >= a.ov.out)
                full_links = ms;
            int have = 1;
            for (uint32_t p = 0; p < sim_world_posts (w) && have; p++)
                have = sim_world_hops (w, x, p) >= 0;
            if (!converged && have)
                converged = ms;
        }
        printf ("restart: node %u restarted with node 0 (its inviter) and %u others (40 %%) down: first link "
                "after %.2f s, %zu out links after %.2f s, all %u posts after %.2f s\n", x, n_down - 1,
                first_link? (double) (first_link - restart) / 1000: -1.0, a.ov.out,
                full_links? (double) (full_links - restart) / 1000: -1.0, sim_world_posts (w),
                converged? (double) (converged - restart) / 1000: -1.0);
        printf ("{\"figure\":\"restart\",\"down\":%u,\"first_link_s\":%.3f,\"out_links_s\":%.3f,"
                "\"converged_s\":%.3f}\n", n_down, first_link? (double) (first_link - restart) / 1000: -1.0,
                full_links? (double) (full_links - restart) / 1000: -1.0,
                converged? (double) (converged - restart) / 1000: -1.0);
        s_invariant ("the restarted node gets a link and every post", first_link && converged);
        (void) dfirst;
        for (uint32_t i = 0; i < n_down; i++)
            sim_world_start (w, down [i]);
        free (down);
        sim_world_run_until (w, sim_world_now (w) + 30000);
        s_link_figures (w, &a.ov, &lf);
        s_print_links ("restarted", &lf);
        s_invariant ("no node above the link bound after the restarts", lf.links_max <= lf.bound);

        /* (c) churn */
        if (a.churn) {
            churn_static = s_churn_static (w, &rng, 0.01);
            uint32_t alive = 0;
            for (uint32_t i = 0; i < a.nodes; i++)
                alive += sim_world_alive (w, i);
            uint32_t per = alive / 20, removed = 0;
            int cut_off = 0;
            for (;;) {
                if (removed + per >= alive)
                    break;
                for (uint32_t k = 0; k < per; k++) {
                    sim_world_stop (w, s_random_up (w, &rng));
                    removed++;
                }
                sim_world_run_until (w, sim_world_now (w) + 10000);
                uint32_t up;
                uint32_t c = s_connected (w, big, &up);
                if (c < up) {
                    cut_off = 1;
                    break;
                }
                churn_live = (double) removed / alive;
            }
            printf ("churn: nodes removed at random before the first remaining one is cut off from the largest "
                    "component: %.0f %% removed at once (1 %% steps, no repair); %s%.0f %% in 5 %% steps with 10 s "
                    "of repair after each\n", 100 * churn_static, cut_off? "": "none cut off up to ",
                    100 * churn_live);
            printf ("{\"figure\":\"churn\",\"static_pct\":%.1f,\"repaired_pct\":%.1f,\"repaired_cut_off\":%d}\n",
                    100 * churn_static, 100 * churn_live, cut_off);
        }
    }

    /* goals */
    char fig [160];
    snprintf (fig, sizeof fig, "(%.4f %% of connected members)", all? 100.0: 0.0);
    s_goal ("every post reaches 100 % of connected members", all, fig);
    snprintf (fig, sizeof fig, "(p99 %u)", h99);
    s_goal ("p99 hops <= 6", h99 <= 6, fig);
    snprintf (fig, sizeof fig, "(mean %.2f, p99 %.2f, max %.2f)", rmean, r99, rmax);
    s_goal ("bytes per post per node <= 1.5x copy + announcements", rmean <= 1.5, fig);
    s_link_figures (w, &a.ov, &lf);
    snprintf (fig, sizeof fig, "(bound %u = out + in_max + invitee_reserve)", lf.bound);
    s_goal ("no node's link count above a fixed bound", !s_failed, fig);
    if (!a.posts_only) {
        snprintf (fig, sizeof fig, "(%.3f s)", heal_s);
        s_goal ("a partition into halves heals <= 5 s after it ends", healed && heal_s <= 5.0, fig);
    }
    printf ("sim: %llu events, %llu messages delivered, %zu queued at most, simulated %.1f s\n",
            (unsigned long long) sim_world_events (w), (unsigned long long) sim_world_messages (w),
            sim_world_queue_peak (w), (double) sim_world_now (w) / 1000);
    fprintf (stderr, "hearth_sim: %u nodes: %.1f s CPU, max RSS %.1f MiB\n", a.nodes,
             (double) (clock () - wall0) / CLOCKS_PER_SEC, (double) s_rss_kib () / 1024);
    free (side);
    free (big);
    sim_world_destroy (&w);
    return a.check && s_failed? 1: 0;
}
