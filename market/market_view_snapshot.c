/*  market_view_snapshot.c — the market view's persistence: its state as
    snapshot records (market_view_records, _snapshot, _digest), the
    restore from them (market_view_restore_*), and the adapter that
    registers the view with the event log (market_view_as_eventlog_view).

    Invariants: the records are a pure function of the view's state (posts
    in id order, so equal event sets give equal bytes and equal digests on
    every node); a restore builds its state in a fresh view and swaps it in
    only at a committed end, so a failed or abandoned restore leaves the
    view as it was; everything read back is checked against the field
    limits (EVENT_MAX_*, MARKET_VIEW_MAX_*) and refused as HEARTH_ECORRUPT,
    never asserted. The view's struct and shared helpers are in
    market_view_private.h; the fold is in market_view.c.
*/
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "hearth_error.h"
#include "hearth_vec.h"
#include "market_view_private.h"

/*  MarketSnapshot.version written and accepted. 2 added the update's ttl,
    cleared location, newest update and history, and the claim's wall
    clock: a version-1 snapshot lacks them, so it is refused and the view
    is rebuilt from the log (eventlog.h, "Snapshots"). */
#define S_SNAPSHOT_VERSION    2
/*  The three market event types as an eventlog_view_t mask. */
#define S_TYPES_MASK ((1u << HEARTH__EVENT_TYPE__MARKET_POST_CREATED) \
                    | (1u << HEARTH__EVENT_TYPE__MARKET_POST_UPDATED) \
                    | (1u << HEARTH__EVENT_TYPE__MARKET_POST_EXPIRED))

/* ---- posts restore adds ------------------------------------------------- */

/*  The entry for id, created if needed (ECAPACITY at MARKET_VIEW_MAX_POSTS). */
static int
s_post_get (market_view_t *self, const char *id, s_post_t **out)
{
    uint32_t at;
    return market_view_post_add (self, id, out, &at);
}

/*  Queue a post for the search index. */
static void
s_mark_dirty (market_view_t *self, const s_post_t *p)
{
    //  Restore marks each post just after adding it: no lookup for that
    if (self->n_posts > 0 && s_post_at (self, self->n_posts - 1) == p) {
        s_mark_dirty_at (self, (uint32_t) (self->n_posts - 1));
        return;
    }
    market_idx_keys_t keys = { s_key_of, self };
    uint32_t at;
    int rc = market_idx_get (self->by_id, p->id, &keys, &at);
    assert (rc == 0);               // every post is in by_id
    (void) rc;
    s_mark_dirty_at (self, at);
}

/* ---- snapshot / restore ------------------------------------------------------ */

static int
s_cmp_post_id (const void *a, const void *b)
{
    return strcmp ((*(const s_post_t *const *) a)->id, (*(const s_post_t *const *) b)->id);
}

/*  The snapshot is streamed as records (eventlog.h, "Snapshots"): first
    the header, pack (MarketSnapshot {version, max_lamport}), then per
    post in id order the bytes of one element of field 3: its tag (0x1a),
    a varint length and pack (MarketPostState). protobuf-c packs fields in
    field-number order, so the concatenation is byte for byte the single
    pack of the whole MarketSnapshot written before records (the digest
    did not change), and any run of whole records, with the header or
    without, is itself a MarketSnapshot message: a chunk unpacks alone.
    A record is built from the fixed temporaries of s_record_t (a post
    holds at most MARKET_VIEW_MAX_CLAIMERS updates and claims), so the
    stream costs the sorted array of post pointers (8 B per post) and one
    record buffer, never a copy of the view. */

/*  Field 3 (posts), length-delimited: (3 << 3) | 2. */
#define S_POSTS_TAG 0x1a
/*  Largest post record: a .created's fields fit an event
    (EVENT_MAX_BYTES), so does each author's set of update winners (title
    200 + body 8000 + 16 tags of 32 + label 120 + four ids and lamports,
    under 9.3 KB), a claim is under 128 B (author, id, lamport, reason),
    and the post's own fields (id, lamports, author, hash) and the record's
    tag and length under 256 B: ~545 KB; plus each author's history
    (MARKET_VIEW_MAX_HISTORY hashes of 32 B, 2 B of tag and length each)
    and its ttl and newest stamps (under 128 B): ~830 KB. */
