/*  node_http_rules.h — the decisions of the HTTP listener (node_http.h),
    pure so they are unit-tested (test_node_http.c): the listener address,
    the route table of /api/v1/ with the capability and write flag of each
    route, the conversion of query arguments into the JSON input the
    handlers expect, form bodies, the Host / Origin / Sec-Fetch-Site checks
    against DNS rebinding and cross-site writes, cookies, hearth errors to
    HTTP statuses, and the /ready decision. No I/O, no clock.

    docs/http.md describes the routes and checks for users.
*/
#ifndef HEARTH_NODE_HTTP_RULES_H
#define HEARTH_NODE_HTTP_RULES_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

/*  Query arguments or form fields per request at most: the widest request
    (market.list with 16 tags) has under 20; more is refused (400). */
#define NODE_HTTP_MAX_ARGS          64
/*  Longest host text of a listener address ("[IPv6]" literal). */
#define NODE_HTTP_HOST_MAX          48

/*  A parsed listener address. */
typedef struct {
    int      ipv6;                      /* 1: IPv6 literal, else IPv4 */
    uint8_t  addr [16];                 /* network order; IPv4 in the first 4 */
    uint16_t port;                      /* 0 = any free port */
    char     host [NODE_HTTP_HOST_MAX]; /* as given, brackets kept for IPv6 */
} node_http_address_t;

/*  Parse "IPV4:PORT", "[IPV6]:PORT" or "localhost:PORT" (= 127.0.0.1).
    0 or HEARTH_EINVAL. */
int node_http_address_parse (const char *text, node_http_address_t *out);

/*  1 if the address (4 or 16 bytes, network order) is a loopback one:
    127.0.0.0/8, ::1, or ::ffff:127.x.y.z. */
int node_http_is_loopback (const uint8_t *addr, int ipv6);

/*  How a route takes its input. */
typedef enum {
    NODE_HTTP_INPUT_QUERY = 0,          /* query arguments (node_http_input_add) */
    NODE_HTTP_INPUT_BODY                /* a JSON object body (Content-Type application/json) */
} node_http_input_t;

/*  One route of /api/v1/: METHOD and path pattern ("{id}" matches one
    segment, which becomes the input's event_id), the capability of the
    control socket it calls, and whether it writes. */
typedef struct {
    const char       *method;
    const char       *pattern;
    const char       *capability;
    int               write;
    node_http_input_t input;
} node_http_route_t;

/*  Route match results. */
#define NODE_HTTP_ROUTE_FOUND       0
#define NODE_HTTP_ROUTE_NOT_FOUND   1   /* no route has this path: 404 */
#define NODE_HTTP_ROUTE_METHOD      2   /* the path exists for another method: 405 */
/*  Longest {id} segment accepted (a ULID is 26). */
#define NODE_HTTP_ID_MAX            64

/*  Find the route of method and path (decoded, starting "/api/v1/").
    FOUND: *route and id (the {id} segment, "" if none). */
int node_http_route_match (const char *method, const char *path,
                           const node_http_route_t **route, char id [NODE_HTTP_ID_MAX + 1]);

/*  The number of routes; *route gets route number index (NULL past the end). */
size_t node_http_routes (const node_http_route_t **route, size_t index);

/*  Add one query argument to a handler's input object: "q" becomes
    "query"; "tag" and "tags" append to the "tags" array (repeatable);
    since_lamport, limit and k become integers and known, signed booleans
    (true|false|1|0) when they read as such (else they stay text and the
    handler names the field); any other key stays text. A scalar given
    twice, or more than NODE_HTTP_MAX_ARGS, is HEARTH_EINVAL with *message. */
int node_http_input_add (json_t *input, const char *key, const char *value, char **message);

/*  Parse an application/x-www-form-urlencoded body (len bytes, borrowed)
    into args, an object of strings ('+' is a space, %XX decoded; a field
    given twice keeps the first). 0, or HEARTH_EINVAL (bad escape, not
    UTF-8, NUL, too many fields) with *message. */
int node_http_form_parse (const char *body, size_t len, json_t *args, char **message);

/*  Extra host names the operator serves the page under (config key
    http/hosts, e.g. "hearth.local, hearth.example.org"): at most
    NODE_HTTP_MAX_HOSTS names of at most NODE_HTTP_HOST_NAME_MAX
    characters each (a DNS name's limit), and the whole list text at most
    NODE_HTTP_HOSTS_TEXT_MAX bytes. */
#define NODE_HTTP_MAX_HOSTS         16
#define NODE_HTTP_HOST_NAME_MAX     253
#define NODE_HTTP_HOSTS_TEXT_MAX    1024

/*  Check an http/hosts list: comma-separated DNS names (letters, digits,
    '-' and '.', labels of 1..63 characters), spaces around commas
    allowed, "" = none. 0, or HEARTH_EINVAL with *message (malloc'd)
    naming the bad entry. */
int node_http_hosts_check (const char *list, char **message);

/*  DNS rebinding: 1 if a Host header may reach this listener: "localhost",
    an IPv4 literal or an [IPv6] literal, with a port equal to port (or
    none when port is 80); or one of the names of hosts (an http/hosts
    list, checked; NULL or "" = none; case-insensitive) with any port or
    none, since the operator chose those names and a reverse proxy may
    serve them on its own port. Any other name, one a rebinding page
    could control, is refused, as is host NULL (absent). */
int node_http_host_allowed (const char *host, uint16_t port, const char *hosts);

/*  Cross-site writes: 1 if a write may go on: origin (the Origin header,
    NULL when absent) is "http://" + host, and sec_fetch_site (NULL when
    absent) is "same-origin" or "none". */
int node_http_origin_allowed (const char *origin, const char *host, const char *sec_fetch_site);

/*  1 if content_type (NULL = absent) is application/json (parameters
    such as charset allowed). */
int node_http_is_json (const char *content_type);

/*  1 if content_type is application/x-www-form-urlencoded. */
int node_http_is_form (const char *content_type);

/*  The value of cookie name in a Cookie header (NULL = none) into out
    (capacity cap). 0, or HEARTH_ENOTFOUND (absent, or longer than cap-1). */
int node_http_cookie_get (const char *header, const char *name, char *out, size_t cap);

/*  The token of an "Authorization: Bearer TOKEN" header (NULL = absent)
    into out (capacity cap). 0 or HEARTH_ENOTFOUND. */
int node_http_bearer_get (const char *header, char *out, size_t cap);

/*  The HTTP status of a hearth error (0 = 200), by its wire code:
    bad_request, schema_mismatch, invalid_signature 400; unauthorized,
    revoked 403; not_found 404; expired 410; rate_limited 429;
    internal_error 500; not_implemented 501; partition, capacity_exceeded
    503 (ENOSPC: 507); timeout 504. */
int node_http_status_of (int err);

/*  /ready: 1 when the node is joined (a member of its community) and,
    with peers_configured > 0, at least one link is up; else 0 and
    *reason (static) says what is missing. */
int node_http_ready (int joined, size_t peers_configured, uint64_t links_up, const char **reason);

#ifdef __cplusplus
}
#endif
#endif
