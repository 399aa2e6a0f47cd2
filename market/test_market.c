/*  test_market.c — the market service on a real event log (RocksDB on disk
    under $TMPDIR): the marketplace acceptance cases, input validation, output shapes,
    expire authority and idempotency, the sweeper, restart.
*/
#include "test_market_util.h"
#include "eventlog.h"
#include "market.h"
#include "market_dict.h"

/*  A fixed wall clock (2026-05-28) so outputs are predictable. */
#define T0 UINT64_C (1780000000000)
#define DAY_MS UINT64_C (86400000)

/*  One node: its log, its market, and the keys of the cast (root R signs
    community events; the node N may or may not be R). */
typedef struct {
    char       *dir;
    eventlog_t *log;
    market_t   *market;
    identity_t *root, *node, *b;
} s_node_t;

static int
s_append (eventlog_t *log, const identity_t *author, Hearth__Event *draft, uint64_t now,
          char id [ULID_SIZE])
{
    event_t *ev = NULL;
    int rc = eventlog_append_local (log, author, draft, now, &ev);
    if (rc == 0 && id)
        snprintf (id, ULID_SIZE, "%s", event_id (ev));
    event_destroy (&ev);
    return rc;
}

/*  Invite + join `who` at `level` (the root invites). */
static void
s_add_member (eventlog_t *log, const identity_t *root, const identity_t *who, int level, uint64_t now)
{
    Hearth__MemberInvited inv = HEARTH__MEMBER_INVITED__INIT;
    inv.invitee.data = (uint8_t *) identity_public_key (who);
    inv.invitee.len = 32;
    inv.initial_level = (Hearth__Level) level;
    inv.expires_at_ms = now + DAY_MS;
    Hearth__Event d = HEARTH__EVENT__INIT;
    d.type = HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_INVITED;
    d.payload_case = HEARTH__EVENT__PAYLOAD_MEMBER_INVITED;
    d.member_invited = &inv;
    char invite [ULID_SIZE];
    HT_CHECK_EQ_INT (s_append (log, root, &d, now, invite), 0);
    Hearth__MemberJoined join = HEARTH__MEMBER_JOINED__INIT;
    join.invite_event_id = invite;
    Hearth__Event j = HEARTH__EVENT__INIT;
    j.type = HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_JOINED;
    j.payload_case = HEARTH__EVENT__PAYLOAD_MEMBER_JOINED;
    j.member_joined = &join;
    HT_CHECK_EQ_INT (s_append (log, who, &j, now + 1, NULL), 0);
}

static void
s_promote (eventlog_t *log, const identity_t *root, const identity_t *who, int level, uint64_t now)
{
    Hearth__MemberChange ch = HEARTH__MEMBER_CHANGE__INIT;
    ch.target.data = (uint8_t *) identity_public_key (who);
    ch.target.len = 32;
    ch.new_level = (Hearth__Level) level;
    Hearth__Event d = HEARTH__EVENT__INIT;
    d.type = HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_PROMOTED;
    d.payload_case = HEARTH__EVENT__PAYLOAD_MEMBER_CHANGE;
    d.member_change = &ch;
    HT_CHECK_EQ_INT (s_append (log, root, &d, now, NULL), 0);
}

/*  The market config of the next s_open (NULL: defaults). */
static const market_config_t *s_market_cfg;

/*  Open the log in k->dir (creating the community the first time) and the
    market on it; `node_level`: ANCHOR = the node is the root, else the node
    is a separate member at that level. B is always a plain member. */
static void
s_open (s_node_t *k, int node_level, int first)
{
    char path [512];
    snprintf (path, sizeof path, "%s/db", k->dir);
    int err = 0;
    k->log = eventlog_open (path, &err);
    HT_CHECK (k->log != NULL);
    if (!k->log) {
        fprintf (stderr, "eventlog_open: %s\n", hearth_strerror (err));
        return;
    }
    if (first) {
        HT_CHECK_EQ_INT (eventlog_community_create (k->log, k->root, "Testkiez", T0), 0);
        if (node_level != HEARTH__LEVEL__LEVEL_ANCHOR)
            s_add_member (k->log, k->root, k->node, node_level, T0 + 10);
        s_add_member (k->log, k->root, k->b, HEARTH__LEVEL__LEVEL_MEMBER, T0 + 20);
    }
    k->market = market_new (k->log, k->node, s_market_cfg);
    HT_CHECK (k->market != NULL);
    HT_CHECK_EQ_INT (eventlog_views_load (k->log, NULL), 0);
}

static void
s_node_new (s_node_t *k, int node_level)
{
    memset (k, 0, sizeof *k);
    k->dir = ht_tmpdir ("market");
    k->root = tm_identity (0x11);
    k->node = node_level == HEARTH__LEVEL__LEVEL_ANCHOR? tm_identity (0x11): tm_identity (0x12);
    k->b = tm_identity (0x13);
    s_open (k, node_level, 1);
}

/*  Close the log first (it snapshots the market view), then the market. */
static void
s_close (s_node_t *k)
{
    eventlog_destroy (&k->log);
    market_destroy (&k->market);
    HT_CHECK (k->market == NULL);
}

static void
s_node_destroy (s_node_t *k)
{
    s_close (k);
    identity_destroy (&k->root);
    identity_destroy (&k->node);
    identity_destroy (&k->b);
    if (ht_failures == 0)
        ht_rmtree (k->dir);
    free (k->dir);
}

/*  Call a capability with a JSON text input as the node itself. */
static int
s_call_as (s_node_t *k, const uint8_t *caller, const char *cap, const char *input, uint64_t now,
           json_t **out, char **msg_out)
{
    json_error_t jerr;
    json_t *in = input? json_loads (input, 0, &jerr): NULL;
    if (input && !in) {
        fprintf (stderr, "bad test JSON: %s: %s\n", input, jerr.text);
        return -999;
    }
    json_t *output = NULL;
    char *message = NULL;
    int rc = market_handle (k->market, cap, in, caller, now, &output, &message);
    json_decref (in);
    if (rc == 0)
        HT_CHECK (output != NULL);
    else {
        HT_CHECK (output == NULL);
        HT_CHECK (message != NULL);
    }
    if (out)
        *out = output;
    else
        json_decref (output);
    if (msg_out)
        *msg_out = message;
    else
        free (message);
    return rc;
}

static int
s_call (s_node_t *k, const char *cap, const char *input, uint64_t now, json_t **out)
{
    return s_call_as (k, identity_public_key (k->node), cap, input, now, out, NULL);
}

/*  Post and return its event id (copied into id). */
static void
s_post (s_node_t *k, const char *input, uint64_t now, char id [ULID_SIZE])
{
    json_t *out = NULL;
    char *msg = NULL;
    int rc = s_call_as (k, identity_public_key (k->node), "market.post", input, now, &out, &msg);
    if (rc)
        fprintf (stderr, "post failed: %s\n", msg? msg: "?");
    HT_CHECK_EQ_INT (rc, 0);
    id [0] = 0;
    if (out)
        snprintf (id, ULID_SIZE, "%s", json_string_value (json_object_get (out, "event_id")));
    json_decref (out);
    free (msg);
}

/*  A post by member B, appended to the log directly (as if received). */
static void
s_post_by (s_node_t *k, const identity_t *author, const char *title, uint64_t ttl, uint64_t now,
           char id [ULID_SIZE])
{
    Hearth__MarketPostCreated p = HEARTH__MARKET_POST_CREATED__INIT;
    p.category = HEARTH__CATEGORY__CATEGORY_OFFER;
    p.title = (char *) title;
    p.body = (char *) "Text.";
    p.ttl_seconds = ttl;
    Hearth__Event d = HEARTH__EVENT__INIT;
    d.type = HEARTH__EVENT_TYPE__MARKET_POST_CREATED;
    d.payload_case = HEARTH__EVENT__PAYLOAD_MARKET_POST_CREATED;
    d.market_post_created = &p;
    HT_CHECK_EQ_INT (s_append (k->log, author, &d, now, id), 0);
}

static size_t
s_list_count (s_node_t *k, const char *input, uint64_t now)
{
    json_t *out = NULL;
    if (s_call (k, "market.list", input, now, &out) != 0)
        return (size_t) -1;
    size_t n = json_array_size (json_object_get (out, "posts"));
    json_decref (out);
    return n;
}

