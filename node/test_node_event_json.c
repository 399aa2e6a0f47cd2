/*  test_node_event_json.c — an event's JSON envelope (node_event_json.h):
    a signed post renders with every envelope field and its data. */
#include "test_util.h"
#include "node_event_json.h"

static const uint8_t s_community [32] = { 7, 7, 7 };

HT_TEST (test_node_event_json)
{
    identity_t *id = tu_identity (5);
    tu_post_t d;
    tu_post_init (&d, id, s_community, 12, 1779783262000ULL, 4, "c-4", "Bike pump");
    event_t *ev = event_sign (&d.ev, id, NULL);
    HT_CHECK (ev != NULL);
    if (!ev)
        return;
    json_t *j = node_event_json (ev);
    HT_CHECK (j != NULL);
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (j, "schema_version")), 1);
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (j, "lamport")), 12);
    HT_CHECK_EQ_STR (json_string_value (json_object_get (j, "event_type")), "market.post.created");
    HT_CHECK_EQ_STR (json_string_value (json_object_get (j, "author")), identity_node_id (id));
    HT_CHECK_EQ_STR (json_string_value (json_object_get (j, "wall_clock")), "2026-05-26T08:14:22Z");
    const char *sig = json_string_value (json_object_get (j, "signature"));
    HT_CHECK (sig && strncmp (sig, "ed25519:", 8) == 0 && strlen (sig) == 8 + 86);
    HT_CHECK (strlen (json_string_value (json_object_get (j, "hash"))) == 64);
    json_t *data = json_object_get (j, "data");
    HT_CHECK_EQ_STR (json_string_value (json_object_get (data, "category")), "offer");
    HT_CHECK_EQ_STR (json_string_value (json_object_get (data, "title")), "Bike pump");
    HT_CHECK_EQ_STR (json_string_value (json_object_get (data, "client_id")), "c-4");
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (data, "ttl_seconds")), 604800);
    HT_CHECK_EQ_INT (json_array_size (json_object_get (data, "tags")), 2);
    json_t *loc = json_object_get (data, "location");
    HT_CHECK (loc && json_real_value (json_object_get (loc, "lng")) == 13.405);
    HT_CHECK_EQ_STR (json_string_value (json_object_get (loc, "label")), "Kiez");
    json_decref (j);
    event_destroy (&ev);
    identity_destroy (&id);
}

int
main (void)
{
    HT_RUN (test_node_event_json);
    return ht_summary ();
}
