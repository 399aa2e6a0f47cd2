/*  test_eventlog.c — the event log on a real RocksDB in a temp dir: local
    appends, the receive pipeline and every reject reason, replay, views and
    snapshots, crash consistency, verify threads. The event-log acceptance cases carry
    their contract names.

    A "world" is built on a source log with local appends (root creates the
    community, invites members, they join and post); its frames are then fed
    to fresh target logs through eventlog_ingest, in many orders and chunkings.
*/
#include <signal.h>
#include <sys/wait.h>
#include "test_util.h"
#include "eventlog.h"
#include "eventlog_testing.h"
#include "lamport.h"

#define T0_MS   1764000000000ULL            /* 2025-11-24, a fixed "now" */
#define HOUR_MS 3600000ULL

/* ---- a test view: the set of applied event hashes ---------------------------
   Order-insensitive and idempotent by construction; its digest is BLAKE2b of
   the sorted hashes. Counts apply calls so tests can see what was replayed. */
typedef struct {
    uint8_t (*hashes) [32];
    size_t   n, cap;
    uint64_t applies;
    int      fail_restore;
    uint8_t (*pending) [32];                /* restore in progress */
    size_t   n_pending;
    int      restoring;
    size_t   chunks_restored;
} tview_t;

static int
s_hash_cmp (const void *a, const void *b)
{
    return memcmp (a, b, 32);
}

static int
tview_apply (void *ctx, const event_t *ev)
{
    tview_t *v = (tview_t *) ctx;
    v->applies++;
    for (size_t i = 0; i < v->n; i++)
        if (memcmp (v->hashes [i], event_hash (ev), 32) == 0)
            return 0;
    if (v->n == v->cap) {
        v->cap = v->cap? v->cap * 2: 64;
        v->hashes = realloc (v->hashes, v->cap * 32);
    }
    memcpy (v->hashes [v->n++], event_hash (ev), 32);
    qsort (v->hashes, v->n, 32, s_hash_cmp);
    return 0;
}

/*  One record per hash, in sorted order. */
static int
tview_snapshot (void *ctx, eventlog_record_fn *emit, void *emit_arg)
{
    tview_t *v = (tview_t *) ctx;
    for (size_t i = 0; i < v->n; i++) {
        int rc = emit (emit_arg, v->hashes [i], 32);
        if (rc)
            return rc;
    }
    return 0;
}

static int
tview_restore_begin (void *ctx)
{
    tview_t *v = (tview_t *) ctx;
    free (v->pending);
    v->pending = NULL;
    v->n_pending = 0;
    v->restoring = 1;
    return 0;
}

/*  A chunk is whole hashes, strictly increasing across chunks. */
static int
tview_restore_chunk (void *ctx, const uint8_t *buf, size_t len)
{
    tview_t *v = (tview_t *) ctx;
    if (!v->restoring || v->fail_restore || len % 32)
        return HEARTH_EDECODE;
    v->pending = realloc (v->pending, (v->n_pending + len / 32 + 1) * 32);
    for (size_t i = 0; i < len / 32; i++) {
        if (v->n_pending && memcmp (v->pending [v->n_pending - 1], buf + 32 * i, 32) >= 0)
            return HEARTH_ECORRUPT;
        memcpy (v->pending [v->n_pending++], buf + 32 * i, 32);
    }
    v->chunks_restored++;
    return 0;
}

static int
tview_restore_end (void *ctx, int commit)
{
    tview_t *v = (tview_t *) ctx;
    if (!v->restoring)
        return HEARTH_EINVAL;
    v->restoring = 0;
    if (commit) {
        free (v->hashes);
        v->hashes = v->pending;
        v->n = v->cap = v->n_pending;
    }
    else
        free (v->pending);
    v->pending = NULL;
    v->n_pending = 0;
    return 0;
}

static void
tview_reset (void *ctx)
{
    tview_t *v = (tview_t *) ctx;
    v->n = 0;
}

static void
tview_digest (const tview_t *v, uint8_t out [32])
{
    crypto_generichash (out, 32, (const uint8_t *) v->hashes, v->n * 32, NULL, 0);
}

static void
tview_free (tview_t *v)
{
    free (v->hashes);
    free (v->pending);
    memset (v, 0, sizeof *v);
}

static void
s_register (eventlog_t *log, tview_t *v)
{
    eventlog_view_t view = {
        .name = "test", .types = 0xFFFFFFFEu, .ctx = v,
        .apply = tview_apply, .snapshot = tview_snapshot, .restore_begin = tview_restore_begin,
        .restore_chunk = tview_restore_chunk, .restore_end = tview_restore_end, .reset = tview_reset,
    };
    HT_CHECK_EQ_INT (eventlog_view_register (log, &view), 0);
}

/* ---- frames -------------------------------------------------------------------- */

typedef struct {
    uint8_t **frames;
    size_t   *lens;
    size_t    n, cap;
} frames_t;

static void
frames_add (frames_t *f, const uint8_t *wire, size_t len)
{
    if (f->n == f->cap) {
        f->cap = f->cap? f->cap * 2: 64;
        f->frames = realloc (f->frames, f->cap * sizeof *f->frames);
        f->lens = realloc (f->lens, f->cap * sizeof *f->lens);
    }
    f->frames [f->n] = malloc (len + 1);
    memcpy (f->frames [f->n], wire, len);
    f->lens [f->n++] = len;
}

/*  Takes ownership of wire; len is read after the argument that fills it
    has been evaluated (argument order is unspecified in C). */
static void
frames_take (frames_t *f, uint8_t *wire, const size_t *len)
{
    frames_add (f, wire, *len);
    free (wire);
}

static void
frames_free (frames_t *f)
{
    for (size_t i = 0; i < f->n; i++)
        free (f->frames [i]);
    free (f->frames);
    free (f->lens);
    memset (f, 0, sizeof *f);
}

static int
s_collect (void *arg, const event_t *ev)
{
    size_t len;
    const uint8_t *w = event_wire (ev, &len);
    frames_add ((frames_t *) arg, w, len);
    return 0;
}

static int
s_ingest (eventlog_t *log, frames_t *f, size_t from, size_t n, eventlog_ingest_result_t *r,
          event_reject_t *codes)
{
    return eventlog_ingest (log, (const uint8_t *const *) f->frames + from, f->lens + from, n, r, codes);
}

/* ---- drafts ---------------------------------------------------------------------- */

static int
s_invite (eventlog_t *log, const identity_t *by, const identity_t *who, int level, uint64_t expires,
          uint64_t now, char invite_id [ULID_SIZE])
{
    Hearth__Event d = HEARTH__EVENT__INIT;
    Hearth__MemberInvited inv = HEARTH__MEMBER_INVITED__INIT;
    inv.invitee.data = (uint8_t *) identity_public_key (who);
    inv.invitee.len = 32;
    inv.display_name = (char *) "neighbour";
    inv.initial_level = level;
    inv.expires_at_ms = expires;
    d.type = HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_INVITED;
    d.payload_case = HEARTH__EVENT__PAYLOAD_MEMBER_INVITED;
    d.member_invited = &inv;
    event_t *ev = NULL;
    int rc = eventlog_append_local (log, by, &d, now, &ev);
    if (ev)
        strcpy (invite_id, event_id (ev));
    event_destroy (&ev);
    return rc;
}

static void
s_join_draft (Hearth__Event *d, Hearth__MemberJoined *j, const char *invite_id)
{
    Hearth__Event e = HEARTH__EVENT__INIT;
    Hearth__MemberJoined mj = HEARTH__MEMBER_JOINED__INIT;
    *d = e;
    *j = mj;
    j->invite_event_id = (char *) invite_id;
    j->display_name = (char *) "neighbour";
    d->type = HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_JOINED;
    d->payload_case = HEARTH__EVENT__PAYLOAD_MEMBER_JOINED;
    d->member_joined = j;
}

static int
s_join (eventlog_t *log, const identity_t *who, const char *invite_id, uint64_t now)
{
    Hearth__Event d;
    Hearth__MemberJoined j;
    s_join_draft (&d, &j, invite_id);
    return eventlog_append_local (log, who, &d, now, NULL);
}

static void
s_change_draft (Hearth__Event *d, Hearth__MemberChange *c, int type, const identity_t *target, int level)
{
    Hearth__Event e = HEARTH__EVENT__INIT;
    Hearth__MemberChange mc = HEARTH__MEMBER_CHANGE__INIT;
    *d = e;
    *c = mc;
    c->target.data = (uint8_t *) identity_public_key (target);
    c->target.len = 32;
    c->new_level = level;
    d->type = type;
    d->payload_case = HEARTH__EVENT__PAYLOAD_MEMBER_CHANGE;
    d->member_change = c;
}

/*  Post draft; the log fills the envelope. */
static int
s_post (eventlog_t *log, const identity_t *who, const char *client_id, const char *title, uint64_t now,
        event_t **out)
{
    tu_post_t p;
    tu_post_init (&p, who, NULL, 0, 0, 0, client_id, title);
    p.ev.community_id.data = NULL;
    p.ev.community_id.len = 0;
    p.ev.author.data = NULL;
    p.ev.author.len = 0;
    p.ev.event_id = (char *) "";
    return eventlog_append_local (log, who, &p.ev, now, out);
}

/*  A fully crafted post frame (for the receive side). */
static uint8_t *
s_post_frame (const identity_t *who, const uint8_t *community, uint64_t lamport, uint32_t n,
              const char *title, size_t *len)
{
    tu_post_t p;
    tu_post_init (&p, who, community, lamport, T0_MS + n, n, NULL, title);
    return tu_sign_raw (&p.ev, who, len);
}

/* ---- the world ------------------------------------------------------------------- */

#define W_MEMBERS 6

typedef struct {
    char       *dir;
    identity_t *root;
    identity_t *m [W_MEMBERS];
    frames_t    frames;                     /* every event of the source log, lamport order */
    size_t      n_prefix;                   /* frames that establish membership */
} world_t;

static char *
s_subdir (const char *dir, const char *name)
{
    char *p = NULL;
    if (asprintf (&p, "%s/%s", dir, name) < 0)
        return NULL;
    return p;
}

/*  Source log: community, W_MEMBERS invited+joined (m[1] trusted), then
    n_posts posts round-robin by the members. */
static void
world_make (world_t *w, const char *tag, int n_posts)
{
    memset (w, 0, sizeof *w);
    w->dir = ht_tmpdir (tag);
    w->root = tu_identity (1);
    for (int i = 0; i < W_MEMBERS; i++)
        w->m [i] = tu_identity ((uint8_t) (10 + i));
    char *src = s_subdir (w->dir, "source");
    int err;
    eventlog_t *log = eventlog_open (src, &err);
    HT_CHECK (log != NULL);
    HT_CHECK_EQ_INT (eventlog_community_create (log, w->root, "Kiez", T0_MS), 0);
    uint64_t now = T0_MS;
    for (int i = 0; i < W_MEMBERS; i++) {
        char inv [ULID_SIZE];
        int level = i == 1? HEARTH__LEVEL__LEVEL_TRUSTED: HEARTH__LEVEL__LEVEL_MEMBER;
        now++;
        HT_CHECK_EQ_INT (s_invite (log, w->root, w->m [i], level, now + HOUR_MS, now, inv), 0);
        HT_CHECK_EQ_INT (s_join (log, w->m [i], inv, ++now), 0);
    }
    HT_CHECK_EQ_INT (membership_count (eventlog_membership (log)), W_MEMBERS + 1);
    w->n_prefix = 1 + 2 * W_MEMBERS;
    for (int i = 0; i < n_posts; i++) {
        char client [32], title [64];
        snprintf (client, sizeof client, "client-%d", i);
        snprintf (title, sizeof title, "Post number %d", i);
        HT_CHECK_EQ_INT (s_post (log, w->m [i % W_MEMBERS], client, title, ++now, NULL), 0);
    }
    HT_CHECK_EQ_INT (eventlog_scan (log, 0, s_collect, &w->frames), 0);
    HT_CHECK_EQ_INT (w->frames.n, w->n_prefix + (size_t) n_posts);
    eventlog_destroy (&log);
    free (src);
}

