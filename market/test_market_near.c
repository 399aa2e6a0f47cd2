/*  test_market_near.c — "near me" (docs/market.md): market.list and
    market.search with a location filter, on the view and through the
    service.

    The view: a post's effective location decides (an author's location
    update moves it in and out of a circle, another member's does not, one
    that arrives before its .created counts once it does), unlocated posts
    are left out, an author's expiry takes a post out, a snapshot restore
    brings the index along. A property test: random located posts,
    updates and expiries applied in several shuffled orders give, for many
    random filters (both orders, with category, tags, since_lamport and
    limits), exactly the brute-force answer computed from
    market_view_each, and the same answer in every order.
    The service: the input checks name the field, list and search carry
    distance_km and order by distance. HEARTH_TEST_SEED replays a run.
*/
#include <math.h>
#include "test_market_util.h"
#include "eventlog.h"
#include "market.h"
#include "market_embed_cache.h"
#include "market_geo.h"
#include "market_semantic.h"
#include "market_view.h"

#define T0      UINT64_C (1780000000000)
#define HOUR_MS UINT64_C (3600000)
#define DAY_S   86400
#define OFFER   HEARTH__CATEGORY__CATEGORY_OFFER
#define REQUEST HEARTH__CATEGORY__CATEGORY_REQUEST
#define WITHDRAWN HEARTH__EXPIRY_REASON__EXPIRY_REASON_WITHDRAWN

static uint8_t s_community [32] = { 7 };

/*  market.post.created with a location (has_loc 0: none). */
static event_t *
s_created (const identity_t *author, uint64_t lamport, uint32_t n, int category, const char *tag,
           int has_loc, double lat, double lng)
{
    char id [ULID_SIZE] = "";
    Hearth__Event e;
    tm_envelope (&e, id, author, s_community, HEARTH__EVENT_TYPE__MARKET_POST_CREATED, lamport,
                 T0 + n, n);
    Hearth__MarketPostCreated p = HEARTH__MARKET_POST_CREATED__INIT;
    Hearth__Location loc = HEARTH__LOCATION__INIT;
    char client [32], title [64];
    snprintf (client, sizeof client, "c-%u", n);
    snprintf (title, sizeof title, "ladder number %u", n);
    char *tags [1] = { (char *) tag };
    p.client_id = client;
    p.category = (Hearth__Category) category;
    p.title = title;
    p.body = (char *) "to lend";
    p.tags = tag? tags: NULL;
    p.n_tags = tag? 1: 0;
    p.ttl_seconds = 7 * DAY_S;
    loc.lat = lat;
    loc.lng = lng;
    loc.label = (char *) "here";
    p.location = has_loc? &loc: NULL;
    e.payload_case = HEARTH__EVENT__PAYLOAD_MARKET_POST_CREATED;
    e.market_post_created = &p;
    return tm_sign (&e, author);
}

/*  market.post.updated of the location only. */
static event_t *
s_moved (const identity_t *author, uint64_t lamport, uint32_t n, const char *target, double lat,
         double lng)
{
    char id [ULID_SIZE] = "";
    Hearth__Event e;
    tm_envelope (&e, id, author, s_community, HEARTH__EVENT_TYPE__MARKET_POST_UPDATED, lamport,
                 T0 + n, n);
    Hearth__MarketPostUpdated p = HEARTH__MARKET_POST_UPDATED__INIT;
    Hearth__Location loc = HEARTH__LOCATION__INIT;
    loc.lat = lat;
    loc.lng = lng;
    loc.label = (char *) "moved";
    p.target_event_id = (char *) target;
    p.location = &loc;
    e.payload_case = HEARTH__EVENT__PAYLOAD_MARKET_POST_UPDATED;
    e.market_post_updated = &p;
    return tm_sign (&e, author);
}

static size_t
s_list (market_view_t *view, double lat, double lng, double radius, int by_distance,
        market_post_t *out, size_t cap)
{
    market_near_t near = { lat, lng, radius, by_distance };
    market_query_t q = { 0 };
    q.near = &near;
    q.limit = cap;
    return market_view_list (view, &q, NULL, T0 + HOUR_MS, out, cap);
}

/*  1 if id is among the n posts. */
static int
s_listed (const market_post_t *posts, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp (posts [i].event_id, id) == 0)
            return 1;
    return 0;
}

