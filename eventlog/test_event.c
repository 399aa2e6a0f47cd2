/*  test_event.c — unit tests of the pure parts: Lamport rules, ULIDs,
    identity keys (on disk in a temp dir), event decode/sign/verify/JSON. */
#include <regex.h>
#include <sys/stat.h>
#include "test_util.h"
#include "lamport.h"

static const uint8_t s_community [32] = { 7, 7, 7 };

/* ---- Lamport rules ------------------------------------------------------ */

HT_TEST (test_lamport_send_increments)
{
    uint64_t v = 0;
    HT_CHECK_EQ_INT (lamport_next (0, &v), 0);
    HT_CHECK_EQ_INT (v, 1);
    HT_CHECK_EQ_INT (lamport_next (41, &v), 0);
    HT_CHECK_EQ_INT (v, 42);
    HT_CHECK_EQ_INT (lamport_next (LAMPORT_MAX - 2, &v), 0);
    HT_CHECK (v == LAMPORT_MAX - 1);
    HT_CHECK_EQ_INT (lamport_next (LAMPORT_MAX - 1, &v), HEARTH_ELAMPORT);
    HT_CHECK_EQ_INT (lamport_next (UINT64_MAX, &v), HEARTH_ELAMPORT);
}

HT_TEST (test_lamport_observe_caps_above)
{
    /*  Receiving a higher value moves the clock up to it; a lower one does not. */
    HT_CHECK_EQ_INT (lamport_observe (5, 10), 10);
    HT_CHECK_EQ_INT (lamport_observe (10, 5), 10);
    uint64_t next;
    lamport_next (lamport_observe (5, 10), &next);
    HT_CHECK_EQ_INT (next, 11);
    /*  The bound: at most LAMPORT_MAX_JUMP above the head, below 2^62. */
    HT_CHECK_EQ_INT (lamport_check (100, 100 + LAMPORT_MAX_JUMP), 0);
    HT_CHECK_EQ_INT (lamport_check (100, 101 + LAMPORT_MAX_JUMP), HEARTH_ELAMPORT);
    HT_CHECK_EQ_INT (lamport_check (0, 0), HEARTH_ELAMPORT);     /* lamports start at 1 */
    HT_CHECK_EQ_INT (lamport_check (5, 0), HEARTH_ELAMPORT);
    HT_CHECK_EQ_INT (lamport_check (0, 1), 0);
    HT_CHECK_EQ_INT (lamport_check (LAMPORT_MAX - 1, LAMPORT_MAX), HEARTH_ELAMPORT);
    HT_CHECK_EQ_INT (lamport_check (LAMPORT_MAX - 2, LAMPORT_MAX - 1), 0);
    HT_CHECK_EQ_INT (lamport_check (UINT64_MAX, UINT64_MAX), HEARTH_ELAMPORT);
}

/* ---- ULID ------------------------------------------------------------------ */

HT_TEST (test_ulid_format_and_time)
{
    ulid_gen_t gen = { 0 };
    uint8_t rnd [10] = { 0xff, 1, 2, 3, 4, 5, 6, 7, 8, 9 };
    char id [ULID_SIZE];
    HT_CHECK_EQ_INT (ulid_gen_next (&gen, 1469918176385ULL, rnd, id), 0);
    HT_CHECK_EQ_INT (strlen (id), 26);
    HT_CHECK (ulid_valid (id));
    /*  The ULID spec's example time 1469918176385 encodes as 01ARYZ6S41. */
    HT_CHECK (strncmp (id, "01ARYZ6S41", 10) == 0);
    HT_CHECK (ulid_time_ms (id) == 1469918176385ULL);
    HT_CHECK (!ulid_valid ("01ARYZ6S41TSV4RRFFQ69G5FA"));     /* 25 chars */
    HT_CHECK (!ulid_valid ("81ARYZ6S41TSV4RRFFQ69G5FAV"));    /* > 128 bits */
    HT_CHECK (!ulid_valid ("01ARYZ6S41TSV4RRFFQ69G5FAI"));    /* I is not Crockford */
    HT_CHECK (!ulid_valid ("01aryz6s41tsv4rrffq69g5fav"));    /* lower case */
    HT_CHECK (ulid_valid ("7ZZZZZZZZZZZZZZZZZZZZZZZZZ"));
    HT_CHECK (!ulid_valid (NULL));
    HT_CHECK_EQ_INT (ulid_gen_next (&gen, UINT64_C (1) << 48, rnd, id), HEARTH_EINVAL);
}

