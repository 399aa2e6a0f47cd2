/*  fuzz_http.c — what a client of the HTTP listener controls
    (node/node_http_rules.c): form bodies, query arguments, the Host,
    Origin, Cookie and Authorization headers, and listener addresses.

    Input: the bytes of one form body; the same bytes as text are also a
    header value, an address and "key=value" query arguments (split at
    '&'). Properties: every function answers with a value or an error and
    a message, never a crash; a parsed form is an object of strings within
    NODE_HTTP_MAX_ARGS fields; a query input stays within
    NODE_HTTP_MAX_ARGS keys; an accepted address has a host that fits.
*/
#include <string.h>
#include "fuzz.h"
#include "hearth_error.h"
#include "node_http_rules.h"

#define S_MAX_TEXT 65536

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size > S_MAX_TEXT)
        return 0;
    fuzz_quiet ();
    char *message = NULL;
    json_t *args = json_object ();
    int rc = node_http_form_parse ((const char *) data, size, args, &message);
    FUZZ_CHECK (rc == HEARTH_OK || (rc == HEARTH_EINVAL && message));
    if (rc == HEARTH_OK) {
        FUZZ_CHECK (json_object_size (args) <= NODE_HTTP_MAX_ARGS);
        const char *key;
        json_t *value;
        json_object_foreach (args, key, value)
            FUZZ_CHECK (json_is_string (value));
    }
    free (message);
    json_decref (args);

    char *text = (char *) malloc (size + 1);
    memcpy (text, data, size);
    text [size] = 0;
    (void) node_http_host_allowed (text, 7480, NULL);
    (void) node_http_host_allowed (text, 7480, "hearth.local, markt.example.org");
    (void) node_http_host_allowed ("hearth.local:7480", 7480, text);
    char *hosts_message = NULL;
    if (node_http_hosts_check (text, &hosts_message) != HEARTH_OK)
        FUZZ_CHECK (hosts_message != NULL);
    free (hosts_message);
    (void) node_http_origin_allowed (text, "127.0.0.1:7480", NULL);
    (void) node_http_origin_allowed ("http://127.0.0.1:7480", text, text);
    (void) node_http_is_json (text);
    (void) node_http_is_form (text);
    char out [80];
    if (node_http_cookie_get (text, "hearth_token", out, sizeof out) == HEARTH_OK)
        FUZZ_CHECK (strlen (out) < sizeof out);
    if (node_http_bearer_get (text, out, sizeof out) == HEARTH_OK)
        FUZZ_CHECK (strlen (out) > 0 && strlen (out) < sizeof out);
    node_http_address_t address;
    if (node_http_address_parse (text, &address) == HEARTH_OK)
        FUZZ_CHECK (memchr (address.host, 0, sizeof address.host) != NULL);
    const node_http_route_t *route;
    char id [NODE_HTTP_ID_MAX + 1];
    if (node_http_route_match ("GET", text, &route, id) == NODE_HTTP_ROUTE_FOUND)
        FUZZ_CHECK (route && strlen (id) <= NODE_HTTP_ID_MAX);

    //  Query arguments "k=v&k=v..." into a handler's input
    json_t *input = json_object ();
    char *save = NULL;
    for (char *pair = strtok_r (text, "&", &save); pair; pair = strtok_r (NULL, "&", &save)) {
        char *eq = strchr (pair, '=');
        const char *value = "";
        if (eq) {
            *eq = 0;
            value = eq + 1;
        }
        message = NULL;
        rc = node_http_input_add (input, pair, value, &message);
        FUZZ_CHECK (rc == HEARTH_OK || (rc == HEARTH_EINVAL && message));
        free (message);
        if (rc != HEARTH_OK)
            break;
    }
    FUZZ_CHECK (json_object_size (input) <= NODE_HTTP_MAX_ARGS);
    json_decref (input);
    free (text);
    return 0;
}

void
fuzz_seeds (fuzz_emit_fn *emit, void *arg)
{
    static const char *const texts [] = {
        "category=offer&tag=bike&tag=cargo&limit=20&since_lamport=5",
        "q=Lastenrad&k=10",
        "title=Gr%C3%BC%C3%9Fe+aus&body=x&csrf=0123456789abcdef&tags=a%2Cb",
        "127.0.0.1:7480",
        "[::1]:7480",
        "localhost:7480",
        "http://127.0.0.1:7480",
        "a=1; hearth_token=0123456789abcdef0123456789abcdef",
        "Bearer 0123456789abcdef0123456789abcdef",
        "application/json; charset=utf-8",
        "/api/v1/market/posts/01HV6Z9K6Q4C3X2Y1W0V9T8S7R/expire",
        "known=true&signed=0&limit=-1&k=99999999999999999999",
        "a=%zz&b=%4",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts [0]; i++)
        emit (arg, (const uint8_t *) texts [i], strlen (texts [i]));
}
