/* Stall watchdog (see watchdog.h). Rank 0 keeps one receive posted per rank;
 * each other rank sends the number of guarded collectives it has reached
 * (every rank runs the same sequence, so the counts agree), and -1 when it
 * leaves training, so rank 0 can drain every message before the receives are
 * cancelled. */
#define _POSIX_C_SOURCE 200809L
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nntrain/clock.h"
#include "nntrain/watchdog.h"

#define TAG_HEARTBEAT 7301
#define TAG_RING 7302   /* nn_watchdog_ring_sum_i64 */
#define TAG_PASS 7303   /* nn_watchdog_start_floats */

int nn_watchdog_init(nn_watchdog *w, nn_dist *d, double timeout, nn_error *e)
{
    memset(w, 0, sizeof *w);
    w->d = d;
    if (!d->active || d->size == 1 || timeout <= 0)
        return NN_OK;
    w->timeout = timeout;
    if (d->rank == 0) {
        int n = d->size;
        w->seen = calloc((size_t)n, sizeof *w->seen);
        w->heard = calloc((size_t)n, sizeof *w->heard);
        w->inbox = calloc((size_t)n, sizeof *w->inbox);
        MPI_Request *r = calloc((size_t)n, sizeof *r);
        w->rreq = r;
        if (!w->seen || !w->inbox || !r || !w->heard)
            return nn_err(e, NN_ENOMEM, "out of memory for the watchdog");
        r[0] = MPI_REQUEST_NULL;
        for (int i = 1; i < n; i++) {
            w->seen[i] = -2;
            w->heard[i] = nn_now();
            MPI_Irecv(&w->inbox[i], 1, MPI_LONG_LONG, i, TAG_HEARTBEAT, d->comm, &r[i]);
        }
    } else {
        w->sreq = calloc(1, sizeof(MPI_Request));
        if (!w->sreq)
            return nn_err(e, NN_ENOMEM, "out of memory for the watchdog");
    }
    d->wd = w;   /* the nn_dist collectives of the run wait through it */
    return NN_OK;
}

/* Rank 0: takes in every heartbeat that has arrived. */
static void poll_inbox(nn_watchdog *w)
{
    MPI_Request *r = w->rreq;
    for (int i = 1; i < w->d->size; i++) {
        int flag = 1;
        while (r[i] != MPI_REQUEST_NULL && flag) {
            MPI_Test(&r[i], &flag, MPI_STATUS_IGNORE);
            if (!flag)
                break;
            w->seen[i] = w->inbox[i];
            w->heard[i] = nn_now();
            if (w->inbox[i] == -1)
                break;   /* that rank has left: no more messages */
            MPI_Irecv(&w->inbox[i], 1, MPI_LONG_LONG, i, TAG_HEARTBEAT, w->d->comm, &r[i]);
        }
    }
}

static void send_step(nn_watchdog *w, long long step)
{
    MPI_Request *s = w->sreq;
    if (w->sending)
        MPI_Wait(s, MPI_STATUS_IGNORE);
    w->out = step;
    MPI_Isend(&w->out, 1, MPI_LONG_LONG, 0, TAG_HEARTBEAT, w->d->comm, s);
    w->sending = 1;
}

static void arrive(nn_watchdog *w, long long mark)
{
    if (w->d->rank == 0)
        poll_inbox(w);
    else
        send_step(w, mark);
}

void nn_watchdog_arrive(nn_watchdog *w, long long step)
{
    if (w && w->timeout) {
        w->step = step;
        arrive(w, ++w->seq);
    }
}

void nn_watchdog_keep(nn_watchdog *w, nn_timeline *tl, const char *tl_path,
                      volatile int *stop)
{
    w->tl = tl_path ? tl : NULL;
    w->tl_path = tl_path;
    w->stop = stop;
}

/* This rank's row of the timeline, once, while it can still write it. */
static void keep_timeline(nn_watchdog *w, const char *why)
{
    if (!w->tl || w->tl->own_written)
        return;
    nn_error e = {0};
    if (nn_timeline_write_own(w->tl, w->d->rank, w->tl_path, why, &e))
        fprintf(stderr, "nntrain: warning: rank %d: %s\n", w->d->rank, e.msg);
}

/* A stop request that finds this rank waiting for the others: when they
 * do not come, mpirun is ending the job (a rank died) and SIGKILL follows. */
static void check_stop(nn_watchdog *w, long long step, const char *what)
{
    if (!w->stop || !*w->stop)
        return;
    double now = nn_now();
    if (!w->stop_seen)
        w->stop_seen = now;
    else if (now - w->stop_seen > NN_WATCHDOG_STOP_WAIT && w->tl && !w->tl->own_written) {
        char why[160];
        snprintf(why, sizeof why, "stop requested while rank %d waited for the others in the %s of step %lld",
                 w->d->rank, what, step + 1);
        keep_timeline(w, why);
    }
}