HT_TEST (test_ulid_monotonic_same_ms_and_clock_back)
{
    ulid_gen_t gen = { 0 };
    uint8_t rnd [10];
    char prev [ULID_SIZE], id [ULID_SIZE];
    randombytes_buf (rnd, sizeof rnd);
    HT_CHECK_EQ_INT (ulid_gen_next (&gen, 1000000, rnd, prev), 0);
    /*  Same ms, 1000 times, fresh randomness each time: strictly increasing. */
    for (int i = 0; i < 1000; i++) {
        randombytes_buf (rnd, sizeof rnd);
        HT_CHECK_EQ_INT (ulid_gen_next (&gen, 1000000, rnd, id), 0);
        HT_CHECK (strcmp (id, prev) > 0);
        strcpy (prev, id);
    }
    /*  The clock steps back by 5 s: still after the previous id. */
    randombytes_buf (rnd, sizeof rnd);
    HT_CHECK_EQ_INT (ulid_gen_next (&gen, 995000, rnd, id), 0);
    HT_CHECK (strcmp (id, prev) > 0);
    HT_CHECK (ulid_time_ms (id) == 1000000);
    strcpy (prev, id);
    /*  Time advances again: a new ms and a fresh random part. */
    HT_CHECK_EQ_INT (ulid_gen_next (&gen, 1000001, rnd, id), 0);
    HT_CHECK (strcmp (id, prev) > 0);
    HT_CHECK (ulid_time_ms (id) == 1000001);
    /*  Random part at its maximum within one ms: overflow is refused. */
    uint8_t ff [10];
    memset (ff, 0xff, sizeof ff);
    ulid_gen_t g2 = { 0 };
    HT_CHECK_EQ_INT (ulid_gen_next (&g2, 5, ff, id), 0);
    HT_CHECK_EQ_INT (ulid_gen_next (&g2, 5, ff, id), HEARTH_EINVAL);
}

/* ---- identity ----------------------------------------------------------- */

HT_TEST (test_identity_create_load_and_perm)
{
    char *dir = ht_tmpdir ("ident");
    char keys [512], seed_path [600];
    snprintf (keys, sizeof keys, "%s/keys", dir);
    snprintf (seed_path, sizeof seed_path, "%s/device.ed25519", keys);
    int err = 1;
    identity_t *a = identity_create (keys, &err);
    HT_CHECK (a != NULL);
    HT_CHECK_EQ_INT (err, 0);
    struct stat st;
    HT_CHECK (stat (seed_path, &st) == 0 && (st.st_mode & 0777) == 0600 && st.st_size == 32);
    identity_t *again = identity_create (keys, &err);
    HT_CHECK (again == NULL);
    HT_CHECK_EQ_INT (err, HEARTH_EEXISTS);
    identity_t *b = identity_load (keys, &err);
    HT_CHECK (b != NULL);
    HT_CHECK (a && b && memcmp (identity_public_key (a), identity_public_key (b), 32) == 0);
    HT_CHECK (a && b && strcmp (identity_node_id (a), identity_node_id (b)) == 0);
    identity_destroy (&b);
    HT_CHECK (b == NULL);
    /*  A key readable by others is refused. */
    chmod (seed_path, 0644);
    b = identity_load (keys, &err);
    HT_CHECK (b == NULL);
    HT_CHECK_EQ_INT (err, HEARTH_EKEYPERM);
    chmod (seed_path, 0640);
    HT_CHECK (identity_load (keys, &err) == NULL && err == HEARTH_EKEYPERM);
    /*  Wrong size. */
    chmod (seed_path, 0600);
    FILE *f = fopen (seed_path, "ab");
    fputc ('x', f);
    fclose (f);
    HT_CHECK (identity_load (keys, &err) == NULL && err == HEARTH_EKEYS);
    unlink (seed_path);
    HT_CHECK (identity_load (keys, &err) == NULL && err == HEARTH_EKEYS);
    identity_destroy (&a);
    identity_destroy (&a);                  /* safe twice */
    ht_rmtree (dir);
    free (dir);
}

