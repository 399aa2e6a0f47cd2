/*  market_lexicon.c — dictionaries for search: compile the Debian sources
    into a compact cache file, map it, look up translations, synonyms and
    compound parts (see market_lexicon.h).

    The cache file, all integers in host order (the file never leaves the
    node's data dir; a file from another machine fails the signature):
        header   s_header_t
        words    uint32_t [n_words]     pool offsets, sorted by text
        keys     s_key_t  [n_keys]      sorted by text
        targets  uint32_t [n_targets]   pool offsets; key k's translations
                                        then synonyms from keys[k].first
        pool     char [pool_bytes]      NUL-terminated strings, last byte 0
    Every offset is checked at open, so a damaged file reads as damaged.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sodium.h>
#include "hearth_vec.h"
#include "market_lexicon.h"
#include "market_stem.h"

#define S_MAGIC         "HEARTHLX"
/*  Bump when the compile's output changes for the same sources: the cache
    signature includes it, so old caches are rebuilt. */
#define S_VERSION       2u
/*  Alternatives taken from one ding column or MyThes sense at most. */
#define S_MAX_ALTS      24
/*  Columns of a ding line used at most. */
#define S_MAX_COLUMNS   16
/*  Priority bands: thesaurus synonyms rank before ding's side-by-side
    alternatives; within a band, earlier positions first. */
#define S_BAND_DING_SYN 0x80000000u

typedef struct {
    char     magic [8];
    uint32_t version;
    uint32_t n_words, n_keys, n_targets, pool_bytes;
    uint32_t loaded;            /* bit per source */
    uint64_t bad_lines [MARKET_LEXICON_SOURCES];
    uint8_t  signature [32];
} s_header_t;

typedef struct {
    uint32_t text;              /* pool offset */
    uint32_t first;             /* first target */
    uint16_t n [2];             /* translations, synonyms */
} s_key_t;

struct _market_lexicon_t {
    //  The compiled image: mapped from the cache, or owned in memory
    void          *image;
    size_t         image_bytes;
    int            mapped;      /* 1: munmap, 0: free */
    const s_header_t *header;
    const uint32_t *words;
    const s_key_t  *keys;
    const uint32_t *targets;
    const char     *pool;
    uint32_t      *word_table;  /* owned: open addressing, word index + 1 */
    size_t         word_cap;    /* power of two */
    market_lexicon_stats_t stats;
};

/* ---- hashing ------------------------------------------------------------- */

static uint64_t
s_hash (const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull;            // FNV-1a
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char) s [i];
        h *= 1099511628211ull;
    }
    return h ^ (h >> 29);
}

/* ---- the builder (compile) ------------------------------------------------ */

typedef struct {
    uint32_t prio;
    uint32_t target;            /* pool offset */
} s_cand_t;

typedef struct {
    uint32_t text;
    uint8_t  n [2];
    s_cand_t best [2][MARKET_LEXICON_MAX_PER_KIND];
} s_bkey_t;

typedef struct {
    char      *pool;
    size_t     pool_len, pool_cap;
    uint32_t  *strings;         /* intern table: offset + 1 */
    size_t     strings_cap, n_strings;
    uint32_t  *words;           /* word set: offset + 1 */
    size_t     words_cap, n_words;
    uint32_t  *key_table;       /* key text -> key index + 1 */
    size_t     key_cap;
    s_bkey_t  *keys;
    size_t     n_keys, keys_cap;
    market_stem_t *stem;
    int        oom;             /* also set when cancelled */
    const atomic_int *cancel;   /* may be NULL */
} s_builder_t;

/*  1 if the compile should stop (out of memory or cancelled). */
static int
s_stop (s_builder_t *b)
{
    if (b->cancel && atomic_load (b->cancel))
        b->oom = 1;
    return b->oom;
}

/*  Insert into an open-addressing table of offset+1 values; grows it. */
static int
s_table_grow (s_builder_t *b, uint32_t **table, size_t *cap, int by_key)
{
    size_t n = *cap? *cap * 2: 1 << 16;
    uint32_t *t = (uint32_t *) calloc (n, sizeof (uint32_t));
    if (!t)
        return -1;
    for (size_t i = 0; i < *cap; i++) {
        uint32_t v = (*table) [i];
        if (!v)
            continue;
        uint32_t off = by_key? b->keys [v - 1].text: v - 1;
        const char *s = b->pool + off;
        size_t j = (size_t) s_hash (s, strlen (s)) & (n - 1);
        while (t [j])
            j = (j + 1) & (n - 1);
        t [j] = v;
    }
    free (*table);
    *table = t;
    *cap = n;
    return 0;
}

