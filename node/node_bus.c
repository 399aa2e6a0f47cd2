/*  node_bus.c — dispatch of control-socket requests to the market service
    and the node's own capabilities, with per-request stats.
*/
#include <czmq.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hearth_codec.h"
#include "hearth_error.h"
#include "hearth_log.h"
#include "market_view.h"
#include "node_bus.h"
#include "node_control.h"

#define S_LOG "bus"

struct _node_bus_t {
    eventlog_t       *log;        /* borrowed */
    market_t         *market;     /* borrowed */
    const identity_t *identity;   /* borrowed */
    node_stats_t     *stats;      /* borrowed */
    uint64_t          started_mono_ms;
};

static char *
s_message (const char *fmt, ...)
{
    char *text = NULL;
    va_list args;
    va_start (args, fmt);
    if (vasprintf (&text, fmt, args) < 0)
        text = NULL;
    va_end (args);
    return text;
}

node_bus_t *
node_bus_new (eventlog_t *log, market_t *market, const identity_t *identity, node_stats_t *stats)
{
    node_bus_t *self = (node_bus_t *) calloc (1, sizeof (node_bus_t));
    if (!self)
        return NULL;
    self->log = log;
    self->market = market;
    self->identity = identity;
    self->stats = stats;
    self->started_mono_ms = hearth_mono_ms ();
    return self;
}

