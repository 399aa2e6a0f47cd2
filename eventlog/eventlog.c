/*  eventlog.c — the event log for its owner: the community (create,
    adopt), the local append path, the views (register, load, rebuild,
    snapshot on demand, the feed of accepted events), repair (recount), the
    fault-injection store, the accept hook and the stats. eventlog.h has
    the contract; eventlog_private.h names the other parts of the log and
    the invariants of the whole.

    Invariants (this file's share):
      - A local append runs the checks a received event gets (membership,
        type rules, the (author, event_id) conflict) and is acknowledged
        only after its synced write; state and views move after it.
      - Views see every accepted event once, after its batch is stored,
        and only once they are loaded (eventlog_views_load).
    Threads: the caller's thread only.
*/
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <rocksdb/c.h>
#include <sodium.h>
#include "eventlog_private.h"
#include "lamport.h"
#include "hearth_error.h"
#include "hearth_log.h"
#include "hearth_memory.h"

#define S_LOG "eventlog"

/* ---- views ----------------------------------------------------------------- */

void
eventlog_views_feed (eventlog_t *self, const event_t *ev)
{
    if (!self->views_loaded)
        return;
    uint32_t bit = 1u << event_type (ev);
    for (size_t v = 0; v < self->n_views; v++) {
        eventlog_view_t *view = &self->views [v];
        if (!(view->types & bit) || !view->apply)
            continue;
        int rc = view->apply (view->ctx, ev);
        if (rc) {
            self->stats.view_errors++;
            hearth_log_limited (HEARTH_LOG_WARN, S_LOG, "view.apply",
                                "view %s failed to apply %s: %s", view->name, event_id (ev),
                                hearth_strerror (rc));
        }
    }
}

/* ---- community ------------------------------------------------------------- */

const uint8_t *
eventlog_community_id (const eventlog_t *self)
{
    return self->has_community? self->community: NULL;
}

const membership_t *
eventlog_membership (const eventlog_t *self)
{
    return self->members;
}

/*  Map a membership verdict to the error a local caller sees. */
static int
s_reject_error (event_reject_t r)
{
    switch (r) {
        case EVENT_REJECT_NONE:    return 0;
        case EVENT_REJECT_REVOKED: return HEARTH_EREVOKED;
        case EVENT_REJECT_LAMPORT: return HEARTH_ELAMPORT;
        case EVENT_REJECT_CONFLICT: return HEARTH_ECONFLICT;
        default:                   return HEARTH_EUNAUTHORIZED;
    }
}

