/*  gossip_sync.c — anti-entropy: reconciliation sessions (Negentropy v1 or
    the rateless IBLT mode, gossip_session.h) as initiator and responder,
    and their receiver-paced transfers; see gossip_internal.h and
    docs/sync.md.

    The initiator sends neg_open, the other side answers as responder;
    after each round the initiator pushes the new "have" events and
    requests "need" hashes, at most GOSSIP_FETCH_WINDOW fetches outstanding,
    the next one sent when a fetch's last frame arrives (receiver-paced).
    Fetched events go to the reorder window (gossip_hold.c). As responder,
    a node answers a peer's reconciliation messages and fetches within
    that peer's budget (gossip_budget.h); over it they wait, held on the
    link, for the tick.

    Invariants: one initiator and one responder session per link at most;
    a message of a session we no longer hold is ignored.
*/
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "gossip_internal.h"
#include "hearth_error.h"
#include "hearth_log.h"

#define S_LOG "gossip"

/* ---- tuning (named, explained) --------------------------------------------------- */

/*  Negentropy frame limit, the same on both sides (docs/sync.md §5): a
    message fits a gossip frame with room for the envelope. */
#define GOSSIP_NEG_FRAME_LIMIT      (GOSSIP_MAX_FRAME_BYTES - 4096)
/*  A session's "have" events are pushed when there are at most this many
    (a partition's worth); beyond, the peer is asked to initiate and pull
    them itself, receiver-paced. */
#define GOSSIP_PUSH_HAVE_MAX        4096
/*  A session stops asking once it has found this many missing ids (1 MiB
    of ids); after they are fetched a new session finds the next ones. Keeps
    an empty node joining a big community from holding every id at once.
    Against 65,536: the same join time and CPU, a lower peak
    (docs/performance.md, "An empty node joining"). */
#define GOSSIP_NEED_MAX             32768
/*  A session after a (re)connect starts in Negentropy v1, which finds a
    partition's differences (all at the head of the order) in 1-2 round
    trips for ~32 B each. If its first answer shows at least this many
    differing ranges in the older 15/16 of the order (there are 240 such
    ranges, 1/256 of the set each), the differences are old events missing
    at scattered places, for which v1 pays ~1.3 kB each and the rateless
    mode ~75 B: the session is replaced by a rateless one. At 16 scattered
    differences v1 would still spend ~20 kB, more than the v1 round already
    spent (~2-15 kB) plus the rateless mode's smallest batch (64 symbols,
    ~2.7 kB). docs/decisions/0012-reconnect-switches-to-rateless.md. */
#define GOSSIP_SCATTERED_RANGES     16
/*  ...unless the newest items themselves (the opening's last IdList, up to
    31 ids) already show this many differing ids: a partition's new events
    (which v1 sends for ~32 B each), or sets that share little, where v1's
    id lists cost no more than the rateless symbols. Scattered old gaps
    hardly ever hit the newest 31 items. */
#define GOSSIP_HEAD_IDS_MAX         16

/* ---- initiator ------------------------------------------------------------------- */

/*  gossip_refusal_skip, and also skip what l's sweep saw refused. */
static int
s_refusal_skip_need (gossip_link_t *l, const uint8_t *hash, uint64_t context, uint64_t now)
{
    gossip_t *self = l->owner;
    if (l->sweep && gossip_sweep_contains (l->sweep, hash)) {
        self->stats.refused_skipped++;
        return 1;
    }
    return gossip_refusal_skip (self, hash, context, now);
}
/*  Start a session for `why` on an up link unless one runs: v1 for
    repairs, for a peer that declined the rateless mode before and with
    cfg.reconcile v1; otherwise as GOSSIP_RECONCILE_AUTO / _RATELESS say. */
