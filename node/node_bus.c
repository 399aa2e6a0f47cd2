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
#include "hearth_json.h"
#include "hearth_log.h"
#include "market_view.h"
#include "node_bus.h"
#include "node_control.h"
#include "node_config.h"
#include "node_data.h"
#include "node_embed.h"
#include "node_event_json.h"
#include "node_invite.h"
#include "node_members.h"
#include "node_signer.h"
#include <sodium.h>

#define S_LOG "bus"

struct _node_bus_t {
    eventlog_t       *log;        /* borrowed */
    market_t         *market;     /* borrowed */
    const identity_t *identity;   /* borrowed */
    node_stats_t     *stats;      /* borrowed */
    uint64_t          started_mono_ms;
    char             *keys_dir;   /* owned; NULL = cannot sign invites */
    char             *address;    /* owned; NULL = not listening for peers */
    char             *http_url;   /* owned; NULL = no HTTP listener */
    char             *community_name;  /* owned cache; NULL until found */
    gossip_t         *mesh;       /* borrowed; NULL = none */
    node_embed_t     *embed;      /* borrowed; NULL = none */
};

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
        node_bus_t *self = *self_p;
        free (self->keys_dir);
        free (self->address);
        free (self->http_url);
        free (self->community_name);
        free (self);
        *self_p = NULL;
    }
}

/*  Replace an owned string field with a copy of value (NULL clears). */
static int
s_set_string (char **field, const char *value)
{
    char *copy = value? strdup (value): NULL;
    if (value && !copy)
        return HEARTH_ENOMEM;
    free (*field);
    *field = copy;
    return HEARTH_OK;
}

int
node_bus_set_keys_dir (node_bus_t *self, const char *keys_dir)
{
    return s_set_string (&self->keys_dir, keys_dir);
}

int
node_bus_set_address (node_bus_t *self, const char *address)
{
    return s_set_string (&self->address, address);
}

int
node_bus_set_http_url (node_bus_t *self, const char *url)
{
    return s_set_string (&self->http_url, url);
}

void
node_bus_set_mesh (node_bus_t *self, gossip_t *mesh)
{
    self->mesh = mesh;
}

void
node_bus_set_embed (node_bus_t *self, node_embed_t *embed)
{
    self->embed = embed;
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
            *message = hearth_message ("unknown input field '%.64s'", key);
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
        *message = hearth_message ("'%s' must be an integer in %" PRIu64 "..%" PRIu64, key, min, max);
        return HEARTH_EINVAL;
    }
    *out = (uint64_t) json_integer_value (value);
    return HEARTH_OK;
}

/* ---- node.id ------------------------------------------------------------ */

static int
s_node_id (node_bus_t *self, const json_t *input, json_t **output, char **message)
{
    (void) input;
    (void) message;
    json_t *out = json_object ();
    if (!out)
        return HEARTH_ENOMEM;
    json_object_set_new (out, "node_id", json_string (identity_node_id (self->identity)));
    json_object_set_new (out, "short_id", json_string (identity_short_id (self->identity)));
    /*  The peer address, or null when the node does not listen for peers. */
    json_object_set_new (out, "address", self->address? json_string (self->address): json_null ());
    const uint8_t *community = eventlog_community_id (self->log);
    if (community) {
        char text [HEARTH_NODE_ID_SIZE];
        hearth_node_id_format (community, text);
        json_object_set_new (out, "community_id", json_string (text));
    }
    else
        json_object_set_new (out, "community_id", json_null ());
    /*  This node's own membership level, so scripts can wait for a join. */
    static const char *levels [] = { "none", "member", "trusted", "anchor" };
    int level = membership_level (eventlog_membership (self->log), identity_public_key (self->identity));
    json_object_set_new (out, "level", json_string (level >= 0 && level <= 3? levels [level]: "none"));
    /*  Where the page and the HTTP API answer, or null when off. */
    json_object_set_new (out, "http_url", self->http_url? json_string (self->http_url): json_null ());
    *output = out;
    return HEARTH_OK;
}

