/*  market_embed_cache.c — LRU of int8-quantised post embeddings; see
    market_embed_cache.h.

    Slots are handed out in order and reused through a free list; a slot
    holds the post id, its text hash, the vector's scale and its LRU links,
    and its vector sits at slot * dim in one int8 block, so the scan of a
    search is a linear walk over memory. Ids map to slots through a
    market_idx (keys asked back from the slots).
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "hearth_error.h"
#include "hearth_vec.h"
#include "market_embed_cache.h"
#include "market_idx.h"
#include "ulid.h"

#define S_NIL UINT32_MAX

typedef struct {
    char     id [ULID_SIZE];    /* "" = free slot */
    uint64_t text_hash;
    float    scale;             /* component i = q[i] * scale (unit vector) */
    uint32_t prev, next;        /* LRU links (next doubles as the free list) */
} s_slot_t;

struct _market_embed_cache_t {
    size_t        capacity;
    char          model [MARKET_EMBED_MAX_MODEL + 1];
    size_t        dim;          /* 0 while no model is cached */
    s_slot_t     *slots;        /* owned, n_slots used of cap_slots */
    size_t        n_slots, cap_slots;
    int8_t       *vectors;      /* owned, cap_vectors slots of dim bytes */
    size_t        cap_vectors;
    uint32_t      head, tail;   /* most / least recently used */
    uint32_t      free_list;
    size_t        entries;
    market_idx_t *ids;          /* owned: id -> slot */
    uint64_t     *bits;         /* owned: sign bits of each vector, words per slot */
    size_t        words;        /* 64-bit words of one vector's sign bits */
    int32_t      *dots;         /* owned: scratch of the scan, cap_dots entries */
    size_t        cap_dots;
    market_embed_cache_stats_t stats;
};

static const void *
s_key_of (const void *arg, uint32_t index)
{
    const market_embed_cache_t *self = (const market_embed_cache_t *) arg;
    return self->slots [index].id;
}