/* ---- acceptance---------------------------------------------------------- */

HT_TEST (test_post_is_idempotent_on_client_id)
{
    s_node_t k;
    s_node_new (&k, HEARTH__LEVEL__LEVEL_ANCHOR);
    const char *input = "{\"client_id\":\"cid-1\",\"category\":\"offer\",\"title\":\"Leiter\","
                        "\"body\":\"Drei Meter.\"}";
    json_t *a = NULL, *b = NULL;
    HT_CHECK_EQ_INT (s_call (&k, "market.post", input, T0 + 100, &a), 0);
    HT_CHECK_EQ_INT (s_call (&k, "market.post", input, T0 + 200, &b), 0);
    HT_CHECK (json_equal (a, b));
    json_decref (b);
    HT_CHECK (json_is_string (json_object_get (a, "event_id")));
    HT_CHECK (json_is_integer (json_object_get (a, "lamport")));
    HT_CHECK_EQ_INT (json_object_size (a), 2);
    HT_CHECK_EQ_INT (s_list_count (&k, NULL, T0 + 300), 1);
    //  The key alone decides: another body with the same client_id is the same post
    json_t *c = NULL;
    HT_CHECK_EQ_INT (s_call (&k, "market.post", "{\"client_id\":\"cid-1\",\"category\":\"info\","
                             "\"title\":\"Anders\",\"body\":\"Anders.\"}", T0 + 300, &c), 0);
    HT_CHECK (json_equal (a, c));
    json_decref (c);
    const uint64_t posts_before = eventlog_stats (k.log)->events_by_type [HEARTH__EVENT_TYPE__MARKET_POST_CREATED];
    HT_CHECK_EQ_INT (posts_before, 1);

    //  Also after closing and reopening the log
    s_close (&k);
    s_open (&k, HEARTH__LEVEL__LEVEL_ANCHOR, 0);
    HT_CHECK_EQ_INT (s_call (&k, "market.post", input, T0 + 400, &b), 0);
    HT_CHECK (json_equal (a, b));
    json_decref (b);
    HT_CHECK_EQ_INT (s_list_count (&k, NULL, T0 + 500), 1);
    HT_CHECK_EQ_INT (eventlog_stats (k.log)->events_by_type [HEARTH__EVENT_TYPE__MARKET_POST_CREATED], 1);

    //  Without a client_id every call is a new post (a ULID is generated)
    json_t *n1 = NULL, *n2 = NULL;
    const char *anon = "{\"category\":\"offer\",\"title\":\"Äpfel\",\"body\":\"Eine Kiste.\"}";
    HT_CHECK_EQ_INT (s_call (&k, "market.post", anon, T0 + 600, &n1), 0);
    HT_CHECK_EQ_INT (s_call (&k, "market.post", anon, T0 + 600, &n2), 0);
    HT_CHECK (!json_equal (n1, n2));
    HT_CHECK_EQ_INT (s_list_count (&k, NULL, T0 + 700), 3);
    //  A client_id of a post cannot be reused for an expire
    char *msg = NULL;
    char expire [256];
    snprintf (expire, sizeof expire, "{\"client_id\":\"cid-1\",\"event_id\":\"%s\",\"reason\":\"fulfilled\"}",
              json_string_value (json_object_get (n1, "event_id")));
    HT_CHECK_EQ_INT (s_call_as (&k, identity_public_key (k.node), "market.expire", expire, T0 + 800,
                                NULL, &msg), HEARTH_EEXISTS);
    HT_CHECK (msg && strstr (msg, "client_id"));
    free (msg);
    json_decref (n1);
    json_decref (n2);
    json_decref (a);
    s_node_destroy (&k);
}

HT_TEST (test_expire_unauthorized_caller_rejected)
{
    s_node_t k;
    s_node_new (&k, HEARTH__LEVEL__LEVEL_MEMBER);
    char theirs [ULID_SIZE], mine [ULID_SIZE];
    s_post_by (&k, k.b, "Fahrrad", 0, T0 + 100, theirs);
    s_post (&k, "{\"category\":\"offer\",\"title\":\"Mein Rad\",\"body\":\"x\"}", T0 + 110, mine);
    char input [256];
    const char *reasons [] = { "fulfilled", "withdrawn", "user_request", "stale" };
    //  A plain member may expire nobody else's post, whatever the reason
    for (int r = 0; r < 4; r++) {
        snprintf (input, sizeof input, "{\"event_id\":\"%s\",\"reason\":\"%s\"}", theirs, reasons [r]);
        HT_CHECK_EQ_INT (s_call (&k, "market.expire", input, T0 + 200, NULL), HEARTH_EUNAUTHORIZED);
    }
    //  A caller other than the node itself may not expire (or post) at all
    snprintf (input, sizeof input, "{\"event_id\":\"%s\",\"reason\":\"fulfilled\"}", mine);
    HT_CHECK_EQ_INT (s_call_as (&k, identity_public_key (k.b), "market.expire", input, T0 + 200, NULL, NULL),
                     HEARTH_EUNAUTHORIZED);
    HT_CHECK_EQ_INT (s_call_as (&k, NULL, "market.expire", input, T0 + 200, NULL, NULL),
                     HEARTH_EUNAUTHORIZED);
    HT_CHECK_EQ_INT (s_call_as (&k, identity_public_key (k.b), "market.post",
                                "{\"category\":\"offer\",\"title\":\"t\",\"body\":\"b\"}", T0 + 200,
                                NULL, NULL), HEARTH_EUNAUTHORIZED);
    HT_CHECK_EQ_INT (s_list_count (&k, NULL, T0 + 300), 2);
    HT_CHECK_EQ_INT (eventlog_stats (k.log)->events_by_type [HEARTH__EVENT_TYPE__MARKET_POST_EXPIRED], 0);

    //  Promoted to TRUSTED: `stale` on another's post is allowed, the
    //  author-only reasons still are not (docs/decisions/0008)
    s_promote (k.log, k.root, k.node, HEARTH__LEVEL__LEVEL_TRUSTED, T0 + 400);
    snprintf (input, sizeof input, "{\"event_id\":\"%s\",\"reason\":\"withdrawn\"}", theirs);
    HT_CHECK_EQ_INT (s_call (&k, "market.expire", input, T0 + 500, NULL), HEARTH_EUNAUTHORIZED);
    snprintf (input, sizeof input, "{\"event_id\":\"%s\",\"reason\":\"stale\"}", theirs);
    HT_CHECK_EQ_INT (s_call (&k, "market.expire", input, T0 + 500, NULL), 0);
    //  The author may always expire its own
    snprintf (input, sizeof input, "{\"event_id\":\"%s\",\"reason\":\"fulfilled\"}", mine);
    HT_CHECK_EQ_INT (s_call (&k, "market.expire", input, T0 + 600, NULL), 0);
    HT_CHECK_EQ_INT (s_list_count (&k, NULL, T0 + 700), 0);
    s_node_destroy (&k);
}

/*  eventlog_scan visitor collecting market.post.expired events. */
typedef struct {
    int      n;
    int      stale;
    int      by_node;
    int      sweep_ids;
    const uint8_t *node;
} s_expired_scan_t;

static int
s_scan_expired (void *arg, const event_t *ev)
{
    s_expired_scan_t *s = (s_expired_scan_t *) arg;
    if (event_type (ev) != HEARTH__EVENT_TYPE__MARKET_POST_EXPIRED)
        return 0;
    const Hearth__MarketPostExpired *x = event_body (ev)->market_post_expired;
    s->n++;
    s->stale += x->reason == HEARTH__EXPIRY_REASON__EXPIRY_REASON_STALE;
    s->by_node += memcmp (event_author (ev), s->node, 32) == 0;
    char want [64];
    snprintf (want, sizeof want, "sweep:%s", x->target_event_id);
    s->sweep_ids += strcmp (x->client_id, want) == 0;
    return 0;
}

