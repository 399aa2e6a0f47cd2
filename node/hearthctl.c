/*  hearthctl.c — the Hearth command line (docs/cli.md): global options,
    the table of commands with their help, dispatch.

        hearthctl [GLOBAL OPTIONS] COMMAND [SUBCOMMAND] [OPTIONS] [ARGS]

    Global options (--data-dir, --node, --json, --timeout, --help) may
    stand anywhere on the line, before or after the command; `--` ends
    them. `--help` (or `-h`) after a command prints that command's help
    and never reaches the daemon; `hearthctl help COMMAND` does the same.
    An unknown command, subcommand or option is echoed with the nearest
    known word (edit distance) as a suggestion.

    init, id, join and repair work without a running node (they read DIR
    directly); every other command talks to hearthd over DIR/control.sock.
    Output is for people by default; --json prints exactly the shapes of
    docs/protocol.md (one JSON document on stdout), and on failure its
    error body (docs/protocol.md, "Errors").

    Exit status (HEARTHCTL_EXIT_*): 0 ok; 1 the node answered with an
    error, or a local step failed; 2 usage error; 3 the node did not
    answer in time; 4 hearthd is not running.
*/

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <czmq.h>
#include "hearth_codec.h"
#include "hearth_error.h"
#include "hearth_log.h"
#include "node_config.h"
#include "node_control.h"
#include "node_invite.h"
#include "hearthctl.h"

#ifndef HEARTH_VERSION
#define HEARTH_VERSION "unknown"
#endif

/*  Arguments hearthctl takes at most (argv is copied into a fixed array
    while the global options are taken out). */
#define S_MAX_ARGS  4096

/* ---- the commands ------------------------------------------------------- */

typedef int (s_run_fn) (hearthctl_t *ctl, int argc, char **argv);

/*  One command: its words ("market post"), how it runs (argv [0] is its
    last word; NULL for a group such as "market"), a one-line usage, a
    summary and the help text of its options. */
typedef struct {
    const char *name;
    s_run_fn   *run;
    const char *usage;
    const char *summary;
    const char *help;
} s_command_t;

