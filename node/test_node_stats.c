/*  test_node_stats.c — unit tests of the stats renderers: the Prometheus
    text passes a structural check modelled on `promtool check metrics`
    (HELP+TYPE per family, no duplicate family or series, counters and only
    counters end in _total, samples inside their family), exact values for
    chosen series (incl. cumulative histogram buckets and +Inf == _count),
    and the JSON carries the same figures. The integration test runs promtool itself on
    the live daemon's output.
*/
#include <ctype.h>
#include <jansson.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "eventlog.h"
#include "hearth_error.h"
#include "hearth_test.h"
#include "node_render.h"
#include "node_stats.h"

/*  Families and series seen at most by the checker. */
#define S_MAX_FAMILIES 128
#define S_MAX_SERIES   1024

typedef struct {
    char name [128];
    char type [16];
} s_family_t;

static int
s_name_valid (const char *name)
{
    if (!name [0] || !(isalpha ((unsigned char) name [0]) || name [0] == '_'))
        return 0;
    for (const char *p = name; *p; p++)
        if (!(isalnum ((unsigned char) *p) || *p == '_'))
            return 0;
    /*  Our own families, and the standard process_* ones of Prometheus clients. */
    return strncmp (name, "hearth_", 7) == 0 || strncmp (name, "process_", 8) == 0;
}

static int
s_ends_with (const char *text, const char *suffix)
{
    size_t a = strlen (text), b = strlen (suffix);
    return a >= b && strcmp (text + a - b, suffix) == 0;
}

/*  Returns the number of problems found (printed to stderr). */
static int
s_check_exposition (const char *text)
{
    static s_family_t families [S_MAX_FAMILIES];
    static char series [S_MAX_SERIES][256];
    size_t n_families = 0, n_series = 0;
    int problems = 0;
    char help_for [128] = "";
    const s_family_t *current = NULL;
    char *copy = strdup (text);
    char *save = NULL;
    for (char *line = strtok_r (copy, "\n", &save); line; line = strtok_r (NULL, "\n", &save)) {
        char name [128], rest [256];
        if (strncmp (line, "# HELP ", 7) == 0) {
            if (sscanf (line + 7, "%127s %255[^\n]", name, rest) != 2) {
                fprintf (stderr, "HELP without text: %s\n", line);
                problems++;
            }
            snprintf (help_for, sizeof help_for, "%s", name);
            continue;
        }
        if (strncmp (line, "# TYPE ", 7) == 0) {
            char type [16];
            if (sscanf (line + 7, "%127s %15s", name, type) != 2) {
                fprintf (stderr, "bad TYPE line: %s\n", line);
                problems++;
                continue;
            }
            if (strcmp (help_for, name) != 0) {
                fprintf (stderr, "TYPE %s not preceded by its HELP\n", name);
                problems++;
            }
            for (size_t i = 0; i < n_families; i++)
                if (strcmp (families [i].name, name) == 0) {
                    fprintf (stderr, "duplicate family %s\n", name);
                    problems++;
                }
            if (!s_name_valid (name)) {
                fprintf (stderr, "bad family name %s\n", name);
                problems++;
            }
            if (strcmp (type, "counter") == 0 && !s_ends_with (name, "_total")) {
                fprintf (stderr, "counter %s does not end in _total\n", name);
                problems++;
            }
            if (strcmp (type, "counter") != 0 && s_ends_with (name, "_total")) {
                fprintf (stderr, "non-counter %s ends in _total\n", name);
                problems++;
            }
            if (n_families < S_MAX_FAMILIES) {
                snprintf (families [n_families].name, sizeof families [0].name, "%s", name);
                snprintf (families [n_families].type, sizeof families [0].type, "%s", type);
                current = &families [n_families++];
            }
            continue;
        }
        if (line [0] == '#')
            continue;
        /*  A sample: name[{labels}] value */
        char key [256], value [64];
        if (sscanf (line, "%255s %63s", key, value) != 2) {
            fprintf (stderr, "bad sample line: %s\n", line);
            problems++;
            continue;
        }
        char metric [128];
        snprintf (metric, sizeof metric, "%.*s", (int) strcspn (key, "{"), key);
        char *end = NULL;
        strtod (value, &end);
        if (!end || *end) {
            fprintf (stderr, "bad value in: %s\n", line);
            problems++;
        }
        int belongs = 0;
        if (current) {
            if (strcmp (current->type, "histogram") == 0) {
                char expect [160];
                const char *suffixes [] = { "_bucket", "_sum", "_count" };
                for (int s = 0; s < 3; s++) {
                    snprintf (expect, sizeof expect, "%s%s", current->name, suffixes [s]);
                    if (strcmp (metric, expect) == 0)
                        belongs = 1;
                }
            }
            else
                belongs = strcmp (metric, current->name) == 0;
        }
        if (!belongs) {
            fprintf (stderr, "sample %s outside its family\n", metric);
            problems++;
        }
        for (size_t i = 0; i < n_series; i++)
            if (strcmp (series [i], key) == 0) {
                fprintf (stderr, "duplicate series %s\n", key);
                problems++;
            }
        if (n_series < S_MAX_SERIES)
            snprintf (series [n_series++], sizeof series [0], "%s", key);
    }
    free (copy);
    return problems;
}

