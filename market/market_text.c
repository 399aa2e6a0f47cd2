/*  market_text.c — UTF-8 lower-casing, search folding, stop words and the
    language guess for the marketplace (see market_text.h). Folding uses
    the German tables below for Latin-1 and Latin Extended-A (ä->ae, ß->ss,
    which Unicode would fold to a and ss) and utf8proc (Unicode case
    folding, compatibility decomposition, marks stripped) for every other
    code point, so ё folds to е and ｆｕｌｌ-width letters to ASCII. Word
    characters are Unicode letters and digits (utf8proc categories), with
    combining marks kept inside a word. Folding only has to be the same on
    both sides (index and query): it is, as both call this code.
*/
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#include "market_text.h"

/*  Folded forms of U+00C0..U+00FF (NULL = not a letter: × and ÷). */
static const char *const s_latin1_fold [64] = {
    /* C0 */ "a", "a", "a", "a", "ae", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
    /* D0 */ "d", "n", "o", "o", "o", "o", "oe", NULL, "o", "u", "u", "u", "ue", "y", "th", "ss",
    /* E0 */ "a", "a", "a", "a", "ae", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
    /* F0 */ "d", "n", "o", "o", "o", "o", "oe", NULL, "o", "u", "u", "u", "ue", "y", "th", "y"
};

/*  Base letter of U+0100..U+017F, 16 per row; '*' marks the ligatures
    Ĳ ĳ (-> "ij") and Œ œ (-> "oe"). */
static const char s_ext_a_fold [128 + 1] =
    "aaaaaaccccccccdd"      /* 0100 */
    "ddeeeeeeeeeegggg"      /* 0110 */
    "gggghhhhiiiiiiii"      /* 0120 */
    "ii**jjkkklllllll"      /* 0130 */
    "lllnnnnnnnnnoooo"      /* 0140 */
    "oo**rrrrrrssssss"      /* 0150 */
    "ssttttttuuuuuuuu"      /* 0160 */
    "uuuuwwyyyzzzzzzs";     /* 0170 */
_Static_assert (sizeof s_ext_a_fold == 128 + 1, "one base letter per code point U+0100..U+017F");

