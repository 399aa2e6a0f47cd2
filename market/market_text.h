/*  market_text.h — text helpers of the marketplace: UTF-8 lower-casing (for
    tags), word splitting with search folding, and a light stemmer.

    Folding (search only): lower case; ä->ae, ö->oe, ü->ue, ß->ss (also the
    capital forms), æ->ae, œ->oe, þ->th, ĳ->ij; other Latin-1 and Latin
    Extended-A accents stripped (é->e, ł->l, č->c); Greek and Cyrillic capitals
    lower-cased. A word is a maximal run of letters/digits: ASCII alnum and any
    code point >= U+00C0 outside the punctuation/symbol blocks listed in
    market_text.c. Invalid UTF-8 bytes separate words.
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
/*  Stems shorter than this (in bytes) are never produced by a suffix strip. */
#define MARKET_TEXT_MIN_STEM 4

/*  Lower-case UTF-8 text of len bytes into out (capacity cap, NUL added).
    Never grows the text, so cap = len + 1 always suffices. Returns the
    output length, or -1 if cap is too small. Invalid bytes are copied. */
int market_text_lower (const char *in, size_t len, char *out, size_t cap);

/*  Next folded word from [*cursor, end): writes it NUL-terminated into
    out[MARKET_TEXT_MAX_WORD + 1], advances *cursor past it and returns its
    byte length; returns 0 at the end of the text. */
size_t market_text_next_word (const char **cursor, const char *end, char out [MARKET_TEXT_MAX_WORD + 1]);

/*  Strip light English/German suffixes from a folded word in place (at most
    two strips, never below MARKET_TEXT_MIN_STEM bytes): -ies->y, -sses->ss,
    -ing, -ed, -en, -er, -e, -n, -s (not after s, u or i). Returns the new
    length. */
size_t market_text_stem (char *word, size_t len);

/*  Decode one UTF-8 code point at s (n bytes available): returns its length
    and sets *cp, or returns 0 for an invalid/truncated sequence. */
size_t market_text_utf8_decode (const char *s, size_t n, uint32_t *cp);

#ifdef __cplusplus
}
#endif
#endif
