/* AUC, Precision and Recall under a real mpiexec (run with 2 ranks): they
 * are computed from counts reduced over the ranks, not from means of
 * per-batch or per-rank values, so evaluate gives bitwise the same values on
 * 1 and 2 ranks, for any batch size, and the same as the counts of the whole
 * set taken at once; also on a model trained from logits. A one-epoch fit
 * on 1 and 2 ranks logs them for training and validation. Only non-fatal
 * assertions: a rank leaving a test early would desynchronise the
 * collectives. */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nntrain/evaluate.h"
#include "nntrain/fit.h"
#include "nntrain/gemm.h"
#include "testutil.h"

static nn_dist world;

#define N_SAMPLES 157
#define F 6

static float xs[N_SAMPLES * F], ys[N_SAMPLES];

static const char *probs_spec =
    "Dense(8, activation=\"tanh\", input_shape=(6,))\n"
    "Dense(1, activation=\"sigmoid\")\n"
    "compile(loss=\"binary_crossentropy\", optimizer=\"adam\", "
    "metrics=[\"AUC\", \"precision\", Recall(), \"accuracy\"])\n"
    "fit(batch_size=16, epochs=1, validation_split=0.25, seed=3)\n";

static const char *logits_spec =
    "Dense(8, activation=\"gelu\", input_shape=(6,))\n"
    "Dense(1)\n"
    "compile(loss=BinaryCrossentropy(from_logits=True), optimizer=Nadam(), "
    "metrics=[metrics.AUC(), \"Precision\", \"recall\", \"accuracy\"])\n"
    "fit(batch_size=16, epochs=1, validation_split=0.25, seed=3)\n";

/* Noisy linear labels: every metric lands strictly between 0 and 1. */
static void make_data(void)
{
    tu_fill_uniform(xs, sizeof xs / sizeof xs[0], 5, -1.0f, 1.0f);
    float noise[N_SAMPLES];
    tu_fill_uniform(noise, N_SAMPLES, 6, -0.8f, 0.8f);
    for (int i = 0; i < N_SAMPLES; i++)
        ys[i] = xs[i * F] + 0.5f * xs[i * F + 1] + noise[i] > 0 ? 1.0f : 0.0f;
}

static int build(const char *spec, nn_model *m, nn_error *e)
{
    nn_spec s;
    int rc = nn_spec_parse(spec, "metrics.nn", &s, e);
    if (!rc) {
        rc = nn_model_build(m, &s, e);
        nn_spec_free(&s);
    }
    if (!rc)
        nn_model_init_params(m, 11);
    return rc;
}

/* evaluate on the first `ranks` ranks with batch bs; out on world rank 0. */
static int evaluate_on(const char *spec, int ranks, int bs, double *out, nn_error *e)
{
    nn_dist d;
    int rc = nn_dist_sub(&world, ranks, &d, e);
    if (rc || !d.active)
        return rc;
    nn_model m;
    nn_dataset ds;
    if (!(rc = build(spec, &m, e))) {
        rc = nn_memory_open(&ds, xs, ys, N_SAMPLES, nn_shape1(F), 1, 2, "memory", e);
        if (!rc) {
            double r[1 + NN_MAX_METRICS];
            rc = nn_evaluate(&m, &ds, NULL, N_SAMPLES, bs, &d, r, e);
            if (!rc && world.rank == 0)
                memcpy(out, r, (1 + (size_t)m.nmetrics) * sizeof *r);
            nn_data_close(&ds);
        }
        nn_model_free(&m);
    }
    nn_dist_free_sub(&d);
    return rc;
}

/* The metrics from the counts of every sample at once (one forward). */
static void whole_set(const char *spec, double *out)
{
    nn_model m;
    nn_error e = {0};
    TU_ASSERT_OK(build(spec, &m, &e), e);
    TU_ASSERT_OK(nn_model_plan(&m, N_SAMPLES, &e), e);
    nn_ctx ctx = {0};
    const float *o = nn_model_forward(&m, xs, N_SAMPLES, &ctx);
    double acc[NN_METRIC_MAX_SUMS] = {0};
    nn_metrics_add(m.metrics, m.nmetrics, o, ys, N_SAMPLES, 1, 1, m.from_logits, acc);
    nn_metrics_values(m.metrics, m.nmetrics, acc, N_SAMPLES, out + 1);
    nn_model_free(&m);
}

