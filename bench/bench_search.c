/*  bench_search.c — relevance and speed of market.search's lexical ranking
    (docs/performance.md "Search"; scripts/bench.sh search).

    bench_search --set DIR [--scale N[,N...]] [--floor-ndcg X] [--floor-recall Y]
                 [--no-dict] [--cache FILE] [--verbose]

    Relevance: indexes DIR/posts.txt (topic | lang | title | body), runs
    DIR/queries.txt (class | query | topic:grade ...), and prints per query
    class nDCG@10 (gain 2^grade - 1), recall@10 (relevant posts in the top
    10 over min(relevant, 10)) and MRR (first post of grade >= 1), then the
    overall means. With --floor-* it exits 1 if the overall figure is
    below the floor (the ctest search_relevance).

    Speed (--scale): for each N, an index of N posts (the set's posts plus
    synthetic ones drawn from the Debian German and English word lists with
    a Zipf distribution, a third of their words from the set's vocabulary
    ranked by its frequency in the set),
    its build time and bytes per post, and the latency of every query of
    the set (5 rounds) as p50/p99 per class.

    Built against the current tree it uses the lexicon (Debian dictionaries,
    compiled to --cache) and the default community synonyms; built with
    -DBENCH_SEARCH_BASELINE against another tree's library (scripts/bench.sh
    builds main's) it measures that tree's search with the same data.
*/
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "hearth_bench.h"
#include "market_search.h"
#ifndef BENCH_SEARCH_BASELINE
#include "market.h"
#include "market_lexicon.h"
#include "market_stem.h"
#include "market_synonyms.h"
#endif

#define S_MAX_POSTS    1024
#define S_MAX_QUERIES  512
#define S_MAX_GRADES   16
#define S_MAX_CLASSES  16
#define S_K            10
#define S_ROUNDS       5

typedef struct {
    char topic [64], title [256], body [1024];
    int  en;
} s_post_t;

typedef struct {
    char cls [32], text [256];
    char topics [S_MAX_GRADES][64];
    int  grades [S_MAX_GRADES];
    int  n_grades;
} s_query_t;

static s_post_t  s_posts [S_MAX_POSTS];
static size_t    s_n_posts;
static s_query_t s_queries [S_MAX_QUERIES];
static size_t    s_n_queries;

static char *
s_trim (char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen (s);
    while (n > 0 && (s [n - 1] == ' ' || s [n - 1] == '\n' || s [n - 1] == '\r'))
        s [--n] = 0;
    return s;
}

/*  Split line at " | " into at most max fields; returns the count. */
static size_t
s_fields (char *line, char **fields, size_t max)
{
    size_t n = 0;
    char *p = line;
    while (n < max) {
        char *sep = strstr (p, " | ");
        fields [n++] = s_trim (p);
        if (!sep)
            break;
        *sep = 0;
        p = sep + 3;
    }
    return n;
}

static int
s_load (const char *dir)
{
    char path [1024], line [2048];
    snprintf (path, sizeof path, "%s/posts.txt", dir);
    FILE *f = fopen (path, "r");
    if (!f) {
        fprintf (stderr, "bench_search: cannot open %s\n", path);
        return -1;
    }
    while (fgets (line, sizeof line, f) && s_n_posts < S_MAX_POSTS) {
        char *fields [4];
        if (line [0] == '#' || s_fields (line, fields, 4) != 4)
            continue;
        s_post_t *p = &s_posts [s_n_posts++];
        snprintf (p->topic, sizeof p->topic, "%s", fields [0]);
        p->en = strcmp (fields [1], "en") == 0;
        snprintf (p->title, sizeof p->title, "%s", fields [2]);
        snprintf (p->body, sizeof p->body, "%s", fields [3]);
    }
    fclose (f);
    snprintf (path, sizeof path, "%s/queries.txt", dir);
    f = fopen (path, "r");
    if (!f) {
        fprintf (stderr, "bench_search: cannot open %s\n", path);
        return -1;
    }
    while (fgets (line, sizeof line, f) && s_n_queries < S_MAX_QUERIES) {
        char *fields [3];
        if (line [0] == '#' || s_fields (line, fields, 3) != 3)
            continue;
        s_query_t *q = &s_queries [s_n_queries++];
        memset (q, 0, sizeof *q);
        snprintf (q->cls, sizeof q->cls, "%s", fields [0]);
        snprintf (q->text, sizeof q->text, "%s", fields [1]);
        for (char *tok = strtok (fields [2], " "); tok && q->n_grades < S_MAX_GRADES; tok = strtok (NULL, " ")) {
            char *colon = strchr (tok, ':');
            if (!colon)
                continue;
            *colon = 0;
            snprintf (q->topics [q->n_grades], sizeof q->topics [0], "%s", tok);
            q->grades [q->n_grades++] = atoi (colon + 1);
        }
    }
    fclose (f);
    return 0;
}

