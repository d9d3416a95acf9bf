/* BatchNormalization: finite-difference gradient checks in training mode
 * (batch statistics; x, gamma, beta) and in inference mode (moving
 * statistics), after Dense and Conv2D in whole models; Keras parameter
 * counts (moving statistics non-trainable); values and the moving-statistic
 * update worked by hand; option errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "nntrain/checkpoint.h"
#include "nntrain/keras.h"
#include "nntrain/layer.h"
#include "nntrain/model.h"
#include "testutil.h"

extern const nn_layer_ops nn_batchnorm_ops;

static void test_registry(void)
{
    CU_ASSERT_PTR_EQUAL(nn_layer_find("BatchNormalization"), &nn_batchnorm_ops);
    CU_ASSERT_PTR_EQUAL(nn_layer_find("layer_batch_normalization"), &nn_batchnorm_ops);
}

static void test_gradients(void)
{
    gc_layer_ok("BatchNormalization()", nn_shape1(5), 4, 1, 1);
    gc_layer_ok("BatchNormalization()", nn_shape1(3), 2, 1, 2);
    gc_layer_ok("BatchNormalization(momentum=0.5, epsilon=0.1)", nn_shape3(3, 2, 4), 3, 1, 3);
    gc_layer_ok("BatchNormalization(center=False)", nn_shape3(2, 2, 3), 2, 1, 4);
    gc_layer_ok("BatchNormalization(scale=False)", nn_shape1(6), 5, 1, 5);
    /* inference mode: the moving statistics */
    gc_layer_ok("BatchNormalization()", nn_shape1(5), 4, 0, 6);
    gc_layer_ok("BatchNormalization()", nn_shape3(2, 3, 2), 2, 0, 7);
}

static void test_models(void)
{
    gc_model_ok("Dense(6, input_shape=(4,))\nBatchNormalization()\nActivation(\"relu\")\n"
                "Dense(3, activation=\"softmax\")\n"
                "compile(loss=\"categorical_crossentropy\")\n", 5, 11);
    gc_model_ok("Conv2D(3, (2, 2), input_shape=(4, 4, 2))\nBatchNormalization()\n"
                "ReLU()\nFlatten()\nDense(2)\ncompile(loss=\"mse\")\n", 3, 12);
    /* first layer, and a frozen one (inference mode inside training) */
    gc_model_ok("BatchNormalization(input_shape=(5,))\nDense(4, activation=\"tanh\")\n"
                "BatchNormalization(trainable=False)\nDense(2)\ncompile(loss=\"mse\")\n", 4,
                13);
}

static void test_shapes(void)
{
    /* Keras: 4 C weights, 2 C of them non-trainable */
    tu_expect_shape("BatchNormalization()", nn_shape1(7), nn_shape1(7), 28);
    tu_expect_shape("BatchNormalization(axis=3)", nn_shape3(4, 4, 3), nn_shape3(4, 4, 3), 12);
    tu_expect_shape("BatchNormalization(axis=[-1], center=False)", nn_shape3(4, 4, 3),
                    nn_shape3(4, 4, 3), 9);
    tu_expect_shape("BatchNormalization(center=False, scale=False)", nn_shape1(5),
                    nn_shape1(5), 10);
    nn_model m;
    nn_error e = {0};
    TU_ASSERT_OK(tu_build("Dense(8, input_shape=(3,))\nBatchNormalization()\nDense(1)\n", &m, &e),
                 e);
    CU_ASSERT_EQUAL(m.nparams, 32 + 32 + 9);
    CU_ASSERT_EQUAL(nn_model_trainable_params(&m), 32 + 16 + 9);
    nn_model_free(&m);
}

/* Two channels, four rows, by hand: y, the moving statistics (unbiased
 * variance), inference with them, dx. */