static void
world_free (world_t *w)
{
    identity_destroy (&w->root);
    for (int i = 0; i < W_MEMBERS; i++)
        identity_destroy (&w->m [i]);
    frames_free (&w->frames);
    ht_rmtree (w->dir);
    free (w->dir);
}

/*  A fresh target log that knows the community id. */
static eventlog_t *
world_target (world_t *w, const char *name, tview_t *view)
{
    char *path = s_subdir (w->dir, name);
    int err;
    eventlog_t *log = eventlog_open (path, &err);
    free (path);
    HT_CHECK (log != NULL);
    if (!log)
        return NULL;
    HT_CHECK_EQ_INT (eventlog_community_adopt (log, identity_public_key (w->root)), 0);
    if (view) {
        s_register (log, view);
        HT_CHECK_EQ_INT (eventlog_views_load (log, NULL), 0);
    }
    return log;
}

/* ---- acceptance cases----------------------------------------------------------------- */

HT_TEST (test_append_local_persists_and_signs)
{
    char *dir = ht_tmpdir ("append");
    identity_t *root = tu_identity (1);
    int err;
    eventlog_t *log = eventlog_open (dir, &err);
    HT_CHECK (log != NULL);
    if (!log)
        return;
    HT_CHECK (eventlog_community_id (log) == NULL);
    HT_CHECK_EQ_INT (s_post (log, root, "c1", "Too early", T0_MS, NULL), HEARTH_ENOCOMMUNITY);
    HT_CHECK_EQ_INT (eventlog_community_create (log, root, "Kiez", T0_MS), 0);
    HT_CHECK_EQ_INT (eventlog_community_create (log, root, "Kiez", T0_MS), HEARTH_EEXISTS);
    HT_CHECK (memcmp (eventlog_community_id (log), identity_public_key (root), 32) == 0);
    HT_CHECK_EQ_INT (membership_level (eventlog_membership (log), identity_public_key (root)),
                     HEARTH__LEVEL__LEVEL_ANCHOR);
    event_t *ev = NULL;
    HT_CHECK_EQ_INT (s_post (log, root, "c-77", "Ladder to lend", T0_MS + 5, &ev), 0);
    HT_CHECK (ev != NULL);
    if (!ev)
        return;
    char id [ULID_SIZE];
    strcpy (id, event_id (ev));
    HT_CHECK_EQ_INT (event_lamport (ev), 2);
    HT_CHECK_EQ_INT (event_verify (ev), 0);
    HT_CHECK (ulid_time_ms (id) == T0_MS + 5);
    HT_CHECK_EQ_INT (eventlog_stats (log)->events_total, 2);
    HT_CHECK_EQ_INT (eventlog_stats (log)->appended_local, 2);
    event_destroy (&ev);
    eventlog_destroy (&log);

    log = eventlog_open (dir, &err);
    HT_CHECK (log != NULL);
    if (!log)
        return;
    HT_CHECK (memcmp (eventlog_community_id (log), identity_public_key (root), 32) == 0);
    HT_CHECK_EQ_INT (eventlog_get_by_id (log, id, &ev), 0);
    HT_CHECK (ev && event_verify (ev) == 0);
    HT_CHECK (ev && event_lamport (ev) == 2);
    HT_CHECK (ev && memcmp (event_author (ev), identity_public_key (root), 32) == 0);
    event_destroy (&ev);
    char found [ULID_SIZE];
    HT_CHECK_EQ_INT (eventlog_find_client (log, identity_public_key (root), "c-77", found), 0);
    HT_CHECK_EQ_STR (found, id);
    HT_CHECK_EQ_INT (eventlog_find_client (log, identity_public_key (root), "c-78", found),
                     HEARTH_ENOTFOUND);
    HT_CHECK_EQ_INT (eventlog_get_by_id (log, "01ARYZ6S41TSV4RRFFQ69G5FAV", &ev), HEARTH_ENOTFOUND);
    const eventlog_stats_t *st = eventlog_stats (log);
    HT_CHECK_EQ_INT (st->events_total, 2);
    HT_CHECK_EQ_INT (st->events_by_type [HEARTH__EVENT_TYPE__MARKET_POST_CREATED], 1);
    HT_CHECK_EQ_INT (st->events_by_type [HEARTH__EVENT_TYPE__COMMUNITY_CREATED], 1);
    HT_CHECK_EQ_INT (st->lamport_head, 2);
    /*  The next local event continues the clock. */
    HT_CHECK_EQ_INT (s_post (log, root, "c-79", "Drill", T0_MS + 6, &ev), 0);
    HT_CHECK (ev && event_lamport (ev) == 3);
    event_destroy (&ev);
    HT_CHECK (eventlog_disk_bytes (log) > 0);
    eventlog_destroy (&log);
    identity_destroy (&root);
    ht_rmtree (dir);
    free (dir);
}

HT_TEST (test_append_received_rejects_bad_signature)
{
    world_t w;
    world_make (&w, "badsig", 4);
    tview_t view = { 0 };
    eventlog_t *log = world_target (&w, "t", &view);
    if (!log)
        return;
    eventlog_ingest_result_t r;
    HT_CHECK_EQ_INT (s_ingest (log, &w.frames, 0, w.n_prefix, &r, NULL), 0);
    HT_CHECK_EQ_INT (r.accepted, w.n_prefix);
    /*  A post whose signature has one bit flipped, and one signed by another key. */
    size_t len;
    uint8_t *good = s_post_frame (w.m [0], identity_public_key (w.root), 50, 1, "Signed", &len);
    frames_t f = { 0 };
    frames_add (&f, good, len);
    f.frames [0][len - 3] ^= 0x04;          /* inside the signature */
    tu_post_t p;
    tu_post_init (&p, w.m [0], identity_public_key (w.root), 51, T0_MS, 2, NULL, "Forged");
    frames_take (&f, tu_sign_raw (&p.ev, w.m [1], &len), &len);
    event_reject_t codes [2];
    uint64_t before = eventlog_stats (log)->events_total;
    HT_CHECK_EQ_INT (s_ingest (log, &f, 0, f.n, &r, codes), 0);
    HT_CHECK_EQ_INT (r.accepted, 0);
    HT_CHECK_EQ_INT (codes [0], EVENT_REJECT_SIGNATURE);
    HT_CHECK_EQ_INT (codes [1], EVENT_REJECT_SIGNATURE);
    HT_CHECK_EQ_INT (eventlog_stats (log)->rejected [EVENT_REJECT_SIGNATURE], 2);
    HT_CHECK_EQ_INT (eventlog_stats (log)->events_total, before);
    HT_CHECK_EQ_INT (eventlog_stats (log)->lamport_head, w.n_prefix);   /* clock did not move */
    free (good);
    frames_free (&f);
    eventlog_destroy (&log);
    tview_free (&view);
    world_free (&w);
}

HT_TEST (test_duplicate_event_id_is_noop)
{
    world_t w;
    world_make (&w, "dup", 5);
    tview_t view = { 0 };
    eventlog_t *log = world_target (&w, "t", &view);
    if (!log)
        return;
    eventlog_ingest_result_t r;
    HT_CHECK_EQ_INT (s_ingest (log, &w.frames, 0, w.frames.n, &r, NULL), 0);
    HT_CHECK_EQ_INT (r.accepted, w.frames.n);
    eventlog_stats_t before = *eventlog_stats (log);
    uint64_t applies = view.applies;
    /*  The same events again, and the last one twice within one call. */
    frames_t f = { 0 };
    for (size_t i = 0; i < w.frames.n; i++)
        frames_add (&f, w.frames.frames [i], w.frames.lens [i]);
    frames_add (&f, w.frames.frames [w.frames.n - 1], w.frames.lens [w.frames.n - 1]);
    HT_CHECK_EQ_INT (s_ingest (log, &f, 0, f.n, &r, NULL), 0);
    HT_CHECK_EQ_INT (r.accepted, 0);
    HT_CHECK_EQ_INT (r.rejected [EVENT_REJECT_DUPLICATE], f.n);
    const eventlog_stats_t *after = eventlog_stats (log);
    HT_CHECK_EQ_INT (after->events_total, before.events_total);
    HT_CHECK_EQ_INT (after->seq, before.seq);
    HT_CHECK_EQ_INT (after->lamport_head, before.lamport_head);
    HT_CHECK_EQ_INT (view.applies, applies);
    /*  Within one call on a fresh log: first accepted, repeat is a duplicate. */
    eventlog_t *log2 = world_target (&w, "t2", NULL);
    frames_t g = { 0 };
    for (size_t i = 0; i < w.frames.n; i++) {
        frames_add (&g, w.frames.frames [i], w.frames.lens [i]);
        frames_add (&g, w.frames.frames [i], w.frames.lens [i]);
    }
    event_reject_t *codes = calloc (g.n, sizeof *codes);
    HT_CHECK_EQ_INT (s_ingest (log2, &g, 0, g.n, &r, codes), 0);
    HT_CHECK_EQ_INT (r.accepted, w.frames.n);
    for (size_t i = 0; i < g.n; i++)
        HT_CHECK_EQ_INT (codes [i], i % 2? EVENT_REJECT_DUPLICATE: EVENT_REJECT_NONE);
    free (codes);
    frames_free (&g);
    frames_free (&f);
    eventlog_destroy (&log2);
    eventlog_destroy (&log);
    tview_free (&view);
    world_free (&w);
}

HT_TEST (test_replay_idempotent)
{
    world_t w;
    world_make (&w, "idem", 20);
    tview_t view = { 0 };
    eventlog_t *log = world_target (&w, "t", &view);
    if (!log)
        return;
    eventlog_ingest_result_t r;
    HT_CHECK_EQ_INT (s_ingest (log, &w.frames, 0, w.frames.n, &r, NULL), 0);
    uint8_t d1 [32], d2 [32], d3 [32];
    tview_digest (&view, d1);
    HT_CHECK_EQ_INT (view.n, w.frames.n);
    HT_CHECK_EQ_INT (eventlog_views_rebuild (log), 0);
    tview_digest (&view, d2);
    HT_CHECK_EQ_INT (eventlog_views_rebuild (log), 0);
    tview_digest (&view, d3);
    HT_CHECK (memcmp (d1, d2, 32) == 0 && memcmp (d2, d3, 32) == 0);
    /*  Feeding everything again changes nothing. */
    HT_CHECK_EQ_INT (s_ingest (log, &w.frames, 0, w.frames.n, &r, NULL), 0);
    tview_digest (&view, d3);
    HT_CHECK (memcmp (d1, d3, 32) == 0);
    eventlog_destroy (&log);
    tview_free (&view);
    world_free (&w);
}

/*  Fisher-Yates with a seeded generator (deterministic per seed). */
static void
s_shuffle (size_t *idx, size_t n, uint64_t *state)
{
    for (size_t i = n; i > 1; i--) {
        *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
        size_t j = (size_t) ((*state >> 33) % i);
        size_t t = idx [i - 1];
        idx [i - 1] = idx [j];
        idx [j] = t;
    }
}

