/*  node_daemon.c — wiring of one node: opens the parts in order, binds the
    sockets, runs the zloop, and closes everything in reverse order.
*/
#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "eventlog.h"
#include "hearth_codec.h"
#include "hearth_error.h"
#include "hearth_log.h"
#include "identity.h"
#include "market.h"
#include "node_bus.h"
#include "node_client.h"
#include "node_control.h"
#include "node_daemon.h"
#include "node_stats.h"

#define S_LOG "hearthd"

struct _node_daemon_t {
    node_config_t  cfg;                 /* copy */
    identity_t    *identity;            /* owned */
    eventlog_t    *log;                 /* owned */
    market_t      *market;              /* owned */
    node_stats_t  *stats;               /* owned */
    node_bus_t    *bus;                 /* owned */
    zsock_t       *control;             /* owned: ROUTER on control.sock */
    zsock_t       *stats_sock;          /* owned: ROUTER on stats.sock (+tcp) */
    zloop_t       *loop;                /* owned */
    char           control_endpoint [NODE_CONFIG_PATH_MAX];
    char           stats_endpoint [NODE_CONFIG_PATH_MAX];
};

static char *
s_message (const char *fmt, ...)
{
    char *text = NULL;
    va_list args;
    va_start (args, fmt);
    if (vasprintf (&text, fmt, args) < 0)
        text = NULL;
    va_end (args);
    return text;
}

/*  Remove a socket file nobody listens on (left by a crash). Returns 0, or
    HEARTH_ELOCKED if a process still accepts connections on it. */
static int
s_clear_stale_socket (const char *endpoint, char **message)
{
    const char *path = endpoint + strlen ("ipc://");
    struct stat st;
    if (lstat (path, &st) != 0)
        return HEARTH_OK;
    int alive = node_client_ipc_probe (endpoint);
    if (alive == 1) {
        *message = s_message ("%s is served by another process although this one holds the "
                              "event log lock; stop that process first", path);
        return HEARTH_ELOCKED;
    }
    hlog_info (S_LOG, "removing stale socket file %s (no daemon answers on it)", path);
    if (unlink (path) != 0 && errno != ENOENT) {
        *message = s_message ("cannot remove stale socket file %s: %s", path, strerror (errno));
        return HEARTH_EIO;
    }
    return HEARTH_OK;
}

/*  Bind a ROUTER on an ipc endpoint with its file created 0600 (umask
    during bind, chmod right after, so no window where others can connect). */
static zsock_t *
s_bind_ipc (const char *endpoint, int max_bytes, int *err, char **message)
{
    int rc = s_clear_stale_socket (endpoint, message);
    if (rc != HEARTH_OK) {
        *err = rc;
        return NULL;
    }
    zsock_t *sock = zsock_new (ZMQ_ROUTER);
    if (!sock) {
        *err = HEARTH_EIO;
        *message = s_message ("cannot create a ZeroMQ socket");
        return NULL;
    }
    zsock_set_linger (sock, NODE_DAEMON_LINGER_MS);
    zsock_set_maxmsgsize (sock, max_bytes);
    /*  Replies to clients that went away are dropped, never block. */
    zsock_set_sndtimeo (sock, 0);
    mode_t old_mask = umask (0077);
    int bound = zsock_bind (sock, "%s", endpoint);
    int saved = errno;
    umask (old_mask);
    const char *path = endpoint + strlen ("ipc://");
    if (bound != 0) {
        *err = HEARTH_EIO;
        *message = s_message ("cannot bind %s: %s", endpoint, zmq_strerror (saved));
        zsock_destroy (&sock);
        return NULL;
    }
    if (chmod (path, S_IRUSR | S_IWUSR) != 0) {
        *err = HEARTH_EIO;
        *message = s_message ("cannot chmod 0600 %s: %s", path, strerror (errno));
        zsock_destroy (&sock);
        return NULL;
    }
    return sock;
}

