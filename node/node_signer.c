/*  node_signer.c — plain Ed25519 signing with the device key; see
    node_signer.h. The seed is read by identity_seed_read (one reader, one
    set of checks) into sodium_malloc'd memory and wiped as soon as the key
    pair is derived.
*/
#include <stdlib.h>
#include <sodium.h>
#include "hearth_error.h"
#include "identity.h"
#include "node_signer.h"

struct _node_signer_t {
    uint8_t *sk;                        /* owned, sodium_malloc, 64 bytes */
    uint8_t  pk [crypto_sign_PUBLICKEYBYTES];
};

node_signer_t *
node_signer_load (const char *keys_dir, int *err)
{
    int dummy;
    err = err? err: &dummy;
    *err = HEARTH_OK;
    uint8_t *seed = (uint8_t *) sodium_malloc (crypto_sign_SEEDBYTES);
    node_signer_t *self = NULL;
    if (!seed) {
        *err = HEARTH_ENOMEM;
        goto done;
    }
    /*  The same reader and checks as the event identity (identity.h). */
    int rc = identity_seed_read (keys_dir, seed);
    if (rc != HEARTH_OK) {
        *err = rc;
        goto done;
    }
    self = (node_signer_t *) calloc (1, sizeof (node_signer_t));
    if (self)
        self->sk = (uint8_t *) sodium_malloc (crypto_sign_SECRETKEYBYTES);
    if (!self || !self->sk) {
        free (self);
        self = NULL;
        *err = HEARTH_ENOMEM;
        goto done;
    }
    crypto_sign_seed_keypair (self->pk, self->sk, seed);
done:
    sodium_free (seed);        /* wipes */
    return self;
}

void
node_signer_destroy (node_signer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    node_signer_t *self = *self_p;
    sodium_free (self->sk);
    free (self);
    *self_p = NULL;
}

const uint8_t *
node_signer_public_key (const node_signer_t *self)
{
    return self->pk;
}

void
node_signer_sign (const node_signer_t *self, const uint8_t *msg, size_t len, uint8_t sig [64])
{
    crypto_sign_detached (sig, NULL, msg, len, self->sk);
}

int
node_signer_verify (const uint8_t pub [32], const uint8_t *msg, size_t len, const uint8_t sig [64])
{
    if (sodium_init () < 0)
        return HEARTH_EIO;
    return crypto_sign_verify_detached (sig, msg, len, pub) == 0? HEARTH_OK: HEARTH_ESIGNATURE;
}
