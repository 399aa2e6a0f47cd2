/*  market_search.h — lexical relevance ranking for market.search (docs/market.md, "Search").

    An incremental inverted index over posts (title weighted above body and
    tags), ranked with BM25 (k1 = 1.2, b = 0.75) over:
      - words, case-folded with German/Latin folding (ä->ae, ö->oe, ü->ue,
        ß->ss, accents stripped) and light suffix stemming (English + German),
      - character trigrams of each folded word (with boundary marks), which
        carry compounds ("wasserkanister" finds "wasser") and typos,
    word hits weighing more than trigram hits. Pure: no I/O, no time.
    Never a plain substring test. Embeddings (embed.text) join in a later
    issue; the index is the fallback and the first stage.
*/
#ifndef HEARTH_MARKET_SEARCH_H
#define HEARTH_MARKET_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*  market.search k default and cap. */
#define MARKET_SEARCH_DEFAULT_K   10
#define MARKET_SEARCH_MAX_K       100
/*  Query text bytes at most. */
#define MARKET_SEARCH_MAX_QUERY_BYTES 512

typedef struct _market_search_t market_search_t;

typedef struct {
    const char *doc_id;     /* borrowed from the index until its next change */
    double      score;      /* > 0, higher is better */
} market_search_hit_t;

market_search_t *market_search_new (void);
void market_search_destroy (market_search_t **self_p);

/*  Index (or re-index) a document. doc_id is copied. 0 or HEARTH_ENOMEM. */
int  market_search_put (market_search_t *self, const char *doc_id, const char *title,
                        const char *body, const char *const *tags, size_t n_tags);
/*  Drop a document; 0 or HEARTH_ENOTFOUND. */
int  market_search_remove (market_search_t *self, const char *doc_id);
size_t market_search_size (const market_search_t *self);

/*  Top-k documents for query, best first, among those `accept` returns
    non-zero for (NULL = all). Returns the number of hits written (<= k).
    Documents with no matching word or trigram are never returned. */
typedef int (market_search_accept_fn) (void *arg, const char *doc_id);
size_t market_search_query (market_search_t *self, const char *query, size_t k,
                            market_search_accept_fn *accept, void *arg,
                            market_search_hit_t *out);

#ifdef __cplusplus
}
#endif
#endif
