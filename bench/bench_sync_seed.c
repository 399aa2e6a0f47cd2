/*  bench_sync_seed.c — bench helper (scripts/bench.sh sync): make many signed
    events fast and load them into stopped nodes, so a sync benchmark can
    start from 100k shared events without 100k synced appends.

        bench_sync_seed gen DATA_DIR COUNT OUT_FILE [--tag TAG] [--lamport-start L]
            COUNT market.post.created events (~350 bytes each) authored and
            signed by DATA_DIR's identity, for DATA_DIR's community, with
            lamports L, L+1, ... (default: the log's head + 1), written to
            OUT_FILE as frames (4-byte big-endian length + SignedEvent bytes).
            Prints {"count","bytes","first_lamport","last_lamport"}: "bytes"
            is the sum of the frames' SignedEvent sizes, the minimal bytes to
            move them.
        bench_sync_seed ingest DATA_DIR FILE [--threads N] [--skip K [--skip-seed S]]
            Every frame of FILE through eventlog_ingest (the full receive
            pipeline: decode, dedup, signature, membership, ...) into
            DATA_DIR's log, in calls of S_INGEST_CALL frames. With --skip,
            K frames chosen uniformly at random among all of FILE's (a
            splitmix64 stream seeded with S, default 1: the same K for the
            same file and seed) are left out: a node that lost K old events
            at random places of the order. Prints
            {"accepted","rejected","skipped","skipped_bytes","seconds"};
            "skipped_bytes" is the sum of the skipped frames' sizes, the
            minimal bytes to move them.
    The node must be stopped (its event log is locked while hearthd runs)
    and its identity must be a member of the community (the cluster's root,
    node 1, always is). Views catch up when hearthd next starts (it replays
    the events after its snapshots). Not a test and not part of a node:
    nothing here is reachable over the control socket or the mesh.
*/
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>
#include "eventlog.h"
#include "hearth_bench.h"
#include "hearth_codec.h"
#include "hearth_error.h"
#include "hearth_log.h"
#include "identity.h"
#include "ulid.h"

/*  Frames per eventlog_ingest call: what one fetch batch might carry. */
#define S_INGEST_CALL     4096
/*  Largest frame read back (EVENT_MAX_BYTES). */
#define S_MAX_FRAME       16384
/*  Post lifetime: 30 days, so seeded posts stay listed for a bench run. */
#define S_TTL_SECONDS     2592000
/*  A body of 140 bytes, so a signed event is about 350 bytes on the wire,
    the size docs/performance.md's figures are for. */
#define S_BODY "Tomato and basil seedlings, a rake and two spades to lend. Pick up " \
               "any evening after six at the back gate; bring them back in a week."

static int
s_usage (void)
{
    fprintf (stderr, "usage: bench_sync_seed gen DATA_DIR COUNT OUT_FILE [--tag TAG] [--lamport-start L]\n"
                     "       bench_sync_seed ingest DATA_DIR FILE [--threads N] [--skip K [--skip-seed S]]\n");
    return 2;
}

/*  splitmix64: a small seeded stream, so a skip set can be reproduced. */
/*  Frames in the file `in` (rewound afterwards), or -1 if it is not a
    frames file. */
static long long
s_count_frames (FILE *in)
{
    long long n = 0;
    uint32_t be;
    while (fread (&be, 4, 1, in) == 1) {
        size_t len = ntohl (be);
        if (len == 0 || len > S_MAX_FRAME || fseek (in, (long) len, SEEK_CUR) != 0)
            return -1;
        n++;
    }
    rewind (in);
    return n;
}

/*  A flag per frame of `in` (*count_p of them), `skip` of them set, chosen
    uniformly with the stream seeded by `seed`. NULL (and a message) on a
    bad file or count. */
static uint8_t *
s_skip_flags (FILE *in, long long skip, uint64_t seed, uint64_t *count_p)
{
    long long n = s_count_frames (in);
    if (n < 0 || skip > n) {
        fprintf (stderr, "bench_sync_seed: cannot skip %lld of %lld frames\n", skip, n);
        return NULL;
    }
    uint8_t *flags = calloc ((size_t) n + 1, 1);
    if (!flags)
        return NULL;
    *count_p = (uint64_t) n;
    uint64_t state = seed;
    for (long long k = 0; k < skip; ) {
        uint64_t i = hb_splitmix64 (&state) % (uint64_t) n;
        if (!flags [i]) {
            flags [i] = 1;
            k++;
        }
    }
    return flags;
}

