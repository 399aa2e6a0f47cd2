/*  eventlog_store.c — the event log's RocksDB: the column families and
    their tuning, open (with the write-ahead log policy of
    eventlog_open_with) and close, and the small RocksDB helpers every part
    of the log uses: keys, gets, synced writes with the disk-full tracking
    and the synced-seq mark, and the batch entries of an event.

    Invariants:
      - One WriteBatch carries an event, every index entry of it and the
        meta clock/seq/counts (eventlog_batch_event + eventlog_batch_meta):
        the store never holds an event without its indexes or counters.
      - A synced write that returned has everything before it on the disk
        (one sequential WAL); only then does the synced-seq mark move.
      - The log is opened as a new database only where none was (dbdir.h).
*/
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <rocksdb/c.h>
#include <sodium.h>
#include "dbdir.h"
#include "eventlog_private.h"
#include "hearth_error.h"
#include "hearth_fs.h"
#include "hearth_log.h"

#define S_LOG "eventlog"

/* ---- storage layout ------------------------------------------------------ */

static const char *s_cf_names [EVENTLOG_CF_COUNT] = {
    "default", "events", "order", "seq", "ids", "clients", "meta", "snapshots"
};

/*  RocksDB tuning. The figures that chose each value are in
    docs/performance.md, "The event log's constants: the figures behind
    them" (bench_ingest, gossip_bench join).
    - SST bloom filters at ~10 bits/key (~1% false positives) make the "not
      stored yet" lookups of dedup cheap. Only the CFs read by key get them
      (events, ids, clients, meta): order and seq are only scanned from a
      seek, which a whole-key filter never serves, so their filters would
      be table-reader memory for nothing.
    - The CFs keyed by random-looking bytes (events by hash, ids by ULID,
      clients by author + client id) use a hash memtable on a key prefix
      (the whole key for events and clients, the ULID for ids): a skiplist
      insert of a random key into a large memtable is mostly cache misses,
      a hash bucket a fraction of that, and point lookups become O(1)
      without a memtable bloom. Buckets hold ~1 entry, so RocksDB's
      hash-linked-list rep (which turns a bucket into a skiplist past 256
      entries) is the cheaper of the two hash reps. order and seq are
      appended in nearly ascending key order, where the plain skiplist is
      cheapest.
    - Memory: each CF has its own memtable size, sized by what it stores
      per event, at most 2 per CF (one filling, one being flushed): events
      (~390 B of key + wire event per event) 4 MiB, every other CF 1 MiB
      (40-90 B per event). Worst case (4 + 6 x 1) x 2 = 20 MiB, ~10 MiB
      most of the time. There is no shared budget (db_write_buffer_size):
      past it RocksDB flushes the CF with the oldest memtable, which in a
      bulk write is each CF in turn, so the ~1 KiB meta memtable was
      flushed as often as the events one, and every flush is an L0 file
      that adds compaction work. RocksDB's defaults (64 MiB per memtable,
      2 per CF) let an empty node joining a large community grow by
      hundreds of MiB. The price: a large single-node ingest flushes
      nearly all it writes within the run, so a one-core node ingests
      somewhat slower.
    - Smaller memtables mean more, smaller L0 files; with RocksDB's L0
      trigger of 4, each L0->L1 compaction of a random-key CF rewrites all
      of L1 (every file overlaps), so the compaction CPU grows as the
      memtable shrinks. An L0 trigger of 12 lets each compaction take about
      as many bytes as before; a dedup lookup checks up to that many more
      bloom filters, each cheap. The slowdown/stop triggers sit above it.
    - Hash buckets per memtable: about one per entry the memtable holds
      (events ~10k entries per 4 MiB, ids/clients ~8k per 1 MiB); the
      bucket array (8 B each) is allocated in the memtable's arena, so
      more buckets take memtable space from the entries.
    - A 4 MiB block cache: index and filter blocks live in the table
      readers, outside it, so the cache holds data blocks, and the gets
      that reach it are by random hash, so a cache far smaller than the
      events CF rarely hits, and the OS page cache holds the SST files
      anyway. The cache is full in every join, so its size is that much of
      the peak. The reconciliation store's page reads (64 order keys,
      ~2.5 KiB) are what it serves most in a session. Index and filter
      blocks in the cache (cache_index_and_filter_blocks) without
      partitions made a large log's reads thrash: each get evicted and
      re-read whole index and filter blocks. */
#define S_BLOOM_BITS_PER_KEY     10
#define S_EVENTS_MEMTABLE_BYTES  (4u << 20)
#define S_EVENTS_HASH_BUCKETS    (1u << 14)
#define S_MEMTABLE_BYTES         (1u << 20)
#define S_HASH_BUCKETS           (1u << 13)
#define S_MEMTABLES_PER_CF       2
#define S_L0_COMPACTION_TRIGGER  12
#define S_L0_SLOWDOWN_TRIGGER    24
#define S_L0_STOP_TRIGGER        36
#define S_BLOCK_CACHE_BYTES      (4u << 20)
/*  Keep at most 3 RocksDB info LOG files. */
#define S_KEEP_LOG_FILES         3
/*  RocksDB's info LOG (db/LOG) gets its start-up header and fatal errors
    only (rocksdb::InfoLogLevel FATAL_LEVEL). The packaged librocksdb is
    built with assertions, and its LOG writer asserts on the first line
    written after a failed write (WritableFileWriter's "previous error"
    check): on a full disk the next flush, compaction or error message
    RocksDB logged aborted hearthd. Our own log says what went wrong. */
