/*  control_garbage.c — throws malformed, oversized and wrong-typed requests
    at a running hearthd's control and stats sockets and checks each gets the
    right wire-code error reply and that the daemon keeps serving.

        control_garbage DATA_DIR

    Run by tests/bad_input.sh (which starts and stops the daemon). Exit 0 if
    every case behaved, 1 otherwise.
*/
#include <czmq.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "node_control.h"

/*  Wait for any single reply at most this long: the daemon answers in
    milliseconds; 5 s absorbs a slow sanitizer build. */
#define S_REPLY_TIMEOUT_MS 5000

static int s_failures;
static char s_control [4096], s_stats [4096];

static zsock_t *
s_connect (int type, const char *endpoint)
{
    zsock_t *sock = zsock_new (type);
    assert (sock);
    zsock_set_linger (sock, 0);
    zsock_set_rcvtimeo (sock, S_REPLY_TIMEOUT_MS);
    zsock_set_sndtimeo (sock, S_REPLY_TIMEOUT_MS);
    zsock_connect (sock, "%s", endpoint);
    return sock;
}

/*  Send msg on a fresh DEALER; return the reply body (malloc'd) or NULL. */
static char *
s_send_msg (const char *endpoint, zmsg_t **msg_p)
{
    zsock_t *sock = s_connect (ZMQ_DEALER, endpoint);
    char *reply = NULL;
    if (zmsg_send (msg_p, sock) == 0) {
        zmsg_t *answer = zmsg_recv (sock);
        if (answer) {
            zframe_t *last = zmsg_last (answer);
            reply = strndup ((const char *) zframe_data (last), zframe_size (last));
            zmsg_destroy (&answer);
        }
    }
    zmsg_destroy (msg_p);
    zsock_destroy (&sock);
    return reply;
}

static char *
s_send (const char *endpoint, const void *data, size_t len)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addmem (msg, data, len);
    return s_send_msg (endpoint, &msg);
}

/*  Check a reply is an error body with the expected code. */
static void
s_expect_error (const char *name, char *reply, const char *code)
{
    json_t *root = reply? json_loads (reply, 0, NULL): NULL;
    const char *got = json_string_value (json_object_get (root, "error"));
    const char *message = json_string_value (json_object_get (root, "message"));
    if (!got || strcmp (got, code) != 0) {
        fprintf (stderr, "FAIL %s: expected error %s, got: %s\n", name, code,
                 reply? reply: "(no reply)");
        s_failures++;
    }
    else
        fprintf (stderr, "ok   %s -> %s: %s\n", name, got, message? message: "");
    json_decref (root);
    free (reply);
}

static void
s_expect_output (const char *name, char *reply)
{
    json_t *root = reply? json_loads (reply, 0, NULL): NULL;
    if (!json_is_object (json_object_get (root, "output"))) {
        fprintf (stderr, "FAIL %s: expected an output, got: %s\n", name, reply? reply: "(no reply)");
        s_failures++;
    }
    else
        fprintf (stderr, "ok   %s -> output\n", name);
    json_decref (root);
    free (reply);
}

#define SEND_TEXT(text) s_send (s_control, (text), strlen (text))

static void
s_malformed_frames (void)
{
    s_expect_error ("not json", SEND_TEXT ("not json"), "bad_request");
    s_expect_error ("empty frame", s_send (s_control, "", 0), "bad_request");
    s_expect_error ("truncated json", SEND_TEXT ("{\"capability\":\"node.id\""), "bad_request");
    s_expect_error ("array", SEND_TEXT ("[1,2]"), "bad_request");
    s_expect_error ("capability number", SEND_TEXT ("{\"capability\":5}"), "bad_request");
    s_expect_error ("capability missing", SEND_TEXT ("{\"input\":{}}"), "bad_request");
    s_expect_error ("input string", SEND_TEXT ("{\"capability\":\"market.post\",\"input\":\"x\"}"),
                    "bad_request");
    s_expect_error ("unknown top-level key", SEND_TEXT ("{\"capability\":\"node.id\",\"x\":1}"),
                    "bad_request");
    s_expect_error ("unknown capability", SEND_TEXT ("{\"capability\":\"no.such\"}"), "not_found");
    s_expect_error ("invalid utf-8", SEND_TEXT ("{\"capability\":\"market.list\",\"input\":"
                                                "{\"category\":\"\xc3\x28\"}}"), "bad_request");
    s_expect_error ("binary junk", s_send (s_control, "\x00\x01\x02\xff", 4), "bad_request");

    /*  Deep nesting: the parser's depth limit, not the stack, stops it. */
    size_t depth = 50000;
    char *deep = (char *) malloc (depth);
    memset (deep, '[', depth);
    s_expect_error ("deep nesting", s_send (s_control, deep, depth), "bad_request");
    free (deep);

    /*  Over the frame cap but under ZeroMQ's hard cap: an error reply. */
    size_t big = 2 * NODE_CONTROL_MAX_FRAME_BYTES;
    char *frame = (char *) malloc (big);
    memset (frame, 'a', big);
    s_expect_error ("2 MiB frame", s_send (s_control, frame, big), "bad_request");
    free (frame);

    /*  Two body frames in one message. */
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "{\"capability\":\"node.id\"}");
    zmsg_addstr (msg, "{\"capability\":\"node.id\"}");
    s_expect_error ("two frames", s_send_msg (s_control, &msg), "bad_request");
}

