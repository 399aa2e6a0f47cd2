/*  market_search.c — the lexical relevance index behind market.search (see
    market_search.h and docs/market.md "Search").

    Terms are stems of folded words (market_text). Each document keeps, per
    distinct stem, a field-weighted term frequency
        tf = W_TITLE * n_title + W_TAGS * n_tags + W_BODY * n_body
    and a weighted length dl (the same sum over all its words). A query word
    q (folded, stemmed) matches:
      - its own stem, with weight 1 (a word hit), and
      - vocabulary stems that hold at least S_FUZZY_MIN of q's character
        trigrams (with ^/$ boundary marks), with weight S_FUZZY_WEIGHT * c^2
        where c is that share: compounds ("wasser" in "wasserkanister") and
        typos ("generatr" ~ "generator"). Always below a word hit.
    Per document, q contributes the best of its matches' BM25 scores
        w * idf(t) * tf (k1 + 1) / (tf + k1 (1 - b + b dl / avgdl)),
        idf(t) = ln (1 + (N - df + 0.5) / (df + 0.5)),
    and the document's score is the sum over the distinct query words.
    Removal is lazy (dead documents are skipped and compacted later), so
    updates and expiries cost O(words of the document).
*/
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "hearth_error.h"
#include "market_map.h"
#include "market_search.h"
#include "market_text.h"

/*  BM25 parameters (Robertson's usual values). */
#define S_K1              1.2
#define S_B               0.75
/*  Field weights: a title word counts twice a body word, a tag 1.5 times. */
#define S_W_TITLE         2.0
#define S_W_TAGS          1.5
#define S_W_BODY          1.0
/*  Trigram (fuzzy) matches: at most 40% of a word hit ... */
#define S_FUZZY_WEIGHT    0.4
/*  ... and only for stems holding >= 60% of the query word's trigrams
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

typedef struct {
    char        *text;          /* owned: the stem */
    s_posting_t *postings;      /* owned; may include dead documents */
    size_t       n_postings, cap_postings;
    size_t       df;            /* live documents holding the term */
} s_term_t;

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
    uint32_t *terms;            /* owned: term ids holding the trigram */
    uint32_t  n, cap;
} s_gram_t;

typedef struct {
    char   text [MARKET_TEXT_MAX_WORD + 1];
    double weight;
} s_word_t;

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
    market_map_t *term_map;     /* owned; stem -> term id, keys borrowed from terms */
    s_doc_t      *docs;         /* owned */
    size_t        n_docs, cap_docs;
    uint32_t     *free_slots;   /* owned */
    size_t        n_free, cap_free;
    market_map_t *doc_map;      /* owned; id -> slot, keys borrowed from docs */
    size_t        live_docs, dead_docs;
    double        total_length; /* of live documents */
    s_gram_t     *grams;        /* owned; open addressing table */
    size_t        n_grams, cap_grams;
    uint8_t       gram_key [crypto_shorthash_KEYBYTES];
    //  Query scratch (owned), kept zero between queries
    double       *score, *best; /* per doc slot */
    uint16_t     *counts;       /* per term */
    size_t        cap_score, cap_best, cap_counts;
};

/* ---- small helpers ------------------------------------------------------ */

static int
s_reserve (void **array, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap? *cap: 8;
    while (n < need)
        n *= 2;
    void *grown = realloc (*array, n * elem);
    if (!grown)
        return HEARTH_ENOMEM;
    *array = grown;
    *cap = n;
    return 0;
}

