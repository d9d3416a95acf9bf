/* Everything MPI. Each rank holds a model replica and a shard of each global
 * batch; the loss seeds dL/dy = 1/B_global on every rank, so one sum-allreduce
 * of the flat gradient buffer gives the exact global-mean gradient. One made
 * by nn_dist_single is a single process with no MPI: every collective is then
 * a no-op. */
#ifndef NNTRAIN_DIST_H
#define NNTRAIN_DIST_H

#include <stddef.h>
#include <stdint.h>

#define NN_DIST_TEXT 256

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
    char *who;               /* (size, NN_DIST_TEXT) "host H, pid P" per rank, or NULL */
    struct nn_watchdog *wd;  /* set while a stall watchdog runs: the sums, maxima and
                                error agreements below wait through it */
} nn_dist;

void nn_dist_single(nn_dist *d);
/* MPI_Init (a singleton when started without mpirun). */
int nn_dist_init(int *argc, char ***argv, nn_dist *d, nn_error *e);
void nn_dist_finalize(nn_dist *d);
/* A dist over the first n ranks of parent (ranks >= n get active == 0 and
 * size 0: they sit this one out). Free with nn_dist_free_sub. */
int nn_dist_sub(const nn_dist *parent, int n, nn_dist *sub, nn_error *e);
void nn_dist_free_sub(nn_dist *sub);
/* d on a duplicated communicator (no watchdog, no rank table), for
 * collectives that run while others are in flight on d in an order that
 * may differ between ranks (BatchNormalization's statistics beside the
 * bucketed gradient allreduce). Free with nn_dist_free_sub. */
int nn_dist_dup(const nn_dist *d, nn_dist *dup, nn_error *e);

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

/* "host H, pid P" of rank r, gathered by nn_dist_init ("host ?, pid ?" when
 * unknown: a sub-communicator or a single process). */
const char *nn_dist_who(const nn_dist *d, int rank);
/* Checks that every rank passes the same text (a description of what it
 * opened); else NN_EINVAL naming the first rank that differs from rank 0,
 * both hosts and pids, and both texts. Collective. */
int nn_dist_same_text(nn_dist *d, const char *mine, const char *what, nn_error *e);
/* Deterministic mode: checks that every rank passes the same description of
 * its kernels (instruction set, BLAS core); else NN_EINVAL naming rank 0,
 * the first rank that differs (hosts, pids, both texts) and every rank that
 * differs. Collective. */
int nn_dist_same_kernels(nn_dist *d, const char *mine, nn_error *e);

#endif