HT_TEST (test_near_view_basics)
{
    identity_t *a = tm_identity (0x21), *b = tm_identity (0x22);
    market_view_t *view = market_view_new ();
    //  Berlin Alexanderplatz, 1.1 km east of it, Potsdam (~27 km), Munich, none
    event_t *alex = s_created (a, 1, 1, OFFER, "tools", 1, 52.5219, 13.4132);
    event_t *east = s_created (a, 2, 2, REQUEST, "food", 1, 52.5219, 13.4295);
    event_t *potsdam = s_created (b, 3, 3, OFFER, "tools", 1, 52.3906, 13.0645);
    event_t *munich = s_created (b, 4, 4, OFFER, "tools", 1, 48.1351, 11.5820);
    event_t *nowhere = s_created (b, 5, 5, OFFER, "tools", 0, 0, 0);
    event_t *all [] = { alex, east, potsdam, munich, nowhere };
    for (size_t i = 0; i < 5; i++)
        HT_CHECK_EQ_INT (market_view_apply (view, all [i]), 0);
    market_post_t out [8];
    //  2 km: Alexanderplatz and the post east of it, newest first
    size_t n = s_list (view, 52.5219, 13.4132, 2, 0, out, 8);
    HT_CHECK_EQ_INT (n, 2);
    HT_CHECK_EQ_STR (out [0].event_id, event_id (east));
    HT_CHECK_EQ_STR (out [1].event_id, event_id (alex));
    HT_CHECK (out [1].distance_km >= 0 && out [1].distance_km < 1e-9);
    HT_CHECK (fabs (out [0].distance_km - market_geo_distance_km (52.5219, 13.4132, 52.5219, 13.4295))
              < 1e-6);
    //  By distance: the nearest first
    n = s_list (view, 52.5219, 13.4132, 2, 1, out, 8);
    HT_CHECK_EQ_INT (n, 2);
    HT_CHECK_EQ_STR (out [0].event_id, event_id (alex));
    //  50 km: Potsdam too; the whole Earth: every located post, never the unlocated one
    HT_CHECK_EQ_INT (s_list (view, 52.5219, 13.4132, 50, 0, out, 8), 3);
    n = s_list (view, 0, 0, MARKET_GEO_MAX_RADIUS_KM, 1, out, 8);
    HT_CHECK_EQ_INT (n, 4);
    HT_CHECK (!s_listed (out, n, event_id (nowhere)));
    //  Every post is ~5,500 km from (0, 0); Munich the nearest of them
    HT_CHECK_EQ_STR (out [0].event_id, event_id (munich));
    //  Combined with category, tags, since_lamport and a limit
    market_near_t near = { 52.5219, 13.4132, 50, 0 };
    market_query_t q = { 0 };
    q.near = &near;
    q.category = OFFER;
    HT_CHECK_EQ_INT (market_view_list (view, &q, NULL, T0 + HOUR_MS, out, 8), 2);
    const char *food [] = { "FOOD" };
    q.category = 0;
    q.tags = food;
    q.n_tags = 1;
    HT_CHECK_EQ_INT (market_view_list (view, &q, NULL, T0 + HOUR_MS, out, 8), 1);
    HT_CHECK_EQ_STR (out [0].event_id, event_id (east));
    q.tags = NULL;
    q.n_tags = 0;
    q.since_lamport = 1;
    HT_CHECK_EQ_INT (market_view_list (view, &q, NULL, T0 + HOUR_MS, out, 8), 2);
    q.since_lamport = 0;
    q.limit = 1;
    HT_CHECK_EQ_INT (market_view_list (view, &q, NULL, T0 + HOUR_MS, out, 8), 1);
    HT_CHECK_EQ_STR (out [0].event_id, event_id (potsdam));
    near.by_distance = 1;
    HT_CHECK_EQ_INT (market_view_list (view, &q, NULL, T0 + HOUR_MS, out, 8), 1);
    HT_CHECK_EQ_STR (out [0].event_id, event_id (alex));
    //  A filter that is not a valid circle lists nothing (the service refuses it first)
    HT_CHECK_EQ_INT (s_list (view, NAN, 13, 5, 0, out, 8), 0);
    HT_CHECK_EQ_INT (s_list (view, 52, 13, 0, 0, out, 8), 0);
    HT_CHECK_EQ_INT (s_list (view, 52, 13, INFINITY, 1, out, 8), 0);
    //  After the ttl nothing is listed
    market_near_t wide = { 52.5, 13.4, 100, 1 };
    market_query_t qw = { 0 };
    qw.near = &wide;
    HT_CHECK_EQ_INT (market_view_list (view, &qw, NULL, T0 + 8 * 24 * HOUR_MS, out, 8), 0);
    //  Without a filter: no distance
    market_query_t plain = { 0 };
    HT_CHECK_EQ_INT (market_view_list (view, &plain, NULL, T0 + HOUR_MS, out, 8), 5);
    HT_CHECK (!out [0].has_distance);
    HT_CHECK_EQ_INT (market_view_geo_size (view), 4);
    HT_CHECK (market_view_geo_bytes (view) > 0);
    for (size_t i = 0; i < 5; i++)
        event_destroy (&all [i]);
    market_view_destroy (&view);
    identity_destroy (&a);
    identity_destroy (&b);
}

