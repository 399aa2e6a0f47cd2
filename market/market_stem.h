/*  market_stem.h — Snowball stemmers (libstemmer) for folded search words,
    German and English (docs/market.md, "Search").

    Words come folded (market_text: ä->ae, ß->ss). The German stemmer is
    given them with ae/oe/ue turned back into ä/ö/ü (not "ue" after q), as
    Snowball's "german2" variant does, so "Häuser", "Haeuser" and "haeuser"
    all stem to "haus"; a German stem ending in "-eln" loses its "n"
    ("schaufeln" -> "schaufel", as "kindern" -> "kind" already does).
    A stemmer holds scratch memory: one per thread.
*/
#ifndef HEARTH_MARKET_STEM_H
#define HEARTH_MARKET_STEM_H

#include <stddef.h>
#include "market_text.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _market_stem_t market_stem_t;

/*  New German + English stemmer; NULL on failure. */
market_stem_t *market_stem_new (void);
/*  Free; safe on NULL; nulls *self_p. */
void market_stem_destroy (market_stem_t **self_p);

/*  Stem of the folded word (len bytes) in lang into out (NUL-terminated);
    returns its length (the word itself if it cannot be stemmed). */
size_t market_stem_word (market_stem_t *self, market_lang_t lang, const char *word, size_t len,
                         char out [MARKET_TEXT_MAX_WORD + 1]);

#ifdef __cplusplus
}
#endif
#endif
