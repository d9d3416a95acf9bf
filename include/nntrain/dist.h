/* Everything MPI. Each rank holds a model replica and a shard of each global
 * batch; the loss seeds dL/dy = 1/B_global on every rank, so one sum-allreduce
 * of the flat gradient buffer gives the exact global-mean gradient. One made
 * by nn_dist_single is a single process with no MPI: every collective is then
 * a no-op. */
#ifndef NNTRAIN_DIST_H
#define NNTRAIN_DIST_H

#include <stddef.h>
#include <stdint.h>

#include <mpi.h>

#include "nntrain/error.h"

typedef struct nn_dist {
    int rank, size;
    int active;              /* MPI initialised and in use */
    MPI_Comm comm;           /* MPI_COMM_WORLD, or a sub-communicator (tests) */
    int we_initialized;      /* nn_dist_init called MPI_Init */
    int overlap;             /* bucketed MPI_Iallreduce during backward */
    size_t bucket_bytes;
    double stall_timeout;    /* seconds, 0 = off */
} nn_dist;

void nn_dist_single(nn_dist *d);
/* MPI_Init (a singleton when started without mpirun). */
int nn_dist_init(int *argc, char ***argv, nn_dist *d, nn_error *e);
void nn_dist_finalize(nn_dist *d);
/* A dist over the first n ranks of parent (ranks >= n get active == 0 and
 * size 0: they sit this one out). Free with nn_dist_free_sub. */
int nn_dist_sub(const nn_dist *parent, int n, nn_dist *sub, nn_error *e);
void nn_dist_free_sub(nn_dist *sub);

/* Pure: the slice [*off, *off + *cnt) of a global batch of B rows for rank r
 * of N ranks; slices differ by at most one row, the first B % N get one more. */
void nn_dist_shard(size_t B, int N, int r, size_t *off, size_t *cnt);

int nn_dist_bcast_floats(nn_dist *d, float *buf, size_t n, nn_error *e);
int nn_dist_bcast_bytes(nn_dist *d, void *buf, size_t n, nn_error *e);
/* In-place sums (chunked above INT_MAX). */
int nn_dist_sum_floats(nn_dist *d, float *buf, size_t n, nn_error *e);
int nn_dist_sum_doubles(nn_dist *d, double *buf, int n, nn_error *e);
/* Every rank passes its status (NN_OK or a code) and message; all return the
 * first failing rank's code, and e receives "rank R: message" on every rank. */
int nn_dist_agree(nn_dist *d, int status, nn_error *e);
/* Checks that every rank passes the same 64-bit value (e.g. a spec hash). */
int nn_dist_check_same(nn_dist *d, uint64_t v, const char *what, nn_error *e);
double nn_dist_max_double(nn_dist *d, double v);

/* Stall watchdog (--stall-timeout): every rank > 0 tells rank 0 with a tiny
 * message that it reached a step's collective; collectives are waited on by
 * polling. If the wait exceeds the timeout, rank 0 names the ranks that have
 * not arrived and ends the job with MPI_Abort (exit status NN_EXIT_STALL):
 * a rank that cannot reach the collective must not leave the others hanging.
 * Ranks > 0 give up after twice the timeout (rank 0 itself may be stuck). */
#define NN_EXIT_STALL 3

typedef struct nn_watchdog {
    nn_dist *d;
    double timeout;            /* seconds; 0 = off */
    long long *seen, *inbox;   /* rank 0: last step heard from each rank */
    void *rreq;                /* rank 0: MPI_Request per rank */
    long long out;             /* ranks > 0: the step being announced */
    void *sreq;                /* ranks > 0: MPI_Request */
    int sending;
} nn_watchdog;

int nn_watchdog_init(nn_watchdog *w, nn_dist *d, double timeout, nn_error *e);
/* This rank reached the collective of step (a counter increasing over the run). */
void nn_watchdog_arrive(nn_watchdog *w, long long step);
/* Waits for n requests (MPI_Request *) with the stall check; aborts the job
 * on a stall. what names the collective in the message. */
int nn_watchdog_wait(nn_watchdog *w, int n, void *reqs, long long step, const char *what,
                     nn_error *e);
void nn_watchdog_free(nn_watchdog *w);

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
