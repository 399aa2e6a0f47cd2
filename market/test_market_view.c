/*  test_market_view.c — the marketplace view as a pure fold: apply, list
    filters, ttl, expiry authority at read time, per-field LWW updates,
    snapshot/restore/digest, and order independence over 1,000+ shuffles.
    Events are real: signed with event_sign by identity_from_seed keys.
*/
#include <sodium.h>
#include "test_market_util.h"
#include "market_idx.h"
#include "market_order.h"
#include "market_view.h"

/*  2026-05-28T...: a fixed wall clock base for the events. */
#define T0 UINT64_C (1780000000000)
#define HOUR_MS UINT64_C (3600000)
#define DAY_S   86400

#define OFFER     HEARTH__CATEGORY__CATEGORY_OFFER
#define REQUEST   HEARTH__CATEGORY__CATEGORY_REQUEST
#define INFO      HEARTH__CATEGORY__CATEGORY_INFO
#define EMERGENCY HEARTH__CATEGORY__CATEGORY_EMERGENCY
#define FULFILLED HEARTH__EXPIRY_REASON__EXPIRY_REASON_FULFILLED
#define WITHDRAWN HEARTH__EXPIRY_REASON__EXPIRY_REASON_WITHDRAWN
#define STALE     HEARTH__EXPIRY_REASON__EXPIRY_REASON_STALE

/*  The cast: root R (anchor), T (trusted), members A B C, outsider X. */
typedef struct {
    identity_t   *r, *t, *a, *b, *c, *x;
    const uint8_t *community;
    membership_t *members;
} s_cast_t;

static void
s_cast_new (s_cast_t *k)
{
    k->r = tm_identity (0x01);
    k->t = tm_identity (0x02);
    k->a = tm_identity (0x03);
    k->b = tm_identity (0x04);
    k->c = tm_identity (0x05);
    k->x = tm_identity (0x06);
    k->community = identity_public_key (k->r);
    k->members = membership_new (k->community);
    HT_CHECK_EQ_INT (tm_member_apply (k->members, tm_community_created (k->r, T0)), 0);
    identity_t *joiners [] = { k->t, k->a, k->b, k->c };
    for (uint32_t i = 0; i < 4; i++) {
        char invite [ULID_SIZE];
        int level = i == 0? HEARTH__LEVEL__LEVEL_TRUSTED: HEARTH__LEVEL__LEVEL_MEMBER;
        HT_CHECK_EQ_INT (tm_member_apply (k->members, tm_invite (k->r, k->community, joiners [i], level,
                                                                 2 + 2 * i, T0 + 1 + i, 100 + i, invite)), 0);
        HT_CHECK_EQ_INT (tm_member_apply (k->members, tm_join (joiners [i], k->community, invite,
                                                               3 + 2 * i, T0 + 10 + i, 200 + i)), 0);
    }
    HT_CHECK_EQ_INT (membership_level (k->members, identity_public_key (k->t)), HEARTH__LEVEL__LEVEL_TRUSTED);
    HT_CHECK_EQ_INT (membership_level (k->members, identity_public_key (k->a)), HEARTH__LEVEL__LEVEL_MEMBER);
    HT_CHECK_EQ_INT (membership_level (k->members, identity_public_key (k->x)), HEARTH__LEVEL__LEVEL_NONE);
}

static void
s_cast_destroy (s_cast_t *k)
{
    identity_destroy (&k->r);
    identity_destroy (&k->t);
    identity_destroy (&k->a);
    identity_destroy (&k->b);
    identity_destroy (&k->c);
    identity_destroy (&k->x);
    membership_destroy (&k->members);
}

static void
s_apply_all (market_view_t *view, event_t **events, size_t n)
{
    for (size_t i = 0; i < n; i++)
        HT_CHECK_EQ_INT (market_view_apply (view, events [i]), 0);
}

static void
s_free_all (event_t **events, size_t n)
{
    for (size_t i = 0; i < n; i++)
        event_destroy (&events [i]);
}

/* ---- acceptance---------------------------------------------------------- */

HT_TEST (test_post_event_appears_in_view_after_apply)
{
    s_cast_t k;
    s_cast_new (&k);
    market_view_t *view = market_view_new ();
    HT_CHECK_EQ_INT (market_view_count (view), 0);
    const char *tags [] = { "Wasser", "NOTFALL" };
    event_t *ev = tm_created (k.a, k.community, 7, T0 + HOUR_MS, 1, NULL, OFFER,
                              "Wasserkanister abzugeben", "Zwei Kanister, 20 l.", tags, 2, 7 * DAY_S);
    HT_CHECK_EQ_INT (market_view_apply (view, ev), 0);
    HT_CHECK_EQ_INT (market_view_count (view), 1);
    HT_CHECK_EQ_INT (market_view_max_lamport (view), 7);

    market_post_t post;
    HT_CHECK_EQ_INT (market_view_get (view, event_id (ev), k.members, &post), 0);
    HT_CHECK_EQ_STR (post.event_id, event_id (ev));
    HT_CHECK_EQ_INT (post.lamport, 7);
    HT_CHECK (memcmp (post.author, identity_public_key (k.a), 32) == 0);
    HT_CHECK_EQ_INT (post.category, OFFER);
    HT_CHECK_EQ_STR (post.title, "Wasserkanister abzugeben");
    HT_CHECK_EQ_STR (post.body, "Zwei Kanister, 20 l.");
    HT_CHECK_EQ_INT (post.n_tags, 2);
    HT_CHECK_EQ_STR (post.tags [0], "wasser");      // tags are case-insensitive: stored lower-cased
    HT_CHECK_EQ_STR (post.tags [1], "notfall");
    HT_CHECK_EQ_INT (post.has_location, 0);
    HT_CHECK_EQ_INT (post.created_at_ms, T0 + HOUR_MS);
    HT_CHECK_EQ_INT (post.expires_at_ms, T0 + HOUR_MS + 7ULL * DAY_S * 1000);
    HT_CHECK (post.expired_via_event_id == NULL);
    HT_CHECK (!market_view_is_expired (&post, T0 + 2 * HOUR_MS));

    market_query_t q = { 0 };
    market_post_t out [4];
    HT_CHECK_EQ_INT (market_view_list (view, &q, k.members, T0 + 2 * HOUR_MS, out, 4), 1);
    HT_CHECK_EQ_STR (out [0].event_id, event_id (ev));
    HT_CHECK_EQ_INT (market_view_count_active (view, k.members, T0 + 2 * HOUR_MS), 1);
    //  Applying the same event again changes nothing
    uint8_t d1 [32], d2 [32];
    market_view_digest (view, d1);
    HT_CHECK_EQ_INT (market_view_apply (view, ev), 0);
    market_view_digest (view, d2);
    HT_CHECK (memcmp (d1, d2, 32) == 0);
    HT_CHECK_EQ_INT (market_view_get (view, "01ARZ3NDEKTSV4RRFFQ69G5FAV", k.members, &post),
                     HEARTH_ENOTFOUND);
    event_destroy (&ev);
    market_view_destroy (&view);
    HT_CHECK (view == NULL);
    market_view_destroy (&view);
    s_cast_destroy (&k);
}

/* ---- the order-independence event set ------------------------------------ */

#define S_MAX_EVENTS 64
typedef struct {
    event_t *ev [S_MAX_EVENTS];
    size_t   n;
    char     p [12][ULID_SIZE];    /* post ids P1..P10 (index 1..10), P8/P9 never created */
} s_set_t;

static void
s_add (s_set_t *set, event_t *ev)
{
    HT_CHECK (ev != NULL);
    if (ev && set->n < S_MAX_EVENTS)
        set->ev [set->n++] = ev;
}

/*  Several authors incl. a trusted one; creates; per-field updates (by the
    author and by others); expiries before/after creates (in shuffles),
    valid and unauthorized, duplicate claims; a forged duplicate .created;
    targets that never get created. */
static void
s_set_build (s_set_t *set, s_cast_t *k)
{
    memset (set, 0, sizeof *set);
    const char *t_wasser [] = { "wasser", "notfall" };
    const char *t_essen [] = { "essen" };
    const char *t_strom [] = { "strom" };
    const char *t_med [] = { "Notfall", "Medizin" };
    const char *t_strom2 [] = { "strom", "Werkzeug" };
    uint64_t ms = T0 + HOUR_MS;
    event_t *ev;
#define CREATE(idx, who, lam, cat, title, body, tags, ntags, ttl) do {                     \
        ev = tm_created (who, k->community, lam, ms + lam, 1000 + idx, NULL, cat, title, body, \
                         tags, ntags, ttl);                                                 \
        if (ev) snprintf (set->p [idx], ULID_SIZE, "%s", event_id (ev));                   \
        s_add (set, ev);                                                                    \
    } while (0)
    CREATE (1, k->a, 10, OFFER, "Wasserkanister abzugeben", "Zwei Kanister.", t_wasser, 2, 7 * DAY_S);
    CREATE (2, k->a, 11, OFFER, "Brot vom Bäcker", "Frisches Brot.", t_essen, 1, 7 * DAY_S);
    CREATE (3, k->a, 12, REQUEST, "Suche Leiter", "Drei Meter.", NULL, 0, 7 * DAY_S);
    CREATE (4, k->b, 13, OFFER, "Generator zu verleihen", "2 kW.", t_strom, 1, 7 * DAY_S);
    CREATE (5, k->b, 14, INFO, "Alte Info", "Bald veraltet.", NULL, 0, 7 * DAY_S);
    CREATE (6, k->c, 15, EMERGENCY, "Notfall: Medikamente", "Insulin gesucht.", t_med, 2, 7 * DAY_S);
    CREATE (7, k->t, 16, OFFER, "Fahrrad Reparatur", "Werkstatt im Hof.", NULL, 0, 7 * DAY_S);
    CREATE (10, k->c, 18, INFO, "Kurz", "Nur eine Minute.", NULL, 0, 60);
    //  P8, P9: ids that are only ever targeted
    tm_ulid (ms + 500, 9008, set->p [8]);
    tm_ulid (ms + 501, 9009, set->p [9]);
    //  A forged .created reusing P6's id by outsider X
    s_add (set, tm_created (k->x, k->community, 17, ms + 17, 1017, set->p [6], OFFER, "Gefälscht",
                            "Nicht echt.", NULL, 0, 7 * DAY_S));
    //  Updates
    s_add (set, tm_updated (k->a, k->community, 20, ms + 20, 2001, set->p [1],
                            "Wasserkanister 20 l abzugeben", NULL, NULL, 0, 0));
    s_add (set, tm_updated (k->a, k->community, 25, ms + 25, 2002, set->p [1],
                            "Wasserkanister 10 l abzugeben", NULL, NULL, 0, 0));
    s_add (set, tm_updated (k->a, k->community, 22, ms + 22, 2003, set->p [1], NULL,
                            "Zwei Kanister, frisch gespült.", NULL, 0, 0));
    s_add (set, tm_updated (k->b, k->community, 30, ms + 30, 2004, set->p [1], "Gekapert", NULL,
                            NULL, 0, 0));
    s_add (set, tm_updated (k->a, k->community, 24, ms + 24, 2005, set->p [4], "Nicht meins", NULL,
                            NULL, 0, 0));
    s_add (set, tm_updated (k->b, k->community, 21, ms + 21, 2006, set->p [4], NULL, NULL,
                            t_strom2, 2, 1));
    s_add (set, tm_updated (k->a, k->community, 23, ms + 23, 2007, set->p [8], "Nie erstellt", NULL,
                            NULL, 0, 0));
    //  Expiries
    s_add (set, tm_expired (k->a, k->community, 26, ms + 26, 3001, set->p [2], FULFILLED));
    s_add (set, tm_expired (k->a, k->community, 27, ms + 27, 3002, set->p [2], WITHDRAWN));
    s_add (set, tm_expired (k->t, k->community, 28, ms + 28, 3003, set->p [5], STALE));
    s_add (set, tm_expired (k->b, k->community, 29, ms + 29, 3004, set->p [6], WITHDRAWN));
    s_add (set, tm_expired (k->t, k->community, 31, ms + 31, 3005, set->p [3], FULFILLED));
    s_add (set, tm_expired (k->c, k->community, 32, ms + 32, 3006, set->p [3], STALE));
    s_add (set, tm_expired (k->a, k->community, 33, ms + 33, 3007, set->p [9], FULFILLED));
    s_add (set, tm_expired (k->x, k->community, 34, ms + 34, 3008, set->p [7], STALE));
    s_add (set, tm_expired (k->t, k->community, 19, ms + 19, 3009, set->p [5], STALE));