/*  The index follows the post's current, effective location. */
HT_TEST (test_near_follows_updates_and_expiry)
{
    identity_t *a = tm_identity (0x21), *b = tm_identity (0x22);
    market_view_t *view = market_view_new ();
    market_post_t out [8];
    event_t *post = s_created (a, 1, 1, OFFER, NULL, 1, 52.5219, 13.4132);
    const char *id = event_id (post);
    HT_CHECK_EQ_INT (market_view_apply (view, post), 0);
    HT_CHECK_EQ_INT (s_list (view, 52.5219, 13.4132, 1, 0, out, 8), 1);     // the index is built
    //  The author moves it to Munich: gone from Berlin, found in Munich
    event_t *moved = s_moved (a, 2, 2, id, 48.1351, 11.5820);
    HT_CHECK_EQ_INT (market_view_apply (view, moved), 0);
    HT_CHECK_EQ_INT (s_list (view, 52.5219, 13.4132, 1, 0, out, 8), 0);
    HT_CHECK_EQ_INT (s_list (view, 48.1351, 11.5820, 1, 0, out, 8), 1);
    HT_CHECK_EQ_STR (out [0].label, "moved");
    //  Someone else's update does not move it
    event_t *other = s_moved (b, 3, 3, id, 52.5219, 13.4132);
    HT_CHECK_EQ_INT (market_view_apply (view, other), 0);
    HT_CHECK_EQ_INT (s_list (view, 52.5219, 13.4132, 1, 0, out, 8), 0);
    HT_CHECK_EQ_INT (s_list (view, 48.1351, 11.5820, 1, 0, out, 8), 1);
    //  An older update of the author loses (lamport 2 wins over this 1.5-ish one)
    event_t *older = s_moved (a, 1, 4, id, 40, 0);
    HT_CHECK_EQ_INT (market_view_apply (view, older), 0);
    HT_CHECK_EQ_INT (s_list (view, 40, 0, 1, 0, out, 8), 0);
    //  The author's expiry takes it out for good
    event_t *gone = tm_expired (a, s_community, 5, T0 + 5, 5, id, WITHDRAWN);
    HT_CHECK_EQ_INT (market_view_apply (view, gone), 0);
    HT_CHECK_EQ_INT (s_list (view, 48.1351, 11.5820, 1, 0, out, 8), 0);
    HT_CHECK_EQ_INT (market_view_geo_size (view), 0);

    //  An update that arrives before its .created counts once it arrives
    market_view_t *late = market_view_new ();
    HT_CHECK_EQ_INT (market_view_apply (late, moved), 0);
    HT_CHECK_EQ_INT (s_list (late, 48.1351, 11.5820, 1, 0, out, 8), 0);
    HT_CHECK_EQ_INT (market_view_apply (late, post), 0);
    HT_CHECK_EQ_INT (s_list (late, 48.1351, 11.5820, 1, 0, out, 8), 1);
    HT_CHECK_EQ_INT (s_list (late, 52.5219, 13.4132, 1, 0, out, 8), 0);
    //  An unlocated post given a location by its author is found
    event_t *bare = s_created (a, 6, 6, OFFER, NULL, 0, 0, 0);
    event_t *placed = s_moved (a, 7, 7, event_id (bare), -33.9, 151.2);
    HT_CHECK_EQ_INT (market_view_apply (late, bare), 0);
    HT_CHECK_EQ_INT (s_list (late, -33.9, 151.2, 1, 0, out, 8), 0);
    HT_CHECK_EQ_INT (market_view_apply (late, placed), 0);
    HT_CHECK_EQ_INT (s_list (late, -33.9, 151.2, 1, 0, out, 8), 1);

    //  Snapshot and restore: the restored view's index is built from it
    uint8_t *snap = NULL;
    size_t len = 0;
    HT_CHECK_EQ_INT (market_view_snapshot (late, &snap, &len), 0);
    market_view_t *restored = market_view_new ();
    HT_CHECK_EQ_INT (s_list (restored, 0, 0, MARKET_GEO_MAX_RADIUS_KM, 0, out, 8), 0);
    HT_CHECK_EQ_INT (market_view_restore (restored, snap, len), 0);
    HT_CHECK_EQ_INT (s_list (restored, 48.1351, 11.5820, 1, 0, out, 8), 1);
    HT_CHECK_EQ_INT (s_list (restored, -33.9, 151.2, 1, 0, out, 8), 1);
    HT_CHECK_EQ_INT (s_list (restored, 0, 0, MARKET_GEO_MAX_RADIUS_KM, 0, out, 8), 2);
    //  Restoring over a view whose index had other posts replaces them
    HT_CHECK_EQ_INT (market_view_restore (view, snap, len), 0);
    HT_CHECK_EQ_INT (s_list (view, 0, 0, MARKET_GEO_MAX_RADIUS_KM, 0, out, 8), 2);
    free (snap);
    //  Reset empties it
    market_view_reset (late);
    HT_CHECK_EQ_INT (s_list (late, 0, 0, MARKET_GEO_MAX_RADIUS_KM, 0, out, 8), 0);

    event_t *evs [] = { post, moved, other, older, gone, bare, placed };
    for (size_t i = 0; i < sizeof evs / sizeof evs [0]; i++)
        event_destroy (&evs [i]);
    market_view_destroy (&view);
    market_view_destroy (&late);
    market_view_destroy (&restored);
    identity_destroy (&a);
    identity_destroy (&b);
}

