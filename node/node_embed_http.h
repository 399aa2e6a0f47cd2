/*  node_embed_http.h — the client side of an OpenAI-compatible embeddings
    endpoint (`POST /v1/embeddings`, as served by llama.cpp's server,
    Ollama, text-embeddings-inference and vLLM), through libcurl, and the
    checks every embedding reply passes, from HTTP or from a peer's
    embed.text (docs/market.md, "Semantic ranking"; docs/limits.md).

    A reply is hostile input: it must be a JSON object whose "data" holds
    exactly one {"embedding": [numbers], "index"?: i} per text sent (the
    index, when present, places it), every vector of one dimension in
    MARKET_EMBED_MIN_DIM..MARKET_EMBED_MAX_DIM (and the expected one, once
    known), every number finite; the body is read up to
    NODE_EMBED_HTTP_MAX_REPLY bytes and the transfer abandoned beyond.
    Anything else is a clear error, never a crash.
*/
#ifndef HEARTH_NODE_EMBED_HTTP_H
#define HEARTH_NODE_EMBED_HTTP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

/*  Reply bodies read at most: a batch of NODE_EMBED_BATCH_MAX texts of a
    1024-dim model is ~0.7 MB of JSON; 4 MiB leaves room and bounds memory. */
#define NODE_EMBED_HTTP_MAX_REPLY   (4 * 1024 * 1024)
/*  Texts per request at most (HearthNet's embed.text cap is 256; a
    smaller batch keeps one reply, and one peer frame, well under 1 MiB). */
#define NODE_EMBED_BATCH_MAX        32
/*  Bytes of one text at most (HearthNet's 8192-character cap, in
    bytes): longer texts are cut at a UTF-8 boundary before they are sent. */
#define NODE_EMBED_MAX_TEXT_BYTES   8192
/*  Endpoint URL length at most. */
#define NODE_EMBED_URL_MAX          512

/*  Why a reply was refused (counted per kind in the node's stats). */
typedef enum {
    NODE_EMBED_FAIL_NONE = 0,
    NODE_EMBED_FAIL_UNREACHABLE,    /* connect refused, reset, DNS, HTTP error status */
    NODE_EMBED_FAIL_TIMEOUT,        /* no whole reply before the deadline */
    NODE_EMBED_FAIL_TOO_BIG,        /* body over NODE_EMBED_HTTP_MAX_REPLY */
    NODE_EMBED_FAIL_BAD_REPLY,      /* not JSON, wrong shape, wrong count */
    NODE_EMBED_FAIL_DIMENSION,      /* dimension out of range, mixed, or not the expected one */
    NODE_EMBED_FAIL_NOT_FINITE,     /* NaN or Inf in a vector */
    NODE_EMBED_FAIL_KINDS
} node_embed_fail_t;

/*  Short names of the kinds ("unreachable", "timeout", ...). */
const char *node_embed_fail_name (node_embed_fail_t kind);

/*  Cut text to at most max bytes without splitting a UTF-8 sequence:
    the length to keep. */
size_t node_embed_text_cut (const char *text, size_t max);

/*  The request body {"model": model, "input": [texts]} (malloc'd); NULL on
    OOM. Each text is cut to NODE_EMBED_MAX_TEXT_BYTES. */
char *node_embed_http_request (const char *model, const char *const *texts, size_t n);

/*  Check n vectors (a JSON array of n arrays of numbers) against the rules
    above; expected_dim 0 = any. 0 and *vectors (n * *dim floats, malloc'd,
    caller frees), or a negative hearth_err_t with *kind and *message
    (malloc'd). */
int node_embed_vectors_parse (const json_t *arrays, size_t n, size_t expected_dim, float **vectors,
                              size_t *dim, node_embed_fail_t *kind, char **message);

/*  Parse an OpenAI-style reply body (len bytes) for n texts: as above. */
int node_embed_http_parse (const char *body, size_t len, size_t n, size_t expected_dim,
                           float **vectors, size_t *dim, node_embed_fail_t *kind, char **message);

/*  POST body to url and parse the reply, giving up after timeout_ms.
    handle is a CURL easy handle (borrowed; reused between calls so
    connections persist). Same results as node_embed_http_parse, plus
    HEARTH_ETIMEOUT, HEARTH_EUNAVAILABLE (connection or HTTP status),
    HEARTH_ETOOBIG. A transfer is abandoned as soon as *stop (if not NULL)
    turns non-zero (the node is stopping). */
int node_embed_http_call (void *handle, const char *url, const char *model,
                          const char *const *texts, size_t n, size_t expected_dim,
                          uint32_t timeout_ms, atomic_int *stop, float **vectors, size_t *dim,
                          node_embed_fail_t *kind, char **message);

#ifdef __cplusplus
}
#endif
#endif
