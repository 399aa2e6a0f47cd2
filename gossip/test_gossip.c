/*  test_gossip.c — the mesh layer in one process: two and three gossip_t
    instances, each with its own event log in a temp dir, on 127.0.0.1 with
    ports the OS picks, all driven by one zloop on this thread (the ZAP
    handler is per process and must share the instances' thread).

    Tests wait for conditions with deadlines, never for fixed times: the loop
    runs until a predicate holds or the deadline passes.
*/
#include <pthread.h>
#include <unistd.h>
#include <stdatomic.h>
#include <czmq.h>
#include "test_util.h"
#include "eventlog.h"
#include "gossip.h"
#include "gossip_budget.h"
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

/*  Start its gossip on loop with base (the defaults and the test's
    choices), listening on an OS-chosen port, dialling `peer` (may be
    NULL). */
static void
s_node_start_with (node_t *n, zloop_t *loop, const node_t *peer, const gossip_config_t *base)
{
    gossip_config_t cfg = *base;
    snprintf (cfg.listen, sizeof cfg.listen, "tcp://127.0.0.1:*");
    const char *peers [1];
    if (peer) {
        peers [0] = gossip_address (peer->g);
        cfg.peers = peers;
        cfg.n_peers = 1;
    }
    int err;
    n->g = gossip_new (n->log, n->id, loop, &cfg, &err);
    HT_CHECK (n->g != NULL);
    HT_CHECK (n->g && gossip_address (n->g) != NULL);
}

/*  Start its gossip dialling `peer` (may be NULL), anti-entropy every
    sync_ms in the given reconciliation mode, learning peers from hellos
    unless no_learn. */
static void
s_node_start_opts (node_t *n, zloop_t *loop, const node_t *peer, int discovery, uint32_t sync_ms,
                   int no_learn, gossip_reconcile_t reconcile)
{
    gossip_config_t cfg;
    gossip_config_defaults (&cfg);
    cfg.discovery = discovery;
    cfg.no_learn = no_learn;
    cfg.reconcile = reconcile;
    cfg.sync_interval_ms = sync_ms;
    s_node_start_with (n, loop, peer, &cfg);
}

