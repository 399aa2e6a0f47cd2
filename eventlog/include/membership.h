/*  membership.h — the community membership view: a pure fold of the
    community.* events (docs/architecture.md §9), used by the receive pipeline (is the author
    a member?) and by the market (may this member expire that post?).

    Rules (co-signatures are not implemented: every change takes the one
    signature of its author):
      - community.created: author == community_id (the root); the root becomes
        ANCHOR. Only one is valid: the one whose author is the community id.
      - member.invited: the author is a current member; initial_level MEMBER,
        or TRUSTED if the author is TRUSTED or ANCHOR. Recorded as a pending
        invite keyed by the invite's event_id.
      - member.joined: the author equals the invite's invitee, the invite
        exists, and the join's wall_clock_ms <= the invite's expires_at_ms.
        The invitee becomes a member at initial_level.
      - promoted/demoted: author is ANCHOR; new_level in MEMBER..ANCHOR.
      - revoked: author is TRUSTED or ANCHOR with a level >= the target's; the
        target is revoked for good (a revoked key never returns).
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
/*  Version of the fold's rules, written in its snapshot: a snapshot of
    other rules is rebuilt from the log. */
#define MEMBERSHIP_RULES_VERSION        2

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

/*  Serialise to a MembershipSnapshot (sorted, so equal views give equal
    bytes). *buf is malloc'd, caller frees. Returns 0 or HEARTH_ENOMEM. */
int membership_snapshot (const membership_t *self, uint8_t **buf, size_t *len);
/*  Replace the state from a snapshot. 0, HEARTH_EDECODE or HEARTH_ECORRUPT. */
int membership_restore (membership_t *self, const uint8_t *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
