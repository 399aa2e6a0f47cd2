/*  gossip.c — the mesh layer's public API (gossip.h), its socket handlers
    and its timers; gossip_internal.h lists the files that do the rest.

    Links (gossip_link.h): out links are DEALERs we dial, in links are
    peers that dialled our ROUTER, one per ZAP-authenticated key, the
    newest connection winning. An out link's socket monitor reports handshakes
    and disconnects: every handshake sends a hello and starts a
    reconciliation; a disconnect ends the link's sessions and transfers. An
    in link is up while the peer talks (the dialling side pings when idle)
    and down after GOSSIP_LINK_SILENT_MS of silence or an unroutable send.
    Both directions speak the same protocol; a query-only client (hearthctl
    --node) never becomes a link. Either way a link's key must be allowed
    (gossip_link_allowed: a member or a pending invitee) for any frame to
    be sent on it or read from it; the tick closes links whose key no
    longer is and dials out links whose key has become so.

    Messages read off a link go to the file of their kind (s_on_message):
    push and fetch answers to gossip_hold.c / gossip_sync.c, announcements
    to gossip_push.c, reconciliation to gossip_sync.c; hellos are handled
    here (peers learned from them are dialled once they are members).
    Calls read off the ROUTER go to gossip_query.c.

    Sends never block: with ZMQ_SNDTIMEO 0 a full queue gives EAGAIN and
    the work waits for the next tick (transfers) or is dropped and repaired
    by a reconciliation (eager pushes).

    Threading: everything runs on the caller's zloop thread, which owns the
    event log.
*/
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sodium.h>
#include "gossip_internal.h"
#include "hearth_codec.h"
#include "hearth_error.h"
#include "hearth_log.h"
#include "hearth_vec.h"

#define S_LOG "gossip"

/* ---- tuning (named, explained) --------------------------------------------------- */

/*  An initiator session without progress this long is abandoned and redone. */
#define GOSSIP_SESSION_IDLE_MS      30000
/*  A fetch unanswered this long: the transfer is abandoned and redone. */
#define GOSSIP_FETCH_TIMEOUT_MS     30000
/*  libzmq gives up on an endpoint whose server refused us (ZAP 400); we
    redial it after 1 s, doubling to 30 s, since membership may reach the
    peer later (an invite or join still on its way). */
#define GOSSIP_REDIAL_MIN_MS        1000
#define GOSSIP_REDIAL_MAX_MS        30000
/*  The periodic session skips a peer that synced with us this recently. */
#define GOSSIP_PEER_BUSY_MS         2000
/*  Every link's key is checked against the membership view this often for
    what time alone changes (an invite expiring); membership events that
    narrow who may talk (created, joined, revoked) re-check at once. */
#define GOSSIP_MEMBERS_RECHECK_MS   1000
/*  The overlay (gossip_overlay.h) plans links this often, and at the next
    tick after a link came up or went down or a member was learned: a
    failed dial is replaced within GOSSIP_OVERLAY_DIAL_TIMEOUT_MS plus
    this. */
#define GOSSIP_OVERLAY_PLAN_MS      200
/*  DIAL and CLOSE actions performed per plan at most (the rest next plan). */
#define GOSSIP_OVERLAY_ACTIONS      16
/*  The known-peer table is written to the log's store when it changed, at
    most this often (one synced write), and when the node stops: a crash
    loses at most this much of what was learned, all of which the next
    hellos teach again. */
#define GOSSIP_OVERLAY_SAVE_MS      30000
/*  The table is checked against the membership view (revoked keys, and
    loaded entries that are no member) this often; a revoked key's links
    are closed at once anyway (s_links_enforce), this only drops its
    entry. */
#define GOSSIP_OVERLAY_PRUNE_MS     5000
/*  A refused dialler gets at most one redirect this often (its frames
    until it reads the first are dropped), and one log line per key this
    often. */
/*  After the known-peer table grew, every up link gets a hello (an out
    link's listener answers it) at most this often: samples spread while
    members join and cost nothing while the table stays the same. */
#define GOSSIP_HELLO_REFRESH_MS     5000
#define GOSSIP_REDIRECT_IVL_MS      1000
#define GOSSIP_REFUSAL_LOG_MS       60000

static int
s_zap_admit (void *arg, const uint8_t key [32])
{
    gossip_t *self = (gossip_t *) arg;
    if (memcmp (key, identity_public_key (self->id), HEARTH_KEY_BYTES) == 0)
        return 1;                           /* our own key (hearthctl --node on this node) */
    return gossip_admitted (self, key);
}

/* ---- the tick's pace (gossip_tick.h) --------------------------------------------- */

/*  Work of the node as a whole that moves on every tick: announced hashes
    to fetch (and their timeouts), a membership re-check, a store to
    rebuild, announcements whose timer could not be armed. */
static int
s_node_busy (gossip_t *self)
{
    return gossip_want_count (self->want) > 0 || self->recheck_due || self->store_stale
        || (self->n_announce > 0 && self->announce_timer < 0)
        || self->overlay_due || self->n_retired > 0;
}

/*  After a handler read from or acted on l: have the tick run soon if l or
    the node has work for it. */
static void
s_tick_check (gossip_t *self, gossip_link_t *l)
{
    if (s_node_busy (self) || gossip_tick_link_busy (l))
        gossip_tick_soon (self);
}

/* ---- messages -------------------------------------------------------------------- */

/*  Hold a learned address whose key is not a member (counted; an address
    already held is not held twice). */
static void
s_learn_hold (gossip_t *self, const char *address)
{
    self->stats.nonmember_addresses++;
    for (size_t i = 0; i < self->n_learn_held; i++)
        if (streq (self->learn_held [i], address))
            return;
    if (self->n_learn_held == GOSSIP_LEARN_HELD) {
        memmove (self->learn_held [0], self->learn_held [1], (GOSSIP_LEARN_HELD - 1) * GOSSIP_MAX_ADDRESS);
        self->n_learn_held--;
    }
    snprintf (self->learn_held [self->n_learn_held++], GOSSIP_MAX_ADDRESS, "%s", address);
}

/*  Learn a member's address for the known-peer table (gossip_overlay.h):
    from a hello's or a redirect's peers (GOSSIP_OVERLAY_FROM_HELLO), a
    peer's own address (FROM_LINK), a LAN beacon (FROM_DISCOVERY). Only
    members' addresses are learned: a hello may name any key at any
    address, and CURVE proves only that the listener holds that key; a
    non-member's is held and learned once the key is a member (a joining
    node learns its peers' addresses before their membership events). 1:
    new in the table; 0: known, held or ignored. */
static int
s_learn (gossip_t *self, const char *address, int from, const char *who)
{
    uint8_t key [32];
    char endpoint [GOSSIP_MAX_ADDRESS];
    if (gossip_address_parse (address, key, endpoint) != 0
    ||  memcmp (key, identity_public_key (self->id), HEARTH_KEY_BYTES) == 0)
        return 0;                           /* CURVE proves the key when we connect */
    if (!gossip_is_member (self, key)) {
        s_learn_hold (self, address);       /* an invitee's own address too: its join follows */
        hearth_log_limited (HEARTH_LOG_INFO, S_LOG, "learn.nonmember",
                            "%s named %s, which is not a member here: not dialled (held "
                            "until it is one)", who, address);
        return 0;
    }
    uint64_t now = hearth_now_ms ();
    int rc = gossip_overlay_learn (self->overlay, key, address, from, now);
    if (from == GOSSIP_OVERLAY_FROM_LINK && gossip_link_find (self, 0, key))
        gossip_overlay_link_up (self->overlay, key, 0, now);     /* reached: it is linked to us */
    if (rc == 1) {
        self->overlay_due = 1;
        self->overlay_grew = 1;
        hlog_debug (S_LOG, "learned peer %s from %s", address, who);
    }
    return rc == 1;
}

/*  The tick: learn held addresses whose key has become a member; forget
    those of revoked keys. */
static void
s_learn_promote (gossip_t *self)
{
    const membership_t *m = eventlog_membership (self->log);
    size_t kept = 0;
    for (size_t i = 0; i < self->n_learn_held; i++) {
        uint8_t key [32];
        char endpoint [GOSSIP_MAX_ADDRESS];
        int drop = gossip_address_parse (self->learn_held [i], key, endpoint) != 0
                || !m || membership_revoked (m, key);
        if (!drop && gossip_is_member (self, key)) {
            if (gossip_overlay_learn (self->overlay, key, self->learn_held [i], GOSSIP_OVERLAY_FROM_HELLO,
                                      hearth_now_ms ()) == 1) {
                self->overlay_due = 1;
                self->overlay_grew = 1;
                hlog_info (S_LOG, "learned peer %s is a member now", self->learn_held [i]);
            }
            drop = 1;
        }
        if (!drop && kept != i)
            memcpy (self->learn_held [kept], self->learn_held [i], GOSSIP_MAX_ADDRESS);
        kept += !drop;
    }
    self->n_learn_held = kept;
}

