/* Golden tests: nntrain's layers, losses and optimizers against fixtures that
 * scripts/gen_fixtures.py computed independently with PyTorch (float64
 * reference rounded to float32; layout documented in the script). Per case we
 * print the max |diff| and, on failure, the first bad index (llm.c
 * check_tensor). Every comparison asserts that it compared something. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nntrain/layer.h"
#include "nntrain/loss.h"
#include "nntrain/model.h"
#include "nntrain/optim.h"
#include "nntrain/spec.h"
#include "golden_util.h"

#define TRAIN_TOL 1e-4
#define TRAIN_STEPS 5

static const gu_fixture FX = {NN_FIXTURES_DIR "/golden.h5", "gen_fixtures.py"};

#define LAYER_TEST(cs) static void t_##cs(void) { gu_layer_case(&FX, #cs); }
LAYER_TEST(dense_relu)
LAYER_TEST(dense_softmax)
LAYER_TEST(dense_linear_nobias)
LAYER_TEST(conv_valid_relu)
LAYER_TEST(conv_same)
LAYER_TEST(conv_same_s2_odd)
LAYER_TEST(conv_same_s2_asym)
LAYER_TEST(conv_1x1)
LAYER_TEST(conv_nonsquare)
LAYER_TEST(conv_nonsquare_stride)
LAYER_TEST(pool_2x2_valid)
LAYER_TEST(pool_3x3_s2_same)
LAYER_TEST(pool_2x2_odd_valid)
LAYER_TEST(conv_direct_f20)
LAYER_TEST(conv_direct_f40_same)
LAYER_TEST(conv_direct_f48_s2)
#define N_LAYER_CASES 16

/* Every top-level group of the fixture is exercised: the layer cases above
 * plus "loss" and "train" (a case added to the script must be added here). */
static void t_fixture_complete(void)
{
    gu_fixture_complete(&FX, "test_golden.c", N_LAYER_CASES + 2);
}

/* ---- losses ---------------------------------------------------------------- */

/* loss/<cs>: nn_loss_eval(out, y, scale) vs the loss sum and scale * gradient. */
static void loss_case(const char *cs)
{
    char path[64];
    hid_t f = -1, g = -1;
    char *name = NULL;
    float *out = NULL, *y = NULL, *want = NULL, *grad = NULL, *d = NULL;
    int nd, fused = -1;
    double scale = 0;
    hsize_t dims[4];
    size_t n, ny;

    snprintf(path, sizeof path, "loss/%s", cs);
    REQUIRE((f = gu_open(&FX)) >= 0, "no fixture");
    REQUIRE((g = H5Gopen2(f, path, H5P_DEFAULT)) >= 0, "%s: no group '%s'", FX.path, path);
    REQUIRE((name = gu_attr_str(g, "loss")) != NULL, "%s: attribute 'loss'", path);
    REQUIRE(gu_attr_num(g, "fused", H5T_NATIVE_INT, &fused, 1) == 1, "%s: fused", path);
    REQUIRE(gu_attr_num(g, "scale", H5T_NATIVE_DOUBLE, &scale, 1) == 1, "%s: scale", path);
    nn_loss k;
    REQUIRE(nn_loss_parse(name, &k) == 0, "%s: nn_loss_parse('%s') failed", path, name);

    REQUIRE((out = gu_read_f32(g, "out", &nd, dims, &n)) != NULL && nd == 2, "%s/out", path);
    int B = (int)dims[0], K = (int)dims[1];
    REQUIRE((y = gu_read_f32(g, "y", &nd, dims, &ny)) != NULL && nd == 2 && (int)dims[0] == B,
            "%s/y", path);
    int ydim = (int)dims[1];
    REQUIRE((want = gu_read_f32(g, "loss", &nd, dims, &n)) != NULL && n == 1, "%s/loss", path);
    REQUIRE((grad = gu_read_f32(g, "grad", &nd, dims, &n)) != NULL &&
            n == (size_t)B * (size_t)K, "%s/grad", path);
    REQUIRE((d = malloc(n * sizeof *d)) != NULL, "out of memory");
    gu_nan_fill(d, n);

    double L = nn_loss_eval(k, out, y, B, K, ydim, fused, (float)scale, d);
    float Lf = (float)L;
    char what[48];
    snprintf(what, sizeof what, "sum(B=%d)", B);
    gu_compare(cs, what, &Lf, want, 1, GU_TOL);
    snprintf(what, sizeof what, fused ? "dlogits" : "dout");
    gu_compare(cs, what, d, grad, n, GU_TOL);
done:
    printf("\n  -> ");  /* CUnit's verdict goes on its own line */
    free(out), free(y), free(want), free(grad), free(d), free(name);
    gu_close_group(g);
    gu_close_file(f);
}