HT_TEST (test_auto_expire_appends_event_with_stale_reason)
{
    s_node_t k;
    s_node_new (&k, HEARTH__LEVEL__LEVEL_ANCHOR);
    char own [ULID_SIZE], theirs [ULID_SIZE], fresh [ULID_SIZE];
    s_post (&k, "{\"category\":\"info\",\"title\":\"Kurz\",\"body\":\"x\",\"ttl_seconds\":60}", T0, own);
    s_post_by (&k, k.b, "Auch kurz", 60, T0 + 1, theirs);
    s_post (&k, "{\"category\":\"info\",\"title\":\"Lang\",\"body\":\"x\"}", T0 + 2, fresh);
    //  Before expires_at: nothing to sweep
    HT_CHECK_EQ_INT (market_sweep (k.market, T0 + 59000), 0);
    //  After: both short posts get a `stale` expiry by this (anchor) node
    HT_CHECK_EQ_INT (market_sweep (k.market, T0 + 61001), 2);
    s_expired_scan_t scan = { 0, 0, 0, 0, identity_public_key (k.node) };
    eventlog_scan (k.log, 0, s_scan_expired, &scan);
    HT_CHECK_EQ_INT (scan.n, 2);
    HT_CHECK_EQ_INT (scan.stale, 2);
    HT_CHECK_EQ_INT (scan.by_node, 2);
    HT_CHECK_EQ_INT (scan.sweep_ids, 2);
    json_t *out = NULL;
    char input [128];
    snprintf (input, sizeof input, "{\"event_id\":\"%s\"}", theirs);
    HT_CHECK_EQ_INT (s_call (&k, "market.get", input, T0 + 61002, &out), 0);
    json_t *post = json_object_get (out, "post");
    HT_CHECK (json_is_true (json_object_get (post, "expired")));
    HT_CHECK_EQ_STR (json_string_value (json_object_get (post, "expiry_reason")), "stale");
    json_decref (out);
    //  A second pass appends nothing (already expired by a valid claim)
    HT_CHECK_EQ_INT (market_sweep (k.market, T0 + 120000), 0);
    HT_CHECK_EQ_INT (eventlog_stats (k.log)->events_by_type [HEARTH__EVENT_TYPE__MARKET_POST_EXPIRED], 2);
    HT_CHECK_EQ_INT (s_list_count (&k, NULL, T0 + 120000), 1);
    s_node_destroy (&k);

    //  A plain member node never sweeps; every node still hides the post
    s_node_new (&k, HEARTH__LEVEL__LEVEL_MEMBER);
    s_post_by (&k, k.b, "Kurz", 60, T0 + 100, theirs);
    HT_CHECK_EQ_INT (market_sweep (k.market, T0 + DAY_MS), 0);
    HT_CHECK_EQ_INT (eventlog_stats (k.log)->events_by_type [HEARTH__EVENT_TYPE__MARKET_POST_EXPIRED], 0);
    HT_CHECK_EQ_INT (s_list_count (&k, NULL, T0 + DAY_MS), 0);
    HT_CHECK_EQ_INT (s_list_count (&k, NULL, T0 + 200), 1);
    s_node_destroy (&k);
}

/*  Index of the post titled `title` in a list/search output, or -1. */
static int
s_rank (const json_t *out, const char *title)
{
    json_t *posts = json_object_get (out, "posts");
    for (size_t i = 0; i < json_array_size (posts); i++)
        if (strcmp (json_string_value (json_object_get (json_array_get (posts, i), "title")), title) == 0)
            return (int) i;
    return -1;
}

