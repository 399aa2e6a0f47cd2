/*  node_embed.h — the node's semantic side of market.search and its
    embed.text capability (docs/market.md, "Semantic ranking";
    docs/protocol.md, "embed.text").

    Providers: this node's own embedding backend (an OpenAI-compatible
    `POST /v1/embeddings` endpoint set by search/embed_url and
    search/embed_model), and members that advertise embed.text (asked
    with node.capabilities over the mesh while this node has no backend
    up). A search uses its own backend first, else the advertising member
    with the smallest NodeID, and answers within search/embed_timeout_ms:
    the query's embedding fused with the cached post embeddings
    (market_semantic.h), or the lexical ranking when there is no provider
    or it failed or was late. Each change of the provider in use is logged
    once; the reply's "meta" and the stats name it.

    Nothing here blocks the node's loop: HTTP and peer calls run on two
    worker threads (zactor; one lane for queries and served embed.text
    calls, one for post embeddings in the background and peer probes),
    each call with a deadline; results come back through the loop. Post
    embeddings are filled in the background, newest active posts first,
    at most the cache's capacity of them.
    Single-threaded API: call from the loop's thread.
*/
#ifndef HEARTH_NODE_EMBED_H
#define HEARTH_NODE_EMBED_H

#include <stddef.h>
#include <stdint.h>
#include <czmq.h>
#include <jansson.h>
#include "eventlog.h"
#include "gossip.h"
#include "identity.h"
#include "market.h"
#include "market_embed_cache.h"
#include "node_embed_http.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  How long a search waits for its query embedding: default and bounds
    (the upper bound is embed.text's timeout_seconds, 15 s). */
#define NODE_EMBED_DEFAULT_TIMEOUT_MS   2000
#define NODE_EMBED_MIN_TIMEOUT_MS       10
#define NODE_EMBED_MAX_TIMEOUT_MS       15000
/*  Searches waiting for their query embedding at most; more are answered
    lexically at once ("busy"). */
#define NODE_EMBED_MAX_PENDING          64
/*  A backend that is down is probed again this often. Peers are asked for
    embed.text at once when the connected set changes, then after this,
    doubling while none offers it, up to NODE_EMBED_PEER_REFRESH_MS (also
    the interval once one is known). */
#define NODE_EMBED_PROBE_MS             2000
#define NODE_EMBED_PEER_REFRESH_MS      30000
/*  How long a probe of a peer's node.capabilities may take. */
#define NODE_EMBED_CAPS_TIMEOUT_MS      1000
/*  The background filling of post embeddings checks for work this often,
    and queues at most this many posts per scan of the view. */
#define NODE_EMBED_BACKFILL_MS          100
#define NODE_EMBED_BACKFILL_QUEUE       1024
/*  Members remembered as embed.text providers at most (GOSSIP_MAX_PEERS). */
#define NODE_EMBED_MAX_REMOTES          64
/*  Prefix texts (e.g. "query: " / "passage: " for e5 models) at most. */
#define NODE_EMBED_PREFIX_MAX           64
/*  embed.text served to peers: calls in flight at most and timeout
    (HearthNet's descriptor: max_concurrent 8, timeout 15 s). */
#define NODE_EMBED_SERVE_MAX_CONCURRENT 8
#define NODE_EMBED_SERVE_TIMEOUT_SECONDS 15

/*  A deferred answer: the done callback will be called later. */
#define NODE_EMBED_DEFERRED             1

typedef struct {
    char     url [NODE_EMBED_URL_MAX];               /* "" = no backend of our own */
    char     model [MARKET_EMBED_MAX_MODEL + 1];     /* sent to the backend; with no url:
                                                        the model a remote must offer ("" any) */
    uint32_t timeout_ms;                             /* query embedding deadline */
    uint32_t cache_entries;                          /* post embeddings cached at most */
    char     query_prefix [NODE_EMBED_PREFIX_MAX];   /* put before a query's text */
    char     passage_prefix [NODE_EMBED_PREFIX_MAX]; /* put before a post's text */
} node_embed_config_t;

/*  Defaults: no backend, NODE_EMBED_DEFAULT_TIMEOUT_MS,
    MARKET_EMBED_CACHE_DEFAULT_ENTRIES, no prefixes. */
void node_embed_config_defaults (node_embed_config_t *cfg);

typedef struct _node_embed_t node_embed_t;

/*  New semantic side over the node's market and log, calling peers as
    identity (all borrowed until destroy), its timers and worker replies on
    loop (borrowed). Starts the workers and probes the backend. NULL on
    failure (OOM, threads). */
node_embed_t *node_embed_new (const node_embed_config_t *cfg, market_t *market, eventlog_t *log,
                              const identity_t *identity, zloop_t *loop);
/*  Answer every waiting search (lexically) and served call (unavailable),
    stop the workers; safe on NULL; nulls *self_p. Call before the mesh
    and the sockets the answers go to are destroyed. */
void node_embed_destroy (node_embed_t **self_p);

/*  The mesh whose members are asked for embed.text (borrowed; NULL unsets). */
void node_embed_set_mesh (node_embed_t *self, gossip_t *mesh);

/*  An answer given later: rc and output (borrowed for the call) or message. */
typedef void (node_embed_done_fn) (void *arg, int rc, const json_t *output, const char *message);

/*  market.search {query, k?}. Either answers now (0 and *output, caller
    owns; or an error and *message, malloc'd) or returns NODE_EMBED_DEFERRED
    and calls done (arg) exactly once later, within the search deadline. */
int node_embed_search (node_embed_t *self, const json_t *input, node_embed_done_fn *done, void *arg,
                       json_t **output, char **message);

/*  embed.text {texts: [1..NODE_EMBED_BATCH_MAX strings], model?, normalize?}
    for a member, with its budget (ms): answers now (an error: no backend,
    unknown model, bad input) or returns NODE_EMBED_DEFERRED and calls done
    later with {embeddings, dim, model, ms}. */
int node_embed_serve (node_embed_t *self, const json_t *input, uint64_t budget_ms,
                      node_embed_done_fn *done, void *arg, json_t **output, char **message);

/*  node.capabilities for peers: {"capabilities": [{name, model, dim}]},
    listing embed.text while the backend is up. New object, caller owns. */
json_t *node_embed_capabilities (node_embed_t *self);

/*  The "embed" part of the stats (provider, backend, remotes, calls by
    result, searches, cache). New object, caller owns. */
json_t *node_embed_stats_json (node_embed_t *self);

/*  The same as Prometheus text lines (hearth_embed_*); malloc'd. */
char *node_embed_stats_prometheus (node_embed_t *self);

/*  The post embeddings cache (borrowed; for tests and benches). */
market_embed_cache_t *node_embed_cache (node_embed_t *self);

#ifdef __cplusplus
}
#endif
#endif
