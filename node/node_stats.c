/*  node_stats.c — request/sweep counters and the JSON + Prometheus renderers.

    Counters are plain integers: hearthd serves requests on one thread, so
    nothing here is shared between threads.
*/
#include <dirent.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
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
    "market.list", "market.get", "market.post", "market.expire", "market.search", "market.update",
    "node.id", "node.stats", "events.list", "node.verify_views", "node.view_digest",
    "node.peers", "community.invite",
    NODE_STATS_CAP_UNKNOWN, NODE_STATS_CAP_INVALID
};
#define S_CAPS (sizeof s_capabilities / sizeof s_capabilities [0])

/*  Labels of the result dimension: "ok", then the 13 wire error codes (docs/protocol.md). */
static const char *s_results [] = {
    "ok", "bad_request", "schema_mismatch", "invalid_signature", "unauthorized", "revoked",
    "expired", "not_found", "not_implemented", "timeout", "partition", "capacity_exceeded",
    "rate_limited", "internal_error"
};
#define S_RESULTS (sizeof s_results / sizeof s_results [0])

static const double s_bounds [NODE_STATS_LATENCY_BUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5
};

/*  The mesh counters (gossip_stats.h), as the renderers read them. */
typedef struct {
    const char *field;          /* the JSON key */
    size_t      offset;         /* in gossip_stats_t */
    const char *type, *family, *label, *help;
    int         nth;
} s_mesh_row_t;

