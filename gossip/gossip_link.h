/*  gossip_link.h — one link: the transport to one peer key and the state
    the mesh keeps on it (private to the gossip module; see gossip.c).

    A link is one transport to one peer key:
      - out: a DEALER we dial (CURVE client; the server key comes from the
        NODE_ID of the peer address). A libzmq socket monitor on it, read
        through a PAIR on the loop thread (gossip_dealer_monitor_new),
        reports handshakes and disconnects (gossip_on_monitor in gossip.c).
      - in: a peer that dialled our ROUTER, keyed by its ZAP-authenticated
        key (the "User-Id" metadata of its frames), one per key; the newest
        connection (routing id) wins.
    The struct's fields fall in five roles, in this order: transport (key,
    sockets, counters), the initiator session and its transfers
    (gossip_sync.c), the reorder window and the push inbox (gossip_hold.c),
    the responder session (gossip_sync.c), and the resend buffer and the
    peer's requests held for its budget. Each role's code is the only
    writer of its fields; the transport fields are written here and by the
    socket handlers in gossip.c.

    Invariants: a link belongs to exactly one gossip_t (owner->links), which
    destroys it; no frame is sent on it or read from it while `allowed` is
    0 (gossip_link_send is the one way out); at most one link per key and
    direction (gossip_link_find).

    Threading: the owner's zloop thread only.
*/
#ifndef HEARTH_GOSSIP_LINK_H
#define HEARTH_GOSSIP_LINK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <czmq.h>
#include "gossip.h"
#include "gossip_budget.h"
#include "gossip_session.h"
#include "gossip_sweep.h"
#include "hearth_codec.h"
#include "gossip_wire.h"

/*  Hashes per fetch (32 KiB) and fetches outstanding per link: a window of
    4096 hashes, ~1.4 MB of events at ~350 B each. */
#define GOSSIP_FETCH_BATCH          GOSSIP_WIRE_MAX_FETCH
#define GOSSIP_FETCH_WINDOW         4
/*  Event bytes per frame we send (push, fetch answers): well under the frame
    cap so SNDHWM frames bound the memory one slow peer can hold. */
#define GOSSIP_BATCH_BYTES          (64 * 1024)
/*  ZMQ routing ids are at most 255 bytes. */
#define GOSSIP_RID_MAX              255

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

