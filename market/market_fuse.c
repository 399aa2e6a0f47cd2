/*  market_fuse.c — reciprocal rank fusion; see market_fuse.h. The lists
    are at most MARKET_FUSE_MAX_CANDIDATES long, so matching ids by a
    linear scan costs at most 10,000 string compares.
*/
#include <stdlib.h>
#include <string.h>
#include "market_fuse.h"

static int
s_compare (const void *a, const void *b)
{
    const market_fuse_item_t *x = (const market_fuse_item_t *) a;
    const market_fuse_item_t *y = (const market_fuse_item_t *) b;
    if (x->score != y->score)
        return x->score > y->score? -1: 1;
    /*  Equal scores: the lexically better first (unranked last). */
    size_t xl = x->lexical_rank? x->lexical_rank: (size_t) -1;
    size_t yl = y->lexical_rank? y->lexical_rank: (size_t) -1;
    if (xl != yl)
        return xl < yl? -1: 1;
    return -strcmp (x->event_id, y->event_id);
}

size_t
market_fuse_rrf (const char *const *lexical, size_t n_lex, const char *const *semantic,
                 size_t n_sem, market_fuse_item_t *out)
{
    if (n_lex > MARKET_FUSE_MAX_CANDIDATES)
        n_lex = MARKET_FUSE_MAX_CANDIDATES;
    if (n_sem > MARKET_FUSE_MAX_CANDIDATES)
        n_sem = MARKET_FUSE_MAX_CANDIDATES;
    size_t n = 0;
    for (size_t i = 0; i < n_lex; i++) {
        out [n].event_id = lexical [i];
        out [n].lexical_rank = i + 1;
        out [n].semantic_rank = 0;
        out [n].score = 1.0 / (double) (MARKET_FUSE_RRF_K + i + 1);
        n++;
    }
    for (size_t j = 0; j < n_sem; j++) {
        double add = 1.0 / (double) (MARKET_FUSE_RRF_K + j + 1);
        size_t i = 0;
        while (i < n_lex && strcmp (out [i].event_id, semantic [j]) != 0)
            i++;
        if (i < n_lex) {
            out [i].semantic_rank = j + 1;
            out [i].score += add;
            continue;
        }
        out [n].event_id = semantic [j];
        out [n].lexical_rank = 0;
        out [n].semantic_rank = j + 1;
        out [n].score = add;
        n++;
    }
    qsort (out, n, sizeof *out, s_compare);
    return n;
}
