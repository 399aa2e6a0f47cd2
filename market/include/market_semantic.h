/*  market_semantic.h — market.search with a semantic side: the lexical
    ranking of the view fused (market_fuse.h) with the cosine ranking of
    cached post embeddings (market_embed_cache.h) against the query's
    embedding (docs/market.md, "Semantic ranking"). Pure: the caller brings
    the query vector (node_embed.h gets it from an embed.text provider) and
    the time; no I/O.
*/
#ifndef HEARTH_MARKET_SEMANTIC_H
#define HEARTH_MARKET_SEMANTIC_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "market_embed_cache.h"
#include "market_view.h"
#include "membership.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  Semantic candidates scanned from the cache per search: more than are
    fused (MARKET_FUSE_MAX_CANDIDATES), so hits dropped as expired or stale
    leave enough. */
#define MARKET_SEMANTIC_SCAN 160

/*  A post found only by the semantic side joins the fused list only if its
    similarity is at least this share of the best similarity of the search:
    every cached post has some similarity to any query, and without a floor
    a search with few real hits would be padded with unrelated posts. */
#define MARKET_SEMANTIC_RELATIVE_FLOOR 0.8

/*  The semantic side of one search; every pointer borrowed for the call. */
typedef struct {
    market_embed_cache_t *cache;    /* NULL = lexical only */
    const char  *model;             /* the model of query */
    const float *query;             /* dim floats; NULL = lexical only */
    size_t       dim;
    const json_t *meta;             /* merged into the reply's "meta"; NULL = none */
} market_semantic_t;

/*  Run a validated market.search (market_search_input) among the posts
    active at now_ms: the lexical top MARKET_SEARCH_MAX_K; with a semantic
    side, fused with the nearest cached posts (an expired post or one whose
    text changed is dropped from the cache, counted as invalidated, never
    returned). *output: {posts (each + score), max_lamport, meta: {ranking:
    "fused"|"lexical", semantic_hits, lexical_hits, ...semantic->meta}}.
    score is the lexical score when ranked lexically, else the fused RRF
    score. 0 or HEARTH_ENOMEM. */
int market_semantic_search (market_view_t *view, const membership_t *members, const char *query,
                            size_t k, const market_semantic_t *semantic, uint64_t now_ms,
                            json_t **output);

/*  The same among the posts within near's circle (NULL = all; see
    market_near_t): both sides keep only posts within it, each post gets
    distance_km, and with near->by_distance the k best are returned
    nearest first (equal distances in ranking order). HEARTH_EINVAL if
    near is not a valid circle. */
int market_semantic_search_near (market_view_t *view, const membership_t *members,
                                 const char *query, size_t k, const market_near_t *near,
                                 const market_semantic_t *semantic, uint64_t now_ms,
                                 json_t **output);

/*  A post the semantic side lacks (borrowed for the call) and the hash of
    its text; non-zero stops the visit. */
typedef int (market_semantic_missing_fn) (void *arg, const market_post_t *post, uint64_t text_hash);

/*  Visit active posts newest first, at most visit_max of them (the cache's
    capacity: older posts would only evict newer ones), and call fn for each
    whose (model, id, text hash) is not cached, until fn returns non-zero.
    Returns the number of posts fn was called for. */
size_t market_semantic_missing (market_view_t *view, const membership_t *members,
                                market_embed_cache_t *cache, const char *model, uint64_t now_ms,
                                size_t visit_max, market_semantic_missing_fn *fn, void *arg);

#ifdef __cplusplus
}
#endif
#endif
