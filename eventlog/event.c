/*  event.c — one signed event: decode with caps, structure checks, sign,
    verify; see event.h. (Its JSON form is rendered by the node:
    node_event_json.c.)

    Invariants of an event_t:
      - wire is an owned copy of the SignedEvent bytes, at most
        EVENT_MAX_BYTES; body_bytes/sig point into it and body is the
        unpacked body;
      - both the SignedEvent and the Event body re-encode to exactly the bytes
        they came from and carry no unknown fields at any nesting level, so an
        event has one byte form and its hash names it;
      - body passed every structure check below;
      - hash = BLAKE2b-256(body bytes || signature).
    Nothing here trusts its input: every length, enum and string from the
    wire is checked before use, and a failure is a reject reason, never an
    assert.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <jansson.h>                    /* s_opaque_ok parses the opaque payload */
#include "event.h"
#include "ulid.h"
#include "hearth_error.h"

/*  Budgeted arena for protobuf-c unpacking: one event's decoded form lives
    in the arena, freed at once with the event. protobuf-c allocates at most
    ~12 bytes per wire byte (an empty repeated string costs 2 wire bytes and
    a pointer plus a 16-byte string slot); the budget of 16 bytes per wire
    byte + 8 KiB bounds what a hostile frame can make us allocate. */
#define EVENT_ARENA_PER_BYTE   16
#define EVENT_ARENA_BASE       8192
/*  First block: 4 bytes per wire byte + 1 KiB covers a typical event's
    decode with room to spare, so one malloc holds event, wire copy and
    decode. */
#define EVENT_ARENA_FIRST_PER_BYTE  4
#define EVENT_ARENA_FIRST_BASE      1024
/*  Alignment of arena allocations (max_align_t on x86-64 and arm64). */
#define EVENT_ARENA_ALIGN      16

typedef struct s_block {
    struct s_block *next;                   /* owned: further blocks */
    size_t          used, cap;
    _Alignas (EVENT_ARENA_ALIGN) uint8_t data [];
} s_block_t;

typedef struct {
    s_block_t *head;                        /* block allocations come from */
    s_block_t *extra;                       /* owned list of blocks after the first */
    size_t     total, budget;
} s_arena_t;

struct _event_t {
    uint8_t             *wire;              /* copy of the SignedEvent bytes, in this allocation */
    size_t               wire_len;
    const uint8_t       *body_bytes;        /* the signed body, inside wire */
    size_t               body_len;
    const uint8_t       *sig;               /* 64 bytes, inside wire */
    Hearth__Event       *body;              /* in the arena */
    uint8_t              hash [HEARTH_HASH_BYTES];
    s_arena_t            arena;
    s_block_t           *first;             /* in this allocation */
};

static void *
s_arena_alloc (void *data, size_t size)
{
    s_arena_t *a = (s_arena_t *) data;
    size_t need = (size + EVENT_ARENA_ALIGN - 1) & ~(size_t) (EVENT_ARENA_ALIGN - 1);
    if (need < size)
        return NULL;
    s_block_t *b = a->head;
    if (b->cap - b->used < need) {
        size_t cap = need > b->cap * 2? need: b->cap * 2;
        if (cap > a->budget - a->total)
            cap = a->budget - a->total;
        if (cap < need)
            return NULL;                    /* over budget: the frame fails to decode */
        b = (s_block_t *) malloc (sizeof (s_block_t) + cap);
        if (!b)
            return NULL;
        b->next = a->extra;
        b->used = 0;
        b->cap = cap;
        a->extra = b;
        a->head = b;
        a->total += cap;
    }
    void *p = b->data + b->used;
    b->used += need;
    return p;
}

static void
s_arena_free (void *data, void *ptr)
{
    (void) data;                            /* freed with the whole arena */
    (void) ptr;
}

/* ---- names --------------------------------------------------------------- */