static void
s_on_hello (gossip_link_t *l, const Hearth__GossipHello *h)
{
    gossip_t *self = l->owner;
    l->peer_head = h->head_lamport;
    l->head_known = 1;
    l->peer_version = h->version;
    const uint8_t *cid = eventlog_community_id (self->log);
    if (h->community_id.len && cid && memcmp (h->community_id.data, cid, HEARTH_KEY_BYTES) != 0)
        hearth_log_limited (HEARTH_LOG_WARN, S_LOG, "hello.community",
                            "%s says it is in another community", l->short_id);
    if (!l->outgoing) {
        uint8_t key [32];
        char endpoint [GOSSIP_MAX_ADDRESS];
        if (h->address && *h->address && gossip_address_parse (h->address, key, endpoint) == 0
        &&  memcmp (key, l->key, HEARTH_KEY_BYTES) == 0) {
            snprintf (l->address, sizeof l->address, "%s", h->address);
            if (!self->cfg.no_learn)
                s_learn (self, h->address, GOSSIP_OVERLAY_FROM_LINK, l->short_id);
        }
        gossip_link_send_hello (l);                   /* so the dialler learns our head */
    }
    /*  Peers of the peer: into the known-peer table, from which the
        overlay picks our links at random (so a line of nodes grows into a
        mesh, and no node becomes a hub for having joined early). */
    if (self->cfg.no_learn)
        return;
    for (size_t i = 0; i < h->n_peers && i < GOSSIP_HELLO_PEERS; i++)
        s_learn (self, h->peers [i], GOSSIP_OVERLAY_FROM_HELLO, l->short_id);
}

static void s_out_retire (gossip_link_t *l);

/*  A redirect on a link we dialled: the peer refused it (its in links are
    full). Learn the members it named, count the dial as failed (the entry
    backs off), close the link; the next plan dials another member. A
    redirect is read only from a member (no frame is read from anyone
    else), and the link is gone after the first, so a flood of them costs
    one close. */
static void
s_on_redirect (gossip_link_t *l, const Hearth__GossipRedirect *r)
{
    gossip_t *self = l->owner;
    if (!l->outgoing || l->retired) {
        self->stats.frames_dropped++;       /* only a listener refuses, and only once */
        return;
    }
    self->stats.redirects_received++;
    hearth_log_limited (HEARTH_LOG_INFO, S_LOG, "link.redirected",
                        "%s refused our link (%.64s); it named %zu other members to dial",
                        l->short_id, r->reason && *r->reason? r->reason: "no reason given", r->n_peers);
    if (!self->cfg.no_learn)
        for (size_t i = 0; i < r->n_peers && i < GOSSIP_HELLO_PEERS; i++)
            s_learn (self, r->peers [i], GOSSIP_OVERLAY_FROM_HELLO, l->short_id);
    gossip_overlay_dial_failed (self->overlay, l->key, hearth_now_ms ());
    s_out_retire (l);
    self->overlay_due = 1;
}

/*  Dispatch one checked message on a link. */
static void
s_on_message (gossip_link_t *l, const Hearth__GossipMessage *m)
{
    gossip_t *self = l->owner;
    if (m->body_case != HEARTH__GOSSIP_MESSAGE__BODY_PUSH)
        gossip_inbox_flush (l);                  /* keep the peer's order */
    switch (m->body_case) {
        case HEARTH__GOSSIP_MESSAGE__BODY_HELLO:
            s_on_hello (l, m->hello);
            break;
        case HEARTH__GOSSIP_MESSAGE__BODY_PUSH:
            gossip_on_push (l, m->push);
            break;
        case HEARTH__GOSSIP_MESSAGE__BODY_ANNOUNCE:
            gossip_on_announce (l, m->announce);
            break;
        case HEARTH__GOSSIP_MESSAGE__BODY_EVENTS:
            gossip_on_events (l, m->events);
            break;
        case HEARTH__GOSSIP_MESSAGE__BODY_NEG_OPEN:
            gossip_on_neg (l, m->neg_open, 1);
            break;
        case HEARTH__GOSSIP_MESSAGE__BODY_NEG_MSG:
            gossip_on_neg (l, m->neg_msg, 0);
            break;
        case HEARTH__GOSSIP_MESSAGE__BODY_NEG_REPLY:
            gossip_on_neg_reply (l, m->neg_reply);
            break;
        case HEARTH__GOSSIP_MESSAGE__BODY_NEG_DONE:
            if (l->resp && m->neg_done->session == l->resp_session) {
                gossip_session_destroy (&l->resp);
                self->stats.last_sync_ms = hearth_now_ms ();
                if (m->neg_done->you_lack)
                    l->resync = 1;          /* the peer has much we lack: pull it */
            }
            break;
        case HEARTH__GOSSIP_MESSAGE__BODY_FETCH:
            l->peer_sync_mono = hearth_mono_ms ();
            gossip_on_fetch (l, m->fetch);
            break;
        case HEARTH__GOSSIP_MESSAGE__BODY_PING: {
            Hearth__GossipPing p = HEARTH__GOSSIP_PING__INIT;
            p.nonce = m->ping->nonce;
            p.head_lamport = gossip_head (self);
            Hearth__GossipMessage r = HEARTH__GOSSIP_MESSAGE__INIT;
            r.body_case = HEARTH__GOSSIP_MESSAGE__BODY_PONG;
            r.pong = &p;
            l->peer_head = m->ping->head_lamport;
            l->head_known = 1;
            gossip_link_send (l, &r);
            break;
        }
        case HEARTH__GOSSIP_MESSAGE__BODY_PONG:
            l->peer_head = m->pong->head_lamport;
            l->head_known = 1;
            break;
        case HEARTH__GOSSIP_MESSAGE__BODY_REDIRECT:
            s_on_redirect (l, m->redirect);
            break;
        case HEARTH__GOSSIP_MESSAGE__BODY_QUERY: {
            /*  A call on a link we dialled: calls go to a listener. Answer
                it so the caller does not wait out its timeout. */
            self->stats.frames_dropped++;
            Hearth__GossipReply r = HEARTH__GOSSIP_REPLY__INIT;
            r.request_id = m->query->request_id;
            r.error = HEARTH_EINVAL;
            r.error_code = (char *) hearth_error_code (HEARTH_EINVAL);
            r.error_message = (char *) "remote calls are served on a node's listening socket, "
                                       "not over a link it dialled";
            Hearth__GossipMessage reply = HEARTH__GOSSIP_MESSAGE__INIT;
            reply.body_case = HEARTH__GOSSIP_MESSAGE__BODY_REPLY;
            reply.reply = &r;
            gossip_link_send (l, &reply);
            break;
        }
        default:
            /*  a reply we did not ask for. */
            self->stats.frames_dropped++;
            break;
    }
}

/*  Decode a frame; count and drop a bad one. */
static int
s_decode (gossip_t *self, const char *who, const uint8_t *buf, size_t len, gossip_wire_msg_t *out)
{
    self->stats.bytes_in += len;
    int rc = gossip_wire_decode (out, buf, len, GOSSIP_MAX_FRAME_BYTES);
    if (rc != 0) {
        self->stats.frames_dropped++;
        hearth_log_limited (HEARTH_LOG_WARN, S_LOG, "frame.bad", "dropped a bad frame (%zu bytes) from %s: %s",
                            len, who, hearth_strerror (rc));
    }
    return rc;
}

/* ---- links up and down ----------------------------------------------------------- */

static void
s_link_down (gossip_link_t *l)
{
    if (l->connected) {
        hlog_info (S_LOG, "link %s %s down", l->outgoing? "to": "from", l->short_id);
        if (!l->retired) {                  /* a retired link is no longer the overlay's */
            gossip_overlay_link_down (l->owner->overlay, l->key, l->outgoing, hearth_now_ms ());
            l->owner->overlay_due = 1;
        }
    }
    l->connected = 0;
    gossip_inbox_flush (l);                      /* what arrived is valid: keep it */
    gossip_held_flush (l);
    gossip_link_reset (l);
    l->resync = 1;
    /*  Its announced hashes go to other announcers (the tick asks them). */
    gossip_want_peer_gone (l->owner->want, l->want_peer);
    gossip_update_gauge (l->owner);
}

