/*  gossip.c — the mesh layer: CURVE links, eager push, Negentropy
    anti-entropy, receiver-paced transfers and remote queries; see gossip.h
    and docs/sync.md.

    Links. A link is one transport to one peer key:
      - out: a DEALER we dial (CURVE client; the server key comes from the
        NODE_ID of the peer address). A zmonitor on it reports handshakes and
        disconnects: every handshake sends a hello and starts a
        reconciliation; a disconnect ends the link's sessions and transfers.
      - in: a peer that dialled our ROUTER, keyed by its ZAP-authenticated
        key (the "User-Id" metadata of its frames), one per key; the newest
        connection (routing id) wins. It is up while the peer talks (the
        dialling side pings when idle) and down after GOSSIP_LINK_SILENT_MS of
        silence or an unroutable send.
    Both directions speak the same protocol; a query-only client (hearthctl
    --node) never becomes a link. Either way a link's key must be allowed
    (gossip_link_allowed: a member or a pending invitee) for any frame to be sent
    on it or read from it; the tick closes links whose key no longer is and
    dials out links whose key has become so.

    Sync. Eager push: the log's accept hook records each accepted event; a
    local append goes at once, in full, to every up link, over the out link
    when a peer has both. Lazy push: an event accepted from a link is
    queued as a hash and, GOSSIP_ANNOUNCE_DELAY_MS later, announced to every
    up link except those of its origin key (full events to version-1
    peers); an announcement of hashes we lack is answered with fetches to
    the announcer, tracked by gossip_want (other announcers, timeouts).
    Anti-entropy: the initiator sends neg_open, the other
    side answers as responder; after each round the initiator pushes the
    new "have" events and requests "need" hashes, at most
    GOSSIP_FETCH_WINDOW fetches outstanding, the next one sent when a
    fetch's last frame arrives (receiver-paced). Sends never block: with
    ZMQ_SNDTIMEO 0 a full queue gives EAGAIN and the work waits for the next
    tick (transfers) or is dropped and repaired by a reconciliation (eager
    pushes).

    Remote queries. A call read off the ROUTER passes admission
    (gossip_admit.h: hard rate -> dropped unanswered, soft rate ->
    rate_limited, max_concurrent or the peer's pending cap ->
    capacity_exceeded) and is queued with the time it was read; after the
    read burst the queue is served in order, one handler at a time, and a
    call that waited its whole budget is answered `timeout` without running.
    So "in flight" is read and not yet answered (docs/design-decisions.md).

    Threading: everything runs on the caller's zloop thread, which owns the
    event log.
*/
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sodium.h>
#include "gossip.h"
#include "gossip_admit.h"
#include "gossip_budget.h"
#include "gossip_wire.h"
#include "gossip_zap.h"
#include "gossip_session.h"
#include "hearth_memory.h"
#include "gossip_want.h"
#include "negentropy.h"
#include "riblt_session.h"
#include "negentropy_store.h"
#include "hearth_codec.h"
#include "hearth_error.h"
#include "hearth_log.h"

#define S_LOG "gossip"

/* ---- tuning (named, explained) ------------------------------------------------ */

/*  Housekeeping tick: pings, silence and stall checks, paused transfers. */
#define GOSSIP_TICK_MS              20
/*  An idle out link sends a ping this often so the other side sees it alive. */
#define GOSSIP_PING_MS              1000
/*  An in link silent this long is down (15 pings missed). */
#define GOSSIP_LINK_SILENT_MS       15000
/*  An initiator session without progress this long is abandoned and redone. */
#define GOSSIP_SESSION_IDLE_MS      30000
/*  A fetch unanswered this long: the transfer is abandoned and redone. */
#define GOSSIP_FETCH_TIMEOUT_MS     30000
/*  Hashes per fetch (32 KiB) and fetches outstanding per link: a window of
    4096 hashes, ~1.4 MB of events at ~350 B each. */
#define GOSSIP_FETCH_BATCH          GOSSIP_WIRE_MAX_FETCH
#define GOSSIP_FETCH_WINDOW         4
/*  Event bytes per frame we send (push, fetch answers): well under the frame
    cap so SNDHWM frames bound the memory one slow peer can hold. */
#define GOSSIP_BATCH_BYTES          (64 * 1024)
/*  Negentropy frame limit, the same on both sides (docs/sync.md §5): a
    message fits a gossip frame with room for the envelope. */
#define GOSSIP_NEG_FRAME_LIMIT      (GOSSIP_MAX_FRAME_BYTES - 4096)
/*  Frames queued per link and direction (ZMQ_SNDHWM and ZMQ_RCVHWM) before
    sends fail with EAGAIN: with GOSSIP_BATCH_BYTES frames about 8 MiB each
    way per peer. */
#define GOSSIP_SNDHWM               128
/*  libzmq drops a connection sending a frame over this (the application
    check at GOSSIP_MAX_FRAME_BYTES counts the ones in between). */
#define GOSSIP_MAXMSGSIZE           (GOSSIP_MAX_FRAME_BYTES + 64 * 1024)
/*  ZMQ reconnect backoff: first retry after 100 ms, doubling to 5 s. */
#define GOSSIP_RECONNECT_IVL_MS     100
#define GOSSIP_RECONNECT_MAX_MS     5000
/*  ZMTP heartbeats: a ping every second, the link is dead after 5 s
    without traffic. */
#define GOSSIP_HEARTBEAT_IVL_MS     1000
#define GOSSIP_HEARTBEAT_TIMEOUT_MS 5000
/*  libzmq gives up on an endpoint whose server refused us (ZAP 400); we
    redial it after 1 s, doubling to 30 s, since membership may reach the
    peer later (an invite or join still on its way). */
#define GOSSIP_REDIAL_MIN_MS        1000
#define GOSSIP_REDIAL_MAX_MS        30000
/*  Peer addresses a hello carries at most, and out links we open to peers
    learned that way at most (static --peer links do not count against
    GOSSIP_MAX_PEERS any differently). */
#define GOSSIP_HELLO_PEERS          16
#define GOSSIP_LEARN_OUT            8
/*  Addresses from hellos whose key is not a member in our view (yet: a
    joining node learns its peers' addresses before their membership
    events) are held at most this many, never dialled, and dialled once
    the key is a member; the oldest goes first. Two hellos' worth. */
#define GOSSIP_LEARN_HELD           (2 * GOSSIP_HELLO_PEERS)
/*  LAN discovery (zbeacon): UDP port, beacon interval, and the beacon:
    "HRTH" | version 1 | community id (32) | node key (32) | port (2, BE) |
    loopback-only flag (1): 72 bytes (zbeacon allows 255). */
#define GOSSIP_BEACON_PORT          7400
#define GOSSIP_BEACON_IVL_MS        1000
#define GOSSIP_BEACON_MAGIC         "HRTH"
#define GOSSIP_BEACON_VERSION       1
#define GOSSIP_BEACON_SIZE          (4 + 1 + 32 + 32 + 2 + 1)
/*  Fetched events are stored in lamport order, in batches of up to this many
    bytes (or when no fetch is outstanding): an event needs its author's
    membership events (lower lamports) stored first. Negentropy reports the
    missing ids of a peer's IdList in the peer's (lamport, hash) order, and
    an empty node joining learns all its needs in that order (a join's
    IdLists hold ~32,000 ids each), so fetched events arrive nearly sorted;
    the window sorts what several sessions or announcements interleave. A
    bigger one only adds memory (16 MiB held, plus their push copies, was
    ~30 MiB of a 1M join's peak, heaptrack). */
#define GOSSIP_REORDER_BYTES        (4 * 1024 * 1024)
/*  After storing a held batch at least this big, freed heap goes back to
    the OS (hearth_memory_release: milliseconds, once per ~1/4 of the
    reorder window at most, so never on the push path). */
#define GOSSIP_RELEASE_BYTES        (GOSSIP_REORDER_BYTES / 4)
/*  Held events are packed into blocks of this size, one allocation per
    ~2,500 events instead of one each (heaptrack of a 200k join: ~200k
    small allocations per window, freed together). Larger than any event
    (GOSSIP_MAX_FRAME_BYTES caps a frame, hence an event). */
#define GOSSIP_HOLD_BLOCK_BYTES     GOSSIP_MAX_FRAME_BYTES
/*  A session's "have" events are pushed when there are at most this many
    (a partition's worth); beyond, the peer is asked to initiate and pull
    them itself, receiver-paced. */
#define GOSSIP_PUSH_HAVE_MAX        4096
/*  A session stops asking once it has found this many missing ids (1 MiB
    of ids); after they are fetched a new session finds the next ones. Keeps
    an empty node joining a big community from holding every id at once.
    A 1M join: 16 sessions instead of 11 at 65,536, the same time and CPU,
    ~2 MiB less peak (docs/sync.md §8). */
#define GOSSIP_NEED_MAX             32768
/*  A session after a (re)connect starts in Negentropy v1, which finds a
    partition's differences (all at the head of the order) in 1-2 round
    trips for ~32 B each. If its first answer shows at least this many
    differing ranges in the older 15/16 of the order (there are 240 such
    ranges, 1/256 of the set each), the differences are old events missing
    at scattered places, for which v1 pays ~1.3 kB each and the rateless
    mode ~75 B: the session is replaced by a rateless one. At 16 scattered
    differences v1 would still spend ~20 kB, more than the v1 round already
    spent (~2-15 kB) plus the rateless mode's smallest batch (64 symbols,
    ~2.7 kB). docs/design-decisions.md, "Reconnect sessions". */
#define GOSSIP_SCATTERED_RANGES     16
/*  ...unless the newest items themselves (the opening's last IdList, up to
    31 ids) already show this many differing ids: a partition's new events
    (which v1 sends for ~32 B each), or sets that share little, where v1's
    id lists cost no more than the rateless symbols. Scattered old gaps
    hardly ever hit the newest 31 items. */
#define GOSSIP_HEAD_IDS_MAX         16
/*  The periodic session skips a peer that synced with us this recently. */
#define GOSSIP_PEER_BUSY_MS         2000
/*  Inbound links kept at most (live or remembered for `peers`). */
#define GOSSIP_MAX_INBOUND          (4 * GOSSIP_MAX_PEERS)
/*  Frames read per socket per loop wake-up before yielding to other sockets. */
#define GOSSIP_RECV_BURST           64
/*  ZMQ routing ids are at most 255 bytes. */
#define GOSSIP_RID_MAX              255
/*  Connections of the listening socket whose handshake verdict is awaited,
    tracked at most to classify outsiders (gossip.h handshake_*): inbound
    links at most plus as many again for query clients and attempts; an
    untracked one is simply not classified. */
#define GOSSIP_MONITOR_CONNS        (2 * GOSSIP_MAX_INBOUND)
/*  Every link's key is checked against the membership view this often for
    what time alone changes (an invite expiring); membership events that
    narrow who may talk (created, joined, revoked) re-check at once. */
#define GOSSIP_MEMBERS_RECHECK_MS   1000

/* ---- types ---------------------------------------------------------------------- */

typedef struct {
    uint64_t id;
    uint64_t sent_mono;
} gossip_fetch_t;

/*  A fetched event held back so a batch can be stored in lamport order
    (wire: in the link's hold blocks), or a pushed event of a burst (wire:
    an owned copy). */
typedef struct {
    uint64_t  lamport;
    uint8_t  *wire;
    size_t    len;
    int       decoded;                      /* hash is set (the event decoded) */
    uint8_t   hash [HEARTH_HASH_BYTES];
} gossip_held_t;

/*  A peer's fetch waiting for its budget (gossip_budget.h), answered from
    hashes [next] on. */
typedef struct {
    uint64_t  request_id;
    uint8_t  *hashes;                       /* owned: n x 32 bytes */
    size_t    n, next;
} gossip_fetch_held_t;

