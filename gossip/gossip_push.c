/*  gossip_push.c — eager push and lazy push; see gossip.h "Sync".

    Eager push: the log's accept hook records each accepted event; a local
    append goes at once, in full, to every up link, over the out link when
    a peer has both. Lazy push: an event accepted from a link is queued as
    a hash and, GOSSIP_ANNOUNCE_DELAY_MS later, announced to every up link
    except those of its origin key (full events to version-1 peers); an
    announcement of hashes we lack is answered with fetches to the
    announcer, tracked by gossip_want (other announcers, timeouts), but
    for hashes this node refused before (gossip_refused.h): the checks
    against that memory, shared with gossip_sync.c, are here.
    A push or announcement the send queue refuses is dropped and the link
    reconciles instead.
*/
#include <stdlib.h>
#include <string.h>
#include "gossip_internal.h"
#include "hearth_codec.h"
#include "hearth_error.h"
#include "hearth_log.h"
#include "hearth_vec.h"

#define S_LOG "gossip"

/* ---- refused events (gossip_refused.h, docs/sync.md §7.4) ------------------------- */

/*  A refusal for missing membership cannot turn while this count stands
    still. */
uint64_t
gossip_refusal_context (gossip_t *self)
{
    const eventlog_stats_t *st = eventlog_stats (self->log);
    uint64_t n = 0;
    for (int t = HEARTH__EVENT_TYPE__COMMUNITY_CREATED; t <= HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_DEMOTED; t++)
        n += st->events_by_type [t];
    return n;
}

/*  Also counted: a fetch of a remembered one whose backoff has passed
    (refused_retried). */
int
gossip_refusal_skip (gossip_t *self, const uint8_t *hash, uint64_t context, uint64_t now)
{
    if (gossip_refused_skip (self->refused, hash, context, now)) {
        self->stats.refused_skipped++;
        return 1;
    }
    if (gossip_refused_lookup (self->refused, hash) != GOSSIP_REFUSED_NONE)
        self->stats.refused_retried++;
    return 0;
}

/* ---- push ------------------------------------------------------------------------ */

/*  The link to push to for l's key: l itself unless it is inbound and the
    peer also has an up out link. */
static int
s_push_target (gossip_t *self, const gossip_link_t *l)
{
    if (!l->connected)
        return 0;
    if (l->outgoing)
        return 1;
    const gossip_link_t *out = gossip_link_find (self, 1, l->key);
    return !(out && out->connected);
}

/*  True if an event from origin (NULL: a local append) would be pushed to
    at least one link. */
static int
s_has_push_target (gossip_t *self, const gossip_link_t *origin)
{
    for (size_t li = 0; li < self->n_links; li++) {
        const gossip_link_t *l = self->links [li];
        if (s_push_target (self, l)
        && !(origin && memcmp (origin->key, l->key, HEARTH_KEY_BYTES) == 0))
            return 1;
    }
    return 0;
}

static int
s_on_announce_timer (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    gossip_t *self = (gossip_t *) arg;
    self->announce_timer = -1;              /* one-shot: zloop has dropped it */
    gossip_flush_announce (self);
    return 0;
}

/*  Arm the one-shot announce timer for when the oldest queued hash is due. */
static void
s_announce_arm (gossip_t *self)
{
    if (self->announce_timer >= 0 || self->n_announce == 0)
        return;
    uint64_t age = hearth_mono_ms () - self->announce [0].queued_mono;
    size_t delay = age < GOSSIP_ANNOUNCE_DELAY_MS? (size_t) (GOSSIP_ANNOUNCE_DELAY_MS - age): 1;
    self->announce_timer = zloop_timer (self->loop, delay, 1, s_on_announce_timer, self);
    /*  On failure (-1) the tick flushes instead. */
}

/*  Queue a received event's hash for announcement, unless no up link
    would get it (a link that comes up later reconciles on its handshake).
    A full queue drops it and has every link reconcile instead. */