/*  Pool offset of s (interned). UINT32_MAX on failure. */
static uint32_t
s_intern (s_builder_t *b, const char *s)
{
    size_t len = strlen (s);
    if ((b->n_strings + 1) * 2 > b->strings_cap && s_table_grow (b, &b->strings, &b->strings_cap, 0))
        goto oom;
    size_t mask = b->strings_cap - 1, j = (size_t) s_hash (s, len) & mask;
    while (b->strings [j]) {
        if (strcmp (b->pool + b->strings [j] - 1, s) == 0)
            return b->strings [j] - 1;
        j = (j + 1) & mask;
    }
    if (b->pool_len + len + 1 >= MARKET_LEXICON_MAX_BYTES / 2
    ||  HEARTH_VEC_GROW (b->pool, b->pool_cap, b->pool_len + len + 1, 4096))
        goto oom;
    uint32_t off = (uint32_t) b->pool_len;
    memcpy (b->pool + off, s, len + 1);
    b->pool_len += len + 1;
    b->strings [j] = off + 1;
    b->n_strings++;
    return off;
oom:
    b->oom = 1;
    return UINT32_MAX;
}

static void
s_add_word (s_builder_t *b, const char *word)
{
    if (strlen (word) < MARKET_LEXICON_MIN_PART || b->n_words >= MARKET_LEXICON_MAX_ENTRIES)
        return;
    uint32_t off = s_intern (b, word);
    if (off == UINT32_MAX)
        return;
    if ((b->n_words + 1) * 2 > b->words_cap && s_table_grow (b, &b->words, &b->words_cap, 0)) {
        b->oom = 1;
        return;
    }
    size_t mask = b->words_cap - 1, j = (size_t) s_hash (word, strlen (word)) & mask;
    while (b->words [j]) {
        if (b->words [j] == off + 1)
            return;
        j = (j + 1) & mask;
    }
    b->words [j] = off + 1;
    b->n_words++;
}

/*  Offer target for key (kind 0 = translation, 1 = synonym) at prio. */
static void
s_offer (s_builder_t *b, const char *key, int kind, uint32_t prio, const char *target)
{
    if (b->n_keys >= MARKET_LEXICON_MAX_ENTRIES)
        return;
    if ((b->n_keys + 1) * 2 > b->key_cap && s_table_grow (b, &b->key_table, &b->key_cap, 1)) {
        b->oom = 1;
        return;
    }
    size_t len = strlen (key), mask = b->key_cap - 1, j = (size_t) s_hash (key, len) & mask;
    s_bkey_t *k = NULL;
    while (b->key_table [j]) {
        s_bkey_t *c = &b->keys [b->key_table [j] - 1];
        if (strcmp (b->pool + c->text, key) == 0) {
            k = c;
            break;
        }
        j = (j + 1) & mask;
    }
    uint32_t toff = s_intern (b, target);
    if (toff == UINT32_MAX)
        return;
    if (!k) {
        uint32_t koff = s_intern (b, key);
        if (koff == UINT32_MAX || HEARTH_VEC_GROW (b->keys, b->keys_cap, b->n_keys + 1, 1024)) {
            b->oom = 1;
            return;
        }
        k = &b->keys [b->n_keys];
        memset (k, 0, sizeof *k);
        k->text = koff;
        b->key_table [j] = (uint32_t) ++b->n_keys;
    }
    s_cand_t *best = k->best [kind];
    size_t n = k->n [kind], worst = 0;
    for (size_t i = 0; i < n; i++) {
        if (best [i].target == toff) {
            if (prio < best [i].prio)
                best [i].prio = prio;
            return;
        }
        if (best [i].prio > best [worst].prio)
            worst = i;
    }
    if (n < MARKET_LEXICON_MAX_PER_KIND) {
        best [n].prio = prio;
        best [n].target = toff;
        k->n [kind]++;
    }
    else
    if (prio < best [worst].prio) {
        best [worst].prio = prio;
        best [worst].target = toff;
    }
}

/*  Read one line into buf (NUL-terminated, newline dropped). Returns 1 for
    a line, 0 at the end, -1 for a line over cap bytes (consumed, skipped). */
static int
s_read_line (FILE *f, char *buf, size_t cap)
{
    size_t n = 0;
    int c, too_long = 0;
    while ((c = getc_unlocked (f)) != EOF && c != '\n') {
        if (n + 1 < cap)
            buf [n++] = (char) c;
        else
            too_long = 1;
    }
    buf [n] = 0;
    if (too_long)
        return -1;
    if (c == EOF && n == 0)
        return 0;
    return 1;
}

/*  Folded phrase of a dictionary entry: annotations in (), [], {}, <>
    dropped, a leading English "to " dropped, templates ("jdn.", "sth.",
    "...") refused. Returns its word count (0: refused) and writes the
    words space-separated into out. */
