/*  fuzz_event.c — the event decoder (eventlog/event.c), as every received
    or stored event meets it.

    Input: one mode byte, then
      even: SignedEvent wire bytes, decoded as they came;
      odd:  an Event body, wrapped in a SignedEvent with a valid signature
            by a fixed key, so the fuzzer works on the body's structure
            checks and the rest of the pipeline sees well-signed events.
    Properties: decode never crashes and fails only with SIZE, DECODE or
    STRUCTURE; a decoded event verifies the same alone and in a batch,
    renders as JSON, duplicates, and re-decodes from its own wire bytes to
    the same hash.
*/
#include <sodium.h>
#include <string.h>
#include "fuzz.h"
#include "fuzz_world.h"
#include "event.h"
#include "hearth_error.h"
#include "node_event_json.h"

static identity_t *s_signer;

static uint8_t *
s_wrap (const uint8_t *body, size_t len, size_t *wire_len)
{
    if (!s_signer) {
        uint8_t seed [32];
        memset (seed, 7, sizeof seed);
        s_signer = identity_from_seed (seed);
    }
    uint8_t sig [64];
    identity_sign_event (s_signer, body, len, sig);
    Hearth__SignedEvent se = HEARTH__SIGNED_EVENT__INIT;
    se.body.data = (uint8_t *) body;
    se.body.len = len;
    se.signature.data = sig;
    se.signature.len = 64;
    *wire_len = hearth__signed_event__get_packed_size (&se);
    uint8_t *wire = (uint8_t *) malloc (*wire_len? *wire_len: 1);
    hearth__signed_event__pack (&se, wire);
    return wire;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t *wrapped = NULL;
    const uint8_t *wire = data + 1;
    size_t len = size - 1;
    if (data [0] & 1) {
        if (len > EVENT_MAX_BYTES)
            return 0;
        wrapped = s_wrap (data + 1, size - 1, &len);
        wire = wrapped;
    }
    event_reject_t reason = EVENT_REJECT_NONE;
    event_t *ev = event_decode (wire, len, &reason);
    if (!ev) {
        FUZZ_CHECK (reason == EVENT_REJECT_SIZE || reason == EVENT_REJECT_DECODE
                 || reason == EVENT_REJECT_STRUCTURE);
        free (wrapped);
        return 0;
    }
    int verdict = event_verify (ev);
    FUZZ_CHECK (verdict == 0 || verdict == HEARTH_ESIGNATURE);
    if (wrapped && memcmp (event_author (ev), identity_public_key (s_signer), 32) == 0)
        FUZZ_CHECK (verdict == 0);
    uint8_t seed [IDENTITY_SEED_BYTES] = { 1 };
    int rc = 1;
    const event_t *one [1] = { ev };
    event_verify_batch (one, 1, seed, &rc);
    FUZZ_CHECK (rc == verdict);
    json_t *json = node_event_json (ev);
    FUZZ_CHECK (json);
    char *text = json_dumps (json, JSON_COMPACT);
    FUZZ_CHECK (text);
    free (text);
    json_decref (json);
    FUZZ_CHECK (event_type_name (event_type (ev)) != NULL);
    event_t *dup = event_dup (ev);
    FUZZ_CHECK (dup && memcmp (event_hash (dup), event_hash (ev), 32) == 0);
    size_t wlen;
    const uint8_t *w = event_wire (ev, &wlen);
    event_t *again = event_decode (w, wlen, &reason);
    FUZZ_CHECK (again && memcmp (event_hash (again), event_hash (ev), 32) == 0);
    event_destroy (&again);
    event_destroy (&dup);
    event_destroy (&ev);
    free (wrapped);
    return 0;
}

static void
s_seed_event (void *arg, const uint8_t *wire, size_t len)
{
    void **pair = (void **) arg;
    fuzz_emit_fn *emit = (fuzz_emit_fn *) pair [0];
    uint8_t *buf = (uint8_t *) malloc (len + 1);
    buf [0] = 0;                            /* as received */
    memcpy (buf + 1, wire, len);
    emit (pair [1], buf, len + 1);
    event_reject_t reason;
    event_t *ev = event_decode (wire, len, &reason);
    if (ev) {                               /* its body, re-signed */
        size_t blen;
        const uint8_t *body = event_signed_body (ev, &blen);
        uint8_t *b = (uint8_t *) malloc (blen + 1);
        b [0] = 1;
        memcpy (b + 1, body, blen);
        emit (pair [1], b, blen + 1);
        free (b);
        event_destroy (&ev);
    }
    free (buf);
}

void
fuzz_seeds (fuzz_emit_fn *emit, void *arg)
{
    fuzz_world_t w;
    fuzz_world_open (&w, "event-seeds", 1);
    void *pair [2] = { (void *) emit, arg };
    fuzz_world_events (&w, s_seed_event, pair);
    fuzz_world_close (&w);
}
