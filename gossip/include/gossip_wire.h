/*  gossip_wire.h — one GossipMessage per ZeroMQ frame: decode with a size
    cap and a budgeted allocator, check every field, encode.

    A decoded message is only handed on after gossip_wire_decode() has
    checked it: the body case is set, hashes are 32 bytes, lists are within
    their caps (an announcement's length is not: the receiver uses the first
    GOSSIP_WIRE_MAX_ANNOUNCE hashes and counts the rest as dropped), strings are UTF-8 within their caps, community ids are empty
    or 32 bytes, Negentropy messages are non-empty. Nothing a peer sends can
    make the decoder allocate more than GOSSIP_WIRE_BUDGET_PER_BYTE times the
    frame size (plus a constant), or reach an assert.
*/
#ifndef HEARTH_GOSSIP_WIRE_H
#define HEARTH_GOSSIP_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include "hearth.pb-c.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  Bytes of one gossip frame (one ZeroMQ frame) at most; bigger frames
    are dropped, counted. */
#define GOSSIP_MAX_FRAME_BYTES         (1024 * 1024)
/*  A peer address "NODE_ID@tcp://HOST:PORT" at most (a hello carries them). */
#define GOSSIP_MAX_ADDRESS             256
/*  Link protocol version carried in GossipHello. 2 added GossipAnnounce
    (lazy push); a peer whose hello says 1 is sent full events instead. */
#define GOSSIP_WIRE_VERSION          2
#define GOSSIP_WIRE_VERSION_ANNOUNCE 2
/*  Hashes in one fetch at most (32 KiB of hashes; the answer is a few frames). */
#define GOSSIP_WIRE_MAX_FETCH        1024
/*  Hashes of one announcement that are used (34 KiB on the wire, one fetch
    of them); the receiver counts any beyond as dropped. */
#define GOSSIP_WIRE_MAX_ANNOUNCE     1024
/*  Events in one push/events frame at most (a frame of tiny events). */
#define GOSSIP_WIRE_MAX_EVENTS       8192
/*  Peer addresses in one hello at most. */
#define GOSSIP_WIRE_MAX_PEERS        64
/*  Reason text of a redirect at most (a few words for the dialler's log). */
#define GOSSIP_WIRE_MAX_REASON       256
/*  Capability name bytes at most ("market.search"). */
#define GOSSIP_WIRE_MAX_CAPABILITY   64
/*  Error code and message bytes at most in a reply. */
#define GOSSIP_WIRE_MAX_ERROR_TEXT   1024
/*  protobuf-c allocates at most ~12 bytes per wire byte (an empty repeated
    bytes costs 2 wire bytes and a 16-byte slot plus a pointer); 16 per byte
    plus 8 KiB bounds a hostile frame. */
#define GOSSIP_WIRE_BUDGET_PER_BYTE  16
#define GOSSIP_WIRE_BUDGET_BASE      8192

/*  A decoded message with the allocator state it was decoded with. Lives
    where the caller puts it (usually the stack) from decode to release. */
typedef struct {
    Hearth__GossipMessage *msg;             /* owned; NULL if decode failed */
    size_t                 used, budget;    /* allocator bytes in use / allowed */
    ProtobufCAllocator     allocator;       /* points at this struct */
    /*  Set when decode refused a GossipQuery that parsed but failed a field
        check (HEARTH_EINVAL): its request_id and the reason (static text),
        so the receiver answers it instead of leaving the caller to time
        out. */
    int                    query_refused;
    uint64_t               query_request_id;
    const char            *query_problem;
} gossip_wire_msg_t;

/*  Decode and check one frame of len bytes (borrowed) into *out. Frames over
    max_bytes are refused unread. Returns 0 (out->msg set; release with
    gossip_wire_release), or HEARTH_ETOOBIG (over max_bytes), HEARTH_EDECODE
    (not a GossipMessage, or over the allocation budget), HEARTH_EINVAL (a
    field fails its check; for a query, out->query_refused and its id and
    reason), with out->msg NULL. */
int gossip_wire_decode (gossip_wire_msg_t *out, const uint8_t *buf, size_t len, size_t max_bytes);

/*  Free the decoded message in m (safe if decode failed or twice). */
void gossip_wire_release (gossip_wire_msg_t *m);

/*  Encode msg (borrowed) into a malloc'd buffer (caller frees). NULL on OOM. */
uint8_t *gossip_wire_encode (const Hearth__GossipMessage *msg, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
