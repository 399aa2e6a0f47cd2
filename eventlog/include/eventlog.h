/*  eventlog.h — the signed, Lamport-ordered event log on RocksDB; the only
    mutator of Hearth's state (docs/architecture.md §5-7).

    Storage (RocksDB column families under DB_DIR):
      events  : hash(32)                   -> SignedEvent wire bytes
      order   : lamport(8 BE) || hash(32)  -> ""        (sync/replay order)
      seq     : seq(8 BE)                  -> hash      (local arrival order)
      ids     : event_id(26) || author(32) -> hash      ((author,event_id) uniqueness, get by id)
      clients : author(32) || client_id    -> event_id  (market idempotency;
                written as a "keep first" merge, so the first event to use a
                client id keeps it, on every node and across restarts)
      meta    : "clock", "seq", "community", "counts" (events per type),
                "membership" (snapshot), "view/<name>" (a view
                snapshot's manifest) and "node/<name>" (a named value of
                the node's, eventlog_meta_put) -> values
      snapshots: name || 0 || generation(8 BE) || index(4 BE) -> chunk
                (view snapshot chunks, see "Snapshots")
    One append = one WriteBatch with the event, every index, the clock and
    the seq counter: a crash keeps all of it or none.

    Durability. Local appends (and joins, snapshots, meta) are written with
    sync=true before they are acknowledged. Received batches (eventlog_ingest)
    are one WriteBatch each written with sync=false: the WAL record goes to
    the OS page cache with write(2) and no fsync. Why that is safe:
    - a received event is already durable on its author's node, which
      acknowledged it only after a synced write;
    - the page cache survives a crash of this process (SIGKILL, abort): only
      a power loss or kernel crash can drop the unsynced tail of the WAL;
    - the WAL is one sequential file and RocksDB recovers a prefix of it
      (point-in-time), so a loss drops a suffix of whole batches: never part
      of a batch, never an event whose index or clock survived, and never
      anything written before a later synced write (a local append or a
      snapshot syncs the whole WAL up to it); a WAL that lost more than
      that (synced writes: damage, not a crash) is refused at open, see
      eventlog_open_with and the synced-seq mark in dbdir.h;
    - anti-entropy reconciles on every (re)connect, so a node that lost a
      tail fetches it again from its peers.
    What it buys: a received event is applied and forwarded only once its
    batch is written, so with sync an fsync sat on every hop of eager push,
    and on a loaded disk it was most of the push latency
    (docs/performance.md, "Received batches without fsync";
    docs/decisions/0013-received-events-without-fsync.md).

    Views snapshot with the local arrival *seq* they cover, not an order-index
    position: received events can carry lamports below the snapshot's, so a
    lamport position would skip them on restart
    (docs/decisions/0006-snapshots-cover-arrival-seq.md). Views are
    order-insensitive, so replaying
    the tail in arrival order gives the same state.

    Snapshots. A view snapshot is a stream of records the view emits
    (eventlog_view_t). The log groups them into chunks of at most
    EVENTLOG_SNAPSHOT_CHUNK_BYTES under a new generation, streams them
    into one SST file (RocksDB's SstFileWriter, synced) and ingests it into
    the snapshots column family, and only then writes the manifests:
    ViewSnapshot {covers_seq, generation, n_chunks, total_bytes, BLAKE2b-256
    of the record stream} in meta "view/<name>", with the membership
    snapshot, in one synced batch, so all of them cover the same seq. The
    previous generation's file is dropped after that batch; chunks of any
    other generation than the manifest's (a crash before the manifest, or
    before the delete) are deleted when the views load. So a snapshot
    costs a chunk buffer and the file writer's block, never a WriteBatch,
    WAL record or memtable of the view (one value of a large view cost
    hundreds of MiB at a join's peak and at a restart: docs/performance.md,
    "View snapshot chunks in an ingested SST"), and it lands in the bottom
    level, where no compaction rewrites it. A manifest from before chunks (a `state` field and no generation) still
    restores, as a single chunk. A restore checks the chunks against the
    manifest (count, bytes, hash) and the view checks every record; any
    mismatch, gap or undecodable chunk resets the view and replays it from
    the whole log, as an unreadable snapshot always did.

    Disk full. A write that fails for a full disk (ENOSPC, EDQUOT) returns
    HEARTH_ENOSPC (wire code capacity_exceeded, "disk full") and starts a
    disk-full episode (stats: disk_full, disk_full_episodes): RocksDB
    stops writing (a background error) and every later write is refused
    at once with the same error, while reads, scans and sync to peers go
    on from what is stored. Nothing acknowledged is lost: an append is
    acknowledged only after its synced write succeeded. RocksDB's own
    recovery (its SstFileManager checks the free space every 5 s and
    resumes once the largest memtable, 4 MiB, fits) ends the episode
    without a restart; the next write that succeeds clears it. View
    snapshots are skipped while the disk is full and retried with a
    backoff (EVENTLOG_SNAPSHOT_RETRY_MIN_MS doubling to _MAX_MS, counted in
    snapshots_skipped), also for a while after the disk came back: a
    snapshot is an SST file ingest, and the packaged RocksDB asserted in
    its ingest (TableFileName: file number 0) when one came right after
    it resumed from the error.

    Threading: an eventlog_t belongs to one thread (the node's main actor).
    eventlog_ingest() fans signature checks out to its verify workers and
    returns when the batch is stored and applied.
*/
#ifndef HEARTH_EVENTLOG_H
#define HEARTH_EVENTLOG_H

