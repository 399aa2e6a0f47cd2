/*  eventlog_writer.c — the writer thread: see eventlog_writer.h.

    Invariants:
      - At most one batch is pending or being written (busy); wait
        returns only once it is written, with its result.
      - The thread touches only pending, busy, rc and stop (under the
        mutex) and the batch it was handed.
*/
#include <pthread.h>
#include <stdlib.h>
#include "eventlog_writer.h"

struct _eventlog_writer_t {
    eventlog_writer_fn   *write;
    void                 *arg;              /* borrowed: write's context */
    pthread_t             thread;
    int                   running;
    pthread_mutex_t       mutex;
    pthread_cond_t        cv;
    rocksdb_writebatch_t *pending;          /* borrowed: to write, or NULL */
    int                   busy;             /* a write is queued or running */
    int                   rc;               /* result of the last write */
    int                   stop;
};

eventlog_writer_t *
eventlog_writer_new (eventlog_writer_fn *write, void *arg)
{
    eventlog_writer_t *self = (eventlog_writer_t *) calloc (1, sizeof (eventlog_writer_t));
    if (!self)
        return NULL;
    self->write = write;
    self->arg = arg;
    pthread_mutex_init (&self->mutex, NULL);
    pthread_cond_init (&self->cv, NULL);
    return self;
}

static void *
s_writer_main (void *arg)
{
    eventlog_writer_t *w = (eventlog_writer_t *) arg;
    pthread_mutex_lock (&w->mutex);
    for (;;) {
        while (!w->stop && !w->pending)
            pthread_cond_wait (&w->cv, &w->mutex);
        if (!w->pending)
            break;                          /* stop, nothing left to write */
        rocksdb_writebatch_t *batch = w->pending;
        pthread_mutex_unlock (&w->mutex);
        int rc = w->write (w->arg, batch);
        pthread_mutex_lock (&w->mutex);
        w->pending = NULL;
        w->rc = rc;
        w->busy = 0;
        pthread_cond_broadcast (&w->cv);
    }
    pthread_mutex_unlock (&w->mutex);
    return NULL;
}

void
eventlog_writer_submit (eventlog_writer_t *w, rocksdb_writebatch_t *batch)
{
    if (!w->running && pthread_create (&w->thread, NULL, s_writer_main, w) == 0)
        w->running = 1;
    if (!w->running) {
        w->rc = w->write (w->arg, batch);
        return;
    }
    pthread_mutex_lock (&w->mutex);
    w->pending = batch;
    w->busy = 1;
    pthread_cond_broadcast (&w->cv);
    pthread_mutex_unlock (&w->mutex);
}

int
eventlog_writer_wait (eventlog_writer_t *w)
{
    pthread_mutex_lock (&w->mutex);
    while (w->busy)
        pthread_cond_wait (&w->cv, &w->mutex);
    int rc = w->rc;
    w->rc = 0;
    pthread_mutex_unlock (&w->mutex);
    return rc;
}

static void
s_writer_stop (eventlog_writer_t *w)
{
    if (!w->running)
        return;
    pthread_mutex_lock (&w->mutex);
    w->stop = 1;
    pthread_cond_broadcast (&w->cv);
    pthread_mutex_unlock (&w->mutex);
    pthread_join (w->thread, NULL);
    w->running = 0;
    w->stop = 0;
}

void
eventlog_writer_destroy (eventlog_writer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    eventlog_writer_t *self = *self_p;
    s_writer_stop (self);
    pthread_mutex_destroy (&self->mutex);
    pthread_cond_destroy (&self->cv);
    free (self);
    *self_p = NULL;
}
