/*  market_geo.c — distance on the sphere and the spatial index of located
    posts (see market_geo.h and docs/market.md, "Near me").
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "hearth_error.h"
#include "hearth_vec.h"
#include "market_geo.h"
#include "market_idx.h"

_Static_assert ((double) MARKET_GEO_ROWS * MARKET_GEO_CELL_DEG == 180.0, "rows cover -90..90");
_Static_assert ((double) MARKET_GEO_COLS * MARKET_GEO_CELL_DEG == 360.0, "cols cover -180..180");
_Static_assert ((uint64_t) MARKET_GEO_ROWS * MARKET_GEO_COLS < UINT32_MAX, "cell numbers fit 32 bits");

/*  Padding of a query's bounding box, degrees (~1 cm): the box is computed
    in floating point, and the exact test decides anyway, so a box a hair
    too large costs nothing and one a hair too small would lose points. */
#define S_BOX_PAD_DEG   1e-7
/*  Slot value of an item not in the index. */
#define S_NONE          UINT32_MAX
/*  First capacity of a bucket and of the growable arrays. */
#define S_FIRST_CAP     4

static const double s_pi = 3.14159265358979323846;

typedef struct {
    double   v [3];             /* unit vector */
    uint32_t item;
} s_entry_t;

typedef struct {
    uint32_t   cell;            /* row * MARKET_GEO_COLS + col */
    uint32_t   n;               /* entries; 0 = free (not in the map) */
    size_t     cap;
    s_entry_t *e;               /* owned */
} s_bucket_t;

typedef struct {
    uint32_t bucket;            /* S_NONE = not in the index */
    uint32_t pos;
} s_slot_t;

struct _market_geo_t {
    s_bucket_t   *buckets;      /* owned (and each one's entries) */
    size_t        n_buckets, cap_buckets;
    uint32_t     *free;         /* owned: indices of empty buckets, for reuse */
    size_t        n_free, cap_free;
    s_slot_t     *slots;        /* owned; per item, n_slots of them */
    size_t        n_slots, cap_slots;
    market_idx_t *by_cell;      /* owned; cell -> bucket index (key read from the bucket) */
    size_t        n_items;
};

/* ---- the sphere ------------------------------------------------------------- */

static double
s_rad (double deg)
{
    return deg * (s_pi / 180.0);
}

static void
s_unit (double lat, double lng, double v [3])
{
    double phi = s_rad (lat), lambda = s_rad (lng);
    double cphi = cos (phi);
    v [0] = cphi * cos (lambda);
    v [1] = cphi * sin (lambda);
    v [2] = sin (phi);
}

static double
s_chord2 (const double a [3], const double b [3])
{
    double dx = a [0] - b [0], dy = a [1] - b [1], dz = a [2] - b [2];
    return dx * dx + dy * dy + dz * dz;
}

int
market_geo_point_ok (double lat, double lng)
{
    return isfinite (lat) && isfinite (lng) && lat >= -90.0 && lat <= 90.0
        && lng >= -180.0 && lng <= 180.0;
}

double
market_geo_distance_km (double lat1, double lng1, double lat2, double lng2)
{
    double dphi = s_rad (lat2 - lat1), dlambda = s_rad (lng2 - lng1);
    double s1 = sin (dphi / 2), s2 = sin (dlambda / 2);
    double a = s1 * s1 + cos (s_rad (lat1)) * cos (s_rad (lat2)) * s2 * s2;
    if (a > 1)
        a = 1;
    return 2 * MARKET_GEO_EARTH_RADIUS_KM * asin (sqrt (a));
}

double
market_geo_chord2_km (double chord2)
{
    double half = sqrt (chord2 > 0? chord2: 0) / 2;
    return 2 * MARKET_GEO_EARTH_RADIUS_KM * asin (half < 1? half: 1);
}

int
market_geo_circle_init (market_geo_circle_t *circle, double lat, double lng, double radius_km)
{
    if (!market_geo_point_ok (lat, lng) || !isfinite (radius_km) || !(radius_km > 0)
    ||  radius_km > MARKET_GEO_MAX_RADIUS_KM)
        return HEARTH_EINVAL;
    memset (circle, 0, sizeof *circle);
    circle->lat = lat;
    circle->lng = lng;
    circle->radius_km = radius_km;
    s_unit (lat, lng, circle->c);
    double angle = radius_km / MARKET_GEO_EARTH_RADIUS_KM;
    if (angle >= s_pi) {
        circle->all = 1;
        circle->chord2 = 4;
    }
    else {
        double s = sin (angle / 2);
        circle->chord2 = 4 * s * s;
    }
    return 0;
}