/*  Grow a zero-kept scratch array, zeroing the new part. */
static int
s_reserve_zeroed (void **array, size_t *cap, size_t need, size_t elem)
{
    size_t old = *cap;
    int rc = s_reserve (array, cap, need, elem);
    if (rc == 0 && *cap > old)
        memset ((char *) *array + old * elem, 0, (*cap - old) * elem);
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

/*  Code points of a folded stem with boundary marks; returns the count. */
static size_t
s_marked_cps (const char *word, uint32_t *cps)
{
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
    return n;
}

static int
s_cmp_u64 (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y? -1: x > y;
}

/*  Distinct trigrams of a stem into grams[]; returns the count. Each
    trigram packs three 21-bit code points (boundary marks fit in 21 bits). */
static size_t
s_word_grams (const char *word, uint64_t grams [S_MAX_WORD_CPS + 2])
{
    uint32_t cps [S_MAX_WORD_CPS + 3];
    size_t n = s_marked_cps (word, cps);
    size_t g = 0;
    for (size_t i = 0; i + 2 < n; i++)
        grams [g++] = ((uint64_t) cps [i] << 42) | ((uint64_t) cps [i + 1] << 21) | cps [i + 2];
    qsort (grams, g, sizeof grams [0], s_cmp_u64);
    size_t u = 0;
    for (size_t i = 0; i < g; i++)
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

/*  Record that term holds gram. */
static int
s_gram_add (market_search_t *self, uint64_t gram, uint32_t term)
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
        uint32_t cap = entry->cap? entry->cap * 2: 4;
        uint32_t *grown = (uint32_t *) realloc (entry->terms, cap * sizeof (uint32_t));
        if (!grown)
            return HEARTH_ENOMEM;
        entry->terms = grown;
        entry->cap = cap;
    }
    entry->terms [entry->n++] = term;
    return 0;
}

/* ---- vocabulary --------------------------------------------------------- */

