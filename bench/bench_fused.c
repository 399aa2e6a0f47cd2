/*  bench_fused.c — market.search latency, lexical against fused with cached
    post embeddings, in one process (scripts/bench.sh search-fused;
    docs/performance.md "Fused search").

        bench_fused [N] [--queries Q] [--dim D] [--url URL]

    Builds a view of N (default 100,000) active posts of synthetic text
    (a Zipf-distributed vocabulary of 5,000 words, titles of 3-6 words and
    bodies of 10-25), embeds every post with a deterministic in-process
    embedder (hashed bag of words, D = 384 dimensions like
    multilingual-e5-small) into a market_embed_cache of N entries, then
    times Q (default 500) queries of 1-2 words both ways, alternating:
      lexical: market_semantic_search without a semantic side (the
               baseline, same run);
      fused:   the same with the query's vector (computed before the
               timer: the query's embedding is excluded) and the cache.
    Prints p50/p99/max of each, their ratio, the cache's bytes per post,
    and the time to embed a query in process. With --url, also the round
    trip of one query through node_embed_http_call to that endpoint
    (scripts/bench.sh starts tests/embed_server.py for it), reported apart.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <curl/curl.h>
#include "hearth_bench.h"
#include "bench_fixture.h"
#include "identity.h"
#include "market_embed_cache.h"
#include "market_semantic.h"
#include "market_view.h"
#include "membership.h"
#include "node_embed_http.h"
#include "ulid.h"

#define S_WALL_MS UINT64_C (1780000000000)

static uint64_t s_rng = 42;

/*  The deterministic embedder: the sum of one dense pseudo-random vector
    per word (seeded by the word's hash), like a real model's dense output:
    texts sharing words are close, others nearly orthogonal, no exact ties. */
static void
s_embed (const char *text, float *v, size_t dim)
{
    memset (v, 0, dim * sizeof *v);
    const char *p = text;
    while (*p) {
        while (*p == ' ')
            p++;
        uint64_t h = 1469598103934665603ULL;
        const char *start = p;
        while (*p && *p != ' ')
            h = (h ^ (uint8_t) *p++) * 1099511628211ULL;
        if (p == start)
            continue;
        for (size_t i = 0; i < dim; i++)
            v [i] += (float) ((int64_t) (hb_splitmix64 (&h) >> 40) - (1 << 23)) / (float) (1 << 23);
    }
}

static int
s_cmp_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y? -1: x > y;
}

static void
s_report (const char *name, double *ms, size_t n)
{
    qsort (ms, n, sizeof *ms, s_cmp_double);
    printf ("  %-28s p50 %8.3f ms   p99 %8.3f ms   max %8.3f ms\n", name, ms [n / 2],
            ms [(size_t) ((double) n * 0.99)], ms [n - 1]);
}

