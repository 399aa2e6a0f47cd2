/*  eventlog_ingest.c — the receive pipeline (eventlog_ingest): every event
    that did not originate on this node is checked here, in the order
    docs/architecture.md §5 lists, and stored in unsynced batches (eventlog.h,
    "Durability").

    A call is cut into chunks of EVENTLOG_INGEST_BATCH frames; three chunks
    rotate through a serial pre-pass (size cap, identical frames), the
    parallel stage on the verify pool (decode, structure, store lookup,
    signatures), the serial stage on the caller's thread (community,
    membership, type rules, Lamport bound, clock rule, conflicts) that
    builds the chunk's WriteBatch, and the writer thread.

    Invariants:
      - Verify workers touch only the items of the run they claimed and
        read-only RocksDB handles; every state change is on the caller's
        thread, after the chunk's write returned.
      - Membership may run ahead of the disk by the chunks not yet written;
        a failed write rebuilds it from the disk.
      - A chunk's key set and frames stay intact while the two chunks after
        it are checked (they look back at them).
*/
#include <stdlib.h>
#include <string.h>
#include <rocksdb/c.h>
#include <sodium.h>
#include "eventlog_private.h"
#include "lamport.h"
#include "hearth_error.h"
#include "hearth_log.h"

#define S_LOG "eventlog"

/* ---- ingest scratch ------------------------------------------------------ */

/*  Per-frame state of one ingest batch. Workers write ev, code, id_in_db
    and client_in_db of the items they claim; the caller reads them only
    after the job is complete. */
typedef struct {
    const uint8_t *frame;                   /* borrowed from the caller */
    size_t         len;
    size_t         index;                   /* position in the call */
    long           dup_of;                  /* earlier identical frame in the call, or -1 */
    event_t       *ev;                      /* owned; NULL if decode failed */
    event_reject_t code;                    /* verdict of the parallel stage */
    uint8_t        id_in_db;                /* (event_id, author) stored with another hash */
} s_item_t;

/*  Items a verify thread claims at once. Their signatures are checked as
    one batch (event_verify_batch, ed25519_batch.h), whose rate grows with
    its size, most when authors repeat within it (one term and one point
    decoding per key); in bench_ingest 128 gave the best rate with two
    threads and close to the best with one (docs/performance.md, "Verify
    claim size"). 128 still splits a job of EVENTLOG_INGEST_BATCH (256)
    items into 2 claims, one for a worker and one for the caller when it
    joins. */
#define S_VERIFY_CLAIM  128
_Static_assert (S_VERIFY_CLAIM <= EVENT_VERIFY_BATCH_MAX, "a claim is one event_verify_batch");

/*  Open-addressing table of frames seen in one batch: (siphash, index). */
typedef struct {
    uint64_t h;
    long     index;                         /* -1 = empty */
} s_frame_slot_t;

/*  Open-addressing set of the ids keys accepted in one batch, with the
    event hash (to tell a repeat from a conflict); copies, so the set
    outlives the batch's events. */
typedef struct {
    uint64_t h;
    uint8_t  len;                           /* 0 = empty */
    uint8_t  key [1 + EVENTLOG_IDS_KEY_LEN];
    uint8_t  hash [HEARTH_HASH_BYTES];
} s_key_slot_t;

/*  Slots per batch table: a power of two >= 4x the entries, so probes stay
    short. */
#define S_TABLE_SLOTS  (4 * EVENTLOG_INGEST_BATCH)

/*  Clock, seq and per-type counts as they will be once a batch is stored. */
typedef struct {
    uint64_t clock, seq;
    uint64_t counts [EVENT_TYPE_COUNT];
} s_tally_t;

/*  One batch of the pipeline. Three (EVENTLOG_CHUNKS) rotate: while batch k
    is checked and its write is handed to the writer thread, batch k+1 is
    verified and batch k-1 may still be on its way to disk. */
