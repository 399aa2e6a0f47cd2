/*  test_node_invite.c — unit tests of the invite blob (node_invite) and the
    plain signer (node_signer): canonical form, sign/verify round trip,
    tampering, expiry, strict decoding, key-file rules, time parsing, and
    the join (node_invite_join) on a real data directory and event log.
*/
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "hearth.pb-c.h"
#include "hearth_codec.h"
#include "hearth_error.h"
#include "hearth_test.h"
#include "eventlog.h"
#include "identity.h"
#include "node_invite.h"
#include "node_signer.h"

/*  A fixed instant: 2026-11-25T10:00:00Z. */
#define S_NOW_MS    1795600800000ULL
#define S_EVENT_ID  "01KAZ3NDEKTSV4RRFFQ69G5FAV"

static char *s_dir;
static node_signer_t *s_signer;
static uint8_t s_invitee [32];

static void
s_setup (void)
{
    s_dir = ht_tmpdir ("invite");
    char keys [512];
    snprintf (keys, sizeof keys, "%s/keys", s_dir);
    int err = 0;
    identity_t *id = identity_create (keys, &err);
    HT_CHECK (id != NULL);
    s_signer = node_signer_load (keys, &err);
    HT_CHECK (s_signer != NULL);
    HT_CHECK (memcmp (node_signer_public_key (s_signer), identity_public_key (id), 32) == 0);
    identity_destroy (&id);
    memset (s_invitee, 0x42, sizeof s_invitee);
}

/*  A signed invite from s_signer (community = inviter: the root invites). */
static node_invite_t *
s_invite (uint64_t expires_at_ms)
{
    const uint8_t *inviter = node_signer_public_key (s_signer);
    node_invite_t *invite = node_invite_new (inviter, "Lindenstraße", inviter, s_invitee,
                                             HEARTH__LEVEL__LEVEL_MEMBER, S_EVENT_ID, expires_at_ms);
    HT_CHECK (invite != NULL);
    char address [256];
    char node_id [HEARTH_NODE_ID_SIZE];
    hearth_node_id_format (inviter, node_id);
    snprintf (address, sizeof address, "%s@tcp://127.0.0.1:7400", node_id);
    HT_CHECK_EQ_INT (node_invite_endpoint_add (invite, address), HEARTH_OK);
    HT_CHECK_EQ_INT (node_invite_sign (invite, s_signer), HEARTH_OK);
    return invite;
}

