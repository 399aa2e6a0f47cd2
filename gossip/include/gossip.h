/*  gossip.h — the mesh: members-only CURVE links, eager push, Negentropy
    anti-entropy and remote market queries (docs/architecture.md §8, §9;
    the protocol: docs/sync.md §7).

    Sockets, all on the node's zloop (the node's main thread owns the event
    log; gossip never blocks it):
      - ROUTER bound on cfg->listen (CURVE server, ZMQ_ZAP_DOMAIN "hearth.<n>",
        one domain per instance: the handler is per process, gossip_zap.h).
      - A ZAP handler (REP on inproc://zeromq.zap.01) started before any bind:
        admits a CURVE client key only if it converts from the Ed25519 key of
        a current, unrevoked member, or of the invitee of a pending, unexpired
        invite (so it can join). Denials are counted. The peer identity used
        everywhere is the ZAP-authenticated key (the "User-Id" metadata),
        never a routing id. All gossip_t of one process must share one zloop
        (thread): the ZAP handler reads their membership views there.
      - One DEALER per outgoing peer (CURVE client; the server key is derived
        from the NODE_ID in the peer address "NODE_ID@tcp://HOST:PORT"),
        ZMQ reconnect with backoff, heartbeats, send high-water marks and
        send timeouts of 0: a slow or dead peer never blocks the node.
      - Members only in both directions: CURVE proves only that a listener
        holds the key in its address, so an out link is dialled, kept up and
        sent to only while its key is a member or a pending invitee in this
        node's view (the same rule ZAP applies; a joining node's configured
        peers excepted, see gossip_link.c gossip_link_allowed); addresses from hellos
        and beacons are dialled only for members. A key that stops being
        one has every link closed, in (its connection shut down) and out.
      - The ROUTER's socket monitor classifies outsiders that fail before
        ZAP (junk, wrong mechanism, wrong server key; gossip_stats_t).
    Keys: Curve25519 keys derived from the node's Ed25519 identity
    (crypto_sign_ed25519_{pk,sk}_to_curve25519).

    Sync:
      - Eager push: an event appended locally (first-hand: this node's
        operator) goes at once, in full, to every connected peer.
      - Lazy push: an event accepted from a peer (pushed or fetched) is only
        announced: its hash goes to every connected peer but its source,
        batched, after GOSSIP_ANNOUNCE_DELAY_MS. A peer that lacks it asks
        the announcer with the fetch that anti-entropy uses, and another
        announcer if no answer comes in GOSSIP_ANNOUNCE_TIMEOUT_MS
        (gossip_want.h). Peers of link version 1 still get full events.
      - Anti-entropy: on every (re)connect and every cfg->sync_interval_ms
        with one random connected peer, a reconciliation session over the
        incremental store of (lamport, event hash) of every stored event, in
        Negentropy v1 (NIP-77) or Hearth's rateless IBLT mode (cfg->reconcile;
        docs/sync.md §6, §7.4: a (re)connect opens in v1 and switches to
        the rateless mode after one round when the differences turn out
        scattered over the order; the periodic check is rateless);
        then the initiator pushes what the peer lacks and fetches what it
        lacks by hash in frame-capped batches, receiver-paced (a bounded
        window of outstanding hashes). As responder, a node answers a
        peer's reconciliation messages and fetches within that peer's
        budget (gossip_budget.h: credit from its bytes, owed events, a
        pace, session rates); over it they wait, held, for the tick.
    Remote queries: an authenticated member may call market.list,
    market.search, embed.text and node.capabilities over its link (the
    query handler decides; market.post and market.expire are refused as
    unauthorized). Each call first passes
    admission (gossip_admit.h: hard and soft rates per peer,
    each capability's max_concurrent, a per-peer pending cap) and carries
    its caller's budget (timeout_ms); calls are served one at a time on the
    loop, and one that waited its whole budget is answered `timeout`
    without running. A handler may take a call and answer it later
    (gossip_query_finish: a search waiting for its query embedding); it
    stays in flight for admission until then.
*/
#ifndef HEARTH_GOSSIP_H
#define HEARTH_GOSSIP_H

