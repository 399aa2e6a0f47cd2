/*  sim_world.c — the simulated mesh; see sim_world.h and docs/simulation.md.

    Each node is the daemon's gossip shell reduced to its decisions, calling
    the real pure cores: gossip_overlay (which links), gossip_want (which
    announced hash to ask of whom, timeouts, other announcers) and
    negentropy (reconciliation over a negentropy_store_memory). The shell's
    steps follow gossip.c (s_link_up, s_on_hello, s_on_tick, s_on_sync),
    gossip_push.c (eager push, announce after GOSSIP_ANNOUNCE_DELAY_MS to
    all up links but the origin's, fetch of announced hashes) and
    gossip_sync.c (initiator and responder, need fetches claimed in the
    want table, have events pushed when done).

    Messages carry what the real frames carry (post indices stand for the
    events and hashes) and are charged the size of the real protobuf frame
    (protobuf-c's packed size of the same GossipMessage, with a 400-byte
    event and 77-byte addresses) plus S_FRAME_OVERHEAD for ZMTP and CURVE.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "sim_world.h"
#include "sim_heap.h"
#include "sim_rng.h"
#include "gossip_want.h"
#include "negentropy.h"
#include "negentropy_store.h"
#include "gossip_wire.h"
#include "hearth_error.h"
#include "hearth_vec.h"

/* ---- the daemon's constants (gossip/include/gossip.h, gossip.c, gossip_sync.c,
        gossip_link.h: static or beside czmq there, so repeated here) ---------------- */
#define S_ANNOUNCE_DELAY_MS     10          /* GOSSIP_ANNOUNCE_DELAY_MS */
#define S_ANNOUNCE_TIMEOUT_MS   2000        /* GOSSIP_ANNOUNCE_TIMEOUT_MS */
#define S_ANNOUNCE_WINDOW       4           /* GOSSIP_ANNOUNCE_FETCH_WINDOW */
#define S_ANNOUNCE_PENDING_PEER 4096        /* GOSSIP_ANNOUNCE_PENDING_PEER */
#define S_SYNC_INTERVAL_MS      10000       /* GOSSIP_SYNC_INTERVAL_MS */
#define S_PEER_BUSY_MS          2000        /* GOSSIP_PEER_BUSY_MS */
#define S_SESSION_IDLE_MS       30000       /* GOSSIP_SESSION_IDLE_MS */
#define S_FETCH_TIMEOUT_MS      30000       /* GOSSIP_FETCH_TIMEOUT_MS */
#define S_FETCH_WINDOW          4           /* GOSSIP_FETCH_WINDOW */
#define S_PUSH_HAVE_MAX         4096        /* GOSSIP_PUSH_HAVE_MAX */
#define S_NEG_FRAME_LIMIT       (GOSSIP_MAX_FRAME_BYTES - 4096)   /* GOSSIP_NEG_FRAME_LIMIT */
#define S_BATCH_BYTES           (64 * 1024) /* GOSSIP_BATCH_BYTES */
#define S_HEARTBEAT_TIMEOUT_MS  5000        /* GOSSIP_HEARTBEAT_TIMEOUT_MS: a cut link is seen down */
#define S_RECONNECT_IVL_MS      100         /* ZMQ_RECONNECT_IVL */
#define S_RECONNECT_IVL_MAX_MS  5000        /* ZMQ_RECONNECT_IVL_MAX */

/* ---- the model's own sizes -------------------------------------------------------- */
/*  A signed post on the wire (a market post with a short body). */
#define S_EVENT_BYTES           400
/*  "ed25519:<43 chars>@tcp://192.168.178.23:7400". */
#define S_ADDRESS_BYTES         77
/*  Per frame beyond the protobuf: ZMTP frame header (2) and the CURVE
    MESSAGE command around it (command header 2, name 8, nonce 8, MAC 16,
    flags 1). TCP/IP headers are not counted. */
#define S_FRAME_OVERHEAD        37
/*  A CURVE handshake (HELLO 200 + INITIATE ~ 260 with metadata; WELCOME
    168 + READY ~ 60), plus the ZMTP greetings (64 each way). */
#define S_HANDSHAKE_DIAL_BYTES  524
#define S_HANDSHAKE_LISTEN_BYTES 292
/*  Hashes the want table tracks (the daemon: GOSSIP_ANNOUNCE_PENDING_MAX,
    16,384; its hash table is sized from it, 64 KiB a node: 640 MB at
    10,000 nodes. A run has far fewer posts). */
#define S_WANT_MAX              2048
/*  The daemon's check of its table and links against the membership view
    (GOSSIP_OVERLAY_PRUNE_MS, gossip.c's s_overlay_prune). */
#define S_PRUNE_MS              5000

typedef enum {
    EV_MSG = 1, EV_TICK, EV_SYNC, EV_ANNOUNCE, EV_REDIAL, EV_LOST
} s_kind_t;

typedef enum {
    M_CONNECT = 1, M_CONNECTED, M_CLOSE,
    M_HELLO, M_REDIRECT, M_PUSH, M_ANNOUNCE, M_FETCH, M_EVENTS,
    M_NEG_OPEN, M_NEG_MSG, M_NEG_REPLY, M_NEG_DONE
} s_msg_type_t;

typedef struct {
    int      type;
    uint32_t src, src_gen;
    int      via_out;           /* sent over the sender's out link */
    uint32_t lid;               /* M_CONNECT / M_CONNECTED: the dialler's link */
    uint64_t id;                /* session or request id */
    int      reply;             /* M_HELLO: the dialler's, answer it */
    uint32_t n;                 /* items: posts, or node indices (samples) */
    uint32_t *items;
    uint8_t  *blob;             /* Negentropy message */
    size_t   blob_len;
} s_msg_t;

typedef struct {
    uint32_t peer, peer_gen;
    uint32_t lid, want_peer;
    uint32_t conn;              /* the connection: the dialler's out link lid (messages carry it) */
    int      outgoing, up;
    uint64_t arrive_last;       /* FIFO: when the last message sent on it arrives */
    uint32_t redial_ivl;
    /* initiator */
    negentropy_t *init;
    uint64_t init_session, init_progress;
    int      init_done;
    size_t   need_sent;
    uint64_t fetch_id [S_FETCH_WINDOW], fetch_sent [S_FETCH_WINDOW];
    int      n_fetch;
    int      resync;
    /* responder */
    negentropy_t *resp;
    uint64_t resp_session, peer_sync;
} s_link_t;

typedef struct {
    uint32_t post, origin;
    uint64_t at;
} s_announce_t;

typedef struct {
    int      alive, ever;
    uint32_t gen;
    uint8_t  key [32];
    char     address [16];
    uint32_t inviter;
    int      member;            /* its join is known: admitted as a member, not an invitee */
    sim_rng_t rng;
    gossip_overlay_t *ov;
    gossip_want_t *want;
    negentropy_store_t *store;
    s_link_t *links;
    size_t   n_links, cap_links;
    uint32_t next_lid, next_want_peer;
    uint64_t next_id;
    s_announce_t *ann;
    size_t   n_ann, cap_ann;
    int      ann_armed;
    uint64_t prune_at;          /* the next membership check of the overlay (S_PRUNE_MS) */
    uint8_t *saved;
    size_t   saved_len;
    sim_node_stats_t stats;
} s_node_t;

