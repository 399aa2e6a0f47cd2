/*  eventlog_read.c — reading the log: the replay engine (stored events in
    arrival order), what it rebuilds at open (the membership view, and the
    one-time drop of events at Lamport 0), lookups by id, client id and
    hash, scans in Lamport order for the views and the mesh, and RocksDB's
    memory and disk figures.

    Invariants:
      - A replay visits events in seq order; a missing or undecodable one
        is logged, counted in view_errors and skipped, never fatal; a read
        error of the store itself ends it with that error.
      - Everything here runs on the log's thread; the replay feeds its
        function one event at a time, borrowed for the call.
*/
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <rocksdb/c.h>
#include "eventlog_private.h"
#include "hearth_error.h"
#include "hearth_log.h"
#include "hearth_vec.h"

#define S_LOG "eventlog"

/* ---- loading events ------------------------------------------------------- */

/*  Load a stored event by hash; NULL + *rc (ENOTFOUND, EIO, ECORRUPT,
    ENOSPC). *read_failed (may be NULL) is set when the store itself
    failed the read (a damaged block, an I/O error), not merely held no
    or an undecodable value. */
static event_t *
s_load_event_read (eventlog_t *self, const uint8_t *hash, int *rc, int *read_failed)
{
    size_t len;
    uint8_t *wire = eventlog_get (self, EVENTLOG_CF_EVENTS, hash, HEARTH_HASH_BYTES, &len, rc);
    if (read_failed)
        *read_failed = !wire && *rc != 0;
    if (!wire) {
        if (*rc == 0)
            *rc = HEARTH_ENOTFOUND;
        return NULL;
    }
    event_reject_t reason;
    event_t *ev = event_decode (wire, len, &reason);
    rocksdb_free (wire);
    if (!ev || memcmp (event_hash (ev), hash, HEARTH_HASH_BYTES) != 0) {
        event_destroy (&ev);
        *rc = HEARTH_ECORRUPT;
        return NULL;
    }
    return ev;
}

static event_t *
s_load_event (eventlog_t *self, const uint8_t *hash, int *rc)
{
    return s_load_event_read (self, hash, rc, NULL);
}

/* ---- replay ----------------------------------------------------------------- */

/*  Visit stored events with seq > after, in seq order. A missing or
    undecodable event is logged and skipped (counted in view_errors): a
    damaged record must not keep the node from starting. */
int
eventlog_replay_seq (eventlog_t *self, uint64_t after, eventlog_replay_fn *fn, void *arg, uint64_t *visited)
{
    uint64_t count = 0;
    if (after >= self->seq) {
        if (visited)
            *visited = 0;
        return 0;
    }
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf (self->db, self->scan_options, self->cf [EVENTLOG_CF_SEQ]);
    uint8_t start [8];
    eventlog_put_be64 (start, after + 1);
    int rc = 0;
    for (rocksdb_iter_seek (it, (const char *) start, 8); rocksdb_iter_valid (it); rocksdb_iter_next (it)) {
        size_t klen, vlen;
        const uint8_t *k = (const uint8_t *) rocksdb_iter_key (it, &klen);
        const uint8_t *v = (const uint8_t *) rocksdb_iter_value (it, &vlen);
        if (klen != 8 || vlen != HEARTH_HASH_BYTES) {
            hlog_error (S_LOG, "corrupt seq index entry skipped");
            self->stats.view_errors++;
            continue;
        }
        uint64_t seq = eventlog_get_be64 (k);
        if (seq > self->seq)
            break;
        int lrc;
        event_t *ev = s_load_event (self, v, &lrc);
        if (!ev) {
            if (lrc == HEARTH_EIO) {
                rc = lrc;
                break;
            }
            hlog_error (S_LOG, "event at seq %llu is missing or corrupt (%s); skipped",
                        (unsigned long long) seq, hearth_strerror (lrc));
            self->stats.view_errors++;
            continue;
        }
        count++;
        rc = fn (self, ev, seq, arg);
        event_destroy (&ev);
        if (rc)
            break;
    }
    rc = eventlog_iter_close (it, "replay failed", rc);
    if (visited)
        *visited = count;
    return rc;
}

