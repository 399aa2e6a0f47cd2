/*  identity.c — this node's Ed25519 device key; see identity.h.

    Invariants: the 64-byte libsodium secret key lives only in
    sodium_malloc'd memory (guard pages, mlock'd, wiped by sodium_free); the
    seed file is created 0600 with O_EXCL and never rewritten; a key file
    whose mode lets group or others read or write it is refused, never
    "fixed", so an operator notices the exposure.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>
#include "identity.h"
#include "ed25519_batch.h"
#include "hearth_error.h"
#include "hearth_log.h"

/*  Messages up to this size are prefixed on the stack; the largest event
    (EVENT_MAX_BYTES, 16 KiB) fits, so malloc is a fallback only. */
#define IDENTITY_STACK_MSG  (16384 + IDENTITY_EVENT_DOMAIN_LEN)
/*  identity_verify_events describes up to this many signatures on the
    stack (the verify pool's claims are 128); more are malloc'd. */
#define IDENTITY_STACK_BATCH  128

_Static_assert (IDENTITY_SEED_BYTES == ED25519_BATCH_SEED_BYTES, "one seed size");

struct _identity_t {
    uint8_t *sk;                            /* owned, sodium_malloc, 64 bytes */
    uint8_t  pk [HEARTH_KEY_BYTES];
    char     node_id [HEARTH_NODE_ID_SIZE];
    char     short_id [HEARTH_SHORT_ID_SIZE];
};

static char *
s_path (const char *dir, const char *file)
{
    char *path = NULL;
    if (asprintf (&path, "%s/%s", dir, file) < 0)
        return NULL;
    return path;
}

/*  Write all of buf to a new file with mode (O_EXCL), fsync'd. */
static int
s_write_new (const char *path, const uint8_t *buf, size_t len, mode_t mode)
{
    int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return errno == EEXIST? HEARTH_EEXISTS: HEARTH_EIO;
    int rc = 0;
    /*  umask may have removed bits; set the exact mode. */
    if (fchmod (fd, mode) != 0 || write (fd, buf, len) != (ssize_t) len || fsync (fd) != 0)
        rc = HEARTH_EIO;
    close (fd);
    if (rc)
        unlink (path);
    return rc;
}

/*  Build from a seed already checked; NULL only on OOM. */
identity_t *
identity_from_seed (const uint8_t seed [32])
{
    if (sodium_init () < 0)
        return NULL;
    identity_t *self = (identity_t *) calloc (1, sizeof (identity_t));
    if (!self)
        return NULL;
    self->sk = (uint8_t *) sodium_malloc (crypto_sign_SECRETKEYBYTES);
    if (!self->sk) {
        free (self);
        return NULL;
    }
    crypto_sign_seed_keypair (self->pk, self->sk, seed);
    hearth_node_id_format (self->pk, self->node_id);
    hearth_short_id_format (self->pk, self->short_id);
    return self;
}

/*  New random key pair; writes both files. */
identity_t *
identity_create (const char *keys_dir, int *err)
{
    int dummy;
    err = err? err: &dummy;
    if (sodium_init () < 0) {
        *err = HEARTH_EIO;
        return NULL;
    }
    if (mkdir (keys_dir, 0700) != 0 && errno != EEXIST) {
        hlog_error ("identity", "cannot create %s: %s", keys_dir, strerror (errno));
        *err = HEARTH_EIO;
        return NULL;
    }
    char *seed_path = s_path (keys_dir, IDENTITY_SEED_FILE);
    char *pub_path = s_path (keys_dir, IDENTITY_PUB_FILE);
    identity_t *self = NULL;
    uint8_t *seed = (uint8_t *) sodium_malloc (crypto_sign_SEEDBYTES);
    if (!seed_path || !pub_path || !seed) {
        *err = HEARTH_ENOMEM;
        goto done;
    }
    randombytes_buf (seed, crypto_sign_SEEDBYTES);
    self = identity_from_seed (seed);
    if (!self) {
        *err = HEARTH_ENOMEM;
        goto done;
    }
    /*  0600: only the owner may read the seed (docs/operations.md). */
    int rc = s_write_new (seed_path, seed, crypto_sign_SEEDBYTES, 0600);
    if (rc == 0) {
        /*  The public key is public: 0644. A stale device.pub is replaced. */
        unlink (pub_path);
        rc = s_write_new (pub_path, self->pk, HEARTH_KEY_BYTES, 0644);
        if (rc)
            unlink (seed_path);
    }
    if (rc) {
        if (rc == HEARTH_EEXISTS)
            hlog_error ("identity", "%s already exists; refusing to overwrite a key", seed_path);
        else
            hlog_error ("identity", "cannot write key files in %s: %s", keys_dir, strerror (errno));
        identity_destroy (&self);
        *err = rc;
        goto done;
    }
    *err = 0;
done:
    sodium_free (seed);
    free (seed_path);
    free (pub_path);
    return self;
}

