/*  node_stats.h — hearthd's request counters and latency histograms, and the
    stats rendering: one JSON object, and the same figures in Prometheus text
    exposition format 0.0.4 (hearth_* names; valid for `promtool check
    metrics`: HELP and TYPE for every family, counters end in _total, units
    in names). docs/operations.md lists every metric.

    The module keeps only what the node itself counts (requests, sweeps);
    event-log and market figures come in a sample the caller fills at render
    time, so rendering is pure and unit-testable.
*/
#ifndef HEARTH_NODE_STATS_H
#define HEARTH_NODE_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "eventlog.h"
#include "gossip_admit.h"
#include "gossip_stats.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  Request latency histogram bucket upper bounds, in seconds (12 finite
    buckets from 0.5 ms to 2.5 s plus +Inf): local calls take well under a
    millisecond to tens of milliseconds (a synced RocksDB write). */
#define NODE_STATS_LATENCY_BUCKETS 12

/*  Capability label for requests that never got as far as a capability
    (frame too big, not JSON, wrong shape) and for names hearthd does not
    serve. A fixed label set keeps the metric's cardinality bounded whatever
    clients send. */
#define NODE_STATS_CAP_INVALID  "invalid"
#define NODE_STATS_CAP_UNKNOWN  "unknown"

typedef struct _node_stats_t node_stats_t;

/*  Why the HTTP listener (node_http.h) refused a request: the labels of
    hearth_http_refused_total (docs/http.md, "Limits"). */
typedef enum {
    NODE_STATS_HTTP_RATE = 0,           /* "rate_limited": 429, over the per-address rate */
    NODE_STATS_HTTP_HOST,               /* "host": Host is not this listener (DNS rebinding) */
    NODE_STATS_HTTP_CROSS_SITE,         /* "cross_site": Origin / Sec-Fetch-Site of another site */
    NODE_STATS_HTTP_CSRF,               /* "csrf": a page form without the right csrf field */
    NODE_STATS_HTTP_UNAUTHORIZED,       /* "unauthorized": a write without loopback or token */
    NODE_STATS_HTTP_TOO_BIG,            /* "too_big": 413, body over the limit */
    NODE_STATS_HTTP_CONTENT_TYPE,       /* "content_type": 415 */
    NODE_STATS_HTTP_METHOD,             /* "method": 405 */
    NODE_STATS_HTTP_BAD_REQUEST,        /* "bad_request": body or query that does not parse */
    NODE_STATS_HTTP_CONNECTIONS,        /* "connections": over the total or per-address cap */
    NODE_STATS_HTTP_BUSY,               /* "busy": 503, too many requests already waiting */
    NODE_STATS_HTTP_REASONS
} node_stats_http_reason_t;

/*  Mesh figures (gossip_stats of gossip.h, copied by the caller), so the
    renderers stay pure. The counters render as the rows of gossip_stats.h
    say. */
typedef struct {
    const char *address;                /* this node's peer address, may be NULL */
    gossip_stats_t counters;            /* a copy of gossip_stats () */
    uint64_t    now_ms;                 /* wall ms of the sample */
    const json_t *peers;                /* may be NULL: the "peers" array of gossip_peers_json */
    const gossip_admit_cap_t *queries;  /* borrowed, n_queries: calls from peers, per capability */
    size_t      n_queries;              /* (gossip_query_stats) */
} node_stats_mesh_t;

/*  The process's own figures, read from /proc by node_stats_process_read
    (the shell); rendered under the standard Prometheus client names
    (process_*), so dashboards made for any exporter work. */
typedef struct {
    uint64_t resident_bytes;        /* resident set size */
    uint64_t virtual_bytes;         /* virtual memory size */
    double   cpu_seconds;           /* user + system CPU time */
    uint64_t open_fds;              /* entries of /proc/self/fd */
    uint64_t max_fds;               /* RLIMIT_NOFILE, soft */
    double   start_time_seconds;    /* Unix time the process started */
} node_stats_process_t;

/*  Fill out from /proc/self (Linux); now_ms (wall) and uptime_ms date the
    start when /proc/stat has no boot time. 0, or HEARTH_EIO when a file
    could not be read (what was read is kept, the rest zero). */
int node_stats_process_read (node_stats_process_t *out, uint64_t now_ms, uint64_t uptime_ms);

/*  Event-log and market figures read at render time. All borrowed. */
typedef struct {
    const char             *node_id;       /* full NodeID, may be NULL */
    const char             *community_id;  /* may be NULL */
    const eventlog_stats_t *log;           /* may be NULL: reported as zeros */
    uint64_t                disk_bytes;
    uint64_t                posts_total;
    uint64_t                posts_active;
    uint64_t                uptime_ms;
    const node_stats_mesh_t *mesh;         /* NULL: no mesh (not rendered) */
    const json_t           *search;        /* NULL: not rendered; market_search_stats () */
    const node_stats_process_t *process;   /* NULL: not rendered */
} node_stats_sample_t;

/*  New, all counters zero. NULL on OOM. */
node_stats_t *node_stats_new (void);
/*  Free; safe on NULL; nulls *self_p. */
void node_stats_destroy (node_stats_t **self_p);

/*  Count one request: capability (any text: unknown names are counted as
    NODE_STATS_CAP_UNKNOWN), result 0 or a negative hearth_err_t, duration
    in seconds. */
void node_stats_request_record (node_stats_t *self, const char *capability, int result,
                                double seconds);

/*  Count one sweeper pass: appended >= 0 expiries, or a negative error. */
void node_stats_sweep_record (node_stats_t *self, int appended);

/*  The HTTP listener is on: its counters are rendered from now on (a
    node without it shows none). */
void node_stats_http_enable (node_stats_t *self);

/*  Count one HTTP response by its status (class 1xx..5xx). */
void node_stats_http_response (node_stats_t *self, int status);

/*  Count one refused HTTP request or connection. */
void node_stats_http_refused (node_stats_t *self, node_stats_http_reason_t reason);

/*  An HTTP request starts waiting for a deferred answer (its connection is
    suspended), or stops waiting (answered, or given up at shutdown). */
void node_stats_http_wait_begin (node_stats_t *self);
void node_stats_http_wait_end (node_stats_t *self);

/*  Count one waiting HTTP request whose client was gone before the answer
    could be sent. */
void node_stats_http_abandoned (node_stats_t *self);

/*  1 if capability is one of the names counted under its own label. */
int  node_stats_capability_known (const char *capability);

/*  The stats JSON object (new, caller owns; NULL on OOM). */
json_t *node_stats_json (const node_stats_t *self, const node_stats_sample_t *sample);

/*  The Prometheus text (malloc'd, caller frees; NULL on OOM). */
char *node_stats_prometheus (const node_stats_t *self, const node_stats_sample_t *sample);

#ifdef __cplusplus
}
#endif
#endif