HT_TEST (test_identity_short_id_regex)
{
    regex_t re;
    HT_CHECK (regcomp (&re, "^ed25519:[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$", REG_EXTENDED) == 0);
    for (int i = 0; i < 50; i++) {
        identity_t *id = tu_identity ((uint8_t) i);
        HT_CHECK (regexec (&re, identity_short_id (id), 0, NULL, 0) == 0);
        uint8_t key [32];
        HT_CHECK_EQ_INT (hearth_node_id_parse (identity_node_id (id), key), 0);
        HT_CHECK (memcmp (key, identity_public_key (id), 32) == 0);
        HT_CHECK_EQ_INT (strlen (identity_node_id (id)), 51);
        identity_destroy (&id);
    }
    regfree (&re);
}

HT_TEST (test_identity_flipped_byte_fails_verify)
{
    identity_t *id = tu_identity (1);
    uint8_t msg [100], sig [64];
    for (size_t i = 0; i < sizeof msg; i++)
        msg [i] = (uint8_t) i;
    identity_sign_event (id, msg, sizeof msg, sig);
    HT_CHECK_EQ_INT (identity_verify_event (identity_public_key (id), msg, sizeof msg, sig), 0);
    for (size_t i = 0; i < sizeof msg; i += 7) {
        msg [i] ^= 1;
        HT_CHECK_EQ_INT (identity_verify_event (identity_public_key (id), msg, sizeof msg, sig),
                         HEARTH_ESIGNATURE);
        msg [i] ^= 1;
    }
    sig [10] ^= 0x80;
    HT_CHECK_EQ_INT (identity_verify_event (identity_public_key (id), msg, sizeof msg, sig),
                     HEARTH_ESIGNATURE);
    sig [10] ^= 0x80;
    /*  Without the domain prefix the signature is not valid Ed25519 of msg. */
    HT_CHECK (crypto_sign_verify_detached (sig, msg, sizeof msg, identity_public_key (id)) != 0);
    identity_destroy (&id);
}

/* ---- events ------------------------------------------------------------------ */

/*  The CURVE key pair converts from the Ed25519 pair: the public half is
    what crypto_sign_ed25519_pk_to_curve25519 gives, and the pair agrees
    (scalarmult of the secret is the public). */
HT_TEST (test_identity_curve_keypair)
{
    identity_t *id = tu_identity (7);
    uint8_t pub [32], sec [32], expect [32], derived [32];
    HT_CHECK_EQ_INT (identity_curve_keypair (id, pub, sec), 0);
    HT_CHECK_EQ_INT (crypto_sign_ed25519_pk_to_curve25519 (expect, identity_public_key (id)), 0);
    HT_CHECK (memcmp (pub, expect, 32) == 0);
    HT_CHECK_EQ_INT (crypto_scalarmult_base (derived, sec), 0);
    HT_CHECK (memcmp (derived, pub, 32) == 0);
    sodium_memzero (sec, sizeof sec);
    identity_destroy (&id);
}

HT_TEST (test_event_sign_decode_verify)
{
    identity_t *id = tu_identity (2);
    tu_post_t d;
    tu_post_init (&d, id, s_community, 5, 1764000000000ULL, 1, "c-1", "Apples");
    int err = 1;
    event_t *ev = event_sign (&d.ev, id, &err);
    HT_CHECK (ev != NULL);
    HT_CHECK_EQ_INT (err, 0);
    if (!ev)
        return;
    HT_CHECK_EQ_INT (event_verify (ev), 0);
    HT_CHECK_EQ_INT (event_lamport (ev), 5);
    HT_CHECK_EQ_INT (event_type (ev), HEARTH__EVENT_TYPE__MARKET_POST_CREATED);
    HT_CHECK_EQ_STR (event_id (ev), d.id);
    size_t len;
    const uint8_t *wire = event_wire (ev, &len);
    event_reject_t reason = EVENT_REJECT_COUNT;
    event_t *copy = event_decode (wire, len, &reason);
    HT_CHECK (copy && reason == EVENT_REJECT_NONE);
    HT_CHECK (copy && memcmp (event_hash (copy), event_hash (ev), 32) == 0);
    event_t *dup = event_dup (ev);
    HT_CHECK (dup && memcmp (event_hash (dup), event_hash (ev), 32) == 0);
    /*  A flipped byte anywhere in the body fails verify (or decode). */
    uint8_t *bad = malloc (len);
    int flips = 0, caught = 0;
    for (size_t i = 4; i < len - 66; i += 3) {
        memcpy (bad, wire, len);
        bad [i] ^= 0x01;
        event_t *b = event_decode (bad, len, &reason);
        flips++;
        if (!b || event_verify (b) == HEARTH_ESIGNATURE)
            caught++;
        event_destroy (&b);
    }
    HT_CHECK_EQ_INT (caught, flips);
    free (bad);
    /*  Author must be the signer. */
    identity_t *other = tu_identity (3);
    HT_CHECK (event_sign (&d.ev, other, &err) == NULL && err == HEARTH_EINVAL);
    identity_destroy (&other);
    event_destroy (&copy);
    event_destroy (&dup);
    event_destroy (&ev);
    event_destroy (&ev);
    identity_destroy (&id);
}