static void
s_link_up (gossip_link_t *l)
{
    gossip_held_flush (l);
    gossip_link_reset (l);
    gossip_want_peer_gone (l->owner->want, l->want_peer);  /* requests on the old connection are lost */
    l->connected = 1;
    l->peer_version = 0;                    /* its hello tells (the peer may have been upgraded) */
    l->last_recv_mono = hearth_mono_ms ();
    hlog_info (S_LOG, "link %s %s up", l->outgoing? "to": "from", l->short_id);
    if (l->outgoing)                        /* an in link was counted by gossip_overlay_in_admit */
        gossip_overlay_link_up (l->owner->overlay, l->key, 1, hearth_now_ms ());
    gossip_update_gauge (l->owner);
    /*  The dialling side says hello and initiates; the other answers. */
    l->resync = 0;
    if (l->outgoing) {
        gossip_link_send_hello (l);
        gossip_sync_start (l, GOSSIP_SYNC_CONNECT);
    }
}

int
gossip_on_dealer (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop;
    gossip_link_t *l = (gossip_link_t *) arg;
    gossip_t *self = l->owner;
    void *h = zsock_resolve (sock);
    for (int burst = 0; burst < GOSSIP_RECV_BURST; burst++) {
        zmq_msg_t msg;
        zmq_msg_init (&msg);
        if (zmq_msg_recv (&msg, h, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&msg);
            break;
        }
        int more = zmq_msg_more (&msg);
        const uint8_t *buf = (const uint8_t *) zmq_msg_data (&msg);
        size_t len = zmq_msg_size (&msg);
        if (more) {                         /* a ROUTER never sends us parts: drain, drop */
            self->stats.frames_dropped++;
            while (more && zmq_msg_recv (&msg, h, ZMQ_DONTWAIT) >= 0)
                more = zmq_msg_more (&msg);
            zmq_msg_close (&msg);
            continue;
        }
        if (l->retired) {                   /* closed by us: whatever was still queued */
            zmq_msg_close (&msg);
            break;
        }
        if (!l->allowed) {                  /* nothing is read from a non-member */
            self->stats.frames_dropped++;
            zmq_msg_close (&msg);
            continue;
        }
        gossip_wire_msg_t m;
        if (s_decode (self, l->short_id, buf, len, &m) == 0) {
            gossip_link_seen (l, len);
            s_on_message (l, m.msg);
            gossip_wire_release (&m);
        }
        zmq_msg_close (&msg);
    }
    if (!l->retired) {
        gossip_inbox_flush (l);
        s_tick_check (self, l);
    }
    return 0;
}

/*  Close an out link the overlay no longer wants (a CLOSE, a redirect):
    down, off the loop and out of self->links now; its sockets are freed
    by the next tick, since zloop may still hold this iteration's poll
    items of them (a handler sees `retired` and ignores them). */
static void
s_out_retire (gossip_link_t *l)
{
    gossip_t *self = l->owner;
    if (l->retired)
        return;
    if (HEARTH_VEC_GROW (self->retired, self->cap_retired, self->n_retired + 1, 8)) {
        /*  No memory to defer the free: keep it, undialled, like a barred link. */
        zsock_disconnect (l->dealer, "%s", l->endpoint);
        l->barred = 1;
        s_link_down (l);
        return;
    }
    l->retired = 1;
    s_link_down (l);
    l->allowed = 0;
    if (l->monitor)
        zloop_reader_end (self->loop, l->monitor);
    if (l->dealer)
        zloop_reader_end (self->loop, l->dealer);
    for (size_t i = 0; i < self->n_links; i++)
        if (self->links [i] == l) {
            memmove (&self->links [i], &self->links [i + 1], (self->n_links - i - 1) * sizeof l);
            self->n_links--;
            break;
        }
    self->retired [self->n_retired++] = l;
    gossip_update_gauge (self);
}

/*  Stop dialling an out link whose key may not be spoken to: disconnect
    (libzmq closes the connection and drops anything queued), down the
    link, count it. The tick dials it again if the key becomes allowed. */
static void
s_out_bar (gossip_link_t *l, const char *why)
{
    gossip_t *self = l->owner;
    hearth_log_limited (HEARTH_LOG_WARN, S_LOG, "link.nonmember",
                        "closing our link to %s (%s): %s; nothing is sent to it",
                        l->short_id, l->endpoint, why);
    l->barred = 1;
    l->redial_at_mono = 0;
    zsock_disconnect (l->dealer, "%s", l->endpoint);
    s_link_down (l);
    self->stats.nonmember_links++;
}

int
gossip_on_monitor (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop;
    gossip_link_t *l = (gossip_link_t *) arg;
    int event = gossip_dealer_monitor_recv (sock);
    if (!event)
        return 0;
    if (l->retired)                         /* closed by us: its last events mean nothing */
        return 0;
    if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
        l->redial_backoff_ms = 0;
        l->allowed = gossip_link_allowed (l->owner, l);
        if (!l->allowed) {
            /*  CURVE proved the server holds the key; it is no member's. */
            if (!l->barred)
                s_out_bar (l, "it is not a member of this community");
        }
        else
            s_link_up (l);
    }
    else
    if (event == ZMQ_EVENT_DISCONNECTED)
        s_link_down (l);
    else
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
        l->redial_backoff_ms = l->redial_backoff_ms? l->redial_backoff_ms * 2: GOSSIP_REDIAL_MIN_MS;
        if (l->redial_backoff_ms > GOSSIP_REDIAL_MAX_MS)
            l->redial_backoff_ms = GOSSIP_REDIAL_MAX_MS;
        l->redial_at_mono = hearth_mono_ms () + l->redial_backoff_ms;
        hearth_log_limited (HEARTH_LOG_WARN, S_LOG, "link.refused",
                            "%s refused our handshake (are we a member there?); retrying in %" PRIu64 " ms",
                            l->short_id, l->redial_backoff_ms);
    }
    s_tick_check (l->owner, l);
    return 0;
}

/*  The tick: close every link whose key is no longer allowed, in and out,
    and dial out links whose key has become allowed. */
static void
s_links_enforce (gossip_t *self)
{
    for (size_t i = 0; i < self->n_links; i++) {
        gossip_link_t *l = self->links [i];
        if (l->outgoing) {
            if (!l->allowed && !l->barred)
                s_out_bar (l, membership_revoked (eventlog_membership (self->log), l->key)
                              ? "it was revoked": "it is not a member of this community");
            else
            if (l->allowed && l->barred) {
                l->barred = 0;
                hlog_info (S_LOG, "%s is a member now: dialling %s", l->short_id, l->endpoint);
                zsock_connect (l->dealer, "%s", l->endpoint);
            }
        }
        else
        if (!l->allowed && (l->connected || l->fd >= 0)) {
            hearth_log_limited (HEARTH_LOG_WARN, S_LOG, "link.nonmember",
                                "closing the link from %s: %s", l->short_id,
                                membership_revoked (eventlog_membership (self->log), l->key)
                                ? "it was revoked": "it is no longer a member or invitee");
            if (l->connected)
                s_link_down (l);
            gossip_link_in_shutdown (l);
            self->stats.nonmember_links++;
        }
    }
}

/* ---- in links (ROUTER) ----------------------------------------------------------- */

/*  key's entry in the recent refusals, or NULL. */
static gossip_refusal_t *
s_refusal_find (gossip_t *self, const uint8_t key [32])
{
    for (size_t i = 0; i < self->n_refusals; i++)
        if (memcmp (self->refusals [i].key, key, HEARTH_KEY_BYTES) == 0)
            return &self->refusals [i];
    return NULL;
}

/*  Refuse key's in link visibly: a redirect with a sample of the known
    members (not key) back on its connection, at most one a
    GOSSIP_REDIRECT_IVL_MS per key, and a log line at most one a
    GOSSIP_REFUSAL_LOG_MS per key. The overlay counted the refusal
    (inbound_refused). No link is made: the frame is dropped. */
static void
s_in_refuse (gossip_t *self, const uint8_t key [32], const char *who, const uint8_t *rid, size_t rid_len,
             int member)
{
    uint64_t now = hearth_mono_ms ();
    self->stats.inbound_refused = gossip_overlay_stats (self->overlay)->in_refused;
    gossip_refusal_t *r = s_refusal_find (self, key);
    if (!r) {
        if (self->n_refusals == GOSSIP_REFUSALS) {
            memmove (&self->refusals [0], &self->refusals [1], (GOSSIP_REFUSALS - 1) * sizeof *r);
            self->n_refusals--;
        }
        r = &self->refusals [self->n_refusals++];
        memcpy (r->key, key, HEARTH_KEY_BYTES);
        r->redirect_mono = r->log_mono = 0;
    }
    size_t out_up = 0, in_members = 0, in_invitees = 0;
    gossip_overlay_links (self->overlay, NULL, &out_up, &in_members, &in_invitees);
    const gossip_overlay_peer_t *known [GOSSIP_HELLO_PEERS];
    size_t n = gossip_overlay_sample (self->overlay, key, hearth_now_ms (), known, GOSSIP_HELLO_PEERS);
    if (!r->log_mono || now - r->log_mono >= GOSSIP_REFUSAL_LOG_MS) {
        r->log_mono = now;
        hlog_info (S_LOG, "refused the link from %s: %s in links full (%zu members, %zu invitees); "
                   "told it %zu other members to dial", who, member? "member": "invitee",
                   in_members, in_invitees, n);
    }
    if (r->redirect_mono && now - r->redirect_mono < GOSSIP_REDIRECT_IVL_MS)
        return;
    r->redirect_mono = now;
    char *peers [GOSSIP_HELLO_PEERS];
    for (size_t i = 0; i < n; i++)
        peers [i] = (char *) known [i]->address;
    Hearth__GossipRedirect d = HEARTH__GOSSIP_REDIRECT__INIT;
    d.peers = peers;
    d.n_peers = n;
    d.reason = (char *) (member? "in links full": "invitee links full");
    Hearth__GossipMessage m = HEARTH__GOSSIP_MESSAGE__INIT;
    m.body_case = HEARTH__GOSSIP_MESSAGE__BODY_REDIRECT;
    m.redirect = &d;
    gossip_send_rid (self, rid, rid_len, &m);
}