typedef struct _s_link_t gossip_link_t;
struct _s_link_t {
    gossip_t     *owner;                    /* borrowed */
    int           outgoing;                 /* 1: our DEALER; 0: their connection to our ROUTER */
    uint8_t       key [HEARTH_KEY_BYTES];
    char          node_id [HEARTH_NODE_ID_SIZE];
    char          short_id [HEARTH_SHORT_ID_SIZE];
    char          address [GOSSIP_MAX_ADDRESS];     /* "NODE_ID@tcp://..." or "" */
    char          endpoint [GOSSIP_MAX_ADDRESS];    /* out: what we dial */
    zsock_t      *dealer;                   /* owned (out) */
    zactor_t     *monitor;                  /* owned (out): zmonitor of dealer */
    uint64_t      redial_at_mono;           /* out: redial after a refusal, 0 = no */
    uint64_t      redial_backoff_ms;
    int           origin;                   /* out: S_ORIGIN_* (who gave us the address) */
    int           allowed;                  /* its key may exchange frames with us now
                                               (gossip_links_recheck); no frame goes or is read if 0 */
    int           barred;                   /* out: not dialled (disconnected) while not allowed */
    uint8_t       rid [GOSSIP_RID_MAX];     /* in: current routing id */
    size_t        rid_len;
    int           fd;                       /* in: TCP socket of its latest frame (ZMQ_SRCFD), -1 */
    struct sockaddr_storage fd_peer;        /* in: that socket's remote address, to recognise it */
    socklen_t     fd_peer_len;
    int           connected;
    int           lost;                     /* in: a send found it unroutable; the tick downs it */
    uint64_t      last_seen_ms;             /* wall ms of the last frame, 0 = never */
    uint64_t      last_recv_mono, last_send_mono;
    uint64_t      bytes_in, bytes_out, events_pushed, events_pulled;
    uint64_t      peer_head;
    int           head_known;
    uint32_t      peer_version;             /* link version from its hello, 0 = none yet */
    uint32_t      want_peer;                /* this link's peer id in owner->want */
    /*  Initiator session (ours) and its transfers. */
    gossip_session_t *init;                 /* owned, or NULL */
    int           init_probe;               /* v1 after a (re)connect: may switch to rateless
                                               after its first answer */
    int           riblt_declined;           /* the peer speaks v1 only */
    uint64_t      init_session;
    int           init_done;
    size_t        have_sent, need_sent;     /* cursors into the session's have/need ids */
    uint64_t      init_progress_mono;
    int           resync;                   /* reconcile again when idle */
    gossip_fetch_t     fetch [GOSSIP_FETCH_WINDOW];
    size_t        n_fetch;
    gossip_held_t     *held;                     /* owned: fetched, not yet stored */
    size_t        n_held, cap_held, held_bytes;
    uint8_t     **hold_blocks;              /* owned: the held events' bytes, packed */
    size_t        n_hold_blocks, cap_hold_blocks, hold_block_used;
    gossip_held_t     *inbox;                    /* owned: pushed events of this burst (group commit) */
    size_t        n_inbox, cap_inbox;
    /*  Responder session (theirs). */
    gossip_session_t *resp;                 /* owned, or NULL */
    uint64_t      resp_session;
    uint64_t      peer_sync_mono;           /* last neg/fetch from the peer: it is syncing with us */
    /*  A Negentropy message the send queue refused, per role (0 initiator,
        1 responder), sent again by the tick. */
    uint8_t      *neg_out [2];              /* owned copies, or NULL */
    size_t        neg_out_len [2];
    int           neg_out_kind [2];
    uint64_t      neg_out_session [2];
    /*  Requests of the peer waiting for its budget (gossip_budget.h): one
        reconciliation message (a newer one replaces it) and up to
        GOSSIP_BUDGET_HELD_FETCHES fetches, oldest first. */
    uint8_t      *neg_held;                 /* owned copy, or NULL */
    size_t        neg_held_len;
    uint64_t      neg_held_session;
    int           neg_held_open;
    gossip_fetch_held_t fetch_held [GOSSIP_BUDGET_HELD_FETCHES];
    size_t        n_fetch_held;
};

/*  Where the address of an out link came from. */
enum {
    GOSSIP_ORIGIN_CONFIG = 0,                    /* --peer, the config, gossip_peer_add */
    GOSSIP_ORIGIN_LEARNED,                       /* a peer's hello */
    GOSSIP_ORIGIN_DISCOVERED                     /* a LAN beacon */
};

/*  A connection of the listening socket awaiting its handshake verdict. */
typedef struct {
    int       fd;
    int       resolved;                     /* a verdict was credited to it */
} gossip_conn_t;

/*  A remote query admitted and waiting for its turn (served after the read
    burst it came in). */
typedef struct {
    int       ticket;                       /* gossip_admit ticket */
    uint8_t   key [HEARTH_KEY_BYTES];       /* the caller */
    uint8_t   rid [GOSSIP_RID_MAX];         /* its connection on the ROUTER */
    size_t    rid_len;
    uint64_t  request_id;
    uint64_t  budget_ms;
    char      capability [GOSSIP_WIRE_MAX_CAPABILITY + 1];
    char     *input;                        /* owned copy of input_json, or NULL = {} */
} gossip_query_t;

/*  Locally appended events waiting to be pushed (eager push). */
typedef struct {
    uint8_t  *wire;                         /* owned copy */
    size_t    len;
} gossip_pending_t;

/*  A received event's hash waiting to be announced (lazy push). */
typedef struct {
    uint8_t   hash [HEARTH_HASH_BYTES];
    uint8_t   origin [HEARTH_KEY_BYTES];    /* the key it came from: not announced back */
    uint64_t  queued_mono;
} gossip_announce_t;

struct _gossip_t {
    eventlog_t         *log;                /* borrowed */
    const identity_t   *id;                 /* borrowed */
    zloop_t            *loop;               /* borrowed */
    gossip_config_t     cfg;                /* copy; cfg.peers not kept */
    uint8_t             curve_pub [32];
    uint8_t            *curve_sec;          /* owned, sodium_malloc'd, 32 bytes */
    gossip_zap_t       *zap;                /* owned */
    zsock_t            *router;             /* owned, or NULL without listener */
    char                address [GOSSIP_MAX_ADDRESS];
    negentropy_store_t *store;              /* owned: backed by the log's order index */
    int                 store_stale;        /* store or encoder lost step with the log: rebuild */
    riblt_encoder_t    *encoder;            /* owned: rateless IBLT symbols of the same set */
    gossip_link_t          **links;              /* owned array of owned links */
    size_t              n_links, cap_links;
    gossip_stats_t      stats;
    gossip_query_fn    *query_fn;
    void               *query_arg;          /* borrowed */
    gossip_admit_t     *admit;              /* owned: limits of remote queries */
    gossip_budget_t    *budget;             /* owned: per-peer budget of responder work */
    gossip_query_t          *queries;            /* owned array: admitted, not yet served */
    size_t              n_queries, cap_queries;
    int                 tick_timer, sync_timer;
    uint64_t            next_id;            /* sessions, fetches, pings */
    gossip_pending_t        *pending;            /* owned array */
    size_t              n_pending, cap_pending;
    gossip_announce_t       *announce;           /* owned array: hashes to announce, oldest first */
    size_t              n_announce, cap_announce;
    int                 announce_timer;     /* one-shot zloop timer, -1 = not armed */
    gossip_want_t      *want;               /* owned: announced hashes we lack */
    uint32_t            next_want_peer;     /* want peer ids, one per link */
    int                 in_ingest;          /* inside our eventlog_ingest_from */
    zactor_t           *beacon;             /* owned: zbeacon, or NULL (discovery off) */
    char               *beacon_host;        /* owned: our IP as zbeacon sees it */
    zsock_t            *monitor;            /* owned: PAIR reading the router's socket monitor */
    char                learn_held [GOSSIP_LEARN_HELD][GOSSIP_MAX_ADDRESS];   /* oldest first */
    size_t              n_learn_held;
    gossip_conn_t            conns [GOSSIP_MONITOR_CONNS];   /* accepted, verdict awaited or credited */
    size_t              n_conns;
    uint64_t            failed_unclosed;    /* handshake failures whose close is still to come */
    uint64_t            recheck_mono;       /* last gossip_links_recheck by the tick */
    int                 recheck_due;        /* an invite arrived: re-check at the next tick */
};

/* ---- small helpers -------------------------------------------------------------- */

static uint64_t
gossip_head (gossip_t *self)
{
    return eventlog_stats (self->log)->lamport_head;
}

/*  May `key` talk to us now: a current member or a pending invitee. */
static int
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
static int
gossip_is_member (gossip_t *self, const uint8_t key [32])
{
    const membership_t *m = eventlog_membership (self->log);
    return m && membership_level (m, key) >= HEARTH__LEVEL__LEVEL_MEMBER;
}

static int
s_zap_admit (void *arg, const uint8_t key [32])
{
    gossip_t *self = (gossip_t *) arg;
    if (memcmp (key, identity_public_key (self->id), HEARTH_KEY_BYTES) == 0)
        return 1;                           /* our own key (hearthctl --node on this node) */
    return gossip_admitted (self, key);
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
static int
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
static void
gossip_links_recheck (gossip_t *self)
{
    self->recheck_due = 0;
    self->recheck_mono = hearth_mono_ms ();
    for (size_t i = 0; i < self->n_links; i++)
        self->links [i]->allowed = gossip_link_allowed (self, self->links [i]);
}

static void
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

/* ---- sending -------------------------------------------------------------------- */

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
        if (zmq_errno () == EHOSTUNREACH)
            l->lost = 1;                    /* gone; the tick downs it (not here: callers hold session state) */
    }
    if (rc < 0)
        return HEARTH_EUNAVAILABLE;
    l->bytes_out += len;
    self->stats.bytes_out += len;
    l->last_send_mono = hearth_mono_ms ();
    return 0;
}

static int
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
static void
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

static int
gossip_link_send_hello (gossip_link_t *l)
{
    gossip_t *self = l->owner;
    Hearth__GossipHello h = HEARTH__GOSSIP_HELLO__INIT;
    h.version = GOSSIP_WIRE_VERSION;
    h.head_lamport = gossip_head (self);
    h.event_count = eventlog_stats (self->log)->events_total;
    h.address = self->address;
    /*  Addresses of up to GOSSIP_HELLO_PEERS up peers other than l's. */
    char *peers [GOSSIP_HELLO_PEERS];
    size_t n_peers = 0;
    for (size_t i = 0; i < self->n_links && n_peers < GOSSIP_HELLO_PEERS; i++) {
        gossip_link_t *o = self->links [i];
        if (o->connected && o->allowed && *o->address && memcmp (o->key, l->key, HEARTH_KEY_BYTES) != 0)
            peers [n_peers++] = o->address;
    }
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
static int
gossip_link_send_events (gossip_link_t *l, int push, ProtobufCBinaryData *events, size_t n, uint64_t request_id, int last)
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

/*  Count a reconciliation message sent or received: all of them, and
    those of the rateless mode apart (every message of it starts with
    RIBLT_PROTOCOL_VERSION; a v1 decline of a rateless offer is v1). */
static void
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
static int
gossip_link_send_neg_held (gossip_link_t *l, int role, Hearth__GossipMessage__BodyCase kind, const uint8_t *msg,
                 size_t size, uint64_t session)
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
    return 0;
}

/*  The tick: send held Negentropy messages. */
static void
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

/* ---- links ---------------------------------------------------------------------- */

/*  End the link's sessions and transfers (on disconnect or a fault). */
static void
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

static void gossip_held_flush (gossip_link_t *l);
static void gossip_link_held_free (gossip_link_t *l);
static void gossip_inbox_flush (gossip_link_t *l);
static void gossip_pump_want (gossip_link_t *l);

static void
s_link_down (gossip_link_t *l)
{
    if (l->connected)
        hlog_info (S_LOG, "link %s %s down", l->outgoing? "to": "from", l->short_id);
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
    free (l->held);
    free (l->hold_blocks);
    for (size_t i = 0; i < l->n_inbox; i++)
        free (l->inbox [i].wire);
    free (l->inbox);
    if (l->monitor) {
        zloop_reader_end (self->loop, (zsock_t *) l->monitor);
        zactor_destroy (&l->monitor);
    }
    if (l->dealer) {
        zloop_reader_end (self->loop, l->dealer);
        zsock_destroy (&l->dealer);
    }
    free (l);
    *l_p = NULL;
}

