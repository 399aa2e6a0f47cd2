/*  test_market_util.h — helpers shared by the market unit tests: real
    events signed with event_sign by identities from identity_from_seed.
    Test code only. */
#ifndef HEARTH_TEST_MARKET_UTIL_H
#define HEARTH_TEST_MARKET_UTIL_H

#include "hearth_test.h"
#include "hearth_error.h"
#include "event.h"
#include "identity.h"
#include "membership.h"
#include "ulid.h"

/*  Identity from a seed made of one repeated byte. */
static inline identity_t *
tm_identity (uint8_t fill)
{
    uint8_t seed [32];
    memset (seed, fill, sizeof seed);
    return identity_from_seed (seed);
}

/*  ULID for (ms, n): deterministic, distinct for distinct (ms, n). */
static inline void
tm_ulid (uint64_t ms, uint32_t n, char out [ULID_SIZE])
{
    ulid_gen_t gen = { 0 };
    uint8_t rnd [10] = { 0 };
    rnd [6] = (uint8_t) (n >> 24); rnd [7] = (uint8_t) (n >> 16);
    rnd [8] = (uint8_t) (n >> 8);  rnd [9] = (uint8_t) n;
    ulid_gen_next (&gen, ms, rnd, out);
}

/*  Fill the envelope of a draft (event_id from (ms, n) unless id given). */
static inline void
tm_envelope (Hearth__Event *e, char id [ULID_SIZE], const identity_t *author,
             const uint8_t community [32], int type, uint64_t lamport, uint64_t ms, uint32_t n)
{
    hearth__event__init (e);
    if (!id [0])
        tm_ulid (ms, n, id);
    e->schema_version = 1;
    e->event_id = id;
    e->lamport = lamport;
    e->wall_clock_ms = ms;
    e->community_id.data = (uint8_t *) community;
    e->community_id.len = 32;
    e->author.data = (uint8_t *) identity_public_key (author);
    e->author.len = 32;
    e->type = (Hearth__EventType) type;
}

static inline event_t *
tm_sign (const Hearth__Event *e, const identity_t *author)
{
    int err = 0;
    event_t *ev = event_sign (e, author, &err);
    if (!ev)
        fprintf (stderr, "tm_sign: event_sign failed: %d\n", err);
    return ev;
}

/*  market.post.created; id_override (may be NULL) forces the event id. */
static inline event_t *
tm_created (const identity_t *author, const uint8_t community [32], uint64_t lamport, uint64_t ms,
            uint32_t n, const char *id_override, int category, const char *title, const char *body,
            const char *const *tags, size_t n_tags, uint64_t ttl_seconds)
{
    char id [ULID_SIZE] = "";
    if (id_override)
        snprintf (id, sizeof id, "%s", id_override);
    Hearth__Event e;
    tm_envelope (&e, id, author, community, HEARTH__EVENT_TYPE__MARKET_POST_CREATED, lamport, ms, n);
    Hearth__MarketPostCreated p = HEARTH__MARKET_POST_CREATED__INIT;
    char client [32];
    snprintf (client, sizeof client, "c-%u", n);
    p.client_id = client;
    p.category = (Hearth__Category) category;
    p.title = (char *) title;
    p.body = (char *) body;
    p.tags = (char **) tags;
    p.n_tags = n_tags;
    p.ttl_seconds = ttl_seconds;
    e.payload_case = HEARTH__EVENT__PAYLOAD_MARKET_POST_CREATED;
    e.market_post_created = &p;
    return tm_sign (&e, author);
}

/*  market.post.updated: title/body NULL = unchanged; tags replace if n_tags
    or replace_tags. */
static inline event_t *
tm_updated (const identity_t *author, const uint8_t community [32], uint64_t lamport, uint64_t ms,
            uint32_t n, const char *target, const char *title, const char *body,
            const char *const *tags, size_t n_tags, int replace_tags)
{
    char id [ULID_SIZE] = "";
    Hearth__Event e;
    tm_envelope (&e, id, author, community, HEARTH__EVENT_TYPE__MARKET_POST_UPDATED, lamport, ms, n);
    Hearth__MarketPostUpdated p = HEARTH__MARKET_POST_UPDATED__INIT;
    p.target_event_id = (char *) target;
    p.title = (char *) title;
    p.body = (char *) body;
    p.tags = (char **) tags;
    p.n_tags = n_tags;
    p.replace_tags = replace_tags;
    e.payload_case = HEARTH__EVENT__PAYLOAD_MARKET_POST_UPDATED;
    e.market_post_updated = &p;
    return tm_sign (&e, author);
}

