/*  node_ratelimit.h — per-peer request rate limits for remote capability
    calls (CONTRACT §8 "Rate limits", §9 RATE_LIMIT): token buckets keyed by
    (peer key, capability) plus one bucket per peer for all its calls.

    Pure: no I/O, no clock; the caller passes a monotonic time in ms. The
    peer table is bounded (NODE_RATELIMIT_MAX_PEERS); when full, the least
    recently seen peer is evicted and starts again with full buckets.
    Only remote callers are limited; the control socket is not (only the
    data dir's owner can reach it, docs/limits.md).
*/
#ifndef HEARTH_NODE_RATELIMIT_H
#define HEARTH_NODE_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*  Soft limit per (peer, capability): 10 requests/s (CONTRACT §8, §9
    RATE_LIMIT soft 10). The bucket also holds 10 tokens, so one second's
    worth may come as a burst; over it the call gets rate_limited. */
#define NODE_RATELIMIT_CAP_RPS          10
#define NODE_RATELIMIT_CAP_BURST        10
/*  Soft limit per peer over all capabilities: 100 requests/s (CONTRACT §8
    "Totals are soft 100"); burst is again one second's worth. */
#define NODE_RATELIMIT_TOTAL_RPS        100
#define NODE_RATELIMIT_TOTAL_BURST      100
/*  Peers tracked at once: a community mesh has tens of nodes, so 256 keeps
    every live peer with room to spare, while bounding memory (~2 KB per
    peer) whatever number of keys call us. */
#define NODE_RATELIMIT_MAX_PEERS        256
/*  Capability buckets per peer: peers may call two capabilities today
    (market.list, market.search); 8 leaves room for more without growth.
    When full, the least recently used bucket of that peer is reused. */
#define NODE_RATELIMIT_MAX_CAPS         8
/*  Longest capability name kept (longer names are cut, so they still map to
    one bucket); capability names are short dotted words. */
#define NODE_RATELIMIT_CAP_NAME_BYTES   64

typedef struct _node_ratelimit_t node_ratelimit_t;

/*  New limiter with room for max_peers peers (0 = NODE_RATELIMIT_MAX_PEERS).
    NULL if out of memory. */
node_ratelimit_t *node_ratelimit_new (size_t max_peers);
/*  Destroy; safe on NULL; nulls *self_p. */
void node_ratelimit_destroy (node_ratelimit_t **self_p);

/*  Account one call by `peer` to `capability` at now_ms (monotonic). Returns
    HEARTH_OK (a token was taken from both buckets) or HEARTH_ERATE (nothing
    taken) with *retry_after_ms (if not NULL) set to the wait until both
    buckets hold a token again; HEARTH_EINVAL on NULL arguments. */
int node_ratelimit_check (node_ratelimit_t *self, const uint8_t peer [32],
                          const char *capability, uint64_t now_ms,
                          uint64_t *retry_after_ms);

/*  Peers currently tracked. */
size_t node_ratelimit_size (const node_ratelimit_t *self);

#ifdef __cplusplus
}
#endif

#endif