double
market_geo_circle_chord2 (const market_geo_circle_t *circle, double lat, double lng)
{
    double v [3];
    s_unit (lat, lng, v);
    return s_chord2 (v, circle->c);
}

int
market_geo_circle_holds (const market_geo_circle_t *circle, double chord2)
{
    return circle->all || chord2 <= circle->chord2;
}

/* ---- cells ---------------------------------------------------------------- */

static uint32_t
s_row (double lat)
{
    double r = floor ((lat + 90.0) / MARKET_GEO_CELL_DEG);
    return r < 0? 0: r >= MARKET_GEO_ROWS? MARKET_GEO_ROWS - 1: (uint32_t) r;
}

static uint32_t
s_col (double lng)
{
    double c = floor ((lng + 180.0) / MARKET_GEO_CELL_DEG);
    return c < 0? 0: c >= MARKET_GEO_COLS? MARKET_GEO_COLS - 1: (uint32_t) c;
}

/*  The cells covering a circle's bounding box: rows [row0, row1], and one
    or two column ranges. all = the box is every cell. */
typedef struct {
    int      all;
    uint32_t row0, row1;
    uint32_t col0 [2], col1 [2];
    int      n_ranges;
} s_box_t;

static void
s_box (const market_geo_circle_t *circle, s_box_t *box)
{
    memset (box, 0, sizeof *box);
    if (circle->all) {
        box->all = 1;
        return;
    }
    double angle = circle->radius_km / MARKET_GEO_EARTH_RADIUS_KM;
    double dlat = angle * (180.0 / s_pi) + S_BOX_PAD_DEG;
    double lat0 = circle->lat - dlat, lat1 = circle->lat + dlat;
    box->row0 = s_row (lat0);
    box->row1 = s_row (lat1);
    //  A box reaching a pole holds every longitude
    int full = lat0 <= -90.0 || lat1 >= 90.0;
    double dlng = 0;
    if (!full) {
        double s = sin (angle) / cos (s_rad (circle->lat));
        if (!(s < 1))
            full = 1;
        else
            dlng = asin (s) * (180.0 / s_pi) + S_BOX_PAD_DEG;
        if (dlng >= 180.0)
            full = 1;
    }
    if (full) {
        box->n_ranges = 1;
        box->col0 [0] = 0;
        box->col1 [0] = MARKET_GEO_COLS - 1;
        return;
    }
    double lo = circle->lng - dlng, hi = circle->lng + dlng;
    //  Across the antimeridian: two ranges, one on each side of it
    if (lo < -180.0) {
        box->n_ranges = 2;
        box->col0 [0] = s_col (lo + 360.0);
        box->col1 [0] = MARKET_GEO_COLS - 1;
        box->col0 [1] = 0;
        box->col1 [1] = s_col (hi);
    }
    else
    if (hi > 180.0) {
        box->n_ranges = 2;
        box->col0 [0] = s_col (lo);
        box->col1 [0] = MARKET_GEO_COLS - 1;
        box->col0 [1] = 0;
        box->col1 [1] = s_col (hi - 360.0);
    }
    else {
        box->n_ranges = 1;
        box->col0 [0] = s_col (lo);
        box->col1 [0] = s_col (hi);
    }
}

static uint64_t
s_box_cells (const s_box_t *box)
{
    if (box->all)
        return (uint64_t) MARKET_GEO_ROWS * MARKET_GEO_COLS;
    uint64_t cols = 0;
    for (int i = 0; i < box->n_ranges; i++)
        cols += (uint64_t) (box->col1 [i] - box->col0 [i] + 1);
    return (uint64_t) (box->row1 - box->row0 + 1) * cols;
}

/* ---- the index -------------------------------------------------------------- */

static const void *
s_cell_key (const void *arg, uint32_t index)
{
    const market_geo_t *self = (const market_geo_t *) arg;
    return &self->buckets [index].cell;
}