static eventlog_t *
s_open_log (const char *data_dir)
{
    char db [4096];
    snprintf (db, sizeof db, "%s/db", data_dir);
    int err = 0;
    eventlog_t *log = eventlog_open (db, &err);
    if (!log)
        fprintf (stderr, "bench_sync_seed: cannot open %s: %s (is hearthd still running?)\n", db,
                 hearth_strerror (err));
    return log;
}

static int
s_gen (int argc, char **argv)
{
    if (argc < 5)
        return s_usage ();
    const char *data_dir = argv [2], *out_path = argv [4], *tag = "seed";
    long long count = atoll (argv [3]);
    unsigned long long lamport_start = 0;
    for (int i = 5; i + 1 < argc; i += 2) {
        if (strcmp (argv [i], "--tag") == 0) tag = argv [i + 1];
        else if (strcmp (argv [i], "--lamport-start") == 0) lamport_start = strtoull (argv [i + 1], NULL, 10);
        else return s_usage ();
    }
    if (count < 1)
        return s_usage ();
    char keys [4096];
    snprintf (keys, sizeof keys, "%s/keys", data_dir);
    int err = 0;
    identity_t *who = identity_load (keys, &err);
    if (!who) {
        fprintf (stderr, "bench_sync_seed: no identity in %s: %s\n", keys, hearth_strerror (err));
        return 1;
    }
    eventlog_t *log = s_open_log (data_dir);
    if (!log || !eventlog_community_id (log)) {
        identity_destroy (&who);
        eventlog_destroy (&log);
        return 1;
    }
    uint8_t community [32];
    memcpy (community, eventlog_community_id (log), 32);
    uint64_t first = lamport_start? lamport_start: eventlog_stats (log)->lamport_head + 1;
    eventlog_destroy (&log);
    FILE *out = fopen (out_path, "wb");
    if (!out) {
        identity_destroy (&who);
        fprintf (stderr, "bench_sync_seed: cannot write %s\n", out_path);
        return 1;
    }
    ulid_gen_t gen;
    memset (&gen, 0, sizeof gen);
    char *tags [2] = { (char *) "seed", (char *) tag };
    uint64_t bytes = 0, now_ms = hearth_now_ms ();
    int rc = 0;
    for (long long i = 0; i < count && rc == 0; i++) {
        char id [ULID_SIZE], title [96];
        uint8_t rnd [10];
        randombytes_buf (rnd, sizeof rnd);
        ulid_gen_next (&gen, now_ms, rnd, id);
        snprintf (title, sizeof title, "Seedlings and garden tools %s %lld", tag, i);
        Hearth__MarketPostCreated post = HEARTH__MARKET_POST_CREATED__INIT;
        post.category = HEARTH__CATEGORY__CATEGORY_OFFER;
        post.title = title;
        post.body = (char *) S_BODY;
        post.tags = tags;
        post.n_tags = 2;
        post.ttl_seconds = S_TTL_SECONDS;
        Hearth__Event e = HEARTH__EVENT__INIT;
        e.schema_version = 1;
        e.event_id = id;
        e.lamport = first + (uint64_t) i;
        e.wall_clock_ms = now_ms;
        e.community_id.data = community;
        e.community_id.len = 32;
        e.author.data = (uint8_t *) identity_public_key (who);
        e.author.len = 32;
        e.type = HEARTH__EVENT_TYPE__MARKET_POST_CREATED;
        e.payload_case = HEARTH__EVENT__PAYLOAD_MARKET_POST_CREATED;
        e.market_post_created = &post;
        event_t *ev = event_sign (&e, who, &err);
        if (!ev) {
            fprintf (stderr, "bench_sync_seed: signing failed: %s\n", hearth_strerror (err));
            rc = 1;
            break;
        }
        size_t len;
        const uint8_t *wire = event_wire (ev, &len);
        uint32_t be = htonl ((uint32_t) len);
        if (fwrite (&be, 4, 1, out) != 1 || fwrite (wire, 1, len, out) != len)
            rc = 1;
        bytes += len;
        event_destroy (&ev);
    }
    if (fclose (out) != 0)
        rc = 1;
    identity_destroy (&who);
    if (rc == 0)
        printf ("{\"count\":%lld,\"bytes\":%llu,\"first_lamport\":%llu,\"last_lamport\":%llu}\n",
                count, (unsigned long long) bytes, (unsigned long long) first,
                (unsigned long long) (first + (uint64_t) count - 1));
    return rc;
}

