/*  interop_negentropy.c — Hearth's Negentropy over stdin/stdout, for interop
    tests against other implementations (tests/interop/).

        interop_negentropy --items FILE --role initiator|responder
                           [--frame-size-limit N] [--result FILE]

    FILE holds one item per line: "TIMESTAMP HEX_ID" (decimal, 64 hex digits).
    Messages are lower-case hex, one per line, in both directions.
    Initiator: writes the first message, then reads an answer and writes the
    next message, until done; then writes "have HEX" / "need HEX" lines to
    the --result file (required: stdout carries the protocol) and exits 0.
    Responder: answers each line until
    end of input, exits 0. Any error: a message on stderr, exit 1; exit 3
    when the initiator refused an answer as inconsistent (negentropy.h,
    answers_inconsistent).
    A summary (messages, bytes) goes to stderr at the end.
*/
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "negentropy_store.h"
#include "negentropy.h"
#include "hearth_codec.h"
#include "hearth_error.h"

/*  Items accepted from the file at most (a guard, not a protocol limit). */
#define S_MAX_ITEMS (UINT64_C (1) << 26)

/*  Decode len hex chars into out (capacity len / 2) with libsodium's
    sodium_hex2bin, all of them or nothing. Returns bytes or -1. */
static long
s_hex_decode (const char *hex, size_t len, uint8_t *out)
{
    size_t n = 0;
    const char *end = NULL;
    if (len % 2 || sodium_hex2bin (out, len / 2, hex, len, NULL, &n, &end) != 0
    ||  n != len / 2 || end != hex + len)
        return -1;
    return (long) n;
}

static int
s_item_cmp (const void *a, const void *b)
{
    const negentropy_item_t *x = (const negentropy_item_t *) a, *y = (const negentropy_item_t *) b;
    if (x->timestamp != y->timestamp)
        return x->timestamp < y->timestamp? -1: 1;
    return memcmp (x->id, y->id, NEGENTROPY_ID_SIZE);
}

static int
s_load_items (const char *path, negentropy_store_t *store)
{
    FILE *f = fopen (path, "r");
    if (!f) {
        fprintf (stderr, "interop_negentropy: %s: %s\n", path, strerror (errno));
        return -1;
    }
    size_t count = 0, cap = 0;
    negentropy_item_t *items = NULL;
    char *line = NULL;
    size_t line_cap = 0;
    ssize_t len;
    int rc = 0;
    while ((len = getline (&line, &line_cap, f)) >= 0) {
        while (len > 0 && (line [len - 1] == '\n' || line [len - 1] == '\r'))
            line [--len] = 0;
        if (len == 0)
            continue;
        char *space = strchr (line, ' ');
        char *end = NULL;
        errno = 0;
        unsigned long long ts = strtoull (line, &end, 10);
        if (!space || end != space || errno || ts >= NEGENTROPY_TIMESTAMP_MAX
            || strlen (space + 1) != 2 * NEGENTROPY_ID_SIZE || count >= S_MAX_ITEMS) {
            fprintf (stderr, "interop_negentropy: %s: bad line %zu\n", path, count + 1);
            rc = -1;
            break;
        }
        if (count == cap) {
            cap = cap? cap * 2: 1024;
            negentropy_item_t *grown = (negentropy_item_t *) realloc (items, cap * sizeof *items);
            if (!grown) {
                rc = -1;
                break;
            }
            items = grown;
        }
        items [count].timestamp = ts;
        if (s_hex_decode (space + 1, 2 * NEGENTROPY_ID_SIZE, items [count].id) < 0) {
            fprintf (stderr, "interop_negentropy: %s: bad id on line %zu\n", path, count + 1);
            rc = -1;
            break;
        }
        count++;
    }
    free (line);
    fclose (f);
    if (rc == 0) {
        if (count > 1)
            qsort (items, count, sizeof *items, s_item_cmp);
        rc = negentropy_store_build (store, items, count);
        if (rc)
            fprintf (stderr, "interop_negentropy: %s: %s (duplicate items?)\n", path, hearth_strerror (rc));
    }
    free (items);
    return rc? -1: 0;
}

static void
s_write_hex_line (const uint8_t *bytes, size_t size)
{
    char *hex = (char *) malloc (2 * size + 1);
    if (!hex) {
        fprintf (stderr, "interop_negentropy: out of memory\n");
        exit (1);
    }
    hearth_hex_encode (bytes, size, hex);
    fputs (hex, stdout);
    fputc ('\n', stdout);
    fflush (stdout);
    free (hex);
}

/*  Next message line from stdin into *msg (malloc'd, caller frees).
    Returns its size, 0 at end of input (or an empty line), -1 on bad hex. */
