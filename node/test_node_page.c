/*  test_node_page.c — the marketplace page (node_page.h) over a real node_bus
    on a temporary event log: every view renders, hostile post text and
    request arguments come out escaped, the language is chosen as
    documented, unknown paths are 404, writes without may_write are 403 and
    change nothing, and the post form and the expire button write.
*/
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "eventlog.h"
#include "hearth_error.h"
#include "hearth_log.h"
#include "hearth_test.h"
#include "identity.h"
#include "market.h"
#include "node_bus.h"
#include "node_html.h"
#include "node_page.h"
#include "node_stats.h"
#include "event.h"

#define S_CSRF "csrf-token-of-this-node"

typedef struct {
    char         *dir;
    identity_t   *id;
    eventlog_t   *log;
    market_t     *market;
    node_stats_t *stats;
    node_bus_t   *bus;
    node_page_t  *page;
} s_node_t;

static int
s_open (s_node_t *n)
{
    memset (n, 0, sizeof *n);
    hearth_log_set_silent (1);
    n->dir = ht_tmpdir ("page");
    if (!n->dir)
        return -1;
    char keys [600], db [600];
    snprintf (keys, sizeof keys, "%s/keys", n->dir);
    snprintf (db, sizeof db, "%s/db", n->dir);
    int err = 0;
    n->id = identity_create (keys, &err);
    n->log = n->id? eventlog_open (db, &err): NULL;
    if (!n->log
    ||  eventlog_community_create (n->log, n->id, "Testkiez", hearth_now_ms ()) != 0
    ||  !(n->market = market_new (n->log, n->id, NULL))
    ||  eventlog_views_load (n->log, NULL) != 0
    ||  !(n->stats = node_stats_new ())
    ||  !(n->bus = node_bus_new (n->log, n->market, n->id, n->stats))
    ||  !(n->page = node_page_new (n->bus)))
        return -1;
    return 0;
}

static void
s_close (s_node_t *n)
{
    node_page_destroy (&n->page);
    node_bus_destroy (&n->bus);
    eventlog_destroy (&n->log);
    market_destroy (&n->market);
    node_stats_destroy (&n->stats);
    identity_destroy (&n->id);
    ht_rmtree (n->dir);
    free (n->dir);
}

/*  One request; args is stolen (NULL = no arguments). */
static node_page_response_t
s_req (s_node_t *n, const char *method, const char *path, json_t *args, const char *accept_language,
       int may_write)
{
    node_page_request_t req = {
        .method = method, .path = path, .args = args, .accept_language = accept_language,
        .may_write = may_write, .csrf_token = S_CSRF
    };
    node_page_response_t resp;
    memset (&resp, 0, sizeof resp);
    int rc = node_page_handle (n->page, &req, &resp);
    HT_CHECK_EQ_INT (rc, HEARTH_OK);
    json_decref (args);
    if (resp.body) {
        HT_CHECK_EQ_INT (strlen (resp.body), resp.body_len);
        /*  Every answer is valid UTF-8, whatever the request held. */
        HT_CHECK_EQ_INT (node_html_utf8_prefix (resp.body, resp.body_len), resp.body_len);
    }
    return resp;
}

static void
s_free (node_page_response_t *resp)
{
    free (resp->body);
    free (resp->location);
    memset (resp, 0, sizeof *resp);
}

static int
s_has (const node_page_response_t *resp, const char *needle)
{
    return resp->body && strstr (resp->body, needle) != NULL;
}

/*  market.post through the bus; returns the new id (malloc'd) or NULL. */
static char *
s_post (s_node_t *n, json_t *input)
{
    json_t *output = NULL;
    char *message = NULL;
    int rc = node_bus_call (n->bus, "market.post", input, &output, &message);
    json_decref (input);
    if (rc) {
        fprintf (stderr, "market.post: %s\n", message? message: "?");
        free (message);
        return NULL;
    }
    char *id = strdup (json_string_value (json_object_get (output, "event_id")));
    json_decref (output);
    return id;
}

static json_t *
s_get (s_node_t *n, const char *id)
{
    json_t *output = NULL;
    char *message = NULL;
    json_t *input = json_pack ("{s:s}", "event_id", id);
    int rc = node_bus_call (n->bus, "market.get", input, &output, &message);
    json_decref (input);
    free (message);
    if (rc)
        return NULL;
    json_t *post = json_incref (json_object_get (output, "post"));
    json_decref (output);
    return post;
}

static size_t
s_count_posts (s_node_t *n)
{
    json_t *output = NULL;
    char *message = NULL;
    json_t *input = json_pack ("{s:i}", "limit", 500);
    node_bus_call (n->bus, "market.list", input, &output, &message);
    json_decref (input);
    free (message);
    size_t count = json_array_size (json_object_get (output, "posts"));
    json_decref (output);
    return count;
}

/*  An HTML page that a CSP of default-src 'self' serves unchanged: no
    inline script, no inline style, no external resource. */
static void
s_check_csp_clean (const node_page_response_t *resp)
{
    HT_CHECK (!s_has (resp, "<script"));
    HT_CHECK (!s_has (resp, "style="));
    HT_CHECK (!s_has (resp, "<style"));
    HT_CHECK (!s_has (resp, "http://"));
    HT_CHECK (!s_has (resp, "https://"));
    HT_CHECK (!s_has (resp, "//cdn"));
}

HT_TEST (test_html_buffer)
{
    node_html_t *h = node_html_new ();
    HT_CHECK (h != NULL);
    if (!h)
        return;
    node_html_text (h, "<a href=\"x\" title='y'>&</a>");
    node_html_raw (h, "|");
    node_html_text (h, "ok\xff\xfe" "b\xC3\xA4\xE2\x82");          /* bad bytes, then a cut char */
    node_html_raw (h, "|");
    node_html_url_part (h, "a b&c=d/\xC3\xA4\"<");
    node_html_raw (h, "|");
    node_html_excerpt (h, "\xC3\xA4\xC3\xA4\xC3\xA4", 3);         /* cut inside the 2nd char */
    size_t len;
    char *text = node_html_take (h, &len);
    HT_CHECK_EQ_STR (text, "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;|"
                           "ok\xEF\xBF\xBD\xEF\xBF\xBD" "b\xC3\xA4\xEF\xBF\xBD\xEF\xBF\xBD|"
                           "a%20b%26c%3Dd%2F%C3%A4%22%3C|\xC3\xA4\xE2\x80\xA6");
    free (text);
    /*  Empty take gives "" and the buffer is reusable. */
    text = node_html_take (h, &len);
    HT_CHECK_EQ_STR (text, "");
    HT_CHECK_EQ_INT (len, 0);
    free (text);
    node_html_printf (h, "%d-%s", 42, "x");
    text = node_html_take (h, &len);
    HT_CHECK_EQ_STR (text, "42-x");
    free (text);
    HT_CHECK_EQ_INT (node_html_utf8_prefix ("ab\xC3", 3), 2);
    HT_CHECK_EQ_INT (node_html_utf8_prefix ("\xED\xA0\x80", 3), 0);   /* a surrogate */
    HT_CHECK_EQ_INT (node_html_utf8_prefix ("\xC0\xAF", 2), 0);       /* overlong */
    node_html_destroy (&h);
    node_html_destroy (&h);
}

