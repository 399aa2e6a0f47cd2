/*  node_http.c — the HTTP listener on the daemon's loop (node_http.h).

    Flow of one request through libmicrohttpd's access handler:
      first call (headers read)   rate limit, Host, method, route, write
                                  authorization, Origin, content type and
                                  announced length; a refusal is answered
                                  here and the body never read
      calls with body bytes       appended up to NODE_HTTP_MAX_BODY_BYTES
      last call                   the answer: /metrics, /health, /ready, an
                                  API call through node_bus_handle_call, or
                                  the page (node_page_handle)
    The request object is made by the URI log callback (so a request that
    libmicrohttpd refuses itself, e.g. headers over the memory limit, is
    still counted when it completes) and freed when the request completes.

    A call the bus defers (market.search waiting for its query embedding,
    node_bus_handle_call_async) suspends its connection: a waiting record
    (s_waiting_t) links the bus's later answer to the request. The record
    belongs to the bus's callback, which frees it when it comes (exactly
    once, node_bus.h); the listener keeps it in its list while the request
    waits. When the request or the listener goes first (the client is gone,
    or shutdown answers 503), the record is cancelled: its pointers are
    cleared and the late answer only frees the record and the reply text.
    libmicrohttpd aborts when stopped with a suspended connection, so
    node_http_destroy resumes every one first (503, ESHUTDOWN).
*/
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <microhttpd.h>
#include <sodium.h>
#include "hearth_codec.h"
#include "hearth_error.h"
#include "hearth_log.h"
#include "node_http.h"
#include "node_http_rules.h"
#include "node_ratelimit.h"

#define S_LOG "http"

/*  Security headers of every answer: no external sources, no framing, no
    referrer, no sniffing. The page's CSS is served from this origin
    (/static/page.css), so no inline style or script is allowed. */
#define S_CSP "default-src 'self'; img-src 'self' data:; " \
              "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

typedef struct {
    uint8_t  key [NODE_RATELIMIT_KEY_BYTES];
    uint32_t count;
} s_address_t;

typedef struct _s_request_t s_request_t;
typedef struct _s_waiting_t s_waiting_t;

/*  libmicrohttpd runs this often at most in node_http_destroy to send the
    503s of requests that were waiting (each run is non-blocking). */
#define S_SHUTDOWN_RUNS 8

struct _node_http_t {
    struct MHD_Daemon *mhd;             /* owned */
    zloop_t           *loop;            /* borrowed */
    node_bus_t        *bus;             /* borrowed */
    node_page_t       *page;            /* borrowed */
    node_stats_t      *stats;           /* borrowed */
    node_http_ready_fn *ready;
    void              *ready_arg;
    node_ratelimit_t  *rate;            /* owned */
    int                epoll_fd;        /* MHD's; polled by the loop */
    int                polling;         /* 1 while the poller is registered */
    int                timer_id;        /* one-shot MHD_get_timeout timer; -1 = none */
    int                trust_loopback;
    char              *hosts;           /* owned: http/hosts, "" = none */
    uint16_t           port;            /* bound */
    char               url [NODE_HTTP_HOST_MAX + 16];
    char               token [NODE_HTTP_TOKEN_BYTES * 2 + 1];   /* hex */
    char               csrf [crypto_auth_hmacsha256_BYTES * 2 + 1];
    s_address_t        addresses [NODE_HTTP_MAX_CONNECTIONS];   /* live connections per address */
    size_t             n_addresses;
    size_t             connections;
    s_waiting_t       *waiting;         /* list of requests waiting (records owned by the bus's callbacks) */
    size_t             n_waiting;
    int                running;         /* 1 inside MHD_run */
    int                rerun;           /* run again: a connection was resumed meanwhile */
};

/*  A request waiting for a deferred answer (see the banner). */
struct _s_waiting_t {
    int                    cancelled;   /* 1: the request or the listener is gone;
                                           the pointers below are NULL */
    node_http_t           *http;        /* borrowed */
    struct MHD_Connection *connection;  /* borrowed: suspended */
    s_request_t           *req;         /* borrowed */
    s_waiting_t           *prev, *next; /* the listener's list */
};

/*  Where a request goes: /metrics, /health, /ready; the API; POST /login
    (sets the token cookie); the page. */
typedef enum { S_PLAIN = 0, S_API, S_LOGIN, S_PAGE } s_kind_t;

struct _s_request_t {
    int        handled;         /* the access handler ran */
    int        answered;        /* a response was queued */
    int        too_big;
    s_kind_t   kind;
    const node_http_route_t *route;
    char       id [NODE_HTTP_ID_MAX + 1];
    int        authorized;      /* loopback (trusted) or the token */
    int        same_origin;     /* Origin / Sec-Fetch-Site allow a write */
    char      *body;            /* owned */
    size_t     len, cap;
    s_waiting_t *waiting;       /* borrowed: set while suspended */
    int        deferred;        /* it waited for a deferred answer */
    int        resumed;         /* the deferred answer is here: reply and result */
    int        shutdown;        /* resumed by node_http_destroy: answer 503 */
    int        abandoned;       /* counted: the client was gone */
    int        result;
    char      *reply;           /* owned */
};

/* ---- the loop ----------------------------------------------------------- */

static int s_on_timer (zloop_t *loop, int timer_id, void *arg);

/*  Let MHD work, then re-arm the timer for its next timeout. A call from
    inside MHD_run (a deferred answer arriving there) only asks for one
    more run. */
static void
s_run (node_http_t *self)
{
    if (self->running) {
        self->rerun = 1;
        return;
    }
    self->running = 1;
    do {
        self->rerun = 0;
        MHD_run (self->mhd);
    } while (self->rerun);
    self->running = 0;
    if (self->timer_id >= 0) {
        zloop_timer_end (self->loop, self->timer_id);
        self->timer_id = -1;
    }
    MHD_UNSIGNED_LONG_LONG timeout = 0;
    if (MHD_get_timeout (self->mhd, &timeout) == MHD_YES) {
        size_t delay = timeout < 1? 1: timeout > 60000? 60000: (size_t) timeout;
        self->timer_id = zloop_timer (self->loop, delay, 1, s_on_timer, self);
    }
}

