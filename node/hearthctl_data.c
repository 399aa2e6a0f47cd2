/*  hearthctl_data.c — data in and out of a running node (docs/cli.md):
    `events export` (JSON lines carrying each event's exact signed bytes),
    `events import FILE` (those lines fed through the node's receive
    pipeline) and `backup DIR` (an online RocksDB checkpoint made by the
    running hearthd, with the keys and config copied beside it). Private
    to hearthctl.
*/
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>
#include <sodium.h>
#include "event.h"
#include "hearth.pb-c.h"
#include "hearth_error.h"
#include "hearth_json.h"
#include "node_config.h"
#include "node_data.h"
#include "node_invite.h"
#include "hearthctl.h"

/*  A line of an import file longer than this is malformed (an exported
    line of an event of EVENT_MAX_BYTES is under 100 KiB). */
#define S_IMPORT_LINE_MAX      (256 * 1024)
/*  Base64 bytes of one events.import call at most: with the JSON around
    them well under a control frame (NODE_CONTROL_MAX_FRAME_BYTES, 1 MiB). */
#define S_IMPORT_BATCH_BYTES   (700 * 1024)

/* ---- events export ------------------------------------------------------ */

int
hearthctl_cmd_events_export (hearthctl_t *ctl, int argc, char **argv)
{
    static const struct option options [] = {
        { "since-lamport", required_argument, NULL, 's' },
        { "out",           required_argument, NULL, 'o' },
        { "json",          no_argument,       NULL, 'j' },
        { NULL, 0, NULL, 0 }
    };
    uint64_t since = 0;
    const char *out_path = NULL;
    int opt;
    optind = 0;
    while ((opt = getopt_long (argc, argv, "", options, NULL)) != -1) {
        if (opt == 's') {
            if (hearthctl_parse_u64 (optarg, &since) != 0)
                return hearthctl_usage_error (ctl, "--since-lamport must be a whole number");
        }
        else if (opt == 'o') out_path = optarg;
        else if (opt == 'j') ctl->json = 1;     /* the output is JSON lines anyway */
        else return hearthctl_bad_option (ctl, argv, options);
    }
    if (optind < argc)
        return hearthctl_usage_error (ctl, "events export takes no arguments (--out FILE writes a file)");
    FILE *out = stdout;
    if (out_path) {
        int fd = open (out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        out = fd >= 0? fdopen (fd, "w"): NULL;
        if (!out) {
            if (fd >= 0)
                close (fd);
            return hearthctl_failf (ctl, HEARTH_EIO, "cannot write %s: %s", out_path, strerror (errno));
        }
    }
    /*  Page through events.list with the signed bytes; each page ends on
        a whole Lamport group, so its max_lamport is the next since. */
    uint64_t written = 0;
    int rc = HEARTHCTL_EXIT_OK;
    for (;;) {
        json_t *input = json_pack ("{s:I, s:I, s:b}", "since_lamport", (json_int_t) since,
                                   "limit", (json_int_t) 500, "signed", 1);
        json_t *output = NULL;
        rc = hearthctl_call (ctl, "events.list", input, &output);
        json_decref (input);
        if (rc != HEARTHCTL_EXIT_OK)
            break;
        size_t i;
        json_t *event;
        json_array_foreach (json_object_get (output, "events"), i, event) {
            char *line = json_dumps (event, HEARTH_JSON_FLAGS);
            if (!line || fprintf (out, "%s\n", line) < 0) {
                free (line);
                rc = hearthctl_failf (ctl, HEARTH_EIO, "writing the export failed: %s", strerror (errno));
                break;
            }
            free (line);
            written++;
        }
        int more = json_is_true (json_object_get (output, "more"));
        uint64_t page_max = (uint64_t) json_integer_value (json_object_get (output, "max_lamport"));
        json_decref (output);
        if (rc != HEARTHCTL_EXIT_OK || !more || page_max <= since)
            break;
        since = page_max;
    }
    if (fflush (out) != 0 && rc == HEARTHCTL_EXIT_OK)
        rc = hearthctl_failf (ctl, HEARTH_EIO, "writing the export failed: %s", strerror (errno));
    if (out != stdout) {
        if ((fsync (fileno (out)) != 0 || fclose (out) != 0) && rc == HEARTHCTL_EXIT_OK)
            rc = hearthctl_failf (ctl, HEARTH_EIO, "writing %s failed: %s", out_path, strerror (errno));
        if (rc == HEARTHCTL_EXIT_OK)
            fprintf (stderr, "exported %" PRIu64 " event%s to %s\n", written, written == 1? "": "s",
                     out_path);
    }
    return rc;
}

/* ---- events import ------------------------------------------------------ */

/*  Totals over every events.import call. */
typedef struct {
    uint64_t lines, malformed, accepted, duplicate, refused;
    json_t  *reasons;           /* {reason: n}, owned */
} s_import_t;

/*  Decode standard base64 text into out (capacity cap): its length, or -1. */
static long
s_b64_decode (const char *text, uint8_t *out, size_t cap)
{
    size_t len = 0;
    if (!text || sodium_base642bin (out, cap, text, strlen (text), NULL, &len, NULL,
                                    sodium_base64_VARIANT_ORIGINAL) != 0)
        return -1;
    return (long) len;
}

/*  One exported line -> base64 of its SignedEvent wire bytes (new JSON
    string), or NULL if the line is not an exported event. The node judges
    everything else (decode, signature, membership). */
static json_t *
s_line_frame (const char *line, size_t len)
{
    json_t *object = json_loadb (line, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *signed_ = json_object_get (object, "signed");
    uint8_t body [EVENT_MAX_BYTES], signature [64];
    long body_len = s_b64_decode (json_string_value (json_object_get (signed_, "body")), body, sizeof body);
    long sig_len = s_b64_decode (json_string_value (json_object_get (signed_, "signature")), signature,
                                 sizeof signature);
    json_decref (object);
    if (body_len <= 0 || sig_len != (long) sizeof signature)
        return NULL;
    /*  SignedEvent {body, signature}: packed the one canonical way the
        node accepts, so the bytes are the ones the author's node stored. */
    Hearth__SignedEvent wire = HEARTH__SIGNED_EVENT__INIT;
    wire.body.data = body;
    wire.body.len = (size_t) body_len;
    wire.signature.data = signature;
    wire.signature.len = sizeof signature;
    size_t size = hearth__signed_event__get_packed_size (&wire);
    uint8_t *packed = (uint8_t *) malloc (size);
    size_t text_size = sodium_base64_ENCODED_LEN (size, sodium_base64_VARIANT_ORIGINAL);
    char *text = (char *) malloc (text_size);
    json_t *frame = NULL;
    if (packed && text) {
        hearth__signed_event__pack (&wire, packed);
        sodium_bin2base64 (text, text_size, packed, size, sodium_base64_VARIANT_ORIGINAL);
        frame = json_string (text);
    }
    free (packed);
    free (text);
    return frame;
}

/*  Send one batch (and empty it); the exit code. */
static int
s_import_batch (hearthctl_t *ctl, json_t *batch, s_import_t *totals)
{
    if (json_array_size (batch) == 0)
        return HEARTHCTL_EXIT_OK;
    json_t *input = json_pack ("{s:O}", "events", batch);
    json_t *output = NULL;
    int rc = input? hearthctl_call (ctl, "events.import", input, &output): HEARTHCTL_EXIT_FAILED;
    json_decref (input);
    json_array_clear (batch);
    if (rc != HEARTHCTL_EXIT_OK)
        return rc;
    totals->accepted += (uint64_t) json_integer_value (json_object_get (output, "accepted"));
    totals->duplicate += (uint64_t) json_integer_value (json_object_get (output, "duplicate"));
    totals->refused += (uint64_t) json_integer_value (json_object_get (output, "refused"));
    const char *reason;
    json_t *count;
    json_object_foreach (json_object_get (output, "refused_by_reason"), reason, count) {
        json_int_t before = json_integer_value (json_object_get (totals->reasons, reason));
        json_object_set_new (totals->reasons, reason, json_integer (before + json_integer_value (count)));
    }
    json_decref (output);
    return HEARTHCTL_EXIT_OK;
}

int
hearthctl_cmd_events_import (hearthctl_t *ctl, int argc, char **argv)
{
    const char *path;
    int arg_rc = hearthctl_json_one_arg (ctl, argc, argv, "events import needs a FILE (from "
                                         "`hearthctl events export`; - for stdin)",
                                         "events import takes exactly one FILE", &path);
    if (arg_rc != HEARTHCTL_EXIT_OK)
        return arg_rc;
    FILE *in = strcmp (path, "-") == 0? stdin: fopen (path, "r");
    if (!in)
        return hearthctl_failf (ctl, HEARTH_EIO, "cannot read %s: %s", path, strerror (errno));
    s_import_t totals;
    memset (&totals, 0, sizeof totals);
    totals.reasons = json_object ();
    json_t *batch = json_array ();
    size_t batch_bytes = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = totals.reasons && batch? HEARTHCTL_EXIT_OK: hearthctl_fail_err (ctl, HEARTH_ENOMEM, NULL);
    while (rc == HEARTHCTL_EXIT_OK && (len = getline (&line, &cap, in)) >= 0) {
        while (len > 0 && (line [len - 1] == '\n' || line [len - 1] == '\r'))
            len--;
        if (len == 0)
            continue;
        totals.lines++;
        json_t *frame = len <= S_IMPORT_LINE_MAX? s_line_frame (line, (size_t) len): NULL;
        if (!frame) {
            totals.malformed++;
            continue;
        }
        size_t frame_bytes = strlen (json_string_value (frame));
        if (json_array_size (batch) >= NODE_DATA_IMPORT_MAX_EVENTS
        ||  batch_bytes + frame_bytes > S_IMPORT_BATCH_BYTES) {
            rc = s_import_batch (ctl, batch, &totals);
            batch_bytes = 0;
        }
        json_array_append_new (batch, frame);
        batch_bytes += frame_bytes;
    }
    if (rc == HEARTHCTL_EXIT_OK && ferror (in))
        rc = hearthctl_failf (ctl, HEARTH_EIO, "reading %s failed: %s", path, strerror (errno));
    if (rc == HEARTHCTL_EXIT_OK)
        rc = s_import_batch (ctl, batch, &totals);
    free (line);
    if (in != stdin)
        fclose (in);
    json_decref (batch);
    if (rc == HEARTHCTL_EXIT_OK) {
        if (ctl->json) {
            json_t *out = json_pack ("{s:I, s:I, s:I, s:I, s:I, s:O}",
                                     "lines", (json_int_t) totals.lines,
                                     "accepted", (json_int_t) totals.accepted,
                                     "duplicate", (json_int_t) totals.duplicate,
                                     "refused", (json_int_t) totals.refused,
                                     "malformed", (json_int_t) totals.malformed,
                                     "refused_by_reason", totals.reasons);
            hearthctl_print_json (out);
            json_decref (out);
        }
        else {
            printf ("imported %s: %" PRIu64 " line%s, %" PRIu64 " accepted, %" PRIu64 " duplicate, %"
                    PRIu64 " refused, %" PRIu64 " malformed\n", path, totals.lines,
                    totals.lines == 1? "": "s", totals.accepted, totals.duplicate, totals.refused,
                    totals.malformed);
            const char *reason;
            json_t *count;
            json_object_foreach (totals.reasons, reason, count)
                printf ("  refused %-16s %" JSON_INTEGER_FORMAT "\n", reason, json_integer_value (count));
        }
    }
    json_decref (totals.reasons);
    return rc;
}

/* ---- backup --------------------------------------------------------------- */

/*  Copy the file src to the new file dst with mode; 0, or -1 with errno
    (a missing src is 1: nothing to copy). */
static int
s_copy_file (const char *src, const char *dst, mode_t mode)
{
    int in = open (src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return errno == ENOENT? 1: -1;
    int out = open (dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (out < 0) {
        int saved = errno;
        close (in);
        errno = saved;
        return -1;
    }
    char buffer [8192];
    ssize_t n;
    int rc = 0;
    while ((n = read (in, buffer, sizeof buffer)) > 0)
        if (write (out, buffer, (size_t) n) != n) {
            rc = -1;
            break;
        }
    if (n < 0 || fsync (out) != 0)
        rc = -1;
    int saved = errno;
    close (in);
    if (close (out) != 0)
        rc = -1;
    errno = saved;
    return rc;
}

int
hearthctl_cmd_backup (hearthctl_t *ctl, int argc, char **argv)
{
    const char *dir;
    int arg_rc = hearthctl_json_one_arg (ctl, argc, argv, "backup needs a DIR (a directory that "
                                         "does not exist yet)", "backup takes exactly one DIR", &dir);
    if (arg_rc != HEARTHCTL_EXIT_OK)
        return arg_rc;
    if (!ctl->data_dir [0] || ctl->remote)
        return hearthctl_usage_error (ctl, "backup needs --data-dir (the keys are copied from it)");
    /*  The node writes into the path, from its own working directory:
        make it absolute (the parent must exist; DIR must not). */
    char given [PATH_MAX], parent [PATH_MAX], absolute [PATH_MAX], base [NAME_MAX + 1];
    if (strlen (dir) >= sizeof given)
        return hearthctl_usage_error (ctl, "backup DIR is too long");
    snprintf (given, sizeof given, "%s", dir);
    snprintf (parent, sizeof parent, "%s", dirname (given));
    snprintf (given, sizeof given, "%s", dir);
    snprintf (base, sizeof base, "%s", basename (given));
    char resolved [PATH_MAX];
    if (!realpath (parent, resolved))
        return hearthctl_failf (ctl, HEARTH_ENOTFOUND, "cannot back up into %s: %s: %s", dir,
                                parent, strerror (errno));
    if (strcmp (base, ".") == 0 || strcmp (base, "..") == 0 || strcmp (base, "/") == 0
    ||  (size_t) snprintf (absolute, sizeof absolute, "%s/%s", strcmp (resolved, "/") == 0? "": resolved,
                           base) >= sizeof absolute)
        return hearthctl_usage_error (ctl, "backup DIR must name a new directory");
    if (mkdir (absolute, 0700) != 0) {
        if (errno == EEXIST)
            return hearthctl_failf (ctl, HEARTH_EEXISTS, "%s already exists: a backup goes into a new "
                                    "directory", absolute);
        return hearthctl_failf (ctl, HEARTH_EIO, "cannot create %s: %s", absolute, strerror (errno));
    }
    char db [PATH_MAX + 8];
    snprintf (db, sizeof db, "%s/db", absolute);
    json_t *input = json_pack ("{s:s}", "dir", db);
    json_t *output = NULL;
    int rc = hearthctl_call (ctl, "node.backup", input, &output);
    json_decref (input);
    if (rc != HEARTHCTL_EXIT_OK) {
        rmdir (absolute);           /* only if still empty: a failed checkpoint cleans up */
        return rc;
    }
    /*  The identity and the node's files beside the log: the copy is a
        whole data dir, ready for hearthd --data-dir. */
    static const struct { const char *name; mode_t mode; } files [] = {
        { "keys/device.ed25519", 0600 }, { "keys/device.pub", 0644 },
        { NODE_CONFIG_FILE_NAME, 0600 }, { NODE_INVITE_FILE_NAME, 0600 }
    };
    char keys [PATH_MAX + 8];
    snprintf (keys, sizeof keys, "%s/keys", absolute);
    if (mkdir (keys, 0700) != 0)
        rc = hearthctl_failf (ctl, HEARTH_EIO, "cannot create %s: %s", keys, strerror (errno));
    for (size_t i = 0; rc == HEARTHCTL_EXIT_OK && i < sizeof files / sizeof files [0]; i++) {
        char src [NODE_CONFIG_PATH_MAX + 64], dst [PATH_MAX + 64];
        snprintf (src, sizeof src, "%s/%s", ctl->data_dir, files [i].name);
        snprintf (dst, sizeof dst, "%s/%s", absolute, files [i].name);
        if (s_copy_file (src, dst, files [i].mode) < 0)
            rc = hearthctl_failf (ctl, HEARTH_EIO, "the log is backed up in %s, but copying %s failed: "
                                  "%s", db, src, strerror (errno));
    }
    if (rc == HEARTHCTL_EXIT_OK) {
        json_object_set_new (output, "data_dir", json_string (absolute));
        if (ctl->json)
            hearthctl_print_json (output);
        else {
            printf ("backed up %s into %s (events up to arrival %" JSON_INTEGER_FORMAT ", lamport head %"
                    JSON_INTEGER_FORMAT ") with its keys and config\n", ctl->data_dir, absolute,
                    json_integer_value (json_object_get (output, "seq")),
                    json_integer_value (json_object_get (output, "lamport_head")));
            printf ("restore: stop hearthd, move %s aside, copy %s in its place (cp -a), start hearthd\n",
                    ctl->data_dir, absolute);
        }
    }
    json_decref (output);
    return rc;
}