/*  The local append path; write_community adds meta "community". */
static int
s_append_local (eventlog_t *self, const identity_t *author, Hearth__Event *draft, uint64_t now_ms,
                event_t **out, int write_community)
{
    if (out)
        *out = NULL;
    uint64_t lamport;
    if (lamport_next (self->clock, &lamport) != 0)
        return HEARTH_ELAMPORT;
    char id [ULID_SIZE];
    uint8_t rnd [10];
    randombytes_buf (rnd, sizeof rnd);
    if (ulid_gen_next (&self->ulid, now_ms, rnd, id) != 0)
        return HEARTH_EINVAL;

    /*  Fill the envelope, sign, and give the caller's draft back unchanged. */
    Hearth__Event saved = *draft;
    draft->schema_version = 1;
    draft->event_id = id;
    draft->lamport = lamport;
    draft->wall_clock_ms = now_ms;
    draft->community_id.data = self->community;
    draft->community_id.len = HEARTH_KEY_BYTES;
    draft->author.data = (uint8_t *) identity_public_key (author);
    draft->author.len = HEARTH_KEY_BYTES;
    int rc;
    event_t *ev = event_sign (draft, author, &rc);
    draft->schema_version = saved.schema_version;
    draft->event_id = saved.event_id;
    draft->lamport = saved.lamport;
    draft->wall_clock_ms = saved.wall_clock_ms;
    draft->community_id = saved.community_id;
    draft->author = saved.author;
    if (!ev)
        return rc;

    /*  The checks a received event gets. */
    rc = s_reject_error (membership_check (self->members, ev));
    uint8_t ikey [EVENTLOG_IDS_KEY_LEN];
    if (rc == 0 && eventlog_exists (self, EVENTLOG_CF_IDS, ikey, eventlog_ids_key (ev, ikey)))
        rc = HEARTH_ECONFLICT;
    if (rc) {
        event_destroy (&ev);
        return rc;
    }

    uint64_t counts [EVENT_TYPE_COUNT];
    memcpy (counts, self->stats.events_by_type, sizeof counts);
    counts [event_type (ev)]++;
    rocksdb_writebatch_t *batch = self->batch;
    rocksdb_writebatch_clear (batch);
    eventlog_batch_event (self, batch, ev, self->seq + 1);
    eventlog_batch_meta (self, batch, lamport, self->seq + 1, counts);
    if (write_community)
        rocksdb_writebatch_put_cf (batch, self->cf [EVENTLOG_CF_META], EVENTLOG_META_COMMUNITY,
                                   strlen (EVENTLOG_META_COMMUNITY), (const char *) self->community,
                                   HEARTH_KEY_BYTES);
    rc = eventlog_write (self, batch);
    rocksdb_writebatch_clear (batch);
    if (rc) {
        event_destroy (&ev);
        return rc;
    }
    self->clock = lamport;
    self->seq++;
    eventlog_mark_synced (self, self->seq);
    memcpy (self->stats.events_by_type, counts, sizeof counts);
    self->stats.events_total++;
    self->stats.appended_local++;
    self->stats.lamport_head = self->clock;
    self->stats.seq = self->seq;
    self->since_snapshot++;
    if (membership_apply (self->members, ev) != 0)
        hlog_error (S_LOG, "membership over capacity applying %s", event_id (ev));
    eventlog_views_feed (self, ev);
    if (self->accept_fn)
        self->accept_fn (self->accept_arg, ev, NULL);
    eventlog_maybe_snapshot (self);
    if (out)
        *out = ev;
    else
        event_destroy (&ev);
    return 0;
}

int
eventlog_community_create (eventlog_t *self, const identity_t *root, const char *name, uint64_t now_ms)
{
    if (self->has_community) {
        hlog_error (S_LOG, "this event log already holds a community");
        return HEARTH_EEXISTS;
    }
    /*  The root's own key names the community; the rule "community.created
        by the community key makes it ANCHOR" makes it a member. */
    memcpy (self->community, identity_public_key (root), HEARTH_KEY_BYTES);
    self->has_community = 1;
    membership_reset (self->members, self->community);

    Hearth__Event draft = HEARTH__EVENT__INIT;
    Hearth__CommunityCreated created = HEARTH__COMMUNITY_CREATED__INIT;
    /*  The default policy recorded in community.created (its fields:
        docs/protocol.md): 1 signature to invite, 3 to demote or revoke,
        members may invite. Recorded only: every change takes one
        signature (docs/architecture.md §9). */
    Hearth__Policy policy = HEARTH__POLICY__INIT;
    policy.min_signatures_to_invite = 1;
    policy.min_signatures_to_demote = 3;
    policy.min_signatures_to_revoke = 3;
    policy.default_member_can_invite = 1;
    created.name = (char *) (name? name: "");
    created.policy = &policy;
    draft.type = HEARTH__EVENT_TYPE__COMMUNITY_CREATED;
    draft.payload_case = HEARTH__EVENT__PAYLOAD_COMMUNITY_CREATED;
    draft.community_created = &created;
    int rc = s_append_local (self, root, &draft, now_ms, NULL, 1);
    if (rc) {
        self->has_community = 0;
        memset (self->community, 0, HEARTH_KEY_BYTES);
        membership_reset (self->members, self->community);
    }
    return rc;
}