static int
s_membership_replay_fn (eventlog_t *self, const event_t *ev, uint64_t seq, void *arg)
{
    (void) seq;
    (void) arg;
    if (membership_apply (self->members, ev) != 0)
        hlog_error (S_LOG, "membership over capacity while replaying %s", event_id (ev));
    return 0;
}

/*  Reset membership and fold every stored event again. */
int
eventlog_membership_rebuild (eventlog_t *self)
{
    membership_reset (self->members, self->community);
    return eventlog_replay_seq (self, 0, s_membership_replay_fn, NULL, NULL);
}

/*  Restore membership from its snapshot and replay the tail; a snapshot
    that does not decode means a full rebuild. */
int
eventlog_membership_load (eventlog_t *self)
{
    membership_reset (self->members, self->community);
    size_t len;
    int rc;
    uint8_t *v = eventlog_get (self, EVENTLOG_CF_META, EVENTLOG_META_MEMBERSHIP, strlen (EVENTLOG_META_MEMBERSHIP), &len, &rc);
    if (rc)
        return rc;
    uint64_t covered = 0;
    if (v) {
        Hearth__ViewSnapshot *snap = hearth__view_snapshot__unpack (NULL, len, v);
        if (snap && snap->covers_seq <= self->seq
        &&  membership_restore (self->members, snap->state.data, snap->state.len) == 0)
            covered = snap->covers_seq;
        else {
            hlog_warn (S_LOG, "membership snapshot unreadable; rebuilding from the log");
            membership_reset (self->members, self->community);
        }
        if (snap)
            hearth__view_snapshot__free_unpacked (snap, NULL);
        rocksdb_free (v);
    }
    return eventlog_replay_seq (self, covered, s_membership_replay_fn, NULL, NULL);
}

/*  Events at Lamport 0, stored before the receive pipeline refused them
    (lamport.h): every full scan starts after 0, so they split the views
    (stored and found by id, missed by every list and re-fold), and peers
    now refuse them, so keeping them would split this node from its peers
    too. They are dropped at open with every index entry, counted in
    stats.dropped_on_open and logged, in one synced batch that also deletes
    the membership and view snapshots, so both are rebuilt from the log
    without them. No honest node ever made one (a local event gets clock + 1
    >= 1). With none stored this costs one seek. 0 or HEARTH_EIO /
    HEARTH_ENOMEM. */
