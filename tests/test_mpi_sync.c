/* The gradient sync (src/mpi/grad_sync.c) on 2 ranks: blocking, overlapped
 * with buckets started as backward announces layers (in any grouping), and
 * with the watchdog, every mode gives every rank the sum; and a failing MPI
 * call, during backward or at the end, comes back from nn_grad_sync_finish
 * as NN_EMPI with the call named, on every rank, with nothing left
 * pending. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nntrain/grad_sync.h"
#include "testutil.h"

#define N 5000   /* floats: five 1024-float buckets at bucket_bytes 4096 */

static nn_dist world;

/* Rank r's gradient element k, and the sum over ranks (small integers:
 * the float sum is exact in any order). */
static float elem(int r, size_t k)
{
    return (float)((k * 7 + (size_t)r * 3) % 101);
}

/* One step: ready at each offset of offs (descending; -1 ends), then
 * finish; returns finish's code. */
static int step(nn_dist *d, float *g, nn_watchdog *wd, const long *offs, nn_error *e)
{
    nn_grad_sync s;
    int rc = nn_grad_sync_init(&s, d, g, N, wd, e);
    if (rc)
        return rc;
    nn_grad_sync_begin(&s);
    for (int i = 0; offs[i] >= 0; i++)
        nn_grad_sync_ready(&s, (size_t)offs[i]);
    rc = nn_grad_sync_finish(&s, e);
    nn_grad_sync_free(&s);
    return rc;
}

static void check_sum(int overlap, nn_watchdog *wd, const long *offs)
{
    nn_dist d = world;
    d.overlap = overlap;
    d.bucket_bytes = 4096;
    float *g = malloc(N * sizeof *g);
    CU_ASSERT_FATAL(g != NULL);
    for (size_t k = 0; k < N; k++)
        g[k] = elem(world.rank, k);
    nn_error e = {0};
    TU_ASSERT_OK(step(&d, g, wd, offs, &e), e);
    long bad = -1;
    for (size_t k = 0; k < N && bad < 0; k++) {
        float want = 0;
        for (int r = 0; r < world.size; r++)
            want += elem(r, k);
        if (g[k] != want)
            bad = (long)k;
    }
    if (bad >= 0)
        printf("\n  overlap %d: element %ld is %g\n", overlap, bad, g[bad]);
    CU_ASSERT_EQUAL(bad, -1);
    free(g);
}

static void test_sums(void)
{
    static const long none[] = {-1}, layers[] = {4900, 3000, 2999, 1200, 0, -1},
                      repeated[] = {4000, 4000, 2500, 2500, 10, -1};
    check_sum(0, NULL, none);
    check_sum(1, NULL, none);
    check_sum(1, NULL, layers);
    check_sum(1, NULL, repeated);
    nn_watchdog wd;
    nn_error e = {0};
    TU_ASSERT_OK(nn_watchdog_init(&wd, &world, 60, &e), e);
    check_sum(0, &wd, none);
    check_sum(1, &wd, layers);
    nn_watchdog_free(&wd);
}

/* A communicator that is no communicator: every call on it fails (the
 * world's handler returns errors, dist.c), the same way on every rank. */
static void check_failure(int overlap, const long *offs, const char *call)
{
    nn_dist d = world;
    d.comm = MPI_COMM_NULL;
    d.overlap = overlap;
    d.bucket_bytes = 4096;
    float *g = calloc(N, sizeof *g);
    CU_ASSERT_FATAL(g != NULL);
    nn_error e = {0};
    int rc = step(&d, g, NULL, offs, &e);
    if (rc != NN_EMPI || !tu_contains(e.msg, call))
        printf("\n  overlap %d: code %d, message '%s' (want %s)\n", overlap, rc, e.msg, call);
    CU_ASSERT_EQUAL(rc, NN_EMPI);
    CU_ASSERT(tu_contains(e.msg, call));
    CU_ASSERT(tu_contains(e.msg, "gradients"));
    free(g);
}

static void test_failures_reach_finish(void)
{
    static const long none[] = {-1}, during[] = {4000, 2000, -1};
    check_failure(0, none, "MPI_Allreduce");
    check_failure(1, none, "MPI_Iallreduce");
    check_failure(1, during, "MPI_Iallreduce");   /* failed inside ready */
    /* and the world still works */
    check_sum(1, NULL, during);
}

int main(int argc, char **argv)
{
    nn_error e = {0};
    if (nn_dist_init(&argc, &argv, &world, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 2;
    }
    if (world.size != 2 && world.rank == 0)
        fprintf(stderr, "test_mpi_sync expects 2 ranks (got %d)\n", world.size);
    const tu_test tests[] = {
        {"every mode gives every rank the sum", test_sums},
        {"a failed MPI call comes back from finish", test_failures_reach_finish},
        {NULL, NULL}};
    int rc = world.size == 2 ? tu_main("mpi_sync", tests) : 2;
    int all = rc;   /* every rank's verdict counts */
    MPI_Allreduce(&rc, &all, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    nn_dist_finalize(&world);
    return all;
}
