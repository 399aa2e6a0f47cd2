/*  gossip_admit.h — admission of remote capability calls ("queries") on the
    peer socket: per-peer rate limits, soft and hard, the caller's deadline
    budget, each capability's max_concurrent and a per-peer cap on pending
    calls. The rules: docs/sync.md §7.5; the limits and their reasons:
    docs/limits.md, "Mesh: calls from peers".

    Pure: no I/O, no clock; the caller passes monotonic times in ms, so every
    decision is tested deterministically (test_gossip_admit.c).

    Life of a query (gossip.c is the caller):
      arrive  when the node reads it off the socket. Verdicts, in this order:
              DROP          over a hard rate (per (peer, capability) or per
                            peer in total): no answer at all; the caller's own
                            timeout answers it. Counted per reason.
              RATE_LIMITED  over a soft rate: answer rate_limited with
                            retry_after_ms.
              CAPACITY      the capability already has max_concurrent calls
                            in flight, or this peer has GOSSIP_ADMIT_PEER_PENDING:
                            answer capacity_exceeded with retry_after_ms.
              RUN           a ticket: the call is in flight (read, not yet
                            answered) until done.
      start   when the node gets to it: 0 (run the handler) or HEARTH_ETIMEOUT
              (it waited its whole budget: answer timeout without running it).
      done    after answering, whatever the outcome: frees the ticket.
    "In flight" therefore means read from the socket and not yet answered.
    Handlers run one at a time on the node's loop (docs/decisions/0015-peer-calls-run-one-at-a-time.md),
    so in flight = one running plus the ones queued behind it, and
    max_concurrent bounds that queue per capability.

    Budgets are relative (timeout_ms), since clocks differ between machines:
    a call may wait min(its budget, the capability's timeout) from the time it
    was read. Time on the wire and in the socket's receive queue before the
    read is not seen, so a call is never timed out early, but may be run just
    after its caller gave up.

    Capabilities are registered with their limits; any other name is counted
    under GOSSIP_ADMIT_OTHER (one set of buckets and slots for all of them),
    so a peer cannot get fresh buckets by inventing names.
*/
#ifndef HEARTH_GOSSIP_ADMIT_H
#define HEARTH_GOSSIP_ADMIT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*  Soft limit per (peer, capability): 10 calls/s. The bucket holds 10
    tokens, so one second's worth may come as a burst. */
#define GOSSIP_ADMIT_SOFT_CAP_RPS       10
#define GOSSIP_ADMIT_SOFT_CAP_BURST     10
/*  Soft limit per peer over all capabilities: 100 calls/s; burst one
    second's worth. */
#define GOSSIP_ADMIT_SOFT_TOTAL_RPS     100
#define GOSSIP_ADMIT_SOFT_TOTAL_BURST   100
/*  Hard limit per (peer, capability): 100 calls/s: over it a call
    is dropped silently (counted). Every call that reaches the limiter takes a hard token,
    refused or not, so a peer that ignores retry_after_ms ends up dropped. */
#define GOSSIP_ADMIT_HARD_CAP_RPS       100
#define GOSSIP_ADMIT_HARD_CAP_BURST     100
/*  Hard limit per peer over all capabilities: 1000 calls/s. */
#define GOSSIP_ADMIT_HARD_TOTAL_RPS     1000
#define GOSSIP_ADMIT_HARD_TOTAL_BURST   1000
/*  Peers whose buckets are kept: a community mesh has tens of nodes, so 256
    keeps every live peer with room to spare while bounding memory (~350 B
    per peer). When full, the least recently seen peer is evicted and starts
    again with full buckets. */
#define GOSSIP_ADMIT_MAX_PEERS          256
/*  Capabilities with their own limits, GOSSIP_ADMIT_OTHER included: peers
    may call two today (market.list, market.search). */