int
eventlog_drop_lamport_zero (eventlog_t *self)
{
    uint8_t (*hashes) [HEARTH_HASH_BYTES] = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf (self->db, self->scan_options, self->cf [EVENTLOG_CF_ORDER]);
    uint8_t zero [8] = { 0 };
    for (rocksdb_iter_seek (it, (const char *) zero, 8); rocksdb_iter_valid (it); rocksdb_iter_next (it)) {
        size_t klen;
        const uint8_t *k = (const uint8_t *) rocksdb_iter_key (it, &klen);
        if (klen != EVENTLOG_ORDER_KEY_LEN || memcmp (k, zero, 8) != 0)
            break;
        if (HEARTH_VEC_GROW (hashes, cap, n + 1, 16)) {
            rc = HEARTH_ENOMEM;
            break;
        }
        memcpy (hashes [n++], k + 8, HEARTH_HASH_BYTES);
    }
    rocksdb_iter_destroy (it);
    if (rc || n == 0) {
        free (hashes);
        return rc;
    }
    rocksdb_writebatch_t *batch = rocksdb_writebatch_create ();
    uint64_t counts [EVENT_TYPE_COUNT];
    memcpy (counts, self->stats.events_by_type, sizeof counts);
    for (size_t i = 0; i < n; i++) {
        int lrc;
        event_t *ev = s_load_event (self, hashes [i], &lrc);
        if (ev) {
            uint8_t ikey [EVENTLOG_IDS_KEY_LEN];
            eventlog_ids_key (ev, ikey);
            if (eventlog_stored_hash (self, ikey, sizeof ikey, hashes [i]) == 1)
                rocksdb_writebatch_delete_cf (batch, self->cf [EVENTLOG_CF_IDS], (const char *) ikey, sizeof ikey);
            const char *client = eventlog_client_id (ev);
            uint8_t ckey [EVENTLOG_CLIENT_KEY_MAX];
            size_t clen = client? eventlog_client_key (event_author (ev), client, ckey): 0;
            size_t vlen;
            int grc;
            uint8_t *owner = clen? eventlog_get (self, EVENTLOG_CF_CLIENTS, ckey, clen, &vlen, &grc): NULL;
            if (owner && vlen == ULID_LEN && memcmp (owner, event_id (ev), ULID_LEN) == 0)
                rocksdb_writebatch_delete_cf (batch, self->cf [EVENTLOG_CF_CLIENTS], (const char *) ckey, clen);
            rocksdb_free (owner);
            if (counts [event_type (ev)] > 0)
                counts [event_type (ev)]--;
            event_destroy (&ev);
        }
        rocksdb_writebatch_delete_cf (batch, self->cf [EVENTLOG_CF_EVENTS], (const char *) hashes [i],
                                      HEARTH_HASH_BYTES);
        uint8_t okey [EVENTLOG_ORDER_KEY_LEN] = { 0 };
        memcpy (okey + 8, hashes [i], HEARTH_HASH_BYTES);
        rocksdb_writebatch_delete_cf (batch, self->cf [EVENTLOG_CF_ORDER], (const char *) okey, sizeof okey);
    }
    /*  Their arrival entries: one pass over the seq index (once, ever). */
    it = rocksdb_create_iterator_cf (self->db, self->scan_options, self->cf [EVENTLOG_CF_SEQ]);
    for (rocksdb_iter_seek_to_first (it); rocksdb_iter_valid (it); rocksdb_iter_next (it)) {
        size_t klen, vlen;
        const char *k = rocksdb_iter_key (it, &klen);
        const char *v = rocksdb_iter_value (it, &vlen);
        for (size_t i = 0; vlen == HEARTH_HASH_BYTES && i < n; i++)
            if (memcmp (v, hashes [i], HEARTH_HASH_BYTES) == 0)
                rocksdb_writebatch_delete_cf (batch, self->cf [EVENTLOG_CF_SEQ], k, klen);
    }
    rocksdb_iter_destroy (it);
    /*  Snapshots that folded them: rebuilt from the log. */
    rocksdb_writebatch_delete_cf (batch, self->cf [EVENTLOG_CF_META], EVENTLOG_META_MEMBERSHIP, strlen (EVENTLOG_META_MEMBERSHIP));
    it = rocksdb_create_iterator_cf (self->db, self->scan_options, self->cf [EVENTLOG_CF_META]);
    size_t plen = strlen (EVENTLOG_META_VIEW);
    for (rocksdb_iter_seek (it, EVENTLOG_META_VIEW, plen); rocksdb_iter_valid (it); rocksdb_iter_next (it)) {
        size_t klen;
        const char *k = rocksdb_iter_key (it, &klen);
        if (klen < plen || memcmp (k, EVENTLOG_META_VIEW, plen) != 0)
            break;
        rocksdb_writebatch_delete_cf (batch, self->cf [EVENTLOG_CF_META], k, klen);
    }
    rocksdb_iter_destroy (it);
    eventlog_batch_meta (self, batch, self->clock, self->seq, counts);
    rc = eventlog_write (self, batch);
    rocksdb_writebatch_destroy (batch);
    free (hashes);
    if (rc)
        return rc;
    memcpy (self->stats.events_by_type, counts, sizeof counts);
    self->stats.events_total = 0;
    for (int t = 0; t < EVENT_TYPE_COUNT; t++)
        self->stats.events_total += counts [t];
    self->stats.dropped_on_open = n;
    hlog_warn (S_LOG, "dropped %zu stored event%s with Lamport 0 (refused by every node now); "
               "membership and views are rebuilt from the log", n, n == 1? "": "s");
    return 0;
}

