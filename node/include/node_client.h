/*  node_client.h — the client end of the control socket (used by hearthctl,
    and by hearthd to tell a stale socket file from a live daemon).

    One call = one fresh DEALER socket, one request frame, one reply frame
    within the timeout, so a late reply to an earlier call can never be read
    as the answer to a later one. Before connecting to an ipc:// endpoint the
    client checks the socket file with a plain connect(2): a missing file or
    a refused connection means no daemon, reported at once instead of after
    the timeout. While waiting for the reply the check is repeated every
    100 ms, so a daemon that dies mid-request is reported at once too (the
    request may or may not have been applied then: retry with a client_id).
*/
#ifndef HEARTH_NODE_CLIENT_H
#define HEARTH_NODE_CLIENT_H

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _node_client_t node_client_t;

/*  New client for endpoint (copied), waiting at most timeout_ms per call
    (<= 0: NODE_CONTROL_TIMEOUT_MS). NULL on OOM. */
node_client_t *node_client_new (const char *endpoint, int timeout_ms);
/*  Free; safe on NULL; nulls *self_p. */
void node_client_destroy (node_client_t **self_p);

/*  Call capability with input (borrowed; NULL = {}). Returns 0 and *reply
    (new object, caller owns) holding either "output" or "error" (a service
    error is still a reply); or HEARTH_EUNAVAILABLE (no daemon on the
    endpoint), HEARTH_ETIMEOUT (no reply in time), HEARTH_EDECODE (reply is
    not a control reply), HEARTH_EIO (socket error), HEARTH_ENOMEM. */
int node_client_call (node_client_t *self, const char *capability, const json_t *input,
                      json_t **reply);

/*  Send one raw frame (len bytes, borrowed) and receive the raw reply
    (malloc'd into *reply, NUL-terminated, length in *reply_len). For the
    stats socket and for tests that send malformed requests. Same errors. */
int node_client_call_raw (node_client_t *self, const void *data, size_t len,
                          char **reply, size_t *reply_len);

/*  For an ipc:// endpoint: 1 if a process accepts connections on its socket
    file, 0 if the file is missing or refuses connections (nobody listens:
    a stale file after a crash), -1 if the endpoint is not ipc:// or the
    check itself failed. */
int node_client_ipc_probe (const char *endpoint);

#ifdef __cplusplus
}
#endif
#endif