#define S_ROCKSDB_LOG_LEVEL      4

/* ---- small helpers ------------------------------------------------------- */

/*  The client_id of a market event, or NULL if none. */
const char *
eventlog_client_id (const event_t *ev)
{
    const Hearth__Event *e = event_body (ev);
    const char *id = NULL;
    switch (e->payload_case) {
        case HEARTH__EVENT__PAYLOAD_MARKET_POST_CREATED: id = e->market_post_created->client_id; break;
        case HEARTH__EVENT__PAYLOAD_MARKET_POST_UPDATED: id = e->market_post_updated->client_id; break;
        case HEARTH__EVENT__PAYLOAD_MARKET_POST_EXPIRED: id = e->market_post_expired->client_id; break;
        default: break;
    }
    return id && *id? id: NULL;
}

size_t
eventlog_ids_key (const event_t *ev, uint8_t key [EVENTLOG_IDS_KEY_LEN])
{
    memcpy (key, event_id (ev), ULID_LEN);
    memcpy (key + ULID_LEN, event_author (ev), HEARTH_KEY_BYTES);
    return EVENTLOG_IDS_KEY_LEN;
}

/*  author || client_id; 0 if the client id is over the cap (never stored). */
size_t
eventlog_client_key (const uint8_t *author, const char *client_id, uint8_t key [EVENTLOG_CLIENT_KEY_MAX])
{
    size_t n = strlen (client_id);
    if (n > EVENT_MAX_CLIENT_ID_BYTES)
        return 0;
    memcpy (key, author, HEARTH_KEY_BYTES);
    memcpy (key + HEARTH_KEY_BYTES, client_id, n);
    return HEARTH_KEY_BYTES + n;
}

/*  1 if key exists in cf. A read error counts as "absent": the write that
    follows reports the broken store. Thread-safe. */
int
eventlog_exists (eventlog_t *self, int cf, const uint8_t *key, size_t len)
{
    char *err = NULL;
    rocksdb_pinnableslice_t *v = rocksdb_get_pinned_cf (self->db, self->read_options, self->cf [cf],
                                                        (const char *) key, len, &err);
    if (err) {
        rocksdb_free (err);
        return 0;
    }
    int found = v != NULL;
    rocksdb_pinnableslice_destroy (v);
    return found;
}

/*  Look up an ids key: 0 absent, 1 stored with this hash, 2 stored with
    another hash. A read error counts as absent (see eventlog_exists). Thread-safe. */
int
eventlog_stored_hash (eventlog_t *self, const uint8_t *ikey, size_t len, const uint8_t *hash)
{
    char *err = NULL;
    rocksdb_pinnableslice_t *v = rocksdb_get_pinned_cf (self->db, self->read_options, self->cf [EVENTLOG_CF_IDS],
                                                        (const char *) ikey, len, &err);
    if (err) {
        rocksdb_free (err);
        return 0;
    }
    if (!v)
        return 0;
    size_t vlen;
    const char *value = rocksdb_pinnableslice_value (v, &vlen);
    int rc = vlen == HEARTH_HASH_BYTES && memcmp (value, hash, HEARTH_HASH_BYTES) == 0? 1: 2;
    rocksdb_pinnableslice_destroy (v);
    return rc;
}

/*  Copy of a value (malloc'd) or NULL if absent/error; *err set on error. */
int
eventlog_iter_close (rocksdb_iterator_t *it, const char *what, int rc)
{
    char *err = NULL;
    rocksdb_iter_get_error (it, &err);
    rocksdb_iter_destroy (it);
    if (err) {
        if (what)
            hlog_error (S_LOG, "%s: %s", what, err);
        rc = hearth_error_from_storage (err);
        rocksdb_free (err);
    }
    return rc;
}

uint8_t *
eventlog_get (eventlog_t *self, int cf, const void *key, size_t klen, size_t *vlen, int *rc)
{
    char *err = NULL;
    *rc = 0;
    char *v = rocksdb_get_cf (self->db, self->read_options, self->cf [cf], (const char *) key, klen,
                              vlen, &err);
    if (err) {
        hlog_error (S_LOG, "read failed: %s", err);
        *rc = hearth_error_from_storage (err);
        rocksdb_free (err);
        return NULL;
    }
    return (uint8_t *) v;
}

