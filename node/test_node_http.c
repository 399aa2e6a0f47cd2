/*  test_node_http.c — the pure parts of the HTTP listener: addresses,
    routes, query arguments, forms, Host / Origin checks, cookies and
    bearer tokens, statuses, /ready, the rate limiter, and the http part of
    the stats (node_http_rules.h, node_ratelimit.h, node_stats.h).
*/
#include <stdlib.h>
#include <string.h>
#include "hearth_error.h"
#include "hearth_test.h"
#include "node_config.h"
#include "node_http_rules.h"
#include "node_ratelimit.h"
#include "node_stats.h"

HT_TEST (test_address)
{
    node_http_address_t a;
    HT_CHECK_EQ_INT (node_http_address_parse ("127.0.0.1:7480", &a), 0);
    HT_CHECK_EQ_INT (a.port, 7480);
    HT_CHECK (!a.ipv6 && a.addr [0] == 127 && a.addr [3] == 1);
    HT_CHECK_EQ_STR (a.host, "127.0.0.1");
    HT_CHECK_EQ_INT (node_http_address_parse ("[::1]:0", &a), 0);
    HT_CHECK (a.ipv6 && a.addr [15] == 1 && a.port == 0);
    HT_CHECK_EQ_INT (node_http_address_parse ("localhost:80", &a), 0);
    HT_CHECK (a.addr [0] == 127);
    const char *bad [] = { "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1",
                           "example.org:80", "1:80", "[::1:80", "[nothex]:80", ":80",
                           "127.0.0.1:80x", "0x7f.0.0.1:80", "" };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++)
        HT_CHECK (node_http_address_parse (bad [i], &a) == HEARTH_EINVAL);
    uint8_t v4 [4] = { 127, 9, 9, 9 }, lan [4] = { 192, 168, 1, 2 };
    HT_CHECK (node_http_is_loopback (v4, 0));
    HT_CHECK (!node_http_is_loopback (lan, 0));
    uint8_t mapped [16] = { [10] = 0xff, [11] = 0xff, [12] = 127, [15] = 1 };
    uint8_t mapped_lan [16] = { [10] = 0xff, [11] = 0xff, [12] = 10, [15] = 1 };
    uint8_t one [16] = { [15] = 1 };
    HT_CHECK (node_http_is_loopback (mapped, 1));
    HT_CHECK (node_http_is_loopback (one, 1));
    HT_CHECK (!node_http_is_loopback (mapped_lan, 1));
}

HT_TEST (test_config_key)
{
    node_config_t cfg;
    node_config_defaults (&cfg, "/tmp/x");
    HT_CHECK_EQ_STR (cfg.http_listen, NODE_CONFIG_HTTP_DEFAULT);
    HT_CHECK_EQ_INT (cfg.http_trust_loopback, 1);
    char *message = NULL;
    HT_CHECK_EQ_INT (node_config_load_text (&cfg, "http\n    listen = off\n    trust_loopback = off\n",
                                            &message), 0);
    HT_CHECK_EQ_STR (cfg.http_listen, "");
    HT_CHECK_EQ_INT (cfg.http_trust_loopback, 0);
    HT_CHECK_EQ_INT (node_config_set_http (&cfg, "127.0.0.2:0", &message), 0);
    HT_CHECK_EQ_STR (cfg.http_listen, "127.0.0.2:0");
    HT_CHECK_EQ_INT (node_config_set_http (&cfg, "nowhere:80", &message), HEARTH_EINVAL);
    HT_CHECK (message && strstr (message, "nowhere:80"));
    free (message);
    HT_CHECK_EQ_INT (node_config_load_text (&cfg, "http\n    listen = 7480\n", &message), HEARTH_EINVAL);
    HT_CHECK (message && strstr (message, "http/listen"));
    free (message);
}

