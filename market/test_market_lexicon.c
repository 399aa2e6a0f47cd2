/*  test_market_lexicon.c — the search dictionaries (market_lexicon), the
    community synonyms (market_synonyms) and the ranking they feed
    (market_search), on small dictionary files in the formats of the Debian
    packages written under $TMPDIR, and on damaged ones.
*/
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>
#include "hearth_error.h"
#include "hearth_test.h"
#include "market_lexicon.h"
#include "market_search.h"
#include "market_stem.h"
#include "market_synonyms.h"

static char *s_dir;
static char s_ding [512], s_thes_de [512], s_thes_en [512], s_words [512], s_cache [512];

static void
s_write (const char *path, const char *text, size_t len)
{
    FILE *f = fopen (path, "wb");
    HT_CHECK (f != NULL);
    if (f) {
        fwrite (text, 1, len, f);
        fclose (f);
    }
}

static void
s_write_text (const char *path, const char *text)
{
    s_write (path, text, strlen (text));
}

/*  Dictionaries in the Debian packages' formats. */
static void
s_fixtures (void)
{
    if (!s_dir)
        s_dir = ht_tmpdir ("lexicon");
    snprintf (s_ding, sizeof s_ding, "%s/de-en", s_dir);
    snprintf (s_thes_de, sizeof s_thes_de, "%s/th_de.dat", s_dir);
    snprintf (s_thes_en, sizeof s_thes_en, "%s/th_en.dat", s_dir);
    snprintf (s_words, sizeof s_words, "%s/de.dic", s_dir);
    snprintf (s_cache, sizeof s_cache, "%s/lexicon.bin", s_dir);
    s_write_text (s_ding,
        "# Version :: test\n"
        "Rollstuhl {m} | Rollstühle {pl} :: wheelchair; wheel chair | wheelchairs; wheel chairs\n"
        "Bohrmaschine {f}; Bohrer {m} | Bohrmaschinen {pl} :: power drill; drill | power drills; drills\n"
        "Krücke {f} | Krücken {pl} :: crutch | crutches\n"
        "Wasser {n} :: water\n"
        "Ausfall {m} :: failure; outage\n"
        "Schnee {m} :: snow\n"
        "Schaufel {f} :: shovel\n"
        "Strom {m} [electr.] :: power; electricity\n"
        "Stromausfall {m} :: power failure; blackout\n"
        "Kinderwagen {m} :: pram [Br.]; baby carriage [Am.]\n"
        "jdn. etw. fragen :: to ask sb. sth.\n");
    s_write_text (s_thes_de,
        "UTF-8\n"
        "gehhilfe|2\n"
        "-|Gehhilfe|Rollator|Gehwagen|Fahrzeug (Oberbegriff)\n"
        "-|Trabant|Gehhilfe (ugs., Jargon)|Rennpappe\n"
        "rad|1\n"
        "-|Fahrrad|Rad|Velo\n");
    s_write_text (s_thes_en,
        "UTF-8\n"
        "pushchair|1\n"
        "(noun)|baby buggy|pram|stroller|wheeled vehicle (generic term)\n");
    s_write_text (s_words, "5\nWasser/N\nAusfall/S\nSchnee/S\nSchaufel/N\nStrom/S\n");
}

static market_lexicon_t *
s_open (int *compiled)
{
    market_lexicon_paths_t paths = { s_ding, s_thes_de, s_thes_en, s_words };
    market_lexicon_t *lex = market_lexicon_open (&paths, s_cache);
    HT_CHECK (lex != NULL);
    market_lexicon_stats_t st;
    market_lexicon_stats (lex, &st);
    if (compiled)
        *compiled = st.compiled;
    return lex;
}

/*  1 if key's targets of kind hold text. */
static int
s_has (const market_lexicon_t *lex, const char *key, market_lexicon_kind_t kind, const char *text)
{
    const char *texts [MARKET_LEXICON_MAX_PER_KIND];
    size_t n = market_lexicon_lookup (lex, key, kind, texts);
    for (size_t i = 0; i < n; i++)
        if (strcmp (texts [i], text) == 0)
            return 1;
    return 0;
}

