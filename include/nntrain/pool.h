/* A fixed team of compute threads per process: nn_pool_run() runs one job
 * on every thread of the team (the caller is thread 0) and returns when all
 * are done. Workers spin briefly between jobs (a training step runs a few
 * jobs back to back), then sleep on a condition variable, so an idle team
 * costs nothing and an oversubscribed node is not starved by spinning.
 * nntrain splits a batch into one slice of rows per thread; OpenBLAS then
 * runs single-threaded inside each (see nn_model_set_threads). */
#ifndef NNTRAIN_POOL_H
#define NNTRAIN_POOL_H

#include "nntrain/error.h"

typedef struct nn_pool nn_pool;

/* fn(arg, tid, nthreads) with tid in [0, nthreads). */
typedef void (*nn_pool_fn)(void *arg, int tid, int nthreads);

/* A team of `threads` (>= 1; 1 creates no thread). When the process's CPU
 * affinity mask holds exactly `threads` CPUs (a launcher gave this rank its
 * own cores), worker t >= 1 is pinned to the t-th of them (the caller keeps
 * the mask); NNTRAIN_PIN=0 turns that off. Errors: NN_EINVAL, NN_ENOMEM, NN_EIO (thread creation). */
int nn_pool_create(nn_pool **out, int threads, nn_error *e);
int nn_pool_size(const nn_pool *p);   /* 1 for NULL */
/* Runs fn on all threads; fn must not call nn_pool_run itself. NULL pool:
 * fn(arg, 0, 1). */
void nn_pool_run(nn_pool *p, nn_pool_fn fn, void *arg);
void nn_pool_free(nn_pool *p);
/* Inside a job: returns when every thread of the team has called it, and
 * then sees what each wrote before its call. All threads must call it the
 * same number of times in a job. No-op for a NULL or 1-thread pool. */
void nn_pool_barrier(nn_pool *p);

/* Rows [*r0, *r0 + *n) of B for thread t of T: near-equal slices, the first
 * B % T threads one row more. */
void nn_pool_split(long B, int T, int t, long *r0, long *n);

#endif
