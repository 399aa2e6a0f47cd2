/*  hearthctl.c — the Hearth command line (docs/cli.md).

        hearthctl [--data-dir DIR | --node ENDPOINT] [--json] [--timeout MS] COMMAND ...

    init and id work without a running node (they read DIR directly); every
    other command talks to hearthd over DIR/control.sock. Output is for
    people by default; --json prints exactly the shapes of docs/protocol.md (one JSON
    document on stdout), and on failure its error body (docs/protocol.md, "Errors").

    Exit status: 0 ok; 1 the node answered with an error (or a local step
    failed); 2 usage error; 3 no running node answered (partition/timeout).
*/

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <czmq.h>
#include "hearth_error.h"
#include "hearth_log.h"
#include "node_config.h"
#include "node_control.h"
#include "node_invite.h"
#include "hearthctl.h"

#ifndef HEARTH_VERSION
#define HEARTH_VERSION "unknown"
#endif

static void
s_usage (FILE *out)
{
    fprintf (out,
        "usage: hearthctl [--data-dir DIR] [--node ENDPOINT|ADDRESS] [--json] [--timeout MS] COMMAND\n"
        "\n"
        "commands:\n"
        "  init [--community NAME]        create the identity and a new community in DIR\n"
        "  init --identity-only           create only the identity (to be invited); prints the NodeID\n"
        "  id                             this node's NodeID (full and short) and peer address\n"
        "  invite NODE_ID [--level member|trusted] [--ttl SECONDS] [--out FILE]\n"
        "                                 invite a key into the community (running node)\n"
        "  join INVITE_FILE               adopt the invite's community in DIR (no node running)\n"
        "  market post --category offer|request|info|emergency --title T --body B\n"
        "              [--tag X]... [--ttl SECONDS] [--client-id ID]\n"
        "              [--lat F --lng F [--label S]]\n"
        "  market list [--category C] [--tag X]... [--since-lamport N] [--limit N]\n"
        "  market get EVENT_ID\n"
        "  market expire EVENT_ID --reason fulfilled|withdrawn|user_request|stale\n"
        "              [--client-id ID]\n"
        "  market search QUERY [-k N]\n"
        "  peers                          peer links: node, direction, connected, last seen, lag, bytes\n"
        "  peers --known                  known-peer table: node, linked now, from, fails, last reached\n"
        "  stats [--prometheus]           counters and gauges of the running node\n"
        "  events [--since-lamport N] [--limit N]   the event log (JSON envelopes with --json)\n"
        "  call CAPABILITY [INPUT_JSON]   raw control call; prints the whole reply\n"
        "\n"
        "options:\n"
        "  --data-dir DIR   node data dir (default $%s or ~/%s)\n"
        "  --node ENDPOINT  control endpoint of a running node (default ipc://DIR/control.sock), or\n"
        "                   NODE_ID@tcp://HOST:PORT: another member's node, called over the mesh\n"
        "                   with DIR's identity (market list and market search)\n"
        "  --json           machine-readable output (docs/protocol.md shapes)\n"
        "  --timeout MS     how long to wait for the node (default %d; over the mesh at most\n"
        "                   the capability's timeout: 5000 market list, 10000 market search)\n"
        "exit status: 0 ok, 1 error reply, 2 usage error, 3 node not running or not answering\n"
        "See docs/cli.md.\n",
        NODE_CONFIG_DATA_DIR_ENV, NODE_CONFIG_DATA_DIR_DEFAULT, NODE_CONTROL_TIMEOUT_MS);
}

/* ---- main ------------------------------------------------------------------ */