market_embed_cache_t *
market_embed_cache_new (size_t capacity)
{
    if (capacity < 1 || capacity > MARKET_EMBED_CACHE_MAX_ENTRIES)
        return NULL;
    market_embed_cache_t *self = (market_embed_cache_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->capacity = capacity;
    self->head = self->tail = self->free_list = S_NIL;
    self->ids = market_idx_new (0);
    if (!self->ids) {
        free (self);
        return NULL;
    }
    return self;
}

void
market_embed_cache_destroy (market_embed_cache_t **self_p)
{
    if (self_p && *self_p) {
        market_embed_cache_t *self = *self_p;
        market_idx_destroy (&self->ids);
        free (self->slots);
        free (self->vectors);
        free (self->bits);
        free (self->dots);
        free (self);
        *self_p = NULL;
    }
}

uint64_t
market_embed_text_hash (const char *title, const char *body)
{
    crypto_generichash_state state;
    uint8_t out [8];
    crypto_generichash_init (&state, NULL, 0, sizeof out);
    crypto_generichash_update (&state, (const uint8_t *) (title? title: ""), strlen (title? title: "") + 1);
    crypto_generichash_update (&state, (const uint8_t *) (body? body: ""), strlen (body? body: ""));
    crypto_generichash_final (&state, out, sizeof out);
    uint64_t hash = 0;
    for (int i = 0; i < 8; i++)
        hash = (hash << 8) | out [i];
    return hash;
}

/* ---- LRU list ------------------------------------------------------------- */

static void
s_unlink (market_embed_cache_t *self, uint32_t i)
{
    s_slot_t *s = &self->slots [i];
    if (s->prev != S_NIL)
        self->slots [s->prev].next = s->next;
    else
        self->head = s->next;
    if (s->next != S_NIL)
        self->slots [s->next].prev = s->prev;
    else
        self->tail = s->prev;
    s->prev = s->next = S_NIL;
}

static void
s_push_front (market_embed_cache_t *self, uint32_t i)
{
    s_slot_t *s = &self->slots [i];
    s->prev = S_NIL;
    s->next = self->head;
    if (self->head != S_NIL)
        self->slots [self->head].prev = i;
    self->head = i;
    if (self->tail == S_NIL)
        self->tail = i;
}

/*  Drop slot i (in use) to the free list. */
static void
s_drop (market_embed_cache_t *self, uint32_t i)
{
    market_idx_keys_t keys = { s_key_of, self };
    market_idx_remove (self->ids, self->slots [i].id, &keys);
    s_unlink (self, i);
    self->slots [i].id [0] = '\0';
    self->slots [i].next = self->free_list;
    self->free_list = i;
    self->entries--;
}

/*  Empty the cache (model change). */
static void
s_clear (market_embed_cache_t *self)
{
    self->stats.invalidations += self->entries;
    market_idx_clear (self->ids);
    self->n_slots = 0;
    self->entries = 0;
    self->head = self->tail = self->free_list = S_NIL;
    self->dim = 0;
    self->model [0] = '\0';
}

/*  Normalise src (dim floats) into int8 q with its scale. HEARTH_EINVAL
    for NaN/Inf or a zero vector. */
static int
s_quantise (const float *src, size_t dim, int8_t *q, float *scale)
{
    double norm = 0, max = 0;
    for (size_t i = 0; i < dim; i++) {
        double x = src [i];
        if (!isfinite (x))
            return HEARTH_EINVAL;
        norm += x * x;
        if (fabs (x) > max)
            max = fabs (x);
    }
    if (!(norm > 0) || !isfinite (norm))
        return HEARTH_EINVAL;
    norm = sqrt (norm);
    double unit_max = max / norm;       /* largest component of the unit vector, > 0 */
    double step = unit_max / 127.0;
    for (size_t i = 0; i < dim; i++) {
        long v = lround ((src [i] / norm) / step);
        q [i] = (int8_t) (v > 127? 127: v < -127? -127: v);
    }
    *scale = (float) step;
    return HEARTH_OK;
}

/*  The sign bits of a quantised vector (bit i set if component i > 0). */
static void
s_sign_bits (const int8_t *q, size_t dim, uint64_t *bits)
{
    memset (bits, 0, ((dim + 63) / 64) * 8);
    for (size_t i = 0; i < dim; i++)
        if (q [i] > 0)
            bits [i / 64] |= UINT64_C (1) << (i % 64);
}

static int
s_find (const market_embed_cache_t *self, const char *event_id, uint32_t *slot)
{
    market_idx_keys_t keys = { s_key_of, self };
    return market_idx_get (self->ids, event_id, &keys, slot);
}

int
market_embed_cache_put (market_embed_cache_t *self, const char *model, const char *event_id,
                        uint64_t text_hash, const float *vec, size_t dim)
{
    if (!model || strlen (model) > MARKET_EMBED_MAX_MODEL || !event_id
    ||  strlen (event_id) >= ULID_SIZE || !*event_id
    ||  dim < MARKET_EMBED_MIN_DIM || dim > MARKET_EMBED_MAX_DIM || !vec) {
        self->stats.rejected++;
        return HEARTH_EINVAL;
    }
    int8_t q [MARKET_EMBED_MAX_DIM];
    float scale;
    if (s_quantise (vec, dim, q, &scale) != HEARTH_OK) {
        self->stats.rejected++;
        return HEARTH_EINVAL;
    }
    if (self->dim && (dim != self->dim || strcmp (model, self->model) != 0))
        s_clear (self);
    if (!self->dim) {
        /*  A new model: vectors of another dim cannot share the block. */
        free (self->vectors);
        free (self->bits);
        self->vectors = NULL;
        self->bits = NULL;
        self->cap_vectors = 0;
        self->dim = dim;
        self->words = (dim + 63) / 64;
        snprintf (self->model, sizeof self->model, "%s", model);
    }
    uint32_t slot;
    if (s_find (self, event_id, &slot) == HEARTH_OK)
        s_unlink (self, slot);
    else {
        if (self->entries >= self->capacity) {
            s_drop (self, self->tail);
            self->stats.evictions++;
        }
        if (self->free_list != S_NIL) {
            slot = self->free_list;
            self->free_list = self->slots [slot].next;
        }
        else {
            if (HEARTH_VEC_GROW (self->slots, self->cap_slots, self->n_slots + 1, 64))
                return HEARTH_ENOMEM;
            if (self->cap_vectors < self->cap_slots) {
                size_t cap = self->cap_slots;
                if (cap > SIZE_MAX / dim)
                    return HEARTH_ENOMEM;
                int8_t *grown = (int8_t *) realloc (self->vectors, cap * dim);
                if (!grown)
                    return HEARTH_ENOMEM;
                self->vectors = grown;
                uint64_t *bits = (uint64_t *) realloc (self->bits, cap * self->words * 8);
                if (!bits)
                    return HEARTH_ENOMEM;
                self->bits = bits;
                self->cap_vectors = cap;
            }
            slot = (uint32_t) self->n_slots++;
        }
        s_slot_t *s = &self->slots [slot];
        memset (s, 0, sizeof *s);
        snprintf (s->id, sizeof s->id, "%s", event_id);
        market_idx_keys_t keys = { s_key_of, self };
        if (market_idx_put (self->ids, s->id, slot, &keys) != HEARTH_OK) {
            s->id [0] = '\0';
            s->next = self->free_list;
            self->free_list = slot;
            return HEARTH_ENOMEM;
        }
        self->entries++;
    }
    s_slot_t *s = &self->slots [slot];
    s->text_hash = text_hash;
    s->scale = scale;
    memcpy (self->vectors + (size_t) slot * dim, q, dim);
    s_sign_bits (q, dim, self->bits + (size_t) slot * self->words);
    s_push_front (self, slot);
    self->stats.inserts++;
    return HEARTH_OK;
}

int
market_embed_cache_has (market_embed_cache_t *self, const char *model, const char *event_id,
                        uint64_t text_hash)
{
    uint32_t slot;
    if (!model || !event_id || strcmp (model, self->model) != 0
    ||  s_find (self, event_id, &slot) != HEARTH_OK) {
        self->stats.misses++;
        return 0;
    }
    if (self->slots [slot].text_hash != text_hash) {
        s_drop (self, slot);
        self->stats.invalidations++;
        self->stats.misses++;
        return 0;
    }
    s_unlink (self, slot);
    s_push_front (self, slot);
    self->stats.hits++;
    return 1;
}

int
market_embed_cache_invalidate (market_embed_cache_t *self, const char *event_id)
{
    uint32_t slot;
    if (!event_id || s_find (self, event_id, &slot) != HEARTH_OK)
        return 0;
    s_drop (self, slot);
    self->stats.invalidations++;
    return 1;
}

/*  Heap order: a before b if a is worse (lower similarity; on a tie, the
    smaller id), so the root of the min-heap is the worst kept hit. */
static int
s_worse (const market_embed_hit_t *a, const market_embed_hit_t *b)
{
    if (a->similarity != b->similarity)
        return a->similarity < b->similarity;
    return strcmp (a->event_id, b->event_id) < 0;
}

static void
s_sift_down (market_embed_hit_t *heap, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && s_worse (&heap [l], &heap [m]))
            m = l;
        if (r < n && s_worse (&heap [r], &heap [m]))
            m = r;
        if (m == i)
            return;
        market_embed_hit_t t = heap [i];
        heap [i] = heap [m];
        heap [m] = t;
        i = m;
    }
}