int
eventlog_community_adopt (eventlog_t *self, const uint8_t community_id [32])
{
    if (self->has_community)
        return memcmp (self->community, community_id, HEARTH_KEY_BYTES) == 0? 0: HEARTH_EEXISTS;
    rocksdb_writebatch_t *batch = rocksdb_writebatch_create ();
    rocksdb_writebatch_put_cf (batch, self->cf [EVENTLOG_CF_META], EVENTLOG_META_COMMUNITY, strlen (EVENTLOG_META_COMMUNITY),
                               (const char *) community_id, HEARTH_KEY_BYTES);
    int rc = eventlog_write (self, batch);
    rocksdb_writebatch_destroy (batch);
    if (rc == 0) {
        memcpy (self->community, community_id, HEARTH_KEY_BYTES);
        self->has_community = 1;
        rc = eventlog_membership_rebuild (self);
    }
    return rc;
}

int
eventlog_append_local (eventlog_t *self, const identity_t *author, Hearth__Event *draft,
                       uint64_t now_ms, event_t **out)
{
    if (out)
        *out = NULL;
    if (!self->has_community)
        return HEARTH_ENOCOMMUNITY;
    if (!author || !draft)
        return HEARTH_EINVAL;
    return s_append_local (self, author, draft, now_ms, out, 0);
}

/* ---- views API -------------------------------------------------------------- */

int
eventlog_view_register (eventlog_t *self, const eventlog_view_t *view)
{
    if (!view || !view->name || !*view->name || strlen (view->name) > EVENTLOG_VIEW_NAME_MAX || self->views_loaded)
        return HEARTH_EINVAL;
    if (self->n_views >= EVENTLOG_MAX_VIEWS)
        return HEARTH_ECAPACITY;
    for (size_t v = 0; v < self->n_views; v++)
        if (strcmp (self->views [v].name, view->name) == 0)
            return HEARTH_EEXISTS;
    self->views [self->n_views++] = *view;
    return 0;
}

typedef struct {
    uint64_t covered [EVENTLOG_MAX_VIEWS];
} s_views_replay_t;

static int
s_views_replay_fn (eventlog_t *self, const event_t *ev, uint64_t seq, void *arg)
{
    s_views_replay_t *r = (s_views_replay_t *) arg;
    uint32_t bit = 1u << event_type (ev);
    for (size_t v = 0; v < self->n_views; v++) {
        eventlog_view_t *view = &self->views [v];
        if (seq <= r->covered [v] || !(view->types & bit) || !view->apply)
            continue;
        int rc = view->apply (view->ctx, ev);
        if (rc) {
            self->stats.view_errors++;
            hearth_log_limited (HEARTH_LOG_WARN, S_LOG, "view.replay", "view %s failed to apply %s: %s",
                                view->name, event_id (ev), hearth_strerror (rc));
        }
    }
    return 0;
}

int
eventlog_views_load (eventlog_t *self, uint64_t *replayed)
{
    s_views_replay_t r;
    memset (&r, 0, sizeof r);
    uint64_t from = UINT64_MAX;
    for (size_t v = 0; v < self->n_views; v++) {
        int rc = eventlog_view_load (self, v, &r.covered [v]);
        if (rc)
            return rc;
        if (r.covered [v] < from)
            from = r.covered [v];
    }
    self->views_loaded = 1;
    uint64_t count = 0;
    int rc = self->n_views? eventlog_replay_seq (self, from, s_views_replay_fn, &r, &count): 0;
    if (replayed)
        *replayed = count;
    if (rc == 0 && count)
        hlog_info (S_LOG, "views loaded; replayed %llu events after their snapshots",
                   (unsigned long long) count);
    /*  Restoring a large view leaves its snapshot's copies freed but
        resident (docs/performance.md, "Memory handed back after loading
        the views"): hand them back. */
    hearth_memory_release ();
    return rc;
}

int
eventlog_views_snapshot (eventlog_t *self)
{
    return eventlog_snapshot_all (self);
}

typedef struct {
    uint64_t counts [EVENT_TYPE_COUNT];
    uint64_t max_lamport;
} s_recount_t;

static int
s_recount_fn (eventlog_t *self, const event_t *ev, uint64_t seq, void *arg)
{
    (void) self;
    (void) seq;
    s_recount_t *r = (s_recount_t *) arg;
    r->counts [event_type (ev)]++;
    if (event_lamport (ev) > r->max_lamport)
        r->max_lamport = event_lamport (ev);
    return 0;
}

