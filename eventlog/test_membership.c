/*  test_membership.c — the membership fold alone (no log): governance
    with proposals and endorsements (docs/decisions/0030), its thresholds,
    and the order-insensitivity of the fold: every shuffle of one event set,
    delivered the way sync delivers it (a refused event is offered again
    later unless refused for good as `revoked`), ends in one state.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "test_util.h"
#include "membership.h"

#define T0_MS   UINT64_C (1767225600000)
#define HOUR_MS UINT64_C (3600000)

/*  One scenario: identities and the events, in a causal order. */
typedef struct {
    identity_t *id [12];
    event_t    *ev [64];
    size_t      n;
    uint32_t    ulid_n;
} s_world_t;

static const uint8_t *
s_key (s_world_t *w, int who)
{
    return identity_public_key (w->id [who]);
}

static event_t *
s_take (s_world_t *w, Hearth__Event *d, int who, uint64_t lamport, char id [ULID_SIZE])
{
    tu_ulid (T0_MS + lamport, ++w->ulid_n, id);
    d->schema_version = 1;
    d->event_id = id;
    d->lamport = lamport;
    d->wall_clock_ms = T0_MS + lamport;
    d->community_id.data = (uint8_t *) s_key (w, 0);
    d->community_id.len = 32;
    d->author.data = (uint8_t *) s_key (w, who);
    d->author.len = 32;
    size_t len;
    uint8_t *wire = tu_sign_raw (d, w->id [who], &len);
    event_reject_t reason;
    event_t *ev = event_decode (wire, len, &reason);
    free (wire);
    HT_CHECK (ev != NULL);
    HT_CHECK (w->n < sizeof w->ev / sizeof w->ev [0]);
    w->ev [w->n++] = ev;
    return ev;
}

static void
s_created (s_world_t *w, uint32_t to_demote, uint32_t to_revoke)
{
    Hearth__Event d = HEARTH__EVENT__INIT;
    Hearth__CommunityCreated c = HEARTH__COMMUNITY_CREATED__INIT;
    Hearth__Policy p = HEARTH__POLICY__INIT;
    p.min_signatures_to_invite = 1;
    p.min_signatures_to_demote = to_demote;
    p.min_signatures_to_revoke = to_revoke;
    c.name = (char *) "Kiez";
    c.policy = &p;
    d.type = HEARTH__EVENT_TYPE__COMMUNITY_CREATED;
    d.payload_case = HEARTH__EVENT__PAYLOAD_COMMUNITY_CREATED;
    d.community_created = &c;
    char id [ULID_SIZE];
    s_take (w, &d, 0, 1, id);
}

/*  inviter invites who at level (lamport l), who joins at l + 1. */
static void
s_member (s_world_t *w, int inviter, int who, int level, uint64_t l, int join)
{
    Hearth__Event d = HEARTH__EVENT__INIT;
    Hearth__MemberInvited inv = HEARTH__MEMBER_INVITED__INIT;
    inv.invitee.data = (uint8_t *) s_key (w, who);
    inv.invitee.len = 32;
    inv.initial_level = level;
    inv.expires_at_ms = T0_MS + l + HOUR_MS;
    inv.display_name = (char *) "";
    d.type = HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_INVITED;
    d.payload_case = HEARTH__EVENT__PAYLOAD_MEMBER_INVITED;
    d.member_invited = &inv;
    char inv_id [ULID_SIZE], id [ULID_SIZE];
    s_take (w, &d, inviter, l, inv_id);
    if (!join)
        return;
    Hearth__Event j = HEARTH__EVENT__INIT;
    Hearth__MemberJoined mj = HEARTH__MEMBER_JOINED__INIT;
    mj.invite_event_id = inv_id;
    mj.display_name = (char *) "";
    j.type = HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_JOINED;
    j.payload_case = HEARTH__EVENT__PAYLOAD_MEMBER_JOINED;
    j.member_joined = &mj;
    s_take (w, &j, who, l + 1, id);
}

/*  A signature: a proposal (proposal NULL) or an endorsement; its event id
    into id. */
