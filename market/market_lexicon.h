/*  market_lexicon.h — the knowledge search draws from Debian's dictionaries
    (docs/market.md, "Search"; paths in docs/operations.md):

      - translations German <-> English from the ding dictionary
        (trans-de-en, /usr/share/trans/de-en),
      - synonyms from the OpenThesaurus / WordNet thesauri in MyThes format
        (mythes-de, mythes-en-us: /usr/share/mythes/th_*_v2.dat), and the
        alternatives ding lists side by side ("Bohrmaschine; Bohrer"),
      - a German word list (the hunspell-de-de stems in
        /usr/share/hunspell/de_DE.dic plus ding's German words) for
        splitting compounds ("wasserausfall" -> "wasser" + "ausfall").

    The sources are 70 MB of text: parsing them at every start would cost
    seconds and hundreds of MB. The first open compiles them into one
    compact file (sorted arrays of NUL-terminated strings, keyed by stem);
    later opens map that file read-only when its recorded source signature
    (path, size, mtime of each source) still matches, and validate every
    offset in it (a damaged cache is rebuilt, never trusted).
    Dictionary lines are hostile input: lines over MARKET_LEXICON_MAX_LINE
    bytes, entries without the expected separators, invalid UTF-8 or
    over-long phrases are counted and skipped. Any source may be missing:
    the lexicon then holds what the others gave (possibly nothing).

    Keys: "d:" + German stem or "e:" + English stem of a folded word
    (market_stem). Targets: folded phrases of 1..MARKET_LEXICON_MAX_PHRASE
    words, at most MARKET_LEXICON_MAX_PER_KIND per key and kind, best first.
    A lexicon is immutable once open: lookups are const and thread-safe.
*/
#ifndef HEARTH_MARKET_LEXICON_H
#define HEARTH_MARKET_LEXICON_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include "market_text.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  Bytes of one dictionary line at most (the longest in the Debian files
    is ~1,500); a longer line is skipped and counted. */
#define MARKET_LEXICON_MAX_LINE        16384
/*  Words of a target phrase at most ("power drill", "baby carriage");
    longer ones are skipped: a query word does not expand to sentences. */
#define MARKET_LEXICON_MAX_PHRASE      3
/*  Targets kept per key and kind (translations, synonyms), best first. */
#define MARKET_LEXICON_MAX_PER_KIND    5
/*  Compound parts: each at least this many bytes, at most this many parts,
    and words longer than MARKET_LEXICON_SPLIT_MAX_LEN bytes are not split
    (bounds the work per word). */
#define MARKET_LEXICON_MIN_PART        4
#define MARKET_LEXICON_MAX_PARTS       3
#define MARKET_LEXICON_SPLIT_MAX_LEN   40
/*  Entries (keys, targets, words) a compiled lexicon may hold, and its
    size in bytes at most: a cache file claiming more is damaged. */
#define MARKET_LEXICON_MAX_ENTRIES     (8u * 1024 * 1024)
#define MARKET_LEXICON_MAX_BYTES       (256u * 1024 * 1024)

typedef enum {
    MARKET_LEXICON_TRANSLATION = 1,
    MARKET_LEXICON_SYNONYM     = 2
} market_lexicon_kind_t;

/*  The sources; NULL or "" leaves one out. Borrowed for the call. */
typedef struct {
    const char *ding;           /* trans-de-en: "de :: en" lines */
    const char *thes_de;        /* MyThes .dat, German */
    const char *thes_en;        /* MyThes .dat, English */
    const char *words_de;       /* hunspell .dic, German */
} market_lexicon_paths_t;

#define MARKET_LEXICON_SOURCES 4

typedef struct {
    int      loaded [MARKET_LEXICON_SOURCES];   /* per source (paths order): 1 if read */
    uint64_t bad_lines [MARKET_LEXICON_SOURCES];/* skipped as damaged (at compile) */
    size_t   n_words, n_keys, n_targets;
    size_t   bytes;             /* mapped file + lookup tables */
    int      compiled;          /* 1 if this open compiled the sources */
    double   open_seconds;      /* time the open took */
} market_lexicon_stats_t;

typedef struct _market_lexicon_t market_lexicon_t;

/*  Open the lexicon: map cache_path if it matches the sources, else
    compile the sources into it (written to cache_path + ".tmp", then
    renamed; a cache that cannot be written is kept in memory only).
    cache_path NULL: compile in memory. Returns NULL only on allocation
    failure; missing or damaged sources give a lexicon with less in it
    (see stats). */
market_lexicon_t *market_lexicon_open (const market_lexicon_paths_t *paths, const char *cache_path);
/*  Only map cache_path: NULL if it is missing, damaged or was built from
    other sources (then market_lexicon_open compiles). Fast (no parsing). */
market_lexicon_t *market_lexicon_map (const market_lexicon_paths_t *paths, const char *cache_path);
/*  The same as market_lexicon_open, giving up (NULL) as soon as *cancel is
    non-zero (another thread may set it). */
market_lexicon_t *market_lexicon_open_cancel (const market_lexicon_paths_t *paths, const char *cache_path,
                                              const atomic_int *cancel);
/*  Free; safe on NULL; nulls *self_p. */
void market_lexicon_destroy (market_lexicon_t **self_p);

void market_lexicon_stats (const market_lexicon_t *self, market_lexicon_stats_t *stats);

/*  Targets of key ("d:" / "e:" + stem) of one kind, best first: sets
    *texts to the first of n entries (pointers to NUL-terminated folded
    phrases, valid until destroy) and returns n. */
size_t market_lexicon_lookup (const market_lexicon_t *self, const char *key,
                              market_lexicon_kind_t kind, const char *texts [MARKET_LEXICON_MAX_PER_KIND]);

/*  1 if the folded word (len bytes) is a known German word. */
int market_lexicon_known (const market_lexicon_t *self, const char *word, size_t len);

/*  Split a folded German compound into 2..MARKET_LEXICON_MAX_PARTS known
    words, each >= MARKET_LEXICON_MIN_PART bytes (a linking -s/-es/-n/-en/
    -e/-er between parts dropped; the last part may carry an inflection):
    fewest parts first, then the longest shortest part. Writes the parts
    into parts[] and returns their count, or 0 if the word does not split. */
size_t market_lexicon_split (const market_lexicon_t *self, const char *word, size_t len,
                             char parts [MARKET_LEXICON_MAX_PARTS][MARKET_TEXT_MAX_WORD + 1]);

#ifdef __cplusplus
}
#endif
#endif