#define S_RECORD_BOUND ((1 + MARKET_VIEW_MAX_CLAIMERS) * (size_t) EVENT_MAX_BYTES \
                        + MARKET_VIEW_MAX_CLAIMERS * (128 + 128 + MARKET_VIEW_MAX_HISTORY * 34) \
                        + 256)
_Static_assert (S_RECORD_BOUND <= EVENTLOG_SNAPSHOT_RECORD_MAX,
                "a post record fits the eventlog's record cap");

/*  Temporaries for one post record: protobuf-c structs pointing into the
    state (protobuf-c packs, never writes through them), and the packed
    record. */
typedef struct {
    Hearth__MarketPostState    st;
    Hearth__MarketPostCreated  cr;
    Hearth__Location           locs [1 + MARKET_VIEW_MAX_CLAIMERS];
    Hearth__MarketFieldUpdates upds [MARKET_VIEW_MAX_CLAIMERS];
    Hearth__MarketFieldUpdates *upd_ptrs [MARKET_VIEW_MAX_CLAIMERS];
    Hearth__MarketExpiryClaim  claims [MARKET_VIEW_MAX_CLAIMERS];
    Hearth__MarketExpiryClaim  *claim_ptrs [MARKET_VIEW_MAX_CLAIMERS];
    ProtobufCBinaryData        history [MARKET_VIEW_MAX_CLAIMERS][MARKET_VIEW_MAX_HISTORY];
    uint8_t                   *buf;         /* owned: the record */
    size_t                     cap;
} s_record_t;

