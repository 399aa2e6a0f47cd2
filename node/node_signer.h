/*  node_signer.h — plain Ed25519 signatures with this node's device key,
    for documents that are not events (the invite blob, docs/protocol.md).

    identity_t (eventlog/) signs events only, always behind the event
    domain prefix "hearth/event/v1\0". An invite blob is signed over its
    canonical JSON as the contract says, with no prefix; the two byte forms
    can never be confused (a protobuf body is never a JSON object). The
    signer reads the seed file with identity_load's reader
    (identity_seed_read: regular file, mode 0600, exactly 32 bytes), keeps the secret key
    in sodium_malloc'd memory and wipes it on destroy. Load it for the
    signature at hand and destroy it right after.
*/
#ifndef HEARTH_NODE_SIGNER_H
#define HEARTH_NODE_SIGNER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _node_signer_t node_signer_t;

/*  Load the key from keys_dir (IDENTITY_SEED_FILE, identity_seed_read).
    NULL + *err: HEARTH_EKEYS (missing, not a regular file, wrong size),
    HEARTH_EKEYPERM (group/other may access it), HEARTH_ENOMEM. */
node_signer_t *node_signer_load (const char *keys_dir, int *err);

/*  Wipe and free; safe on NULL; nulls *self_p. */
void node_signer_destroy (node_signer_t **self_p);

/*  The 32-byte public key; borrowed for the signer's lifetime. */
const uint8_t *node_signer_public_key (const node_signer_t *self);

/*  Detached Ed25519 signature (64 bytes) over exactly msg[0..len). */
void node_signer_sign (const node_signer_t *self, const uint8_t *msg, size_t len, uint8_t sig [64]);

/*  0 if sig is a valid Ed25519 signature of msg by pub, else
    HEARTH_ESIGNATURE. */
int node_signer_verify (const uint8_t pub [32], const uint8_t *msg, size_t len, const uint8_t sig [64]);

#ifdef __cplusplus
}
#endif
#endif
