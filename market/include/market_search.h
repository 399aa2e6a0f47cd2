/*  market_search.h — lexical relevance ranking for market.search (docs/market.md, "Search").

    An incremental inverted index over posts (title weighted above body and
    tags), ranked with a BM25 saturation (k1 = 1.2, b = 0.75) over:
      - words, folded (Unicode case folding plus ä->ae, ö->oe, ü->ue,
        ß->ss, accents stripped) and Snowball-stemmed in the post's
        language (German or English), function words skipped,
      - the parts of German compounds (from the lexicon's word list),
      - per query word: its translations and synonyms (lexicon, community
        synonym file), each weighing less than the word itself,
      - character trigrams of each folded word (with boundary marks), which
        carry typos ("generatr"), weighing less than any real match.
    Pure: no I/O, no time. Never a plain substring test. Embeddings
    (embed.text) may be fused on top; this index is the fallback and the
    first stage.
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
typedef struct _market_lexicon_t market_lexicon_t;
typedef struct _market_synonyms_t market_synonyms_t;

typedef struct {
    const char *doc_id;     /* borrowed from the index until its next change */
    double      score;      /* > 0, higher is better */
} market_search_hit_t;

market_search_t *market_search_new (void);
void market_search_destroy (market_search_t **self_p);

/*  Index (or re-index) a document. doc_id is copied. 0 or HEARTH_ENOMEM. */
int  market_search_put (market_search_t *self, const char *doc_id, const char *title,
                        const char *body, const char *const *tags, size_t n_tags);
/*  Use lexicon (borrowed; NULL = none) for compound parts and query
    expansion. Only before the first put (posts indexed without it would
    lack their parts): HEARTH_EINVAL after. */
int  market_search_set_lexicon (market_search_t *self, const market_lexicon_t *lexicon);
/*  Use the community synonyms (borrowed until the next call; NULL = none)
    for query expansion; may change at any time. */
void market_search_set_synonyms (market_search_t *self, const market_synonyms_t *synonyms);
/*  Bytes the index holds (postings, vocabulary, trigram table, maps). */
size_t market_search_bytes (const market_search_t *self);
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