typedef struct _eventlog_chunk_t {
    eventlog_t           *log;              /* borrowed: the owner */
    s_item_t              items [EVENTLOG_INGEST_BATCH];
    size_t                n;
    verify_job_t          job;              /* its verification, on the pool */
    s_frame_slot_t        frames [S_TABLE_SLOTS];
    s_key_slot_t          keys [S_TABLE_SLOTS];
    rocksdb_writebatch_t *batch;            /* owned */
    size_t                accepted;         /* events in batch */
    int                   membership_dirty; /* batch changed membership */
    s_tally_t             after;            /* state once batch is stored */
} s_chunk_t;

/* ---- ingest ----------------------------------------------------------------- */

/*  Parallel stage for one frame: decode and structure, dedup against the
    store, note index collisions. The signature is left to s_items_prepare. */
static void
s_item_decode (eventlog_t *self, s_item_t *item)
{
    if (item->code != EVENT_REJECT_NONE || item->dup_of >= 0)
        return;                             /* decided by the pre-pass */
    event_reject_t reason;
    item->ev = event_decode (item->frame, item->len, &reason);
    if (!item->ev) {
        item->code = reason;
        return;
    }
    /*  One lookup answers both "stored already" and "(author, event_id)
        taken": the ids index maps to the hash stored in the same batch as
        the event, and a second hash for one (author, event_id) is never
        stored. */
    uint8_t ikey [EVENTLOG_IDS_KEY_LEN];
    int stored = eventlog_stored_hash (self, ikey, eventlog_ids_key (item->ev, ikey), event_hash (item->ev));
    if (stored == 1) {
        item->code = EVENT_REJECT_DUPLICATE;
        event_destroy (&item->ev);
        return;
    }
    item->id_in_db = (uint8_t) (stored == 2);
}

/*  Parallel stage for a claimed run of n <= S_VERIFY_CLAIM items (runs on
    any verify thread): each is decoded and checked as above, then the
    signatures of those still undecided are verified as one batch
    (event_verify_batch: the same verdicts as event_verify one by one).
    Touches only the run's items and read-only RocksDB handles. */
static void
s_items_prepare (eventlog_t *self, s_item_t *items, size_t n)
{
    const event_t *evs [S_VERIFY_CLAIM];
    s_item_t *owner [S_VERIFY_CLAIM];
    int rcs [S_VERIFY_CLAIM];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        s_item_decode (self, &items [i]);
        if (items [i].ev && items [i].code == EVENT_REJECT_NONE) {
            evs [k] = items [i].ev;
            owner [k++] = &items [i];
        }
    }
    if (k == 0)
        return;
    /*  The batch's random coefficients: unpredictable to the authors. */
    uint8_t seed [IDENTITY_SEED_BYTES];
    randombytes_buf (seed, sizeof seed);
    event_verify_batch (evs, k, seed, rcs);
    for (size_t j = 0; j < k; j++)
        if (rcs [j] != 0) {
            owner [j]->code = EVENT_REJECT_SIGNATURE;
            event_destroy (&owner [j]->ev);
        }
}

/*  verify_pool_fn: prepare items [first, first + n) of a chunk. */
static void
s_chunk_verify (void *arg, size_t first, size_t n)
{
    s_chunk_t *chunk = (s_chunk_t *) arg;
    s_items_prepare (chunk->log, &chunk->items [first], n);
}

static uint64_t
s_siphash (eventlog_t *self, const void *data, size_t len)
{
    uint8_t out [crypto_shorthash_BYTES];
    crypto_shorthash (out, (const unsigned char *) data, len, self->sip_key);
    uint64_t h;
    memcpy (&h, out, sizeof h);
    return h;
}

/*  Find an identical frame among a chunk's frames; its call index or -1. */
static long
s_frame_find (const s_chunk_t *chunk, uint64_t h, const uint8_t *const *frames, const size_t *lens,
              const uint8_t *frame, size_t len)
{
    for (size_t i = h & (S_TABLE_SLOTS - 1);; i = (i + 1) & (S_TABLE_SLOTS - 1)) {
        const s_frame_slot_t *s = &chunk->frames [i];
        if (s->index < 0)
            return -1;
        if (s->h == h && lens [s->index] == len && memcmp (frames [s->index], frame, len) == 0)
            return s->index;
    }
}

