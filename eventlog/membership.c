/*  membership.c — the membership view: a pure fold of community.* events;
    see membership.h for the rules.

    Storage: members in an array in order of arrival (never removed: a
    revoked member stays so it can never rejoin), pending invites in an
    array of slots reused through a free list; each has an open-addressing
    hash index (linear probing, SipHash with a per-view random key, since
    keys and event ids are chosen by the authors). Every insert, lookup and
    removal is O(1) expected, whatever order the events come in (a sorted
    array cost a memmove per insert: 65,536 invites in descending id order
    stalled the node for seconds). Each member lists the slots of its own
    pending invites, so its budget is checked and its expired invites pruned
    in O(its invites). Snapshots sort, so equal views give equal bytes.
    Governance: the signatures that counted, sorted by (lamport, event_id,
    author), and every level and revocation is the result of replaying
    them over the members' base levels (s_replay: pure, it builds its own
    scratch state, so membership_check can replay with a candidate inserted
    without touching the view); membership_apply keeps the signature and
    commits a fresh replay.
    Invariants: n_current = number of unrevoked members; an invite slot is
    free iff its level is 0; a pending invite's slot is in its inviter's
    list exactly once; the indexes hold exactly the members and the pending
    invites.
*/
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "membership.h"
#include "ulid.h"
#include "hearth_error.h"
#include "hearth_vec.h"

typedef struct {
    uint8_t   key [HEARTH_KEY_BYTES];
    int       level;                        /* Hearth__Level; NONE if revoked (the replay's) */
    int       revoked;                      /* the replay's */
    int       base_level;                   /* as it joined */
    uint32_t  inviter;                      /* member index of who added it (self for the root) */
    char      revoked_by [ULID_SIZE];       /* the signature that completed its revocation */
    uint64_t  since_lamport;                /* lamport of the event that added it */
    uint64_t  since_ms;                     /* its wall_clock_ms */
    uint64_t  invite_clock_ms;              /* largest wall_clock_ms of its invites */
    uint32_t *inv;                          /* owned: slots of its pending invites */
    uint32_t  n_inv, cap_inv;
} s_member_t;

typedef struct {
    char     event_id [ULID_SIZE];
    uint8_t  invitee [HEARTH_KEY_BYTES];
    int      level;                         /* 0 = free slot */
    uint64_t expires_at_ms;
    uint32_t inviter;                       /* index into members */
    uint32_t next_free;                     /* free list: slot + 1, 0 = end */
} s_invite_t;

/*  Open-addressing index: slots hold entry index + 1, 0 = empty; cap is a
    power of two, at most 3/4 full. */
typedef struct {
    uint32_t *slots;                        /* owned */
    size_t    cap;
} s_index_t;

/*  A governance signature kept for the replay (a promoted, demoted or
    revoked event that counted when it arrived). */
typedef struct {
    char      event_id [ULID_SIZE];
    char      proposal [ULID_SIZE];         /* "" = a proposal */
    uint64_t  lamport, wall_clock_ms, expires_at_ms;
    uint8_t   author [HEARTH_KEY_BYTES];
    uint8_t   target [HEARTH_KEY_BYTES];
    int       type;                         /* Hearth__EventType */
    int       new_level;
} s_change_t;

struct _membership_t {
    uint8_t     community [HEARTH_KEY_BYTES];
    uint32_t    to_demote, to_revoke;       /* the policy's, 0 = default */
    s_change_t *changes;                    /* owned, sorted by (lamport, event_id) */
    size_t      n_changes, cap_changes;
    uint8_t     sip_key [crypto_shorthash_KEYBYTES];
    s_member_t *members;                    /* owned, arrival order */
    size_t      n_members, cap_members;
    size_t      n_current;
    s_index_t   member_index;
    s_invite_t *invites;                    /* owned slots */
    size_t      n_slots, cap_invites;       /* slots used so far (pending + free) */
    size_t      n_invites;                  /* pending */
    uint32_t    free_head;                  /* slot + 1, 0 = none */
    s_index_t   invite_index;
};

/* ---- hash index ---------------------------------------------------------- */

static uint64_t
s_hash (const membership_t *self, const void *a, size_t alen, const void *b, size_t blen)
{
    uint8_t buf [ULID_SIZE + HEARTH_KEY_BYTES];
    memcpy (buf, a, alen);
    if (blen)
        memcpy (buf + alen, b, blen);
    uint8_t out [crypto_shorthash_BYTES];
    crypto_shorthash (out, buf, alen + blen, self->sip_key);
    uint64_t h;
    memcpy (&h, out, sizeof h);
    return h;
}

static uint64_t
s_member_hash (const membership_t *self, const uint8_t *key)
{
    return s_hash (self, key, HEARTH_KEY_BYTES, NULL, 0);
}

static uint64_t
s_invite_hash (const membership_t *self, const char *event_id, const uint8_t *invitee)
{
    return s_hash (self, event_id, ULID_LEN, invitee, HEARTH_KEY_BYTES);
}

/*  Hash of the entry an index slot names. */
static uint64_t
s_entry_hash (const membership_t *self, const s_index_t *ix, uint32_t entry)
{
    if (ix == &self->member_index)
        return s_member_hash (self, self->members [entry].key);
    const s_invite_t *v = &self->invites [entry];
    return s_invite_hash (self, v->event_id, v->invitee);
}

/*  Insert entry (not present) into ix; grows it first. 0 or HEARTH_ENOMEM. */
static int
s_index_put (membership_t *self, s_index_t *ix, size_t n_after, uint32_t entry)
{
    if (n_after * 4 > ix->cap * 3) {
        size_t cap = ix->cap? ix->cap * 2: 64;
        while (n_after * 4 > cap * 3)
            cap *= 2;
        uint32_t *slots = (uint32_t *) calloc (cap, sizeof *slots);
        if (!slots)
            return HEARTH_ENOMEM;
        for (size_t i = 0; i < ix->cap; i++) {
            if (!ix->slots [i])
                continue;
            size_t at = (size_t) s_entry_hash (self, ix, ix->slots [i] - 1) & (cap - 1);
            while (slots [at])
                at = (at + 1) & (cap - 1);
            slots [at] = ix->slots [i];
        }
        free (ix->slots);
        ix->slots = slots;
        ix->cap = cap;
    }
    size_t at = (size_t) s_entry_hash (self, ix, entry) & (ix->cap - 1);
    while (ix->slots [at])
        at = (at + 1) & (ix->cap - 1);
    ix->slots [at] = entry + 1;
    return 0;
}

/*  Remove entry from ix (backward-shift deletion, no tombstones). */
static void
s_index_del (membership_t *self, s_index_t *ix, uint32_t entry)
{
    size_t mask = ix->cap - 1;
    size_t at = (size_t) s_entry_hash (self, ix, entry) & mask;
    while (ix->slots [at] && ix->slots [at] != entry + 1)
        at = (at + 1) & mask;
    if (!ix->slots [at])
        return;                             /* not indexed: nothing to do */
    size_t hole = at;
    for (size_t j = (hole + 1) & mask; ix->slots [j]; j = (j + 1) & mask) {
        size_t home = (size_t) s_entry_hash (self, ix, ix->slots [j] - 1) & mask;
        /*  j's entry may fill the hole unless its home lies in (hole, j]. */
        int stays = hole <= j? (home > hole && home <= j): (home > hole || home <= j);
        if (!stays) {
            ix->slots [hole] = ix->slots [j];
            hole = j;
        }
    }
    ix->slots [hole] = 0;
}

