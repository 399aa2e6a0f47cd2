/*  hearthctl_market.c — `hearthctl market post|list|get|expire|update|search`
    (docs/cli.md): each parses its options into the input of one market.*
    capability (docs/protocol.md), calls it through hearthctl_call and
    prints the output (as is with --json, else through node_render).
    Private to hearthctl.
*/
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "hearth_error.h"
#include "node_render.h"
#include "hearthctl.h"

/*  Tags accepted on the command line before the service's own cap
    (EVENT_MAX_TAGS) judges them: a bound on argv handling only. */
#define S_MAX_CLI_TAGS      64

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

/*  input[key] = text as a whole number (hearthctl_parse_u64), or the usage
    error with message: the one reading of the numeric options (--ttl,
    --limit, --since-lamport, -k). Returns HEARTHCTL_EXIT_OK or the usage
    exit code. */
static int
s_set_whole (const hearthctl_t *ctl, json_t *input, const char *key, const char *text,
             const char *message)
{
    uint64_t number;
    if (hearthctl_parse_u64 (text, &number) != 0)
        return hearthctl_usage_error (ctl, message);
    json_object_set_new (input, key, json_integer ((json_int_t) number));
    return HEARTHCTL_EXIT_OK;
}

/*  Append text to a JSON array of tags, with hearthctl_set_text's UTF-8 rule. */
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

/*  "LAT,LNG" (spaces around the comma allowed) into two finite numbers. */
static int
s_parse_lat_lng (const char *text, double *lat, double *lng)
{
    const char *comma = text? strchr (text, ','): NULL;
    if (!comma || strchr (comma + 1, ','))
        return -1;
    char first [64];
    size_t n = (size_t) (comma - text);
    if (n >= sizeof first)
        return -1;
    memcpy (first, text, n);
    first [n] = 0;
    while (n > 0 && first [n - 1] == ' ')
        first [--n] = 0;
    const char *second = comma + 1;
    while (*second == ' ')
        second++;
    const char *head = first;
    while (*head == ' ')
        head++;
    return s_parse_double (head, lat) || s_parse_double (second, lng)? -1: 0;
}

/*  The near-me options of list and search: --near LAT,LNG and
    --radius-km N make input's location_filter, --order its order (the
    service judges the ranges and the order's name, naming the field). */
typedef struct {
    const char *near, *radius, *order;
} s_near_opts_t;