static int
gossip_links_append (gossip_t *self, gossip_link_t *l)
{
    if (self->n_links == self->cap_links) {
        size_t cap = self->cap_links? self->cap_links * 2: 16;
        gossip_link_t **p = (gossip_link_t **) realloc (self->links, cap * sizeof *p);
        if (!p)
            return HEARTH_ENOMEM;
        self->links = p;
        self->cap_links = cap;
    }
    self->links [self->n_links++] = l;
    return 0;
}

static gossip_link_t *
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

static gossip_link_t *
gossip_link_find (gossip_t *self, int outgoing, const uint8_t key [32])
{
    for (size_t i = 0; i < self->n_links; i++) {
        gossip_link_t *l = self->links [i];
        if (l->outgoing == outgoing && memcmp (l->key, key, HEARTH_KEY_BYTES) == 0)
            return l;
    }
    return NULL;
}

/* ---- reconciliation: initiator ---------------------------------------------------- */

static void gossip_sync_pump (gossip_link_t *l);
static int gossip_peer_dial (gossip_t *self, const char *address, int origin);
static void s_out_bar (gossip_link_t *l, const char *why);

/*  Why a session starts; the mode follows from it and cfg.reconcile. */
typedef enum {
    GOSSIP_SYNC_CONNECT,                         /* a (re)connect: head differences, or scattered */
    GOSSIP_SYNC_PERIODIC,                        /* the periodic check: stragglers at random places */
    GOSSIP_SYNC_SCATTERED,                       /* a (re)connect's v1 round found scattered differences */
    GOSSIP_SYNC_REPAIR                           /* a fault, a dependency retry, you_lack, a fallback */
} gossip_sync_reason_t;

/*  Start a session for `why` on an up link unless one runs: v1 for
    repairs, for a peer that declined the rateless mode before and with
    cfg.reconcile v1; otherwise as GOSSIP_RECONCILE_AUTO / _RATELESS say. */
static void s_store_rebuild (gossip_t *self);

/*  A store query's own error (a page read that disagrees with its summary,
    or a failed read: never caused by a peer's message): log it, rebuild
    the store at the next tick. True if rc was such an error. */
static int
gossip_store_trouble (gossip_t *self, int rc)
{
    if (rc != HEARTH_ECORRUPT && rc != HEARTH_EIO)
        return 0;
    hearth_log_limited (HEARTH_LOG_ERROR, S_LOG, "store.trouble",
                        "reconciliation store disagrees with the log (%s): rebuilding",
                        hearth_strerror (rc));
    self->store_stale = 1;
    return 1;
}

/*  Split the store's grown pages, now that the log holds exactly what was
    inserted. ENOMEM leaves them grown (still correct) for the next call. */
static void
gossip_store_settle (gossip_t *self)
{
    int rc = negentropy_store_settle (self->store);
    if (rc && rc != HEARTH_ENOMEM)
        gossip_store_trouble (self, rc);
}

static void
gossip_sync_start (gossip_link_t *l, gossip_sync_reason_t why)
{
    gossip_t *self = l->owner;
    if (!l->connected || l->init)
        return;
    gossip_session_mode_t mode = GOSSIP_SESSION_V1;
    int probe = 0;
    if (self->encoder && !l->riblt_declined && why != GOSSIP_SYNC_REPAIR) {
        if (why != GOSSIP_SYNC_CONNECT || self->cfg.reconcile == GOSSIP_RECONCILE_RATELESS)
            mode = GOSSIP_SESSION_RIBLT;
        else
            probe = 1;                      /* v1 first, rateless if scattered */
    }
    l->resync = 0;
    const uint8_t *msg;
    size_t size;
    l->init = gossip_session_initiate (mode, self->store, self->encoder, GOSSIP_NEG_FRAME_LIMIT, &msg, &size);
    if (!l->init) {
        l->resync = 1;
        return;
    }
    l->init_session = ++self->next_id;
    l->init_probe = probe;
    l->init_done = 0;
    l->have_sent = l->need_sent = 0;
    l->n_fetch = 0;
    l->init_progress_mono = hearth_mono_ms ();
    if (gossip_link_send_neg_held (l, 0, HEARTH__GOSSIP_MESSAGE__BODY_NEG_OPEN, msg, size, l->init_session) != 0) {
        gossip_session_destroy (&l->init);
        l->resync = 1;
    }
}

/*  Abandon the initiator session and its transfers; reconcile again later. */
static void
gossip_sync_abandon (gossip_link_t *l, const char *why)
{
    hearth_log_limited (HEARTH_LOG_WARN, S_LOG, "session.abandon",
                        "reconciliation with %s abandoned: %s", l->short_id, why);
    gossip_held_flush (l);
    gossip_session_destroy (&l->init);
    l->n_fetch = 0;
    l->resync = 1;
}

static void
gossip_on_neg_reply (gossip_link_t *l, const Hearth__GossipNeg *n)
{
    gossip_t *self = l->owner;
    if (!l->init || l->init_done || n->session != l->init_session)
        return;                             /* stale: a session we ended */
    if (n->msg.len == 0) {                  /* the peer could not answer: again later */
        gossip_sync_abandon (l, "the peer could not answer");
        return;
    }
    gossip_count_neg (self, n->msg.data, n->msg.len);
    self->stats.reconcile_round_trips++;
    const uint8_t *reply;
    size_t size;
    int rc = gossip_session_reconcile (l->init, n->msg.data, n->msg.len, &reply, &size);
    if (rc != 0 && gossip_session_mode (l->init) == GOSSIP_SESSION_RIBLT
    &&  (rc == HEARTH_ESCHEMA || rc == HEARTH_ECAPACITY)) {
        /*  v1-only peer, or a difference too large for the rateless mode. */
        l->riblt_declined |= rc == HEARTH_ESCHEMA;
        self->stats.reconcile_fallbacks++;
        gossip_session_destroy (&l->init);
        gossip_sync_start (l, GOSSIP_SYNC_REPAIR);
        return;
    }
    if (rc != 0) {
        if (!gossip_store_trouble (self, rc))
            self->stats.frames_dropped++;
        gossip_sync_abandon (l, hearth_strerror (rc));
        return;
    }
    l->init_progress_mono = hearth_mono_ms ();
    if (l->init_probe) {
        /*  The first answer to a (re)connect's v1 opening: differences
            scattered over the older part of the order, with a head that
            hardly differs, go to the rateless mode (what v1 found so far
            is found again there). */
        l->init_probe = 0;
        uint64_t old_ranges, head_ids;
        gossip_session_spread (l->init, &old_ranges, &head_ids);
        if (reply && old_ranges >= GOSSIP_SCATTERED_RANGES && head_ids < GOSSIP_HEAD_IDS_MAX) {
            self->stats.reconcile_switches++;
            gossip_session_destroy (&l->init);
            gossip_sync_start (l, GOSSIP_SYNC_SCATTERED);
            return;
        }
    }
    size_t n_need;
    gossip_session_need_ids (l->init, &n_need);
    if (reply && n_need >= GOSSIP_NEED_MAX && gossip_session_mode (l->init) == GOSSIP_SESSION_V1) {
        reply = NULL;                       /* enough for now: fetch, then a new session */
        l->resync = 1;
    }
    if (reply) {
        if (gossip_link_send_neg_held (l, 0, HEARTH__GOSSIP_MESSAGE__BODY_NEG_MSG, reply, size, l->init_session) != 0) {
            gossip_sync_abandon (l, "out of memory");
            return;
        }
    }
    else {
        /*  Few "have" events: push them. Many (the peer is far behind):
            ask it to initiate and pull them at its own pace. */
        size_t n_have;
        gossip_session_have_ids (l->init, &n_have);
        Hearth__GossipNegDone d = HEARTH__GOSSIP_NEG_DONE__INIT;
        d.session = l->init_session;
        if (n_have > GOSSIP_PUSH_HAVE_MAX) {
            d.you_lack = n_have;
            l->have_sent = n_have;
        }
        Hearth__GossipMessage m = HEARTH__GOSSIP_MESSAGE__INIT;
        m.body_case = HEARTH__GOSSIP_MESSAGE__BODY_NEG_DONE;
        m.neg_done = &d;
        gossip_link_send (l, &m);                     /* best effort: the responder also frees on the next open */
        l->init_done = 1;
        self->stats.reconcile_rounds++;
        self->stats.reconcile_rateless += gossip_session_mode (l->init) == GOSSIP_SESSION_RIBLT;
        self->stats.last_sync_ms = hearth_now_ms ();
    }
    gossip_sync_pump (l);
}

/*  Push the session's new "have" events, paced by the send queue. */
static void
s_pump_have (gossip_link_t *l)
{
    gossip_t *self = l->owner;
    if (!l->init_done)
        return;                             /* decided at the end: push or let the peer pull */
    size_t n_have;
    const uint8_t *have = gossip_session_have_ids (l->init, &n_have);
    while (l->have_sent < n_have) {
        ProtobufCBinaryData batch [GOSSIP_FETCH_BATCH];
        size_t n = 0, bytes = 0, next = l->have_sent;
        while (next < n_have && n < GOSSIP_FETCH_BATCH) {
            uint8_t *wire;
            size_t len;
            if (eventlog_get_wire (self->log, have + next * 32, &wire, &len) != 0) {
                next++;                     /* cannot happen for our own ids; skip */
                continue;
            }
            if (n > 0 && bytes + len > GOSSIP_BATCH_BYTES) {
                free (wire);
                break;
            }
            batch [n].data = wire;
            batch [n].len = len;
            n++;
            bytes += len;
            next++;
        }
        int rc = n? gossip_link_send_events (l, 1, batch, n, 0, 0): 0;
        for (size_t i = 0; i < n; i++)
            free (batch [i].data);
        if (rc != 0)
            return;                         /* queue full: the tick resumes */
        l->have_sent = next;
        l->events_pushed += n;
        self->stats.events_pushed += n;
        l->init_progress_mono = hearth_mono_ms ();
    }
}

/*  Request the session's "need" hashes, at most GOSSIP_FETCH_WINDOW fetches
    outstanding. */
static void
s_pump_need (gossip_link_t *l)
{
    gossip_t *self = l->owner;
    size_t n_need;
    const uint8_t *need = gossip_session_need_ids (l->init, &n_need);
    while (l->n_fetch < GOSSIP_FETCH_WINDOW && l->need_sent < n_need) {
        ProtobufCBinaryData hashes [GOSSIP_FETCH_BATCH];
        size_t n = 0, next = l->need_sent;
        while (next < n_need && n < GOSSIP_FETCH_BATCH) {
            const uint8_t *h = need + next * 32;
            next++;
            if (eventlog_has_hash (self->log, h) == 1 || gossip_want_requested (self->want, h))
                continue;                   /* arrived meanwhile, or asked of a peer already */
            hashes [n].data = (uint8_t *) h;
            hashes [n].len = 32;
            n++;
        }
        if (n == 0) {
            l->need_sent = next;
            continue;
        }
        Hearth__GossipFetch f = HEARTH__GOSSIP_FETCH__INIT;
        f.hashes = hashes;
        f.n_hashes = n;
        f.request_id = ++self->next_id;
        Hearth__GossipMessage m = HEARTH__GOSSIP_MESSAGE__INIT;
        m.body_case = HEARTH__GOSSIP_MESSAGE__BODY_FETCH;
        m.fetch = &f;
        if (gossip_link_send (l, &m) != 0)
            return;                         /* queue full: the tick resumes */
        /*  On their way from l: other sessions and announcements skip
            them; unanswered, they move on like announced ones. */
        uint64_t now = hearth_mono_ms ();
        for (size_t i = 0; i < n; i++)
            gossip_want_claim (self->want, l->want_peer, f.request_id, now, hashes [i].data);
        l->need_sent = next;
        l->fetch [l->n_fetch].id = f.request_id;
        l->fetch [l->n_fetch].sent_mono = hearth_mono_ms ();
        l->n_fetch++;
    }
}

