/*  gossip_admit.c — rate buckets, tickets and counters of remote queries;
    see gossip_admit.h.

    Tokens are kept in thousandths ("milli-tokens") so refill is exact
    integer arithmetic: a bucket refilling at R tokens/s gains R milli-tokens
    per millisecond, and one call costs 1000.

    Invariants: caps [0] is GOSSIP_ADMIT_OTHER; a peer's buckets are indexed
    like caps; every used ticket counts once in its capability's in_flight.
*/
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include "hearth_error.h"
#include "gossip_admit.h"

/*  One call's cost in milli-tokens. */
#define S_COST          1000
/*  Tickets: every capability at its largest max_concurrent. */
#define S_MAX_TICKETS   (GOSSIP_ADMIT_MAX_CAPS * GOSSIP_ADMIT_MAX_CONCURRENT)

typedef struct {
    uint64_t tokens;            /* milli-tokens */
    uint64_t last_ms;           /* last refill */
} s_bucket_t;

typedef struct {
    uint8_t    key [32];
    s_bucket_t soft_total, hard_total;
    s_bucket_t soft [GOSSIP_ADMIT_MAX_CAPS];
    s_bucket_t hard [GOSSIP_ADMIT_MAX_CAPS];
    uint64_t   seen_ms;         /* for LRU eviction */
    int        used;
} s_peer_t;

typedef struct {
    uint8_t  peer [32];
    size_t   cap;               /* index into caps */
    uint64_t arrived_ms;
    uint64_t budget_ms;
    int      started;
    int      used;
} s_ticket_t;

struct _gossip_admit_t {
    gossip_admit_limits_t limits;
    gossip_admit_cap_t caps [GOSSIP_ADMIT_MAX_CAPS];
    size_t             n_caps;
    s_peer_t          *peers;               /* owned array of max_peers */
    size_t             max_peers, n_peers;
    s_ticket_t         tickets [S_MAX_TICKETS];
};

/* ---- buckets --------------------------------------------------------------------- */

static void
s_bucket_fill (s_bucket_t *b, uint64_t burst, uint64_t now_ms)
{
    b->tokens = burst * S_COST;
    b->last_ms = now_ms;
}

/*  Add what `rps` earns since the last refill, capped at `burst` tokens.
    Time going backwards earns nothing. */
static void
s_bucket_refill (s_bucket_t *b, uint64_t rps, uint64_t burst, uint64_t now_ms)
{
    uint64_t cap = burst * S_COST;
    if (now_ms > b->last_ms) {
        uint64_t elapsed = now_ms - b->last_ms;
        /*  Clamp before multiplying so a long idle time cannot overflow:
            elapsed * rps stays below cap + rps. */
        uint64_t gain = elapsed >= cap / rps + 1? cap: elapsed * rps;
        b->tokens = b->tokens + gain >= cap? cap: b->tokens + gain;
        b->last_ms = now_ms;
    }
}

/*  Milliseconds until the bucket holds one token again (0 if it does). */
static uint64_t
s_bucket_wait (const s_bucket_t *b, uint64_t rps)
{
    if (b->tokens >= S_COST)
        return 0;
    return (S_COST - b->tokens + rps - 1) / rps;
}

/* ---- tables ---------------------------------------------------------------------- */

static void
s_cap_set (gossip_admit_cap_t *c, const char *name, uint32_t max_concurrent, uint32_t timeout_ms)
{
    size_t len = strlen (name);
    memcpy (c->name, name, len);
    c->name [len] = 0;
    c->max_concurrent = max_concurrent;
    c->timeout_ms = timeout_ms;
}

static size_t
s_cap_index (const gossip_admit_t *self, const char *capability)
{
    for (size_t i = 1; i < self->n_caps; i++)
        if (strcmp (self->caps [i].name, capability) == 0)
            return i;
    return 0;                   /* GOSSIP_ADMIT_OTHER */
}