static int
s_get_u64 (eventlog_t *self, const char *name, uint64_t *out)
{
    size_t len;
    int rc;
    uint8_t *v = eventlog_get (self, EVENTLOG_CF_META, name, strlen (name), &len, &rc);
    if (rc)
        return rc;
    *out = 0;
    if (v && len != 8) {
        rocksdb_free (v);
        return HEARTH_ECORRUPT;
    }
    if (v)
        *out = eventlog_get_be64 (v);
    rocksdb_free (v);
    return 0;
}

static int
s_write_with (eventlog_t *self, rocksdb_writeoptions_t *options, rocksdb_writebatch_t *batch)
{
    char *err = NULL;
    rocksdb_write (self->db, options, batch, &err);
    if (err) {
        hlog_error (S_LOG, "write to %s failed: %s", self->db_dir, err);
        int code = hearth_error_from_storage (err);
        rocksdb_free (err);
        return code;
    }
    return 0;
}

/*  eventlog_writer_fn: a received batch, unsynced (eventlog.h, "Durability"). */
static int
s_write_received (void *arg, rocksdb_writebatch_t *batch)
{
    eventlog_t *self = (eventlog_t *) arg;
    return s_write_with (self, self->write_received, batch);
}

/*  Record that every arrival up to seq is on the disk (dbdir.h, the
    synced-seq mark). Called only after a synced write returned. A failed
    write is logged once: the mark is a check, not data. */
void
eventlog_mark_synced (eventlog_t *self, uint64_t seq)
{
    if (self->mark_fd < 0 || seq == self->mark_seq)
        return;
    if (dbdir_mark_write (self->mark_fd, seq) == 0)
        self->mark_seq = seq;
    else
    if (!self->mark_failed) {
        self->mark_failed = 1;
        hlog_warn (S_LOG, "cannot update %s/" DBDIR_MARK_FILE ": %s (write-ahead log damage may go "
                   "undetected at the next start)", self->db_dir, strerror (errno));
    }
}

/*  Track the disk-full state from a write's result (caller's thread only):
    a HEARTH_ENOSPC starts an episode, the next success ends it. Returns rc. */
int
eventlog_note_write (eventlog_t *self, int rc)
{
    if (rc && !self->no_ingest) {
        self->no_ingest = 1;
        hlog_warn (S_LOG, "a write failed: view snapshots of this run are written through the "
                   "write-ahead log instead of an SST ingest");
    }
    if (rc == HEARTH_ENOSPC && !self->disk_full) {
        self->disk_full = 1;
        self->stats.disk_full_episodes++;
        hlog_error (S_LOG, "disk full under %s: new events are refused and view snapshots put off "
                    "until space is freed; reads and sync to peers go on", self->db_dir);
    }
    else
    if (rc == 0 && self->disk_full) {
        self->disk_full = 0;
        /*  RocksDB has just resumed: the first backoff step before a
            snapshot asks more of it. */
        self->snap_failures = 0;
        eventlog_snapshot_put_off (self);
        hlog_info (S_LOG, "disk space is back under %s: writes accepted again", self->db_dir);
    }
    self->stats.disk_full = (uint64_t) self->disk_full;
    return rc;
}

/*  A synced write: returns once the batch (and, the WAL being one
    sequential file, every write before it) is on the disk. */
int
eventlog_write (eventlog_t *self, rocksdb_writebatch_t *batch)
{
    int rc = eventlog_note_write (self, s_write_with (self, self->write_sync, batch));
    if (rc == 0)
        eventlog_mark_synced (self, self->seq);
    return rc;
}

/* ---- named values of the node (eventlog.h, eventlog_meta_put) ------------- */

/*  The meta key of a listed name into key (capacity cap): 0 or HEARTH_EINVAL. */
static int
s_meta_key (const char *name, char *key, size_t cap)
{
    if (!name || strcmp (name, EVENTLOG_META_NAME_PEERS) != 0)
        return HEARTH_EINVAL;
    snprintf (key, cap, EVENTLOG_META_NODE "%s", name);
    return 0;
}

int
eventlog_meta_get (eventlog_t *self, const char *name, uint8_t **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    char key [64];
    int rc = s_meta_key (name, key, sizeof key);
    if (rc)
        return rc;
    size_t vlen;
    uint8_t *v = eventlog_get (self, EVENTLOG_CF_META, key, strlen (key), &vlen, &rc);
    if (!v)
        return rc? rc: HEARTH_ENOTFOUND;
    if (vlen > EVENTLOG_META_VALUE_MAX) {
        rocksdb_free (v);
        return HEARTH_ECORRUPT;
    }
    *buf = (uint8_t *) malloc (vlen? vlen: 1);
    if (*buf) {
        memcpy (*buf, v, vlen);
        *len = vlen;
    }
    rocksdb_free (v);
    return *buf? 0: HEARTH_ENOMEM;
}

int
eventlog_write_one (eventlog_t *self, int cf, const void *key, size_t klen, const uint8_t *buf, size_t len)
{
    rocksdb_writebatch_t *batch = rocksdb_writebatch_create ();
    if (buf)
        rocksdb_writebatch_put_cf (batch, self->cf [cf], (const char *) key, klen, (const char *) buf, len);
    else
        rocksdb_writebatch_delete_cf (batch, self->cf [cf], (const char *) key, klen);
    int rc = eventlog_write (self, batch);
    rocksdb_writebatch_destroy (batch);
    return rc;
}