static const char *s_type_names [EVENT_TYPE_COUNT] = {
    NULL,
    "community.created",
    "community.member.invited",
    "community.member.joined",
    "community.member.revoked",
    "community.member.promoted",
    "community.member.demoted",
    "community.policy.updated",
    "node.manifest.updated",
    "market.post.created",
    "market.post.updated",
    "market.post.expired",
    "chat.message.sent",
    "chat.message.delivered",
    "chat.message.read",
    "file.cid.advertised",
    "file.cid.unpinned",
    "rag.document.ingested",
    "federation.peer.added",
    "federation.peer.removed",
};

static const char *s_reject_names [EVENT_REJECT_COUNT] = {
    "none", "oversize", "decode", "structure", "bad_signature", "wrong_community",
    "not_member", "revoked", "type_rule", "lamport_bound", "duplicate", "conflict",
    "future_dated",
};

const char *
event_reject_name (event_reject_t reason)
{
    if ((int) reason < 0 || reason >= EVENT_REJECT_COUNT)
        return "unknown";
    return s_reject_names [reason];
}

const char *
event_type_name (int type)
{
    if (type <= 0 || type >= EVENT_TYPE_COUNT)
        return NULL;
    return s_type_names [type];
}

int
event_type_from_name (const char *name)
{
    for (int t = 1; name && t < EVENT_TYPE_COUNT; t++)
        if (strcmp (s_type_names [t], name) == 0)
            return t;
    return 0;
}

/* ---- decode helpers ------------------------------------------------------ */

/*  1 if m and every message nested in it (set oneof member, optional and
    repeated message fields) has no unknown fields. Depth is bounded by the
    schema (Event -> payload -> Location/Policy), not by the input. */
static int
s_no_unknown_fields (const ProtobufCMessage *m)
{
    if (m->n_unknown_fields)
        return 0;
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields [i];
        if (f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        const char *base = (const char *) m;
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            uint32_t which = *(const uint32_t *) (base + f->quantifier_offset);
            if (which != f->id)
                continue;
        }
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *) (base + f->quantifier_offset);
            ProtobufCMessage *const *arr = *(ProtobufCMessage *const *const *) (base + f->offset);
            for (size_t k = 0; k < n; k++)
                if (arr [k] && !s_no_unknown_fields (arr [k]))
                    return 0;
        }
        else {
            const ProtobufCMessage *sub = *(const ProtobufCMessage *const *) (base + f->offset);
            if (sub && !s_no_unknown_fields (sub))
                return 0;
        }
    }
    return 1;
}

/*  1 if m packs to exactly the len bytes at data (canonical form). */
static int
s_canonical (const ProtobufCMessage *m, const uint8_t *data, size_t len)
{
    if (protobuf_c_message_get_packed_size (m) != len)
        return 0;
    uint8_t stack [EVENT_MAX_BYTES];
    uint8_t *buf = len <= sizeof stack? stack: (uint8_t *) malloc (len);
    if (!buf)
        return 0;
    int ok = protobuf_c_message_pack (m, buf) == len && memcmp (buf, data, len) == 0;
    if (buf != stack)
        free (buf);
    return ok;
}

/*  A string field: valid UTF-8 (no NUL), at most max bytes, and non-empty
    if required. */
static int
s_text_ok (const char *s, size_t max, int required)
{
    if (!s)
        return !required;
    size_t n = strnlen (s, max + 1);
    if (n > max || (required && n == 0))
        return 0;
    return hearth_utf8_valid (s, n);
}

static int
s_key_ok (const ProtobufCBinaryData *b)
{
    return b->len == HEARTH_KEY_BYTES && b->data;
}

static int
s_location_ok (const Hearth__Location *loc)
{
    if (!loc)
        return 1;                           /* absent = no location */
    return isfinite (loc->lat) && isfinite (loc->lng)
        && loc->lat >= -90.0 && loc->lat <= 90.0
        && loc->lng >= -180.0 && loc->lng <= 180.0
        && s_text_ok (loc->label, EVENT_MAX_LABEL_BYTES, 0);
}

