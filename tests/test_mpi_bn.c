/* BatchNormalization over the global batch under a real mpiexec (run with
 * 4 ranks): training on 1, 2, 3 and 4 ranks, and 2 ranks x 2 threads, gives the
 * same parameters and moving statistics (no bias before a BN: its gradient
 * is 0 but for rounding, which Adam would blow up to steps; batches of 16 on 3 ranks, and a
 * last batch of 2 rows, so a rank sits a step out and must still join the
 * statistics); synchronized=False (per-rank statistics) gives different ones;
 * --accumulate is refused. The same for a functional model (a residual block
 * with BN, a strided shortcut and Add, run by the graph executor): np 1-4
 * and 1 vs 3 threads agree, synchronized=False on 2 ranks gives other moving
 * statistics than on 1. Only non-fatal assertions: a rank leaving a test
 * early would desynchronise the collectives. */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nntrain/fit.h"
#include "nntrain/gemm.h"
#include "testutil.h"

static nn_dist world;

#define N_SAMPLES 103
#define H 6
#define W 6
#define C 2

static float xs[N_SAMPLES * H * W * C], ys[N_SAMPLES];

#define SPEC_FMT                                                                            \
    "Conv2D(4, (3, 3), padding=\"same\", use_bias=False, input_shape=(6, 6, 2))\n"           \
    "BatchNormalization(%s)\nReLU()\nMaxPooling2D()\nFlatten()\n"                           \
    "Dense(16, use_bias=False)\nBatchNormalization(momentum=0.9%s)\nActivation(\"relu\")\n"                  \
    "Dense(3, activation=\"softmax\")\n"                                                    \
    "compile(loss=\"sparse_categorical_crossentropy\", optimizer=Adam(lr=0.01))\n"          \
    "fit(batch_size=16, epochs=2, validation_split=0.2, seed=7)\n"

/* The graph: every BN's synchronized option is the %s after its momentum. */
#define GRAPH_FMT                                                                           \
    "inputs = Input(shape=(6, 6, 2))\n"                                                     \
    "x = Conv2D(4, 3, padding=\"same\", use_bias=False)(inputs)\n"                          \
    "x = BatchNormalization(momentum=0.8%s)(x)\n"                                           \
    "x = Activation(\"relu\")(x)\n"                                                         \
    "y = Conv2D(4, 3, strides=2, padding=\"same\", use_bias=False)(x)\n"                    \
    "y = BatchNormalization(momentum=0.9%s)(y)\n"                                           \
    "y = Activation(\"relu\")(y)\n"                                                         \
    "y = Conv2D(4, 3, padding=\"same\", use_bias=False)(y)\n"                               \
    "y = BatchNormalization(momentum=0.9%s)(y)\n"                                           \
    "s = Conv2D(4, 1, strides=2, use_bias=False)(x)\n"                                      \
    "x = add([s, y])\n"                                                                     \
    "x = Activation(\"relu\")(x)\n"                                                         \
    "outputs = Dense(3, activation=\"softmax\")(Flatten()(x))\n"                            \
    "model = Model(inputs=inputs, outputs=outputs)\n"                                       \
    "model.compile(loss=\"sparse_categorical_crossentropy\", optimizer=Adam(lr=0.01))\n"    \
    "model.fit(batch_size=16, epochs=2, validation_split=0.2, seed=7)\n"

static void make_data(void)
{
    tu_fill_uniform(xs, sizeof xs / sizeof xs[0], 11, 0.0f, 0.5f);
    for (int i = 0; i < N_SAMPLES; i++) {
        int k = (i * 7) % 3;
        ys[i] = (float)k;
        for (int r = 0; r < H; r++)
            for (int c = 2 * k; c < 2 * k + 2; c++)
                xs[((i * H + r) * W + c) * C] += 3.0f;   /* a large mean to normalize */
    }
}

typedef struct run_cfg {
    int ranks, threads, overlap, unsync, accumulate, graph;
} run_cfg;

/* Trains on the first cfg->ranks ranks; world rank 0 gets the parameters
 * and, if stats is not NULL, 1 where they are moving statistics. */