static long
s_read_message (char **line, size_t *line_cap, uint8_t **msg)
{
    ssize_t len = getline (line, line_cap, stdin);
    if (len < 0)
        return 0;
    while (len > 0 && ((*line) [len - 1] == '\n' || (*line) [len - 1] == '\r'))
        len--;
    if (len == 0)
        return 0;
    free (*msg);
    *msg = (uint8_t *) malloc ((size_t) len / 2 + 1);
    if (!*msg)
        return -1;
    return s_hex_decode (*line, (size_t) len, *msg);
}

static void
s_write_ids (FILE *f, const char *tag, const uint8_t *ids, size_t count)
{
    char hex [2 * NEGENTROPY_ID_SIZE + 1];
    for (size_t i = 0; i < count; i++) {
        hearth_hex_encode (ids + i * NEGENTROPY_ID_SIZE, NEGENTROPY_ID_SIZE, hex);
        fprintf (f, "%s %s\n", tag, hex);
    }
}

int
main (int argc, char **argv)
{
    const char *items_path = NULL, *role = NULL, *result_path = NULL;
    size_t limit = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp (argv [i], "--items") == 0)
            items_path = argv [i + 1];
        else if (strcmp (argv [i], "--role") == 0)
            role = argv [i + 1];
        else if (strcmp (argv [i], "--result") == 0)
            result_path = argv [i + 1];
        else if (strcmp (argv [i], "--frame-size-limit") == 0)
            limit = (size_t) strtoull (argv [i + 1], NULL, 10);
        else {
            fprintf (stderr, "interop_negentropy: unknown option %s\n", argv [i]);
            return 2;
        }
    }
    int initiator = role && strcmp (role, "initiator") == 0;
    if (!items_path || !role || (!initiator && strcmp (role, "responder") != 0)
        || (initiator && !result_path)) {
        fprintf (stderr, "usage: interop_negentropy --items FILE --role initiator|responder"
                         " [--frame-size-limit N] [--result FILE (initiator)]\n");
        return 2;
    }
    negentropy_store_t *store = negentropy_store_new ();
    if (!store || s_load_items (items_path, store))
        return 1;
    negentropy_t *ne = negentropy_new (store, limit);
    if (!ne) {
        fprintf (stderr, "interop_negentropy: bad frame size limit %zu\n", limit);
        return 1;
    }

    const uint8_t *out;
    size_t out_size;
    int rc = 0;
    if (initiator) {
        rc = negentropy_initiate (ne, &out, &out_size);
        if (rc == 0)
            s_write_hex_line (out, out_size);
    }
    char *line = NULL;
    size_t line_cap = 0;
    uint8_t *msg = NULL;
    while (rc == 0 && !(initiator && negentropy_done (ne))) {
        long size = s_read_message (&line, &line_cap, &msg);
        if (size < 0) {
            fprintf (stderr, "interop_negentropy: bad hex line\n");
            rc = HEARTH_EDECODE;
            break;
        }
        if (size == 0) {
            if (initiator) {
                fprintf (stderr, "interop_negentropy: peer closed before we were done\n");
                rc = HEARTH_EUNAVAILABLE;
            }
            break;
        }
        rc = negentropy_reconcile (ne, msg, (size_t) size, &out, &out_size);
        if (rc == 0 && out)
            s_write_hex_line (out, out_size);
    }
    free (line);
    free (msg);
    if (rc) {
        negentropy_stats_t stats;
        negentropy_stats (ne, &stats);
        negentropy_destroy (&ne);               /* freed: a leak checker would change the exit code */
        negentropy_store_destroy (&store);
        if (stats.answers_inconsistent) {
            fprintf (stderr, "interop_negentropy: refused an inconsistent answer from the peer\n");
            return 3;
        }
        fprintf (stderr, "interop_negentropy: %s (%s)\n", hearth_strerror (rc), hearth_error_name (rc));
        return 1;
    }
    if (initiator) {
        FILE *f = fopen (result_path, "w");
        if (!f) {
            fprintf (stderr, "interop_negentropy: %s: %s\n", result_path, strerror (errno));
            return 1;
        }
        size_t have_n, need_n;
        const uint8_t *have = negentropy_have_ids (ne, &have_n);
        const uint8_t *need = negentropy_need_ids (ne, &need_n);
        s_write_ids (f, "have", have, have_n);
        s_write_ids (f, "need", need, need_n);
        if (fclose (f) != 0)
            return 1;
    }
    negentropy_stats_t stats;
    negentropy_stats (ne, &stats);
    fprintf (stderr, "interop_negentropy %s: %" PRIu64 " messages in (%" PRIu64 " B), %" PRIu64
             " out (%" PRIu64 " B)\n", role, stats.messages_in, stats.bytes_in,
             stats.messages_out, stats.bytes_out);
    negentropy_destroy (&ne);
    negentropy_store_destroy (&store);
    return 0;
}
