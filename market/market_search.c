/*  market_search.c — the lexical relevance index behind market.search (see
    market_search.h and docs/market.md "Search").

    Indexing: a post's words are folded (market_text) and stemmed in the
    post's language (market_text_language picks German or English;
    market_stem). Function words are skipped. A word the lexicon splits as
    a German compound ("stromausfall") also indexes its parts as *part
    terms* (the part's German stem behind a 0x01 byte), so a query for
    "ausfall" meets it as a part, not as the word itself. Each document
    keeps, per distinct term, a field-weighted term frequency
        tf = W_TITLE * n_title + W_TAGS * n_tags + W_BODY * n_body
    and a weighted length dl (the same sum over all its words).

    Querying: each query word q gets *alternatives*, each a weight and
    1..MARKET_LEXICON_MAX_PHRASE parts, each part a set of terms:
      - q itself (its German and English stems; its part term at S_W_PART),
        weight 1;
      - q's compound parts, weight S_W_COMPOUND;
      - community synonyms (S_W_COMMUNITY), thesaurus synonyms
        (S_W_SYNONYM) and translations (S_W_TRANSLATION) of q, each a
        phrase whose words are the parts;
      - fuzzy look-alikes: terms of vocabulary forms holding >= S_FUZZY_MIN
        of q's trigrams, weight S_FUZZY_WEIGHT * c^2 (c the share).
    A document's match of a term is
        m = tw * (S_SAT_FLOOR + (1 - S_SAT_FLOOR) * sat),
        sat = tf / (tf + k1 (1 - b + b dl / avgdl))   (BM25's saturation),
    a part scores its best term, an alternative the idf-weighted mean of
    its parts times its weight, and q contributes
        idf(q) * (best alternative),  idf = ln (1 + (N - df + 0.5)/(df + 0.5))
    with df the document frequency of q itself (or, for a word no post
    holds, of its rarest expansion). The floor makes the weakest real
    alternative (S_SAT_FLOOR * S_W_SYNONYM) outweigh the strongest fuzzy
    one, so a look-alike never outranks a real match of the same word, and
    idf(q) makes a word most posts hold ("gesucht", "wanted") count less
    than the item. Scores are sums of exactly reproducible terms in a fixed
    order, and ties go by document id: the same posts give the same
    ranking on every node.
    Removal is lazy (dead documents are skipped and compacted later), so
    updates and expiries cost O(words of the document).
*/
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "hearth_error.h"
#include "hearth_vec.h"
#include "market_idx.h"
#include "market_lexicon.h"
#include "market_search.h"
#include "market_stem.h"
#include "market_synonyms.h"
#include "market_text.h"

/*  Capacity of a growable array on its first allocation. */
#define S_FIRST_CAP 8

/*  BM25 parameters (Robertson's usual values). */
#define S_K1              1.2
#define S_B               0.75
/*  Field weights: a title word counts twice a body word, a tag 1.5 times.
    Lengths are kept in half units (integers), so every node sums them
    exactly. */
#define S_W_TITLE         2.0
#define S_W_TAGS          1.5
#define S_W_BODY          1.0
#define S_HALF_TITLE      4
#define S_HALF_TAGS       3
#define S_HALF_BODY       2
/*  A matched term scores at least this share of its weight (the rest
    grows with its saturated frequency). */
#define S_SAT_FLOOR       0.6
/*  Alternative weights (a word hit is 1). */
#define S_W_PART          0.85  /* q is a part of the post's compound */
#define S_W_COMPOUND      0.8   /* q's own compound parts, all present */
#define S_W_COMMUNITY     0.8   /* the community synonym file */
#define S_W_TRANSLATION   0.65  /* German <-> English */
#define S_W_SYNONYM       0.6   /* thesaurus and dictionary synonyms */
/*  Trigram (fuzzy) matches: at most S_FUZZY_WEIGHT of a word hit, which
    stays under the weakest real match (S_SAT_FLOOR * S_W_SYNONYM) ... */
#define S_FUZZY_WEIGHT    0.35
/*  The alternatives of a typo's likely correction: this much of their
    weight, times c^2 (see s_alt_correct). */
#define S_W_CORRECTION    0.5
/*  ... and only for forms holding >= 60% of the query word's trigrams
    ("besser" holds 3 of the 6 of "wasser": not a match). */
#define S_FUZZY_MIN       0.6
/*  Query words shorter than 3 code points match exactly only (1-2 trigrams
    say nothing). */
#define S_FUZZY_MIN_CHARS 3
/*  Fuzzy expansions kept per query word (the best ones). */
#define S_FUZZY_MAX_EXPANSIONS 64
/*  Real alternatives per query word at most (itself, its parts, synonyms,
    translations): bounds a query's work. */
#define S_MAX_ALTS        40
/*  Terms of one part (German stem, English stem, part term). */
#define S_MAX_PART_TERMS  3
/*  An expansion term (not the word itself) holding more than
    max (S_EXPAND_DF_FACTOR * df(word), S_EXPAND_DF_SHARE * N) posts is
    skipped (never below S_EXPAND_DF_MIN posts), and so is a word of a multi-word expansion whose idf share
    is under S_MIN_PART_SHARE (see s_score_word). */
#define S_EXPAND_DF_FACTOR 10.0
#define S_EXPAND_DF_SHARE  0.02
#define S_MIN_PART_SHARE   0.2
#define S_EXPAND_DF_MIN    1000.0
/*  Candidates ordered before accept() filters: this many times k (the
    others only if accept() refuses too many). */
#define S_SELECT_FACTOR   4
/*  Distinct query words considered (phrase synonyms included). */
#define S_MAX_QUERY_WORDS 32
/*  Words indexed per document (a body of EVENT_MAX_BODY_BYTES has fewer). */
#define S_MAX_DOC_WORDS   8192
/*  Compact postings once this many dead documents exist and they outnumber
    the live ones. */
#define S_COMPACT_MIN_DEAD 1024
/*  First byte of a part term's text (never produced by folding). */
#define S_PART_MARK       '\x01'
/*  Trigram code of the boundary marks: just above the Unicode range. */
#define S_MARK_BEGIN      0x110000u
#define S_MARK_END        0x110001u
/*  Code points per word at most (MARKET_TEXT_MAX_WORD bytes). */
#define S_MAX_WORD_CPS    MARKET_TEXT_MAX_WORD

typedef struct {
    uint32_t doc;               /* slot */
    float    tf;                /* field-weighted term frequency */
} s_posting_t;

/*  A stem: the unit of scoring. */
typedef struct {
    char        *text;          /* owned: the stem */
    s_posting_t *postings;      /* owned; may include dead documents */
    size_t       n_postings, cap_postings;
    size_t       df;            /* live documents holding the term */
} s_term_t;

/*  A word form (folded surface word or stem), the unit of fuzzy matching
    and of the analysis cache: a surface form knows its terms. */
typedef struct {
    char     *text;             /* owned */
    uint32_t  term [MARKET_LANG_COUNT];   /* the term of its stem, per language */
    uint32_t  parts [MARKET_LEXICON_MAX_PARTS];  /* part terms of a compound */
    uint8_t   n_parts;
    uint8_t   surface;          /* 1: analysed as a word (else only a stem) */
} s_form_t;

typedef enum { S_DOC_FREE = 0, S_DOC_LIVE, S_DOC_DEAD } s_doc_state_t;

typedef struct {
    s_doc_state_t state;
    char         *id;           /* owned while LIVE */
    uint32_t      length;       /* weighted length, in half units */
    uint32_t     *terms;        /* owned: distinct term ids (LIVE and DEAD) */
    size_t        n_terms;
} s_doc_t;

