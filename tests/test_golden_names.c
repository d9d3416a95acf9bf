/* Golden tests for issue 16's Keras names: selu/gelu/swish (alone and in
 * Dense, Conv2D, Activation), Rescaling, the cross-entropies with
 * from_logits=True, AUC/Precision/Recall, and Nadam training a swish MLP,
 * against tests/fixtures/golden_names.h5, which
 * scripts/gen_fixtures_names.py computed independently with PyTorch (layout
 * documented there). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden_util.h"
#include "nntrain/activation.h"
#include "nntrain/loss.h"
#include "nntrain/model.h"
#include "nntrain/optim.h"
#include "nntrain/spec.h"

#define TRAIN_TOL 1e-4
#define TRAIN_STEPS 5

static const gu_fixture FX = {NN_FIXTURES_DIR "/golden_names.h5", "gen_fixtures_names.py"};

/* ---- activations alone --------------------------------------------------- */

/* act/<name>: forward, then the derivative through nn_act_backward_z (from
 * z for gelu/swish, from y for selu: what the layers pass). */
static void act_case(const char *name)
{
    char path[64];
    hid_t f = -1, g = -1;
    float *z = NULL, *y = NULL, *d = NULL, *got = NULL, *keep = NULL, *dy = NULL;
    int nd;
    hsize_t dims[4];
    size_t n, n2;
    nn_act a;
    snprintf(path, sizeof path, "act/%s", name);
    REQUIRE(nn_act_parse(name, &a) == 0, "nn_act_parse('%s')", name);
    REQUIRE((f = gu_open(&FX)) >= 0, "no fixture");
    REQUIRE((g = H5Gopen2(f, path, H5P_DEFAULT)) >= 0, "no group '%s'", path);
    REQUIRE((z = gu_read_f32(g, "z", &nd, dims, &n)) != NULL, "%s/z", path);
    REQUIRE((y = gu_read_f32(g, "y", &nd, dims, &n2)) != NULL && n2 == n, "%s/y", path);
    REQUIRE((d = gu_read_f32(g, "dydz", &nd, dims, &n2)) != NULL && n2 == n, "%s/dydz", path);
    REQUIRE((got = malloc(n * sizeof *got)) && (keep = malloc(n * sizeof *keep)) &&
            (dy = malloc(n * sizeof *dy)), "out of memory");
    memcpy(got, z, n * sizeof *z);
    nn_act_forward_keep(a, got, keep, n, 1);
    gu_compare(path, "y", got, y, n, GU_TOL);
    for (size_t i = 0; i < n; i++)
        dy[i] = 1.0f;
    nn_act_backward_z(a, nn_act_needs_z(a) ? keep : got, dy, n, 1);
    gu_compare(path, "dy/dz", dy, d, n, GU_TOL);
done:
    printf("\n  -> ");
    free(z), free(y), free(d), free(got), free(keep), free(dy);
    gu_close_group(g);
    gu_close_file(f);
}

static void t_act_selu(void) { act_case("selu"); }
static void t_act_gelu(void) { act_case("gelu"); }
static void t_act_swish(void) { act_case("swish"); }

/* ---- layers ---------------------------------------------------------------- */

#define LAYER_TEST(cs) static void t_##cs(void) { gu_layer_case(&FX, #cs); }
LAYER_TEST(dense_selu)
LAYER_TEST(dense_gelu)
LAYER_TEST(dense_swish)
LAYER_TEST(conv_gelu)
LAYER_TEST(conv_swish_direct)
LAYER_TEST(activation_gelu)
LAYER_TEST(activation_swish)
LAYER_TEST(rescaling)
#define N_LAYER_CASES 8

/* ---- from_logits losses ------------------------------------------------------- */

/* logits/<cs>: nn_loss_eval on logits vs the loss sum and scale * dL/dlogits. */
static void logits_case(const char *cs)
{
    char path[64];
    hid_t f = -1, g = -1;
    char *name = NULL;
    float *out = NULL, *y = NULL, *want = NULL, *grad = NULL, *d = NULL;
    int nd;
    double scale = 0;
    hsize_t dims[4];
    size_t n, ny;
    nn_loss k;
    snprintf(path, sizeof path, "logits/%s", cs);
    REQUIRE((f = gu_open(&FX)) >= 0, "no fixture");
    REQUIRE((g = H5Gopen2(f, path, H5P_DEFAULT)) >= 0, "no group '%s'", path);
    REQUIRE((name = gu_attr_str(g, "loss")) != NULL && nn_loss_parse(name, &k) == 0,
            "%s: attribute 'loss'", path);
    REQUIRE(gu_attr_num(g, "scale", H5T_NATIVE_DOUBLE, &scale, 1) == 1, "%s: scale", path);
    REQUIRE((out = gu_read_f32(g, "out", &nd, dims, &n)) != NULL && nd == 2, "%s/out", path);
    int B = (int)dims[0], K = (int)dims[1];
    REQUIRE((y = gu_read_f32(g, "y", &nd, dims, &ny)) != NULL && nd == 2, "%s/y", path);
    int ydim = (int)dims[1];
    REQUIRE((want = gu_read_f32(g, "loss", &nd, dims, &n)) != NULL && n == 1, "%s/loss", path);
    REQUIRE((grad = gu_read_f32(g, "grad", &nd, dims, &n)) != NULL &&
            n == (size_t)B * (size_t)K, "%s/grad", path);
    REQUIRE((d = malloc(n * sizeof *d)) != NULL, "out of memory");
    gu_nan_fill(d, n);
    float L = (float)nn_loss_eval(k, out, y, B, K, ydim, NN_OUT_LOGITS, (float)scale, d);
    gu_compare(path, "sum", &L, want, 1, GU_TOL);
    gu_compare(path, "dlogits", d, grad, n, GU_TOL);
done:
    printf("\n  -> ");
    free(out), free(y), free(want), free(grad), free(d), free(name);
    gu_close_group(g);
    gu_close_file(f);
}