static size_t
s_phrase (const char *raw, size_t raw_len, char *out, size_t cap)
{
    char clean [512];
    if (raw_len >= sizeof clean)
        return 0;
    size_t c = 0;
    int depth = 0;
    for (size_t i = 0; i < raw_len; i++) {
        char ch = raw [i];
        if (ch == '(' || ch == '[' || ch == '{' || ch == '<')
            depth++;
        else
        if (ch == ')' || ch == ']' || ch == '}' || ch == '>') {
            if (depth > 0)
                depth--;
        }
        else
        if (depth == 0)
            clean [c++] = ch;
    }
    clean [c] = 0;
    static const char *const templates [] = { "sb.", "sth.", "jdm.", "jdn.", "jds.", "etw.", "...", "…", "/", NULL };
    for (int t = 0; templates [t]; t++)
        if (strstr (clean, templates [t]))
            return 0;
    const char *cursor = clean, *end = clean + c;
    char word [MARKET_TEXT_MAX_WORD + 1];
    size_t len, n = 0, o = 0;
    while ((len = market_text_next_word (&cursor, end, word)) > 0) {
        if (n == 0 && strcmp (word, "to") == 0 && cursor < end)
            continue;
        if (++n > MARKET_LEXICON_MAX_PHRASE || o + len + 2 > cap)
            return 0;
        if (o)
            out [o++] = ' ';
        memcpy (out + o, word, len);
        o += len;
    }
    out [o] = 0;
    return n;
}

/*  Key of a one-word phrase in lang: "d:" / "e:" + its stem. */
static void
s_key (s_builder_t *b, market_lang_t lang, const char *word, char *key)
{
    key [0] = lang == MARKET_LANG_DE? 'd': 'e';
    key [1] = ':';
    market_stem_word (b->stem, lang, word, strlen (word), key + 2);
}

typedef struct {
    char   text [MARKET_LEXICON_MAX_PHRASE * (MARKET_TEXT_MAX_WORD + 1) + 1];
    size_t words;
} s_alt_t;

/*  Alternatives of a ding column (separated by ';'). */
static size_t
s_ding_alts (const char *col, size_t col_len, s_alt_t *alts)
{
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= col_len && n < S_MAX_ALTS; i++)
        if (i == col_len || col [i] == ';') {
            size_t words = s_phrase (col + start, i - start, alts [n].text, sizeof alts [n].text);
            if (words) {
                alts [n].words = words;
                n++;
            }
            start = i + 1;
        }
    return n;
}

/*  The first column (up to " | ") of one side of a ding line. */
static size_t
s_first_column (const char *side, size_t len)
{
    for (size_t i = 0; i + 2 < len; i++)
        if (side [i] == ' ' && side [i + 1] == '|' && side [i + 2] == ' ')
            return i;
    return len;
}

/*  Columns of one side of a ding line (separated by " | "). */
static size_t
s_columns (const char *side, size_t len)
{
    size_t n = 1;
    for (size_t i = 0; i + 2 < len; i++)
        if (side [i] == ' ' && side [i + 1] == '|' && side [i + 2] == ' ')
            n++;
    return n;
}

/*  rank: 0 for a line's first column (its headword), 1 for the others. */
static void
s_ding_side (s_builder_t *b, market_lang_t lang, const s_alt_t *from, size_t n_from,
             const s_alt_t *to, size_t n_to, uint32_t line, uint32_t rank)
{
    char key [MARKET_TEXT_MAX_WORD + 3];
    uint32_t tie = (line > 0xFFFF? 0xFFFF: line) | rank << 30;
    for (size_t i = 0; i < n_from; i++) {
        if (from [i].words != 1)
            continue;
        if (lang == MARKET_LANG_DE)
            s_add_word (b, from [i].text);
        s_key (b, lang, from [i].text, key);
        for (size_t j = 0; j < n_to; j++)
            s_offer (b, key, 0, (uint32_t) (((i < 7? i: 7) * 8 + (j < 7? j: 7)) << 16) | tie, to [j].text);
        for (size_t j = 0; j < n_from; j++)
            if (j != i && strcmp (from [j].text, from [i].text) != 0)
                s_offer (b, key, 1, S_BAND_DING_SYN | (uint32_t) (((i < 7? i: 7) * 8 + (j < 7? j: 7)) << 16) | tie,
                         from [j].text);
    }
}

