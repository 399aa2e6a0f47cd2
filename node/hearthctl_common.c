/*  hearthctl_common.c — what every hearthctl command uses: reporting a
    failure (with --json, the error body of docs/protocol.md on stdout;
    else one line on stderr), printing JSON, strict number parsing, and
    calls to hearthd (its control socket, or another member's node over
    the mesh with a remote --node). Private to hearthctl (hearthctl.h).
*/
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "gossip.h"
#include "hearth_error.h"
#include "hearth_json.h"
#include "identity.h"
#include "market.h"
#include "node_client.h"
#include "node_config.h"
#include "node_control.h"
#include "hearthctl.h"

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
    name (ECORRUPT, ENOSPC, ...), as node_control_reply_error does. For
    people, a failure whose wire code is only internal_error (a local step:
    a key file, the disk, the log) is the message and the name alone, one
    line, so it does not read as the node's fault. */
static int
s_fail_code (const hearthctl_t *ctl, int err, const char *message, int exit_code)
{
    if (ctl->json) {
        char *body = node_control_reply_error (err, message);
        printf ("%s\n", body? body: "{\"error\":\"internal_error\"}");
        free (body);
    }
    else
    if (strcmp (hearth_error_code (err), "internal_error") == 0)
        fprintf (stderr, "hearthctl: error: %s (%s)\n", message? message: hearth_strerror (err),
                 hearth_error_name (err));
    else
        fprintf (stderr, "hearthctl: error: %s (%s): %s\n", hearth_error_code (err),
                 hearth_error_name (err), message? message: hearth_strerror (err));
    return exit_code;
}

int
hearthctl_fail_err (const hearthctl_t *ctl, int err, const char *message)
{
    return s_fail_code (ctl, err, message, HEARTHCTL_EXIT_FAILED);
}

/*  hearthctl_fail_err with a printf-formatted message. */
int
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

int
hearthctl_usage_error (const hearthctl_t *ctl, const char *message)
{
    if (!ctl->json)
        fprintf (stderr, "hearthctl: %s (see `hearthctl %s%s--help`)\n", message,
                 ctl->command? ctl->command: "", ctl->command? " ": "");
    else
        s_fail (ctl, "bad_request", message, HEARTHCTL_EXIT_USAGE);
    return HEARTHCTL_EXIT_USAGE;
}

/*  Edit distance of a and b (optimal string alignment: insertions,
    deletions, substitutions and swaps of neighbours), stopping at
    S_SUGGEST_MAX_LEN characters. */
#define S_SUGGEST_MAX_LEN 64
static size_t
s_distance (const char *a, const char *b)
{
    size_t n = strnlen (a, S_SUGGEST_MAX_LEN), m = strnlen (b, S_SUGGEST_MAX_LEN);
    static size_t d [S_SUGGEST_MAX_LEN + 1][S_SUGGEST_MAX_LEN + 1];
    for (size_t i = 0; i <= n; i++) d [i][0] = i;
    for (size_t j = 0; j <= m; j++) d [0][j] = j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            size_t cost = a [i - 1] == b [j - 1]? 0: 1;
            size_t best = d [i - 1][j] + 1;
            if (d [i][j - 1] + 1 < best) best = d [i][j - 1] + 1;
            if (d [i - 1][j - 1] + cost < best) best = d [i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a [i - 1] == b [j - 2] && a [i - 2] == b [j - 1]
            &&  d [i - 2][j - 2] + 1 < best)
                best = d [i - 2][j - 2] + 1;
            d [i][j] = best;
        }
    return d [n][m];
}

const char *
hearthctl_suggest (const char *word, const char *const *names)
{
    const char *best = NULL;
    size_t best_distance = SIZE_MAX, len = strlen (word);
    /*  Short words tolerate one edit, longer ones two. */
    size_t limit = len <= 4? 1: 2;
    for (size_t i = 0; names [i]; i++) {
        size_t distance = s_distance (word, names [i]);
        /*  A prefix of a known word ("--cat" for "--category") counts as near. */
        if (len >= 3 && strncmp (names [i], word, len) == 0)
            distance = 1;
        if (distance < best_distance) {
            best_distance = distance;
            best = names [i];
        }
    }
    return best_distance <= limit? best: NULL;
}

int
hearthctl_bad_option (const hearthctl_t *ctl, char **argv, const struct option *options)
{
    /*  getopt_long leaves optind past the argument it refused. */
    const char *arg = optind > 0? argv [optind - 1]: "";
    char message [512], word [128];
    if (!arg || strncmp (arg, "--", 2) != 0) {
        /*  A short option: optopt names it. */
        int takes_value = 0;
        for (size_t i = 0; options [i].name; i++)
            if (options [i].val == optopt && options [i].has_arg == required_argument
            &&  strlen (options [i].name) == 1)
                takes_value = 1;
        if (takes_value)
            snprintf (message, sizeof message, "-%c needs a value", optopt);
        else
            snprintf (message, sizeof message, "unknown option '-%c'", optopt? optopt: '?');
        return hearthctl_usage_error (ctl, message);
    }
    snprintf (word, sizeof word, "%.*s", (int) strcspn (arg, "="), arg);
    const char *names [64 + 1];
    char spelled [64][48];
    size_t n = 0, matches = 0;
    const char *match = NULL;
    for (size_t i = 0; options [i].name && n < 64; i++) {
        snprintf (spelled [n], sizeof spelled [n], "--%s", options [i].name);
        names [n] = spelled [n];
        if (strncmp (spelled [n], word, strlen (word)) == 0) {
            matches++;
            match = names [n];
            if (strcmp (spelled [n], word) == 0) {
                matches = 1;
                n++;
                break;
            }
        }
        n++;
    }
    names [n] = NULL;
    if (matches == 1 && match) {
        snprintf (message, sizeof message, "%s needs a value", match);
        return hearthctl_usage_error (ctl, message);
    }
    if (matches > 1) {
        snprintf (message, sizeof message, "ambiguous option '%.100s' (", word);
        int first = 1;
        for (size_t i = 0; i < n; i++)
            if (strncmp (names [i], word, strlen (word)) == 0) {
                strncat (message, first? "": ", ", sizeof message - strlen (message) - 1);
                strncat (message, names [i], sizeof message - strlen (message) - 1);
                first = 0;
            }
        strncat (message, ")", sizeof message - strlen (message) - 1);
        return hearthctl_usage_error (ctl, message);
    }
    const char *best = hearthctl_suggest (word, names);
    if (best)
        snprintf (message, sizeof message, "unknown option '%.100s'; did you mean '%s'?", word, best);
    else
        snprintf (message, sizeof message, "unknown option '%.100s'", word);
    return hearthctl_usage_error (ctl, message);
}

