/*  gossip_overlay.c — the known-peer table and the choice of links; see
    gossip_overlay.h (the rules are listed in its banner).

    Known entries live in one dense array (removal moves the last entry
    into the hole), found by key through an open-addressing index (linear
    probing, backward-shift deletion, at most half full) keyed by a hash of
    the key mixed with a per-overlay secret drawn from the seed, so keys
    chosen to collide cost a hostile member nothing but itself. Each entry's
    address is malloc'd at its length: a simulation holds thousands of
    overlays.

    Links are tracked apart from entries, in a small array searched
    linearly (out + seeds + in_max + invitee_reserve of them at most), so an
    invitee's in link or a link to a forgotten key needs no entry. Each
    entry mirrors whether it has a link either way (`linked`), so choosing
    an eligible member is one pass over the table and a plan in the steady
    state (all links up, no shuffle due) touches the links only.

    Random choices draw one index among the eligible entries counted in a
    first pass (a multiply-shift draw: no loop, bias below n / 2^64), so
    the order of the table does not bias them.

    The saved table (gossip_overlay_save / _load):
        "HOVL" u16 version (1)
        then records, each:  u16 length of the rest of the record,
            key[32], u16 address length (1..GOSSIP_MAX_ADDRESS-1), address
            bytes (no NUL), u64 last_reached_ms, u32 fails, u8 from, u8 seed
            (bytes beyond these, up to the record's length, are skipped: a
            later version may append fields)
    All integers big-endian.
*/
#include <stdlib.h>
#include <string.h>
#include "gossip_overlay.h"
#include "hearth_error.h"

/*  GOSSIP_MAX_ADDRESS of gossip_wire.h (a hello's address cap). Restated
    here so this core needs no protobuf headers; test_gossip_overlay.c
    checks that the two agree. */
#define S_ADDRESS_MAX       256
/*  Reached within this counts as healthy for a sample. */
#define S_HEALTHY_MS        (60ULL * 60 * 1000)
/*  Save format. */
#define S_MAGIC             "HOVL"
#define S_VERSION           1
#define S_HEADER_BYTES      6
#define S_RECORD_FIXED      (32 + 2 + 8 + 4 + 1 + 1)

/*  entry.linked bits */
#define S_LINKED_OUT        1
#define S_LINKED_IN         2

/*  A link's out state. */
enum { S_OUT_NONE = 0, S_OUT_DIALLING, S_OUT_UP, S_OUT_DOWN };
/*  Why an out link exists. */
enum { S_KIND_RANDOM = 0, S_KIND_BOOTSTRAP };
/*  A link's in state. */
enum { S_IN_NONE = 0, S_IN_MEMBER, S_IN_INVITEE };

#define S_NIL               UINT32_MAX

typedef struct {
    gossip_overlay_peer_t peer;             /* peer.address: owned (malloc'd at its length) */
    uint8_t               linked;           /* S_LINKED_* */
} s_entry_t;

typedef struct {
    uint8_t  key [32];
    uint8_t  out;                           /* S_OUT_* */
    uint8_t  kind;                          /* S_KIND_* (when out != NONE) */
    uint8_t  in;                            /* S_IN_* */
    uint8_t  forgotten;                     /* key forgotten: its out link is closed by plan */
    uint64_t since_ms;                      /* out dialling: dial start; down: when it went down */
    uint64_t seq;                           /* order of out links (the newest is the largest) */
} s_link_t;

struct _gossip_overlay_t {
    uint8_t                 self_key [32];
    gossip_overlay_config_t cfg;
    uint64_t                rng;            /* splitmix64 state */
    uint64_t                hash_secret;
    s_entry_t              *entries;        /* owned */
    size_t                  n_entries, cap_entries;
    size_t                  n_seeds;
    uint32_t               *index;          /* owned: entry indices, S_NIL = empty */
    size_t                  index_mask;     /* slots - 1; 0 while index is NULL */
    s_link_t               *links;          /* owned */
    size_t                  n_links, cap_links;
    uint64_t                link_seq;
    uint64_t                shuffle_at_ms;
    int                     shuffle_set;    /* shuffle_at_ms is scheduled (by the first plan) */
    int                     dirty;
    gossip_overlay_stats_t  stats;
};

/* ---- randomness ---------------------------------------------------------------- */

