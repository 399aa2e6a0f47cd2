/*  fuzz_embed_reply.c — an embedding backend's reply body
    (node/node_embed_http.c: node_embed_http_parse), hostile input from an
    HTTP endpoint or, through the same vector checks, a peer's embed.text.

    Input: the first byte picks how many texts were sent (1..4) and whether
    a dimension is expected (384 or any); the rest is the body. Properties:
    never a crash; a success has exactly that many vectors of one dimension
    in MARKET_EMBED_MIN_DIM..MARKET_EMBED_MAX_DIM (the expected one when
    given), all finite; a failure has a kind and a message and no vectors.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz.h"
#include "hearth_error.h"
#include "market_embed_cache.h"
#include "node_embed_http.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 1 || size > NODE_EMBED_HTTP_MAX_REPLY)
        return 0;
    fuzz_quiet ();
    size_t n = 1 + (data [0] & 3);
    size_t expected = (data [0] & 4)? 384: 0;
    float *vectors = NULL;
    size_t dim = 0;
    node_embed_fail_t kind = NODE_EMBED_FAIL_NONE;
    char *message = NULL;
    int rc = node_embed_http_parse ((const char *) data + 1, size - 1, n, expected, &vectors, &dim,
                                    &kind, &message);
    if (rc == HEARTH_OK) {
        FUZZ_CHECK (vectors && !message && kind == NODE_EMBED_FAIL_NONE);
        FUZZ_CHECK (dim >= MARKET_EMBED_MIN_DIM && dim <= MARKET_EMBED_MAX_DIM);
        FUZZ_CHECK (!expected || dim == expected);
        for (size_t i = 0; i < n * dim; i++)
            FUZZ_CHECK (isfinite (vectors [i]));
    }
    else
        FUZZ_CHECK (!vectors && (message || rc == HEARTH_ENOMEM) && kind != NODE_EMBED_FAIL_NONE);
    free (vectors);
    free (message);
    return 0;
}

void
fuzz_seeds (fuzz_emit_fn *emit, void *arg)
{
    static const char *const bodies [] = {
        "\x01{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"index\":0,\"embedding\":[0.1,-0.2,0.3]},"
        "{\"object\":\"embedding\",\"index\":1,\"embedding\":[1,0,0]}],\"model\":\"m\"}",
        "\x00{\"data\":[{\"embedding\":[1,2]}]}",
        "\x00{\"data\":[{\"embedding\":[1,NaN]}]}",
        "\x00{\"data\":[{\"embedding\":[1,1e39]}]}",
        "\x01{\"data\":[{\"index\":1,\"embedding\":[1,2]},{\"index\":1,\"embedding\":[3,4]}]}",
        "\x04{\"data\":[{\"embedding\":[1,2,3]}]}",
        "\x00<html>not json</html>",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies [0]; i++)
        emit (arg, (const uint8_t *) bodies [i], 1 + strlen (bodies [i] + 1));
}
