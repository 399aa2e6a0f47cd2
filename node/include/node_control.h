/*  node_control.h — the control-socket protocol shared by hearthd and
    hearthctl. Pure: text in, text out; no sockets.

    Transport: ipc://DIR/control.sock, a ZeroMQ ROUTER in hearthd; clients
    use DEALER (one body frame) or REQ (the empty delimiter is kept and
    echoed). Every message carries exactly one body frame:

      request  {"capability":"market.post","input":{...},"params":{}}
               "input" and "params" are optional objects; no other keys.
      reply    {"output":{...},"meta":{"ms":N}}                    success
               {"error":"<code>","message":"..."}                  failure
    where <code> is one of the wire codes (hearth_error_code(); docs/protocol.md, "Errors").

    A request frame over NODE_CONTROL_MAX_FRAME_BYTES gets a bad_request
    reply; one over NODE_CONTROL_HARD_MAX_BYTES is dropped by ZeroMQ itself
    (ZMQ_MAXMSGSIZE) and the client connection is closed.
*/
#ifndef HEARTH_NODE_CONTROL_H
#define HEARTH_NODE_CONTROL_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

/*  A request body at most: 1 MiB. The largest valid request (a post with
    an 8000-byte body, 16 tags and JSON escaping of every byte as \uXXXX)
    is under 64 KiB, so 1 MiB is generous and still bounds the parse. */
#define NODE_CONTROL_MAX_FRAME_BYTES    (1024 * 1024)
/*  ZMQ_MAXMSGSIZE of the control and stats sockets: 16 MiB. Between the
    two caps the client gets a bad_request reply; above it ZeroMQ drops the
    connection without reading the frame into memory. */
#define NODE_CONTROL_HARD_MAX_BYTES     (16 * 1024 * 1024)
/*  Longest capability name ("node.verify_views" is 17). */
#define NODE_CONTROL_MAX_CAPABILITY     64
/*  How long hearthctl waits for a reply: 15 s, above the largest capability
    timeout of the capabilities it calls (market.post/search: 10 s). */
#define NODE_CONTROL_TIMEOUT_MS         15000
/*  Largest reply a client accepts: 64 MiB. The largest reply is an
    events.list page: at most NODE_BUS_EVENTS_HARD_LIMIT (1000) events of at
    most EVENT_MAX_BYTES (16 KiB) each; as JSON an event stays under 50 KiB
    even if its 8000-byte body were all \u-escaped control characters. */
#define NODE_CONTROL_MAX_REPLY_BYTES    (64 * 1024 * 1024)

/*  Parse and validate a request frame. On success returns 0, copies the
    capability into `capability` and sets *input to a new object the caller
    owns (an empty object when absent). On failure returns HEARTH_ETOOBIG,
    HEARTH_EDECODE (not JSON) or HEARTH_EINVAL (wrong shape or types) and
    *message (malloc'd, caller frees) says what is wrong. */
int node_control_request_parse (const uint8_t *data, size_t len,
                                char capability [NODE_CONTROL_MAX_CAPABILITY + 1],
                                json_t **input, char **message);

/*  Request text for capability and input (borrowed; NULL = {}). malloc'd,
    caller frees; NULL on OOM. */
char *node_control_request_encode (const char *capability, const json_t *input);

/*  Success reply text; `output` is borrowed. malloc'd, NULL on OOM. */
char *node_control_reply_ok (const json_t *output, uint64_t ms);

/*  Error reply text with the wire code of err, its Hearth name
    ("hearth_error": "ECORRUPT", "ENOSPC", ...: the wire code alone does
    not tell a full disk from a corrupt store) and message (may be NULL:
    the error's sentence). malloc'd, NULL on OOM. */
char *node_control_reply_error (int err, const char *message);

/*  Same, with a code that is already a wire code string. */
char *node_control_reply_error_code (const char *code, const char *message);

/*  Parse a reply frame. Returns 0 and *reply (new object, caller owns) that
    has either "output" (object) or "error" (string); or HEARTH_EDECODE if the
    frame is neither shape. */
int node_control_reply_parse (const uint8_t *data, size_t len, json_t **reply);

/*  1 if text is a valid capability name: 1..NODE_CONTROL_MAX_CAPABILITY
    chars of [a-z0-9_.], starting with a letter. */
int node_control_capability_valid (const char *text);

#ifdef __cplusplus
}
#endif
#endif
