/*  node_invite.c — the invite blob (docs/protocol.md, "Invite blob"): build,
    sign, canonical form, strict decode, verify; the blob's file, and the
    join that applies it to a data directory (the event log adopts the
    community). See node_invite.h.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include "hearth.pb-c.h"
#include "hearth_codec.h"
#include "hearth_error.h"
#include "eventlog.h"
#include "node_config.h"
#include "node_invite.h"
#include "node_signer.h"
#include "ulid.h"

/*  Community names: as the community.created event allows
    (EVENT_MAX_LABEL_BYTES in event.h). */
#define S_MAX_NAME_BYTES  120
/*  "ed25519:" + b64url of a 64-byte signature (86 chars) + NUL. */
#define S_SIGNATURE_SIZE  (8 + 86 + 1)

struct _node_invite_t {
    uint8_t  community_id [32];
    char    *community_name;                 /* owned */
    uint8_t  inviter [32];
    uint8_t  invitee [32];
    int      level;                          /* HEARTH__LEVEL__* */
    char     event_id [ULID_SIZE];
    uint64_t expires_at_ms;                  /* whole seconds */
    char    *endpoints [NODE_INVITE_MAX_ENDPOINTS];  /* owned */
    size_t   n_endpoints;
    int      signed_;                        /* signature is set */
    uint8_t  signature [64];
};

static const char *
s_level_name (int level)
{
    return level == HEARTH__LEVEL__LEVEL_TRUSTED? "trusted": "member";
}

node_invite_t *
node_invite_new (const uint8_t community_id [32], const char *community_name,
                 const uint8_t inviter [32], const uint8_t invitee [32], int level,
                 const char *invite_event_id, uint64_t expires_at_ms)
{
    if (!community_name || strlen (community_name) > S_MAX_NAME_BYTES
    ||  !hearth_utf8_valid (community_name, strlen (community_name))
    ||  (level != HEARTH__LEVEL__LEVEL_MEMBER && level != HEARTH__LEVEL__LEVEL_TRUSTED)
    ||  !invite_event_id || !ulid_valid (invite_event_id))
        return NULL;
    node_invite_t *self = (node_invite_t *) calloc (1, sizeof (node_invite_t));
    if (!self)
        return NULL;
    self->community_name = strdup (community_name);
    if (!self->community_name) {
        free (self);
        return NULL;
    }
    memcpy (self->community_id, community_id, 32);
    memcpy (self->inviter, inviter, 32);
    memcpy (self->invitee, invitee, 32);
    self->level = level;
    snprintf (self->event_id, sizeof self->event_id, "%s", invite_event_id);
    self->expires_at_ms = expires_at_ms - expires_at_ms % 1000;
    return self;
}

void
node_invite_destroy (node_invite_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    node_invite_t *self = *self_p;
    for (size_t i = 0; i < self->n_endpoints; i++)
        free (self->endpoints [i]);
    free (self->community_name);
    free (self);
    *self_p = NULL;
}

int
node_invite_address_valid (const char *address)
{
    if (!address || strlen (address) >= NODE_INVITE_MAX_ADDRESS)
        return 0;
    const char *at = strchr (address, '@');
    if (!at || at - address >= HEARTH_NODE_ID_SIZE)
        return 0;
    char node_id [HEARTH_NODE_ID_SIZE];
    memcpy (node_id, address, (size_t) (at - address));
    node_id [at - address] = '\0';
    uint8_t key [32];
    if (hearth_node_id_parse (node_id, key) != HEARTH_OK)
        return 0;
    return hearth_tcp_endpoint_valid (at + 1, 0);
}

int
node_invite_endpoint_add (node_invite_t *self, const char *address)
{
    if (!node_invite_address_valid (address))
        return HEARTH_EINVAL;
    if (self->n_endpoints >= NODE_INVITE_MAX_ENDPOINTS)
        return HEARTH_ECAPACITY;
    char *copy = strdup (address);
    if (!copy)
        return HEARTH_ENOMEM;
    self->endpoints [self->n_endpoints++] = copy;
    self->signed_ = 0;      /* the signed content changed */
    return HEARTH_OK;
}

