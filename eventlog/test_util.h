/*  test_util.h — helpers shared by the eventlog unit tests: deterministic
    identities, draft builders and frame crafting. Test code only. */
#ifndef HEARTH_EVENTLOG_TEST_UTIL_H
#define HEARTH_EVENTLOG_TEST_UTIL_H

#include <sodium.h>
#include "hearth_test.h"
#include "hearth_error.h"
#include "event.h"
#include "identity.h"
#include "ulid.h"

/*  Identity from a seed made of one repeated byte. */
static inline identity_t *
tu_identity (uint8_t fill)
{
    uint8_t seed [32];
    memset (seed, fill, sizeof seed);
    return identity_from_seed (seed);
}

/*  ULID for (ms, n): deterministic, distinct for distinct (ms, n). */
static inline void
tu_ulid (uint64_t ms, uint32_t n, char out [ULID_SIZE])
{
    ulid_gen_t gen = { 0 };
    uint8_t rnd [10] = { 0 };
    rnd [6] = (uint8_t) (n >> 24); rnd [7] = (uint8_t) (n >> 16);
    rnd [8] = (uint8_t) (n >> 8);  rnd [9] = (uint8_t) n;
    ulid_gen_next (&gen, ms, rnd, out);
}

/*  A market.post.created draft; strings borrowed from the arguments. */
typedef struct {
    Hearth__Event             ev;
    Hearth__MarketPostCreated post;
    Hearth__Location          loc;
    char                      id [ULID_SIZE];
    char                     *tags [2];
} tu_post_t;

static inline void
tu_post_init (tu_post_t *d, const identity_t *author, const uint8_t community [32],
              uint64_t lamport, uint64_t ms, uint32_t n, const char *client_id, const char *title)
{
    Hearth__Event e = HEARTH__EVENT__INIT;
    Hearth__MarketPostCreated p = HEARTH__MARKET_POST_CREATED__INIT;
    Hearth__Location l = HEARTH__LOCATION__INIT;
    d->ev = e; d->post = p; d->loc = l;
    tu_ulid (ms, n, d->id);
    d->ev.schema_version = 1;
    d->ev.event_id = d->id;
    d->ev.lamport = lamport;
    d->ev.wall_clock_ms = ms;
    d->ev.community_id.data = (uint8_t *) community;
    d->ev.community_id.len = 32;
    d->ev.author.data = (uint8_t *) identity_public_key (author);
    d->ev.author.len = 32;
    d->ev.type = HEARTH__EVENT_TYPE__MARKET_POST_CREATED;
    d->ev.payload_case = HEARTH__EVENT__PAYLOAD_MARKET_POST_CREATED;
    d->ev.market_post_created = &d->post;
    d->post.client_id = (char *) client_id;
    d->post.category = HEARTH__CATEGORY__CATEGORY_OFFER;
    d->post.title = (char *) title;
    d->post.body = (char *) "Two bags of apples from our tree, come by any evening.";
    d->tags [0] = (char *) "food";
    d->tags [1] = (char *) "free";
    d->post.tags = d->tags;
    d->post.n_tags = 2;
    d->post.ttl_seconds = 604800;
    d->loc.lat = 52.52;
    d->loc.lng = 13.405;
    d->loc.label = (char *) "Kiez";
    d->post.location = &d->loc;
}

/*  Wrap arbitrary body bytes with a signature by `signer` into SignedEvent
    wire bytes (malloc'd, caller frees). */
static inline uint8_t *
tu_wrap (const uint8_t *body, size_t len, const identity_t *signer, size_t *wire_len)
{
    uint8_t sig [64];
    identity_sign_event (signer, body, len, sig);
    Hearth__SignedEvent se = HEARTH__SIGNED_EVENT__INIT;
    se.body.data = (uint8_t *) body;
    se.body.len = len;
    se.signature.data = sig;
    se.signature.len = 64;
    *wire_len = hearth__signed_event__get_packed_size (&se);
    uint8_t *wire = (uint8_t *) malloc (*wire_len);
    hearth__signed_event__pack (&se, wire);
    return wire;
}

/*  Pack a draft body and wrap it (no structure check). */
static inline uint8_t *
tu_sign_raw (const Hearth__Event *draft, const identity_t *signer, size_t *wire_len)
{
    size_t len = hearth__event__get_packed_size (draft);
    uint8_t *body = (uint8_t *) malloc (len + 1);
    hearth__event__pack (draft, body);
    uint8_t *wire = tu_wrap (body, len, signer, wire_len);
    free (body);
    return wire;
}

#endif