HT_TEST (test_lexicon_compiles_looks_up_and_maps)
{
    int compiled = 0;
    market_lexicon_t *lex = s_open (&compiled);
    HT_CHECK (compiled);
    //  Translations both ways (keys are stems), phrases, annotations dropped
    HT_CHECK (s_has (lex, "d:rollstuhl", MARKET_LEXICON_TRANSLATION, "wheelchair"));
    HT_CHECK (s_has (lex, "e:wheelchair", MARKET_LEXICON_TRANSLATION, "rollstuhl"));
    HT_CHECK (s_has (lex, "d:bohrmaschin", MARKET_LEXICON_TRANSLATION, "power drill"));
    HT_CHECK (s_has (lex, "e:drill", MARKET_LEXICON_TRANSLATION, "bohrmaschine"));
    HT_CHECK (s_has (lex, "e:crutch", MARKET_LEXICON_TRANSLATION, "kruecke"));
    HT_CHECK (s_has (lex, "e:pram", MARKET_LEXICON_TRANSLATION, "kinderwagen"));
    //  ding's side-by-side alternatives are synonyms
    HT_CHECK (s_has (lex, "d:bohrmaschin", MARKET_LEXICON_SYNONYM, "bohrer"));
    //  Thesauri: broader terms and slang senses are left out
    HT_CHECK (s_has (lex, "d:gehhilf", MARKET_LEXICON_SYNONYM, "rollator"));
    HT_CHECK (!s_has (lex, "d:gehhilf", MARKET_LEXICON_SYNONYM, "fahrzeug"));
    HT_CHECK (!s_has (lex, "d:gehhilf", MARKET_LEXICON_SYNONYM, "rennpappe"));
    HT_CHECK (s_has (lex, "e:pushchair", MARKET_LEXICON_SYNONYM, "stroller"));
    HT_CHECK (!s_has (lex, "e:pushchair", MARKET_LEXICON_SYNONYM, "wheeled vehicle"));
    //  Templates are no entries
    HT_CHECK (!s_has (lex, "e:ask", MARKET_LEXICON_TRANSLATION, "fragen"));
    //  Compounds split into known words (linking elements and inflections
    //  allowed), never into parts under MARKET_LEXICON_MIN_PART bytes
    char parts [MARKET_LEXICON_MAX_PARTS][MARKET_TEXT_MAX_WORD + 1];
    HT_CHECK_EQ_INT (market_lexicon_split (lex, "wasserausfall", 13, parts), 2);
    HT_CHECK_EQ_STR (parts [0], "wasser");
    HT_CHECK_EQ_STR (parts [1], "ausfall");
    HT_CHECK_EQ_INT (market_lexicon_split (lex, "schneeschaufeln", 15, parts), 2);
    HT_CHECK_EQ_STR (parts [0], "schnee");
    HT_CHECK_EQ_STR (parts [1], "schaufel");
    HT_CHECK_EQ_INT (market_lexicon_split (lex, "stromausfall", 12, parts), 2);
    HT_CHECK_EQ_INT (market_lexicon_split (lex, "wasser", 6, parts), 0);
    HT_CHECK_EQ_INT (market_lexicon_split (lex, "besserwasser", 12, parts), 0);
    market_lexicon_destroy (&lex);
    //  The second open maps the cache
    lex = s_open (&compiled);
    HT_CHECK (!compiled);
    HT_CHECK (s_has (lex, "d:rollstuhl", MARKET_LEXICON_TRANSLATION, "wheelchair"));
    market_lexicon_destroy (&lex);
    //  A changed source recompiles
    FILE *f = fopen (s_ding, "a");
    fputs ("Leiter {f} :: ladder\n", f);
    fclose (f);
    lex = s_open (&compiled);
    HT_CHECK (compiled);
    HT_CHECK (s_has (lex, "e:ladder", MARKET_LEXICON_TRANSLATION, "leiter"));
    market_lexicon_destroy (&lex);
    market_lexicon_destroy (&lex);
}