static int
s_near_input (const hearthctl_t *ctl, const s_near_opts_t *o, json_t *input)
{
    int rc = o->order? hearthctl_set_text (ctl, input, "order", o->order): HEARTHCTL_EXIT_OK;
    if (rc != HEARTHCTL_EXIT_OK)
        return rc;
    if (!o->near && !o->radius)
        return HEARTHCTL_EXIT_OK;
    if (!o->near)
        return hearthctl_usage_error (ctl, "--radius-km needs --near LAT,LNG");
    if (!o->radius)
        return hearthctl_usage_error (ctl, "--near needs --radius-km N (e.g. --radius-km 2)");
    double lat, lng, radius;
    if (s_parse_lat_lng (o->near, &lat, &lng) != 0)
        return hearthctl_usage_error (ctl, "--near must be LAT,LNG in decimal degrees "
                                      "(e.g. --near 52.52,13.405)");
    if (s_parse_double (o->radius, &radius) != 0)
        return hearthctl_usage_error (ctl, "--radius-km must be a decimal number of kilometres");
    json_t *filter = json_pack ("{s:{s:f, s:f}, s:f}", "center", "lat", lat, "lng", lng,
                                "radius_km", radius);
    if (!filter)
        return hearthctl_fail_err (ctl, HEARTH_ENOMEM, NULL);
    json_object_set_new (input, "location_filter", filter);
    return HEARTHCTL_EXIT_OK;
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

/*  The options market post and market update share (--title, --body,
    --client-id, --tag, --ttl; their getopt values 't', 'b', 'i', 'g',
    'T'): if opt is one, sets input (or appends to tags) from text, puts
    the exit code in *rc and returns 1; else returns 0. */
static int
s_post_option (const hearthctl_t *ctl, int opt, const char *text, json_t *input, json_t *tags, int *rc)
{
    switch (opt) {
        case 't': *rc = hearthctl_set_text (ctl, input, "title", text); return 1;
        case 'b': *rc = hearthctl_set_text (ctl, input, "body", text); return 1;
        case 'i': *rc = hearthctl_set_text (ctl, input, "client_id", text); return 1;
        case 'g': *rc = s_add_tag (ctl, tags, text); return 1;
        case 'T': *rc = s_set_whole (ctl, input, "ttl_seconds", text,
                                     "--ttl must be a whole number of seconds"); return 1;
        default:  return 0;
    }
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
        if (s_post_option (ctl, opt, optarg, input, tags, &rc))
            continue;
        switch (opt) {
            case 'c': rc = hearthctl_set_text (ctl, input, "category", optarg); break;
            case 'a': lat_text = optarg; break;
            case 'o': lng_text = optarg; break;
            case 'l': label = optarg; break;
            case 'j': ctl->json = 1; break;
            default:  rc = hearthctl_bad_option (ctl, argv, options);
        }
    }
    if (rc == HEARTHCTL_EXIT_OK && optind < argc)
        rc = hearthctl_usage_error (ctl, "market post takes no positional arguments (quote the "
                                    "--body text)");
    if (rc == HEARTHCTL_EXIT_OK) {
        /*  Name exactly the fields missing ("needs --title and --body"). */
        static const char *const required [] = { "category", "title", "body" };
        const char *missing [3];
        size_t n_missing = 0;
        for (size_t i = 0; i < 3; i++)
            if (!json_object_get (input, required [i]))
                missing [n_missing++] = required [i];
        if (n_missing) {
            char message [128] = "market post needs ";
            for (size_t i = 0; i < n_missing; i++) {
                if (i > 0)
                    strcat (message, i + 1 == n_missing? " and ": ", ");
                strcat (message, "--");
                strcat (message, missing [i]);
            }
            rc = hearthctl_usage_error (ctl, message);
        }
    }
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
        { "near",          required_argument, NULL, 'N' },
        { "radius-km",     required_argument, NULL, 'r' },
        { "order",         required_argument, NULL, 'o' },
        { "json",          no_argument,       NULL, 'j' },
        { NULL, 0, NULL, 0 }
    };
    json_t *input = json_object ();
    json_t *tags = json_array ();
    s_near_opts_t near = { NULL, NULL, NULL };
    int opt, rc = HEARTHCTL_EXIT_OK;
    optind = 0;
    while (rc == HEARTHCTL_EXIT_OK && (opt = getopt_long (argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
            case 'c': rc = hearthctl_set_text (ctl, input, "category", optarg); break;
            case 'g': rc = s_add_tag (ctl, tags, optarg); break;
            case 's':
                rc = s_set_whole (ctl, input, "since_lamport", optarg,
                                  "--since-lamport must be a whole number");
                break;
            case 'n':
                rc = s_set_whole (ctl, input, "limit", optarg, "--limit must be a whole number");
                break;
            case 'N': near.near = optarg; break;
            case 'r': near.radius = optarg; break;
            case 'o': near.order = optarg; break;
            case 'j': ctl->json = 1; break;
            default:  rc = hearthctl_bad_option (ctl, argv, options);
        }
    }
    if (rc == HEARTHCTL_EXIT_OK && optind < argc)
        rc = hearthctl_usage_error (ctl, "market list takes no positional arguments");
    if (rc == HEARTHCTL_EXIT_OK)
        rc = s_near_input (ctl, &near, input);
    if (rc == HEARTHCTL_EXIT_OK && json_array_size (tags) > 0)
        json_object_set (input, "tags", tags);
    json_decref (tags);
    return s_market_call (ctl, rc, "market.list", input, S_SHOW_POSTS, NULL);
}

