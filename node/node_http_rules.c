/*  node_http_rules.c — the pure decisions of the HTTP listener
    (node_http_rules.h).
*/
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "hearth_error.h"
#include "node_http_rules.h"

/* ---- addresses ---------------------------------------------------------- */

/*  Strict decimal port 0..65535. */
static int
s_parse_port (const char *text, uint16_t *port)
{
    if (!*text || strlen (text) > 5)
        return HEARTH_EINVAL;
    unsigned value = 0;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9')
            return HEARTH_EINVAL;
        value = value * 10 + (unsigned) (*p - '0');
    }
    if (value > 65535)
        return HEARTH_EINVAL;
    *port = (uint16_t) value;
    return HEARTH_OK;
}

int
node_http_address_parse (const char *text, node_http_address_t *out)
{
    memset (out, 0, sizeof *out);
    if (!text)
        return HEARTH_EINVAL;
    const char *colon = strrchr (text, ':');
    if (!colon || colon == text || s_parse_port (colon + 1, &out->port) != HEARTH_OK)
        return HEARTH_EINVAL;
    size_t host_len = (size_t) (colon - text);
    if (host_len >= sizeof out->host)
        return HEARTH_EINVAL;
    memcpy (out->host, text, host_len);
    out->host [host_len] = '\0';
    if (text [0] == '[') {
        if (host_len < 3 || text [host_len - 1] != ']')
            return HEARTH_EINVAL;
        char inner [NODE_HTTP_HOST_MAX];
        memcpy (inner, text + 1, host_len - 2);
        inner [host_len - 2] = '\0';
        if (inet_pton (AF_INET6, inner, out->addr) != 1)
            return HEARTH_EINVAL;
        out->ipv6 = 1;
        return HEARTH_OK;
    }
    if (strcmp (out->host, "localhost") == 0) {
        static const uint8_t loopback [4] = { 127, 0, 0, 1 };
        memcpy (out->addr, loopback, 4);
        return HEARTH_OK;
    }
    /*  inet_pton takes only the dotted quad: no "1", no octal, no hex. */
    return inet_pton (AF_INET, out->host, out->addr) == 1? HEARTH_OK: HEARTH_EINVAL;
}

int
node_http_is_loopback (const uint8_t *addr, int ipv6)
{
    if (!ipv6)
        return addr [0] == 127;
    static const uint8_t one [16] = { [15] = 1 };
    static const uint8_t mapped [12] = { [10] = 0xff, [11] = 0xff };
    if (memcmp (addr, one, 16) == 0)
        return 1;
    return memcmp (addr, mapped, 12) == 0 && addr [12] == 127;
}

/* ---- routes ------------------------------------------------------------- */

/*  The API: only the market and the node's read-only views. The admin
    capabilities (events.import, node.backup, community.invite,
    node.verify_views, events.list) are the control socket's alone. */
static const node_http_route_t s_routes [] = {
    { "GET",  "/api/v1/market/posts",             "market.list",   0, NODE_HTTP_INPUT_QUERY },
    { "POST", "/api/v1/market/posts",             "market.post",   1, NODE_HTTP_INPUT_BODY },
    { "GET",  "/api/v1/market/posts/{id}",        "market.get",    0, NODE_HTTP_INPUT_QUERY },
    { "POST", "/api/v1/market/posts/{id}/expire", "market.expire", 1, NODE_HTTP_INPUT_BODY },
    { "GET",  "/api/v1/market/search",            "market.search", 0, NODE_HTTP_INPUT_QUERY },
    { "GET",  "/api/v1/node",                     "node.id",       0, NODE_HTTP_INPUT_QUERY },
    { "GET",  "/api/v1/node/peers",               "node.peers",    0, NODE_HTTP_INPUT_QUERY },
    { "GET",  "/api/v1/node/stats",               "node.stats",    0, NODE_HTTP_INPUT_QUERY }
};
#define S_ROUTES (sizeof s_routes / sizeof s_routes [0])

size_t
node_http_routes (const node_http_route_t **route, size_t index)
{
    if (route)
        *route = index < S_ROUTES? &s_routes [index]: NULL;
    return S_ROUTES;
}

/*  1 if path matches pattern; the {id} segment into id. */
static int
s_path_match (const char *pattern, const char *path, char id [NODE_HTTP_ID_MAX + 1])
{
    id [0] = '\0';
    while (*pattern && *path) {
        if (strncmp (pattern, "{id}", 4) == 0) {
            size_t n = strcspn (path, "/");
            if (n == 0 || n > NODE_HTTP_ID_MAX)
                return 0;
            memcpy (id, path, n);
            id [n] = '\0';
            path += n;
            pattern += 4;
            continue;
        }
        if (*pattern != *path)
            return 0;
        pattern++;
        path++;
    }
    return *pattern == '\0' && *path == '\0';
}