/*  Move the initiator's transfers on; end the session when all is done. */
static void
gossip_sync_pump (gossip_link_t *l)
{
    if (!l->init || !l->connected)
        return;
    s_pump_have (l);
    s_pump_need (l);
    size_t n_have, n_need;
    gossip_session_have_ids (l->init, &n_have);
    gossip_session_need_ids (l->init, &n_need);
    if (l->init_done && l->have_sent == n_have && l->need_sent == n_need && l->n_fetch == 0)
        gossip_session_destroy (&l->init);
}

/* ---- reconciliation: responder ---------------------------------------------------- */

/*  Answer one reconciliation message of the peer (its budget allowed it). */
static void
s_neg_serve (gossip_link_t *l, const uint8_t *msg, size_t len, uint64_t session, int open)
{
    gossip_t *self = l->owner;
    if (open) {
        gossip_session_destroy (&l->resp);
        l->resp = gossip_session_respond (msg [0], self->store, self->encoder, GOSSIP_NEG_FRAME_LIMIT);
        l->resp_session = session;
        if (!l->resp)
            return;
    }
    else
    if (!l->resp || session != l->resp_session)
        return;                             /* a session we no longer hold */
    gossip_count_neg (self, msg, len);
    const uint8_t *reply;
    size_t size;
    int rc = gossip_session_reconcile (l->resp, msg, len, &reply, &size);
    if (rc != 0 && gossip_store_trouble (self, rc)) {
        /*  Our fault, not the message's: an empty reply tells the initiator
            to end the session and come back (proto: GossipNeg). */
        static const uint8_t none [1];
        gossip_link_send_neg_held (l, 1, HEARTH__GOSSIP_MESSAGE__BODY_NEG_REPLY, none, 0, l->resp_session);
        gossip_session_destroy (&l->resp);
        return;
    }
    if (rc != 0 || !reply) {
        self->stats.frames_dropped++;
        hearth_log_limited (HEARTH_LOG_WARN, S_LOG, "neg.bad",
                            "bad reconciliation message from %s: %s", l->short_id, hearth_strerror (rc));
        gossip_session_destroy (&l->resp);
        return;
    }
    l->peer_sync_mono = hearth_mono_ms ();
    gossip_budget_set_items (self->budget, negentropy_store_size (self->store));
    gossip_budget_reply (self->budget, l->key, size, l->peer_sync_mono);
    if (gossip_link_send_neg_held (l, 1, HEARTH__GOSSIP_MESSAGE__BODY_NEG_REPLY, reply, size, l->resp_session) != 0)
        gossip_session_destroy (&l->resp);      /* the initiator times out and retries */
}

/*  The held reconciliation message, if its budget allows it now. */
static void
gossip_neg_pump (gossip_link_t *l)
{
    if (!l->neg_held
    ||  gossip_budget_ask (l->owner->budget, l->key, l->neg_held_open? GOSSIP_BUDGET_OPEN: GOSSIP_BUDGET_ROUND,
                           hearth_mono_ms (), NULL) != GOSSIP_BUDGET_GO)
        return;
    uint8_t *msg = l->neg_held;
    l->neg_held = NULL;
    s_neg_serve (l, msg, l->neg_held_len, l->neg_held_session, l->neg_held_open);
    free (msg);
}

/*  A reconciliation message from the peer: answered now if its budget
    allows (gossip_budget.h), else held for the tick; a newer message
    replaces a held one (an honest initiator sends one at a time). */
static void
gossip_on_neg (gossip_link_t *l, const Hearth__GossipNeg *n, int open)
{
    gossip_t *self = l->owner;
    if (!open && !(l->resp && n->session == l->resp_session)
    &&  !(l->neg_held && n->session == l->neg_held_session))
        return;                             /* a session we no longer hold */
    if (!l->neg_held
    &&  gossip_budget_ask (self->budget, l->key, open? GOSSIP_BUDGET_OPEN: GOSSIP_BUDGET_ROUND,
                           hearth_mono_ms (), NULL) == GOSSIP_BUDGET_GO) {
        s_neg_serve (l, n->msg.data, n->msg.len, n->session, open);
        return;
    }
    if (l->neg_held) {
        gossip_budget_refused (self->budget, GOSSIP_BUDGET_REASON_SUPERSEDED);
        free (l->neg_held);
    }
    l->neg_held = (uint8_t *) malloc (n->msg.len? n->msg.len: 1);
    if (!l->neg_held)
        return;                             /* the initiator times out and retries */
    memcpy (l->neg_held, n->msg.data, n->msg.len);
    l->neg_held_len = n->msg.len;
    l->neg_held_session = n->session;
    l->neg_held_open = open;
    if (open)
        gossip_session_destroy (&l->resp);  /* the peer has moved on from it */
}

/* ---- events in ------------------------------------------------------------------ */

static void gossip_flush_pending (gossip_t *self);

/*  Store frames received on l (one ingest call, origin l). Events refused
    because their membership context is missing (not a member yet, a join
    before its invite) while others were accepted: reconcile again soon, the
    missing context may have just arrived. */
static void
s_ingest_frames (gossip_link_t *l, const uint8_t **frames, const size_t *lens, size_t n)
{
    gossip_t *self = l->owner;
    if (n == 0)
        return;
    event_reject_t *codes = (event_reject_t *) malloc (n * sizeof *codes);
    eventlog_ingest_result_t result;
    self->in_ingest = 1;
    int rc = eventlog_ingest_from (self->log, frames, lens, n, l, &result, codes);
    self->in_ingest = 0;
    if (rc != 0)
        hlog_error (S_LOG, "storing %zu events from %s failed: %s", n, l->short_id, hearth_strerror (rc));
    self->stats.events_received += n;
    self->stats.events_duplicate += result.rejected [EVENT_REJECT_DUPLICATE];
    size_t context = 0;
    for (size_t i = 0; codes && rc == 0 && i < n; i++)
        context += codes [i] == EVENT_REJECT_MEMBERSHIP || codes [i] == EVENT_REJECT_TYPE_RULE;
    if (context && result.accepted)
        l->resync = 1;
    free (codes);
    gossip_store_settle (self);                  /* the log holds exactly what the hook inserted */
    gossip_flush_pending (self);
}

/*  Store the pushed events gathered in this read burst in one ingest call
    (one write for all, unsynced: eventlog.h "Durability"). */
static void
gossip_inbox_flush (gossip_link_t *l)
{
    if (l->n_inbox == 0)
        return;
    const uint8_t **frames = (const uint8_t **) malloc (l->n_inbox * sizeof *frames);
    size_t *lens = (size_t *) malloc (l->n_inbox * sizeof *lens);
    if (frames && lens) {
        for (size_t i = 0; i < l->n_inbox; i++) {
            frames [i] = l->inbox [i].wire;
            lens [i] = l->inbox [i].len;
        }
        s_ingest_frames (l, frames, lens, l->n_inbox);
    }
    free (frames);
    free (lens);
    for (size_t i = 0; i < l->n_inbox; i++)
        free (l->inbox [i].wire);
    l->n_inbox = 0;
}

static void
gossip_on_push (gossip_link_t *l, const Hearth__GossipEvents *ev)
{
    for (size_t i = 0; i < ev->n_events; i++) {
        if (l->n_inbox == l->cap_inbox) {
            size_t cap = l->cap_inbox? l->cap_inbox * 2: 64;
            gossip_held_t *p = (gossip_held_t *) realloc (l->inbox, cap * sizeof *p);
            if (!p)
                return;                     /* dropped; reconciliation repairs */
            l->inbox = p;
            l->cap_inbox = cap;
        }
        gossip_held_t *h = &l->inbox [l->n_inbox];
        h->wire = (uint8_t *) malloc (ev->events [i].len + 1);
        if (!h->wire)
            return;
        memcpy (h->wire, ev->events [i].data, ev->events [i].len);
        h->len = ev->events [i].len;
        h->lamport = 0;
        h->decoded = 0;
        l->n_inbox++;
    }
}

static int
s_held_cmp (const void *a, const void *b)
{
    uint64_t x = ((const gossip_held_t *) a)->lamport, y = ((const gossip_held_t *) b)->lamport;
    return x < y? -1: x > y;
}

static void
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

/*  Store the held events in lamport order. */
static void
gossip_held_flush (gossip_link_t *l)
{
    if (l->n_held == 0)
        return;
    qsort (l->held, l->n_held, sizeof *l->held, s_held_cmp);
    const uint8_t **frames = (const uint8_t **) malloc (l->n_held * sizeof *frames);
    size_t *lens = (size_t *) malloc (l->n_held * sizeof *lens);
    if (frames && lens) {
        for (size_t i = 0; i < l->n_held; i++) {
            frames [i] = l->held [i].wire;
            lens [i] = l->held [i].len;
        }
        s_ingest_frames (l, frames, lens, l->n_held);
    }
    free (frames);
    free (lens);
    size_t bytes = l->held_bytes;
    gossip_link_held_free (l);
    if (bytes >= GOSSIP_RELEASE_BYTES)
        hearth_memory_release ();           /* a wave of a join: hand the freed heap back */
}

/*  len bytes in the link's hold blocks (a new block when the last one is
    full), or NULL if out of memory or len exceeds a block. Freed with the
    blocks by gossip_link_held_free. */
static uint8_t *
s_hold_alloc (gossip_link_t *l, size_t len)
{
    if (len > GOSSIP_HOLD_BLOCK_BYTES)
        return NULL;
    if (l->n_hold_blocks == 0 || GOSSIP_HOLD_BLOCK_BYTES - l->hold_block_used < len) {
        if (l->n_hold_blocks == l->cap_hold_blocks) {
            size_t cap = l->cap_hold_blocks? l->cap_hold_blocks * 2: 16;
            uint8_t **p = (uint8_t **) realloc (l->hold_blocks, cap * sizeof *p);
            if (!p)
                return NULL;
            l->hold_blocks = p;
            l->cap_hold_blocks = cap;
        }
        uint8_t *block = (uint8_t *) malloc (GOSSIP_HOLD_BLOCK_BYTES);
        if (!block)
            return NULL;
        l->hold_blocks [l->n_hold_blocks++] = block;
        l->hold_block_used = 0;
    }
    uint8_t *p = l->hold_blocks [l->n_hold_blocks - 1] + l->hold_block_used;
    l->hold_block_used += len;
    return p;
}

/*  Hold one fetched event (copied); events that do not decode are held at
    lamport 0 and refused (and counted) by the log. */
static void
gossip_hold (gossip_link_t *l, const uint8_t *wire, size_t len)
{
    if (l->n_held == l->cap_held) {
        size_t cap = l->cap_held? l->cap_held * 2: 256;
        gossip_held_t *p = (gossip_held_t *) realloc (l->held, cap * sizeof *p);
        if (!p)
            return;                         /* dropped; reconciliation fetches it again */
        l->held = p;
        l->cap_held = cap;
    }
    gossip_held_t *h = &l->held [l->n_held];
    h->wire = s_hold_alloc (l, len);
    if (!h->wire)
        return;                             /* dropped; reconciliation fetches it again */
    memcpy (h->wire, wire, len);
    h->len = len;
    event_reject_t reason;
    event_t *ev = event_decode (wire, len, &reason);
    h->lamport = ev? event_lamport (ev): 0;
    h->decoded = ev != NULL;
    if (ev) {
        memcpy (h->hash, event_hash (ev), HEARTH_HASH_BYTES);
        gossip_want_in_hand (l->owner->want, h->hash);  /* nobody is asked for it again */
    }
    event_destroy (&ev);
    l->n_held++;
    l->held_bytes += len;
}

