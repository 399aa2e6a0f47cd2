/*  gossip_internal.h — what the gossip module's files share: the gossip_t
    struct, the tuning they have in common and the functions one file
    calls in another. Private: included by gossip*.c only, never installed
    or included from outside the module.

    The files, bottom up: each calls only those listed before it, and the
    public gossip.h functions; gossip_link.c also registers gossip.c's
    DEALER handlers with the loop (the loop calls them, gossip_link.c
    does not). So no file needs a forward declaration.
      gossip_link.c     a link: who may talk, sending, lifecycle
      gossip_store.c    the reconciliation store over the log's order index
      gossip_push.c     eager push of local events, lazy announcements; the
                        checks against the memory of refused events
      gossip_hold.c     received events to the log: push inbox, reorder window
      gossip_sync.c     reconciliation sessions, initiator and responder, and
                        their receiver-paced transfers
      gossip_query.c    remote calls read off the ROUTER
      gossip_monitor.c  the listening socket's monitor: outsiders counted
      gossip_beacon.c   LAN discovery
      gossip.c          the public API, the socket handlers, the timers
      gossip_client.c   the one-off client call (uses gossip_link.c only)

    Threading: everything here runs on the owner's zloop thread.
*/
#ifndef HEARTH_GOSSIP_INTERNAL_H
#define HEARTH_GOSSIP_INTERNAL_H

#include "gossip.h"
#include "gossip_admit.h"
#include "gossip_budget.h"
#include "gossip_link.h"
#include "gossip_overlay.h"
#include "gossip_progress.h"
#include "gossip_refused.h"
#include "gossip_session.h"
#include "gossip_tick.h"
#include "gossip_want.h"
#include "gossip_wire.h"
#include "gossip_zap.h"
#include "negentropy_store.h"
#include "riblt_encoder.h"

/* ---- tuning shared by several files (named, explained) --------------------------- */

/*  Fetched events are stored in lamport order, in batches of up to this many
    bytes (or when no fetch is outstanding): an event needs its author's
    membership events (lower lamports) stored first. Negentropy reports the
    missing ids of a peer's IdList in the peer's (lamport, hash) order, and
    an empty node joining learns all its needs in that order (a join's
    IdLists hold ~32,000 ids each), so fetched events arrive nearly sorted;
    the window sorts what several sessions or announcements interleave. A
    bigger one only adds memory (docs/performance.md, "Join memory"). */
#define GOSSIP_REORDER_BYTES        (4 * 1024 * 1024)
/*  Frames queued per link and direction (ZMQ_SNDHWM and ZMQ_RCVHWM) before
    sends fail with EAGAIN: with GOSSIP_BATCH_BYTES frames about 8 MiB each
    way per peer. */
#define GOSSIP_SNDHWM               128
/*  libzmq drops a connection sending a frame over this (the application
    check at GOSSIP_MAX_FRAME_BYTES counts the ones in between). */
#define GOSSIP_MAXMSGSIZE           (GOSSIP_MAX_FRAME_BYTES + 64 * 1024)
/*  ZMTP heartbeats (both ends of a link, handled by libzmq's I/O thread):
    a ping every 5 s, the connection is dropped when 10 s pass after one
    without traffic, so a silently dead peer is noticed within 15 s (the
    bound of an in link's GOSSIP_LINK_SILENT_MS) at a fifth of the wake-ups
    a 1 s ping costs on every link. */
#define GOSSIP_HEARTBEAT_IVL_MS     5000
#define GOSSIP_HEARTBEAT_TIMEOUT_MS 10000
/*  Peer addresses a hello or a redirect carries at most: a sample of the
    known-peer table (gossip_overlay_sample). */
#define GOSSIP_HELLO_PEERS          GOSSIP_OVERLAY_SAMPLE
/*  Addresses from hellos whose key is not a member in our view (yet: a
    joining node learns its peers' addresses before their membership
    events) are held at most this many, never dialled, and dialled once
    the key is a member; the oldest goes first. Two hellos' worth. */
#define GOSSIP_LEARN_HELD           (2 * GOSSIP_HELLO_PEERS)
/*  Inbound links kept at most (live or remembered for `peers`). */
#define GOSSIP_MAX_INBOUND          (4 * GOSSIP_MAX_PEERS)
/*  Frames read per socket per loop wake-up before yielding to other sockets. */
#define GOSSIP_RECV_BURST           64
/*  Connections of the listening socket whose handshake verdict is awaited,
    tracked at most to classify outsiders (gossip.h handshake_*): inbound
    links at most plus as many again for query clients and attempts; an
    untracked one is simply not classified. */