int
eventlog_meta_put (eventlog_t *self, const char *name, const uint8_t *buf, size_t len)
{
    char key [64];
    int rc = s_meta_key (name, key, sizeof key);
    if (rc)
        return rc;
    if (len > EVENTLOG_META_VALUE_MAX || (!buf && len))
        return HEARTH_ETOOBIG;
    return eventlog_write_one (self, EVENTLOG_CF_META, key, strlen (key),
                               buf? buf: (const uint8_t *) "", len);
}

/* ---- batch building -------------------------------------------------------- */

/*  Event + order/seq/ids index (+ clients for market events with a
    client_id, as a keep-first merge) into batch. */
void
eventlog_batch_event (eventlog_t *self, rocksdb_writebatch_t *batch, const event_t *ev, uint64_t seq)
{
    size_t wire_len;
    const uint8_t *wire = event_wire (ev, &wire_len);
    const uint8_t *hash = event_hash (ev);
    rocksdb_writebatch_put_cf (batch, self->cf [EVENTLOG_CF_EVENTS], (const char *) hash, HEARTH_HASH_BYTES,
                               (const char *) wire, wire_len);
    uint8_t okey [EVENTLOG_ORDER_KEY_LEN];
    eventlog_put_be64 (okey, event_lamport (ev));
    memcpy (okey + 8, hash, HEARTH_HASH_BYTES);
    rocksdb_writebatch_put_cf (batch, self->cf [EVENTLOG_CF_ORDER], (const char *) okey, sizeof okey, "", 0);
    uint8_t skey [8];
    eventlog_put_be64 (skey, seq);
    rocksdb_writebatch_put_cf (batch, self->cf [EVENTLOG_CF_SEQ], (const char *) skey, 8,
                               (const char *) hash, HEARTH_HASH_BYTES);
    uint8_t ikey [EVENTLOG_IDS_KEY_LEN];
    eventlog_ids_key (ev, ikey);
    rocksdb_writebatch_put_cf (batch, self->cf [EVENTLOG_CF_IDS], (const char *) ikey, sizeof ikey,
                               (const char *) hash, HEARTH_HASH_BYTES);
    const char *client = eventlog_client_id (ev);
    uint8_t ckey [EVENTLOG_CLIENT_KEY_MAX];
    size_t clen = client? eventlog_client_key (event_author (ev), client, ckey): 0;
    if (clen)
        rocksdb_writebatch_merge_cf (batch, self->cf [EVENTLOG_CF_CLIENTS], (const char *) ckey, clen,
                                     event_id (ev), ULID_LEN);
}

/*  clock, seq and per-type counts into batch. */
void
eventlog_batch_meta (eventlog_t *self, rocksdb_writebatch_t *batch, uint64_t clock, uint64_t seq,
              const uint64_t counts [EVENT_TYPE_COUNT])
{
    uint8_t v [8 * EVENT_TYPE_COUNT];
    eventlog_put_be64 (v, clock);
    rocksdb_writebatch_put_cf (batch, self->cf [EVENTLOG_CF_META], EVENTLOG_META_CLOCK, strlen (EVENTLOG_META_CLOCK),
                               (const char *) v, 8);
    eventlog_put_be64 (v, seq);
    rocksdb_writebatch_put_cf (batch, self->cf [EVENTLOG_CF_META], EVENTLOG_META_SEQ, strlen (EVENTLOG_META_SEQ),
                               (const char *) v, 8);
    for (int t = 0; t < EVENT_TYPE_COUNT; t++)
        eventlog_put_be64 (v + 8 * t, counts [t]);
    rocksdb_writebatch_put_cf (batch, self->cf [EVENTLOG_CF_META], EVENTLOG_META_COUNTS, strlen (EVENTLOG_META_COUNTS),
                               (const char *) v, sizeof v);
}

/* ---- open / close ------------------------------------------------------------ */

/*  The clients index keeps the first event_id written for a key: writes
    are RocksDB merges with this "keep first" operator, so neither the
    local nor the receive path reads before writing, and the first
    (author, client_id) in arrival order wins on every node and restart.
    Operands come oldest first (RocksDB's contract). */
static char *
s_keep_first (const char *existing, size_t existing_len, const char *const *ops, const size_t *op_lens,
              int n_ops, unsigned char *success, size_t *new_len)
{
    const char *v = existing? existing: n_ops > 0? ops [0]: "";
    size_t len = existing? existing_len: n_ops > 0? op_lens [0]: 0;
    char *out = (char *) malloc (len? len: 1);
    *success = out != NULL;
    if (out)
        memcpy (out, v, len);
    *new_len = len;
    return out;
}

