/*  node_stats.c — request/sweep counters and the JSON + Prometheus renderers.

    Counters are plain integers: hearthd serves requests on one thread, so
    nothing here is shared between threads.
*/
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hearth_codec.h"
#include "hearth_error.h"
#include "node_stats.h"

/*  Set by the build (CMake PROJECT_VERSION); a fallback keeps the module
    buildable on its own. */
#ifndef HEARTH_VERSION
#define HEARTH_VERSION "unknown"
#endif

/*  Labels of the capability dimension, in display order. */
static const char *s_capabilities [] = {
    "market.list", "market.get", "market.post", "market.expire", "market.search",
    "node.id", "node.stats", "events.list", "node.verify_views", "node.view_digest",
    "node.peers", "community.invite",
    NODE_STATS_CAP_UNKNOWN, NODE_STATS_CAP_INVALID
};
#define S_CAPS (sizeof s_capabilities / sizeof s_capabilities [0])

/*  Labels of the result dimension: "ok", then the 13 CONTRACT §9 codes. */
static const char *s_results [] = {
    "ok", "bad_request", "schema_mismatch", "invalid_signature", "unauthorized", "revoked",
    "expired", "not_found", "not_implemented", "timeout", "partition", "capacity_exceeded",
    "rate_limited", "internal_error"
};
#define S_RESULTS (sizeof s_results / sizeof s_results [0])

static const double s_bounds [NODE_STATS_LATENCY_BUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5
};

typedef struct {
    uint64_t results [S_RESULTS];
    uint64_t buckets [NODE_STATS_LATENCY_BUCKETS];   /* non-cumulative counts */
    uint64_t count;
    double   sum;
    double   max;
} s_cap_stats_t;

struct _node_stats_t {
    s_cap_stats_t caps [S_CAPS];
    uint64_t sweeps;
    uint64_t sweep_expired;
    uint64_t sweep_errors;
};

node_stats_t *
node_stats_new (void)
{
    return (node_stats_t *) calloc (1, sizeof (node_stats_t));
}

