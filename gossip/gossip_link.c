/*  gossip_link.c — a link of the mesh: who may talk to us, every frame
    sent to a peer, and a link's lifecycle (new, dial, reset, destroy); see
    gossip_link.h.

    Every frame to a peer passes gossip_link_send (or gossip_send_rid for a
    routing id without a link), so "nothing goes to a non-member" is
    enforced in one place. A reconciliation message the send queue refuses
    is kept (one per role) and sent again by the tick.
*/
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sodium.h>
#include "gossip_internal.h"
#include "riblt_session.h"
#include "hearth_codec.h"
#include "hearth_error.h"
#include "hearth_log.h"
#include "hearth_vec.h"

#define S_LOG "gossip"

/* ---- tuning (named, explained) --------------------------------------------------- */

/*  ZMQ reconnect backoff: first retry after 100 ms, doubling to 5 s. */
#define GOSSIP_RECONNECT_IVL_MS     100
#define GOSSIP_RECONNECT_MAX_MS     5000

/* ---- the tick (gossip_tick.h) ---------------------------------------------------- */

/*  Have the tick run within GOSSIP_TICK_MS: a one-shot timer calling
    gossip.c's tick, unless one is armed already. If it cannot be armed
    the idle tick (always armed) does the work. */
void
gossip_tick_soon (gossip_t *self)
{
    if (self->tick_soon_timer < 0)
        self->tick_soon_timer = zloop_timer (self->loop, GOSSIP_TICK_MS, 1, gossip_on_tick_soon, self);
}

/* ---- who may talk ---------------------------------------------------------------- */

uint64_t
gossip_head (gossip_t *self)
{
    return eventlog_stats (self->log)->lamport_head;
}

/*  May `key` talk to us now: a current member or a pending invitee. */
int
gossip_admitted (gossip_t *self, const uint8_t key [32])
{
    const membership_t *m = eventlog_membership (self->log);
    if (!m || !eventlog_community_id (self->log))
        return 0;
    if (membership_level (m, key) >= HEARTH__LEVEL__LEVEL_MEMBER)
        return 1;
    return membership_invite_pending (m, key, hearth_now_ms ());
}

/*  Is `key` a current member (not an invitee)? */
int
gossip_is_member (gossip_t *self, const uint8_t key [32])
{
    const membership_t *m = eventlog_membership (self->log);
    return m && membership_level (m, key) >= HEARTH__LEVEL__LEVEL_MEMBER;
}

/*  May the link's key exchange frames with us now? A current member or a
    pending invitee (as ZAP admits), whoever dialled whom. Exceptions for a
    node that cannot tell yet, all for out links: while its view knows no
    member at all (an empty log: nothing to give away), a configured or
    discovered peer may speak, so the membership events can arrive; and
    while the node is not a member itself (joining, not revoked) its
    configured peers (--peer, the invite's endpoints) may go on speaking,
    since its inviter may only become a member in its view near the end of
    the log. Addresses learned from hellos never get an exception. */
int
gossip_link_allowed (gossip_t *self, const gossip_link_t *l)
{
    if (gossip_admitted (self, l->key))
        return 1;
    const membership_t *m = eventlog_membership (self->log);
    if (!l->outgoing || l->origin == GOSSIP_ORIGIN_LEARNED || !m)
        return 0;
    if (membership_count (m) == 0)
        return 1;
    const uint8_t *own = identity_public_key (self->id);
    return l->origin == GOSSIP_ORIGIN_CONFIG
        && membership_level (m, own) < HEARTH__LEVEL__LEVEL_MEMBER
        && !membership_revoked (m, own) && !membership_revoked (m, l->key);
}

/*  Refresh every link's `allowed` flag from the membership view: by the
    tick every GOSSIP_MEMBERS_RECHECK_MS (an invite expires with time) or
    after an invite arrived, and at once when a created, joined or revoked
    event is accepted (a revocation bars the key's links before the next
    frame). The tick then closes what is no longer allowed
    (s_links_enforce). */
void
gossip_links_recheck (gossip_t *self)
{
    self->recheck_due = 0;
    self->recheck_mono = hearth_mono_ms ();
    for (size_t i = 0; i < self->n_links; i++)
        self->links [i]->allowed = gossip_link_allowed (self, self->links [i]);
}