static void
s_frame_insert (s_chunk_t *chunk, uint64_t h, long index)
{
    size_t i = h & (S_TABLE_SLOTS - 1);
    while (chunk->frames [i].index >= 0)
        i = (i + 1) & (S_TABLE_SLOTS - 1);
    chunk->frames [i].h = h;
    chunk->frames [i].index = index;
}

/*  Serial pre-pass of a chunk: size cap, and identical frames within this
    call's recent chunks. Canonical encoding makes "same event" = "same
    bytes", so no decode or signature check is spent on a repeat. (Repeats
    further back are caught by the store lookup or the key sets.) */
static void
s_chunk_prepare (eventlog_t *self, s_chunk_t *chunk, s_chunk_t *const *recent, size_t base, size_t n,
                 const uint8_t *const *frames, const size_t *lens)
{
    chunk->n = n;
    for (size_t i = 0; i < S_TABLE_SLOTS; i++)
        chunk->frames [i].index = -1;
    for (size_t i = 0; i < n; i++) {
        s_item_t *item = &chunk->items [i];
        memset (item, 0, sizeof *item);
        item->index = base + i;
        item->frame = frames [base + i];
        item->len = lens [base + i];
        item->dup_of = -1;
        if (item->len > EVENT_MAX_BYTES) {
            item->code = EVENT_REJECT_SIZE;
            continue;
        }
        if (!item->frame || item->len == 0) {
            item->code = EVENT_REJECT_DECODE;
            continue;
        }
        /*  Hash the last 64 bytes (the signature of a valid frame, unique
            per event); memcmp settles the rare equal hashes. */
        size_t tail = item->len < HEARTH_SIG_BYTES? item->len: HEARTH_SIG_BYTES;
        uint64_t h = s_siphash (self, item->frame + item->len - tail, tail);
        long dup = s_frame_find (chunk, h, frames, lens, item->frame, item->len);
        for (int r = 0; dup < 0 && r < 2; r++)
            if (recent [r])
                dup = s_frame_find (recent [r], h, frames, lens, item->frame, item->len);
        if (dup >= 0)
            item->dup_of = dup;
        else
            s_frame_insert (chunk, h, (long) item->index);
    }
}

/*  Key set lookup; returns the slot or NULL. */
static const s_key_slot_t *
s_key_find (const s_chunk_t *chunk, uint64_t h, const uint8_t *key, size_t len)
{
    for (size_t i = h & (S_TABLE_SLOTS - 1);; i = (i + 1) & (S_TABLE_SLOTS - 1)) {
        const s_key_slot_t *s = &chunk->keys [i];
        if (s->len == 0)
            return NULL;
        if (s->h == h && s->len == len && memcmp (s->key, key, len) == 0)
            return s;
    }
}

static void
s_key_insert (s_chunk_t *chunk, uint64_t h, const uint8_t *key, size_t len, const uint8_t *hash)
{
    size_t i = h & (S_TABLE_SLOTS - 1);
    while (chunk->keys [i].len != 0)
        i = (i + 1) & (S_TABLE_SLOTS - 1);
    chunk->keys [i].h = h;
    chunk->keys [i].len = (uint8_t) len;
    memcpy (chunk->keys [i].key, key, len);
    if (hash)
        memcpy (chunk->keys [i].hash, hash, HEARTH_HASH_BYTES);
}

/*  Look a key up in this chunk's set and the two before it (whose writes
    the workers' store lookups may not have seen). */
static const s_key_slot_t *
s_key_find_recent (s_chunk_t *chunk, s_chunk_t *const *recent, uint64_t h, const uint8_t *key, size_t len)
{
    const s_key_slot_t *slot = s_key_find (chunk, h, key, len);
    for (int r = 0; !slot && r < 2; r++)
        if (recent [r])
            slot = s_key_find (recent [r], h, key, len);
    return slot;
}

/*  Tag + key into buf (a tag keeps room for other key kinds in the sets). */
static size_t
s_tagged (uint8_t tag, const uint8_t *key, size_t len, uint8_t *buf)
{
    buf [0] = tag;
    memcpy (buf + 1, key, len);
    return len + 1;
}

