/*  lamport.c — the Lamport rules; see lamport.h. Pure: no state, no I/O.

    Invariant: every value this file hands out or accepts is < LAMPORT_MAX,
    so clock + 1 never overflows and clock + LAMPORT_MAX_JUMP never wraps.
*/
#include "lamport.h"
#include "hearth_error.h"

/*  Value for the next local event: clock + 1, refused at the end of range. */
int
lamport_next (uint64_t clock, uint64_t *out)
{
    uint64_t next;
    if (__builtin_add_overflow (clock, 1, &next) || next >= LAMPORT_MAX)
        return HEARTH_ELAMPORT;
    *out = next;
    return 0;
}

/*  A received value must be at least 1, below LAMPORT_MAX and at most
    LAMPORT_MAX_JUMP above our head. */
int
lamport_check (uint64_t local_max, uint64_t received)
{
    if (received == 0 || received >= LAMPORT_MAX)
        return HEARTH_ELAMPORT;
    uint64_t limit;
    if (__builtin_add_overflow (local_max, LAMPORT_MAX_JUMP, &limit))
        limit = UINT64_MAX;                 /* a corrupt head cannot wrap the bound */
    return received > limit? HEARTH_ELAMPORT: 0;
}

/*  Clock after an accepted value: the head (see lamport.h on +1). */
uint64_t
lamport_observe (uint64_t clock, uint64_t received)
{
    return received > clock? received: clock;
}
