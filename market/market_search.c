/*  market_search.c — the lexical relevance index behind market.search (see
    market_search.h and docs/market.md "Search").

    Terms are stems of folded words (market_text). Each document keeps, per
    distinct stem, a field-weighted term frequency
        tf = W_TITLE * n_title + W_TAGS * n_tags + W_BODY * n_body
    and a weighted length dl (the same sum over all its words). A query word
    q (folded surface form, and its stem) matches:
      - its own stem, with weight 1 (a word hit), and
      - the terms of vocabulary word *forms* (every folded surface word seen,
        and every stem) that hold at least S_FUZZY_MIN of the character
        trigrams (with ^/$ boundary marks) of q's surface or of q's stem,
        with weight S_FUZZY_WEIGHT * c^2 where c is the best such share:
        compounds ("wasser" in "wasserkanister"), typos ("aples" ~ "apples"),
        irregular plurals ("fahrräder" ~ "fahrrad" via their stems). Always
        below a word hit.
    Per document, q contributes the best of its matches' BM25 scores
        w * idf(t) * tf (k1 + 1) / (tf + k1 (1 - b + b dl / avgdl)),
        idf(t) = ln (1 + (N - df + 0.5) / (df + 0.5)),
    and the document's score is the sum over the distinct query stems.
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
#include "market_search.h"
#include "market_text.h"

/*  Capacity of a growable array on its first allocation. */
#define S_FIRST_CAP 8

/*  BM25 parameters (Robertson's usual values). */
#define S_K1              1.2
#define S_B               0.75
/*  Field weights: a title word counts twice a body word, a tag 1.5 times. */
#define S_W_TITLE         2.0
#define S_W_TAGS          1.5
#define S_W_BODY          1.0
/*  Trigram (fuzzy) matches: at most 40% of a word hit ... */
#define S_FUZZY_WEIGHT    0.4
/*  ... and only for forms holding >= 60% of the query word's trigrams
    ("besser" holds 3 of the 6 of "wasser": not a match). */
#define S_FUZZY_MIN       0.6
/*  Query words shorter than 3 code points match exactly only (1-2 trigrams
    say nothing). */
#define S_FUZZY_MIN_CHARS 3
/*  Fuzzy expansions kept per query word (the best ones). */
#define S_FUZZY_MAX_EXPANSIONS 64
/*  Distinct query words considered. */
#define S_MAX_QUERY_WORDS 32
/*  Words indexed per document (a body of EVENT_MAX_BODY_BYTES has fewer). */
#define S_MAX_DOC_WORDS   8192
/*  Compact postings once this many dead documents exist and they outnumber
    the live ones. */
#define S_COMPACT_MIN_DEAD 1024
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

/*  A word form (folded surface word or stem), the unit of fuzzy matching. */
typedef struct {
    char     *text;             /* owned */
    uint32_t  term;             /* the term of its stem */
} s_form_t;

typedef enum { S_DOC_FREE = 0, S_DOC_LIVE, S_DOC_DEAD } s_doc_state_t;

typedef struct {
    s_doc_state_t state;
    char         *id;           /* owned while LIVE */
    double        length;       /* weighted length */
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
    float    weight;
} s_occ_t;

typedef struct {
    uint32_t term;
    double   weight;
} s_match_t;

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
    double        total_length; /* of live documents */
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

