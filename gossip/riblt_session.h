/*  riblt_session.h — one Hearth-only reconciliation session with rateless
    IBLT symbols (riblt.h), the mode negotiated before falling back to
    Negentropy v1 (negentropy.h). Pure: no I/O, no clock.

    The responder streams its set's coded symbols (from its riblt_encoder);
    the initiator subtracts its own and peels the difference. Like
    negentropy_t, the initiator learns both "have" (it has, the peer lacks)
    and "need" (the peer has, it lacks) and the responder only answers.

    Wire format (integers are Varints as in Negentropy: base-128, most
    significant digit first, high bit on all digits but the last):
        Message  := 0x48 Type Body                 0x48 = 'H', outside Negentropy's 0x60..0x6f
        Type 1 Request  := Varint(items) Varint(from) Varint(count)
                           initiator -> responder: send symbols [from, from + count);
                           count 0 (first request): the responder picks the
                           first batch from the two set sizes
        Type 2 Symbols  := Varint(items) Varint(from) Varint(k) Symbol{k}
        Symbol          := idXor[32] hashXor[8, little-endian] Varint(count as uint64)
        Type 3 TooLarge := Varint(items)            the sizes alone show a difference
                                                    past RIBLT_SYMBOLS_MAX: use v1
    `items` is the sender's set size. Every byte is checked before use.

    Negotiation: the initiator's first message starts with 0x48. A peer
    whose reconciliation is Negentropy only answers with the single byte
    0x61 (negentropy.h: it declines 0x40..0x4f like an unknown version);
    then riblt_session_reconcile() returns HEARTH_ESCHEMA and the caller
    starts a negentropy_t session instead. HEARTH_ECAPACITY means the
    difference is too large for this mode (TooLarge, or RIBLT_SYMBOLS_MAX
    symbols did not decode): also fall back to Negentropy v1.

    Both sides copy their encoder's first symbols when the session starts,
    so items added to the encoder during the session do not mix into it.
*/
#ifndef HEARTH_RIBLT_SESSION_H
#define HEARTH_RIBLT_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "riblt_encoder.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  First byte of every message of this mode ('H'). */
#define RIBLT_PROTOCOL_VERSION      0x48
/*  Message types. */
#define RIBLT_MSG_REQUEST           1
#define RIBLT_MSG_SYMBOLS           2
#define RIBLT_MSG_TOO_LARGE         3
/*  Most symbols one session uses (also capped by the encoders' length):
    about 20,000 differing items at ~1.6 symbols each, 1.6 MB of symbols. */
#define RIBLT_SYMBOLS_MAX           32768
/*  Fewest symbols asked for at once (~3 KB): covers a few dozen differences. */
#define RIBLT_BATCH_MIN             64
/*  First batch: this many symbols per hundred items of size difference,
    plus RIBLT_BATCH_MIN. A difference of d items decodes after about
    1.3-1.45 d symbols (gossip_test_riblt checks it); 170% leaves room for
    the spread (docs/sync.md §6). */
#define RIBLT_FIRST_BATCH_PERCENT   170
/*  Smallest non-zero frame size limit (as NEGENTROPY_FRAME_SIZE_MIN). */
#define RIBLT_FRAME_SIZE_MIN        4096

/*  Counters of one session. */
typedef struct {
    uint64_t messages_in;
    uint64_t messages_out;
    uint64_t bytes_in;
    uint64_t bytes_out;
    uint64_t symbols_in;
    uint64_t symbols_out;
} riblt_session_stats_t;

typedef struct _riblt_session_t riblt_session_t;

/*  New session over encoder (borrowed: must outlive the session).
    frame_size_limit is 0 (none) or >= RIBLT_FRAME_SIZE_MIN. NULL on a bad
    limit or out of memory. */
riblt_session_t *riblt_session_new (riblt_encoder_t *encoder, size_t frame_size_limit);

/*  Free the session and set *self_p to NULL. Safe on NULL and *self_p NULL. */
void riblt_session_destroy (riblt_session_t **self_p);

/*  Become the initiator: the first message (a Request, count 0). *msg_p is
    owned by the session, valid until the next call on it. Returns 0;
    HEARTH_EINVAL if already started; HEARTH_ENOMEM. */
int riblt_session_initiate (riblt_session_t *self, const uint8_t **msg_p, size_t *size_p);

/*  Process one peer message (borrowed). Responder: *reply_p is the answer
    (never empty). Initiator: *reply_p is the next Request, or NULL with
    *reply_size_p 0 once decoded (riblt_session_done()). The reply is owned
    by the session until the next call. Returns 0; HEARTH_ESCHEMA (the
    initiator got a Negentropy answer: fall back to v1); HEARTH_ECAPACITY
    (difference too large: fall back to v1); HEARTH_EDECODE (malformed);
    HEARTH_EINVAL (initiator already finished or failed); HEARTH_ENOMEM. An
    initiator that returned an error is finished (every later call gives
    HEARTH_EINVAL); a responder may go on answering. */
int riblt_session_reconcile (riblt_session_t *self, const uint8_t *msg, size_t size,
                             const uint8_t **reply_p, size_t *reply_size_p);

/*  True once the initiator has decoded the difference. */
bool riblt_session_done (const riblt_session_t *self);

/*  Ids the initiator has and the peer lacks, *count_p of them, 32 bytes
    each, contiguous; empty until done. Owned by the session. */
const uint8_t *riblt_session_have_ids (const riblt_session_t *self, size_t *count_p);

/*  Ids the peer has and the initiator lacks; as riblt_session_have_ids. */
const uint8_t *riblt_session_need_ids (const riblt_session_t *self, size_t *count_p);

/*  Copy the session's counters into *stats. */
void riblt_session_stats (const riblt_session_t *self, riblt_session_stats_t *stats);

#ifdef __cplusplus
}
#endif
#endif