static void t_loss_softmax_cce(void) { loss_case("softmax_cce"); }
static void t_loss_softmax_scce(void) { loss_case("softmax_scce"); }
static void t_loss_sigmoid_bce(void) { loss_case("sigmoid_bce"); }
static void t_loss_sigmoid_bce_k3(void) { loss_case("sigmoid_bce_k3"); }
static void t_loss_mse(void) { loss_case("mse"); }

/* ---- training ---------------------------------------------------------------- */

/* train/<opt>: the tiny MLP from its spec, TRAIN_STEPS full-batch steps. */
static void train_case(const char *opt)
{
    char path[64];
    hid_t f = -1, g = -1, og = -1;
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
    snprintf(path, sizeof path, "train/%s", opt);
    REQUIRE((f = gu_open(&FX)) >= 0, "no fixture");
    REQUIRE((g = H5Gopen2(f, "train", H5P_DEFAULT)) >= 0, "%s: no group 'train'", FX.path);
    REQUIRE((og = H5Gopen2(g, opt, H5P_DEFAULT)) >= 0, "%s: no group '%s'", FX.path, path);
    REQUIRE((spec = gu_attr_str(og, "spec")) != NULL, "%s: attribute 'spec'", path);
    REQUIRE((x = gu_read_f32(g, "x", &nd, dims, &nx)) != NULL && nd == 2, "train/x");
    int B = (int)dims[0];
    REQUIRE((y = gu_read_f32(g, "y", &nd, dims, &n)) != NULL && n == (size_t)B, "train/y");
    REQUIRE((p0 = gu_read_f32(g, "params0", &nd, dims, &P)) != NULL, "train/params0");
    REQUIRE((wl = gu_read_f32(og, "losses", &nd, dims, &n)) != NULL && n == TRAIN_STEPS,
            "%s/losses", path);
    REQUIRE((wp = gu_read_f32(og, "params", &nd, dims, &n)) != NULL && n == P, "%s/params",
            path);

    int rc = nn_spec_parse(spec, path, &s, &e);
    REQUIRE(rc == NN_OK, "%s: nn_spec_parse: %s", path, e.msg);
    have_spec = 1;
    rc = nn_model_build(&m, &s, &e);
    REQUIRE(rc == NN_OK, "%s: nn_model_build: %s", path, e.msg);
    have_model = 1;
    REQUIRE(m.compiled, "%s: model not compiled", path);
    REQUIRE(m.loss == NN_LOSS_SCCE, "%s: loss %d, expected sparse_categorical_crossentropy",
            path, (int)m.loss);
    REQUIRE(m.nparams == P, "%s: model has %zu params, fixture %zu", path, m.nparams, P);
    REQUIRE(nn_model_in_size(&m) * (size_t)B == nx, "%s: input size", path);
    size_t K = nn_model_out_size(&m);
    memcpy(m.params, p0, P * sizeof *p0);
    rc = nn_model_plan(&m, B, &e);
    REQUIRE(rc == NN_OK, "%s: nn_model_plan: %s", path, e.msg);
    if (m.optim.n != P) {
        rc = nn_optim_alloc(&m.optim, P, &e);
        REQUIRE(rc == NN_OK, "%s: nn_optim_alloc: %s", path, e.msg);
    }
    REQUIRE((d = malloc((size_t)B * K * sizeof *d)) && (ids = calloc((size_t)B, sizeof *ids)),
            "out of memory");
    for (int i = 0; i < B; i++)
        ids[i] = (uint64_t)i;
    nn_ctx ctx = {.training = 1, .seed = 1, .epoch = 0, .sample_ids = ids};

    float losses[TRAIN_STEPS];
    for (int step = 0; step < TRAIN_STEPS; step++) {
        const float *out = nn_model_forward(&m, x, B, &ctx);
        /* loss sum; d = (1/B) dL/d(out or logits): the gradient of the mean */
        double L = nn_loss_eval(m.loss, out, y, B, (int)K, 1, m.fused, 1.0f / (float)B, d);
        losses[step] = (float)(L / B);
        memset(m.grads, 0, P * sizeof *m.grads);
        nn_model_backward(&m, x, d, B, &ctx);
        for (int i = 0; i < m.nlayers; i++)
            if (m.layers[i].trainable && m.layers[i].param_len)
                nn_optim_update(&m.optim, m.params, m.grads, m.layers[i].param_off,
                                m.layers[i].param_len);
        nn_optim_advance(&m.optim);
    }
    printf("\n    %s: fused=%d", path, m.fused);
    gu_compare(path, "losses", losses, wl, TRAIN_STEPS, TRAIN_TOL);
    gu_compare(path, "params", m.params, wp, P, TRAIN_TOL);
done:
    printf("\n  -> ");  /* CUnit's verdict goes on its own line */
    free(x), free(y), free(p0), free(wl), free(wp), free(d), free(ids), free(spec);
    if (have_model)
        nn_model_free(&m);
    if (have_spec)
        nn_spec_free(&s);
    gu_close_group(og);
    gu_close_group(g);
    gu_close_file(f);
}

