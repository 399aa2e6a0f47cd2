/*  fuzz_invite.c — invite blobs (node/node_invite.c), the file a new member
    is handed out of band and `join` reads.

    Input: the blob text. Properties: decode fails with a message, never a
    crash; a decoded blob has a valid level and endpoints, verifies (or
    not) without crashing, and round-trips: its JSON decodes again to the
    same canonical bytes. The same text also goes through the time and
    address parsers the decoder uses.
*/
#include <string.h>
#include "fuzz.h"
#include "fuzz_world.h"
#include "hearth_error.h"
#include "hearth_json.h"
#include "node_control.h"
#include "node_invite.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size > NODE_INVITE_MAX_BYTES)
        return 0;
    char *text = (char *) malloc (size + 1);
    memcpy (text, data, size);
    text [size] = 0;
    uint64_t ms;
    int rc = node_invite_time_parse (text, &ms);
    FUZZ_CHECK (rc == 0 || rc == HEARTH_EINVAL);
    (void) node_invite_address_valid (text);

    char *message = NULL;
    node_invite_t *inv = node_invite_decode (text, size, &message);
    if (!inv) {
        FUZZ_CHECK (message != NULL);
        free (message);
        free (text);
        return 0;
    }
    FUZZ_CHECK (node_invite_level (inv) == HEARTH__LEVEL__LEVEL_MEMBER
             || node_invite_level (inv) == HEARTH__LEVEL__LEVEL_TRUSTED);
    FUZZ_CHECK (node_invite_endpoint_count (inv) <= NODE_INVITE_MAX_ENDPOINTS);
    for (size_t i = 0; i < node_invite_endpoint_count (inv); i++)
        FUZZ_CHECK (node_invite_address_valid (node_invite_endpoint (inv, i)));
    char *vmsg = NULL;
    rc = node_invite_verify (inv, node_invite_expires_at_ms (inv) > 0? node_invite_expires_at_ms (inv) - 1: 0,
                             &vmsg);
    FUZZ_CHECK (rc == 0 || rc == HEARTH_ESIGNATURE || rc == HEARTH_EEXPIRED);
    free (vmsg);
    char *canon = node_invite_canonical (inv);
    json_t *json = node_invite_json (inv);
    FUZZ_CHECK (canon && json);
    char *again_text = json_dumps (json, HEARTH_JSON_FLAGS);
    FUZZ_CHECK (again_text);
    char *message2 = NULL;
    node_invite_t *again = node_invite_decode (again_text, strlen (again_text), &message2);
    if (!again)
        fprintf (stderr, "re-decode failed: %s\n%s\n", message2? message2: "", again_text);
    FUZZ_CHECK (again);
    char *canon2 = node_invite_canonical (again);
    FUZZ_CHECK (canon2 && strcmp (canon, canon2) == 0);
    free (canon2);
    node_invite_destroy (&again);
    free (again_text);
    json_decref (json);
    free (canon);
    node_invite_destroy (&inv);
    free (text);
    return 0;
}

static void
s_emit_text (fuzz_emit_fn *emit, void *arg, const char *text)
{
    emit (arg, (const uint8_t *) text, strlen (text));
}

void
fuzz_seeds (fuzz_emit_fn *emit, void *arg)
{
    fuzz_world_t w;
    fuzz_world_open (&w, "invite-seeds", 0);
    char *blob = fuzz_world_invite (&w);
    if (!blob)
        abort ();
    s_emit_text (emit, arg, blob);
    /*  The same blob pretty-printed, and with a second endpoint. */
    json_t *root = json_loads (blob, 0, NULL);
    char *pretty = json_dumps (root, JSON_INDENT (2));
    s_emit_text (emit, arg, pretty);
    free (pretty);
    char extra [400];
    snprintf (extra, sizeof extra, "%s@tcp://[::1]:7400", identity_node_id (w.id));
    json_array_append_new (json_object_get (root, "bootstrap_endpoints"), json_string (extra));
    char *two = json_dumps (root, JSON_COMPACT);
    s_emit_text (emit, arg, two);
    free (two);
    json_decref (root);
    free (blob);
    s_emit_text (emit, arg, "2026-11-26T10:00:00Z");
    s_emit_text (emit, arg, "2026-11-26T10:00:00.123456Z");
    fuzz_world_close (&w);
}