static void
gossip_on_events (gossip_link_t *l, const Hearth__GossipEvents *ev)
{
    gossip_t *self = l->owner;
    for (size_t i = 0; i < ev->n_events; i++)
        gossip_hold (l, ev->events [i].data, ev->events [i].len);
    self->stats.events_pulled += ev->n_events;
    l->events_pulled += ev->n_events;
    if (l->held_bytes >= GOSSIP_REORDER_BYTES)
        gossip_held_flush (l);
    /*  An answer to a fetch the want table tracks (announced or claimed
        hashes): progress, and on the last frame what it lacked moves to
        another announcer. */
    int announced = gossip_want_answered (self->want, l->want_peer, ev->request_id, ev->last,
                                          hearth_mono_ms ());
    if (!ev->last)
        return;
    if (announced)
        gossip_pump_want (l);                    /* a window slot is free */
    for (size_t i = 0; i < l->n_fetch; i++)
        if (l->fetch [i].id == ev->request_id) {
            l->fetch [i] = l->fetch [--l->n_fetch];
            l->init_progress_mono = hearth_mono_ms ();
            break;
        }
    gossip_sync_pump (l);
    if (l->n_fetch == 0)
        gossip_held_flush (l);                   /* nothing more on its way: store what we have */
}

/*  Answer the held fetches in order with the events we have, in frames of
    GOSSIP_BATCH_BYTES, the last frame of each carrying `last`, as far as
    the peer's budget goes (gossip_budget.h): an answer cut by it goes on
    at a later tick. A full queue ends an answer early: the requester's
    timeout redoes the transfer. */
static void
gossip_fetch_pump (gossip_link_t *l)
{
    gossip_t *self = l->owner;
    while (l->n_fetch_held > 0) {
        gossip_fetch_held_t *h = &l->fetch_held [0];
        uint64_t now = hearth_mono_ms ();
        if (gossip_budget_ask (self->budget, l->key, GOSSIP_BUDGET_FETCH, now, NULL) != GOSSIP_BUDGET_GO)
            return;
        ProtobufCBinaryData batch [GOSSIP_FETCH_BATCH];
        size_t n = 0, bytes = 0;
        int rc = 0, cut = 0;
        while (h->next < h->n && rc == 0) {
            if (!gossip_budget_event_ok (self->budget, l->key, now)) {
                cut = 1;
                break;
            }
            uint8_t *wire;
            size_t len;
            if (eventlog_get_wire (self->log, h->hashes + h->next * 32, &wire, &len) != 0) {
                h->next++;
                continue;
            }
            if (n > 0 && bytes + len > GOSSIP_BATCH_BYTES) {
                rc = gossip_link_send_events (l, 0, batch, n, h->request_id, 0);
                for (size_t k = 0; k < n; k++)
                    free (batch [k].data);
                n = bytes = 0;
            }
            gossip_budget_event (self->budget, l->key, len, now);
            batch [n].data = wire;
            batch [n].len = len;
            n++;
            bytes += len;
            h->next++;
        }
        if (rc == 0 && (n > 0 || !cut))
            rc = gossip_link_send_events (l, 0, batch, n, h->request_id, !cut);
        for (size_t k = 0; k < n; k++)
            free (batch [k].data);
        if (cut && rc == 0)
            return;                         /* the rest when the budget allows */
        free (h->hashes);
        memmove (&l->fetch_held [0], &l->fetch_held [1], --l->n_fetch_held * sizeof *h);
    }
}

/*  A fetch from the peer: queued behind the held ones and answered as far
    as its budget goes; beyond GOSSIP_BUDGET_HELD_FETCHES refused unanswered
    (counted; an honest peer never has that many outstanding, and its
    timeout would ask again). */
static void
gossip_on_fetch (gossip_link_t *l, const Hearth__GossipFetch *f)
{
    gossip_t *self = l->owner;
    if (l->n_fetch_held == GOSSIP_BUDGET_HELD_FETCHES) {
        gossip_budget_refused (self->budget, GOSSIP_BUDGET_REASON_HELD_FULL);
        return;
    }
    gossip_fetch_held_t *h = &l->fetch_held [l->n_fetch_held];
    h->hashes = (uint8_t *) malloc (f->n_hashes? f->n_hashes * 32: 1);
    if (!h->hashes)
        return;
    h->n = h->next = 0;
    h->request_id = f->request_id;
    for (size_t i = 0; i < f->n_hashes; i++)
        if (f->hashes [i].len == 32)
            memcpy (h->hashes + 32 * h->n++, f->hashes [i].data, 32);
    l->n_fetch_held++;
    gossip_fetch_pump (l);
}

/* ---- eager push, lazy push -------------------------------------------------------- */

static void gossip_flush_announce (gossip_t *self);

static int
s_on_announce_timer (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    gossip_t *self = (gossip_t *) arg;
    self->announce_timer = -1;              /* one-shot: zloop has dropped it */
    gossip_flush_announce (self);
    return 0;
}

/*  Arm the one-shot announce timer for when the oldest queued hash is due. */
static void
s_announce_arm (gossip_t *self)
{
    if (self->announce_timer >= 0 || self->n_announce == 0)
        return;
    uint64_t age = hearth_mono_ms () - self->announce [0].queued_mono;
    size_t delay = age < GOSSIP_ANNOUNCE_DELAY_MS? (size_t) (GOSSIP_ANNOUNCE_DELAY_MS - age): 1;
    self->announce_timer = zloop_timer (self->loop, delay, 1, s_on_announce_timer, self);
    /*  On failure (-1) the tick flushes instead. */
}

static int s_has_push_target (gossip_t *self, const gossip_link_t *origin);

/*  Queue a received event's hash for announcement, unless no up link
    would get it (a link that comes up later reconciles on its handshake).
    A full queue drops it and has every link reconcile instead. */
static void
s_announce_queue (gossip_t *self, const uint8_t hash [32], const gossip_link_t *origin)
{
    if (!s_has_push_target (self, origin))
        return;                             /* nobody to announce it to (a join from our only
                                               peer): no entry (heaptrack of a 1M join: 1.2 MB) */
    if (self->n_announce == self->cap_announce) {
        size_t cap = self->cap_announce? self->cap_announce * 2: 256;
        gossip_announce_t *p = cap <= GOSSIP_ANNOUNCE_QUEUE_MAX?
                          (gossip_announce_t *) realloc (self->announce, cap * sizeof *p): NULL;
        if (!p) {
            for (size_t i = 0; i < self->n_links; i++)
                self->links [i]->resync = 1;
            hearth_log_limited (HEARTH_LOG_WARN, S_LOG, "announce.full",
                                "announce queue full (%zu hashes): reconciling with every peer instead",
                                self->n_announce);
            return;
        }
        self->announce = p;
        self->cap_announce = cap;
    }
    gossip_announce_t *a = &self->announce [self->n_announce++];
    memcpy (a->hash, hash, HEARTH_HASH_BYTES);
    memcpy (a->origin, origin->key, HEARTH_KEY_BYTES);
    a->queued_mono = hearth_mono_ms ();
    s_announce_arm (self);
}

static int s_push_target (gossip_t *self, const gossip_link_t *l);

/*  True if an event from origin (NULL: a local append) would be pushed to
    at least one link. */
static int
s_has_push_target (gossip_t *self, const gossip_link_t *origin)
{
    for (size_t li = 0; li < self->n_links; li++) {
        const gossip_link_t *l = self->links [li];
        if (s_push_target (self, l)
        && !(origin && memcmp (origin->key, l->key, HEARTH_KEY_BYTES) == 0))
            return 1;
    }
    return 0;
}

static void
gossip_accept_hook (void *arg, const event_t *ev, const void *origin)
{
    gossip_t *self = (gossip_t *) arg;
    int rc = negentropy_store_insert (self->store, event_lamport (ev), event_hash (ev));
    if (rc == 0) {
        if (self->encoder)                  /* none with reconcile = v1 */
            riblt_encoder_add (self->encoder, event_hash (ev));  /* once per id: never for a duplicate */
    }
    else
    if (rc != HEARTH_EDUPLICATE) {
        hlog_error (S_LOG, "reconciliation store insert failed: %s", hearth_strerror (rc));
        self->store_stale = 1;              /* the log has an item the store lacks */
    }
    gossip_want_arrived (self->want, event_hash (ev));
    /*  Membership changed: an event that may narrow who may talk re-checks
        every link before anything else is sent (this event's own push
        included); an invite only widens it, so the tick does. */
    Hearth__EventType type = event_body (ev)->type;
    if (type == HEARTH__EVENT_TYPE__COMMUNITY_CREATED || type == HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_JOINED
    ||  type == HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_REVOKED)
        gossip_links_recheck (self);
    else
    if (type == HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_INVITED)
        self->recheck_due = 1;
    if (origin) {
        /*  Received from a peer: announce it, never forward it in full. */
        s_announce_queue (self, event_hash (ev), (const gossip_link_t *) origin);
        return;
    }
    if (!s_has_push_target (self, NULL))
        return;                             /* no link up: nothing to push to, no copy */
    if (self->n_pending == self->cap_pending) {
        size_t cap = self->cap_pending? self->cap_pending * 2: 64;
        gossip_pending_t *p = (gossip_pending_t *) realloc (self->pending, cap * sizeof *p);
        if (!p)
            return;                         /* no push; reconciliation repairs */
        self->pending = p;
        self->cap_pending = cap;
    }
    size_t len;
    const uint8_t *wire = event_wire (ev, &len);
    gossip_pending_t *p = &self->pending [self->n_pending];
    p->wire = (uint8_t *) malloc (len);
    if (!p->wire)
        return;
    memcpy (p->wire, wire, len);
    p->len = len;
    self->n_pending++;
    if (!self->in_ingest)
        gossip_flush_pending (self);             /* a local append: push at once */
}

/*  The link to push to for l's key: l itself unless it is inbound and the
    peer also has an up out link. */
static int
s_push_target (gossip_t *self, const gossip_link_t *l)
{
    if (!l->connected)
        return 0;
    if (l->outgoing)
        return 1;
    const gossip_link_t *out = gossip_link_find (self, 1, l->key);
    return !(out && out->connected);
}

static void
gossip_flush_pending (gossip_t *self)
{
    if (self->n_pending == 0)
        return;
    ProtobufCBinaryData *batch = (ProtobufCBinaryData *) malloc (self->n_pending * sizeof *batch);
    for (size_t li = 0; batch && li < self->n_links; li++) {
        gossip_link_t *l = self->links [li];
        if (!s_push_target (self, l))
            continue;
        size_t n = 0, bytes = 0;
        for (size_t i = 0; i <= self->n_pending; i++) {
            const gossip_pending_t *p = i < self->n_pending? &self->pending [i]: NULL;
            int flush = !p || (n > 0 && bytes + p->len > GOSSIP_BATCH_BYTES);
            if (flush && n > 0) {
                if (gossip_link_send_events (l, 1, batch, n, 0, 0) == 0) {
                    l->events_pushed += n;
                    self->stats.events_pushed += n;
                }
                else
                    l->resync = 1;          /* dropped: reconcile when idle */
                n = bytes = 0;
            }
            if (!p)
                continue;
            batch [n].data = p->wire;
            batch [n].len = p->len;
            n++;
            bytes += p->len;
        }
    }
    free (batch);
    for (size_t i = 0; i < self->n_pending; i++)
        free (self->pending [i].wire);
    self->n_pending = 0;
}

/*  Announce the first `due` queued hashes to l, except those that came
    from l's key, in frames of up to GOSSIP_WIRE_MAX_ANNOUNCE. A refused
    send drops the rest for l, which then reconciles. */
static void
s_announce_to (gossip_link_t *l, size_t due)
{
    gossip_t *self = l->owner;
    ProtobufCBinaryData hashes [GOSSIP_WIRE_MAX_ANNOUNCE];
    size_t n = 0;
    for (size_t i = 0; i <= due; i++) {
        const gossip_announce_t *a = i < due? &self->announce [i]: NULL;
        if ((!a && n > 0) || n == GOSSIP_WIRE_MAX_ANNOUNCE) {
            Hearth__GossipAnnounce an = HEARTH__GOSSIP_ANNOUNCE__INIT;
            an.hashes = hashes;
            an.n_hashes = n;
            Hearth__GossipMessage m = HEARTH__GOSSIP_MESSAGE__INIT;
            m.body_case = HEARTH__GOSSIP_MESSAGE__BODY_ANNOUNCE;
            m.announce = &an;
            if (gossip_link_send (l, &m) != 0) {
                l->resync = 1;              /* dropped: reconcile when idle */
                return;
            }
            gossip_budget_owe (self->budget, l->key, n, hearth_mono_ms ());   /* it may fetch them */
            self->stats.announce_sent += n;
            n = 0;
        }
        if (!a || memcmp (a->origin, l->key, HEARTH_KEY_BYTES) == 0)
            continue;
        hashes [n].data = (uint8_t *) a->hash;
        hashes [n].len = HEARTH_HASH_BYTES;
        n++;
    }
}