/*  The in link of key, made current for routing id rid (a new routing id is
    a new connection: the old one's sessions end). A link that is not up
    comes up only if the overlay admits it (gossip_overlay_in_admit: in
    links are capped); else it is refused with a redirect. NULL when
    refused or full. */
static gossip_link_t *
s_in_link (gossip_t *self, const uint8_t key [32], const char *who, const uint8_t *rid, size_t rid_len)
{
    gossip_link_t *l = gossip_link_find (self, 0, key);
    if (!l || !l->connected) {
        gossip_refusal_t *r = s_refusal_find (self, key);
        if (r && r->redirect_mono && hearth_mono_ms () - r->redirect_mono < GOSSIP_REDIRECT_IVL_MS)
            return NULL;                    /* refused just now: its redirect is on the way */
        int member = gossip_is_member (self, key);
        if (!gossip_overlay_in_admit (self->overlay, key, member, hearth_now_ms ())) {
            s_in_refuse (self, key, who, rid, rid_len, member);
            return NULL;
        }
    }
    if (!l) {
        size_t n_in = 0;
        for (size_t i = 0; i < self->n_links; i++)
            n_in += !self->links [i]->outgoing;
        if (n_in >= GOSSIP_MAX_INBOUND) {
            /*  Forget the longest-silent down in link to make room. */
            gossip_link_t *victim = NULL;
            size_t vi = 0;
            for (size_t i = 0; i < self->n_links; i++) {
                gossip_link_t *c = self->links [i];
                if (!c->outgoing && !c->connected && (!victim || c->last_recv_mono < victim->last_recv_mono)) {
                    victim = c;
                    vi = i;
                }
            }
            if (!victim) {
                gossip_overlay_link_down (self->overlay, key, 0, hearth_now_ms ());
                return NULL;
            }
            self->links [vi] = self->links [--self->n_links];
            gossip_link_destroy (&victim);
        }
        l = gossip_link_new (self, 0, key, GOSSIP_ORIGIN_CONFIG);
        if (!l || gossip_links_append (self, l) != 0) {
            free (l);
            gossip_overlay_link_down (self->overlay, key, 0, hearth_now_ms ());
            return NULL;
        }
    }
    if (!l->connected || l->rid_len != rid_len || memcmp (l->rid, rid, rid_len) != 0) {
        memcpy (l->rid, rid, rid_len);
        l->rid_len = rid_len;
        s_link_up (l);
    }
    return l;
}

static void
s_on_router_frame (gossip_t *self, const uint8_t *rid, size_t rid_len, zmq_msg_t *payload)
{
    const uint8_t *buf = (const uint8_t *) zmq_msg_data (payload);
    size_t len = zmq_msg_size (payload);
    const char *user = zmq_msg_gets (payload, "User-Id");
    uint8_t key [32];
    if (!user || hearth_node_id_parse (user, key) != 0) {
        self->stats.frames_dropped++;       /* not through our ZAP: cannot happen */
        return;
    }
    int fd = zmq_msg_get (payload, ZMQ_SRCFD);
    if (!s_zap_admit (self, key)) {
        /*  Admitted at the handshake, revoked or expired since: drop the
            frame, down the link, close the connection it came on. */
        self->stats.frames_dropped++;
        gossip_link_t *l = gossip_link_find (self, 0, key);
        if (l) {
            l->allowed = 0;
            if (l->connected)
                s_link_down (l);
            gossip_link_in_track_fd (l, fd);
            gossip_link_in_shutdown (l);
        }
        else
        if (fd >= 0)
            shutdown (fd, SHUT_RDWR);       /* a query client: no link to remember it by */
        self->stats.nonmember_links++;
        return;
    }
    gossip_wire_msg_t m;
    char who [HEARTH_SHORT_ID_SIZE];
    hearth_short_id_format (key, who);
    if (s_decode (self, who, buf, len, &m) != 0) {
        if (m.query_refused)                /* a call: answer it, never leave it to time out */
            gossip_reply_error (self, rid, rid_len, m.query_request_id, HEARTH_EINVAL, m.query_problem);
        return;
    }
    switch (m.msg->body_case) {
        case HEARTH__GOSSIP_MESSAGE__BODY_QUERY:
            gossip_on_query (self, rid, rid_len, key, who, m.msg->query);
            break;
        case HEARTH__GOSSIP_MESSAGE__BODY_REPLY:
            self->stats.frames_dropped++;
            break;
        default: {
            if (memcmp (key, identity_public_key (self->id), HEARTH_KEY_BYTES) == 0) {
                self->stats.frames_dropped++;   /* our own key only asks queries */
                break;
            }
            gossip_link_t *l = s_in_link (self, key, who, rid, rid_len);
            if (l) {
                l->allowed = 1;             /* s_zap_admit said so just now */
                gossip_link_in_track_fd (l, fd);
                gossip_link_seen (l, len);
                s_on_message (l, m.msg);
                s_tick_check (self, l);
            }
            break;
        }
    }
    gossip_wire_release (&m);
}

static int
s_on_router (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop;
    gossip_t *self = (gossip_t *) arg;
    void *h = zsock_resolve (sock);
    for (int burst = 0; burst < GOSSIP_RECV_BURST; burst++) {
        zmq_msg_t rid, payload;
        zmq_msg_init (&rid);
        if (zmq_msg_recv (&rid, h, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&rid);
            break;
        }
        zmq_msg_init (&payload);
        int ok = zmq_msg_more (&rid) && zmq_msg_recv (&payload, h, ZMQ_DONTWAIT) >= 0;
        if (ok && !zmq_msg_more (&payload) && zmq_msg_size (&rid) <= GOSSIP_RID_MAX)
            s_on_router_frame (self, (const uint8_t *) zmq_msg_data (&rid), zmq_msg_size (&rid), &payload);
        else {
            self->stats.frames_dropped++;   /* multi-part: drain the rest */
            while (ok && zmq_msg_more (&payload) && zmq_msg_recv (&payload, h, ZMQ_DONTWAIT) >= 0)
                ;
        }
        zmq_msg_close (&payload);
        zmq_msg_close (&rid);
    }
    gossip_queries_serve (self);
    for (size_t i = 0; i < self->n_links; i++)
        if (!self->links [i]->outgoing)
            gossip_inbox_flush (self->links [i]);
    return 0;
}

/* ---- timers ---------------------------------------------------------------------- */

/*  Replace a stale store and encoder with fresh ones from the log; the
    sessions that borrow them end first (they start again on resync). */
static void
s_store_rebuild (gossip_t *self)
{
    negentropy_store_t *store;
    riblt_encoder_t *encoder;
    int rc = gossip_store_build (self, &store, &encoder);
    if (rc) {
        hlog_error (S_LOG, "rebuilding the reconciliation store failed: %s (retrying)",
                    hearth_strerror (rc));
        return;
    }
    for (size_t i = 0; i < self->n_links; i++) {
        gossip_link_t *l = self->links [i];
        if (l->init)
            gossip_sync_abandon (l, "store rebuilt");
        gossip_session_destroy (&l->resp);
    }
    negentropy_store_destroy (&self->store);
    riblt_encoder_destroy (&self->encoder);
    self->store = store;
    self->encoder = encoder;
    self->store_stale = 0;
    self->stats.store_rebuilds++;
    hlog_info (S_LOG, "reconciliation store rebuilt: %zu items", negentropy_store_size (store));
}

