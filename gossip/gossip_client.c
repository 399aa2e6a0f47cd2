/*  gossip_client.c — one remote call from outside the mesh (hearthctl
    --node): a DEALER with our CURVE key, one GossipQuery, one reply or a
    timeout; see gossip.h gossip_client_call. Uses no gossip_t.
*/
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "gossip_internal.h"
#include "hearth_codec.h"
#include "hearth_error.h"
#include "hearth_json.h"

int
gossip_client_call (const identity_t *id, const char *address, const char *capability,
                    const json_t *input, int timeout_ms, json_t **output, char **message,
                    uint64_t *retry_after_ms)
{
    *output = NULL;
    *message = NULL;
    if (retry_after_ms)
        *retry_after_ms = 0;
    uint8_t key [32], server [32], pub [32];
    char endpoint [GOSSIP_MAX_ADDRESS];
    if (gossip_address_parse (address, key, endpoint) != 0
    ||  crypto_sign_ed25519_pk_to_curve25519 (server, key) != 0) {
        *message = strdup ("bad node address (want NODE_ID@tcp://HOST:PORT)");
        return HEARTH_EINVAL;
    }
    char *in_text = input? json_dumps (input, HEARTH_JSON_FLAGS): strdup ("{}");
    uint8_t *sec = (uint8_t *) sodium_malloc (32);
    zsock_t *d = NULL;
    zsock_t *monitor = NULL;                /* owned: PAIR reading d's socket monitor */
    zpoller_t *poller = NULL;
    int rc = HEARTH_ENOMEM;
    if (!in_text || !sec || identity_curve_keypair (id, pub, sec) != 0)
        goto done;
    d = zsock_new (ZMQ_DEALER);
    if (!d)
        goto done;
    gossip_dealer_options (d, server, pub, sec);
    if (zsys_interrupted) {                 /* stopping: no call started */
        rc = HEARTH_EUNAVAILABLE;
        goto done;
    }
    /*  Our own socket monitor, no zmonitor actor: this runs on worker
        threads while the loop thread may set zsys_interrupted, which makes
        a zmonitor not yet STARTed abort (gossip_dealer_monitor_new). */
    monitor = gossip_dealer_monitor_new (d, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    if (!monitor)
        goto done;
    if (zsock_connect (d, "%s", endpoint) != 0) {
        rc = HEARTH_EINVAL;
        goto done;
    }
    uint64_t request_id;
    randombytes_buf (&request_id, sizeof request_id);
    Hearth__GossipQuery q = HEARTH__GOSSIP_QUERY__INIT;
    q.capability = (char *) capability;
    q.input_json = in_text;
    q.request_id = request_id;
    q.timeout_ms = timeout_ms > 0? (uint32_t) timeout_ms: 0;    /* our wait is the budget */
    Hearth__GossipMessage m = HEARTH__GOSSIP_MESSAGE__INIT;
    m.body_case = HEARTH__GOSSIP_MESSAGE__BODY_QUERY;
    m.query = &q;
    size_t len;
    uint8_t *buf = gossip_wire_encode (&m, &len);
    if (!buf)
        goto done;
    int sent = zmq_send (zsock_resolve (d), buf, len, 0);
    free (buf);
    if (sent < 0) {
        rc = HEARTH_EUNAVAILABLE;
        goto done;
    }
    poller = zpoller_new (d, monitor, NULL);
    if (!poller)
        goto done;
    uint64_t deadline = hearth_mono_ms () + (uint64_t) (timeout_ms > 0? timeout_ms: 0);
    rc = HEARTH_ETIMEOUT;
    for (;;) {
        uint64_t now = hearth_mono_ms ();
        if (now >= deadline)
            break;
        void *which = zpoller_wait (poller, (int) (deadline - now));
        if (which == monitor) {
            if (gossip_dealer_monitor_recv (monitor) != ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
                continue;
            rc = HEARTH_EUNAUTHORIZED;
            *message = strdup ("the node refused our key: not a member of its community");
            break;
        }
        if (which != d)
            break;                          /* timeout or interrupted */
        zframe_t *f = zframe_recv (d);
        if (!f)
            break;
        gossip_wire_msg_t r;
        if (gossip_wire_decode (&r, zframe_data (f), zframe_size (f), GOSSIP_MAX_FRAME_BYTES) == 0
        &&  r.msg->body_case == HEARTH__GOSSIP_MESSAGE__BODY_REPLY
        &&  r.msg->reply->request_id == request_id) {
            const Hearth__GossipReply *rep = r.msg->reply;
            if (rep->error < 0) {
                rc = rep->error >= HEARTH_ERROR_MIN? rep->error: HEARTH_EIO;
                *message = strdup (rep->error_message && *rep->error_message? rep->error_message
                                                                            : hearth_strerror (rc));
                if (retry_after_ms)
                    *retry_after_ms = rep->retry_after_ms;
            }
            else {
                json_error_t jerr;
                *output = json_loads (rep->output_json? rep->output_json: "", JSON_REJECT_DUPLICATES, &jerr);
                rc = *output? 0: HEARTH_EDECODE;
                if (rc)
                    *message = strdup ("the node's reply is not JSON");
            }
            gossip_wire_release (&r);
            zframe_destroy (&f);
            break;
        }
        gossip_wire_release (&r);
        zframe_destroy (&f);
    }
done:
    zpoller_destroy (&poller);
    gossip_dealer_monitor_destroy (d, &monitor);
    zsock_destroy (&d);
    if (sec)
        sodium_free (sec);
    free (in_text);
    return rc;
}