int
main (int argc, char **argv)
{
    size_t n = argc > 1 && argv [1][0] != '-'? strtoull (argv [1], NULL, 10): 100000;
    size_t queries = 500, dim = 384;
    const char *url = NULL;
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp (argv [i], "--queries") == 0) queries = strtoull (argv [i + 1], NULL, 10);
        if (strcmp (argv [i], "--dim") == 0) dim = strtoull (argv [i + 1], NULL, 10);
        if (strcmp (argv [i], "--url") == 0) url = argv [i + 1];
    }
    if (sodium_init () < 0 || n < 1 || queries < 1 || dim < 2 || dim > MARKET_EMBED_MAX_DIM)
        return 2;
    bench_fixture_vocab_make ();
    uint8_t seed [32] = { 1 };
    identity_t *root = identity_from_seed (seed);
    const uint8_t *community = identity_public_key (root);
    market_view_t *view = market_view_new ();
    market_embed_cache_t *cache = market_embed_cache_new (n);
    float *vec = (float *) malloc (dim * sizeof (float));
    if (!root || !view || !cache || !vec)
        return 1;

    printf ("bench_fused: %zu posts, %zu queries, %zu dims\n", n, queries, dim);
    double t0 = hb_now_s ();
    double embed_s = 0;
    char title [160], body [600], both [800];
    for (size_t i = 0; i < n; i++) {
        bench_fixture_text (&s_rng, title, sizeof title, 3, 6);
        bench_fixture_text (&s_rng, body, sizeof body, 10, 25);
        char id [ULID_SIZE];
        bench_fixture_ulid (i, S_WALL_MS - 1000, id);
        Hearth__MarketPostCreated p = HEARTH__MARKET_POST_CREATED__INIT;
        p.category = HEARTH__CATEGORY__CATEGORY_OFFER;
        p.title = title;
        p.body = body;
        p.ttl_seconds = 86400;
        int err = 0;
        event_t *ev = bench_fixture_post_sign (&p, id, i + 2, S_WALL_MS - 1000, community, root, &err);
        if (!ev || market_view_apply (view, ev) != 0)
            return 1;
        event_destroy (&ev);
        snprintf (both, sizeof both, "%s %s", title, body);
        double e0 = hb_now_s ();
        s_embed (both, vec, dim);
        embed_s += hb_now_s () - e0;
        if (market_embed_cache_put (cache, "bench", id, market_embed_text_hash (title, body), vec,
                                    dim) != 0)
            return 1;
    }
    printf ("  view + cache built in %.1f s (in-process embedding of all posts: %.1f s)\n",
            hb_now_s () - t0, embed_s);
    market_embed_cache_stats_t st;
    market_embed_cache_stats (cache, &st);
    printf ("  cache: %zu entries, %.0f bytes per post (int8 vectors + slot + id map)\n",
            st.entries, (double) st.bytes / (double) st.entries);

    /*  The first search builds the lexical index: not timed. */
    json_t *out = NULL;
    double b0 = hb_now_s ();
    market_semantic_search (view, NULL, "warm", 10, NULL, S_WALL_MS, &out);
    json_decref (out);
    printf ("  first search (lexical index build): %.2f s\n", hb_now_s () - b0);

    double *lex = (double *) malloc (queries * sizeof (double));
    double *fused = (double *) malloc (queries * sizeof (double));
    double *qemb = (double *) malloc (queries * sizeof (double));
    double *lex_cpu = (double *) malloc (queries * sizeof (double));
    double *fused_cpu = (double *) malloc (queries * sizeof (double));
    size_t fused_semantic = 0;
    for (size_t q = 0; q < queries; q++) {
        char query [64];
        if (hb_splitmix64 (&s_rng) % 2)
            snprintf (query, sizeof query, "%s", bench_fixture_word (bench_fixture_zipf (&s_rng)));
        else
            snprintf (query, sizeof query, "%s %s", bench_fixture_word (bench_fixture_zipf (&s_rng)), bench_fixture_word (bench_fixture_zipf (&s_rng)));
        double e0 = hb_now_s ();
        s_embed (query, vec, dim);
        qemb [q] = (hb_now_s () - e0) * 1000;
        market_semantic_t sem = { cache, "bench", vec, dim, NULL };
        double s0 = hb_now_s (), c0 = hb_clock_s (CLOCK_THREAD_CPUTIME_ID);
        if (market_semantic_search (view, NULL, query, 10, NULL, S_WALL_MS, &out) != 0)
            return 1;
        lex [q] = (hb_now_s () - s0) * 1000;
        lex_cpu [q] = (hb_clock_s (CLOCK_THREAD_CPUTIME_ID) - c0) * 1000;
        json_decref (out);
        s0 = hb_now_s ();
        c0 = hb_clock_s (CLOCK_THREAD_CPUTIME_ID);
        if (market_semantic_search (view, NULL, query, 10, &sem, S_WALL_MS, &out) != 0)
            return 1;
        fused [q] = (hb_now_s () - s0) * 1000;
        fused_cpu [q] = (hb_clock_s (CLOCK_THREAD_CPUTIME_ID) - c0) * 1000;
        fused_semantic += (size_t) json_integer_value (json_object_get (json_object_get (out, "meta"),
                                                                        "semantic_hits"));
        json_decref (out);
    }
    double lex_p99, fused_p99;
    printf ("  latency per search (query embedding excluded), wall clock:\n");
    s_report ("lexical (baseline)", lex, queries);
    lex_p99 = lex [(size_t) ((double) queries * 0.99)];
    s_report ("fused (RRF, cached posts)", fused, queries);
    fused_p99 = fused [(size_t) ((double) queries * 0.99)];
    printf ("  fused / lexical p99: %.2f; semantic candidates per search: %.1f\n",
            fused_p99 / lex_p99, (double) fused_semantic / (double) queries);
    printf ("  the same, CPU time of the searching thread (robust to a loaded machine):\n");
    s_report ("lexical (baseline)", lex_cpu, queries);
    s_report ("fused (RRF, cached posts)", fused_cpu, queries);
    printf ("  fused / lexical p99 (CPU): %.2f\n", fused_cpu [(size_t) ((double) queries * 0.99)]
            / lex_cpu [(size_t) ((double) queries * 0.99)]);
    s_report ("query embedding, in process", qemb, queries);
    if (url) {
        curl_global_init (CURL_GLOBAL_DEFAULT);
        CURL *curl = curl_easy_init ();
        size_t m = queries < 200? queries: 200;
        for (size_t q = 0; q < m; q++) {
            const char *text = bench_fixture_word (bench_fixture_zipf (&s_rng));
            float *v = NULL;
            size_t d = 0;
            node_embed_fail_t kind;
            char *message = NULL;
            double e0 = hb_now_s ();
            int rc = node_embed_http_call (curl, url, "bench", &text, 1, 0, 2000, NULL, &v, &d,
                                           &kind, &message);
            qemb [q] = (hb_now_s () - e0) * 1000;
            if (rc != 0) {
                fprintf (stderr, "bench_fused: %s: %s\n", url, message? message: "failed");
                return 1;
            }
            free (v);
            free (message);
        }
        s_report ("query embedding over HTTP", qemb, m);
        printf ("    (%s: the plumbing's round trip, not a model's inference time)\n", url);
        curl_easy_cleanup (curl);
        curl_global_cleanup ();
    }
    free (lex);
    free (fused);
    free (qemb);
    free (lex_cpu);
    free (fused_cpu);
    free (vec);
    market_embed_cache_destroy (&cache);
    market_view_destroy (&view);
    identity_destroy (&root);
    return 0;
}
