/*  node_embed_http.c — OpenAI-compatible embeddings over libcurl, and the
    checks of every embedding reply; see node_embed_http.h.
*/
#include <curl/curl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "hearth_error.h"
#include "hearth_json.h"
#include "market_embed_cache.h"
#include "node_embed_http.h"

const char *
node_embed_fail_name (node_embed_fail_t kind)
{
    static const char *names [] = { "none", "unreachable", "timeout", "too_big", "bad_reply",
                                    "dimension", "not_finite" };
    return (unsigned) kind < NODE_EMBED_FAIL_KINDS? names [kind]: "unknown";
}

size_t
node_embed_text_cut (const char *text, size_t max)
{
    size_t len = strlen (text);
    if (len <= max)
        return len;
    /*  Back off continuation bytes (10xxxxxx) so the cut starts a character. */
    while (max > 0 && ((unsigned char) text [max] & 0xC0) == 0x80)
        max--;
    return max;
}

char *
node_embed_http_request (const char *model, const char *const *texts, size_t n)
{
    json_t *input = json_array ();
    json_t *req = input? json_pack ("{s:s, s:o, s:s}", "model", model? model: "", "input", input,
                                    "encoding_format", "float"): NULL;
    if (!req)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        size_t keep = node_embed_text_cut (texts [i], NODE_EMBED_MAX_TEXT_BYTES);
        if (json_array_append_new (input, json_stringn (texts [i], keep))) {
            json_decref (req);
            return NULL;
        }
    }
    char *text = json_dumps (req, HEARTH_JSON_FLAGS);
    json_decref (req);
    return text;
}

static int
s_fail (node_embed_fail_t *kind, node_embed_fail_t what, char **message, int rc, char *text)
{
    *kind = what;
    *message = text;
    return rc;
}

int
node_embed_vectors_parse (const json_t *arrays, size_t n, size_t expected_dim, float **vectors,
                          size_t *dim, node_embed_fail_t *kind, char **message)
{
    *vectors = NULL;
    *dim = 0;
    *kind = NODE_EMBED_FAIL_NONE;
    *message = NULL;
    if (!json_is_array (arrays) || json_array_size (arrays) != n || n == 0)
        return s_fail (kind, NODE_EMBED_FAIL_BAD_REPLY, message, HEARTH_EDECODE,
                       hearth_message ("expected %zu embeddings, got %zu", n,
                                       json_is_array (arrays)? json_array_size (arrays): 0));
    size_t d = json_array_size (json_array_get (arrays, 0));
    if (d < MARKET_EMBED_MIN_DIM || d > MARKET_EMBED_MAX_DIM || (expected_dim && d != expected_dim))
        return s_fail (kind, NODE_EMBED_FAIL_DIMENSION, message, HEARTH_EDECODE,
                       expected_dim && d >= MARKET_EMBED_MIN_DIM && d <= MARKET_EMBED_MAX_DIM
                       ? hearth_message ("embedding has %zu dimensions, the model gave %zu before "
                                         "(a changed model needs a restart of hearthd)", d,
                                         expected_dim)
                       : hearth_message ("embedding has %zu dimensions (%d..%d accepted)", d,
                                         MARKET_EMBED_MIN_DIM, MARKET_EMBED_MAX_DIM));
    float *out = (float *) malloc (n * d * sizeof (float));
    if (!out)
        return s_fail (kind, NODE_EMBED_FAIL_BAD_REPLY, message, HEARTH_ENOMEM, NULL);
    for (size_t i = 0; i < n; i++) {
        const json_t *vec = json_array_get (arrays, i);
        if (!json_is_array (vec) || json_array_size (vec) != d) {
            free (out);
            return s_fail (kind, NODE_EMBED_FAIL_DIMENSION, message, HEARTH_EDECODE,
                           hearth_message ("embedding %zu has %zu dimensions, the first has %zu", i,
                                           json_is_array (vec)? json_array_size (vec): 0, d));
        }
        for (size_t j = 0; j < d; j++) {
            const json_t *x = json_array_get (vec, j);
            if (!json_is_number (x)) {
                free (out);
                return s_fail (kind, NODE_EMBED_FAIL_BAD_REPLY, message, HEARTH_EDECODE,
                               hearth_message ("embedding %zu holds a non-number at %zu", i, j));
            }
            double v = json_number_value (x);
            float f = (float) v;
            if (!isfinite (v) || !isfinite (f)) {
                free (out);
                return s_fail (kind, NODE_EMBED_FAIL_NOT_FINITE, message, HEARTH_EDECODE,
                               hearth_message ("embedding %zu holds a value that is not a finite "
                                               "float at %zu", i, j));
            }
            out [i * d + j] = f;
        }
    }
    *vectors = out;
    *dim = d;
    return HEARTH_OK;
}

