/*  verify_pool.c — the verify workers: see verify_pool.h.

    Invariants:
      - At most one job is posted at a time; a worker enters a job only
        after its post (generation bumped) and leaves it before finish
        returns (busy == 0), so the job's items may be reused after.
      - The pool never touches the state of its owner other than through
        the job's fn.
*/
#include <pthread.h>
#include <stdlib.h>
#include "eventlog.h"
#include "hearth_log.h"
#include "verify_pool.h"

#define S_LOG "eventlog"

struct _verify_pool_t {
    pthread_t       threads [EVENTLOG_MAX_VERIFY_THREADS];
    int             n_threads;              /* workers, excluding the owner */
    pthread_mutex_t mutex;
    pthread_cond_t  work_cv;                /* a new job or stop */
    pthread_cond_t  done_cv;                /* an item finished or a worker left a job */
    verify_job_t   *job;                    /* borrowed: current job, or NULL */
    uint64_t        generation;             /* bumped per posted job */
    int             busy;                   /* workers inside a job */
    int             stop;
};

verify_pool_t *
verify_pool_new (void)
{
    verify_pool_t *self = (verify_pool_t *) calloc (1, sizeof (verify_pool_t));
    if (!self)
        return NULL;
    pthread_mutex_init (&self->mutex, NULL);
    pthread_cond_init (&self->work_cv, NULL);
    pthread_cond_init (&self->done_cv, NULL);
    return self;
}

void
verify_pool_destroy (verify_pool_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    verify_pool_t *self = *self_p;
    verify_pool_stop (self);
    pthread_mutex_destroy (&self->mutex);
    pthread_cond_destroy (&self->work_cv);
    pthread_cond_destroy (&self->done_cv);
    free (self);
    *self_p = NULL;
}

/*  Claim runs of items and process them until the job is exhausted. */
static void
s_job_run (verify_pool_t *pool, verify_job_t *job)
{
    size_t i;
    while ((i = atomic_fetch_add (&job->next, job->claim)) < job->n) {
        size_t run = job->n - i < job->claim? job->n - i: job->claim;
        job->fn (job->arg, i, run);
        if (atomic_fetch_add (&job->done, run) + run == job->n) {
            pthread_mutex_lock (&pool->mutex);
            pthread_cond_broadcast (&pool->done_cv);
            pthread_mutex_unlock (&pool->mutex);
        }
    }
}

static void *
s_worker_main (void *arg)
{
    verify_pool_t *pool = (verify_pool_t *) arg;
    uint64_t seen = 0;
    pthread_mutex_lock (&pool->mutex);
    for (;;) {
        while (!pool->stop && (pool->generation == seen || !pool->job))
            pthread_cond_wait (&pool->work_cv, &pool->mutex);
        if (pool->stop)
            break;
        seen = pool->generation;
        verify_job_t *job = pool->job;
        pool->busy++;
        pthread_mutex_unlock (&pool->mutex);
        s_job_run (pool, job);
        pthread_mutex_lock (&pool->mutex);
        pool->busy--;
        pthread_cond_broadcast (&pool->done_cv);
    }
    pthread_mutex_unlock (&pool->mutex);
    return NULL;
}

int
verify_pool_start (verify_pool_t *self, int workers)
{
    verify_pool_stop (self);
    if (workers > EVENTLOG_MAX_VERIFY_THREADS - 1)
        workers = EVENTLOG_MAX_VERIFY_THREADS - 1;
    for (int i = 0; i < workers; i++) {
        if (pthread_create (&self->threads [i], NULL, s_worker_main, self) != 0) {
            hlog_error (S_LOG, "cannot start verify thread %d", i + 1);
            break;
        }
        self->n_threads++;
    }
    return self->n_threads;
}

void
verify_pool_post (verify_pool_t *self, verify_job_t *job, size_t n, size_t claim,
                  verify_pool_fn *fn, void *arg)
{
    job->fn = fn;
    job->arg = arg;
    job->n = n;
    job->claim = claim;
    atomic_store (&job->next, 0);
    atomic_store (&job->done, 0);
    if (self->n_threads == 0)
        return;
    pthread_mutex_lock (&self->mutex);
    self->job = job;
    self->generation++;
    pthread_cond_broadcast (&self->work_cv);
    pthread_mutex_unlock (&self->mutex);
}

void
verify_pool_finish (verify_pool_t *self, verify_job_t *job)
{
    s_job_run (self, job);
    if (self->n_threads == 0)
        return;
    pthread_mutex_lock (&self->mutex);
    while (atomic_load (&job->done) < job->n || self->busy > 0)
        pthread_cond_wait (&self->done_cv, &self->mutex);
    self->job = NULL;
    pthread_mutex_unlock (&self->mutex);
}

void
verify_pool_stop (verify_pool_t *self)
{
    if (self->n_threads == 0)
        return;
    pthread_mutex_lock (&self->mutex);
    self->stop = 1;
    pthread_cond_broadcast (&self->work_cv);
    pthread_mutex_unlock (&self->mutex);
    for (int i = 0; i < self->n_threads; i++)
        pthread_join (self->threads [i], NULL);
    self->n_threads = 0;
    self->stop = 0;
}
