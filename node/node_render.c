/*  node_render.c — hearthctl's human-readable output. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gossip_stats.h"
#include "hearth_codec.h"
#include "hearth_json.h"
#include "node_control.h"
#include "node_render.h"

/*  Widths of the fixed columns: a ULID is 26 characters; lamports and
    categories fit 8 and 9; a RFC 3339 second timestamp is 20. */
#define S_ID_WIDTH        26
#define S_LAMPORT_WIDTH   8
#define S_CATEGORY_WIDTH  9
#define S_TAGS_WIDTH      24
#define S_TYPE_WIDTH      26
#define S_AUTHOR_WIDTH    27

static const char *
s_str (const json_t *object, const char *key)
{
    const char *text = json_string_value (json_object_get (object, key));
    return text? text: "";
}

static long long
s_int (const json_t *object, const char *key)
{
    return (long long) json_integer_value (json_object_get (object, key));
}

/*  Length in bytes of the UTF-8 sequence starting with byte c (1 for a
    stray continuation byte, so bad input still advances). */
static size_t
s_utf8_len (unsigned char c)
{
    if (c >= 0xf0) return 4;
    if (c >= 0xe0) return 3;
    if (c >= 0xc0) return 2;
    return 1;
}

/*  Print text cut to width characters, padded to width when pad is set. */
static void
s_cell (FILE *out, const char *text, int width, int pad)
{
    if (!text)
        text = "";
    /*  Count characters, and find the byte offset after width-1 of them. */
    size_t chars = 0, bytes = strlen (text), offset = 0, cut = 0;
    while (offset < bytes) {
        if (chars == (size_t) (width > 0? width - 1: 0))
            cut = offset;
        size_t step = s_utf8_len ((unsigned char) text [offset]);
        offset += step <= bytes - offset? step: bytes - offset;
        chars++;
    }
    int shown;
    if (chars > (size_t) width && width > 0) {
        /*  Newlines and tabs inside a cell would break the table. */
        for (size_t i = 0; i < cut; i++)
            fputc (text [i] == '\n' || text [i] == '\t'? ' ': text [i], out);
        fputs ("…", out);
        shown = width;
    }
    else {
        for (size_t i = 0; i < bytes; i++)
            fputc (text [i] == '\n' || text [i] == '\t'? ' ': text [i], out);
        shown = (int) chars;
    }
    for (int i = shown; pad && i < width; i++)
        fputc (' ', out);
}

void
node_render_cell (FILE *out, const char *text, int width)
{
    s_cell (out, text, width, 1);
}

/*  "ed25519:XXXX-..." short form of a full id text, or the text itself. */
static void
s_short_id (const char *full, char out [HEARTH_SHORT_ID_SIZE + 64])
{
    uint8_t key [HEARTH_KEY_BYTES];
    if (full && hearth_node_id_parse (full, key) == 0)
        hearth_short_id_format (key, out);
    else
        snprintf (out, HEARTH_SHORT_ID_SIZE + 64, "%s", full? full: "");
}

static void
s_tags_text (const json_t *tags, char *out, size_t cap)
{
    out [0] = '\0';
    size_t used = 0, i;
    json_t *tag;
    json_array_foreach (tags, i, tag) {
        const char *text = json_string_value (tag);
        if (!text)
            continue;
        int n = snprintf (out + used, cap - used, "%s%s", used? ",": "", text);
        if (n < 0 || (size_t) n >= cap - used)
            break;
        used += (size_t) n;
    }
}

