/*  negentropy.h — one range-based set reconciliation session, wire-compatible
    with Negentropy protocol v1 (NIP-77; hoytech/negentropy). Pure: no I/O,
    no clock, no threads. The gossip link carries the bytes.

    Roles. The initiator calls negentropy_initiate() and sends the result;
    the responder answers each message with negentropy_reconcile(); the
    initiator feeds each answer to negentropy_reconcile(), which gives the
    next message or, when nothing is left to ask, no message (done). The
    initiator learns both differences: "have" ids (it has, the peer lacks)
    and "need" ids (the peer has, it lacks). The responder learns nothing; it
    only answers. Then each side fetches/pushes events by hash.

    Wire format (every integer a Varint: base-128, most significant digit
    first, high bit set on all digits but the last):
        Message     := 0x61 Range*
        Range       := Bound Mode Payload          (upper bound; the lower is the previous
                                                    range's upper, or (0, "") for the first)
        Bound       := Varint(ts: 0 = infinity, else 1 + ts - previous ts in this message)
                       Varint(prefix length 0..32) idPrefix   (omitted bytes are 0)
        Mode 0 Skip        := (empty)
        Mode 1 Fingerprint := 16 bytes: SHA-256(sum of ids mod 2^256, 32 LE bytes || Varint(count))[0..16)
        Mode 2 IdList      := Varint(n) id{n}
    Ranges after the last one, up to infinity, are an implicit Skip.

    Decoding checks every byte: truncation, varints over 64 bits, prefix
    lengths over 32, id counts larger than the bytes left, bounds going
    backwards, unknown modes and version bytes outside 0x60..0x6f give a
    negative code and no reply; nothing a peer sends can assert or crash.
    A responder given another protocol version in 0x60..0x6f, or a Hearth
    extension byte in 0x40..0x4f, answers with the single byte 0x61 (the
    spec's "highest version I support"), return 0.

    Frame size limit: with a non-zero limit every message this side produces
    is at most that many bytes; work that does not fit is folded into one
    final range that the peer answers in a later round: the fingerprint of
    our items from there on, or an empty IdList when we hold none (never a
    fingerprint of an empty range: see docs/sync.md, "Never a fingerprint
    of nothing").

    The initiator checks each answer against the ranges it asked about and
    refuses one that contradicts them (docs/sync.md, "Answers that
    contradict the question are refused") rather than finish with items
    missing.
*/
#ifndef HEARTH_NEGENTROPY_H
#define HEARTH_NEGENTROPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "negentropy_store.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  Protocol version byte of v1. Versions are 0x60 + n. */
#define NEGENTROPY_PROTOCOL_VERSION     0x61
/*  Range of bytes that are Negentropy version bytes at all. */
#define NEGENTROPY_PROTOCOL_VERSION_MIN 0x60
#define NEGENTROPY_PROTOCOL_VERSION_MAX 0x6f
/*  Version bytes Hearth reserves for its own reconciliation modes (the
    rateless IBLT mode of riblt_session.h is 0x48, 'H'). A v1 responder
    declines them as it declines another Negentropy version: it answers with
    the single byte NEGENTROPY_PROTOCOL_VERSION, so an initiator that offered
    one falls back to v1. */
#define NEGENTROPY_EXTENSION_MIN        0x40
#define NEGENTROPY_EXTENSION_MAX        0x4f
/*  Smallest non-zero frame size limit (the reference's minimum: a split
    range, <= 16 x 60 bytes, always fits with room to spare). */
#define NEGENTROPY_FRAME_SIZE_MIN       4096
/*  Ranges are split into this many fingerprinted buckets... */
#define NEGENTROPY_BUCKETS              16
/*  ...unless they hold fewer than this many items, then they are listed. */
#define NEGENTROPY_IDLIST_THRESHOLD     (2 * NEGENTROPY_BUCKETS)

typedef enum {
    NEGENTROPY_MODE_SKIP        = 0,
    NEGENTROPY_MODE_FINGERPRINT = 1,
    NEGENTROPY_MODE_IDLIST      = 2
} negentropy_mode_t;

