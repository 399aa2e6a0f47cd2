/*  gossip_monitor.c — the listening socket's monitor: connections that
    fail before ZAP (junk, wrong mechanism, wrong server key) are counted
    in gossip_stats_t (handshake_*); see gossip_internal.h.
*/
#include <stdio.h>
#include <string.h>
#include "gossip_internal.h"
#include "hearth_error.h"
#include "hearth_log.h"

#define S_LOG "gossip"

/*  libzmq reports a handshake's verdict without saying which connection it
    was (only ACCEPTED and DISCONNECTED carry the socket), so verdicts are
    matched to connections by the order the one I/O thread reports them
    in: a failure is followed by its connection's close; a success is
    credited to the oldest connection still waiting. A connection that
    closes with no verdict never spoke ZMTP far enough to fail it (libzmq
    reports no event for a greeting that is not ZMTP at all): junk. Exact
    when handshakes do not overlap; overlapping ones may swap which
    connection is counted, not how many. */
static gossip_conn_t *
s_conn_find (gossip_t *self, int fd)
{
    for (size_t i = 0; i < self->n_conns; i++)
        if (self->conns [i].fd == fd)
            return &self->conns [i];
    return NULL;
}

static void
s_conn_remove (gossip_t *self, gossip_conn_t *c)
{
    size_t i = (size_t) (c - self->conns);
    memmove (&self->conns [i], &self->conns [i + 1], (self->n_conns - i - 1) * sizeof *c);
    self->n_conns--;
}

/*  Credit a verdict to the oldest connection without one. */
static void
s_conn_credit (gossip_t *self)
{
    for (size_t i = 0; i < self->n_conns; i++)
        if (!self->conns [i].resolved) {
            self->conns [i].resolved = 1;
            return;
        }
}

static void
s_on_monitor_event (gossip_t *self, uint16_t event, uint32_t value)
{
    switch (event) {
        case ZMQ_EVENT_ACCEPTED: {
            gossip_conn_t *c = s_conn_find (self, (int) value);
            if (c)
                s_conn_remove (self, c);    /* its close was missed: forget it */
            if (self->n_conns == GOSSIP_MONITOR_CONNS) {
                gossip_conn_t *old = NULL;       /* make room: the oldest with a verdict */
                for (size_t i = 0; i < self->n_conns && !old; i++)
                    if (self->conns [i].resolved)
                        old = &self->conns [i];
                if (!old)
                    return;                 /* all waiting: this one is not classified */
                s_conn_remove (self, old);
            }
            self->conns [self->n_conns].fd = (int) value;
            self->conns [self->n_conns].resolved = 0;
            self->n_conns++;
            break;
        }
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
            s_conn_credit (self);
            break;
        case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
            self->stats.handshake_junk++;   /* cut during the handshake: a scan, a half greeting */
            s_conn_credit (self);
            self->failed_unclosed++;
            break;
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
            if (value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
                self->stats.handshake_mechanism++;
            else
            if (value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC
            ||  value == ZMQ_PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE)
                self->stats.handshake_crypto++;
            else
                self->stats.handshake_junk++;
            s_conn_credit (self);
            self->failed_unclosed++;
            break;
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
            s_conn_credit (self);           /* counted by the ZAP handler (zap_denied) */
            self->failed_unclosed++;
            break;
        case ZMQ_EVENT_DISCONNECTED: {
            gossip_conn_t *c = s_conn_find (self, (int) value);
            if (self->failed_unclosed > 0) {
                self->failed_unclosed--;    /* the close of the failure just reported */
                if (c && !c->resolved)
                    s_conn_credit (self);   /* the credit went to another: move it */
            }
            else
            if (c && !c->resolved) {
                self->stats.handshake_junk++;
                hearth_log_limited (HEARTH_LOG_INFO, S_LOG, "handshake.junk",
                                    "a connection to the peer socket closed without a ZeroMQ "
                                    "handshake (not ZeroMQ, or cut short): counted");
            }
            if (c)
                s_conn_remove (self, c);
            /*  An in link whose connection closed is down now, not after
                GOSSIP_LINK_SILENT_MS of silence: the overlay counts in
                links against their cap (the tick downs it: `lost`). */
            for (size_t i = 0; i < self->n_links; i++) {
                gossip_link_t *l = self->links [i];
                if (!l->outgoing && l->connected && l->fd == (int) value) {
                    l->lost = 1;
                    l->fd = -1;
                }
            }
            break;
        }
        default:
            break;
    }
}

static int
s_on_router_monitor (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop;
    gossip_t *self = (gossip_t *) arg;
    void *h = zsock_resolve (sock);
    for (int burst = 0; burst < GOSSIP_RECV_BURST; burst++) {
        zmq_msg_t msg;
        zmq_msg_init (&msg);
        if (zmq_msg_recv (&msg, h, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&msg);
            break;
        }
        /*  Frame 1: event (16 bits) and value (32 bits); frame 2: endpoint. */
        if (zmq_msg_size (&msg) == 6) {
            uint16_t event;
            uint32_t value;
            memcpy (&event, zmq_msg_data (&msg), 2);
            memcpy (&value, (const uint8_t *) zmq_msg_data (&msg) + 2, 4);
            s_on_monitor_event (self, event, value);
        }
        while (zmq_msg_more (&msg) && zmq_msg_recv (&msg, h, ZMQ_DONTWAIT) >= 0)
            ;
        zmq_msg_close (&msg);
    }
    return 0;
}

/*  Watch the listening socket's connections (counts of outsiders). */
int
gossip_router_monitor_start (gossip_t *self)
{
    /*  Unique per instance ever made in this process: a new gossip_t may
        get a destroyed one's address while libzmq still holds that one's
        endpoint (sockets close asynchronously). All instances share one
        thread (gossip.h), so a plain counter does. */
    static unsigned instance;
    char endpoint [80];
    snprintf (endpoint, sizeof endpoint, "inproc://hearth-gossip-monitor-%p-%u", (void *) self, ++instance);
    int events = ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED
               | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
               | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
    if (zmq_socket_monitor (zsock_resolve (self->router), endpoint, events) != 0)
        return HEARTH_EIO;
    self->monitor = zsock_new (ZMQ_PAIR);
    if (!self->monitor || zsock_connect (self->monitor, "%s", endpoint) != 0
    ||  zloop_reader (self->loop, self->monitor, s_on_router_monitor, self) != 0)
        return HEARTH_ENOMEM;
    return 0;
}