void
gossip_sync_start (gossip_link_t *l, gossip_sync_reason_t why)
{
    gossip_t *self = l->owner;
    if (!l->connected || l->init)
        return;
    gossip_session_mode_t mode = GOSSIP_SESSION_V1;
    int probe = 0;
    if (self->encoder && !l->riblt_declined && why != GOSSIP_SYNC_REPAIR) {
        if (why != GOSSIP_SYNC_CONNECT || self->cfg.reconcile == GOSSIP_RECONCILE_RATELESS)
            mode = GOSSIP_SESSION_RIBLT;
        else
            probe = 1;                      /* v1 first, rateless if scattered */
    }
    l->resync = 0;
    if (l->sweep_over) {
        gossip_sweep_destroy (&l->sweep);   /* the last session found every missing id */
        l->sweep_over = 0;
    }
    l->init_capped = 0;
    const uint8_t *msg;
    size_t size;
    l->init = gossip_session_initiate (mode, self->store, self->encoder, GOSSIP_NEG_FRAME_LIMIT, &msg, &size);
    if (!l->init) {
        l->resync = 1;
        return;
    }
    l->init_session = ++self->next_id;
    l->init_probe = probe;
    l->init_done = 0;
    l->have_sent = l->need_sent = 0;
    l->need_seen = l->need_fresh = 0;
    l->n_fetch = 0;
    l->init_progress_mono = hearth_mono_ms ();
    if (gossip_link_send_neg_held (l, 0, HEARTH__GOSSIP_MESSAGE__BODY_NEG_OPEN, msg, size,
                                   l->init_session) != 0) {
        gossip_session_destroy (&l->init);
        l->resync = 1;
    }
}

/*  Abandon the initiator session and its transfers; reconcile again later. */
void
gossip_sync_abandon (gossip_link_t *l, const char *why)
{
    hearth_log_limited (HEARTH_LOG_WARN, S_LOG, "session.abandon",
                        "reconciliation with %s abandoned: %s", l->short_id, why);
    gossip_held_flush (l);
    gossip_session_destroy (&l->init);
    l->n_fetch = 0;
    l->resync = 1;
}

/*  Push the session's new "have" events, paced by the send queue. */
static void
s_pump_have (gossip_link_t *l)
{
    gossip_t *self = l->owner;
    if (!l->init_done)
        return;                             /* decided at the end: push or let the peer pull */
    size_t n_have;
    const uint8_t *have = gossip_session_have_ids (l->init, &n_have);
    gossip_batch_t b;
    gossip_batch_init (&b, l, 1, 0, 1);
    size_t next = l->have_sent;
    for (; next < n_have; next++) {
        uint8_t *wire;
        size_t len;
        if (eventlog_get_wire (self->log, have + next * 32, &wire, &len) != 0)
            continue;                       /* cannot happen for our own ids; skip */
        if (gossip_batch_add (&b, wire, len) != 0)
            break;                          /* queue full: the tick resumes from the unsent frame */
        if (b.n == 1)
            l->have_sent = next;            /* a new frame: everything before it is sent */
    }
    if (next == n_have && gossip_batch_send (&b, 0) == 0)
        l->have_sent = n_have;
    gossip_batch_drop (&b);
    l->events_pushed += b.sent;
    self->stats.events_pushed += b.sent;
    if (b.sent)
        l->init_progress_mono = hearth_mono_ms ();
}

/*  Request the session's "need" hashes, at most GOSSIP_FETCH_WINDOW fetches
    outstanding. */