/* ---- lookups ------------------------------------------------------------- */

/*  Index of the member with key, or -1. */
static long
s_member_index (const membership_t *self, const uint8_t *key)
{
    const s_index_t *ix = &self->member_index;
    if (!ix->cap)
        return -1;
    size_t mask = ix->cap - 1;
    for (size_t at = (size_t) s_member_hash (self, key) & mask; ix->slots [at]; at = (at + 1) & mask)
        if (memcmp (self->members [ix->slots [at] - 1].key, key, HEARTH_KEY_BYTES) == 0)
            return (long) ix->slots [at] - 1;
    return -1;
}

static const s_member_t *
s_member (const membership_t *self, const uint8_t *key)
{
    long i = s_member_index (self, key);
    return i >= 0? &self->members [i]: NULL;
}

/*  Slot of the pending invite (event_id, invitee), or -1. */
static long
s_invite_slot (const membership_t *self, const char *event_id, const uint8_t *invitee)
{
    const s_index_t *ix = &self->invite_index;
    if (!ix->cap)
        return -1;
    size_t mask = ix->cap - 1;
    for (size_t at = (size_t) s_invite_hash (self, event_id, invitee) & mask; ix->slots [at];
         at = (at + 1) & mask) {
        const s_invite_t *v = &self->invites [ix->slots [at] - 1];
        if (memcmp (v->event_id, event_id, ULID_LEN) == 0
        &&  memcmp (v->invitee, invitee, HEARTH_KEY_BYTES) == 0)
            return (long) ix->slots [at] - 1;
    }
    return -1;
}

static int
s_is_root (const membership_t *self, const uint8_t *key)
{
    return memcmp (key, self->community, HEARTH_KEY_BYTES) == 0;
}

/* ---- the invite budget (pure rules on event data) ------------------------ */

/*  1 if the invite's own window is valid: not expired when signed, valid
    for at most MEMBERSHIP_INVITE_MAX_TTL_MS. */
static int
s_invite_window_ok (const Hearth__Event *e)
{
    uint64_t wall = e->wall_clock_ms, expires = e->member_invited->expires_at_ms;
    return expires > wall && expires - wall <= MEMBERSHIP_INVITE_MAX_TTL_MS;
}

/*  1 if an invite expiring at expires stays in the table while its
    inviter's invite clock is clock. */
static int
s_invite_alive (uint64_t expires, uint64_t clock)
{
    return expires > UINT64_MAX - MEMBERSHIP_INVITE_GRACE_MS
        || expires + MEMBERSHIP_INVITE_GRACE_MS > clock;
}

/*  Pending invites an inviter at `level` may hold. */
static uint32_t
s_invite_cap (int level)
{
    return level >= HEARTH__LEVEL__LEVEL_TRUSTED? MEMBERSHIP_INVITES_PER_TRUSTED
                                                : MEMBERSHIP_INVITES_PER_MEMBER;
}

/*  Invites of m still alive at clock. */
static uint32_t
s_invites_alive (const membership_t *self, const s_member_t *m, uint64_t clock)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < m->n_inv; i++)
        n += (uint32_t) s_invite_alive (self->invites [m->inv [i]].expires_at_ms, clock);
    return n;
}

/*  1 if a valid invite ev by inviter m would enter the table (it is alive
    at the inviter's clock, and no entry with its (event_id, invitee) and a
    smaller inviter key is pending). */
static int
s_invite_enters (const membership_t *self, const s_member_t *m, const event_t *ev)
{
    const Hearth__Event *e = event_body (ev);
    uint64_t clock = m->invite_clock_ms > e->wall_clock_ms? m->invite_clock_ms: e->wall_clock_ms;
    if (!s_invite_alive (e->member_invited->expires_at_ms, clock))
        return 0;
    long slot = s_invite_slot (self, e->event_id, e->member_invited->invitee.data);
    return slot < 0
        || memcmp (event_author (ev), self->members [self->invites [slot].inviter].key, HEARTH_KEY_BYTES) < 0;
}

/* ---- life cycle -------------------------------------------------------- */

membership_t *
membership_new (const uint8_t community_id [32])
{
    if (sodium_init () < 0)
        return NULL;
    membership_t *self = (membership_t *) calloc (1, sizeof (membership_t));
    if (self) {
        memcpy (self->community, community_id, HEARTH_KEY_BYTES);
        crypto_shorthash_keygen (self->sip_key);
    }
    return self;
}

static void
s_state_free (membership_t *self)
{
    for (size_t i = 0; i < self->n_members; i++)
        free (self->members [i].inv);
    free (self->members);
    free (self->invites);
    free (self->changes);
    free (self->member_index.slots);
    free (self->invite_index.slots);
}

void
membership_destroy (membership_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_state_free (*self_p);
    free (*self_p);
    *self_p = NULL;
}

void
membership_reset (membership_t *self, const uint8_t community_id [32])
{
    for (size_t i = 0; i < self->n_members; i++) {
        free (self->members [i].inv);
        self->members [i].inv = NULL;
    }
    memcpy (self->community, community_id, HEARTH_KEY_BYTES);
    self->n_members = self->n_current = self->n_invites = self->n_slots = 0;
    self->n_changes = 0;
    self->to_demote = self->to_revoke = 0;
    self->free_head = 0;
    if (self->member_index.cap)
        memset (self->member_index.slots, 0, self->member_index.cap * sizeof (uint32_t));
    if (self->invite_index.cap)
        memset (self->invite_index.slots, 0, self->invite_index.cap * sizeof (uint32_t));
}

/* ---- governance: the replay of signatures (pure) ------------------------- */

static void s_invite_remove (membership_t *self, uint32_t slot);

/*  A proposal during a replay. */
typedef struct {
    const s_change_t *c;                    /* the proposal's signature */
    uint32_t  author, target;               /* member indexes */
    int       state;                        /* MEMBERSHIP_PROPOSAL_* */
    uint32_t  signers [MEMBERSHIP_MAX_SIGNATURES];
    uint32_t  n_signers;
} s_prop_t;

/*  The replay's state: levels over the base levels, open proposals. */
typedef struct {
    int       *level;                       /* owned, per member; NONE once revoked */
    uint8_t   *revoked;                     /* owned, per member */
    const char **revoked_by;                /* owned array, per member: event ids borrowed */
    uint64_t  *clock;                       /* owned, per member: latest wall_clock_ms of its signatures */
    uint8_t   *present;                     /* owned, per member: joined before the replay's place */
    uint32_t  *order;                       /* owned: members by since_lamport */
    size_t     joined;                      /* members of order present so far */
    size_t     count_ge [4];                /* present unrevoked members at level >= L */
    s_prop_t  *props;                       /* owned, in replay order */
    size_t     n_props, cap_props;
    size_t     n_open;
    const char *cause;                      /* event id of the signature being replayed */
    int        author_revoked;              /* the last step's author was revoked at its place */
} s_replay_t;

static int
s_threshold_policy (const membership_t *self, int type)
{
    uint32_t t = type == HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_PROMOTED? 1
               : type == HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_DEMOTED
               ? (self->to_demote? self->to_demote: MEMBERSHIP_DEFAULT_TO_DEMOTE)
               : (self->to_revoke? self->to_revoke: MEMBERSHIP_DEFAULT_TO_REVOKE);
    return (int) (t > MEMBERSHIP_MAX_SIGNATURES? MEMBERSHIP_MAX_SIGNATURES: t);
}

