/*  market_geo.h — distance on the sphere and the market view's spatial
    index of located posts (docs/market.md, "Near me").

    Distance: the great-circle distance on a sphere of the mean Earth
    radius (MARKET_GEO_EARTH_RADIUS_KM, IUGG R1), by the haversine formula.
    The index and the circle test compute it in its chord form: a point is
    a unit vector v, and with c the centre's, |v − c| / 2 is the haversine
    formula's sqrt (a), so d = 2R·asin (|v − c| / 2). The chord needs no
    trigonometry per point, and a circle test is |v − c|² ≤ a threshold.

    The index: a grid of cells MARKET_GEO_CELL_DEG degrees of latitude by
    as many of longitude. Each non-empty cell is a bucket of entries (the
    item, its unit vector), found through a market_idx map keyed by cell
    number, so only non-empty cells cost memory and peer-chosen locations
    cannot force hash collisions. An item is a caller's number (the view's
    post index); a slot per item says where its entry is, so put (insert
    or move) and remove are O(1). A query covers the circle's bounding box
    with cells (latitude ± the angular radius; longitude ± asin (sin r /
    cos lat), all longitudes when the box reaches a pole; a box crossing
    ±180° is split in two) and tests each entry exactly; when the box holds
    more cells than the index holds entries (a huge radius, a box around a
    pole) it scans every bucket instead. Pure: no I/O, no clock.
    Single-threaded.
*/
#ifndef HEARTH_MARKET_GEO_H
#define HEARTH_MARKET_GEO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*  The mean Earth radius (IUGG R1 = (2a + b) / 3 of WGS 84), km. */
#define MARKET_GEO_EARTH_RADIUS_KM  6371.0088
/*  Largest radius a filter may ask for: half the equator of WGS 84. On the
    mean sphere every point is within 20,015.114 km (π R) of any other, so
    any radius from there on covers the whole Earth. */
#define MARKET_GEO_MAX_RADIUS_KM    20037.5
/*  Grid cell size in degrees (~5.6 km of latitude): a 0.5 km query looks
    at 1-4 cells, a 50 km one at a few hundred, a cell holds a few posts at
    100,000 posts over a country (docs/performance.md, "Near me"). */
#define MARKET_GEO_CELL_DEG         0.05
#define MARKET_GEO_ROWS             3600        /* 180 / MARKET_GEO_CELL_DEG */
#define MARKET_GEO_COLS             7200        /* 360 / MARKET_GEO_CELL_DEG */

/*  A circle on the sphere, ready for tests (market_geo_circle_init). */
typedef struct {
    double lat, lng, radius_km;     /* as given */
    double c [3];                   /* unit vector of the centre */
    double chord2;                  /* squared chord of the radius, unit sphere */
    int    all;                     /* the radius covers the whole sphere */
} market_geo_circle_t;

/*  1 if lat is finite in [-90, 90] and lng finite in [-180, 180]. */
int market_geo_point_ok (double lat, double lng);

/*  Great-circle distance in km (haversine, mean radius); inputs in degrees. */
double market_geo_distance_km (double lat1, double lng1, double lat2, double lng2);

/*  Set up a circle: 0, or HEARTH_EINVAL if the centre is not a valid point
    or radius_km is not finite in (0, MARKET_GEO_MAX_RADIUS_KM]. */
int market_geo_circle_init (market_geo_circle_t *circle, double lat, double lng, double radius_km);

/*  Squared chord between the circle's centre and a point (unit sphere,
    0..4): orders points by distance without trigonometry. */
double market_geo_circle_chord2 (const market_geo_circle_t *circle, double lat, double lng);

/*  1 if a chord2 from the centre is within the circle. */
int market_geo_circle_holds (const market_geo_circle_t *circle, double chord2);

/*  The distance in km of a squared chord (unit sphere). */
double market_geo_chord2_km (double chord2);

typedef struct _market_geo_t market_geo_t;

/*  New empty index; NULL on OOM. */
market_geo_t *market_geo_new (void);
/*  Free; safe on NULL; nulls *self_p. */
void market_geo_destroy (market_geo_t **self_p);
/*  Drop every entry (keeps nothing). */
void market_geo_clear (market_geo_t *self);

/*  Put item at (lat, lng), moving it if it was elsewhere. 0; HEARTH_EINVAL
    if the point is not valid (market_geo_point_ok; the item is then
    removed); HEARTH_ENOMEM (the index unchanged). item < UINT32_MAX. */
int market_geo_put (market_geo_t *self, uint32_t item, double lat, double lng);
/*  Remove item if present. Never allocates. */
void market_geo_remove (market_geo_t *self, uint32_t item);
/*  Items held. */
size_t market_geo_size (const market_geo_t *self);
/*  Bytes held (entries, buckets, slots, the cell map). */
size_t market_geo_bytes (const market_geo_t *self);

/*  1 and *chord2 if item is in the index, else 0. */
int market_geo_item (const market_geo_t *self, uint32_t item, const market_geo_circle_t *circle,
                     double *chord2);

/*  Entries in the cells a query of circle would look at: an upper bound
    of its hits, and of its work (cheap: no entry is read). */
size_t market_geo_estimate (const market_geo_t *self, const market_geo_circle_t *circle);

/*  Call fn (arg, item, chord2) for every item within circle, in no
    particular order; stops at and returns fn's first non-zero value. */
typedef int (market_geo_visit_fn) (void *arg, uint32_t item, double chord2);
int market_geo_query (const market_geo_t *self, const market_geo_circle_t *circle,
                      market_geo_visit_fn *fn, void *arg);

#ifdef __cplusplus
}
#endif
#endif