/*  Read one ROUTER message and answer it with `serve`. Returns -1 to stop
    the loop only when interrupted. */
typedef char *(s_serve_fn) (node_daemon_t *self, const uint8_t *data, size_t len);

static int
s_serve_router (node_daemon_t *self, zsock_t *sock, s_serve_fn *serve)
{
    zmsg_t *msg = zmsg_recv (sock);
    if (!msg)
        return zsys_interrupted? -1: 0;
    zframe_t *id = zmsg_pop (msg);
    zframe_t *delimiter = NULL;
    /*  REQ clients put an empty delimiter before the body; keep and echo it. */
    if (zmsg_size (msg) >= 2 && zframe_size (zmsg_first (msg)) == 0)
        delimiter = zmsg_pop (msg);
    char *reply;
    if (!id)
        reply = NULL;
    else
    if (zmsg_size (msg) != 1) {
        hearth_log_limited (HEARTH_LOG_WARN, S_LOG, "control.frames",
                            "request with %zu body frames refused", zmsg_size (msg));
        reply = node_control_reply_error (HEARTH_EINVAL, "a request is exactly one frame (JSON)");
        node_stats_request_record (self->stats, NODE_STATS_CAP_INVALID, HEARTH_EINVAL, 0);
    }
    else {
        zframe_t *body = zmsg_first (msg);
        reply = serve (self, zframe_data (body), zframe_size (body));
    }
    if (id && reply) {
        zmsg_t *out = zmsg_new ();
        zmsg_append (out, &id);
        if (delimiter)
            zmsg_append (out, &delimiter);
        zmsg_addstr (out, reply);
        if (zmsg_send (&out, sock) != 0) {
            hearth_log_limited (HEARTH_LOG_WARN, S_LOG, "control.send",
                                "reply not sent (client gone?)");
            zmsg_destroy (&out);
        }
    }
    free (reply);
    zframe_destroy (&id);
    zframe_destroy (&delimiter);
    zmsg_destroy (&msg);
    return 0;
}

static char *
s_serve_control (node_daemon_t *self, const uint8_t *data, size_t len)
{
    return node_bus_handle_frame (self->bus, data, len);
}

static char *
s_serve_stats (node_daemon_t *self, const uint8_t *data, size_t len)
{
    return node_bus_stats_text (self->bus, data, len);
}

static int
s_on_control (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop;
    return s_serve_router ((node_daemon_t *) arg, sock, s_serve_control);
}

static int
s_on_stats (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop;
    return s_serve_router ((node_daemon_t *) arg, sock, s_serve_stats);
}

static int
s_on_sweep (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    node_daemon_t *self = (node_daemon_t *) arg;
    int appended = market_sweep (self->market, hearth_now_ms ());
    node_stats_sweep_record (self->stats, appended);
    if (appended < 0)
        hlog_warn (S_LOG, "sweeper pass failed: %s", hearth_strerror (appended));
    else
    if (appended > 0)
        hlog_info (S_LOG, "sweeper expired %d stale post(s)", appended);
    return 0;
}