int
node_http_route_match (const char *method, const char *path,
                       const node_http_route_t **route, char id [NODE_HTTP_ID_MAX + 1])
{
    *route = NULL;
    int other_method = 0;
    /*  A HEAD asks what the GET would answer. */
    const char *as = strcmp (method, "HEAD") == 0? "GET": method;
    for (size_t i = 0; i < S_ROUTES; i++) {
        if (!s_path_match (s_routes [i].pattern, path, id))
            continue;
        if (strcmp (s_routes [i].method, as) == 0) {
            *route = &s_routes [i];
            return NODE_HTTP_ROUTE_FOUND;
        }
        other_method = 1;
    }
    id [0] = '\0';
    return other_method? NODE_HTTP_ROUTE_METHOD: NODE_HTTP_ROUTE_NOT_FOUND;
}

/* ---- query arguments ---------------------------------------------------- */

static int
s_key_in (const char *key, const char *const *names)
{
    for (size_t i = 0; names [i]; i++)
        if (strcmp (key, names [i]) == 0)
            return 1;
    return 0;
}

/*  Strict decimal 0..2^63-1 into *out; 0 or -1. */
static int
s_parse_int (const char *text, json_int_t *out)
{
    if (!*text || strlen (text) > 19)
        return -1;
    for (const char *p = text; *p; p++)
        if (*p < '0' || *p > '9')
            return -1;
    errno = 0;
    long long value = strtoll (text, NULL, 10);
    if (errno == ERANGE)
        return -1;
    *out = (json_int_t) value;
    return 0;
}

int
node_http_input_add (json_t *input, const char *key, const char *value, char **message)
{
    static const char *const integers [] = { "since_lamport", "limit", "k", NULL };
    static const char *const booleans [] = { "known", "signed", NULL };
    *message = NULL;
    if (json_object_size (input) >= NODE_HTTP_MAX_ARGS) {
        *message = hearth_message ("more than %d query arguments", NODE_HTTP_MAX_ARGS);
        return HEARTH_EINVAL;
    }
    json_t *item = json_string (key);       /* a key must be UTF-8 text too */
    if (!item) {
        *message = hearth_message ("a query argument's name is not UTF-8");
        return HEARTH_EINVAL;
    }
    json_decref (item);
    item = NULL;
    if (strcmp (key, "q") == 0)
        key = "query";
    if (strcmp (key, "tag") == 0 || strcmp (key, "tags") == 0) {
        json_t *tags = json_object_get (input, "tags");
        if (!tags) {
            tags = json_array ();
            if (!tags || json_object_set_new (input, "tags", tags) != 0)
                return HEARTH_ENOMEM;
        }
        if (json_array_size (tags) >= NODE_HTTP_MAX_ARGS) {
            *message = hearth_message ("more than %d tags", NODE_HTTP_MAX_ARGS);
            return HEARTH_EINVAL;
        }
        item = json_string (value);
        if (!item) {
            *message = hearth_message ("query argument '%.64s' is not UTF-8", key);
            return HEARTH_EINVAL;
        }
        return json_array_append_new (tags, item) == 0? HEARTH_OK: HEARTH_ENOMEM;
    }
    if (json_object_get (input, key)) {
        *message = hearth_message ("query argument '%.64s' given twice", key);
        return HEARTH_EINVAL;
    }
    json_int_t number;
    if (s_key_in (key, integers) && s_parse_int (value, &number) == 0)
        item = json_integer (number);
    else
    if (s_key_in (key, booleans) && (strcmp (value, "true") == 0 || strcmp (value, "1") == 0))
        item = json_true ();
    else
    if (s_key_in (key, booleans) && (strcmp (value, "false") == 0 || strcmp (value, "0") == 0))
        item = json_false ();
    else {
        item = json_string (value);
        if (!item) {
            *message = hearth_message ("query argument '%.64s' is not UTF-8", key);
            return HEARTH_EINVAL;
        }
    }
    return json_object_set_new (input, key, item) == 0? HEARTH_OK: HEARTH_ENOMEM;
}

/* ---- forms -------------------------------------------------------------- */

static int
s_hex_digit (char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*  Decode len bytes of a form component into a new NUL-terminated string;
    NULL on a bad escape, a NUL byte, or OOM (*oom set). */
static char *
s_form_decode (const char *text, size_t len, int *oom)
{
    char *out = (char *) malloc (len + 1);
    if (!out) {
        *oom = 1;
        return NULL;
    }
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = text [i];
        if (c == '+')
            c = ' ';
        else
        if (c == '%') {
            int hi = i + 1 < len? s_hex_digit (text [i + 1]): -1;
            int lo = i + 2 < len? s_hex_digit (text [i + 2]): -1;
            if (hi < 0 || lo < 0) {
                free (out);
                return NULL;
            }
            c = (char) (hi * 16 + lo);
            i += 2;
        }
        if (c == '\0') {
            free (out);
            return NULL;
        }
        out [n++] = c;
    }
    out [n] = '\0';
    return out;
}