#include <stddef.h>
#include <stdint.h>
#include "event.h"
#include "identity.h"
#include "membership.h"
#include "ulid.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  Events per RocksDB write batch in eventlog_ingest. */
#define EVENTLOG_INGEST_BATCH     256
/*  Verify worker threads at most (the caller's thread counts as one). */
#define EVENTLOG_MAX_VERIFY_THREADS 16
/*  Views registered at most. */
#define EVENTLOG_MAX_VIEWS        8
/*  Accepted events between automatic view snapshots at least: bounds the
    replay after a crash of a small log. */
#define EVENTLOG_SNAPSHOT_EVERY   10000
/*  ...and at least 1 / EVENTLOG_SNAPSHOT_TAIL of the log. A snapshot
    serializes a whole view (the market view: ~270 B per post), so one
    every 10,000 events made an empty node's join of a large community
    quadratic (docs/performance.md, "Snapshots every quarter of the log";
    docs/decisions/0018-snapshots-every-quarter-of-the-log.md).
    With a quarter of the log, snapshots come at log sizes growing by
    4/3: all of them together cost ~4 final snapshots, and a restart
    replays at most a quarter of the log. */
#define EVENTLOG_SNAPSHOT_TAIL    4

/*  True when a log of events_total events, since_snapshot of them accepted
    after the last view snapshot, is due for the next one: since_snapshot
    >= max (EVENTLOG_SNAPSHOT_EVERY, events_total / EVENTLOG_SNAPSHOT_TAIL).
    Pure. */
int eventlog_snapshot_due (uint64_t events_total, uint64_t since_snapshot);

/*  After a view snapshot failed for a full disk (or the disk just came
    back), the next is tried no sooner than this: 1 s, doubling per
    failure in a row up to 60 s. Short enough that a node whose disk was
    freed snapshots again within a minute; long enough that a full disk
    does not cost a whole snapshot's work per accepted event. */
#define EVENTLOG_SNAPSHOT_RETRY_MIN_MS  1000
#define EVENTLOG_SNAPSHOT_RETRY_MAX_MS  60000

/*  Delay before the next snapshot attempt after `failures` (>= 1) in a
    row: EVENTLOG_SNAPSHOT_RETRY_MIN_MS * 2^(failures-1), capped at
    EVENTLOG_SNAPSHOT_RETRY_MAX_MS. Pure. */
uint64_t eventlog_snapshot_backoff_ms (uint32_t failures);

typedef struct _eventlog_t eventlog_t;

/*  View snapshots are streams of records (see "Snapshots" above). A
    record is at most EVENTLOG_SNAPSHOT_RECORD_MAX bytes: one market post
    with every update and claim it may hold is under 0.6 MB
    (market_view.c), so 1 MiB leaves room and keeps a record inside one
    chunk. */
#define EVENTLOG_SNAPSHOT_RECORD_MAX  (1u << 20)
/*  Records are grouped into stored chunks of at most this many bytes
    (or one record, if the chunk size was lowered below it for a test).
    ~1 MiB: large enough that the per-chunk costs (a key, a RocksDB put, an
    iterator step, one unpack call) vanish next to the bytes (~270 chunks
    for 1M market posts), small enough that the chunk being filled (and
    the SST writer's block, which holds one chunk), the one being read and
    its decoded form at restore are a few MiB. */
