/*  test_gossip.c — the mesh layer in one process: two and three gossip_t
    instances, each with its own event log in a temp dir, on 127.0.0.1 with
    ports the OS picks, all driven by one zloop on this thread (the ZAP
    handler is per process and must share the instances' thread).

    Tests wait for conditions with deadlines, never for fixed times: the loop
    runs until a predicate holds or the deadline passes.
*/
#include <pthread.h>
#include <stdatomic.h>
#include <czmq.h>
#include "test_util.h"
#include "eventlog.h"
#include "gossip.h"
#include "gossip_wire.h"
#include "gossip_zap.h"

#define HOUR_MS  3600000ULL
/*  Deadlines: far above what these take on a loaded 2-core VM (< 1 s). */
#define WAIT_MS  20000

/* ---- running the loop until a condition holds --------------------------------- */

typedef int (cond_fn) (void *arg);

typedef struct {
    cond_fn  *fn;
    void     *arg;
    uint64_t  deadline;
    int       result;
} s_wait_t;

static int
s_wait_tick (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    s_wait_t *w = (s_wait_t *) arg;
    w->result = w->fn (w->arg);
    if (w->result || hearth_mono_ms () > w->deadline)
        return -1;                          /* ends zloop_start */
    return 0;
}

/*  Run loop until fn(arg) != 0 or deadline_ms passes; the last result. */
static int
s_run_until (zloop_t *loop, cond_fn *fn, void *arg, int deadline_ms)
{
    s_wait_t w = { fn, arg, hearth_mono_ms () + (uint64_t) deadline_ms, 0 };
    w.result = fn (arg);
    if (w.result)
        return w.result;
    int id = zloop_timer (loop, 5, 0, s_wait_tick, &w);
    zloop_start (loop);
    zloop_timer_end (loop, id);
    return w.result;
}

/* ---- nodes ----------------------------------------------------------------------- */

typedef struct {
    char       *dir;
    identity_t *id;
    eventlog_t *log;
    gossip_t   *g;
} node_t;

/*  Open a node's log (and create the community if root, else adopt it). */
static void
s_node_open (node_t *n, const char *tag, uint8_t seed, const node_t *root)
{
    memset (n, 0, sizeof *n);
    n->dir = ht_tmpdir (tag);
    n->id = tu_identity (seed);
    int err;
    n->log = eventlog_open (n->dir, &err);
    HT_CHECK (n->log != NULL);
    if (!n->log)
        return;
    if (!root)
        HT_CHECK_EQ_INT (eventlog_community_create (n->log, n->id, "Kiez", hearth_now_ms ()), 0);
    else
        HT_CHECK_EQ_INT (eventlog_community_adopt (n->log, identity_public_key (root->id)), 0);
}

/*  Start its gossip on loop, listening on an OS-chosen port, dialling
    `peer` (may be NULL). */
static void
s_node_start_cfg (node_t *n, zloop_t *loop, const node_t *peer, int discovery,
                  gossip_reconcile_t reconcile)
{
    gossip_config_t cfg;
    gossip_config_defaults (&cfg);
    cfg.discovery = discovery;
    cfg.reconcile = reconcile;
    snprintf (cfg.listen, sizeof cfg.listen, "tcp://127.0.0.1:*");
    const char *peers [1];
    if (peer) {
        peers [0] = gossip_address (peer->g);
        cfg.peers = peers;
        cfg.n_peers = 1;
    }
    cfg.sync_interval_ms = 500;
    int err;
    n->g = gossip_new (n->log, n->id, loop, &cfg, &err);
    HT_CHECK (n->g != NULL);
    HT_CHECK (n->g && gossip_address (n->g) != NULL);
}

static void
s_node_start (node_t *n, zloop_t *loop, const node_t *peer)
{
    s_node_start_cfg (n, loop, peer, 0, GOSSIP_RECONCILE_AUTO);
}

static void
s_node_close (node_t *n)
{
    gossip_destroy (&n->g);
    eventlog_destroy (&n->log);
    identity_destroy (&n->id);
    if (n->dir)
        ht_rmtree (n->dir);
    free (n->dir);
}

static uint64_t
s_events (const node_t *n)
{
    return eventlog_stats (n->log)->events_total;
}

static int
s_invite (const node_t *by, const identity_t *who, uint64_t expires, char invite_id [ULID_SIZE])
{
    Hearth__Event d = HEARTH__EVENT__INIT;
    Hearth__MemberInvited inv = HEARTH__MEMBER_INVITED__INIT;
    inv.invitee.data = (uint8_t *) identity_public_key (who);
    inv.invitee.len = 32;
    inv.display_name = (char *) "neighbour";
    inv.initial_level = HEARTH__LEVEL__LEVEL_MEMBER;
    inv.expires_at_ms = expires;
    d.type = HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_INVITED;
    d.payload_case = HEARTH__EVENT__PAYLOAD_MEMBER_INVITED;
    d.member_invited = &inv;
    event_t *ev = NULL;
    int rc = eventlog_append_local (by->log, by->id, &d, hearth_now_ms (), &ev);
    if (ev)
        strcpy (invite_id, event_id (ev));
    event_destroy (&ev);
    return rc;
}

/*  `who` joins with invite_id, appended on log `on` (signed by who). */
static int
s_join (eventlog_t *on, const identity_t *who, const char *invite_id)
{
    Hearth__Event d = HEARTH__EVENT__INIT;
    Hearth__MemberJoined j = HEARTH__MEMBER_JOINED__INIT;
    j.invite_event_id = (char *) invite_id;
    j.display_name = (char *) "neighbour";
    d.type = HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_JOINED;
    d.payload_case = HEARTH__EVENT__PAYLOAD_MEMBER_JOINED;
    d.member_joined = &j;
    return eventlog_append_local (on, who, &d, hearth_now_ms (), NULL);
}