HT_TEST (test_views_render)
{
    s_node_t n;
    HT_CHECK_EQ_INT (s_open (&n), 0);
    char *a = s_post (&n, json_pack ("{s:s, s:s, s:s, s:[s,s], s:{s:f, s:f, s:s}}", "category", "offer",
                                     "title", "Apples to share", "body", "Two bags of apples.",
                                     "tags", "food", "free", "location", "lat", 52.52, "lng", 13.405,
                                     "label", "Kiez corner"));
    char *b = s_post (&n, json_pack ("{s:s, s:s, s:s, s:[s]}", "category", "request",
                                     "title", "Ladder wanted", "body", "For one afternoon.",
                                     "tags", "tools"));
    char *c = s_post (&n, json_pack ("{s:s, s:s, s:s}", "category", "emergency",
                                     "title", "Water main broken", "body", "Lindenstrasse is flooded."));
    HT_CHECK (a && b && c);

    node_page_response_t r = s_req (&n, "GET", "/", NULL, NULL, 0);
    HT_CHECK_EQ_INT (r.status, 200);
    HT_CHECK_EQ_STR (r.content_type, "text/html; charset=utf-8");
    HT_CHECK (s_has (&r, "Apples to share") && s_has (&r, "Ladder wanted") && s_has (&r, "Water main broken"));
    HT_CHECK (s_has (&r, "Kiez corner"));
    HT_CHECK (s_has (&r, "href=\"/?tag=food\""));
    HT_CHECK (s_has (&r, "name=\"viewport\""));
    HT_CHECK (s_has (&r, "href=\"/static/page.css\""));
    HT_CHECK (s_has (&r, "action=\"/search\""));
    HT_CHECK (s_has (&r, "cat-emergency"));
    HT_CHECK (s_has (&r, "just now") && s_has (&r, "expires in 7 d"));   /* the default ttl, rounded */
    HT_CHECK (!s_has (&r, "class=\"more\""));         /* 3 posts: no more */
    s_check_csp_clean (&r);
    s_free (&r);

    /*  Category filter. */
    r = s_req (&n, "GET", "/", json_pack ("{s:s}", "category", "request"), NULL, 0);
    HT_CHECK_EQ_INT (r.status, 200);
    HT_CHECK (s_has (&r, "Ladder wanted") && !s_has (&r, "Apples to share"));
    HT_CHECK (s_has (&r, "class=\"chip on\" href=\"/?category=request\""));
    s_free (&r);
    /*  Tag filter (case-insensitive like the market), with the category kept in the form. */
    r = s_req (&n, "GET", "/", json_pack ("{s:s, s:s}", "tag", "FOOD", "category", "offer"), NULL, 0);
    HT_CHECK (s_has (&r, "Apples to share") && !s_has (&r, "Ladder wanted"));
    HT_CHECK (s_has (&r, "name=\"category\" value=\"offer\""));
    s_free (&r);
    /*  A bad category is the market's bad_request, shown as a 400 page. */
    r = s_req (&n, "GET", "/", json_pack ("{s:s}", "category", "gossip"), NULL, 0);
    HT_CHECK_EQ_INT (r.status, 400);
    HT_CHECK (s_has (&r, "category must be one of"));
    s_free (&r);
    /*  Paging: limit 2 of 3 offers more, with the next limit. */
    r = s_req (&n, "GET", "/", json_pack ("{s:s}", "limit", "2"), NULL, 0);
    HT_CHECK (s_has (&r, "class=\"more\" href=\"/?limit=52\""));
    HT_CHECK (!s_has (&r, "Apples to share"));        /* the oldest is on the next page */
    s_free (&r);
    r = s_req (&n, "GET", "/", json_pack ("{s:s}", "limit", "-5x"), NULL, 0);  /* ignored */
    HT_CHECK_EQ_INT (r.status, 200);
    s_free (&r);

    /*  Search. */
    r = s_req (&n, "GET", "/search", json_pack ("{s:s}", "q", "ladder"), NULL, 0);
    HT_CHECK_EQ_INT (r.status, 200);
    HT_CHECK (s_has (&r, "Ladder wanted") && !s_has (&r, "Apples to share"));
    HT_CHECK (s_has (&r, "value=\"ladder\""));
    s_free (&r);
    r = s_req (&n, "GET", "/search", NULL, NULL, 0);
    HT_CHECK_EQ_INT (r.status, 200);
    s_free (&r);
    r = s_req (&n, "GET", "/search", json_pack ("{s:s}", "q", "?!"), NULL, 0);
    HT_CHECK_EQ_INT (r.status, 400);
    HT_CHECK (s_has (&r, "at least one word"));
    s_free (&r);

    /*  One post: the node's own, so it has the expire form with csrf. */
    char path [64];
    snprintf (path, sizeof path, "/post/%s", a);
    r = s_req (&n, "GET", path, NULL, NULL, 0);
    HT_CHECK_EQ_INT (r.status, 200);
    HT_CHECK (s_has (&r, "<h1>Apples to share</h1>"));
    HT_CHECK (s_has (&r, "Two bags of apples."));
    HT_CHECK (s_has (&r, "(52.52000, 13.40500)"));
    HT_CHECK (s_has (&r, "(this node)"));
    HT_CHECK (s_has (&r, " UTC</time> (just now)"));
    HT_CHECK (s_has (&r, "/expire\""));
    HT_CHECK (s_has (&r, "name=\"csrf\" value=\"" S_CSRF "\""));
    s_check_csp_clean (&r);
    s_free (&r);

    /*  The form and the node view. */
    r = s_req (&n, "GET", "/new", NULL, NULL, 0);
    HT_CHECK_EQ_INT (r.status, 200);
    HT_CHECK (s_has (&r, "method=\"post\" action=\"/new\""));
    HT_CHECK (s_has (&r, "name=\"csrf\" value=\"" S_CSRF "\""));
    HT_CHECK (s_has (&r, "name=\"client_id\" value=\"page-"));
    s_check_csp_clean (&r);
    s_free (&r);
    r = s_req (&n, "GET", "/node", NULL, NULL, 0);
    HT_CHECK_EQ_INT (r.status, 200);
    HT_CHECK (s_has (&r, identity_node_id (n.id)));
    HT_CHECK (s_has (&r, "anchor"));
    HT_CHECK (s_has (&r, "No peers linked."));
    HT_CHECK (s_has (&r, "Active posts</dt><dd>3</dd>"));
    s_check_csp_clean (&r);
    s_free (&r);

    /*  HEAD renders like GET; the style sheet is served from the binary. */
    r = s_req (&n, "HEAD", "/", NULL, NULL, 0);
    HT_CHECK_EQ_INT (r.status, 200);
    s_free (&r);
    r = s_req (&n, "GET", "/static/page.css", NULL, NULL, 0);
    HT_CHECK_EQ_INT (r.status, 200);
    HT_CHECK_EQ_STR (r.content_type, "text/css; charset=utf-8");
    HT_CHECK (s_has (&r, "box-sizing"));
    s_free (&r);
    free (a);
    free (b);
    free (c);
    s_close (&n);
}