HT_TEST (test_replay_order_independence)
{
    world_t w;
    world_make (&w, "order", 60);
    size_t n_posts = w.frames.n - w.n_prefix;
    uint8_t ref [32];
    uint64_t ref_count = 0;
    /*  Membership first in its own order (a join needs its invite), then the
        posts in 12 different orders and chunkings. */
    for (int round = 0; round < 12; round++) {
        char name [32];
        snprintf (name, sizeof name, "t%d", round);
        tview_t view = { 0 };
        eventlog_t *log = world_target (&w, name, &view);
        if (!log)
            break;
        if (round % 3 == 1)
            eventlog_set_verify_threads (log, 2);
        eventlog_ingest_result_t r;
        HT_CHECK_EQ_INT (s_ingest (log, &w.frames, 0, w.n_prefix, &r, NULL), 0);
        size_t *idx = malloc (n_posts * sizeof *idx);
        for (size_t i = 0; i < n_posts; i++)
            idx [i] = w.n_prefix + i;
        uint64_t state = (uint64_t) round + 1;
        if (round)
            s_shuffle (idx, n_posts, &state);
        frames_t f = { 0 };
        for (size_t i = 0; i < n_posts; i++)
            frames_add (&f, w.frames.frames [idx [i]], w.frames.lens [idx [i]]);
        size_t step = 1 + (size_t) round * 7 % 23;
        for (size_t at = 0; at < f.n; at += step)
            HT_CHECK_EQ_INT (s_ingest (log, &f, at, at + step > f.n? f.n - at: step, &r, NULL), 0);
        uint8_t d [32];
        tview_digest (&view, d);
        if (round == 0) {
            memcpy (ref, d, 32);
            ref_count = eventlog_stats (log)->events_total;
            HT_CHECK_EQ_INT (ref_count, w.frames.n);
        }
        else {
            HT_CHECK (memcmp (ref, d, 32) == 0);
            HT_CHECK_EQ_INT (eventlog_stats (log)->events_total, ref_count);
        }
        /*  The (lamport, hash) scan is the same set in the same order. */
        frames_t scanned = { 0 };
        HT_CHECK_EQ_INT (eventlog_scan (log, 0, s_collect, &scanned), 0);
        HT_CHECK_EQ_INT (scanned.n, w.frames.n);
        int same = scanned.n == w.frames.n;
        for (size_t i = 0; same && i < scanned.n; i++)
            same = scanned.lens [i] == w.frames.lens [i]
                && memcmp (scanned.frames [i], w.frames.frames [i], scanned.lens [i]) == 0;
        HT_CHECK (same);
        frames_free (&scanned);
        frames_free (&f);
        free (idx);
        eventlog_destroy (&log);
        tview_free (&view);
    }
    world_free (&w);
}

HT_TEST (test_snapshot_roundtrip)
{
    world_t w;
    world_make (&w, "snap", 30);
    char *path = s_subdir (w.dir, "t");
    tview_t view = { 0 };
    eventlog_t *log = world_target (&w, "t", &view);
    if (!log)
        return;
    eventlog_ingest_result_t r;
    HT_CHECK_EQ_INT (s_ingest (log, &w.frames, 0, w.frames.n, &r, NULL), 0);
    uint8_t d1 [32];
    tview_digest (&view, d1);
    uint8_t *m1 = NULL, *m2 = NULL;
    size_t m1_len = 0, m2_len = 0;
    HT_CHECK_EQ_INT (membership_snapshot (eventlog_membership (log), &m1, &m1_len), 0);
    HT_CHECK_EQ_INT (eventlog_views_snapshot (log), 0);
    eventlog_destroy (&log);
    tview_free (&view);

    int err;
    log = eventlog_open (path, &err);
    HT_CHECK (log != NULL);
    if (!log)
        return;
    s_register (log, &view);
    uint64_t replayed = 99;
    HT_CHECK_EQ_INT (eventlog_views_load (log, &replayed), 0);
    HT_CHECK_EQ_INT (replayed, 0);
    HT_CHECK_EQ_INT (view.applies, 0);
    uint8_t d2 [32];
    tview_digest (&view, d2);
    HT_CHECK (memcmp (d1, d2, 32) == 0);
    HT_CHECK_EQ_INT (membership_snapshot (eventlog_membership (log), &m2, &m2_len), 0);
    HT_CHECK (m1_len == m2_len && memcmp (m1, m2, m1_len) == 0);
    /*  Membership restore of its own snapshot is exact, garbage is refused. */
    membership_t *copy = membership_new (identity_public_key (w.root));
    HT_CHECK_EQ_INT (membership_restore (copy, m1, m1_len), 0);
    HT_CHECK_EQ_INT (membership_count (copy), W_MEMBERS + 1);
    HT_CHECK_EQ_INT (membership_level (copy, identity_public_key (w.m [1])), HEARTH__LEVEL__LEVEL_TRUSTED);
    HT_CHECK (membership_restore (copy, (const uint8_t *) "\xff\xff\xff", 3) < 0);
    HT_CHECK_EQ_INT (membership_count (copy), W_MEMBERS + 1);
    membership_destroy (&copy);
    free (m1);
    free (m2);
    eventlog_destroy (&log);
    tview_free (&view);
    free (path);
    world_free (&w);
}

/* ---- chunked view snapshots ------------------------------------------------------ */

/*  Chunk size in the snapshot tests: 3 hashes (records) of the test view. */
#define T_CHUNK 100

/*  A target log "name" holding the whole world, its view snapshotted in
    chunks of T_CHUNK at close. *digest: the view's. */
static void
s_chunked_target (world_t *w, const char *name, uint8_t digest [32])
{
    tview_t view = { 0 };
    eventlog_t *log = world_target (w, name, &view);
    if (!log)
        return;
    eventlog_set_snapshot_chunk_bytes (log, T_CHUNK);
    eventlog_ingest_result_t r;
    HT_CHECK_EQ_INT (s_ingest (log, &w->frames, 0, w->frames.n, &r, NULL), 0);
    tview_digest (&view, digest);
    eventlog_destroy (&log);                /* the final snapshot */
    tview_free (&view);
}

/*  Open name without loading views (its close then snapshots membership
    only, so view manifests and chunks stay as they are). */
static eventlog_t *
s_open_raw (world_t *w, const char *name)
{
    char *path = s_subdir (w->dir, name);
    int err;
    eventlog_t *log = eventlog_open (path, &err);
    free (path);
    HT_CHECK (log != NULL);
    return log;
}

/*  Load name's views: the replay count, the view's digest and chunks fed. */
static uint64_t
s_load (world_t *w, const char *name, uint8_t digest [32], size_t *chunks, eventlog_snapshot_info_t *info)
{
    eventlog_t *log = s_open_raw (w, name);
    if (!log)
        return UINT64_MAX;
    tview_t view = { 0 };
    s_register (log, &view);
    uint64_t replayed = UINT64_MAX;
    HT_CHECK_EQ_INT (eventlog_views_load (log, &replayed), 0);
    HT_CHECK_EQ_INT (view.n, w->frames.n);
    tview_digest (&view, digest);
    if (chunks)
        *chunks = view.chunks_restored;
    if (info)
        HT_CHECK_EQ_INT (eventlog_snapshot_info (log, "test", info), 0);
    eventlog_destroy (&log);
    tview_free (&view);
    return replayed;
}

/*  A view snapshot in many chunks: each chunk is whole records of at most
    the chunk size, a new snapshot replaces the old generation, and the
    reload feeds every chunk in order and replays nothing. */
HT_TEST (test_snapshot_chunks_roundtrip)
{
    world_t w;
    world_make (&w, "chunks", 40);
    size_t n = w.frames.n, per = T_CHUNK / 32, n_chunks = (n + per - 1) / per;
    tview_t view = { 0 };
    eventlog_t *log = world_target (&w, "t", &view);
    if (!log)
        return;
    eventlog_set_snapshot_chunk_bytes (log, T_CHUNK);
    eventlog_ingest_result_t r;
    HT_CHECK_EQ_INT (s_ingest (log, &w.frames, 0, n, &r, NULL), 0);
    uint8_t d1 [32], d2 [32];
    tview_digest (&view, d1);
    eventlog_snapshot_info_t info;
    HT_CHECK_EQ_INT (eventlog_views_snapshot (log), 0);
    HT_CHECK_EQ_INT (eventlog_snapshot_info (log, "test", &info), 0);
    HT_CHECK_EQ_INT (info.generation, 1);
    HT_CHECK_EQ_INT (info.n_chunks, n_chunks);
    HT_CHECK_EQ_INT (info.total_bytes, 32 * n);
    HT_CHECK_EQ_INT (info.stored_chunks, n_chunks);
    uint8_t *chunk = NULL;
    size_t len = 0;
    HT_CHECK_EQ_INT (eventlog_snapshot_chunk_get (log, "test", 1, 0, &chunk, &len), 0);
    HT_CHECK (chunk && len == 32 * per && memcmp (chunk, view.hashes, len) == 0);
    free (chunk);
    HT_CHECK_EQ_INT (eventlog_snapshot_chunk_get (log, "test", 1, (uint32_t) n_chunks, &chunk, &len),
                     HEARTH_ENOTFOUND);
    /*  The next one replaces it. */
    HT_CHECK_EQ_INT (eventlog_views_snapshot (log), 0);
    HT_CHECK_EQ_INT (eventlog_snapshot_info (log, "test", &info), 0);
    HT_CHECK_EQ_INT (info.generation, 2);
    HT_CHECK_EQ_INT (info.stored_chunks, n_chunks);
    eventlog_destroy (&log);                /* generation 3 */
    tview_free (&view);
    size_t fed = 0;
    HT_CHECK_EQ_INT (s_load (&w, "t", d2, &fed, &info), 0);
    HT_CHECK (memcmp (d1, d2, 32) == 0);
    HT_CHECK_EQ_INT (fed, n_chunks);
    HT_CHECK_EQ_INT (info.generation, 3);
    HT_CHECK_EQ_INT (info.stored_chunks, n_chunks);
    /*  At the default size the whole view is one chunk. */
    HT_CHECK_EQ_INT (s_load (&w, "t", d2, &fed, &info), 0);
    HT_CHECK_EQ_INT (fed, 1);
    HT_CHECK_EQ_INT (info.n_chunks, 1);
    HT_CHECK_EQ_INT (info.stored_chunks, 1);
    world_free (&w);
}

/*  Every way stored chunks can disagree with their manifest ends in a
    reset and a rebuild from the whole log, to the same state: a chunk the
    view cannot decode, one changed in place (only the manifest's hash
    tells), one of another length, a missing one, an extra one. */
HT_TEST (test_snapshot_chunk_faults_rebuild)
{
    world_t w;
    world_make (&w, "faults", 40);
    const char *names [] = { "undecodable", "flipped", "shorter", "missing", "extra" };
    for (int f = 0; f < 5; f++) {
        uint8_t ref [32], d [32];
        s_chunked_target (&w, names [f], ref);
        eventlog_t *log = s_open_raw (&w, names [f]);
        if (!log)
            break;
        eventlog_snapshot_info_t info;
        HT_CHECK_EQ_INT (eventlog_snapshot_info (log, "test", &info), 0);
        HT_CHECK (info.n_chunks >= 4);
        uint64_t g = info.generation;
        uint8_t *chunk = NULL;
        size_t len = 0;
        HT_CHECK_EQ_INT (eventlog_snapshot_chunk_get (log, "test", g, 1, &chunk, &len), 0);
        if (!chunk)
            break;
        switch (f) {
            case 0: HT_CHECK_EQ_INT (eventlog_snapshot_chunk_put (log, "test", g, 1, chunk, len - 1), 0); break;
            case 1: chunk [len - 1] ^= 1;
                    HT_CHECK_EQ_INT (eventlog_snapshot_chunk_put (log, "test", g, 1, chunk, len), 0); break;
            case 2: HT_CHECK_EQ_INT (eventlog_snapshot_chunk_put (log, "test", g, 1, chunk, 32), 0); break;
            case 3: HT_CHECK_EQ_INT (eventlog_snapshot_chunk_put (log, "test", g, 1, NULL, 0), 0); break;
            case 4: HT_CHECK_EQ_INT (eventlog_snapshot_chunk_put (log, "test", g, (uint32_t) info.n_chunks,
                                                                 chunk, len), 0); break;
        }
        free (chunk);
        eventlog_destroy (&log);
        size_t fed = 0;
        HT_CHECK_EQ_INT (s_load (&w, names [f], d, &fed, NULL), w.frames.n);
        HT_CHECK (memcmp (d, ref, 32) == 0);
        /*  The flipped chunk decodes: every chunk was fed, the hash caught it. */
        if (f == 1)
            HT_CHECK_EQ_INT (fed, info.n_chunks);
        /*  Its close wrote a good snapshot again. */
        HT_CHECK_EQ_INT (s_load (&w, names [f], d, NULL, NULL), 0);
        HT_CHECK (memcmp (d, ref, 32) == 0);
    }
    world_free (&w);
}

