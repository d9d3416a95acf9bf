/* MPI: init (a singleton without mpirun), broadcast, sums and error
 * agreement. Every call checks its return code: the communicator is set to
 * MPI_ERRORS_RETURN so a failure becomes an nn_error instead of an abort. */
#define _POSIX_C_SOURCE 200809L
#include "nntrain/dist.h"
#include "nntrain/watchdog.h"

#include <limits.h>
#include <stdlib.h>
#include <unistd.h>
#include <mpi.h>
#include <stdio.h>
#include <string.h>

void nn_dist_single(nn_dist *d)
{
    memset(d, 0, sizeof *d);
    d->size = 1;
    d->bucket_bytes = 4u << 20;
}

static int mpi_fail(nn_error *e, int rc, const char *what)
{
    char s[MPI_MAX_ERROR_STRING];
    int n = 0;
    if (MPI_Error_string(rc, s, &n) != MPI_SUCCESS)
        snprintf(s, sizeof s, "code %d", rc);
    return nn_err(e, NN_EMPI, "%s failed: %s", what, s);
}

static const char *whoami(char *buf, size_t len)
{
    char host[64] = "?";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = 0;
    snprintf(buf, len, "host %s, pid %ld", host, (long)getpid());
    return buf;
}

/* Every rank's text, cut to NN_DIST_TEXT - 1 chars, into all (rank order). */
static int gather_text(nn_dist *d, const char *mine, char *all, nn_error *e)
{
    char buf[NN_DIST_TEXT];
    snprintf(buf, sizeof buf, "%s", mine);
    if (!d->active || d->size == 1) {
        memcpy(all, buf, sizeof buf);
        return NN_OK;
    }
    int rc = MPI_Allgather(buf, NN_DIST_TEXT, MPI_CHAR, all, NN_DIST_TEXT, MPI_CHAR, d->comm);
    return rc == MPI_SUCCESS ? NN_OK : mpi_fail(e, rc, "MPI_Allgather (rank descriptions)");
}

int nn_dist_init(int *argc, char ***argv, nn_dist *d, nn_error *e)
{
    nn_dist_single(d);
    int inited = 0, provided, rc;
    MPI_Initialized(&inited);
    if (!inited) {
        /* Open MPI's own choice for the gradient buckets' MPI_Iallreduce
         * (several MB) ran rick_dense at 2 ranks 2.2x slower than the
         * blocking allreduce (89 against 41 ms a step; 4 MB buckets);
         * Rabenseifner's (reduce-scatter, allgather) matches it. Read at
         * MPI_Init; a user's setting wins; other MPIs ignore it. */
        setenv("OMPI_MCA_coll_libnbc_iallreduce_algorithm", "3", 0);
        rc = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
        if (rc != MPI_SUCCESS)
            return nn_err(e, NN_EMPI, "MPI_Init_thread failed (code %d)", rc);
        d->we_initialized = 1;
    }
    d->comm = MPI_COMM_WORLD;
    MPI_Comm_set_errhandler(d->comm, MPI_ERRORS_RETURN);
    if ((rc = MPI_Comm_rank(d->comm, &d->rank)) != MPI_SUCCESS ||
        (rc = MPI_Comm_size(d->comm, &d->size)) != MPI_SUCCESS)
        return mpi_fail(e, rc, "MPI_Comm_rank/size");
    d->active = 1;
    /* Every rank's host and pid, once, while all ranks are surely here: a
     * stall or mismatch message names the ranks by them. */
    char me[NN_DIST_TEXT];
    if (!(d->who = malloc((size_t)d->size * NN_DIST_TEXT)))
        return nn_err(e, NN_ENOMEM, "out of memory for %d rank names", d->size);
    return gather_text(d, whoami(me, sizeof me), d->who, e);
}

const char *nn_dist_who(const nn_dist *d, int rank)
{
    return d->who && rank >= 0 && rank < d->size ? d->who + (size_t)rank * NN_DIST_TEXT
                                                  : "host ?, pid ?";
}

void nn_dist_finalize(nn_dist *d)
{
    if (d->active && d->we_initialized) {
        int fin = 0;
        MPI_Finalized(&fin);
        if (!fin)
            MPI_Finalize();
    }
    free(d->who);
    d->who = NULL;
    d->active = 0;
}