typedef struct {
    uint64_t  gram;             /* 0 = empty slot */
    uint32_t *forms;            /* owned: form ids holding the trigram */
    uint32_t  n, cap;
} s_gram_t;

/*  One word occurrence while indexing a document. */
typedef struct {
    uint32_t term;
    uint32_t weight;            /* half units */
} s_occ_t;

typedef struct {
    uint32_t term;
    double   weight;
} s_match_t;

/*  One alternative of a query word: weight, parts, each part's terms. */
typedef struct {
    double   weight;
    uint8_t  own;               /* 1: the query word itself */
    uint8_t  n_parts;
    uint8_t  n_terms [MARKET_LEXICON_MAX_PHRASE];
    uint32_t terms [MARKET_LEXICON_MAX_PHRASE][S_MAX_PART_TERMS];
    float    term_w [MARKET_LEXICON_MAX_PHRASE][S_MAX_PART_TERMS];
    double   share [MARKET_LEXICON_MAX_PHRASE];     /* idf share of each part */
} s_alt_t;

typedef struct {
    uint32_t    doc;
    double      score;
    const char *id;             /* borrowed from the document */
} s_cand_t;

struct _market_search_t {
    s_term_t     *terms;        /* owned */
    size_t        n_terms, cap_terms;
    market_idx_t *term_map;     /* owned; stem -> term id (keys: the terms' text) */
    s_form_t     *forms;        /* owned */
    size_t        n_forms, cap_forms;
    market_idx_t *form_map;     /* owned; form -> form id (keys: the forms' text) */
    s_doc_t      *docs;         /* owned */
    size_t        n_docs, cap_docs;
    uint32_t     *free_slots;   /* owned */
    size_t        n_free, cap_free;
    market_idx_t *doc_map;      /* owned; id -> slot of the LIVE documents (keys: their ids) */
    size_t        live_docs, dead_docs;
    uint64_t      total_length; /* of live documents, half units */
    market_stem_t *stem;        /* owned */
    const market_lexicon_t  *lexicon;    /* borrowed; may be NULL */
    const market_synonyms_t *synonyms;   /* borrowed; may be NULL */
    s_gram_t     *grams;        /* owned; open addressing table */
    size_t        n_grams, cap_grams;
    uint8_t       gram_key [crypto_shorthash_KEYBYTES];
    //  Scratch (owned), kept zero between calls where noted
    s_occ_t      *occ;          /* word occurrences of the document being indexed */
    size_t        cap_occ;
    double       *score, *best; /* per doc slot, zero-kept */
    size_t        cap_score, cap_best;
    uint16_t     *counts;       /* per form, zero-kept */
    size_t        cap_counts;
    float        *share;        /* per form, zero-kept */
    size_t        cap_share;
    float        *term_w;       /* per term, zero-kept */
    size_t        cap_term_w;
    double       *part_best, *alt_acc;   /* per doc slot, zero-kept */
    size_t        cap_part_best, cap_alt_acc;
    uint32_t     *touched_part, *touched_alt, *touched_word;   /* per doc slot */
    size_t        cap_touched_part, cap_touched_alt, cap_touched_word;
    s_cand_t     *cands;
    size_t        cap_cands;
};

/* ---- small helpers ------------------------------------------------------ */

/*  Grow a zero-kept scratch array (array_p: its T **), zeroing the new
    part. */
static int
s_reserve_zeroed (void *array_p, size_t *cap, size_t need, size_t elem)
{
    size_t old = *cap;
    int rc = hearth_vec_grow (array_p, cap, need, elem, S_FIRST_CAP);
    if (rc == 0 && *cap > old) {
        char *array;
        memcpy (&array, array_p, sizeof array);
        memset (array + old * elem, 0, (*cap - old) * elem);
    }
    return rc;
}

static uint64_t
s_gram_hash (const market_search_t *self, uint64_t gram)
{
    uint8_t out [crypto_shorthash_BYTES];
    crypto_shorthash (out, (const unsigned char *) &gram, sizeof gram, self->gram_key);
    uint64_t h;
    memcpy (&h, out, sizeof h);
    return h;
}

static int
s_cmp_u64 (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y? -1: x > y;
}

/*  Distinct trigrams of a folded word into grams[]; returns the count. Each
    trigram packs three 21-bit code points (boundary marks fit in 21 bits). */
static size_t
s_word_grams (const char *word, uint64_t grams [S_MAX_WORD_CPS + 2])
{
    uint32_t cps [S_MAX_WORD_CPS + 3];
    size_t n = 0, len = strlen (word), i = 0;
    cps [n++] = S_MARK_BEGIN;
    while (i < len && n < S_MAX_WORD_CPS + 1) {
        uint32_t c;
        size_t m = market_text_utf8_decode (word + i, len - i, &c);
        if (m == 0) {
            c = (unsigned char) word [i];
            m = 1;
        }
        cps [n++] = c;
        i += m;
    }
    cps [n++] = S_MARK_END;
    size_t g = 0;
    for (i = 0; i + 2 < n; i++)
        grams [g++] = ((uint64_t) cps [i] << 42) | ((uint64_t) cps [i + 1] << 21) | cps [i + 2];
    qsort (grams, g, sizeof grams [0], s_cmp_u64);
    size_t u = 0;
    for (i = 0; i < g; i++)
        if (u == 0 || grams [u - 1] != grams [i])
            grams [u++] = grams [i];
    return u;
}

/* ---- trigram table ------------------------------------------------------- */

static s_gram_t *
s_gram_find (const market_search_t *self, uint64_t gram)
{
    if (self->cap_grams == 0)
        return NULL;
    size_t mask = self->cap_grams - 1;
    size_t i = (size_t) s_gram_hash (self, gram) & mask;
    while (self->grams [i].gram) {
        if (self->grams [i].gram == gram)
            return &self->grams [i];
        i = (i + 1) & mask;
    }
    return NULL;
}

static int
s_gram_table_grow (market_search_t *self)
{
    size_t n = self->cap_grams? self->cap_grams * 2: 1024;
    s_gram_t *table = (s_gram_t *) calloc (n, sizeof (s_gram_t));
    if (!table)
        return HEARTH_ENOMEM;
    for (size_t i = 0; i < self->cap_grams; i++) {
        if (!self->grams [i].gram)
            continue;
        size_t j = (size_t) s_gram_hash (self, self->grams [i].gram) & (n - 1);
        while (table [j].gram)
            j = (j + 1) & (n - 1);
        table [j] = self->grams [i];
    }
    free (self->grams);
    self->grams = table;
    self->cap_grams = n;
    return 0;
}

/*  Record that form holds gram. */
static int
s_gram_add (market_search_t *self, uint64_t gram, uint32_t form)
{
    s_gram_t *entry = s_gram_find (self, gram);
    if (!entry) {
        //  Keep the load factor under 1/2
        if ((self->n_grams + 1) * 2 > self->cap_grams && s_gram_table_grow (self))
            return HEARTH_ENOMEM;
        size_t mask = self->cap_grams - 1;
        size_t i = (size_t) s_gram_hash (self, gram) & mask;
        while (self->grams [i].gram)
            i = (i + 1) & mask;
        entry = &self->grams [i];
        entry->gram = gram;
        self->n_grams++;
    }
    if (entry->n == entry->cap) {
        /*  A uint32_t count (the table holds millions of entries): its
            capacity stays below 2^32 (a count that high is out of memory). */
        size_t cap = entry->cap;
        if (entry->n == UINT32_MAX || HEARTH_VEC_GROW (entry->forms, cap, (size_t) entry->n + 1, 4))
            return HEARTH_ENOMEM;
        entry->cap = cap > UINT32_MAX? UINT32_MAX: (uint32_t) cap;
    }
    entry->forms [entry->n++] = form;
    return 0;
}