static const s_command_t s_commands [] = {
    { "init", hearthctl_cmd_init, "init [--community NAME] | init --identity-only",
      "create the identity and a new community in DIR (no daemon needed)",
      "  --community NAME   name of the new community (default \"hearth\")\n"
      "  --identity-only    create only the identity, to be invited; prints the NodeID\n"
      "Refuses if DIR already has a community. Needs --data-dir (or $HEARTH_DATA_DIR, ~/.hearth).\n" },
    { "id", hearthctl_cmd_id, "id",
      "this node's NodeID (full and short) and peer address", "" },
    { "invite", hearthctl_cmd_invite,
      "invite NODE_ID [--level member|trusted] [--ttl SECONDS] [--out FILE] [--endpoint ADDRESS]...",
      "invite a key into the community (running node)",
      "  NODE_ID            the invitee's full NodeID (its `hearthctl init --identity-only`)\n"
      "  --level L          member (default) or trusted\n"
      "  --ttl SECONDS      how long the invite is valid (default 86400, at most 2592000)\n"
      "  --out FILE         write the invite there (mode 0600) instead of stdout\n"
      "  --endpoint ADDRESS a member to connect to, NODE_ID@tcp://HOST:PORT (repeatable);\n"
      "                     needed when this node does not listen for peers\n"
      "Refuses to write an invite that names nowhere to connect to.\n" },
    { "join", hearthctl_cmd_join, "join INVITE_FILE [--peer ADDRESS]...",
      "adopt the invite's community in DIR (no node running)",
      "  INVITE_FILE        the invite a member wrote with `hearthctl invite`\n"
      "  --peer ADDRESS     also link to this member, NODE_ID@tcp://HOST:PORT (repeatable);\n"
      "                     needed when the invite names no bootstrap endpoint\n" },
    { "market", NULL, "market post|list|get|expire|update|search ...", "the marketplace", "" },
    { "market post", hearthctl_cmd_market,
      "market post --category offer|request|info|emergency --title T --body B [--tag X]... "
      "[--ttl SECONDS] [--client-id ID] [--lat F --lng F [--label S]]",
      "post an offer, request, information or emergency notice",
      "  --category C       offer, request, info or emergency (required)\n"
      "  --title T          the title (required)\n"
      "  --body B           the text (required; quote it)\n"
      "  --tag X            a tag (repeatable)\n"
      "  --ttl SECONDS      lifetime (default 604800, 7 days)\n"
      "  --client-id ID     makes the post idempotent: the same id returns the same event\n"
      "  --lat F --lng F    a location; --label S names it\n" },
    { "market list", hearthctl_cmd_market,
      "market list [--category C] [--tag X]... [--since-lamport N] [--limit N] "
      "[--near LAT,LNG --radius-km N [--order newest|distance]]",
      "active posts, newest first (or nearest first)",
      "  --category C       only this category\n"
      "  --tag X            posts with any of these tags (repeatable)\n"
      "  --since-lamport N  only posts after lamport N\n"
      "  --limit N          at most N posts (default 50, at most 500)\n"
      "  --near LAT,LNG     only posts within --radius-km of this point (decimal degrees);\n"
      "                     posts without a location are left out; shows each distance\n"
      "  --radius-km N      the radius in km (more than 0, at most 20037.5)\n"
      "  --order O          newest (default) or distance (nearest first; needs --near)\n" },
    { "market get", hearthctl_cmd_market, "market get EVENT_ID",
      "one post by id, active or expired", "" },
    { "market expire", hearthctl_cmd_market,
      "market expire EVENT_ID --reason fulfilled|withdrawn|user_request|stale [--client-id ID]",
      "expire one of this node's posts",
      "  --reason R         fulfilled, withdrawn, user_request or stale (required)\n"
      "  --client-id ID     makes the expiry idempotent\n" },
    { "market update", hearthctl_cmd_market,
      "market update EVENT_ID [--title T] [--body B] [--tag X]... [--no-tags] "
      "[--location LAT,LNG[,LABEL]] [--no-location] [--ttl SECONDS] [--client-id ID]",
      "edit one of this node's live posts",
      "  EVENT_ID           the post (its market.post event id)\n"
      "  --title T          the new title\n"
      "  --body B           the new text (quote it)\n"
      "  --tag X            the new tags, replacing all of them (repeatable)\n"
      "  --no-tags          remove every tag\n"
      "  --location LAT,LNG[,LABEL]  the new place (e.g. 52.52,13.40,Hof)\n"
      "  --no-location      remove the place\n"
      "  --ttl SECONDS      expire SECONDS from now (at most the node's max ttl)\n"
      "  --client-id ID     makes the update idempotent: the same id returns the same event\n"
      "Fields left out stay as they are. Refused for another node's post (unauthorized)\n"
      "and for an expired or unknown one (not_found).\n" },
    { "market search", hearthctl_cmd_market,
      "market search QUERY... [-k N] [--near LAT,LNG --radius-km N [--order relevance|distance]]",
      "ranked search over active posts",
      "  QUERY...           words to search for (several words form one query)\n"
      "  -k N               at most N results\n"
      "  --near LAT,LNG     only posts within --radius-km of this point (decimal degrees)\n"
      "  --radius-km N      the radius in km (more than 0, at most 20037.5)\n"
      "  --order O          relevance (default) or distance: the k most relevant, nearest\n"
      "                     first\n" },
    { "member", NULL, "member list|promote|demote|revoke|endorse|proposals ...",
      "moderation: trusted members, demotion, revocation", "" },
    { "member list", hearthctl_cmd_member, "member list",
      "the community's members: level, who added them, since when, revoked",
      "Levels: member, trusted (may moderate), anchor (may promote); the founder is an anchor.\n" },
    { "member promote", hearthctl_cmd_member,
      "member promote NODE_ID [--level trusted|anchor] [--reason TEXT] [--ttl SECONDS]",
      "make a member trusted (an anchor's signature; anchor: the founder's)",
      "  NODE_ID            the member: full NodeID, short id, or a prefix naming one member\n"
      "  --level LEVEL      trusted (default) or anchor\n"
      "  --reason TEXT      shown with the event (at most 120 bytes)\n"
      "  --ttl SECONDS      how long others may endorse it (default 604800, at most 2592000)\n" },
    { "member demote", hearthctl_cmd_member,
      "member demote NODE_ID [--level member|trusted] [--reason TEXT] [--ttl SECONDS]",
      "propose to lower a member's level (takes effect with enough signatures)",
      "  NODE_ID            the member: full NodeID, short id, or a prefix naming one member\n"
      "  --level LEVEL      member (default) or trusted\n"
      "  --reason TEXT      shown with the event (at most 120 bytes)\n"
      "  --ttl SECONDS      how long others may endorse it (default 604800, at most 2592000)\n"
      "Takes effect once the community's min_signatures_to_demote (default 3) trusted or anchor\n"
      "members signed, or all who may sign if fewer.\n" },
    { "member revoke", hearthctl_cmd_member, "member revoke NODE_ID [--reason TEXT] [--ttl SECONDS]",
      "propose to revoke a key for good (takes effect with enough signatures)",
      "  NODE_ID            the member: full NodeID, short id, or a prefix naming one member\n"
      "  --reason TEXT      shown with the event (at most 120 bytes)\n"
      "  --ttl SECONDS      how long others may endorse it (default 604800, at most 2592000)\n"
      "Takes effect once the community's min_signatures_to_revoke (default 3) trusted or anchor\n"
      "members signed, or all who may sign if fewer. Then every node closes the key's links,\n"
      "refuses its new events and its pending invites.\n" },
    { "member endorse", hearthctl_cmd_member, "member endorse PROPOSAL_ID",
      "co-sign an open proposal", "  PROPOSAL_ID        from `hearthctl member proposals`\n" },
    { "member proposals", hearthctl_cmd_member, "member proposals [--all]",
      "open proposals with their signatures and threshold",
      "  --all              also those that took effect, were moot or expired\n" },
    { "peers", hearthctl_cmd_peers, "peers [--known]",
      "peer links: node, direction, connected, last seen, lag, bytes",
      "  --known            the known-peer table instead: node, linked now, from, fails,\n"
      "                     last reached\n" },
    { "stats", hearthctl_cmd_stats, "stats [--prometheus]",
      "counters and gauges of the running node",
      "  --prometheus       Prometheus text exposition instead of the summary\n" },
    { "events", hearthctl_cmd_events, "events [--since-lamport N] [--limit N]",
      "the event log (JSON envelopes with --json); see also events export|import",
      "  --since-lamport N  only events after lamport N\n"
      "  --limit N          at most N events\n" },
    { "events export", hearthctl_cmd_events_export, "events export [--since-lamport N] [--out FILE]",
      "JSON lines with each event's exact signed bytes, checkable with libsodium alone",
      "  --since-lamport N  only events after lamport N\n"
      "  --out FILE         write there (mode 0600) instead of stdout\n" },
    { "events import", hearthctl_cmd_events_import, "events import FILE",
      "feed an export's events through the node's receive pipeline",
      "  FILE               JSON lines from `events export` (- for stdin); lines that are\n"
      "                     not events are counted as malformed, not fatal\n" },
    { "backup", hearthctl_cmd_backup, "backup DIR",
      "an online backup of the running node into DIR (a new data dir)",
      "  DIR                a directory that does not exist yet; the running hearthd writes\n"
      "                     a RocksDB checkpoint into DIR/db, hearthctl copies the keys and\n"
      "                     config beside it. Restore: start hearthd with --data-dir DIR\n" },
    { "repair", hearthctl_cmd_repair, "repair [--apply]",
      "recover a damaged event log into a copy and report it (hearthd stopped)",
      "  --apply            swap the repaired copy in, keeping the original\n" },
    { "call", hearthctl_cmd_call, "call CAPABILITY [INPUT_JSON]",
      "raw control call; prints the whole reply", "" },
    { "help", NULL, "help [COMMAND]", "this help, or a command's", "" },
};
#define S_COMMANDS (sizeof s_commands / sizeof s_commands [0])