static char *
s_keep_first_full (void *state, const char *key, size_t key_len, const char *existing, size_t existing_len,
                   const char *const *ops, const size_t *op_lens, int n_ops, unsigned char *success,
                   size_t *new_len)
{
    (void) state;
    (void) key;
    (void) key_len;
    return s_keep_first (existing, existing_len, ops, op_lens, n_ops, success, new_len);
}

static char *
s_keep_first_partial (void *state, const char *key, size_t key_len, const char *const *ops,
                      const size_t *op_lens, int n_ops, unsigned char *success, size_t *new_len)
{
    (void) state;
    (void) key;
    (void) key_len;
    return s_keep_first (NULL, 0, ops, op_lens, n_ops, success, new_len);
}

static void
s_merge_free (void *state, const char *value, size_t len)
{
    (void) state;
    (void) len;
    free ((void *) value);
}

static void
s_merge_destroy (void *state)
{
    (void) state;
}

static const char *
s_merge_name (void *state)
{
    (void) state;
    return "hearth.keep_first";             /* stored in OPTIONS; never rename */
}

/*  RocksDB's WALRecoveryMode values (rocksdb/options.h). */
#define S_WAL_ABSOLUTE_CONSISTENCY  1
#define S_WAL_POINT_IN_TIME         2
#define S_WAL_SKIP_ANY_CORRUPTED    3

/*  The meta seq of the database in db_dir, opened read-only with
    point-in-time WAL recovery (nothing on disk changes). 0 and *seq, or
    an error (*dberr: RocksDB's text, caller frees). */
static int
s_probe_seq (eventlog_t *self, const rocksdb_options_t *const *cf_options, uint64_t *seq,
             char **dberr)
{
    rocksdb_column_family_handle_t *cf [EVENTLOG_CF_COUNT] = { NULL };
    rocksdb_options_set_wal_recovery_mode (self->options, S_WAL_POINT_IN_TIME);
    rocksdb_t *db = rocksdb_open_for_read_only_column_families (self->options, self->db_dir,
                                                                 EVENTLOG_CF_COUNT, s_cf_names, cf_options,
                                                                 cf, 0, dberr);
    if (!db)
        return hearth_error_from_storage (*dberr);
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create ();
    size_t len = 0;
    char *v = rocksdb_get_cf (db, ro, cf [EVENTLOG_CF_META], EVENTLOG_META_SEQ, strlen (EVENTLOG_META_SEQ), &len, dberr);
    int rc = *dberr? hearth_error_from_storage (*dberr): v && len != 8? HEARTH_ECORRUPT: 0;
    *seq = rc == 0 && v? eventlog_get_be64 ((const uint8_t *) v): 0;
    rocksdb_free (v);
    rocksdb_readoptions_destroy (ro);
    for (int i = 0; i < EVENTLOG_CF_COUNT; i++)
        if (cf [i])
            rocksdb_column_family_handle_destroy (cf [i]);
    rocksdb_close (db);
    return rc;
}

/*  Open an existing database read-write with WAL recovery mode `mode`:
    S_WAL_POINT_IN_TIME recovers to the last whole record before any
    damaged one, S_WAL_SKIP_ANY_CORRUPTED skips damaged records. */
static int
s_open_existing (eventlog_t *self, const rocksdb_options_t *const *cf_options, int mode,
                 char **problem)
{
    char *dberr = NULL;
    rocksdb_options_set_create_if_missing (self->options, 0);
    rocksdb_options_set_wal_recovery_mode (self->options, mode);
    self->db = rocksdb_open_column_families (self->options, self->db_dir, EVENTLOG_CF_COUNT, s_cf_names,
                                             cf_options, self->cf, &dberr);
    if (self->db)
        return 0;
    int rc = hearth_error_from_storage (dberr);
    *problem = hearth_message ("%s", dberr? dberr: "?");
    rocksdb_free (dberr);
    return rc;
}

/*  Open the RocksDB of an existing database (state DBDIR_DATABASE) or
    create one (fresh): see eventlog_open_with for the WAL policy. Sets
    self->db, *wal_lost (acknowledged arrivals lost, to be accepted by the
    caller's options) and the stats gauges; 0 or an error with *problem. */