/* ---- vocabulary --------------------------------------------------------- */

/*  Keys of the three maps, by index (market_idx_keys_t): read through self,
    as the arrays move when they grow. */
static const void *
s_term_key (const void *arg, uint32_t id)
{
    return ((const market_search_t *) arg)->terms [id].text;
}

static const void *
s_form_key (const void *arg, uint32_t id)
{
    return ((const market_search_t *) arg)->forms [id].text;
}

static const void *
s_doc_key (const void *arg, uint32_t slot)
{
    const s_doc_t *doc = &((const market_search_t *) arg)->docs [slot];
    assert (doc->id);               // only LIVE documents are in doc_map
    return doc->id;
}

/*  Term id of a stem, creating the term. */
static int
s_term_intern (market_search_t *self, const char *stem, uint32_t *id)
{
    market_idx_keys_t keys = { s_term_key, self };
    if (market_idx_get (self->term_map, stem, &keys, id) == 0)
        return 0;
    if (HEARTH_VEC_GROW (self->terms, self->cap_terms, self->n_terms + 1, S_FIRST_CAP))
        return HEARTH_ENOMEM;
    s_term_t *term = &self->terms [self->n_terms];
    memset (term, 0, sizeof *term);
    term->text = strdup (stem);
    if (!term->text)
        return HEARTH_ENOMEM;
    if (market_idx_put (self->term_map, term->text, (uint32_t) self->n_terms, &keys)) {
        free (term->text);
        return HEARTH_ENOMEM;
    }
    *id = (uint32_t) self->n_terms++;
    return 0;
}

/*  Form id of text, adding it (as a stem form of `term`, with its trigram
    entries) if unknown. */
static int
s_form_add (market_search_t *self, const char *text, uint32_t term, uint32_t *id)
{
    uint32_t fid;
    market_idx_keys_t keys = { s_form_key, self };
    if (market_idx_get (self->form_map, text, &keys, &fid) == 0) {
        *id = fid;
        return 0;
    }
    if (HEARTH_VEC_GROW (self->forms, self->cap_forms, self->n_forms + 1, S_FIRST_CAP))
        return HEARTH_ENOMEM;
    s_form_t *form = &self->forms [self->n_forms];
    memset (form, 0, sizeof *form);
    form->text = strdup (text);
    form->term [MARKET_LANG_DE] = form->term [MARKET_LANG_EN] = term;
    if (!form->text)
        return HEARTH_ENOMEM;
    fid = (uint32_t) self->n_forms;
    if (market_idx_put (self->form_map, form->text, fid, &keys)) {
        free (form->text);
        return HEARTH_ENOMEM;
    }
    self->n_forms++;
    *id = fid;
    //  A failure below leaves the form with fewer trigram entries: only its
    //  fuzzy recall drops. Not worth a rollback.
    uint64_t grams [S_MAX_WORD_CPS + 2];
    size_t n = s_word_grams (text, grams);
    for (size_t i = 0; i < n; i++)
        if (s_gram_add (self, grams [i], fid))
            return HEARTH_ENOMEM;
    return 0;
}

/*  Term of a stem in lang's text, creating it; prefix S_PART_MARK for a
    part term. */
static int
s_stem_term (market_search_t *self, const char *word, size_t len, market_lang_t lang, int part,
             uint32_t *term, char stem [MARKET_TEXT_MAX_WORD + 2])
{
    if (part)
        stem [0] = S_PART_MARK;
    market_stem_word (self->stem, lang, word, len, stem + (part? 1: 0));
    return s_term_intern (self, stem, term);
}

/*  Form of a folded surface word, analysed: known surface forms cost one
    lookup; a new word gets its German and English stems (both also forms,
    for fuzzy matching) and, if the lexicon splits it, its part terms. */
static int
s_word_form (market_search_t *self, const char *surface, size_t len, uint32_t *form_id)
{
    uint32_t fid;
    market_idx_keys_t keys = { s_form_key, self };
    if (market_idx_get (self->form_map, surface, &keys, &fid) == 0 && self->forms [fid].surface) {
        *form_id = fid;
        return 0;
    }
    uint32_t terms [MARKET_LANG_COUNT], parts [MARKET_LEXICON_MAX_PARTS];
    char stem [MARKET_TEXT_MAX_WORD + 2];
    uint32_t unused;
    for (int l = 0; l < MARKET_LANG_COUNT; l++) {
        int rc = s_stem_term (self, surface, len, (market_lang_t) l, 0, &terms [l], stem);
        if (rc == 0)
            rc = s_form_add (self, stem, terms [l], &unused);
        if (rc)
            return rc;
    }
    size_t n_parts = 0;
    if (self->lexicon) {
        char split [MARKET_LEXICON_MAX_PARTS][MARKET_TEXT_MAX_WORD + 1];
        n_parts = market_lexicon_split (self->lexicon, surface, len, split);
        for (size_t i = 0; i < n_parts; i++) {
            int rc = s_stem_term (self, split [i], strlen (split [i]), MARKET_LANG_DE, 1, &parts [i], stem);
            if (rc)
                return rc;
        }
    }
    int rc = s_form_add (self, surface, terms [MARKET_LANG_DE], &fid);
    if (rc)
        return rc;
    s_form_t *form = &self->forms [fid];
    memcpy (form->term, terms, sizeof terms);
    memcpy (form->parts, parts, n_parts * sizeof parts [0]);
    form->n_parts = (uint8_t) n_parts;
    form->surface = 1;
    *form_id = fid;
    return 0;
}

/* ---- lifecycle ------------------------------------------------------------ */

