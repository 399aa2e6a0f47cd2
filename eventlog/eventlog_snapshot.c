/*  eventlog_snapshot.c — view snapshots in chunks: writing a generation
    (records grouped into chunks, streamed into one SST file, ingested, then
    the manifests and the membership snapshot in one synced batch),
    restoring one, the automatic policy and its backoff after a full disk.
    See eventlog.h, "Snapshots" and "Disk full", for the contract.

    The snapshots CF holds view snapshot chunks. A generation is written
    as one SST file with RocksDB's SstFileWriter (streamed to disk a block
    at a time, synced) and ingested before its manifest (eventlog.h,
    "Snapshots"): never in a WriteBatch, the WAL or a memtable. Its key
    range is above every key of the CF, so the file lands in the bottom
    level and no compaction rewrites it; the generation it replaces is
    dropped a whole file at a time (rocksdb_delete_file_in_range_cf).
    Chunks put with the WAL off and a flush of the CF made dozens of L0
    files per snapshot, stalled every write of the DB and had compactions
    rewrite the live generation (bench_snapshot; docs/performance.md,
    "View snapshot chunks in an ingested SST"; decision 0019). The CF is only read by whole-generation scans
    (no filter) and holds nothing in memory between snapshots.

    Invariants:
      - A view's manifest ("view/<name>" in meta) is written only after
        every chunk of its generation is in an ingested SST file (or, after
        a failed write, in the WAL ahead of the manifest's synced batch).
      - Chunks of any other generation than the manifest's are never read,
        and are deleted after the manifest commits or at the next load.
      - self->snap_gen [v] is at least every generation stored of view v:
        a new snapshot never writes into an old generation.
*/
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <rocksdb/c.h>
#include <sodium.h>
#include "eventlog_private.h"
#include "hearth_error.h"
#include "hearth_log.h"

#define S_LOG "eventlog"

/*  snapshots key: view name (<= EVENTLOG_VIEW_NAME_MAX, no NUL) || 0 ||
    generation (8 BE) || chunk index (4 BE). The 0 ends the name, so one
    view's keys are exactly [name 0, name 1) and never mix with a view
    whose name extends it. */
#define S_SNAP_KEY_MAX    (EVENTLOG_VIEW_NAME_MAX + 1 + 8 + 4)
/*  "view/<name>" (meta key of a view's manifest), NUL included. */
#define S_VIEW_KEY_SIZE   (sizeof EVENTLOG_META_VIEW + EVENTLOG_VIEW_NAME_MAX)

/* ---- backoff after a full disk ------------------------------------------- */

static int64_t
s_mono_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t
eventlog_snapshot_backoff_ms (uint32_t failures)
{
    uint64_t ms = EVENTLOG_SNAPSHOT_RETRY_MIN_MS;
    for (uint32_t i = 1; i < failures && ms < EVENTLOG_SNAPSHOT_RETRY_MAX_MS; i++)
        ms *= 2;
    return ms < EVENTLOG_SNAPSHOT_RETRY_MAX_MS? ms: EVENTLOG_SNAPSHOT_RETRY_MAX_MS;
}

/*  Put off snapshots by the next backoff step. */
void
eventlog_snapshot_put_off (eventlog_t *self)
{
    if (self->snap_failures < UINT32_MAX)
        self->snap_failures++;
    self->snap_retry_ms = s_mono_ms () + (int64_t) eventlog_snapshot_backoff_ms (self->snap_failures);
}

/*  Put a ViewSnapshot {name, covers_seq, state} under key (membership,
    and view snapshots as written before chunks). The state is not copied
    into a packed ViewSnapshot first: the batch gets the packed name and
    seq, then field 3's tag and length, then the state, as one value in
    parts (protobuf decodes fields in any order), so the caller can free
    the state as soon as this returns. */