static int
s_grade (const s_query_t *q, const char *topic)
{
    for (int i = 0; i < q->n_grades; i++)
        if (strcmp (q->topics [i], topic) == 0)
            return q->grades [i];
    return 0;
}

/*  The set's posts have ids "R%04u": index of s_posts. */
static size_t
s_post_of (const char *id)
{
    if (id [0] != 'R')
        return SIZE_MAX;
    return (size_t) strtoul (id + 1, NULL, 10);
}

typedef struct {
    char   name [32];
    size_t n;
    double ndcg, recall, mrr;
    double *lat, *cpu;          /* ms (wall, thread CPU), n * rounds */
    size_t n_lat;
} s_class_t;

static s_class_t s_classes [S_MAX_CLASSES + 1];
static size_t    s_n_classes;

static s_class_t *
s_class (const char *name)
{
    for (size_t i = 0; i < s_n_classes; i++)
        if (strcmp (s_classes [i].name, name) == 0)
            return &s_classes [i];
    if (s_n_classes == S_MAX_CLASSES)
        return &s_classes [S_MAX_CLASSES];
    s_class_t *c = &s_classes [s_n_classes++];
    memset (c, 0, sizeof *c);
    snprintf (c->name, sizeof c->name, "%s", name);
    return c;
}

static int
s_cmp_int_desc (const void *a, const void *b)
{
    return *(const int *) b - *(const int *) a;
}

static int
s_cmp_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y? -1: x > y;
}

/*  Relevance of one query's hits. */
static void
s_judge (const s_query_t *q, const market_search_hit_t *hits, size_t n, double *ndcg, double *recall,
         double *mrr, int verbose)
{
    int ideal [S_MAX_POSTS];
    size_t n_rel = 0;
    for (size_t i = 0; i < s_n_posts; i++) {
        ideal [i] = s_grade (q, s_posts [i].topic);
        n_rel += ideal [i] > 0;
    }
    qsort (ideal, s_n_posts, sizeof ideal [0], s_cmp_int_desc);
    double dcg = 0, idcg = 0;
    size_t found = 0;
    *mrr = 0;
    for (size_t i = 0; i < S_K && i < s_n_posts; i++)
        idcg += (pow (2, ideal [i]) - 1) / log2 ((double) i + 2);
    for (size_t i = 0; i < n && i < S_K; i++) {
        size_t p = s_post_of (hits [i].doc_id);
        int g = p < s_n_posts? s_grade (q, s_posts [p].topic): 0;
        dcg += (pow (2, g) - 1) / log2 ((double) i + 2);
        if (g > 0) {
            found++;
            if (*mrr == 0)
                *mrr = 1.0 / (double) (i + 1);
        }
    }
    *ndcg = idcg > 0? dcg / idcg: 1;
    *recall = n_rel? (double) found / (double) (n_rel < S_K? n_rel: S_K): 1;
    if (verbose && *ndcg < 0.85) {
        printf ("  [%s] %-34s nDCG %.2f recall %.2f:", q->cls, q->text, *ndcg, *recall);
        for (size_t i = 0; i < n && i < 6; i++) {
            size_t p = s_post_of (hits [i].doc_id);
            printf (" %s%s(%.2f)", p < s_n_posts && s_grade (q, s_posts [p].topic)? "+": "-",
                    p < s_n_posts? s_posts [p].title: hits [i].doc_id, hits [i].score);
        }
        printf ("\n");
    }
}

/* ---- the index under test ----------------------------------------------- */

#ifndef BENCH_SEARCH_BASELINE
static market_lexicon_t  *s_lexicon;
static market_synonyms_t *s_synonyms;
#endif

static market_search_t *
s_index_new (void)
{
    market_search_t *index = market_search_new ();
#ifndef BENCH_SEARCH_BASELINE
    market_search_set_lexicon (index, s_lexicon);
    market_search_set_synonyms (index, s_synonyms);
#endif
    return index;
}

