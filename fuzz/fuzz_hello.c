/*  fuzz_hello.c — a member's GossipHello, the message whose addresses a
    node parses and may dial: the input is the hello's own protobuf bytes,
    framed as a GossipMessage and decoded as the mesh does, then every
    address in it goes through gossip_address_parse (as s_on_hello does).

    Properties: decode fails only with the wire's codes; a parsed address
    gives a NUL-terminated endpoint shorter than GOSSIP_MAX_ADDRESS that
    starts with tcp://, and parsing is a pure function of the text.
*/
#include <string.h>
#include "fuzz.h"
#include "fuzz_world.h"
#include "gossip.h"
#include "gossip_wire.h"
#include "hearth_error.h"

static void
s_parse (const char *address)
{
    uint8_t key [32], key2 [32];
    char endpoint [GOSSIP_MAX_ADDRESS], endpoint2 [GOSSIP_MAX_ADDRESS];
    memset (endpoint, 0x5a, sizeof endpoint);
    int rc = gossip_address_parse (address, key, endpoint);
    if (rc != 0)
        return;
    FUZZ_CHECK (memchr (endpoint, 0, sizeof endpoint) != NULL);
    FUZZ_CHECK (strncmp (endpoint, "tcp://", 6) == 0);
    FUZZ_CHECK (gossip_address_parse (address, key2, endpoint2) == 0);
    FUZZ_CHECK (memcmp (key, key2, 32) == 0 && strcmp (endpoint, endpoint2) == 0);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size > GOSSIP_MAX_FRAME_BYTES - 16)
        return 0;
    /*  GossipMessage field 1 (hello), length-delimited. */
    uint8_t *frame = (uint8_t *) malloc (size + 16);
    size_t at = 0;
    frame [at++] = (1 << 3) | 2;
    for (uint64_t v = size; ; v >>= 7) {
        frame [at++] = (uint8_t) ((v & 0x7f) | (v >= 0x80? 0x80: 0));
        if (v < 0x80)
            break;
    }
    memcpy (frame + at, data, size);
    gossip_wire_msg_t m;
    int rc = gossip_wire_decode (&m, frame, at + size, GOSSIP_MAX_FRAME_BYTES);
    if (rc == 0) {
        FUZZ_CHECK (m.msg->body_case == HEARTH__GOSSIP_MESSAGE__BODY_HELLO);
        const Hearth__GossipHello *h = m.msg->hello;
        FUZZ_CHECK (h->community_id.len == 0 || h->community_id.len == 32);
        FUZZ_CHECK (h->n_peers <= GOSSIP_WIRE_MAX_PEERS);
        if (h->address)
            s_parse (h->address);
        for (size_t i = 0; i < h->n_peers; i++)
            s_parse (h->peers [i]);
    }
    else
        FUZZ_CHECK (rc == HEARTH_ETOOBIG || rc == HEARTH_EDECODE || rc == HEARTH_EINVAL);
    gossip_wire_release (&m);
    free (frame);
    return 0;
}

void
fuzz_seeds (fuzz_emit_fn *emit, void *arg)
{
    fuzz_world_t w;
    fuzz_world_open (&w, "hello-seeds", 0);
    char v6 [400], host [400], bare [400];
    snprintf (v6, sizeof v6, "%s@tcp://[::1]:7401", identity_node_id (w.id));
    snprintf (host, sizeof host, "%s@tcp://node.example:65535", identity_node_id (w.id));
    snprintf (bare, sizeof bare, "%s", identity_node_id (w.id));
    char *peers [4] = { w.address, v6, host, bare };
    for (size_t n = 0; n <= 4; n += 2) {
        Hearth__GossipHello h = HEARTH__GOSSIP_HELLO__INIT;
        h.version = GOSSIP_WIRE_VERSION;
        h.head_lamport = 1000 + n;
        h.event_count = 12;
        h.address = n? w.address: (char *) "";
        h.community_id.data = (uint8_t *) eventlog_community_id (w.log);
        h.community_id.len = n? 32: 0;
        h.peers = peers;
        h.n_peers = n;
        size_t len = hearth__gossip_hello__get_packed_size (&h);
        uint8_t *buf = (uint8_t *) malloc (len + 1);
        hearth__gossip_hello__pack (&h, buf);
        emit (arg, buf, len);
        free (buf);
    }
    fuzz_world_close (&w);
}
