/*  gossip_budget.c — per-peer credit, owed events and session buckets of
    responder work; see gossip_budget.h.

    Credit is kept in thousandths of a byte ("milli-bytes") and tokens in
    thousandths of a token, so refill is exact integer arithmetic: a base
    rate of B bytes/s adds B milli-bytes per millisecond.
*/
#include <stdlib.h>
#include <string.h>
#include "gossip_budget.h"

#define S_MILLI         1000
/*  One frame's bytes at most count toward earning (a frame is at most
    GOSSIP_MAX_FRAME_BYTES): keeps bytes * ratio * 1000 far from overflow. */
#define S_EARN_MAX      (64ULL * 1024 * 1024)
/*  Deepest debt kept, milli-bytes (a caller that charges without asking
    cannot wrap the credit). */
#define S_DEBT_MAX      (4 * S_EARN_MAX * S_MILLI)

typedef struct {
    uint64_t tokens;            /* milli-tokens */
    uint64_t last_ms;
} s_bucket_t;

typedef struct {
    uint8_t    key [32];
    int64_t    credit;          /* milli-bytes; < 0 is debt */
    uint64_t   credit_ms;       /* last refill */
    int64_t    pace;            /* milli-bytes; < 0: over the pace */
    uint64_t   pace_ms;
    uint64_t   owed;            /* events */
    uint64_t   grant_used;      /* owed events made by replies, decaying by the cap per period */
    uint64_t   grant_ms;        /* last decay */
    s_bucket_t open, round;
    uint64_t   seen_ms;         /* LRU */
    int        used;
} s_peer_t;

struct _gossip_budget_t {
    gossip_budget_limits_t limits;
    s_peer_t             *peers;        /* owned array of max_peers */
    size_t                last;         /* index of the last peer looked up */
    uint64_t              items;        /* the node's items (gossip_budget_set_items) */
    gossip_budget_stats_t stats;
};

/* ---- buckets ----------------------------------------------------------------------- */

static void
s_bucket_refill (s_bucket_t *b, uint64_t rate, uint64_t burst, uint64_t now_ms)
{
    uint64_t cap = burst * S_MILLI;
    if (now_ms > b->last_ms) {
        uint64_t elapsed = now_ms - b->last_ms;
        uint64_t gain = elapsed >= cap / rate + 1? cap: elapsed * rate;
        b->tokens = b->tokens + gain >= cap? cap: b->tokens + gain;
        b->last_ms = now_ms;
    }
}

static void
s_credit_refill (const gossip_budget_limits_t *lim, s_peer_t *p, uint64_t now_ms)
{
    int64_t cap = (int64_t) lim->burst_bytes * S_MILLI;
    if (p->credit >= cap) {                 /* banked earnings: the base rate adds nothing */
        p->credit_ms = now_ms > p->credit_ms? now_ms: p->credit_ms;
        return;
    }
    if (now_ms > p->credit_ms) {
        uint64_t elapsed = now_ms - p->credit_ms;
        /*  Clamp the time before multiplying: from the deepest debt
            (S_DEBT_MAX) to the cap takes no longer than this. */
        uint64_t span = ((uint64_t) cap + S_DEBT_MAX) / lim->base_bps + 1;
        if (elapsed > span)
            elapsed = span;
        int64_t credit = p->credit + (int64_t) (elapsed * lim->base_bps);
        p->credit = credit > cap? cap: credit;
        p->credit_ms = now_ms;
    }
}

/*  The grant's capacity: 2 x items + grant_min. */
static uint64_t
s_grant_cap (const gossip_budget_t *self)
{
    uint64_t items = self->items > UINT64_MAX / 4? UINT64_MAX / 4: self->items;
    return 2 * items + self->limits.grant_min;
}

/*  What is left of the peer's grant at now_ms: the cap (from the node's
    items now) minus what replies used, which decays by the cap once per
    grant period. */