market_geo_t *
market_geo_new (void)
{
    market_geo_t *self = (market_geo_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->by_cell = market_idx_new (sizeof (uint32_t));
    if (!self->by_cell) {
        free (self);
        return NULL;
    }
    return self;
}

void
market_geo_clear (market_geo_t *self)
{
    for (size_t i = 0; i < self->n_buckets; i++)
        free (self->buckets [i].e);
    free (self->buckets);
    free (self->free);
    free (self->slots);
    self->buckets = NULL;
    self->free = NULL;
    self->slots = NULL;
    self->n_buckets = self->cap_buckets = self->n_free = self->cap_free = 0;
    self->n_slots = self->cap_slots = 0;
    self->n_items = 0;
    market_idx_clear (self->by_cell);
}

void
market_geo_destroy (market_geo_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    market_geo_clear (*self_p);
    market_idx_destroy (&(*self_p)->by_cell);
    free (*self_p);
    *self_p = NULL;
}

size_t
market_geo_size (const market_geo_t *self)
{
    return self->n_items;
}

size_t
market_geo_bytes (const market_geo_t *self)
{
    size_t bytes = sizeof *self + self->cap_buckets * sizeof (s_bucket_t)
                 + self->cap_free * sizeof (uint32_t) + self->cap_slots * sizeof (s_slot_t)
                 + market_idx_slots (self->by_cell) * 8;
    for (size_t i = 0; i < self->n_buckets; i++)
        bytes += self->buckets [i].cap * sizeof (s_entry_t);
    return bytes;
}

/*  Take the entry at (bucket, pos) out; an emptied bucket leaves the map
    and joins the free list (whose room put reserved). Never allocates. */
static void
s_take (market_geo_t *self, uint32_t b, uint32_t pos)
{
    s_bucket_t *bucket = &self->buckets [b];
    uint32_t item = bucket->e [pos].item;
    uint32_t last = bucket->n - 1;
    if (pos != last) {
        bucket->e [pos] = bucket->e [last];
        self->slots [bucket->e [pos].item].pos = pos;
    }
    bucket->n--;
    self->slots [item].bucket = S_NONE;
    self->n_items--;
    if (bucket->n == 0) {
        market_idx_keys_t keys = { s_cell_key, self };
        int rc = market_idx_remove (self->by_cell, &bucket->cell, &keys);
        (void) rc;
        //  Room for every bucket is kept in the free list (see s_bucket_for)
        self->free [self->n_free++] = b;
    }
}

void
market_geo_remove (market_geo_t *self, uint32_t item)
{
    if (item >= self->n_slots || self->slots [item].bucket == S_NONE)
        return;
    s_take (self, self->slots [item].bucket, self->slots [item].pos);
}

/*  The bucket of cell, made if needed, with room for one more entry.
    0 and *out, or HEARTH_ENOMEM (nothing changed but spare capacity). */
static int
s_bucket_for (market_geo_t *self, uint32_t cell, uint32_t *out)
{
    market_idx_keys_t keys = { s_cell_key, self };
    uint32_t b;
    if (market_idx_get (self->by_cell, &cell, &keys, &b) != 0) {
        if (self->n_free > 0)
            b = self->free [self->n_free - 1];
        else {
            //  The free list keeps room for every bucket, so s_take (which
            //  must not fail) can always push an emptied one
            if (self->n_buckets >= UINT32_MAX - 1
            ||  HEARTH_VEC_GROW (self->buckets, self->cap_buckets, self->n_buckets + 1, S_FIRST_CAP)
            ||  HEARTH_VEC_GROW (self->free, self->cap_free, self->n_buckets + 1, S_FIRST_CAP))
                return HEARTH_ENOMEM;
            b = (uint32_t) self->n_buckets;
            memset (&self->buckets [b], 0, sizeof self->buckets [b]);
        }
        self->buckets [b].cell = cell;
        if (market_idx_put (self->by_cell, &self->buckets [b].cell, b, &keys))
            return HEARTH_ENOMEM;
        if (b == self->n_buckets)
            self->n_buckets++;
        else
            self->n_free--;
    }
    s_bucket_t *bucket = &self->buckets [b];
    if (HEARTH_VEC_GROW (bucket->e, bucket->cap, (size_t) bucket->n + 1, S_FIRST_CAP)) {
        if (bucket->n == 0) {
            //  Just made: give it back
            market_idx_remove (self->by_cell, &bucket->cell, &keys);
            self->free [self->n_free++] = b;
        }
        return HEARTH_ENOMEM;
    }
    *out = b;
    return 0;
}

int
market_geo_put (market_geo_t *self, uint32_t item, double lat, double lng)
{
    if (item == S_NONE)
        return HEARTH_EINVAL;
    if (!market_geo_point_ok (lat, lng)) {
        market_geo_remove (self, item);
        return HEARTH_EINVAL;
    }
    if (item >= self->n_slots) {
        if (HEARTH_VEC_GROW (self->slots, self->cap_slots, (size_t) item + 1, 64))
            return HEARTH_ENOMEM;
        for (size_t i = self->n_slots; i <= item; i++)
            self->slots [i].bucket = S_NONE;
        self->n_slots = (size_t) item + 1;
    }
    s_entry_t entry;
    s_unit (lat, lng, entry.v);
    entry.item = item;
    uint32_t cell = s_row (lat) * MARKET_GEO_COLS + s_col (lng);
    s_slot_t *slot = &self->slots [item];
    if (slot->bucket != S_NONE && self->buckets [slot->bucket].cell == cell) {
        self->buckets [slot->bucket].e [slot->pos] = entry;    // same cell: in place
        return 0;
    }
    uint32_t b;
    int rc = s_bucket_for (self, cell, &b);
    if (rc)
        return rc;
    if (slot->bucket != S_NONE)
        s_take (self, slot->bucket, slot->pos);    // cannot empty b: another cell
    s_bucket_t *bucket = &self->buckets [b];
    bucket->e [bucket->n] = entry;
    slot->bucket = b;
    slot->pos = bucket->n++;
    self->n_items++;
    return 0;
}

int
market_geo_item (const market_geo_t *self, uint32_t item, const market_geo_circle_t *circle,
                 double *chord2)
{
    if (item >= self->n_slots || self->slots [item].bucket == S_NONE)
        return 0;
    const s_slot_t *slot = &self->slots [item];
    *chord2 = s_chord2 (self->buckets [slot->bucket].e [slot->pos].v, circle->c);
    return 1;
}

/*  Scan every bucket rather than look up the box's cells? When the box has
    more cells than the index has entries and buckets, a lookup per cell
    costs more than reading every entry. */
static int
s_scan_all (const market_geo_t *self, const s_box_t *box)
{
    return box->all || s_box_cells (box) >= (uint64_t) self->n_items + self->n_buckets;
}

size_t
market_geo_estimate (const market_geo_t *self, const market_geo_circle_t *circle)
{
    s_box_t box;
    s_box (circle, &box);
    if (s_scan_all (self, &box))
        return self->n_items;
    market_idx_keys_t keys = { s_cell_key, self };
    size_t n = 0;
    for (uint32_t row = box.row0; row <= box.row1; row++)
        for (int r = 0; r < box.n_ranges; r++)
            for (uint32_t col = box.col0 [r]; col <= box.col1 [r]; col++) {
                uint32_t cell = row * MARKET_GEO_COLS + col, b;
                if (market_idx_get (self->by_cell, &cell, &keys, &b) == 0)
                    n += self->buckets [b].n;
            }
    return n;
}

static int
s_visit_bucket (const s_bucket_t *bucket, const market_geo_circle_t *circle,
                market_geo_visit_fn *fn, void *arg)
{
    for (uint32_t i = 0; i < bucket->n; i++) {
        double chord2 = s_chord2 (bucket->e [i].v, circle->c);
        if (market_geo_circle_holds (circle, chord2)) {
            int rc = fn (arg, bucket->e [i].item, chord2);
            if (rc)
                return rc;
        }
    }
    return 0;
}

int
market_geo_query (const market_geo_t *self, const market_geo_circle_t *circle,
                  market_geo_visit_fn *fn, void *arg)
{
    s_box_t box;
    s_box (circle, &box);
    int rc;
    if (s_scan_all (self, &box)) {
        for (size_t b = 0; b < self->n_buckets; b++)
            if ((rc = s_visit_bucket (&self->buckets [b], circle, fn, arg)))
                return rc;
        return 0;
    }
    market_idx_keys_t keys = { s_cell_key, self };
    for (uint32_t row = box.row0; row <= box.row1; row++)
        for (int r = 0; r < box.n_ranges; r++)
            for (uint32_t col = box.col0 [r]; col <= box.col1 [r]; col++) {
                uint32_t cell = row * MARKET_GEO_COLS + col, b;
                if (market_idx_get (self->by_cell, &cell, &keys, &b) == 0
                &&  (rc = s_visit_bucket (&self->buckets [b], circle, fn, arg)))
                    return rc;
            }
    return 0;
}
