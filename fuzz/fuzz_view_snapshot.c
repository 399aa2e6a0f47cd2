/*  fuzz_view_snapshot.c — a view snapshot as stored on disk: the manifest
    (ViewSnapshot) and its chunks, read back by eventlog_views_load into
    the market view of a real node (RocksDB in a scratch directory, kept
    across inputs).

    Input: parts (fuzz.h): the first is the manifest's bytes, the next ones
    (up to S_CHUNKS) the chunks 0, 1, ..., stored under the generation the
    manifest names (1 if it does not decode). Properties: loading never
    fails or crashes on what it reads; when the chunks do not match the
    manifest's hash, the view is rebuilt from the log (its digest is the
    log's own); the view answers queries afterwards.
*/
#include <sodium.h>
#include <string.h>
#include "fuzz.h"
#include "fuzz_world.h"
#include "eventlog_testing.h"
#include "hearth_error.h"
#include "market_view.h"

#define S_CHUNKS 8

static fuzz_world_t s_world;
static int s_open;
static uint8_t s_ref [32];                  /* the view folded from the log */
static uint64_t s_prev_gen;
static uint32_t s_prev_chunks;

static void
s_close (void)
{
    if (s_open)
        fuzz_world_close (&s_world);
    s_open = 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (!s_open) {
        fuzz_world_open (&s_world, "view", 1);
        s_open = 1;
        atexit (s_close);
        FUZZ_CHECK (eventlog_views_rebuild (s_world.log) == 0);
        FUZZ_CHECK (market_view_digest (market_view (s_world.market), s_ref) == 0);
    }
    eventlog_t *log = s_world.log;
    /*  The previous input's chunks go, so each input is judged alone. */
    for (uint32_t i = 0; i < s_prev_chunks; i++)
        FUZZ_CHECK (eventlog_snapshot_chunk_put (log, "market", s_prev_gen, i, NULL, 0) == 0);
    fuzz_reader_t r = { data, size, 0 };
    size_t mlen;
    const uint8_t *manifest = fuzz_part (&r, &mlen);
    Hearth__ViewSnapshot *snap = hearth__view_snapshot__unpack (NULL, mlen, manifest);
    uint64_t gen = snap && snap->generation? snap->generation: 1;
    crypto_generichash_state hs;
    crypto_generichash_init (&hs, NULL, 0, 32);
    uint32_t n = 0;
    uint64_t total = 0;
    while (n < S_CHUNKS && r.pos < r.size) {
        size_t clen;
        const uint8_t *chunk = fuzz_part (&r, &clen);
        FUZZ_CHECK (eventlog_snapshot_chunk_put (log, "market", gen, n, chunk, clen) == 0);
        crypto_generichash_update (&hs, chunk, clen);
        total += clen;
        n++;
    }
    uint8_t hash [32];
    crypto_generichash_final (&hs, hash, 32);
    s_prev_gen = gen;
    s_prev_chunks = n;
    FUZZ_CHECK (eventlog_snapshot_manifest_put (log, "market", manifest, mlen) == 0);

    uint64_t replayed = 0;
    FUZZ_CHECK (eventlog_views_load (log, &replayed) == 0);
    market_view_t *view = market_view (s_world.market);
    uint8_t digest [32];
    FUZZ_CHECK (market_view_digest (view, digest) == 0);
    /*  Chunks that cannot be the manifest's: the view was rebuilt. */
    int mismatch = snap && snap->generation
                && (snap->n_chunks != n || snap->total_bytes != total
                    || snap->stream_hash.len != 32 || memcmp (snap->stream_hash.data, hash, 32) != 0);
    if (!snap || mismatch)
        FUZZ_CHECK (memcmp (digest, s_ref, 32) == 0);
    static market_post_t posts [64];
    market_query_t q = { .limit = 64 };
    (void) market_view_list (view, &q, eventlog_membership (log), 0, posts, 64);
    if (snap)
        hearth__view_snapshot__free_unpacked (snap, NULL);
    return 0;
}

/*  Seeds: the node's own snapshot in small chunks, and as one chunk. */
void
fuzz_seeds (fuzz_emit_fn *emit, void *arg)
{
    fuzz_world_t w;
    fuzz_world_open (&w, "view-seeds", 1);
    for (int small = 1; small >= 0; small--) {
        eventlog_set_snapshot_chunk_bytes (w.log, small? 200: EVENTLOG_SNAPSHOT_CHUNK_BYTES);
        if (eventlog_views_snapshot (w.log) != 0)
            abort ();
        eventlog_snapshot_info_t info;
        uint8_t *manifest = NULL;
        size_t mlen = 0;
        if (eventlog_snapshot_info (w.log, "market", &info) != 0
        ||  eventlog_snapshot_manifest_get (w.log, "market", &manifest, &mlen) != 0)
            abort ();
        uint8_t *seed = NULL;
        size_t seed_len = 0;
        fuzz_part_append (&seed, &seed_len, manifest, mlen);
        for (uint32_t i = 0; i < info.n_chunks && i < S_CHUNKS; i++) {
            uint8_t *chunk = NULL;
            size_t clen = 0;
            if (eventlog_snapshot_chunk_get (w.log, "market", info.generation, i, &chunk, &clen) != 0)
                abort ();
            fuzz_part_append (&seed, &seed_len, chunk, clen);
            free (chunk);
        }
        emit (arg, seed, seed_len);
        free (seed);
        free (manifest);
    }
    /*  A single-value snapshot as written before chunks. */
    uint8_t *state = NULL;
    size_t len = 0;
    market_view_snapshot (market_view (w.market), &state, &len);
    Hearth__ViewSnapshot snap = HEARTH__VIEW_SNAPSHOT__INIT;
    snap.view = (char *) "market";
    snap.covers_seq = 1;
    snap.state.data = state;
    snap.state.len = len;
    size_t plen = hearth__view_snapshot__get_packed_size (&snap);
    uint8_t *packed = (uint8_t *) malloc (plen);
    hearth__view_snapshot__pack (&snap, packed);
    uint8_t *seed = NULL;
    size_t seed_len = 0;
    fuzz_part_append (&seed, &seed_len, packed, plen);
    emit (arg, seed, seed_len);
    free (seed);
    free (packed);
    free (state);
    fuzz_world_close (&w);
}