HT_TEST (test_search_falls_back_to_lexical_when_embedding_unavailable)
{
    //  No embed.text provider exists yet: search ranks lexically (BM25 over
    //  folded words and trigrams), logs the fallback, and is never a plain
    //  substring test
    s_node_t k;
    s_node_new (&k, HEARTH__LEVEL__LEVEL_ANCHOR);
    char id [ULID_SIZE];
    s_post (&k, "{\"category\":\"offer\",\"title\":\"Wasserkanister abzugeben\","
                "\"body\":\"Zwei 20-Liter-Kanister, sauber.\",\"tags\":[\"wasser\"]}", T0, id);
    s_post (&k, "{\"category\":\"offer\",\"title\":\"Brot vom Bäcker\",\"body\":\"Frisch.\"}", T0 + 1, id);
    s_post (&k, "{\"category\":\"offer\",\"title\":\"Generator zu verleihen\","
                "\"body\":\"Benzin, 2 kW.\"}", T0 + 2, id);
    s_post (&k, "{\"category\":\"request\",\"title\":\"Fahrrad flicken\","
                "\"body\":\"Wer hilft in der Strasse am Park?\"}", T0 + 3, id);
    s_post (&k, "{\"category\":\"info\",\"title\":\"Besser spät als nie\","
                "\"body\":\"Ein Spruch, nichts mit Wasser... doch: ein Glas Wasser.\"}", T0 + 4, id);

    json_t *out = NULL;
    HT_CHECK_EQ_INT (s_call (&k, "market.search", "{\"query\":\"wasser\"}", T0 + 10, &out), 0);
    HT_CHECK (json_is_integer (json_object_get (out, "max_lamport")));
    json_t *posts = json_object_get (out, "posts");
    HT_CHECK_EQ_INT (json_array_size (posts), 2);
    //  Title + tag hit ranks above a body-only hit that is also newer
    HT_CHECK_EQ_INT (s_rank (out, "Wasserkanister abzugeben"), 0);
    HT_CHECK_EQ_INT (s_rank (out, "Besser spät als nie"), 1);
    HT_CHECK_EQ_INT (s_rank (out, "Brot vom Bäcker"), -1);
    double s0 = json_real_value (json_object_get (json_array_get (posts, 0), "score"));
    double s1 = json_real_value (json_object_get (json_array_get (posts, 1), "score"));
    HT_CHECK (s0 > s1 && s1 > 0);
    HT_CHECK (json_is_string (json_object_get (json_array_get (posts, 0), "author")));
    json_decref (out);

    //  Typo, folding, k
    HT_CHECK_EQ_INT (s_call (&k, "market.search", "{\"query\":\"generatr\"}", T0 + 10, &out), 0);
    HT_CHECK_EQ_INT (s_rank (out, "Generator zu verleihen"), 0);
    HT_CHECK_EQ_INT (json_array_size (json_object_get (out, "posts")), 1);
    json_decref (out);
    HT_CHECK_EQ_INT (s_call (&k, "market.search", "{\"query\":\"Straße\"}", T0 + 10, &out), 0);
    HT_CHECK_EQ_INT (s_rank (out, "Fahrrad flicken"), 0);
    HT_CHECK_EQ_INT (json_array_size (json_object_get (out, "posts")), 1);
    json_decref (out);
    HT_CHECK_EQ_INT (s_call (&k, "market.search", "{\"query\":\"wasser\",\"k\":1}", T0 + 10, &out), 0);
    HT_CHECK_EQ_INT (json_array_size (json_object_get (out, "posts")), 1);
    json_decref (out);
    //  Unrelated: nothing
    HT_CHECK_EQ_INT (s_call (&k, "market.search", "{\"query\":\"Klavier\"}", T0 + 10, &out), 0);
    HT_CHECK_EQ_INT (json_array_size (json_object_get (out, "posts")), 0);
    json_decref (out);
    //  Input checks
    HT_CHECK_EQ_INT (s_call (&k, "market.search", "{}", T0, NULL), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (s_call (&k, "market.search", "{\"query\":\"\"}", T0, NULL), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (s_call (&k, "market.search", "{\"query\":\"?!\"}", T0, NULL), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (s_call (&k, "market.search", "{\"query\":\"x\",\"k\":0}", T0, NULL), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (s_call (&k, "market.search", "{\"query\":\"x\",\"k\":101}", T0, NULL), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (s_call (&k, "market.search", "{\"query\":5}", T0, NULL), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (s_call (&k, "market.search", "{\"query\":\"x\",\"model\":\"m\"}", T0, NULL),
                     HEARTH_EINVAL);
    char big [MARKET_SEARCH_MAX_QUERY_BYTES + 32];
    memset (big, 'a', sizeof big);
    memcpy (big, "{\"query\":\"", 10);
    memcpy (big + MARKET_SEARCH_MAX_QUERY_BYTES + 11, "\"}", 3);
    HT_CHECK_EQ_INT (s_call (&k, "market.search", big, T0, NULL), HEARTH_EINVAL);
    s_node_destroy (&k);
}

/*  Write text to path (replacing it). */
static void
s_write_file (const char *path, const char *text)
{
    FILE *f = fopen (path, "w");
    HT_CHECK (f != NULL);
    if (f) {
        fputs (text, f);
        fclose (f);
    }
}

HT_TEST (test_search_synonyms_file_reloads_without_restart)
{
    //  The community synonym file in the search dir is read before a
    //  search, and again once it changed (checked at most every
    //  MARKET_DICT_CHECK_MS of the caller's clock): no restart, no signal
    char *dir = ht_tmpdir ("market-syn");
    market_config_t cfg;
    market_config_defaults (&cfg);
    snprintf (cfg.search_dir, sizeof cfg.search_dir, "%s", dir);
    s_market_cfg = &cfg;
    s_node_t k;
    s_node_new (&k, HEARTH__LEVEL__LEVEL_ANCHOR);
    s_market_cfg = NULL;
    char id [ULID_SIZE], path [600];
    s_post (&k, "{\"category\":\"offer\",\"title\":\"Velo zu verleihen\",\"body\":\"Mit Korb.\"}", T0, id);
    s_post (&k, "{\"category\":\"offer\",\"title\":\"Brot\",\"body\":\"Frisch.\"}", T0 + 1, id);
    json_t *out = NULL;
    //  No file: the query word alone
    HT_CHECK_EQ_INT (s_call (&k, "market.search", "{\"query\":\"Drahtesel\"}", T0 + 10, &out), 0);
    HT_CHECK_EQ_INT (json_array_size (json_object_get (out, "posts")), 0);
    json_decref (out);
    //  The file appears: used at the next check
    snprintf (path, sizeof path, "%s/%s", dir, MARKET_SYNONYMS_FILE);
    s_write_file (path, "# test\ndrahtesel, velo, fahrrad\nthis line => \n");
    uint64_t now = T0 + 10 + MARKET_DICT_CHECK_MS;
    HT_CHECK_EQ_INT (s_call (&k, "market.search", "{\"query\":\"Drahtesel\"}", now, &out), 0);
    HT_CHECK_EQ_INT (json_array_size (json_object_get (out, "posts")), 1);
    HT_CHECK_EQ_INT (s_rank (out, "Velo zu verleihen"), 0);
    json_decref (out);
    json_t *stats = market_search_stats (k.market);
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (stats, "synonym_rules")), 1);
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (stats, "synonym_bad_lines")), 1);
    HT_CHECK_EQ_STR (json_string_value (json_object_get (stats, "lexicon")), "off");
    json_decref (stats);
    //  Edited (another size): the rule is gone at the next check
    s_write_file (path, "# nothing here any more\n");
    now += MARKET_DICT_CHECK_MS;
    HT_CHECK_EQ_INT (s_call (&k, "market.search", "{\"query\":\"Drahtesel\"}", now, &out), 0);
    HT_CHECK_EQ_INT (json_array_size (json_object_get (out, "posts")), 0);
    json_decref (out);
    //  Removed: none in use, search still works
    unlink (path);
    now += MARKET_DICT_CHECK_MS;
    HT_CHECK_EQ_INT (s_call (&k, "market.search", "{\"query\":\"velo\"}", now, &out), 0);
    HT_CHECK_EQ_INT (json_array_size (json_object_get (out, "posts")), 1);
    json_decref (out);
    s_node_destroy (&k);
    ht_rmtree (dir);
    free (dir);
}

/* ---- validation --------------------------------------------------------------- */

static void
s_expect_invalid (s_node_t *k, const char *cap, const char *input, const char *needle)
{
    char *msg = NULL;
    int rc = s_call_as (k, identity_public_key (k->node), cap, input, T0 + 1000, NULL, &msg);
    HT_CHECK_EQ_INT (rc, HEARTH_EINVAL);
    if (rc != HEARTH_EINVAL || !msg || !strstr (msg, needle))
        fprintf (stderr, "  input %s -> rc %d, message \"%s\" (wanted \"%s\")\n", input, rc,
                 msg? msg: "(null)", needle);
    HT_CHECK (msg && strstr (msg, needle));
    free (msg);
}

HT_TEST (test_post_validation_errors)
{
    s_node_t k;
    s_node_new (&k, HEARTH__LEVEL__LEVEL_ANCHOR);
#define P(rest) "{\"category\":\"offer\",\"title\":\"T\",\"body\":\"B\"" rest "}"
    s_expect_invalid (&k, "market.post", "[]", "object");
    s_expect_invalid (&k, "market.post", P (",\"colour\":\"red\""), "unknown field 'colour'");
    s_expect_invalid (&k, "market.post", "{\"title\":\"T\",\"body\":\"B\"}", "category is required");
    s_expect_invalid (&k, "market.post", "{\"category\":\"sale\",\"title\":\"T\",\"body\":\"B\"}", "category must be one of");
    s_expect_invalid (&k, "market.post", "{\"category\":1,\"title\":\"T\",\"body\":\"B\"}", "category must be a string");
    s_expect_invalid (&k, "market.post", "{\"category\":\"offer\",\"body\":\"B\"}", "title is required");
    s_expect_invalid (&k, "market.post", "{\"category\":\"offer\",\"title\":\"\",\"body\":\"B\"}", "title must not be empty");
    s_expect_invalid (&k, "market.post", "{\"category\":\"offer\",\"title\":\"  \",\"body\":\"B\"}", "title must not be empty");
    s_expect_invalid (&k, "market.post", "{\"category\":\"offer\",\"title\":7,\"body\":\"B\"}", "title must be a string");
    s_expect_invalid (&k, "market.post", "{\"category\":\"offer\",\"title\":\"T\"}", "body is required");
    s_expect_invalid (&k, "market.post", "{\"category\":\"offer\",\"title\":\"T\",\"body\":\"\"}", "body must not be empty");
    s_expect_invalid (&k, "market.post", "{\"category\":\"offer\",\"title\":\"T\",\"body\":null}", "body must be a string");
    s_expect_invalid (&k, "market.post", P (",\"tags\":\"a\""), "tags must be an array");
    s_expect_invalid (&k, "market.post", P (",\"tags\":[1]"), "tags[0] must be a string");
    s_expect_invalid (&k, "market.post", P (",\"tags\":[\"a\",\"\"]"), "tags[1] must be 1..32 bytes");
    s_expect_invalid (&k, "market.post", P (",\"tags\":[\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"]"), "tags[0] must be 1..32 bytes");
    s_expect_invalid (&k, "market.post", P (",\"tags\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\","
                                            "\"10\",\"11\",\"12\",\"13\",\"14\",\"15\",\"16\",\"17\"]"), "at most 16 tags");
    s_expect_invalid (&k, "market.post", P (",\"location\":[1,2]"), "location must be an object");
    s_expect_invalid (&k, "market.post", P (",\"location\":{\"lat\":1,\"lng\":2,\"alt\":3}"), "location: unknown field 'alt'");
    s_expect_invalid (&k, "market.post", P (",\"location\":{\"lng\":2}"), "location.lat must be a number");
    s_expect_invalid (&k, "market.post", P (",\"location\":{\"lat\":\"1\",\"lng\":2}"), "location.lat must be a number");
    s_expect_invalid (&k, "market.post", P (",\"location\":{\"lat\":90.5,\"lng\":2}"), "location.lat must be within");
    s_expect_invalid (&k, "market.post", P (",\"location\":{\"lat\":1}"), "location.lng must be a number");
    s_expect_invalid (&k, "market.post", P (",\"location\":{\"lat\":1,\"lng\":-180.01}"), "location.lng must be within");
    s_expect_invalid (&k, "market.post", P (",\"location\":{\"lat\":1,\"lng\":2,\"label\":3}"), "location.label must be a string");
    s_expect_invalid (&k, "market.post", P (",\"ttl_seconds\":0"), "ttl_seconds must be between 1 and 2592000");
    s_expect_invalid (&k, "market.post", P (",\"ttl_seconds\":-5"), "ttl_seconds must be between");
    s_expect_invalid (&k, "market.post", P (",\"ttl_seconds\":2592001"), "ttl_seconds must be between");
    s_expect_invalid (&k, "market.post", P (",\"ttl_seconds\":60.5"), "ttl_seconds must be an integer");
    s_expect_invalid (&k, "market.post", P (",\"ttl_seconds\":\"60\""), "ttl_seconds must be an integer");
    s_expect_invalid (&k, "market.post", P (",\"client_id\":\"\""), "client_id must not be empty");
    s_expect_invalid (&k, "market.post", P (",\"client_id\":[]"), "client_id must be a string");

    //  Byte caps (title 200, body 8000, label 120, client_id 64)
    char *buf = (char *) malloc (20000);
    char *fill = (char *) malloc (9000);
    memset (fill, 'x', 8001);
    fill [EVENT_MAX_TITLE_BYTES + 1] = 0;
    snprintf (buf, 20000, "{\"category\":\"offer\",\"title\":\"%s\",\"body\":\"B\"}", fill);
    s_expect_invalid (&k, "market.post", buf, "title is 201 bytes; at most 200");
    fill [EVENT_MAX_TITLE_BYTES + 1] = 'x';
    fill [EVENT_MAX_BODY_BYTES + 1] = 0;
    snprintf (buf, 20000, "{\"category\":\"offer\",\"title\":\"T\",\"body\":\"%s\"}", fill);
    s_expect_invalid (&k, "market.post", buf, "body is 8001 bytes");
    fill [EVENT_MAX_BODY_BYTES + 1] = 'x';
    fill [EVENT_MAX_LABEL_BYTES + 1] = 0;
    snprintf (buf, 20000, P (",\"location\":{\"lat\":1,\"lng\":2,\"label\":\"%s\"}"), fill);
    s_expect_invalid (&k, "market.post", buf, "location.label is 121 bytes");
    fill [EVENT_MAX_LABEL_BYTES + 1] = 'x';
    fill [EVENT_MAX_CLIENT_ID_BYTES + 1] = 0;
    snprintf (buf, 20000, P (",\"client_id\":\"%s\""), fill);
    s_expect_invalid (&k, "market.post", buf, "client_id is 65 bytes");
    //  Exactly at the caps is fine (multi-byte UTF-8 counts in bytes)
    fill [EVENT_MAX_CLIENT_ID_BYTES + 1] = 'x';
    fill [EVENT_MAX_BODY_BYTES] = 0;
    char title [EVENT_MAX_TITLE_BYTES + 1];
    for (int i = 0; i < EVENT_MAX_TITLE_BYTES; i += 2)
        memcpy (title + i, "\xc3\xa4", 2);            // 100 x "ä" = 200 bytes
    title [EVENT_MAX_TITLE_BYTES] = 0;
    snprintf (buf, 20000, "{\"category\":\"emergency\",\"title\":\"%s\",\"body\":\"%s\","
              "\"ttl_seconds\":2592000,\"location\":{\"lat\":-90,\"lng\":180}}", title, fill);
    json_t *out = NULL;
    HT_CHECK_EQ_INT (s_call (&k, "market.post", buf, T0 + 1000, &out), 0);
    json_decref (out);
    free (buf);
    free (fill);

    //  Invalid UTF-8 and NUL (jansson only builds these when asked to)
    json_t *in = json_pack ("{s:s, s:s}", "category", "offer", "body", "B");
    json_object_set_new (in, "title", json_stringn_nocheck ("\xff\xfe", 2));
    char *msg = NULL;
    HT_CHECK_EQ_INT (market_handle (k.market, "market.post", in, identity_public_key (k.node), T0,
                                    &out, &msg), HEARTH_EINVAL);
    HT_CHECK (msg && strstr (msg, "UTF-8"));
    free (msg);
    json_object_set_new (in, "title", json_stringn ("a\0b", 3));
    HT_CHECK_EQ_INT (market_handle (k.market, "market.post", in, identity_public_key (k.node), T0,
                                    &out, &msg), HEARTH_EINVAL);
    free (msg);
    json_decref (in);

    //  Tags are lower-cased and de-duplicated
    json_t *post_out = NULL;
    HT_CHECK_EQ_INT (s_call (&k, "market.post", P (",\"tags\":[\"Wasser\",\"WASSER\",\"Notfall\"]"),
                             T0 + 2000, &post_out), 0);
    char get [128];
    snprintf (get, sizeof get, "{\"event_id\":\"%s\"}", json_string_value (json_object_get (post_out, "event_id")));
    HT_CHECK_EQ_INT (s_call (&k, "market.get", get, T0 + 2001, &out), 0);
    json_t *tags = json_object_get (json_object_get (out, "post"), "tags");
    HT_CHECK_EQ_INT (json_array_size (tags), 2);
    HT_CHECK_EQ_STR (json_string_value (json_array_get (tags, 0)), "wasser");
    HT_CHECK_EQ_STR (json_string_value (json_array_get (tags, 1)), "notfall");
    json_decref (out);
    json_decref (post_out);
    //  Unknown capability
    HT_CHECK_EQ_INT (s_call (&k, "market.delete", "{}", T0, NULL), HEARTH_ESCHEMA);
    //  Nothing invalid was stored
    HT_CHECK_EQ_INT (eventlog_stats (k.log)->events_by_type [HEARTH__EVENT_TYPE__MARKET_POST_CREATED], 2);
#undef P
    s_node_destroy (&k);
}

HT_TEST (test_list_shape_filters_and_validation)
{
    s_node_t k;
    s_node_new (&k, HEARTH__LEVEL__LEVEL_ANCHOR);
    char a [ULID_SIZE], b [ULID_SIZE], c [ULID_SIZE];
    s_post (&k, "{\"category\":\"offer\",\"title\":\"Holz\",\"body\":\"Trocken.\",\"tags\":[\"heizen\"],"
                "\"location\":{\"lat\":52.5,\"lng\":13.25,\"label\":\"Hof\"},\"ttl_seconds\":3600}", T0, a);
    s_post (&k, "{\"category\":\"request\",\"title\":\"Kohle\",\"body\":\"Gesucht.\",\"tags\":[\"Heizen\",\"winter\"]}",
            T0 + 1000, b);
    s_post (&k, "{\"category\":\"info\",\"title\":\"Treffen\",\"body\":\"Montag.\"}", T0 + 2000, c);

    json_t *out = NULL;
    HT_CHECK_EQ_INT (s_call (&k, "market.list", NULL, T0 + 3000, &out), 0);
    json_t *posts = json_object_get (out, "posts");
    HT_CHECK_EQ_INT (json_array_size (posts), 3);
    HT_CHECK_EQ_INT (json_object_size (out), 2);
    json_int_t max_lamport = json_integer_value (json_object_get (out, "max_lamport"));
    HT_CHECK (max_lamport > 0);
    //  Newest first, full docs/protocol.md shape
    HT_CHECK_EQ_STR (json_string_value (json_object_get (json_array_get (posts, 0), "title")), "Treffen");
    json_t *p = json_array_get (posts, 2);
    HT_CHECK_EQ_STR (json_string_value (json_object_get (p, "event_id")), a);
    HT_CHECK (json_is_integer (json_object_get (p, "lamport")));
    HT_CHECK_EQ_STR (json_string_value (json_object_get (p, "author")), identity_node_id (k.node));
    HT_CHECK_EQ_STR (json_string_value (json_object_get (p, "category")), "offer");
    HT_CHECK_EQ_STR (json_string_value (json_object_get (p, "title")), "Holz");
    HT_CHECK_EQ_STR (json_string_value (json_object_get (p, "body")), "Trocken.");
    HT_CHECK_EQ_STR (json_string_value (json_array_get (json_object_get (p, "tags"), 0)), "heizen");
    HT_CHECK_EQ_STR (json_string_value (json_object_get (p, "created_at")), "2026-05-28T20:26:40Z");
    HT_CHECK_EQ_STR (json_string_value (json_object_get (p, "expires_at")), "2026-05-28T21:26:40Z");
    json_t *loc = json_object_get (p, "location");
    HT_CHECK (json_real_value (json_object_get (loc, "lat")) == 52.5);
    HT_CHECK (json_real_value (json_object_get (loc, "lng")) == 13.25);
    HT_CHECK_EQ_STR (json_string_value (json_object_get (loc, "label")), "Hof");
    HT_CHECK_EQ_INT (json_object_size (p), 10);
    HT_CHECK (json_object_get (json_array_get (posts, 0), "location") == NULL);   // absent, not null
    HT_CHECK_EQ_INT (json_object_size (json_array_get (posts, 0)), 9);
    json_decref (out);

    //  Filters: category; tags ANY (case-insensitive); since_lamport exclusive; limit
    HT_CHECK_EQ_INT (s_list_count (&k, "{\"category\":\"request\"}", T0 + 3000), 1);
    HT_CHECK_EQ_INT (s_list_count (&k, "{\"tags\":[\"HEIZEN\"]}", T0 + 3000), 2);
    HT_CHECK_EQ_INT (s_list_count (&k, "{\"tags\":[\"winter\",\"nichts\"]}", T0 + 3000), 1);
    HT_CHECK_EQ_INT (s_list_count (&k, "{\"tags\":[]}", T0 + 3000), 3);
    char input [128];
    snprintf (input, sizeof input, "{\"since_lamport\":%lld}", (long long) max_lamport - 1);
    HT_CHECK_EQ_INT (s_list_count (&k, input, T0 + 3000), 1);
    snprintf (input, sizeof input, "{\"since_lamport\":%lld}", (long long) max_lamport);
    HT_CHECK_EQ_INT (s_list_count (&k, input, T0 + 3000), 0);
    HT_CHECK_EQ_INT (s_list_count (&k, "{\"limit\":2}", T0 + 3000), 2);
    HT_CHECK_EQ_INT (s_list_count (&k, "{\"limit\":500}", T0 + 3000), 3);
    //  ttl: "Holz" lives one hour
    HT_CHECK_EQ_INT (s_list_count (&k, NULL, T0 + 3600 * 1000), 2);

    s_expect_invalid (&k, "market.list", "{\"category\":\"sale\"}", "category must be one of");
    s_expect_invalid (&k, "market.list", "{\"limit\":0}", "limit must be between 1 and 500");
    s_expect_invalid (&k, "market.list", "{\"limit\":501}", "limit must be between 1 and 500");
    s_expect_invalid (&k, "market.list", "{\"limit\":\"5\"}", "limit must be an integer");
    s_expect_invalid (&k, "market.list", "{\"since_lamport\":-1}", "since_lamport must be between");
    s_expect_invalid (&k, "market.list", "{\"tags\":\"heizen\"}", "tags must be an array");
    s_expect_invalid (&k, "market.list", "{\"author\":\"x\"}", "unknown field 'author'");
    s_expect_invalid (&k, "market.list", "[7]", "object");
    //  Read-only capabilities serve any authenticated caller
    HT_CHECK_EQ_INT (s_call_as (&k, identity_public_key (k.b), "market.list", "{}", T0, NULL, NULL), 0);
    s_node_destroy (&k);
}

HT_TEST (test_get_and_expire_flow)
{
    s_node_t k;
    s_node_new (&k, HEARTH__LEVEL__LEVEL_ANCHOR);
    char id [ULID_SIZE];
    s_post (&k, "{\"category\":\"offer\",\"title\":\"Wasserkanister\",\"body\":\"x\"}", T0, id);
    const char *unknown = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    char input [256];
    snprintf (input, sizeof input, "{\"event_id\":\"%s\"}", unknown);
    HT_CHECK_EQ_INT (s_call (&k, "market.get", input, T0 + 1, NULL), HEARTH_ENOTFOUND);
    snprintf (input, sizeof input, "{\"event_id\":\"%s\",\"reason\":\"fulfilled\"}", unknown);
    HT_CHECK_EQ_INT (s_call (&k, "market.expire", input, T0 + 1, NULL), HEARTH_ENOTFOUND);
    s_expect_invalid (&k, "market.get", "{}", "event_id is required");
    s_expect_invalid (&k, "market.expire", "{\"event_id\":\"x\"}", "reason is required");
    snprintf (input, sizeof input, "{\"event_id\":\"%s\",\"reason\":\"sold\"}", id);
    s_expect_invalid (&k, "market.expire", input, "reason must be one of");

    json_t *out = NULL;
    snprintf (input, sizeof input, "{\"event_id\":\"%s\"}", id);
    HT_CHECK_EQ_INT (s_call (&k, "market.get", input, T0 + 1, &out), 0);
    json_t *post = json_object_get (out, "post");
    HT_CHECK (json_is_false (json_object_get (post, "expired")));
    HT_CHECK (json_object_get (post, "expiry_reason") == NULL);
    json_decref (out);

    json_t *first = NULL, *again = NULL, *other = NULL;
    snprintf (input, sizeof input, "{\"event_id\":\"%s\",\"reason\":\"fulfilled\",\"client_id\":\"x-1\"}", id);
    HT_CHECK_EQ_INT (s_call (&k, "market.expire", input, T0 + 10, &first), 0);
    HT_CHECK (json_object_get (first, "already_expired") == NULL);
    //  Same client_id: the same answer (idempotent)
    HT_CHECK_EQ_INT (s_call (&k, "market.expire", input, T0 + 20, &again), 0);
    HT_CHECK (json_equal (first, again));
    //  Already expired, new client_id: the existing expiry, nothing appended
    snprintf (input, sizeof input, "{\"event_id\":\"%s\",\"reason\":\"withdrawn\"}", id);
    HT_CHECK_EQ_INT (s_call (&k, "market.expire", input, T0 + 30, &other), 0);
    HT_CHECK (json_equal (json_object_get (first, "event_id"), json_object_get (other, "event_id")));
    HT_CHECK (json_equal (json_object_get (first, "lamport"), json_object_get (other, "lamport")));
    HT_CHECK (json_is_true (json_object_get (other, "already_expired")));
    HT_CHECK_EQ_INT (eventlog_stats (k.log)->events_by_type [HEARTH__EVENT_TYPE__MARKET_POST_EXPIRED], 1);

    snprintf (input, sizeof input, "{\"event_id\":\"%s\"}", id);
    HT_CHECK_EQ_INT (s_call (&k, "market.get", input, T0 + 40, &out), 0);
    post = json_object_get (out, "post");
    HT_CHECK (json_is_true (json_object_get (post, "expired")));
    HT_CHECK_EQ_STR (json_string_value (json_object_get (post, "expiry_reason")), "fulfilled");
    HT_CHECK (json_equal (json_object_get (post, "expired_via_event_id"), json_object_get (first, "event_id")));
    json_decref (out);
    //  Gone from list and search
    HT_CHECK_EQ_INT (s_list_count (&k, NULL, T0 + 50), 0);
    HT_CHECK_EQ_INT (s_call (&k, "market.search", "{\"query\":\"wasserkanister\"}", T0 + 50, &out), 0);
    HT_CHECK_EQ_INT (json_array_size (json_object_get (out, "posts")), 0);
    json_decref (out);
    json_decref (first);
    json_decref (again);
    json_decref (other);
    s_node_destroy (&k);
}

/*  The post's JSON through market.get (new reference; NULL if none). */
static json_t *
s_get_post (s_node_t *k, const char *id, uint64_t now)
{
    char input [128];
    snprintf (input, sizeof input, "{\"event_id\":\"%s\"}", id);
    json_t *out = NULL;
    if (s_call (k, "market.get", input, now, &out) != 0)
        return NULL;
    json_t *post = json_incref (json_object_get (out, "post"));
    json_decref (out);
    return post;
}

static size_t
s_search_count (s_node_t *k, const char *query, uint64_t now)
{
    char input [256];
    snprintf (input, sizeof input, "{\"query\":\"%s\"}", query);
    json_t *out = NULL;
    if (s_call (k, "market.search", input, now, &out) != 0)
        return (size_t) -1;
    size_t n = json_array_size (json_object_get (out, "posts"));
    json_decref (out);
    return n;
}

HT_TEST (test_update_flow)
{
    s_node_t k;
    s_node_new (&k, HEARTH__LEVEL__LEVEL_MEMBER);
    char mine [ULID_SIZE], theirs [ULID_SIZE], input [512];
    s_post (&k, "{\"category\":\"offer\",\"title\":\"Schubkarre abzugeben\",\"body\":\"Verzinkt.\","
                "\"tags\":[\"garten\"],\"ttl_seconds\":3600,\"client_id\":\"post-1\"}", T0, mine);
    s_post_by (&k, k.b, "Fahrrad", 0, T0 + 5, theirs);
    json_t *post = s_get_post (&k, mine, T0 + 10);
    HT_CHECK (json_object_get (post, "updated_at") == NULL);    // never edited: absent
    HT_CHECK (json_object_get (post, "history") == NULL);
    json_decref (post);

    //  Title, tags and location; the same client_id answers the same event
    json_t *first = NULL, *again = NULL;
    snprintf (input, sizeof input, "{\"event_id\":\"%s\",\"title\":\"Rasenmäher abzugeben\",\"tags\":[],"
              "\"location\":{\"lat\":52.5,\"lng\":13.4,\"label\":\"Hof\"},\"client_id\":\"upd-1\"}", mine);
    HT_CHECK_EQ_INT (s_call (&k, "market.update", input, T0 + 1000, &first), 0);
    HT_CHECK (json_is_string (json_object_get (first, "event_id")));
    HT_CHECK_EQ_INT (s_call (&k, "market.update", input, T0 + 2000, &again), 0);
    HT_CHECK (json_equal (first, again));
    json_decref (again);
    HT_CHECK_EQ_INT (eventlog_stats (k.log)->events_by_type [HEARTH__EVENT_TYPE__MARKET_POST_UPDATED], 1);
    post = s_get_post (&k, mine, T0 + 3000);
    HT_CHECK_EQ_STR (json_string_value (json_object_get (post, "title")), "Rasenmäher abzugeben");
    HT_CHECK_EQ_STR (json_string_value (json_object_get (post, "body")), "Verzinkt.");
    HT_CHECK_EQ_INT (json_array_size (json_object_get (post, "tags")), 0);
    HT_CHECK_EQ_STR (json_string_value (json_object_get (json_object_get (post, "location"), "label")), "Hof");
    HT_CHECK_EQ_STR (json_string_value (json_object_get (post, "updated_at")), "2026-05-28T20:26:41Z");
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (post, "history")), 1);
    json_decref (post);
    //  Search follows the edit: the new title is found, the old one is not
    HT_CHECK_EQ_INT (s_search_count (&k, "rasenmäher", T0 + 3000), 1);
    HT_CHECK_EQ_INT (s_search_count (&k, "schubkarre", T0 + 3000), 0);

    //  post_id names the post too; location null removes it; a new ttl counts from now
    snprintf (input, sizeof input, "{\"post_id\":\"%s\",\"location\":null,\"ttl_seconds\":7200}", mine);
    HT_CHECK_EQ_INT (s_call (&k, "market.update", input, T0 + 4000, NULL), 0);
    post = s_get_post (&k, mine, T0 + 5000);
    HT_CHECK (json_object_get (post, "location") == NULL);
    HT_CHECK_EQ_STR (json_string_value (json_object_get (post, "expires_at")), "2026-05-28T22:26:44Z");
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (post, "history")), 2);
    HT_CHECK (json_object_get (post, "updated_at") != NULL);
    json_decref (post);
    //  In list items as well
    json_t *out = NULL;
    HT_CHECK_EQ_INT (s_call (&k, "market.list", "{}", T0 + 5000, &out), 0);
    json_t *item;
    size_t i;
    int seen = 0;
    json_array_foreach (json_object_get (out, "posts"), i, item)
        if (strcmp (json_string_value (json_object_get (item, "event_id")), mine) == 0)
            seen = json_integer_value (json_object_get (item, "history")) == 2;
    HT_CHECK (seen);
    json_decref (out);

    //  Refusals
    snprintf (input, sizeof input, "{\"event_id\":\"%s\",\"title\":\"Meins\"}", theirs);
    HT_CHECK_EQ_INT (s_call (&k, "market.update", input, T0 + 6000, NULL), HEARTH_EUNAUTHORIZED);
    snprintf (input, sizeof input, "{\"event_id\":\"%s\",\"title\":\"Fremd\"}", mine);
    HT_CHECK_EQ_INT (s_call_as (&k, identity_public_key (k.b), "market.update", input, T0 + 6000, NULL, NULL),
                     HEARTH_EUNAUTHORIZED);
    HT_CHECK_EQ_INT (s_call (&k, "market.update", "{\"event_id\":\"01ARZ3NDEKTSV4RRFFQ69G5FAV\","
                             "\"title\":\"x\"}", T0 + 6000, NULL), HEARTH_ENOTFOUND);
    //  A client_id of another event type
    snprintf (input, sizeof input, "{\"event_id\":\"%s\",\"title\":\"x\",\"client_id\":\"post-1\"}", mine);
    HT_CHECK_EQ_INT (s_call (&k, "market.update", input, T0 + 6000, NULL), HEARTH_EEXISTS);
