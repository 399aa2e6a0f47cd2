/*  node_daemon.h — one running Hearth node: identity, event log, market,
    the mesh (gossip), control and stats sockets, sweeper, all driven by one
    zloop.

    Start-up order (each failure is a clear message and a non-zero exit):
      data dir exists -> identity (DIR/keys, permissions checked) -> event
      log (DIR/db; HEARTH_ELOCKED if another process holds it) -> community
      present -> market service -> views restored and the tail replayed ->
      control socket (stale file removed, bound, chmod 0600) -> stats socket
      (+ optional tcp endpoint) -> sweeper timer -> the mesh (ZAP handler,
      peer listener, links to the configured peers; remote market.list and
      market.search served with the caller's key) -> the join check (an
      invitee appends community.member.joined once its invite has synced).
    The loop ends on SIGINT/SIGTERM (CZMQ's handler sets zsys_interrupted);
    views are snapshotted and everything closed in reverse order.
    The mesh's sockets and timers share the loop, so the event log is only
    ever touched from this one thread.
*/
#ifndef HEARTH_NODE_DAEMON_H
#define HEARTH_NODE_DAEMON_H

#include "node_config.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  Linger on shutdown for replies still queued to clients: 100 ms. */
#define NODE_DAEMON_LINGER_MS        100
/*  ZMQ_MAXMSGSIZE of the stats socket: its requests are "json" or
    "prometheus"; 256 bytes leaves room and drops anything abusive. */
#define NODE_DAEMON_STATS_MAX_BYTES  256

/*  How often a joining node checks whether its invite has arrived by sync:
    100 ms (two in-memory lookups per tick; the timer stops once joined). */
#define NODE_DAEMON_JOIN_CHECK_MS    100

typedef struct _node_daemon_t node_daemon_t;

/*  Open everything cfg (borrowed for the call) describes and bind the
    sockets. NULL on failure with *err (negative hearth_err_t) and *message
    (malloc'd, caller frees) saying what to do about it. */
node_daemon_t *node_daemon_new (const node_config_t *cfg, int *err, char **message);

/*  Serve until SIGINT/SIGTERM. Returns 0 on a clean stop, or a negative
    error if the loop failed. */
int node_daemon_run (node_daemon_t *self);

/*  Snapshot views, close sockets (their files are removed), the market, the
    log and the identity. Safe on NULL; nulls *self_p. */
void node_daemon_destroy (node_daemon_t **self_p);

#ifdef __cplusplus
}
#endif
#endif
