/*  identity.h — this node's Ed25519 device key.

    Files under KEYS_DIR: `device.ed25519`, the raw 32-byte seed, mode 0600
    (a file readable or writable by group or others is refused with
    HEARTH_EKEYPERM); `device.pub`, the raw 32-byte public key, mode 0644.
    The secret key lives in sodium_malloc'd memory, locked and wiped on destroy.
*/
#ifndef HEARTH_IDENTITY_H
#define HEARTH_IDENTITY_H

#include <stddef.h>
#include <stdint.h>
#include "hearth_codec.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _identity_t identity_t;

/*  Files inside the keys dir: the secret seed and the public key. */
#define IDENTITY_SEED_FILE  "device.ed25519"
#define IDENTITY_PUB_FILE   "device.pub"

/*  Domain-separation prefix signed before every event body (16 bytes incl. NUL). */
#define IDENTITY_EVENT_DOMAIN      "hearth/event/v1"
#define IDENTITY_EVENT_DOMAIN_LEN  16

/*  Create a new random key pair, write both files (creating keys_dir 0700).
    Fails with HEARTH_EEXISTS if device.ed25519 exists. Returns NULL + *err. */
identity_t *identity_create (const char *keys_dir, int *err);

/*  Load the key pair from keys_dir (identity_seed_read; a device.pub that
    is there must match). Errors (in *err): HEARTH_EKEYS (missing, wrong
    size), HEARTH_EKEYPERM (mode allows group/other access). */
identity_t *identity_load (const char *keys_dir, int *err);

/*  The one reader of the seed file, for every holder of the device key:
    keys_dir/IDENTITY_SEED_FILE must be a regular file (no symlink), mode
    0600 or stricter, exactly 32 bytes. Copies it into seed (caller's
    memory, best sodium_malloc'd; wipe it after use). 0, or HEARTH_EKEYS,
    HEARTH_EKEYPERM, HEARTH_ENOMEM, HEARTH_EIO (libsodium would not
    start); the problem is logged with the file named. */
int identity_seed_read (const char *keys_dir, uint8_t seed [32]);

/*  Build from a 32-byte seed held in memory (tests, benches). Never NULL
    unless out of memory. */
identity_t *identity_from_seed (const uint8_t seed [32]);

/*  Wipe and free; safe on NULL; nulls *self_p. */
void identity_destroy (identity_t **self_p);

/*  The 32-byte public key; borrowed for the identity's lifetime. */
const uint8_t *identity_public_key (const identity_t *self);

/*  The Curve25519 key pair derived from this Ed25519 key (for CURVE
    links, docs/architecture.md §9): public into pub, secret into sec. The caller keeps
    sec in protected memory (sodium_malloc) and wipes it. 0, or HEARTH_EKEYS
    if the key does not convert (never for a key made by libsodium). */
int identity_curve_keypair (const identity_t *self, uint8_t pub [32], uint8_t sec [32]);

/*  Full NodeID text; borrowed for the identity's lifetime. */
const char *identity_node_id (const identity_t *self);
/*  Short NodeID text; borrowed for the identity's lifetime. */
const char *identity_short_id (const identity_t *self);

/*  Ed25519 signature over IDENTITY_EVENT_DOMAIN (with its NUL) || msg. */
void identity_sign_event (const identity_t *self, const uint8_t *msg, size_t len,
                          uint8_t sig [HEARTH_SIG_BYTES]);

/*  Verify such a signature by a 32-byte public key. Returns 0 or
    HEARTH_ESIGNATURE. The rule is ed25519_batch.h's (RFC 8032's cofactored
    equation plus libsodium's encoding checks): libsodium's verify decides
    what it accepts, and ed25519_batch_verify_one judges what it rejects. */
int  identity_verify_event (const uint8_t pub [HEARTH_KEY_BYTES], const uint8_t *msg, size_t len,
                            const uint8_t sig [HEARTH_SIG_BYTES]);

/*  One event signature for identity_verify_events; pointers borrowed. */
typedef struct {
    const uint8_t *pub;                     /* 32-byte public key */
    const uint8_t *msg;                     /* the signed body, without the domain prefix */
    size_t         len;
    const uint8_t *sig;                     /* 64 bytes */
} identity_sig_t;

/*  Bytes of identity_verify_events' seed. */
#define IDENTITY_SEED_BYTES  32

/*  Verify n signatures as identity_verify_event would, as one batch
    (ed25519_batch.h): rcs[i] (caller's array of n) = 0 or
    HEARTH_ESIGNATURE, exactly identity_verify_event's verdict except with
    probability below 2^-127. seed: 32 bytes the signers cannot predict
    (randombytes_buf). Returns 0 if all are valid, else HEARTH_ESIGNATURE. */
int  identity_verify_events (const identity_sig_t *sigs, size_t n, const uint8_t seed [IDENTITY_SEED_BYTES],
                             int *rcs);

#ifdef __cplusplus
}
#endif
#endif
