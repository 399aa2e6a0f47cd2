/*  market.c — the marketplace service: market.* handlers and the sweeper
    (see market.h and docs/market.md).

    Every handler validates its JSON input strictly (unknown keys, types,
    ranges, caps: HEARTH_EINVAL with a sentence naming the field), then
    reads the view or appends one event through the event log. Nothing here
    writes state directly.
*/
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "hearth_error.h"
#include "hearth_log.h"
#include "market.h"
#include "market_dict.h"
#include "market_geo.h"
#include "market_search.h"
#include "market_semantic.h"
#include "market_text.h"

/*  Stale expiries one sweeper pass appends at most: each is a synced write,
    so a backlog (a node back after weeks) is spread over several passes
    instead of stalling the node's loop. */
#define S_SWEEP_MAX_PER_PASS 256
/*  Prefix of the sweeper's deterministic client ids ("sweep:<post id>"),
    which make a repeated pass (or a restart mid-pass) append nothing twice. */
#define S_SWEEP_CLIENT_PREFIX "sweep:"

struct _market_t {
    eventlog_t       *log;          /* borrowed until destroy */
    const identity_t *self_id;      /* borrowed until destroy */
    market_config_t   cfg;
    market_view_t    *view;         /* owned; registered with log */
    market_dict_t    *dict;         /* owned: search dictionaries and synonyms */
    ulid_gen_t        ulid;         /* client ids generated for callers without one */
};

static const char *const s_categories [] = { NULL, "offer", "request", "info", "emergency" };
static const char *const s_reasons [] = { NULL, "fulfilled", "withdrawn", "user_request", "stale" };
#define S_N_CATEGORIES 5
#define S_N_REASONS    5

/* ---- config, lifecycle ---------------------------------------------------- */

void
market_config_defaults (market_config_t *cfg)
{
    cfg->default_ttl_seconds = MARKET_DEFAULT_TTL_SECONDS;
    cfg->max_ttl_seconds = MARKET_MAX_TTL_SECONDS;
    cfg->sweep_interval_seconds = MARKET_SWEEP_INTERVAL_SECONDS;
    //  No search dictionaries or synonym file unless asked for: hearthd
    //  asks (node_config_defaults), a bare market (tools, tests) does not
    cfg->search_dir [0] = 0;
    cfg->dict_translations [0] = cfg->dict_synonyms_de [0] = cfg->dict_synonyms_en [0] = 0;
    cfg->dict_words_de [0] = 0;
}

/*  Clamp the TTLs and the sweep interval to what events allow, with a warning. */
static void
s_clamp (market_config_t *cfg)
{
    //  A ttl above EVENT_MAX_TTL_SECONDS would make events no node accepts
    if (cfg->max_ttl_seconds == 0 || cfg->max_ttl_seconds > EVENT_MAX_TTL_SECONDS) {
        hlog_warn ("market", "max_ttl_seconds %llu out of 1..%d; using %d",
                   (unsigned long long) cfg->max_ttl_seconds, EVENT_MAX_TTL_SECONDS,
                   EVENT_MAX_TTL_SECONDS);
        cfg->max_ttl_seconds = EVENT_MAX_TTL_SECONDS;
    }
    if (cfg->default_ttl_seconds == 0 || cfg->default_ttl_seconds > cfg->max_ttl_seconds) {
        uint64_t ttl = MARKET_DEFAULT_TTL_SECONDS < cfg->max_ttl_seconds?
                       MARKET_DEFAULT_TTL_SECONDS: cfg->max_ttl_seconds;
        hlog_warn ("market", "default_ttl_seconds %llu out of 1..%llu; using %llu",
                   (unsigned long long) cfg->default_ttl_seconds,
                   (unsigned long long) cfg->max_ttl_seconds, (unsigned long long) ttl);
        cfg->default_ttl_seconds = ttl;
    }
    if (cfg->sweep_interval_seconds == 0)
        cfg->sweep_interval_seconds = MARKET_SWEEP_INTERVAL_SECONDS;
}