static int
s_on_timer (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    node_http_t *self = (node_http_t *) arg;
    if (timer_id == self->timer_id)
        self->timer_id = -1;        /* one-shot: gone after this call */
    s_run (self);
    return 0;
}

static int
s_on_epoll (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void) loop;
    (void) item;
    s_run ((node_http_t *) arg);
    return 0;
}

/* ---- client addresses and connections ---------------------------------- */

/*  Key and loopback-ness of a client address; 0, or -1 for a family
    other than IPv4/IPv6. */
static int
s_address_key (const struct sockaddr *addr, uint8_t key [NODE_RATELIMIT_KEY_BYTES], int *loopback)
{
    memset (key, 0, NODE_RATELIMIT_KEY_BYTES);
    if (!addr)
        return -1;
    if (addr->sa_family == AF_INET) {
        memcpy (key, &((const struct sockaddr_in *) addr)->sin_addr, 4);
        *loopback = node_http_is_loopback (key, 0);
        return 0;
    }
    if (addr->sa_family == AF_INET6) {
        memcpy (key, &((const struct sockaddr_in6 *) addr)->sin6_addr, 16);
        *loopback = node_http_is_loopback (key, 1);
        return 0;
    }
    return -1;
}

static s_address_t *
s_address_find (node_http_t *self, const uint8_t *key)
{
    for (size_t i = 0; i < self->n_addresses; i++)
        if (memcmp (self->addresses [i].key, key, NODE_RATELIMIT_KEY_BYTES) == 0)
            return &self->addresses [i];
    return NULL;
}

static enum MHD_Result
s_on_accept (void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    (void) addrlen;
    node_http_t *self = (node_http_t *) cls;
    uint8_t key [NODE_RATELIMIT_KEY_BYTES];
    int loopback = 0;
    if (s_address_key (addr, key, &loopback) != 0)
        return MHD_NO;
    s_address_t *known = s_address_find (self, key);
    if (self->connections >= NODE_HTTP_MAX_CONNECTIONS
    ||  (known && known->count >= NODE_HTTP_MAX_PER_ADDRESS)) {
        node_stats_http_refused (self->stats, NODE_STATS_HTTP_CONNECTIONS);
        hearth_log_limited (HEARTH_LOG_WARN, S_LOG, "http.connections",
                            "connection refused: %zu open, at most %d in total and %d per address",
                            self->connections, NODE_HTTP_MAX_CONNECTIONS, NODE_HTTP_MAX_PER_ADDRESS);
        return MHD_NO;
    }
    return MHD_YES;
}

static void
s_on_connection (void *cls, struct MHD_Connection *connection, void **socket_context,
                 enum MHD_ConnectionNotificationCode code)
{
    node_http_t *self = (node_http_t *) cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info (connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        uint8_t *key = (uint8_t *) calloc (1, NODE_RATELIMIT_KEY_BYTES);
        int loopback = 0;
        if (!key || !info || s_address_key (info->client_addr, key, &loopback) != 0) {
            free (key);
            *socket_context = NULL;
            return;
        }
        s_address_t *known = s_address_find (self, key);
        if (!known && self->n_addresses < NODE_HTTP_MAX_CONNECTIONS) {
            known = &self->addresses [self->n_addresses++];
            memcpy (known->key, key, NODE_RATELIMIT_KEY_BYTES);
            known->count = 0;
        }
        if (known)
            known->count++;
        self->connections++;
        *socket_context = key;
    }
    else
    if (code == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context) {
        uint8_t *key = (uint8_t *) *socket_context;
        s_address_t *known = s_address_find (self, key);
        if (known && --known->count == 0)
            *known = self->addresses [--self->n_addresses];
        if (self->connections)
            self->connections--;
        free (key);
        *socket_context = NULL;
    }
}

/* ---- requests waiting for a deferred answer ----------------------------- */

static void
s_waiting_unlink (node_http_t *self, s_waiting_t *waiting)
{
    if (waiting->prev)
        waiting->prev->next = waiting->next;
    else
        self->waiting = waiting->next;
    if (waiting->next)
        waiting->next->prev = waiting->prev;
    waiting->prev = waiting->next = NULL;
    self->n_waiting--;
    node_stats_http_wait_end (self->stats);
}

/*  The request stops waiting without the answer: the record stays with
    the bus's callback, which will only free it. */
static void
s_waiting_cancel (node_http_t *self, s_waiting_t *waiting)
{
    s_waiting_unlink (self, waiting);
    if (waiting->req)
        waiting->req->waiting = NULL;
    waiting->cancelled = 1;
    waiting->http = NULL;
    waiting->connection = NULL;
    waiting->req = NULL;
}

/*  1 if the client of a resumed connection hung up while it was suspended
    (libmicrohttpd does not watch a suspended socket): its end of the
    stream is at hand (a peek reads 0 bytes) or the socket has failed. */
