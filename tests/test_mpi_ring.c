/* Deterministic mode's gradient exchange pieces (src/mpi/watchdog.c) on
 * 2, 3 and 4 of 4 ranks, with the watchdog off and on: the ring
 * reduce-scatter of int64 sums leaves every rank the exact sum of its
 * block (uneven blocks, empty ones, values near 2^60 of both signs), or
 * with add_last 0 the other ranks' sum of it in tmp and its own untouched;
 * and the in-place allgather hands every rank every block. */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "nntrain/watchdog.h"
#include "testutil.h"

static nn_dist world;

/* Rank r's element k: large, of either sign; the sum of up to 4 stays
 * far inside int64. */
static int64_t elem(int r, size_t k)
{
    int64_t big = (int64_t)1 << 60;
    return (int64_t)((k * 2654435761u + (size_t)r * 40503u) % 1000003u) * (big / 1000003) *
           ((k + (size_t)r) % 3 == 0 ? -1 : 1) + (int64_t)k;
}

/* The exchange of n elements over the first N ranks; bad counts the wrong
 * elements on this rank. */
static void check(int N, size_t n, double timeout)
{
    nn_dist d;
    nn_error e = {0};
    TU_ASSERT_OK(nn_dist_sub(&world, N, &d, &e), e);
    if (!d.active) {
        nn_dist_free_sub(&d);
        return;
    }
    nn_watchdog wd;
    TU_ASSERT_OK(nn_watchdog_init(&wd, &d, timeout, &e), e);
    int *cnt = malloc((size_t)N * sizeof *cnt), *dsp = malloc((size_t)N * sizeof *dsp);
    int64_t *buf = malloc((n + 1) * sizeof *buf), *tmp = malloc((n + 1) * sizeof *tmp);
    float *f = malloc((n + 1) * sizeof *f);
    CU_ASSERT_FATAL(cnt && dsp && buf && tmp && f);
    for (int q = 0; q < N; q++) {
        size_t off, c;
        nn_dist_shard(n, N, q, &off, &c);
        cnt[q] = (int)c;
        dsp[q] = (int)off;
    }
    for (size_t k = 0; k < n; k++) {
        buf[k] = elem(d.rank, k);
        f[k] = -1;
    }
    TU_ASSERT_OK(nn_watchdog_ring_sum_i64(&wd, buf, tmp, cnt, dsp, 1, 1, "ring test", &e), e);
    long bad = -1;
    for (int k = dsp[d.rank]; k < dsp[d.rank] + cnt[d.rank]; k++) {
        int64_t want = 0;
        for (int q = 0; q < N; q++)
            want += elem(q, (size_t)k);
        if (buf[k] != want && bad < 0)
            bad = k;
        f[k] = (float)(k % 1000);   /* this rank's block for the gather */
    }
    /* add_last 0: this rank's block is never sent, so any values there */
    for (size_t k = 0; k < n; k++)
        buf[k] = (int)k >= dsp[d.rank] && (int)k < dsp[d.rank] + cnt[d.rank] ? 7 : elem(d.rank, k);
    TU_ASSERT_OK(nn_watchdog_ring_sum_i64(&wd, buf, tmp, cnt, dsp, 0, 2, "ring test", &e), e);
    long badl = -1;
    for (int k = dsp[d.rank]; k < dsp[d.rank] + cnt[d.rank]; k++) {
        int64_t want = 0;
        for (int q = 0; q < N; q++)
            want += q == d.rank ? 0 : elem(q, (size_t)k);
        if ((tmp[k - dsp[d.rank]] != want || buf[k] != 7) && badl < 0)
            badl = k;
    }
    TU_ASSERT_OK(nn_watchdog_allgatherv(&wd, f, cnt, dsp, MPI_FLOAT, "gather test", &e), e);
    long badf = -1;
    for (size_t k = 0; k < n; k++)
        if (f[k] != (float)(k % 1000) && badf < 0)
            badf = (long)k;
    if (bad >= 0 || badl >= 0 || badf >= 0)
        printf("\n  N=%d n=%zu timeout %g rank %d: sum wrong at %ld, kept apart at %ld, gather "
               "at %ld\n", N, n, timeout, d.rank, bad, badl, badf);
    CU_ASSERT_EQUAL(bad, -1);
    CU_ASSERT_EQUAL(badl, -1);
    CU_ASSERT_EQUAL(badf, -1);
    free(cnt);
    free(dsp);
    free(buf);
    free(tmp);
    free(f);
    nn_watchdog_free(&wd);
    nn_dist_free_sub(&d);
}

static void test_ring(void)
{
    static const size_t sizes[] = {1, 2, 3, 7, 1000, 100003};
    for (int N = 2; N <= world.size; N++)
        for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
            check(N, sizes[i], 0);
            check(N, sizes[i], 60);
        }
}

int main(int argc, char **argv)
{
    nn_error e = {0};
    if (nn_dist_init(&argc, &argv, &world, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 2;
    }
    const tu_test tests[] = {
        {"ring reduce-scatter sums and allgather over 2..4 ranks", test_ring},
        {NULL, NULL}};
    int rc = tu_main("mpi_ring", tests);
    int all = rc;   /* every rank's verdict counts */
    MPI_Allreduce(&rc, &all, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    nn_dist_finalize(&world);
    return all;
}