static int
s_ingest (int argc, char **argv)
{
    if (argc < 4)
        return s_usage ();
    const char *data_dir = argv [2], *path = argv [3];
    int threads = 2;
    long long skip = 0;
    uint64_t skip_seed = 1;
    for (int i = 4; i + 1 < argc; i += 2) {
        if (strcmp (argv [i], "--threads") == 0) threads = atoi (argv [i + 1]);
        else if (strcmp (argv [i], "--skip") == 0) skip = atoll (argv [i + 1]);
        else if (strcmp (argv [i], "--skip-seed") == 0) skip_seed = strtoull (argv [i + 1], NULL, 10);
        else return s_usage ();
    }
    if (skip < 0)
        return s_usage ();
    FILE *in = fopen (path, "rb");
    if (!in) {
        fprintf (stderr, "bench_sync_seed: cannot read %s\n", path);
        return 1;
    }
    uint64_t n_flags = 0;
    uint8_t *skip_flags = skip? s_skip_flags (in, skip, skip_seed, &n_flags): NULL;
    if (skip && !skip_flags) {
        fclose (in);
        return 1;
    }
    eventlog_t *log = s_open_log (data_dir);
    if (!log) {
        free (skip_flags);
        fclose (in);
        return 1;
    }
    eventlog_set_verify_threads (log, threads);
    uint8_t **frames = calloc (S_INGEST_CALL, sizeof *frames);
    size_t *lens = calloc (S_INGEST_CALL, sizeof *lens);
    uint64_t accepted = 0, rejected = 0, skipped = 0, skipped_bytes = 0, index = 0;
    int rc = frames && lens? 0: 1;
    double start = hb_now_s ();
    while (rc == 0) {
        size_t n = 0;
        uint32_t be;
        while (n < S_INGEST_CALL && fread (&be, 4, 1, in) == 1) {
            size_t len = ntohl (be);
            if (len == 0 || len > S_MAX_FRAME || !(frames [n] = malloc (len))
            ||  fread (frames [n], 1, len, in) != len) {
                fprintf (stderr, "bench_sync_seed: %s is not a frames file\n", path);
                rc = 1;
                break;
            }
            if (skip_flags && index < n_flags && skip_flags [index++]) {
                skipped++;
                skipped_bytes += len;
                free (frames [n]);
                continue;
            }
            lens [n++] = len;
        }
        if (n == 0 || rc != 0) {
            for (size_t i = 0; i < n; i++)
                free (frames [i]);
            break;
        }
        eventlog_ingest_result_t result;
        int ingested = eventlog_ingest (log, (const uint8_t *const *) frames, lens, n, &result, NULL);
        for (size_t i = 0; i < n; i++)
            free (frames [i]);
        if (ingested != HEARTH_OK) {
            fprintf (stderr, "bench_sync_seed: ingest failed: %s\n", hearth_strerror (ingested));
            rc = 1;
            break;
        }
        accepted += result.accepted;
        for (int r = 1; r < EVENT_REJECT_COUNT; r++)
            rejected += result.rejected [r];
    }
    double seconds = hb_now_s () - start;
    fclose (in);
    free (skip_flags);
    free (frames);
    free (lens);
    eventlog_destroy (&log);
    if (rc == 0)
        printf ("{\"accepted\":%llu,\"rejected\":%llu,\"skipped\":%llu,\"skipped_bytes\":%llu,"
                "\"seconds\":%.3f}\n", (unsigned long long) accepted, (unsigned long long) rejected,
                (unsigned long long) skipped, (unsigned long long) skipped_bytes, seconds);
    return rc;
}

int
main (int argc, char **argv)
{
    hearth_log_set_level (HEARTH_LOG_WARN);
    if (sodium_init () < 0)
        return 1;
    if (argc >= 2 && strcmp (argv [1], "gen") == 0)
        return s_gen (argc, argv);
    if (argc >= 2 && strcmp (argv [1], "ingest") == 0)
        return s_ingest (argc, argv);
    return s_usage ();
}
