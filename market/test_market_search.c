/*  test_market_search.c — folding, stemming and the BM25/trigram ranking of
    market_search (pure: no event log).
*/
#include <math.h>
#include "hearth_error.h"
#include "hearth_test.h"
#include "market_search.h"
#include "market_stem.h"
#include "market_text.h"

static const char *
s_fold_first (const char *text, char *word)
{
    const char *cursor = text;
    market_text_next_word (&cursor, text + strlen (text), word);
    return word;
}

HT_TEST (test_text_folding)
{
    char w [MARKET_TEXT_MAX_WORD + 1];
    HT_CHECK_EQ_STR (s_fold_first ("Straße", w), "strasse");
    HT_CHECK_EQ_STR (s_fold_first ("STRASSE", w), "strasse");
    HT_CHECK_EQ_STR (s_fold_first ("Wärme", w), "waerme");
    HT_CHECK_EQ_STR (s_fold_first ("ÖL", w), "oel");
    HT_CHECK_EQ_STR (s_fold_first ("Übergabe", w), "uebergabe");
    HT_CHECK_EQ_STR (s_fold_first ("café", w), "cafe");
    HT_CHECK_EQ_STR (s_fold_first ("Łódź", w), "lodz");
    HT_CHECK_EQ_STR (s_fold_first ("Œuvre", w), "oeuvre");
    HT_CHECK_EQ_STR (s_fold_first ("ẞ", w), "ss");
    HT_CHECK_EQ_STR (s_fold_first ("ВОДА", w), "вода");
    //  Unicode case folding beyond Latin: Ё folds as е, so `елка` meets
    //  `Ёлка`; Greek accents; full-width letters; a decomposed umlaut
    HT_CHECK_EQ_STR (s_fold_first ("Ёлка", w), "елка");
    char w2 [MARKET_TEXT_MAX_WORD + 1];
    HT_CHECK_EQ_STR (s_fold_first ("ёлка", w), s_fold_first ("елка", w2));
    HT_CHECK_EQ_STR (s_fold_first ("Ἀθήνα", w), "αθηνα");
    HT_CHECK_EQ_STR (s_fold_first ("ＷＡＳＳＥＲ", w), "wasser");
    HT_CHECK_EQ_STR (s_fold_first ("Wa\xcc\x88rme", w), "waerme");
    HT_CHECK_EQ_STR (s_fold_first ("Caf\xc3\xa9 \xe2\x98\x95", w), "cafe");
    HT_CHECK_EQ_STR (s_fold_first ("  --- Brot!", w), "brot");

    //  Word splitting: punctuation, symbols and invalid bytes separate
    const char *text = "Wasser-Kanister (20l), \xff neu\xe2\x80\x94gut";
    const char *cursor = text, *end = text + strlen (text);
    const char *expect [] = { "wasser", "kanister", "20l", "neu", "gut" };
    size_t n = 0;
    while (market_text_next_word (&cursor, end, w) > 0) {
        HT_CHECK (n < 5);
        if (n < 5)
            HT_CHECK_EQ_STR (w, expect [n]);
        n++;
    }
    HT_CHECK_EQ_INT (n, 5);

    //  Over-long words are cut at MARKET_TEXT_MAX_WORD bytes
    char longword [200];
    memset (longword, 'a', sizeof longword - 1);
    longword [sizeof longword - 1] = 0;
    cursor = longword;
    HT_CHECK_EQ_INT (market_text_next_word (&cursor, longword + strlen (longword), w),
                     MARKET_TEXT_MAX_WORD);

    char low [64];
    HT_CHECK_EQ_INT (market_text_lower ("ÄrGER Ünd ŁÓDŹ", strlen ("ÄrGER Ünd ŁÓDŹ"), low, sizeof low),
                     (int) strlen ("ärger ünd łódź"));
    HT_CHECK_EQ_STR (low, "ärger ünd łódź");
    HT_CHECK_EQ_INT (market_text_lower ("abc", 3, low, 3), -1);
}

static market_stem_t *s_stemmer;

static const char *
s_stem (const char *in, char *buf)
{
    return market_stem_word (s_stemmer, MARKET_LANG_DE, in, strlen (in), buf), buf;
}

static const char *
s_stem_en (const char *in, char *buf)
{
    return market_stem_word (s_stemmer, MARKET_LANG_EN, in, strlen (in), buf), buf;
}