static void
s_put_set (market_search_t *index)
{
    for (size_t i = 0; i < s_n_posts; i++) {
        char id [24];
        snprintf (id, sizeof id, "R%04zu", i);
        market_search_put (index, id, s_posts [i].title, s_posts [i].body, NULL, 0);
    }
}

/* ---- synthetic posts ----------------------------------------------------- */

typedef struct {
    char  **words;
    size_t  n, cap;
} s_vocab_t;

static void
s_vocab_add (s_vocab_t *v, const char *w)
{
    if (v->n == v->cap) {
        v->cap = v->cap? v->cap * 2: 1024;
        v->words = (char **) realloc (v->words, v->cap * sizeof (char *));
    }
    v->words [v->n++] = strdup (w);
}

/*  Words of a word list (hunspell .dic: "word/FLAGS"; MyThes: "word|n"),
    one-word entries only, every `step`-th. */
static void
s_vocab_file (s_vocab_t *v, const char *path, char sep, size_t step, size_t max)
{
    FILE *f = fopen (path, "r");
    if (!f)
        return;
    char line [4096];
    size_t i = 0, taken = 0;
    while (fgets (line, sizeof line, f) && taken < max) {
        char *end = strchr (line, sep);
        if (!end || line [0] == '(' || line [0] == '-' || line [0] == '\t')
            continue;
        *end = 0;
        if (strchr (line, ' ') || strlen (line) < 3 || (line [0] >= '0' && line [0] <= '9'))
            continue;
        if (i++ % step == 0) {
            s_vocab_add (v, line);
            taken++;
        }
    }
    fclose (f);
}

static s_vocab_t *s_rank_vocab;
static size_t *s_rank_count;

static uint64_t
s_word_hash (const char *w)
{
    uint64_t h = 1469598103934665603ull;
    for (; *w; w++)
        h = (h ^ (unsigned char) *w) * 1099511628211ull;
    return h;
}

static int
s_cmp_rank (const void *a, const void *b)
{
    size_t x = *(const size_t *) a, y = *(const size_t *) b;
    if (s_rank_count [x] != s_rank_count [y])
        return s_rank_count [x] > s_rank_count [y]? -1: 1;
    uint64_t hx = s_word_hash (s_rank_vocab->words [x]), hy = s_word_hash (s_rank_vocab->words [y]);
    return hx < hy? -1: hx > hy;
}

static int
s_cmp_word (const void *a, const void *b)
{
    return strcmp (*(char *const *) a, *(char *const *) b);
}

/*  Distinct words of v, most frequent first (ties in a fixed pseudo-random
    order). */
static void
s_vocab_rank (s_vocab_t *v)
{
    qsort (v->words, v->n, sizeof (char *), s_cmp_word);
    size_t n = 0;
    size_t *count = (size_t *) calloc (v->n + 1, sizeof (size_t));
    for (size_t i = 0; i < v->n; i++) {
        if (n > 0 && strcmp (v->words [n - 1], v->words [i]) == 0) {
            count [n - 1]++;
            free (v->words [i]);
            continue;
        }
        v->words [n] = v->words [i];
        count [n++] = 1;
    }
    v->n = n;
    size_t *order = (size_t *) malloc ((n + 1) * sizeof (size_t));
    for (size_t i = 0; i < n; i++)
        order [i] = i;
    s_rank_vocab = v;
    s_rank_count = count;
    qsort (order, n, sizeof (size_t), s_cmp_rank);
    char **ranked = (char **) malloc ((n + 1) * sizeof (char *));
    for (size_t i = 0; i < n; i++)
        ranked [i] = v->words [order [i]];
    free (v->words);
    v->words = ranked;
    v->cap = n + 1;
    free (order);
    free (count);
}

/*  Zipf rank in [0, n): inverse of a continuous 1/r law. */
static size_t
s_zipf (uint64_t *rng, size_t n)
{
    double u = (double) (hb_splitmix64 (rng) >> 11) / 9007199254740992.0;
    double r = exp (u * log ((double) n + 1)) - 1;
    size_t k = (size_t) r;
    return k < n? k: n - 1;
}