/*  Global options: those taking a value, then flags. */
static const char *const s_global_value_options [] = { "--data-dir", "--node", "--timeout", NULL };
static const char *const s_global_flags [] = { "--json", "--help", "--version", NULL };

/*  Options of the commands that take a value: their value is never read as
    a global option (`--title --json` posts the title "--json"). */
static const char *const s_command_value_options [] = {
    "--community", "--level", "--ttl", "--out", "--endpoint", "--peer", "--category", "--title",
    "--body", "--tag", "--client-id", "--lat", "--lng", "--label", "--since-lamport", "--limit",
    "--reason", "-k", NULL
};

static const s_command_t *
s_find (const char *name)
{
    for (size_t i = 0; i < S_COMMANDS; i++)
        if (strcmp (s_commands [i].name, name) == 0)
            return &s_commands [i];
    return NULL;
}

static void
s_usage (FILE *out)
{
    fprintf (out, "usage: hearthctl [--data-dir DIR] [--node ENDPOINT|ADDRESS] [--json] [--timeout MS] "
             "COMMAND ...\n\ncommands:\n");
    for (size_t i = 0; i < S_COMMANDS; i++)
        if (s_commands [i].run || strcmp (s_commands [i].name, "help") == 0)
            fprintf (out, "  %-15s %s\n", s_commands [i].name, s_commands [i].summary);
    fprintf (out,
        "\nglobal options (anywhere on the line):\n"
        "  --data-dir DIR   node data dir (default $%s or ~/%s)\n"
        "  --node ENDPOINT  control endpoint of a running node (default ipc://DIR/control.sock), or\n"
        "                   NODE_ID@tcp://HOST:PORT: another member's node, called over the mesh\n"
        "                   with DIR's identity (market list and market search)\n"
        "  --json           machine-readable output (docs/protocol.md shapes)\n"
        "  --timeout MS     how long to wait for the node (default %d)\n"
        "  --help, -h       help; after a command, that command's help\n"
        "  --version        print the version\n"
        "exit status: 0 ok, 1 error (reply or local), 2 usage error, 3 no answer in time,\n"
        "             4 hearthd not running\n"
        "`hearthctl COMMAND --help` for a command's options; man hearthctl; docs/cli.md.\n",
        NODE_CONFIG_DATA_DIR_ENV, NODE_CONFIG_DATA_DIR_DEFAULT, NODE_CONTROL_TIMEOUT_MS);
}

