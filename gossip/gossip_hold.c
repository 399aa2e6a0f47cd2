/*  gossip_hold.c — received events on their way to the log: the push
    inbox of a read burst (one ingest call for all) and the reorder window
    of fetched events (stored in lamport order, in batches); see
    gossip_internal.h.

    An event needs its author's membership events (lower lamports) stored
    first, so fetched events wait in the link's window, packed in blocks,
    until GOSSIP_REORDER_BYTES are held or no fetch is outstanding, then go
    to the log sorted. Pushed events keep the peer's order (the inbox is
    flushed before any other message of the link is handled).
*/
#include <stdlib.h>
#include <string.h>
#include "gossip_internal.h"
#include "hearth_memory.h"
#include "hearth_error.h"
#include "hearth_log.h"
#include "hearth_vec.h"

#define S_LOG "gossip"

/* ---- tuning (named, explained) --------------------------------------------------- */

/*  After storing a held batch at least this big, freed heap goes back to
    the OS (hearth_memory_release: milliseconds, once per ~1/4 of the
    reorder window at most, so never on the push path). */
#define GOSSIP_RELEASE_BYTES        (GOSSIP_REORDER_BYTES / 4)
/*  Held events are packed into blocks of this size, one allocation per
    ~2,500 events instead of one each (docs/performance.md, "Join
    memory"), freed together. Larger than any event
    (GOSSIP_MAX_FRAME_BYTES caps a frame, hence an event). */
#define GOSSIP_HOLD_BLOCK_BYTES     GOSSIP_MAX_FRAME_BYTES

/*  Remember the refusal of frame (its gossip_held_t item: hash and lamport
    if decoded) for `code` (gossip_refused.h): what does not decode has no
    hash and is not remembered. */
static void
s_refused_note (gossip_t *self, gossip_sweep_t *sweep, const gossip_held_t *item, const uint8_t *frame,
                size_t len, event_reject_t code, uint64_t context, uint64_t now)
{
    const uint8_t *hash = item->decoded? item->hash: NULL;
    uint64_t lamport = item->lamport;
    event_t *ev = NULL;
    if (!hash) {
        event_reject_t reason;
        ev = event_decode (frame, len, &reason);
        if (ev) {
            hash = event_hash (ev);
            lamport = event_lamport (ev);
        }
    }
    gossip_refused_kind_t kind = gossip_refused_kind (code, lamport);
    if (hash && kind != GOSSIP_REFUSED_NONE) {
        gossip_refused_add (self->refused, hash, kind, context, now);  /* ENOMEM: fetched again, no harm */
        if (sweep)
            gossip_sweep_add (sweep, hash);
    }
    event_destroy (&ev);
}

/*  Store frames received on l (one ingest call, origin l); items[i] is
    frame i's gossip_held_t. Refusals are remembered (s_refused_note).
    Events refused because their membership context is missing (not a
    member yet, a join before its invite) while others were accepted:
    reconcile again soon, the missing context may have just arrived. */
static void
s_ingest_frames (gossip_link_t *l, const uint8_t **frames, const size_t *lens, const gossip_held_t *items,
                 size_t n)
{
    gossip_t *self = l->owner;
    if (n == 0)
        return;
    event_reject_t *codes = (event_reject_t *) malloc (n * sizeof *codes);
    eventlog_ingest_result_t result;
    self->in_ingest = 1;
    int rc = eventlog_ingest_from (self->log, frames, lens, n, l, &result, codes);
    self->in_ingest = 0;
    if (rc != 0)
        hlog_error (S_LOG, "storing %zu events from %s failed: %s", n, l->short_id, hearth_strerror (rc));
    self->stats.events_received += n;
    self->stats.events_duplicate += result.rejected [EVENT_REJECT_DUPLICATE];
    size_t context = 0;
    uint64_t membership = gossip_refusal_context (self), now = hearth_mono_ms ();
    for (size_t i = 0; codes && rc == 0 && i < n; i++) {
        context += codes [i] == EVENT_REJECT_MEMBERSHIP || codes [i] == EVENT_REJECT_TYPE_RULE;
        if (codes [i] != EVENT_REJECT_NONE && codes [i] != EVENT_REJECT_DUPLICATE)
            s_refused_note (self, l->sweep, &items [i], frames [i], lens [i], codes [i], membership, now);
    }
    if (context && result.accepted)
        l->resync = 1;
    free (codes);
    gossip_store_settle (self);                  /* the log holds exactly what the hook inserted */
    gossip_flush_pending (self);
}

/*  Store the pushed events gathered in this read burst in one ingest call
    (one write for all, unsynced: eventlog.h "Durability"). */
