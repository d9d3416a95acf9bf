/* The gradient allreduce of a training step (src/mpi/grad_sync.c). */
#ifndef NNTRAIN_GRAD_SYNC_H
#define NNTRAIN_GRAD_SYNC_H

#include <stddef.h>

#include "nntrain/dist.h"
#include "nntrain/error.h"
#include "nntrain/watchdog.h"

/* Gradient allreduce, blocking (one MPI_Allreduce over the flat buffer) or
 * overlapped: buckets of d->bucket_bytes taken from the end of the buffer
 * (the last layers finish backward first) are started with MPI_Iallreduce as
 * soon as nn_grad_sync_ready reports them final. */
typedef struct nn_grad_sync {
    nn_dist *d;
    float *g;
    size_t n, bucket;       /* floats */
    int nbuckets, started;
    int overlap;            /* start buckets during backward */
    void *reqs;             /* MPI_Request[nbuckets] */
    double wait_s;          /* time spent waiting in finish (last step) */
    nn_watchdog *wd;        /* optional: stall detection while waiting */
    long long step;         /* step id for the watchdog */
    nn_error err;           /* first MPI failure of the step in ready (which
                               runs inside backward and returns nothing) */
} nn_grad_sync;

/* wd (may be NULL) adds stall detection to the wait. */
int nn_grad_sync_init(nn_grad_sync *s, nn_dist *d, float *g, size_t n, nn_watchdog *wd,
                      nn_error *e);
void nn_grad_sync_begin(nn_grad_sync *s);
/* grads[off .. n) are final: start every bucket inside that range. A failed
 * MPI call is kept for nn_grad_sync_finish to return. */
void nn_grad_sync_ready(nn_grad_sync *s, size_t off);
/* Starts what is left, waits for all; then every rank holds the sum. Returns
 * NN_OK, or NN_EMPI with the first failed MPI call of the step (in ready or
 * here) named in e. */
int nn_grad_sync_finish(nn_grad_sync *s, nn_error *e);
void nn_grad_sync_free(nn_grad_sync *s);

#endif