static void sleep_us(long us)
{
    struct timespec ts = {0, us * 1000L};
    nanosleep(&ts, NULL);
}

/* Waits for guarded collective number mark with the stall check. */
static int wait_mark(nn_watchdog *w, int n, MPI_Request *r, long long mark, const char *what,
                     nn_error *e)
{
    long long step = w->step;
    int rc;
    w->keepalive = 0;
    double t0 = nn_now(), limit = w->d->rank == 0 ? w->timeout : 2 * w->timeout;
    for (;;) {
        int done = 0;
        rc = MPI_Testall(n, r, &done, MPI_STATUSES_IGNORE);
        if (rc != MPI_SUCCESS) {
            keep_timeline(w, "MPI error in a collective");
            return nn_err(e, NN_EMPI, "%s failed (code %d)", what, rc);
        }
        if (done)
            return NN_OK;
        double waited = nn_now() - t0;
        check_stop(w, step, what);
        if (w->d->rank == 0 && waited > 0.05)   /* who has arrived matters only in a stall */
            poll_inbox(w);
        if (waited > limit)
            break;
        if (w->d->rank > 0 && waited > w->keepalive + w->timeout / 4) {
            send_step(w, mark);   /* still here, waiting */
            w->keepalive = waited;
        }
        if (waited > 0.05)   /* spin through a step's usual waits, as MPI_Waitall */
            sleep_us(waited > 1 ? 1000 : 50);   /* long waits need not spin */
    }
    char missing[1024] = "";
    if (w->d->rank == 0) {
        /* Ranks behind this collective; failing those, ranks that reached it
         * and then went silent (their keep-alive stopped). */
        size_t k = 0;
        int count = 0, silent = 0;
        for (int pass = 0; pass < 2 && !count; pass++)
            for (int i = 1; i < w->d->size && k < sizeof missing - 16; i++)
                if (pass ? nn_now() - w->heard[i] > w->timeout / 2 : w->seen[i] < mark) {
                    k += (size_t)snprintf(missing + k, sizeof missing - k, "%s%d (%s)",
                                          count ? ", " : "", i, nn_dist_who(w->d, i));
                    count++;
                    silent = pass;
                }
        if (k >= sizeof missing)
            strcpy(missing + sizeof missing - 5, "...");
        fprintf(stderr, "nntrain: error: stall: rank%s %s %s %s the %s of step %lld after %.0f s (--stall-timeout); ending the job\n",
                count == 1 ? "" : "s", count ? missing : "(unknown)",
                count == 1 ? "has" : "have", silent ? "stopped responding in" : "not reached",
                what, step + 1, w->timeout);
    } else {
        fprintf(stderr, "nntrain: error: stall: rank %d waited %.0f s in the %s of step %lld: rank 0 or another rank is not responding; ending the job\n",
                w->d->rank, limit, what, step + 1);
    }
    fflush(stderr);
    char why[160];
    snprintf(why, sizeof why, "stall: rank %d ends the job in the %s of step %lld (--stall-timeout)",
             w->d->rank, what, step + 1);
    keep_timeline(w, why);
    MPI_Abort(w->d->comm, NN_EXIT_STALL);
    return nn_err(e, NN_ESTOP, "stall");
}

int nn_watchdog_wait(nn_watchdog *w, int n, void *reqs, long long step, const char *what,
                     nn_error *e)
{
    MPI_Request *r = reqs;
    if (!w || !w->timeout) {
        int rc = MPI_Waitall(n, r, MPI_STATUSES_IGNORE);
        return rc == MPI_SUCCESS ? NN_OK : nn_err(e, NN_EMPI, "%s failed (code %d)", what, rc);
    }
    w->step = step;
    return wait_mark(w, n, r, w->seq, what, e);
}

int nn_watchdog_allreduce(nn_watchdog *w, void *buf, int n, MPI_Datatype type, MPI_Op op,
                          const char *what, nn_error *e)
{
    return nn_watchdog_allreduce_on(w, w ? w->d->comm : MPI_COMM_WORLD, buf, n, type, op, what,
                                    e);
}

int nn_watchdog_allreduce_on(nn_watchdog *w, MPI_Comm comm, void *buf, int n, MPI_Datatype type,
                             MPI_Op op, const char *what, nn_error *e)
{
    int rc;
    if (!w || !w->timeout) {
        rc = MPI_Allreduce(MPI_IN_PLACE, buf, n, type, op, comm);
        return rc == MPI_SUCCESS ? NN_OK : nn_err(e, NN_EMPI, "%s failed (code %d)", what, rc);
    }
    arrive(w, ++w->seq);
    MPI_Request r;
    rc = MPI_Iallreduce(MPI_IN_PLACE, buf, n, type, op, comm, &r);
    if (rc != MPI_SUCCESS)
        return nn_err(e, NN_EMPI, "%s failed to start (code %d)", what, rc);
    return wait_mark(w, 1, &r, w->seq, what, e);
}