/*  A version-1 peer knows no announcements: push it the first `due` queued
    events in full (read back from the log), except those from its key. */
static void
s_announce_to_v1 (gossip_link_t *l, size_t due)
{
    gossip_t *self = l->owner;
    ProtobufCBinaryData batch [GOSSIP_FETCH_BATCH];
    size_t n = 0, bytes = 0;
    int rc = 0;
    for (size_t i = 0; i <= due && rc == 0; i++) {
        const gossip_announce_t *a = i < due? &self->announce [i]: NULL;
        uint8_t *wire = NULL;
        size_t len = 0;
        if (a && (memcmp (a->origin, l->key, HEARTH_KEY_BYTES) == 0
              ||  eventlog_get_wire (self->log, a->hash, &wire, &len) != 0))
            continue;
        if (n > 0 && (!a || n == GOSSIP_FETCH_BATCH || bytes + len > GOSSIP_BATCH_BYTES)) {
            rc = gossip_link_send_events (l, 1, batch, n, 0, 0);
            if (rc == 0) {
                l->events_pushed += n;
                self->stats.events_pushed += n;
            }
            else
                l->resync = 1;
            for (size_t k = 0; k < n; k++)
                free (batch [k].data);
            n = bytes = 0;
        }
        if (!a || rc != 0) {
            free (wire);
            continue;
        }
        batch [n].data = wire;
        batch [n].len = len;
        n++;
        bytes += len;
    }
    for (size_t k = 0; k < n; k++)
        free (batch [k].data);
}

/*  Announce the queued hashes that have waited GOSSIP_ANNOUNCE_DELAY_MS to
    every up link (one per peer key), then re-arm for the rest. */
static void
gossip_flush_announce (gossip_t *self)
{
    uint64_t now = hearth_mono_ms ();
    size_t due = 0;
    while (due < self->n_announce && now - self->announce [due].queued_mono >= GOSSIP_ANNOUNCE_DELAY_MS)
        due++;
    if (due > 0) {
        for (size_t li = 0; li < self->n_links; li++) {
            gossip_link_t *l = self->links [li];
            if (!s_push_target (self, l))
                continue;
            if (l->peer_version && l->peer_version < GOSSIP_WIRE_VERSION_ANNOUNCE)
                s_announce_to_v1 (l, due);
            else
                s_announce_to (l, due);
        }
        memmove (self->announce, self->announce + due, (self->n_announce - due) * sizeof *self->announce);
        self->n_announce -= due;
    }
    s_announce_arm (self);
}

/*  Ask l for the announced hashes queued for it: fetches of up to
    GOSSIP_FETCH_BATCH, at most GOSSIP_ANNOUNCE_FETCH_WINDOW outstanding. */
static void
gossip_pump_want (gossip_link_t *l)
{
    gossip_t *self = l->owner;
    if (!l->connected || gossip_want_queued (self->want, l->want_peer) == 0)
        return;
    uint8_t hashes [GOSSIP_FETCH_BATCH * HEARTH_HASH_BYTES];
    ProtobufCBinaryData bins [GOSSIP_FETCH_BATCH];
    for (;;) {
        uint64_t id = self->next_id + 1;
        uint64_t now = hearth_mono_ms ();
        size_t n = gossip_want_take (self->want, l->want_peer, id, now, hashes, GOSSIP_FETCH_BATCH);
        if (n == 0)
            return;
        self->next_id = id;
        for (size_t i = 0; i < n; i++) {
            bins [i].data = hashes + i * HEARTH_HASH_BYTES;
            bins [i].len = HEARTH_HASH_BYTES;
        }
        Hearth__GossipFetch f = HEARTH__GOSSIP_FETCH__INIT;
        f.hashes = bins;
        f.n_hashes = n;
        f.request_id = id;
        Hearth__GossipMessage m = HEARTH__GOSSIP_MESSAGE__INIT;
        m.body_case = HEARTH__GOSSIP_MESSAGE__BODY_FETCH;
        m.fetch = &f;
        if (gossip_link_send (l, &m) != 0) {
            /*  Queue full: close the request at once, so its hashes go to
                another announcer (or l reconciles, the tick sees to it). */
            gossip_want_answered (self->want, l->want_peer, id, 1, now);
            return;
        }
        self->stats.announce_requested += n;
    }
}

/*  An announcement: track the hashes we lack (the first
    GOSSIP_WIRE_MAX_ANNOUNCE; the rest, and any over the pending limits,
    are counted as dropped and l is reconciled with instead) and ask l. */
static void
gossip_on_announce (gossip_link_t *l, const Hearth__GossipAnnounce *a)
{
    gossip_t *self = l->owner;
    size_t n = a->n_hashes;
    self->stats.announce_received += n;
    if (n > GOSSIP_WIRE_MAX_ANNOUNCE) {
        self->stats.announce_dropped += n - GOSSIP_WIRE_MAX_ANNOUNCE;
        hearth_log_limited (HEARTH_LOG_WARN, S_LOG, "announce.long",
                            "%s announced %zu hashes in one frame; using the first %d",
                            l->short_id, n, GOSSIP_WIRE_MAX_ANNOUNCE);
        n = GOSSIP_WIRE_MAX_ANNOUNCE;
    }
    size_t dropped = 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *h = a->hashes [i].data;
        if (eventlog_has_hash (self->log, h) == 1)
            continue;
        if (gossip_want_announce (self->want, l->want_peer, h) < 0)
            dropped++;
    }
    if (dropped) {
        self->stats.announce_dropped += dropped;
        l->resync = 1;                      /* reconciliation finds what we could not track */
        hearth_log_limited (HEARTH_LOG_WARN, S_LOG, "announce.full",
                            "%zu announced hashes from %s over the pending limits; reconciling instead",
                            dropped, l->short_id);
    }
    gossip_pump_want (l);
}

/* ---- messages ------------------------------------------------------------------- */

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

/*  The tick: dial held addresses whose key has become a member (up to
    GOSSIP_LEARN_OUT out links); forget those of revoked keys and of keys
    linked meanwhile. */
