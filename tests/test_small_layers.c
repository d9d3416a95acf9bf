/* Issue 17's small layers in Sequential specs: LeakyReLU, ReLU, Softmax,
 * Reshape and the Input/InputLayer line. Registry (Keras and R names),
 * gradient checks of every option, shapes, Keras auto names, fusions (a final
 * Softmax with cross-entropy, a plain ReLU under max pooling), the errors,
 * and a model of all of them through the Keras JSON and a checkpoint. The
 * values themselves are checked against PyTorch in test_golden_small.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "nntrain/checkpoint.h"
#include "nntrain/keras.h"
#include "nntrain/model.h"
#include "testutil.h"

extern const nn_layer_ops nn_leaky_relu_ops, nn_relu_ops, nn_softmax_ops, nn_reshape_ops;

static nn_shape nn_shape2(int a, int b)
{
    nn_shape s = {2, {a, b, 0, 0}};
    return s;
}

static void build_ok(const char *text, nn_model *m)
{
    nn_error e = {0};
    TU_ASSERT_OK(tu_build(text, m, &e), e);
}

/* Building text fails with a message holding n1 (and n2). */
static void build_fails(const char *text, const char *n1, const char *n2)
{
    nn_model m;
    nn_error e = {0};
    int rc = tu_build(text, &m, &e);
    CU_ASSERT(rc != NN_OK);
    if (rc == NN_OK)
        nn_model_free(&m);
    if (!tu_contains(e.msg, n1) || (n2 && !tu_contains(e.msg, n2)))
        fprintf(stderr, "  expected '%s' / '%s' in '%s'\n", n1, n2 ? n2 : "", e.msg);
    CU_ASSERT(tu_contains(e.msg, n1));
    if (n2)
        CU_ASSERT(tu_contains(e.msg, n2));
}

static void test_registry(void)
{
    CU_ASSERT_PTR_EQUAL(nn_layer_find("LeakyReLU"), &nn_leaky_relu_ops);
    CU_ASSERT_PTR_EQUAL(nn_layer_find("layer_activation_leaky_relu"), &nn_leaky_relu_ops);
    CU_ASSERT_PTR_EQUAL(nn_layer_find("ReLU"), &nn_relu_ops);
    CU_ASSERT_PTR_EQUAL(nn_layer_find("layer_activation_relu"), &nn_relu_ops);
    CU_ASSERT_PTR_EQUAL(nn_layer_find("Softmax"), &nn_softmax_ops);
    CU_ASSERT_PTR_EQUAL(nn_layer_find("layer_activation_softmax"), &nn_softmax_ops);
    CU_ASSERT_PTR_EQUAL(nn_layer_find("Reshape"), &nn_reshape_ops);
    CU_ASSERT_PTR_EQUAL(nn_layer_find("layer_reshape"), &nn_reshape_ops);
    CU_ASSERT(tu_contains(nn_layer_known(), "LeakyReLU, ReLU, Softmax, Reshape"));
}

static void test_gradients(void)
{
    gc_layer_ok("LeakyReLU()", nn_shape3(3, 4, 2), 2, 0, 21);
    gc_layer_ok("LeakyReLU(alpha=0.5)", nn_shape1(9), 3, 0, 2);
    gc_layer_ok("LeakyReLU(negative_slope=0.05)", nn_shape2(3, 5), 2, 0, 3);
    gc_layer_ok("ReLU()", nn_shape3(2, 3, 4), 2, 0, 4);
    gc_layer_ok("ReLU(max_value=0.4)", nn_shape1(11), 3, 0, 5);
    gc_layer_ok("ReLU(negative_slope=0.2)", nn_shape1(8), 2, 0, 6);
    gc_layer_ok("ReLU(threshold=0.25)", nn_shape1(8), 2, 0, 7);
    gc_layer_ok("ReLU(max_value=0.6, negative_slope=0.3, threshold=-0)", nn_shape2(4, 3), 2, 0,
                8);
    gc_layer_ok("ReLU(0.6, 0.1, 0.2)", nn_shape3(2, 2, 3), 3, 0, 9);
    gc_layer_ok("Softmax()", nn_shape1(5), 3, 0, 10);
    gc_layer_ok("Softmax(axis=3)", nn_shape3(2, 3, 4), 2, 0, 11);
    gc_layer_ok("Reshape((-1, 2))", nn_shape3(2, 3, 2), 2, 0, 12);
    gc_layer_ok("Reshape(c(4, 3))", nn_shape1(12), 3, 0, 13);
    gc_layer_ok("Activation(\"leaky_relu\")", nn_shape1(7), 2, 0, 14);
}