static void test_values(void)
{
    tu_lay t;
    tu_lay_open(&t, "BatchNormalization(momentum=0.9, epsilon=0.01)", nn_shape1(2), 4);
    const float x[8] = {1, 10, 2, 20, 3, 30, 6, 40};
    memcpy(t.x, x, sizeof x);
    /* gamma (2, 0.5), beta (1, -1), moving mean 0, moving variance 1 */
    const float p[8] = {2, 0.5f, 1, -1, 0, 0, 1, 1};
    memcpy(t.p, p, sizeof p);
    t.ctx.training = 1;
    tu_lay_forward(&t);
    /* channel 0: mean 3, biased var 3.5, unbiased 14/3; channel 1: mean 25,
     * var 125, unbiased 500/3 */
    float want[8];
    for (int r = 0; r < 4; r++) {
        want[2 * r] = (float)(2 * (x[2 * r] - 3) / sqrt(3.5 + 0.01) + 1);
        want[2 * r + 1] = (float)(0.5 * (x[2 * r + 1] - 25) / sqrt(125 + 0.01) - 1);
    }
    tu_assert_close("y", t.y, want, 8, 1e-5);
    const float mov[4] = {0.3f, 2.5f, (float)(0.9 + 0.1 * 14 / 3.0),
                          (float)(0.9 + 0.1 * 500 / 3.0)};
    tu_assert_close("moving", t.p + 4, mov, 4, 1e-5);
    /* the gradient through the batch statistics: dy = 1 everywhere gives
     * dx = 0 (a shift of every row is normalized away) */
    for (int k = 0; k < 8; k++)
        t.dy[k] = 1;
    tu_lay_backward(&t);
    const float zero[8] = {0};
    tu_assert_close("dx", t.dx, zero, 8, 1e-5);
    CU_ASSERT(fabsf(t.g[2] - 4) < 1e-5f && fabsf(t.g[3] - 4) < 1e-5f);   /* dbeta */
    /* inference: the moving statistics */
    t.ctx.training = 0;
    tu_lay_forward(&t);
    for (int r = 0; r < 4; r++) {
        want[2 * r] = (float)(2 * (x[2 * r] - mov[0]) / sqrt(mov[2] + 0.01) + 1);
        want[2 * r + 1] = (float)(0.5 * (x[2 * r + 1] - mov[1]) / sqrt(mov[3] + 0.01) - 1);
    }
    tu_assert_close("y inference", t.y, want, 8, 1e-5);
    tu_assert_close("moving unchanged", t.p + 4, mov, 4, 0);
    tu_lay_close(&t);
}

static void test_errors(void)
{
    tu_expect_layer_err("BatchNormalization(axis=1)", nn_shape3(4, 4, 3), 0, NN_EINVAL,
                        "axis=1", "only the last axis");
    tu_expect_layer_err("BatchNormalization(momentum=1)", nn_shape1(3), 0, NN_EINVAL,
                        "momentum must be in [0, 1)", NULL);
    tu_expect_layer_err("BatchNormalization(epsilon=0)", nn_shape1(3), 0, NN_EINVAL,
                        "epsilon must be a positive number", NULL);
    tu_expect_layer_err("BatchNormalization(axis=(1, 2))", nn_shape3(4, 4, 3), 0, NN_EINVAL,
                        "axis", NULL);
}

static const char *BN_SPEC =
    "Conv2D(3, (2, 2), input_shape=(4, 4, 2))\n"
    "BatchNormalization(momentum=0.9, epsilon=0.01, center=False)\n"
    "Flatten()\nDense(4)\nBatchNormalization(axis=1, scale=False, trainable=False)\n"
    "Dense(2, activation=\"softmax\")\n"
    "compile(loss=\"categorical_crossentropy\", optimizer=\"adam\")\n";

/* Inference outputs of 3 rows (the moving statistics). */
static void infer(nn_model *m, float *out)
{
    float x[3 * 32];
    nn_ctx ctx = {0};
    nn_error e = {0};
    tu_fill_uniform(x, 3 * 32, 5, -1.0f, 1.0f);
    TU_ASSERT_OK(nn_model_plan(m, 3, &e), e);
    memcpy(out, nn_model_forward(m, x, 3, &ctx), 6 * sizeof *out);
}