/*  The integer dot product of q with each of n vectors of dim bytes, into
    dots. The scan of every search: compiled twice, for AVX2 (32-byte
    vectors) and for the baseline x86-64 (SSE2), the CPU picks at load
    time; elsewhere, once. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__ ((target_clones ("avx2", "default")))
#endif
static void
s_dots (const int8_t *q, const int8_t *vectors, size_t n, size_t dim, int32_t *dots)
{
    for (size_t i = 0; i < n; i++) {
        const int8_t *v = vectors + i * dim;
        int32_t sum = 0;
        for (size_t j = 0; j < dim; j++)
            sum += (int32_t) q [j] * (int32_t) v [j];
        dots [i] = sum;
    }
}

/*  The Hamming distance of the query's sign bits to each of n vectors'. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__ ((target_clones ("arch=haswell", "default")))
#endif
static void
s_hamming (const uint64_t *q, const uint64_t *bits, size_t n, size_t words, int32_t *dist)
{
    for (size_t i = 0; i < n; i++) {
        const uint64_t *b = bits + i * words;
        int32_t d = 0;
        for (size_t w = 0; w < words; w++)
            d += __builtin_popcountll (q [w] ^ b [w]);
        dist [i] = d;
    }
}

/*  Offer one slot to the heap of the n best in out (kept so far). */
static void
s_offer (market_embed_hit_t *out, size_t n, size_t *kept, const s_slot_t *s, float similarity)
{
    /*  Unrelated (orthogonal or opposed) posts are no candidates; a hit
        below the worst kept one is rejected without comparing ids. */
    if (!(similarity > 0) || (*kept == n && similarity < out [0].similarity))
        return;
    market_embed_hit_t hit = { s->id, s->text_hash, similarity };
    if (*kept < n) {
        out [(*kept)++] = hit;
        for (size_t c = *kept - 1; c > 0 && s_worse (&out [c], &out [(c - 1) / 2]); c = (c - 1) / 2) {
            market_embed_hit_t t = out [c];
            out [c] = out [(c - 1) / 2];
            out [(c - 1) / 2] = t;
        }
    }
    else
    if (s_worse (&out [0], &hit)) {
        out [0] = hit;
        s_sift_down (out, *kept, 0);
    }
}