/*  Open identity, log, market and views. */
static int
s_open_state (node_daemon_t *self, char **message)
{
    const node_config_t *cfg = &self->cfg;
    char keys [NODE_CONFIG_PATH_MAX], db [NODE_CONFIG_PATH_MAX];
    struct stat st;
    if (stat (cfg->data_dir, &st) != 0 || !S_ISDIR (st.st_mode)) {
        *message = s_message ("data dir %s does not exist: run `hearthctl --data-dir %s init` first",
                              cfg->data_dir, cfg->data_dir);
        return HEARTH_EKEYS;
    }
    if (node_config_keys_dir (cfg, keys, sizeof keys) != 0
    ||  node_config_db_dir (cfg, db, sizeof db) != 0) {
        *message = s_message ("data dir path is too long");
        return HEARTH_EINVAL;
    }
    int err = 0;
    self->identity = identity_load (keys, &err);
    if (!self->identity) {
        if (err == HEARTH_EKEYPERM)
            *message = s_message ("refusing to start: key file %s/device.ed25519 is readable or "
                                  "writable by group or others; fix it with "
                                  "`chmod 600 %s/device.ed25519`", keys, keys);
        else
        if (err == HEARTH_EKEYS)
            *message = s_message ("no valid identity in %s: run `hearthctl --data-dir %s init`",
                                  keys, cfg->data_dir);
        else
            *message = s_message ("cannot load identity from %s: %s", keys, hearth_strerror (err));
        return err? err: HEARTH_EKEYS;
    }
    self->log = eventlog_open (db, &err);
    if (!self->log) {
        if (err == HEARTH_ELOCKED)
            *message = s_message ("the event log %s is locked by another process: is another "
                                  "hearthd running for %s? (`hearthctl --data-dir %s id` talks to it)",
                                  db, cfg->data_dir, cfg->data_dir);
        else
            *message = s_message ("cannot open the event log %s: %s", db, hearth_strerror (err));
        return err? err: HEARTH_EIO;
    }
    if (!eventlog_community_id (self->log)) {
        *message = s_message ("no community in %s: run `hearthctl --data-dir %s init` first",
                              cfg->data_dir, cfg->data_dir);
        return HEARTH_ENOCOMMUNITY;
    }
    self->market = market_new (self->log, self->identity, &cfg->market);
    if (!self->market) {
        *message = s_message ("cannot start the market service");
        return HEARTH_ENOMEM;
    }
    uint64_t replayed = 0;
    int64_t started = zclock_mono ();
    int rc;
    if (cfg->rebuild_views) {
        hlog_info (S_LOG, "rebuilding every view from the whole log (--rebuild-views)");
        rc = eventlog_views_rebuild (self->log);
        replayed = eventlog_stats (self->log)->events_total;
    }
    else
        rc = eventlog_views_load (self->log, &replayed);
    if (rc != HEARTH_OK) {
        *message = s_message ("cannot load the views: %s", hearth_strerror (rc));
        return rc;
    }
    hlog_info (S_LOG, "views loaded: %" PRIu64 " event(s) replayed after the snapshots in %" PRId64
               " ms; %" PRIu64 " event(s) stored, lamport head %" PRIu64, replayed,
               zclock_mono () - started, eventlog_stats (self->log)->events_total,
               eventlog_stats (self->log)->lamport_head);
    return HEARTH_OK;
}

node_daemon_t *
node_daemon_new (const node_config_t *cfg, int *err, char **message)
{
    *err = HEARTH_OK;
    *message = NULL;
    node_daemon_t *self = (node_daemon_t *) calloc (1, sizeof (node_daemon_t));
    if (!self) {
        *err = HEARTH_ENOMEM;
        return NULL;
    }
    self->cfg = *cfg;
    int rc = s_open_state (self, message);
    if (rc == HEARTH_OK) {
        self->stats = node_stats_new ();
        self->bus = self->stats? node_bus_new (self->log, self->market, self->identity, self->stats): NULL;
        self->loop = zloop_new ();
        if (!self->bus || !self->loop)
            rc = HEARTH_ENOMEM;
    }
    if (rc == HEARTH_OK
    &&  (node_config_control_endpoint (cfg->data_dir, self->control_endpoint,
                                       sizeof self->control_endpoint) != 0
    ||   node_config_stats_endpoint (cfg->data_dir, self->stats_endpoint,
                                     sizeof self->stats_endpoint) != 0)) {
        *message = s_message ("data dir path is too long");
        rc = HEARTH_EINVAL;
    }
    if (rc == HEARTH_OK) {
        self->control = s_bind_ipc (self->control_endpoint, NODE_CONTROL_HARD_MAX_BYTES, &rc, message);
        if (self->control)
            self->stats_sock = s_bind_ipc (self->stats_endpoint, NODE_DAEMON_STATS_MAX_BYTES,
                                           &rc, message);
    }
    if (rc == HEARTH_OK && cfg->stats_endpoint [0]
    &&  zsock_bind (self->stats_sock, "%s", cfg->stats_endpoint) < 0) {
        *message = s_message ("cannot bind the stats endpoint %s: %s", cfg->stats_endpoint,
                              zmq_strerror (errno));
        rc = HEARTH_EIO;
    }
    if (rc == HEARTH_OK
    &&  (zloop_reader (self->loop, self->control, s_on_control, self) != 0
    ||   zloop_reader (self->loop, self->stats_sock, s_on_stats, self) != 0
    ||   zloop_timer (self->loop, (size_t) cfg->market.sweep_interval_seconds * 1000, 0,
                      s_on_sweep, self) < 0)) {
        *message = s_message ("cannot set up the event loop");
        rc = HEARTH_ENOMEM;
    }
    if (rc != HEARTH_OK) {
        *err = rc;
        node_daemon_destroy (&self);
        return NULL;
    }
    return self;
}