HT_TEST (test_text_stemming)
{
    s_stemmer = market_stem_new ();
    HT_CHECK (s_stemmer != NULL);
    char a [MARKET_TEXT_MAX_WORD + 1], b [MARKET_TEXT_MAX_WORD + 1];
    //  German inflections meet at one stem, umlauts spelt either way
    HT_CHECK_EQ_STR (s_stem ("wassers", a), s_stem ("wasser", b));
    HT_CHECK_EQ_STR (s_stem ("tomaten", a), s_stem ("tomate", b));
    HT_CHECK_EQ_STR (s_stem ("decken", a), s_stem ("decke", b));
    HT_CHECK_EQ_STR (s_stem ("kartoffeln", a), s_stem ("kartoffel", b));
    HT_CHECK_EQ_STR (s_stem ("schaufeln", a), s_stem ("schaufel", b));
    HT_CHECK_EQ_STR (s_stem ("haeuser", a), s_stem ("haus", b));
    HT_CHECK_EQ_STR (s_stem ("fahrraeder", a), s_stem ("fahrrad", b));
    HT_CHECK_EQ_STR (s_stem ("kinder", a), s_stem ("kind", b));
    HT_CHECK_EQ_STR (s_stem ("kruecken", a), s_stem ("kruecke", b));
    //  English
    HT_CHECK_EQ_STR (s_stem_en ("batteries", a), s_stem_en ("battery", b));
    HT_CHECK_EQ_STR (s_stem_en ("heating", a), "heat");
    HT_CHECK_EQ_STR (s_stem_en ("needed", a), "need");
    HT_CHECK_EQ_STR (s_stem_en ("generators", a), s_stem_en ("generator", b));
    HT_CHECK_EQ_STR (s_stem_en ("classes", a), "class");
    HT_CHECK_EQ_STR (s_stem_en ("strollers", a), s_stem_en ("stroller", b));
    HT_CHECK_EQ_STR (s_stem ("quelle", a), "quell");     // "ue" after q stays
    //  Function words and the language guess
    HT_CHECK (market_text_stopword ("der"));
    HT_CHECK (market_text_stopword ("the"));
    HT_CHECK (!market_text_stopword ("wasser"));
    const char *en [] = { "Wheelchair available to borrow", "Ask at the door." };
    const char *de [] = { "Rollstuhl zu verleihen", "Bitte bei mir melden." };
    HT_CHECK_EQ_INT (market_text_language (en, 2), MARKET_LANG_EN);
    HT_CHECK_EQ_INT (market_text_language (de, 2), MARKET_LANG_DE);
    market_stem_destroy (&s_stemmer);
    market_stem_destroy (&s_stemmer);
}

/*  Index the usual test posts. */
static market_search_t *
s_corpus (void)
{
    market_search_t *index = market_search_new ();
    const char *tags_water [] = { "wasser", "notfall" };
    market_search_put (index, "01A", "Wasserkanister abzugeben", "Zwei 20-Liter-Kanister, sauber.",
                       tags_water, 2);
    market_search_put (index, "01B", "Brot vom Bäcker", "Frisches Brot, heute gebacken.", NULL, 0);
    market_search_put (index, "01C", "Generator zu verleihen", "Benzin-Generator 2 kW für Notstrom.",
                       NULL, 0);
    market_search_put (index, "01D", "Wasser gesucht", "Brauche Trinkwasser für drei Tage.", NULL, 0);
    market_search_put (index, "01E", "Fahrrad Reparatur", "Ich repariere Fahrräder in der Strasse 5.",
                       NULL, 0);
    market_search_put (index, "01F", "Kinderbetreuung", "Biete Betreuung am Nachmittag, besser als nichts.",
                       NULL, 0);
    return index;
}

static int
s_has (const market_search_hit_t *hits, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp (hits [i].doc_id, id) == 0)
            return 1;
    return 0;
}