#define GOSSIP_ADMIT_MAX_CAPS           8
/*  Capability name bytes (as GOSSIP_WIRE_MAX_CAPABILITY). */
#define GOSSIP_ADMIT_NAME_BYTES         64
/*  Largest max_concurrent accepted at registration (the contract's largest
    is 8); bounds the ticket table at MAX_CAPS * 64 entries. */
#define GOSSIP_ADMIT_MAX_CONCURRENT     64
/*  Calls one peer may have in flight at once, over all capabilities. A
    member's client asks one thing at a time (hearthctl) or two (a list and
    a search); 2 is half of market.search's max_concurrent (4), so one peer
    never holds every slot of a capability, and a burst from one peer leaves
    room for the others. */
#define GOSSIP_ADMIT_PEER_PENDING       2
/*  retry_after_ms of a capacity_exceeded answer: the time one soft token
    takes (1000 / GOSSIP_ADMIT_SOFT_CAP_RPS); a retry sooner would be
    rate_limited anyway, and the loop answers every call in flight well
    within it. */
#define GOSSIP_ADMIT_CAPACITY_RETRY_MS  (1000 / GOSSIP_ADMIT_SOFT_CAP_RPS)
/*  Names that were not registered share this entry: the handler refuses
    them at once, so they get a small share of slots (4) and the default
    timeout of a call, 30 s. */
#define GOSSIP_ADMIT_OTHER              "other"
#define GOSSIP_ADMIT_OTHER_MAX_CONCURRENT 4
#define GOSSIP_ADMIT_OTHER_TIMEOUT_MS   30000

typedef enum {
    GOSSIP_ADMIT_RUN = 0,           /* admitted: a ticket */
    GOSSIP_ADMIT_RATE_LIMITED,      /* answer rate_limited, retry_after_ms */
    GOSSIP_ADMIT_CAPACITY,          /* answer capacity_exceeded, retry_after_ms */
    GOSSIP_ADMIT_DROP               /* no answer */
} gossip_admit_verdict_t;

/*  Which limit refused a call. */
typedef enum {
    GOSSIP_ADMIT_REASON_NONE = 0,
    GOSSIP_ADMIT_REASON_SOFT_CAPABILITY,    /* soft rate per (peer, capability) */
    GOSSIP_ADMIT_REASON_SOFT_TOTAL,         /* soft rate per peer */
    GOSSIP_ADMIT_REASON_HARD_CAPABILITY,    /* hard rate per (peer, capability) */
    GOSSIP_ADMIT_REASON_HARD_TOTAL,         /* hard rate per peer */
    GOSSIP_ADMIT_REASON_MAX_CONCURRENT,     /* the capability's max_concurrent */
    GOSSIP_ADMIT_REASON_PEER_PENDING,       /* GOSSIP_ADMIT_PEER_PENDING */
    GOSSIP_ADMIT_REASON_COUNT
} gossip_admit_reason_t;

typedef struct {
    gossip_admit_reason_t reason;   /* NONE when admitted */
    int      ticket;                /* RUN: for start and done; else -1 */
    uint64_t budget_ms;             /* RUN: how long it may wait to start */
    uint64_t retry_after_ms;        /* RATE_LIMITED, CAPACITY: when to try again */
} gossip_admit_result_t;

/*  One capability's limits and counters (the stats socket renders them). */
typedef struct {
    char     name [GOSSIP_ADMIT_NAME_BYTES + 1];
    uint32_t max_concurrent;
    uint32_t timeout_ms;
    uint64_t in_flight;             /* gauge: admitted, not yet done */
    uint64_t in_flight_peak;        /* highest in_flight since start */
    uint64_t received;              /* calls that reached admission */
    uint64_t ok;                    /* the handler ran and succeeded */
    uint64_t errors;                /* admitted, answered with an error (the handler's, or bad input) */
    uint64_t timeouts;              /* budget spent before it could start; not run */
    uint64_t rate_limited;          /* soft limits: answered rate_limited */
    uint64_t capacity_concurrent;   /* capacity_exceeded: max_concurrent in flight */
    uint64_t capacity_peer;         /* capacity_exceeded: the peer's pending cap */
    uint64_t dropped_capability;    /* hard limit per (peer, capability): not answered */
    uint64_t dropped_total;         /* hard limit per peer: not answered */
} gossip_admit_cap_t;