static int
s_open_db (eventlog_t *self, const rocksdb_options_t *const *cf_options, int fresh,
           uint64_t *wal_lost, char **problem)
{
    char *dberr = NULL;
    *wal_lost = 0;
    rocksdb_options_set_create_if_missing (self->options, fresh);
    rocksdb_options_set_wal_recovery_mode (self->options, S_WAL_ABSOLUTE_CONSISTENCY);
    self->db = rocksdb_open_column_families (self->options, self->db_dir, EVENTLOG_CF_COUNT, s_cf_names,
                                             cf_options, self->cf, &dberr);
    if (self->db)
        return 0;
    int rc = hearth_error_from_storage (dberr);
    if (rc != HEARTH_ECORRUPT || fresh) {
        *problem = hearth_message ("%s", dberr? dberr: "?");
        rocksdb_free (dberr);
        return rc;
    }
    /*  A damaged WAL record (or other corruption): how far does the log
        reach without it, against what was acknowledged? */
    hlog_warn (S_LOG, "the event log %s does not open without loss: %s", self->db_dir, dberr);
    char *first = dberr;
    dberr = NULL;
    uint64_t seq = 0, mark = 0;
    rc = s_probe_seq (self, cf_options, &seq, &dberr);
    if (rc) {
        *problem = hearth_message ("%s", dberr? dberr: first);
        rocksdb_free (first);
        rocksdb_free (dberr);
        return rc;
    }
    int mark_rc = dbdir_mark_read (self->db_dir, &mark);
    if (mark_rc == 0 && seq < mark) {
        *wal_lost = mark - seq;
        *problem = hearth_message ("the write-ahead log of %s is damaged (%s): it is readable up to "
                                   "arrival %" PRIu64 " but arrivals up to %" PRIu64 " were "
                                   "acknowledged, so %" PRIu64 " acknowledged event(s) after the "
                                   "damage would be lost", self->db_dir, first, seq, mark, *wal_lost);
        rocksdb_free (first);
        return HEARTH_ECORRUPT;
    }
    /*  Only writes after the last synced one are gone: a torn tail. */
    if (mark_rc == 0)
        hlog_warn (S_LOG, "the write-ahead log of %s ends in a torn record (%s): recovering to "
                   "arrival %" PRIu64 "; every synced write (up to %" PRIu64 ") is there, received "
                   "events after it are fetched again from peers", self->db_dir, first, seq, mark);
    else
        hlog_warn (S_LOG, "the write-ahead log of %s ends in a damaged record (%s) and there is no "
                   "readable %s to tell a torn tail from lost acknowledged writes: recovering to "
                   "arrival %" PRIu64, self->db_dir, first, DBDIR_MARK_FILE, seq);
    rocksdb_free (first);
    self->stats.wal_tail_dropped = 1;
    return s_open_existing (self, cf_options, S_WAL_POINT_IN_TIME, problem);
}

eventlog_t *
eventlog_open (const char *db_dir, int *err)
{
    return eventlog_open_with (db_dir, NULL, err, NULL);
}