static int
s_batch_snapshot (eventlog_t *self, rocksdb_writebatch_t *batch, const char *key, const char *name,
                  uint64_t covers_seq, const uint8_t *state, size_t len)
{
    Hearth__ViewSnapshot snap = HEARTH__VIEW_SNAPSHOT__INIT;
    snap.view = (char *) name;
    snap.covers_seq = covers_seq;
    size_t hlen = hearth__view_snapshot__get_packed_size (&snap);
    uint8_t head [S_VIEW_KEY_SIZE + 32];    /* name <= EVENTLOG_VIEW_NAME_MAX, seq and tags: ~80 B */
    if (hlen + 1 + 10 > sizeof head)
        return HEARTH_EINVAL;
    hearth__view_snapshot__pack (&snap, head);
    head [hlen++] = (3 << 3) | 2;           /* field 3 (state), length-delimited */
    for (uint64_t v = len; ; v >>= 7) {     /* its length, a base-128 varint */
        head [hlen++] = (uint8_t) ((v & 0x7f) | (v >= 0x80? 0x80: 0));
        if (v < 0x80)
            break;
    }
    const char *parts [2] = { (const char *) head, (const char *) state };
    size_t sizes [2] = { hlen, len };
    const char *keys [1] = { key };
    size_t key_sizes [1] = { strlen (key) };
    rocksdb_writebatch_putv_cf (batch, self->cf [EVENTLOG_CF_META], 1, keys, key_sizes,
                                len? 2: 1, parts, sizes);
    return 0;
}

/* ---- view snapshots in chunks (eventlog.h, "Snapshots") ------------------ */

/*  The snapshots key of (name, generation, index); its length. The name
    must be at most EVENTLOG_VIEW_NAME_MAX bytes (checked by the callers). */
static size_t
s_snap_key (const char *name, uint64_t gen, uint32_t index, uint8_t key [S_SNAP_KEY_MAX])
{
    size_t n = strlen (name);
    memcpy (key, name, n);
    key [n] = 0;
    eventlog_put_be64 (key + n + 1, gen);
    for (int i = 0; i < 4; i++)
        key [n + 9 + i] = (uint8_t) (index >> (24 - 8 * i));
    return n + 13;
}

/*  The end of every key of view name: name || 1. */
static size_t
s_snap_key_end (const char *name, uint8_t key [S_SNAP_KEY_MAX])
{
    size_t n = strlen (name);
    memcpy (key, name, n);
    key [n] = 1;
    return n + 1;
}

/*  Keys of view `name` in generations [from, to) (to = UINT64_MAX: every
    generation from `from` on): how many (counting stops at `limit`), and
    the highest generation stored of the view in *max_gen (may be NULL). */
static int
s_snap_count (eventlog_t *self, const char *name, uint64_t from, uint64_t to, uint64_t limit,
              uint64_t *count, uint64_t *max_gen)
{
    uint8_t start [S_SNAP_KEY_MAX], end [S_SNAP_KEY_MAX];
    size_t slen = s_snap_key (name, from, 0, start);
    size_t elen = to == UINT64_MAX? s_snap_key_end (name, end): s_snap_key (name, to, 0, end);
    size_t plen = strlen (name) + 1;
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf (self->db, self->scan_options,
                                                         self->cf [EVENTLOG_CF_SNAPSHOTS]);
    *count = 0;
    for (rocksdb_iter_seek (it, (const char *) start, slen);
         *count < limit && rocksdb_iter_valid (it); rocksdb_iter_next (it)) {
        size_t klen;
        const char *k = rocksdb_iter_key (it, &klen);
        size_t m = klen < elen? klen: elen;
        int c = memcmp (k, end, m);
        if (c > 0 || (c == 0 && klen >= elen))
            break;
        (*count)++;
    }
    if (max_gen) {
        *max_gen = 0;
        uint8_t last [S_SNAP_KEY_MAX];
        size_t llen = s_snap_key_end (name, last);
        rocksdb_iter_seek (it, (const char *) last, llen);
        if (rocksdb_iter_valid (it))
            rocksdb_iter_prev (it);
        else
            rocksdb_iter_seek_to_last (it);
        size_t klen;
        const char *k = rocksdb_iter_valid (it)? rocksdb_iter_key (it, &klen): NULL;
        if (k && klen == plen + 12 && memcmp (k, start, plen) == 0)
            *max_gen = eventlog_get_be64 ((const uint8_t *) k + plen);
    }
    return eventlog_iter_close (it, "snapshot chunk scan failed", 0);
}

