/*  node_page.c — the marketplace web page (node_page.h; docs/page.md).

    Views (GET unless said):
      /                 newest posts, filters ?category= ?tag=, ?limit= ("more")
      /search?q=        lexical search (market.search)
      /post/ID          one post; its author (this node) gets an expire form
      /post/ID/expire   POST: market.expire, then 303 to /post/ID
      /new              the post form; POST: market.post, then 303 to /post/ID
      /node             node id, community, level, peers, health
      /login            the write-token form (POST /login is node_http's)
      /static/page.css  the style sheet (embedded; no inline style, so a
                        Content-Security-Policy of default-src 'self' holds)
    Every HTML view calls node.id and node.peers for the status line at the
    top. Every string of the interface is in s_strings, in English and
    German; the language comes from ?lang=de|en (then carried on every link
    and form the page renders) or else Accept-Language, default English.

    Everything from posts, peers or the request is written through
    node_html_text / node_html_url_part (node_html.h); only the program's
    own literals and numbers are written raw.
*/
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sodium.h>
#include "hearth_codec.h"
#include "hearth_error.h"
#include "node_html.h"
#include "node_page.h"

/*  The page's limits (docs/limits.md). Posts / shows at first, and what
    "more" adds each time: a screenful or two on a phone, ~33 kB of HTML.
    The list grows up to market.list's own cap (MARKET_LIST_MAX_LIMIT);
    older posts are found through the filters and search. */
#define NODE_PAGE_POSTS                50
#define NODE_PAGE_MAX_POSTS            500
/*  Results of a search (market.search's k; its cap is 100). */
#define NODE_PAGE_SEARCH_K             50
/*  A card shows this much of a post's body, bytes: three or four lines. */
#define NODE_PAGE_EXCERPT_BYTES        240
/*  Longest Accept-Language header read, bytes; a browser sends < 100. */
#define NODE_PAGE_ACCEPT_LANGUAGE_MAX  512

/* ---- strings ------------------------------------------------------------- */

enum { S_EN, S_DE, S_LANGS };
static const char *const s_lang_codes [S_LANGS] = { "en", "de" };

typedef enum {
    T_SITE, T_NEWEST, T_NEW, T_NODE, T_SEARCH, T_SEARCH_LABEL, T_ALL,
    T_OFFER, T_REQUEST, T_INFO, T_EMERGENCY,
    T_TAG, T_FILTER, T_ALL_TAGS, T_MORE, T_NO_POSTS, T_NO_MATCH,
    T_AGO, T_JUST_NOW, T_EXPIRES_IN, T_EXPIRED, T_BY, T_YOU,
    T_MIN, T_HOURS, T_DAYS,
    T_POSTED, T_EXPIRES, T_LOCATION, T_TAGS, T_AUTHOR,
    T_EXPIRE_TITLE, T_EXPIRE_BUTTON, T_FULFILLED, T_WITHDRAWN, T_EXPIRED_NOTE,
    T_F_CATEGORY, T_F_TITLE, T_F_BODY, T_F_TAGS, T_F_TAGS_HINT, T_F_LOCATION, T_F_LAT,
    T_F_LNG, T_F_LABEL, T_F_TTL, T_F_SUBMIT, T_F_CHOOSE, T_DAY1, T_DAYS3, T_DAYS7,
    T_DAYS14, T_DAYS30, T_FORM_FAILED,
    T_ERR_NUMBER, T_ERR_PAIR, T_ERR_TTL,
    T_NODE_ID, T_COMMUNITY, T_LEVEL, T_ADDRESS, T_PEERS, T_CONNECTED, T_NOT_CONNECTED,
    T_NO_PEERS, T_HEALTH, T_LINKS_UP, T_EVENTS, T_LAMPORT, T_LAST_SYNC, T_NEVER,
    T_ACTIVE_POSTS, T_STORAGE, T_LAST_SEEN, T_LAG, T_OUT, T_IN, T_NOT_LISTENING,
    T_NOT_FOUND, T_NOT_FOUND_TEXT, T_POST_NOT_FOUND, T_FORBIDDEN, T_FORBIDDEN_CSRF,
    T_FORBIDDEN_CLIENT, T_BAD_REQUEST, T_ERROR, T_METHOD, T_METHOD_TEXT,
    T_LOGIN, T_LOGIN_TEXT, T_LOGIN_TOKEN, T_LOGIN_BUTTON, T_LOGIN_ALREADY, T_LOGIN_HINT,
    T_RESULTS, T_BACK, T_LINKED_PEER, T_LINKED_PEERS, T_REASON, T_DONE, T_SHOW_POST,
    T_COUNT
} s_text_t;

static const char *const s_strings [T_COUNT][S_LANGS] = {
    [T_SITE]          = { "Hearth marketplace", "Hearth-Marktplatz" },
    [T_NEWEST]        = { "Newest", "Neueste" },
    [T_NEW]           = { "Post", "Inserieren" },
    [T_NODE]          = { "Node", "Knoten" },
    [T_SEARCH]        = { "Search", "Suchen" },
    [T_SEARCH_LABEL]  = { "Search posts", "Beitr\xC3\xA4ge durchsuchen" },
    [T_ALL]           = { "All", "Alle" },
    [T_OFFER]         = { "Offer", "Angebot" },
    [T_REQUEST]       = { "Request", "Gesuch" },
    [T_INFO]          = { "Info", "Info" },
    [T_EMERGENCY]     = { "Emergency", "Notfall" },
    [T_TAG]           = { "Tag", "Schlagwort" },
    [T_FILTER]        = { "Filter", "Filtern" },
    [T_ALL_TAGS]      = { "all tags", "alle Schlagw\xC3\xB6rter" },
    [T_MORE]          = { "More posts", "Weitere Beitr\xC3\xA4ge" },
    [T_NO_POSTS]      = { "No posts here yet.", "Hier gibt es noch keine Beitr\xC3\xA4ge." },
    [T_NO_MATCH]      = { "Nothing found.", "Nichts gefunden." },
    [T_AGO]           = { "%s ago", "vor %s" },
    [T_JUST_NOW]      = { "just now", "gerade eben" },
    [T_EXPIRES_IN]    = { "expires in %s", "l\xC3\xA4uft ab in %s" },
    [T_EXPIRED]       = { "expired", "abgelaufen" },
    [T_BY]            = { "by", "von" },
    [T_YOU]           = { "this node", "dieser Knoten" },
    [T_MIN]           = { "min", "Min." },
    [T_HOURS]         = { "h", "Std." },
    [T_DAYS]          = { "d", "Tg." },
    [T_POSTED]        = { "Posted", "Erstellt" },
    [T_EXPIRES]       = { "Expires", "L\xC3\xA4uft ab" },
    [T_LOCATION]      = { "Location", "Ort" },
    [T_TAGS]          = { "Tags", "Schlagw\xC3\xB6rter" },
    [T_AUTHOR]        = { "Author", "Verfasser" },
    [T_EXPIRE_TITLE]  = { "End this post", "Beitrag beenden" },
    [T_EXPIRE_BUTTON] = { "Expire post", "Beitrag beenden" },
    [T_FULFILLED]     = { "fulfilled", "erledigt" },
    [T_WITHDRAWN]     = { "withdrawn", "zur\xC3\xBC" "ckgezogen" },
    [T_EXPIRED_NOTE]  = { "This post has expired", "Dieser Beitrag ist abgelaufen" },
    [T_F_CATEGORY]    = { "Category", "Kategorie" },
    [T_F_TITLE]       = { "Title", "Titel" },
    [T_F_BODY]        = { "Text", "Text" },
    [T_F_TAGS]        = { "Tags", "Schlagw\xC3\xB6rter" },
    [T_F_TAGS_HINT]   = { "comma-separated, e.g. tools, garden",
                          "durch Kommas getrennt, z. B. werkzeug, garten" },
    [T_F_LOCATION]    = { "Location (optional)", "Ort (optional)" },
    [T_F_LAT]         = { "Latitude", "Breitengrad" },
    [T_F_LNG]         = { "Longitude", "L\xC3\xA4ngengrad" },
    [T_F_LABEL]       = { "Place name", "Ortsname" },
    [T_F_TTL]         = { "Visible for", "Sichtbar f\xC3\xBCr" },
    [T_F_SUBMIT]      = { "Publish", "Ver\xC3\xB6" "ffentlichen" },
    [T_F_CHOOSE]      = { "choose\xE2\x80\xA6", "w\xC3\xA4hlen\xE2\x80\xA6" },
    [T_DAY1]          = { "1 day", "1 Tag" },
    [T_DAYS3]         = { "3 days", "3 Tage" },
    [T_DAYS7]         = { "7 days", "7 Tage" },
    [T_DAYS14]        = { "14 days", "14 Tage" },
    [T_DAYS30]        = { "30 days", "30 Tage" },
    [T_FORM_FAILED]   = { "The post was not published.", "Der Beitrag wurde nicht ver\xC3\xB6" "ffentlicht." },
    [T_ERR_NUMBER]    = { "must be a number", "muss eine Zahl sein" },
    [T_ERR_PAIR]      = { "give both latitude and longitude, or neither",
                          "Breiten- und L\xC3\xA4ngengrad beide angeben oder keinen" },
    [T_ERR_TTL]       = { "must be a whole number of seconds", "muss eine ganze Zahl von Sekunden sein" },
    [T_NODE_ID]       = { "Node id", "Knoten-ID" },
    [T_COMMUNITY]     = { "Community", "Gemeinschaft" },
    [T_LEVEL]         = { "Level", "Stufe" },
    [T_ADDRESS]       = { "Peer address", "Adresse f\xC3\xBCr Nachbarn" },
    [T_PEERS]         = { "Peers", "Nachbarn" },
    [T_CONNECTED]     = { "connected", "verbunden" },
    [T_NOT_CONNECTED] = { "not connected", "nicht verbunden" },
    [T_NO_PEERS]      = { "No peers linked.", "Keine Nachbarn verbunden." },
    [T_HEALTH]        = { "Health", "Zustand" },
    [T_LINKS_UP]      = { "Links up", "Verbindungen" },
    [T_EVENTS]        = { "Events", "Ereignisse" },
    [T_LAMPORT]       = { "Lamport head", "Lamport-Stand" },
    [T_LAST_SYNC]     = { "Last sync", "Letzter Abgleich" },
    [T_NEVER]         = { "never", "nie" },
    [T_ACTIVE_POSTS]  = { "Active posts", "Aktive Beitr\xC3\xA4ge" },
    [T_STORAGE]       = { "Storage", "Speicher" },
    [T_LAST_SEEN]     = { "last seen", "zuletzt gesehen" },
    [T_LAG]           = { "Lamport difference", "Lamport-Abstand" },
    [T_OUT]           = { "outgoing", "ausgehend" },
    [T_IN]            = { "incoming", "eingehend" },
    [T_NOT_LISTENING] = { "not listening", "nicht erreichbar" },
    [T_NOT_FOUND]     = { "Not found", "Nicht gefunden" },
    [T_NOT_FOUND_TEXT]= { "There is no page at this address.", "Unter dieser Adresse gibt es keine Seite." },
    [T_POST_NOT_FOUND]= { "This node has no post with this id (it may not have arrived yet).",
                          "Dieser Knoten hat keinen Beitrag mit dieser ID (vielleicht ist er noch nicht angekommen)." },
    [T_FORBIDDEN]     = { "Not allowed", "Nicht erlaubt" },
    [T_FORBIDDEN_CSRF]= { "The form's security token does not match this page: it is old (the node restarted) "
                          "or was sent from another site. Reload the page and try again.",
                          "Das Sicherheitsmerkmal des Formulars passt nicht zu dieser Seite: es ist veraltet "
                          "(der Knoten wurde neu gestartet) oder kam von einer anderen Seite. Seite neu laden "
                          "und noch einmal versuchen." },
    [T_FORBIDDEN_CLIENT] = { "This browser may not change anything on this node: it has not logged in with the "
                             "node's write token, and the node does not let its address write without one (by "
                             "default only the node's own machine may), or the request came from another site.",
                             "Dieser Browser darf auf diesem Knoten nichts \xC3\xA4ndern: er hat sich nicht mit "
                             "dem Schreib-Token des Knotens angemeldet, und der Knoten l\xC3\xA4sst seine Adresse "
                             "ohne Token nicht schreiben (das darf sonst nur der Rechner des Knotens selbst), oder "
                             "die Anfrage kam von einer anderen Seite." },
    [T_BAD_REQUEST]   = { "Bad request", "Ung\xC3\xBCltige Anfrage" },
    [T_ERROR]         = { "Error", "Fehler" },
    [T_METHOD]        = { "Method not allowed", "Methode nicht erlaubt" },
    [T_METHOD_TEXT]   = { "This address does not take this kind of request.",
                          "Diese Adresse nimmt diese Art von Anfrage nicht an." },
    [T_RESULTS]       = { "Results for", "Ergebnisse f\xC3\xBCr" },
    [T_BACK]          = { "Back to the newest posts", "Zur\xC3\xBC" "ck zu den neuesten Beitr\xC3\xA4gen" },
    [T_LINKED_PEER]   = { "peer linked", "Nachbar verbunden" },
    [T_LINKED_PEERS]  = { "peers linked", "Nachbarn verbunden" },
    [T_REASON]        = { "Reason", "Grund" },
    [T_LOGIN]         = { "Log in to write", "Anmelden zum Schreiben" },
    [T_LOGIN_TEXT]    = { "This node lets this browser read but not write (by default only the node's own "
                          "machine may write). To post or expire posts from here, enter the node's write token "
                          "once: the text in the file http.token in the node's data dir (on the node's "
                          "machine: cat DIR/http.token).",
                          "Dieser Knoten l\xC3\xA4sst diesen Browser lesen, aber nicht schreiben (das darf "
                          "sonst nur der Rechner des Knotens selbst). Um von hier aus Beitr\xC3\xA4ge zu "
                          "schreiben oder zu beenden, einmal das Schreib-Token des Knotens eingeben: den Text "
                          "der Datei http.token im Datenverzeichnis des Knotens (auf dessen Rechner: "
                          "cat DIR/http.token)." },
    [T_LOGIN_TOKEN]   = { "Write token", "Schreib-Token" },
    [T_LOGIN_BUTTON]  = { "Log in", "Anmelden" },
    [T_LOGIN_ALREADY] = { "This browser may already write to this node.",
                          "Dieser Browser darf auf diesem Knoten bereits schreiben." },
    [T_LOGIN_HINT]    = { "This browser cannot write to this node yet.",
                          "Dieser Browser darf auf diesem Knoten noch nicht schreiben." },
    [T_DONE]          = { "Done.", "Erledigt." },
    [T_SHOW_POST]     = { "Show the post", "Beitrag anzeigen" },
};

