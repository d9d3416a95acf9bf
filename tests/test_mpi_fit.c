/* Data parallelism under a real mpiexec (run with 4 ranks): training on 1, 2,
 * 3 and 4 ranks (sub-communicators of one launch) gives the same parameters;
 * repeated runs are bitwise identical; blocking and bucketed allreduce agree;
 * failures on one rank stop every rank with that rank's message. Only
 * non-fatal assertions: a rank leaving a test early would desynchronise the
 * collectives. */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nntrain/clock.h"
#include "nntrain/gemm.h"
#include "nntrain/fit.h"
#include "testutil.h"

static nn_dist world;

#define N_SAMPLES 103
#define H 8
#define W 8
#define C 2

static float xs[N_SAMPLES * H * W * C], ys[N_SAMPLES];

static const char *spec_text =
    "Conv2D(8, (3, 3), padding=\"same\", activation=\"relu\", input_shape=(8, 8, 2))\n"
    "MaxPooling2D((2, 2))\n"
    "Flatten()\n"
    "Dense(32, activation=\"relu\")\n"
    "Dropout(0.25)\n"
    "Dense(3, activation=\"softmax\")\n"
    "compile(loss=\"sparse_categorical_crossentropy\", optimizer=Adam(lr=0.01), metrics=[\"accuracy\"])\n"
    "fit(batch_size=16, epochs=2, validation_split=0.2, seed=7)\n";

/* spec_text with weight regularizers on every kernel and one bias: their
 * gradient must count once in the averaged gradient whatever the ranks. */
static const char *reg_spec =
    "Conv2D(8, (3, 3), padding=\"same\", activation=\"relu\", input_shape=(8, 8, 2), "
    "kernel_regularizer=l2(0.01))\n"
    "MaxPooling2D((2, 2))\n"
    "Flatten()\n"
    "Dense(32, activation=\"relu\", kernel_regularizer=l1_l2(l1=0.001, l2=0.01), "
    "bias_regularizer=l1(0.01))\n"
    "Dropout(0.25)\n"
    "Dense(3, activation=\"softmax\", kernel_regularizer=regularizers.l1(0.002))\n"
    "compile(loss=\"sparse_categorical_crossentropy\", optimizer=Adam(lr=0.01), metrics=[\"accuracy\"])\n"
    "fit(batch_size=16, epochs=2, validation_split=0.2, seed=7)\n";

/* The same samples read as sequences of 8 steps x 16 features. */
static const char *lstm_spec =
    "LSTM(12, return_sequences=True, input_shape=(8, 16))\n"
    "SimpleRNN(8)\n"
    "Dense(3, activation=\"softmax\")\n"
    "compile(loss=\"sparse_categorical_crossentropy\", optimizer=Adam(lr=0.01), metrics=[\"accuracy\"])\n"
    "fit(batch_size=16, epochs=2, validation_split=0.2, seed=7)\n";

static void make_data(void)
{
    /* Noise plus a bright vertical band whose position is the class. */
    tu_fill_uniform(xs, sizeof xs / sizeof xs[0], 11, 0.0f, 0.5f);
    for (int i = 0; i < N_SAMPLES; i++) {
        int k = (i * 7) % 3;
        ys[i] = (float)k;
        for (int r = 0; r < H; r++)
            for (int c = 2 * k; c < 2 * k + 2; c++)
                xs[((i * H + r) * W + c) * C] += 0.5f;
    }
}

/* A dataset whose read fails on one rank at one step. */
typedef struct failing {
    int fail_rank, fail_call, calls, rank;
} failing;
static failing fail_cfg = {-1, 0, 0, 0};
static int (*mem_read)(nn_dataset *, const uint64_t *, int, float *, float *, nn_error *);

static int failing_read(nn_dataset *d, const uint64_t *idx, int count, float *x, float *y,
                        nn_error *e)
{
    if (fail_cfg.rank == fail_cfg.fail_rank && ++fail_cfg.calls == fail_cfg.fail_call)
        return nn_err(e, NN_EIO, "test-data.h5: sample %llu: simulated read error",
                      (unsigned long long)idx[0]);
    return mem_read(d, idx, count, x, y, e);
}

typedef struct run_cfg {
    int ranks, overlap, batch, accumulate, threads;
    const char *timeline;
    double stall_timeout;
    size_t bucket_bytes;
    double lr;
    const char *spec;
} run_cfg;

/* Trains on the first cfg->ranks ranks; on world rank 0 copies the final
 * parameters into *params (malloc'd) and returns the status. */
