/*  hearthctl.h — private to hearthctl: what its command files share.

    hearthctl is split by seam: hearthctl.c (global options, dispatch,
    usage), hearthctl_common.c (reporting failures, printing, parsing,
    calling hearthd), and one file per group of commands:
    hearthctl_admin.c (init, id, invite, join, repair: the identity, the
    community and the data dir), hearthctl_market.c (market post, list,
    get, expire, search), hearthctl_member.c (member list, promote,
    demote, revoke, endorse, proposals), hearthctl_node.c (stats, peers, events, call:
    a running node) and hearthctl_data.c (events export and import,
    backup: data in and out). Dependencies go one way: hearthctl.c calls the
    commands, the commands call hearthctl_common.c, which calls nothing of
    theirs. Not installed, not included outside node/hearthctl*.c.

    Every hearthctl_cmd_* and every reporting helper returns an exit
    status (HEARTHCTL_EXIT_*), having already printed what the user needs
    (stdout with --json, stderr otherwise). Single-threaded, as the CLI is.
*/
#ifndef HEARTHCTL_H_INCLUDED
#define HEARTHCTL_H_INCLUDED

#include <getopt.h>
#include <stdint.h>
#include <jansson.h>
#include "node_config.h"

/*  Exit status of hearthctl (docs/cli.md). */
#define HEARTHCTL_EXIT_OK           0
#define HEARTHCTL_EXIT_FAILED       1
#define HEARTHCTL_EXIT_USAGE        2
#define HEARTHCTL_EXIT_UNAVAILABLE  3     /* the node did not answer in time */
#define HEARTHCTL_EXIT_NOT_RUNNING  4     /* no hearthd listens on the control socket */

/*  The global options, filled in by main and read by every command
    (which may set json from its own --json). */
typedef struct {
    char data_dir [NODE_CONFIG_PATH_MAX];      /* "" with --node only */
    char endpoint [NODE_CONFIG_PATH_MAX];      /* control endpoint, or the peer address */
    int  node_given;                           /* --node was used */
    int  remote;                               /* --node NODE_ID@tcp://…: another member's
                                                  node, over the mesh as DIR's identity */
    int  json;
    int  timeout_ms;
    int  timeout_given;                        /* --timeout was used */
    const char *command;                       /* "market post": for messages; static */
} hearthctl_t;

/* ---- reporting (hearthctl_common.c) ---- */

/*  Report a failure of a Hearth error (its wire code and its name);
    message NULL means the error's own text. Returns HEARTHCTL_EXIT_FAILED. */
int
    hearthctl_fail_err (const hearthctl_t *ctl, int err, const char *message);