int
identity_seed_read (const char *keys_dir, uint8_t seed [32])
{
    if (sodium_init () < 0)
        return HEARTH_EIO;
    char *seed_path = s_path (keys_dir, IDENTITY_SEED_FILE);
    /*  One byte more than a seed, to detect a longer file. */
    uint8_t *buffer = (uint8_t *) sodium_malloc (crypto_sign_SEEDBYTES + 1);
    int rc = HEARTH_OK;
    int fd = -1;
    if (!seed_path || !buffer) {
        rc = HEARTH_ENOMEM;
        goto done;
    }
    fd = open (seed_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        hlog_error ("identity", "cannot open %s: %s", seed_path, strerror (errno));
        rc = HEARTH_EKEYS;
        goto done;
    }
    struct stat st;
    if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode)) {
        hlog_error ("identity", "%s is not a regular file", seed_path);
        rc = HEARTH_EKEYS;
        goto done;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        hlog_error ("identity", "%s has mode %04o; it must be 0600 (run: chmod 600 %s)",
                    seed_path, (unsigned) (st.st_mode & 07777), seed_path);
        rc = HEARTH_EKEYPERM;
        goto done;
    }
    ssize_t got = 0, r;
    while (got < crypto_sign_SEEDBYTES + 1
       && (r = read (fd, buffer + got, crypto_sign_SEEDBYTES + 1 - (size_t) got)) > 0)
        got += r;
    if (got != crypto_sign_SEEDBYTES) {
        hlog_error ("identity", "%s must hold exactly 32 raw bytes", seed_path);
        rc = HEARTH_EKEYS;
        goto done;
    }
    memcpy (seed, buffer, crypto_sign_SEEDBYTES);
done:
    if (fd >= 0)
        close (fd);
    sodium_free (buffer);      /* wipes */
    free (seed_path);
    return rc;
}

/*  Load and check the seed file (identity_seed_read), then device.pub. */
identity_t *
identity_load (const char *keys_dir, int *err)
{
    int dummy;
    err = err? err: &dummy;
    if (sodium_init () < 0) {
        *err = HEARTH_EIO;
        return NULL;
    }
    char *seed_path = s_path (keys_dir, IDENTITY_SEED_FILE);
    char *pub_path = s_path (keys_dir, IDENTITY_PUB_FILE);
    uint8_t *seed = (uint8_t *) sodium_malloc (crypto_sign_SEEDBYTES);
    identity_t *self = NULL;
    if (!seed_path || !pub_path || !seed) {
        *err = HEARTH_ENOMEM;
        goto done;
    }
    int rc = identity_seed_read (keys_dir, seed);
    if (rc != HEARTH_OK) {
        *err = rc;
        goto done;
    }
    self = identity_from_seed (seed);
    if (!self) {
        *err = HEARTH_ENOMEM;
        goto done;
    }
    /*  device.pub is informational; if present it must match the seed. */
    FILE *pub = fopen (pub_path, "rb");
    if (pub) {
        uint8_t pk [HEARTH_KEY_BYTES + 1];
        size_t n = fread (pk, 1, sizeof pk, pub);
        fclose (pub);
        if (n != HEARTH_KEY_BYTES || memcmp (pk, self->pk, HEARTH_KEY_BYTES) != 0) {
            hlog_error ("identity", "%s does not match %s", pub_path, seed_path);
            identity_destroy (&self);
            *err = HEARTH_EKEYS;
            goto done;
        }
    }
    *err = 0;
done:
    sodium_free (seed);
    free (seed_path);
    free (pub_path);
    return self;
}

void
identity_destroy (identity_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    identity_t *self = *self_p;
    sodium_free (self->sk);
    sodium_memzero (self, sizeof *self);
    free (self);
    *self_p = NULL;
}

const uint8_t *
identity_public_key (const identity_t *self)
{
    return self->pk;
}

int
identity_curve_keypair (const identity_t *self, uint8_t pub [32], uint8_t sec [32])
{
    if (crypto_sign_ed25519_pk_to_curve25519 (pub, self->pk) != 0
    ||  crypto_sign_ed25519_sk_to_curve25519 (sec, self->sk) != 0) {
        sodium_memzero (sec, 32);
        return HEARTH_EKEYS;
    }
    return 0;
}

