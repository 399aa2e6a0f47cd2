/*  fuzz_gossip_wire.c — one peer frame through gossip_wire_decode, as the
    mesh reads every frame from a member's link, and the events it carries
    through event_decode.

    Properties: decode fails only with ETOOBIG, EDECODE or EINVAL; the
    allocator stays within its budget; a message that decodes and has no
    unknown fields re-encodes to a frame that decodes again (protobuf-c
    keeps unknown fields, even a field number 0 written as an overlong
    varint, and re-encodes that one as a tag it then refuses; the link
    never re-encodes a received message and ignores unknown fields, so
    that is harmless); release is safe twice.
*/
#include <string.h>
#include "fuzz.h"
#include "fuzz_world.h"
#include "event.h"
#include "gossip.h"
#include "gossip_wire.h"
#include "hearth_error.h"
#include "negentropy.h"

/*  The message's body (its one submessage), or NULL. */
static const ProtobufCMessage *
s_body (const Hearth__GossipMessage *m)
{
    switch (m->body_case) {
        case HEARTH__GOSSIP_MESSAGE__BODY_HELLO:     return &m->hello->base;
        case HEARTH__GOSSIP_MESSAGE__BODY_PUSH:      return &m->push->base;
        case HEARTH__GOSSIP_MESSAGE__BODY_NEG_OPEN:  return &m->neg_open->base;
        case HEARTH__GOSSIP_MESSAGE__BODY_NEG_MSG:   return &m->neg_msg->base;
        case HEARTH__GOSSIP_MESSAGE__BODY_NEG_REPLY: return &m->neg_reply->base;
        case HEARTH__GOSSIP_MESSAGE__BODY_NEG_DONE:  return &m->neg_done->base;
        case HEARTH__GOSSIP_MESSAGE__BODY_FETCH:     return &m->fetch->base;
        case HEARTH__GOSSIP_MESSAGE__BODY_EVENTS:    return &m->events->base;
        case HEARTH__GOSSIP_MESSAGE__BODY_QUERY:     return &m->query->base;
        case HEARTH__GOSSIP_MESSAGE__BODY_REPLY:     return &m->reply->base;
        case HEARTH__GOSSIP_MESSAGE__BODY_PING:      return &m->ping->base;
        case HEARTH__GOSSIP_MESSAGE__BODY_PONG:      return &m->pong->base;
        case HEARTH__GOSSIP_MESSAGE__BODY_ANNOUNCE:  return &m->announce->base;
        default:                                     return NULL;
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    gossip_wire_msg_t m;
    int rc = gossip_wire_decode (&m, data, size, GOSSIP_MAX_FRAME_BYTES);
    if (rc != 0) {
        FUZZ_CHECK (rc == HEARTH_ETOOBIG || rc == HEARTH_EDECODE || rc == HEARTH_EINVAL);
        FUZZ_CHECK (m.msg == NULL);
        gossip_wire_release (&m);
        return 0;
    }
    FUZZ_CHECK (m.msg && m.used <= m.budget);
    FUZZ_CHECK (m.msg->body_case != HEARTH__GOSSIP_MESSAGE__BODY__NOT_SET);
    const Hearth__GossipEvents *evs = m.msg->body_case == HEARTH__GOSSIP_MESSAGE__BODY_PUSH? m.msg->push
                                    : m.msg->body_case == HEARTH__GOSSIP_MESSAGE__BODY_EVENTS? m.msg->events
                                    : NULL;
    for (size_t i = 0; evs && i < evs->n_events; i++) {
        event_reject_t reason;
        event_t *ev = event_decode (evs->events [i].data, evs->events [i].len, &reason);
        event_destroy (&ev);
    }
    size_t len = 0;
    uint8_t *again = gossip_wire_encode (m.msg, &len);
    FUZZ_CHECK (again);
    const ProtobufCMessage *body = s_body (m.msg);
    int unknown = m.msg->base.n_unknown_fields || (body && body->n_unknown_fields);
    gossip_wire_msg_t m2;
    rc = gossip_wire_decode (&m2, again, len, GOSSIP_MAX_FRAME_BYTES);
    FUZZ_CHECK (rc == 0 || unknown);
    if (rc == 0)
        FUZZ_CHECK (m2.msg->body_case == m.msg->body_case);
    gossip_wire_release (&m2);
    free (again);
    gossip_wire_release (&m);
    gossip_wire_release (&m);
    return 0;
}

/* ---- seeds: one of each message, with real events and Negentropy bytes ---- */

typedef struct {
    fuzz_emit_fn *emit;
    void         *arg;
    ProtobufCBinaryData events [16];
    size_t        n_events;
} s_seeds_t;

static void
s_emit_msg (s_seeds_t *s, const Hearth__GossipMessage *m)
{
    size_t len;
    uint8_t *buf = gossip_wire_encode (m, &len);
    if (!buf)
        abort ();
    s->emit (s->arg, buf, len);
    free (buf);
}

static void
s_keep_event (void *arg, const uint8_t *wire, size_t len)
{
    s_seeds_t *s = (s_seeds_t *) arg;
    if (s->n_events == 16)
        return;
    s->events [s->n_events].data = (uint8_t *) malloc (len);
    memcpy (s->events [s->n_events].data, wire, len);
    s->events [s->n_events++].len = len;
}

void
fuzz_seeds (fuzz_emit_fn *emit, void *arg)
{
    s_seeds_t s = { .emit = emit, .arg = arg };
    fuzz_world_t w;
    fuzz_world_open (&w, "wire-seeds", 1);
    fuzz_world_events (&w, s_keep_event, &s);
    uint8_t hashes [4][32];
    for (int i = 0; i < 4; i++)
        memset (hashes [i], 0x11 * (i + 1), 32);
    ProtobufCBinaryData hb [4];
    for (int i = 0; i < 4; i++) {
        hb [i].data = hashes [i];
        hb [i].len = 32;
    }
    /*  hello */
    Hearth__GossipHello h = HEARTH__GOSSIP_HELLO__INIT;
    h.version = GOSSIP_WIRE_VERSION;
    h.head_lamport = 42;
    h.event_count = 17;
    h.address = w.address;
    h.community_id.data = (uint8_t *) eventlog_community_id (w.log);
    h.community_id.len = 32;
    char *peers [1] = { w.address };
    h.peers = peers;
    h.n_peers = 1;
    Hearth__GossipMessage m = HEARTH__GOSSIP_MESSAGE__INIT;
    m.body_case = HEARTH__GOSSIP_MESSAGE__BODY_HELLO;
    m.hello = &h;
    s_emit_msg (&s, &m);
    /*  push and events */
    Hearth__GossipEvents ev = HEARTH__GOSSIP_EVENTS__INIT;
    ev.events = s.events;
    ev.n_events = s.n_events;
    m.body_case = HEARTH__GOSSIP_MESSAGE__BODY_PUSH;
    m.push = &ev;
    s_emit_msg (&s, &m);
    ev.request_id = 7;
    ev.last = 1;
    ev.n_events = s.n_events > 2? 2: s.n_events;
    m.body_case = HEARTH__GOSSIP_MESSAGE__BODY_EVENTS;
    m.events = &ev;
    s_emit_msg (&s, &m);
    /*  Negentropy: a real opening of an empty store, and a version reply */
    negentropy_store_t *store = negentropy_store_new ();
    negentropy_store_insert (store, 1, hashes [0]);
    negentropy_t *ne = negentropy_new (store, 0);
    const uint8_t *open_msg;
    size_t open_len;
    if (negentropy_initiate (ne, &open_msg, &open_len) != 0)
        abort ();
    Hearth__GossipNeg neg = HEARTH__GOSSIP_NEG__INIT;
    neg.msg.data = (uint8_t *) open_msg;
    neg.msg.len = open_len;
    neg.session = 3;
    m.body_case = HEARTH__GOSSIP_MESSAGE__BODY_NEG_OPEN;
    m.neg_open = &neg;
    s_emit_msg (&s, &m);
    m.body_case = HEARTH__GOSSIP_MESSAGE__BODY_NEG_MSG;
    m.neg_msg = &neg;
    s_emit_msg (&s, &m);
    uint8_t version = NEGENTROPY_PROTOCOL_VERSION;
    neg.msg.data = &version;
    neg.msg.len = 1;
    m.body_case = HEARTH__GOSSIP_MESSAGE__BODY_NEG_REPLY;
    m.neg_reply = &neg;
    s_emit_msg (&s, &m);
    negentropy_destroy (&ne);
    negentropy_store_destroy (&store);
    Hearth__GossipNegDone done = HEARTH__GOSSIP_NEG_DONE__INIT;
    done.session = 3;
    done.you_lack = 5;
    m.body_case = HEARTH__GOSSIP_MESSAGE__BODY_NEG_DONE;
    m.neg_done = &done;
    s_emit_msg (&s, &m);
    /*  fetch, announce */
    Hearth__GossipFetch fetch = HEARTH__GOSSIP_FETCH__INIT;
    fetch.hashes = hb;
    fetch.n_hashes = 4;
    fetch.request_id = 9;
    m.body_case = HEARTH__GOSSIP_MESSAGE__BODY_FETCH;
    m.fetch = &fetch;
    s_emit_msg (&s, &m);
    Hearth__GossipAnnounce ann = HEARTH__GOSSIP_ANNOUNCE__INIT;
    ann.hashes = hb;
    ann.n_hashes = 4;
    m.body_case = HEARTH__GOSSIP_MESSAGE__BODY_ANNOUNCE;
    m.announce = &ann;
    s_emit_msg (&s, &m);
    /*  query, reply */
    Hearth__GossipQuery q = HEARTH__GOSSIP_QUERY__INIT;
    q.capability = (char *) "market.search";
    q.input_json = (char *) "{\"query\":\"apples\"}";
    q.request_id = 11;
    q.timeout_ms = 5000;
    m.body_case = HEARTH__GOSSIP_MESSAGE__BODY_QUERY;
    m.query = &q;
    s_emit_msg (&s, &m);
    Hearth__GossipReply r = HEARTH__GOSSIP_REPLY__INIT;
    r.request_id = 11;
    r.output_json = (char *) "{\"results\":[]}";
    m.body_case = HEARTH__GOSSIP_MESSAGE__BODY_REPLY;
    m.reply = &r;
    s_emit_msg (&s, &m);
    r.output_json = (char *) "";
    r.error = HEARTH_ERATE;
    r.error_code = (char *) "rate_limited";
    r.error_message = (char *) "slow down";
    r.retry_after_ms = 250;
    s_emit_msg (&s, &m);
    /*  ping, pong */
    Hearth__GossipPing ping = HEARTH__GOSSIP_PING__INIT;
    ping.nonce = 99;
    ping.head_lamport = 42;
    m.body_case = HEARTH__GOSSIP_MESSAGE__BODY_PING;
    m.ping = &ping;
    s_emit_msg (&s, &m);
    m.body_case = HEARTH__GOSSIP_MESSAGE__BODY_PONG;
    m.pong = &ping;
    s_emit_msg (&s, &m);
    for (size_t i = 0; i < s.n_events; i++)
        free (s.events [i].data);
    fuzz_world_close (&w);
}