struct _sim_world_t {
    sim_config_t cfg;
    sim_heap_t *heap;
    sim_rng_t rng;
    uint64_t now;
    s_node_t *nodes;
    uint32_t n_nodes;
    uint8_t  (*hash) [32];      /* per post */
    uint64_t *post_at;
    uint32_t n_posts;
    uint8_t  *hop;              /* [node * posts_max + post]: 0 = not held, else hops + 1 */
    uint32_t *arrive;           /* ms, same index */
    uint8_t  *side;
    int      cut;
    uint64_t events, messages;
};

/* ---- sizes (protobuf-c packed size of the real frame) ------------------------------ */

static uint8_t s_zero [S_EVENT_BYTES > S_ADDRESS_BYTES? S_EVENT_BYTES: S_ADDRESS_BYTES];
static char    s_addr [S_ADDRESS_BYTES + 1];

static size_t
s_frame (const Hearth__GossipMessage *m)
{
    return hearth__gossip_message__get_packed_size (m) + S_FRAME_OVERHEAD;
}

static size_t
s_size_hashes (int type, uint32_t n, uint64_t id)
{
    static ProtobufCBinaryData bins [GOSSIP_WIRE_MAX_FETCH];
    for (uint32_t i = 0; i < n; i++) {
        bins [i].data = s_zero;
        bins [i].len = 32;
    }
    Hearth__GossipMessage m = HEARTH__GOSSIP_MESSAGE__INIT;
    if (type == M_ANNOUNCE) {
        Hearth__GossipAnnounce a = HEARTH__GOSSIP_ANNOUNCE__INIT;
        a.hashes = bins;
        a.n_hashes = n;
        m.body_case = HEARTH__GOSSIP_MESSAGE__BODY_ANNOUNCE;
        m.announce = &a;
        return s_frame (&m);
    }
    Hearth__GossipFetch f = HEARTH__GOSSIP_FETCH__INIT;
    f.hashes = bins;
    f.n_hashes = n;
    f.request_id = id;
    m.body_case = HEARTH__GOSSIP_MESSAGE__BODY_FETCH;
    m.fetch = &f;
    return s_frame (&m);
}

/*  Events in frames of up to S_BATCH_BYTES, as gossip_batch packs them. */
static size_t
s_size_events (int type, uint32_t n, uint64_t id)
{
    static ProtobufCBinaryData bins [S_BATCH_BYTES / S_EVENT_BYTES + 1];
    uint32_t per = S_BATCH_BYTES / S_EVENT_BYTES;
    size_t total = 0;
    do {
        uint32_t k = n < per? n: per;
        for (uint32_t i = 0; i < k; i++) {
            bins [i].data = s_zero;
            bins [i].len = S_EVENT_BYTES;
        }
        Hearth__GossipEvents e = HEARTH__GOSSIP_EVENTS__INIT;
        e.events = bins;
        e.n_events = k;
        e.request_id = id;
        e.last = type == M_EVENTS && k == n;
        Hearth__GossipMessage m = HEARTH__GOSSIP_MESSAGE__INIT;
        m.body_case = type == M_EVENTS? HEARTH__GOSSIP_MESSAGE__BODY_EVENTS: HEARTH__GOSSIP_MESSAGE__BODY_PUSH;
        if (type == M_EVENTS)
            m.events = &e;
        else
            m.push = &e;
        total += s_frame (&m);
        n -= k;
    } while (n > 0);
    return total;
}

static size_t
s_size_hello (uint32_t n_peers)
{
    static char *peers [GOSSIP_WIRE_MAX_PEERS];
    for (uint32_t i = 0; i < n_peers; i++)
        peers [i] = s_addr;
    Hearth__GossipHello h = HEARTH__GOSSIP_HELLO__INIT;
    h.version = 2;
    h.head_lamport = 1000000;
    h.event_count = 100000;
    h.address = s_addr;
    h.community_id.data = s_zero;
    h.community_id.len = 32;
    h.peers = peers;
    h.n_peers = n_peers;
    Hearth__GossipMessage m = HEARTH__GOSSIP_MESSAGE__INIT;
    m.body_case = HEARTH__GOSSIP_MESSAGE__BODY_HELLO;
    m.hello = &h;
    return s_frame (&m);
}

static size_t
s_size_neg (int type, size_t len, uint64_t session)
{
    Hearth__GossipMessage m = HEARTH__GOSSIP_MESSAGE__INIT;
    Hearth__GossipNeg g = HEARTH__GOSSIP_NEG__INIT;
    Hearth__GossipNegDone d = HEARTH__GOSSIP_NEG_DONE__INIT;
    static uint8_t *big;
    static size_t big_len;
    if (len > big_len) {
        free (big);
        big = (uint8_t *) calloc (1, len);
        big_len = big? len: 0;
    }
    g.msg.data = big;
    g.msg.len = big? len: 0;
    g.session = session;
    d.session = session;
    switch (type) {
        case M_NEG_OPEN:  m.body_case = HEARTH__GOSSIP_MESSAGE__BODY_NEG_OPEN;  m.neg_open = &g;  break;
        case M_NEG_MSG:   m.body_case = HEARTH__GOSSIP_MESSAGE__BODY_NEG_MSG;   m.neg_msg = &g;   break;
        case M_NEG_REPLY: m.body_case = HEARTH__GOSSIP_MESSAGE__BODY_NEG_REPLY; m.neg_reply = &g; break;
        default:          m.body_case = HEARTH__GOSSIP_MESSAGE__BODY_NEG_DONE;  m.neg_done = &d;  break;
    }
    return s_frame (&m);
}

size_t
sim_world_event_frame_bytes (void)
{
    return s_size_events (M_PUSH, 1, 0);
}

size_t
sim_world_announce_frame_bytes (void)
{
    return s_size_hashes (M_ANNOUNCE, 1, 0);
}

/* ---- helpers ---------------------------------------------------------------------- */

static void s_plan (sim_world_t *self, uint32_t n);
static void s_sync_start (sim_world_t *self, uint32_t n, s_link_t *l);
static void s_sync_pump (sim_world_t *self, uint32_t n, s_link_t *l);

static uint32_t
s_key_node (const uint8_t key [32])
{
    return ((uint32_t) key [0] << 24) | ((uint32_t) key [1] << 16) | ((uint32_t) key [2] << 8) | key [3];
}

static uint32_t
s_hash_post (const uint8_t hash [32])
{
    return s_key_node (hash);
}