void
gossip_update_gauge (gossip_t *self)
{
    uint64_t n = 0;
    for (size_t i = 0; i < self->n_links; i++) {
        const gossip_link_t *l = self->links [i];
        if (!l->connected)
            continue;
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++)
            seen = self->links [j]->connected && memcmp (self->links [j]->key, l->key, 32) == 0;
        n += !seen;
    }
    self->stats.peers_connected = n;
}

/* ---- sending --------------------------------------------------------------------- */

/*  Send one encoded frame on a link. 0, or HEARTH_EUNAVAILABLE (queue full,
    not connected, unroutable, or the key may not be sent to: the caller
    retries later or drops). Every frame to a peer passes here, so this is
    where "nothing goes to a non-member" is enforced. */
static int
s_send_raw (gossip_link_t *l, const uint8_t *buf, size_t len)
{
    gossip_t *self = l->owner;
    int rc;
    if (!l->allowed)
        return HEARTH_EUNAVAILABLE;
    if (l->outgoing) {
        if (!l->dealer)
            return HEARTH_EUNAVAILABLE;
        rc = zmq_send (zsock_resolve (l->dealer), buf, len, ZMQ_DONTWAIT);
    }
    else {
        if (!self->router)
            return HEARTH_EUNAVAILABLE;
        void *h = zsock_resolve (self->router);
        rc = zmq_send (h, l->rid, l->rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT);
        if (rc >= 0)
            rc = zmq_send (h, buf, len, ZMQ_DONTWAIT);
        else
        if (zmq_errno () == EHOSTUNREACH) {
            l->lost = 1;                    /* gone; the tick downs it (not here: callers hold session state) */
            gossip_tick_soon (self);
        }
    }
    if (rc < 0)
        return HEARTH_EUNAVAILABLE;
    l->bytes_out += len;
    self->stats.bytes_out += len;
    l->last_send_mono = hearth_mono_ms ();
    return 0;
}

int
gossip_link_send (gossip_link_t *l, const Hearth__GossipMessage *m)
{
    size_t len;
    uint8_t *buf = gossip_wire_encode (m, &len);
    if (!buf)
        return HEARTH_ENOMEM;
    int rc = s_send_raw (l, buf, len);
    free (buf);
    return rc;
}

