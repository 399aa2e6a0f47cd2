/*  market_semantic.c — fused market.search over the view and the embedding
    cache; see market_semantic.h.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hearth_error.h"
#include "market.h"
#include "market_fuse.h"
#include "market_geo.h"
#include "market_semantic.h"
#include "ulid.h"

/*  Copy an id (at most ULID_LEN bytes are kept). */
static void
s_copy_id (char dst [ULID_SIZE], const char *src)
{
    size_t n = strnlen (src, ULID_SIZE - 1);
    memcpy (dst, src, n);
    dst [n] = '\0';
}

/*  A semantic hit that still stands: the post exists, is active at now_ms
    and its text hashes to what was embedded. Otherwise the entry is
    dropped from the cache (invalid). */
static int
s_hit_current (market_view_t *view, const membership_t *members, const market_embed_hit_t *hit, uint64_t now_ms, market_post_t *post)
{
    if (market_view_get (view, hit->event_id, members, post) == HEARTH_OK
    &&  !market_view_is_expired (post, now_ms)
    &&  market_embed_text_hash (post->title, post->body) == hit->text_hash)
        return 1;
    return 0;
}

/*  1 if post is within the filter's circle (its distance set in it), or
    there is no filter. */
static int
s_near_holds (const market_geo_circle_t *circle, market_post_t *post)
{
    if (!circle)
        return 1;
    if (!post->has_location || !market_geo_point_ok (post->lat, post->lng))
        return 0;
    double chord2 = market_geo_circle_chord2 (circle, post->lat, post->lng);
    post->has_distance = 1;
    post->distance_km = market_geo_chord2_km (chord2);
    return market_geo_circle_holds (circle, chord2);
}

/*  Distance order of the final list: nearest first, equal distances in
    the ranking's order (a stable insertion sort of at most k entries). */
static void
s_sort_by_distance (json_t *posts)
{
    size_t n = json_array_size (posts);
    for (size_t i = 1; i < n; i++) {
        json_t *p = json_incref (json_array_get (posts, i));
        double d = json_number_value (json_object_get (p, "distance_km"));
        size_t j = i;
        while (j > 0 && json_number_value (json_object_get (json_array_get (posts, j - 1),
                                                            "distance_km")) > d) {
            json_array_set (posts, j, json_array_get (posts, j - 1));
            j--;
        }
        json_array_set_new (posts, j, p);
    }
}

int
market_semantic_search (market_view_t *view, const membership_t *members, const char *query,
                        size_t k, const market_semantic_t *semantic, uint64_t now_ms,
                        json_t **output)
{
    return market_semantic_search_near (view, members, query, k, NULL, semantic, now_ms, output);
}

