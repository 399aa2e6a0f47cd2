/*  node_page.c — the marketplace web page (node_page.h; docs/page.md).

    Views (GET unless said):
      /                 newest posts, filters ?category= ?tag=, ?limit= ("more"),
                        near: ?near_lat= &near_lng= &radius_km= &order=newest|distance
      /search?q=        lexical search (market.search), the same near filter
                        (&order=relevance|distance)
      /post/ID          one post, its edits and who ended it; its author (this
                        node) gets an edit link and an expire form
      /post/ID/edit     the edit form filled with the post; POST: market.update
                        with the fields that changed, then 303 to /post/ID
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
#include <limits.h>
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
    T_EDIT, T_EDIT_TITLE, T_EDIT_SUBMIT, T_EDIT_FAILED, T_EDIT_KEEP_TTL, T_EDIT_HINT,
    T_EDIT_NOT_AUTHOR, T_EDIT_GONE, T_EDITED, T_EDIT_ONE, T_EDIT_MANY, T_EXPIRED_BY,
    T_NEAR, T_NEAR_LAT, T_NEAR_LNG, T_NEAR_RADIUS, T_ORDER, T_ORDER_NEWEST,
    T_ORDER_RELEVANCE, T_ORDER_DISTANCE, T_NEAR_APPLY, T_NEAR_CLEAR, T_KM_AWAY,
    T_ERR_RADIUS, T_NEAR_FAILED, T_EDITED_FACT,
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
    [T_EDIT]          = { "Edit", "Bearbeiten" },
    [T_EDIT_TITLE]    = { "Edit post", "Beitrag bearbeiten" },
    [T_EDIT_SUBMIT]   = { "Save changes", "\xC3\x84nderungen speichern" },
    [T_EDIT_FAILED]   = { "The changes were not saved.", "Die \xC3\x84nderungen wurden nicht gespeichert." },
    [T_EDIT_KEEP_TTL] = { "keep the current expiry", "Ablauf beibehalten" },
    [T_EDIT_HINT]     = { "Only what you change is sent. Empty the place fields to remove the place, "
                          "the tags field to remove all tags.",
                          "Nur Ge\xC3\xA4ndertes wird gesendet. Ortsfelder leeren entfernt den Ort, das "
                          "Schlagwortfeld leeren entfernt alle Schlagw\xC3\xB6rter." },
    [T_EDIT_NOT_AUTHOR] = { "Only the node that wrote a post may edit it, and this node did not write this one.",
                            "Nur der Knoten, der einen Beitrag geschrieben hat, darf ihn bearbeiten, und dieser "
                            "Knoten hat ihn nicht geschrieben." },
    [T_EDIT_GONE]     = { "This post has expired (or this node does not have it), so it can no longer be edited.",
                          "Dieser Beitrag ist abgelaufen (oder diesem Knoten unbekannt) und kann nicht mehr "
                          "bearbeitet werden." },
    [T_EDITED]        = { "edited", "bearbeitet" },
    [T_EDIT_ONE]      = { "edit", "\xC3\x84nderung" },
    [T_EDIT_MANY]     = { "edits", "\xC3\x84nderungen" },
    [T_EXPIRED_BY]    = { "Ended by", "Beendet von" },
    [T_NEAR]          = { "Near", "In der N\xC3\xA4he von" },
    [T_NEAR_LAT]      = { "Latitude", "Breitengrad" },
    [T_NEAR_LNG]      = { "Longitude", "L\xC3\xA4ngengrad" },
    [T_NEAR_RADIUS]   = { "Radius, km", "Umkreis, km" },
    [T_ORDER]         = { "Order", "Reihenfolge" },
    [T_ORDER_NEWEST]  = { "newest first", "neueste zuerst" },
    [T_ORDER_RELEVANCE] = { "best match first", "beste Treffer zuerst" },
    [T_ORDER_DISTANCE]  = { "nearest first", "n\xC3\xA4" "chste zuerst" },
    [T_NEAR_APPLY]    = { "Show nearby", "In der N\xC3\xA4he zeigen" },
    [T_NEAR_CLEAR]    = { "anywhere", "\xC3\xBC" "berall" },
    [T_KM_AWAY]       = { "%s km away", "%s km entfernt" },
    [T_ERR_RADIUS]    = { "must be a number of kilometres greater than 0",
                          "muss eine Zahl von Kilometern gr\xC3\xB6\xC3\x9F" "er als 0 sein" },
    [T_EDITED_FACT]   = { "Edited", "Bearbeitet" },
    [T_NEAR_FAILED]   = { "The place filter was not applied.", "Der Ortsfilter wurde nicht angewendet." },
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
    ".edited,.dist{font-style:italic}\n"
    "a.edit{display:inline-block;padding:.6rem .25rem;min-height:44px}\n"
    "details.near{background:#fff;border:1px solid #c9c4b8;border-radius:.5rem;padding:0 .75rem;"
    "margin:.5rem 0}\n"
    "details.near summary{min-height:44px;padding:.6rem 0;font-weight:600;cursor:pointer}\n"
    "form.near .row{display:flex;gap:.5rem;align-items:flex-end;margin:0 0 .75rem}\n"
    "form.near .row .field{flex:1;min-width:0;margin:0}\n"
    "form.near .field.bad input{border-color:#a4282b;border-width:2px}\n"
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

/*  The "Near" filter of / and /search as the request gave it (strings
    borrowed from the request's args, NULL when absent or empty) and as
    parsed; bad names the field that did not parse (0 = none). */
typedef struct {
    const char *lat, *lng, *radius, *order;
    double      la, ln, r;
    int         given;               /* lat, lng and radius all parse */
    int         by_distance;         /* order=distance with the filter */
    int         bad;                 /* the s_field_t at fault, or 0 */
    char        problem [160];       /* its message (the program's or the market's) */
} s_near_t;

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

/*  Append path (trusted; ID segments already encoded) and the query pairs
    (key literal, value untrusted; NULL or empty values left out) of the
    NULL-terminated list ap to h. Answers 1 when no "?" was written. */
