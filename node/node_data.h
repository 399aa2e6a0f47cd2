/*  node_data.h — data in and out of a running node: the signed bytes of
    an exported event, events imported through the receive pipeline, and
    online backups (docs/cli.md: events export, events import, backup).

    Capabilities of the control socket built on it (node_bus.h):
      events.list   {since_lamport?, limit?, signed?: true}
                    with "signed", every envelope also carries what anyone
                    needs to check it with libsodium alone (node_data_export_fields)
      events.import {events: [base64 SignedEvent wire, ...]}
                    -> {accepted, duplicate, refused, refused_by_reason: {reason: n}}
      node.backup   {dir}  -> {dir, events, lamport_head, seq}
    Pure shell around eventlog: decisions (verification, membership, dedup)
    are the receive pipeline's.
*/
#ifndef HEARTH_NODE_DATA_H
#define HEARTH_NODE_DATA_H

#include <jansson.h>
#include "event.h"
#include "eventlog.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  Events one events.import call takes at most. A control request frame is
    at most NODE_CONTROL_MAX_FRAME_BYTES (1 MiB); 32 events of
    EVENT_MAX_BYTES (16 KiB) in base64 are 700 KB, which fits. */
#define NODE_DATA_IMPORT_MAX_EVENTS   32

/*  Add to envelope (an events.list envelope of ev, borrowed) the exact
    signed bytes and the full-precision time: "wall_clock" with
    milliseconds, "wall_clock_ms", and "signed": {"prefix", "body",
    "signature", "public_key"} in standard base64 (RFC 4648 §4, padded),
    where Ed25519 verify (signature, prefix || body, public_key) holds and
    hash = BLAKE2b-256 (body || signature) in hex. 0 or HEARTH_ENOMEM. */
int node_data_export_fields (json_t *envelope, const event_t *ev);

/*  events.import: input {events: [...]} (borrowed); 0 and *output (new),
    or HEARTH_EINVAL with *message when input is not that shape. Entries
    that are not base64 of at most EVENT_MAX_BYTES count as refused
    ("decode"), never fail the call. HEARTH_EIO/ENOMEM from the log. */
int node_data_import (eventlog_t *log, const json_t *input, json_t **output, char **message);

/*  node.backup: input {dir} (absolute path, must not exist; its parent
    must): eventlog_checkpoint into dir. 0 and *output, or an error and
    *message. */
int node_data_backup (eventlog_t *log, const json_t *input, json_t **output, char **message);

#ifdef __cplusplus
}
#endif
#endif