static void
s_schedule (sim_world_t *self, uint64_t at, int kind, uint32_t node, uint32_t arg, void *msg)
{
    sim_event_t ev = { .at = at, .kind = (uint32_t) kind, .node = node, .gen = self->nodes [node].gen,
                       .arg = arg, .msg = msg };
    if (sim_heap_push (self->heap, &ev) != 0) {
        fprintf (stderr, "hearth_sim: out of memory\n");
        exit (1);
    }
}

static uint64_t
s_latency (sim_world_t *self)
{
    double u = sim_rng_unit (&self->rng);
    uint64_t lat = self->cfg.lat_min_ms
                 + (uint64_t) ((double) (self->cfg.lat_max_ms - self->cfg.lat_min_ms) * u * u * u + 0.5);
    while (self->cfg.loss > 0 && sim_rng_unit (&self->rng) < self->cfg.loss)
        lat += self->cfg.rto_ms;            /* lost, resent by TCP after its RTO */
    return lat;
}

static int
s_cut (const sim_world_t *self, uint32_t a, uint32_t b)
{
    return self->cut && self->side [a] != self->side [b];
}

static s_msg_t *
s_msg_new (int type, uint32_t n_items, size_t blob_len)
{
    s_msg_t *m = (s_msg_t *) calloc (1, sizeof *m + n_items * sizeof (uint32_t) + blob_len);
    if (!m) {
        fprintf (stderr, "hearth_sim: out of memory\n");
        exit (1);
    }
    m->type = type;
    m->n = n_items;
    m->items = (uint32_t *) (m + 1);
    m->blob = (uint8_t *) (m->items + n_items);
    m->blob_len = blob_len;
    return m;
}

static size_t
s_msg_size (const s_msg_t *m)
{
    switch (m->type) {
        case M_CONNECT:   return S_HANDSHAKE_DIAL_BYTES;
        case M_CONNECTED: return S_HANDSHAKE_LISTEN_BYTES;
        case M_CLOSE:     return 0;
        case M_HELLO:
        case M_REDIRECT:  return s_size_hello (m->n);
        case M_PUSH:
        case M_EVENTS:    return s_size_events (m->type, m->n, m->id);
        case M_ANNOUNCE:
        case M_FETCH:     return s_size_hashes (m->type, m->n, m->id);
        default:          return s_size_neg (m->type, m->blob_len, m->id);
    }
}

static int
s_msg_kind (int type)
{
    switch (type) {
        case M_PUSH: case M_EVENTS: case M_ANNOUNCE: case M_FETCH: return SIM_BYTES_DATA;
        case M_NEG_OPEN: case M_NEG_MSG: case M_NEG_REPLY: case M_NEG_DONE: return SIM_BYTES_SYNC;
        default: return SIM_BYTES_OVERLAY;
    }
}

/*  Send m from node `from` to node `to`: over link l (FIFO), or raw (l NULL). */
static void
s_send (sim_world_t *self, uint32_t from, uint32_t to, s_link_t *l, s_msg_t *m)
{
    s_node_t *f = &self->nodes [from];
    m->src = from;
    m->src_gen = f->gen;
    m->via_out = l? l->outgoing: 0;
    if (l)
        m->lid = l->conn;
    uint64_t at = self->now + s_latency (self);
    if (l) {
        if (at < l->arrive_last)
            at = l->arrive_last;            /* TCP: in order */
        l->arrive_last = at;
    }
    sim_event_t ev = { .at = at, .kind = EV_MSG, .node = to, .gen = self->nodes [to].gen, .msg = m };
    if (sim_heap_push (self->heap, &ev) != 0) {
        fprintf (stderr, "hearth_sim: out of memory\n");
        exit (1);
    }
}

static s_link_t *
s_link_by_lid (s_node_t *nd, uint32_t lid)
{
    for (size_t i = 0; i < nd->n_links; i++)
        if (nd->links [i].lid == lid)
            return &nd->links [i];
    return NULL;
}

static s_link_t *
s_link_find (s_node_t *nd, uint32_t peer, int outgoing)
{
    for (size_t i = 0; i < nd->n_links; i++)
        if (nd->links [i].peer == peer && nd->links [i].outgoing == outgoing)
            return &nd->links [i];
    return NULL;
}

static s_link_t *
s_link_add (s_node_t *nd, uint32_t peer, int outgoing)
{
    if (HEARTH_VEC_GROW (nd->links, nd->cap_links, nd->n_links + 1, 8)) {
        fprintf (stderr, "hearth_sim: out of memory\n");
        exit (1);
    }
    s_link_t *l = &nd->links [nd->n_links++];
    memset (l, 0, sizeof *l);
    l->peer = peer;
    l->outgoing = outgoing;
    l->lid = ++nd->next_lid;
    l->conn = outgoing? l->lid: 0;
    l->want_peer = ++nd->next_want_peer;
    l->redial_ivl = S_RECONNECT_IVL_MS;
    return l;
}

/*  Sessions and requests of a link end (it went down or is closed). */
static void
s_link_reset (s_node_t *nd, s_link_t *l)
{
    negentropy_destroy (&l->init);
    negentropy_destroy (&l->resp);
    l->n_fetch = 0;
    l->init_done = 0;
    gossip_want_peer_gone (nd->want, l->want_peer);
    l->want_peer = ++nd->next_want_peer;    /* a fresh id: requests on the old connection are lost */
}

static void
s_link_remove (s_node_t *nd, s_link_t *l)
{
    s_link_reset (nd, l);
    *l = nd->links [--nd->n_links];
}

/*  The link to send data to peer on: the out link when both are up. */
static int
s_push_target (s_node_t *nd, const s_link_t *l)
{
    if (!l->up)
        return 0;
    if (l->outgoing)
        return 1;
    const s_link_t *o = s_link_find (nd, l->peer, 1);
    return !(o && o->up);
}

/* ---- posts ------------------------------------------------------------------------ */

static int
s_has (const sim_world_t *self, uint32_t n, uint32_t post)
{
    return self->hop [(size_t) n * self->cfg.posts_max + post] != 0;
}

static void s_announce_arm (sim_world_t *self, uint32_t n);

/*  Post `post` accepted at node n, `hops` from its author, from link peer
    `origin` (SIM_NONE: appended here). */
static void
s_accept (sim_world_t *self, uint32_t n, uint32_t post, int hops, uint32_t origin)
{
    s_node_t *nd = &self->nodes [n];
    size_t at = (size_t) n * self->cfg.posts_max + post;
    self->hop [at] = (uint8_t) (hops + 1 > 255? 255: hops + 1);
    self->arrive [at] = (uint32_t) self->now;
    negentropy_store_insert (nd->store, post + 1, self->hash [post]);
    gossip_want_arrived (nd->want, self->hash [post]);
    if (origin == SIM_NONE) {
        /*  A local append: pushed at once, in full, to every up link. */
        for (size_t i = 0; i < nd->n_links; i++) {
            s_link_t *l = &nd->links [i];
            if (!s_push_target (nd, l))
                continue;
            s_msg_t *m = s_msg_new (M_PUSH, 1, 0);
            m->items [0] = post;
            s_send (self, n, l->peer, l, m);
        }
        return;
    }
    /*  Received: announced later to every up link but the origin's. */
    int target = 0;
    for (size_t i = 0; i < nd->n_links && !target; i++)
        target = s_push_target (nd, &nd->links [i]) && nd->links [i].peer != origin;
    if (!target)
        return;
    if (HEARTH_VEC_GROW (nd->ann, nd->cap_ann, nd->n_ann + 1, 16)) {
        fprintf (stderr, "hearth_sim: out of memory\n");
        exit (1);
    }
    nd->ann [nd->n_ann++] = (s_announce_t) { .post = post, .origin = origin, .at = self->now };
    s_announce_arm (self, n);
}