market_search_t *
market_search_new (void)
{
    if (sodium_init () < 0)
        return NULL;
    market_search_t *self = (market_search_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->term_map = market_idx_new (0);
    self->form_map = market_idx_new (0);
    self->doc_map = market_idx_new (0);
    self->stem = market_stem_new ();
    if (!self->term_map || !self->form_map || !self->doc_map || !self->stem) {
        market_search_destroy (&self);
        return NULL;
    }
    randombytes_buf (self->gram_key, sizeof self->gram_key);
    return self;
}

void
market_search_destroy (market_search_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    market_search_t *self = *self_p;
    for (size_t i = 0; i < self->n_terms; i++) {
        free (self->terms [i].text);
        free (self->terms [i].postings);
    }
    free (self->terms);
    for (size_t i = 0; i < self->n_forms; i++)
        free (self->forms [i].text);
    free (self->forms);
    for (size_t i = 0; i < self->n_docs; i++) {
        free (self->docs [i].id);
        free (self->docs [i].terms);
    }
    free (self->docs);
    free (self->free_slots);
    for (size_t i = 0; i < self->cap_grams; i++)
        free (self->grams [i].forms);
    free (self->grams);
    free (self->occ);
    free (self->score);
    free (self->best);
    free (self->counts);
    free (self->share);
    free (self->term_w);
    free (self->part_best);
    free (self->alt_acc);
    free (self->touched_part);
    free (self->touched_alt);
    free (self->touched_word);
    free (self->cands);
    market_stem_destroy (&self->stem);
    market_idx_destroy (&self->term_map);
    market_idx_destroy (&self->form_map);
    market_idx_destroy (&self->doc_map);
    free (self);
    *self_p = NULL;
}

size_t
market_search_size (const market_search_t *self)
{
    return self->live_docs;
}

int
market_search_set_lexicon (market_search_t *self, const market_lexicon_t *lexicon)
{
    if (self->n_docs > 0)
        return HEARTH_EINVAL;           // posts indexed without it would lack their parts
    self->lexicon = lexicon;
    return 0;
}

void
market_search_set_synonyms (market_search_t *self, const market_synonyms_t *synonyms)
{
    self->synonyms = synonyms;
}

size_t
market_search_bytes (const market_search_t *self)
{
    size_t bytes = sizeof *self;
    for (size_t t = 0; t < self->n_terms; t++)
        bytes += strlen (self->terms [t].text) + 1 + self->terms [t].cap_postings * sizeof (s_posting_t);
    bytes += self->cap_terms * sizeof (s_term_t);
    for (size_t f = 0; f < self->n_forms; f++)
        bytes += strlen (self->forms [f].text) + 1;
    bytes += self->cap_forms * sizeof (s_form_t);
    for (size_t d = 0; d < self->n_docs; d++)
        bytes += (self->docs [d].id? strlen (self->docs [d].id) + 1: 0) + self->docs [d].n_terms * sizeof (uint32_t);
    bytes += self->cap_docs * sizeof (s_doc_t) + self->cap_free * sizeof (uint32_t);
    for (size_t g = 0; g < self->cap_grams; g++)
        bytes += self->grams [g].cap * sizeof (uint32_t);
    bytes += self->cap_grams * sizeof (s_gram_t);
    bytes += 8 * (market_idx_slots (self->term_map) + market_idx_slots (self->form_map)
                  + market_idx_slots (self->doc_map));
    return bytes;
}

/* ---- removal ------------------------------------------------------------- */

/*  Drop postings of dead documents and recycle their slots. */
static void
s_compact (market_search_t *self)
{
    for (size_t t = 0; t < self->n_terms; t++) {
        s_term_t *term = &self->terms [t];
        size_t keep = 0;
        for (size_t p = 0; p < term->n_postings; p++)
            if (self->docs [term->postings [p].doc].state == S_DOC_LIVE)
                term->postings [keep++] = term->postings [p];
        term->n_postings = keep;
    }
    uint64_t total = 0;
    for (size_t d = 0; d < self->n_docs; d++) {
        s_doc_t *doc = &self->docs [d];
        if (doc->state == S_DOC_LIVE)
            total += doc->length;
        else
        if (doc->state == S_DOC_DEAD) {
            free (doc->terms);
            doc->terms = NULL;
            doc->n_terms = 0;
            doc->state = S_DOC_FREE;
            //  put() reserved room for every slot in free_slots
            assert (self->n_free < self->cap_free);
            self->free_slots [self->n_free++] = (uint32_t) d;
        }
    }
    self->total_length = total;
    self->dead_docs = 0;
}

static void
s_kill (market_search_t *self, uint32_t slot)
{
    s_doc_t *doc = &self->docs [slot];
    assert (doc->state == S_DOC_LIVE);
    for (size_t i = 0; i < doc->n_terms; i++) {
        assert (self->terms [doc->terms [i]].df > 0);
        self->terms [doc->terms [i]].df--;
    }
    market_idx_keys_t keys = { s_doc_key, self };
    int rc = market_idx_remove (self->doc_map, doc->id, &keys);
    assert (rc == 0);               // every LIVE document is in doc_map
    (void) rc;
    free (doc->id);
    doc->id = NULL;
    doc->state = S_DOC_DEAD;
    self->live_docs--;
    self->total_length -= doc->length;
    self->dead_docs++;
    if (self->dead_docs >= S_COMPACT_MIN_DEAD && self->dead_docs > self->live_docs)
        s_compact (self);
}

int
market_search_remove (market_search_t *self, const char *doc_id)
{
    uint32_t slot;
    market_idx_keys_t keys = { s_doc_key, self };
    if (market_idx_get (self->doc_map, doc_id, &keys, &slot))
        return HEARTH_ENOTFOUND;
    s_kill (self, slot);
    return 0;
}

/* ---- indexing ------------------------------------------------------------ */

/*  Append the word occurrences of text, each with weight (half units),
    to self->occ: the word's term in lang and its part terms; function
    words only add to *length. */
static int
s_collect (market_search_t *self, const char *text, uint32_t weight, market_lang_t lang, size_t *n,
           size_t *words, uint32_t *length)
{
    if (!text)
        return 0;
    const char *cursor = text, *end = text + strlen (text);
    char word [MARKET_TEXT_MAX_WORD + 1];
    size_t len;
    while (*words < S_MAX_DOC_WORDS && (len = market_text_next_word (&cursor, end, word)) > 0) {
        (*words)++;
        *length += weight;
        if (market_text_stopword (word))
            continue;
        uint32_t fid;
        int rc = s_word_form (self, word, len, &fid);
        if (rc)
            return rc;
        const s_form_t *form = &self->forms [fid];
        if (HEARTH_VEC_GROW (self->occ, self->cap_occ, *n + 1 + form->n_parts, S_FIRST_CAP))
            return HEARTH_ENOMEM;
        self->occ [*n].term = form->term [lang];
        self->occ [*n].weight = weight;
        (*n)++;
        for (size_t i = 0; i < form->n_parts; i++) {
            self->occ [*n].term = form->parts [i];
            self->occ [*n].weight = weight;
            (*n)++;
        }
    }
    return 0;
}

static int
s_cmp_occ (const void *a, const void *b)
{
    uint32_t x = ((const s_occ_t *) a)->term, y = ((const s_occ_t *) b)->term;
    return x < y? -1: x > y;
}

int
market_search_put (market_search_t *self, const char *doc_id, const char *title,
                   const char *body, const char *const *tags, size_t n_tags)
{
    uint32_t old;
    market_idx_keys_t keys = { s_doc_key, self };
    if (market_idx_get (self->doc_map, doc_id, &keys, &old) == 0)
        s_kill (self, old);

    const char *texts [2 + 16];
    size_t n_texts = 0;
    texts [n_texts++] = title;
    texts [n_texts++] = body;
    for (size_t i = 0; i < n_tags && n_texts < sizeof texts / sizeof texts [0]; i++)
        texts [n_texts++] = tags [i];
    market_lang_t lang = market_text_language (texts, n_texts);
    size_t n = 0, words = 0;
    uint32_t length = 0;
    int rc = s_collect (self, title, S_HALF_TITLE, lang, &n, &words, &length);
    for (size_t i = 0; rc == 0 && i < n_tags; i++)
        rc = s_collect (self, tags [i], S_HALF_TAGS, lang, &n, &words, &length);
    if (rc == 0)
        rc = s_collect (self, body, S_HALF_BODY, lang, &n, &words, &length);
    if (rc)
        return rc;
    if (n > 1)
        qsort (self->occ, n, sizeof (s_occ_t), s_cmp_occ);
    //  Merge equal terms, summing weights
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++) {
        if (distinct > 0 && self->occ [distinct - 1].term == self->occ [i].term)
            self->occ [distinct - 1].weight += self->occ [i].weight;
        else
            self->occ [distinct++] = self->occ [i];
    }

    //  A slot; reserve the free list now so compaction never allocates
    uint32_t slot;
    if (HEARTH_VEC_GROW (self->free_slots, self->cap_free, self->n_docs + 1, S_FIRST_CAP))
        return HEARTH_ENOMEM;
    if (self->n_free > 0)
        slot = self->free_slots [--self->n_free];
    else {
        if (HEARTH_VEC_GROW (self->docs, self->cap_docs, self->n_docs + 1, S_FIRST_CAP))
            return HEARTH_ENOMEM;
        slot = (uint32_t) self->n_docs++;
        memset (&self->docs [slot], 0, sizeof (s_doc_t));
    }
    s_doc_t *doc = &self->docs [slot];
    doc->id = strdup (doc_id);
    doc->terms = (uint32_t *) malloc ((distinct? distinct: 1) * sizeof (uint32_t));
    if (!doc->id || !doc->terms)
        goto oom;
    doc->n_terms = 0;
    for (size_t i = 0; i < distinct; i++) {
        s_term_t *term = &self->terms [self->occ [i].term];
        if (HEARTH_VEC_GROW (term->postings, term->cap_postings, term->n_postings + 1, S_FIRST_CAP))
            goto oom;
        term->postings [term->n_postings].doc = slot;
        term->postings [term->n_postings].tf = (float) self->occ [i].weight / 2.0f;
        term->n_postings++;
        term->df++;
        doc->terms [doc->n_terms++] = self->occ [i].term;
    }
    if (market_idx_put (self->doc_map, doc->id, slot, &keys))
        goto oom;
    doc->state = S_DOC_LIVE;
    doc->length = length;
    self->live_docs++;
    self->total_length += length;
    return 0;

oom:
    //  Undo: postings added last are at the end of each term's list
    for (size_t i = 0; i < doc->n_terms; i++) {
        s_term_t *term = &self->terms [doc->terms [i]];
        term->n_postings--;
        term->df--;
    }
    free (doc->id);
    free (doc->terms);
    memset (doc, 0, sizeof *doc);
    self->free_slots [self->n_free++] = slot;
    return HEARTH_ENOMEM;
}