int nn_dist_sub(const nn_dist *parent, int n, nn_dist *sub, nn_error *e)
{
    *sub = *parent;
    sub->we_initialized = 0;
    sub->who = NULL;   /* the parent's table is indexed by the parent's ranks */
    sub->wd = NULL;
    int in = parent->rank < n;
    MPI_Comm c;
    int rc = MPI_Comm_split(parent->comm, in ? 0 : MPI_UNDEFINED, parent->rank, &c);
    if (rc != MPI_SUCCESS)
        return mpi_fail(e, rc, "MPI_Comm_split");
    if (!in) {
        sub->active = 0;
        sub->size = 0;
        sub->comm = MPI_COMM_NULL;
        return NN_OK;
    }
    MPI_Comm_set_errhandler(c, MPI_ERRORS_RETURN);
    sub->comm = c;
    MPI_Comm_rank(c, &sub->rank);
    MPI_Comm_size(c, &sub->size);
    return NN_OK;
}

int nn_dist_dup(const nn_dist *d, nn_dist *dup, nn_error *e)
{
    *dup = *d;
    dup->we_initialized = 0;
    dup->who = NULL;
    dup->wd = NULL;
    if (!d->active || d->size == 1) {
        dup->comm = MPI_COMM_NULL;
        return NN_OK;
    }
    int rc = MPI_Comm_dup(d->comm, &dup->comm);
    if (rc != MPI_SUCCESS) {
        dup->comm = MPI_COMM_NULL;
        dup->active = 0;
        return mpi_fail(e, rc, "MPI_Comm_dup");
    }
    MPI_Comm_set_errhandler(dup->comm, MPI_ERRORS_RETURN);
    return NN_OK;
}

void nn_dist_free_sub(nn_dist *sub)
{
    if (sub->comm != MPI_COMM_NULL && sub->comm != MPI_COMM_WORLD)
        MPI_Comm_free(&sub->comm);
    sub->active = 0;
}

void nn_dist_shard(size_t B, int N, int r, size_t *off, size_t *cnt)
{
    size_t base = B / (size_t)N, extra = B % (size_t)N, ur = (size_t)r;
    *cnt = base + (ur < extra ? 1 : 0);
    *off = ur * base + (ur < extra ? ur : extra);
}

/* One in-place collective over count elements at p (count fits an int). */
typedef int (*collective)(void *p, int count, MPI_Comm comm);

static int bcast_bytes(void *p, int count, MPI_Comm comm)
{
    return MPI_Bcast(p, count, MPI_BYTE, 0, comm);
}

static int sum_floats(void *p, int count, MPI_Comm comm)
{
    return MPI_Allreduce(MPI_IN_PLACE, p, count, MPI_FLOAT, MPI_SUM, comm);
}

/* MPI counts are ints: runs op over n elements of size bytes at buf in
 * pieces of at most INT_MAX elements. what names op in an error. */
static int chunked(nn_dist *d, collective op, void *buf, size_t n, size_t size,
                   const char *what, nn_error *e)
{
    if (!d->active || d->size == 1)
        return NN_OK;
    char *p = buf;
    while (n) {
        int c = n > (size_t)INT_MAX ? INT_MAX : (int)n;
        int rc = op(p, c, d->comm);
        if (rc != MPI_SUCCESS)
            return mpi_fail(e, rc, what);
        p += (size_t)c * size;
        n -= (size_t)c;
    }
    return NN_OK;
}

int nn_dist_bcast_bytes(nn_dist *d, void *buf, size_t n, nn_error *e)
{
    return chunked(d, bcast_bytes, buf, n, 1, "MPI_Bcast", e);
}

int nn_dist_bcast_floats(nn_dist *d, float *buf, size_t n, nn_error *e)
{
    return nn_dist_bcast_bytes(d, buf, n * sizeof(float), e);
}

int nn_dist_sum_floats(nn_dist *d, float *buf, size_t n, nn_error *e)
{
    return chunked(d, sum_floats, buf, n, sizeof(float), "MPI_Allreduce of the gradients", e);
}

int nn_dist_sum_doubles(nn_dist *d, double *buf, int n, nn_error *e)
{
    if (!d->active || d->size == 1)
        return NN_OK;
    if (d->wd)
        return nn_watchdog_allreduce(d->wd, buf, n, MPI_DOUBLE, MPI_SUM, "sum of metrics", e);
    int rc = MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_DOUBLE, MPI_SUM, d->comm);
    return rc == MPI_SUCCESS ? NN_OK : mpi_fail(e, rc, "MPI_Allreduce of the metrics");
}

double nn_dist_max_double(nn_dist *d, double v)
{
    if (d->active && d->size > 1 && d->wd)
        nn_watchdog_allreduce(d->wd, &v, 1, MPI_DOUBLE, MPI_MAX, "maximum over ranks", NULL);
    else if (d->active && d->size > 1)
        MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_DOUBLE, MPI_MAX, d->comm);
    return v;
}