/*  Copy the budget's counters into the stats; tell it the store's size. */
static void
s_budget_stats (gossip_t *self)
{
    gossip_budget_set_items (self->budget, negentropy_store_size (self->store));
    const gossip_budget_stats_t *b = gossip_budget_stats (self->budget);
    self->stats.budget_bytes_charged = b->bytes_charged;
    self->stats.budget_bytes_owed = b->bytes_owed;
    self->stats.budget_deferred_debt = b->deferred [GOSSIP_BUDGET_REASON_DEBT];
    self->stats.budget_deferred_open = b->deferred [GOSSIP_BUDGET_REASON_OPEN_RATE];
    self->stats.budget_deferred_round = b->deferred [GOSSIP_BUDGET_REASON_ROUND_RATE];
    self->stats.budget_refused_superseded = b->refused [GOSSIP_BUDGET_REASON_SUPERSEDED];
    self->stats.budget_refused_fetch = b->refused [GOSSIP_BUDGET_REASON_HELD_FULL];
}

/* ---- the overlay: known peers and the links chosen from them --------------------- */

/*  The link origin of a known entry's dial: a seed keeps the configured
    peer's exceptions (gossip_link_allowed: a joining node's inviter), a
    beacon's the discovered one's; the rest are learned. */
static int
s_origin_of (const gossip_overlay_peer_t *p)
{
    if (p->seed)
        return GOSSIP_ORIGIN_CONFIG;
    return p->from == GOSSIP_OVERLAY_FROM_DISCOVERY? GOSSIP_ORIGIN_DISCOVERED: GOSSIP_ORIGIN_LEARNED;
}

/*  Perform what the overlay plans now: DIALs with gossip_peer_dial, CLOSEs
    by retiring the out link. */
static void
s_overlay_plan (gossip_t *self)
{
    gossip_overlay_action_t actions [GOSSIP_OVERLAY_ACTIONS];
    uint64_t now = hearth_now_ms ();
    self->overlay_due = 0;
    self->overlay_plan_mono = hearth_mono_ms ();
    size_t n = gossip_overlay_plan (self->overlay, now, actions, GOSSIP_OVERLAY_ACTIONS);
    for (size_t i = 0; i < n; i++) {
        gossip_link_t *l = gossip_link_find (self, 1, actions [i].key);
        if (actions [i].verb == GOSSIP_OVERLAY_CLOSE) {
            if (l) {
                hlog_info (S_LOG, "closing our link to %s: the overlay links to other members", l->short_id);
                s_out_retire (l);
            }
            continue;
        }
        if (l) {                            /* dialled already (peers add): report what it is */
            if (l->connected)
                gossip_overlay_link_up (self->overlay, l->key, 1, now);
            continue;
        }
        const gossip_overlay_peer_t *p = gossip_overlay_find (self->overlay, actions [i].key);
        int rc = p? gossip_peer_dial (self, p->address, s_origin_of (p)): HEARTH_ENOTFOUND;
        if (rc != 0) {
            hearth_log_limited (HEARTH_LOG_WARN, S_LOG, "overlay.dial",
                                "could not dial a known peer (%s): %s", p? p->address: "gone",
                                hearth_strerror (rc));
            gossip_overlay_dial_failed (self->overlay, actions [i].key, now);
        }
    }
}

/*  Drop the table's entries the membership view no longer allows: revoked
    keys, and (once the view knows members) keys that are no member, seeds
    aside (an operator's address may be a joining node's inviter). */
static void
s_overlay_prune (gossip_t *self)
{
    const membership_t *m = eventlog_membership (self->log);
    self->overlay_prune_mono = hearth_mono_ms ();
    if (!m)
        return;
    int members_known = membership_count (m) > 0;
    size_t n = gossip_overlay_count (self->overlay), n_drop = 0;
    uint8_t (*drop) [32] = n? (uint8_t (*) [32]) malloc (n * 32): NULL;
    if (!drop)
        return;
    for (size_t i = 0; i < n; i++) {
        const gossip_overlay_peer_t *p = gossip_overlay_at (self->overlay, i);
        if (membership_revoked (m, p->key)
        ||  (members_known && !p->seed && !gossip_is_member (self, p->key)))
            memcpy (drop [n_drop++], p->key, 32);
    }
    for (size_t i = 0; i < n_drop; i++)
        gossip_overlay_forget (self->overlay, drop [i]);
    if (n_drop)
        self->overlay_due = 1;
    free (drop);
}

/*  In links admitted while their key was an invitee whose join has
    arrived: counted as members' now, or, past in_max, refused like a
    member dialling a full node (a redirect; no frame goes or is read on
    it after), so joiners never leave us above out + in_max. Apart from
    s_overlay_prune, which returns early with an empty table: a node
    whose joiners do not listen knows no address and still has their in
    links. */
static void
s_overlay_promote (gossip_t *self)
{
    for (size_t i = 0; i < self->n_links; i++) {
        gossip_link_t *l = self->links [i];
        if (l->outgoing || !l->connected || !gossip_is_member (self, l->key))
            continue;
        if (gossip_overlay_in_member (self->overlay, l->key, hearth_now_ms ()) == 1) {
            s_in_refuse (self, l->key, l->short_id, l->rid, l->rid_len, 1);
            s_link_down (l);
        }
    }
}

/*  Write the known-peer table to the log's store (eventlog_meta_put). */
static void
s_overlay_save (gossip_t *self)
{
    self->overlay_save_mono = hearth_mono_ms ();
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = gossip_overlay_save (self->overlay, &buf, &len);
    if (rc == 0)
        rc = eventlog_meta_put (self->log, EVENTLOG_META_NAME_PEERS, buf, len);
    free (buf);
    if (rc != 0)
        hearth_log_limited (HEARTH_LOG_WARN, S_LOG, "overlay.save",
                            "could not store the known-peer table: %s (retrying)", hearth_strerror (rc));
}

/*  Read the stored table into the overlay (at start, before the seeds
    are learned and the first plan). A damaged one is logged, counted (known_load_skipped) and left:
    the node starts with its seeds and learns the rest again. */
static void
s_overlay_load (gossip_t *self)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = eventlog_meta_get (self->log, EVENTLOG_META_NAME_PEERS, &buf, &len);
    self->overlay_loaded = rc == 0 || rc == HEARTH_ENOTFOUND || rc == HEARTH_ECORRUPT;
    if (rc == 0)
        rc = gossip_overlay_load (self->overlay, buf, len, hearth_now_ms ());
    free (buf);
    if (rc >= 0) {
        if (rc > 0)
            hlog_info (S_LOG, "known peers: %d loaded from the store", rc);
        if (gossip_overlay_stats (self->overlay)->load_skipped)
            hlog_warn (S_LOG, "known peers: %" PRIu64 " stored records were damaged and skipped",
                       gossip_overlay_stats (self->overlay)->load_skipped);
    }
    else
    if (rc != HEARTH_ENOTFOUND) {
        self->stats.known_load_skipped++;
        hlog_warn (S_LOG, "the stored known-peer table is unreadable (%s): starting from the "
                   "configured peers; it is rewritten as peers are learned", hearth_strerror (rc));
    }
}

/*  The overlay's figures into the stats. */
static void
s_overlay_stats (gossip_t *self)
{
    size_t out_up = 0, in_members = 0, in_invitees = 0;
    gossip_overlay_links (self->overlay, NULL, &out_up, &in_members, &in_invitees);
    const gossip_overlay_stats_t *o = gossip_overlay_stats (self->overlay);
    self->stats.links_out = out_up;
    self->stats.links_in = in_members + in_invitees;
    self->stats.known_peers = gossip_overlay_count (self->overlay);
    self->stats.overlay_dials = o->dials;
    self->stats.overlay_dial_failures = o->dial_failures;
    self->stats.overlay_closes_bootstrap = o->closes_bootstrap;
    self->stats.overlay_closes_shuffle = o->closes_shuffle;
    self->stats.overlay_closes_surplus = o->closes_surplus;
    self->stats.inbound_refused = o->in_refused;
    self->stats.known_evicted = o->known_evicted;
    /*  Stored records skipped, plus 1 per unreadable table (counted apart). */
    if (self->stats.known_load_skipped < o->load_skipped)
        self->stats.known_load_skipped = o->load_skipped;
}

/*  The tick's share of the overlay: free retired links, check the table
    against the membership view, plan, save. */
static void
s_overlay_tick (gossip_t *self, uint64_t now)
{
    for (size_t i = 0; i < self->n_retired; i++)
        gossip_link_destroy (&self->retired [i]);
    self->n_retired = 0;
    if (now - self->overlay_prune_mono >= GOSSIP_OVERLAY_PRUNE_MS) {
        s_overlay_prune (self);
        s_overlay_promote (self);
    }
    if (!self->overlay_due && now - self->overlay_plan_mono < GOSSIP_OVERLAY_PLAN_MS)
        return;
    s_overlay_plan (self);
    s_overlay_stats (self);
    if (self->overlay_grew && now - self->hello_refresh_mono >= GOSSIP_HELLO_REFRESH_MS) {
        /*  The table grew: a hello on every up link. On an out link the
            listener answers with its own, so both sides see fresh samples;
            on an in link the dialler reads it without answering (only a
            listener answers a hello), so it cannot echo. Both directions
            matter: a node everyone dialled (an inviter) has no out link,
            and its joiners would otherwise never learn each other's
            addresses when they all joined before it knew them. Nothing is
            sent while the table stays the same. */
        self->overlay_grew = 0;
        self->hello_refresh_mono = now;
        for (size_t i = 0; i < self->n_links; i++) {
            gossip_link_t *l = self->links [i];
            if (l->connected && l->allowed)
                gossip_link_send_hello (l);
        }
    }
    if (self->overlay_loaded && gossip_overlay_dirty (self->overlay)
    &&  (!self->overlay_save_mono || now - self->overlay_save_mono >= GOSSIP_OVERLAY_SAVE_MS))
        s_overlay_save (self);
}