/*  Value of one exact series in the text, or -1. */
static double
s_value (const char *text, const char *series)
{
    size_t len = strlen (series);
    for (const char *p = text; p && *p; p = strchr (p, '\n'), p = p? p + 1: NULL)
        if (strncmp (p, series, len) == 0 && p [len] == ' ')
            return strtod (p + len + 1, NULL);
    return -1;
}

static void
s_sample (node_stats_sample_t *sample, eventlog_stats_t *log)
{
    memset (log, 0, sizeof *log);
    log->events_total = 12;
    log->events_by_type [HEARTH__EVENT_TYPE__COMMUNITY_CREATED] = 1;
    log->events_by_type [HEARTH__EVENT_TYPE__MARKET_POST_CREATED] = 10;
    log->events_by_type [HEARTH__EVENT_TYPE__MARKET_POST_EXPIRED] = 1;
    log->appended_local = 12;
    log->rejected [EVENT_REJECT_SIGNATURE] = 3;
    log->lamport_head = 12;
    log->seq = 12;
    log->disk_full = 1;
    log->disk_full_episodes = 2;
    log->snapshots_skipped = 5;
    memset (sample, 0, sizeof *sample);
    sample->node_id = "ed25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    sample->log = log;
    sample->disk_bytes = 65536;
    sample->posts_total = 10;
    sample->posts_active = 9;
    sample->uptime_ms = 1500;
}

HT_TEST (test_prometheus_structure)
{
    node_stats_t *stats = node_stats_new ();
    HT_CHECK (stats != NULL);
    node_stats_request_record (stats, "market.post", HEARTH_OK, 0.002);
    node_stats_request_record (stats, "market.post", HEARTH_OK, 0.0001);
    node_stats_request_record (stats, "market.post", HEARTH_EINVAL, 0.0003);
    node_stats_request_record (stats, "market.get", HEARTH_ENOTFOUND, 0.0002);
    node_stats_request_record (stats, "market.search", HEARTH_OK, 7.0);     /* slower than every bucket */
    node_stats_request_record (stats, "no.such.thing", HEARTH_ENOTFOUND, 0.0001);
    node_stats_request_record (stats, NODE_STATS_CAP_INVALID, HEARTH_EDECODE, 0.0);
    node_stats_sweep_record (stats, 2);
    node_stats_sweep_record (stats, HEARTH_EIO);

    eventlog_stats_t log;
    node_stats_sample_t sample;
    s_sample (&sample, &log);
    char *text = node_stats_prometheus (stats, &sample);
    HT_CHECK (text != NULL);
    if (!text)
        return;
    HT_CHECK_EQ_INT (s_check_exposition (text), 0);
    HT_CHECK (s_value (text, "hearth_requests_total{capability=\"market.post\",result=\"ok\"}") == 2);
    HT_CHECK (s_value (text, "hearth_requests_total{capability=\"market.post\",result=\"bad_request\"}") == 1);
    HT_CHECK (s_value (text, "hearth_requests_total{capability=\"unknown\",result=\"not_found\"}") == 1);
    HT_CHECK (s_value (text, "hearth_requests_total{capability=\"invalid\",result=\"bad_request\"}") == 1);
    /*  Unknown capability names never become label values. */
    HT_CHECK (strstr (text, "no.such.thing") == NULL);
    HT_CHECK (s_value (text, "hearth_request_duration_seconds_count{capability=\"market.post\"}") == 3);
    HT_CHECK (s_value (text, "hearth_request_duration_seconds_bucket{capability=\"market.post\",le=\"0.0005\"}") == 2);
    HT_CHECK (s_value (text, "hearth_request_duration_seconds_bucket{capability=\"market.post\",le=\"0.0025\"}") == 3);
    HT_CHECK (s_value (text, "hearth_request_duration_seconds_bucket{capability=\"market.search\",le=\"2.5\"}") == 0);
    HT_CHECK (s_value (text, "hearth_request_duration_seconds_bucket{capability=\"market.search\",le=\"+Inf\"}") == 1);
    HT_CHECK (s_value (text, "hearth_eventlog_events") == 12);
    HT_CHECK (s_value (text, "hearth_eventlog_events_by_type{type=\"market.post.created\"}") == 10);
    HT_CHECK (s_value (text, "hearth_eventlog_lamport_head") == 12);
    HT_CHECK (s_value (text, "hearth_eventlog_disk_bytes") == 65536);
    HT_CHECK (s_value (text, "hearth_eventlog_disk_full") == 1);
    HT_CHECK (s_value (text, "hearth_eventlog_disk_full_episodes_total") == 2);
    HT_CHECK (s_value (text, "hearth_eventlog_snapshots_skipped_total") == 5);
    HT_CHECK (s_value (text, "hearth_market_posts{state=\"active\"}") == 9);
    HT_CHECK (s_value (text, "hearth_market_posts{state=\"expired\"}") == 1);
    HT_CHECK (s_value (text, "hearth_market_sweeps_total") == 2);
    HT_CHECK (s_value (text, "hearth_market_sweep_expired_total") == 2);
    HT_CHECK (s_value (text, "hearth_market_sweep_errors_total") == 1);
    HT_CHECK (s_value (text, "hearth_uptime_seconds") == 1.5);
    char series [128];
    snprintf (series, sizeof series, "hearth_eventlog_rejected_total{reason=\"%s\"}",
              event_reject_name (EVENT_REJECT_SIGNATURE));
    HT_CHECK (s_value (text, series) == 3);
    free (text);

    /*  With no event log at all (zeros), still well-formed. */
    sample.log = NULL;
    text = node_stats_prometheus (stats, &sample);
    HT_CHECK (text && s_check_exposition (text) == 0);
    free (text);
    node_stats_destroy (&stats);
    HT_CHECK (stats == NULL);
    node_stats_destroy (&stats);     /* safe on NULL */
}

