/*  gossip_refused.h — a bounded memory of events this node refused, by
    hash, so sync does not fetch them again and again (docs/sync.md §7.4,
    "Refused events").

    A refused event is not stored, so every reconciliation with a peer that
    holds it finds it "missing" again, and every announcement of it looks
    new. Without a memory a member that serves many events every node
    refuses (dated below valid ones) had its peers fetch them again every
    round, in lamport order, ahead of everything valid. The hash is BLAKE2b
    of body || signature: a remembered refusal holds for exactly those
    bytes, never for another event.

    Kinds (gossip_refused_kind):
      - PERMANENT: the same bytes are refused forever on this node (a bad
        signature, another community, a revoked author, Lamport 0 or at
        LAMPORT_MAX and above, an (author, event_id) stored with another
        body). Never fetched again while remembered.
      - LATER: may pass once time passes (dated ahead of our clock; a
        Lamport more than LAMPORT_MAX_JUMP above our head, which only
        rises). Fetched again after a backoff: GOSSIP_REFUSED_RETRY_MIN_MS
        after the first refusal, doubling with each further one up to
        GOSSIP_REFUSED_RETRY_MAX_MS.
      - CONTEXT: may pass once the membership view changes (the author is
        not a member yet, or a type rule that depends on membership: a join
        before its invite, a promotion by a member not yet an anchor, an
        invite over its author's budget). Fetched again when the caller's
        context value (a count of stored membership events) differs from
        the one at the refusal (while membership is unchanged the verdict
        cannot change) AND the backoff has passed: none after the first
        refusal (the membership event it needed may have come in the same
        batch), then GOSSIP_REFUSED_RETRY_MIN_MS doubling as for LATER, so
        a member that keeps changing membership cannot have the same events
        fetched again every round.
    Duplicates are not refusals (the event is stored).

    Bounded: at most `max` hashes; a new one beyond evicts the oldest
    remembered (first in, first out), which is then fetched again if a peer
    still offers it, refused again and remembered again. Nothing a peer
    sends grows this beyond `max` entries.

    Pure core: no I/O, no clock (times are arguments, monotonic ms), no
    randomness (the hash-table key is an argument), single-threaded.
*/
#ifndef HEARTH_GOSSIP_REFUSED_H
#define HEARTH_GOSSIP_REFUSED_H

#include <stddef.h>
#include <stdint.h>
#include "event.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  Refused hashes remembered at most: about what two rounds of a session
    name (~65,000 ids), past which refused events starve sync without a
    memory; beyond it gossip_sweep.h keeps sync going. 56 bytes an entry,
    allocated as it fills (3.5 MiB when full), plus a 256 KiB table made
    at start. */
#define GOSSIP_REFUSED_MAX              65536
/*  First retry of a refusal that may pass later, and the most the doubling
    backoff reaches: a future-dated event comes back within a minute of
    the clock catching up at first, a flood that is refused again and again
    costs one fetch per 15 minutes at most. */
#define GOSSIP_REFUSED_RETRY_MIN_MS     1000
#define GOSSIP_REFUSED_RETRY_MAX_MS     (15 * 60 * 1000)

typedef enum {
    GOSSIP_REFUSED_NONE = 0,        /* not a refusal (accepted, duplicate): nothing to remember */
    GOSSIP_REFUSED_PERMANENT,
    GOSSIP_REFUSED_LATER,
    GOSSIP_REFUSED_CONTEXT
} gossip_refused_kind_t;

typedef struct {
    size_t   max;                   /* hashes remembered at most, > 0 */
    uint64_t retry_min_ms;          /* first backoff of LATER / CONTEXT, > 0 */
    uint64_t retry_max_ms;          /* backoff ceiling, >= retry_min_ms */
} gossip_refused_limits_t;

typedef struct {
    uint64_t remembered;            /* refusals recorded (new hashes) */
    uint64_t again;                 /* refusals of a hash already remembered (a retry refused) */
    uint64_t evicted;               /* hashes forgotten to make room */
} gossip_refused_stats_t;

typedef struct _gossip_refused_t gossip_refused_t;

/*  The kind of a refusal for `reason`, given the event's lamport (used for
    EVENT_REJECT_LAMPORT only). Pure. Undecodable events (SIZE, DECODE,
    STRUCTURE) have no hash to remember by, but are PERMANENT. */
gossip_refused_kind_t gossip_refused_kind (event_reject_t reason, uint64_t lamport);

/*  Fill limits with the GOSSIP_REFUSED_* constants. */
void gossip_refused_limits_defaults (gossip_refused_limits_t *limits);

/*  New, empty. key (16 bytes, copied) keys the SipHash of the table, so a
    peer cannot aim hashes at one bucket: pass random bytes. limits NULL =
    the defaults. NULL on bad limits or out of memory. */
gossip_refused_t *gossip_refused_new (const gossip_refused_limits_t *limits, const uint8_t key [16]);

/*  Free; safe on NULL; nulls *self_p. */
void gossip_refused_destroy (gossip_refused_t **self_p);

/*  The event with `hash` (32 bytes) was refused at now, as `kind`, while
    the caller's membership context was `context`. A hash remembered
    already is refused again: its backoff doubles, and a PERMANENT verdict
    stays. 0, or HEARTH_ENOMEM (not remembered); HEARTH_EINVAL for kind
    NONE. */
int gossip_refused_add (gossip_refused_t *self, const uint8_t hash [32], gossip_refused_kind_t kind,
                        uint64_t context, uint64_t now);

/*  1 if the event with `hash` should not be fetched now (remembered, and
    PERMANENT, or its backoff has not passed, or CONTEXT and `context` is
    unchanged), else 0. */
int gossip_refused_skip (const gossip_refused_t *self, const uint8_t hash [32], uint64_t context,
                         uint64_t now);

/*  The kind remembered for hash, or GOSSIP_REFUSED_NONE. */
gossip_refused_kind_t gossip_refused_lookup (const gossip_refused_t *self, const uint8_t hash [32]);

/*  The event with hash was stored after all: forget it. */
void gossip_refused_forget (gossip_refused_t *self, const uint8_t hash [32]);

/*  Hashes remembered. */
size_t gossip_refused_count (const gossip_refused_t *self);

/*  Counters; borrowed, live. */
const gossip_refused_stats_t *gossip_refused_stats (const gossip_refused_t *self);

#ifdef __cplusplus
}
#endif
#endif