static void check_spec(const char *spec, const char *what)
{
    double ref[1 + NN_MAX_METRICS] = {0}, got[1 + NN_MAX_METRICS] = {0};
    nn_error e = {0};
    whole_set(spec, ref);
    static const int cases[][2] = {{1, N_SAMPLES}, {1, 7}, {2, 16}, {2, 5}, {2, N_SAMPLES}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int rc = evaluate_on(spec, cases[c][0], cases[c][1], got, &e);
        CU_ASSERT_EQUAL(rc, NN_OK);
        if (rc && world.rank == 0)
            fprintf(stderr, "  %s: %s\n", what, e.msg);
        if (world.rank != 0)
            continue;
        for (int k = 1; k <= 3; k++) {   /* auc, precision, recall: bitwise */
            if (got[k] != ref[k])
                fprintf(stderr, "  %s, %d rank(s), batch %d: metric %d = %.17g, whole set "
                        "%.17g\n", what, cases[c][0], cases[c][1], k, got[k], ref[k]);
            CU_ASSERT(got[k] == ref[k]);
            CU_ASSERT(got[k] > 0.05 && got[k] < 0.999);
        }
        CU_ASSERT_DOUBLE_EQUAL(got[4], ref[4], 1e-12);   /* accuracy: a mean */
    }
}

static void test_probs(void)
{
    check_spec(probs_spec, "sigmoid output");
}

static void test_logits(void)
{
    check_spec(logits_spec, "logits output");
}

/* fit logs auc/precision/recall (and val_) the same way on 1 and 2 ranks:
 * the validation values come from the same parameters up to float order,
 * so they agree closely. */
static void test_fit_columns(void)
{
    double last[2][16] = {{0}};
    for (int ranks = 1; ranks <= 2; ranks++) {
        nn_dist d;
        nn_error e = {0};
        int rc = nn_dist_sub(&world, ranks, &d, &e);
        CU_ASSERT_EQUAL(rc, NN_OK);
        if (rc || !d.active)
            continue;
        nn_model m;
        nn_dataset ds;
        TU_ASSERT_OK(build(logits_spec, &m, &e), e);
        TU_ASSERT_OK(nn_memory_open(&ds, xs, ys, N_SAMPLES, nn_shape1(F), 1, 2, "memory", &e),
                     e);
        nn_fit_opts o = {.fit = m.fit, .progress = 0};
        o.fit.verbose = 0;
        nn_history h = {0};
        rc = nn_fit(&m, &ds, NULL, &o, &d, &h, &e);
        CU_ASSERT_EQUAL(rc, NN_OK);
        if (!rc && world.rank == 0) {
            CU_ASSERT_EQUAL(h.ncols, 11);   /* and the learning rate, last */
            CU_ASSERT_STRING_EQUAL(h.cols[10], "lr");
            const char *want[] = {"loss", "auc", "precision", "recall", "accuracy",
                                  "val_loss", "val_auc", "val_precision", "val_recall",
                                  "val_accuracy"};
            for (int k = 0; k < h.ncols && k < 10; k++) {
                CU_ASSERT_STRING_EQUAL(h.cols[k], want[k]);
                last[ranks - 1][k] = h.vals[(size_t)(h.epochs - 1) * (size_t)h.ncols + k];
                CU_ASSERT(isfinite(last[ranks - 1][k]));
            }
        }
        nn_history_free(&h);
        nn_data_close(&ds);
        nn_model_free(&m);
        nn_dist_free_sub(&d);
    }
    if (world.rank == 0)
        for (int k = 0; k < 10; k++)
            CU_ASSERT_DOUBLE_EQUAL(last[0][k], last[1][k], 2e-2);
}

int main(int argc, char **argv)
{
    nn_error e = {0};
    if (nn_dist_init(&argc, &argv, &world, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 2;
    }
    if (world.size != 2 && world.rank == 0)
        fprintf(stderr, "test_mpi_metrics expects 2 ranks (got %d)\n", world.size);
    nn_blas_set_threads(1);
    make_data();
    const tu_test tests[] = {
        {"sigmoid output: 1 and 2 ranks, any batch = the whole set", test_probs},
        {"from_logits output: 1 and 2 ranks, any batch = the whole set", test_logits},
        {"fit logs auc/precision/recall on 1 and 2 ranks", test_fit_columns},
        {NULL, NULL}};
    int rc = world.size == 2 ? tu_main("mpi_metrics", tests) : 2;
    int all = rc;
    MPI_Allreduce(&rc, &all, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    nn_dist_finalize(&world);
    return all;
}
