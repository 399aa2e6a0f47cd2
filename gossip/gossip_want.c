/*  gossip_want.c — announced hashes we lack and whom we asked; see
    gossip_want.h.

    Entries live in one array, addressed by index (so growing the array
    moves nothing that is referenced); free entries are chained through
    bucket_next. A chained hash index (gossip_index: SipHash-2-4 of the
    event hash, keyed by the caller) finds an entry by hash. Each peer keeps two doubly linked
    lists of its entries: queued (not yet requested, oldest first) and
    requested (in request order). Peers are few (one per link), kept in a
    small array searched linearly, with the last one found cached.
*/
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "gossip_index.h"
#include "gossip_want.h"
#include "hearth_error.h"
#include "hearth_vec.h"

/*  "No entry" in the lists, chains and the free list. */
#define S_NIL      UINT32_MAX
/*  The request id of an entry in hand: in no peer's lists. */
#define S_IN_HAND  UINT64_MAX

typedef struct {
    uint8_t  hash [32];
    uint64_t request;                       /* 0: queued; S_IN_HAND; else the request id it is asked under */
    uint32_t bucket_next;                   /* next in the bucket's chain, or in the free list */
    uint32_t prev, next;                    /* neighbours in its peer's queued or requested list */
    uint32_t peer;                          /* the peer it is assigned to */
    uint32_t alts [GOSSIP_WANT_ALTS];       /* other announcers, in announcement order */
    uint8_t  n_alts;
} s_entry_t;
_Static_assert (offsetof (s_entry_t, hash) == 0, "gossip_index reads the hash at offset 0");

typedef struct {
    uint64_t id;
    uint64_t sent;                          /* monotonic ms */
    int      claim;                         /* the caller's own fetch (gossip_want_claim) */
} s_request_t;

typedef struct {
    uint32_t    id;
    uint32_t    queued_head, queued_tail;
    uint32_t    requested_head, requested_tail;
    size_t      assigned, queued;
    s_request_t requests [GOSSIP_WANT_WINDOW_MAX];
    size_t      n_requests;
    uint64_t    progress;                   /* last answer frame, monotonic ms; 0 = none */
    int         gave_up;
    int         leaving;                    /* inside gossip_want_peer_gone: never chosen */
} s_peer_t;

struct _gossip_want_t {
    gossip_want_limits_t limits;
    s_entry_t           *entries;           /* owned */
    size_t               cap_entries, n_touched;     /* allocated / ever used */
    uint32_t             free_head;
    size_t               count;
    size_t               in_hand;           /* of count, entries in hand (S_IN_HAND) */
    gossip_index_t      *index;             /* owned: hash -> entry */
    s_peer_t            *peers;             /* owned */
    size_t               n_peers, cap_peers;
    size_t               last_peer;         /* index of the last peer found (a hint) */
    gossip_want_stats_t  stats;
};

/* ---- hash table ------------------------------------------------------------------ */

static uint32_t
s_find (const gossip_want_t *self, const uint8_t hash [32])
{
    return gossip_index_find (self->index, self->entries, hash);
}

/*  A free entry (not yet in any chain or list), or S_NIL out of memory. */
static uint32_t
s_alloc (gossip_want_t *self)
{
    if (self->free_head != S_NIL) {
        uint32_t i = self->free_head;
        self->free_head = self->entries [i].bucket_next;
        return i;
    }
    if (self->n_touched == self->cap_entries) {
        size_t cap = self->cap_entries? self->cap_entries * 2: 64;
        if (cap > self->limits.max_hashes)
            cap = self->limits.max_hashes;
        s_entry_t *p = (s_entry_t *) realloc (self->entries, cap * sizeof *p);
        if (!p)
            return S_NIL;
        self->entries = p;
        self->cap_entries = cap;
    }
    return (uint32_t) self->n_touched++;
}

/*  A new entry for hash, in its bucket's chain and counted, on no list and
    with no peer yet; S_NIL out of memory. */
static uint32_t
s_entry_new (gossip_want_t *self, const uint8_t hash [32])
{
    uint32_t i = s_alloc (self);
    if (i == S_NIL)
        return S_NIL;
    s_entry_t *e = &self->entries [i];
    memcpy (e->hash, hash, 32);
    e->n_alts = 0;
    gossip_index_insert (self->index, self->entries, i);
    self->count++;
    return i;
}

/*  Take entry i out of its bucket's chain and put it on the free list. */
static void
s_release (gossip_want_t *self, uint32_t i)
{
    gossip_index_remove (self->index, self->entries, i);
    self->entries [i].bucket_next = self->free_head;
    self->free_head = i;
    self->count--;
    if (self->entries [i].request == S_IN_HAND)
        self->in_hand--;
}