#define S_MESH_ROW(field, type, family, label, nth, group, words, help) \
    { #field, offsetof (gossip_stats_t, field), type, family, label, help, nth },
static const s_mesh_row_t s_mesh_rows [] = { GOSSIP_STATS_COUNTERS (S_MESH_ROW) };
#define S_MESH_ROWS (sizeof s_mesh_rows / sizeof s_mesh_rows [0])

static uint64_t
s_mesh_value (const node_stats_mesh_t *mesh, const s_mesh_row_t *row)
{
    uint64_t value;
    memcpy (&value, (const char *) &mesh->counters + row->offset, sizeof value);
    return value;
}

/*  The event log's figures, in the order of the JSON keys of "events" and
    of the Prometheus families. Most are one field of eventlog_stats_t;
    the others say how they render (kind). */
typedef enum {
    S_LOG_FIELD,                /* one uint64_t at offset */
    S_LOG_BY_TYPE,              /* events_by_type, labelled type="…" */
    S_LOG_REJECTED,             /* rejected, labelled reason="…" */
    S_LOG_DISK_BYTES            /* the sample's disk_bytes */
} s_log_kind_t;

typedef struct {
    s_log_kind_t kind;
    const char  *key;           /* in "events" (or "storage") */
    const char  *family, *type, *help;
    size_t       offset;        /* in eventlog_stats_t, for S_LOG_FIELD */
} s_log_row_t;

#define S_LOG(field) S_LOG_FIELD, #field
#define S_AT(field)  offsetof (eventlog_stats_t, field)
static const s_log_row_t s_log_rows [] = {
    { S_LOG_FIELD, "total", "hearth_eventlog_events", "gauge",
      "Events stored in the event log.", S_AT (events_total) },
    { S_LOG_BY_TYPE, "by_type", "hearth_eventlog_events_by_type", "gauge",
      "Events stored, by event type.", 0 },
    { S_LOG (appended_local), "hearth_eventlog_appended_local_total", "counter",
      "Events this node appended itself since start.", S_AT (appended_local) },
    { S_LOG (received_accepted), "hearth_eventlog_received_accepted_total", "counter",
      "Received events accepted by the receive pipeline since start.", S_AT (received_accepted) },
    { S_LOG_REJECTED, "rejected", "hearth_eventlog_rejected_total", "counter",
      "Received events dropped by the receive pipeline, by reason.", 0 },
    { S_LOG (lamport_head), "hearth_eventlog_lamport_head", "gauge",
      "Highest Lamport value stored.", S_AT (lamport_head) },
    { S_LOG (seq), "hearth_eventlog_arrival_seq", "gauge",
      "Local arrival sequence of the last stored event.", S_AT (seq) },
    { S_LOG (snapshots_written), "hearth_eventlog_snapshots_written_total", "counter",
      "View snapshots written since start.", S_AT (snapshots_written) },
    { S_LOG (view_errors), "hearth_eventlog_view_errors_total", "counter",
      "Errors returned by views while folding events since start.", S_AT (view_errors) },
    { S_LOG (dropped_on_open), "hearth_eventlog_dropped_on_open", "gauge",
      "Stored events at Lamport 0 dropped when the log opened (refused by every node now).",
      S_AT (dropped_on_open) },
    { S_LOG (disk_full), "hearth_eventlog_disk_full", "gauge",
      "1 while the disk of the event log is full (writes refused), else 0.", S_AT (disk_full) },
    { S_LOG (disk_full_episodes), "hearth_eventlog_disk_full_episodes_total", "counter",
      "Times the disk of the event log became full since start.", S_AT (disk_full_episodes) },
    { S_LOG (snapshots_skipped), "hearth_eventlog_snapshots_skipped_total", "counter",
      "View snapshots skipped because the disk was full, since start (each retried later).",
      S_AT (snapshots_skipped) },
    { S_LOG_DISK_BYTES, "disk_bytes", "hearth_eventlog_disk_bytes", "gauge",
      "Approximate bytes on disk of the event log (RocksDB SST and WAL).", 0 }
};

/*  What the event log's open found (eventlog_open_with), in "storage". */
static const s_log_row_t s_storage_rows [] = {
    { S_LOG (wal_damaged), "hearth_storage_wal_damaged", "gauge",
      "1 if this start recovered past a damaged write-ahead log that lost acknowledged "
      "events (hearthd --recover-wal), else 0.", S_AT (wal_damaged) },
    { S_LOG (wal_events_lost), "hearth_storage_wal_events_lost", "gauge",
      "Acknowledged arrivals the write-ahead log lost at this start.", S_AT (wal_events_lost) },
    { S_LOG (wal_tail_dropped), "hearth_storage_wal_tail_dropped", "gauge",
      "1 if this start dropped a torn write-ahead log tail holding only unsynced "
      "(received) events, else 0.", S_AT (wal_tail_dropped) }
};
#undef S_LOG
#undef S_AT

static uint64_t
s_log_value (const eventlog_stats_t *log, const s_log_row_t *row)
{
    uint64_t value;
    memcpy (&value, (const char *) log + row->offset, sizeof value);
    return value;
}

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
    int      http;                                  /* 1: the listener is on */
    uint64_t http_classes [5];                      /* 1xx..5xx responses */
    uint64_t http_refused [NODE_STATS_HTTP_REASONS];
    uint64_t http_waiting;                          /* suspended now */
    uint64_t http_deferred;                         /* suspended ever */
    uint64_t http_abandoned;                        /* client gone before the answer */
};