HT_TEST (test_routes)
{
    const node_http_route_t *route;
    char id [NODE_HTTP_ID_MAX + 1];
    HT_CHECK_EQ_INT (node_http_route_match ("GET", "/api/v1/market/posts", &route, id), NODE_HTTP_ROUTE_FOUND);
    HT_CHECK_EQ_STR (route->capability, "market.list");
    HT_CHECK (!route->write && id [0] == '\0');
    HT_CHECK_EQ_INT (node_http_route_match ("HEAD", "/api/v1/market/posts", &route, id), NODE_HTTP_ROUTE_FOUND);
    HT_CHECK_EQ_INT (node_http_route_match ("POST", "/api/v1/market/posts", &route, id), NODE_HTTP_ROUTE_FOUND);
    HT_CHECK_EQ_STR (route->capability, "market.post");
    HT_CHECK (route->write && route->input == NODE_HTTP_INPUT_BODY);
    HT_CHECK_EQ_INT (node_http_route_match ("GET", "/api/v1/market/posts/01ABC", &route, id), NODE_HTTP_ROUTE_FOUND);
    HT_CHECK_EQ_STR (route->capability, "market.get");
    HT_CHECK_EQ_STR (id, "01ABC");
    HT_CHECK_EQ_INT (node_http_route_match ("POST", "/api/v1/market/posts/01ABC/expire", &route, id), NODE_HTTP_ROUTE_FOUND);
    HT_CHECK_EQ_STR (route->capability, "market.expire");
    HT_CHECK_EQ_STR (id, "01ABC");
    HT_CHECK_EQ_INT (node_http_route_match ("GET", "/api/v1/market/posts/01ABC/expire", &route, id), NODE_HTTP_ROUTE_METHOD);
    HT_CHECK_EQ_INT (node_http_route_match ("DELETE", "/api/v1/node", &route, id), NODE_HTTP_ROUTE_METHOD);
    HT_CHECK_EQ_INT (node_http_route_match ("GET", "/api/v1/market/posts/", &route, id), NODE_HTTP_ROUTE_NOT_FOUND);
    HT_CHECK_EQ_INT (node_http_route_match ("GET", "/api/v1/market/posts/a/b", &route, id), NODE_HTTP_ROUTE_NOT_FOUND);
    HT_CHECK_EQ_INT (node_http_route_match ("GET", "/api/v1/nodes", &route, id), NODE_HTTP_ROUTE_NOT_FOUND);
    HT_CHECK_EQ_INT (node_http_route_match ("GET", "/api/v2/node", &route, id), NODE_HTTP_ROUTE_NOT_FOUND);
    //  A segment longer than NODE_HTTP_ID_MAX is no id
    char path [200];
    snprintf (path, sizeof path, "/api/v1/market/posts/%0*d", NODE_HTTP_ID_MAX + 1, 7);
    HT_CHECK_EQ_INT (node_http_route_match ("GET", path, &route, id), NODE_HTTP_ROUTE_NOT_FOUND);
    //  No admin capability is reachable over HTTP
    static const char *const admin [] = { "events.import", "node.backup", "community.invite",
                                          "node.verify_views", "events.list" };
    size_t n = node_http_routes (NULL, 0);
    HT_CHECK (n >= 8);
    for (size_t i = 0; i < n; i++) {
        node_http_routes (&route, i);
        for (size_t a = 0; a < sizeof admin / sizeof admin [0]; a++)
            HT_CHECK (strcmp (route->capability, admin [a]) != 0);
        //  Every write is a POST
        HT_CHECK (!route->write || strcmp (route->method, "POST") == 0);
    }
}

