/*  membership.h — the community membership view: a pure fold of the
    community.* events (docs/architecture.md §9), used by the receive pipeline (is the author
    a member?) and by the market (may this member expire that post?).

    Rules:
      - community.created: author == community_id (the root); the root becomes
        ANCHOR. Only one is valid: the one whose author is the community id.
      - member.invited: the author is a current member; initial_level MEMBER,
        or TRUSTED if the author is TRUSTED or ANCHOR. Recorded as a pending
        invite keyed by the invite's event_id.
      - member.joined: the author equals the invite's invitee, the invite
        exists, and the join's wall_clock_ms <= the invite's expires_at_ms.
        The invitee becomes a member at initial_level.
      - promoted/demoted/revoked are governance signatures
        (docs/decisions/0030-governance-proposals-and-endorsements.md): a
        proposal (MemberChange.proposal_event_id empty) or an endorsement of
        one (same type, target and new_level). The change takes effect once
        the proposal holds enough distinct eligible signatures: promotion 1
        (an ANCHOR; to ANCHOR only the root), demotion and revocation the
        policy's min_signatures_to_demote / _to_revoke (0 = 3, at most
        MEMBERSHIP_MAX_SIGNATURES), capped by the number of members eligible
        to sign. Eligible for a demotion or revocation of T: a TRUSTED or
        ANCHOR member, level >= T's, not T, not revoked, all as of the
        moment the signature counts.
      - Order: the fold keeps the signatures that counted and replays them
        in (lamport, event_id) order over the members' base levels (those
        they joined with), so the levels and revocations are a function of
        the event set. A signature counts if, at its place in that order,
        its author is a member since an earlier lamport, eligible, not
        revoked, and (an endorsement) its proposal came earlier, is still
        open and had not expired by the endorsement's wall_clock_ms.
        membership_check refuses a signature that would not count (REVOKED
        if its author is revoked, else TYPE_RULE): it is offered again by
        sync and counts once what it needs has arrived.
      - Bounded: MEMBERSHIP_MAX_CHANGES signatures kept; open proposals at
        most MEMBERSHIP_PROPOSALS_PER_MEMBER per author and
        MEMBERSHIP_MAX_PROPOSALS in all (expired ones, by the proposal's
        expires_at_ms against its author's latest signature, do not count);
        a proposal may live MEMBERSHIP_PROPOSAL_MAX_TTL_MS.
      - A revoked member's pending invites die: they leave the table and a
        join against one is refused.
      - Hearth adds: the root (community id) can be neither promoted,
        demoted nor revoked; a current member cannot join again; an invite
        of a revoked key is refused; promoted must raise and demoted must
        lower the target's level; at MEMBERSHIP_MAX_* a new member/invite is
        refused (TYPE_RULE), so membership_apply of a checked event never
        fails.
      - Two invites with the same (event_id, invitee) from different
        authors: the one with the smaller inviter key is kept, so the fold
        does not depend on arrival order.
    A member's invite budget (bounded state that every node applies the
    same way; docs/decisions/0025-invite-budget-on-event-data.md):
      - an invite is refused (TYPE_RULE) unless wall_clock_ms < expires_at_ms
        <= wall_clock_ms + MEMBERSHIP_INVITE_MAX_TTL_MS: never already
        expired when signed, never a standing ticket. A rule on the event
        alone, so every node judges it alike in any order.
      - Each inviter has an invite clock: the largest wall_clock_ms of its
        invites folded (event data, never a node's clock, so the fold stays a
        function of the event set). An invite leaves the pending table when
        redeemed by a join, or once it expired MEMBERSHIP_INVITE_GRACE_MS
        (7 days) before its inviter's invite clock (a join signed before the
        expiry has that long to arrive). An invite that is already past that point
        when it arrives is valid but never enters the table.
      - An inviter holds at most MEMBERSHIP_INVITES_PER_MEMBER pending
        invites (MEMBERSHIP_INVITES_PER_TRUSTED for TRUSTED and ANCHOR); one
        more is refused (TYPE_RULE). So one member fills at most
        1/64 of the MEMBERSHIP_MAX_INVITES table; the cap binds only the
        member who overspends, never anyone else's invites.
      - Which invites are live for ZAP admission (membership_invite_pending)
        is judged by the local clock: that is a local decision, not the
        fold.
    The pipeline checks an event against the view *before* applying it, so a
    member's events are accepted only after its join. Levels are queried as of
    now (the current fold), which is deterministic for a given event set.
*/
#ifndef HEARTH_MEMBERSHIP_H
#define HEARTH_MEMBERSHIP_H