static int32_t
s_dot (const int8_t *a, const int8_t *b, size_t dim)
{
    int32_t sum = 0;
    for (size_t i = 0; i < dim; i++)
        sum += (int32_t) a [i] * (int32_t) b [i];
    return sum;
}

size_t
market_embed_cache_nearest (market_embed_cache_t *self, const char *model, const float *query,
                            size_t dim, size_t n, market_embed_hit_t *out)
{
    if (n > MARKET_EMBED_MAX_NEAREST)
        n = MARKET_EMBED_MAX_NEAREST;
    if (!n || !self->entries || !model || strcmp (model, self->model) != 0 || dim != self->dim)
        return 0;
    int8_t q [MARKET_EMBED_MAX_DIM];
    float q_scale;
    if (s_quantise (query, dim, q, &q_scale) != HEARTH_OK)
        return 0;
    if (self->cap_dots < self->n_slots) {
        int32_t *grown = (int32_t *) realloc (self->dots, self->n_slots * sizeof (int32_t));
        if (!grown)
            return 0;
        self->dots = grown;
        self->cap_dots = self->n_slots;
    }
    size_t kept = 0;
    if (self->entries <= MARKET_EMBED_EXACT_MAX) {
        s_dots (q, self->vectors, self->n_slots, dim, self->dots);
        for (size_t i = 0; i < self->n_slots; i++)
            if (self->slots [i].id [0])
                s_offer (out, n, &kept, &self->slots [i],
                         (float) self->dots [i] * q_scale * self->slots [i].scale);
    }
    else {
        /*  Two stages: the Hamming distance of sign bits (dim / 8 bytes a
            post) ranks every post roughly; the MARKET_EMBED_RESCORE closest
            (all of the last distance taken, up to twice that) are scored
            exactly. The bits carry the angle (distance / dim estimates
            angle / pi), so the true nearest are among them. */
        uint64_t qbits [MARKET_EMBED_MAX_DIM / 64];
        s_sign_bits (q, dim, qbits);
        s_hamming (qbits, self->bits, self->n_slots, self->words, self->dots);
        size_t hist [MARKET_EMBED_MAX_DIM + 1];
        memset (hist, 0, (dim + 1) * sizeof hist [0]);
        for (size_t i = 0; i < self->n_slots; i++)
            if (self->slots [i].id [0])
                hist [self->dots [i]]++;
        size_t threshold = 0, below = 0;
        while (threshold < dim && below + hist [threshold] < MARKET_EMBED_RESCORE)
            below += hist [threshold++];
        size_t at_threshold = 2 * MARKET_EMBED_RESCORE - below;
        for (size_t i = 0; i < self->n_slots; i++) {
            const s_slot_t *s = &self->slots [i];
            if (!s->id [0] || (size_t) self->dots [i] > threshold)
                continue;
            if ((size_t) self->dots [i] == threshold) {
                if (!at_threshold)
                    continue;
                at_threshold--;
            }
            s_offer (out, n, &kept, s, (float) s_dot (q, self->vectors + i * dim, dim) * q_scale * s->scale);
        }
    }
    /*  Heap sort: repeatedly move the worst to the end -> best first. */
    for (size_t end = kept; end > 1; end--) {
        market_embed_hit_t t = out [0];
        out [0] = out [end - 1];
        out [end - 1] = t;
        s_sift_down (out, end - 1, 0);
    }
    return kept;
}

const char *
market_embed_cache_model (const market_embed_cache_t *self)
{
    return self->model;
}

void
market_embed_cache_stats (const market_embed_cache_t *self, market_embed_cache_stats_t *out)
{
    *out = self->stats;
    out->entries = self->entries;
    out->capacity = self->capacity;
    out->dim = self->dim;
    out->bytes = self->cap_slots * sizeof (s_slot_t) + self->cap_vectors * self->dim
               + market_idx_slots (self->ids) * 8 + self->cap_dots * sizeof (int32_t)
               + self->cap_vectors * self->words * 8;
}