/*  trans-de-en (ding): "Deutsch {n}; Alt | Plural :: English; alt | plural". */
static int
s_compile_ding (s_builder_t *b, const char *path, uint64_t *bad)
{
    FILE *f = fopen (path, "r");
    if (!f)
        return -1;
    char *line = (char *) malloc (MARKET_LEXICON_MAX_LINE);
    s_alt_t *de = (s_alt_t *) malloc (S_MAX_ALTS * sizeof (s_alt_t));
    s_alt_t *en = (s_alt_t *) malloc (S_MAX_ALTS * sizeof (s_alt_t));
    int rc;
    uint32_t line_no = 0;
    while (line && de && en && !s_stop (b) && (rc = s_read_line (f, line, MARKET_LEXICON_MAX_LINE)) != 0) {
        line_no++;
        if (rc < 0) {
            (*bad)++;
            continue;
        }
        if (line [0] == '#' || line [0] == 0)
            continue;
        const char *sep = strstr (line, " :: ");
        if (!sep) {
            (*bad)++;
            continue;
        }
        //  Column k of one side translates column k of the other (headword,
        //  plural, sub-entries); if the counts differ only the first pairs
        const char *de_side = line, *en_side = sep + 4;
        size_t de_len = (size_t) (sep - line), en_len = strlen (en_side);
        size_t cols = s_columns (de_side, de_len) == s_columns (en_side, en_len)? s_columns (de_side, de_len): 1;
        for (size_t c = 0; c < cols && c < S_MAX_COLUMNS; c++) {
            size_t dl = s_first_column (de_side, de_len), el = s_first_column (en_side, en_len);
            size_t n_de = s_ding_alts (de_side, dl, de);
            size_t n_en = s_ding_alts (en_side, el, en);
            uint32_t rank = (uint32_t) (c == 0? 0: 1);
            s_ding_side (b, MARKET_LANG_DE, de, n_de, en, n_en, line_no, rank);
            s_ding_side (b, MARKET_LANG_EN, en, n_en, de, n_de, line_no, rank);
            //  Next column
            de_side += dl + (dl < de_len? 3: 0);
            de_len -= dl + (dl < de_len? 3: 0);
            en_side += el + (el < en_len? 3: 0);
            en_len -= el + (el < en_len? 3: 0);
        }
    }
    free (line);
    free (de);
    free (en);
    fclose (f);
    return b->oom? -2: 0;
}

/*  1 if a MyThes entry carries an annotation that makes it no synonym:
    a broader term or an opposite. */
static int
s_thes_skip (const char *entry, size_t len)
{
    static const char *const marks [] = { "(Oberbegriff", "(Gegenwort", "(antonym", "(generic term", NULL };
    char tmp [512];
    if (len >= sizeof tmp)
        return 1;
    memcpy (tmp, entry, len);
    tmp [len] = 0;
    for (int m = 0; marks [m]; m++)
        if (strstr (tmp, marks [m]))
            return 1;
    return 0;
}

/*  MyThes .dat: "headword|senses" then per sense "(pos)|syn|syn|...". */
static int
s_compile_thes (s_builder_t *b, market_lang_t lang, const char *path, uint64_t *bad)
{
    FILE *f = fopen (path, "r");
    if (!f)
        return -1;
    char *line = (char *) malloc (MARKET_LEXICON_MAX_LINE);
    char head [MARKET_TEXT_MAX_WORD + 1] = "";
    char key [MARKET_TEXT_MAX_WORD + 3];
    char phrase [MARKET_LEXICON_MAX_PHRASE * (MARKET_TEXT_MAX_WORD + 1) + 1];
    int have_head = 0, rc;
    uint32_t sense = 0;
    while (line && !s_stop (b) && (rc = s_read_line (f, line, MARKET_LEXICON_MAX_LINE)) != 0) {
        if (rc < 0) {
            (*bad)++;
            continue;
        }
        char *bar = strchr (line, '|');
        if (!bar) {
            if (strcmp (line, "UTF-8") != 0 && strcmp (line, "ISO8859-1") != 0)
                (*bad)++;
            continue;
        }
        if (line [0] != '(' && line [0] != '-') {
            //  A headword line: keep it only if it is one word
            have_head = s_phrase (line, (size_t) (bar - line), phrase, sizeof phrase) == 1;
            if (have_head) {
                memcpy (head, phrase, strlen (phrase) + 1);     // one word: <= MARKET_TEXT_MAX_WORD
                s_key (b, lang, head, key);
            }
            sense = 0;
            continue;
        }
        if (!have_head)
            continue;
        //  A sense: skip it where the headword itself is marked colloquial
        //  or dated (a slang sense of an everyday word)
        uint32_t kept = 0;
        const char *p = bar + 1;
        int skip_sense = 0;
        for (const char *q = p; *q && !skip_sense; ) {
            const char *e = strchr (q, '|');
            size_t len = e? (size_t) (e - q): strlen (q);
            if (s_phrase (q, len, phrase, sizeof phrase) && strcmp (phrase, head) == 0
            &&  memchr (q, '(', len))
                skip_sense = 1;
            q = e? e + 1: q + len;
        }
        while (*p && !skip_sense) {
            const char *e = strchr (p, '|');
            size_t len = e? (size_t) (e - p): strlen (p);
            if (!s_thes_skip (p, len)) {
                size_t words = s_phrase (p, len, phrase, sizeof phrase);
                if (words && strcmp (phrase, head) != 0)
                    s_offer (b, key, 1, kept++ * 64 + (sense < 63? sense: 63), phrase);
            }
            p = e? e + 1: p + len;
        }
        sense++;
    }
    free (line);
    fclose (f);
    return b->oom? -2: 0;
}