#include <stddef.h>
#include <stdint.h>
#include "event.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  Members tracked at most (a street, a school: thousands at most). */
#define MEMBERSHIP_MAX_MEMBERS  65536
/*  Pending (unredeemed, not pruned) invites at most, all inviters. */
#define MEMBERSHIP_MAX_INVITES  65536
/*  Pending invites one inviter may hold: a MEMBER, and a TRUSTED or ANCHOR
    member (who bring a community in; 1024 = 1/64 of the table). */
#define MEMBERSHIP_INVITES_PER_MEMBER   32
#define MEMBERSHIP_INVITES_PER_TRUSTED  1024
/*  Longest an invite may be valid: expires_at_ms - wall_clock_ms, as
    NODE_INVITE_MAX_TTL_SECONDS (30 days). */
#define MEMBERSHIP_INVITE_MAX_TTL_MS    (UINT64_C (30) * 86400 * 1000)
/*  How long after its expiry, by its inviter's invite clock, an unredeemed
    invite stays in the table: a join signed before the expiry may still be
    on its way to a node that was offline (a week). */
#define MEMBERSHIP_INVITE_GRACE_MS      (UINT64_C (7) * 86400 * 1000)
/*  Governance signatures (proposals and endorsements) the fold keeps: a
    street's lifetime of moderation, each replayed on every change. */
#define MEMBERSHIP_MAX_CHANGES          4096
/*  Open proposals at once, all authors, and per author. */
#define MEMBERSHIP_MAX_PROPOSALS        256
#define MEMBERSHIP_PROPOSALS_PER_MEMBER 8
/*  Longest a proposal may collect endorsements: expires_at_ms -
    wall_clock_ms; and the default the node gives one (7 days). */
#define MEMBERSHIP_PROPOSAL_MAX_TTL_MS  (UINT64_C (30) * 86400 * 1000)
#define MEMBERSHIP_PROPOSAL_TTL_MS      (UINT64_C (7) * 86400 * 1000)
/*  Largest threshold a policy can ask for (a larger value means this). */
#define MEMBERSHIP_MAX_SIGNATURES       16
/*  Policy defaults when community.created leaves them 0 or absent. */
#define MEMBERSHIP_DEFAULT_TO_DEMOTE    3
#define MEMBERSHIP_DEFAULT_TO_REVOKE    3
/*  Version of the fold's rules, written in its snapshot: a snapshot of
    other rules is rebuilt from the log. */
#define MEMBERSHIP_RULES_VERSION        3

typedef struct _membership_t membership_t;

/*  New empty view for community_id (32 bytes, copied). NULL on OOM. */
membership_t *membership_new (const uint8_t community_id [32]);
void membership_destroy (membership_t **self_p);

/*  Forget all state and take a new community id (32 bytes, copied); used by
    the eventlog when the community becomes known and before a rebuild. */
void membership_reset (membership_t *self, const uint8_t community_id [32]);

/*  Check whether ev may be accepted given the current fold; returns
    EVENT_REJECT_NONE or MEMBERSHIP / REVOKED / TYPE_RULE / COMMUNITY.
    Pure: does not change the view. */
event_reject_t membership_check (const membership_t *self, const event_t *ev);

/*  Fold an accepted community.* event into the view (other types ignored).
    Returns 0 or HEARTH_ECAPACITY (over a MEMBERSHIP_MAX_* cap). */
int membership_apply (membership_t *self, const event_t *ev);