/*  Delete view name's chunks of generations [from, to) (to = UINT64_MAX:
    from `from` on): the SST files wholly inside the range are dropped at
    once (an ingested generation is such a file), then a range tombstone
    covers what is left, if anything (chunks put one by one, a file shared
    with other keys). Unsynced: a delete lost in a crash is redone at the
    next load. Best effort: leftovers are only disk space, never read. */
static void
s_snap_delete (eventlog_t *self, const char *name, uint64_t from, uint64_t to)
{
    uint64_t count = 0;
    if (from >= to || s_snap_count (self, name, from, to, 1, &count, NULL) != 0 || count == 0)
        return;
    uint8_t start [S_SNAP_KEY_MAX], end [S_SNAP_KEY_MAX], last [S_SNAP_KEY_MAX];
    size_t slen = s_snap_key (name, from, 0, start);
    /*  Its end is inclusive: the last key the range can hold. */
    size_t llen = s_snap_key (name, to == UINT64_MAX? UINT64_MAX: to - 1, UINT32_MAX, last);
    char *err = NULL;
    rocksdb_delete_file_in_range_cf (self->db, self->cf [EVENTLOG_CF_SNAPSHOTS], (const char *) start, slen,
                                     (const char *) last, llen, &err);
    if (err) {
        hlog_warn (S_LOG, "cannot drop old snapshot files of %s: %s", name, err);
        rocksdb_free (err);
        err = NULL;
    }
    if (s_snap_count (self, name, from, to, 1, &count, NULL) != 0 || count == 0)
        return;
    size_t elen = to == UINT64_MAX? s_snap_key_end (name, end): s_snap_key (name, to, 0, end);
    rocksdb_delete_range_cf (self->db, self->write_received, self->cf [EVENTLOG_CF_SNAPSHOTS],
                             (const char *) start, slen, (const char *) end, elen, &err);
    if (err) {
        hlog_warn (S_LOG, "cannot delete old snapshot chunks of %s: %s", name, err);
        rocksdb_free (err);
    }
}

/*  Delete every chunk of view name not of generation keep (0: all). */
static void
s_snap_delete_others (eventlog_t *self, const char *name, uint64_t keep)
{
    if (keep == 0)
        s_snap_delete (self, name, 0, UINT64_MAX);
    else {
        s_snap_delete (self, name, 0, keep);
        s_snap_delete (self, name, keep + 1, UINT64_MAX);
    }
}

/*  Groups a view's records into chunks and writes them, in key order, to
    one SST file (opened at the first chunk). */
typedef struct {
    eventlog_t              *log;
    const char              *name;
    uint64_t                 gen;
    uint8_t                 *buf;           /* borrowed: the chunk being filled */
    size_t                   used, cap;
    rocksdb_sstfilewriter_t *sst;           /* owned; NULL until the first chunk */
    const char              *path;          /* borrowed: the SST file being written */
    uint64_t                 n_chunks;
    uint64_t                 total;         /* bytes of every chunk written */
    crypto_generichash_state hash;          /* of every chunk written, in order */
} s_snap_writer_t;