static void
s_sign (s_world_t *w, int who, int type, int target, int level, const char *proposal, uint64_t l,
        char id [ULID_SIZE])
{
    Hearth__Event d = HEARTH__EVENT__INIT;
    Hearth__MemberChange c = HEARTH__MEMBER_CHANGE__INIT;
    c.target.data = (uint8_t *) s_key (w, target);
    c.target.len = 32;
    c.new_level = level;
    c.proposal_event_id = (char *) (proposal? proposal: "");
    c.expires_at_ms = proposal? 0: T0_MS + l + HOUR_MS;
    d.type = type;
    d.payload_case = HEARTH__EVENT__PAYLOAD_MEMBER_CHANGE;
    d.member_change = &c;
    s_take (w, &d, who, l, id);
}

static void
s_world_free (s_world_t *w)
{
    for (size_t i = 0; i < w->n; i++)
        event_destroy (&w->ev [i]);
    for (size_t i = 0; i < sizeof w->id / sizeof w->id [0]; i++)
        identity_destroy (&w->id [i]);
}

static void
s_world_init (s_world_t *w, int n_ids)
{
    memset (w, 0, sizeof *w);
    for (int i = 0; i < n_ids; i++)
        w->id [i] = tu_identity ((uint8_t) (40 + i));
}

/*  Deliver events in the order given, as sync does: a refused event is
    offered again after the others, until a pass adds nothing; one refused
    as `revoked` is never offered again. Returns the view (caller destroys). */
static membership_t *
s_deliver (s_world_t *w, const size_t *order)
{
    membership_t *m = membership_new (s_key (w, 0));
    int done [64] = { 0 };
    int progress = 1;
    while (progress) {
        progress = 0;
        for (size_t k = 0; k < w->n; k++) {
            size_t i = order [k];
            if (done [i])
                continue;
            event_reject_t r = membership_check (m, w->ev [i]);
            if (r == EVENT_REJECT_NONE) {
                HT_CHECK_EQ_INT (membership_apply (m, w->ev [i]), 0);
                done [i] = progress = 1;
            }
            else
            if (r == EVENT_REJECT_REVOKED)
                done [i] = 1;               /* permanent */
        }
    }
    return m;
}

static int
s_line_cmp (const void *a, const void *b)
{
    return strcmp ((const char *) a, (const char *) b);
}

/*  The state a reader sees: members with their levels and who revoked
    them, pending invites, proposals with their signers. Text, compared
    as a whole. */
static char *
s_state (const membership_t *m)
{
    size_t cap = 1 << 16, len = 0;
    char *out = (char *) calloc (1, cap);
    /*  Members by key (the view keeps them in arrival order). */
    char lines [64][160];
    size_t n_lines = 0;
    for (size_t i = 0; i < membership_members (m) && n_lines < 64; i++) {
        membership_member_t mm;
        membership_member_at (m, i, &mm);
        char by [8];
        snprintf (by, sizeof by, "%02x%02x", mm.added_by [0], mm.added_by [1]);
        snprintf (lines [n_lines++], sizeof lines [0],
                  "member %02x%02x level %d base %d revoked %d by %s since %llu added by %s\n",
                  mm.key [0], mm.key [1], mm.level, mm.base_level, mm.revoked, mm.revoked_by,
                  (unsigned long long) mm.since_lamport, by);
    }
    qsort (lines, n_lines, sizeof lines [0], s_line_cmp);
    for (size_t i = 0; i < n_lines; i++)
        len += (size_t) snprintf (out + len, cap - len, "%s", lines [i]);
    len += (size_t) snprintf (out + len, cap - len, "invites %zu count %zu\n", membership_invites (m),
                              membership_count (m));
    membership_proposal_t props [32];
    long n = membership_proposals (m, props, 32);
    for (long i = 0; i < n && i < 32; i++) {
        len += (size_t) snprintf (out + len, cap - len, "proposal %s state %d signers %u of %u:",
                                  props [i].event_id, props [i].state, props [i].n_signers, props [i].threshold);
        for (uint32_t s = 0; s < props [i].n_signers; s++)
            len += (size_t) snprintf (out + len, cap - len, " %02x", props [i].signers [s][0]);
        len += (size_t) snprintf (out + len, cap - len, "\n");
    }
    return out;
}