static void
s_announce_arm (sim_world_t *self, uint32_t n)
{
    s_node_t *nd = &self->nodes [n];
    if (nd->ann_armed || nd->n_ann == 0)
        return;
    uint64_t due = nd->ann [0].at + S_ANNOUNCE_DELAY_MS;
    s_schedule (self, due > self->now? due: self->now + 1, EV_ANNOUNCE, n, 0, NULL);
    nd->ann_armed = 1;
}

static void
s_announce_flush (sim_world_t *self, uint32_t n)
{
    s_node_t *nd = &self->nodes [n];
    nd->ann_armed = 0;
    size_t due = 0;
    while (due < nd->n_ann && self->now - nd->ann [due].at >= S_ANNOUNCE_DELAY_MS)
        due++;
    if (due > 0) {
        for (size_t li = 0; li < nd->n_links; li++) {
            s_link_t *l = &nd->links [li];
            if (!s_push_target (nd, l))
                continue;
            for (size_t i = 0; i < due; ) {
                s_msg_t *m = s_msg_new (M_ANNOUNCE, GOSSIP_WIRE_MAX_ANNOUNCE, 0);
                m->n = 0;
                for (; i < due && m->n < GOSSIP_WIRE_MAX_ANNOUNCE; i++)
                    if (nd->ann [i].origin != l->peer)
                        m->items [m->n++] = nd->ann [i].post;
                if (m->n)
                    s_send (self, n, l->peer, l, m);
                else
                    free (m);
            }
        }
        memmove (nd->ann, nd->ann + due, (nd->n_ann - due) * sizeof *nd->ann);
        nd->n_ann -= due;
    }
    s_announce_arm (self, n);
}

/*  Ask l for the announced hashes queued for it (gossip_pump_want). */
static void
s_pump_want (sim_world_t *self, uint32_t n, s_link_t *l)
{
    s_node_t *nd = &self->nodes [n];
    if (!l->up || gossip_want_queued (nd->want, l->want_peer) == 0)
        return;
    static uint8_t hashes [GOSSIP_WIRE_MAX_FETCH * 32];
    for (;;) {
        uint64_t id = nd->next_id + 1;
        size_t k = gossip_want_take (nd->want, l->want_peer, id, self->now, hashes, GOSSIP_WIRE_MAX_FETCH);
        if (k == 0)
            return;
        nd->next_id = id;
        s_msg_t *m = s_msg_new (M_FETCH, (uint32_t) k, 0);
        m->id = id;
        for (size_t i = 0; i < k; i++)
            m->items [i] = s_hash_post (hashes + 32 * i);
        s_send (self, n, l->peer, l, m);
    }
}

/* ---- links up and down ------------------------------------------------------------ */

static void
s_send_hello (sim_world_t *self, uint32_t n, s_link_t *l, int type, int reply)
{
    s_node_t *nd = &self->nodes [n];
    const gossip_overlay_peer_t *sample [GOSSIP_OVERLAY_SAMPLE];
    size_t k = gossip_overlay_sample (nd->ov, self->nodes [l->peer].key, self->now, sample,
                                      GOSSIP_OVERLAY_SAMPLE);
    s_msg_t *m = s_msg_new (type, (uint32_t) k, 0);
    for (size_t i = 0; i < k; i++)
        m->items [i] = s_key_node (sample [i]->key);
    m->reply = reply;
    s_send (self, n, l->peer, l, m);
}

static void
s_link_up (sim_world_t *self, uint32_t n, s_link_t *l)
{
    s_node_t *nd = &self->nodes [n];
    l->up = 1;
    l->redial_ivl = S_RECONNECT_IVL_MS;
    l->peer_gen = self->nodes [l->peer].gen;
    l->resync = 0;
    gossip_overlay_link_up (nd->ov, self->nodes [l->peer].key, l->outgoing, self->now);
    if (l->outgoing) {
        s_send_hello (self, n, l, M_HELLO, 1);
        s_sync_start (self, n, l);
    }
}

/*  l's transport went down: an in link is gone, an out link redials. */
static void
s_link_down (sim_world_t *self, uint32_t n, s_link_t *l)
{
    s_node_t *nd = &self->nodes [n];
    int was_up = l->up;
    l->up = 0;
    gossip_overlay_link_down (nd->ov, self->nodes [l->peer].key, l->outgoing, self->now);
    if (!l->outgoing) {
        s_link_remove (nd, l);
        return;
    }
    s_link_reset (nd, l);
    if (was_up) {
        l->redial_ivl = S_RECONNECT_IVL_MS;
        s_schedule (self, self->now + l->redial_ivl, EV_REDIAL, n, l->lid, NULL);
    }
}

static void
s_dial (sim_world_t *self, uint32_t n, s_link_t *l)
{
    s_msg_t *m = s_msg_new (M_CONNECT, 0, 0);
    m->lid = l->lid;
    s_send (self, n, l->peer, NULL, m);
    s_schedule (self, self->now + l->redial_ivl, EV_REDIAL, n, l->lid, NULL);
}

/*  Perform the overlay's plan (as the daemon's tick does). */
static void
s_plan (sim_world_t *self, uint32_t n)
{
    s_node_t *nd = &self->nodes [n];
    gossip_overlay_action_t act [32];
    size_t k = gossip_overlay_plan (nd->ov, self->now, act, 32);
    for (size_t i = 0; i < k; i++) {
        uint32_t peer = s_key_node (act [i].key);
        if (peer >= self->n_nodes)
            continue;
        if (act [i].verb == GOSSIP_OVERLAY_DIAL) {
            if (s_link_find (nd, peer, 1))
                continue;
            s_link_t *l = s_link_add (nd, peer, 1);
            s_dial (self, n, l);
        }
        else {
            s_link_t *l = s_link_find (nd, peer, 1);
            if (!l)
                continue;
            if (l->up)
                s_send (self, n, peer, l, s_msg_new (M_CLOSE, 0, 0));
            s_link_remove (nd, l);
        }
    }
}

/* ---- reconciliation (gossip_sync.c) ------------------------------------------------ */

static void
s_sync_abandon (s_node_t *nd, s_link_t *l)
{
    negentropy_destroy (&l->init);
    l->n_fetch = 0;
    l->resync = 1;
    (void) nd;
}