/*  Serial stage of a chunk (caller's thread): community, membership and
    type rules in arrival order, Lamport bound, (author, event_id) conflict;
    builds the chunk's WriteBatch. Membership runs ahead of the disk from
    here until the write completes (s_chunk_complete). `tally` is the state
    after the previous chunk and becomes the state after this one. */
static void
s_chunk_build (eventlog_t *self, s_chunk_t *chunk, s_chunk_t *const *recent, s_tally_t *tally,
               uint8_t *verdicts, eventlog_ingest_result_t *result, event_reject_t *codes)
{
    for (size_t i = 0; i < S_TABLE_SLOTS; i++)
        chunk->keys [i].len = 0;
    if (!chunk->batch)
        chunk->batch = rocksdb_writebatch_create ();
    rocksdb_writebatch_clear (chunk->batch);
    chunk->accepted = 0;
    chunk->membership_dirty = 0;

    for (size_t i = 0; i < chunk->n; i++) {
        s_item_t *item = &chunk->items [i];
        event_reject_t code = item->code;
        if (item->dup_of >= 0) {
            event_reject_t first = (event_reject_t) verdicts [item->dup_of];
            code = first == EVENT_REJECT_NONE? EVENT_REJECT_DUPLICATE: first;
        }
        uint8_t ikey [1 + EVENTLOG_IDS_KEY_LEN];
        size_t ilen = 0;
        uint64_t ih = 0;
        int conflict = 0;
        if (code == EVENT_REJECT_NONE) {
            const event_t *ev = item->ev;
            uint8_t raw [EVENTLOG_IDS_KEY_LEN];
            ilen = s_tagged ('I', raw, eventlog_ids_key (ev, raw), ikey);
            ih = s_siphash (self, ikey, ilen);
            const s_key_slot_t *taken = s_key_find_recent (chunk, recent, ih, ikey, ilen);
            if (taken && memcmp (taken->hash, event_hash (ev), HEARTH_HASH_BYTES) == 0)
                code = EVENT_REJECT_DUPLICATE;      /* stored by a batch still in flight */
            conflict = item->id_in_db || taken;
        }
        if (code == EVENT_REJECT_NONE)
            code = membership_check (self->members, item->ev);
        if (code == EVENT_REJECT_NONE && lamport_check (tally->clock, event_lamport (item->ev)) != 0)
            code = EVENT_REJECT_LAMPORT;
        if (code == EVENT_REJECT_NONE)
            code = event_check_clock (item->ev, self->ingest_now_ms);
        if (code == EVENT_REJECT_NONE && conflict)
            code = EVENT_REJECT_CONFLICT;
        verdicts [item->index] = (uint8_t) code;
        if (codes)
            codes [item->index] = code;
        if (code != EVENT_REJECT_NONE) {
            result->rejected [code]++;
            self->stats.rejected [code]++;
            if (code != EVENT_REJECT_DUPLICATE)
                hearth_log_limited (HEARTH_LOG_DEBUG, S_LOG, event_reject_name (code),
                                    "dropped a received event: %s", event_reject_name (code));
            event_destroy (&item->ev);
            continue;
        }
        /*  Accepted: into the batch, and into membership now so later
            events see it. */
        const event_t *ev = item->ev;
        int type = event_type (ev);
        if (type >= HEARTH__EVENT_TYPE__COMMUNITY_CREATED && type <= HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_DEMOTED) {
            if (membership_apply (self->members, ev) != 0)
                hlog_error (S_LOG, "membership over capacity applying %s", event_id (ev));
            chunk->membership_dirty = 1;
        }
        tally->seq++;
        tally->clock = lamport_observe (tally->clock, event_lamport (ev));
        tally->counts [type]++;
        eventlog_batch_event (self, chunk->batch, ev, tally->seq);
        s_key_insert (chunk, ih, ikey, ilen, event_hash (ev));
        chunk->accepted++;
    }
    if (chunk->accepted)
        eventlog_batch_meta (self, chunk->batch, tally->clock, tally->seq, tally->counts);
    chunk->after = *tally;
}

