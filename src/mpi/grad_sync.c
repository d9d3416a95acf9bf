/* Gradient allreduce: blocking, or bucketed MPI_Iallreduce overlapped with
 * backward. Buckets are slices of the flat gradient buffer counted from its
 * end, because backward finishes the last layers first. Every rank starts the
 * same buckets in the same order, which MPI requires of collectives. With the
 * stall watchdog on, even the blocking mode is one non-blocking call that is
 * waited on by polling, so a missing rank is noticed. */
#include <limits.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "nntrain/clock.h"
#include "nntrain/dist.h"

int nn_grad_sync_init(nn_grad_sync *s, nn_dist *d, float *g, size_t n, nn_watchdog *wd,
                      nn_error *e)
{
    memset(s, 0, sizeof *s);
    s->d = d;
    s->g = g;
    s->n = n;
    s->wd = wd && wd->timeout ? wd : NULL;
    if (!d->active || d->size == 1 || n == 0)
        return NN_OK;
    s->overlap = d->overlap;
    if (!s->overlap && !s->wd)
        return NN_OK;   /* plain MPI_Allreduce */
    size_t b = s->overlap ? d->bucket_bytes / sizeof(float) : n;
    if (b < 1024)
        b = 1024;
    if (b > (size_t)INT_MAX)
        b = (size_t)INT_MAX;
    s->bucket = b;
    s->nbuckets = (int)((n + b - 1) / b);
    s->reqs = calloc((size_t)s->nbuckets + 1, sizeof(MPI_Request));
    if (!s->reqs)
        return nn_err(e, NN_ENOMEM, "out of memory for %d gradient buckets", s->nbuckets);
    return NN_OK;
}

void nn_grad_sync_begin(nn_grad_sync *s)
{
    s->started = 0;
}

/* Bucket k covers [lo, hi) with hi = n - k*bucket. */
static size_t bucket_lo(const nn_grad_sync *s, int k)
{
    size_t hi = s->n - (size_t)k * s->bucket;
    return hi > s->bucket ? hi - s->bucket : 0;
}

static void start_from(nn_grad_sync *s, size_t off)
{
    MPI_Request *r = s->reqs;
    while (s->started < s->nbuckets && bucket_lo(s, s->started) >= off) {
        int k = s->started++;
        size_t lo = bucket_lo(s, k), hi = s->n - (size_t)k * s->bucket;
        MPI_Iallreduce(MPI_IN_PLACE, s->g + lo, (int)(hi - lo), MPI_FLOAT, MPI_SUM,
                       s->d->comm, &r[k]);
    }
}

void nn_grad_sync_ready(nn_grad_sync *s, size_t off)
{
    if (!s->reqs || !s->overlap)
        return;
    start_from(s, off);
    if (s->started) {
        int flag;   /* lets Open MPI progress the started buckets */
        MPI_Testall(s->started, s->reqs, &flag, MPI_STATUSES_IGNORE);
    }
}

int nn_grad_sync_finish(nn_grad_sync *s, nn_error *e)
{
    double t0 = nn_now();
    int rc = NN_OK;
    if (s->wd)
        nn_watchdog_arrive(s->wd, s->step);
    if (!s->reqs) {
        rc = nn_dist_sum_floats(s->d, s->g, s->n, e);
    } else {
        start_from(s, 0);
        rc = nn_watchdog_wait(s->wd, s->nbuckets, s->reqs, s->step, "gradient allreduce", e);
    }
    s->wait_s = nn_now() - t0;
    return rc;
}

void nn_grad_sync_free(nn_grad_sync *s)
{
    free(s->reqs);
    memset(s, 0, sizeof *s);
}
