/*  bench_market.c — how many resident bytes the market view holds per post
    (docs/performance.md "Market view memory"). Not a test.

        bench_market N [--updates K] [--located K] [--shuffled 1] [--search 1]
            Folds N market.post.created events shaped like the seeded posts
            of scripts/bench.sh sync (bench/bench_sync_seed.c: one author, a title
            of 33-38 bytes, its 133-byte body, tags "seed","seed", a 30-day
            ttl, no location, lamports 1..N in order). With --updates, the
            author then updates the title and the location of every K-th
            post and another author sends a stale claim for it. With
            --located, every K-th post has a location (with a label). With
            --shuffled 1, the posts' lamports are a random permutation of
            1..N (arrival out of (lamport, id) order, as when a log is
            fetched in hash order), so the order index splits chunks. Then
            the view is snapshotted, dropped, and restored from the
            snapshot (a restart). With --search 1, a "search" phase after
            the fold: the first market_view_search (query "seedlings"),
            which builds the search index of every post; its heap is the
            index's.
            Prints one JSON line per phase: heap bytes in use (glibc
            mallinfo2 uordblks + hblkhd) and RSS (/proc/self/statm), each
            as the delta over the empty state and per post, and the phase's
            CPU seconds; and the snapshot's size and the state digest
            (market_view_digest), so two builds can be checked to fold the
            same state. After the fold, an "estimate" line: market_view_bytes
            (the stats' hearth_market_view_bytes) and its wall time.

    The events are not signed (a zero signature): the view never checks
    signatures, and signing 1M events would dominate the run. The heap
    policy is hearthd's (hearth_memory_setup), and freed heap is trimmed
    (malloc_trim) before each reading, so RSS counts live pages only.
*/
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "event.h"
#include "hearth_bench.h"
#include "hearth_memory.h"
#include "market_view.h"
#include "ulid.h"

/*  The seeded posts' body (bench/bench_sync_seed.c S_BODY: 133 bytes). */
#define S_BODY "Tomato and basil seedlings, a rake and two spades to lend. Pick up " \
               "any evening after six at the back gate; bring them back in a week."
/*  Their ttl: 30 days (bench_sync_seed's S_TTL_SECONDS). */
#define S_TTL_SECONDS 2592000
/*  The events' wall clock (2026-11-25), fixed so runs are identical. */
#define S_WALL_MS     1795564800000ULL

static uint64_t s_rng = 0x6d61726b6574ULL;          /* "market" */

static uint64_t
s_rand (void)
{
    return hb_splitmix64 (&s_rng);
}

typedef struct {
    size_t heap;                /* bytes in use: arena + mmapped */
    size_t rss;                 /* bytes resident */
} s_mem_t;