/*  The fused search: the semantic side keeps only posts within the
    circle too, each with its distance; by distance, nearest first. */
HT_TEST (test_near_fused_search)
{
    identity_t *a = tm_identity (0x21);
    market_view_t *view = market_view_new ();
    market_embed_cache_t *cache = market_embed_cache_new (16);
    event_t *posts [4] = {
        s_created (a, 1, 1, OFFER, NULL, 1, 52.5219, 13.4132),       // Alexanderplatz
        s_created (a, 2, 2, OFFER, NULL, 1, 52.5219, 13.4295),       // 1.1 km east
        s_created (a, 3, 3, OFFER, NULL, 1, 48.1351, 11.5820),       // Munich
        s_created (a, 4, 4, OFFER, NULL, 0, 0, 0),                   // nowhere
    };
    float vec [4] = { 1, 0.5f, 0.25f, 0 };
    for (int i = 0; i < 4; i++) {
        HT_CHECK_EQ_INT (market_view_apply (view, posts [i]), 0);
        market_post_t p;
        HT_CHECK_EQ_INT (market_view_get (view, event_id (posts [i]), NULL, &p), 0);
        HT_CHECK_EQ_INT (market_embed_cache_put (cache, "m", event_id (posts [i]),
                                                 market_embed_text_hash (p.title, p.body), vec, 4), 0);
    }
    //  "vase" is in no post: every hit is semantic
    market_semantic_t sem = { cache, "m", vec, 4, NULL };
    market_near_t near = { 52.5219, 13.4295, 5, 1 };
    json_t *out = NULL;
    HT_CHECK_EQ_INT (market_semantic_search_near (view, NULL, "vase", 10, &near, &sem, T0 + HOUR_MS,
                                                  &out), 0);
    json_t *list = json_object_get (out, "posts");
    HT_CHECK_EQ_STR (json_string_value (json_object_get (json_object_get (out, "meta"), "ranking")),
                     "fused");
    HT_CHECK_EQ_INT (json_array_size (list), 2);
    HT_CHECK_EQ_STR (json_string_value (json_object_get (json_array_get (list, 0), "event_id")),
                     event_id (posts [1]));      // nearest first
    HT_CHECK (json_number_value (json_object_get (json_array_get (list, 0), "distance_km")) < 1e-9);
    HT_CHECK (json_number_value (json_object_get (json_array_get (list, 1), "distance_km")) > 1.0);
    json_decref (out);
    //  Without a filter: all four, no distance
    HT_CHECK_EQ_INT (market_semantic_search (view, NULL, "vase", 10, &sem, T0 + HOUR_MS, &out), 0);
    list = json_object_get (out, "posts");
    HT_CHECK_EQ_INT (json_array_size (list), 4);
    HT_CHECK (json_object_get (json_array_get (list, 0), "distance_km") == NULL);
    json_decref (out);
    //  A filter that is not a circle is refused
    market_near_t bad = { 52.5, 13.4, NAN, 0 };
    HT_CHECK_EQ_INT (market_semantic_search_near (view, NULL, "vase", 10, &bad, &sem, T0, &out),
                     HEARTH_EINVAL);
    HT_CHECK (out == NULL);
    for (int i = 0; i < 4; i++)
        event_destroy (&posts [i]);
    market_embed_cache_destroy (&cache);
    market_view_destroy (&view);
    identity_destroy (&a);
}

/* ---- the property test ---------------------------------------------------- */

#define S_POSTS   600
#define S_EVENTS  (S_POSTS + 400)
#define S_ORDERS  3
#define S_QUERIES 300

typedef struct {
    market_post_t post;
    double        chord2;
} s_expect_t;

typedef struct {
    const market_geo_circle_t *circle;
    const market_query_t      *q;
    uint64_t                   now_ms;
    s_expect_t                *out;
    size_t                     n;
} s_brute_t;

