/*  hearthd.c — the Hearth node daemon: parse flags, build the config, run
    one node in the foreground until SIGINT/SIGTERM.

        hearthd [--data-dir DIR] [--config FILE] [--log-level L]
                [--stats tcp://127.0.0.1:PORT] [--rebuild-views]

    Exit status: 0 after a clean stop, 1 when the node cannot start (the
    message says why), 2 on a usage error.
*/
#include <czmq.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hearth_error.h"
#include "hearth_log.h"
#include "node_config.h"
#include "node_daemon.h"

#define S_LOG "hearthd"

#ifndef HEARTH_VERSION
#define HEARTH_VERSION "unknown"
#endif

static void
s_usage (FILE *out)
{
    fprintf (out,
        "usage: hearthd [--data-dir DIR] [--config FILE] [--log-level LEVEL]\n"
        "               [--stats tcp://127.0.0.1:PORT] [--rebuild-views]\n"
        "\n"
        "Runs one Hearth node in the foreground (stop it with Ctrl-C or SIGTERM).\n"
        "  --data-dir DIR   everything the node keeps (default $%s or ~/%s);\n"
        "                   create it first with `hearthctl --data-dir DIR init`\n"
        "  --config FILE    ZPL config file (default DIR/%s when present)\n"
        "  --log-level L    error | warn | info | debug (default info)\n"
        "  --stats EP       also serve stats on this tcp:// endpoint\n"
        "  --rebuild-views  re-fold every view from the whole log instead of its snapshot\n"
        "  --version        print the version\n"
        "Peer networking (--listen, --peer) arrives with the mesh.\n"
        "See docs/operations.md.\n",
        NODE_CONFIG_DATA_DIR_ENV, NODE_CONFIG_DATA_DIR_DEFAULT, NODE_CONFIG_FILE_NAME);
}

int
main (int argc, char *argv [])
{
    static const struct option options [] = {
        { "data-dir",  required_argument, NULL, 'd' },
        { "config",    required_argument, NULL, 'c' },
        { "log-level", required_argument, NULL, 'l' },
        { "stats",     required_argument, NULL, 's' },
        { "rebuild-views", no_argument,   NULL, 'R' },
        { "listen",    required_argument, NULL, 'L' },
        { "peer",      required_argument, NULL, 'P' },
        { "help",      no_argument,       NULL, 'h' },
        { "version",   no_argument,       NULL, 'V' },
        { NULL, 0, NULL, 0 }
    };
    const char *data_dir = NULL, *config = NULL, *level = NULL, *stats = NULL;
    int opt, rebuild_views = 0;
    while ((opt = getopt_long (argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
            case 'd': data_dir = optarg; break;
            case 'c': config = optarg; break;
            case 'l': level = optarg; break;
            case 's': stats = optarg; break;
            case 'R': rebuild_views = 1; break;
            case 'L':
            case 'P':
                fprintf (stderr, "hearthd: --listen/--peer: peer networking is not in this version "
                         "yet (it comes with the mesh); the node runs on its own\n");
                return 2;
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
    char given [NODE_CONFIG_PATH_MAX], absolute [PATH_MAX];
    if (data_dir)
        snprintf (given, sizeof given, "%s", data_dir);
    else
    if (node_config_default_data_dir (given, sizeof given) != HEARTH_OK) {
        fprintf (stderr, "hearthd: no --data-dir given and neither $%s nor $HOME is set\n",
                 NODE_CONFIG_DATA_DIR_ENV);
        return 2;
    }
    if (!realpath (given, absolute)) {
        fprintf (stderr, "hearthd: data dir %s does not exist: run `hearthctl --data-dir %s init` "
                 "first\n", given, given);
        return 1;
    }

    node_config_t cfg;
    node_config_defaults (&cfg, absolute);
    char *message = NULL;
    char default_file [NODE_CONFIG_PATH_MAX];
    int rc;
    if (config)
        rc = node_config_load_file (&cfg, config, 1, &message);
    else {
        int n = snprintf (default_file, sizeof default_file, "%s/%s", absolute, NODE_CONFIG_FILE_NAME);
        rc = (n > 0 && (size_t) n < sizeof default_file)?
             node_config_load_file (&cfg, default_file, 0, &message): HEARTH_EINVAL;
    }
    if (rc == HEARTH_OK && level && hearth_log_parse_level (level, &cfg.log_level) != HEARTH_OK) {
        message = strdup ("--log-level must be error, warn, info or debug");
        rc = HEARTH_EINVAL;
    }
    if (rc == HEARTH_OK && stats)
        snprintf (cfg.stats_endpoint, sizeof cfg.stats_endpoint, "%s", stats);
    cfg.rebuild_views = rebuild_views;
    if (rc == HEARTH_OK)
        rc = node_config_validate (&cfg, &message);
    if (rc != HEARTH_OK) {
        fprintf (stderr, "hearthd: %s\n", message? message: hearth_strerror (rc));
        free (message);
        return 2;
    }
    hearth_log_set_level (cfg.log_level);

    /*  Threads started while opening (RocksDB, ZeroMQ I/O) inherit a mask
        that blocks SIGINT/SIGTERM, so the signal always lands on this
        thread and wakes the zloop's poll at once. */
    sigset_t stop_signals, previous;
    sigemptyset (&stop_signals);
    sigaddset (&stop_signals, SIGINT);
    sigaddset (&stop_signals, SIGTERM);
    pthread_sigmask (SIG_BLOCK, &stop_signals, &previous);
    zsys_init ();

    int err = 0;
    node_daemon_t *daemon = node_daemon_new (&cfg, &err, &message);
    pthread_sigmask (SIG_SETMASK, &previous, NULL);
    if (!daemon) {
        hlog_error (S_LOG, "%s (%s)", message? message: hearth_strerror (err), hearth_error_name (err));
        free (message);
        return 1;
    }
    rc = zsys_interrupted? HEARTH_OK: node_daemon_run (daemon);
    node_daemon_destroy (&daemon);
    hlog_info (S_LOG, "stopped");
    return rc == HEARTH_OK? 0: 1;
}