/*  Chunks of a generation other than the manifest's are deleted at load:
    older ones (a delete lost in a crash) and newer ones (a snapshot that
    crashed before its manifest); the next snapshot writes above them. */
HT_TEST (test_snapshot_orphan_chunks_removed)
{
    world_t w;
    world_make (&w, "orphans", 20);
    uint8_t ref [32], d [32];
    s_chunked_target (&w, "t", ref);
    eventlog_t *log = s_open_raw (&w, "t");
    if (!log)
        return;
    eventlog_snapshot_info_t info;
    HT_CHECK_EQ_INT (eventlog_snapshot_info (log, "test", &info), 0);
    uint64_t g = info.generation, n = info.n_chunks;
    HT_CHECK (g >= 1 && n >= 2);
    const uint8_t junk [40] = { 1, 2, 3 };
    HT_CHECK_EQ_INT (eventlog_snapshot_chunk_put (log, "test", g + 1, 0, junk, sizeof junk), 0);
    HT_CHECK_EQ_INT (eventlog_snapshot_chunk_put (log, "test", g + 1, 1, junk, sizeof junk), 0);
    HT_CHECK_EQ_INT (eventlog_snapshot_chunk_put (log, "test", g + 7, 0, junk, sizeof junk), 0);
    HT_CHECK_EQ_INT (eventlog_snapshot_chunk_put (log, "test", 0, 3, junk, sizeof junk), 0);
    /*  A view whose name extends this one's: not this view's chunks. */
    HT_CHECK_EQ_INT (eventlog_snapshot_chunk_put (log, "test2", g + 1, 0, junk, sizeof junk), 0);
    HT_CHECK_EQ_INT (eventlog_snapshot_info (log, "test", &info), 0);
    HT_CHECK_EQ_INT (info.stored_chunks, n + 4);
    eventlog_destroy (&log);
    HT_CHECK_EQ_INT (s_load (&w, "t", d, NULL, &info), 0);
    HT_CHECK (memcmp (d, ref, 32) == 0);
    HT_CHECK_EQ_INT (info.generation, g);
    HT_CHECK_EQ_INT (info.stored_chunks, n);        /* after the load, before its close */
    log = s_open_raw (&w, "t");
    if (log) {
        HT_CHECK_EQ_INT (eventlog_snapshot_info (log, "test", &info), 0);
        HT_CHECK_EQ_INT (info.generation, g + 8);   /* above every generation stored */
        HT_CHECK_EQ_INT (info.stored_chunks, 1);    /* that close's: one default-size chunk */
        HT_CHECK_EQ_INT (eventlog_snapshot_info (log, "test2", &info), 0);
        HT_CHECK_EQ_INT (info.stored_chunks, 1);
        eventlog_destroy (&log);
    }
    world_free (&w);
}

/*  A data directory from before chunks: "view/<name>" holds the whole
    state in ViewSnapshot.state. It restores as one chunk (replaying only
    the tail after its seq), and chunks left beside it are dropped. */
HT_TEST (test_snapshot_single_value_still_restores)
{
    world_t w;
    world_make (&w, "legacy", 20);
    uint8_t ref [32], d [32];
    s_chunked_target (&w, "t", ref);
    /*  The state as the old snapshot wrote it: the sorted hashes. */
    tview_t view = { 0 };
    for (size_t i = 0; i < w.frames.n; i++) {
        event_reject_t reason;
        event_t *ev = event_decode (w.frames.frames [i], w.frames.lens [i], &reason);
        if (ev)
            tview_apply (&view, ev);
        event_destroy (&ev);
    }
    eventlog_t *log = s_open_raw (&w, "t");
    if (!log)
        return;
    uint64_t seq = eventlog_stats (log)->seq;
    HT_CHECK_EQ_INT (eventlog_snapshot_put_legacy (log, "test", seq - 5, (const uint8_t *) view.hashes,
                                                   view.n * 32), 0);
    eventlog_destroy (&log);
    tview_free (&view);
    log = s_open_raw (&w, "t");
    if (!log)
        return;
    s_register (log, &view);
    uint64_t replayed = 0;
    HT_CHECK_EQ_INT (eventlog_views_load (log, &replayed), 0);
    HT_CHECK_EQ_INT (replayed, 5);
    HT_CHECK_EQ_INT (view.chunks_restored, 1);
    tview_digest (&view, d);
    HT_CHECK (memcmp (d, ref, 32) == 0);
    eventlog_snapshot_info_t info;
    HT_CHECK_EQ_INT (eventlog_snapshot_info (log, "test", &info), 0);
    HT_CHECK_EQ_INT (info.generation, 0);
    HT_CHECK_EQ_INT (info.stored_chunks, 0);
    eventlog_destroy (&log);                /* now chunked */
    tview_free (&view);
    HT_CHECK_EQ_INT (s_load (&w, "t", d, NULL, &info), 0);
    HT_CHECK (memcmp (d, ref, 32) == 0);
    HT_CHECK (info.generation >= 1);
    world_free (&w);
}

/* ---- every reject reason ------------------------------------------------------ */