static void
s_peer_fill (const gossip_admit_limits_t *lim, s_peer_t *p, uint64_t now_ms)
{
    s_bucket_fill (&p->soft_total, lim->soft_total_burst, now_ms);
    s_bucket_fill (&p->hard_total, lim->hard_total_burst, now_ms);
    for (size_t i = 0; i < GOSSIP_ADMIT_MAX_CAPS; i++) {
        s_bucket_fill (&p->soft [i], lim->soft_cap_burst, now_ms);
        s_bucket_fill (&p->hard [i], lim->hard_cap_burst, now_ms);
    }
}

/*  The peer's buckets, made (full) if new, evicting the least recently
    seen peer when the table is full. */
static s_peer_t *
s_peer_lookup (gossip_admit_t *self, const uint8_t key [32], uint64_t now_ms)
{
    s_peer_t *free_slot = NULL, *oldest = NULL;
    for (size_t i = 0; i < self->max_peers; i++) {
        s_peer_t *p = &self->peers [i];
        if (!p->used) {
            if (!free_slot)
                free_slot = p;
            continue;
        }
        if (memcmp (p->key, key, 32) == 0)
            return p;
        if (!oldest || p->seen_ms < oldest->seen_ms)
            oldest = p;
    }
    s_peer_t *p = free_slot? free_slot: oldest;
    if (free_slot)
        self->n_peers++;
    memset (p, 0, sizeof *p);
    p->used = 1;
    memcpy (p->key, key, 32);
    s_peer_fill (&self->limits, p, now_ms);
    return p;
}

/* ---- public ---------------------------------------------------------------------- */

void
gossip_admit_limits_defaults (gossip_admit_limits_t *limits)
{
    limits->soft_cap_rps = GOSSIP_ADMIT_SOFT_CAP_RPS;
    limits->soft_cap_burst = GOSSIP_ADMIT_SOFT_CAP_BURST;
    limits->soft_total_rps = GOSSIP_ADMIT_SOFT_TOTAL_RPS;
    limits->soft_total_burst = GOSSIP_ADMIT_SOFT_TOTAL_BURST;
    limits->hard_cap_rps = GOSSIP_ADMIT_HARD_CAP_RPS;
    limits->hard_cap_burst = GOSSIP_ADMIT_HARD_CAP_BURST;
    limits->hard_total_rps = GOSSIP_ADMIT_HARD_TOTAL_RPS;
    limits->hard_total_burst = GOSSIP_ADMIT_HARD_TOTAL_BURST;
    limits->peer_pending = GOSSIP_ADMIT_PEER_PENDING;
    limits->capacity_retry_ms = GOSSIP_ADMIT_CAPACITY_RETRY_MS;
    limits->max_peers = GOSSIP_ADMIT_MAX_PEERS;
}

gossip_admit_t *
gossip_admit_new (const gossip_admit_limits_t *limits)
{
    gossip_admit_limits_t lim;
    if (limits)
        lim = *limits;
    else
        gossip_admit_limits_defaults (&lim);
    if (!lim.soft_cap_rps || !lim.soft_cap_burst || !lim.soft_total_rps || !lim.soft_total_burst
    ||  !lim.hard_cap_rps || !lim.hard_cap_burst || !lim.hard_total_rps || !lim.hard_total_burst
    ||  !lim.peer_pending || !lim.max_peers)
        return NULL;
    gossip_admit_t *self = (gossip_admit_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->limits = lim;
    self->max_peers = lim.max_peers;
    self->peers = (s_peer_t *) calloc (self->max_peers, sizeof (s_peer_t));
    if (!self->peers) {
        free (self);
        return NULL;
    }
    s_cap_set (&self->caps [0], GOSSIP_ADMIT_OTHER, GOSSIP_ADMIT_OTHER_MAX_CONCURRENT,
               GOSSIP_ADMIT_OTHER_TIMEOUT_MS);
    self->n_caps = 1;
    return self;
}

void
gossip_admit_destroy (gossip_admit_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->peers);
    free (*self_p);
    *self_p = NULL;
}