HT_TEST (test_search_ranks_relevant_first)
{
    market_search_t *index = s_corpus ();
    HT_CHECK_EQ_INT (market_search_size (index), 6);
    market_search_hit_t hits [MARKET_SEARCH_MAX_K];

    //  "wasser": the exact-word post first, the compound next; never "Brot"
    //  nor "besser" (shares 3 of 6 trigrams: below the fuzzy threshold)
    size_t n = market_search_query (index, "wasser", 10, NULL, NULL, hits);
    HT_CHECK_EQ_INT (n, 2);
    if (n == 2) {
        HT_CHECK_EQ_STR (hits [0].doc_id, "01D");
        HT_CHECK_EQ_STR (hits [1].doc_id, "01A");
        HT_CHECK (hits [0].score > hits [1].score);
        HT_CHECK (hits [1].score > 0);
    }
    HT_CHECK (!s_has (hits, n, "01B"));
    HT_CHECK (!s_has (hits, n, "01F"));

    //  A compound in the query finds its parts' posts, best match first
    n = market_search_query (index, "Wasserkanister", 10, NULL, NULL, hits);
    HT_CHECK (n >= 1);
    if (n >= 1)
        HT_CHECK_EQ_STR (hits [0].doc_id, "01A");
    HT_CHECK (!s_has (hits, n, "01B"));

    //  Typo
    n = market_search_query (index, "generatr", 10, NULL, NULL, hits);
    HT_CHECK_EQ_INT (n, 1);
    if (n >= 1)
        HT_CHECK_EQ_STR (hits [0].doc_id, "01C");

    //  A typo against the surface form ("aples" ~ "apples": their stems
    //  "aple"/"appl" share too little, the surfaces share 4 of 5 trigrams)
    market_search_put (index, "01G", "Apples from the garden", "A crate of apples.", NULL, 0);
    n = market_search_query (index, "aples", 10, NULL, NULL, hits);
    HT_CHECK_EQ_INT (n, 1);
    if (n >= 1)
        HT_CHECK_EQ_STR (hits [0].doc_id, "01G");
    market_search_remove (index, "01G");

    //  Folding: Straße == strasse; Fahrräder ~ fahrrad (stem + trigram)
    n = market_search_query (index, "Straße", 10, NULL, NULL, hits);
    HT_CHECK_EQ_INT (n, 1);
    if (n >= 1)
        HT_CHECK_EQ_STR (hits [0].doc_id, "01E");
    n = market_search_query (index, "fahrräder", 10, NULL, NULL, hits);
    HT_CHECK (n >= 1 && strcmp (hits [0].doc_id, "01E") == 0);

    //  Title outweighs body: "brot" in the title beats nothing else here,
    //  and a two-word query ranks the post matching both words first
    n = market_search_query (index, "wasser notfall", 10, NULL, NULL, hits);
    HT_CHECK (n >= 2);
    if (n >= 2)
        HT_CHECK_EQ_STR (hits [0].doc_id, "01A");

    //  Unrelated query: nothing at all
    n = market_search_query (index, "Klavierunterricht", 10, NULL, NULL, hits);
    HT_CHECK_EQ_INT (n, 0);
    n = market_search_query (index, "!!! ???", 10, NULL, NULL, hits);
    HT_CHECK_EQ_INT (n, 0);
    //  k bounds the answer
    n = market_search_query (index, "wasser", 1, NULL, NULL, hits);
    HT_CHECK_EQ_INT (n, 1);
    market_search_destroy (&index);
    HT_CHECK (index == NULL);
    market_search_destroy (&index);
}

HT_TEST (test_search_title_weighs_more_than_body)
{
    market_search_t *index = market_search_new ();
    market_search_put (index, "A", "Leiter", "Eine Leiter zum Ausleihen, drei Meter.", NULL, 0);
    market_search_put (index, "B", "Werkzeug", "Hammer, Säge und eine Leiter zum Ausleihen.", NULL, 0);
    market_search_hit_t hits [4];
    size_t n = market_search_query (index, "leiter", 4, NULL, NULL, hits);
    HT_CHECK_EQ_INT (n, 2);
    if (n == 2)
        HT_CHECK_EQ_STR (hits [0].doc_id, "A");
    market_search_destroy (&index);
}

static int
s_reject_a (void *arg, const char *id)
{
    (void) arg;
    return strcmp (id, "01A") != 0;
}

HT_TEST (test_search_update_remove_accept)
{
    market_search_t *index = s_corpus ();
    market_search_hit_t hits [10];
    //  accept() filters (the view uses it to hide expired posts)
    size_t n = market_search_query (index, "wasser", 10, s_reject_a, NULL, hits);
    HT_CHECK_EQ_INT (n, 1);
    HT_CHECK (!s_has (hits, n, "01A"));
    //  Re-index replaces the old text
    market_search_put (index, "01B", "Wasserfilter", "Filter für Trinkwasser.", NULL, 0);
    HT_CHECK_EQ_INT (market_search_size (index), 6);
    n = market_search_query (index, "brot", 10, NULL, NULL, hits);
    HT_CHECK_EQ_INT (n, 0);
    n = market_search_query (index, "wasser", 10, NULL, NULL, hits);
    HT_CHECK (s_has (hits, n, "01B"));
    //  Remove
    HT_CHECK_EQ_INT (market_search_remove (index, "01D"), 0);
    HT_CHECK_EQ_INT (market_search_remove (index, "01D"), HEARTH_ENOTFOUND);
    n = market_search_query (index, "gesucht", 10, NULL, NULL, hits);
    HT_CHECK_EQ_INT (n, 0);
    HT_CHECK_EQ_INT (market_search_size (index), 5);
    market_search_destroy (&index);
}

