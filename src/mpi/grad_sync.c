/* Gradient allreduce: blocking, or bucketed MPI_Iallreduce overlapped with
 * backward. Buckets are slices of the flat gradient buffer counted from its
 * end, because backward finishes the last layers first. Every rank starts the
 * same buckets in the same order, which MPI requires of collectives. With the
 * stall watchdog on, even the blocking mode is one non-blocking call that is
 * waited on by polling, so a missing rank is noticed. Every MPI call is
 * checked (the communicator returns errors, see dist.c); a failure during
 * backward is kept and returned by nn_grad_sync_finish. */
#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nntrain/clock.h"
#include "nntrain/grad_sync.h"

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
    s->err.code = NN_OK;
}

/* Keeps the first failure of this step for nn_grad_sync_finish. */
static void fail(nn_grad_sync *s, int rc, const char *what)
{
    if (s->err.code)
        return;
    char msg[MPI_MAX_ERROR_STRING];
    int n = 0;
    if (MPI_Error_string(rc, msg, &n) != MPI_SUCCESS)
        snprintf(msg, sizeof msg, "code %d", rc);
    nn_err(&s->err, NN_EMPI, "%s of the gradients failed: %s", what, msg);
}

/* Bucket k covers [lo, hi) with hi = n - k*bucket. */
static size_t bucket_lo(const nn_grad_sync *s, int k)
{
    size_t hi = s->n - (size_t)k * s->bucket;
    return hi > s->bucket ? hi - s->bucket : 0;
}

/* A bucket that cannot start still counts as started (with a null request,
 * which waits complete at once): every rank goes on through the same
 * buckets, and the error is reported at the end of the step. */
static void start_from(nn_grad_sync *s, size_t off)
{
    MPI_Request *r = s->reqs;
    while (s->started < s->nbuckets && bucket_lo(s, s->started) >= off) {
        int k = s->started++;
        size_t lo = bucket_lo(s, k), hi = s->n - (size_t)k * s->bucket;
        int rc = MPI_Iallreduce(MPI_IN_PLACE, s->g + lo, (int)(hi - lo), MPI_FLOAT, MPI_SUM,
                                s->d->comm, &r[k]);
        if (rc != MPI_SUCCESS) {
            r[k] = MPI_REQUEST_NULL;
            fail(s, rc, "MPI_Iallreduce");
        }
    }
}

void nn_grad_sync_ready(nn_grad_sync *s, size_t off)
{
    if (!s->reqs || !s->overlap)
        return;
    start_from(s, off);
    if (s->started) {
        int flag;   /* lets Open MPI progress the started buckets */
        int rc = MPI_Testall(s->started, s->reqs, &flag, MPI_STATUSES_IGNORE);
        if (rc != MPI_SUCCESS)
            fail(s, rc, "MPI_Testall");
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
    if (s->err.code)   /* the first failure of the step, before the wait's */
        rc = nn_err(e, s->err.code, "%s", s->err.msg);
    return rc;
}

void nn_grad_sync_free(nn_grad_sync *s)
{
    free(s->reqs);
    memset(s, 0, sizeof *s);
}