int
market_semantic_search_near (market_view_t *view, const membership_t *members, const char *query,
                             size_t k, const market_near_t *near,
                             const market_semantic_t *semantic, uint64_t now_ms, json_t **output)
{
    *output = NULL;
    market_geo_circle_t circle_at, *circle = NULL;
    if (near) {
        if (market_geo_circle_init (&circle_at, near->lat, near->lng, near->radius_km))
            return HEARTH_EINVAL;
        circle = &circle_at;
    }
    if (k > MARKET_SEARCH_MAX_K)
        k = MARKET_SEARCH_MAX_K;
    /*  The lexical side: its whole candidate list when fusing, else k. */
    int fusing = semantic && semantic->cache && semantic->query && semantic->model;
    size_t lex_want = fusing? MARKET_FUSE_MAX_CANDIDATES: k;
    if (lex_want > MARKET_SEARCH_MAX_K)
        lex_want = MARKET_SEARCH_MAX_K;
    market_post_t lex [MARKET_SEARCH_MAX_K];
    double lex_scores [MARKET_SEARCH_MAX_K];
    int n_lex = market_view_search_near (view, query, lex_want, near, members, now_ms, lex,
                                         lex_scores);
    if (n_lex < 0)
        return n_lex;
    /*  Ids are copied out of the view's borrowed posts. */
    char lex_ids [MARKET_SEARCH_MAX_K][ULID_SIZE];
    const char *lex_ptr [MARKET_SEARCH_MAX_K];
    for (int i = 0; i < n_lex; i++) {
        s_copy_id (lex_ids [i], lex [i].event_id);
        lex_ptr [i] = lex_ids [i];
    }
    size_t n_sem = 0, n_scanned = 0, n_dropped = 0;
    market_embed_hit_t hits [MARKET_SEMANTIC_SCAN];
    char sem_ids [MARKET_FUSE_MAX_CANDIDATES][ULID_SIZE];
    const char *sem_ptr [MARKET_FUSE_MAX_CANDIDATES];
    if (fusing) {
        n_scanned = market_embed_cache_nearest (semantic->cache, semantic->model, semantic->query,
                                                semantic->dim, MARKET_SEMANTIC_SCAN, hits);
        /*  Ids are copied before any invalidation changes the cache. */
        char scanned [MARKET_SEMANTIC_SCAN][ULID_SIZE];
        for (size_t i = 0; i < n_scanned; i++)
            s_copy_id (scanned [i], hits [i].event_id);
        float best = n_scanned? hits [0].similarity: 0;
        for (size_t i = 0; i < n_scanned; i++) {
            hits [i].event_id = scanned [i];
            market_post_t post;
            if (!s_hit_current (view, members, &hits [i], now_ms, &post)) {
                market_embed_cache_invalidate (semantic->cache, scanned [i]);
                n_dropped++;
                continue;
            }
            if (!s_near_holds (circle, &post))
                continue;           /* outside the filter, or no location */
            int lexical = 0;
            for (int j = 0; j < n_lex && !lexical; j++)
                lexical = strcmp (lex_ids [j], scanned [i]) == 0;
            if (!lexical && !(hits [i].similarity > 0
                              && hits [i].similarity >= MARKET_SEMANTIC_RELATIVE_FLOOR * best))
                continue;
            if (n_sem < MARKET_FUSE_MAX_CANDIDATES) {
                s_copy_id (sem_ids [n_sem], scanned [i]);
                sem_ptr [n_sem] = sem_ids [n_sem];
                n_sem++;
            }
        }
    }
    json_t *posts = json_array ();
    json_t *meta = json_object ();
    if (!posts || !meta) {
        json_decref (posts);
        json_decref (meta);
        return HEARTH_ENOMEM;
    }
    int failed = 0;
    size_t n_out = 0;
    if (!fusing) {
        for (int i = 0; i < n_lex && (size_t) i < k; i++) {
            json_t *p = market_post_to_json (&lex [i]);   /* with distance_km if near */
            if (!p || json_object_set_new (p, "score", json_real (lex_scores [i]))
            ||  json_array_append_new (posts, p))
                failed = 1;
        }
        n_out = json_array_size (posts);
    }
    else {
        market_fuse_item_t fused [2 * MARKET_FUSE_MAX_CANDIDATES];
        size_t n = market_fuse_rrf (lex_ptr, (size_t) n_lex, sem_ptr, n_sem, fused);
        for (size_t i = 0; i < n && n_out < k; i++) {
            market_post_t post;
            if (market_view_get (view, fused [i].event_id, members, &post) != HEARTH_OK)
                continue;       /* cannot happen: both sides checked the post */
            s_near_holds (circle, &post);
            json_t *p = market_post_to_json (&post);
            if (!p || json_object_set_new (p, "score", json_real (fused [i].score))
            ||  json_array_append_new (posts, p)) {
                failed = 1;
                break;
            }
            n_out++;
        }
    }
    if (near && near->by_distance && !failed)
        s_sort_by_distance (posts);
    json_object_set_new (meta, "ranking", json_string (fusing? "fused": "lexical"));
    json_object_set_new (meta, "lexical_hits", json_integer (n_lex));
    json_object_set_new (meta, "semantic_hits", json_integer ((json_int_t) n_sem));
    if (n_dropped)
        json_object_set_new (meta, "semantic_dropped", json_integer ((json_int_t) n_dropped));
    if (semantic && json_is_object (semantic->meta))
        json_object_update_missing (meta, (json_t *) semantic->meta);
    *output = failed? NULL: json_pack ("{s:o, s:I, s:o}", "posts", posts, "max_lamport",
                                      (json_int_t) market_view_max_lamport (view), "meta", meta);
    if (failed) {
        json_decref (posts);
        json_decref (meta);
    }
    return *output? HEARTH_OK: HEARTH_ENOMEM;
}

typedef struct {
    market_embed_cache_t        *cache;
    const char                  *model;
    uint64_t                     now_ms;
    size_t                       visit_max, visited, called;
    market_semantic_missing_fn  *fn;
    void                        *arg;
} s_missing_t;

static int
s_missing_visit (void *arg, const market_post_t *post)
{
    s_missing_t *ctx = (s_missing_t *) arg;
    if (market_view_is_expired (post, ctx->now_ms))
        return 0;
    if (ctx->visited++ >= ctx->visit_max)
        return 1;
    uint64_t hash = market_embed_text_hash (post->title, post->body);
    if (market_embed_cache_has (ctx->cache, ctx->model, post->event_id, hash))
        return 0;
    ctx->called++;
    return ctx->fn (ctx->arg, post, hash);
}

size_t
market_semantic_missing (market_view_t *view, const membership_t *members,
                         market_embed_cache_t *cache, const char *model, uint64_t now_ms,
                         size_t visit_max, market_semantic_missing_fn *fn, void *arg)
{
    s_missing_t ctx = { cache, model, now_ms, visit_max, 0, 0, fn, arg };
    market_view_each_newest (view, members, s_missing_visit, &ctx);
    return ctx.called;
}