/* ---- query --------------------------------------------------------------- */

/*  Fuzzy candidates best first; ties by term text (term ids differ between
    nodes), so the kept set is the same everywhere. */
static const market_search_t *s_sort_self;

static int
s_cmp_match (const void *a, const void *b)
{
    const s_match_t *x = (const s_match_t *) a, *y = (const s_match_t *) b;
    if (x->weight != y->weight)
        return x->weight > y->weight? -1: 1;
    return strcmp (s_sort_self->terms [x->term].text, s_sort_self->terms [y->term].text);
}

/*  Candidates best first; ties by document id, descending (newer ULIDs
    first), so every node returns the same order. */
static int
s_cmp_cand (const void *a, const void *b)
{
    const s_cand_t *x = (const s_cand_t *) a, *y = (const s_cand_t *) b;
    if (x->score != y->score)
        return x->score > y->score? -1: 1;
    return -strcmp (x->id, y->id);
}

/*  Raise share[form] to the share of `word`'s trigrams each form holds,
    for the forms holding at least S_FUZZY_MIN of them. touched: forms
    whose share became non-zero (appended at *n_touched).
    Prefix filtering: a form holding `need` of the n trigrams holds at least
    one of any n - need + 1 of them, so only the rarest n - need + 1 lists
    are walked for candidates, and each candidate's share is then counted
    exactly from its own trigrams. Common trigrams ("en$", "sch") have lists
    of most of the vocabulary; they are never walked. */
static void
s_form_shares (market_search_t *self, const char *word, uint32_t *touched, size_t *n_touched,
               uint32_t *counted)
{
    uint64_t grams [S_MAX_WORD_CPS + 2];
    size_t n_grams = s_word_grams (word, grams);
    if (n_grams < S_FUZZY_MIN_CHARS)
        return;
    size_t need = (size_t) ceil (S_FUZZY_MIN * (double) n_grams - 1e-9);
    if (need < 1)
        need = 1;
    //  The trigrams' lists, rarest first
    const s_gram_t *lists [S_MAX_WORD_CPS + 2];
    size_t n_lists = 0;
    for (size_t g = 0; g < n_grams; g++) {
        const s_gram_t *entry = s_gram_find (self, grams [g]);
        lists [n_lists++] = entry;
    }
    for (size_t i = 1; i < n_lists; i++)
        for (size_t j = i; j > 0 && (lists [j - 1]? lists [j - 1]->n: 0) > (lists [j]? lists [j]->n: 0); j--) {
            const s_gram_t *t = lists [j];
            lists [j] = lists [j - 1];
            lists [j - 1] = t;
        }
    size_t n_counted = 0;
    for (size_t g = 0; g + need < n_grams + 1; g++)
        for (uint32_t i = 0; lists [g] && i < lists [g]->n; i++) {
            uint32_t f = lists [g]->forms [i];
            if (self->counts [f]++ == 0)
                counted [n_counted++] = f;
        }
    for (size_t i = 0; i < n_counted; i++) {
        uint32_t f = counted [i];
        self->counts [f] = 0;
        //  The exact count: merge the two sorted trigram sets
        uint64_t own [S_MAX_WORD_CPS + 2];
        size_t n_own = s_word_grams (self->forms [f].text, own), common = 0;
        for (size_t x = 0, y = 0; x < n_grams && y < n_own; ) {
            if (grams [x] == own [y]) {
                common++;
                x++;
                y++;
            }
            else
            if (grams [x] < own [y])
                x++;
            else
                y++;
        }
        if (common < need)
            continue;
        float share = (float) common / (float) n_grams;
        if (self->share [f] == 0)
            touched [(*n_touched)++] = f;
        if (share > self->share [f])
            self->share [f] = share;
    }
}

/*  A query word under analysis. */
typedef struct {
    char     surface [MARKET_TEXT_MAX_WORD + 1];
    char     stem [MARKET_LANG_COUNT][MARKET_TEXT_MAX_WORD + 1];
    s_alt_t *alts;              /* S_MAX_ALTS + S_FUZZY_MAX_EXPANSIONS */
    size_t   n_alts;
    size_t   own_df;            /* df of the word itself (its stems) */
} s_qword_t;

/*  Existing term id of text, or UINT32_MAX. */
static uint32_t
s_term_find (const market_search_t *self, const char *text)
{
    uint32_t id;
    market_idx_keys_t keys = { s_term_key, self };
    if (market_idx_get (self->term_map, text, &keys, &id) == 0 && self->terms [id].df > 0)
        return id;
    return UINT32_MAX;
}

/*  The terms a word meets as one part: its German and English stems
    (weight 1) and its German part term (S_W_PART). Returns the count. */
static size_t
s_part_terms (market_search_t *self, const char *word, uint32_t *terms, float *weights)
{
    size_t n = 0, len = strlen (word);
    char stem [MARKET_TEXT_MAX_WORD + 2];
    for (int l = 0; l < MARKET_LANG_COUNT; l++) {
        market_stem_word (self->stem, (market_lang_t) l, word, len, stem);
        uint32_t t = s_term_find (self, stem);
        if (t != UINT32_MAX && (n == 0 || terms [0] != t)) {
            terms [n] = t;
            weights [n++] = 1.0f;
        }
    }
    stem [0] = S_PART_MARK;
    market_stem_word (self->stem, MARKET_LANG_DE, word, len, stem + 1);
    uint32_t t = s_term_find (self, stem);
    if (t != UINT32_MAX) {
        terms [n] = t;
        weights [n++] = (float) S_W_PART;
    }
    return n;
}

static double
s_idf (double n_docs, double df)
{
    return log (1.0 + (n_docs - df + 0.5) / (df + 0.5));
}

/*  Add an alternative of weight w whose parts are the words of phrase (one
    space between words). An alternative no post can meet is dropped. */