static void t_logits_cce(void) { logits_case("cce"); }
static void t_logits_scce(void) { logits_case("scce"); }
static void t_logits_bce(void) { logits_case("bce"); }
static void t_logits_bce_k3(void) { logits_case("bce_k3"); }
static void t_logits_cce_extreme(void) { logits_case("cce_extreme"); }
static void t_logits_bce_extreme(void) { logits_case("bce_extreme"); }

/* ---- count-based metrics ------------------------------------------------------- */

/* metric/<cs>: the metric's counts over the whole set at once and over
 * uneven pieces added up (as batches and ranks add them) give the value the
 * script computed from Keras's formulas. */
static void metric_case(const char *cs)
{
    char path[64];
    hid_t f = -1, g = -1;
    char *name = NULL;
    float *out = NULL, *y = NULL, *want = NULL;
    double acc[NN_METRIC_MAX_SUMS], acc2[NN_METRIC_MAX_SUMS];
    int nd, logits = 0;
    hsize_t dims[4];
    size_t n, ny;
    nn_metric mt;
    snprintf(path, sizeof path, "metric/%s", cs);
    REQUIRE((f = gu_open(&FX)) >= 0, "no fixture");
    REQUIRE((g = H5Gopen2(f, path, H5P_DEFAULT)) >= 0, "no group '%s'", path);
    REQUIRE((name = gu_attr_str(g, "metric")) != NULL &&
            nn_metric_parse(name, NN_LOSS_BCE, 1, &mt) == 0, "%s: attribute 'metric'", path);
    REQUIRE(gu_attr_num(g, "logits", H5T_NATIVE_INT, &logits, 1) == 1, "%s: logits", path);
    REQUIRE((out = gu_read_f32(g, "out", &nd, dims, &n)) != NULL && nd == 2, "%s/out", path);
    int N = (int)dims[0], K = (int)dims[1];
    REQUIRE((y = gu_read_f32(g, "y", &nd, dims, &ny)) != NULL && nd == 2, "%s/y", path);
    int ydim = (int)dims[1];
    REQUIRE((want = gu_read_f32(g, "value", &nd, dims, &n)) != NULL && n == 1, "%s/value",
            path);
    int W = nn_metric_width(mt);
    memset(acc, 0, sizeof acc);
    memset(acc2, 0, sizeof acc2);
    nn_metric_add(mt, out, y, N, K, ydim, logits, acc);
    for (int b0 = 0, step = 1; b0 < N; b0 += step, step += 2) {
        int bn = N - b0 < step ? N - b0 : step;
        nn_metric_add(mt, out + (size_t)b0 * K, y + (size_t)b0 * ydim, bn, K, ydim, logits,
                      acc2);
    }
    CU_ASSERT(memcmp(acc, acc2, (size_t)W * sizeof *acc) == 0);
    float v = (float)nn_metric_value(mt, acc, N), v2 = (float)nn_metric_value(mt, acc2, N);
    gu_compare(path, "value", &v, want, 1, 1e-6);
    CU_ASSERT(v == v2);
done:
    printf("\n  -> ");
    free(out), free(y), free(want), free(name);
    gu_close_group(g);
    gu_close_file(f);
}

static void t_metric_auc(void) { metric_case("auc"); }
static void t_metric_auc_k2(void) { metric_case("auc_k2"); }
static void t_metric_auc_logits(void) { metric_case("auc_logits"); }
static void t_metric_precision(void) { metric_case("precision"); }
static void t_metric_recall(void) { metric_case("recall"); }
static void t_metric_precision_logits(void) { metric_case("precision_logits"); }
static void t_metric_recall_none(void) { metric_case("recall_none"); }

/* ---- training ---------------------------------------------------------------- */