static void
s_sync_start (sim_world_t *self, uint32_t n, s_link_t *l)
{
    s_node_t *nd = &self->nodes [n];
    if (!l->up || l->init)
        return;
    l->resync = 0;
    l->init = negentropy_new (nd->store, S_NEG_FRAME_LIMIT);
    const uint8_t *msg;
    size_t size;
    if (!l->init || negentropy_initiate (l->init, &msg, &size) != 0) {
        negentropy_destroy (&l->init);
        l->resync = 1;
        return;
    }
    l->init_session = ++nd->next_id;
    l->init_done = 0;
    l->need_sent = 0;
    l->n_fetch = 0;
    l->init_progress = self->now;
    s_msg_t *m = s_msg_new (M_NEG_OPEN, 0, size);
    memcpy (m->blob, msg, size);
    m->id = l->init_session;
    s_send (self, n, l->peer, l, m);
}

/*  Fetch the session's "need" ids, at most S_FETCH_WINDOW fetches out
    (s_pump_need); end the session when all is done. */
static void
s_sync_pump (sim_world_t *self, uint32_t n, s_link_t *l)
{
    s_node_t *nd = &self->nodes [n];
    if (!l->init || !l->up)
        return;
    size_t n_need;
    const uint8_t *need = negentropy_need_ids (l->init, &n_need);
    while (l->n_fetch < S_FETCH_WINDOW && l->need_sent < n_need) {
        s_msg_t *m = s_msg_new (M_FETCH, GOSSIP_WIRE_MAX_FETCH, 0);
        m->n = 0;
        size_t next = l->need_sent;
        while (next < n_need && m->n < GOSSIP_WIRE_MAX_FETCH) {
            const uint8_t *h = need + 32 * next++;
            uint32_t post = s_hash_post (h);
            if (post >= self->n_posts || s_has (self, n, post) || gossip_want_requested (nd->want, h))
                continue;
            m->items [m->n++] = post;
        }
        l->need_sent = next;
        if (m->n == 0) {
            free (m);
            continue;
        }
        m->id = ++nd->next_id;
        for (uint32_t i = 0; i < m->n; i++)
            gossip_want_claim (nd->want, l->want_peer, m->id, self->now, self->hash [m->items [i]]);
        l->fetch_id [l->n_fetch] = m->id;
        l->fetch_sent [l->n_fetch] = self->now;
        l->n_fetch++;
        s_send (self, n, l->peer, l, m);
    }
    if (l->init_done && l->need_sent == n_need && l->n_fetch == 0) {
        negentropy_destroy (&l->init);
        nd->stats.sessions++;
    }
}

static void
s_on_neg_reply (sim_world_t *self, uint32_t n, s_link_t *l, const s_msg_t *m)
{
    s_node_t *nd = &self->nodes [n];
    if (!l->init || l->init_done || m->id != l->init_session)
        return;
    const uint8_t *reply;
    size_t size;
    if (negentropy_reconcile (l->init, m->blob, m->blob_len, &reply, &size) != 0) {
        s_sync_abandon (nd, l);
        return;
    }
    l->init_progress = self->now;
    if (reply) {
        s_msg_t *r = s_msg_new (M_NEG_MSG, 0, size);
        memcpy (r->blob, reply, size);
        r->id = l->init_session;
        s_send (self, n, l->peer, l, r);
    }
    else {
        size_t n_have;
        const uint8_t *have = negentropy_have_ids (l->init, &n_have);
        if (n_have > 0 && n_have <= S_PUSH_HAVE_MAX) {
            s_msg_t *p = s_msg_new (M_PUSH, (uint32_t) n_have, 0);
            p->n = 0;
            for (size_t i = 0; i < n_have; i++) {
                uint32_t post = s_hash_post (have + 32 * i);
                if (post < self->n_posts)
                    p->items [p->n++] = post;
            }
            s_send (self, n, l->peer, l, p);
        }
        s_msg_t *d = s_msg_new (M_NEG_DONE, 0, 0);
        d->id = l->init_session;
        s_send (self, n, l->peer, l, d);
        l->init_done = 1;
    }
    s_sync_pump (self, n, l);
}

static void
s_on_neg (sim_world_t *self, uint32_t n, s_link_t *l, const s_msg_t *m)
{
    s_node_t *nd = &self->nodes [n];
    if (m->type == M_NEG_OPEN) {
        negentropy_destroy (&l->resp);
        l->resp = negentropy_new (nd->store, S_NEG_FRAME_LIMIT);
        l->resp_session = m->id;
        if (!l->resp)
            return;
    }
    else
    if (!l->resp || m->id != l->resp_session)
        return;
    const uint8_t *reply;
    size_t size;
    if (negentropy_reconcile (l->resp, m->blob, m->blob_len, &reply, &size) != 0 || !reply) {
        negentropy_destroy (&l->resp);
        return;
    }
    l->peer_sync = self->now;
    s_msg_t *r = s_msg_new (M_NEG_REPLY, 0, size);
    memcpy (r->blob, reply, size);
    r->id = l->resp_session;
    s_send (self, n, l->peer, l, r);
}

/* ---- messages --------------------------------------------------------------------- */

static void
s_learn (sim_world_t *self, uint32_t n, uint32_t who, int from)
{
    if (who >= self->n_nodes || who == n)
        return;
    gossip_overlay_learn (self->nodes [n].ov, self->nodes [who].key, self->nodes [who].address, from,
                          self->now);
}

static void
s_on_hello (sim_world_t *self, uint32_t n, s_link_t *l, const s_msg_t *m)
{
    for (uint32_t i = 0; i < m->n; i++)
        s_learn (self, n, m->items [i], GOSSIP_OVERLAY_FROM_HELLO);
    if (m->reply)
        s_send_hello (self, n, l, M_HELLO, 0);
    s_plan (self, n);
}

static void
s_on_events (sim_world_t *self, uint32_t n, s_link_t *l, const s_msg_t *m)
{
    s_node_t *nd = &self->nodes [n];
    for (uint32_t i = 0; i < m->n; i++) {
        uint32_t post = m->items [i];
        nd->stats.events_in++;
        if (s_has (self, n, post)) {
            nd->stats.events_dup++;
            continue;
        }
        int h = sim_world_hops (self, m->src, post);
        s_accept (self, n, post, (h < 0? 0: h) + 1, m->src);
    }
    if (m->type != M_EVENTS)
        return;
    int announced = gossip_want_answered (nd->want, l->want_peer, m->id, 1, self->now);
    if (announced)
        s_pump_want (self, n, l);
    for (int i = 0; i < l->n_fetch; i++)
        if (l->fetch_id [i] == m->id) {
            l->n_fetch--;
            l->fetch_id [i] = l->fetch_id [l->n_fetch];
            l->fetch_sent [i] = l->fetch_sent [l->n_fetch];
            l->init_progress = self->now;
            break;
        }
    s_sync_pump (self, n, l);
}