/*  1 if member a may sign a change of type (to new_level) of member t now. */
static int
s_eligible (const membership_t *self, const s_replay_t *r, uint32_t a, uint32_t t, int type, int new_level)
{
    if (a == t || r->revoked [a] || !r->present [a])
        return 0;
    if (type == HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_PROMOTED)
        return r->level [a] == HEARTH__LEVEL__LEVEL_ANCHOR
            && (new_level < HEARTH__LEVEL__LEVEL_ANCHOR || s_is_root (self, self->members [a].key));
    return r->level [a] >= HEARTH__LEVEL__LEVEL_TRUSTED && r->level [a] >= r->level [t];
}

/*  Members who may sign such a change of t now (at least 1). */
static uint32_t
s_eligible_count (const s_replay_t *r, uint32_t t, int type, int new_level)
{
    size_t n;
    if (type == HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_PROMOTED)
        n = new_level == HEARTH__LEVEL__LEVEL_ANCHOR? 1: r->count_ge [HEARTH__LEVEL__LEVEL_ANCHOR];
    else {
        int l = r->level [t] > HEARTH__LEVEL__LEVEL_TRUSTED? r->level [t]: HEARTH__LEVEL__LEVEL_TRUSTED;
        n = r->count_ge [l] - (r->level [t] >= HEARTH__LEVEL__LEVEL_TRUSTED? 1: 0);
    }
    return n? (uint32_t) n: 1;
}

static void
s_count_level (s_replay_t *r, int level, int delta)
{
    for (int l = 0; l <= level && l < 4; l++)
        r->count_ge [l] = (size_t) ((long) r->count_ge [l] + delta);
}

/*  Signatures of p that count now; threshold and eligible into the pointers. */
static uint32_t
s_prop_tally (const membership_t *self, const s_replay_t *r, const s_prop_t *p,
              uint32_t *threshold, uint32_t *eligible)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < p->n_signers; i++)
        n += (uint32_t) s_eligible (self, r, p->signers [i], p->target, p->c->type, p->c->new_level);
    uint32_t e = s_eligible_count (r, p->target, p->c->type, p->c->new_level);
    uint32_t t = (uint32_t) s_threshold_policy (self, p->c->type);
    *eligible = e;
    *threshold = t < e? t: e;
    return n;
}

static void
s_prop_close (s_replay_t *r, s_prop_t *p, int state)
{
    if (p->state == MEMBERSHIP_PROPOSAL_OPEN)
        r->n_open--;
    p->state = state;
}

/*  Decide p if it can be: moot, or enough signatures. 1 if the levels changed. */
static int
s_prop_decide (const membership_t *self, s_replay_t *r, s_prop_t *p)
{
    if (p->state != MEMBERSHIP_PROPOSAL_OPEN)
        return 0;
    uint32_t t = p->target;
    int type = p->c->type, new_level = p->c->new_level;
    if (r->revoked [t]
    ||  (type == HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_PROMOTED && r->level [t] >= new_level)
    ||  (type == HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_DEMOTED && r->level [t] <= new_level)) {
        s_prop_close (r, p, MEMBERSHIP_PROPOSAL_MOOT);
        return 0;
    }
    uint32_t threshold, eligible;
    if (s_prop_tally (self, r, p, &threshold, &eligible) < threshold)
        return 0;
    s_count_level (r, r->level [t], -1);
    if (type == HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_REVOKED) {
        r->revoked [t] = 1;
        r->level [t] = HEARTH__LEVEL__LEVEL_NONE;
        r->revoked_by [t] = r->cause;
    }
    else {
        r->level [t] = new_level;
        s_count_level (r, new_level, +1);
    }
    s_prop_close (r, p, MEMBERSHIP_PROPOSAL_DONE);
    return 1;
}

/*  After a change of levels: decide every open proposal that now can (a
    signer's or the target's level moved, or fewer are eligible), until
    none does. */
static void
s_props_settle (const membership_t *self, s_replay_t *r)
{
    int changed = 1;
    while (changed) {
        changed = 0;
        for (size_t i = 0; i < r->n_props; i++)
            changed |= s_prop_decide (self, r, &r->props [i]);
    }
}

/*  Open proposals of author a (all authors if a is UINT32_MAX) that have
    not expired by clock: a proposal without expiry is never open for
    endorsements, so it holds no room. */
static uint32_t
s_props_open (const s_replay_t *r, uint32_t a, uint64_t clock)
{
    uint32_t n = 0;
    for (size_t i = 0; i < r->n_props; i++) {
        const s_prop_t *p = &r->props [i];
        if (p->state == MEMBERSHIP_PROPOSAL_OPEN && (a == UINT32_MAX || p->author == a)
        &&  p->c->expires_at_ms >= clock && p->c->expires_at_ms)
            n++;
    }
    return n;
}

static s_prop_t *
s_prop_find (s_replay_t *r, const char *event_id)
{
    for (size_t i = r->n_props; i-- > 0; )
        if (strcmp (r->props [i].c->event_id, event_id) == 0)
            return &r->props [i];
    return NULL;
}

/*  Replay one signature c. 1 if it counted, 0 if not, HEARTH_ENOMEM. */
static int
s_replay_step (const membership_t *self, s_replay_t *r, const s_change_t *c)
{
    long ai = s_member_index (self, c->author), ti = s_member_index (self, c->target);
    if (ai < 0 || ti < 0 || s_is_root (self, c->target))
        return 0;
    uint32_t a = (uint32_t) ai, t = (uint32_t) ti;
    /*  Members whose join comes before this signature are present. */
    while (r->joined < self->n_members
       &&  self->members [r->order [r->joined]].since_lamport < c->lamport) {
        uint32_t j = r->order [r->joined++];
        r->present [j] = 1;
        s_count_level (r, r->level [j], +1);
    }
    r->author_revoked = r->revoked [a];
    if (r->revoked [a] || r->revoked [t] || !r->present [a] || !r->present [t])
        return 0;
    if (!s_eligible (self, r, a, t, c->type, c->new_level))
        return 0;
    uint64_t clock = c->wall_clock_ms > r->clock [a]? c->wall_clock_ms: r->clock [a];
    s_prop_t *p;
    if (!c->proposal [0]) {
        if ((c->type == HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_PROMOTED && c->new_level <= r->level [t])
        ||  (c->type == HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_DEMOTED && c->new_level >= r->level [t]))
            return 0;
        if (c->expires_at_ms
        &&  (s_props_open (r, a, clock) >= MEMBERSHIP_PROPOSALS_PER_MEMBER
          || s_props_open (r, UINT32_MAX, c->wall_clock_ms) >= MEMBERSHIP_MAX_PROPOSALS))
            return 0;
        if (HEARTH_VEC_GROW (r->props, r->cap_props, r->n_props + 1, 16))
            return HEARTH_ENOMEM;
        p = &r->props [r->n_props++];
        memset (p, 0, sizeof *p);
        p->c = c;
        p->author = a;
        p->target = t;
        p->state = MEMBERSHIP_PROPOSAL_OPEN;
        r->n_open++;
    }
    else {
        p = s_prop_find (r, c->proposal);
        if (!p || p->state != MEMBERSHIP_PROPOSAL_OPEN || p->c->type != c->type || p->target != t
        ||  p->c->new_level != c->new_level || c->wall_clock_ms > p->c->expires_at_ms)
            return 0;
        for (uint32_t i = 0; i < p->n_signers; i++)
            if (p->signers [i] == a)
                return 0;                   /* signed already */
    }
    if (p->n_signers == MEMBERSHIP_MAX_SIGNATURES) {
        /*  Full: drop signers no longer eligible (a full list of eligible
            ones would have decided it). */
        uint32_t kept = 0;
        for (uint32_t i = 0; i < p->n_signers; i++)
            if (s_eligible (self, r, p->signers [i], t, c->type, c->new_level))
                p->signers [kept++] = p->signers [i];
        p->n_signers = kept;
        if (kept == MEMBERSHIP_MAX_SIGNATURES)
            return 0;
    }
    p->signers [p->n_signers++] = a;
    r->clock [a] = clock;
    r->cause = c->event_id;
    if (s_prop_decide (self, r, p))
        s_props_settle (self, r);
    return 1;
}

