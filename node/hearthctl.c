/*  hearthctl.c — the Hearth command line (docs/cli.md).

        hearthctl [--data-dir DIR | --node ENDPOINT] [--json] [--timeout MS] COMMAND ...

    init and id work without a running node (they read DIR directly); every
    other command talks to hearthd over DIR/control.sock. Output is for
    people by default; --json prints exactly the shapes of docs/protocol.md (one JSON
    document on stdout), and on failure its error body (docs/protocol.md, "Errors").

    Exit status: 0 ok; 1 the node answered with an error (or a local step
    failed); 2 usage error; 3 no running node answered (partition/timeout).
*/
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <czmq.h>
#include <jansson.h>
#include "dbdir.h"
#include "eventlog.h"
#include "gossip.h"
#include "hearth_codec.h"
#include "hearth_error.h"
#include "hearth_fs.h"
#include "hearth_json.h"
#include "hearth_log.h"
#include "identity.h"
#include "market.h"
#include "market_view.h"
#include "node_client.h"
#include "node_config.h"
#include "node_control.h"
#include "node_invite.h"
#include "node_render.h"

#ifndef HEARTH_VERSION
#define HEARTH_VERSION "unknown"
#endif

#define HEARTHCTL_EXIT_OK           0
#define HEARTHCTL_EXIT_FAILED       1
#define HEARTHCTL_EXIT_USAGE        2
#define HEARTHCTL_EXIT_UNAVAILABLE  3

/*  Community name used by `init` without --community. */
#define S_DEFAULT_COMMUNITY "hearth"
/*  Tags accepted on the command line before the service's own cap
    (EVENT_MAX_TAGS) judges them: a bound on argv handling only. */
#define S_MAX_CLI_TAGS      64
/*  Directory mode for the data dir and its parents created by init. */
#define S_DIR_MODE          0700

typedef struct {
    char data_dir [NODE_CONFIG_PATH_MAX];      /* "" with --node only */
    char endpoint [NODE_CONFIG_PATH_MAX];      /* control endpoint, or the peer address */
    int  node_given;                           /* --node was used */
    int  remote;                               /* --node NODE_ID@tcp://…: another member's
                                                  node, over the mesh as DIR's identity */
    int  json;
    int  timeout_ms;
    int  timeout_given;                        /* --timeout was used */
} hearthctl_t;

/* ---- output helpers ------------------------------------------------------ */

/*  Report a failure with its wire error code; returns exit_code. */
static int
s_fail (const hearthctl_t *ctl, const char *code, const char *message, int exit_code)
{
    if (ctl->json) {
        char *body = node_control_reply_error_code (code, message);
        printf ("%s\n", body? body: "{\"error\":\"internal_error\"}");
        free (body);
    }
    else
        fprintf (stderr, "hearthctl: error: %s: %s\n", code, message);
    return exit_code;
}

/*  Report a failure of a Hearth error: its wire error code and its own
    name (ECORRUPT, ENOSPC, ...), as node_control_reply_error does. */
static int
s_fail_code (const hearthctl_t *ctl, int err, const char *message, int exit_code)
{
    if (ctl->json) {
        char *body = node_control_reply_error (err, message);
        printf ("%s\n", body? body: "{\"error\":\"internal_error\"}");
        free (body);
    }
    else
        fprintf (stderr, "hearthctl: error: %s (%s): %s\n", hearth_error_code (err),
                 hearth_error_name (err), message? message: hearth_strerror (err));
    return exit_code;
}

static int
hearthctl_fail_err (const hearthctl_t *ctl, int err, const char *message)
{
    return s_fail_code (ctl, err, message, HEARTHCTL_EXIT_FAILED);
}