int
gossip_admit_serve (gossip_admit_t *self, const char *capability, uint32_t max_concurrent,
                    uint32_t timeout_ms)
{
    if (!self || !capability || !*capability || strlen (capability) > GOSSIP_ADMIT_NAME_BYTES
    ||  strcmp (capability, GOSSIP_ADMIT_OTHER) == 0
    ||  max_concurrent < 1 || max_concurrent > GOSSIP_ADMIT_MAX_CONCURRENT || timeout_ms < 1)
        return HEARTH_EINVAL;
    size_t i = s_cap_index (self, capability);
    if (i == 0) {
        if (self->n_caps >= GOSSIP_ADMIT_MAX_CAPS)
            return HEARTH_ECAPACITY;
        i = self->n_caps++;
    }
    s_cap_set (&self->caps [i], capability, max_concurrent, timeout_ms);
    return HEARTH_OK;
}

size_t
gossip_admit_pending (const gossip_admit_t *self, const uint8_t peer [32])
{
    size_t n = 0;
    for (size_t i = 0; i < S_MAX_TICKETS; i++)
        n += self->tickets [i].used && memcmp (self->tickets [i].peer, peer, 32) == 0;
    return n;
}

gossip_admit_verdict_t
gossip_admit_arrive (gossip_admit_t *self, const uint8_t peer [32], const char *capability,
                     uint64_t budget_ms, uint64_t now_ms, gossip_admit_result_t *out)
{
    assert (self && peer && capability && out);
    memset (out, 0, sizeof *out);
    out->ticket = -1;
    size_t ci = s_cap_index (self, capability);
    gossip_admit_cap_t *cap = &self->caps [ci];
    cap->received++;
    s_peer_t *p = s_peer_lookup (self, peer, now_ms);
    p->seen_ms = now_ms;
    const gossip_admit_limits_t *lim = &self->limits;
    s_bucket_refill (&p->hard_total, lim->hard_total_rps, lim->hard_total_burst, now_ms);
    s_bucket_refill (&p->hard [ci], lim->hard_cap_rps, lim->hard_cap_burst, now_ms);
    s_bucket_refill (&p->soft_total, lim->soft_total_rps, lim->soft_total_burst, now_ms);
    s_bucket_refill (&p->soft [ci], lim->soft_cap_rps, lim->soft_cap_burst, now_ms);

    /*  Hard limits: past them nothing is taken and nothing is answered. */
    if (p->hard_total.tokens < S_COST) {
        out->reason = GOSSIP_ADMIT_REASON_HARD_TOTAL;
        cap->dropped_total++;
        return GOSSIP_ADMIT_DROP;
    }
    if (p->hard [ci].tokens < S_COST) {
        out->reason = GOSSIP_ADMIT_REASON_HARD_CAPABILITY;
        cap->dropped_capability++;
        return GOSSIP_ADMIT_DROP;
    }
    p->hard_total.tokens -= S_COST;
    p->hard [ci].tokens -= S_COST;

    /*  Soft limits: refused with a hint; no soft token taken. */
    uint64_t wait_total = s_bucket_wait (&p->soft_total, lim->soft_total_rps);
    uint64_t wait_cap = s_bucket_wait (&p->soft [ci], lim->soft_cap_rps);
    if (wait_total || wait_cap) {
        out->reason = wait_cap >= wait_total? GOSSIP_ADMIT_REASON_SOFT_CAPABILITY
                                            : GOSSIP_ADMIT_REASON_SOFT_TOTAL;
        out->retry_after_ms = wait_cap > wait_total? wait_cap: wait_total;
        cap->rate_limited++;
        return GOSSIP_ADMIT_RATE_LIMITED;
    }
    p->soft_total.tokens -= S_COST;
    p->soft [ci].tokens -= S_COST;

    /*  Capacity: in_flight >= max_concurrent (docs/sync.md §7.5). */
    if (cap->in_flight >= cap->max_concurrent) {
        out->reason = GOSSIP_ADMIT_REASON_MAX_CONCURRENT;
        out->retry_after_ms = lim->capacity_retry_ms;
        cap->capacity_concurrent++;
        return GOSSIP_ADMIT_CAPACITY;
    }
    if (gossip_admit_pending (self, peer) >= lim->peer_pending) {
        out->reason = GOSSIP_ADMIT_REASON_PEER_PENDING;
        out->retry_after_ms = lim->capacity_retry_ms;
        cap->capacity_peer++;
        return GOSSIP_ADMIT_CAPACITY;
    }
    /*  A free ticket exists: in_flight of every capability is below its
        max_concurrent <= GOSSIP_ADMIT_MAX_CONCURRENT, which sizes the table. */
    size_t t = 0;
    while (t < S_MAX_TICKETS && self->tickets [t].used)
        t++;
    assert (t < S_MAX_TICKETS);
    s_ticket_t *ticket = &self->tickets [t];
    memcpy (ticket->peer, peer, 32);
    ticket->cap = ci;
    ticket->arrived_ms = now_ms;
    ticket->budget_ms = budget_ms == 0 || budget_ms > cap->timeout_ms? cap->timeout_ms: budget_ms;
    ticket->started = 0;
    ticket->used = 1;
    cap->in_flight++;
    if (cap->in_flight > cap->in_flight_peak)
        cap->in_flight_peak = cap->in_flight;
    out->ticket = (int) t;
    out->budget_ms = ticket->budget_ms;
    return GOSSIP_ADMIT_RUN;
}