/*  What this node still wants: the need ids of its sessions not yet
    asked for, and the hashes the want table still expects from a peer
    (queued or asked; not those in hand, fetched and waiting to be stored). *top gets the link with the most of it (NULL: none), *n_links
    how many links have some. A lower bound during a capped session run
    (GOSSIP_NEED_MAX): the next session learns more. */
static uint64_t
s_sync_wanted (gossip_t *self, const gossip_link_t **top, size_t *n_links)
{
    uint64_t total = gossip_want_expected (self->want), best = 0;
    *top = NULL;
    *n_links = 0;
    for (size_t i = 0; i < self->n_links; i++) {
        const gossip_link_t *l = self->links [i];
        uint64_t mine = gossip_want_assigned (self->want, l->want_peer);
        size_t n_need = 0;
        if (l->init)
            gossip_session_need_ids (l->init, &n_need);
        if (n_need > l->need_sent) {
            mine += n_need - l->need_sent;
            total += n_need - l->need_sent;
        }
        if (mine) {
            (*n_links)++;
            if (mine > best) {
                best = mine;
                *top = l;
            }
        }
    }
    return total;
}

/*  Progress lines of a long sync (gossip_progress.h), and the wanted gauge. */
static void
s_progress_tick (gossip_t *self, uint64_t now)
{
    const gossip_link_t *top;
    size_t n_links;
    uint64_t wanted = s_sync_wanted (self, &top, &n_links);
    self->stats.sync_wanted = wanted;
    gossip_progress_line_t line;
    switch (gossip_progress_step (&self->progress, now, self->stats.events_received, wanted, &line)) {
        case GOSSIP_PROGRESS_LINE: {
            char more [32] = "";
            if (n_links > 1)
                snprintf (more, sizeof more, " (+%zu more)", n_links - 1);
            /*  The same figures as JSON fields (--log-format json); a
                short id is "ed25519:" and base32, nothing to escape. */
            char fields [160];
            snprintf (fields, sizeof fields, "\"sync_fetched\":%" PRIu64 ",\"sync_rate\":%" PRIu64
                      ",\"sync_remaining\":%" PRIu64 ",\"peer\":\"%s\"", line.fetched, line.rate,
                      line.remaining, top? top->short_id: "");
            if (top)
                hearth_log_fields (HEARTH_LOG_INFO, S_LOG, fields, "sync: fetched %" PRIu64 " events (%"
                                   PRIu64 "/s), ~%" PRIu64 " remaining from %s%s", line.fetched,
                                   line.rate, line.remaining, top->short_id, more);
            else
                hearth_log_fields (HEARTH_LOG_INFO, S_LOG, fields, "sync: fetched %" PRIu64 " events (%"
                                   PRIu64 "/s), none known remaining (the next session may find "
                                   "more)", line.fetched, line.rate);
            break;
        }
        case GOSSIP_PROGRESS_DONE: {
            char fields [96];
            snprintf (fields, sizeof fields, "\"sync_fetched\":%" PRIu64 ",\"sync_rate\":%" PRIu64
                      ",\"sync_ms\":%" PRIu64, line.fetched, line.rate, line.elapsed_ms);
            hearth_log_fields (HEARTH_LOG_INFO, S_LOG, fields, "sync: done, fetched %" PRIu64
                               " events in %.1f s (%" PRIu64 "/s)", line.fetched,
                               (double) line.elapsed_ms / 1000.0, line.rate);
            break;
        }
        default:
            break;
    }
}

/*  The tick: every GOSSIP_TICK_IDLE_MS, and GOSSIP_TICK_MS after
    gossip_tick_soon (gossip_tick.h). */
static int
s_on_tick (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    gossip_t *self = (gossip_t *) arg;
    uint64_t now = hearth_mono_ms ();
    int gauge = 0;
    if (self->n_announce > 0 && self->announce_timer < 0)
        gossip_flush_announce (self);            /* the one-shot timer could not be armed */
    gossip_want_expire (self->want, now);
    if (self->recheck_due || now - self->recheck_mono >= GOSSIP_MEMBERS_RECHECK_MS)
        gossip_links_recheck (self);             /* invites arrive, and expire with time */
    s_links_enforce (self);
    if (self->n_learn_held > 0 && !self->cfg.no_learn)
        s_learn_promote (self);
    if (self->store_stale)
        s_store_rebuild (self);
    else
        gossip_store_settle (self);              /* pages grown by inserts outside our ingest calls */
    for (size_t i = 0; i < self->n_links; i++) {
        gossip_link_t *l = self->links [i];
        if (gossip_tick_silent (l, now)) {
            s_link_down (l);
            gauge = 1;
        }
        if (l->lost) {
            l->lost = 0;
            s_link_down (l);
        }
        if (l->redial_at_mono && now >= l->redial_at_mono && !l->barred) {
            l->redial_at_mono = 0;
            zsock_disconnect (l->dealer, "%s", l->endpoint);    /* may already be gone */
            zsock_connect (l->dealer, "%s", l->endpoint);
        }
        if (!l->connected)
            continue;
        if (gossip_tick_ping_due (l, now)) {
            Hearth__GossipPing p = HEARTH__GOSSIP_PING__INIT;
            p.nonce = ++self->next_id;
            p.head_lamport = gossip_head (self);
            Hearth__GossipMessage m = HEARTH__GOSSIP_MESSAGE__INIT;
            m.body_case = HEARTH__GOSSIP_MESSAGE__BODY_PING;
            m.ping = &p;
            gossip_link_send (l, &m);
        }
        if (gossip_want_gave_up (self->want, l->want_peer))
            l->resync = 1;                  /* announced, never delivered, no one else has it */
        if (!gossip_tick_link_busy (l) && gossip_want_queued (self->want, l->want_peer) == 0)
            continue;                       /* nothing to move on this link */
        gossip_link_send_neg_retry (l);
        gossip_neg_pump (l);
        gossip_fetch_pump (l);
        gossip_pump_want (l);
        if (l->init) {
            int stalled = now - l->init_progress_mono > GOSSIP_SESSION_IDLE_MS;
            for (size_t k = 0; k < l->n_fetch && !stalled; k++)
                stalled = now - l->fetch [k].sent_mono > GOSSIP_FETCH_TIMEOUT_MS;
            if (stalled)
                gossip_sync_abandon (l, "no progress");
            else
                gossip_sync_pump (l);
        }
        if (!l->init && l->resync)
            gossip_sync_start (l, GOSSIP_SYNC_REPAIR);
    }
    if (gauge)
        gossip_update_gauge (self);
    s_overlay_tick (self, now);
    /*  Work left for the next tick (this one's, or what it started): run
        it at GOSSIP_TICK_MS, else the idle tick comes (gossip_tick.h). */
    int busy = s_node_busy (self);
    for (size_t i = 0; i < self->n_links && !busy; i++)
        busy = gossip_tick_link_busy (self->links [i]);
    if (busy)
        gossip_tick_soon (self);
    self->stats.announce_retried = gossip_want_stats (self->want)->retried;
    const gossip_refused_stats_t *r = gossip_refused_stats (self->refused);
    self->stats.refused_known = gossip_refused_count (self->refused);
    self->stats.refused_remembered = r->remembered;
    self->stats.refused_evicted = r->evicted;
    s_budget_stats (self);
    s_progress_tick (self, now);
    return 0;
}

int
gossip_on_tick_soon (zloop_t *loop, int timer_id, void *arg)
{
    ((gossip_t *) arg)->tick_soon_timer = -1;      /* one-shot: zloop has dropped it */
    return s_on_tick (loop, timer_id, arg);
}

static int
s_on_sync (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    gossip_t *self = (gossip_t *) arg;
    /*  One random up link that is not already syncing either way. */
    uint64_t now = hearth_mono_ms ();
    size_t candidates = 0;
    for (size_t i = 0; i < self->n_links; i++) {
        const gossip_link_t *l = self->links [i];
        candidates += l->connected && !l->init && !l->resp && now - l->peer_sync_mono > GOSSIP_PEER_BUSY_MS;
    }
    if (candidates == 0)
        return 0;
    uint32_t pick = randombytes_uniform ((uint32_t) candidates);
    for (size_t i = 0; i < self->n_links; i++) {
        gossip_link_t *l = self->links [i];
        if (l->connected && !l->init && !l->resp && now - l->peer_sync_mono > GOSSIP_PEER_BUSY_MS
        &&  pick-- == 0) {
            gossip_sync_start (l, GOSSIP_SYNC_PERIODIC);
            s_tick_check (self, l);
            break;
        }
    }
    return 0;
}