static uint64_t
s_grant_left (const gossip_budget_t *self, s_peer_t *p, uint64_t now_ms)
{
    uint64_t cap = s_grant_cap (self);
    uint64_t period_ms = (uint64_t) self->limits.grant_period_s * 1000;
    if (now_ms > p->grant_ms) {
        uint64_t elapsed = now_ms - p->grant_ms;
        uint64_t decay = elapsed >= period_ms? UINT64_MAX
                       : (uint64_t) ((double) cap * (double) elapsed / (double) period_ms);
        if (decay > 0) {                    /* else keep grant_ms: the fraction accrues */
            p->grant_used = decay >= p->grant_used? 0: p->grant_used - decay;
            p->grant_ms = now_ms;
        }
    }
    return cap > p->grant_used? cap - p->grant_used: 0;
}

/*  Refill the pace bucket: pace_bps up to pace_burst. */
static void
s_pace_refill (const gossip_budget_limits_t *lim, s_peer_t *p, uint64_t now_ms)
{
    int64_t cap = (int64_t) lim->pace_burst * S_MILLI;
    if (now_ms > p->pace_ms) {
        uint64_t elapsed = now_ms - p->pace_ms;
        uint64_t span = ((uint64_t) cap + S_DEBT_MAX) / lim->pace_bps + 1;
        if (elapsed > span)
            elapsed = span;
        int64_t pace = p->pace + (int64_t) (elapsed * lim->pace_bps);
        p->pace = pace > cap? cap: pace;
        p->pace_ms = now_ms;
    }
}

/* ---- peers ------------------------------------------------------------------------- */

/*  Spend `bytes` (at most S_EARN_MAX) of credit and pace. */
static void
s_charge (s_peer_t *p, uint64_t bytes)
{
    p->credit -= (int64_t) (bytes * S_MILLI);
    if (p->credit < -(int64_t) S_DEBT_MAX)
        p->credit = -(int64_t) S_DEBT_MAX;
    p->pace -= (int64_t) (bytes * S_MILLI);
    if (p->pace < -(int64_t) S_DEBT_MAX)
        p->pace = -(int64_t) S_DEBT_MAX;
}

/*  May credit pay now: credit and pace both >= 0. */
static int
s_solvent (const s_peer_t *p)
{
    return p->credit >= 0 && p->pace >= 0;
}

static s_peer_t *
s_peer (gossip_budget_t *self, const uint8_t key [32], uint64_t now_ms)
{
    const gossip_budget_limits_t *lim = &self->limits;
    s_peer_t *p = &self->peers [self->last];
    if (!(p->used && memcmp (p->key, key, 32) == 0)) {
        s_peer_t *free_slot = NULL, *oldest = NULL;
        p = NULL;
        for (size_t i = 0; i < lim->max_peers && !p; i++) {
            s_peer_t *q = &self->peers [i];
            if (!q->used) {
                if (!free_slot)
                    free_slot = q;
            }
            else
            if (memcmp (q->key, key, 32) == 0)
                p = q;
            else
            if (!oldest || q->seen_ms < oldest->seen_ms)
                oldest = q;
        }
        if (!p) {
            p = free_slot? free_slot: oldest;
            memset (p, 0, sizeof *p);
            p->used = 1;
            memcpy (p->key, key, 32);
            p->credit = (int64_t) lim->burst_bytes * S_MILLI;
            p->credit_ms = now_ms;
            p->pace = (int64_t) lim->pace_burst * S_MILLI;
            p->pace_ms = now_ms;
            p->open.tokens = (uint64_t) lim->open_burst * S_MILLI;
            p->open.last_ms = now_ms;
            p->round.tokens = (uint64_t) lim->round_burst * S_MILLI;
            p->round.last_ms = now_ms;
            p->grant_ms = now_ms;
        }
        self->last = (size_t) (p - self->peers);
    }
    if (now_ms > p->seen_ms)
        p->seen_ms = now_ms;
    s_credit_refill (lim, p, now_ms);
    s_pace_refill (lim, p, now_ms);
    return p;
}

static const s_peer_t *
s_peer_find (const gossip_budget_t *self, const uint8_t key [32])
{
    for (size_t i = 0; i < self->limits.max_peers; i++)
        if (self->peers [i].used && memcmp (self->peers [i].key, key, 32) == 0)
            return &self->peers [i];
    return NULL;
}