static int
s_snap_put (s_snap_writer_t *w, const uint8_t *chunk, size_t len)
{
    if (w->n_chunks >= UINT32_MAX)
        return HEARTH_ECAPACITY;            /* 4 PiB of snapshot: not this node */
    char *err = NULL;
    uint8_t key [S_SNAP_KEY_MAX];
    size_t klen = s_snap_key (w->name, w->gen, (uint32_t) w->n_chunks, key);
    if (w->log->no_ingest)
        /*  Unsynced: the manifest's synced batch later syncs the WAL up
            to it, so the chunks are durable before the manifest is. */
        rocksdb_put_cf (w->log->db, w->log->write_received, w->log->cf [EVENTLOG_CF_SNAPSHOTS],
                        (const char *) key, klen, (const char *) chunk, len, &err);
    else {
        if (!w->sst) {
            w->sst = rocksdb_sstfilewriter_create (w->log->env_options, w->log->options);
            rocksdb_sstfilewriter_open (w->sst, w->path, &err);
        }
        if (!err)
            rocksdb_sstfilewriter_put (w->sst, (const char *) key, klen, (const char *) chunk, len, &err);
    }
    if (err) {
        hlog_error (S_LOG, "snapshot chunk write to %s failed: %s", w->path, err);
        int code = hearth_error_from_storage (err);
        rocksdb_free (err);
        return code;
    }
    crypto_generichash_update (&w->hash, chunk, len);
    w->n_chunks++;
    w->total += len;
    return 0;
}

/*  eventlog_record_fn: append a record to the chunk, writing the chunk
    first if the record would not fit; a record larger than the chunk size
    (a lowered test size) is a chunk of its own. */
static int
s_snap_emit (void *arg, const uint8_t *rec, size_t len)
{
    s_snap_writer_t *w = (s_snap_writer_t *) arg;
    if (len > EVENTLOG_SNAPSHOT_RECORD_MAX)
        return HEARTH_ETOOBIG;
    if (w->used && w->used + len > w->cap) {
        int rc = s_snap_put (w, w->buf, w->used);
        if (rc)
            return rc;
        w->used = 0;
    }
    if (len > w->cap)
        return s_snap_put (w, rec, len);
    memcpy (w->buf + w->used, rec, len);
    w->used += len;
    return 0;
}

/*  Finish the SST file (synced) and move it into the snapshots CF. */
static int
s_snap_ingest (s_snap_writer_t *w)
{
    char *err = NULL;
    rocksdb_sstfilewriter_finish (w->sst, &err);
    if (!err) {
        const char *files [1] = { w->path };
        rocksdb_ingest_external_file_cf (w->log->db, w->log->cf [EVENTLOG_CF_SNAPSHOTS], files, 1,
                                         w->log->ingest_options, &err);
    }
    if (err) {
        hlog_error (S_LOG, "snapshot file %s not stored: %s", w->path, err);
        int code = hearth_error_from_storage (err);
        rocksdb_free (err);
        return code;
    }
    return 0;
}

/*  Put the manifest of a written generation into batch. */
static int
s_batch_manifest (eventlog_t *self, rocksdb_writebatch_t *batch, const char *name,
                  const s_snap_writer_t *w, uint8_t hash [32])
{
    Hearth__ViewSnapshot snap = HEARTH__VIEW_SNAPSHOT__INIT;
    snap.view = (char *) name;
    snap.covers_seq = self->seq;
    snap.generation = w->gen;
    snap.n_chunks = w->n_chunks;
    snap.total_bytes = w->total;
    snap.stream_hash.data = hash;
    snap.stream_hash.len = 32;
    /*  name <= 64, five varints <= 50, a hash 34, tags: < 160 B */
    uint8_t value [S_VIEW_KEY_SIZE + 128];
    size_t len = hearth__view_snapshot__get_packed_size (&snap);
    if (len > sizeof value)
        return HEARTH_EINVAL;
    hearth__view_snapshot__pack (&snap, value);
    char key [S_VIEW_KEY_SIZE];
    snprintf (key, sizeof key, EVENTLOG_META_VIEW "%s", name);
    rocksdb_writebatch_put_cf (batch, self->cf [EVENTLOG_CF_META], key, strlen (key), (const char *) value, len);
    return 0;
}

/*  Write view v's records as chunks of a new generation (one SST file,
    ingested) and its manifest into batch. On failure nothing goes into
    batch and the partial generation is gone; *gen gets the generation. */