#define U(rest) "{\"event_id\":\"01ARZ3NDEKTSV4RRFFQ69G5FAV\"" rest "}"
    s_expect_invalid (&k, "market.update", U (""), "nothing to update");
    s_expect_invalid (&k, "market.update", "{\"title\":\"x\"}", "event_id");
    s_expect_invalid (&k, "market.update", "{\"event_id\":\"01ARZ3NDEKTSV4RRFFQ69G5FAV\","
                      "\"post_id\":\"01ARZ3NDEKTSV4RRFFQ69G5FAV\",\"title\":\"x\"}", "not both");
    s_expect_invalid (&k, "market.update", U (",\"title\":\"  \""), "title must not be empty");
    s_expect_invalid (&k, "market.update", U (",\"body\":7"), "body must be a string");
    s_expect_invalid (&k, "market.update", U (",\"ttl_seconds\":0"), "ttl_seconds must be between");
    s_expect_invalid (&k, "market.update", U (",\"ttl_seconds\":2592001"), "ttl_seconds must be between");
    s_expect_invalid (&k, "market.update", U (",\"location\":{\"lat\":91,\"lng\":0}"), "location.lat");
    s_expect_invalid (&k, "market.update", U (",\"location\":\"here\""), "location must be an object");
    s_expect_invalid (&k, "market.update", U (",\"tags\":[\"\"]"), "tags[0]");
    s_expect_invalid (&k, "market.update", U (",\"category\":\"info\""), "unknown field 'category'");
    s_expect_invalid (&k, "market.update", U (",\"location\":{\"lat\":1,\"lng\":2,\"x\":1}"),
                      "location: unknown field 'x'");
    s_expect_invalid (&k, "market.update", U (",\"tags\":[7]"), "tags[0] must be a string");
    s_expect_invalid (&k, "market.update", U (",\"ttl_seconds\":\"60\""), "ttl_seconds must be an integer");
    s_expect_invalid (&k, "market.update", U (",\"client_id\":\"\""), "client_id must not be empty");
    s_expect_invalid (&k, "market.update", "{\"event_id\":7,\"title\":\"x\"}", "event_id must be a string");
    s_expect_invalid (&k, "market.update", "[]", "object");
