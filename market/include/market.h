/*  market.h — the marketplace service: the market.* capability handlers and
    the sweeper (docs/market.md; shapes in docs/protocol.md, "The market.*
    capabilities").

    Registers a market_view_t with the event log and serves:
      market.list    {category?, tags?, since_lamport?, limit?, location_filter?, order?}
                                                                -> {posts, max_lamport}
      market.get     {event_id}                                  -> {post}      (Hearth extra, local)
      market.post    {client_id?, category, title, body, location?, tags?, ttl_seconds?}
                                                                -> {event_id, lamport}
      market.expire  {event_id, reason, client_id?}              -> {event_id, lamport}
      market.update  {event_id (or post_id), title?, body?, tags?, location? (null
                      removes it), ttl_seconds?, client_id?}      -> {event_id, lamport}
      market.search  {query, k?, location_filter?, order?}       -> {posts (each + score), max_lamport}
    location_filter is {center: {lat, lng}, radius_km} (docs/market.md,
    "Near me"): posts then carry distance_km; order "distance" sorts by it.
    Inputs and outputs are jansson objects in the docs/protocol.md shapes (ids as
    "ed25519:<b64url>", times RFC 3339 UTC). The service never writes posts
    directly: post, expire and update append events through the event log.
    Single-threaded: call from the thread that owns the event log.
*/
#ifndef HEARTH_MARKET_H
#define HEARTH_MARKET_H

#include <stdint.h>
#include <jansson.h>
#include "eventlog.h"
#include "identity.h"
#include "market_view.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  Config defaults (docs/operations.md, "Configuration"; docs/limits.md). */
#define MARKET_DEFAULT_TTL_SECONDS     604800    /* 7 days */
#define MARKET_MAX_TTL_SECONDS         2592000   /* 30 days */
#define MARKET_SWEEP_INTERVAL_SECONDS  60

/*  Capability descriptors (docs/protocol.md, "The market.* capabilities"): calls in flight at most
    (max_concurrent) and timeout_seconds of each market.* capability. The
    node enforces them on calls from peers (gossip_query_limits_set) and
    hearthctl --node waits at most the timeout. market.get is a Hearth extra
    served on the control socket only, so it has none. */
#define MARKET_LIST_MAX_CONCURRENT     8
#define MARKET_LIST_TIMEOUT_SECONDS    5
#define MARKET_POST_MAX_CONCURRENT     4
#define MARKET_POST_TIMEOUT_SECONDS    10
#define MARKET_EXPIRE_MAX_CONCURRENT   4
#define MARKET_EXPIRE_TIMEOUT_SECONDS  5
#define MARKET_UPDATE_MAX_CONCURRENT   4
#define MARKET_UPDATE_TIMEOUT_SECONDS  10
#define MARKET_SEARCH_MAX_CONCURRENT   4
#define MARKET_SEARCH_TIMEOUT_SECONDS  10

/*  The descriptor limits of capability: 0 with *max_concurrent and
    *timeout_seconds set (either pointer may be NULL), or HEARTH_ENOTFOUND
    for a name without a descriptor. */
int market_capability_limits (const char *capability, uint32_t *max_concurrent,
                              uint32_t *timeout_seconds);

/*  Search dictionaries (docs/operations.md, "Search dictionaries"): the
    Debian packages' files, hearthd's defaults; "" leaves one out (the
    default of market_config_defaults, for a market outside hearthd). */
#define MARKET_PATH_MAX                512
#define MARKET_DICT_TRANSLATIONS       "/usr/share/trans/de-en"
#define MARKET_DICT_SYNONYMS_DE        "/usr/share/mythes/th_de_DE_v2.dat"
#define MARKET_DICT_SYNONYMS_EN        "/usr/share/mythes/th_en_US_v2.dat"
#define MARKET_DICT_WORDS_DE           "/usr/share/hunspell/de_DE.dic"

