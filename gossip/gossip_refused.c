/*  gossip_refused.c — refused event hashes, bounded; see gossip_refused.h.

    Entries live in one array used as a ring in insertion order: the array
    grows (doubling) up to `max` entries, after which a new hash takes a
    slot freed by gossip_refused_forget if there is one, else the slot of
    the oldest one (evicting it): eviction only when `max` are remembered.
    A chained hash index (gossip_index: SipHash-2-4 of the event hash,
    keyed by the caller) finds an entry by hash; free slots are chained
    through bucket_next.
*/
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "gossip_index.h"
#include "gossip_refused.h"
#include "hearth_error.h"
#include "lamport.h"

/*  "No entry" in the chains. */
#define S_NIL  UINT32_MAX

typedef struct {
    uint8_t  hash [32];
    uint64_t retry_at;                      /* monotonic ms: LATER / CONTEXT fetched again from then */
    uint64_t context;                       /* CONTEXT: the caller's context at the last refusal */
    uint32_t bucket_next;                   /* next in the bucket's chain */
    uint8_t  refusals;                      /* refusals so far, saturating (sets the backoff) */
    uint8_t  kind;                          /* gossip_refused_kind_t; NONE = free slot */
} s_entry_t;
_Static_assert (offsetof (s_entry_t, hash) == 0, "gossip_index reads the hash at offset 0");

struct _gossip_refused_t {
    gossip_refused_limits_t limits;
    s_entry_t              *entries;        /* owned */
    size_t                  cap, n_touched; /* allocated / ever used */
    size_t                  next;           /* ring: the oldest slot once n_touched == max */
    uint32_t                free_head;      /* slots freed by forget */
    size_t                  count;
    gossip_index_t         *index;          /* owned: hash -> entry */
    gossip_refused_stats_t  stats;
};

gossip_refused_kind_t
gossip_refused_kind (event_reject_t reason, uint64_t lamport)
{
    switch (reason) {
        case EVENT_REJECT_SIZE:
        case EVENT_REJECT_DECODE:
        case EVENT_REJECT_STRUCTURE:
        case EVENT_REJECT_SIGNATURE:
        case EVENT_REJECT_COMMUNITY:
        case EVENT_REJECT_REVOKED:          /* a revocation is never undone */
        case EVENT_REJECT_CONFLICT:         /* the other body stays stored */
            return GOSSIP_REFUSED_PERMANENT;
        case EVENT_REJECT_LAMPORT:
            /*  0 and LAMPORT_MAX and above fail for every head; above
                head + LAMPORT_MAX_JUMP passes once the head has risen. */
            return lamport == 0 || lamport >= LAMPORT_MAX? GOSSIP_REFUSED_PERMANENT: GOSSIP_REFUSED_LATER;
        case EVENT_REJECT_FUTURE:
            return GOSSIP_REFUSED_LATER;
        case EVENT_REJECT_MEMBERSHIP:
        case EVENT_REJECT_TYPE_RULE:
            return GOSSIP_REFUSED_CONTEXT;
        default:                            /* NONE, DUPLICATE */
            return GOSSIP_REFUSED_NONE;
    }
}

void
gossip_refused_limits_defaults (gossip_refused_limits_t *limits)
{
    limits->max = GOSSIP_REFUSED_MAX;
    limits->retry_min_ms = GOSSIP_REFUSED_RETRY_MIN_MS;
    limits->retry_max_ms = GOSSIP_REFUSED_RETRY_MAX_MS;
}

static uint32_t
s_find (const gossip_refused_t *self, const uint8_t hash [32])
{
    return gossip_index_find (self->index, self->entries, hash);
}

/*  Take entry i (in use) out of its chain; its slot is free (not on the
    free list). */
static void
s_unlink (gossip_refused_t *self, uint32_t i)
{
    gossip_index_remove (self->index, self->entries, i);
    self->entries [i].kind = GOSSIP_REFUSED_NONE;
    self->count--;
}

/*  The backoff after `refusals` refusals: min, doubling, at most max. */
static uint64_t
s_backoff (const gossip_refused_t *self, unsigned refusals)
{
    uint64_t ms = self->limits.retry_min_ms;
    for (unsigned k = 1; k < refusals && ms < self->limits.retry_max_ms; k++)
        ms = ms > UINT64_MAX / 2? UINT64_MAX: ms * 2;
    return ms < self->limits.retry_max_ms? ms: self->limits.retry_max_ms;
}

/*  A slot for a new entry: a freed one, a fresh one while the array may
    grow, else the oldest (evicted). S_NIL out of memory. */
