/* The stall watchdog of collectives (src/mpi/watchdog.c): no rank waits
 * for ever on a rank that cannot come. */
#ifndef NNTRAIN_WATCHDOG_H
#define NNTRAIN_WATCHDOG_H

#include "nntrain/dist.h"
#include "nntrain/error.h"
#include "nntrain/timeline.h"

/* Stall watchdog (--stall-timeout): every rank > 0 tells rank 0 with a tiny
 * message that it reached a collective (the gradient allreduce, the sums of
 * loss and metrics, and every nn_dist sum, max and error agreement while
 * the watchdog is on: nn_watchdog_init hooks it into d->wd); collectives are waited on by
 * polling. If the wait exceeds the timeout, rank 0 names the ranks that have
 * not arrived and ends the job with MPI_Abort (exit status NN_EXIT_STALL):
 * a rank that cannot reach the collective must not leave the others hanging.
 * Ranks > 0 give up after twice the timeout (rank 0 itself may be stuck).
 * A rank > 0 that waits repeats its mark every timeout / 4, so that a rank
 * which reached the collective and then stopped (stuck inside it) is named
 * too, as the one rank 0 no longer hears from. */
#define NN_EXIT_STALL 3
/* train's default --stall-timeout (seconds): generous, so only a rank that
 * will never come ends the job, not a slow checkpoint or epoch end. */
#define NN_STALL_DEFAULT 600.0

typedef struct nn_watchdog {
    nn_dist *d;
    double timeout;            /* seconds; 0 = off */
    long long *seen, *inbox;   /* rank 0: last mark heard from each rank */
    double *heard;             /* rank 0: when each rank was last heard */
    void *rreq;                /* rank 0: MPI_Request per rank */
    long long out;             /* ranks > 0: the step being announced */
    void *sreq;                /* ranks > 0: MPI_Request */
    int sending;
    nn_timeline *tl;           /* written before the job ends here, or NULL */
    const char *tl_path;
    volatile int *stop;        /* the stop request (signals), or NULL */
    double stop_seen;          /* when a wait first saw *stop set, or 0 */
    long long seq;             /* guarded collectives reached so far */
    long long step;            /* the step they belong to (messages) */
    double keepalive;          /* ranks > 0: when in this wait the mark was last repeated */
} nn_watchdog;

int nn_watchdog_init(nn_watchdog *w, nn_dist *d, double timeout, nn_error *e);
/* This rank reached the collective of step (a counter increasing over the run). */
void nn_watchdog_arrive(nn_watchdog *w, long long step);
/* Waits for n requests (MPI_Request *) with the stall check; aborts the job
 * on a stall. what names the collective in the message. */
int nn_watchdog_wait(nn_watchdog *w, int n, void *reqs, long long step, const char *what,
                     nn_error *e);
/* A run that ends in a stall, or with ranks gone, cannot gather its
 * timeline: before MPI_Abort, and when a stop request (*stop: mpirun sends
 * SIGTERM to the ranks that are left when one dies) finds this rank still
 * waiting for the others after NN_WATCHDOG_STOP_WAIT seconds, the rank
 * writes its own row of tl (nn_timeline_write_own). tl and stop may be NULL. */
void nn_watchdog_keep(nn_watchdog *w, nn_timeline *tl, const char *tl_path,
                      volatile int *stop);
/* mpirun sends SIGKILL 1 s (odls_base_sigkill_timeout) after its SIGTERM. */
#define NN_WATCHDOG_STOP_WAIT 0.2
/* The step's sum of loss and metric values over ranks (in place), waited on
 * with the stall check as the gradient allreduce; without a watchdog (w off)
 * a plain nn_dist_sum_doubles on w->d. */
int nn_watchdog_sum_doubles(nn_watchdog *w, double *buf, int n, long long step, nn_error *e);
/* MPI_Allreduce in place over w->d, waited on with the stall check (plain
 * MPI_Allreduce when w is off). what names it in a message. */
int nn_watchdog_allreduce(nn_watchdog *w, void *buf, int n, MPI_Datatype type, MPI_Op op,
                          const char *what, nn_error *e);
/* The same on another communicator of the same ranks (BatchNormalization's
 * statistics go over a duplicate, apart from the gradient buckets). */
int nn_watchdog_allreduce_on(nn_watchdog *w, MPI_Comm comm, void *buf, int n, MPI_Datatype type,
                             MPI_Op op, const char *what, nn_error *e);
/* A reduce-scatter of int64 sums over w->d as a ring of point-to-point
 * steps, each waited on with the stall check (Open MPI's MPI_Reduce_scatter
 * took longer than a whole allreduce here): block q of buf is
 * [displs[q], displs[q] + counts[q]); on return this rank's block holds the
 * sum of every rank's, the others are scratch. tmp holds the largest
 * block. w must not be NULL (w->d is the communicator; off: plain waits).
 * add_last 0: the last step's block (the other ranks' sum of this rank's
 * block) is left in tmp, not added to buf's, which is never sent. */
int nn_watchdog_ring_sum_i64(nn_watchdog *w, int64_t *buf, int64_t *tmp, const int *counts,
                             const int *displs, int add_last, long long step, const char *what,
                             nn_error *e);
/* Starts a point-to-point message of n floats over w->d: sent to rank peer
 * (send set) or received from it, into *req (an MPI_Request), waited on with
 * nn_watchdog_wait. Deterministic mode passes a group's float partial sums
 * from one rank to the next this way. */
int nn_watchdog_start_floats(nn_watchdog *w, float *buf, int n, int peer, int send, void *req,
                             const char *what, nn_error *e);
/* MPI_Allgatherv in place over w->d (each rank's block already at its
 * displacement in buf), waited on the same way. */
int nn_watchdog_allgatherv(nn_watchdog *w, void *buf, const int *counts, const int *displs,
                           MPI_Datatype type, const char *what, nn_error *e);
void nn_watchdog_free(nn_watchdog *w);

#endif