market_t *
market_new (eventlog_t *log, const identity_t *self_id, const market_config_t *cfg)
{
    if (!log || !self_id)
        return NULL;
    market_t *self = (market_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->log = log;
    self->self_id = self_id;
    if (cfg)
        self->cfg = *cfg;
    else
        market_config_defaults (&self->cfg);
    s_clamp (&self->cfg);
    self->dict = market_dict_new (&self->cfg);
    self->view = market_view_new ();
    if (!self->view || !self->dict) {
        market_view_destroy (&self->view);
        market_dict_destroy (&self->dict);
        free (self);
        return NULL;
    }
    eventlog_view_t view;
    market_view_as_eventlog_view (self->view, &view);
    if (eventlog_view_register (log, &view)) {
        market_view_destroy (&self->view);
        market_dict_destroy (&self->dict);
        free (self);
        return NULL;
    }
    return self;
}

void
market_destroy (market_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    market_view_destroy (&(*self_p)->view);
    market_dict_destroy (&(*self_p)->dict);
    free (*self_p);
    *self_p = NULL;
}

market_view_t *
market_view (market_t *self)
{
    return self->view;
}

const market_config_t *
market_config (const market_t *self)
{
    return &self->cfg;
}

json_t *
market_search_stats (market_t *self)
{
    json_t *out = market_dict_stats (self->dict);
    if (out)
        json_object_set_new (out, "index_bytes",
                             json_integer ((json_int_t) market_view_search_bytes (self->view)));
    if (out)
        json_object_set_new (out, "view_bytes",
                             json_integer ((json_int_t) market_view_bytes (self->view)));
    return out;
}

/* ---- errors, JSON helpers --------------------------------------------------- */

/*  Set *message to a formatted sentence and return rc. */
static int
s_fail (char **message, int rc, const char *fmt, ...) __attribute__ ((format (printf, 3, 4)));
static int
s_fail (char **message, int rc, const char *fmt, ...)
{
    if (message) {
        va_list args;
        va_start (args, fmt);
        if (vasprintf (message, fmt, args) < 0)
            *message = NULL;
        va_end (args);
    }
    return rc;
}

/*  input must be an object (NULL = {}) holding only the allowed keys. */
static int
s_check_keys (const json_t *input, const char *const *allowed, char **message)
{
    if (!input)
        return 0;
    if (!json_is_object (input))
        return s_fail (message, HEARTH_EINVAL, "input must be a JSON object");
    const char *key;
    json_t *value;
    json_object_foreach ((json_t *) input, key, value) {
        size_t i;
        for (i = 0; allowed [i]; i++)
            if (strcmp (key, allowed [i]) == 0)
                break;
        if (!allowed [i])
            return s_fail (message, HEARTH_EINVAL, "unknown field '%s'", key);
    }
    return 0;
}

static json_t *
s_get (const json_t *input, const char *key)
{
    return input? json_object_get (input, key): NULL;
}

/*  A text field: a JSON string of 1..max bytes of UTF-8 without NUL; *out
    borrowed from the input. Absent: *out = NULL, error only if required. */
static int
s_text (const json_t *input, const char *key, size_t max, int required, const char **out,
        char **message)
{
    json_t *v = s_get (input, key);
    *out = NULL;
    if (!v) {
        if (required)
            return s_fail (message, HEARTH_EINVAL, "%s is required", key);
        return 0;
    }
    if (!json_is_string (v))
        return s_fail (message, HEARTH_EINVAL, "%s must be a string", key);
    const char *s = json_string_value (v);
    size_t len = json_string_length (v);
    if (!hearth_utf8_valid (s, len))
        return s_fail (message, HEARTH_EINVAL, "%s must be valid UTF-8 without NUL", key);
    if (len > max)
        return s_fail (message, HEARTH_EINVAL, "%s is %zu bytes; at most %zu allowed", key, len, max);
    size_t i = 0;
    while (i < len && (s [i] == ' ' || s [i] == '\t' || s [i] == '\n' || s [i] == '\r'))
        i++;
    if (i == len)
        return s_fail (message, HEARTH_EINVAL, "%s must not be empty", key);
    *out = s;
    return 0;
}

/*  An integer field in [min, max]; absent leaves *out unchanged. */
static int
s_integer (const json_t *input, const char *key, int64_t min, int64_t max, int64_t *out,
           char **message)
{
    json_t *v = s_get (input, key);
    if (!v)
        return 0;
    if (!json_is_integer (v))
        return s_fail (message, HEARTH_EINVAL, "%s must be an integer", key);
    json_int_t n = json_integer_value (v);
    if (n < min || n > max)
        return s_fail (message, HEARTH_EINVAL, "%s must be between %lld and %lld", key,
                       (long long) min, (long long) max);
    *out = n;
    return 0;
}

/*  Enum from its name (index in names[1..n)); 0 if unknown. */
static int
s_enum (const char *const *names, int n, const char *text)
{
    for (int i = 1; i < n; i++)
        if (strcmp (names [i], text) == 0)
            return i;
    return 0;
}

/*  Tags: an array of at most EVENT_MAX_TAGS strings, each lower-cased to
    1..EVENT_MAX_TAG_BYTES bytes of UTF-8; duplicates dropped. *tags is a
    malloc'd array of malloc'd strings (free with s_tags_free). */
static int
s_tags (const json_t *input, char ***tags, size_t *n_tags, char **message)
{
    *tags = NULL;
    *n_tags = 0;
    json_t *v = s_get (input, "tags");
    if (!v)
        return 0;
    if (!json_is_array (v))
        return s_fail (message, HEARTH_EINVAL, "tags must be an array of strings");
    size_t n = json_array_size (v);
    if (n > EVENT_MAX_TAGS)
        return s_fail (message, HEARTH_EINVAL, "at most %d tags allowed, got %zu", EVENT_MAX_TAGS, n);
    char **out = (char **) calloc (n? n: 1, sizeof (char *));
    if (!out)
        return HEARTH_ENOMEM;
    size_t kept = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        json_t *t = json_array_get (v, i);
        if (!json_is_string (t)) {
            rc = s_fail (message, HEARTH_EINVAL, "tags[%zu] must be a string", i);
            break;
        }
        const char *s = json_string_value (t);
        size_t len = json_string_length (t);
        if (!hearth_utf8_valid (s, len)) {
            rc = s_fail (message, HEARTH_EINVAL, "tags[%zu] must be valid UTF-8 without NUL", i);
            break;
        }
        char *low = (char *) malloc (len + 1);
        if (!low) {
            rc = HEARTH_ENOMEM;
            break;
        }
        market_text_lower (s, len, low, len + 1);
        size_t low_len = strlen (low);
        int blank = 1;
        for (size_t j = 0; j < low_len; j++)
            if (low [j] != ' ' && low [j] != '\t')
                blank = 0;
        if (low_len == 0 || blank || low_len > EVENT_MAX_TAG_BYTES) {
            free (low);
            rc = s_fail (message, HEARTH_EINVAL, "tags[%zu] must be 1..%d bytes", i, EVENT_MAX_TAG_BYTES);
            break;
        }
        int dup = 0;
        for (size_t j = 0; j < kept; j++)
            if (strcmp (out [j], low) == 0)
                dup = 1;
        if (dup)
            free (low);
        else
            out [kept++] = low;
    }
    if (rc) {
        for (size_t j = 0; j < kept; j++)
            free (out [j]);
        free (out);
        return rc;
    }
    *tags = out;
    *n_tags = kept;
    return 0;
}

