/*  gossip_store.c — the reconciliation store: a negentropy_store backed by
    the event log's order index (lamport, hash), and the rateless encoder
    of the same set; see gossip_internal.h.

    The store is built by one scan of the order index before the log's
    accept hook is installed (so no event is missed or doubled), then kept
    in step by the hook (gossip_push.c). A query of the store that
    disagrees with the log marks it stale; the tick rebuilds it (gossip.c).
*/
#include <string.h>
#include "gossip_internal.h"
#include "hearth_error.h"
#include "hearth_log.h"

#define S_LOG "gossip"

/*  A store query's own error (a page read that disagrees with its summary,
    or a failed read: never caused by a peer's message): log it, rebuild
    the store at the next tick. True if rc was such an error. */
int
gossip_store_trouble (gossip_t *self, int rc)
{
    if (rc != HEARTH_ECORRUPT && rc != HEARTH_EIO)
        return 0;
    hearth_log_limited (HEARTH_LOG_ERROR, S_LOG, "store.trouble",
                        "reconciliation store disagrees with the log (%s): rebuilding",
                        hearth_strerror (rc));
    self->store_stale = 1;
    return 1;
}

/*  Split the store's grown pages, now that the log holds exactly what was
    inserted. ENOMEM leaves them grown (still correct) for the next call. */
void
gossip_store_settle (gossip_t *self)
{
    int rc = negentropy_store_settle (self->store);
    if (rc && rc != HEARTH_ENOMEM)
        gossip_store_trouble (self, rc);
}

static int
s_build_store_fn (void *arg, uint64_t lamport, const uint8_t hash [32])
{
    int rc = negentropy_store_insert ((negentropy_store_t *) arg, lamport, hash);
    return rc == HEARTH_EDUPLICATE? 0: rc;
}

/*  The store's source: the log's order index, as negentropy items. */
typedef struct {
    negentropy_store_fn *fn;
    void   *arg;
    size_t  index;
} s_order_walk_t;

static int
s_order_item (void *arg, uint64_t lamport, const uint8_t hash [32])
{
    s_order_walk_t *walk = (s_order_walk_t *) arg;
    negentropy_item_t item = { .timestamp = lamport };
    memcpy (item.id, hash, NEGENTROPY_ID_SIZE);
    return walk->fn (&item, walk->index++, walk->arg);
}

static int
s_store_read (void *source, uint64_t timestamp, const uint8_t id [NEGENTROPY_ID_SIZE], size_t limit,
              negentropy_store_fn *fn, void *arg)
{
    s_order_walk_t walk = { fn, arg, 0 };
    return eventlog_read_order ((eventlog_t *) source, timestamp, id, limit, s_order_item, &walk);
}

negentropy_store_t *
gossip_store_new (eventlog_t *log, int *err)
{
    int dummy;
    if (!err)
        err = &dummy;
    negentropy_store_t *store = negentropy_store_new_backed (s_store_read, log);
    *err = store? eventlog_scan_order (log, s_build_store_fn, store): HEARTH_ENOMEM;
    if (*err)
        negentropy_store_destroy (&store);
    return store;
}

/*  A store backed by the log's order index, and the rateless encoder of
    the same set unless reconcile = v1, both filled by one scan. Returns 0
    or an error (nothing allocated). The caller installs the hook after, or
    is on the loop thread, so no event is missed. */
int
gossip_store_build (gossip_t *self, negentropy_store_t **store_p, riblt_encoder_t **encoder_p)
{
    int rc;
    negentropy_store_t *store = gossip_store_new (self->log, &rc);
    riblt_encoder_t *encoder = NULL;
    if (store && self->cfg.reconcile != GOSSIP_RECONCILE_V1) {
        encoder = riblt_encoder_new (RIBLT_ENCODER_SYMBOLS_DEFAULT);
        rc = encoder? riblt_encoder_add_store (encoder, store): HEARTH_ENOMEM;
    }
    if (rc) {
        negentropy_store_destroy (&store);
        riblt_encoder_destroy (&encoder);
        return rc;
    }
    *store_p = store;
    *encoder_p = encoder;
    return 0;
}