/* Keras JSON out and in (axis as Keras writes it: [1] or an int), and a
 * checkpoint: same layers, same inference with moved statistics. */
static void test_roundtrip(void)
{
    nn_model m, m2, m3;
    nn_spec s;
    nn_error e = {0};
    float o1[6], o2[6], o3[6];
    TU_ASSERT_OK(tu_build(BN_SPEC, &m, &e), e);
    nn_model_init_params(&m, 7);
    for (size_t k = 0; k < m.nparams; k++)   /* moved statistics: no identity */
        m.params[k] += 0.25f * (float)(k % 5);
    infer(&m, o1);
    char *json = nn_model_to_keras_json(&m, BN_SPEC, &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(json);
    CU_ASSERT(tu_contains(json, "\"class_name\":\"BatchNormalization\""));
    CU_ASSERT(tu_contains(json, "\"momentum\":0.9"));
    TU_ASSERT_OK(nn_keras_json_to_spec(json, NULL, "m.json", &s, &e), e);
    TU_ASSERT_OK(nn_model_build(&m2, &s, &e), e);
    nn_spec_free(&s);
    CU_ASSERT_EQUAL_FATAL(m2.nparams, m.nparams);
    CU_ASSERT_EQUAL(nn_model_trainable_params(&m2), nn_model_trainable_params(&m));
    CU_ASSERT_EQUAL(m2.layers[4].trainable, 0);
    memcpy(m2.params, m.params, m.nparams * sizeof *m.params);
    infer(&m2, o2);
    tu_assert_close("keras json", o2, o1, 6, 0);
    nn_model_free(&m2);
    free(json);

    char path[512];
    snprintf(path, sizeof path, "%s/bn.h5", tu_tmpdir());
    nn_train_state st = {0};
    TU_ASSERT_OK(nn_ckpt_save(path, &m, BN_SPEC, &st, NULL, &e), e);
    TU_ASSERT_OK(nn_ckpt_load_model(path, &m3, &e), e);
    infer(&m3, o3);
    tu_assert_close("checkpoint", o3, o1, 6, 0);
    nn_model_free(&m3);
    nn_model_free(&m);

    /* a Keras file's layer: axis as a list, Keras 2 keys */
    static const char *mc =
        "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"s\", \"layers\": ["
        "{\"class_name\": \"BatchNormalization\", \"config\": {\"name\": \"bn\", "
        "\"trainable\": true, \"batch_input_shape\": [null, 5], \"dtype\": \"float32\", "
        "\"axis\": [1], \"momentum\": 0.99, \"epsilon\": 0.001, \"center\": true, "
        "\"scale\": true, \"beta_initializer\": {\"class_name\": \"Zeros\", \"config\": {}}, "
        "\"gamma_initializer\": {\"class_name\": \"Ones\", \"config\": {}}, "
        "\"moving_mean_initializer\": {\"class_name\": \"Zeros\", \"config\": {}}, "
        "\"moving_variance_initializer\": {\"class_name\": \"Ones\", \"config\": {}}, "
        "\"beta_regularizer\": null, \"gamma_regularizer\": null, \"beta_constraint\": null, "
        "\"gamma_constraint\": null}}]}}";
    TU_ASSERT_OK(nn_keras_json_to_spec(mc, NULL, "k.h5", &s, &e), e);
    TU_ASSERT_OK(nn_model_build(&m, &s, &e), e);
    nn_spec_free(&s);
    CU_ASSERT_EQUAL(m.nparams, 20);
    CU_ASSERT_EQUAL(nn_model_trainable_params(&m), 10);
    nn_model_free(&m);
}

int main(void)
{
    static const tu_test tests[] = {
        {"registry", test_registry},
        {"gradient checks, training and inference", test_gradients},
        {"models: after Dense and Conv2D, first, frozen", test_models},
        {"parameter counts", test_shapes},
        {"values and moving statistics by hand", test_values},
        {"errors", test_errors},
        {"Keras JSON and checkpoint round trip", test_roundtrip},
        {NULL, NULL},
    };
    return tu_main("layers_bn", tests);
}
