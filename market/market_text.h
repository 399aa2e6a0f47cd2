/*  market_text.h — text helpers of the marketplace: UTF-8 lower-casing (for
    tags), word splitting with search folding, stop words and a language
    guess (stemming is market_stem.h).

    Folding (search only): lower case; ä->ae, ö->oe, ü->ue, ß->ss (also the
    capital forms and a decomposed a/o/u + U+0308), æ->ae, œ->oe, þ->th,
    ĳ->ij; other Latin-1 and Latin Extended-A accents stripped (é->e, ł->l,
    č->c); every other code point through Unicode case folding with
    compatibility decomposition and marks stripped (utf8proc: Ё->е, Ά->α,
    full-width letters -> ASCII). A word is a maximal run of Unicode
    letters and digits (combining marks inside it belong to it). Invalid
    UTF-8 bytes separate words. market_text_lower (tags) keeps its own
    simple tables: tags are part of the canonical snapshot.
    Pure functions on caller buffers; no allocation, no locale.
*/
#ifndef HEARTH_MARKET_TEXT_H
#define HEARTH_MARKET_TEXT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*  Folded word bytes kept at most; longer words are cut at a code point
    boundary (no real word is longer; it bounds per-word work). */
#define MARKET_TEXT_MAX_WORD 64

/*  Lower-case UTF-8 text of len bytes into out (capacity cap, NUL added).
    Never grows the text, so cap = len + 1 always suffices. Returns the
    output length, or -1 if cap is too small. Invalid bytes are copied. */
int market_text_lower (const char *in, size_t len, char *out, size_t cap);

/*  Next folded word from [*cursor, end): writes it NUL-terminated into
    out[MARKET_TEXT_MAX_WORD + 1], advances *cursor past it and returns its
    byte length; returns 0 at the end of the text. */
size_t market_text_next_word (const char **cursor, const char *end, char out [MARKET_TEXT_MAX_WORD + 1]);

/*  The two languages of the analysis (stemmers, dictionaries). */
typedef enum { MARKET_LANG_DE = 0, MARKET_LANG_EN = 1 } market_lang_t;
#define MARKET_LANG_COUNT 2

/*  1 if a folded word is a German or English function word ("der", "und",
    "the", "for"): carries no item, so search skips it. */
int market_text_stopword (const char *word);

/*  The language of a post (texts: its title, body and tags; NULL entries
    skipped): English if it holds more English function words than German
    ones and umlauts, else German. A guess that only picks the stemmer. */
market_lang_t market_text_language (const char *const *texts, size_t n_texts);

/*  Decode one UTF-8 code point at s (n bytes available): returns its length
    and sets *cp, or returns 0 for an invalid/truncated sequence. */
size_t market_text_utf8_decode (const char *s, size_t n, uint32_t *cp);

#ifdef __cplusplus
}
#endif
#endif