eventlog_t *
eventlog_open_with (const char *db_dir, const eventlog_open_options_t *options, int *err,
                    char **problem_out)
{
    int dummy;
    char *problem = NULL;
    err = err? err: &dummy;
    if (problem_out)
        *problem_out = NULL;
    *err = HEARTH_ENOMEM;
    if (sodium_init () < 0) {
        *err = HEARTH_EIO;
        return NULL;
    }
    eventlog_t *self = (eventlog_t *) calloc (1, sizeof (eventlog_t));
    if (!self)
        return NULL;
    self->mark_fd = -1;
    randombytes_buf (self->sip_key, sizeof self->sip_key);
    self->db_dir = strdup (db_dir);
    self->pool = verify_pool_new ();
    self->writer = eventlog_writer_new (s_write_received, self);
    if (!self->db_dir || !self->pool || !self->writer)
        goto fail;
    /*  A new database only where none was (dbdir.h): RocksDB would create
        one over orphaned table files and delete them at the next open. */
    dbdir_state_t state = dbdir_inspect (db_dir, &problem);
    if (state == DBDIR_DAMAGED) {
        hlog_error (S_LOG, "refusing to open the event log: %s", problem? problem: db_dir);
        *err = HEARTH_ECORRUPT;
        goto fail;
    }
    /*  mkdir -p: RocksDB creates only the last level. */
    if (hearth_mkdirs (db_dir, 0700) != 0) {
        hlog_error (S_LOG, "cannot create %s: %s", db_dir, strerror (errno));
        *err = HEARTH_EIO;
        goto fail;
    }

    self->options = rocksdb_options_create ();
    rocksdb_options_set_create_missing_column_families (self->options, 1);
    rocksdb_options_set_keep_log_file_num (self->options, S_KEEP_LOG_FILES);
    rocksdb_options_set_info_log_level (self->options, S_ROCKSDB_LOG_LEVEL);
    /*  One writer (the eventlog's thread), and the hash memtables need it. */
    rocksdb_options_set_allow_concurrent_memtable_write (self->options, 0);
    rocksdb_options_set_write_buffer_size (self->options, S_MEMTABLE_BYTES);
    rocksdb_options_set_max_write_buffer_number (self->options, S_MEMTABLES_PER_CF);
    rocksdb_options_set_level0_file_num_compaction_trigger (self->options, S_L0_COMPACTION_TRIGGER);
    rocksdb_options_set_level0_slowdown_writes_trigger (self->options, S_L0_SLOWDOWN_TRIGGER);
    rocksdb_options_set_level0_stop_writes_trigger (self->options, S_L0_STOP_TRIGGER);
    self->cache = rocksdb_cache_create_lru (S_BLOCK_CACHE_BYTES);
    /*  Scan-only CFs (order, seq): the same cache, no filter. */
    self->scan_table_options = rocksdb_block_based_options_create ();
    rocksdb_block_based_options_set_block_cache (self->scan_table_options, self->cache);
    rocksdb_options_set_block_based_table_factory (self->options, self->scan_table_options);
    self->table_options = rocksdb_block_based_options_create ();
    rocksdb_block_based_options_set_block_cache (self->table_options, self->cache);
    rocksdb_block_based_options_set_filter_policy (self->table_options,
        rocksdb_filterpolicy_create_bloom_full (S_BLOOM_BITS_PER_KEY));
    const rocksdb_options_t *cf_options [EVENTLOG_CF_COUNT];
    for (int i = 0; i < EVENTLOG_CF_COUNT; i++) {
        if (i == EVENTLOG_CF_ORDER || i == EVENTLOG_CF_SEQ || i == EVENTLOG_CF_SNAPSHOTS) {
            cf_options [i] = self->options;
            continue;
        }
        self->cf_options [i] = rocksdb_options_create_copy (self->options);
        rocksdb_options_set_block_based_table_factory (self->cf_options [i], self->table_options);
        /*  Hash the whole key for events and clients (point lookups only);
            ids hashes the ULID so get_by_id can seek by it. */
        size_t prefix = i == EVENTLOG_CF_EVENTS? HEARTH_HASH_BYTES: i == EVENTLOG_CF_IDS? ULID_LEN
                      : i == EVENTLOG_CF_CLIENTS? EVENTLOG_CLIENT_KEY_MAX: 0;
        if (prefix) {
            rocksdb_options_set_prefix_extractor (self->cf_options [i], i == EVENTLOG_CF_IDS
                ? rocksdb_slicetransform_create_fixed_prefix (prefix)
                : rocksdb_slicetransform_create_noop ());
            rocksdb_options_set_hash_link_list_rep (self->cf_options [i],
                i == EVENTLOG_CF_EVENTS? S_EVENTS_HASH_BUCKETS: S_HASH_BUCKETS);
        }
        if (i == EVENTLOG_CF_EVENTS)
            rocksdb_options_set_write_buffer_size (self->cf_options [i], S_EVENTS_MEMTABLE_BYTES);
        if (i == EVENTLOG_CF_CLIENTS)
            rocksdb_options_set_merge_operator (self->cf_options [i],
                rocksdb_mergeoperator_create (NULL, s_merge_destroy, s_keep_first_full,
                                              s_keep_first_partial, s_merge_free, s_merge_name));
        cf_options [i] = self->cf_options [i];
    }
    uint64_t wal_lost = 0;
    int rc = options && options->salvage && state == DBDIR_DATABASE
           ? s_open_existing (self, cf_options, S_WAL_SKIP_ANY_CORRUPTED, &problem)
           : s_open_db (self, cf_options, state == DBDIR_EMPTY, &wal_lost, &problem);
    if (rc == HEARTH_ECORRUPT && wal_lost && options && options->recover_wal) {
        hlog_error (S_LOG, "%s; recovering to the last whole record before the damage as asked "
                    "(the mesh fetches again what peers have)", problem);
        free (problem);
        problem = NULL;
        rc = s_open_existing (self, cf_options, S_WAL_POINT_IN_TIME, &problem);
        self->stats.wal_damaged = 1;
        self->stats.wal_events_lost = wal_lost;
    }
    if (rc) {
        *err = rc;
        if (*err == HEARTH_ELOCKED)
            hlog_error (S_LOG, "the event log %s is in use by another process (is hearthd already "
                        "running on this data directory?): %s", db_dir, problem? problem: "?");
        else
            hlog_error (S_LOG, "cannot open the event log %s: %s", db_dir, problem? problem: "?");
        goto fail;
    }
    self->read_options = rocksdb_readoptions_create ();
    /*  Whole-log scans (view replay, scan, scan_order at start) read each
        block once: caching them would only evict the hot index and filter
        blocks and grow the cache to its cap (docs/performance.md, "The
        event log's constants"). */
    self->scan_options = rocksdb_readoptions_create ();
    rocksdb_readoptions_set_fill_cache (self->scan_options, 0);
    self->write_sync = rocksdb_writeoptions_create ();
    rocksdb_writeoptions_set_sync (self->write_sync, 1);
    /*  Received batches: WAL appended with write(2), no fsync (eventlog.h,
        "Durability"). */
    self->write_received = rocksdb_writeoptions_create ();
    rocksdb_writeoptions_set_sync (self->write_received, 0);
    self->env_options = rocksdb_envoptions_create ();
    self->ingest_options = rocksdb_ingestexternalfileoptions_create ();
    rocksdb_ingestexternalfileoptions_set_move_files (self->ingest_options, 1);
    self->snap_chunk_bytes = EVENTLOG_SNAPSHOT_CHUNK_BYTES;
    self->batch = rocksdb_writebatch_create ();

    /*  Restore clock, seq, counters and the community. */
    rc = s_get_u64 (self, EVENTLOG_META_CLOCK, &self->clock);
    if (rc == 0)
        rc = s_get_u64 (self, EVENTLOG_META_SEQ, &self->seq);
    size_t len;
    uint8_t *v = rc? NULL: eventlog_get (self, EVENTLOG_CF_META, EVENTLOG_META_COUNTS, strlen (EVENTLOG_META_COUNTS), &len, &rc);
    if (v) {
        if (len == 8 * EVENT_TYPE_COUNT)
            for (int t = 0; t < EVENT_TYPE_COUNT; t++) {
                self->stats.events_by_type [t] = eventlog_get_be64 (v + 8 * t);
                self->stats.events_total += self->stats.events_by_type [t];
            }
        else
            rc = HEARTH_ECORRUPT;
        rocksdb_free (v);
    }
    v = rc? NULL: eventlog_get (self, EVENTLOG_CF_META, EVENTLOG_META_COMMUNITY, strlen (EVENTLOG_META_COMMUNITY), &len, &rc);
    if (v) {
        if (len == HEARTH_KEY_BYTES) {
            memcpy (self->community, v, HEARTH_KEY_BYTES);
            self->has_community = 1;
        }
        else
            rc = HEARTH_ECORRUPT;
        rocksdb_free (v);
    }
    if (rc) {
        hlog_error (S_LOG, "the event log %s has unreadable metadata: %s", db_dir, hearth_strerror (rc));
        problem = hearth_message ("the event log %s has unreadable metadata: %s", db_dir,
                                  hearth_strerror (rc));
        *err = rc;
        goto fail;
    }
    self->stats.lamport_head = self->clock;
    self->stats.seq = self->seq;
    /*  The synced-seq mark starts at what is on the disk now: the WAL
        synced first, so it never claims more than the disk holds. */
    self->mark_fd = dbdir_mark_open (db_dir);
    if (self->mark_fd < 0)
        hlog_warn (S_LOG, "cannot open %s/" DBDIR_MARK_FILE ": %s (write-ahead log damage may go "
                   "undetected)", db_dir, strerror (errno));
    else {
        char *dberr = NULL;
        rocksdb_flush_wal (self->db, 1, &dberr);
        if (dberr) {
            hlog_warn (S_LOG, "cannot sync the write-ahead log of %s: %s", db_dir, dberr);
            rocksdb_free (dberr);
            close (self->mark_fd);
            self->mark_fd = -1;
        }
        else {
            self->mark_seq = UINT64_MAX;        /* force the first write */
            eventlog_mark_synced (self, self->seq);
        }
    }
    /*  A snapshot file a crash left half written (never ingested). */
    char *tmp = NULL;
    if (asprintf (&tmp, "%s/" EVENTLOG_SNAPSHOT_TMP, db_dir) >= 0) {
        unlink (tmp);
        free (tmp);
    }
    self->members = membership_new (self->community);
    if (!self->members)
        goto fail;
    rc = eventlog_drop_lamport_zero (self);
    if (rc == 0)
        rc = eventlog_membership_load (self);
    if (rc) {
        *err = rc;
        goto fail;
    }
    self->ready = 1;
    *err = 0;
    free (problem);
    return self;
fail:
    if (problem_out)
        *problem_out = problem;
    else
        free (problem);
    eventlog_destroy (&self);
    return NULL;
}