/*  hearthctl_fail_err with a printf-formatted message. */
static int
hearthctl_failf (const hearthctl_t *ctl, int err, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

static int
hearthctl_failf (const hearthctl_t *ctl, int err, const char *fmt, ...)
{
    char *message = NULL;
    va_list args;
    va_start (args, fmt);
    if (vasprintf (&message, fmt, args) < 0)
        message = NULL;
    va_end (args);
    int exit_code = hearthctl_fail_err (ctl, err, message);
    free (message);
    return exit_code;
}

static int
hearthctl_usage_error (const hearthctl_t *ctl, const char *message)
{
    if (!ctl->json)
        fprintf (stderr, "hearthctl: %s (see `hearthctl --help`)\n", message);
    else
        s_fail (ctl, "bad_request", message, HEARTHCTL_EXIT_USAGE);
    return HEARTHCTL_EXIT_USAGE;
}

/*  Options of a command that takes only --json and no arguments: sets
    ctl->json; HEARTHCTL_EXIT_OK or the usage error (naming the command). */
static int
hearthctl_json_only_args (hearthctl_t *ctl, int argc, char **argv, const char *command)
{
    static const struct option options [] = {
        { "json", no_argument, NULL, 'j' },
        { NULL, 0, NULL, 0 }
    };
    char message [64];
    int opt;
    optind = 0;
    while ((opt = getopt_long (argc, argv, "", options, NULL)) != -1) {
        if (opt == 'j')
            ctl->json = 1;
        else {
            snprintf (message, sizeof message, "%s: unknown option", command);
            return hearthctl_usage_error (ctl, message);
        }
    }
    if (optind < argc) {
        snprintf (message, sizeof message, "%s takes no arguments", command);
        return hearthctl_usage_error (ctl, message);
    }
    return HEARTHCTL_EXIT_OK;
}

static void
hearthctl_print_json (const json_t *value)
{
    char *text = json_dumps (value, HEARTH_JSON_FLAGS | JSON_ENCODE_ANY);
    printf ("%s\n", text? text: "null");
    free (text);
}

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

/* ---- parsing helpers ----------------------------------------------------- */

/*  Strict unsigned decimal that fits in int64 (JSON integers). */
static int
hearthctl_parse_u64 (const char *text, uint64_t *out)
{
    if (!text || !*text || strlen (text) > 19)   /* INT64_MAX has 19 digits */
        return -1;
    for (const char *p = text; *p; p++)
        if (*p < '0' || *p > '9')
            return -1;
    errno = 0;
    unsigned long long value = strtoull (text, NULL, 10);
    if (errno || value > (unsigned long long) INT64_MAX)
        return -1;
    *out = (uint64_t) value;
    return 0;
}

/*  Strict finite decimal number. */
static int
s_parse_double (const char *text, double *out)
{
    if (!text || !*text)
        return -1;
    char *end = NULL;
    errno = 0;
    double value = strtod (text, &end);
    if (errno || !end || *end || !isfinite (value))
        return -1;
    *out = value;
    return 0;
}

/* ---- talking to hearthd -------------------------------------------------- */

/*  How long a call of capability waits for its answer. Over the mesh: the
    capability's timeout (docs/protocol.md) (market.list 5 s, market.search 10 s),
    or --timeout when that is shorter; the node gets the same figure as the
    call's budget. On the control socket: --timeout (default
    NODE_CONTROL_TIMEOUT_MS). */
static int
s_timeout_ms (const hearthctl_t *ctl, const char *capability)
{
    uint32_t seconds = 0;
    if (!ctl->remote || market_capability_limits (capability, NULL, &seconds) != HEARTH_OK)
        return ctl->timeout_ms;
    int limit = (int) seconds * 1000;
    return ctl->timeout_given && ctl->timeout_ms < limit? ctl->timeout_ms: limit;
}

/*  Report a transport failure (no reply at all) of a call of capability;
    returns the exit code. */
static int
hearthctl_fail_transport (const hearthctl_t *ctl, const char *capability, int rc)
{
    char *message = NULL;
    const char *where = ctl->node_given? ctl->endpoint: ctl->data_dir;
    int n;
    if (ctl->remote && (rc == HEARTH_EKEYS || rc == HEARTH_EKEYPERM))
        n = asprintf (&message, "--node %s needs this node's identity in %s/keys (a member's "
                      "key): %s", ctl->endpoint, ctl->data_dir, hearth_strerror (rc));
    else
    if (ctl->remote && rc == HEARTH_ETIMEOUT)
        n = asprintf (&message, "no answer from %s within %d ms: it is not running, not "
                      "reachable, it refused this key (only members of its community may call "
                      "it), or it dropped the call as over its hard rate limit",
                      ctl->endpoint, s_timeout_ms (ctl, capability));
    else
    if (ctl->remote)
        n = asprintf (&message, "calling %s failed: %s", ctl->endpoint, hearth_strerror (rc));
    else
    if (rc == HEARTH_EUNAVAILABLE)
        n = asprintf (&message, "hearthd is not running for %s (no answer on %s)%s",
                      where, ctl->endpoint + (strncmp (ctl->endpoint, "ipc://", 6) == 0? 6: 0),
                      ctl->node_given? "": "; start it with `hearthd --data-dir DIR`");
    else
    if (rc == HEARTH_ETIMEOUT)
        n = asprintf (&message, "hearthd did not answer on %s within %d ms (busy or stuck?)",
                      ctl->endpoint, ctl->timeout_ms);
    else
        n = asprintf (&message, "talking to %s failed: %s", ctl->endpoint, hearth_strerror (rc));
    int exit_code = s_fail_code (ctl, rc, n < 0? hearth_strerror (rc): message,
                                 rc == HEARTH_ENOMEM? HEARTHCTL_EXIT_FAILED: HEARTHCTL_EXIT_UNAVAILABLE);
    if (n >= 0)
        free (message);
    return exit_code;
}

/*  One call to another member's node over the mesh (CURVE, as DIR's key).
    The answer is shaped like a control reply: {"output"} or {"error",
    "message"}; a transport failure is returned as the error code. */
static int
s_request_remote (const hearthctl_t *ctl, const char *capability, const json_t *input, json_t **reply)
{
    char keys [NODE_CONFIG_PATH_MAX + 16];
    snprintf (keys, sizeof keys, "%s/keys", ctl->data_dir);
    int err = 0;
    identity_t *identity = identity_load (keys, &err);
    if (!identity)
        return err == HEARTH_EKEYPERM? HEARTH_EKEYPERM: HEARTH_EKEYS;
    json_t *empty = input? NULL: json_object ();
    json_t *output = NULL;
    char *message = NULL;
    uint64_t retry_after_ms = 0;
    int rc = gossip_client_call (identity, ctl->endpoint, capability, input? input: empty,
                                 s_timeout_ms (ctl, capability), &output, &message, &retry_after_ms);
    identity_destroy (&identity);
    json_decref (empty);
    if (rc == HEARTH_ETIMEOUT || rc == HEARTH_EUNAVAILABLE || rc == HEARTH_ENOMEM || rc == HEARTH_EIO) {
        free (message);
        json_decref (output);
        return rc;
    }
    if (rc == HEARTH_OK)
        *reply = json_pack ("{s:o}", "output", output? output: json_object ());
    else {
        *reply = json_pack ("{s:s, s:s, s:s}", "error", hearth_error_code (rc),
                            "hearth_error", hearth_error_name (rc),
                            "message", message? message: hearth_strerror (rc));
        if (*reply && retry_after_ms)       /* error body, docs/protocol.md */
            json_object_set_new (*reply, "retry_after_ms", json_integer ((json_int_t) retry_after_ms));
        json_decref (output);
    }
    free (message);
    return *reply? HEARTH_OK: HEARTH_ENOMEM;
}

/*  One round trip; 0 and *reply, or a transport error code. */
static int
hearthctl_request (const hearthctl_t *ctl, const char *capability, const json_t *input, json_t **reply)
{
    if (ctl->remote)
        return s_request_remote (ctl, capability, input, reply);
    node_client_t *client = node_client_new (ctl->endpoint, ctl->timeout_ms);
    if (!client)
        return HEARTH_ENOMEM;
    int rc = node_client_call (client, capability, input, reply);
    node_client_destroy (&client);
    return rc;
}

/*  An error reply to stderr: its code, its Hearth name when the node
    gave one, its message. */
static void
hearthctl_print_error_reply (const json_t *reply)
{
    const char *text = json_string_value (json_object_get (reply, "message"));
    const char *name = json_string_value (json_object_get (reply, "hearth_error"));
    fprintf (stderr, "hearthctl: error: %s%s%s%s: %s\n",
             json_string_value (json_object_get (reply, "error")), name? " (": "", name? name: "",
             name? ")": "", text? text: "(no message)");
}

/*  Call the node; on success returns HEARTHCTL_EXIT_OK and *output (new object,
    caller owns). On failure prints the error and returns the exit code. */
static int
hearthctl_call (const hearthctl_t *ctl, const char *capability, const json_t *input, json_t **output)
{
    *output = NULL;
    json_t *reply = NULL;
    int rc = hearthctl_request (ctl, capability, input, &reply);
    if (rc != HEARTH_OK)
        return hearthctl_fail_transport (ctl, capability, rc);
    json_t *error = json_object_get (reply, "error");
    if (error) {
        if (ctl->json)
            hearthctl_print_json (reply);
        else
            hearthctl_print_error_reply (reply);
        json_decref (reply);
        return HEARTHCTL_EXIT_FAILED;
    }
    *output = json_incref (json_object_get (reply, "output"));
    json_decref (reply);
    return HEARTHCTL_EXIT_OK;
}

/*  input[key] = text, refusing text that is not UTF-8 (JSON cannot carry
    it). Returns HEARTHCTL_EXIT_OK or the usage exit code. */
static int
hearthctl_set_text (const hearthctl_t *ctl, json_t *input, const char *key, const char *text)
{
    json_t *value = json_string (text);
    if (!value) {
        char message [128];
        snprintf (message, sizeof message, "the %s text is not valid UTF-8", key);
        return hearthctl_usage_error (ctl, message);
    }
    json_object_set_new (input, key, value);
    return HEARTHCTL_EXIT_OK;
}

/*  Append text to a JSON array of tags, with the same UTF-8 rule. */
static int
s_add_tag (const hearthctl_t *ctl, json_t *tags, const char *text)
{
    if (json_array_size (tags) >= S_MAX_CLI_TAGS)
        return hearthctl_usage_error (ctl, "too many --tag options");
    json_t *value = json_string (text);
    if (!value)
        return hearthctl_usage_error (ctl, "a --tag is not valid UTF-8");
    json_array_append_new (tags, value);
    return HEARTHCTL_EXIT_OK;
}

/* ---- init / id ------------------------------------------------------------ */

/*  A commented config file documenting every key at its default, so an
    operator sees what can be set (docs/operations.md). */
static void
s_write_config_template (const char *data_dir)
{
    char path [NODE_CONFIG_PATH_MAX + 32];
    snprintf (path, sizeof path, "%s/%s", data_dir, NODE_CONFIG_FILE_NAME);
    if (access (path, F_OK) == 0)
        return;
    FILE *file = fopen (path, "wx");
    if (!file)
        return;
    node_config_template_write (file);
    fclose (file);
}

/*  Load DIR/keys; on failure print why (and what to run) and return NULL
    with *exit_code set. */
static identity_t *
s_load_identity (const hearthctl_t *ctl, int *exit_code)
{
    char keys [NODE_CONFIG_PATH_MAX + 16];
    snprintf (keys, sizeof keys, "%s/keys", ctl->data_dir);
    int err = 0;
    identity_t *identity = identity_load (keys, &err);
    if (!identity) {
        if (err == HEARTH_EKEYPERM)
            *exit_code = hearthctl_failf (ctl, err, "key file %s/device.ed25519 is readable or writable by "
                                          "group or others; fix it with `chmod 600 %s/device.ed25519`",
                                          keys, keys);
        else
            *exit_code = hearthctl_failf (ctl, err? err: HEARTH_EKEYS, "no identity in %s: run `hearthctl "
                                          "--data-dir %s init` (new community) or `hearthctl --data-dir %s "
                                          "init --identity-only` (to be invited)", ctl->data_dir,
                                          ctl->data_dir, ctl->data_dir);
    }
    return identity;
}

/*  init --identity-only: the key pair and nothing else, so this node's
    NodeID can be sent to an inviter. Idempotent: an existing key is kept. */
static int
s_init_identity (hearthctl_t *ctl)
{
    if (hearth_mkdirs (ctl->data_dir, S_DIR_MODE) != 0)
        return hearthctl_failf (ctl, HEARTH_EIO, "cannot create %s: %s", ctl->data_dir, strerror (errno));
    char keys [NODE_CONFIG_PATH_MAX + 16], seed [NODE_CONFIG_PATH_MAX + 32];
    snprintf (keys, sizeof keys, "%s/keys", ctl->data_dir);
    snprintf (seed, sizeof seed, "%s/" IDENTITY_SEED_FILE, keys);
    int err = 0, created = 0;
    identity_t *identity;
    if (access (seed, F_OK) == 0)
        identity = identity_load (keys, &err);
    else {
        identity = identity_create (keys, &err);
        created = identity != NULL;
    }
    if (!identity) {
        if (err == HEARTH_EKEYPERM)
            return hearthctl_failf (ctl, err, "key file %s is readable or writable by group or others; "
                                    "fix it with `chmod 600 %s`", seed, seed);
        return hearthctl_failf (ctl, err? err: HEARTH_EKEYS, "identity in %s: %s", keys,
                                hearth_strerror (err));
    }
    s_write_config_template (ctl->data_dir);
    if (ctl->json) {
        json_t *out = json_pack ("{s:s, s:s, s:s, s:b}", "node_id", identity_node_id (identity),
                                 "short_id", identity_short_id (identity),
                                 "data_dir", ctl->data_dir, "created", created);
        hearthctl_print_json (out);
        json_decref (out);
    }
    else {
        printf ("%s\n", identity_node_id (identity));
        fprintf (stderr, "%s identity %s in %s; send the NodeID above to a member, who runs\n"
                 "  hearthctl invite %s --out invite.json\n"
                 "then join with: hearthctl --data-dir %s join invite.json\n",
                 created? "created": "existing", identity_short_id (identity), ctl->data_dir,
                 identity_node_id (identity), ctl->data_dir);
    }
    identity_destroy (&identity);
    return HEARTHCTL_EXIT_OK;
}

static int
hearthctl_cmd_init (hearthctl_t *ctl, int argc, char **argv)
{
    static const struct option options [] = {
        { "community",     required_argument, NULL, 'c' },
        { "identity-only", no_argument,       NULL, 'I' },
        { "json",          no_argument,       NULL, 'j' },
        { NULL, 0, NULL, 0 }
    };
    const char *name = S_DEFAULT_COMMUNITY;
    int opt, identity_only = 0, community_given = 0;
    optind = 0;
    while ((opt = getopt_long (argc, argv, "", options, NULL)) != -1) {
        if (opt == 'c') { name = optarg; community_given = 1; }
        else if (opt == 'I') identity_only = 1;
        else if (opt == 'j') ctl->json = 1;
        else return hearthctl_usage_error (ctl, "init: unknown option");
    }
    if (optind < argc)
        return hearthctl_usage_error (ctl, "init takes no arguments");
    if (!ctl->data_dir [0])
        return hearthctl_usage_error (ctl, "init needs --data-dir (not --node)");
    if (identity_only && community_given)
        return hearthctl_usage_error (ctl, "init: --identity-only creates no community, so no --community");
    if (identity_only)
        return s_init_identity (ctl);
    if (!*name || strlen (name) > EVENT_MAX_LABEL_BYTES || !hearth_utf8_valid (name, strlen (name))) {
        char message [96];
        snprintf (message, sizeof message, "--community must be 1..%d bytes of UTF-8",
                  EVENT_MAX_LABEL_BYTES);
        return hearthctl_usage_error (ctl, message);
    }

    if (hearth_mkdirs (ctl->data_dir, S_DIR_MODE) != 0)
        return hearthctl_failf (ctl, HEARTH_EIO, "cannot create %s: %s", ctl->data_dir, strerror (errno));
    char keys [NODE_CONFIG_PATH_MAX + 16], seed [NODE_CONFIG_PATH_MAX + 32], db [NODE_CONFIG_PATH_MAX + 16];
    snprintf (keys, sizeof keys, "%s/keys", ctl->data_dir);
    snprintf (seed, sizeof seed, "%s/" IDENTITY_SEED_FILE, keys);
    snprintf (db, sizeof db, "%s/db", ctl->data_dir);

    int err = 0, created_identity = 0;
    identity_t *identity;
    if (access (seed, F_OK) == 0)
        identity = identity_load (keys, &err);
    else {
        identity = identity_create (keys, &err);
        created_identity = identity != NULL;
    }
    if (!identity) {
        if (err == HEARTH_EKEYPERM)
            return hearthctl_failf (ctl, err, "key file %s is readable or writable by group or others; "
                                    "fix it with `chmod 600 %s`", seed, seed);
        return hearthctl_failf (ctl, err? err: HEARTH_EKEYS, "identity in %s: %s", keys,
                                hearth_strerror (err));
    }
    char *problem = NULL;
    eventlog_t *log = eventlog_open_with (db, NULL, &err, &problem);
    if (!log) {
        identity_destroy (&identity);
        int exit_code;
        if (err == HEARTH_ELOCKED)
            exit_code = hearthctl_failf (ctl, HEARTH_EEXISTS, "hearthd is running for %s (its event log is "
                                         "locked), so %s is already initialised", ctl->data_dir,
                                         ctl->data_dir);
        else
        if (err == HEARTH_ECORRUPT)
            exit_code = hearthctl_failf (ctl, err, "refusing to initialise %s: %s; a new community would "
                                         "replace it. `hearthctl --data-dir %s repair` recovers it",
                                         ctl->data_dir, problem? problem: hearth_strerror (err),
                                         ctl->data_dir);
        else
            exit_code = hearthctl_failf (ctl, err, "cannot open the event log %s: %s", db,
                                         problem? problem: hearth_strerror (err));
        free (problem);
        return exit_code;
    }
    char community [HEARTH_NODE_ID_SIZE];
    if (eventlog_community_id (log)) {
        hearth_node_id_format (eventlog_community_id (log), community);
        eventlog_destroy (&log);
        int exit_code = hearthctl_failf (ctl, HEARTH_EEXISTS, "%s is already initialised (node %s, "
                                         "community %s)", ctl->data_dir, identity_short_id (identity),
                                         community);
        identity_destroy (&identity);
        return exit_code;
    }
    int rc = eventlog_community_create (log, identity, name, hearth_now_ms ());
    if (rc == HEARTH_OK)
        hearth_node_id_format (eventlog_community_id (log), community);
    eventlog_destroy (&log);
    if (rc != HEARTH_OK) {
        identity_destroy (&identity);
        return hearthctl_failf (ctl, rc, "cannot create the community: %s", hearth_strerror (rc));
    }
    s_write_config_template (ctl->data_dir);
    if (ctl->json) {
        json_t *out = json_pack ("{s:s, s:s, s:s, s:s, s:s}",
                                 "node_id", identity_node_id (identity),
                                 "short_id", identity_short_id (identity),
                                 "community_id", community,
                                 "community_name", name,
                                 "data_dir", ctl->data_dir);
        hearthctl_print_json (out);
        json_decref (out);
    }
    else {
        printf ("initialised %s\n", ctl->data_dir);
        printf ("  node      %s (%s)%s\n", identity_short_id (identity), identity_node_id (identity),
                created_identity? "": " [existing key]");
        printf ("  community \"%s\" %s (this node is its root)\n", name, community);
        printf ("start the node with: hearthd --data-dir %s\n", ctl->data_dir);
    }
    identity_destroy (&identity);
    return HEARTHCTL_EXIT_OK;
}

static int
hearthctl_cmd_id (hearthctl_t *ctl, int argc, char **argv)
{
    int rc0 = hearthctl_json_only_args (ctl, argc, argv, "id");
    if (rc0 != HEARTHCTL_EXIT_OK)
        return rc0;
    json_t *out = NULL;
    if (!ctl->data_dir [0]) {
        /*  Only an endpoint: ask the node. */
        int rc = hearthctl_call (ctl, "node.id", NULL, &out);
        if (rc != HEARTHCTL_EXIT_OK)
            return rc;
    }
    else {
        /*  Read the key directly: works whether or not hearthd runs. */
        char keys [NODE_CONFIG_PATH_MAX + 16];
        snprintf (keys, sizeof keys, "%s/keys", ctl->data_dir);
        int err = 0;
        identity_t *identity = identity_load (keys, &err);
        if (!identity) {
            if (err == HEARTH_EKEYPERM)
                return hearthctl_failf (ctl, err, "key file %s/device.ed25519 is readable or writable by "
                                        "group or others; fix it with `chmod 600 %s/device.ed25519`",
                                        keys, keys);
            return hearthctl_failf (ctl, err? err: HEARTH_EKEYS, "no identity in %s: run `hearthctl "
                                    "--data-dir %s init`", ctl->data_dir, ctl->data_dir);
        }
        /*  "address" is the peer address of the running node, if one
            answers at once (a stopped node has none). */
        json_t *address = NULL, *reply = NULL;
        char control [NODE_CONFIG_PATH_MAX];
        node_client_t *client = NULL;
        if (node_config_control_endpoint (ctl->data_dir, control, sizeof control) == HEARTH_OK)
            client = node_client_new (control, ctl->timeout_ms);
        if (client && node_client_call (client, "node.id", NULL, &reply) == HEARTH_OK) {
            json_t *node_id = json_object_get (json_object_get (reply, "output"), "node_id");
            if (json_is_string (node_id)
            &&  strcmp (json_string_value (node_id), identity_node_id (identity)) == 0)
                address = json_incref (json_object_get (json_object_get (reply, "output"), "address"));
        }
        node_client_destroy (&client);
        json_decref (reply);
        out = json_pack ("{s:s, s:s, s:o}", "node_id", identity_node_id (identity),
                         "short_id", identity_short_id (identity),
                         "address", address? address: json_null ());
        identity_destroy (&identity);
    }
    if (ctl->json) {
        /*  Exactly {"node_id","short_id","address"} (docs/cli.md). */
        json_t *shape = json_pack ("{s:O, s:O, s:O}",
                                   "node_id", json_object_get (out, "node_id"),
                                   "short_id", json_object_get (out, "short_id"),
                                   "address", json_object_get (out, "address")?
                                       json_object_get (out, "address"): json_null ());
        hearthctl_print_json (shape? shape: out);
        json_decref (shape);
    }
    else
        node_render_id (stdout, out);
    json_decref (out);
    return HEARTHCTL_EXIT_OK;
}

/* ---- invite / join --------------------------------------------------------- */

static int
hearthctl_cmd_invite (hearthctl_t *ctl, int argc, char **argv)
{
    static const struct option options [] = {
        { "level", required_argument, NULL, 'l' },
        { "ttl",   required_argument, NULL, 'T' },
        { "out",   required_argument, NULL, 'o' },
        { "json",  no_argument,       NULL, 'j' },
        { NULL, 0, NULL, 0 }
    };
    const char *level = NULL, *out_path = NULL;
    uint64_t ttl = 0;
    int opt, ttl_given = 0;
    optind = 0;
    while ((opt = getopt_long (argc, argv, "", options, NULL)) != -1) {
        if (opt == 'l') level = optarg;
        else if (opt == 'o') out_path = optarg;
        else if (opt == 'j') ctl->json = 1;
        else if (opt == 'T') {
            if (hearthctl_parse_u64 (optarg, &ttl) != 0 || ttl < 1)
                return hearthctl_usage_error (ctl, "--ttl must be a positive whole number of seconds");
            ttl_given = 1;
        }
        else return hearthctl_usage_error (ctl, "invite: unknown option");
    }
    if (argc - optind != 1)
        return hearthctl_usage_error (ctl, "invite needs exactly one NODE_ID (the invitee's "
                                      "`hearthctl id`)");
    if (level && strcmp (level, "member") != 0 && strcmp (level, "trusted") != 0)
        return hearthctl_usage_error (ctl, "--level must be member or trusted");
    json_t *input = json_object ();
    int rc = hearthctl_set_text (ctl, input, "node_id", argv [optind]);
    if (rc == HEARTHCTL_EXIT_OK && level)
        json_object_set_new (input, "level", json_string (level));
    if (rc == HEARTHCTL_EXIT_OK && ttl_given)
        json_object_set_new (input, "ttl_seconds", json_integer ((json_int_t) ttl));
    json_t *blob = NULL;
    if (rc == HEARTHCTL_EXIT_OK)
        rc = hearthctl_call (ctl, "community.invite", input, &blob);
    json_decref (input);
    if (rc != HEARTHCTL_EXIT_OK)
        return rc;
    char *text = node_invite_blob_text (blob);
    if (!text) {
        json_decref (blob);
        return hearthctl_fail_err (ctl, HEARTH_ENOMEM, NULL);
    }
    if (out_path && node_invite_write (out_path, text) != 0) {
        rc = hearthctl_failf (ctl, HEARTH_EIO, "the invite was created (event %s) but cannot be written to "
                              "%s: %s", json_string_value (json_object_get (blob, "invite_event_id")),
                              out_path, strerror (errno));
    }
    else
    if (ctl->json || !out_path)
        fputs (text, stdout);
    else {
        printf ("invite for %s (%s) written to %s, mode 0600\n",
                json_string_value (json_object_get (blob, "invitee_node_id")),
                json_string_value (json_object_get (blob, "initial_level")), out_path);
        printf ("  expires %s; bootstrap %zu endpoint(s)\n",
                json_string_value (json_object_get (blob, "expires_at")),
                json_array_size (json_object_get (blob, "bootstrap_endpoints")));
    }
    if (rc == HEARTHCTL_EXIT_OK && !ctl->json
    &&  json_array_size (json_object_get (blob, "bootstrap_endpoints")) == 0)
        fprintf (stderr, "hearthctl: warning: this node does not listen for peers (start hearthd "
                 "with --listen), so the invite names no bootstrap endpoint\n");
    free (text);
    json_decref (blob);
    return rc;
}

/*  Append the bootstrap endpoints missing from DIR/hearth.cfg as peers.
    Returns the number added, or -1 (errno) if the file cannot be written. */
static int
s_add_config_peers (const hearthctl_t *ctl, const node_invite_t *invite)
{
    char path [NODE_CONFIG_PATH_MAX + 32];
    snprintf (path, sizeof path, "%s/%s", ctl->data_dir, NODE_CONFIG_FILE_NAME);
    s_write_config_template (ctl->data_dir);
    node_config_t cfg;
    node_config_defaults (&cfg, ctl->data_dir);
    char *message = NULL;
    /*  A config that does not parse is left for hearthd to report. */
    node_config_load_file (&cfg, path, 0, &message);
    free (message);
    int added = 0;
    FILE *file = NULL;
    for (size_t i = 0; i < node_invite_endpoint_count (invite); i++) {
        const char *address = node_invite_endpoint (invite, i);
        int known = 0;
        for (size_t p = 0; p < cfg.n_peers; p++)
            if (strcmp (cfg.peers [p], address) == 0)
                known = 1;
        if (known)
            continue;
        if (!file) {
            file = fopen (path, "a");
            if (!file)
                return -1;
            fprintf (file, "#   added by `hearthctl join` from the invite's bootstrap endpoints\n"
                     "peers\n");
        }
        fprintf (file, "    peer = \"%s\"\n", address);
        added++;
    }
    if (file && fclose (file) != 0)
        return -1;
    return added;
}

static int
hearthctl_cmd_join (hearthctl_t *ctl, int argc, char **argv)
{
    static const struct option options [] = {
        { "json", no_argument, NULL, 'j' },
        { NULL, 0, NULL, 0 }
    };
    int opt;
    optind = 0;
    while ((opt = getopt_long (argc, argv, "", options, NULL)) != -1) {
        if (opt == 'j') ctl->json = 1;
        else return hearthctl_usage_error (ctl, "join: unknown option");
    }
    if (argc - optind != 1)
        return hearthctl_usage_error (ctl, "join needs exactly one INVITE_FILE");
    if (!ctl->data_dir [0])
        return hearthctl_usage_error (ctl, "join needs --data-dir (not --node)");
    int exit_code = HEARTHCTL_EXIT_OK;
    identity_t *identity = s_load_identity (ctl, &exit_code);
    if (!identity)
        return exit_code;
    int err = 0;
    char *message = NULL;
    node_invite_t *invite = node_invite_load (argv [optind], &err, &message);
    if (!invite) {
        exit_code = hearthctl_fail_err (ctl, err, message);
        goto done;
    }
    int already = 0;
    err = node_invite_join (invite, identity, ctl->data_dir, hearth_now_ms (), &already, &message);
    if (err != HEARTH_OK) {
        exit_code = hearthctl_fail_err (ctl, err, message);
        goto done;
    }
    char path [NODE_CONFIG_PATH_MAX + 32], community [HEARTH_NODE_ID_SIZE];
    snprintf (path, sizeof path, "%s/%s", ctl->data_dir, NODE_INVITE_FILE_NAME);
    hearth_node_id_format (node_invite_community_id (invite), community);
    int added = s_add_config_peers (ctl, invite);
    if (added < 0) {
        exit_code = hearthctl_failf (ctl, HEARTH_EIO, "cannot add the bootstrap peers to %s/%s: %s",
                                     ctl->data_dir, NODE_CONFIG_FILE_NAME, strerror (errno));
        goto done;
    }
    char expires [HEARTH_TIME_SIZE];
    hearth_time_format (node_invite_expires_at_ms (invite), expires);
    if (ctl->json) {
        json_t *peers = json_array ();
        for (size_t i = 0; i < node_invite_endpoint_count (invite); i++)
            json_array_append_new (peers, json_string (node_invite_endpoint (invite, i)));
        json_t *out = json_pack ("{s:s, s:s, s:s, s:s, s:s, s:o, s:i}",
                                 "community_id", community,
                                 "community_name", node_invite_community_name (invite),
                                 "node_id", identity_node_id (identity),
                                 "invite_event_id", node_invite_event_id (invite),
                                 "expires_at", expires, "bootstrap_endpoints", peers,
                                 "peers_added", added);
        hearthctl_print_json (out);
        json_decref (out);
    }
    else {
        printf ("%s community \"%s\" %s\n", already? "already in": "joining",
                node_invite_community_name (invite), community);
        printf ("  invite %s stored in %s (expires %s)\n", node_invite_event_id (invite), path, expires);
        printf ("  %d bootstrap peer(s) added to %s/%s\n", added, ctl->data_dir, NODE_CONFIG_FILE_NAME);
        printf ("start the node with: hearthd --data-dir %s --listen tcp://0.0.0.0:%d\n"
                "it becomes a member once it has synced the invite (before %s)\n",
                ctl->data_dir, NODE_CONFIG_PEER_PORT, expires);
    }
done:
    free (message);
    node_invite_destroy (&invite);
    identity_destroy (&identity);
    return exit_code;
}

/* ---- market --------------------------------------------------------------- */

/*  How a market command shows its output to people (--json prints it as is). */
typedef enum {
    S_SHOW_ACK,             /* node_render_ack with the command's verb */
    S_SHOW_POST,            /* node_render_post of output.post (or output) */
    S_SHOW_POSTS,           /* node_render_posts, without scores */
    S_SHOW_SCORED           /* node_render_posts, with search scores */
} s_show_t;

/*  The common end of every market.* command: if rc is still HEARTHCTL_EXIT_OK,
    call capability with input and print the output (JSON with --json,
    else rendered as show says; verb is for S_SHOW_ACK). Takes input
    (drops it). Returns the exit code. */
static int
s_market_call (const hearthctl_t *ctl, int rc, const char *capability, json_t *input,
               s_show_t show, const char *verb)
{
    json_t *output = NULL;
    if (rc == HEARTHCTL_EXIT_OK)
        rc = hearthctl_call (ctl, capability, input, &output);
    if (rc == HEARTHCTL_EXIT_OK) {
        if (ctl->json)
            hearthctl_print_json (output);
        else
        if (show == S_SHOW_ACK)
            node_render_ack (stdout, output, verb);
        else
        if (show == S_SHOW_POST) {
            json_t *post = json_object_get (output, "post");
            node_render_post (stdout, post? post: output);
        }
        else
            node_render_posts (stdout, output, show == S_SHOW_SCORED);
    }
    json_decref (output);
    json_decref (input);
    return rc;
}

static int
s_market_post (hearthctl_t *ctl, int argc, char **argv)
{
    static const struct option options [] = {
        { "category",  required_argument, NULL, 'c' },
        { "title",     required_argument, NULL, 't' },
        { "body",      required_argument, NULL, 'b' },
        { "tag",       required_argument, NULL, 'g' },
        { "ttl",       required_argument, NULL, 'T' },
        { "client-id", required_argument, NULL, 'i' },
        { "lat",       required_argument, NULL, 'a' },
        { "lng",       required_argument, NULL, 'o' },
        { "label",     required_argument, NULL, 'l' },
        { "json",      no_argument,       NULL, 'j' },
        { NULL, 0, NULL, 0 }
    };
    json_t *input = json_object ();
    json_t *tags = json_array ();
    const char *lat_text = NULL, *lng_text = NULL, *label = NULL;
    int opt, rc = HEARTHCTL_EXIT_OK;
    optind = 0;
    while (rc == HEARTHCTL_EXIT_OK && (opt = getopt_long (argc, argv, "", options, NULL)) != -1) {
        uint64_t ttl;
        switch (opt) {
            case 'c': rc = hearthctl_set_text (ctl, input, "category", optarg); break;
            case 't': rc = hearthctl_set_text (ctl, input, "title", optarg); break;
            case 'b': rc = hearthctl_set_text (ctl, input, "body", optarg); break;
            case 'i': rc = hearthctl_set_text (ctl, input, "client_id", optarg); break;
            case 'g': rc = s_add_tag (ctl, tags, optarg); break;
            case 'T':
                if (hearthctl_parse_u64 (optarg, &ttl) != 0)
                    rc = hearthctl_usage_error (ctl, "--ttl must be a whole number of seconds");
                else
                    json_object_set_new (input, "ttl_seconds", json_integer ((json_int_t) ttl));
                break;
            case 'a': lat_text = optarg; break;
            case 'o': lng_text = optarg; break;
            case 'l': label = optarg; break;
            case 'j': ctl->json = 1; break;
            default:  rc = hearthctl_usage_error (ctl, "market post: unknown option");
        }
    }
    if (rc == HEARTHCTL_EXIT_OK && optind < argc)
        rc = hearthctl_usage_error (ctl, "market post takes no positional arguments (quote the "
                                    "--body text)");
    if (rc == HEARTHCTL_EXIT_OK && (!json_object_get (input, "category") || !json_object_get (input, "title")
                         || !json_object_get (input, "body")))
        rc = hearthctl_usage_error (ctl, "market post needs --category, --title and --body");
    if (rc == HEARTHCTL_EXIT_OK && (lat_text || lng_text || label)) {
        double lat, lng;
        if (!lat_text || !lng_text)
            rc = hearthctl_usage_error (ctl, "a location needs both --lat and --lng");
        else
        if (s_parse_double (lat_text, &lat) != 0 || s_parse_double (lng_text, &lng) != 0)
            rc = hearthctl_usage_error (ctl, "--lat and --lng must be decimal numbers");
        else {
            json_t *location = json_pack ("{s:f, s:f}", "lat", lat, "lng", lng);
            if (label)
                rc = hearthctl_set_text (ctl, location, "label", label);
            json_object_set_new (input, "location", location);
        }
    }
    if (rc == HEARTHCTL_EXIT_OK && json_array_size (tags) > 0)
        json_object_set (input, "tags", tags);
    json_decref (tags);
    return s_market_call (ctl, rc, "market.post", input, S_SHOW_ACK, "posted");
}

static int
s_market_list (hearthctl_t *ctl, int argc, char **argv)
{
    static const struct option options [] = {
        { "category",      required_argument, NULL, 'c' },
        { "tag",           required_argument, NULL, 'g' },
        { "since-lamport", required_argument, NULL, 's' },
        { "limit",         required_argument, NULL, 'n' },
        { "json",          no_argument,       NULL, 'j' },
        { NULL, 0, NULL, 0 }
    };
    json_t *input = json_object ();
    json_t *tags = json_array ();
    int opt, rc = HEARTHCTL_EXIT_OK;
    optind = 0;
    while (rc == HEARTHCTL_EXIT_OK && (opt = getopt_long (argc, argv, "", options, NULL)) != -1) {
        uint64_t number;
        switch (opt) {
            case 'c': rc = hearthctl_set_text (ctl, input, "category", optarg); break;
            case 'g': rc = s_add_tag (ctl, tags, optarg); break;
            case 's':
            case 'n':
                if (hearthctl_parse_u64 (optarg, &number) != 0)
                    rc = hearthctl_usage_error (ctl, opt == 's'? "--since-lamport must be a whole number":
                                                         "--limit must be a whole number");
                else
                    json_object_set_new (input, opt == 's'? "since_lamport": "limit",
                                         json_integer ((json_int_t) number));
                break;
            case 'j': ctl->json = 1; break;
            default:  rc = hearthctl_usage_error (ctl, "market list: unknown option");
        }
    }
    if (rc == HEARTHCTL_EXIT_OK && optind < argc)
        rc = hearthctl_usage_error (ctl, "market list takes no positional arguments");
    if (rc == HEARTHCTL_EXIT_OK && json_array_size (tags) > 0)
        json_object_set (input, "tags", tags);
    json_decref (tags);
    return s_market_call (ctl, rc, "market.list", input, S_SHOW_POSTS, NULL);
}

static int
s_market_get (hearthctl_t *ctl, int argc, char **argv)
{
    static const struct option options [] = {
        { "json", no_argument, NULL, 'j' },
        { NULL, 0, NULL, 0 }
    };
    int opt;
    optind = 0;
    while ((opt = getopt_long (argc, argv, "", options, NULL)) != -1) {
        if (opt == 'j') ctl->json = 1;
        else return hearthctl_usage_error (ctl, "market get: unknown option");
    }
    if (argc - optind != 1)
        return hearthctl_usage_error (ctl, "market get needs exactly one EVENT_ID");
    json_t *input = json_pack ("{s:s}", "event_id", argv [optind]);
    if (!input)
        return hearthctl_usage_error (ctl, "EVENT_ID must be text");
    return s_market_call (ctl, HEARTHCTL_EXIT_OK, "market.get", input, S_SHOW_POST, NULL);
}

static int
s_market_expire (hearthctl_t *ctl, int argc, char **argv)
{
    static const struct option options [] = {
        { "reason",    required_argument, NULL, 'r' },
        { "client-id", required_argument, NULL, 'i' },
        { "json",      no_argument,       NULL, 'j' },
        { NULL, 0, NULL, 0 }
    };
    const char *reason = NULL, *client_id = NULL;
    int opt;
    optind = 0;
    while ((opt = getopt_long (argc, argv, "", options, NULL)) != -1) {
        if (opt == 'r') reason = optarg;
        else if (opt == 'i') client_id = optarg;
        else if (opt == 'j') ctl->json = 1;
        else return hearthctl_usage_error (ctl, "market expire: unknown option");
    }
    if (argc - optind != 1)
        return hearthctl_usage_error (ctl, "market expire needs exactly one EVENT_ID");
    if (!reason)
        return hearthctl_usage_error (ctl, "market expire needs --reason "
                                      "fulfilled|withdrawn|user_request|stale");
    json_t *input = json_object ();
    int rc = hearthctl_set_text (ctl, input, "event_id", argv [optind]);
    if (rc == HEARTHCTL_EXIT_OK)
        rc = hearthctl_set_text (ctl, input, "reason", reason);
    if (rc == HEARTHCTL_EXIT_OK && client_id)
        rc = hearthctl_set_text (ctl, input, "client_id", client_id);
    return s_market_call (ctl, rc, "market.expire", input, S_SHOW_ACK, "expired");
}

static int
s_market_search (hearthctl_t *ctl, int argc, char **argv)
{
    static const struct option options [] = {
        { "k",    required_argument, NULL, 'k' },
        { "json", no_argument,       NULL, 'j' },
        { NULL, 0, NULL, 0 }
    };
    json_t *input = json_object ();
    int opt, rc = HEARTHCTL_EXIT_OK;
    optind = 0;
    while (rc == HEARTHCTL_EXIT_OK && (opt = getopt_long (argc, argv, "k:", options, NULL)) != -1) {
        uint64_t k;
        if (opt == 'k') {
            if (hearthctl_parse_u64 (optarg, &k) != 0)
                rc = hearthctl_usage_error (ctl, "-k must be a whole number");
            else
                json_object_set_new (input, "k", json_integer ((json_int_t) k));
        }
        else if (opt == 'j') ctl->json = 1;
        else rc = hearthctl_usage_error (ctl, "market search: unknown option");
    }
    if (rc == HEARTHCTL_EXIT_OK && optind >= argc)
        rc = hearthctl_usage_error (ctl, "market search needs a QUERY");
    if (rc == HEARTHCTL_EXIT_OK) {
        /*  Several words without quotes form one query. */
        size_t size = 1;
        for (int i = optind; i < argc; i++)
            size += strlen (argv [i]) + 1;
        char *query = (char *) calloc (1, size);
        for (int i = optind; query && i < argc; i++) {
            if (i > optind)
                strcat (query, " ");
            strcat (query, argv [i]);
        }
        rc = query? hearthctl_set_text (ctl, input, "query", query)
                  : hearthctl_fail_err (ctl, HEARTH_ENOMEM, NULL);
        free (query);
    }
    return s_market_call (ctl, rc, "market.search", input, S_SHOW_SCORED, NULL);
}

static int
hearthctl_cmd_market (hearthctl_t *ctl, int argc, char **argv)
{
    if (argc < 2)
        return hearthctl_usage_error (ctl, "market needs a subcommand: post, list, get, expire or search");
    const char *sub = argv [1];
    if (strcmp (sub, "post") == 0)   return s_market_post (ctl, argc - 1, argv + 1);
    if (strcmp (sub, "list") == 0)   return s_market_list (ctl, argc - 1, argv + 1);
    if (strcmp (sub, "get") == 0)    return s_market_get (ctl, argc - 1, argv + 1);
    if (strcmp (sub, "expire") == 0) return s_market_expire (ctl, argc - 1, argv + 1);
    if (strcmp (sub, "search") == 0) return s_market_search (ctl, argc - 1, argv + 1);
    return hearthctl_usage_error (ctl, "unknown market subcommand (post, list, get, expire, search)");
}

/* ---- stats / events / call ----------------------------------------------- */

static int
hearthctl_cmd_stats (hearthctl_t *ctl, int argc, char **argv)
{
    static const struct option options [] = {
        { "prometheus", no_argument, NULL, 'p' },
        { "json",       no_argument, NULL, 'j' },
        { NULL, 0, NULL, 0 }
    };
    int opt, prometheus = 0;
    optind = 0;
    while ((opt = getopt_long (argc, argv, "", options, NULL)) != -1) {
        if (opt == 'p') prometheus = 1;
        else if (opt == 'j') ctl->json = 1;
        else return hearthctl_usage_error (ctl, "stats: unknown option");
    }
    if (optind < argc)
        return hearthctl_usage_error (ctl, "stats takes no arguments");
    json_t *input = json_pack ("{s:s}", "format", prometheus? "prometheus": "json");
    json_t *output = NULL;
    int rc = hearthctl_call (ctl, "node.stats", input, &output);
    json_decref (input);
    if (rc != HEARTHCTL_EXIT_OK)
        return rc;
    if (prometheus && ctl->json)
        hearthctl_print_json (output);
    else
    if (prometheus)
        fputs (json_string_value (json_object_get (output, "text"))?
               json_string_value (json_object_get (output, "text")): "", stdout);
    else
    if (ctl->json)
        hearthctl_print_json (output);
    else
        node_render_stats (stdout, output);
    json_decref (output);
    return HEARTHCTL_EXIT_OK;
}

static int
hearthctl_cmd_peers (hearthctl_t *ctl, int argc, char **argv)
{
    int rc0 = hearthctl_json_only_args (ctl, argc, argv, "peers");
    if (rc0 != HEARTHCTL_EXIT_OK)
        return rc0;
    json_t *output = NULL;
    int rc = hearthctl_call (ctl, "node.peers", NULL, &output);
    if (rc != HEARTHCTL_EXIT_OK)
        return rc;
    if (ctl->json)
        hearthctl_print_json (output);
    else
        node_render_peers (stdout, output);
    json_decref (output);
    return HEARTHCTL_EXIT_OK;
}

static int
hearthctl_cmd_events (hearthctl_t *ctl, int argc, char **argv)
{
    static const struct option options [] = {
        { "since-lamport", required_argument, NULL, 's' },
        { "limit",         required_argument, NULL, 'n' },
        { "json",          no_argument,       NULL, 'j' },
        { NULL, 0, NULL, 0 }
    };
    uint64_t since = 0, limit = 0;     /* limit 0 = all */
    int opt;
    optind = 0;
    while ((opt = getopt_long (argc, argv, "", options, NULL)) != -1) {
        if (opt == 's' || opt == 'n') {
            if (hearthctl_parse_u64 (optarg, opt == 's'? &since: &limit) != 0)
                return hearthctl_usage_error (ctl, "--since-lamport and --limit take whole numbers");
        }
        else if (opt == 'j') ctl->json = 1;
        else return hearthctl_usage_error (ctl, "events: unknown option");
    }
    if (optind < argc)
        return hearthctl_usage_error (ctl, "events takes no arguments");
    /*  Page through events.list; the output is streamed, so a long log
        never has to fit in memory at once. Each page ends on a whole
        Lamport group, so its max_lamport is the next page's since. A page
        that fails after some were printed (a damaged block, the node gone)
        ends the listing: with --json the array is closed and the error's
        fields join the same object, so stdout stays one valid JSON
        document; the exit status says it failed. */
    uint64_t printed = 0, last_lamport = since;
    int started = 0, rc = HEARTHCTL_EXIT_OK;
    json_t *failure = NULL;
    for (;;) {
        json_t *input = json_pack ("{s:I}", "since_lamport", (json_int_t) since);
        json_t *output = NULL;
        if (!started)
            rc = hearthctl_call (ctl, "events.list", input, &output);
        else {
            json_t *reply = NULL;
            int trc = hearthctl_request (ctl, "events.list", input, &reply);
            if (trc != HEARTH_OK) {
                failure = json_pack ("{s:s, s:s, s:s}", "error", hearth_error_code (trc),
                                     "hearth_error", hearth_error_name (trc),
                                     "message", hearth_strerror (trc));
                rc = trc == HEARTH_ENOMEM? HEARTHCTL_EXIT_FAILED: HEARTHCTL_EXIT_UNAVAILABLE;
            }
            else
            if (json_object_get (reply, "error")) {
                failure = json_incref (reply);
                rc = HEARTHCTL_EXIT_FAILED;
            }
            else
                output = json_incref (json_object_get (reply, "output"));
            json_decref (reply);
        }
        json_decref (input);
        if (rc != HEARTHCTL_EXIT_OK)
            break;
        if (!started) {
            if (ctl->json)
                printf ("{\"events\":[");
            else
                node_render_events_header (stdout);
            started = 1;
        }
        size_t i;
        json_t *envelope;
        json_array_foreach (json_object_get (output, "events"), i, envelope) {
            if (limit && printed >= limit)
                break;
            if (ctl->json) {
                char *text = json_dumps (envelope, HEARTH_JSON_FLAGS);
                printf ("%s%s", printed? ",": "", text? text: "null");
                free (text);
            }
            else
                node_render_event (stdout, envelope);
            printed++;
            last_lamport = (uint64_t) json_integer_value (json_object_get (envelope, "lamport"));
        }
        int more = json_is_true (json_object_get (output, "more"));
        uint64_t page_max = (uint64_t) json_integer_value (json_object_get (output, "max_lamport"));
        json_decref (output);
        /*  Stop when done, at the limit, or if the node fails to advance. */
        if (!more || (limit && printed >= limit) || page_max <= since)
            break;
        since = page_max;
    }
    if (!started)
        return rc;
    if (ctl->json) {
        printf ("],\"max_lamport\":%" PRIu64, last_lamport);
        const char *key;
        json_t *value;
        json_object_foreach (failure, key, value) {
            if (strcmp (key, "error") && strcmp (key, "hearth_error") && strcmp (key, "message"))
                continue;
            char *text = json_dumps (value, HEARTH_JSON_FLAGS | JSON_ENCODE_ANY);
            if (text)
                printf (",\"%s\":%s", key, text);
            free (text);
        }
        if (rc != HEARTHCTL_EXIT_OK && !failure)
            printf (",\"error\":\"internal_error\"");
        printf ("}\n");
    }
    else
    if (rc == HEARTHCTL_EXIT_OK)
        printf ("%" PRIu64 " event%s\n", printed, printed == 1? "": "s");
    else
    if (failure)
        hearthctl_print_error_reply (failure);
    json_decref (failure);
    return rc;
}

/* ---- repair ---------------------------------------------------------------- */

/*  What a repaired copy holds. */
typedef struct {
    uint64_t events;            /* events read back, one by one */
    uint64_t seq;               /* last arrival seq */
    uint64_t lamport_head;
    uint64_t posts;             /* market posts in the rebuilt view */
    char     community [HEARTH_NODE_ID_SIZE];   /* "" if none */
} s_repaired_t;

/*  Open the repaired copy, make its counters agree with its events,
    rebuild every view from the whole log (its snapshots were of the
    damaged log) and close it (which stores fresh view snapshots). */
static int
s_repair_check (const char *copy, const identity_t *identity, s_repaired_t *out, char **problem)
{
    eventlog_open_options_t options = { .recover_wal = 1, .salvage = 1 };
    int err = 0;
    eventlog_t *log = eventlog_open_with (copy, &options, &err, problem);
    if (!log)
        return err? err: HEARTH_EIO;
    market_t *market = market_new (log, identity, NULL);
    int rc = market? eventlog_recount (log, &out->events): HEARTH_ENOMEM;
    if (rc == HEARTH_OK)
        rc = eventlog_views_rebuild (log);
    if (rc == HEARTH_OK) {
        out->seq = eventlog_stats (log)->seq;
        out->lamport_head = eventlog_stats (log)->lamport_head;
        out->posts = market_view_count (market_view (market));
        out->community [0] = 0;
        if (eventlog_community_id (log))
            hearth_node_id_format (eventlog_community_id (log), out->community);
    }
    else
        *problem = hearth_message ("reading the repaired copy back failed: %s", hearth_strerror (rc));
    eventlog_destroy (&log);
    market_destroy (&market);
    return rc;
}

/*  Count the files RocksDB's repair set aside in copy/lost/. */
static size_t
s_lost_files (const char *copy)
{
    char path [NODE_CONFIG_PATH_MAX + 128];
    snprintf (path, sizeof path, "%s/lost", copy);
    DIR *dir = opendir (path);
    size_t n = 0;
    if (!dir)
        return 0;
    struct dirent *entry;
    while ((entry = readdir (dir)))
        if (entry->d_name [0] != '.')
            n++;
    closedir (dir);
    return n;
}

/*  repair [--apply]: RocksDB's repair on a copy of DIR/db, the copy read
    back and reported; with --apply the copy becomes DIR/db and the
    original is kept as DIR/db.damaged-TIME. hearthd must be stopped. */
static int
hearthctl_cmd_repair (hearthctl_t *ctl, int argc, char **argv)
{
    static const struct option options [] = {
        { "apply", no_argument, NULL, 'a' },
        { "json",  no_argument, NULL, 'j' },
        { NULL, 0, NULL, 0 }
    };
    int opt, apply = 0;
    optind = 0;
    while ((opt = getopt_long (argc, argv, "", options, NULL)) != -1) {
        if (opt == 'a') apply = 1;
        else if (opt == 'j') ctl->json = 1;
        else return hearthctl_usage_error (ctl, "repair: unknown option");
    }
    if (optind < argc)
        return hearthctl_usage_error (ctl, "repair takes no arguments");
    if (!ctl->data_dir [0] || ctl->node_given)
        return hearthctl_usage_error (ctl, "repair needs --data-dir (it works on the files, not a node)");
    char db [NODE_CONFIG_PATH_MAX + 16], copy [NODE_CONFIG_PATH_MAX + 64],
         damaged [NODE_CONFIG_PATH_MAX + 64], stamp [32];
    snprintf (db, sizeof db, "%s/db", ctl->data_dir);
    struct stat st;
    if (stat (db, &st) != 0 || !S_ISDIR (st.st_mode))
        return hearthctl_failf (ctl, HEARTH_ENOTFOUND, "%s does not exist: nothing to repair", db);
    if (dbdir_locked (db))
        return hearthctl_failf (ctl, HEARTH_ELOCKED, "hearthd is running for %s (its event log is locked): "
                                "stop it first; repair works on a stopped node", ctl->data_dir);
    time_t now = time (NULL);
    struct tm tm;
    gmtime_r (&now, &tm);
    strftime (stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    snprintf (copy, sizeof copy, "%s/db.repair-%s", ctl->data_dir, stamp);
    snprintf (damaged, sizeof damaged, "%s/db.damaged-%s", ctl->data_dir, stamp);

    int exit_code = HEARTHCTL_EXIT_OK;
    identity_t *identity = s_load_identity (ctl, &exit_code);
    if (!identity)
        return exit_code;
    uint64_t acknowledged = 0;
    int have_mark = dbdir_mark_read (db, &acknowledged) == 0;
    char *problem = NULL;
    s_repaired_t got;
    memset (&got, 0, sizeof got);
    int rc = dbdir_copy (db, copy);
    if (rc != HEARTH_OK) {
        exit_code = hearthctl_failf (ctl, rc, "cannot copy %s to %s: %s", db, copy, hearth_strerror (rc));
        goto done;
    }
    /*  First the gentle way: CURRENT rewritten if it is missing or
        damaged (the newest manifest is usually intact), then every
        readable WAL record replayed, damaged ones skipped. RocksDB's
        repairer comes second: it rebuilds the manifest from the table
        files alone and drops WAL records of column families that have
        no table file yet. */
    const char *method = "salvage";
    if (dbdir_inspect (copy, NULL) == DBDIR_DAMAGED)
        dbdir_current_rewrite (copy);
    rc = s_repair_check (copy, identity, &got, &problem);
    if (rc != HEARTH_OK) {
        fprintf (stderr, "hearthctl: the copy does not open as it is (%s): running RocksDB's "
                 "repair on a fresh copy\n", problem? problem: hearth_strerror (rc));
        free (problem);
        problem = NULL;
        method = "rocksdb_repair";
        dbdir_remove (copy);
        rc = dbdir_copy (db, copy);
        if (rc == HEARTH_OK)
            rc = dbdir_repair (copy, &problem);
        if (rc == HEARTH_OK)
            rc = s_repair_check (copy, identity, &got, &problem);
    }
    if (rc != HEARTH_OK) {
        exit_code = hearthctl_failf (ctl, rc, "repairing the copy %s failed: %s (the original is "
                                     "untouched; the copy is kept for a closer look)", copy,
                                     problem? problem: hearth_strerror (rc));
        goto done;
    }
    size_t lost_files = s_lost_files (copy);
    /*  Every stored event took one arrival seq: the arrivals known (the
        mark's, or the highest seq read back) less the events read back
        are the ones missing, at the end or in skipped records. */
    uint64_t known = have_mark && acknowledged > got.seq? acknowledged: got.seq;
    uint64_t lost = known > got.events? known - got.events: 0;
    if (apply) {
        if (rename (db, damaged) != 0) {
            exit_code = hearthctl_failf (ctl, HEARTH_EIO, "cannot move %s aside to %s: %s", db, damaged,
                                         strerror (errno));
            goto done;
        }
        if (rename (copy, db) != 0) {
            int saved = errno;
            if (rename (damaged, db) != 0)
                exit_code = hearthctl_failf (ctl, HEARTH_EIO, "cannot move %s to %s (%s) nor the original "
                                             "back from %s: move it back by hand", copy, db,
                                             strerror (saved), damaged);
            else
                exit_code = hearthctl_failf (ctl, HEARTH_EIO, "cannot move %s to %s: %s (the original is "
                                             "back in place)", copy, db, strerror (saved));
            goto done;
        }
        int fd = open (ctl->data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0) {
            fsync (fd);
            close (fd);
        }
    }
    else
        dbdir_remove (copy);
    if (ctl->json) {
        json_t *out = json_pack ("{s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:b}",
                                 "data_dir", ctl->data_dir, "method", method, "applied", apply,
                                 "events", (json_int_t) got.events,
                                 "seq", (json_int_t) got.seq,
                                 "lamport_head", (json_int_t) got.lamport_head,
                                 "market_posts", (json_int_t) got.posts,
                                 "lost_files", (json_int_t) lost_files,
                                 "views_rebuilt", 1);
        json_object_set_new (out, "community_id", got.community [0]? json_string (got.community)
                                                                  : json_null ());
        json_object_set_new (out, "acknowledged_seq", have_mark? json_integer ((json_int_t) acknowledged)
                                                               : json_null ());
        json_object_set_new (out, "missing", json_integer ((json_int_t) lost));
        json_object_set_new (out, "damaged_kept", apply? json_string (damaged): json_null ());
        hearthctl_print_json (out);
        json_decref (out);
    }
    else {
        printf ("repaired a copy of %s (%s):\n", db, strcmp (method, "salvage") == 0
                ? "every readable write-ahead log record replayed"
                : "RocksDB's repair: manifest rebuilt from the table files");
        printf ("  events    %" PRIu64 " readable (arrival seq %" PRIu64 ", lamport head %" PRIu64 ")\n",
                got.events, got.seq, got.lamport_head);
        printf ("  community %s\n", got.community [0]? got.community: "(none)");
        printf ("  views     rebuilt from the whole log (%" PRIu64 " market posts)\n", got.posts);
        if (have_mark)
            printf ("  acknowledged up to arrival %" PRIu64 "\n", acknowledged);
        printf ("  missing   %" PRIu64 " of %" PRIu64 " arrival(s)%s\n", lost, known,
                lost? ": start the node with peers and it fetches what they hold": "");
        if (lost_files)
            printf ("  %zu damaged file(s) set aside in the copy's lost/\n", lost_files);
        if (apply)
            printf ("applied: %s is the repaired log; the damaged original is kept in %s\n", db, damaged);
        else
            printf ("nothing changed (the copy is removed); `hearthctl --data-dir %s repair --apply` "
                    "repairs again and swaps the result in, keeping the original\n", ctl->data_dir);
    }
done:
    free (problem);
    identity_destroy (&identity);
    return exit_code;
}

static int
hearthctl_cmd_call (hearthctl_t *ctl, int argc, char **argv)
{
    if (argc < 2 || argc > 3)
        return hearthctl_usage_error (ctl, "call needs CAPABILITY and optionally INPUT_JSON");
    json_t *input = NULL;
    if (argc == 3) {
        json_error_t error;
        input = json_loads (argv [2], 0, &error);
        if (!json_is_object (input)) {
            json_decref (input);
            return hearthctl_usage_error (ctl, "INPUT_JSON must be a JSON object");
        }
    }
    json_t *reply = NULL;
    int rc = hearthctl_request (ctl, argv [1], input, &reply);
    json_decref (input);
    if (rc != HEARTH_OK)
        return hearthctl_fail_transport (ctl, argv [1], rc);
    hearthctl_print_json (reply);
    int failed = json_object_get (reply, "error") != NULL;
    json_decref (reply);
    return failed? HEARTHCTL_EXIT_FAILED: HEARTHCTL_EXIT_OK;
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