HT_TEST (test_lexicon_survives_damaged_files)
{
    //  A damaged cache: truncated, then bytes flipped: rebuilt, never trusted
    int compiled = 0;
    market_lexicon_t *lex = s_open (&compiled);
    market_lexicon_destroy (&lex);
    struct stat sb;
    HT_CHECK_EQ_INT (stat (s_cache, &sb), 0);
    HT_CHECK_EQ_INT (truncate (s_cache, sb.st_size / 2), 0);
    lex = s_open (&compiled);
    HT_CHECK (compiled);
    HT_CHECK (s_has (lex, "d:rollstuhl", MARKET_LEXICON_TRANSLATION, "wheelchair"));
    market_lexicon_destroy (&lex);
    for (off_t at = sizeof (uint64_t) * 8; at < sb.st_size; at += 37) {
        FILE *f = fopen (s_cache, "r+b");
        fseeko (f, at, SEEK_SET);
        int c = fgetc (f);
        fseeko (f, at, SEEK_SET);
        fputc (c ^ 0xA5, f);
        fclose (f);
        lex = s_open (NULL);
        HT_CHECK (lex != NULL);
        //  Lookups on whatever was accepted stay in bounds
        const char *texts [MARKET_LEXICON_MAX_PER_KIND];
        market_lexicon_lookup (lex, "d:rollstuhl", MARKET_LEXICON_TRANSLATION, texts);
        char parts [MARKET_LEXICON_MAX_PARTS][MARKET_TEXT_MAX_WORD + 1];
        market_lexicon_split (lex, "wasserausfall", 13, parts);
        market_lexicon_destroy (&lex);
    }

    //  Damaged dictionaries: garbage, an over-long line, invalid UTF-8, NUL
    //  bytes, lines without separators, absurd sense counts, a directory
    //  and a missing file
    char garbage [4096];
    uint64_t rng = 7;
    for (size_t i = 0; i < sizeof garbage; i++) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        garbage [i] = (char) (rng >> 56);
    }
    size_t big = 3 * MARKET_LEXICON_MAX_LINE;
    char *text = (char *) malloc (big + 8192);
    size_t n = 0;
    memcpy (text + n, garbage, sizeof garbage);
    n += sizeof garbage;
    text [n++] = '\n';
    memset (text + n, 'x', big);          // one line three times the cap
    n += big;
    text [n++] = '\n';
    static const char rest [] = "no separator here\n\xff\xfe :: \xc3\n:: \n ::\n"
                                "Rad {n} :: bicycle\nEnde \0mit NUL :: end\n";
    memcpy (text + n, rest, sizeof rest - 1);
    n += sizeof rest - 1;
    s_write (s_ding, text, n);
    const char *thes = "UTF-8\nkaputt|999999999999\n-|" "\xff\xff|\n(noun)||||\n|\n-\nrad|x\n-|Velo|Fahrrad\n";
    s_write_text (s_thes_de, thes);
    s_write (s_thes_en, text, n);
    free (text);
    lex = s_open (&compiled);
    HT_CHECK (lex != NULL);
    HT_CHECK (compiled);
    market_lexicon_stats_t st;
    market_lexicon_stats (lex, &st);
    HT_CHECK (st.bad_lines [0] > 0);
    HT_CHECK (st.loaded [0] && st.loaded [1] && st.loaded [2] && st.loaded [3]);
    //  The good lines among the bad ones still count
    HT_CHECK (s_has (lex, "d:rad", MARKET_LEXICON_TRANSLATION, "bicycle"));
    HT_CHECK (s_has (lex, "d:rad", MARKET_LEXICON_SYNONYM, "velo"));
    market_lexicon_destroy (&lex);

    market_lexicon_paths_t missing = { "/nonexistent/de-en", s_dir, "", NULL };
    lex = market_lexicon_open (&missing, NULL);
    HT_CHECK (lex != NULL);
    market_lexicon_stats (lex, &st);
    HT_CHECK (!st.loaded [0] && !st.loaded [2] && !st.loaded [3]);
    const char *texts [MARKET_LEXICON_MAX_PER_KIND];
    HT_CHECK_EQ_INT (market_lexicon_lookup (lex, "d:rad", MARKET_LEXICON_TRANSLATION, texts), 0);
    HT_CHECK_EQ_INT (market_lexicon_known (lex, "wasser", 6), 0);
    market_lexicon_destroy (&lex);

    //  A cancelled compile gives up
    atomic_int cancel = 1;
    market_lexicon_paths_t paths = { s_ding, s_thes_de, s_thes_en, s_words };
    unlink (s_cache);
    HT_CHECK (market_lexicon_open_cancel (&paths, s_cache, &cancel) == NULL);
    s_fixtures ();                      // fresh files for the next tests
}