#undef U
    {
        char big [EVENT_MAX_TITLE_BYTES + 64];
        memset (big, 'x', EVENT_MAX_TITLE_BYTES + 1);
        big [EVENT_MAX_TITLE_BYTES + 1] = 0;
        snprintf (input, sizeof input, "{\"event_id\":\"%s\",\"title\":\"%s\"}", mine, big);
        s_expect_invalid (&k, "market.update", input, "at most 200");
    }

    //  Expired by its author: update is not_found; the retried client_id
    //  still answers; get says who expired it, why and when
    snprintf (input, sizeof input, "{\"event_id\":\"%s\",\"reason\":\"fulfilled\"}", mine);
    HT_CHECK_EQ_INT (s_call (&k, "market.expire", input, T0 + 7000, NULL), 0);
    snprintf (input, sizeof input, "{\"event_id\":\"%s\",\"title\":\"Noch da\"}", mine);
    HT_CHECK_EQ_INT (s_call (&k, "market.update", input, T0 + 8000, NULL), HEARTH_ENOTFOUND);
    snprintf (input, sizeof input, "{\"event_id\":\"%s\",\"title\":\"Rasenmäher abzugeben\",\"tags\":[],"
              "\"location\":{\"lat\":52.5,\"lng\":13.4,\"label\":\"Hof\"},\"client_id\":\"upd-1\"}", mine);
    HT_CHECK_EQ_INT (s_call (&k, "market.update", input, T0 + 8000, &again), 0);
    HT_CHECK (json_equal (first, again));
    json_decref (again);
    post = s_get_post (&k, mine, T0 + 9000);
    char node_id [HEARTH_NODE_ID_SIZE], short_id [HEARTH_SHORT_ID_SIZE];
    hearth_node_id_format (identity_public_key (k.node), node_id);
    hearth_short_id_format (identity_public_key (k.node), short_id);
    HT_CHECK (json_is_true (json_object_get (post, "expired")));
    HT_CHECK_EQ_STR (json_string_value (json_object_get (post, "expired_by")), node_id);
    HT_CHECK_EQ_STR (json_string_value (json_object_get (post, "expired_by_short_id")), short_id);
    HT_CHECK_EQ_STR (json_string_value (json_object_get (post, "expired_at")), "2026-05-28T20:26:47Z");
    HT_CHECK_EQ_STR (json_string_value (json_object_get (post, "expiry_reason")), "fulfilled");
    json_decref (post);
    //  Expired by its ttl: not_found as well
    char brief [ULID_SIZE];
    s_post (&k, "{\"category\":\"info\",\"title\":\"Kurz\",\"body\":\"b\",\"ttl_seconds\":1}", T0, brief);
    snprintf (input, sizeof input, "{\"event_id\":\"%s\",\"ttl_seconds\":3600}", brief);
    HT_CHECK_EQ_INT (s_call (&k, "market.update", input, T0 + 1000, NULL), HEARTH_ENOTFOUND);
    HT_CHECK_EQ_INT (eventlog_stats (k.log)->events_by_type [HEARTH__EVENT_TYPE__MARKET_POST_UPDATED], 2);
    json_decref (first);

    //  The edits survive a restart (snapshot) as they were
    post = s_get_post (&k, mine, T0 + 9000);
    s_close (&k);
    s_open (&k, HEARTH__LEVEL__LEVEL_MEMBER, 0);
    json_t *after = s_get_post (&k, mine, T0 + 9000);
    HT_CHECK (json_equal (post, after));
    json_decref (post);
    json_decref (after);
    s_node_destroy (&k);
}

