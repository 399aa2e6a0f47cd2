/*  test_market_geo.c — distance on the sphere and the spatial index
    (market_geo.h): known distances, the circle's validation with hostile
    numbers, put/move/remove, and a property test: after random puts,
    moves and removes, every query of many random circles (poles, the
    antimeridian, tiny to whole-Earth radii) returns exactly the items a
    brute-force haversine scan finds, and an index built from the same
    final contents in another order answers the same.
    HEARTH_TEST_SEED replays a given run.
*/
#include <math.h>
#include "hearth_error.h"
#include "hearth_test.h"
#include "market_geo.h"

#define S_R   MARKET_GEO_EARTH_RADIUS_KM
#define S_PI  3.14159265358979323846

static int
s_near (double a, double b, double tolerance)
{
    return fabs (a - b) <= tolerance;
}

HT_TEST (test_geo_known_distances)
{
    //  A degree of latitude, a quarter of the equator, the antipode
    HT_CHECK (s_near (market_geo_distance_km (10, 20, 11, 20), S_R * S_PI / 180, 1e-9));
    HT_CHECK (s_near (market_geo_distance_km (0, 0, 0, 90), S_R * S_PI / 2, 1e-9));
    HT_CHECK (s_near (market_geo_distance_km (0, 0, 0, 180), S_R * S_PI, 1e-9));
    HT_CHECK (s_near (market_geo_distance_km (90, 0, -90, 0), S_R * S_PI, 1e-9));
    HT_CHECK (market_geo_distance_km (52.52, 13.405, 52.52, 13.405) == 0);
    //  Berlin - Munich, ~504 km; across the antimeridian is short
    double berlin_munich = market_geo_distance_km (52.5200, 13.4050, 48.1351, 11.5820);
    HT_CHECK (berlin_munich > 503 && berlin_munich < 506);
    HT_CHECK (s_near (market_geo_distance_km (0, 179.99, 0, -179.99), S_R * 0.02 * S_PI / 180, 1e-9));
    //  At a pole every longitude is one point
    HT_CHECK (s_near (market_geo_distance_km (90, 0, 90, 123), 0, 1e-9));
    //  The chord form agrees with haversine
    market_geo_circle_t c;
    HT_CHECK_EQ_INT (market_geo_circle_init (&c, 52.52, 13.405, 10), 0);
    double d = market_geo_chord2_km (market_geo_circle_chord2 (&c, 48.1351, 11.5820));
    HT_CHECK (s_near (d, berlin_munich, 1e-6));
    HT_CHECK_EQ_INT (market_geo_circle_init (&c, 0, 0, 10), 0);
    HT_CHECK (s_near (market_geo_chord2_km (market_geo_circle_chord2 (&c, 0, 180)), S_R * S_PI, 1e-6));
    HT_CHECK (s_near (market_geo_chord2_km (market_geo_circle_chord2 (&c, 0.001, 0)),
                      S_R * 0.001 * S_PI / 180, 1e-9));
}

HT_TEST (test_geo_circle_validation)
{
    market_geo_circle_t c;
    const double bad [][3] = {
        { NAN, 0, 1 }, { 0, NAN, 1 }, { 0, 0, NAN },
        { INFINITY, 0, 1 }, { 0, -INFINITY, 1 }, { 0, 0, INFINITY },
        { 90.000001, 0, 1 }, { -90.000001, 0, 1 }, { 0, 180.000001, 1 }, { 0, -180.000001, 1 },
        { 0, 0, 0 }, { 0, 0, -1 }, { 0, 0, -0.0 }, { 0, 0, MARKET_GEO_MAX_RADIUS_KM + 0.001 },
        { 0, 0, 1e308 }, { 1e308, 0, 1 },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++)
        HT_CHECK_EQ_INT (market_geo_circle_init (&c, bad [i][0], bad [i][1], bad [i][2]),
                         HEARTH_EINVAL);
    HT_CHECK_EQ_INT (market_geo_circle_init (&c, 90, 180, 1e-9), 0);
    HT_CHECK_EQ_INT (c.all, 0);
    HT_CHECK_EQ_INT (market_geo_circle_init (&c, -90, -180, MARKET_GEO_MAX_RADIUS_KM), 0);
    HT_CHECK_EQ_INT (c.all, 1);
    HT_CHECK (market_geo_circle_holds (&c, 4.0));
    HT_CHECK (!market_geo_point_ok (NAN, 0));
    HT_CHECK (!market_geo_point_ok (0, INFINITY));
    HT_CHECK (market_geo_point_ok (-90, 180));
}

