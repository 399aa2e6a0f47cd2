/*  lamport.h — the Lamport rules (docs/architecture.md §5; docs/decisions/0007). Pure.

    Local send: lamport = clock + 1, clock = lamport.
    Receive of an accepted event with value L: the contract writes
    clock = max(clock, L) + 1; Hearth keeps clock = max(clock, L), so the next
    local event gets max(clock, L) + 1 either way: the same order, and the
    clock always equals the highest lamport stored (the head).
    Bound: a received L is refused if L == 0, L >= LAMPORT_MAX or
    L > local_max + LAMPORT_MAX_JUMP, so a peer cannot push the clock to the
    end of its range. Lamports start at 1 (a local event gets clock + 1),
    and every full scan starts after 0: an event at 0 would be stored and
    found by id but missed by every list and re-fold.
*/
#ifndef HEARTH_LAMPORT_H
#define HEARTH_LAMPORT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*  Highest value + 1 ever accepted: 2^62 leaves headroom in signed 64-bit
    consumers (JSON doubles lose precision past 2^53; we print as integers). */
#define LAMPORT_MAX       (UINT64_C (1) << 62)
/*  How far ahead of our own head a received event may be: 2^20 (~1M events). */
#define LAMPORT_MAX_JUMP  (UINT64_C (1) << 20)

/*  Value for a local event given the clock; 0 or HEARTH_ELAMPORT at the end. */
int lamport_next (uint64_t clock, uint64_t *out);
/*  0 if a received value is within bounds of local_max (1..), else
    HEARTH_ELAMPORT. */
int lamport_check (uint64_t local_max, uint64_t received);
/*  Clock after accepting a received value (max). */
uint64_t lamport_observe (uint64_t clock, uint64_t received);

#ifdef __cplusplus
}
#endif
#endif