static void
s_alt_add (market_search_t *self, s_qword_t *q, double w, const char *phrase)
{
    if (q->n_alts >= S_MAX_ALTS)
        return;
    s_alt_t *alt = &q->alts [q->n_alts];
    memset (alt, 0, sizeof *alt);
    alt->weight = w;
    const char *cursor = phrase, *end = phrase + strlen (phrase);
    char word [MARKET_TEXT_MAX_WORD + 1];
    double idf_sum = 0, n_docs = (double) self->live_docs;
    int any = 0;
    while (market_text_next_word (&cursor, end, word) > 0) {
        if (alt->n_parts == MARKET_LEXICON_MAX_PHRASE)
            return;
        size_t i = alt->n_parts++;
        alt->n_terms [i] = (uint8_t) s_part_terms (self, word, alt->terms [i], alt->term_w [i]);
        size_t df = 0;
        for (size_t t = 0; t < alt->n_terms [i]; t++)
            if (alt->term_w [i][t] == 1.0f && self->terms [alt->terms [i][t]].df > df)
                df = self->terms [alt->terms [i][t]].df;
        alt->share [i] = s_idf (n_docs, (double) df);
        idf_sum += alt->share [i];
        any |= alt->n_terms [i] > 0;
    }
    if (!any || alt->n_parts == 0)
        return;
    //  The same alternative twice (a synonym listed by two sources) counts once
    for (size_t a = 0; a < q->n_alts; a++)
        if (q->alts [a].n_parts == alt->n_parts && memcmp (q->alts [a].n_terms, alt->n_terms, sizeof alt->n_terms) == 0
        &&  memcmp (q->alts [a].terms, alt->terms, sizeof alt->terms) == 0) {
            if (w > q->alts [a].weight)
                q->alts [a].weight = w;
            return;
        }
    for (size_t i = 0; i < alt->n_parts; i++)
        alt->share [i] /= idf_sum;
    q->n_alts++;
}

/*  Lexicon expansions of q (translations and synonyms, both languages). */
static void
s_alt_lexicon (market_search_t *self, s_qword_t *q)
{
    if (!self->lexicon)
        return;
    static const struct { market_lexicon_kind_t kind; double weight; } kinds [] = {
        { MARKET_LEXICON_SYNONYM, S_W_SYNONYM }, { MARKET_LEXICON_TRANSLATION, S_W_TRANSLATION }
    };
    for (size_t k = 0; k < 2; k++)
        for (int l = 0; l < MARKET_LANG_COUNT; l++) {
            char key [MARKET_TEXT_MAX_WORD + 3];
            snprintf (key, sizeof key, "%c:%s", l == MARKET_LANG_DE? 'd': 'e', q->stem [l]);
            const char *texts [MARKET_LEXICON_MAX_PER_KIND];
            size_t n = market_lexicon_lookup (self->lexicon, key, kinds [k].kind, texts);
            for (size_t i = 0; i < n; i++)
                s_alt_add (self, q, kinds [k].weight, texts [i]);
        }
}

/*  Fuzzy alternatives of q: terms of forms holding enough of the
    trigrams of its surface or stems, not already met for real. Scratch:
    touched and counted hold n_forms ids each, terms n_terms. */
static void
s_alt_fuzzy (market_search_t *self, s_qword_t *q, uint32_t *touched, uint32_t *counted, uint32_t *terms,
             s_match_t *fuzzy, uint32_t *best_form, float *best_share)
{
    *best_form = UINT32_MAX;
    *best_share = 0;
    size_t n_touched = 0;
    s_form_shares (self, q->surface, touched, &n_touched, counted);
    for (int l = 0; l < MARKET_LANG_COUNT; l++)
        if (strcmp (q->surface, q->stem [l]) != 0 && (l == 0 || strcmp (q->stem [0], q->stem [1]) != 0))
            s_form_shares (self, q->stem [l], touched, &n_touched, counted);
    //  Terms met for real are marked so fuzzy skips them
    for (size_t a = 0; a < q->n_alts; a++)
        for (size_t i = 0; i < q->alts [a].n_parts; i++)
            for (size_t t = 0; t < q->alts [a].n_terms [i]; t++)
                self->term_w [q->alts [a].terms [i][t]] = -1.0f;
    size_t n_terms = 0;
    for (size_t i = 0; i < n_touched; i++) {
        uint32_t f = touched [i];
        float share = self->share [f];
        self->share [f] = 0;
        const s_form_t *form = &self->forms [f];
        //  The best look-alike word a post holds: the likely correction
        if (form->surface && share >= (float) S_FUZZY_MIN && self->terms [form->term [0]].df + self->terms [form->term [1]].df > 0) {
            int better = *best_form == UINT32_MAX || share > *best_share;
            if (!better && share == *best_share) {
                const s_form_t *cur = &self->forms [*best_form];
                size_t df = self->terms [form->term [0]].df, cur_df = self->terms [cur->term [0]].df;
                better = df > cur_df || (df == cur_df && strcmp (form->text, cur->text) < 0);
            }
            if (better) {
                *best_form = f;
                *best_share = share;
            }
        }
        for (int l = 0; l < MARKET_LANG_COUNT; l++) {
            uint32_t t = form->term [l];
            if (self->terms [t].df == 0 || share < (float) S_FUZZY_MIN || self->term_w [t] < 0)
                continue;
            float w = (float) (S_FUZZY_WEIGHT * share * share);
            if (self->term_w [t] == 0)
                terms [n_terms++] = t;
            if (w > self->term_w [t])
                self->term_w [t] = w;
        }
    }
    //  Keep the best S_FUZZY_MAX_EXPANSIONS terms
    size_t n_fuzzy = 0;
    for (size_t i = 0; i < n_terms; i++) {
        fuzzy [n_fuzzy].term = terms [i];
        fuzzy [n_fuzzy].weight = self->term_w [terms [i]];
        self->term_w [terms [i]] = 0;
        n_fuzzy++;
    }
    for (size_t a = 0; a < q->n_alts; a++)
        for (size_t i = 0; i < q->alts [a].n_parts; i++)
            for (size_t t = 0; t < q->alts [a].n_terms [i]; t++)
                self->term_w [q->alts [a].terms [i][t]] = 0;
    s_sort_self = self;
    if (n_fuzzy > 1)
        qsort (fuzzy, n_fuzzy, sizeof fuzzy [0], s_cmp_match);
    if (n_fuzzy > S_FUZZY_MAX_EXPANSIONS)
        n_fuzzy = S_FUZZY_MAX_EXPANSIONS;
    for (size_t i = 0; i < n_fuzzy; i++) {
        s_alt_t *alt = &q->alts [q->n_alts++];
        memset (alt, 0, sizeof *alt);
        alt->weight = fuzzy [i].weight;
        alt->n_parts = 1;
        alt->n_terms [0] = 1;
        alt->terms [0][0] = fuzzy [i].term;
        alt->term_w [0][0] = 1.0f;
        alt->share [0] = 1.0;
    }
}

/*  Collects community synonym expansions of a query. */
typedef struct {
    market_search_t *self;
    s_qword_t       *words;
    size_t           n_words, n_real;
} s_syn_ctx_t;

static void
s_on_synonym (void *arg, size_t word, const char *target)
{
    s_syn_ctx_t *ctx = (s_syn_ctx_t *) arg;
    if (word < ctx->n_real) {
        s_alt_add (ctx->self, &ctx->words [word], S_W_COMMUNITY, target);
        return;
    }
    //  A phrase of several query words: its targets form one more query
    //  word (one per phrase target, bounded)
    if (ctx->n_words >= S_MAX_QUERY_WORDS)
        return;
    s_qword_t *q = &ctx->words [ctx->n_words];
    q->n_alts = 0;
    q->own_df = 0;
    snprintf (q->surface, sizeof q->surface, "%s", "");
    s_alt_add (ctx->self, q, S_W_COMMUNITY, target);
    if (q->n_alts > 0)
        ctx->n_words++;
}

/*  Score one query word's alternatives into self->score via the per-doc
    scratch; appends new candidates to cands. */