static int
s_reject_most (void *arg, const char *id)
{
    (void) arg;
    return strcmp (id, "M0040") < 0;       // only the 40 lowest ids
}

HT_TEST (test_search_accept_refusing_the_best)
{
    //  accept() (the view's "active" test) may turn down the best hundreds:
    //  the answer is still the best k of the accepted, in order
    market_search_t *index = market_search_new ();
    char id [16], title [64];
    for (int i = 0; i < 300; i++) {
        snprintf (id, sizeof id, "M%04d", i);
        snprintf (title, sizeof title, "Leiter %s", i % 3? "abzugeben": "Leiter Leiter");
        market_search_put (index, id, title, "Alu.", NULL, 0);
    }
    market_search_hit_t all [MARKET_SEARCH_MAX_K], hits [MARKET_SEARCH_MAX_K];
    size_t n = market_search_query (index, "leiter", 10, s_reject_most, NULL, hits);
    HT_CHECK_EQ_INT (n, 10);
    //  The same as filtering a full ranking of the 40 by hand
    market_search_t *small = market_search_new ();
    for (int i = 0; i < 300; i++) {
        snprintf (id, sizeof id, "M%04d", i);
        snprintf (title, sizeof title, "Leiter %s", i % 3? "abzugeben": "Leiter Leiter");
        market_search_put (small, id, title, "Alu.", NULL, 0);
    }
    size_t m = market_search_query (small, "leiter", MARKET_SEARCH_MAX_K, NULL, NULL, all);
    size_t j = 0;
    for (size_t i = 0; i < m && j < n; i++) {
        if (!s_reject_most (NULL, all [i].doc_id))
            continue;
        HT_CHECK_EQ_STR (hits [j].doc_id, all [i].doc_id);
        j++;
    }
    HT_CHECK_EQ_INT (j, n);
    for (size_t i = 1; i < n; i++)
        HT_CHECK (hits [i - 1].score >= hits [i].score);
    market_search_destroy (&index);
    market_search_destroy (&small);
}

HT_TEST (test_search_compaction_keeps_results)
{
    //  Enough removals to trigger compaction; the survivors still rank
    market_search_t *index = market_search_new ();
    char id [32], title [64];
    for (int i = 0; i < 3000; i++) {
        snprintf (id, sizeof id, "D%05d", i);
        snprintf (title, sizeof title, "Angebot Nummer %d %s", i, i % 2? "Holz": "Kohle");
        HT_CHECK_EQ_INT (market_search_put (index, id, title, "Abholung am Abend.", NULL, 0), 0);
    }
    for (int i = 0; i < 2900; i++) {
        snprintf (id, sizeof id, "D%05d", i);
        HT_CHECK_EQ_INT (market_search_remove (index, id), 0);
    }
    HT_CHECK_EQ_INT (market_search_size (index), 100);
    market_search_hit_t hits [MARKET_SEARCH_MAX_K];
    size_t n = market_search_query (index, "holz", MARKET_SEARCH_MAX_K, NULL, NULL, hits);
    HT_CHECK_EQ_INT (n, 50);
    for (size_t i = 0; i < n; i++)
        HT_CHECK (strcmp (hits [i].doc_id, "D02900") >= 0);
    //  Slots are reused after compaction
    for (int i = 0; i < 2000; i++) {
        snprintf (id, sizeof id, "E%05d", i);
        HT_CHECK_EQ_INT (market_search_put (index, id, "Holz", NULL, NULL, 0), 0);
    }
    HT_CHECK_EQ_INT (market_search_size (index), 2100);
    market_search_destroy (&index);
}

int
main (void)
{
    HT_RUN (test_text_folding);
    HT_RUN (test_text_stemming);
    HT_RUN (test_search_ranks_relevant_first);
    HT_RUN (test_search_title_weighs_more_than_body);
    HT_RUN (test_search_update_remove_accept);
    HT_RUN (test_search_accept_refusing_the_best);
    HT_RUN (test_search_compaction_keeps_results);
    return ht_summary ();
}
