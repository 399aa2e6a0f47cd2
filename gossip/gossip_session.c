/*  gossip_session.c — a link's reconciliation session in either mode; see
    gossip_session.h. A thin dispatch: exactly one of the two sessions is
    set.
*/
#include <stdlib.h>
#include "gossip_session.h"
#include "negentropy.h"
#include "riblt_session.h"

struct _gossip_session_t {
    negentropy_t    *v1;                    /* owned, or NULL */
    riblt_session_t *riblt;                 /* owned, or NULL */
};

gossip_session_t *
gossip_session_initiate (gossip_session_mode_t mode, negentropy_store_t *store,
                         riblt_encoder_t *encoder, size_t frame_size_limit,
                         const uint8_t **msg_p, size_t *size_p)
{
    gossip_session_t *self = (gossip_session_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    int rc = -1;
    if (mode == GOSSIP_SESSION_RIBLT) {
        self->riblt = encoder? riblt_session_new (encoder, frame_size_limit): NULL;
        if (self->riblt)
            rc = riblt_session_initiate (self->riblt, msg_p, size_p);
    }
    else {
        self->v1 = negentropy_new (store, frame_size_limit);
        if (self->v1)
            rc = negentropy_initiate (self->v1, msg_p, size_p);
    }
    if (rc != 0)
        gossip_session_destroy (&self);
    return self;
}

gossip_session_t *
gossip_session_respond (uint8_t first, negentropy_store_t *store, riblt_encoder_t *encoder,
                        size_t frame_size_limit)
{
    gossip_session_t *self = (gossip_session_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    if (first == RIBLT_PROTOCOL_VERSION && encoder)
        self->riblt = riblt_session_new (encoder, frame_size_limit);
    else
        self->v1 = negentropy_new (store, frame_size_limit);
    if (!self->riblt && !self->v1)
        gossip_session_destroy (&self);
    return self;
}

void
gossip_session_destroy (gossip_session_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    negentropy_destroy (&(*self_p)->v1);
    riblt_session_destroy (&(*self_p)->riblt);
    free (*self_p);
    *self_p = NULL;
}

int
gossip_session_reconcile (gossip_session_t *self, const uint8_t *msg, size_t size,
                          const uint8_t **reply_p, size_t *reply_size_p)
{
    if (self->riblt)
        return riblt_session_reconcile (self->riblt, msg, size, reply_p, reply_size_p);
    return negentropy_reconcile (self->v1, msg, size, reply_p, reply_size_p);
}

gossip_session_mode_t
gossip_session_mode (const gossip_session_t *self)
{
    return self->riblt? GOSSIP_SESSION_RIBLT: GOSSIP_SESSION_V1;
}

void
gossip_session_spread (const gossip_session_t *self, uint64_t *old_ranges, uint64_t *head_ids)
{
    *old_ranges = *head_ids = 0;
    if (!self->v1)
        return;
    negentropy_stats_t stats;
    negentropy_stats (self->v1, &stats);
    *old_ranges = stats.ranges_differ_old;
    *head_ids = stats.ids_differ_head;
}

const uint8_t *
gossip_session_have_ids (const gossip_session_t *self, size_t *count_p)
{
    if (self->riblt)
        return riblt_session_have_ids (self->riblt, count_p);
    return negentropy_have_ids (self->v1, count_p);
}

const uint8_t *
gossip_session_need_ids (const gossip_session_t *self, size_t *count_p)
{
    if (self->riblt)
        return riblt_session_need_ids (self->riblt, count_p);
    return negentropy_need_ids (self->v1, count_p);
}