HT_TEST (test_restart_restores_the_same_view)
{
    s_node_t k;
    s_node_new (&k, HEARTH__LEVEL__LEVEL_ANCHOR);
    char ids [6][ULID_SIZE];
    for (int i = 0; i < 6; i++) {
        char input [256];
        snprintf (input, sizeof input, "{\"category\":\"offer\",\"title\":\"Angebot %d\",\"body\":\"Text %d\","
                  "\"tags\":[\"t%d\"]}", i, i, i % 2);
        s_post (&k, input, T0 + (uint64_t) i, ids [i]);
    }
    char input [256];
    snprintf (input, sizeof input, "{\"event_id\":\"%s\",\"reason\":\"withdrawn\"}", ids [2]);
    HT_CHECK_EQ_INT (s_call (&k, "market.expire", input, T0 + 100, NULL), 0);
    uint8_t before [32], after [32];
    market_view_digest (market_view (k.market), before);
    json_t *l1 = NULL, *l2 = NULL;
    HT_CHECK_EQ_INT (s_call (&k, "market.list", NULL, T0 + 200, &l1), 0);

    s_close (&k);
    s_open (&k, HEARTH__LEVEL__LEVEL_ANCHOR, 0);
    market_view_digest (market_view (k.market), after);
    HT_CHECK (memcmp (before, after, 32) == 0);
    HT_CHECK_EQ_INT (s_call (&k, "market.list", NULL, T0 + 200, &l2), 0);
    HT_CHECK (json_equal (l1, l2));
    HT_CHECK_EQ_INT (json_array_size (json_object_get (l2, "posts")), 5);
    //  A full rebuild from the log folds to the same state
    HT_CHECK_EQ_INT (eventlog_views_rebuild (k.log), 0);
    market_view_digest (market_view (k.market), after);
    HT_CHECK (memcmp (before, after, 32) == 0);
    //  Search works after restart (the index is rebuilt from the view)
    json_t *s = NULL;
    HT_CHECK_EQ_INT (s_call (&k, "market.search", "{\"query\":\"angebot\"}", T0 + 300, &s), 0);
    HT_CHECK_EQ_INT (json_array_size (json_object_get (s, "posts")), 5);
    json_decref (s);
    json_decref (l1);
    json_decref (l2);
    s_node_destroy (&k);
}