HT_TEST (test_checker_catches_problems)
{
    /*  The checker itself must fail bad input, or the test above proves nothing. */
    HT_CHECK (s_check_exposition ("# HELP hearth_x_total X.\n# TYPE hearth_x_total counter\n"
                                  "hearth_x_total 1\n# HELP hearth_x_total X.\n"
                                  "# TYPE hearth_x_total counter\n") > 0);
    HT_CHECK (s_check_exposition ("# HELP hearth_x X.\n# TYPE hearth_x counter\nhearth_x 1\n") > 0);
    HT_CHECK (s_check_exposition ("# HELP hearth_x X.\n# TYPE hearth_x gauge\nhearth_y 1\n") > 0);
    HT_CHECK (s_check_exposition ("# TYPE hearth_x gauge\nhearth_x 1\n") > 0);
    HT_CHECK (s_check_exposition ("# HELP hearth_x X.\n# TYPE hearth_x gauge\nhearth_x 1\nhearth_x 2\n") > 0);
    HT_CHECK (s_check_exposition ("# HELP hearth_x X.\n# TYPE hearth_x gauge\nhearth_x abc\n") > 0);
    HT_CHECK (s_check_exposition ("# HELP hearth_x X.\n# TYPE hearth_x gauge\nhearth_x 1\n") == 0);
}

HT_TEST (test_json)
{
    node_stats_t *stats = node_stats_new ();
    node_stats_request_record (stats, "market.list", HEARTH_OK, 0.001);
    node_stats_request_record (stats, "market.list", HEARTH_EINVAL, 0.003);
    eventlog_stats_t log;
    node_stats_sample_t sample;
    s_sample (&sample, &log);
    json_t *json = node_stats_json (stats, &sample);
    HT_CHECK (json != NULL);
    json_t *events = json_object_get (json, "events");
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (events, "total")), 12);
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (json_object_get (events, "by_type"),
                                                         "market.post.created")), 10);
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (events, "lamport_head")), 12);
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (events, "disk_bytes")), 65536);
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (events, "disk_full")), 1);
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (events, "disk_full_episodes")), 2);
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (events, "snapshots_skipped")), 5);
    json_t *market = json_object_get (json, "market");
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (market, "posts_active")), 9);
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (market, "posts_expired")), 1);
    json_t *list = json_object_get (json_object_get (json, "requests"), "market.list");
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (list, "total")), 2);
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (list, "ok")), 1);
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (json_object_get (list, "errors"),
                                                         "bad_request")), 1);
    json_t *latency = json_object_get (list, "latency_seconds");
    HT_CHECK (json_real_value (json_object_get (latency, "max")) == 0.003);
    HT_CHECK (json_real_value (json_object_get (latency, "mean")) > 0.0019
           && json_real_value (json_object_get (latency, "mean")) < 0.0021);
    /*  Capabilities with no requests are left out. */
    HT_CHECK (json_object_get (json_object_get (json, "requests"), "market.post") == NULL);
    json_decref (json);
    node_stats_destroy (&stats);
}