static int
s_snapshot_view (eventlog_t *self, size_t v, rocksdb_writebatch_t *batch, uint8_t *chunk,
                 const char *path, uint64_t *gen)
{
    eventlog_view_t *view = &self->views [v];
    s_snap_writer_t w;
    memset (&w, 0, sizeof w);
    w.log = self;
    w.name = view->name;
    w.gen = *gen = ++self->snap_gen [v];
    w.buf = chunk;
    w.cap = self->snap_chunk_bytes;
    w.path = path;
    crypto_generichash_init (&w.hash, NULL, 0, 32);
    int rc = view->snapshot (view->ctx, s_snap_emit, &w);
    if (rc == 0 && w.used)
        rc = s_snap_put (&w, w.buf, w.used);
    if (rc == 0 && w.sst)
        rc = s_snap_ingest (&w);
    if (w.sst)
        rocksdb_sstfilewriter_destroy (w.sst);
    unlink (path);                          /* moved in, or given up */
    uint8_t hash [32];
    crypto_generichash_final (&w.hash, hash, sizeof hash);
    if (rc == 0)
        rc = s_batch_manifest (self, batch, view->name, &w, hash);
    if (rc)
        s_snap_delete (self, view->name, w.gen, w.gen + 1);
    return rc;
}

/*  Snapshot membership, and the views if loaded: each view's chunks into
    an ingested SST file first (durable on its own), then membership and
    every manifest in one synced batch, then the generations the new
    manifests replace are deleted. A view that fails keeps its previous
    snapshot. */
int
eventlog_snapshot_all (eventlog_t *self)
{
    rocksdb_writebatch_t *batch = rocksdb_writebatch_create ();
    uint8_t *state = NULL;
    size_t len = 0;
    int rc = membership_snapshot (self->members, &state, &len);
    if (rc == 0)
        rc = s_batch_snapshot (self, batch, EVENTLOG_META_MEMBERSHIP, EVENTLOG_META_MEMBERSHIP, self->seq, state, len);
    free (state);
    uint64_t written [EVENTLOG_MAX_VIEWS] = { 0 };   /* generation, 0 = none */
    uint8_t *chunk = NULL;
    char *path = NULL;
    if (rc == 0 && self->views_loaded && self->n_views) {
        chunk = (uint8_t *) malloc (self->snap_chunk_bytes);
        if (!chunk || asprintf (&path, "%s/" EVENTLOG_SNAPSHOT_TMP, self->db_dir) < 0) {
            path = NULL;
            rc = HEARTH_ENOMEM;
        }
    }
    for (size_t v = 0; rc == 0 && self->views_loaded && v < self->n_views; v++) {
        eventlog_view_t *view = &self->views [v];
        if (!view->snapshot)
            continue;
        uint64_t gen;
        int vrc = s_snapshot_view (self, v, batch, chunk, path, &gen);
        if (vrc == HEARTH_EIO || vrc == HEARTH_ENOSPC)
            rc = vrc;                       /* the store is broken or full: stop */
        else
        if (vrc) {
            hlog_warn (S_LOG, "view %s could not snapshot: %s", view->name, hearth_strerror (vrc));
            self->stats.view_errors++;
        }
        else
            written [v] = gen;
    }
    free (chunk);
    free (path);
    if (rc == 0)
        rc = eventlog_write (self, batch);
    rocksdb_writebatch_destroy (batch);
    for (size_t v = 0; v < self->n_views; v++) {
        if (!written [v])
            continue;
        if (rc == 0)                        /* the new manifest is durable */
            s_snap_delete (self, self->views [v].name, 0, written [v]);
        else                                /* never referenced */
            s_snap_delete (self, self->views [v].name, written [v], written [v] + 1);
    }
    if (rc == 0) {
        self->stats.snapshots_written++;
        self->since_snapshot = 0;
        self->snap_failures = 0;
        self->snap_retry_ms = 0;
    }
    else
    if (rc == HEARTH_ENOSPC) {
        if (!self->disk_full) {
            self->disk_full = 1;
            self->stats.disk_full = 1;
            self->stats.disk_full_episodes++;
            hlog_error (S_LOG, "disk full under %s: a view snapshot did not fit", self->db_dir);
        }
        self->stats.snapshots_skipped++;
        eventlog_snapshot_put_off (self);
    }
    return rc;
}