#define EVENTLOG_SNAPSHOT_CHUNK_BYTES (1u << 20)

/*  Receives one snapshot record (borrowed for the call: copy what you
    keep). Returns 0, or an error that stops the snapshot. */
typedef int (eventlog_record_fn) (void *arg, const uint8_t *rec, size_t len);

/*  A view fed by the replay engine. The eventlog borrows ctx and the
    callbacks until eventlog_destroy. `types` is a bitmask of
    (1u << HEARTH__EVENT_TYPE__X). apply must be order-insensitive: the same
    event set in any order gives the same state.

    Snapshot and restore stream records, so neither side ever holds the
    whole serialised view: snapshot emits the state as records in order
    (each at most EVENTLOG_SNAPSHOT_RECORD_MAX bytes); the log stores them
    in chunks, each the concatenation of one or more whole records in
    emit order, and restores by restore_begin, restore_chunk per chunk in
    order, restore_end. A view should design its records so that every
    such concatenation decodes on its own. The state must not change
    between begin and end (the log calls nothing else meanwhile). */
typedef struct {
    const char *name;                 /* stable key for its snapshot, e.g. "market" */
    uint32_t    types;
    void       *ctx;
    /*  Fold one accepted event. Errors are logged and counted, never fatal. */
    int  (*apply)    (void *ctx, const event_t *ev);
    /*  Emit the whole state as records through emit(emit_arg, ...), in
        order; stop and return emit's error if it fails. 0 or an error
        (the log then keeps the view's previous snapshot). */
    int  (*snapshot) (void *ctx, eventlog_record_fn *emit, void *emit_arg);
    /*  Start a restore: build new state aside; the current state stays
        until restore_end commits. */
    int  (*restore_begin) (void *ctx);
    /*  Add one chunk (borrowed for the call): one or more whole records,
        in the order snapshot emitted them. 0 or an error (decode,
        corrupt, out of order); after an error the log ends the restore
        with commit = 0. */
    int  (*restore_chunk) (void *ctx, const uint8_t *buf, size_t len);
    /*  commit != 0: replace the state with the one built (0, or an error
        if the chunks did not make a whole snapshot, state untouched);
        commit == 0: throw the built state away, state untouched, returns
        0. Either way the restore is over. */
    int  (*restore_end) (void *ctx, int commit);
    /*  Forget all state. */
    void (*reset)    (void *ctx);
} eventlog_view_t;

/*  Counters, all monotonic since open except the gauges marked. */
typedef struct {
    uint64_t events_total;                         /* gauge: events stored */
    uint64_t events_by_type [EVENT_TYPE_COUNT];    /* gauge: stored per type */
    uint64_t appended_local;                       /* local appends */
    uint64_t received_accepted;                    /* received and stored */
    uint64_t rejected [EVENT_REJECT_COUNT];        /* by reason */
    uint64_t lamport_head;                         /* gauge */
    uint64_t seq;                                  /* gauge: last arrival seq */
    uint64_t snapshots_written;
    uint64_t view_errors;                          /* view apply errors */
    /*  Storage health as found by this open (see eventlog_open_with). */
    uint64_t wal_damaged;                          /* gauge: 1 = acknowledged writes were lost */
    uint64_t wal_events_lost;                      /* gauge: arrivals (seq) lost with them */
    uint64_t wal_tail_dropped;                     /* gauge: 1 = an unsynced torn tail was dropped */
    uint64_t dropped_on_open;                      /* stored events at Lamport 0 dropped at open */
    uint64_t disk_full;                            /* gauge: 1 while the disk is full */
    uint64_t disk_full_episodes;                   /* times the disk became full */
    uint64_t snapshots_skipped;                    /* view snapshots skipped, disk full */
} eventlog_stats_t;

/*  How eventlog_open_with opens. */
typedef struct {
    /*  0 (default): an open that finds the write-ahead log lost writes
        that were synced (acknowledged) fails with HEARTH_ECORRUPT and
        changes nothing on disk. 1: recover to the last whole record
        before the damage (RocksDB's point-in-time recovery), log the loss
        at error level, report it in the stats (wal_damaged,
        wal_events_lost) and open; the mesh then re-fetches what peers
        have. */
    int recover_wal;
    /*  Repair only (a copy of the database): replay every readable WAL
        record, skipping damaged ones (RocksDB's kSkipAnyCorruptedRecords),
        so records after a damaged one are kept. Overrides recover_wal. */
    int salvage;
} eventlog_open_options_t;

