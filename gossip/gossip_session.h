/*  gossip_session.h — one reconciliation session of a gossip link, in
    either mode: Negentropy v1 (negentropy.h, the default and the interop
    mode) or Hearth's rateless IBLT mode (riblt_session.h). The link code
    sees one interface; the mode is chosen by the initiator and recognised
    by the responder from the first byte (0x48 rateless, 0x60..0x6f v1).
*/
#ifndef HEARTH_GOSSIP_SESSION_H
#define HEARTH_GOSSIP_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "negentropy_store.h"
#include "riblt_encoder.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    GOSSIP_SESSION_V1     = 1,              /* Negentropy v1 */
    GOSSIP_SESSION_RIBLT  = 2               /* rateless IBLT */
} gossip_session_mode_t;

typedef struct _gossip_session_t gossip_session_t;

/*  New initiator in `mode` over store / encoder (borrowed; the encoder is
    only used, and may be NULL, for GOSSIP_SESSION_V1), with the first
    message in *msg_p (owned by the session until the next call). NULL on
    a bad limit, a missing encoder or out of memory. */
gossip_session_t *gossip_session_initiate (gossip_session_mode_t mode, negentropy_store_t *store,
                                           riblt_encoder_t *encoder, size_t frame_size_limit,
                                           const uint8_t **msg_p, size_t *size_p);

/*  New responder for a session whose first message starts with `first`:
    rateless if first is 0x48 and an encoder is given, else v1 (which
    declines what it does not speak). NULL on out of memory. */
gossip_session_t *gossip_session_respond (uint8_t first, negentropy_store_t *store,
                                          riblt_encoder_t *encoder, size_t frame_size_limit);

/*  Free; safe on NULL; nulls *self_p. */
void gossip_session_destroy (gossip_session_t **self_p);

/*  Process one peer message: as negentropy_reconcile / riblt_session_reconcile
    (an initiator's NULL reply means done). Returns 0 or their negative
    codes: HEARTH_ESCHEMA and HEARTH_ECAPACITY from a rateless initiator
    mean "run a v1 session instead". */
int gossip_session_reconcile (gossip_session_t *self, const uint8_t *msg, size_t size,
                              const uint8_t **reply_p, size_t *reply_size_p);

gossip_session_mode_t gossip_session_mode (const gossip_session_t *self);

/*  Where a v1 initiator's answers so far showed differences
    (negentropy_stats_t): *old_ranges differing ranges below the opening's
    newest top-level bucket (differences scattered over the order), and
    *head_ids differing ids at or above it (the head itself differs). Both
    0 for the rateless mode. */
void gossip_session_spread (const gossip_session_t *self, uint64_t *old_ranges, uint64_t *head_ids);

/*  Ids the initiator has / needs (32 bytes each), cumulative; owned by the
    session, valid until the next reconcile or destroy. The rateless mode
    reports them only once done. */
const uint8_t *gossip_session_have_ids (const gossip_session_t *self, size_t *count_p);
const uint8_t *gossip_session_need_ids (const gossip_session_t *self, size_t *count_p);

#ifdef __cplusplus
}
#endif
#endif
