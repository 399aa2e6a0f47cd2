/*  hearth_error.h — the one shared error enum of Hearth.

    Every fallible function returns 0 (HEARTH_OK) or one of these negative
    codes. hearth_strerror() gives a human sentence; hearth_error_code() gives
    the wire code that clients see (docs/protocol.md, "Errors") ("bad_request", ...).
    Codes are stable: append new ones at the end, never renumber.
*/
#ifndef HEARTH_ERROR_H
#define HEARTH_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    HEARTH_OK           =   0,
    HEARTH_EINVAL       =  -1,  /* bad_request: malformed or out-of-range input */
    HEARTH_ENOMEM       =  -2,  /* internal_error: allocation failed */
    HEARTH_EIO          =  -3,  /* internal_error: disk or OS call failed */
    HEARTH_ECORRUPT     =  -4,  /* internal_error: stored data fails its checks */
    HEARTH_ENOTFOUND    =  -5,  /* not_found */
    HEARTH_EUNAUTHORIZED=  -6,  /* unauthorized: caller may not do this */
    HEARTH_EREVOKED     =  -7,  /* revoked: author or caller was revoked */
    HEARTH_EEXPIRED     =  -8,  /* expired: invite or manifest past its time */
    HEARTH_ESIGNATURE   =  -9,  /* invalid_signature */
    HEARTH_EDUPLICATE   = -10,  /* already stored (not a failure on the wire) */
    HEARTH_ETOOBIG      = -11,  /* bad_request: over a documented size cap */
    HEARTH_EDECODE      = -12,  /* bad_request: bytes do not decode */
    HEARTH_ESCHEMA      = -13,  /* schema_mismatch: unknown capability/version/field */
    HEARTH_ECAPACITY    = -14,  /* capacity_exceeded */
    HEARTH_ETIMEOUT     = -15,  /* timeout */
    HEARTH_EUNAVAILABLE = -16,  /* partition: the node is not reachable/running */
    HEARTH_EKEYPERM     = -17,  /* internal_error: key file readable by others */
    HEARTH_EKEYS        = -18,  /* internal_error: key file missing or invalid */
    HEARTH_ELAMPORT     = -19,  /* bad_request: lamport outside the accepted bound */
    HEARTH_ECONFLICT    = -20,  /* bad_request: (author, event_id) has another body */
    HEARTH_ENOTIMPL     = -21,  /* not_implemented */
    HEARTH_ERATE        = -22,  /* rate_limited */
    HEARTH_ENOCOMMUNITY = -23,  /* internal_error: no community; run `hearthctl init` */
    HEARTH_EEXISTS      = -24,  /* bad_request: already exists (e.g. init twice) */
    HEARTH_ELOCKED      = -25,  /* internal_error: data dir in use by another process */
    HEARTH_ENOSPC       = -26,  /* capacity_exceeded: the disk holding the data dir is full */
    HEARTH_ESHUTDOWN    = -27,  /* partition: the node is shutting down; retry when it is back */
    HEARTH_ERROR_MIN    = -27
} hearth_err_t;

/*  Human-readable sentence for err (any int). Never NULL; static storage. */
const char *hearth_strerror (int err);

/*  Wire code for err (docs/protocol.md, "Errors"): one of bad_request, schema_mismatch,
    invalid_signature, unauthorized, revoked, expired, not_found,
    not_implemented, timeout, partition, capacity_exceeded, rate_limited,
    internal_error. Never NULL; static storage. */
const char *hearth_error_code (int err);

/*  printf into a fresh malloc'd sentence for an error's *message out
    parameter; the caller frees it. NULL if out of memory. */
char *hearth_message (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

/*  Classify a storage engine's error text (a RocksDB status string such as
    "IO error: No space left on device" or "Corruption: block checksum
    mismatch") into HEARTH_ENOSPC, HEARTH_ECORRUPT, HEARTH_ELOCKED or
    HEARTH_EIO (anything else, and NULL). Matches RocksDB's status prefixes
    and the errno texts it embeds, not loose words: "block" must not read
    as "lock". */
int hearth_error_from_storage (const char *text);

/*  Stable short symbol for err ("EINVAL", ...), for logs and stats labels. */
const char *hearth_error_name (int err);

#ifdef __cplusplus
}
#endif
#endif