size_t
market_text_utf8_decode (const char *s, size_t n, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *) s;
    if (n == 0)
        return 0;
    if (u [0] < 0x80) {
        *cp = u [0];
        return 1;
    }
    size_t len;
    uint32_t c, min;
    if ((u [0] & 0xE0) == 0xC0) {
        len = 2; c = u [0] & 0x1F; min = 0x80;
    }
    else
    if ((u [0] & 0xF0) == 0xE0) {
        len = 3; c = u [0] & 0x0F; min = 0x800;
    }
    else
    if ((u [0] & 0xF8) == 0xF0) {
        len = 4; c = u [0] & 0x07; min = 0x10000;
    }
    else
        return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((u [i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (u [i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return len;
}

static size_t
s_utf8_encode (uint32_t c, char *out)
{
    if (c < 0x80) {
        out [0] = (char) c;
        return 1;
    }
    if (c < 0x800) {
        out [0] = (char) (0xC0 | (c >> 6));
        out [1] = (char) (0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        out [0] = (char) (0xE0 | (c >> 12));
        out [1] = (char) (0x80 | ((c >> 6) & 0x3F));
        out [2] = (char) (0x80 | (c & 0x3F));
        return 3;
    }
    out [0] = (char) (0xF0 | (c >> 18));
    out [1] = (char) (0x80 | ((c >> 12) & 0x3F));
    out [2] = (char) (0x80 | ((c >> 6) & 0x3F));
    out [3] = (char) (0x80 | (c & 0x3F));
    return 4;
}

/*  Simple lower case of one code point (the encoded length never grows). */
static uint32_t
s_lower (uint32_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c + 32;
    if (c >= 0xC0 && c <= 0xDE && c != 0xD7)        /* Latin-1 capitals */
        return c + 0x20;
    if (c >= 0x100 && c <= 0x17F) {                  /* Latin Extended-A pairs */
        if (c == 0x130)
            return 'i';                              /* İ */
        if (c == 0x178)
            return 0xFF;                             /* Ÿ */
        if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E))
            return (c & 1)? c + 1: c;                /* odd capitals in these runs */
        if (c == 0x138 || c == 0x149 || c == 0x17F)
            return c;                                /* ĸ ŉ ſ have no pair */
        return (c & 1)? c: c + 1;
    }
    if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2)      /* Greek capitals */
        return c + 0x20;
    if (c >= 0x410 && c <= 0x42F)                    /* Cyrillic А..Я */
        return c + 0x20;
    if (c >= 0x400 && c <= 0x40F)                    /* Cyrillic Ѐ..Џ */
        return c + 0x50;
    if (c == 0x1E9E)
        return 0xDF;                                 /* capital sharp s */
    return c;
}

/*  1 if c is a letter or a digit (Unicode categories L* and N*). */
static int
s_is_word (uint32_t c)
{
    if (c < 0x80)
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    utf8proc_category_t cat = utf8proc_category ((utf8proc_int32_t) c);
    return (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO)
        || (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO);
}

/*  1 if c is a combining mark (kept inside a word, dropped by folding). */
static int
s_is_mark (uint32_t c)
{
    if (c < 0x300)
        return 0;
    utf8proc_category_t cat = utf8proc_category ((utf8proc_int32_t) c);
    return cat >= UTF8PROC_CATEGORY_MN && cat <= UTF8PROC_CATEGORY_ME;
}

/*  Code points and bytes of one code point's folded form at most (a
    compatibility decomposition such as U+FDFA is longer: it is cut). */
#define S_FOLD_MAX_CPS    8
#define S_FOLD_MAX_BYTES  16

/*  Folded form of a word code point into out (up to S_FOLD_MAX_BYTES
    bytes); returns its length (0: nothing of it is kept). */
static size_t
s_fold (uint32_t c, char *out)
{
    c = s_lower (c);
    if (c >= 0xC0 && c <= 0xFF) {
        const char *f = s_latin1_fold [c - 0xC0];
        size_t n = strlen (f);
        memcpy (out, f, n);
        return n;
    }
    if (c >= 0x100 && c <= 0x17F) {
        char b = s_ext_a_fold [c - 0x100];
        if (b == '*') {
            const char *f = (c == 0x132 || c == 0x133)? "ij": "oe";
            memcpy (out, f, 2);
            return 2;
        }
        out [0] = b;
        return 1;
    }
    if (c < 0x80)
        return s_utf8_encode (c, out);
    //  Everything else: Unicode case folding, compatibility decomposition,
    //  marks stripped; only letters and digits of the result are kept
    utf8proc_int32_t cps [S_FOLD_MAX_CPS];
    int last = 0;
    utf8proc_ssize_t n = utf8proc_decompose_char ((utf8proc_int32_t) c, cps, S_FOLD_MAX_CPS,
                                                  UTF8PROC_CASEFOLD | UTF8PROC_DECOMPOSE
                                                  | UTF8PROC_COMPAT | UTF8PROC_STRIPMARK, &last);
    if (n < 0 || n > S_FOLD_MAX_CPS)
        return s_utf8_encode (c, out);
    size_t o = 0;
    for (utf8proc_ssize_t i = 0; i < n; i++) {
        uint32_t f = (uint32_t) cps [i];
        if (!s_is_word (f) || o + 4 > S_FOLD_MAX_BYTES)
            continue;
        o += s_utf8_encode (f < 0x80? s_lower (f): f, out + o);
    }
    return o;
}

int
market_text_lower (const char *in, size_t len, char *out, size_t cap)
{
    size_t i = 0, o = 0;
    while (i < len) {
        uint32_t c;
        size_t n = market_text_utf8_decode (in + i, len - i, &c);
        char buf [4];
        size_t m;
        if (n == 0) {
            buf [0] = in [i];
            m = 1;
            n = 1;
        }
        else
            m = s_utf8_encode (s_lower (c), buf);
        if (o + m + 1 > cap)
            return -1;
        memcpy (out + o, buf, m);
        o += m;
        i += n;
    }
    if (o + 1 > cap)
        return -1;
    out [o] = 0;
    return (int) o;
}

size_t
market_text_next_word (const char **cursor, const char *end, char out [MARKET_TEXT_MAX_WORD + 1])
{
    const char *p = *cursor;
    size_t o = 0;
    //  Skip separators
    while (p < end) {
        uint32_t c;
        size_t n = market_text_utf8_decode (p, (size_t) (end - p), &c);
        if (n && s_is_word (c))
            break;
        p += n? n: 1;
    }
    //  Take the run of word code points (and marks inside it), folding as
    //  we go; a decomposed umlaut (a + U+0308) folds as ä does, to "ae"
    while (p < end) {
        uint32_t c;
        size_t n = market_text_utf8_decode (p, (size_t) (end - p), &c);
        if (n == 0 || !(s_is_word (c) || s_is_mark (c)))
            break;
        char buf [S_FOLD_MAX_BYTES];
        size_t m = 0;
        if (s_is_mark (c)) {
            if (c == 0x308 && o > 0 && (out [o - 1] == 'a' || out [o - 1] == 'o' || out [o - 1] == 'u'))
                buf [m++] = 'e';
        }
        else
            m = s_fold (c, buf);
        if (o + m <= MARKET_TEXT_MAX_WORD) {
            memcpy (out + o, buf, m);
            o += m;
        }
        p += n;
    }
    out [o] = 0;
    *cursor = p;
    return o;
}

/*  Function words of German and English, folded, sorted (bsearch). They
    carry no item: the index skips them (they still count in a post's
    length and language guess) and a query drops them unless it has
    nothing else. */
static const char *const s_stop_de [] = {
    "aber", "als", "am", "an", "auch", "auf", "aus", "bei", "bin", "bis", "bist", "bitte",
    "da", "das", "dass", "dem", "den", "der", "des", "dich", "die", "dir", "du", "ein",
    "eine", "einem", "einen", "einer", "eines", "er", "es", "etwas", "euch", "euer", "fuer",
    "gibt", "hab", "habe", "haben", "hat", "ich", "ihr", "im", "in", "ist", "ja", "jemand",
    "jemanden", "kann", "kein", "keine", "mal", "man", "mein", "meine", "meinen", "meiner",
    "mich", "mir", "mit", "nach", "nicht", "noch", "nur", "ob", "oder", "sehr", "sich", "sie",
    "sind", "so", "tun", "um", "und", "uns", "unser", "unsere", "vom", "von", "vor", "war",
    "was", "wenn", "wer", "wie", "wir", "wo", "zu", "zum", "zur"
};
static const char *const s_stop_en [] = {
    "a", "am", "an", "and", "any", "anyone", "are", "at", "be", "been", "but", "by", "can",
    "could", "did", "do", "does", "for", "from", "get", "got", "had", "has", "have", "he",
    "her", "here", "his", "how", "i", "if", "im", "in", "is", "it", "its", "just", "me",
    "my", "of", "on", "or", "our", "please", "she", "so", "some", "someone", "that", "the",
    "their", "them", "there", "they", "this", "to", "us", "was", "we", "what", "when",
    "where", "which", "who", "will", "with", "would", "you", "your"
};

static int
s_cmp_str (const void *a, const void *b)
{
    return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static int
s_in (const char *const *list, size_t n, const char *word)
{
    return bsearch (&word, list, n, sizeof list [0], s_cmp_str) != NULL;
}

int
market_text_stopword (const char *word)
{
    return s_in (s_stop_de, sizeof s_stop_de / sizeof s_stop_de [0], word)
        || s_in (s_stop_en, sizeof s_stop_en / sizeof s_stop_en [0], word);
}

market_lang_t
market_text_language (const char *const *texts, size_t n_texts)
{
    //  Votes: German and English function words; an umlaut or ß (folded
    //  to ae/oe/ue/ss, so counted on the raw text) votes German
    int de = 0, en = 0;
    for (size_t t = 0; t < n_texts; t++) {
        if (!texts [t])
            continue;
        const char *cursor = texts [t], *end = texts [t] + strlen (texts [t]);
        for (const char *p = cursor; p + 1 < end; p++)
            if ((unsigned char) p [0] == 0xC3 && strchr ("\xa4\xb6\xbc\x84\x96\x9c\x9f", p [1]))
                de++;
        char word [MARKET_TEXT_MAX_WORD + 1];
        while (market_text_next_word (&cursor, end, word) > 0) {
            de += s_in (s_stop_de, sizeof s_stop_de / sizeof s_stop_de [0], word);
            en += s_in (s_stop_en, sizeof s_stop_en / sizeof s_stop_en [0], word);
        }
    }
    return en > de? MARKET_LANG_EN: MARKET_LANG_DE;
}