/*  Fill r->st for post p. */
static void
s_record_fill (s_record_t *r, const s_post_t *p)
{
    //  The fold and restore keep at most MARKET_VIEW_MAX_CLAIMERS of each
    assert (p->n_upds <= MARKET_VIEW_MAX_CLAIMERS && p->n_claims <= MARKET_VIEW_MAX_CLAIMERS);
    Hearth__MarketPostState *st = &r->st;
    hearth__market_post_state__init (st);
    st->event_id = (char *) p->id;
    st->created = p->created;
    size_t l = 0;
    if (p->created) {
        Hearth__MarketPostCreated *cr = &r->cr;
        hearth__market_post_created__init (cr);
        cr->client_id = (char *) s_cr_client_id (&p->cr);
        cr->category = (Hearth__Category) p->cr.category;
        cr->title = (char *) s_cr_title (&p->cr);
        cr->body = (char *) s_cr_body (&p->cr);
        cr->tags = s_cr_tags (&p->cr);
        cr->n_tags = p->cr.n_tags;
        cr->ttl_seconds = s_cr_ttl_seconds (&p->cr);
        if (p->cr.has_loc) {
            Hearth__Location *loc = &r->locs [l++];
            hearth__location__init (loc);
            loc->lat = s_cr_lat (&p->cr);
            loc->lng = s_cr_lng (&p->cr);
            loc->label = (char *) s_cr_label (&p->cr);
            cr->location = loc;
        }
        st->lamport = p->lamport;
        st->wall_clock_ms = p->wall_ms;
        st->author.data = (uint8_t *) p->author;
        st->author.len = 32;
        st->created_hash.data = (uint8_t *) p->hash;
        st->created_hash.len = 32;
        st->post = cr;
    }
    st->updates = r->upd_ptrs;
    st->n_updates = p->n_upds;
    for (size_t j = 0; j < p->n_upds; j++) {
        const s_upd_t *src = &p->upds [j];
        Hearth__MarketFieldUpdates *d = &r->upds [j];
        hearth__market_field_updates__init (d);
        d->author.data = (uint8_t *) src->author;
        d->author.len = 32;
        if (src->title_at.event_id) {
            d->title_event_id = src->title_at.event_id;
            d->title_lamport = src->title_at.lamport;
            d->title = src->title;
        }
        if (src->body_at.event_id) {
            d->body_event_id = src->body_at.event_id;
            d->body_lamport = src->body_at.lamport;
            d->body = src->body;
        }
        if (src->tags_at.event_id) {
            d->tags_event_id = src->tags_at.event_id;
            d->tags_lamport = src->tags_at.lamport;
            d->tags = src->tags;
            d->n_tags = src->n_tags;
        }
        if (src->loc_at.event_id) {
            d->location_event_id = src->loc_at.event_id;
            d->location_lamport = src->loc_at.lamport;
            d->location_cleared = src->loc_cleared;
            if (!src->loc_cleared) {
                Hearth__Location *loc = &r->locs [l++];
                hearth__location__init (loc);
                loc->lat = src->lat;
                loc->lng = src->lng;
                loc->label = src->label;
                d->location = loc;
            }
        }
        if (src->ttl_at.event_id) {
            d->ttl_event_id = src->ttl_at.event_id;
            d->ttl_lamport = src->ttl_at.lamport;
            d->ttl_seconds = src->ttl_seconds;
            d->ttl_wall_clock_ms = src->ttl_wall_ms;
        }
        if (src->latest_at.event_id) {
            d->latest_event_id = src->latest_at.event_id;
            d->latest_lamport = src->latest_at.lamport;
            d->latest_wall_clock_ms = src->latest_wall_ms;
        }
        assert (src->n_history <= MARKET_VIEW_MAX_HISTORY);
        for (size_t h = 0; h < src->n_history; h++) {
            r->history [j][h].data = src->history [h];
            r->history [j][h].len = 32;
        }
        d->history = r->history [j];
        d->n_history = src->n_history;
        r->upd_ptrs [j] = d;
    }
    st->claims = r->claim_ptrs;
    st->n_claims = p->n_claims;
    for (size_t j = 0; j < p->n_claims; j++) {
        Hearth__MarketExpiryClaim *d = &r->claims [j];
        hearth__market_expiry_claim__init (d);
        d->event_id = p->claims [j].event_id;
        d->lamport = p->claims [j].lamport;
        d->author.data = (uint8_t *) p->claims [j].author;
        d->author.len = 32;
        d->reason = (Hearth__ExpiryReason) p->claims [j].reason;
        d->wall_clock_ms = p->claims [j].wall_ms;
        r->claim_ptrs [j] = d;
    }
}

/*  Pack post p's record into r->buf; its length, or 0 (ENOMEM/ETOOBIG in *rc). */
static size_t
s_record_pack (s_record_t *r, const s_post_t *p, int *rc)
{
    s_record_fill (r, p);
    size_t size = hearth__market_post_state__get_packed_size (&r->st);
    size_t len = 1 + 10 + size;             /* tag, varint (<= 10 bytes), message */
    if (len > EVENTLOG_SNAPSHOT_RECORD_MAX) {
        *rc = HEARTH_ETOOBIG;               /* not with state within the caps */
        return 0;
    }
    if (HEARTH_VEC_GROW (r->buf, r->cap, len, 4096)) {
        *rc = HEARTH_ENOMEM;
        return 0;
    }
    size_t at = 0;
    r->buf [at++] = S_POSTS_TAG;
    for (uint64_t v = size; ; v >>= 7) {
        r->buf [at++] = (uint8_t) ((v & 0x7f) | (v >= 0x80? 0x80: 0));
        if (v < 0x80)
            break;
    }
    return at + hearth__market_post_state__pack (&r->st, r->buf + at);
}