static void
s_wrong_types (void)
{
    s_expect_error ("post title number", SEND_TEXT (
        "{\"capability\":\"market.post\",\"input\":{\"category\":\"offer\",\"title\":5,\"body\":\"b\"}}"),
        "bad_request");
    s_expect_error ("post bad category", SEND_TEXT (
        "{\"capability\":\"market.post\",\"input\":{\"category\":\"gift\",\"title\":\"t\",\"body\":\"b\"}}"),
        "bad_request");
    s_expect_error ("post tags string", SEND_TEXT (
        "{\"capability\":\"market.post\",\"input\":{\"category\":\"offer\",\"title\":\"t\",\"body\":\"b\","
        "\"tags\":\"x\"}}"), "bad_request");
    s_expect_error ("post negative ttl", SEND_TEXT (
        "{\"capability\":\"market.post\",\"input\":{\"category\":\"offer\",\"title\":\"t\",\"body\":\"b\","
        "\"ttl_seconds\":-1}}"), "bad_request");
    s_expect_error ("post ttl over max", SEND_TEXT (
        "{\"capability\":\"market.post\",\"input\":{\"category\":\"offer\",\"title\":\"t\",\"body\":\"b\","
        "\"ttl_seconds\":2592001}}"), "bad_request");
    s_expect_error ("post ttl float", SEND_TEXT (
        "{\"capability\":\"market.post\",\"input\":{\"category\":\"offer\",\"title\":\"t\",\"body\":\"b\","
        "\"ttl_seconds\":1e300}}"), "bad_request");
    s_expect_error ("post missing body", SEND_TEXT (
        "{\"capability\":\"market.post\",\"input\":{\"category\":\"offer\",\"title\":\"t\"}}"),
        "bad_request");
    s_expect_error ("post location lat string", SEND_TEXT (
        "{\"capability\":\"market.post\",\"input\":{\"category\":\"offer\",\"title\":\"t\",\"body\":\"b\","
        "\"location\":{\"lat\":\"x\",\"lng\":1}}}"), "bad_request");

    /*  A title far over its cap. */
    size_t title_len = 10000;
    char *text = (char *) malloc (title_len + 200);
    int n = sprintf (text, "{\"capability\":\"market.post\",\"input\":{\"category\":\"offer\","
                           "\"body\":\"b\",\"title\":\"");
    memset (text + n, 'x', title_len);
    strcpy (text + n + title_len, "\"}}");
    s_expect_error ("post title too long", SEND_TEXT (text), "bad_request");
    free (text);

    s_expect_error ("list limit string", SEND_TEXT (
        "{\"capability\":\"market.list\",\"input\":{\"limit\":\"ten\"}}"), "bad_request");
    s_expect_error ("list tags number", SEND_TEXT (
        "{\"capability\":\"market.list\",\"input\":{\"tags\":7}}"), "bad_request");
    s_expect_error ("get without id", SEND_TEXT ("{\"capability\":\"market.get\",\"input\":{}}"),
                    "bad_request");
    s_expect_error ("get unknown", SEND_TEXT (
        "{\"capability\":\"market.get\",\"input\":{\"event_id\":\"01ARZ3NDEKTSV4RRFFQ69G5FAV\"}}"),
        "not_found");
    s_expect_error ("expire unknown", SEND_TEXT (
        "{\"capability\":\"market.expire\",\"input\":{\"event_id\":\"01ARZ3NDEKTSV4RRFFQ69G5FAV\","
        "\"reason\":\"withdrawn\"}}"), "not_found");
    s_expect_error ("expire bad reason", SEND_TEXT (
        "{\"capability\":\"market.expire\",\"input\":{\"event_id\":\"01ARZ3NDEKTSV4RRFFQ69G5FAV\","
        "\"reason\":\"bored\"}}"), "bad_request");
    s_expect_error ("search query number", SEND_TEXT (
        "{\"capability\":\"market.search\",\"input\":{\"query\":5}}"), "bad_request");
    s_expect_error ("events negative since", SEND_TEXT (
        "{\"capability\":\"events.list\",\"input\":{\"since_lamport\":-5}}"), "bad_request");
    s_expect_error ("events zero limit", SEND_TEXT (
        "{\"capability\":\"events.list\",\"input\":{\"limit\":0}}"), "bad_request");
    s_expect_error ("events unknown field", SEND_TEXT (
        "{\"capability\":\"events.list\",\"input\":{\"sinse\":1}}"), "bad_request");
    s_expect_error ("stats bad format", SEND_TEXT (
        "{\"capability\":\"node.stats\",\"input\":{\"format\":\"xml\"}}"), "bad_request");
}