/*  hunspell .dic: a count, then "word/FLAGS" per line. */
static int
s_compile_words (s_builder_t *b, const char *path, uint64_t *bad)
{
    FILE *f = fopen (path, "r");
    if (!f)
        return -1;
    char *line = (char *) malloc (MARKET_LEXICON_MAX_LINE);
    char word [MARKET_TEXT_MAX_WORD + 1];
    int rc;
    while (line && !s_stop (b) && (rc = s_read_line (f, line, MARKET_LEXICON_MAX_LINE)) != 0) {
        if (rc < 0) {
            (*bad)++;
            continue;
        }
        char *slash = strchr (line, '/');
        size_t len = slash? (size_t) (slash - line): strlen (line);
        const char *cursor = line, *end = line + len;
        //  Exactly one word (the count line and tabbed comments are skipped)
        if (market_text_next_word (&cursor, end, word) > 0 && cursor == end && line [0] != '\t'
        &&  !(word [0] >= '0' && word [0] <= '9'))
            s_add_word (b, word);
    }
    free (line);
    fclose (f);
    return b->oom? -2: 0;
}

static const char *s_sort_pool;

static int
s_cmp_off (const void *a, const void *b)
{
    return strcmp (s_sort_pool + *(const uint32_t *) a, s_sort_pool + *(const uint32_t *) b);
}

static int
s_cmp_bkey (const void *a, const void *b)
{
    return strcmp (s_sort_pool + ((const s_bkey_t *) a)->text, s_sort_pool + ((const s_bkey_t *) b)->text);
}

static int
s_cmp_cand (const void *a, const void *b)
{
    const s_cand_t *x = (const s_cand_t *) a, *y = (const s_cand_t *) b;
    if (x->prio != y->prio)
        return x->prio < y->prio? -1: 1;
    return x->target < y->target? -1: x->target > y->target;
}

/*  Lay the builder out as an image (malloc'd); NULL on failure. */
static void *
s_image (s_builder_t *b, const uint8_t signature [32], uint32_t loaded, const uint64_t *bad,
         size_t *bytes)
{
    //  Sorting the key records and word offsets by text
    s_sort_pool = b->pool;
    uint32_t *words = (uint32_t *) malloc ((b->n_words + 1) * sizeof (uint32_t));
    if (!words)
        return NULL;
    size_t nw = 0;
    for (size_t i = 0; i < b->words_cap; i++)
        if (b->words [i])
            words [nw++] = b->words [i] - 1;
    if (nw > 1)
        qsort (words, nw, sizeof (uint32_t), s_cmp_off);
    if (b->n_keys > 1)
        qsort (b->keys, b->n_keys, sizeof (s_bkey_t), s_cmp_bkey);
    size_t nt = 0;
    for (size_t k = 0; k < b->n_keys; k++)
        nt += (size_t) b->keys [k].n [0] + b->keys [k].n [1];
    size_t pool_bytes = b->pool_len? b->pool_len: 1;
    size_t total = sizeof (s_header_t) + nw * 4 + b->n_keys * sizeof (s_key_t) + nt * 4 + pool_bytes;
    char *image = (char *) calloc (1, total);
    if (!image) {
        free (words);
        return NULL;
    }
    s_header_t *h = (s_header_t *) image;
    memcpy (h->magic, S_MAGIC, 8);
    h->version = S_VERSION;
    h->n_words = (uint32_t) nw;
    h->n_keys = (uint32_t) b->n_keys;
    h->n_targets = (uint32_t) nt;
    h->pool_bytes = (uint32_t) pool_bytes;
    h->loaded = loaded;
    memcpy (h->bad_lines, bad, sizeof h->bad_lines);
    memcpy (h->signature, signature, 32);
    char *at = image + sizeof (s_header_t);
    memcpy (at, words, nw * 4);
    at += nw * 4;
    s_key_t *keys = (s_key_t *) at;
    uint32_t *targets = (uint32_t *) (at + b->n_keys * sizeof (s_key_t));
    size_t t = 0;
    for (size_t k = 0; k < b->n_keys; k++) {
        s_bkey_t *bk = &b->keys [k];
        keys [k].text = bk->text;
        keys [k].first = (uint32_t) t;
        for (int kind = 0; kind < 2; kind++) {
            if (bk->n [kind] > 1)
                qsort (bk->best [kind], bk->n [kind], sizeof (s_cand_t), s_cmp_cand);
            keys [k].n [kind] = bk->n [kind];
            for (size_t i = 0; i < bk->n [kind]; i++)
                targets [t++] = bk->best [kind][i].target;
        }
    }
    if (b->pool_len)
        memcpy (image + total - pool_bytes, b->pool, b->pool_len);
    free (words);
    *bytes = total;
    return image;
}

/* ---- opening ------------------------------------------------------------- */