static void
s_replay_free (s_replay_t *r)
{
    free (r->level);
    free (r->revoked);
    free (r->revoked_by);
    free (r->clock);
    free (r->present);
    free (r->order);
    free (r->props);
    memset (r, 0, sizeof *r);
}

/*  The replay's order: (lamport, event_id), then the author (two authors
    may pick one id). */
static int
s_change_cmp (const s_change_t *x, const s_change_t *y)
{
    if (x->lamport != y->lamport)
        return x->lamport < y->lamport? -1: 1;
    int c = strcmp (x->event_id, y->event_id);
    return c? c: memcmp (x->author, y->author, HEARTH_KEY_BYTES);
}

/*  A member's place in the replay: by the lamport of its join (members
    of one lamport join together, so ties need no order). */
typedef struct {
    uint64_t since;
    uint32_t index;
} s_since_t;

static int
s_since_cmp (const void *a, const void *b)
{
    const s_since_t *x = (const s_since_t *) a, *y = (const s_since_t *) b;
    return x->since < y->since? -1: x->since > y->since? 1: 0;
}

/*  Replay every kept signature, and extra (not kept, may be NULL) at its
    place, over the base levels. *extra_counted: 1 if extra counted, 0 if
    not, -1 if not because its author was revoked at its place.
    0 or HEARTH_ENOMEM (r freed). */
static int
s_replay (const membership_t *self, s_replay_t *r, const s_change_t *extra, int *extra_counted)
{
    memset (r, 0, sizeof *r);
    size_t n = self->n_members? self->n_members: 1;
    r->level = (int *) calloc (n, sizeof *r->level);
    r->revoked = (uint8_t *) calloc (n, 1);
    r->revoked_by = (const char **) calloc (n, sizeof *r->revoked_by);
    r->clock = (uint64_t *) calloc (n, sizeof *r->clock);
    r->present = (uint8_t *) calloc (n, 1);
    r->order = (uint32_t *) calloc (n, sizeof *r->order);
    if (!r->level || !r->revoked || !r->revoked_by || !r->clock || !r->present || !r->order) {
        s_replay_free (r);
        return HEARTH_ENOMEM;
    }
    int sorted = 1;
    for (size_t i = 0; i < self->n_members; i++) {
        r->level [i] = self->members [i].base_level;
        r->order [i] = (uint32_t) i;
        if (i && self->members [i].since_lamport < self->members [i - 1].since_lamport)
            sorted = 0;
    }
    if (!sorted) {
        s_since_t *tmp = (s_since_t *) malloc (n * sizeof *tmp);
        if (!tmp) {
            s_replay_free (r);
            return HEARTH_ENOMEM;
        }
        for (size_t i = 0; i < self->n_members; i++)
            tmp [i] = (s_since_t) { self->members [i].since_lamport, (uint32_t) i };
        qsort (tmp, self->n_members, sizeof *tmp, s_since_cmp);
        for (size_t i = 0; i < self->n_members; i++)
            r->order [i] = tmp [i].index;
        free (tmp);
    }
    if (extra_counted)
        *extra_counted = 0;
    int extra_done = !extra;
    for (size_t i = 0; i <= self->n_changes; i++) {
        if (!extra_done && (i == self->n_changes || s_change_cmp (extra, &self->changes [i]) < 0)) {
            r->author_revoked = 0;
            int rc = s_replay_step (self, r, extra);
            if (rc < 0) {
                s_replay_free (r);
                return rc;
            }
            *extra_counted = rc? 1: r->author_revoked? -1: 0;
            extra_done = 1;
        }
        if (i == self->n_changes)
            break;
        int rc = s_replay_step (self, r, &self->changes [i]);
        if (rc < 0) {
            s_replay_free (r);
            return rc;
        }
    }
    return 0;
}

/*  The signature of a change event. */
static void
s_change_of (const event_t *ev, s_change_t *c)
{
    const Hearth__Event *e = event_body (ev);
    const Hearth__MemberChange *p = e->member_change;
    memset (c, 0, sizeof *c);
    memcpy (c->event_id, e->event_id, ULID_LEN);
    if (p->proposal_event_id && strlen (p->proposal_event_id) == ULID_LEN)
        memcpy (c->proposal, p->proposal_event_id, ULID_LEN);
    c->lamport = e->lamport;
    c->wall_clock_ms = e->wall_clock_ms;
    c->expires_at_ms = c->proposal [0]? 0: p->expires_at_ms;
    memcpy (c->author, event_author (ev), HEARTH_KEY_BYTES);
    memcpy (c->target, p->target.data, HEARTH_KEY_BYTES);
    c->type = (int) e->type;
    c->new_level = (int) p->new_level;
}

/*  1 if a change event's own fields are valid: a proposal's window is 0
    (no endorsements) or wall < expires <= wall + the longest TTL; an
    endorsement names a ULID and carries no window of its own. */
static int
s_change_window_ok (const Hearth__Event *e)
{
    const Hearth__MemberChange *p = e->member_change;
    if (p->proposal_event_id && *p->proposal_event_id)
        return ulid_valid (p->proposal_event_id) && p->expires_at_ms == 0
            && strcmp (p->proposal_event_id, e->event_id) != 0;
    uint64_t wall = e->wall_clock_ms, expires = p->expires_at_ms;
    return expires == 0 || (expires > wall && expires - wall <= MEMBERSHIP_PROPOSAL_MAX_TTL_MS);
}

/*  Write a replay's levels into the members; a newly revoked member's
    pending invites die. */
static void
s_replay_commit (membership_t *self, const s_replay_t *r)
{
    self->n_current = 0;
    for (size_t i = 0; i < self->n_members; i++) {
        s_member_t *m = &self->members [i];
        int was = m->revoked;
        m->level = r->level [i];
        m->revoked = r->revoked [i];
        memset (m->revoked_by, 0, sizeof m->revoked_by);
        if (r->revoked_by [i])
            memcpy (m->revoked_by, r->revoked_by [i], ULID_LEN);
        self->n_current += (size_t) !m->revoked;
        if (m->revoked && !was)
            while (m->n_inv)
                s_invite_remove (self, m->inv [m->n_inv - 1]);
    }
}