static void
s_other_sockets (void)
{
    /*  A REQ client: the empty delimiter is echoed, the reply is valid. */
    zsock_t *req = s_connect (ZMQ_REQ, s_control);
    zstr_send (req, "{\"capability\":\"node.id\"}");
    char *reply = zstr_recv (req);
    s_expect_output ("REQ client", reply);
    zsock_destroy (&req);

    s_expect_error ("stats garbage", s_send (s_stats, "garbage", 7), "bad_request");
    char *json = s_send (s_stats, "json", 4);
    json_t *root = json? json_loads (json, 0, NULL): NULL;
    if (!json_is_object (json_object_get (root, "events"))) {
        fprintf (stderr, "FAIL stats json: %s\n", json? json: "(no reply)");
        s_failures++;
    }
    else
        fprintf (stderr, "ok   stats json\n");
    json_decref (root);
    free (json);
    char *text = s_send (s_stats, "prometheus", 10);
    if (!text || strncmp (text, "# HELP hearth_", 14) != 0) {
        fprintf (stderr, "FAIL stats prometheus: %.80s\n", text? text: "(no reply)");
        s_failures++;
    }
    else
        fprintf (stderr, "ok   stats prometheus\n");
    free (text);

    /*  Above the ZeroMQ hard cap: the connection is dropped unread (no
        reply comes); the daemon must carry on. Do not wait for a reply. */
    size_t huge = NODE_CONTROL_HARD_MAX_BYTES + 1024;
    char *frame = (char *) calloc (1, huge);
    zsock_t *sock = s_connect (ZMQ_DEALER, s_control);
    zsock_set_rcvtimeo (sock, 500);
    zmsg_t *msg = zmsg_new ();
    zmsg_addmem (msg, frame, huge);
    zmsg_send (&msg, sock);
    char *none = zstr_recv (sock);
    if (none) {
        fprintf (stderr, "note: a reply came for a frame over the hard cap: %.80s\n", none);
        free (none);
    }
    zsock_destroy (&sock);
    free (frame);
}

int
main (int argc, char *argv [])
{
    if (argc != 2) {
        fprintf (stderr, "usage: control_garbage DATA_DIR\n");
        return 2;
    }
    snprintf (s_control, sizeof s_control, "ipc://%s/control.sock", argv [1]);
    snprintf (s_stats, sizeof s_stats, "ipc://%s/stats.sock", argv [1]);
    s_malformed_frames ();
    s_wrong_types ();
    s_other_sockets ();
    /*  Still alive and serving after all of it. */
    s_expect_output ("alive afterwards", SEND_TEXT ("{\"capability\":\"node.id\"}"));
    s_expect_output ("list afterwards", SEND_TEXT ("{\"capability\":\"market.list\"}"));
    fprintf (stderr, "%d failure(s)\n", s_failures);
    return s_failures? 1: 0;
}
