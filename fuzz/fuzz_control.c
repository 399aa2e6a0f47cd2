/*  fuzz_control.c — control-socket requests (node/node_control.c parsing,
    node/node_bus.c dispatch and every capability's input checks), served
    by a real node: a community with an event log and market in a scratch
    directory, kept across inputs (posts and invites the fuzzer makes
    accumulate, as on a live node).

    Input: one request frame. Properties: the parser fails only with
    ETOOBIG, EDECODE or EINVAL and a message, and on success gives a valid
    capability name and an input object; the bus answers every frame with
    a reply that parses as a reply of docs/protocol.md (output or error).
*/
#include <string.h>
#include "fuzz.h"
#include "fuzz_world.h"
#include "hearth_error.h"
#include "node_control.h"

static fuzz_world_t s_world;
static int s_open;

static void
s_close (void)
{
    if (s_open)
        fuzz_world_close (&s_world);
    s_open = 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (!s_open) {
        fuzz_world_open (&s_world, "control", 1);
        s_open = 1;
        atexit (s_close);
    }
    char capability [NODE_CONTROL_MAX_CAPABILITY + 1];
    json_t *input = NULL;
    char *message = NULL;
    int rc = node_control_request_parse (data, size, capability, &input, &message);
    if (rc == 0) {
        FUZZ_CHECK (node_control_capability_valid (capability));
        FUZZ_CHECK (json_is_object (input));
        json_decref (input);
    }
    else {
        FUZZ_CHECK (rc == HEARTH_ETOOBIG || rc == HEARTH_EDECODE || rc == HEARTH_EINVAL);
        FUZZ_CHECK (message != NULL);
        free (message);
    }
    char *reply = node_bus_handle_frame (s_world.bus, data, size);
    FUZZ_CHECK (reply);
    json_t *parsed = NULL;
    FUZZ_CHECK (node_control_reply_parse ((const uint8_t *) reply, strlen (reply), &parsed) == 0);
    json_decref (parsed);
    free (reply);
    return 0;
}

void
fuzz_seeds (fuzz_emit_fn *emit, void *arg)
{
    for (size_t i = 0; fuzz_world_requests [i]; i++)
        emit (arg, (const uint8_t *) fuzz_world_requests [i], strlen (fuzz_world_requests [i]));
    static const char *const more [] = {
        "{\"capability\":\"community.invite\",\"input\":{\"node_id\":\"ed25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}}",
        "{\"capability\":\"community.invite\",\"input\":{\"node_id\":\"ed25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
            "\"level\":\"trusted\",\"ttl_seconds\":60}}",
        "{\"capability\":\"market.post\",\"input\":{\"category\":\"offer\",\"title\":\"x\",\"body\":\"y\","
            "\"ttl_seconds\":1,\"location\":{\"lat\":-90,\"lng\":180}}}",
        "{\"capability\":\"events.list\",\"input\":{\"since_lamport\":18446744073709551615,\"limit\":500}}",
        "{\"capability\":\"nope\"}",
        "[]",
        "",
    };
    for (size_t i = 0; i < sizeof more / sizeof more [0]; i++)
        emit (arg, (const uint8_t *) more [i], strlen (more [i]));
}
