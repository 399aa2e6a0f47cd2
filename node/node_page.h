/*  node_page.h — the marketplace web page: server-rendered HTML views of the
    market, a post form and the node's health, served by node_http.

    Every view is rendered from the same capabilities the control socket
    serves (node_bus_call), so the page can show nothing the CLI could not.
    The page never talks to the network itself and links no external
    resource: its CSS (and any script) is embedded in the binary.

    The contract with node_http (the listener):
      - node_http sends here every request that is not /metrics, /health,
        /ready or under /api/; only GET, HEAD and POST reach the page.
      - args holds the query arguments of a GET, or the fields of an
        application/x-www-form-urlencoded POST body, as a JSON object of
        strings (borrowed for the call). node_http has already bounded the
        body size and the request rate.
      - may_write is 1 only when node_http has checked that the client may
        write (a loopback client, or one that presented the data dir's
        write token) AND that a POST is not cross-site (its "csrf" field
        matches csrf_token, and Origin / Sec-Fetch-Site, when sent, name
        this origin). The page performs a write (market.post,
        market.update, market.expire) only when may_write is 1;
        otherwise it answers 403 with a page that says why.
      - csrf_token (borrowed for the call) is the value every form the page
        renders must carry in a hidden field named "csrf".
      - POST /login is node_http's: a form field "token" equal to the data
        dir's write token sets the cookie that authorizes writes from then
        on and redirects to "/" (303); a wrong one gets 403. GET /login
        comes here: the page may render that form (a password field named
        "token", method POST, action "/login") for clients that are not
        on loopback (may_write 0 on a GET says this client cannot write).
*/
#ifndef HEARTH_NODE_PAGE_H
#define HEARTH_NODE_PAGE_H

#include <stddef.h>
#include <jansson.h>
#include "node_bus.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _node_page_t node_page_t;

typedef struct {
    const char   *method;            /* "GET", "HEAD" or "POST" */
    const char   *path;              /* decoded URL path, starts with "/" */
    const json_t *args;              /* borrowed: object of strings (query or form) */
    const char   *accept_language;   /* borrowed; NULL when the header is absent */
    int           may_write;         /* see the banner */
    const char   *csrf_token;        /* borrowed: the "csrf" field forms carry */
} node_page_request_t;

typedef struct {
    int         status;              /* HTTP status code */
    const char *content_type;        /* static string, e.g. "text/html; charset=utf-8" */
    char       *body;                /* malloc'd, node_http frees; may be NULL when body_len 0 */
    size_t      body_len;
    char       *location;            /* malloc'd or NULL: with status 303, where to go next */
} node_page_response_t;

/*  New page renderer over bus (borrowed; must outlive the page). NULL on OOM. */
node_page_t *node_page_new (node_bus_t *bus);

/*  Free; safe on NULL; nulls *self_p. */
void node_page_destroy (node_page_t **self_p);

/*  Answer one request: fills *resp (zeroed by the caller) and returns 0;
    HEARTH_ENOMEM when the answer could not be built (node_http then sends
    a bare 500). A request the page does not know gets status 404 and a
    page, not an error. */
int node_page_handle (node_page_t *self, const node_page_request_t *req,
                      node_page_response_t *resp);

#ifdef __cplusplus
}
#endif
#endif