/*  Keep c (sorted) and replay. 0, HEARTH_ECAPACITY or HEARTH_ENOMEM. */
static int
s_change_add (membership_t *self, const s_change_t *c)
{
    size_t lo = 0, hi = self->n_changes;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int cmp = s_change_cmp (&self->changes [mid], c);
        if (cmp == 0)
            return 0;                       /* kept already */
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (self->n_changes >= MEMBERSHIP_MAX_CHANGES)
        return HEARTH_ECAPACITY;
    if (HEARTH_VEC_GROW (self->changes, self->cap_changes, self->n_changes + 1, 16))
        return HEARTH_ENOMEM;
    memmove (&self->changes [lo + 1], &self->changes [lo], (self->n_changes - lo) * sizeof *c);
    self->changes [lo] = *c;
    self->n_changes++;
    return 0;
}

/*  Replay the kept signatures and commit the result. */
static int
s_resettle (membership_t *self)
{
    s_replay_t r;
    int rc = s_replay (self, &r, NULL, NULL);
    if (rc)
        return rc;
    s_replay_commit (self, &r);
    s_replay_free (&r);
    return 0;
}

/* ---- check --------------------------------------------------------------- */

event_reject_t
membership_check (const membership_t *self, const event_t *ev)
{
    const Hearth__Event *e = event_body (ev);
    if (memcmp (e->community_id.data, self->community, HEARTH_KEY_BYTES) != 0)
        return EVENT_REJECT_COMMUNITY;
    const uint8_t *author = event_author (ev);
    const s_member_t *me = s_member (self, author);

    if (e->type == HEARTH__EVENT_TYPE__COMMUNITY_CREATED) {
        /*  Only the root, only once (the root stays a member for good). */
        if (!s_is_root (self, author) || me)
            return EVENT_REJECT_TYPE_RULE;
        return EVENT_REJECT_NONE;
    }
    if (e->type == HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_JOINED) {
        if (me && me->revoked)
            return EVENT_REJECT_REVOKED;
        if (me || self->n_members >= MEMBERSHIP_MAX_MEMBERS)
            return EVENT_REJECT_TYPE_RULE;
        long slot = s_invite_slot (self, e->member_joined->invite_event_id, author);
        if (slot < 0 || e->wall_clock_ms > self->invites [slot].expires_at_ms
        ||  self->members [self->invites [slot].inviter].revoked)
            return EVENT_REJECT_TYPE_RULE;
        return EVENT_REJECT_NONE;
    }
    /*  Everything else needs a member as author. */
    if (!me)
        return EVENT_REJECT_MEMBERSHIP;
    if (e->type == HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_PROMOTED
    ||  e->type == HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_DEMOTED
    ||  e->type == HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_REVOKED) {
        /*  A signature is kept iff it counts at its place in the replay
            (so a node that refuses one holds the state of one that kept
            it: see membership.h). */
        if (!s_change_window_ok (e) || self->n_changes >= MEMBERSHIP_MAX_CHANGES)
            return EVENT_REJECT_TYPE_RULE;
        s_change_t c;
        s_change_of (ev, &c);
        s_replay_t r;
        int counted = 0;
        if (s_replay (self, &r, &c, &counted) != 0)
            return EVENT_REJECT_TYPE_RULE;  /* out of memory: offered again later */
        s_replay_free (&r);
        /*  Refused for good only when its author was revoked at its
            place; else it may count once what it needs arrives. */
        return counted > 0? EVENT_REJECT_NONE
             : counted < 0? EVENT_REJECT_REVOKED: EVENT_REJECT_TYPE_RULE;
    }
    if (me->revoked)
        return EVENT_REJECT_REVOKED;
    int level = me->level;

    switch (e->type) {
        case HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_INVITED: {
            const Hearth__MemberInvited *p = e->member_invited;
            if (p->initial_level > HEARTH__LEVEL__LEVEL_MEMBER && level < HEARTH__LEVEL__LEVEL_TRUSTED)
                return EVENT_REJECT_TYPE_RULE;
            const s_member_t *invitee = s_member (self, p->invitee.data);
            if (invitee && invitee->revoked)
                return EVENT_REJECT_TYPE_RULE;
            if (!s_invite_window_ok (e))
                return EVENT_REJECT_TYPE_RULE;
            if (!s_invite_enters (self, me, ev))
                return EVENT_REJECT_NONE;   /* valid, takes no room */
            /*  The budget, after pruning at the clock this invite sets. */
            uint64_t clock = me->invite_clock_ms > e->wall_clock_ms? me->invite_clock_ms: e->wall_clock_ms;
            uint32_t held = s_invites_alive (self, me, clock);
            if (held >= s_invite_cap (level)
            ||  self->n_invites - (me->n_inv - held) >= MEMBERSHIP_MAX_INVITES)
                return EVENT_REJECT_TYPE_RULE;
            return EVENT_REJECT_NONE;
        }
        default:
            return EVENT_REJECT_NONE;
    }
}

/* ---- apply --------------------------------------------------------------- */

/*  Append a member (not present). 0, HEARTH_ECAPACITY, HEARTH_ENOMEM. */
static int
s_member_add (membership_t *self, const uint8_t *key, int level, uint64_t lamport, uint64_t wall_ms,
              long inviter)
{
    if (s_member_index (self, key) >= 0)
        return 0;                           /* check refuses this; never twice */
    if (self->n_members >= MEMBERSHIP_MAX_MEMBERS)
        return HEARTH_ECAPACITY;
    if (HEARTH_VEC_GROW (self->members, self->cap_members, self->n_members + 1, 16))
        return HEARTH_ENOMEM;
    s_member_t *m = &self->members [self->n_members];
    memset (m, 0, sizeof *m);
    memcpy (m->key, key, HEARTH_KEY_BYTES);
    m->level = m->base_level = level;
    m->since_lamport = lamport;
    m->since_ms = wall_ms;
    m->inviter = inviter >= 0? (uint32_t) inviter: (uint32_t) self->n_members;
    if (s_index_put (self, &self->member_index, self->n_members + 1, (uint32_t) self->n_members))
        return HEARTH_ENOMEM;
    self->n_members++;
    self->n_current++;
    return 0;
}

/*  Remove the pending invite in slot: from the index, its inviter's list,
    into the free list. */
static void
s_invite_remove (membership_t *self, uint32_t slot)
{
    s_invite_t *v = &self->invites [slot];
    s_index_del (self, &self->invite_index, slot);
    s_member_t *m = &self->members [v->inviter];
    for (uint32_t i = 0; i < m->n_inv; i++)
        if (m->inv [i] == slot) {
            m->inv [i] = m->inv [--m->n_inv];
            break;
        }
    v->level = 0;
    v->next_free = self->free_head;
    self->free_head = slot + 1;
    self->n_invites--;
}

