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
    The loop ends on SIGINT/SIGTERM (read from a signalfd; s_on_signal sets zsys_interrupted);
    views are snapshotted and everything closed in reverse order. SIGHUP
    (read from the same signalfd, when the caller blocks it: hearthd does)
    reopens the log file, re-reads the config through the caller's reload
    function and applies what can change while running
    (node_daemon_apply_config), and re-reads the search synonym file.
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

/*  Environment variable that shortens the interval of sync progress lines
    (milliseconds, NODE_DAEMON_PROGRESS_MIN_MS up to the default
    GOSSIP_PROGRESS_INTERVAL_MS): for tests, which cannot wait 5 s a line. */
#define NODE_DAEMON_PROGRESS_ENV     "HEARTH_SYNC_PROGRESS_MS"
#define NODE_DAEMON_PROGRESS_MIN_MS  20

typedef struct _node_daemon_t node_daemon_t;

/*  Open everything cfg (borrowed for the call) describes and bind the
    sockets. NULL on failure with *err (negative hearth_err_t) and *message
    (malloc'd, caller frees) saying what to do about it. */
node_daemon_t *node_daemon_new (const node_config_t *cfg, int *err, char **message);

/*  Builds the config anew, as at start-up (defaults, the config file,
    the flags): 0 with *cfg filled, or a negative error with *message
    (malloc'd, caller frees). */
typedef int (node_daemon_reload_fn) (void *arg, node_config_t *cfg, char **message);

/*  Call fn (arg borrowed until destroy) on SIGHUP; without one, SIGHUP
    only reopens the log and re-reads the synonym file. */
void node_daemon_set_reload (node_daemon_t *self, node_daemon_reload_fn *fn, void *arg);

/*  Told when a SIGHUP reload starts (reloading 1, before anything is
    re-read) and when it has ended (reloading 0, the node serves again):
    hearthd tells systemd (RELOADING=1 / READY=1), so `systemctl reload`
    waits for the reload to finish. */
typedef void (node_daemon_notify_fn) (void *arg, int reloading);

/*  Call fn (arg borrowed until destroy) around each reload; NULL = none. */
void node_daemon_set_notify (node_daemon_t *self, node_daemon_notify_fn *fn, void *arg);

/*  Apply a new config (borrowed) to a running node: log level, format and
    file; market TTLs and sweep interval; snapshot interval; peers added.
    Everything else that changed is logged by key as needing a restart and
    kept as it runs. Returns the number of keys applied. */
int node_daemon_apply_config (node_daemon_t *self, const node_config_t *cfg);

/*  What SIGHUP does, callable directly (tests): reopen the log file, reload
    the config (a config with an error is refused with one error line; the
    running config stays), re-read the synonym file; the notify function
    is called before and after. */
void node_daemon_reload (node_daemon_t *self);

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