HT_TEST (test_synonyms_parse)
{
    market_stem_t *stem = market_stem_new ();
    const char *text =
        "# comment\n"
        "\n"
        "rad, fahrrad, velo, bike\n"
        "platten, reifen platt => flickzeug, fahrradwerkstatt\n"
        "only one\n"
        " => nothing left\n"
        "left only =>\n"
        "a b c d e, f\n";
    size_t bad = 0;
    market_synonyms_t *syn = market_synonyms_parse (text, strlen (text), stem, &bad);
    HT_CHECK (syn != NULL);
    HT_CHECK_EQ_INT (market_synonyms_rules (syn), 2);
    HT_CHECK_EQ_INT (bad, 4);
    market_synonyms_destroy (&syn);
    //  Over the size cap: refused
    char *huge = (char *) calloc (1, MARKET_SYNONYMS_MAX_BYTES + 2);
    memset (huge, 'a', MARKET_SYNONYMS_MAX_BYTES + 1);
    HT_CHECK (market_synonyms_parse (huge, MARKET_SYNONYMS_MAX_BYTES + 1, stem, &bad) == NULL);
    //  One long line of many entries: skipped and counted
    memset (huge, 0, MARKET_SYNONYMS_MAX_BYTES + 2);
    for (size_t i = 0; i < 200; i++)
        strcat (huge, "wort, ");
    strcat (huge, "ende\n");
    syn = market_synonyms_parse (huge, strlen (huge), stem, &bad);
    HT_CHECK (syn != NULL && market_synonyms_rules (syn) == 0 && bad == 1);
    market_synonyms_destroy (&syn);
    market_synonyms_destroy (&syn);
    free (huge);
    market_stem_destroy (&stem);
}

/* ---- ranking with the lexicon ----------------------------------------- */

static market_search_t *
s_index (const market_lexicon_t *lex, const market_synonyms_t *syn)
{
    market_search_t *index = market_search_new ();
    HT_CHECK_EQ_INT (market_search_set_lexicon (index, lex), 0);
    market_search_set_synonyms (index, syn);
    return index;
}

static int
s_rank (const market_search_hit_t *hits, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp (hits [i].doc_id, id) == 0)
            return (int) i;
    return -1;
}