int
node_http_form_parse (const char *body, size_t len, json_t *args, char **message)
{
    *message = NULL;
    size_t fields = 0;
    size_t at = 0;
    while (at < len) {
        const char *start = body + at;
        const char *amp = memchr (start, '&', len - at);
        size_t field_len = amp? (size_t) (amp - start): len - at;
        at += field_len + 1;
        if (field_len == 0)
            continue;
        if (++fields > NODE_HTTP_MAX_ARGS) {
            *message = hearth_message ("more than %d form fields", NODE_HTTP_MAX_ARGS);
            return HEARTH_EINVAL;
        }
        const char *eq = memchr (start, '=', field_len);
        size_t key_len = eq? (size_t) (eq - start): field_len;
        int oom = 0;
        char *key = s_form_decode (start, key_len, &oom);
        char *value = key? s_form_decode (eq? eq + 1: start + field_len,
                                          eq? field_len - key_len - 1: 0, &oom): NULL;
        json_t *string = value? json_string (value): NULL;
        json_t *key_text = key? json_string (key): NULL;
        int rc = HEARTH_OK;
        if (oom)
            rc = HEARTH_ENOMEM;
        else
        if (!string || !key_text) {
            *message = hearth_message ("a form field is not valid text (bad %%-escape, NUL or not UTF-8)");
            rc = HEARTH_EINVAL;
        }
        else
        if (!json_object_get (args, key) && json_object_set (args, key, string) != 0)
            rc = HEARTH_ENOMEM;
        json_decref (string);
        json_decref (key_text);
        free (key);
        free (value);
        if (rc != HEARTH_OK)
            return rc;
    }
    return HEARTH_OK;
}

/* ---- Host, Origin, content types, cookies ------------------------------- */

/*  The next name of an http/hosts list from *cursor: its start and length
    (spaces trimmed); 0 at the end. */
static int
s_hosts_next (const char **cursor, const char **name, size_t *len)
{
    const char *p = *cursor;
    while (*p == ' ' || *p == '\t')
        p++;
    if (!*p)
        return 0;
    const char *end = strchr (p, ',');
    if (!end)
        end = p + strlen (p);
    *cursor = *end? end + 1: end;
    const char *last = end;
    while (last > p && (last [-1] == ' ' || last [-1] == '\t'))
        last--;
    *name = p;
    *len = (size_t) (last - p);
    return 1;
}

int
node_http_hosts_check (const char *list, char **message)
{
    *message = NULL;
    if (!list)
        return HEARTH_OK;
    if (strlen (list) > NODE_HTTP_HOSTS_TEXT_MAX) {
        *message = hearth_message ("longer than %d bytes", NODE_HTTP_HOSTS_TEXT_MAX);
        return HEARTH_EINVAL;
    }
    const char *cursor = list, *name;
    size_t len, count = 0;
    while (s_hosts_next (&cursor, &name, &len)) {
        if (++count > NODE_HTTP_MAX_HOSTS) {
            *message = hearth_message ("more than %d names", NODE_HTTP_MAX_HOSTS);
            return HEARTH_EINVAL;
        }
        int ok = len > 0 && len <= NODE_HTTP_HOST_NAME_MAX;
        size_t label = 0;
        for (size_t i = 0; ok && i < len; i++) {
            char c = name [i];
            if (c == '.') {
                ok = label > 0;
                label = 0;
            }
            else {
                ok = ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                      || c == '-') && ++label <= 63;
            }
        }
        if (!ok || label == 0) {
            *message = hearth_message ("'%.*s' is not a host name (letters, digits, '-' and '.'; "
                                       "no port, no scheme)", (int) (len > 80? 80: len), name);
            return HEARTH_EINVAL;
        }
    }
    return HEARTH_OK;
}

/*  1 if name (len bytes) is one of the hosts list's names. */
static int
s_hosts_has (const char *hosts, const char *name, size_t len)
{
    const char *cursor = hosts? hosts: "", *entry;
    size_t entry_len;
    while (s_hosts_next (&cursor, &entry, &entry_len))
        if (entry_len == len && len > 0 && strncasecmp (entry, name, len) == 0)
            return 1;
    return 0;
}