int
eventlog_snapshot_due (uint64_t events_total, uint64_t since_snapshot)
{
    uint64_t every = events_total / EVENTLOG_SNAPSHOT_TAIL;
    if (every < EVENTLOG_SNAPSHOT_EVERY)
        every = EVENTLOG_SNAPSHOT_EVERY;
    return since_snapshot >= every;
}

void
eventlog_maybe_snapshot (eventlog_t *self)
{
    int due = self->snap_every? self->since_snapshot >= self->snap_every
            : eventlog_snapshot_due (self->stats.events_total, self->since_snapshot);
    /*  After a full disk: not before the backoff is over. */
    if (due && s_mono_ms () >= self->snap_retry_ms) {
        int rc = eventlog_snapshot_all (self);
        if (rc == HEARTH_ENOSPC)
            hlog_warn (S_LOG, "view snapshot skipped, the disk is full: retried in %" PRIu64 " ms",
                       eventlog_snapshot_backoff_ms (self->snap_failures));
        else
        if (rc)
            hlog_warn (S_LOG, "automatic snapshot failed: %s", hearth_strerror (rc));
    }
}

/* ---- restoring ---------------------------------------------------------- */

/*  Feed view a stored generation's chunks in order, checking them against
    the manifest: 0 and the view holds the snapshot, or an error and the
    view's state is untouched (restore_end without commit). */
static int
s_restore_chunks (eventlog_t *self, eventlog_view_t *view, const Hearth__ViewSnapshot *snap)
{
    if (snap->stream_hash.len != 32 || snap->n_chunks > UINT32_MAX)
        return HEARTH_ECORRUPT;
    int rc = view->restore_begin (view->ctx);
    if (rc)
        return rc;
    uint8_t start [S_SNAP_KEY_MAX];
    size_t slen = s_snap_key (view->name, snap->generation, 0, start);
    size_t plen = slen - 4;                 /* name || 0 || generation */
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf (self->db, self->scan_options,
                                                         self->cf [EVENTLOG_CF_SNAPSHOTS]);
    crypto_generichash_state hash;
    crypto_generichash_init (&hash, NULL, 0, 32);
    uint64_t expected = 0, total = 0;
    for (rocksdb_iter_seek (it, (const char *) start, slen); rocksdb_iter_valid (it); rocksdb_iter_next (it)) {
        size_t klen, vlen;
        const uint8_t *k = (const uint8_t *) rocksdb_iter_key (it, &klen);
        if (klen != slen || memcmp (k, start, plen) != 0)
            break;                          /* past the generation */
        uint32_t index = (uint32_t) k [plen] << 24 | (uint32_t) k [plen + 1] << 16
                       | (uint32_t) k [plen + 2] << 8 | k [plen + 3];
        if (index != expected || expected >= snap->n_chunks) {
            hlog_warn (S_LOG, "snapshot of %s: chunk %llu where %llu of %llu was expected",
                       view->name, (unsigned long long) index, (unsigned long long) expected,
                       (unsigned long long) snap->n_chunks);
            rc = HEARTH_ECORRUPT;           /* a gap or an extra chunk */
            break;
        }
        const uint8_t *value = (const uint8_t *) rocksdb_iter_value (it, &vlen);
        crypto_generichash_update (&hash, value, vlen);
        total += vlen;
        expected++;
        rc = view->restore_chunk (view->ctx, value, vlen);
        if (rc)
            break;
    }
    rc = eventlog_iter_close (it, "snapshot chunk read failed", rc);
    uint8_t digest [32];
    crypto_generichash_final (&hash, digest, sizeof digest);
    if (rc == 0 && (expected != snap->n_chunks || total != snap->total_bytes
                    || memcmp (digest, snap->stream_hash.data, 32) != 0)) {
        hlog_warn (S_LOG, "snapshot of %s: %llu chunks, %llu bytes do not match the manifest's "
                   "%llu, %llu and hash", view->name, (unsigned long long) expected,
                   (unsigned long long) total, (unsigned long long) snap->n_chunks,
                   (unsigned long long) snap->total_bytes);
        rc = HEARTH_ECORRUPT;
    }
    int end_rc = view->restore_end (view->ctx, rc == 0);
    return rc? rc: end_rc;
}

