/*  eventlog_writer.h — the writer thread of the receive pipeline: writes
    one prepared RocksDB WriteBatch at a time, so the write of batch k
    overlaps the verification of batch k+1 (docs/architecture.md, threads).

    The thread only runs the write function on batches its owner built;
    every decision stays on the owner's thread. It starts at the first
    submit; if it cannot start, submit writes on the owner's thread.

    Private to eventlog/ (eventlog_ingest.c).
    Threads: every function here is called from the owner's thread only;
    the write function runs on the writer thread (or, as above, the
    owner's), one batch at a time.
*/
#ifndef HEARTH_EVENTLOG_WRITER_H
#define HEARTH_EVENTLOG_WRITER_H

#include <rocksdb/c.h>

/*  Writes batch; 0 or a negative hearth error. */
typedef int (eventlog_writer_fn) (void *arg, rocksdb_writebatch_t *batch);

typedef struct _eventlog_writer_t eventlog_writer_t;

/*  A writer that calls write (arg, batch) for each batch; arg is borrowed
    until destroy. NULL if out of memory. */
eventlog_writer_t *eventlog_writer_new (eventlog_writer_fn *write, void *arg);

/*  Write the batch in flight, if any, stop the thread and free the writer;
    safe on NULL; nulls *self_p. */
void eventlog_writer_destroy (eventlog_writer_t **self_p);

/*  Hand a batch (borrowed until eventlog_writer_wait returns) to the
    writer; at most one is in flight: wait for it before the next. */
void eventlog_writer_submit (eventlog_writer_t *self, rocksdb_writebatch_t *batch);

/*  Wait for the batch in flight; its write's result. */
int eventlog_writer_wait (eventlog_writer_t *self);

#endif
