/*  node_ratelimit.c — token buckets per (peer, capability) and per peer.

    Tokens are kept in thousandths ("milli-tokens") so refill is exact
    integer arithmetic: a bucket refilling at R tokens/s gains R milli-tokens
    per millisecond, and one call costs 1000.
*/
#include <stdlib.h>
#include <string.h>
#include "hearth_error.h"
#include "node_ratelimit.h"

/*  One call's cost in milli-tokens. */
#define S_COST 1000

typedef struct {
    uint64_t tokens;            /* milli-tokens */
    uint64_t last_ms;           /* last refill */
} s_bucket_t;

typedef struct {
    char       name [NODE_RATELIMIT_CAP_NAME_BYTES + 1];
    s_bucket_t bucket;
    uint64_t   used_ms;         /* for LRU reuse within the peer */
    int        used;
} s_cap_t;

typedef struct {
    uint8_t    key [32];
    s_bucket_t total;
    s_cap_t    caps [NODE_RATELIMIT_MAX_CAPS];
    uint64_t   seen_ms;         /* for LRU eviction of peers */
    int        used;
} s_peer_t;

struct _node_ratelimit_t {
    s_peer_t *peers;
    size_t    max_peers;
    size_t    n_peers;
};

node_ratelimit_t *
node_ratelimit_new (size_t max_peers)
{
    node_ratelimit_t *self = (node_ratelimit_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->max_peers = max_peers? max_peers: NODE_RATELIMIT_MAX_PEERS;
    self->peers = (s_peer_t *) calloc (self->max_peers, sizeof (s_peer_t));
    if (!self->peers) {
        free (self);
        return NULL;
    }
    return self;
}

void
node_ratelimit_destroy (node_ratelimit_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->peers);
    free (*self_p);
    *self_p = NULL;
}

size_t
node_ratelimit_size (const node_ratelimit_t *self)
{
    return self? self->n_peers: 0;
}

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
        /*  Clamp before multiplying so a long idle time cannot overflow. */
        uint64_t gain = elapsed >= cap? cap: elapsed * rps;
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

static s_peer_t *
s_peer_lookup (node_ratelimit_t *self, const uint8_t key [32], uint64_t now_ms)
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
    s_bucket_fill (&p->total, NODE_RATELIMIT_TOTAL_BURST, now_ms);
    return p;
}

static s_cap_t *
s_cap_lookup (s_peer_t *peer, const char *capability, uint64_t now_ms)
{
    s_cap_t *free_slot = NULL, *oldest = NULL;
    size_t len = strnlen (capability, NODE_RATELIMIT_CAP_NAME_BYTES);
    for (size_t i = 0; i < NODE_RATELIMIT_MAX_CAPS; i++) {
        s_cap_t *c = &peer->caps [i];
        if (!c->used) {
            if (!free_slot)
                free_slot = c;
            continue;
        }
        if (strlen (c->name) == len && memcmp (c->name, capability, len) == 0)
            return c;
        if (!oldest || c->used_ms < oldest->used_ms)
            oldest = c;
    }
    s_cap_t *c = free_slot? free_slot: oldest;
    memset (c, 0, sizeof *c);
    c->used = 1;
    memcpy (c->name, capability, len);
    c->name [len] = 0;
    s_bucket_fill (&c->bucket, NODE_RATELIMIT_CAP_BURST, now_ms);
    return c;
}

int
node_ratelimit_check (node_ratelimit_t *self, const uint8_t peer [32],
                      const char *capability, uint64_t now_ms,
                      uint64_t *retry_after_ms)
{
    if (retry_after_ms)
        *retry_after_ms = 0;
    if (!self || !peer || !capability)
        return HEARTH_EINVAL;
    s_peer_t *p = s_peer_lookup (self, peer, now_ms);
    s_cap_t *c = s_cap_lookup (p, capability, now_ms);
    p->seen_ms = now_ms;
    c->used_ms = now_ms;
    s_bucket_refill (&p->total, NODE_RATELIMIT_TOTAL_RPS, NODE_RATELIMIT_TOTAL_BURST, now_ms);
    s_bucket_refill (&c->bucket, NODE_RATELIMIT_CAP_RPS, NODE_RATELIMIT_CAP_BURST, now_ms);
    if (p->total.tokens < S_COST || c->bucket.tokens < S_COST) {
        uint64_t a = s_bucket_wait (&p->total, NODE_RATELIMIT_TOTAL_RPS);
        uint64_t b = s_bucket_wait (&c->bucket, NODE_RATELIMIT_CAP_RPS);
        if (retry_after_ms)
            *retry_after_ms = a > b? a: b;
        return HEARTH_ERATE;
    }
    p->total.tokens -= S_COST;
    c->bucket.tokens -= S_COST;
    return HEARTH_OK;
}