HT_TEST (test_input)
{
    json_t *input = json_object ();
    char *message = NULL;
    HT_CHECK_EQ_INT (node_http_input_add (input, "category", "offer", &message), 0);
    HT_CHECK_EQ_INT (node_http_input_add (input, "tag", "bike", &message), 0);
    HT_CHECK_EQ_INT (node_http_input_add (input, "tags", "free", &message), 0);
    HT_CHECK_EQ_INT (node_http_input_add (input, "limit", "20", &message), 0);
    HT_CHECK_EQ_INT (node_http_input_add (input, "since_lamport", "abc", &message), 0);
    HT_CHECK_EQ_INT (node_http_input_add (input, "q", "Fahrrad", &message), 0);
    HT_CHECK_EQ_INT (node_http_input_add (input, "known", "true", &message), 0);
    char *text = json_dumps (input, JSON_SORT_KEYS | JSON_COMPACT);
    HT_CHECK_EQ_STR (text, "{\"category\":\"offer\",\"known\":true,\"limit\":20,\"query\":\"Fahrrad\","
                           "\"since_lamport\":\"abc\",\"tags\":[\"bike\",\"free\"]}");
    free (text);
    //  A scalar given twice is refused
    HT_CHECK_EQ_INT (node_http_input_add (input, "limit", "5", &message), HEARTH_EINVAL);
    HT_CHECK (message && strstr (message, "twice"));
    free (message);
    message = NULL;
    //  Not UTF-8
    HT_CHECK_EQ_INT (node_http_input_add (input, "title", "\xff\xfe", &message), HEARTH_EINVAL);
    free (message);
    message = NULL;
    HT_CHECK_EQ_INT (node_http_input_add (input, "\xff", "x", &message), HEARTH_EINVAL);
    HT_CHECK (message && strstr (message, "name"));
    free (message);
    message = NULL;
    //  A negative or huge number stays text (the handler names the field)
    HT_CHECK_EQ_INT (node_http_input_add (input, "k", "-1", &message), 0);
    HT_CHECK (json_is_string (json_object_get (input, "k")));
    json_decref (input);
    //  Too many arguments
    input = json_object ();
    int rc = 0;
    for (int i = 0; i <= NODE_HTTP_MAX_ARGS && rc == 0; i++) {
        char key [16];
        snprintf (key, sizeof key, "k%d", i);
        rc = node_http_input_add (input, key, "v", &message);
    }
    HT_CHECK_EQ_INT (rc, HEARTH_EINVAL);
    free (message);
    json_decref (input);
}

HT_TEST (test_form)
{
    json_t *args = json_object ();
    char *message = NULL;
    const char *body = "title=Gr%C3%BC%C3%9Fe+aus&csrf=abc&title=second&empty=&flag&&x=%2B";
    HT_CHECK_EQ_INT (node_http_form_parse (body, strlen (body), args, &message), 0);
    HT_CHECK_EQ_STR (json_string_value (json_object_get (args, "title")), "Grüße aus");
    HT_CHECK_EQ_STR (json_string_value (json_object_get (args, "csrf")), "abc");
    HT_CHECK_EQ_STR (json_string_value (json_object_get (args, "empty")), "");
    HT_CHECK_EQ_STR (json_string_value (json_object_get (args, "flag")), "");
    HT_CHECK_EQ_STR (json_string_value (json_object_get (args, "x")), "+");
    json_decref (args);
    const char *bad [] = { "a=%zz", "a=%4", "a=%00", "a=%ff%fe", "%e2=1" };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        args = json_object ();
        message = NULL;
        HT_CHECK_EQ_INT (node_http_form_parse (bad [i], strlen (bad [i]), args, &message), HEARTH_EINVAL);
        HT_CHECK (message != NULL);
        free (message);
        json_decref (args);
    }
    //  Not NUL-terminated: only len bytes are read
    args = json_object ();
    HT_CHECK_EQ_INT (node_http_form_parse ("a=1&b=2", 3, args, &message), 0);
    HT_CHECK (json_object_size (args) == 1);
    json_decref (args);
}