/*  Root invites who and who joins, both on root's log. */
static void
s_member (const node_t *root, const identity_t *who)
{
    char inv [ULID_SIZE];
    HT_CHECK_EQ_INT (s_invite (root, who, hearth_now_ms () + HOUR_MS, inv), 0);
    HT_CHECK_EQ_INT (s_join (root->log, who, inv), 0);
}

static int
s_post (const node_t *n, const char *title)
{
    tu_post_t p;
    tu_post_init (&p, n->id, NULL, 0, 0, 0, NULL, title);
    p.ev.community_id.data = NULL;
    p.ev.community_id.len = 0;
    p.ev.author.data = NULL;
    p.ev.author.len = 0;
    p.ev.event_id = (char *) "";
    return eventlog_append_local (n->log, n->id, &p.ev, hearth_now_ms (), NULL);
}

/*  Conditions. */
typedef struct {
    node_t  *nodes [4];
    size_t   n;
    uint64_t count;
} s_all_t;

static int
s_all_have (void *arg)
{
    s_all_t *a = (s_all_t *) arg;
    for (size_t i = 0; i < a->n; i++)
        if (s_events (a->nodes [i]) < a->count)
            return 0;
    return 1;
}

static int
s_wait_all (zloop_t *loop, uint64_t count, node_t *a, node_t *b, node_t *c)
{
    s_all_t all = { { a, b, c }, c? 3: 2, count };
    return s_run_until (loop, s_all_have, &all, WAIT_MS);
}

static int
s_connected (void *arg)
{
    return gossip_stats ((gossip_t *) arg)->peers_connected > 0;
}

static int
s_rateless (void *arg)
{
    return gossip_stats ((gossip_t *) arg)->reconcile_rateless >= 1;
}

/* ---- pure parts ---------------------------------------------------------------------- */

/*  The curve key maps back to the Ed25519 key it came from. */
HT_TEST (test_curve_to_ed)
{
    for (int i = 0; i < 300; i++) {
        uint8_t seed [32], curve [32], ed [2][32];
        randombytes_buf (seed, sizeof seed);
        identity_t *id = identity_from_seed (seed);
        HT_CHECK_EQ_INT (crypto_sign_ed25519_pk_to_curve25519 (curve, identity_public_key (id)), 0);
        HT_CHECK_EQ_INT (gossip_zap_curve_to_ed (curve, ed), 0);
        HT_CHECK (memcmp (ed [0], identity_public_key (id), 32) == 0
               || memcmp (ed [1], identity_public_key (id), 32) == 0);
        identity_destroy (&id);
    }
    /*  u = p - 1 (u + 1 = 0) and u >= p are refused. */
    uint8_t u [32], ed [2][32];
    memset (u, 0xff, 32);
    u [0] = 0xec;
    u [31] = 0x7f;
    HT_CHECK_EQ_INT (gossip_zap_curve_to_ed (u, ed), HEARTH_EINVAL);
    u [0] = 0xed;                           /* = p */
    HT_CHECK_EQ_INT (gossip_zap_curve_to_ed (u, ed), HEARTH_EINVAL);
    u [31] = 0xff;
    HT_CHECK_EQ_INT (gossip_zap_curve_to_ed (u, ed), HEARTH_EINVAL);
}

HT_TEST (test_address_parse)
{
    identity_t *id = tu_identity (3);
    char addr [GOSSIP_MAX_ADDRESS + 16], endpoint [GOSSIP_MAX_ADDRESS];
    uint8_t key [32];
    snprintf (addr, sizeof addr, "%s@tcp://127.0.0.1:7400", identity_node_id (id));
    HT_CHECK_EQ_INT (gossip_address_parse (addr, key, endpoint), 0);
    HT_CHECK (memcmp (key, identity_public_key (id), 32) == 0);
    HT_CHECK_EQ_STR (endpoint, "tcp://127.0.0.1:7400");
    const char *bad [] = { "tcp://127.0.0.1:7400", "@tcp://h:1", "x@tcp://h:1", "", NULL };
    for (int i = 0; bad [i]; i++)
        HT_CHECK_EQ_INT (gossip_address_parse (bad [i], key, endpoint), HEARTH_EINVAL);
    const char *bad_ep [] = { "udp://h:1", "tcp://h", "tcp://h:", "tcp://h:0", "tcp://h:70000",
                              "tcp://:1", "tcp://h:1x", "tcp://a b:1", NULL };
    for (int i = 0; bad_ep [i]; i++) {
        snprintf (addr, sizeof addr, "%s@%s", identity_node_id (id), bad_ep [i]);
        HT_CHECK_EQ_INT (gossip_address_parse (addr, key, endpoint), HEARTH_EINVAL);
    }
    HT_CHECK_EQ_INT (gossip_address_parse (NULL, key, endpoint), HEARTH_EINVAL);
    identity_destroy (&id);
}