/*  Milliseconds until credit and pace are >= 0 again (>= 1). */
static uint64_t
s_debt_wait (const gossip_budget_limits_t *lim, const s_peer_t *p)
{
    uint64_t debt = p->credit < 0? (uint64_t) -p->credit: 0;
    uint64_t over = p->pace < 0? (uint64_t) -p->pace: 0;
    uint64_t a = debt / lim->base_bps + 1, b = over / lim->pace_bps + 1;
    return a > b? a: b;
}

/* ---- public ------------------------------------------------------------------------ */

void
gossip_budget_limits_defaults (gossip_budget_limits_t *limits)
{
    limits->earn_ratio = GOSSIP_BUDGET_EARN_RATIO;
    limits->base_bps = GOSSIP_BUDGET_BASE_BPS;
    limits->burst_bytes = GOSSIP_BUDGET_BURST_BYTES;
    limits->bank_bytes = GOSSIP_BUDGET_BANK_BYTES;
    limits->pace_bps = GOSSIP_BUDGET_PACE_BPS;
    limits->pace_burst = GOSSIP_BUDGET_PACE_BURST;
    limits->open_rate = GOSSIP_BUDGET_OPEN_RATE;
    limits->open_burst = GOSSIP_BUDGET_OPEN_BURST;
    limits->round_rate = GOSSIP_BUDGET_ROUND_RATE;
    limits->round_burst = GOSSIP_BUDGET_ROUND_BURST;
    limits->owed_max = GOSSIP_BUDGET_OWED_MAX;
    limits->grant_min = GOSSIP_BUDGET_GRANT_MIN;
    limits->grant_period_s = GOSSIP_BUDGET_GRANT_PERIOD_S;
    limits->max_peers = GOSSIP_BUDGET_MAX_PEERS;
}

gossip_budget_t *
gossip_budget_new (const gossip_budget_limits_t *limits)
{
    gossip_budget_limits_t lim;
    if (limits)
        lim = *limits;
    else
        gossip_budget_limits_defaults (&lim);
    if (!lim.base_bps || !lim.burst_bytes || !lim.open_rate || !lim.open_burst
    ||  !lim.round_rate || !lim.round_burst || !lim.max_peers || !lim.grant_period_s
    ||  lim.burst_bytes > S_EARN_MAX || lim.bank_bytes < lim.burst_bytes || lim.bank_bytes > S_EARN_MAX
    ||  lim.earn_ratio > 1024 || !lim.pace_bps || !lim.pace_burst || lim.pace_burst > S_EARN_MAX)
        return NULL;
    gossip_budget_t *self = (gossip_budget_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->limits = lim;
    self->peers = (s_peer_t *) calloc (lim.max_peers, sizeof (s_peer_t));
    if (!self->peers) {
        free (self);
        return NULL;
    }
    return self;
}

void
gossip_budget_destroy (gossip_budget_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->peers);
    free (*self_p);
    *self_p = NULL;
}

void
gossip_budget_earn (gossip_budget_t *self, const uint8_t peer [32], uint64_t bytes, uint64_t now_ms)
{
    s_peer_t *p = s_peer (self, peer, now_ms);
    self->stats.bytes_in += bytes;
    if (bytes > S_EARN_MAX)
        bytes = S_EARN_MAX;
    int64_t cap = (int64_t) self->limits.bank_bytes * S_MILLI;
    int64_t credit = p->credit + (int64_t) (bytes * self->limits.earn_ratio * S_MILLI);
    p->credit = credit > cap? cap: credit;
}

void
gossip_budget_set_items (gossip_budget_t *self, uint64_t items)
{
    self->items = items;
}

void
gossip_budget_owe (gossip_budget_t *self, const uint8_t peer [32], uint64_t events, uint64_t now_ms)
{
    s_peer_t *p = s_peer (self, peer, now_ms);
    uint64_t max = self->limits.owed_max;
    uint64_t add = events > max - p->owed? max - p->owed: events;
    p->owed += add;
    self->stats.events_owed += add;
}

