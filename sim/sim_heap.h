/*  sim_heap.h — the simulator's event queue: a binary min-heap of timed
    events ordered by (time, sequence number), so events due at the same
    simulated millisecond run in the order they were scheduled and a run is
    deterministic.
*/
#ifndef HEARTH_SIM_HEAP_H
#define HEARTH_SIM_HEAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t at;                /* simulated ms */
    uint64_t seq;               /* set by sim_heap_push: ties run in push order */
    uint32_t kind;              /* the world's event kind */
    uint32_t node;              /* the node it is for */
    uint32_t gen;               /* that node's incarnation when scheduled */
    uint32_t arg;               /* kind-specific (a link id) */
    void    *msg;               /* kind-specific, owned by the event (a message) */
} sim_event_t;

typedef struct _sim_heap_t sim_heap_t;

/*  New, empty; NULL if out of memory. */
sim_heap_t *sim_heap_new (void);

/*  Free; events still queued are dropped (their msg is the caller's to
    free first, with sim_heap_pop). Safe on NULL; nulls *self_p. */
void sim_heap_destroy (sim_heap_t **self_p);

/*  Queue ev (copied; seq assigned). 0 or HEARTH_ENOMEM. */
int sim_heap_push (sim_heap_t *self, const sim_event_t *ev);

/*  Take the earliest event into *ev: 1, or 0 when empty. */
int sim_heap_pop (sim_heap_t *self, sim_event_t *ev);

/*  The earliest event's time, UINT64_MAX when empty. */
uint64_t sim_heap_next_at (const sim_heap_t *self);

/*  Events queued, and the most ever queued at once. */
size_t sim_heap_size (const sim_heap_t *self);
size_t sim_heap_peak (const sim_heap_t *self);

#endif
