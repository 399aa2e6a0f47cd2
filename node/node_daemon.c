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
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>
#include "eventlog.h"
#include "gossip.h"
#include "gossip_progress.h"
#include "hearth_codec.h"
#include "hearth_error.h"
#include "hearth_log.h"
#include "identity.h"
#include "market.h"
#include "node_bus.h"
#include "node_client.h"
#include "node_control.h"
#include "node_daemon.h"
#include "node_embed.h"
#include "node_http.h"
#include "node_http_rules.h"
#include "node_invite.h"
#include "node_page.h"
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
    gossip_t      *mesh;                /* owned: peer links, sync, remote queries */
    node_embed_t  *embed;               /* owned: semantic search, embed.text */
    node_invite_t *invite;              /* owned: DIR/invite.json while not yet a member */
    node_page_t   *page;                /* owned: the web page (node_page.h) */
    node_http_t   *http;                /* owned: the HTTP listener; NULL = off */
    int            join_timer;          /* zloop timer id, -1 = none */
    int            sweep_timer;         /* zloop timer id of the sweeper, -1 = none */
    node_daemon_reload_fn *reload;      /* SIGHUP's config builder, may be NULL */
    void          *reload_arg;          /* borrowed */
    node_daemon_notify_fn *notify;      /* told around a reload, may be NULL */
    void          *notify_arg;          /* borrowed */
    char           control_endpoint [NODE_CONFIG_PATH_MAX];
    char           stats_endpoint [NODE_CONFIG_PATH_MAX];
};

/*  /ready (node_http.h): joined, and with peers configured a link up. The
    log is open whenever the daemon runs. */
static int
s_http_ready (void *arg, const char **reason)
{
    node_daemon_t *self = (node_daemon_t *) arg;
    int level = membership_level (eventlog_membership (self->log), identity_public_key (self->identity));
    uint64_t links = self->mesh? gossip_stats (self->mesh)->peers_connected: 0;
    return node_http_ready (level > 0, self->cfg.n_peers, links, reason);
}

/*  The HTTP listener, when configured: page, /metrics, /health, /ready, API. */
static int
s_open_http (node_daemon_t *self, char **message)
{
    const node_config_t *cfg = &self->cfg;
    if (!cfg->http_listen [0])
        return HEARTH_OK;
    char token [NODE_CONFIG_PATH_MAX];
    int n = snprintf (token, sizeof token, "%s/%s", cfg->data_dir, NODE_HTTP_TOKEN_FILE);
    if (n < 0 || (size_t) n >= sizeof token) {
        *message = hearth_message ("data dir path is too long");
        return HEARTH_EINVAL;
    }
    self->page = node_page_new (self->bus);
    if (!self->page)
        return HEARTH_ENOMEM;
    int rc = HEARTH_OK;
    self->http = node_http_new (cfg->http_listen, cfg->http_trust_loopback, cfg->http_hosts,
                                token, self->loop,
                                self->bus, self->page, self->stats, s_http_ready, self, &rc, message);
    if (!self->http)
        return rc;
    return node_bus_set_http_url (self->bus, node_http_url (self->http));
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
        *message = hearth_message ("%s is served by another process although this one holds the "
                              "event log lock; stop that process first", path);
        return HEARTH_ELOCKED;
    }
    hlog_info (S_LOG, "removing stale socket file %s (no daemon answers on it)", path);
    if (unlink (path) != 0 && errno != ENOENT) {
        *message = hearth_message ("cannot remove stale socket file %s: %s", path, strerror (errno));
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
        *message = hearth_message ("cannot create a ZeroMQ socket");
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
        *message = hearth_message ("cannot bind %s: %s", endpoint, zmq_strerror (saved));
        zsock_destroy (&sock);
        return NULL;
    }
    if (chmod (path, S_IRUSR | S_IWUSR) != 0) {
        *err = HEARTH_EIO;
        *message = hearth_message ("cannot chmod 0600 %s: %s", path, strerror (errno));
        zsock_destroy (&sock);
        return NULL;
    }
    return sock;
}

/*  Where a reply answered later goes: the ROUTER and the client's frames. */
typedef struct {
    zsock_t  *sock;             /* borrowed: the daemon's control socket */
    zframe_t *id;               /* owned */
    zframe_t *delimiter;        /* owned, NULL if the client sent none */
} s_reply_to_t;

/*  Send a reply (owned, may be NULL) to the client in `to`, then free both. */
static void
s_send_reply (s_reply_to_t *to, char *reply)
{
    if (to->id && reply) {
        zmsg_t *out = zmsg_new ();
        zmsg_append (out, &to->id);
        if (to->delimiter)
            zmsg_append (out, &to->delimiter);
        zmsg_addstr (out, reply);
        if (zmsg_send (&out, to->sock) != 0) {
            hearth_log_limited (HEARTH_LOG_WARN, S_LOG, "control.send",
                                "reply not sent (client gone?)");
            zmsg_destroy (&out);
        }
    }
    free (reply);
    zframe_destroy (&to->id);
    zframe_destroy (&to->delimiter);
}