/*  Open the log in db_dir, creating a new database only if db_dir is
    absent or empty (dbdir.h): a directory with database files but a
    missing or damaged CURRENT/MANIFEST is HEARTH_ECORRUPT, on every
    open, and nothing in it is touched.

    Write-ahead log recovery: the first attempt tolerates no damaged
    record (RocksDB's kAbsoluteConsistency). If it finds one, the log is
    opened read-only to the last whole record before it (point-in-time)
    and the seq found there is compared with the synced-seq mark
    (dbdir.h): at or above it, only unsynced writes were dropped (the
    torn tail a crash or power loss leaves; received events, which peers
    still hold): warned, counted in wal_tail_dropped, opened. Below it,
    acknowledged writes are gone: see options->recover_wal.

    Restores the clock, counters and membership; does not load
    registered views (see eventlog_views_load). NULL + *err:
    HEARTH_ELOCKED if another process holds the DB, HEARTH_ECORRUPT,
    HEARTH_ENOSPC, HEARTH_EIO; *problem (may be NULL) then gets a
    malloc'd sentence naming the problem (caller frees; NULL if none).
    options may be NULL (defaults). */
eventlog_t *eventlog_open_with (const char *db_dir, const eventlog_open_options_t *options,
                                int *err, char **problem);

/*  eventlog_open_with (db_dir, NULL, err, NULL). */
eventlog_t *eventlog_open (const char *db_dir, int *err);

/*  Write view snapshots, flush, close; safe on NULL; nulls *self_p. */
void eventlog_destroy (eventlog_t **self_p);

/*  Create the community with `root` as founder: appends community.created
    (community_id = root's key) and the root's own membership. Fails with
    HEARTH_EEXISTS if the log already has a community. */
int eventlog_community_create (eventlog_t *self, const identity_t *root, const char *name,
                               uint64_t now_ms);

/*  Join an existing community: remember its id (32 bytes; one synced
    write) so received events of it are accepted, starting with the root's
    community.created. 0, HEARTH_EEXISTS if the log holds another community,
    HEARTH_EIO. */
int eventlog_community_adopt (eventlog_t *self, const uint8_t community_id [32]);

/*  32-byte community id, or NULL if the log has none yet. Borrowed. */
const uint8_t *eventlog_community_id (const eventlog_t *self);

/*  The membership view; borrowed for the log's lifetime. */
const membership_t *eventlog_membership (const eventlog_t *self);

/*  Register a view (before eventlog_views_load; name at most 64 bytes,
    unique). 0, HEARTH_ECAPACITY, HEARTH_EEXISTS, HEARTH_EINVAL. */
int eventlog_view_register (eventlog_t *self, const eventlog_view_t *view);

/*  Restore each view's snapshot and replay the events after it (by seq).
    A snapshot that does not decode is discarded and the view rebuilt from
    the whole log. Returns 0 or a negative error. `replayed` (may be NULL)
    receives the number of events replayed. */
int eventlog_views_load (eventlog_t *self, uint64_t *replayed);

/*  Snapshot every view now at the current seq (chunks, then the
    manifests in one synced batch; see "Snapshots"). */
int eventlog_views_snapshot (eventlog_t *self);

/*  Automatic snapshots every `events` accepted events instead of the
    eventlog_snapshot_due() policy; 0 restores the policy. Tests and
    operators that want short replays use it (hearthd --snapshot-every). */
void eventlog_set_snapshot_every (eventlog_t *self, uint64_t events);

/*  For repair: count the stored events by reading every one (in seq
    order) and make meta "counts" and "clock" agree with them (one synced
    write, only if they differ: a repair that skipped a damaged WAL record
    leaves counters of a batch that is gone). *events gets the count. 0
    or an error. */
int eventlog_recount (eventlog_t *self, uint64_t *events);

/*  Rebuild every view from the whole log (reset + full replay). */
int eventlog_views_rebuild (eventlog_t *self);