/* ---- public API ------------------------------------------------------------------ */

void
gossip_config_defaults (gossip_config_t *cfg)
{
    memset (cfg, 0, sizeof *cfg);
    cfg->sync_interval_ms = GOSSIP_SYNC_INTERVAL_MS;
}

int
gossip_address_parse (const char *address, uint8_t key [32], char endpoint [GOSSIP_MAX_ADDRESS])
{
    if (!address || strlen (address) >= GOSSIP_MAX_ADDRESS)
        return HEARTH_EINVAL;
    const char *at = strchr (address, '@');
    if (!at || (size_t) (at - address) >= HEARTH_NODE_ID_SIZE)
        return HEARTH_EINVAL;
    char id [HEARTH_NODE_ID_SIZE];
    memcpy (id, address, (size_t) (at - address));
    id [at - address] = '\0';
    if (hearth_node_id_parse (id, key) != 0)
        return HEARTH_EINVAL;
    const char *ep = at + 1;
    if (!hearth_tcp_endpoint_valid (ep, 0))
        return HEARTH_EINVAL;
    snprintf (endpoint, GOSSIP_MAX_ADDRESS, "%s", ep);
    return 0;
}

/*  This node's address from the bound endpoint: the advertise endpoint if
    set (a bare host keeps the bound port), else the bound one with a
    wildcard host replaced by 127.0.0.1. */
static void
s_make_address (gossip_t *self)
{
    char *bound = zsock_last_endpoint (self->router);
    const char *port = bound? strrchr (bound, ':'): NULL;
    const char *adv = self->cfg.advertise;
    char endpoint [GOSSIP_MAX_ADDRESS] = "";
    if (*adv && strncmp (adv, "tcp://", 6) == 0 && strrchr (adv + 6, ':'))
        snprintf (endpoint, sizeof endpoint, "%s", adv);
    else
    if (port) {
        const char *host = "127.0.0.1";
        if (*adv)
            host = adv;
        else {
            const char *h = bound + 6;
            size_t hl = (size_t) (port - h);
            if (!(hl == 7 && strncmp (h, "0.0.0.0", 7) == 0) && !(hl == 1 && *h == '*')
            &&  !(hl == 4 && strncmp (h, "[::]", 4) == 0) && hl < 200) {
                snprintf (endpoint, sizeof endpoint, "%s", bound);
                host = NULL;
            }
        }
        if (host)
            snprintf (endpoint, sizeof endpoint, "tcp://%.200s%.8s", host, port);
    }
    freen (bound);
    if (*endpoint) {
        int n = snprintf (self->address, sizeof self->address, "%s@%s",
                          identity_node_id (self->id), endpoint);
        if (n < 0 || (size_t) n >= sizeof self->address)
            self->address [0] = 0;      /* would not fit GOSSIP_MAX_ADDRESS: no address */
    }
}

gossip_t *
gossip_new (eventlog_t *log, const identity_t *self_id, zloop_t *loop, const gossip_config_t *cfg, int *err)
{
    int dummy;
    if (!err)
        err = &dummy;
    *err = HEARTH_ENOMEM;
    gossip_t *self = (gossip_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->log = log;
    self->id = self_id;
    self->loop = loop;
    self->cfg = *cfg;
    self->cfg.peers = NULL;
    self->cfg.n_peers = 0;
    if (!self->cfg.sync_interval_ms)
        self->cfg.sync_interval_ms = GOSSIP_SYNC_INTERVAL_MS;
    self->tick_timer = self->tick_soon_timer = self->sync_timer = self->announce_timer = -1;
    self->curve_sec = (uint8_t *) sodium_malloc (32);
    gossip_want_limits_t limits = {
        .max_hashes = GOSSIP_ANNOUNCE_PENDING_MAX, .per_peer = GOSSIP_ANNOUNCE_PENDING_PEER,
        .window = GOSSIP_ANNOUNCE_FETCH_WINDOW, .timeout_ms = GOSSIP_ANNOUNCE_TIMEOUT_MS
    };
    uint8_t want_key [16];
    randombytes_buf (want_key, sizeof want_key);
    self->want = gossip_want_new (&limits, want_key);
    gossip_progress_init (&self->progress, self->cfg.progress_interval_ms);
    randombytes_buf (want_key, sizeof want_key);
    gossip_refused_limits_t refused_limits;
    gossip_refused_limits_defaults (&refused_limits);
    if (cfg->refused_max && cfg->refused_max < refused_limits.max)
        refused_limits.max = cfg->refused_max;
    self->refused = gossip_refused_new (&refused_limits, want_key);
    self->admit = gossip_admit_new (NULL);
    self->budget = gossip_budget_new (NULL);
    gossip_overlay_config_t ocfg;
    gossip_overlay_config_defaults (&ocfg);
    if (cfg->links_out)
        ocfg.out = cfg->links_out;
    if (cfg->links_in_max)
        ocfg.in_max = cfg->links_in_max;
    if (ocfg.known_max < ocfg.out)
        ocfg.known_max = ocfg.out;
    ocfg.pin_seeds = cfg->no_learn;
    uint64_t overlay_seed;
    randombytes_buf (&overlay_seed, sizeof overlay_seed);
    self->overlay = gossip_overlay_new (identity_public_key (self_id), &ocfg, overlay_seed);
    if (!self->curve_sec || !self->want || !self->refused || !self->admit || !self->budget)
        goto fail;
    if (!self->overlay) {
        *err = HEARTH_EINVAL;               /* only a bad links_out / links_in_max */
        goto fail;
    }
    if (identity_curve_keypair (self_id, self->curve_pub, self->curve_sec) != 0) {
        *err = HEARTH_EKEYS;
        goto fail;
    }
    /*  The reconciliation store from the order index, before the hook so no
        event is missed or doubled. A v1-only node keeps no encoder: it then
        declines the rateless mode. */
    int rc = gossip_store_build (self, &self->store, &self->encoder);
    if (rc != 0) {
        *err = rc;
        goto fail;
    }
    /*  ZAP before any bind, so no handshake meets a socket without it
        (docs/architecture.md, "Membership and admission"). */
    self->zap = gossip_zap_new (loop, s_zap_admit, self, &self->stats.zap_denied, err);
    if (!self->zap)
        goto fail;
    *err = HEARTH_ENOMEM;
    if (*self->cfg.listen) {
        self->router = zsock_new (ZMQ_ROUTER);
        if (!self->router)
            goto fail;
        zsock_set_zap_domain (self->router, gossip_zap_domain (self->zap));
        zsock_set_curve_server (self->router, 1);
        zsock_set_curve_publickey_bin (self->router, self->curve_pub);
        zsock_set_curve_secretkey_bin (self->router, self->curve_sec);
        zsock_set_router_mandatory (self->router, 1);
        zsock_set_sndhwm (self->router, GOSSIP_SNDHWM);
        zsock_set_rcvhwm (self->router, GOSSIP_SNDHWM);
        zsock_set_sndtimeo (self->router, 0);
        zsock_set_linger (self->router, 0);
        zsock_set_maxmsgsize (self->router, GOSSIP_MAXMSGSIZE);
        zsock_set_heartbeat_ivl (self->router, GOSSIP_HEARTBEAT_IVL_MS);
        zsock_set_heartbeat_timeout (self->router, GOSSIP_HEARTBEAT_TIMEOUT_MS);
        if (zsock_bind (self->router, "%s", self->cfg.listen) < 0) {
            hlog_error (S_LOG, "cannot listen on %s: %s", self->cfg.listen, zmq_strerror (zmq_errno ()));
            *err = HEARTH_EIO;
            goto fail;
        }
        s_make_address (self);
        if (zloop_reader (loop, self->router, s_on_router, self) != 0)
            goto fail;
        if ((rc = gossip_router_monitor_start (self)) != 0) {
            *err = rc;
            goto fail;
        }
        zloop_reader_set_tolerant (loop, self->router);
    }
    eventlog_set_accept_hook (log, gossip_accept_hook, self);
    self->tick_timer = zloop_timer (loop, GOSSIP_TICK_IDLE_MS, 0, s_on_tick, self);
    self->sync_timer = zloop_timer (loop, self->cfg.sync_interval_ms, 0, s_on_sync, self);
    if (self->tick_timer < 0 || self->sync_timer < 0)
        goto fail;
    /*  The configured peers are the overlay's seeds; the stored table
        adds the members known before; the first plan dials from both. */
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            s_overlay_load (self);          /* first: learning a seed keeps what was stored of it */
        for (size_t i = 0; i < cfg->n_peers; i++) {
            uint8_t key [32];
            char endpoint [GOSSIP_MAX_ADDRESS];
            rc = gossip_address_parse (cfg->peers [i], key, endpoint);
            if (rc == 0 && memcmp (key, identity_public_key (self_id), HEARTH_KEY_BYTES) == 0)
                rc = HEARTH_EINVAL;         /* ourselves */
            if (rc == 0 && pass == 1)
                rc = gossip_overlay_learn (self->overlay, key, cfg->peers [i], GOSSIP_OVERLAY_FROM_SEED,
                                           hearth_now_ms ());
            if (rc < 0) {
                hlog_error (S_LOG, "bad peer address '%s': %s", cfg->peers [i], hearth_strerror (rc));
                *err = rc;
                goto fail;
            }
        }
    }
    s_overlay_prune (self);
    s_overlay_plan (self);
    s_overlay_stats (self);
    if (self->cfg.discovery && (rc = gossip_beacon_start (self)) != 0) {
        *err = rc;
        goto fail;
    }
    if (*self->address)
        hlog_info (S_LOG, "listening as %s", self->address);
    gossip_tick_soon (self);                /* the first dials' verdicts */
    *err = 0;
    return self;
fail:
    gossip_destroy (&self);
    return NULL;
}