/*  A deferred reply (node_bus_send_fn). */
static void
s_send_later (void *arg, int result, char *reply)
{
    (void) result;
    s_reply_to_t *to = (s_reply_to_t *) arg;
    s_send_reply (to, reply);
    free (to);
}

/*  Read one ROUTER message and answer it with `serve`, now or (for a
    request that waits, *deferred set) later through `later`, which it
    then owns. Returns -1 to stop the loop only when interrupted. */
typedef char *(s_serve_fn) (node_daemon_t *self, const uint8_t *data, size_t len,
                            s_reply_to_t *later, int *deferred);

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
    int deferred = 0;
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
        s_reply_to_t *later = (s_reply_to_t *) calloc (1, sizeof *later);
        if (later)
            *later = (s_reply_to_t) { sock, zframe_dup (id), delimiter? zframe_dup (delimiter): NULL };
        reply = serve (self, zframe_data (body), zframe_size (body), later, &deferred);
        if (!deferred && later) {
            zframe_destroy (&later->id);
            zframe_destroy (&later->delimiter);
            free (later);
        }
    }
    if (!deferred) {
        s_reply_to_t to = { sock, id, delimiter };
        s_send_reply (&to, reply);
        id = delimiter = NULL;
    }
    zframe_destroy (&id);
    zframe_destroy (&delimiter);
    zmsg_destroy (&msg);
    return 0;
}

static char *
s_serve_control (node_daemon_t *self, const uint8_t *data, size_t len, s_reply_to_t *later,
                 int *deferred)
{
    if (!later)
        return node_bus_handle_frame (self->bus, data, len);
    return node_bus_handle_frame_async (self->bus, data, len, s_send_later, later, deferred);
}