static void
s_pump_need (gossip_link_t *l)
{
    gossip_t *self = l->owner;
    size_t n_need;
    const uint8_t *need = gossip_session_need_ids (l->init, &n_need);
    uint64_t now = hearth_mono_ms (), context = gossip_refusal_context (self);
    while (l->n_fetch < GOSSIP_FETCH_WINDOW && l->need_sent < n_need) {
        ProtobufCBinaryData hashes [GOSSIP_FETCH_BATCH];
        size_t n = 0, next = l->need_sent;
        while (next < n_need && n < GOSSIP_FETCH_BATCH) {
            const uint8_t *h = need + next * 32;
            next++;
            if (eventlog_has_hash (self->log, h) == 1 || gossip_want_requested (self->want, h))
                continue;                   /* arrived meanwhile, or asked of a peer already */
            if (s_refusal_skip_need (l, h, context, now))
                continue;                   /* refused before: takes no place in the window */
            hashes [n].data = (uint8_t *) h;
            hashes [n].len = 32;
            n++;
        }
        if (n == 0) {
            l->need_sent = next;
            continue;
        }
        Hearth__GossipFetch f = HEARTH__GOSSIP_FETCH__INIT;
        f.hashes = hashes;
        f.n_hashes = n;
        f.request_id = ++self->next_id;
        Hearth__GossipMessage m = HEARTH__GOSSIP_MESSAGE__INIT;
        m.body_case = HEARTH__GOSSIP_MESSAGE__BODY_FETCH;
        m.fetch = &f;
        if (gossip_link_send (l, &m) != 0)
            return;                         /* queue full: the tick resumes */
        /*  On their way from l: other sessions and announcements skip
            them; unanswered, they move on like announced ones. */
        for (size_t i = 0; i < n; i++)
            gossip_want_claim (self->want, l->want_peer, f.request_id, now, hashes [i].data);
        l->need_sent = next;
        l->fetch [l->n_fetch].id = f.request_id;
        l->fetch [l->n_fetch].sent_mono = hearth_mono_ms ();
        l->n_fetch++;
    }
}

/*  Move the initiator's transfers on; end the session when all is done. */
void
gossip_sync_pump (gossip_link_t *l)
{
    if (!l->init || !l->connected)
        return;
    s_pump_have (l);
    s_pump_need (l);
    size_t n_have, n_need;
    gossip_session_have_ids (l->init, &n_have);
    gossip_session_need_ids (l->init, &n_need);
    if (l->init_done && l->have_sent == n_have && l->need_sent == n_need && l->n_fetch == 0)
        gossip_session_destroy (&l->init);
}