static int
s_brute_visit (void *arg, const market_post_t *post)
{
    s_brute_t *b = (s_brute_t *) arg;
    if (market_view_is_expired (post, b->now_ms) || post->lamport <= b->q->since_lamport
    ||  (b->q->category && post->category != b->q->category) || !post->has_location)
        return 0;
    if (b->q->n_tags) {
        int any = 0;
        for (size_t i = 0; i < post->n_tags; i++)
            any |= strcmp (post->tags [i], b->q->tags [0]) == 0;
        if (!any)
            return 0;
    }
    double chord2 = market_geo_circle_chord2 (b->circle, post->lat, post->lng);
    if (market_geo_circle_holds (b->circle, chord2)) {
        b->out [b->n].post = *post;
        b->out [b->n].chord2 = chord2;
        b->n++;
    }
    return 0;
}

static int s_expect_by_distance;

static int
s_expect_cmp (const void *x, const void *y)
{
    const s_expect_t *a = (const s_expect_t *) x, *b = (const s_expect_t *) y;
    if (s_expect_by_distance && a->chord2 != b->chord2)
        return a->chord2 < b->chord2? -1: 1;
    if (a->post.lamport != b->post.lamport)
        return a->post.lamport > b->post.lamport? -1: 1;
    return -strcmp (a->post.event_id, b->post.event_id);
}

static double
s_unit (uint64_t *rng)
{
    return (double) (tm_rand (rng) >> 11) / (double) (UINT64_C (1) << 53);
}

/*  A point: clustered around a few towns (most), or anywhere in a
    country-sized box, or across the antimeridian. */
static void
s_point (uint64_t *rng, double *lat, double *lng)
{
    static const double towns [][2] = { { 52.52, 13.40 }, { 52.40, 13.06 }, { 48.14, 11.58 } };
    uint64_t kind = tm_rand (rng) % 10;
    if (kind < 6) {
        const double *t = towns [tm_rand (rng) % 3];
        *lat = t [0] + 0.2 * (s_unit (rng) - 0.5);
        *lng = t [1] + 0.3 * (s_unit (rng) - 0.5);
    }
    else
    if (kind < 9) {
        *lat = 47 + 8 * s_unit (rng);
        *lng = 6 + 9 * s_unit (rng);
    }
    else {
        *lat = -17 + 0.1 * s_unit (rng);
        *lng = s_unit (rng) < 0.5? 179.99 + 0.01 * s_unit (rng): -179.99 - 0.01 * s_unit (rng);
    }
}