void
node_render_posts (FILE *out, const json_t *output, int with_score)
{
    json_t *posts = json_object_get (output, "posts");
    size_t count = json_array_size (posts);
    if (count == 0) {
        fprintf (out, "no posts\n");
        return;
    }
    //  With a location filter every post carries distance_km: show it
    int with_distance = json_is_number (json_object_get (json_array_get (posts, 0), "distance_km"));
    if (with_score)
        fprintf (out, "%-7s ", "SCORE");
    if (with_distance)
        fprintf (out, "%9s ", "DISTANCE");
    node_render_cell (out, "EVENT_ID", S_ID_WIDTH);
    fputc (' ', out);
    node_render_cell (out, "LAMPORT", S_LAMPORT_WIDTH);
    fputc (' ', out);
    node_render_cell (out, "CATEGORY", S_CATEGORY_WIDTH);
    fputc (' ', out);
    node_render_cell (out, "TITLE", NODE_RENDER_TITLE_WIDTH);
    fputc (' ', out);
    node_render_cell (out, "TAGS", S_TAGS_WIDTH);
    fprintf (out, " EXPIRES\n");
    size_t i;
    json_t *post;
    json_array_foreach (posts, i, post) {
        char number [32], tags [256];
        if (with_score)
            fprintf (out, "%-7.3f ", json_number_value (json_object_get (post, "score")));
        if (with_distance) {
            double km = json_number_value (json_object_get (post, "distance_km"));
            if (km < 1)
                fprintf (out, "%7.0f m ", km * 1000);
            else
                fprintf (out, "%6.*f km ", km < 100? 2: 0, km);
        }
        node_render_cell (out, s_str (post, "event_id"), S_ID_WIDTH);
        fputc (' ', out);
        snprintf (number, sizeof number, "%lld", s_int (post, "lamport"));
        node_render_cell (out, number, S_LAMPORT_WIDTH);
        fputc (' ', out);
        node_render_cell (out, s_str (post, "category"), S_CATEGORY_WIDTH);
        fputc (' ', out);
        node_render_cell (out, s_str (post, "title"), NODE_RENDER_TITLE_WIDTH);
        fputc (' ', out);
        s_tags_text (json_object_get (post, "tags"), tags, sizeof tags);
        node_render_cell (out, tags [0]? tags: "-", S_TAGS_WIDTH);
        fprintf (out, " %s\n", s_str (post, "expires_at"));
    }
    fprintf (out, "%zu post%s (max lamport %lld)\n", count, count == 1? "": "s",
             s_int (output, "max_lamport"));
}

void
node_render_post (FILE *out, const json_t *post)
{
    char author [HEARTH_SHORT_ID_SIZE + 64], tags [512];
    s_short_id (s_str (post, "author"), author);
    s_tags_text (json_object_get (post, "tags"), tags, sizeof tags);
    fprintf (out, "event_id    %s\n", s_str (post, "event_id"));
    fprintf (out, "lamport     %lld\n", s_int (post, "lamport"));
    fprintf (out, "author      %s (%s)\n", author, s_str (post, "author"));
    fprintf (out, "category    %s\n", s_str (post, "category"));
    fprintf (out, "title       %s\n", s_str (post, "title"));
    fprintf (out, "tags        %s\n", tags [0]? tags: "-");
    json_t *location = json_object_get (post, "location");
    if (json_is_object (location))
        fprintf (out, "location    %.6f, %.6f%s%s\n",
                 json_number_value (json_object_get (location, "lat")),
                 json_number_value (json_object_get (location, "lng")),
                 *s_str (location, "label")? "  ": "", s_str (location, "label"));
    fprintf (out, "created_at  %s\n", s_str (post, "created_at"));
    fprintf (out, "expires_at  %s\n", s_str (post, "expires_at"));
    /*  Expiry details, when the service includes them. */
    const char *via = s_str (post, "expired_via_event_id");
    const char *reason = s_str (post, "expiry_reason");
    json_t *expired = json_object_get (post, "expired");
    if (*via || *reason || json_is_true (expired))
        fprintf (out, "status      expired%s%s%s\n", *reason? " (": "", reason, *reason? ")": "");
    else
    if (json_is_false (expired))
        fprintf (out, "status      active\n");
    /*  Who expired it, and when (market.get names the claim's author). */
    if (*s_str (post, "expired_by"))
        fprintf (out, "expired_by  %s (%s) at %s\n", s_str (post, "expired_by_short_id"),
                 s_str (post, "expired_by"), s_str (post, "expired_at"));
    if (*via)
        fprintf (out, "expired_via %s\n", via);
    /*  Edits: how many, the newest when. */
    if (json_is_integer (json_object_get (post, "history")))
        fprintf (out, "updated_at  %s (%lld edit%s)\n", s_str (post, "updated_at"),
                 s_int (post, "history"), s_int (post, "history") == 1? "": "s");
    fprintf (out, "\n%s\n", s_str (post, "body"));
}

void
node_render_ack (FILE *out, const json_t *output, const char *verb)
{
    fprintf (out, "%s %s (lamport %lld)\n", verb, s_str (output, "event_id"),
             s_int (output, "lamport"));
}

void
node_render_id (FILE *out, const json_t *output)
{
    const char *address = json_string_value (json_object_get (output, "address"));
    fprintf (out, "node_id   %s\n", s_str (output, "node_id"));
    fprintf (out, "short_id  %s\n", s_str (output, "short_id"));
    fprintf (out, "address   %s\n", address? address: "(none: hearthd is not running or has no --listen)");
    const char *http_url = json_string_value (json_object_get (output, "http_url"));
    fprintf (out, "http_url  %s\n", http_url? http_url: "(none: hearthd is not running or its HTTP "
                                                       "listener is off)");
    const char *community = json_string_value (json_object_get (output, "community_id"));
    if (community)
        fprintf (out, "community %s\n", community);
}