/* ---- peers and their lists -------------------------------------------------------- */

static s_peer_t *
s_peer_find (gossip_want_t *self, uint32_t id)
{
    if (self->last_peer < self->n_peers && self->peers [self->last_peer].id == id)
        return &self->peers [self->last_peer];
    for (size_t k = 0; k < self->n_peers; k++)
        if (self->peers [k].id == id) {
            self->last_peer = k;
            return &self->peers [k];
        }
    return NULL;
}

static const s_peer_t *
s_peer_find_const (const gossip_want_t *self, uint32_t id)
{
    for (size_t k = 0; k < self->n_peers; k++)
        if (self->peers [k].id == id)
            return &self->peers [k];
    return NULL;
}

/*  The peer record of id, made if new; NULL out of memory. May move the
    array: callers hold no peer pointers across it. */
static s_peer_t *
s_peer_get (gossip_want_t *self, uint32_t id)
{
    s_peer_t *p = s_peer_find (self, id);
    if (p)
        return p;
    if (HEARTH_VEC_GROW (self->peers, self->cap_peers, self->n_peers + 1, 8))
        return NULL;
    p = &self->peers [self->n_peers];
    memset (p, 0, sizeof *p);
    p->id = id;
    p->queued_head = p->queued_tail = p->requested_head = p->requested_tail = S_NIL;
    self->last_peer = self->n_peers++;
    return p;
}

static void
s_list_append (gossip_want_t *self, uint32_t *head, uint32_t *tail, uint32_t i)
{
    s_entry_t *e = &self->entries [i];
    e->prev = *tail;
    e->next = S_NIL;
    if (*tail != S_NIL)
        self->entries [*tail].next = i;
    else
        *head = i;
    *tail = i;
}

static void
s_list_remove (gossip_want_t *self, uint32_t *head, uint32_t *tail, uint32_t i)
{
    s_entry_t *e = &self->entries [i];
    if (e->prev != S_NIL)
        self->entries [e->prev].next = e->next;
    else
        *head = e->next;
    if (e->next != S_NIL)
        self->entries [e->next].prev = e->prev;
    else
        *tail = e->prev;
}

/*  Queue entry i for peer p (it is in no list). */
static void
s_assign (gossip_want_t *self, s_peer_t *p, uint32_t i)
{
    s_entry_t *e = &self->entries [i];
    e->peer = p->id;
    e->request = 0;
    s_list_append (self, &p->queued_head, &p->queued_tail, i);
    p->assigned++;
    p->queued++;
}

/*  Take entry i out of its peer p's lists. */
static void
s_unassign (gossip_want_t *self, s_peer_t *p, uint32_t i)
{
    if (self->entries [i].request == 0) {
        s_list_remove (self, &p->queued_head, &p->queued_tail, i);
        p->queued--;
    }
    else
        s_list_remove (self, &p->requested_head, &p->requested_tail, i);
    p->assigned--;
}

/*  Entry i leaves peer `from` (which failed to deliver it, or is gone):
    queue it for the first remembered announcer that is still there and has
    room, or forget it. `requested`: it had been asked for (a retry). */
static void
s_move_on (gossip_want_t *self, s_peer_t *from, uint32_t i, int requested)
{
    s_unassign (self, from, i);
    s_entry_t *e = &self->entries [i];
    while (e->n_alts > 0) {
        uint32_t alt = e->alts [0];
        memmove (e->alts, e->alts + 1, (size_t) (e->n_alts - 1) * sizeof e->alts [0]);
        e->n_alts--;
        s_peer_t *p = s_peer_find (self, alt);
        if (p && !p->leaving && p != from && p->assigned < self->limits.per_peer) {
            s_assign (self, p, i);
            self->stats.retried += requested;
            return;
        }
    }
    from->gave_up = 1;
    self->stats.given_up++;
    s_release (self, i);
}

/*  Close request k of peer p: what it asked for and did not get moves on. */
static void
s_close (gossip_want_t *self, s_peer_t *p, size_t k)
{
    uint64_t id = p->requests [k].id;
    p->requests [k] = p->requests [--p->n_requests];
    uint32_t i = p->requested_head;
    while (i != S_NIL) {
        uint32_t next = self->entries [i].next;
        if (self->entries [i].request == id)
            s_move_on (self, p, i, 1);
        i = next;
    }
}

/* ---- public API -------------------------------------------------------------------- */