static void
s_node_start_cfg (node_t *n, zloop_t *loop, const node_t *peer, int discovery,
                  gossip_reconcile_t reconcile)
{
    s_node_start_opts (n, loop, peer, discovery, 500, 0, reconcile);
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

/*  Once the process is stopping (zsys_interrupted, set by hearthd's
    signal handler), no out link is opened, and nothing started around
    that moment aborts (CZMQ's zmonitor did, in zframe_recv (NULL)). */
HT_TEST (test_no_dial_while_stopping)
{
    zloop_t *loop = zloop_new ();
    node_t a, b;
    s_node_open (&a, "gsa", 1, NULL);
    s_node_open (&b, "gsb", 2, &a);
    s_member (&a, b.id);
    s_node_start (&a, loop, NULL);
    s_node_start (&b, loop, NULL);
    zsys_interrupted = 1;
    int rc = gossip_peer_add (b.g, gossip_address (a.g));
    zclock_sleep (100);                     /* a zmonitor started here would abort within its first poll */
    zsys_interrupted = 0;
    HT_CHECK (rc != 0);
    HT_CHECK (gossip_peer_add (b.g, gossip_address (a.g)) == 0);
    s_node_close (&b);
    s_node_close (&a);
    zloop_destroy (&loop);
}

/*  Client calls run on worker threads (the embedding lanes) while the
    loop thread sets zsys_interrupted on SIGTERM. A CZMQ zmonitor actor
    aborts the process (zframe_recv (NULL)) when zsys_interrupted is set
    before it has handled START, and no check in the calling thread closes
    that window, so the client reads its socket monitor itself. Calls made
    while zsys_interrupted flips must all return, with nothing aborted. */
#define S_FLIP_THREADS 2
#define S_FLIP_CALLS   300

typedef struct {
    const identity_t *id;
    const char       *address;
    atomic_int        done;
} s_flip_t;

static void *
s_flip_main (void *arg)
{
    s_flip_t *f = (s_flip_t *) arg;
    for (int i = 0; i < S_FLIP_CALLS; i++) {
        json_t *output = NULL;
        char *message = NULL;
        json_t *input = json_object ();
        gossip_client_call (f->id, f->address, "node.capabilities", input, 2, &output, &message, NULL);
        json_decref (input);
        json_decref (output);
        free (message);
    }
    atomic_store (&f->done, 1);
    return NULL;
}

HT_TEST (test_client_call_while_stopping)
{
    identity_t *caller = tu_identity (61);
    identity_t *callee = tu_identity (62);
    char address [GOSSIP_MAX_ADDRESS];
    /*  Loopback, nothing listening there: each call waits its 2 ms out. */
    snprintf (address, sizeof address, "%s@tcp://127.0.0.1:9", identity_node_id (callee));
    s_flip_t flips [S_FLIP_THREADS];
    pthread_t threads [S_FLIP_THREADS];
    for (int t = 0; t < S_FLIP_THREADS; t++) {
        flips [t] = (s_flip_t) { .id = caller, .address = address };
        atomic_init (&flips [t].done, 0);
        HT_CHECK_EQ_INT (pthread_create (&threads [t], NULL, s_flip_main, &flips [t]), 0);
    }
    for (int t = 0; t < S_FLIP_THREADS; t++)
        while (!atomic_load (&flips [t].done)) {
            zsys_interrupted = 1;
            usleep (50);
            zsys_interrupted = 0;
            usleep (50);
        }
    zsys_interrupted = 0;
    for (int t = 0; t < S_FLIP_THREADS; t++)
        pthread_join (threads [t], NULL);
    identity_destroy (&callee);
    identity_destroy (&caller);
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

static int
s_rebuilt (void *arg)
{
    return gossip_stats ((gossip_t *) arg)->store_rebuilds >= 1;
}

/*  A store that lost step with its log (here: events stored while the
    accept hook was off, inside the store's pages) is caught by the first
    page read that disagrees, rebuilt from the log, and sessions go on; the
    peer is not blamed for it. */
HT_TEST (test_store_rebuilt_on_disagreement)
{
    zloop_t *loop = zloop_new ();
    node_t a, b;
    s_node_open (&a, "g18a", 181, NULL);
    s_node_open (&b, "g18b", 182, &a);
    s_member (&a, b.id);
    eventlog_scan (a.log, 0, s_copy_all_fn, b.log);
    uint64_t first = eventlog_stats (a.log)->lamport_head + 1;
    s_seed_posts (&a, first, 300, &a, &b, 10);
    s_node_start_cfg (&b, loop, NULL, 0, GOSSIP_RECONCILE_V1);
    eventlog_set_accept_hook (b.log, NULL, NULL);
    eventlog_scan (a.log, 0, s_copy_all_fn, b.log);   /* the 30 gaps, behind the store's back */
    HT_CHECK_EQ_INT (s_events (&a), s_events (&b));
    s_node_start_cfg (&a, loop, &b, 0, GOSSIP_RECONCILE_V1);     /* a dials: b answers from its store */
    HT_CHECK (s_run_until (loop, s_rebuilt, b.g, WAIT_MS));
    s_rounds_t done = { a.g, gossip_stats (a.g)->reconcile_rounds + 1 };
    HT_CHECK (s_run_until (loop, s_rounds_reached, &done, WAIT_MS));
    HT_CHECK_EQ_INT (gossip_stats (b.g)->store_rebuilds, 1);
    HT_CHECK_EQ_INT (gossip_stats (b.g)->frames_dropped, 0);
    HT_CHECK_EQ_INT (s_events (&a), s_events (&b));
    s_node_close (&a);
    s_node_close (&b);
    zloop_destroy (&loop);
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

/*  A raw CURVE DEALER connection to node n as member `who` (no gossip
    instance behind it: the test speaks the protocol by hand, and can send
    frames no well-behaved client would). sndhwm < 0 keeps ZeroMQ's
    default; 0 queues a whole burst. */
static zsock_t *
s_raw_open (const node_t *n, const identity_t *who, int sndhwm)
{
    uint8_t key [32], server [32], pub [32], sec [32];
    char endpoint [GOSSIP_MAX_ADDRESS];
    HT_CHECK_EQ_INT (gossip_address_parse (gossip_address (n->g), key, endpoint), 0);
    HT_CHECK_EQ_INT (crypto_sign_ed25519_pk_to_curve25519 (server, key), 0);
    HT_CHECK_EQ_INT (identity_curve_keypair (who, pub, sec), 0);
    zsock_t *d = zsock_new (ZMQ_DEALER);
    zsock_set_curve_serverkey_bin (d, server);
    zsock_set_curve_publickey_bin (d, pub);
    zsock_set_curve_secretkey_bin (d, sec);
    zsock_set_linger (d, 0);
    if (sndhwm >= 0)
        zsock_set_sndhwm (d, sndhwm);
    HT_CHECK_EQ_INT (zsock_connect (d, "%s", endpoint), 0);
    sodium_memzero (sec, sizeof sec);
    return d;
}

static zsock_t *
s_raw_connect (const node_t *n, const identity_t *who)
{
    return s_raw_open (n, who, -1);
}

/*  A raw connection that queues a whole burst of calls. */
static zsock_t *
s_raw_open_burst (const node_t *n, const identity_t *who)
{
    return s_raw_open (n, who, 0);
}

/*  Send one message on a raw connection. */
static void
s_raw_send (zsock_t *d, const Hearth__GossipMessage *m)
{
    size_t len;
    uint8_t *buf = gossip_wire_encode (m, &len);
    HT_CHECK (buf && zsock_send (d, "b", buf, len) == 0);
    free (buf);
}

static void
s_raw_announce (zsock_t *d, const uint8_t *hashes, size_t n, size_t hash_len)
{
    ProtobufCBinaryData *bins = calloc (n, sizeof *bins);
    for (size_t i = 0; i < n; i++) {
        bins [i].data = (uint8_t *) hashes + i * hash_len;
        bins [i].len = hash_len;
    }
    Hearth__GossipAnnounce a = HEARTH__GOSSIP_ANNOUNCE__INIT;
    a.hashes = bins;
    a.n_hashes = n;
    Hearth__GossipMessage m = HEARTH__GOSSIP_MESSAGE__INIT;
    m.body_case = HEARTH__GOSSIP_MESSAGE__BODY_ANNOUNCE;
    m.announce = &a;
    s_raw_send (d, &m);
    free (bins);
}

/*  What a raw connection was sent: fetches (hashes and the last request
    id) and Negentropy openings. */
typedef struct {
    zsock_t  *d;
    size_t    fetches, hashes, neg_opens;
    size_t    pushed, announced;            /* events in pushes, hashes in announcements */
    size_t    redirects, redirect_peers;    /* redirects, and the last one's addresses */
    uint64_t  last_request;
    uint8_t   last_hash [32];
} s_raw_seen_t;

/*  Read what is waiting on the raw connection (never blocks). */
static void
s_raw_seen_drain (s_raw_seen_t *r)
{
    while (zsock_events (r->d) & ZMQ_POLLIN) {
        zframe_t *f = zframe_recv (r->d);
        if (!f)
            break;
        gossip_wire_msg_t m;
        if (gossip_wire_decode (&m, zframe_data (f), zframe_size (f), GOSSIP_MAX_FRAME_BYTES) == 0) {
            if (m.msg->body_case == HEARTH__GOSSIP_MESSAGE__BODY_FETCH) {
                r->fetches++;
                r->hashes += m.msg->fetch->n_hashes;
                r->last_request = m.msg->fetch->request_id;
                if (m.msg->fetch->n_hashes)
                    memcpy (r->last_hash, m.msg->fetch->hashes [0].data, 32);
            }
            else
            if (m.msg->body_case == HEARTH__GOSSIP_MESSAGE__BODY_NEG_OPEN)
                r->neg_opens++;
            else
            if (m.msg->body_case == HEARTH__GOSSIP_MESSAGE__BODY_PUSH)
                r->pushed += m.msg->push->n_events;
            else
            if (m.msg->body_case == HEARTH__GOSSIP_MESSAGE__BODY_ANNOUNCE)
                r->announced += m.msg->announce->n_hashes;
            else
            if (m.msg->body_case == HEARTH__GOSSIP_MESSAGE__BODY_REDIRECT) {
                r->redirects++;
                r->redirect_peers = m.msg->redirect->n_peers;
            }
            gossip_wire_release (&m);
        }
        zframe_destroy (&f);
    }
}

static int
s_raw_fetched (void *arg)
{
    s_raw_seen_t *r = (s_raw_seen_t *) arg;
    s_raw_seen_drain (r);
    return r->fetches > 0;
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
    zsock_t *d = s_raw_connect (&a, m.id);
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
    /*  A good peer still syncs. */
    s_node_start (&b, loop, &a);
    HT_CHECK (s_wait_all (loop, s_events (&a), &a, &b, NULL));
    s_node_close (&m);
    s_node_close (&b);
    s_node_close (&a);
    zloop_destroy (&loop);
}

/* ---- sync floods: the per-peer budget (gossip_budget.h) ---------------------------- */

typedef struct {
    node_t   *server;
    zsock_t  *d;
    uint64_t  sent;                         /* bytes the raw member sent */
    uint64_t  received;                     /* bytes it read back */
    uint64_t  in, out;                      /* the server's in link from it */
} s_flood_t;

/*  Drain the raw member; true once the server has read all it sent. */
static int
s_flood_read (void *arg)
{
    s_flood_t *f = (s_flood_t *) arg;
    while (zsock_events (f->d) & ZMQ_POLLIN) {
        zframe_t *fr = zframe_recv (f->d);
        if (!fr)
            break;
        f->received += zframe_size (fr);
        zframe_destroy (&fr);
    }
    json_t *peers = gossip_peers_json (f->server->g);
    size_t i;
    json_t *p;
    json_array_foreach (json_object_get (peers, "peers"), i, p)
        if (streq (json_string_value (json_object_get (p, "direction")), "in")) {
            f->in = (uint64_t) json_integer_value (json_object_get (p, "bytes_in"));
            f->out = (uint64_t) json_integer_value (json_object_get (p, "bytes_out"));
        }
    json_decref (peers);
    return f->in >= f->sent;
}

/*  The budget's counters reached the stats. */
static int
s_budget_counted (void *arg)
{
    return gossip_stats ((gossip_t *) arg)->budget_bytes_charged > 0;
}

static void
s_flood_send (s_flood_t *f, const Hearth__GossipMessage *m)
{
    size_t len;
    uint8_t *buf = gossip_wire_encode (m, &len);
    HT_CHECK (buf && zsock_send (f->d, "b", buf, len) == 0);
    f->sent += len;
    free (buf);
}

typedef struct {
    uint8_t *hashes;
    size_t   n, cap;
} s_hashes_t;

static int
s_collect_hash (void *arg, uint64_t lamport, const uint8_t *hash)
{
    (void) lamport;
    s_hashes_t *h = (s_hashes_t *) arg;
    if (h->n < h->cap)
        memcpy (h->hashes + 32 * h->n++, hash, 32);
    return 0;
}

/*  One member floods rateless openings asking for every symbol (7 bytes,
    each ~850 KB unbudgeted), Negentropy openings of an empty set (each
    answered with every id) and fetches of events that exist: the bytes
    the node sends it stay within the budget's bound (gossip_budget.h), the
    excess is deferred and counted, and an honest member still syncs. */
HT_TEST (test_sync_flood_bounded)
{
    zloop_t *loop = zloop_new ();
    node_t a, b, m;
    s_node_open (&a, "gfa", 111, NULL);
    s_node_open (&b, "gfb", 112, &a);
    s_node_open (&m, "gfm", 113, &a);
    s_member (&a, b.id);
    s_member (&a, m.id);
    for (int i = 0; i < 200; i++)
        HT_CHECK_EQ_INT (s_post (&a, "Apples for everyone"), 0);
    s_hashes_t h = { malloc (64 * 32), 0, 64 };
    eventlog_scan_order (a.log, s_collect_hash, &h);
    s_node_start_opts (&a, loop, NULL, 0, 3600000, 1, GOSSIP_RECONCILE_AUTO);
    s_flood_t f = { .server = &a };
    f.d = s_raw_open_burst (&a, m.id);
    uint64_t t0 = hearth_mono_ms ();
    Hearth__GossipMessage msg = HEARTH__GOSSIP_MESSAGE__INIT;
    Hearth__GossipNeg n = HEARTH__GOSSIP_NEG__INIT;
    Hearth__GossipFetch fe = HEARTH__GOSSIP_FETCH__INIT;
    ProtobufCBinaryData bins [64];
    for (size_t i = 0; i < h.n; i++) {
        bins [i].data = h.hashes + 32 * i;
        bins [i].len = 32;
    }
    fe.hashes = bins;
    fe.n_hashes = h.n;
    for (int i = 0; i < 200; i++) {
        n.session = (uint64_t) (3 * i + 1);
        n.msg.data = (uint8_t *) "\x48\x01\x00\x00\x82\x80\x00";   /* all 32,768 symbols */
        n.msg.len = 7;
        msg.body_case = HEARTH__GOSSIP_MESSAGE__BODY_NEG_OPEN;
        msg.neg_open = &n;
        s_flood_send (&f, &msg);
        n.session++;
        n.msg.data = (uint8_t *) "\x61\x00\x00\x02\x00";           /* v1: "I have nothing" */
        n.msg.len = 5;
        s_flood_send (&f, &msg);
        fe.request_id = (uint64_t) i + 1;
        msg.body_case = HEARTH__GOSSIP_MESSAGE__BODY_FETCH;
        msg.fetch = &fe;
        s_flood_send (&f, &msg);
    }
    HT_CHECK (s_run_until (loop, s_flood_read, &f, WAIT_MS));
    uint64_t elapsed = hearth_mono_ms () - t0;
    /*  Bound: 8 x in + 16 KiB/s + the burst + one frame of overdraft + the
        owed events of one grant, plus the pings and hellos the node sends
        on its own. */
    uint64_t bound = GOSSIP_BUDGET_EARN_RATIO * f.in + (uint64_t) GOSSIP_BUDGET_BASE_BPS * (elapsed + 1000) / 1000
                   + GOSSIP_BUDGET_BURST_BYTES + GOSSIP_MAX_FRAME_BYTES + 64 * 1024
                   + (2 * s_events (&a) + GOSSIP_BUDGET_GRANT_MIN) * 512;     /* the grant: ~390-byte posts */
    printf ("  flood: %" PRIu64 " bytes in, %" PRIu64 " out (%.1fx) in %" PRIu64 " ms, bound %" PRIu64 "\n",
            f.in, f.out, (double) f.out / (double) f.in, elapsed, bound);
    HT_CHECK (f.in >= f.sent);
    HT_CHECK (f.out <= bound);
    HT_CHECK (s_run_until (loop, s_budget_counted, a.g, WAIT_MS));   /* the tick copies them */
    const gossip_stats_t *st = gossip_stats (a.g);
    HT_CHECK (st->budget_deferred_debt > 0);
    HT_CHECK (st->budget_refused_superseded > 0);
    /*  An honest member joins meanwhile: its own budget, all of it. */
    s_node_start (&b, loop, &a);
    HT_CHECK (s_wait_all (loop, s_events (&a), &a, &b, NULL));
    zsock_destroy (&f.d);
    free (h.hashes);
    s_node_close (&m);
    s_node_close (&b);
    s_node_close (&a);
    zloop_destroy (&loop);
}

/* ---- lazy push ------------------------------------------------------------------------ */

/*  Anti-entropy every hour: after the sessions at connect, events move only
    by push and announcements, so the tests see those alone. */
#define LAZY_SYNC_MS  3600000

/*  Start n's gossip dialling each of peers [0 .. n_peers) and nobody else
    (no learning: the links are exactly these), anti-entropy every
    LAZY_SYNC_MS. */
static void
s_node_start_pinned (node_t *n, zloop_t *loop, node_t *const *peers, size_t n_peers)
{
    gossip_config_t cfg;
    gossip_config_defaults (&cfg);
    cfg.no_learn = 1;
    cfg.sync_interval_ms = LAZY_SYNC_MS;
    snprintf (cfg.listen, sizeof cfg.listen, "tcp://127.0.0.1:*");
    const char *addresses [4];
    assert (n_peers <= 4);
    for (size_t i = 0; i < n_peers; i++)
        addresses [i] = gossip_address (peers [i]->g);
    cfg.peers = addresses;
    cfg.n_peers = n_peers;
    int err;
    n->g = gossip_new (n->log, n->id, loop, &cfg, &err);
    HT_CHECK (n->g != NULL);
}

/*  Wait until n has completed `rounds` reconciliation sessions of its own
    (one per out link at connect): before that, a session still running
    may legitimately push a new post in full as one of its "have" events,
    and the lazy-push counters would count anti-entropy too. */
static int
s_sessions_done (zloop_t *loop, node_t *n, uint64_t rounds)
{
    s_rounds_t want = { n->g, rounds };
    return s_run_until (loop, s_rounds_reached, &want, WAIT_MS);
}

typedef struct {
    node_t  *nodes [8];
    size_t   n;
    uint64_t peers;
} s_linked_t;

static int
s_all_linked (void *arg)
{
    s_linked_t *a = (s_linked_t *) arg;
    for (size_t i = 0; i < a->n; i++)
        if (gossip_stats (a->nodes [i]->g)->peers_connected < a->peers)
            return 0;
    return 1;
}

typedef struct {
    node_t  *nodes [8];
    size_t   n;
    uint64_t count;                         /* events every node must hold */
    uint64_t announced [8];                 /* announce_received each must reach */
} s_spread_t;

static int
s_spread (void *arg)
{
    s_spread_t *a = (s_spread_t *) arg;
    for (size_t i = 0; i < a->n; i++)
        if (s_events (a->nodes [i]) < a->count
        ||  gossip_stats (a->nodes [i]->g)->announce_received < a->announced [i])
            return 0;
    return 1;
}

typedef struct {
    node_t  *nodes [8];
    size_t   n;
    uint64_t count;                         /* events every node must hold */
    uint64_t announced;                     /* announce_received summed over the nodes to reach */
} s_spread_total_t;

static int
s_spread_total (void *arg)
{
    s_spread_total_t *a = (s_spread_total_t *) arg;
    uint64_t announced = 0;
    for (size_t i = 0; i < a->n; i++) {
        if (s_events (a->nodes [i]) < a->count)
            return 0;
        announced += gossip_stats (a->nodes [i]->g)->announce_received;
    }
    return announced >= a->announced;
}

/*  Three nodes in a full mesh (each dials those started before it): a post
    reaches each other node as a full event from its author's node; the
    two relays only announce it, each to the node it did not get it from.
    The announcement leaves a relay GOSSIP_ANNOUNCE_DELAY_MS after the
    author's push reached it: a head start, not a guarantee. On a loaded
    machine the announcement can reach the third node before the author's
    push does; it then fetches the event from the relay (once: a hash is
    asked of one peer at a time) and the push arrives as a duplicate. So
    per relay: received = 1 + asked, duplicates = asked, asked <= 1 (0 in
    the usual timing), and exactly one announcement sent; two in all. */
HT_TEST (test_mesh_once)
{
    zloop_t *loop = zloop_new ();
    node_t a, b, c;
    s_node_open (&a, "g11a", 91, NULL);
    s_node_open (&b, "g11b", 92, &a);
    s_node_open (&c, "g11c", 93, &a);
    s_member (&a, b.id);
    s_member (&a, c.id);
    /*  All start with the same events: the sessions at connect move none,
        so the counters below see the posts alone. */
    s_copy_t copy_b = { b.log, UINT64_MAX }, copy_c = { c.log, UINT64_MAX };
    eventlog_scan (a.log, 0, s_copy_fn, &copy_b);
    eventlog_scan (a.log, 0, s_copy_fn, &copy_c);
    s_node_start_opts (&a, loop, NULL, 0, LAZY_SYNC_MS, 1, GOSSIP_RECONCILE_AUTO);
    node_t *b_peers [1] = { &a }, *c_peers [2] = { &a, &b };
    s_node_start_pinned (&b, loop, b_peers, 1);
    s_node_start_pinned (&c, loop, c_peers, 2);
    s_linked_t mesh = { { &a, &b, &c }, 3, 2 };
    HT_CHECK (s_run_until (loop, s_all_linked, &mesh, WAIT_MS));
    /*  Links b->a, c->a, c->b: the connect sessions over before any post. */
    HT_CHECK (s_sessions_done (loop, &b, 1));
    HT_CHECK (s_sessions_done (loop, &c, 2));
    node_t *nodes [3] = { &a, &b, &c };
    for (int author = 0; author < 3; author++) {
        gossip_stats_t before [3];
        uint64_t announced = 0;
        for (int i = 0; i < 3; i++) {
            before [i] = *gossip_stats (nodes [i]->g);
            announced += before [i].announce_received;
        }
        HT_CHECK_EQ_INT (s_post (nodes [author], "Once each"), 0);
        s_spread_total_t want = { { &a, &b, &c }, 3, s_events (nodes [author]), announced + 2 };
        HT_CHECK (s_run_until (loop, s_spread_total, &want, WAIT_MS));
        for (int i = 0; i < 3; i++) {
            const gossip_stats_t *now = gossip_stats (nodes [i]->g);
            uint64_t asked = now->announce_requested - before [i].announce_requested;
            uint64_t duplicate = now->events_duplicate - before [i].events_duplicate;
            if (i == author) {
                HT_CHECK_EQ_INT (now->events_received - before [i].events_received, 0);
                HT_CHECK_EQ_INT (asked, 0);
                HT_CHECK_EQ_INT (duplicate, 0);
                HT_CHECK_EQ_INT (now->announce_sent - before [i].announce_sent, 0);
                HT_CHECK_EQ_INT (now->events_pushed - before [i].events_pushed, 2);
            }
            else {
                HT_CHECK (asked <= 1);
                HT_CHECK_EQ_INT (now->events_received - before [i].events_received, 1 + asked);
                HT_CHECK_EQ_INT (duplicate, asked);
                HT_CHECK_EQ_INT (now->announce_sent - before [i].announce_sent, 1);
                HT_CHECK_EQ_INT (now->events_pushed - before [i].events_pushed, 0);
            }
        }
    }
    s_node_close (&c);
    s_node_close (&b);
    s_node_close (&a);
    zloop_destroy (&loop);
}

/*  Five nodes in a line, none learning the others: posts at either end
    cross every hop as announce -> fetch, nothing arrives twice. */
HT_TEST (test_chain_announce)
{
    zloop_t *loop = zloop_new ();
    enum { N = 5 };
    node_t n [N];
    s_node_open (&n [0], "g12a", 101, NULL);
    for (int i = 1; i < N; i++) {
        char tag [16];
        snprintf (tag, sizeof tag, "g12%c", 'a' + i);
        s_node_open (&n [i], tag, (uint8_t) (101 + i), &n [0]);
        s_member (&n [0], n [i].id);
    }
    /*  All start with the membership (so every ZAP admits its neighbours)
        and nothing else. */
    for (int i = 1; i < N; i++) {
        s_copy_t copy = { n [i].log, UINT64_MAX };
        eventlog_scan (n [0].log, 0, s_copy_fn, &copy);
    }
    s_node_start_opts (&n [0], loop, NULL, 0, LAZY_SYNC_MS, 1, GOSSIP_RECONCILE_AUTO);
    for (int i = 1; i < N; i++)
        s_node_start_opts (&n [i], loop, &n [i - 1], 0, LAZY_SYNC_MS, 1, GOSSIP_RECONCILE_AUTO);
    s_linked_t tips = { { &n [0], &n [N - 1] }, 2, 1 }, middle = { { &n [1], &n [2], &n [3] }, N - 2, 2 };
    HT_CHECK (s_run_until (loop, s_all_linked, &tips, WAIT_MS));
    HT_CHECK (s_run_until (loop, s_all_linked, &middle, WAIT_MS));
    for (int i = 1; i < N - 1; i++)
        HT_CHECK_EQ_INT (gossip_stats (n [i].g)->peers_connected, 2);   /* a line: no shortcuts */
    for (int i = 1; i < N; i++)
        HT_CHECK (s_sessions_done (loop, &n [i], 1));                    /* its link to n [i - 1] */
    int ends [2] = { 0, N - 1 };
    for (int e = 0; e < 2; e++) {
        uint64_t requested [N];
        for (int i = 0; i < N; i++)
            requested [i] = gossip_stats (n [i].g)->announce_requested;
        HT_CHECK_EQ_INT (s_post (&n [ends [e]], "Down the line"), 0);
        s_spread_t all = { { &n [0], &n [1], &n [2], &n [3], &n [4] }, N, s_events (&n [ends [e]]), { 0 } };
        HT_CHECK (s_run_until (loop, s_spread, &all, WAIT_MS));
        for (int i = 0; i < N; i++) {
            int hops = abs (i - ends [e]);
            /*  The author's neighbour got it pushed; every further node
                asked for it after an announcement. */
            HT_CHECK_EQ_INT (gossip_stats (n [i].g)->announce_requested - requested [i], hops >= 2);
            HT_CHECK_EQ_INT (gossip_stats (n [i].g)->events_duplicate, 0);
        }
    }
    for (int i = N; i-- > 0; )
        s_node_close (&n [i]);
    zloop_destroy (&loop);
}

typedef struct {
    gossip_t *g;
    uint64_t  received;
} s_announced_t;

static int
s_announced (void *arg)
{
    s_announced_t *a = (s_announced_t *) arg;
    return gossip_stats (a->g)->announce_received >= a->received;
}

typedef struct {
    s_raw_seen_t *raw;
    size_t        hashes;
    size_t        neg_opens;
} s_raw_wait_t;

static int
s_raw_reached (void *arg)
{
    s_raw_wait_t *w = (s_raw_wait_t *) arg;
    s_raw_seen_drain (w->raw);
    return w->raw->hashes >= w->hashes && w->raw->neg_opens >= w->neg_opens;
}

/*  A member announcing junk and too much: a bad hash drops the frame; a
    frame over GOSSIP_WIRE_MAX_ANNOUNCE is cut to it; past
    GOSSIP_ANNOUNCE_PENDING_PEER hashes the rest is dropped (all counted),
    at most that many are asked for, and the node reconciles instead. */
HT_TEST (test_announce_limits)
{
    zloop_t *loop = zloop_new ();
    node_t a, m;
    s_node_open (&a, "g13a", 111, NULL);
    s_node_open (&m, "g13m", 112, &a);
    s_member (&a, m.id);
    s_node_start_opts (&a, loop, NULL, 0, LAZY_SYNC_MS, 0, GOSSIP_RECONCILE_AUTO);
    zsock_t *d = s_raw_connect (&a, m.id);
    size_t n = GOSSIP_ANNOUNCE_PENDING_PEER + GOSSIP_WIRE_MAX_ANNOUNCE;
    uint8_t *junk = malloc (n * 32);
    randombytes_buf (junk, n * 32);
    s_raw_announce (d, junk, 2, 31);                                    /* wrong size: frame dropped */
    uint64_t expect = 1;
    void *args [2] = { a.g, &expect };
    HT_CHECK (s_run_until (loop, s_dropped, args, WAIT_MS));
    size_t cut = 100;
    s_raw_announce (d, junk, GOSSIP_WIRE_MAX_ANNOUNCE + cut, 32);       /* the last 100 are cut */
    for (size_t at = GOSSIP_WIRE_MAX_ANNOUNCE; at < n; at += GOSSIP_WIRE_MAX_ANNOUNCE)
        s_raw_announce (d, junk + at * 32, GOSSIP_WIRE_MAX_ANNOUNCE, 32);
    s_announced_t got = { a.g, n + cut };
    HT_CHECK (s_run_until (loop, s_announced, &got, WAIT_MS));
    const gossip_stats_t *st = gossip_stats (a.g);
    HT_CHECK_EQ_INT (st->announce_received, n + cut);
    HT_CHECK_EQ_INT (st->announce_dropped, cut + (n - GOSSIP_ANNOUNCE_PENDING_PEER));
    HT_CHECK_EQ_INT (st->frames_dropped, 1);
    /*  It asks for exactly its share, in fetches the wire allows, and
        reconciles for the rest. */
    s_raw_seen_t seen = { .d = d };
    s_raw_wait_t wait = { &seen, GOSSIP_ANNOUNCE_PENDING_PEER, 1 };
    HT_CHECK (s_run_until (loop, s_raw_reached, &wait, WAIT_MS));
    HT_CHECK_EQ_INT (seen.hashes, GOSSIP_ANNOUNCE_PENDING_PEER);
    HT_CHECK (seen.fetches <= GOSSIP_ANNOUNCE_FETCH_WINDOW);
    HT_CHECK_EQ_INT (gossip_stats (a.g)->announce_requested, GOSSIP_ANNOUNCE_PENDING_PEER);
    HT_CHECK_EQ_INT (gossip_stats (a.g)->events_received, 0);
    free (junk);
    zsock_destroy (&d);
    s_node_close (&m);
    s_node_close (&a);
    zloop_destroy (&loop);
}

typedef struct {
    node_t            *x;
    s_raw_seen_t      *raw;
    const uint8_t     *hash;
    const uint8_t     *wire;
    size_t             len;
    int                answered;
} s_deliver_t;

/*  The second announcer answers the fetch that names the hash; done when
    x stores the event and has counted the retry. */
static int
s_deliver (void *arg)
{
    s_deliver_t *d = (s_deliver_t *) arg;
    s_raw_seen_drain (d->raw);
    if (!d->answered && d->raw->fetches > 0 && memcmp (d->raw->last_hash, d->hash, 32) == 0) {
        ProtobufCBinaryData ev = { d->len, (uint8_t *) d->wire };
        Hearth__GossipEvents e = HEARTH__GOSSIP_EVENTS__INIT;
        e.events = &ev;
        e.n_events = 1;
        e.request_id = d->raw->last_request;
        e.last = 1;
        Hearth__GossipMessage m = HEARTH__GOSSIP_MESSAGE__INIT;
        m.body_case = HEARTH__GOSSIP_MESSAGE__BODY_EVENTS;
        m.events = &e;
        s_raw_send (d->raw->d, &m);
        d->answered = 1;
    }
    return eventlog_has_hash (d->x->log, d->hash) == 1
        && gossip_stats (d->x->g)->announce_retried >= 1;
}

/*  An announced hash the first announcer never delivers is asked for again
    from the second announcer after GOSSIP_ANNOUNCE_TIMEOUT_MS. */
HT_TEST (test_announce_retry)
{
    zloop_t *loop = zloop_new ();
    node_t x, y, m1, m2;
    s_node_open (&x, "g14x", 121, NULL);
    s_node_open (&y, "g14y", 122, &x);
    s_node_open (&m1, "g14m", 123, &x);
    s_node_open (&m2, "g14n", 124, &x);
    s_member (&x, m1.id);
    s_member (&x, m2.id);
    /*  y: a copy of x's log plus one post by m1 that x lacks. */
    s_copy_t copy = { y.log, UINT64_MAX };
    eventlog_scan (x.log, 0, s_copy_fn, &copy);
    HT_CHECK_EQ_INT (s_events (&y), s_events (&x));
    tu_post_t p;
    tu_post_init (&p, m1.id, NULL, 0, 0, 0, NULL, "Ask twice");
    p.ev.community_id.data = NULL;
    p.ev.community_id.len = 0;
    p.ev.author.data = NULL;
    p.ev.author.len = 0;
    p.ev.event_id = (char *) "";
    event_t *ev = NULL;
    HT_CHECK_EQ_INT (eventlog_append_local (y.log, m1.id, &p.ev, hearth_now_ms (), &ev), 0);
    HT_CHECK (ev != NULL);
    if (!ev)
        return;
    uint8_t hash [32];
    memcpy (hash, event_hash (ev), 32);
    size_t len;
    const uint8_t *wire = event_wire (ev, &len);
    s_node_start_opts (&x, loop, NULL, 0, LAZY_SYNC_MS, 0, GOSSIP_RECONCILE_AUTO);
    zsock_t *d1 = s_raw_connect (&x, m1.id);
    zsock_t *d2 = s_raw_connect (&x, m2.id);
    /*  m1 announces first and is asked; m2 announces too, and never hears
        of it until m1 has been silent for the timeout. */
    s_raw_announce (d1, hash, 1, 32);
    s_raw_seen_t seen1 = { .d = d1 }, seen2 = { .d = d2 };
    HT_CHECK (s_run_until (loop, s_raw_fetched, &seen1, WAIT_MS));
    HT_CHECK (memcmp (seen1.last_hash, hash, 32) == 0);
    s_raw_announce (d2, hash, 1, 32);
    s_announced_t got = { x.g, 2 };
    HT_CHECK (s_run_until (loop, s_announced, &got, WAIT_MS));
    s_raw_seen_drain (&seen2);
    HT_CHECK_EQ_INT (seen2.fetches, 0);
    s_deliver_t deliver = { &x, &seen2, hash, wire, len, 0 };
    HT_CHECK (s_run_until (loop, s_deliver, &deliver, WAIT_MS));
    HT_CHECK (deliver.answered);
    HT_CHECK_EQ_INT (gossip_stats (x.g)->announce_requested, 2);
    HT_CHECK_EQ_INT (gossip_stats (x.g)->announce_retried, 1);
    s_raw_seen_drain (&seen1);
    HT_CHECK_EQ_INT (seen1.fetches, 1);                 /* m1 was asked once */
    event_destroy (&ev);
    zsock_destroy (&d2);
    zsock_destroy (&d1);
    s_node_close (&m2);
    s_node_close (&m1);
    s_node_close (&y);
    s_node_close (&x);
    zloop_destroy (&loop);
}

static int
s_raw_pushed (void *arg)
{
    s_raw_seen_t *r = (s_raw_seen_t *) arg;
    s_raw_seen_drain (r);
    return r->pushed > 0;
}

/*  A peer whose hello says link version 1 knows no announcements: a relayed
    event reaches it in full. */
HT_TEST (test_v1_peer_gets_events)
{
    zloop_t *loop = zloop_new ();
    node_t a, b, m;
    s_node_open (&a, "g15a", 131, NULL);
    s_node_open (&b, "g15b", 132, &a);
    s_node_open (&m, "g15m", 133, &a);
    s_member (&a, b.id);
    s_member (&a, m.id);
    s_copy_t copy = { b.log, UINT64_MAX };
    eventlog_scan (a.log, 0, s_copy_fn, &copy);
    s_node_start_opts (&a, loop, NULL, 0, LAZY_SYNC_MS, 0, GOSSIP_RECONCILE_AUTO);
    s_node_start_opts (&b, loop, &a, 0, LAZY_SYNC_MS, 0, GOSSIP_RECONCILE_AUTO);
    zsock_t *d = s_raw_connect (&a, m.id);
    Hearth__GossipHello h = HEARTH__GOSSIP_HELLO__INIT;
    h.version = 1;
    Hearth__GossipMessage msg = HEARTH__GOSSIP_MESSAGE__INIT;
    msg.body_case = HEARTH__GOSSIP_MESSAGE__BODY_HELLO;
    msg.hello = &h;
    s_raw_send (d, &msg);
    s_linked_t linked = { { &a }, 1, 2 };
    HT_CHECK (s_run_until (loop, s_all_linked, &linked, WAIT_MS));
    HT_CHECK_EQ_INT (s_post (&b, "For the old node too"), 0);
    s_raw_seen_t seen = { .d = d };
    HT_CHECK (s_run_until (loop, s_raw_pushed, &seen, WAIT_MS));
    HT_CHECK_EQ_INT (seen.pushed, 1);
    HT_CHECK_EQ_INT (seen.announced, 0);
    HT_CHECK_EQ_INT (gossip_stats (a.g)->announce_sent, 0);
    zsock_destroy (&d);
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
    uint64_t          retry_after_ms;
    atomic_int        done;
} s_call_t;

static void *
s_call_main (void *arg)
{
    s_call_t *c = (s_call_t *) arg;
    json_t *input = json_pack ("{s:i}", "limit", 5);
    c->rc = gossip_client_call (c->id, c->address, c->capability, input, 5000, &c->output, &c->message,
                                &c->retry_after_ms);
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

/* ---- remote query limits ------------------------------------------------------------ */

static void
s_raw_query (zsock_t *d, const char *capability, uint64_t request_id, uint32_t timeout_ms)
{
    Hearth__GossipQuery q = HEARTH__GOSSIP_QUERY__INIT;
    q.capability = (char *) capability;
    q.input_json = (char *) "{}";
    q.request_id = request_id;
    q.timeout_ms = timeout_ms;
    Hearth__GossipMessage m = HEARTH__GOSSIP_MESSAGE__INIT;
    m.body_case = HEARTH__GOSSIP_MESSAGE__BODY_QUERY;
    m.query = &q;
    s_raw_send (d, &m);
}

/*  What a raw client got back, by request id parity and by error. */
typedef struct {
    zsock_t  *d;
    gossip_t *server;
    uint64_t  sent;
    uint64_t  replies, ok, rate_limited, capacity, timeouts, other;
    uint64_t  retry_missing;                /* rate_limited/capacity without retry_after_ms */
    uint64_t  timeout_ids [64];             /* request ids answered `timeout` */
    size_t    n_timeout_ids;
} s_raw_t;

static void
s_raw_drain (s_raw_t *r)
{
    zframe_t *f;
    while (zsock_events (r->d) & ZMQ_POLLIN && (f = zframe_recv (r->d))) {
        gossip_wire_msg_t m;
        if (gossip_wire_decode (&m, zframe_data (f), zframe_size (f), GOSSIP_MAX_FRAME_BYTES) == 0
        &&  m.msg->body_case == HEARTH__GOSSIP_MESSAGE__BODY_REPLY) {
            const Hearth__GossipReply *rep = m.msg->reply;
            r->replies++;
            if (rep->error == 0)
                r->ok++;
            else
            if (rep->error == HEARTH_ERATE || rep->error == HEARTH_ECAPACITY) {
                r->rate_limited += rep->error == HEARTH_ERATE;
                r->capacity += rep->error == HEARTH_ECAPACITY;
                r->retry_missing += rep->retry_after_ms == 0;
            }
            else
            if (rep->error == HEARTH_ETIMEOUT) {
                r->timeouts++;
                if (r->n_timeout_ids < 64)
                    r->timeout_ids [r->n_timeout_ids++] = rep->request_id;
            }
            else
                r->other++;
            gossip_wire_release (&m);
        }
        zframe_destroy (&f);
    }
}

/*  The admission figures of one capability on g. */
static const gossip_admit_cap_t *
s_query_cap (const gossip_t *g, const char *name)
{
    const gossip_admit_cap_t *caps;
    size_t n = gossip_query_stats (g, &caps);
    for (size_t i = 0; i < n; i++)
        if (strcmp (caps [i].name, name) == 0)
            return &caps [i];
    return NULL;
}

static int
s_raw_some_dropped (void *arg)
{
    s_raw_t *r = (s_raw_t *) arg;
    s_raw_drain (r);
    return s_query_cap (r->server, "market.list")->dropped_capability > 0;
}

/*  Every call sent is answered or counted as dropped, and none in flight. */
static int
s_raw_accounted (void *arg)
{
    s_raw_t *r = (s_raw_t *) arg;
    s_raw_drain (r);
    const gossip_admit_cap_t *c = s_query_cap (r->server, "market.list");
    return r->replies + c->dropped_capability + c->dropped_total == r->sent && c->in_flight == 0;
}

/*  One member floods market.list: past the hard rate its calls are dropped
    unanswered and counted; the soft rate and the pending cap answer with
    retry_after_ms; every call is accounted for; a good member is still
    served. */
HT_TEST (test_query_flood)
{
    zloop_t *loop = zloop_new ();
    node_t a, b, m;
    s_node_open (&a, "gqa", 81, NULL);
    s_node_open (&b, "gqb", 82, &a);
    s_node_open (&m, "gqm", 83, &a);
    s_member (&a, b.id);
    s_member (&a, m.id);
    s_node_start (&a, loop, NULL);
    gossip_set_query_handler (a.g, s_echo, NULL);
    HT_CHECK_EQ_INT (gossip_query_limits_set (a.g, "market.list", 8, 5000), 0);
    HT_CHECK_EQ_INT (gossip_query_limits_set (a.g, "market.list", 0, 5000), HEARTH_EINVAL);
    s_raw_t r;
    memset (&r, 0, sizeof r);
    r.d = s_raw_open_burst (&a, m.id);
    r.server = a.g;
    /*  Bursts over the hard burst until the node has dropped some (the
        hard bucket refills at 100/s, so only the number needed depends on
        how fast this machine is). */
    for (int round = 0; round < 20 && !s_raw_some_dropped (&r); round++) {
        for (int i = 0; i < 2 * GOSSIP_ADMIT_HARD_CAP_BURST; i++)
            s_raw_query (r.d, "market.list", ++r.sent, 0);
        s_run_until (loop, s_raw_some_dropped, &r, WAIT_MS / 20);
    }
    HT_CHECK (s_run_until (loop, s_raw_accounted, &r, WAIT_MS));
    const gossip_admit_cap_t *c = s_query_cap (a.g, "market.list");
    HT_CHECK (c->dropped_capability > 0);
    HT_CHECK (r.replies < r.sent);
    HT_CHECK (r.ok > 0);
    HT_CHECK (r.rate_limited > 0);
    HT_CHECK_EQ_INT (r.retry_missing, 0);
    HT_CHECK_EQ_INT (r.other, 0);
    HT_CHECK_EQ_INT (c->received, r.sent);
    HT_CHECK_EQ_INT (c->ok, r.ok);
    HT_CHECK_EQ_INT (c->rate_limited, r.rate_limited);
    HT_CHECK_EQ_INT (c->capacity_concurrent + c->capacity_peer, r.capacity);
    HT_CHECK_EQ_INT (c->timeouts, r.timeouts);
    HT_CHECK (c->in_flight_peak <= GOSSIP_ADMIT_PEER_PENDING);
    /*  The good member is served. */
    s_call_t call = { .id = b.id, .address = gossip_address (a.g), .capability = "market.list" };
    s_call (loop, &call);
    HT_CHECK_EQ_INT (call.rc, 0);
    HT_CHECK_EQ_STR (json_string_value (json_object_get (call.output, "caller")), identity_node_id (b.id));
    json_decref (call.output);
    free (call.message);
    HT_CHECK_EQ_INT (c->ok, r.ok + 1);
    zsock_destroy (&r.d);
    s_node_close (&m);
    s_node_close (&b);
    s_node_close (&a);
    zloop_destroy (&loop);
}

/*  Handler for the budget test: market.slow takes a few ms; market.list
    counts the request ids it ran. */
typedef struct {
    uint64_t ran [256];
    size_t   n_ran;
} s_slow_t;

#define S_SLOW_MS 5

static int
s_slow_handler (void *arg, const char *capability, const json_t *input, const uint8_t caller [32],
                json_t **output, char **message)
{
    (void) input;
    (void) caller;
    (void) message;
    s_slow_t *st = (s_slow_t *) arg;
    if (strcmp (capability, "market.slow") == 0) {
        uint64_t until = hearth_mono_ms () + S_SLOW_MS;
        while (hearth_mono_ms () < until)
            usleep (1000);                  /* simulated work, not a wait for a condition */
    }
    else
    if (st->n_ran < 256)
        st->n_ran++;
    *output = json_object ();
    return 0;
}

typedef struct {
    s_raw_t *raw;
    uint64_t want;
} s_raw_want_t;

static int
s_raw_replies (void *arg)
{
    s_raw_want_t *w = (s_raw_want_t *) arg;
    s_raw_drain (w->raw);
    return w->raw->replies >= w->want;
}

/*  A call queued behind slower work past its caller's budget is answered
    `timeout` and never run. A slow call and a fast one with a 1 ms budget
    are queued on a new connection before its handshake (which the node's
    loop completes), so they leave in one batch and are read in one burst:
    the fast one waits out the slow one's 5 ms. In case they still come
    apart, a few pairs are tried, each on its own connection, fewer than
    the soft rate's burst so no retry_after_ms is ever due. */
HT_TEST (test_query_budget)
{
    zloop_t *loop = zloop_new ();
    node_t a, m;
    s_node_open (&a, "gta", 91, NULL);
    s_node_open (&m, "gtm", 92, &a);
    s_member (&a, m.id);
    s_node_start (&a, loop, NULL);
    s_slow_t st;
    memset (&st, 0, sizeof st);
    gossip_set_query_handler (a.g, s_slow_handler, &st);
    HT_CHECK_EQ_INT (gossip_query_limits_set (a.g, "market.list", 8, 5000), 0);
    HT_CHECK_EQ_INT (gossip_query_limits_set (a.g, "market.slow", 4, 5000), 0);
    s_raw_t r;
    memset (&r, 0, sizeof r);
    r.server = a.g;
    for (int pair = 0; pair < GOSSIP_ADMIT_SOFT_CAP_BURST - 1 && r.timeouts == 0; pair++) {
        r.d = s_raw_open_burst (&a, m.id);
        s_raw_query (r.d, "market.slow", ++r.sent, 0);
        s_raw_query (r.d, "market.list", ++r.sent, 1);
        s_raw_want_t w = { &r, r.sent };
        HT_CHECK (s_run_until (loop, s_raw_replies, &w, WAIT_MS));
        zsock_destroy (&r.d);
    }
    HT_CHECK (r.timeouts >= 1);
    HT_CHECK_EQ_INT (r.rate_limited + r.capacity + r.other, 0);
    const gossip_admit_cap_t *list = s_query_cap (a.g, "market.list");
    HT_CHECK_EQ_INT (list->timeouts, r.timeouts);
    /*  Only fast calls ever time out, and the handler never ran them. */
    HT_CHECK_EQ_INT (s_query_cap (a.g, "market.slow")->timeouts, 0);
    for (size_t i = 0; i < r.n_timeout_ids; i++)
        HT_CHECK_EQ_INT (r.timeout_ids [i] % 2, 0);
    HT_CHECK_EQ_INT (st.n_ran, list->ok);
    HT_CHECK_EQ_INT (list->ok + list->timeouts, list->received);
    s_node_close (&m);
    s_node_close (&a);
    zloop_destroy (&loop);
}

/*  A query whose fields fail their checks is refused with its request id
    and the reason, so the receiver can answer it (a caller must never wait
    out its timeout); peer-claimed heads give a saturated lag. */
HT_TEST (test_query_refused_and_lag)
{
    char cap [GOSSIP_WIRE_MAX_CAPABILITY + 2];
    memset (cap, 'c', sizeof cap - 1);
    cap [sizeof cap - 1] = '\0';              /* 65 bytes */
    Hearth__GossipQuery q = HEARTH__GOSSIP_QUERY__INIT;
    q.capability = cap;
    q.request_id = 77;
    Hearth__GossipMessage msg = HEARTH__GOSSIP_MESSAGE__INIT;
    msg.body_case = HEARTH__GOSSIP_MESSAGE__BODY_QUERY;
    msg.query = &q;
    size_t len;
    uint8_t *buf = gossip_wire_encode (&msg, &len);
    gossip_wire_msg_t m;
    HT_CHECK_EQ_INT (gossip_wire_decode (&m, buf, len, 4096), HEARTH_EINVAL);
    HT_CHECK (m.msg == NULL && m.query_refused && m.query_request_id == 77);
    HT_CHECK (m.query_problem && strstr (m.query_problem, "over 64 bytes"));
    free (buf);
    cap [GOSSIP_WIRE_MAX_CAPABILITY] = '\0';  /* 64 bytes: fine */
    buf = gossip_wire_encode (&msg, &len);
    HT_CHECK_EQ_INT (gossip_wire_decode (&m, buf, len, 4096), 0);
    HT_CHECK (!m.query_refused);
    gossip_wire_release (&m);
    free (buf);
    q.capability = (char *) "";
    buf = gossip_wire_encode (&msg, &len);
    HT_CHECK_EQ_INT (gossip_wire_decode (&m, buf, len, 4096), HEARTH_EINVAL);
    HT_CHECK (m.query_refused && strstr (m.query_problem, "empty"));
    free (buf);

    HT_CHECK (gossip_lag (10, 3) == 7);
    HT_CHECK (gossip_lag (3, 10) == -7);
    HT_CHECK (gossip_lag (UINT64_MAX, 68157448) == INT64_MAX);
    HT_CHECK (gossip_lag (UINT64_MAX, 0) == INT64_MAX);
    HT_CHECK (gossip_lag (0, UINT64_MAX) == -INT64_MAX);
    HT_CHECK (gossip_lag ((uint64_t) INT64_MAX, 0) == INT64_MAX);
    HT_CHECK (gossip_lag (0, (uint64_t) INT64_MAX) == -INT64_MAX);
    HT_CHECK (gossip_lag (UINT64_MAX, UINT64_MAX) == 0);
}

/* ---- the overlay in the shell: known peers kept, in links capped ------------------ */

/*  Open n's log as a member of root's community (root admits it). */
static void
s_node_open_member (node_t *n, const char *tag, uint8_t seed, const node_t *root)
{
    s_node_open (n, tag, seed, root);
    s_member (root, n->id);
}

/*  Copy all of from's log into to's, so that a session between them at
    connect moves no events. */
static void
s_copy_log (const node_t *from, node_t *to)
{
    s_copy_t copy = { to->log, UINT64_MAX };
    eventlog_scan (from->log, 0, s_copy_fn, &copy);
}

/*  Start n's gossip with the overlay's link caps (0 = defaults), dialling
    `peer` (may be NULL). */
static void
s_node_start_links (node_t *n, zloop_t *loop, const node_t *peer, size_t links_out, size_t links_in_max)
{
    gossip_config_t cfg;
    gossip_config_defaults (&cfg);
    cfg.sync_interval_ms = 500;
    cfg.links_out = links_out;
    cfg.links_in_max = links_in_max;
    s_node_start_with (n, loop, peer, &cfg);
}

typedef struct {
    gossip_t *g;
    size_t    known;
} s_known_t;

static int
s_knows (void *arg)
{
    s_known_t *k = (s_known_t *) arg;
    return gossip_stats (k->g)->known_peers >= k->known;
}

/*  A node learns members from hellos, keeps them in the log's store, and
    after a restart with no configured peer (its inviter down) dials them
    from the stored table. */
HT_TEST (test_known_table_persists)
{
    zloop_t *loop = zloop_new ();
    node_t a, b, c;
    s_node_open (&a, "gka", 111, NULL);
    s_node_open_member (&b, "gkb", 112, &a);
    s_node_open_member (&c, "gkc", 113, &a);
    s_copy_log (&a, &b);
    s_copy_log (&a, &c);
    s_node_start (&a, loop, NULL);
    s_node_start (&c, loop, &a);
    s_linked_t ca = { { &c }, 1, 1 };
    HT_CHECK (s_run_until (loop, s_all_linked, &ca, WAIT_MS));
    s_node_start (&b, loop, &a);            /* learns c from a's hello */
    s_known_t bk = { b.g, 2 };
    HT_CHECK (s_run_until (loop, s_knows, &bk, WAIT_MS));
    json_t *known = gossip_known_json (b.g);
    HT_CHECK (json_array_size (json_object_get (known, "known")) == 2);
    json_decref (known);
    gossip_destroy (&b.g);                  /* saves the table */
    gossip_destroy (&a.g);                  /* the inviter goes away */
    uint8_t *buf = NULL;
    size_t len = 0;
    HT_CHECK_EQ_INT (eventlog_meta_get (b.log, EVENTLOG_META_NAME_PEERS, &buf, &len), 0);
    HT_CHECK (buf && len > 0);
    free (buf);
    s_node_start_links (&b, loop, NULL, 0, 0);   /* no configured peer at all */
    HT_CHECK_EQ_INT (gossip_stats (b.g)->known_peers, 2);
    s_linked_t bl = { { &b }, 1, 1 };
    HT_CHECK (s_run_until (loop, s_all_linked, &bl, WAIT_MS));
    HT_CHECK_EQ_INT (s_post (&c, "While the inviter is away"), 0);
    HT_CHECK (s_wait_all (loop, s_events (&c), &b, &c, NULL));
    s_node_close (&c);
    s_node_close (&b);
    s_node_close (&a);
    zloop_destroy (&loop);
}

/*  A damaged stored table (garbage, or a value over nothing) is logged and
    counted; the node starts from its configured peer and links. */
HT_TEST (test_known_table_damaged)
{
    zloop_t *loop = zloop_new ();
    node_t a, b;
    s_node_open (&a, "gda", 121, NULL);
    s_node_open_member (&b, "gdb", 122, &a);
    uint8_t junk [300];
    randombytes_buf (junk, sizeof junk);
    HT_CHECK_EQ_INT (eventlog_meta_put (b.log, EVENTLOG_META_NAME_PEERS, junk, sizeof junk), 0);
    s_node_start (&a, loop, NULL);
    s_node_start (&b, loop, &a);
    HT_CHECK (b.g != NULL);
    HT_CHECK (gossip_stats (b.g)->known_load_skipped >= 1);
    HT_CHECK (s_wait_all (loop, s_events (&a), &a, &b, NULL));
    gossip_destroy (&b.g);                  /* rewrites a good table */
    HT_CHECK_EQ_INT (eventlog_meta_put (b.log, EVENTLOG_META_NAME_PEERS, NULL, 0), 0);  /* empty */
    s_node_start (&b, loop, &a);
    HT_CHECK (b.g != NULL);
    HT_CHECK (gossip_stats (b.g)->known_load_skipped >= 1);
    s_linked_t bl = { { &b }, 1, 1 };
    HT_CHECK (s_run_until (loop, s_all_linked, &bl, WAIT_MS));
    s_node_close (&b);
    s_node_close (&a);
    zloop_destroy (&loop);
}

static int
s_redirected (void *arg)
{
    s_raw_seen_t *r = (s_raw_seen_t *) arg;
    s_raw_seen_drain (r);
    return r->redirects > 0;
}

/*  Encode m and decode it again; the decoder's result (what it decoded is
    released). */
static int
s_wire_recode (const Hearth__GossipMessage *m)
{
    size_t len;
    uint8_t *buf = gossip_wire_encode (m, &len);
    gossip_wire_msg_t w;
    int rc = gossip_wire_decode (&w, buf, len, GOSSIP_MAX_FRAME_BYTES);
    if (rc == 0)
        gossip_wire_release (&w);
    free (buf);
    return rc;
}

static void
s_raw_ping (zsock_t *d, uint64_t nonce)
{
    Hearth__GossipPing p = HEARTH__GOSSIP_PING__INIT;
    p.nonce = nonce;
    Hearth__GossipMessage m = HEARTH__GOSSIP_MESSAGE__INIT;
    m.body_case = HEARTH__GOSSIP_MESSAGE__BODY_PING;
    m.ping = &p;
    s_raw_send (d, &m);
}

/*  A node accepting one member's in link refuses the next member visibly:
    counted, and a redirect naming the member it knows goes back; a flood
    of frames from the refused member gets at most one redirect a second
    and is counted once per redirect; a redirect sent to a listener is
    dropped. The redirect's wire checks bound it. */
HT_TEST (test_inbound_refused_redirect)
{
    zloop_t *loop = zloop_new ();
    node_t a, b, m;
    s_node_open (&a, "gra", 131, NULL);
    s_node_open_member (&b, "grb", 132, &a);
    s_node_open_member (&m, "grm", 133, &a);
    s_copy_log (&a, &b);
    s_node_start_links (&a, loop, NULL, 0, 1);
    s_node_start (&b, loop, &a);
    s_linked_t ab = { { &a, &b }, 2, 1 };
    HT_CHECK (s_run_until (loop, s_all_linked, &ab, WAIT_MS));
    s_known_t ak = { a.g, 1 };              /* a learned b's own address from its hello */
    HT_CHECK (s_run_until (loop, s_knows, &ak, WAIT_MS));
    /*  a dials b too (its overlay wants out links); b's in link is a's
        out link, so a's member in links stay at b's one. */
    s_raw_seen_t r = { .d = s_raw_connect (&a, m.id) };
    s_raw_ping (r.d, 1);
    HT_CHECK (s_run_until (loop, s_redirected, &r, WAIT_MS));
    HT_CHECK_EQ_INT (r.redirects, 1);
    HT_CHECK (r.redirect_peers >= 1);       /* b's address */
    uint64_t refused = gossip_stats (a.g)->inbound_refused;
    HT_CHECK (refused >= 1);
    /*  A flood of frames from the refused member. */
    uint64_t start = hearth_mono_ms ();
    for (uint64_t i = 0; i < 500; i++)
        s_raw_ping (r.d, i + 2);
    s_raw_seen_t none = { .d = r.d };
    s_run_until (loop, s_redirected, &none, 300);
    uint64_t elapsed = hearth_mono_ms () - start;
    HT_CHECK (none.redirects <= 1 + elapsed / 1000);
    HT_CHECK (gossip_stats (a.g)->inbound_refused <= refused + 1 + elapsed / 1000);
    HT_CHECK (gossip_stats (a.g)->peers_connected >= 1);
    zsock_destroy (&r.d);

    /*  A redirect sent to a listener means nothing: dropped, counted. */
    zsock_t *d = s_raw_connect (&b, m.id);
    uint64_t dropped = gossip_stats (b.g)->frames_dropped;
    char *peers [1] = { (char *) gossip_address (a.g) };
    Hearth__GossipRedirect rd = HEARTH__GOSSIP_REDIRECT__INIT;
    rd.peers = peers;
    rd.n_peers = 1;
    rd.reason = (char *) "go away";
    Hearth__GossipMessage msg = HEARTH__GOSSIP_MESSAGE__INIT;
    msg.body_case = HEARTH__GOSSIP_MESSAGE__BODY_REDIRECT;
    msg.redirect = &rd;
    s_raw_send (d, &msg);
    s_known_t nothing = { b.g, 1000 };
    s_run_until (loop, s_knows, &nothing, 300);
    HT_CHECK (gossip_stats (b.g)->frames_dropped >= dropped + 1);
    HT_CHECK_EQ_INT (gossip_stats (b.g)->redirects_received, 0);
    zsock_destroy (&d);

    /*  The wire: at most GOSSIP_WIRE_MAX_PEERS addresses, each and the
        reason within their caps. */
    char *many [GOSSIP_WIRE_MAX_PEERS + 1];
    for (size_t i = 0; i <= GOSSIP_WIRE_MAX_PEERS; i++)
        many [i] = peers [0];
    rd.peers = many;
    rd.n_peers = GOSSIP_WIRE_MAX_PEERS;
    HT_CHECK_EQ_INT (s_wire_recode (&msg), 0);
    rd.n_peers = GOSSIP_WIRE_MAX_PEERS + 1;
    HT_CHECK_EQ_INT (s_wire_recode (&msg), HEARTH_EINVAL);
    char reason [GOSSIP_WIRE_MAX_REASON + 2];
    memset (reason, 'r', sizeof reason - 1);
    reason [sizeof reason - 1] = '\0';
    rd.n_peers = 1;
    rd.reason = reason;
    HT_CHECK_EQ_INT (s_wire_recode (&msg), HEARTH_EINVAL);
    char long_address [GOSSIP_MAX_ADDRESS + 1];
    memset (long_address, 'a', sizeof long_address - 1);
    long_address [sizeof long_address - 1] = '\0';
    many [0] = long_address;
    rd.peers = many;
    rd.reason = NULL;
    HT_CHECK_EQ_INT (s_wire_recode (&msg), HEARTH_EINVAL);

    s_node_close (&m);
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
    HT_RUN (test_query_refused_and_lag);
    HT_RUN (test_two_nodes_converge);
    HT_RUN (test_no_dial_while_stopping);
    HT_RUN (test_client_call_while_stopping);
    HT_RUN (test_late_node_and_chain);
    HT_RUN (test_restart_catches_up);
    HT_RUN (test_store_rebuilt_on_disagreement);
    HT_RUN (test_far_behind_pulls);
    HT_RUN (test_scattered_switch);
    HT_RUN (test_no_switch_when_head_differs);
    HT_RUN (test_v1_only_peer);
    HT_RUN (test_uninvited_denied);
    HT_RUN (test_invitee_admitted);
    HT_RUN (test_lan_discovery);
    HT_RUN (test_hostile_frames);
    HT_RUN (test_sync_flood_bounded);
    HT_RUN (test_mesh_once);
    HT_RUN (test_chain_announce);
    HT_RUN (test_announce_limits);
    HT_RUN (test_announce_retry);
    HT_RUN (test_v1_peer_gets_events);
    HT_RUN (test_remote_query);
    HT_RUN (test_query_flood);
    HT_RUN (test_query_budget);
    HT_RUN (test_known_table_persists);
    HT_RUN (test_known_table_damaged);
    HT_RUN (test_inbound_refused_redirect);
    return ht_summary ();
}
