/*  market_stem.c — Snowball stemming of folded words (see market_stem.h). */
#include <stdlib.h>
#include <string.h>
#include <libstemmer.h>
#include "market_stem.h"

struct _market_stem_t {
    struct sb_stemmer *stemmer [MARKET_LANG_COUNT];     /* owned */
};

market_stem_t *
market_stem_new (void)
{
    market_stem_t *self = (market_stem_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->stemmer [MARKET_LANG_DE] = sb_stemmer_new ("german", "UTF_8");
    self->stemmer [MARKET_LANG_EN] = sb_stemmer_new ("english", "UTF_8");
    if (!self->stemmer [MARKET_LANG_DE] || !self->stemmer [MARKET_LANG_EN])
        market_stem_destroy (&self);
    return self;
}

void
market_stem_destroy (market_stem_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    market_stem_t *self = *self_p;
    for (int i = 0; i < MARKET_LANG_COUNT; i++)
        if (self->stemmer [i])
            sb_stemmer_delete (self->stemmer [i]);
    free (self);
    *self_p = NULL;
}

/*  ae/oe/ue -> ä/ö/ü (two bytes each: the length never grows). */
static size_t
s_german2 (const char *word, size_t len, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = word [i];
        if (i + 1 < len && word [i + 1] == 'e' && (c == 'a' || c == 'o' || (c == 'u' && !(i > 0 && word [i - 1] == 'q')))) {
            out [o++] = (char) 0xC3;
            out [o++] = (char) (c == 'a'? 0xA4: c == 'o'? 0xB6: 0xBC);
            i++;
        }
        else
            out [o++] = c;
    }
    out [o] = 0;
    return o;
}

size_t
market_stem_word (market_stem_t *self, market_lang_t lang, const char *word, size_t len,
                  char out [MARKET_TEXT_MAX_WORD + 1])
{
    if (len > MARKET_TEXT_MAX_WORD)
        len = MARKET_TEXT_MAX_WORD;
    char buf [MARKET_TEXT_MAX_WORD + 1];
    const char *in = word;
    if (lang == MARKET_LANG_DE) {
        len = s_german2 (word, len, buf);
        in = buf;
    }
    const sb_symbol *stem = sb_stemmer_stem (self->stemmer [lang == MARKET_LANG_EN], (const sb_symbol *) in, (int) len);
    int n = stem? sb_stemmer_length (self->stemmer [lang == MARKET_LANG_EN]): -1;
    if (n <= 0 || n > MARKET_TEXT_MAX_WORD) {
        memcpy (out, word, len);
        out [len] = 0;
        return len;
    }
    memcpy (out, stem, (size_t) n);
    out [n] = 0;
    if (lang == MARKET_LANG_DE && n >= 6 && memcmp (out + n - 3, "eln", 3) == 0)
        out [--n] = 0;
    return (size_t) n;
}