static int
s_market_get (hearthctl_t *ctl, int argc, char **argv)
{
    const char *event_id;
    int rc = hearthctl_json_one_arg (ctl, argc, argv, "market get needs exactly one EVENT_ID",
                                     "market get needs exactly one EVENT_ID", &event_id);
    if (rc != HEARTHCTL_EXIT_OK)
        return rc;
    json_t *input = json_pack ("{s:s}", "event_id", event_id);
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
        else return hearthctl_bad_option (ctl, argv, options);
    }
    if (argc - optind != 1)
        return hearthctl_usage_error (ctl, "market expire needs exactly one EVENT_ID");
    if (!reason)
        return hearthctl_usage_error (ctl, "market expire needs --reason (fulfilled, withdrawn, "
                                      "user_request or stale)");
    json_t *input = json_object ();
    int rc = hearthctl_set_text (ctl, input, "event_id", argv [optind]);
    if (rc == HEARTHCTL_EXIT_OK)
        rc = hearthctl_set_text (ctl, input, "reason", reason);
    if (rc == HEARTHCTL_EXIT_OK && client_id)
        rc = hearthctl_set_text (ctl, input, "client_id", client_id);
    return s_market_call (ctl, rc, "market.expire", input, S_SHOW_ACK, "expired");
}

/*  --location LAT,LNG[,LABEL] as a location object (the label may hold
    commas); NULL after a usage error. */
static json_t *
s_location_arg (const hearthctl_t *ctl, const char *text, int *rc)
{
    char lat_text [64], lng_text [64];
    const char *comma = strchr (text, ',');
    const char *second = comma? strchr (comma + 1, ','): NULL;
    size_t lat_len = comma? (size_t) (comma - text): 0;
    size_t lng_len = comma? (second? (size_t) (second - comma - 1): strlen (comma + 1)): 0;
    double lat, lng;
    if (!comma || lat_len >= sizeof lat_text || lng_len >= sizeof lng_text) {
        *rc = hearthctl_usage_error (ctl, "--location takes LAT,LNG or LAT,LNG,LABEL "
                                     "(e.g. 52.52,13.40,Hof)");
        return NULL;
    }
    memcpy (lat_text, text, lat_len);
    lat_text [lat_len] = 0;
    memcpy (lng_text, comma + 1, lng_len);
    lng_text [lng_len] = 0;
    if (s_parse_double (lat_text, &lat) != 0 || s_parse_double (lng_text, &lng) != 0) {
        *rc = hearthctl_usage_error (ctl, "--location's LAT and LNG must be decimal numbers "
                                     "(e.g. 52.52,13.40)");
        return NULL;
    }
    json_t *location = json_pack ("{s:f, s:f}", "lat", lat, "lng", lng);
    if (location && second)
        *rc = hearthctl_set_text (ctl, location, "label", second + 1);
    return location;
}