/* ---- reads ------------------------------------------------------------------- */

int
eventlog_get_by_id (eventlog_t *self, const char *id, event_t **out)
{
    *out = NULL;
    if (!ulid_valid (id))
        return HEARTH_ENOTFOUND;
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf (self->db, self->read_options, self->cf [EVENTLOG_CF_IDS]);
    rocksdb_iter_seek (it, id, ULID_LEN);
    int rc = HEARTH_ENOTFOUND;
    if (rocksdb_iter_valid (it)) {
        size_t klen, vlen;
        const char *k = rocksdb_iter_key (it, &klen);
        const uint8_t *v = (const uint8_t *) rocksdb_iter_value (it, &vlen);
        if (klen == EVENTLOG_IDS_KEY_LEN && memcmp (k, id, ULID_LEN) == 0) {
            if (vlen != HEARTH_HASH_BYTES)
                rc = HEARTH_ECORRUPT;
            else
                *out = s_load_event (self, v, &rc);
            if (*out)
                rc = 0;
            else if (rc == HEARTH_ENOTFOUND)
                rc = HEARTH_ECORRUPT;       /* indexed but missing */
        }
    }
    int scan = eventlog_iter_close (it, NULL, 0);
    if (scan) {
        rc = scan;
        event_destroy (out);
    }
    return rc;
}

int
eventlog_find_client (eventlog_t *self, const uint8_t author [32], const char *client_id,
                      char out [ULID_SIZE])
{
    uint8_t key [EVENTLOG_CLIENT_KEY_MAX];
    size_t klen = client_id && *client_id? eventlog_client_key (author, client_id, key): 0;
    if (!klen)
        return HEARTH_ENOTFOUND;
    size_t vlen;
    int rc;
    uint8_t *v = eventlog_get (self, EVENTLOG_CF_CLIENTS, key, klen, &vlen, &rc);
    if (!v)
        return rc? rc: HEARTH_ENOTFOUND;
    if (vlen == ULID_LEN) {
        memcpy (out, v, ULID_LEN);
        out [ULID_LEN] = 0;
    }
    else
        rc = HEARTH_ECORRUPT;
    rocksdb_free (v);
    return rc;
}

int
eventlog_scan (eventlog_t *self, uint64_t since_lamport, eventlog_visit_fn *fn, void *arg)
{
    if (since_lamport == UINT64_MAX)
        return 0;
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf (self->db, self->scan_options, self->cf [EVENTLOG_CF_ORDER]);
    uint8_t start [8];
    eventlog_put_be64 (start, since_lamport + 1);
    int rc = 0;
    for (rocksdb_iter_seek (it, (const char *) start, 8); rocksdb_iter_valid (it); rocksdb_iter_next (it)) {
        size_t klen;
        const uint8_t *k = (const uint8_t *) rocksdb_iter_key (it, &klen);
        if (klen != EVENTLOG_ORDER_KEY_LEN)
            continue;
        int lrc, read_failed;
        event_t *ev = s_load_event_read (self, k + 8, &lrc, &read_failed);
        if (!ev) {
            /*  The store failing a read (a damaged block: ECORRUPT) ends
                the scan with its error: a listing must not leave events
                out in silence. */
            if (read_failed) {
                rc = lrc;
                break;
            }
            hlog_error (S_LOG, "indexed event missing or corrupt; skipped");
            continue;
        }
        rc = fn (arg, ev);
        event_destroy (&ev);
        if (rc)
            break;
    }
    return eventlog_iter_close (it, NULL, rc);
}