#undef CREATE
}

/*  The list output as one comparable string. */
static void
s_list_text (market_view_t *view, const membership_t *members, uint64_t now, char *out, size_t cap)
{
    market_query_t q = { 0 };
    market_post_t posts [32];
    size_t n = market_view_list (view, &q, members, now, posts, 32);
    size_t o = 0;
    out [0] = 0;
    for (size_t i = 0; i < n && o < cap; i++) {
        o += (size_t) snprintf (out + o, cap - o, "%s|%llu|%s|%s|", posts [i].event_id,
                                (unsigned long long) posts [i].lamport, posts [i].title, posts [i].body);
        for (size_t t = 0; t < posts [i].n_tags && o < cap; t++)
            o += (size_t) snprintf (out + o, cap - o, "%s,", posts [i].tags [t]);
        if (o < cap)
            o += (size_t) snprintf (out + o, cap - o, "\n");
    }
}

HT_TEST (test_fold_result_of_the_event_set)
{
    s_cast_t k;
    s_cast_new (&k);
    s_set_t set;
    s_set_build (&set, &k);
    market_view_t *view = market_view_new ();
    s_apply_all (view, set.ev, set.n);
    uint64_t now = T0 + 2 * HOUR_MS;
    market_post_t post;

    //  Per-field LWW by the author only: title from lamport 25, body from 22
    HT_CHECK_EQ_INT (market_view_get (view, set.p [1], k.members, &post), 0);
    HT_CHECK_EQ_STR (post.title, "Wasserkanister 10 l abzugeben");
    HT_CHECK_EQ_STR (post.body, "Zwei Kanister, frisch gespült.");
    //  B's tag update of its own post applies, A's title update of it does not
    HT_CHECK_EQ_INT (market_view_get (view, set.p [4], k.members, &post), 0);
    HT_CHECK_EQ_STR (post.title, "Generator zu verleihen");
    HT_CHECK_EQ_INT (post.n_tags, 2);
    if (post.n_tags == 2)
        HT_CHECK_EQ_STR (post.tags [1], "werkzeug");
    //  P2: the author's earliest claim wins (fulfilled at 26, not withdrawn at 27)
    HT_CHECK_EQ_INT (market_view_get (view, set.p [2], k.members, &post), 0);
    HT_CHECK (post.expired_via_event_id != NULL);
    HT_CHECK_EQ_INT (post.expiry_reason, FULFILLED);
    HT_CHECK_EQ_INT (post.expired_via_lamport, 26);
    //  P5: stale by a trusted member counts; its earlier claim (19) is the one
    HT_CHECK_EQ_INT (market_view_get (view, set.p [5], k.members, &post), 0);
    HT_CHECK_EQ_INT (post.expiry_reason, STALE);
    HT_CHECK_EQ_INT (post.expired_via_lamport, 19);
    //  P3: trusted-but-not-stale and member-stale claims do not count
    HT_CHECK_EQ_INT (market_view_get (view, set.p [3], k.members, &post), 0);
    HT_CHECK (post.expired_via_event_id == NULL);
    //  P7: a non-member's stale claim does not count
    HT_CHECK_EQ_INT (market_view_get (view, set.p [7], k.members, &post), 0);
    HT_CHECK (post.expired_via_event_id == NULL);
    //  P6: the forged duplicate: the smaller author key wins
    HT_CHECK_EQ_INT (market_view_get (view, set.p [6], k.members, &post), 0);
    int c_wins = memcmp (identity_public_key (k.c), identity_public_key (k.x), 32) < 0;
    HT_CHECK_EQ_STR (post.title, c_wins? "Notfall: Medikamente": "Gefälscht");
    //  P8/P9 were only targeted: not posts
    HT_CHECK_EQ_INT (market_view_get (view, set.p [8], k.members, &post), HEARTH_ENOTFOUND);
    HT_CHECK_EQ_INT (market_view_get (view, set.p [9], k.members, &post), HEARTH_ENOTFOUND);
    //  P10 (ttl 60 s) is past its expiry an hour later: hidden, still readable
    HT_CHECK_EQ_INT (market_view_get (view, set.p [10], k.members, &post), 0);
    HT_CHECK (post.expired_via_event_id == NULL);
    HT_CHECK (market_view_is_expired (&post, now));

    HT_CHECK_EQ_INT (market_view_count (view), 8);
    HT_CHECK_EQ_INT (market_view_count_active (view, k.members, now), 5);   // P1 P3 P4 P6 P7
    HT_CHECK_EQ_INT (market_view_max_lamport (view), 34);
    market_query_t q = { 0 };
    market_post_t out [16];
    size_t n = market_view_list (view, &q, k.members, now, out, 16);
    HT_CHECK_EQ_INT (n, 5);
    for (size_t i = 1; i < n; i++)
        HT_CHECK (out [i - 1].lamport > out [i].lamport);   // newest first

    //  Membership changes are judged at read time: demote T -> its stale
    //  claim on P5 stops counting (P5 reappears; its ttl is 7 days)
    HT_CHECK_EQ_INT (tm_member_apply (k.members, tm_member_change (k.r, k.community,
                     HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_DEMOTED, k.t, HEARTH__LEVEL__LEVEL_MEMBER,
                     40, T0 + 3 * HOUR_MS, 4001)), 0);
    HT_CHECK_EQ_INT (market_view_get (view, set.p [5], k.members, &post), 0);
    HT_CHECK (post.expired_via_event_id == NULL);
    HT_CHECK_EQ_INT (market_view_count_active (view, k.members, now), 6);
    //  Without a membership view only authors' claims count
    HT_CHECK_EQ_INT (market_view_count_active (view, NULL, now), 6);

    market_view_destroy (&view);
    s_free_all (set.ev, set.n);
    s_cast_destroy (&k);
}

/* ---- the delivery-order tests' shared steps ---------------------------- */

/*  One round of a delivery-order test: the n events (n <= S_MAX_EVENTS)
    shuffled with *rng, every odd round with four of them delivered twice,
    folded into a new view (returned; the caller destroys it). Each apply
    that fails, and a digest other than ref_digest, adds one to
    *mismatches. */
static market_view_t *
s_view_shuffled (event_t **events, size_t n, int round, uint64_t *rng, const uint8_t ref_digest [32],
                 int *mismatches)
{
    event_t *order [S_MAX_EVENTS * 2];
    size_t count = n;
    memcpy (order, events, n * sizeof order [0]);
    //  Every other round, redeliver a few events (duplicates)
    if (round % 2)
        for (int d = 0; d < 4; d++)
            order [count++] = events [tm_rand (rng) % n];
    for (size_t i = count - 1; i > 0; i--) {
        size_t j = (size_t) (tm_rand (rng) % (i + 1));
        event_t *tmp = order [i];
        order [i] = order [j];
        order [j] = tmp;
    }
    market_view_t *view = market_view_new ();
    for (size_t i = 0; i < count; i++)
        if (market_view_apply (view, order [i]) != 0)
            (*mismatches)++;
    uint8_t digest [32];
    market_view_digest (view, digest);
    if (memcmp (digest, ref_digest, 32) != 0)
        (*mismatches)++;
    return view;
}

/*  A copy of view through market_view_snapshot and market_view_restore
    (both checked); the caller destroys it. */
static market_view_t *
s_view_copy (market_view_t *view)
{
    uint8_t *buf;
    size_t len;
    HT_CHECK_EQ_INT (market_view_snapshot (view, &buf, &len), 0);
    market_view_t *copy = market_view_new ();
    HT_CHECK_EQ_INT (market_view_restore (copy, buf, len), 0);
    free (buf);
    return copy;
}

HT_TEST (test_order_independence_1000_orders)
{
    s_cast_t k;
    s_cast_new (&k);
    s_set_t set;
    s_set_build (&set, &k);
    uint64_t now = T0 + 2 * HOUR_MS;
    uint64_t seed = ht_seed (UINT64_C (0x9E3779B97F4A7C15));
    fprintf (stderr, "order independence: seed 0x%016llx (set HEARTH_TEST_SEED to replay)\n",
             (unsigned long long) seed);
    uint64_t rng = seed;

    //  Reference: the events in creation order
    market_view_t *ref = market_view_new ();
    s_apply_all (ref, set.ev, set.n);
    uint8_t ref_digest [32];
    HT_CHECK_EQ_INT (market_view_digest (ref, ref_digest), 0);
    static char ref_list [8192], list [8192];
    s_list_text (ref, k.members, now, ref_list, sizeof ref_list);
    HT_CHECK (strlen (ref_list) > 0);

    int digest_mismatch = 0, list_mismatch = 0, max_mismatch = 0;
    const int rounds = 1200;
    for (int round = 0; round < rounds; round++) {
        market_view_t *view = s_view_shuffled (set.ev, set.n, round, &rng, ref_digest, &digest_mismatch);
        s_list_text (view, k.members, now, list, sizeof list);
        if (strcmp (list, ref_list) != 0)
            list_mismatch++;
        if (market_view_max_lamport (view) != market_view_max_lamport (ref))
            max_mismatch++;
        //  Every 100th round: snapshot -> restore keeps the digest
        if (round % 100 == 0) {
            market_view_t *copy = s_view_copy (view);
            uint8_t d2 [32];
            market_view_digest (copy, d2);
            HT_CHECK (memcmp (d2, ref_digest, 32) == 0);
            market_view_destroy (&copy);
        }
        market_view_destroy (&view);
    }
    HT_CHECK_EQ_INT (digest_mismatch, 0);
    HT_CHECK_EQ_INT (list_mismatch, 0);
    HT_CHECK_EQ_INT (max_mismatch, 0);
    fprintf (stderr, "order independence: %d orders, %zu events, one digest\n", rounds, set.n);
    market_view_destroy (&ref);
    s_free_all (set.ev, set.n);
    s_cast_destroy (&k);
}