HT_TEST (test_host_origin)
{
    HT_CHECK (node_http_host_allowed ("127.0.0.1:7480", 7480, NULL));
    HT_CHECK (node_http_host_allowed ("localhost:7480", 7480, NULL));
    HT_CHECK (node_http_host_allowed ("LOCALHOST:7480", 7480, NULL));
    HT_CHECK (node_http_host_allowed ("[::1]:7480", 7480, NULL));
    HT_CHECK (node_http_host_allowed ("192.168.1.20:7480", 7480, NULL));
    HT_CHECK (node_http_host_allowed ("127.0.0.1", 80, NULL));
    HT_CHECK (!node_http_host_allowed ("127.0.0.1", 7480, NULL));
    HT_CHECK (!node_http_host_allowed ("127.0.0.1:7481", 7480, NULL));
    HT_CHECK (!node_http_host_allowed ("evil.example:7480", 7480, NULL));
    HT_CHECK (!node_http_host_allowed ("localhost.evil.example:7480", 7480, NULL));
    HT_CHECK (!node_http_host_allowed ("127.0.0.1.nip.io:7480", 7480, NULL));
    HT_CHECK (!node_http_host_allowed ("[::1:7480", 7480, NULL));
    HT_CHECK (!node_http_host_allowed ("[::1]x:7480", 7480, NULL));
    HT_CHECK (!node_http_host_allowed ("", 7480, NULL));
    HT_CHECK (!node_http_host_allowed (NULL, 7480, NULL));
    HT_CHECK (!node_http_host_allowed ("127.0.0.1:", 7480, NULL));
    /*  http/hosts: listed names with any port or none, case-insensitive;
        others, and names that merely contain a listed one, refused. */
    const char *hosts = "hearth.local, Markt.example.org";
    HT_CHECK (node_http_host_allowed ("hearth.local", 7480, hosts));
    HT_CHECK (node_http_host_allowed ("hearth.local:7480", 7480, hosts));
    HT_CHECK (node_http_host_allowed ("HEARTH.LOCAL:8443", 7480, hosts));
    HT_CHECK (node_http_host_allowed ("markt.example.org", 7480, hosts));
    HT_CHECK (!node_http_host_allowed ("evil.example:7480", 7480, hosts));
    HT_CHECK (!node_http_host_allowed ("hearth.local.evil.example", 7480, hosts));
    HT_CHECK (!node_http_host_allowed ("hearth", 7480, hosts));
    HT_CHECK (!node_http_host_allowed ("hearth.local:x", 7480, hosts));
    HT_CHECK (!node_http_host_allowed ("hearth.local", 7480, ""));
    char *message = NULL;
    HT_CHECK_EQ_INT (node_http_hosts_check ("hearth.local, a-b.example.org,x", &message), 0);
    HT_CHECK_EQ_INT (node_http_hosts_check ("", &message), 0);
    const char *bad_lists [] = { "hearth.local:80", "http://hearth.local", "a..b", ".a", "a.",
                                 "a,,b", "bad_name", "a b" };
    for (size_t i = 0; i < sizeof bad_lists / sizeof bad_lists [0]; i++) {
        HT_CHECK (node_http_hosts_check (bad_lists [i], &message) == HEARTH_EINVAL);
        HT_CHECK (message != NULL);
        free (message);
        message = NULL;
    }
    char many [NODE_HTTP_HOSTS_TEXT_MAX + 64] = "";
    for (int i = 0; i <= NODE_HTTP_MAX_HOSTS; i++)
        snprintf (many + strlen (many), sizeof many - strlen (many), "%sh%d.local", i? ",": "", i);
    HT_CHECK (node_http_hosts_check (many, &message) == HEARTH_EINVAL);
    free (message);

    HT_CHECK (node_http_origin_allowed (NULL, "127.0.0.1:7480", NULL));
    HT_CHECK (node_http_origin_allowed ("http://127.0.0.1:7480", "127.0.0.1:7480", "same-origin"));
    HT_CHECK (node_http_origin_allowed (NULL, "127.0.0.1:7480", "none"));
    HT_CHECK (!node_http_origin_allowed (NULL, "127.0.0.1:7480", "cross-site"));
    HT_CHECK (!node_http_origin_allowed (NULL, "127.0.0.1:7480", "same-site"));
    HT_CHECK (!node_http_origin_allowed ("http://evil.example", "127.0.0.1:7480", NULL));
    HT_CHECK (!node_http_origin_allowed ("null", "127.0.0.1:7480", NULL));
    HT_CHECK (!node_http_origin_allowed ("https://127.0.0.1:7480", "127.0.0.1:7480", NULL));
    HT_CHECK (!node_http_origin_allowed ("http://127.0.0.1:7481", "127.0.0.1:7480", NULL));

    HT_CHECK (node_http_is_json ("application/json"));
    HT_CHECK (node_http_is_json ("Application/JSON; charset=utf-8"));
    HT_CHECK (!node_http_is_json ("application/jsonx"));
    HT_CHECK (!node_http_is_json ("text/plain"));
    HT_CHECK (!node_http_is_json (NULL));
    HT_CHECK (node_http_is_form ("application/x-www-form-urlencoded"));
    HT_CHECK (!node_http_is_form ("multipart/form-data; boundary=x"));
}