/*  Counters of one session. */
typedef struct {
    uint64_t messages_in;
    uint64_t messages_out;
    uint64_t bytes_in;
    uint64_t bytes_out;
    uint64_t ranges_in;             /* ranges decoded */
    uint64_t version_rejects;       /* messages answered with our version byte */
    /*  Initiator: ranges the peer's answers showed to differ (a fingerprint
        unequal to ours, or an id list with ids one side lacks), below the
        opening's newest top-level bucket ("old": the older 15/16 of the
        order) and from there on ("head"). Differences written during a
        partition are all at the head; many old ones mean differences
        scattered over the order, which cost v1 far more bytes each than
        the rateless mode (docs/sync.md §6; docs/performance.md, "Old
        events missing at random places"). */
    uint64_t ranges_differ_old;
    uint64_t ranges_differ_head;
    /*  Initiator: ids reported (have + need) from id lists at or above that
        bound: how much the head itself differs. */
    uint64_t ids_differ_head;
    /*  Initiator: answers refused as inconsistent with what we asked
        (negentropy_reconcile() gave HEARTH_EDECODE): a responder that would
        otherwise have made us report success with items missing. */
    uint64_t answers_inconsistent;
} negentropy_stats_t;

typedef struct _negentropy_t negentropy_t;

/*  New session over store (borrowed: must outlive the session; may gain
    items between messages). frame_size_limit is 0 (none) or >=
    NEGENTROPY_FRAME_SIZE_MIN. Returns NULL on a bad limit or out of memory. */
negentropy_t *negentropy_new (negentropy_store_t *store, size_t frame_size_limit);

/*  Free the session and set *self_p to NULL. Safe on NULL and on *self_p NULL. */
void negentropy_destroy (negentropy_t **self_p);

/*  Become the initiator and build the first message. *msg_p points into the
    session (owned by it) and stays valid until the next call on it.
    The opening is 16 fingerprinted buckets, as the reference's, but when the
    newest bucket holds NEGENTROPY_IDLIST_THRESHOLD items or more it is split
    again, level after level, down to an IdList of the newest few items
    (while the frame limit has room for a level). Events written during a
    partition sit at the head of the order, so a responder holding them
    answers with all of them at once: one round trip. Still plain v1.
    Returns 0; HEARTH_EINVAL if this session already initiated or answered;
    HEARTH_ENOMEM; a backed store's page read error (HEARTH_ECORRUPT,
    HEARTH_EIO), after which the session may initiate again. */
int negentropy_initiate (negentropy_t *self, const uint8_t **msg_p, size_t *size_p);

/*  Process one peer message (borrowed). As responder: *reply_p is the answer
    to send (never empty). As initiator: *reply_p is the next message, or NULL
    with *reply_size_p 0 when reconciliation is complete (negentropy_done()).
    The reply is owned by the session and valid until the next call on it.
    Returns 0; HEARTH_EDECODE (malformed message, or, for an initiator, an
    answer inconsistent with what it asked: stats answers_inconsistent);
    HEARTH_ESCHEMA (initiator got another protocol version); HEARTH_EINVAL (initiator already done);
    HEARTH_ECAPACITY (over 2^30 ids in a list); HEARTH_ENOMEM; a backed
    store's page read error (HEARTH_ECORRUPT, HEARTH_EIO). The whole
    message is checked before it is used: on error the have/need lists are
    as they were. */
int negentropy_reconcile (negentropy_t *self, const uint8_t *msg, size_t size,
                          const uint8_t **reply_p, size_t *reply_size_p);

/*  True once the initiator has nothing more to ask. */
bool negentropy_done (const negentropy_t *self);

/*  True if this session initiated. */
bool negentropy_is_initiator (const negentropy_t *self);

/*  Ids the initiator has and the peer lacks, *count_p of them, 32 bytes
    each, contiguous; cumulative over the session (new ones are appended, so
    a caller can remember how many it has seen), each id once even when a
    later round meets it again. Owned by the session; valid until the next
    reconcile or destroy. Always empty for a responder. */
const uint8_t *negentropy_have_ids (const negentropy_t *self, size_t *count_p);

/*  Ids the peer has and the initiator lacks; as negentropy_have_ids. Within
    one peer IdList they come in the order the peer listed them (its store
    order, oldest first, for a peer that follows the spec). */
const uint8_t *negentropy_need_ids (const negentropy_t *self, size_t *count_p);

/*  Copy the session's counters into *stats. */
void negentropy_stats (const negentropy_t *self, negentropy_stats_t *stats);

#ifdef __cplusplus
}
#endif
#endif
