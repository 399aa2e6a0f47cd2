/*  eventlog_checkpoint.c — online backups: a RocksDB checkpoint of the
    open log (eventlog.h, eventlog_checkpoint). RocksDB makes it
    consistent on its own (it flushes the memtables, hard-links or copies
    the live table files and copies the manifest and the write-ahead log
    up to that point), so writes may go on while it runs.
*/
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <rocksdb/c.h>
#include "hearth_error.h"
#include "eventlog_private.h"

int
eventlog_checkpoint (eventlog_t *self, const char *dir, char **message)
{
    if (message)
        *message = NULL;
    struct stat st;
    if (lstat (dir, &st) == 0) {
        if (message)
            *message = hearth_message ("%s already exists: a backup goes into a new directory", dir);
        return HEARTH_EEXISTS;
    }
    char *err = NULL;
    rocksdb_checkpoint_t *checkpoint = rocksdb_checkpoint_object_create (self->db, &err);
    if (checkpoint && !err)
        /*  0: always flush the memtables first, so the copy needs no long
            WAL replay. */
        rocksdb_checkpoint_create (checkpoint, dir, 0, &err);
    if (checkpoint)
        rocksdb_checkpoint_object_destroy (checkpoint);
    if (err) {
        int rc = hearth_error_from_storage (err);
        if (message)
            *message = hearth_message ("checkpoint of %s into %s failed: %s", self->db_dir, dir, err);
        rocksdb_free (err);
        return rc;
    }
    return HEARTH_OK;
}