HT_TEST (test_reject_reasons)
{
    world_t w;
    world_make (&w, "reasons", 3);
    eventlog_t *log = world_target (&w, "t", NULL);
    if (!log)
        return;
    eventlog_ingest_result_t r;
    HT_CHECK_EQ_INT (s_ingest (log, &w.frames, 0, w.frames.n, &r, NULL), 0);
    HT_CHECK_EQ_INT (r.accepted, w.frames.n);
    const uint8_t *cid = identity_public_key (w.root);
    uint64_t head = eventlog_stats (log)->lamport_head;
    identity_t *stranger = tu_identity (99);
    frames_t f = { 0 };
    event_reject_t expect [40];
    size_t len;
    uint8_t *good = s_post_frame (w.m [0], cid, head + 1, 100, "Fine", &len);

    /*  SIZE */
    uint8_t *big = calloc (1, EVENT_MAX_BYTES + 1);
    frames_add (&f, big, EVENT_MAX_BYTES + 1);
    expect [f.n - 1] = EVENT_REJECT_SIZE;
    free (big);
    /*  DECODE: truncated */
    frames_add (&f, good, len - 10);
    expect [f.n - 1] = EVENT_REJECT_DECODE;
    /*  DECODE: unknown field in the body (validly signed) */
    {
        tu_post_t p;
        tu_post_init (&p, w.m [0], cid, head + 1, T0_MS, 101, NULL, "Unknown");
        size_t blen = hearth__event__get_packed_size (&p.ev);
        uint8_t *body = malloc (blen + 3);
        hearth__event__pack (&p.ev, body);
        body [blen] = 0x98; body [blen + 1] = 0x06; body [blen + 2] = 0x01;   /* field 99 = 1 */
        frames_take (&f, tu_wrap (body, blen + 3, w.m [0], &len), &len);
        expect [f.n - 1] = EVENT_REJECT_DECODE;
        /*  DECODE: non-canonical varint for schema_version */
        uint8_t *nc = malloc (blen + 1);
        nc [0] = 0x08; nc [1] = 0x81; nc [2] = 0x00;
        memcpy (nc + 3, body + 2, blen - 2);
        frames_take (&f, tu_wrap (nc, blen + 1, w.m [0], &len), &len);
        expect [f.n - 1] = EVENT_REJECT_DECODE;
        free (nc);
        free (body);
    }
    /*  STRUCTURE: bad ULID */
    {
        tu_post_t p;
        tu_post_init (&p, w.m [0], cid, head + 1, T0_MS, 102, NULL, "Bad id");
        p.ev.event_id = (char *) "0000000000000000000000000I";
        frames_take (&f, tu_sign_raw (&p.ev, w.m [0], &len), &len);
        expect [f.n - 1] = EVENT_REJECT_STRUCTURE;
    }
    /*  SIGNATURE */
    {
        uint8_t *bad = s_post_frame (w.m [0], cid, head + 1, 103, "Sig", &len);
        bad [len - 1] ^= 1;
        frames_take (&f, bad, &len);
        expect [f.n - 1] = EVENT_REJECT_SIGNATURE;
    }
    /*  COMMUNITY */
    {
        uint8_t other [32];
        memset (other, 0x42, 32);
        frames_take (&f, s_post_frame (w.m [0], other, head + 1, 104, "Elsewhere", &len), &len);
        expect [f.n - 1] = EVENT_REJECT_COMMUNITY;
    }
    /*  MEMBERSHIP: a stranger posts */
    frames_take (&f, s_post_frame (stranger, cid, head + 1, 105, "Hello", &len), &len);
    expect [f.n - 1] = EVENT_REJECT_MEMBERSHIP;
    /*  TYPE_RULE: a join after its invite expired. The invite is built on a
        side log with the same community so it is a valid root event. */
    {
        identity_t *late = tu_identity (77);
        Hearth__Event d = HEARTH__EVENT__INIT;
        Hearth__MemberInvited inv = HEARTH__MEMBER_INVITED__INIT;
        char inv_id [ULID_SIZE];
        tu_ulid (T0_MS, 106, inv_id);
        inv.invitee.data = (uint8_t *) identity_public_key (late);
        inv.invitee.len = 32;
        inv.display_name = (char *) "late";
        inv.initial_level = HEARTH__LEVEL__LEVEL_MEMBER;
        inv.expires_at_ms = T0_MS + 10;
        d.schema_version = 1;
        d.event_id = inv_id;
        d.lamport = head + 1;
        d.wall_clock_ms = T0_MS;
        d.community_id.data = (uint8_t *) cid;
        d.community_id.len = 32;
        d.author.data = (uint8_t *) cid;
        d.author.len = 32;
        d.type = HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_INVITED;
        d.payload_case = HEARTH__EVENT__PAYLOAD_MEMBER_INVITED;
        d.member_invited = &inv;
        frames_take (&f, tu_sign_raw (&d, w.root, &len), &len);
        expect [f.n - 1] = EVENT_REJECT_NONE;
        Hearth__Event j;
        Hearth__MemberJoined mj;
        s_join_draft (&j, &mj, inv_id);
        char join_id [ULID_SIZE];
        tu_ulid (T0_MS + 11, 107, join_id);
        j.schema_version = 1;
        j.event_id = join_id;
        j.lamport = head + 2;
        j.wall_clock_ms = T0_MS + 11;      /* 1 ms after expiry */
        j.community_id.data = (uint8_t *) cid;
        j.community_id.len = 32;
        j.author.data = (uint8_t *) identity_public_key (late);
        j.author.len = 32;
        frames_take (&f, tu_sign_raw (&j, late, &len), &len);
        expect [f.n - 1] = EVENT_REJECT_TYPE_RULE;
        /*  And a post by the would-be member is then not a member's. */
        frames_take (&f, s_post_frame (late, cid, head + 3, 108, "Late", &len), &len);
        expect [f.n - 1] = EVENT_REJECT_MEMBERSHIP;
        identity_destroy (&late);
    }
    /*  LAMPORT: >= 2^62, and > head + 2^20 (head is head + 1 after the invite above) */
    frames_take (&f, s_post_frame (w.m [0], cid, LAMPORT_MAX, 109, "Far", &len), &len);
    expect [f.n - 1] = EVENT_REJECT_LAMPORT;
    frames_take (&f, s_post_frame (w.m [0], cid, head + 2 + LAMPORT_MAX_JUMP, 110, "Far", &len), &len);
    expect [f.n - 1] = EVENT_REJECT_LAMPORT;
    frames_take (&f, s_post_frame (w.m [0], cid, head + 1 + LAMPORT_MAX_JUMP, 111, "Edge", &len), &len);
    expect [f.n - 1] = EVENT_REJECT_NONE;
    /*  LAMPORT: 0 (every full scan starts after it, so it would split views) */
    frames_take (&f, s_post_frame (w.m [0], cid, 0, 116, "Zero", &len), &len);
    expect [f.n - 1] = EVENT_REJECT_LAMPORT;
    /*  FUTURE: dated past the skew (and 9999-12-31); within it is fine */
    {
        uint64_t now = hearth_now_ms ();
        const uint64_t walls [3] = { now + EVENT_MAX_FUTURE_SKEW_MS + 60000, UINT64_C (253402300799000),
                                     now + EVENT_MAX_FUTURE_SKEW_MS - 60000 };
        for (int k = 0; k < 3; k++) {
            tu_post_t p;
            tu_post_init (&p, w.m [0], cid, head + 4, walls [k], 117 + k, NULL, "When?");
            frames_take (&f, tu_sign_raw (&p.ev, w.m [0], &len), &len);
            expect [f.n - 1] = k < 2? EVENT_REJECT_FUTURE: EVENT_REJECT_NONE;
        }
    }
    /*  DUPLICATE: an already stored event */
    frames_add (&f, w.frames.frames [w.frames.n - 1], w.frames.lens [w.frames.n - 1]);
    expect [f.n - 1] = EVENT_REJECT_DUPLICATE;
    /*  CONFLICT: same (author, event_id) as a stored post, other body */
    {
        event_reject_t reason;
        event_t *stored = event_decode (w.frames.frames [w.frames.n - 1], w.frames.lens [w.frames.n - 1], &reason);
        const identity_t *who = NULL;
        for (int i = 0; stored && i < W_MEMBERS; i++)
            if (memcmp (identity_public_key (w.m [i]), event_author (stored), 32) == 0)
                who = w.m [i];
        HT_CHECK (who != NULL);
        if (who) {
            tu_post_t p;
            tu_post_init (&p, who, cid, head + 5, T0_MS, 0, NULL, "Other body");
            strcpy (p.id, event_id (stored));
            frames_take (&f, tu_sign_raw (&p.ev, who, &len), &len);
            expect [f.n - 1] = EVENT_REJECT_CONFLICT;
        }
        event_destroy (&stored);
    }
    /*  CONFLICT within one call: two bodies, one (author, event_id). */
    {
        tu_post_t p;
        tu_post_init (&p, w.m [2], cid, head + 6, T0_MS, 112, NULL, "First body");
        frames_take (&f, tu_sign_raw (&p.ev, w.m [2], &len), &len);
        expect [f.n - 1] = EVENT_REJECT_NONE;
        p.post.title = (char *) "Second body";
        frames_take (&f, tu_sign_raw (&p.ev, w.m [2], &len), &len);
        expect [f.n - 1] = EVENT_REJECT_CONFLICT;
    }
    /*  REVOKED: m[1] (trusted) proposes to revoke m[3], the root endorses
        (two eligible signers: the threshold 3 is capped at 2); m[3] then
        posts. */
    {
        Hearth__Event d;
        Hearth__MemberChange c;
        s_change_draft (&d, &c, HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_REVOKED, w.m [3], 0);
        c.expires_at_ms = T0_MS + HOUR_MS;
        char rid [ULID_SIZE], eid [ULID_SIZE];
        tu_ulid (T0_MS, 113, rid);
        d.schema_version = 1;
        d.event_id = rid;
        d.lamport = head + 7;
        d.wall_clock_ms = T0_MS;
        d.community_id.data = (uint8_t *) cid;
        d.community_id.len = 32;
        d.author.data = (uint8_t *) identity_public_key (w.m [1]);
        d.author.len = 32;
        frames_take (&f, tu_sign_raw (&d, w.m [1], &len), &len);
        expect [f.n - 1] = EVENT_REJECT_NONE;
        /*  The root's endorsement. */
        tu_ulid (T0_MS, 116, eid);
        d.event_id = eid;
        d.lamport = head + 8;
        c.expires_at_ms = 0;
        c.proposal_event_id = rid;
        d.author.data = (uint8_t *) identity_public_key (w.root);
        frames_take (&f, tu_sign_raw (&d, w.root, &len), &len);
        expect [f.n - 1] = EVENT_REJECT_NONE;
        frames_take (&f, s_post_frame (w.m [3], cid, head + 9, 114, "Still here?", &len), &len);
        expect [f.n - 1] = EVENT_REJECT_REVOKED;
        /*  A plain member may not revoke. */
        d.event_id = rid;
        d.lamport = head + 7;
        c.proposal_event_id = (char *) "";
        c.expires_at_ms = T0_MS + HOUR_MS;
        d.author.data = (uint8_t *) identity_public_key (w.m [2]);
        d.member_change->target.data = (uint8_t *) identity_public_key (w.m [4]);
        tu_ulid (T0_MS, 115, rid);
        frames_take (&f, tu_sign_raw (&d, w.m [2], &len), &len);
        expect [f.n - 1] = EVENT_REJECT_TYPE_RULE;
    }
    HT_CHECK (f.n <= sizeof expect / sizeof expect [0]);
    event_reject_t codes [40];
    HT_CHECK_EQ_INT (s_ingest (log, &f, 0, f.n, &r, codes), 0);
    int seen [EVENT_REJECT_COUNT] = { 0 };
    for (size_t i = 0; i < f.n; i++) {
        if (codes [i] != expect [i])
            fprintf (stderr, "frame %zu: got %s, expected %s\n", i, event_reject_name (codes [i]),
                     event_reject_name (expect [i]));
        HT_CHECK_EQ_INT (codes [i], expect [i]);
        seen [codes [i]]++;
    }
    for (int reason = 0; reason < EVENT_REJECT_COUNT; reason++) {
        if (!seen [reason])
            fprintf (stderr, "reason %s never reached\n", event_reject_name (reason));
        HT_CHECK (seen [reason] > 0);
        if (reason != EVENT_REJECT_NONE)
            HT_CHECK_EQ_INT (eventlog_stats (log)->rejected [reason], (uint64_t) seen [reason]);
    }
    HT_CHECK_EQ_INT (membership_revoked (eventlog_membership (log), identity_public_key (w.m [3])), 1);
    HT_CHECK_EQ_INT (membership_count (eventlog_membership (log)), W_MEMBERS);
    /*  The local side: a revoked author gets EREVOKED, a stranger EUNAUTHORIZED. */
    HT_CHECK_EQ_INT (s_post (log, w.m [3], NULL, "Me again", T0_MS, NULL), HEARTH_EREVOKED);
    HT_CHECK_EQ_INT (s_post (log, stranger, NULL, "Me", T0_MS, NULL), HEARTH_EUNAUTHORIZED);
    /*  Membership survives a restart. */
    char *path = s_subdir (w.dir, "t");
    eventlog_destroy (&log);
    int err;
    log = eventlog_open (path, &err);
    HT_CHECK (log && membership_revoked (eventlog_membership (log), identity_public_key (w.m [3])));
    HT_CHECK (log && membership_count (eventlog_membership (log)) == W_MEMBERS);
    eventlog_destroy (&log);
    free (path);
    free (good);
    frames_free (&f);
    identity_destroy (&stranger);
    world_free (&w);
}

/*  invite, join and post of a new member in one ingest call, plus the
    membership rules on the local side. */
HT_TEST (test_membership_rules)
{
    char *dir = ht_tmpdir ("members");
    identity_t *root = tu_identity (1), *a = tu_identity (2), *b = tu_identity (3), *c = tu_identity (4);
    int err;
    eventlog_t *log = eventlog_open (dir, &err);
    if (!log)
        return;
    HT_CHECK_EQ_INT (eventlog_community_create (log, root, "Kiez", T0_MS), 0);
    const membership_t *m = eventlog_membership (log);
    char inv_a [ULID_SIZE], inv_b [ULID_SIZE], inv_c [ULID_SIZE];
    HT_CHECK_EQ_INT (s_invite (log, root, a, HEARTH__LEVEL__LEVEL_MEMBER, T0_MS + HOUR_MS, T0_MS + 1, inv_a), 0);
    /*  Joining with someone else's invite fails; with one's own it works. */
    HT_CHECK_EQ_INT (membership_invite_pending (m, identity_public_key (a), T0_MS + 2), 1);
    HT_CHECK_EQ_INT (membership_invite_pending (m, identity_public_key (a), T0_MS + HOUR_MS), 1);
    HT_CHECK_EQ_INT (membership_invite_pending (m, identity_public_key (a), T0_MS + HOUR_MS + 1), 0);
    HT_CHECK_EQ_INT (membership_invite_pending (m, identity_public_key (b), T0_MS + 2), 0);
    HT_CHECK_EQ_INT (s_join (log, b, inv_a, T0_MS + 2), HEARTH_EUNAUTHORIZED);
    HT_CHECK_EQ_INT (s_join (log, a, inv_a, T0_MS + 2), 0);
    HT_CHECK_EQ_INT (membership_invite_pending (m, identity_public_key (a), T0_MS + 2), 0);  /* redeemed */
    HT_CHECK_EQ_INT (s_join (log, a, inv_a, T0_MS + 3), HEARTH_EUNAUTHORIZED);   /* redeemed */
    HT_CHECK_EQ_INT (membership_level (m, identity_public_key (a)), HEARTH__LEVEL__LEVEL_MEMBER);
    /*  A member may invite members but not trusted ones. */
    HT_CHECK_EQ_INT (s_invite (log, a, b, HEARTH__LEVEL__LEVEL_TRUSTED, T0_MS + HOUR_MS, T0_MS + 4, inv_b),
                     HEARTH_EUNAUTHORIZED);
    HT_CHECK_EQ_INT (s_invite (log, a, b, HEARTH__LEVEL__LEVEL_MEMBER, T0_MS + HOUR_MS, T0_MS + 4, inv_b), 0);
    HT_CHECK_EQ_INT (s_join (log, b, inv_b, T0_MS + 5), 0);
    /*  Promote/demote by the anchor only, in the right direction. */
    Hearth__Event d;
    Hearth__MemberChange ch;
    s_change_draft (&d, &ch, HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_PROMOTED, a, HEARTH__LEVEL__LEVEL_TRUSTED);
    HT_CHECK_EQ_INT (eventlog_append_local (log, b, &d, T0_MS + 6, NULL), HEARTH_EUNAUTHORIZED);
    HT_CHECK_EQ_INT (eventlog_append_local (log, root, &d, T0_MS + 6, NULL), 0);
    HT_CHECK_EQ_INT (eventlog_append_local (log, root, &d, T0_MS + 7, NULL), HEARTH_EUNAUTHORIZED);
    HT_CHECK_EQ_INT (membership_level (m, identity_public_key (a)), HEARTH__LEVEL__LEVEL_TRUSTED);
    s_change_draft (&d, &ch, HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_DEMOTED, root, HEARTH__LEVEL__LEVEL_MEMBER);
    HT_CHECK_EQ_INT (eventlog_append_local (log, root, &d, T0_MS + 8, NULL), HEARTH_EUNAUTHORIZED);
    /*  Revoke: trusted a proposes to revoke member b, which waits for a
        second signature (two eligible: the root and a); the root's
        endorsement completes it; b cannot post or rejoin. */
    s_change_draft (&d, &ch, HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_REVOKED, b, 0);
    ch.expires_at_ms = T0_MS + HOUR_MS;
    event_t *proposal = NULL;
    HT_CHECK_EQ_INT (eventlog_append_local (log, a, &d, T0_MS + 9, &proposal), 0);
    HT_CHECK_EQ_INT (membership_level (m, identity_public_key (b)), HEARTH__LEVEL__LEVEL_MEMBER);
    membership_proposal_t prop;
    HT_CHECK_EQ_INT (membership_proposal_find (m, proposal? event_id (proposal): "", &prop), 0);
    HT_CHECK_EQ_INT (prop.state, MEMBERSHIP_PROPOSAL_OPEN);
    HT_CHECK_EQ_INT (prop.threshold, 2);
    HT_CHECK_EQ_INT (prop.n_signers, 1);
    /*  The same signer twice does not count; b may not sign its own. */
    ch.expires_at_ms = 0;
    ch.proposal_event_id = proposal? (char *) event_id (proposal): (char *) "";
    HT_CHECK_EQ_INT (eventlog_append_local (log, a, &d, T0_MS + 9, NULL), HEARTH_EUNAUTHORIZED);
    HT_CHECK_EQ_INT (eventlog_append_local (log, b, &d, T0_MS + 9, NULL), HEARTH_EUNAUTHORIZED);
    HT_CHECK_EQ_INT (eventlog_append_local (log, root, &d, T0_MS + 9, NULL), 0);
    event_destroy (&proposal);
    HT_CHECK_EQ_INT (membership_level (m, identity_public_key (b)), HEARTH__LEVEL__LEVEL_NONE);
    HT_CHECK_EQ_INT (s_post (log, b, NULL, "Hi", T0_MS + 10, NULL), HEARTH_EREVOKED);
    HT_CHECK_EQ_INT (s_invite (log, root, b, HEARTH__LEVEL__LEVEL_MEMBER, T0_MS + HOUR_MS, T0_MS + 11, inv_c),
                     HEARTH_EUNAUTHORIZED);
    /*  The root cannot be revoked. */
    s_change_draft (&d, &ch, HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_REVOKED, root, 0);
    ch.expires_at_ms = T0_MS + HOUR_MS;
    HT_CHECK_EQ_INT (eventlog_append_local (log, a, &d, T0_MS + 12, NULL), HEARTH_EUNAUTHORIZED);
    /*  Expired invite on the local side. */
    HT_CHECK_EQ_INT (s_invite (log, root, c, HEARTH__LEVEL__LEVEL_MEMBER, T0_MS + 20, T0_MS + 13, inv_c), 0);
    HT_CHECK_EQ_INT (membership_invite_pending (m, identity_public_key (c), T0_MS + 20), 1);
    HT_CHECK_EQ_INT (membership_invite_pending (m, identity_public_key (c), T0_MS + 21), 0);
    HT_CHECK_EQ_INT (membership_invite_pending (m, identity_public_key (b), T0_MS + 13), 0);  /* revoked */
    HT_CHECK_EQ_INT (s_join (log, c, inv_c, T0_MS + 21), HEARTH_EUNAUTHORIZED);
    HT_CHECK_EQ_INT (s_join (log, c, inv_c, T0_MS + 20), 0);
    HT_CHECK_EQ_INT (membership_count (m), 3);     /* root, a, c */
    /*  Capture this log's frames and replay them on a fresh log in one call. */
    frames_t f = { 0 };
    HT_CHECK_EQ_INT (eventlog_scan (log, 0, s_collect, &f), 0);
    char *path2 = s_subdir (dir, "copy");
    eventlog_t *copy = eventlog_open (path2, &err);
    HT_CHECK_EQ_INT (eventlog_community_adopt (copy, identity_public_key (root)), 0);
    HT_CHECK_EQ_INT (eventlog_community_adopt (copy, identity_public_key (a)), HEARTH_EEXISTS);
    eventlog_ingest_result_t r;
    HT_CHECK_EQ_INT (s_ingest (copy, &f, 0, f.n, &r, NULL), 0);
    HT_CHECK_EQ_INT (r.accepted, f.n);
    uint8_t *s1, *s2;
    size_t l1, l2;
    membership_snapshot (m, &s1, &l1);
    membership_snapshot (eventlog_membership (copy), &s2, &l2);
    HT_CHECK (l1 == l2 && memcmp (s1, s2, l1) == 0);
    free (s1);
    free (s2);
    frames_free (&f);
    eventlog_destroy (&copy);
    free (path2);
    eventlog_destroy (&log);
    identity_destroy (&root);
    identity_destroy (&a);
    identity_destroy (&b);
    identity_destroy (&c);
    ht_rmtree (dir);
    free (dir);
}

