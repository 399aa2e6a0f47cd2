/*  membership.c — the membership view: a pure fold of community.* events;
    see membership.h for the rules.

    Storage: two sorted arrays (members by key, pending invites by
    (event_id, invitee)) with binary search. Membership changes are rare and
    bounded by MEMBERSHIP_MAX_*, lookups happen once per received event, and
    sorted order makes the snapshot deterministic for free.
    Invariants: arrays strictly ascending by their key; n_current = number of
    unrevoked members; a revoked member has level NONE and stays listed so it
    can never rejoin.
*/
#include <stdlib.h>
#include <string.h>
#include "membership.h"
#include "ulid.h"
#include "hearth_error.h"

typedef struct {
    uint8_t  key [HEARTH_KEY_BYTES];
    int      level;                         /* Hearth__Level; NONE if revoked */
    int      revoked;
    uint64_t since_lamport;                 /* lamport of the event that added it */
} s_member_t;

typedef struct {
    char     event_id [ULID_SIZE];
    uint8_t  invitee [HEARTH_KEY_BYTES];
    int      level;
    uint64_t expires_at_ms;
    uint8_t  inviter [HEARTH_KEY_BYTES];
} s_invite_t;

struct _membership_t {
    uint8_t     community [HEARTH_KEY_BYTES];
    s_member_t *members;                    /* owned, sorted by key */
    size_t      n_members, cap_members;
    size_t      n_current;
    s_invite_t *invites;                    /* owned, sorted by (event_id, invitee) */
    size_t      n_invites, cap_invites;
};

membership_t *
membership_new (const uint8_t community_id [32])
{
    membership_t *self = (membership_t *) calloc (1, sizeof (membership_t));
    if (self)
        memcpy (self->community, community_id, HEARTH_KEY_BYTES);
    return self;
}

void
membership_destroy (membership_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->members);
    free ((*self_p)->invites);
    free (*self_p);
    *self_p = NULL;
}

void
membership_reset (membership_t *self, const uint8_t community_id [32])
{
    memcpy (self->community, community_id, HEARTH_KEY_BYTES);
    self->n_members = self->n_current = self->n_invites = 0;
}

/* ---- lookups ------------------------------------------------------------- */