HT_TEST (test_hostile_content)
{
    s_node_t n;
    HT_CHECK_EQ_INT (s_open (&n), 0);
    char *id = s_post (&n, json_pack ("{s:s, s:s, s:s, s:[s,s], s:{s:f, s:f, s:s}}",
        "category", "info",
        "title", "<script>alert('t')</script>",
        "body", "\"><img src=x onerror=alert(1)> & '<iframe>",
        "tags", "\"onmouseover=alert(2)", "<b>",
        "location", "lat", 1.0, "lng", 2.0, "label", "</a><script>alert(3)</script>"));
    HT_CHECK (id != NULL);
    const char *views [] = { "/", "/search", NULL, NULL };
    char path [64];
    snprintf (path, sizeof path, "/post/%s", id? id: "x");
    views [2] = path;
    for (int i = 0; views [i]; i++) {
        json_t *args = i == 1? json_pack ("{s:s}", "q", "script alert"): NULL;
        node_page_response_t r = s_req (&n, "GET", views [i], args, NULL, 0);
        HT_CHECK_EQ_INT (r.status, 200);
        HT_CHECK (s_has (&r, "&lt;script&gt;alert(&#39;t&#39;)&lt;/script&gt;"));
        HT_CHECK (!s_has (&r, "<img"));
        HT_CHECK (!s_has (&r, "<iframe"));
        HT_CHECK (!s_has (&r, "<b>"));
        HT_CHECK (!s_has (&r, "\"onmouseover"));
        HT_CHECK (s_has (&r, "&lt;/a&gt;&lt;script&gt;alert(3)"));
        s_check_csp_clean (&r);
        s_free (&r);
    }
    /*  The hostile tag as a link: percent-encoded in the href. */
    node_page_response_t r = s_req (&n, "GET", "/", NULL, NULL, 0);
    HT_CHECK (s_has (&r, "href=\"/?tag=%22onmouseover%3Dalert%282%29\""));
    s_free (&r);

    /*  Hostile request arguments come back escaped (form values, links). */
    r = s_req (&n, "GET", "/search", json_pack ("{s:s}", "q", "\"><script>alert(4)</script>"), NULL, 0);
    HT_CHECK (!s_has (&r, "<script"));
    HT_CHECK (s_has (&r, "value=\"&quot;&gt;&lt;script&gt;"));
    HT_CHECK (s_has (&r, "?q=%22%3E%3Cscript%3E"));
    s_free (&r);
    r = s_req (&n, "GET", "/", json_pack ("{s:s, s:s}", "tag", "\"><x>", "lang", "\"><x>"), NULL, 0);
    HT_CHECK (!s_has (&r, "<x>"));
    HT_CHECK (s_has (&r, "<html lang=\"en\""));
    s_free (&r);
    /*  Bytes that are not UTF-8 in an argument: the page stays UTF-8. */
    json_t *args = json_object ();
    json_object_set_new (args, "q", json_stringn_nocheck ("caf\xe9 \xff<", 7));
    r = s_req (&n, "GET", "/search", args, NULL, 0);
    HT_CHECK (s_has (&r, "caf\xEF\xBF\xBD \xEF\xBF\xBD&lt;"));
    s_free (&r);
    /*  ... and the market refuses them in a post: nothing is stored. */
    size_t before = s_count_posts (&n);
    args = json_pack ("{s:s, s:s, s:s}", "category", "offer", "body", "ok", "csrf", S_CSRF);
    json_object_set_new (args, "title", json_stringn_nocheck ("bad \xc3\x28 title", 12));
    r = s_req (&n, "POST", "/new", args, NULL, 1);
    HT_CHECK_EQ_INT (r.status, 400);
    HT_CHECK (s_has (&r, "title must be valid UTF-8"));
    HT_CHECK (s_has (&r, "value=\"bad \xEF\xBF\xBD( title\""));
    s_free (&r);
    HT_CHECK_EQ_INT (s_count_posts (&n), before);
    /*  A path with markup in it. */
    r = s_req (&n, "GET", "/post/<script>x", NULL, NULL, 0);
    HT_CHECK_EQ_INT (r.status, 404);
    HT_CHECK (!s_has (&r, "<script"));
    s_free (&r);
    free (id);
    s_close (&n);
}