/*  Decode crafted frames and return the reason. */
static event_reject_t
s_reason_of (const uint8_t *wire, size_t len)
{
    event_reject_t reason = EVENT_REJECT_NONE;
    event_t *ev = event_decode (wire, len, &reason);
    event_destroy (&ev);
    return reason;
}

HT_TEST (test_event_decode_rejects)
{
    identity_t *id = tu_identity (4);
    tu_post_t d;
    tu_post_init (&d, id, s_community, 9, 1764000000000ULL, 2, "c-2", "Chairs");
    size_t len, blen = hearth__event__get_packed_size (&d.ev);
    uint8_t *wire = tu_sign_raw (&d.ev, id, &len);
    HT_CHECK_EQ_INT (s_reason_of (wire, len), EVENT_REJECT_NONE);

    /*  Truncated at every length. */
    int bad = 0;
    for (size_t cut = 0; cut < len; cut++)
        bad += s_reason_of (wire, cut) != EVENT_REJECT_NONE;
    HT_CHECK_EQ_INT (bad, (int) len);
    HT_CHECK_EQ_INT (s_reason_of (wire, len - 1), EVENT_REJECT_DECODE);
    HT_CHECK_EQ_INT (s_reason_of (NULL, 0), EVENT_REJECT_DECODE);

    /*  Oversize. */
    uint8_t *big = calloc (1, EVENT_MAX_BYTES + 1);
    HT_CHECK_EQ_INT (s_reason_of (big, EVENT_MAX_BYTES + 1), EVENT_REJECT_SIZE);
    free (big);

    /*  Unknown field appended to the body (field 99, varint 1), validly signed. */
    uint8_t *body = malloc (blen + 3);
    hearth__event__pack (&d.ev, body);
    body [blen] = 0x98; body [blen + 1] = 0x06; body [blen + 2] = 0x01;
    size_t wlen;
    uint8_t *w = tu_wrap (body, blen + 3, id, &wlen);
    HT_CHECK_EQ_INT (s_reason_of (w, wlen), EVENT_REJECT_DECODE);
    free (w);

    /*  Unknown field in a nested message (the Location). */
    ProtobufCMessageUnknownField uf = { .tag = 99, .wire_type = PROTOBUF_C_WIRE_TYPE_VARINT,
                                        .len = 1, .data = (uint8_t *) "\x01" };
    d.loc.base.n_unknown_fields = 1;
    d.loc.base.unknown_fields = &uf;
    w = tu_sign_raw (&d.ev, id, &wlen);
    HT_CHECK_EQ_INT (s_reason_of (w, wlen), EVENT_REJECT_DECODE);
    free (w);
    d.loc.base.n_unknown_fields = 0;
    d.loc.base.unknown_fields = NULL;

    /*  Unknown field in the SignedEvent wrapper. */
    uint8_t *w2 = malloc (len + 3);
    memcpy (w2, wire, len);
    w2 [len] = 0x98; w2 [len + 1] = 0x06; w2 [len + 2] = 0x01;
    HT_CHECK_EQ_INT (s_reason_of (w2, len + 3), EVENT_REJECT_DECODE);
    free (w2);

    /*  Non-canonical: schema_version (field 1) as a 2-byte varint 0x81 0x00. */
    HT_CHECK (body [0] == 0x08 && body [1] == 0x01);
    uint8_t *nc = malloc (blen + 1);
    nc [0] = 0x08; nc [1] = 0x81; nc [2] = 0x00;
    memcpy (nc + 3, body + 2, blen - 2);
    w = tu_wrap (nc, blen + 1, id, &wlen);
    HT_CHECK_EQ_INT (s_reason_of (w, wlen), EVENT_REJECT_DECODE);
    free (w);
    /*  Non-canonical: a field repeated (last one wins on decode). */
    memcpy (nc, body, blen);
    nc [blen] = 0x08;  /* followed by 0x01 below */
    uint8_t *nc2 = malloc (blen + 2);
    memcpy (nc2, body, blen);
    nc2 [blen] = 0x08; nc2 [blen + 1] = 0x01;
    w = tu_wrap (nc2, blen + 2, id, &wlen);
    HT_CHECK_EQ_INT (s_reason_of (w, wlen), EVENT_REJECT_DECODE);
    free (w);
    free (nc2);
    free (nc);
    free (body);

    /*  Structure failures, each validly signed. */
    struct { const char *what; int field; } cases [] = {
        { "schema_version 2", 0 }, { "bad ulid", 1 }, { "short author", 2 },
        { "type 20", 3 }, { "payload mismatch", 4 }, { "bad utf8 title", 5 },
        { "too many tags", 6 }, { "empty title", 7 }, { "ttl over 30 d", 8 },
        { "lat out of range", 9 }, { "category 0", 10 }, { "tag too long", 11 },
    };
    char *many [EVENT_MAX_TAGS + 1];
    for (int i = 0; i <= EVENT_MAX_TAGS; i++)
        many [i] = (char *) "t";
    char longtag [EVENT_MAX_TAG_BYTES + 2];
    memset (longtag, 'x', sizeof longtag - 1);
    longtag [sizeof longtag - 1] = 0;
    for (size_t c = 0; c < sizeof cases / sizeof cases [0]; c++) {
        tu_post_t x;
        tu_post_init (&x, id, s_community, 9, 1764000000000ULL, 3, "c-3", "Lamp");
        switch (cases [c].field) {
            case 0: x.ev.schema_version = 2; break;
            case 1: x.ev.event_id = (char *) "not-a-ulid"; break;
            case 2: x.ev.author.len = 31; break;
            case 3: x.ev.type = 20; break;
            case 4: x.ev.type = HEARTH__EVENT_TYPE__MARKET_POST_EXPIRED; break;
            case 5: x.post.title = (char *) "caf\xc3"; break;
            case 6: x.post.tags = many; x.post.n_tags = EVENT_MAX_TAGS + 1; break;
            case 7: x.post.title = (char *) ""; break;
            case 8: x.post.ttl_seconds = EVENT_MAX_TTL_SECONDS + 1; break;
            case 9: x.loc.lat = 91.0; break;
            case 10: x.post.category = 0; break;
            case 11: x.tags [0] = longtag; break;
        }
        w = tu_sign_raw (&x.ev, id, &wlen);
        event_reject_t r = s_reason_of (w, wlen);
        if (r != EVENT_REJECT_STRUCTURE)
            fprintf (stderr, "case '%s' gave %s\n", cases [c].what, event_reject_name (r));
        HT_CHECK_EQ_INT (r, EVENT_REJECT_STRUCTURE);
        free (w);
    }

    /*  Opaque payload must be a JSON object. */
    Hearth__Event e = HEARTH__EVENT__INIT;
    Hearth__OpaquePayload op = HEARTH__OPAQUE_PAYLOAD__INIT;
    e = d.ev;
    e.type = HEARTH__EVENT_TYPE__CHAT_MESSAGE_SENT;
    e.payload_case = HEARTH__EVENT__PAYLOAD_OPAQUE;
    e.opaque = &op;
    op.json.data = (uint8_t *) "{\"body\":\"hi\",\"recipient\":\"x\"}";
    op.json.len = strlen ((char *) op.json.data);
    w = tu_sign_raw (&e, id, &wlen);
    HT_CHECK_EQ_INT (s_reason_of (w, wlen), EVENT_REJECT_NONE);
    free (w);
    op.json.data = (uint8_t *) "[1,2]";
    op.json.len = 5;
    w = tu_sign_raw (&e, id, &wlen);
    HT_CHECK_EQ_INT (s_reason_of (w, wlen), EVENT_REJECT_STRUCTURE);
    free (w);
    /*  A market type with the opaque payload is refused. */
    e.type = HEARTH__EVENT_TYPE__MARKET_POST_CREATED;
    op.json.data = (uint8_t *) "{}";
    op.json.len = 2;
    w = tu_sign_raw (&e, id, &wlen);
    HT_CHECK_EQ_INT (s_reason_of (w, wlen), EVENT_REJECT_STRUCTURE);
    free (w);

    /*  market.post.updated: a ttl within 30 days, and a location or its
        removal, not both. */
    {
        Hearth__MarketPostUpdated u = HEARTH__MARKET_POST_UPDATED__INIT;
        Hearth__Location here = HEARTH__LOCATION__INIT;
        here.lat = 52.5;
        here.lng = 13.4;
        u.target_event_id = d.ev.event_id;
        u.title = (char *) "Lampe";
        e = d.ev;
        e.type = HEARTH__EVENT_TYPE__MARKET_POST_UPDATED;
        e.payload_case = HEARTH__EVENT__PAYLOAD_MARKET_POST_UPDATED;
        e.market_post_updated = &u;
        struct { uint64_t ttl; int clear, loc; event_reject_t want; } upd [] = {
            { 0, 0, 0, EVENT_REJECT_NONE },
            { EVENT_MAX_TTL_SECONDS, 1, 0, EVENT_REJECT_NONE },
            { 60, 0, 1, EVENT_REJECT_NONE },
            { EVENT_MAX_TTL_SECONDS + 1, 0, 0, EVENT_REJECT_STRUCTURE },
            { 0, 1, 1, EVENT_REJECT_STRUCTURE },
        };
        for (size_t c = 0; c < sizeof upd / sizeof upd [0]; c++) {
            u.ttl_seconds = upd [c].ttl;
            u.clear_location = upd [c].clear;
            u.location = upd [c].loc? &here: NULL;
            w = tu_sign_raw (&e, id, &wlen);
            HT_CHECK_EQ_INT (s_reason_of (w, wlen), upd [c].want);
            free (w);
        }
    }

    /*  Signature of the wrong length. */
    Hearth__SignedEvent se = HEARTH__SIGNED_EVENT__INIT;
    uint8_t b2 [512];
    size_t b2len = hearth__event__pack (&d.ev, b2);
    se.body.data = b2; se.body.len = b2len;
    se.signature.data = b2; se.signature.len = 63;
    uint8_t w3 [600];
    size_t w3len = hearth__signed_event__pack (&se, w3);
    HT_CHECK_EQ_INT (s_reason_of (w3, w3len), EVENT_REJECT_STRUCTURE);

    free (wire);
    identity_destroy (&id);
}

HT_TEST (test_event_type_names)
{
    HT_CHECK_EQ_STR (event_type_name (HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_JOINED),
                     "community.member.joined");
    HT_CHECK_EQ_INT (event_type_from_name ("federation.peer.removed"), 19);
    HT_CHECK_EQ_INT (event_type_from_name ("market.delete"), 0);
    HT_CHECK (event_type_name (0) == NULL && event_type_name (20) == NULL);
    HT_CHECK_EQ_STR (event_reject_name (EVENT_REJECT_SIGNATURE), "bad_signature");
}

int
main (void)
{
    HT_RUN (test_lamport_send_increments);
    HT_RUN (test_lamport_observe_caps_above);
    HT_RUN (test_ulid_format_and_time);
    HT_RUN (test_ulid_monotonic_same_ms_and_clock_back);
    HT_RUN (test_identity_create_load_and_perm);
    HT_RUN (test_identity_short_id_regex);
    HT_RUN (test_identity_flipped_byte_fails_verify);
    HT_RUN (test_identity_curve_keypair);
    HT_RUN (test_event_sign_decode_verify);
    HT_RUN (test_event_decode_rejects);
    HT_RUN (test_event_type_names);
    return ht_summary ();
}