/*  The four categories: wire name and label. */
static const struct {
    const char *name;
    s_text_t    label;
} s_categories [] = {
    { "offer", T_OFFER }, { "request", T_REQUEST }, { "info", T_INFO }, { "emergency", T_EMERGENCY }
};
#define S_N_CATEGORIES (sizeof s_categories / sizeof s_categories [0])

/*  The style sheet, served at /static/page.css. Single column, sized for a
    360 px phone first; tap targets at least 44 px; long words break. */
static const char s_css [] =
    "*{box-sizing:border-box}\n"
    "html{-webkit-text-size-adjust:100%;text-size-adjust:100%}\n"
    "body{margin:0;font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
    "color:#1d2327;background:#f5f3ee;overflow-wrap:anywhere}\n"
    "a{color:#0b57a4}\n"
    "header.top{background:#2f4f3a;color:#fff}\n"
    "header.top a{color:#fff}\n"
    ".bar{max-width:46rem;margin:0 auto;padding:.25rem .75rem;display:flex;flex-wrap:wrap;"
    "align-items:center;gap:0 .5rem}\n"
    ".brand{font-weight:700;font-size:1.15rem;text-decoration:none;margin-right:auto;"
    "padding:.6rem 0}\n"
    "nav.main a,.langs a{display:inline-block;padding:.6rem .5rem;min-height:44px;"
    "text-decoration:none}\n"
    "nav.main a.on{text-decoration:underline}\n"
    ".langs a.on{font-weight:700}\n"
    ".status{max-width:46rem;margin:0 auto;padding:0 .75rem .4rem;font-size:.85rem;opacity:.9}\n"
    ".dot{display:inline-block;width:.6rem;height:.6rem;border-radius:50%;background:#c0392b;"
    "margin-right:.3rem}\n"
    ".dot.up{background:#3fb950}\n"
    "main{max-width:46rem;margin:0 auto;padding:.5rem .75rem 2rem}\n"
    "h1{font-size:1.4rem;line-height:1.25;margin:.75rem 0}\n"
    "h2{font-size:1.1rem;line-height:1.3;margin:.25rem 0}\n"
    "form.search{display:flex;gap:.5rem;margin:.75rem 0}\n"
    "form.search input{flex:1;min-width:0}\n"
    "input,select,textarea,button{font:inherit;max-width:100%}\n"
    "input,select,textarea{min-height:44px;padding:.5rem;border:1px solid #9aa0a6;"
    "border-radius:.4rem;background:#fff;color:inherit}\n"
    "textarea{min-height:9rem;width:100%}\n"
    "button,.button{min-height:44px;padding:.5rem 1rem;border:0;border-radius:.4rem;"
    "background:#2f6f4a;color:#fff;font-weight:600;cursor:pointer}\n"
    "button.danger{background:#a4282b}\n"
    ".chips{display:flex;flex-wrap:wrap;gap:.4rem;margin:.5rem 0}\n"
    ".chip{display:inline-block;min-height:44px;padding:.55rem .9rem;border-radius:999px;"
    "background:#fff;border:1px solid #c9c4b8;text-decoration:none;color:inherit}\n"
    ".chip.on{background:#2f4f3a;color:#fff;border-color:#2f4f3a}\n"
    "form.tagform{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin:.5rem 0}\n"
    "form.tagform input[type=text]{flex:1;min-width:8rem}\n"
    ".card{background:#fff;border-radius:.6rem;padding:.75rem 1rem;margin:.75rem 0;"
    "box-shadow:0 1px 3px rgba(0,0,0,.12)}\n"
    ".card h2 a{text-decoration:none;color:inherit}\n"
    ".card h2 a:hover{text-decoration:underline}\n"
    ".excerpt{margin:.25rem 0;color:#333}\n"
    ".meta,.foot{font-size:.85rem;color:#555;display:flex;flex-wrap:wrap;gap:.15rem .75rem;"
    "align-items:center}\n"
    ".cat{display:inline-block;padding:.05rem .5rem;border-radius:.3rem;font-weight:600;"
    "font-size:.8rem;background:#e4e2dc}\n"
    ".cat-offer{background:#d8efdc}.cat-request{background:#fbefc9}"
    ".cat-info{background:#d7e7f7}.cat-emergency{background:#f8d3d5;color:#7a1020}\n"
    ".tags{display:flex;flex-wrap:wrap;gap:.3rem;margin:.4rem 0;padding:0;list-style:none}\n"
    ".tag{display:inline-block;padding:.35rem .6rem;min-height:2rem;border-radius:.3rem;"
    "background:#efede7;text-decoration:none;font-size:.9rem}\n"
    ".body{white-space:pre-wrap;margin:.75rem 0}\n"
    ".more{display:block;text-align:center;padding:.75rem;margin:1rem 0;background:#fff;"
    "border-radius:.6rem;min-height:44px}\n"
    ".alert{background:#fde8e8;border:1px solid #f0a8a8;color:#7a1020;padding:.75rem 1rem;"
    "border-radius:.5rem;margin:.75rem 0}\n"
    ".note{background:#fff7da;border:1px solid #ecd27a;padding:.75rem 1rem;border-radius:.5rem;"
    "margin:.75rem 0}\n"
    ".field{margin:0 0 1rem}\n"
    ".field label,.field legend{display:block;font-weight:600;margin-bottom:.25rem}\n"
    ".field input,.field select{width:100%}\n"
    ".field .hint{font-size:.85rem;color:#555}\n"
    ".field .err{color:#a4282b;font-weight:600;margin:.25rem 0 0}\n"
    ".field.bad input,.field.bad select,.field.bad textarea{border-color:#a4282b;border-width:2px}\n"
    "fieldset{border:1px solid #c9c4b8;border-radius:.5rem;padding:.5rem .75rem}\n"
    "dl.facts{display:grid;grid-template-columns:minmax(7rem,auto) 1fr;gap:.25rem .75rem;margin:.5rem 0}\n"
    "dl.facts dt{font-weight:600}\n"
    "dl.facts dd{margin:0}\n"
    "ul.peers{list-style:none;padding:0}\n"
    "ul.peers li{background:#fff;border-radius:.5rem;padding:.5rem .75rem;margin:.4rem 0}\n"
    "code{font-size:.85em}\n"
    "@media (min-width:40rem){.field.half{display:inline-block;width:49%}}\n";

/* ---- the request's context --------------------------------------------------- */

struct _node_page_t {
    node_bus_t *bus;                 /* borrowed */
};

typedef struct {
    node_page_t               *self;
    const node_page_request_t *req;
    node_html_t               *h;          /* owned */
    int                        lang;       /* S_EN or S_DE */
    int                        lang_explicit; /* ?lang= given: carry it on links */
    json_t                    *id;         /* owned: node.id output, or NULL */
    json_t                    *peers;      /* owned: node.peers output, or NULL */
    uint64_t                   now_ms;
} s_ctx_t;

/*  What a view answers for a method it does not take (not an error code). */
#define S_WRONG_METHOD 1

static const char *
s_t (const s_ctx_t *ctx, s_text_t which)
{
    return s_strings [which][ctx->lang];
}

static int
s_is_get (const s_ctx_t *ctx)
{
    const char *m = ctx->req->method;
    return !m || strcmp (m, "GET") == 0 || strcmp (m, "HEAD") == 0;
}

/*  A string argument of the request, or NULL. */
static const char *
s_arg (const s_ctx_t *ctx, const char *name)
{
    const json_t *args = ctx->req->args;
    return args? json_string_value (json_object_get (args, name)): NULL;
}