HT_TEST (test_mesh)
{
    node_stats_t *stats = node_stats_new ();
    eventlog_stats_t log;
    node_stats_sample_t sample;
    s_sample (&sample, &log);
    json_t *peers = json_loads (
        "[{\"node_id\":\"ed25519:x\",\"short_id\":\"ed25519:AAAA-BBBB-CCCC-DDDD\",\"direction\":\"out\","
        "\"connected\":true,\"bytes_in\":100,\"bytes_out\":200},"
        "{\"node_id\":\"ed25519:y\",\"short_id\":\"ed25519:EEEE-\\\"FF-GGGG-HHHH\",\"direction\":\"in\","
        "\"connected\":false,\"bytes_in\":5,\"bytes_out\":6},"
        "{\"node_id\":\"ed25519:x\",\"short_id\":\"ed25519:AAAA-BBBB-CCCC-DDDD\",\"direction\":\"out\","
        "\"connected\":false,\"bytes_in\":1,\"bytes_out\":1}]", 0, NULL);
    HT_CHECK (peers != NULL);
    gossip_admit_cap_t queries [2] = {
        { .name = "other", .max_concurrent = 4, .timeout_ms = 30000 },
        { .name = "market.list", .max_concurrent = 8, .timeout_ms = 5000, .in_flight = 1,
          .in_flight_peak = 6, .received = 300, .ok = 20, .errors = 2, .timeouts = 3,
          .rate_limited = 80, .capacity_concurrent = 4, .capacity_peer = 5,
          .dropped_capability = 180, .dropped_total = 5 }
    };
    node_stats_mesh_t mesh = {
        .address = "ed25519:x@tcp://127.0.0.1:7400",
        .counters = {
            .peers_connected = 1, .events_pushed = 7,
            .events_pulled = 8, .events_received = 15, .events_duplicate = 4, .announce_sent = 21,
            .announce_received = 22, .announce_requested = 9, .announce_retried = 2, .announce_dropped = 5,
            .reconcile_rounds = 3, .reconcile_rateless = 2,
            .reconcile_round_trips = 5, .reconcile_fallbacks = 1, .reconcile_switches = 4,
            .reconcile_bytes = 900,
            .reconcile_bytes_rateless = 600,
            .bytes_in = 4000, .bytes_out = 5000, .zap_denied = 2, .frames_dropped = 1, .store_rebuilds = 6,
            .handshake_junk = 11, .handshake_mechanism = 12, .handshake_crypto = 13,
            .nonmember_links = 14, .nonmember_addresses = 15,
            .budget_bytes_charged = 70, .budget_bytes_owed = 71, .budget_deferred_debt = 72,
            .budget_deferred_open = 73, .budget_deferred_round = 74, .budget_refused_superseded = 75,
            .budget_refused_fetch = 76,
            .refused_known = 80, .refused_remembered = 81, .refused_evicted = 82, .refused_skipped = 83,
            .refused_retried = 84, .refused_sweeps = 85,
            .last_sync_ms = 1795600800000ULL },
        .now_ms = 1795600802500ULL, .peers = peers,
        .queries = queries, .n_queries = 2
    };
    sample.mesh = &mesh;
    char *text = node_stats_prometheus (stats, &sample);
    HT_CHECK (text && s_check_exposition (text) == 0);
    HT_CHECK (s_value (text, "hearth_mesh_peers_connected") == 1);
    HT_CHECK (s_value (text, "hearth_mesh_events_pushed_total") == 7);
    HT_CHECK (s_value (text, "hearth_mesh_events_pulled_total") == 8);
    HT_CHECK (s_value (text, "hearth_mesh_events_duplicate_total") == 4);
    HT_CHECK (s_value (text, "hearth_mesh_announced_hashes_total{direction=\"out\"}") == 21);
    HT_CHECK (s_value (text, "hearth_mesh_announced_hashes_total{direction=\"in\"}") == 22);
    HT_CHECK (s_value (text, "hearth_mesh_announce_requested_total") == 9);
    HT_CHECK (s_value (text, "hearth_mesh_announce_retried_total") == 2);
    HT_CHECK (s_value (text, "hearth_mesh_announce_dropped_total") == 5);
    HT_CHECK (s_value (text, "hearth_mesh_reconcile_rounds_total") == 3);
    HT_CHECK (s_value (text, "hearth_mesh_reconcile_bytes_total") == 900);
    HT_CHECK (s_value (text, "hearth_mesh_reconcile_rateless_total") == 2);
    HT_CHECK (s_value (text, "hearth_mesh_reconcile_round_trips_total") == 5);
    HT_CHECK (s_value (text, "hearth_mesh_reconcile_fallbacks_total") == 1);
    HT_CHECK (s_value (text, "hearth_mesh_reconcile_switches_total") == 4);
    HT_CHECK (s_value (text, "hearth_mesh_reconcile_rateless_bytes_total") == 600);
    HT_CHECK (s_value (text, "hearth_mesh_bytes_total{direction=\"in\"}") == 4000);
    HT_CHECK (s_value (text, "hearth_mesh_bytes_total{direction=\"out\"}") == 5000);
    HT_CHECK (s_value (text, "hearth_mesh_zap_denied_total") == 2);
    HT_CHECK (s_value (text, "hearth_mesh_handshake_failed_total{reason=\"junk\"}") == 11);
    HT_CHECK (s_value (text, "hearth_mesh_handshake_failed_total{reason=\"mechanism\"}") == 12);
    HT_CHECK (s_value (text, "hearth_mesh_handshake_failed_total{reason=\"crypto\"}") == 13);
    HT_CHECK (s_value (text, "hearth_mesh_nonmember_links_total") == 14);
    HT_CHECK (s_value (text, "hearth_mesh_nonmember_addresses_total") == 15);
    HT_CHECK (s_value (text, "hearth_mesh_store_rebuilds_total") == 6);
    HT_CHECK (s_value (text, "hearth_mesh_sync_reply_bytes_total{paid=\"credit\"}") == 70);
    HT_CHECK (s_value (text, "hearth_mesh_sync_reply_bytes_total{paid=\"owed\"}") == 71);
    HT_CHECK (s_value (text, "hearth_mesh_sync_deferred_total{reason=\"debt\"}") == 72);
    HT_CHECK (s_value (text, "hearth_mesh_sync_deferred_total{reason=\"open_rate\"}") == 73);
    HT_CHECK (s_value (text, "hearth_mesh_sync_deferred_total{reason=\"round_rate\"}") == 74);
    HT_CHECK (s_value (text, "hearth_mesh_sync_refused_total{reason=\"superseded\"}") == 75);
    HT_CHECK (s_value (text, "hearth_mesh_sync_refused_total{reason=\"held_full\"}") == 76);
    HT_CHECK (s_value (text, "hearth_mesh_refused_events") == 80);
    HT_CHECK (s_value (text, "hearth_mesh_refused_remembered_total") == 81);
    HT_CHECK (s_value (text, "hearth_mesh_refused_evicted_total") == 82);
    HT_CHECK (s_value (text, "hearth_mesh_refused_skipped_total") == 83);
    HT_CHECK (s_value (text, "hearth_mesh_refused_retried_total") == 84);
    HT_CHECK (s_value (text, "hearth_mesh_refused_sweeps_total") == 85);
    HT_CHECK (s_value (text, "hearth_mesh_seconds_since_last_sync") == 2.5);
    HT_CHECK (s_value (text, "hearth_mesh_peer_bytes_total{peer=\"ed25519:AAAA-BBBB-CCCC-DDDD\",link=\"out\",direction=\"out\"}") == 200);
    HT_CHECK (s_value (text, "hearth_mesh_peer_connected{peer=\"ed25519:AAAA-BBBB-CCCC-DDDD\",link=\"out\"}") == 1);
    /*  Quotes in a label value are escaped. */
    HT_CHECK (strstr (text, "peer=\"ed25519:EEEE-\\\"FF-GGGG-HHHH\",link=\"in\"") != NULL);
    /*  Peers' calls, per capability. */
    HT_CHECK (s_value (text, "hearth_mesh_queries_total{capability=\"market.list\",result=\"ok\"}") == 20);
    HT_CHECK (s_value (text, "hearth_mesh_queries_total{capability=\"market.list\",result=\"error\"}") == 2);
    HT_CHECK (s_value (text, "hearth_mesh_queries_total{capability=\"market.list\",result=\"timeout\"}") == 3);
    HT_CHECK (s_value (text, "hearth_mesh_queries_total{capability=\"market.list\",result=\"rate_limited\"}") == 80);
    HT_CHECK (s_value (text, "hearth_mesh_queries_total{capability=\"market.list\",result=\"capacity_exceeded\"}") == 9);
    HT_CHECK (s_value (text, "hearth_mesh_queries_total{capability=\"market.list\",result=\"dropped\"}") == 185);
    HT_CHECK (s_value (text, "hearth_mesh_queries_total{capability=\"other\",result=\"ok\"}") == 0);
    HT_CHECK (s_value (text, "hearth_mesh_queries_dropped_total{capability=\"market.list\",reason=\"hard_capability\"}") == 180);
    HT_CHECK (s_value (text, "hearth_mesh_queries_dropped_total{capability=\"market.list\",reason=\"hard_total\"}") == 5);
    HT_CHECK (s_value (text, "hearth_mesh_queries_capacity_exceeded_total{capability=\"market.list\",reason=\"max_concurrent\"}") == 4);
    HT_CHECK (s_value (text, "hearth_mesh_queries_capacity_exceeded_total{capability=\"market.list\",reason=\"peer_pending\"}") == 5);
    HT_CHECK (s_value (text, "hearth_mesh_queries_in_flight{capability=\"market.list\"}") == 1);
    HT_CHECK (s_value (text, "hearth_mesh_queries_in_flight_peak{capability=\"market.list\"}") == 6);
    HT_CHECK (s_value (text, "hearth_mesh_queries_max_concurrent{capability=\"market.list\"}") == 8);
    free (text);
    json_t *json = node_stats_json (stats, &sample);
    json_t *object = json_object_get (json, "mesh");
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (object, "zap_denied")), 2);
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (object, "handshake_junk")), 11);
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (object, "handshake_crypto")), 13);
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (object, "nonmember_addresses")), 15);
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (object, "store_rebuilds")), 6);
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (object, "budget_bytes_charged")), 70);
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (object, "budget_deferred_open")), 73);
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (object, "budget_refused_fetch")), 76);
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (object, "refused_known")), 80);
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (object, "refused_skipped")), 83);
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (object, "refused_retried")), 84);
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (object, "reconcile_rounds")), 3);
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (object, "events_duplicate")), 4);
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (object, "announce_sent")), 21);
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (object, "announce_received")), 22);
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (object, "announce_requested")), 9);
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (object, "announce_retried")), 2);
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (object, "announce_dropped")), 5);
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (object, "reconcile_rateless")), 2);
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (object, "reconcile_round_trips")), 5);
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (object, "reconcile_fallbacks")), 1);
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (object, "reconcile_switches")), 4);
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (object, "reconcile_bytes_rateless")), 600);
    HT_CHECK (json_real_value (json_object_get (object, "seconds_since_last_sync")) == 2.5);
    HT_CHECK_EQ_STR (json_string_value (json_object_get (object, "last_sync")), "2026-11-25T10:00:00.000Z");
    HT_CHECK_EQ_INT (json_array_size (json_object_get (object, "peers")), 3);
    json_t *list = json_object_get (json_object_get (object, "queries"), "market.list");
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (list, "received")), 300);
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (list, "timeouts")), 3);
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (list, "timeout_ms")), 5000);
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (list, "in_flight_peak")), 6);
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (json_object_get (list, "dropped"), "hard_capability")), 180);
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (json_object_get (list, "capacity_exceeded"), "peer_pending")), 5);
    HT_CHECK (json_object_get (json_object_get (object, "queries"), "other") != NULL);
    json_decref (json);
    /*  Never synced: the age series is absent, still well-formed. */
    mesh.counters.last_sync_ms = 0;
    mesh.peers = NULL;
    text = node_stats_prometheus (stats, &sample);
    HT_CHECK (text && s_check_exposition (text) == 0);
    HT_CHECK (s_value (text, "hearth_mesh_seconds_since_last_sync") == -1);
    HT_CHECK (s_value (text, "hearth_mesh_last_sync_timestamp_seconds") == 0);
    free (text);
    json = node_stats_json (stats, &sample);
    HT_CHECK (json_is_null (json_object_get (json_object_get (json, "mesh"), "last_sync")));
    json_decref (json);
    /*  No mesh: no mesh families. */
    sample.mesh = NULL;
    text = node_stats_prometheus (stats, &sample);
    HT_CHECK (text && strstr (text, "hearth_mesh_") == NULL);
    free (text);
    json_decref (peers);
    node_stats_destroy (&stats);
}

