/*  gossip_wire.c — GossipMessage decode/check/encode; see gossip_wire.h.

    The budgeted allocator puts a small header in front of each block so
    protobuf-c's free can give the bytes back to the budget; the budget
    lives in the caller's gossip_wire_msg_t.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "gossip_wire.h"
#include "hearth_codec.h"
#include "hearth_error.h"

/*  Header before each block: its size, kept 16-byte aligned (max_align_t). */
typedef union {
    size_t      size;
    max_align_t align;
} s_block_t;

static void *
s_alloc (void *data, size_t size)
{
    gossip_wire_msg_t *b = (gossip_wire_msg_t *) data;
    if (size > b->budget - b->used || sizeof (s_block_t) > b->budget - b->used - size)
        return NULL;
    s_block_t *blk = (s_block_t *) malloc (sizeof (s_block_t) + size);
    if (!blk)
        return NULL;
    blk->size = size;
    b->used += size + sizeof (s_block_t);
    return blk + 1;
}

static void
s_free (void *data, void *ptr)
{
    if (!ptr)
        return;
    gossip_wire_msg_t *b = (gossip_wire_msg_t *) data;
    s_block_t *blk = (s_block_t *) ptr - 1;
    b->used -= blk->size + sizeof (s_block_t);
    free (blk);
}

static int
s_string_ok (const char *s, size_t max)
{
    if (!s)
        return 1;
    size_t n = strlen (s);
    return n <= max && hearth_utf8_valid (s, n);
}