void
node_bus_destroy (node_bus_t **self_p)
{
    if (self_p && *self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

/*  Reject any input key outside `allowed` (NULL-terminated). */
static int
s_check_keys (const json_t *input, const char *const *allowed, char **message)
{
    const char *key;
    json_t *value;
    json_object_foreach ((json_t *) input, key, value) {
        int ok = 0;
        for (size_t i = 0; allowed [i]; i++)
            if (strcmp (key, allowed [i]) == 0)
                ok = 1;
        if (!ok) {
            *message = s_message ("unknown input field '%.64s'", key);
            return HEARTH_EINVAL;
        }
    }
    (void) value;
    return HEARTH_OK;
}

/*  Optional non-negative integer field in [min, max]; absent = dflt. */
static int
s_get_uint (const json_t *input, const char *key, uint64_t min, uint64_t max, uint64_t dflt,
            uint64_t *out, char **message)
{
    json_t *value = json_object_get (input, key);
    if (!value) {
        *out = dflt;
        return HEARTH_OK;
    }
    if (!json_is_integer (value) || json_integer_value (value) < 0
    ||  (uint64_t) json_integer_value (value) < min || (uint64_t) json_integer_value (value) > max) {
        *message = s_message ("'%s' must be an integer in %" PRIu64 "..%" PRIu64, key, min, max);
        return HEARTH_EINVAL;
    }
    *out = (uint64_t) json_integer_value (value);
    return HEARTH_OK;
}

/* ---- node.id ------------------------------------------------------------ */

static int
s_node_id (node_bus_t *self, const json_t *input, json_t **output, char **message)
{
    static const char *allowed [] = { NULL };
    int rc = s_check_keys (input, allowed, message);
    if (rc != HEARTH_OK)
        return rc;
    json_t *out = json_object ();
    if (!out)
        return HEARTH_ENOMEM;
    json_object_set_new (out, "node_id", json_string (identity_node_id (self->identity)));
    json_object_set_new (out, "short_id", json_string (identity_short_id (self->identity)));
    /*  The peer address comes with the mesh (--listen); none yet. */
    json_object_set_new (out, "address", json_null ());
    const uint8_t *community = eventlog_community_id (self->log);
    if (community) {
        char text [HEARTH_NODE_ID_SIZE];
        hearth_node_id_format (community, text);
        json_object_set_new (out, "community_id", json_string (text));
    }
    else
        json_object_set_new (out, "community_id", json_null ());
    *output = out;
    return HEARTH_OK;
}

/* ---- node.stats --------------------------------------------------------- */

void
node_bus_stats_sample (node_bus_t *self, node_stats_sample_t *sample)
{
    memset (sample, 0, sizeof *sample);
    sample->node_id = identity_node_id (self->identity);
    sample->log = eventlog_stats (self->log);
    sample->disk_bytes = eventlog_disk_bytes (self->log);
    market_view_t *view = market_view (self->market);
    sample->posts_total = market_view_count (view);
    sample->posts_active = market_view_count_active (view, eventlog_membership (self->log),
                                                     hearth_now_ms ());
    sample->uptime_ms = hearth_mono_ms () - self->started_mono_ms;
}

static int
s_node_stats (node_bus_t *self, const json_t *input, json_t **output, char **message)
{
    static const char *allowed [] = { "format", NULL };
    int rc = s_check_keys (input, allowed, message);
    if (rc != HEARTH_OK)
        return rc;
    json_t *format = json_object_get (input, "format");
    const char *name = format? json_string_value (format): "json";
    if (!name || (strcmp (name, "json") != 0 && strcmp (name, "prometheus") != 0)) {
        *message = s_message ("'format' must be \"json\" or \"prometheus\"");
        return HEARTH_EINVAL;
    }
    node_stats_sample_t sample;
    node_bus_stats_sample (self, &sample);
    char community [HEARTH_NODE_ID_SIZE];
    if (eventlog_community_id (self->log)) {
        hearth_node_id_format (eventlog_community_id (self->log), community);
        sample.community_id = community;
    }
    if (strcmp (name, "json") == 0) {
        *output = node_stats_json (self->stats, &sample);
        return *output? HEARTH_OK: HEARTH_ENOMEM;
    }
    char *text = node_stats_prometheus (self->stats, &sample);
    if (!text)
        return HEARTH_ENOMEM;
    *output = json_pack ("{s:s}", "text", text);
    free (text);
    return *output? HEARTH_OK: HEARTH_ENOMEM;
}

char *
node_bus_stats_text (node_bus_t *self, const uint8_t *request, size_t len)
{
    node_stats_sample_t sample;
    int json = len == 4 && memcmp (request, "json", 4) == 0;
    int prometheus = len == 10 && memcmp (request, "prometheus", 10) == 0;
    if (!json && !prometheus)
        return node_control_reply_error (HEARTH_EINVAL,
                                         "stats socket: send \"json\" or \"prometheus\"");
    node_bus_stats_sample (self, &sample);
    char community [HEARTH_NODE_ID_SIZE];
    if (eventlog_community_id (self->log)) {
        hearth_node_id_format (eventlog_community_id (self->log), community);
        sample.community_id = community;
    }
    if (prometheus)
        return node_stats_prometheus (self->stats, &sample);
    json_t *object = node_stats_json (self->stats, &sample);
    if (!object)
        return NULL;
    char *text = json_dumps (object, NODE_JSON_FLAGS);
    json_decref (object);
    return text;
}

/* ---- events.list -------------------------------------------------------- */

typedef struct {
    json_t  *events;        /* the array being filled (owned by the caller) */
    uint64_t limit;
    uint64_t count;
    uint64_t last_lamport;
    int      more;
    int      failed;
} s_events_page_t;

static int
s_events_visit (void *arg, const event_t *ev)
{
    s_events_page_t *page = (s_events_page_t *) arg;
    uint64_t lamport = event_lamport (ev);
    /*  Past the limit, finish the current Lamport group (so the next page,
        starting after last_lamport, misses nothing), then stop. */
    if (page->count >= page->limit
    &&  (lamport != page->last_lamport || page->count >= NODE_BUS_EVENTS_HARD_LIMIT)) {
        page->more = 1;
        return 1;
    }
    json_t *envelope = event_to_json (ev);
    if (!envelope || json_array_append_new (page->events, envelope) != 0) {
        page->failed = 1;
        return 1;
    }
    page->count++;
    page->last_lamport = lamport;
    return 0;
}

static int
s_events_list (node_bus_t *self, const json_t *input, json_t **output, char **message)
{
    static const char *allowed [] = { "since_lamport", "limit", NULL };
    int rc = s_check_keys (input, allowed, message);
    uint64_t since = 0, limit = 0;
    if (rc == HEARTH_OK)
        rc = s_get_uint (input, "since_lamport", 0, INT64_MAX, 0, &since, message);
    if (rc == HEARTH_OK)
        rc = s_get_uint (input, "limit", 1, NODE_BUS_EVENTS_MAX_LIMIT,
                         NODE_BUS_EVENTS_DEFAULT_LIMIT, &limit, message);
    if (rc != HEARTH_OK)
        return rc;
    s_events_page_t page = { json_array (), limit, 0, since, 0, 0 };
    if (!page.events)
        return HEARTH_ENOMEM;
    rc = eventlog_scan (self->log, since, s_events_visit, &page);
    if (page.failed || rc < 0) {
        json_decref (page.events);
        if (rc < 0) {
            *message = s_message ("reading the event log failed: %s", hearth_strerror (rc));
            return rc;
        }
        return HEARTH_ENOMEM;
    }
    json_t *out = json_object ();
    if (!out) {
        json_decref (page.events);
        return HEARTH_ENOMEM;
    }
    json_object_set_new (out, "events", page.events);
    json_object_set_new (out, "max_lamport", json_integer ((json_int_t) page.last_lamport));
    json_object_set_new (out, "more", json_boolean (page.more));
    json_object_set_new (out, "head",
                         json_integer ((json_int_t) eventlog_stats (self->log)->lamport_head));
    *output = out;
    return HEARTH_OK;
}

/* ---- node.verify_views -------------------------------------------------- */

typedef struct {
    market_view_t *view;
    uint64_t       scanned;
    uint64_t       apply_errors;
} s_refold_t;

static int
s_refold_visit (void *arg, const event_t *ev)
{
    s_refold_t *refold = (s_refold_t *) arg;
    refold->scanned++;
    if (market_view_apply (refold->view, ev) != HEARTH_OK)
        refold->apply_errors++;
    return 0;
}

static int
s_verify_views (node_bus_t *self, const json_t *input, json_t **output, char **message)
{
    static const char *allowed [] = { NULL };
    int rc = s_check_keys (input, allowed, message);
    if (rc != HEARTH_OK)
        return rc;
    s_refold_t refold = { market_view_new (), 0, 0 };
    if (!refold.view)
        return HEARTH_ENOMEM;
    rc = eventlog_scan (self->log, 0, s_refold_visit, &refold);
    uint8_t live [32], rebuilt [32];         /* BLAKE2b-256 view digests */
    market_view_t *view = market_view (self->market);
    if (rc >= 0)
        rc = market_view_digest (view, live);
    if (rc >= 0)
        rc = market_view_digest (refold.view, rebuilt);
    if (rc < 0) {
        market_view_destroy (&refold.view);
        *message = s_message ("re-fold failed: %s", hearth_strerror (rc));
        return rc;
    }
    char live_hex [65], rebuilt_hex [65];    /* 2 hex chars per byte + NUL */
    hearth_hex_encode (live, 32, live_hex);
    hearth_hex_encode (rebuilt, 32, rebuilt_hex);
    int equal = memcmp (live, rebuilt, 32) == 0;
    json_t *out = json_object ();
    if (out) {
        json_object_set_new (out, "equal", json_boolean (equal));
        json_object_set_new (out, "live_digest", json_string (live_hex));
        json_object_set_new (out, "rebuilt_digest", json_string (rebuilt_hex));
        json_object_set_new (out, "events_scanned", json_integer ((json_int_t) refold.scanned));
        json_object_set_new (out, "apply_errors", json_integer ((json_int_t) refold.apply_errors));
        json_object_set_new (out, "posts_live", json_integer ((json_int_t) market_view_count (view)));
        json_object_set_new (out, "posts_rebuilt",
                             json_integer ((json_int_t) market_view_count (refold.view)));
    }
    market_view_destroy (&refold.view);
    if (!out)
        return HEARTH_ENOMEM;
    if (!equal)
        hlog_warn (S_LOG, "node.verify_views: live market view differs from a full re-fold "
                   "(live %.16s…, re-fold %.16s…)", live_hex, rebuilt_hex);
    *output = out;
    return HEARTH_OK;
}

/* ---- dispatch ------------------------------------------------------------ */

static int
s_is_market (const char *capability)
{
    static const char *names [] = {
        "market.list", "market.get", "market.post", "market.expire", "market.search"
    };
    for (size_t i = 0; i < sizeof names / sizeof names [0]; i++)
        if (strcmp (capability, names [i]) == 0)
            return 1;
    return 0;
}

int
node_bus_call (node_bus_t *self, const char *capability, const json_t *input,
               json_t **output, char **message)
{
    *output = NULL;
    *message = NULL;
    if (s_is_market (capability))
        return market_handle (self->market, capability, input,
                              identity_public_key (self->identity), hearth_now_ms (),
                              output, message);
    if (strcmp (capability, "node.id") == 0)
        return s_node_id (self, input, output, message);
    if (strcmp (capability, "node.stats") == 0)
        return s_node_stats (self, input, output, message);
    if (strcmp (capability, "events.list") == 0)
        return s_events_list (self, input, output, message);
    if (strcmp (capability, "node.verify_views") == 0)
        return s_verify_views (self, input, output, message);
    *message = s_message ("no capability named '%s' on this node", capability);
    return HEARTH_ENOTFOUND;
}

char *
node_bus_handle_frame (node_bus_t *self, const uint8_t *data, size_t len)
{
    int64_t start_us = zclock_usecs ();
    char capability [NODE_CONTROL_MAX_CAPABILITY + 1];
    json_t *input = NULL, *output = NULL;
    char *message = NULL;
    const char *label = NODE_STATS_CAP_INVALID;
    int rc = node_control_request_parse (data, len, capability, &input, &message);
    if (rc == HEARTH_OK) {
        label = capability;
        rc = node_bus_call (self, capability, input, &output, &message);
    }
    /*  A handler that reports success must hand back an output object. */
    if (rc == HEARTH_OK && !json_is_object (output)) {
        json_decref (output);
        output = NULL;
        rc = HEARTH_ENOMEM;
    }
    int64_t elapsed_us = zclock_usecs () - start_us;
    if (elapsed_us < 0)
        elapsed_us = 0;
    node_stats_request_record (self->stats, label, rc, (double) elapsed_us / 1e6);
    char *reply;
    if (rc == HEARTH_OK)
        reply = node_control_reply_ok (output, (uint64_t) elapsed_us / 1000);
    else {
        hearth_log_limited (HEARTH_LOG_DEBUG, S_LOG, "request.error", "%s: %s: %s",
                            label, hearth_error_code (rc), message? message: hearth_strerror (rc));
        reply = node_control_reply_error (rc, message);
    }
    json_decref (input);
    json_decref (output);
    free (message);
    return reply;
}
