/*  hearthctl_node.c — the commands that read a running node: stats,
    peers, events (paged through events.list, streamed) and call (a raw
    control call). Private to hearthctl.
*/
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "hearth_error.h"
#include "hearth_json.h"
#include "node_render.h"
#include "hearthctl.h"

/* ---- stats / events / call ----------------------------------------------- */

int
hearthctl_cmd_stats (hearthctl_t *ctl, int argc, char **argv)
{
    int prometheus;
    int rc = hearthctl_flag_only_args (ctl, argc, argv, "stats", "prometheus", &prometheus);
    if (rc != HEARTHCTL_EXIT_OK)
        return rc;
    json_t *input = json_pack ("{s:s}", "format", prometheus? "prometheus": "json");
    json_t *output = NULL;
    rc = hearthctl_call (ctl, "node.stats", input, &output);
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

int
hearthctl_cmd_peers (hearthctl_t *ctl, int argc, char **argv)
{
    int known;
    json_t *output = NULL;
    int rc = hearthctl_call_flagged (ctl, argc, argv, "peers", "known", "node.peers", &known, &output);
    if (rc != HEARTHCTL_EXIT_OK)
        return rc;
    if (ctl->json)
        hearthctl_print_json (output);
    else
    if (known)
        node_render_known (stdout, output);
    else
        node_render_peers (stdout, output);
    json_decref (output);
    return HEARTHCTL_EXIT_OK;
}

int
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
        else return hearthctl_bad_option (ctl, argv, options);
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

int
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