/*  Add a pending invite for inviter (member index). 0 or HEARTH_ENOMEM. */
static int
s_invite_insert (membership_t *self, uint32_t inviter, const char *event_id, const uint8_t *invitee,
                 int level, uint64_t expires_at_ms)
{
    s_member_t *m = &self->members [inviter];
    if (m->n_inv == m->cap_inv) {
        uint32_t cap = m->cap_inv? m->cap_inv * 2: 4;
        uint32_t *inv = (uint32_t *) realloc (m->inv, cap * sizeof *inv);
        if (!inv)
            return HEARTH_ENOMEM;
        m->inv = inv;
        m->cap_inv = cap;
    }
    uint32_t slot;
    if (self->free_head)
        slot = self->free_head - 1;
    else {
        if (HEARTH_VEC_GROW (self->invites, self->cap_invites, self->n_slots + 1, 16))
            return HEARTH_ENOMEM;
        slot = (uint32_t) self->n_slots;
    }
    s_invite_t *v = &self->invites [slot];
    memcpy (v->event_id, event_id, ULID_SIZE);
    memcpy (v->invitee, invitee, HEARTH_KEY_BYTES);
    v->level = level;
    v->expires_at_ms = expires_at_ms;
    v->inviter = inviter;
    if (s_index_put (self, &self->invite_index, self->n_invites + 1, slot)) {
        v->level = 0;                       /* the slot stays free */
        return HEARTH_ENOMEM;
    }
    if (self->free_head)
        self->free_head = v->next_free;
    else
        self->n_slots++;
    v->next_free = 0;
    m->inv [m->n_inv++] = slot;
    self->n_invites++;
    return 0;
}

/*  Drop m's invites that expired MEMBERSHIP_INVITE_GRACE_MS before its
    invite clock. */
static void
s_invite_prune (membership_t *self, uint32_t inviter)
{
    s_member_t *m = &self->members [inviter];
    for (uint32_t i = m->n_inv; i-- > 0; ) {
        uint32_t slot = m->inv [i];
        if (!s_invite_alive (self->invites [slot].expires_at_ms, m->invite_clock_ms))
            s_invite_remove (self, slot);
    }
}

/*  Fold an invite: advance the inviter's clock, prune, then add it if it
    is valid, alive and within the budget (what membership_check let in;
    invites stored before these rules that break them are ignored). */
static int
s_invite_add (membership_t *self, const event_t *ev)
{
    const Hearth__Event *e = event_body (ev);
    const Hearth__MemberInvited *p = e->member_invited;
    long inviter = s_member_index (self, event_author (ev));
    if (inviter < 0 || !s_invite_window_ok (e))
        return 0;
    s_member_t *m = &self->members [inviter];
    if (e->wall_clock_ms > m->invite_clock_ms)
        m->invite_clock_ms = e->wall_clock_ms;
    s_invite_prune (self, (uint32_t) inviter);
    if (!s_invite_enters (self, m, ev))
        return 0;
    /*  Same (event_id, invitee) from a larger inviter key: replaced. */
    long slot = s_invite_slot (self, e->event_id, p->invitee.data);
    if (slot >= 0)
        s_invite_remove (self, (uint32_t) slot);
    if (m->n_inv >= s_invite_cap (m->level) || self->n_invites >= MEMBERSHIP_MAX_INVITES)
        return 0;                           /* over budget: check refuses it */
    return s_invite_insert (self, (uint32_t) inviter, e->event_id, p->invitee.data,
                            p->initial_level, p->expires_at_ms);
}

int
membership_apply (membership_t *self, const event_t *ev)
{
    const Hearth__Event *e = event_body (ev);
    if (memcmp (e->community_id.data, self->community, HEARTH_KEY_BYTES) != 0)
        return 0;
    switch (e->type) {
        case HEARTH__EVENT_TYPE__COMMUNITY_CREATED:
            if (!s_is_root (self, event_author (ev)) || s_member_index (self, event_author (ev)) >= 0)
                return 0;
            if (e->community_created && e->community_created->policy) {
                self->to_demote = e->community_created->policy->min_signatures_to_demote;
                self->to_revoke = e->community_created->policy->min_signatures_to_revoke;
            }
            return s_member_add (self, event_author (ev), HEARTH__LEVEL__LEVEL_ANCHOR, e->lamport,
                                 e->wall_clock_ms, -1);
        case HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_INVITED:
            return s_invite_add (self, ev);
        case HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_JOINED: {
            long slot = s_invite_slot (self, e->member_joined->invite_event_id, event_author (ev));
            if (slot < 0 || self->members [self->invites [slot].inviter].revoked)
                return 0;
            int rc = s_member_add (self, event_author (ev), self->invites [slot].level, e->lamport,
                                   e->wall_clock_ms, (long) self->invites [slot].inviter);
            /*  Joined before a kept signature (a late arrival): the
                eligible counts at that signature's place change. */
            if (rc == 0 && self->n_changes && e->lamport < self->changes [self->n_changes - 1].lamport)
                rc = s_resettle (self);
            if (rc == 0)
                s_invite_remove (self, (uint32_t) slot);
            return rc;
        }
        case HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_PROMOTED:
        case HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_DEMOTED:
        case HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_REVOKED: {
            if (!s_change_window_ok (e))
                return 0;
            s_change_t c;
            s_change_of (ev, &c);
            int rc = s_change_add (self, &c);
            return rc? rc: s_resettle (self);
        }
        default:
            return 0;
    }
}

/* ---- queries ------------------------------------------------------------- */

int
membership_level (const membership_t *self, const uint8_t key [32])
{
    const s_member_t *m = s_member (self, key);
    return m && !m->revoked? m->level: HEARTH__LEVEL__LEVEL_NONE;
}

int
membership_revoked (const membership_t *self, const uint8_t key [32])
{
    const s_member_t *m = s_member (self, key);
    return m && m->revoked;
}

const char *
membership_revoked_by (const membership_t *self, const uint8_t key [32])
{
    const s_member_t *m = s_member (self, key);
    return m && m->revoked? m->revoked_by: NULL;
}

/*  Linear over the invite slots: called once per ZAP handshake, not per
    event, and bounded by MEMBERSHIP_MAX_INVITES. Whether an invite is
    live is judged by the local clock here: admission is local. */
int
membership_invite_pending (const membership_t *self, const uint8_t key [32], uint64_t now_ms)
{
    if (membership_revoked (self, key))
        return 0;
    for (size_t i = 0; i < self->n_slots; i++) {
        const s_invite_t *v = &self->invites [i];
        if (v->level && v->expires_at_ms >= now_ms && memcmp (v->invitee, key, HEARTH_KEY_BYTES) == 0)
            return 1;
    }
    return 0;
}

size_t
membership_invites (const membership_t *self)
{
    return self->n_invites;
}

size_t
membership_invites_of (const membership_t *self, const uint8_t inviter [32])
{
    const s_member_t *m = s_member (self, inviter);
    return m? m->n_inv: 0;
}

size_t
membership_count (const membership_t *self)
{
    return self->n_current;
}

const uint8_t *
membership_community_id (const membership_t *self)
{
    return self->community;
}

size_t
membership_members (const membership_t *self)
{
    return self->n_members;
}

int
membership_member_at (const membership_t *self, size_t i, membership_member_t *out)
{
    if (i >= self->n_members)
        return HEARTH_ENOTFOUND;
    const s_member_t *m = &self->members [i];
    memset (out, 0, sizeof *out);
    memcpy (out->key, m->key, HEARTH_KEY_BYTES);
    memcpy (out->added_by, self->members [m->inviter].key, HEARTH_KEY_BYTES);
    out->level = m->revoked? HEARTH__LEVEL__LEVEL_NONE: m->level;
    out->base_level = m->base_level;
    out->revoked = m->revoked;
    out->since_lamport = m->since_lamport;
    out->since_ms = m->since_ms;
    memcpy (out->revoked_by, m->revoked_by, ULID_SIZE);
    return 0;
}

