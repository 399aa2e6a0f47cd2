/*  dbdir.h — the event log's RocksDB directory seen from outside RocksDB:
    is it a database, a damaged one, or empty; the synced-seq mark; is a
    process using it; a repaired copy of it.

    Why outside RocksDB. RocksDB's create_if_missing creates a new
    database whenever CURRENT is missing, even in a directory full of
    table files, and the next open deletes those files as obsolete. So the
    event log asks this module first and lets RocksDB create only in an
    absent or empty directory (dbdir_inspect).

    The synced-seq mark (DBDIR_MARK_FILE in the db directory) holds the
    event log's arrival seq as of its last synced write. It is written
    with pwrite(2) after that write returned, without fsync: on the disk
    it is never ahead of what the synced write-ahead log holds, whatever
    a crash or power loss drops, so a recovered seq below it means the
    log lost acknowledged writes (damage, not a torn tail). 16 bytes: the
    seq (8 BE) and its complement (8 BE), so a torn or foreign file reads
    as unreadable, never as a wrong number.
*/
#ifndef HEARTH_DBDIR_H
#define HEARTH_DBDIR_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*  Name of the synced-seq mark inside the db directory. */
#define DBDIR_MARK_FILE   "HEARTH-SYNCED-SEQ"
#define DBDIR_MARK_BYTES  16

/*  What a directory holds. */
typedef enum {
    DBDIR_EMPTY,          /* absent, empty, or only RocksDB info logs / LOCK: a new DB may be created */
    DBDIR_DATABASE,       /* CURRENT names a MANIFEST that is there: RocksDB opens it */
    DBDIR_DAMAGED         /* database files, but CURRENT missing, unreadable or naming no MANIFEST */
} dbdir_state_t;

/*  Classify path. Returns the state; for DBDIR_DAMAGED *problem (may be
    NULL) gets a malloc'd sentence naming what is wrong and what the
    directory still holds (caller frees). I/O errors reading the
    directory (other than its absence) count as DBDIR_DAMAGED: never
    create over something unreadable. */
dbdir_state_t dbdir_inspect (const char *path, char **problem);

/*  The mark in path: 0 and *seq, HEARTH_ENOTFOUND (no mark), or
    HEARTH_ECORRUPT (not DBDIR_MARK_BYTES, or the check half disagrees). */
int dbdir_mark_read (const char *path, uint64_t *seq);

/*  Open (create) the mark for writing: fd >= 0, or a negative error. */
int dbdir_mark_open (const char *path);

/*  Write seq to the open mark fd (pwrite at 0, no fsync). 0 or HEARTH_EIO. */
int dbdir_mark_write (int fd, uint64_t seq);

/*  1 if another process holds the RocksDB LOCK of path (an fcntl write
    lock, as RocksDB takes it), 0 if not or there is no LOCK file. */
int dbdir_locked (const char *path);

/*  Copy every regular file of src (but LOCK) into a new directory dst
    (mode 0700), each synced. 0, HEARTH_EEXISTS (dst exists), HEARTH_ENOSPC,
    HEARTH_EIO. A failed copy removes what it made. */
int dbdir_copy (const char *src, const char *dst);

/*  Write a new CURRENT in path naming its highest-numbered non-empty
    MANIFEST-* (a torn rename or a bad copy lost CURRENT; the manifest
    RocksDB wrote last is the newest). Synced, via a temporary file and
    rename. 0, HEARTH_ENOTFOUND (no manifest), HEARTH_EIO. Repair only,
    on a copy. */
int dbdir_current_rewrite (const char *path);

/*  rm -r path (a repaired copy no longer wanted). 0 or HEARTH_EIO. */
int dbdir_remove (const char *path);

/*  RocksDB's repair (rocksdb_repair_db) on path, in place: rebuilds the
    MANIFEST from the table files, turns every readable write-ahead-log
    record into a table file (skipping damaged records, unlike an open)
    and sets damaged files aside in path/lost/. Run it on a copy. 0 or an
    error classified from RocksDB's text; *problem (may be NULL) gets
    that text (malloc'd) on failure. */
int dbdir_repair (const char *path, char **problem);

#ifdef __cplusplus
}
#endif
#endif