/*  A message for node n (alive, this incarnation). */
static void
s_on_msg (sim_world_t *self, uint32_t n, s_msg_t *m)
{
    s_node_t *nd = &self->nodes [n];
    if (s_cut (self, n, m->src))
        return;                             /* lost in the partition */
    nd->stats.bytes_in [s_msg_kind (m->type)] += s_msg_size (m);
    self->messages++;
    if (m->type == M_CONNECT) {
        /*  The handshake: ZAP admits members and invitees (all of them
            here); the dialler's link is up when this answer arrives. */
        s_msg_t *r = s_msg_new (M_CONNECTED, 0, 0);
        r->lid = m->lid;
        s_send (self, n, m->src, NULL, r);
        return;
    }
    if (m->type == M_CONNECTED) {
        s_link_t *l = s_link_by_lid (nd, m->lid);
        if (l && l->outgoing && !l->up && l->peer == m->src)
            s_link_up (self, n, l);
        return;
    }
    s_link_t *l = NULL;
    if (m->via_out) {
        for (size_t i = 0; i < nd->n_links && !l; i++)
            if (!nd->links [i].outgoing && nd->links [i].peer == m->src)
                l = &nd->links [i];
    }
    else {
        l = s_link_by_lid (nd, m->lid);
        if (l && (!l->outgoing || l->peer != m->src))
            l = NULL;
    }
    if (m->type == M_HELLO && m->via_out) {
        /*  The first frame of an in link (or of a new connection from the
            same key: the newest wins). Admit it, or refuse it with a
            redirect: a hello carrying a sample of our table. */
        const s_node_t *src = &self->nodes [m->src];
        if (l && l->conn == m->lid) {
            s_on_hello (self, n, l, m);
            return;
        }
        if (l)
            s_link_remove (nd, l);
        if (!gossip_overlay_in_admit (nd->ov, src->key, src->member, self->now)) {
            s_link_t tmp;
            memset (&tmp, 0, sizeof tmp);
            tmp.peer = m->src;
            tmp.conn = m->lid;
            s_send_hello (self, n, &tmp, M_REDIRECT, 0);
            return;
        }
        l = s_link_add (nd, m->src, 0);
        l->conn = m->lid;
        l->up = 1;
        l->peer_gen = m->src_gen;
        s_learn (self, n, m->src, GOSSIP_OVERLAY_FROM_LINK);
        gossip_overlay_link_up (nd->ov, src->key, 0, self->now);
        if (!src->member)
            self->nodes [m->src].member = 1;   /* admitted as an invitee (by its inviter or any
                                                  member holding the invite): it syncs, writes its
                                                  join, and is a member from then on */
        s_on_hello (self, n, l, m);
        return;
    }
    if (l && l->conn != m->lid)
        l = NULL;                           /* an old connection's frame */
    if (m->type == M_REDIRECT) {
        /*  Refused as full: learn the sample, try others. */
        s_link_t *o = s_link_by_lid (nd, m->lid);
        if (o && (!o->outgoing || o->peer != m->src))
            o = NULL;
        for (uint32_t i = 0; i < m->n; i++)
            s_learn (self, n, m->items [i], GOSSIP_OVERLAY_FROM_HELLO);
        nd->stats.redirects++;
        if (o) {
            gossip_overlay_dial_failed (nd->ov, self->nodes [m->src].key, self->now);
            s_link_remove (nd, o);
        }
        s_plan (self, n);
        return;
    }
    if (!l || !l->up)
        return;                             /* no such link (refused, closed, or an old connection) */
    switch (m->type) {
        case M_CLOSE:
            s_link_down (self, n, l);
            s_plan (self, n);
            break;
        case M_HELLO:
            s_on_hello (self, n, l, m);
            break;
        case M_PUSH:
        case M_EVENTS:
            s_on_events (self, n, l, m);
            break;
        case M_ANNOUNCE:
            nd->stats.announces_in += m->n;
            for (uint32_t i = 0; i < m->n; i++)
                if (!s_has (self, n, m->items [i])
                &&  gossip_want_announce (nd->want, l->want_peer, self->hash [m->items [i]]) < 0)
                    l->resync = 1;          /* over the pending limits: reconcile instead */
            s_pump_want (self, n, l);
            break;
        case M_FETCH: {
            s_msg_t *r = s_msg_new (M_EVENTS, m->n, 0);
            r->n = 0;
            r->id = m->id;
            for (uint32_t i = 0; i < m->n; i++)
                if (s_has (self, n, m->items [i]))
                    r->items [r->n++] = m->items [i];
            s_send (self, n, m->src, l, r);
            break;
        }
        case M_NEG_OPEN:
        case M_NEG_MSG:
            s_on_neg (self, n, l, m);
            break;
        case M_NEG_REPLY:
            s_on_neg_reply (self, n, l, m);
            break;
        case M_NEG_DONE:
            if (l->resp && l->resp_session == m->id)
                negentropy_destroy (&l->resp);
            break;
        default:
            break;
    }
}

/* ---- timers ----------------------------------------------------------------------- */

/*  The daemon's prune (gossip.c, s_overlay_prune), its in-link half: an in
    link admitted while its key was an invitee whose join has reached us
    (here: the key is a member) moves to the members' count, or, past
    in_max, is refused like a member dialling a full node: a redirect on
    it, and no frame read from it after. Every node knows a join as soon as
    the inviter admits the joiner (the run has no membership events). */
static void
s_prune (sim_world_t *self, uint32_t n)
{
    s_node_t *nd = &self->nodes [n];
    nd->prune_at = self->now + S_PRUNE_MS;
    size_t i = 0;
    while (i < nd->n_links) {
        s_link_t *l = &nd->links [i];
        if (l->outgoing || !l->up || !self->nodes [l->peer].member
        ||  gossip_overlay_in_member (nd->ov, self->nodes [l->peer].key, self->now) != 1) {
            i++;
            continue;
        }
        s_send_hello (self, n, l, M_REDIRECT, 0);
        s_link_remove (nd, l);              /* the overlay no longer counts it */
    }
}

static void
s_on_tick (sim_world_t *self, uint32_t n)
{
    s_node_t *nd = &self->nodes [n];
    if (self->now >= nd->prune_at)
        s_prune (self, n);
    gossip_want_expire (nd->want, self->now);
    for (size_t i = 0; i < nd->n_links; i++) {
        s_link_t *l = &nd->links [i];
        if (!l->up)
            continue;
        if (gossip_want_gave_up (nd->want, l->want_peer))
            l->resync = 1;
        s_pump_want (self, n, l);
        if (l->init) {
            int stalled = self->now - l->init_progress > S_SESSION_IDLE_MS;
            for (int k = 0; k < l->n_fetch && !stalled; k++)
                stalled = self->now - l->fetch_sent [k] > S_FETCH_TIMEOUT_MS;
            if (stalled)
                s_sync_abandon (nd, l);
            else
                s_sync_pump (self, n, l);
        }
        if (!l->init && l->resync)
            s_sync_start (self, n, l);
    }
    s_plan (self, n);
    s_schedule (self, self->now + self->cfg.tick_ms, EV_TICK, n, 0, NULL);
}