/*  Restore view v from its stored manifest (and chunks), delete chunks of
    any other generation, and note the generation. *covered: the seq the
    restored snapshot covers, 0 if there is none or it did not restore (the
    view is then reset). Returns 0 or HEARTH_EIO (the manifest unreadable). */
int
eventlog_view_load (eventlog_t *self, size_t v, uint64_t *covered)
{
    eventlog_view_t *view = &self->views [v];
    *covered = 0;
    char key [S_VIEW_KEY_SIZE];
    snprintf (key, sizeof key, EVENTLOG_META_VIEW "%s", view->name);
    size_t len;
    int rc;
    uint8_t *buf = eventlog_get (self, EVENTLOG_CF_META, key, strlen (key), &len, &rc);
    if (rc)
        return rc;
    if (view->reset)
        view->reset (view->ctx);
    uint64_t keep = 0;                      /* the generation in use */
    if (buf) {
        Hearth__ViewSnapshot *snap = hearth__view_snapshot__unpack (NULL, len, buf);
        int ok = snap && strcmp (snap->view, view->name) == 0 && snap->covers_seq <= self->seq
              && view->restore_begin && view->restore_chunk && view->restore_end;
        if (ok && snap->generation == 0) {
            /*  Written before chunks: the whole state is one chunk. */
            ok = view->restore_begin (view->ctx) == 0;
            if (ok) {
                int crc = view->restore_chunk (view->ctx, snap->state.data, snap->state.len);
                ok = view->restore_end (view->ctx, crc == 0) == 0 && crc == 0;
            }
        }
        else
        if (ok)
            ok = s_restore_chunks (self, view, snap) == 0;
        if (snap)
            keep = snap->generation;
        if (ok)
            *covered = snap->covers_seq;
        else {
            hlog_warn (S_LOG, "snapshot of view %s is unreadable; rebuilding it from the log",
                       view->name);
            if (view->reset)
                view->reset (view->ctx);
        }
        if (snap)
            hearth__view_snapshot__free_unpacked (snap, NULL);
        rocksdb_free (buf);
    }
    /*  Chunks of other generations: older ones whose delete was lost,
        newer ones of a snapshot that crashed before its manifest. The next
        snapshot writes above every generation stored. */
    uint64_t count, max_gen = 0;
    if (s_snap_count (self, view->name, 0, UINT64_MAX, 0, &count, &max_gen) == 0)
        s_snap_delete_others (self, view->name, keep);
    self->snap_gen [v] = max_gen > keep? max_gen: keep;
    return 0;
}

/* ---- settings, and chunks at the byte level (eventlog_testing.h) ---------- */

int
eventlog_snapshot_info (eventlog_t *self, const char *name, eventlog_snapshot_info_t *info)
{
    memset (info, 0, sizeof *info);
    if (!name || !*name || strlen (name) > EVENTLOG_VIEW_NAME_MAX)
        return HEARTH_EINVAL;
    char key [S_VIEW_KEY_SIZE];
    snprintf (key, sizeof key, EVENTLOG_META_VIEW "%s", name);
    size_t len;
    int rc;
    uint8_t *buf = eventlog_get (self, EVENTLOG_CF_META, key, strlen (key), &len, &rc);
    if (rc)
        return rc;
    if (buf) {
        Hearth__ViewSnapshot *snap = hearth__view_snapshot__unpack (NULL, len, buf);
        if (snap) {
            info->generation = snap->generation;
            info->n_chunks = snap->n_chunks;
            info->total_bytes = snap->total_bytes;
            hearth__view_snapshot__free_unpacked (snap, NULL);
        }
        rocksdb_free (buf);
    }
    return s_snap_count (self, name, 0, UINT64_MAX, UINT64_MAX, &info->stored_chunks, NULL);
}