/*  Append a local event. `draft` carries type and payload; the log fills
    schema_version, event_id (monotonic ULID), lamport (clock + 1),
    wall_clock_ms = now_ms, community_id and author, signs with `author`,
    runs the same checks a received event gets (membership, type rules),
    writes one synced batch, then feeds the views. If the payload has a
    client_id (market events), the (author, client_id) index is written in
    the same batch. On success *out (may be NULL) gets a new event the
    caller owns. The caller's draft is given back unchanged. Errors:
    HEARTH_ENOCOMMUNITY, HEARTH_EINVAL (structure), HEARTH_ETOOBIG,
    HEARTH_EUNAUTHORIZED (not a member / type rule), HEARTH_EREVOKED (the
    author was revoked), HEARTH_ELAMPORT (clock at its end), HEARTH_EIO. */
int eventlog_append_local (eventlog_t *self, const identity_t *author, Hearth__Event *draft,
                           uint64_t now_ms, event_t **out);

/*  Per-batch ingest result. */
typedef struct {
    uint64_t accepted;
    uint64_t rejected [EVENT_REJECT_COUNT];
} eventlog_ingest_result_t;

/*  The receive pipeline for n SignedEvent frames (borrowed for the call):
    size cap, decode, structure, dedup by hash (before verifying, so repeats
    cost no signature check), signature (fanned out to the verify workers),
    community, membership, type rules, Lamport bound (1..), the clock rule
    (wall_clock_ms at most EVENT_MAX_FUTURE_SKEW_MS ahead of the receiver's
    clock, read once per call), (author,event_id) conflict; accepted
    events are written in unsynced batches (see "Durability" above) of up to EVENTLOG_INGEST_BATCH and fed to the views. Order within the call is
    kept for membership (an invite, join and post in one call work).
    `codes` (may be NULL, n entries) receives each frame's event_reject_t.
    Returns 0 (rejections are counted, not errors) or HEARTH_EIO/ENOMEM; on
    an error, the failed batch and the frames after it are not stored
    (their codes are not meaningful) and `result->accepted` counts only
    what was stored. */
int eventlog_ingest (eventlog_t *self, const uint8_t *const *frames, const size_t *lens, size_t n,
                     eventlog_ingest_result_t *result, event_reject_t *codes);

/*  Signature-check threads for eventlog_ingest, including the caller's:
    1 = verify on the calling thread only. Clamped to
    1..EVENTLOG_MAX_VERIFY_THREADS. Default 1. Returns 0 or HEARTH_ENOMEM. */
int eventlog_set_verify_threads (eventlog_t *self, int threads);

/*  Find an event by its ULID. If several authors used the same id, the
    first by author key is returned. *out is a new event the caller owns.
    0, HEARTH_ENOTFOUND, HEARTH_EIO, HEARTH_ECORRUPT. */
int eventlog_get_by_id (eventlog_t *self, const char *event_id, event_t **out);

/*  Event id stored for (author, client_id), copied into out. 0 or
    HEARTH_ENOTFOUND. */
int eventlog_find_client (eventlog_t *self, const uint8_t author [32], const char *client_id,
                          char out [ULID_SIZE]);

/*  Visit events with lamport > since_lamport in (lamport, hash) order; stop
    early when fn returns non-zero (that value is returned). The event is
    borrowed for the call. */
typedef int (eventlog_visit_fn) (void *arg, const event_t *ev);
int eventlog_scan (eventlog_t *self, uint64_t since_lamport, eventlog_visit_fn *fn, void *arg);

/* ---- for the mesh (gossip) ------------------------------------------------ */

/*  Called once per accepted event, after its batch is committed and the
    views have it (local appends and ingested events alike). `origin` is the
    token given to eventlog_ingest_from (NULL for local appends and plain
    eventlog_ingest). The event is borrowed for the call. One hook at most;
    fn NULL removes it. */
typedef void (eventlog_accept_fn) (void *arg, const event_t *ev, const void *origin);
void eventlog_set_accept_hook (eventlog_t *self, eventlog_accept_fn *fn, void *arg);

/*  eventlog_ingest with an origin token passed to the accept hook (the
    gossip link the frames came from, so eager push skips it). */
int eventlog_ingest_from (eventlog_t *self, const uint8_t *const *frames, const size_t *lens,
                          size_t n, const void *origin, eventlog_ingest_result_t *result,
                          event_reject_t *codes);

/*  1 if an event with this hash is stored, 0 if not. */
int eventlog_has_hash (eventlog_t *self, const uint8_t hash [32]);

/*  The stored SignedEvent wire bytes of hash: 0 and *wire malloc'd (caller
    frees) with *len, or HEARTH_ENOTFOUND / HEARTH_EIO. */
