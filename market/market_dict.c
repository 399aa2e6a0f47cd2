/*  market_dict.c — the lexicon loader thread and the synonym file reload
    (see market_dict.h).
*/
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "hearth_log.h"
#include "market_dict.h"
#include "market_lexicon.h"
#include "market_stem.h"
#include "market_synonyms.h"

typedef enum { S_LEX_OFF = 0, S_LEX_IDLE, S_LEX_LOADING, S_LEX_READY, S_LEX_FAILED } s_lex_state_t;
static const char *const s_lex_names [] = { "off", "not_loaded", "loading", "loaded", "failed" };
static const char *const s_source_names [MARKET_LEXICON_SOURCES] = {
    "translations", "synonyms_de", "synonyms_en", "words_de"
};

struct _market_dict_t {
    market_config_t   cfg;
    char              cache_path [MARKET_PATH_MAX + 32];
    char              synonyms_path [MARKET_PATH_MAX + 32];
    //  The lexicon and its loader
    s_lex_state_t     state;
    pthread_t         thread;
    int               thread_running;   /* joined yet? */
    atomic_int        done, cancel;
    market_lexicon_t *loading;      /* owned by the thread until done */
    market_lexicon_t *lexicon;      /* owned; handed to the view (borrowed there) */
    int               handed;       /* the view has it */
    //  The synonyms
    market_stem_t    *stem;         /* owned */
    market_synonyms_t *synonyms;    /* owned */
    size_t            synonym_bad_lines;
    uint64_t          next_check_ms;
    struct stat       seen;         /* of the file last read (st_ino 0: none) */
    int               warned_missing;
};

static void s_log_loaded (const market_lexicon_t *lexicon);

static int
s_configured (const market_config_t *cfg)
{
    return cfg->dict_translations [0] || cfg->dict_synonyms_de [0] || cfg->dict_synonyms_en [0]
        || cfg->dict_words_de [0];
}