HT_TEST (test_replay_then_snapshot_then_restore_equal_state)
{
    s_cast_t k;
    s_cast_new (&k);
    s_set_t set;
    s_set_build (&set, &k);
    uint64_t now = T0 + 2 * HOUR_MS;
    market_view_t *view = market_view_new ();
    s_apply_all (view, set.ev, set.n);          // replay

    uint8_t *buf = NULL;
    size_t len = 0;
    HT_CHECK_EQ_INT (market_view_snapshot (view, &buf, &len), 0);
    HT_CHECK (len > 0);
    market_view_t *copy = market_view_new ();
    HT_CHECK_EQ_INT (market_view_restore (copy, buf, len), 0);

    uint8_t d1 [32], d2 [32];
    market_view_digest (view, d1);
    market_view_digest (copy, d2);
    HT_CHECK (memcmp (d1, d2, 32) == 0);
    //  The same bytes again (canonical)
    uint8_t *buf2;
    size_t len2;
    market_view_snapshot (copy, &buf2, &len2);
    HT_CHECK (len2 == len && memcmp (buf, buf2, len) == 0);
    free (buf2);
    HT_CHECK_EQ_INT (market_view_count (copy), market_view_count (view));
    HT_CHECK_EQ_INT (market_view_max_lamport (copy), market_view_max_lamport (view));
    HT_CHECK_EQ_INT (market_view_count_active (copy, k.members, now),
                     market_view_count_active (view, k.members, now));
    static char l1 [8192], l2 [8192];
    s_list_text (view, k.members, now, l1, sizeof l1);
    s_list_text (copy, k.members, now, l2, sizeof l2);
    HT_CHECK_EQ_STR (l1, l2);
    for (int i = 1; i <= 10; i++) {
        market_post_t a, b;
        int ra = market_view_get (view, set.p [i], k.members, &a);
        int rb = market_view_get (copy, set.p [i], k.members, &b);
        HT_CHECK_EQ_INT (ra, rb);
        if (ra == 0 && rb == 0) {
            HT_CHECK_EQ_STR (a.title, b.title);
            HT_CHECK_EQ_STR (a.body, b.body);
            HT_CHECK_EQ_INT (a.expires_at_ms, b.expires_at_ms);
            HT_CHECK_EQ_INT (a.expiry_reason, b.expiry_reason);
            HT_CHECK_EQ_INT (!!a.expired_via_event_id, !!b.expired_via_event_id);
        }
    }
    //  Restored state keeps folding like the original: pending P8 update
    //  and P9 claim still wait for their posts
    event_t *late = tm_created (k.a, k.community, 50, T0 + HOUR_MS + 50, 5000, set.p [8], OFFER,
                                "Spät erstellt", "Text.", NULL, 0, 7 * DAY_S);
    HT_CHECK_EQ_INT (market_view_apply (view, late), 0);
    HT_CHECK_EQ_INT (market_view_apply (copy, late), 0);
    market_post_t p8;
    HT_CHECK_EQ_INT (market_view_get (copy, set.p [8], k.members, &p8), 0);
    HT_CHECK_EQ_STR (p8.title, "Nie erstellt");     // the pending author update applies
    market_view_digest (view, d1);
    market_view_digest (copy, d2);
    HT_CHECK (memcmp (d1, d2, 32) == 0);
    event_destroy (&late);

    //  Reset empties; the restore of garbage fails and leaves state alone
    market_view_digest (copy, d1);
    HT_CHECK_EQ_INT (market_view_restore (copy, (const uint8_t *) "\xff\xff\xff", 3), HEARTH_EDECODE);
    market_view_digest (copy, d2);
    HT_CHECK (memcmp (d1, d2, 32) == 0);
    //  A well-formed snapshot with the wrong version is corrupt
    Hearth__MarketSnapshot bad = HEARTH__MARKET_SNAPSHOT__INIT;
    bad.version = 99;
    uint8_t badbuf [16];
    size_t badlen = hearth__market_snapshot__pack (&bad, badbuf);
    HT_CHECK_EQ_INT (market_view_restore (copy, badbuf, badlen), HEARTH_ECORRUPT);
    market_view_reset (copy);
    HT_CHECK_EQ_INT (market_view_count (copy), 0);
    HT_CHECK_EQ_INT (market_view_max_lamport (copy), 0);
    //  An empty view snapshots and restores too
    uint8_t *ebuf;
    size_t elen;
    HT_CHECK_EQ_INT (market_view_snapshot (copy, &ebuf, &elen), 0);
    HT_CHECK_EQ_INT (market_view_restore (view, ebuf, elen), 0);
    HT_CHECK_EQ_INT (market_view_count (view), 0);
    free (ebuf);

    free (buf);
    market_view_destroy (&view);
    market_view_destroy (&copy);
    s_free_all (set.ev, set.n);
    s_cast_destroy (&k);
}

/* ---- list filters ----------------------------------------------------------- */

HT_TEST (test_list_filters)
{
    s_cast_t k;
    s_cast_new (&k);
    market_view_t *view = market_view_new ();
    const char *t_a [] = { "Holz" }, *t_b [] = { "kohle", "holz" }, *t_c [] = { "öl" };
    event_t *evs [8];
    evs [0] = tm_created (k.a, k.community, 10, T0, 1, NULL, OFFER, "Brennholz", "x", t_a, 1, DAY_S);
    evs [1] = tm_created (k.b, k.community, 11, T0, 2, NULL, REQUEST, "Suche Kohle", "x", t_b, 2, DAY_S);
    evs [2] = tm_created (k.c, k.community, 12, T0, 3, NULL, OFFER, "Heizöl", "x", t_c, 1, DAY_S);
    evs [3] = tm_created (k.a, k.community, 13, T0, 4, NULL, INFO, "Info", "x", NULL, 0, DAY_S);
    evs [4] = tm_created (k.b, k.community, 14, T0, 5, NULL, EMERGENCY, "Notfall", "x", NULL, 0, DAY_S);
    s_apply_all (view, evs, 5);
    uint64_t now = T0 + HOUR_MS;
    market_post_t out [8];
    market_query_t q = { 0 };

    q.category = OFFER;
    size_t n = market_view_list (view, &q, k.members, now, out, 8);
    HT_CHECK_EQ_INT (n, 2);
    if (n == 2) {
        HT_CHECK_EQ_STR (out [0].title, "Heizöl");     // newest first
        HT_CHECK_EQ_STR (out [1].title, "Brennholz");
    }
    //  Tags match ANY, case-insensitively (also non-ASCII: "ÖL" = "öl")
    memset (&q, 0, sizeof q);
    const char *want [] = { "HOLZ" };
    q.tags = want;
    q.n_tags = 1;
    n = market_view_list (view, &q, k.members, now, out, 8);
    HT_CHECK_EQ_INT (n, 2);
    const char *want2 [] = { "ÖL", "kohle" };
    q.tags = want2;
    q.n_tags = 2;
    n = market_view_list (view, &q, k.members, now, out, 8);
    HT_CHECK_EQ_INT (n, 2);
    if (n == 2) {
        HT_CHECK_EQ_STR (out [0].title, "Heizöl");
        HT_CHECK_EQ_STR (out [1].title, "Suche Kohle");
    }
    const char *want3 [] = { "nichts" };
    q.tags = want3;
    q.n_tags = 1;
    HT_CHECK_EQ_INT (market_view_list (view, &q, k.members, now, out, 8), 0);
    //  Category and tags together
    q.tags = want;
    q.category = REQUEST;
    n = market_view_list (view, &q, k.members, now, out, 8);
    HT_CHECK_EQ_INT (n, 1);
    //  since_lamport is exclusive
    memset (&q, 0, sizeof q);
    q.since_lamport = 12;
    n = market_view_list (view, &q, k.members, now, out, 8);
    HT_CHECK_EQ_INT (n, 2);
    if (n == 2) {
        HT_CHECK_EQ_INT (out [0].lamport, 14);
        HT_CHECK_EQ_INT (out [1].lamport, 13);
    }
    q.since_lamport = 14;
    HT_CHECK_EQ_INT (market_view_list (view, &q, k.members, now, out, 8), 0);
    //  limit
    memset (&q, 0, sizeof q);
    q.limit = 2;
    n = market_view_list (view, &q, k.members, now, out, 8);
    HT_CHECK_EQ_INT (n, 2);
    if (n == 2)
        HT_CHECK_EQ_INT (out [0].lamport, 14);
    //  cap bounds the answer too
    q.limit = 0;
    HT_CHECK_EQ_INT (market_view_list (view, &q, k.members, now, out, 3), 3);
    s_free_all (evs, 5);
    market_view_destroy (&view);
    s_cast_destroy (&k);
}

HT_TEST (test_list_limit_default_and_max)
{
    s_cast_t k;
    s_cast_new (&k);
    market_view_t *view = market_view_new ();
    //  520 posts, delivered newest first (worst case for the order index)
    for (int i = 519; i >= 0; i--) {
        event_t *ev = tm_created (i % 2? k.a: k.b, k.community, 100 + (uint64_t) i, T0 + (uint64_t) i,
                                  (uint32_t) i, NULL, OFFER, "Angebot", "Text", NULL, 0, DAY_S);
        HT_CHECK_EQ_INT (market_view_apply (view, ev), 0);
        event_destroy (&ev);
    }
    market_post_t *out = (market_post_t *) malloc (600 * sizeof *out);
    market_query_t q = { 0 };
    size_t n = market_view_list (view, &q, k.members, T0 + HOUR_MS, out, 600);
    HT_CHECK_EQ_INT (n, MARKET_LIST_DEFAULT_LIMIT);
    HT_CHECK_EQ_INT (out [0].lamport, 619);
    q.limit = 10000;
    n = market_view_list (view, &q, k.members, T0 + HOUR_MS, out, 600);
    HT_CHECK_EQ_INT (n, MARKET_LIST_MAX_LIMIT);
    for (size_t i = 1; i < n; i++)
        HT_CHECK (out [i - 1].lamport == out [i].lamport + 1);
    free (out);
    market_view_destroy (&view);
    s_cast_destroy (&k);
}

HT_TEST (test_ttl_hiding)
{
    s_cast_t k;
    s_cast_new (&k);
    market_view_t *view = market_view_new ();
    event_t *ev = tm_created (k.a, k.community, 10, T0, 1, NULL, OFFER, "Kurzlebig", "x", NULL, 0, 60);
    event_t *dflt = tm_created (k.a, k.community, 11, T0, 2, NULL, OFFER, "Standard", "x", NULL, 0, 0);
    market_view_apply (view, ev);
    market_view_apply (view, dflt);
    market_post_t out [4];
    market_query_t q = { 0 };
    HT_CHECK_EQ_INT (market_view_list (view, &q, k.members, T0 + 59999, out, 4), 2);
    //  At expires_at exactly the post is gone, on every node alike
    HT_CHECK_EQ_INT (market_view_list (view, &q, k.members, T0 + 60000, out, 4), 1);
    HT_CHECK_EQ_INT (market_view_count_active (view, k.members, T0 + 60000), 1);
    market_post_t post;
    HT_CHECK_EQ_INT (market_view_get (view, event_id (ev), k.members, &post), 0);
    HT_CHECK (market_view_is_expired (&post, T0 + 60000));
    HT_CHECK (!market_view_is_expired (&post, T0 + 59999));
    //  ttl 0 = the contract default, 7 days
    HT_CHECK_EQ_INT (market_view_get (view, event_id (dflt), k.members, &post), 0);
    HT_CHECK_EQ_INT (post.expires_at_ms, T0 + 7ULL * DAY_S * 1000);
    event_destroy (&ev);
    event_destroy (&dflt);
    market_view_destroy (&view);
    s_cast_destroy (&k);
}

HT_TEST (test_claimers_cap_keeps_smallest_authors)
{
    s_cast_t k;
    s_cast_new (&k);
    enum { N = MARKET_VIEW_MAX_CLAIMERS + 8 };
    event_t *claims [N];
    event_t *post = tm_created (k.a, k.community, 10, T0, 1, NULL, OFFER, "Post", "x", NULL, 0, DAY_S);
    for (int i = 0; i < N; i++) {
        identity_t *who = tm_identity ((uint8_t) (0x40 + i));
        claims [i] = tm_expired (who, k.community, 20 + (uint64_t) i, T0 + 1, 100 + (uint32_t) i,
                                 event_id (post), STALE);
        identity_destroy (&who);
    }
    market_view_t *fwd = market_view_new (), *rev = market_view_new ();
    market_view_apply (fwd, post);
    for (int i = 0; i < N; i++)
        market_view_apply (fwd, claims [i]);
    for (int i = N - 1; i >= 0; i--)
        market_view_apply (rev, claims [i]);
    market_view_apply (rev, post);
    uint8_t d1 [32], d2 [32];
    market_view_digest (fwd, d1);
    market_view_digest (rev, d2);
    HT_CHECK (memcmp (d1, d2, 32) == 0);
    HT_CHECK (market_view_dropped (fwd) > 0);
    HT_CHECK (market_view_dropped (rev) > 0);
    //  None of the claimers is a member: the post stays active
    HT_CHECK_EQ_INT (market_view_count_active (fwd, k.members, T0 + 2), 1);
    s_free_all (claims, N);
    event_destroy (&post);
    market_view_destroy (&fwd);
    market_view_destroy (&rev);
    s_cast_destroy (&k);
}