static s_mem_t
s_mem (void)
{
    malloc_trim (0);
    struct mallinfo2 mi = mallinfo2 ();
    s_mem_t m = { mi.uordblks + mi.hblkhd, 0 };
    FILE *f = fopen ("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;
    if (f) {
        if (fscanf (f, "%lu %lu", &size, &resident) != 2)
            resident = 0;
        fclose (f);
    }
    m.rss = (size_t) resident * (size_t) sysconf (_SC_PAGESIZE);
    return m;
}

/*  CPU seconds of the process (one thread): robust to the box's load. */
static double
s_now (void)
{
    return hb_clock_s (CLOCK_PROCESS_CPUTIME_ID);
}

/*  One phase's line; cpu_s = its CPU time (events made and folded, or the
    restore), for a rough check that a smaller view is not slower. */
static void
s_report (const char *phase, size_t n, s_mem_t base, s_mem_t now, double seconds)
{
    double heap = (double) now.heap - (double) base.heap;
    double rss = (double) now.rss - (double) base.rss;
    printf ("{\"phase\":\"%s\",\"posts\":%zu,\"heap_mib\":%.1f,\"heap_per_post\":%.1f,"
            "\"rss_mib\":%.1f,\"rss_per_post\":%.1f,\"cpu_s\":%.2f}\n",
            phase, n, heap / 1048576.0, heap / (double) n, rss / 1048576.0, rss / (double) n, seconds);
    fflush (stdout);
}

/*  Decode an unsigned event (zero signature) from a draft body. */
static event_t *
s_event (const Hearth__Event *body)
{
    static uint8_t buf [2][EVENT_MAX_BYTES];
    size_t body_len = hearth__event__get_packed_size (body);
    if (body_len > EVENT_MAX_BYTES)
        return NULL;
    hearth__event__pack (body, buf [0]);
    uint8_t sig [64] = { 0 };
    Hearth__SignedEvent se = HEARTH__SIGNED_EVENT__INIT;
    se.body.data = buf [0];
    se.body.len = body_len;
    se.signature.data = sig;
    se.signature.len = sizeof sig;
    size_t len = hearth__signed_event__get_packed_size (&se);
    if (len > EVENT_MAX_BYTES)
        return NULL;
    hearth__signed_event__pack (&se, buf [1]);
    event_reject_t reason;
    return event_decode (buf [1], len, &reason);
}

static void
s_envelope (Hearth__Event *e, char *id, ulid_gen_t *gen, const uint8_t *author, uint64_t lamport,
            int type)
{
    uint8_t rnd [10];
    uint64_t r0 = s_rand (), r1 = s_rand ();
    memcpy (rnd, &r0, 8);
    memcpy (rnd + 8, &r1, 2);
    ulid_gen_next (gen, S_WALL_MS, rnd, id);
    static uint8_t community [32] = { 7 };
    hearth__event__init (e);
    e->schema_version = 1;
    e->event_id = id;
    e->lamport = lamport;
    e->wall_clock_ms = S_WALL_MS;
    e->community_id.data = community;
    e->community_id.len = 32;
    e->author.data = (uint8_t *) author;
    e->author.len = 32;
    e->type = (Hearth__EventType) type;
}

static int
s_apply (market_view_t *view, const Hearth__Event *e)
{
    event_t *ev = s_event (e);
    if (!ev) {
        fprintf (stderr, "bench_market: event did not decode\n");
        return -1;
    }
    int rc = market_view_apply (view, ev);
    event_destroy (&ev);
    if (rc)
        fprintf (stderr, "bench_market: apply failed: %d\n", rc);
    return rc;
}

int
main (int argc, char **argv)
{
    size_t n = argc > 1? strtoull (argv [1], NULL, 10): 0;
    size_t every = 0, located = 0, shuffled = 0, search = 0;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp (argv [i], "--updates") == 0)
            every = strtoull (argv [i + 1], NULL, 10);
        else
        if (strcmp (argv [i], "--located") == 0)
            located = strtoull (argv [i + 1], NULL, 10);
        else
        if (strcmp (argv [i], "--shuffled") == 0)
            shuffled = strtoull (argv [i + 1], NULL, 10);
        else
        if (strcmp (argv [i], "--search") == 0)
            search = strtoull (argv [i + 1], NULL, 10);
        else
            n = 0;
    }
    if (argc % 2 != 0)
        n = 0;
    if (n < 1 || n > MARKET_VIEW_MAX_POSTS) {
        fprintf (stderr, "usage: bench_market N [--updates K] [--located K] [--shuffled 1] "
                         "[--search 1], "
                         "N in 1..%d\n",
                 MARKET_VIEW_MAX_POSTS);
        return 2;
    }
    hearth_memory_setup ();
    uint8_t author [32], other [32];
    memset (author, 0xa1, sizeof author);
    memset (other, 0xb2, sizeof other);
    char (*ids) [ULID_SIZE] = calloc (n, ULID_SIZE);
    if (!ids)
        return 1;
    ulid_gen_t gen;
    memset (&gen, 0, sizeof gen);
    //  Lamports of the posts in arrival order (made before the baseline reading)
    uint32_t *lamports = calloc (n, sizeof (uint32_t));
    if (!lamports)
        return 1;
    for (size_t i = 0; i < n; i++)
        lamports [i] = (uint32_t) i + 1;
    for (size_t i = n - 1; shuffled && i > 0; i--) {
        size_t j = (size_t) (s_rand () % (i + 1));
        uint32_t x = lamports [i];
        lamports [i] = lamports [j];
        lamports [j] = x;
    }

    s_mem_t base = s_mem ();
    double start = s_now ();
    market_view_t *view = market_view_new ();
    char *tags [2] = { (char *) "seed", (char *) "seed" };
    uint64_t lamport = n;
    for (size_t i = 0; i < n; i++) {
        char title [96];
        snprintf (title, sizeof title, "Seedlings and garden tools seed %zu", i);
        Hearth__MarketPostCreated post = HEARTH__MARKET_POST_CREATED__INIT;
        post.category = HEARTH__CATEGORY__CATEGORY_OFFER;
        post.title = title;
        post.body = (char *) S_BODY;
        post.tags = tags;
        post.n_tags = 2;
        post.ttl_seconds = S_TTL_SECONDS;
        Hearth__Location loc = HEARTH__LOCATION__INIT;
        loc.lat = 52.0 + (double) i / 1e6;
        loc.lng = 4.0 - (double) i / 1e6;
        loc.label = (char *) "Back gate, Elm Street";
        if (located && i % located == 0)
            post.location = &loc;
        Hearth__Event e;
        s_envelope (&e, ids [i], &gen, author, lamports [i], HEARTH__EVENT_TYPE__MARKET_POST_CREATED);
        e.payload_case = HEARTH__EVENT__PAYLOAD_MARKET_POST_CREATED;
        e.market_post_created = &post;
        if (s_apply (view, &e))
            return 1;
    }
    for (size_t i = 0; every && i < n; i += every) {
        char id [ULID_SIZE], title [96];
        snprintf (title, sizeof title, "Seedlings and garden tools (updated) %zu", i);
        Hearth__MarketPostUpdated upd = HEARTH__MARKET_POST_UPDATED__INIT;
        upd.target_event_id = ids [i];
        upd.title = title;
        Hearth__Location loc = HEARTH__LOCATION__INIT;
        loc.lat = -33.0 - (double) i / 1e6;
        loc.lng = 151.0 + (double) i / 1e6;
        loc.label = (char *) "Corner shop";
        upd.location = &loc;
        Hearth__Event e;
        s_envelope (&e, id, &gen, author, ++lamport, HEARTH__EVENT_TYPE__MARKET_POST_UPDATED);
        e.payload_case = HEARTH__EVENT__PAYLOAD_MARKET_POST_UPDATED;
        e.market_post_updated = &upd;
        if (s_apply (view, &e))
            return 1;
        Hearth__MarketPostExpired exp = HEARTH__MARKET_POST_EXPIRED__INIT;
        exp.target_event_id = ids [i];
        exp.reason = HEARTH__EXPIRY_REASON__EXPIRY_REASON_STALE;
        s_envelope (&e, id, &gen, other, ++lamport, HEARTH__EVENT_TYPE__MARKET_POST_EXPIRED);
        e.payload_case = HEARTH__EVENT__PAYLOAD_MARKET_POST_EXPIRED;
        e.market_post_expired = &exp;
        if (s_apply (view, &e))
            return 1;
    }
    double seconds = s_now () - start;
    s_report ("fold", n, base, s_mem (), seconds);
    //  The stats' estimate of the view's bytes (hearth_market_view_bytes)
    //  against the heap measured above, and what one estimate costs
    double wall = hb_clock_s (CLOCK_MONOTONIC);
    size_t estimate = market_view_bytes (view);
    wall = hb_clock_s (CLOCK_MONOTONIC) - wall;
    printf ("{\"phase\":\"estimate\",\"posts\":%zu,\"view_bytes_mib\":%.1f,\"ms\":%.2f}\n",
            n, (double) estimate / 1048576.0, wall * 1000.0);
    if (search) {
        //  The first search indexes every post: its heap growth is the index
        market_post_t hits [10];
        double scores [10];
        s_mem_t before = s_mem ();
        start = s_now ();
        int found = market_view_search (view, "seedlings", 10, NULL, S_WALL_MS, hits, scores);
        seconds = s_now () - start;
        if (found < 0) {
            fprintf (stderr, "bench_market: search failed: %d\n", found);
            return 1;
        }
        s_report ("search", n, before, s_mem (), seconds);
    }

    uint8_t *snap;
    size_t snap_len;
    if (market_view_snapshot (view, &snap, &snap_len)) {
        fprintf (stderr, "bench_market: snapshot failed\n");
        return 1;
    }
    uint8_t digest [32];
    char hex [65];
    if (market_view_digest (view, digest)) {
        fprintf (stderr, "bench_market: digest failed\n");
        return 1;
    }
    for (size_t i = 0; i < 32; i++)
        snprintf (hex + 2 * i, 3, "%02x", digest [i]);
    printf ("{\"phase\":\"snapshot\",\"posts\":%zu,\"bytes\":%zu,\"per_post\":%.1f,"
            "\"digest\":\"%s\"}\n", n, snap_len, (double) snap_len / (double) n, hex);
    market_view_destroy (&view);
    base = s_mem ();
    start = s_now ();
    view = market_view_new ();
    int rc = market_view_restore (view, snap, snap_len);
    seconds = s_now () - start;
    if (rc) {
        fprintf (stderr, "bench_market: restore failed: %d\n", rc);
        return 1;
    }
    s_report ("restore", n, base, s_mem (), seconds);
    if (market_view_count (view) != n) {
        fprintf (stderr, "bench_market: %zu posts restored of %zu\n", market_view_count (view), n);
        return 1;
    }
    free (snap);
    market_view_destroy (&view);
    free (ids);
    free (lamports);
    return 0;
}