static void
s_announce_queue (gossip_t *self, const uint8_t hash [32], const gossip_link_t *origin)
{
    if (!s_has_push_target (self, origin))
        return;                             /* nobody to announce it to (a join from our only
                                               peer): no entry (docs/performance.md, "Join memory") */
    if (self->n_announce == self->cap_announce) {
        size_t cap = self->cap_announce? self->cap_announce * 2: 256;
        gossip_announce_t *p = cap <= GOSSIP_ANNOUNCE_QUEUE_MAX?
                          (gossip_announce_t *) realloc (self->announce, cap * sizeof *p): NULL;
        if (!p) {
            for (size_t i = 0; i < self->n_links; i++)
                self->links [i]->resync = 1;
            gossip_tick_soon (self);
            hearth_log_limited (HEARTH_LOG_WARN, S_LOG, "announce.full",
                                "announce queue full (%zu hashes): reconciling with every peer instead",
                                self->n_announce);
            return;
        }
        self->announce = p;
        self->cap_announce = cap;
    }
    gossip_announce_t *a = &self->announce [self->n_announce++];
    memcpy (a->hash, hash, HEARTH_HASH_BYTES);
    memcpy (a->origin, origin->key, HEARTH_KEY_BYTES);
    a->queued_mono = hearth_mono_ms ();
    s_announce_arm (self);
}

void
gossip_accept_hook (void *arg, const event_t *ev, const void *origin)
{
    gossip_t *self = (gossip_t *) arg;
    int rc = negentropy_store_insert (self->store, event_lamport (ev), event_hash (ev));
    if (rc == 0) {
        if (self->encoder)                  /* none with reconcile = v1 */
            riblt_encoder_add (self->encoder, event_hash (ev));  /* once per id: never for a duplicate */
    }
    else
    if (rc != HEARTH_EDUPLICATE) {
        hlog_error (S_LOG, "reconciliation store insert failed: %s", hearth_strerror (rc));
        self->store_stale = 1;              /* the log has an item the store lacks */
    }
    gossip_want_arrived (self->want, event_hash (ev));
    gossip_refused_forget (self->refused, event_hash (ev));   /* refused once, stored now */
    /*  Membership changed: an event that may narrow who may talk re-checks
        every link before anything else is sent (this event's own push
        included); an invite only widens it, so the tick does. */
    Hearth__EventType type = event_body (ev)->type;
    if (type == HEARTH__EVENT_TYPE__COMMUNITY_CREATED || type == HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_JOINED
    ||  type == HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_REVOKED
    ||  type == HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_DEMOTED
    ||  type == HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_PROMOTED) {
        /*  A revocation takes effect on the signature that completes it
            (an endorsement, or a demotion that lowers the cap): whichever
            signature arrives, the links are checked at once. */
        const Hearth__MemberChange *change = event_body (ev)->member_change;
        const char *by = change? membership_revoked_by (eventlog_membership (self->log),
                                                        change->target.data): NULL;
        if (by && strcmp (by, event_id (ev)) == 0) {
            char who [HEARTH_SHORT_ID_SIZE];
            hearth_short_id_format (change->target.data, who);
            hlog_info (S_LOG, "revocation of %s took effect (signature %s): closing its links", who, by);
        }
        gossip_links_recheck (self);
        gossip_tick_soon (self);            /* close, dial, promote learned addresses */
    }
    else
    if (type == HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_INVITED) {
        self->recheck_due = 1;
        gossip_tick_soon (self);
    }
    if (origin) {
        /*  Received from a peer: announce it, never forward it in full. */
        s_announce_queue (self, event_hash (ev), (const gossip_link_t *) origin);
        return;
    }
    if (!s_has_push_target (self, NULL))
        return;                             /* no link up: nothing to push to, no copy */
    if (HEARTH_VEC_GROW (self->pending, self->cap_pending, self->n_pending + 1, 64))
        return;                             /* no push; reconciliation repairs */
    size_t len;
    const uint8_t *wire = event_wire (ev, &len);
    gossip_pending_t *p = &self->pending [self->n_pending];
    p->wire = (uint8_t *) malloc (len);
    if (!p->wire)
        return;
    memcpy (p->wire, wire, len);
    p->len = len;
    self->n_pending++;
    if (!self->in_ingest)
        gossip_flush_pending (self);             /* a local append: push at once */
}