/* ---- node.stats --------------------------------------------------------- */

/*  Copy the gossip counters into mesh (peers: a new array the caller
    decrefs, or NULL). */
static void
s_mesh_sample (node_bus_t *self, node_stats_mesh_t *mesh)
{
    memset (mesh, 0, sizeof *mesh);
    mesh->address = gossip_address (self->mesh);
    mesh->counters = *gossip_stats (self->mesh);
    mesh->n_queries = gossip_query_stats (self->mesh, &mesh->queries);
    mesh->now_ms = hearth_now_ms ();
    json_t *peers = gossip_peers_json (self->mesh);
    mesh->peers = peers? json_incref (json_object_get (peers, "peers")): NULL;
    json_decref (peers);
}

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

/*  Sample the node (with its community and mesh) and render the stats
    as JSON (json_out) or Prometheus text (text_out); NULL if out of memory. */
static void
s_stats_render (node_bus_t *self, json_t **json_out, char **text_out)
{
    node_stats_sample_t sample;
    node_bus_stats_sample (self, &sample);
    char community [HEARTH_NODE_ID_SIZE];
    if (eventlog_community_id (self->log)) {
        hearth_node_id_format (eventlog_community_id (self->log), community);
        sample.community_id = community;
    }
    node_stats_mesh_t mesh;
    if (self->mesh) {
        s_mesh_sample (self, &mesh);
        sample.mesh = &mesh;
    }
    json_t *search = market_search_stats (self->market);
    sample.search = search;
    node_stats_process_t process;
    node_stats_process_read (&process, hearth_now_ms (), sample.uptime_ms);
    sample.process = &process;
    if (json_out) {
        *json_out = node_stats_json (self->stats, &sample);
        if (*json_out && self->embed)
            json_object_set_new (*json_out, "embed", node_embed_stats_json (self->embed));
    }
    else {
        *text_out = node_stats_prometheus (self->stats, &sample);
        char *more = self->embed && *text_out? node_embed_stats_prometheus (self->embed): NULL;
        if (more) {
            size_t a = strlen (*text_out), b = strlen (more);
            char *both = (char *) realloc (*text_out, a + b + 1);
            if (both) {
                memcpy (both + a, more, b + 1);
                *text_out = both;
            }
            free (more);
        }
    }
    json_decref (search);
    if (sample.mesh)
        json_decref ((json_t *) mesh.peers);
}

static int
s_node_stats (node_bus_t *self, const json_t *input, json_t **output, char **message)
{
    json_t *format = json_object_get (input, "format");
    const char *name = format? json_string_value (format): "json";
    if (!name || (strcmp (name, "json") != 0 && strcmp (name, "prometheus") != 0)) {
        *message = hearth_message ("'format' must be \"json\" or \"prometheus\"");
        return HEARTH_EINVAL;
    }
    if (strcmp (name, "json") == 0) {
        s_stats_render (self, output, NULL);
        return *output? HEARTH_OK: HEARTH_ENOMEM;
    }
    char *text = NULL;
    s_stats_render (self, NULL, &text);
    if (!text)
        return HEARTH_ENOMEM;
    *output = json_pack ("{s:s}", "text", text);
    free (text);
    return *output? HEARTH_OK: HEARTH_ENOMEM;
}

static const char *const s_stats_keys [] = { "format", NULL };

/*  A control-protocol request sent to the stats socket (`hearthctl --node
    STATS_ENDPOINT stats` does that): node.stats is answered as the control
    socket would; anything else gets an error that says what this socket is. */