gossip_want_t *
gossip_want_new (const gossip_want_limits_t *limits, const uint8_t key [16])
{
    if (!limits || limits->max_hashes == 0 || limits->max_hashes >= S_NIL
    ||  limits->per_peer == 0 || limits->window == 0 || limits->window > GOSSIP_WANT_WINDOW_MAX
    ||  limits->timeout_ms == 0)
        return NULL;
    gossip_want_t *self = (gossip_want_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->limits = *limits;
    self->free_head = S_NIL;
    self->index = gossip_index_new (limits->max_hashes, key, sizeof (s_entry_t),
                                    offsetof (s_entry_t, bucket_next));
    if (!self->index) {
        free (self);
        return NULL;
    }
    return self;
}

void
gossip_want_destroy (gossip_want_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gossip_want_t *self = *self_p;
    free (self->entries);
    gossip_index_destroy (&self->index);
    free (self->peers);
    free (self);
    *self_p = NULL;
}

int
gossip_want_announce (gossip_want_t *self, uint32_t peer, const uint8_t hash [32])
{
    uint32_t i = s_find (self, hash);
    if (i != S_NIL) {
        s_entry_t *e = &self->entries [i];
        if (e->peer == peer)
            return 1;
        for (uint8_t k = 0; k < e->n_alts; k++)
            if (e->alts [k] == peer)
                return 1;
        /*  Registered, so it can be chosen later (and leave). */
        if (e->n_alts < GOSSIP_WANT_ALTS && s_peer_get (self, peer))
            self->entries [i].alts [self->entries [i].n_alts++] = peer;
        return 1;
    }
    if (self->count >= self->limits.max_hashes)
        return HEARTH_ECAPACITY;
    s_peer_t *p = s_peer_get (self, peer);
    if (!p)
        return HEARTH_ENOMEM;
    if (p->assigned >= self->limits.per_peer)
        return HEARTH_ECAPACITY;
    i = s_entry_new (self, hash);
    if (i == S_NIL)
        return HEARTH_ENOMEM;
    s_assign (self, p, i);
    return 0;
}

size_t
gossip_want_take (gossip_want_t *self, uint32_t peer, uint64_t request_id, uint64_t now,
                  uint8_t *out, size_t max)
{
    s_peer_t *p = s_peer_find (self, peer);
    if (!p || p->queued == 0 || max == 0 || request_id == 0 || p->n_requests >= GOSSIP_WANT_WINDOW_MAX)
        return 0;
    size_t asked = 0;
    for (size_t k = 0; k < p->n_requests; k++)
        asked += !p->requests [k].claim;
    if (asked >= self->limits.window)
        return 0;
    size_t n = 0;
    while (n < max && p->queued_head != S_NIL) {
        uint32_t i = p->queued_head;
        s_list_remove (self, &p->queued_head, &p->queued_tail, i);
        p->queued--;
        self->entries [i].request = request_id;
        s_list_append (self, &p->requested_head, &p->requested_tail, i);
        memcpy (out + n * 32, self->entries [i].hash, 32);
        n++;
    }
    p->requests [p->n_requests].id = request_id;
    p->requests [p->n_requests].sent = now;
    p->requests [p->n_requests].claim = 0;
    p->n_requests++;
    return n;
}

int
gossip_want_claim (gossip_want_t *self, uint32_t peer, uint64_t request_id, uint64_t now,
                   const uint8_t hash [32])
{
    if (request_id == 0)
        return HEARTH_EINVAL;
    uint32_t i = s_find (self, hash);
    if (i != S_NIL && self->entries [i].request != 0)
        return 1;
    if (i == S_NIL && self->count >= self->limits.max_hashes)
        return HEARTH_ECAPACITY;
    s_peer_t *p = s_peer_get (self, peer);
    if (!p)
        return HEARTH_ENOMEM;
    if (p->assigned >= self->limits.per_peer)
        return HEARTH_ECAPACITY;
    size_t k = 0;
    while (k < p->n_requests && p->requests [k].id != request_id)
        k++;
    if (k == p->n_requests) {
        if (p->n_requests >= GOSSIP_WANT_WINDOW_MAX)
            return HEARTH_ECAPACITY;
        p->requests [k].id = request_id;
        p->requests [k].sent = now;
        p->requests [k].claim = 1;
        p->n_requests++;
    }
    s_entry_t *e;
    if (i != S_NIL) {
        /*  Queued for an announcer: take it over; the announcer becomes an
            alternate (first in line) if there is room. */
        e = &self->entries [i];
        uint32_t announcer = e->peer;
        s_peer_t *q = s_peer_find (self, announcer);
        if (q)                              /* always (invariant) */
            s_unassign (self, q, i);
        if (announcer != p->id) {
            for (uint8_t a = 0; a < e->n_alts; a++)
                if (e->alts [a] == p->id) {
                    memmove (e->alts + a, e->alts + a + 1, (size_t) (e->n_alts - a - 1) * sizeof e->alts [0]);
                    e->n_alts--;
                    break;
                }
            if (e->n_alts == GOSSIP_WANT_ALTS)
                e->n_alts--;                /* the last alternate gives way */
            memmove (e->alts + 1, e->alts, (size_t) e->n_alts * sizeof e->alts [0]);
            e->alts [0] = announcer;
            e->n_alts++;
        }
    }
    else {
        i = s_entry_new (self, hash);
        if (i == S_NIL)
            return HEARTH_ENOMEM;
        e = &self->entries [i];
    }
    e->peer = p->id;
    e->request = request_id;
    s_list_append (self, &p->requested_head, &p->requested_tail, i);
    p->assigned++;
    return 0;
}

void
gossip_want_in_hand (gossip_want_t *self, const uint8_t hash [32])
{
    uint32_t i = s_find (self, hash);
    if (i == S_NIL || self->entries [i].request == S_IN_HAND)
        return;
    s_peer_t *p = s_peer_find (self, self->entries [i].peer);
    if (p)                                  /* always (invariant): assigned peers are registered */
        s_unassign (self, p, i);
    self->entries [i].request = S_IN_HAND;
    self->entries [i].n_alts = 0;
    self->in_hand++;
}

void
gossip_want_arrived (gossip_want_t *self, const uint8_t hash [32])
{
    uint32_t i = s_find (self, hash);
    if (i == S_NIL)
        return;
    if (self->entries [i].request != S_IN_HAND) {
        s_peer_t *p = s_peer_find (self, self->entries [i].peer);
        if (p)                              /* always (invariant): assigned peers are registered */
            s_unassign (self, p, i);
    }
    s_release (self, i);
}

int
gossip_want_answered (gossip_want_t *self, uint32_t peer, uint64_t request_id, int last, uint64_t now)
{
    s_peer_t *p = s_peer_find (self, peer);
    if (!p)
        return 0;
    for (size_t k = 0; k < p->n_requests; k++)
        if (p->requests [k].id == request_id) {
            p->progress = now;
            if (last)
                s_close (self, p, k);
            return 1;
        }
    return 0;
}

void
gossip_want_expire (gossip_want_t *self, uint64_t now)
{
    for (size_t j = 0; j < self->n_peers; j++) {
        s_peer_t *p = &self->peers [j];
        /*  Downwards: s_close moves the last request into slot k. */
        for (size_t k = p->n_requests; k-- > 0; ) {
            uint64_t since = p->requests [k].sent > p->progress? p->requests [k].sent: p->progress;
            if (now >= since && now - since >= self->limits.timeout_ms)
                s_close (self, p, k);
        }
    }
}

void
gossip_want_peer_gone (gossip_want_t *self, uint32_t peer)
{
    s_peer_t *p = s_peer_find (self, peer);
    if (!p)
        return;
    p->leaving = 1;
    while (p->requested_head != S_NIL)
        s_move_on (self, p, p->requested_head, 1);
    while (p->queued_head != S_NIL)
        s_move_on (self, p, p->queued_head, 0);
    size_t k = (size_t) (p - self->peers);
    self->peers [k] = self->peers [--self->n_peers];
    self->last_peer = 0;
}

int
gossip_want_contains (const gossip_want_t *self, const uint8_t hash [32])
{
    return s_find (self, hash) != S_NIL;
}

int
gossip_want_requested (const gossip_want_t *self, const uint8_t hash [32])
{
    uint32_t i = s_find (self, hash);
    return i != S_NIL && self->entries [i].request != 0;
}

size_t
gossip_want_assigned (const gossip_want_t *self, uint32_t peer)
{
    const s_peer_t *p = s_peer_find_const (self, peer);
    return p? p->assigned: 0;
}

size_t
gossip_want_queued (const gossip_want_t *self, uint32_t peer)
{
    const s_peer_t *p = s_peer_find_const (self, peer);
    return p? p->queued: 0;
}

int
gossip_want_gave_up (gossip_want_t *self, uint32_t peer)
{
    s_peer_t *p = s_peer_find (self, peer);
    if (!p || !p->gave_up)
        return 0;
    p->gave_up = 0;
    return 1;
}

size_t
gossip_want_count (const gossip_want_t *self)
{
    return self->count;
}

size_t
gossip_want_expected (const gossip_want_t *self)
{
    return self->count - self->in_hand;
}

const gossip_want_stats_t *
gossip_want_stats (const gossip_want_t *self)
{
    return &self->stats;
}
