/*  node_bus.h — hearthd's local capability bus: turns one control-socket
    request frame into one reply frame, and renders stats.

    Capabilities served (the caller is always this node's own key: the
    control socket is reachable only by the node's owner, docs/architecture.md §10):
      market.list | market.get | market.post | market.expire | market.search
                          -> market_handle()
      node.capabilities   {}                         -> {capabilities:[{name, model, dim}]}
                                                        (node_embed_capabilities)
      node.id             {}                         -> {node_id, short_id, address, community_id,
                                                         level: none|member|trusted|anchor,
                                                         http_url}
      node.peers          {}                         -> {peers:[...]} (gossip_peers_json)
      node.stats          {format?: "json"|"prometheus"}
                                                     -> the stats object, or {"text": "..."}
      events.list         {since_lamport?, limit?, signed?}
                                                     -> {events:[JSON envelopes],
                                                         max_lamport, more, head}
                          (signed: true adds each event's signed bytes, node_data.h)
      events.import       {events:[base64 SignedEvent]} -> counts (node_data.h)
      node.backup         {dir}                      -> an online checkpoint (node_data.h)
      node.verify_views   {}                         -> {equal, live_digest, rebuilt_digest, ...}
      node.view_digest    {}                         -> {view_digest, events_digest, events,
                                                         posts, lamport_head}
      community.invite    {node_id, level?: "member"|"trusted", ttl_seconds?,
                           bootstrap_endpoints?: [NODE_ID@tcp://HOST:PORT, ...]}
                                                     -> the signed invite blob (node_invite.h)
      member.list | member.promote | member.demote | member.revoke |
      member.endorse | member.proposals
                                                     -> node_members.h (governance,
                                                        docs/decisions/0030)
    node.verify_views is a diagnostic: it re-folds the whole log into a fresh
    market view and compares digests with the live one (crash tests use it).
    node.view_digest is the cheap convergence check of the mesh tests: the
    live view's digest and a digest of the stored event set.
    community.invite appends community.member.invited (expiry in whole
    seconds, default NODE_INVITE_DEFAULT_TTL_SECONDS) and returns the blob
    signed with the device key, naming this node's peer address and the
    given bootstrap_endpoints as where to connect. With neither it refuses
    (bad_request) before appending anything: nobody could use the invite.
    Any other name gets not_found. Every request is counted in node_stats.
*/
#ifndef HEARTH_NODE_BUS_H
#define HEARTH_NODE_BUS_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "eventlog.h"
#include "gossip.h"
#include "identity.h"
#include "market.h"
#include "node_stats.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  events.list page size: default and cap. 500 events of at most
    EVENT_MAX_BYTES each keep a reply well under NODE_CONTROL_MAX_REPLY_BYTES. */
#define NODE_BUS_EVENTS_DEFAULT_LIMIT  100
#define NODE_BUS_EVENTS_MAX_LIMIT      500
/*  A page always ends on a whole Lamport group (so since_lamport paging
    never skips an event), unless a group alone is larger than this. */
#define NODE_BUS_EVENTS_HARD_LIMIT     1000

typedef struct _node_bus_t node_bus_t;

/*  New bus over the node's parts, all borrowed until destroy. NULL on OOM. */
node_bus_t *node_bus_new (eventlog_t *log, market_t *market, const identity_t *identity,
                          node_stats_t *stats);
/*  Free; safe on NULL; nulls *self_p. */
void node_bus_destroy (node_bus_t **self_p);

/*  Where the device key lives (for signing invite blobs); copied. 0 or
    HEARTH_ENOMEM. */
int node_bus_set_keys_dir (node_bus_t *self, const char *keys_dir);

/*  This node's peer address "NODE_ID@tcp://HOST:PORT" (node.id, invite
    bootstrap endpoints); copied; NULL = not listening. 0 or HEARTH_ENOMEM. */
int node_bus_set_address (node_bus_t *self, const char *address);

/*  The HTTP listener's URL "http://HOST:PORT/" (node.id's http_url);
    copied; NULL = no listener. 0 or HEARTH_ENOMEM. */
int node_bus_set_http_url (node_bus_t *self, const char *url);

/*  The mesh (borrowed until unset with NULL): node.peers and the mesh
    figures of node.stats. Without it node.peers answers an empty list and
    stats have no "mesh" part. */
void node_bus_set_mesh (node_bus_t *self, gossip_t *mesh);

/*  Serve one request frame (borrowed); returns the reply text (malloc'd,
    caller frees), NULL only when out of memory. Never trusts the frame. */
char *node_bus_handle_frame (node_bus_t *self, const uint8_t *data, size_t len);

/*  The semantic side (borrowed until unset with NULL): market.search waits
    for its query embedding (node_embed.h), and stats get an "embed" part. */
typedef struct _node_embed_t node_embed_t;
void node_bus_set_embed (node_bus_t *self, node_embed_t *embed);

/*  Where a deferred reply goes: send (arg, result, reply) with result 0 or
    the negative hearth_err_t the reply carries and the reply text
    (malloc'd, the callee frees; NULL if out of memory), called exactly
    once, never from inside the call that deferred it. */
typedef void (node_bus_send_fn) (void *arg, int result, char *reply);

/*  node_bus_handle_frame, but a request that waits for other work
    (market.search for its query embedding) is answered later through
    send (send_arg): then *deferred is 1 and NULL is returned. Otherwise
    *deferred is 0 and the reply is returned as node_bus_handle_frame does
    (send is not called). */
char *node_bus_handle_frame_async (node_bus_t *self, const uint8_t *data, size_t len,
                                   node_bus_send_fn *send, void *send_arg, int *deferred);

/*  Serve one parsed call. 0 and *output (new object, caller owns), or a
    negative hearth_err_t and *message (malloc'd or NULL; caller frees). */
int node_bus_call (node_bus_t *self, const char *capability, const json_t *input,
                   json_t **output, char **message);

/*  Serve one parsed call (capability and input borrowed) as the control
    socket would serve its frame, counted in the stats the same way: the
    reply text (malloc'd, caller frees; NULL on OOM) and *result, 0 or the
    negative hearth_err_t the reply carries. Synchronous: market.search is
    the lexical search here. */
char *node_bus_handle_call (node_bus_t *self, const char *capability, const json_t *input,
                            int *result);

/*  node_bus_handle_call, but a call that waits for other work (market.search
    for its query embedding, while an embedding side is set) is answered
    later through send (send_arg): then *deferred is 1 and NULL is returned.
    Otherwise *deferred is 0 and the reply and *result are returned as
    node_bus_handle_call does (send is not called). The HTTP listener's
    path, so the API answers a search as the control socket does. */
char *node_bus_handle_call_async (node_bus_t *self, const char *capability, const json_t *input,
                                  node_bus_send_fn *send, void *send_arg, int *result,
                                  int *deferred);

/*  1 if node_bus_handle_call_async would defer this capability now (so a
    caller can bound how many of its own requests wait). */
int node_bus_call_defers (node_bus_t *self, const char *capability);

/*  Fill a stats sample of the node's current figures. */
void node_bus_stats_sample (node_bus_t *self, node_stats_sample_t *sample);

/*  Answer for the stats socket: request "json" or "prometheus" (exact,
    borrowed, len bytes) -> text (malloc'd); a control request for
    node.stats -> its control reply; anything else -> a wire error body
    naming the control socket. NULL only on OOM. */
char *node_bus_stats_text (node_bus_t *self, const uint8_t *request, size_t len);

#ifdef __cplusplus
}
#endif
#endif
