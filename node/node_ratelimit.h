/*  node_ratelimit.h — request rate limit per client address: one token
    bucket per address (rate tokens per second, holding at most burst), in
    a table of at most max_clients addresses; when it is full the least
    recently seen address is forgotten (it starts again with a full
    bucket, which an attacker with many addresses could also get by
    using them: the table bounds memory, the connection limits bound
    the rest).

    Pure: the caller passes monotonic ms; no I/O (test_node_http.c).
*/
#ifndef HEARTH_NODE_RATELIMIT_H
#define HEARTH_NODE_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*  Bytes of a client key: an IPv6 address, or an IPv4 one in the first 4
    bytes with the rest zero. */
#define NODE_RATELIMIT_KEY_BYTES 16

typedef struct _node_ratelimit_t node_ratelimit_t;

/*  New limiter; NULL on OOM or when rate, burst or max_clients is 0. */
node_ratelimit_t *node_ratelimit_new (uint32_t rate_per_s, uint32_t burst, size_t max_clients);

/*  Free; safe on NULL; nulls *self_p. */
void node_ratelimit_destroy (node_ratelimit_t **self_p);

/*  One request from key at now_ms: 1 and a token taken, or 0 (refused)
    with *retry_after_s (>= 1): whole seconds until a token is back. */
int node_ratelimit_take (node_ratelimit_t *self, const uint8_t key [NODE_RATELIMIT_KEY_BYTES],
                         uint64_t now_ms, uint32_t *retry_after_s);

/*  Addresses in the table now. */
size_t node_ratelimit_clients (const node_ratelimit_t *self);

#ifdef __cplusplus
}
#endif
#endif