int
eventlog_recount (eventlog_t *self, uint64_t *events)
{
    s_recount_t r;
    memset (&r, 0, sizeof r);
    int rc = eventlog_replay_seq (self, 0, s_recount_fn, &r, NULL);
    if (rc)
        return rc;
    uint64_t total = 0;
    for (int t = 0; t < EVENT_TYPE_COUNT; t++)
        total += r.counts [t];
    *events = total;
    uint64_t clock = self->clock > r.max_lamport? self->clock: r.max_lamport;
    if (memcmp (r.counts, self->stats.events_by_type, sizeof r.counts) == 0 && clock == self->clock)
        return 0;
    hlog_warn (S_LOG, "event counters of %s said %" PRIu64 " events, %" PRIu64 " are stored: "
               "rewriting them", self->db_dir, self->stats.events_total, total);
    rocksdb_writebatch_t *batch = self->batch;
    rocksdb_writebatch_clear (batch);
    eventlog_batch_meta (self, batch, clock, self->seq, r.counts);
    rc = eventlog_write (self, batch);
    rocksdb_writebatch_clear (batch);
    if (rc)
        return rc;
    memcpy (self->stats.events_by_type, r.counts, sizeof r.counts);
    self->stats.events_total = total;
    self->clock = clock;
    self->stats.lamport_head = clock;
    return 0;
}

int
eventlog_store_unchecked (eventlog_t *self, const uint8_t *const *frames, const size_t *lens, size_t n)
{
    event_t **evs = (event_t **) calloc (n + 1, sizeof *evs);
    if (!evs)
        return HEARTH_ENOMEM;
    int rc = 0;
    uint64_t counts [EVENT_TYPE_COUNT];
    memcpy (counts, self->stats.events_by_type, sizeof counts);
    uint64_t clock = self->clock, seq = self->seq;
    rocksdb_writebatch_t *batch = rocksdb_writebatch_create ();
    for (size_t i = 0; i < n && rc == 0; i++) {
        event_reject_t reason;
        evs [i] = event_decode (frames [i], lens [i], &reason);
        if (!evs [i])
            rc = HEARTH_EINVAL;
        else
        if (eventlog_exists (self, EVENTLOG_CF_EVENTS, event_hash (evs [i]), HEARTH_HASH_BYTES))
            rc = HEARTH_EEXISTS;
        else {
            counts [event_type (evs [i])]++;
            clock = lamport_observe (clock, event_lamport (evs [i]));
            eventlog_batch_event (self, batch, evs [i], ++seq);
        }
    }
    if (rc == 0 && n) {
        eventlog_batch_meta (self, batch, clock, seq, counts);
        rc = eventlog_write (self, batch);
    }
    rocksdb_writebatch_destroy (batch);
    if (rc == 0 && n) {
        self->clock = self->stats.lamport_head = clock;
        self->seq = self->stats.seq = seq;
        memcpy (self->stats.events_by_type, counts, sizeof counts);
        self->stats.events_total += n;
        for (size_t i = 0; i < n; i++) {
            membership_apply (self->members, evs [i]);
            if (self->views_loaded)
                eventlog_views_feed (self, evs [i]);
        }
    }
    for (size_t i = 0; i < n; i++)
        event_destroy (&evs [i]);
    free (evs);
    return rc;
}

int
eventlog_views_rebuild (eventlog_t *self)
{
    s_views_replay_t r;
    memset (&r, 0, sizeof r);
    for (size_t v = 0; v < self->n_views; v++)
        if (self->views [v].reset)
            self->views [v].reset (self->views [v].ctx);
    self->views_loaded = 1;
    return eventlog_replay_seq (self, 0, s_views_replay_fn, &r, NULL);
}

/* ---- for the mesh ------------------------------------------------------------ */

void
eventlog_set_accept_hook (eventlog_t *self, eventlog_accept_fn *fn, void *arg)
{
    self->accept_fn = fn;
    self->accept_arg = fn? arg: NULL;
}

const eventlog_stats_t *
eventlog_stats (const eventlog_t *self)
{
    return &self->stats;
}