/*  hearthctl_fail_err with a printf-formatted message. */
int
    hearthctl_failf (const hearthctl_t *ctl, int err, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/*  Report a usage error (a bad_request body with --json); returns
    HEARTHCTL_EXIT_USAGE. */
int
    hearthctl_usage_error (const hearthctl_t *ctl, const char *message);

/*  An option getopt_long did not accept (it returned '?'; argv and
    options as given to it): names it, says whether it is unknown (with
    the nearest known option), ambiguous or missing its value. Returns
    HEARTHCTL_EXIT_USAGE. */
int
    hearthctl_bad_option (const hearthctl_t *ctl, char **argv, const struct option *options);

/*  The word of names (NULL-terminated) nearest to word by edit distance
    (insertions, deletions, substitutions, swaps of neighbours), if near
    enough to be a likely typo (at most 2 edits, fewer for short words);
    else NULL. Borrowed from names. */
const char *
    hearthctl_suggest (const char *word, const char *const *names);

/*  Options of a command that takes only --json and no arguments: sets
    ctl->json; HEARTHCTL_EXIT_OK or the usage error (naming the command). */
int
    hearthctl_json_only_args (hearthctl_t *ctl, int argc, char **argv, const char *command);

/*  Options of a command that takes only --json and one boolean option
    --FLAG_NAME, and no arguments: sets ctl->json and *flag (0 or 1);
    HEARTHCTL_EXIT_OK or the usage error (naming the command; an unknown
    option with the nearest known one). */
int
    hearthctl_flag_only_args (hearthctl_t *ctl, int argc, char **argv, const char *command,
                              const char *flag_name, int *flag);

/*  Options of a command that takes only --json and exactly one argument:
    sets ctl->json; HEARTHCTL_EXIT_OK and *arg (borrowed from argv), or the
    usage error with the message none (no argument) or many (more than one). */
int
    hearthctl_json_one_arg (hearthctl_t *ctl, int argc, char **argv, const char *none,
                            const char *many, const char **arg);

/*  Print one JSON value on a line of stdout (any value, "null" if it
    cannot be encoded). */
void
    hearthctl_print_json (const json_t *value);

/*  Strict unsigned decimal that fits in int64 (JSON integers); 0 or -1. */
int
    hearthctl_parse_u64 (const char *text, uint64_t *out);

/* ---- talking to hearthd (hearthctl_common.c) ---- */

/*  Report a transport failure (no reply at all) of a call of capability;
    returns the exit code. */
int
    hearthctl_fail_transport (const hearthctl_t *ctl, const char *capability, int rc);

/*  One round trip (control socket, or the mesh with a remote --node);
    0 and *reply (new, caller owns), or a transport error code. */
int
    hearthctl_request (const hearthctl_t *ctl, const char *capability, const json_t *input,
                       json_t **reply);

/*  An error reply to stderr: its code, its Hearth name when the node
    gave one, its message. */
void
    hearthctl_print_error_reply (const json_t *reply);

/*  Call the node; on success returns HEARTHCTL_EXIT_OK and *output (new
    object, caller owns). On failure prints the error and returns the exit
    code. */
int
    hearthctl_call (const hearthctl_t *ctl, const char *capability, const json_t *input,
                    json_t **output);

/*  A command of one boolean option and --json (hearthctl_flag_only_args)
    that calls capability with {FLAG_NAME: true} when the option is given,
    else with no input: *flag as parsed; on success HEARTHCTL_EXIT_OK and
    *output (new, caller owns), else the exit code (reported). */
int
    hearthctl_call_flagged (hearthctl_t *ctl, int argc, char **argv, const char *command,
                            const char *flag_name, const char *capability, int *flag,
                            json_t **output);

/*  input[key] = text, refusing text that is not UTF-8 (JSON cannot carry
    it). Returns HEARTHCTL_EXIT_OK or the usage exit code. */
int
    hearthctl_set_text (const hearthctl_t *ctl, json_t *input, const char *key, const char *text);

/* ---- the commands: argv [0] is the command's name ---- */

/*  hearthctl_admin.c */
int
    hearthctl_cmd_init (hearthctl_t *ctl, int argc, char **argv);
int
    hearthctl_cmd_id (hearthctl_t *ctl, int argc, char **argv);
int
    hearthctl_cmd_invite (hearthctl_t *ctl, int argc, char **argv);
int
    hearthctl_cmd_join (hearthctl_t *ctl, int argc, char **argv);
int
    hearthctl_cmd_repair (hearthctl_t *ctl, int argc, char **argv);

/*  hearthctl_market.c: argv [1] is the subcommand. */
int
    hearthctl_cmd_market (hearthctl_t *ctl, int argc, char **argv);

/*  hearthctl_member.c: argv [1] is the subcommand. */
int
    hearthctl_cmd_member (hearthctl_t *ctl, int argc, char **argv);

/*  hearthctl_node.c */
int
    hearthctl_cmd_stats (hearthctl_t *ctl, int argc, char **argv);
int
    hearthctl_cmd_peers (hearthctl_t *ctl, int argc, char **argv);
int
    hearthctl_cmd_events (hearthctl_t *ctl, int argc, char **argv);
int
    hearthctl_cmd_call (hearthctl_t *ctl, int argc, char **argv);

/*  hearthctl_data.c: events export, events import, backup */
int
    hearthctl_cmd_events_export (hearthctl_t *ctl, int argc, char **argv);
int
    hearthctl_cmd_events_import (hearthctl_t *ctl, int argc, char **argv);
int
    hearthctl_cmd_backup (hearthctl_t *ctl, int argc, char **argv);

#endif