/* ---- effective content at read time ---------------------------------------- */

/*  The view derives a post's effective content (the .created's fields, each
    replaced by the author's winning update) when it is read. Checked after
    every apply of many shuffles of one post's events against a reference
    computed here from the applied subset. */

/*  One event of the sequence, and what it sets. */
typedef struct {
    event_t    *ev;
    int         field;              /* S_F_* */
    int         by_author;          /* sent by the post author */
    const char *title, *body, *label;
    const char *const *tags;        /* lower-case already */
    size_t      n_tags;
    double      lat, lng;
} s_eff_t;

#define S_F_CREATED 0
#define S_F_TITLE   1
#define S_F_BODY    2
#define S_F_TAGS    3
#define S_F_LOC     4
#define S_F_CLAIM   5
#define S_EFF_N     14

/*  .created or .updated with a location (the tm_ helpers have none). */
static event_t *
s_located (const identity_t *who, const uint8_t *community, uint64_t lamport, uint32_t n,
           const char *target, double lat, double lng, const char *label, const char *title,
           const char *const *tags, size_t n_tags)
{
    char id [ULID_SIZE] = "";
    Hearth__Event e;
    int type = target? HEARTH__EVENT_TYPE__MARKET_POST_UPDATED: HEARTH__EVENT_TYPE__MARKET_POST_CREATED;
    tm_envelope (&e, id, who, community, type, lamport, T0 + lamport, n);
    Hearth__Location loc = HEARTH__LOCATION__INIT;
    loc.lat = lat;
    loc.lng = lng;
    loc.label = (char *) label;
    Hearth__MarketPostCreated c = HEARTH__MARKET_POST_CREATED__INIT;
    Hearth__MarketPostUpdated u = HEARTH__MARKET_POST_UPDATED__INIT;
    if (target) {
        u.target_event_id = (char *) target;
        u.location = &loc;
        e.payload_case = HEARTH__EVENT__PAYLOAD_MARKET_POST_UPDATED;
        e.market_post_updated = &u;
    }
    else {
        c.category = OFFER;
        c.title = (char *) title;
        c.body = (char *) "Original body";
        c.tags = (char **) tags;
        c.n_tags = n_tags;
        c.ttl_seconds = DAY_S;
        c.location = &loc;
        e.payload_case = HEARTH__EVENT__PAYLOAD_MARKET_POST_CREATED;
        e.market_post_created = &c;
    }
    return tm_sign (&e, who);
}

/*  The applied event of `field` by the author with the largest
    (lamport, event_id) (for a claim: the smallest), or NULL. */
static const s_eff_t *
s_eff_winner (const s_eff_t *evs, const int *applied, int field)
{
    const s_eff_t *best = NULL;
    for (size_t i = 0; i < S_EFF_N; i++) {
        const s_eff_t *x = &evs [i];
        if (!applied [i] || x->field != field || !x->by_author)
            continue;
        int cmp = 0;
        if (best) {
            uint64_t a = event_lamport (x->ev), b = event_lamport (best->ev);
            cmp = a != b? (a < b? -1: 1): strcmp (event_id (x->ev), event_id (best->ev));
        }
        if (!best || (field == S_F_CLAIM? cmp < 0: cmp > 0))
            best = x;
    }
    return best;
}

static void
s_eff_check (market_view_t *view, const membership_t *members, const s_eff_t *evs,
             const int *applied)
{
    const char *id = event_id (evs [0].ev);
    market_post_t post;
    int rc = market_view_get (view, id, members, &post);
    if (!applied [0]) {
        HT_CHECK_EQ_INT (rc, HEARTH_ENOTFOUND);
        return;
    }
    HT_CHECK_EQ_INT (rc, 0);
    if (rc)
        return;
    const s_eff_t *cr = &evs [0], *w;
    HT_CHECK_EQ_STR (post.title, (w = s_eff_winner (evs, applied, S_F_TITLE))? w->title: cr->title);
    HT_CHECK_EQ_STR (post.body, (w = s_eff_winner (evs, applied, S_F_BODY))? w->body: cr->body);
    w = s_eff_winner (evs, applied, S_F_TAGS);
    const s_eff_t *t = w? w: cr;
    HT_CHECK_EQ_INT (post.n_tags, t->n_tags);
    for (size_t i = 0; i < post.n_tags && i < t->n_tags; i++)
        HT_CHECK_EQ_STR (post.tags [i], t->tags [i]);
    w = s_eff_winner (evs, applied, S_F_LOC);
    const s_eff_t *l = w? w: cr;
    HT_CHECK_EQ_INT (post.has_location, 1);
    HT_CHECK (post.lat == l->lat && post.lng == l->lng);
    HT_CHECK_EQ_STR (post.label, l->label);
    HT_CHECK_EQ_INT (post.expires_at_ms, event_wall_ms (cr->ev) + DAY_S * 1000ULL);
    w = s_eff_winner (evs, applied, S_F_CLAIM);
    if (w)
        HT_CHECK (post.expired_via_event_id && strcmp (post.expired_via_event_id, event_id (w->ev)) == 0);
    else
        HT_CHECK (post.expired_via_event_id == NULL);
    //  list's tag filter sees the same tags
    market_query_t q = { 0 };
    const char *any [] = { t->n_tags? t->tags [0]: "nosuchtag" };
    q.tags = any;
    q.n_tags = 1;
    market_post_t out [2];
    size_t n = market_view_list (view, &q, members, T0, out, 2);
    HT_CHECK_EQ_INT (n, t->n_tags && !w? 1: 0);
}

HT_TEST (test_effective_content_at_read_time)
{
    s_cast_t k;
    s_cast_new (&k);
    const char *t_created [] = { "Alpha", "Beta" }, *l_created [] = { "alpha", "beta" };
    const char *t_upd [] = { "Gamma" }, *l_upd [] = { "gamma" };
    const char *t_spam [] = { "spam" };
    s_eff_t evs [S_EFF_N];
    memset (evs, 0, sizeof evs);
    evs [0] = (s_eff_t) { .ev = s_located (k.a, k.community, 10, 1, NULL, 1.5, 2.5, "Here",
                                           "Original title", t_created, 2),
                          .field = S_F_CREATED, .by_author = 1, .title = "Original title",
                          .body = "Original body", .label = "Here", .tags = l_created, .n_tags = 2,
                          .lat = 1.5, .lng = 2.5 };
    const char *target = event_id (evs [0].ev);
    //  Title: two updates at one lamport (event id decides) and an older one
    evs [1] = (s_eff_t) { .ev = tm_updated (k.a, k.community, 11, T0 + 11, 11, target, "Title two",
                                            NULL, NULL, 0, 0),
                          .field = S_F_TITLE, .by_author = 1, .title = "Title two" };
    evs [2] = (s_eff_t) { .ev = tm_updated (k.a, k.community, 14, T0 + 14, 12, target, "Title three",
                                            NULL, NULL, 0, 0),
                          .field = S_F_TITLE, .by_author = 1, .title = "Title three" };
    evs [3] = (s_eff_t) { .ev = tm_updated (k.a, k.community, 14, T0 + 14, 13, target, "Title four",
                                            NULL, NULL, 0, 0),
                          .field = S_F_TITLE, .by_author = 1, .title = "Title four" };
    evs [4] = (s_eff_t) { .ev = tm_updated (k.a, k.community, 12, T0 + 12, 14, target, NULL,
                                            "Body two", NULL, 0, 0),
                          .field = S_F_BODY, .by_author = 1, .body = "Body two" };
    //  Tags: replaced, then replaced by none
    evs [5] = (s_eff_t) { .ev = tm_updated (k.a, k.community, 13, T0 + 13, 15, target, NULL, NULL,
                                            t_upd, 1, 1),
                          .field = S_F_TAGS, .by_author = 1, .tags = l_upd, .n_tags = 1 };
    evs [6] = (s_eff_t) { .ev = tm_updated (k.a, k.community, 15, T0 + 15, 16, target, NULL, NULL,
                                            NULL, 0, 1),
                          .field = S_F_TAGS, .by_author = 1 };
    //  Location: a newer and an older one (older than the .created, too)
    evs [7] = (s_eff_t) { .ev = s_located (k.a, k.community, 16, 17, target, -3.25, 4.75, "There",
                                           NULL, NULL, 0),
                          .field = S_F_LOC, .by_author = 1, .label = "There", .lat = -3.25,
                          .lng = 4.75 };
    evs [8] = (s_eff_t) { .ev = s_located (k.a, k.community, 9, 18, target, 7, 8, "Earlier", NULL,
                                           NULL, 0),
                          .field = S_F_LOC, .by_author = 1, .label = "Earlier", .lat = 7, .lng = 8 };
    //  Not the author: kept pending, never applied; a claim not valid
    evs [9] = (s_eff_t) { .ev = tm_updated (k.b, k.community, 20, T0 + 20, 19, target, "Intruder",
                                            "Spam", t_spam, 1, 1),
                          .field = S_F_TITLE, .title = "Intruder" };
    evs [10] = (s_eff_t) { .ev = s_located (k.b, k.community, 21, 20, target, 0, 0, "Nowhere", NULL,
                                            NULL, 0),
                           .field = S_F_LOC };
    evs [11] = (s_eff_t) { .ev = tm_expired (k.b, k.community, 22, T0 + 22, 21, target, STALE),
                           .field = S_F_CLAIM };
    //  The author's claims: the earlier one counts
    evs [12] = (s_eff_t) { .ev = tm_expired (k.a, k.community, 30, T0 + 30, 22, target, WITHDRAWN),
                           .field = S_F_CLAIM, .by_author = 1 };
    evs [13] = (s_eff_t) { .ev = tm_expired (k.a, k.community, 25, T0 + 25, 23, target, FULFILLED),
                           .field = S_F_CLAIM, .by_author = 1 };
    for (size_t i = 0; i < S_EFF_N; i++)
        HT_CHECK (evs [i].ev != NULL);

    uint64_t rng = 0x5eed0e1f;
    uint8_t digest [32], first [32];
    for (int round = 0; round < 200; round++) {
        size_t perm [S_EFF_N];
        for (size_t i = 0; i < S_EFF_N; i++)
            perm [i] = i;
        for (size_t i = S_EFF_N - 1; i > 0; i--) {
            size_t j = (size_t) (tm_rand (&rng) % (i + 1));
            size_t x = perm [i];
            perm [i] = perm [j];
            perm [j] = x;
        }
        market_view_t *view = market_view_new ();
        int applied [S_EFF_N] = { 0 };
        for (size_t i = 0; i < S_EFF_N; i++) {
            HT_CHECK_EQ_INT (market_view_apply (view, evs [perm [i]].ev), 0);
            applied [perm [i]] = 1;
            s_eff_check (view, k.members, evs, applied);
        }
        //  And a restored copy reads the same
        market_view_t *copy = s_view_copy (view);
        s_eff_check (copy, k.members, evs, applied);
        HT_CHECK_EQ_INT (market_view_digest (view, digest), 0);
        if (round == 0)
            memcpy (first, digest, 32);
        HT_CHECK (memcmp (first, digest, 32) == 0);
        market_view_destroy (&copy);
        market_view_destroy (&view);
    }
    //  The search index takes the effective words too (before the author's claim)
    market_view_t *view = market_view_new ();
    for (size_t i = 0; i < 12; i++)
        HT_CHECK_EQ_INT (market_view_apply (view, evs [i].ev), 0);
    int applied [S_EFF_N] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0 };
    const s_eff_t *w = s_eff_winner (evs, applied, S_F_TITLE);
    const char *loser = strcmp (w->title, "Title four") == 0? "three": "four";
    market_post_t out [MARKET_SEARCH_MAX_K];
    double scores [MARKET_SEARCH_MAX_K];
    HT_CHECK_EQ_INT (market_view_search (view, w->title, 10, k.members, T0, out, scores), 1);
    HT_CHECK_EQ_INT (market_view_search (view, loser, 10, k.members, T0, out, scores), 0);
    HT_CHECK_EQ_INT (market_view_search (view, "intruder", 10, k.members, T0, out, scores), 0);
    HT_CHECK_EQ_INT (market_view_search (view, "body two", 10, k.members, T0, out, scores), 1);
    HT_CHECK_EQ_INT (market_view_search (view, "alpha", 10, k.members, T0, out, scores), 0);
    market_view_destroy (&view);
    for (size_t i = 0; i < S_EFF_N; i++)
        event_destroy (&evs [i].ev);
    s_cast_destroy (&k);
}