int
node_http_host_allowed (const char *host, uint16_t port, const char *hosts)
{
    if (!host || !*host || strlen (host) >= NODE_HTTP_HOST_NAME_MAX + 8)
        return 0;
    char name [NODE_HTTP_HOST_NAME_MAX + 8];
    snprintf (name, sizeof name, "%s", host);
    /*  The port: after the last ':' that follows the closing ']' of an
        IPv6 literal, or the only ':' otherwise. */
    char *port_text = NULL;
    if (name [0] == '[') {
        char *close = strchr (name, ']');
        if (!close)
            return 0;
        if (close [1] == ':')
            port_text = close + 1;
        else
        if (close [1] != '\0')
            return 0;
    }
    else
        port_text = strchr (name, ':');
    uint16_t given = 80;
    if (port_text) {
        *port_text = '\0';
        if (s_parse_port (port_text + 1, &given) != HEARTH_OK)
            return 0;
    }
    if (name [0] != '[' && s_hosts_has (hosts, name, strlen (name)))
        return 1;
    if (given != port)
        return 0;
    if (strcasecmp (name, "localhost") == 0)
        return 1;
    uint8_t addr [16];
    if (name [0] == '[') {
        size_t n = strlen (name);
        if (n < 3 || name [n - 1] != ']')
            return 0;
        name [n - 1] = '\0';
        return inet_pton (AF_INET6, name + 1, addr) == 1;
    }
    return inet_pton (AF_INET, name, addr) == 1;
}

int
node_http_origin_allowed (const char *origin, const char *host, const char *sec_fetch_site)
{
    if (sec_fetch_site && strcmp (sec_fetch_site, "same-origin") != 0
    &&  strcmp (sec_fetch_site, "none") != 0)
        return 0;
    if (!origin)
        return 1;
    if (!host || strncmp (origin, "http://", 7) != 0)
        return 0;
    return strcasecmp (origin + 7, host) == 0;
}

/*  1 if content_type is `type` with optional parameters after ';'. */
static int
s_media_type_is (const char *content_type, const char *type)
{
    if (!content_type)
        return 0;
    size_t n = strlen (type);
    if (strncasecmp (content_type, type, n) != 0)
        return 0;
    char next = content_type [n];
    return next == '\0' || next == ';' || next == ' ' || next == '\t';
}

int
node_http_is_json (const char *content_type)
{
    return s_media_type_is (content_type, "application/json");
}

int
node_http_is_form (const char *content_type)
{
    return s_media_type_is (content_type, "application/x-www-form-urlencoded");
}

int
node_http_cookie_get (const char *header, const char *name, char *out, size_t cap)
{
    if (!header || cap == 0)
        return HEARTH_ENOTFOUND;
    size_t name_len = strlen (name);
    const char *p = header;
    while (*p) {
        while (*p == ' ' || *p == ';' || *p == '\t')
            p++;
        const char *end = strchr (p, ';');
        size_t len = end? (size_t) (end - p): strlen (p);
        if (len > name_len && strncmp (p, name, name_len) == 0 && p [name_len] == '=') {
            size_t value_len = len - name_len - 1;
            if (value_len >= cap)
                return HEARTH_ENOTFOUND;
            memcpy (out, p + name_len + 1, value_len);
            out [value_len] = '\0';
            return HEARTH_OK;
        }
        p += len;
    }
    return HEARTH_ENOTFOUND;
}

int
node_http_bearer_get (const char *header, char *out, size_t cap)
{
    if (!header || strncasecmp (header, "Bearer ", 7) != 0 || cap == 0)
        return HEARTH_ENOTFOUND;
    const char *token = header + 7;
    while (*token == ' ')
        token++;
    size_t len = strlen (token);
    while (len && (token [len - 1] == ' ' || token [len - 1] == '\t'))
        len--;
    if (len == 0 || len >= cap)
        return HEARTH_ENOTFOUND;
    memcpy (out, token, len);
    out [len] = '\0';
    return HEARTH_OK;
}

/* ---- statuses, readiness ------------------------------------------------ */

int
node_http_status_of (int err)
{
    if (err == HEARTH_OK)
        return 200;
    if (err == HEARTH_ENOSPC)
        return 507;
    static const struct { const char *code; int status; } map [] = {
        { "bad_request", 400 }, { "schema_mismatch", 400 }, { "invalid_signature", 400 },
        { "unauthorized", 403 }, { "revoked", 403 }, { "not_found", 404 }, { "expired", 410 },
        { "rate_limited", 429 }, { "internal_error", 500 }, { "not_implemented", 501 },
        { "partition", 503 }, { "capacity_exceeded", 503 }, { "timeout", 504 }
    };
    const char *code = hearth_error_code (err);
    for (size_t i = 0; i < sizeof map / sizeof map [0]; i++)
        if (strcmp (code, map [i].code) == 0)
            return map [i].status;
    return 500;
}

int
node_http_ready (int joined, size_t peers_configured, uint64_t links_up, const char **reason)
{
    *reason = NULL;
    if (!joined) {
        *reason = "not a member of the community yet (waiting for the invite to sync)";
        return 0;
    }
    if (peers_configured > 0 && links_up == 0) {
        *reason = "peers are configured but no peer link is up";
        return 0;
    }
    return 1;
}