static void
s_proposal_out (const membership_t *self, const s_replay_t *r, const s_prop_t *p, membership_proposal_t *out)
{
    memset (out, 0, sizeof *out);
    memcpy (out->event_id, p->c->event_id, ULID_SIZE);
    out->type = p->c->type;
    memcpy (out->author, p->c->author, HEARTH_KEY_BYTES);
    memcpy (out->target, p->c->target, HEARTH_KEY_BYTES);
    out->new_level = p->c->new_level;
    out->lamport = p->c->lamport;
    out->wall_clock_ms = p->c->wall_clock_ms;
    out->expires_at_ms = p->c->expires_at_ms;
    out->state = p->state;
    out->n_signers = s_prop_tally (self, r, p, &out->threshold, &out->eligible);
    uint32_t n = 0;
    for (uint32_t i = 0; i < p->n_signers; i++)
        if (p->state != MEMBERSHIP_PROPOSAL_OPEN
        ||  s_eligible (self, r, p->signers [i], p->target, p->c->type, p->c->new_level))
            memcpy (out->signers [n++], self->members [p->signers [i]].key, HEARTH_KEY_BYTES);
    if (p->state != MEMBERSHIP_PROPOSAL_OPEN)
        out->n_signers = n;                 /* who signed it, as it closed */
}

long
membership_proposals (const membership_t *self, membership_proposal_t *out, size_t max)
{
    s_replay_t r;
    int rc = s_replay (self, &r, NULL, NULL);
    if (rc)
        return rc;
    for (size_t i = 0; i < r.n_props && i < max; i++)
        s_proposal_out (self, &r, &r.props [i], &out [i]);
    long n = (long) r.n_props;
    s_replay_free (&r);
    return n;
}

int
membership_proposal_find (const membership_t *self, const char *event_id, membership_proposal_t *out)
{
    s_replay_t r;
    int rc = s_replay (self, &r, NULL, NULL);
    if (rc)
        return rc;
    s_prop_t *p = event_id? s_prop_find (&r, event_id): NULL;
    if (p)
        s_proposal_out (self, &r, p, out);
    s_replay_free (&r);
    return p? 0: HEARTH_ENOTFOUND;
}

/* ---- snapshot ------------------------------------------------------------ */

static int
s_member_ptr_cmp (const void *a, const void *b)
{
    return memcmp ((*(const s_member_t *const *) a)->key, (*(const s_member_t *const *) b)->key,
                   HEARTH_KEY_BYTES);
}

static int
s_invite_ptr_cmp (const void *a, const void *b)
{
    const s_invite_t *x = *(const s_invite_t *const *) a, *y = *(const s_invite_t *const *) b;
    int c = strcmp (x->event_id, y->event_id);
    return c? c: memcmp (x->invitee, y->invitee, HEARTH_KEY_BYTES);
}

int
membership_snapshot (const membership_t *self, uint8_t **buf, size_t *len)
{
    Hearth__MembershipSnapshot snap = HEARTH__MEMBERSHIP_SNAPSHOT__INIT;
    Hearth__MemberState *ms = (Hearth__MemberState *) calloc (self->n_members + 1, sizeof *ms);
    Hearth__MemberState **mp = (Hearth__MemberState **) calloc (self->n_members + 1, sizeof *mp);
    Hearth__InviteState *is = (Hearth__InviteState *) calloc (self->n_invites + 1, sizeof *is);
    Hearth__InviteState **ip = (Hearth__InviteState **) calloc (self->n_invites + 1, sizeof *ip);
    const s_member_t **msort = (const s_member_t **) calloc (self->n_members + 1, sizeof *msort);
    const s_invite_t **isort = (const s_invite_t **) calloc (self->n_invites + 1, sizeof *isort);
    Hearth__ChangeState *cs = (Hearth__ChangeState *) calloc (self->n_changes + 1, sizeof *cs);
    Hearth__ChangeState **cp = (Hearth__ChangeState **) calloc (self->n_changes + 1, sizeof *cp);
    int rc = HEARTH_ENOMEM;
    *buf = NULL;
    if (!ms || !mp || !is || !ip || !msort || !isort || !cs || !cp)
        goto done;
    snap.community_id.data = (uint8_t *) self->community;
    snap.community_id.len = HEARTH_KEY_BYTES;
    snap.rules_version = MEMBERSHIP_RULES_VERSION;
    for (size_t i = 0; i < self->n_members; i++)
        msort [i] = &self->members [i];
    qsort (msort, self->n_members, sizeof *msort, s_member_ptr_cmp);
    for (size_t i = 0; i < self->n_members; i++) {
        const s_member_t *m = msort [i];
        Hearth__MemberState init = HEARTH__MEMBER_STATE__INIT;
        ms [i] = init;
        ms [i].key.data = (uint8_t *) m->key;
        ms [i].key.len = HEARTH_KEY_BYTES;
        ms [i].level = (Hearth__Level) m->level;
        ms [i].revoked = m->revoked;
        ms [i].since_lamport = m->since_lamport;
        ms [i].invite_clock_ms = m->invite_clock_ms;
        ms [i].base_level = (Hearth__Level) m->base_level;
        ms [i].revoked_by = (char *) m->revoked_by;
        ms [i].added_by.data = (uint8_t *) self->members [m->inviter].key;
        ms [i].added_by.len = HEARTH_KEY_BYTES;
        ms [i].since_ms = m->since_ms;
        mp [i] = &ms [i];
    }
    snap.members = mp;
    snap.n_members = self->n_members;
    for (size_t i = 0; i < self->n_changes; i++) {
        const s_change_t *c = &self->changes [i];
        Hearth__ChangeState init = HEARTH__CHANGE_STATE__INIT;
        cs [i] = init;
        cs [i].event_id = (char *) c->event_id;
        cs [i].lamport = c->lamport;
        cs [i].wall_clock_ms = c->wall_clock_ms;
        cs [i].author.data = (uint8_t *) c->author;
        cs [i].author.len = HEARTH_KEY_BYTES;
        cs [i].type = (Hearth__EventType) c->type;
        cs [i].target.data = (uint8_t *) c->target;
        cs [i].target.len = HEARTH_KEY_BYTES;
        cs [i].new_level = (Hearth__Level) c->new_level;
        cs [i].proposal_event_id = (char *) c->proposal;
        cs [i].expires_at_ms = c->expires_at_ms;
        cp [i] = &cs [i];
    }
    snap.changes = cp;
    snap.n_changes = self->n_changes;
    Hearth__Policy policy = HEARTH__POLICY__INIT;
    policy.min_signatures_to_demote = self->to_demote;
    policy.min_signatures_to_revoke = self->to_revoke;
    snap.policy = &policy;
    size_t n = 0;
    for (size_t i = 0; i < self->n_slots; i++)
        if (self->invites [i].level)
            isort [n++] = &self->invites [i];
    qsort (isort, n, sizeof *isort, s_invite_ptr_cmp);
    for (size_t i = 0; i < n; i++) {
        const s_invite_t *v = isort [i];
        Hearth__InviteState init = HEARTH__INVITE_STATE__INIT;
        is [i] = init;
        is [i].event_id = (char *) v->event_id;
        is [i].invitee.data = (uint8_t *) v->invitee;
        is [i].invitee.len = HEARTH_KEY_BYTES;
        is [i].initial_level = (Hearth__Level) v->level;
        is [i].expires_at_ms = v->expires_at_ms;
        is [i].inviter.data = (uint8_t *) self->members [v->inviter].key;
        is [i].inviter.len = HEARTH_KEY_BYTES;
        ip [i] = &is [i];
    }
    snap.invites = ip;
    snap.n_invites = n;
    *len = hearth__membership_snapshot__get_packed_size (&snap);
    *buf = (uint8_t *) malloc (*len? *len: 1);
    if (!*buf)
        goto done;
    hearth__membership_snapshot__pack (&snap, *buf);
    rc = 0;
done:
    free (ms);
    free (mp);
    free (is);
    free (ip);
    free (msort);
    free (isort);
    free (cs);
    free (cp);
    return rc;
}

