/*  market_text.c — UTF-8 lower-casing, search folding and light stemming for
    the marketplace (see market_text.h). Tables cover Latin-1, Latin
    Extended-A, Greek and Cyrillic capitals; everything else passes through
    unchanged, which is safe: folding only has to be the same on both sides
    (index and query), never complete.
*/
#include <string.h>
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

/*  1 if c belongs to a word: ASCII letters/digits, or a code point >= U+00C0
    outside punctuation/symbol blocks (general punctuation, arrows, math,
    box drawing, dingbats, CJK punctuation, full-width ASCII punctuation,
    emoji/pictographs). A cheap stand-in for Unicode categories. */
static int
s_is_word (uint32_t c)
{
    if (c < 0x80)
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (c < 0xC0 || c == 0xD7 || c == 0xF7)
        return 0;
    if (c >= 0x2000 && c <= 0x2BFF)
        return 0;
    if (c >= 0x3000 && c <= 0x303F)
        return 0;
    if (c >= 0xFE30 && c <= 0xFE4F)
        return 0;
    if (c >= 0xFF00 && c <= 0xFF0F)
        return 0;
    if (c >= 0x1F000 && c <= 0x1FAFF)
        return 0;
    if (c == 0xFEFF)
        return 0;
    return 1;
}

/*  Folded form of a word code point into out (up to 4 bytes); returns its length. */
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
    return s_utf8_encode (c, out);
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
    //  Take the run of word code points, folding as we go
    while (p < end) {
        uint32_t c;
        size_t n = market_text_utf8_decode (p, (size_t) (end - p), &c);
        if (n == 0 || !s_is_word (c))
            break;
        char buf [4];
        size_t m = s_fold (c, buf);
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

/*  1 if word[0..len) ends with suffix. */
static int
s_ends (const char *word, size_t len, const char *suffix, size_t slen)
{
    return len >= slen && memcmp (word + len - slen, suffix, slen) == 0;
}

/*  One suffix strip; returns the new length (== len if no rule applied). */
static size_t
s_stem_once (char *word, size_t len)
{
    //  Rules, longest first; `keep` bytes of the suffix stay (-sses -> -ss),
    //  `repl` is appended (-ies -> -y).
    static const struct {
        const char *suffix;
        size_t      keep;
        const char *repl;
    } rules [] = {
        { "sses", 2, "" },     /* classes -> class */
        { "ies",  0, "y" },    /* batteries -> battery */
        { "ing",  0, "" },     /* heating -> heat */
        { "ed",   0, "" },     /* needed -> need */
        { "en",   0, "" },     /* tomaten -> tomat, decken -> deck */
        { "er",   0, "" },     /* wasser -> wass, kinder -> kind */
        { "e",    0, "" },     /* tomate -> tomat, decke -> deck */
        { "n",    0, "" },     /* kartoffeln -> kartoffel (after l or r only) */
        { "s",    0, "" },     /* autos -> auto, kids -> kid (not after s, u, i) */
    };
    for (size_t r = 0; r < sizeof rules / sizeof rules [0]; r++) {
        size_t slen = strlen (rules [r].suffix);
        if (!s_ends (word, len, rules [r].suffix, slen))
            continue;
        size_t stem = len - slen + rules [r].keep;
        size_t rlen = strlen (rules [r].repl);
        if (stem + rlen < MARKET_TEXT_MIN_STEM)
            return len;                     // the matching rule would cut too deep: stop
        if (rules [r].suffix [0] == 'n' && slen == 1) {
            char prev = word [len - 2];
            if (prev != 'l' && prev != 'r')
                continue;
        }
        if (rules [r].suffix [0] == 's' && slen == 1) {
            char prev = word [len - 2];
            if (prev == 's' || prev == 'u' || prev == 'i')
                continue;
        }
        memcpy (word + stem, rules [r].repl, rlen);
        word [stem + rlen] = 0;
        return stem + rlen;
    }
    return len;
}

size_t
market_text_stem (char *word, size_t len)
{
    //  Two strips at most: "wassers" -> "wasser" -> "wass" matches "wasser" -> "wass"
    for (int pass = 0; pass < 2; pass++) {
        size_t next = s_stem_once (word, len);
        if (next == len)
            break;
        len = next;
    }
    return len;
}