/*  A command's help (or a group's list of subcommands) on stdout. */
static void
s_command_help (const s_command_t *command)
{
    if (strcmp (command->name, "help") == 0) {
        s_usage (stdout);
        return;
    }
    if (!command->run) {
        printf ("usage: hearthctl %s\n\n%s:\n", command->usage, command->summary);
        size_t prefix = strlen (command->name);
        for (size_t i = 0; i < S_COMMANDS; i++)
            if (strncmp (s_commands [i].name, command->name, prefix) == 0
            &&  s_commands [i].name [prefix] == ' ')
                printf ("  %-15s %s\n", s_commands [i].name + prefix + 1, s_commands [i].summary);
        printf ("`hearthctl %s SUBCOMMAND --help` for its options.\n", command->name);
        return;
    }
    printf ("usage: hearthctl [GLOBAL OPTIONS] %s [--json]\n\n%s\n", command->usage, command->summary);
    if (command->help [0])
        printf ("\n%s", command->help);
    printf ("\nglobal options: --data-dir DIR, --node ENDPOINT, --json, --timeout MS "
            "(`hearthctl --help`)\n");
}

/*  The names a suggestion for an unknown word after prefix ("" or
    "market ") may be: the commands at that level. */
static void
s_unknown_command (hearthctl_t *ctl, const char *prefix, const char *word)
{
    const char *names [S_COMMANDS + 1];
    size_t n = 0, plen = strlen (prefix);
    for (size_t i = 0; i < S_COMMANDS; i++) {
        const char *name = s_commands [i].name;
        if (strncmp (name, prefix, plen) == 0 && !strchr (name + plen, ' '))
            names [n++] = name + plen;
    }
    names [n] = NULL;
    const char *best = hearthctl_suggest (word, names);
    char message [512];
    if (best)
        snprintf (message, sizeof message, "unknown %s '%.200s'; did you mean '%s%s'?",
                  plen? "subcommand": "command", word, prefix, best);
    else
        snprintf (message, sizeof message, "unknown %s '%.200s'", plen? "subcommand": "command", word);
    hearthctl_usage_error (ctl, message);
}