/*  The community synonym file's name in the data dir (Solr format), and
    the default Hearth ships (neighbourhood vocabulary in German and
    English, NUL-terminated), which hearthctl init writes there. */
#define MARKET_SYNONYMS_FILE           "synonyms.txt"
extern const char market_synonyms_default [];

typedef struct {
    uint64_t default_ttl_seconds;
    uint64_t max_ttl_seconds;
    uint64_t sweep_interval_seconds;
    char     search_dir [MARKET_PATH_MAX];      /* the lexicon cache and synonyms.txt; "" = none */
    char     dict_translations [MARKET_PATH_MAX];
    char     dict_synonyms_de [MARKET_PATH_MAX];
    char     dict_synonyms_en [MARKET_PATH_MAX];
    char     dict_words_de [MARKET_PATH_MAX];
} market_config_t;

/*  Fill cfg with the defaults above. */
void market_config_defaults (market_config_t *cfg);

typedef struct _market_t market_t;

/*  New service on `log` (borrowed until destroy), signing as `self_id`
    (borrowed until destroy). Registers its view; the caller then runs
    eventlog_views_load(). cfg may be NULL (defaults); a max_ttl above
    EVENT_MAX_TTL_SECONDS or a default_ttl above max_ttl is clamped with a
    warning. NULL on failure. */
market_t *market_new (eventlog_t *log, const identity_t *self_id, const market_config_t *cfg);
/*  Free; safe on NULL; nulls *self_p. The event log keeps calling the
    registered view until eventlog_destroy (which snapshots it), so destroy
    the log FIRST, then the market. */
void market_destroy (market_t **self_p);

/*  The effective config (after clamping); borrowed. */
const market_config_t *market_config (const market_t *self);

/*  Take the TTL settings and the sweep interval of cfg (a config reload),
    clamped as market_new clamps them; the search paths stay as they are
    (they need a restart). */
void market_config_update (market_t *self, const market_config_t *cfg);

/*  Re-read the synonym file now, changed or not (a SIGHUP), instead of at
    the next search's periodic check. */
void market_search_reload (market_t *self, uint64_t now_ms);

/*  The view; borrowed. */
market_view_t *market_view (market_t *self);

/*  Serve one capability call. `caller` is the authenticated 32-byte key of
    the caller (this node's own key on the control socket). On success returns
    0 and *output is a new object the caller owns. On failure returns a
    negative hearth_err_t and *message (may be NULL) a malloc'd sentence the
    caller frees. Unknown capability: HEARTH_ESCHEMA. */
int market_handle (market_t *self, const char *capability, const json_t *input,
                   const uint8_t caller [32], uint64_t now_ms, json_t **output, char **message);

/*  Validate a market.search input {query, k?, location_filter?, order?}:
    0 with *query (borrowed from input), *k, and *has_near (1 if a
    location_filter was given, then *near filled, by_distance for order
    "distance"), or HEARTH_EINVAL with *message naming the field. */
int market_search_input (const json_t *input, const char **query, size_t *k, market_near_t *near,
                         int *has_near, char **message);

/*  Before a search: pick up a changed synonyms.txt and dictionaries
    compiled since (market_dict.h); at most one file check a second. */
void market_search_refresh (market_t *self, uint64_t now_ms);

/*  One sweeper pass (docs/market.md, "The sweeper"): if this node is TRUSTED or ANCHOR,
    append a `stale` expiry for each post past expires_at with no valid
    expiry yet. Returns the number appended (>= 0) or a negative error. */
int market_sweep (market_t *self, uint64_t now_ms);

/*  The search resources' state for the stats (docs/operations.md,
    "Search dictionaries"); new object, caller owns. */
json_t *market_search_stats (market_t *self);

/*  JSON of a post in the docs/protocol.md "Post" shape; new object, caller owns. */
json_t *market_post_to_json (const market_post_t *post);

#ifdef __cplusplus
}
#endif
#endif