void
gossip_flush_pending (gossip_t *self)
{
    if (self->n_pending == 0)
        return;
    for (size_t li = 0; li < self->n_links; li++) {
        gossip_link_t *l = self->links [li];
        if (!s_push_target (self, l))
            continue;
        gossip_batch_t batch;
        gossip_batch_init (&batch, l, 1, 0, 0);
        int failed = 0;
        for (size_t i = 0; i < self->n_pending; i++)
            failed |= gossip_batch_add (&batch, self->pending [i].wire, self->pending [i].len) != 0;
        failed |= gossip_batch_send (&batch, 0) != 0;
        l->events_pushed += batch.sent;
        self->stats.events_pushed += batch.sent;
        if (failed) {
            l->resync = 1;                  /* a frame dropped: reconcile when idle */
            gossip_tick_soon (self);
        }
    }
    for (size_t i = 0; i < self->n_pending; i++)
        free (self->pending [i].wire);
    self->n_pending = 0;
}

/*  Announce the first `due` queued hashes to l, except those that came
    from l's key, in frames of up to GOSSIP_WIRE_MAX_ANNOUNCE. A refused
    send drops the rest for l, which then reconciles. */
static void
s_announce_to (gossip_link_t *l, size_t due)
{
    gossip_t *self = l->owner;
    ProtobufCBinaryData hashes [GOSSIP_WIRE_MAX_ANNOUNCE];
    size_t n = 0;
    for (size_t i = 0; i <= due; i++) {
        const gossip_announce_t *a = i < due? &self->announce [i]: NULL;
        if ((!a && n > 0) || n == GOSSIP_WIRE_MAX_ANNOUNCE) {
            Hearth__GossipAnnounce an = HEARTH__GOSSIP_ANNOUNCE__INIT;
            an.hashes = hashes;
            an.n_hashes = n;
            Hearth__GossipMessage m = HEARTH__GOSSIP_MESSAGE__INIT;
            m.body_case = HEARTH__GOSSIP_MESSAGE__BODY_ANNOUNCE;
            m.announce = &an;
            if (gossip_link_send (l, &m) != 0) {
                l->resync = 1;              /* dropped: reconcile when idle */
                gossip_tick_soon (self);
                return;
            }
            gossip_budget_owe (self->budget, l->key, n, hearth_mono_ms ());   /* it may fetch them */
            self->stats.announce_sent += n;
            n = 0;
        }
        if (!a || memcmp (a->origin, l->key, HEARTH_KEY_BYTES) == 0)
            continue;
        hashes [n].data = (uint8_t *) a->hash;
        hashes [n].len = HEARTH_HASH_BYTES;
        n++;
    }
}

/*  A version-1 peer knows no announcements: push it the first `due` queued
    events in full (read back from the log), except those from its key. */
static void
s_announce_to_v1 (gossip_link_t *l, size_t due)
{
    gossip_t *self = l->owner;
    gossip_batch_t batch;
    gossip_batch_init (&batch, l, 1, 0, 1);
    int rc = 0;
    for (size_t i = 0; i < due && rc == 0; i++) {
        const gossip_announce_t *a = &self->announce [i];
        uint8_t *wire;
        size_t len;
        if (memcmp (a->origin, l->key, HEARTH_KEY_BYTES) == 0
        ||  eventlog_get_wire (self->log, a->hash, &wire, &len) != 0)
            continue;
        rc = gossip_batch_add (&batch, wire, len);
    }
    if (rc == 0)
        rc = gossip_batch_send (&batch, 0);
    gossip_batch_drop (&batch);
    l->events_pushed += batch.sent;
    self->stats.events_pushed += batch.sent;
    if (rc != 0) {
        l->resync = 1;
        gossip_tick_soon (self);
    }
}

/*  Announce the queued hashes that have waited GOSSIP_ANNOUNCE_DELAY_MS to
    every up link (one per peer key), then re-arm for the rest. */
