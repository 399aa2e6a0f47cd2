/*  node_signer.c — plain Ed25519 signing with the device key; see
    node_signer.h. The seed is read into sodium_malloc'd memory and wiped as
    soon as the key pair is derived.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>
#include "hearth_error.h"
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
    if (sodium_init () < 0) {
        *err = HEARTH_EIO;
        return NULL;
    }
    char *path = NULL;
    if (asprintf (&path, "%s/%s", keys_dir, NODE_SIGNER_SEED_FILE) < 0) {
        *err = HEARTH_ENOMEM;
        return NULL;
    }
    /*  One byte more than a seed, to detect a longer file. */
    uint8_t *seed = (uint8_t *) sodium_malloc (crypto_sign_SEEDBYTES + 1);
    node_signer_t *self = NULL;
    int fd = -1;
    if (!seed) {
        *err = HEARTH_ENOMEM;
        goto done;
    }
    fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0 || fstat (fd, &st) != 0 || !S_ISREG (st.st_mode)) {
        *err = HEARTH_EKEYS;
        goto done;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        *err = HEARTH_EKEYPERM;
        goto done;
    }
    ssize_t got = 0, r;
    while (got < crypto_sign_SEEDBYTES + 1
       && (r = read (fd, seed + got, crypto_sign_SEEDBYTES + 1 - (size_t) got)) > 0)
        got += r;
    if (got != crypto_sign_SEEDBYTES) {
        *err = HEARTH_EKEYS;
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
    if (fd >= 0)
        close (fd);
    sodium_free (seed);        /* wipes */
    free (path);
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