HT_TEST (test_view_search_hides_inactive)
{
    s_cast_t k;
    s_cast_new (&k);
    market_view_t *view = market_view_new ();
    event_t *w = tm_created (k.a, k.community, 10, T0, 1, NULL, OFFER, "Wasserkanister abzugeben",
                             "Zwei Kanister.", NULL, 0, DAY_S);
    event_t *b = tm_created (k.b, k.community, 11, T0, 2, NULL, OFFER, "Brot", "Frisch.", NULL, 0, DAY_S);
    event_t *s = tm_created (k.c, k.community, 12, T0, 3, NULL, REQUEST, "Wasser gesucht",
                             "Trinkwasser.", NULL, 0, 60);
    market_view_apply (view, w);
    market_view_apply (view, b);
    market_view_apply (view, s);
    market_post_t out [MARKET_SEARCH_MAX_K];
    double scores [MARKET_SEARCH_MAX_K];
    int n = market_view_search (view, "wasser", 10, k.members, T0 + 1000, out, scores);
    HT_CHECK_EQ_INT (n, 2);
    if (n == 2) {
        HT_CHECK_EQ_STR (out [0].title, "Wasser gesucht");
        HT_CHECK (scores [0] > scores [1] && scores [1] > 0);
    }
    //  After the ttl of "Wasser gesucht" and an author expiry of the other,
    //  nothing matches
    n = market_view_search (view, "wasser", 10, k.members, T0 + 60000, out, scores);
    HT_CHECK_EQ_INT (n, 1);
    event_t *x = tm_expired (k.a, k.community, 13, T0 + 5, 4, event_id (w), FULFILLED);
    market_view_apply (view, x);
    n = market_view_search (view, "wasser", 10, k.members, T0 + 1000, out, scores);
    HT_CHECK_EQ_INT (n, 1);
    if (n == 1)
        HT_CHECK_EQ_STR (out [0].title, "Wasser gesucht");
    //  An update re-indexes the post
    event_t *u = tm_updated (k.b, k.community, 14, T0 + 6, 5, event_id (b), "Wasserfilter", NULL,
                             NULL, 0, 0);
    market_view_apply (view, u);
    n = market_view_search (view, "brot", 10, k.members, T0 + 1000, out, scores);
    HT_CHECK_EQ_INT (n, 0);
    n = market_view_search (view, "wasserfilter", 10, k.members, T0 + 1000, out, scores);
    HT_CHECK (n >= 1 && strcmp (out [0].title, "Wasserfilter") == 0);
    //  Restore rebuilds the index
    uint8_t *buf;
    size_t len;
    market_view_snapshot (view, &buf, &len);
    market_view_t *copy = market_view_new ();
    market_view_restore (copy, buf, len);
    n = market_view_search (copy, "wasserfilter", 10, k.members, T0 + 1000, out, scores);
    HT_CHECK (n >= 1 && strcmp (out [0].title, "Wasserfilter") == 0);
    free (buf);
    market_view_destroy (&copy);
    event_destroy (&w);
    event_destroy (&b);
    event_destroy (&s);
    event_destroy (&x);
    event_destroy (&u);
    market_view_destroy (&view);
    s_cast_destroy (&k);
}

/*  Records as emitted: their concatenation and where each ends. */
typedef struct {
    uint8_t *buf;
    size_t   len, cap;
    size_t  *ends;
    size_t   n, cap_ends;
} s_records_t;

static int
s_records_emit (void *arg, const uint8_t *rec, size_t len)
{
    s_records_t *r = (s_records_t *) arg;
    if (len == 0 || len > EVENTLOG_SNAPSHOT_RECORD_MAX)
        return HEARTH_EINVAL;
    if (r->len + len > r->cap) {
        r->cap = (r->len + len) * 2;
        r->buf = realloc (r->buf, r->cap);
    }
    if (r->n == r->cap_ends) {
        r->cap_ends = r->cap_ends? r->cap_ends * 2: 64;
        r->ends = realloc (r->ends, r->cap_ends * sizeof *r->ends);
    }
    memcpy (r->buf + r->len, rec, len);
    r->len += len;
    r->ends [r->n++] = r->len;
    return 0;
}

static void
s_records_free (s_records_t *r)
{
    free (r->buf);
    free (r->ends);
    memset (r, 0, sizeof *r);
}

HT_TEST (test_eventlog_view_adapter)
{
    market_view_t *view = market_view_new ();
    eventlog_view_t ev_view;
    market_view_as_eventlog_view (view, &ev_view);
    HT_CHECK_EQ_STR (ev_view.name, "market");
    HT_CHECK (ev_view.ctx == view);
    HT_CHECK_EQ_INT (ev_view.types, (1u << HEARTH__EVENT_TYPE__MARKET_POST_CREATED)
                                  | (1u << HEARTH__EVENT_TYPE__MARKET_POST_UPDATED)
                                  | (1u << HEARTH__EVENT_TYPE__MARKET_POST_EXPIRED));
    s_cast_t k;
    s_cast_new (&k);
    event_t *ev = tm_created (k.a, k.community, 10, T0, 1, NULL, OFFER, "P", "x", NULL, 0, DAY_S);
    HT_CHECK_EQ_INT (ev_view.apply (ev_view.ctx, ev), 0);
    s_records_t rec = { 0 };
    HT_CHECK_EQ_INT (ev_view.snapshot (ev_view.ctx, s_records_emit, &rec), 0);
    HT_CHECK_EQ_INT (rec.n, 2);             /* header, one post */
    ev_view.reset (ev_view.ctx);
    HT_CHECK_EQ_INT (market_view_count (view), 0);
    HT_CHECK_EQ_INT (ev_view.restore_begin (ev_view.ctx), 0);
    HT_CHECK_EQ_INT (ev_view.restore_chunk (ev_view.ctx, rec.buf, rec.len), 0);
    HT_CHECK_EQ_INT (market_view_count (view), 0);      /* not before end */
    HT_CHECK_EQ_INT (ev_view.restore_end (ev_view.ctx, 1), 0);
    HT_CHECK_EQ_INT (market_view_count (view), 1);
    s_records_free (&rec);
    event_destroy (&ev);
    market_view_destroy (&view);
    s_cast_destroy (&k);
}

/*  The record stream is the single pack of the whole MarketSnapshot: its
    concatenation unpacks and packs again to the same bytes, the digest is
    the hash of those bytes, each record after the header is one element
    of field 3, and any run of whole records unpacks alone. */
HT_TEST (test_records_equal_whole_pack)
{
    s_cast_t k;
    s_cast_new (&k);
    s_set_t set;
    s_set_build (&set, &k);
    uint64_t rng = UINT64_C (0x5EED5EED12345678);
    for (size_t i = set.n - 1; i > 0; i--) {            // a random arrival order
        size_t j = (size_t) (tm_rand (&rng) % (i + 1));
        event_t *tmp = set.ev [i];
        set.ev [i] = set.ev [j];
        set.ev [j] = tmp;
    }
    market_view_t *view = market_view_new ();
    s_apply_all (view, set.ev, set.n);
    s_records_t rec = { 0 };
    HT_CHECK_EQ_INT (market_view_records (view, s_records_emit, &rec), 0);
    HT_CHECK (rec.n >= market_view_count (view) + 1);      /* + posts without a .created */
    Hearth__MarketSnapshot *snap = hearth__market_snapshot__unpack (NULL, rec.len, rec.buf);
    HT_CHECK (snap != NULL);
    if (snap) {
        HT_CHECK_EQ_INT (snap->n_posts, rec.n - 1);
        HT_CHECK_EQ_INT (snap->version, 2);
        HT_CHECK_EQ_INT (snap->max_lamport, market_view_max_lamport (view));
        size_t len = hearth__market_snapshot__get_packed_size (snap);
        uint8_t *whole = malloc (len + 1);
        hearth__market_snapshot__pack (snap, whole);
        HT_CHECK (len == rec.len && memcmp (whole, rec.buf, len) == 0);
        uint8_t d1 [32], d2 [32];
        crypto_generichash (d1, 32, whole, len, NULL, 0);
        HT_CHECK_EQ_INT (market_view_digest (view, d2), 0);
        HT_CHECK (memcmp (d1, d2, 32) == 0);
        //  market_view_snapshot is the same bytes
        uint8_t *buf;
        size_t blen;
        HT_CHECK_EQ_INT (market_view_snapshot (view, &buf, &blen), 0);
        HT_CHECK (blen == len && memcmp (buf, whole, len) == 0);
        free (buf);
        free (whole);
        hearth__market_snapshot__free_unpacked (snap, NULL);
    }
    //  Records 1..n-1 alone: the posts, no header
    size_t first = rec.ends [0];
    snap = hearth__market_snapshot__unpack (NULL, rec.len - first, rec.buf + first);
    HT_CHECK (snap && snap->version == 0 && snap->n_posts == rec.n - 1);
    if (snap)
        hearth__market_snapshot__free_unpacked (snap, NULL);
    s_records_free (&rec);
    market_view_destroy (&view);
    s_free_all (set.ev, set.n);
    s_cast_destroy (&k);
}

/*  Restore from the records cut into runs at random places (each run a
    chunk) gives the same digest; chunks out of order, a chunk without the
    header first, a second header or a broken chunk fail, and a failed or
    abandoned restore leaves the view as it was. */