static int
s_tags_ok (char *const *tags, size_t n)
{
    if (n > EVENT_MAX_TAGS)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!s_text_ok (tags [i], EVENT_MAX_TAG_BYTES, 1))
            return 0;
    return 1;
}

static int
s_level_ok (int level, int min, int max)
{
    return level >= min && level <= max;
}

/*  The opaque payload of an uninterpreted type: a UTF-8 JSON object. */
static int
s_opaque_ok (const Hearth__OpaquePayload *p)
{
    if (!p || p->json.len == 0 || p->json.len > EVENT_MAX_OPAQUE_BYTES
    ||  !hearth_utf8_valid ((const char *) p->json.data, p->json.len))
        return 0;
    json_error_t jerr;
    json_t *doc = json_loadb ((const char *) p->json.data, p->json.len,
                              JSON_REJECT_DUPLICATES, &jerr);
    int ok = doc && json_is_object (doc);
    json_decref (doc);
    return ok;
}

/*  Every structure rule of the body (event.h). 1 = passes. */
static int
s_structure_ok (const Hearth__Event *e)
{
    if (e->schema_version != 1
    ||  !ulid_valid (e->event_id)
    ||  !s_key_ok (&e->community_id)
    ||  !s_key_ok (&e->author)
    ||  (int) e->type <= 0 || (int) e->type >= EVENT_TYPE_COUNT)
        return 0;
    switch (e->type) {
        case HEARTH__EVENT_TYPE__COMMUNITY_CREATED: {
            const Hearth__CommunityCreated *p = e->community_created;
            return e->payload_case == HEARTH__EVENT__PAYLOAD_COMMUNITY_CREATED && p
                && s_text_ok (p->name, EVENT_MAX_LABEL_BYTES, 1);
        }
        case HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_INVITED: {
            const Hearth__MemberInvited *p = e->member_invited;
            return e->payload_case == HEARTH__EVENT__PAYLOAD_MEMBER_INVITED && p
                && s_key_ok (&p->invitee)
                && s_text_ok (p->display_name, EVENT_MAX_LABEL_BYTES, 0)
                && s_level_ok (p->initial_level, HEARTH__LEVEL__LEVEL_MEMBER,
                               HEARTH__LEVEL__LEVEL_TRUSTED);
        }
        case HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_JOINED: {
            const Hearth__MemberJoined *p = e->member_joined;
            return e->payload_case == HEARTH__EVENT__PAYLOAD_MEMBER_JOINED && p
                && ulid_valid (p->invite_event_id)
                && s_text_ok (p->display_name, EVENT_MAX_LABEL_BYTES, 0);
        }
        case HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_REVOKED:
        case HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_PROMOTED:
        case HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_DEMOTED: {
            const Hearth__MemberChange *p = e->member_change;
            if (e->payload_case != HEARTH__EVENT__PAYLOAD_MEMBER_CHANGE || !p
            ||  !s_key_ok (&p->target) || !s_text_ok (p->reason, EVENT_MAX_LABEL_BYTES, 0)
            ||  (p->proposal_event_id && *p->proposal_event_id && !ulid_valid (p->proposal_event_id)))
                return 0;
            if (e->type == HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_REVOKED)
                return p->new_level == HEARTH__LEVEL__LEVEL_NONE;
            return s_level_ok (p->new_level, HEARTH__LEVEL__LEVEL_MEMBER, HEARTH__LEVEL__LEVEL_ANCHOR);
        }
        case HEARTH__EVENT_TYPE__MARKET_POST_CREATED: {
            const Hearth__MarketPostCreated *p = e->market_post_created;
            return e->payload_case == HEARTH__EVENT__PAYLOAD_MARKET_POST_CREATED && p
                && s_text_ok (p->client_id, EVENT_MAX_CLIENT_ID_BYTES, 0)
                && s_level_ok (p->category, HEARTH__CATEGORY__CATEGORY_OFFER,
                               HEARTH__CATEGORY__CATEGORY_EMERGENCY)
                && s_text_ok (p->title, EVENT_MAX_TITLE_BYTES, 1)
                && s_text_ok (p->body, EVENT_MAX_BODY_BYTES, 1)
                && s_location_ok (p->location)
                && s_tags_ok (p->tags, p->n_tags)
                && p->ttl_seconds <= EVENT_MAX_TTL_SECONDS;
        }
        case HEARTH__EVENT_TYPE__MARKET_POST_UPDATED: {
            const Hearth__MarketPostUpdated *p = e->market_post_updated;
            return e->payload_case == HEARTH__EVENT__PAYLOAD_MARKET_POST_UPDATED && p
                && s_text_ok (p->client_id, EVENT_MAX_CLIENT_ID_BYTES, 0)
                && ulid_valid (p->target_event_id)
                && s_text_ok (p->title, EVENT_MAX_TITLE_BYTES, 0)
                && s_text_ok (p->body, EVENT_MAX_BODY_BYTES, 0)
                && s_tags_ok (p->tags, p->n_tags)
                && (p->replace_tags || p->n_tags == 0)
                && s_location_ok (p->location)
                && !(p->clear_location && p->location)
                && p->ttl_seconds <= EVENT_MAX_TTL_SECONDS;
        }
        case HEARTH__EVENT_TYPE__MARKET_POST_EXPIRED: {
            const Hearth__MarketPostExpired *p = e->market_post_expired;
            return e->payload_case == HEARTH__EVENT__PAYLOAD_MARKET_POST_EXPIRED && p
                && s_text_ok (p->client_id, EVENT_MAX_CLIENT_ID_BYTES, 0)
                && ulid_valid (p->target_event_id)
                && s_level_ok (p->reason, HEARTH__EXPIRY_REASON__EXPIRY_REASON_FULFILLED,
                               HEARTH__EXPIRY_REASON__EXPIRY_REASON_STALE);
        }
        default:
            /*  The other ten types are stored and forwarded as JSON objects. */
            return e->payload_case == HEARTH__EVENT__PAYLOAD_OPAQUE && s_opaque_ok (e->opaque);
    }
}

