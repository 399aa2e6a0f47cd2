/*  node_data.c — exported events' signed bytes, events.import through the
    receive pipeline, node.backup as a RocksDB checkpoint; see node_data.h.
*/
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "hearth_codec.h"
#include "hearth_error.h"
#include "identity.h"
#include "node_data.h"

/*  Standard padded base64 of n bytes as a new JSON string; NULL on OOM. */
static json_t *
s_b64_json (const uint8_t *data, size_t n)
{
    size_t size = sodium_base64_ENCODED_LEN (n, sodium_base64_VARIANT_ORIGINAL);
    char *text = (char *) malloc (size);
    if (!text)
        return NULL;
    sodium_bin2base64 (text, size, data, n, sodium_base64_VARIANT_ORIGINAL);
    json_t *value = json_string (text);
    free (text);
    return value;
}

int
node_data_export_fields (json_t *envelope, const event_t *ev)
{
    size_t body_len = 0;
    const uint8_t *body = event_signed_body (ev, &body_len);
    char when [HEARTH_TIME_SIZE];
    hearth_time_format_ms (event_wall_ms (ev), when);
    json_t *signed_ = json_object ();
    if (!signed_)
        return HEARTH_ENOMEM;
    int fail = json_object_set_new (signed_, "prefix", s_b64_json ((const uint8_t *) IDENTITY_EVENT_DOMAIN,
                                                                   IDENTITY_EVENT_DOMAIN_LEN))
            |  json_object_set_new (signed_, "body", s_b64_json (body, body_len))
            |  json_object_set_new (signed_, "signature", s_b64_json (event_signature (ev),
                                                                      HEARTH_SIG_BYTES))
            |  json_object_set_new (signed_, "public_key", s_b64_json (event_author (ev),
                                                                       HEARTH_KEY_BYTES));
    fail |= json_object_set_new (envelope, "wall_clock", json_string (when))
         |  json_object_set_new (envelope, "wall_clock_ms", json_integer ((json_int_t) event_wall_ms (ev)))
         |  json_object_set_new (envelope, "signed", signed_);
    return fail? HEARTH_ENOMEM: HEARTH_OK;
}

int
node_data_import (eventlog_t *log, const json_t *input, json_t **output, char **message)
{
    json_t *events = json_object_get (input, "events");
    if (!json_is_array (events) || json_array_size (events) > NODE_DATA_IMPORT_MAX_EVENTS) {
        *message = hearth_message ("'events' must be an array of at most %d base64 SignedEvent "
                                   "frames", NODE_DATA_IMPORT_MAX_EVENTS);
        return HEARTH_EINVAL;
    }
    size_t n = json_array_size (events), m = 0, undecodable = 0;
    const uint8_t *frames [NODE_DATA_IMPORT_MAX_EVENTS];
    size_t lens [NODE_DATA_IMPORT_MAX_EVENTS];
    uint8_t *buffers [NODE_DATA_IMPORT_MAX_EVENTS];
    event_reject_t codes [NODE_DATA_IMPORT_MAX_EVENTS];
    int rc = HEARTH_OK;
    for (size_t i = 0; i < n && rc == HEARTH_OK; i++) {
        const char *text = json_string_value (json_array_get (events, i));
        size_t text_len = text? strlen (text): 0, len = 0;
        /*  Anything longer cannot decode to at most EVENT_MAX_BYTES. */
        if (!text || text_len > sodium_base64_ENCODED_LEN (EVENT_MAX_BYTES, sodium_base64_VARIANT_ORIGINAL)) {
            undecodable++;
            continue;
        }
        uint8_t *buffer = (uint8_t *) malloc (EVENT_MAX_BYTES);
        if (!buffer) {
            rc = HEARTH_ENOMEM;
            break;
        }
        if (sodium_base642bin (buffer, EVENT_MAX_BYTES, text, text_len, NULL, &len, NULL,
                               sodium_base64_VARIANT_ORIGINAL) != 0 || len == 0) {
            free (buffer);
            undecodable++;
            continue;
        }
        buffers [m] = buffer;
        frames [m] = buffer;
        lens [m++] = len;
    }
    eventlog_ingest_result_t result;
    memset (&result, 0, sizeof result);
    if (rc == HEARTH_OK && m > 0)
        rc = eventlog_ingest (log, frames, lens, m, &result, codes);
    for (size_t i = 0; i < m; i++)
        free (buffers [i]);
    if (rc != HEARTH_OK) {
        *message = hearth_message ("importing failed: %s (the events before this batch are stored)",
                                   hearth_strerror (rc));
        return rc;
    }
    json_t *reasons = json_object ();
    uint64_t refused = undecodable;
    if (reasons && undecodable)
        json_object_set_new (reasons, "not_base64", json_integer ((json_int_t) undecodable));
    for (int r = 0; reasons && r < EVENT_REJECT_COUNT; r++) {
        if (!result.rejected [r] || r == EVENT_REJECT_DUPLICATE)
            continue;
        refused += result.rejected [r];
        json_object_set_new (reasons, event_reject_name ((event_reject_t) r),
                             json_integer ((json_int_t) result.rejected [r]));
    }
    *output = reasons? json_pack ("{s:I, s:I, s:I, s:o}",
                                  "accepted", (json_int_t) result.accepted,
                                  "duplicate", (json_int_t) result.rejected [EVENT_REJECT_DUPLICATE],
                                  "refused", (json_int_t) refused,
                                  "refused_by_reason", reasons): NULL;
    return *output? HEARTH_OK: HEARTH_ENOMEM;
}

int
node_data_backup (eventlog_t *log, const json_t *input, json_t **output, char **message)
{
    const char *dir = json_string_value (json_object_get (input, "dir"));
    if (!dir || dir [0] != '/' || strlen (dir) > 4000) {
        *message = hearth_message ("'dir' must be an absolute path (a directory that does not "
                                   "exist yet)");
        return HEARTH_EINVAL;
    }
    /*  The figures as of the call: the copy holds at least these. */
    const eventlog_stats_t *stats = eventlog_stats (log);
    json_int_t events = (json_int_t) stats->seq, head = (json_int_t) stats->lamport_head;
    int rc = eventlog_checkpoint (log, dir, message);
    if (rc != HEARTH_OK)
        return rc;
    *output = json_pack ("{s:s, s:I, s:I}", "dir", dir, "seq", events, "lamport_head", head);
    return *output? HEARTH_OK: HEARTH_ENOMEM;
}