HT_TEST (test_restore_in_chunks)
{
    s_cast_t k;
    s_cast_new (&k);
    s_set_t set;
    s_set_build (&set, &k);
    market_view_t *view = market_view_new ();
    s_apply_all (view, set.ev, set.n);
    uint8_t ref [32], d [32];
    market_view_digest (view, ref);
    s_records_t rec = { 0 };
    HT_CHECK_EQ_INT (market_view_records (view, s_records_emit, &rec), 0);
    HT_CHECK (rec.n >= 4);
    uint64_t rng = 7;
    for (int round = 0; round < 50; round++) {
        market_view_t *copy = market_view_new ();
        HT_CHECK_EQ_INT (market_view_restore_begin (copy), 0);
        size_t at = 0, r = 0;
        while (r < rec.n) {
            size_t take = 1 + (size_t) (tm_rand (&rng) % 3);
            r = r + take > rec.n? rec.n: r + take;
            HT_CHECK_EQ_INT (market_view_restore_chunk (copy, rec.buf + at, rec.ends [r - 1] - at), 0);
            at = rec.ends [r - 1];
        }
        HT_CHECK_EQ_INT (market_view_count (copy), 0);  /* built aside */
        HT_CHECK_EQ_INT (market_view_restore_end (copy, 1), 0);
        market_view_digest (copy, d);
        HT_CHECK (memcmp (d, ref, 32) == 0);
        market_view_destroy (&copy);
    }
    //  Failures against a view with state: it keeps its digest
    market_view_t *other = market_view_new ();
    event_t *ev = tm_created (k.a, k.community, 10, T0, 1, NULL, OFFER, "Kept", "x", NULL, 0, DAY_S);
    HT_CHECK_EQ_INT (market_view_apply (other, ev), 0);
    event_destroy (&ev);
    uint8_t before [32];
    market_view_digest (other, before);
    size_t h = rec.ends [0], p1 = rec.ends [1], p2 = rec.ends [2];
    //  (a) posts out of order across chunks: post 2 before post 1
    HT_CHECK_EQ_INT (market_view_restore_begin (other), 0);
    HT_CHECK_EQ_INT (market_view_restore_chunk (other, rec.buf, h), 0);
    HT_CHECK_EQ_INT (market_view_restore_chunk (other, rec.buf + p1, p2 - p1), 0);
    HT_CHECK_EQ_INT (market_view_restore_chunk (other, rec.buf + h, p1 - h), HEARTH_ECORRUPT);
    HT_CHECK_EQ_INT (market_view_restore_chunk (other, rec.buf + p2, rec.len - p2), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (market_view_restore_end (other, 1), HEARTH_ECORRUPT);
    market_view_digest (other, d);
    HT_CHECK (memcmp (d, before, 32) == 0);
    //  (b) no header first
    HT_CHECK_EQ_INT (market_view_restore_begin (other), 0);
    HT_CHECK_EQ_INT (market_view_restore_chunk (other, rec.buf + h, rec.len - h), HEARTH_ECORRUPT);
    HT_CHECK_EQ_INT (market_view_restore_end (other, 1), HEARTH_ECORRUPT);
    //  (c) a second header
    HT_CHECK_EQ_INT (market_view_restore_begin (other), 0);
    HT_CHECK_EQ_INT (market_view_restore_chunk (other, rec.buf, p1), 0);
    HT_CHECK_EQ_INT (market_view_restore_chunk (other, rec.buf, h), HEARTH_ECORRUPT);
    HT_CHECK_EQ_INT (market_view_restore_end (other, 1), HEARTH_ECORRUPT);
    //  (d) a chunk that does not decode; (e) nothing at all
    HT_CHECK_EQ_INT (market_view_restore_begin (other), 0);
    HT_CHECK_EQ_INT (market_view_restore_chunk (other, (const uint8_t *) "\xff\xff\xff", 3), HEARTH_EDECODE);
    HT_CHECK_EQ_INT (market_view_restore_end (other, 1), HEARTH_ECORRUPT);
    HT_CHECK_EQ_INT (market_view_restore_begin (other), 0);
    HT_CHECK_EQ_INT (market_view_restore_end (other, 1), HEARTH_ECORRUPT);
    //  (f) a whole, valid stream abandoned (commit = 0)
    HT_CHECK_EQ_INT (market_view_restore_begin (other), 0);
    HT_CHECK_EQ_INT (market_view_restore_chunk (other, rec.buf, rec.len), 0);
    HT_CHECK_EQ_INT (market_view_restore_end (other, 0), 0);
    HT_CHECK_EQ_INT (market_view_restore_chunk (other, rec.buf, rec.len), HEARTH_EINVAL);
    market_view_digest (other, d);
    HT_CHECK (memcmp (d, before, 32) == 0);
    HT_CHECK_EQ_INT (market_view_count (other), 1);
    //  A restore left open is freed with the view
    HT_CHECK_EQ_INT (market_view_restore_begin (other), 0);
    HT_CHECK_EQ_INT (market_view_restore_chunk (other, rec.buf, p1), 0);
    market_view_destroy (&other);
    s_records_free (&rec);
    market_view_destroy (&view);
    s_free_all (set.ev, set.n);
    s_cast_destroy (&k);
}

/*  The order index against a reference: random inserts (incl. splits) and
    removes, then both iteration directions. */
static int
s_cmp_key (const void *a, const void *b)
{
    const uint64_t *x = (const uint64_t *) a, *y = (const uint64_t *) b;
    return x [0] < y [0]? -1: x [0] > y [0]? 1: x [1] < y [1]? -1: x [1] > y [1];
}

/*  market_idx: keys kept by the caller, found back by index. */
#define S_IDX_N 20000
static char s_idx_keys [S_IDX_N][ULID_SIZE];

static const void *
s_idx_key_of (const void *arg, uint32_t index)
{
    HT_CHECK (index < *(const uint32_t *) arg);    // only indices put so far
    return s_idx_keys [index];
}

static const void *
s_idx_bin_of (const void *arg, uint32_t index)
{
    return ((const uint8_t (*) [32]) arg) [index];
}

HT_TEST (test_idx_many_keys)
{
    market_idx_t *idx = market_idx_new (0);
    uint32_t n_put = 0;
    market_idx_keys_t keys = { s_idx_key_of, &n_put };
    uint32_t at;
    for (uint32_t i = 0; i < S_IDX_N; i++)
        tm_ulid (T0 + i / 7, i, s_idx_keys [i]);     // runs of ids in one ms share a prefix
    HT_CHECK_EQ_INT (market_idx_get (idx, s_idx_keys [0], &keys, &at), HEARTH_ENOTFOUND);
    //  Put in a scrambled order, so indices and insertion order differ
    for (uint32_t k = 0; k < S_IDX_N; k++) {
        n_put = S_IDX_N;
        uint32_t i = (uint32_t) ((k * UINT64_C (7919)) % S_IDX_N);
        HT_CHECK_EQ_INT (market_idx_put (idx, s_idx_keys [i], i, &keys), 0);
    }
    HT_CHECK_EQ_INT (market_idx_size (idx), S_IDX_N);
    size_t bad = 0;
    for (uint32_t i = 0; i < S_IDX_N; i++)
        if (market_idx_get (idx, s_idx_keys [i], &keys, &at) != 0 || at != i)
            bad++;
    HT_CHECK_EQ_INT (bad, 0);
    char other [ULID_SIZE];
    tm_ulid (T0 + S_IDX_N, 1, other);
    HT_CHECK_EQ_INT (market_idx_get (idx, other, &keys, &at), HEARTH_ENOTFOUND);
    HT_CHECK_EQ_INT (market_idx_get (idx, "", &keys, &at), HEARTH_ENOTFOUND);
    //  Clear keeps the table, drops the entries
    market_idx_clear (idx);
    HT_CHECK_EQ_INT (market_idx_size (idx), 0);
    HT_CHECK_EQ_INT (market_idx_get (idx, s_idx_keys [5], &keys, &at), HEARTH_ENOTFOUND);
    HT_CHECK_EQ_INT (market_idx_put (idx, s_idx_keys [5], 5, &keys), 0);
    HT_CHECK_EQ_INT (market_idx_get (idx, s_idx_keys [5], &keys, &at), 0);
    HT_CHECK_EQ_INT (at, 5);
    HT_CHECK_EQ_INT (market_idx_size (idx), 1);
    market_idx_destroy (&idx);
    HT_CHECK (idx == NULL);
    market_idx_destroy (&idx);
    //  Fixed-length byte keys (NULs inside): the first bytes equal, one differs
    static uint8_t bin [300][32];
    n_put = 300;
    keys.fn = s_idx_bin_of;
    keys.arg = bin;
    idx = market_idx_new (32);
    for (uint32_t i = 0; i < 300; i++) {
        bin [i][31] = (uint8_t) i;
        bin [i][0] = (uint8_t) (i >> 8);
        HT_CHECK_EQ_INT (market_idx_put (idx, bin [i], i, &keys), 0);
    }
    bad = 0;
    for (uint32_t i = 0; i < 300; i++)
        if (market_idx_get (idx, bin [i], &keys, &at) != 0 || at != i)
            bad++;
    HT_CHECK_EQ_INT (bad, 0);
    uint8_t none [32] = { 0 };
    none [30] = 1;
    HT_CHECK_EQ_INT (market_idx_get (idx, none, &keys, &at), HEARTH_ENOTFOUND);
    market_idx_destroy (&idx);
}

/*  The order test's items: present [i], whose id is s_order_ids [i]. */
#define S_ORDER_N 5000
static char s_order_ids [S_ORDER_N][8];
static int s_order_present [S_ORDER_N];

static const char *
s_order_id_of (const void *item)
{
    return s_order_ids [(const int *) item - s_order_present];
}

HT_TEST (test_order_index_random_ops)
{
    enum { N = S_ORDER_N };
    char (*ids) [8] = s_order_ids;
    static uint64_t keys [N][2];       /* lamport, index: the reference */
    int *present = s_order_present;
    market_order_t *order = market_order_new (s_order_id_of);
    uint64_t rng = 12345;
    for (int i = 0; i < N; i++) {
        snprintf (ids [i], sizeof ids [i], "%06d", i);
        keys [i][0] = tm_rand (&rng) % 700;    // many equal lamports: ids break ties
        keys [i][1] = (uint64_t) i;
    }
    for (int i = 0; i < N; i++) {
        HT_CHECK_EQ_INT (market_order_insert (order, keys [i][0], ids [i], &present [i]), 0);
        present [i] = 1;
    }
    HT_CHECK_EQ_INT (market_order_insert (order, keys [7][0], ids [7], &present [7]), HEARTH_EEXISTS);
    for (int r = 0; r < 2000; r++) {
        int i = (int) (tm_rand (&rng) % N);
        if (present [i]) {
            HT_CHECK_EQ_INT (market_order_remove (order, keys [i][0], ids [i]), 0);
            present [i] = 0;
        }
        else {
            HT_CHECK_EQ_INT (market_order_remove (order, keys [i][0], ids [i]), HEARTH_ENOTFOUND);
            HT_CHECK_EQ_INT (market_order_insert (order, keys [i][0], ids [i], &present [i]), 0);
            present [i] = 1;
        }
    }
    //  Reference: present keys sorted
    static uint64_t ref [N][2];
    size_t n = 0;
    for (int i = 0; i < N; i++)
        if (present [i]) {
            ref [n][0] = keys [i][0];
            ref [n][1] = keys [i][1];
            n++;
        }
    qsort (ref, n, sizeof ref [0], s_cmp_key);
    HT_CHECK_EQ_INT (market_order_size (order), n);
    market_order_cursor_t c;
    size_t seen = 0, bad = 0;
    for (const market_order_entry_t *e = market_order_first (order, &c); e; e = market_order_next (order, &c)) {
        if (seen >= n || e->lamport != ref [seen][0] || strcmp (s_order_id_of (e->item), ids [ref [seen][1]]) != 0
        ||  e->item != &present [ref [seen][1]])
            bad++;
        seen++;
    }
    HT_CHECK_EQ_INT (seen, n);
    HT_CHECK_EQ_INT (bad, 0);
    seen = 0;
    for (const market_order_entry_t *e = market_order_last (order, &c); e; e = market_order_prev (order, &c)) {
        if (seen >= n || e->lamport != ref [n - 1 - seen][0])
            bad++;
        seen++;
    }
    HT_CHECK_EQ_INT (seen, n);
    HT_CHECK_EQ_INT (bad, 0);
    //  Remove everything; the set empties cleanly
    for (int i = 0; i < N; i++)
        if (present [i])
            HT_CHECK_EQ_INT (market_order_remove (order, keys [i][0], ids [i]), 0);
    HT_CHECK_EQ_INT (market_order_size (order), 0);
    HT_CHECK (market_order_first (order, &c) == NULL);
    HT_CHECK (market_order_last (order, &c) == NULL);
    market_order_destroy (&order);
    HT_CHECK (order == NULL);
    market_order_destroy (&order);
}

/* ---- edits: ttl, location removal, updated_at, history, who expired ------- */

/*  A .updated with every field the tm_ helper lacks: tags (replace if
    n_tags or replace), a location (has_loc) or its removal (clear), a ttl. */
static event_t *
s_edit (const identity_t *who, const uint8_t *community, uint64_t lamport, uint64_t ms, uint32_t n,
        const char *target, const char *title, const char *body, const char *const *tags,
        size_t n_tags, int has_loc, double lat, double lng, int clear, uint64_t ttl)
{
    char id [ULID_SIZE] = "";
    Hearth__Event e;
    tm_envelope (&e, id, who, community, HEARTH__EVENT_TYPE__MARKET_POST_UPDATED, lamport, ms, n);
    Hearth__Location loc = HEARTH__LOCATION__INIT;
    loc.lat = lat;
    loc.lng = lng;
    loc.label = (char *) "Hof";
    Hearth__MarketPostUpdated u = HEARTH__MARKET_POST_UPDATED__INIT;
    u.target_event_id = (char *) target;
    u.title = (char *) title;
    u.body = (char *) body;
    u.tags = (char **) tags;
    u.n_tags = n_tags;
    u.replace_tags = tags != NULL;
    u.location = has_loc? &loc: NULL;
    u.clear_location = clear;
    u.ttl_seconds = ttl;
    e.payload_case = HEARTH__EVENT__PAYLOAD_MARKET_POST_UPDATED;
    e.market_post_updated = &u;
    return tm_sign (&e, who);
}

/*  One post's status as a comparable line: content, expiry, edits, who expired it. */
static void
s_status_text (market_view_t *view, const membership_t *members, const char *id, char *out,
               size_t cap)
{
    market_post_t p;
    if (market_view_get (view, id, members, &p) != 0) {
        snprintf (out, cap, "%s: none\n", id);
        return;
    }
    size_t o = (size_t) snprintf (out, cap, "%s|%s|%s|", p.event_id, p.title, p.body);
    for (size_t t = 0; t < p.n_tags && o < cap; t++)
        o += (size_t) snprintf (out + o, cap - o, "%s,", p.tags [t]);
    if (o < cap)
        o += (size_t) snprintf (out + o, cap - o, "|loc %d %.3f %.3f %s|exp %llu|upd %llu h %zu|",
                                p.has_location, p.lat, p.lng, p.label,
                                (unsigned long long) p.expires_at_ms,
                                (unsigned long long) p.updated_at_ms, p.history);
    if (o < cap)
        o += (size_t) snprintf (out + o, cap - o, "by %02x at %llu via %s r %d\n",
                                p.expired_by? p.expired_by [0]: 0,
                                (unsigned long long) p.expired_at_ms,
                                p.expired_via_event_id? p.expired_via_event_id: "-", p.expiry_reason);
}

/*  The edit set: posts E1 (A, located), E2 (B), E3 (A, expired by A then
    edited), E4 (C, expired stale by T), E5 only ever edited. */
typedef struct {
    event_t *ev [S_MAX_EVENTS];
    size_t   n;
    char     id [6][ULID_SIZE];
} s_edits_t;

static void
s_edits_build (s_edits_t *set, s_cast_t *k)
{
    memset (set, 0, sizeof *set);
    uint64_t ms = T0 + HOUR_MS;
    const char *t_new [] = { "Neu", "Leiter" };
    const char *t_b [] = { "rad" };
    event_t *ev;
#define ADD(x) do { ev = (x); HT_CHECK (ev != NULL); if (ev) set->ev [set->n++] = ev; } while (0)
    ADD (s_located (k->a, k->community, 10, 1, NULL, 52.5, 13.4, "Ecke", "Leiter abzugeben", NULL, 0));
    snprintf (set->id [1], ULID_SIZE, "%s", event_id (ev));
    ADD (tm_created (k->b, k->community, 11, ms + 11, 5002, NULL, OFFER, "Fahrrad", "Rot.", NULL, 0,
                     DAY_S));
    snprintf (set->id [2], ULID_SIZE, "%s", event_id (ev));
    ADD (tm_created (k->a, k->community, 12, ms + 12, 5003, NULL, INFO, "Alt", "Vorbei.", NULL, 0, DAY_S));
    snprintf (set->id [3], ULID_SIZE, "%s", event_id (ev));
    ADD (tm_created (k->c, k->community, 13, ms + 13, 5004, NULL, INFO, "Vergessen", "x", NULL, 0, DAY_S));
    snprintf (set->id [4], ULID_SIZE, "%s", event_id (ev));
    tm_ulid (ms + 14, 5005, set->id [5]);
    //  E1: several edits by the author, each a field; two at one lamport
    //  (concurrent: the larger event id wins the title); a ttl; the
    //  location set, then removed
    ADD (s_edit (k->a, k->community, 20, ms + 1000, 6001, set->id [1], "Leiter 3 m", NULL, NULL, 0,
                 0, 0, 0, 0, 0));
    ADD (s_edit (k->a, k->community, 21, ms + 2000, 6002, set->id [1], NULL, "Aluminium, leicht.", t_new, 2,
                 1, 52.6, 13.5, 0, 0));
    ADD (s_edit (k->a, k->community, 22, ms + 3000, 6003, set->id [1], "Leiter 4 m (A)", NULL, NULL, 0,
                 0, 0, 0, 0, 2 * DAY_S));
    ADD (s_edit (k->a, k->community, 22, ms + 3001, 6004, set->id [1], "Leiter 4 m (B)", NULL, NULL, 0,
                 0, 0, 0, 0, 0));
    ADD (s_edit (k->a, k->community, 23, ms + 4000, 6005, set->id [1], NULL, NULL, NULL, 0, 0, 0, 0, 1, 0));
    //  E1: edits by others never apply (B, and outsider X)
    ADD (s_edit (k->b, k->community, 30, ms + 5000, 6006, set->id [1], "Gekapert", NULL, NULL, 0,
                 0, 0, 0, 0, 30 * DAY_S));
    ADD (s_edit (k->x, k->community, 31, ms + 5001, 6007, set->id [1], NULL, "Fremd", NULL, 0,
                 1, 1, 1, 0, 0));
    //  E2: B's own edit (tags emptied); A's edit of it ignored
    ADD (s_edit (k->b, k->community, 24, ms + 6000, 6008, set->id [2], NULL, NULL, t_b, 0, 0, 0, 0, 0, 0));
    ADD (s_edit (k->a, k->community, 25, ms + 6001, 6009, set->id [2], "Nicht meins", NULL, NULL, 0,
                 0, 0, 0, 0, 0));
    //  E3: expired by its author, then edited (the edit is folded; the post stays expired)
    ADD (tm_expired (k->a, k->community, 26, ms + 7000, 6010, set->id [3], FULFILLED));
    ADD (s_edit (k->a, k->community, 27, ms + 8000, 6011, set->id [3], "Nach dem Ende", NULL, NULL, 0,
                 0, 0, 0, 0, 0));
    //  E4: stale by trusted T, and a later stale claim by T that does not count
    ADD (tm_expired (k->t, k->community, 28, ms + 9000, 6012, set->id [4], STALE));
    ADD (tm_expired (k->t, k->community, 29, ms + 9500, 6013, set->id [4], STALE));
    //  E5: an edit of a post that never arrives
    ADD (s_edit (k->a, k->community, 32, ms + 9900, 6014, set->id [5], "Nie", NULL, NULL, 0, 0, 0, 0, 0, 0));
#undef ADD
}

static void
s_edits_text (market_view_t *view, const membership_t *members, const s_edits_t *set, char *out,
              size_t cap)
{
    size_t o = 0;
    out [0] = 0;
    for (int i = 1; i <= 5 && o < cap; i++) {
        s_status_text (view, members, set->id [i], out + o, cap - o);
        o += strlen (out + o);
    }
}

HT_TEST (test_edits_fold_ttl_location_history_and_expiry_status)
{
    s_cast_t k;
    s_cast_new (&k);
    s_edits_t set;
    s_edits_build (&set, &k);
    market_view_t *view = market_view_new ();
    s_apply_all (view, set.ev, set.n);
    uint64_t ms = T0 + HOUR_MS;
    market_post_t p;
    //  E1: title from the concurrent pair's larger id, body and tags from 21,
    //  the location removed at 23, ttl from 22's wall clock
    HT_CHECK_EQ_INT (market_view_get (view, set.id [1], k.members, &p), 0);
    const char *winner = strcmp (event_id (set.ev [7]), event_id (set.ev [8])) > 0? "Leiter 4 m (A)"
                                                                                  : "Leiter 4 m (B)";
    HT_CHECK_EQ_STR (p.title, winner);
    HT_CHECK_EQ_STR (p.body, "Aluminium, leicht.");
    HT_CHECK_EQ_INT (p.n_tags, 2);
    HT_CHECK_EQ_INT (p.has_location, 0);
    HT_CHECK_EQ_INT (p.expires_at_ms, ms + 3000 + 2ULL * DAY_S * 1000);
    HT_CHECK_EQ_INT (p.updated_at_ms, ms + 4000);
    HT_CHECK_EQ_INT (p.history, 5);             // A's five edits; B's and X's do not count
    HT_CHECK (p.expired_by == NULL);
    HT_CHECK_EQ_INT (p.expired_at_ms, 0);
    //  A redelivered edit counts once
    HT_CHECK_EQ_INT (market_view_apply (view, set.ev [5]), 0);
    HT_CHECK_EQ_INT (market_view_get (view, set.id [1], k.members, &p), 0);
    HT_CHECK_EQ_INT (p.history, 5);
    //  E2: tags emptied by its author; A's edit ignored
    HT_CHECK_EQ_INT (market_view_get (view, set.id [2], k.members, &p), 0);
    HT_CHECK_EQ_STR (p.title, "Fahrrad");
    HT_CHECK_EQ_INT (p.n_tags, 0);
    HT_CHECK_EQ_INT (p.history, 1);
    HT_CHECK_EQ_INT (p.updated_at_ms, ms + 6000);
    //  E3: expired by A at 26 (who, when, why), edited later
    HT_CHECK_EQ_INT (market_view_get (view, set.id [3], k.members, &p), 0);
    HT_CHECK (p.expired_by && memcmp (p.expired_by, identity_public_key (k.a), 32) == 0);
    HT_CHECK_EQ_INT (p.expired_at_ms, ms + 7000);
    HT_CHECK_EQ_INT (p.expiry_reason, FULFILLED);
    HT_CHECK_EQ_STR (p.title, "Nach dem Ende");
    HT_CHECK (market_view_is_expired (&p, ms + 9000));
    //  E4: the earliest valid claim: T's at 28
    HT_CHECK_EQ_INT (market_view_get (view, set.id [4], k.members, &p), 0);
    HT_CHECK (p.expired_by && memcmp (p.expired_by, identity_public_key (k.t), 32) == 0);
    HT_CHECK_EQ_INT (p.expired_at_ms, ms + 9000);
    HT_CHECK_EQ_INT (p.expiry_reason, STALE);
    HT_CHECK_EQ_INT (p.history, 0);
    HT_CHECK_EQ_INT (p.updated_at_ms, 0);
    //  E5: only edited: no post
    HT_CHECK_EQ_INT (market_view_get (view, set.id [5], k.members, &p), HEARTH_ENOTFOUND);
    //  A ttl edit can revive a post its .created ttl had ended (1 day from
    //  E2's creation): B renews it, dated two days later, for a day
    uint64_t later = ms + 2ULL * DAY_S * 1000;
    HT_CHECK_EQ_INT (market_view_get (view, set.id [2], k.members, &p), 0);
    HT_CHECK (market_view_is_expired (&p, later));
    event_t *renew = s_edit (k.b, k.community, 40, later, 6100, set.id [2], NULL, NULL, NULL, 0,
                             0, 0, 0, 0, DAY_S);
    HT_CHECK_EQ_INT (market_view_apply (view, renew), 0);
    HT_CHECK_EQ_INT (market_view_get (view, set.id [2], k.members, &p), 0);
    HT_CHECK (!market_view_is_expired (&p, later + 1000));
    HT_CHECK_EQ_INT (p.expires_at_ms, later + DAY_S * 1000ULL);
    event_destroy (&renew);
    market_view_destroy (&view);
    s_free_all (set.ev, set.n);
    s_cast_destroy (&k);
}

HT_TEST (test_edits_order_independence)
{
    s_cast_t k;
    s_cast_new (&k);
    s_edits_t set;
    s_edits_build (&set, &k);
    uint64_t seed = ht_seed (UINT64_C (0x2545F4914F6CDD1D));
    fprintf (stderr, "edits order independence: seed 0x%016llx (HEARTH_TEST_SEED replays)\n",
             (unsigned long long) seed);
    uint64_t rng = seed;
    market_view_t *ref = market_view_new ();
    s_apply_all (ref, set.ev, set.n);
    uint8_t ref_digest [32];
    HT_CHECK_EQ_INT (market_view_digest (ref, ref_digest), 0);
    static char ref_text [8192], text [8192];
    s_edits_text (ref, k.members, &set, ref_text, sizeof ref_text);
    int digest_mismatch = 0, text_mismatch = 0, restore_mismatch = 0;
    const int rounds = 1200;
    for (int round = 0; round < rounds; round++) {
        market_view_t *view = s_view_shuffled (set.ev, set.n, round, &rng, ref_digest, &digest_mismatch);
        s_edits_text (view, k.members, &set, text, sizeof text);
        if (strcmp (text, ref_text) != 0) {
            if (text_mismatch++ == 0)
                fprintf (stderr, "round %d:\n%s\nvs reference:\n%s\n", round, text, ref_text);
        }
        //  Every 50th round: the snapshot carries all of it
        if (round % 50 == 0) {
            market_view_t *copy = s_view_copy (view);
            uint8_t d2 [32];
            market_view_digest (copy, d2);
            restore_mismatch += memcmp (d2, ref_digest, 32) != 0;
            s_edits_text (copy, k.members, &set, text, sizeof text);
            restore_mismatch += strcmp (text, ref_text) != 0;
            market_view_destroy (&copy);
        }
        market_view_destroy (&view);
    }
    HT_CHECK_EQ_INT (digest_mismatch, 0);
    HT_CHECK_EQ_INT (text_mismatch, 0);
    HT_CHECK_EQ_INT (restore_mismatch, 0);
    fprintf (stderr, "edits order independence: %d orders, %zu events, one state\n", rounds, set.n);
    market_view_destroy (&ref);
    s_free_all (set.ev, set.n);
    s_cast_destroy (&k);
}

HT_TEST (test_history_cap_keeps_smallest_hashes)
{
    s_cast_t k;
    s_cast_new (&k);
    enum { N = MARKET_VIEW_MAX_HISTORY + 20 };
    static event_t *evs [N + 1];
    evs [0] = tm_created (k.a, k.community, 1, T0, 7000, NULL, OFFER, "Viel", "Oft bearbeitet.", NULL, 0,
                          DAY_S);
    for (int i = 1; i <= N; i++)
        evs [i] = tm_updated (k.a, k.community, 1 + (uint64_t) i, T0 + (uint64_t) i, 7000 + (uint32_t) i,
                              event_id (evs [0]), "Titel", NULL, NULL, 0, 0);
    market_view_t *fwd = market_view_new (), *rev = market_view_new ();
    s_apply_all (fwd, evs, N + 1);
    for (int i = N; i >= 0; i--)
        HT_CHECK_EQ_INT (market_view_apply (rev, evs [i]), 0);
    market_post_t p;
    HT_CHECK_EQ_INT (market_view_get (fwd, event_id (evs [0]), k.members, &p), 0);
    HT_CHECK_EQ_INT (p.history, MARKET_VIEW_MAX_HISTORY);
    HT_CHECK_EQ_INT (p.updated_at_ms, T0 + N);
    uint8_t d1 [32], d2 [32];
    market_view_digest (fwd, d1);
    market_view_digest (rev, d2);
    HT_CHECK (memcmp (d1, d2, 32) == 0);
    market_view_destroy (&fwd);
    market_view_destroy (&rev);
    s_free_all (evs, N + 1);
    s_cast_destroy (&k);
}

HT_TEST (test_version_1_snapshot_is_refused)
{
    //  A snapshot from before edits carried ttl and history: refused, so
    //  the log rebuilds the view from the events
    Hearth__MarketSnapshot head = HEARTH__MARKET_SNAPSHOT__INIT;
    head.version = 1;
    head.max_lamport = 5;
    uint8_t buf [32];
    size_t len = hearth__market_snapshot__pack (&head, buf);
    market_view_t *view = market_view_new ();
    HT_CHECK_EQ_INT (market_view_restore (view, buf, len), HEARTH_ECORRUPT);
    HT_CHECK_EQ_INT (market_view_max_lamport (view), 0);
    head.version = 2;
    len = hearth__market_snapshot__pack (&head, buf);
    HT_CHECK_EQ_INT (market_view_restore (view, buf, len), 0);
    HT_CHECK_EQ_INT (market_view_max_lamport (view), 5);
    market_view_destroy (&view);
}

HT_TEST (test_edit_reindexes_search)
{
    s_cast_t k;
    s_cast_new (&k);
    event_t *post = tm_created (k.a, k.community, 1, T0, 8000, NULL, OFFER, "Schubkarre abzugeben",
                                "Verzinkt.", NULL, 0, DAY_S);
    market_view_t *view = market_view_new ();
    HT_CHECK_EQ_INT (market_view_apply (view, post), 0);
    market_post_t out [4];
    double scores [4];
    HT_CHECK_EQ_INT (market_view_search (view, "schubkarre", 4, k.members, T0 + 1, out, scores), 1);
    event_t *edit = tm_updated (k.a, k.community, 2, T0 + 10, 8001, event_id (post), "Rasenmäher abzugeben",
                                NULL, NULL, 0, 0);
    HT_CHECK_EQ_INT (market_view_apply (view, edit), 0);
    HT_CHECK_EQ_INT (market_view_search (view, "rasenmäher", 4, k.members, T0 + 20, out, scores), 1);
    HT_CHECK_EQ_INT (market_view_search (view, "schubkarre", 4, k.members, T0 + 20, out, scores), 0);
    //  Another member's edit changes nothing in the index either
    event_t *other = tm_updated (k.b, k.community, 3, T0 + 30, 8002, event_id (post), "Fahrradanhänger",
                                 NULL, NULL, 0, 0);
    HT_CHECK_EQ_INT (market_view_apply (view, other), 0);
    HT_CHECK_EQ_INT (market_view_search (view, "fahrradanhänger", 4, k.members, T0 + 40, out, scores), 0);
    HT_CHECK_EQ_INT (market_view_search (view, "rasenmäher", 4, k.members, T0 + 40, out, scores), 1);
    event_destroy (&post);
    event_destroy (&edit);
    event_destroy (&other);
    market_view_destroy (&view);
    s_cast_destroy (&k);
}

HT_TEST (test_restore_refuses_tampered_edits)
{
    //  A snapshot read back from disk is checked, never trusted: an
    //  unsorted or repeated history, a location both set and removed, a
    //  ttl over the cap are HEARTH_ECORRUPT, and the view stays as it was
    s_cast_t k;
    s_cast_new (&k);
    s_edits_t set;
    s_edits_build (&set, &k);
    market_view_t *view = market_view_new ();
    s_apply_all (view, set.ev, set.n);
    uint8_t *buf;
    size_t len;
    HT_CHECK_EQ_INT (market_view_snapshot (view, &buf, &len), 0);
    market_view_t *copy = market_view_new ();
    HT_CHECK_EQ_INT (market_view_restore (copy, buf, len), 0);
    uint8_t before [32];
    market_view_digest (copy, before);
    for (int tamper = 0; tamper < 4; tamper++) {
        Hearth__MarketSnapshot *snap = hearth__market_snapshot__unpack (NULL, len, buf);
        HT_CHECK (snap != NULL);
        if (!snap)
            break;
        //  E1's author's update record: five distinct updates, location removed, a ttl
        Hearth__MarketFieldUpdates *u = NULL;
        for (size_t i = 0; i < snap->n_posts; i++)
            if (strcmp (snap->posts [i]->event_id, set.id [1]) == 0)
                for (size_t j = 0; j < snap->posts [i]->n_updates; j++)
                    if (snap->posts [i]->updates [j]->n_history == 5)
                        u = snap->posts [i]->updates [j];
        HT_CHECK (u != NULL);
        if (!u) {
            hearth__market_snapshot__free_unpacked (snap, NULL);
            break;
        }
        Hearth__Location here = HEARTH__LOCATION__INIT;
        ProtobufCBinaryData swap;
        switch (tamper) {
            case 0:     /* unsorted */
                swap = u->history [0];
                u->history [0] = u->history [1];
                u->history [1] = swap;
                break;
            case 1:     /* a hash twice */
                memcpy (u->history [1].data, u->history [0].data, 32);
                break;
            case 2:     /* a place and its removal */
                u->location = &here;
                break;
            case 3:     /* a ttl over the cap */
                u->ttl_seconds = EVENT_MAX_TTL_SECONDS + 1;
                break;
        }
        size_t tlen = hearth__market_snapshot__get_packed_size (snap);
        uint8_t *tbuf = malloc (tlen);
        hearth__market_snapshot__pack (snap, tbuf);
        u->location = NULL;         /* not the unpacker's: not freed by it */
        hearth__market_snapshot__free_unpacked (snap, NULL);
        HT_CHECK_EQ_INT (market_view_restore (copy, tbuf, tlen), HEARTH_ECORRUPT);
        uint8_t after [32];
        market_view_digest (copy, after);
        HT_CHECK (memcmp (before, after, 32) == 0);
        free (tbuf);
    }
    free (buf);
    market_view_destroy (&copy);
    market_view_destroy (&view);
    s_free_all (set.ev, set.n);
    s_cast_destroy (&k);
}

int
main (void)
{
    HT_RUN (test_order_index_random_ops);
    HT_RUN (test_idx_many_keys);
    HT_RUN (test_post_event_appears_in_view_after_apply);
    HT_RUN (test_fold_result_of_the_event_set);
    HT_RUN (test_order_independence_1000_orders);
    HT_RUN (test_replay_then_snapshot_then_restore_equal_state);
    HT_RUN (test_list_filters);
    HT_RUN (test_list_limit_default_and_max);
    HT_RUN (test_ttl_hiding);
    HT_RUN (test_claimers_cap_keeps_smallest_authors);
    HT_RUN (test_effective_content_at_read_time);
    HT_RUN (test_view_search_hides_inactive);
    HT_RUN (test_eventlog_view_adapter);
    HT_RUN (test_records_equal_whole_pack);
    HT_RUN (test_restore_in_chunks);
    HT_RUN (test_edits_fold_ttl_location_history_and_expiry_status);
    HT_RUN (test_edits_order_independence);
    HT_RUN (test_history_cap_keeps_smallest_hashes);
    HT_RUN (test_version_1_snapshot_is_refused);
    HT_RUN (test_edit_reindexes_search);
    HT_RUN (test_restore_refuses_tampered_edits);
    return ht_summary ();
}