/* ---- process-level properties ---------------------------------------------------- */

HT_TEST (test_open_locked)
{
    char *dir = ht_tmpdir ("locked");
    int err;
    eventlog_t *a = eventlog_open (dir, &err);
    HT_CHECK (a != NULL);
    eventlog_t *b = eventlog_open (dir, &err);
    HT_CHECK (b == NULL);
    HT_CHECK_EQ_INT (err, HEARTH_ELOCKED);
    eventlog_destroy (&a);
    b = eventlog_open (dir, &err);
    HT_CHECK (b != NULL);
    eventlog_destroy (&b);
    ht_rmtree (dir);
    free (dir);
}

/* ---- child processes -------------------------------------------------------
   A "crash" is a child that appends and _exits without closing (no snapshot,
   no flush). The child is this binary run again (fork + exec), so it starts
   with a clean RocksDB environment instead of a forked copy of ours. */

#define CRASH_EVENTS 40

static int
s_run_child (const char *mode, const char *dir)
{
    char arg [64];
    snprintf (arg, sizeof arg, "--child-%s", mode);
    pid_t pid = fork ();
    if (pid == 0) {
        execl ("/proc/self/exe", "test_eventlog", arg, dir, (char *) NULL);
        _exit (127);
    }
    int status = -1;
    if (pid < 0 || waitpid (pid, &status, 0) != pid)
        return -1;
    return WIFEXITED (status)? WEXITSTATUS (status): -1;
}

/*  Child of test_crash_consistency: community + CRASH_EVENTS posts in dir. */
static int
s_child_crash (const char *dir)
{
    identity_t *root = tu_identity (1);
    int err;
    eventlog_t *log = eventlog_open (dir, &err);
    if (!log || eventlog_community_create (log, root, "Kiez", T0_MS) != 0)
        return 2;
    for (int i = 0; i < CRASH_EVENTS; i++) {
        char client [32];
        snprintf (client, sizeof client, "crash-%d", i);
        if (s_post (log, root, client, "Crash test", T0_MS + 1 + (uint64_t) i, NULL) != 0)
            return 3;
    }
    return 0;                               /* no eventlog_destroy: a crash */
}

/*  Child of test_views_load_replays_tail: the world's source log is in
    dir/source; ingest all but 7 into dir/t, snapshot, ingest the 7. */
static int
s_child_tail (const char *dir)
{
    char *src = s_subdir (dir, "source"), *dst = s_subdir (dir, "t");
    int err;
    eventlog_t *source = eventlog_open (src, &err);
    frames_t f = { 0 };
    if (!source || eventlog_scan (source, 0, s_collect, &f) != 0 || f.n < 8)
        return 2;
    eventlog_destroy (&source);
    identity_t *root = tu_identity (1);
    eventlog_t *log = eventlog_open (dst, &err);
    tview_t view = { 0 };
    if (!log || eventlog_community_adopt (log, identity_public_key (root)) != 0)
        return 3;
    eventlog_view_t v = {
        .name = "test", .types = 0xFFFFFFFEu, .ctx = &view,
        .apply = tview_apply, .snapshot = tview_snapshot, .restore_begin = tview_restore_begin,
        .restore_chunk = tview_restore_chunk, .restore_end = tview_restore_end, .reset = tview_reset,
    };
    eventlog_ingest_result_t r;
    size_t head = f.n - 7;
    if (eventlog_view_register (log, &v) != 0 || eventlog_views_load (log, NULL) != 0
    ||  s_ingest (log, &f, 0, head, &r, NULL) != 0 || eventlog_views_snapshot (log) != 0
    ||  s_ingest (log, &f, head, 7, &r, NULL) != 0 || r.accepted != 7)
        return 4;
    return 0;                               /* no eventlog_destroy: a crash */
}

/*  Child of test_received_survive_process_kill: ingest the world's source
    log (dir/source) into dir/k in calls of 3 frames, as pushes arrive, then
    die by SIGKILL. Received batches are written without fsync (eventlog.h,
    "Durability"): what ingest returned must survive the process anyway. */
static int
s_child_kill (const char *dir)
{
    char *src = s_subdir (dir, "source"), *dst = s_subdir (dir, "k");
    int err;
    eventlog_t *source = eventlog_open (src, &err);
    frames_t f = { 0 };
    if (!source || eventlog_scan (source, 0, s_collect, &f) != 0 || f.n < 8)
        return 2;
    eventlog_destroy (&source);
    identity_t *root = tu_identity (1);
    eventlog_t *log = eventlog_open (dst, &err);
    if (!log || eventlog_community_adopt (log, identity_public_key (root)) != 0)
        return 3;
    for (size_t from = 0; from < f.n; from += 3) {
        eventlog_ingest_result_t r;
        size_t n = f.n - from < 3? f.n - from: 3;
        if (s_ingest (log, &f, from, n, &r, NULL) != 0 || r.accepted != n)
            return 4;
    }
    raise (SIGKILL);                        /* a crash: no close, no flush */
    return 5;
}

/*  A child process appends and dies without closing (no snapshot, no
    flush): the parent must find every acknowledged event with its indexes,
    the clock and the counters. */
HT_TEST (test_crash_consistency)
{
    char *dir = ht_tmpdir ("crash");
    identity_t *root = tu_identity (1);
    enum { N = CRASH_EVENTS };
    HT_CHECK_EQ_INT (s_run_child ("crash", dir), 0);
    int err;
    eventlog_t *log = eventlog_open (dir, &err);
    HT_CHECK (log != NULL);
    if (log) {
        const eventlog_stats_t *st = eventlog_stats (log);
        HT_CHECK_EQ_INT (st->lamport_head, N + 1);
        HT_CHECK_EQ_INT (st->seq, N + 1);
        HT_CHECK_EQ_INT (st->events_total, N + 1);
        HT_CHECK_EQ_INT (st->events_by_type [HEARTH__EVENT_TYPE__MARKET_POST_CREATED], N);
        HT_CHECK_EQ_INT (membership_level (eventlog_membership (log), identity_public_key (root)),
                         HEARTH__LEVEL__LEVEL_ANCHOR);
        for (int i = 0; i < N; i++) {
            char client [32], id [ULID_SIZE];
            snprintf (client, sizeof client, "crash-%d", i);
            HT_CHECK_EQ_INT (eventlog_find_client (log, identity_public_key (root), client, id), 0);
            event_t *ev = NULL;
            HT_CHECK_EQ_INT (eventlog_get_by_id (log, id, &ev), 0);
            HT_CHECK (ev && event_lamport (ev) == (uint64_t) i + 2);
            event_destroy (&ev);
        }
        event_t *ev = NULL;
        HT_CHECK_EQ_INT (s_post (log, root, "after", "After the crash", T0_MS + 100, &ev), 0);
        HT_CHECK (ev && event_lamport (ev) == N + 2);
        event_destroy (&ev);
        eventlog_destroy (&log);
    }
    identity_destroy (&root);
    ht_rmtree (dir);
    free (dir);
}

/*  Snapshot after 30 events, 7 more, crash: the reload restores the
    snapshot and replays exactly the 7. A restore that fails rebuilds. */
/*  Received events are stored unsynced; a killed process keeps them all
    (the WAL is in the page cache), with the clock, seq and counters. */
HT_TEST (test_received_survive_process_kill)
{
    world_t w;
    world_make (&w, "kill", 24);
    char *path = s_subdir (w.dir, "k");
    HT_CHECK_EQ_INT (s_run_child ("kill", w.dir), -1);      /* killed: no exit status */
    int err;
    eventlog_t *log = eventlog_open (path, &err);
    HT_CHECK (log != NULL);
    if (log) {
        const eventlog_stats_t *st = eventlog_stats (log);
        HT_CHECK_EQ_INT (st->events_total, w.frames.n);
        HT_CHECK_EQ_INT (st->seq, w.frames.n);
        for (size_t i = 0; i < w.frames.n; i++) {
            event_reject_t reason;
            event_t *ev = event_decode (w.frames.frames [i], w.frames.lens [i], &reason);
            HT_CHECK (ev != NULL);
            if (ev)
                HT_CHECK_EQ_INT (eventlog_has_hash (log, event_hash (ev)), 1);
            event_destroy (&ev);
        }
        eventlog_destroy (&log);
    }
    free (path);
    world_free (&w);
}