static void
s_tags_free (char **tags, size_t n)
{
    for (size_t i = 0; tags && i < n; i++)
        free (tags [i]);
    free (tags);
}

/*  The location object {lat, lng, label?}. */
static int
s_location (const json_t *input, Hearth__Location *loc, int *has, char **message)
{
    *has = 0;
    json_t *v = s_get (input, "location");
    if (!v)
        return 0;
    static const char *const allowed [] = { "lat", "lng", "label", NULL };
    if (!json_is_object (v))
        return s_fail (message, HEARTH_EINVAL, "location must be an object {lat, lng, label}");
    int rc = s_check_keys (v, allowed, message);
    if (rc) {
        char *inner = message? *message: NULL;
        if (inner) {
            *message = NULL;
            s_fail (message, rc, "location: %s", inner);
            free (inner);
        }
        return rc;
    }
    json_t *lat = json_object_get (v, "lat"), *lng = json_object_get (v, "lng");
    if (!lat || !json_is_number (lat))
        return s_fail (message, HEARTH_EINVAL, "location.lat must be a number");
    if (!lng || !json_is_number (lng))
        return s_fail (message, HEARTH_EINVAL, "location.lng must be a number");
    double la = json_number_value (lat), ln = json_number_value (lng);
    if (!isfinite (la) || la < -90.0 || la > 90.0)
        return s_fail (message, HEARTH_EINVAL, "location.lat must be within -90..90");
    if (!isfinite (ln) || ln < -180.0 || ln > 180.0)
        return s_fail (message, HEARTH_EINVAL, "location.lng must be within -180..180");
    json_t *label = json_object_get (v, "label");
    loc->label = (char *) "";
    if (label) {
        if (!json_is_string (label))
            return s_fail (message, HEARTH_EINVAL, "location.label must be a string");
        size_t len = json_string_length (label);
        if (!hearth_utf8_valid (json_string_value (label), len))
            return s_fail (message, HEARTH_EINVAL, "location.label must be valid UTF-8 without NUL");
        if (len > EVENT_MAX_LABEL_BYTES)
            return s_fail (message, HEARTH_EINVAL, "location.label is %zu bytes; at most %d allowed",
                           len, EVENT_MAX_LABEL_BYTES);
        loc->label = (char *) json_string_value (label);
    }
    loc->lat = la;
    loc->lng = ln;
    *has = 1;
    return 0;
}

/* ---- JSON output -------------------------------------------------------------- */

json_t *
market_post_to_json (const market_post_t *post)
{
    char author [HEARTH_NODE_ID_SIZE];
    char created [HEARTH_TIME_SIZE], expires [HEARTH_TIME_SIZE];
    hearth_node_id_format (post->author, author);
    hearth_time_format (post->created_at_ms, created);
    hearth_time_format (post->expires_at_ms, expires);
    json_t *tags = json_array ();
    for (size_t i = 0; tags && i < post->n_tags; i++)
        json_array_append_new (tags, json_string (post->tags [i]));
    const char *category = post->category > 0 && post->category < S_N_CATEGORIES?
                           s_categories [post->category]: "unknown";
    json_t *obj = json_pack ("{s:s, s:I, s:s, s:s, s:s, s:s, s:o*, s:s, s:s}",
                             "event_id", post->event_id,
                             "lamport", (json_int_t) post->lamport,
                             "author", author,
                             "category", category,
                             "title", post->title,
                             "body", post->body,
                             "tags", tags,
                             "created_at", created,
                             "expires_at", expires);
    if (obj && post->has_location) {
        json_t *loc = json_pack ("{s:f, s:f, s:s}", "lat", post->lat, "lng", post->lng,
                                 "label", post->label? post->label: "");
        if (!loc || json_object_set_new (obj, "location", loc)) {
            json_decref (obj);
            return NULL;
        }
    }
    //  Edits: when the newest was made and how many; both absent if never
    if (obj && post->history) {
        char updated [HEARTH_TIME_SIZE];
        hearth_time_format (post->updated_at_ms, updated);
        if (json_object_set_new (obj, "updated_at", json_string (updated))
        ||  json_object_set_new (obj, "history", json_integer ((json_int_t) post->history))) {
            json_decref (obj);
            return NULL;
        }
    }
    if (obj && post->has_distance
    &&  json_object_set_new (obj, "distance_km", json_real (post->distance_km))) {
        json_decref (obj);
        return NULL;
    }
    return obj;
}

static json_t *
s_posts_json (const market_post_t *posts, const double *scores, size_t n, uint64_t max_lamport)
{
    json_t *arr = json_array ();
    if (!arr)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        json_t *p = market_post_to_json (&posts [i]);
        if (p && scores)
            json_object_set_new (p, "score", json_real (scores [i]));
        if (!p || json_array_append_new (arr, p)) {
            json_decref (arr);
            return NULL;
        }
    }
    return json_pack ("{s:o, s:I}", "posts", arr, "max_lamport", (json_int_t) max_lamport);
}

static json_t *
s_appended_json (const char *event_id, uint64_t lamport)
{
    return json_pack ("{s:s, s:I}", "event_id", event_id, "lamport", (json_int_t) lamport);
}

/* ---- near me: location_filter and order ------------------------------------------ */

/*  A finite number field of obj (named path in messages): 0 and *out, or
    HEARTH_EINVAL. */
