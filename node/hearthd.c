/*  hearthd.c — the Hearth node daemon: parse flags, build the config, run
    one node in the foreground until SIGINT/SIGTERM.

        hearthd [--data-dir DIR] [--config FILE] [--log-level L]
                [--stats tcp://127.0.0.1:PORT] [--rebuild-views] [--recover-wal]
                [--listen tcp://HOST:PORT|none] [--advertise tcp://HOST:PORT]
                [--peer NODE_ID@tcp://HOST:PORT]... [--discovery on|off]
                [--sync-interval-ms MS] [--reconcile auto|v1|rateless]
                [--http HOST:PORT|off]
                [--log-format text|json|journal] [--log-file PATH]

    SIGHUP reloads the config file (the flags stay as given), reopens the
    log file and re-reads the search synonym file (node_daemon_reload).
    Every log line, CZMQ's own included, is in Hearth's format
    (hearth_log.h): CZMQ's log stream and stdout are a stream that feeds
    the logger.

    Exit status: 0 after a clean stop, 1 when the node cannot start (the
    message says why), 2 on a usage error.

    Under systemd (Type=notify) it sends READY=1 once the event log is open
    and every socket is bound, and STOPPING=1 when it begins to stop.
*/
#include <czmq.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>
#include "hearth_error.h"
#include "hearth_log.h"
#include "hearth_memory.h"
#include "node_config.h"
#include "node_daemon.h"
#include "gossip_refused.h"

#define S_LOG "hearthd"

#ifndef HEARTH_VERSION
#define HEARTH_VERSION "unknown"
#endif

static void
s_usage (FILE *out)
{
    fprintf (out,
        "usage: hearthd [--data-dir DIR] [--config FILE] [--log-level LEVEL]\n"
        "               [--stats tcp://127.0.0.1:PORT] [--rebuild-views] [--recover-wal]\n"
        "               [--listen tcp://HOST:PORT|none] [--advertise tcp://HOST:PORT]\n"
        "               [--peer NODE_ID@tcp://HOST:PORT]... [--discovery on|off]\n"
        "               [--sync-interval-ms MS] [--reconcile auto|v1|rateless]\n"
        "               [--snapshot-every EVENTS] [--refused-max N] [--http HOST:PORT|off]\n"
        "               [--log-format text|json|journal] [--log-file PATH]\n"
        "\n"
        "Runs one Hearth node in the foreground (stop it with Ctrl-C or SIGTERM;\n"
        "SIGHUP reloads the config, reopens the log file, re-reads synonyms.txt).\n"
        "  --data-dir DIR   everything the node keeps (default $%s or ~/%s);\n"
        "                   create it first with `hearthctl --data-dir DIR init`\n"
        "  --config FILE    ZPL config file (default DIR/%s when present)\n"
        "  --log-level L    error | warn | info | debug (default info)\n"
        "  --log-format F   text (default), json (one JSON object a line) or journal\n"
        "                   (journald <N> priority prefixes; automatic under systemd)\n"
        "  --log-file PATH  append log lines to PATH instead of stderr; SIGHUP reopens it\n"
        "  --stats EP       also serve stats on this tcp:// endpoint\n"
        "  --rebuild-views  re-fold every view from the whole log instead of its snapshot\n"
        "  --recover-wal    start even though the write-ahead log lost acknowledged events:\n"
        "                   keep what is readable, fetch the rest from peers (this start only;\n"
        "                   see `hearthctl repair` and docs/operations.md first)\n"
        "  --listen EP      peer socket (CURVE, members only), e.g. tcp://0.0.0.0:7400;\n"
        "                   none = no peer socket (default: mesh/listen in the config, else none)\n"
        "  --advertise EP   endpoint other nodes should dial, when --listen binds a wildcard\n"
        "  --peer ADDRESS   NODE_ID@tcp://HOST:PORT of a member to link to (repeatable;\n"
        "                   added to the peers of the config file)\n"
        "  --discovery on|off  LAN discovery of peers of the same community (default off)\n"
        "  --sync-interval-ms MS  anti-entropy with one random peer every MS (default 10000)\n"
        "  --reconcile MODE auto (default): Negentropy v1 on (re)connect, the rateless mode\n"
        "                   when differences are scattered and for the periodic check;\n"
        "                   v1: Negentropy v1 (NIP-77) only; rateless: rateless first always\n"
        "  --snapshot-every N  view snapshot every N accepted events (default 0: every\n"
        "                   10,000 events or a quarter of the log, whichever is more)\n"
        "  --refused-max N  refused events remembered so sync does not fetch them again\n"
        "                   (default and most 65536; smaller for tests)\n"
        "  --http ADDR      the page, HTTP API, /metrics, /health, /ready on ADDR\n"
        "                   (HOST:PORT, port 0 = any free port; default %s); off = none\n"
        "  --version        print the version\n"
        "See docs/cli.md and docs/operations.md.\n",
        NODE_CONFIG_DATA_DIR_ENV, NODE_CONFIG_DATA_DIR_DEFAULT, NODE_CONFIG_FILE_NAME,
        NODE_CONFIG_HTTP_DEFAULT);
}