/* Whole models: a final Softmax fused with cross-entropy and the same one
 * unfused (mse), a plain ReLU under max pooling (the pool applies its
 * derivative) and one with options (not fused), LeakyReLU and Reshape. */
static const char *const MODELS[] = {
    "Dense(6, input_shape=(5,))\nLeakyReLU()\nDense(4)\nSoftmax()\n"
    "compile(loss=\"categorical_crossentropy\")\n",
    "Dense(6, input_shape=(5,))\nLeakyReLU()\nDense(4)\nSoftmax()\ncompile(loss=\"mse\")\n",
    "Input(shape=(6, 6, 2))\nConv2D(3, (3, 3))\nReLU()\nMaxPooling2D()\nReshape((-1,))\n"
    "Dense(3)\nSoftmax()\ncompile(loss=\"sparse_categorical_crossentropy\")\n",
    "Input(shape=(12,))\nReshape((2, 2, 3))\nConv2D(2, (2, 2))\nReLU(max_value=0.5, "
    "negative_slope=0.1)\nMaxPooling2D((1, 1))\nFlatten()\nDense(1, activation=\"sigmoid\")\n"
    "compile(loss=\"binary_crossentropy\")\n",
};

static void test_models(void)
{
    nn_model m;
    build_ok(MODELS[0], &m);
    CU_ASSERT_EQUAL(m.fused, NN_OUT_FUSED);
    CU_ASSERT(m.layers[3].dy_is_preact);
    nn_model_free(&m);
    build_ok(MODELS[1], &m);
    CU_ASSERT(m.fused != NN_OUT_FUSED && !m.layers[3].dy_is_preact);
    nn_model_free(&m);
    build_ok(MODELS[2], &m);
    CU_ASSERT(m.layers[1].dy_is_preact && m.layers[2].mask_relu);
    CU_ASSERT(m.layers[5].dy_is_preact);   /* the final Softmax */
    nn_model_free(&m);
    build_ok(MODELS[3], &m);
    CU_ASSERT(!m.layers[2].dy_is_preact && !m.layers[3].mask_relu);
    nn_model_free(&m);
    for (size_t i = 0; i < sizeof MODELS / sizeof MODELS[0]; i++) {
        gc_model_ok(MODELS[i], 1, 30 + i);
        gc_model_ok(MODELS[i], 4, 40 + i);
    }
}

static void test_shapes_names(void)
{
    tu_expect_shape("Reshape((-1, 3))", nn_shape3(2, 2, 3), nn_shape2(4, 3), 0);
    tu_expect_shape("Reshape((3, -1, 2))", nn_shape1(12), nn_shape3(3, 2, 2), 0);
    tu_expect_shape("Reshape(target_shape=(12,))", nn_shape3(2, 2, 3), nn_shape1(12), 0);
    tu_expect_shape("layer_reshape(target_shape = c(-1))", nn_shape2(4, 3), nn_shape1(12), 0);
    tu_expect_shape("LeakyReLU()", nn_shape3(2, 2, 3), nn_shape3(2, 2, 3), 0);
    tu_expect_shape("Softmax(axis=1)", nn_shape1(5), nn_shape1(5), 0);
    nn_model m;
    build_ok("Input(shape=(8,))\nLeakyReLU()\nReLU()\nSoftmax()\nReshape((2, 4))\n"
             "LeakyReLU(name=\"mine\")\nLeakyReLU()\nReLU(6)\n", &m);
    static const char *const want[] = {"leaky_re_lu", "re_lu", "softmax", "reshape", "mine",
                                       "leaky_re_lu_1", "re_lu_1"};
    for (int i = 0; i < 7; i++)
        CU_ASSERT_STRING_EQUAL(m.layers[i].name, want[i]);
    CU_ASSERT_EQUAL(m.layers[1].act, NN_ACT_RELU);   /* plain: the relu activation */
    CU_ASSERT_EQUAL(m.layers[6].act, NN_ACT_LINEAR);
    CU_ASSERT_EQUAL(m.layers[2].act, NN_ACT_SOFTMAX);
    nn_model_free(&m);
    /* values by hand: Keras 2's relu(x, alpha, max_value, threshold) */
    nn_layer l;
    nn_error e = {0};
    TU_ASSERT_OK(tu_make_planned("ReLU(max_value=2, negative_slope=0.5, threshold=1)",
                                 nn_shape1(5), 1, &l, NULL, &e), e);
    float x[5] = {-1, 1, 1.5f, 2, 3}, y[5], dy[5] = {1, 1, 1, 1, 1}, dx[5];
    nn_ctx ctx = {0};
    l.ops->forward(&l, NULL, x, y, 1, &ctx);
    CU_ASSERT(y[0] == -1 && y[1] == 0 && y[2] == 1.5f && y[3] == 2 && y[4] == 2);
    l.ops->backward(&l, NULL, NULL, x, y, dy, dx, 1, &ctx);
    CU_ASSERT(dx[0] == 0.5f && dx[1] == 0.5f && dx[2] == 1 && dx[4] == 0);
    nn_layer_destroy(&l);
}

