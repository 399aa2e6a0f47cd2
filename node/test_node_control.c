/*  test_node_control.c — unit tests of the control-socket protocol: every
    malformed request gets a specific error, never a crash.
*/
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include "hearth_error.h"
#include "hearth_test.h"
#include "node_control.h"

/*  Parse text; returns the code, frees what it got. */
static int
s_parse (const char *text, size_t len)
{
    char capability [NODE_CONTROL_MAX_CAPABILITY + 1];
    json_t *input = NULL;
    char *message = NULL;
    int rc = node_control_request_parse ((const uint8_t *) text, len, capability, &input, &message);
    if (rc != HEARTH_OK)
        HT_CHECK (message != NULL && input == NULL);
    json_decref (input);
    free (message);
    return rc;
}

#define PARSE(text) s_parse ((text), strlen (text))

HT_TEST (test_request_valid)
{
    const char *text = "{\"capability\":\"market.post\",\"input\":{\"title\":\"x\"},\"params\":{}}";
    char capability [NODE_CONTROL_MAX_CAPABILITY + 1];
    json_t *input = NULL;
    char *message = NULL;
    HT_CHECK_EQ_INT (node_control_request_parse ((const uint8_t *) text, strlen (text), capability,
                                                 &input, &message), HEARTH_OK);
    HT_CHECK_EQ_STR (capability, "market.post");
    HT_CHECK_EQ_STR (json_string_value (json_object_get (input, "title")), "x");
    HT_CHECK (message == NULL);
    json_decref (input);

    /*  No input: an empty object. */
    text = "{\"capability\":\"node.id\"}";
    HT_CHECK_EQ_INT (node_control_request_parse ((const uint8_t *) text, strlen (text), capability,
                                                 &input, &message), HEARTH_OK);
    HT_CHECK (json_is_object (input) && json_object_size (input) == 0);
    json_decref (input);
}