int
market_view_records (market_view_t *self, eventlog_record_fn *emit, void *arg)
{
    size_t n = self->n_posts;
    s_post_t **sorted = (s_post_t **) malloc ((n + 1) * sizeof *sorted);
    s_record_t *r = (s_record_t *) calloc (1, sizeof *r);
    int rc = HEARTH_ENOMEM;
    if (!sorted || !r)
        goto done;
    for (size_t i = 0; i < n; i++)
        sorted [i] = s_post_at (self, i);
    qsort (sorted, n, sizeof *sorted, s_cmp_post_id);

    Hearth__MarketSnapshot head = HEARTH__MARKET_SNAPSHOT__INIT;
    head.version = S_SNAPSHOT_VERSION;
    head.max_lamport = self->max_lamport;
    uint8_t hbuf [32];                      /* two tags and two varints: <= 17 B */
    assert (hearth__market_snapshot__get_packed_size (&head) <= sizeof hbuf);
    rc = emit (arg, hbuf, hearth__market_snapshot__pack (&head, hbuf));
    for (size_t i = 0; rc == 0 && i < n; i++) {
        size_t len = s_record_pack (r, sorted [i], &rc);
        if (len)
            rc = emit (arg, r->buf, len);
    }
done:
    free (sorted);
    if (r)
        free (r->buf);
    free (r);
    return rc;
}

/*  Appends records to a growing buffer (market_view_snapshot). */
typedef struct {
    uint8_t *buf;                           /* owned until handed out */
    size_t   len, cap;
} s_concat_t;

static int
s_concat_emit (void *arg, const uint8_t *rec, size_t len)
{
    s_concat_t *c = (s_concat_t *) arg;
    if (HEARTH_VEC_GROW (c->buf, c->cap, c->len + len, 4096))
        return HEARTH_ENOMEM;
    memcpy (c->buf + c->len, rec, len);
    c->len += len;
    return 0;
}

int
market_view_snapshot (market_view_t *self, uint8_t **buf, size_t *len)
{
    s_concat_t c = { NULL, 0, 0 };
    int rc = market_view_records (self, s_concat_emit, &c);
    if (rc) {
        free (c.buf);
        return rc;
    }
    *buf = c.buf;
    *len = c.len;
    return 0;
}

static int
s_digest_emit (void *arg, const uint8_t *rec, size_t len)
{
    crypto_generichash_update ((crypto_generichash_state *) arg, rec, len);
    return 0;
}

int
market_view_digest (market_view_t *self, uint8_t out [32])
{
    crypto_generichash_state state;
    crypto_generichash_init (&state, NULL, 0, 32);
    int rc = market_view_records (self, s_digest_emit, &state);
    if (rc)
        return rc;
    crypto_generichash_final (&state, out, 32);
    return 0;
}

/*  Checks shared by restore: a text field within max bytes, valid UTF-8. */
static int
s_text_ok (const char *s, size_t max)
{
    if (!s)
        return 1;
    size_t n = strnlen (s, max + 1);
    return n <= max && hearth_utf8_valid (s, n);
}

static int
s_tags_ok (char *const *tags, size_t n)
{
    if (n > EVENT_MAX_TAGS)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!tags [i] || !*tags [i] || !s_text_ok (tags [i], EVENT_MAX_TAG_BYTES))
            return 0;
    return 1;
}

static int
s_loc_ok (const Hearth__Location *loc)
{
    return !loc || (isfinite (loc->lat) && isfinite (loc->lng)
                    && s_text_ok (loc->label, EVENT_MAX_LABEL_BYTES));
}

