/*  node_http.h — the node's HTTP listener (libmicrohttpd): the marketplace
    page (node_page.h), /metrics, /health, /ready and a JSON API under
    /api/v1/ onto the control socket's handlers (node_bus_handle_call_async:
    a search waits for its query embedding as on the control socket, its
    connection suspended), with the same error bodies and codes
    (docs/http.md).

    It shares the daemon's zloop (docs/decisions/0029-http-shares-the-loop.md):
    libmicrohttpd runs without threads of its own, in external epoll mode;
    its epoll fd is a poller of the loop and a one-shot timer follows
    MHD_get_timeout, so every handler runs on the loop thread, the one
    that owns the event log, the market and the mesh.

    Guards (every refusal is counted in node_stats, hearth_http_refused_total):
      - Host must be localhost or an IP literal with the listener's port,
        or a name of http/hosts (421 otherwise): a DNS-rebinding page
        cannot reach the listener.
      - Writes (POST) need a loopback client (unless trust_loopback is
        off) or the token of DIR/http.token, as "Authorization: Bearer
        TOKEN" or the cookie hearth_token; Origin and Sec-Fetch-Site, when
        sent, must name this origin; API writes must be application/json
        and page forms carry the csrf field. No CORS headers are ever sent.
      - Limits: NODE_HTTP_* below (docs/limits.md): body size, memory per
        connection (URL and headers), connections in total and per
        address, an idle timeout, and a request rate per client address
        (node_ratelimit.h; 429 with Retry-After).
*/
#ifndef HEARTH_NODE_HTTP_H
#define HEARTH_NODE_HTTP_H

#include <czmq.h>
#include "node_bus.h"
#include "node_control.h"
#include "node_page.h"
#include "node_stats.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  Largest request body: the control socket's request frame cap (1 MiB). */
#define NODE_HTTP_MAX_BODY_BYTES     NODE_CONTROL_MAX_FRAME_BYTES
/*  Memory per connection for the request line, headers and read buffer
    (MHD_OPTION_CONNECTION_MEMORY_LIMIT): 32 KiB. A URL or headers that do
    not fit get 414 / 431 from libmicrohttpd itself. */
#define NODE_HTTP_MEMORY_LIMIT       (32 * 1024)
/*  Open connections at most, and per client address. */
#define NODE_HTTP_MAX_CONNECTIONS    256
#define NODE_HTTP_MAX_PER_ADDRESS    32
/*  A connection idle this long is closed (slowloris): 15 s. */
#define NODE_HTTP_TIMEOUT_S          15
/*  Requests per second per client address, and the burst. */
#define NODE_HTTP_RATE_PER_S         50
#define NODE_HTTP_RATE_BURST         100
/*  Client addresses whose rate is remembered (node_ratelimit.h). */
#define NODE_HTTP_RATE_CLIENTS       1024
/*  API requests waiting at once for a deferred answer (market.search for
    its query embedding, each within search/embed_timeout_ms), their
    connections suspended; one more gets 503 (capacity_exceeded) with
    Retry-After NODE_HTTP_BUSY_RETRY_S. Below NODE_HTTP_MAX_PER_ADDRESS and
    NODE_EMBED_MAX_PENDING: one client cannot hold every search slot of
    the node, and every waiting search gets its embedding try. */
#define NODE_HTTP_MAX_WAITING        16
#define NODE_HTTP_BUSY_RETRY_S       1
/*  The write token: random bytes (hex in the file), the file's name in
    the data dir, and the cookie that may carry it. */
#define NODE_HTTP_TOKEN_BYTES        32
#define NODE_HTTP_TOKEN_FILE         "http.token"
#define NODE_HTTP_TOKEN_COOKIE       "hearth_token"

/*  /ready's question to the daemon: 1 when ready, else 0 and *reason
    (static text). */
typedef int (node_http_ready_fn) (void *arg, const char **reason);

typedef struct _node_http_t node_http_t;

/*  Listen on `listen` ("HOST:PORT", node_config_set_http; port 0 = any
    free port) and serve on loop. hosts: more Host names to accept
    (http/hosts, node_http_host_allowed; NULL or "" = none; copied).
    token_path: the write token file,
    created (0600) when missing, refused when group or others may read
    it. All pointers are borrowed and must outlive the listener. NULL on
    failure with *err and *message (malloc'd, caller frees) naming the
    address and the flag to change it. */
node_http_t *node_http_new (const char *listen, int trust_loopback, const char *hosts,
                            const char *token_path,
                            zloop_t *loop, node_bus_t *bus, node_page_t *page,
                            node_stats_t *stats, node_http_ready_fn *ready, void *ready_arg,
                            int *err, char **message);

/*  "http://HOST:PORT/" with the port actually bound. */
const char *node_http_url (const node_http_t *self);

/*  Stop listening, close every connection, leave the loop. Safe on NULL;
    nulls *self_p. */
void node_http_destroy (node_http_t **self_p);

#ifdef __cplusplus
}
#endif
#endif