void
gossip_on_neg_reply (gossip_link_t *l, const Hearth__GossipNeg *n)
{
    gossip_t *self = l->owner;
    if (!l->init || l->init_done || n->session != l->init_session)
        return;                             /* stale: a session we ended */
    if (n->msg.len == 0) {                  /* the peer could not answer: again later */
        gossip_sync_abandon (l, "the peer could not answer");
        return;
    }
    gossip_count_neg (self, n->msg.data, n->msg.len);
    self->stats.reconcile_round_trips++;
    const uint8_t *reply;
    size_t size;
    int rc = gossip_session_reconcile (l->init, n->msg.data, n->msg.len, &reply, &size);
    if (rc != 0 && gossip_session_mode (l->init) == GOSSIP_SESSION_RIBLT
    &&  (rc == HEARTH_ESCHEMA || rc == HEARTH_ECAPACITY)) {
        /*  v1-only peer, or a difference too large for the rateless mode. */
        l->riblt_declined |= rc == HEARTH_ESCHEMA;
        self->stats.reconcile_fallbacks++;
        gossip_session_destroy (&l->init);
        gossip_sync_start (l, GOSSIP_SYNC_REPAIR);
        return;
    }
    if (rc != 0) {
        if (!gossip_store_trouble (self, rc))
            self->stats.frames_dropped++;
        gossip_sync_abandon (l, hearth_strerror (rc));
        return;
    }
    l->init_progress_mono = hearth_mono_ms ();
    if (l->init_probe) {
        /*  The first answer to a (re)connect's v1 opening: differences
            scattered over the older part of the order, with a head that
            hardly differs, go to the rateless mode (what v1 found so far
            is found again there). */
        l->init_probe = 0;
        uint64_t old_ranges, head_ids;
        gossip_session_spread (l->init, &old_ranges, &head_ids);
        if (reply && old_ranges >= GOSSIP_SCATTERED_RANGES && head_ids < GOSSIP_HEAD_IDS_MAX) {
            self->stats.reconcile_switches++;
            gossip_session_destroy (&l->init);
            gossip_sync_start (l, GOSSIP_SYNC_SCATTERED);
            return;
        }
    }
    /*  The cap counts only ids not refused before: known refusals are not
        fetched, so a peer holding many below valid events cannot fill every
        session with them (the session holds at most GOSSIP_REFUSED_MAX of
        those besides). */
    size_t n_need;
    const uint8_t *need = gossip_session_need_ids (l->init, &n_need);
    uint64_t now = hearth_mono_ms (), context = gossip_refusal_context (self);
    for (; l->need_seen < n_need; l->need_seen++) {
        const uint8_t *h = need + l->need_seen * 32;
        l->need_fresh += !gossip_refused_skip (self->refused, h, context, now)
                      && !(l->sweep && gossip_sweep_contains (l->sweep, h));
    }
    if (reply && l->need_fresh >= GOSSIP_NEED_MAX && gossip_session_mode (l->init) == GOSSIP_SESSION_V1) {
        reply = NULL;                       /* enough for now: fetch, then a new session */
        l->resync = 1;
        l->init_capped = 1;
        if (!l->sweep) {
            /*  The next session finds the same ids first: what these
                fetches see refused is remembered for the whole run of
                capped sessions, beyond what self->refused holds. */
            uint8_t key [16];
            randombytes_buf (key, sizeof key);
            l->sweep = gossip_sweep_new (GOSSIP_SWEEP_BITS, key);
            l->sweep_context = context;
            l->sweep_born = now;
            self->stats.refused_sweeps += l->sweep != NULL;
        }
    }
    if (reply) {
        if (gossip_link_send_neg_held (l, 0, HEARTH__GOSSIP_MESSAGE__BODY_NEG_MSG, reply, size,
                                       l->init_session) != 0) {
            gossip_sync_abandon (l, "out of memory");
            return;
        }
    }
    else {
        /*  Few "have" events: push them. Many (the peer is far behind):
            ask it to initiate and pull them at its own pace. */
        size_t n_have;
        gossip_session_have_ids (l->init, &n_have);
        Hearth__GossipNegDone d = HEARTH__GOSSIP_NEG_DONE__INIT;
        d.session = l->init_session;
        if (n_have > GOSSIP_PUSH_HAVE_MAX) {
            d.you_lack = n_have;
            l->have_sent = n_have;
        }
        Hearth__GossipMessage m = HEARTH__GOSSIP_MESSAGE__INIT;
        m.body_case = HEARTH__GOSSIP_MESSAGE__BODY_NEG_DONE;
        m.neg_done = &d;
        gossip_link_send (l, &m);           /* best effort: the responder also frees on the next open */
        l->init_done = 1;
        if (l->sweep && !l->init_capped) {
            /*  The run reached the end of the missing ids. If membership
                changed meanwhile (a join), what it skipped for missing
                membership may pass now: the next session goes at once,
                without the sweep. Else the sweep stays for later runs
                (what it holds beyond self->refused is not fetched again)
                until it is GOSSIP_REFUSED_RETRY_MAX_MS old. */
            if (gossip_refusal_context (self) != l->sweep_context) {
                l->sweep_over = 1;
                l->resync = 1;
            }
            else
            if (gossip_sweep_count (l->sweep) == 0 || now - l->sweep_born >= GOSSIP_REFUSED_RETRY_MAX_MS)
                l->sweep_over = 1;          /* nothing refused (a catch-up), or old */
        }
        self->stats.reconcile_rounds++;
        self->stats.reconcile_rateless += gossip_session_mode (l->init) == GOSSIP_SESSION_RIBLT;
        self->stats.last_sync_ms = hearth_now_ms ();
    }
    gossip_sync_pump (l);
}

