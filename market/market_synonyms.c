/*  market_synonyms.c — Solr-format synonym rules (see market_synonyms.h). */
#include <stdlib.h>
#include <string.h>
#include "market_synonyms.h"

/*  An entry: text holds the folded words (space-separated), a NUL, then
    each word's German and English stem, NUL-terminated, at stem[w][lang]. */
typedef struct {
    char     *text;             /* owned */
    uint16_t  n_words;
    uint16_t  stem [MARKET_SYNONYMS_MAX_PHRASE][2];
} s_phrase_t;

typedef struct {
    s_phrase_t *entries;        /* owned */
    size_t      n_left, n_entries;   /* left side: entries [0, n_left) */
    int         equivalent;     /* 1: "a, b, c" (every entry is a left side) */
} s_rule_t;

struct _market_synonyms_t {
    s_rule_t *rules;            /* owned */
    size_t    n_rules;
    size_t    bytes;
};

/*  Parse one side ("a, b c, d") into entries at rule->entries + *n. */
static int
s_side (const char *side, size_t len, market_stem_t *stem, s_phrase_t *out, size_t *n)
{
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && side [i] != ',')
            continue;
        const char *cursor = side + start, *end = side + i;
        start = i + 1;
        char word [MARKET_TEXT_MAX_WORD + 1];
        char text [3 * MARKET_SYNONYMS_MAX_PHRASE * (MARKET_TEXT_MAX_WORD + 1)];
        char stems [MARKET_SYNONYMS_MAX_PHRASE][2][MARKET_TEXT_MAX_WORD + 1];
        size_t wl, words = 0, o = 0;
        s_phrase_t p;
        memset (&p, 0, sizeof p);
        while ((wl = market_text_next_word (&cursor, end, word)) > 0) {
            if (words == MARKET_SYNONYMS_MAX_PHRASE)
                return -1;
            market_stem_word (stem, MARKET_LANG_DE, word, wl, stems [words][0]);
            market_stem_word (stem, MARKET_LANG_EN, word, wl, stems [words][1]);
            if (o)
                text [o++] = ' ';
            memcpy (text + o, word, wl);
            o += wl;
            words++;
        }
        if (words == 0)
            continue;
        if (*n == MARKET_SYNONYMS_MAX_ENTRIES)
            return -1;
        text [o++] = 0;
        for (size_t w = 0; w < words; w++)
            for (int l = 0; l < 2; l++) {
                size_t sl = strlen (stems [w][l]);
                p.stem [w][l] = (uint16_t) o;
                memcpy (text + o, stems [w][l], sl + 1);
                o += sl + 1;
            }
        p.text = (char *) malloc (o);
        if (!p.text)
            return -2;
        memcpy (p.text, text, o);
        p.n_words = (uint16_t) words;
        out [(*n)++] = p;
        continue;
    }
    return 0;
}

static void
s_rule_free (s_rule_t *rule)
{
    for (size_t i = 0; i < rule->n_entries; i++)
        free (rule->entries [i].text);
    free (rule->entries);
    rule->entries = NULL;
    rule->n_entries = 0;
}