/*  Add a form of `term` (no-op if known), with its trigram entries. */
static int
s_form_add (market_search_t *self, const char *text, uint32_t term)
{
    uint32_t fid;
    market_idx_keys_t keys = { s_form_key, self };
    if (market_idx_get (self->form_map, text, &keys, &fid) == 0)
        return 0;
    if (HEARTH_VEC_GROW (self->forms, self->cap_forms, self->n_forms + 1, S_FIRST_CAP))
        return HEARTH_ENOMEM;
    s_form_t *form = &self->forms [self->n_forms];
    form->text = strdup (text);
    form->term = term;
    if (!form->text)
        return HEARTH_ENOMEM;
    fid = (uint32_t) self->n_forms;
    if (market_idx_put (self->form_map, form->text, fid, &keys)) {
        free (form->text);
        return HEARTH_ENOMEM;
    }
    self->n_forms++;
    //  A failure below leaves the form with fewer trigram entries: only its
    //  fuzzy recall drops. Not worth a rollback.
    uint64_t grams [S_MAX_WORD_CPS + 2];
    size_t n = s_word_grams (text, grams);
    for (size_t i = 0; i < n; i++)
        if (s_gram_add (self, grams [i], fid))
            return HEARTH_ENOMEM;
    return 0;
}

/*  Term of a folded surface word: known forms cost one lookup; a new word
    is stemmed and both its surface and its stem become forms. */