HT_TEST (test_views_load_replays_tail)
{
    world_t w;
    world_make (&w, "tail", 24);
    char *path = s_subdir (w.dir, "t");
    HT_CHECK_EQ_INT (s_run_child ("tail", w.dir), 0);
    int err;
    tview_t view = { 0 };
    eventlog_t *log = eventlog_open (path, &err);
    HT_CHECK (log != NULL);
    if (log) {
        s_register (log, &view);
        uint64_t replayed = 0;
        HT_CHECK_EQ_INT (eventlog_views_load (log, &replayed), 0);
        HT_CHECK_EQ_INT (replayed, 7);
        HT_CHECK_EQ_INT (view.applies, 7);
        HT_CHECK_EQ_INT (view.n, w.frames.n);
        uint8_t d1 [32], d2 [32];
        tview_digest (&view, d1);
        HT_CHECK_EQ_INT (eventlog_views_rebuild (log), 0);
        tview_digest (&view, d2);
        HT_CHECK (memcmp (d1, d2, 32) == 0);
        eventlog_destroy (&log);            /* snapshots at seq = all */
    }
    tview_free (&view);
    /*  A snapshot the view cannot restore: reset and full rebuild. */
    log = eventlog_open (path, &err);
    if (log) {
        view.fail_restore = 1;
        s_register (log, &view);
        uint64_t replayed = 0;
        HT_CHECK_EQ_INT (eventlog_views_load (log, &replayed), 0);
        HT_CHECK_EQ_INT (replayed, w.frames.n);
        HT_CHECK_EQ_INT (view.n, w.frames.n);
        eventlog_destroy (&log);
    }
    tview_free (&view);
    free (path);
    world_free (&w);
}

/*  Threads 1, 2 and 4 give the same verdict for every frame and the same state. */
HT_TEST (test_verify_threads_same_results)
{
    world_t w;
    world_make (&w, "threads", 700);      /* > 2 ingest batches */
    /*  Mix in bad frames and repeats across chunk borders. */
    frames_t f = { 0 };
    for (size_t i = 0; i < w.frames.n; i++) {
        frames_add (&f, w.frames.frames [i], w.frames.lens [i]);
        if (i % 97 == 5) {
            frames_add (&f, w.frames.frames [i], w.frames.lens [i]);
            f.frames [f.n - 1][f.lens [f.n - 1] - 2] ^= 1;            /* bad signature */
        }
        if (i % 131 == 7 && i > 300)
            frames_add (&f, w.frames.frames [i - 260], w.frames.lens [i - 260]);  /* repeat, prior chunk */
    }
    event_reject_t *ref = calloc (f.n, sizeof *ref), *codes = calloc (f.n, sizeof *codes);
    uint8_t ref_digest [32];
    int threads [] = { 1, 2, 4 };
    for (int t = 0; t < 3; t++) {
        char name [16];
        snprintf (name, sizeof name, "t%d", threads [t]);
        tview_t view = { 0 };
        eventlog_t *log = world_target (&w, name, &view);
        if (!log)
            break;
        HT_CHECK_EQ_INT (eventlog_set_verify_threads (log, threads [t]), 0);
        eventlog_ingest_result_t r;
        HT_CHECK_EQ_INT (s_ingest (log, &f, 0, f.n, &r, t? codes: ref), 0);
        HT_CHECK_EQ_INT (r.accepted, w.frames.n);
        uint8_t d [32];
        tview_digest (&view, d);
        if (t == 0)
            memcpy (ref_digest, d, 32);
        else {
            HT_CHECK (memcmp (d, ref_digest, 32) == 0);
            HT_CHECK (memcmp (codes, ref, f.n * sizeof *ref) == 0);
        }
        HT_CHECK (r.rejected [EVENT_REJECT_SIGNATURE] > 0);
        HT_CHECK (r.rejected [EVENT_REJECT_DUPLICATE] > 0);
        /*  Changing the thread count between calls is fine. */
        HT_CHECK_EQ_INT (eventlog_set_verify_threads (log, 1), 0);
        eventlog_destroy (&log);
        tview_free (&view);
    }
    free (ref);
    free (codes);
    frames_free (&f);
    world_free (&w);
}

/*  Signatures are checked in batches of the verify pool's claims: a bad
    signature anywhere in a call is rejected with EVENT_REJECT_SIGNATURE
    and nothing else is, whatever the thread count, and frame by frame
    (the single-event path) gives the same codes. */
HT_TEST (test_ingest_signature_verdicts_exact)
{
    world_t w;
    world_make (&w, "sigcodes", 300);
    frames_t f = { 0 };
    size_t bad = 0;
    for (size_t i = 0; i < w.frames.n; i++) {
        frames_add (&f, w.frames.frames [i], w.frames.lens [i]);
        if (i >= w.n_prefix && i % 37 == 3) {
            /*  The signature is the frame's last 64 bytes: R, then S. */
            size_t at = (i / 37) % 2? f.lens [f.n - 1] - 40: f.lens [f.n - 1] - 10;
            f.frames [f.n - 1][at] ^= 0x20;
            bad++;
        }
    }
    event_reject_t *codes = calloc (f.n, sizeof *codes);
    int threads [] = { 1, 2, 0 };           /* 0: one frame per call */
    for (int t = 0; t < 3; t++) {
        char name [16];
        snprintf (name, sizeof name, "s%d", t);
        eventlog_t *log = world_target (&w, name, NULL);
        if (!log)
            break;
        eventlog_ingest_result_t r;
        size_t accepted = 0, rejected = 0;
        if (threads [t]) {
            HT_CHECK_EQ_INT (eventlog_set_verify_threads (log, threads [t]), 0);
            HT_CHECK_EQ_INT (s_ingest (log, &f, 0, f.n, &r, codes), 0);
            accepted = r.accepted;
            rejected = r.rejected [EVENT_REJECT_SIGNATURE];
        }
        else
            for (size_t i = 0; i < f.n; i++) {
                HT_CHECK_EQ_INT (s_ingest (log, &f, i, 1, &r, codes + i), 0);
                accepted += r.accepted;
                rejected += r.rejected [EVENT_REJECT_SIGNATURE];
            }
        HT_CHECK_EQ_INT (accepted, f.n - bad);
        HT_CHECK_EQ_INT (rejected, bad);
        for (size_t i = 0; i < f.n; i++) {
            int is_bad = i >= w.n_prefix && i % 37 == 3;
            HT_CHECK_EQ_INT (codes [i], is_bad? EVENT_REJECT_SIGNATURE: EVENT_REJECT_NONE);
        }
        eventlog_destroy (&log);
    }
    free (codes);
    frames_free (&f);
    world_free (&w);
}

/*  The mesh hooks: accept hook with origin, has_hash, get_wire, scan_order. */
typedef struct {
    size_t      calls, with_origin;
    const void *last_origin;
} hook_seen_t;

static void
s_hook (void *arg, const event_t *ev, const void *origin)
{
    hook_seen_t *h = (hook_seen_t *) arg;
    (void) ev;
    h->calls++;
    h->with_origin += origin != NULL;
    h->last_origin = origin;
}

static int
s_count_order (void *arg, uint64_t lamport, const uint8_t hash [32])
{
    uint64_t *prev = (uint64_t *) arg;
    (void) hash;
    if (lamport < prev [1])
        return -1;                          /* out of order */
    prev [1] = lamport;
    prev [0]++;
    return 0;
}

HT_TEST (test_mesh_hooks)
{
    world_t w;
    world_make (&w, "hooks", 10);
    eventlog_t *log = world_target (&w, "t", NULL);
    if (!log)
        return;
    hook_seen_t seen = { 0 };
    eventlog_set_accept_hook (log, s_hook, &seen);
    int link = 0;
    eventlog_ingest_result_t r;
    HT_CHECK_EQ_INT (eventlog_ingest_from (log, (const uint8_t *const *) w.frames.frames, w.frames.lens,
                                           w.frames.n, &link, &r, NULL), 0);
    HT_CHECK_EQ_INT (seen.calls, w.frames.n);
    HT_CHECK_EQ_INT (seen.with_origin, w.frames.n);
    HT_CHECK (seen.last_origin == &link);
    /*  Repeats are not accepted, so the hook does not fire. */
    HT_CHECK_EQ_INT (s_ingest (log, &w.frames, 0, w.frames.n, &r, NULL), 0);
    HT_CHECK_EQ_INT (seen.calls, w.frames.n);
    /*  A local append fires it with no origin. */
    HT_CHECK_EQ_INT (s_post (log, w.m [0], "hook-1", "Hooked", T0_MS + 999, NULL), 0);
    HT_CHECK_EQ_INT (seen.calls, w.frames.n + 1);
    HT_CHECK (seen.last_origin == NULL);
    event_reject_t reason;
    event_t *ev = event_decode (w.frames.frames [3], w.frames.lens [3], &reason);
    HT_CHECK (ev && eventlog_has_hash (log, event_hash (ev)) == 1);
    uint8_t *wire = NULL;
    size_t len = 0;
    HT_CHECK_EQ_INT (eventlog_get_wire (log, event_hash (ev), &wire, &len), 0);
    HT_CHECK (wire && len == w.frames.lens [3] && memcmp (wire, w.frames.frames [3], len) == 0);
    free (wire);
    uint8_t nohash [32] = { 0 };
    HT_CHECK_EQ_INT (eventlog_has_hash (log, nohash), 0);
    HT_CHECK_EQ_INT (eventlog_get_wire (log, nohash, &wire, &len), HEARTH_ENOTFOUND);
    event_destroy (&ev);
    uint64_t count [2] = { 0, 0 };
    HT_CHECK_EQ_INT (eventlog_scan_order (log, s_count_order, count), 0);
    HT_CHECK_EQ_INT (count [0], w.frames.n + 1);
    eventlog_set_accept_hook (log, NULL, NULL);
    HT_CHECK_EQ_INT (s_post (log, w.m [0], "hook-2", "Unhooked", T0_MS + 1000, NULL), 0);
    HT_CHECK_EQ_INT (seen.calls, w.frames.n + 1);
    eventlog_destroy (&log);
    world_free (&w);
}

/*  Snapshots every EVENTLOG_SNAPSHOT_EVERY events while the log is small,
    then every quarter of it: a log grown to 1M events one at a time is
    snapshotted ~15 times (not 100), all the snapshots together serialize
    < 5 final views' worth (not 50), and the replay tail never passes a
    quarter of the log. */
HT_TEST (test_snapshot_interval_grows)
{
    HT_CHECK (!eventlog_snapshot_due (0, 0));
    HT_CHECK (!eventlog_snapshot_due (9999, 9999));
    HT_CHECK (eventlog_snapshot_due (10000, 10000));
    HT_CHECK (!eventlog_snapshot_due (1000000, 249999));
    HT_CHECK (eventlog_snapshot_due (1000000, 250000));
    uint64_t since = 0, snapshots = 0, serialized = 0, worst_tail = 0;
    for (uint64_t total = 1; total <= 1000000; total++) {
        since++;
        if (eventlog_snapshot_due (total, since)) {
            snapshots++;
            serialized += total;
            since = 0;
        }
        if (total >= 100000 && since * 100 / total > worst_tail)
            worst_tail = since * 100 / total;
    }
    HT_CHECK (snapshots >= 13 && snapshots <= 18);
    HT_CHECK (serialized < 5 * 1000000ULL);
    HT_CHECK (worst_tail <= 25);                /* percent of the log */
}

/*  A member's invite budget: windows, the per-inviter cap, pruning by the
    inviter's own invite clock, a snapshot of older rules is not restored,
    and a data dir holding a Lamport-0 event drops it at open. */