void
gossip_inbox_flush (gossip_link_t *l)
{
    if (l->n_inbox == 0)
        return;
    const uint8_t **frames = (const uint8_t **) malloc (l->n_inbox * sizeof *frames);
    size_t *lens = (size_t *) malloc (l->n_inbox * sizeof *lens);
    if (frames && lens) {
        for (size_t i = 0; i < l->n_inbox; i++) {
            frames [i] = l->inbox [i].wire;
            lens [i] = l->inbox [i].len;
        }
        s_ingest_frames (l, frames, lens, l->inbox, l->n_inbox);
    }
    free (frames);
    free (lens);
    for (size_t i = 0; i < l->n_inbox; i++)
        free (l->inbox [i].wire);
    l->n_inbox = 0;
}

void
gossip_on_push (gossip_link_t *l, const Hearth__GossipEvents *ev)
{
    for (size_t i = 0; i < ev->n_events; i++) {
        if (HEARTH_VEC_GROW (l->inbox, l->cap_inbox, l->n_inbox + 1, 64))
            return;                         /* dropped; reconciliation repairs */
        gossip_held_t *h = &l->inbox [l->n_inbox];
        h->wire = (uint8_t *) malloc (ev->events [i].len + 1);
        if (!h->wire)
            return;
        memcpy (h->wire, ev->events [i].data, ev->events [i].len);
        h->len = ev->events [i].len;
        h->lamport = 0;
        h->decoded = 0;
        l->n_inbox++;
    }
}

static int
s_held_cmp (const void *a, const void *b)
{
    uint64_t x = ((const gossip_held_t *) a)->lamport, y = ((const gossip_held_t *) b)->lamport;
    return x < y? -1: x > y;
}

/*  Store the held events in lamport order. */
void
gossip_held_flush (gossip_link_t *l)
{
    if (l->n_held == 0)
        return;
    qsort (l->held, l->n_held, sizeof *l->held, s_held_cmp);
    const uint8_t **frames = (const uint8_t **) malloc (l->n_held * sizeof *frames);
    size_t *lens = (size_t *) malloc (l->n_held * sizeof *lens);
    if (frames && lens) {
        for (size_t i = 0; i < l->n_held; i++) {
            frames [i] = l->held [i].wire;
            lens [i] = l->held [i].len;
        }
        s_ingest_frames (l, frames, lens, l->held, l->n_held);
    }
    free (frames);
    free (lens);
    size_t bytes = l->held_bytes;
    gossip_link_held_free (l);
    if (bytes >= GOSSIP_RELEASE_BYTES)
        hearth_memory_release ();           /* a wave of a join: hand the freed heap back */
}

/*  len bytes in the link's hold blocks (a new block when the last one is
    full), or NULL if out of memory or len exceeds a block. Freed with the
    blocks by gossip_link_held_free. */
static uint8_t *
s_hold_alloc (gossip_link_t *l, size_t len)
{
    if (len > GOSSIP_HOLD_BLOCK_BYTES)
        return NULL;
    if (l->n_hold_blocks == 0 || GOSSIP_HOLD_BLOCK_BYTES - l->hold_block_used < len) {
        if (HEARTH_VEC_GROW (l->hold_blocks, l->cap_hold_blocks, l->n_hold_blocks + 1, 16))
            return NULL;
        uint8_t *block = (uint8_t *) malloc (GOSSIP_HOLD_BLOCK_BYTES);
        if (!block)
            return NULL;
        l->hold_blocks [l->n_hold_blocks++] = block;
        l->hold_block_used = 0;
    }
    uint8_t *p = l->hold_blocks [l->n_hold_blocks - 1] + l->hold_block_used;
    l->hold_block_used += len;
    return p;
}

/*  Hold one fetched event (copied); events that do not decode are held at
    lamport 0 and refused (and counted) by the log. */
void
gossip_hold (gossip_link_t *l, const uint8_t *wire, size_t len)
{
    if (HEARTH_VEC_GROW (l->held, l->cap_held, l->n_held + 1, 256))
        return;                             /* dropped; reconciliation fetches it again */
    gossip_held_t *h = &l->held [l->n_held];
    h->wire = s_hold_alloc (l, len);
    if (!h->wire)
        return;                             /* dropped; reconciliation fetches it again */
    memcpy (h->wire, wire, len);
    h->len = len;
    event_reject_t reason;
    event_t *ev = event_decode (wire, len, &reason);
    h->lamport = ev? event_lamport (ev): 0;
    h->decoded = ev != NULL;
    if (ev) {
        memcpy (h->hash, event_hash (ev), HEARTH_HASH_BYTES);
        gossip_want_in_hand (l->owner->want, h->hash);  /* nobody is asked for it again */
    }
    event_destroy (&ev);
    l->n_held++;
    l->held_bytes += len;
}