HT_TEST (test_near_property_against_brute_force)
{
    uint64_t seed = ht_seed ((uint64_t) time (NULL));
    fprintf (stderr, "test_near_property_against_brute_force: HEARTH_TEST_SEED=%llu\n",
             (unsigned long long) seed);
    uint64_t rng = seed;
    identity_t *authors [3] = { tm_identity (0x31), tm_identity (0x32), tm_identity (0x33) };
    static const char *const tags [] = { "tools", "food", NULL };
    event_t **events = (event_t **) calloc (S_EVENTS, sizeof *events);
    char (*ids) [ULID_SIZE] = calloc (S_POSTS, ULID_SIZE);
    size_t n_events = 0;
    for (uint32_t i = 0; i < S_POSTS; i++) {
        double lat, lng;
        s_point (&rng, &lat, &lng);
        int located = tm_rand (&rng) % 8 != 0;
        events [n_events] = s_created (authors [i % 3], 1 + tm_rand (&rng) % 200, i + 1,
                                       i % 4 == 0? REQUEST: OFFER, tags [i % 3], located, lat, lng);
        snprintf (ids [i], ULID_SIZE, "%s", event_id (events [n_events]));
        n_events++;
    }
    //  Updates (by the author, or not), author expiries, for random posts
    while (n_events < S_EVENTS) {
        uint32_t i = (uint32_t) (tm_rand (&rng) % S_POSTS);
        uint32_t n = (uint32_t) (S_POSTS + n_events + 1);
        uint64_t lamport = 1 + tm_rand (&rng) % 300;
        if (tm_rand (&rng) % 6 == 0)
            events [n_events++] = tm_expired (authors [i % 3], s_community, lamport, T0 + n, n,
                                              ids [i], WITHDRAWN);
        else {
            double lat, lng;
            s_point (&rng, &lat, &lng);
            const identity_t *who = tm_rand (&rng) % 4 == 0? authors [(i + 1) % 3]: authors [i % 3];
            events [n_events++] = s_moved (who, lamport, n, ids [i], lat, lng);
        }
    }
    market_view_t *views [S_ORDERS];
    for (int v = 0; v < S_ORDERS; v++) {
        views [v] = market_view_new ();
        //  Fisher-Yates; the first view half-applied, queried (index
        //  built), then the rest, so the index also follows a live view
        for (size_t i = n_events - 1; v > 0 && i > 0; i--) {
            size_t j = (size_t) (tm_rand (&rng) % (i + 1));
            event_t *t = events [i];
            events [i] = events [j];
            events [j] = t;
        }
        for (size_t i = 0; i < n_events; i++) {
            HT_CHECK_EQ_INT (market_view_apply (views [v], events [i]), 0);
            if (i == n_events / 2) {
                market_post_t out [4];
                s_list (views [v], 52.5, 13.4, 30, 0, out, 4);
            }
        }
    }
    static market_post_t got [S_ORDERS][MARKET_LIST_MAX_LIMIT];
    static s_expect_t expect [S_POSTS];
    size_t wrong = 0, differ = 0, hits = 0;
    for (int qi = 0; qi < S_QUERIES; qi++) {
        double lat, lng;
        s_point (&rng, &lat, &lng);
        double radius = exp (log (0.1) + s_unit (&rng) * (log (MARKET_GEO_MAX_RADIUS_KM) - log (0.1)));
        if (radius > MARKET_GEO_MAX_RADIUS_KM)
            radius = MARKET_GEO_MAX_RADIUS_KM;
        market_near_t near = { lat, lng, radius, (int) (tm_rand (&rng) % 2) };
        market_query_t q = { 0 };
        q.near = &near;
        q.limit = tm_rand (&rng) % 3 == 0? MARKET_LIST_MAX_LIMIT: 1 + tm_rand (&rng) % 60;
        if (tm_rand (&rng) % 5 == 0)
            q.category = OFFER;
        const char *tag [1] = { "tools" };
        if (tm_rand (&rng) % 5 == 0) {
            q.tags = tag;
            q.n_tags = 1;
        }
        if (tm_rand (&rng) % 5 == 0)
            q.since_lamport = tm_rand (&rng) % 200;
        size_t n [S_ORDERS];
        for (int v = 0; v < S_ORDERS; v++)
            n [v] = market_view_list (views [v], &q, NULL, T0 + HOUR_MS, got [v], MARKET_LIST_MAX_LIMIT);
        market_geo_circle_t circle;
        HT_CHECK_EQ_INT (market_geo_circle_init (&circle, lat, lng, radius), 0);
        s_brute_t brute = { &circle, &q, T0 + HOUR_MS, expect, 0 };
        market_view_each (views [0], NULL, s_brute_visit, &brute);
        s_expect_by_distance = near.by_distance;
        qsort (expect, brute.n, sizeof expect [0], s_expect_cmp);
        size_t want = brute.n < q.limit? brute.n: q.limit;
        hits += want;
        int bad = n [0] != want;
        for (size_t i = 0; !bad && i < want; i++)
            bad = strcmp (got [0][i].event_id, expect [i].post.event_id) != 0
               || fabs (got [0][i].distance_km - market_geo_chord2_km (expect [i].chord2)) > 1e-9;
        if (bad && wrong < 3)
            fprintf (stderr, "  query (%.6f, %.6f, %.3f km, %s, limit %zu): %zu listed, %zu expected\n",
                     lat, lng, radius, near.by_distance? "distance": "newest", q.limit, n [0], want);
        wrong += bad;
        for (int v = 1; v < S_ORDERS; v++) {
            int same = n [v] == n [0];
            for (size_t i = 0; same && i < n [0]; i++)
                same = strcmp (got [v][i].event_id, got [0][i].event_id) == 0
                    && got [v][i].distance_km == got [0][i].distance_km;
            differ += !same;
        }
    }
    HT_CHECK_EQ_INT (wrong, 0);
    HT_CHECK_EQ_INT (differ, 0);
    HT_CHECK (hits > 0);
    //  Every order holds the same posts in its index
    for (int v = 1; v < S_ORDERS; v++)
        HT_CHECK_EQ_INT (market_view_geo_size (views [v]), market_view_geo_size (views [0]));
    for (int v = 0; v < S_ORDERS; v++)
        market_view_destroy (&views [v]);
    for (size_t i = 0; i < n_events; i++)
        event_destroy (&events [i]);
    free (events);
    free (ids);
    for (int i = 0; i < 3; i++)
        identity_destroy (&authors [i]);
}

/* ---- the service ------------------------------------------------------------- */

typedef struct {
    char       *dir;
    eventlog_t *log;
    market_t   *market;
    identity_t *node;
} s_node_t;

static void
s_node_open (s_node_t *k)
{
    memset (k, 0, sizeof *k);
    k->dir = ht_tmpdir ("near");
    k->node = tm_identity (0x41);
    char path [512];
    snprintf (path, sizeof path, "%s/db", k->dir);
    int err = 0;
    k->log = eventlog_open (path, &err);
    HT_CHECK (k->log != NULL);
    HT_CHECK_EQ_INT (eventlog_community_create (k->log, k->node, "Nahkiez", T0), 0);
    k->market = market_new (k->log, k->node, NULL);
    HT_CHECK (k->market != NULL);
    HT_CHECK_EQ_INT (eventlog_views_load (k->log, NULL), 0);
}