HT_TEST (test_language)
{
    s_node_t n;
    HT_CHECK_EQ_INT (s_open (&n), 0);
    struct { json_t *args; const char *accept; const char *want; } cases [] = {
        { NULL, NULL, "en" },
        { json_pack ("{s:s}", "lang", "de"), NULL, "de" },
        { json_pack ("{s:s}", "lang", "en"), "de", "en" },        /* ?lang wins */
        { json_pack ("{s:s}", "lang", "fr"), "de", "de" },        /* unknown: ignored */
        { NULL, "de-DE,de;q=0.9,en;q=0.8", "de" },
        { NULL, "fr-FR, fr;q=0.9, en;q=0.5", "en" },
        { NULL, "en;q=0.3, DE;q=0.7", "de" },
        { NULL, "fr, it", "en" },
        { NULL, "de;q=0", "en" },
        { NULL, ";;;,,,q=,de;q=abc", "en" },
        { NULL, "", "en" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        node_page_response_t r = s_req (&n, "GET", "/", cases [i].args, cases [i].accept, 0);
        char want [32];
        snprintf (want, sizeof want, "<html lang=\"%s\"", cases [i].want);
        if (!s_has (&r, want))
            fprintf (stderr, "case %zu: want %s\n", i, cases [i].want);
        HT_CHECK (s_has (&r, want));
        if (strcmp (cases [i].want, "de") == 0)
            HT_CHECK (s_has (&r, "Neueste") && s_has (&r, "Inserieren") && !s_has (&r, ">Newest<"));
        else
            HT_CHECK (s_has (&r, "Newest") && !s_has (&r, "Neueste"));
        s_free (&r);
    }
    /*  A chosen language is carried on links and forms. */
    node_page_response_t r = s_req (&n, "GET", "/", json_pack ("{s:s}", "lang", "de"), NULL, 0);
    HT_CHECK (s_has (&r, "href=\"/new?lang=de\""));
    HT_CHECK (s_has (&r, "href=\"/?category=offer&amp;lang=de\""));
    HT_CHECK (s_has (&r, "name=\"lang\" value=\"de\""));
    s_free (&r);
    r = s_req (&n, "GET", "/new", json_pack ("{s:s}", "lang", "de"), NULL, 0);
    HT_CHECK (s_has (&r, "Ver\xC3\xB6" "ffentlichen") && s_has (&r, "Breitengrad"));
    s_free (&r);
    /*  Without ?lang= the links stay bare (Accept-Language decides each time). */
    r = s_req (&n, "GET", "/", NULL, "de", 0);
    HT_CHECK (s_has (&r, "href=\"/new\""));
    s_free (&r);
    s_close (&n);
}

HT_TEST (test_not_found_and_methods)
{
    s_node_t n;
    HT_CHECK_EQ_INT (s_open (&n), 0);
    const char *paths [] = { "/nope", "/post/", "/post/01J00000000000000000000000", "/post/x",
                             "/post/01J00000000000000000000000/other", "/static/other.css",
                             "/newx", "//", NULL };
    for (int i = 0; paths [i]; i++) {
        node_page_response_t r = s_req (&n, "GET", paths [i], NULL, NULL, 0);
        HT_CHECK_EQ_INT (r.status, 404);
        HT_CHECK (s_has (&r, "Not found"));
        s_free (&r);
    }
    node_page_response_t r = s_req (&n, "GET", "/post/01J00000000000000000000000/expire", NULL, NULL, 0);
    HT_CHECK_EQ_INT (r.status, 405);
    s_free (&r);
    r = s_req (&n, "POST", "/", NULL, NULL, 1);
    HT_CHECK_EQ_INT (r.status, 405);
    s_free (&r);
    r = s_req (&n, "POST", "/post/01J00000000000000000000000/expire",
               json_pack ("{s:s, s:s}", "csrf", S_CSRF, "reason", "withdrawn"), NULL, 1);
    HT_CHECK_EQ_INT (r.status, 404);
    s_free (&r);
    s_close (&n);
}

HT_TEST (test_forbidden)
{
    s_node_t n;
    HT_CHECK_EQ_INT (s_open (&n), 0);
    char *id = s_post (&n, json_pack ("{s:s, s:s, s:s}", "category", "offer", "title", "Mine",
                                      "body", "text"));
    /*  A client that may not write, with the right csrf: the client is the reason. */
    node_page_response_t r = s_req (&n, "POST", "/new",
        json_pack ("{s:s, s:s, s:s, s:s}", "category", "offer", "title", "x", "body", "y",
                   "csrf", S_CSRF), NULL, 0);
    HT_CHECK_EQ_INT (r.status, 403);
    HT_CHECK (s_has (&r, "write token"));
    HT_CHECK (s_has (&r, "href=\"/login\""));
    s_free (&r);
    /*  A wrong or missing csrf field: the form is the reason. */
    r = s_req (&n, "POST", "/new",
        json_pack ("{s:s, s:s, s:s, s:s}", "category", "offer", "title", "x", "body", "y",
                   "csrf", "forged"), NULL, 0);
    HT_CHECK_EQ_INT (r.status, 403);
    HT_CHECK (s_has (&r, "security token"));
    s_free (&r);
    r = s_req (&n, "POST", "/new", json_pack ("{s:s}", "lang", "de"), NULL, 0);
    HT_CHECK_EQ_INT (r.status, 403);
    HT_CHECK (s_has (&r, "Sicherheitsmerkmal"));
    s_free (&r);
    HT_CHECK_EQ_INT (s_count_posts (&n), 1);
    char path [80];
    snprintf (path, sizeof path, "/post/%s/expire", id);
    r = s_req (&n, "POST", path, json_pack ("{s:s, s:s}", "csrf", S_CSRF, "reason", "fulfilled"), NULL, 0);
    HT_CHECK_EQ_INT (r.status, 403);
    s_free (&r);
    json_t *post = s_get (&n, id);
    HT_CHECK (post && json_is_false (json_object_get (post, "expired")));
    json_decref (post);
    free (id);
    s_close (&n);
}

HT_TEST (test_post_form_and_expire)
{
    s_node_t n;
    HT_CHECK_EQ_INT (s_open (&n), 0);
    /*  Errors name their field and keep the values. */
    node_page_response_t r = s_req (&n, "POST", "/new",
        json_pack ("{s:s, s:s, s:s, s:s, s:s}", "category", "offer", "title", "   ",
                   "body", "Kept <body>", "tags", "a, b", "csrf", S_CSRF), NULL, 1);
    HT_CHECK_EQ_INT (r.status, 400);
    HT_CHECK (s_has (&r, "field bad\"><label for=\"title\""));
    HT_CHECK (s_has (&r, "title must not be"));
    HT_CHECK (s_has (&r, ">Kept &lt;body&gt;</textarea>"));
    HT_CHECK (s_has (&r, "value=\"a, b\""));
    HT_CHECK (s_has (&r, "<option value=\"offer\" selected>"));
    s_free (&r);
    struct { const char *key, *value; const char *field_id; } bad [] = {
        { "lat", "north", "lat" },                  /* not a number */
        { "lat", "52.5", "lat" },                   /* no lng */
        { "label", "Somewhere", "label" },          /* a label without coordinates */
        { "ttl_seconds", "a week", "ttl_seconds" }, /* not an integer */
        { "ttl_seconds", "99999999", "ttl_seconds" },   /* the market's range */
        { "category", "gossip", "category" },
        { "tags", "x,y,z,1,2,3,4,5,6,7,8,9,10,11,12,13,14", "tags" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        json_t *args = json_pack ("{s:s, s:s, s:s, s:s}", "category", "offer", "title", "T",
                                  "body", "B", "csrf", S_CSRF);
        json_object_set_new (args, bad [i].key, json_string (bad [i].value));
        r = s_req (&n, "POST", "/new", args, NULL, 1);
        HT_CHECK_EQ_INT (r.status, 400);
        char want [96];
        snprintf (want, sizeof want, "field bad\"><label for=\"%s\"", bad [i].field_id);
        if (!s_has (&r, want) && !(strcmp (bad [i].field_id, "lat") == 0 || strcmp (bad [i].field_id, "label") == 0))
            fprintf (stderr, "case %zu: no error at %s\n", i, bad [i].field_id);
        HT_CHECK (s_has (&r, want) || s_has (&r, "<fieldset class=\"field bad\">"));
        HT_CHECK (s_has (&r, "class=\"err\""));
        s_free (&r);
    }
    HT_CHECK_EQ_INT (s_count_posts (&n), 0);

    /*  A good post: 303 to its page, with the language carried. */
    r = s_req (&n, "POST", "/new",
        json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
                   "category", "offer", "title", "Drill to lend", "body", "Bosch, with bits.",
                   "tags", " Tools, garden ,, ", "lat", "52,52", "lng", "13.405", "label", "Hof 3",
                   "ttl_seconds", "259200", "client_id", "page-test-1", "csrf", S_CSRF, "lang", "de"),
        NULL, 1);
    HT_CHECK_EQ_INT (r.status, 303);
    HT_CHECK (r.location && strncmp (r.location, "/post/", 6) == 0);
    HT_CHECK (r.location && strstr (r.location, "?lang=de") != NULL);
    char id [64] = "";
    if (r.location)
        sscanf (r.location, "/post/%63[^?]", id);
    s_free (&r);
    json_t *post = s_get (&n, id);
    HT_CHECK (post != NULL);
    HT_CHECK_EQ_STR (json_string_value (json_object_get (post, "title")), "Drill to lend");
    HT_CHECK_EQ_INT (json_array_size (json_object_get (post, "tags")), 2);
    HT_CHECK_EQ_STR (json_string_value (json_array_get (json_object_get (post, "tags"), 0)), "tools");
    HT_CHECK (json_number_value (json_object_get (json_object_get (post, "location"), "lat")) == 52.52);
    HT_CHECK_EQ_STR (json_string_value (json_object_get (json_object_get (post, "location"), "label")), "Hof 3");
    json_decref (post);
    /*  The same form sent again (a double tap) is the same post. */
    r = s_req (&n, "POST", "/new",
        json_pack ("{s:s, s:s, s:s, s:s, s:s}", "category", "offer", "title", "Drill to lend",
                   "body", "Bosch, with bits.", "client_id", "page-test-1", "csrf", S_CSRF), NULL, 1);
    HT_CHECK_EQ_INT (r.status, 303);
    HT_CHECK (r.location && strstr (r.location, id) != NULL);
    s_free (&r);
    HT_CHECK_EQ_INT (s_count_posts (&n), 1);

    /*  Expire it through the button's form. */
    char path [96];
    snprintf (path, sizeof path, "/post/%s/expire", id);
    r = s_req (&n, "POST", path, json_pack ("{s:s, s:s}", "csrf", S_CSRF, "reason", "fulfilled"), NULL, 1);
    HT_CHECK_EQ_INT (r.status, 303);
    char want [96];
    snprintf (want, sizeof want, "/post/%s", id);
    HT_CHECK_EQ_STR (r.location, want);
    s_free (&r);
    post = s_get (&n, id);
    HT_CHECK (post && json_is_true (json_object_get (post, "expired")));
    json_decref (post);
    r = s_req (&n, "GET", want, NULL, NULL, 0);
    HT_CHECK_EQ_INT (r.status, 200);
    HT_CHECK (s_has (&r, "This post has expired (fulfilled)."));
    HT_CHECK (!s_has (&r, "/expire\""));
    s_free (&r);
    r = s_req (&n, "GET", "/", NULL, NULL, 0);
    HT_CHECK (!s_has (&r, "Drill to lend"));
    s_free (&r);
    /*  A bad reason is the market's error, as a page. */
    r = s_req (&n, "POST", path, json_pack ("{s:s, s:s}", "csrf", S_CSRF, "reason", "bored"), NULL, 1);
    HT_CHECK_EQ_INT (r.status, 400);
    HT_CHECK (s_has (&r, "reason must be one of"));
    s_free (&r);
    s_close (&n);
}

/*  A member with the seed byte fill joins the community (the node, its
    root, invites it) and posts title: a post this node did not write, as if
    received. Returns its id (malloc'd) or NULL. */
static char *
s_foreign_post (s_node_t *n, uint8_t fill, const char *title)
{
    uint8_t seed [32];
    memset (seed, fill, sizeof seed);
    identity_t *who = identity_from_seed (seed);
    if (!who)
        return NULL;
    uint64_t now = hearth_now_ms ();
    Hearth__MemberInvited inv = HEARTH__MEMBER_INVITED__INIT;
    inv.invitee.data = (uint8_t *) identity_public_key (who);
    inv.invitee.len = 32;
    inv.initial_level = HEARTH__LEVEL__LEVEL_MEMBER;
    inv.expires_at_ms = now + 86400000;
    Hearth__Event d = HEARTH__EVENT__INIT;
    d.type = HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_INVITED;
    d.payload_case = HEARTH__EVENT__PAYLOAD_MEMBER_INVITED;
    d.member_invited = &inv;
    event_t *ev = NULL;
    char *id = NULL;
    char invite [ULID_SIZE] = "";
    if (eventlog_append_local (n->log, n->id, &d, now, &ev) == 0)
        snprintf (invite, sizeof invite, "%s", event_id (ev));
    event_destroy (&ev);
    Hearth__MemberJoined join = HEARTH__MEMBER_JOINED__INIT;
    join.invite_event_id = invite;
    Hearth__Event j = HEARTH__EVENT__INIT;
    j.type = HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_JOINED;
    j.payload_case = HEARTH__EVENT__PAYLOAD_MEMBER_JOINED;
    j.member_joined = &join;
    Hearth__MarketPostCreated p = HEARTH__MARKET_POST_CREATED__INIT;
    p.category = HEARTH__CATEGORY__CATEGORY_OFFER;
    p.title = (char *) title;
    p.body = (char *) "Not yours.";
    Hearth__Event c = HEARTH__EVENT__INIT;
    c.type = HEARTH__EVENT_TYPE__MARKET_POST_CREATED;
    c.payload_case = HEARTH__EVENT__PAYLOAD_MARKET_POST_CREATED;
    c.market_post_created = &p;
    if (*invite && eventlog_append_local (n->log, who, &j, now + 1, NULL) == 0
    &&  eventlog_append_local (n->log, who, &c, now + 2, &ev) == 0)
        id = strdup (event_id (ev));
    event_destroy (&ev);
    identity_destroy (&who);
    return id;
}

/*  POST /post/ID/edit with the form's fields (args stolen; csrf added). */
static node_page_response_t
s_edit (s_node_t *n, const char *id, json_t *args, int may_write)
{
    char path [96];
    snprintf (path, sizeof path, "/post/%s/edit", id);
    if (args && !json_object_get (args, "csrf"))
        json_object_set_new (args, "csrf", json_string (S_CSRF));
    return s_req (n, "POST", path, args, NULL, may_write);
}

/*  The edit form: shown on the author's post (and card) only, filled with
    the post; a POST sends only what changed (nothing changed writes
    nothing), can clear tags and place, keeps values and names the field on
    an error, is one edit when sent twice, and the post and its card then
    say "edited" with the time and the count. */
HT_TEST (test_edit_flow)
{
    s_node_t n;
    HT_CHECK_EQ_INT (s_open (&n), 0);
    char *id = s_post (&n, json_pack ("{s:s, s:s, s:s, s:[s,s], s:{s:f, s:f, s:s}}",
        "category", "offer", "title", "Drill to lend", "body", "Bosch, with bits.",
        "tags", "tools", "garden", "location", "lat", 52.52, "lng", 13.405, "label", "Hof 3"));
    HT_CHECK (id != NULL);
    if (!id) {
        s_close (&n);
        return;
    }
    char post_path [96], edit_href [128];
    snprintf (post_path, sizeof post_path, "/post/%s", id);
    snprintf (edit_href, sizeof edit_href, "href=\"/post/%s/edit\"", id);
    node_page_response_t r = s_req (&n, "GET", post_path, NULL, NULL, 1);
    HT_CHECK (s_has (&r, edit_href) && s_has (&r, ">Edit</a>"));
    HT_CHECK (!s_has (&r, "class=\"edited\""));
    s_free (&r);
    r = s_req (&n, "GET", "/", NULL, NULL, 1);
    HT_CHECK (s_has (&r, edit_href));
    s_free (&r);

    /*  The form, filled. */
    snprintf (edit_href, sizeof edit_href, "/post/%s/edit", id);
    r = s_req (&n, "GET", edit_href, NULL, NULL, 1);
    HT_CHECK_EQ_INT (r.status, 200);
    HT_CHECK (s_has (&r, "action=\"/post/") && s_has (&r, "/edit\">"));
    HT_CHECK (s_has (&r, "name=\"title\" maxlength=\"200\" required value=\"Drill to lend\""));
    HT_CHECK (s_has (&r, ">Bosch, with bits.</textarea>"));
    HT_CHECK (s_has (&r, "name=\"tags\" value=\"tools, garden\""));
    HT_CHECK (s_has (&r, "name=\"label\" maxlength=\"120\" value=\"Hof 3\""));
    HT_CHECK (s_has (&r, "value=\"52.520000\"") && s_has (&r, "value=\"13.405000\""));
    HT_CHECK (s_has (&r, "<option value=\"\" selected>keep the current expiry</option>"));
    HT_CHECK (s_has (&r, "name=\"csrf\" value=\"" S_CSRF "\""));
    HT_CHECK (s_has (&r, "name=\"client_id\" value=\"page-"));
    HT_CHECK (!s_has (&r, "name=\"category\""));
    s_check_csp_clean (&r);
    s_free (&r);

    /*  Only the title changed: one update, the rest as it was. */
    json_t *same = json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "title", "Drill to lend",
                              "body", "Bosch, with bits.", "tags", "tools, garden", "label", "Hof 3",
                              "lat", "52.520000", "lng", "13.405000", "ttl_seconds", "");
    json_t *args = json_deep_copy (same);
    json_object_set_new (args, "title", json_string ("Drill to lend (with case)"));
    json_object_set_new (args, "client_id", json_string ("page-edit-1"));
    json_object_set_new (args, "lang", json_string ("de"));
    r = s_edit (&n, id, args, 1);
    HT_CHECK_EQ_INT (r.status, 303);
    char want [128];
    snprintf (want, sizeof want, "/post/%s?lang=de", id);
    HT_CHECK_EQ_STR (r.location, want);
    s_free (&r);
    json_t *post = s_get (&n, id);
    HT_CHECK_EQ_STR (json_string_value (json_object_get (post, "title")), "Drill to lend (with case)");
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (post, "history")), 1);
    HT_CHECK_EQ_INT (json_array_size (json_object_get (post, "tags")), 2);
    HT_CHECK_EQ_STR (json_string_value (json_object_get (json_object_get (post, "location"), "label")), "Hof 3");
    json_decref (post);
    /*  The same form again (a double tap): the same edit, not a second. */
    args = json_deep_copy (same);
    json_object_set_new (args, "title", json_string ("Drill to lend (with case)"));
    json_object_set_new (args, "client_id", json_string ("page-edit-1"));
    r = s_edit (&n, id, args, 1);
    HT_CHECK_EQ_INT (r.status, 303);
    s_free (&r);
    /*  Nothing changed: back to the post, nothing written. */
    args = json_deep_copy (same);
    json_object_set_new (args, "title", json_string ("Drill to lend (with case)"));
    r = s_edit (&n, id, args, 1);
    HT_CHECK_EQ_INT (r.status, 303);
    s_free (&r);
    post = s_get (&n, id);
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (post, "history")), 1);
    const char *expires_before = json_string_value (json_object_get (post, "expires_at"));
    char expires [40];
    snprintf (expires, sizeof expires, "%s", expires_before? expires_before: "");
    json_decref (post);

    /*  Clear the tags and the place, choose a new ttl. */
    r = s_edit (&n, id, json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
                                   "title", "Drill to lend (with case)", "body", "Bosch, with bits.",
                                   "tags", " ", "label", "", "lat", "", "lng", "", "ttl_seconds", "86400",
                                   "client_id", "page-edit-2"), 1);
    HT_CHECK_EQ_INT (r.status, 303);
    s_free (&r);
    post = s_get (&n, id);
    HT_CHECK_EQ_INT (json_array_size (json_object_get (post, "tags")), 0);
    HT_CHECK (json_object_get (post, "location") == NULL);
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (post, "history")), 2);
    HT_CHECK (strcmp (json_string_value (json_object_get (post, "expires_at")), expires) != 0);
    json_decref (post);

    /*  Status: the post and its card say edited, when, how often. */
    r = s_req (&n, "GET", post_path, NULL, NULL, 1);
    HT_CHECK (s_has (&r, "<dt>Edited</dt><dd><time datetime=\""));
    HT_CHECK (s_has (&r, "class=\"edited\">edited just now \xC2\xB7 2 edits</span>"));
    s_free (&r);
    r = s_req (&n, "GET", "/", json_pack ("{s:s}", "lang", "de"), NULL, 1);
    HT_CHECK (s_has (&r, "class=\"edited\">bearbeitet gerade eben \xC2\xB7 2 \xC3\x84nderungen</span>"));
    s_free (&r);

    /*  Errors beside the field, values kept, nothing written. */
    r = s_edit (&n, id, json_pack ("{s:s, s:s, s:s, s:s}", "title", "Kept title", "body", "B",
                                   "lat", "north", "lng", "13"), 1);
    HT_CHECK_EQ_INT (r.status, 400);
    HT_CHECK (s_has (&r, "The changes were not saved."));
    HT_CHECK (s_has (&r, "<p class=\"err\" id=\"err-5\">Latitude: must be a number</p>"));
    HT_CHECK (s_has (&r, "value=\"Kept title\"") && s_has (&r, "value=\"north\""));
    s_free (&r);
    r = s_edit (&n, id, json_pack ("{s:s, s:s, s:s}", "title", "x", "body", "B", "ttl_seconds", "soon"), 1);
    HT_CHECK_EQ_INT (r.status, 400);
    HT_CHECK (s_has (&r, "id=\"err-6\">Visible for: must be a whole number of seconds"));
    s_free (&r);
    r = s_edit (&n, id, json_pack ("{s:s, s:s}", "title", "   ", "body", "B"), 1);
    HT_CHECK_EQ_INT (r.status, 400);
    HT_CHECK (s_has (&r, "<p class=\"err\" id=\"err-2\">title"));
    s_free (&r);
    r = s_edit (&n, id, json_pack ("{s:s, s:s, s:s}", "title", "x", "body", "B", "ttl_seconds", "99999999999"), 1);
    HT_CHECK_EQ_INT (r.status, 400);
    HT_CHECK (s_has (&r, "<p class=\"err\" id=\"err-6\">ttl_seconds"));
    s_free (&r);
    post = s_get (&n, id);
    HT_CHECK_EQ_STR (json_string_value (json_object_get (post, "title")), "Drill to lend (with case)");
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (post, "history")), 2);
    json_decref (post);

    /*  Hostile values go in as text and come out escaped, in the form too. */
    r = s_edit (&n, id, json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s}",
                                   "title", "\"><script>alert(1)</script>", "body", "</textarea><b>x",
                                   "tags", "\"onfocus=alert(2)", "label", "'><img src=x onerror=alert(3)>",
                                   "lat", "1", "lng", "2"), 1);
    HT_CHECK_EQ_INT (r.status, 303);
    s_free (&r);
    r = s_req (&n, "GET", edit_href, NULL, NULL, 1);
    HT_CHECK_EQ_INT (r.status, 200);
    HT_CHECK (!s_has (&r, "<script>alert") && !s_has (&r, "<img src=x") && !s_has (&r, "</textarea><b>"));
    HT_CHECK (s_has (&r, "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
    HT_CHECK (s_has (&r, "&lt;/textarea&gt;&lt;b&gt;x</textarea>"));
    s_check_csp_clean (&r);
    s_free (&r);
    r = s_req (&n, "GET", post_path, NULL, NULL, 1);
    HT_CHECK (!s_has (&r, "<script>alert") && !s_has (&r, "<img src=x"));
    s_free (&r);

    /*  Without may_write: 403, nothing written. */
    r = s_edit (&n, id, json_pack ("{s:s, s:s}", "title", "Sneaky", "body", "B"), 0);
    HT_CHECK_EQ_INT (r.status, 403);
    s_free (&r);
    r = s_edit (&n, id, json_pack ("{s:s, s:s, s:s}", "title", "Sneaky", "body", "B", "csrf", "wrong"), 0);
    HT_CHECK_EQ_INT (r.status, 403);
    HT_CHECK (s_has (&r, "security token"));
    s_free (&r);
    post = s_get (&n, id);
    HT_CHECK (strcmp (json_string_value (json_object_get (post, "title")), "Sneaky") != 0);
    json_decref (post);
    r = s_req (&n, "PUT", edit_href, NULL, NULL, 1);
    HT_CHECK_EQ_INT (r.status, 405);
    s_free (&r);
    json_decref (same);
    free (id);
    s_close (&n);
}

/*  GET and POST of id's edit form are both refused with status and a page
    that says text. */
static void
s_check_edit_refused (s_node_t *n, const char *id, int status, const char *text)
{
    char href [128];
    snprintf (href, sizeof href, "/post/%s/edit", id);
    node_page_response_t r = s_req (n, "GET", href, NULL, NULL, 1);
    HT_CHECK_EQ_INT (r.status, status);
    HT_CHECK (s_has (&r, text));
    s_free (&r);
    r = s_edit (n, id, json_pack ("{s:s, s:s}", "title", "Mine now", "body", "B"), 1);
    HT_CHECK_EQ_INT (r.status, status);
    HT_CHECK (s_has (&r, text));
    s_free (&r);
}

/*  Another node's post and an expired one cannot be edited: no link, a
    page that says why on GET and POST; an expired post says who ended it,
    when and why. */
HT_TEST (test_edit_refused)
{
    s_node_t n;
    HT_CHECK_EQ_INT (s_open (&n), 0);
    char *theirs = s_foreign_post (&n, 0x42, "Their ladder");
    char *mine = s_post (&n, json_pack ("{s:s, s:s, s:s}", "category", "offer", "title", "My saw", "body", "B"));
    HT_CHECK (theirs != NULL && mine != NULL);
    if (!theirs || !mine) {
        free (theirs);
        free (mine);
        s_close (&n);
        return;
    }
    char path [128], href [128];
    snprintf (path, sizeof path, "/post/%s", theirs);
    snprintf (href, sizeof href, "/post/%s/edit", theirs);
    node_page_response_t r = s_req (&n, "GET", path, NULL, NULL, 1);
    HT_CHECK_EQ_INT (r.status, 200);
    HT_CHECK (s_has (&r, "Their ladder") && !s_has (&r, href));
    s_free (&r);
    r = s_req (&n, "GET", "/", NULL, NULL, 1);
    HT_CHECK (s_has (&r, "Their ladder") && !s_has (&r, href));
    s_free (&r);
    s_check_edit_refused (&n, theirs, 403, "Only the node that wrote a post may edit it");
    json_t *post = s_get (&n, theirs);
    HT_CHECK_EQ_STR (json_string_value (json_object_get (post, "title")), "Their ladder");
    json_decref (post);

    /*  Expired: ended by this node, withdrawn. */
    snprintf (path, sizeof path, "/post/%s/expire", mine);
    r = s_req (&n, "POST", path, json_pack ("{s:s, s:s}", "csrf", S_CSRF, "reason", "withdrawn"), NULL, 1);
    HT_CHECK_EQ_INT (r.status, 303);
    s_free (&r);
    snprintf (path, sizeof path, "/post/%s", mine);
    snprintf (href, sizeof href, "/post/%s/edit", mine);
    r = s_req (&n, "GET", path, NULL, NULL, 1);
    HT_CHECK (s_has (&r, "This post has expired (withdrawn). <span class=\"expired-by\">Ended by "));
    HT_CHECK (s_has (&r, "UTC</time></span>"));
    HT_CHECK (!s_has (&r, href));
    s_free (&r);
    r = s_req (&n, "GET", path, json_pack ("{s:s}", "lang", "de"), NULL, 1);
    HT_CHECK (s_has (&r, "(zur\xC3\xBC" "ckgezogen). <span class=\"expired-by\">Beendet von "));
    s_free (&r);
    s_check_edit_refused (&n, mine, 404, "can no longer be edited");
    r = s_req (&n, "GET", "/post/01ARZ3NDEKTSV4RRFFQ69G5FAV/edit", NULL, NULL, 1);
    HT_CHECK_EQ_INT (r.status, 404);
    s_free (&r);
    r = s_req (&n, "GET", "/post/%3Cb%3E/edit", NULL, NULL, 1);
    HT_CHECK_EQ_INT (r.status, 404);
    s_free (&r);
    free (theirs);
    free (mine);
    s_close (&n);
}

/*  Index of needle in the body, or -1. */
static long
s_at (const node_page_response_t *r, const char *needle)
{
    const char *p = r->body? strstr (r->body, needle): NULL;
    return p? (long) (p - r->body): -1;
}

/*  The near filter on / and /search: only posts within the radius, with
    their distance; nearest first on request; the filter rides along in
    "more", the chips, the forms and the language links; bad values are
    named beside their field (ours and the market's). */
HT_TEST (test_near)
{
    s_node_t n;
    HT_CHECK_EQ_INT (s_open (&n), 0);
    char *at = s_post (&n, json_pack ("{s:s, s:s, s:s, s:{s:f, s:f}}", "category", "offer",
        "title", "Ladder here", "body", "Ladder at the square.", "location", "lat", 52.52, "lng", 13.405));
    char *munich = s_post (&n, json_pack ("{s:s, s:s, s:s, s:{s:f, s:f}}", "category", "offer",
        "title", "Ladder far away", "body", "Ladder in Munich.", "location", "lat", 48.137, "lng", 11.575));
    char *nowhere = s_post (&n, json_pack ("{s:s, s:s, s:s}", "category", "offer",
        "title", "Ladder somewhere", "body", "Ladder without a place."));
    char *close = s_post (&n, json_pack ("{s:s, s:s, s:s, s:{s:f, s:f}}", "category", "offer",
        "title", "Ladder close by", "body", "Ladder a street away.", "location", "lat", 52.53, "lng", 13.41));
    HT_CHECK (at && munich && nowhere && close);

    json_t *near = json_pack ("{s:s, s:s, s:s}", "near_lat", "52.52", "near_lng", "13,405", "radius_km", "5");
    node_page_response_t r = s_req (&n, "GET", "/", json_deep_copy (near), NULL, 0);
    HT_CHECK_EQ_INT (r.status, 200);
    HT_CHECK (s_has (&r, "Ladder here") && s_has (&r, "Ladder close by"));
    HT_CHECK (!s_has (&r, "Ladder far away") && !s_has (&r, "Ladder somewhere"));
    HT_CHECK (s_has (&r, "class=\"dist\">0.0 km away</span>") && s_has (&r, "class=\"dist\">1.2 km away</span>"));
    HT_CHECK (s_at (&r, "Ladder close by") < s_at (&r, "Ladder here"));           /* newest first */
    HT_CHECK (s_has (&r, "id=\"near_lat\" name=\"near_lat\" maxlength=\"24\" inputmode=\"decimal\" value=\"52.52\""));
    HT_CHECK (s_has (&r, "<option value=\"newest\" selected>newest first</option>"));
    /*  The chips and the search box keep the place. */
    HT_CHECK (s_has (&r, "href=\"/?category=offer&amp;near_lat=52.52&amp;near_lng=13%2C405&amp;radius_km=5\""));
    HT_CHECK (s_has (&r, "<input type=\"hidden\" name=\"near_lat\" value=\"52.52\">"));
    HT_CHECK (s_has (&r, "\">\xC3\x97 anywhere</a>"));
    s_check_csp_clean (&r);
    s_free (&r);
    /*  Nearest first. */
    json_t *args = json_deep_copy (near);
    json_object_set_new (args, "order", json_string ("distance"));
    r = s_req (&n, "GET", "/", args, NULL, 0);
    HT_CHECK (s_at (&r, "Ladder here") >= 0 && s_at (&r, "Ladder here") < s_at (&r, "Ladder close by"));
    HT_CHECK (s_has (&r, "<option value=\"distance\" selected>nearest first</option>"));
    s_free (&r);
    /*  "More" carries the filter and the order; the language links too. */
    args = json_deep_copy (near);
    json_object_set_new (args, "order", json_string ("distance"));
    json_object_set_new (args, "limit", json_string ("1"));
    json_object_set_new (args, "lang", json_string ("de"));
    r = s_req (&n, "GET", "/", args, NULL, 0);
    HT_CHECK (s_has (&r, "Ladder here") && !s_has (&r, "Ladder close by"));
    HT_CHECK (s_has (&r, "class=\"more\" href=\"/?limit=51&amp;near_lat=52.52&amp;near_lng=13%2C405"
                         "&amp;radius_km=5&amp;order=distance&amp;lang=de\""));
    HT_CHECK (s_has (&r, "hreflang=\"en\" href=\"/?near_lat=52.52&amp;near_lng=13%2C405&amp;radius_km=5"
                         "&amp;order=distance&amp;lang=en\""));
    HT_CHECK (s_has (&r, "0,0 km entfernt") && s_has (&r, "In der N\xC3\xA4he von"));
    s_free (&r);
    /*  Search with the place. */
    args = json_deep_copy (near);
    json_object_set_new (args, "q", json_string ("ladder"));
    json_object_set_new (args, "order", json_string ("distance"));
    r = s_req (&n, "GET", "/search", args, NULL, 0);
    HT_CHECK_EQ_INT (r.status, 200);
    HT_CHECK (s_has (&r, "Ladder here") && s_has (&r, "Ladder close by"));
    HT_CHECK (!s_has (&r, "Ladder far away") && !s_has (&r, "Ladder somewhere"));
    HT_CHECK (s_at (&r, "Ladder here") < s_at (&r, "Ladder close by"));
    HT_CHECK (s_has (&r, "<input type=\"hidden\" name=\"q\" value=\"ladder\">"));
    s_free (&r);
    r = s_req (&n, "GET", "/search", json_pack ("{s:s}", "q", "ladder"), NULL, 0);
    HT_CHECK (s_has (&r, "Ladder far away") && s_has (&r, "Ladder somewhere") && !s_has (&r, "km away"));
    s_free (&r);

    /*  Bad values: ours, then the market's; named beside the field, kept, escaped. */
    static const struct { const char *lat, *lng, *radius, *err; } bad [] = {
        { "north", "13.4", "5", "id=\"err-7\">Latitude: must be a number" },
        { "52.5", "", "5", "id=\"err-8\">Longitude: must be a number" },
        { "52.5", "13.4", "0", "id=\"err-9\">Radius, km: must be a number of kilometres greater than 0" },
        { "52.5", "13.4", "", "id=\"err-9\">Radius, km:" },
        { "91", "13.4", "5", "id=\"err-7\">location_filter.center.lat must be within -90..90" },
        { "52.5", "200", "5", "id=\"err-8\">location_filter.center.lng must be within -180..180" },
        { "52.5", "13.4", "99999", "id=\"err-9\">location_filter.radius_km must be greater than 0" },
        { "\"><script>alert(1)</script>", "13.4", "5", "id=\"err-7\">Latitude: must be a number" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++)
        for (int search = 0; search < 2; search++) {
            args = json_pack ("{s:s, s:s, s:s}", "near_lat", bad [i].lat, "near_lng", bad [i].lng,
                              "radius_km", bad [i].radius);
            if (search)
                json_object_set_new (args, "q", json_string ("ladder"));
            r = s_req (&n, "GET", search? "/search": "/", args, NULL, 0);
            HT_CHECK_EQ_INT (r.status, 400);
            HT_CHECK (s_has (&r, bad [i].err));
            HT_CHECK (s_has (&r, "The place filter was not applied."));
            HT_CHECK (!s_has (&r, "Ladder here"));
            HT_CHECK (!s_has (&r, "<script>alert"));
            if (!s_has (&r, bad [i].err))
                fprintf (stderr, "near case %zu (%s): %s\n", i, search? "search": "/", r.body);
            s_free (&r);
        }
    json_decref (near);
    free (at);
    free (munich);
    free (nowhere);
    free (close);
    s_close (&n);
}

/*  Random paths, methods, arguments and headers (seeded; HEARTH_TEST_SEED
    replays one): every request gets an answer, valid UTF-8 (checked in
    s_req), no markup of the request's in it, and nothing is written
    without may_write. */
HT_TEST (test_random_requests)
{
    s_node_t n;
    HT_CHECK_EQ_INT (s_open (&n), 0);
    char *id = s_post (&n, json_pack ("{s:s, s:s, s:s}", "category", "offer", "title", "T", "body", "B"));
    uint64_t seed = getenv ("HEARTH_TEST_SEED")? strtoull (getenv ("HEARTH_TEST_SEED"), NULL, 10): 7;
    uint64_t rng = seed;
    static const char *const paths [] = { "/", "/search", "/new", "/node", "/post/", "/static/page.css",
                                          "/post/x/expire", "/%", "" };
    static const char *const methods [] = { "GET", "HEAD", "POST", "PUT", "" };
    static const char *const keys [] = { "category", "tag", "limit", "q", "lang", "title", "body", "tags",
                                         "lat", "lng", "label", "ttl_seconds", "client_id", "csrf", "reason",
                                         "near_lat", "near_lng", "radius_km", "order" };
    static const char alphabet [] = "<>\"'&=;,/%? abcXYZ019.-\xc3\xa4\xff\x80";
    for (int i = 0; i < 1500; i++) {
        char path [96], value [64];
        const char *base = paths [ht_splitmix64 (&rng) % (sizeof paths / sizeof paths [0])];
        size_t len = ht_splitmix64 (&rng) % 24;
        for (size_t k = 0; k < len; k++)
            value [k] = alphabet [ht_splitmix64 (&rng) % (sizeof alphabet - 1)];
        value [len] = '\0';
        if (strcmp (base, "/post/") == 0 && ht_splitmix64 (&rng) % 2)
            snprintf (path, sizeof path, "/post/%s%s", id,
                      (const char *[]) { "", "/expire", "/edit" } [ht_splitmix64 (&rng) % 3]);
        else
            snprintf (path, sizeof path, "%s%s", base, ht_splitmix64 (&rng) % 4? "": value);
        json_t *args = json_object ();
        int n_args = (int) (ht_splitmix64 (&rng) % 6);
        for (int a = 0; a < n_args; a++) {
            len = ht_splitmix64 (&rng) % 60;
            for (size_t k = 0; k < len; k++)
                value [k] = alphabet [ht_splitmix64 (&rng) % (sizeof alphabet - 1)];
            value [len] = '\0';
            json_object_set_new (args, keys [ht_splitmix64 (&rng) % (sizeof keys / sizeof keys [0])],
                                 json_stringn_nocheck (value, len));
        }
        const char *method = methods [ht_splitmix64 (&rng) % (sizeof methods / sizeof methods [0])];
        node_page_response_t r = s_req (&n, method, path, args, ht_splitmix64 (&rng) % 2? value: NULL, 0);
        HT_CHECK (r.status >= 200 && r.status < 600);
        HT_CHECK (r.status != 303);                       /* nothing written without may_write */
        HT_CHECK (!s_has (&r, "<>") && !s_has (&r, "<\"") && !s_has (&r, "<'"));
        s_free (&r);
    }
    HT_CHECK_EQ_INT (s_count_posts (&n), 1);
    free (id);
    s_close (&n);
}

/*  GET /login renders the token form node_http's POST /login takes; a
    client that may not write sees the way there on the views that write. */
HT_TEST (test_login)
{
    s_node_t n;
    HT_CHECK_EQ_INT (s_open (&n), 0);
    node_page_response_t r = s_req (&n, "GET", "/login", NULL, NULL, 0);
    HT_CHECK_EQ_INT (r.status, 200);
    HT_CHECK (s_has (&r, "method=\"post\" action=\"/login\""));
    HT_CHECK (s_has (&r, "type=\"password\" id=\"token\" name=\"token\""));
    HT_CHECK (s_has (&r, "http.token"));
    HT_CHECK (!s_has (&r, "may already write"));
    s_check_csp_clean (&r);
    s_free (&r);
    r = s_req (&n, "GET", "/login", json_pack ("{s:s}", "lang", "de"), NULL, 1);
    HT_CHECK (s_has (&r, "bereits schreiben") && s_has (&r, "Schreib-Token"));
    s_free (&r);
    r = s_req (&n, "POST", "/login", NULL, NULL, 0);       /* node_http's, never the page's */
    HT_CHECK_EQ_INT (r.status, 405);
    s_free (&r);
    /*  The status line and the post form show the way when the client cannot write. */
    r = s_req (&n, "GET", "/", NULL, NULL, 0);
    HT_CHECK (s_has (&r, "class=\"login\" href=\"/login\""));
    s_free (&r);
    r = s_req (&n, "GET", "/", NULL, NULL, 1);
    HT_CHECK (!s_has (&r, "/login"));
    s_free (&r);
    r = s_req (&n, "GET", "/new", NULL, NULL, 0);
    HT_CHECK (s_has (&r, "cannot write to this node yet"));
    s_free (&r);
    r = s_req (&n, "GET", "/new", NULL, NULL, 1);
    HT_CHECK (!s_has (&r, "cannot write to this node yet"));
    s_free (&r);
    s_close (&n);
}

int
main (void)
{
    HT_RUN (test_html_buffer);
    HT_RUN (test_views_render);
    HT_RUN (test_hostile_content);
    HT_RUN (test_language);
    HT_RUN (test_not_found_and_methods);
    HT_RUN (test_forbidden);
    HT_RUN (test_post_form_and_expire);
    HT_RUN (test_login);
    HT_RUN (test_edit_flow);
    HT_RUN (test_edit_refused);
    HT_RUN (test_near);
    HT_RUN (test_random_requests);
    return ht_summary ();
}