void
gossip_destroy (gossip_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gossip_t *self = *self_p;
    if (self->log)
        eventlog_set_accept_hook (self->log, NULL, NULL);
    if (self->tick_timer >= 0)
        zloop_timer_end (self->loop, self->tick_timer);
    if (self->tick_soon_timer >= 0)
        zloop_timer_end (self->loop, self->tick_soon_timer);
    if (self->sync_timer >= 0)
        zloop_timer_end (self->loop, self->sync_timer);
    if (self->announce_timer >= 0)
        zloop_timer_end (self->loop, self->announce_timer);
    if (self->beacon) {
        zloop_reader_end (self->loop, (zsock_t *) self->beacon);
        zactor_destroy (&self->beacon);
    }
    freen (self->beacon_host);
    if (self->overlay && self->overlay_loaded && self->log && gossip_overlay_dirty (self->overlay))
        s_overlay_save (self);
    for (size_t i = 0; i < self->n_links; i++)
        gossip_link_destroy (&self->links [i]);
    free (self->links);
    for (size_t i = 0; i < self->n_retired; i++)
        gossip_link_destroy (&self->retired [i]);
    free (self->retired);
    gossip_overlay_destroy (&self->overlay);
    if (self->monitor) {
        zloop_reader_end (self->loop, self->monitor);
        zsock_destroy (&self->monitor);
    }
    if (self->router) {
        zmq_socket_monitor (zsock_resolve (self->router), NULL, 0);
        zloop_reader_end (self->loop, self->router);
        zsock_destroy (&self->router);
    }
    gossip_zap_destroy (&self->zap);
    for (size_t i = 0; i < self->n_pending; i++)
        free (self->pending [i].wire);
    free (self->pending);
    for (size_t i = 0; i < self->n_queries; i++)
        free (self->queries [i].input);
    free (self->queries);
    gossip_admit_destroy (&self->admit);
    gossip_budget_destroy (&self->budget);
    free (self->announce);
    gossip_want_destroy (&self->want);      /* after the links, which leave it */
    gossip_refused_destroy (&self->refused);
    riblt_encoder_destroy (&self->encoder);
    negentropy_store_destroy (&self->store);
    if (self->curve_sec)
        sodium_free (self->curve_sec);
    free (self);
    *self_p = NULL;
}

int
gossip_peer_add (gossip_t *self, const char *address)
{
    uint8_t key [32];
    char endpoint [GOSSIP_MAX_ADDRESS];
    if (gossip_address_parse (address, key, endpoint) != 0
    ||  memcmp (key, identity_public_key (self->id), HEARTH_KEY_BYTES) == 0)
        return HEARTH_EINVAL;
    int rc = gossip_peer_dial (self, address, GOSSIP_ORIGIN_CONFIG);
    if (rc == 0 || rc == HEARTH_EEXISTS) {
        uint64_t now = hearth_now_ms ();
        int lrc = gossip_overlay_learn (self->overlay, key, address, GOSSIP_OVERLAY_FROM_SEED, now);
        if (lrc < 0)
            return lrc;
        if (rc == 0)
            gossip_overlay_dialling (self->overlay, key, now);
        self->overlay_due = 1;
    }
    return rc;
}

int64_t
gossip_lag (uint64_t peer_head, uint64_t our_head)
{
    if (peer_head >= our_head)
        return peer_head - our_head > (uint64_t) INT64_MAX? INT64_MAX: (int64_t) (peer_head - our_head);
    return our_head - peer_head > (uint64_t) INT64_MAX? -INT64_MAX: -(int64_t) (our_head - peer_head);
}

const char *
gossip_address (const gossip_t *self)
{
    return *self->address? self->address: NULL;
}

json_t *
gossip_peers_json (gossip_t *self)
{
    json_t *peers = json_array ();
    uint64_t head = gossip_head (self);
    for (size_t i = 0; peers && i < self->n_links; i++) {
        const gossip_link_t *l = self->links [i];
        char seen [HEARTH_TIME_SIZE];
        if (l->last_seen_ms)
            hearth_time_format (l->last_seen_ms, seen);
        json_t *lag = json_null ();
        if (l->head_known)
            lag = json_integer (gossip_lag (l->peer_head, head));
        /*  The peer's membership level now (an invitee: "none"). */
        static const char *levels [] = { "none", "member", "trusted", "anchor" };
        const membership_t *m = eventlog_membership (self->log);
        int level = m? membership_level (m, l->key): 0;
        json_array_append_new (peers, json_pack (
            "{s:s, s:s, s:s, s:o, s:s, s:b, s:o, s:I, s:I, s:I, s:I, s:o}",
            "node_id", l->node_id, "short_id", l->short_id,
            "level", level >= 0 && level <= 3? levels [level]: "none",
            "address", *l->address? json_string (l->address): json_null (),
            "direction", l->outgoing? "out": "in",
            "connected", l->connected,
            "last_seen", l->last_seen_ms? json_string (seen): json_null (),
            "bytes_in", (json_int_t) l->bytes_in, "bytes_out", (json_int_t) l->bytes_out,
            "events_pushed", (json_int_t) l->events_pushed,
            "events_pulled", (json_int_t) l->events_pulled,
            "lag", lag));
    }
    return json_pack ("{s:o}", "peers", peers? peers: json_array ());
}

json_t *
gossip_known_json (gossip_t *self)
{
    static const char *from_names [] = { "seed", "hello", "discovery", "invite", "link" };
    json_t *known = json_array ();
    uint64_t now = hearth_now_ms ();
    size_t n = gossip_overlay_count (self->overlay);
    for (size_t i = 0; known && i < n; i++) {
        const gossip_overlay_peer_t *p = gossip_overlay_at (self->overlay, i);
        char node_id [HEARTH_NODE_ID_SIZE], short_id [HEARTH_SHORT_ID_SIZE], reached [HEARTH_TIME_SIZE];
        hearth_node_id_format (p->key, node_id);
        hearth_short_id_format (p->key, short_id);
        if (p->last_reached_ms)
            hearth_time_format (p->last_reached_ms, reached);
        const gossip_link_t *out = gossip_link_find (self, 1, p->key);
        const gossip_link_t *in = gossip_link_find (self, 0, p->key);
        const char *linked = out && out->connected? (in && in->connected? "both": "out")
                           : in && in->connected? "in": NULL;
        json_t *age = json_null ();
        if (p->last_reached_ms)
            age = json_integer ((json_int_t) ((now > p->last_reached_ms? now - p->last_reached_ms: 0) / 1000));
        json_array_append_new (known, json_pack (
            "{s:s, s:s, s:s, s:o, s:o, s:I, s:s, s:b, s:o, s:I}",
            "node_id", node_id, "short_id", short_id, "address", p->address,
            "last_reached", p->last_reached_ms? json_string (reached): json_null (),
            "last_reached_age_s", age,
            "fails", (json_int_t) p->fails,
            "from", p->from >= 0 && p->from < (int) (sizeof from_names / sizeof from_names [0])
                    ? from_names [p->from]: "unknown",
            "seed", p->seed,
            "linked", linked? json_string (linked): json_null (),
            "retry_in_ms", (json_int_t) (p->retry_at_ms > now? p->retry_at_ms - now: 0)));
    }
    return json_pack ("{s:o}", "known", known? known: json_array ());
}

const gossip_stats_t *
gossip_stats (const gossip_t *self)
{
    return &self->stats;
}
