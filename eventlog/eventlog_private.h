/*  eventlog_private.h — what the parts of the event log share: the
    eventlog_t struct, the column families and meta keys, the key layouts,
    and the internal functions one part calls in another. Private to
    eventlog/: nothing outside the module includes it.

    The parts (each file's banner says more):
      eventlog.c          lifecycle of the views, community, local append
      eventlog_store.c    RocksDB layout and tuning, open/close, the small
                          RocksDB helpers every part uses (get, write, batch)
      eventlog_read.c     the replay engine (arrival order), the membership
                          load and the Lamport-0 repair at open, lookups, scans
      eventlog_ingest.c   the receive pipeline (eventlog_ingest)
      eventlog_snapshot.c view snapshots in chunks, manifests, the backoff
      verify_pool.[ch]    the verify workers (a class)
      eventlog_writer.[ch] the writer thread (a class)

    Invariants (of the whole log):
      - Every stored event passed decode, structure, signature, membership,
        type rules, the Lamport bound and the (author, event_id) check, in
        the order it arrived (its seq).
      - One WriteBatch carries an event (or a group of them), every index,
        meta "clock" (= highest lamport stored), "seq" (last arrival number)
        and "counts" (events per type): the store never holds an event without
        its indexes or counters.
      - self->clock / self->seq / stats.events_by_type equal what is on disk;
        they are updated only after a successful write.
      - The membership view equals the fold, in seq order, of the stored
        community.* events. During ingest it runs ahead of the disk within one
        batch (so an invite, a join and a post in one batch work); a failed
        write rebuilds it from disk.
      - A view has been fed every stored event with seq <= self->seq once
        views are loaded, and its snapshot records the seq it covers.
      - A view's manifest ("view/<name>" in meta) is written only after
        every chunk of its generation is in an ingested SST file; chunks of
        any other generation are never read and are deleted after the
        manifest commits or at the next load.
    Threads: the eventlog_t belongs to the caller's thread. Verify workers
    only decode, read RocksDB (thread-safe) and check signatures of items of
    the batch slice handed to them; the writer thread only writes the
    batches it is handed; all state changes happen on the caller.
*/
#ifndef HEARTH_EVENTLOG_PRIVATE_H
#define HEARTH_EVENTLOG_PRIVATE_H

#include <stdint.h>
#include <rocksdb/c.h>
#include <sodium.h>
#include "eventlog.h"
#include "eventlog_testing.h"
#include "eventlog_writer.h"
#include "verify_pool.h"

/* ---- storage layout (eventlog.h lists the column families) --------------- */

enum { EVENTLOG_CF_DEFAULT, EVENTLOG_CF_EVENTS, EVENTLOG_CF_ORDER, EVENTLOG_CF_SEQ, EVENTLOG_CF_IDS,
       EVENTLOG_CF_CLIENTS, EVENTLOG_CF_META, EVENTLOG_CF_SNAPSHOTS, EVENTLOG_CF_COUNT };

#define EVENTLOG_META_CLOCK      "clock"
#define EVENTLOG_META_SEQ        "seq"
#define EVENTLOG_META_COMMUNITY  "community"
#define EVENTLOG_META_COUNTS     "counts"
#define EVENTLOG_META_MEMBERSHIP "membership"
#define EVENTLOG_META_VIEW       "view/"
#define EVENTLOG_META_NODE       "node/"
/*  Longest view name: a short stable word ("market") is expected; the cap
    keeps "view/<name>" keys small. */
#define EVENTLOG_VIEW_NAME_MAX   64

/*  ids key: event_id (26) || author (32). */
#define EVENTLOG_IDS_KEY_LEN     (ULID_LEN + HEARTH_KEY_BYTES)
/*  order key: lamport (8 BE) || hash (32). */
#define EVENTLOG_ORDER_KEY_LEN   (8 + HEARTH_HASH_BYTES)
/*  clients key: author (32) || client_id (<= 64). */
#define EVENTLOG_CLIENT_KEY_MAX  (HEARTH_KEY_BYTES + EVENT_MAX_CLIENT_ID_BYTES)

/*  The SST file a view snapshot is streamed into before its ingest
    (eventlog_snapshot.c), under the database directory; one a crash left
    behind is removed at open. */
#define EVENTLOG_SNAPSHOT_TMP    "snapshot.sst.tmp"

/*  Ingest batches in rotation (eventlog_ingest.c). */
#define EVENTLOG_CHUNKS          3