static void
s_synth_text (uint64_t *rng, const s_vocab_t *lang, const s_vocab_t *domain, size_t words, char *out,
              size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < words; i++) {
        const s_vocab_t *v = (hb_splitmix64 (rng) % 3 == 0 && domain->n)? domain: lang;
        const char *w = v->words [s_zipf (rng, v->n)];
        size_t len = strlen (w);
        if (o + len + 2 >= cap)
            break;
        if (o)
            out [o++] = ' ';
        memcpy (out + o, w, len);
        o += len;
    }
    out [o] = 0;
}

static double
s_percentile (double *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    qsort (v, n, sizeof v [0], s_cmp_double);
    size_t i = (size_t) ceil (p * (double) n) - 1;
    return v [i < n? i: n - 1];
}

static int s_verbose;

static void
s_scale (size_t n_posts, const s_vocab_t *de, const s_vocab_t *en, const s_vocab_t *domain)
{
    uint64_t rng = 42;
    uint64_t kib0 = hb_status_kib ("VmRSS:");
    double t0 = hb_now_s (), c0 = hb_clock_s (CLOCK_PROCESS_CPUTIME_ID);
    market_search_t *index = s_index_new ();
    s_put_set (index);
    char id [24], title [256], body [1024];
    for (size_t i = s_n_posts; i < n_posts; i++) {
        const s_vocab_t *lang = hb_splitmix64 (&rng) % 5 < 3? de: en;
        s_synth_text (&rng, lang, domain, 3 + hb_splitmix64 (&rng) % 4, title, sizeof title);
        s_synth_text (&rng, lang, domain, 8 + hb_splitmix64 (&rng) % 20, body, sizeof body);
        snprintf (id, sizeof id, "S%09zu", i);
        market_search_put (index, id, title, body, NULL, 0);
    }
    market_search_hit_t hits [S_K];
    //  The first query pays for the scratch arrays: part of the build
    market_search_query (index, "x", 1, NULL, NULL, hits);
    double build = hb_now_s () - t0, build_cpu = hb_clock_s (CLOCK_PROCESS_CPUTIME_ID) - c0;
    uint64_t kib1 = hb_status_kib ("VmRSS:");
    for (size_t c = 0; c < s_n_classes; c++) {
        free (s_classes [c].lat);
        free (s_classes [c].cpu);
        s_classes [c].lat = (double *) calloc (s_classes [c].n * S_ROUNDS + 1, sizeof (double));
        s_classes [c].cpu = (double *) calloc (s_classes [c].n * S_ROUNDS + 1, sizeof (double));
        s_classes [c].n_lat = 0;
    }
    double *all = (double *) calloc (s_n_queries * S_ROUNDS + 1, sizeof (double));
    double *all_cpu = (double *) calloc (s_n_queries * S_ROUNDS + 1, sizeof (double));
    size_t n_all = 0;
    for (int r = 0; r < S_ROUNDS; r++)
        for (size_t i = 0; i < s_n_queries; i++) {
            double q0 = hb_now_s (), qc = hb_clock_s (CLOCK_THREAD_CPUTIME_ID);
            market_search_query (index, s_queries [i].text, S_K, NULL, NULL, hits);
            double ms = (hb_now_s () - q0) * 1000.0, cpu = (hb_clock_s (CLOCK_THREAD_CPUTIME_ID) - qc) * 1000.0;
            s_class_t *c = s_class (s_queries [i].cls);
            if (s_verbose && r == 0 && cpu > 5.0)
                printf ("  slow: %-34s %.2f ms CPU\n", s_queries [i].text, cpu);
            c->cpu [c->n_lat] = cpu;
            c->lat [c->n_lat++] = ms;
            all_cpu [n_all] = cpu;
            all [n_all++] = ms;
        }
    printf ("\n%zu posts: index build %.2f s wall, %.2f s CPU (%.1f µs CPU/post), RSS +%.0f MiB (%.0f B/post)",
            n_posts, build, build_cpu, build_cpu * 1e6 / (double) n_posts, (double) (kib1 - kib0) / 1024.0,
            (double) (kib1 - kib0) * 1024.0 / (double) n_posts);
#ifndef BENCH_SEARCH_BASELINE
    printf (", index %.0f B/post", (double) market_search_bytes (index) / (double) n_posts);
#endif
    printf ("\n%-10s %9s %9s %12s %12s\n", "class", "p50 ms", "p99 ms", "p50 CPU ms", "p99 CPU ms");
    for (size_t c = 0; c < s_n_classes; c++)
        printf ("%-10s %9.2f %9.2f %12.2f %12.2f\n", s_classes [c].name,
                s_percentile (s_classes [c].lat, s_classes [c].n_lat, 0.5),
                s_percentile (s_classes [c].lat, s_classes [c].n_lat, 0.99),
                s_percentile (s_classes [c].cpu, s_classes [c].n_lat, 0.5),
                s_percentile (s_classes [c].cpu, s_classes [c].n_lat, 0.99));
    printf ("%-10s %9.2f %9.2f %12.2f %12.2f\n", "all", s_percentile (all, n_all, 0.5), s_percentile (all, n_all, 0.99),
            s_percentile (all_cpu, n_all, 0.5), s_percentile (all_cpu, n_all, 0.99));
    free (all);
    free (all_cpu);
    market_search_destroy (&index);
}

