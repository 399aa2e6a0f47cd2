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
    int       level;                        /* Hearth__Level; NONE if revoked */
    int       revoked;
    uint64_t  since_lamport;                /* lamport of the event that added it */
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

struct _membership_t {
    uint8_t     community [HEARTH_KEY_BYTES];
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
    self->free_head = 0;
    if (self->member_index.cap)
        memset (self->member_index.slots, 0, self->member_index.cap * sizeof (uint32_t));
    if (self->invite_index.cap)
        memset (self->invite_index.slots, 0, self->invite_index.cap * sizeof (uint32_t));
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
        if (slot < 0 || e->wall_clock_ms > self->invites [slot].expires_at_ms)
            return EVENT_REJECT_TYPE_RULE;
        return EVENT_REJECT_NONE;
    }
    /*  Everything else needs a current member as author. */
    if (!me)
        return EVENT_REJECT_MEMBERSHIP;
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
        case HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_PROMOTED:
        case HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_DEMOTED: {
            const Hearth__MemberChange *p = e->member_change;
            const s_member_t *target = s_member (self, p->target.data);
            if (level != HEARTH__LEVEL__LEVEL_ANCHOR || !target || target->revoked
            ||  s_is_root (self, p->target.data))
                return EVENT_REJECT_TYPE_RULE;
            int up = e->type == HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_PROMOTED;
            if (up? (int) p->new_level <= target->level: (int) p->new_level >= target->level)
                return EVENT_REJECT_TYPE_RULE;
            return EVENT_REJECT_NONE;
        }
        case HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_REVOKED: {
            const Hearth__MemberChange *p = e->member_change;
            const s_member_t *target = s_member (self, p->target.data);
            if (level < HEARTH__LEVEL__LEVEL_TRUSTED || !target || target->revoked
            ||  s_is_root (self, p->target.data) || level < target->level)
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
s_member_add (membership_t *self, const uint8_t *key, int level, uint64_t lamport)
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
    m->level = level;
    m->since_lamport = lamport;
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
            if (!s_is_root (self, event_author (ev)))
                return 0;
            return s_member_add (self, event_author (ev), HEARTH__LEVEL__LEVEL_ANCHOR, e->lamport);
        case HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_INVITED:
            return s_invite_add (self, ev);
        case HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_JOINED: {
            long slot = s_invite_slot (self, e->member_joined->invite_event_id, event_author (ev));
            if (slot < 0)
                return 0;
            int rc = s_member_add (self, event_author (ev), self->invites [slot].level, e->lamport);
            if (rc == 0)
                s_invite_remove (self, (uint32_t) slot);
            return rc;
        }
        case HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_PROMOTED:
        case HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_DEMOTED:
        case HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_REVOKED: {
            const uint8_t *target = e->member_change->target.data;
            long i = s_member_index (self, target);
            if (i < 0 || self->members [i].revoked || s_is_root (self, target))
                return 0;
            if (e->type == HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_REVOKED) {
                self->members [i].revoked = 1;
                self->members [i].level = HEARTH__LEVEL__LEVEL_NONE;
                self->n_current--;
            }
            else
                self->members [i].level = e->member_change->new_level;
            return 0;
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
    int rc = HEARTH_ENOMEM;
    *buf = NULL;
    if (!ms || !mp || !is || !ip || !msort || !isort)
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
        mp [i] = &ms [i];
    }
    snap.members = mp;
    snap.n_members = self->n_members;
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
        int revoked = m->revoked? 1: 0;
        int rc = s_member_add (fresh, m->key.data, revoked? HEARTH__LEVEL__LEVEL_NONE: (int) m->level,
                               m->since_lamport);
        if (rc)
            return rc;
        s_member_t *st = &fresh->members [fresh->n_members - 1];
        st->revoked = revoked;
        st->invite_clock_ms = m->invite_clock_ms;
        fresh->n_current -= (size_t) revoked;
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