static uint32_t
s_slot (gossip_refused_t *self)
{
    if (self->free_head != S_NIL) {
        uint32_t i = self->free_head;
        self->free_head = self->entries [i].bucket_next;
        return i;
    }
    if (self->n_touched < self->limits.max) {
        if (self->n_touched == self->cap) {
            size_t cap = self->cap? self->cap * 2: 256;
            if (cap > self->limits.max)
                cap = self->limits.max;
            s_entry_t *p = (s_entry_t *) realloc (self->entries, cap * sizeof *p);
            if (!p)
                return S_NIL;
            self->entries = p;
            self->cap = cap;
        }
        self->entries [self->n_touched].kind = GOSSIP_REFUSED_NONE;
        return (uint32_t) self->n_touched++;
    }
    uint32_t i = (uint32_t) self->next;     /* in use: no slot is free */
    self->next = (self->next + 1) % self->limits.max;
    s_unlink (self, i);
    self->stats.evicted++;
    return i;
}

gossip_refused_t *
gossip_refused_new (const gossip_refused_limits_t *limits, const uint8_t key [16])
{
    gossip_refused_limits_t l;
    if (limits)
        l = *limits;
    else
        gossip_refused_limits_defaults (&l);
    if (l.max == 0 || l.max >= S_NIL || l.retry_min_ms == 0 || l.retry_max_ms < l.retry_min_ms)
        return NULL;
    gossip_refused_t *self = (gossip_refused_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->limits = l;
    self->free_head = S_NIL;
    self->index = gossip_index_new (l.max, key, sizeof (s_entry_t), offsetof (s_entry_t, bucket_next));
    if (!self->index) {
        free (self);
        return NULL;
    }
    return self;
}

void
gossip_refused_destroy (gossip_refused_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gossip_refused_t *self = *self_p;
    free (self->entries);
    gossip_index_destroy (&self->index);
    free (self);
    *self_p = NULL;
}

int
gossip_refused_add (gossip_refused_t *self, const uint8_t hash [32], gossip_refused_kind_t kind,
                    uint64_t context, uint64_t now)
{
    if (kind != GOSSIP_REFUSED_PERMANENT && kind != GOSSIP_REFUSED_LATER && kind != GOSSIP_REFUSED_CONTEXT)
        return HEARTH_EINVAL;
    uint32_t i = s_find (self, hash);
    s_entry_t *e;
    if (i != S_NIL) {
        e = &self->entries [i];
        self->stats.again++;
        if (e->refusals < UINT8_MAX)
            e->refusals++;
        if (e->kind != GOSSIP_REFUSED_PERMANENT)
            e->kind = (uint8_t) kind;       /* the newest verdict, but permanent stays */
    }
    else {
        i = s_slot (self);
        if (i == S_NIL)
            return HEARTH_ENOMEM;
        e = &self->entries [i];
        memcpy (e->hash, hash, 32);
        e->kind = (uint8_t) kind;
        e->refusals = 1;
        gossip_index_insert (self->index, self->entries, i);
        self->count++;
        self->stats.remembered++;
    }
    /*  CONTEXT: the first change of membership after the first refusal is
        worth a retry at once (the author's join was in the same batch);
        later ones back off like LATER. */
    uint64_t wait = e->kind != GOSSIP_REFUSED_CONTEXT? s_backoff (self, e->refusals)
                  : e->refusals > 1? s_backoff (self, e->refusals - 1u): 0;
    e->retry_at = now > UINT64_MAX - wait? UINT64_MAX: now + wait;
    e->context = context;
    return 0;
}

int
gossip_refused_skip (const gossip_refused_t *self, const uint8_t hash [32], uint64_t context, uint64_t now)
{
    uint32_t i = s_find (self, hash);
    if (i == S_NIL)
        return 0;
    const s_entry_t *e = &self->entries [i];
    if (e->kind == GOSSIP_REFUSED_PERMANENT || now < e->retry_at)
        return 1;
    return e->kind == GOSSIP_REFUSED_CONTEXT && context == e->context;
}

gossip_refused_kind_t
gossip_refused_lookup (const gossip_refused_t *self, const uint8_t hash [32])
{
    uint32_t i = s_find (self, hash);
    return i == S_NIL? GOSSIP_REFUSED_NONE: (gossip_refused_kind_t) self->entries [i].kind;
}

void
gossip_refused_forget (gossip_refused_t *self, const uint8_t hash [32])
{
    uint32_t i = s_find (self, hash);
    if (i == S_NIL)
        return;
    s_unlink (self, i);
    self->entries [i].bucket_next = self->free_head;
    self->free_head = i;
}

size_t
gossip_refused_count (const gossip_refused_t *self)
{
    return self->count;
}

const gossip_refused_stats_t *
gossip_refused_stats (const gossip_refused_t *self)
{
    return &self->stats;
}
