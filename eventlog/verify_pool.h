/*  verify_pool.h — the verify workers of eventlog_ingest: plain pthreads
    that share one job at a time. A job is n items; threads claim runs of
    up to `claim` items with an atomic counter and hand each run to the
    job's function (dynamic load balancing: the owner's thread joins in
    when it has nothing else to do).

    Why not zactors: the work unit is "claim the next run of items of a
    shared, read-only batch"; an atomic counter plus one condition variable
    gives per-run load balancing with the caller joining in, no message per
    batch and no zsys context in unit tests (docs/decisions/0010-verify-
    workers-are-pthreads.md).

    Private to eventlog/ (the receive pipeline, eventlog_ingest.c).
    Threads: the pool belongs to its owner's thread, which alone calls
    every function here. A job's fn runs on the workers and on the owner's
    thread (in verify_pool_finish), one run at a time per thread; it must
    touch only the items of its run and thread-safe state.
*/
#ifndef HEARTH_VERIFY_POOL_H
#define HEARTH_VERIFY_POOL_H

#include <stdatomic.h>
#include <stddef.h>

/*  Processes items [first, first + n) of the job whose arg this is. */
typedef void (verify_pool_fn) (void *arg, size_t first, size_t n);

/*  One job; the owner embeds it where its items live. */
typedef struct {
    verify_pool_fn *fn;
    void           *arg;                    /* borrowed: fn's context */
    size_t          n;
    size_t          claim;                  /* items per run, >= 1 */
    atomic_size_t   next;                   /* next item to claim */
    atomic_size_t   done;                   /* items finished */
} verify_job_t;

typedef struct _verify_pool_t verify_pool_t;

/*  A pool without workers (every job runs on the owner's thread in
    verify_pool_finish); NULL if out of memory. */
verify_pool_t *verify_pool_new (void);

/*  Stop the workers and free the pool; safe on NULL; nulls *self_p. */
void verify_pool_destroy (verify_pool_t **self_p);

/*  Stop the workers there are and start `workers` new ones (at most
    EVENTLOG_MAX_VERIFY_THREADS - 1). Returns how many started. */
int verify_pool_start (verify_pool_t *self, int workers);

/*  Stop and join every worker (none is inside a job: finish came first). */
void verify_pool_stop (verify_pool_t *self);

/*  Hand a job of n items to the workers (they start at once). */
void verify_pool_post (verify_pool_t *self, verify_job_t *job, size_t n, size_t claim,
                       verify_pool_fn *fn, void *arg);

/*  Help with the job, then wait until every item is done and no worker is
    still inside it (so its items may be reused). */
void verify_pool_finish (verify_pool_t *self, verify_job_t *job);

#endif