static int run(const run_cfg *cfg, float **params, size_t *np, double *val_loss,
               nn_error *e)
{
    nn_dist d;
    int rc = nn_dist_sub(&world, cfg->ranks, &d, e);
    if (rc || !d.active)
        return rc;
    d.overlap = cfg->overlap;
    d.bucket_bytes = cfg->bucket_bytes ? cfg->bucket_bytes : 4u << 20;
    nn_spec s;
    nn_model m;
    nn_dataset ds;
    rc = nn_spec_parse(cfg->spec ? cfg->spec : spec_text, "mpi.nn", &s, e);
    if (!rc)
        rc = nn_model_build(&m, &s, e);
    if (rc)
        return rc;
    nn_spec_free(&s);
    if (cfg->threads > 1 && (rc = nn_model_set_threads(&m, cfg->threads, e))) {
        nn_model_free(&m);
        return rc;
    }
    if (cfg->lr > 0)
        m.optim.lr = cfg->lr;
    nn_memory_open(&ds, xs, ys, N_SAMPLES, nn_shape3(H, W, C), 1, 3, "memory", e);
    mem_read = ds.read;
    ds.read = failing_read;
    fail_cfg.rank = d.rank;
    fail_cfg.calls = 0;
    nn_model_init_params(&m, 7);
    nn_fit_opts o = {.fit = m.fit, .progress = 0, .accumulate = cfg->accumulate,
                     .timeline = cfg->timeline, .stall_timeout = cfg->stall_timeout};
    o.fit.verbose = 0;
    if (cfg->batch)
        o.fit.batch_size = cfg->batch;
    nn_history h = {0};
    rc = nn_fit(&m, &ds, NULL, &o, &d, &h, e);
    if (!rc && world.rank == 0) {
        *np = m.nparams;
        *params = malloc(m.nparams * sizeof(float));
        memcpy(*params, m.params, m.nparams * sizeof(float));
        *val_loss = h.vals[(size_t)(h.epochs - 1) * (size_t)h.ncols + 2];
    }
    nn_history_free(&h);
    nn_data_close(&ds);
    nn_model_free(&m);
    nn_dist_free_sub(&d);
    return rc;
}

/* max |a - b| / max(1, |b|): relative for large values, absolute below 1
 * (float sums in a different order differ by ulps of the summands). */
static double rel_diff(const float *a, const float *b, size_t n, double *max_abs)
{
    double mr = 0;
    *max_abs = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (d > *max_abs)
            *max_abs = d;
        double r = d / fmax(1.0, fabs((double)b[i]));
        if (r > mr)
            mr = r;
    }
    return mr;
}

static void test_np_equivalence(void)
{
    float *p[5] = {0};
    size_t np = 0;
    double vl[5] = {0};
    nn_error e = {0};
    for (int k = 1; k <= 4; k++) {
        run_cfg c = {.ranks = k, .overlap = 1, .bucket_bytes = 4096};
        int rc = run(&c, &p[k], &np, &vl[k], &e);
        CU_ASSERT_EQUAL(rc, 0);
        if (rc)
            fprintf(stderr, "np=%d: %s\n", k, e.msg);
    }
    if (world.rank == 0) {
        CU_ASSERT(np > 4000);
        for (int k = 2; k <= 4; k++) {
            double ma = 0, r = p[1] && p[k] ? rel_diff(p[k], p[1], np, &ma) : 1;
            printf("\n  np=%d vs np=1: max abs diff %.3g, max rel diff %.3g, val_loss %.6f vs %.6f",
                   k, ma, r, vl[k], vl[1]);
            CU_ASSERT(r < 1e-5);
            CU_ASSERT(fabs(vl[k] - vl[1]) < 1e-5);
        }
        /* it learned: chance level is ln 3 = 1.0986 */
        CU_ASSERT(vl[1] > 0 && vl[1] < 0.9);
    }
    for (int k = 1; k <= 4; k++)
        free(p[k]);
}