int
node_embed_http_parse (const char *body, size_t len, size_t n, size_t expected_dim,
                       float **vectors, size_t *dim, node_embed_fail_t *kind, char **message)
{
    *vectors = NULL;
    *dim = 0;
    json_error_t jerr;
    json_t *reply = json_loadb (body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!reply) {
        /*  JSON has no NaN or Infinity; a server that prints them sent a
            vector that is not finite. */
        int not_finite = memmem (body, len, "NaN", 3) || memmem (body, len, "Infinity", 8)
                      || memmem (body, len, "nan", 3) || memmem (body, len, "inf", 3);
        return s_fail (kind, not_finite? NODE_EMBED_FAIL_NOT_FINITE: NODE_EMBED_FAIL_BAD_REPLY,
                       message, HEARTH_EDECODE,
                       hearth_message ("reply is not JSON%s: %.120s", not_finite?
                                       " (it holds NaN or Infinity)": "", jerr.text));
    }
    json_t *data = json_object_get (reply, "data");
    if (!json_is_array (data) || json_array_size (data) != n) {
        json_decref (reply);
        return s_fail (kind, NODE_EMBED_FAIL_BAD_REPLY, message, HEARTH_EDECODE,
                       hearth_message ("reply has no \"data\" array of %zu embeddings", n));
    }
    /*  Place each by its index (when given), each index once. */
    json_t *arrays = json_array ();
    for (size_t i = 0; arrays && i < n; i++)
        json_array_append_new (arrays, json_null ());
    int rc = arrays? HEARTH_OK: HEARTH_ENOMEM;
    for (size_t i = 0; rc == HEARTH_OK && i < n; i++) {
        json_t *item = json_array_get (data, i);
        json_t *index = json_object_get (item, "index");
        json_t *embedding = json_object_get (item, "embedding");
        size_t at = i;
        if (index) {
            if (!json_is_integer (index) || json_integer_value (index) < 0
            ||  (size_t) json_integer_value (index) >= n)
                rc = HEARTH_EDECODE;
            else
                at = (size_t) json_integer_value (index);
        }
        if (rc == HEARTH_OK && (!json_is_array (embedding) || !json_is_null (json_array_get (arrays, at))))
            rc = HEARTH_EDECODE;
        if (rc == HEARTH_OK)
            json_array_set (arrays, at, embedding);
        else {
            json_decref (arrays);
            json_decref (reply);
            return s_fail (kind, NODE_EMBED_FAIL_BAD_REPLY, message, HEARTH_EDECODE,
                           hearth_message ("reply item %zu has no embedding array or a bad or "
                                           "repeated index", i));
        }
    }
    if (rc == HEARTH_OK)
        rc = node_embed_vectors_parse (arrays, n, expected_dim, vectors, dim, kind, message);
    json_decref (arrays);
    json_decref (reply);
    return rc;
}

/* ---- the transfer ---------------------------------------------------------- */

typedef struct {
    char  *data;
    size_t len, cap;
    int    too_big;
} s_body_t;