void
node_stats_destroy (node_stats_t **self_p)
{
    if (self_p && *self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

static size_t
s_cap_index (const char *capability)
{
    for (size_t i = 0; i < S_CAPS; i++)
        if (capability && strcmp (capability, s_capabilities [i]) == 0)
            return i;
    for (size_t i = 0; i < S_CAPS; i++)
        if (strcmp (s_capabilities [i], NODE_STATS_CAP_UNKNOWN) == 0)
            return i;
    return 0;       /* not reached: the table holds "unknown" */
}

int
node_stats_capability_known (const char *capability)
{
    for (size_t i = 0; i < S_CAPS; i++)
        if (capability && strcmp (capability, s_capabilities [i]) == 0)
            return 1;
    return 0;
}

static size_t
s_result_index (int result)
{
    if (result == HEARTH_OK)
        return 0;
    const char *code = hearth_error_code (result);
    for (size_t i = 1; i < S_RESULTS; i++)
        if (strcmp (code, s_results [i]) == 0)
            return i;
    return S_RESULTS - 1;   /* internal_error */
}

void
node_stats_request_record (node_stats_t *self, const char *capability, int result, double seconds)
{
    s_cap_stats_t *cap = &self->caps [s_cap_index (capability)];
    cap->results [s_result_index (result)]++;
    if (seconds < 0)
        seconds = 0;
    cap->count++;
    cap->sum += seconds;
    if (seconds > cap->max)
        cap->max = seconds;
    for (size_t b = 0; b < NODE_STATS_LATENCY_BUCKETS; b++)
        if (seconds <= s_bounds [b]) {
            cap->buckets [b]++;
            break;
        }
    /*  Slower than the last finite bound: counted only in +Inf (= count). */
}

void
node_stats_sweep_record (node_stats_t *self, int appended)
{
    self->sweeps++;
    if (appended < 0)
        self->sweep_errors++;
    else
        self->sweep_expired += (uint64_t) appended;
}

/* ---- JSON -------------------------------------------------------------- */

static json_t *
s_u64 (uint64_t value)
{
    /*  JSON integers are int64 in jansson; counters never reach 2^63. */
    return json_integer ((json_int_t) value);
}

/*  {capability: {max_concurrent, timeout_ms, in_flight, in_flight_peak,
    received, ok, errors, timeouts, rate_limited, capacity_exceeded:
    {max_concurrent, peer_pending}, dropped: {hard_capability, hard_total}}}
    of the calls peers made (gossip_admit.h). */
static json_t *
s_queries_json (const node_stats_mesh_t *mesh)
{
    json_t *queries = json_object ();
    for (size_t i = 0; queries && i < mesh->n_queries; i++) {
        const gossip_admit_cap_t *c = &mesh->queries [i];
        json_t *entry = json_object ();
        json_object_set_new (entry, "max_concurrent", s_u64 (c->max_concurrent));
        json_object_set_new (entry, "timeout_ms", s_u64 (c->timeout_ms));
        json_object_set_new (entry, "in_flight", s_u64 (c->in_flight));
        json_object_set_new (entry, "in_flight_peak", s_u64 (c->in_flight_peak));
        json_object_set_new (entry, "received", s_u64 (c->received));
        json_object_set_new (entry, "ok", s_u64 (c->ok));
        json_object_set_new (entry, "errors", s_u64 (c->errors));
        json_object_set_new (entry, "timeouts", s_u64 (c->timeouts));
        json_object_set_new (entry, "rate_limited", s_u64 (c->rate_limited));
        json_object_set_new (entry, "capacity_exceeded",
                             json_pack ("{s:o, s:o}", "max_concurrent", s_u64 (c->capacity_concurrent),
                                        "peer_pending", s_u64 (c->capacity_peer)));
        json_object_set_new (entry, "dropped",
                             json_pack ("{s:o, s:o}", "hard_capability", s_u64 (c->dropped_capability),
                                        "hard_total", s_u64 (c->dropped_total)));
        json_object_set_new (queries, c->name, entry);
    }
    return queries;
}

json_t *
node_stats_json (const node_stats_t *self, const node_stats_sample_t *sample)
{
    static const eventlog_stats_t s_zero;
    const eventlog_stats_t *log = sample->log? sample->log: &s_zero;
    json_t *root = json_object ();
    if (!root)
        return NULL;
    json_object_set_new (root, "node_id", sample->node_id? json_string (sample->node_id): json_null ());
    json_object_set_new (root, "community_id",
                         sample->community_id? json_string (sample->community_id): json_null ());
    json_object_set_new (root, "uptime_seconds", json_real ((double) sample->uptime_ms / 1000.0));

    json_t *events = json_object ();
    json_object_set_new (events, "total", s_u64 (log->events_total));
    json_t *by_type = json_object ();
    for (int t = 1; t < EVENT_TYPE_COUNT; t++) {
        const char *name = event_type_name (t);
        if (name)
            json_object_set_new (by_type, name, s_u64 (log->events_by_type [t]));
    }
    json_object_set_new (events, "by_type", by_type);
    json_object_set_new (events, "appended_local", s_u64 (log->appended_local));
    json_object_set_new (events, "received_accepted", s_u64 (log->received_accepted));
    json_t *rejected = json_object ();
    for (int r = 1; r < EVENT_REJECT_COUNT; r++)
        json_object_set_new (rejected, event_reject_name ((event_reject_t) r), s_u64 (log->rejected [r]));
    json_object_set_new (events, "rejected", rejected);
    json_object_set_new (events, "lamport_head", s_u64 (log->lamport_head));
    json_object_set_new (events, "seq", s_u64 (log->seq));
    json_object_set_new (events, "snapshots_written", s_u64 (log->snapshots_written));
    json_object_set_new (events, "view_errors", s_u64 (log->view_errors));
    json_object_set_new (events, "dropped_on_open", s_u64 (log->dropped_on_open));
    json_object_set_new (events, "disk_full", s_u64 (log->disk_full));
    json_object_set_new (events, "disk_full_episodes", s_u64 (log->disk_full_episodes));
    json_object_set_new (events, "snapshots_skipped", s_u64 (log->snapshots_skipped));
    json_object_set_new (events, "disk_bytes", s_u64 (sample->disk_bytes));
    json_object_set_new (root, "events", events);

    /*  What the event log's open found (eventlog_open_with): "damaged"
        until the next start once acknowledged events were lost. */
    json_t *storage = json_object ();
    json_object_set_new (storage, "health", json_string (log->wal_damaged? "damaged": "ok"));
    json_object_set_new (storage, "wal_damaged", s_u64 (log->wal_damaged));
    json_object_set_new (storage, "wal_events_lost", s_u64 (log->wal_events_lost));
    json_object_set_new (storage, "wal_tail_dropped", s_u64 (log->wal_tail_dropped));
    json_object_set_new (root, "storage", storage);

    json_t *market = json_object ();
    uint64_t expired = sample->posts_total >= sample->posts_active?
                       sample->posts_total - sample->posts_active: 0;
    json_object_set_new (market, "posts_total", s_u64 (sample->posts_total));
    json_object_set_new (market, "posts_active", s_u64 (sample->posts_active));
    json_object_set_new (market, "posts_expired", s_u64 (expired));
    json_object_set_new (market, "sweeps", s_u64 (self->sweeps));
    json_object_set_new (market, "sweep_expired", s_u64 (self->sweep_expired));
    json_object_set_new (market, "sweep_errors", s_u64 (self->sweep_errors));
    json_object_set_new (root, "market", market);

    json_t *requests = json_object ();
    for (size_t c = 0; c < S_CAPS; c++) {
        const s_cap_stats_t *cap = &self->caps [c];
        if (cap->count == 0)
            continue;
        json_t *entry = json_object ();
        json_object_set_new (entry, "total", s_u64 (cap->count));
        json_object_set_new (entry, "ok", s_u64 (cap->results [0]));
        json_t *errors = json_object ();
        for (size_t r = 1; r < S_RESULTS; r++)
            if (cap->results [r])
                json_object_set_new (errors, s_results [r], s_u64 (cap->results [r]));
        json_object_set_new (entry, "errors", errors);
        json_t *latency = json_object ();
        json_object_set_new (latency, "count", s_u64 (cap->count));
        json_object_set_new (latency, "sum", json_real (cap->sum));
        json_object_set_new (latency, "mean", json_real (cap->sum / (double) cap->count));
        json_object_set_new (latency, "max", json_real (cap->max));
        json_object_set_new (entry, "latency_seconds", latency);
        json_object_set_new (requests, s_capabilities [c], entry);
    }
    json_object_set_new (root, "requests", requests);

    const node_stats_mesh_t *mesh = sample->mesh;
    if (mesh) {
        json_t *object = json_object ();
        json_object_set_new (object, "address", mesh->address? json_string (mesh->address): json_null ());
        json_object_set_new (object, "peers_connected", s_u64 (mesh->peers_connected));
        json_object_set_new (object, "events_pushed", s_u64 (mesh->events_pushed));
        json_object_set_new (object, "events_pulled", s_u64 (mesh->events_pulled));
        json_object_set_new (object, "events_received", s_u64 (mesh->events_received));
        json_object_set_new (object, "events_duplicate", s_u64 (mesh->events_duplicate));
        json_object_set_new (object, "announce_sent", s_u64 (mesh->announce_sent));
        json_object_set_new (object, "announce_received", s_u64 (mesh->announce_received));
        json_object_set_new (object, "announce_requested", s_u64 (mesh->announce_requested));
        json_object_set_new (object, "announce_retried", s_u64 (mesh->announce_retried));
        json_object_set_new (object, "announce_dropped", s_u64 (mesh->announce_dropped));
        json_object_set_new (object, "reconcile_rounds", s_u64 (mesh->reconcile_rounds));
        json_object_set_new (object, "reconcile_rateless", s_u64 (mesh->reconcile_rateless));
        json_object_set_new (object, "reconcile_round_trips", s_u64 (mesh->reconcile_round_trips));
        json_object_set_new (object, "reconcile_fallbacks", s_u64 (mesh->reconcile_fallbacks));
        json_object_set_new (object, "reconcile_switches", s_u64 (mesh->reconcile_switches));
        json_object_set_new (object, "reconcile_bytes", s_u64 (mesh->reconcile_bytes));
        json_object_set_new (object, "reconcile_bytes_rateless", s_u64 (mesh->reconcile_bytes_rateless));
        json_object_set_new (object, "bytes_in", s_u64 (mesh->bytes_in));
        json_object_set_new (object, "bytes_out", s_u64 (mesh->bytes_out));
        json_object_set_new (object, "zap_denied", s_u64 (mesh->zap_denied));
        json_object_set_new (object, "handshake_junk", s_u64 (mesh->handshake_junk));
        json_object_set_new (object, "handshake_mechanism", s_u64 (mesh->handshake_mechanism));
        json_object_set_new (object, "handshake_crypto", s_u64 (mesh->handshake_crypto));
        json_object_set_new (object, "nonmember_links", s_u64 (mesh->nonmember_links));
        json_object_set_new (object, "nonmember_addresses", s_u64 (mesh->nonmember_addresses));
        json_object_set_new (object, "frames_dropped", s_u64 (mesh->frames_dropped));
        json_object_set_new (object, "store_rebuilds", s_u64 (mesh->store_rebuilds));
        json_object_set_new (object, "budget_bytes_charged", s_u64 (mesh->budget_bytes_charged));
        json_object_set_new (object, "budget_bytes_owed", s_u64 (mesh->budget_bytes_owed));
        json_object_set_new (object, "budget_deferred_debt", s_u64 (mesh->budget_deferred_debt));
        json_object_set_new (object, "budget_deferred_open", s_u64 (mesh->budget_deferred_open));
        json_object_set_new (object, "budget_deferred_round", s_u64 (mesh->budget_deferred_round));
        json_object_set_new (object, "budget_refused_superseded", s_u64 (mesh->budget_refused_superseded));
        json_object_set_new (object, "budget_refused_fetch", s_u64 (mesh->budget_refused_fetch));
        if (mesh->last_sync_ms) {
            char when [HEARTH_TIME_SIZE];
            hearth_time_format_ms (mesh->last_sync_ms, when);
            json_object_set_new (object, "last_sync", json_string (when));
            double age = mesh->now_ms > mesh->last_sync_ms?
                         (double) (mesh->now_ms - mesh->last_sync_ms) / 1000.0: 0.0;
            json_object_set_new (object, "seconds_since_last_sync", json_real (age));
        }
        else {
            json_object_set_new (object, "last_sync", json_null ());
            json_object_set_new (object, "seconds_since_last_sync", json_null ());
        }
        json_object_set_new (object, "peers", mesh->peers? json_deep_copy (mesh->peers): json_array ());
        json_object_set_new (object, "queries", s_queries_json (mesh));
        json_object_set_new (root, "mesh", object);
    }
    return root;
}

/* ---- Prometheus ------------------------------------------------------- */

static void
s_family (FILE *out, const char *name, const char *type, const char *help)
{
    fprintf (out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/*  A family of one unlabelled series: HELP, TYPE and its value. */
static void
s_metric (FILE *out, const char *name, const char *type, const char *help, uint64_t value)
{
    s_family (out, name, type, help);
    fprintf (out, "%s %" PRIu64 "\n", name, value);
}

/*  Label value with '\', '"' and newlines escaped (exposition format). */
static void
s_label (FILE *out, const char *text)
{
    for (const char *p = text? text: ""; *p; p++) {
        if (*p == '\\' || *p == '"')
            fputc ('\\', out);
        if (*p == '\n')
            fputs ("\\n", out);
        else
            fputc (*p, out);
    }
}

/*  1 if an earlier entry of peers has the same short_id and direction as
    entry `index` (two links of one kind to one key): its series would
    repeat, which the exposition format forbids, so only the first counts. */
static int
s_peer_repeated (const json_t *peers, size_t index)
{
    json_t *entry = json_array_get (peers, index);
    const char *id = json_string_value (json_object_get (entry, "short_id"));
    const char *direction = json_string_value (json_object_get (entry, "direction"));
    for (size_t i = 0; i < index; i++) {
        json_t *other = json_array_get (peers, i);
        const char *other_id = json_string_value (json_object_get (other, "short_id"));
        const char *other_direction = json_string_value (json_object_get (other, "direction"));
        if (strcmp (id? id: "", other_id? other_id: "") == 0
        &&  strcmp (direction? direction: "", other_direction? other_direction: "") == 0)
            return 1;
    }
    return 0;
}

/*  Start a per-peer series: name{peer="…",link="…  (the caller ends the
    label set and writes the value). */
static void
s_peer_series (FILE *out, const char *name, const json_t *peer)
{
    fprintf (out, "%s{peer=\"", name);
    s_label (out, json_string_value (json_object_get (peer, "short_id")));
    fputs ("\",link=\"", out);
    s_label (out, json_string_value (json_object_get (peer, "direction")));
}

/*  One series of a per-capability family: metric{capability="cap",key="value"} v. */
static void
s_query_series (FILE *out, const char *metric, const char *cap, const char *key,
                const char *value, uint64_t v)
{
    fprintf (out, "%s{capability=\"", metric);
    s_label (out, cap);
    fprintf (out, "\",%s=\"%s\"} %" PRIu64 "\n", key, value, v);
}

/*  The admission figures of peers' calls, by capability (a fixed set: the
    served capabilities and "other", so the label set stays bounded). */
static void
s_prometheus_queries (FILE *out, const node_stats_mesh_t *mesh)
{
    s_family (out, "hearth_mesh_queries_total", "counter",
              "Calls from peers by capability and outcome: ok, error (answered with an error), "
              "timeout (its budget ran out before it could start), rate_limited, "
              "capacity_exceeded, dropped (over a hard rate, not answered).");
    for (size_t i = 0; i < mesh->n_queries; i++) {
        const gossip_admit_cap_t *c = &mesh->queries [i];
        const struct { const char *result; uint64_t value; } rows [] = {
            { "ok", c->ok }, { "error", c->errors }, { "timeout", c->timeouts },
            { "rate_limited", c->rate_limited },
            { "capacity_exceeded", c->capacity_concurrent + c->capacity_peer },
            { "dropped", c->dropped_capability + c->dropped_total }
        };
        for (size_t r = 0; r < sizeof rows / sizeof rows [0]; r++)
            s_query_series (out, "hearth_mesh_queries_total", c->name, "result", rows [r].result,
                            rows [r].value);
    }
    s_family (out, "hearth_mesh_queries_dropped_total", "counter",
              "Calls from peers dropped unanswered, by capability and hard limit: hard_capability "
              "(per peer and capability) or hard_total (per peer).");
    for (size_t i = 0; i < mesh->n_queries; i++) {
        const gossip_admit_cap_t *c = &mesh->queries [i];
        s_query_series (out, "hearth_mesh_queries_dropped_total", c->name, "reason",
                        "hard_capability", c->dropped_capability);
        s_query_series (out, "hearth_mesh_queries_dropped_total", c->name, "reason",
                        "hard_total", c->dropped_total);
    }
    s_family (out, "hearth_mesh_queries_capacity_exceeded_total", "counter",
              "Calls from peers answered capacity_exceeded, by capability and limit: max_concurrent "
              "(of the capability) or peer_pending (calls of that peer in flight).");
    for (size_t i = 0; i < mesh->n_queries; i++) {
        const gossip_admit_cap_t *c = &mesh->queries [i];
        s_query_series (out, "hearth_mesh_queries_capacity_exceeded_total", c->name, "reason",
                        "max_concurrent", c->capacity_concurrent);
        s_query_series (out, "hearth_mesh_queries_capacity_exceeded_total", c->name, "reason",
                        "peer_pending", c->capacity_peer);
    }
    const struct { const char *name, *help; } gauges [] = {
        { "hearth_mesh_queries_in_flight", "Calls from peers read and not yet answered, by capability." },
        { "hearth_mesh_queries_in_flight_peak", "Highest number of calls from peers in flight since start, by capability." },
        { "hearth_mesh_queries_max_concurrent", "Calls from peers allowed in flight, by capability (CONTRACT max_concurrent)." }
    };
    for (size_t g = 0; g < sizeof gauges / sizeof gauges [0]; g++) {
        s_family (out, gauges [g].name, "gauge", gauges [g].help);
        for (size_t i = 0; i < mesh->n_queries; i++) {
            const gossip_admit_cap_t *c = &mesh->queries [i];
            fprintf (out, "%s{capability=\"", gauges [g].name);
            s_label (out, c->name);
            fprintf (out, "\"} %" PRIu64 "\n", g == 0? c->in_flight: g == 1? c->in_flight_peak
                                                                   : (uint64_t) c->max_concurrent);
        }
    }
}

static void
s_prometheus_mesh (FILE *out, const node_stats_mesh_t *mesh)
{
    s_metric (out, "hearth_mesh_peers_connected", "gauge",
              "Peer links currently connected.", mesh->peers_connected);
    s_metric (out, "hearth_mesh_events_pushed_total", "counter",
              "Events sent to peers in full unasked (eager push, reconciliation) since start.",
              mesh->events_pushed);
    s_metric (out, "hearth_mesh_events_pulled_total", "counter",
              "Events received after a fetch (anti-entropy) since start.", mesh->events_pulled);
    s_metric (out, "hearth_mesh_events_received_total", "counter",
              "Events received over peer links (push and fetch) since start.",
              mesh->events_received);
    s_metric (out, "hearth_mesh_events_duplicate_total", "counter",
              "Events received over peer links that were already stored, since start.",
              mesh->events_duplicate);
    s_family (out, "hearth_mesh_announced_hashes_total", "counter",
              "Event hashes announced (lazy push), by direction: out = to peers, in = from peers.");
    fprintf (out, "hearth_mesh_announced_hashes_total{direction=\"in\"} %" PRIu64 "\n", mesh->announce_received);
    fprintf (out, "hearth_mesh_announced_hashes_total{direction=\"out\"} %" PRIu64 "\n", mesh->announce_sent);
    s_metric (out, "hearth_mesh_announce_requested_total", "counter",
              "Announced event hashes this node lacked and fetched (retries included), since start.",
              mesh->announce_requested);
    s_metric (out, "hearth_mesh_announce_retried_total", "counter",
              "Announced event hashes asked again from another announcer (no answer, or answered "
              "without the event), since start.", mesh->announce_retried);
    s_metric (out, "hearth_mesh_announce_dropped_total", "counter",
              "Announced event hashes ignored because a limit was reached, since start.",
              mesh->announce_dropped);
    s_metric (out, "hearth_mesh_reconcile_rounds_total", "counter",
              "Reconciliation sessions this node initiated and completed since start.",
              mesh->reconcile_rounds);
    s_metric (out, "hearth_mesh_reconcile_rateless_total", "counter",
              "Of those, sessions in the rateless IBLT mode.", mesh->reconcile_rateless);
    s_metric (out, "hearth_mesh_reconcile_round_trips_total", "counter",
              "Answers received to this node's reconciliation messages since start.",
              mesh->reconcile_round_trips);
    s_metric (out, "hearth_mesh_reconcile_fallbacks_total", "counter",
              "Rateless sessions replaced by Negentropy v1 (peer declined, difference too large).",
              mesh->reconcile_fallbacks);
    s_metric (out, "hearth_mesh_reconcile_switches_total", "counter",
              "Negentropy v1 sessions after a (re)connect replaced by rateless ones (scattered differences).",
              mesh->reconcile_switches);
    s_metric (out, "hearth_mesh_reconcile_bytes_total", "counter",
              "Reconciliation message bytes sent and received since start, both modes.",
              mesh->reconcile_bytes);
    s_metric (out, "hearth_mesh_reconcile_rateless_bytes_total", "counter",
              "Of those, bytes of rateless IBLT mode messages.", mesh->reconcile_bytes_rateless);
    s_family (out, "hearth_mesh_bytes_total", "counter", "Bytes on all peer links, by direction.");
    fprintf (out, "hearth_mesh_bytes_total{direction=\"in\"} %" PRIu64 "\n", mesh->bytes_in);
    fprintf (out, "hearth_mesh_bytes_total{direction=\"out\"} %" PRIu64 "\n", mesh->bytes_out);
    s_metric (out, "hearth_mesh_zap_denied_total", "counter",
              "Peer handshakes refused by the members-only ZAP handler since start.",
              mesh->zap_denied);
    s_family (out, "hearth_mesh_handshake_failed_total", "counter",
              "Connections to the peer socket that failed before ZAP, by reason: junk (no or "
              "malformed ZeroMQ handshake), mechanism (not CURVE), crypto (CURVE failed: wrong "
              "server key).");
    fprintf (out, "hearth_mesh_handshake_failed_total{reason=\"junk\"} %" PRIu64 "\n", mesh->handshake_junk);
    fprintf (out, "hearth_mesh_handshake_failed_total{reason=\"mechanism\"} %" PRIu64 "\n",
             mesh->handshake_mechanism);
    fprintf (out, "hearth_mesh_handshake_failed_total{reason=\"crypto\"} %" PRIu64 "\n", mesh->handshake_crypto);
    s_metric (out, "hearth_mesh_nonmember_links_total", "counter",
              "Links to or from a key that is not (or no longer) a member closed, or out links "
              "not dialled for that reason, since start.", mesh->nonmember_links);
    s_metric (out, "hearth_mesh_nonmember_addresses_total", "counter",
              "Peer addresses from hellos or LAN beacons dropped because their key is not a "
              "member, since start.", mesh->nonmember_addresses);
    s_metric (out, "hearth_mesh_frames_dropped_total", "counter",
              "Malformed or oversized frames from peers dropped since start.",
              mesh->frames_dropped);
    s_metric (out, "hearth_mesh_store_rebuilds_total", "counter",
              "Reconciliation store rebuilt from the log after a page read disagreed with it "
              "(or an insert failed), since start; nonzero points to disk trouble.",
              mesh->store_rebuilds);
    s_family (out, "hearth_mesh_sync_reply_bytes_total", "counter",
              "Bytes of replies to peers' sync requests (reconciliation, fetch), by what paid for "
              "them: the peer's credit or events it was owed (docs/sync.md, the budget).");
    fprintf (out, "hearth_mesh_sync_reply_bytes_total{paid=\"credit\"} %" PRIu64 "\n", mesh->budget_bytes_charged);
    fprintf (out, "hearth_mesh_sync_reply_bytes_total{paid=\"owed\"} %" PRIu64 "\n", mesh->budget_bytes_owed);
    s_family (out, "hearth_mesh_sync_deferred_total", "counter",
              "Peers' sync requests held until their budget allowed them, by reason.");
    fprintf (out, "hearth_mesh_sync_deferred_total{reason=\"debt\"} %" PRIu64 "\n", mesh->budget_deferred_debt);
    fprintf (out, "hearth_mesh_sync_deferred_total{reason=\"open_rate\"} %" PRIu64 "\n", mesh->budget_deferred_open);
    fprintf (out, "hearth_mesh_sync_deferred_total{reason=\"round_rate\"} %" PRIu64 "\n", mesh->budget_deferred_round);
    s_family (out, "hearth_mesh_sync_refused_total", "counter",
              "Peers' sync requests refused over their budget, by reason.");
    fprintf (out, "hearth_mesh_sync_refused_total{reason=\"superseded\"} %" PRIu64 "\n", mesh->budget_refused_superseded);
    fprintf (out, "hearth_mesh_sync_refused_total{reason=\"held_full\"} %" PRIu64 "\n", mesh->budget_refused_fetch);
    s_family (out, "hearth_mesh_last_sync_timestamp_seconds", "gauge",
              "Unix time of the last completed reconciliation (0 = never).");
    fprintf (out, "hearth_mesh_last_sync_timestamp_seconds %.3f\n", (double) mesh->last_sync_ms / 1000.0);
    s_family (out, "hearth_mesh_seconds_since_last_sync", "gauge",
              "Seconds since the last completed reconciliation (absent until the first).");
    if (mesh->last_sync_ms)
        fprintf (out, "hearth_mesh_seconds_since_last_sync %.3f\n",
                 mesh->now_ms > mesh->last_sync_ms?
                 (double) (mesh->now_ms - mesh->last_sync_ms) / 1000.0: 0.0);
    /*  Per peer link; at most GOSSIP_MAX_PEERS outgoing plus the incoming
        links of members, so the label set stays bounded by the community. */
    s_family (out, "hearth_mesh_peer_connected", "gauge",
              "1 if the link to this peer is connected, by peer (short NodeID) and link direction.");
    size_t i;
    json_t *peer;
    json_array_foreach ((json_t *) mesh->peers, i, peer) {
        if (s_peer_repeated (mesh->peers, i))
            continue;
        s_peer_series (out, "hearth_mesh_peer_connected", peer);
        fprintf (out, "\"} %d\n", json_is_true (json_object_get (peer, "connected"))? 1: 0);
    }
    s_family (out, "hearth_mesh_peer_bytes_total", "counter",
              "Bytes on one peer link, by peer (short NodeID), link direction and byte direction.");
    json_array_foreach ((json_t *) mesh->peers, i, peer) {
        if (s_peer_repeated (mesh->peers, i))
            continue;
        for (int in = 1; in >= 0; in--) {
            s_peer_series (out, "hearth_mesh_peer_bytes_total", peer);
            fprintf (out, "\",direction=\"%s\"} %lld\n", in? "in": "out",
                     (long long) json_integer_value (json_object_get (peer, in? "bytes_in": "bytes_out")));
        }
    }
    s_prometheus_queries (out, mesh);
}

char *
node_stats_prometheus (const node_stats_t *self, const node_stats_sample_t *sample)
{
    static const eventlog_stats_t s_zero;
    const eventlog_stats_t *log = sample->log? sample->log: &s_zero;
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    if (!out)
        return NULL;

    s_family (out, "hearth_build_info", "gauge", "Hearth version of this node (always 1).");
    fprintf (out, "hearth_build_info{version=\"%s\"} 1\n", HEARTH_VERSION);
    s_family (out, "hearth_uptime_seconds", "gauge", "Seconds since hearthd started.");
    fprintf (out, "hearth_uptime_seconds %.3f\n", (double) sample->uptime_ms / 1000.0);

    s_metric (out, "hearth_eventlog_events", "gauge",
              "Events stored in the event log.", log->events_total);
    s_family (out, "hearth_eventlog_events_by_type", "gauge", "Events stored, by event type.");
    for (int t = 1; t < EVENT_TYPE_COUNT; t++) {
        const char *name = event_type_name (t);
        if (name)
            fprintf (out, "hearth_eventlog_events_by_type{type=\"%s\"} %" PRIu64 "\n",
                     name, log->events_by_type [t]);
    }
    s_metric (out, "hearth_eventlog_appended_local_total", "counter",
              "Events this node appended itself since start.", log->appended_local);
    s_metric (out, "hearth_eventlog_received_accepted_total", "counter",
              "Received events accepted by the receive pipeline since start.",
              log->received_accepted);
    s_family (out, "hearth_eventlog_rejected_total", "counter",
              "Received events dropped by the receive pipeline, by reason.");
    for (int r = 1; r < EVENT_REJECT_COUNT; r++)
        fprintf (out, "hearth_eventlog_rejected_total{reason=\"%s\"} %" PRIu64 "\n",
                 event_reject_name ((event_reject_t) r), log->rejected [r]);
    s_metric (out, "hearth_eventlog_lamport_head", "gauge",
              "Highest Lamport value stored.", log->lamport_head);
    s_metric (out, "hearth_eventlog_arrival_seq", "gauge",
              "Local arrival sequence of the last stored event.", log->seq);
    s_metric (out, "hearth_eventlog_snapshots_written_total", "counter",
              "View snapshots written since start.", log->snapshots_written);
    s_metric (out, "hearth_eventlog_view_errors_total", "counter",
              "Errors returned by views while folding events since start.", log->view_errors);
    s_metric (out, "hearth_eventlog_dropped_on_open", "gauge",
              "Stored events at Lamport 0 dropped when the log opened (refused by every node now).",
              log->dropped_on_open);
    s_metric (out, "hearth_eventlog_disk_full", "gauge",
              "1 while the disk of the event log is full (writes refused), else 0.",
              log->disk_full);
    s_metric (out, "hearth_eventlog_disk_full_episodes_total", "counter",
              "Times the disk of the event log became full since start.", log->disk_full_episodes);
    s_metric (out, "hearth_eventlog_snapshots_skipped_total", "counter",
              "View snapshots skipped because the disk was full, since start (each retried "
              "later).", log->snapshots_skipped);
    s_metric (out, "hearth_eventlog_disk_bytes", "gauge",
              "Approximate bytes on disk of the event log (RocksDB SST and WAL).",
              sample->disk_bytes);
    s_metric (out, "hearth_storage_wal_damaged", "gauge",
              "1 if this start recovered past a damaged write-ahead log that lost acknowledged "
              "events (hearthd --recover-wal), else 0.", log->wal_damaged);
    s_metric (out, "hearth_storage_wal_events_lost", "gauge",
              "Acknowledged arrivals the write-ahead log lost at this start.", log->wal_events_lost);
    s_metric (out, "hearth_storage_wal_tail_dropped", "gauge",
              "1 if this start dropped a torn write-ahead log tail holding only unsynced "
              "(received) events, else 0.", log->wal_tail_dropped);

    uint64_t expired = sample->posts_total >= sample->posts_active?
                       sample->posts_total - sample->posts_active: 0;
    s_family (out, "hearth_market_posts", "gauge", "Marketplace posts in the view, by state.");
    fprintf (out, "hearth_market_posts{state=\"active\"} %" PRIu64 "\n", sample->posts_active);
    fprintf (out, "hearth_market_posts{state=\"expired\"} %" PRIu64 "\n", expired);
    s_metric (out, "hearth_market_sweeps_total", "counter",
              "Sweeper passes since start.", self->sweeps);
    s_metric (out, "hearth_market_sweep_expired_total", "counter",
              "Stale expiries appended by the sweeper since start.", self->sweep_expired);
    s_metric (out, "hearth_market_sweep_errors_total", "counter",
              "Sweeper passes that failed.", self->sweep_errors);

    s_family (out, "hearth_requests_total", "counter",
              "Control-socket requests served, by capability and result (ok or CONTRACT error code).");
    for (size_t c = 0; c < S_CAPS; c++) {
        const s_cap_stats_t *cap = &self->caps [c];
        for (size_t r = 0; r < S_RESULTS; r++)
            if (r == 0 || cap->results [r])
                fprintf (out, "hearth_requests_total{capability=\"%s\",result=\"%s\"} %" PRIu64 "\n",
                         s_capabilities [c], s_results [r], cap->results [r]);
    }
    s_family (out, "hearth_request_duration_seconds", "histogram",
              "Control-socket request handling time in seconds, by capability.");
    for (size_t c = 0; c < S_CAPS; c++) {
        const s_cap_stats_t *cap = &self->caps [c];
        uint64_t cumulative = 0;
        for (size_t b = 0; b < NODE_STATS_LATENCY_BUCKETS; b++) {
            cumulative += cap->buckets [b];
            fprintf (out, "hearth_request_duration_seconds_bucket{capability=\"%s\",le=\"%g\"} %"
                     PRIu64 "\n", s_capabilities [c], s_bounds [b], cumulative);
        }
        fprintf (out, "hearth_request_duration_seconds_bucket{capability=\"%s\",le=\"+Inf\"} %"
                 PRIu64 "\n", s_capabilities [c], cap->count);
        fprintf (out, "hearth_request_duration_seconds_sum{capability=\"%s\"} %.9f\n",
                 s_capabilities [c], cap->sum);
        fprintf (out, "hearth_request_duration_seconds_count{capability=\"%s\"} %" PRIu64 "\n",
                 s_capabilities [c], cap->count);
    }
    if (sample->mesh)
        s_prometheus_mesh (out, sample->mesh);
    if (fclose (out) != 0) {
        free (text);
        return NULL;
    }
    return text;
}