/*  The one canonical form of a valid SignedEvent is
        0x0A varint(L) body[L] 0x12 0x40 signature[64]
    (field 1 then field 2, minimal varint, non-empty body). Split it
    without unpacking; 0 if the bytes are anything else. */
static int
s_wrapper_split (const uint8_t *wire, size_t len, const uint8_t **body, size_t *body_len,
                 const uint8_t **sig)
{
    if (len < 4 || wire [0] != 0x0A)
        return 0;
    size_t pos = 1, l = 0;
    int shift = 0;
    /*  At most 3 varint bytes: bodies are below EVENT_MAX_BYTES < 2^21. */
    for (;;) {
        if (pos >= len || shift > 14)
            return 0;
        uint8_t byte = wire [pos++];
        l |= (size_t) (byte & 0x7F) << shift;
        if (!(byte & 0x80)) {
            if (byte == 0 && shift > 0)
                return 0;                   /* non-minimal varint */
            break;
        }
        shift += 7;
    }
    if (l == 0 || l > len || pos + l + 2 + HEARTH_SIG_BYTES != len
    ||  wire [pos + l] != 0x12 || wire [pos + l + 1] != HEARTH_SIG_BYTES)
        return 0;
    *body = wire + pos;
    *body_len = l;
    *sig = wire + pos + l + 2;
    return 1;
}

/*  Why a wrapper is not canonical: unpack it to tell a broken or padded
    encoding (DECODE) from a well-formed one with an empty body or a
    signature of the wrong length (STRUCTURE). */