static void
s_signature (const market_lexicon_paths_t *paths, uint8_t out [32])
{
    const char *list [MARKET_LEXICON_SOURCES] = { paths->ding, paths->thes_de, paths->thes_en, paths->words_de };
    crypto_generichash_state st;
    crypto_generichash_init (&st, NULL, 0, 32);
    uint32_t consts [] = { S_VERSION, MARKET_LEXICON_MAX_PHRASE, MARKET_LEXICON_MAX_PER_KIND,
                           MARKET_LEXICON_MIN_PART, (uint32_t) sizeof (s_key_t) };
    crypto_generichash_update (&st, (const unsigned char *) consts, sizeof consts);
    for (int i = 0; i < MARKET_LEXICON_SOURCES; i++) {
        struct stat sb;
        int64_t meta [3] = { 0, 0, 0 };
        if (list [i] && *list [i] && stat (list [i], &sb) == 0) {
            meta [0] = (int64_t) sb.st_size;
            meta [1] = (int64_t) sb.st_mtim.tv_sec;
            meta [2] = (int64_t) sb.st_mtim.tv_nsec;
        }
        const char *p = list [i]? list [i]: "";
        crypto_generichash_update (&st, (const unsigned char *) p, strlen (p) + 1);
        crypto_generichash_update (&st, (const unsigned char *) meta, sizeof meta);
    }
    crypto_generichash_final (&st, out, 32);
}

/*  Check an image and point self at it; 0 or -1 (damaged). */
static int
s_attach (market_lexicon_t *self, void *image, size_t bytes, const uint8_t signature [32])
{
    if (bytes < sizeof (s_header_t) || bytes > MARKET_LEXICON_MAX_BYTES)
        return -1;
    const s_header_t *h = (const s_header_t *) image;
    if (memcmp (h->magic, S_MAGIC, 8) != 0 || h->version != S_VERSION
    ||  (signature && memcmp (h->signature, signature, 32) != 0))
        return -1;
    if (h->n_words > MARKET_LEXICON_MAX_ENTRIES || h->n_keys > MARKET_LEXICON_MAX_ENTRIES
    ||  h->n_targets > MARKET_LEXICON_MAX_ENTRIES || h->pool_bytes == 0)
        return -1;
    //  Sizes are bounded above, so this sum cannot overflow
    size_t need = sizeof (s_header_t) + (size_t) h->n_words * 4 + (size_t) h->n_keys * sizeof (s_key_t)
                + (size_t) h->n_targets * 4 + h->pool_bytes;
    if (need != bytes)
        return -1;
    const char *at = (const char *) image + sizeof (s_header_t);
    const uint32_t *words = (const uint32_t *) at;
    const s_key_t *keys = (const s_key_t *) (at + (size_t) h->n_words * 4);
    const uint32_t *targets = (const uint32_t *) ((const char *) keys + (size_t) h->n_keys * sizeof (s_key_t));
    const char *pool = (const char *) image + bytes - h->pool_bytes;
    if (pool [h->pool_bytes - 1] != 0)
        return -1;
    for (uint32_t i = 0; i < h->n_words; i++)
        if (words [i] >= h->pool_bytes || (i > 0 && strcmp (pool + words [i - 1], pool + words [i]) >= 0))
            return -1;
    for (uint32_t i = 0; i < h->n_targets; i++)
        if (targets [i] >= h->pool_bytes)
            return -1;
    for (uint32_t i = 0; i < h->n_keys; i++) {
        const s_key_t *k = &keys [i];
        if (k->text >= h->pool_bytes || k->n [0] > MARKET_LEXICON_MAX_PER_KIND
        ||  k->n [1] > MARKET_LEXICON_MAX_PER_KIND || k->first > h->n_targets
        ||  h->n_targets - k->first < (uint32_t) k->n [0] + k->n [1]
        ||  (i > 0 && strcmp (pool + keys [i - 1].text, pool + k->text) >= 0))
            return -1;
    }
    //  The word lookup table
    size_t cap = 16;
    while (cap < (size_t) h->n_words * 2 + 2)
        cap *= 2;
    uint32_t *table = (uint32_t *) calloc (cap, sizeof (uint32_t));
    if (!table)
        return -1;
    for (uint32_t i = 0; i < h->n_words; i++) {
        const char *w = pool + words [i];
        size_t j = (size_t) s_hash (w, strlen (w)) & (cap - 1);
        while (table [j])
            j = (j + 1) & (cap - 1);
        table [j] = i + 1;
    }
    self->header = h;
    self->words = words;
    self->keys = keys;
    self->targets = targets;
    self->pool = pool;
    self->word_table = table;
    self->word_cap = cap;
    self->stats.n_words = h->n_words;
    self->stats.n_keys = h->n_keys;
    self->stats.n_targets = h->n_targets;
    self->stats.bytes = bytes + cap * sizeof (uint32_t);
    for (int i = 0; i < MARKET_LEXICON_SOURCES; i++) {
        self->stats.loaded [i] = (h->loaded >> i) & 1;
        self->stats.bad_lines [i] = h->bad_lines [i];
    }
    return 0;
}