static int
s_client_gone (struct MHD_Connection *connection)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info (connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!info)
        return 0;
    char byte;
    ssize_t n = recv (info->connect_fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/*  The bus's deferred answer (node_bus_send_fn): hand it to the request
    and resume its connection, or, cancelled, drop it. Frees the record. */
static void
s_on_later (void *arg, int result, char *reply)
{
    s_waiting_t *waiting = (s_waiting_t *) arg;
    if (waiting->cancelled) {
        free (reply);
        free (waiting);
        return;
    }
    node_http_t *self = waiting->http;
    s_request_t *req = waiting->req;
    struct MHD_Connection *connection = waiting->connection;
    s_waiting_unlink (self, waiting);
    free (waiting);
    req->waiting = NULL;
    req->resumed = 1;
    req->result = result;
    req->reply = reply;
    MHD_resume_connection (connection);
    s_run (self);
}

/* ---- answers ------------------------------------------------------------- */

/*  Queue status with body (malloc'd, taken; NULL = empty) and the common
    headers; extra headers as name, value pairs ending in NULL. Counts the
    response. */
static enum MHD_Result
s_answer (node_http_t *self, struct MHD_Connection *connection, s_request_t *req, int status,
          const char *content_type, char *body, size_t len, ...)
{
    struct MHD_Response *response = body?
        MHD_create_response_from_buffer (len, body, MHD_RESPMEM_MUST_FREE):
        MHD_create_response_from_buffer (0, (void *) "", MHD_RESPMEM_PERSISTENT);
    if (!response) {
        free (body);
        return MHD_NO;
    }
    if (content_type)
        MHD_add_response_header (response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header (response, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header (response, "Cache-Control", "no-store");
    MHD_add_response_header (response, "Content-Security-Policy", S_CSP);
    MHD_add_response_header (response, "X-Frame-Options", "DENY");
    MHD_add_response_header (response, "Referrer-Policy", "no-referrer");
    va_list extra;
    va_start (extra, len);
    const char *name;
    while ((name = va_arg (extra, const char *)) != NULL) {
        const char *value = va_arg (extra, const char *);
        if (value)
            MHD_add_response_header (response, name, value);
    }
    va_end (extra);
    enum MHD_Result rc = MHD_queue_response (connection, (unsigned) status, response);
    MHD_destroy_response (response);
    if (req)
        req->answered = 1;
    node_stats_http_response (self->stats, status);
    return rc;
}

/*  A text answer (text copied). */
static enum MHD_Result
s_answer_text (node_http_t *self, struct MHD_Connection *connection, s_request_t *req,
               int status, const char *text)
{
    char *body = strdup (text);
    if (!body)
        return MHD_NO;
    return s_answer (self, connection, req, status, "text/plain; charset=utf-8", body,
                     strlen (body), NULL);
}

/*  A refusal: counted under reason (unless NODE_STATS_HTTP_REASONS); the
    API gets the control socket's error body with err's wire code, other
    paths a line of text. extra_name/value: one more header or NULL. */
static enum MHD_Result
s_refuse (node_http_t *self, struct MHD_Connection *connection, s_request_t *req, int status,
          node_stats_http_reason_t reason, int err, const char *message,
          const char *extra_name, const char *extra_value)
{
    if (reason < NODE_STATS_HTTP_REASONS)
        node_stats_http_refused (self->stats, reason);
    hearth_log_limited (HEARTH_LOG_DEBUG, S_LOG, "http.refused", "refused (%d): %s", status, message);
    if (req && req->kind == S_API) {
        char *body = node_control_reply_error (err, message);
        if (!body)
            return MHD_NO;
        return s_answer (self, connection, req, status, "application/json", body, strlen (body),
                         extra_name, extra_value, NULL);
    }
    char *body = hearth_message ("%s\n", message);
    if (!body)
        return MHD_NO;
    return s_answer (self, connection, req, status, "text/plain; charset=utf-8", body,
                     strlen (body), extra_name, extra_value, NULL);
}

/* ---- authorization ----------------------------------------------------- */

/*  1 if text is the token (constant time over its fixed length). */
static int
s_token_equal (node_http_t *self, const char *text)
{
    size_t n = strlen (self->token);
    return strlen (text) == n && sodium_memcmp (text, self->token, n) == 0;
}

static int
s_authorized (node_http_t *self, struct MHD_Connection *connection, int loopback)
{
    if (loopback && self->trust_loopback)
        return 1;
    char presented [NODE_HTTP_TOKEN_BYTES * 2 + 2];
    if (node_http_bearer_get (MHD_lookup_connection_value (connection, MHD_HEADER_KIND,
                                                           MHD_HTTP_HEADER_AUTHORIZATION),
                              presented, sizeof presented) == HEARTH_OK
    &&  s_token_equal (self, presented))
        return 1;
    if (node_http_cookie_get (MHD_lookup_connection_value (connection, MHD_HEADER_KIND,
                                                           MHD_HTTP_HEADER_COOKIE),
                              NODE_HTTP_TOKEN_COOKIE, presented, sizeof presented) == HEARTH_OK
    &&  s_token_equal (self, presented))
        return 1;
    return 0;
}

/* ---- the first call: everything decided before the body --------------- */

static enum MHD_Result
s_begin (node_http_t *self, struct MHD_Connection *connection, s_request_t *req,
         const char *url, const char *method)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info (connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    uint8_t key [NODE_RATELIMIT_KEY_BYTES];
    int loopback = 0;
    if (!info || s_address_key (info->client_addr, key, &loopback) != 0)
        return MHD_NO;
    req->kind = strncmp (url, "/api/", 5) == 0? S_API
              : (strcmp (url, "/metrics") == 0 || strcmp (url, "/health") == 0
                 || strcmp (url, "/ready") == 0)? S_PLAIN
              : (strcmp (url, "/login") == 0 && strcmp (method, "POST") == 0)? S_LOGIN: S_PAGE;

    uint32_t retry_after = 0;
    if (!node_ratelimit_take (self->rate, key, hearth_mono_ms (), &retry_after)) {
        char seconds [16];
        snprintf (seconds, sizeof seconds, "%u", retry_after);
        return s_refuse (self, connection, req, 429, NODE_STATS_HTTP_RATE, HEARTH_ERATE,
                         "too many requests from this address; retry later",
                         MHD_HTTP_HEADER_RETRY_AFTER, seconds);
    }
    const char *host = MHD_lookup_connection_value (connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    if (!node_http_host_allowed (host, self->port, self->hosts))
        return s_refuse (self, connection, req, MHD_HTTP_MISDIRECTED_REQUEST, NODE_STATS_HTTP_HOST,
                         HEARTH_EUNAUTHORIZED, "Host must be localhost, this listener's IP "
                         "address with its port, or a name of http/hosts (docs/http.md)", NULL, NULL);
    int is_post = strcmp (method, "POST") == 0;
    int is_get = strcmp (method, "GET") == 0 || strcmp (method, "HEAD") == 0;
    if ((!is_post && !is_get) || (req->kind == S_PLAIN && !is_get))
        return s_refuse (self, connection, req, 405, NODE_STATS_HTTP_METHOD, HEARTH_EINVAL,
                         "method not allowed here", MHD_HTTP_HEADER_ALLOW,
                         req->kind == S_PLAIN? "GET, HEAD": "GET, HEAD, POST");
    if (req->kind == S_API) {
        int found = node_http_route_match (method, url, &req->route, req->id);
        if (found == NODE_HTTP_ROUTE_NOT_FOUND)
            return s_refuse (self, connection, req, 404, NODE_STATS_HTTP_REASONS, HEARTH_ENOTFOUND,
                             "no such API route (docs/http.md)", NULL, NULL);
        if (found == NODE_HTTP_ROUTE_METHOD)
            return s_refuse (self, connection, req, 405, NODE_STATS_HTTP_METHOD, HEARTH_EINVAL,
                             "method not allowed on this route", MHD_HTTP_HEADER_ALLOW,
                             is_post? "GET, HEAD": "POST");
    }
    req->authorized = s_authorized (self, connection, loopback);
    req->same_origin = node_http_origin_allowed (
        MHD_lookup_connection_value (connection, MHD_HEADER_KIND, "Origin"), host,
        MHD_lookup_connection_value (connection, MHD_HEADER_KIND, "Sec-Fetch-Site"));
    if (!is_post)
        return MHD_YES;
    const char *content_type = MHD_lookup_connection_value (connection, MHD_HEADER_KIND,
                                                            MHD_HTTP_HEADER_CONTENT_TYPE);
    if (req->kind == S_API) {
        if (!req->same_origin)
            return s_refuse (self, connection, req, 403, NODE_STATS_HTTP_CROSS_SITE,
                             HEARTH_EUNAUTHORIZED, "cross-site write refused (Origin or "
                             "Sec-Fetch-Site names another site)", NULL, NULL);
        if (!req->authorized)
            return s_refuse (self, connection, req, 401, NODE_STATS_HTTP_UNAUTHORIZED,
                             HEARTH_EUNAUTHORIZED, "writes need a loopback client or "
                             "\"Authorization: Bearer TOKEN\" with the token of DIR/"
                             NODE_HTTP_TOKEN_FILE, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                             "Bearer realm=\"hearth\"");
        if (!node_http_is_json (content_type))
            return s_refuse (self, connection, req, 415, NODE_STATS_HTTP_CONTENT_TYPE,
                             HEARTH_EINVAL, "API writes must be Content-Type: application/json",
                             NULL, NULL);
    }
    else
    if (req->kind == S_LOGIN && !req->same_origin)
        return s_refuse (self, connection, req, 403, NODE_STATS_HTTP_CROSS_SITE, HEARTH_EUNAUTHORIZED,
                         "cross-site login refused", NULL, NULL);
    if ((req->kind == S_PAGE || req->kind == S_LOGIN) && !node_http_is_form (content_type))
        return s_refuse (self, connection, req, 415, NODE_STATS_HTTP_CONTENT_TYPE, HEARTH_EINVAL,
                         "forms must be application/x-www-form-urlencoded", NULL, NULL);
    const char *length = MHD_lookup_connection_value (connection, MHD_HEADER_KIND,
                                                      MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (length && strtoull (length, NULL, 10) > NODE_HTTP_MAX_BODY_BYTES)
        return s_refuse (self, connection, req, 413, NODE_STATS_HTTP_TOO_BIG, HEARTH_ETOOBIG,
                         "request body over the limit (docs/limits.md)", NULL, NULL);
    return MHD_YES;
}

/* ---- the last call: the answer ----------------------------------------- */

typedef struct {
    json_t *object;
    int     rc;
    char   *message;
    int     as_strings;         /* the page: an object of strings, first wins */
} s_args_t;

static enum MHD_Result
s_on_argument (void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void) kind;
    s_args_t *args = (s_args_t *) cls;
    if (args->rc != HEARTH_OK)
        return MHD_NO;
    if (!value)
        value = "";
    if (args->as_strings) {
        if (json_object_size (args->object) >= NODE_HTTP_MAX_ARGS) {
            args->message = hearth_message ("more than %d query arguments", NODE_HTTP_MAX_ARGS);
            args->rc = HEARTH_EINVAL;
            return MHD_NO;
        }
        if (json_object_get (args->object, key))
            return MHD_YES;
        json_t *string = json_string (value);
        if (!string || !json_string_value (string) || json_object_set_new (args->object, key, string)) {
            args->message = hearth_message ("a query argument is not UTF-8 text");
            args->rc = HEARTH_EINVAL;
            return MHD_NO;
        }
        return MHD_YES;
    }
    args->rc = node_http_input_add (args->object, key, value, &args->message);
    return args->rc == HEARTH_OK? MHD_YES: MHD_NO;
}

static enum MHD_Result
s_serve_plain (node_http_t *self, struct MHD_Connection *connection, s_request_t *req,
               const char *url)
{
    if (strcmp (url, "/health") == 0)
        return s_answer_text (self, connection, req, 200, "ok\n");
    if (strcmp (url, "/ready") == 0) {
        const char *reason = NULL;
        if (self->ready (self->ready_arg, &reason))
            return s_answer_text (self, connection, req, 200, "ready\n");
        char *body = hearth_message ("not ready: %s\n", reason? reason: "unknown");
        return body? s_answer (self, connection, req, 503, "text/plain; charset=utf-8", body,
                               strlen (body), NULL): MHD_NO;
    }
    char *text = node_bus_stats_text (self->bus, (const uint8_t *) "prometheus", 10);
    if (!text)
        return s_answer_text (self, connection, req, 500, "out of memory\n");
    return s_answer (self, connection, req, 200, "text/plain; version=0.0.4; charset=utf-8",
                     text, strlen (text), NULL);
}

static enum MHD_Result
s_serve_api (node_http_t *self, struct MHD_Connection *connection, s_request_t *req)
{
    const node_http_route_t *route = req->route;
    json_t *input = NULL;
    char *message = NULL;
    if (route->input == NODE_HTTP_INPUT_BODY && req->len > 0) {
        json_error_t error;
        input = json_loadb (req->body, req->len, JSON_REJECT_DUPLICATES, &error);
        if (!input || !json_is_object (input)) {
            json_decref (input);
            char *text = hearth_message ("the body is not a JSON object: %s", input? "": error.text);
            enum MHD_Result rc = s_refuse (self, connection, req, 400, NODE_STATS_HTTP_BAD_REQUEST,
                                           HEARTH_EDECODE, text? text: "bad JSON", NULL, NULL);
            free (text);
            return rc;
        }
    }
    else {
        input = json_object ();
        if (!input)
            return MHD_NO;
        s_args_t args = { input, HEARTH_OK, NULL, 0 };
        MHD_get_connection_values (connection, MHD_GET_ARGUMENT_KIND, s_on_argument, &args);
        if (args.rc != HEARTH_OK) {
            json_decref (input);
            enum MHD_Result rc = s_refuse (self, connection, req, node_http_status_of (args.rc),
                                           NODE_STATS_HTTP_BAD_REQUEST, args.rc,
                                           args.message, NULL, NULL);
            free (args.message);
            return rc;
        }
    }
    if (req->id [0]) {
        if (json_object_get (input, "event_id"))
            message = hearth_message ("event_id comes from the path, not the input");
        else
        if (json_object_set_new (input, "event_id", json_string (req->id)) != 0)
            message = hearth_message ("the id in the path is not UTF-8 text");
        if (message) {
            json_decref (input);
            enum MHD_Result rc = s_refuse (self, connection, req, 400, NODE_STATS_HTTP_BAD_REQUEST,
                                           HEARTH_EINVAL, message, NULL, NULL);
            free (message);
            return rc;
        }
    }
    int result = HEARTH_OK;
    char *reply = NULL;
    if (node_bus_call_defers (self->bus, route->capability)) {
        /*  The control socket's path: the search waits for its query
            embedding with the connection suspended, bounded. */
        if (self->n_waiting >= NODE_HTTP_MAX_WAITING) {
            json_decref (input);
            char seconds [16];
            snprintf (seconds, sizeof seconds, "%d", NODE_HTTP_BUSY_RETRY_S);
            return s_refuse (self, connection, req, 503, NODE_STATS_HTTP_BUSY, HEARTH_ECAPACITY,
                             "too many searches waiting for their embedding; retry in a moment "
                             "(docs/limits.md)", MHD_HTTP_HEADER_RETRY_AFTER, seconds);
        }
        s_waiting_t *waiting = (s_waiting_t *) calloc (1, sizeof *waiting);
        if (!waiting) {
            json_decref (input);
            return MHD_NO;
        }
        *waiting = (s_waiting_t) { 0, self, connection, req, NULL, NULL };
        int deferred = 0;
        reply = node_bus_handle_call_async (self->bus, route->capability, input, s_on_later,
                                            waiting, &result, &deferred);
        json_decref (input);
        if (deferred) {
            waiting->next = self->waiting;
            if (self->waiting)
                self->waiting->prev = waiting;
            self->waiting = waiting;
            self->n_waiting++;
            req->waiting = waiting;
            req->deferred = 1;
            node_stats_http_wait_begin (self->stats);
            MHD_suspend_connection (connection);
            return MHD_YES;
        }
        free (waiting);
    }
    else {
        reply = node_bus_handle_call (self->bus, route->capability, input, &result);
        json_decref (input);
    }
    if (!reply)
        return MHD_NO;
    return s_answer (self, connection, req, node_http_status_of (result), "application/json",
                     reply, strlen (reply), NULL);
}

static enum MHD_Result
s_serve_page (node_http_t *self, struct MHD_Connection *connection, s_request_t *req,
              const char *url, const char *method)
{
    json_t *args = json_object ();
    if (!args)
        return MHD_NO;
    char *message = NULL;
    int rc = HEARTH_OK;
    int is_post = strcmp (method, "POST") == 0;
    if (is_post)
        rc = node_http_form_parse (req->body? req->body: "", req->len, args, &message);
    else {
        s_args_t walk = { args, HEARTH_OK, NULL, 1 };
        MHD_get_connection_values (connection, MHD_GET_ARGUMENT_KIND, s_on_argument, &walk);
        rc = walk.rc;
        message = walk.message;
    }
    if (rc != HEARTH_OK) {
        json_decref (args);
        enum MHD_Result answer = s_refuse (self, connection, req, node_http_status_of (rc),
                                           NODE_STATS_HTTP_BAD_REQUEST, rc,
                                           message? message: "bad arguments", NULL, NULL);
        free (message);
        return answer;
    }
    int may_write = req->authorized;
    if (is_post) {
        const char *csrf = json_string_value (json_object_get (args, "csrf"));
        int csrf_ok = csrf && strlen (csrf) == strlen (self->csrf)
                   && sodium_memcmp (csrf, self->csrf, strlen (self->csrf)) == 0;
        may_write = req->authorized && req->same_origin && csrf_ok;
        if (!req->authorized)
            node_stats_http_refused (self->stats, NODE_STATS_HTTP_UNAUTHORIZED);
        else
        if (!req->same_origin)
            node_stats_http_refused (self->stats, NODE_STATS_HTTP_CROSS_SITE);
        else
        if (!csrf_ok)
            node_stats_http_refused (self->stats, NODE_STATS_HTTP_CSRF);
    }
    node_page_request_t page_req = {
        .method = method,
        .path = url,
        .args = args,
        .accept_language = MHD_lookup_connection_value (connection, MHD_HEADER_KIND,
                                                        MHD_HTTP_HEADER_ACCEPT_LANGUAGE),
        .may_write = may_write,
        .csrf_token = self->csrf
    };
    node_page_response_t resp;
    memset (&resp, 0, sizeof resp);
    rc = node_page_handle (self->page, &page_req, &resp);
    json_decref (args);
    if (rc != HEARTH_OK) {
        free (resp.body);
        free (resp.location);
        return s_answer_text (self, connection, req, 500, "the page could not be built\n");
    }
    enum MHD_Result answer = s_answer (self, connection, req, resp.status? resp.status: 500,
                                       resp.content_type, resp.body, resp.body_len,
                                       MHD_HTTP_HEADER_LOCATION, resp.location, NULL);
    free (resp.location);
    return answer;
}

/*  POST /login with the form field "token": the right token sets the
    cookie hearth_token (HttpOnly, SameSite=Strict) and goes to "/"; a
    wrong one is 403. The page renders the form (GET /login). */
static enum MHD_Result
s_serve_login (node_http_t *self, struct MHD_Connection *connection, s_request_t *req)
{
    json_t *args = json_object ();
    char *message = NULL;
    if (!args)
        return MHD_NO;
    int rc = node_http_form_parse (req->body? req->body: "", req->len, args, &message);
    const char *token = json_string_value (json_object_get (args, "token"));
    int ok = rc == HEARTH_OK && token && s_token_equal (self, token);
    json_decref (args);
    free (message);
    if (!ok)
        return s_refuse (self, connection, req, 403, NODE_STATS_HTTP_UNAUTHORIZED,
                         HEARTH_EUNAUTHORIZED, "wrong token: copy it from DIR/"
                         NODE_HTTP_TOKEN_FILE " of the node", NULL, NULL);
    char cookie [sizeof self->token + 80];
    snprintf (cookie, sizeof cookie, "%s=%s; Path=/; HttpOnly; SameSite=Strict",
              NODE_HTTP_TOKEN_COOKIE, self->token);
    return s_answer (self, connection, req, 303, "text/plain; charset=utf-8", strdup ("logged in\n"),
                     strlen ("logged in\n"), MHD_HTTP_HEADER_LOCATION, "/",
                     MHD_HTTP_HEADER_SET_COOKIE, cookie, NULL);
}

/* ---- libmicrohttpd's callbacks ------------------------------------------ */

static void *
s_on_uri (void *cls, const char *uri, struct MHD_Connection *connection)
{
    (void) cls;
    (void) uri;
    (void) connection;
    return calloc (1, sizeof (s_request_t));
}

static enum MHD_Result
s_on_request (void *cls, struct MHD_Connection *connection, const char *url, const char *method,
              const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    (void) version;
    node_http_t *self = (node_http_t *) cls;
    s_request_t *req = (s_request_t *) *con_cls;
    if (!req)
        return MHD_NO;              /* out of memory in s_on_uri */
    if (!req->handled) {
        req->handled = 1;
        return s_begin (self, connection, req, url, method);
    }
    if (req->waiting) {
        *upload_data_size = 0;
        return MHD_YES;             /* suspended: not called until resumed */
    }
    if (req->resumed) {
        req->resumed = 0;
        if (!req->shutdown && s_client_gone (connection)) {
            req->abandoned = 1;
            node_stats_http_abandoned (self->stats);
            hearth_log_limited (HEARTH_LOG_DEBUG, S_LOG, "http.abandoned",
                                "a client went away while its search waited");
            return MHD_NO;          /* close it; nobody reads the answer */
        }
        if (req->shutdown)
            return s_refuse (self, connection, req, 503, NODE_STATS_HTTP_REASONS, HEARTH_ESHUTDOWN,
                             "the node is shutting down; retry when it is back", NULL, NULL);
        char *reply = req->reply;
        req->reply = NULL;
        if (!reply)
            return MHD_NO;
        return s_answer (self, connection, req, node_http_status_of (req->result),
                         "application/json", reply, strlen (reply), NULL);
    }
    if (req->answered) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (req->too_big || n > NODE_HTTP_MAX_BODY_BYTES - req->len) {
            req->too_big = 1;
            return MHD_YES;
        }
        if (req->len + n + 1 > req->cap) {
            size_t cap = req->cap? req->cap: 4096;
            while (cap < req->len + n + 1)
                cap *= 2;
            char *bigger = (char *) realloc (req->body, cap);
            if (!bigger)
                return MHD_NO;
            req->body = bigger;
            req->cap = cap;
        }
        memcpy (req->body + req->len, upload_data, n);
        req->len += n;
        req->body [req->len] = '\0';
        return MHD_YES;
    }
    if (req->too_big)
        return s_refuse (self, connection, req, 413, NODE_STATS_HTTP_TOO_BIG, HEARTH_ETOOBIG,
                         "request body over the limit (docs/limits.md)", NULL, NULL);
    if (req->kind == S_PLAIN)
        return s_serve_plain (self, connection, req, url);
    if (req->kind == S_API)
        return s_serve_api (self, connection, req);
    if (req->kind == S_LOGIN)
        return s_serve_login (self, connection, req);
    return s_serve_page (self, connection, req, url, method);
}

static void
s_on_completed (void *cls, struct MHD_Connection *connection, void **con_cls,
                enum MHD_RequestTerminationCode code)
{
    (void) connection;
    (void) code;
    node_http_t *self = (node_http_t *) cls;
    s_request_t *req = (s_request_t *) *con_cls;
    if (!req)
        return;
    /*  Refused by libmicrohttpd itself before our handler saw it (request
        line or headers over NODE_HTTP_MEMORY_LIMIT, malformed). */
    if (!req->handled && code != MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN) {
        node_stats_http_refused (self->stats, NODE_STATS_HTTP_BAD_REQUEST);
        if (code == MHD_REQUEST_TERMINATED_COMPLETED_OK)
            node_stats_http_response (self->stats, 400);
    }
    /*  A request that waited and whose client was gone before its answer
        went out. The record of one still waiting (libmicrohttpd does not
        end suspended connections; kept as a guard) is cancelled. */
    if (req->waiting)
        s_waiting_cancel (self, req->waiting);
    if (req->deferred && !req->abandoned && code != MHD_REQUEST_TERMINATED_COMPLETED_OK
    &&  code != MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN)
        node_stats_http_abandoned (self->stats);
    free (req->reply);
    free (req->body);
    free (req);
    *con_cls = NULL;
}

static void
s_on_log (void *cls, const char *format, va_list args)
{
    (void) cls;
    char line [512];
    vsnprintf (line, sizeof line, format, args);
    size_t n = strlen (line);
    while (n && (line [n - 1] == '\n' || line [n - 1] == '\r'))
        line [--n] = '\0';
    hearth_log_limited (HEARTH_LOG_DEBUG, S_LOG, "http.mhd", "libmicrohttpd: %s", line);
}

/* ---- set-up -------------------------------------------------------------- */

/*  The token file: read it (refused when group or others may read it), or
    create it with a fresh random token. */
static int
s_token_load (node_http_t *self, const char *path, char **message)
{
    int fd = open (path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        uint8_t token [NODE_HTTP_TOKEN_BYTES];
        randombytes_buf (token, sizeof token);
        sodium_bin2hex (self->token, sizeof self->token, token, sizeof token);
        sodium_memzero (token, sizeof token);
        fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        char line [sizeof self->token + 1];
        snprintf (line, sizeof line, "%s\n", self->token);
        size_t n = strlen (line);
        int ok = fd >= 0 && write (fd, line, n) == (ssize_t) n && fsync (fd) == 0;
        int saved = errno;
        if (fd >= 0)
            close (fd);
        if (!ok) {
            *message = hearth_message ("cannot write the HTTP write token %s: %s", path, strerror (saved));
            return HEARTH_EIO;
        }
        hlog_info (S_LOG, "created the HTTP write token %s (mode 0600)", path);
        return HEARTH_OK;
    }
    if (fd < 0) {
        *message = hearth_message ("cannot read the HTTP write token %s: %s", path, strerror (errno));
        return HEARTH_EIO;
    }
    struct stat st;
    if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode)) {
        close (fd);
        *message = hearth_message ("the HTTP write token %s is not a regular file", path);
        return HEARTH_EKEYS;
    }
    if (st.st_mode & 077) {
        close (fd);
        *message = hearth_message ("the HTTP write token %s is readable by group or others "
                                   "(mode %03o): chmod 600 %s", path,
                                   (unsigned) (st.st_mode & 0777), path);
        return HEARTH_EKEYPERM;
    }
    char text [NODE_HTTP_TOKEN_BYTES * 2 + 8];
    ssize_t n = read (fd, text, sizeof text - 1);
    close (fd);
    if (n < 0)
        n = 0;
    text [n] = '\0';
    while (n > 0 && (text [n - 1] == '\n' || text [n - 1] == '\r' || text [n - 1] == ' '))
        text [--n] = '\0';
    uint8_t bytes [NODE_HTTP_TOKEN_BYTES];
    size_t decoded = 0;
    if ((size_t) n != NODE_HTTP_TOKEN_BYTES * 2
    ||  sodium_hex2bin (bytes, sizeof bytes, text, (size_t) n, NULL, &decoded, NULL) != 0
    ||  decoded != sizeof bytes) {
        *message = hearth_message ("the HTTP write token %s must hold %d hex digits (delete it "
                                   "and a new one is made at the next start)", path,
                                   NODE_HTTP_TOKEN_BYTES * 2);
        return HEARTH_EKEYS;
    }
    /*  Kept as lower-case hex, the form the file and clients use. */
    sodium_bin2hex (self->token, sizeof self->token, bytes, sizeof bytes);
    sodium_memzero (bytes, sizeof bytes);
    sodium_memzero (text, sizeof text);
    return HEARTH_OK;
}

/*  Bind and listen; the fd, or -1 with *message. */
static int
s_listen (const node_http_address_t *address, const char *listen_text, uint16_t *bound, char **message)
{
    struct sockaddr_storage storage;
    memset (&storage, 0, sizeof storage);
    socklen_t size;
    if (address->ipv6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &storage;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons (address->port);
        memcpy (&in6->sin6_addr, address->addr, 16);
        size = sizeof *in6;
    }
    else {
        struct sockaddr_in *in4 = (struct sockaddr_in *) &storage;
        in4->sin_family = AF_INET;
        in4->sin_port = htons (address->port);
        memcpy (&in4->sin_addr, address->addr, 4);
        size = sizeof *in4;
    }
    int fd = socket (storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int on = 1;
    if (fd < 0
    ||  setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0
    ||  bind (fd, (struct sockaddr *) &storage, size) != 0
    ||  listen (fd, 64) != 0
    ||  getsockname (fd, (struct sockaddr *) &storage, &size) != 0) {
        int saved = errno;
        if (fd >= 0)
            close (fd);
        *message = hearth_message ("cannot listen for HTTP on %s: %s; choose another address with "
                                   "--http HOST:PORT (or http/listen in the config), or turn the "
                                   "listener off with --http off", listen_text, strerror (saved));
        return -1;
    }
    *bound = ntohs (address->ipv6? ((struct sockaddr_in6 *) &storage)->sin6_port
                                 : ((struct sockaddr_in *) &storage)->sin_port);
    return fd;
}

node_http_t *
node_http_new (const char *listen, int trust_loopback, const char *hosts, const char *token_path,
               zloop_t *loop, node_bus_t *bus, node_page_t *page, node_stats_t *stats,
               node_http_ready_fn *ready, void *ready_arg, int *err, char **message)
{
    *err = HEARTH_OK;
    *message = NULL;
    node_http_address_t address;
    if (node_http_address_parse (listen, &address) != HEARTH_OK) {
        *message = hearth_message ("http listener '%s' is not HOST:PORT", listen);
        *err = HEARTH_EINVAL;
        return NULL;
    }
    if (sodium_init () < 0) {
        *message = hearth_message ("libsodium did not initialise");
        *err = HEARTH_EIO;
        return NULL;
    }
    node_http_t *self = (node_http_t *) calloc (1, sizeof *self);
    if (!self) {
        *err = HEARTH_ENOMEM;
        return NULL;
    }
    self->loop = loop;
    self->bus = bus;
    self->page = page;
    self->stats = stats;
    self->ready = ready;
    self->ready_arg = ready_arg;
    self->trust_loopback = trust_loopback;
    self->hosts = strdup (hosts? hosts: "");
    self->timer_id = -1;
    self->epoll_fd = -1;
    /*  The CSRF token: an HMAC under a secret of this process. */
    uint8_t secret [crypto_auth_hmacsha256_KEYBYTES], mac [crypto_auth_hmacsha256_BYTES];
    randombytes_buf (secret, sizeof secret);
    crypto_auth_hmacsha256 (mac, (const uint8_t *) "hearth-csrf", 11, secret);
    sodium_bin2hex (self->csrf, sizeof self->csrf, mac, sizeof mac);
    sodium_memzero (secret, sizeof secret);
    self->rate = node_ratelimit_new (NODE_HTTP_RATE_PER_S, NODE_HTTP_RATE_BURST, NODE_HTTP_RATE_CLIENTS);
    if (!self->rate || !self->hosts) {
        *err = HEARTH_ENOMEM;
        node_http_destroy (&self);
        return NULL;
    }
    *err = s_token_load (self, token_path, message);
    if (*err != HEARTH_OK) {
        node_http_destroy (&self);
        return NULL;
    }
    int fd = s_listen (&address, listen, &self->port, message);
    if (fd < 0) {
        *err = HEARTH_EIO;
        node_http_destroy (&self);
        return NULL;
    }
    snprintf (self->url, sizeof self->url, "http://%s:%u/", address.host, (unsigned) self->port);
    unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME
                   | (address.ipv6? MHD_USE_IPv6: 0);
    /*  MHD's own connection cap sits above ours (s_on_accept counts the
        refusals), as a backstop. */
    self->mhd = MHD_start_daemon (flags, 0, s_on_accept, self, s_on_request, self,
        MHD_OPTION_LISTEN_SOCKET, fd,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) NODE_HTTP_MEMORY_LIMIT,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned) NODE_HTTP_MAX_CONNECTIONS + 8,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) NODE_HTTP_TIMEOUT_S,
        MHD_OPTION_NOTIFY_COMPLETED, s_on_completed, self,
        MHD_OPTION_NOTIFY_CONNECTION, s_on_connection, self,
        MHD_OPTION_URI_LOG_CALLBACK, s_on_uri, self,
        MHD_OPTION_EXTERNAL_LOGGER, s_on_log, self,
        MHD_OPTION_END);
    if (!self->mhd) {
        close (fd);
        *message = hearth_message ("cannot start the HTTP listener on %s (libmicrohttpd); turn it "
                                   "off with --http off", listen);
        *err = HEARTH_EIO;
        node_http_destroy (&self);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info (self->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    self->epoll_fd = info? info->epoll_fd: -1;
    zmq_pollitem_t item = { NULL, self->epoll_fd, ZMQ_POLLIN, 0 };
    if (self->epoll_fd < 0 || zloop_poller (loop, &item, s_on_epoll, self) != 0) {
        *message = hearth_message ("cannot add the HTTP listener to the event loop");
        *err = HEARTH_ENOMEM;
        node_http_destroy (&self);
        return NULL;
    }
    self->polling = 1;
    node_stats_http_enable (stats);
    s_run (self);
    return self;
}

const char *
node_http_url (const node_http_t *self)
{
    return self->url;
}

void
node_http_destroy (node_http_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    node_http_t *self = *self_p;
    /*  Every waiting request is resumed and answered 503 (libmicrohttpd
        aborts when stopped with a suspended connection); the bus's late
        answers then find their records cancelled. A few non-blocking runs
        send what the sockets take at once. */
    if (self->mhd && self->waiting) {
        hlog_info (S_LOG, "shutting down: %zu HTTP request%s waiting for a search answered 503",
                   self->n_waiting, self->n_waiting == 1? "": "s");
        while (self->waiting) {
            s_waiting_t *waiting = self->waiting;
            s_request_t *req = waiting->req;
            struct MHD_Connection *connection = waiting->connection;
            s_waiting_cancel (self, waiting);
            req->resumed = 1;
            req->shutdown = 1;
            MHD_resume_connection (connection);
        }
        for (int i = 0; i < S_SHUTDOWN_RUNS; i++)
            MHD_run (self->mhd);
    }
    if (self->polling) {
        zmq_pollitem_t item = { NULL, self->epoll_fd, ZMQ_POLLIN, 0 };
        zloop_poller_end (self->loop, &item);
    }
    if (self->timer_id >= 0)
        zloop_timer_end (self->loop, self->timer_id);
    if (self->mhd)
        MHD_stop_daemon (self->mhd);
    node_ratelimit_destroy (&self->rate);
    free (self->hosts);
    sodium_memzero (self->token, sizeof self->token);
    free (self);
    *self_p = NULL;
}