#include <stddef.h>
#include <stdint.h>
#include <czmq.h>
#include <jansson.h>
#include "eventlog.h"
#include "gossip_admit.h"
#include "gossip_stats.h"
#include "gossip_wire.h"                        /* GOSSIP_MAX_FRAME_BYTES, GOSSIP_MAX_ADDRESS */
#include "identity.h"

/*  The reconciliation store (negentropy_store.h, private to gossip):
    opaque here, so gossip_store_new needs no reconciliation header. */
typedef struct _negentropy_store_t negentropy_store_t;

#ifdef __cplusplus
extern "C" {
#endif

/*  Default peer port (docs/limits.md). */
#define GOSSIP_DEFAULT_PORT            7400
/*  Default anti-entropy interval with one random peer. */
#define GOSSIP_SYNC_INTERVAL_MS        10000
/*  Outgoing peers at most (static + learned + discovered). */
#define GOSSIP_MAX_PEERS               64
/*  input_json of a remote query at most (bad_request beyond): a market.list
    or market.search input is well under 1 KiB, and admitted queries wait
    in memory, at most the sum of the capabilities' max_concurrent (8 + 4 +
    4 for "other" today): 1 MiB in all. */
#define GOSSIP_QUERY_MAX_INPUT_BYTES   (64 * 1024)

/*  Lazy push (docs/sync.md §7.4; the per-frame cap is
    GOSSIP_WIRE_MAX_ANNOUNCE in gossip_wire.h).
    An accepted event's hash waits this long before it is announced, batched
    with whatever else was accepted meanwhile: the author node's own push
    left before ours could, so a peer linked to it has the event by then
    and never asks for it (one loopback hop takes well under 1 ms; 10 ms
    also covers a busy box). Each relay hop costs this plus a round trip. */
#define GOSSIP_ANNOUNCE_DELAY_MS       10
/*  Hashes waiting to be announced at most (one store of held fetched events
    is up to ~48,000 events, GOSSIP_REORDER_BYTES); beyond, they are not
    announced and every peer is reconciled with instead. 72 bytes each. */
#define GOSSIP_ANNOUNCE_QUEUE_MAX      65536
/*  Hashes we lack that one peer may have assigned to it at most (announced
    by it and queued or requested, or claimed by a session's fetch from
    it): the anti-entropy fetch window, ~1.4 MB of events. More announced
    by that peer are dropped (counted) and we reconcile with it; more
    claims are simply not tracked. */
#define GOSSIP_ANNOUNCE_PENDING_PEER   4096
/*  Hashes we lack tracked at most, all peers, including fetched ones held
    until they are stored (~1.3 MB). */
#define GOSSIP_ANNOUNCE_PENDING_MAX    16384
/*  Fetches of announced hashes outstanding per peer (each up to
    GOSSIP_WIRE_MAX_FETCH hashes): receiver-paced like anti-entropy's. */
#define GOSSIP_ANNOUNCE_FETCH_WINDOW   4
/*  A fetch of announced hashes whose peer has sent no answer frame for
    this long is given up: its hashes are asked from another announcer, or,
    with none, left to a reconciliation with the peer. Long enough for one
    64 KiB answer frame on a ~1 Mbit/s radio link. */
#define GOSSIP_ANNOUNCE_TIMEOUT_MS     2000

/*  Which reconciliation modes a node uses (docs/sync.md §6, §7.4). */
typedef enum {
    /*  Negentropy v1 after a (re)connect, switched to the rateless mode
        after its first round when the differences are scattered over the
        order; the rateless mode for the periodic check; v1 for repairs. */
    GOSSIP_RECONCILE_AUTO     = 0,
    /*  Negentropy v1 (NIP-77) only, like a stock peer: never offers the
        rateless mode and declines it (no IBLT encoder is kept). */
    GOSSIP_RECONCILE_V1       = 1,
    /*  The rateless mode first after a (re)connect too (v1 when the peer
        declines it or the difference is too large for it). */
    GOSSIP_RECONCILE_RATELESS = 2
} gossip_reconcile_t;

typedef struct {
    char        listen [GOSSIP_MAX_ADDRESS];    /* "tcp://HOST:PORT", "" = no listener */
    char        advertise [GOSSIP_MAX_ADDRESS]; /* endpoint others should dial; "" = listen */
    const char *const *peers;                   /* borrowed for gossip_new: peer addresses */
    size_t      n_peers;
    int         discovery;                      /* 1: zbeacon LAN discovery */
    uint32_t    sync_interval_ms;               /* 0 = GOSSIP_SYNC_INTERVAL_MS */
    int         no_learn;                       /* 1: link only to cfg.peers, never to peers
                                                   learned from hellos (a fixed topology, e.g.
                                                   a test's chain; the overlay's pin_seeds) */
    size_t      links_out;                      /* out links the overlay keeps, 0 = GOSSIP_OVERLAY_OUT */
    size_t      links_in_max;                   /* members' in links accepted, 0 = GOSSIP_OVERLAY_IN_MAX */
    gossip_reconcile_t reconcile;               /* default GOSSIP_RECONCILE_AUTO */
    size_t      refused_max;                    /* refused hashes remembered (gossip_refused.h),
                                                   0 = GOSSIP_REFUSED_MAX; smaller for tests */
    uint32_t    progress_interval_ms;           /* sync progress lines at most this often,
                                                   0 = GOSSIP_PROGRESS_INTERVAL_MS; smaller for tests */
} gossip_config_t;

/*  Fill cfg with defaults (no listener, no peers, discovery off). */
void gossip_config_defaults (gossip_config_t *cfg);

/*  Parse "NODE_ID@tcp://HOST:PORT": key (32 bytes) and endpoint (copied,
    capacity GOSSIP_MAX_ADDRESS). 0 or HEARTH_EINVAL. */
int gossip_address_parse (const char *address, uint8_t key [32], char endpoint [GOSSIP_MAX_ADDRESS]);

typedef struct _gossip_t gossip_t;

/*  Handler for remote capability calls from authenticated members. Same
    contract as market_handle: 0 and *output (caller owns) or a negative
    error and *message (malloc'd, may be NULL). */
typedef int (gossip_query_fn) (void *arg, const char *capability, const json_t *input,
                               const uint8_t caller [32], json_t **output, char **message);

/*  New mesh layer on `log` and `self_id` (both borrowed until destroy):
    starts the ZAP handler, binds the listener, opens peer links, installs
    the log's accept hook, builds the reconciliation store from the log, and
    registers its sockets and timers on `loop` (borrowed until destroy).
    NULL + *err (HEARTH_EINVAL bad address, HEARTH_EIO bind failed). */
gossip_t *gossip_new (eventlog_t *log, const identity_t *self_id, zloop_t *loop,
                      const gossip_config_t *cfg, int *err);
/*  Close links and remove from the loop; safe on NULL; nulls *self_p. */
void gossip_destroy (gossip_t **self_p);

/*  Route remote queries to fn(arg, ...) (arg borrowed until destroy). */
void gossip_set_query_handler (gossip_t *self, gossip_query_fn *fn, void *arg);

/*  A remote query answered later (a handler waiting for other work, e.g. an
    embedding call): the handler took it and answers it with
    gossip_query_finish, exactly once. It counts as in flight for admission
    until then. Every one must be finished before gossip_destroy. */
typedef struct _gossip_deferred_t gossip_deferred_t;
#define GOSSIP_QUERY_DEFERRED 1
/*  Like gossip_query_fn, plus `pending` (owned by gossip): return
    GOSSIP_QUERY_DEFERRED to take it (then the handler owns it until
    gossip_query_finish), or answer now as gossip_query_fn does. */
typedef int (gossip_query_async_fn) (void *arg, const char *capability, const json_t *input,
                                     const uint8_t caller [32], gossip_deferred_t *pending,
                                     json_t **output, char **message);
/*  Route remote queries to fn instead of the gossip_query_fn (arg borrowed
    until destroy). */
void gossip_set_query_async_handler (gossip_t *self, gossip_query_async_fn *fn, void *arg);
/*  Answer a deferred query: output (borrowed; when rc is 0) or the error rc
    with message (borrowed, may be NULL); frees pending. */
void gossip_query_finish (gossip_deferred_t *pending, int rc, const json_t *output,
                          const char *message);
/*  The budget the caller gave the deferred query (ms from its arrival). */
uint64_t gossip_query_budget_ms (const gossip_deferred_t *pending);

/*  Limits of a capability served to peers (docs/protocol.md: max_concurrent and
    timeout_seconds, here in ms): calls in flight at most, and the longest a
    call may wait to start. Names never set share GOSSIP_ADMIT_OTHER's. 0,
    HEARTH_EINVAL, HEARTH_ECAPACITY (GOSSIP_ADMIT_MAX_CAPS). */
int gossip_query_limits_set (gossip_t *self, const char *capability, uint32_t max_concurrent,
                             uint32_t timeout_ms);

/*  Per-capability admission figures of remote queries (GOSSIP_ADMIT_OTHER
    first): *caps is borrowed until destroy; returns their number. */
size_t gossip_query_stats (const gossip_t *self, const gossip_admit_cap_t **caps);

/*  Add an outgoing peer at runtime (an operator's address, like --peer). It
    is dialled only while its key is a member or a pending invitee here (or
    while this node is joining, see gossip_link.c gossip_link_allowed); until then it
    is kept, undialled, and counted in nonmember_links. 0, HEARTH_EINVAL,
    HEARTH_ECAPACITY, HEARTH_EEXISTS (already linked). */
int gossip_peer_add (gossip_t *self, const char *address);

/*  This node's address "NODE_ID@tcp://HOST:PORT" (the bound endpoint, with a
    wildcard host replaced by the advertise host or 127.0.0.1), or NULL when
    not listening. Borrowed. */
const char *gossip_address (const gossip_t *self);

/*  A peer's lag behind or ahead of us: peer_head - our_head, both
    Lamport heads (the peer's is what it claims, any 64-bit value),
    saturated to [-INT64_MAX, INT64_MAX] instead of wrapping. Pure. */
int64_t gossip_lag (uint64_t peer_head, uint64_t our_head);

/*  {"peers":[{node_id, short_id, address|null, direction:"out"|"in",
    connected, last_seen (RFC 3339)|null, bytes_in, bytes_out, events_pushed,
    events_pulled, lag (their head - ours, from the last hello, ping or
    pong; gossip_lag)}]}. New
    object, caller owns. */
json_t *gossip_peers_json (gossip_t *self);

/*  The known-peer table (gossip_overlay.h; `hearthctl peers --known`):
    {"known":[{node_id, short_id, address, last_reached (RFC 3339)|null,
    last_reached_age_s|null, fails (failed dials since last reached), from
    ("seed"|"hello"|"discovery"|"invite"|"link": how it was first learned),
    seed, linked ("out"|"in"|"both"|null: links up now), retry_in_ms (0 =
    may be dialled now)}]}. New object, caller owns. */
json_t *gossip_known_json (gossip_t *self);

/*  Counters for the stats socket (the rows of gossip_stats.h). */
const gossip_stats_t *gossip_stats (const gossip_t *self);

/*  The reconciliation store a node keeps: backed by log's order index
    (pages read on demand, docs/sync.md §3), filled by one scan of it. log
    is borrowed until the store is destroyed; the caller inserts what the
    log accepts afterwards and settles (negentropy_store.h). Returns the
    store (caller owns) or NULL with *err (HEARTH_ENOMEM, HEARTH_EIO). */
negentropy_store_t *gossip_store_new (eventlog_t *log, int *err);

/*  Client side for `hearthctl --node ADDRESS`: one CURVE-authenticated call
    as `id` (a member) to the node at address. 0 and *output (caller owns),
    or a negative error and *message (malloc'd), with *retry_after_ms (if
    not NULL) the node's hint for rate_limited and capacity_exceeded, else 0.
    timeout_ms is both how long this waits (HEARTH_ETIMEOUT after it, also
    when the node dropped the call over its hard rate limit) and the budget
    sent with the call; callers pass at most the capability's timeout. */
int gossip_client_call (const identity_t *id, const char *address, const char *capability,
                        const json_t *input, int timeout_ms, json_t **output, char **message,
                        uint64_t *retry_after_ms);

#ifdef __cplusplus
}
#endif
#endif