static uint64_t
s_rand (gossip_overlay_t *self)
{
    uint64_t z = (self->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/*  Uniform in [0, n), n >= 1: multiply-shift, no rejection loop. */
static size_t
s_below (gossip_overlay_t *self, size_t n)
{
    return (size_t) (((unsigned __int128) s_rand (self) * n) >> 64);
}

/* ---- the index ------------------------------------------------------------------- */

static uint64_t
s_mix (uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static size_t
s_hash (const gossip_overlay_t *self, const uint8_t key [32])
{
    uint64_t h = self->hash_secret;
    for (int i = 0; i < 4; i++) {
        uint64_t w;
        memcpy (&w, key + 8 * i, sizeof w);
        h = s_mix (h ^ w);
    }
    return (size_t) h;
}

/*  Entry index of key or S_NIL. */
static uint32_t
s_find (const gossip_overlay_t *self, const uint8_t key [32])
{
    if (!self->index)
        return S_NIL;
    size_t slot = s_hash (self, key) & self->index_mask;
    while (self->index [slot] != S_NIL) {
        uint32_t e = self->index [slot];
        if (memcmp (self->entries [e].peer.key, key, 32) == 0)
            return e;
        slot = (slot + 1) & self->index_mask;
    }
    return S_NIL;
}

/*  Slot holding entry e (which is indexed). */
static size_t
s_slot_of (const gossip_overlay_t *self, uint32_t e)
{
    size_t slot = s_hash (self, self->entries [e].peer.key) & self->index_mask;
    while (self->index [slot] != e)
        slot = (slot + 1) & self->index_mask;
    return slot;
}

static void
s_index_put (gossip_overlay_t *self, uint32_t e)
{
    size_t slot = s_hash (self, self->entries [e].peer.key) & self->index_mask;
    while (self->index [slot] != S_NIL)
        slot = (slot + 1) & self->index_mask;
    self->index [slot] = e;
}

/*  Room for one more entry in the index (kept at most half full). */
static int
s_index_reserve (gossip_overlay_t *self)
{
    size_t slots = self->index? self->index_mask + 1: 0;
    if ((self->n_entries + 1) * 2 <= slots)
        return 0;
    size_t want = slots? slots * 2: 16;
    uint32_t *index = (uint32_t *) malloc (want * sizeof *index);
    if (!index)
        return HEARTH_ENOMEM;
    for (size_t i = 0; i < want; i++)
        index [i] = S_NIL;
    free (self->index);
    self->index = index;
    self->index_mask = want - 1;
    for (size_t e = 0; e < self->n_entries; e++)
        s_index_put (self, (uint32_t) e);
    return 0;
}

/*  Remove the slot's entry from the index (backward-shift deletion). */
static void
s_index_remove_slot (gossip_overlay_t *self, size_t hole)
{
    size_t mask = self->index_mask;
    size_t next = (hole + 1) & mask;
    while (self->index [next] != S_NIL) {
        size_t home = s_hash (self, self->entries [self->index [next]].peer.key) & mask;
        /*  Move next into the hole when its home is not in (hole, next]. */
        if (((next - home) & mask) >= ((next - hole) & mask)) {
            self->index [hole] = self->index [next];
            hole = next;
        }
        next = (next + 1) & mask;
    }
    self->index [hole] = S_NIL;
}

/* ---- links ----------------------------------------------------------------------- */

static s_link_t *
s_link_find (const gossip_overlay_t *self, const uint8_t key [32])
{
    for (size_t i = 0; i < self->n_links; i++)
        if (memcmp (self->links [i].key, key, 32) == 0)
            return &self->links [i];
    return NULL;
}

/*  The link of key, made (with nothing up) when missing; NULL when out of memory. */
static s_link_t *
s_link_get (gossip_overlay_t *self, const uint8_t key [32])
{
    s_link_t *link = s_link_find (self, key);
    if (link)
        return link;
    if (self->n_links == self->cap_links) {
        size_t cap = self->cap_links? self->cap_links * 2: 8;
        s_link_t *links = (s_link_t *) realloc (self->links, cap * sizeof *links);
        if (!links)
            return NULL;
        self->links = links;
        self->cap_links = cap;
    }
    link = &self->links [self->n_links++];
    memset (link, 0, sizeof *link);
    memcpy (link->key, key, 32);
    return link;
}

/*  Mirror link's state into its entry, and drop the link when nothing is
    left of it. The link pointer is invalid afterwards. */
static void
s_link_settle (gossip_overlay_t *self, s_link_t *link)
{
    uint32_t e = s_find (self, link->key);
    if (e != S_NIL)
        self->entries [e].linked = (uint8_t) ((link->out != S_OUT_NONE? S_LINKED_OUT: 0)
                                            | (link->in != S_IN_NONE? S_LINKED_IN: 0));
    if (link->out == S_OUT_NONE && link->in == S_IN_NONE) {
        size_t i = (size_t) (link - self->links);
        self->links [i] = self->links [--self->n_links];
    }
}

static void
s_link_open (gossip_overlay_t *self, s_link_t *link, int kind, int state, uint64_t now_ms)
{
    link->out = (uint8_t) state;
    link->kind = (uint8_t) kind;
    link->since_ms = now_ms;
    link->seq = ++self->link_seq;
}

/* ---- entries --------------------------------------------------------------------- */

static int
s_entry_healthy (const gossip_overlay_peer_t *p, uint64_t now_ms)
{
    return p->fails == 0
        || (p->last_reached_ms && now_ms >= p->last_reached_ms && now_ms - p->last_reached_ms < S_HEALTHY_MS);
}

/*  One more failure: back off RETRY_MIN doubling to RETRY_MAX. */
static void
s_entry_backoff (gossip_overlay_t *self, const uint8_t key [32], uint64_t now_ms)
{
    uint32_t e = s_find (self, key);
    if (e == S_NIL)
        return;
    gossip_overlay_peer_t *p = &self->entries [e].peer;
    if (p->fails < UINT32_MAX)
        p->fails++;
    uint64_t delay = GOSSIP_OVERLAY_RETRY_MIN_MS;
    for (uint32_t i = 1; i < p->fails && delay < GOSSIP_OVERLAY_RETRY_MAX_MS; i++)
        delay *= 2;
    if (delay > GOSSIP_OVERLAY_RETRY_MAX_MS)
        delay = GOSSIP_OVERLAY_RETRY_MAX_MS;
    p->retry_at_ms = now_ms + delay;
    self->dirty = 1;
}

static void
s_entry_reached (gossip_overlay_t *self, const uint8_t key [32], uint64_t now_ms)
{
    uint32_t e = s_find (self, key);
    if (e == S_NIL)
        return;
    gossip_overlay_peer_t *p = &self->entries [e].peer;
    p->last_reached_ms = now_ms;
    p->fails = 0;
    p->retry_at_ms = 0;
    self->dirty = 1;
}

static char *
s_strndup (const char *s, size_t len)
{
    char *copy = (char *) malloc (len + 1);
    if (copy) {
        memcpy (copy, s, len);
        copy [len] = 0;
    }
    return copy;
}

/*  Add a new key (not known, not ours): 0 or HEARTH_ENOMEM. */
static int
s_entry_add (gossip_overlay_t *self, const uint8_t key [32], const char *address, size_t len, int from,
             int seed, uint64_t now_ms)
{
    if (s_index_reserve (self))
        return HEARTH_ENOMEM;
    if (self->n_entries == self->cap_entries) {
        size_t cap = self->cap_entries? self->cap_entries * 2: 8;
        s_entry_t *entries = (s_entry_t *) realloc (self->entries, cap * sizeof *entries);
        if (!entries)
            return HEARTH_ENOMEM;
        self->entries = entries;
        self->cap_entries = cap;
    }
    char *copy = s_strndup (address, len);
    if (!copy)
        return HEARTH_ENOMEM;
    s_entry_t *entry = &self->entries [self->n_entries];
    memset (entry, 0, sizeof *entry);
    memcpy (entry->peer.key, key, 32);
    entry->peer.address = copy;
    entry->peer.learned_ms = now_ms;
    entry->peer.from = from;
    entry->peer.seed = seed? 1: 0;
    s_index_put (self, (uint32_t) self->n_entries);
    self->n_entries++;
    if (seed)
        self->n_seeds++;
    s_link_t *link = s_link_find (self, key);
    if (link) {
        link->forgotten = 0;                /* a member again */
        entry->linked = (uint8_t) ((link->out != S_OUT_NONE? S_LINKED_OUT: 0)
                                 | (link->in != S_IN_NONE? S_LINKED_IN: 0));
    }
    self->dirty = 1;
    return 0;
}

static void
s_entry_remove (gossip_overlay_t *self, uint32_t e)
{
    s_index_remove_slot (self, s_slot_of (self, e));
    s_entry_t *entry = &self->entries [e];
    if (entry->peer.seed)
        self->n_seeds--;
    free ((char *) entry->peer.address);
    uint32_t last = (uint32_t) (self->n_entries - 1);
    if (e != last) {
        size_t slot = s_slot_of (self, last);
        self->entries [e] = self->entries [last];
        self->index [slot] = e;
    }
    self->n_entries--;
    self->dirty = 1;
}

/*  Evict a random entry that is not a seed and not linked, preferring one
    never reached or failing. 1 when one went, 0 when none may go. */
static int
s_evict (gossip_overlay_t *self)
{
    size_t weak = 0, any = 0;
    for (size_t e = 0; e < self->n_entries; e++) {
        const s_entry_t *entry = &self->entries [e];
        if (entry->peer.seed || entry->linked)
            continue;
        any++;
        if (entry->peer.last_reached_ms == 0 || entry->peer.fails > 0)
            weak++;
    }
    if (any == 0)
        return 0;
    int only_weak = weak > 0;
    size_t pick = s_below (self, only_weak? weak: any);
    for (size_t e = 0; e < self->n_entries; e++) {
        const s_entry_t *entry = &self->entries [e];
        if (entry->peer.seed || entry->linked)
            continue;
        if (only_weak && !(entry->peer.last_reached_ms == 0 || entry->peer.fails > 0))
            continue;
        if (pick-- == 0) {
            s_entry_remove (self, (uint32_t) e);
            self->stats.known_evicted++;
            return 1;
        }
    }
    return 0;                               /* not reached: pick < the count */
}

/* ---- public: life cycle ---------------------------------------------------------- */

void
gossip_overlay_config_defaults (gossip_overlay_config_t *cfg)
{
    if (!cfg)
        return;
    memset (cfg, 0, sizeof *cfg);
    cfg->out = GOSSIP_OVERLAY_OUT;
    cfg->in_max = GOSSIP_OVERLAY_IN_MAX;
    cfg->invitee_reserve = GOSSIP_OVERLAY_INVITEE_RESERVE;
    cfg->known_max = GOSSIP_OVERLAY_KNOWN_MAX;
    cfg->dial_timeout_ms = GOSSIP_OVERLAY_DIAL_TIMEOUT_MS;
    cfg->shuffle_ms = GOSSIP_OVERLAY_SHUFFLE_MS;
    cfg->pin_seeds = 0;
}

gossip_overlay_t *
gossip_overlay_new (const uint8_t self_key [32], const gossip_overlay_config_t *cfg, uint64_t rng_seed)
{
    gossip_overlay_config_t c;
    if (cfg)
        c = *cfg;
    else
        gossip_overlay_config_defaults (&c);
    if (!self_key || c.out < 1 || c.in_max < 1 || c.known_max < c.out || c.known_max >= S_NIL / 2
        || c.dial_timeout_ms == 0)
        return NULL;
    gossip_overlay_t *self = (gossip_overlay_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    memcpy (self->self_key, self_key, 32);
    self->cfg = c;
    self->rng = rng_seed;
    self->hash_secret = s_rand (self);
    return self;
}

void
gossip_overlay_destroy (gossip_overlay_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gossip_overlay_t *self = *self_p;
    for (size_t e = 0; e < self->n_entries; e++)
        free ((char *) self->entries [e].peer.address);
    free (self->entries);
    free (self->index);
    free (self->links);
    free (self);
    *self_p = NULL;
}

/* ---- public: the table ----------------------------------------------------------- */

int
gossip_overlay_learn (gossip_overlay_t *self, const uint8_t key [32], const char *address, int from,
                      uint64_t now_ms)
{
    if (!self || !key)
        return HEARTH_EINVAL;
    size_t len = address? strnlen (address, S_ADDRESS_MAX): 0;
    if (len == 0 || len >= S_ADDRESS_MAX)
        return HEARTH_EINVAL;
    if (memcmp (key, self->self_key, 32) == 0)
        return 0;
    int seed = from == GOSSIP_OVERLAY_FROM_SEED;
    uint32_t e = s_find (self, key);
    if (e != S_NIL) {
        gossip_overlay_peer_t *p = &self->entries [e].peer;
        p->learned_ms = now_ms;
        if (strcmp (p->address, address) != 0) {
            char *copy = s_strndup (address, len);
            if (!copy)
                return HEARTH_ENOMEM;
            free ((char *) p->address);
            p->address = copy;
            self->dirty = 1;
        }
        if (seed && !p->seed) {
            p->seed = 1;
            self->n_seeds++;
            self->dirty = 1;
        }
        return 0;
    }
    if (!seed && self->n_entries - self->n_seeds >= self->cfg.known_max && !s_evict (self))
        return 0;                           /* full of seeds and linked entries */
    int rc = s_entry_add (self, key, address, len, from, seed, now_ms);
    return rc? rc: 1;
}

void
gossip_overlay_forget (gossip_overlay_t *self, const uint8_t key [32])
{
    if (!self || !key)
        return;
    uint32_t e = s_find (self, key);
    if (e != S_NIL)
        s_entry_remove (self, e);
    s_link_t *link = s_link_find (self, key);
    if (link && link->out != S_OUT_NONE)
        link->forgotten = 1;
}

const gossip_overlay_peer_t *
gossip_overlay_find (const gossip_overlay_t *self, const uint8_t key [32])
{
    if (!self || !key)
        return NULL;
    uint32_t e = s_find (self, key);
    return e == S_NIL? NULL: &self->entries [e].peer;
}

size_t
gossip_overlay_count (const gossip_overlay_t *self)
{
    return self? self->n_entries: 0;
}

const gossip_overlay_peer_t *
gossip_overlay_at (const gossip_overlay_t *self, size_t i)
{
    return self && i < self->n_entries? &self->entries [i].peer: NULL;
}

/* ---- public: link events --------------------------------------------------------- */

void
gossip_overlay_dialling (gossip_overlay_t *self, const uint8_t key [32], uint64_t now_ms)
{
    if (!self || !key || memcmp (key, self->self_key, 32) == 0)
        return;
    s_link_t *link = s_link_get (self, key);
    if (!link)
        return;
    if (link->out == S_OUT_NONE)
        s_link_open (self, link, S_KIND_BOOTSTRAP, S_OUT_DIALLING, now_ms);
    link->forgotten = 0;
    s_link_settle (self, link);
}

void
gossip_overlay_link_up (gossip_overlay_t *self, const uint8_t key [32], int outgoing, uint64_t now_ms)
{
    if (!self || !key || memcmp (key, self->self_key, 32) == 0)
        return;
    s_entry_reached (self, key, now_ms);
    if (!outgoing)
        return;                             /* in links are counted by in_admit */
    s_link_t *link = s_link_get (self, key);
    if (!link)
        return;
    if (link->out == S_OUT_NONE) {
        /*  A dial we did not plan (or closed): a seed's is a bootstrap link
            (pinned with pin_seeds), any other a racing dial, closed as
            surplus when it is one too many. */
        uint32_t e = s_find (self, key);
        int seed = e != S_NIL && self->entries [e].peer.seed;
        s_link_open (self, link, seed? S_KIND_BOOTSTRAP: S_KIND_RANDOM, S_OUT_UP, now_ms);
    }
    link->out = S_OUT_UP;
    s_link_settle (self, link);
}

void
gossip_overlay_link_down (gossip_overlay_t *self, const uint8_t key [32], int outgoing, uint64_t now_ms)
{
    if (!self || !key)
        return;
    s_link_t *link = s_link_find (self, key);
    if (!link)
        return;
    if (outgoing) {
        if (link->out == S_OUT_UP) {
            link->out = S_OUT_DOWN;
            link->since_ms = now_ms;
        }
    }
    else
        link->in = S_IN_NONE;
    s_link_settle (self, link);
}

void
gossip_overlay_dial_failed (gossip_overlay_t *self, const uint8_t key [32], uint64_t now_ms)
{
    if (!self || !key)
        return;
    self->stats.dial_failures++;
    s_entry_backoff (self, key, now_ms);
    s_link_t *link = s_link_find (self, key);
    if (link && link->out != S_OUT_NONE) {
        link->out = S_OUT_NONE;
        link->forgotten = 0;
        s_link_settle (self, link);
    }
}

int
gossip_overlay_in_admit (gossip_overlay_t *self, const uint8_t key [32], int member, uint64_t now_ms)
{
    if (!self || !key || memcmp (key, self->self_key, 32) == 0)
        return 0;
    s_link_t *link = s_link_find (self, key);
    if (link && link->in != S_IN_NONE)
        return 1;
    size_t in_members = 0, in_invitees = 0;
    gossip_overlay_links (self, NULL, NULL, &in_members, &in_invitees);
    if (member? in_members >= self->cfg.in_max: in_invitees >= self->cfg.invitee_reserve) {
        self->stats.in_refused++;
        return 0;
    }
    link = s_link_get (self, key);
    if (!link) {
        self->stats.in_refused++;
        return 0;
    }
    link->in = (uint8_t) (member? S_IN_MEMBER: S_IN_INVITEE);
    s_link_settle (self, link);
    s_entry_reached (self, key, now_ms);
    return 1;
}

void
gossip_overlay_links (const gossip_overlay_t *self, size_t *out_total, size_t *out_up, size_t *in_members,
                      size_t *in_invitees)
{
    size_t total = 0, up = 0, members = 0, invitees = 0;
    for (size_t i = 0; self && i < self->n_links; i++) {
        const s_link_t *link = &self->links [i];
        if (link->out != S_OUT_NONE)
            total++;
        if (link->out == S_OUT_UP)
            up++;
        if (link->in == S_IN_MEMBER)
            members++;
        if (link->in == S_IN_INVITEE)
            invitees++;
    }
    if (out_total)
        *out_total = total;
    if (out_up)
        *out_up = up;
    if (in_members)
        *in_members = members;
    if (in_invitees)
        *in_invitees = invitees;
}

/* ---- public: plan ---------------------------------------------------------------- */

typedef struct {
    gossip_overlay_action_t *actions;
    size_t                   n, max;
} s_plan_t;

static int
s_emit (s_plan_t *plan, int verb, const uint8_t key [32])
{
    if (plan->n >= plan->max)
        return 0;
    plan->actions [plan->n].verb = verb;
    memcpy (plan->actions [plan->n].key, key, 32);
    plan->n++;
    return 1;
}

/*  Close the out link at index i (emitting CLOSE). 0 when the plan is full. */
static int
s_close (gossip_overlay_t *self, s_plan_t *plan, size_t i)
{
    s_link_t *link = &self->links [i];
    if (!s_emit (plan, GOSSIP_OVERLAY_CLOSE, link->key))
        return 0;
    link->out = S_OUT_NONE;
    link->forgotten = 0;
    s_link_settle (self, link);
    return 1;
}

static int
s_eligible (const s_entry_t *entry, uint64_t now_ms)
{
    return !entry->linked && entry->peer.retry_at_ms <= now_ms;
}

/*  A uniformly random eligible entry (no link either way, not backing off),
    or S_NIL; `count` counts them first. */
static uint32_t
s_pick_eligible (gossip_overlay_t *self, uint64_t now_ms)
{
    size_t count = 0;
    for (size_t e = 0; e < self->n_entries; e++)
        if (s_eligible (&self->entries [e], now_ms))
            count++;
    if (count == 0)
        return S_NIL;
    size_t pick = s_below (self, count);
    for (size_t e = 0; e < self->n_entries; e++)
        if (s_eligible (&self->entries [e], now_ms) && pick-- == 0)
            return (uint32_t) e;
    return S_NIL;                           /* not reached */
}

/*  Dial entry e as an out link of kind. 0 when the plan is full. */
static int
s_dial (gossip_overlay_t *self, s_plan_t *plan, uint32_t e, int kind, uint64_t now_ms)
{
    uint8_t key [32];
    memcpy (key, self->entries [e].peer.key, 32);
    s_link_t *link = s_link_get (self, key);
    if (!link || !s_emit (plan, GOSSIP_OVERLAY_DIAL, key))
        return 0;
    s_link_open (self, link, kind, S_OUT_DIALLING, now_ms);
    link->forgotten = 0;
    s_link_settle (self, link);
    self->stats.dials++;
    return 1;
}

/*  Random out links (any state), and how many are up. */
static size_t
s_count_random (const gossip_overlay_t *self, size_t *up)
{
    size_t n = 0, u = 0;
    for (size_t i = 0; i < self->n_links; i++) {
        const s_link_t *link = &self->links [i];
        if (link->out != S_OUT_NONE && link->kind == S_KIND_RANDOM) {
            n++;
            if (link->out == S_OUT_UP)
                u++;
        }
    }
    if (up)
        *up = u;
    return n;
}

static void
s_schedule_shuffle (gossip_overlay_t *self, uint64_t now_ms)
{
    uint64_t s = self->cfg.shuffle_ms;
    uint64_t delay = s / 2 + (s < UINT64_MAX? (uint64_t) s_below (self, (size_t) (s + 1)): s / 2);
    self->shuffle_at_ms = delay > UINT64_MAX - now_ms? UINT64_MAX: now_ms + delay;
    self->shuffle_set = 1;
}

size_t
gossip_overlay_plan (gossip_overlay_t *self, uint64_t now_ms, gossip_overlay_action_t *actions, size_t max)
{
    if (!self || !actions || max == 0)
        return 0;
    s_plan_t plan = { actions, 0, max };
    int pin = self->cfg.pin_seeds;
    size_t want_random = pin? 0: self->cfg.out;

    /*  Forgotten keys, and dials (or redials) not up in time. */
    for (size_t i = 0; i < self->n_links; ) {
        s_link_t *link = &self->links [i];
        size_t before = self->n_links;
        if (link->out != S_OUT_NONE && link->forgotten) {
            if (!s_close (self, &plan, i))
                return plan.n;
        }
        else
        if ((link->out == S_OUT_DIALLING || link->out == S_OUT_DOWN)
        &&  now_ms >= link->since_ms && now_ms - link->since_ms >= self->cfg.dial_timeout_ms) {
            if (pin && link->kind == S_KIND_BOOTSTRAP) {
                /*  A pinned seed is never closed: count the failure and let
                    the transport keep redialling. */
                self->stats.dial_failures++;
                s_entry_backoff (self, link->key, now_ms);
                link->since_ms = now_ms;
            }
            else {
                uint8_t key [32];
                memcpy (key, link->key, 32);
                if (!s_close (self, &plan, i))
                    return plan.n;
                self->stats.dial_failures++;
                s_entry_backoff (self, key, now_ms);
            }
        }
        if (self->n_links == before)
            i++;                            /* else the last link moved into i */
    }

    /*  Surplus random links: close the newest. */
    size_t random_up = 0;
    size_t random = s_count_random (self, &random_up);
    while (random > want_random) {
        size_t newest = SIZE_MAX;
        for (size_t i = 0; i < self->n_links; i++) {
            const s_link_t *link = &self->links [i];
            if (link->out != S_OUT_NONE && link->kind == S_KIND_RANDOM
            && (newest == SIZE_MAX || link->seq > self->links [newest].seq))
                newest = i;
        }
        if (!s_close (self, &plan, newest))
            return plan.n;
        self->stats.closes_surplus++;
        random = s_count_random (self, &random_up);
    }

    /*  Bootstrap links go once `out` random links are up. */
    if (!pin && random_up >= want_random) {
        for (size_t i = 0; i < self->n_links; ) {
            s_link_t *link = &self->links [i];
            size_t before = self->n_links;
            if (link->out != S_OUT_NONE && link->kind == S_KIND_BOOTSTRAP) {
                if (!s_close (self, &plan, i))
                    return plan.n;
                self->stats.closes_bootstrap++;
            }
            if (self->n_links == before)
                i++;
        }
    }

    /*  Seeds: all of them when pinned; while fewer than `out` other members
        are known, to bootstrap. */
    if (pin || self->n_entries - self->n_seeds < self->cfg.out) {
        for (size_t e = 0; e < self->n_entries; e++) {
            const s_entry_t *entry = &self->entries [e];
            if (!entry->peer.seed || entry->peer.retry_at_ms > now_ms)
                continue;
            if (pin? (entry->linked & S_LINKED_OUT) != 0: entry->linked != 0)
                continue;
            if (!s_dial (self, &plan, (uint32_t) e, S_KIND_BOOTSTRAP, now_ms))
                return plan.n;
        }
    }

    /*  Random links up to `out`. */
    while (random < want_random) {
        uint32_t e = s_pick_eligible (self, now_ms);
        if (e == S_NIL)
            break;
        if (!s_dial (self, &plan, e, S_KIND_RANDOM, now_ms))
            return plan.n;
        random++;
    }

    /*  Shuffle: replace one random out link by a random eligible member. */
    if (!pin && self->cfg.shuffle_ms > 0) {
        if (!self->shuffle_set)
            s_schedule_shuffle (self, now_ms);
        else
        if (now_ms >= self->shuffle_at_ms) {
            random = s_count_random (self, &random_up);
            if (plan.n + 2 > plan.max)
                return plan.n;              /* still due: the next plan does it */
            if (random == want_random && random_up == random) {
                uint32_t e = s_pick_eligible (self, now_ms);
                if (e != S_NIL) {
                    size_t victim = s_below (self, random), at = SIZE_MAX;
                    for (size_t i = 0; i < self->n_links; i++) {
                        const s_link_t *link = &self->links [i];
                        if (link->out != S_OUT_NONE && link->kind == S_KIND_RANDOM && victim-- == 0) {
                            at = i;
                            break;
                        }
                    }
                    /*  Dial first: closing moves links, not entries. */
                    s_dial (self, &plan, e, S_KIND_RANDOM, now_ms);
                    s_close (self, &plan, at);
                    self->stats.closes_shuffle++;
                }
            }
            s_schedule_shuffle (self, now_ms);
        }
    }
    return plan.n;
}

/* ---- public: sample -------------------------------------------------------------- */

size_t
gossip_overlay_sample (gossip_overlay_t *self, const uint8_t *exclude, uint64_t now_ms,
                       const gossip_overlay_peer_t **out, size_t max)
{
    if (!self || !out || max == 0)
        return 0;
    /*  Two reservoirs (Algorithm R): healthy entries first, the others fill
        what is left. */
    size_t n = 0;
    for (int pass = 0; pass < 2 && n < max; pass++) {
        size_t base = n, seen = 0;
        for (size_t e = 0; e < self->n_entries; e++) {
            const gossip_overlay_peer_t *p = &self->entries [e].peer;
            if (exclude && memcmp (p->key, exclude, 32) == 0)
                continue;
            if (s_entry_healthy (p, now_ms) != (pass == 0))
                continue;
            seen++;
            if (base + seen <= max)
                out [n++] = p;
            else {
                size_t j = s_below (self, seen);
                if (j < max - base)
                    out [base + j] = p;
            }
        }
    }
    /*  The reservoir's order follows the table's: shuffle it. */
    for (size_t i = n; i > 1; i--) {
        size_t j = s_below (self, i);
        const gossip_overlay_peer_t *t = out [i - 1];
        out [i - 1] = out [j];
        out [j] = t;
    }
    return n;
}

const gossip_overlay_stats_t *
gossip_overlay_stats (const gossip_overlay_t *self)
{
    return self? &self->stats: NULL;
}

int
gossip_overlay_dirty (const gossip_overlay_t *self)
{
    return self? self->dirty: 0;
}

/* ---- public: save and load ------------------------------------------------------- */

static uint8_t *
s_put_u16 (uint8_t *p, uint16_t v)
{
    p [0] = (uint8_t) (v >> 8);
    p [1] = (uint8_t) v;
    return p + 2;
}

static uint8_t *
s_put_u64 (uint8_t *p, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--)
        *p++ = (uint8_t) (v >> (8 * i));
    return p;
}

static uint64_t
s_get (const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = (v << 8) | p [i];
    return v;
}

int
gossip_overlay_save (gossip_overlay_t *self, uint8_t **buf_p, size_t *len_p)
{
    if (!self || !buf_p || !len_p)
        return HEARTH_EINVAL;
    size_t len = S_HEADER_BYTES;
    for (size_t e = 0; e < self->n_entries; e++)
        len += 2 + S_RECORD_FIXED + strlen (self->entries [e].peer.address);
    uint8_t *buf = (uint8_t *) malloc (len);
    if (!buf)
        return HEARTH_ENOMEM;
    uint8_t *p = buf;
    memcpy (p, S_MAGIC, 4);
    p = s_put_u16 (p + 4, S_VERSION);
    for (size_t e = 0; e < self->n_entries; e++) {
        const gossip_overlay_peer_t *peer = &self->entries [e].peer;
        size_t alen = strlen (peer->address);       /* < S_ADDRESS_MAX: learn checked */
        p = s_put_u16 (p, (uint16_t) (S_RECORD_FIXED + alen));
        memcpy (p, peer->key, 32);
        p = s_put_u16 (p + 32, (uint16_t) alen);
        memcpy (p, peer->address, alen);
        p = s_put_u64 (p + alen, peer->last_reached_ms, 8);
        p = s_put_u64 (p, peer->fails, 4);
        *p++ = (uint8_t) peer->from;
        *p++ = (uint8_t) (peer->seed? 1: 0);
    }
    *buf_p = buf;
    *len_p = len;
    self->dirty = 0;
    return 0;
}

int
gossip_overlay_load (gossip_overlay_t *self, const uint8_t *buf, size_t len, uint64_t now_ms)
{
    if (!self || (!buf && len))
        return HEARTH_EINVAL;
    if (len < S_HEADER_BYTES || memcmp (buf, S_MAGIC, 4) != 0 || s_get (buf + 4, 2) != S_VERSION)
        return HEARTH_ECORRUPT;
    size_t pos = S_HEADER_BYTES;
    int loaded = 0;
    int dirty = self->dirty;
    while (pos < len) {
        /*  Every length is checked against what is left; any failure ends the load. */
        if (len - pos < 2)
            break;
        size_t rec = (size_t) s_get (buf + pos, 2);
        if (rec < S_RECORD_FIXED || rec > len - pos - 2)
            break;
        const uint8_t *r = buf + pos + 2;
        size_t alen = (size_t) s_get (r + 32, 2);
        if (alen == 0 || alen >= S_ADDRESS_MAX || alen > rec - S_RECORD_FIXED
        ||  memchr (r + 34, 0, alen))
            break;
        const uint8_t *tail = r + 34 + alen;
        uint64_t last_reached = s_get (tail, 8);
        uint32_t fails = (uint32_t) s_get (tail + 8, 4);
        int from = tail [12];
        int seed = tail [13];
        if (from > GOSSIP_OVERLAY_FROM_LINK || seed > 1)
            break;
        pos += 2 + rec;
        if (memcmp (r, self->self_key, 32) == 0) {
            self->stats.load_skipped++;
            continue;
        }
        if (s_find (self, r) != S_NIL)
            continue;                       /* known: the table's entry stays */
        size_t seeds = self->n_seeds, others = self->n_entries - self->n_seeds;
        if (seed? seeds >= self->cfg.known_max: others >= self->cfg.known_max) {
            self->stats.load_skipped++;
            continue;
        }
        if (s_entry_add (self, r, (const char *) r + 34, alen, from, seed, now_ms))
            break;
        gossip_overlay_peer_t *p = &self->entries [self->n_entries - 1].peer;
        p->last_reached_ms = last_reached;
        p->fails = fails;
        loaded++;
    }
    if (pos < len)
        self->stats.load_skipped++;         /* the malformed record the load stopped at */
    self->dirty = dirty;
    return loaded;
}