static void
s_score_word (market_search_t *self, const s_qword_t *q, double avgdl, size_t *n_cands)
{
    double n_docs = (double) self->live_docs;
    //  idf of the word: its own df, else its rarest real expansion's
    size_t df = q->own_df;
    if (df == 0)
        for (size_t a = 0; a < q->n_alts; a++)
            for (size_t i = 0; i < q->alts [a].n_parts; i++)
                for (size_t t = 0; t < q->alts [a].n_terms [i]; t++) {
                    size_t d = self->terms [q->alts [a].terms [i][t]].df;
                    if (d > 0 && (df == 0 || d < df))
                        df = d;
                }
    double idf = s_idf (n_docs, (double) df);
    //  An expansion far more common than the word itself, and common
    //  overall, is most likely another sense ("drill" -> "exercise"): not
    //  scanned (it would cost most of the query, for noise)
    double too_common = (double) q->own_df * S_EXPAND_DF_FACTOR;
    if (too_common < n_docs * S_EXPAND_DF_SHARE)
        too_common = n_docs * S_EXPAND_DF_SHARE;
    if (too_common < S_EXPAND_DF_MIN)
        too_common = S_EXPAND_DF_MIN;
    size_t n_word = 0;
    for (size_t a = 0; a < q->n_alts; a++) {
        const s_alt_t *alt = &q->alts [a];
        size_t n_alt = 0;
        for (size_t i = 0; i < alt->n_parts; i++) {
            size_t n_part = 0;
            //  A phrase's minor word ("machine" of "sewing machine") alone
            //  finds nothing: not scanned
            if (alt->n_parts > 1 && alt->share [i] < S_MIN_PART_SHARE)
                continue;
            for (size_t t = 0; t < alt->n_terms [i]; t++) {
                const s_term_t *term = &self->terms [alt->terms [i][t]];
                double tw = alt->term_w [i][t];
                if (!alt->own && (double) term->df > too_common)
                    continue;
                for (size_t p = 0; p < term->n_postings; p++) {
                    uint32_t d = term->postings [p].doc;
                    const s_doc_t *doc = &self->docs [d];
                    if (doc->state != S_DOC_LIVE)
                        continue;
                    double tf = term->postings [p].tf;
                    double norm = S_K1 * (1.0 - S_B + S_B * (double) doc->length / avgdl);
                    double m = tw * (S_SAT_FLOOR + (1.0 - S_SAT_FLOOR) * tf / (tf + norm));
                    if (m > self->part_best [d]) {
                        if (self->part_best [d] == 0)
                            self->touched_part [n_part++] = d;
                        self->part_best [d] = m;
                    }
                }
            }
            for (size_t j = 0; j < n_part; j++) {
                uint32_t d = self->touched_part [j];
                if (self->alt_acc [d] == 0)
                    self->touched_alt [n_alt++] = d;
                self->alt_acc [d] += alt->share [i] * self->part_best [d];
                self->part_best [d] = 0;
            }
        }
        for (size_t j = 0; j < n_alt; j++) {
            uint32_t d = self->touched_alt [j];
            double v = alt->weight * self->alt_acc [d];
            self->alt_acc [d] = 0;
            if (v > self->best [d]) {
                if (self->best [d] == 0)
                    self->touched_word [n_word++] = d;
                self->best [d] = v;
            }
        }
    }
    for (size_t j = 0; j < n_word; j++) {
        uint32_t d = self->touched_word [j];
        if (self->score [d] == 0) {
            self->cands [*n_cands].doc = d;
            self->cands [*n_cands].score = 0;
            (*n_cands)++;
        }
        self->score [d] += idf * self->best [d];
        self->best [d] = 0;
    }
}

/*  The real alternatives of a query word: itself, its compound parts. */
static void
s_alt_self (market_search_t *self, s_qword_t *q)
{
    size_t len = strlen (q->surface);
    for (int l = 0; l < MARKET_LANG_COUNT; l++)
        market_stem_word (self->stem, (market_lang_t) l, q->surface, len, q->stem [l]);
    s_alt_add (self, q, 1.0, q->surface);
    q->own_df = 0;
    if (q->n_alts == 1)
        q->alts [0].own = 1;
    if (q->n_alts == 1)
        for (size_t t = 0; t < q->alts [0].n_terms [0]; t++)
            if (q->alts [0].term_w [0][t] == 1.0f && self->terms [q->alts [0].terms [0][t]].df > q->own_df)
                q->own_df = self->terms [q->alts [0].terms [0][t]].df;
    if (self->lexicon) {
        char split [MARKET_LEXICON_MAX_PARTS][MARKET_TEXT_MAX_WORD + 1];
        size_t n = market_lexicon_split (self->lexicon, q->surface, len, split);
        if (n >= 2 && n <= MARKET_LEXICON_MAX_PHRASE) {
            char phrase [MARKET_LEXICON_MAX_PARTS * (MARKET_TEXT_MAX_WORD + 1)];
            size_t o = 0;
            for (size_t i = 0; i < n; i++) {
                size_t pl = strlen (split [i]);
                if (o)
                    phrase [o++] = ' ';
                memcpy (phrase + o, split [i], pl);
                o += pl;
            }
            phrase [o] = 0;
            s_alt_add (self, q, S_W_COMPOUND, phrase);
        }
    }
}

static void s_on_synonym (void *arg, size_t word, const char *target);

/*  Sift cands[at] down the heap of n (the root is the worst kept). */
static void
s_heap_down (s_cand_t *heap, size_t n, size_t at)
{
    for (;;) {
        size_t worst = at, l = 2 * at + 1, r = l + 1;
        if (l < n && s_cmp_cand (&heap [l], &heap [worst]) > 0)
            worst = l;
        if (r < n && s_cmp_cand (&heap [r], &heap [worst]) > 0)
            worst = r;
        if (worst == at)
            return;
        s_cand_t t = heap [at];
        heap [at] = heap [worst];
        heap [worst] = t;
        at = worst;
    }
}

/*  Move the best m of n candidates (s_cmp_cand order) to cands[0..m),
    unordered; the others follow. O(n log m). */
static void
s_select_best (s_cand_t *cands, size_t n, size_t m)
{
    for (size_t i = m / 2; i-- > 0; )
        s_heap_down (cands, m, i);
    for (size_t i = m; i < n; i++)
        if (s_cmp_cand (&cands [i], &cands [0]) < 0) {
            s_cand_t t = cands [0];
            cands [0] = cands [i];
            cands [i] = t;
            s_heap_down (cands, m, 0);
        }
}

/*  A word no post holds and no dictionary knows ("wheelchiar"): the real
    alternatives of its best look-alike ("wheelchair": itself, its
    translations and synonyms), at S_W_CORRECTION * c^2 of their weight, so
    a typo finds what the corrected word would, in both languages. */
static void
s_alt_correct (market_search_t *self, s_qword_t *q, const char *word, float share)
{
    s_alt_t alts [S_MAX_ALTS + S_FUZZY_MAX_EXPANSIONS];
    s_qword_t c;
    memset (&c, 0, sizeof c);
    c.alts = alts;
    snprintf (c.surface, sizeof c.surface, "%s", word);
    s_alt_self (self, &c);
    if (self->synonyms) {
        const char *de = c.stem [MARKET_LANG_DE], *en = c.stem [MARKET_LANG_EN];
        s_syn_ctx_t ctx = { self, &c, S_MAX_QUERY_WORDS, 1 };
        market_synonyms_expand (self->synonyms, &de, &en, 1, s_on_synonym, &ctx);
    }
    s_alt_lexicon (self, &c);
    double scale = S_W_CORRECTION * share * share;
    for (size_t a = 0; a < c.n_alts && q->n_alts < S_MAX_ALTS + S_FUZZY_MAX_EXPANSIONS; a++) {
        q->alts [q->n_alts] = c.alts [a];
        q->alts [q->n_alts].weight *= scale;
        q->n_alts++;
    }
}