static int
s_number (const json_t *obj, const char *key, const char *path, double *out, char **message)
{
    json_t *v = json_object_get (obj, key);
    if (!v)
        return s_fail (message, HEARTH_EINVAL, "%s is required", path);
    if (!json_is_number (v))
        return s_fail (message, HEARTH_EINVAL, "%s must be a number", path);
    *out = json_number_value (v);
    if (!isfinite (*out))
        return s_fail (message, HEARTH_EINVAL, "%s must be a finite number", path);
    return 0;
}

/*  Keys of an object field (named path), the message prefixed with it. */
static int
s_check_keys_at (const json_t *obj, const char *path, const char *shape,
                 const char *const *allowed, char **message)
{
    if (!json_is_object (obj))
        return s_fail (message, HEARTH_EINVAL, "%s must be an object %s", path, shape);
    int rc = s_check_keys (obj, allowed, message);
    if (rc && message && *message) {
        char *inner = *message;
        *message = NULL;
        s_fail (message, rc, "%s: %s", path, inner);
        free (inner);
    }
    return rc;
}

/*  location_filter {center: {lat, lng}, radius_km} and order (the named
    default, or "distance", which needs the filter) of a list or search
    input: 0 with *has_near and near filled, or HEARTH_EINVAL naming the
    field. */
static int
s_near_input (const json_t *input, const char *default_order, market_near_t *near, int *has_near,
              char **message)
{
    static const char *const filter_keys [] = { "center", "radius_km", NULL };
    static const char *const center_keys [] = { "lat", "lng", NULL };
    memset (near, 0, sizeof *near);
    *has_near = 0;
    int by_distance = 0;
    json_t *order = s_get (input, "order");
    if (order) {
        const char *text = json_is_string (order)? json_string_value (order): NULL;
        if (text && strcmp (text, "distance") == 0)
            by_distance = 1;
        else
        if (!text || strcmp (text, default_order) != 0)
            return s_fail (message, HEARTH_EINVAL, "order must be \"%s\" or \"distance\"",
                           default_order);
    }
    json_t *filter = s_get (input, "location_filter");
    if (!filter) {
        if (by_distance)
            return s_fail (message, HEARTH_EINVAL,
                           "order \"distance\" needs a location_filter {center: {lat, lng}, radius_km}");
        return 0;
    }
    int rc = s_check_keys_at (filter, "location_filter", "{center: {lat, lng}, radius_km}",
                              filter_keys, message);
    if (rc)
        return rc;
    json_t *center = json_object_get (filter, "center");
    if (!center)
        return s_fail (message, HEARTH_EINVAL, "location_filter.center is required");
    if ((rc = s_check_keys_at (center, "location_filter.center", "{lat, lng}", center_keys, message))
    ||  (rc = s_number (center, "lat", "location_filter.center.lat", &near->lat, message))
    ||  (rc = s_number (center, "lng", "location_filter.center.lng", &near->lng, message))
    ||  (rc = s_number (filter, "radius_km", "location_filter.radius_km", &near->radius_km, message)))
        return rc;
    if (near->lat < -90.0 || near->lat > 90.0)
        return s_fail (message, HEARTH_EINVAL, "location_filter.center.lat must be within -90..90");
    if (near->lng < -180.0 || near->lng > 180.0)
        return s_fail (message, HEARTH_EINVAL, "location_filter.center.lng must be within -180..180");
    if (!(near->radius_km > 0) || near->radius_km > MARKET_GEO_MAX_RADIUS_KM)
        return s_fail (message, HEARTH_EINVAL,
                       "location_filter.radius_km must be greater than 0 and at most %.1f",
                       MARKET_GEO_MAX_RADIUS_KM);
    near->by_distance = by_distance;
    *has_near = 1;
    return 0;
}

/* ---- market.list / market.get / market.search ------------------------------------ */

static int
s_handle_list (market_t *self, const json_t *input, uint64_t now_ms, json_t **output,
               char **message)
{
    static const char *const allowed [] = { "category", "tags", "since_lamport", "limit",
                                            "location_filter", "order", NULL };
    int rc = s_check_keys (input, allowed, message);
    if (rc)
        return rc;
    market_query_t q = { 0 };
    market_near_t near;
    int has_near;
    if ((rc = s_near_input (input, "newest", &near, &has_near, message)))
        return rc;
    q.near = has_near? &near: NULL;
    const char *category;
    if ((rc = s_text (input, "category", 32, 0, &category, message)))
        return rc;
    if (category && !(q.category = s_enum (s_categories, S_N_CATEGORIES, category)))
        return s_fail (message, HEARTH_EINVAL,
                       "category must be one of offer, request, info, emergency");
    int64_t since = 0, limit = MARKET_LIST_DEFAULT_LIMIT;
    if ((rc = s_integer (input, "since_lamport", 0, INT64_MAX, &since, message))
    ||  (rc = s_integer (input, "limit", 1, MARKET_LIST_MAX_LIMIT, &limit, message)))
        return rc;
    char **tags;
    size_t n_tags;
    if ((rc = s_tags (input, &tags, &n_tags, message)))
        return rc;
    q.tags = (const char *const *) tags;
    q.n_tags = n_tags;
    q.since_lamport = (uint64_t) since;
    q.limit = (size_t) limit;
    market_post_t *posts = (market_post_t *) malloc ((size_t) limit * sizeof *posts);
    if (!posts) {
        s_tags_free (tags, n_tags);
        return HEARTH_ENOMEM;
    }
    size_t n = market_view_list (self->view, &q, eventlog_membership (self->log), now_ms, posts,
                                 (size_t) limit);
    *output = s_posts_json (posts, NULL, n, market_view_max_lamport (self->view));
    free (posts);
    s_tags_free (tags, n_tags);
    return *output? 0: HEARTH_ENOMEM;
}