static void test_np_equivalence_lstm(void)
{
    float *p[5] = {0};
    size_t np = 0;
    double vl[5] = {0};
    nn_error e = {0};
    for (int k = 1; k <= 4; k += 3) {
        run_cfg c = {.ranks = k, .overlap = 1, .bucket_bytes = 4096, .spec = lstm_spec};
        int rc = run(&c, &p[k], &np, &vl[k], &e);
        CU_ASSERT_EQUAL(rc, 0);
        if (rc)
            fprintf(stderr, "lstm np=%d: %s\n", k, e.msg);
    }
    if (world.rank == 0 && p[1] && p[4]) {
        double ma = 0, r = rel_diff(p[4], p[1], np, &ma);
        printf("\n  LSTM np=4 vs np=1: max abs diff %.3g, val_loss %.6f vs %.6f", ma, vl[4], vl[1]);
        CU_ASSERT(np > 1000);
        CU_ASSERT(r < 1e-5);
        CU_ASSERT(fabs(vl[4] - vl[1]) < 1e-5);
    }
    free(p[1]);
    free(p[4]);
}

/* Regularizers: np 1, 2 and 2 x 2 threads give the same parameters and
 * val_loss (which includes the penalty), and the penalty changed them. */
static void test_np_equivalence_regularizers(void)
{
    float *p[4] = {0}, *plain = NULL;
    size_t np = 0, np0 = 0;
    double vl[4] = {0}, vl0 = 0;
    nn_error e = {0};
    const run_cfg cfgs[4] = {{.ranks = 1, .overlap = 1, .bucket_bytes = 4096, .spec = reg_spec},
                             {.ranks = 2, .overlap = 1, .bucket_bytes = 4096, .spec = reg_spec},
                             {.ranks = 2, .overlap = 1, .bucket_bytes = 4096, .spec = reg_spec,
                              .threads = 2},
                             {.ranks = 1, .overlap = 1, .bucket_bytes = 4096}};
    for (int k = 0; k < 4; k++) {
        int rc = k < 3 ? run(&cfgs[k], &p[k], &np, &vl[k], &e) : run(&cfgs[k], &plain, &np0, &vl0, &e);
        CU_ASSERT_EQUAL(rc, 0);
        if (rc)
            fprintf(stderr, "regularizers run %d: %s\n", k, e.msg);
    }
    if (world.rank == 0 && p[0] && p[1] && p[2] && plain) {
        CU_ASSERT_EQUAL(np, np0);
        for (int k = 1; k < 3; k++) {
            double ma = 0, r = rel_diff(p[k], p[0], np, &ma);
            printf("\n  regularized run %d vs np=1: max abs diff %.3g, val_loss %.6f vs %.6f", k,
                   ma, vl[k], vl[0]);
            CU_ASSERT(r < 1e-5);
            CU_ASSERT(fabs(vl[k] - vl[0]) < 1e-5);
        }
        double ma = 0;
        rel_diff(p[0], plain, np, &ma);
        printf("\n  regularized vs plain: max abs diff %.3g, val_loss %.6f vs %.6f", ma, vl[0], vl0);
        CU_ASSERT(ma > 1e-2);
    }
    for (int k = 0; k < 3; k++)
        free(p[k]);
    free(plain);
}

/* Compute threads split each rank's rows again: ranks x threads in any mix
 * (uneven slices, overlapped buckets announced from the threaded backward,
 * micro-batches) train the same model as one rank with one thread. */
static void test_threads_equivalence(void)
{
    const run_cfg cases[] = {
        {.ranks = 1, .threads = 1},
        {.ranks = 1, .threads = 2},
        {.ranks = 1, .threads = 3},
        {.ranks = 2, .threads = 2, .overlap = 1, .bucket_bytes = 4096},
        {.ranks = 3, .threads = 3, .overlap = 1, .bucket_bytes = 4096, .accumulate = 2},
        {.ranks = 1, .threads = 1, .spec = lstm_spec},
        {.ranks = 2, .threads = 3, .overlap = 1, .bucket_bytes = 4096, .spec = lstm_spec},
    };
    enum { NCASES = sizeof cases / sizeof cases[0] };
    float *p[NCASES] = {0};
    size_t np[NCASES] = {0};
    double vl[NCASES] = {0};
    nn_error e = {0};
    for (int k = 0; k < NCASES; k++) {
        int rc = run(&cases[k], &p[k], &np[k], &vl[k], &e);
        CU_ASSERT_EQUAL(rc, 0);
        if (rc)
            fprintf(stderr, "case %d: %s\n", k, e.msg);
    }
    if (world.rank == 0)
        for (int k = 1; k < NCASES; k++) {
            int ref = cases[k].spec ? 5 : 0;
            if (k == ref || !p[k] || !p[ref]) {
                CU_ASSERT(k == ref);
                continue;
            }
            double ma = 0, r = rel_diff(p[k], p[ref], np[k], &ma);
            printf("\n  %s np=%d x %d threads vs 1 x 1: max abs diff %.3g, val_loss %.6f vs %.6f",
                   cases[k].spec ? "LSTM" : "CNN", cases[k].ranks, cases[k].threads, ma, vl[k],
                   vl[ref]);
            CU_ASSERT(np[k] == np[ref]);
            CU_ASSERT(r < 1e-5);
            CU_ASSERT(fabs(vl[k] - vl[ref]) < 1e-5);
        }
    for (int k = 0; k < NCASES; k++)
        free(p[k]);
}