/*  The blob without its signature. */
static json_t *
s_unsigned_json (const node_invite_t *self)
{
    char community [HEARTH_NODE_ID_SIZE], inviter [HEARTH_NODE_ID_SIZE], invitee [HEARTH_NODE_ID_SIZE];
    char expires [HEARTH_TIME_SIZE];
    hearth_node_id_format (self->community_id, community);
    hearth_node_id_format (self->inviter, inviter);
    hearth_node_id_format (self->invitee, invitee);
    hearth_time_format (self->expires_at_ms, expires);
    json_t *endpoints = json_array ();
    for (size_t i = 0; endpoints && i < self->n_endpoints; i++)
        json_array_append_new (endpoints, json_string (self->endpoints [i]));
    if (!endpoints)
        return NULL;
    return json_pack ("{s:i, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s}",
                      "schema_version", NODE_INVITE_SCHEMA_VERSION,
                      "community_id", community,
                      "community_name", self->community_name,
                      "inviter_node_id", inviter,
                      "invitee_node_id", invitee,
                      "initial_level", s_level_name (self->level),
                      "bootstrap_endpoints", endpoints,
                      "invite_event_id", self->event_id,
                      "expires_at", expires);
}

char *
node_invite_canonical (const node_invite_t *self)
{
    json_t *blob = s_unsigned_json (self);
    if (!blob)
        return NULL;
    char *text = json_dumps (blob, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref (blob);
    return text;
}

int
node_invite_sign (node_invite_t *self, const node_signer_t *signer)
{
    if (memcmp (node_signer_public_key (signer), self->inviter, 32) != 0)
        return HEARTH_EUNAUTHORIZED;
    char *canonical = node_invite_canonical (self);
    if (!canonical)
        return HEARTH_ENOMEM;
    node_signer_sign (signer, (const uint8_t *) canonical, strlen (canonical), self->signature);
    free (canonical);
    self->signed_ = 1;
    return HEARTH_OK;
}

json_t *
node_invite_json (const node_invite_t *self)
{
    json_t *blob = s_unsigned_json (self);
    if (blob && self->signed_) {
        char signature [S_SIGNATURE_SIZE];
        memcpy (signature, HEARTH_NODE_ID_PREFIX, 8);
        hearth_b64url_encode (self->signature, 64, signature + 8);
        json_object_set_new (blob, "signature", json_string (signature));
    }
    return blob;
}

/* ---- decode -------------------------------------------------------------- */

int
node_invite_time_parse (const char *text, uint64_t *unix_ms)
{
    if (!text)
        return HEARTH_EINVAL;
    int year, month, day, hour, minute, second, used = 0;
    if (sscanf (text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &year, &month, &day, &hour, &minute,
                &second, &used) != 6 || used != 19)
        return HEARTH_EINVAL;
    /*  Digits exactly where the format puts them (sscanf allows signs). */
    static const char shape [] = "dddd-dd-ddTdd:dd:dd";
    for (int i = 0; i < 19; i++)
        if (shape [i] == 'd'? (text [i] < '0' || text [i] > '9'): text [i] != shape [i])
            return HEARTH_EINVAL;
    const char *rest = text + 19;
    uint64_t ms = 0;
    if (*rest == '.') {
        rest++;
        int digits = 0;
        uint64_t scale = 100;
        while (*rest >= '0' && *rest <= '9') {
            if (digits < 3)
                ms += (uint64_t) (*rest - '0') * scale;
            scale /= 10;
            digits++;
            rest++;
        }
        if (digits == 0 || digits > 9)
            return HEARTH_EINVAL;
    }
    if (strcmp (rest, "Z") != 0)
        return HEARTH_EINVAL;
    if (year < 1970 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23
    ||  minute > 59 || second > 60)
        return HEARTH_EINVAL;
    struct tm tm;
    memset (&tm, 0, sizeof tm);
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
    time_t seconds = timegm (&tm);
    if (seconds < 0 || tm.tm_mday != day)   /* timegm normalised a bad date */
        return HEARTH_EINVAL;
    *unix_ms = (uint64_t) seconds * 1000 + ms;
    return HEARTH_OK;
}

static const char *
s_string (json_t *root, const char *key)
{
    return json_string_value (json_object_get (root, key));
}

static int
s_key_field (json_t *root, const char *key, uint8_t out [32], char **message)
{
    const char *text = s_string (root, key);
    if (!text || hearth_node_id_parse (text, out) != HEARTH_OK) {
        *message = hearth_message ("invite: '%s' must be a full NodeID (ed25519:…)", key);
        return HEARTH_EINVAL;
    }
    return HEARTH_OK;
}

node_invite_t *
node_invite_decode (const char *text, size_t len, char **message)
{
    *message = NULL;
    static const char *fields [] = {
        "schema_version", "community_id", "community_name", "inviter_node_id",
        "invitee_node_id", "initial_level", "bootstrap_endpoints", "invite_event_id",
        "expires_at", "signature"
    };
    const size_t n_fields = sizeof fields / sizeof fields [0];
    if (len > NODE_INVITE_MAX_BYTES) {
        *message = hearth_message ("invite: %zu bytes; at most %d", len, NODE_INVITE_MAX_BYTES);
        return NULL;
    }
    json_error_t error;
    json_t *root = json_loadb (text, len, JSON_REJECT_DUPLICATES, &error);
    if (!json_is_object (root)) {
        json_decref (root);
        *message = hearth_message ("invite is not a JSON object (%s)", error.text);
        return NULL;
    }
    node_invite_t *self = NULL;
    const char *key;
    json_t *value;
    json_object_foreach (root, key, value) {
        size_t i = 0;
        while (i < n_fields && strcmp (key, fields [i]) != 0)
            i++;
        if (i == n_fields) {
            *message = hearth_message ("invite: unknown field '%.64s' (schema_version 1)", key);
            goto done;
        }
    }
    for (size_t i = 0; i < n_fields; i++)
        if (!json_object_get (root, fields [i])) {
            *message = hearth_message ("invite: field '%s' is missing", fields [i]);
            goto done;
        }
    json_t *version = json_object_get (root, "schema_version");
    if (!json_is_integer (version) || json_integer_value (version) != NODE_INVITE_SCHEMA_VERSION) {
        *message = hearth_message ("invite: schema_version must be %d", NODE_INVITE_SCHEMA_VERSION);
        goto done;
    }
    uint8_t community [32], inviter [32], invitee [32];
    if (s_key_field (root, "community_id", community, message) != HEARTH_OK
    ||  s_key_field (root, "inviter_node_id", inviter, message) != HEARTH_OK
    ||  s_key_field (root, "invitee_node_id", invitee, message) != HEARTH_OK)
        goto done;
    const char *level_name = s_string (root, "initial_level");
    int level = 0;
    if (level_name && strcmp (level_name, "member") == 0)
        level = HEARTH__LEVEL__LEVEL_MEMBER;
    else
    if (level_name && strcmp (level_name, "trusted") == 0)
        level = HEARTH__LEVEL__LEVEL_TRUSTED;
    else {
        *message = hearth_message ("invite: initial_level must be \"member\" or \"trusted\"");
        goto done;
    }
    const char *name = s_string (root, "community_name");
    if (!name || !*name || strlen (name) > S_MAX_NAME_BYTES) {
        *message = hearth_message ("invite: community_name must be 1..%d bytes of text", S_MAX_NAME_BYTES);
        goto done;
    }
    const char *event_id = s_string (root, "invite_event_id");
    if (!event_id || !ulid_valid (event_id)) {
        *message = hearth_message ("invite: invite_event_id must be a ULID");
        goto done;
    }
    uint64_t expires = 0;
    if (node_invite_time_parse (s_string (root, "expires_at"), &expires) != HEARTH_OK
    ||  expires % 1000 != 0) {
        *message = hearth_message ("invite: expires_at must be an RFC 3339 UTC time in whole seconds "
                              "(YYYY-MM-DDTHH:MM:SSZ)");
        goto done;
    }
    const char *signature = s_string (root, "signature");
    uint8_t sig [64 + 1];
    if (!signature || strncmp (signature, HEARTH_NODE_ID_PREFIX, 8) != 0
    ||  hearth_b64url_decode (signature + 8, sig, sizeof sig) != 64) {
        *message = hearth_message ("invite: signature must be ed25519:<base64url of 64 bytes>");
        goto done;
    }
    json_t *endpoints = json_object_get (root, "bootstrap_endpoints");
    if (!json_is_array (endpoints) || json_array_size (endpoints) > NODE_INVITE_MAX_ENDPOINTS) {
        *message = hearth_message ("invite: bootstrap_endpoints must be an array of at most %d addresses",
                              NODE_INVITE_MAX_ENDPOINTS);
        goto done;
    }
    self = node_invite_new (community, name, inviter, invitee, level, event_id, expires);
    if (!self) {
        *message = hearth_message ("invite: community_name is not valid UTF-8, or out of memory");
        goto done;
    }
    size_t i;
    json_array_foreach (endpoints, i, value) {
        int rc = node_invite_endpoint_add (self, json_string_value (value));
        if (rc != HEARTH_OK) {
            *message = hearth_message ("invite: bootstrap_endpoints[%zu] is not NODE_ID@tcp://HOST:PORT", i);
            node_invite_destroy (&self);
            goto done;
        }
    }
    memcpy (self->signature, sig, 64);
    self->signed_ = 1;
done:
    json_decref (root);
    return self;
}

node_invite_t *
node_invite_load (const char *path, int *err, char **message)
{
    *message = NULL;
    *err = HEARTH_OK;
    FILE *file = fopen (path, "rb");
    if (!file) {
        *err = HEARTH_EIO;
        *message = hearth_message ("cannot read the invite %s: %s", path, strerror (errno));
        return NULL;
    }
    char *buffer = (char *) malloc (NODE_INVITE_MAX_BYTES + 1);
    size_t got = buffer? fread (buffer, 1, NODE_INVITE_MAX_BYTES + 1, file): 0;
    fclose (file);
    if (!buffer) {
        *err = HEARTH_ENOMEM;
        return NULL;
    }
    node_invite_t *self = NULL;
    if (got > NODE_INVITE_MAX_BYTES) {
        *err = HEARTH_ETOOBIG;
        *message = hearth_message ("the invite %s is larger than %d bytes: not an invite", path,
                              NODE_INVITE_MAX_BYTES);
    }
    else {
        self = node_invite_decode (buffer, got, message);
        if (!self)
            *err = HEARTH_EINVAL;
    }
    free (buffer);
    return self;
}

int
node_invite_verify (const node_invite_t *self, uint64_t now_ms, char **message)
{
    *message = NULL;
    if (!self->signed_) {
        *message = hearth_message ("the invite is not signed");
        return HEARTH_ESIGNATURE;
    }
    char *canonical = node_invite_canonical (self);
    if (!canonical)
        return HEARTH_ENOMEM;
    int rc = node_signer_verify (self->inviter, (const uint8_t *) canonical, strlen (canonical),
                                 self->signature);
    free (canonical);
    if (rc != HEARTH_OK) {
        *message = hearth_message ("the invite's signature does not verify against its inviter "
                              "(altered or forged)");
        return HEARTH_ESIGNATURE;
    }
    if (now_ms > self->expires_at_ms) {
        char expires [HEARTH_TIME_SIZE];
        hearth_time_format (self->expires_at_ms, expires);
        *message = hearth_message ("the invite expired at %s; ask for a new one", expires);
        return HEARTH_EEXPIRED;
    }
    return HEARTH_OK;
}

/* ---- files and join -------------------------------------------------------- */

int
node_invite_write (const char *path, const char *text)
{
    char temp [NODE_CONFIG_PATH_MAX + 16];
    if (snprintf (temp, sizeof temp, "%s.tmp", path) >= (int) sizeof temp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    unlink (temp);
    int fd = open (temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -1;
    size_t len = strlen (text);
    int rc = (fchmod (fd, 0600) == 0 && write (fd, text, len) == (ssize_t) len && fsync (fd) == 0)? 0: -1;
    int saved = errno;
    close (fd);
    if (rc == 0 && rename (temp, path) != 0) {
        saved = errno;
        rc = -1;
    }
    if (rc != 0)
        unlink (temp);
    errno = saved;
    return rc;
}

char *
node_invite_blob_text (const json_t *blob)
{
    char *compact = json_dumps (blob, JSON_COMPACT | JSON_SORT_KEYS);
    char *text = NULL;
    if (compact && asprintf (&text, "%s\n", compact) < 0)
        text = NULL;
    free (compact);
    return text;
}

int
node_invite_join (const node_invite_t *self, const identity_t *identity, const char *data_dir,
                  uint64_t now_ms, int *already, char **message)
{
    *message = NULL;
    *already = 0;
    int err = node_invite_verify (self, now_ms, message);
    if (err != HEARTH_OK)
        return err;
    if (memcmp (self->invitee, identity_public_key (identity), 32) != 0) {
        char invitee [HEARTH_NODE_ID_SIZE];
        hearth_node_id_format (self->invitee, invitee);
        *message = hearth_message ("this invite is for %s, not for this node (%s in %s)", invitee,
                                   identity_node_id (identity), data_dir);
        return HEARTH_EUNAUTHORIZED;
    }
    char db [NODE_CONFIG_PATH_MAX + 16], community [HEARTH_NODE_ID_SIZE];
    snprintf (db, sizeof db, "%s/db", data_dir);
    hearth_node_id_format (self->community_id, community);
    char *problem = NULL;
    eventlog_t *log = eventlog_open_with (db, NULL, &err, &problem);
    if (!log) {
        if (err == HEARTH_ELOCKED)
            *message = hearth_message ("hearthd is running for %s: stop it, join, then start it "
                                       "again", data_dir);
        else
            *message = hearth_message ("cannot open the event log %s: %s", db,
                                       problem? problem: hearth_strerror (err));
        free (problem);
        return err;
    }
    const uint8_t *current = eventlog_community_id (log);
    *already = current && memcmp (current, self->community_id, 32) == 0;
    if (current && !*already) {
        char other [HEARTH_NODE_ID_SIZE];
        hearth_node_id_format (current, other);
        eventlog_destroy (&log);
        *message = hearth_message ("%s already belongs to community %s; a node belongs to one "
                                   "community (use another --data-dir)", data_dir, other);
        return HEARTH_EEXISTS;
    }
    err = *already? HEARTH_OK: eventlog_community_adopt (log, self->community_id);
    eventlog_destroy (&log);
    if (err != HEARTH_OK) {
        *message = hearth_message ("cannot adopt community %s: %s", community, hearth_strerror (err));
        return err;
    }
    char path [NODE_CONFIG_PATH_MAX + 32];
    snprintf (path, sizeof path, "%s/%s", data_dir, NODE_INVITE_FILE_NAME);
    json_t *blob = node_invite_json (self);
    char *text = blob? node_invite_blob_text (blob): NULL;
    json_decref (blob);
    int written = text? node_invite_write (path, text): -1;
    free (text);
    if (written != 0) {
        *message = hearth_message ("cannot write %s: %s", path, strerror (errno));
        return HEARTH_EIO;
    }
    return HEARTH_OK;
}

/* ---- accessors ------------------------------------------------------------ */

const uint8_t *node_invite_community_id (const node_invite_t *self) { return self->community_id; }
const char *node_invite_community_name (const node_invite_t *self) { return self->community_name; }
const uint8_t *node_invite_inviter (const node_invite_t *self) { return self->inviter; }
const uint8_t *node_invite_invitee (const node_invite_t *self) { return self->invitee; }
int node_invite_level (const node_invite_t *self) { return self->level; }
const char *node_invite_event_id (const node_invite_t *self) { return self->event_id; }
uint64_t node_invite_expires_at_ms (const node_invite_t *self) { return self->expires_at_ms; }
size_t node_invite_endpoint_count (const node_invite_t *self) { return self->n_endpoints; }

const char *
node_invite_endpoint (const node_invite_t *self, size_t index)
{
    return index < self->n_endpoints? self->endpoints [index]: NULL;
}