void
gossip_flush_announce (gossip_t *self)
{
    uint64_t now = hearth_mono_ms ();
    size_t due = 0;
    while (due < self->n_announce && now - self->announce [due].queued_mono >= GOSSIP_ANNOUNCE_DELAY_MS)
        due++;
    if (due > 0) {
        for (size_t li = 0; li < self->n_links; li++) {
            gossip_link_t *l = self->links [li];
            if (!s_push_target (self, l))
                continue;
            if (l->peer_version && l->peer_version < GOSSIP_WIRE_VERSION_ANNOUNCE)
                s_announce_to_v1 (l, due);
            else
                s_announce_to (l, due);
        }
        memmove (self->announce, self->announce + due, (self->n_announce - due) * sizeof *self->announce);
        self->n_announce -= due;
    }
    s_announce_arm (self);
}

/*  Ask l for the announced hashes queued for it: fetches of up to
    GOSSIP_FETCH_BATCH, at most GOSSIP_ANNOUNCE_FETCH_WINDOW outstanding. */
void
gossip_pump_want (gossip_link_t *l)
{
    gossip_t *self = l->owner;
    if (!l->connected || gossip_want_queued (self->want, l->want_peer) == 0)
        return;
    uint8_t hashes [GOSSIP_FETCH_BATCH * HEARTH_HASH_BYTES];
    ProtobufCBinaryData bins [GOSSIP_FETCH_BATCH];
    for (;;) {
        uint64_t id = self->next_id + 1;
        uint64_t now = hearth_mono_ms ();
        size_t n = gossip_want_take (self->want, l->want_peer, id, now, hashes, GOSSIP_FETCH_BATCH);
        if (n == 0)
            return;
        self->next_id = id;
        for (size_t i = 0; i < n; i++) {
            bins [i].data = hashes + i * HEARTH_HASH_BYTES;
            bins [i].len = HEARTH_HASH_BYTES;
        }
        Hearth__GossipFetch f = HEARTH__GOSSIP_FETCH__INIT;
        f.hashes = bins;
        f.n_hashes = n;
        f.request_id = id;
        Hearth__GossipMessage m = HEARTH__GOSSIP_MESSAGE__INIT;
        m.body_case = HEARTH__GOSSIP_MESSAGE__BODY_FETCH;
        m.fetch = &f;
        if (gossip_link_send (l, &m) != 0) {
            /*  Queue full: close the request at once, so its hashes go to
                another announcer (or l reconciles, the tick sees to it). */
            gossip_want_answered (self->want, l->want_peer, id, 1, now);
            return;
        }
        self->stats.announce_requested += n;
    }
}

/*  An announcement: track the hashes we lack (the first
    GOSSIP_WIRE_MAX_ANNOUNCE; the rest, and any over the pending limits,
    are counted as dropped and l is reconciled with instead) and ask l. */
void
gossip_on_announce (gossip_link_t *l, const Hearth__GossipAnnounce *a)
{
    gossip_t *self = l->owner;
    size_t n = a->n_hashes;
    self->stats.announce_received += n;
    if (n > GOSSIP_WIRE_MAX_ANNOUNCE) {
        self->stats.announce_dropped += n - GOSSIP_WIRE_MAX_ANNOUNCE;
        hearth_log_limited (HEARTH_LOG_WARN, S_LOG, "announce.long",
                            "%s announced %zu hashes in one frame; using the first %d",
                            l->short_id, n, GOSSIP_WIRE_MAX_ANNOUNCE);
        n = GOSSIP_WIRE_MAX_ANNOUNCE;
    }
    size_t dropped = 0;
    uint64_t now = hearth_mono_ms (), context = gossip_refusal_context (self);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *h = a->hashes [i].data;
        if (eventlog_has_hash (self->log, h) == 1)
            continue;
        if (gossip_refusal_skip (self, h, context, now))
            continue;                       /* refused before: not asked for again */
        if (gossip_want_announce (self->want, l->want_peer, h) < 0)
            dropped++;
    }
    if (dropped) {
        self->stats.announce_dropped += dropped;
        l->resync = 1;                      /* reconciliation finds what we could not track */
        hearth_log_limited (HEARTH_LOG_WARN, S_LOG, "announce.full",
                            "%zu announced hashes from %s over the pending limits; reconciling instead",
                            dropped, l->short_id);
    }
    gossip_pump_want (l);
}