/*  Index of key in members, or the insertion point with *found = 0. */
static size_t
s_member_find (const membership_t *self, const uint8_t *key, int *found)
{
    size_t lo = 0, hi = self->n_members;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp (self->members [mid].key, key, HEARTH_KEY_BYTES);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

static const s_member_t *
s_member (const membership_t *self, const uint8_t *key)
{
    int found;
    size_t i = s_member_find (self, key, &found);
    return found? &self->members [i]: NULL;
}

static int
s_invite_cmp (const s_invite_t *a, const char *event_id, const uint8_t *invitee)
{
    int c = strcmp (a->event_id, event_id);
    return c? c: memcmp (a->invitee, invitee, HEARTH_KEY_BYTES);
}

static size_t
s_invite_find (const membership_t *self, const char *event_id, const uint8_t *invitee, int *found)
{
    size_t lo = 0, hi = self->n_invites;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = s_invite_cmp (&self->invites [mid], event_id, invitee);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

/*  Grow an array to hold one more element; 0 or HEARTH_ENOMEM. */
static int
s_grow (void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    size_t new_cap = *cap? *cap * 2: 16;
    void *p = realloc (*arr, new_cap * elem);
    if (!p)
        return HEARTH_ENOMEM;
    *arr = p;
    *cap = new_cap;
    return 0;
}

static int
s_is_root (const membership_t *self, const uint8_t *key)
{
    return memcmp (key, self->community, HEARTH_KEY_BYTES) == 0;
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
        int found;
        size_t i = s_invite_find (self, e->member_joined->invite_event_id, author, &found);
        if (!found || e->wall_clock_ms > self->invites [i].expires_at_ms)
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
            int found;
            s_invite_find (self, e->event_id, p->invitee.data, &found);
            if (!found && self->n_invites >= MEMBERSHIP_MAX_INVITES)
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

static int
s_member_add (membership_t *self, const uint8_t *key, int level, uint64_t lamport)
{
    int found;
    size_t i = s_member_find (self, key, &found);
    if (found)
        return 0;                           /* check refuses this; never twice */
    if (self->n_members >= MEMBERSHIP_MAX_MEMBERS)
        return HEARTH_ECAPACITY;
    if (s_grow ((void **) &self->members, &self->cap_members, self->n_members, sizeof (s_member_t)))
        return HEARTH_ENOMEM;
    memmove (&self->members [i + 1], &self->members [i],
             (self->n_members - i) * sizeof (s_member_t));
    s_member_t *m = &self->members [i];
    memcpy (m->key, key, HEARTH_KEY_BYTES);
    m->level = level;
    m->revoked = 0;
    m->since_lamport = lamport;
    self->n_members++;
    self->n_current++;
    return 0;
}

static int
s_invite_add (membership_t *self, const event_t *ev)
{
    const Hearth__Event *e = event_body (ev);
    const Hearth__MemberInvited *p = e->member_invited;
    int found;
    size_t i = s_invite_find (self, e->event_id, p->invitee.data, &found);
    s_invite_t *inv;
    if (found) {
        /*  Same (event_id, invitee) from two authors: keep the smaller inviter. */
        inv = &self->invites [i];
        if (memcmp (event_author (ev), inv->inviter, HEARTH_KEY_BYTES) >= 0)
            return 0;
    }
    else {
        if (self->n_invites >= MEMBERSHIP_MAX_INVITES)
            return HEARTH_ECAPACITY;
        if (s_grow ((void **) &self->invites, &self->cap_invites, self->n_invites, sizeof (s_invite_t)))
            return HEARTH_ENOMEM;
        memmove (&self->invites [i + 1], &self->invites [i],
                 (self->n_invites - i) * sizeof (s_invite_t));
        self->n_invites++;
        inv = &self->invites [i];
        memcpy (inv->event_id, e->event_id, ULID_SIZE);
        memcpy (inv->invitee, p->invitee.data, HEARTH_KEY_BYTES);
    }
    inv->level = p->initial_level;
    inv->expires_at_ms = p->expires_at_ms;
    memcpy (inv->inviter, event_author (ev), HEARTH_KEY_BYTES);
    return 0;
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
            int found;
            size_t i = s_invite_find (self, e->member_joined->invite_event_id, event_author (ev), &found);
            if (!found)
                return 0;
            int rc = s_member_add (self, event_author (ev), self->invites [i].level, e->lamport);
            if (rc == 0) {
                memmove (&self->invites [i], &self->invites [i + 1],
                         (self->n_invites - i - 1) * sizeof (s_invite_t));
                self->n_invites--;
            }
            return rc;
        }
        case HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_PROMOTED:
        case HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_DEMOTED:
        case HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_REVOKED: {
            const uint8_t *target = e->member_change->target.data;
            int found;
            size_t i = s_member_find (self, target, &found);
            if (!found || self->members [i].revoked || s_is_root (self, target))
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

/*  Linear over the pending invites: called once per ZAP handshake, not per
    event, and bounded by MEMBERSHIP_MAX_INVITES. Invites leave the list when
    redeemed by a join, so only unredeemed ones are seen here. */
int
membership_invite_pending (const membership_t *self, const uint8_t key [32], uint64_t now_ms)
{
    if (membership_revoked (self, key))
        return 0;
    for (size_t i = 0; i < self->n_invites; i++) {
        const s_invite_t *v = &self->invites [i];
        if (v->expires_at_ms >= now_ms && memcmp (v->invitee, key, HEARTH_KEY_BYTES) == 0)
            return 1;
    }
    return 0;
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

int
membership_snapshot (const membership_t *self, uint8_t **buf, size_t *len)
{
    Hearth__MembershipSnapshot snap = HEARTH__MEMBERSHIP_SNAPSHOT__INIT;
    Hearth__MemberState *ms = (Hearth__MemberState *) calloc (self->n_members + 1, sizeof *ms);
    Hearth__MemberState **mp = (Hearth__MemberState **) calloc (self->n_members + 1, sizeof *mp);
    Hearth__InviteState *is = (Hearth__InviteState *) calloc (self->n_invites + 1, sizeof *is);
    Hearth__InviteState **ip = (Hearth__InviteState **) calloc (self->n_invites + 1, sizeof *ip);
    int rc = HEARTH_ENOMEM;
    *buf = NULL;
    if (!ms || !mp || !is || !ip)
        goto done;
    snap.community_id.data = (uint8_t *) self->community;
    snap.community_id.len = HEARTH_KEY_BYTES;
    for (size_t i = 0; i < self->n_members; i++) {
        const s_member_t *m = &self->members [i];
        Hearth__MemberState init = HEARTH__MEMBER_STATE__INIT;
        ms [i] = init;
        ms [i].key.data = (uint8_t *) m->key;
        ms [i].key.len = HEARTH_KEY_BYTES;
        ms [i].level = (Hearth__Level) m->level;
        ms [i].revoked = m->revoked;
        ms [i].since_lamport = m->since_lamport;
        mp [i] = &ms [i];
    }
    snap.members = mp;
    snap.n_members = self->n_members;
    for (size_t i = 0; i < self->n_invites; i++) {
        const s_invite_t *v = &self->invites [i];
        Hearth__InviteState init = HEARTH__INVITE_STATE__INIT;
        is [i] = init;
        is [i].event_id = (char *) v->event_id;
        is [i].invitee.data = (uint8_t *) v->invitee;
        is [i].invitee.len = HEARTH_KEY_BYTES;
        is [i].initial_level = (Hearth__Level) v->level;
        is [i].expires_at_ms = v->expires_at_ms;
        is [i].inviter.data = (uint8_t *) v->inviter;
        is [i].inviter.len = HEARTH_KEY_BYTES;
        ip [i] = &is [i];
    }
    snap.invites = ip;
    snap.n_invites = self->n_invites;
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
    return rc;
}

/*  Replace state from a snapshot; the state is untouched on failure. */
int
membership_restore (membership_t *self, const uint8_t *buf, size_t len)
{
    Hearth__MembershipSnapshot *snap = hearth__membership_snapshot__unpack (NULL, len, buf);
    if (!snap)
        return HEARTH_EDECODE;
    int rc = HEARTH_ECORRUPT;
    s_member_t *members = NULL;
    s_invite_t *invites = NULL;
    size_t n_current = 0;
    if (snap->community_id.len != HEARTH_KEY_BYTES
    ||  memcmp (snap->community_id.data, self->community, HEARTH_KEY_BYTES) != 0
    ||  snap->n_members > MEMBERSHIP_MAX_MEMBERS || snap->n_invites > MEMBERSHIP_MAX_INVITES)
        goto done;
    members = (s_member_t *) calloc (snap->n_members + 1, sizeof *members);
    invites = (s_invite_t *) calloc (snap->n_invites + 1, sizeof *invites);
    if (!members || !invites) {
        rc = HEARTH_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < snap->n_members; i++) {
        const Hearth__MemberState *m = snap->members [i];
        if (m->key.len != HEARTH_KEY_BYTES || (int) m->level < HEARTH__LEVEL__LEVEL_NONE
        ||  m->level > HEARTH__LEVEL__LEVEL_ANCHOR
        ||  (i > 0 && memcmp (members [i - 1].key, m->key.data, HEARTH_KEY_BYTES) >= 0))
            goto done;
        memcpy (members [i].key, m->key.data, HEARTH_KEY_BYTES);
        members [i].revoked = m->revoked? 1: 0;
        members [i].level = members [i].revoked? HEARTH__LEVEL__LEVEL_NONE: (int) m->level;
        members [i].since_lamport = m->since_lamport;
        n_current += !members [i].revoked;
    }
    for (size_t i = 0; i < snap->n_invites; i++) {
        const Hearth__InviteState *v = snap->invites [i];
        if (!ulid_valid (v->event_id) || v->invitee.len != HEARTH_KEY_BYTES
        ||  v->inviter.len != HEARTH_KEY_BYTES
        ||  v->initial_level < HEARTH__LEVEL__LEVEL_MEMBER || v->initial_level > HEARTH__LEVEL__LEVEL_TRUSTED)
            goto done;
        memcpy (invites [i].event_id, v->event_id, ULID_SIZE);
        memcpy (invites [i].invitee, v->invitee.data, HEARTH_KEY_BYTES);
        memcpy (invites [i].inviter, v->inviter.data, HEARTH_KEY_BYTES);
        invites [i].level = v->initial_level;
        invites [i].expires_at_ms = v->expires_at_ms;
        if (i > 0 && s_invite_cmp (&invites [i - 1], invites [i].event_id, invites [i].invitee) >= 0)
            goto done;
    }
    free (self->members);
    free (self->invites);
    self->members = members;
    self->cap_members = snap->n_members + 1;
    self->n_members = snap->n_members;
    self->n_current = n_current;
    self->invites = invites;
    self->cap_invites = snap->n_invites + 1;
    self->n_invites = snap->n_invites;
    members = NULL;
    invites = NULL;
    rc = 0;
done:
    free (members);
    free (invites);
    hearth__membership_snapshot__free_unpacked (snap, NULL);
    return rc;
}