/*  The argument, or NULL when it is absent or empty. */
static const char *
s_arg_set (const s_ctx_t *ctx, const char *name)
{
    const char *v = s_arg (ctx, name);
    return v && *v? v: NULL;
}

/*  A string field of a JSON object, or NULL. */
static const char *
s_str (const json_t *obj, const char *key)
{
    return json_string_value (json_object_get (obj, key));
}

/*  A JSON string of untrusted text as it came (the market checks UTF-8
    and answers bad_request; jansson's own check would fail as OOM). */
static json_t *
s_jstr (const char *text)
{
    return json_stringn_nocheck (text, strlen (text));
}

/*  Call a capability; input is stolen. */
static int
s_call (s_ctx_t *ctx, const char *capability, json_t *input, json_t **output, char **message)
{
    *output = NULL;
    *message = NULL;
    if (!input)
        return HEARTH_ENOMEM;
    int rc = node_bus_call (ctx->self->bus, capability, input, output, message);
    json_decref (input);
    if (rc == HEARTH_OK && !*output)
        rc = HEARTH_ENOMEM;
    return rc;
}

/*  The language: ?lang= first, then the best of de/en in Accept-Language
    (by q value, first wins ties), else English. */
static void
s_choose_language (s_ctx_t *ctx)
{
    ctx->lang = S_EN;
    const char *lang = s_arg (ctx, "lang");
    for (int i = 0; lang && i < S_LANGS; i++)
        if (strcmp (lang, s_lang_codes [i]) == 0) {
            ctx->lang = i;
            ctx->lang_explicit = 1;
            return;
        }
    const char *al = ctx->req->accept_language;
    if (!al)
        return;
    double best = 0;
    size_t n = strnlen (al, NODE_PAGE_ACCEPT_LANGUAGE_MAX);
    const char *p = al, *end = al + n;
    while (p < end) {
        const char *comma = memchr (p, ',', (size_t) (end - p));
        const char *item_end = comma? comma: end;
        while (p < item_end && (*p == ' ' || *p == '\t'))
            p++;
        /*  The primary subtag: letters up to '-', ';' or the end. */
        const char *tag_end = p;
        while (tag_end < item_end && *tag_end != '-' && *tag_end != ';' && *tag_end != ' ')
            tag_end++;
        double q = 1.0;
        const char *semi = memchr (p, ';', (size_t) (item_end - p));
        if (semi) {
            const char *qp = semi + 1;
            while (qp < item_end && *qp == ' ')
                qp++;
            if (item_end - qp >= 2 && qp [0] == 'q' && qp [1] == '=') {
                char num [8] = { 0 };
                size_t k = (size_t) (item_end - qp - 2);
                memcpy (num, qp + 2, k < sizeof num - 1? k: sizeof num - 1);
                q = strtod (num, NULL);
                if (!(q >= 0 && q <= 1))
                    q = 0;
            }
        }
        for (int i = 0; i < S_LANGS; i++)
            if (tag_end - p == 2 && strncasecmp (p, s_lang_codes [i], 2) == 0 && q > best) {
                best = q;
                ctx->lang = i;
            }
        p = comma? comma + 1: end;
    }
}

/* ---- small formatters ----------------------------------------------------------- */