/*  name is "--opt" or "--opt=value" of one of options: 1, with *value set
    (NULL when the value is the next argument). */
static int
s_match_option (const char *arg, const char *const *options, const char **name, const char **value)
{
    for (size_t i = 0; options [i]; i++) {
        size_t len = strlen (options [i]);
        if (strncmp (arg, options [i], len) == 0 && (arg [len] == 0 || arg [len] == '=')) {
            *name = options [i];
            *value = arg [len] == '='? arg + len + 1: NULL;
            return 1;
        }
    }
    return 0;
}

/* ---- main ------------------------------------------------------------------ */

int
main (int argc, char *argv [])
{
    hearthctl_t ctl;
    memset (&ctl, 0, sizeof ctl);
    ctl.timeout_ms = NODE_CONTROL_TIMEOUT_MS;
    /*  No library log line on the terminal: hearthctl reports every
        failure itself, in one line (or one JSON error body). */
    hearth_log_set_level (HEARTH_LOG_ERROR);
    hearth_log_set_silent (1);
    /*  Commands report unknown options themselves (with a suggestion). */
    opterr = 0;
    if (argc > S_MAX_ARGS)
        return hearthctl_usage_error (&ctl, "too many arguments");

    /*  Take the global options out wherever they are; what is left is the
        command and its own arguments. */
    static char *rest [S_MAX_ARGS + 1];
    int n_rest = 0, help = 0, version = 0, command_at = -1;
    const char *data_dir = NULL, *node = NULL, *timeout_text = NULL;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv [i], *name = NULL, *value = NULL;
        if (strcmp (arg, "--") == 0) {
            while (i < argc)
                rest [n_rest++] = argv [i++];
            break;
        }
        if (s_match_option (arg, s_global_value_options, &name, &value)) {
            if (!value) {
                if (i + 1 >= argc) {
                    char message [64];
                    snprintf (message, sizeof message, "%s needs a value", name);
                    return hearthctl_usage_error (&ctl, message);
                }
                value = argv [++i];
            }
            if (strcmp (name, "--data-dir") == 0) data_dir = value;
            else if (strcmp (name, "--node") == 0) node = value;
            else timeout_text = value;
            continue;
        }
        if (strcmp (arg, "--json") == 0)                         { ctl.json = 1; continue; }
        if (strcmp (arg, "--help") == 0 || strcmp (arg, "-h") == 0) { help = 1; continue; }
        if (strcmp (arg, "--version") == 0 && command_at < 0)    { version = 1; continue; }
        if (command_at >= 0 && s_match_option (arg, s_command_value_options, &name, &value)) {
            rest [n_rest++] = argv [i];
            if (!value && i + 1 < argc)
                rest [n_rest++] = argv [++i];
            continue;
        }
        if (command_at < 0 && arg [0] == '-' && arg [1]) {
            const char *names [8];
            size_t n = 0;
            for (size_t k = 0; s_global_value_options [k]; k++) names [n++] = s_global_value_options [k];
            for (size_t k = 0; s_global_flags [k]; k++)         names [n++] = s_global_flags [k];
            names [n] = NULL;
            char word [128];
            snprintf (word, sizeof word, "%.*s", (int) strcspn (arg, "="), arg);
            const char *best = hearthctl_suggest (word, names);
            char message [320];
            snprintf (message, sizeof message, "unknown option '%.100s'%s%s%s (a command's own options "
                      "go after the command)", word, best? "; did you mean '": "", best? best: "",
                      best? "'?": "");
            return hearthctl_usage_error (&ctl, message);
        }
        if (command_at < 0)
            command_at = n_rest;
        rest [n_rest++] = argv [i];
    }
    rest [n_rest] = NULL;
    if (version) {
        printf ("hearthctl %s\n", HEARTH_VERSION);
        return HEARTHCTL_EXIT_OK;
    }
    if (timeout_text) {
        uint64_t timeout;
        if (hearthctl_parse_u64 (timeout_text, &timeout) != 0 || timeout < 1 || timeout > INT_MAX)
            return hearthctl_usage_error (&ctl, "--timeout must be a positive number of milliseconds");
        ctl.timeout_ms = (int) timeout;
        ctl.timeout_given = 1;
    }
    if (n_rest == 0) {
        if (help) {
            s_usage (stdout);
            return HEARTHCTL_EXIT_OK;
        }
        s_usage (stderr);
        return HEARTHCTL_EXIT_USAGE;
    }

    /*  The command: one word, or a group and its subcommand. `help X Y`
        is `X Y --help`. */
    char **words = rest;
    int n_words = n_rest;
    if (strcmp (words [0], "help") == 0) {
        if (n_words == 1) {
            s_usage (stdout);
            return HEARTHCTL_EXIT_OK;
        }
        words++;
        n_words--;
        help = 1;
    }
    const s_command_t *command = s_find (words [0]);
    if (!command || strcmp (command->name, "help") == 0) {
        s_unknown_command (&ctl, "", words [0]);
        return HEARTHCTL_EXIT_USAGE;
    }
    int consumed = 1;
    char full [64];
    if (n_words > 1 && words [1][0] != '-') {
        snprintf (full, sizeof full, "%s %.40s", command->name, words [1]);
        const s_command_t *sub = s_find (full);
        if (sub) {
            command = sub;
            consumed = 2;
        }
        else
        if (!command->run) {
            ctl.command = command->name;
            snprintf (full, sizeof full, "%s ", command->name);
            s_unknown_command (&ctl, full, words [1]);
            return HEARTHCTL_EXIT_USAGE;
        }
    }
    ctl.command = command->name;
    if (help) {
        s_command_help (command);
        return HEARTHCTL_EXIT_OK;
    }
    if (!command->run) {
        char message [128];
        snprintf (message, sizeof message, "%s needs a subcommand", command->name);
        hearthctl_usage_error (&ctl, message);
        return HEARTHCTL_EXIT_USAGE;
    }

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
        else
        if (!(strncmp (node, "ipc://", 6) == 0 && node [6])
        &&  !(strncmp (node, "tcp://", 6) == 0 && hearth_tcp_endpoint_valid (node, 0)))
            return hearthctl_usage_error (&ctl, "--node must be a control endpoint (ipc://PATH or "
                                          "tcp://HOST:PORT) or another member's node "
                                          "NODE_ID@tcp://HOST:PORT");
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
    /*  Groups get their own word first (hearthctl_cmd_market reads
        argv [1]); a subcommand of its own gets its word as argv [0]. */
    if (command->run == hearthctl_cmd_market || command->run == hearthctl_cmd_member)
        return command->run (&ctl, n_words, words);
    return command->run (&ctl, n_words - consumed + 1, words + consumed - 1);
}