static char *
s_dump (const node_invite_t *invite)
{
    json_t *json = node_invite_json (invite);
    char *text = json_dumps (json, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref (json);
    return text;
}

HT_TEST (test_canonical_form)
{
    node_invite_t *invite = s_invite (S_NOW_MS + 86400000 + 123);   /* ms are cut */
    char *canonical = node_invite_canonical (invite);
    HT_CHECK (canonical != NULL);
    /*  Sorted keys, no whitespace, no signature, UTF-8 kept as is. */
    HT_CHECK (strncmp (canonical, "{\"bootstrap_endpoints\":[\"ed25519:", 33) == 0);
    HT_CHECK (strstr (canonical, "\"community_name\":\"Lindenstraße\",") != NULL);
    HT_CHECK (strstr (canonical, "\"expires_at\":\"2026-11-26T10:00:00Z\",") != NULL);
    HT_CHECK (strstr (canonical, "\"initial_level\":\"member\",\"invite_event_id\":\"" S_EVENT_ID "\"") != NULL);
    HT_CHECK (strstr (canonical, "\"schema_version\":1}") != NULL);
    HT_CHECK (strstr (canonical, "signature") == NULL);
    HT_CHECK (strchr (canonical, ' ') == NULL);
    HT_CHECK_EQ_INT (node_invite_expires_at_ms (invite), S_NOW_MS + 86400000);
    free (canonical);
    node_invite_destroy (&invite);
    HT_CHECK (invite == NULL);
    node_invite_destroy (&invite);       /* safe on NULL */
}

HT_TEST (test_round_trip_and_verify)
{
    node_invite_t *invite = s_invite (S_NOW_MS + 3600000);
    char *text = s_dump (invite);
    char *message = NULL;
    node_invite_t *back = node_invite_decode (text, strlen (text), &message);
    HT_CHECK (back != NULL);
    if (!back) {
        fprintf (stderr, "decode: %s\n", message);
        free (message);
        free (text);
        node_invite_destroy (&invite);
        return;
    }
    HT_CHECK_EQ_INT (node_invite_verify (back, S_NOW_MS, &message), HEARTH_OK);
    HT_CHECK (memcmp (node_invite_invitee (back), s_invitee, 32) == 0);
    HT_CHECK (memcmp (node_invite_inviter (back), node_signer_public_key (s_signer), 32) == 0);
    HT_CHECK_EQ_INT (node_invite_level (back), HEARTH__LEVEL__LEVEL_MEMBER);
    HT_CHECK_EQ_STR (node_invite_event_id (back), S_EVENT_ID);
    HT_CHECK_EQ_STR (node_invite_community_name (back), "Lindenstraße");
    HT_CHECK_EQ_INT (node_invite_endpoint_count (back), 1);
    HT_CHECK (strstr (node_invite_endpoint (back, 0), "@tcp://127.0.0.1:7400") != NULL);
    HT_CHECK (node_invite_endpoint (back, 1) == NULL);
    /*  Re-encoding gives the same bytes. */
    char *again = s_dump (back);
    HT_CHECK_EQ_STR (again, text);
    free (again);
    /*  Expired: at the instant it is still valid, a millisecond later not. */
    HT_CHECK_EQ_INT (node_invite_verify (back, S_NOW_MS + 3600000, &message), HEARTH_OK);
    HT_CHECK_EQ_INT (node_invite_verify (back, S_NOW_MS + 3600001, &message), HEARTH_EEXPIRED);
    HT_CHECK (message && strstr (message, "expired") != NULL);
    free (message);
    node_invite_destroy (&back);
    free (text);
    node_invite_destroy (&invite);
}

/*  Replace `from` by `to` once in text; decode; expect verify to fail with
    HEARTH_ESIGNATURE (or decode to fail when decodable is 0). */
static void
s_check_tampered (const char *text, const char *from, const char *to, int decodable)
{
    const char *at = strstr (text, from);
    HT_CHECK (at != NULL);
    if (!at)
        return;
    char *copy = (char *) malloc (strlen (text) + strlen (to) + 1);
    size_t head = (size_t) (at - text);
    memcpy (copy, text, head);
    strcpy (copy + head, to);
    strcat (copy, at + strlen (from));
    char *message = NULL;
    node_invite_t *invite = node_invite_decode (copy, strlen (copy), &message);
    if (!decodable) {
        HT_CHECK (invite == NULL && message != NULL);
    }
    else {
        HT_CHECK (invite != NULL);
        if (invite)
            HT_CHECK_EQ_INT (node_invite_verify (invite, S_NOW_MS, &message), HEARTH_ESIGNATURE);
    }
    free (message);
    node_invite_destroy (&invite);
    free (copy);
}

HT_TEST (test_tampering_and_strictness)
{
    node_invite_t *invite = s_invite (S_NOW_MS + 3600000);
    char *text = s_dump (invite);
    s_check_tampered (text, "\"member\"", "\"trusted\"", 1);
    s_check_tampered (text, "Lindenstraße", "Lindenstrasse", 1);
    s_check_tampered (text, "T11:00:00Z", "T12:00:00Z", 1);
    s_check_tampered (text, "127.0.0.1", "10.0.0.9", 1);
    s_check_tampered (text, "\"schema_version\":1", "\"schema_version\":1,\"extra\":true", 0);
    s_check_tampered (text, "\"schema_version\":1", "\"schema_version\":2", 0);
    s_check_tampered (text, "\"initial_level\":\"member\"", "\"initial_level\":\"anchor\"", 0);
    s_check_tampered (text, "T11:00:00Z", "T11:00:00.500Z", 0);
    s_check_tampered (text, "\"signature\":\"ed25519:", "\"signature\":\"rsa:", 0);
    s_check_tampered (text, "@tcp://", "@udp://", 0);
    /*  Whitespace and key order do not matter: the canonical form is recomputed. */
    json_t *json = node_invite_json (invite);
    char *pretty = json_dumps (json, JSON_INDENT (2));
    json_decref (json);
    char *message = NULL;
    node_invite_t *back = node_invite_decode (pretty, strlen (pretty), &message);
    HT_CHECK (back && node_invite_verify (back, S_NOW_MS, &message) == HEARTH_OK);
    node_invite_destroy (&back);
    free (pretty);
    /*  Duplicate keys and non-objects are refused. */
    back = node_invite_decode ("{\"a\":1,\"a\":2}", 13, &message);
    HT_CHECK (back == NULL && message != NULL);
    free (message);
    back = node_invite_decode ("[]", 2, &message);
    HT_CHECK (back == NULL && message != NULL);
    free (message);
    /*  A signer with another key cannot sign this inviter's invite. */
    uint8_t other [32];
    memset (other, 7, sizeof other);
    node_invite_t *foreign = node_invite_new (other, "x", other, s_invitee, HEARTH__LEVEL__LEVEL_MEMBER,
                                              S_EVENT_ID, S_NOW_MS);
    HT_CHECK_EQ_INT (node_invite_sign (foreign, s_signer), HEARTH_EUNAUTHORIZED);
    HT_CHECK_EQ_INT (node_invite_verify (foreign, S_NOW_MS, &message), HEARTH_ESIGNATURE);
    free (message);
    node_invite_destroy (&foreign);
    /*  Bad constructor arguments. */
    HT_CHECK (node_invite_new (other, "x", other, s_invitee, HEARTH__LEVEL__LEVEL_ANCHOR, S_EVENT_ID, 0) == NULL);
    HT_CHECK (node_invite_new (other, "x", other, s_invitee, HEARTH__LEVEL__LEVEL_MEMBER, "nope", 0) == NULL);
    free (text);
    node_invite_destroy (&invite);
}

HT_TEST (test_addresses)
{
    char node_id [HEARTH_NODE_ID_SIZE], address [300];
    hearth_node_id_format (s_invitee, node_id);
    snprintf (address, sizeof address, "%s@tcp://192.168.1.10:7400", node_id);
    HT_CHECK (node_invite_address_valid (address));
    snprintf (address, sizeof address, "%s@tcp://host.example:1", node_id);
    HT_CHECK (node_invite_address_valid (address));
    snprintf (address, sizeof address, "%s@tcp://192.168.1.10", node_id);
    HT_CHECK (!node_invite_address_valid (address));
    snprintf (address, sizeof address, "%s@tcp://192.168.1.10:70000", node_id);
    HT_CHECK (!node_invite_address_valid (address));
    snprintf (address, sizeof address, "%s@tcp://:7400", node_id);
    HT_CHECK (!node_invite_address_valid (address));
    HT_CHECK (!node_invite_address_valid ("tcp://192.168.1.10:7400"));
    HT_CHECK (!node_invite_address_valid ("ed25519:short@tcp://1.2.3.4:5"));
    HT_CHECK (!node_invite_address_valid (NULL));
}

HT_TEST (test_time_parse)
{
    uint64_t ms = 0;
    HT_CHECK_EQ_INT (node_invite_time_parse ("2026-11-25T10:00:00Z", &ms), HEARTH_OK);
    HT_CHECK_EQ_INT (ms, S_NOW_MS);
    HT_CHECK_EQ_INT (node_invite_time_parse ("2026-11-25T10:00:00.250Z", &ms), HEARTH_OK);
    HT_CHECK_EQ_INT (ms, S_NOW_MS + 250);
    HT_CHECK_EQ_INT (node_invite_time_parse ("1970-01-01T00:00:00Z", &ms), HEARTH_OK);
    HT_CHECK_EQ_INT (ms, 0);
    HT_CHECK_EQ_INT (node_invite_time_parse ("2026-11-25T10:00:00", &ms), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (node_invite_time_parse ("2026-11-25 10:00:00Z", &ms), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (node_invite_time_parse ("2026-02-30T10:00:00Z", &ms), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (node_invite_time_parse ("2026-11-25T10:00:00+01:00", &ms), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (node_invite_time_parse ("+026-11-25T10:00:00Z", &ms), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (node_invite_time_parse (NULL, &ms), HEARTH_EINVAL);
}

/*  The join on a real data dir: each refusal leaves the log untouched, the
    first join adopts the community and stores the blob (0600), a second is
    "already", and an invite of another community is refused. */
HT_TEST (test_join)
{
    char dir [512], keys [600], db [600], path [600];
    snprintf (dir, sizeof dir, "%s/joiner", s_dir);
    snprintf (keys, sizeof keys, "%s/keys", dir);
    snprintf (db, sizeof db, "%s/db", dir);
    snprintf (path, sizeof path, "%s/%s", dir, NODE_INVITE_FILE_NAME);
    int err = 0, already = -1;
    HT_CHECK (mkdir (dir, 0700) == 0);
    identity_t *joiner = identity_create (keys, &err);
    HT_CHECK (joiner != NULL);
    if (!joiner)
        return;
    char *message = NULL;
    /*  Someone else's invite (s_invitee is not the joiner). */
    node_invite_t *invite = s_invite (S_NOW_MS + 3600000);
    HT_CHECK_EQ_INT (node_invite_join (invite, joiner, dir, S_NOW_MS, &already, &message),
                     HEARTH_EUNAUTHORIZED);
    HT_CHECK (message && strstr (message, "not for this node"));
    free (message);
    node_invite_destroy (&invite);
    HT_CHECK (access (path, F_OK) != 0);
    /*  The joiner's own invite, expired. */
    uint8_t saved [32];
    memcpy (saved, s_invitee, 32);
    memcpy (s_invitee, identity_public_key (joiner), 32);
    invite = s_invite (S_NOW_MS + 3600000);
    HT_CHECK_EQ_INT (node_invite_join (invite, joiner, dir, S_NOW_MS + 3600001, &already, &message),
                     HEARTH_EEXPIRED);
    free (message);
    HT_CHECK (access (path, F_OK) != 0);
    /*  Joins: the log adopts the community, the blob is stored. */
    HT_CHECK_EQ_INT (node_invite_join (invite, joiner, dir, S_NOW_MS, &already, &message), HEARTH_OK);
    HT_CHECK (message == NULL);
    HT_CHECK_EQ_INT (already, 0);
    struct stat st;
    HT_CHECK (stat (path, &st) == 0 && (st.st_mode & 0777) == 0600);
    char *stored_message = NULL;
    node_invite_t *stored = node_invite_load (path, &err, &stored_message);
    HT_CHECK (stored != NULL);
    HT_CHECK_EQ_STR (stored? node_invite_event_id (stored): "", S_EVENT_ID);
    HT_CHECK (stored && node_invite_verify (stored, S_NOW_MS, &stored_message) == HEARTH_OK);
    free (stored_message);
    node_invite_destroy (&stored);
    eventlog_t *log = eventlog_open (db, &err);
    HT_CHECK (log != NULL);
    HT_CHECK (log && eventlog_community_id (log)
              && memcmp (eventlog_community_id (log), node_signer_public_key (s_signer), 32) == 0);
    /*  While the log is open here, a join cannot open it. */
    HT_CHECK_EQ_INT (node_invite_join (invite, joiner, dir, S_NOW_MS, &already, &message),
                     HEARTH_ELOCKED);
    HT_CHECK (message && strstr (message, "hearthd is running"));
    free (message);
    eventlog_destroy (&log);
    /*  Again: already a joiner of that community. */
    HT_CHECK_EQ_INT (node_invite_join (invite, joiner, dir, S_NOW_MS, &already, &message), HEARTH_OK);
    HT_CHECK_EQ_INT (already, 1);
    node_invite_destroy (&invite);
    /*  An invite of another community: one community per node. */
    uint8_t other [32];
    memset (other, 0x17, sizeof other);
    invite = node_invite_new (other, "Elsewhere", node_signer_public_key (s_signer), s_invitee,
                              HEARTH__LEVEL__LEVEL_MEMBER, S_EVENT_ID, S_NOW_MS + 3600000);
    HT_CHECK (invite && node_invite_sign (invite, s_signer) == HEARTH_OK);
    HT_CHECK_EQ_INT (node_invite_join (invite, joiner, dir, S_NOW_MS, &already, &message),
                     HEARTH_EEXISTS);
    HT_CHECK (message && strstr (message, "already belongs to community"));
    free (message);
    node_invite_destroy (&invite);
    memcpy (s_invitee, saved, 32);
    identity_destroy (&joiner);
}

HT_TEST (test_signer_key_file_rules)
{
    char keys [512], seed [600];
    snprintf (keys, sizeof keys, "%s/keys", s_dir);
    snprintf (seed, sizeof seed, "%s/%s", keys, IDENTITY_SEED_FILE);
    int err = 0;
    chmod (seed, 0640);
    HT_CHECK (node_signer_load (keys, &err) == NULL);
    HT_CHECK_EQ_INT (err, HEARTH_EKEYPERM);
    chmod (seed, 0600);
    char empty [600];
    snprintf (empty, sizeof empty, "%s/none", s_dir);
    HT_CHECK (node_signer_load (empty, &err) == NULL);
    HT_CHECK_EQ_INT (err, HEARTH_EKEYS);
    /*  One reader for both holders of the key: the same public key, and
        a symlinked or over-long seed file refused by both. */
    identity_t *identity = identity_load (keys, &err);
    HT_CHECK (identity != NULL);
    node_signer_t *signer = node_signer_load (keys, &err);
    HT_CHECK (signer != NULL);
    if (identity && signer)
        HT_CHECK (memcmp (identity_public_key (identity), node_signer_public_key (signer), 32) == 0);
    identity_destroy (&identity);
    node_signer_destroy (&signer);
    char other [600], other_seed [700];
    snprintf (other, sizeof other, "%s/other-keys", s_dir);
    snprintf (other_seed, sizeof other_seed, "%s/%s", other, IDENTITY_SEED_FILE);
    HT_CHECK (mkdir (other, 0700) == 0);
    HT_CHECK (symlink (seed, other_seed) == 0);
    HT_CHECK (node_signer_load (other, &err) == NULL);
    HT_CHECK_EQ_INT (err, HEARTH_EKEYS);
    HT_CHECK (identity_load (other, &err) == NULL);
    HT_CHECK_EQ_INT (err, HEARTH_EKEYS);
    unlink (other_seed);
    FILE *file = fopen (other_seed, "w");
    HT_CHECK (file && fwrite ("0123456789abcdef0123456789abcdef!", 1, 33, file) == 33);
    if (file)
        fclose (file);
    chmod (other_seed, 0600);
    HT_CHECK (node_signer_load (other, &err) == NULL);
    HT_CHECK_EQ_INT (err, HEARTH_EKEYS);
    HT_CHECK (identity_load (other, &err) == NULL);
    HT_CHECK_EQ_INT (err, HEARTH_EKEYS);
    /*  Plain signatures verify; a changed message does not. */
    uint8_t sig [64];
    node_signer_sign (s_signer, (const uint8_t *) "abc", 3, sig);
    HT_CHECK_EQ_INT (node_signer_verify (node_signer_public_key (s_signer), (const uint8_t *) "abc", 3, sig), HEARTH_OK);
    HT_CHECK_EQ_INT (node_signer_verify (node_signer_public_key (s_signer), (const uint8_t *) "abd", 3, sig),
                     HEARTH_ESIGNATURE);
    node_signer_destroy (&s_signer);
    HT_CHECK (s_signer == NULL);
    node_signer_destroy (&s_signer);
}

int
main (void)
{
    s_setup ();
    HT_RUN (test_canonical_form);
    HT_RUN (test_round_trip_and_verify);
    HT_RUN (test_tampering_and_strictness);
    HT_RUN (test_addresses);
    HT_RUN (test_time_parse);
    HT_RUN (test_join);
    HT_RUN (test_signer_key_file_rules);
    int rc = ht_summary ();
    if (rc == 0)
        ht_rmtree (s_dir);
    free (s_dir);
    return rc;
}