int
gossip_admit_start (gossip_admit_t *self, int ticket, uint64_t now_ms, uint64_t *waited_ms)
{
    assert (self && ticket >= 0 && ticket < S_MAX_TICKETS && self->tickets [ticket].used);
    s_ticket_t *t = &self->tickets [ticket];
    uint64_t waited = now_ms > t->arrived_ms? now_ms - t->arrived_ms: 0;
    if (waited_ms)
        *waited_ms = waited;
    if (waited >= t->budget_ms) {
        self->caps [t->cap].timeouts++;
        return HEARTH_ETIMEOUT;
    }
    t->started = 1;
    return HEARTH_OK;
}

void
gossip_admit_done (gossip_admit_t *self, int ticket, int result)
{
    assert (self && ticket >= 0 && ticket < S_MAX_TICKETS && self->tickets [ticket].used);
    s_ticket_t *t = &self->tickets [ticket];
    gossip_admit_cap_t *cap = &self->caps [t->cap];
    if (t->started && result == HEARTH_OK)
        cap->ok++;
    else
    if (!(result == HEARTH_ETIMEOUT && !t->started))
        cap->errors++;                      /* a timeout before start was counted by start */
    assert (cap->in_flight > 0);
    cap->in_flight--;
    memset (t, 0, sizeof *t);
}

size_t
gossip_admit_caps (const gossip_admit_t *self, const gossip_admit_cap_t **caps)
{
    *caps = self->caps;
    return self->n_caps;
}

size_t
gossip_admit_peers (const gossip_admit_t *self)
{
    return self? self->n_peers: 0;
}

const char *
gossip_admit_reason_name (gossip_admit_reason_t reason)
{
    switch (reason) {
        case GOSSIP_ADMIT_REASON_SOFT_CAPABILITY: return "soft_capability";
        case GOSSIP_ADMIT_REASON_SOFT_TOTAL:      return "soft_total";
        case GOSSIP_ADMIT_REASON_HARD_CAPABILITY: return "hard_capability";
        case GOSSIP_ADMIT_REASON_HARD_TOTAL:      return "hard_total";
        case GOSSIP_ADMIT_REASON_MAX_CONCURRENT:  return "max_concurrent";
        case GOSSIP_ADMIT_REASON_PEER_PENDING:    return "peer_pending";
        default:                                  return "none";
    }
}