static void test_input_lines(void)
{
    static const char *const ok[] = {
        "InputLayer(input_shape=(3, 2))\n",
        "InputLayer(batch_input_shape=(None, 3, 2), dtype=\"float32\", sparse=False, "
        "ragged=False, name=\"in\")\n",
        "Input(batch_shape=(None, 3, 2), batch_size=None)\n",
        "Input((3, 2), batch_size=16)\n",
        "layer_input(shape = c(3, 2))\n",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char text[300];
        nn_model m;
        snprintf(text, sizeof text, "%sFlatten()\nDense(2)\n", ok[i]);
        build_ok(text, &m);
        CU_ASSERT(m.in_shape.n == 2 && m.in_shape.d[0] == 3 && m.in_shape.d[1] == 2);
        nn_model_free(&m);
    }
    build_fails("Input(shape=(3,), dtype=\"float64\")\nDense(1)\n", "dtype \"float64\"",
                "float32");
    build_fails("Input(batch_shape=(None, -3))\nDense(1)\n", "batch_shape", "(None, d1, ...)");
    build_fails("Input(batch_shape=(3,))\nDense(1)\n", "batch_shape", NULL);
    build_fails("InputLayer(input_shape=(3,), sparse=True)\nDense(1)\n", "sparse=True", NULL);
}

static void test_errors(void)
{
    build_fails("LeakyReLU(alpha=None, input_shape=(3,))\n", "alpha", "None");
    build_fails("LeakyReLU(alpha=\"big\", input_shape=(3,))\n", "alpha", "number");
    build_fails("LeakyReLU(alpha=1e39, input_shape=(3,))\n", "alpha", "finite");
    build_fails("LeakyReLU(0.1, alpha=0.2, input_shape=(3,))\n", "alpha", NULL);
    build_fails("ReLU(max_value=-1, input_shape=(3,))\n", "max_value must be a finite number "
                ">= 0 or None", "-1");
    build_fails("ReLU(negative_slope=-0.1, input_shape=(3,))\n", "negative_slope", ">= 0");
    build_fails("ReLU(threshold=-1, input_shape=(3,))\n", "threshold", ">= 0");
    build_fails("ReLU(alpha=0.1, input_shape=(3,))\n", "alpha", NULL);
    build_fails("Softmax(axis=1, input_shape=(2, 2, 3))\n", "axis=1 is not supported",
                "axis=-1, or 3 for its input (None, 2, 2, 3)");
    build_fails("Softmax(axis=\"x\", input_shape=(3,))\n", "axis", "integer");
    build_fails("Reshape(input_shape=(3,))\n", "needs a target_shape", "Reshape((7, 7, 64))");
    build_fails("Reshape((-1, -1), input_shape=(4,))\n", "at most one -1", NULL);
    build_fails("Reshape((0, 4), input_shape=(4,))\n", "positive integers", NULL);
    build_fails("Reshape((1, 2, 3, 4, 5), input_shape=(120,))\n", "1 to 4 dimensions", NULL);
    build_fails("Reshape((5,), input_shape=(2, 3))\n", "cannot reshape its input (None, 2, 3) "
                "(6 values) to target_shape (5,)", "must stay the same");
    build_fails("Reshape((-1, 4), input_shape=(6,))\n", "cannot reshape", "(-1, 4)");
    build_fails("Dense(3, activation=\"leaky\", input_shape=(2,))\n", "leaky_relu", NULL);
}

