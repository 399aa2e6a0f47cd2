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

/*  Domain-separation prefix signed before every event body (16 bytes incl. NUL). */
#define IDENTITY_EVENT_DOMAIN      "hearth/event/v1"
#define IDENTITY_EVENT_DOMAIN_LEN  16

/*  Create a new random key pair, write both files (creating keys_dir 0700).
    Fails with HEARTH_EEXISTS if device.ed25519 exists. Returns NULL + *err. */
identity_t *identity_create (const char *keys_dir, int *err);

/*  Load the key pair from keys_dir. Errors (in *err): HEARTH_EKEYS (missing,
    wrong size), HEARTH_EKEYPERM (mode allows group/other access). */
identity_t *identity_load (const char *keys_dir, int *err);

/*  Build from a 32-byte seed held in memory (tests, benches). Never NULL
    unless out of memory. */
identity_t *identity_from_seed (const uint8_t seed [32]);

/*  Wipe and free; safe on NULL; nulls *self_p. */
void identity_destroy (identity_t **self_p);

/*  The 32-byte public key; borrowed for the identity's lifetime. */
const uint8_t *identity_public_key (const identity_t *self);

/*  The Curve25519 key pair derived from this Ed25519 key (for CURVE
    links, DESIGN §6): public into pub, secret into sec. The caller keeps
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

/*  Verify such a signature by a 32-byte public key. Returns 0 or HEARTH_ESIGNATURE. */
int  identity_verify_event (const uint8_t pub [HEARTH_KEY_BYTES], const uint8_t *msg, size_t len,
                            const uint8_t sig [HEARTH_SIG_BYTES]);

#ifdef __cplusplus
}
#endif
#endif