static inline event_t *
tm_expired (const identity_t *author, const uint8_t community [32], uint64_t lamport, uint64_t ms,
            uint32_t n, const char *target, int reason)
{
    char id [ULID_SIZE] = "";
    Hearth__Event e;
    tm_envelope (&e, id, author, community, HEARTH__EVENT_TYPE__MARKET_POST_EXPIRED, lamport, ms, n);
    Hearth__MarketPostExpired p = HEARTH__MARKET_POST_EXPIRED__INIT;
    p.target_event_id = (char *) target;
    p.reason = (Hearth__ExpiryReason) reason;
    e.payload_case = HEARTH__EVENT__PAYLOAD_MARKET_POST_EXPIRED;
    e.market_post_expired = &p;
    return tm_sign (&e, author);
}

static inline event_t *
tm_community_created (const identity_t *root, uint64_t ms)
{
    char id [ULID_SIZE] = "";
    Hearth__Event e;
    tm_envelope (&e, id, root, identity_public_key (root), HEARTH__EVENT_TYPE__COMMUNITY_CREATED,
                 1, ms, 0);
    Hearth__CommunityCreated p = HEARTH__COMMUNITY_CREATED__INIT;
    p.name = (char *) "Testkiez";
    e.payload_case = HEARTH__EVENT__PAYLOAD_COMMUNITY_CREATED;
    e.community_created = &p;
    return tm_sign (&e, root);
}

/*  An invite by `inviter`; its event id is written to invite_id. */
static inline event_t *
tm_invite (const identity_t *inviter, const uint8_t community [32], const identity_t *invitee,
           int level, uint64_t lamport, uint64_t ms, uint32_t n, char invite_id [ULID_SIZE])
{
    invite_id [0] = 0;
    Hearth__Event e;
    tm_envelope (&e, invite_id, inviter, community, HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_INVITED,
                 lamport, ms, n);
    Hearth__MemberInvited p = HEARTH__MEMBER_INVITED__INIT;
    p.invitee.data = (uint8_t *) identity_public_key (invitee);
    p.invitee.len = 32;
    p.initial_level = (Hearth__Level) level;
    p.expires_at_ms = ms + 86400000;
    e.payload_case = HEARTH__EVENT__PAYLOAD_MEMBER_INVITED;
    e.member_invited = &p;
    return tm_sign (&e, inviter);
}

static inline event_t *
tm_join (const identity_t *invitee, const uint8_t community [32], const char *invite_id,
         uint64_t lamport, uint64_t ms, uint32_t n)
{
    char id [ULID_SIZE] = "";
    Hearth__Event e;
    tm_envelope (&e, id, invitee, community, HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_JOINED,
                 lamport, ms, n);
    Hearth__MemberJoined p = HEARTH__MEMBER_JOINED__INIT;
    p.invite_event_id = (char *) invite_id;
    e.payload_case = HEARTH__EVENT__PAYLOAD_MEMBER_JOINED;
    e.member_joined = &p;
    return tm_sign (&e, invitee);
}

static inline event_t *
tm_member_change (const identity_t *author, const uint8_t community [32], int type,
                  const identity_t *target, int level, uint64_t lamport, uint64_t ms, uint32_t n)
{
    char id [ULID_SIZE] = "";
    Hearth__Event e;
    tm_envelope (&e, id, author, community, type, lamport, ms, n);
    Hearth__MemberChange p = HEARTH__MEMBER_CHANGE__INIT;
    p.target.data = (uint8_t *) identity_public_key (target);
    p.target.len = 32;
    p.new_level = (Hearth__Level) level;
    e.payload_case = HEARTH__EVENT__PAYLOAD_MEMBER_CHANGE;
    e.member_change = &p;
    return tm_sign (&e, author);
}

/*  Check then apply a community event to a membership view. */
static inline int
tm_member_apply (membership_t *members, event_t *ev)
{
    int rc = -1;
    if (ev && membership_check (members, ev) == EVENT_REJECT_NONE)
        rc = membership_apply (members, ev);
    event_destroy (&ev);
    return rc;
}

/*  A seeded PRNG (xorshift64*) for shuffles; never 0. */
static inline uint64_t
tm_rand (uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * UINT64_C (2685821657736338717);
}

#endif