/* ---- the option loop of the commands with no value options --------------- */

/*  Parse options that are only --json (sets ctl->json) and, if flag_name
    is not NULL, --FLAG_NAME (sets *flag to 1), leaving optind at the first
    argument; HEARTHCTL_EXIT_OK or the usage error (hearthctl_bad_option's,
    with its suggestions). The one getopt loop of hearthctl_json_only_args,
    hearthctl_json_one_arg and hearthctl_flag_only_args. */
static int
s_json_option (hearthctl_t *ctl, int argc, char **argv, const char *flag_name, int *flag)
{
    const struct option options [] = {
        { flag_name, no_argument, NULL, 'f' },
        { "json", no_argument, NULL, 'j' },
        { NULL, 0, NULL, 0 }
    };
    /*  Without a flag, only the table's first row (--json) is offered. */
    const struct option *table = flag_name? options: options + 1;
    int opt;
    optind = 0;
    while ((opt = getopt_long (argc, argv, "", table, NULL)) != -1) {
        if (opt == 'j')
            ctl->json = 1;
        else
        if (opt == 'f')
            *flag = 1;
        else
            return hearthctl_bad_option (ctl, argv, table);
    }
    return HEARTHCTL_EXIT_OK;
}

/*  The usage error of a command given arguments it does not take. */
static int
s_no_arguments (hearthctl_t *ctl, int argc, const char *command)
{
    char message [64];
    if (optind < argc) {
        snprintf (message, sizeof message, "%s takes no arguments", command);
        return hearthctl_usage_error (ctl, message);
    }
    return HEARTHCTL_EXIT_OK;
}

int
hearthctl_json_only_args (hearthctl_t *ctl, int argc, char **argv, const char *command)
{
    int rc = s_json_option (ctl, argc, argv, NULL, NULL);
    return rc != HEARTHCTL_EXIT_OK? rc: s_no_arguments (ctl, argc, command);
}

int
hearthctl_flag_only_args (hearthctl_t *ctl, int argc, char **argv, const char *command,
                          const char *flag_name, int *flag)
{
    *flag = 0;
    int rc = s_json_option (ctl, argc, argv, flag_name, flag);
    return rc != HEARTHCTL_EXIT_OK? rc: s_no_arguments (ctl, argc, command);
}

int
hearthctl_json_one_arg (hearthctl_t *ctl, int argc, char **argv, const char *none,
                        const char *many, const char **arg)
{
    int rc = s_json_option (ctl, argc, argv, NULL, NULL);
    if (rc != HEARTHCTL_EXIT_OK)
        return rc;
    if (argc - optind != 1)
        return hearthctl_usage_error (ctl, argc - optind == 0? none: many);
    *arg = argv [optind];
    return HEARTHCTL_EXIT_OK;
}

void
hearthctl_print_json (const json_t *value)
{
    char *text = json_dumps (value, HEARTH_JSON_FLAGS | JSON_ENCODE_ANY);
    printf ("%s\n", text? text: "null");
    free (text);
}

/* ---- parsing helpers ----------------------------------------------------- */

/*  Strict unsigned decimal that fits in int64 (JSON integers). */
int
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
int
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
    if (rc == HEARTH_EUNAVAILABLE) {
        /*  Not a failure of the node: there is none. Its own message, its
            own exit status, its own JSON error ("not_running", the one
            code hearthctl adds to the wire codes, as no node answered). */
        if (ctl->node_given)
            n = asprintf (&message, "hearthd is not running at %s (nothing listens there)", where);
        else
            n = asprintf (&message, "hearthd is not running for %s (no %s); start it with "
                          "`hearthd --data-dir %s`", where,
                          ctl->endpoint + (strncmp (ctl->endpoint, "ipc://", 6) == 0? 6: 0), where);
        if (n < 0)
            return s_fail_code (ctl, HEARTH_ENOMEM, NULL, HEARTHCTL_EXIT_FAILED);
        if (ctl->json)
            s_fail (ctl, "not_running", message, HEARTHCTL_EXIT_NOT_RUNNING);
        else
            fprintf (stderr, "hearthctl: %s\n", message);
        free (message);
        return HEARTHCTL_EXIT_NOT_RUNNING;
    }
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
int
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
void
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
int
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
int
hearthctl_call_flagged (hearthctl_t *ctl, int argc, char **argv, const char *command,
                        const char *flag_name, const char *capability, int *flag, json_t **output)
{
    int rc = hearthctl_flag_only_args (ctl, argc, argv, command, flag_name, flag);
    if (rc != HEARTHCTL_EXIT_OK)
        return rc;
    json_t *input = *flag? json_pack ("{s:b}", flag_name, 1): NULL;
    rc = hearthctl_call (ctl, capability, input, output);
    json_decref (input);
    return rc;
}

int
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