static uint64_t
s_rand (uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

/*  Every one of n_seeds shuffles ends in the state of the causal order;
    returns that state (caller frees). */
static char *
s_shuffle_check (s_world_t *w, int n_seeds)
{
    size_t order [64];
    for (size_t i = 0; i < w->n; i++)
        order [i] = i;
    membership_t *ref = s_deliver (w, order);
    char *want = s_state (ref);
    /*  A snapshot restores to the same state. */
    uint8_t *buf;
    size_t len;
    HT_CHECK_EQ_INT (membership_snapshot (ref, &buf, &len), 0);
    membership_t *copy = membership_new (s_key (w, 0));
    HT_CHECK_EQ_INT (membership_restore (copy, buf, len), 0);
    char *got = s_state (copy);
    HT_CHECK_EQ_STR (got, want);
    free (got);
    free (buf);
    membership_destroy (&copy);
    membership_destroy (&ref);
    int bad = 0;
    for (int seed = 1; seed <= n_seeds; seed++) {
        uint64_t s = (uint64_t) seed;
        for (size_t i = w->n; i > 1; i--) {
            size_t j = (size_t) (s_rand (&s) % i);
            size_t t = order [i - 1];
            order [i - 1] = order [j];
            order [j] = t;
        }
        membership_t *m = s_deliver (w, order);
        got = s_state (m);
        if (strcmp (got, want) != 0 && bad++ < 3)
            fprintf (stderr, "seed %d:\n%s\nwant:\n%s\n", seed, got, want);
        free (got);
        membership_destroy (&m);
    }
    HT_CHECK_EQ_INT (bad, 0);
    return want;
}

enum { ROOT, T1, T2, X, Y, Z, V, W, A, B };

/*  Revocation by three, a demotion capped at two, a promotion by the
    root, a signer revoked after it signed, endorsements that may come
    before their proposal, a revoked member's later signature. */
HT_TEST (test_governance_shuffle)
{
    s_world_t w;
    s_world_init (&w, 10);
    s_created (&w, 0, 0);                   /* defaults: 3 and 3 */
    s_member (&w, ROOT, T1, HEARTH__LEVEL__LEVEL_TRUSTED, 2, 1);
    s_member (&w, ROOT, T2, HEARTH__LEVEL__LEVEL_TRUSTED, 4, 1);
    s_member (&w, ROOT, X, HEARTH__LEVEL__LEVEL_MEMBER, 6, 1);
    s_member (&w, ROOT, Y, HEARTH__LEVEL__LEVEL_MEMBER, 8, 1);
    s_member (&w, T1, Z, HEARTH__LEVEL__LEVEL_MEMBER, 10, 1);
    s_member (&w, Z, V, HEARTH__LEVEL__LEVEL_MEMBER, 12, 1);
    char p [ULID_SIZE], r [ULID_SIZE], e [ULID_SIZE], r2 [ULID_SIZE], dm [ULID_SIZE], late [ULID_SIZE];
    /*  The root makes x trusted (one anchor signature). */
    s_sign (&w, ROOT, HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_PROMOTED, X, HEARTH__LEVEL__LEVEL_TRUSTED, NULL, 20, p);
    /*  t1 proposes to revoke y: eligible root, t1, t2, x; threshold 3. */
    s_sign (&w, T1, HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_REVOKED, Y, 0, NULL, 21, r);
    s_sign (&w, T2, HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_REVOKED, Y, 0, r, 22, e);
    s_sign (&w, X, HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_REVOKED, Y, 0, r, 23, e);
    /*  One more after the threshold: kept or not, it changes nothing. */
    s_sign (&w, ROOT, HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_REVOKED, Y, 0, r, 24, e);
    /*  y, revoked, signs nothing that counts. */
    s_sign (&w, Y, HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_REVOKED, Z, 0, NULL, 25, late);
    /*  t2 (who signed y's revocation) is revoked in turn: root, t1, x. */
    s_sign (&w, ROOT, HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_REVOKED, T2, 0, NULL, 30, r2);
    s_sign (&w, T1, HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_REVOKED, T2, 0, r2, 31, e);
    s_sign (&w, X, HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_REVOKED, T2, 0, r2, 32, e);
    /*  t2's later endorsement of anything: refused. */
    s_sign (&w, T2, HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_REVOKED, Z, 0, late, 33, e);
    /*  Demote x: eligible root and t1 (t2 revoked): 3 capped at 2. */
    s_sign (&w, T1, HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_DEMOTED, X, HEARTH__LEVEL__LEVEL_MEMBER, NULL, 34, dm);
    s_sign (&w, ROOT, HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_DEMOTED, X, HEARTH__LEVEL__LEVEL_MEMBER, dm, 35, e);
    /*  A pending one: t1 proposes to revoke z (eligible root, t1). */
    s_sign (&w, T1, HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_REVOKED, Z, 0, NULL, 36, late);
    char *state = s_shuffle_check (&w, 300);
    /*  The causal order's state is the one the rules say. */
    size_t order [64];
    for (size_t i = 0; i < w.n; i++)
        order [i] = i;
    membership_t *m = s_deliver (&w, order);
    HT_CHECK_EQ_INT (membership_revoked (m, s_key (&w, Y)), 1);
    HT_CHECK_EQ_INT (membership_revoked (m, s_key (&w, T2)), 1);
    HT_CHECK_EQ_INT (membership_level (m, s_key (&w, X)), HEARTH__LEVEL__LEVEL_MEMBER);
    HT_CHECK_EQ_INT (membership_level (m, s_key (&w, T1)), HEARTH__LEVEL__LEVEL_TRUSTED);
    HT_CHECK_EQ_INT (membership_level (m, s_key (&w, Z)), HEARTH__LEVEL__LEVEL_MEMBER);
    HT_CHECK_EQ_INT (membership_count (m), 5);     /* root, t1, x, z, v */
    membership_proposal_t prop;
    HT_CHECK_EQ_INT (membership_proposal_find (m, late, &prop), 0);
    HT_CHECK_EQ_INT (prop.state, MEMBERSHIP_PROPOSAL_OPEN);
    HT_CHECK_EQ_INT (prop.threshold, 2);
    HT_CHECK_EQ_INT (prop.eligible, 2);
    HT_CHECK_EQ_INT (prop.n_signers, 1);
    HT_CHECK_EQ_INT (membership_proposal_find (m, r, &prop), 0);
    HT_CHECK_EQ_INT (prop.state, MEMBERSHIP_PROPOSAL_DONE);
    HT_CHECK_EQ_INT (prop.n_signers, 3);
    membership_destroy (&m);
    free (state);
    s_world_free (&w);
}

/*  Two trusted members propose to revoke each other with a policy of one
    signature, at one lamport: the smaller event id takes effect first and
    the other's author is revoked at its place, in every order. */
HT_TEST (test_governance_mutual_revocation)
{
    s_world_t w;
    s_world_init (&w, 10);
    s_created (&w, 1, 1);
    s_member (&w, ROOT, A, HEARTH__LEVEL__LEVEL_TRUSTED, 2, 1);
    s_member (&w, ROOT, B, HEARTH__LEVEL__LEVEL_TRUSTED, 4, 1);
    char ra [ULID_SIZE], rb [ULID_SIZE];
    s_sign (&w, A, HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_REVOKED, B, 0, NULL, 10, ra);
    s_sign (&w, B, HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_REVOKED, A, 0, NULL, 10, rb);
    char *state = s_shuffle_check (&w, 100);
    size_t order [64] = { 0, 1, 2, 3, 4, 6, 5 };  /* b's proposal first */
    membership_t *m = s_deliver (&w, order);
    int first_a = strcmp (ra, rb) < 0;
    HT_CHECK_EQ_INT (membership_revoked (m, s_key (&w, B)), first_a);
    HT_CHECK_EQ_INT (membership_revoked (m, s_key (&w, A)), !first_a);
    membership_destroy (&m);
    free (state);
    s_world_free (&w);
}

/*  The threshold is capped by the eligible signers: the root alone revokes
    in a community without trusted members; a lone trusted member cannot
    revoke a member without the root; a plain member cannot sign. */
HT_TEST (test_governance_cap)
{
    s_world_t w;
    s_world_init (&w, 10);
    s_created (&w, 0, 0);
    s_member (&w, ROOT, X, HEARTH__LEVEL__LEVEL_MEMBER, 2, 1);
    s_member (&w, ROOT, Y, HEARTH__LEVEL__LEVEL_MEMBER, 4, 1);
    s_member (&w, Y, W, HEARTH__LEVEL__LEVEL_MEMBER, 6, 0);   /* y's pending invite of w */
    char r [ULID_SIZE];
    s_sign (&w, ROOT, HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_REVOKED, Y, 0, NULL, 10, r);
    size_t order [64];
    for (size_t i = 0; i < w.n; i++)
        order [i] = i;
    membership_t *m = s_deliver (&w, order);
    HT_CHECK_EQ_INT (membership_revoked (m, s_key (&w, Y)), 1);
    /*  y's pending invite died with it: w cannot be admitted nor join. */
    HT_CHECK_EQ_INT (membership_invite_pending (m, s_key (&w, W), T0_MS + 7), 0);
    HT_CHECK_EQ_INT (membership_invites (m), 0);
    membership_member_t mm;
    for (size_t i = 0; i < membership_members (m); i++) {
        membership_member_at (m, i, &mm);
        if (memcmp (mm.key, s_key (&w, Y), 32) == 0)
            HT_CHECK_EQ_STR (mm.revoked_by, r);
    }
    /*  x (a plain member) may not propose. */
    char id [ULID_SIZE];
    s_sign (&w, X, HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_REVOKED, ROOT, 0, NULL, 11, id);
    HT_CHECK_EQ_INT (membership_check (m, w.ev [w.n - 1]), EVENT_REJECT_TYPE_RULE);
    s_sign (&w, ROOT, HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_PROMOTED, X, HEARTH__LEVEL__LEVEL_TRUSTED, NULL, 12, id);
    HT_CHECK_EQ_INT (membership_check (m, w.ev [w.n - 1]), EVENT_REJECT_NONE);
    HT_CHECK_EQ_INT (membership_apply (m, w.ev [w.n - 1]), 0);
    /*  Only the root makes an anchor. */
    s_sign (&w, X, HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_PROMOTED, ROOT, HEARTH__LEVEL__LEVEL_ANCHOR, NULL, 13, id);
    HT_CHECK_EQ_INT (membership_check (m, w.ev [w.n - 1]), EVENT_REJECT_TYPE_RULE);
    /*  A lone trusted x may not demote anyone alone: eligible root and x. */
    s_member (&w, ROOT, Z, HEARTH__LEVEL__LEVEL_MEMBER, 14, 1);
    HT_CHECK_EQ_INT (membership_check (m, w.ev [w.n - 2]), EVENT_REJECT_NONE);
    HT_CHECK_EQ_INT (membership_apply (m, w.ev [w.n - 2]), 0);
    HT_CHECK_EQ_INT (membership_apply (m, w.ev [w.n - 1]), 0);
    s_sign (&w, X, HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_REVOKED, Z, 0, NULL, 20, r);
    HT_CHECK_EQ_INT (membership_check (m, w.ev [w.n - 1]), EVENT_REJECT_NONE);
    HT_CHECK_EQ_INT (membership_apply (m, w.ev [w.n - 1]), 0);
    HT_CHECK_EQ_INT (membership_revoked (m, s_key (&w, Z)), 0);
    /*  An endorsement past the proposal's expiry does not count. */
    Hearth__Event d = HEARTH__EVENT__INIT;
    Hearth__MemberChange c = HEARTH__MEMBER_CHANGE__INIT;
    c.target.data = (uint8_t *) s_key (&w, Z);
    c.target.len = 32;
    c.proposal_event_id = r;
    d.type = HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_REVOKED;
    d.payload_case = HEARTH__EVENT__PAYLOAD_MEMBER_CHANGE;
    d.member_change = &c;
    s_take (&w, &d, ROOT, 21 + HOUR_MS, id);   /* dated after T0 + 20 + 1 h */
    HT_CHECK_EQ_INT (membership_check (m, w.ev [w.n - 1]), EVENT_REJECT_TYPE_RULE);
    /*  In time, the root's endorsement completes it (2 of 2). */
    s_take (&w, &d, ROOT, 22, id);
    HT_CHECK_EQ_INT (membership_check (m, w.ev [w.n - 1]), EVENT_REJECT_NONE);
    HT_CHECK_EQ_INT (membership_apply (m, w.ev [w.n - 1]), 0);
    HT_CHECK_EQ_INT (membership_revoked (m, s_key (&w, Z)), 1);
    /*  A revoked member's signature at a later place: refused as revoked. */
    s_sign (&w, Z, HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_REVOKED, X, 0, NULL, 30, id);
    HT_CHECK_EQ_INT (membership_check (m, w.ev [w.n - 1]), EVENT_REJECT_REVOKED);
    membership_destroy (&m);
    s_world_free (&w);
}

/*  Hostile signatures: windows out of bounds, an endorsement that names
    itself or carries a window, a flood of proposals past the per-member
    cap, a policy asking for more than MEMBERSHIP_MAX_SIGNATURES. */
HT_TEST (test_governance_hostile)
{
    s_world_t w;
    s_world_init (&w, 12);
    s_created (&w, 1000000, 0xFFFFFFFFu);
    s_member (&w, ROOT, T1, HEARTH__LEVEL__LEVEL_TRUSTED, 2, 1);
    for (int i = 0; X + i < 12; i++)
        s_member (&w, ROOT, X + i, HEARTH__LEVEL__LEVEL_MEMBER, (uint64_t) (4 + 2 * i), 1);
    size_t order [64];
    for (size_t i = 0; i < w.n; i++)
        order [i] = i;
    membership_t *m = s_deliver (&w, order);
    Hearth__Event d = HEARTH__EVENT__INIT;
    Hearth__MemberChange c = HEARTH__MEMBER_CHANGE__INIT;
    c.target.data = (uint8_t *) s_key (&w, X);
    c.target.len = 32;
    d.type = HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_REVOKED;
    d.payload_case = HEARTH__EVENT__PAYLOAD_MEMBER_CHANGE;
    d.member_change = &c;
    char id [ULID_SIZE], first [ULID_SIZE];
    /*  A window longer than MEMBERSHIP_PROPOSAL_MAX_TTL_MS, or already over. */
    c.expires_at_ms = T0_MS + 100 + MEMBERSHIP_PROPOSAL_MAX_TTL_MS + 1;
    s_take (&w, &d, T1, 100, id);
    HT_CHECK_EQ_INT (membership_check (m, w.ev [w.n - 1]), EVENT_REJECT_TYPE_RULE);
    c.expires_at_ms = T0_MS + 100;
    s_take (&w, &d, T1, 100, id);
    HT_CHECK_EQ_INT (membership_check (m, w.ev [w.n - 1]), EVENT_REJECT_TYPE_RULE);
    /*  A policy of 2^32-1 means MEMBERSHIP_MAX_SIGNATURES, capped by the two
        eligible (root, t1): the proposal waits for one more. */
    c.expires_at_ms = T0_MS + 100 + HOUR_MS;
    s_take (&w, &d, T1, 100, first);
    HT_CHECK_EQ_INT (membership_check (m, w.ev [w.n - 1]), EVENT_REJECT_NONE);
    HT_CHECK_EQ_INT (membership_apply (m, w.ev [w.n - 1]), 0);
    membership_proposal_t prop;
    HT_CHECK_EQ_INT (membership_proposal_find (m, first, &prop), 0);
    HT_CHECK_EQ_INT (prop.threshold, 2);
    HT_CHECK_EQ_INT (prop.state, MEMBERSHIP_PROPOSAL_OPEN);
    /*  An endorsement with a window of its own, or of an unknown proposal. */
    c.proposal_event_id = first;
    s_take (&w, &d, ROOT, 101, id);
    HT_CHECK_EQ_INT (membership_check (m, w.ev [w.n - 1]), EVENT_REJECT_TYPE_RULE);
    c.expires_at_ms = 0;
    char unknown [ULID_SIZE];
    tu_ulid (T0_MS, 999999, unknown);
    c.proposal_event_id = unknown;
    s_take (&w, &d, ROOT, 101, id);
    HT_CHECK_EQ_INT (membership_check (m, w.ev [w.n - 1]), EVENT_REJECT_TYPE_RULE);
    /*  An endorsement of another type than its proposal's. */
    c.proposal_event_id = first;
    d.type = HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_DEMOTED;
    c.new_level = HEARTH__LEVEL__LEVEL_MEMBER;
    s_take (&w, &d, ROOT, 101, id);
    HT_CHECK_EQ_INT (membership_check (m, w.ev [w.n - 1]), EVENT_REJECT_TYPE_RULE);
    d.type = HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_REVOKED;
    c.new_level = HEARTH__LEVEL__LEVEL_NONE;
    /*  t1 floods: eight open proposals, the ninth is refused. */
    c.proposal_event_id = (char *) "";
    c.expires_at_ms = T0_MS + 200 + HOUR_MS;
    int accepted = 1;                       /* first */
    for (int i = 0; i < 12; i++) {
        c.target.data = (uint8_t *) s_key (&w, Y + (i % 6));
        s_take (&w, &d, T1, (uint64_t) (200 + i), id);
        if (membership_check (m, w.ev [w.n - 1]) == EVENT_REJECT_NONE) {
            HT_CHECK_EQ_INT (membership_apply (m, w.ev [w.n - 1]), 0);
            accepted++;
        }
    }
    HT_CHECK_EQ_INT (accepted, MEMBERSHIP_PROPOSALS_PER_MEMBER);
    /*  Once they expired by t1's own later signature, room again. */
    c.target.data = (uint8_t *) s_key (&w, X);
    c.expires_at_ms = T0_MS + 300 + 2 * HOUR_MS + HOUR_MS;
    s_take (&w, &d, T1, 300 + 2 * HOUR_MS, id);
    HT_CHECK_EQ_INT (membership_check (m, w.ev [w.n - 1]), EVENT_REJECT_NONE);
    membership_destroy (&m);
    s_world_free (&w);
}

/*  An old snapshot (rules version 2) is refused, so the log rebuilds it. */
HT_TEST (test_snapshot_old_rules)
{
    s_world_t w;
    s_world_init (&w, 4);
    s_created (&w, 0, 0);
    size_t order [1] = { 0 };
    membership_t *m = s_deliver (&w, order);
    uint8_t *buf;
    size_t len;
    HT_CHECK_EQ_INT (membership_snapshot (m, &buf, &len), 0);
    Hearth__MembershipSnapshot *snap = hearth__membership_snapshot__unpack (NULL, len, buf);
    HT_CHECK (snap != NULL);
    snap->rules_version = 2;
    uint8_t out [4096];
    size_t olen = hearth__membership_snapshot__pack (snap, out);
    HT_CHECK_EQ_INT (membership_restore (m, out, olen), HEARTH_ECORRUPT);
    hearth__membership_snapshot__free_unpacked (snap, NULL);
    free (buf);
    membership_destroy (&m);
    s_world_free (&w);
}

int
main (void)
{
    HT_RUN (test_governance_shuffle);
    HT_RUN (test_governance_mutual_revocation);
    HT_RUN (test_governance_cap);
    HT_RUN (test_governance_hostile);
    HT_RUN (test_snapshot_old_rules);
    return ht_summary ();
}