gossip_budget_verdict_t
gossip_budget_ask (gossip_budget_t *self, const uint8_t peer [32], gossip_budget_kind_t kind,
                   uint64_t now_ms, uint64_t *wait_ms)
{
    const gossip_budget_limits_t *lim = &self->limits;
    s_peer_t *p = s_peer (self, peer, now_ms);
    uint64_t wait = 0;
    gossip_budget_reason_t reason = GOSSIP_BUDGET_REASON_DEBT;
    if (kind == GOSSIP_BUDGET_FETCH) {
        if (p->owed == 0 && !s_solvent (p))
            wait = s_debt_wait (lim, p);
    }
    else
    if (!s_solvent (p))
        wait = s_debt_wait (lim, p);
    else {
        s_bucket_t *b = kind == GOSSIP_BUDGET_OPEN? &p->open: &p->round;
        uint64_t rate = kind == GOSSIP_BUDGET_OPEN? lim->open_rate: lim->round_rate;
        s_bucket_refill (b, rate, kind == GOSSIP_BUDGET_OPEN? lim->open_burst: lim->round_burst, now_ms);
        if (b->tokens >= S_MILLI)
            b->tokens -= S_MILLI;
        else {
            reason = kind == GOSSIP_BUDGET_OPEN? GOSSIP_BUDGET_REASON_OPEN_RATE: GOSSIP_BUDGET_REASON_ROUND_RATE;
            wait = (S_MILLI - b->tokens + rate - 1) / rate;
        }
    }
    if (wait_ms)
        *wait_ms = wait;
    if (wait == 0)
        return GOSSIP_BUDGET_GO;
    self->stats.deferred [reason]++;
    return GOSSIP_BUDGET_DEFER;
}

void
gossip_budget_reply (gossip_budget_t *self, const uint8_t peer [32], uint64_t bytes, uint64_t now_ms)
{
    s_peer_t *p = s_peer (self, peer, now_ms);
    if (bytes > S_EARN_MAX)
        bytes = S_EARN_MAX;
    s_charge (p, bytes);
    self->stats.bytes_charged += bytes;
    uint64_t ids = bytes / GOSSIP_BUDGET_ID_BYTES, max = self->limits.owed_max;
    uint64_t left = s_grant_left (self, p, now_ms);
    uint64_t granted = ids > left? left: ids;
    p->grant_used += granted;
    self->stats.events_ungranted += ids - granted;
    uint64_t add = granted > max - p->owed? max - p->owed: granted;
    p->owed += add;
    self->stats.events_owed += add;
}

int
gossip_budget_event_ok (gossip_budget_t *self, const uint8_t peer [32], uint64_t now_ms)
{
    s_peer_t *p = s_peer (self, peer, now_ms);
    return p->owed > 0 || s_solvent (p);
}

int
gossip_budget_event (gossip_budget_t *self, const uint8_t peer [32], uint64_t bytes, uint64_t now_ms)
{
    s_peer_t *p = s_peer (self, peer, now_ms);
    if (p->owed > 0) {
        p->owed--;
        self->stats.bytes_owed += bytes;
        return 1;
    }
    if (bytes > S_EARN_MAX)
        bytes = S_EARN_MAX;
    s_charge (p, bytes);
    self->stats.bytes_charged += bytes;
    return 0;
}

void
gossip_budget_refused (gossip_budget_t *self, gossip_budget_reason_t reason)
{
    if (reason < GOSSIP_BUDGET_REASON_COUNT)
        self->stats.refused [reason]++;
}

int64_t
gossip_budget_credit (gossip_budget_t *self, const uint8_t peer [32], uint64_t now_ms)
{
    if (!s_peer_find (self, peer))
        return 0;
    return s_peer (self, peer, now_ms)->credit / S_MILLI;
}

uint64_t
gossip_budget_owed (const gossip_budget_t *self, const uint8_t peer [32])
{
    const s_peer_t *p = s_peer_find (self, peer);
    return p? p->owed: 0;
}

const gossip_budget_stats_t *
gossip_budget_stats (const gossip_budget_t *self)
{
    return &self->stats;
}

const char *
gossip_budget_reason_name (gossip_budget_reason_t reason)
{
    switch (reason) {
        case GOSSIP_BUDGET_REASON_DEBT:       return "debt";
        case GOSSIP_BUDGET_REASON_OPEN_RATE:  return "open_rate";
        case GOSSIP_BUDGET_REASON_ROUND_RATE: return "round_rate";
        case GOSSIP_BUDGET_REASON_SUPERSEDED: return "superseded";
        case GOSSIP_BUDGET_REASON_HELD_FULL:  return "held_full";
        default:                              return "unknown";
    }
}
