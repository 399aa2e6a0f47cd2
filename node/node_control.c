/*  node_control.c — request/reply encoding and validation for the control
    socket. Everything a client sends passes through
    node_control_request_parse() before any handler sees it.
*/
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hearth_error.h"
#include "hearth_json.h"
#include "node_control.h"

/*  Flags for json_loadb: one value only, duplicate keys refused so the
    meaning of a request is never ambiguous. jansson itself rejects invalid
    UTF-8, NUL in strings (without JSON_ALLOW_NUL) and nesting deeper than
    its parser limit (2048). */
#define S_LOAD_FLAGS (JSON_REJECT_DUPLICATES)

int
node_control_capability_valid (const char *text)
{
    size_t len = text? strlen (text): 0;
    if (len == 0 || len > NODE_CONTROL_MAX_CAPABILITY)
        return 0;
    if (text [0] < 'a' || text [0] > 'z')
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = text [i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.'))
            return 0;
    }
    return 1;
}

int
node_control_request_parse (const uint8_t *data, size_t len,
                            char capability [NODE_CONTROL_MAX_CAPABILITY + 1],
                            json_t **input, char **message)
{
    *input = NULL;
    *message = NULL;
    capability [0] = '\0';
    if (len > NODE_CONTROL_MAX_FRAME_BYTES) {
        *message = hearth_message ("request frame of %zu bytes exceeds the %d-byte limit",
                              len, NODE_CONTROL_MAX_FRAME_BYTES);
        return HEARTH_ETOOBIG;
    }
    if (len == 0) {
        *message = hearth_message ("empty request frame (expected a JSON object)");
        return HEARTH_EDECODE;
    }
    json_error_t error;
    json_t *root = json_loadb ((const char *) data, len, S_LOAD_FLAGS, &error);
    if (!root) {
        *message = hearth_message ("request is not valid JSON: %s (line %d, column %d)",
                              error.text, error.line, error.column);
        return HEARTH_EDECODE;
    }
    int rc = HEARTH_EINVAL;
    if (!json_is_object (root)) {
        *message = hearth_message ("request must be a JSON object {\"capability\":...,\"input\":{...}}");
        goto done;
    }
    const char *key;
    json_t *value;
    json_object_foreach (root, key, value) {
        if (strcmp (key, "capability") != 0 && strcmp (key, "input") != 0
        &&  strcmp (key, "params") != 0) {
            *message = hearth_message ("unknown request field '%.64s' (allowed: capability, input, params)",
                                  key);
            goto done;
        }
    }
    json_t *cap = json_object_get (root, "capability");
    if (!json_is_string (cap)) {
        *message = hearth_message ("request field 'capability' must be a string");
        goto done;
    }
    if (!node_control_capability_valid (json_string_value (cap))) {
        *message = hearth_message ("'capability' must be 1..%d characters of a-z, 0-9, '_' and '.'",
                              NODE_CONTROL_MAX_CAPABILITY);
        goto done;
    }
    json_t *params = json_object_get (root, "params");
    if (params && !json_is_object (params)) {
        *message = hearth_message ("request field 'params' must be an object");
        goto done;
    }
    json_t *in = json_object_get (root, "input");
    if (in && !json_is_object (in)) {
        *message = hearth_message ("request field 'input' must be an object");
        goto done;
    }
    *input = in? json_incref (in): json_object ();
    if (!*input) {
        rc = HEARTH_ENOMEM;
        goto done;
    }
    snprintf (capability, NODE_CONTROL_MAX_CAPABILITY + 1, "%s", json_string_value (cap));
    rc = HEARTH_OK;
done:
    json_decref (root);
    return rc;
}

char *
node_control_request_encode (const char *capability, const json_t *input)
{
    json_t *root = json_object ();
    if (!root)
        return NULL;
    json_object_set_new (root, "capability", json_string (capability));
    json_object_set_new (root, "input", input? json_deep_copy (input): json_object ());
    char *text = json_dumps (root, HEARTH_JSON_FLAGS);
    json_decref (root);
    return text;
}

char *
node_control_reply_ok (const json_t *output, uint64_t ms)
{
    json_t *root = json_object ();
    if (!root)
        return NULL;
    /*  The output is borrowed: the reply holds its own reference while it
        is dumped, then drops it. */
    json_object_set_new (root, "output", output? json_incref ((json_t *) output): json_object ());
    json_t *meta = json_object ();
    json_object_set_new (meta, "ms", json_integer ((json_int_t) ms));
    json_object_set_new (root, "meta", meta);
    char *text = json_dumps (root, HEARTH_JSON_FLAGS);
    json_decref (root);
    return text;
}

/*  A JSON string of text; if text is not valid UTF-8 (a truncated echo of
    client input), bytes outside printable ASCII become '?'. */
static json_t *
s_json_text (const char *text)
{
    json_t *string = json_string (text);
    if (string)
        return string;
    char *copy = strdup (text);
    if (!copy)
        return NULL;
    for (char *p = copy; *p; p++)
        if ((unsigned char) *p < 0x20 || (unsigned char) *p > 0x7e)
            *p = '?';
    string = json_string (copy);
    free (copy);
    return string;
}

char *
node_control_reply_error_code (const char *code, const char *message)
{
    json_t *root = json_object ();
    if (!root)
        return NULL;
    json_object_set_new (root, "error", json_string (code));
    if (message && *message)
        json_object_set_new (root, "message", s_json_text (message));
    char *text = json_dumps (root, HEARTH_JSON_FLAGS);
    json_decref (root);
    return text;
}

char *
node_control_reply_error (int err, const char *message)
{
    json_t *root = json_object ();
    if (!root)
        return NULL;
    json_object_set_new (root, "error", json_string (hearth_error_code (err)));
    json_object_set_new (root, "hearth_error", json_string (hearth_error_name (err)));
    json_object_set_new (root, "message", s_json_text (message && *message? message
                                                                        : hearth_strerror (err)));
    char *text = json_dumps (root, HEARTH_JSON_FLAGS);
    json_decref (root);
    return text;
}

int
node_control_reply_parse (const uint8_t *data, size_t len, json_t **reply)
{
    *reply = NULL;
    json_error_t error;
    json_t *root = json_loadb ((const char *) data, len, S_LOAD_FLAGS, &error);
    if (!root)
        return HEARTH_EDECODE;
    if (json_is_object (root)
    &&  (json_is_object (json_object_get (root, "output"))
    ||   json_is_string (json_object_get (root, "error")))) {
        *reply = root;
        return HEARTH_OK;
    }
    json_decref (root);
    return HEARTH_EDECODE;
}