typedef struct _gossip_link_t gossip_link_t;
struct _gossip_link_t {
    /*  Transport (this file, and the socket handlers in gossip.c). */
    gossip_t     *owner;                    /* borrowed */
    int           outgoing;                 /* 1: our DEALER; 0: their connection to our ROUTER */
    uint8_t       key [HEARTH_KEY_BYTES];
    char          node_id [HEARTH_NODE_ID_SIZE];
    char          short_id [HEARTH_SHORT_ID_SIZE];
    char          address [GOSSIP_MAX_ADDRESS];     /* "NODE_ID@tcp://..." or "" */
    char          endpoint [GOSSIP_MAX_ADDRESS];    /* out: what we dial */
    zsock_t      *dealer;                   /* owned (out) */
    zsock_t      *monitor;                  /* owned (out): PAIR reading dealer's socket monitor */
    uint64_t      redial_at_mono;           /* out: redial after a refusal, 0 = no */
    uint64_t      redial_backoff_ms;
    int           origin;                   /* out: GOSSIP_ORIGIN_* (who gave us the address) */
    int           allowed;                  /* its key may exchange frames with us now
                                               (gossip_links_recheck); no frame goes or is read if 0 */
    int           barred;                   /* out: not dialled (disconnected) while not allowed */
    int           retired;                  /* out: closed by the overlay, off the loop, not in
                                               owner->links; its handlers ignore it */
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
    /*  Initiator session (ours) and its transfers (gossip_sync.c). */
    gossip_session_t *init;                 /* owned, or NULL */
    int           init_probe;               /* v1 after a (re)connect: may switch to rateless
                                               after its first answer */
    int           riblt_declined;           /* the peer speaks v1 only */
    uint64_t      init_session;
    int           init_done;
    size_t        have_sent, need_sent;     /* cursors into the session's have/need ids */
    size_t        need_seen, need_fresh;    /* need ids looked at for GOSSIP_NEED_MAX, and of
                                               those not skipped as refused before */
    int           init_capped;              /* this session stopped at GOSSIP_NEED_MAX */
    int           sweep_over;               /* a session ran to its end: the next one drops the sweep */
    gossip_sweep_t *sweep;                  /* owned, or NULL: what this link's run of capped
                                               sessions fetched and saw refused (gossip_sweep.h) */
    uint64_t      sweep_context;            /* gossip_refusal_context when the sweep began */
    uint64_t      sweep_born;               /* monotonic ms when the sweep began */
    uint64_t      init_progress_mono;
    int           resync;                   /* reconcile again when idle */
    gossip_fetch_t fetch [GOSSIP_FETCH_WINDOW];
    size_t        n_fetch;
    /*  Reorder window and push inbox (gossip_hold.c). */
    gossip_held_t *held;                    /* owned: fetched, not yet stored */
    size_t        n_held, cap_held, held_bytes;
    uint8_t     **hold_blocks;              /* owned: the held events' bytes, packed */
    size_t        n_hold_blocks, cap_hold_blocks, hold_block_used;
    gossip_held_t *inbox;                   /* owned: pushed events of this burst (group commit) */
    size_t        n_inbox, cap_inbox;
    /*  Responder session (theirs, gossip_sync.c). */
    gossip_session_t *resp;                 /* owned, or NULL */
    uint64_t      resp_session;
    uint64_t      peer_sync_mono;           /* last neg/fetch from the peer: it is syncing with us */
    /*  Resend buffer: a Negentropy message the send queue refused, per
        role (0 initiator, 1 responder), sent again by the tick. */
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

/*  ---- who may talk (the membership view; no link needed) ---------------- */

/*  The log's Lamport head. */
uint64_t gossip_head (gossip_t *self);
/*  May `key` talk to us now: a current member or a pending invitee. */
int gossip_admitted (gossip_t *self, const uint8_t key [32]);
/*  Is `key` a current member (not an invitee)? */
int gossip_is_member (gossip_t *self, const uint8_t key [32]);
/*  May the link's key exchange frames with us now (see gossip_link.c)? */
int gossip_link_allowed (gossip_t *self, const gossip_link_t *l);
/*  Refresh every link's `allowed` flag from the membership view. */
void gossip_links_recheck (gossip_t *self);
/*  Recount stats.peers_connected (distinct keys with an up link). */
void gossip_update_gauge (gossip_t *self);

/*  ---- sending ------------------------------------------------------------ */

/*  Encode and send one message on a link: 0 or HEARTH_EUNAVAILABLE (queue
    full, not connected, unroutable, key not allowed) or HEARTH_ENOMEM. */
int gossip_link_send (gossip_link_t *l, const Hearth__GossipMessage *m);
/*  Send to a routing id on the ROUTER without a link (queries, pongs). */
void gossip_send_rid (gossip_t *self, const uint8_t *rid, size_t rid_len, const Hearth__GossipMessage *m);
/*  Our hello: version, head, address, a few up peers' addresses. */
int gossip_link_send_hello (gossip_link_t *l);
/*  Send events (borrowed wires) as one push or fetch-answer frame. */
int gossip_link_send_events (gossip_link_t *l, int push, ProtobufCBinaryData *events, size_t n,
                             uint64_t request_id, int last);
/*  Events packed into frames for one link: at most GOSSIP_FETCH_BATCH
    events and GOSSIP_BATCH_BYTES bytes a frame (an event over the byte
    cap goes alone). Lives on the caller's stack from init to the last
    send or drop. */
typedef struct {
    gossip_link_t      *link;               /* borrowed */
    int                 push;               /* 1: push frames; 0: answers to fetch request_id */
    uint64_t            request_id;
    int                 owned;              /* the wires are malloc'd and freed here once sent or dropped */
    ProtobufCBinaryData events [GOSSIP_FETCH_BATCH];    /* packed, not yet sent */
    size_t              n, bytes;
    size_t              sent;               /* events in frames sent so far */
} gossip_batch_t;

/*  Start an empty batch for l. */
void gossip_batch_init (gossip_batch_t *b, gossip_link_t *l, int push, uint64_t request_id, int owned);
/*  Pack one event (wire: owned by the batch if b->owned, else borrowed
    until sent). If the frame has no room for it, the frame is sent first;
    the event is packed either way. Returns that send's result (0 when none
    was needed): on an error the frame's events are dropped, not kept. */
int gossip_batch_add (gossip_batch_t *b, uint8_t *wire, size_t len);
/*  Send the packed events as one frame (an empty one only if last), with
    `last` on it, and empty the batch: 0 or gossip_link_send's error. */
int gossip_batch_send (gossip_batch_t *b, int last);
/*  Empty the batch without sending (frees owned wires). */
void gossip_batch_drop (gossip_batch_t *b);
/*  Count a reconciliation message sent or received in the stats. */
void gossip_count_neg (gossip_t *self, const uint8_t *msg, size_t size);
/*  Send a reconciliation message for role (0 initiator, 1 responder),
    keeping a copy for the tick if the queue is full. 0 or HEARTH_ENOMEM. */
int gossip_link_send_neg_held (gossip_link_t *l, int role, Hearth__GossipMessage__BodyCase kind,
                               const uint8_t *msg, size_t size, uint64_t session);
/*  The tick: send the reconciliation messages kept by the above. */
void gossip_link_send_neg_retry (gossip_link_t *l);

/*  ---- lifecycle ---------------------------------------------------------- */

/*  A new link of self (not yet in self->links) to key, or NULL. */
gossip_link_t *gossip_link_new (gossip_t *self, int outgoing, const uint8_t key [32], int origin);
/*  Destroy *l_p (sockets, sessions, held events) and set it to NULL; safe on NULL. */
void gossip_link_destroy (gossip_link_t **l_p);
/*  End the link's sessions and transfers (on disconnect or a fault). */
void gossip_link_reset (gossip_link_t *l);
/*  Forget the reorder window's events and free its blocks. */
void gossip_link_held_free (gossip_link_t *l);
/*  Append l (owned from now on) to self->links: 0 or HEARTH_ENOMEM. */
int gossip_links_append (gossip_t *self, gossip_link_t *l);
/*  The link of key in that direction, or NULL. */
gossip_link_t *gossip_link_find (gossip_t *self, int outgoing, const uint8_t key [32]);
/*  Socket options of a peer DEALER (links and client calls). */
void gossip_dealer_options (zsock_t *d, const uint8_t server [32], const uint8_t pub [32], const uint8_t *sec);
/*  Start libzmq's socket monitor on d for events (ZMQ_EVENT_* mask) and
    return the PAIR (owned by the caller) that receives them, to be polled
    and read (gossip_dealer_monitor_recv) on d's own thread. No CZMQ
    zmonitor actor: see gossip_link.c. NULL on failure. */
zsock_t *gossip_dealer_monitor_new (zsock_t *d, int events);
/*  The next event waiting on a monitor PAIR (ZMQ_EVENT_*), or 0 when none
    is; never blocks. */
int gossip_dealer_monitor_recv (zsock_t *pair);
/*  Stop d's monitor (d may be NULL) and destroy *pair_p; safe on NULL. */
void gossip_dealer_monitor_destroy (zsock_t *d, zsock_t **pair_p);
/*  Add an out link to address, given by origin (GOSSIP_ORIGIN_*). 0,
    HEARTH_EINVAL, HEARTH_ECAPACITY, HEARTH_EEXISTS, HEARTH_ENOMEM. */
int gossip_peer_dial (gossip_t *self, const char *address, int origin);
/*  In links: close the TCP connection of the latest frame (if still the same). */
void gossip_link_in_shutdown (gossip_link_t *l);
/*  In links: remember the socket a frame came from. */
void gossip_link_in_track_fd (gossip_link_t *l, int fd);
/*  A frame of len bytes arrived on l: budget credit, counters, times. */
void gossip_link_seen (gossip_link_t *l, size_t len);

#endif