int nn_dist_agree(nn_dist *d, int status, nn_error *e)
{
    if (!d->active || d->size == 1)
        return status;
    /* The lowest failing rank speaks for all. */
    int first = status ? d->rank : INT_MAX, rc;
    if (d->wd) {
        nn_error we = {0};
        if ((rc = nn_watchdog_allreduce(d->wd, &first, 1, MPI_INT, MPI_MIN, "error agreement", &we)))
            return nn_err(e, rc, "%s", we.msg);
    } else if ((rc = MPI_Allreduce(MPI_IN_PLACE, &first, 1, MPI_INT, MPI_MIN, d->comm)) !=
               MPI_SUCCESS) {
        return mpi_fail(e, rc, "MPI_Allreduce (error agreement)");
    }
    if (first == INT_MAX)
        return NN_OK;
    struct {
        int code;
        char msg[sizeof e->msg];
    } m;
    memset(&m, 0, sizeof m);
    if (d->rank == first) {
        m.code = status;
        snprintf(m.msg, sizeof m.msg, "%s", e ? e->msg : "failed");
    }
    rc = MPI_Bcast(&m, (int)sizeof m, MPI_BYTE, first, d->comm);
    if (rc != MPI_SUCCESS)
        return mpi_fail(e, rc, "MPI_Bcast (error agreement)");
    if (d->rank == first)
        return status;
    return nn_err(e, m.code, "rank %d: %s", first, m.msg);
}

int nn_dist_check_same(nn_dist *d, uint64_t v, const char *what, nn_error *e)
{
    if (!d->active || d->size == 1)
        return NN_OK;
    unsigned long long mm[2] = {v, ~v}, r[2];
    int rc = MPI_Allreduce(mm, r, 2, MPI_UNSIGNED_LONG_LONG, MPI_MAX, d->comm);
    if (rc != MPI_SUCCESS)
        return mpi_fail(e, rc, "MPI_Allreduce (consistency check)");
    if (r[0] != v || r[1] != ~v)
        return nn_err(e, NN_EINVAL, "ranks disagree on %s: every rank must run the same model spec and options (rank %d has %016llx)",
                      what, d->rank, (unsigned long long)v);
    return NN_OK;
}

int nn_dist_same_text(nn_dist *d, const char *mine, const char *what, nn_error *e)
{
    if (!d->active || d->size == 1)
        return NN_OK;
    char *all = malloc((size_t)d->size * NN_DIST_TEXT);
    if (!all)
        return nn_err(e, NN_ENOMEM, "out of memory comparing %s over %d ranks", what, d->size);
    int rc = gather_text(d, mine, all, e);
    for (int r = 1; !rc && r < d->size; r++)
        if (strcmp(all, all + (size_t)r * NN_DIST_TEXT))
            rc = nn_err(e, NN_EINVAL, "ranks opened different %s: rank 0 (%s) has %s; rank %d "
                        "(%s) has %s. Every rank must see the same files (a shared file "
                        "system, the same --wdir)", what, nn_dist_who(d, 0), all, r,
                        nn_dist_who(d, r), all + (size_t)r * NN_DIST_TEXT);
    free(all);
    return rc;
}

int nn_dist_same_kernels(nn_dist *d, const char *mine, nn_error *e)
{
    if (!d->active || d->size == 1)
        return NN_OK;
    char *all = malloc((size_t)d->size * NN_DIST_TEXT);
    if (!all)
        return nn_err(e, NN_ENOMEM, "out of memory comparing kernels over %d ranks", d->size);
    int rc = gather_text(d, mine, all, e);
    char ranks[200] = "";
    size_t len = 0;
    int first = 0, ndiff = 0;
    for (int r = 1; !rc && r < d->size; r++) {
        if (!strcmp(all, all + (size_t)r * NN_DIST_TEXT))
            continue;
        if (!ndiff++)
            first = r;
        if (len < sizeof ranks - 16)
            len += (size_t)snprintf(ranks + len, sizeof ranks - len, "%s%d", len ? ", " : "", r);
    }
    if (!rc && ndiff)
        rc = nn_err(e, NN_EINVAL, "--deterministic: ranks run different kernels, so their sums would round differently: rank 0 (%s) has %s; rank %d (%s) has %s (ranks differing from rank 0: %s). Run on nodes of one instruction set and the same build, or train without --deterministic",
                    nn_dist_who(d, 0), all, first, nn_dist_who(d, first),
                    all + (size_t)first * NN_DIST_TEXT, ranks);
    free(all);
    return rc;
}