/*  Frames: the checks, and random bytes never crash or leak. */
HT_TEST (test_wire_decode)
{
    gossip_wire_msg_t m;
    Hearth__GossipMessage msg = HEARTH__GOSSIP_MESSAGE__INIT;
    size_t len;
    uint8_t *buf = gossip_wire_encode (&msg, &len);
    HT_CHECK_EQ_INT (gossip_wire_decode (&m, buf, len, 1024), HEARTH_EINVAL);   /* no body */
    free (buf);
    uint8_t h31 [31] = { 0 };
    ProtobufCBinaryData hashes [1] = { { 31, h31 } };
    Hearth__GossipFetch f = HEARTH__GOSSIP_FETCH__INIT;
    f.hashes = hashes;
    f.n_hashes = 1;
    msg.body_case = HEARTH__GOSSIP_MESSAGE__BODY_FETCH;
    msg.fetch = &f;
    buf = gossip_wire_encode (&msg, &len);
    HT_CHECK_EQ_INT (gossip_wire_decode (&m, buf, len, 1024), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (gossip_wire_decode (&m, buf, len, len - 1), HEARTH_ETOOBIG);
    free (buf);
    Hearth__GossipHello h = HEARTH__GOSSIP_HELLO__INIT;
    h.address = (char *) "ed25519:x@tcp://h:1";
    h.head_lamport = 42;
    msg.body_case = HEARTH__GOSSIP_MESSAGE__BODY_HELLO;
    msg.hello = &h;
    buf = gossip_wire_encode (&msg, &len);
    HT_CHECK_EQ_INT (gossip_wire_decode (&m, buf, len, 1024), 0);
    HT_CHECK (m.msg && m.msg->hello->head_lamport == 42);
    gossip_wire_release (&m);
    gossip_wire_release (&m);
    free (buf);
    uint8_t junk [512];
    int ok = 0;
    for (int i = 0; i < 20000; i++) {
        size_t n = randombytes_uniform (sizeof junk) + 1;
        randombytes_buf (junk, n);
        if (i & 1)
            junk [0] = 0x0a;                /* field 1 (hello), length-delimited */
        if (gossip_wire_decode (&m, junk, n, sizeof junk) == 0) {
            ok++;
            gossip_wire_release (&m);
        }
    }
    HT_CHECK (ok < 20000);
}

/* ---- the mesh -------------------------------------------------------------------------- */

/*  Two nodes: the dialler catches up, then posts on either side reach the
    other by eager push. */
HT_TEST (test_two_nodes_converge)
{
    zloop_t *loop = zloop_new ();
    node_t a, b;
    s_node_open (&a, "g2a", 1, NULL);
    s_node_open (&b, "g2b", 2, &a);
    s_member (&a, b.id);
    HT_CHECK_EQ_INT (s_post (&a, "Apples"), 0);
    s_node_start (&a, loop, NULL);
    s_node_start (&b, loop, &a);
    HT_CHECK (s_wait_all (loop, s_events (&a), &a, &b, NULL));
    HT_CHECK (s_run_until (loop, s_connected, a.g, WAIT_MS));
    HT_CHECK_EQ_INT (s_post (&a, "Pears"), 0);
    HT_CHECK (s_wait_all (loop, s_events (&a), &a, &b, NULL));
    HT_CHECK_EQ_INT (s_post (&b, "Plums"), 0);
    HT_CHECK (s_wait_all (loop, s_events (&b), &a, &b, NULL));
    HT_CHECK_EQ_INT (s_events (&a), s_events (&b));
    /*  The periodic sessions (every 500 ms here) use the rateless mode. */
    HT_CHECK (s_run_until (loop, s_rateless, b.g, WAIT_MS));
    HT_CHECK_EQ_INT (s_events (&a), s_events (&b));
    HT_CHECK (gossip_stats (a.g)->events_pushed >= 1);
    HT_CHECK (gossip_stats (b.g)->events_pushed >= 1);
    HT_CHECK (gossip_stats (b.g)->reconcile_rounds >= 1);
    /*  Every completed session had at least one answer; rateless messages
        are a part of all reconciliation bytes, and none fell back. */
    HT_CHECK (gossip_stats (b.g)->reconcile_round_trips >= gossip_stats (b.g)->reconcile_rounds);
    HT_CHECK (gossip_stats (b.g)->reconcile_bytes_rateless > 0);
    HT_CHECK (gossip_stats (b.g)->reconcile_bytes_rateless < gossip_stats (b.g)->reconcile_bytes);
    HT_CHECK_EQ_INT (gossip_stats (b.g)->reconcile_fallbacks, 0);
    HT_CHECK (gossip_stats (b.g)->events_pulled >= 4);
    HT_CHECK_EQ_INT (gossip_stats (a.g)->zap_denied, 0);
    json_t *peers = gossip_peers_json (b.g);
    json_t *p0 = json_array_get (json_object_get (peers, "peers"), 0);
    HT_CHECK_EQ_STR (json_string_value (json_object_get (p0, "node_id")), identity_node_id (a.id));
    HT_CHECK_EQ_STR (json_string_value (json_object_get (p0, "direction")), "out");
    HT_CHECK (json_is_true (json_object_get (p0, "connected")));
    json_decref (peers);
    s_node_close (&b);
    s_node_close (&a);
    zloop_destroy (&loop);
}

/*  A node started after many writes catches up by reconciliation; a third
    node that only knows the second gets everything through it, and its
    posts reach the first. */
HT_TEST (test_late_node_and_chain)
{
    zloop_t *loop = zloop_new ();
    node_t a, b, c;
    s_node_open (&a, "g3a", 11, NULL);
    s_node_open (&b, "g3b", 12, &a);
    s_node_open (&c, "g3c", 13, &a);
    s_member (&a, b.id);
    s_member (&a, c.id);
    for (int i = 0; i < 600; i++) {
        char title [32];
        snprintf (title, sizeof title, "Post %d", i);
        HT_CHECK_EQ_INT (s_post (&a, title), 0);
    }
    s_node_start (&a, loop, NULL);
    s_node_start (&b, loop, &a);
    HT_CHECK (s_wait_all (loop, s_events (&a), &a, &b, NULL));
    HT_CHECK (gossip_stats (b.g)->events_pulled >= 600);
    s_node_start (&c, loop, &b);
    HT_CHECK (s_wait_all (loop, s_events (&a), &a, &b, &c));
    HT_CHECK_EQ_INT (s_post (&c, "From the end of the chain"), 0);
    HT_CHECK (s_wait_all (loop, s_events (&c), &a, &b, &c));
    HT_CHECK_EQ_INT (s_post (&a, "From the start"), 0);
    HT_CHECK (s_wait_all (loop, s_events (&a), &a, &b, &c));
    HT_CHECK_EQ_INT (s_events (&a), s_events (&c));
    s_node_close (&c);
    s_node_close (&b);
    s_node_close (&a);
    zloop_destroy (&loop);
}

/*  Writes while a node is away reach it when it comes back. */
HT_TEST (test_restart_catches_up)
{
    zloop_t *loop = zloop_new ();
    node_t a, b;
    s_node_open (&a, "g4a", 21, NULL);
    s_node_open (&b, "g4b", 22, &a);
    s_member (&a, b.id);
    s_node_start (&a, loop, NULL);
    s_node_start (&b, loop, &a);
    HT_CHECK (s_wait_all (loop, s_events (&a), &a, &b, NULL));
    gossip_destroy (&b.g);                  /* b goes away */
    for (int i = 0; i < 50; i++)
        HT_CHECK_EQ_INT (s_post (&a, "While b was away"), 0);
    HT_CHECK_EQ_INT (s_post (&b, "Offline post on b"), 0);
    s_node_start (&b, loop, &a);
    HT_CHECK (s_wait_all (loop, s_events (&a) + 1, &a, &b, NULL));
    HT_CHECK_EQ_INT (s_events (&a), s_events (&b));
    /*  Differences at the head: the reconnect's v1 session keeps v1. */
    HT_CHECK_EQ_INT (gossip_stats (b.g)->reconcile_switches, 0);
    s_node_close (&b);
    s_node_close (&a);
    zloop_destroy (&loop);
}

typedef struct {
    eventlog_t *to;
    uint64_t    max_lamport;
} s_copy_t;

static int
s_copy_fn (void *arg, const event_t *ev)
{
    s_copy_t *c = (s_copy_t *) arg;
    if (event_lamport (ev) > c->max_lamport)
        return 1;
    size_t len;
    const uint8_t *wire = event_wire (ev, &len);
    eventlog_ingest_result_t r;
    return eventlog_ingest (c->to, &wire, &len, 1, &r, NULL);
}

/*  Posts signed here by `author`, lamports first, first + 1, ...: stored
    in one ingest call per log (fast: no synced append per post), into
    `all` every one and into `gaps` (may be NULL) all but every
    gap_every-th (old events missing at places spread over the order). */
static void
s_seed_posts (const node_t *author, uint64_t first, size_t count, node_t *all, node_t *gaps,
              size_t gap_every)
{
    uint8_t **frames = (uint8_t **) calloc (count, sizeof *frames);
    size_t *lens = (size_t *) calloc (count, sizeof *lens);
    uint8_t **g_frames = (uint8_t **) calloc (count, sizeof *g_frames);
    size_t *g_lens = (size_t *) calloc (count, sizeof *g_lens);
    uint64_t now = hearth_now_ms ();
    size_t ng = 0;
    for (size_t i = 0; i < count; i++) {
        tu_post_t p;
        /*  Event ids (ULIDs) distinct across authors posting at once. */
        uint32_t n = (uint32_t) (first + i) | (uint32_t) identity_public_key (author->id) [0] << 24;
        tu_post_init (&p, author->id, eventlog_community_id (author->log), first + i, now, n, NULL,
                      "Spread out");
        frames [i] = tu_sign_raw (&p.ev, author->id, &lens [i]);
        if (i % gap_every != gap_every - 1) {
            g_frames [ng] = frames [i];
            g_lens [ng++] = lens [i];
        }
    }
    eventlog_ingest_result_t r;
    HT_CHECK_EQ_INT (eventlog_ingest (all->log, (const uint8_t *const *) frames, lens, count, &r, NULL), 0);
    HT_CHECK_EQ_INT (r.accepted, count);
    if (gaps) {
        HT_CHECK_EQ_INT (eventlog_ingest (gaps->log, (const uint8_t *const *) g_frames, g_lens, ng, &r, NULL), 0);
        HT_CHECK_EQ_INT (r.accepted, ng);
    }
    for (size_t i = 0; i < count; i++)
        free (frames [i]);
    free (frames);
    free (lens);
    free (g_frames);
    free (g_lens);
}

/*  Copy a's log to b (membership events: b must know them to admit a). */
static int
s_copy_all_fn (void *arg, const event_t *ev)
{
    size_t len;
    const uint8_t *wire = event_wire (ev, &len);
    eventlog_ingest_result_t r;
    return eventlog_ingest ((eventlog_t *) arg, &wire, &len, 1, &r, NULL);
}

typedef struct {
    gossip_t *g;
    uint64_t  rounds;                       /* reconcile_rounds to reach */
} s_rounds_t;

static int
s_rounds_reached (void *arg)
{
    s_rounds_t *r = (s_rounds_t *) arg;
    return gossip_stats (r->g)->reconcile_rounds >= r->rounds;
}

/*  Posts in the scattered cases where the switch is judged: enough that
    the responder's first answer fingerprints the 240 old parts (>= 32
    items each) instead of listing them, as in a real log; every 20th is
    missing on b: 500 gaps. Fewer where the mode is fixed. */
#define S_SCATTER_POSTS 10000
#define S_SCATTER_FEW   2000
#define S_SCATTER_EVERY 20

/*  a holds the membership and `posts` posts, b the same less every
    S_SCATTER_EVERY-th post, and a `head` more posts at the head of the
    order; b dials a (b initiates), a in mode_a, b in mode_b. Returns once
    both hold the same set. */
static void
s_scattered_run (zloop_t *loop, node_t *a, node_t *b, const char *tag, uint8_t seed, size_t posts,
                 gossip_reconcile_t mode_a, gossip_reconcile_t mode_b, size_t head)
{
    char tag_a [32], tag_b [32];
    snprintf (tag_a, sizeof tag_a, "%sa", tag);
    snprintf (tag_b, sizeof tag_b, "%sb", tag);
    s_node_open (a, tag_a, seed, NULL);
    s_node_open (b, tag_b, (uint8_t) (seed + 1), a);
    s_member (a, b->id);
    eventlog_scan (a->log, 0, s_copy_all_fn, b->log);
    uint64_t first = eventlog_stats (a->log)->lamport_head + 1;
    s_seed_posts (a, first, posts, a, b, S_SCATTER_EVERY);
    if (head)
        s_seed_posts (a, first + posts, head, a, NULL, 1);
    HT_CHECK_EQ_INT (s_events (b), s_events (a) - posts / S_SCATTER_EVERY - head);
    s_node_start_cfg (a, loop, NULL, 0, mode_a);
    s_node_start_cfg (b, loop, a, 0, mode_b);  /* b dials a: b initiates */
    HT_CHECK (s_wait_all (loop, s_events (a), a, b, NULL));
}

/*  A reconnect's v1 session that finds old events missing at scattered
    places switches to the rateless mode after its first round; with
    reconcile = rateless the first session is rateless at once. */
HT_TEST (test_scattered_switch)
{
    zloop_t *loop = zloop_new ();
    node_t a, b;
    s_scattered_run (loop, &a, &b, "g11", 91, S_SCATTER_POSTS, GOSSIP_RECONCILE_AUTO,
                     GOSSIP_RECONCILE_AUTO, 0);
    const gossip_stats_t *st = gossip_stats (b.g);
    HT_CHECK_EQ_INT (st->reconcile_switches, 1);
    HT_CHECK (st->reconcile_rateless >= 1);
    HT_CHECK (st->reconcile_bytes_rateless > 0);
    HT_CHECK_EQ_INT (st->reconcile_fallbacks, 0);
    HT_CHECK (st->events_pulled >= S_SCATTER_POSTS / S_SCATTER_EVERY);
    s_node_close (&b);
    s_node_close (&a);
    s_scattered_run (loop, &a, &b, "g12", 93, S_SCATTER_FEW, GOSSIP_RECONCILE_AUTO,
                     GOSSIP_RECONCILE_RATELESS, 0);
    st = gossip_stats (b.g);
    HT_CHECK_EQ_INT (st->reconcile_switches, 0);
    HT_CHECK (st->reconcile_rateless >= 1);
    HT_CHECK_EQ_INT (st->reconcile_fallbacks, 0);
    s_node_close (&b);
    s_node_close (&a);
    zloop_destroy (&loop);
}

/*  No switch when the head itself differs: the same scattered gaps plus
    100 new posts at the head (a partition's), or two logs that share
    nothing but the membership (each side's own posts over the same
    lamports, like a split community): v1 does it all. */
HT_TEST (test_no_switch_when_head_differs)
{
    zloop_t *loop = zloop_new ();
    node_t a, b;
    s_scattered_run (loop, &a, &b, "g15", 101, S_SCATTER_POSTS, GOSSIP_RECONCILE_AUTO,
                     GOSSIP_RECONCILE_AUTO, 100);
    HT_CHECK_EQ_INT (gossip_stats (b.g)->reconcile_switches, 0);
    s_node_close (&b);
    s_node_close (&a);
    s_node_open (&a, "g16a", 103, NULL);
    s_node_open (&b, "g16b", 104, &a);
    s_member (&a, b.id);
    eventlog_scan (a.log, 0, s_copy_all_fn, b.log);
    uint64_t first = eventlog_stats (a.log)->lamport_head + 1;
    s_seed_posts (&a, first, 2000, &a, NULL, 1);
    s_seed_posts (&b, first, 2000, &b, NULL, 1);
    s_node_start (&a, loop, NULL);
    s_node_start (&b, loop, &a);
    HT_CHECK (s_wait_all (loop, s_events (&a) + 2000, &a, &b, NULL));
    HT_CHECK_EQ_INT (s_events (&a), s_events (&b));
    HT_CHECK_EQ_INT (gossip_stats (b.g)->reconcile_switches, 0);
    s_node_close (&b);
    s_node_close (&a);
    zloop_destroy (&loop);
}

/*  A v1-only node (reconcile = v1, a stock NIP-77 peer) never offers the
    rateless mode; dialling it, an auto node's reconnect session switches
    on scattered differences, is declined, falls back to v1 and remembers:
    its later sessions are v1. */
HT_TEST (test_v1_only_peer)
{
    zloop_t *loop = zloop_new ();
    node_t a, b;
    s_scattered_run (loop, &a, &b, "g13", 95, S_SCATTER_FEW, GOSSIP_RECONCILE_AUTO,
                     GOSSIP_RECONCILE_V1, 0);
    s_rounds_t want = { b.g, gossip_stats (b.g)->reconcile_rounds + 2 };
    HT_CHECK (s_run_until (loop, s_rounds_reached, &want, WAIT_MS));
    const gossip_stats_t *st = gossip_stats (b.g);
    HT_CHECK_EQ_INT (st->reconcile_switches, 0);
    HT_CHECK_EQ_INT (st->reconcile_rateless, 0);
    HT_CHECK_EQ_INT (st->reconcile_fallbacks, 0);
    s_node_close (&b);
    s_node_close (&a);
    s_scattered_run (loop, &a, &b, "g14", 97, S_SCATTER_POSTS, GOSSIP_RECONCILE_V1,
                     GOSSIP_RECONCILE_AUTO, 0);
    st = gossip_stats (b.g);
    HT_CHECK_EQ_INT (st->reconcile_switches, 1);
    HT_CHECK_EQ_INT (st->reconcile_fallbacks, 1);
    want.g = b.g;
    want.rounds = st->reconcile_rounds + 2;
    HT_CHECK (s_run_until (loop, s_rounds_reached, &want, WAIT_MS));
    HT_CHECK_EQ_INT (st->reconcile_fallbacks, 1);
    HT_CHECK_EQ_INT (st->reconcile_rateless, 0);
    HT_CHECK_EQ_INT (s_events (&a), s_events (&b));
    s_node_close (&b);
    s_node_close (&a);
    zloop_destroy (&loop);
}

/*  The dialling side has far more than the other lacks: instead of pushing
    them all, it asks the other side to pull them (receiver-paced). */
HT_TEST (test_far_behind_pulls)
{
    zloop_t *loop = zloop_new ();
    node_t a, b;
    s_node_open (&a, "g10a", 81, NULL);
    s_node_open (&b, "g10b", 82, &a);
    s_member (&a, b.id);
    for (int i = 0; i < 5000; i++)
        HT_CHECK_EQ_INT (s_post (&a, "Plenty"), 0);
    /*  b knows the membership (so its ZAP admits a), nothing else. */
    s_copy_t copy = { b.log, 3 };
    eventlog_scan (a.log, 0, s_copy_fn, &copy);
    HT_CHECK_EQ_INT (s_events (&b), 3);
    s_node_start (&b, loop, NULL);
    s_node_start (&a, loop, &b);            /* a dials b: a initiates */
    HT_CHECK (s_wait_all (loop, s_events (&a), &a, &b, NULL));
    HT_CHECK (gossip_stats (a.g)->events_pushed < 4096);
    HT_CHECK (gossip_stats (b.g)->events_pulled >= 5000 - 4096);
    s_node_close (&b);
    s_node_close (&a);
    zloop_destroy (&loop);
}

static int
s_denied (void *arg)
{
    return gossip_stats ((gossip_t *) arg)->zap_denied >= 2;
}

/*  A fresh, uninvited key is refused at the handshake: counted, and it
    gets nothing. */
HT_TEST (test_uninvited_denied)
{
    zloop_t *loop = zloop_new ();
    node_t a, d;
    s_node_open (&a, "g5a", 31, NULL);
    s_node_open (&d, "g5d", 32, &a);
    HT_CHECK_EQ_INT (s_post (&a, "Members only"), 0);
    s_node_start (&a, loop, NULL);
    s_node_start (&d, loop, &a);
    HT_CHECK (s_run_until (loop, s_denied, a.g, WAIT_MS));
    HT_CHECK_EQ_INT (s_events (&d), 0);
    HT_CHECK_EQ_INT (gossip_stats (d.g)->peers_connected, 0);
    HT_CHECK_EQ_INT (gossip_stats (a.g)->peers_connected, 0);
    HT_CHECK_EQ_INT (gossip_stats (a.g)->events_received, 0);
    s_node_close (&d);
    s_node_close (&a);
    zloop_destroy (&loop);
}

static int
s_is_member (void *arg)
{
    node_t **n = (node_t **) arg;
    return membership_level (eventlog_membership (n [0]->log), identity_public_key (n [1]->id))
        >= HEARTH__LEVEL__LEVEL_MEMBER;
}

/*  An invitee with a pending invite is admitted, fetches the log, and its
    join (written once it has the invite) reaches the inviter. An expired
    invite is refused. */
HT_TEST (test_invitee_admitted)
{
    zloop_t *loop = zloop_new ();
    node_t a, c, e;
    s_node_open (&a, "g6a", 41, NULL);
    s_node_open (&c, "g6c", 42, &a);
    s_node_open (&e, "g6e", 43, &a);
    char inv [ULID_SIZE], inv_e [ULID_SIZE];
    HT_CHECK_EQ_INT (s_invite (&a, c.id, hearth_now_ms () + HOUR_MS, inv), 0);
    HT_CHECK_EQ_INT (s_invite (&a, e.id, hearth_now_ms () + 1, inv_e), 0);   /* expires at once */
    HT_CHECK_EQ_INT (s_post (&a, "Welcome"), 0);
    s_node_start (&a, loop, NULL);
    s_node_start (&c, loop, &a);
    HT_CHECK (s_wait_all (loop, s_events (&a), &a, &c, NULL));
    HT_CHECK_EQ_INT (s_join (c.log, c.id, inv), 0);
    node_t *pair [2] = { &a, &c };
    HT_CHECK (s_run_until (loop, s_is_member, pair, WAIT_MS));
    /*  The expired invitee is refused and gets nothing. */
    s_node_start (&e, loop, &a);
    HT_CHECK (s_run_until (loop, s_denied, a.g, WAIT_MS));
    HT_CHECK_EQ_INT (s_events (&e), 0);
    s_node_close (&e);
    s_node_close (&c);
    s_node_close (&a);
    zloop_destroy (&loop);
}

/*  Two nodes that know no address find each other by zbeacon (skipped on a
    host without a broadcast interface). */
HT_TEST (test_lan_discovery)
{
    zactor_t *probe = zactor_new (zbeacon, NULL);
    zsock_send (probe, "si", "CONFIGURE", 7400);
    char *host = zstr_recv (probe);
    zactor_destroy (&probe);
    int can = host && *host;
    freen (host);
    if (!can) {
        fprintf (stderr, "no broadcast interface: LAN discovery not tested\n");
        return;
    }
    zloop_t *loop = zloop_new ();
    node_t a, b;
    s_node_open (&a, "g8a", 61, NULL);
    s_node_open (&b, "g8b", 62, &a);
    s_member (&a, b.id);
    HT_CHECK_EQ_INT (s_post (&a, "Found you"), 0);
    s_node_start_cfg (&a, loop, NULL, 1, GOSSIP_RECONCILE_AUTO);
    s_node_start_cfg (&b, loop, NULL, 1, GOSSIP_RECONCILE_AUTO);
    HT_CHECK (s_wait_all (loop, s_events (&a), &a, &b, NULL));
    s_node_close (&b);
    s_node_close (&a);
    zloop_destroy (&loop);
}

static int
s_dropped (void *arg)
{
    void **a = (void **) arg;
    return gossip_stats ((gossip_t *) a [0])->frames_dropped >= *(uint64_t *) a [1];
}

/*  A member's connection sending garbage: every bad frame is dropped and
    counted, nothing crashes, and the node still syncs with a good peer. */
HT_TEST (test_hostile_frames)
{
    zloop_t *loop = zloop_new ();
    node_t a, b, m;
    s_node_open (&a, "g9a", 71, NULL);
    s_node_open (&b, "g9b", 72, &a);
    s_node_open (&m, "g9m", 73, &a);
    s_member (&a, b.id);
    s_member (&a, m.id);
    HT_CHECK_EQ_INT (s_post (&a, "Still here"), 0);
    s_node_start (&a, loop, NULL);
    uint8_t key [32], server [32], pub [32], sec [32];
    char endpoint [GOSSIP_MAX_ADDRESS];
    HT_CHECK_EQ_INT (gossip_address_parse (gossip_address (a.g), key, endpoint), 0);
    HT_CHECK_EQ_INT (crypto_sign_ed25519_pk_to_curve25519 (server, key), 0);
    HT_CHECK_EQ_INT (identity_curve_keypair (m.id, pub, sec), 0);
    zsock_t *d = zsock_new (ZMQ_DEALER);
    zsock_set_curve_serverkey_bin (d, server);
    zsock_set_curve_publickey_bin (d, pub);
    zsock_set_curve_secretkey_bin (d, sec);
    zsock_set_linger (d, 0);
    HT_CHECK_EQ_INT (zsock_connect (d, "%s", endpoint), 0);
    /*  Junk, a truncated varint, an empty frame, a two-part message, an
        oversized fetch, an id of the wrong size, a bad Negentropy message
        under neg_open, a reply nobody asked for, a frame over the cap. */
    uint8_t junk [64];
    randombytes_buf (junk, sizeof junk);
    junk [0] = 0xff;
    zsock_send (d, "b", junk, sizeof junk);
    zsock_send (d, "b", "\x0a\xff", (size_t) 2);
    zsock_send (d, "b", "", (size_t) 0);
    zsock_send (d, "bb", "ab", (size_t) 2, "cd", (size_t) 2);
    Hearth__GossipMessage msg = HEARTH__GOSSIP_MESSAGE__INIT;
    Hearth__GossipFetch f = HEARTH__GOSSIP_FETCH__INIT;
    static uint8_t zeros [32];
    ProtobufCBinaryData *hashes = calloc (GOSSIP_WIRE_MAX_FETCH + 1, sizeof *hashes);
    for (size_t i = 0; i <= GOSSIP_WIRE_MAX_FETCH; i++) {
        hashes [i].data = zeros;
        hashes [i].len = 32;
    }
    f.hashes = hashes;
    f.n_hashes = GOSSIP_WIRE_MAX_FETCH + 1;
    msg.body_case = HEARTH__GOSSIP_MESSAGE__BODY_FETCH;
    msg.fetch = &f;
    size_t len;
    uint8_t *buf = gossip_wire_encode (&msg, &len);
    zsock_send (d, "b", buf, len);
    free (buf);
    f.n_hashes = 1;
    hashes [0].len = 31;
    buf = gossip_wire_encode (&msg, &len);
    zsock_send (d, "b", buf, len);
    free (buf);
    free (hashes);
    Hearth__GossipNeg n = HEARTH__GOSSIP_NEG__INIT;
    n.msg.data = (uint8_t *) "\x61\xff\xff";
    n.msg.len = 3;
    msg.body_case = HEARTH__GOSSIP_MESSAGE__BODY_NEG_OPEN;
    msg.neg_open = &n;
    buf = gossip_wire_encode (&msg, &len);
    zsock_send (d, "b", buf, len);
    free (buf);
    Hearth__GossipReply r = HEARTH__GOSSIP_REPLY__INIT;
    msg.body_case = HEARTH__GOSSIP_MESSAGE__BODY_REPLY;
    msg.reply = &r;
    buf = gossip_wire_encode (&msg, &len);
    zsock_send (d, "b", buf, len);
    free (buf);
    size_t big_len = GOSSIP_MAX_FRAME_BYTES + 1;
    uint8_t *big = calloc (1, big_len);
    zsock_send (d, "b", big, big_len);
    free (big);
    uint64_t expect = 9;
    void *args [2] = { a.g, &expect };
    HT_CHECK (s_run_until (loop, s_dropped, args, WAIT_MS));
    HT_CHECK_EQ_INT (gossip_stats (a.g)->events_received, 0);
    zsock_destroy (&d);
    sodium_memzero (sec, sizeof sec);
    /*  A good peer still syncs. */
    s_node_start (&b, loop, &a);
    HT_CHECK (s_wait_all (loop, s_events (&a), &a, &b, NULL));
    s_node_close (&m);
    s_node_close (&b);
    s_node_close (&a);
    zloop_destroy (&loop);
}

/* ---- remote queries --------------------------------------------------------------- */

static int
s_echo (void *arg, const char *capability, const json_t *input, const uint8_t caller [32],
        json_t **output, char **message)
{
    (void) arg;
    if (strcmp (capability, "market.list") != 0) {
        *message = strdup ("market.list only");
        return HEARTH_EUNAUTHORIZED;
    }
    char id [HEARTH_NODE_ID_SIZE];
    hearth_node_id_format (caller, id);
    *output = json_pack ("{s:O, s:s}", "input", input, "caller", id);
    return 0;
}

typedef struct {
    const identity_t *id;
    const char       *address;
    const char       *capability;
    int               rc;
    json_t           *output;
    char             *message;
    atomic_int        done;
} s_call_t;

static void *
s_call_main (void *arg)
{
    s_call_t *c = (s_call_t *) arg;
    json_t *input = json_pack ("{s:i}", "limit", 5);
    c->rc = gossip_client_call (c->id, c->address, c->capability, input, 5000, &c->output, &c->message);
    json_decref (input);
    atomic_store (&c->done, 1);
    return NULL;
}

static int
s_call_done (void *arg)
{
    return atomic_load (&((s_call_t *) arg)->done);
}

/*  Run one client call on a thread while the loop serves it. */
static void
s_call (zloop_t *loop, s_call_t *c)
{
    pthread_t t;
    atomic_store (&c->done, 0);
    c->output = NULL;
    c->message = NULL;
    HT_CHECK_EQ_INT (pthread_create (&t, NULL, s_call_main, c), 0);
    HT_CHECK (s_run_until (loop, s_call_done, c, WAIT_MS));
    pthread_join (t, NULL);
}

HT_TEST (test_remote_query)
{
    zloop_t *loop = zloop_new ();
    node_t a, b;
    s_node_open (&a, "g7a", 51, NULL);
    s_node_open (&b, "g7b", 52, &a);
    s_member (&a, b.id);
    s_node_start (&a, loop, NULL);
    identity_t *stranger = tu_identity (53);
    s_call_t c = { .id = b.id, .address = gossip_address (a.g), .capability = "market.list" };
    /*  No handler yet. */
    s_call (loop, &c);
    HT_CHECK_EQ_INT (c.rc, HEARTH_ENOTIMPL);
    free (c.message);
    gossip_set_query_handler (a.g, s_echo, NULL);
    s_call (loop, &c);
    HT_CHECK_EQ_INT (c.rc, 0);
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (json_object_get (c.output, "input"), "limit")), 5);
    HT_CHECK_EQ_STR (json_string_value (json_object_get (c.output, "caller")), identity_node_id (b.id));
    json_decref (c.output);
    free (c.message);
    c.capability = "market.post";
    s_call (loop, &c);
    HT_CHECK_EQ_INT (c.rc, HEARTH_EUNAUTHORIZED);
    HT_CHECK_EQ_STR (c.message, "market.list only");
    free (c.message);
    /*  A stranger's key is refused at the handshake. */
    c.id = stranger;
    c.capability = "market.list";
    s_call (loop, &c);
    HT_CHECK_EQ_INT (c.rc, HEARTH_EUNAUTHORIZED);
    HT_CHECK (gossip_stats (a.g)->zap_denied >= 1);
    free (c.message);
    identity_destroy (&stranger);
    s_node_close (&b);
    s_node_close (&a);
    zloop_destroy (&loop);
}

int
main (void)
{
    zsys_init ();
    zsys_set_logstream (NULL);
    HT_RUN (test_curve_to_ed);
    HT_RUN (test_address_parse);
    HT_RUN (test_wire_decode);
    HT_RUN (test_two_nodes_converge);
    HT_RUN (test_late_node_and_chain);
    HT_RUN (test_restart_catches_up);
    HT_RUN (test_far_behind_pulls);
    HT_RUN (test_scattered_switch);
    HT_RUN (test_no_switch_when_head_differs);
    HT_RUN (test_v1_only_peer);
    HT_RUN (test_uninvited_denied);
    HT_RUN (test_invitee_admitted);
    HT_RUN (test_lan_discovery);
    HT_RUN (test_hostile_frames);
    HT_RUN (test_remote_query);
    return ht_summary ();
}