int nn_watchdog_ring_sum_i64(nn_watchdog *w, int64_t *buf, int64_t *tmp, const int *counts,
                             const int *displs, int add_last, long long step, const char *what,
                             nn_error *e)
{
    nn_dist *d = w->d;
    int N = d->size, me = d->rank, to = (me + 1) % N, from = (me + N - 1) % N;
    nn_watchdog_arrive(w, step);
    /* step s passes on block me - s - 1 (the sum of s + 1 ranks' parts) and
     * adds the left neighbour's to block me - s - 2: after N - 1 steps block
     * me holds all N parts */
    for (int s = 0; s < N - 1; s++) {
        int out = ((me - s - 1) % N + N) % N, in = ((me - s - 2) % N + N) % N;
        MPI_Request r[2];
        int rc = MPI_Irecv(tmp, counts[in], MPI_INT64_T, from, TAG_RING, d->comm, &r[0]);
        if (rc == MPI_SUCCESS)
            rc = MPI_Isend(buf + displs[out], counts[out], MPI_INT64_T, to, TAG_RING, d->comm,
                           &r[1]);
        if (rc != MPI_SUCCESS)
            return nn_err(e, NN_EMPI, "%s failed to start (code %d)", what, rc);
        if ((rc = nn_watchdog_wait(w, 2, r, step, what, e)))
            return rc;
        if (s == N - 2 && !add_last)
            break;
        int64_t *acc = buf + displs[in];
        for (int i = 0; i < counts[in]; i++)
            acc[i] += tmp[i];
    }
    return NN_OK;
}

int nn_watchdog_start_floats(nn_watchdog *w, float *buf, int n, int peer, int send, void *req,
                             const char *what, nn_error *e)
{
    MPI_Request *r = req;
    int rc = send ? MPI_Isend(buf, n, MPI_FLOAT, peer, TAG_PASS, w->d->comm, r)
                  : MPI_Irecv(buf, n, MPI_FLOAT, peer, TAG_PASS, w->d->comm, r);
    return rc == MPI_SUCCESS ? NN_OK
                             : nn_err(e, NN_EMPI, "%s failed to start (code %d)", what, rc);
}

int nn_watchdog_allgatherv(nn_watchdog *w, void *buf, const int *counts, const int *displs,
                           MPI_Datatype type, const char *what, nn_error *e)
{
    int rc;
    MPI_Comm comm = w->d->comm;
    if (!w->timeout) {
        rc = MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, counts, displs, type, comm);
        return rc == MPI_SUCCESS ? NN_OK : nn_err(e, NN_EMPI, "%s failed (code %d)", what, rc);
    }
    arrive(w, ++w->seq);
    MPI_Request r;
    rc = MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, counts, displs, type, comm, &r);
    if (rc != MPI_SUCCESS)
        return nn_err(e, NN_EMPI, "%s failed to start (code %d)", what, rc);
    return wait_mark(w, 1, &r, w->seq, what, e);
}

int nn_watchdog_sum_doubles(nn_watchdog *w, double *buf, int n, long long step, nn_error *e)
{
    if (!w || !w->timeout)
        return w ? nn_dist_sum_doubles(w->d, buf, n, e) : NN_OK;
    w->step = step;
    return nn_watchdog_allreduce(w, buf, n, MPI_DOUBLE, MPI_SUM, "loss and metric allreduce", e);
}

void nn_watchdog_free(nn_watchdog *w)
{
    if (w->d && w->d->wd == w)
        w->d->wd = NULL;   /* from here on the collectives wait unguarded */
    if (w->timeout && w->d->active) {
        if (w->d->rank == 0) {
            /* Drain until every rank said goodbye, then nothing is in flight. */
            MPI_Request *r = w->rreq;
            double t0 = nn_now();
            for (;;) {
                poll_inbox(w);
                int left = 0;
                for (int i = 1; i < w->d->size; i++)
                    left += w->seen[i] != -1;
                if (!left || nn_now() - t0 > w->timeout)
                    break;
                sleep_us(100);
            }
            for (int i = 1; i < w->d->size; i++)
                if (r[i] != MPI_REQUEST_NULL) {
                    MPI_Cancel(&r[i]);
                    MPI_Wait(&r[i], MPI_STATUS_IGNORE);
                }
        } else {
            send_step(w, -1);
            MPI_Wait(w->sreq, MPI_STATUS_IGNORE);
        }
    }
    free(w->seen);
    free(w->heard);
    free(w->inbox);
    free(w->rreq);
    free(w->sreq);
    memset(w, 0, sizeof *w);
}