void
eventlog_set_snapshot_chunk_bytes (eventlog_t *self, size_t bytes)
{
    self->snap_chunk_bytes = bytes < 1? 1: bytes > EVENTLOG_SNAPSHOT_CHUNK_BYTES
                           ? EVENTLOG_SNAPSHOT_CHUNK_BYTES: bytes;
}

void
eventlog_set_snapshot_every (eventlog_t *self, uint64_t events)
{
    self->snap_every = events;
}

int
eventlog_snapshot_chunk_get (eventlog_t *self, const char *name, uint64_t generation, uint32_t index,
                             uint8_t **buf, size_t *len)
{
    *buf = NULL;
    if (!name || !*name || strlen (name) > EVENTLOG_VIEW_NAME_MAX)
        return HEARTH_EINVAL;
    uint8_t key [S_SNAP_KEY_MAX];
    size_t klen = s_snap_key (name, generation, index, key), vlen;
    int rc;
    uint8_t *v = eventlog_get (self, EVENTLOG_CF_SNAPSHOTS, key, klen, &vlen, &rc);
    if (!v)
        return rc? rc: HEARTH_ENOTFOUND;
    *buf = (uint8_t *) malloc (vlen? vlen: 1);
    if (*buf) {
        memcpy (*buf, v, vlen);
        *len = vlen;
    }
    rocksdb_free (v);
    return *buf? 0: HEARTH_ENOMEM;
}

int
eventlog_snapshot_chunk_put (eventlog_t *self, const char *name, uint64_t generation, uint32_t index,
                             const uint8_t *buf, size_t len)
{
    if (!name || !*name || strlen (name) > EVENTLOG_VIEW_NAME_MAX)
        return HEARTH_EINVAL;
    uint8_t key [S_SNAP_KEY_MAX];
    size_t klen = s_snap_key (name, generation, index, key);
    return eventlog_write_one (self, EVENTLOG_CF_SNAPSHOTS, key, klen, buf, len);
}

int
eventlog_snapshot_put_legacy (eventlog_t *self, const char *name, uint64_t covers_seq,
                              const uint8_t *state, size_t len)
{
    if (!name || !*name || strlen (name) > EVENTLOG_VIEW_NAME_MAX)
        return HEARTH_EINVAL;
    char key [S_VIEW_KEY_SIZE];
    snprintf (key, sizeof key, EVENTLOG_META_VIEW "%s", name);
    rocksdb_writebatch_t *batch = rocksdb_writebatch_create ();
    int rc = s_batch_snapshot (self, batch, key, name, covers_seq, state, len);
    if (rc == 0)
        rc = eventlog_write (self, batch);
    rocksdb_writebatch_destroy (batch);
    return rc;
}

int
eventlog_snapshot_manifest_get (eventlog_t *self, const char *name, uint8_t **buf, size_t *len)
{
    *buf = NULL;
    if (!name || !*name || strlen (name) > EVENTLOG_VIEW_NAME_MAX)
        return HEARTH_EINVAL;
    char key [S_VIEW_KEY_SIZE];
    snprintf (key, sizeof key, EVENTLOG_META_VIEW "%s", name);
    size_t vlen;
    int rc;
    uint8_t *v = eventlog_get (self, EVENTLOG_CF_META, key, strlen (key), &vlen, &rc);
    if (!v)
        return rc? rc: HEARTH_ENOTFOUND;
    *buf = (uint8_t *) malloc (vlen? vlen: 1);
    if (*buf) {
        memcpy (*buf, v, vlen);
        *len = vlen;
    }
    rocksdb_free (v);
    return *buf? 0: HEARTH_ENOMEM;
}

int
eventlog_snapshot_manifest_put (eventlog_t *self, const char *name, const uint8_t *buf, size_t len)
{
    if (!name || !*name || strlen (name) > EVENTLOG_VIEW_NAME_MAX)
        return HEARTH_EINVAL;
    char key [S_VIEW_KEY_SIZE];
    snprintf (key, sizeof key, EVENTLOG_META_VIEW "%s", name);
    return eventlog_write_one (self, EVENTLOG_CF_META, key, strlen (key), buf, len);
}