static void
s_node_close (s_node_t *k)
{
    eventlog_destroy (&k->log);
    market_destroy (&k->market);
    identity_destroy (&k->node);
    ht_rmtree (k->dir);
    free (k->dir);
}

/*  Call capability with the JSON text input: the rc; *message kept for checks. */
static int
s_call (s_node_t *k, const char *capability, const char *input_text, json_t **output,
        char message [256])
{
    json_error_t error;
    json_t *input = json_loads (input_text, 0, &error);
    HT_CHECK (input != NULL);
    char *msg = NULL;
    json_t *out = NULL;
    int rc = market_handle (k->market, capability, input, identity_public_key (k->node),
                            T0 + 1000, &out, &msg);
    snprintf (message, 256, "%s", msg? msg: "");
    free (msg);
    json_decref (input);
    if (output)
        *output = out;
    else
        json_decref (out);
    return rc;
}

HT_TEST (test_near_service)
{
    s_node_t k;
    s_node_open (&k);
    char msg [256];
    const char *posts [] = {
        "{\"category\": \"offer\", \"title\": \"Leiter zu verleihen\", \"body\": \"Alexanderplatz\","
        " \"location\": {\"lat\": 52.5219, \"lng\": 13.4132, \"label\": \"Alex\"}}",
        "{\"category\": \"offer\", \"title\": \"Leiter, drei Meter\", \"body\": \"ein Kilometer weiter\","
        " \"location\": {\"lat\": 52.5219, \"lng\": 13.4295}}",
        "{\"category\": \"offer\", \"title\": \"Leiter in Potsdam\", \"body\": \"weit weg\","
        " \"location\": {\"lat\": 52.3906, \"lng\": 13.0645}}",
        "{\"category\": \"offer\", \"title\": \"Leiter ohne Ort\", \"body\": \"irgendwo\"}",
    };
    for (size_t i = 0; i < 4; i++)
        HT_CHECK_EQ_INT (s_call (&k, "market.post", posts [i], NULL, msg), 0);

    json_t *out = NULL;
    const char *filter2 = "\"location_filter\": {\"center\": {\"lat\": 52.5219, \"lng\": 13.4132}, \"radius_km\": 2}";
    char input [512];
    snprintf (input, sizeof input, "{%s}", filter2);
    HT_CHECK_EQ_INT (s_call (&k, "market.list", input, &out, msg), 0);
    json_t *list = json_object_get (out, "posts");
    HT_CHECK_EQ_INT (json_array_size (list), 2);
    HT_CHECK_EQ_STR (json_string_value (json_object_get (json_array_get (list, 0), "title")),
                     "Leiter, drei Meter");          // newest first
    double d = json_number_value (json_object_get (json_array_get (list, 0), "distance_km"));
    HT_CHECK (d > 1.0 && d < 1.2);
    json_decref (out);
    snprintf (input, sizeof input, "{%s, \"order\": \"distance\", \"limit\": 1}", filter2);
    HT_CHECK_EQ_INT (s_call (&k, "market.list", input, &out, msg), 0);
    list = json_object_get (out, "posts");
    HT_CHECK_EQ_INT (json_array_size (list), 1);
    HT_CHECK_EQ_STR (json_string_value (json_object_get (json_array_get (list, 0), "title")),
                     "Leiter zu verleihen");
    json_decref (out);
    //  Without a filter: no distance_km, every post
    HT_CHECK_EQ_INT (s_call (&k, "market.list", "{}", &out, msg), 0);
    list = json_object_get (out, "posts");
    HT_CHECK_EQ_INT (json_array_size (list), 4);
    HT_CHECK (json_object_get (json_array_get (list, 0), "distance_km") == NULL);
    json_decref (out);

    //  Search: relevance within the circle, or by distance
    snprintf (input, sizeof input, "{\"query\": \"Leiter\", %s}", filter2);
    HT_CHECK_EQ_INT (s_call (&k, "market.search", input, &out, msg), 0);
    list = json_object_get (out, "posts");
    HT_CHECK_EQ_INT (json_array_size (list), 2);
    for (size_t i = 0; i < json_array_size (list); i++)
        HT_CHECK (json_object_get (json_array_get (list, i), "distance_km") != NULL);
    json_decref (out);
    snprintf (input, sizeof input, "{\"query\": \"Leiter\", \"order\": \"distance\", "
              "\"location_filter\": {\"center\": {\"lat\": 52.39, \"lng\": 13.06}, \"radius_km\": 100}}");
    HT_CHECK_EQ_INT (s_call (&k, "market.search", input, &out, msg), 0);
    list = json_object_get (out, "posts");
    HT_CHECK_EQ_INT (json_array_size (list), 3);
    HT_CHECK_EQ_STR (json_string_value (json_object_get (json_array_get (list, 0), "title")),
                     "Leiter in Potsdam");
    HT_CHECK (json_number_value (json_object_get (json_array_get (list, 0), "distance_km"))
              <= json_number_value (json_object_get (json_array_get (list, 1), "distance_km")));
    HT_CHECK (json_number_value (json_object_get (json_array_get (list, 1), "distance_km"))
              <= json_number_value (json_object_get (json_array_get (list, 2), "distance_km")));
    json_decref (out);

    //  Bad filters: bad_request, the field named
    static const struct {
        const char *capability, *input, *names;
    } bad [] = {
        { "market.list", "{\"location_filter\": 5}", "location_filter must be an object" },
        { "market.list", "{\"location_filter\": {\"radius_km\": 2}}", "location_filter.center is required" },
        { "market.list", "{\"location_filter\": {\"center\": {\"lat\": 1, \"lng\": 2}}}", "location_filter.radius_km is required" },
        { "market.list", "{\"location_filter\": {\"center\": {\"lat\": 91, \"lng\": 2}, \"radius_km\": 2}}", "location_filter.center.lat must be within -90..90" },
        { "market.list", "{\"location_filter\": {\"center\": {\"lat\": 1, \"lng\": -180.5}, \"radius_km\": 2}}", "location_filter.center.lng must be within -180..180" },
        { "market.list", "{\"location_filter\": {\"center\": {\"lat\": \"1\", \"lng\": 2}, \"radius_km\": 2}}", "location_filter.center.lat must be a number" },
        { "market.list", "{\"location_filter\": {\"center\": {\"lat\": 1}, \"radius_km\": 2}}", "location_filter.center.lng is required" },
        { "market.list", "{\"location_filter\": {\"center\": {\"lat\": 1, \"lng\": 2}, \"radius_km\": 0}}", "location_filter.radius_km must be greater than 0" },
        { "market.list", "{\"location_filter\": {\"center\": {\"lat\": 1, \"lng\": 2}, \"radius_km\": -3}}", "location_filter.radius_km must be greater than 0" },
        { "market.list", "{\"location_filter\": {\"center\": {\"lat\": 1, \"lng\": 2}, \"radius_km\": 1e300}}", "location_filter.radius_km must be greater than 0 and at most 20037.5" },
        { "market.list", "{\"location_filter\": {\"center\": {\"lat\": 1, \"lng\": 2}, \"radius_km\": 2, \"x\": 1}}", "location_filter: unknown field 'x'" },
        { "market.list", "{\"location_filter\": {\"center\": {\"lat\": 1, \"lng\": 2, \"alt\": 3}, \"radius_km\": 2}}", "location_filter.center: unknown field 'alt'" },
        { "market.list", "{\"location_filter\": {\"center\": [1, 2], \"radius_km\": 2}}", "location_filter.center must be an object" },
        { "market.list", "{\"order\": \"distance\"}", "order \"distance\" needs a location_filter" },
        { "market.list", "{\"order\": \"oldest\"}", "order must be \"newest\" or \"distance\"" },
        { "market.list", "{\"order\": 1}", "order must be" },
        { "market.search", "{\"query\": \"Leiter\", \"order\": \"newest\"}", "order must be \"relevance\" or \"distance\"" },
        { "market.search", "{\"query\": \"Leiter\", \"location_filter\": {\"center\": {\"lat\": 1, \"lng\": 2}, \"radius_km\": 30000}}", "location_filter.radius_km" },
        { "market.search", "{\"query\": \"Leiter\", \"order\": \"distance\"}", "needs a location_filter" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        int rc = s_call (&k, bad [i].capability, bad [i].input, NULL, msg);
        HT_CHECK_EQ_INT (rc, HEARTH_EINVAL);
        if (!strstr (msg, bad [i].names)) {
            fprintf (stderr, "  %s %s: \"%s\" lacks \"%s\"\n", bad [i].capability, bad [i].input,
                     msg, bad [i].names);
            HT_CHECK (0);
        }
    }
    //  The defaults by name are accepted
    HT_CHECK_EQ_INT (s_call (&k, "market.list", "{\"order\": \"newest\"}", NULL, msg), 0);
    HT_CHECK_EQ_INT (s_call (&k, "market.search", "{\"query\": \"Leiter\", \"order\": \"relevance\"}",
                             NULL, msg), 0);
    s_node_close (&k);
}

int
main (void)
{
    HT_RUN (test_near_view_basics);
    HT_RUN (test_near_follows_updates_and_expiry);
    HT_RUN (test_near_fused_search);
    HT_RUN (test_near_property_against_brute_force);
    HT_RUN (test_near_service);
    return ht_summary ();
}
