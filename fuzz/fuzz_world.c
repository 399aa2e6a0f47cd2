/*  fuzz_world.c — a real node's state for fuzz targets and seeds. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "fuzz.h"
#include "fuzz_world.h"
#include "hearth_error.h"
#include "node_control.h"

const char *const fuzz_world_requests [] = {
    "{\"capability\":\"market.post\",\"input\":{\"client_id\":\"c1\",\"category\":\"offer\","
        "\"title\":\"Apples\",\"body\":\"Two bags of apples, come by any evening.\","
        "\"tags\":[\"food\",\"free\"],\"location\":{\"lat\":52.52,\"lng\":13.405,\"label\":\"Kiez\"},"
        "\"ttl_seconds\":604800}}",
    "{\"capability\":\"market.post\",\"input\":{\"client_id\":\"c2\",\"category\":\"request\","
        "\"title\":\"Ladder wanted\",\"body\":\"For one afternoon.\",\"tags\":[\"tools\"]}}",
    "{\"capability\":\"market.post\",\"input\":{\"client_id\":\"c3\",\"category\":\"offer\","
        "\"title\":\"Lindenstra\\u00dfe Kinderwagen\",\"body\":\"\\u00fcbrig\"}}",
    "{\"capability\":\"market.list\",\"input\":{\"limit\":10,\"tags\":[\"food\"]}}",
    "{\"capability\":\"market.list\",\"input\":{\"category\":\"offer\",\"since_lamport\":1}}",
    "{\"capability\":\"market.search\",\"input\":{\"query\":\"apples\",\"k\":5}}",
    "{\"capability\":\"market.get\",\"input\":{\"event_id\":\"01J00000000000000000000000\"}}",
    "{\"capability\":\"market.expire\",\"input\":{\"event_id\":\"01J00000000000000000000000\","
        "\"reason\":\"fulfilled\"}}",
    "{\"capability\":\"node.id\"}",
    "{\"capability\":\"node.peers\",\"input\":{}}",
    "{\"capability\":\"node.stats\",\"input\":{\"format\":\"json\"}}",
    "{\"capability\":\"node.stats\",\"input\":{\"format\":\"prometheus\"}}",
    "{\"capability\":\"events.list\",\"input\":{\"since_lamport\":0,\"limit\":3}}",
    "{\"capability\":\"node.view_digest\",\"input\":{},\"params\":{}}",
    "{\"capability\":\"node.verify_views\"}",
    NULL
};

void
fuzz_world_open (fuzz_world_t *w, const char *name, int populate)
{
    memset (w, 0, sizeof *w);
    fuzz_quiet ();
    const char *dir = fuzz_tmpdir (name);
    if (!dir)
        abort ();
    snprintf (w->dir, sizeof w->dir, "%s", dir);
    snprintf (w->keys, sizeof w->keys, "%s/keys", dir);
    char db [700];
    snprintf (db, sizeof db, "%s/db", dir);
    int err = 0;
    w->id = identity_create (w->keys, &err);
    if (w->id)
        snprintf (w->address, sizeof w->address, "%s@tcp://127.0.0.1:7400", identity_node_id (w->id));
    w->log = w->id? eventlog_open (db, &err): NULL;
    if (!w->log
    ||  eventlog_community_create (w->log, w->id, "Fuzzkiez", 1767225600000ull) != 0
    ||  !(w->market = market_new (w->log, w->id, NULL))
    ||  eventlog_views_load (w->log, NULL) != 0
    ||  !(w->stats = node_stats_new ())
    ||  !(w->bus = node_bus_new (w->log, w->market, w->id, w->stats))
    ||  node_bus_set_keys_dir (w->bus, w->keys) != 0
    ||  node_bus_set_address (w->bus, w->address) != 0) {
        fprintf (stderr, "fuzz_world_open: cannot set up a node in %s (%d)\n", dir, err);
        abort ();
    }
    if (!populate)
        return;
    for (size_t i = 0; fuzz_world_requests [i]; i++)
        free (fuzz_world_call (w, fuzz_world_requests [i]));
    /*  Expire the first post (by its real id) and invite a member. */
    char *reply = fuzz_world_call (w, "{\"capability\":\"market.list\",\"input\":{\"limit\":1}}");
    json_t *root = json_loads (reply, 0, NULL);
    json_t *posts = json_object_get (json_object_get (root, "output"), "posts");
    const char *id = json_string_value (json_object_get (json_array_get (posts, 0), "event_id"));
    if (id) {
        char req [256];
        snprintf (req, sizeof req, "{\"capability\":\"market.expire\",\"input\":{\"event_id\":\"%s\","
                  "\"reason\":\"fulfilled\"}}", id);
        free (fuzz_world_call (w, req));
    }
    json_decref (root);
    free (reply);
    free (fuzz_world_invite (w));
}

void
fuzz_world_close (fuzz_world_t *w)
{
    node_bus_destroy (&w->bus);
    eventlog_destroy (&w->log);             /* the log first: it snapshots the view */
    market_destroy (&w->market);
    node_stats_destroy (&w->stats);
    identity_destroy (&w->id);
}

char *
fuzz_world_call (fuzz_world_t *w, const char *request)
{
    char *reply = node_bus_handle_frame (w->bus, (const uint8_t *) request, strlen (request));
    if (!reply)
        abort ();
    return reply;
}

typedef struct {
    fuzz_emit_fn *emit;
    void         *arg;
} s_emit_t;

static int
s_event_fn (void *arg, const event_t *ev)
{
    s_emit_t *e = (s_emit_t *) arg;
    size_t len;
    const uint8_t *wire = event_wire (ev, &len);
    e->emit (e->arg, wire, len);
    return 0;
}

void
fuzz_world_events (fuzz_world_t *w, fuzz_emit_fn *emit, void *arg)
{
    s_emit_t e = { emit, arg };
    eventlog_scan (w->log, 0, s_event_fn, &e);
}

char *
fuzz_world_invite (fuzz_world_t *w)
{
    uint8_t seed [32];
    randombytes_buf (seed, sizeof seed);
    identity_t *other = identity_from_seed (seed);
    char req [512];
    snprintf (req, sizeof req, "{\"capability\":\"community.invite\",\"input\":{\"node_id\":\"%s\","
              "\"level\":\"member\",\"ttl_seconds\":3600}}", identity_node_id (other));
    identity_destroy (&other);
    char *reply = fuzz_world_call (w, req);
    json_t *root = json_loads (reply, 0, NULL);
    free (reply);
    json_t *out = json_object_get (root, "output");
    char *text = out? json_dumps (out, JSON_COMPACT | JSON_SORT_KEYS): NULL;
    json_decref (root);
    return text;
}