static int run(const run_cfg *cfg, float **params, size_t *np, unsigned char **stats,
               nn_error *e)
{
    nn_dist d;
    int rc = nn_dist_sub(&world, cfg->ranks, &d, e);
    if (rc || !d.active)
        return rc;
    d.overlap = cfg->overlap;
    d.bucket_bytes = 4096;
    char text[1024];
    const char *u = cfg->unsync ? ", synchronized=False" : "";
    if (cfg->graph)
        snprintf(text, sizeof text, GRAPH_FMT, u, u, u);
    else
        snprintf(text, sizeof text, SPEC_FMT, cfg->unsync ? "synchronized=False" : "", u);
    nn_spec s;
    nn_model m;
    nn_dataset ds;
    if ((rc = nn_spec_parse(text, "bn.nn", &s, e)) || (rc = nn_model_build(&m, &s, e)))
        return rc;
    nn_spec_free(&s);
    if (cfg->threads > 1 && (rc = nn_model_set_threads(&m, cfg->threads, e))) {
        nn_model_free(&m);
        return rc;
    }
    nn_memory_open(&ds, xs, ys, N_SAMPLES, nn_shape3(H, W, C), 1, 3, "memory", e);
    nn_model_init_params(&m, 7);
    nn_fit_opts o = {.fit = m.fit, .progress = 0, .accumulate = cfg->accumulate};
    o.fit.verbose = 0;
    nn_history h = {0};
    rc = nn_fit(&m, &ds, NULL, &o, &d, &h, e);
    if (!rc && world.rank == 0) {
        *np = m.nparams;
        *params = malloc(m.nparams * sizeof(float));
        memcpy(*params, m.params, m.nparams * sizeof(float));
        if (stats && (*stats = calloc(m.nparams, 1)) != NULL)
            for (int i = 0; i < m.nlayers; i++) {
                const nn_layer *l = &m.layers[i];
                memset(*stats + l->param_off + l->param_len - l->frozen_len, 1, l->frozen_len);
            }
    }
    nn_history_free(&h);
    nn_data_close(&ds);
    nn_model_free(&m);
    nn_dist_free_sub(&d);
    return rc;
}

static double max_rel(const float *a, const float *b, size_t n)
{
    double mr = 0;
    for (size_t i = 0; i < n; i++) {
        double r = fabs((double)a[i] - b[i]) / fmax(1.0, fabs((double)b[i]));
        mr = r > mr ? r : mr;
    }
    return mr;
}

static void test_np_equivalence(void)
{
    const run_cfg cfgs[] = {{1, 1, 1, 0, 0, 0}, {2, 1, 1, 0, 0, 0}, {3, 1, 1, 0, 0, 0},
                            {4, 1, 1, 0, 0, 0}, {3, 1, 0, 0, 0, 0}, {2, 2, 1, 0, 0, 0},
                            {1, 3, 1, 0, 0, 0}, {2, 1, 1, 1, 0, 0}};
    const int n = sizeof cfgs / sizeof cfgs[0];
    float *p[8] = {0};
    size_t np = 0;
    nn_error e = {0};
    for (int k = 0; k < n; k++) {
        int rc = run(&cfgs[k], &p[k], &np, NULL, &e);
        CU_ASSERT_EQUAL(rc, 0);
        if (rc)
            fprintf(stderr, "run %d: %s\n", k, e.msg);
    }
    if (world.rank == 0 && p[0]) {
        /* the moving statistics: the last 2 x 16 floats of the second BN
         * are 0 and 1 at the start; they must have moved */
        for (int k = 1; k < n; k++) {
            if (!p[k])
                continue;
            double r = max_rel(p[k], p[0], np);
            printf("\n  run %d (np=%d, %d thread%s%s%s) vs np=1: max rel diff %.3g", k,
                   cfgs[k].ranks, cfgs[k].threads, cfgs[k].threads > 1 ? "s" : "",
                   cfgs[k].overlap ? "" : ", blocking", cfgs[k].unsync ? ", synchronized=False" : "",
                   r);
            /* per-rank statistics train another model; global ones the same
             * up to the ulps of gradient sums in another order, which the
             * division by batch standard deviations and Adam magnify (1e-4:
             * still 3 orders below the per-rank difference) */
            CU_ASSERT(cfgs[k].unsync ? r > 1e-2 : r < 1e-4);
        }
    }
    for (int k = 0; k < n; k++)
        free(p[k]);
}

/* Max relative difference over the moving statistics only (mask). */
static double max_rel_stats(const float *a, const float *b, const unsigned char *mask, size_t n)
{
    double mr = 0;
    for (size_t i = 0; i < n; i++)
        if (mask[i]) {
            double r = fabs((double)a[i] - b[i]) / fmax(1.0, fabs((double)b[i]));
            mr = r > mr ? r : mr;
        }
    return mr;
}