static size_t
s_on_data (char *ptr, size_t size, size_t nmemb, void *arg)
{
    s_body_t *body = (s_body_t *) arg;
    size_t add = size * nmemb;
    if (add > NODE_EMBED_HTTP_MAX_REPLY - body->len) {
        body->too_big = 1;
        return 0;               /* abandons the transfer (CURLE_WRITE_ERROR) */
    }
    if (body->len + add + 1 > body->cap) {
        size_t cap = body->cap? body->cap: 16384;
        while (cap < body->len + add + 1)
            cap *= 2;
        char *grown = (char *) realloc (body->data, cap);
        if (!grown)
            return 0;
        body->data = grown;
        body->cap = cap;
    }
    memcpy (body->data + body->len, ptr, add);
    body->len += add;
    body->data [body->len] = '\0';
    return add;
}

/*  Abandon the transfer once the stop flag is set. */
static int
s_on_progress (void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void) dltotal; (void) dlnow; (void) ultotal; (void) ulnow;
    return atomic_load ((atomic_int *) arg)? 1: 0;
}

int
node_embed_http_call (void *handle, const char *url, const char *model,
                      const char *const *texts, size_t n, size_t expected_dim,
                      uint32_t timeout_ms, atomic_int *stop, float **vectors, size_t *dim,
                      node_embed_fail_t *kind, char **message)
{
    CURL *curl = (CURL *) handle;
    *vectors = NULL;
    *dim = 0;
    *kind = NODE_EMBED_FAIL_NONE;
    *message = NULL;
    char *request = node_embed_http_request (model, texts, n);
    if (!request)
        return HEARTH_ENOMEM;
    s_body_t body = { NULL, 0, 0, 0 };
    struct curl_slist *headers = curl_slist_append (NULL, "Content-Type: application/json");
    curl_easy_reset (curl);
    curl_easy_setopt (curl, CURLOPT_URL, url);
    curl_easy_setopt (curl, CURLOPT_POSTFIELDS, request);
    curl_easy_setopt (curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, s_on_data);
    curl_easy_setopt (curl, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt (curl, CURLOPT_TIMEOUT_MS, (long) (timeout_ms? timeout_ms: 1));
    curl_easy_setopt (curl, CURLOPT_CONNECTTIMEOUT_MS, (long) (timeout_ms? timeout_ms: 1));
    curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt (curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt (curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) NODE_EMBED_HTTP_MAX_REPLY);
    if (stop) {
        curl_easy_setopt (curl, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt (curl, CURLOPT_XFERINFOFUNCTION, s_on_progress);
        curl_easy_setopt (curl, CURLOPT_XFERINFODATA, stop);
    }
    CURLcode res = curl_easy_perform (curl);
    long status = 0;
    curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all (headers);
    free (request);
    int rc;
    if (body.too_big || res == CURLE_FILESIZE_EXCEEDED)
        rc = s_fail (kind, NODE_EMBED_FAIL_TOO_BIG, message, HEARTH_ETOOBIG,
                     hearth_message ("reply over %d bytes: abandoned", NODE_EMBED_HTTP_MAX_REPLY));
    else
    if (res == CURLE_OPERATION_TIMEDOUT)
        rc = s_fail (kind, NODE_EMBED_FAIL_TIMEOUT, message, HEARTH_ETIMEOUT,
                     hearth_message ("no reply within %u ms", timeout_ms));
    else
    if (res != CURLE_OK)
        rc = s_fail (kind, NODE_EMBED_FAIL_UNREACHABLE, message, HEARTH_EUNAVAILABLE,
                     hearth_message ("%s", curl_easy_strerror (res)));
    else
    if (status != 200)
        rc = s_fail (kind, NODE_EMBED_FAIL_UNREACHABLE, message, HEARTH_EUNAVAILABLE,
                     hearth_message ("HTTP status %ld: %.200s", status, body.data? body.data: ""));
    else
        rc = node_embed_http_parse (body.data? body.data: "", body.len, n, expected_dim, vectors,
                                    dim, kind, message);
    free (body.data);
    return rc;
}