static char *
s_stats_control (node_bus_t *self, const uint8_t *request, size_t len)
{
    char capability [NODE_CONTROL_MAX_CAPABILITY + 1];
    json_t *input = NULL, *output = NULL;
    char *message = NULL, *reply;
    if (node_control_request_parse (request, len, capability, &input, &message) != HEARTH_OK
    ||  strcmp (capability, "node.stats") != 0) {
        reply = node_control_reply_error (HEARTH_EINVAL,
                                          "this is the stats socket: it answers \"json\", "
                                          "\"prometheus\" or a node.stats request; the other "
                                          "capabilities are on the control socket and the HTTP "
                                          "API");
        json_decref (input);
        free (message);
        return reply;
    }
    int rc = s_check_keys (input, s_stats_keys, &message);
    if (rc == HEARTH_OK)
        rc = s_node_stats (self, input, &output, &message);
    reply = rc == HEARTH_OK? node_control_reply_ok (output, 0)
                           : node_control_reply_error (rc, message);
    json_decref (input);
    json_decref (output);
    free (message);
    return reply;
}

char *
node_bus_stats_text (node_bus_t *self, const uint8_t *request, size_t len)
{
    int json = len == 4 && memcmp (request, "json", 4) == 0;
    int prometheus = len == 10 && memcmp (request, "prometheus", 10) == 0;
    if (!json && !prometheus)
        return s_stats_control (self, request, len);
    char *text = NULL;
    json_t *object = NULL;
    s_stats_render (self, prometheus? NULL: &object, &text);
    if (prometheus || !object)
        return text;
    text = json_dumps (object, HEARTH_JSON_FLAGS);
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
    int      with_signed;   /* node_data_export_fields on each envelope */
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
    json_t *envelope = node_event_json (ev);
    if (envelope && page->with_signed && node_data_export_fields (envelope, ev) != HEARTH_OK) {
        json_decref (envelope);
        envelope = NULL;
    }
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
    uint64_t since = 0, limit = 0;
    int rc = s_get_uint (input, "since_lamport", 0, INT64_MAX, 0, &since, message);
    if (rc == HEARTH_OK)
        rc = s_get_uint (input, "limit", 1, NODE_BUS_EVENTS_MAX_LIMIT,
                         NODE_BUS_EVENTS_DEFAULT_LIMIT, &limit, message);
    json_t *with_signed = json_object_get (input, "signed");
    if (rc == HEARTH_OK && with_signed && !json_is_boolean (with_signed)) {
        *message = hearth_message ("'signed' must be true or false");
        rc = HEARTH_EINVAL;
    }
    if (rc != HEARTH_OK)
        return rc;
    s_events_page_t page = { json_array (), limit, 0, since, 0, 0, json_is_true (with_signed) };
    if (!page.events)
        return HEARTH_ENOMEM;
    rc = eventlog_scan (self->log, since, s_events_visit, &page);
    if (page.failed || rc < 0) {
        json_decref (page.events);
        if (rc < 0) {
            *message = hearth_message ("reading the event log failed: %s", hearth_strerror (rc));
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
    (void) input;
    s_refold_t refold = { market_view_new (), 0, 0 };
    if (!refold.view)
        return HEARTH_ENOMEM;
    int rc = eventlog_scan (self->log, 0, s_refold_visit, &refold);
    uint8_t live [32], rebuilt [32];         /* BLAKE2b-256 view digests */
    market_view_t *view = market_view (self->market);
    if (rc >= 0)
        rc = market_view_digest (view, live);
    if (rc >= 0)
        rc = market_view_digest (refold.view, rebuilt);
    if (rc < 0) {
        market_view_destroy (&refold.view);
        *message = hearth_message ("re-fold failed: %s", hearth_strerror (rc));
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

/* ---- node.peers ---------------------------------------------------------- */

/*  The links; with {"known": true} the known-peer table instead
    (gossip_known_json). */
static int
s_node_peers (node_bus_t *self, const json_t *input, json_t **output, char **message)
{
    const json_t *known = input? json_object_get (input, "known"): NULL;
    if (known && !json_is_boolean (known)) {
        *message = hearth_message ("known must be true or false");
        return HEARTH_EINVAL;
    }
    if (json_is_true (known))
        *output = self->mesh? gossip_known_json (self->mesh): json_pack ("{s:[]}", "known");
    else
        *output = self->mesh? gossip_peers_json (self->mesh): json_pack ("{s:[]}", "peers");
    return *output? HEARTH_OK: HEARTH_ENOMEM;
}

/* ---- community.invite --------------------------------------------------- */

static int
s_created_visit (void *arg, const event_t *ev)
{
    node_bus_t *self = (node_bus_t *) arg;
    const uint8_t *community = eventlog_community_id (self->log);
    const Hearth__Event *body = event_body (ev);
    if (event_type (ev) == HEARTH__EVENT_TYPE__COMMUNITY_CREATED && community
    &&  memcmp (event_author (ev), community, 32) == 0 && body->community_created) {
        self->community_name = strdup (body->community_created->name?
                                       body->community_created->name: "");
        return 1;
    }
    return 0;
}

/*  The community's name from its community.created event (cached). NULL
    if that event is not stored yet (a joining node before its first sync). */
static const char *
s_community_name (node_bus_t *self)
{
    if (!self->community_name)
        eventlog_scan (self->log, 0, s_created_visit, self);
    return self->community_name;
}

static int
s_community_invite (node_bus_t *self, const json_t *input, json_t **output, char **message)
{
    uint8_t invitee [32];
    const char *node_id = json_string_value (json_object_get (input, "node_id"));
    if (!node_id || hearth_node_id_parse (node_id, invitee) != HEARTH_OK) {
        *message = hearth_message ("'node_id' must be the invitee's full NodeID (ed25519:…, from "
                              "`hearthctl init --identity-only` or `hearthctl id` on its machine)");
        return HEARTH_EINVAL;
    }
    json_t *level_value = json_object_get (input, "level");
    const char *level_name = level_value? json_string_value (level_value): "member";
    int level;
    if (level_name && strcmp (level_name, "member") == 0)
        level = HEARTH__LEVEL__LEVEL_MEMBER;
    else
    if (level_name && strcmp (level_name, "trusted") == 0)
        level = HEARTH__LEVEL__LEVEL_TRUSTED;
    else {
        *message = hearth_message ("'level' must be \"member\" or \"trusted\"");
        return HEARTH_EINVAL;
    }
    uint64_t ttl = 0;
    int rc = s_get_uint (input, "ttl_seconds", 1, NODE_INVITE_MAX_TTL_SECONDS,
                     NODE_INVITE_DEFAULT_TTL_SECONDS, &ttl, message);
    if (rc != HEARTH_OK)
        return rc;
    /*  Where the invitee is to connect: this node's peer address and any
        given. None at all: refuse before appending, nobody could use it. */
    json_t *given = json_object_get (input, "bootstrap_endpoints");
    if (given && (!json_is_array (given) || json_array_size (given) > NODE_INVITE_MAX_ENDPOINTS)) {
        *message = hearth_message ("'bootstrap_endpoints' must be an array of at most %d peer "
                                   "addresses NODE_ID@tcp://HOST:PORT", NODE_INVITE_MAX_ENDPOINTS);
        return HEARTH_EINVAL;
    }
    for (size_t i = 0; i < json_array_size (given); i++) {
        const char *address = json_string_value (json_array_get (given, i));
        if (!address || !node_invite_address_valid (address)) {
            *message = hearth_message ("bootstrap endpoint %zu is not a peer address "
                                       "NODE_ID@tcp://HOST:PORT (a member's `hearthctl id`)", i + 1);
            return HEARTH_EINVAL;
        }
    }
    if (!self->address && json_array_size (given) == 0) {
        *message = hearth_message ("this node does not listen for peers and no bootstrap endpoint "
                                   "was given, so nobody could use the invite: start hearthd with "
                                   "--listen tcp://0.0.0.0:%d (and --advertise), or name a member "
                                   "that listens with --endpoint NODE_ID@tcp://HOST:PORT",
                                   NODE_CONFIG_PEER_PORT);
        return HEARTH_EINVAL;
    }
    const membership_t *members = eventlog_membership (self->log);
    if (membership_revoked (members, invitee)) {
        *message = hearth_message ("%s was revoked; a revoked key never returns", node_id);
        return HEARTH_EREVOKED;
    }
    if (membership_level (members, invitee) != HEARTH__LEVEL__LEVEL_NONE) {
        *message = hearth_message ("%s is already a member", node_id);
        return HEARTH_EEXISTS;
    }
    const char *name = s_community_name (self);
    if (!name || !*name) {
        *message = hearth_message ("this node has not synced its community's creation yet; invite "
                              "from a node that has");
        return HEARTH_EUNAUTHORIZED;
    }
    if (!self->keys_dir) {
        *message = hearth_message ("this node cannot sign invites (no keys dir)");
        return HEARTH_ENOTIMPL;
    }
    int err = 0;
    node_signer_t *signer = node_signer_load (self->keys_dir, &err);
    if (!signer) {
        *message = hearth_message ("cannot read the device key to sign the invite: %s",
                              hearth_strerror (err));
        return err;
    }
    if (memcmp (node_signer_public_key (signer), identity_public_key (self->identity), 32) != 0) {
        node_signer_destroy (&signer);
        *message = hearth_message ("the key file no longer matches this node's identity");
        return HEARTH_EKEYS;
    }
    /*  Whole seconds, so the event and the blob's RFC 3339 time agree. */
    uint64_t now_ms = hearth_now_ms ();
    uint64_t expires_at_ms = (now_ms / 1000 + ttl) * 1000;
    Hearth__MemberInvited invited = HEARTH__MEMBER_INVITED__INIT;
    invited.invitee.data = invitee;
    invited.invitee.len = 32;
    invited.initial_level = (Hearth__Level) level;
    invited.expires_at_ms = expires_at_ms;
    invited.display_name = (char *) "";
    Hearth__Event draft = HEARTH__EVENT__INIT;
    draft.type = HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_INVITED;
    draft.payload_case = HEARTH__EVENT__PAYLOAD_MEMBER_INVITED;
    draft.member_invited = &invited;
    event_t *ev = NULL;
    rc = eventlog_append_local (self->log, self->identity, &draft, now_ms, &ev);
    if (rc != HEARTH_OK) {
        node_signer_destroy (&signer);
        if (rc == HEARTH_EUNAUTHORIZED)
            *message = hearth_message ("this node may not issue this invite (a member may invite "
                                  "members; a trusted invite needs a trusted or anchor inviter; "
                                  "an inviter holds at most %d pending invites, %d if trusted)",
                                  MEMBERSHIP_INVITES_PER_MEMBER, MEMBERSHIP_INVITES_PER_TRUSTED);
        else
            *message = hearth_message ("could not append the invite: %s", hearth_strerror (rc));
        return rc;
    }
    node_invite_t *invite = node_invite_new (eventlog_community_id (self->log), name,
                                             identity_public_key (self->identity), invitee, level,
                                             event_id (ev), expires_at_ms);
    rc = invite? HEARTH_OK: HEARTH_ENOMEM;
    if (rc == HEARTH_OK && self->address)
        rc = node_invite_endpoint_add (invite, self->address);
    for (size_t i = 0; rc == HEARTH_OK && i < json_array_size (given); i++)
        if (!self->address || strcmp (self->address, json_string_value (json_array_get (given, i))) != 0)
            rc = node_invite_endpoint_add (invite, json_string_value (json_array_get (given, i)));
    if (rc == HEARTH_OK)
        rc = node_invite_sign (invite, signer);
    node_signer_destroy (&signer);
    *output = rc == HEARTH_OK? node_invite_json (invite): NULL;
    if (rc == HEARTH_OK && !*output)
        rc = HEARTH_ENOMEM;
    if (rc == HEARTH_OK)
        hlog_info (S_LOG, "invited %s as %s (event %s, expires in %" PRIu64 " s)", node_id,
                   level_name, event_id (ev), ttl);
    else
        *message = hearth_message ("the invite event %s was appended but the blob failed: %s",
                              event_id (ev), hearth_strerror (rc));
    node_invite_destroy (&invite);
    event_destroy (&ev);
    return rc;
}

/* ---- member.* (node_members.h) ------------------------------------------ */

static int
s_member_list (node_bus_t *self, const json_t *input, json_t **output, char **message)
{
    return node_members_list (self->log, input, output, message);
}

static int
s_member_promote (node_bus_t *self, const json_t *input, json_t **output, char **message)
{
    return node_members_promote (self->log, self->identity, input, output, message);
}

static int
s_member_demote (node_bus_t *self, const json_t *input, json_t **output, char **message)
{
    return node_members_demote (self->log, self->identity, input, output, message);
}

static int
s_member_revoke (node_bus_t *self, const json_t *input, json_t **output, char **message)
{
    return node_members_revoke (self->log, self->identity, input, output, message);
}

static int
s_member_endorse (node_bus_t *self, const json_t *input, json_t **output, char **message)
{
    return node_members_endorse (self->log, self->identity, input, output, message);
}

static int
s_member_proposals (node_bus_t *self, const json_t *input, json_t **output, char **message)
{
    return node_members_proposals (self->log, input, output, message);
}

/* ---- node.view_digest --------------------------------------------------- */

typedef struct {
    crypto_generichash_state state;
    uint64_t                 count;
} s_set_digest_t;

static int
s_set_digest_visit (void *arg, uint64_t lamport, const uint8_t hash [32])
{
    s_set_digest_t *digest = (s_set_digest_t *) arg;
    uint8_t item [8 + 32];
    for (int i = 0; i < 8; i++)
        item [i] = (uint8_t) (lamport >> (56 - 8 * i));
    memcpy (item + 8, hash, 32);
    crypto_generichash_update (&digest->state, item, sizeof item);
    digest->count++;
    return 0;
}

/*  Cheap convergence check for tests and benches: the live market view's
    digest and a digest of the stored event set (BLAKE2b-256 over every
    (lamport BE, hash) in order). Two nodes with the same events give the
    same pair; no re-fold, unlike node.verify_views. */
static int
s_view_digest (node_bus_t *self, const json_t *input, json_t **output, char **message)
{
    (void) input;
    uint8_t view [32], events [32];
    int rc = market_view_digest (market_view (self->market), view);
    if (rc != HEARTH_OK) {
        *message = hearth_message ("market view digest failed: %s", hearth_strerror (rc));
        return rc;
    }
    s_set_digest_t digest;
    digest.count = 0;
    crypto_generichash_init (&digest.state, NULL, 0, sizeof events);
    rc = eventlog_scan_order (self->log, s_set_digest_visit, &digest);
    if (rc < 0) {
        *message = hearth_message ("reading the order index failed: %s", hearth_strerror (rc));
        return rc;
    }
    crypto_generichash_final (&digest.state, events, sizeof events);
    char view_hex [65], events_hex [65];      /* 2 hex chars per byte + NUL */
    hearth_hex_encode (view, 32, view_hex);
    hearth_hex_encode (events, 32, events_hex);
    *output = json_pack ("{s:s, s:s, s:I, s:I, s:I}", "view_digest", view_hex,
                         "events_digest", events_hex, "events", (json_int_t) digest.count,
                         "posts", (json_int_t) market_view_count (market_view (self->market)),
                         "lamport_head", (json_int_t) eventlog_stats (self->log)->lamport_head);
    return *output? HEARTH_OK: HEARTH_ENOMEM;
}

/* ---- events.import, node.backup (node_data.h) ---------------------------- */

static int
s_events_import (node_bus_t *self, const json_t *input, json_t **output, char **message)
{
    return node_data_import (self->log, input, output, message);
}

static int
s_node_backup (node_bus_t *self, const json_t *input, json_t **output, char **message)
{
    return node_data_backup (self->log, input, output, message);
}

/* ---- node.capabilities ---------------------------------------------------- */

static int
s_node_capabilities (node_bus_t *self, const json_t *input, json_t **output, char **message)
{
    (void) input;
    (void) message;
    *output = self->embed? node_embed_capabilities (self->embed)
                         : json_pack ("{s:[]}", "capabilities");
    return *output? HEARTH_OK: HEARTH_ENOMEM;
}

/* ---- dispatch ------------------------------------------------------------ */

static int
s_is_market (const char *capability)
{
    static const char *names [] = {
        "market.list", "market.get", "market.post", "market.expire", "market.search",
        "market.update"
    };
    for (size_t i = 0; i < sizeof names / sizeof names [0]; i++)
        if (strcmp (capability, names [i]) == 0)
            return 1;
    return 0;
}

/*  The node's own capabilities and the input fields each accepts: the
    dispatcher refuses any other field before calling the handler. */
typedef int (s_handler_fn) (node_bus_t *self, const json_t *input, json_t **output,
                            char **message);
static const char *const s_no_keys [] = { NULL };
static const char *const s_events_keys [] = { "since_lamport", "limit", "signed", NULL };
static const char *const s_import_keys [] = { "events", NULL };
static const char *const s_backup_keys [] = { "dir", NULL };
static const char *const s_invite_keys [] = { "node_id", "level", "ttl_seconds",
                                              "bootstrap_endpoints", NULL };
static const char *const s_peers_keys [] = { "known", NULL };
static const char *const s_member_change_keys [] = { "node_id", "level", "reason", "ttl_seconds", NULL };
static const char *const s_member_revoke_keys [] = { "node_id", "reason", "ttl_seconds", NULL };
static const char *const s_member_endorse_keys [] = { "proposal_id", NULL };
static const char *const s_member_proposals_keys [] = { "all", NULL };
static const struct {
    const char        *name;
    s_handler_fn      *handler;
    const char *const *allowed;
} s_handlers [] = {
    { "node.id",           s_node_id,          s_no_keys },
    { "node.capabilities", s_node_capabilities, s_no_keys },
    { "node.stats",        s_node_stats,       s_stats_keys },
    { "events.list",       s_events_list,      s_events_keys },
    { "node.verify_views", s_verify_views,     s_no_keys },
    { "node.peers",        s_node_peers,       s_peers_keys },
    { "node.view_digest",  s_view_digest,      s_no_keys },
    { "community.invite",  s_community_invite, s_invite_keys },
    { "events.import",     s_events_import,    s_import_keys },
    { "node.backup",       s_node_backup,      s_backup_keys },
    { "member.list",       s_member_list,      s_no_keys },
    { "member.promote",    s_member_promote,   s_member_change_keys },
    { "member.demote",     s_member_demote,    s_member_change_keys },
    { "member.revoke",     s_member_revoke,    s_member_revoke_keys },
    { "member.endorse",    s_member_endorse,   s_member_endorse_keys },
    { "member.proposals",  s_member_proposals, s_member_proposals_keys }
};

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
    for (size_t i = 0; i < sizeof s_handlers / sizeof s_handlers [0]; i++)
        if (strcmp (capability, s_handlers [i].name) == 0) {
            int rc = s_check_keys (input, s_handlers [i].allowed, message);
            return rc == HEARTH_OK? s_handlers [i].handler (self, input, output, message): rc;
        }
    *message = hearth_message ("no capability named '%s' on this node", capability);
    return HEARTH_ENOTFOUND;
}

/*  The reply of a finished request, with its stats. */
static char *
s_reply (node_bus_t *self, const char *label, int64_t start_us, int rc, const json_t *output,
         const char *message)
{
    /*  A handler that reports success must hand back an output object. */
    if (rc == HEARTH_OK && !json_is_object (output))
        rc = HEARTH_ENOMEM;
    int64_t elapsed_us = zclock_usecs () - start_us;
    if (elapsed_us < 0)
        elapsed_us = 0;
    node_stats_request_record (self->stats, label, rc, (double) elapsed_us / 1e6);
    if (rc == HEARTH_OK)
        return node_control_reply_ok ((json_t *) output, (uint64_t) elapsed_us / 1000);
    hearth_log_limited (HEARTH_LOG_DEBUG, S_LOG, "request.error", "%s: %s: %s",
                        label, hearth_error_code (rc), message? message: hearth_strerror (rc));
    return node_control_reply_error (rc, message);
}

/*  A request answered later (market.search waiting for its embedding). */
typedef struct {
    node_bus_t       *bus;
    int64_t           start_us;
    node_bus_send_fn *send;
    void             *send_arg;
} s_later_t;

static void
s_later_done (void *arg, int rc, const json_t *output, const char *message)
{
    s_later_t *later = (s_later_t *) arg;
    if (rc == HEARTH_OK && !json_is_object (output))
        rc = HEARTH_ENOMEM;
    char *reply = s_reply (later->bus, "market.search", later->start_us, rc, output, message);
    later->send (later->send_arg, rc, reply);
    free (later);
}

int
node_bus_call_defers (node_bus_t *self, const char *capability)
{
    return self->embed && strcmp (capability, "market.search") == 0;
}

/*  One parsed call, deferred when it waits and send is given (then
    *deferred is 1 and nothing else is set), else answered into *output or
    *message with the result returned. */
static int
s_call (node_bus_t *self, const char *capability, const json_t *input, int64_t start_us,
        node_bus_send_fn *send, void *send_arg, int *deferred, json_t **output, char **message)
{
    *deferred = 0;
    s_later_t *later = NULL;
    if (send && node_bus_call_defers (self, capability)
    &&  (later = (s_later_t *) calloc (1, sizeof *later))) {
        *later = (s_later_t) { self, start_us, send, send_arg };
        int rc = node_embed_search (self->embed, input, s_later_done, later, output, message);
        if (rc == NODE_EMBED_DEFERRED) {
            *deferred = 1;
            return HEARTH_OK;
        }
        free (later);
        return rc;
    }
    return node_bus_call (self, capability, input, output, message);
}

char *
node_bus_handle_call_async (node_bus_t *self, const char *capability, const json_t *input,
                            node_bus_send_fn *send, void *send_arg, int *result, int *deferred)
{
    int64_t start_us = zclock_usecs ();
    json_t *output = NULL;
    char *message = NULL;
    int rc = s_call (self, capability, input, start_us, send, send_arg, deferred, &output, &message);
    if (*deferred) {
        *result = HEARTH_OK;
        return NULL;
    }
    if (rc == HEARTH_OK && !json_is_object (output))
        rc = HEARTH_ENOMEM;
    /*  Unknown names are counted as the control socket counts them. */
    char *reply = s_reply (self, node_stats_capability_known (capability)? capability
                                 : NODE_STATS_CAP_UNKNOWN, start_us, rc, output, message);
    json_decref (output);
    free (message);
    *result = rc;
    return reply;
}

char *
node_bus_handle_call (node_bus_t *self, const char *capability, const json_t *input, int *result)
{
    int deferred;
    return node_bus_handle_call_async (self, capability, input, NULL, NULL, result, &deferred);
}

char *
node_bus_handle_frame_async (node_bus_t *self, const uint8_t *data, size_t len,
                             node_bus_send_fn *send, void *send_arg, int *deferred)
{
    *deferred = 0;
    int64_t start_us = zclock_usecs ();
    char capability [NODE_CONTROL_MAX_CAPABILITY + 1];
    json_t *input = NULL, *output = NULL;
    char *message = NULL;
    const char *label = NODE_STATS_CAP_INVALID;
    int rc = node_control_request_parse (data, len, capability, &input, &message);
    if (rc == HEARTH_OK) {
        label = capability;
        rc = s_call (self, capability, input, start_us, send, send_arg, deferred, &output, &message);
        if (*deferred) {
            json_decref (input);
            return NULL;
        }
    }
    char *reply = s_reply (self, label, start_us, rc, output, message);
    json_decref (input);
    json_decref (output);
    free (message);
    return reply;
}

char *
node_bus_handle_frame (node_bus_t *self, const uint8_t *data, size_t len)
{
    int deferred;
    return node_bus_handle_frame_async (self, data, len, NULL, NULL, &deferred);
}