static event_reject_t
s_wrapper_reason (const uint8_t *wire, size_t len, ProtobufCAllocator *allocator)
{
    Hearth__SignedEvent *se = hearth__signed_event__unpack (allocator, len, wire);
    if (!se || !s_no_unknown_fields (&se->base) || !s_canonical (&se->base, wire, len))
        return EVENT_REJECT_DECODE;
    if (se->body.len == 0 || se->signature.len != HEARTH_SIG_BYTES)
        return EVENT_REJECT_STRUCTURE;
    return EVENT_REJECT_DECODE;             /* unreachable: the fast path takes it */
}

static void
s_free (event_t *self)
{
    if (!self)
        return;
    while (self->arena.extra) {
        s_block_t *next = self->arena.extra->next;
        free (self->arena.extra);
        self->arena.extra = next;
    }
    free (self);
}

/* ---- public -------------------------------------------------------------- */

/*  Size cap -> decode (no unknown fields, canonical) -> structure. */
event_t *
event_decode (const uint8_t *wire, size_t len, event_reject_t *reason)
{
    event_reject_t dummy;
    reason = reason? reason: &dummy;
    if (len > EVENT_MAX_BYTES) {
        *reason = EVENT_REJECT_SIZE;
        return NULL;
    }
    if (!wire || len == 0) {
        *reason = EVENT_REJECT_DECODE;
        return NULL;
    }
    /*  One allocation: the event, the first arena block, the wire copy.
        len <= EVENT_MAX_BYTES, so none of these sizes can overflow. */
    size_t first_cap = EVENT_ARENA_FIRST_PER_BYTE * len + EVENT_ARENA_FIRST_BASE;
    size_t head = (sizeof (event_t) + EVENT_ARENA_ALIGN - 1) & ~(size_t) (EVENT_ARENA_ALIGN - 1);
    event_t *self = (event_t *) malloc (head + sizeof (s_block_t) + first_cap + len);
    if (!self) {
        *reason = EVENT_REJECT_DECODE;      /* OOM: drop, the peer may resend */
        return NULL;
    }
    memset (self, 0, sizeof *self);
    self->first = (s_block_t *) ((uint8_t *) self + head);
    self->first->next = NULL;
    self->first->used = 0;
    self->first->cap = first_cap;
    self->wire = self->first->data + first_cap;
    memcpy (self->wire, wire, len);
    self->wire_len = len;
    self->arena.head = self->first;
    self->arena.total = first_cap;
    self->arena.budget = EVENT_ARENA_PER_BYTE * len + EVENT_ARENA_BASE;
    ProtobufCAllocator allocator = { s_arena_alloc, s_arena_free, &self->arena };

    *reason = EVENT_REJECT_DECODE;
    if (!s_wrapper_split (self->wire, len, &self->body_bytes, &self->body_len, &self->sig)) {
        *reason = s_wrapper_reason (self->wire, len, &allocator);
        goto fail;
    }
    self->body = hearth__event__unpack (&allocator, self->body_len, self->body_bytes);
    if (!self->body
    ||  !s_no_unknown_fields (&self->body->base)
    ||  !s_canonical (&self->body->base, self->body_bytes, self->body_len))
        goto fail;
    if (!s_structure_ok (self->body)) {
        *reason = EVENT_REJECT_STRUCTURE;
        goto fail;
    }
    crypto_generichash_state st;
    crypto_generichash_init (&st, NULL, 0, HEARTH_HASH_BYTES);
    crypto_generichash_update (&st, self->body_bytes, self->body_len);
    crypto_generichash_update (&st, self->sig, HEARTH_SIG_BYTES);
    crypto_generichash_final (&st, self->hash, HEARTH_HASH_BYTES);
    *reason = EVENT_REJECT_NONE;
    return self;
fail:
    s_free (self);
    return NULL;
}