/*  Days from 1970-01-01 of a civil date (proleptic Gregorian). */
static int64_t
s_days_from_civil (int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0? y: y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2? -3: 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/*  "YYYY-MM-DDTHH:MM:SS[.mmm]Z" -> unix ms; 0 and *ms, or -1. */
static int
s_parse_time (const char *text, uint64_t *ms)
{
    int y, mo, d, h, mi, s;
    int used = 0;
    if (!text || sscanf (text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &used) != 6
    ||  y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
        return -1;
    int64_t frac = 0;
    const char *p = text + used;
    if (*p == '.') {
        int digits = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, digits++)
            if (digits < 3)
                frac = frac * 10 + (*p - '0');
        for (; digits < 3; digits++)
            frac *= 10;
    }
    if (*p != 'Z')
        return -1;
    int64_t days = s_days_from_civil (y, mo, d);
    *ms = (uint64_t) ((days * 86400 + h * 3600 + mi * 60 + s) * 1000 + frac);
    return 0;
}

/*  A duration as "5 min", "3 h", "2 d" (German units in German), rounded
    to the nearest unit: a 7-day ttl reads "7 d" just after posting. */
static void
s_duration (const s_ctx_t *ctx, uint64_t seconds, char *out, size_t cap)
{
    if (seconds < 3600 - 30)
        snprintf (out, cap, "%llu %s", (unsigned long long) (seconds < 90? 1: (seconds + 30) / 60),
                  s_t (ctx, T_MIN));
    else if (seconds < 2 * 86400 - 1800)
        snprintf (out, cap, "%llu %s", (unsigned long long) ((seconds + 1800) / 3600), s_t (ctx, T_HOURS));
    else
        snprintf (out, cap, "%llu %s", (unsigned long long) ((seconds + 43200) / 86400), s_t (ctx, T_DAYS));
}

/*  Append "5 min ago", or "just now" under a minute. */
static void
s_ago (s_ctx_t *ctx, uint64_t seconds)
{
    if (seconds < 60) {
        node_html_raw (ctx->h, s_t (ctx, T_JUST_NOW));
        return;
    }
    char d [48], line [96];
    s_duration (ctx, seconds, d, sizeof d);
    snprintf (line, sizeof line, s_t (ctx, T_AGO), d);
    node_html_raw (ctx->h, line);
}

/*  Append the age of a past time (RFC 3339 text); nothing if unparsable. */
static void
s_age (s_ctx_t *ctx, const char *when)
{
    uint64_t ms;
    if (s_parse_time (when, &ms))
        return;
    s_ago (ctx, ms < ctx->now_ms? (ctx->now_ms - ms) / 1000: 0);
}

/*  Append a time (RFC 3339 text) as "2026-12-07 05:14 UTC" in a <time>
    element, or the text as it came when it does not parse. */
static void
s_when (s_ctx_t *ctx, const char *when)
{
    uint64_t ms;
    if (s_parse_time (when, &ms)) {
        node_html_text (ctx->h, when);
        return;
    }
    time_t t = (time_t) (ms / 1000);
    struct tm tm;
    char text [40];
    if (!gmtime_r (&t, &tm) || !strftime (text, sizeof text, "%Y-%m-%d %H:%M UTC", &tm)) {
        node_html_text (ctx->h, when);
        return;
    }
    node_html_raw (ctx->h, "<time datetime=\"");
    node_html_text (ctx->h, when);
    node_html_raw (ctx->h, "\">");
    node_html_raw (ctx->h, text);
    node_html_raw (ctx->h, "</time>");
}

/*  Append "expires in 6 d" or "expired". */
static void
s_expiry (s_ctx_t *ctx, const char *when, int expired)
{
    uint64_t ms;
    if (expired || (!s_parse_time (when, &ms) && ms <= ctx->now_ms)) {
        node_html_raw (ctx->h, s_t (ctx, T_EXPIRED));
        return;
    }
    if (s_parse_time (when, &ms))
        return;
    char d [48], line [96];
    s_duration (ctx, (ms - ctx->now_ms) / 1000, d, sizeof d);
    snprintf (line, sizeof line, s_t (ctx, T_EXPIRES_IN), d);
    node_html_raw (ctx->h, line);
}

/*  The short id of an "ed25519:..." node id, without the prefix, escaped. */
static void
s_short_id (s_ctx_t *ctx, const char *node_id)
{
    uint8_t key [HEARTH_KEY_BYTES];
    if (node_id && hearth_node_id_parse (node_id, key) == 0) {
        char short_id [HEARTH_SHORT_ID_SIZE];
        hearth_short_id_format (key, short_id);
        node_html_text (ctx->h, short_id + strlen (HEARTH_NODE_ID_PREFIX));
    }
    else
        node_html_excerpt (ctx->h, node_id, 24);
}

/*  The category's label, or the escaped name of one the page does not know. */
static void
s_category_label (s_ctx_t *ctx, const char *name)
{
    for (size_t i = 0; i < S_N_CATEGORIES; i++)
        if (name && strcmp (name, s_categories [i].name) == 0) {
            node_html_raw (ctx->h, s_t (ctx, s_categories [i].label));
            return;
        }
    node_html_text (ctx->h, name);
}

static int
s_category_known (const char *name)
{
    for (size_t i = 0; i < S_N_CATEGORIES; i++)
        if (name && strcmp (name, s_categories [i].name) == 0)
            return 1;
    return 0;
}

/* ---- links ---------------------------------------------------------------------- */

/*  Append a URL: path (trusted; ID segments already encoded), then the
    query pairs (key literal, value untrusted; NULL or empty values left
    out) from the NULL-terminated list, then lang when it was chosen. */
static void
s_url (s_ctx_t *ctx, const char *path, ...)
{
    node_html_raw (ctx->h, path);
    int first = strchr (path, '?') == NULL;
    va_list ap;
    va_start (ap, path);
    const char *key;
    while ((key = va_arg (ap, const char *))) {
        const char *value = va_arg (ap, const char *);
        if (!value || !*value)
            continue;
        node_html_raw (ctx->h, first? "?": "&amp;");
        node_html_raw (ctx->h, key);
        node_html_raw (ctx->h, "=");
        node_html_url_part (ctx->h, value);
        first = 0;
    }
    va_end (ap);
    if (ctx->lang_explicit) {
        node_html_raw (ctx->h, first? "?lang=": "&amp;lang=");
        node_html_raw (ctx->h, s_lang_codes [ctx->lang]);
    }
}

/*  Append the path of a post, "/post/ID" (ID encoded). */
static void
s_post_path (s_ctx_t *ctx, const char *id)
{
    node_html_raw (ctx->h, "/post/");
    node_html_url_part (ctx->h, id);
}

/*  The hidden fields every form carries: lang (when chosen) and, on POST
    forms, csrf. */
static void
s_hidden (s_ctx_t *ctx, int with_csrf)
{
    if (ctx->lang_explicit) {
        node_html_raw (ctx->h, "<input type=\"hidden\" name=\"lang\" value=\"");
        node_html_raw (ctx->h, s_lang_codes [ctx->lang]);
        node_html_raw (ctx->h, "\">");
    }
    if (with_csrf) {
        node_html_raw (ctx->h, "<input type=\"hidden\" name=\"csrf\" value=\"");
        node_html_text (ctx->h, ctx->req->csrf_token);
        node_html_raw (ctx->h, "\">");
    }
}

/*  A note that this client cannot write yet, with the way to log in (on
    the views that have a write form, when may_write is 0 on a GET). */
static void
s_write_hint (s_ctx_t *ctx)
{
    if (ctx->req->may_write || !s_is_get (ctx))
        return;
    node_html_raw (ctx->h, "<p class=\"note\">");
    node_html_raw (ctx->h, s_t (ctx, T_LOGIN_HINT));
    node_html_raw (ctx->h, " <a href=\"");
    s_url (ctx, "/login", NULL);
    node_html_raw (ctx->h, "\">");
    node_html_raw (ctx->h, s_t (ctx, T_LOGIN));
    node_html_raw (ctx->h, "</a></p>");
}

/* ---- the frame of every page -------------------------------------------------------- */

/*  node.id and node.peers for the status line (failures leave them NULL:
    the page still renders). */
static void
s_load_node (s_ctx_t *ctx)
{
    char *message = NULL;
    if (s_call (ctx, "node.id", json_object (), &ctx->id, &message) != HEARTH_OK)
        ctx->id = NULL;
    free (message);
    message = NULL;
    if (s_call (ctx, "node.peers", json_object (), &ctx->peers, &message) != HEARTH_OK)
        ctx->peers = NULL;
    free (message);
}

/*  Peers with at least one connected link (a peer can have one in and
    one out link; node.peers is bounded, so the quadratic check is small). */
static size_t
s_peers_connected (const s_ctx_t *ctx)
{
    const json_t *links = json_object_get (ctx->peers, "peers");
    size_t up = 0, i;
    json_t *link;
    json_array_foreach (links, i, link) {
        const char *id = s_str (link, "node_id");
        if (!id || !json_is_true (json_object_get (link, "connected")))
            continue;
        int seen = 0;
        for (size_t k = 0; k < i && !seen; k++) {
            const json_t *other = json_array_get (links, k);
            const char *other_id = s_str (other, "node_id");
            seen = other_id && strcmp (other_id, id) == 0 && json_is_true (json_object_get (other, "connected"));
        }
        up += !seen;
    }
    return up;
}

/*  The page's top: head, the bar (brand, navigation, languages), the
    status line, the search box, then <main>. title is untrusted text.
    nav_on: which navigation entry is current (T_NEWEST, T_NEW, T_NODE or
    T_COUNT for none). lang_path: where the language links go (trusted). */
static void
s_begin (s_ctx_t *ctx, const char *title, s_text_t nav_on, const char *lang_path)
{
    node_html_t *h = ctx->h;
    node_html_raw (h, "<!DOCTYPE html>\n<html lang=\"");
    node_html_raw (h, s_lang_codes [ctx->lang]);
    node_html_raw (h, "\"><head><meta charset=\"utf-8\">"
                      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                      "<meta name=\"referrer\" content=\"same-origin\"><title>");
    if (title) {
        node_html_excerpt (h, title, 80);
        node_html_raw (h, " \xE2\x80\x93 ");
    }
    node_html_raw (h, s_t (ctx, T_SITE));
    node_html_raw (h, "</title><link rel=\"stylesheet\" href=\"/static/page.css\"></head>\n<body>"
                      "<header class=\"top\"><div class=\"bar\"><a class=\"brand\" href=\"");
    s_url (ctx, "/", NULL);
    node_html_raw (h, "\">Hearth</a><nav class=\"main\">");
    static const struct { const char *path; s_text_t label; } nav [] = {
        { "/", T_NEWEST }, { "/new", T_NEW }, { "/node", T_NODE }
    };
    for (size_t i = 0; i < sizeof nav / sizeof nav [0]; i++) {
        node_html_raw (h, nav [i].label == nav_on? "<a class=\"on\" href=\"": "<a href=\"");
        s_url (ctx, nav [i].path, NULL);
        node_html_raw (h, "\">");
        node_html_raw (h, s_t (ctx, nav [i].label));
        node_html_raw (h, "</a>");
    }
    node_html_raw (h, "</nav><span class=\"langs\">");
    static const char *const names [S_LANGS] = { "EN", "DE" };
    for (int i = 0; i < S_LANGS; i++) {
        node_html_raw (h, i == ctx->lang? "<a class=\"on\" hreflang=\"": "<a hreflang=\"");
        node_html_raw (h, s_lang_codes [i]);
        node_html_raw (h, "\" href=\"");
        node_html_raw (h, lang_path? lang_path: "/");
        node_html_raw (h, strchr (lang_path? lang_path: "/", '?')? "&amp;lang=": "?lang=");
        node_html_raw (h, s_lang_codes [i]);
        node_html_raw (h, "\">");
        node_html_raw (h, names [i]);
        node_html_raw (h, "</a>");
    }
    node_html_raw (h, "</span></div><div class=\"status\">");
    size_t up = s_peers_connected (ctx);
    node_html_raw (h, up? "<span class=\"dot up\"></span>": "<span class=\"dot\"></span>");
    node_html_raw (h, s_t (ctx, T_NODE));
    node_html_raw (h, " <a href=\"");
    s_url (ctx, "/node", NULL);
    node_html_raw (h, "\">");
    s_short_id (ctx, s_str (ctx->id, "node_id"));
    node_html_printf (h, "</a> \xC2\xB7 %zu %s", up, s_t (ctx, up == 1? T_LINKED_PEER: T_LINKED_PEERS));
    /*  On a GET, may_write says whether this client may write at all. */
    if (!ctx->req->may_write && s_is_get (ctx)) {
        node_html_raw (h, " \xC2\xB7 <a class=\"login\" href=\"");
        s_url (ctx, "/login", NULL);
        node_html_raw (h, "\">");
        node_html_raw (h, s_t (ctx, T_LOGIN));
        node_html_raw (h, "</a>");
    }
    node_html_raw (h, "</div></header>\n<main>");
}

/*  The search box (on / and /search); q is untrusted. */
static void
s_search_form (s_ctx_t *ctx, const char *q)
{
    node_html_t *h = ctx->h;
    node_html_raw (h, "<form class=\"search\" role=\"search\" action=\"/search\" method=\"get\">");
    s_hidden (ctx, 0);
    node_html_raw (h, "<input type=\"search\" name=\"q\" aria-label=\"");
    node_html_raw (h, s_t (ctx, T_SEARCH_LABEL));
    node_html_raw (h, "\" placeholder=\"");
    node_html_raw (h, s_t (ctx, T_SEARCH_LABEL));
    node_html_raw (h, "\" value=\"");
    node_html_text (h, q);
    node_html_raw (h, "\"><button type=\"submit\">");
    node_html_raw (h, s_t (ctx, T_SEARCH));
    node_html_raw (h, "</button></form>");
}

/*  Finish the page and hand the buffer to resp. */
static int
s_finish (s_ctx_t *ctx, int status, node_page_response_t *resp)
{
    node_html_raw (ctx->h, "</main></body></html>\n");
    size_t len;
    char *body = node_html_take (ctx->h, &len);
    if (!body)
        return HEARTH_ENOMEM;
    resp->status = status;
    resp->content_type = "text/html; charset=utf-8";
    resp->body = body;
    resp->body_len = len;
    return HEARTH_OK;
}

/*  A whole page saying what went wrong: title and text are the program's
    strings; detail (untrusted, may be NULL) is shown below. */
static int
s_problem (s_ctx_t *ctx, int status, s_text_t title, s_text_t text, const char *detail,
           node_page_response_t *resp)
{
    s_begin (ctx, s_t (ctx, title), T_COUNT, "/");
    node_html_raw (ctx->h, "<h1>");
    node_html_raw (ctx->h, s_t (ctx, title));
    node_html_raw (ctx->h, "</h1><p class=\"alert\" role=\"alert\">");
    node_html_raw (ctx->h, s_t (ctx, text));
    if (detail) {
        node_html_raw (ctx->h, "<br><code>");
        node_html_text (ctx->h, detail);
        node_html_raw (ctx->h, "</code>");
    }
    node_html_raw (ctx->h, "</p><p><a href=\"");
    s_url (ctx, "/", NULL);
    node_html_raw (ctx->h, "\">");
    node_html_raw (ctx->h, s_t (ctx, T_BACK));
    node_html_raw (ctx->h, "</a></p>");
    return s_finish (ctx, status, resp);
}

/*  HTTP status for a capability's error. */
static int
s_status_of (int rc)
{
    switch (rc) {
        case HEARTH_EINVAL: case HEARTH_ETOOBIG: case HEARTH_EDECODE: case HEARTH_ESCHEMA:
        case HEARTH_EEXISTS:
            return 400;
        case HEARTH_ENOTFOUND:
            return 404;
        case HEARTH_EUNAUTHORIZED: case HEARTH_EREVOKED:
            return 403;
        case HEARTH_ERATE:
            return 429;
        case HEARTH_ECAPACITY: case HEARTH_ENOSPC: case HEARTH_EUNAVAILABLE: case HEARTH_ETIMEOUT:
            return 503;
        default:
            return 500;
    }
}

/*  A capability failed: a page with its status and message. */
static int
s_failed (s_ctx_t *ctx, int rc, const char *message, node_page_response_t *resp)
{
    if (rc == HEARTH_ENOMEM)
        return rc;
    int status = s_status_of (rc);
    s_text_t title = status == 400? T_BAD_REQUEST: status == 404? T_NOT_FOUND
                   : status == 403? T_FORBIDDEN: T_ERROR;
    s_begin (ctx, s_t (ctx, title), T_COUNT, "/");
    node_html_raw (ctx->h, "<h1>");
    node_html_raw (ctx->h, s_t (ctx, title));
    node_html_raw (ctx->h, "</h1><p class=\"alert\" role=\"alert\">");
    node_html_text (ctx->h, message? message: hearth_strerror (rc));
    node_html_raw (ctx->h, "</p><p><a href=\"");
    s_url (ctx, "/", NULL);
    node_html_raw (ctx->h, "\">");
    node_html_raw (ctx->h, s_t (ctx, T_BACK));
    node_html_raw (ctx->h, "</a></p>");
    return s_finish (ctx, status, resp);
}

/*  The 403 of a write without may_write, saying why: a form whose csrf
    field does not match, or a client that may not write at all. */
static int
s_forbidden (s_ctx_t *ctx, node_page_response_t *resp)
{
    const char *sent = s_arg (ctx, "csrf"), *want = ctx->req->csrf_token;
    int match = sent && want && strlen (sent) == strlen (want)
             && sodium_memcmp (sent, want, strlen (want)) == 0;
    if (!match)
        return s_problem (ctx, 403, T_FORBIDDEN, T_FORBIDDEN_CSRF, NULL, resp);
    s_begin (ctx, s_t (ctx, T_FORBIDDEN), T_COUNT, "/");
    node_html_raw (ctx->h, "<h1>");
    node_html_raw (ctx->h, s_t (ctx, T_FORBIDDEN));
    node_html_raw (ctx->h, "</h1><p class=\"alert\" role=\"alert\">");
    node_html_raw (ctx->h, s_t (ctx, T_FORBIDDEN_CLIENT));
    node_html_raw (ctx->h, "</p><p><a href=\"");
    s_url (ctx, "/login", NULL);
    node_html_raw (ctx->h, "\">");
    node_html_raw (ctx->h, s_t (ctx, T_LOGIN));
    node_html_raw (ctx->h, "</a> \xC2\xB7 <a href=\"");
    s_url (ctx, "/", NULL);
    node_html_raw (ctx->h, "\">");
    node_html_raw (ctx->h, s_t (ctx, T_BACK));
    node_html_raw (ctx->h, "</a></p>");
    return s_finish (ctx, 403, resp);
}

/*  A 303 to path (trusted, ID segments encoded) with lang carried. */
static int
s_redirect (s_ctx_t *ctx, const char *path, const char *id, node_page_response_t *resp)
{
    node_html_t *u = node_html_new ();
    if (!u)
        return HEARTH_ENOMEM;
    node_html_raw (u, path);
    node_html_url_part (u, id);
    if (ctx->lang_explicit) {
        node_html_raw (u, "?lang=");
        node_html_raw (u, s_lang_codes [ctx->lang]);
    }
    size_t len;
    char *location = node_html_take (u, &len);
    node_html_destroy (&u);
    if (!location)
        return HEARTH_ENOMEM;
    /*  A body for clients that do not follow redirects. */
    s_begin (ctx, s_t (ctx, T_DONE), T_COUNT, "/");
    node_html_raw (ctx->h, "<p>");
    node_html_raw (ctx->h, s_t (ctx, T_DONE));
    node_html_raw (ctx->h, " <a href=\"");
    node_html_text (ctx->h, location);
    node_html_raw (ctx->h, "\">");
    node_html_raw (ctx->h, s_t (ctx, T_SHOW_POST));
    node_html_raw (ctx->h, "</a></p>");
    int rc = s_finish (ctx, 303, resp);
    if (rc) {
        free (location);
        return rc;
    }
    resp->location = location;
    return HEARTH_OK;
}

/* ---- cards ---------------------------------------------------------------------------- */

/*  The tags of a post as links to / filtered by each. */
static void
s_tags (s_ctx_t *ctx, const json_t *tags)
{
    if (!json_array_size (tags))
        return;
    node_html_raw (ctx->h, "<ul class=\"tags\">");
    size_t i;
    json_t *tag;
    json_array_foreach (tags, i, tag) {
        const char *t = json_string_value (tag);
        if (!t)
            continue;
        node_html_raw (ctx->h, "<li><a class=\"tag\" href=\"");
        s_url (ctx, "/", "tag", t, NULL);
        node_html_raw (ctx->h, "\">#");
        node_html_text (ctx->h, t);
        node_html_raw (ctx->h, "</a></li>");
    }
    node_html_raw (ctx->h, "</ul>");
}

/*  A post's place: its label, else its coordinates. */
static void
s_place (s_ctx_t *ctx, const json_t *location)
{
    const char *label = s_str (location, "label");
    if (label && *label)
        node_html_text (ctx->h, label);
    else
        node_html_printf (ctx->h, "%.5f, %.5f",
                          json_number_value (json_object_get (location, "lat")),
                          json_number_value (json_object_get (location, "lng")));
}

/*  The category badge of a post. */
static void
s_badge (s_ctx_t *ctx, const char *category)
{
    node_html_raw (ctx->h, "<span class=\"cat");
    if (s_category_known (category)) {
        node_html_raw (ctx->h, " cat-");
        node_html_raw (ctx->h, category);        /* one of the four literals */
    }
    node_html_raw (ctx->h, "\">");
    s_category_label (ctx, category);
    node_html_raw (ctx->h, "</span>");
}

/*  One post as a card. */
static void
s_card (s_ctx_t *ctx, const json_t *post)
{
    node_html_t *h = ctx->h;
    const char *id = s_str (post, "event_id");
    if (!id)
        return;
    node_html_raw (h, "<article class=\"card\"><div class=\"meta\">");
    s_badge (ctx, s_str (post, "category"));
    node_html_raw (h, "<span>");
    s_age (ctx, s_str (post, "created_at"));
    node_html_raw (h, "</span></div><h2><a href=\"");
    s_post_path (ctx, id);
    s_url (ctx, "", NULL);
    node_html_raw (h, "\">");
    node_html_text (h, s_str (post, "title"));
    node_html_raw (h, "</a></h2><p class=\"excerpt\">");
    node_html_excerpt (h, s_str (post, "body"), NODE_PAGE_EXCERPT_BYTES);
    node_html_raw (h, "</p>");
    s_tags (ctx, json_object_get (post, "tags"));
    node_html_raw (h, "<div class=\"foot\">");
    const json_t *location = json_object_get (post, "location");
    if (json_is_object (location)) {
        node_html_raw (h, "<span class=\"loc\">\xE2\x8C\x82 ");
        s_place (ctx, location);
        node_html_raw (h, "</span>");
    }
    node_html_raw (h, "<span class=\"author\">");
    node_html_raw (h, s_t (ctx, T_BY));
    node_html_raw (h, " ");
    s_short_id (ctx, s_str (post, "author"));
    node_html_raw (h, "</span><span class=\"exp\">");
    s_expiry (ctx, s_str (post, "expires_at"), 0);
    node_html_raw (h, "</span></div></article>\n");
}

/*  The cards of a {posts:[...]} output, or the empty text. */
static void
s_cards (s_ctx_t *ctx, const json_t *output, s_text_t empty)
{
    const json_t *posts = json_object_get (output, "posts");
    if (!json_array_size (posts)) {
        node_html_raw (ctx->h, "<p class=\"note\">");
        node_html_raw (ctx->h, s_t (ctx, empty));
        node_html_raw (ctx->h, "</p>");
        return;
    }
    size_t i;
    json_t *post;
    node_html_raw (ctx->h, "<div class=\"cards\">");
    json_array_foreach (posts, i, post)
        s_card (ctx, post);
    node_html_raw (ctx->h, "</div>");
}

/* ---- / ------------------------------------------------------------------------------------ */

static int
s_view_index (s_ctx_t *ctx, node_page_response_t *resp)
{
    node_html_t *h = ctx->h;
    const char *category = s_arg_set (ctx, "category");
    const char *tag = s_arg_set (ctx, "tag");
    long limit = NODE_PAGE_POSTS;
    const char *limit_text = s_arg_set (ctx, "limit");
    if (limit_text) {
        char *end;
        errno = 0;
        long v = strtol (limit_text, &end, 10);
        if (!errno && *end == '\0' && v >= 1)
            limit = v < NODE_PAGE_MAX_POSTS? v: NODE_PAGE_MAX_POSTS;
    }
    json_t *input = json_pack ("{s:I}", "limit", (json_int_t) limit);
    if (input && category)
        json_object_set_new (input, "category", s_jstr (category));
    if (input && tag)
        json_object_set_new (input, "tags", json_pack ("[o]", s_jstr (tag)));
    json_t *output;
    char *message;
    int rc = s_call (ctx, "market.list", input, &output, &message);
    if (rc) {
        rc = s_failed (ctx, rc, message, resp);
        free (message);
        return rc;
    }
    /*  Language links keep the filters. */
    node_html_t *lp = node_html_new ();
    if (!lp) {
        json_decref (output);
        return HEARTH_ENOMEM;
    }
    node_html_raw (lp, "/");
    const char *sep = "?";
    if (category) {
        node_html_raw (lp, "?category=");
        node_html_url_part (lp, category);
        sep = "&amp;";
    }
    if (tag) {
        node_html_raw (lp, sep);
        node_html_raw (lp, "tag=");
        node_html_url_part (lp, tag);
    }
    size_t lp_len;
    char *lang_path = node_html_take (lp, &lp_len);
    node_html_destroy (&lp);
    if (!lang_path) {
        json_decref (output);
        return HEARTH_ENOMEM;
    }
    s_begin (ctx, NULL, T_NEWEST, lang_path);
    free (lang_path);
    s_search_form (ctx, NULL);

    /*  Category chips (keeping the tag), then the tag form (keeping the category). */
    node_html_raw (h, "<nav class=\"chips\" aria-label=\"");
    node_html_raw (h, s_t (ctx, T_F_CATEGORY));
    node_html_raw (h, "\">");
    node_html_raw (h, category? "<a class=\"chip\" href=\"": "<a class=\"chip on\" href=\"");
    s_url (ctx, "/", "tag", tag, NULL);
    node_html_raw (h, "\">");
    node_html_raw (h, s_t (ctx, T_ALL));
    node_html_raw (h, "</a>");
    for (size_t i = 0; i < S_N_CATEGORIES; i++) {
        int on = category && strcmp (category, s_categories [i].name) == 0;
        node_html_raw (h, on? "<a class=\"chip on\" href=\"": "<a class=\"chip\" href=\"");
        s_url (ctx, "/", "category", s_categories [i].name, "tag", tag, NULL);
        node_html_raw (h, "\">");
        node_html_raw (h, s_t (ctx, s_categories [i].label));
        node_html_raw (h, "</a>");
    }
    node_html_raw (h, "</nav><form class=\"tagform\" action=\"/\" method=\"get\">");
    s_hidden (ctx, 0);
    if (category) {
        node_html_raw (h, "<input type=\"hidden\" name=\"category\" value=\"");
        node_html_text (h, category);
        node_html_raw (h, "\">");
    }
    node_html_raw (h, "<label for=\"tag\">");
    node_html_raw (h, s_t (ctx, T_TAG));
    node_html_raw (h, "</label><input type=\"text\" id=\"tag\" name=\"tag\" maxlength=\"32\" value=\"");
    node_html_text (h, tag);
    node_html_raw (h, "\"><button type=\"submit\">");
    node_html_raw (h, s_t (ctx, T_FILTER));
    node_html_raw (h, "</button>");
    if (tag) {
        node_html_raw (h, "<a class=\"chip\" href=\"");
        s_url (ctx, "/", "category", category, NULL);
        node_html_raw (h, "\">\xC3\x97 ");
        node_html_raw (h, s_t (ctx, T_ALL_TAGS));
        node_html_raw (h, "</a>");
    }
    node_html_raw (h, "</form>");

    s_cards (ctx, output, T_NO_POSTS);
    size_t shown = json_array_size (json_object_get (output, "posts"));
    if (shown == (size_t) limit && limit < NODE_PAGE_MAX_POSTS) {
        char more [16];
        long next = limit + NODE_PAGE_POSTS < NODE_PAGE_MAX_POSTS? limit + NODE_PAGE_POSTS: NODE_PAGE_MAX_POSTS;
        snprintf (more, sizeof more, "%ld", next);
        node_html_raw (h, "<a class=\"more\" href=\"");
        s_url (ctx, "/", "category", category, "tag", tag, "limit", more, NULL);
        node_html_raw (h, "\">");
        node_html_raw (h, s_t (ctx, T_MORE));
        node_html_raw (h, "</a>");
    }
    json_decref (output);
    return s_finish (ctx, 200, resp);
}

/* ---- /search ----------------------------------------------------------------------------- */

static int
s_view_search (s_ctx_t *ctx, node_page_response_t *resp)
{
    const char *q = s_arg_set (ctx, "q");
    json_t *output = NULL;
    char *message = NULL;
    int rc = HEARTH_OK;
    if (q) {
        rc = s_call (ctx, "market.search", json_pack ("{s:o, s:i}", "query", s_jstr (q), "k", NODE_PAGE_SEARCH_K),
                     &output, &message);
        if (rc == HEARTH_ENOMEM) {
            free (message);
            return rc;
        }
    }
    node_html_t *lp = node_html_new ();
    if (!lp) {
        json_decref (output);
        free (message);
        return HEARTH_ENOMEM;
    }
    node_html_raw (lp, "/search");
    if (q) {
        node_html_raw (lp, "?q=");
        node_html_url_part (lp, q);
    }
    size_t lp_len;
    char *lang_path = node_html_take (lp, &lp_len);
    node_html_destroy (&lp);
    if (!lang_path) {
        json_decref (output);
        free (message);
        return HEARTH_ENOMEM;
    }
    s_begin (ctx, q? q: s_t (ctx, T_SEARCH), T_COUNT, lang_path);
    free (lang_path);
    s_search_form (ctx, q);
    int status = 200;
    if (q && rc) {
        status = s_status_of (rc);
        node_html_raw (ctx->h, "<p class=\"alert\" role=\"alert\">");
        node_html_text (ctx->h, message? message: hearth_strerror (rc));
        node_html_raw (ctx->h, "</p>");
    }
    else if (q) {
        node_html_raw (ctx->h, "<h1>");
        node_html_raw (ctx->h, s_t (ctx, T_RESULTS));
        node_html_raw (ctx->h, " \xE2\x80\x9E");
        node_html_text (ctx->h, q);
        node_html_raw (ctx->h, "\xE2\x80\x9C</h1>");
        s_cards (ctx, output, T_NO_MATCH);
    }
    json_decref (output);
    free (message);
    return s_finish (ctx, status, resp);
}

/* ---- /post/ID ----------------------------------------------------------------------------- */

static int
s_view_post (s_ctx_t *ctx, const char *id, node_page_response_t *resp)
{
    node_html_t *h = ctx->h;
    json_t *output;
    char *message;
    int rc = s_call (ctx, "market.get", json_pack ("{s:o}", "event_id", s_jstr (id)), &output, &message);
    if (rc == HEARTH_ENOTFOUND || rc == HEARTH_EINVAL) {
        free (message);
        return s_problem (ctx, 404, T_NOT_FOUND, T_POST_NOT_FOUND, NULL, resp);
    }
    if (rc) {
        rc = s_failed (ctx, rc, message, resp);
        free (message);
        return rc;
    }
    const json_t *post = json_object_get (output, "post");
    const char *author = s_str (post, "author");
    const char *me = s_str (ctx->id, "node_id");
    int own = author && me && strcmp (author, me) == 0;
    int expired = json_is_true (json_object_get (post, "expired"));
    node_html_t *lp = node_html_new ();
    if (!lp) {
        json_decref (output);
        return HEARTH_ENOMEM;
    }
    node_html_raw (lp, "/post/");
    node_html_url_part (lp, id);
    size_t lp_len;
    char *lang_path = node_html_take (lp, &lp_len);
    node_html_destroy (&lp);
    if (!lang_path) {
        json_decref (output);
        return HEARTH_ENOMEM;
    }
    s_begin (ctx, s_str (post, "title"), T_COUNT, lang_path);
    free (lang_path);

    node_html_raw (h, "<article class=\"card post\"><div class=\"meta\">");
    s_badge (ctx, s_str (post, "category"));
    node_html_raw (h, "</div><h1>");
    node_html_text (h, s_str (post, "title"));
    node_html_raw (h, "</h1>");
    if (expired) {
        node_html_raw (h, "<p class=\"note\">");
        node_html_raw (h, s_t (ctx, T_EXPIRED_NOTE));
        const char *reason = s_str (post, "expiry_reason");
        if (reason) {
            node_html_raw (h, " (");
            if (strcmp (reason, "fulfilled") == 0)
                node_html_raw (h, s_t (ctx, T_FULFILLED));
            else if (strcmp (reason, "withdrawn") == 0)
                node_html_raw (h, s_t (ctx, T_WITHDRAWN));
            else
                node_html_text (h, reason);
            node_html_raw (h, ")");
        }
        node_html_raw (h, ".</p>");
    }
    node_html_raw (h, "<div class=\"body\">");
    node_html_text (h, s_str (post, "body"));
    node_html_raw (h, "</div>");
    s_tags (ctx, json_object_get (post, "tags"));
    node_html_raw (h, "<dl class=\"facts\">");
    const json_t *location = json_object_get (post, "location");
    if (json_is_object (location)) {
        node_html_raw (h, "<dt>");
        node_html_raw (h, s_t (ctx, T_LOCATION));
        node_html_raw (h, "</dt><dd>");
        const char *label = s_str (location, "label");
        if (label && *label) {
            node_html_text (h, label);
            node_html_raw (h, " ");
        }
        node_html_printf (h, "(%.5f, %.5f)", json_number_value (json_object_get (location, "lat")),
                          json_number_value (json_object_get (location, "lng")));
        node_html_raw (h, "</dd>");
    }
    node_html_raw (h, "<dt>");
    node_html_raw (h, s_t (ctx, T_AUTHOR));
    node_html_raw (h, "</dt><dd>");
    s_short_id (ctx, author);
    if (own) {
        node_html_raw (h, " (");
        node_html_raw (h, s_t (ctx, T_YOU));
        node_html_raw (h, ")");
    }
    node_html_raw (h, "</dd><dt>");
    node_html_raw (h, s_t (ctx, T_POSTED));
    node_html_raw (h, "</dt><dd>");
    s_when (ctx, s_str (post, "created_at"));
    node_html_raw (h, " (");
    s_age (ctx, s_str (post, "created_at"));
    node_html_raw (h, ")</dd><dt>");
    node_html_raw (h, s_t (ctx, T_EXPIRES));
    node_html_raw (h, "</dt><dd>");
    s_when (ctx, s_str (post, "expires_at"));
    node_html_raw (h, " (");
    s_expiry (ctx, s_str (post, "expires_at"), expired);
    node_html_raw (h, ")</dd></dl></article>");

    if (own && !expired) {
        node_html_raw (h, "<form class=\"card expire\" method=\"post\" action=\"");
        s_post_path (ctx, id);
        node_html_raw (h, "/expire\"><h2>");
        node_html_raw (h, s_t (ctx, T_EXPIRE_TITLE));
        node_html_raw (h, "</h2>");
        s_write_hint (ctx);
        s_hidden (ctx, 1);
        node_html_raw (h, "<div class=\"field\"><label for=\"reason\">");
        node_html_raw (h, s_t (ctx, T_REASON));
        node_html_raw (h, "</label><select id=\"reason\" name=\"reason\"><option value=\"fulfilled\">");
        node_html_raw (h, s_t (ctx, T_FULFILLED));
        node_html_raw (h, "</option><option value=\"withdrawn\">");
        node_html_raw (h, s_t (ctx, T_WITHDRAWN));
        node_html_raw (h, "</option></select></div><button type=\"submit\" class=\"danger\" "
                          "name=\"expire\" value=\"1\">");
        node_html_raw (h, s_t (ctx, T_EXPIRE_BUTTON));
        node_html_raw (h, "</button></form>");
    }
    json_decref (output);
    return s_finish (ctx, 200, resp);
}

/*  POST /post/ID/expire. */
static int
s_do_expire (s_ctx_t *ctx, const char *id, node_page_response_t *resp)
{
    if (!ctx->req->may_write)
        return s_forbidden (ctx, resp);
    const char *reason = s_arg_set (ctx, "reason");
    json_t *output;
    char *message;
    int rc = s_call (ctx, "market.expire",
                     json_pack ("{s:o, s:o}", "event_id", s_jstr (id),
                                "reason", s_jstr (reason? reason: "withdrawn")),
                     &output, &message);
    if (rc) {
        rc = s_failed (ctx, rc, message, resp);
        free (message);
        return rc;
    }
    json_decref (output);
    return s_redirect (ctx, "/post/", id, resp);
}

/* ---- /new ------------------------------------------------------------------------------------ */

/*  The form's fields; an error names one of them. */
typedef enum {
    F_NONE, F_CATEGORY, F_TITLE, F_BODY, F_TAGS, F_LOCATION, F_TTL
} s_field_t;

/*  Which field a market.post message is about: it starts with the field's
    wire name ("title must not be blank", "location.lat ..."). */
static s_field_t
s_field_of (const char *message)
{
    static const struct { const char *name; s_field_t field; } names [] = {
        { "category", F_CATEGORY }, { "title", F_TITLE }, { "body", F_BODY },
        { "tags", F_TAGS }, { "at most", F_TAGS }, { "location", F_LOCATION },
        { "ttl_seconds", F_TTL }
    };
    for (size_t i = 0; message && i < sizeof names / sizeof names [0]; i++)
        if (strncmp (message, names [i].name, strlen (names [i].name)) == 0)
            return names [i].field;
    return F_NONE;
}

/*  The error under a field, if it is the one. */
static void
s_field_error (s_ctx_t *ctx, s_field_t field, s_field_t bad, const char *message)
{
    if (field != bad || !message)
        return;
    node_html_raw (ctx->h, "<p class=\"err\" id=\"err-");
    node_html_printf (ctx->h, "%d", (int) field);
    node_html_raw (ctx->h, "\">");
    node_html_text (ctx->h, message);
    node_html_raw (ctx->h, "</p>");
}

/*  The start of a field: its wrapper (marked bad when it is the one) and label. */
static void
s_field_begin (s_ctx_t *ctx, s_field_t field, s_field_t bad, const char *id, s_text_t label,
               const char *extra_class)
{
    node_html_raw (ctx->h, "<div class=\"field");
    if (extra_class) {
        node_html_raw (ctx->h, " ");
        node_html_raw (ctx->h, extra_class);
    }
    node_html_raw (ctx->h, field == bad? " bad\"><label for=\"": "\"><label for=\"");
    node_html_raw (ctx->h, id);
    node_html_raw (ctx->h, "\">");
    node_html_raw (ctx->h, s_t (ctx, label));
    node_html_raw (ctx->h, "</label>");
}

/*  A text input with its value kept (untrusted). */
static void
s_input (s_ctx_t *ctx, const char *id, const char *type, const char *value, int maxlength,
         const char *extra)
{
    node_html_raw (ctx->h, "<input type=\"");
    node_html_raw (ctx->h, type);
    node_html_raw (ctx->h, "\" id=\"");
    node_html_raw (ctx->h, id);
    node_html_raw (ctx->h, "\" name=\"");
    node_html_raw (ctx->h, id);
    node_html_raw (ctx->h, "\"");
    if (maxlength)
        node_html_printf (ctx->h, " maxlength=\"%d\"", maxlength);
    if (extra)
        node_html_raw (ctx->h, extra);
    node_html_raw (ctx->h, " value=\"");
    node_html_text (ctx->h, value);
    node_html_raw (ctx->h, "\">");
}

/*  The post form, with the request's values kept when kept is set, and
    the error (message untrusted, may be NULL) beside its field. */
static int
s_view_new (s_ctx_t *ctx, int kept, s_field_t bad, const char *message, int status,
            node_page_response_t *resp)
{
    node_html_t *h = ctx->h;
    s_begin (ctx, s_t (ctx, T_NEW), T_NEW, "/new");
    node_html_raw (h, "<h1>");
    node_html_raw (h, s_t (ctx, T_NEW));
    node_html_raw (h, "</h1>");
    s_write_hint (ctx);
    if (message) {
        node_html_raw (h, "<div class=\"alert\" role=\"alert\"><strong>");
        node_html_raw (h, s_t (ctx, T_FORM_FAILED));
        node_html_raw (h, "</strong> ");
        node_html_text (h, message);
        node_html_raw (h, "</div>");
    }
    const char *v_category = kept? s_arg (ctx, "category"): NULL;
    const char *v_ttl = kept? s_arg (ctx, "ttl_seconds"): NULL;
    /*  A fresh client id makes a form sent twice (a double tap, a reload)
        one post; a kept form keeps its id. */
    char client_id [40];
    const char *kept_id = kept? s_arg_set (ctx, "client_id"): NULL;
    if (!kept_id || strlen (kept_id) >= sizeof client_id) {
        uint8_t rnd [12];
        char hex [2 * sizeof rnd + 1];
        randombytes_buf (rnd, sizeof rnd);
        hearth_hex_encode (rnd, sizeof rnd, hex);
        snprintf (client_id, sizeof client_id, "page-%s", hex);
    }
    else
        snprintf (client_id, sizeof client_id, "%s", kept_id);

    node_html_raw (h, "<form class=\"post-form\" method=\"post\" action=\"/new\">");
    s_hidden (ctx, 1);
    node_html_raw (h, "<input type=\"hidden\" name=\"client_id\" value=\"");
    node_html_text (h, client_id);
    node_html_raw (h, "\">");

    s_field_begin (ctx, F_CATEGORY, bad, "category", T_F_CATEGORY, NULL);
    node_html_raw (h, "<select id=\"category\" name=\"category\" required><option value=\"\">");
    node_html_raw (h, s_t (ctx, T_F_CHOOSE));
    node_html_raw (h, "</option>");
    for (size_t i = 0; i < S_N_CATEGORIES; i++) {
        node_html_raw (h, "<option value=\"");
        node_html_raw (h, s_categories [i].name);
        node_html_raw (h, v_category && strcmp (v_category, s_categories [i].name) == 0
                          ? "\" selected>": "\">");
        node_html_raw (h, s_t (ctx, s_categories [i].label));
        node_html_raw (h, "</option>");
    }
    node_html_raw (h, "</select>");
    s_field_error (ctx, F_CATEGORY, bad, message);
    node_html_raw (h, "</div>");

    s_field_begin (ctx, F_TITLE, bad, "title", T_F_TITLE, NULL);
    s_input (ctx, "title", "text", kept? s_arg (ctx, "title"): NULL, 200, " required");
    s_field_error (ctx, F_TITLE, bad, message);
    node_html_raw (h, "</div>");

    s_field_begin (ctx, F_BODY, bad, "body", T_F_BODY, NULL);
    node_html_raw (h, "<textarea id=\"body\" name=\"body\" maxlength=\"8000\" required>");
    node_html_text (h, kept? s_arg (ctx, "body"): NULL);
    node_html_raw (h, "</textarea>");
    s_field_error (ctx, F_BODY, bad, message);
    node_html_raw (h, "</div>");

    s_field_begin (ctx, F_TAGS, bad, "tags", T_F_TAGS, NULL);
    s_input (ctx, "tags", "text", kept? s_arg (ctx, "tags"): NULL, 0, NULL);
    node_html_raw (h, "<p class=\"hint\">");
    node_html_raw (h, s_t (ctx, T_F_TAGS_HINT));
    node_html_raw (h, "</p>");
    s_field_error (ctx, F_TAGS, bad, message);
    node_html_raw (h, "</div>");

    node_html_raw (h, F_LOCATION == bad? "<fieldset class=\"field bad\"><legend>"
                                       : "<fieldset class=\"field\"><legend>");
    node_html_raw (h, s_t (ctx, T_F_LOCATION));
    node_html_raw (h, "</legend>");
    s_field_begin (ctx, F_LOCATION, bad, "label", T_F_LABEL, NULL);
    s_input (ctx, "label", "text", kept? s_arg (ctx, "label"): NULL, 120, NULL);
    node_html_raw (h, "</div>");
    s_field_begin (ctx, F_LOCATION, bad, "lat", T_F_LAT, "half");
    s_input (ctx, "lat", "text", kept? s_arg (ctx, "lat"): NULL, 24, " inputmode=\"decimal\"");
    node_html_raw (h, "</div>");
    s_field_begin (ctx, F_LOCATION, bad, "lng", T_F_LNG, "half");
    s_input (ctx, "lng", "text", kept? s_arg (ctx, "lng"): NULL, 24, " inputmode=\"decimal\"");
    node_html_raw (h, "</div>");
    s_field_error (ctx, F_LOCATION, bad, message);
    node_html_raw (h, "</fieldset>");

    s_field_begin (ctx, F_TTL, bad, "ttl_seconds", T_F_TTL, NULL);
    static const struct { const char *seconds; s_text_t label; } ttls [] = {
        { "86400", T_DAY1 }, { "259200", T_DAYS3 }, { "604800", T_DAYS7 },
        { "1209600", T_DAYS14 }, { "2592000", T_DAYS30 }
    };
    node_html_raw (h, "<select id=\"ttl_seconds\" name=\"ttl_seconds\">");
    int chosen = 0;
    for (size_t i = 0; i < sizeof ttls / sizeof ttls [0]; i++) {
        int on = v_ttl? strcmp (v_ttl, ttls [i].seconds) == 0: strcmp (ttls [i].seconds, "604800") == 0;
        chosen |= on;
        node_html_raw (h, "<option value=\"");
        node_html_raw (h, ttls [i].seconds);
        node_html_raw (h, on? "\" selected>": "\">");
        node_html_raw (h, s_t (ctx, ttls [i].label));
        node_html_raw (h, "</option>");
    }
    /*  A value the list does not hold (sent by another client) stays shown. */
    if (!chosen && v_ttl && *v_ttl) {
        node_html_raw (h, "<option selected value=\"");
        node_html_text (h, v_ttl);
        node_html_raw (h, "\">");
        node_html_text (h, v_ttl);
        node_html_raw (h, " s</option>");
    }
    node_html_raw (h, "</select>");
    s_field_error (ctx, F_TTL, bad, message);
    node_html_raw (h, "</div><button type=\"submit\">");
    node_html_raw (h, s_t (ctx, T_F_SUBMIT));
    node_html_raw (h, "</button></form>");
    return s_finish (ctx, status, resp);
}

/*  A coordinate typed by a person: "52.52" or "52,52", nothing else.
    0 and *out, or -1. */
static int
s_coordinate (const char *text, double *out)
{
    char buf [32];
    size_t n = strlen (text);
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy (buf, text, n + 1);
    if (!strchr (buf, '.')) {
        char *comma = strchr (buf, ',');
        if (comma && !strchr (comma + 1, ','))
            *comma = '.';
    }
    char *end;
    errno = 0;
    double v = strtod (buf, &end);
    while (*end == ' ')
        end++;
    if (errno || end == buf || *end != '\0' || !isfinite (v))
        return -1;
    *out = v;
    return 0;
}

/*  The tags field, "a, b ,c", as an array of trimmed non-empty strings
    (the market lower-cases them and checks their count and size). */
static json_t *
s_split_tags (const char *text)
{
    json_t *tags = json_array ();
    if (!tags || !text)
        return tags;
    const char *p = text;
    while (*p) {
        const char *comma = strchr (p, ',');
        const char *end = comma? comma: p + strlen (p);
        const char *a = p, *b = end;
        while (a < b && (*a == ' ' || *a == '\t' || *a == '\n' || *a == '\r'))
            a++;
        while (b > a && (b [-1] == ' ' || b [-1] == '\t' || b [-1] == '\n' || b [-1] == '\r'))
            b--;
        if (b > a) {
            json_t *tag = json_stringn_nocheck (a, (size_t) (b - a));
            if (!tag || json_array_append_new (tags, tag)) {
                json_decref (tags);
                return NULL;
            }
        }
        p = comma? comma + 1: end;
    }
    return tags;
}

/*  POST /new. */
static int
s_do_post (s_ctx_t *ctx, node_page_response_t *resp)
{
    if (!ctx->req->may_write)
        return s_forbidden (ctx, resp);
    json_t *input = json_object ();
    if (!input)
        return HEARTH_ENOMEM;
    static const char *const texts [] = { "category", "title", "body", "client_id" };
    for (size_t i = 0; i < sizeof texts / sizeof texts [0]; i++) {
        const char *v = s_arg_set (ctx, texts [i]);
        if (v)
            json_object_set_new (input, texts [i], s_jstr (v));
    }
    json_t *tags = s_split_tags (s_arg (ctx, "tags"));
    if (!tags) {
        json_decref (input);
        return HEARTH_ENOMEM;
    }
    if (json_array_size (tags))
        json_object_set_new (input, "tags", tags);
    else
        json_decref (tags);

    /*  Our own checks first, in the person's language. */
    const char *lat = s_arg_set (ctx, "lat"), *lng = s_arg_set (ctx, "lng");
    const char *label = s_arg_set (ctx, "label"), *ttl = s_arg_set (ctx, "ttl_seconds");
    char problem [160] = "";
    s_field_t bad = F_NONE;
    double la = 0, ln = 0;
    if ((lat && s_coordinate (lat, &la)) || (lng && s_coordinate (lng, &ln))) {
        bad = F_LOCATION;
        snprintf (problem, sizeof problem, "%s: %s",
                  s_t (ctx, lat && s_coordinate (lat, &la)? T_F_LAT: T_F_LNG), s_t (ctx, T_ERR_NUMBER));
    }
    else if (!lat != !lng || (label && !lat)) {
        bad = F_LOCATION;
        snprintf (problem, sizeof problem, "%s: %s", s_t (ctx, T_LOCATION), s_t (ctx, T_ERR_PAIR));
    }
    else if (lat) {
        json_t *loc = json_pack ("{s:f, s:f}", "lat", la, "lng", ln);
        if (loc && label)
            json_object_set_new (loc, "label", s_jstr (label));
        json_object_set_new (input, "location", loc);
    }
    if (bad == F_NONE && ttl) {
        char *end;
        errno = 0;
        long long v = strtoll (ttl, &end, 10);
        if (errno || end == ttl || *end != '\0') {
            bad = F_TTL;
            snprintf (problem, sizeof problem, "%s: %s", s_t (ctx, T_F_TTL), s_t (ctx, T_ERR_TTL));
        }
        else
            json_object_set_new (input, "ttl_seconds", json_integer (v));
    }
    if (bad != F_NONE) {
        json_decref (input);
        return s_view_new (ctx, 1, bad, problem, 400, resp);
    }
    json_t *output;
    char *message;
    int rc = s_call (ctx, "market.post", input, &output, &message);
    if (rc == HEARTH_EINVAL || rc == HEARTH_ETOOBIG || rc == HEARTH_EEXISTS) {
        s_field_t field = s_field_of (message);
        rc = s_view_new (ctx, 1, field, message? message: hearth_strerror (rc), 400, resp);
        free (message);
        return rc;
    }
    if (rc) {
        rc = s_failed (ctx, rc, message, resp);
        free (message);
        return rc;
    }
    const char *id = s_str (output, "event_id");
    rc = id? s_redirect (ctx, "/post/", id, resp): HEARTH_ENOMEM;
    json_decref (output);
    return rc;
}

/* ---- /node ------------------------------------------------------------------------------------ */

/*  A fact row: label (the program's) and a value written by the caller. */
static void
s_fact (s_ctx_t *ctx, s_text_t label)
{
    node_html_raw (ctx->h, "<dt>");
    node_html_raw (ctx->h, s_t (ctx, label));
    node_html_raw (ctx->h, "</dt><dd>");
}

static int
s_view_node (s_ctx_t *ctx, node_page_response_t *resp)
{
    node_html_t *h = ctx->h;
    json_t *stats = NULL;
    char *message = NULL;
    if (s_call (ctx, "node.stats", json_pack ("{s:s}", "format", "json"), &stats, &message))
        stats = NULL;
    free (message);
    s_begin (ctx, s_t (ctx, T_NODE), T_NODE, "/node");
    node_html_raw (h, "<h1>");
    node_html_raw (h, s_t (ctx, T_NODE));
    node_html_raw (h, " ");
    s_short_id (ctx, s_str (ctx->id, "node_id"));
    node_html_raw (h, "</h1><dl class=\"facts\">");
    s_fact (ctx, T_NODE_ID);
    node_html_raw (h, "<code>");
    node_html_text (h, s_str (ctx->id, "node_id"));
    node_html_raw (h, "</code></dd>");
    s_fact (ctx, T_COMMUNITY);
    node_html_raw (h, "<code>");
    node_html_text (h, s_str (ctx->id, "community_id"));
    node_html_raw (h, "</code></dd>");
    s_fact (ctx, T_LEVEL);
    node_html_text (h, s_str (ctx->id, "level"));
    node_html_raw (h, "</dd>");
    s_fact (ctx, T_ADDRESS);
    const char *address = s_str (ctx->id, "address");
    if (address) {
        node_html_raw (h, "<code>");
        node_html_text (h, address);
        node_html_raw (h, "</code>");
    }
    else
        node_html_raw (h, s_t (ctx, T_NOT_LISTENING));
    node_html_raw (h, "</dd></dl><h2>");
    node_html_raw (h, s_t (ctx, T_HEALTH));
    node_html_raw (h, "</h2><dl class=\"facts\">");
    const json_t *mesh = json_object_get (stats, "mesh");
    const json_t *events = json_object_get (stats, "events");
    size_t links = 0, i;
    json_t *link;
    json_array_foreach (json_object_get (ctx->peers, "peers"), i, link)
        links += json_is_true (json_object_get (link, "connected"));
    s_fact (ctx, T_LINKS_UP);
    node_html_printf (h, "<span class=\"dot%s\"></span>%zu</dd>", links? " up": "", links);
    s_fact (ctx, T_EVENTS);
    node_html_printf (h, "%lld</dd>", (long long) json_integer_value (json_object_get (events, "total")));
    s_fact (ctx, T_LAMPORT);
    node_html_printf (h, "%lld</dd>",
                      (long long) json_integer_value (json_object_get (events, "lamport_head")));
    s_fact (ctx, T_ACTIVE_POSTS);
    node_html_printf (h, "%lld</dd>", (long long) json_integer_value (
        json_object_get (json_object_get (stats, "market"), "posts_active")));
    s_fact (ctx, T_LAST_SYNC);
    const json_t *since = json_object_get (mesh, "seconds_since_last_sync");
    if (json_is_number (since) && json_number_value (since) >= 0) {
        s_ago (ctx, (uint64_t) json_number_value (since));
        node_html_raw (h, " (");
        s_when (ctx, s_str (mesh, "last_sync"));
        node_html_raw (h, ")");
    }
    else
        node_html_raw (h, s_t (ctx, T_NEVER));
    node_html_raw (h, "</dd>");
    s_fact (ctx, T_STORAGE);
    node_html_text (h, s_str (json_object_get (stats, "storage"), "health"));
    node_html_raw (h, "</dd></dl><h2>");
    node_html_raw (h, s_t (ctx, T_PEERS));
    node_html_raw (h, "</h2>");
    const json_t *peers = json_object_get (ctx->peers, "peers");
    if (!json_array_size (peers)) {
        node_html_raw (h, "<p class=\"note\">");
        node_html_raw (h, s_t (ctx, T_NO_PEERS));
        node_html_raw (h, "</p>");
    }
    else {
        node_html_raw (h, "<ul class=\"peers\">");
        size_t i;
        json_t *peer;
        json_array_foreach (peers, i, peer) {
            int connected = json_is_true (json_object_get (peer, "connected"));
            node_html_raw (h, connected? "<li class=\"peer up\"><span class=\"dot up\"></span><strong>"
                                       : "<li class=\"peer\"><span class=\"dot\"></span><strong>");
            s_short_id (ctx, s_str (peer, "node_id"));
            node_html_raw (h, "</strong> \xC2\xB7 ");
            node_html_raw (h, s_t (ctx, connected? T_CONNECTED: T_NOT_CONNECTED));
            const char *dir = s_str (peer, "direction");
            if (dir) {
                node_html_raw (h, " \xC2\xB7 ");
                node_html_raw (h, strcmp (dir, "out") == 0? s_t (ctx, T_OUT): s_t (ctx, T_IN));
            }
            const char *seen = s_str (peer, "last_seen");
            if (seen) {
                node_html_raw (h, " \xC2\xB7 ");
                node_html_raw (h, s_t (ctx, T_LAST_SEEN));
                node_html_raw (h, " ");
                s_age (ctx, seen);
            }
            const json_t *lag = json_object_get (peer, "lag");
            if (json_is_integer (lag)) {
                node_html_raw (h, " \xC2\xB7 ");
                node_html_raw (h, s_t (ctx, T_LAG));
                node_html_printf (h, " %lld", (long long) json_integer_value (lag));
            }
            const char *addr = s_str (peer, "address");
            if (addr) {
                node_html_raw (h, "<br><code>");
                node_html_text (h, addr);
                node_html_raw (h, "</code>");
            }
            node_html_raw (h, "</li>");
        }
        node_html_raw (h, "</ul>");
    }
    json_decref (stats);
    return s_finish (ctx, 200, resp);
}

/* ---- /login ---------------------------------------------------------------------------------- */

/*  The token form; POST /login is node_http's (it sets the cookie). */
static int
s_view_login (s_ctx_t *ctx, node_page_response_t *resp)
{
    node_html_t *h = ctx->h;
    s_begin (ctx, s_t (ctx, T_LOGIN), T_COUNT, "/login");
    node_html_raw (h, "<h1>");
    node_html_raw (h, s_t (ctx, T_LOGIN));
    node_html_raw (h, "</h1>");
    if (ctx->req->may_write) {
        node_html_raw (h, "<p class=\"note\">");
        node_html_raw (h, s_t (ctx, T_LOGIN_ALREADY));
        node_html_raw (h, "</p>");
    }
    node_html_raw (h, "<p>");
    node_html_raw (h, s_t (ctx, T_LOGIN_TEXT));
    node_html_raw (h, "</p><form class=\"login-form\" method=\"post\" action=\"/login\">");
    s_hidden (ctx, 1);
    node_html_raw (h, "<div class=\"field\"><label for=\"token\">");
    node_html_raw (h, s_t (ctx, T_LOGIN_TOKEN));
    node_html_raw (h, "</label><input type=\"password\" id=\"token\" name=\"token\" "
                      "autocomplete=\"current-password\" required></div><button type=\"submit\">");
    node_html_raw (h, s_t (ctx, T_LOGIN_BUTTON));
    node_html_raw (h, "</button></form>");
    return s_finish (ctx, 200, resp);
}

/* ---- dispatch ------------------------------------------------------------------------------------ */

node_page_t *
node_page_new (node_bus_t *bus)
{
    node_page_t *self = (node_page_t *) calloc (1, sizeof (node_page_t));
    if (self)
        self->bus = bus;
    return self;
}

void
node_page_destroy (node_page_t **self_p)
{
    if (self_p && *self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

/*  The post id of "/post/ID" or "/post/ID/expire" (suffix set to the rest
    after the id), or NULL when path is not one. Copied into out. */
static const char *
s_post_id (const char *path, char *out, size_t cap, const char **suffix)
{
    static const char prefix [] = "/post/";
    if (strncmp (path, prefix, sizeof prefix - 1) != 0)
        return NULL;
    const char *id = path + sizeof prefix - 1;
    const char *slash = strchr (id, '/');
    size_t n = slash? (size_t) (slash - id): strlen (id);
    if (n == 0 || n >= cap)
        return NULL;
    memcpy (out, id, n);
    out [n] = '\0';
    *suffix = slash? slash: "";
    return out;
}

int
node_page_handle (node_page_t *self, const node_page_request_t *req,
                  node_page_response_t *resp)
{
    const char *method = req->method? req->method: "GET";
    const char *path = req->path? req->path: "/";
    int get = strcmp (method, "GET") == 0 || strcmp (method, "HEAD") == 0;
    int post = strcmp (method, "POST") == 0;

    if (strcmp (path, "/static/page.css") == 0 && get) {
        resp->status = 200;
        resp->content_type = "text/css; charset=utf-8";
        resp->body = strdup (s_css);
        resp->body_len = sizeof s_css - 1;
        return resp->body? HEARTH_OK: HEARTH_ENOMEM;
    }
    s_ctx_t ctx = { .self = self, .req = req, .now_ms = hearth_now_ms () };
    if (!(ctx.h = node_html_new ()))
        return HEARTH_ENOMEM;
    s_choose_language (&ctx);
    s_load_node (&ctx);

    int rc;
    char id [64];
    const char *suffix = NULL;
    if (strcmp (path, "/") == 0)
        rc = get? s_view_index (&ctx, resp): S_WRONG_METHOD;
    else if (strcmp (path, "/search") == 0)
        rc = get? s_view_search (&ctx, resp): S_WRONG_METHOD;
    else if (strcmp (path, "/new") == 0)
        rc = get? s_view_new (&ctx, 0, F_NONE, NULL, 200, resp): post? s_do_post (&ctx, resp): S_WRONG_METHOD;
    else if (strcmp (path, "/login") == 0)
        rc = get? s_view_login (&ctx, resp): S_WRONG_METHOD;
    else if (strcmp (path, "/node") == 0)
        rc = get? s_view_node (&ctx, resp): S_WRONG_METHOD;
    else if (s_post_id (path, id, sizeof id, &suffix) && *suffix == '\0')
        rc = get? s_view_post (&ctx, id, resp): S_WRONG_METHOD;
    else if (s_post_id (path, id, sizeof id, &suffix) && strcmp (suffix, "/expire") == 0)
        rc = post? s_do_expire (&ctx, id, resp): S_WRONG_METHOD;
    else
        rc = s_problem (&ctx, 404, T_NOT_FOUND, T_NOT_FOUND_TEXT, NULL, resp);
    if (rc == S_WRONG_METHOD)
        rc = s_problem (&ctx, 405, T_METHOD, T_METHOD_TEXT, NULL, resp);
    json_decref (ctx.id);
    json_decref (ctx.peers);
    node_html_destroy (&ctx.h);
    if (rc != HEARTH_OK) {
        free (resp->body);
        free (resp->location);
        memset (resp, 0, sizeof *resp);
        return HEARTH_ENOMEM;
    }
    return HEARTH_OK;
}
