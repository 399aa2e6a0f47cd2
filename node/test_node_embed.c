/*  test_node_embed.c — the checks every embedding reply passes (hostile
    bodies: wrong shape, count, dimensions, NaN/Inf, bad indexes), the
    request body, and text cutting at UTF-8 boundaries.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "hearth_test.h"
#include "hearth_error.h"
#include "node_embed_http.h"

static int
s_parse (const char *body, size_t n, size_t expected, size_t *dim, node_embed_fail_t *kind,
         float **v)
{
    char *message = NULL;
    int rc = node_embed_http_parse (body, strlen (body), n, expected, v, dim, kind, &message);
    HT_CHECK ((rc == 0) == (message == NULL));
    free (message);
    return rc;
}

HT_TEST (test_reply_checks)
{
    float *v = NULL;
    size_t dim = 0;
    node_embed_fail_t kind;
    //  A good reply, items out of order: placed by index
    HT_CHECK_EQ_INT (s_parse ("{\"data\":[{\"index\":1,\"embedding\":[0,1,0]},"
                              "{\"index\":0,\"embedding\":[1,0.5,-2e-3]}],\"model\":\"m\"}",
                              2, 0, &dim, &kind, &v), 0);
    HT_CHECK_EQ_INT (dim, 3);
    HT_CHECK (v [0] == 1.0f && v [1] == 0.5f && v [3] == 0.0f && v [4] == 1.0f);
    free (v);
    //  Without indexes: in order
    HT_CHECK_EQ_INT (s_parse ("{\"data\":[{\"embedding\":[3,4]}]}", 1, 2, &dim, &kind, &v), 0);
    free (v);
    struct { const char *body; size_t n, expected; node_embed_fail_t kind; } bad [] = {
        { "not json", 1, 0, NODE_EMBED_FAIL_BAD_REPLY },
        { "[]", 1, 0, NODE_EMBED_FAIL_BAD_REPLY },
        { "{\"data\":[]}", 1, 0, NODE_EMBED_FAIL_BAD_REPLY },
        { "{\"data\":[{\"embedding\":[1,2]}]}", 2, 0, NODE_EMBED_FAIL_BAD_REPLY },
        { "{\"data\":[{\"embedding\":[1,2]},{\"embedding\":[1,2,3]}]}", 2, 0, NODE_EMBED_FAIL_DIMENSION },
        { "{\"data\":[{\"embedding\":[1,2,3]}]}", 1, 384, NODE_EMBED_FAIL_DIMENSION },
        { "{\"data\":[{\"embedding\":[1]}]}", 1, 0, NODE_EMBED_FAIL_DIMENSION },
        { "{\"data\":[{\"embedding\":[]}]}", 1, 0, NODE_EMBED_FAIL_DIMENSION },
        { "{\"data\":[{\"embedding\":[1,NaN]}]}", 1, 0, NODE_EMBED_FAIL_NOT_FINITE },
        { "{\"data\":[{\"embedding\":[1,Infinity]}]}", 1, 0, NODE_EMBED_FAIL_NOT_FINITE },
        { "{\"data\":[{\"embedding\":[1,1e39]}]}", 1, 0, NODE_EMBED_FAIL_NOT_FINITE },
        { "{\"data\":[{\"embedding\":[1,\"x\"]}]}", 1, 0, NODE_EMBED_FAIL_BAD_REPLY },
        { "{\"data\":[{\"embedding\":[1,null]}]}", 1, 0, NODE_EMBED_FAIL_BAD_REPLY },
        { "{\"data\":[{\"index\":0,\"embedding\":[1,2]},{\"index\":0,\"embedding\":[1,2]}]}", 2, 0,
          NODE_EMBED_FAIL_BAD_REPLY },
        { "{\"data\":[{\"index\":5,\"embedding\":[1,2]}]}", 1, 0, NODE_EMBED_FAIL_BAD_REPLY },
        { "{\"data\":[{\"index\":-1,\"embedding\":[1,2]}]}", 1, 0, NODE_EMBED_FAIL_BAD_REPLY },
        { "{\"data\":[{\"vector\":[1,2]}]}", 1, 0, NODE_EMBED_FAIL_BAD_REPLY },
        { "{\"data\":[[1,2]]}", 1, 0, NODE_EMBED_FAIL_BAD_REPLY },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        v = (float *) 1;
        int rc = s_parse (bad [i].body, bad [i].n, bad [i].expected, &dim, &kind, &v);
        if (rc == 0 || kind != bad [i].kind)
            fprintf (stderr, "case %zu: rc %d kind %s\n", i, rc, node_embed_fail_name (kind));
        HT_CHECK (rc < 0);
        HT_CHECK_EQ_INT (kind, bad [i].kind);
        HT_CHECK (v == NULL);
    }
    //  A vector of MAX_DIM + 1 numbers
    size_t cap = 64 + 2 * 4097;
    char *big = (char *) malloc (cap);
    size_t len = (size_t) snprintf (big, cap, "{\"data\":[{\"embedding\":[0");
    for (int i = 0; i < 4096; i++)
        len += (size_t) snprintf (big + len, cap - len, ",1");
    snprintf (big + len, cap - len, "]}]}");
    HT_CHECK (s_parse (big, 1, 0, &dim, &kind, &v) < 0);
    HT_CHECK_EQ_INT (kind, NODE_EMBED_FAIL_DIMENSION);
    free (big);
}

HT_TEST (test_request_and_cut)
{
    const char *texts [] = { "Fahrrad \"gesucht\"", "Straße" };
    char *body = node_embed_http_request ("multilingual-e5-small", texts, 2);
    HT_CHECK (body && strstr (body, "\"model\":\"multilingual-e5-small\""));
    HT_CHECK (strstr (body, "\"input\":[\"Fahrrad \\\"gesucht\\\"\",\"Straße\"]"));
    free (body);
    HT_CHECK_EQ_INT (node_embed_text_cut ("abc", 10), 3);
    HT_CHECK_EQ_INT (node_embed_text_cut ("aß", 2), 1);      // ß is 2 bytes: not split
    HT_CHECK_EQ_INT (node_embed_text_cut ("aß", 3), 3);
    //  A text over the cap is cut, so the body stays bounded
    char *longtext = (char *) malloc (3 * NODE_EMBED_MAX_TEXT_BYTES);
    memset (longtext, 'x', 3 * NODE_EMBED_MAX_TEXT_BYTES - 1);
    longtext [3 * NODE_EMBED_MAX_TEXT_BYTES - 1] = '\0';
    const char *one [] = { longtext };
    body = node_embed_http_request ("m", one, 1);
    HT_CHECK (body && strlen (body) < NODE_EMBED_MAX_TEXT_BYTES + 100);
    free (body);
    free (longtext);
}

int
main (void)
{
    HT_RUN (test_reply_checks);
    HT_RUN (test_request_and_cut);
    return ht_summary ();
}