static int
s_query (node_html_t *h, const char *path, va_list ap)
{
    node_html_raw (h, path);
    int first = strchr (path, '?') == NULL;
    const char *key;
    while ((key = va_arg (ap, const char *))) {
        const char *value = va_arg (ap, const char *);
        if (!value || !*value)
            continue;
        node_html_raw (h, first? "?": "&amp;");
        node_html_raw (h, key);
        node_html_raw (h, "=");
        node_html_url_part (h, value);
        first = 0;
    }
    return first;
}

/*  Append a URL: path and the query pairs as s_query, then lang when it
    was chosen. */
static void
s_url (s_ctx_t *ctx, const char *path, ...)
{
    va_list ap;
    va_start (ap, path);
    int first = s_query (ctx->h, path, ap);
    va_end (ap);
    if (ctx->lang_explicit) {
        node_html_raw (ctx->h, first? "?lang=": "&amp;lang=");
        node_html_raw (ctx->h, s_lang_codes [ctx->lang]);
    }
}

/*  The same URL without lang, as a malloc'd string (the path the language
    links of s_begin extend), or NULL on OOM. */
static char *
s_lang_path (const char *path, ...)
{
    node_html_t *h = node_html_new ();
    if (!h)
        return NULL;
    va_list ap;
    va_start (ap, path);
    s_query (h, path, ap);
    va_end (ap);
    size_t len;
    char *text = node_html_take (h, &len);
    node_html_destroy (&h);
    return text;
}

/*  "/post/ID" + suffix (trusted) without lang, malloc'd; NULL on OOM. */
static char *
s_post_lang_path (const char *id, const char *suffix)
{
    node_html_t *h = node_html_new ();
    if (!h)
        return NULL;
    node_html_raw (h, "/post/");
    node_html_url_part (h, id);
    node_html_raw (h, suffix);
    size_t len;
    char *text = node_html_take (h, &len);
    node_html_destroy (&h);
    return text;
}

/*  The near filter's query pairs, for s_url / s_lang_path lists. */
#define S_NEAR_PAIRS(near) \
    "near_lat", (near)->lat, "near_lng", (near)->lng, "radius_km", (near)->radius, "order", (near)->order

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

/*  Hidden fields of the (key literal, value untrusted) pairs, n entries
    (twice the pairs); NULL or empty values left out. */
static void
s_hidden_pairs (s_ctx_t *ctx, const char *const *pairs, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        if (pairs [i + 1] && *pairs [i + 1]) {
            node_html_raw (ctx->h, "<input type=\"hidden\" name=\"");
            node_html_raw (ctx->h, pairs [i]);
            node_html_raw (ctx->h, "\" value=\"");
            node_html_text (ctx->h, pairs [i + 1]);
            node_html_raw (ctx->h, "\">");
        }
}

/*  The search box (on / and /search); q is untrusted; a near filter (may
    be NULL) rides along. */