void
gossip_on_events (gossip_link_t *l, const Hearth__GossipEvents *ev)
{
    gossip_t *self = l->owner;
    for (size_t i = 0; i < ev->n_events; i++)
        gossip_hold (l, ev->events [i].data, ev->events [i].len);
    self->stats.events_pulled += ev->n_events;
    l->events_pulled += ev->n_events;
    if (l->held_bytes >= GOSSIP_REORDER_BYTES)
        gossip_held_flush (l);
    /*  An answer to a fetch the want table tracks (announced or claimed
        hashes): progress, and on the last frame what it lacked moves to
        another announcer. */
    int announced = gossip_want_answered (self->want, l->want_peer, ev->request_id, ev->last,
                                          hearth_mono_ms ());
    if (!ev->last)
        return;
    if (announced)
        gossip_pump_want (l);                    /* a window slot is free */
    for (size_t i = 0; i < l->n_fetch; i++)
        if (l->fetch [i].id == ev->request_id) {
            l->fetch [i] = l->fetch [--l->n_fetch];
            l->init_progress_mono = hearth_mono_ms ();
            break;
        }
    gossip_sync_pump (l);
    if (l->n_fetch == 0)
        gossip_held_flush (l);                   /* nothing more on its way: store what we have */
}

/* ---- responder ------------------------------------------------------------------- */

/*  Answer one reconciliation message of the peer (its budget allowed it). */
static void
s_neg_serve (gossip_link_t *l, const uint8_t *msg, size_t len, uint64_t session, int open)
{
    gossip_t *self = l->owner;
    if (open) {
        gossip_session_destroy (&l->resp);
        l->resp = gossip_session_respond (msg [0], self->store, self->encoder, GOSSIP_NEG_FRAME_LIMIT);
        l->resp_session = session;
        if (!l->resp)
            return;
    }
    else
    if (!l->resp || session != l->resp_session)
        return;                             /* a session we no longer hold */
    gossip_count_neg (self, msg, len);
    const uint8_t *reply;
    size_t size;
    int rc = gossip_session_reconcile (l->resp, msg, len, &reply, &size);
    if (rc != 0 && gossip_store_trouble (self, rc)) {
        /*  Our fault, not the message's: an empty reply tells the initiator
            to end the session and come back (proto: GossipNeg). */
        static const uint8_t none [1];
        gossip_link_send_neg_held (l, 1, HEARTH__GOSSIP_MESSAGE__BODY_NEG_REPLY, none, 0, l->resp_session);
        gossip_session_destroy (&l->resp);
        return;
    }
    if (rc != 0 || !reply) {
        self->stats.frames_dropped++;
        hearth_log_limited (HEARTH_LOG_WARN, S_LOG, "neg.bad",
                            "bad reconciliation message from %s: %s", l->short_id, hearth_strerror (rc));
        gossip_session_destroy (&l->resp);
        return;
    }
    l->peer_sync_mono = hearth_mono_ms ();
    gossip_budget_set_items (self->budget, negentropy_store_size (self->store));
    gossip_budget_reply (self->budget, l->key, size, l->peer_sync_mono);
    if (gossip_link_send_neg_held (l, 1, HEARTH__GOSSIP_MESSAGE__BODY_NEG_REPLY, reply, size,
                                   l->resp_session) != 0)
        gossip_session_destroy (&l->resp);      /* the initiator times out and retries */
}

/*  The held reconciliation message, if its budget allows it now. */
void
gossip_neg_pump (gossip_link_t *l)
{
    if (!l->neg_held
    ||  gossip_budget_ask (l->owner->budget, l->key, l->neg_held_open? GOSSIP_BUDGET_OPEN: GOSSIP_BUDGET_ROUND,
                           hearth_mono_ms (), NULL) != GOSSIP_BUDGET_GO)
        return;
    uint8_t *msg = l->neg_held;
    l->neg_held = NULL;
    s_neg_serve (l, msg, l->neg_held_len, l->neg_held_session, l->neg_held_open);
    free (msg);
}

/*  A reconciliation message from the peer: answered now if its budget
    allows (gossip_budget.h), else held for the tick; a newer message
    replaces a held one (an honest initiator sends one at a time). */