static const char *const s_http_reasons [NODE_STATS_HTTP_REASONS] = {
    "rate_limited", "host", "cross_site", "csrf", "unauthorized", "too_big",
    "content_type", "method", "bad_request", "connections", "busy"
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

void
node_stats_http_enable (node_stats_t *self)
{
    self->http = 1;
}

void
node_stats_http_response (node_stats_t *self, int status)
{
    if (status >= 100 && status < 600)
        self->http_classes [status / 100 - 1]++;
}

void
node_stats_http_refused (node_stats_t *self, node_stats_http_reason_t reason)
{
    if ((int) reason >= 0 && reason < NODE_STATS_HTTP_REASONS)
        self->http_refused [reason]++;
}

void
node_stats_http_wait_begin (node_stats_t *self)
{
    self->http_waiting++;
    self->http_deferred++;
}

void
node_stats_http_wait_end (node_stats_t *self)
{
    if (self->http_waiting)
        self->http_waiting--;
}

void
node_stats_http_abandoned (node_stats_t *self)
{
    self->http_abandoned++;
}

/* ---- the process (the one part that reads files) ------------------------ */

int
node_stats_process_read (node_stats_process_t *out, uint64_t now_ms, uint64_t uptime_ms)
{
    memset (out, 0, sizeof *out);
    int rc = HEARTH_OK;
    long page = sysconf (_SC_PAGESIZE), ticks = sysconf (_SC_CLK_TCK);
    if (page <= 0)
        page = 4096;
    if (ticks <= 0)
        ticks = 100;
    /*  /proc/self/stat: fields after the command (which may hold spaces
        and parentheses, so parse after the last ')'): 14 utime, 15 stime,
        22 starttime (ticks after boot), 23 vsize (bytes), 24 rss (pages). */
    char buffer [1024];
    FILE *file = fopen ("/proc/self/stat", "r");
    size_t n = file? fread (buffer, 1, sizeof buffer - 1, file): 0;
    if (file)
        fclose (file);
    buffer [n] = 0;
    char *rest = strrchr (buffer, ')');
    unsigned long long utime = 0, stime = 0, start_ticks = 0, vsize = 0;
    long long rss = 0;
    if (!rest || sscanf (rest + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d "
                         "%*d %*d %*d %llu %llu %lld", &utime, &stime, &start_ticks, &vsize, &rss) != 5)
        rc = HEARTH_EIO;
    else {
        out->cpu_seconds = (double) (utime + stime) / (double) ticks;
        out->virtual_bytes = vsize;
        out->resident_bytes = rss > 0? (uint64_t) rss * (uint64_t) page: 0;
    }
    /*  The start: boot time (/proc/stat btime) + starttime; else now - uptime. */
    unsigned long long btime = 0;
    file = fopen ("/proc/stat", "r");
    while (file && fgets (buffer, sizeof buffer, file))
        if (sscanf (buffer, "btime %llu", &btime) == 1)
            break;
    if (file)
        fclose (file);
    if (btime && start_ticks)
        out->start_time_seconds = (double) btime + (double) start_ticks / (double) ticks;
    else
        out->start_time_seconds = (double) (now_ms > uptime_ms? now_ms - uptime_ms: 0) / 1000.0;
    DIR *dir = opendir ("/proc/self/fd");
    if (dir) {
        struct dirent *entry;
        while ((entry = readdir (dir)))
            if (entry->d_name [0] != '.')
                out->open_fds++;
        closedir (dir);
        if (out->open_fds)
            out->open_fds--;            /* the one opendir holds */
    }
    else
        rc = HEARTH_EIO;
    struct rlimit limit;
    if (getrlimit (RLIMIT_NOFILE, &limit) == 0)
        out->max_fds = limit.rlim_cur == RLIM_INFINITY? 0: (uint64_t) limit.rlim_cur;
    return rc;
}

/*  "YYYY-MM-DDTHH:MM:SS[.mmm]Z" (hearth_time_format) as Unix seconds;
    -1 if text is not one. */
static double
s_rfc3339_seconds (const char *text)
{
    int year, month, day, hour, minute, second;
    if (!text || sscanf (text, "%4d-%2d-%2dT%2d:%2d:%2d", &year, &month, &day, &hour, &minute,
                         &second) != 6)
        return -1;
    struct tm tm = { .tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = day,
                     .tm_hour = hour, .tm_min = minute, .tm_sec = second };
    time_t t = timegm (&tm);
    return t < 0? -1: (double) t;
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

/*  One row of s_log_rows / s_storage_rows as JSON. */
static json_t *
s_log_json (const eventlog_stats_t *log, const node_stats_sample_t *sample, const s_log_row_t *row)
{
    if (row->kind == S_LOG_BY_TYPE) {
        json_t *by_type = json_object ();
        for (int t = 1; t < EVENT_TYPE_COUNT; t++) {
            const char *name = event_type_name (t);
            if (name)
                json_object_set_new (by_type, name, s_u64 (log->events_by_type [t]));
        }
        return by_type;
    }
    if (row->kind == S_LOG_REJECTED) {
        json_t *rejected = json_object ();
        for (int r = 1; r < EVENT_REJECT_COUNT; r++)
            json_object_set_new (rejected, event_reject_name ((event_reject_t) r), s_u64 (log->rejected [r]));
        return rejected;
    }
    if (row->kind == S_LOG_DISK_BYTES)
        return s_u64 (sample->disk_bytes);
    return s_u64 (s_log_value (log, row));
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
    if (sample->process) {
        const node_stats_process_t *p = sample->process;
        json_object_set_new (root, "process", json_pack ("{s:o, s:o, s:f, s:o, s:o, s:f}",
            "resident_bytes", s_u64 (p->resident_bytes), "virtual_bytes", s_u64 (p->virtual_bytes),
            "cpu_seconds", p->cpu_seconds, "open_fds", s_u64 (p->open_fds),
            "max_fds", s_u64 (p->max_fds), "start_time_seconds", p->start_time_seconds));
    }

    json_t *events = json_object ();
    for (size_t i = 0; i < sizeof s_log_rows / sizeof s_log_rows [0]; i++)
        json_object_set_new (events, s_log_rows [i].key, s_log_json (log, sample, &s_log_rows [i]));
    json_object_set_new (root, "events", events);

    /*  What the event log's open found (eventlog_open_with): "damaged"
        until the next start once acknowledged events were lost. */
    json_t *storage = json_object ();
    json_object_set_new (storage, "health", json_string (log->wal_damaged? "damaged": "ok"));
    for (size_t i = 0; i < sizeof s_storage_rows / sizeof s_storage_rows [0]; i++)
        json_object_set_new (storage, s_storage_rows [i].key, s_log_json (log, sample, &s_storage_rows [i]));
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
    if (sample->search)
        json_object_set_new (market, "search", json_deep_copy (sample->search));
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

    if (self->http) {
        json_t *http = json_object ();
        json_t *classes = json_object ();
        for (size_t i = 0; i < 5; i++) {
            char name [4] = { (char) ('1' + i), 'x', 'x', '\0' };
            json_object_set_new (classes, name, s_u64 (self->http_classes [i]));
        }
        json_object_set_new (http, "responses", classes);
        json_t *refused = json_object ();
        for (size_t i = 0; i < NODE_STATS_HTTP_REASONS; i++)
            json_object_set_new (refused, s_http_reasons [i], s_u64 (self->http_refused [i]));
        json_object_set_new (http, "refused", refused);
        json_object_set_new (http, "waiting", s_u64 (self->http_waiting));
        json_object_set_new (http, "deferred", s_u64 (self->http_deferred));
        json_object_set_new (http, "abandoned", s_u64 (self->http_abandoned));
        json_object_set_new (root, "http", http);
    }

    const node_stats_mesh_t *mesh = sample->mesh;
    if (mesh) {
        json_t *object = json_object ();
        json_object_set_new (object, "address", mesh->address? json_string (mesh->address): json_null ());
        for (size_t i = 0; i < S_MESH_ROWS; i++)
            json_object_set_new (object, s_mesh_rows [i].field, s_u64 (s_mesh_value (mesh, &s_mesh_rows [i])));
        uint64_t last_sync_ms = mesh->counters.last_sync_ms;
        if (last_sync_ms) {
            char when [HEARTH_TIME_SIZE];
            hearth_time_format_ms (last_sync_ms, when);
            json_object_set_new (object, "last_sync", json_string (when));
            double age = mesh->now_ms > last_sync_ms?
                         (double) (mesh->now_ms - last_sync_ms) / 1000.0: 0.0;
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
        { "hearth_mesh_queries_max_concurrent", "Calls from peers allowed in flight, by capability (max_concurrent, docs/protocol.md)." }
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

/*  The family of s_mesh_rows [index], unless an earlier row named it
    already: HELP and TYPE, then its series in their nth order. */
static void
s_prometheus_mesh_family (FILE *out, const node_stats_mesh_t *mesh, size_t index)
{
    const char *family = s_mesh_rows [index].family;
    for (size_t i = 0; i < index; i++)
        if (strcmp (s_mesh_rows [i].family, family) == 0)
            return;
    size_t written = 0;
    for (int nth = 0; written < S_MESH_ROWS; nth++) {
        size_t found = 0;
        for (size_t i = index; i < S_MESH_ROWS; i++) {
            const s_mesh_row_t *row = &s_mesh_rows [i];
            if (strcmp (row->family, family) != 0 || row->nth != nth)
                continue;
            if (nth == 0)
                s_family (out, family, row->type, row->help);
            if (row->label)
                fprintf (out, "%s{%s} %" PRIu64 "\n", family, row->label, s_mesh_value (mesh, row));
            else
                fprintf (out, "%s %" PRIu64 "\n", family, s_mesh_value (mesh, row));
            found++;
        }
        if (!found)
            break;
        written += found;
    }
}

static void
s_prometheus_mesh (FILE *out, const node_stats_mesh_t *mesh)
{
    for (size_t i = 0; i < S_MESH_ROWS; i++)
        s_prometheus_mesh_family (out, mesh, i);
    uint64_t last_sync_ms = mesh->counters.last_sync_ms;
    s_family (out, "hearth_mesh_last_sync_timestamp_seconds", "gauge",
              "Unix time of the last completed reconciliation (0 = never).");
    fprintf (out, "hearth_mesh_last_sync_timestamp_seconds %.3f\n", (double) last_sync_ms / 1000.0);
    s_family (out, "hearth_mesh_seconds_since_last_sync", "gauge",
              "Seconds since the last completed reconciliation (absent until the first).");
    if (last_sync_ms)
        fprintf (out, "hearth_mesh_seconds_since_last_sync %.3f\n",
                 mesh->now_ms > last_sync_ms? (double) (mesh->now_ms - last_sync_ms) / 1000.0: 0.0);
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
    s_family (out, "hearth_mesh_peer_lag_events", "gauge",
              "How far a peer is ahead (> 0: it has events this node lacks) or behind (< 0): its "
              "Lamport head from its last hello, ping or pong minus this node's; absent until known.");
    json_array_foreach ((json_t *) mesh->peers, i, peer) {
        json_t *lag = json_object_get (peer, "lag");
        if (s_peer_repeated (mesh->peers, i) || !json_is_integer (lag))
            continue;
        s_peer_series (out, "hearth_mesh_peer_lag_events", peer);
        fprintf (out, "\"} %lld\n", (long long) json_integer_value (lag));
    }
    s_family (out, "hearth_mesh_peer_last_seen_timestamp_seconds", "gauge",
              "Unix time of the last frame from a peer (absent: none yet).");
    json_array_foreach ((json_t *) mesh->peers, i, peer) {
        double seen = s_rfc3339_seconds (json_string_value (json_object_get (peer, "last_seen")));
        if (s_peer_repeated (mesh->peers, i) || seen < 0)
            continue;
        s_peer_series (out, "hearth_mesh_peer_last_seen_timestamp_seconds", peer);
        fprintf (out, "\"} %.0f\n", seen);
    }
    s_prometheus_queries (out, mesh);
}

/*  One row of s_log_rows / s_storage_rows as a Prometheus family. */
static void
s_prometheus_log (FILE *out, const eventlog_stats_t *log, const node_stats_sample_t *sample,
                  const s_log_row_t *row)
{
    if (row->kind == S_LOG_BY_TYPE) {
        s_family (out, row->family, row->type, row->help);
        for (int t = 1; t < EVENT_TYPE_COUNT; t++) {
            const char *name = event_type_name (t);
            if (name)
                fprintf (out, "%s{type=\"%s\"} %" PRIu64 "\n", row->family, name, log->events_by_type [t]);
        }
    }
    else
    if (row->kind == S_LOG_REJECTED) {
        s_family (out, row->family, row->type, row->help);
        for (int r = 1; r < EVENT_REJECT_COUNT; r++)
            fprintf (out, "%s{reason=\"%s\"} %" PRIu64 "\n", row->family,
                     event_reject_name ((event_reject_t) r), log->rejected [r]);
    }
    else
        s_metric (out, row->family, row->type, row->help,
                  row->kind == S_LOG_DISK_BYTES? sample->disk_bytes: s_log_value (log, row));
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
    if (sample->process) {
        const node_stats_process_t *p = sample->process;
        s_metric (out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
                  p->resident_bytes);
        s_metric (out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
                  p->virtual_bytes);
        s_family (out, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
        fprintf (out, "process_cpu_seconds_total %.2f\n", p->cpu_seconds);
        s_metric (out, "process_open_fds", "gauge", "Number of open file descriptors.", p->open_fds);
        s_metric (out, "process_max_fds", "gauge", "Maximum number of open file descriptors.", p->max_fds);
        s_family (out, "process_start_time_seconds", "gauge",
                  "Start time of the process since unix epoch in seconds.");
        fprintf (out, "process_start_time_seconds %.2f\n", p->start_time_seconds);
    }

    for (size_t i = 0; i < sizeof s_log_rows / sizeof s_log_rows [0]; i++)
        s_prometheus_log (out, log, sample, &s_log_rows [i]);
    for (size_t i = 0; i < sizeof s_storage_rows / sizeof s_storage_rows [0]; i++)
        s_prometheus_log (out, log, sample, &s_storage_rows [i]);

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
    if (sample->search) {
        s_metric (out, "hearth_market_search_lexicon_bytes", "gauge",
                  "Bytes of the search dictionaries in memory (0: not loaded).",
                  (uint64_t) json_integer_value (json_object_get (sample->search, "lexicon_bytes")));
        s_metric (out, "hearth_market_search_synonym_rules", "gauge",
                  "Rules of the community synonym file in use.",
                  (uint64_t) json_integer_value (json_object_get (sample->search, "synonym_rules")));
        s_metric (out, "hearth_market_search_index_bytes", "gauge",
                  "Bytes of the search index (0 before the first search).",
                  (uint64_t) json_integer_value (json_object_get (sample->search, "index_bytes")));
        s_metric (out, "hearth_market_view_bytes", "gauge",
                  "Approximate bytes of the market view in memory (posts, their text, the "
                  "id and order indexes; the search index not included).",
                  (uint64_t) json_integer_value (json_object_get (sample->search, "view_bytes")));
    }

    s_family (out, "hearth_requests_total", "counter",
              "Control-socket requests served, by capability and result (ok or a wire error code).");
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
    if (self->http) {
        s_family (out, "hearth_http_responses_total", "counter",
                  "HTTP responses of the node's listener, by status class.");
        for (size_t i = 0; i < 5; i++)
            fprintf (out, "hearth_http_responses_total{class=\"%zuxx\"} %" PRIu64 "\n",
                     i + 1, self->http_classes [i]);
        s_family (out, "hearth_http_refused_total", "counter",
                  "HTTP requests and connections the listener refused, by reason.");
        for (size_t i = 0; i < NODE_STATS_HTTP_REASONS; i++)
            fprintf (out, "hearth_http_refused_total{reason=\"%s\"} %" PRIu64 "\n",
                     s_http_reasons [i], self->http_refused [i]);
        s_family (out, "hearth_http_waiting", "gauge",
                  "HTTP requests waiting now for a deferred answer (a search's query embedding).");
        fprintf (out, "hearth_http_waiting %" PRIu64 "\n", self->http_waiting);
        s_family (out, "hearth_http_deferred_total", "counter",
                  "HTTP requests that waited for a deferred answer.");
        fprintf (out, "hearth_http_deferred_total %" PRIu64 "\n", self->http_deferred);
        s_family (out, "hearth_http_abandoned_total", "counter",
                  "Waiting HTTP requests whose client was gone before the answer.");
        fprintf (out, "hearth_http_abandoned_total %" PRIu64 "\n", self->http_abandoned);
    }
    if (sample->mesh)
        s_prometheus_mesh (out, sample->mesh);
    if (fclose (out) != 0) {
        free (text);
        return NULL;
    }
    return text;
}