static void
s_on_sync (sim_world_t *self, uint32_t n)
{
    s_node_t *nd = &self->nodes [n];
    size_t candidates = 0;
    for (size_t i = 0; i < nd->n_links; i++) {
        const s_link_t *l = &nd->links [i];
        candidates += l->up && !l->init && !l->resp && self->now - l->peer_sync > S_PEER_BUSY_MS;
    }
    if (candidates > 0) {
        uint64_t pick = sim_rng_below (&nd->rng, candidates);
        for (size_t i = 0; i < nd->n_links; i++) {
            s_link_t *l = &nd->links [i];
            if (l->up && !l->init && !l->resp && self->now - l->peer_sync > S_PEER_BUSY_MS && pick-- == 0) {
                s_sync_start (self, n, l);
                break;
            }
        }
    }
    s_schedule (self, self->now + self->cfg.sync_interval_ms, EV_SYNC, n, 0, NULL);
}

static void
s_on_redial (sim_world_t *self, uint32_t n, uint32_t lid)
{
    s_node_t *nd = &self->nodes [n];
    s_link_t *l = s_link_by_lid (nd, lid);
    if (!l || l->up || !l->outgoing)
        return;
    l->redial_ivl = l->redial_ivl * 2 > S_RECONNECT_IVL_MAX_MS? S_RECONNECT_IVL_MAX_MS: l->redial_ivl * 2;
    s_dial (self, n, l);
}

/*  A link across the cut: its heartbeats stopped arriving. */
static void
s_on_lost (sim_world_t *self, uint32_t n, uint32_t lid)
{
    s_node_t *nd = &self->nodes [n];
    s_link_t *l = s_link_by_lid (nd, lid);
    if (!l || !l->up || !s_cut (self, n, l->peer))
        return;
    s_link_down (self, n, l);
    s_plan (self, n);
}

/* ---- nodes ------------------------------------------------------------------------ */

static void
s_node_boot (sim_world_t *self, uint32_t n)
{
    s_node_t *nd = &self->nodes [n];
    nd->alive = 1;
    nd->gen++;
    nd->ov = gossip_overlay_new (nd->key, &self->cfg.overlay, sim_rng_next (&nd->rng));
    uint8_t wkey [16];
    for (int i = 0; i < 16; i++)
        wkey [i] = (uint8_t) sim_rng_next (&nd->rng);
    gossip_want_limits_t lim = { .max_hashes = S_WANT_MAX, .per_peer = S_ANNOUNCE_PENDING_PEER < S_WANT_MAX?
                                 S_ANNOUNCE_PENDING_PEER: S_WANT_MAX, .window = S_ANNOUNCE_WINDOW,
                                 .timeout_ms = S_ANNOUNCE_TIMEOUT_MS };
    nd->want = gossip_want_new (&lim, wkey);
    if (!nd->ov || !nd->want) {
        fprintf (stderr, "hearth_sim: out of memory\n");
        exit (1);
    }
    if (nd->saved)
        gossip_overlay_load (nd->ov, nd->saved, nd->saved_len, self->now);
    if (nd->inviter != SIM_NONE)
        s_learn (self, n, nd->inviter, GOSSIP_OVERLAY_FROM_SEED);   /* the join's --peer */
    nd->prune_at = self->now + S_PRUNE_MS;  /* the daemon prunes at start, before any link */
    s_plan (self, n);
    s_schedule (self, self->now + 1 + sim_rng_below (&nd->rng, self->cfg.tick_ms), EV_TICK, n, 0, NULL);
    s_schedule (self, self->now + 1 + sim_rng_below (&nd->rng, self->cfg.sync_interval_ms), EV_SYNC, n, 0, NULL);
}

uint32_t
sim_world_add_node (sim_world_t *self, uint32_t inviter)
{
    if (self->n_nodes == self->cfg.nodes_max)
        return SIM_NONE;
    uint32_t n = self->n_nodes++;
    s_node_t *nd = &self->nodes [n];
    memset (nd, 0, sizeof *nd);
    sim_rng_seed (&nd->rng, sim_rng_next (&self->rng));
    nd->key [0] = (uint8_t) (n >> 24);
    nd->key [1] = (uint8_t) (n >> 16);
    nd->key [2] = (uint8_t) (n >> 8);
    nd->key [3] = (uint8_t) n;
    for (int i = 4; i < 32; i++)
        nd->key [i] = (uint8_t) sim_rng_next (&nd->rng);
    snprintf (nd->address, sizeof nd->address, "n%u", n);
    nd->inviter = inviter;
    nd->member = inviter == SIM_NONE;
    nd->ever = 1;
    nd->store = negentropy_store_new ();
    if (!nd->store) {
        fprintf (stderr, "hearth_sim: out of memory\n");
        exit (1);
    }
    s_node_boot (self, n);
    return n;
}

void
sim_world_stop (sim_world_t *self, uint32_t n)
{
    s_node_t *nd = &self->nodes [n];
    if (!nd->alive)
        return;
    for (size_t i = 0; i < nd->n_links; i++) {
        s_link_t *l = &nd->links [i];
        if (l->up)
            s_send (self, n, l->peer, l, s_msg_new (M_CLOSE, 0, 0));   /* TCP FIN */
    }
    while (nd->n_links)
        s_link_remove (nd, &nd->links [nd->n_links - 1]);
    free (nd->saved);
    nd->saved = NULL;
    if (gossip_overlay_save (nd->ov, &nd->saved, &nd->saved_len) != 0)
        nd->saved = NULL;
    gossip_overlay_destroy (&nd->ov);
    gossip_want_destroy (&nd->want);
    nd->n_ann = 0;
    nd->ann_armed = 0;
    nd->alive = 0;
    nd->gen++;                              /* what is still queued for it is dropped */
}

void
sim_world_start (sim_world_t *self, uint32_t n)
{
    if (n < self->n_nodes && !self->nodes [n].alive)
        s_node_boot (self, n);
}

uint32_t
sim_world_post (sim_world_t *self, uint32_t author)
{
    if (self->n_posts == self->cfg.posts_max || !self->nodes [author].alive)
        return SIM_NONE;
    uint32_t p = self->n_posts++;
    self->hash [p][0] = (uint8_t) (p >> 24);
    self->hash [p][1] = (uint8_t) (p >> 16);
    self->hash [p][2] = (uint8_t) (p >> 8);
    self->hash [p][3] = (uint8_t) p;
    for (int i = 4; i < 32; i++)
        self->hash [p][i] = (uint8_t) sim_rng_next (&self->rng);
    self->post_at [p] = self->now;
    s_accept (self, author, p, 0, SIM_NONE);
    return p;
}