/*  The flags as given: the config is built from them at start and again
    on every SIGHUP, so a flag keeps overriding the file. */
typedef struct {
    const char *data_dir, *config, *level, *stats, *listen, *advertise, *discovery;
    const char *sync_interval, *reconcile, *snapshot_every, *refused_max, *log_format, *log_file;
    const char *http;                           /* --http HOST:PORT|off */
    const char *peers [NODE_CONFIG_MAX_PEERS];  /* --peer values, added to the file's */
    size_t      n_peers;
    int         rebuild_views, recover_wal;
    char        absolute [PATH_MAX];            /* the data dir, resolved */
} s_flags_t;

/*  Defaults < config file < flags, validated: 0 with cfg filled, or an
    error with *message (malloc'd). */
static int
s_build_config (const s_flags_t *flags, node_config_t *cfg, char **message)
{
    *message = NULL;
    node_config_defaults (cfg, flags->absolute);
    char default_file [NODE_CONFIG_PATH_MAX];
    int rc;
    if (flags->config)
        rc = node_config_load_file (cfg, flags->config, 1, message);
    else {
        int n = snprintf (default_file, sizeof default_file, "%s/%s", flags->absolute, NODE_CONFIG_FILE_NAME);
        rc = (n > 0 && (size_t) n < sizeof default_file)?
             node_config_load_file (cfg, default_file, 0, message): HEARTH_EINVAL;
    }
    if (rc == HEARTH_OK && flags->level && hearth_log_parse_level (flags->level, &cfg->log_level) != HEARTH_OK) {
        *message = strdup ("--log-level must be error, warn, info or debug");
        rc = HEARTH_EINVAL;
    }
    if (rc == HEARTH_OK && flags->log_format
    &&  hearth_log_parse_format (flags->log_format, &cfg->log_format) != HEARTH_OK) {
        *message = strdup ("--log-format must be text, json or journal");
        rc = HEARTH_EINVAL;
    }
    if (rc == HEARTH_OK && flags->log_file) {
        if (strlen (flags->log_file) >= sizeof cfg->log_file) {
            *message = strdup ("--log-file is too long");
            rc = HEARTH_EINVAL;
        }
        else
            snprintf (cfg->log_file, sizeof cfg->log_file, "%s", flags->log_file);
    }
    if (rc == HEARTH_OK && flags->stats)
        snprintf (cfg->stats_endpoint, sizeof cfg->stats_endpoint, "%s", flags->stats);
    if (rc == HEARTH_OK && flags->listen)
        rc = node_config_set_listen (cfg, flags->listen, message);
    if (rc == HEARTH_OK && flags->http) {
        char *detail = NULL;
        rc = node_config_set_http (cfg, flags->http, &detail);
        if (rc != HEARTH_OK)
            *message = hearth_message ("--http: %s", detail? detail: "invalid");
        free (detail);
    }
    if (rc == HEARTH_OK && flags->advertise) {
        if (strlen (flags->advertise) >= sizeof cfg->advertise) {
            *message = strdup ("--advertise is too long");
            rc = HEARTH_EINVAL;
        }
        else
            snprintf (cfg->advertise, sizeof cfg->advertise, "%s", flags->advertise);
    }
    for (size_t i = 0; rc == HEARTH_OK && i < flags->n_peers; i++)
        rc = node_config_add_peer (cfg, flags->peers [i], message);
    const char *discovery = flags->discovery;
    if (rc == HEARTH_OK && discovery) {
        if (strcmp (discovery, "on") == 0 || strcmp (discovery, "off") == 0)
            cfg->discovery = strcmp (discovery, "on") == 0;
        else {
            *message = strdup ("--discovery must be on or off");
            rc = HEARTH_EINVAL;
        }
    }
    const char *sync_interval = flags->sync_interval;
    if (rc == HEARTH_OK && sync_interval) {
        char *end = NULL;
        errno = 0;
        unsigned long value = strtoul (sync_interval, &end, 10);
        if (errno || !end || *end || sync_interval [0] < '0' || sync_interval [0] > '9'
        ||  value > UINT32_MAX) {
            *message = strdup ("--sync-interval-ms must be a whole number of milliseconds");
            rc = HEARTH_EINVAL;
        }
        else
            cfg->sync_interval_ms = (uint32_t) value;
    }
    if (rc == HEARTH_OK && flags->reconcile) {
        char *detail = NULL;
        rc = node_config_set_reconcile (cfg, flags->reconcile, &detail);
        if (rc != HEARTH_OK)
            *message = hearth_message ("--reconcile: %s", detail? detail: "invalid");
        free (detail);
    }
    const char *snapshot_every = flags->snapshot_every;
    if (rc == HEARTH_OK && snapshot_every) {
        char *end = NULL;
        errno = 0;
        unsigned long long value = strtoull (snapshot_every, &end, 10);
        if (errno || !end || *end || snapshot_every [0] < '0' || snapshot_every [0] > '9') {
            *message = strdup ("--snapshot-every must be a whole number of events");
            rc = HEARTH_EINVAL;
        }
        else
            cfg->snapshot_every = (uint64_t) value;
    }
    const char *refused_max = flags->refused_max;
    if (rc == HEARTH_OK && refused_max) {
        char *end = NULL;
        errno = 0;
        unsigned long value = strtoul (refused_max, &end, 10);
        if (errno || !end || *end || refused_max [0] < '1' || refused_max [0] > '9'
        ||  value > GOSSIP_REFUSED_MAX) {
            *message = hearth_message ("--refused-max must be a whole number from 1 to %d", GOSSIP_REFUSED_MAX);
            rc = HEARTH_EINVAL;
        }
        else
            cfg->refused_max = (uint32_t) value;
    }
    cfg->rebuild_views = flags->rebuild_views;
    cfg->recover_wal = flags->recover_wal;
    if (rc == HEARTH_OK)
        rc = node_config_validate (cfg, message);
    return rc;
}

