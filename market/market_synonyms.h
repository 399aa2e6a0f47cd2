/*  market_synonyms.h — the community's own synonyms for search, in the
    Solr / Elasticsearch synonyms format (docs/market.md, "Search";
    docs/operations.md, "Search dictionaries"):

        # comment
        rad, fahrrad, velo, bike, bicycle      equivalent: each finds the others
        platten, reifenpanne => flickzeug       one way: the left finds the right

    Entries are phrases of 1..MARKET_SYNONYMS_MAX_PHRASE words, folded and
    stemmed (German and English stems) when parsed, so "Fahrräder" in a
    query meets "fahrrad" in the file. A left-hand phrase of several words
    matches when every one of its words is in the query ("tyre flat"
    matches "my tyre is flat"). The text is hostile input: over-long lines,
    too many entries, empty sides and bad UTF-8 are skipped and counted.
    Immutable once parsed.
*/
#ifndef HEARTH_MARKET_SYNONYMS_H
#define HEARTH_MARKET_SYNONYMS_H

#include <stddef.h>
#include <stdint.h>
#include "market.h"
#include "market_stem.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  File size, line length, rules, entries per side and words per entry at
    most (a community file is a few hundred lines). */
#define MARKET_SYNONYMS_MAX_BYTES   (1024 * 1024)
#define MARKET_SYNONYMS_MAX_LINE    4096
#define MARKET_SYNONYMS_MAX_RULES   10000
#define MARKET_SYNONYMS_MAX_ENTRIES 32
#define MARKET_SYNONYMS_MAX_PHRASE  4

typedef struct _market_synonyms_t market_synonyms_t;

/*  Parse text (len bytes, need not be NUL-terminated); stem is borrowed
    for the call. *bad_lines (may be NULL) gets the number of lines
    skipped. NULL on allocation failure or len > MARKET_SYNONYMS_MAX_BYTES. */
market_synonyms_t *market_synonyms_parse (const char *text, size_t len, market_stem_t *stem,
                                          size_t *bad_lines);
/*  Free; safe on NULL; nulls *self_p. */
void market_synonyms_destroy (market_synonyms_t **self_p);

size_t market_synonyms_rules (const market_synonyms_t *self);
/*  Bytes held. */
size_t market_synonyms_bytes (const market_synonyms_t *self);

/*  One expansion: word is the index of the query word a one-word left side
    matched, or SIZE_MAX for a phrase of several query words; target is a
    folded phrase (words separated by one space). */
typedef void (market_synonyms_fn) (void *arg, size_t word, const char *target);

/*  Expansions of a query given as its words' German and English stems
    (n words), in file order; a target equal to the matched word is not
    reported. */
void market_synonyms_expand (const market_synonyms_t *self, const char *const *stems_de,
                             const char *const *stems_en, size_t n, market_synonyms_fn *fn, void *arg);

#ifdef __cplusplus
}
#endif
#endif