/* ---- for the mesh ------------------------------------------------------------ */

int
eventlog_has_hash (eventlog_t *self, const uint8_t hash [32])
{
    return eventlog_exists (self, EVENTLOG_CF_EVENTS, hash, HEARTH_HASH_BYTES);
}

int
eventlog_get_wire (eventlog_t *self, const uint8_t hash [32], uint8_t **wire, size_t *len)
{
    *wire = NULL;
    size_t vlen;
    int rc;
    uint8_t *v = eventlog_get (self, EVENTLOG_CF_EVENTS, hash, HEARTH_HASH_BYTES, &vlen, &rc);
    if (!v)
        return rc? rc: HEARTH_ENOTFOUND;
    *wire = (uint8_t *) malloc (vlen? vlen: 1);
    if (*wire) {
        memcpy (*wire, v, vlen);
        *len = vlen;
    }
    rocksdb_free (v);
    return *wire? 0: HEARTH_ENOMEM;
}

int
eventlog_read_order (eventlog_t *self, uint64_t lamport, const uint8_t hash [32], size_t limit,
                     eventlog_order_fn *fn, void *arg)
{
    /*  A page of the reconciliation store is read again and again in a
        session: through the block cache. A long walk is not: around it. */
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf (self->db,
        limit > EVENTLOG_ORDER_CACHED_MAX? self->scan_options: self->read_options, self->cf [EVENTLOG_CF_ORDER]);
    uint8_t start [EVENTLOG_ORDER_KEY_LEN];
    eventlog_put_be64 (start, lamport);
    memcpy (start + 8, hash, HEARTH_HASH_BYTES);
    int rc = 0;
    size_t seen = 0;
    for (rocksdb_iter_seek (it, (const char *) start, sizeof start);
         seen < limit && rocksdb_iter_valid (it); rocksdb_iter_next (it)) {
        size_t klen;
        const uint8_t *k = (const uint8_t *) rocksdb_iter_key (it, &klen);
        if (klen != EVENTLOG_ORDER_KEY_LEN)
            continue;                       /* not ours; never written */
        seen++;
        rc = fn (arg, eventlog_get_be64 (k), k + 8);
        if (rc)
            break;
    }
    return eventlog_iter_close (it, "order read failed", rc);
}

int
eventlog_scan_order (eventlog_t *self, eventlog_order_fn *fn, void *arg)
{
    static const uint8_t zero [HEARTH_HASH_BYTES];
    return eventlog_read_order (self, 0, zero, SIZE_MAX, fn, arg);
}

void
eventlog_memory (eventlog_t *self, eventlog_memory_t *mem)
{
    memset (mem, 0, sizeof *mem);
    for (int i = 0; i < EVENTLOG_CF_COUNT; i++) {
        uint64_t v;
        if (rocksdb_property_int_cf (self->db, self->cf [i], "rocksdb.size-all-mem-tables", &v) == 0)
            mem->memtables += v;
        if (rocksdb_property_int_cf (self->db, self->cf [i], "rocksdb.estimate-table-readers-mem", &v) == 0)
            mem->table_readers += v;
    }
    uint64_t v;
    /*  One cache shared by every CF: read it once. */
    if (rocksdb_property_int (self->db, "rocksdb.block-cache-usage", &v) == 0)
        mem->block_cache = v;
}

uint64_t
eventlog_disk_bytes (eventlog_t *self)
{
    DIR *dir = opendir (self->db_dir);
    if (!dir)
        return 0;
    uint64_t total = 0;
    struct dirent *de;
    int dfd = dirfd (dir);
    while ((de = readdir (dir)) != NULL) {
        struct stat st;
        if (fstatat (dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG (st.st_mode))
            total += (uint64_t) st.st_size;
    }
    closedir (dir);
    return total;
}
