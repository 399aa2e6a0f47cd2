/*  node_client.c — one-shot DEALER calls to hearthd's control and stats
    sockets, with a receive timeout so a client never hangs.
*/
#include <czmq.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "hearth_error.h"
#include "node_client.h"
#include "node_control.h"

/*  Receive wait slice: how often a waiting call re-checks that the daemon
    still listens (100 ms: prompt, and cheap: one connect(2) per slice). */
#define S_SLICE_MS 100

struct _node_client_t {
    char *endpoint;       /* owned */
    int   timeout_ms;
};

node_client_t *
node_client_new (const char *endpoint, int timeout_ms)
{
    node_client_t *self = (node_client_t *) calloc (1, sizeof (node_client_t));
    if (!self)
        return NULL;
    self->endpoint = strdup (endpoint);
    if (!self->endpoint) {
        free (self);
        return NULL;
    }
    self->timeout_ms = timeout_ms > 0? timeout_ms: NODE_CONTROL_TIMEOUT_MS;
    return self;
}

void
node_client_destroy (node_client_t **self_p)
{
    if (self_p && *self_p) {
        free ((*self_p)->endpoint);
        free (*self_p);
        *self_p = NULL;
    }
}

int
node_client_ipc_probe (const char *endpoint)
{
    if (!endpoint || strncmp (endpoint, "ipc://", 6) != 0)
        return -1;
    const char *path = endpoint + 6;
    struct sockaddr_un addr;
    memset (&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    if (strlen (path) >= sizeof addr.sun_path)
        return -1;
    strcpy (addr.sun_path, path);
    int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int rc = connect (fd, (struct sockaddr *) &addr, sizeof addr);
    int saved = errno;
    close (fd);
    if (rc == 0)
        return 1;
    if (saved == ENOENT || saved == ECONNREFUSED || saved == ENOTSOCK)
        return 0;
    return -1;
}

int
node_client_call_raw (node_client_t *self, const void *data, size_t len,
                      char **reply, size_t *reply_len)
{
    *reply = NULL;
    *reply_len = 0;
    if (node_client_ipc_probe (self->endpoint) == 0)
        return HEARTH_EUNAVAILABLE;
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    if (!sock)
        return HEARTH_EIO;
    /*  Never block exit on unsent data; bound what a reply may cost us. */
    zsock_set_linger (sock, 0);
    zsock_set_rcvtimeo (sock, S_SLICE_MS);
    zsock_set_sndtimeo (sock, self->timeout_ms);
    zsock_set_maxmsgsize (sock, NODE_CONTROL_MAX_REPLY_BYTES);
    int rc = HEARTH_OK;
    if (zsock_connect (sock, "%s", self->endpoint) != 0)
        rc = HEARTH_EUNAVAILABLE;
    if (rc == HEARTH_OK) {
        zframe_t *frame = zframe_new (data, len);
        if (!frame)
            rc = HEARTH_ENOMEM;
        else
        if (zframe_send (&frame, sock, 0) != 0) {
            zframe_destroy (&frame);
            rc = errno == EAGAIN? HEARTH_ETIMEOUT: HEARTH_EIO;
        }
    }
    zmsg_t *msg = NULL;
    if (rc == HEARTH_OK) {
        /*  Wait in slices; between them check the daemon still listens, so
            a node that dies mid-request is reported at once. */
        int64_t deadline = zclock_mono () + self->timeout_ms;
        while (!msg) {
            msg = zmsg_recv (sock);
            if (msg)
                break;
            if (errno != EAGAIN) {
                rc = HEARTH_EIO;
                break;
            }
            if (zclock_mono () >= deadline) {
                rc = HEARTH_ETIMEOUT;
                break;
            }
            if (node_client_ipc_probe (self->endpoint) == 0) {
                rc = HEARTH_EUNAVAILABLE;
                break;
            }
        }
    }
    if (rc == HEARTH_OK) {
        /*  A REQ-style echo of an empty delimiter may precede the body:
            the body is the last frame. */
        zframe_t *body = zmsg_last (msg);
        size_t size = body? zframe_size (body): 0;
        char *copy = (char *) malloc (size + 1);
        if (!copy)
            rc = HEARTH_ENOMEM;
        else {
            if (size)
                memcpy (copy, zframe_data (body), size);
            copy [size] = '\0';
            *reply = copy;
            *reply_len = size;
        }
    }
    zmsg_destroy (&msg);
    zsock_destroy (&sock);
    return rc;
}

int
node_client_call (node_client_t *self, const char *capability, const json_t *input, json_t **reply)
{
    *reply = NULL;
    char *request = node_control_request_encode (capability, input);
    if (!request)
        return HEARTH_ENOMEM;
    char *text = NULL;
    size_t text_len = 0;
    int rc = node_client_call_raw (self, request, strlen (request), &text, &text_len);
    free (request);
    if (rc == HEARTH_OK) {
        rc = node_control_reply_parse ((const uint8_t *) text, text_len, reply);
        free (text);
    }
    return rc;
}