#define GOSSIP_MONITOR_CONNS        (2 * GOSSIP_MAX_INBOUND)

/*  Keys whose in link was refused recently, remembered at most: a refused
    dialler's frames until it reads the redirect are dropped without asking
    the overlay again, one redirect a GOSSIP_REDIRECT_IVL_MS per key. A
    community's members are the only keys that pass ZAP, so a few dozen
    cover a burst of joiners; the oldest goes first. */
#define GOSSIP_REFUSALS             32

/*  A key whose in link this node refused (see GOSSIP_REFUSALS). */
typedef struct {
    uint8_t   key [HEARTH_KEY_BYTES];
    uint64_t  redirect_mono;                /* last redirect sent to it */
    uint64_t  log_mono;                     /* last log line about it */
} gossip_refusal_t;

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
    gossip_query_async_fn *query_async_fn;  /* if set, used instead of query_fn */
    void               *query_async_arg;    /* borrowed */
    gossip_admit_t     *admit;              /* owned: limits of remote queries */
    gossip_budget_t    *budget;             /* owned: per-peer budget of responder work */
    gossip_query_t          *queries;            /* owned array: admitted, not yet served */
    size_t              n_queries, cap_queries;
    int                 tick_timer, sync_timer;     /* tick_timer: every GOSSIP_TICK_IDLE_MS */
    int                 tick_soon_timer;    /* one-shot GOSSIP_TICK_MS tick, -1 = not armed */
    uint64_t            next_id;            /* sessions, fetches, pings */
    gossip_pending_t        *pending;            /* owned array */
    size_t              n_pending, cap_pending;
    gossip_announce_t       *announce;           /* owned array: hashes to announce, oldest first */
    size_t              n_announce, cap_announce;
    int                 announce_timer;     /* one-shot zloop timer, -1 = not armed */
    gossip_want_t      *want;               /* owned: announced hashes we lack */
    gossip_progress_t   progress;           /* when to log sync progress */
    gossip_refused_t   *refused;            /* owned: events we refused, not fetched again */
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
    gossip_overlay_t   *overlay;            /* owned: known peers, which out links to keep */
    int                 overlay_loaded;     /* the stored table was read: saving may replace it */
    int                 overlay_due;        /* plan at the next tick (learned, lost a link) */
    uint64_t            overlay_plan_mono;  /* last plan */
    uint64_t            overlay_save_mono;  /* last save attempt, 0 = none yet */
    uint64_t            overlay_prune_mono; /* last check of the table against the membership view */
    int                 overlay_grew;       /* a member was learned since the last hello refresh */
    uint64_t            hello_refresh_mono; /* last hello refresh on the out links */
    gossip_link_t     **retired;            /* owned array of owned out links closed by the
                                               overlay: off the loop, destroyed by the next tick */
    size_t              n_retired, cap_retired;
    gossip_refusal_t    refusals [GOSSIP_REFUSALS];     /* oldest first */
    size_t              n_refusals;
};

/* ---- gossip_link.c (beyond gossip_link.h) ---------------------------------------- */

/*  There is work for the tick: have it run within GOSSIP_TICK_MS
    (gossip_tick.h). */
void gossip_tick_soon (gossip_t *self);

/*  Why a session starts; the mode follows from it and cfg.reconcile. */
typedef enum {
    GOSSIP_SYNC_CONNECT,                    /* a (re)connect: head differences, or scattered */
    GOSSIP_SYNC_PERIODIC,                   /* the periodic check: stragglers at random places */
    GOSSIP_SYNC_SCATTERED,                  /* a (re)connect's v1 round found scattered differences */
    GOSSIP_SYNC_REPAIR                      /* a fault, a dependency retry, you_lack, a fallback */
} gossip_sync_reason_t;

/* ---- gossip_store.c -------------------------------------------------------------- */

/*  A store query's own error (HEARTH_ECORRUPT, HEARTH_EIO): logged, the
    store marked stale (rebuilt by the tick). True if rc was one. */
int gossip_store_trouble (gossip_t *self, int rc);
/*  Split the store's grown pages, now that the log holds what was inserted. */
void gossip_store_settle (gossip_t *self);
/*  A store backed by the log's order index and the rateless encoder of the
    same set (none with reconcile = v1), both filled by one scan: 0 or an
    error (nothing allocated). */
int gossip_store_build (gossip_t *self, negentropy_store_t **store_p, riblt_encoder_t **encoder_p);