/*  Byte-exact renderings of one fixed sample in which every counter has
    its own value (so a figure sent to the wrong name shows): the JSON
    (indented, 15-digit reals), the Prometheus text and hearthctl's table
    must equal node/node_stats_golden.{json,prom,txt}, which pin the
    output format across refactorings (the version label is blanked).
    HEARTH_GOLDEN_WRITE=1 rewrites the files from the current code
    instead (review the diff). */
static int
s_golden (const char *name, char *text)
{
    char *version = strstr (text, "hearth_build_info{version=\"");
    if (version)
        for (char *p = version + strlen ("hearth_build_info{version=\""); *p && *p != '"'; p++)
            *p = '*';
    char path [512];
    snprintf (path, sizeof path, "%s/%s", HEARTH_TESTS_DIR, name);
    if (getenv ("HEARTH_GOLDEN_WRITE")) {
        FILE *file = fopen (path, "w");
        if (!file || fputs (text, file) < 0 || fclose (file) != 0)
            return -1;
        return 0;
    }
    FILE *file = fopen (path, "r");
    if (!file)
        return -1;
    char *expected = calloc (1, 1 << 20);
    size_t size = expected? fread (expected, 1, (1 << 20) - 1, file): 0;
    fclose (file);
    int same = expected && size == strlen (text) && memcmp (expected, text, size) == 0;
    if (!same)
        fprintf (stderr, "%s differs from the rendering:\n%s\n", path, text);
    free (expected);
    return same? 0: -1;
}

