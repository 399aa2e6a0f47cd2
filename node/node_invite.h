/*  node_invite.h — the invite blob (docs/protocol.md, "Invite blob"): what an
    inviter hands to a new member, out of band, so it can join.

        {"schema_version": 1,
         "community_id": "ed25519:…", "community_name": "Lindenstraße",
         "inviter_node_id": "ed25519:…", "invitee_node_id": "ed25519:…",
         "initial_level": "member" | "trusted",
         "bootstrap_endpoints": ["ed25519:…@tcp://192.168.1.10:7400"],
         "invite_event_id": "01J…",          (the community.member.invited event)
         "expires_at": "2026-11-26T10:00:00Z",
         "signature": "ed25519:<b64url of 64 bytes>"}

    The signature is Ed25519 by the inviter over the canonical JSON of the
    blob without "signature": keys sorted, no whitespace (separators "," and
    ":"), strings as UTF-8 with only '"', '\' and control characters
    escaped — Python's json.dumps(d, sort_keys=True, separators=(",", ":"),
    ensure_ascii=False) gives the same bytes. No domain prefix (the contract
    signs the JSON itself). Version 1 has exactly these fields: a blob with
    any other key is refused. expires_at has second precision; the invite
    event carries the same instant in ms.

    The blob proves who invited whom; the community's own rule (the invite
    event, checked by every node's membership fold) is what admits the
    invitee. A blob is checked on `join` (signature, invitee = this node,
    not expired) so a bad one fails there, not minutes later on the wire.
*/
#ifndef HEARTH_NODE_INVITE_H
#define HEARTH_NODE_INVITE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "identity.h"
#include "node_signer.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NODE_INVITE_SCHEMA_VERSION      1
/*  Default lifetime of an invite: 24 h (docs/protocol.md, "Invite blob"). */
#define NODE_INVITE_DEFAULT_TTL_SECONDS 86400
/*  Longest lifetime accepted: 30 days. An invite is a bearer of admission
    for one key; a month covers any real hand-over and bounds how long an
    unused one stays pending. */
#define NODE_INVITE_MAX_TTL_SECONDS     (30 * 86400)
/*  Largest invite file read: 64 KiB (a blob with the maximum endpoints is
    under 6 KiB). */
#define NODE_INVITE_MAX_BYTES           (64 * 1024)
/*  Bootstrap endpoints in one blob at most. */
#define NODE_INVITE_MAX_ENDPOINTS       16
/*  One bootstrap address "NODE_ID@tcp://HOST:PORT" at most (as gossip). */
#define NODE_INVITE_MAX_ADDRESS         256
/*  File the join command stores the invite in, inside the data dir. */
#define NODE_INVITE_FILE_NAME           "invite.json"

typedef struct _node_invite_t node_invite_t;

/*  New unsigned invite. level is HEARTH__LEVEL__LEVEL_MEMBER or _TRUSTED;
    expires_at_ms is cut to whole seconds. Strings are copied. NULL on OOM or
    a bad argument (level, name, event id). */
node_invite_t *node_invite_new (const uint8_t community_id [32], const char *community_name,
                                const uint8_t inviter [32], const uint8_t invitee [32], int level,
                                const char *invite_event_id, uint64_t expires_at_ms);
/*  Free; safe on NULL; nulls *self_p. */
void node_invite_destroy (node_invite_t **self_p);

/*  Add a bootstrap address "NODE_ID@tcp://HOST:PORT" (copied). 0,
    HEARTH_EINVAL (malformed), HEARTH_ECAPACITY (NODE_INVITE_MAX_ENDPOINTS). */
int node_invite_endpoint_add (node_invite_t *self, const char *address);

/*  Sign with signer, whose key must be the inviter's. 0 or
    HEARTH_EUNAUTHORIZED (another key), HEARTH_ENOMEM. */
int node_invite_sign (node_invite_t *self, const node_signer_t *signer);

/*  The blob as JSON (new object, caller owns; "signature" only once
    signed). NULL on OOM. */
