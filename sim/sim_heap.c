/*  sim_heap.c — binary min-heap of sim_event_t; see sim_heap.h. */
#include <stdlib.h>
#include "sim_heap.h"
#include "hearth_error.h"
#include "hearth_vec.h"

struct _sim_heap_t {
    sim_event_t *ev;
    size_t n, cap, peak;
    uint64_t seq;
};

static int
s_less (const sim_event_t *a, const sim_event_t *b)
{
    return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

sim_heap_t *
sim_heap_new (void)
{
    return (sim_heap_t *) calloc (1, sizeof (sim_heap_t));
}

void
sim_heap_destroy (sim_heap_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->ev);
    free (*self_p);
    *self_p = NULL;
}

int
sim_heap_push (sim_heap_t *self, const sim_event_t *ev)
{
    if (HEARTH_VEC_GROW (self->ev, self->cap, self->n + 1, 1024))
        return HEARTH_ENOMEM;
    size_t i = self->n++;
    sim_event_t e = *ev;
    e.seq = self->seq++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!s_less (&e, &self->ev [p]))
            break;
        self->ev [i] = self->ev [p];
        i = p;
    }
    self->ev [i] = e;
    if (self->n > self->peak)
        self->peak = self->n;
    return 0;
}

int
sim_heap_pop (sim_heap_t *self, sim_event_t *ev)
{
    if (self->n == 0)
        return 0;
    *ev = self->ev [0];
    sim_event_t last = self->ev [--self->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= self->n)
            break;
        if (c + 1 < self->n && s_less (&self->ev [c + 1], &self->ev [c]))
            c++;
        if (!s_less (&self->ev [c], &last))
            break;
        self->ev [i] = self->ev [c];
        i = c;
    }
    if (self->n > 0)
        self->ev [i] = last;
    return 1;
}

uint64_t
sim_heap_next_at (const sim_heap_t *self)
{
    return self->n? self->ev [0].at: UINT64_MAX;
}

size_t
sim_heap_size (const sim_heap_t *self)
{
    return self->n;
}

size_t
sim_heap_peak (const sim_heap_t *self)
{
    return self->peak;
}