/*  Every row of gossip_stats.h reaches its JSON key and its Prometheus
    series with its own value, and each family's HELP is written once: a
    row added later is checked too (a wrong nth or a missing help shows). */
#define S_ROW(field, type, family, label, nth, group, words, help) \
    { #field, offsetof (gossip_stats_t, field), family, label },
HT_TEST (test_mesh_rows)
{
    static const struct { const char *field; size_t offset; const char *family, *label; } rows [] = {
        GOSSIP_STATS_COUNTERS (S_ROW)
    };
    node_stats_t *stats = node_stats_new ();
    eventlog_stats_t log;
    node_stats_sample_t sample;
    s_sample (&sample, &log);
    node_stats_mesh_t mesh;
    memset (&mesh, 0, sizeof mesh);
    size_t n = sizeof rows / sizeof rows [0];
    for (size_t i = 0; i < n; i++) {
        uint64_t value = 5000 + i;
        memcpy ((char *) &mesh.counters + rows [i].offset, &value, sizeof value);
    }
    sample.mesh = &mesh;
    char *text = node_stats_prometheus (stats, &sample);
    json_t *json = node_stats_json (stats, &sample);
    HT_CHECK (text && json && s_check_exposition (text) == 0);
    for (size_t i = 0; text && json && i < n; i++) {
        char series [256];
        if (rows [i].label)
            snprintf (series, sizeof series, "%s{%s}", rows [i].family, rows [i].label);
        else
            snprintf (series, sizeof series, "%s", rows [i].family);
        if (s_value (text, series) != 5000.0 + (double) i)
            fprintf (stderr, "series %s of %s missing or wrong\n", series, rows [i].field);
        HT_CHECK (s_value (text, series) == 5000.0 + (double) i);
        json_t *value = json_object_get (json_object_get (json, "mesh"), rows [i].field);
        HT_CHECK_EQ_INT (json_integer_value (value), 5000 + (long long) i);
        char help [200];
        snprintf (help, sizeof help, "# HELP %s ", rows [i].family);
        const char *first = strstr (text, help);
        HT_CHECK (first != NULL && strstr (first + 1, help) == NULL);
    }
    free (text);
    json_decref (json);
    node_stats_destroy (&stats);
}
#undef S_ROW

/*  Every family in text ("# TYPE name ...") is listed in docs/operations.md
    as `name`. Returns the number missing (printed). */
static int
s_families_documented (const char *text)
{
    char path [512];
    snprintf (path, sizeof path, "%s/../docs/operations.md", HEARTH_TESTS_DIR);
    FILE *file = fopen (path, "r");
    if (!file)
        return -1;
    char *docs = calloc (1, 1 << 20);
    size_t size = docs? fread (docs, 1, (1 << 20) - 1, file): 0;
    fclose (file);
    if (!docs || size == 0) {
        free (docs);
        return -1;
    }
    int missing = 0;
    for (const char *p = strstr (text, "# TYPE "); p; p = strstr (p + 1, "# TYPE ")) {
        char name [128], quoted [132];
        if (sscanf (p + 7, "%127s", name) != 1)
            continue;
        snprintf (quoted, sizeof quoted, "`%s`", name);
        if (!strstr (docs, quoted)) {
            fprintf (stderr, "docs/operations.md does not list %s\n", name);
            missing++;
        }
    }
    free (docs);
    return missing;
}

HT_TEST (test_golden)
{
    node_stats_t *stats = node_stats_new ();
    node_stats_request_record (stats, "market.post", HEARTH_OK, 0.002);
    node_stats_request_record (stats, "market.get", HEARTH_ENOTFOUND, 0.0002);
    node_stats_sweep_record (stats, 2);
    node_stats_sweep_record (stats, HEARTH_EIO);
    eventlog_stats_t log;
    node_stats_sample_t sample;
    s_sample (&sample, &log);
    /*  Every eventlog counter distinct (s_sample leaves some at zero). */
    uint64_t *word = (uint64_t *) &log;
    for (size_t i = 0; i < sizeof log / sizeof *word; i++)
        word [i] = 1000 + i;
    sample.community_id = "ed25519:CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC";
    json_t *peers = json_loads (
        "[{\"node_id\":\"ed25519:x\",\"short_id\":\"ed25519:AAAA-BBBB-CCCC-DDDD\",\"direction\":\"out\","
        "\"connected\":true,\"bytes_in\":100,\"bytes_out\":200,\"last_seen\":\"2026-11-25T09:21:35Z\","
        "\"lag\":-3},"
        "{\"node_id\":\"ed25519:y\",\"short_id\":\"ed25519:EEEE-FFFF-GGGG-HHHH\",\"direction\":\"in\","
        "\"connected\":false,\"bytes_in\":0,\"bytes_out\":0,\"last_seen\":null,\"lag\":null}]", 0, NULL);
    /*  The process figures and the market's memory. */
    node_stats_process_t process = { .resident_bytes = 50331648, .virtual_bytes = 268435456,
                                     .cpu_seconds = 12.25, .open_fds = 31, .max_fds = 1024,
                                     .start_time_seconds = 1795600000.5 };
    sample.process = &process;
    json_t *search = json_pack ("{s:I, s:I, s:I, s:I}", "lexicon_bytes", (json_int_t) 1001,
                                "synonym_rules", (json_int_t) 152, "index_bytes", (json_int_t) 4096,
                                "view_bytes", (json_int_t) 8192);
    sample.search = search;
    gossip_admit_cap_t queries [1] = {
        { .name = "market.list", .max_concurrent = 8, .timeout_ms = 5000, .in_flight = 1,
          .in_flight_peak = 6, .received = 300, .ok = 20, .errors = 2, .timeouts = 3,
          .rate_limited = 80, .capacity_concurrent = 4, .capacity_peer = 5,
          .dropped_capability = 180, .dropped_total = 5 }
    };
    node_stats_mesh_t mesh = {
        .address = "ed25519:x@tcp://127.0.0.1:7400",
        .counters = {
            .peers_connected = 1, .events_pushed = 7,
            .events_pulled = 8, .events_received = 15, .events_duplicate = 4, .announce_sent = 21,
            .announce_received = 22, .announce_requested = 9, .announce_retried = 2, .announce_dropped = 5,
            .reconcile_rounds = 3, .reconcile_rateless = 23, .reconcile_round_trips = 24,
            .reconcile_fallbacks = 25, .reconcile_switches = 26, .reconcile_bytes = 900,
            .reconcile_bytes_rateless = 600, .bytes_in = 4000, .bytes_out = 5000, .zap_denied = 27,
            .frames_dropped = 28, .store_rebuilds = 29, .handshake_junk = 11, .handshake_mechanism = 12,
            .handshake_crypto = 13, .nonmember_links = 14, .nonmember_addresses = 16,
            .budget_bytes_charged = 70, .budget_bytes_owed = 71, .budget_deferred_debt = 72,
            .budget_deferred_open = 73, .budget_deferred_round = 74, .budget_refused_superseded = 75,
            .budget_refused_fetch = 76,
            .refused_known = 80, .refused_remembered = 81, .refused_evicted = 82, .refused_skipped = 83,
            .refused_retried = 84, .refused_sweeps = 85, .sync_wanted = 86,
            .last_sync_ms = 1795600800000ULL },
        .now_ms = 1795600802500ULL, .peers = peers,
        .queries = queries, .n_queries = 1
    };
    sample.mesh = &mesh;
    json_t *json = node_stats_json (stats, &sample);
    char *text = json_dumps (json, JSON_INDENT (1) | JSON_REAL_PRECISION (15));
    HT_CHECK (text && s_golden ("node_stats_golden.json", text) == 0);
    free (text);
    size_t size = 0;
    FILE *table = open_memstream (&text, &size);
    node_render_stats (table, json);
    fclose (table);
    HT_CHECK (text && s_golden ("node_stats_golden.txt", text) == 0);
    free (text);
    json_decref (json);
    text = node_stats_prometheus (stats, &sample);
    HT_CHECK (text && s_golden ("node_stats_golden.prom", text) == 0);
    HT_CHECK (text && s_families_documented (text) == 0);
    free (text);
    json_decref (search);
    json_decref (peers);
    node_stats_destroy (&stats);
}

int
main (void)
{
    HT_RUN (test_prometheus_structure);
    HT_RUN (test_checker_catches_problems);
    HT_RUN (test_json);
    HT_RUN (test_mesh);
    HT_RUN (test_mesh_rows);
    HT_RUN (test_golden);
    return ht_summary ();
}