int eventlog_get_wire (eventlog_t *self, const uint8_t hash [32], uint8_t **wire, size_t *len);

/*  Visit every stored (lamport, hash) in (lamport, hash) order from the
    order index alone (no event decoding), e.g. to build the reconciliation
    store at start. Stops when fn returns non-zero (returned). */
typedef int (eventlog_order_fn) (void *arg, uint64_t lamport, const uint8_t hash [32]);
int eventlog_scan_order (eventlog_t *self, eventlog_order_fn *fn, void *arg);

/*  Reads of the order index up to this many entries go through the block
    cache (a page of the reconciliation store, NEGENTROPY_PAGE_MAX = 64,
    read again within a session); longer ones bypass it, as scans do. */
#define EVENTLOG_ORDER_CACHED_MAX 1024

/*  Call fn(arg, lamport, hash) for the order index's entries >= (lamport,
    hash) (hash borrowed), in (lamport, hash) order, at most limit of them,
    until fn returns non-zero. Returns 0, fn's non-zero value, or
    HEARTH_EIO. The source of the mesh's backed reconciliation store. */
int eventlog_read_order (eventlog_t *self, uint64_t lamport, const uint8_t hash [32], size_t limit,
                         eventlog_order_fn *fn, void *arg);

/*  Named values the node keeps beside its log, in the meta column family
    under "node/<name>": small state that is not an event but should
    survive a restart. Only the names listed here are accepted:
      "peers"   the mesh's known-peer table (gossip_overlay_save's bytes;
                docs/sync.md, "Overlay")
    The log never reads them; their owner checks what it gets back (the
    disk may hand back anything). */
#define EVENTLOG_META_NAME_PEERS  "peers"
/*  A named value's bytes at most (a known-peer table is ~150 KiB at its cap). */
#define EVENTLOG_META_VALUE_MAX   (1024 * 1024)

/*  The value of name: 0 and *buf (malloc'd, caller frees) with *len, or
    HEARTH_ENOTFOUND (never written), HEARTH_EINVAL (not a listed name),
    HEARTH_ECORRUPT (stored over EVENTLOG_META_VALUE_MAX), HEARTH_EIO,
    HEARTH_ENOMEM; *buf NULL on error. */
int eventlog_meta_get (eventlog_t *self, const char *name, uint8_t **buf, size_t *len);

/*  Store buf (len bytes, borrowed) as the value of name, replacing it, in
    one synced write. 0, HEARTH_EINVAL (not a listed name), HEARTH_ETOOBIG
    (over EVENTLOG_META_VALUE_MAX), HEARTH_ENOSPC, HEARTH_EIO. */
int eventlog_meta_put (eventlog_t *self, const char *name, const uint8_t *buf, size_t len);

/*  Live counters; borrowed, updated by the log. */
const eventlog_stats_t *eventlog_stats (const eventlog_t *self);

/*  Approximate bytes on disk of the RocksDB (SST + WAL). */
uint64_t eventlog_disk_bytes (eventlog_t *self);

/*  Where RocksDB's memory is, in bytes, summed over the column families. */
typedef struct {
    uint64_t memtables;                     /* active + immutable + pinned memtables */
    uint64_t block_cache;                   /* block cache in use */
    uint64_t table_readers;                 /* SST index and filter blocks outside the cache */
} eventlog_memory_t;

/*  Fill *mem from RocksDB's own accounting (properties
    rocksdb.size-all-mem-tables, rocksdb.block-cache-usage and
    rocksdb.estimate-table-readers-mem). Cheap; for stats and benchmarks. */
void eventlog_memory (eventlog_t *self, eventlog_memory_t *mem);

/*  An online backup: a RocksDB checkpoint of the log (hard links to its
    table files where dir is on the same file system, copies otherwise,
    the memtables flushed first) into dir, which must not exist; its
    parent must. The copy holds every event acknowledged before the call
    and the view snapshots, and opens as an event log of its own (without
    a synced-seq mark: the copy's own write-ahead log is its truth). Taken
    while the log serves, from the owning thread. 0,
    or HEARTH_EEXISTS (dir exists), HEARTH_ENOSPC, HEARTH_EIO with
    *message (malloc'd, caller frees; may be NULL). */
int eventlog_checkpoint (eventlog_t *self, const char *dir, char **message);

#ifdef __cplusplus
}
#endif
#endif
