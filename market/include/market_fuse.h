/*  market_fuse.h — reciprocal rank fusion of the lexical and the semantic
    ranking of market.search (docs/market.md, "Semantic ranking"). Pure.

    score(post) = 1 / (MARKET_FUSE_RRF_K + lexical rank)        if ranked lexically
                + 1 / (MARKET_FUSE_RRF_K + semantic rank)       if ranked semantically
    (ranks from 1). Every post of the lexical list stays in the fused list,
    so fusion only reorders what the lexical side found and adds what the
    semantic side found; ties go to the better lexical rank, then the
    larger event id, so the order is deterministic.
*/
#ifndef HEARTH_MARKET_FUSE_H
#define HEARTH_MARKET_FUSE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*  The RRF constant of the original paper (Cormack et al., 2009): large
    enough that rank 1 and rank 2 of one list weigh nearly alike, so the
    other list decides between them. */
#define MARKET_FUSE_RRF_K          60
/*  Candidates taken from each side at most. */
#define MARKET_FUSE_MAX_CANDIDATES 100

typedef struct {
    const char *event_id;       /* borrowed from the input lists */
    size_t      lexical_rank;   /* 1.., 0 = not in the lexical list */
    size_t      semantic_rank;  /* 1.., 0 = not in the semantic list */
    double      score;          /* the fused RRF score */
} market_fuse_item_t;

/*  Fuse lexical[0..n_lex) and semantic[0..n_sem) (event ids, best first,
    each list free of duplicates; at most MARKET_FUSE_MAX_CANDIDATES each)
    into out (room for n_lex + n_sem), best first. Returns the count. */
size_t market_fuse_rrf (const char *const *lexical, size_t n_lex, const char *const *semantic,
                        size_t n_sem, market_fuse_item_t *out);

#ifdef __cplusplus
}
#endif
#endif