HT_TEST (test_config_defaults_and_clamping)
{
    market_config_t cfg;
    market_config_defaults (&cfg);
    HT_CHECK_EQ_INT (cfg.default_ttl_seconds, 604800);
    HT_CHECK_EQ_INT (cfg.max_ttl_seconds, 2592000);
    HT_CHECK_EQ_INT (cfg.sweep_interval_seconds, 60);
    s_node_t k;
    s_node_new (&k, HEARTH__LEVEL__LEVEL_ANCHOR);
    eventlog_destroy (&k.log);
    market_destroy (&k.market);
    char path [512];
    snprintf (path, sizeof path, "%s/db", k.dir);
    int err;
    k.log = eventlog_open (path, &err);
    cfg.max_ttl_seconds = 10 * 2592000;    // above the event cap
    cfg.default_ttl_seconds = 3600;
    k.market = market_new (k.log, k.node, &cfg);
    HT_CHECK (k.market != NULL);
    eventlog_views_load (k.log, NULL);
    HT_CHECK_EQ_INT (market_config (k.market)->max_ttl_seconds, EVENT_MAX_TTL_SECONDS);
    HT_CHECK_EQ_INT (market_config (k.market)->default_ttl_seconds, 3600);
    //  The default ttl applies when none is given
    char id [ULID_SIZE];
    s_post (&k, "{\"category\":\"offer\",\"title\":\"T\",\"body\":\"B\"}", T0, id);
    HT_CHECK_EQ_INT (s_list_count (&k, NULL, T0 + 3599 * 1000), 1);
    HT_CHECK_EQ_INT (s_list_count (&k, NULL, T0 + 3600 * 1000), 0);
    s_node_destroy (&k);
}

/*  Capability descriptors (docs/protocol.md). */
HT_TEST (test_capability_limits)
{
    uint32_t n = 0, t = 0;
    HT_CHECK_EQ_INT (market_capability_limits ("market.list", &n, &t), HEARTH_OK);
    HT_CHECK_EQ_INT (n, 8);
    HT_CHECK_EQ_INT (t, 5);
    HT_CHECK_EQ_INT (market_capability_limits ("market.search", &n, &t), HEARTH_OK);
    HT_CHECK_EQ_INT (n, 4);
    HT_CHECK_EQ_INT (t, 10);
    HT_CHECK_EQ_INT (market_capability_limits ("market.post", &n, NULL), HEARTH_OK);
    HT_CHECK_EQ_INT (n, 4);
    HT_CHECK_EQ_INT (market_capability_limits ("market.expire", NULL, &t), HEARTH_OK);
    HT_CHECK_EQ_INT (t, 5);
    HT_CHECK_EQ_INT (market_capability_limits ("market.get", &n, &t), HEARTH_ENOTFOUND);
    HT_CHECK_EQ_INT (market_capability_limits (NULL, &n, &t), HEARTH_ENOTFOUND);
}

int
main (void)
{
    HT_RUN (test_post_is_idempotent_on_client_id);
    HT_RUN (test_expire_unauthorized_caller_rejected);
    HT_RUN (test_auto_expire_appends_event_with_stale_reason);
    HT_RUN (test_search_falls_back_to_lexical_when_embedding_unavailable);
    HT_RUN (test_search_synonyms_file_reloads_without_restart);
    HT_RUN (test_post_validation_errors);
    HT_RUN (test_list_shape_filters_and_validation);
    HT_RUN (test_get_and_expire_flow);
    HT_RUN (test_restart_restores_the_same_view);
    HT_RUN (test_config_defaults_and_clamping);
    HT_RUN (test_capability_limits);
    HT_RUN (test_update_flow);
    return ht_summary ();
}