/*  Collect the items of a query. */
typedef struct {
    uint8_t *hit;                   /* per item */
    size_t   n;
    size_t   twice;
} s_hits_t;

static int
s_collect (void *arg, uint32_t item, double chord2)
{
    (void) chord2;
    s_hits_t *h = (s_hits_t *) arg;
    if (h->hit [item])
        h->twice++;
    h->hit [item] = 1;
    h->n++;
    return 0;
}

static size_t
s_query (market_geo_t *geo, double lat, double lng, double radius, uint8_t *hit, size_t n_items)
{
    market_geo_circle_t c;
    if (market_geo_circle_init (&c, lat, lng, radius))
        return SIZE_MAX;
    memset (hit, 0, n_items);
    s_hits_t h = { hit, 0, 0 };
    market_geo_query (geo, &c, s_collect, &h);
    return h.twice? SIZE_MAX: h.n;
}

HT_TEST (test_geo_put_move_remove)
{
    market_geo_t *geo = market_geo_new ();
    HT_CHECK (geo);
    uint8_t hit [8];
    HT_CHECK_EQ_INT (market_geo_put (geo, 0, 52.52, 13.405), 0);
    HT_CHECK_EQ_INT (market_geo_put (geo, 5, 52.53, 13.41), 0);
    HT_CHECK_EQ_INT (market_geo_size (geo), 2);
    HT_CHECK_EQ_INT (s_query (geo, 52.52, 13.405, 2, hit, 8), 2);
    //  Within the cell, then far away, then back
    HT_CHECK_EQ_INT (market_geo_put (geo, 5, 52.5201, 13.4051), 0);
    HT_CHECK_EQ_INT (s_query (geo, 52.52, 13.405, 0.05, hit, 8), 2);
    HT_CHECK_EQ_INT (market_geo_put (geo, 5, 48.1351, 11.582), 0);
    HT_CHECK_EQ_INT (market_geo_size (geo), 2);
    HT_CHECK_EQ_INT (s_query (geo, 52.52, 13.405, 2, hit, 8), 1);
    HT_CHECK (hit [0] && !hit [5]);
    HT_CHECK_EQ_INT (s_query (geo, 48.1351, 11.582, 0.001, hit, 8), 1);
    HT_CHECK (hit [5]);
    //  A bad point takes the item out
    HT_CHECK_EQ_INT (market_geo_put (geo, 5, NAN, 11.582), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (market_geo_put (geo, 6, 91, 0), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (market_geo_put (geo, UINT32_MAX, 0, 0), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (market_geo_size (geo), 1);
    HT_CHECK_EQ_INT (s_query (geo, 0, 0, MARKET_GEO_MAX_RADIUS_KM, hit, 8), 1);
    market_geo_remove (geo, 0);
    market_geo_remove (geo, 0);
    market_geo_remove (geo, 7);
    HT_CHECK_EQ_INT (market_geo_size (geo), 0);
    HT_CHECK_EQ_INT (s_query (geo, 52.52, 13.405, 100, hit, 8), 0);
    //  Emptied cells are reused
    HT_CHECK_EQ_INT (market_geo_put (geo, 1, 52.52, 13.405), 0);
    HT_CHECK_EQ_INT (s_query (geo, 52.52, 13.405, 0.001, hit, 8), 1);
    market_geo_destroy (&geo);
    market_geo_destroy (&geo);
    HT_CHECK (geo == NULL);
}

HT_TEST (test_geo_poles_and_antimeridian)
{
    market_geo_t *geo = market_geo_new ();
    uint8_t hit [16];
    //  Around the north pole, on both sides of the antimeridian, the south pole
    HT_CHECK_EQ_INT (market_geo_put (geo, 0, 90, 0), 0);
    HT_CHECK_EQ_INT (market_geo_put (geo, 1, 89.999, 45), 0);
    HT_CHECK_EQ_INT (market_geo_put (geo, 2, 89.999, -135), 0);
    HT_CHECK_EQ_INT (market_geo_put (geo, 3, 0, 179.999), 0);
    HT_CHECK_EQ_INT (market_geo_put (geo, 4, 0, -179.999), 0);
    HT_CHECK_EQ_INT (market_geo_put (geo, 5, 0, 180), 0);
    HT_CHECK_EQ_INT (market_geo_put (geo, 6, 0, -180), 0);
    HT_CHECK_EQ_INT (market_geo_put (geo, 7, -90, 77), 0);
    HT_CHECK_EQ_INT (market_geo_put (geo, 8, 60.5, 179.95), 0);
    HT_CHECK_EQ_INT (market_geo_put (geo, 9, 60.5, -179.95), 0);
    //  A pole centre: every longitude (0.2 km holds the pole and both
    //  points 0.11 km from it)
    HT_CHECK_EQ_INT (s_query (geo, 90, 123, 0.2, hit, 16), 3);
    HT_CHECK (hit [0] && hit [1] && hit [2]);
    HT_CHECK_EQ_INT (s_query (geo, 89.9995, -90, 0.2, hit, 16), 3);
    //  The antimeridian from either side: ±180 and ±179.999 are 0.11 km apart
    HT_CHECK_EQ_INT (s_query (geo, 0, 180, 0.2, hit, 16), 4);
    HT_CHECK (hit [3] && hit [4] && hit [5] && hit [6]);
    HT_CHECK_EQ_INT (s_query (geo, 0, -179.9995, 0.2, hit, 16), 4);
    HT_CHECK_EQ_INT (s_query (geo, 60.5, 180, 3, hit, 16), 2);
    HT_CHECK (hit [8] && hit [9]);
    //  The whole Earth, from any centre; the antipode at the largest radius
    HT_CHECK_EQ_INT (s_query (geo, 0, 0, MARKET_GEO_MAX_RADIUS_KM, hit, 16), 10);
    HT_CHECK_EQ_INT (s_query (geo, -90, -180, 20015.12, hit, 16), 10);     // π R = 20015.114
    HT_CHECK_EQ_INT (s_query (geo, 90, 0, S_R * S_PI - 0.01, hit, 16), 9);
    HT_CHECK (!hit [7]);
    market_geo_destroy (&geo);
}

/*  Random data for the property test. */
static double
s_unit (uint64_t *rng)
{
    return (double) (ht_splitmix64 (rng) >> 11) / (double) (UINT64_C (1) << 53);
}

/*  A point: a third anywhere on the sphere, a third clustered around
    hot spots (a city, the pole, the antimeridian), a third on special
    values (the poles, ±180, 0, cell edges). */
static void
s_point (uint64_t *rng, double *lat, double *lng)
{
    static const double spots [][2] = {
        { 52.52, 13.405 }, { 89.99, 10 }, { -89.995, -170 }, { 0.01, 179.995 }, { -33.9, -179.99 },
        { 48.13, 11.58 },
    };
    uint64_t kind = ht_splitmix64 (rng) % 3;
    if (kind == 0) {
        *lat = asin (2 * s_unit (rng) - 1) * 180 / S_PI;
        *lng = 360 * s_unit (rng) - 180;
    }
    else
    if (kind == 1) {
        const double *s = spots [ht_splitmix64 (rng) % (sizeof spots / sizeof spots [0])];
        double spread = pow (10, -3 + 3 * s_unit (rng));        // 0.001 .. 1 degree
        *lat = s [0] + spread * (2 * s_unit (rng) - 1);
        *lng = s [1] + spread * (2 * s_unit (rng) - 1);
        if (*lat > 90) *lat = 180 - *lat;
        if (*lat < -90) *lat = -180 - *lat;
        if (*lng > 180) *lng -= 360;
        if (*lng < -180) *lng += 360;
    }
    else {
        static const double lats [] = { 90, -90, 0, 45, 52.5, 89.95, -89.95, 0.05 };
        static const double lngs [] = { 180, -180, 0, 179.95, -179.95, 13.4, 0.05, -0.05 };
        *lat = lats [ht_splitmix64 (rng) % 8];
        *lng = lngs [ht_splitmix64 (rng) % 8];
    }
}

#define S_ITEMS   3000
#define S_OPS     12000
#define S_QUERIES 1500

HT_TEST (test_geo_property_against_brute_force)
{
    uint64_t seed = getenv ("HEARTH_TEST_SEED")? strtoull (getenv ("HEARTH_TEST_SEED"), NULL, 0)
                                               : (uint64_t) time (NULL);
    fprintf (stderr, "test_geo_property_against_brute_force: HEARTH_TEST_SEED=%llu\n",
             (unsigned long long) seed);
    uint64_t rng = seed;
    static double lat [S_ITEMS], lng [S_ITEMS];
    static uint8_t present [S_ITEMS], hit [S_ITEMS], hit2 [S_ITEMS];
    memset (present, 0, sizeof present);
    market_geo_t *geo = market_geo_new ();
    for (int op = 0; op < S_OPS; op++) {
        uint32_t item = (uint32_t) (ht_splitmix64 (&rng) % S_ITEMS);
        if (ht_splitmix64 (&rng) % 5 == 0) {
            market_geo_remove (geo, item);
            present [item] = 0;
        }
        else {
            s_point (&rng, &lat [item], &lng [item]);
            HT_CHECK_EQ_INT (market_geo_put (geo, item, lat [item], lng [item]), 0);
            present [item] = 1;
        }
    }
    size_t n_present = 0;
    for (size_t i = 0; i < S_ITEMS; i++)
        n_present += present [i];
    HT_CHECK_EQ_INT (market_geo_size (geo), n_present);
    //  The same contents put in another order (descending items)
    market_geo_t *other = market_geo_new ();
    for (size_t i = S_ITEMS; i-- > 0;)
        if (present [i])
            HT_CHECK_EQ_INT (market_geo_put (other, (uint32_t) i, lat [i], lng [i]), 0);

    size_t wrong = 0, differ = 0, estimate_low = 0, total_hits = 0;
    for (int qi = 0; qi < S_QUERIES; qi++) {
        double clat, clng;
        s_point (&rng, &clat, &clng);
        //  Radii log-uniform from 1 m to beyond the whole Earth
        double radius = exp (log (0.001) + s_unit (&rng) * (log (MARKET_GEO_MAX_RADIUS_KM) - log (0.001)));
        if (qi % 50 == 0)
            radius = MARKET_GEO_MAX_RADIUS_KM;
        if (radius > MARKET_GEO_MAX_RADIUS_KM)
            radius = MARKET_GEO_MAX_RADIUS_KM;
        size_t n = s_query (geo, clat, clng, radius, hit, S_ITEMS);
        size_t n2 = s_query (other, clat, clng, radius, hit2, S_ITEMS);
        HT_CHECK (n != SIZE_MAX && n2 != SIZE_MAX);
        differ += memcmp (hit, hit2, S_ITEMS) != 0;
        market_geo_circle_t c;
        market_geo_circle_init (&c, clat, clng, radius);
        estimate_low += market_geo_estimate (geo, &c) < n;
        total_hits += n;
        for (size_t i = 0; i < S_ITEMS; i++) {
            if (!present [i]) {
                wrong += hit [i];
                continue;
            }
            double d = market_geo_distance_km (clat, clng, lat [i], lng [i]);
            if (fabs (d - radius) < 1e-6 && !c.all)
                continue;           // on the rim within rounding: either answer
            int inside = c.all || d <= radius;
            if (inside != hit [i]) {
                if (wrong < 5)
                    fprintf (stderr, "  query (%.17g, %.17g, %.17g km) item (%.17g, %.17g) "
                             "d %.17g: index %d, brute force %d\n", clat, clng, radius,
                             lat [i], lng [i], d, hit [i], inside);
                wrong++;
            }
        }
    }
    HT_CHECK_EQ_INT (wrong, 0);
    HT_CHECK_EQ_INT (differ, 0);
    HT_CHECK_EQ_INT (estimate_low, 0);
    HT_CHECK (total_hits > 0);
    //  Remove everything: nothing left, no cell held
    for (uint32_t i = 0; i < S_ITEMS; i++)
        market_geo_remove (geo, i);
    HT_CHECK_EQ_INT (market_geo_size (geo), 0);
    HT_CHECK_EQ_INT (s_query (geo, 0, 0, MARKET_GEO_MAX_RADIUS_KM, hit, S_ITEMS), 0);
    market_geo_destroy (&geo);
    market_geo_destroy (&other);
}

int
main (void)
{
    HT_RUN (test_geo_known_distances);
    HT_RUN (test_geo_circle_validation);
    HT_RUN (test_geo_put_move_remove);
    HT_RUN (test_geo_poles_and_antimeridian);
    HT_RUN (test_geo_property_against_brute_force);
    return ht_summary ();
}