/*  Build the state of a decoded snapshot into fresh (empty, same community
    and hash key). 0 or HEARTH_ECORRUPT / HEARTH_ENOMEM. */
static int
s_restore_into (membership_t *fresh, const Hearth__MembershipSnapshot *snap)
{
    if (snap->rules_version != MEMBERSHIP_RULES_VERSION
    ||  snap->community_id.len != HEARTH_KEY_BYTES
    ||  memcmp (snap->community_id.data, fresh->community, HEARTH_KEY_BYTES) != 0
    ||  snap->n_members > MEMBERSHIP_MAX_MEMBERS || snap->n_invites > MEMBERSHIP_MAX_INVITES)
        return HEARTH_ECORRUPT;
    for (size_t i = 0; i < snap->n_members; i++) {
        const Hearth__MemberState *m = snap->members [i];
        if (m->key.len != HEARTH_KEY_BYTES || (int) m->level < HEARTH__LEVEL__LEVEL_NONE
        ||  m->level > HEARTH__LEVEL__LEVEL_ANCHOR
        ||  (i > 0 && memcmp (snap->members [i - 1]->key.data, m->key.data, HEARTH_KEY_BYTES) >= 0))
            return HEARTH_ECORRUPT;
        if ((int) m->base_level < HEARTH__LEVEL__LEVEL_MEMBER || m->base_level > HEARTH__LEVEL__LEVEL_ANCHOR
        ||  m->added_by.len != HEARTH_KEY_BYTES)
            return HEARTH_ECORRUPT;
        int rc = s_member_add (fresh, m->key.data, (int) m->base_level, m->since_lamport, m->since_ms, -1);
        if (rc)
            return rc;
        fresh->members [fresh->n_members - 1].invite_clock_ms = m->invite_clock_ms;
    }
    /*  Inviters, once every member is in. */
    for (size_t i = 0; i < snap->n_members; i++) {
        long inviter = s_member_index (fresh, snap->members [i]->added_by.data);
        if (inviter < 0)
            return HEARTH_ECORRUPT;
        fresh->members [s_member_index (fresh, snap->members [i]->key.data)].inviter = (uint32_t) inviter;
    }
    if (snap->policy) {
        fresh->to_demote = snap->policy->min_signatures_to_demote;
        fresh->to_revoke = snap->policy->min_signatures_to_revoke;
    }
    if (snap->n_changes > MEMBERSHIP_MAX_CHANGES)
        return HEARTH_ECORRUPT;
    for (size_t i = 0; i < snap->n_changes; i++) {
        const Hearth__ChangeState *v = snap->changes [i];
        if (!ulid_valid (v->event_id) || v->author.len != HEARTH_KEY_BYTES || v->target.len != HEARTH_KEY_BYTES
        ||  (v->type != HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_PROMOTED
          && v->type != HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_DEMOTED
          && v->type != HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_REVOKED)
        ||  (int) v->new_level < HEARTH__LEVEL__LEVEL_NONE || v->new_level > HEARTH__LEVEL__LEVEL_ANCHOR
        ||  (*v->proposal_event_id && !ulid_valid (v->proposal_event_id)))
            return HEARTH_ECORRUPT;
        s_change_t c;
        memset (&c, 0, sizeof c);
        memcpy (c.event_id, v->event_id, ULID_LEN);
        if (*v->proposal_event_id)
            memcpy (c.proposal, v->proposal_event_id, ULID_LEN);
        c.lamport = v->lamport;
        c.wall_clock_ms = v->wall_clock_ms;
        c.expires_at_ms = v->expires_at_ms;
        memcpy (c.author, v->author.data, HEARTH_KEY_BYTES);
        memcpy (c.target, v->target.data, HEARTH_KEY_BYTES);
        c.type = (int) v->type;
        c.new_level = (int) v->new_level;
        if (fresh->n_changes && s_change_cmp (&fresh->changes [fresh->n_changes - 1], &c) >= 0)
            return HEARTH_ECORRUPT;         /* not sorted */
        int rc = s_change_add (fresh, &c);
        if (rc)
            return rc;
    }
    int rc = s_resettle (fresh);
    if (rc)
        return rc;
    /*  The stored levels must be what the replay gives. */
    for (size_t i = 0; i < snap->n_members; i++) {
        const Hearth__MemberState *m = snap->members [i];
        const s_member_t *st = s_member (fresh, m->key.data);
        if (st->revoked != (m->revoked? 1: 0) || (!st->revoked && st->level != (int) m->level))
            return HEARTH_ECORRUPT;
    }
    for (size_t i = 0; i < snap->n_invites; i++) {
        const Hearth__InviteState *v = snap->invites [i];
        if (!ulid_valid (v->event_id) || v->invitee.len != HEARTH_KEY_BYTES
        ||  v->inviter.len != HEARTH_KEY_BYTES
        ||  v->initial_level < HEARTH__LEVEL__LEVEL_MEMBER || v->initial_level > HEARTH__LEVEL__LEVEL_TRUSTED)
            return HEARTH_ECORRUPT;
        if (i > 0) {
            const Hearth__InviteState *u = snap->invites [i - 1];
            int c = strcmp (u->event_id, v->event_id);
            if ((c? c: memcmp (u->invitee.data, v->invitee.data, HEARTH_KEY_BYTES)) >= 0)
                return HEARTH_ECORRUPT;
        }
        long inviter = s_member_index (fresh, v->inviter.data);
        if (inviter < 0 || fresh->members [inviter].n_inv >= MEMBERSHIP_INVITES_PER_TRUSTED)
            return HEARTH_ECORRUPT;
        int rc = s_invite_insert (fresh, (uint32_t) inviter, v->event_id, v->invitee.data,
                                  v->initial_level, v->expires_at_ms);
        if (rc)
            return rc;
    }
    return 0;
}

/*  Replace state from a snapshot; the state is untouched on failure. */
int
membership_restore (membership_t *self, const uint8_t *buf, size_t len)
{
    Hearth__MembershipSnapshot *snap = hearth__membership_snapshot__unpack (NULL, len, buf);
    if (!snap)
        return HEARTH_EDECODE;
    membership_t fresh;
    memset (&fresh, 0, sizeof fresh);
    memcpy (fresh.community, self->community, HEARTH_KEY_BYTES);
    memcpy (fresh.sip_key, self->sip_key, sizeof fresh.sip_key);
    int rc = s_restore_into (&fresh, snap);
    hearth__membership_snapshot__free_unpacked (snap, NULL);
    if (rc) {
        s_state_free (&fresh);
        return rc;
    }
    s_state_free (self);
    *self = fresh;
    return 0;
}