void
gossip_on_neg (gossip_link_t *l, const Hearth__GossipNeg *n, int open)
{
    gossip_t *self = l->owner;
    if (!open && !(l->resp && n->session == l->resp_session)
    &&  !(l->neg_held && n->session == l->neg_held_session))
        return;                             /* a session we no longer hold */
    if (!l->neg_held
    &&  gossip_budget_ask (self->budget, l->key, open? GOSSIP_BUDGET_OPEN: GOSSIP_BUDGET_ROUND,
                           hearth_mono_ms (), NULL) == GOSSIP_BUDGET_GO) {
        s_neg_serve (l, n->msg.data, n->msg.len, n->session, open);
        return;
    }
    if (l->neg_held) {
        gossip_budget_refused (self->budget, GOSSIP_BUDGET_REASON_SUPERSEDED);
        free (l->neg_held);
    }
    l->neg_held = (uint8_t *) malloc (n->msg.len? n->msg.len: 1);
    if (!l->neg_held)
        return;                             /* the initiator times out and retries */
    memcpy (l->neg_held, n->msg.data, n->msg.len);
    l->neg_held_len = n->msg.len;
    l->neg_held_session = n->session;
    l->neg_held_open = open;
    if (open)
        gossip_session_destroy (&l->resp);  /* the peer has moved on from it */
}

/*  Answer the held fetches in order with the events we have, in frames of
    GOSSIP_BATCH_BYTES, the last frame of each carrying `last`, as far as
    the peer's budget goes (gossip_budget.h): an answer cut by it goes on
    at a later tick. A full queue ends an answer early: the requester's
    timeout redoes the transfer. */
void
gossip_fetch_pump (gossip_link_t *l)
{
    gossip_t *self = l->owner;
    while (l->n_fetch_held > 0) {
        gossip_fetch_held_t *h = &l->fetch_held [0];
        uint64_t now = hearth_mono_ms ();
        if (gossip_budget_ask (self->budget, l->key, GOSSIP_BUDGET_FETCH, now, NULL) != GOSSIP_BUDGET_GO)
            return;
        gossip_batch_t b;
        gossip_batch_init (&b, l, 0, h->request_id, 1);
        int rc = 0, cut = 0;
        while (h->next < h->n && rc == 0) {
            if (!gossip_budget_event_ok (self->budget, l->key, now)) {
                cut = 1;
                break;
            }
            uint8_t *wire;
            size_t len;
            if (eventlog_get_wire (self->log, h->hashes + h->next * 32, &wire, &len) != 0) {
                h->next++;
                continue;
            }
            gossip_budget_event (self->budget, l->key, len, now);
            rc = gossip_batch_add (&b, wire, len);
            h->next++;
        }
        if (rc == 0 && (b.n > 0 || !cut))
            rc = gossip_batch_send (&b, !cut);
        gossip_batch_drop (&b);
        if (cut && rc == 0)
            return;                         /* the rest when the budget allows */
        free (h->hashes);
        memmove (&l->fetch_held [0], &l->fetch_held [1], --l->n_fetch_held * sizeof *h);
    }
}

/*  A fetch from the peer: queued behind the held ones and answered as far
    as its budget goes; beyond GOSSIP_BUDGET_HELD_FETCHES refused unanswered
    (counted; an honest peer never has that many outstanding, and its
    timeout would ask again). */
void
gossip_on_fetch (gossip_link_t *l, const Hearth__GossipFetch *f)
{
    gossip_t *self = l->owner;
    if (l->n_fetch_held == GOSSIP_BUDGET_HELD_FETCHES) {
        gossip_budget_refused (self->budget, GOSSIP_BUDGET_REASON_HELD_FULL);
        return;
    }
    gossip_fetch_held_t *h = &l->fetch_held [l->n_fetch_held];
    h->hashes = (uint8_t *) malloc (f->n_hashes? f->n_hashes * 32: 1);
    if (!h->hashes)
        return;
    h->n = h->next = 0;
    h->request_id = f->request_id;
    for (size_t i = 0; i < f->n_hashes; i++)
        if (f->hashes [i].len == 32)
            memcpy (h->hashes + 32 * h->n++, f->hashes [i].data, 32);
    l->n_fetch_held++;
    gossip_fetch_pump (l);
}