json_t *node_invite_json (const node_invite_t *self);

/*  The canonical bytes the signature covers (malloc'd, NUL-terminated,
    caller frees). NULL on OOM. */
char *node_invite_canonical (const node_invite_t *self);

/*  Parse a blob (text of len bytes, borrowed): strict shape and types,
    no unknown or duplicate keys. Does not check the signature or time.
    NULL + *message (malloc'd, caller frees) on failure. */
node_invite_t *node_invite_decode (const char *text, size_t len, char **message);

/*  Read and decode a blob file (at most NODE_INVITE_MAX_BYTES). NULL +
    *err (HEARTH_EIO, HEARTH_ETOOBIG, HEARTH_EINVAL) and *message. */
node_invite_t *node_invite_load (const char *path, int *err, char **message);

/*  Check the signature (by the inviter), and that the invite has not
    expired at now_ms. 0, HEARTH_ESIGNATURE or HEARTH_EEXPIRED, with
    *message (malloc'd, caller frees) on failure. */
int node_invite_verify (const node_invite_t *self, uint64_t now_ms, char **message);

/* ---- the blob's file and the join ------------------------------------------ */

/*  A blob (as node_invite_json or community.invite return it) as one line
    of compact JSON with sorted keys, plus a newline: the invite file's
    text. malloc'd, caller frees; NULL on OOM. */
char *node_invite_blob_text (const json_t *blob);

/*  Write text to path with mode 0600, replacing it atomically (a temp file
    in the same dir, fsync'd, renamed). 0 or -1 with errno. */
int node_invite_write (const char *path, const char *text);

/*  `hearthctl join`: make the node of data_dir (its key is identity,
    borrowed) a joiner of the invite's community. Checks the invite
    (node_invite_verify at now_ms; its invitee must be identity), opens
    data_dir/db (hearthd must not be running), adopts the community unless
    the log already belongs to it (*already = 1, nothing changes), and
    stores the blob as data_dir/NODE_INVITE_FILE_NAME (mode 0600), where
    hearthd finds it. Does not touch hearth.cfg. 0, or HEARTH_ESIGNATURE,
    HEARTH_EEXPIRED, HEARTH_EUNAUTHORIZED (another node's invite),
    HEARTH_ELOCKED (hearthd is running), HEARTH_EEXISTS (the log belongs to
    another community), an eventlog_open_with or adoption error, HEARTH_EIO
    (the invite file), each with *message (malloc'd, caller frees; may be
    NULL on OOM). */
int node_invite_join (const node_invite_t *self, const identity_t *identity, const char *data_dir,
                      uint64_t now_ms, int *already, char **message);

/* ---- accessors (borrowed for the invite's lifetime) ----------------------- */
const uint8_t *node_invite_community_id (const node_invite_t *self);  /* 32 bytes */
const char    *node_invite_community_name (const node_invite_t *self);
const uint8_t *node_invite_inviter (const node_invite_t *self);       /* 32 bytes */
const uint8_t *node_invite_invitee (const node_invite_t *self);       /* 32 bytes */
int            node_invite_level (const node_invite_t *self);         /* HEARTH__LEVEL__* */
const char    *node_invite_event_id (const node_invite_t *self);
uint64_t       node_invite_expires_at_ms (const node_invite_t *self);
size_t         node_invite_endpoint_count (const node_invite_t *self);
const char    *node_invite_endpoint (const node_invite_t *self, size_t index);

/*  1 if address has the form "NODE_ID@tcp://HOST:PORT" with a valid full
    NodeID, a non-empty host and a port 1..65535; else 0. */
int node_invite_address_valid (const char *address);

/*  Parse "YYYY-MM-DDTHH:MM:SS[.fff…]Z" (UTC) into unix ms. 0 or
    HEARTH_EINVAL. */
int node_invite_time_parse (const char *text, uint64_t *unix_ms);

#ifdef __cplusplus
}
#endif
#endif
