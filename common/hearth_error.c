/*  hearth_error.c — strings for the shared error enum. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "hearth_error.h"

typedef struct {
    int code;
    const char *name;
    const char *wire;
    const char *text;
} s_error_row_t;

static const s_error_row_t s_rows [] = {
    { HEARTH_OK,            "OK",           "ok",                "success" },
    { HEARTH_EINVAL,        "EINVAL",       "bad_request",       "invalid argument" },
    { HEARTH_ENOMEM,        "ENOMEM",       "internal_error",    "out of memory" },
    { HEARTH_EIO,           "EIO",          "internal_error",    "input/output error" },
    { HEARTH_ECORRUPT,      "ECORRUPT",     "internal_error",    "stored data is corrupt" },
    { HEARTH_ENOTFOUND,     "ENOTFOUND",    "not_found",         "not found" },
    { HEARTH_EUNAUTHORIZED, "EUNAUTHORIZED","unauthorized",      "not authorised" },
    { HEARTH_EREVOKED,      "EREVOKED",     "revoked",           "membership revoked" },
    { HEARTH_EEXPIRED,      "EEXPIRED",     "expired",           "expired" },
    { HEARTH_ESIGNATURE,    "ESIGNATURE",   "invalid_signature", "invalid signature" },
    { HEARTH_EDUPLICATE,    "EDUPLICATE",   "bad_request",       "already stored" },
    { HEARTH_ETOOBIG,       "ETOOBIG",      "bad_request",       "over a size limit" },
    { HEARTH_EDECODE,       "EDECODE",      "bad_request",       "cannot decode" },
    { HEARTH_ESCHEMA,       "ESCHEMA",      "schema_mismatch",   "unknown capability, version or field" },
    { HEARTH_ECAPACITY,     "ECAPACITY",    "capacity_exceeded", "capacity exceeded" },
    { HEARTH_ETIMEOUT,      "ETIMEOUT",     "timeout",           "timed out" },
    { HEARTH_EUNAVAILABLE,  "EUNAVAILABLE", "partition",         "node not reachable (is hearthd running?)" },
    { HEARTH_EKEYPERM,      "EKEYPERM",     "internal_error",    "key file is readable by group or others (chmod 600 it)" },
    { HEARTH_EKEYS,         "EKEYS",        "internal_error",    "key file missing or invalid (run `hearthctl init`)" },
    { HEARTH_ELAMPORT,      "ELAMPORT",     "bad_request",       "lamport clock value out of bounds" },
    { HEARTH_ECONFLICT,     "ECONFLICT",    "bad_request",       "event id already used with a different body" },
    { HEARTH_ENOTIMPL,      "ENOTIMPL",     "not_implemented",   "not implemented" },
    { HEARTH_ERATE,         "ERATE",        "rate_limited",      "rate limited" },
    { HEARTH_ENOCOMMUNITY,  "ENOCOMMUNITY", "internal_error",    "no community in this data dir (run `hearthctl init`)" },
    { HEARTH_EEXISTS,       "EEXISTS",      "bad_request",       "already exists" },
    { HEARTH_ELOCKED,       "ELOCKED",      "internal_error",    "data dir is in use by another process" },
    { HEARTH_ENOSPC,        "ENOSPC",       "capacity_exceeded", "disk full: no space left for the data dir" },
    { HEARTH_ESHUTDOWN,     "ESHUTDOWN",    "partition",         "the node is shutting down; retry when it is back" },
};

static const s_error_row_t *
s_row (int err)
{
    for (unsigned i = 0; i < sizeof s_rows / sizeof s_rows [0]; i++)
        if (s_rows [i].code == err)
            return &s_rows [i];
    return NULL;
}

const char *
hearth_strerror (int err)
{
    const s_error_row_t *row = s_row (err);
    return row? row->text: "unknown error";
}

const char *
hearth_error_code (int err)
{
    const s_error_row_t *row = s_row (err);
    return row? row->wire: "internal_error";
}

const char *
hearth_error_name (int err)
{
    const s_error_row_t *row = s_row (err);
    return row? row->name: "EUNKNOWN";
}

char *
hearth_message (const char *fmt, ...)
{
    char *text = NULL;
    va_list args;
    va_start (args, fmt);
    if (vasprintf (&text, fmt, args) < 0)
        text = NULL;
    va_end (args);
    return text;
}

int
hearth_error_from_storage (const char *text)
{
    if (!text)
        return HEARTH_EIO;
    /*  RocksDB renders errno with strerror(): ENOSPC and EDQUOT (a quota is
        a full disk to the operator too). */
    if (strstr (text, "No space left on device") || strstr (text, "Disk quota exceeded")
    ||  strstr (text, "NoSpace"))
        return HEARTH_ENOSPC;
    if (strncmp (text, "Corruption:", 11) == 0 || strstr (text, "Corruption:"))
        return HEARTH_ECORRUPT;
    /*  "While lock file: <dir>/LOCK: Resource temporarily unavailable": the
        LOCK file held by another process. */
    if (strstr (text, "lock file") || strstr (text, "/LOCK:"))
        return HEARTH_ELOCKED;
    return HEARTH_EIO;
}