int
main (int argc, char **argv)
{
    const char *set = "tests/search", *scales = NULL, *cache = NULL;
    double floor_ndcg = -1, floor_recall = -1;
    int verbose = 0, no_dict = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp (argv [i], "--set") == 0 && i + 1 < argc)
            set = argv [++i];
        else if (strcmp (argv [i], "--scale") == 0 && i + 1 < argc)
            scales = argv [++i];
        else if (strcmp (argv [i], "--cache") == 0 && i + 1 < argc)
            cache = argv [++i];
        else if (strcmp (argv [i], "--floor-ndcg") == 0 && i + 1 < argc)
            floor_ndcg = atof (argv [++i]);
        else if (strcmp (argv [i], "--floor-recall") == 0 && i + 1 < argc)
            floor_recall = atof (argv [++i]);
        else if (strcmp (argv [i], "--verbose") == 0)
            verbose = s_verbose = 1;
        else if (strcmp (argv [i], "--no-dict") == 0)
            no_dict = 1;
        else {
            fprintf (stderr, "usage: bench_search --set DIR [--scale N,...] [--floor-ndcg X] "
                             "[--floor-recall Y] [--cache FILE] [--no-dict] [--verbose]\n");
            return 2;
        }
    }
    if (s_load (set))
        return 2;
    size_t n_de = 0;
    for (size_t i = 0; i < s_n_posts; i++)
        n_de += !s_posts [i].en;
#ifdef BENCH_SEARCH_BASELINE
    (void) no_dict;
    (void) cache;
    printf ("search: baseline build (no dictionaries)\n");
#else
    if (!no_dict) {
        market_lexicon_paths_t paths = { MARKET_DICT_TRANSLATIONS, MARKET_DICT_SYNONYMS_DE,
                                         MARKET_DICT_SYNONYMS_EN, MARKET_DICT_WORDS_DE };
        uint64_t kib0 = hb_status_kib ("VmRSS:");
        double c0 = hb_clock_s (CLOCK_PROCESS_CPUTIME_ID);
        s_lexicon = market_lexicon_open (&paths, cache);
        market_lexicon_stats_t st;
        market_lexicon_stats (s_lexicon, &st);
        if (st.compiled) {
            printf ("dictionaries compiled in %.2f s wall, %.2f s CPU, peak RSS %.0f MiB\n", st.open_seconds,
                    hb_clock_s (CLOCK_PROCESS_CPUTIME_ID) - c0, (double) hb_status_kib ("VmHWM:") / 1024.0);
            market_lexicon_destroy (&s_lexicon);
            kib0 = hb_status_kib ("VmRSS:");
            c0 = hb_clock_s (CLOCK_PROCESS_CPUTIME_ID);
            s_lexicon = market_lexicon_open (&paths, cache);
            market_lexicon_stats (s_lexicon, &st);
        }
        //  Touch every page, as a node does over time, for the resident figure
        size_t sum = 0;
        for (size_t k = 0; k < st.n_words; k += 97)
            sum += market_lexicon_known (s_lexicon, "x", 1);
        (void) sum;
        market_stem_t *stem = market_stem_new ();
        size_t bad = 0;
        s_synonyms = market_synonyms_parse (market_synonyms_default, strlen (market_synonyms_default), stem, &bad);
        market_stem_destroy (&stem);
        printf ("dictionaries %s in %.3f s wall, %.3f s CPU: %.1f MiB (%zu keys, %zu targets, %zu words; sources %d%d%d%d); "
                "RSS +%.1f MiB; synonyms %zu rules, %.1f KiB, %zu bad lines\n",
                st.compiled? "compiled": "mapped", st.open_seconds, hb_clock_s (CLOCK_PROCESS_CPUTIME_ID) - c0,
                (double) st.bytes / 1048576.0,
                st.n_keys, st.n_targets, st.n_words, st.loaded [0], st.loaded [1], st.loaded [2], st.loaded [3],
                (double) (hb_status_kib ("VmRSS:") - kib0) / 1024.0,
                s_synonyms? market_synonyms_rules (s_synonyms): 0,
                s_synonyms? (double) market_synonyms_bytes (s_synonyms) / 1024.0: 0, bad);
    }
    else
        printf ("search: without dictionaries (--no-dict)\n");