/*  Load one post state into p (fresh, zeroed but for id). */
static int
s_restore_post (market_view_t *self, s_post_t *p, const Hearth__MarketPostState *st)
{
    if (st->created) {
        const Hearth__MarketPostCreated *c = st->post;
        if (!c || st->author.len != 32 || st->created_hash.len != 32
        ||  !s_text_ok (c->client_id, EVENT_MAX_CLIENT_ID_BYTES)
        ||  !c->title || !s_text_ok (c->title, EVENT_MAX_TITLE_BYTES)
        ||  !c->body || !s_text_ok (c->body, EVENT_MAX_BODY_BYTES)
        ||  !s_tags_ok (c->tags, c->n_tags) || !s_loc_ok (c->location))
            return HEARTH_ECORRUPT;
        if (market_view_created_build (c, &p->cr))
            return HEARTH_ENOMEM;
        p->created = 1;
        p->lamport = st->lamport;
        p->wall_ms = st->wall_clock_ms;
        if (market_view_author_intern (self, st->author.data, &p->author))
            return HEARTH_ENOMEM;
        memcpy (p->hash, st->created_hash.data, 32);
    }
    else
    if (st->post || st->author.len)
        return HEARTH_ECORRUPT;

    if (st->n_updates > MARKET_VIEW_MAX_CLAIMERS || st->n_claims > MARKET_VIEW_MAX_CLAIMERS)
        return HEARTH_ECORRUPT;
    /*  No array for none, as the fold leaves it: two empty arrays would
        cost every restored post two malloc chunks (docs/performance.md
        "Market view memory"). */
    if (st->n_updates && !(p->upds = (s_upd_t *) calloc (st->n_updates, sizeof (s_upd_t))))
        return HEARTH_ENOMEM;
    if (st->n_claims && !(p->claims = (s_claim_t *) calloc (st->n_claims, sizeof (s_claim_t))))
        return HEARTH_ENOMEM;
    for (size_t j = 0; j < st->n_updates; j++) {
        const Hearth__MarketFieldUpdates *d = st->updates [j];
        s_upd_t *u = &p->upds [p->n_upds];
        if (d->author.len != 32
        ||  (j > 0 && memcmp (p->upds [j - 1].author, d->author.data, 32) >= 0)
        ||  !s_text_ok (d->title, EVENT_MAX_TITLE_BYTES) || !s_text_ok (d->body, EVENT_MAX_BODY_BYTES)
        ||  !s_tags_ok (d->tags, d->n_tags) || !s_loc_ok (d->location))
            return HEARTH_ECORRUPT;
        p->n_upds++;
        memcpy (u->author, d->author.data, 32);
        if (d->title_event_id && *d->title_event_id) {
            if (!(u->title_at.event_id = strdup (d->title_event_id))
            ||  !(u->title = s_strdup0 (d->title)))
                return HEARTH_ENOMEM;
            u->title_at.lamport = d->title_lamport;
        }
        if (d->body_event_id && *d->body_event_id) {
            if (!(u->body_at.event_id = strdup (d->body_event_id))
            ||  !(u->body = s_strdup0 (d->body)))
                return HEARTH_ENOMEM;
            u->body_at.lamport = d->body_lamport;
        }
        if (d->tags_event_id && *d->tags_event_id) {
            if (!(u->tags_at.event_id = strdup (d->tags_event_id))
            ||  !(u->tags = market_view_tags_copy (d->tags, d->n_tags)))
                return HEARTH_ENOMEM;
            u->n_tags = d->n_tags;
            u->tags_at.lamport = d->tags_lamport;
        }
        if (d->location_event_id && *d->location_event_id) {
            if (!d->location == !d->location_cleared)
                return HEARTH_ECORRUPT;     /* exactly one of a place and its removal */
            if (!(u->loc_at.event_id = strdup (d->location_event_id))
            ||  !(u->label = s_strdup0 (d->location? d->location->label: "")))
                return HEARTH_ENOMEM;
            u->loc_at.lamport = d->location_lamport;
            u->loc_cleared = d->location_cleared;
            u->lat = d->location? d->location->lat: 0;
            u->lng = d->location? d->location->lng: 0;
        }
        if (d->ttl_event_id && *d->ttl_event_id) {
            if (d->ttl_seconds == 0 || d->ttl_seconds > EVENT_MAX_TTL_SECONDS)
                return HEARTH_ECORRUPT;
            if (!(u->ttl_at.event_id = strdup (d->ttl_event_id)))
                return HEARTH_ENOMEM;
            u->ttl_at.lamport = d->ttl_lamport;
            u->ttl_seconds = d->ttl_seconds;
            u->ttl_wall_ms = d->ttl_wall_clock_ms;
        }
        if (d->latest_event_id && *d->latest_event_id) {
            if (!(u->latest_at.event_id = strdup (d->latest_event_id)))
                return HEARTH_ENOMEM;
            u->latest_at.lamport = d->latest_lamport;
            u->latest_wall_ms = d->latest_wall_clock_ms;
        }
        if (d->n_history > MARKET_VIEW_MAX_HISTORY)
            return HEARTH_ECORRUPT;
        if (d->n_history) {
            if (!(u->history = (uint8_t (*) [32]) malloc (d->n_history * 32)))
                return HEARTH_ENOMEM;
            for (size_t h = 0; h < d->n_history; h++) {
                //  Sorted, distinct: as the fold keeps them
                if (d->history [h].len != 32
                ||  (h > 0 && memcmp (u->history [h - 1], d->history [h].data, 32) >= 0))
                    return HEARTH_ECORRUPT;
                memcpy (u->history [h], d->history [h].data, 32);
                u->n_history++;
            }
        }
    }
    for (size_t j = 0; j < st->n_claims; j++) {
        const Hearth__MarketExpiryClaim *d = st->claims [j];
        s_claim_t *c = &p->claims [p->n_claims];
        if (d->author.len != 32 || !d->event_id || !ulid_valid (d->event_id)
        ||  (j > 0 && memcmp (p->claims [j - 1].author, d->author.data, 32) >= 0))
            return HEARTH_ECORRUPT;
        p->n_claims++;
        memcpy (c->author, d->author.data, 32);
        if (!(c->event_id = strdup (d->event_id)))
            return HEARTH_ENOMEM;
        c->lamport = d->lamport;
        c->wall_ms = d->wall_clock_ms;
        c->reason = d->reason;
    }
    return 0;
}