market_dict_t *
market_dict_new (const market_config_t *cfg)
{
    market_dict_t *self = (market_dict_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *cfg;
    self->stem = market_stem_new ();
    if (!self->stem) {
        free (self);
        return NULL;
    }
    if (cfg->search_dir [0]) {
        snprintf (self->cache_path, sizeof self->cache_path, "%s/%s", cfg->search_dir, MARKET_DICT_CACHE_FILE);
        snprintf (self->synonyms_path, sizeof self->synonyms_path, "%s/%s", cfg->search_dir,
                  MARKET_SYNONYMS_FILE);
    }
    self->state = s_configured (cfg)? S_LEX_IDLE: S_LEX_OFF;
    //  A cache built from the same files maps at once (~50 ms), so the
    //  first search already uses it; compiling waits for the first search
    if (self->state == S_LEX_IDLE && self->cache_path [0]) {
        market_lexicon_paths_t paths = { cfg->dict_translations, cfg->dict_synonyms_de,
                                         cfg->dict_synonyms_en, cfg->dict_words_de };
        self->lexicon = market_lexicon_map (&paths, self->cache_path);
        if (self->lexicon) {
            self->state = S_LEX_READY;
            s_log_loaded (self->lexicon);
        }
    }
    //  Missing dictionaries: said once, here
    const char *paths [MARKET_LEXICON_SOURCES] = { cfg->dict_translations, cfg->dict_synonyms_de,
                                                   cfg->dict_synonyms_en, cfg->dict_words_de };
    for (int i = 0; i < MARKET_LEXICON_SOURCES; i++) {
        struct stat sb;
        if (!paths [i][0])
            hlog_info ("market", "search dictionary %s: off (not configured)", s_source_names [i]);
        else
        if (stat (paths [i], &sb) != 0)
            hlog_warn ("market", "search dictionary %s: %s is missing; search works without it",
                       s_source_names [i], paths [i]);
    }
    return self;
}

static void
s_join (market_dict_t *self)
{
    if (self->thread_running) {
        pthread_join (self->thread, NULL);
        self->thread_running = 0;
    }
}

void
market_dict_destroy (market_dict_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    market_dict_t *self = *self_p;
    atomic_store (&self->cancel, 1);
    s_join (self);
    market_lexicon_destroy (&self->loading);
    market_lexicon_destroy (&self->lexicon);
    market_synonyms_destroy (&self->synonyms);
    market_stem_destroy (&self->stem);
    free (self);
    *self_p = NULL;
}

static void *
s_loader (void *arg)
{
    market_dict_t *self = (market_dict_t *) arg;
    market_lexicon_paths_t paths = {
        self->cfg.dict_translations, self->cfg.dict_synonyms_de,
        self->cfg.dict_synonyms_en, self->cfg.dict_words_de
    };
    self->loading = market_lexicon_open_cancel (&paths, self->cache_path [0]? self->cache_path: NULL,
                                                &self->cancel);
    atomic_store (&self->done, 1);
    return NULL;
}

/*  Install a finished load. */
static void
s_lexicon_poll (market_dict_t *self, market_view_t *view)
{
    if (self->state == S_LEX_IDLE) {
        atomic_store (&self->done, 0);
        if (pthread_create (&self->thread, NULL, s_loader, self) == 0) {
            self->thread_running = 1;
            self->state = S_LEX_LOADING;
            hlog_info ("market", "search dictionaries: loading");
        }
        else {
            self->state = S_LEX_FAILED;
            hlog_warn ("market", "search dictionaries: cannot start the loader; search works without them");
        }
        return;
    }
    if (self->state != S_LEX_LOADING || !atomic_load (&self->done))
        return;
    s_join (self);
    self->lexicon = self->loading;
    self->loading = NULL;
    if (!self->lexicon) {
        self->state = S_LEX_FAILED;
        hlog_warn ("market", "search dictionaries: out of memory; search works without them");
        return;
    }
    self->state = S_LEX_READY;
    s_log_loaded (self->lexicon);
    market_view_set_search (view, self->lexicon, self->synonyms);
    self->handed = 1;
}

static void
s_log_loaded (const market_lexicon_t *lexicon)
{
    market_lexicon_stats_t st;
    market_lexicon_stats (lexicon, &st);
    hlog_info ("market", "search dictionaries %s in %.2f s: %zu keys, %zu targets, %zu words, %.1f MiB "
               "(translations %s, synonyms_de %s, synonyms_en %s, words_de %s; %llu damaged lines skipped)",
               st.compiled? "compiled": "mapped", st.open_seconds, st.n_keys, st.n_targets, st.n_words,
               (double) st.bytes / 1048576.0,
               st.loaded [0]? "yes": "no", st.loaded [1]? "yes": "no", st.loaded [2]? "yes": "no",
               st.loaded [3]? "yes": "no",
               (unsigned long long) (st.bad_lines [0] + st.bad_lines [1] + st.bad_lines [2] + st.bad_lines [3]));
}

/*  Re-read the synonym file if it changed. */
static void
s_synonyms_poll (market_dict_t *self, market_view_t *view, uint64_t now_ms)
{
    if (!self->synonyms_path [0] || now_ms < self->next_check_ms)
        return;
    self->next_check_ms = now_ms + MARKET_DICT_CHECK_MS;
    struct stat sb;
    if (stat (self->synonyms_path, &sb) != 0) {
        if (self->synonyms) {
            hlog_info ("market", "search synonyms: %s removed; none in use", self->synonyms_path);
            market_view_set_search (view, self->lexicon, NULL);
            market_synonyms_destroy (&self->synonyms);
        }
        else
        if (!self->warned_missing)
            hlog_info ("market", "search synonyms: no %s", self->synonyms_path);
        self->warned_missing = 1;
        memset (&self->seen, 0, sizeof self->seen);
        return;
    }
    if (sb.st_ino == self->seen.st_ino && sb.st_dev == self->seen.st_dev && sb.st_size == self->seen.st_size
    &&  sb.st_mtim.tv_sec == self->seen.st_mtim.tv_sec && sb.st_mtim.tv_nsec == self->seen.st_mtim.tv_nsec)
        return;
    self->seen = sb;
    if (sb.st_size > MARKET_SYNONYMS_MAX_BYTES || !S_ISREG (sb.st_mode)) {
        hlog_warn ("market", "search synonyms: %s is not a file of at most %d bytes; keeping the rules in use",
                   self->synonyms_path, MARKET_SYNONYMS_MAX_BYTES);
        return;
    }
    FILE *f = fopen (self->synonyms_path, "rb");
    char *text = (char *) malloc ((size_t) sb.st_size + 1);
    size_t len = f && text? fread (text, 1, (size_t) sb.st_size, f): 0;
    int ok = f && text && !ferror (f);
    if (f)
        fclose (f);
    size_t bad = 0;
    market_synonyms_t *fresh = ok? market_synonyms_parse (text, len, self->stem, &bad): NULL;
    free (text);
    if (!fresh) {
        hlog_warn ("market", "search synonyms: cannot read %s; keeping the rules in use", self->synonyms_path);
        return;
    }
    hlog_info ("market", "search synonyms: %zu rules from %s (%zu lines skipped)",
               market_synonyms_rules (fresh), self->synonyms_path, bad);
    market_view_set_search (view, self->lexicon, fresh);
    market_synonyms_destroy (&self->synonyms);
    self->synonyms = fresh;
    self->synonym_bad_lines = bad;
}

void
market_dict_update (market_dict_t *self, market_view_t *view, uint64_t now_ms)
{
    s_synonyms_poll (self, view, now_ms);
    s_lexicon_poll (self, view);
    //  A lexicon mapped at creation reaches the view before its index exists
    if (self->state == S_LEX_READY && !self->handed) {
        market_view_set_search (view, self->lexicon, self->synonyms);
        self->handed = 1;
    }
}

void
market_dict_reload (market_dict_t *self, market_view_t *view, uint64_t now_ms)
{
    self->next_check_ms = 0;
    memset (&self->seen, 0, sizeof self->seen);
    s_synonyms_poll (self, view, now_ms);
}

void
market_dict_wait (market_dict_t *self)
{
    s_join (self);
}

json_t *
market_dict_stats (const market_dict_t *self)
{
    json_t *out = json_object ();
    if (!out)
        return NULL;
    json_object_set_new (out, "lexicon", json_string (s_lex_names [self->state]));
    market_lexicon_stats_t st;
    memset (&st, 0, sizeof st);
    if (self->lexicon)
        market_lexicon_stats (self->lexicon, &st);
    json_object_set_new (out, "lexicon_bytes", json_integer ((json_int_t) st.bytes));
    json_object_set_new (out, "lexicon_seconds", json_real (st.open_seconds));
    json_t *sources = json_object ();
    uint64_t bad = 0;
    for (int i = 0; i < MARKET_LEXICON_SOURCES; i++) {
        json_object_set_new (sources, s_source_names [i], json_boolean (st.loaded [i]));
        bad += st.bad_lines [i];
    }
    json_object_set_new (out, "sources", sources);
    json_object_set_new (out, "bad_lines", json_integer ((json_int_t) bad));
    json_object_set_new (out, "synonym_rules",
                         json_integer ((json_int_t) (self->synonyms? market_synonyms_rules (self->synonyms): 0)));
    json_object_set_new (out, "synonym_bytes",
                         json_integer ((json_int_t) (self->synonyms? market_synonyms_bytes (self->synonyms): 0)));
    json_object_set_new (out, "synonym_bad_lines", json_integer ((json_int_t) self->synonym_bad_lines));
    return out;
}