/*  Map the cache if it is valid for signature; 0 or -1. */
static int
s_map_cache (market_lexicon_t *self, const char *path, const uint8_t signature [32])
{
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat sb;
    if (fstat (fd, &sb) != 0 || sb.st_size < (off_t) sizeof (s_header_t)
    ||  (uint64_t) sb.st_size > MARKET_LEXICON_MAX_BYTES) {
        close (fd);
        return -1;
    }
    void *image = mmap (NULL, (size_t) sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close (fd);
    if (image == MAP_FAILED)
        return -1;
    if (s_attach (self, image, (size_t) sb.st_size, signature) != 0) {
        munmap (image, (size_t) sb.st_size);
        return -1;
    }
    self->image = image;
    self->image_bytes = (size_t) sb.st_size;
    self->mapped = 1;
    return 0;
}

static void
s_builder_free (s_builder_t *b)
{
    free (b->pool);
    free (b->strings);
    free (b->words);
    free (b->key_table);
    free (b->keys);
    market_stem_destroy (&b->stem);
}

/*  Compile the sources; 0, or -1 on allocation failure. */
static int
s_compile (market_lexicon_t *self, const market_lexicon_paths_t *paths, const char *cache_path,
           const uint8_t signature [32], const atomic_int *cancel)
{
    s_builder_t b;
    memset (&b, 0, sizeof b);
    b.cancel = cancel;
    b.stem = market_stem_new ();
    if (!b.stem)
        return -1;
    s_intern (&b, "");                          // offset 0: the empty string
    uint64_t bad [MARKET_LEXICON_SOURCES] = { 0 };
    uint32_t loaded = 0;
    const char *list [MARKET_LEXICON_SOURCES] = { paths->ding, paths->thes_de, paths->thes_en, paths->words_de };
    for (int i = 0; i < MARKET_LEXICON_SOURCES && !b.oom; i++) {
        if (!list [i] || !*list [i])
            continue;
        int rc = i == 0? s_compile_ding (&b, list [i], &bad [i])
               : i == 1? s_compile_thes (&b, MARKET_LANG_DE, list [i], &bad [i])
               : i == 2? s_compile_thes (&b, MARKET_LANG_EN, list [i], &bad [i])
               : s_compile_words (&b, list [i], &bad [i]);
        if (rc == 0)
            loaded |= 1u << i;
    }
    size_t bytes = 0;
    void *image = b.oom? NULL: s_image (&b, signature, loaded, bad, &bytes);
    s_builder_free (&b);
    if (!image)
        return -1;
    if (s_attach (self, image, bytes, signature) != 0) {
        free (image);
        return -1;
    }
    self->image = image;
    self->image_bytes = bytes;
    self->mapped = 0;
    self->stats.compiled = 1;
    if (cache_path) {
        //  Write aside, then rename: a crash leaves the old cache or none
        char tmp [4096];
        if (snprintf (tmp, sizeof tmp, "%s.tmp", cache_path) < (int) sizeof tmp) {
            FILE *f = fopen (tmp, "wb");
            int ok = f && fwrite (image, 1, bytes, f) == bytes;
            if (f && fclose (f) != 0)
                ok = 0;
            if (!ok || rename (tmp, cache_path) != 0)
                unlink (tmp);
        }
    }
    return 0;
}

market_lexicon_t *
market_lexicon_open (const market_lexicon_paths_t *paths, const char *cache_path)
{
    return market_lexicon_open_cancel (paths, cache_path, NULL);
}

/*  Open a lexicon: map the cache at cache_path if it is valid for these
    sources, else (if compile) compile them, writing the cache. Both public
    openers share this so that they time and fail alike. */
static market_lexicon_t *
s_open (const market_lexicon_paths_t *paths, const char *cache_path, int compile,
        const atomic_int *cancel)
{
    if (sodium_init () < 0)
        return NULL;
    market_lexicon_t *self = (market_lexicon_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    struct timespec t0, t1;
    clock_gettime (CLOCK_MONOTONIC, &t0);
    uint8_t signature [32];
    s_signature (paths, signature);
    int rc = cache_path? s_map_cache (self, cache_path, signature): -1;
    if (rc != 0 && compile)
        rc = s_compile (self, paths, cache_path, signature, cancel);
    if (rc != 0) {
        market_lexicon_destroy (&self);
        return NULL;
    }
    clock_gettime (CLOCK_MONOTONIC, &t1);
    self->stats.open_seconds = (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
    return self;
}

market_lexicon_t *
market_lexicon_open_cancel (const market_lexicon_paths_t *paths, const char *cache_path,
                            const atomic_int *cancel)
{
    return s_open (paths, cache_path, 1, cancel);
}

market_lexicon_t *
market_lexicon_map (const market_lexicon_paths_t *paths, const char *cache_path)
{
    if (!cache_path)
        return NULL;
    return s_open (paths, cache_path, 0, NULL);
}

void
market_lexicon_destroy (market_lexicon_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    market_lexicon_t *self = *self_p;
    if (self->image) {
        if (self->mapped)
            munmap (self->image, self->image_bytes);
        else
            free (self->image);
    }
    free (self->word_table);
    free (self);
    *self_p = NULL;
}

void
market_lexicon_stats (const market_lexicon_t *self, market_lexicon_stats_t *stats)
{
    *stats = self->stats;
}

/* ---- lookups -------------------------------------------------------------- */

size_t
market_lexicon_lookup (const market_lexicon_t *self, const char *key,
                       market_lexicon_kind_t kind, const char *texts [MARKET_LEXICON_MAX_PER_KIND])
{
    size_t lo = 0, hi = self->header->n_keys;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp (self->pool + self->keys [mid].text, key);
        if (c == 0) {
            const s_key_t *k = &self->keys [mid];
            size_t first = k->first + (kind == MARKET_LEXICON_SYNONYM? k->n [0]: 0);
            size_t n = kind == MARKET_LEXICON_SYNONYM? k->n [1]: k->n [0];
            for (size_t i = 0; i < n; i++)
                texts [i] = self->pool + self->targets [first + i];
            return n;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

int
market_lexicon_known (const market_lexicon_t *self, const char *word, size_t len)
{
    if (!self->word_cap)
        return 0;
    size_t mask = self->word_cap - 1, j = (size_t) s_hash (word, len) & mask;
    while (self->word_table [j]) {
        const char *w = self->pool + self->words [self->word_table [j] - 1];
        if (strncmp (w, word, len) == 0 && w [len] == 0)
            return 1;
        j = (j + 1) & mask;
    }
    return 0;
}

/*  Length of the known word that word[0..len) is, with a linking element
    (between parts) or an inflection (last part) dropped; 0 if none. */
static size_t
s_known_part (const market_lexicon_t *self, const char *word, size_t len, int last)
{
    static const char *const linking [] = { "", "s", "es", "n", "en", "e", "er", NULL };
    static const char *const inflect [] = { "", "s", "es", "n", "en", "e", "er", "ern", NULL };
    const char *const *ends = last? inflect: linking;
    for (int i = 0; ends [i]; i++) {
        size_t el = strlen (ends [i]);
        if (len < el + MARKET_LEXICON_MIN_PART || memcmp (word + len - el, ends [i], el) != 0)
            continue;
        if (market_lexicon_known (self, word, len - el))
            return len - el;
    }
    return 0;
}

typedef struct {
    size_t start [MARKET_LEXICON_MAX_PARTS], len [MARKET_LEXICON_MAX_PARTS];
    size_t n, shortest;
} s_split_t;

static void
s_split_rec (const market_lexicon_t *self, const char *word, size_t len, size_t at,
             s_split_t *cur, s_split_t *best)
{
    if (cur->n >= MARKET_LEXICON_MAX_PARTS || (best->n && cur->n + 1 > best->n))
        return;
    //  The rest as the last part
    if (cur->n >= 1) {
        size_t k = s_known_part (self, word + at, len - at, 1);
        if (k) {
            s_split_t cand = *cur;
            cand.start [cand.n] = at;
            cand.len [cand.n] = k;
            cand.n++;
            size_t shortest = len - at;
            for (size_t i = 0; i + 1 < cand.n; i++)
                if (cand.len [i] < shortest)
                    shortest = cand.len [i];
            cand.shortest = shortest;
            if (!best->n || cand.n < best->n || (cand.n == best->n && cand.shortest > best->shortest))
                *best = cand;
            return;
        }
    }
    if (cur->n + 1 >= MARKET_LEXICON_MAX_PARTS)
        return;
    //  A middle part, longest first, leaving room for one more
    for (size_t end = len - MARKET_LEXICON_MIN_PART; end >= at + MARKET_LEXICON_MIN_PART; end--) {
        size_t k = s_known_part (self, word + at, end - at, 0);
        if (k) {
            cur->start [cur->n] = at;
            cur->len [cur->n] = k;
            cur->n++;
            s_split_rec (self, word, len, end, cur, best);
            cur->n--;
        }
    }
}

size_t
market_lexicon_split (const market_lexicon_t *self, const char *word, size_t len,
                      char parts [MARKET_LEXICON_MAX_PARTS][MARKET_TEXT_MAX_WORD + 1])
{
    if (!self->word_cap || len < 2 * MARKET_LEXICON_MIN_PART || len > MARKET_LEXICON_SPLIT_MAX_LEN)
        return 0;
    s_split_t cur, best;
    memset (&cur, 0, sizeof cur);
    memset (&best, 0, sizeof best);
    s_split_rec (self, word, len, 0, &cur, &best);
    if (best.n < 2)
        return 0;
    for (size_t i = 0; i < best.n; i++) {
        memcpy (parts [i], word + best.start [i], best.len [i]);
        parts [i][best.len [i]] = 0;
    }
    return best.n;
}