static void test_graph_np_equivalence(void)
{
    /* the last two: synchronized=False on 1 rank (the reference of the
     * last) and on 2 ranks */
    const run_cfg cfgs[] = {{1, 1, 1, 0, 0, 1}, {2, 1, 1, 0, 0, 1}, {3, 1, 1, 0, 0, 1},
                            {4, 1, 1, 0, 0, 1}, {4, 1, 0, 0, 0, 1}, {1, 3, 1, 0, 0, 1},
                            {2, 2, 1, 0, 0, 1}, {1, 1, 1, 1, 0, 1}, {2, 1, 1, 1, 0, 1}};
    const int n = sizeof cfgs / sizeof cfgs[0];
    float *p[9] = {0};
    unsigned char *mask = NULL;
    size_t np = 0;
    nn_error e = {0};
    for (int k = 0; k < n; k++) {
        int rc = run(&cfgs[k], &p[k], &np, k ? NULL : &mask, &e);
        CU_ASSERT_EQUAL(rc, 0);
        if (rc)
            fprintf(stderr, "graph run %d: %s\n", k, e.msg);
    }
    if (world.rank == 0 && p[0] && mask) {
        size_t nstats = 0;
        double moved = 0;
        for (size_t i = 0; i < np; i++)
            if (mask[i]) {
                /* per BN 4 moving means (from 0), then 4 variances (from 1) */
                moved += fabs(p[0][i] - (nstats / 4 % 2 ? 1.0 : 0.0));
                nstats++;
            }
        CU_ASSERT_EQUAL(nstats, 3 * 2 * 4);   /* 3 BN x (mean, variance) x 4 channels */
        CU_ASSERT(moved > 1e-1);
        for (int k = 1; k < n; k++) {
            const int ref = cfgs[k].unsync && cfgs[k].ranks > 1 ? k - 1 : 0;
            if (!p[k] || !p[ref])
                continue;
            double r = max_rel(p[k], p[ref], np), rs = max_rel_stats(p[k], p[ref], mask, np);
            printf("\n  graph run %d (np=%d, %d thread%s%s%s) vs run %d: max rel diff %.3g, "
                   "moving statistics %.3g",
                   k, cfgs[k].ranks, cfgs[k].threads, cfgs[k].threads > 1 ? "s" : "",
                   cfgs[k].overlap ? "" : ", blocking",
                   cfgs[k].unsync ? ", synchronized=False" : "", ref, r, rs);
            /* as in test_np_equivalence; per-rank statistics on 2 ranks
             * move the moving statistics elsewhere than on 1 */
            if (ref) {
                CU_ASSERT(rs > 1e-2);
            } else {
                CU_ASSERT(r < 1e-4);
            }
        }
    }
    for (int k = 0; k < n; k++)
        free(p[k]);
    free(mask);
}

static void test_moving_stats_moved(void)
{
    run_cfg c = {1, 1, 1, 0, 0, 0};
    float *p = NULL;
    size_t np = 0;
    nn_error e = {0};
    CU_ASSERT_EQUAL(run(&c, &p, &np, NULL, &e), 0);
    if (world.rank == 0 && p) {
        /* layout: conv 72, bn 16, dense 576, bn 64 (gamma, beta, mean, var), dense 51 */
        const float *mm = p + 72 + 16 + 576 + 32, *mv = mm + 16;
        double dm = 0, dv = 0;
        for (int k = 0; k < 16; k++) {
            dm += fabs(mm[k]);
            dv += fabs(mv[k] - 1);
        }
        CU_ASSERT_EQUAL(np, 72 + 16 + 576 + 64 + 51);
        CU_ASSERT(dm > 1e-2 && dv > 1e-2);
    }
    free(p);
}

static void test_accumulate_refused(void)
{
    run_cfg c = {2, 1, 1, 0, 2, 0};
    float *p = NULL;
    size_t np = 0;
    nn_error e = {0};
    int rc = run(&c, &p, &np, NULL, &e);
    if (world.rank < 2) {   /* the ranks in the run */
        CU_ASSERT_EQUAL(rc, NN_EINVAL);
        CU_ASSERT(tu_contains(e.msg, "BatchNormalization needs the whole batch"));
    }
    free(p);
}

int main(int argc, char **argv)
{
    nn_error e = {0};
    if (nn_dist_init(&argc, &argv, &world, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 2;
    }
    nn_blas_set_threads(1);
    make_data();
    const tu_test tests[] = {
        {"np 1,2,3,4 and 2x2 threads: same parameters and moving statistics",
         test_np_equivalence},
        {"graph with BN and Add: np 1,2,3,4, 1 vs 3 threads; synchronized=False differs",
         test_graph_np_equivalence},
        {"the moving statistics moved", test_moving_stats_moved},
        {"--accumulate is refused", test_accumulate_refused},
        {NULL, NULL}};
    int rc = world.size == 4 ? tu_main("mpi_bn", tests) : 2;
    int all = rc;
    MPI_Allreduce(&rc, &all, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    nn_dist_finalize(&world);
    return all;
}