/* The configuration run twice gives bitwise the same parameters and loss. */
static void check_bitwise(run_cfg c)
{
    float *a = NULL, *b = NULL;
    size_t np = 0;
    double v1 = 0, v2 = 0;
    nn_error e = {0};
    CU_ASSERT_EQUAL(run(&c, &a, &np, &v1, &e), 0);
    CU_ASSERT_EQUAL(run(&c, &b, &np, &v2, &e), 0);
    if (world.rank == 0) {
        CU_ASSERT(a && b && memcmp(a, b, np * sizeof(float)) == 0);
        CU_ASSERT(v1 == v2);
    }
    free(a);
    free(b);
}

static void test_threads_bitwise_repeatable(void)
{
    check_bitwise((run_cfg){.ranks = 2, .threads = 3, .overlap = 1, .bucket_bytes = 4096});
}

static void test_np2_bitwise_repeatable(void)
{
    check_bitwise((run_cfg){.ranks = 2, .overlap = 1});
}

static void test_blocking_equals_overlap(void)
{
    float *a = NULL, *b = NULL;
    size_t np = 0;
    double v1 = 0, v2 = 0, ma = 0;
    nn_error e = {0};
    run_cfg blocking = {.ranks = 4, .overlap = 0}, overlap = {.ranks = 4, .overlap = 1,
                                                              .bucket_bytes = 4096};
    CU_ASSERT_EQUAL(run(&blocking, &a, &np, &v1, &e), 0);
    CU_ASSERT_EQUAL(run(&overlap, &b, &np, &v2, &e), 0);
    if (world.rank == 0 && a && b) {
        double r = rel_diff(a, b, np, &ma);
        printf("\n  blocking vs overlapped (5 buckets): max abs diff %.3g, rel %.3g", ma, r);
        CU_ASSERT(r < 1e-6);
    }
    free(a);
    free(b);
}

static void test_accumulation_and_watchdog(void)
{
    /* 4 ranks x 3 micro-batches, with the stall watchdog polling the
     * collectives, against one rank in one pass. */
    float *a = NULL, *b = NULL;
    size_t np = 0;
    double v1 = 0, v2 = 0, ma = 0;
    nn_error e = {0};
    run_cfg one = {.ranks = 1}, acc = {.ranks = 4, .overlap = 1, .accumulate = 3,
                                       .bucket_bytes = 4096, .stall_timeout = 60};
    CU_ASSERT_EQUAL(run(&one, &a, &np, &v1, &e), 0);
    CU_ASSERT_EQUAL(run(&acc, &b, &np, &v2, &e), 0);
    if (world.rank == 0 && a && b) {
        double r = rel_diff(b, a, np, &ma);
        printf("\n  np=4 x accumulate 3 vs np=1: max abs diff %.3g", ma);
        CU_ASSERT(r < 1e-5);
    }
    free(a);
    free(b);
}

static void test_timeline(void)
{
    char path[256] = "";
    if (world.rank == 0) {
        const char *dir = tu_tmpdir();
        snprintf(path, sizeof path, "%s/trace.json", dir ? dir : "/tmp");
    }
    MPI_Bcast(path, sizeof path, MPI_CHAR, 0, MPI_COMM_WORLD);
    float *p = NULL;
    size_t np;
    double v;
    nn_error e = {0};
    run_cfg c = {.ranks = 3, .overlap = 1, .timeline = path};
    CU_ASSERT_EQUAL(run(&c, &p, &np, &v, &e), 0);
    if (world.rank == 0) {
        FILE *f = fopen(path, "r");
        char buf[1 << 16] = "";
        size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        buf[n] = 0;
        if (f)
            fclose(f);
        CU_ASSERT(tu_contains(buf, "\"traceEvents\""));
        CU_ASSERT(tu_contains(buf, "\"name\": \"rank 2\""));
        CU_ASSERT(tu_contains(buf, "\"allreduce wait\""));
        CU_ASSERT(tu_contains(buf, "\"forward+backward\", \"ph\": \"X\", \"pid\": 0, \"tid\": 2"));
    }
    free(p);
}