static int
s_cmp_order (const void *a, const void *b)
{
    const s_post_t *x = *(const s_post_t *const *) a, *y = *(const s_post_t *const *) b;
    return s_stamp_cmp (x->lamport, x->id, y->lamport, y->id);
}

/*  A restore in progress: the state is built in `fresh` and swapped in
    by market_view_restore_end, so the view is untouched until then. */
struct _market_view_restore_t {
    market_view_t *fresh;                   /* owned */
    s_post_t     **created;                 /* owned array; posts borrowed from fresh */
    size_t         n_created, cap_created;
    char           last_id [ULID_SIZE];     /* last post id restored; "" before any */
    int            has_header;              /* the first chunk had the header */
    int            failed;                  /* a chunk failed: only end(0) is left */
};

static void
s_restore_free (market_view_restore_t **r_p)
{
    market_view_restore_t *r = *r_p;
    if (!r)
        return;
    market_view_destroy (&r->fresh);
    free (r->created);
    free (r);
    *r_p = NULL;
}

int
market_view_restore_begin (market_view_t *self)
{
    s_restore_free (&self->restoring);
    market_view_restore_t *r = (market_view_restore_t *) calloc (1, sizeof *r);
    if (!r)
        return HEARTH_ENOMEM;
    r->fresh = market_view_new ();
    if (!r->fresh) {
        free (r);
        return HEARTH_ENOMEM;
    }
    self->restoring = r;
    return 0;
}

/*  Add the posts of one unpacked chunk to r. */
static int
s_restore_snap (market_view_restore_t *r, const Hearth__MarketSnapshot *snap)
{
    market_view_t *fresh = r->fresh;
    if (!r->has_header) {
        if (snap->version != S_SNAPSHOT_VERSION)
            return HEARTH_ECORRUPT;         /* no header first, or another version */
        r->has_header = 1;
        fresh->max_lamport = snap->max_lamport;
    }
    else
    if (snap->version || snap->max_lamport)
        return HEARTH_ECORRUPT;             /* a second header */
    if (snap->n_posts > MARKET_VIEW_MAX_POSTS - fresh->n_posts)
        return HEARTH_ECORRUPT;
    if (HEARTH_VEC_GROW (r->created, r->cap_created, r->n_created + snap->n_posts, S_FIRST_CAP))
        return HEARTH_ENOMEM;
    for (size_t i = 0; i < snap->n_posts; i++) {
        const Hearth__MarketPostState *st = snap->posts [i];
        //  Ids strictly increasing, across chunks too: no post twice
        if (!st->event_id || !ulid_valid (st->event_id) || strcmp (r->last_id, st->event_id) >= 0)
            return HEARTH_ECORRUPT;
        memcpy (r->last_id, st->event_id, ULID_SIZE);
        s_post_t *p;
        int rc = s_post_get (fresh, st->event_id, &p);
        if (rc == 0)
            rc = s_restore_post (fresh, p, st);
        if (rc)
            return rc;
        if (p->created)
            r->created [r->n_created++] = p;
        s_mark_dirty (fresh, p);
    }
    return 0;
}