int
main (int argc, char *argv [])
{
    static const struct option options [] = {
        { "data-dir", required_argument, NULL, 'd' },
        { "node",     required_argument, NULL, 'n' },
        { "json",     no_argument,       NULL, 'j' },
        { "timeout",  required_argument, NULL, 't' },
        { "help",     no_argument,       NULL, 'h' },
        { "version",  no_argument,       NULL, 'V' },
        { NULL, 0, NULL, 0 }
    };
    hearthctl_t ctl;
    memset (&ctl, 0, sizeof ctl);
    ctl.timeout_ms = NODE_CONTROL_TIMEOUT_MS;
    const char *data_dir = NULL, *node = NULL;
    int opt;
    /*  "+": stop at the command; its own options are parsed by it. */
    while ((opt = getopt_long (argc, argv, "+h", options, NULL)) != -1) {
        uint64_t timeout;
        switch (opt) {
            case 'd': data_dir = optarg; break;
            case 'n': node = optarg; break;
            case 'j': ctl.json = 1; break;
            case 't':
                if (hearthctl_parse_u64 (optarg, &timeout) != 0 || timeout < 1 || timeout > INT_MAX)
                    return hearthctl_usage_error (&ctl, "--timeout must be a positive number of "
                                                  "milliseconds");
                ctl.timeout_ms = (int) timeout;
                ctl.timeout_given = 1;
                break;
            case 'h': s_usage (stdout); return HEARTHCTL_EXIT_OK;
            case 'V': printf ("hearthctl %s\n", HEARTH_VERSION); return HEARTHCTL_EXIT_OK;
            default:  s_usage (stderr); return HEARTHCTL_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        s_usage (stderr);
        return HEARTHCTL_EXIT_USAGE;
    }
    /*  The library logs warnings only: command output stays clean. */
    hearth_log_set_level (HEARTH_LOG_WARN);
    /*  No CZMQ signal handler: Ctrl-C ends hearthctl at once, as any CLI. */
    zsys_handler_set (NULL);

    if (node) {
        if (strlen (node) >= sizeof ctl.endpoint)
            return hearthctl_usage_error (&ctl, "--node endpoint is too long");
        snprintf (ctl.endpoint, sizeof ctl.endpoint, "%s", node);
        ctl.node_given = 1;
        /*  NODE_ID@tcp://HOST:PORT names another member's node; anything
            else is a control endpoint of a local node. */
        if (strchr (node, '@')) {
            if (!node_invite_address_valid (node))
                return hearthctl_usage_error (&ctl, "--node must be NODE_ID@tcp://HOST:PORT (another "
                                              "member's node) or a control endpoint ipc://…");
            ctl.remote = 1;
        }
    }
    if (data_dir || !node || ctl.remote) {
        char given [NODE_CONFIG_PATH_MAX];
        if (data_dir)
            snprintf (given, sizeof given, "%s", data_dir);
        else
        if (node_config_default_data_dir (given, sizeof given) != HEARTH_OK)
            return hearthctl_usage_error (&ctl, "no --data-dir given and neither $HEARTH_DATA_DIR "
                                          "nor $HOME is set");
        /*  An absolute path when the dir exists (init may create it). */
        char absolute [PATH_MAX];
        if (realpath (given, absolute))
            snprintf (ctl.data_dir, sizeof ctl.data_dir, "%s", absolute);
        else
            snprintf (ctl.data_dir, sizeof ctl.data_dir, "%s", given);
        if (!node && node_config_control_endpoint (ctl.data_dir, ctl.endpoint, sizeof ctl.endpoint) != 0)
            return hearthctl_usage_error (&ctl, "--data-dir path is too long");
    }

    const char *command = argv [optind];
    int sub_argc = argc - optind;
    char **sub_argv = argv + optind;
    if (strcmp (command, "init") == 0)   return hearthctl_cmd_init (&ctl, sub_argc, sub_argv);
    if (strcmp (command, "id") == 0)     return hearthctl_cmd_id (&ctl, sub_argc, sub_argv);
    if (strcmp (command, "invite") == 0) return hearthctl_cmd_invite (&ctl, sub_argc, sub_argv);
    if (strcmp (command, "join") == 0)   return hearthctl_cmd_join (&ctl, sub_argc, sub_argv);
    if (strcmp (command, "market") == 0) return hearthctl_cmd_market (&ctl, sub_argc, sub_argv);
    if (strcmp (command, "stats") == 0)  return hearthctl_cmd_stats (&ctl, sub_argc, sub_argv);
    if (strcmp (command, "peers") == 0)  return hearthctl_cmd_peers (&ctl, sub_argc, sub_argv);
    if (strcmp (command, "events") == 0) return hearthctl_cmd_events (&ctl, sub_argc, sub_argv);
    if (strcmp (command, "call") == 0)   return hearthctl_cmd_call (&ctl, sub_argc, sub_argv);
    if (strcmp (command, "repair") == 0) return hearthctl_cmd_repair (&ctl, sub_argc, sub_argv);
    if (strcmp (command, "help") == 0) {
        s_usage (stdout);
        return HEARTHCTL_EXIT_OK;
    }
    return hearthctl_usage_error (&ctl, "unknown command");
}