static void test_failing_rank_stops_all(void)
{
    nn_error e = {0};
    float *p = NULL;
    size_t np;
    double v;
    fail_cfg.fail_rank = 2;
    fail_cfg.fail_call = 3;
    double t0 = nn_now();
    run_cfg c = {.ranks = 4, .overlap = 1};
    int rc = run(&c, &p, &np, &v, &e);
    double dt = nn_now() - t0;
    fail_cfg.fail_rank = -1;
    CU_ASSERT_EQUAL(rc, NN_EIO);
    CU_ASSERT(tu_contains(e.msg, "simulated read error"));
    if (world.rank != 2)
        CU_ASSERT(tu_contains(e.msg, "rank 2:"));
    CU_ASSERT(dt < 30);
    free(p);
}

static void test_batch_smaller_than_ranks(void)
{
    nn_error e = {0};
    float *p = NULL;
    size_t np;
    double v;
    run_cfg c = {.ranks = 4, .batch = 3};
    CU_ASSERT_EQUAL(run(&c, &p, &np, &v, &e), NN_EINVAL);
    CU_ASSERT(tu_contains(e.msg, "smaller than the number of ranks"));
    free(p);
}

static void test_nan_loss_stops_all(void)
{
    nn_error e = {0};
    float *p = NULL;
    size_t np;
    double v;
    run_cfg c = {.ranks = 4, .lr = 1e30};
    CU_ASSERT_EQUAL(run(&c, &p, &np, &v, &e), NN_ENAN);
    CU_ASSERT(tu_contains(e.msg, "learning rate"));
    free(p);
}

static void test_spec_mismatch(void)
{
    nn_error e = {0};
    int rc = nn_dist_check_same(&world, world.rank == 1 ? 2 : 1, "the model spec", &e);
    CU_ASSERT_EQUAL(rc, NN_EINVAL);
    CU_ASSERT(tu_contains(e.msg, "ranks disagree on the model spec"));
    CU_ASSERT_EQUAL(nn_dist_check_same(&world, 42, "x", &e), 0);
}

static void test_shard_math(void)
{
    /* Pure function: slices cover [0, B) in order and differ by at most 1. */
    for (size_t B = 1; B < 40; B++)
        for (int N = 1; N <= 7; N++) {
            size_t next = 0, lo = B, hi = 0;
            for (int r = 0; r < N; r++) {
                size_t off, cnt;
                nn_dist_shard(B, N, r, &off, &cnt);
                CU_ASSERT_EQUAL(off, next);
                next = off + cnt;
                lo = cnt < lo ? cnt : lo;
                hi = cnt > hi ? cnt : hi;
            }
            CU_ASSERT_EQUAL(next, B);
            CU_ASSERT(hi - lo <= 1);
        }
}

int main(int argc, char **argv)
{
    nn_error e = {0};
    if (nn_dist_init(&argc, &argv, &world, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 2;
    }
    if (world.size != 4 && world.rank == 0)
        fprintf(stderr, "test_mpi_fit expects 4 ranks (got %d)\n", world.size);
    nn_blas_set_threads(1);
    make_data();
    const tu_test tests[] = {
        {"shard slices", test_shard_math},
        {"np 1,2,3,4 give the same parameters", test_np_equivalence},
        {"LSTM model: np 1 and 4 give the same parameters", test_np_equivalence_lstm},
        {"regularizers: np 1, 2 and 2x2 threads give the same parameters",
         test_np_equivalence_regularizers},
        {"np=2 twice is bitwise identical", test_np2_bitwise_repeatable},
        {"ranks x compute threads give the same parameters", test_threads_equivalence},
        {"np=2 x 3 threads twice is bitwise identical", test_threads_bitwise_repeatable},
        {"blocking and overlapped allreduce agree", test_blocking_equals_overlap},
        {"micro-batch accumulation and watchdog give the same result", test_accumulation_and_watchdog},
        {"timeline trace has every rank", test_timeline},
        {"a failing rank stops every rank", test_failing_rank_stops_all},
        {"batch smaller than ranks is an error", test_batch_smaller_than_ranks},
        {"NaN loss stops every rank", test_nan_loss_stops_all},
        {"spec hash mismatch is an error", test_spec_mismatch},
        {NULL, NULL}};
    int rc = world.size == 4 ? tu_main("mpi_fit", tests) : 2;
    /* every rank's verdict counts */
    int all = rc;
    MPI_Allreduce(&rc, &all, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    nn_dist_finalize(&world);
    return all;
}