size_t
market_search_query (market_search_t *self, const char *query, size_t k,
                     market_search_accept_fn *accept, void *arg,
                     market_search_hit_t *out)
{
    if (k == 0 || !query || self->live_docs == 0)
        return 0;
    if (k > MARKET_SEARCH_MAX_K)
        k = MARKET_SEARCH_MAX_K;
    size_t nd = self->n_docs;
    if (s_reserve_zeroed (&self->score, &self->cap_score, nd, sizeof *self->score)
    ||  s_reserve_zeroed (&self->best, &self->cap_best, nd, sizeof *self->best)
    ||  s_reserve_zeroed (&self->part_best, &self->cap_part_best, nd, sizeof *self->part_best)
    ||  s_reserve_zeroed (&self->alt_acc, &self->cap_alt_acc, nd, sizeof *self->alt_acc)
    ||  HEARTH_VEC_GROW (self->touched_part, self->cap_touched_part, nd, S_FIRST_CAP)
    ||  HEARTH_VEC_GROW (self->touched_alt, self->cap_touched_alt, nd, S_FIRST_CAP)
    ||  HEARTH_VEC_GROW (self->touched_word, self->cap_touched_word, nd, S_FIRST_CAP)
    ||  HEARTH_VEC_GROW (self->cands, self->cap_cands, nd, S_FIRST_CAP)
    ||  s_reserve_zeroed (&self->counts, &self->cap_counts, self->n_forms, sizeof *self->counts)
    ||  s_reserve_zeroed (&self->share, &self->cap_share, self->n_forms, sizeof *self->share)
    ||  s_reserve_zeroed (&self->term_w, &self->cap_term_w, self->n_terms, sizeof *self->term_w))
        return 0;

    size_t result = 0, n_cands = 0;
    s_qword_t *words = (s_qword_t *) calloc (S_MAX_QUERY_WORDS, sizeof (s_qword_t));
    s_alt_t *alts = (s_alt_t *) malloc (S_MAX_QUERY_WORDS * (S_MAX_ALTS + S_FUZZY_MAX_EXPANSIONS) * sizeof (s_alt_t));
    uint32_t *touched = (uint32_t *) malloc ((self->n_forms + 1) * sizeof (uint32_t));
    uint32_t *counted = (uint32_t *) malloc ((self->n_forms + 1) * sizeof (uint32_t));
    uint32_t *terms = (uint32_t *) malloc ((2 * self->n_terms + 1) * sizeof (uint32_t));
    s_match_t *fuzzy = (s_match_t *) malloc ((2 * self->n_terms + 1) * sizeof (s_match_t));
    if (!words || !alts || !touched || !counted || !terms || !fuzzy)
        goto done;
    for (size_t i = 0; i < S_MAX_QUERY_WORDS; i++)
        words [i].alts = alts + i * (S_MAX_ALTS + S_FUZZY_MAX_EXPANSIONS);

    //  Distinct query words; function words only if there is nothing else
    size_t n_words = 0, n_stop = 0;
    char stop [S_MAX_QUERY_WORDS][MARKET_TEXT_MAX_WORD + 1];
    size_t qlen = strnlen (query, MARKET_SEARCH_MAX_QUERY_BYTES);
    const char *cursor = query, *end = query + qlen;
    char word [MARKET_TEXT_MAX_WORD + 1];
    while (n_words < S_MAX_QUERY_WORDS && market_text_next_word (&cursor, end, word) > 0) {
        size_t i;
        for (i = 0; i < n_words; i++)
            if (strcmp (words [i].surface, word) == 0)
                break;
        if (i < n_words)
            continue;
        if (market_text_stopword (word)) {
            if (n_stop < S_MAX_QUERY_WORDS)
                memcpy (stop [n_stop++], word, sizeof word);
            continue;
        }
        memcpy (words [n_words++].surface, word, sizeof word);
    }
    if (n_words == 0) {
        n_words = n_stop;
        for (size_t i = 0; i < n_stop; i++)
            memcpy (words [i].surface, stop [i], sizeof stop [i]);
        n_stop = 0;                 // they are the query words now
    }
    for (size_t i = 0; i < n_words; i++)
        s_alt_self (self, &words [i]);
    //  Community synonyms (one-word rules expand their word, phrases add words)
    size_t n_real = n_words;
    if (self->synonyms) {
        //  Function words count here: "nicht laufen" is a phrase of the file
        const char *de [2 * S_MAX_QUERY_WORDS], *en [2 * S_MAX_QUERY_WORDS];
        char stop_stem [S_MAX_QUERY_WORDS][MARKET_LANG_COUNT][MARKET_TEXT_MAX_WORD + 1];
        size_t n = 0;
        for (size_t i = 0; i < n_real; i++, n++) {
            de [n] = words [i].stem [MARKET_LANG_DE];
            en [n] = words [i].stem [MARKET_LANG_EN];
        }
        for (size_t i = 0; i < n_stop; i++, n++) {
            for (int l = 0; l < MARKET_LANG_COUNT; l++)
                market_stem_word (self->stem, (market_lang_t) l, stop [i], strlen (stop [i]), stop_stem [i][l]);
            de [n] = stop_stem [i][MARKET_LANG_DE];
            en [n] = stop_stem [i][MARKET_LANG_EN];
        }
        s_syn_ctx_t ctx = { self, words, n_words, n_real };
        market_synonyms_expand (self->synonyms, de, en, n, s_on_synonym, &ctx);
        n_words = ctx.n_words;
    }
    for (size_t i = 0; i < n_real; i++) {
        s_alt_lexicon (self, &words [i]);
        size_t n_known = words [i].n_alts;
        uint32_t best;
        float share;
        s_alt_fuzzy (self, &words [i], touched, counted, terms, fuzzy, &best, &share);
        if (n_known == 0 && best != UINT32_MAX)
            s_alt_correct (self, &words [i], self->forms [best].text, share);
    }

    double avgdl = (double) self->total_length / (double) self->live_docs;
    if (avgdl <= 0)
        avgdl = 1;
    for (size_t q = 0; q < n_words; q++)
        s_score_word (self, &words [q], avgdl, &n_cands);
    s_cand_t *cands = self->cands;
    for (size_t i = 0; i < n_cands; i++) {
        cands [i].score = self->score [cands [i].doc];
        cands [i].id = self->docs [cands [i].doc].id;
        self->score [cands [i].doc] = 0;
    }
    //  The best S_SELECT_FACTOR * k first (a bounded heap), sorted; the
    //  rest only if accept() turned too many of them down
    size_t head = S_SELECT_FACTOR * k;
    if (n_cands > head) {
        s_select_best (cands, n_cands, head);
        qsort (cands, head, sizeof cands [0], s_cmp_cand);
    }
    else
    if (n_cands > 1)
        qsort (cands, n_cands, sizeof cands [0], s_cmp_cand);
    for (size_t i = 0; i < n_cands && result < k; i++) {
        if (i == head)          // accept() refused many: order the rest too
            qsort (cands + head, n_cands - head, sizeof cands [0], s_cmp_cand);
        if (accept && !accept (arg, cands [i].id))
            continue;
        out [result].doc_id = cands [i].id;
        out [result].score = cands [i].score;
        result++;
    }
done:
    free (words);
    free (alts);
    free (touched);
    free (counted);
    free (terms);
    free (fuzzy);
    return result;
}