HT_TEST (test_search_compounds_translations_synonyms)
{
    market_lexicon_t *lex = s_open (NULL);
    market_search_t *index = s_index (lex, NULL);
    market_search_put (index, "01A", "Wasser gesucht", "Brauche Trinkwasser.", NULL, 0);
    market_search_put (index, "01B", "Ausfall der Heizung", "Seit gestern kalt.", NULL, 0);
    market_search_put (index, "01C", "Wheelchair available to borrow", "Folding, light.", NULL, 0);
    market_search_put (index, "01D", "Stromausfall in der Straße", "Kein Strom seit heute.", NULL, 0);
    market_search_put (index, "01E", "Schnee räumen", "Ich helfe beim Schnee.", NULL, 0);
    market_search_put (index, "01F", "Rollator abzugeben", "Mit Sitz.", NULL, 0);
    market_search_put (index, "01G", "Nachhilfe in Mathe", "Bis Klasse 10.", NULL, 0);
    market_search_put (index, "01H", "Ёлка", "Новогодняя ёлка.", NULL, 0);
    market_search_hit_t hits [MARKET_SEARCH_MAX_K];
    //  A compound query meets its parts
    size_t n = market_search_query (index, "Wasserausfall", 10, NULL, NULL, hits);
    HT_CHECK (s_rank (hits, n, "01A") >= 0);
    HT_CHECK (s_rank (hits, n, "01B") >= 0);
    n = market_search_query (index, "Schneeschaufel", 10, NULL, NULL, hits);
    HT_CHECK (s_rank (hits, n, "01E") == 0);
    //  A post's compound meets a query for its part
    n = market_search_query (index, "Ausfall", 10, NULL, NULL, hits);
    HT_CHECK (s_rank (hits, n, "01D") >= 0);
    HT_CHECK (s_rank (hits, n, "01B") == 0);        // the word itself first
    //  Other language, synonyms (a look-alike never outranks them)
    n = market_search_query (index, "Rollstuhl", 10, NULL, NULL, hits);
    HT_CHECK_EQ_INT (s_rank (hits, n, "01C"), 0);
    n = market_search_query (index, "Gehhilfe", 10, NULL, NULL, hits);
    HT_CHECK_EQ_INT (s_rank (hits, n, "01F"), 0);
    HT_CHECK (s_rank (hits, n, "01G") != 0);
    //  Unicode folding: е meets ё
    n = market_search_query (index, "елка", 10, NULL, NULL, hits);
    HT_CHECK_EQ_INT (s_rank (hits, n, "01H"), 0);
    market_search_destroy (&index);

    //  The community file
    market_stem_t *stem = market_stem_new ();
    const char *text = "drahtesel, velo\nreifen platt => flickzeug\n";
    market_synonyms_t *syn = market_synonyms_parse (text, strlen (text), stem, NULL);
    index = s_index (lex, syn);
    market_search_put (index, "02A", "Velo zu verschenken", "Mit Korb.", NULL, 0);
    market_search_put (index, "02B", "Flickzeug abzugeben", "Zwei Schläuche.", NULL, 0);
    n = market_search_query (index, "Drahtesel", 10, NULL, NULL, hits);
    HT_CHECK_EQ_INT (s_rank (hits, n, "02A"), 0);
    n = market_search_query (index, "mein Reifen ist platt", 10, NULL, NULL, hits);
    HT_CHECK_EQ_INT (s_rank (hits, n, "02B"), 0);
    market_search_destroy (&index);
    market_synonyms_destroy (&syn);
    market_stem_destroy (&stem);
    market_lexicon_destroy (&lex);
}

HT_TEST (test_search_item_word_first_fuzzy_last)
{
    market_lexicon_t *lex = s_open (NULL);
    market_search_t *index = s_index (lex, NULL);
    char id [16], title [64];
    //  Twenty "... gesucht" posts and two about the item
    for (int i = 0; i < 20; i++) {
        snprintf (id, sizeof id, "03%02d", i);
        snprintf (title, sizeof title, "Sache %d gesucht", i);
        market_search_put (index, id, title, "Bitte melden.", NULL, 0);
    }
    market_search_put (index, "04A", "Kinderwagen abzugeben", "Gut erhalten.", NULL, 0);
    market_search_put (index, "04B", "Pram for sale", "With rain cover.", NULL, 0);
    market_search_put (index, "04C", "Kinderwagn", "Ein Tippfehler im Titel.", NULL, 0);
    market_search_hit_t hits [MARKET_SEARCH_MAX_K];
    size_t n = market_search_query (index, "kinderwagen gesucht", 10, NULL, NULL, hits);
    HT_CHECK (n >= 3);
    HT_CHECK_EQ_INT (s_rank (hits, n, "04A"), 0);
    HT_CHECK_EQ_INT (s_rank (hits, n, "04B"), 1);      // translation before filler words
    //  Look-alikes: "drill" finds the drill post before "Brille"/"Fire drill"-like noise
    market_search_put (index, "05A", "Cordless drill to lend", "With bits.", NULL, 0);
    market_search_put (index, "05B", "Brille gefunden", "An der Haltestelle.", NULL, 0);
    market_search_put (index, "05C", "Bohrmaschine zu verleihen", "Mit Bohrern.", NULL, 0);
    market_search_put (index, "05D", "Drillinge", "Kinderkleidung für Drillinge.", NULL, 0);
    n = market_search_query (index, "drill", 10, NULL, NULL, hits);
    HT_CHECK_EQ_INT (s_rank (hits, n, "05A"), 0);
    HT_CHECK_EQ_INT (s_rank (hits, n, "05C"), 1);      // translation above any look-alike
    int fuzzy = s_rank (hits, n, "05D");
    HT_CHECK (fuzzy < 0 || fuzzy > 1);
    HT_CHECK (s_rank (hits, n, "05B") < 0 || s_rank (hits, n, "05B") > 1);
    market_search_destroy (&index);
    market_lexicon_destroy (&lex);
}