/*  A peer row's name: the short_id the node sent, else one made from its
    node_id. */
static void
s_peer_name (const json_t *peer, char out [HEARTH_SHORT_ID_SIZE + 64])
{
    const char *short_id = s_str (peer, "short_id");
    if (*short_id)
        snprintf (out, HEARTH_SHORT_ID_SIZE + 64, "%s", short_id);
    else
        s_short_id (s_str (peer, "node_id"), out);
}

void
node_render_peers (FILE *out, const json_t *output)
{
    json_t *peers = json_object_get (output, "peers");
    size_t count = json_array_size (peers);
    if (count == 0) {
        fprintf (out, "no peers (add one with `hearthd --peer NODE_ID@tcp://HOST:PORT` or "
                 "`peers` in hearth.cfg)\n");
        return;
    }
    fprintf (out, "%-*s %-7s %-3s %-9s %-20s %8s %12s %12s  %s\n", S_AUTHOR_WIDTH, "NODE", "LEVEL", "DIR",
             "CONNECTED", "LAST SEEN", "LAG", "BYTES IN", "BYTES OUT", "ADDRESS");
    size_t i, connected = 0;
    json_t *peer;
    json_array_foreach (peers, i, peer) {
        char node [HEARTH_SHORT_ID_SIZE + 64];
        s_peer_name (peer, node);
        int up = json_is_true (json_object_get (peer, "connected"));
        connected += up;
        const char *seen = json_string_value (json_object_get (peer, "last_seen"));
        const char *address = json_string_value (json_object_get (peer, "address"));
        node_render_cell (out, node, S_AUTHOR_WIDTH);
        const char *level = json_string_value (json_object_get (peer, "level"));
        fprintf (out, " %-7s %-3s %-9s %-20s %8lld %12lld %12lld  %s\n", level? level: "-",
                 s_str (peer, "direction"),
                 up? "yes": "no", seen? seen: "never", s_int (peer, "lag"),
                 s_int (peer, "bytes_in"), s_int (peer, "bytes_out"), address? address: "-");
    }
    fprintf (out, "%zu peer link%s, %zu connected\n", count, count == 1? "": "s", connected);
}

/*  An age in seconds as "12s", "5m", "3h", "2d". */
static void
s_age (long long seconds, char *buf, size_t cap)
{
    if (seconds < 120)
        snprintf (buf, cap, "%llds", seconds);
    else
    if (seconds < 2 * 3600)
        snprintf (buf, cap, "%lldm", seconds / 60);
    else
    if (seconds < 2 * 86400)
        snprintf (buf, cap, "%lldh", seconds / 3600);
    else
        snprintf (buf, cap, "%lldd", seconds / 86400);
}

void
node_render_known (FILE *out, const json_t *output)
{
    json_t *known = json_object_get (output, "known");
    size_t count = json_array_size (known);
    if (count == 0) {
        fprintf (out, "no known peers (they are learned from the configured peers, hellos and "
                 "LAN discovery)\n");
        return;
    }
    fprintf (out, "%-*s %-6s %-9s %-4s %5s %8s  %s\n", S_AUTHOR_WIDTH, "NODE", "LINKED", "FROM",
             "SEED", "FAILS", "REACHED", "ADDRESS");
    size_t i, linked = 0;
    json_t *peer;
    json_array_foreach (known, i, peer) {
        char node [HEARTH_SHORT_ID_SIZE + 64], reached [32] = "never";
        s_peer_name (peer, node);
        const char *link = json_string_value (json_object_get (peer, "linked"));
        linked += link != NULL;
        if (json_is_integer (json_object_get (peer, "last_reached_age_s"))) {
            char age [24];
            s_age (s_int (peer, "last_reached_age_s"), age, sizeof age);
            snprintf (reached, sizeof reached, "%s ago", age);
        }
        node_render_cell (out, node, S_AUTHOR_WIDTH);
        fprintf (out, " %-6s %-9s %-4s %5lld %8s  %s\n", link? link: "-", s_str (peer, "from"),
                 json_is_true (json_object_get (peer, "seed"))? "yes": "no", s_int (peer, "fails"),
                 reached, s_str (peer, "address"));
    }
    fprintf (out, "%zu known peer%s, %zu linked now\n", count, count == 1? "": "s", linked);
}