/* One model of every small layer through the Keras JSON and a checkpoint. */
static const char *SMALL_SPEC =
    "InputLayer(input_shape=(4, 4, 1))\n"
    "Conv2D(3, (3, 3))\n"
    "LeakyReLU(alpha=0.2)\n"
    "Reshape((-1, 3))\n"
    "ReLU(max_value=6, negative_slope=0.01, threshold=0.1)\n"
    "Flatten()\n"
    "Dense(5, activation=\"leaky_relu\")\n"
    "ReLU()\n"
    "Dense(3)\n"
    "Softmax()\n"
    "compile(loss=\"categorical_crossentropy\", optimizer=\"adam\")\n";

static void forward(nn_model *m, float *out)
{
    enum { B = 4 };
    float x[B * 16];
    nn_ctx ctx = {0};
    nn_error e = {0};
    tu_fill_uniform(x, B * 16, 5, -1.0f, 1.0f);
    TU_ASSERT_OK(nn_model_plan(m, B, &e), e);
    memcpy(out, nn_model_forward(m, x, B, &ctx), B * 3 * sizeof *out);
}

static void test_roundtrip(void)
{
    nn_model m, m2, m3;
    nn_spec s;
    nn_error e = {0};
    float o1[12], o2[12], o3[12];
    build_ok(SMALL_SPEC, &m);
    nn_model_init_params(&m, 7);
    forward(&m, o1);
    char *json = nn_model_to_keras_json(&m, SMALL_SPEC, &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(json);
    CU_ASSERT(tu_contains(json, "\"class_name\":\"LeakyReLU\",\"config\":{\"name\":"
                                "\"leaky_re_lu\""));
    CU_ASSERT(tu_contains(json, "\"alpha\":0.2"));
    CU_ASSERT(tu_contains(json, "\"target_shape\":[-1,3]"));
    CU_ASSERT(tu_contains(json, "\"max_value\":6,\"negative_slope\":0.01,\"threshold\":0.1"));
    CU_ASSERT(tu_contains(json, "\"class_name\":\"Softmax\""));
    CU_ASSERT(tu_contains(json, "\"activation\":\"leaky_relu\""));
    TU_ASSERT_OK(nn_keras_json_to_spec(json, NULL, "m.json", &s, &e), e);
    TU_ASSERT_OK(nn_model_build(&m2, &s, &e), e);
    nn_spec_free(&s);
    CU_ASSERT_EQUAL_FATAL(m2.nlayers, m.nlayers);
    for (int i = 0; i < m.nlayers; i++) {
        CU_ASSERT_PTR_EQUAL(m2.layers[i].ops, m.layers[i].ops);
        CU_ASSERT_STRING_EQUAL(m2.layers[i].name, m.layers[i].name);
        CU_ASSERT(nn_shape_eq(&m2.layers[i].out, &m.layers[i].out));
    }
    memcpy(m2.params, m.params, m.nparams * sizeof *m.params);
    forward(&m2, o2);
    CU_ASSERT(memcmp(o1, o2, sizeof o1) == 0);
    nn_model_free(&m2);
    free(json);

    char path[512];
    snprintf(path, sizeof path, "%s/small.h5", tu_tmpdir());
    nn_train_state st = {0};
    TU_ASSERT_OK(nn_ckpt_save(path, &m, SMALL_SPEC, &st, NULL, &e), e);
    TU_ASSERT_OK(nn_ckpt_load_model(path, &m3, &e), e);
    CU_ASSERT_EQUAL(m3.fused, NN_OUT_FUSED);
    forward(&m3, o3);
    CU_ASSERT(memcmp(o1, o3, sizeof o1) == 0);
    nn_model_free(&m3);
    nn_model_free(&m);
}

/* Keras 3 spellings in files: LeakyReLU's negative_slope, ReLU's null
 * max_value, InputLayer's batch_shape, the optimizer's null options. */
static void test_keras3_json(void)
{
    static const char *mc =
        "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"s\", \"layers\": ["
        "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 6], "
        "\"dtype\": \"float32\", \"sparse\": false, \"name\": \"input_layer\"}},"
        "{\"class_name\": \"LeakyReLU\", \"config\": {\"name\": \"lr\", \"trainable\": true, "
        "\"dtype\": {\"module\": \"keras\", \"class_name\": \"DTypePolicy\", \"config\": "
        "{\"name\": \"float32\"}}, \"negative_slope\": 0.25}},"
        "{\"class_name\": \"ReLU\", \"config\": {\"name\": \"r\", \"max_value\": null, "
        "\"negative_slope\": 0.0, \"threshold\": 0.0}},"
        "{\"class_name\": \"Reshape\", \"config\": {\"name\": \"rs\", \"target_shape\": [3, 2]}},"
        "{\"class_name\": \"Softmax\", \"config\": {\"name\": \"sm\", \"axis\": -1}}]}}";
    const char *tc_fmt =
        "{\"loss\": \"categorical_crossentropy\", \"optimizer_config\": {\"class_name\": "
        "\"Adam\", \"config\": {\"name\": \"adam\", \"learning_rate\": 0.001, \"use_ema\": "
        "false, \"ema_momentum\": 0.99, \"loss_scale_factor\": %s, "
        "\"gradient_accumulation_steps\": %s}}}";
    char tc[512];
    nn_spec s;
    nn_model m;
    nn_error e = {0};
    snprintf(tc, sizeof tc, tc_fmt, "null", "null");
    TU_ASSERT_OK(nn_keras_json_to_spec(mc, tc, "k3.h5", &s, &e), e);
    TU_ASSERT_OK(nn_model_build(&m, &s, &e), e);
    nn_spec_free(&s);
    CU_ASSERT(m.nlayers == 4 && m.in_shape.n == 1 && m.in_shape.d[0] == 6);
    CU_ASSERT(m.layers[0].ops == &nn_leaky_relu_ops && m.layers[1].act == NN_ACT_RELU);
    CU_ASSERT(m.layers[2].out.n == 2 && m.layers[2].out.d[0] == 3);
    float x[6] = {-4, 1, 2, -1, 0.5f, 3};
    nn_ctx ctx = {0};
    TU_ASSERT_OK(nn_model_plan(&m, 1, &e), e);
    nn_model_forward(&m, x, 1, &ctx);
    CU_ASSERT_DOUBLE_EQUAL(m.layers[0].priv ? ((const float *)m.layers[0].priv)[0] : 0, 0.25,
                           1e-7);
    nn_model_free(&m);
    snprintf(tc, sizeof tc, tc_fmt, "1", "1");
    TU_ASSERT_OK(nn_keras_json_to_spec(mc, tc, "k3.h5", &s, &e), e);
    nn_spec_free(&s);
    /* other values: the optimizer is left out with a note (the file still loads) */
    snprintf(tc, sizeof tc, tc_fmt, "128", "null");
    TU_ASSERT_OK(nn_keras_json_to_spec(mc, tc, "k3.h5", &s, &e), e);
    CU_ASSERT(s.nnotes == 1 &&
              tu_contains(s.notes[0], "Adam loss_scale_factor=128 is not supported"));
    nn_spec_free(&s);
    snprintf(tc, sizeof tc, tc_fmt, "null", "4");
    TU_ASSERT_OK(nn_keras_json_to_spec(mc, tc, "k3.h5", &s, &e), e);
    CU_ASSERT(s.nnotes == 1 &&
              tu_contains(s.notes[0], "Adam gradient_accumulation_steps=4 is not supported"));
    nn_spec_free(&s);
}

int main(void)
{
    static const tu_test tests[] = {
        {"registry: Keras and R names", test_registry},
        {"gradient checks of every option", test_gradients},
        {"models: fusions and gradients", test_models},
        {"shapes, auto names, values by hand", test_shapes_names},
        {"Input/InputLayer lines", test_input_lines},
        {"errors", test_errors},
        {"Keras JSON and checkpoint round trip", test_roundtrip},
        {"Keras 3 JSON spellings", test_keras3_json},
        {NULL, NULL},
    };
    return tu_main("small_layers", tests);
}