static int
s_market_update (hearthctl_t *ctl, int argc, char **argv)
{
    static const struct option options [] = {
        { "title",       required_argument, NULL, 't' },
        { "body",        required_argument, NULL, 'b' },
        { "tag",         required_argument, NULL, 'g' },
        { "no-tags",     no_argument,       NULL, 'G' },
        { "location",    required_argument, NULL, 'L' },
        { "no-location", no_argument,       NULL, 'N' },
        { "ttl",         required_argument, NULL, 'T' },
        { "client-id",   required_argument, NULL, 'i' },
        { "json",        no_argument,       NULL, 'j' },
        { NULL, 0, NULL, 0 }
    };
    json_t *input = json_object ();
    json_t *tags = json_array ();
    int no_tags = 0, no_location = 0;
    int opt, rc = HEARTHCTL_EXIT_OK;
    optind = 0;
    while (rc == HEARTHCTL_EXIT_OK && (opt = getopt_long (argc, argv, "", options, NULL)) != -1) {
        json_t *location;
        if (s_post_option (ctl, opt, optarg, input, tags, &rc))
            continue;
        switch (opt) {
            case 'G': no_tags = 1; break;
            case 'N': no_location = 1; break;
            case 'L':
                location = s_location_arg (ctl, optarg, &rc);
                if (location)
                    json_object_set_new (input, "location", location);
                break;
            case 'j': ctl->json = 1; break;
            default:  rc = hearthctl_bad_option (ctl, argv, options);
        }
    }
    if (rc == HEARTHCTL_EXIT_OK && argc - optind != 1)
        rc = hearthctl_usage_error (ctl, argc - optind < 1? "market update needs the post's EVENT_ID"
                                    : "market update takes one EVENT_ID (quote the --body text)");
    if (rc == HEARTHCTL_EXIT_OK && no_tags && json_array_size (tags) > 0)
        rc = hearthctl_usage_error (ctl, "--no-tags and --tag contradict each other");
    if (rc == HEARTHCTL_EXIT_OK && no_location && json_object_get (input, "location"))
        rc = hearthctl_usage_error (ctl, "--no-location and --location contradict each other");
    if (rc == HEARTHCTL_EXIT_OK) {
        if (json_array_size (tags) > 0 || no_tags)
            json_object_set (input, "tags", tags);
        if (no_location)
            json_object_set_new (input, "location", json_null ());
        if (json_object_size (input) == (json_object_get (input, "client_id")? 1u: 0u))
            rc = hearthctl_usage_error (ctl, "market update needs something to change: --title, "
                                        "--body, --tag, --no-tags, --location, --no-location or --ttl");
    }
    if (rc == HEARTHCTL_EXIT_OK)
        rc = hearthctl_set_text (ctl, input, "event_id", argv [optind]);
    json_decref (tags);
    return s_market_call (ctl, rc, "market.update", input, S_SHOW_ACK, "updated");
}

static int
s_market_search (hearthctl_t *ctl, int argc, char **argv)
{
    static const struct option options [] = {
        { "k",         required_argument, NULL, 'k' },
        { "near",      required_argument, NULL, 'N' },
        { "radius-km", required_argument, NULL, 'r' },
        { "order",     required_argument, NULL, 'o' },
        { "json",      no_argument,       NULL, 'j' },
        { NULL, 0, NULL, 0 }
    };
    json_t *input = json_object ();
    s_near_opts_t near = { NULL, NULL, NULL };
    int opt, rc = HEARTHCTL_EXIT_OK;
    optind = 0;
    while (rc == HEARTHCTL_EXIT_OK && (opt = getopt_long (argc, argv, "k:", options, NULL)) != -1) {
        if (opt == 'k') rc = s_set_whole (ctl, input, "k", optarg, "-k must be a whole number");
        else if (opt == 'N') near.near = optarg;
        else if (opt == 'r') near.radius = optarg;
        else if (opt == 'o') near.order = optarg;
        else if (opt == 'j') ctl->json = 1;
        else rc = hearthctl_bad_option (ctl, argv, options);
    }
    if (rc == HEARTHCTL_EXIT_OK && optind >= argc)
        rc = hearthctl_usage_error (ctl, "market search needs a QUERY");
    if (rc == HEARTHCTL_EXIT_OK)
        rc = s_near_input (ctl, &near, input);
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

int
hearthctl_cmd_market (hearthctl_t *ctl, int argc, char **argv)
{
    /*  main resolved the subcommand (hearthctl.c), so argv [1] is one. */
    if (argc < 2)
        return hearthctl_usage_error (ctl, "market needs a subcommand: post, list, get, expire, update "
                                      "or search");
    const char *sub = argv [1];
    if (strcmp (sub, "post") == 0)   return s_market_post (ctl, argc - 1, argv + 1);
    if (strcmp (sub, "list") == 0)   return s_market_list (ctl, argc - 1, argv + 1);
    if (strcmp (sub, "get") == 0)    return s_market_get (ctl, argc - 1, argv + 1);
    if (strcmp (sub, "expire") == 0) return s_market_expire (ctl, argc - 1, argv + 1);
    if (strcmp (sub, "update") == 0) return s_market_update (ctl, argc - 1, argv + 1);
    if (strcmp (sub, "search") == 0) return s_market_search (ctl, argc - 1, argv + 1);
    return hearthctl_usage_error (ctl, "unknown market subcommand (post, list, get, expire, update, "
                                  "search)");
}