HT_TEST (test_search_same_ranking_in_any_order)
{
    //  Two nodes with the same posts, indexed in different orders (and one
    //  with posts replaced and removed on the way), rank identically, to
    //  the last bit of the score
    market_lexicon_t *lex = s_open (NULL);
    market_search_t *a = s_index (lex, NULL), *b = s_index (lex, NULL);
    const char *titles [] = { "Wasser gesucht", "Kinderwagen abzugeben", "Pram for sale", "Stromausfall",
                              "Wasserkanister", "Rollstuhl zu verleihen", "Wheelchair free", "Schnee räumen",
                              "Wasserausfall im Haus", "Drill to lend", "Bohrmaschine", "Kinderwagn gesucht" };
    size_t n_titles = sizeof titles / sizeof titles [0];
    char id [32];                       /* "06" + up to 20 digits of a size_t + NUL */
    for (size_t i = 0; i < n_titles; i++) {
        snprintf (id, sizeof id, "06%02zu", i);
        market_search_put (a, id, titles [i], "Bitte melden, gern auch abends.", NULL, 0);
    }
    market_search_put (b, "0699", "Weg damit", "Wird gelöscht.", NULL, 0);
    for (size_t i = n_titles; i-- > 0; ) {
        snprintf (id, sizeof id, "06%02zu", i);
        market_search_put (b, id, "vorher anders", "Text", NULL, 0);
        market_search_put (b, id, titles [i], "Bitte melden, gern auch abends.", NULL, 0);
    }
    HT_CHECK_EQ_INT (market_search_remove (b, "0699"), 0);
    const char *queries [] = { "wasser", "kinderwagen gesucht", "rollstuhl", "drill", "wasserausfall", "kinderwagn" };
    for (size_t q = 0; q < sizeof queries / sizeof queries [0]; q++) {
        market_search_hit_t ha [MARKET_SEARCH_MAX_K], hb [MARKET_SEARCH_MAX_K];
        size_t na = market_search_query (a, queries [q], 20, NULL, NULL, ha);
        size_t nb = market_search_query (b, queries [q], 20, NULL, NULL, hb);
        HT_CHECK_EQ_INT (na, nb);
        for (size_t i = 0; i < na && i < nb; i++) {
            HT_CHECK_EQ_STR (ha [i].doc_id, hb [i].doc_id);
            HT_CHECK (memcmp (&ha [i].score, &hb [i].score, sizeof (double)) == 0);
        }
    }
    market_search_destroy (&a);
    market_search_destroy (&b);
    market_lexicon_destroy (&lex);
}

int
main (void)
{
    s_fixtures ();
    HT_RUN (test_lexicon_compiles_looks_up_and_maps);
    HT_RUN (test_lexicon_survives_damaged_files);
    HT_RUN (test_synonyms_parse);
    HT_RUN (test_search_compounds_translations_synonyms);
    HT_RUN (test_search_item_word_first_fuzzy_last);
    HT_RUN (test_search_same_ranking_in_any_order);
    ht_rmtree (s_dir);
    free (s_dir);
    return ht_summary ();
}