/*  Term id of a stem, creating the term (and its trigram entries). */
static int
s_term_intern (market_search_t *self, const char *text, uint32_t *id)
{
    if (market_map_get (self->term_map, text, id) == 0)
        return 0;
    if (s_reserve ((void **) &self->terms, &self->cap_terms, self->n_terms + 1, sizeof (s_term_t)))
        return HEARTH_ENOMEM;
    s_term_t *term = &self->terms [self->n_terms];
    memset (term, 0, sizeof *term);
    term->text = strdup (text);
    if (!term->text)
        return HEARTH_ENOMEM;
    uint32_t tid = (uint32_t) self->n_terms;
    if (market_map_put (self->term_map, term->text, tid)) {
        free (term->text);
        return HEARTH_ENOMEM;
    }
    self->n_terms++;
    //  A failure below leaves the term with fewer trigram entries: it still
    //  matches exactly, only fuzzy recall drops. Not worth a rollback.
    uint64_t grams [S_MAX_WORD_CPS + 2];
    size_t n = s_word_grams (text, grams);
    for (size_t i = 0; i < n; i++)
        if (s_gram_add (self, grams [i], tid))
            return HEARTH_ENOMEM;
    *id = tid;
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
    self->term_map = market_map_new ();
    self->doc_map = market_map_new ();
    if (!self->term_map || !self->doc_map) {
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
    for (size_t i = 0; i < self->n_docs; i++) {
        free (self->docs [i].id);
        free (self->docs [i].terms);
    }
    free (self->docs);
    free (self->free_slots);
    for (size_t i = 0; i < self->cap_grams; i++)
        free (self->grams [i].terms);
    free (self->grams);
    free (self->score);
    free (self->best);
    free (self->counts);
    market_map_destroy (&self->term_map);
    market_map_destroy (&self->doc_map);
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
            //  Capacity was reserved when the slot was created: cannot fail
            int rc = s_reserve ((void **) &self->free_slots, &self->cap_free, self->n_free + 1,
                                sizeof (uint32_t));
            assert (rc == 0);
            (void) rc;
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
    market_map_remove (self->doc_map, doc->id);
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
    if (market_map_get (self->doc_map, doc_id, &slot))
        return HEARTH_ENOTFOUND;
    s_kill (self, slot);
    return 0;
}

/* ---- indexing ------------------------------------------------------------ */

/*  Append the stems of text, each with weight, to words[*n..cap). */
static void
s_collect (const char *text, double weight, s_word_t *words, size_t *n, size_t cap)
{
    if (!text)
        return;
    const char *cursor = text, *end = text + strlen (text);
    char word [MARKET_TEXT_MAX_WORD + 1];
    size_t len;
    while (*n < cap && (len = market_text_next_word (&cursor, end, word)) > 0) {
        market_text_stem (word, len);
        memcpy (words [*n].text, word, sizeof word);
        words [*n].weight = weight;
        (*n)++;
    }
}

static int
s_cmp_word (const void *a, const void *b)
{
    return strcmp (((const s_word_t *) a)->text, ((const s_word_t *) b)->text);
}

int
market_search_put (market_search_t *self, const char *doc_id, const char *title,
                   const char *body, const char *const *tags, size_t n_tags)
{
    uint32_t old;
    if (market_map_get (self->doc_map, doc_id, &old) == 0)
        s_kill (self, old);

    s_word_t *words = (s_word_t *) malloc (S_MAX_DOC_WORDS * sizeof (s_word_t));
    if (!words)
        return HEARTH_ENOMEM;
    size_t n = 0;
    s_collect (title, S_W_TITLE, words, &n, S_MAX_DOC_WORDS);
    for (size_t i = 0; i < n_tags; i++)
        s_collect (tags [i], S_W_TAGS, words, &n, S_MAX_DOC_WORDS);
    s_collect (body, S_W_BODY, words, &n, S_MAX_DOC_WORDS);
    qsort (words, n, sizeof words [0], s_cmp_word);
    //  Merge equal stems, summing weights; length = sum of all weights
    double length = 0;
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++) {
        length += words [i].weight;
        if (distinct > 0 && strcmp (words [distinct - 1].text, words [i].text) == 0)
            words [distinct - 1].weight += words [i].weight;
        else
            words [distinct++] = words [i];
    }

    //  A slot; reserve the free list now so compaction never allocates
    uint32_t slot;
    if (s_reserve ((void **) &self->free_slots, &self->cap_free, self->n_docs + 1, sizeof (uint32_t)))
        goto oom;
    if (self->n_free > 0)
        slot = self->free_slots [--self->n_free];
    else {
        if (s_reserve ((void **) &self->docs, &self->cap_docs, self->n_docs + 1, sizeof (s_doc_t)))
            goto oom;
        slot = (uint32_t) self->n_docs++;
        memset (&self->docs [slot], 0, sizeof (s_doc_t));
    }
    s_doc_t *doc = &self->docs [slot];
    doc->id = strdup (doc_id);
    doc->terms = (uint32_t *) malloc ((distinct? distinct: 1) * sizeof (uint32_t));
    if (!doc->id || !doc->terms)
        goto oom_slot;
    doc->n_terms = 0;
    for (size_t i = 0; i < distinct; i++) {
        uint32_t tid;
        if (s_term_intern (self, words [i].text, &tid))
            goto oom_slot;
        s_term_t *term = &self->terms [tid];
        if (s_reserve ((void **) &term->postings, &term->cap_postings, term->n_postings + 1,
                       sizeof (s_posting_t)))
            goto oom_slot;
        term->postings [term->n_postings].doc = slot;
        term->postings [term->n_postings].tf = (float) words [i].weight;
        term->n_postings++;
        term->df++;
        doc->terms [doc->n_terms++] = tid;
    }
    if (market_map_put (self->doc_map, doc->id, slot))
        goto oom_slot;
    doc->state = S_DOC_LIVE;
    doc->length = length;
    self->live_docs++;
    self->total_length += length;
    free (words);
    return 0;

oom_slot:
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
oom:
    free (words);
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

/*  Exact and fuzzy matches of one query stem into out (capacity
    1 + S_FUZZY_MAX_EXPANSIONS); returns the count. touched: scratch with
    room for n_terms ids. */
static size_t
s_matches (market_search_t *self, const char *stem, s_match_t *out, uint32_t *touched)
{
    size_t n = 0;
    uint32_t exact = UINT32_MAX;
    if (market_map_get (self->term_map, stem, &exact) == 0 && self->terms [exact].df > 0) {
        out [n].term = exact;
        out [n].weight = 1.0;
        n++;
    }
    uint64_t grams [S_MAX_WORD_CPS + 2];
    size_t n_grams = s_word_grams (stem, grams);
    if (n_grams < S_FUZZY_MIN_CHARS)
        return n;
    size_t n_touched = 0;
    for (size_t g = 0; g < n_grams; g++) {
        const s_gram_t *entry = s_gram_find (self, grams [g]);
        if (!entry)
            continue;
        for (uint32_t i = 0; i < entry->n; i++) {
            uint32_t t = entry->terms [i];
            if (self->counts [t]++ == 0)
                touched [n_touched++] = t;
        }
    }
    s_match_t *fuzzy = out + n;
    size_t n_fuzzy = 0;
    for (size_t i = 0; i < n_touched; i++) {
        uint32_t t = touched [i];
        double share = (double) self->counts [t] / (double) n_grams;
        self->counts [t] = 0;
        if (t == exact || self->terms [t].df == 0 || share < S_FUZZY_MIN)
            continue;
        s_match_t m = { t, S_FUZZY_WEIGHT * share * share };
        if (n_fuzzy < S_FUZZY_MAX_EXPANSIONS)
            fuzzy [n_fuzzy++] = m;
        else {
            //  Replace the weakest kept expansion if this one is better
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
    if (s_reserve_zeroed ((void **) &self->score, &self->cap_score, self->n_docs, sizeof (double))
    ||  s_reserve_zeroed ((void **) &self->best, &self->cap_best, self->n_docs, sizeof (double)))
        return 0;
    if (s_reserve_zeroed ((void **) &self->counts, &self->cap_counts, self->n_terms, sizeof (uint16_t)))
        return 0;

    //  Distinct query stems
    char stems [S_MAX_QUERY_WORDS][MARKET_TEXT_MAX_WORD + 1];
    size_t n_stems = 0;
    size_t qlen = strnlen (query, MARKET_SEARCH_MAX_QUERY_BYTES);
    const char *cursor = query, *end = query + qlen;
    char word [MARKET_TEXT_MAX_WORD + 1];
    size_t len;
    while (n_stems < S_MAX_QUERY_WORDS && (len = market_text_next_word (&cursor, end, word)) > 0) {
        market_text_stem (word, len);
        size_t i;
        for (i = 0; i < n_stems; i++)
            if (strcmp (stems [i], word) == 0)
                break;
        if (i == n_stems)
            memcpy (stems [n_stems++], word, sizeof word);
    }

    size_t result = 0;
    uint32_t *touched_terms = (uint32_t *) malloc ((self->n_terms + 1) * sizeof (uint32_t));
    uint32_t *touched_q = (uint32_t *) malloc ((self->n_docs + 1) * sizeof (uint32_t));
    s_cand_t *cands = (s_cand_t *) malloc ((self->n_docs + 1) * sizeof (s_cand_t));
    s_match_t *matches = (s_match_t *) malloc ((1 + S_FUZZY_MAX_EXPANSIONS) * sizeof (s_match_t));
    size_t n_cands = 0;
    if (!touched_terms || !touched_q || !cands || !matches)
        goto done;

    double avgdl = self->total_length / (double) self->live_docs;
    if (avgdl <= 0)
        avgdl = 1;
    double n_docs = (double) self->live_docs;
    for (size_t q = 0; q < n_stems; q++) {
        size_t n_matches = s_matches (self, stems [q], matches, touched_terms);
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
    qsort (cands, n_cands, sizeof cands [0], s_cmp_cand);
    for (size_t i = 0; i < n_cands && result < k; i++) {
        const char *id = cands [i].id;
        if (accept && !accept (arg, id))
            continue;
        out [result].doc_id = id;
        out [result].score = cands [i].score;
        result++;
    }
done:
    free (touched_terms);
    free (touched_q);
    free (cands);
    free (matches);
    return result;
}