/*  Parse one line into self; 0, -1 (bad line) or -2 (out of memory). */
static int
s_line (market_synonyms_t *self, const char *line, size_t len, market_stem_t *stem)
{
    //  Comments and blank lines
    size_t i = 0;
    while (i < len && (line [i] == ' ' || line [i] == '\t' || line [i] == '\r'))
        i++;
    if (i == len || line [i] == '#')
        return 0;
    if (len > MARKET_SYNONYMS_MAX_LINE || self->n_rules == MARKET_SYNONYMS_MAX_RULES)
        return -1;
    s_rule_t rule;
    memset (&rule, 0, sizeof rule);
    rule.entries = (s_phrase_t *) calloc (2 * MARKET_SYNONYMS_MAX_ENTRIES, sizeof (s_phrase_t));
    if (!rule.entries)
        return -2;
    const char *arrow = NULL;
    for (size_t j = 0; j + 1 < len; j++)
        if (line [j] == '=' && line [j + 1] == '>') {
            arrow = line + j;
            break;
        }
    int rc;
    if (arrow) {
        rc = s_side (line, (size_t) (arrow - line), stem, rule.entries, &rule.n_entries);
        rule.n_left = rule.n_entries;
        if (rc == 0)
            rc = s_side (arrow + 2, len - (size_t) (arrow + 2 - line), stem, rule.entries, &rule.n_entries);
        if (rc == 0 && (rule.n_left == 0 || rule.n_entries == rule.n_left))
            rc = -1;
    }
    else {
        rc = s_side (line, len, stem, rule.entries, &rule.n_entries);
        rule.n_left = rule.n_entries;
        rule.equivalent = 1;
        if (rc == 0 && rule.n_entries < 2)
            rc = -1;
    }
    if (rc == 0) {
        s_rule_t *grown = (s_rule_t *) realloc (self->rules, (self->n_rules + 1) * sizeof (s_rule_t));
        if (!grown)
            rc = -2;
        else {
            self->rules = grown;
            self->rules [self->n_rules++] = rule;
            self->bytes += sizeof (s_rule_t);
            for (size_t e = 0; e < rule.n_entries; e++)
                self->bytes += sizeof (s_phrase_t) + 3 * (strlen (rule.entries [e].text) + 1);  // text + stems, about
            return 0;
        }
    }
    s_rule_free (&rule);
    return rc;
}

market_synonyms_t *
market_synonyms_parse (const char *text, size_t len, market_stem_t *stem, size_t *bad_lines)
{
    if (bad_lines)
        *bad_lines = 0;
    if (len > MARKET_SYNONYMS_MAX_BYTES)
        return NULL;
    market_synonyms_t *self = (market_synonyms_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && text [i] != '\n')
            continue;
        int rc = s_line (self, text + start, i - start, stem);
        if (rc == -2) {
            market_synonyms_destroy (&self);
            return NULL;
        }
        if (rc < 0 && bad_lines)
            (*bad_lines)++;
        start = i + 1;
    }
    //  Shrink the entry arrays to what they hold
    for (size_t r = 0; r < self->n_rules; r++) {
        s_phrase_t *shrunk = (s_phrase_t *) realloc (self->rules [r].entries,
                                                     self->rules [r].n_entries * sizeof (s_phrase_t));
        if (shrunk)
            self->rules [r].entries = shrunk;
    }
    return self;
}

void
market_synonyms_destroy (market_synonyms_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    market_synonyms_t *self = *self_p;
    for (size_t r = 0; r < self->n_rules; r++)
        s_rule_free (&self->rules [r]);
    free (self->rules);
    free (self);
    *self_p = NULL;
}

size_t
market_synonyms_rules (const market_synonyms_t *self)
{
    return self->n_rules;
}

size_t
market_synonyms_bytes (const market_synonyms_t *self)
{
    return self->bytes + sizeof *self;
}

/*  Query word of phrase word w: its index, or SIZE_MAX. */
static size_t
s_find (const s_phrase_t *p, size_t w, const char *const *de, const char *const *en, size_t n)
{
    for (size_t q = 0; q < n; q++)
        if (strcmp (p->text + p->stem [w][0], de [q]) == 0 || strcmp (p->text + p->stem [w][1], en [q]) == 0)
            return q;
    return SIZE_MAX;
}

void
market_synonyms_expand (const market_synonyms_t *self, const char *const *stems_de,
                        const char *const *stems_en, size_t n, market_synonyms_fn *fn, void *arg)
{
    for (size_t r = 0; r < self->n_rules; r++) {
        const s_rule_t *rule = &self->rules [r];
        for (size_t l = 0; l < rule->n_left; l++) {
            const s_phrase_t *left = &rule->entries [l];
            size_t word = SIZE_MAX, all = 1;
            for (size_t w = 0; w < left->n_words && all; w++) {
                size_t q = s_find (left, w, stems_de, stems_en, n);
                if (q == SIZE_MAX)
                    all = 0;
                else
                if (left->n_words == 1)
                    word = q;
            }
            if (!all)
                continue;
            for (size_t t = rule->equivalent? 0: rule->n_left; t < rule->n_entries; t++)
                if (t != l)
                    fn (arg, word, rule->entries [t].text);
        }
    }
}