static char *
s_serve_stats (node_daemon_t *self, const uint8_t *data, size_t len, s_reply_to_t *later,
               int *deferred)
{
    (void) later;
    (void) deferred;
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

/*  A signal arrived on the signalfd: SIGHUP reloads (after the reads, so
    a burst of them reloads once), a stop signal ends the loop. */
static int
s_on_signal (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void) loop;
    node_daemon_t *self = (node_daemon_t *) arg;
    struct signalfd_siginfo info;
    int hangup = 0;
    while (read (item->fd, &info, sizeof info) == (ssize_t) sizeof info) {
        if (info.ssi_signo == SIGHUP)
            hangup = 1;
        else
            zsys_interrupted = 1;
    }
    if (hangup && !zsys_interrupted)
        node_daemon_reload (self);
    return zsys_interrupted? -1: 0;
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

/*  While this node is an invitee and not yet a member: once the invite
    event has arrived by sync (membership_invite_pending), append
    community.member.joined naming it, then stop checking. */
static int
s_on_join_check (zloop_t *loop, int timer_id, void *arg)
{
    node_daemon_t *self = (node_daemon_t *) arg;
    const membership_t *members = eventlog_membership (self->log);
    const uint8_t *own = identity_public_key (self->identity);
    uint64_t now_ms = hearth_now_ms ();
    int done = 0;
    if (membership_level (members, own) != HEARTH__LEVEL__LEVEL_NONE) {
        hlog_info (S_LOG, "this node is a member of the community");
        done = 1;
    }
    else
    if (now_ms > node_invite_expires_at_ms (self->invite)) {
        char expires [HEARTH_TIME_SIZE];
        hearth_time_format (node_invite_expires_at_ms (self->invite), expires);
        hlog_error (S_LOG, "the invite %s expired at %s before this node could join: ask a "
                    "member for a new invite and run `hearthctl join` again",
                    node_invite_event_id (self->invite), expires);
        done = 1;
    }
    else
    if (membership_invite_pending (members, own, now_ms)) {
        Hearth__MemberJoined joined = HEARTH__MEMBER_JOINED__INIT;
        joined.invite_event_id = (char *) node_invite_event_id (self->invite);
        joined.display_name = (char *) "";
        Hearth__Event draft = HEARTH__EVENT__INIT;
        draft.type = HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_JOINED;
        draft.payload_case = HEARTH__EVENT__PAYLOAD_MEMBER_JOINED;
        draft.member_joined = &joined;
        event_t *ev = NULL;
        int rc = eventlog_append_local (self->log, self->identity, &draft, now_ms, &ev);
        if (rc == HEARTH_OK) {
            hlog_info (S_LOG, "joined the community: invite %s redeemed by event %s (lamport %"
                       PRIu64 ")", node_invite_event_id (self->invite), event_id (ev),
                       event_lamport (ev));
            done = 1;
        }
        else
            hearth_log_limited (HEARTH_LOG_WARN, S_LOG, "join.append",
                                "the invite has arrived but the join was refused: %s "
                                "(waiting for invite %s)", hearth_strerror (rc),
                                node_invite_event_id (self->invite));
        event_destroy (&ev);
    }
    if (done) {
        zloop_timer_end (loop, timer_id);
        self->join_timer = -1;
        node_invite_destroy (&self->invite);
    }
    return 0;
}

/*  If DIR/invite.json exists and this node is not a member yet, keep the
    invite and start the join check. A bad or foreign invite file is
    reported and ignored (join checked it when it was written). */
static void
s_start_join (node_daemon_t *self)
{
    const uint8_t *own = identity_public_key (self->identity);
    if (membership_level (eventlog_membership (self->log), own) != HEARTH__LEVEL__LEVEL_NONE)
        return;
    char path [NODE_CONFIG_PATH_MAX + 32];
    snprintf (path, sizeof path, "%s/%s", self->cfg.data_dir, NODE_INVITE_FILE_NAME);
    if (access (path, F_OK) != 0) {
        hlog_warn (S_LOG, "this node is not a member of its community and holds no invite "
                   "(%s): peers will refuse it until it joins", path);
        return;
    }
    int err = 0;
    char *message = NULL;
    node_invite_t *invite = node_invite_load (path, &err, &message);
    if (!invite || memcmp (node_invite_invitee (invite), own, 32) != 0) {
        hlog_error (S_LOG, "%s: %s", path, invite? "the invite is for another key": message);
        free (message);
        node_invite_destroy (&invite);
        return;
    }
    self->invite = invite;
    self->join_timer = zloop_timer (self->loop, NODE_DAEMON_JOIN_CHECK_MS, 0, s_on_join_check, self);
    char expires [HEARTH_TIME_SIZE];
    hearth_time_format (node_invite_expires_at_ms (invite), expires);
    hlog_info (S_LOG, "joining: waiting to sync invite %s (expires %s), then this node appends "
               "its community.member.joined", node_invite_event_id (invite), expires);
    if (self->cfg.n_peers == 0 && !self->cfg.discovery)
        hlog_warn (S_LOG, "joining, but there is no peer to dial (the invite named none, no --peer, "
                   "discovery off): this node waits until a member dials it; give --peer "
                   "NODE_ID@tcp://HOST:PORT of a member");
}

/*  The capabilities served to peers (read-only), with their descriptor
    limits enforced by the mesh's admission (gossip_admit.h). */
static const char *s_remote_capabilities [] = { "market.list", "market.search" };
#define S_REMOTE_CAPABILITIES (sizeof s_remote_capabilities / sizeof s_remote_capabilities [0])

/*  A deferred remote answer (node_embed_done_fn): finish the mesh's query. */
static void
s_remote_done (void *arg, int rc, const json_t *output, const char *message)
{
    gossip_query_finish ((gossip_deferred_t *) arg, rc, output, message);
}

/*  Remote capability calls from authenticated members (gossip), already
    past the mesh's rate limits, capacity and deadline checks: the
    read-only market.list and market.search (which may wait for its query
    embedding), embed.text (answered when this node's backend replies) and
    node.capabilities, with the caller's key as the caller (docs/protocol.md,
    "Peer socket"); everything else is refused. */
static int
s_on_query (void *arg, const char *capability, const json_t *input, const uint8_t caller [32],
            gossip_deferred_t *pending, json_t **output, char **message)
{
    node_daemon_t *self = (node_daemon_t *) arg;
    *output = NULL;
    *message = NULL;
    if (strcmp (capability, "market.search") == 0) {
        int rc = node_embed_search (self->embed, input, s_remote_done, pending, output, message);
        return rc == NODE_EMBED_DEFERRED? GOSSIP_QUERY_DEFERRED: rc;
    }
    if (strcmp (capability, "embed.text") == 0) {
        int rc = node_embed_serve (self->embed, input, gossip_query_budget_ms (pending), s_remote_done,
                                   pending, output, message);
        return rc == NODE_EMBED_DEFERRED? GOSSIP_QUERY_DEFERRED: rc;
    }
    if (strcmp (capability, "node.capabilities") == 0) {
        *output = node_embed_capabilities (self->embed);
        return *output? HEARTH_OK: HEARTH_ENOMEM;
    }
    if (strcmp (capability, "market.list") != 0) {
        *message = hearth_message ("'%.64s' is not served to peers (only market.list, "
                              "market.search, embed.text and node.capabilities; market.post, "
                              "market.expire and market.update are local only)", capability);
        return HEARTH_EUNAUTHORIZED;
    }
    return market_handle (self->market, capability, input, caller, hearth_now_ms (), output, message);
}

/*  Start the mesh on the loop: ZAP handler, listener, peer links, sync. */
static int
s_open_mesh (node_daemon_t *self, char **message)
{
    const node_config_t *cfg = &self->cfg;
    gossip_config_t mesh;
    gossip_config_defaults (&mesh);
    snprintf (mesh.listen, sizeof mesh.listen, "%s", cfg->listen);
    snprintf (mesh.advertise, sizeof mesh.advertise, "%s", cfg->advertise);
    const char *peers [NODE_CONFIG_MAX_PEERS];
    for (size_t i = 0; i < cfg->n_peers; i++)
        peers [i] = cfg->peers [i];
    mesh.peers = peers;
    mesh.n_peers = cfg->n_peers;
    mesh.discovery = cfg->discovery;
    mesh.sync_interval_ms = cfg->sync_interval_ms;
    mesh.refused_max = cfg->refused_max;
    /*  A hidden knob for tests: sync progress lines more often than
        GOSSIP_PROGRESS_INTERVAL_MS (docs/operations.md, "Logs"). */
    const char *progress = getenv (NODE_DAEMON_PROGRESS_ENV);
    if (progress && *progress) {
        long ms = strtol (progress, NULL, 10);
        if (ms >= NODE_DAEMON_PROGRESS_MIN_MS && ms <= GOSSIP_PROGRESS_INTERVAL_MS)
            mesh.progress_interval_ms = (uint32_t) ms;
    }
    mesh.links_out = cfg->links_out;
    mesh.links_in_max = cfg->links_in_max;
    mesh.reconcile = cfg->reconcile == NODE_RECONCILE_V1? GOSSIP_RECONCILE_V1
                   : cfg->reconcile == NODE_RECONCILE_RATELESS? GOSSIP_RECONCILE_RATELESS
                   : GOSSIP_RECONCILE_AUTO;
    int err = 0;
    self->mesh = gossip_new (self->log, self->identity, self->loop, &mesh, &err);
    if (!self->mesh) {
        if (err == HEARTH_EIO && cfg->listen [0])
            *message = hearth_message ("cannot listen for peers on %s (address in use? another "
                                  "hearthd?)", cfg->listen);
        else
            *message = hearth_message ("cannot start the mesh: %s", hearth_strerror (err));
        return err? err: HEARTH_EIO;
    }
    gossip_set_query_async_handler (self->mesh, s_on_query, self);
    if (gossip_query_limits_set (self->mesh, "embed.text", NODE_EMBED_SERVE_MAX_CONCURRENT,
                                 NODE_EMBED_SERVE_TIMEOUT_SECONDS * 1000) != HEARTH_OK) {
        *message = hearth_message ("cannot set the peer limits of embed.text");
        return HEARTH_ENOMEM;
    }
    node_embed_set_mesh (self->embed, self->mesh);
    for (size_t i = 0; i < S_REMOTE_CAPABILITIES; i++) {
        uint32_t max_concurrent = 0, timeout_seconds = 0;
        int rc = market_capability_limits (s_remote_capabilities [i], &max_concurrent, &timeout_seconds);
        if (rc == HEARTH_OK)
            rc = gossip_query_limits_set (self->mesh, s_remote_capabilities [i], max_concurrent,
                                          timeout_seconds * 1000);
        if (rc != HEARTH_OK) {
            *message = hearth_message ("cannot set the peer limits of %s: %s",
                                       s_remote_capabilities [i], hearth_strerror (rc));
            return rc;
        }
    }
    if (node_bus_set_address (self->bus, gossip_address (self->mesh)) != HEARTH_OK)
        return HEARTH_ENOMEM;
    node_bus_set_mesh (self->bus, self->mesh);
    return HEARTH_OK;
}

/*  Open identity, log, market and views. */
static int
s_open_state (node_daemon_t *self, char **message)
{
    const node_config_t *cfg = &self->cfg;
    char keys [NODE_CONFIG_PATH_MAX], db [NODE_CONFIG_PATH_MAX];
    struct stat st;
    if (stat (cfg->data_dir, &st) != 0 || !S_ISDIR (st.st_mode)) {
        *message = hearth_message ("data dir %s does not exist: run `hearthctl --data-dir %s init` first",
                              cfg->data_dir, cfg->data_dir);
        return HEARTH_EKEYS;
    }
    if (node_config_keys_dir (cfg, keys, sizeof keys) != 0
    ||  node_config_db_dir (cfg, db, sizeof db) != 0) {
        *message = hearth_message ("data dir path is too long");
        return HEARTH_EINVAL;
    }
    int err = 0;
    self->identity = identity_load (keys, &err);
    if (!self->identity) {
        if (err == HEARTH_EKEYPERM)
            *message = hearth_message ("refusing to start: key file %s/device.ed25519 is readable or "
                                  "writable by group or others; fix it with "
                                  "`chmod 600 %s/device.ed25519`", keys, keys);
        else
        if (err == HEARTH_EKEYS)
            *message = hearth_message ("no valid identity in %s: run `hearthctl --data-dir %s init`",
                                  keys, cfg->data_dir);
        else
            *message = hearth_message ("cannot load identity from %s: %s", keys, hearth_strerror (err));
        return err? err: HEARTH_EKEYS;
    }
    eventlog_open_options_t open_options = { .recover_wal = cfg->recover_wal };
    char *problem = NULL;
    self->log = eventlog_open_with (db, &open_options, &err, &problem);
    if (!self->log) {
        if (err == HEARTH_ELOCKED)
            *message = hearth_message ("the event log %s is locked by another process: is another "
                                  "hearthd running for %s? (`hearthctl --data-dir %s id` talks to it)",
                                  db, cfg->data_dir, cfg->data_dir);
        else
        if (err == HEARTH_ECORRUPT)
            *message = hearth_message ("refusing to start: %s. Nothing was changed. `hearthctl "
                                  "--data-dir %s repair` recovers what is readable into a copy and "
                                  "reports it%s (docs/operations.md, Storage errors)",
                                  problem? problem: hearth_strerror (err), cfg->data_dir,
                                  problem && strstr (problem, "acknowledged event(s)")
                                  ? "; `hearthd --recover-wal` starts on what is readable and "
                                    "fetches the rest from peers": "");
        else
            *message = hearth_message ("cannot open the event log %s: %s (%s)", db,
                                  problem? problem: hearth_strerror (err), hearth_strerror (err));
        free (problem);
        return err? err: HEARTH_EIO;
    }
    free (problem);
    eventlog_set_snapshot_every (self->log, cfg->snapshot_every);
    /*  Signature checks are most of the work of receiving (docs/performance.md,
        "Where the time goes"; scripts/bench.sh ingest): fan them out to
        every online core; the eventlog clamps to EVENTLOG_MAX_VERIFY_THREADS. */
    long cores = sysconf (_SC_NPROCESSORS_ONLN);
    int threads = cores < 1? 1: cores > EVENTLOG_MAX_VERIFY_THREADS? EVENTLOG_MAX_VERIFY_THREADS
                                                                  : (int) cores;
    if (eventlog_set_verify_threads (self->log, threads) != HEARTH_OK)
        hlog_warn (S_LOG, "cannot start %d verify threads; verifying on one", threads);
    else
        hlog_info (S_LOG, "verifying received events on %d thread(s)", threads);
    if (!eventlog_community_id (self->log)) {
        *message = hearth_message ("no community in %s: run `hearthctl --data-dir %s init` (a new "
                              "community) or `hearthctl --data-dir %s join INVITE_FILE` first",
                              cfg->data_dir, cfg->data_dir, cfg->data_dir);
        return HEARTH_ENOCOMMUNITY;
    }
    self->market = market_new (self->log, self->identity, &cfg->market);
    if (!self->market) {
        *message = hearth_message ("cannot start the market service");
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
        *message = hearth_message ("cannot load the views: %s", hearth_strerror (rc));
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
    self->join_timer = -1;
    self->sweep_timer = -1;
    int rc = s_open_state (self, message);
    if (rc == HEARTH_OK) {
        self->stats = node_stats_new ();
        self->bus = self->stats? node_bus_new (self->log, self->market, self->identity, self->stats): NULL;
        self->loop = zloop_new ();
        if (!self->bus || !self->loop)
            rc = HEARTH_ENOMEM;
    }
    if (rc == HEARTH_OK) {
        node_embed_config_t embed;
        node_embed_config_defaults (&embed);
        snprintf (embed.url, sizeof embed.url, "%s", cfg->embed_url);
        snprintf (embed.model, sizeof embed.model, "%s", cfg->embed_model);
        embed.timeout_ms = cfg->embed_timeout_ms;
        embed.cache_entries = cfg->embed_cache_entries;
        snprintf (embed.query_prefix, sizeof embed.query_prefix, "%s", cfg->embed_query_prefix);
        snprintf (embed.passage_prefix, sizeof embed.passage_prefix, "%s", cfg->embed_passage_prefix);
        self->embed = node_embed_new (&embed, self->market, self->log, self->identity, self->loop);
        if (!self->embed) {
            *message = hearth_message ("cannot start the embedding workers");
            rc = HEARTH_ENOMEM;
        }
        else
            node_bus_set_embed (self->bus, self->embed);
    }
    if (rc == HEARTH_OK
    &&  (node_config_control_endpoint (cfg->data_dir, self->control_endpoint,
                                       sizeof self->control_endpoint) != 0
    ||   node_config_stats_endpoint (cfg->data_dir, self->stats_endpoint,
                                     sizeof self->stats_endpoint) != 0)) {
        *message = hearth_message ("data dir path is too long");
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
        *message = hearth_message ("cannot bind the stats endpoint %s: %s", cfg->stats_endpoint,
                              zmq_strerror (errno));
        rc = HEARTH_EIO;
    }
    if (rc == HEARTH_OK
    &&  (zloop_reader (self->loop, self->control, s_on_control, self) != 0
    ||   zloop_reader (self->loop, self->stats_sock, s_on_stats, self) != 0
    ||   (self->sweep_timer = zloop_timer (self->loop, (size_t) cfg->market.sweep_interval_seconds
                                           * 1000, 0, s_on_sweep, self)) < 0)) {
        *message = hearth_message ("cannot set up the event loop");
        rc = HEARTH_ENOMEM;
    }
    if (rc == HEARTH_OK) {
        char keys [NODE_CONFIG_PATH_MAX];
        if (node_config_keys_dir (cfg, keys, sizeof keys) != 0
        ||  node_bus_set_keys_dir (self->bus, keys) != HEARTH_OK)
            rc = HEARTH_ENOMEM;
    }
    if (rc == HEARTH_OK)
        rc = s_open_mesh (self, message);
    if (rc == HEARTH_OK)
        rc = s_open_http (self, message);
    if (rc == HEARTH_OK)
        s_start_join (self);
    if (rc != HEARTH_OK) {
        *err = rc;
        node_daemon_destroy (&self);
        return NULL;
    }
    return self;
}

void
node_daemon_set_reload (node_daemon_t *self, node_daemon_reload_fn *fn, void *arg)
{
    self->reload = fn;
    self->reload_arg = arg;
}

/*  Append ", name" (or "name") to list (capacity cap), truncating. */
static void
s_list_add (char *list, size_t cap, const char *name)
{
    size_t used = strlen (list);
    if (used < cap)
        snprintf (list + used, cap - used, "%s%s", used? ", ": "", name);
}

/*  1 if address is one of cfg's peers. */
static int
s_has_peer (const node_config_t *cfg, const char *address)
{
    for (size_t i = 0; i < cfg->n_peers; i++)
        if (strcmp (cfg->peers [i], address) == 0)
            return 1;
    return 0;
}

int
node_daemon_apply_config (node_daemon_t *self, const node_config_t *fresh)
{
    node_config_t *cur = &self->cfg;
    char applied [1024] = "", restart [1024] = "";
    int n_applied = 0;
    if (fresh->log_level != cur->log_level) {
        hearth_log_set_level (fresh->log_level);
        cur->log_level = fresh->log_level;
        s_list_add (applied, sizeof applied, "log/level");
        n_applied++;
    }
    if (fresh->log_format != cur->log_format) {
        hearth_log_set_format (fresh->log_format);
        cur->log_format = fresh->log_format;
        s_list_add (applied, sizeof applied, "log/format");
        n_applied++;
    }
    if (strcmp (fresh->log_file, cur->log_file) != 0) {
        if (!fresh->log_file [0])
            s_list_add (restart, sizeof restart, "log/file (back to stderr)");
        else
        if (hearth_log_open_file (fresh->log_file) != HEARTH_OK)
            hlog_error (S_LOG, "cannot open the log file %s: %s; logging where it did", fresh->log_file,
                        strerror (errno));
        else {
            snprintf (cur->log_file, sizeof cur->log_file, "%s", fresh->log_file);
            s_list_add (applied, sizeof applied, "log/file");
            n_applied++;
        }
    }
    const market_config_t *m = &fresh->market;
    if (m->default_ttl_seconds != cur->market.default_ttl_seconds
    ||  m->max_ttl_seconds != cur->market.max_ttl_seconds
    ||  m->sweep_interval_seconds != cur->market.sweep_interval_seconds) {
        if (m->sweep_interval_seconds != cur->market.sweep_interval_seconds) {
            if (self->sweep_timer >= 0)
                zloop_timer_end (self->loop, self->sweep_timer);
            self->sweep_timer = zloop_timer (self->loop, (size_t) m->sweep_interval_seconds * 1000, 0,
                                             s_on_sweep, self);
            if (self->sweep_timer < 0)
                hlog_error (S_LOG, "cannot restart the sweeper timer: the sweeper is off until a restart");
        }
        if (m->default_ttl_seconds != cur->market.default_ttl_seconds)
            s_list_add (applied, sizeof applied, "market/default_ttl_seconds");
        if (m->max_ttl_seconds != cur->market.max_ttl_seconds)
            s_list_add (applied, sizeof applied, "market/max_ttl_seconds");
        if (m->sweep_interval_seconds != cur->market.sweep_interval_seconds)
            s_list_add (applied, sizeof applied, "market/sweep_interval_seconds");
        market_config_update (self->market, m);
        cur->market.default_ttl_seconds = market_config (self->market)->default_ttl_seconds;
        cur->market.max_ttl_seconds = market_config (self->market)->max_ttl_seconds;
        cur->market.sweep_interval_seconds = market_config (self->market)->sweep_interval_seconds;
        n_applied++;
    }
    if (fresh->snapshot_every != cur->snapshot_every) {
        eventlog_set_snapshot_every (self->log, fresh->snapshot_every);
        cur->snapshot_every = fresh->snapshot_every;
        s_list_add (applied, sizeof applied, "store/snapshot_every");
        n_applied++;
    }
    /*  Peers: new ones are dialled now; a removed one needs a restart to
        be dropped (its link stays up until then). */
    for (size_t i = 0; i < fresh->n_peers; i++) {
        if (s_has_peer (cur, fresh->peers [i]))
            continue;
        int rc = self->mesh? gossip_peer_add (self->mesh, fresh->peers [i]): HEARTH_EINVAL;
        if (rc == HEARTH_OK || rc == HEARTH_EEXISTS) {
            if (cur->n_peers < NODE_CONFIG_MAX_PEERS)
                snprintf (cur->peers [cur->n_peers++], NODE_CONFIG_ADDRESS_MAX, "%s", fresh->peers [i]);
            hlog_info (S_LOG, "peer %s added", fresh->peers [i]);
            s_list_add (applied, sizeof applied, "peers/peer");
            n_applied++;
        }
        else
            hlog_error (S_LOG, "cannot add peer %s: %s", fresh->peers [i], hearth_strerror (rc));
    }
    for (size_t i = 0; i < cur->n_peers; i++)
        if (!s_has_peer (fresh, cur->peers [i]))
            s_list_add (restart, sizeof restart, "peers/peer (removed)");
    /*  The rest is wired into sockets, threads and tables at start. */
    const struct { const char *key; int changed; } fixed [] = {
        { "stats/endpoint", strcmp (fresh->stats_endpoint, cur->stats_endpoint) != 0 },
        { "mesh/listen", strcmp (fresh->listen, cur->listen) != 0 },
        { "mesh/advertise", strcmp (fresh->advertise, cur->advertise) != 0 },
        { "mesh/discovery", fresh->discovery != cur->discovery },
        { "mesh/sync_interval_ms", fresh->sync_interval_ms != cur->sync_interval_ms },
        { "mesh/reconcile", fresh->reconcile != cur->reconcile },
        { "mesh/links_out", fresh->links_out != cur->links_out },
        { "mesh/links_in_max", fresh->links_in_max != cur->links_in_max },
        { "--refused-max", fresh->refused_max != cur->refused_max },
        { "http/listen", strcmp (fresh->http_listen, cur->http_listen) != 0 },
        { "http/trust_loopback", fresh->http_trust_loopback != cur->http_trust_loopback },
        { "http/hosts", strcmp (fresh->http_hosts, cur->http_hosts) != 0 },
        { "search/embed_url", strcmp (fresh->embed_url, cur->embed_url) != 0 },
        { "search/embed_model", strcmp (fresh->embed_model, cur->embed_model) != 0 },
        { "search/embed_timeout_ms", fresh->embed_timeout_ms != cur->embed_timeout_ms },
        { "search/embed_cache_entries", fresh->embed_cache_entries != cur->embed_cache_entries },
        { "search/embed_query_prefix", strcmp (fresh->embed_query_prefix, cur->embed_query_prefix) != 0 },
        { "search/embed_passage_prefix", strcmp (fresh->embed_passage_prefix, cur->embed_passage_prefix) != 0 },
        { "search/dict_translations", strcmp (m->dict_translations, cur->market.dict_translations) != 0 },
        { "search/dict_synonyms_de", strcmp (m->dict_synonyms_de, cur->market.dict_synonyms_de) != 0 },
        { "search/dict_synonyms_en", strcmp (m->dict_synonyms_en, cur->market.dict_synonyms_en) != 0 },
        { "search/dict_words_de", strcmp (m->dict_words_de, cur->market.dict_words_de) != 0 }
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed [0]; i++)
        if (fixed [i].changed)
            s_list_add (restart, sizeof restart, fixed [i].key);
    if (strcmp (fresh->config_file, cur->config_file) != 0)
        snprintf (cur->config_file, sizeof cur->config_file, "%s", fresh->config_file);
    hlog_info (S_LOG, "config reloaded%s%s: %s%s", cur->config_file [0]? " from ": "",
               cur->config_file, n_applied? "applied ": "nothing to apply", applied);
    if (restart [0])
        hlog_warn (S_LOG, "changed but NOT applied until hearthd restarts: %s", restart);
    return n_applied;
}

void
node_daemon_set_notify (node_daemon_t *self, node_daemon_notify_fn *fn, void *arg)
{
    self->notify = fn;
    self->notify_arg = arg;
}

void
node_daemon_reload (node_daemon_t *self)
{
    if (self->notify)
        self->notify (self->notify_arg, 1);
    /*  Reopen first, so every line of the reload is in the new file. */
    int reopened = hearth_log_reopen ();
    int saved = errno;
    hlog_info (S_LOG, "SIGHUP: reopening the log, reloading the config and the synonym file");
    if (reopened != HEARTH_OK)
        hlog_error (S_LOG, "cannot reopen the log file %s: %s; still writing to the old one",
                    hearth_log_file (), strerror (saved));
    if (self->reload) {
        node_config_t *fresh = (node_config_t *) calloc (1, sizeof *fresh);
        char *message = NULL;
        int rc = fresh? self->reload (self->reload_arg, fresh, &message): HEARTH_ENOMEM;
        if (rc != HEARTH_OK)
            hlog_error (S_LOG, "config reload refused, the running configuration stays: %s",
                        message? message: hearth_strerror (rc));
        else
            node_daemon_apply_config (self, fresh);
        free (message);
        free (fresh);
    }
    market_search_reload (self->market, hearth_now_ms ());
    if (self->notify)
        self->notify (self->notify_arg, 0);
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
    const char *address = gossip_address (self->mesh);
    if (address)
        hlog_info (S_LOG, "peer address %s (listening on %s, CURVE, members only): invite a "
                   "node with `hearthctl --data-dir %s invite NODE_ID`", address, cfg->listen,
                   cfg->data_dir);
    else
        hlog_info (S_LOG, "not listening for peers (no --listen): this node only dials out");
    if (self->http)
        hlog_info (S_LOG, "page and HTTP API at %s (/metrics, /health, /ready, /api/v1/; "
                   "docs/http.md); writes from %s or with the token in %s/%s", node_http_url (self->http),
                   cfg->http_trust_loopback? "loopback": "nobody without the token",
                   cfg->data_dir, NODE_HTTP_TOKEN_FILE);
    else
        hlog_info (S_LOG, "HTTP listener off (--http off)");
    for (size_t i = 0; i < cfg->n_peers; i++)
        hlog_info (S_LOG, "peer %s", cfg->peers [i]);
    hlog_info (S_LOG, "anti-entropy every %" PRIu32 " ms (reconcile %s), LAN discovery %s; stop with "
               "Ctrl-C or SIGTERM", cfg->sync_interval_ms? cfg->sync_interval_ms: (uint32_t) GOSSIP_SYNC_INTERVAL_MS,
               cfg->reconcile == NODE_RECONCILE_V1? "v1": cfg->reconcile == NODE_RECONCILE_RATELESS? "rateless": "auto",
               cfg->discovery? "on": "off");
    hlog_info (S_LOG, "log: level %s, format %s%s%s; SIGHUP reloads the config, reopens the log "
               "file and re-reads the synonym file",
               (const char *[]) { "error", "warn", "info", "debug" } [cfg->log_level],
               hearth_log_format_name (cfg->log_format), cfg->log_file [0]? ", file ": "",
               cfg->log_file);
    /*  SIGINT/SIGTERM (and SIGHUP) through a signalfd when the caller keeps them blocked
        (hearthd does, in every thread); otherwise CZMQ's handler still sets
        zsys_interrupted and the poll returns on EINTR. */
    sigset_t stop_signals;
    sigemptyset (&stop_signals);
    sigaddset (&stop_signals, SIGINT);
    sigaddset (&stop_signals, SIGTERM);
    sigaddset (&stop_signals, SIGHUP);
    int signal_fd = signalfd (-1, &stop_signals, SFD_NONBLOCK | SFD_CLOEXEC);
    zmq_pollitem_t signal_item = { NULL, signal_fd, ZMQ_POLLIN, 0 };
    if (signal_fd >= 0 && zloop_poller (self->loop, &signal_item, s_on_signal, self) != 0) {
        close (signal_fd);
        signal_fd = -1;
    }
    int rc = zsys_interrupted? 0: zloop_start (self->loop);
    if (signal_fd >= 0) {
        zloop_poller_end (self->loop, &signal_item);
        close (signal_fd);
    }
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
    /*  The listener leaves the loop and closes its connections before the
        parts its handlers use go away; its requests waiting for a search
        are answered 503 (shutting down) and their records cancelled, so
        the embedding side's late answers below only free them. */
    node_http_destroy (&self->http);
    /*  Waiting searches and embed.text calls are answered while the mesh
        and the control socket still stand, then the workers stop. */
    if (self->bus)
        node_bus_set_embed (self->bus, NULL);
    node_embed_destroy (&self->embed);
    node_page_destroy (&self->page);
    /*  The mesh leaves the loop and removes the log's accept hook first. */
    if (self->bus)
        node_bus_set_mesh (self->bus, NULL);
    gossip_destroy (&self->mesh);
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
    node_invite_destroy (&self->invite);
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