const char *
identity_node_id (const identity_t *self)
{
    return self->node_id;
}

const char *
identity_short_id (const identity_t *self)
{
    return self->short_id;
}

/*  Domain prefix || msg in one buffer (Ed25519 signs a contiguous message;
    the multi-part libsodium API is Ed25519ph, a different signature). */
static uint8_t *
s_prefixed (const uint8_t *msg, size_t len, uint8_t *stack, size_t stack_size, size_t *total)
{
    *total = IDENTITY_EVENT_DOMAIN_LEN + len;
    uint8_t *buf = *total <= stack_size? stack: (uint8_t *) malloc (*total);
    if (!buf)
        return NULL;
    memcpy (buf, IDENTITY_EVENT_DOMAIN, IDENTITY_EVENT_DOMAIN_LEN);
    if (len)
        memcpy (buf + IDENTITY_EVENT_DOMAIN_LEN, msg, len);
    return buf;
}

void
identity_sign_event (const identity_t *self, const uint8_t *msg, size_t len,
                     uint8_t sig [HEARTH_SIG_BYTES])
{
    uint8_t stack [IDENTITY_STACK_MSG];
    size_t total;
    uint8_t *buf = s_prefixed (msg, len, stack, sizeof stack, &total);
    if (!buf) {
        /*  Out of memory: an all-zero signature never verifies. */
        memset (sig, 0, HEARTH_SIG_BYTES);
        return;
    }
    crypto_sign_detached (sig, NULL, buf, total, self->sk);
    if (buf != stack)
        free (buf);
}

/*  The batch module's view of one event signature: the domain prefix is
    hashed before the body, nothing is copied. */
static ed25519_batch_item_t
s_batch_item (const uint8_t *pub, const uint8_t *msg, size_t len, const uint8_t *sig)
{
    ed25519_batch_item_t item = {
        .pk = pub, .sig = sig,
        .prefix = (const uint8_t *) IDENTITY_EVENT_DOMAIN, .prefix_len = IDENTITY_EVENT_DOMAIN_LEN,
        .msg = msg, .msg_len = len
    };
    return item;
}

/*  libsodium first: it is the fast path, and whatever it accepts the
    cofactored rule accepts too. Only its rejections go to the judge,
    ed25519_batch_verify_one, so the verdict is always the rule's
    (ed25519_batch.h), the one batch verification applies. */
int
identity_verify_event (const uint8_t pub [HEARTH_KEY_BYTES], const uint8_t *msg, size_t len,
                       const uint8_t sig [HEARTH_SIG_BYTES])
{
    uint8_t stack [IDENTITY_STACK_MSG];
    size_t total;
    uint8_t *buf = s_prefixed (msg, len, stack, sizeof stack, &total);
    if (buf) {
        int ok = crypto_sign_verify_detached (sig, buf, total, pub) == 0;
        if (buf != stack)
            free (buf);
        if (ok)
            return 0;
    }
    ed25519_batch_item_t item = s_batch_item (pub, msg, len, sig);
    return ed25519_batch_verify_one (&item);
}

int
identity_verify_events (const identity_sig_t *sigs, size_t n, const uint8_t seed [IDENTITY_SEED_BYTES],
                        int *rcs)
{
    if (n == 0)
        return 0;
    if (n == 1) {
        rcs [0] = identity_verify_event (sigs [0].pub, sigs [0].msg, sigs [0].len, sigs [0].sig);
        return rcs [0];
    }
    ed25519_batch_item_t stack [IDENTITY_STACK_BATCH];
    ed25519_batch_item_t *items = n <= IDENTITY_STACK_BATCH? stack
                                : (ed25519_batch_item_t *) malloc (n * sizeof *items);
    int rc = 0;
    if (!items) {                           /* out of memory: one at a time */
        for (size_t i = 0; i < n; i++)
            if ((rcs [i] = identity_verify_event (sigs [i].pub, sigs [i].msg, sigs [i].len, sigs [i].sig)))
                rc = HEARTH_ESIGNATURE;
        return rc;
    }
    for (size_t i = 0; i < n; i++)
        items [i] = s_batch_item (sigs [i].pub, sigs [i].msg, sigs [i].len, sigs [i].sig);
    rc = ed25519_batch_verify (items, n, seed, rcs);
    if (items != stack)
        free (items);
    return rc;
}
