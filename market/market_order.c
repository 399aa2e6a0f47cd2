/*  market_order.c — chunked sorted set by (lamport, id) (see market_order.h).
*/
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include "hearth_error.h"
#include "hearth_vec.h"
#include "market_order.h"

typedef struct {
    size_t               n;
    market_order_entry_t e [MARKET_ORDER_CHUNK];
} s_chunk_t;

struct _market_order_t {
    s_chunk_t **chunks;         /* owned (array and chunks), in key order, none empty */
    size_t      n_chunks, cap_chunks;
    size_t      size;
    market_order_id_fn *id_of;
};

static int
s_cmp (uint64_t la, const char *ia, uint64_t lb, const char *ib)
{
    if (la != lb)
        return la < lb? -1: 1;
    return strcmp (ia, ib);
}

/*  The entry's id is read only when the lamports are equal. */
static int
s_cmp_entry (const market_order_t *self, const market_order_entry_t *e, uint64_t lamport,
             const char *id)
{
    if (e->lamport != lamport)
        return e->lamport < lamport? -1: 1;
    return s_cmp (e->lamport, self->id_of (e->item), lamport, id);
}

market_order_t *
market_order_new (market_order_id_fn *id_of)
{
    assert (id_of);
    market_order_t *self = (market_order_t *) calloc (1, sizeof (market_order_t));
    if (self)
        self->id_of = id_of;
    return self;
}

void
market_order_clear (market_order_t *self)
{
    for (size_t i = 0; i < self->n_chunks; i++)
        free (self->chunks [i]);
    self->n_chunks = 0;
    self->size = 0;
}

void
market_order_destroy (market_order_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    market_order_clear (*self_p);
    free ((*self_p)->chunks);
    free (*self_p);
    *self_p = NULL;
}

size_t
market_order_size (const market_order_t *self)
{
    return self->size;
}

/*  First chunk whose last entry is >= key; n_chunks if none. */
static size_t
s_chunk_for (const market_order_t *self, uint64_t lamport, const char *id)
{
    size_t lo = 0, hi = self->n_chunks;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const s_chunk_t *c = self->chunks [mid];
        if (s_cmp_entry (self, &c->e [c->n - 1], lamport, id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/*  First position in c whose entry is >= key. */
static size_t
s_pos_in (const market_order_t *self, const s_chunk_t *c, uint64_t lamport, const char *id)
{
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s_cmp_entry (self, &c->e [mid], lamport, id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/*  Insert an empty chunk at index at; NULL on OOM. */
static s_chunk_t *
s_chunk_insert (market_order_t *self, size_t at)
{
    if (HEARTH_VEC_GROW (self->chunks, self->cap_chunks, self->n_chunks + 1, 16))
        return NULL;
    s_chunk_t *c = (s_chunk_t *) malloc (sizeof (s_chunk_t));
    if (!c)
        return NULL;
    c->n = 0;
    memmove (self->chunks + at + 1, self->chunks + at, (self->n_chunks - at) * sizeof (s_chunk_t *));
    self->chunks [at] = c;
    self->n_chunks++;
    return c;
}

int
market_order_insert (market_order_t *self, uint64_t lamport, const char *id, void *item)
{
    assert (strcmp (self->id_of (item), id) == 0);
    market_order_entry_t entry = { lamport, item };
    size_t ci = s_chunk_for (self, lamport, id);
    if (ci == self->n_chunks) {
        //  Past the last key: append, starting a new chunk when the last is full
        s_chunk_t *last = self->n_chunks? self->chunks [self->n_chunks - 1]: NULL;
        if (!last || last->n == MARKET_ORDER_CHUNK) {
            last = s_chunk_insert (self, self->n_chunks);
            if (!last)
                return HEARTH_ENOMEM;
        }
        last->e [last->n++] = entry;
        self->size++;
        return 0;
    }
    s_chunk_t *c = self->chunks [ci];
    size_t pos = s_pos_in (self, c, lamport, id);
    if (pos < c->n && s_cmp_entry (self, &c->e [pos], lamport, id) == 0)
        return HEARTH_EEXISTS;
    if (c->n == MARKET_ORDER_CHUNK) {
        //  Split in halves; the new entry goes to the half that covers it
        s_chunk_t *right = s_chunk_insert (self, ci + 1);
        if (!right)
            return HEARTH_ENOMEM;
        size_t half = MARKET_ORDER_CHUNK / 2;
        memcpy (right->e, c->e + half, (MARKET_ORDER_CHUNK - half) * sizeof (market_order_entry_t));
        right->n = MARKET_ORDER_CHUNK - half;
        c->n = half;
        if (pos > half) {
            c = right;
            pos -= half;
        }
    }
    memmove (c->e + pos + 1, c->e + pos, (c->n - pos) * sizeof (market_order_entry_t));
    c->e [pos] = entry;
    c->n++;
    self->size++;
    return 0;
}

int
market_order_remove (market_order_t *self, uint64_t lamport, const char *id)
{
    size_t ci = s_chunk_for (self, lamport, id);
    if (ci == self->n_chunks)
        return HEARTH_ENOTFOUND;
    s_chunk_t *c = self->chunks [ci];
    size_t pos = s_pos_in (self, c, lamport, id);
    if (pos == c->n || s_cmp_entry (self, &c->e [pos], lamport, id) != 0)
        return HEARTH_ENOTFOUND;
    memmove (c->e + pos, c->e + pos + 1, (c->n - pos - 1) * sizeof (market_order_entry_t));
    c->n--;
    self->size--;
    if (c->n == 0) {
        free (c);
        memmove (self->chunks + ci, self->chunks + ci + 1, (self->n_chunks - ci - 1) * sizeof (s_chunk_t *));
        self->n_chunks--;
    }
    return 0;
}

const market_order_entry_t *
market_order_last (const market_order_t *self, market_order_cursor_t *cursor)
{
    if (self->n_chunks == 0)
        return NULL;
    cursor->chunk = self->n_chunks - 1;
    cursor->pos = self->chunks [cursor->chunk]->n - 1;
    return &self->chunks [cursor->chunk]->e [cursor->pos];
}

const market_order_entry_t *
market_order_prev (const market_order_t *self, market_order_cursor_t *cursor)
{
    if (cursor->pos > 0)
        cursor->pos--;
    else {
        if (cursor->chunk == 0)
            return NULL;
        cursor->chunk--;
        cursor->pos = self->chunks [cursor->chunk]->n - 1;
    }
    return &self->chunks [cursor->chunk]->e [cursor->pos];
}

const market_order_entry_t *
market_order_first (const market_order_t *self, market_order_cursor_t *cursor)
{
    if (self->n_chunks == 0)
        return NULL;
    cursor->chunk = 0;
    cursor->pos = 0;
    return &self->chunks [0]->e [0];
}

const market_order_entry_t *
market_order_next (const market_order_t *self, market_order_cursor_t *cursor)
{
    if (cursor->chunk >= self->n_chunks)
        return NULL;
    if (cursor->pos + 1 < self->chunks [cursor->chunk]->n)
        cursor->pos++;
    else {
        if (cursor->chunk + 1 >= self->n_chunks)
            return NULL;
        cursor->chunk++;
        cursor->pos = 0;
    }
    return &self->chunks [cursor->chunk]->e [cursor->pos];
}