/*  After the chunk's write: on success the state moves to chunk->after and
    the views see the events; on failure nothing of it is stored, so
    membership is rebuilt from the disk. Frees the chunk's events. */
static int
s_chunk_complete (eventlog_t *self, s_chunk_t *chunk, int write_rc, eventlog_ingest_result_t *result)
{
    if (write_rc == 0 && chunk->accepted) {
        self->clock = chunk->after.clock;
        self->seq = chunk->after.seq;
        memcpy (self->stats.events_by_type, chunk->after.counts, sizeof chunk->after.counts);
        self->stats.events_total += chunk->accepted;
        self->stats.received_accepted += chunk->accepted;
        self->stats.lamport_head = self->clock;
        self->stats.seq = self->seq;
        self->since_snapshot += chunk->accepted;
        result->accepted += chunk->accepted;
    }
    for (size_t i = 0; i < chunk->n; i++) {
        if (chunk->items [i].ev) {
            if (write_rc == 0) {
                eventlog_views_feed (self, chunk->items [i].ev);
                if (self->accept_fn)
                    self->accept_fn (self->accept_arg, chunk->items [i].ev, self->origin);
            }
            event_destroy (&chunk->items [i].ev);
        }
    }
    chunk->n = 0;
    chunk->accepted = 0;
    return write_rc;
}

/*  The pipeline over chunks of EVENTLOG_INGEST_BATCH frames. For chunk k
    the caller: pre-passes and posts chunk k+1 to the verify workers;
    checks chunk k and builds its WriteBatch; waits for the write of chunk
    k-1 and feeds its events to the views; hands chunk k's batch to the
    writer thread; then helps verify chunk k+1. So verification never waits
    for a write, and with 2+ threads it never waits for the checks either.
    With one verify thread the same code runs; the writer still hides the
    write. */