HT_TEST (test_invite_budget)
{
    char *dir = ht_tmpdir ("budget");
    identity_t *root = tu_identity (1), *a = tu_identity (2), *h = tu_identity (200);
    int err;
    eventlog_t *log = eventlog_open (dir, &err);
    if (!log)
        return;
    HT_CHECK_EQ_INT (eventlog_community_create (log, root, "Kiez", T0_MS), 0);
    const membership_t *m = eventlog_membership (log);
    char id [ULID_SIZE];
    HT_CHECK_EQ_INT (s_invite (log, root, a, HEARTH__LEVEL__LEVEL_MEMBER, T0_MS + HOUR_MS, T0_MS + 1, id), 0);
    HT_CHECK_EQ_INT (s_join (log, a, id, T0_MS + 2), 0);
    /*  Windows: not expired when signed, at most MEMBERSHIP_INVITE_MAX_TTL_MS. */
    identity_t *g [40];
    for (int i = 0; i < 40; i++)
        g [i] = tu_identity ((uint8_t) (100 + i));
    HT_CHECK_EQ_INT (s_invite (log, a, g [0], HEARTH__LEVEL__LEVEL_MEMBER, T0_MS + 10, T0_MS + 10, id),
                     HEARTH_EUNAUTHORIZED);
    HT_CHECK_EQ_INT (s_invite (log, a, g [0], HEARTH__LEVEL__LEVEL_MEMBER, T0_MS + 9, T0_MS + 10, id),
                     HEARTH_EUNAUTHORIZED);
    HT_CHECK_EQ_INT (s_invite (log, a, g [0], HEARTH__LEVEL__LEVEL_MEMBER,
                               T0_MS + 10 + MEMBERSHIP_INVITE_MAX_TTL_MS + 1, T0_MS + 10, id),
                     HEARTH_EUNAUTHORIZED);
    /*  The cap: 32 pending for a member, then refused; the root is not bound by it. */
    for (int i = 0; i < MEMBERSHIP_INVITES_PER_MEMBER; i++)
        HT_CHECK_EQ_INT (s_invite (log, a, g [i], HEARTH__LEVEL__LEVEL_MEMBER, T0_MS + HOUR_MS,
                                   T0_MS + 20 + (uint64_t) i, id), 0);
    HT_CHECK_EQ_INT (membership_invites_of (m, identity_public_key (a)), MEMBERSHIP_INVITES_PER_MEMBER);
    HT_CHECK_EQ_INT (s_invite (log, a, g [32], HEARTH__LEVEL__LEVEL_MEMBER, T0_MS + HOUR_MS, T0_MS + 60, id),
                     HEARTH_EUNAUTHORIZED);
    HT_CHECK_EQ_INT (s_invite (log, root, g [33], HEARTH__LEVEL__LEVEL_MEMBER, T0_MS + HOUR_MS, T0_MS + 61, id), 0);
    /*  A redeemed invite frees its slot. */
    HT_CHECK_EQ_INT (s_invite (log, root, g [34], HEARTH__LEVEL__LEVEL_MEMBER, T0_MS + HOUR_MS, T0_MS + 62, id), 0);
    HT_CHECK_EQ_INT (s_join (log, g [34], id, T0_MS + 63), 0);
    HT_CHECK_EQ_INT (membership_invites (m), MEMBERSHIP_INVITES_PER_MEMBER + 1);
    /*  Past the grace after their expiry (by a's own next invite's time),
        the old ones are pruned and a may invite again. Before it, not. */
    uint64_t late = T0_MS + HOUR_MS + MEMBERSHIP_INVITE_GRACE_MS;
    HT_CHECK_EQ_INT (s_invite (log, a, h, HEARTH__LEVEL__LEVEL_MEMBER, late + HOUR_MS, late - 1, id),
                     HEARTH_EUNAUTHORIZED);
    HT_CHECK_EQ_INT (s_invite (log, a, h, HEARTH__LEVEL__LEVEL_MEMBER, late + HOUR_MS, late, id), 0);
    HT_CHECK_EQ_INT (membership_invites_of (m, identity_public_key (a)), 1);
    HT_CHECK_EQ_INT (membership_invites (m), 2);        /* root's pending one and a's newest */
    HT_CHECK_EQ_INT (s_join (log, h, id, late + 2), 0);
    HT_CHECK_EQ_INT (membership_invites_of (m, identity_public_key (a)), 0);
    /*  The snapshot carries the budget; one of other rules is not restored. */
    uint8_t *snap = NULL, *snap2 = NULL;
    size_t len = 0, len2 = 0;
    HT_CHECK_EQ_INT (membership_snapshot (m, &snap, &len), 0);
    membership_t *copy = membership_new (identity_public_key (root));
    HT_CHECK_EQ_INT (membership_restore (copy, snap, len), 0);
    HT_CHECK_EQ_INT (membership_snapshot (copy, &snap2, &len2), 0);
    HT_CHECK (len == len2 && memcmp (snap, snap2, len) == 0);
    Hearth__MembershipSnapshot *old = hearth__membership_snapshot__unpack (NULL, len, snap);
    HT_CHECK (old != NULL);
    if (old) {
        old->rules_version = 0;
        size_t olen = hearth__membership_snapshot__get_packed_size (old);
        uint8_t *buf = malloc (olen);
        hearth__membership_snapshot__pack (old, buf);
        HT_CHECK_EQ_INT (membership_restore (copy, buf, olen), HEARTH_ECORRUPT);
        free (buf);
        hearth__membership_snapshot__free_unpacked (old, NULL);
    }
    free (snap);
    free (snap2);
    membership_destroy (&copy);
    /*  A stored event at Lamport 0 (as an older version accepted): dropped
        at the next open, counted, and no scan or count misses anything. */
    uint64_t before = eventlog_stats (log)->events_total;
    tu_post_t p;
    tu_post_init (&p, a, identity_public_key (root), 0, T0_MS, 900, "zero", "Zero");
    size_t wlen;
    uint8_t *wire = tu_sign_raw (&p.ev, a, &wlen);
    const uint8_t *frames [1] = { wire };
    HT_CHECK_EQ_INT (eventlog_store_unchecked (log, frames, &wlen, 1), 0);
    HT_CHECK_EQ_INT (eventlog_stats (log)->events_total, before + 1);
    eventlog_destroy (&log);
    log = eventlog_open (dir, &err);
    HT_CHECK (log != NULL);
    if (log) {
        HT_CHECK_EQ_INT (eventlog_stats (log)->dropped_on_open, 1);
        HT_CHECK_EQ_INT (eventlog_stats (log)->events_total, before);
        frames_t f = { 0 };
        HT_CHECK_EQ_INT (eventlog_scan (log, 0, s_collect, &f), 0);
        HT_CHECK_EQ_INT (f.n, before);
        frames_free (&f);
        char found [ULID_SIZE];
        HT_CHECK_EQ_INT (eventlog_find_client (log, identity_public_key (a), "zero", found), HEARTH_ENOTFOUND);
        HT_CHECK_EQ_INT (membership_invites (eventlog_membership (log)), 1);
        eventlog_destroy (&log);
        log = eventlog_open (dir, &err);
        HT_CHECK (log && eventlog_stats (log)->dropped_on_open == 0);
    }
    free (wire);
    eventlog_destroy (&log);
    for (int i = 0; i < 40; i++)
        identity_destroy (&g [i]);
    identity_destroy (&h);
    identity_destroy (&root);
    identity_destroy (&a);
    ht_rmtree (dir);
    free (dir);
}

/*  After a snapshot that did not fit on the disk: 1 s, doubling, at most
    a minute between attempts. */
HT_TEST (test_snapshot_backoff)
{
    HT_CHECK (eventlog_snapshot_backoff_ms (0) == EVENTLOG_SNAPSHOT_RETRY_MIN_MS);
    HT_CHECK (eventlog_snapshot_backoff_ms (1) == 1000);
    HT_CHECK (eventlog_snapshot_backoff_ms (2) == 2000);
    HT_CHECK (eventlog_snapshot_backoff_ms (6) == 32000);
    HT_CHECK (eventlog_snapshot_backoff_ms (7) == EVENTLOG_SNAPSHOT_RETRY_MAX_MS);
    HT_CHECK (eventlog_snapshot_backoff_ms (UINT32_MAX) == EVENTLOG_SNAPSHOT_RETRY_MAX_MS);
}

/*  Named values: only listed names, kept across a reopen, replaced by a
    put, capped in size. */
HT_TEST (test_meta_named_values)
{
    char *dir = ht_tmpdir ("meta");
    int err;
    eventlog_t *log = eventlog_open (dir, &err);
    HT_CHECK (log != NULL);
    uint8_t *buf = NULL;
    size_t len = 0;
    HT_CHECK_EQ_INT (eventlog_meta_get (log, "peers", &buf, &len), HEARTH_ENOTFOUND);
    HT_CHECK (buf == NULL);
    HT_CHECK_EQ_INT (eventlog_meta_put (log, "clock", (const uint8_t *) "x", 1), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (eventlog_meta_get (log, "view/market", &buf, &len), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (eventlog_meta_put (log, NULL, (const uint8_t *) "x", 1), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (eventlog_meta_put (log, "peers", (const uint8_t *) "first", 5), 0);
    HT_CHECK_EQ_INT (eventlog_meta_put (log, "peers", (const uint8_t *) "second", 6), 0);
    HT_CHECK_EQ_INT (eventlog_meta_put (log, "peers", NULL, EVENTLOG_META_VALUE_MAX + 1), HEARTH_ETOOBIG);
    eventlog_destroy (&log);
    log = eventlog_open (dir, &err);
    HT_CHECK (log != NULL);
    HT_CHECK_EQ_INT (eventlog_meta_get (log, "peers", &buf, &len), 0);
    HT_CHECK (buf && len == 6 && memcmp (buf, "second", 6) == 0);
    free (buf);
    HT_CHECK_EQ_INT (eventlog_meta_put (log, "peers", NULL, 0), 0);
    HT_CHECK_EQ_INT (eventlog_meta_get (log, "peers", &buf, &len), 0);
    HT_CHECK (buf && len == 0);
    free (buf);
    eventlog_destroy (&log);
    ht_rmtree (dir);
    free (dir);
}

int
main (int argc, char **argv)
{
    if (argc == 3 && strcmp (argv [1], "--child-crash") == 0)
        _exit (s_child_crash (argv [2]));
    if (argc == 3 && strcmp (argv [1], "--child-tail") == 0)
        _exit (s_child_tail (argv [2]));
    if (argc == 3 && strcmp (argv [1], "--child-kill") == 0)
        _exit (s_child_kill (argv [2]));
    HT_RUN (test_append_local_persists_and_signs);
    HT_RUN (test_append_received_rejects_bad_signature);
    HT_RUN (test_duplicate_event_id_is_noop);
    HT_RUN (test_replay_idempotent);
    HT_RUN (test_replay_order_independence);
    HT_RUN (test_snapshot_roundtrip);
    HT_RUN (test_snapshot_chunks_roundtrip);
    HT_RUN (test_snapshot_chunk_faults_rebuild);
    HT_RUN (test_snapshot_orphan_chunks_removed);
    HT_RUN (test_snapshot_single_value_still_restores);
    HT_RUN (test_reject_reasons);
    HT_RUN (test_membership_rules);
    HT_RUN (test_open_locked);
    HT_RUN (test_crash_consistency);
    HT_RUN (test_views_load_replays_tail);
    HT_RUN (test_received_survive_process_kill);
    HT_RUN (test_verify_threads_same_results);
    HT_RUN (test_ingest_signature_verdicts_exact);
    HT_RUN (test_mesh_hooks);
    HT_RUN (test_snapshot_interval_grows);
    HT_RUN (test_invite_budget);
    HT_RUN (test_snapshot_backoff);
    HT_RUN (test_meta_named_values);
    return ht_summary ();
}
