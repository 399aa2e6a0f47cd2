/*  event.h — one signed event: build, sign, decode, check, verify. (Its JSON
    envelope is the node's: node_event_json.h.)

    An event_t holds the SignedEvent wire bytes (owned copy), the unpacked
    body (Hearth__Event, read-only) and its hash = BLAKE2b-256(body || sig).
    Decoding enforces, in this order, each failure a distinct reason:
      size caps -> protobuf decode (no unknown fields, body re-encodes to the
      same bytes) -> structure (schema_version 1, ULID event_id, 32-byte keys,
      type in the closed set and matching the payload case, UTF-8 strings,
      field caps below).
    Signature verification is a separate step (event_verify) so the pipeline
    can dedup by hash first and fan verification out to several cores.
*/
#ifndef HEARTH_EVENT_H
#define HEARTH_EVENT_H

#include <stddef.h>
#include <stdint.h>
#include "hearth.pb-c.h"
#include "hearth_codec.h"
#include "identity.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- limits (documented in docs/limits.md) ------------------------------ */
/*  Whole SignedEvent on the wire or on disk. */
#define EVENT_MAX_BYTES           16384
/*  Post title, in bytes of UTF-8. */
#define EVENT_MAX_TITLE_BYTES     200
/*  Post body. */
#define EVENT_MAX_BODY_BYTES      8000
/*  Tags per post and bytes per tag. */
#define EVENT_MAX_TAGS            16
#define EVENT_MAX_TAG_BYTES       32
/*  client_id (ULID, UUID or any caller token). */
#define EVENT_MAX_CLIENT_ID_BYTES 64
/*  Location label, community name, display names, reasons. */
#define EVENT_MAX_LABEL_BYTES     120
/*  Opaque JSON payloads of types Hearth does not interpret yet. */
#define EVENT_MAX_OPAQUE_BYTES    8192
/*  Post time-to-live: at most 30 days (docs/protocol.md, "market.post") (30 * 86400 s); 0 = default. */
#define EVENT_MAX_TTL_SECONDS     2592000
/*  How far a received event's wall_clock_ms (its created_at) may lie ahead
    of the receiver's clock: 15 minutes (strfry's 900 s), enough for clocks
    kept by NTP or set by hand to the minute. Further ahead it is refused
    (EVENT_REJECT_FUTURE) at receive time, and not stored; sync offers it
    again later, so it is accepted once the receiver's clock has caught up.
    A receive rule, never a fold rule: what is stored folds alike on every
    node, whatever its clock. The market also treats a stored post dated
    further ahead than this as not live yet (market_view.h). */
#define EVENT_MAX_FUTURE_SKEW_MS  (UINT64_C (900) * 1000)

/*  Reasons an incoming event is dropped; each is counted (stats) and never
    stored or forwarded. Order = pipeline order (docs/architecture.md §5). */
typedef enum {
    EVENT_REJECT_NONE = 0,
    EVENT_REJECT_SIZE,          /* over EVENT_MAX_BYTES */
    EVENT_REJECT_DECODE,        /* not a SignedEvent/Event, unknown fields, non-canonical */
    EVENT_REJECT_STRUCTURE,     /* lengths, UTF-8, enum ranges, field caps */
    EVENT_REJECT_SIGNATURE,     /* Ed25519 check failed */
    EVENT_REJECT_COMMUNITY,     /* community_id is not ours */
    EVENT_REJECT_MEMBERSHIP,    /* author is not a current member */
    EVENT_REJECT_REVOKED,       /* author was revoked */
    EVENT_REJECT_TYPE_RULE,     /* type-specific rule (bad invite/join, ...) */
    EVENT_REJECT_LAMPORT,       /* lamport out of bounds */
    EVENT_REJECT_DUPLICATE,     /* already stored (same hash) */
    EVENT_REJECT_CONFLICT,      /* (author, event_id) stored with another body */
    EVENT_REJECT_FUTURE,        /* dated more than EVENT_MAX_FUTURE_SKEW_MS ahead */
    EVENT_REJECT_COUNT
} event_reject_t;

/*  Stable snake_case name of a reject reason ("bad_signature" style), for
    stats labels. Never NULL. */
const char *event_reject_name (event_reject_t reason);

/*  Stable dotted name of an event type ("market.post.created"), or NULL if
    out of range. Types are HEARTH__EVENT_TYPE__* (1..19). */
const char *event_type_name (int type);
/*  Inverse of event_type_name; 0 if unknown. */
int event_type_from_name (const char *name);
#define EVENT_TYPE_COUNT 20   /* 0 unused + 19 types */

typedef struct _event_t event_t;

/*  Decode SignedEvent wire bytes (copied). On failure returns NULL and sets
    *reason (SIZE, DECODE or STRUCTURE). Does not verify the signature. */
event_t *event_decode (const uint8_t *wire, size_t len, event_reject_t *reason);

/*  Sign a draft body: packs `body` (caller keeps ownership of the draft; its
    author field must equal the identity's key), signs it, and returns the
    event decoded from the result, so a local event passes exactly the checks
    a received one does. NULL + *err (HEARTH_EINVAL if the draft fails the
    structure checks). */
event_t *event_sign (const Hearth__Event *body, const identity_t *identity, int *err);

/*  0 if the signature is valid for the author, else HEARTH_ESIGNATURE. Pure,
    thread-safe (may run on worker threads). */
int event_verify (const event_t *self);

/*  Batch form of event_verify (identity_verify_events): rcs[i] (caller's
    array of n) = event_verify (events[i]) except with probability below
    2^-127. seed: IDENTITY_SEED_BYTES the authors cannot predict
    (randombytes_buf). Returns 0 if all are valid, else HEARTH_ESIGNATURE;
    HEARTH_EINVAL if n > EVENT_VERIFY_BATCH_MAX. Pure, thread-safe. */
#define EVENT_VERIFY_BATCH_MAX  256
int event_verify_batch (const event_t *const *events, size_t n, const uint8_t seed [IDENTITY_SEED_BYTES],
                        int *rcs);

/*  The receive-time clock rule: EVENT_REJECT_FUTURE if the event's
    wall_clock_ms is more than EVENT_MAX_FUTURE_SKEW_MS after now_ms (the
    receiver's clock), else EVENT_REJECT_NONE. Old events always pass. Pure. */
event_reject_t event_check_clock (const event_t *self, uint64_t now_ms);

/*  Deep copy; NULL on OOM. */
event_t *event_dup (const event_t *self);

/*  Free; safe on NULL; nulls *self_p. */
void event_destroy (event_t **self_p);

/* ---- accessors: all borrowed for the event's lifetime -------------------- */
const Hearth__Event *event_body    (const event_t *self);
const uint8_t       *event_hash    (const event_t *self);          /* 32 bytes */
const uint8_t       *event_wire    (const event_t *self, size_t *len);
const uint8_t       *event_author  (const event_t *self);          /* 32 bytes */
const char          *event_id      (const event_t *self);          /* ULID */
uint64_t             event_lamport (const event_t *self);
uint64_t             event_wall_ms (const event_t *self);
int                  event_type    (const event_t *self);          /* HEARTH__EVENT_TYPE__* */
const uint8_t       *event_signature (const event_t *self);        /* 64 bytes */
/*  The exact signed body bytes (what the signature covers after the domain
    prefix). */
const uint8_t       *event_signed_body (const event_t *self, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