HT_TEST (test_cookie_bearer)
{
    char out [80];
    HT_CHECK_EQ_INT (node_http_cookie_get ("a=1; hearth_token=abc; b=2", "hearth_token", out, sizeof out), 0);
    HT_CHECK_EQ_STR (out, "abc");
    HT_CHECK_EQ_INT (node_http_cookie_get ("xhearth_token=abc", "hearth_token", out, sizeof out), HEARTH_ENOTFOUND);
    HT_CHECK_EQ_INT (node_http_cookie_get ("hearth_token=abcdef", "hearth_token", out, 4), HEARTH_ENOTFOUND);
    HT_CHECK_EQ_INT (node_http_cookie_get (NULL, "hearth_token", out, sizeof out), HEARTH_ENOTFOUND);
    HT_CHECK_EQ_INT (node_http_bearer_get ("Bearer  abc ", out, sizeof out), 0);
    HT_CHECK_EQ_STR (out, "abc");
    HT_CHECK_EQ_INT (node_http_bearer_get ("Basic abc", out, sizeof out), HEARTH_ENOTFOUND);
    HT_CHECK_EQ_INT (node_http_bearer_get ("Bearer ", out, sizeof out), HEARTH_ENOTFOUND);
}

HT_TEST (test_status_ready)
{
    HT_CHECK_EQ_INT (node_http_status_of (HEARTH_OK), 200);
    HT_CHECK_EQ_INT (node_http_status_of (HEARTH_EINVAL), 400);
    HT_CHECK_EQ_INT (node_http_status_of (HEARTH_EDECODE), 400);
    HT_CHECK_EQ_INT (node_http_status_of (HEARTH_ENOTFOUND), 404);
    HT_CHECK_EQ_INT (node_http_status_of (HEARTH_EUNAUTHORIZED), 403);
    HT_CHECK_EQ_INT (node_http_status_of (HEARTH_ERATE), 429);
    HT_CHECK_EQ_INT (node_http_status_of (HEARTH_ENOSPC), 507);
    HT_CHECK_EQ_INT (node_http_status_of (HEARTH_ETIMEOUT), 504);
    HT_CHECK_EQ_INT (node_http_status_of (HEARTH_EIO), 500);
    HT_CHECK_EQ_INT (node_http_status_of (-999), 500);
    const char *reason = NULL;
    HT_CHECK (!node_http_ready (0, 0, 0, &reason) && reason && strstr (reason, "member"));
    HT_CHECK (!node_http_ready (1, 2, 0, &reason) && reason && strstr (reason, "link"));
    HT_CHECK (node_http_ready (1, 2, 1, &reason));
    HT_CHECK (node_http_ready (1, 0, 0, &reason));
}