int
node_daemon_run (node_daemon_t *self)
{
    const node_config_t *cfg = &self->cfg;
    char community [HEARTH_NODE_ID_SIZE];
    hearth_node_id_format (eventlog_community_id (self->log), community);
    hlog_info (S_LOG, "node %s (%s) in community %s, data dir %s%s%s",
               identity_short_id (self->identity), identity_node_id (self->identity), community,
               cfg->data_dir, cfg->config_file [0]? ", config ": "", cfg->config_file);
    hlog_info (S_LOG, "market: default ttl %" PRIu64 " s, max ttl %" PRIu64 " s, sweeper every %"
               PRIu64 " s", cfg->market.default_ttl_seconds, cfg->market.max_ttl_seconds,
               cfg->market.sweep_interval_seconds);
    hlog_info (S_LOG, "control socket %s (mode 0600): talk to it with "
               "`hearthctl --data-dir %s market list` (see docs/cli.md)",
               self->control_endpoint, cfg->data_dir);
    hlog_info (S_LOG, "stats socket %s%s%s: `hearthctl --data-dir %s stats [--prometheus]`",
               self->stats_endpoint, cfg->stats_endpoint [0]? " and ": "", cfg->stats_endpoint,
               cfg->data_dir);
    hlog_info (S_LOG, "peer networking is not enabled in this version; stop with Ctrl-C or SIGTERM");
    int rc = zloop_start (self->loop);
    if (zsys_interrupted)
        hlog_info (S_LOG, "signal received, shutting down");
    else
    if (rc != 0)
        hlog_error (S_LOG, "event loop stopped unexpectedly");
    int snap = eventlog_views_snapshot (self->log);
    if (snap != HEARTH_OK)
        hlog_warn (S_LOG, "view snapshot on exit failed: %s (the next start replays more)",
                   hearth_strerror (snap));
    return (rc != 0 && !zsys_interrupted)? HEARTH_EIO: HEARTH_OK;
}

void
node_daemon_destroy (node_daemon_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    node_daemon_t *self = *self_p;
    zloop_destroy (&self->loop);
    /*  libzmq removes an ipc socket file when the socket that bound it
        closes; the unlink below covers a file left behind anyway. */
    if (self->control) {
        zsock_destroy (&self->control);
        unlink (self->control_endpoint + strlen ("ipc://"));
    }
    if (self->stats_sock) {
        zsock_destroy (&self->stats_sock);
        unlink (self->stats_endpoint + strlen ("ipc://"));
    }
    node_bus_destroy (&self->bus);
    node_stats_destroy (&self->stats);
    /*  The log calls the market's registered view until it is destroyed
        (its final snapshot included), so the log goes first. */
    eventlog_destroy (&self->log);
    market_destroy (&self->market);
    identity_destroy (&self->identity);
    free (self);
    *self_p = NULL;
}