/*  Pack, sign, wrap, and decode the result like a received event. */
event_t *
event_sign (const Hearth__Event *body, const identity_t *identity, int *err)
{
    int dummy;
    err = err? err: &dummy;
    if (!body || !identity || body->author.len != HEARTH_KEY_BYTES || !body->author.data
    ||  memcmp (body->author.data, identity_public_key (identity), HEARTH_KEY_BYTES) != 0) {
        *err = HEARTH_EINVAL;
        return NULL;
    }
    size_t body_len = hearth__event__get_packed_size (body);
    if (body_len > EVENT_MAX_BYTES) {
        *err = HEARTH_ETOOBIG;
        return NULL;
    }
    uint8_t *body_buf = (uint8_t *) malloc (body_len? body_len: 1);
    if (!body_buf) {
        *err = HEARTH_ENOMEM;
        return NULL;
    }
    hearth__event__pack (body, body_buf);
    uint8_t sig [HEARTH_SIG_BYTES];
    identity_sign_event (identity, body_buf, body_len, sig);

    Hearth__SignedEvent se = HEARTH__SIGNED_EVENT__INIT;
    se.body.data = body_buf;
    se.body.len = body_len;
    se.signature.data = sig;
    se.signature.len = HEARTH_SIG_BYTES;
    size_t wire_len = hearth__signed_event__get_packed_size (&se);
    event_t *self = NULL;
    if (wire_len > EVENT_MAX_BYTES)
        *err = HEARTH_ETOOBIG;
    else {
        uint8_t *wire = (uint8_t *) malloc (wire_len);
        if (!wire)
            *err = HEARTH_ENOMEM;
        else {
            hearth__signed_event__pack (&se, wire);
            event_reject_t reason;
            self = event_decode (wire, wire_len, &reason);
            *err = self? 0: reason == EVENT_REJECT_SIZE? HEARTH_ETOOBIG: HEARTH_EINVAL;
            free (wire);
        }
    }
    free (body_buf);
    return self;
}

int
event_verify (const event_t *self)
{
    return identity_verify_event (self->body->author.data, self->body_bytes, self->body_len, self->sig);
}

int
event_verify_batch (const event_t *const *events, size_t n, const uint8_t seed [IDENTITY_SEED_BYTES],
                    int *rcs)
{
    if (n > EVENT_VERIFY_BATCH_MAX)
        return HEARTH_EINVAL;
    identity_sig_t sigs [EVENT_VERIFY_BATCH_MAX];
    for (size_t i = 0; i < n; i++) {
        sigs [i].pub = events [i]->body->author.data;
        sigs [i].msg = events [i]->body_bytes;
        sigs [i].len = events [i]->body_len;
        sigs [i].sig = events [i]->sig;
    }
    return identity_verify_events (sigs, n, seed, rcs);
}

event_t *
event_dup (const event_t *self)
{
    event_reject_t reason;
    return self? event_decode (self->wire, self->wire_len, &reason): NULL;
}

void
event_destroy (event_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_free (*self_p);
    *self_p = NULL;
}

const Hearth__Event *event_body    (const event_t *self) { return self->body; }
const uint8_t       *event_hash    (const event_t *self) { return self->hash; }
const uint8_t       *event_author  (const event_t *self) { return self->body->author.data; }
const char          *event_id      (const event_t *self) { return self->body->event_id; }
uint64_t             event_lamport (const event_t *self) { return self->body->lamport; }

event_reject_t
event_check_clock (const event_t *self, uint64_t now_ms)
{
    uint64_t wall = self->body->wall_clock_ms;
    if (now_ms > UINT64_MAX - EVENT_MAX_FUTURE_SKEW_MS || wall <= now_ms + EVENT_MAX_FUTURE_SKEW_MS)
        return EVENT_REJECT_NONE;
    return EVENT_REJECT_FUTURE;
}
uint64_t             event_wall_ms (const event_t *self) { return self->body->wall_clock_ms; }
int                  event_type    (const event_t *self) { return (int) self->body->type; }

const uint8_t *
event_wire (const event_t *self, size_t *len)
{
    if (len)
        *len = self->wire_len;
    return self->wire;
}

const uint8_t *
event_signature (const event_t *self)
{
    return self->sig;
}

const uint8_t *
event_signed_body (const event_t *self, size_t *len)
{
    if (len)
        *len = self->body_len;
    return self->body_bytes;
}
