/*  gossip.h — the mesh: members-only CURVE links, eager push, Negentropy
    anti-entropy and remote market queries (DESIGN §5, §6; issue 3).

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
    Keys: Curve25519 keys derived from the node's Ed25519 identity
    (crypto_sign_ed25519_{pk,sk}_to_curve25519).

    Sync:
      - Eager push: every event accepted by the log (local or received) goes
        at once to every connected peer except the one it came from.
      - Anti-entropy: on every (re)connect and every cfg->sync_interval_ms
        with one random connected peer, a reconciliation session over the
        incremental store of (lamport, event hash) of every stored event, in
        Negentropy v1 (NIP-77) or Hearth's rateless IBLT mode (cfg->reconcile;
        docs/sync.md §6, §7.4: a (re)connect opens in v1 and switches to
        the rateless mode after one round when the differences turn out
        scattered over the order; the periodic check is rateless);
        then the initiator pushes what the peer lacks and fetches what it
        lacks by hash in frame-capped batches, receiver-paced (a bounded
        window of outstanding hashes).
    Remote queries: an authenticated member may call market.list and
    market.search over its link (the query handler decides; market.post and
    market.expire are refused as unauthorized).
*/
#ifndef HEARTH_GOSSIP_H
#define HEARTH_GOSSIP_H

#include <stddef.h>
#include <stdint.h>
#include <czmq.h>
#include <jansson.h>
#include "eventlog.h"
#include "identity.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  Default peer port (DESIGN §2). */
#define GOSSIP_DEFAULT_PORT            7400
/*  Default anti-entropy interval with one random peer. */
#define GOSSIP_SYNC_INTERVAL_MS        10000
/*  Outgoing peers at most (static + learned + discovered). */
#define GOSSIP_MAX_PEERS               64
/*  Bytes of one gossip frame at most; bigger frames are dropped, counted. */
#define GOSSIP_MAX_FRAME_BYTES         (1024 * 1024)
/*  A peer address "NODE_ID@tcp://HOST:PORT" at most. */
#define GOSSIP_MAX_ADDRESS             256

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
    gossip_reconcile_t reconcile;               /* default GOSSIP_RECONCILE_AUTO */
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

/*  Add an outgoing peer at runtime. 0, HEARTH_EINVAL, HEARTH_ECAPACITY,
    HEARTH_EEXISTS (already linked). */
int gossip_peer_add (gossip_t *self, const char *address);

/*  This node's address "NODE_ID@tcp://HOST:PORT" (the bound endpoint, with a
    wildcard host replaced by the advertise host or 127.0.0.1), or NULL when
    not listening. Borrowed. */
const char *gossip_address (const gossip_t *self);

/*  {"peers":[{node_id, short_id, address|null, direction:"out"|"in",
    connected, last_seen (RFC 3339)|null, bytes_in, bytes_out, events_pushed,
    events_pulled, lag (their head - ours, from the last hello)}]}. New
    object, caller owns. */
json_t *gossip_peers_json (gossip_t *self);

/*  Counters for the stats socket. */
typedef struct {
    uint64_t peers_connected;            /* gauge */
    uint64_t events_pushed;              /* sent by eager push */
    uint64_t events_pulled;              /* received after a fetch */
    uint64_t events_received;            /* all events received over links */
    uint64_t reconcile_rounds;           /* sessions completed (as initiator) */
    uint64_t reconcile_rateless;         /* of which in the rateless IBLT mode (docs/sync.md §6) */
    uint64_t reconcile_round_trips;      /* answers to our sessions' messages, both modes */
    uint64_t reconcile_fallbacks;        /* rateless sessions replaced by v1 (declined, too large) */
    uint64_t reconcile_switches;         /* v1 sessions replaced by rateless (scattered differences) */
    uint64_t reconcile_bytes;            /* reconciliation message bytes in + out, both roles and modes */
    uint64_t reconcile_bytes_rateless;   /* of which rateless-mode messages (first byte 0x48) */
    uint64_t bytes_in, bytes_out;        /* all link bytes */
    uint64_t zap_denied;                 /* handshakes refused */
    uint64_t frames_dropped;             /* bad frames from peers */
    uint64_t last_sync_ms;               /* wall ms of the last completed session, 0 = never */
} gossip_stats_t;
const gossip_stats_t *gossip_stats (const gossip_t *self);

/*  Client side for `hearthctl --node ADDRESS`: one CURVE-authenticated call
    as `id` (a member) to the node at address. 0 and *output (caller owns),
    or a negative error and *message (malloc'd). HEARTH_ETIMEOUT after
    timeout_ms. */
int gossip_client_call (const identity_t *id, const char *address, const char *capability,
                        const json_t *input, int timeout_ms, json_t **output, char **message);

#ifdef __cplusplus
}
#endif
#endif