int
market_view_restore_chunk (market_view_t *self, const uint8_t *buf, size_t len)
{
    market_view_restore_t *r = self->restoring;
    if (!r || r->failed)
        return HEARTH_EINVAL;
    Hearth__MarketSnapshot *snap = hearth__market_snapshot__unpack (NULL, len, buf);
    int rc = snap? s_restore_snap (r, snap): HEARTH_EDECODE;
    if (snap)
        hearth__market_snapshot__free_unpacked (snap, NULL);
    if (rc)
        r->failed = 1;
    return rc;
}

int
market_view_restore_end (market_view_t *self, int commit)
{
    market_view_restore_t *r = self->restoring;
    self->restoring = NULL;
    if (!r)
        return commit? HEARTH_EINVAL: 0;
    int rc = 0;
    if (commit) {
        if (r->failed || !r->has_header)
            rc = HEARTH_ECORRUPT;
        //  Created posts are appended to the order index in its order
        if (rc == 0 && r->n_created > 1)
            qsort (r->created, r->n_created, sizeof (s_post_t *), s_cmp_order);
        for (size_t i = 0; rc == 0 && i < r->n_created; i++)
            rc = s_order_insert (r->fresh, r->created [i]);
        if (rc == 0) {
            market_view_t tmp = *self;
            *self = *r->fresh;
            *r->fresh = tmp;                /* destroyed below: the old state */
            self->lexicon = tmp.lexicon;    /* the search resources stay */
            self->synonyms = tmp.synonyms;
        }
    }
    s_restore_free (&r);
    return rc;
}

int
market_view_restore (market_view_t *self, const uint8_t *buf, size_t len)
{
    int rc = market_view_restore_begin (self);
    if (rc)
        return rc;
    rc = market_view_restore_chunk (self, buf, len);
    int end_rc = market_view_restore_end (self, rc == 0);
    return rc? rc: end_rc;
}

/* ---- eventlog adapter ------------------------------------------------------ */

static int
s_view_apply (void *ctx, const event_t *ev)
{
    return market_view_apply ((market_view_t *) ctx, ev);
}

static int
s_view_snapshot (void *ctx, eventlog_record_fn *emit, void *emit_arg)
{
    return market_view_records ((market_view_t *) ctx, emit, emit_arg);
}

static int
s_view_restore_begin (void *ctx)
{
    return market_view_restore_begin ((market_view_t *) ctx);
}

static int
s_view_restore_chunk (void *ctx, const uint8_t *buf, size_t len)
{
    return market_view_restore_chunk ((market_view_t *) ctx, buf, len);
}

static int
s_view_restore_end (void *ctx, int commit)
{
    return market_view_restore_end ((market_view_t *) ctx, commit);
}

static void
s_view_reset (void *ctx)
{
    market_view_reset ((market_view_t *) ctx);
}

void
market_view_as_eventlog_view (market_view_t *self, eventlog_view_t *view)
{
    memset (view, 0, sizeof *view);
    view->name = "market";
    view->types = S_TYPES_MASK;
    view->ctx = self;
    view->apply = s_view_apply;
    view->snapshot = s_view_snapshot;
    view->restore_begin = s_view_restore_begin;
    view->restore_chunk = s_view_restore_chunk;
    view->restore_end = s_view_restore_end;
    view->reset = s_view_reset;
}