static int
s_handle_get (market_t *self, const json_t *input, uint64_t now_ms, json_t **output,
              char **message)
{
    static const char *const allowed [] = { "event_id", NULL };
    int rc = s_check_keys (input, allowed, message);
    const char *id;
    if (rc || (rc = s_text (input, "event_id", ULID_LEN, 1, &id, message)))
        return rc;
    market_post_t post;
    if (market_view_get (self->view, id, eventlog_membership (self->log), &post))
        return s_fail (message, HEARTH_ENOTFOUND, "no post with event_id %s", id);
    json_t *p = market_post_to_json (&post);
    if (!p)
        return HEARTH_ENOMEM;
    json_object_set_new (p, "expired", json_boolean (market_view_is_expired (&post, now_ms)));
    if (post.expired_via_event_id) {
        json_object_set_new (p, "expiry_reason", json_string (
            post.expiry_reason > 0 && post.expiry_reason < S_N_REASONS?
            s_reasons [post.expiry_reason]: "unknown"));
        json_object_set_new (p, "expired_via_event_id", json_string (post.expired_via_event_id));
        //  Who expired it, and when (the claim's wall clock)
        char by [HEARTH_NODE_ID_SIZE], by_short [HEARTH_SHORT_ID_SIZE], at [HEARTH_TIME_SIZE];
        hearth_node_id_format (post.expired_by, by);
        hearth_short_id_format (post.expired_by, by_short);
        hearth_time_format (post.expired_at_ms, at);
        json_object_set_new (p, "expired_by", json_string (by));
        json_object_set_new (p, "expired_by_short_id", json_string (by_short));
        json_object_set_new (p, "expired_at", json_string (at));
    }
    *output = json_pack ("{s:o}", "post", p);
    return *output? 0: HEARTH_ENOMEM;
}

int
market_search_input (const json_t *input, const char **query, size_t *k, market_near_t *near,
                     int *has_near, char **message)
{
    static const char *const allowed [] = { "query", "k", "location_filter", "order", NULL };
    int rc = s_check_keys (input, allowed, message);
    if (rc || (rc = s_text (input, "query", MARKET_SEARCH_MAX_QUERY_BYTES, 1, query, message))
    ||  (rc = s_near_input (input, "relevance", near, has_near, message)))
        return rc;
    int64_t k_value = MARKET_SEARCH_DEFAULT_K;
    if ((rc = s_integer (input, "k", 1, MARKET_SEARCH_MAX_K, &k_value, message)))
        return rc;
    {
        const char *cursor = *query;
        char word [MARKET_TEXT_MAX_WORD + 1];
        if (market_text_next_word (&cursor, *query + strlen (*query), word) == 0)
            return s_fail (message, HEARTH_EINVAL, "query must contain at least one word");
    }
    *k = (size_t) k_value;
    return HEARTH_OK;
}

void
market_search_refresh (market_t *self, uint64_t now_ms)
{
    market_dict_update (self->dict, self->view, now_ms);
}

void
market_search_reload (market_t *self, uint64_t now_ms)
{
    market_dict_reload (self->dict, self->view, now_ms);
}

void
market_config_update (market_t *self, const market_config_t *cfg)
{
    self->cfg.default_ttl_seconds = cfg->default_ttl_seconds;
    self->cfg.max_ttl_seconds = cfg->max_ttl_seconds;
    self->cfg.sweep_interval_seconds = cfg->sweep_interval_seconds;
    s_clamp (&self->cfg);
}

static int
s_handle_search (market_t *self, const json_t *input, uint64_t now_ms, json_t **output,
                 char **message)
{
    const char *query;
    size_t k;
    market_near_t near;
    int has_near;
    int rc = market_search_input (input, &query, &k, &near, &has_near, message);
    if (rc)
        return rc;
    market_search_refresh (self, now_ms);
    //  Lexical ranking only: the node's embedding side (node_embed.h) calls
    //  market_semantic_search_near with a query vector when it has a provider.
    return market_semantic_search_near (self->view, eventlog_membership (self->log), query, k,
                                        has_near? &near: NULL, NULL, now_ms, output);
}

/* ---- market.post / market.expire ------------------------------------------------- */

/*  Caller must be this node: post and expire sign with this node's key. */
static int
s_check_self (market_t *self, const uint8_t *caller, const char *capability, char **message)
{
    if (!caller || memcmp (caller, identity_public_key (self->self_id), 32) != 0)
        return s_fail (message, HEARTH_EUNAUTHORIZED,
                       "%s signs with this node's key; only this node may call it", capability);
    return 0;
}

/*  A fresh client id (ULID) for a caller that sent none. */
static int
s_new_client_id (market_t *self, uint64_t now_ms, char out [ULID_SIZE])
{
    uint8_t rnd [10];
    randombytes_buf (rnd, sizeof rnd);
    return ulid_gen_next (&self->ulid, now_ms, rnd, out);
}

/*  Idempotency: if (this node, client_id) names an event already, answer
    with it (1), or fail if it is of another type; 0 if unused. */