static void
s_learn_promote (gossip_t *self)
{
    const membership_t *m = eventlog_membership (self->log);
    size_t n_out = 0;
    for (size_t i = 0; i < self->n_links; i++)
        n_out += self->links [i]->outgoing;
    size_t kept = 0;
    for (size_t i = 0; i < self->n_learn_held; i++) {
        uint8_t key [32];
        char endpoint [GOSSIP_MAX_ADDRESS];
        int drop = gossip_address_parse (self->learn_held [i], key, endpoint) != 0
                || !m || membership_revoked (m, key) || gossip_link_find (self, 1, key);
        if (!drop && gossip_is_member (self, key) && n_out < GOSSIP_LEARN_OUT) {
            if (gossip_peer_dial (self, self->learn_held [i], GOSSIP_ORIGIN_LEARNED) == 0) {
                n_out++;
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
        &&  memcmp (key, l->key, HEARTH_KEY_BYTES) == 0)
            snprintf (l->address, sizeof l->address, "%s", h->address);
        gossip_link_send_hello (l);                   /* so the dialler learns our head */
    }
    /*  Peers of the peer: dial a few we have no link with, up to
        GOSSIP_LEARN_OUT out links, so a line of nodes grows into a mesh.
        Only members' addresses are kept: a hello may name any key at any
        address, and CURVE proves only that the listener holds that key. */
    if (self->cfg.no_learn)
        return;
    size_t n_out = 0;
    for (size_t i = 0; i < self->n_links; i++)
        n_out += self->links [i]->outgoing;
    for (size_t i = 0; i < h->n_peers && i < GOSSIP_HELLO_PEERS && n_out < GOSSIP_LEARN_OUT; i++) {
        uint8_t key [32];
        char endpoint [GOSSIP_MAX_ADDRESS];
        if (gossip_address_parse (h->peers [i], key, endpoint) != 0
        ||  gossip_link_find (self, 0, key) || gossip_link_find (self, 1, key)
        ||  memcmp (key, identity_public_key (self->id), HEARTH_KEY_BYTES) == 0)
            continue;                       /* CURVE proves the key when we connect */
        if (!gossip_is_member (self, key)) {
            s_learn_hold (self, h->peers [i]);
            hearth_log_limited (HEARTH_LOG_INFO, S_LOG, "learn.nonmember",
                                "%s named %s, which is not a member here: not dialled (held "
                                "until it is one)", l->short_id, h->peers [i]);
            continue;
        }
        if (gossip_peer_dial (self, h->peers [i], GOSSIP_ORIGIN_LEARNED) == 0) {
            n_out++;
            hlog_info (S_LOG, "learned peer %s from %s", h->peers [i], l->short_id);
        }
    }
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

static void
gossip_link_seen (gossip_link_t *l, size_t len)
{
    gossip_budget_earn (l->owner->budget, l->key, len, hearth_mono_ms ());
    l->bytes_in += len;
    l->last_seen_ms = hearth_now_ms ();
    l->last_recv_mono = hearth_mono_ms ();
}

/* ---- out links (DEALER) ----------------------------------------------------------- */

static int
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
    gossip_inbox_flush (l);
    return 0;
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
    gossip_update_gauge (l->owner);
    /*  The dialling side says hello and initiates; the other answers. */
    l->resync = 0;
    if (l->outgoing) {
        gossip_link_send_hello (l);
        gossip_sync_start (l, GOSSIP_SYNC_CONNECT);
    }
}

static int
gossip_on_monitor (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop;
    gossip_link_t *l = (gossip_link_t *) arg;
    zmsg_t *msg = zmsg_recv (sock);
    if (!msg)
        return 0;
    char *event = zmsg_popstr (msg);
    if (event && streq (event, "HANDSHAKE_SUCCEEDED")) {
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
    if (event && streq (event, "DISCONNECTED"))
        s_link_down (l);
    else
    if (event && streq (event, "HANDSHAKE_FAILED_AUTH")) {
        l->redial_backoff_ms = l->redial_backoff_ms? l->redial_backoff_ms * 2: GOSSIP_REDIAL_MIN_MS;
        if (l->redial_backoff_ms > GOSSIP_REDIAL_MAX_MS)
            l->redial_backoff_ms = GOSSIP_REDIAL_MAX_MS;
        l->redial_at_mono = hearth_mono_ms () + l->redial_backoff_ms;
        hearth_log_limited (HEARTH_LOG_WARN, S_LOG, "link.refused",
                            "%s refused our handshake (are we a member there?); retrying in %" PRIu64 " ms",
                            l->short_id, l->redial_backoff_ms);
    }
    freen (event);
    zmsg_destroy (&msg);
    return 0;
}

/*  Common socket options of a peer DEALER (links and client calls). */
static void
gossip_dealer_options (zsock_t *d, const uint8_t server [32], const uint8_t pub [32], const uint8_t *sec)
{
    zsock_set_curve_serverkey_bin (d, server);
    zsock_set_curve_publickey_bin (d, pub);
    zsock_set_curve_secretkey_bin (d, sec);
    zsock_set_linger (d, 0);
    zsock_set_maxmsgsize (d, GOSSIP_MAXMSGSIZE);
}

static int
s_out_open (gossip_link_t *l)
{
    gossip_t *self = l->owner;
    uint8_t server [32];
    if (crypto_sign_ed25519_pk_to_curve25519 (server, l->key) != 0)
        return HEARTH_EINVAL;
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
    l->monitor = zactor_new (zmonitor, l->dealer);
    if (!l->monitor)
        return HEARTH_ENOMEM;
    zstr_sendx (l->monitor, "LISTEN", "HANDSHAKE_SUCCEEDED", "DISCONNECTED", "HANDSHAKE_FAILED_AUTH", NULL);
    zstr_sendx (l->monitor, "START", NULL);
    zsock_wait (l->monitor);
    if (zloop_reader (self->loop, (zsock_t *) l->monitor, gossip_on_monitor, l) != 0
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

/*  Close the TCP connection of an in link's latest frame, if that socket is
    still the same connection (same remote address: the descriptor may
    have been closed and reused since). libzmq sees the connection end and
    cleans up; the peer's reconnect meets ZAP again. */
static void
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
static void
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

/* ---- in links (ROUTER) ------------------------------------------------------------ */

static void
s_reply_error_retry (gossip_t *self, const uint8_t *rid, size_t rid_len, uint64_t request_id,
                     int err, const char *message, uint64_t retry_after_ms)
{
    Hearth__GossipReply r = HEARTH__GOSSIP_REPLY__INIT;
    r.request_id = request_id;
    r.retry_after_ms = retry_after_ms > UINT32_MAX? UINT32_MAX: (uint32_t) retry_after_ms;
    r.error = err;
    r.error_code = (char *) hearth_error_code (err);
    r.error_message = (char *) (message? message: hearth_strerror (err));
    Hearth__GossipMessage m = HEARTH__GOSSIP_MESSAGE__INIT;
    m.body_case = HEARTH__GOSSIP_MESSAGE__BODY_REPLY;
    m.reply = &r;
    gossip_send_rid (self, rid, rid_len, &m);
}

static void
gossip_reply_error (gossip_t *self, const uint8_t *rid, size_t rid_len, uint64_t request_id, int err,
               const char *message)
{
    s_reply_error_retry (self, rid, rid_len, request_id, err, message, 0);
}

/*  Run one admitted query through the handler and answer it. Returns the
    result (0 or the error answered). */
static int
s_query_run (gossip_t *self, const gossip_query_t *q)
{
    json_error_t jerr;
    json_t *input = json_loads (q->input? q->input: "{}", JSON_REJECT_DUPLICATES, &jerr);
    if (!input || !json_is_object (input)) {
        json_decref (input);
        gossip_reply_error (self, q->rid, q->rid_len, q->request_id, HEARTH_EINVAL, "input is not a JSON object");
        return HEARTH_EINVAL;
    }
    json_t *output = NULL;
    char *message = NULL;
    int rc = self->query_fn (self->query_arg, q->capability, input, q->key, &output, &message);
    json_decref (input);
    char *out_text = rc == 0 && output? json_dumps (output, JSON_COMPACT): NULL;
    json_decref (output);
    if (rc == 0 && (!out_text || strlen (out_text) > GOSSIP_MAX_FRAME_BYTES - 1024)) {
        rc = out_text? HEARTH_ETOOBIG: HEARTH_ENOMEM;
        free (message);
        message = NULL;
    }
    if (rc != 0)
        gossip_reply_error (self, q->rid, q->rid_len, q->request_id, rc, message);
    else {
        Hearth__GossipReply r = HEARTH__GOSSIP_REPLY__INIT;
        r.request_id = q->request_id;
        r.output_json = out_text;
        Hearth__GossipMessage m = HEARTH__GOSSIP_MESSAGE__INIT;
        m.body_case = HEARTH__GOSSIP_MESSAGE__BODY_REPLY;
        m.reply = &r;
        gossip_send_rid (self, q->rid, q->rid_len, &m);
    }
    free (out_text);
    free (message);
    return rc;
}

/*  Serve the queries admitted during the last read burst, in the order
    read, one at a time; a query that waited its whole budget (behind the
    others, or behind the burst's other work) is answered `timeout` and not
    run. */
static void
gossip_queries_serve (gossip_t *self)
{
    for (size_t i = 0; i < self->n_queries; i++) {
        gossip_query_t *q = &self->queries [i];
        uint64_t waited = 0;
        int rc = gossip_admit_start (self->admit, q->ticket, hearth_mono_ms (), &waited);
        if (rc == HEARTH_ETIMEOUT) {
            char message [160];
            snprintf (message, sizeof message, "waited %" PRIu64 " ms in this node's queue, its "
                      "whole budget of %" PRIu64 " ms: not run", waited, q->budget_ms);
            gossip_reply_error (self, q->rid, q->rid_len, q->request_id, HEARTH_ETIMEOUT, message);
            hearth_log_limited (HEARTH_LOG_WARN, S_LOG, "query.timeout", "a remote '%s' %s",
                                q->capability, message);
        }
        else
            rc = s_query_run (self, q);
        gossip_admit_done (self->admit, q->ticket, rc);
        free (q->input);
        q->input = NULL;
    }
    self->n_queries = 0;
}

/*  Queue an admitted query; 0 or HEARTH_ENOMEM. */
static int
s_query_push (gossip_t *self, const uint8_t key [32], const uint8_t *rid, size_t rid_len,
              const Hearth__GossipQuery *q, const gossip_admit_result_t *admitted)
{
    if (self->n_queries == self->cap_queries) {
        size_t cap = self->cap_queries? 2 * self->cap_queries: 16;
        gossip_query_t *grown = (gossip_query_t *) realloc (self->queries, cap * sizeof *grown);
        if (!grown)
            return HEARTH_ENOMEM;
        self->queries = grown;
        self->cap_queries = cap;
    }
    gossip_query_t *e = &self->queries [self->n_queries];
    memset (e, 0, sizeof *e);
    if (q->input_json && *q->input_json && !(e->input = strdup (q->input_json)))
        return HEARTH_ENOMEM;
    e->ticket = admitted->ticket;
    memcpy (e->key, key, HEARTH_KEY_BYTES);
    memcpy (e->rid, rid, rid_len);
    e->rid_len = rid_len;
    e->request_id = q->request_id;
    e->budget_ms = admitted->budget_ms;
    snprintf (e->capability, sizeof e->capability, "%s", q->capability);
    self->n_queries++;
    return HEARTH_OK;
}

/*  A remote capability call: members only; admission (gossip_admit.h)
    drops, refuses or queues it; the handler decides the rest. */
static void
gossip_on_query (gossip_t *self, const uint8_t *rid, size_t rid_len, const uint8_t key [32],
            const char *who, const Hearth__GossipQuery *q)
{
    const membership_t *ms = eventlog_membership (self->log);
    int is_self = memcmp (key, identity_public_key (self->id), HEARTH_KEY_BYTES) == 0;
    if (!is_self && (!ms || membership_level (ms, key) < HEARTH__LEVEL__LEVEL_MEMBER)) {
        gossip_reply_error (self, rid, rid_len, q->request_id, HEARTH_EUNAUTHORIZED, "queries need a member key");
        return;
    }
    if (!self->query_fn) {
        gossip_reply_error (self, rid, rid_len, q->request_id, HEARTH_ENOTIMPL, "this node serves no queries");
        return;
    }
    gossip_admit_result_t res;
    gossip_admit_verdict_t verdict = gossip_admit_arrive (self->admit, key, q->capability, q->timeout_ms,
                                                          hearth_mono_ms (), &res);
    const char *reason = gossip_admit_reason_name (res.reason);
    char message [200];
    switch (verdict) {
        case GOSSIP_ADMIT_DROP:
            hearth_log_limited (HEARTH_LOG_WARN, S_LOG, "query.dropped", "dropping remote calls "
                                "from %s: '%s' over the hard limit (%s); not answered (counted)",
                                who, q->capability, reason);
            return;
        case GOSSIP_ADMIT_RATE_LIMITED:
            snprintf (message, sizeof message, "rate limited: over %d requests/s for '%s' or %d "
                      "requests/s in total (%s); retry_after_ms=%" PRIu64, GOSSIP_ADMIT_SOFT_CAP_RPS,
                      q->capability, GOSSIP_ADMIT_SOFT_TOTAL_RPS, reason, res.retry_after_ms);
            hearth_log_limited (HEARTH_LOG_INFO, S_LOG, "query.rate_limited", "%s: %s", who, message);
            s_reply_error_retry (self, rid, rid_len, q->request_id, HEARTH_ERATE, message,
                                 res.retry_after_ms);
            return;
        case GOSSIP_ADMIT_CAPACITY:
            if (res.reason == GOSSIP_ADMIT_REASON_PEER_PENDING)
                snprintf (message, sizeof message, "capacity exceeded: %d calls of this caller "
                          "already in flight; retry_after_ms=%" PRIu64, GOSSIP_ADMIT_PEER_PENDING,
                          res.retry_after_ms);
            else
                snprintf (message, sizeof message, "capacity exceeded: '%s' has its max_concurrent "
                          "calls in flight; retry_after_ms=%" PRIu64, q->capability,
                          res.retry_after_ms);
            hearth_log_limited (HEARTH_LOG_INFO, S_LOG, "query.capacity", "%s: %s", who, message);
            s_reply_error_retry (self, rid, rid_len, q->request_id, HEARTH_ECAPACITY, message,
                                 res.retry_after_ms);
            return;
        case GOSSIP_ADMIT_RUN:
            break;
    }
    int rc = HEARTH_OK;
    if (q->input_json && strlen (q->input_json) > GOSSIP_QUERY_MAX_INPUT_BYTES) {
        snprintf (message, sizeof message, "input is over %d bytes", GOSSIP_QUERY_MAX_INPUT_BYTES);
        rc = HEARTH_ETOOBIG;
    }
    else
    if ((rc = s_query_push (self, key, rid, rid_len, q, &res)) != HEARTH_OK)
        snprintf (message, sizeof message, "out of memory");
    if (rc != HEARTH_OK) {
        gossip_reply_error (self, rid, rid_len, q->request_id, rc, message);
        gossip_admit_done (self->admit, res.ticket, rc);
    }
}

/*  The in link of key, made current for routing id rid (a new routing id is
    a new connection: the old one's sessions end). NULL when full. */
static gossip_link_t *
s_in_link (gossip_t *self, const uint8_t key [32], const uint8_t *rid, size_t rid_len)
{
    gossip_link_t *l = gossip_link_find (self, 0, key);
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
            if (!victim)
                return NULL;
            self->links [vi] = self->links [--self->n_links];
            gossip_link_destroy (&victim);
        }
        l = gossip_link_new (self, 0, key, GOSSIP_ORIGIN_CONFIG);
        if (!l || gossip_links_append (self, l) != 0) {
            free (l);
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
            gossip_link_t *l = s_in_link (self, key, rid, rid_len);
            if (l) {
                l->allowed = 1;             /* s_zap_admit said so just now */
                gossip_link_in_track_fd (l, fd);
                gossip_link_seen (l, len);
                s_on_message (l, m.msg);
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

/* ---- outsiders: the listening socket's monitor ------------------------------------ */

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
static int
gossip_router_monitor_start (gossip_t *self)
{
    char endpoint [64];
    snprintf (endpoint, sizeof endpoint, "inproc://hearth-gossip-monitor-%p", (void *) self);
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

/* ---- timers ---------------------------------------------------------------------- */

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
        if (!l->outgoing && l->connected && now - l->last_recv_mono > GOSSIP_LINK_SILENT_MS) {
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
        if (l->outgoing && now - l->last_send_mono >= GOSSIP_PING_MS) {
            Hearth__GossipPing p = HEARTH__GOSSIP_PING__INIT;
            p.nonce = ++self->next_id;
            p.head_lamport = gossip_head (self);
            Hearth__GossipMessage m = HEARTH__GOSSIP_MESSAGE__INIT;
            m.body_case = HEARTH__GOSSIP_MESSAGE__BODY_PING;
            m.ping = &p;
            gossip_link_send (l, &m);
        }
        gossip_link_send_neg_retry (l);
        gossip_neg_pump (l);
        gossip_fetch_pump (l);
        if (gossip_want_gave_up (self->want, l->want_peer))
            l->resync = 1;                  /* announced, never delivered, no one else has it */
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
    self->stats.announce_retried = gossip_want_stats (self->want)->retried;
    s_budget_stats (self);
    return 0;
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
            break;
        }
    }
    return 0;
}

/* ---- LAN discovery ---------------------------------------------------------------- */

/*  A beacon of a node of our community we have no link with: dial it. A
    node listening on loopback only is dialled on 127.0.0.1, and only when
    its beacon came from this host. */
static int
s_on_beacon (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop;
    gossip_t *self = (gossip_t *) arg;
    zmsg_t *msg = zmsg_recv (sock);
    if (!msg)
        return 0;
    char *ip = zmsg_popstr (msg);
    zframe_t *data = zmsg_pop (msg);
    const uint8_t *cid = eventlog_community_id (self->log);
    if (ip && data && cid && zframe_size (data) == GOSSIP_BEACON_SIZE) {
        const uint8_t *b = zframe_data (data);
        const uint8_t *key = b + 37;
        unsigned port = (unsigned) b [69] << 8 | b [70];
        int loopback = b [71];
        if (memcmp (b, GOSSIP_BEACON_MAGIC, 4) == 0 && b [4] == GOSSIP_BEACON_VERSION
        &&  memcmp (b + 5, cid, 32) == 0 && port > 0
        &&  memcmp (key, identity_public_key (self->id), 32) != 0
        &&  !gossip_link_find (self, 0, key) && !gossip_link_find (self, 1, key)
        &&  strlen (ip) < 64 && !strchr (ip, ':')
        &&  (!loopback || (self->beacon_host && streq (ip, self->beacon_host)))) {
            char id [HEARTH_NODE_ID_SIZE], address [GOSSIP_MAX_ADDRESS];
            hearth_node_id_format (key, id);
            snprintf (address, sizeof address, "%s@tcp://%s:%u", id, loopback? "127.0.0.1": ip, port);
            if (!gossip_is_member (self, key)
            &&  membership_count (eventlog_membership (self->log)) > 0) {
                self->stats.nonmember_addresses++;
                hearth_log_limited (HEARTH_LOG_INFO, S_LOG, "beacon.nonmember",
                                    "a LAN beacon names %s, which is not a member: not dialled", address);
            }
            else
            if (gossip_peer_dial (self, address, GOSSIP_ORIGIN_DISCOVERED) == 0)
                hlog_info (S_LOG, "discovered %s on the LAN", address);
        }
    }
    freen (ip);
    zframe_destroy (&data);
    zmsg_destroy (&msg);
    return 0;
}

/*  Start the beacon: publish ours (if listening) and hear others'. A host
    without a broadcast interface runs without discovery (logged). */
static int
gossip_beacon_start (gossip_t *self)
{
    const uint8_t *cid = eventlog_community_id (self->log);
    if (!cid) {
        hlog_warn (S_LOG, "LAN discovery needs a community; off until the next start");
        return 0;
    }
    self->beacon = zactor_new (zbeacon, NULL);
    if (!self->beacon)
        return HEARTH_ENOMEM;
    zsock_send (self->beacon, "si", "CONFIGURE", GOSSIP_BEACON_PORT);
    self->beacon_host = zstr_recv (self->beacon);
    if (!self->beacon_host || !*self->beacon_host) {
        hlog_warn (S_LOG, "LAN discovery off: no interface that can broadcast");
        zactor_destroy (&self->beacon);
        freen (self->beacon_host);
        self->beacon_host = NULL;
        return 0;
    }
    const char *at = strchr (self->address, '@');
    const char *port = strrchr (self->address, ':');
    if (at && port) {
        uint8_t b [GOSSIP_BEACON_SIZE];
        memcpy (b, GOSSIP_BEACON_MAGIC, 4);
        b [4] = GOSSIP_BEACON_VERSION;
        memcpy (b + 5, cid, 32);
        memcpy (b + 37, identity_public_key (self->id), 32);
        unsigned p = (unsigned) atoi (port + 1);
        b [69] = (uint8_t) (p >> 8);
        b [70] = (uint8_t) p;
        const char *host = at + 1 + 6;      /* after "tcp://" */
        b [71] = strncmp (host, "127.", 4) == 0 || strncmp (host, "localhost:", 10) == 0
              || strncmp (host, "[::1]", 5) == 0;
        zsock_send (self->beacon, "sbi", "PUBLISH", b, sizeof b, GOSSIP_BEACON_IVL_MS);
    }
    zsock_send (self->beacon, "sb", "SUBSCRIBE", GOSSIP_BEACON_MAGIC, (size_t) 4);
    if (zloop_reader (self->loop, (zsock_t *) self->beacon, s_on_beacon, self) != 0)
        return HEARTH_ENOMEM;
    hlog_info (S_LOG, "LAN discovery on (UDP %d, %s)", GOSSIP_BEACON_PORT, self->beacon_host);
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

static int
s_build_store_fn (void *arg, uint64_t lamport, const uint8_t hash [32])
{
    int rc = negentropy_store_insert ((negentropy_store_t *) arg, lamport, hash);
    return rc == HEARTH_EDUPLICATE? 0: rc;
}

/*  The store's source: the log's order index, as negentropy items. */
typedef struct {
    negentropy_store_fn *fn;
    void   *arg;
    size_t  index;
} s_order_walk_t;

static int
s_order_item (void *arg, uint64_t lamport, const uint8_t hash [32])
{
    s_order_walk_t *walk = (s_order_walk_t *) arg;
    negentropy_item_t item = { .timestamp = lamport };
    memcpy (item.id, hash, NEGENTROPY_ID_SIZE);
    return walk->fn (&item, walk->index++, walk->arg);
}

static int
s_store_read (void *source, uint64_t timestamp, const uint8_t id [NEGENTROPY_ID_SIZE], size_t limit,
              negentropy_store_fn *fn, void *arg)
{
    s_order_walk_t walk = { fn, arg, 0 };
    return eventlog_read_order ((eventlog_t *) source, timestamp, id, limit, s_order_item, &walk);
}

negentropy_store_t *
gossip_store_new (eventlog_t *log, int *err)
{
    int dummy;
    if (!err)
        err = &dummy;
    negentropy_store_t *store = negentropy_store_new_backed (s_store_read, log);
    *err = store? eventlog_scan_order (log, s_build_store_fn, store): HEARTH_ENOMEM;
    if (*err)
        negentropy_store_destroy (&store);
    return store;
}

/*  A store backed by the log's order index, and the rateless encoder of
    the same set unless reconcile = v1, both filled by one scan. Returns 0
    or an error (nothing allocated). The caller installs the hook after, or
    is on the loop thread, so no event is missed. */
static int
gossip_store_build (gossip_t *self, negentropy_store_t **store_p, riblt_encoder_t **encoder_p)
{
    int rc;
    negentropy_store_t *store = gossip_store_new (self->log, &rc);
    riblt_encoder_t *encoder = NULL;
    if (store && self->cfg.reconcile != GOSSIP_RECONCILE_V1) {
        encoder = riblt_encoder_new (RIBLT_ENCODER_SYMBOLS_DEFAULT);
        rc = encoder? riblt_encoder_add_store (encoder, store): HEARTH_ENOMEM;
    }
    if (rc) {
        negentropy_store_destroy (&store);
        riblt_encoder_destroy (&encoder);
        return rc;
    }
    *store_p = store;
    *encoder_p = encoder;
    return 0;
}

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
    self->tick_timer = self->sync_timer = self->announce_timer = -1;
    self->curve_sec = (uint8_t *) sodium_malloc (32);
    gossip_want_limits_t limits = {
        .max_hashes = GOSSIP_ANNOUNCE_PENDING_MAX, .per_peer = GOSSIP_ANNOUNCE_PENDING_PEER,
        .window = GOSSIP_ANNOUNCE_FETCH_WINDOW, .timeout_ms = GOSSIP_ANNOUNCE_TIMEOUT_MS
    };
    uint8_t want_key [16];
    randombytes_buf (want_key, sizeof want_key);
    self->want = gossip_want_new (&limits, want_key);
    self->admit = gossip_admit_new (NULL);
    self->budget = gossip_budget_new (NULL);
    if (!self->curve_sec || !self->want || !self->admit || !self->budget)
        goto fail;
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
    /*  ZAP before any bind (DESIGN §6). */
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
    self->tick_timer = zloop_timer (loop, GOSSIP_TICK_MS, 0, s_on_tick, self);
    self->sync_timer = zloop_timer (loop, self->cfg.sync_interval_ms, 0, s_on_sync, self);
    if (self->tick_timer < 0 || self->sync_timer < 0)
        goto fail;
    for (size_t i = 0; i < cfg->n_peers; i++) {
        rc = gossip_peer_dial (self, cfg->peers [i], GOSSIP_ORIGIN_CONFIG);
        if (rc != 0 && rc != HEARTH_EEXISTS) {
            hlog_error (S_LOG, "bad peer address '%s': %s", cfg->peers [i], hearth_strerror (rc));
            *err = rc;
            goto fail;
        }
    }
    if (self->cfg.discovery && (rc = gossip_beacon_start (self)) != 0) {
        *err = rc;
        goto fail;
    }
    if (*self->address)
        hlog_info (S_LOG, "listening as %s", self->address);
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
    if (self->sync_timer >= 0)
        zloop_timer_end (self->loop, self->sync_timer);
    if (self->announce_timer >= 0)
        zloop_timer_end (self->loop, self->announce_timer);
    if (self->beacon) {
        zloop_reader_end (self->loop, (zsock_t *) self->beacon);
        zactor_destroy (&self->beacon);
    }
    freen (self->beacon_host);
    for (size_t i = 0; i < self->n_links; i++)
        gossip_link_destroy (&self->links [i]);
    free (self->links);
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
    riblt_encoder_destroy (&self->encoder);
    negentropy_store_destroy (&self->store);
    if (self->curve_sec)
        sodium_free (self->curve_sec);
    free (self);
    *self_p = NULL;
}

void
gossip_set_query_handler (gossip_t *self, gossip_query_fn *fn, void *arg)
{
    self->query_fn = fn;
    self->query_arg = arg;
}

int
gossip_query_limits_set (gossip_t *self, const char *capability, uint32_t max_concurrent,
                         uint32_t timeout_ms)
{
    return gossip_admit_serve (self->admit, capability, max_concurrent, timeout_ms);
}

size_t
gossip_query_stats (const gossip_t *self, const gossip_admit_cap_t **caps)
{
    return gossip_admit_caps (self->admit, caps);
}

/*  Add an out link to address, given by origin (S_ORIGIN_*): dialled at
    once if its key is allowed (gossip_link_allowed), else kept barred until it
    is. 0, HEARTH_EINVAL, HEARTH_ECAPACITY, HEARTH_EEXISTS, HEARTH_ENOMEM. */
static int
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

int
gossip_peer_add (gossip_t *self, const char *address)
{
    return gossip_peer_dial (self, address, GOSSIP_ORIGIN_CONFIG);
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
        json_array_append_new (peers, json_pack (
            "{s:s, s:s, s:o, s:s, s:b, s:o, s:I, s:I, s:I, s:I, s:o}",
            "node_id", l->node_id, "short_id", l->short_id,
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

const gossip_stats_t *
gossip_stats (const gossip_t *self)
{
    return &self->stats;
}

/* ---- client ---------------------------------------------------------------------- */

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
    char *in_text = input? json_dumps (input, JSON_COMPACT): strdup ("{}");
    uint8_t *sec = (uint8_t *) sodium_malloc (32);
    zsock_t *d = NULL;
    zactor_t *monitor = NULL;
    zpoller_t *poller = NULL;
    int rc = HEARTH_ENOMEM;
    if (!in_text || !sec || identity_curve_keypair (id, pub, sec) != 0)
        goto done;
    d = zsock_new (ZMQ_DEALER);
    if (!d)
        goto done;
    gossip_dealer_options (d, server, pub, sec);
    monitor = zactor_new (zmonitor, d);
    if (!monitor)
        goto done;
    zstr_sendx (monitor, "LISTEN", "HANDSHAKE_FAILED_AUTH", NULL);
    zstr_sendx (monitor, "START", NULL);
    zsock_wait (monitor);
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
            zmsg_t *ev = zmsg_recv (monitor);
            zmsg_destroy (&ev);
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
    zactor_destroy (&monitor);
    zsock_destroy (&d);
    if (sec)
        sodium_free (sec);
    free (in_text);
    return rc;
}