static void t_train_sgd_nesterov(void) { train_case("sgd_nesterov"); }
static void t_train_rmsprop(void) { train_case("rmsprop"); }
static void t_train_adam(void) { train_case("adam"); }

int main(void)
{
    const char *want = getenv("NNTRAIN_ISA");   /* one run per instruction set (CTest) */
    if (want && *want && strcmp(want, nn_layer_isa())) {
        printf("SKIP: NNTRAIN_ISA=%s: not available with this CPU and build (it uses %s)\n", want,
               nn_layer_isa());
        return 77;
    }
    static const tu_test tests[] = {
        {"fixture_complete", t_fixture_complete},
        {"dense_relu", t_dense_relu},
        {"dense_softmax", t_dense_softmax},
        {"dense_linear_nobias", t_dense_linear_nobias},
        {"conv_valid_relu", t_conv_valid_relu},
        {"conv_same", t_conv_same},
        {"conv_same_s2_odd", t_conv_same_s2_odd},
        {"conv_same_s2_asym", t_conv_same_s2_asym},
        {"conv_1x1", t_conv_1x1},
        {"conv_nonsquare", t_conv_nonsquare},
        {"conv_nonsquare_stride", t_conv_nonsquare_stride},
        {"pool_2x2_valid", t_pool_2x2_valid},
        {"pool_3x3_s2_same", t_pool_3x3_s2_same},
        {"pool_2x2_odd_valid", t_pool_2x2_odd_valid},
        {"conv_direct_f20", t_conv_direct_f20},
        {"conv_direct_f40_same", t_conv_direct_f40_same},
        {"conv_direct_f48_s2", t_conv_direct_f48_s2},
        {"loss_softmax_cce", t_loss_softmax_cce},
        {"loss_softmax_scce", t_loss_softmax_scce},
        {"loss_sigmoid_bce", t_loss_sigmoid_bce},
        {"loss_sigmoid_bce_k3", t_loss_sigmoid_bce_k3},
        {"loss_mse", t_loss_mse},
        {"train_sgd_nesterov", t_train_sgd_nesterov},
        {"train_rmsprop", t_train_rmsprop},
        {"train_adam", t_train_adam},
        {NULL, NULL},
    };
    return tu_main("golden", tests);
}
