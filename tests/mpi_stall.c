/* Stall watchdog check (driven by tests/mpi_stall.sh): rank 1 sleeps inside
 * its data read at step 3, long past --stall-timeout. The job must end
 * within seconds with rank 0 naming rank 1, instead of hanging. This program
 * is meant to be killed by MPI_Abort; exiting normally is a failure. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <time.h>

#include "nntrain/gemm.h"
#include "nntrain/fit.h"

static float xs[64 * 4], ys[64];
static int rank, calls;
static int (*mem_read)(nn_dataset *, const uint64_t *, int, float *, float *, nn_error *);

static int slow_read(nn_dataset *d, const uint64_t *idx, int count, float *x, float *y,
                     nn_error *e)
{
    if (rank == 1 && ++calls == 3) {
        struct timespec ts = {60, 0};
        nanosleep(&ts, NULL);
    }
    return mem_read(d, idx, count, x, y, e);
}

int main(int argc, char **argv)
{
    nn_dist d;
    nn_error e = {0};
    if (nn_dist_init(&argc, &argv, &d, &e))
        return 2;
    rank = d.rank;
    nn_blas_set_threads(1);
    for (int i = 0; i < 64 * 4; i++)
        xs[i] = (float)(i % 7) / 7.0f;
    for (int i = 0; i < 64; i++)
        ys[i] = (float)(i % 2);
    nn_spec s;
    nn_model m;
    nn_dataset ds;
    if (nn_spec_parse("Dense(4, activation=\"relu\", input_shape=(4,))\n"
                      "Dense(2, activation=\"softmax\")\n"
                      "compile(loss=\"sparse_categorical_crossentropy\", optimizer=\"sgd\")\n",
                      "stall.nn", &s, &e) ||
        nn_model_build(&m, &s, &e) ||
        nn_memory_open(&ds, xs, ys, 64, nn_shape1(4), 1, 2, "memory", &e)) {
        fprintf(stderr, "setup failed: %s\n", e.msg);
        return 2;
    }
    mem_read = ds.read;
    ds.read = slow_read;
    nn_model_init_params(&m, 1);
    nn_fit_opts o = {.fit = m.fit, .progress = 0, .stall_timeout = 2};
    o.fit.verbose = 0;
    o.fit.batch_size = 8;
    o.fit.epochs = 1;
    int rc = nn_fit(&m, &ds, NULL, &o, &d, NULL, &e);
    fprintf(stderr, "rank %d: fit returned %d (%s): the watchdog did not fire\n", rank, rc, e.msg);
    nn_dist_finalize(&d);
    return 0;
}