HT_TEST (test_ratelimit)
{
    HT_CHECK (node_ratelimit_new (0, 1, 1) == NULL);
    node_ratelimit_t *rate = node_ratelimit_new (10, 20, 2);
    uint8_t a [NODE_RATELIMIT_KEY_BYTES] = { 127, 0, 0, 1 };
    uint8_t b [NODE_RATELIMIT_KEY_BYTES] = { 127, 0, 0, 2 };
    uint8_t c [NODE_RATELIMIT_KEY_BYTES] = { 127, 0, 0, 3 };
    uint32_t retry = 0;
    int allowed = 0;
    for (int i = 0; i < 30; i++)
        allowed += node_ratelimit_take (rate, a, 1000, &retry);
    HT_CHECK_EQ_INT (allowed, 20);              // the burst
    HT_CHECK_EQ_INT (retry, 1);
    //  Another address has its own bucket
    HT_CHECK (node_ratelimit_take (rate, b, 1000, &retry));
    //  100 ms later: one token back (10 per second)
    HT_CHECK (node_ratelimit_take (rate, a, 1100, &retry));
    HT_CHECK (!node_ratelimit_take (rate, a, 1100, &retry));
    //  A clock going back refills nothing
    HT_CHECK (!node_ratelimit_take (rate, a, 500, &retry));
    //  A long pause refills to the burst only
    allowed = 0;
    for (int i = 0; i < 30; i++)
        allowed += node_ratelimit_take (rate, a, 1000000, &retry);
    HT_CHECK_EQ_INT (allowed, 20);
    //  The table is bounded: a third address forgets the least recent (b)
    HT_CHECK (node_ratelimit_take (rate, c, 1000001, &retry));
    HT_CHECK_EQ_INT (node_ratelimit_clients (rate), 2);
    node_ratelimit_destroy (&rate);
    HT_CHECK (rate == NULL);
    node_ratelimit_destroy (&rate);
}

HT_TEST (test_stats_http)
{
    node_stats_t *stats = node_stats_new ();
    node_stats_sample_t sample;
    memset (&sample, 0, sizeof sample);
    char *text = node_stats_prometheus (stats, &sample);
    HT_CHECK (text && !strstr (text, "hearth_http_"));      // off: nothing rendered
    free (text);
    node_stats_http_enable (stats);
    node_stats_http_response (stats, 200);
    node_stats_http_response (stats, 429);
    node_stats_http_response (stats, 999);                   // ignored
    node_stats_http_refused (stats, NODE_STATS_HTTP_RATE);
    text = node_stats_prometheus (stats, &sample);
    HT_CHECK (text && strstr (text, "hearth_http_responses_total{class=\"2xx\"} 1\n"));
    HT_CHECK (text && strstr (text, "hearth_http_responses_total{class=\"4xx\"} 1\n"));
    HT_CHECK (text && strstr (text, "hearth_http_refused_total{reason=\"rate_limited\"} 1\n"));
    HT_CHECK (text && strstr (text, "hearth_http_refused_total{reason=\"connections\"} 0\n"));
    free (text);
    json_t *json = node_stats_json (stats, &sample);
    HT_CHECK (json_integer_value (json_object_get (json_object_get (json_object_get (json, "http"),
                                                                    "refused"), "rate_limited")) == 1);
    json_decref (json);
    node_stats_destroy (&stats);
}

int
main (void)
{
    HT_RUN (test_address);
    HT_RUN (test_config_key);
    HT_RUN (test_routes);
    HT_RUN (test_input);
    HT_RUN (test_form);
    HT_RUN (test_host_origin);
    HT_RUN (test_cookie_bearer);
    HT_RUN (test_status_ready);
    HT_RUN (test_ratelimit);
    HT_RUN (test_stats_http);
    return ht_summary ();
}