/* train/nadam: the swish MLP from its spec, TRAIN_STEPS full-batch steps. */
static void t_train_nadam(void)
{
    const char *path = "train/nadam";
    hid_t f = -1, g = -1;
    char *spec = NULL;
    nn_spec s;
    nn_model m;
    int have_spec = 0, have_model = 0;
    nn_error e = {0};
    float *x = NULL, *y = NULL, *p0 = NULL, *wl = NULL, *wp = NULL, *d = NULL;
    uint64_t *ids = NULL;
    int nd;
    hsize_t dims[4];
    size_t nx, n, P;

    memset(&m, 0, sizeof m);
    REQUIRE((f = gu_open(&FX)) >= 0, "no fixture");
    REQUIRE((g = H5Gopen2(f, path, H5P_DEFAULT)) >= 0, "no group '%s'", path);
    REQUIRE((spec = gu_attr_str(g, "spec")) != NULL, "%s: attribute 'spec'", path);
    REQUIRE((x = gu_read_f32(g, "x", &nd, dims, &nx)) != NULL && nd == 2, "%s/x", path);
    int B = (int)dims[0];
    REQUIRE((y = gu_read_f32(g, "y", &nd, dims, &n)) != NULL && n == (size_t)B, "%s/y", path);
    REQUIRE((p0 = gu_read_f32(g, "params0", &nd, dims, &P)) != NULL, "%s/params0", path);
    REQUIRE((wl = gu_read_f32(g, "losses", &nd, dims, &n)) != NULL && n == TRAIN_STEPS,
            "%s/losses", path);
    REQUIRE((wp = gu_read_f32(g, "params", &nd, dims, &n)) != NULL && n == P, "%s/params",
            path);
    REQUIRE(nn_spec_parse(spec, path, &s, &e) == NN_OK, "%s: %s", path, e.msg);
    have_spec = 1;
    REQUIRE(nn_model_build(&m, &s, &e) == NN_OK, "%s: %s", path, e.msg);
    have_model = 1;
    REQUIRE(m.optim.kind == NN_OPT_NADAM, "%s: optimizer %d, expected Nadam", path,
            (int)m.optim.kind);
    REQUIRE(m.nparams == P, "%s: model has %zu params, fixture %zu", path, m.nparams, P);
    size_t K = nn_model_out_size(&m);
    memcpy(m.params, p0, P * sizeof *p0);
    REQUIRE(nn_model_plan(&m, B, &e) == NN_OK, "%s: %s", path, e.msg);
    REQUIRE(nn_optim_alloc(&m.optim, P, &e) == NN_OK, "%s: %s", path, e.msg);
    REQUIRE((d = malloc((size_t)B * K * sizeof *d)) && (ids = calloc((size_t)B, sizeof *ids)),
            "out of memory");
    nn_ctx ctx = {.training = 1, .seed = 1, .sample_ids = ids};
    float losses[TRAIN_STEPS];
    for (int step = 0; step < TRAIN_STEPS; step++) {
        const float *out = nn_model_forward(&m, x, B, &ctx);
        double L = nn_loss_eval(m.loss, out, y, B, (int)K, 1, m.fused, 1.0f / (float)B, d);
        losses[step] = (float)(L / B);
        memset(m.grads, 0, P * sizeof *m.grads);
        nn_model_backward(&m, x, d, B, &ctx);
        nn_model_update(&m);
    }
    gu_compare(path, "losses", losses, wl, TRAIN_STEPS, TRAIN_TOL);
    gu_compare(path, "params", m.params, wp, P, TRAIN_TOL);
done:
    printf("\n  -> ");
    free(x), free(y), free(p0), free(wl), free(wp), free(d), free(ids), free(spec);
    if (have_model)
        nn_model_free(&m);
    if (have_spec)
        nn_spec_free(&s);
    gu_close_group(g);
    gu_close_file(f);
}

/* Every top-level group is exercised: act, the layer cases, logits,
 * metric, train. */
static void t_fixture_complete(void)
{
    gu_fixture_complete(&FX, "test_golden_names.c", N_LAYER_CASES + 4);
}

int main(void)
{
    static const tu_test tests[] = {
        {"selu", t_act_selu},
        {"gelu", t_act_gelu},
        {"swish", t_act_swish},
        {"dense_selu", t_dense_selu},
        {"dense_gelu", t_dense_gelu},
        {"dense_swish", t_dense_swish},
        {"conv_gelu", t_conv_gelu},
        {"conv_swish_direct", t_conv_swish_direct},
        {"activation_gelu", t_activation_gelu},
        {"activation_swish", t_activation_swish},
        {"rescaling", t_rescaling},
        {"logits cce", t_logits_cce},
        {"logits scce", t_logits_scce},
        {"logits bce", t_logits_bce},
        {"logits bce k3", t_logits_bce_k3},
        {"logits cce extreme", t_logits_cce_extreme},
        {"logits bce extreme", t_logits_bce_extreme},
        {"metric auc", t_metric_auc},
        {"metric auc k2", t_metric_auc_k2},
        {"metric auc logits", t_metric_auc_logits},
        {"metric precision", t_metric_precision},
        {"metric recall", t_metric_recall},
        {"metric precision logits", t_metric_precision_logits},
        {"metric recall none", t_metric_recall_none},
        {"train_nadam", t_train_nadam},
        {"fixture complete", t_fixture_complete},
        {NULL, NULL},
    };
    return tu_main("golden_names", tests);
}