static int
s_find_client (market_t *self, const char *client_id, int type, json_t **output, char **message)
{
    char found [ULID_SIZE];
    int rc = eventlog_find_client (self->log, identity_public_key (self->self_id), client_id, found);
    if (rc == HEARTH_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    event_t *ev = NULL;
    if ((rc = eventlog_get_by_id (self->log, found, &ev)))
        return rc;
    if (event_type (ev) != type) {
        rc = s_fail (message, HEARTH_EEXISTS, "client_id '%s' was already used for a %s event",
                     client_id, event_type_name (event_type (ev)));
        event_destroy (&ev);
        return rc;
    }
    *output = s_appended_json (event_id (ev), event_lamport (ev));
    event_destroy (&ev);
    return *output? 1: HEARTH_ENOMEM;
}

static int
s_append (market_t *self, Hearth__Event *draft, uint64_t now_ms, json_t **output, char **message)
{
    event_t *ev = NULL;
    int rc = eventlog_append_local (self->log, self->self_id, draft, now_ms, &ev);
    if (rc)
        return s_fail (message, rc, "could not append the event: %s", hearth_strerror (rc));
    *output = s_appended_json (event_id (ev), event_lamport (ev));
    event_destroy (&ev);
    return *output? 0: HEARTH_ENOMEM;
}

static int
s_handle_post (market_t *self, const json_t *input, const uint8_t *caller, uint64_t now_ms,
               json_t **output, char **message)
{
    static const char *const allowed [] = {
        "client_id", "category", "title", "body", "location", "tags", "ttl_seconds", NULL
    };
    int rc = s_check_self (self, caller, "market.post", message);
    if (rc || (rc = s_check_keys (input, allowed, message)))
        return rc;
    const char *category, *title, *body, *client_id;
    if ((rc = s_text (input, "category", 32, 1, &category, message)))
        return rc;
    int cat = s_enum (s_categories, S_N_CATEGORIES, category);
    if (!cat)
        return s_fail (message, HEARTH_EINVAL,
                       "category must be one of offer, request, info, emergency");
    if ((rc = s_text (input, "title", EVENT_MAX_TITLE_BYTES, 1, &title, message))
    ||  (rc = s_text (input, "body", EVENT_MAX_BODY_BYTES, 1, &body, message))
    ||  (rc = s_text (input, "client_id", EVENT_MAX_CLIENT_ID_BYTES, 0, &client_id, message)))
        return rc;
    Hearth__Location loc = HEARTH__LOCATION__INIT;
    int has_loc;
    if ((rc = s_location (input, &loc, &has_loc, message)))
        return rc;
    int64_t ttl = (int64_t) self->cfg.default_ttl_seconds;
    if ((rc = s_integer (input, "ttl_seconds", 1, (int64_t) self->cfg.max_ttl_seconds, &ttl, message)))
        return rc;
    char **tags;
    size_t n_tags;
    if ((rc = s_tags (input, &tags, &n_tags, message)))
        return rc;

    char generated [ULID_SIZE];
    if (client_id) {
        if ((rc = s_find_client (self, client_id, HEARTH__EVENT_TYPE__MARKET_POST_CREATED, output,
                                 message)) != 0) {
            s_tags_free (tags, n_tags);
            return rc > 0? 0: rc;
        }
    }
    else {
        if ((rc = s_new_client_id (self, now_ms, generated))) {
            s_tags_free (tags, n_tags);
            return rc;
        }
        client_id = generated;
    }
    Hearth__MarketPostCreated created = HEARTH__MARKET_POST_CREATED__INIT;
    created.client_id = (char *) client_id;
    created.category = (Hearth__Category) cat;
    created.title = (char *) title;
    created.body = (char *) body;
    created.tags = tags;
    created.n_tags = n_tags;
    created.ttl_seconds = (uint64_t) ttl;
    created.location = has_loc? &loc: NULL;
    Hearth__Event draft = HEARTH__EVENT__INIT;
    draft.type = HEARTH__EVENT_TYPE__MARKET_POST_CREATED;
    draft.payload_case = HEARTH__EVENT__PAYLOAD_MARKET_POST_CREATED;
    draft.market_post_created = &created;
    rc = s_append (self, &draft, now_ms, output, message);
    s_tags_free (tags, n_tags);
    return rc;
}

static int
s_handle_expire (market_t *self, const json_t *input, const uint8_t *caller, uint64_t now_ms,
                 json_t **output, char **message)
{
    static const char *const allowed [] = { "event_id", "reason", "client_id", NULL };
    int rc = s_check_self (self, caller, "market.expire", message);
    if (rc || (rc = s_check_keys (input, allowed, message)))
        return rc;
    const char *id, *reason_text, *client_id;
    if ((rc = s_text (input, "event_id", ULID_LEN, 1, &id, message))
    ||  (rc = s_text (input, "reason", 32, 1, &reason_text, message))
    ||  (rc = s_text (input, "client_id", EVENT_MAX_CLIENT_ID_BYTES, 0, &client_id, message)))
        return rc;
    int reason = s_enum (s_reasons, S_N_REASONS, reason_text);
    if (!reason)
        return s_fail (message, HEARTH_EINVAL,
                       "reason must be one of fulfilled, withdrawn, user_request, stale");
    if (client_id) {
        rc = s_find_client (self, client_id, HEARTH__EVENT_TYPE__MARKET_POST_EXPIRED, output, message);
        if (rc != 0)
            return rc > 0? 0: rc;
    }
    const membership_t *members = eventlog_membership (self->log);
    market_post_t post;
    if (market_view_get (self->view, id, members, &post))
        return s_fail (message, HEARTH_ENOTFOUND, "no post with event_id %s", id);
    //  docs/decisions/0008: the author may always expire; `stale` also by TRUSTED/ANCHOR
    const uint8_t *me = identity_public_key (self->self_id);
    if (memcmp (post.author, me, 32) != 0) {
        if (reason != HEARTH__EXPIRY_REASON__EXPIRY_REASON_STALE)
            return s_fail (message, HEARTH_EUNAUTHORIZED,
                           "only the post's author may expire it with reason %s", reason_text);
        if (membership_level (members, me) < HEARTH__LEVEL__LEVEL_TRUSTED)
            return s_fail (message, HEARTH_EUNAUTHORIZED,
                           "expiring another member's post as stale needs a trusted or anchor member");
    }
    //  Already expired by a valid claim: answer with that expiry, append nothing
    if (post.expired_via_event_id) {
        *output = s_appended_json (post.expired_via_event_id, post.expired_via_lamport);
        if (!*output)
            return HEARTH_ENOMEM;
        json_object_set_new (*output, "already_expired", json_true ());
        return 0;
    }
    char generated [ULID_SIZE];
    if (!client_id) {
        if ((rc = s_new_client_id (self, now_ms, generated)))
            return rc;
        client_id = generated;
    }
    Hearth__MarketPostExpired expired = HEARTH__MARKET_POST_EXPIRED__INIT;
    expired.client_id = (char *) client_id;
    expired.target_event_id = (char *) id;
    expired.reason = (Hearth__ExpiryReason) reason;
    Hearth__Event draft = HEARTH__EVENT__INIT;
    draft.type = HEARTH__EVENT_TYPE__MARKET_POST_EXPIRED;
    draft.payload_case = HEARTH__EVENT__PAYLOAD_MARKET_POST_EXPIRED;
    draft.market_post_expired = &expired;
    return s_append (self, &draft, now_ms, output, message);
}

/*  market.update: the fields to change of one of this node's live posts
    (docs/market.md, "market.update"). Validated like market.post; at least
    one field. Appends one market.post.updated, or answers with the event a
    client_id already names. */
static int
s_handle_update (market_t *self, const json_t *input, const uint8_t *caller, uint64_t now_ms,
                 json_t **output, char **message)
{
    static const char *const allowed [] = {
        "event_id", "post_id", "title", "body", "tags", "location", "ttl_seconds", "client_id", NULL
    };
    int rc = s_check_self (self, caller, "market.update", message);
    if (rc || (rc = s_check_keys (input, allowed, message)))
        return rc;
    const char *id, *alias, *title, *body, *client_id;
    if ((rc = s_text (input, "event_id", ULID_LEN, 0, &id, message))
    ||  (rc = s_text (input, "post_id", ULID_LEN, 0, &alias, message)))
        return rc;
    if (id && alias)
        return s_fail (message, HEARTH_EINVAL, "give event_id or post_id, not both");
    if (!id && !(id = alias))
        return s_fail (message, HEARTH_EINVAL, "event_id (the post's id) is required");
    if ((rc = s_text (input, "title", EVENT_MAX_TITLE_BYTES, 0, &title, message))
    ||  (rc = s_text (input, "body", EVENT_MAX_BODY_BYTES, 0, &body, message))
    ||  (rc = s_text (input, "client_id", EVENT_MAX_CLIENT_ID_BYTES, 0, &client_id, message)))
        return rc;
    //  location: an object sets it, null removes it
    Hearth__Location loc = HEARTH__LOCATION__INIT;
    int has_loc = 0;
    json_t *loc_value = s_get (input, "location");
    int clear_loc = loc_value && json_is_null (loc_value);
    if (!clear_loc && (rc = s_location (input, &loc, &has_loc, message)))
        return rc;
    int64_t ttl = 0;
    if ((rc = s_integer (input, "ttl_seconds", 1, (int64_t) self->cfg.max_ttl_seconds, &ttl, message)))
        return rc;
    json_t *tags_value = s_get (input, "tags");
    char **tags;
    size_t n_tags;
    if ((rc = s_tags (input, &tags, &n_tags, message)))
        return rc;
    if (!title && !body && !tags_value && !loc_value && !ttl) {
        s_tags_free (tags, n_tags);
        return s_fail (message, HEARTH_EINVAL,
                       "nothing to update: give title, body, tags, location or ttl_seconds");
    }
    //  The same client_id answers with the same event, before anything that
    //  may have changed since (the post may have expired meanwhile)
    char generated [ULID_SIZE];
    if (client_id) {
        if ((rc = s_find_client (self, client_id, HEARTH__EVENT_TYPE__MARKET_POST_UPDATED, output,
                                 message)) != 0) {
            s_tags_free (tags, n_tags);
            return rc > 0? 0: rc;
        }
    }
    market_post_t post;
    if (market_view_get (self->view, id, eventlog_membership (self->log), &post)
    ||  market_view_is_expired (&post, now_ms)) {
        s_tags_free (tags, n_tags);
        return s_fail (message, HEARTH_ENOTFOUND, "no live post with event_id %s", id);
    }
    if (memcmp (post.author, identity_public_key (self->self_id), 32) != 0) {
        s_tags_free (tags, n_tags);
        return s_fail (message, HEARTH_EUNAUTHORIZED, "only the post's author may update it");
    }
    if (!client_id) {
        if ((rc = s_new_client_id (self, now_ms, generated))) {
            s_tags_free (tags, n_tags);
            return rc;
        }
        client_id = generated;
    }
    Hearth__MarketPostUpdated updated = HEARTH__MARKET_POST_UPDATED__INIT;
    updated.client_id = (char *) client_id;
    updated.target_event_id = (char *) id;
    updated.title = (char *) (title? title: "");
    updated.body = (char *) (body? body: "");
    updated.replace_tags = tags_value != NULL;
    updated.tags = tags;
    updated.n_tags = n_tags;
    updated.location = has_loc? &loc: NULL;
    updated.clear_location = clear_loc;
    updated.ttl_seconds = (uint64_t) ttl;
    Hearth__Event draft = HEARTH__EVENT__INIT;
    draft.type = HEARTH__EVENT_TYPE__MARKET_POST_UPDATED;
    draft.payload_case = HEARTH__EVENT__PAYLOAD_MARKET_POST_UPDATED;
    draft.market_post_updated = &updated;
    rc = s_append (self, &draft, now_ms, output, message);
    s_tags_free (tags, n_tags);
    return rc;
}

int
market_capability_limits (const char *capability, uint32_t *max_concurrent, uint32_t *timeout_seconds)
{
    static const struct {
        const char *name;
        uint32_t    max_concurrent, timeout_seconds;
    } s_descriptors [] = {
        { "market.list",   MARKET_LIST_MAX_CONCURRENT,   MARKET_LIST_TIMEOUT_SECONDS },
        { "market.post",   MARKET_POST_MAX_CONCURRENT,   MARKET_POST_TIMEOUT_SECONDS },
        { "market.expire", MARKET_EXPIRE_MAX_CONCURRENT, MARKET_EXPIRE_TIMEOUT_SECONDS },
        { "market.update", MARKET_UPDATE_MAX_CONCURRENT, MARKET_UPDATE_TIMEOUT_SECONDS },
        { "market.search", MARKET_SEARCH_MAX_CONCURRENT, MARKET_SEARCH_TIMEOUT_SECONDS },
    };
    for (size_t i = 0; capability && i < sizeof s_descriptors / sizeof s_descriptors [0]; i++)
        if (strcmp (capability, s_descriptors [i].name) == 0) {
            if (max_concurrent)
                *max_concurrent = s_descriptors [i].max_concurrent;
            if (timeout_seconds)
                *timeout_seconds = s_descriptors [i].timeout_seconds;
            return HEARTH_OK;
        }
    return HEARTH_ENOTFOUND;
}

int
market_handle (market_t *self, const char *capability, const json_t *input,
               const uint8_t caller [32], uint64_t now_ms, json_t **output, char **message)
{
    *output = NULL;
    if (message)
        *message = NULL;
    int rc;
    if (!capability)
        rc = s_fail (message, HEARTH_ESCHEMA, "no capability named");
    else
    if (strcmp (capability, "market.list") == 0)
        rc = s_handle_list (self, input, now_ms, output, message);
    else
    if (strcmp (capability, "market.get") == 0)
        rc = s_handle_get (self, input, now_ms, output, message);
    else
    if (strcmp (capability, "market.search") == 0)
        rc = s_handle_search (self, input, now_ms, output, message);
    else
    if (strcmp (capability, "market.post") == 0)
        rc = s_handle_post (self, input, caller, now_ms, output, message);
    else
    if (strcmp (capability, "market.expire") == 0)
        rc = s_handle_expire (self, input, caller, now_ms, output, message);
    else
    if (strcmp (capability, "market.update") == 0)
        rc = s_handle_update (self, input, caller, now_ms, output, message);
    else
        rc = s_fail (message, HEARTH_ESCHEMA, "unknown capability '%s'", capability);
    if (rc && *output) {
        json_decref (*output);
        *output = NULL;
    }
    return rc;
}

/* ---- sweeper --------------------------------------------------------------------- */

typedef struct {
    uint64_t now_ms;
    char   (*ids) [ULID_SIZE];      /* borrowed buffer of S_SWEEP_MAX_PER_PASS */
    size_t   n;
} s_sweep_ctx_t;

static int
s_sweep_visit (void *arg, const market_post_t *post)
{
    s_sweep_ctx_t *ctx = (s_sweep_ctx_t *) arg;
    if (post->expired_via_event_id || ctx->now_ms < post->expires_at_ms)
        return 0;
    snprintf (ctx->ids [ctx->n++], ULID_SIZE, "%s", post->event_id);
    return ctx->n == S_SWEEP_MAX_PER_PASS;
}

int
market_sweep (market_t *self, uint64_t now_ms)
{
    const uint8_t *me = identity_public_key (self->self_id);
    if (membership_level (eventlog_membership (self->log), me) < HEARTH__LEVEL__LEVEL_TRUSTED)
        return 0;
    //  Collect first: appending feeds the view, which must not change under
    //  market_view_each
    char (*ids) [ULID_SIZE] = (char (*) [ULID_SIZE]) malloc (S_SWEEP_MAX_PER_PASS * ULID_SIZE);
    if (!ids)
        return HEARTH_ENOMEM;
    s_sweep_ctx_t ctx = { now_ms, ids, 0 };
    market_view_each (self->view, eventlog_membership (self->log), s_sweep_visit, &ctx);
    int appended = 0, rc = 0;
    for (size_t i = 0; i < ctx.n; i++) {
        char client_id [sizeof S_SWEEP_CLIENT_PREFIX + ULID_SIZE];
        snprintf (client_id, sizeof client_id, S_SWEEP_CLIENT_PREFIX "%s", ids [i]);
        char found [ULID_SIZE];
        if (eventlog_find_client (self->log, me, client_id, found) == 0)
            continue;               // swept before (e.g. our claim no longer counts)
        Hearth__MarketPostExpired expired = HEARTH__MARKET_POST_EXPIRED__INIT;
        expired.client_id = client_id;
        expired.target_event_id = ids [i];
        expired.reason = HEARTH__EXPIRY_REASON__EXPIRY_REASON_STALE;
        Hearth__Event draft = HEARTH__EVENT__INIT;
        draft.type = HEARTH__EVENT_TYPE__MARKET_POST_EXPIRED;
        draft.payload_case = HEARTH__EVENT__PAYLOAD_MARKET_POST_EXPIRED;
        draft.market_post_expired = &expired;
        rc = eventlog_append_local (self->log, self->self_id, &draft, now_ms, NULL);
        if (rc) {
            hlog_warn ("market", "sweeper: could not expire %s: %s", ids [i], hearth_strerror (rc));
            break;
        }
        appended++;
    }
    free (ids);
    if (appended > 0)
        hlog_info ("market", "sweeper: marked %d post%s stale", appended, appended == 1? "": "s");
    return rc && appended == 0? rc: appended;
}