static int
s_ingest (eventlog_t *self, const uint8_t *const *frames, const size_t *lens, size_t n,
          eventlog_ingest_result_t *result, event_reject_t *codes)
{
    eventlog_ingest_result_t dummy;
    result = result? result: &dummy;
    memset (result, 0, sizeof *result);
    self->ingest_now_ms = hearth_now_ms ();
    if (n == 0)
        return 0;
    if (!frames || !lens)
        return HEARTH_EINVAL;
    for (int c = 0; c < EVENTLOG_CHUNKS; c++) {
        if (!self->chunks [c]) {
            self->chunks [c] = (s_chunk_t *) calloc (1, sizeof (s_chunk_t));
            if (!self->chunks [c])
                return HEARTH_ENOMEM;
            self->chunks [c]->log = self;
        }
        self->chunks [c]->n = 0;
        for (size_t i = 0; i < S_TABLE_SLOTS; i++) {
            self->chunks [c]->frames [i].index = -1;
            self->chunks [c]->keys [i].len = 0;
        }
    }
    uint8_t *verdicts = (uint8_t *) malloc (n);
    if (!verdicts)
        return HEARTH_ENOMEM;
    size_t n_chunks = (n + EVENTLOG_INGEST_BATCH - 1) / EVENTLOG_INGEST_BATCH;
    s_tally_t tally;
    tally.clock = self->clock;
    tally.seq = self->seq;
    memcpy (tally.counts, self->stats.events_by_type, sizeof tally.counts);

    s_chunk_t *none [2] = { NULL, NULL };
    s_chunk_t *first = self->chunks [0];
    s_chunk_prepare (self, first, none, 0, n < EVENTLOG_INGEST_BATCH? n: EVENTLOG_INGEST_BATCH, frames, lens);
    verify_pool_post (self->pool, &first->job, first->n, S_VERIFY_CLAIM, s_chunk_verify, first);
    verify_pool_finish (self->pool, &first->job);

    int rc = 0;
    s_chunk_t *in_flight = NULL;            /* chunk whose write is with the writer */
    for (size_t k = 0; k < n_chunks; k++) {
        s_chunk_t *cur = self->chunks [k % EVENTLOG_CHUNKS];
        s_chunk_t *next = self->chunks [(k + 1) % EVENTLOG_CHUNKS];
        /*  chunks k-1 and k-2: their key sets (and frames) are still intact. */
        s_chunk_t *recent [2] = {
            k >= 1? self->chunks [(k + EVENTLOG_CHUNKS - 1) % EVENTLOG_CHUNKS]: NULL,
            k >= 2? self->chunks [(k + EVENTLOG_CHUNKS - 2) % EVENTLOG_CHUNKS]: NULL,
        };
        int more = k + 1 < n_chunks;
        if (more) {
            size_t base = (k + 1) * EVENTLOG_INGEST_BATCH;
            size_t m = n - base < EVENTLOG_INGEST_BATCH? n - base: EVENTLOG_INGEST_BATCH;
            s_chunk_t *frames_recent [2] = { cur, recent [0] };
            s_chunk_prepare (self, next, frames_recent, base, m, frames, lens);
            verify_pool_post (self->pool, &next->job, next->n, S_VERIFY_CLAIM, s_chunk_verify, next);
        }
        s_chunk_build (self, cur, recent, &tally, verdicts, result, codes);
        if (in_flight) {
            int wrc = eventlog_note_write (self, eventlog_writer_wait (self->writer));
            if (wrc && !rc) {
                rc = wrc;
                /*  Nothing of chunk k-1 (nor of k, not yet written) is stored:
                    membership ran ahead of the disk, so rebuild it. */
                if (eventlog_membership_rebuild (self) != 0)
                    hlog_error (S_LOG, "membership rebuild after a failed write failed too");
            }
            s_chunk_complete (self, in_flight, wrc, result);
            in_flight = NULL;
        }
        if (rc == 0 && cur->accepted) {
            eventlog_writer_submit (self->writer, cur->batch);
            in_flight = cur;
        }
        else
            s_chunk_complete (self, cur, rc, result);
        if (more)
            verify_pool_finish (self->pool, &next->job);
        if (rc) {
            if (more)
                s_chunk_complete (self, next, rc, result);
            break;                          /* the store failed: stop here */
        }
    }
    if (in_flight) {
        int wrc = eventlog_note_write (self, eventlog_writer_wait (self->writer));
        if (wrc && !rc) {
            rc = wrc;
            if (eventlog_membership_rebuild (self) != 0)
                hlog_error (S_LOG, "membership rebuild after a failed write failed too");
        }
        s_chunk_complete (self, in_flight, wrc, result);
    }
    free (verdicts);
    /*  Snapshot only here, with no batch ahead of the disk. */
    eventlog_maybe_snapshot (self);
    return rc;
}

int
eventlog_ingest (eventlog_t *self, const uint8_t *const *frames, const size_t *lens, size_t n,
                 eventlog_ingest_result_t *result, event_reject_t *codes)
{
    return eventlog_ingest_from (self, frames, lens, n, NULL, result, codes);
}

int
eventlog_ingest_from (eventlog_t *self, const uint8_t *const *frames, const size_t *lens, size_t n,
                      const void *origin, eventlog_ingest_result_t *result, event_reject_t *codes)
{
    self->origin = origin;
    int rc = s_ingest (self, frames, lens, n, result, codes);
    self->origin = NULL;
    return rc;
}

void
eventlog_chunks_destroy (eventlog_t *self)
{
    for (int c = 0; c < EVENTLOG_CHUNKS; c++) {
        if (self->chunks [c] && self->chunks [c]->batch)
            rocksdb_writebatch_destroy (self->chunks [c]->batch);
        free (self->chunks [c]);
        self->chunks [c] = NULL;
    }
}

int
eventlog_set_verify_threads (eventlog_t *self, int threads)
{
    if (threads < 1)
        threads = 1;
    if (threads > EVENTLOG_MAX_VERIFY_THREADS)
        threads = EVENTLOG_MAX_VERIFY_THREADS;
    return verify_pool_start (self->pool, threads - 1) == threads - 1? 0: HEARTH_ENOMEM;
}