/*  One batch of the receive pipeline; defined in eventlog_ingest.c. */
struct _eventlog_chunk_t;

struct _eventlog_t {
    char                           *db_dir;        /* owned */
    rocksdb_t                      *db;            /* owned */
    rocksdb_options_t              *options;       /* owned; DB-wide and plain CFs */
    rocksdb_options_t              *cf_options [EVENTLOG_CF_COUNT];  /* owned where != options */
    rocksdb_block_based_table_options_t *table_options;  /* owned; CFs read by key (bloom) */
    rocksdb_block_based_table_options_t *scan_table_options;  /* owned; order, seq (no filter) */
    rocksdb_cache_t                *cache;         /* owned */
    rocksdb_column_family_handle_t *cf [EVENTLOG_CF_COUNT];  /* owned */
    rocksdb_readoptions_t          *read_options;  /* owned; shared read-only with workers */
    rocksdb_readoptions_t          *scan_options;  /* owned; whole-log scans: no block caching */
    rocksdb_writeoptions_t         *write_sync;    /* owned: local appends, meta, snapshots */
    rocksdb_writeoptions_t         *write_received; /* owned: received batches, no fsync */
    rocksdb_envoptions_t           *env_options;   /* owned: snapshot SST writers */
    rocksdb_ingestexternalfileoptions_t *ingest_options;  /* owned: snapshot SSTs, moved in */
    rocksdb_writebatch_t           *batch;         /* owned, reused */

    int                             ready;         /* open completed: state is trustworthy */
    int                             has_community;
    uint8_t                         community [HEARTH_KEY_BYTES];
    membership_t                   *members;       /* owned, never NULL */
    uint64_t                        clock;         /* highest lamport stored */
    uint64_t                        seq;           /* last arrival seq stored */
    ulid_gen_t                      ulid;
    uint8_t                         sip_key [crypto_shorthash_KEYBYTES];
    eventlog_stats_t                stats;

    eventlog_view_t                 views [EVENTLOG_MAX_VIEWS];  /* callbacks borrowed */
    size_t                          n_views;
    int                             views_loaded;
    uint64_t                        since_snapshot;  /* accepted since the last snapshot */
    /*  Per view: the generation of its stored manifest or of the last
        snapshot attempted, whichever is newer; the next snapshot writes
        under one more, a generation never holding older chunks. */
    uint64_t                        snap_gen [EVENTLOG_MAX_VIEWS];
    size_t                          snap_chunk_bytes;  /* chunk size; EVENTLOG_SNAPSHOT_CHUNK_BYTES */
    uint64_t                        snap_every;    /* events between automatic snapshots; 0 = policy */
    /*  Disk full (see eventlog.h, "Disk full"): set by a write that failed
        with HEARTH_ENOSPC, cleared by the next write that succeeds. */
    int                             disk_full;
    /*  A write failed in RocksDB: it stopped on a background error, and
        once it resumed, its SST ingest is not to be trusted (eventlog.h,
        "Disk full"): snapshot chunks go through the WAL until a restart. */
    int                             no_ingest;
    uint32_t                        snap_failures; /* snapshots failed for a full disk in a row */
    int64_t                         snap_retry_ms; /* monotonic ms before which none is tried */

    eventlog_accept_fn             *accept_fn;     /* borrowed hook, or NULL */
    void                           *accept_arg;
    const void                     *origin;        /* token of the ingest call running */
    uint64_t                        ingest_now_ms; /* receiver's clock for this ingest call */

    verify_pool_t                  *pool;          /* owned: the verify workers */
    struct _eventlog_chunk_t       *chunks [EVENTLOG_CHUNKS];  /* owned ingest scratch, lazily made */
    eventlog_writer_t              *writer;        /* owned: the writer thread */

    int                             mark_fd;       /* owned: the synced-seq mark (dbdir.h), or -1 */
    uint64_t                        mark_seq;      /* last value written to it */
    int                             mark_failed;   /* a mark write failed (logged once) */
};

/* ---- keys --------------------------------------------------------------- */

static inline void
eventlog_put_be64 (uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p [i] = (uint8_t) v;
}

static inline uint64_t
eventlog_get_be64 (const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p [i];
    return v;
}

/* ---- eventlog_store.c: RocksDB helpers ----------------------------------- */