/*  The limits of one admission state; gossip_admit_limits_defaults() gives
    the constants above, tests give smaller ones. With at
    most GOSSIP_ADMIT_MAX_CAPS capabilities the per-capability rates bind
    before the totals (8 x 10 < 100, 8 x 100 < 1000); the totals are kept for
    a node that serves more capabilities. */
typedef struct {
    uint32_t soft_cap_rps, soft_cap_burst;
    uint32_t soft_total_rps, soft_total_burst;
    uint32_t hard_cap_rps, hard_cap_burst;
    uint32_t hard_total_rps, hard_total_burst;
    uint32_t peer_pending;          /* calls in flight per peer */
    uint32_t capacity_retry_ms;     /* retry_after_ms of capacity_exceeded */
    size_t   max_peers;             /* peers whose buckets are kept */
} gossip_admit_limits_t;

/*  Fill limits with the GOSSIP_ADMIT_* constants. */
void gossip_admit_limits_defaults (gossip_admit_limits_t *limits);

typedef struct _gossip_admit_t gossip_admit_t;

/*  New admission state with `limits` (copied; NULL = the defaults), with
    GOSSIP_ADMIT_OTHER registered. NULL on OOM or when a rate, burst,
    peer_pending or max_peers is 0. */
gossip_admit_t *gossip_admit_new (const gossip_admit_limits_t *limits);
/*  Destroy; safe on NULL; nulls *self_p. */
void gossip_admit_destroy (gossip_admit_t **self_p);

/*  Register (or change the limits of) a capability: max_concurrent
    1..GOSSIP_ADMIT_MAX_CONCURRENT calls in flight, timeout_ms >= 1 (the
    capability's timeout_seconds: no call waits longer to start). 0,
    HEARTH_EINVAL (bad name or limits), HEARTH_ECAPACITY (table full). */
int gossip_admit_serve (gossip_admit_t *self, const char *capability, uint32_t max_concurrent,
                        uint32_t timeout_ms);

/*  A call by `peer` (32 bytes) to `capability` read at now_ms, asking for a
    budget of budget_ms (0 = the capability's timeout; more is cut to it).
    Fills *out (see the verdicts above); counts it. */
gossip_admit_verdict_t gossip_admit_arrive (gossip_admit_t *self, const uint8_t peer [32],
                                            const char *capability, uint64_t budget_ms,
                                            uint64_t now_ms, gossip_admit_result_t *out);

/*  The loop gets to ticket at now_ms: 0 (run it), or HEARTH_ETIMEOUT when it
    has waited its whole budget (counted; answer timeout, do not run it).
    *waited_ms (if not NULL) is the time since it arrived. */
int gossip_admit_start (gossip_admit_t *self, int ticket, uint64_t now_ms, uint64_t *waited_ms);

/*  The call of ticket was answered with result (0 or a negative
    hearth_err_t; after a HEARTH_ETIMEOUT start pass that). Frees the ticket. */
void gossip_admit_done (gossip_admit_t *self, int ticket, int result);

/*  The capability table (GOSSIP_ADMIT_OTHER first); borrowed, valid until
    the next serve or destroy. Returns its length. */
size_t gossip_admit_caps (const gossip_admit_t *self, const gossip_admit_cap_t **caps);

/*  Calls `peer` has in flight. */
size_t gossip_admit_pending (const gossip_admit_t *self, const uint8_t peer [32]);

/*  Peers whose buckets are kept. */
size_t gossip_admit_peers (const gossip_admit_t *self);

/*  Stable name of a reason ("hard_capability", ...), for logs and labels. */
const char *gossip_admit_reason_name (gossip_admit_reason_t reason);

#ifdef __cplusplus
}
#endif
#endif