HT_TEST (test_request_invalid)
{
    HT_CHECK_EQ_INT (s_parse ("", 0), HEARTH_EDECODE);
    HT_CHECK_EQ_INT (PARSE ("not json"), HEARTH_EDECODE);
    HT_CHECK_EQ_INT (PARSE ("{\"capability\":"), HEARTH_EDECODE);
    HT_CHECK_EQ_INT (PARSE ("[1,2,3]"), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (PARSE ("\"market.list\""), HEARTH_EDECODE);   /* not an object/array: jansson refuses */
    HT_CHECK_EQ_INT (PARSE ("{}"), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (PARSE ("{\"capability\":5}"), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (PARSE ("{\"capability\":null}"), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (PARSE ("{\"capability\":\"\"}"), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (PARSE ("{\"capability\":\"Market.List\"}"), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (PARSE ("{\"capability\":\"market list\"}"), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (PARSE ("{\"capability\":\"market.list\",\"input\":\"x\"}"), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (PARSE ("{\"capability\":\"market.list\",\"input\":[]}"), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (PARSE ("{\"capability\":\"market.list\",\"params\":1}"), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (PARSE ("{\"capability\":\"market.list\",\"extra\":1}"), HEARTH_EINVAL);
    /*  Duplicate keys would make the request ambiguous. */
    HT_CHECK_EQ_INT (PARSE ("{\"capability\":\"a\",\"capability\":\"b\"}"), HEARTH_EDECODE);
    /*  Invalid UTF-8 and NUL inside strings. */
    HT_CHECK_EQ_INT (PARSE ("{\"capability\":\"market.list\",\"input\":{\"t\":\"\xff\xfe\"}}"),
                     HEARTH_EDECODE);
    HT_CHECK_EQ_INT (PARSE ("{\"capability\":\"market.list\",\"input\":{\"t\":\"a\\u0000b\"}}"),
                     HEARTH_EDECODE);
    const char with_nul [] = "{\"capability\":\"node.id\"}\0trailing";
    HT_CHECK_EQ_INT (s_parse (with_nul, sizeof with_nul - 1), HEARTH_EDECODE);

    /*  A capability one character too long. */
    char name [NODE_CONTROL_MAX_CAPABILITY + 2];
    memset (name, 'a', sizeof name - 1);
    name [sizeof name - 1] = '\0';
    char text [256];
    snprintf (text, sizeof text, "{\"capability\":\"%s\"}", name);
    HT_CHECK_EQ_INT (PARSE (text), HEARTH_EINVAL);
    name [NODE_CONTROL_MAX_CAPABILITY] = '\0';
    snprintf (text, sizeof text, "{\"capability\":\"%s\"}", name);
    HT_CHECK_EQ_INT (PARSE (text), HEARTH_OK);
}

HT_TEST (test_request_size_and_depth)
{
    /*  Over the cap: refused before parsing. */
    size_t big = NODE_CONTROL_MAX_FRAME_BYTES + 1;
    char *frame = (char *) malloc (big);
    HT_CHECK (frame != NULL);
    if (!frame)
        return;
    memset (frame, ' ', big);
    HT_CHECK_EQ_INT (s_parse (frame, big), HEARTH_ETOOBIG);
    /*  Deep nesting inside the cap: jansson's depth limit refuses it. */
    size_t depth = 100000;
    for (size_t i = 0; i < depth; i++)
        frame [i] = '[';
    HT_CHECK_EQ_INT (s_parse (frame, depth), HEARTH_EDECODE);
    free (frame);
}

HT_TEST (test_replies)
{
    json_t *output = json_pack ("{s:s, s:i}", "event_id", "01HZZZZZZZZZZZZZZZZZZZZZZZ", "lamport", 7);
    char *text = node_control_reply_ok (output, 3);
    json_t *reply = NULL;
    HT_CHECK_EQ_INT (node_control_reply_parse ((const uint8_t *) text, strlen (text), &reply), HEARTH_OK);
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (json_object_get (reply, "output"), "lamport")), 7);
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (json_object_get (reply, "meta"), "ms")), 3);
    json_decref (reply);
    free (text);
    json_decref (output);

    text = node_control_reply_error (HEARTH_ENOTFOUND, "no such post");
    HT_CHECK_EQ_INT (node_control_reply_parse ((const uint8_t *) text, strlen (text), &reply), HEARTH_OK);
    HT_CHECK_EQ_STR (json_string_value (json_object_get (reply, "error")), "not_found");
    HT_CHECK_EQ_STR (json_string_value (json_object_get (reply, "message")), "no such post");
    HT_CHECK_EQ_STR (json_string_value (json_object_get (reply, "hearth_error")), "ENOTFOUND");
    json_decref (reply);
    free (text);

    /*  A storage error names its cause beside the wire code. */
    text = node_control_reply_error (HEARTH_ECORRUPT, NULL);
    HT_CHECK (strstr (text, "\"error\":\"internal_error\"") != NULL);
    HT_CHECK (strstr (text, "\"hearth_error\":\"ECORRUPT\"") != NULL);
    HT_CHECK (strstr (text, "corrupt") != NULL);
    free (text);

    /*  Without a message, the sentence of the error is used. */
    text = node_control_reply_error (HEARTH_EINVAL, NULL);
    HT_CHECK (strstr (text, "\"error\":\"bad_request\"") != NULL);
    HT_CHECK (strstr (text, "\"message\"") != NULL);
    free (text);

    /*  A message that is not UTF-8 (echoed client bytes) is made safe. */
    text = node_control_reply_error_code ("bad_request", "field '\xff\xfe'");
    HT_CHECK (text != NULL && strstr (text, "field '\?\?'") != NULL);
    free (text);

    HT_CHECK_EQ_INT (node_control_reply_parse ((const uint8_t *) "{}", 2, &reply), HEARTH_EDECODE);
    HT_CHECK_EQ_INT (node_control_reply_parse ((const uint8_t *) "nope", 4, &reply), HEARTH_EDECODE);
    HT_CHECK (reply == NULL);
}

HT_TEST (test_request_encode)
{
    json_t *input = json_pack ("{s:s}", "query", "wasser");
    char *text = node_control_request_encode ("market.search", input);
    char capability [NODE_CONTROL_MAX_CAPABILITY + 1];
    json_t *parsed = NULL;
    char *message = NULL;
    HT_CHECK_EQ_INT (node_control_request_parse ((const uint8_t *) text, strlen (text), capability,
                                                 &parsed, &message), HEARTH_OK);
    HT_CHECK_EQ_STR (capability, "market.search");
    HT_CHECK (json_equal (parsed, input));
    json_decref (parsed);
    json_decref (input);
    free (text);
    HT_CHECK (node_control_capability_valid ("node.verify_views"));
    HT_CHECK (!node_control_capability_valid ("9market"));
    HT_CHECK (!node_control_capability_valid (NULL));
}

int
main (void)
{
    HT_RUN (test_request_valid);
    HT_RUN (test_request_invalid);
    HT_RUN (test_request_size_and_depth);
    HT_RUN (test_replies);
    HT_RUN (test_request_encode);
    return ht_summary ();
}