/*  The client_id of a market event, or NULL if none. */
const char *eventlog_client_id (const event_t *ev);
/*  The ids key of ev; its length (EVENTLOG_IDS_KEY_LEN). */
size_t eventlog_ids_key (const event_t *ev, uint8_t key [EVENTLOG_IDS_KEY_LEN]);
/*  author || client_id; 0 if the client id is over the cap (never stored). */
size_t eventlog_client_key (const uint8_t *author, const char *client_id,
                            uint8_t key [EVENTLOG_CLIENT_KEY_MAX]);
/*  1 if key exists in cf; a read error counts as absent. Thread-safe. */
int eventlog_exists (eventlog_t *self, int cf, const uint8_t *key, size_t len);
/*  An ids key: 0 absent, 1 stored with this hash, 2 with another hash. Thread-safe. */
int eventlog_stored_hash (eventlog_t *self, const uint8_t *ikey, size_t len, const uint8_t *hash);
/*  Copy of a value (rocksdb_free) or NULL if absent/error; *rc set on error. */
uint8_t *eventlog_get (eventlog_t *self, int cf, const void *key, size_t klen, size_t *vlen, int *rc);
/*  The end of every scan: destroy it (an iterator we own) and return rc,
    or, if the scan stopped on a RocksDB error, that error as a Hearth code
    (hearth_error_from_storage), logged as "WHAT: ERROR" unless what is
    NULL. */
int eventlog_iter_close (rocksdb_iterator_t *it, const char *what, int rc);
/*  A synced write of batch (disk-full tracking, the synced-seq mark). */
int eventlog_write (eventlog_t *self, rocksdb_writebatch_t *batch);
/*  One key of column family cf set to buf (len bytes) or, with buf NULL,
    deleted, in one synced write (eventlog_write). */
int eventlog_write_one (eventlog_t *self, int cf, const void *key, size_t klen, const uint8_t *buf,
                        size_t len);
/*  Track the disk-full state from a write's result; returns rc. */
int eventlog_note_write (eventlog_t *self, int rc);
/*  Record that every arrival up to seq is on the disk (dbdir.h). */
void eventlog_mark_synced (eventlog_t *self, uint64_t seq);
/*  Event + order/seq/ids (+ clients) index entries into batch. */
void eventlog_batch_event (eventlog_t *self, rocksdb_writebatch_t *batch, const event_t *ev,
                           uint64_t seq);
/*  Meta clock, seq and per-type counts into batch. */
void eventlog_batch_meta (eventlog_t *self, rocksdb_writebatch_t *batch, uint64_t clock,
                          uint64_t seq, const uint64_t counts [EVENT_TYPE_COUNT]);

/* ---- eventlog_read.c: replay ---------------------------------------------- */

typedef int (eventlog_replay_fn) (eventlog_t *self, const event_t *ev, uint64_t seq, void *arg);
/*  Visit stored events with seq > after, in seq order (damaged ones are
    logged, counted and skipped); *visited (may be NULL) gets the count. */
int eventlog_replay_seq (eventlog_t *self, uint64_t after, eventlog_replay_fn *fn, void *arg,
                         uint64_t *visited);
/*  Reset membership and fold every stored event again. */
int eventlog_membership_rebuild (eventlog_t *self);
/*  Restore membership from its snapshot and replay the tail. */
int eventlog_membership_load (eventlog_t *self);
/*  Drop stored events at Lamport 0 (once, at open). */
int eventlog_drop_lamport_zero (eventlog_t *self);

/* ---- eventlog.c: views ------------------------------------------------------ */

/*  Feed an accepted event to the loaded views. */
void eventlog_views_feed (eventlog_t *self, const event_t *ev);

/* ---- eventlog_snapshot.c ------------------------------------------------------ */

/*  Snapshot membership and the loaded views at the current seq. */
int eventlog_snapshot_all (eventlog_t *self);
/*  Snapshot if the policy says so and no backoff holds it off. */
void eventlog_maybe_snapshot (eventlog_t *self);
/*  Put off snapshots by the next backoff step. */
void eventlog_snapshot_put_off (eventlog_t *self);
/*  Restore view v from its stored snapshot; *covered: the seq it covers. */
int eventlog_view_load (eventlog_t *self, size_t v, uint64_t *covered);

/* ---- eventlog_ingest.c -------------------------------------------------------- */

/*  Free the ingest scratch (after the writer is stopped). */
void eventlog_chunks_destroy (eventlog_t *self);

#endif
