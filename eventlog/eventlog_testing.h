/*  eventlog_testing.h — hooks of the event log for tests, fault injection
    and fuzzing only: snapshot chunks and manifests at the byte level, a
    lowered chunk size, and a store that skips every check. Not for
    production code: hearthd and hearthctl never include it.

    Threading and ownership as in eventlog.h: the log's thread only.
*/
#ifndef HEARTH_EVENTLOG_TESTING_H
#define HEARTH_EVENTLOG_TESTING_H

#include <stddef.h>
#include <stdint.h>
#include "eventlog.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  What is stored of a view's snapshot: the manifest's generation (0 for
    none or a single-value snapshot), chunk count and bytes, and the chunks
    stored under any generation (equal to n_chunks once orphans are gone). */
typedef struct {
    uint64_t generation;
    uint64_t n_chunks;
    uint64_t total_bytes;
    uint64_t stored_chunks;
} eventlog_snapshot_info_t;

/*  Fill *info for view `name`. 0, HEARTH_EINVAL, HEARTH_EIO. */
int eventlog_snapshot_info (eventlog_t *self, const char *name, eventlog_snapshot_info_t *info);

/*  Chunk size used from the next snapshot on: bytes clamped to
    1..EVENTLOG_SNAPSHOT_CHUNK_BYTES (the default). Tests lower it to get
    many chunks out of a small view. */
void eventlog_set_snapshot_chunk_bytes (eventlog_t *self, size_t bytes);

/*  Copy of the stored chunk (name, generation, index): 0 and *buf
    malloc'd (caller frees) with *len, HEARTH_ENOTFOUND, HEARTH_EIO. */
int eventlog_snapshot_chunk_get (eventlog_t *self, const char *name, uint64_t generation,
                                 uint32_t index, uint8_t **buf, size_t *len);

/*  Store (buf != NULL) or delete (buf NULL) a chunk, synced: fault
    injection for tests. 0, HEARTH_EINVAL, HEARTH_EIO. */
int eventlog_snapshot_chunk_put (eventlog_t *self, const char *name, uint64_t generation,
                                 uint32_t index, const uint8_t *buf, size_t len);

/*  Store a single-value view snapshot as written before chunks existed
    (ViewSnapshot {view, covers_seq, state}), synced: tests of reading an
    old data directory. 0, HEARTH_EINVAL, HEARTH_EIO. */
int eventlog_snapshot_put_legacy (eventlog_t *self, const char *name, uint64_t covers_seq,
                                  const uint8_t *state, size_t len);

/*  Store n SignedEvent frames as they are (decoded, nothing else checked:
    no signature, membership, Lamport or clock rule), with their indexes
    and counters in one synced batch, and fold them into membership and
    the views: fault injection for tests of a data directory that holds
    what an older version accepted, or of a node that serves what its peers
    must refuse. All or nothing: 0, HEARTH_EINVAL (a frame does not decode),
    HEARTH_EEXISTS (one is stored), HEARTH_EIO, HEARTH_ENOMEM. */
int eventlog_store_unchecked (eventlog_t *self, const uint8_t *const *frames, const size_t *lens,
                              size_t n);

/*  Copy of view name's stored manifest (a ViewSnapshot): 0 and *buf
    malloc'd (caller frees) with *len, HEARTH_ENOTFOUND, HEARTH_EIO. */
int eventlog_snapshot_manifest_get (eventlog_t *self, const char *name, uint8_t **buf, size_t *len);

/*  Store (buf != NULL) raw bytes as view name's manifest, or delete it
    (buf NULL), synced: fault injection for tests and the fuzz target of
    the snapshot restore path. 0, HEARTH_EINVAL, HEARTH_EIO. */
int eventlog_snapshot_manifest_put (eventlog_t *self, const char *name, const uint8_t *buf,
                                    size_t len);

#ifdef __cplusplus
}
#endif
#endif