void
sim_world_partition (sim_world_t *self, const uint8_t *side)
{
    memcpy (self->side, side, self->n_nodes);
    self->cut = 1;
    for (uint32_t n = 0; n < self->n_nodes; n++) {
        s_node_t *nd = &self->nodes [n];
        for (size_t i = 0; nd->alive && i < nd->n_links; i++)
            if (nd->links [i].up && s_cut (self, n, nd->links [i].peer))
                s_schedule (self, self->now + S_HEARTBEAT_TIMEOUT_MS, EV_LOST, n, nd->links [i].lid, NULL);
    }
}

void
sim_world_heal (sim_world_t *self)
{
    self->cut = 0;
}

void
sim_world_run_until (sim_world_t *self, uint64_t until)
{
    sim_event_t ev;
    while (sim_heap_next_at (self->heap) <= until && sim_heap_pop (self->heap, &ev)) {
        self->now = ev.at;
        self->events++;
        s_node_t *nd = &self->nodes [ev.node];
        if (!nd->alive || ev.gen != nd->gen) {
            free (ev.msg);
            continue;
        }
        switch (ev.kind) {
            case EV_MSG:      s_on_msg (self, ev.node, (s_msg_t *) ev.msg); break;
            case EV_TICK:     s_on_tick (self, ev.node); break;
            case EV_SYNC:     s_on_sync (self, ev.node); break;
            case EV_ANNOUNCE: s_announce_flush (self, ev.node); break;
            case EV_REDIAL:   s_on_redial (self, ev.node, ev.arg); break;
            case EV_LOST:     s_on_lost (self, ev.node, ev.arg); break;
            default: break;
        }
        free (ev.msg);
    }
    if (self->now < until)
        self->now = until;
}

/* ---- world ------------------------------------------------------------------------ */

void
sim_config_defaults (sim_config_t *cfg)
{
    memset (cfg, 0, sizeof *cfg);
    cfg->nodes_max = 1000;
    cfg->posts_max = 100;
    cfg->seed = 1;
    cfg->lat_min_ms = 1;
    cfg->lat_max_ms = 30;
    cfg->loss = 0;
    cfg->rto_ms = 200;
    cfg->tick_ms = 500;
    cfg->sync_interval_ms = S_SYNC_INTERVAL_MS;
    gossip_overlay_config_defaults (&cfg->overlay);
}

sim_world_t *
sim_world_new (const sim_config_t *cfg)
{
    if (!cfg || cfg->nodes_max == 0 || cfg->posts_max == 0 || cfg->posts_max >= (1u << 31)
    ||  cfg->lat_max_ms < cfg->lat_min_ms || cfg->tick_ms == 0 || cfg->sync_interval_ms == 0
    ||  cfg->loss < 0 || cfg->loss >= 1 || sodium_init () < 0)
        return NULL;
    sim_world_t *self = (sim_world_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *cfg;
    memset (s_addr, 'a', S_ADDRESS_BYTES);
    sim_rng_seed (&self->rng, cfg->seed);
    size_t cells = (size_t) cfg->nodes_max * cfg->posts_max;
    self->heap = sim_heap_new ();
    self->nodes = (s_node_t *) calloc (cfg->nodes_max, sizeof *self->nodes);
    self->hash = (uint8_t (*) [32]) calloc (cfg->posts_max, 32);
    self->post_at = (uint64_t *) calloc (cfg->posts_max, sizeof *self->post_at);
    self->hop = (uint8_t *) calloc (cells, 1);
    self->arrive = (uint32_t *) calloc (cells, sizeof *self->arrive);
    self->side = (uint8_t *) calloc (cfg->nodes_max, 1);
    if (!self->heap || !self->nodes || !self->hash || !self->post_at || !self->hop || !self->arrive
    ||  !self->side) {
        sim_world_destroy (&self);
        return NULL;
    }
    return self;
}

void
sim_world_destroy (sim_world_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sim_world_t *self = *self_p;
    sim_event_t ev;
    while (self->heap && sim_heap_pop (self->heap, &ev))
        free (ev.msg);
    sim_heap_destroy (&self->heap);
    for (uint32_t n = 0; self->nodes && n < self->n_nodes; n++) {
        s_node_t *nd = &self->nodes [n];
        while (nd->n_links)
            s_link_remove (nd, &nd->links [nd->n_links - 1]);
        free (nd->links);
        free (nd->ann);
        free (nd->saved);
        gossip_overlay_destroy (&nd->ov);
        gossip_want_destroy (&nd->want);
        negentropy_store_destroy (&nd->store);
    }
    free (self->nodes);
    free (self->hash);
    free (self->post_at);
    free (self->hop);
    free (self->arrive);
    free (self->side);
    free (self);
    *self_p = NULL;
}

/* ---- lookups ---------------------------------------------------------------------- */

uint64_t sim_world_now (const sim_world_t *self) { return self->now; }
uint32_t sim_world_nodes (const sim_world_t *self) { return self->n_nodes; }
uint32_t sim_world_posts (const sim_world_t *self) { return self->n_posts; }
uint64_t sim_world_events (const sim_world_t *self) { return self->events; }
uint64_t sim_world_messages (const sim_world_t *self) { return self->messages; }
size_t   sim_world_queue_peak (const sim_world_t *self) { return sim_heap_peak (self->heap); }

int
sim_world_alive (const sim_world_t *self, uint32_t node)
{
    return node < self->n_nodes && self->nodes [node].alive;
}

int
sim_world_hops (const sim_world_t *self, uint32_t node, uint32_t post)
{
    uint8_t h = self->hop [(size_t) node * self->cfg.posts_max + post];
    return h? h - 1: -1;
}

uint64_t
sim_world_arrival (const sim_world_t *self, uint32_t node, uint32_t post)
{
    return self->arrive [(size_t) node * self->cfg.posts_max + post];
}

uint64_t
sim_world_post_time (const sim_world_t *self, uint32_t post)
{
    return self->post_at [post];
}

size_t
sim_world_links (const sim_world_t *self, uint32_t node, size_t *out_up, size_t *in_up, uint32_t *peers,
                 size_t max)
{
    const s_node_t *nd = &self->nodes [node];
    size_t o = 0, in = 0, k = 0;
    for (size_t i = 0; nd->alive && i < nd->n_links; i++) {
        const s_link_t *l = &nd->links [i];
        if (!l->up)
            continue;
        if (l->outgoing)
            o++;
        else
            in++;
        if (peers && k < max)
            peers [k] = l->peer;
        k++;
    }
    if (out_up)
        *out_up = o;
    if (in_up)
        *in_up = in;
    return k;
}

size_t
sim_world_degree (const sim_world_t *self, uint32_t node)
{
    const s_node_t *nd = &self->nodes [node];
    size_t d = 0;
    for (size_t i = 0; nd->alive && i < nd->n_links; i++) {
        const s_link_t *l = &nd->links [i];
        d += l->up && s_push_target ((s_node_t *) nd, l);
    }
    return d;
}

const sim_node_stats_t *
sim_world_stats (const sim_world_t *self, uint32_t node)
{
    return &self->nodes [node].stats;
}

gossip_overlay_t *
sim_world_overlay (const sim_world_t *self, uint32_t node)
{
    return self->nodes [node].ov;
}