void
eventlog_destroy (eventlog_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    eventlog_t *self = *self_p;
    verify_pool_destroy (&self->pool);
    if (self->ready && self->has_community) {
        int rc = eventlog_snapshot_all (self);
        if (rc)
            hlog_warn (S_LOG, "final snapshot failed: %s", hearth_strerror (rc));
    }
    eventlog_writer_destroy (&self->writer);
    eventlog_chunks_destroy (self);
    if (self->batch)
        rocksdb_writebatch_destroy (self->batch);
    for (int i = 0; i < EVENTLOG_CF_COUNT; i++)
        if (self->cf [i])
            rocksdb_column_family_handle_destroy (self->cf [i]);
    if (self->db)
        rocksdb_close (self->db);
    if (self->read_options)
        rocksdb_readoptions_destroy (self->read_options);
    if (self->scan_options)
        rocksdb_readoptions_destroy (self->scan_options);
    if (self->write_sync)
        rocksdb_writeoptions_destroy (self->write_sync);
    if (self->write_received)
        rocksdb_writeoptions_destroy (self->write_received);
    if (self->env_options)
        rocksdb_envoptions_destroy (self->env_options);
    if (self->ingest_options)
        rocksdb_ingestexternalfileoptions_destroy (self->ingest_options);
    if (self->options)
        rocksdb_options_destroy (self->options);
    for (int i = 0; i < EVENTLOG_CF_COUNT; i++)
        if (self->cf_options [i])
            rocksdb_options_destroy (self->cf_options [i]);
    if (self->table_options)
        rocksdb_block_based_options_destroy (self->table_options);
    if (self->scan_table_options)
        rocksdb_block_based_options_destroy (self->scan_table_options);
    if (self->cache)
        rocksdb_cache_destroy (self->cache);
    membership_destroy (&self->members);
    if (self->mark_fd >= 0)
        close (self->mark_fd);
    free (self->db_dir);
    free (self);
    *self_p = NULL;
}