/*  Send to a routing id on the ROUTER without a link (queries, pongs). */
void
gossip_send_rid (gossip_t *self, const uint8_t *rid, size_t rid_len, const Hearth__GossipMessage *m)
{
    size_t len;
    uint8_t *buf = gossip_wire_encode (m, &len);
    if (!buf)
        return;
    void *h = zsock_resolve (self->router);
    if (zmq_send (h, rid, rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0
    &&  zmq_send (h, buf, len, ZMQ_DONTWAIT) >= 0)
        self->stats.bytes_out += len;
    free (buf);
}

int
gossip_link_send_hello (gossip_link_t *l)
{
    gossip_t *self = l->owner;
    Hearth__GossipHello h = HEARTH__GOSSIP_HELLO__INIT;
    h.version = GOSSIP_WIRE_VERSION;
    h.head_lamport = gossip_head (self);
    h.event_count = eventlog_stats (self->log)->events_total;
    h.address = self->address;
    /*  A random sample of the known-peer table, not l's own key: how the
        receiver learns members to link to (docs/sync.md, "Overlay"). */
    const gossip_overlay_peer_t *known [GOSSIP_HELLO_PEERS];
    char *peers [GOSSIP_HELLO_PEERS];
    size_t n_peers = gossip_overlay_sample (self->overlay, l->key, hearth_now_ms (), known, GOSSIP_HELLO_PEERS);
    for (size_t i = 0; i < n_peers; i++)
        peers [i] = (char *) known [i]->address;
    h.peers = peers;
    h.n_peers = n_peers;
    const uint8_t *cid = eventlog_community_id (self->log);
    if (cid) {
        h.community_id.data = (uint8_t *) cid;
        h.community_id.len = HEARTH_KEY_BYTES;
    }
    Hearth__GossipMessage m = HEARTH__GOSSIP_MESSAGE__INIT;
    m.body_case = HEARTH__GOSSIP_MESSAGE__BODY_HELLO;
    m.hello = &h;
    return gossip_link_send (l, &m);
}

/*  Send events (borrowed wires) as one push or fetch-answer frame. */
int
gossip_link_send_events (gossip_link_t *l, int push, ProtobufCBinaryData *events, size_t n,
                         uint64_t request_id, int last)
{
    Hearth__GossipEvents ev = HEARTH__GOSSIP_EVENTS__INIT;
    ev.events = events;
    ev.n_events = n;
    ev.request_id = request_id;
    ev.last = last;
    Hearth__GossipMessage m = HEARTH__GOSSIP_MESSAGE__INIT;
    if (push) {
        m.body_case = HEARTH__GOSSIP_MESSAGE__BODY_PUSH;
        m.push = &ev;
    }
    else {
        m.body_case = HEARTH__GOSSIP_MESSAGE__BODY_EVENTS;
        m.events = &ev;
    }
    return gossip_link_send (l, &m);
}

/*  One way to pack events into frames, for the four senders of events
    (a session's "have" events, fetch answers, eager push, announcements to
    version-1 peers). They differ in where events come from (read from the
    log, or borrowed copies), what stops them (a full queue, the peer's
    budget) and what a refused send means (stop, or go on and reconcile
    later), and those stay with them; the packing itself was the same
    rule written four ways: at most GOSSIP_FETCH_BATCH events and
    GOSSIP_BATCH_BYTES bytes a frame, an event over the byte cap alone.
    So the rule lives here once and the callers keep their policy. */
void
gossip_batch_init (gossip_batch_t *b, gossip_link_t *l, int push, uint64_t request_id, int owned)
{
    b->link = l;
    b->push = push;
    b->request_id = request_id;
    b->owned = owned;
    b->n = b->bytes = b->sent = 0;
}

int
gossip_batch_add (gossip_batch_t *b, uint8_t *wire, size_t len)
{
    int rc = 0;
    if (b->n > 0 && (b->n == GOSSIP_FETCH_BATCH || b->bytes + len > GOSSIP_BATCH_BYTES))
        rc = gossip_batch_send (b, 0);
    b->events [b->n].data = wire;
    b->events [b->n].len = len;
    b->n++;
    b->bytes += len;
    return rc;
}

int
gossip_batch_send (gossip_batch_t *b, int last)
{
    int rc = b->n || last? gossip_link_send_events (b->link, b->push, b->events, b->n, b->request_id, last): 0;
    if (rc == 0)
        b->sent += b->n;
    gossip_batch_drop (b);
    return rc;
}

void
gossip_batch_drop (gossip_batch_t *b)
{
    if (b->owned)
        for (size_t i = 0; i < b->n; i++)
            free (b->events [i].data);
    b->n = b->bytes = 0;
}

/*  Count a reconciliation message sent or received: all of them, and
    those of the rateless mode apart (every message of it starts with
    RIBLT_PROTOCOL_VERSION; a v1 decline of a rateless offer is v1). */
void
gossip_count_neg (gossip_t *self, const uint8_t *msg, size_t size)
{
    self->stats.reconcile_bytes += size;
    if (size > 0 && msg [0] == RIBLT_PROTOCOL_VERSION)
        self->stats.reconcile_bytes_rateless += size;
}

static int
s_send_neg (gossip_link_t *l, Hearth__GossipMessage__BodyCase kind, const uint8_t *msg, size_t size,
            uint64_t session)
{
    Hearth__GossipNeg n = HEARTH__GOSSIP_NEG__INIT;
    n.msg.data = (uint8_t *) msg;
    n.msg.len = size;
    n.session = session;
    Hearth__GossipMessage m = HEARTH__GOSSIP_MESSAGE__INIT;
    m.body_case = kind;
    if (kind == HEARTH__GOSSIP_MESSAGE__BODY_NEG_OPEN)
        m.neg_open = &n;
    else
    if (kind == HEARTH__GOSSIP_MESSAGE__BODY_NEG_MSG)
        m.neg_msg = &n;
    else
        m.neg_reply = &n;
    int rc = gossip_link_send (l, &m);
    if (rc == 0)
        gossip_count_neg (l->owner, msg, size);
    return rc;
}

/*  Send a Negentropy message for role (0 initiator, 1 responder); if the
    queue is full keep a copy for the tick to send. 0 or HEARTH_ENOMEM. */
int
gossip_link_send_neg_held (gossip_link_t *l, int role, Hearth__GossipMessage__BodyCase kind,
                           const uint8_t *msg, size_t size, uint64_t session)
{
    free (l->neg_out [role]);
    l->neg_out [role] = NULL;
    if (s_send_neg (l, kind, msg, size, session) == 0)
        return 0;
    l->neg_out [role] = (uint8_t *) malloc (size);
    if (!l->neg_out [role])
        return HEARTH_ENOMEM;
    memcpy (l->neg_out [role], msg, size);
    l->neg_out_len [role] = size;
    l->neg_out_kind [role] = kind;
    l->neg_out_session [role] = session;
    gossip_tick_soon (l->owner);
    return 0;
}

/*  The tick: send held Negentropy messages. */
void
gossip_link_send_neg_retry (gossip_link_t *l)
{
    for (int r = 0; r < 2; r++)
        if (l->neg_out [r]
        &&  s_send_neg (l, (Hearth__GossipMessage__BodyCase) l->neg_out_kind [r], l->neg_out [r],
                        l->neg_out_len [r], l->neg_out_session [r]) == 0) {
            free (l->neg_out [r]);
            l->neg_out [r] = NULL;
        }
}

/* ---- lifecycle ------------------------------------------------------------------- */

/*  End the link's sessions and transfers (on disconnect or a fault). */
void
gossip_link_reset (gossip_link_t *l)
{
    for (int r = 0; r < 2; r++) {
        free (l->neg_out [r]);
        l->neg_out [r] = NULL;
    }
    gossip_session_destroy (&l->init);
    gossip_session_destroy (&l->resp);
    free (l->neg_held);
    l->neg_held = NULL;
    for (size_t i = 0; i < l->n_fetch_held; i++)
        free (l->fetch_held [i].hashes);
    l->n_fetch_held = 0;
    l->init_done = 0;
    l->have_sent = l->need_sent = 0;
    l->n_fetch = 0;
}

void
gossip_link_held_free (gossip_link_t *l)
{
    for (size_t i = 0; i < l->n_held; i++)
        if (l->held [i].decoded)
            gossip_want_arrived (l->owner->want, l->held [i].hash);  /* stored or refused: done */
    for (size_t i = 0; i < l->n_hold_blocks; i++)
        free (l->hold_blocks [i]);
    l->n_hold_blocks = 0;
    l->hold_block_used = 0;
    l->n_held = 0;
    l->held_bytes = 0;
}

void
gossip_link_destroy (gossip_link_t **l_p)
{
    if (!*l_p)
        return;
    gossip_link_t *l = *l_p;
    gossip_t *self = l->owner;
    gossip_link_reset (l);
    if (self->want)
        gossip_want_peer_gone (self->want, l->want_peer);
    gossip_link_held_free (l);
    gossip_sweep_destroy (&l->sweep);
    free (l->held);
    free (l->hold_blocks);
    for (size_t i = 0; i < l->n_inbox; i++)
        free (l->inbox [i].wire);
    free (l->inbox);
    if (l->monitor) {
        zloop_reader_end (self->loop, l->monitor);
        gossip_dealer_monitor_destroy (l->dealer, &l->monitor);
    }
    if (l->dealer) {
        zloop_reader_end (self->loop, l->dealer);
        zsock_destroy (&l->dealer);
    }
    free (l);
    *l_p = NULL;
}

int
gossip_links_append (gossip_t *self, gossip_link_t *l)
{
    if (HEARTH_VEC_GROW (self->links, self->cap_links, self->n_links + 1, 16))
        return HEARTH_ENOMEM;
    self->links [self->n_links++] = l;
    return 0;
}

gossip_link_t *
gossip_link_new (gossip_t *self, int outgoing, const uint8_t key [32], int origin)
{
    gossip_link_t *l = (gossip_link_t *) calloc (1, sizeof *l);
    if (!l)
        return NULL;
    l->owner = self;
    l->outgoing = outgoing;
    l->origin = origin;
    l->want_peer = ++self->next_want_peer;  /* 2^32 links in one process's life: not reached */
    memcpy (l->key, key, HEARTH_KEY_BYTES);
    hearth_node_id_format (key, l->node_id);
    hearth_short_id_format (key, l->short_id);
    l->fd = -1;
    l->allowed = gossip_link_allowed (self, l);
    return l;
}

gossip_link_t *
gossip_link_find (gossip_t *self, int outgoing, const uint8_t key [32])
{
    for (size_t i = 0; i < self->n_links; i++) {
        gossip_link_t *l = self->links [i];
        if (l->outgoing == outgoing && memcmp (l->key, key, HEARTH_KEY_BYTES) == 0)
            return l;
    }
    return NULL;
}

/*  Common socket options of a peer DEALER (links and client calls). */
void
gossip_dealer_options (zsock_t *d, const uint8_t server [32], const uint8_t pub [32], const uint8_t *sec)
{
    zsock_set_curve_serverkey_bin (d, server);
    zsock_set_curve_publickey_bin (d, pub);
    zsock_set_curve_secretkey_bin (d, sec);
    zsock_set_linger (d, 0);
    zsock_set_maxmsgsize (d, GOSSIP_MAXMSGSIZE);
}

/*  Handshake and disconnect events of a DEALER. Not CZMQ's zmonitor: that
    actor runs its own thread, and until it has handled START it has no
    sink, so a zpoller_wait that returns NULL there (zsys_interrupted seen
    at its entry, or zmq_poll failing) makes it call zframe_recv (NULL) and
    abort the process. zsys_interrupted is written by the daemon's loop
    thread on SIGTERM while other threads (the embedding workers'
    gossip_client_call) start monitors, so no check before zactor_new can
    close that window; hearthd aborted that way at shutdown. libzmq's own
    monitor needs no thread of ours: its events arrive on a PAIR we poll
    where we poll the DEALER. */
zsock_t *
gossip_dealer_monitor_new (zsock_t *d, int events)
{
    /*  Unique for the process's life: libzmq may still hold a closed
        monitor's endpoint, and client calls run on several threads. */
    static atomic_uint instance;
    char endpoint [96];
    snprintf (endpoint, sizeof endpoint, "inproc://hearth-dealer-monitor-%p-%u", (void *) d,
              atomic_fetch_add (&instance, 1));
    if (zmq_socket_monitor (zsock_resolve (d), endpoint, events) != 0)
        return NULL;
    zsock_t *pair = zsock_new (ZMQ_PAIR);
    if (!pair || zsock_connect (pair, "%s", endpoint) != 0) {
        zsock_destroy (&pair);
        zmq_socket_monitor (zsock_resolve (d), NULL, 0);
        return NULL;
    }
    return pair;
}

int
gossip_dealer_monitor_recv (zsock_t *pair)
{
    void *h = zsock_resolve (pair);
    zmq_msg_t msg;
    zmq_msg_init (&msg);
    if (zmq_msg_recv (&msg, h, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close (&msg);
        return 0;
    }
    /*  Frame 1: event (16 bits) and value (32 bits); frame 2: endpoint. */
    uint16_t event = 0;
    if (zmq_msg_size (&msg) == 6)
        memcpy (&event, zmq_msg_data (&msg), 2);
    while (zmq_msg_more (&msg) && zmq_msg_recv (&msg, h, ZMQ_DONTWAIT) >= 0)
        ;
    zmq_msg_close (&msg);
    return event;
}

void
gossip_dealer_monitor_destroy (zsock_t *d, zsock_t **pair_p)
{
    if (!*pair_p)
        return;
    if (d)
        zmq_socket_monitor (zsock_resolve (d), NULL, 0);
    zsock_destroy (pair_p);
}

static int
s_out_open (gossip_link_t *l)
{
    gossip_t *self = l->owner;
    uint8_t server [32];
    if (crypto_sign_ed25519_pk_to_curve25519 (server, l->key) != 0)
        return HEARTH_EINVAL;
    /*  Stopping: no new link is dialled. */
    if (zsys_interrupted)
        return HEARTH_EUNAVAILABLE;
    l->dealer = zsock_new (ZMQ_DEALER);
    if (!l->dealer)
        return HEARTH_ENOMEM;
    gossip_dealer_options (l->dealer, server, self->curve_pub, self->curve_sec);
    zsock_set_reconnect_ivl (l->dealer, GOSSIP_RECONNECT_IVL_MS);
    zsock_set_reconnect_ivl_max (l->dealer, GOSSIP_RECONNECT_MAX_MS);
    zsock_set_heartbeat_ivl (l->dealer, GOSSIP_HEARTBEAT_IVL_MS);
    zsock_set_heartbeat_timeout (l->dealer, GOSSIP_HEARTBEAT_TIMEOUT_MS);
    zsock_set_sndhwm (l->dealer, GOSSIP_SNDHWM);
    zsock_set_rcvhwm (l->dealer, GOSSIP_SNDHWM);
    zsock_set_sndtimeo (l->dealer, 0);
    zsock_set_immediate (l->dealer, 1);
    l->monitor = gossip_dealer_monitor_new (l->dealer, ZMQ_EVENT_HANDSHAKE_SUCCEEDED
                                            | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    if (!l->monitor)
        return HEARTH_ENOMEM;
    if (zloop_reader (self->loop, l->monitor, gossip_on_monitor, l) != 0
    ||  zloop_reader (self->loop, l->dealer, gossip_on_dealer, l) != 0)
        return HEARTH_ENOMEM;
    zloop_reader_set_tolerant (self->loop, l->dealer);
    if (!l->allowed) {
        l->barred = 1;                      /* dialled once its key is allowed (the tick) */
        self->stats.nonmember_links++;
        return 0;
    }
    if (zsock_connect (l->dealer, "%s", l->endpoint) != 0)
        return HEARTH_EINVAL;
    return 0;
}

/*  Add an out link to address, given by origin (GOSSIP_ORIGIN_*): dialled at
    once if its key is allowed (gossip_link_allowed), else kept barred until it
    is. 0, HEARTH_EINVAL, HEARTH_ECAPACITY, HEARTH_EEXISTS, HEARTH_ENOMEM. */
int
gossip_peer_dial (gossip_t *self, const char *address, int origin)
{
    uint8_t key [32];
    char endpoint [GOSSIP_MAX_ADDRESS];
    if (gossip_address_parse (address, key, endpoint) != 0
    ||  memcmp (key, identity_public_key (self->id), HEARTH_KEY_BYTES) == 0)
        return HEARTH_EINVAL;
    if (gossip_link_find (self, 1, key))
        return HEARTH_EEXISTS;
    size_t n_out = 0;
    for (size_t i = 0; i < self->n_links; i++)
        n_out += self->links [i]->outgoing;
    if (n_out >= GOSSIP_MAX_PEERS)
        return HEARTH_ECAPACITY;
    gossip_link_t *l = gossip_link_new (self, 1, key, origin);
    if (!l)
        return HEARTH_ENOMEM;
    snprintf (l->address, sizeof l->address, "%s", address);
    snprintf (l->endpoint, sizeof l->endpoint, "%s", endpoint);
    int rc = s_out_open (l);
    if (rc == 0)
        rc = gossip_links_append (self, l);
    if (rc != 0) {
        gossip_link_destroy (&l);
        return rc;
    }
    if (l->barred)
        hlog_warn (S_LOG, "not dialling %s at %s: it is not a member of this community (yet); "
                   "dialled once it is", l->short_id, endpoint);
    else
        hlog_info (S_LOG, "dialling %s at %s", l->short_id, endpoint);
    return 0;
}

/* ---- in links: the connection ---------------------------------------------------- */

/*  Close the TCP connection of an in link's latest frame, if that socket is
    still the same connection (same remote address: the descriptor may
    have been closed and reused since). libzmq sees the connection end and
    cleans up; the peer's reconnect meets ZAP again. */
void
gossip_link_in_shutdown (gossip_link_t *l)
{
    if (l->fd < 0)
        return;
    struct sockaddr_storage peer;
    socklen_t len = sizeof peer;
    if (getpeername (l->fd, (struct sockaddr *) &peer, &len) == 0
    &&  len == l->fd_peer_len && memcmp (&peer, &l->fd_peer, len) == 0)
        shutdown (l->fd, SHUT_RDWR);
    l->fd = -1;
}

/*  Remember the socket an in link's frame came from (on a change only:
    getpeername is a system call). */
void
gossip_link_in_track_fd (gossip_link_t *l, int fd)
{
    if (fd < 0 || fd == l->fd)
        return;
    l->fd_peer_len = sizeof l->fd_peer;
    if (getpeername (fd, (struct sockaddr *) &l->fd_peer, &l->fd_peer_len) == 0)
        l->fd = fd;
    else
        l->fd = -1;
}

void
gossip_link_seen (gossip_link_t *l, size_t len)
{
    gossip_budget_earn (l->owner->budget, l->key, len, hearth_mono_ms ());
    l->bytes_in += len;
    l->last_seen_ms = hearth_now_ms ();
    l->last_recv_mono = hearth_mono_ms ();
}