#endif
    printf ("relevance set %s: %zu posts (%zu German, %zu English), %zu queries\n", set, s_n_posts, n_de,
            s_n_posts - n_de, s_n_queries);

    //  Relevance
    market_search_t *index = s_index_new ();
    s_put_set (index);
    double sum_ndcg = 0, sum_recall = 0, sum_mrr = 0;
    for (size_t i = 0; i < s_n_queries; i++) {
        market_search_hit_t hits [S_K];
        size_t n = market_search_query (index, s_queries [i].text, S_K, NULL, NULL, hits);
        double ndcg, recall, mrr;
        s_judge (&s_queries [i], hits, n, &ndcg, &recall, &mrr, verbose);
        s_class_t *c = s_class (s_queries [i].cls);
        c->n++;
        c->ndcg += ndcg;
        c->recall += recall;
        c->mrr += mrr;
        sum_ndcg += ndcg;
        sum_recall += recall;
        sum_mrr += mrr;
    }
    market_search_destroy (&index);
    printf ("%-10s %4s %8s %10s %6s\n", "class", "n", "nDCG@10", "recall@10", "MRR");
    for (size_t c = 0; c < s_n_classes; c++) {
        s_class_t *k = &s_classes [c];
        printf ("%-10s %4zu %8.3f %10.3f %6.3f\n", k->name, k->n, k->ndcg / (double) k->n,
                k->recall / (double) k->n, k->mrr / (double) k->n);
    }
    double n = (double) s_n_queries;
    printf ("%-10s %4zu %8.3f %10.3f %6.3f\n", "overall", s_n_queries, sum_ndcg / n, sum_recall / n, sum_mrr / n);

    //  Speed
    if (scales) {
        s_vocab_t de = { 0 }, en = { 0 }, domain = { 0 };
        s_vocab_file (&de, "/usr/share/hunspell/de_DE.dic", '/', 3, 25000);
        s_vocab_file (&en, "/usr/share/mythes/th_en_US_v2.dat", '|', 9, 15000);
        //  The set's words, most frequent first (function words, "gesucht",
        //  "verleihen" ...; each item word is rare), so the Zipf draw gives
        //  them a street's frequencies, not the order of posts.txt
        for (size_t i = 0; i < s_n_posts; i++) {
            char text [1400];
            snprintf (text, sizeof text, "%s %s", s_posts [i].title, s_posts [i].body);
            for (char *w = strtok (text, " ,.?!:;()"); w; w = strtok (NULL, " ,.?!:;()"))
                s_vocab_add (&domain, w);
        }
        s_vocab_rank (&domain);
        if (de.n == 0)
            s_vocab_add (&de, "wort");
        if (en.n == 0)
            s_vocab_add (&en, "word");
        printf ("synthetic vocabulary: %zu German, %zu English, %zu domain words\n", de.n, en.n, domain.n);
        for (const char *p = scales; p && *p; ) {
            size_t count = (size_t) strtoull (p, NULL, 10);
            if (count > s_n_posts)
                s_scale (count, &de, &en, &domain);
            p = strchr (p, ',');
            if (p)
                p++;
        }
    }
#ifndef BENCH_SEARCH_BASELINE
    market_synonyms_destroy (&s_synonyms);
    market_lexicon_destroy (&s_lexicon);
#endif
    int fail = 0;
    if (floor_ndcg >= 0 && sum_ndcg / n < floor_ndcg) {
        fprintf (stderr, "bench_search: overall nDCG@10 %.3f is below the floor %.3f\n", sum_ndcg / n, floor_ndcg);
        fail = 1;
    }
    if (floor_recall >= 0 && sum_recall / n < floor_recall) {
        fprintf (stderr, "bench_search: overall recall@10 %.3f is below the floor %.3f\n", sum_recall / n, floor_recall);
        fail = 1;
    }
    return fail;
}
