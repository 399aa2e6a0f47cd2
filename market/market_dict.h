/*  market_dict.h — a node's search resources (docs/market.md, "Search";
    docs/operations.md, "Search dictionaries"): the lexicon compiled from
    Debian's dictionaries and the community synonym file in the data dir.

    The lexicon's cache in the data dir, when built from the same files,
    is mapped when the dict is created (~50 ms). Otherwise the first search
    compiles the sources in a background thread (seconds); until it is
    ready, search ranks without it (and the view re-indexes once it
    arrives). The synonym file
    (MARKET_SYNONYMS_FILE in search_dir) is checked at most every
    MARKET_DICT_CHECK_MS and re-read when its size, mtime or inode changed,
    so an edit takes effect without a restart. Missing sources are logged
    once, when the dict is created. Single-threaded use (the loader thread
    is internal).
*/
#ifndef HEARTH_MARKET_DICT_H
#define HEARTH_MARKET_DICT_H

#include <stdint.h>
#include <jansson.h>
#include "market.h"
#include "market_view.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  The synonym file is checked for changes at most this often. */
#define MARKET_DICT_CHECK_MS   1000
/*  The lexicon cache's name in search_dir. */
#define MARKET_DICT_CACHE_FILE "lexicon.bin"

typedef struct _market_dict_t market_dict_t;

/*  New resources for cfg (copied); nothing is loaded yet. NULL on failure. */
market_dict_t *market_dict_new (const market_config_t *cfg);
/*  Free (stops a running load); safe on NULL; nulls *self_p. Destroy it
    after the view, or after setting the view's resources to NULL. */
void market_dict_destroy (market_dict_t **self_p);

/*  Before a search: start the lexicon load (first call), hand a finished
    one to view, reload the synonym file if it changed. */
void market_dict_update (market_dict_t *self, market_view_t *view, uint64_t now_ms);

/*  Re-read the synonym file now, changed or not (a SIGHUP); the lexicon
    is left as it is. */
void market_dict_reload (market_dict_t *self, market_view_t *view, uint64_t now_ms);

/*  Wait for a lexicon load in progress to finish (tests, benchmarks). */
void market_dict_wait (market_dict_t *self);

/*  The state for the stats: {lexicon, lexicon_bytes, lexicon_seconds,
    sources: {name: bool}, bad_lines, synonym_rules, synonym_bytes,
    synonym_bad_lines}. New object, caller owns. */
json_t *market_dict_stats (const market_dict_t *self);

#ifdef __cplusplus
}
#endif
#endif