/*  The mesh counters of gossip_stats.h that name a table group: one line
    per group ("group: words N, words N"), groups in table order. */
typedef struct {
    const char *field, *group, *words;
} s_mesh_row_t;

#define S_MESH_ROW(field, type, family, label, nth, group, words, help) { #field, group, words },
static const s_mesh_row_t s_mesh_rows [] = { GOSSIP_STATS_COUNTERS (S_MESH_ROW) };
#define S_MESH_ROWS (sizeof s_mesh_rows / sizeof s_mesh_rows [0])

static void
s_mesh_counters (FILE *out, const json_t *mesh)
{
    for (size_t g = 0; g < S_MESH_ROWS; g++) {
        const char *group = s_mesh_rows [g].group;
        int first = 1;
        for (size_t i = 0; group && i < g && first; i++)
            if (s_mesh_rows [i].group && strcmp (s_mesh_rows [i].group, group) == 0)
                first = 0;             /* this group's line is written */
        if (!group || !first)
            continue;
        fprintf (out, "           %s:", group);
        const char *separator = " ";
        for (size_t i = g; i < S_MESH_ROWS; i++)
            if (s_mesh_rows [i].group && strcmp (s_mesh_rows [i].group, group) == 0) {
                fprintf (out, "%s%s %lld", separator, s_mesh_rows [i].words,
                         s_int (mesh, s_mesh_rows [i].field));
                separator = ", ";
            }
        fprintf (out, "\n");
    }
}

void
node_render_stats (FILE *out, const json_t *stats)
{
    json_t *events = json_object_get (stats, "events");
    json_t *market = json_object_get (stats, "market");
    json_t *requests = json_object_get (stats, "requests");
    char node [HEARTH_SHORT_ID_SIZE + 64];
    s_short_id (s_str (stats, "node_id"), node);
    fprintf (out, "node       %s\n", node);
    fprintf (out, "uptime     %.1f s\n", json_number_value (json_object_get (stats, "uptime_seconds")));
    json_t *process = json_object_get (stats, "process");
    if (process)
        fprintf (out, "process    %.1f MiB resident, %.1f s CPU, %lld of %lld fds open\n",
                 (double) s_int (process, "resident_bytes") / 1048576.0,
                 json_number_value (json_object_get (process, "cpu_seconds")),
                 s_int (process, "open_fds"), s_int (process, "max_fds"));
    fprintf (out, "events     %lld stored, lamport head %lld, %lld bytes on disk\n",
             s_int (events, "total"), s_int (events, "lamport_head"), s_int (events, "disk_bytes"));
    const char *key;
    json_t *value;
    json_object_foreach (json_object_get (events, "by_type"), key, value)
        if (json_integer_value (value))
            fprintf (out, "  %-26s %lld\n", key, (long long) json_integer_value (value));
    fprintf (out, "rejected  ");
    int any = 0;
    json_object_foreach (json_object_get (events, "rejected"), key, value)
        if (json_integer_value (value)) {
            fprintf (out, " %s=%lld", key, (long long) json_integer_value (value));
            any = 1;
        }
    fprintf (out, "%s\n", any? "": " none");
    json_t *storage = json_object_get (stats, "storage");
    if (json_is_object (storage)) {
        if (s_int (storage, "wal_damaged"))
            fprintf (out, "storage    DAMAGED: %lld acknowledged arrival(s) lost from the write-ahead "
                     "log at this start (fetched again from peers; see docs/operations.md)\n",
                     s_int (storage, "wal_events_lost"));
        else
        if (s_int (storage, "wal_tail_dropped"))
            fprintf (out, "storage    ok (a torn write-ahead log tail of unsynced events was dropped "
                     "at this start)\n");
        else
            fprintf (out, "storage    ok\n");
    }
    fprintf (out, "posts      %lld active, %lld expired (%lld total)\n",
             s_int (market, "posts_active"), s_int (market, "posts_expired"),
             s_int (market, "posts_total"));
    fprintf (out, "sweeper    %lld pass(es), %lld stale expiries, %lld error(s)\n",
             s_int (market, "sweeps"), s_int (market, "sweep_expired"), s_int (market, "sweep_errors"));
    json_t *mesh = json_object_get (stats, "mesh");
    if (json_is_object (mesh)) {
        const char *address = json_string_value (json_object_get (mesh, "address"));
        json_t *age = json_object_get (mesh, "seconds_since_last_sync");
        fprintf (out, "mesh       %s, %lld peer(s) connected, last sync ", address? address: "not listening",
                 s_int (mesh, "peers_connected"));
        if (json_is_number (age))
            fprintf (out, "%.1f s ago\n", json_number_value (age));
        else
            fprintf (out, "never\n");
        s_mesh_counters (out, mesh);
        json_object_foreach (json_object_get (mesh, "queries"), key, value) {
            if (!s_int (value, "received"))
                continue;
            json_t *capacity = json_object_get (value, "capacity_exceeded");
            json_t *dropped = json_object_get (value, "dropped");
            fprintf (out, "peer calls %s: %lld ok, %lld error(s), %lld timeout(s), %lld rate limited, "
                     "%lld over capacity, %lld dropped; in flight %lld (peak %lld of %lld)\n", key,
                     s_int (value, "ok"), s_int (value, "errors"), s_int (value, "timeouts"),
                     s_int (value, "rate_limited"),
                     s_int (capacity, "max_concurrent") + s_int (capacity, "peer_pending"),
                     s_int (dropped, "hard_capability") + s_int (dropped, "hard_total"),
                     s_int (value, "in_flight"), s_int (value, "in_flight_peak"),
                     s_int (value, "max_concurrent"));
        }
    }
    if (json_object_size (requests) == 0) {
        fprintf (out, "requests   none yet\n");
        return;
    }
    fprintf (out, "requests   %-18s %8s %8s %10s %10s\n", "CAPABILITY", "OK", "ERRORS", "MEAN_MS",
             "MAX_MS");
    json_object_foreach (requests, key, value) {
        json_t *latency = json_object_get (value, "latency_seconds");
        fprintf (out, "           %-18s %8lld %8lld %10.3f %10.3f\n", key, s_int (value, "ok"),
                 s_int (value, "total") - s_int (value, "ok"),
                 json_number_value (json_object_get (latency, "mean")) * 1000.0,
                 json_number_value (json_object_get (latency, "max")) * 1000.0);
    }
}