static void
s_search_form (s_ctx_t *ctx, const char *q, const s_near_t *near)
{
    node_html_t *h = ctx->h;
    node_html_raw (h, "<form class=\"search\" role=\"search\" action=\"/search\" method=\"get\">");
    s_hidden (ctx, 0);
    if (near && near->given) {
        const char *const pairs [] = { S_NEAR_PAIRS (near) };
        s_hidden_pairs (ctx, pairs, sizeof pairs / sizeof pairs [0]);
    }
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
    strings (text may be T_COUNT when untrusted, the capability's message,
    says it instead); detail (untrusted, may be NULL) is shown below.
    with_login adds the link to /login before the one back. */
static int
s_alert_page (s_ctx_t *ctx, int status, s_text_t title, s_text_t text, const char *untrusted,
              const char *detail, int with_login, node_page_response_t *resp)
{
    s_begin (ctx, s_t (ctx, title), T_COUNT, "/");
    node_html_raw (ctx->h, "<h1>");
    node_html_raw (ctx->h, s_t (ctx, title));
    node_html_raw (ctx->h, "</h1><p class=\"alert\" role=\"alert\">");
    if (text != T_COUNT)
        node_html_raw (ctx->h, s_t (ctx, text));
    else
        node_html_text (ctx->h, untrusted);
    if (detail) {
        node_html_raw (ctx->h, "<br><code>");
        node_html_text (ctx->h, detail);
        node_html_raw (ctx->h, "</code>");
    }
    node_html_raw (ctx->h, "</p><p><a href=\"");
    if (with_login) {
        s_url (ctx, "/login", NULL);
        node_html_raw (ctx->h, "\">");
        node_html_raw (ctx->h, s_t (ctx, T_LOGIN));
        node_html_raw (ctx->h, "</a> \xC2\xB7 <a href=\"");
    }
    s_url (ctx, "/", NULL);
    node_html_raw (ctx->h, "\">");
    node_html_raw (ctx->h, s_t (ctx, T_BACK));
    node_html_raw (ctx->h, "</a></p>");
    return s_finish (ctx, status, resp);
}

static int
s_problem (s_ctx_t *ctx, int status, s_text_t title, s_text_t text, const char *detail,
           node_page_response_t *resp)
{
    return s_alert_page (ctx, status, title, text, NULL, detail, 0, resp);
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

/*  A capability failed: a page with its status and message; frees
    message. */
static int
s_failed (s_ctx_t *ctx, int rc, char *message, node_page_response_t *resp)
{
    if (rc != HEARTH_ENOMEM) {
        int status = s_status_of (rc);
        s_text_t title = status == 400? T_BAD_REQUEST: status == 404? T_NOT_FOUND
                       : status == 403? T_FORBIDDEN: T_ERROR;
        rc = s_alert_page (ctx, status, title, T_COUNT, message? message: hearth_strerror (rc), NULL, 0,
                           resp);
    }
    free (message);
    return rc;
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
    return s_alert_page (ctx, 403, T_FORBIDDEN, T_FORBIDDEN_CLIENT, NULL, NULL, 1, resp);
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

/*  A fact row: label (the program's) and a value written by the caller. */
static void
s_fact (s_ctx_t *ctx, s_text_t label)
{
    node_html_raw (ctx->h, "<dt>");
    node_html_raw (ctx->h, s_t (ctx, label));
    node_html_raw (ctx->h, "</dt><dd>");
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

/*  1 when this node wrote post (its author is node.id's node_id). */
static int
s_is_own (const s_ctx_t *ctx, const json_t *post)
{
    const char *author = s_str (post, "author"), *me = s_str (ctx->id, "node_id");
    return author && me && strcmp (author, me) == 0;
}

/*  "edited 5 min ago · 2 edits" of a post its author edited (updated_at,
    history); nothing for one never edited. */
static void
s_edited (s_ctx_t *ctx, const json_t *post)
{
    const char *updated = s_str (post, "updated_at");
    json_int_t history = json_integer_value (json_object_get (post, "history"));
    if (!updated || history <= 0)
        return;
    node_html_raw (ctx->h, "<span class=\"edited\">");
    node_html_raw (ctx->h, s_t (ctx, T_EDITED));
    node_html_raw (ctx->h, " ");
    s_age (ctx, updated);
    node_html_printf (ctx->h, " \xC2\xB7 %lld %s</span>", (long long) history,
                      s_t (ctx, history == 1? T_EDIT_ONE: T_EDIT_MANY));
}

/*  "1.2 km away" ("1,2 km entfernt") of a post listed with a near filter. */
static void
s_distance (s_ctx_t *ctx, const json_t *post)
{
    const json_t *d = json_object_get (post, "distance_km");
    if (!json_is_number (d))
        return;
    char km [32], line [64];
    snprintf (km, sizeof km, "%.1f", json_number_value (d));
    if (ctx->lang == S_DE) {
        char *dot = strchr (km, '.');
        if (dot)
            *dot = ',';
    }
    snprintf (line, sizeof line, s_t (ctx, T_KM_AWAY), km);
    node_html_raw (ctx->h, "<span class=\"dist\">");
    node_html_raw (ctx->h, line);
    node_html_raw (ctx->h, "</span>");
}

/*  The link to a post's edit form. */
static void
s_edit_link (s_ctx_t *ctx, const char *id)
{
    node_html_raw (ctx->h, "<a class=\"edit\" href=\"");
    s_post_path (ctx, id);
    s_url (ctx, "/edit", NULL);
    node_html_raw (ctx->h, "\">");
    node_html_raw (ctx->h, s_t (ctx, T_EDIT));
    node_html_raw (ctx->h, "</a>");
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
    node_html_raw (h, "</span>");
    s_edited (ctx, post);
    s_distance (ctx, post);
    node_html_raw (h, "</div><h2><a href=\"");
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
    node_html_raw (h, "</span>");
    if (s_is_own (ctx, post))
        s_edit_link (ctx, id);
    node_html_raw (h, "</div></article>\n");
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

/* ---- form fields ------------------------------------------------------------------------- */

/*  The form's fields; an error names one of them. */
typedef enum {
    F_NONE, F_CATEGORY, F_TITLE, F_BODY, F_TAGS, F_LOCATION, F_TTL,
    F_NEAR_LAT, F_NEAR_LNG, F_NEAR_RADIUS
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

/* ---- / ------------------------------------------------------------------------------------ */

/*  The near filter of the request (near_lat, near_lng, radius_km, order):
    all three numbers or none; radius > 0 (the market checks the ranges and
    the largest radius). A bad one is named in near->bad / problem. */
static void
s_near_parse (s_ctx_t *ctx, s_near_t *near)
{
    memset (near, 0, sizeof *near);
    near->lat = s_arg_set (ctx, "near_lat");
    near->lng = s_arg_set (ctx, "near_lng");
    near->radius = s_arg_set (ctx, "radius_km");
    near->order = s_arg_set (ctx, "order");
    if (!near->lat && !near->lng && !near->radius)
        return;
    const struct { const char *text; double *out; s_field_t field; s_text_t label, err; } f [] = {
        { near->lat, &near->la, F_NEAR_LAT, T_NEAR_LAT, T_ERR_NUMBER },
        { near->lng, &near->ln, F_NEAR_LNG, T_NEAR_LNG, T_ERR_NUMBER },
        { near->radius, &near->r, F_NEAR_RADIUS, T_NEAR_RADIUS, T_ERR_RADIUS }
    };
    for (size_t i = 0; i < sizeof f / sizeof f [0]; i++)
        if (!f [i].text || s_coordinate (f [i].text, f [i].out)
        ||  (f [i].field == F_NEAR_RADIUS && !(near->r > 0))) {
            near->bad = f [i].field;
            snprintf (near->problem, sizeof near->problem, "%s: %s", s_t (ctx, f [i].label),
                      s_t (ctx, f [i].err));
            return;
        }
    near->given = 1;
    near->by_distance = near->order && strcmp (near->order, "distance") == 0;
}

/*  Add the parsed filter to a market.list / market.search input. */
static void
s_near_input (json_t *input, const s_near_t *near)
{
    if (!input || !near->given)
        return;
    json_object_set_new (input, "location_filter",
                         json_pack ("{s:{s:f, s:f}, s:f}", "center", "lat", near->la, "lng", near->ln,
                                    "radius_km", near->r));
    if (near->by_distance)
        json_object_set_new (input, "order", json_string ("distance"));
}

/*  The market refused the filter (bad_request naming location_filter.*):
    put its message beside the field; 1 if it was about the filter. */
static int
s_near_refused (s_near_t *near, int rc, const char *message)
{
    static const struct { const char *prefix; s_field_t field; } names [] = {
        { "location_filter.center.lat", F_NEAR_LAT }, { "location_filter.center.lng", F_NEAR_LNG },
        { "location_filter.radius_km", F_NEAR_RADIUS }, { "location_filter", F_NEAR_LAT }
    };
    if (rc != HEARTH_EINVAL || !message)
        return 0;
    for (size_t i = 0; i < sizeof names / sizeof names [0]; i++)
        if (strncmp (message, names [i].prefix, strlen (names [i].prefix)) == 0) {
            near->bad = names [i].field;
            snprintf (near->problem, sizeof near->problem, "%s", message);
            return 1;
        }
    return 0;
}

/*  The "Near" form of / and /search (GET to action; keep_key/keep_value
    pairs, untrusted values, ride along as hidden fields): latitude,
    longitude, radius, order (default_order or distance), and a link back
    to "anywhere" (clear) when a filter is given. */
static void
s_near_form (s_ctx_t *ctx, const s_near_t *near, const char *action, const char *default_order,
             s_text_t default_label, const char *const *keep, size_t n_keep, const char *clear_url)
{
    node_html_t *h = ctx->h;
    node_html_raw (h, "<form class=\"near\" method=\"get\" action=\"");
    node_html_raw (h, action);
    node_html_raw (h, "\">");
    s_hidden (ctx, 0);
    s_hidden_pairs (ctx, keep, n_keep);
    /*  Folded away until a filter is given (or refused). */
    node_html_raw (h, near->given || near->bad? "<details class=\"near\" open><summary>"
                                              : "<details class=\"near\"><summary>");
    node_html_raw (h, s_t (ctx, T_NEAR));
    if (near->given) {
        node_html_raw (h, " ");
        node_html_text (h, near->lat);
        node_html_raw (h, ", ");
        node_html_text (h, near->lng);
        node_html_raw (h, " (");
        node_html_text (h, near->radius);
        node_html_raw (h, " km)");
    }
    node_html_raw (h, "</summary>");
    if (near->bad) {
        node_html_raw (h, "<p class=\"alert\" role=\"alert\">");
        node_html_raw (h, s_t (ctx, T_NEAR_FAILED));
        node_html_raw (h, "</p>");
    }
    const struct { s_field_t field; const char *id; s_text_t label; const char *value; } f [] = {
        { F_NEAR_LAT, "near_lat", T_NEAR_LAT, near->lat }, { F_NEAR_LNG, "near_lng", T_NEAR_LNG, near->lng },
        { F_NEAR_RADIUS, "radius_km", T_NEAR_RADIUS, near->radius }
    };
    node_html_raw (h, "<div class=\"row\">");
    for (size_t i = 0; i < sizeof f / sizeof f [0]; i++) {
        s_field_begin (ctx, f [i].field, near->bad, f [i].id, f [i].label, NULL);
        s_input (ctx, f [i].id, "text", f [i].value, 24, " inputmode=\"decimal\"");
        node_html_raw (h, "</div>");
    }
    node_html_raw (h, "</div>");
    /*  The error below the row, naming its field (s_field_error's ids). */
    for (size_t i = 0; i < sizeof f / sizeof f [0]; i++)
        s_field_error (ctx, f [i].field, near->bad, near->problem);
    node_html_raw (h, "<div class=\"row\"><div class=\"field\"><label for=\"order\">");
    node_html_raw (h, s_t (ctx, T_ORDER));
    node_html_raw (h, "</label><select id=\"order\" name=\"order\"><option value=\"");
    node_html_raw (h, default_order);
    node_html_raw (h, near->by_distance || (near->order && strcmp (near->order, "distance") == 0)
                      ? "\">": "\" selected>");
    node_html_raw (h, s_t (ctx, default_label));
    node_html_raw (h, "</option><option value=\"distance\"");
    node_html_raw (h, near->order && strcmp (near->order, "distance") == 0? " selected>": ">");
    node_html_raw (h, s_t (ctx, T_ORDER_DISTANCE));
    node_html_raw (h, "</option></select></div><button type=\"submit\">");
    node_html_raw (h, s_t (ctx, T_NEAR_APPLY));
    node_html_raw (h, "</button></div>");
    if (near->given || near->bad) {
        node_html_raw (h, "<p><a class=\"chip\" href=\"");
        node_html_raw (h, clear_url);
        node_html_raw (h, "\">\xC3\x97 ");
        node_html_raw (h, s_t (ctx, T_NEAR_CLEAR));
        node_html_raw (h, "</a></p>");
    }
    node_html_raw (h, "</details></form>");
}

/*  The URL (with lang) of a view without its near filter, malloc'd, for
    s_near_form's clear link; NULL on OOM. */
static char *
s_clear_url (s_ctx_t *ctx, const char *path, const char *k1, const char *v1, const char *k2,
             const char *v2)
{
    node_html_t *saved = ctx->h;
    if (!(ctx->h = node_html_new ())) {
        ctx->h = saved;
        return NULL;
    }
    s_url (ctx, path, k1, v1, k2, v2, NULL);
    size_t len;
    char *text = node_html_take (ctx->h, &len);
    node_html_destroy (&ctx->h);
    ctx->h = saved;
    return text;
}

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
    s_near_t near;
    s_near_parse (ctx, &near);
    json_t *output = NULL;
    if (!near.bad) {
        json_t *input = json_pack ("{s:I}", "limit", (json_int_t) limit);
        if (input && category)
            json_object_set_new (input, "category", s_jstr (category));
        if (input && tag)
            json_object_set_new (input, "tags", json_pack ("[o]", s_jstr (tag)));
        s_near_input (input, &near);
        char *message;
        int rc = s_call (ctx, "market.list", input, &output, &message);
        if (rc && !s_near_refused (&near, rc, message))
            return s_failed (ctx, rc, message, resp);
        free (message);
    }
    /*  Language links keep the filters. */
    char *lang_path = s_lang_path ("/", "category", category, "tag", tag, S_NEAR_PAIRS (&near), NULL);
    char *clear = s_clear_url (ctx, "/", "category", category, "tag", tag);
    if (!lang_path || !clear) {
        free (lang_path);
        free (clear);
        json_decref (output);
        return HEARTH_ENOMEM;
    }
    s_begin (ctx, NULL, T_NEWEST, lang_path);
    free (lang_path);
    s_search_form (ctx, NULL, &near);

    /*  Category chips (keeping the tag and place), then the tag form
        (keeping the category and place). */
    node_html_raw (h, "<nav class=\"chips\" aria-label=\"");
    node_html_raw (h, s_t (ctx, T_F_CATEGORY));
    node_html_raw (h, "\">");
    node_html_raw (h, category? "<a class=\"chip\" href=\"": "<a class=\"chip on\" href=\"");
    s_url (ctx, "/", "tag", tag, S_NEAR_PAIRS (&near), NULL);
    node_html_raw (h, "\">");
    node_html_raw (h, s_t (ctx, T_ALL));
    node_html_raw (h, "</a>");
    for (size_t i = 0; i < S_N_CATEGORIES; i++) {
        int on = category && strcmp (category, s_categories [i].name) == 0;
        node_html_raw (h, on? "<a class=\"chip on\" href=\"": "<a class=\"chip\" href=\"");
        s_url (ctx, "/", "category", s_categories [i].name, "tag", tag, S_NEAR_PAIRS (&near), NULL);
        node_html_raw (h, "\">");
        node_html_raw (h, s_t (ctx, s_categories [i].label));
        node_html_raw (h, "</a>");
    }
    node_html_raw (h, "</nav><form class=\"tagform\" action=\"/\" method=\"get\">");
    s_hidden (ctx, 0);
    const char *const keep_tag [] = { "category", category, S_NEAR_PAIRS (&near) };
    s_hidden_pairs (ctx, keep_tag, sizeof keep_tag / sizeof keep_tag [0]);
    node_html_raw (h, "<label for=\"tag\">");
    node_html_raw (h, s_t (ctx, T_TAG));
    node_html_raw (h, "</label><input type=\"text\" id=\"tag\" name=\"tag\" maxlength=\"32\" value=\"");
    node_html_text (h, tag);
    node_html_raw (h, "\"><button type=\"submit\">");
    node_html_raw (h, s_t (ctx, T_FILTER));
    node_html_raw (h, "</button>");
    if (tag) {
        node_html_raw (h, "<a class=\"chip\" href=\"");
        s_url (ctx, "/", "category", category, S_NEAR_PAIRS (&near), NULL);
        node_html_raw (h, "\">\xC3\x97 ");
        node_html_raw (h, s_t (ctx, T_ALL_TAGS));
        node_html_raw (h, "</a>");
    }
    node_html_raw (h, "</form>");
    const char *const keep_near [] = { "category", category, "tag", tag };
    s_near_form (ctx, &near, "/", "newest", T_ORDER_NEWEST, keep_near, 4, clear);
    free (clear);

    if (near.bad) {
        json_decref (output);
        return s_finish (ctx, 400, resp);
    }
    s_cards (ctx, output, T_NO_POSTS);
    size_t shown = json_array_size (json_object_get (output, "posts"));
    if (shown == (size_t) limit && limit < NODE_PAGE_MAX_POSTS) {
        char more [16];
        long next = limit + NODE_PAGE_POSTS < NODE_PAGE_MAX_POSTS? limit + NODE_PAGE_POSTS: NODE_PAGE_MAX_POSTS;
        snprintf (more, sizeof more, "%ld", next);
        node_html_raw (h, "<a class=\"more\" href=\"");
        s_url (ctx, "/", "category", category, "tag", tag, "limit", more, S_NEAR_PAIRS (&near), NULL);
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
    s_near_t near;
    s_near_parse (ctx, &near);
    if (q && !near.bad) {
        json_t *input = json_pack ("{s:o, s:i}", "query", s_jstr (q), "k", NODE_PAGE_SEARCH_K);
        s_near_input (input, &near);
        rc = s_call (ctx, "market.search", input, &output, &message);
        if (rc == HEARTH_ENOMEM) {
            free (message);
            return rc;
        }
        if (s_near_refused (&near, rc, message))
            rc = HEARTH_OK;
    }
    char *lang_path = s_lang_path ("/search", "q", q, S_NEAR_PAIRS (&near), NULL);
    char *clear = s_clear_url (ctx, "/search", "q", q, NULL, NULL);
    if (!lang_path || !clear) {
        free (lang_path);
        free (clear);
        json_decref (output);
        free (message);
        return HEARTH_ENOMEM;
    }
    s_begin (ctx, q? q: s_t (ctx, T_SEARCH), T_COUNT, lang_path);
    free (lang_path);
    s_search_form (ctx, q, &near);
    const char *const keep [] = { "q", q };
    s_near_form (ctx, &near, "/search", "relevance", T_ORDER_RELEVANCE, keep, 2, clear);
    free (clear);
    int status = 200;
    if (near.bad)
        status = 400;
    else if (q && rc) {
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
        return s_failed (ctx, rc, message, resp);
    }
    const json_t *post = json_object_get (output, "post");
    const char *author = s_str (post, "author");
    int own = s_is_own (ctx, post);
    int expired = json_is_true (json_object_get (post, "expired"));
    char *lang_path = s_post_lang_path (id, "");
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
        node_html_raw (h, ".");
        const char *by = s_str (post, "expired_by_short_id");
        if (by) {
            node_html_raw (h, " <span class=\"expired-by\">");
            node_html_raw (h, s_t (ctx, T_EXPIRED_BY));
            node_html_raw (h, " ");
            s_short_id (ctx, s_str (post, "expired_by"));
            if (s_str (post, "expired_at")) {
                node_html_raw (h, ", ");
                s_when (ctx, s_str (post, "expired_at"));
            }
            node_html_raw (h, "</span>");
        }
        node_html_raw (h, "</p>");
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
    node_html_raw (h, ")</dd>");
    if (s_str (post, "updated_at")) {
        s_fact (ctx, T_EDITED_FACT);
        s_when (ctx, s_str (post, "updated_at"));
        node_html_raw (h, " (");
        s_edited (ctx, post);
        node_html_raw (h, ")</dd>");
    }
    node_html_raw (h, "</dl>");
    if (own && !expired) {
        node_html_raw (h, "<p>");
        s_edit_link (ctx, id);
        node_html_raw (h, "</p>");
    }
    node_html_raw (h, "</article>");

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
        return s_failed (ctx, rc, message, resp);
    }
    json_decref (output);
    return s_redirect (ctx, "/post/", id, resp);
}

/* ---- /new ------------------------------------------------------------------------------------ */

/*  The values a post form shows (untrusted; NULL shows empty). */
typedef struct {
    const char *category, *title, *body, *tags, *label, *lat, *lng, *ttl, *client_id;
} s_form_t;

/*  The form's values as the request sent them. */
static void
s_form_from_args (s_ctx_t *ctx, s_form_t *form)
{
    form->category = s_arg (ctx, "category");
    form->title = s_arg (ctx, "title");
    form->body = s_arg (ctx, "body");
    form->tags = s_arg (ctx, "tags");
    form->label = s_arg (ctx, "label");
    form->lat = s_arg (ctx, "lat");
    form->lng = s_arg (ctx, "lng");
    form->ttl = s_arg (ctx, "ttl_seconds");
    form->client_id = s_arg_set (ctx, "client_id");
}

/*  The form's client id: the one it was sent with, else a fresh one
    ("page-" and 24 hex digits), so a form sent twice (a double tap, a
    reload) is one write. */
static void
s_client_id (const char *kept, char *out, size_t cap)
{
    if (kept && strlen (kept) < cap) {
        snprintf (out, cap, "%s", kept);
        return;
    }
    uint8_t rnd [12];
    char hex [2 * sizeof rnd + 1];
    randombytes_buf (rnd, sizeof rnd);
    hearth_hex_encode (rnd, sizeof rnd, hex);
    snprintf (out, cap, "page-%s", hex);
}

/*  The post form (edit_id NULL) or the edit form of post edit_id, with
    form's values and the error (message untrusted, may be NULL) beside
    its field. The edit form has no category and a ttl choice that keeps
    the current expiry by default. */
static int
s_view_form (s_ctx_t *ctx, const char *edit_id, const s_form_t *form, s_field_t bad,
             const char *message, int status, node_page_response_t *resp)
{
    node_html_t *h = ctx->h;
    s_text_t heading = edit_id? T_EDIT_TITLE: T_NEW;
    char *lang_path = edit_id? s_post_lang_path (edit_id, "/edit"): strdup ("/new");
    if (!lang_path)
        return HEARTH_ENOMEM;
    s_begin (ctx, s_t (ctx, heading), edit_id? T_COUNT: T_NEW, lang_path);
    free (lang_path);
    node_html_raw (h, "<h1>");
    node_html_raw (h, s_t (ctx, heading));
    node_html_raw (h, "</h1>");
    s_write_hint (ctx);
    if (message) {
        node_html_raw (h, "<div class=\"alert\" role=\"alert\"><strong>");
        node_html_raw (h, s_t (ctx, edit_id? T_EDIT_FAILED: T_FORM_FAILED));
        node_html_raw (h, "</strong> ");
        node_html_text (h, message);
        node_html_raw (h, "</div>");
    }
    char client_id [40];
    s_client_id (form->client_id, client_id, sizeof client_id);
    if (edit_id) {
        node_html_raw (h, "<form class=\"post-form edit-form\" method=\"post\" action=\"");
        s_post_path (ctx, edit_id);
        node_html_raw (h, "/edit\"><p class=\"hint\">");
        node_html_raw (h, s_t (ctx, T_EDIT_HINT));
        node_html_raw (h, "</p>");
    }
    else
        node_html_raw (h, "<form class=\"post-form\" method=\"post\" action=\"/new\">");
    s_hidden (ctx, 1);
    node_html_raw (h, "<input type=\"hidden\" name=\"client_id\" value=\"");
    node_html_text (h, client_id);
    node_html_raw (h, "\">");

    if (!edit_id) {
        s_field_begin (ctx, F_CATEGORY, bad, "category", T_F_CATEGORY, NULL);
        node_html_raw (h, "<select id=\"category\" name=\"category\" required><option value=\"\">");
        node_html_raw (h, s_t (ctx, T_F_CHOOSE));
        node_html_raw (h, "</option>");
        for (size_t i = 0; i < S_N_CATEGORIES; i++) {
            node_html_raw (h, "<option value=\"");
            node_html_raw (h, s_categories [i].name);
            node_html_raw (h, form->category && strcmp (form->category, s_categories [i].name) == 0
                              ? "\" selected>": "\">");
            node_html_raw (h, s_t (ctx, s_categories [i].label));
            node_html_raw (h, "</option>");
        }
        node_html_raw (h, "</select>");
        s_field_error (ctx, F_CATEGORY, bad, message);
        node_html_raw (h, "</div>");
    }

    s_field_begin (ctx, F_TITLE, bad, "title", T_F_TITLE, NULL);
    s_input (ctx, "title", "text", form->title, 200, " required");
    s_field_error (ctx, F_TITLE, bad, message);
    node_html_raw (h, "</div>");

    s_field_begin (ctx, F_BODY, bad, "body", T_F_BODY, NULL);
    node_html_raw (h, "<textarea id=\"body\" name=\"body\" maxlength=\"8000\" required>");
    node_html_text (h, form->body);
    node_html_raw (h, "</textarea>");
    s_field_error (ctx, F_BODY, bad, message);
    node_html_raw (h, "</div>");

    s_field_begin (ctx, F_TAGS, bad, "tags", T_F_TAGS, NULL);
    s_input (ctx, "tags", "text", form->tags, 0, NULL);
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
    s_input (ctx, "label", "text", form->label, 120, NULL);
    node_html_raw (h, "</div>");
    s_field_begin (ctx, F_LOCATION, bad, "lat", T_F_LAT, "half");
    s_input (ctx, "lat", "text", form->lat, 24, " inputmode=\"decimal\"");
    node_html_raw (h, "</div>");
    s_field_begin (ctx, F_LOCATION, bad, "lng", T_F_LNG, "half");
    s_input (ctx, "lng", "text", form->lng, 24, " inputmode=\"decimal\"");
    node_html_raw (h, "</div>");
    s_field_error (ctx, F_LOCATION, bad, message);
    node_html_raw (h, "</fieldset>");

    s_field_begin (ctx, F_TTL, bad, "ttl_seconds", T_F_TTL, NULL);
    static const struct { const char *seconds; s_text_t label; } ttls [] = {
        { "86400", T_DAY1 }, { "259200", T_DAYS3 }, { "604800", T_DAYS7 },
        { "1209600", T_DAYS14 }, { "2592000", T_DAYS30 }
    };
    const char *v_ttl = form->ttl;
    node_html_raw (h, "<select id=\"ttl_seconds\" name=\"ttl_seconds\">");
    int chosen = 0;
    if (edit_id) {
        chosen = !v_ttl || !*v_ttl;
        node_html_raw (h, chosen? "<option value=\"\" selected>": "<option value=\"\">");
        node_html_raw (h, s_t (ctx, T_EDIT_KEEP_TTL));
        node_html_raw (h, "</option>");
    }
    for (size_t i = 0; i < sizeof ttls / sizeof ttls [0]; i++) {
        int on = v_ttl? strcmp (v_ttl, ttls [i].seconds) == 0
                      : !edit_id && strcmp (ttls [i].seconds, "604800") == 0;
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
    node_html_raw (h, s_t (ctx, edit_id? T_EDIT_SUBMIT: T_F_SUBMIT));
    node_html_raw (h, "</button></form>");
    return s_finish (ctx, status, resp);
}

/*  GET /new: the empty post form. */
static int
s_view_new (s_ctx_t *ctx, node_page_response_t *resp)
{
    s_form_t form = { 0 };
    return s_view_form (ctx, NULL, &form, F_NONE, NULL, 200, resp);
}

/*  The form sent back with its values and the error (400). */
static int
s_form_again (s_ctx_t *ctx, const char *edit_id, s_field_t bad, const char *message,
              node_page_response_t *resp)
{
    s_form_t form;
    s_form_from_args (ctx, &form);
    return s_view_form (ctx, edit_id, &form, bad, message, 400, resp);
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

/*  The place and ttl fields of a form, checked in the person's language
    first: *location is the place object, or NULL when all three fields
    are empty; *ttl is the whole seconds, or LLONG_MIN when none was
    chosen (any other number goes to the market, which checks its range).
    F_NONE, or the bad field with problem (cap bytes) filled. */
static s_field_t
s_form_place_ttl (s_ctx_t *ctx, json_t **location, long long *ttl, char *problem, size_t cap)
{
    *location = NULL;
    *ttl = LLONG_MIN;
    const char *lat = s_arg_set (ctx, "lat"), *lng = s_arg_set (ctx, "lng");
    const char *label = s_arg_set (ctx, "label"), *ttl_text = s_arg_set (ctx, "ttl_seconds");
    double la = 0, ln = 0;
    int lat_bad = lat && s_coordinate (lat, &la);
    if (lat_bad || (lng && s_coordinate (lng, &ln))) {
        snprintf (problem, cap, "%s: %s", s_t (ctx, lat_bad? T_F_LAT: T_F_LNG), s_t (ctx, T_ERR_NUMBER));
        return F_LOCATION;
    }
    if (!lat != !lng || (label && !lat)) {
        snprintf (problem, cap, "%s: %s", s_t (ctx, T_LOCATION), s_t (ctx, T_ERR_PAIR));
        return F_LOCATION;
    }
    if (ttl_text) {
        char *end;
        errno = 0;
        long long v = strtoll (ttl_text, &end, 10);
        if (errno || end == ttl_text || *end != '\0') {
            snprintf (problem, cap, "%s: %s", s_t (ctx, T_F_TTL), s_t (ctx, T_ERR_TTL));
            return F_TTL;
        }
        *ttl = v;
    }
    if (lat) {
        *location = json_pack ("{s:f, s:f}", "lat", la, "lng", ln);
        if (*location && label)
            json_object_set_new (*location, "label", s_jstr (label));
    }
    return F_NONE;
}

/*  After a write: 303 to /post/ID, or the form again with the market's
    message beside its field (bad_request), or the page for the other
    failures (edit: unauthorized and not_found get the edit's own pages).
    Frees message and output. */
static int
s_written (s_ctx_t *ctx, const char *edit_id, int rc, json_t *output, char *message,
           node_page_response_t *resp)
{
    if (rc == HEARTH_EINVAL || rc == HEARTH_ETOOBIG || rc == HEARTH_EEXISTS) {
        rc = s_form_again (ctx, edit_id, s_field_of (message), message? message: hearth_strerror (rc), resp);
        free (message);
        return rc;
    }
    if (edit_id && (rc == HEARTH_EUNAUTHORIZED || rc == HEARTH_ENOTFOUND)) {
        free (message);
        return rc == HEARTH_EUNAUTHORIZED
            ? s_problem (ctx, 403, T_FORBIDDEN, T_EDIT_NOT_AUTHOR, NULL, resp)
            : s_problem (ctx, 404, T_NOT_FOUND, T_EDIT_GONE, NULL, resp);
    }
    if (rc)
        return s_failed (ctx, rc, message, resp);
    const char *id = edit_id? edit_id: s_str (output, "event_id");
    rc = id? s_redirect (ctx, "/post/", id, resp): HEARTH_ENOMEM;
    json_decref (output);
    return rc;
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
    char problem [160] = "";
    json_t *location;
    long long ttl;
    s_field_t bad = s_form_place_ttl (ctx, &location, &ttl, problem, sizeof problem);
    if (bad != F_NONE) {
        json_decref (input);
        return s_form_again (ctx, NULL, bad, problem, resp);
    }
    if (location)
        json_object_set_new (input, "location", location);
    if (ttl != LLONG_MIN)
        json_object_set_new (input, "ttl_seconds", json_integer (ttl));
    json_t *output;
    char *message;
    int rc = s_call (ctx, "market.post", input, &output, &message);
    return s_written (ctx, NULL, rc, output, message, resp);
}

/*  market.get of a post the edit form is about: 0 and *post (owned), or
    the page already answered in *rc (unknown or expired: 404; another
    node's: 403; a failure). */
static int
s_editable (s_ctx_t *ctx, const char *id, json_t **post, int *rc, node_page_response_t *resp)
{
    json_t *output;
    char *message;
    *post = NULL;
    int call = s_call (ctx, "market.get", json_pack ("{s:o}", "event_id", s_jstr (id)), &output, &message);
    if (call == HEARTH_ENOTFOUND || call == HEARTH_EINVAL) {
        free (message);
        *rc = s_problem (ctx, 404, T_NOT_FOUND, T_EDIT_GONE, NULL, resp);
        return -1;
    }
    if (call) {
        *rc = s_failed (ctx, call, message, resp);
        return -1;
    }
    *post = json_incref (json_object_get (output, "post"));
    json_decref (output);
    if (!*post) {
        *rc = HEARTH_ENOMEM;
        return -1;
    }
    if (json_is_true (json_object_get (*post, "expired")) || !s_is_own (ctx, *post)) {
        *rc = json_is_true (json_object_get (*post, "expired"))
            ? s_problem (ctx, 404, T_NOT_FOUND, T_EDIT_GONE, NULL, resp)
            : s_problem (ctx, 403, T_FORBIDDEN, T_EDIT_NOT_AUTHOR, NULL, resp);
        json_decref (*post);
        *post = NULL;
        return -1;
    }
    return 0;
}

/*  GET /post/ID/edit: the form filled with the post as it is now. */
static int
s_view_edit (s_ctx_t *ctx, const char *id, node_page_response_t *resp)
{
    json_t *post;
    int rc;
    if (s_editable (ctx, id, &post, &rc, resp))
        return rc;
    /*  At most 16 tags of 32 bytes (the market's caps), joined by ", ". */
    char tags [1024] = "", lat [40] = "", lng [40] = "";
    size_t i, used = 0;
    json_t *tag;
    json_array_foreach (json_object_get (post, "tags"), i, tag) {
        const char *t = json_string_value (tag);
        int n = t? snprintf (tags + used, sizeof tags - used, "%s%s", used? ", ": "", t): 0;
        if (n > 0 && (size_t) n < sizeof tags - used)
            used += (size_t) n;
    }
    const json_t *location = json_object_get (post, "location");
    if (json_is_object (location)) {
        snprintf (lat, sizeof lat, "%.6f", json_number_value (json_object_get (location, "lat")));
        snprintf (lng, sizeof lng, "%.6f", json_number_value (json_object_get (location, "lng")));
    }
    s_form_t form = {
        .title = s_str (post, "title"), .body = s_str (post, "body"), .tags = tags,
        .label = s_str (location, "label"), .lat = *lat? lat: NULL, .lng = *lng? lng: NULL
    };
    rc = s_view_form (ctx, id, &form, F_NONE, NULL, 200, resp);
    json_decref (post);
    return rc;
}

/*  1 when the tags typed (an array) differ from the post's, comparing as
    the market does for ASCII (lower-cased; the market lower-cases the rest). */
static int
s_tags_differ (const json_t *typed, const json_t *current)
{
    if (json_array_size (typed) != json_array_size (current))
        return 1;
    for (size_t i = 0; i < json_array_size (typed); i++) {
        const char *a = json_string_value (json_array_get (typed, i));
        const char *b = json_string_value (json_array_get (current, i));
        if (!a || !b || strcasecmp (a, b) != 0)
            return 1;
    }
    return 0;
}

/*  1 when the place typed (object or NULL) differs from the post's; the
    form shows coordinates to 6 decimals, so closer than that is the same. */
static int
s_place_differs (const json_t *typed, const json_t *current)
{
    if (!json_is_object (typed) || !json_is_object (current))
        return json_is_object (typed) != json_is_object (current);
    const char *a = s_str (typed, "label"), *b = s_str (current, "label");
    return fabs (json_number_value (json_object_get (typed, "lat"))
               - json_number_value (json_object_get (current, "lat"))) > 1e-6
        || fabs (json_number_value (json_object_get (typed, "lng"))
               - json_number_value (json_object_get (current, "lng"))) > 1e-6
        || strcmp (a? a: "", b? b: "") != 0;
}

/*  POST /post/ID/edit: market.update with only the fields that differ from
    the post as it is now (title, body, tags ([] clears), location (null
    clears), ttl when one was chosen); nothing changed is a 303 back. */
static int
s_do_edit (s_ctx_t *ctx, const char *id, node_page_response_t *resp)
{
    if (!ctx->req->may_write)
        return s_forbidden (ctx, resp);
    json_t *post;
    int rc;
    if (s_editable (ctx, id, &post, &rc, resp))
        return rc;
    char problem [160] = "";
    json_t *location;
    long long ttl;
    s_field_t bad = s_form_place_ttl (ctx, &location, &ttl, problem, sizeof problem);
    if (bad != F_NONE) {
        json_decref (post);
        return s_form_again (ctx, id, bad, problem, resp);
    }
    json_t *input = json_pack ("{s:o}", "event_id", s_jstr (id));
    json_t *tags = s_split_tags (s_arg (ctx, "tags"));
    if (!input || !tags) {
        json_decref (input);
        json_decref (tags);
        json_decref (location);
        json_decref (post);
        return HEARTH_ENOMEM;
    }
    static const char *const texts [] = { "title", "body" };
    for (size_t i = 0; i < sizeof texts / sizeof texts [0]; i++) {
        const char *v = s_arg (ctx, texts [i]), *now = s_str (post, texts [i]);
        if (v && (!now || strcmp (v, now) != 0))
            json_object_set_new (input, texts [i], s_jstr (v));
    }
    if (s_tags_differ (tags, json_object_get (post, "tags")))
        json_object_set_new (input, "tags", tags);
    else
        json_decref (tags);
    if (s_place_differs (location, json_object_get (post, "location")))
        json_object_set_new (input, "location", location? location: json_null ());
    else
        json_decref (location);
    if (ttl != LLONG_MIN)
        json_object_set_new (input, "ttl_seconds", json_integer (ttl));
    json_decref (post);
    if (json_object_size (input) == 1) {          /* nothing changed */
        json_decref (input);
        return s_redirect (ctx, "/post/", id, resp);
    }
    const char *client_id = s_arg_set (ctx, "client_id");
    if (client_id)
        json_object_set_new (input, "client_id", s_jstr (client_id));
    json_t *output;
    char *message;
    rc = s_call (ctx, "market.update", input, &output, &message);
    return s_written (ctx, id, rc, output, message, resp);
}

/* ---- /node ------------------------------------------------------------------------------------ */

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
        rc = get? s_view_new (&ctx, resp): post? s_do_post (&ctx, resp): S_WRONG_METHOD;
    else if (strcmp (path, "/login") == 0)
        rc = get? s_view_login (&ctx, resp): S_WRONG_METHOD;
    else if (strcmp (path, "/node") == 0)
        rc = get? s_view_node (&ctx, resp): S_WRONG_METHOD;
    else if (s_post_id (path, id, sizeof id, &suffix) && *suffix == '\0')
        rc = get? s_view_post (&ctx, id, resp): S_WRONG_METHOD;
    else if (s_post_id (path, id, sizeof id, &suffix) && strcmp (suffix, "/expire") == 0)
        rc = post? s_do_expire (&ctx, id, resp): S_WRONG_METHOD;
    else if (s_post_id (path, id, sizeof id, &suffix) && strcmp (suffix, "/edit") == 0)
        rc = get? s_view_edit (&ctx, id, resp): post? s_do_edit (&ctx, id, resp): S_WRONG_METHOD;
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