/*  Current level of a key: HEARTH__LEVEL__LEVEL_NONE (not a member or
    revoked), _MEMBER, _TRUSTED or _ANCHOR. */
int membership_level (const membership_t *self, const uint8_t key [32]);
/*  1 if the key was revoked. */
int membership_revoked (const membership_t *self, const uint8_t key [32]);
/*  The event id (borrowed) of the signature that completed the key's
    revocation, or NULL if the key is not revoked. */
const char *membership_revoked_by (const membership_t *self, const uint8_t key [32]);
/*  1 if key is the invitee of an invite not yet redeemed by a join, not
    expired at now_ms, and the key is not revoked; else 0. (ZAP admits such a
    key so it can fetch the log and publish its join.) */
int membership_invite_pending (const membership_t *self, const uint8_t key [32], uint64_t now_ms);
/*  Pending invites in the table (all inviters), and those of one inviter. */
size_t membership_invites (const membership_t *self);
size_t membership_invites_of (const membership_t *self, const uint8_t inviter [32]);
/*  Number of current (unrevoked) members. */
size_t membership_count (const membership_t *self);
/*  Community id (32 bytes), borrowed. */
const uint8_t *membership_community_id (const membership_t *self);

/*  One member as the view holds it (membership_member_at). */
typedef struct {
    uint8_t  key [32];
    uint8_t  added_by [32];     /* inviter; the root's own key for the root */
    int      level;             /* current; NONE if revoked */
    int      base_level;        /* as it joined */
    int      revoked;
    uint64_t since_lamport;     /* of its join (created for the root) */
    uint64_t since_ms;          /* wall_clock_ms of that event */
    char     revoked_by [27];   /* the signature that completed its revocation, "" */
} membership_member_t;

/*  Members tracked (revoked ones included), and the i-th (arrival order)
    into *out: 0, or HEARTH_ENOTFOUND past the end. */
size_t membership_members (const membership_t *self);
int membership_member_at (const membership_t *self, size_t i, membership_member_t *out);

/*  A proposal as the fold's replay sees it now (membership_proposals). */
typedef struct {
    char     event_id [27];
    int      type;              /* Hearth__EventType: PROMOTED, DEMOTED or REVOKED */
    uint8_t  author [32];
    uint8_t  target [32];
    int      new_level;
    uint64_t lamport;
    uint64_t wall_clock_ms;
    uint64_t expires_at_ms;     /* 0: no endorsement counts */
    int      state;             /* MEMBERSHIP_PROPOSAL_* */
    uint32_t threshold;         /* signatures needed now (policy capped by eligible) */
    uint32_t eligible;          /* members who may sign it now */
    uint32_t n_signers;         /* signatures that count now */
    uint8_t  signers [MEMBERSHIP_MAX_SIGNATURES][32];
} membership_proposal_t;

#define MEMBERSHIP_PROPOSAL_OPEN    0   /* collecting signatures */
#define MEMBERSHIP_PROPOSAL_DONE    1   /* took effect */
#define MEMBERSHIP_PROPOSAL_MOOT    2   /* target revoked or level already there */

/*  Proposals of the replay, in (lamport, event_id) order, up to max into
    out; returns how many there are (may exceed max), or a negative error
    (HEARTH_ENOMEM). Pure. */
long membership_proposals (const membership_t *self, membership_proposal_t *out, size_t max);
/*  The proposal event_id into *out: 0 or HEARTH_ENOTFOUND. */
int membership_proposal_find (const membership_t *self, const char *event_id,
                              membership_proposal_t *out);

/*  Serialise to a MembershipSnapshot (sorted, so equal views give equal
    bytes). *buf is malloc'd, caller frees. Returns 0 or HEARTH_ENOMEM. */
int membership_snapshot (const membership_t *self, uint8_t **buf, size_t *len);
/*  Replace the state from a snapshot. 0, HEARTH_EDECODE or HEARTH_ECORRUPT. */
int membership_restore (membership_t *self, const uint8_t *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