void
node_render_events_header (FILE *out)
{
    node_render_cell (out, "LAMPORT", S_LAMPORT_WIDTH);
    fputc (' ', out);
    node_render_cell (out, "EVENT_ID", S_ID_WIDTH);
    fputc (' ', out);
    node_render_cell (out, "TYPE", S_TYPE_WIDTH);
    fputc (' ', out);
    node_render_cell (out, "AUTHOR", S_AUTHOR_WIDTH);
    fprintf (out, " SUMMARY\n");
}

void
node_render_event (FILE *out, const json_t *envelope)
{
    char number [32], author [HEARTH_SHORT_ID_SIZE + 64], summary [512];
    const char *type = s_str (envelope, "event_type");
    json_t *data = json_object_get (envelope, "data");
    if (strcmp (type, "market.post.created") == 0)
        snprintf (summary, sizeof summary, "[%s] %s", s_str (data, "category"), s_str (data, "title"));
    else
    if (strcmp (type, "market.post.expired") == 0)
        snprintf (summary, sizeof summary, "%s (%s)", s_str (data, "target_event_id"),
                  s_str (data, "reason"));
    else
    if (strcmp (type, "market.post.updated") == 0) {
        /*  The target and the names of the fields it changes. */
        size_t at = (size_t) snprintf (summary, sizeof summary, "%s edits",
                                       s_str (data, "target_event_id"));
        const char *key;
        json_t *value;
        int first = 1;
        json_object_foreach (json_object_get (data, "fields"), key, value) {
            if (at < sizeof summary)
                at += (size_t) snprintf (summary + at, sizeof summary - at, "%s%s",
                                         first? " ": ", ", key);
            first = 0;
        }
        (void) value;
    }
    else
    if (strcmp (type, "community.created") == 0)
        snprintf (summary, sizeof summary, "\"%s\"", s_str (data, "name"));
    else {
        char *compact = data? json_dumps (data, HEARTH_JSON_FLAGS): NULL;
        snprintf (summary, sizeof summary, "%s", compact? compact: "");
        free (compact);
    }
    snprintf (number, sizeof number, "%lld", s_int (envelope, "lamport"));
    s_short_id (s_str (envelope, "author"), author);
    node_render_cell (out, number, S_LAMPORT_WIDTH);
    fputc (' ', out);
    node_render_cell (out, s_str (envelope, "event_id"), S_ID_WIDTH);
    fputc (' ', out);
    node_render_cell (out, type, S_TYPE_WIDTH);
    fputc (' ', out);
    node_render_cell (out, author, S_AUTHOR_WIDTH);
    fputc (' ', out);
    s_cell (out, summary, NODE_RENDER_SUMMARY_WIDTH, 0);
    fputc ('\n', out);
}
