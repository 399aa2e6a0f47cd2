/*  node_event_json.h — an event as the JSON envelope the node shows to
    people and scripts (`hearthctl events --json`, the control capability
    events.list; docs/protocol.md, "The JSON envelope").

    The envelope is a rendering only: the signature covers the protobuf
    body, never this JSON, so the event log stores and checks events without
    it (eventlog needs no JSON writer).
*/
#ifndef HEARTH_NODE_EVENT_JSON_H
#define HEARTH_NODE_EVENT_JSON_H

#include <jansson.h>
#include "event.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  The JSON envelope of event (schema_version, event_id, lamport,
    wall_clock, community_id, author, event_type, data, signature), plus
    "hash" (hex). event is borrowed. Returns a new jansson object the caller
    owns (json_decref), or NULL on OOM. */
json_t *node_event_json (const event_t *event);

/*  A 32-byte key (borrowed) as its NodeID, a JSON string: how every
    envelope and capability reply shows a node, author or community.
    Returns a new jansson string the caller owns, or NULL on OOM. */
json_t *node_event_json_node_id (const uint8_t *key);

#ifdef __cplusplus
}
#endif

#endif