/*  node_daemon_reload_fn: the config as at start-up. */
static int
s_reload (void *arg, node_config_t *cfg, char **message)
{
    return s_build_config ((const s_flags_t *) arg, cfg, message);
}

/*  node_daemon_notify_fn: systemd's reload protocol (Type=notify): RELOADING=1
    with the CLOCK_MONOTONIC time in microseconds (systemd 253 and later
    want it to tell this reload from an earlier one; older ones ignore it),
    then READY=1 when the node serves again. No-ops without $NOTIFY_SOCKET. */
static void
s_notify (void *arg, int reloading)
{
    const s_flags_t *flags = (const s_flags_t *) arg;
    if (reloading) {
        struct timespec now;
        clock_gettime (CLOCK_MONOTONIC, &now);
        sd_notifyf (0, "RELOADING=1\nSTATUS=reloading\nMONOTONIC_USEC=%llu",
                    (unsigned long long) now.tv_sec * 1000000ULL
                    + (unsigned long long) now.tv_nsec / 1000ULL);
    }
    else
        sd_notifyf (0, "READY=1\nSTATUS=serving %s", flags->absolute);
}

int
main (int argc, char *argv [])
{
    hearth_memory_setup ();                 /* before any thread: see hearth_memory.h */
    static const struct option options [] = {
        { "data-dir",  required_argument, NULL, 'd' },
        { "config",    required_argument, NULL, 'c' },
        { "log-level", required_argument, NULL, 'l' },
        { "stats",     required_argument, NULL, 's' },
        { "rebuild-views", no_argument,   NULL, 'R' },
        { "recover-wal", no_argument,     NULL, 'W' },
        { "listen",    required_argument, NULL, 'L' },
        { "advertise", required_argument, NULL, 'A' },
        { "peer",      required_argument, NULL, 'P' },
        { "discovery", required_argument, NULL, 'D' },
        { "sync-interval-ms", required_argument, NULL, 'S' },
        { "reconcile", required_argument, NULL, 'M' },
        { "snapshot-every", required_argument, NULL, 'N' },
        { "refused-max", required_argument, NULL, 'F' },
        { "http",      required_argument, NULL, 'H' },
        { "log-format", required_argument, NULL, 'f' },
        { "log-file",  required_argument, NULL, 'o' },
        { "help",      no_argument,       NULL, 'h' },
        { "version",   no_argument,       NULL, 'V' },
        { NULL, 0, NULL, 0 }
    };
    static s_flags_t flags;                 /* lives as long as the daemon (SIGHUP) */
    int opt;
    while ((opt = getopt_long (argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
            case 'd': flags.data_dir = optarg; break;
            case 'c': flags.config = optarg; break;
            case 'l': flags.level = optarg; break;
            case 's': flags.stats = optarg; break;
            case 'R': flags.rebuild_views = 1; break;
            case 'W': flags.recover_wal = 1; break;
            case 'L': flags.listen = optarg; break;
            case 'A': flags.advertise = optarg; break;
            case 'D': flags.discovery = optarg; break;
            case 'S': flags.sync_interval = optarg; break;
            case 'M': flags.reconcile = optarg; break;
            case 'N': flags.snapshot_every = optarg; break;
            case 'F': flags.refused_max = optarg; break;
            case 'f': flags.log_format = optarg; break;
            case 'o': flags.log_file = optarg; break;
            case 'H': flags.http = optarg; break;
            case 'P':
                if (flags.n_peers >= NODE_CONFIG_MAX_PEERS) {
                    fprintf (stderr, "hearthd: more than %d --peer flags\n", NODE_CONFIG_MAX_PEERS);
                    return 2;
                }
                flags.peers [flags.n_peers++] = optarg;
                break;
            case 'h': s_usage (stdout); return 0;
            case 'V': printf ("hearthd %s\n", HEARTH_VERSION); return 0;
            default:  s_usage (stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "hearthd: unexpected argument '%s'\n", argv [optind]);
        s_usage (stderr);
        return 2;
    }

    /*  Resolve the data dir to an absolute path so every log line and
        socket path names the same place whatever the cwd. */
    char given [NODE_CONFIG_PATH_MAX];
    if (flags.data_dir)
        snprintf (given, sizeof given, "%s", flags.data_dir);
    else
    if (node_config_default_data_dir (given, sizeof given) != HEARTH_OK) {
        fprintf (stderr, "hearthd: no --data-dir given and neither $%s nor $HOME is set\n",
                 NODE_CONFIG_DATA_DIR_ENV);
        return 2;
    }
    if (!realpath (given, flags.absolute)) {
        fprintf (stderr, "hearthd: data dir %s does not exist: run `hearthctl --data-dir %s init` "
                 "first\n", given, given);
        return 1;
    }

    /*  SIGINT/SIGTERM/SIGHUP stay blocked in every thread for the whole run
        (threads inherit the mask: RocksDB, ZeroMQ I/O, verify workers the
        log or the mesh start later); the daemon's loop reads them from a
        signalfd, so a stop or reload request wakes it at once whichever
        thread the kernel would have picked, and no work runs in a handler. */
    sigset_t signals;
    sigemptyset (&signals);
    sigaddset (&signals, SIGINT);
    sigaddset (&signals, SIGTERM);
    sigaddset (&signals, SIGHUP);
    pthread_sigmask (SIG_BLOCK, &signals, NULL);
    zsys_init ();
    /*  One log format: CZMQ's zsys_* lines (its log stream) and zclock_log
        lines (stdout: zconfig's syntax errors) go through Hearth's logger. */
    FILE *czmq_log = hearth_log_capture_open ("czmq");
    if (czmq_log) {
        zsys_set_logstream (czmq_log);
        stdout = czmq_log;
    }
    /*  The format flag applies from here, so a config error is reported in it. */
    hearth_log_format_t format;
    if (flags.log_format && hearth_log_parse_format (flags.log_format, &format) == HEARTH_OK)
        hearth_log_set_format (format);

    node_config_t cfg;
    char *message = NULL;
    int rc = s_build_config (&flags, &cfg, &message);
    if (rc != HEARTH_OK) {
        hlog_error (S_LOG, "%s", message? message: hearth_strerror (rc));
        free (message);
        return 2;
    }
    if (cfg.log_file [0] && hearth_log_open_file (cfg.log_file) != HEARTH_OK) {
        hlog_error (S_LOG, "cannot open the log file %s: %s", cfg.log_file, strerror (errno));
        return 2;
    }
    hearth_log_set_level (cfg.log_level);
    hearth_log_set_format (cfg.log_format);
    /*  stderr is the journal (systemd's JOURNAL_STREAM names it): priority
        prefixes, so journald files each line at its level. */
    if (!cfg.log_file [0] && hearth_log_journal_detect (STDERR_FILENO))
        hearth_log_set_journal (1);

    int err = 0;
    node_daemon_t *daemon = node_daemon_new (&cfg, &err, &message);
    if (!daemon) {
        hlog_error (S_LOG, "%s (%s)", message? message: hearth_strerror (err), hearth_error_name (err));
        free (message);
        return 1;
    }
    node_daemon_set_reload (daemon, s_reload, &flags);
    node_daemon_set_notify (daemon, s_notify, &flags);
    /*  Nobody to dial: a lone node, unless others dial it. */
    if (cfg.n_peers == 0 && !cfg.discovery) {
        if (cfg.listen [0])
            hlog_info (S_LOG, "no peer to dial (no --peer, no peers in the config, discovery off): "
                       "this node waits for members to dial it");
        else
            hlog_warn (S_LOG, "no peer to dial and not listening for peers: this node can neither "
                       "reach nor be reached by another; give --peer NODE_ID@tcp://HOST:PORT of a "
                       "member, or --listen tcp://0.0.0.0:%d so members can dial it",
                       NODE_CONFIG_PEER_PORT);
    }
    /*  The log is open and every socket bound: tell systemd (Type=notify;
        a no-op without $NOTIFY_SOCKET). */
    sd_notifyf (0, "READY=1\nSTATUS=serving %s\nMAINPID=%lu", flags.absolute, (unsigned long) getpid ());
    rc = node_daemon_run (daemon);
    sd_notify (0, "STOPPING=1\nSTATUS=stopping");
    node_daemon_destroy (&daemon);
    hlog_info (S_LOG, "stopped");
    return rc == HEARTH_OK? 0: 1;
}