static int
s_word_term (market_search_t *self, const char *surface, size_t len, uint32_t *term)
{
    uint32_t fid;
    market_idx_keys_t keys = { s_form_key, self };
    if (market_idx_get (self->form_map, surface, &keys, &fid) == 0) {
        *term = self->forms [fid].term;
        return 0;
    }
    char stem [MARKET_TEXT_MAX_WORD + 1];
    memcpy (stem, surface, len + 1);
    market_text_stem (stem, len);
    int rc = s_term_intern (self, stem, term);
    if (rc == 0)
        rc = s_form_add (self, surface, *term);
    if (rc == 0)
        rc = s_form_add (self, stem, *term);
    return rc;
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
    if (!self->term_map || !self->form_map || !self->doc_map) {
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
    double total = 0;
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
    self->total_length = total;         // also clears floating drift
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

/*  Append the word occurrences of text, each with weight, to self->occ. */
static int
s_collect (market_search_t *self, const char *text, float weight, size_t *n)
{
    if (!text)
        return 0;
    const char *cursor = text, *end = text + strlen (text);
    char word [MARKET_TEXT_MAX_WORD + 1];
    size_t len;
    while (*n < S_MAX_DOC_WORDS && (len = market_text_next_word (&cursor, end, word)) > 0) {
        if (HEARTH_VEC_GROW (self->occ, self->cap_occ, *n + 1, S_FIRST_CAP))
            return HEARTH_ENOMEM;
        uint32_t term;
        int rc = s_word_term (self, word, len, &term);
        if (rc)
            return rc;
        self->occ [*n].term = term;
        self->occ [*n].weight = weight;
        (*n)++;
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

    size_t n = 0;
    int rc = s_collect (self, title, (float) S_W_TITLE, &n);
    for (size_t i = 0; rc == 0 && i < n_tags; i++)
        rc = s_collect (self, tags [i], (float) S_W_TAGS, &n);
    if (rc == 0)
        rc = s_collect (self, body, (float) S_W_BODY, &n);
    if (rc)
        return rc;
    if (n > 1)
        qsort (self->occ, n, sizeof (s_occ_t), s_cmp_occ);
    //  Merge equal terms, summing weights; length = sum of all weights
    double length = 0;
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++) {
        length += self->occ [i].weight;
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
        term->postings [term->n_postings].tf = self->occ [i].weight;
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

static int
s_cmp_match (const void *a, const void *b)
{
    const s_match_t *x = (const s_match_t *) a, *y = (const s_match_t *) b;
    if (x->weight != y->weight)
        return x->weight > y->weight? -1: 1;
    return x->term < y->term? -1: x->term > y->term;
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

/*  Raise share[form] to the share of `word`'s trigrams each form holds.
    touched: forms whose share became non-zero (appended at *n_touched). */
static void
s_form_shares (market_search_t *self, const char *word, uint32_t *touched, size_t *n_touched,
               uint32_t *counted)
{
    uint64_t grams [S_MAX_WORD_CPS + 2];
    size_t n_grams = s_word_grams (word, grams);
    if (n_grams < S_FUZZY_MIN_CHARS)
        return;
    size_t n_counted = 0;
    for (size_t g = 0; g < n_grams; g++) {
        const s_gram_t *entry = s_gram_find (self, grams [g]);
        for (uint32_t i = 0; entry && i < entry->n; i++) {
            uint32_t f = entry->forms [i];
            if (self->counts [f]++ == 0)
                counted [n_counted++] = f;
        }
    }
    for (size_t i = 0; i < n_counted; i++) {
        uint32_t f = counted [i];
        float share = (float) self->counts [f] / (float) n_grams;
        self->counts [f] = 0;
        if (self->share [f] == 0)
            touched [(*n_touched)++] = f;
        if (share > self->share [f])
            self->share [f] = share;
    }
}

/*  Exact and fuzzy matches of one query word into out (capacity
    1 + S_FUZZY_MAX_EXPANSIONS); returns the count. Scratch: touched and
    counted hold n_forms ids each, terms n_terms. */
static size_t
s_matches (market_search_t *self, const char *surface, const char *stem, s_match_t *out,
           uint32_t *touched, uint32_t *counted, uint32_t *terms)
{
    size_t n = 0;
    uint32_t exact = UINT32_MAX;
    market_idx_keys_t keys = { s_term_key, self };
    if (market_idx_get (self->term_map, stem, &keys, &exact) == 0 && self->terms [exact].df > 0) {
        out [n].term = exact;
        out [n].weight = 1.0;
        n++;
    }
    //  Forms holding enough of the surface's or the stem's trigrams
    size_t n_touched = 0;
    s_form_shares (self, surface, touched, &n_touched, counted);
    if (strcmp (surface, stem) != 0)
        s_form_shares (self, stem, touched, &n_touched, counted);
    size_t n_terms = 0;
    for (size_t i = 0; i < n_touched; i++) {
        uint32_t f = touched [i];
        float share = self->share [f];
        self->share [f] = 0;
        uint32_t t = self->forms [f].term;
        if (t == exact || self->terms [t].df == 0 || share < (float) S_FUZZY_MIN)
            continue;
        float w = (float) (S_FUZZY_WEIGHT * share * share);
        if (self->term_w [t] == 0)
            terms [n_terms++] = t;
        if (w > self->term_w [t])
            self->term_w [t] = w;
    }
    //  Keep the best S_FUZZY_MAX_EXPANSIONS terms
    s_match_t *fuzzy = out + n;
    size_t n_fuzzy = 0;
    for (size_t i = 0; i < n_terms; i++) {
        s_match_t m = { terms [i], self->term_w [terms [i]] };
        self->term_w [terms [i]] = 0;
        if (n_fuzzy < S_FUZZY_MAX_EXPANSIONS)
            fuzzy [n_fuzzy++] = m;
        else {
            size_t worst = 0;
            for (size_t j = 1; j < n_fuzzy; j++)
                if (s_cmp_match (&fuzzy [j], &fuzzy [worst]) > 0)
                    worst = j;
            if (s_cmp_match (&m, &fuzzy [worst]) < 0)
                fuzzy [worst] = m;
        }
    }
    return n + n_fuzzy;
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
    if (s_reserve_zeroed (&self->score, &self->cap_score, self->n_docs, sizeof *self->score)
    ||  s_reserve_zeroed (&self->best, &self->cap_best, self->n_docs, sizeof *self->best)
    ||  s_reserve_zeroed (&self->counts, &self->cap_counts, self->n_forms, sizeof *self->counts)
    ||  s_reserve_zeroed (&self->share, &self->cap_share, self->n_forms, sizeof *self->share)
    ||  s_reserve_zeroed (&self->term_w, &self->cap_term_w, self->n_terms, sizeof *self->term_w))
        return 0;

    //  Distinct query words (by stem), each with its surface form
    char surfaces [S_MAX_QUERY_WORDS][MARKET_TEXT_MAX_WORD + 1];
    char stems [S_MAX_QUERY_WORDS][MARKET_TEXT_MAX_WORD + 1];
    size_t n_words = 0;
    size_t qlen = strnlen (query, MARKET_SEARCH_MAX_QUERY_BYTES);
    const char *cursor = query, *end = query + qlen;
    char word [MARKET_TEXT_MAX_WORD + 1];
    size_t len;
    while (n_words < S_MAX_QUERY_WORDS && (len = market_text_next_word (&cursor, end, word)) > 0) {
        memcpy (surfaces [n_words], word, sizeof word);
        market_text_stem (word, len);
        size_t i;
        for (i = 0; i < n_words; i++)
            if (strcmp (stems [i], word) == 0)
                break;
        if (i == n_words)
            memcpy (stems [n_words++], word, sizeof word);
    }

    size_t result = 0, n_cands = 0;
    uint32_t *touched = (uint32_t *) malloc ((self->n_forms + 1) * sizeof (uint32_t));
    uint32_t *counted = (uint32_t *) malloc ((self->n_forms + 1) * sizeof (uint32_t));
    uint32_t *terms = (uint32_t *) malloc ((self->n_terms + 1) * sizeof (uint32_t));
    uint32_t *touched_q = (uint32_t *) malloc ((self->n_docs + 1) * sizeof (uint32_t));
    s_cand_t *cands = (s_cand_t *) malloc ((self->n_docs + 1) * sizeof (s_cand_t));
    s_match_t *matches = (s_match_t *) malloc ((1 + S_FUZZY_MAX_EXPANSIONS) * sizeof (s_match_t));
    if (!touched || !counted || !terms || !touched_q || !cands || !matches)
        goto done;

    double avgdl = self->total_length / (double) self->live_docs;
    if (avgdl <= 0)
        avgdl = 1;
    double n_docs = (double) self->live_docs;
    for (size_t q = 0; q < n_words; q++) {
        size_t n_matches = s_matches (self, surfaces [q], stems [q], matches, touched, counted, terms);
        size_t n_touched = 0;
        for (size_t m = 0; m < n_matches; m++) {
            const s_term_t *term = &self->terms [matches [m].term];
            double df = (double) term->df;
            double idf = log (1.0 + (n_docs - df + 0.5) / (df + 0.5));
            for (size_t p = 0; p < term->n_postings; p++) {
                uint32_t d = term->postings [p].doc;
                const s_doc_t *doc = &self->docs [d];
                if (doc->state != S_DOC_LIVE)
                    continue;
                double tf = term->postings [p].tf;
                double norm = S_K1 * (1.0 - S_B + S_B * doc->length / avgdl);
                double s = matches [m].weight * idf * tf * (S_K1 + 1.0) / (tf + norm);
                if (s > self->best [d]) {
                    if (self->best [d] == 0)
                        touched_q [n_touched++] = d;
                    self->best [d] = s;
                }
            }
        }
        for (size_t i = 0; i < n_touched; i++) {
            uint32_t d = touched_q [i];
            if (self->score [d] == 0) {
                cands [n_cands].doc = d;
                cands [n_cands].score = 0;
                n_cands++;
            }
            self->score [d] += self->best [d];
            self->best [d] = 0;
        }
    }
    for (size_t i = 0; i < n_cands; i++) {
        cands [i].score = self->score [cands [i].doc];
        cands [i].id = self->docs [cands [i].doc].id;
        self->score [cands [i].doc] = 0;
    }
    if (n_cands > 1)
        qsort (cands, n_cands, sizeof cands [0], s_cmp_cand);
    for (size_t i = 0; i < n_cands && result < k; i++) {
        if (accept && !accept (arg, cands [i].id))
            continue;
        out [result].doc_id = cands [i].id;
        out [result].score = cands [i].score;
        result++;
    }
done:
    free (touched);
    free (counted);
    free (terms);
    free (touched_q);
    free (cands);
    free (matches);
    return result;
}