static int
s_hashes_ok (const ProtobufCBinaryData *h, size_t n, size_t max)
{
    if (n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (h [i].len != HEARTH_HASH_BYTES)
            return 0;
    return 1;
}

static int
s_neg_ok (const Hearth__GossipNeg *n)
{
    return n->msg.len > 0;
}

/*  Why a query's fields are refused, or NULL. */
static const char *
s_query_problem (const Hearth__GossipQuery *q)
{
    if (!q->capability || !*q->capability)
        return "the capability name is empty";
    if (strlen (q->capability) > GOSSIP_WIRE_MAX_CAPABILITY)
        return "the capability name is over 64 bytes (GOSSIP_WIRE_MAX_CAPABILITY)";
    if (!s_string_ok (q->capability, GOSSIP_WIRE_MAX_CAPABILITY))
        return "the capability name is not UTF-8";
    if (!s_string_ok (q->input_json, GOSSIP_MAX_FRAME_BYTES))
        return "input_json is not UTF-8";
    return NULL;
}

/*  Field checks beyond what protobuf guarantees; 0 or HEARTH_EINVAL. */
static int
s_check (const Hearth__GossipMessage *m)
{
    switch (m->body_case) {
        case HEARTH__GOSSIP_MESSAGE__BODY_HELLO: {
            const Hearth__GossipHello *h = m->hello;
            if ((h->community_id.len != 0 && h->community_id.len != HEARTH_KEY_BYTES)
            ||  !s_string_ok (h->address, GOSSIP_MAX_ADDRESS - 1)
            ||  h->n_peers > GOSSIP_WIRE_MAX_PEERS)
                return HEARTH_EINVAL;
            for (size_t i = 0; i < h->n_peers; i++)
                if (!h->peers [i] || !s_string_ok (h->peers [i], GOSSIP_MAX_ADDRESS - 1))
                    return HEARTH_EINVAL;
            return 0;
        }
        case HEARTH__GOSSIP_MESSAGE__BODY_REDIRECT: {
            const Hearth__GossipRedirect *r = m->redirect;
            if (r->n_peers > GOSSIP_WIRE_MAX_PEERS || !s_string_ok (r->reason, GOSSIP_WIRE_MAX_REASON))
                return HEARTH_EINVAL;
            for (size_t i = 0; i < r->n_peers; i++)
                if (!r->peers [i] || !s_string_ok (r->peers [i], GOSSIP_MAX_ADDRESS - 1))
                    return HEARTH_EINVAL;
            return 0;
        }
        case HEARTH__GOSSIP_MESSAGE__BODY_PUSH:
            return m->push->n_events <= GOSSIP_WIRE_MAX_EVENTS? 0: HEARTH_EINVAL;
        case HEARTH__GOSSIP_MESSAGE__BODY_EVENTS:
            return m->events->n_events <= GOSSIP_WIRE_MAX_EVENTS? 0: HEARTH_EINVAL;
        case HEARTH__GOSSIP_MESSAGE__BODY_NEG_OPEN:
            return s_neg_ok (m->neg_open)? 0: HEARTH_EINVAL;
        case HEARTH__GOSSIP_MESSAGE__BODY_NEG_MSG:
            return s_neg_ok (m->neg_msg)? 0: HEARTH_EINVAL;
        case HEARTH__GOSSIP_MESSAGE__BODY_NEG_REPLY:
            return 0;                       /* empty: the responder could not answer */
        case HEARTH__GOSSIP_MESSAGE__BODY_NEG_DONE:
        case HEARTH__GOSSIP_MESSAGE__BODY_PING:
        case HEARTH__GOSSIP_MESSAGE__BODY_PONG:
            return 0;
        case HEARTH__GOSSIP_MESSAGE__BODY_FETCH:
            return s_hashes_ok (m->fetch->hashes, m->fetch->n_hashes, GOSSIP_WIRE_MAX_FETCH)? 0: HEARTH_EINVAL;
        case HEARTH__GOSSIP_MESSAGE__BODY_ANNOUNCE:
            /*  Any count (the frame cap and the decode budget bound it): the
                receiver cuts it to GOSSIP_WIRE_MAX_ANNOUNCE and counts the
                rest, so a long announcement is not confused with a bad one. */
            return s_hashes_ok (m->announce->hashes, m->announce->n_hashes, SIZE_MAX)? 0: HEARTH_EINVAL;
        case HEARTH__GOSSIP_MESSAGE__BODY_QUERY:
            return s_query_problem (m->query)? HEARTH_EINVAL: 0;
        case HEARTH__GOSSIP_MESSAGE__BODY_REPLY: {
            const Hearth__GossipReply *r = m->reply;
            if (r->error > 0 || r->error < HEARTH_ERROR_MIN - 1000
            ||  !s_string_ok (r->output_json, GOSSIP_MAX_FRAME_BYTES)
            ||  !s_string_ok (r->error_code, GOSSIP_WIRE_MAX_ERROR_TEXT)
            ||  !s_string_ok (r->error_message, GOSSIP_WIRE_MAX_ERROR_TEXT))
                return HEARTH_EINVAL;
            return 0;
        }
        default:
            return HEARTH_EINVAL;           /* no body, or one we do not know */
    }
}

int
gossip_wire_decode (gossip_wire_msg_t *out, const uint8_t *buf, size_t len, size_t max_bytes)
{
    memset (out, 0, sizeof *out);
    if (len > max_bytes)
        return HEARTH_ETOOBIG;
    out->budget = len * GOSSIP_WIRE_BUDGET_PER_BYTE + GOSSIP_WIRE_BUDGET_BASE;
    out->allocator.alloc = s_alloc;
    out->allocator.free = s_free;
    out->allocator.allocator_data = out;
    out->msg = hearth__gossip_message__unpack (&out->allocator, len, buf);
    if (!out->msg)
        return HEARTH_EDECODE;
    int rc = s_check (out->msg);
    if (rc && out->msg->body_case == HEARTH__GOSSIP_MESSAGE__BODY_QUERY) {
        out->query_refused = 1;
        out->query_request_id = out->msg->query->request_id;
        out->query_problem = s_query_problem (out->msg->query);
    }
    if (rc)
        gossip_wire_release (out);
    return rc;
}

void
gossip_wire_release (gossip_wire_msg_t *m)
{
    if (m->msg)
        hearth__gossip_message__free_unpacked (m->msg, &m->allocator);
    m->msg = NULL;
}

uint8_t *
gossip_wire_encode (const Hearth__GossipMessage *msg, size_t *len)
{
    *len = hearth__gossip_message__get_packed_size (msg);
    uint8_t *buf = (uint8_t *) malloc (*len? *len: 1);
    if (buf)
        hearth__gossip_message__pack (msg, buf);
    return buf;
}