/* ---- gossip_push.c --------------------------------------------------------------- */

/*  The event log's accept hook (arg: the gossip_t): the store, the
    membership re-check, eager push of local appends, announcements. */
void gossip_accept_hook (void *arg, const event_t *ev, const void *origin);
/*  Push the local appends waiting in self->pending to every push target. */
void gossip_flush_pending (gossip_t *self);
/*  Announce the hashes that have waited GOSSIP_ANNOUNCE_DELAY_MS; re-arm. */
void gossip_flush_announce (gossip_t *self);
/*  Ask l for the announced hashes queued for it (within the fetch window). */
void gossip_pump_want (gossip_link_t *l);
/*  A GossipAnnounce from l. */
void gossip_on_announce (gossip_link_t *l, const Hearth__GossipAnnounce *a);
/*  The membership context of refusals (gossip_refused.h, CONTEXT): the
    stored membership events, a count that only grows. */
uint64_t gossip_refusal_context (gossip_t *self);
/*  Is hash (which we lack) not to be fetched now, refused before?
    Counted (refused_skipped, refused_retried). */
int gossip_refusal_skip (gossip_t *self, const uint8_t *hash, uint64_t context, uint64_t now);

/* ---- gossip_hold.c --------------------------------------------------------------- */

/*  Store the pushed events gathered in this read burst in one ingest call. */
void gossip_inbox_flush (gossip_link_t *l);
/*  A GossipEvents push from l: into the inbox. */
void gossip_on_push (gossip_link_t *l, const Hearth__GossipEvents *ev);
/*  Store the reorder window's events in lamport order. */
void gossip_held_flush (gossip_link_t *l);
/*  Hold one fetched event (copied) in the reorder window. */
void gossip_hold (gossip_link_t *l, const uint8_t *wire, size_t len);

/* ---- gossip_sync.c --------------------------------------------------------------- */

/*  Start a session for `why` on an up link unless one runs. */
void gossip_sync_start (gossip_link_t *l, gossip_sync_reason_t why);
/*  Abandon the initiator session and its transfers; reconcile again later. */
void gossip_sync_abandon (gossip_link_t *l, const char *why);
/*  Move the initiator's transfers on; end the session when all is done. */
void gossip_sync_pump (gossip_link_t *l);
/*  The responder's answer to our reconciliation message. */
void gossip_on_neg_reply (gossip_link_t *l, const Hearth__GossipNeg *n);
/*  A fetch answer (GossipEvents) from l. */
void gossip_on_events (gossip_link_t *l, const Hearth__GossipEvents *ev);
/*  The held reconciliation message of the peer, if its budget allows now. */
void gossip_neg_pump (gossip_link_t *l);
/*  A reconciliation message (open = neg_open) from the peer. */
void gossip_on_neg (gossip_link_t *l, const Hearth__GossipNeg *n, int open);
/*  Answer the peer's held fetches as far as its budget goes. */
void gossip_fetch_pump (gossip_link_t *l);
/*  A fetch from the peer. */
void gossip_on_fetch (gossip_link_t *l, const Hearth__GossipFetch *f);

/* ---- gossip_query.c -------------------------------------------------------------- */

/*  Answer a call on the ROUTER with an error. */
void gossip_reply_error (gossip_t *self, const uint8_t *rid, size_t rid_len, uint64_t request_id, int err,
                         const char *message);
/*  Serve the queries admitted during the last read burst, in order. */
void gossip_queries_serve (gossip_t *self);
/*  A remote capability call read off the ROUTER. */
void gossip_on_query (gossip_t *self, const uint8_t *rid, size_t rid_len, const uint8_t key [32],
                      const char *who, const Hearth__GossipQuery *q);

/* ---- gossip_monitor.c, gossip_beacon.c ------------------------------------------- */

/*  Watch the listening socket's connections (counts of outsiders). */
int gossip_router_monitor_start (gossip_t *self);
/*  Start LAN discovery: publish our beacon (if listening), hear others'. */
int gossip_beacon_start (gossip_t *self);

/* ---- gossip.c -------------------------------------------------------------------- */

/*  zloop handlers of an out link (arg: the link), registered by gossip_link.c. */
int gossip_on_dealer (zloop_t *loop, zsock_t *sock, void *arg);
int gossip_on_monitor (zloop_t *loop, zsock_t *sock, void *arg);
/*  zloop handler of the one-shot tick armed by gossip_tick_soon (arg: the
    gossip_t). */
int gossip_on_tick_soon (zloop_t *loop, int timer_id, void *arg);

#endif
