/* nn_model_build and the model: Keras parameter totals for every spec under
 * jobs/models/, output shapes, Keras automatic names and the summary text;
 * every build error with its code and message; the fused-loss flag and
 * metric resolution; R spelling; whole-model finite-difference checks (fused
 * and plain losses, small CNNs, B = 1 and 4); the ReLU handed to max pooling;
 * and deterministic Keras default initialisation. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "nntrain/model.h"
#include "testutil.h"
#include "train/exec.h"

/* Loads and builds jobs/models/<file>. */
static int build_file(const char *file, nn_model *m, nn_error *e)
{
    char path[1024];
    nn_spec s;
    snprintf(path, sizeof path, "%s/jobs/models/%s", NN_SOURCE_DIR, file);
    memset(e, 0, sizeof *e);
    int rc = nn_spec_load(path, &s, e);
    if (rc)
        return rc;
    rc = nn_model_build(m, &s, e);
    nn_spec_free(&s);
    return rc;
}

/* Asserts that building text fails with code and a message containing
 * needle (and needle2 unless NULL). */
static void build_fails(const char *text, int code, const char *needle, const char *needle2)
{
    nn_model m;
    nn_error e;
    int rc = tu_build(text, &m, &e);
    if (rc != code)
        fprintf(stderr, "  expected code %d, got %d (%s) for:\n%s\n", code, rc, e.msg, text);
    CU_ASSERT_EQUAL(rc, code);
    CU_ASSERT_EQUAL(e.code, code);
    if (rc == NN_OK)
        nn_model_free(&m);
    CU_ASSERT(tu_contains(e.msg, needle));
    if (needle2)
        CU_ASSERT(tu_contains(e.msg, needle2));
}

/* Whether a per-sample shape has n dims d0, d1, d2 (the first n used). */
static int shape_is(const nn_shape *s, int n, int d0, int d1, int d2)
{
    int want[3] = {d0, d1, d2};
    int ok = s->n == n;
    for (int i = 0; ok && i < n; i++)
        ok = s->d[i] == want[i];
    if (!ok) {
        char buf[64];
        fprintf(stderr, "  shape %s, expected %d dims (%d, %d, %d)\n",
                nn_shape_str(s, buf, sizeof buf), n, d0, d1, d2);
    }
    return ok;
}

/* ---- Keras references ----------------------------------------------------- */

static void test_param_totals(void)
{
    static const struct {
        const char *file;
        size_t total;
        int nlayers;
    } refs[] = {
        {"sqrt.nn", 12441, 3},
        {"mnist_mlp.nn", 101770, 2},
        {"mnist_mlp512.nn", 407050, 2},
        {"mnist_dropout_mlp.nn", 1195018, 9},
        {"mnist_cnn.nn", 93322, 8},
        {"fashion_cnn.nn", 93322, 8},
        {"rick_dense.nn", 4320201, 3},
        {"rick_cnn.nn", 69405, 10},
        {"rick_cnn2.nn", 69506, 10},
        {"cifar10_cnn.nn", 1250858, 12},
        {"cifar10_allconv_gap.nn", 66218, 12},   /* by hand in the file's header */
    };
    for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++) {
        nn_model m;
        nn_error e;
        int rc = build_file(refs[i].file, &m, &e);
        if (rc)
            fprintf(stderr, "  %s: %s\n", refs[i].file, e.msg);
        CU_ASSERT_EQUAL(rc, NN_OK);
        if (rc)
            continue;
        if (m.nparams != refs[i].total)
            fprintf(stderr, "  %s: %zu params, Keras has %zu\n", refs[i].file, m.nparams,
                    refs[i].total);
        CU_ASSERT_EQUAL(m.nparams, refs[i].total);
        CU_ASSERT_EQUAL(nn_model_trainable_params(&m), refs[i].total);
        CU_ASSERT_EQUAL(m.nlayers, refs[i].nlayers);
        CU_ASSERT(m.compiled);
        /* the flat buffer is the layers' blocks back to back */
        size_t off = 0;
        for (int k = 0; k < m.nlayers; k++) {
            CU_ASSERT_EQUAL(m.layers[k].param_off, off);
            CU_ASSERT_EQUAL(m.layers[k].index, k);
            off += m.layers[k].param_len;
        }
        CU_ASSERT_EQUAL(off, m.nparams);
        nn_model_free(&m);
    }
}

/* Specs with BatchNormalization: its moving statistics are non-trainable. */
static void test_param_totals_bn(void)
{
    static const struct {
        const char *file;
        size_t total, trainable;
        int nlayers;
    } refs[] = {
        {"rick_bn.nn", 95265, 94833, 18},   /* by hand in the file's header */
        /* Keras's cifar10_resnet.py counts (its README: ResNet20 v1 0.27M) */
        {"resnet20.nn", 274442, 273066, 71},
        {"resnet56.nn", 861770, 857706, 197},
        {"resnet20_fashion.nn", 274154, 272778, 71},
    };
    for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++) {
        nn_model m;
        nn_error e;
        int rc = build_file(refs[i].file, &m, &e);
        if (rc)
            fprintf(stderr, "  %s: %s\n", refs[i].file, e.msg);
        CU_ASSERT_EQUAL(rc, NN_OK);
        if (rc)
            continue;
        CU_ASSERT_EQUAL(m.nparams, refs[i].total);
        CU_ASSERT_EQUAL(nn_model_trainable_params(&m), refs[i].trainable);
        CU_ASSERT_EQUAL(m.nlayers, refs[i].nlayers);
        nn_model_free(&m);
    }
}

static void test_mnist_cnn_shapes_and_names(void)
{
    nn_model m;
    nn_error e;
    TU_ASSERT_OK(build_file("mnist_cnn.nn", &m, &e), e);
    CU_ASSERT_EQUAL_FATAL(m.nlayers, 8);
    static const char *const names[] = {"conv2d", "max_pooling2d", "conv2d_1",
                                        "max_pooling2d_1", "conv2d_2", "flatten",
                                        "dense", "dense_1"};
    static const size_t params[] = {320, 0, 18496, 0, 36928, 0, 36928, 650};
    for (int i = 0; i < 8; i++) {
        CU_ASSERT_STRING_EQUAL(m.layers[i].name, names[i]);
        CU_ASSERT_EQUAL(m.layers[i].param_len, params[i]);
    }
    CU_ASSERT(shape_is(&m.in_shape, 3, 28, 28, 1));
    CU_ASSERT(shape_is(&m.layers[0].out, 3, 26, 26, 32));
    CU_ASSERT(shape_is(&m.layers[1].out, 3, 13, 13, 32));
    CU_ASSERT(shape_is(&m.layers[2].out, 3, 11, 11, 64));
    CU_ASSERT(shape_is(&m.layers[3].out, 3, 5, 5, 64));
    CU_ASSERT(shape_is(&m.layers[4].out, 3, 3, 3, 64));
    CU_ASSERT(shape_is(&m.layers[5].out, 1, 576, 0, 0));
    CU_ASSERT(shape_is(&m.layers[6].out, 1, 64, 0, 0));
    CU_ASSERT(shape_is(&m.layers[7].out, 1, 10, 0, 0));
    CU_ASSERT(shape_is(&m.layers[2].in, 3, 13, 13, 32));
    CU_ASSERT_EQUAL(nn_model_in_size(&m), 784);
    CU_ASSERT_EQUAL(nn_model_out_size(&m), 10);
    CU_ASSERT_EQUAL(m.layers[7].act, NN_ACT_SOFTMAX);
    CU_ASSERT_EQUAL(m.layers[0].act, NN_ACT_RELU);
    /* compile() and fit() from the file */
    CU_ASSERT_EQUAL(m.loss, NN_LOSS_SCCE);
    CU_ASSERT_EQUAL(m.optim.kind, NN_OPT_RMSPROP);
    CU_ASSERT_DOUBLE_EQUAL(m.optim.lr, 0.001, 1e-12);
    CU_ASSERT_EQUAL(m.nmetrics, 1);
    CU_ASSERT_STRING_EQUAL(m.metric_names[0], "accuracy");
    CU_ASSERT_EQUAL(m.metrics[0], NN_MET_CAT_ACC);
    CU_ASSERT_EQUAL(m.fit.batch_size, 64);
    CU_ASSERT_EQUAL(m.fit.epochs, 5);
    CU_ASSERT_DOUBLE_EQUAL(m.fit.validation_split, 0.1, 1e-12);
    CU_ASSERT_EQUAL(m.fit.shuffle, 1);
    CU_ASSERT_EQUAL(m.fit.seed, 42);
    nn_model_free(&m);
}

static void test_other_shapes(void)
{
    nn_model m;
    nn_error e;
    /* Rick CNN: 90x160x3 through three conv5/pool3 stages to 1x4x64 */
    TU_ASSERT_OK(build_file("rick_cnn.nn", &m, &e), e);
    CU_ASSERT_EQUAL_FATAL(m.nlayers, 10);
    CU_ASSERT(shape_is(&m.layers[0].out, 3, 86, 156, 20));
    CU_ASSERT(shape_is(&m.layers[1].out, 3, 28, 52, 20));
    CU_ASSERT(shape_is(&m.layers[3].out, 3, 8, 16, 20));
    CU_ASSERT(shape_is(&m.layers[5].out, 3, 1, 4, 64));
    CU_ASSERT(shape_is(&m.layers[6].out, 1, 256, 0, 0));
    CU_ASSERT_STRING_EQUAL(m.layers[8].name, "dropout");
    CU_ASSERT_STRING_EQUAL(m.layers[9].name, "dense_1");
    CU_ASSERT_EQUAL(m.loss, NN_LOSS_BCE);
    CU_ASSERT_EQUAL(m.fit.batch_size, 100);
    CU_ASSERT_EQUAL(m.fit.epochs, 25);
    nn_model_free(&m);

    /* CIFAR-10: padding="same" keeps 32x32 */
    TU_ASSERT_OK(build_file("cifar10_cnn.nn", &m, &e), e);
    CU_ASSERT_EQUAL_FATAL(m.nlayers, 12);
    CU_ASSERT(shape_is(&m.layers[0].out, 3, 32, 32, 32));
    CU_ASSERT(shape_is(&m.layers[1].out, 3, 30, 30, 32));
    CU_ASSERT(shape_is(&m.layers[2].out, 3, 15, 15, 32));
    CU_ASSERT(shape_is(&m.layers[4].out, 3, 15, 15, 64));
    CU_ASSERT(shape_is(&m.layers[5].out, 3, 13, 13, 64));
    CU_ASSERT(shape_is(&m.layers[8].out, 1, 2304, 0, 0));
    CU_ASSERT_STRING_EQUAL(m.layers[3].name, "dropout");
    CU_ASSERT_STRING_EQUAL(m.layers[7].name, "dropout_1");
    CU_ASSERT_STRING_EQUAL(m.layers[10].name, "dropout_2");
    CU_ASSERT_EQUAL(m.optim.kind, NN_OPT_RMSPROP);
    CU_ASSERT_DOUBLE_EQUAL(m.optim.lr, 1e-4, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(m.optim.decay, 1e-6, 1e-18);
    nn_model_free(&m);

    /* Rick dense: Flatten carries input_shape */
    TU_ASSERT_OK(build_file("rick_dense.nn", &m, &e), e);
    CU_ASSERT_EQUAL_FATAL(m.nlayers, 3);
    CU_ASSERT(shape_is(&m.in_shape, 3, 90, 160, 3));
    CU_ASSERT(shape_is(&m.layers[0].out, 1, 43200, 0, 0));
    nn_model_free(&m);

    /* sqrt: Adam, mae metric, explicit seed */
    TU_ASSERT_OK(build_file("sqrt.nn", &m, &e), e);
    CU_ASSERT_EQUAL_FATAL(m.nlayers, 3);
    CU_ASSERT_EQUAL(m.loss, NN_LOSS_MSE);
    CU_ASSERT_EQUAL(m.optim.kind, NN_OPT_ADAM);
    CU_ASSERT_EQUAL(m.metrics[0], NN_MET_MAE);
    CU_ASSERT_DOUBLE_EQUAL(m.fit.validation_split, 0.2, 1e-12);
    CU_ASSERT_EQUAL(m.fit.seed, 42);
    CU_ASSERT_EQUAL(m.fit.epochs, 50);
    CU_ASSERT_EQUAL(m.fused, 0);
    nn_model_free(&m);
}

static void test_summary(void)
{
    nn_model m;
    nn_error e;
    TU_ASSERT_OK(build_file("mnist_cnn.nn", &m, &e), e);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    nn_model_summary(&m, f);
    fclose(f);
    CU_ASSERT(tu_contains(text, "Model: \"sequential\""));
    CU_ASSERT(tu_contains(text, "Total params: 93,322\n"));
    CU_ASSERT(tu_contains(text, "Trainable params: 93,322\n"));
    CU_ASSERT(tu_contains(text, "Non-trainable params: 0\n"));
    CU_ASSERT(tu_contains(text, " conv2d (Conv2D) "));
    CU_ASSERT(tu_contains(text, " conv2d_1 (Conv2D) "));
    CU_ASSERT(tu_contains(text, " conv2d_2 (Conv2D) "));
    CU_ASSERT(tu_contains(text, " max_pooling2d (MaxPooling2D) "));
    CU_ASSERT(tu_contains(text, " max_pooling2d_1 (MaxPooling2D) "));
    CU_ASSERT(tu_contains(text, " flatten (Flatten) "));
    CU_ASSERT(tu_contains(text, " dense (Dense) "));
    CU_ASSERT(tu_contains(text, " dense_1 (Dense) "));
    CU_ASSERT(tu_contains(text, "(None, 26, 26, 32)"));
    CU_ASSERT(tu_contains(text, "(None, 3, 3, 64)"));
    CU_ASSERT(tu_contains(text, "(None, 576)"));
    CU_ASSERT(tu_contains(text, " 18496 "));
    /* rows in model order */
    const char *a = strstr(text, " conv2d_1 "), *b = strstr(text, " max_pooling2d_1 ");
    CU_ASSERT(a && b && a < b);
    free(text);
    nn_model_free(&m);

    /* millions get two separators; a frozen layer is non-trainable */
    TU_ASSERT_OK(tu_build("Flatten(input_shape=(90, 160, 3))\n"
                          "Dense(100, activation=\"relu\", trainable=False)\n"
                          "Dense(1, activation=\"sigmoid\")\n", &m, &e), e);
    text = NULL;
    f = open_memstream(&text, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    nn_model_summary(&m, f);
    fclose(f);
    CU_ASSERT(tu_contains(text, "Total params: 4,320,201\n"));
    CU_ASSERT(tu_contains(text, "Trainable params: 101\n"));
    CU_ASSERT(tu_contains(text, "Non-trainable params: 4,320,100\n"));
    free(text);
    nn_model_free(&m);
}

/* ---- build errors --------------------------------------------------------- */

#define L1 "Dense(10, activation=\"relu\", input_shape=(4,))\n"

static void test_err_layers(void)
{
    build_fails(L1 "Dense2(3)\n", NN_EINVAL, "t.nn:2:1: unknown layer 'Dense2'",
                "known: Dense, Conv2D, MaxPooling2D, Dropout, Flatten, Activation");
    build_fails(L1 "Dense(3, kernel_constraint=\"max_norm\")\n", NN_EINVAL,
                "t.nn:2:28: Dense() got an unknown argument 'kernel_constraint'",
                "known: units, activation");
    build_fails("Conv2D(4, (3, 3), activation=\"relu\", input_shape=(8, 8, 1))\n"
                "Dense(10)\n",
                NN_ESHAPE, "t.nn:2:1: Dense 'dense'", "add Flatten()");
    build_fails("Conv2D(4, (5, 5), input_shape=(4, 6, 1))\n", NN_ESHAPE,
                "t.nn:1:1: Conv2D 'conv2d': kernel_size (5, 5) is larger than the input",
                "(None, 4, 6, 1)");
    build_fails(L1 "Conv2D(4, 3)\n", NN_ESHAPE, "t.nn:2:1: Conv2D 'conv2d'",
                "expected a 3-D input");
    build_fails(L1 "MaxPooling2D()\n", NN_ESHAPE, "t.nn:2:1: MaxPooling2D 'max_pooling2d'",
                "3-D input");
    /* the layer's own "Kind 'name'" is not repeated by the model's prefix */
    nn_model m;
    nn_error e;
    CU_ASSERT_EQUAL(tu_build(L1 "MaxPooling2D()\n", &m, &e), NN_ESHAPE);
    const char *first = strstr(e.msg, "'max_pooling2d'");
    CU_ASSERT_PTR_NOT_NULL(first);
    CU_ASSERT(first && !strstr(first + 1, "'max_pooling2d'"));
}

static void test_err_input_shape(void)
{
    build_fails("\n# first\nDense(10, activation=\"relu\")\nDense(2)\n", NN_EINVAL,
                "t.nn:3:1: the first layer needs input_shape=(...)", NULL);
    build_fails(L1 "Dense(3, input_shape=(10,))\n", NN_EINVAL,
                "t.nn:2:1: input_shape is only allowed on the first layer", NULL);
    build_fails("Input(shape=(4,))\nDense(3, input_shape=(5,))\n", NN_EINVAL,
                "t.nn:2:1: input_shape is only allowed on the first layer", NULL);
    build_fails(L1 "Input(shape=(4,))\n", NN_EINVAL,
                "t.nn:2:1: Input() must come before the first layer", NULL);
    build_fails("Input()\nDense(3)\n", NN_EINVAL, "t.nn:1:1: Input() needs shape=(...)", NULL);
}

static void test_err_compile(void)
{
    build_fails(L1 "compile(loss=\"crossentropy\")\n", NN_EINVAL,
                "t.nn:2:14: compile(): unknown loss 'crossentropy'",
                "known: mean_squared_error, mean_absolute_error, binary_crossentropy");
    build_fails(L1 "compile(loss=\"mse\",\n        metrics=[\"mae\", \"f1\"])\n", NN_EINVAL,
                "t.nn:3:25: compile(): unknown metric 'f1'", "known: accuracy");
    build_fails(L1 "compile(loss=\"mse\", optimizer=\"adamw\")\n", NN_EINVAL,
                "t.nn:2:31: unknown optimizer 'adamw'", "known: SGD, RMSprop, Adam, Adadelta");
    build_fails(L1 "compile(loss=\"mse\", optimizer=Adamax(lr=0.1))\n", NN_EINVAL,
                "t.nn:2:31: unknown optimizer 'Adamax'", "Adadelta, Nadam");
    build_fails(L1 "compile(optimizer=\"adam\", metrics=[\"mae\"])\n", NN_EINVAL,
                "t.nn:2:1: compile() needs loss=", NULL);
    build_fails(L1 "compile(loss=\"mse\")\nDense(3)\n", NN_EINVAL,
                "t.nn:3:1: layer Dense() after compile()/fit()", NULL);
    build_fails(L1 "compile(loss=\"mse\")\ncompile(loss=\"mae\")\n", NN_EINVAL,
                "t.nn:3:1: a second compile() line", NULL);
    build_fails(L1 "compile(loss=\"mse\", metrics=[3])\n", NN_EINVAL,
                "t.nn:2:30: compile(): metrics must be a list of names such as", NULL);
}

static void test_err_names_fit_empty(void)
{
    build_fails("Dense(10, input_shape=(4,), name=\"hidden\")\nDense(3, name=\"hidden\")\n",
                NN_EINVAL, "t.nn:2:1: layer name 'hidden' is used twice", NULL);
    /* a user name that clashes with a later automatic one (Keras refuses it too) */
    build_fails("Dense(10, input_shape=(4,), name=\"dense_1\")\nDense(3)\nDense(2)\n",
                NN_EINVAL, "t.nn:3:1: layer name 'dense_1' is used twice", NULL);
    build_fails(L1 "fit(batch_size=0)\n", NN_EINVAL,
                "t.nn:2:16: fit(): batch_size must be >= 1, found 0", NULL);
    build_fails(L1 "fit(epochs=-1)\n", NN_EINVAL, "t.nn:2:12: fit(): epochs must be >= 0",
                NULL);
    build_fails(L1 "fit(validation_split=1)\n", NN_EINVAL,
                "t.nn:2:22: fit(): validation_split must be in [0, 1), found 1", NULL);
    build_fails(L1 "fit(seed=1.5)\n", NN_EINVAL, "t.nn:2:10: fit(): seed must be", NULL);
    build_fails(L1 "fit(batch_size=32)\nfit(epochs=2)\n", NN_EINVAL,
                "t.nn:3:1: a second fit() line", NULL);
    build_fails(L1 "fit(batchsize=32)\n", NN_EINVAL, "fit() got an unknown argument 'batchsize'",
                "known: batch_size, epochs");
    build_fails("", NN_EINVAL, "t.nn: the model has no layers", NULL);
    build_fails("# only a comment\ncompile(loss=\"mse\")\n", NN_EINVAL,
                "the model has no layers", NULL);
    /* a parse error comes through unchanged */
    build_fails("Dense(10", NN_EFORMAT, "t.nn:1:6:", NULL);
}

/* ---- loss fusion and metrics ---------------------------------------------- */

/* Builds "<layer line>\ncompile(loss=...)" after a hidden Dense and returns
 * m.fused (-1 on error); the model is kept in *keep unless keep is NULL. */
static int fused_of(const char *last, const char *loss, nn_model *keep)
{
    char text[512];
    snprintf(text, sizeof text,
             "Dense(6, activation=\"relu\", input_shape=(4,))\n%s\n"
             "compile(loss=\"%s\", metrics=[\"accuracy\"])\n",
             last, loss);
    nn_model m;
    nn_error e;
    if (keep)
        memset(keep, 0, sizeof *keep);   /* safe to free on failure */
    int rc = tu_build(text, &m, &e);
    if (rc) {
        fprintf(stderr, "  %s\n", e.msg);
        return -1;
    }
    int f = m.fused;
    CU_ASSERT_EQUAL(m.layers[m.nlayers - 1].dy_is_preact, f);
    CU_ASSERT_EQUAL(m.layers[0].dy_is_preact, 0);
    if (keep)
        *keep = m;
    else
        nn_model_free(&m);
    return f;
}

static void test_fusion(void)
{
    nn_model m;
    CU_ASSERT_EQUAL(fused_of("Dense(3, activation=\"softmax\")",
                             "sparse_categorical_crossentropy", &m), 1);
    CU_ASSERT_EQUAL(m.metrics[0], NN_MET_CAT_ACC);
    nn_model_free(&m);
    CU_ASSERT_EQUAL(fused_of("Dense(3, activation=\"softmax\")", "categorical_crossentropy",
                             NULL), 1);
    CU_ASSERT_EQUAL(fused_of("Dense(1, activation=\"sigmoid\")", "binary_crossentropy", &m), 1);
    CU_ASSERT_EQUAL(m.metrics[0], NN_MET_BINARY_ACC);
    nn_model_free(&m);
    /* several sigmoid outputs with BCE: still "accuracy" -> binary */
    CU_ASSERT_EQUAL(fused_of("Dense(3, activation=\"sigmoid\")", "binary_crossentropy", &m), 1);
    CU_ASSERT_EQUAL(m.metrics[0], NN_MET_BINARY_ACC);
    nn_model_free(&m);
    /* not fused */
    CU_ASSERT_EQUAL(fused_of("Dense(1)", "mse", &m), 0);
    CU_ASSERT_EQUAL(m.metrics[0], NN_MET_BINARY_ACC);   /* K == 1 */
    nn_model_free(&m);
    CU_ASSERT_EQUAL(fused_of("Dense(3, activation=\"softmax\")", "mse", NULL), 0);
    CU_ASSERT_EQUAL(fused_of("Dense(3, activation=\"sigmoid\")", "categorical_crossentropy",
                             NULL), 0);
    CU_ASSERT_EQUAL(fused_of("Dense(3)", "categorical_crossentropy", NULL), 0);
    CU_ASSERT_EQUAL(fused_of("Dense(2, activation=\"softmax\")", "binary_crossentropy", NULL),
                    0);
    /* a separate Activation layer fuses like Dense's own activation */
    CU_ASSERT_EQUAL(fused_of("Dense(3)\nActivation(\"softmax\")",
                             "sparse_categorical_crossentropy", NULL), 1);
}

static void test_metric_resolution(void)
{
    nn_model m;
    nn_error e;
    TU_ASSERT_OK(tu_build(L1 "Dense(5, activation=\"softmax\")\n"
                          "compile(loss=\"categorical_crossentropy\",\n"
                          "        metrics=[\"acc\", \"binary_accuracy\", \"mse\", \"mae\", "
                          "\"sparse_categorical_accuracy\"])\n",
                          &m, &e), e);
    CU_ASSERT_EQUAL_FATAL(m.nmetrics, 5);
    CU_ASSERT_EQUAL(m.metrics[0], NN_MET_CAT_ACC);
    CU_ASSERT_EQUAL(m.metrics[1], NN_MET_BINARY_ACC);
    CU_ASSERT_EQUAL(m.metrics[2], NN_MET_MSE);
    CU_ASSERT_EQUAL(m.metrics[3], NN_MET_MAE);
    CU_ASSERT_EQUAL(m.metrics[4], NN_MET_CAT_ACC);
    CU_ASSERT_STRING_EQUAL(m.metric_names[0], "acc");
    nn_model_free(&m);
    /* no compile(): a model for summary only; no optimizer or metrics */
    TU_ASSERT_OK(tu_build(L1 "Dense(2)\n", &m, &e), e);
    CU_ASSERT_EQUAL(m.compiled, 0);
    CU_ASSERT_EQUAL(m.fused, 0);
    CU_ASSERT_EQUAL(m.nmetrics, 0);
    CU_ASSERT_EQUAL(m.fit.batch_size, 32);   /* Keras defaults */
    CU_ASSERT_EQUAL(m.fit.epochs, 1);
    nn_model_free(&m);
    /* compile() without optimizer: Keras's default RMSprop */
    TU_ASSERT_OK(tu_build(L1 "compile(loss=\"mae\")\n", &m, &e), e);
    CU_ASSERT_EQUAL(m.optim.kind, NN_OPT_RMSPROP);
    CU_ASSERT_EQUAL(m.loss, NN_LOSS_MAE);
    nn_model_free(&m);
}

static void test_r_spelling(void)
{
    nn_model m;
    nn_error e;
    TU_ASSERT_OK(tu_build("layer_dense(units = 10, activation = \"relu\", input_shape = c(4))\n"
                          "layer_dropout(rate = 0.2)\n"
                          "layer_dense(units = 3, activation = 'softmax')\n"
                          "compile(loss = \"sparse_categorical_crossentropy\", "
                          "optimizer = optimizer_rmsprop(lr = 0.01), metrics = c(\"accuracy\"))\n"
                          "fit(batch_size = 16, epochs = 2, shuffle = FALSE)\n",
                          &m, &e), e);
    CU_ASSERT_EQUAL_FATAL(m.nlayers, 3);
    CU_ASSERT_STRING_EQUAL(m.layers[0].name, "dense");
    CU_ASSERT_STRING_EQUAL(m.layers[1].name, "dropout");
    CU_ASSERT_STRING_EQUAL(m.layers[2].name, "dense_1");
    CU_ASSERT_EQUAL(m.nparams, 4 * 10 + 10 + 10 * 3 + 3);
    CU_ASSERT_EQUAL(m.fused, 1);
    CU_ASSERT_EQUAL(m.optim.kind, NN_OPT_RMSPROP);
    CU_ASSERT_DOUBLE_EQUAL(m.optim.lr, 0.01, 1e-12);
    CU_ASSERT_EQUAL(m.fit.batch_size, 16);
    CU_ASSERT_EQUAL(m.fit.shuffle, 0);
    CU_ASSERT_EQUAL(m.metrics[0], NN_MET_CAT_ACC);
    nn_model_free(&m);

    /* as in Keras, a named layer does not use up an automatic number */
    TU_ASSERT_OK(tu_build("Dense(8, input_shape=(4,), name=\"hidden\")\nDense(4)\n"
                          "Dropout(0.5, name=\"drop\")\nDense(2)\nDropout(0.1)\n", &m, &e), e);
    CU_ASSERT_EQUAL_FATAL(m.nlayers, 5);
    CU_ASSERT_STRING_EQUAL(m.layers[0].name, "hidden");
    CU_ASSERT_STRING_EQUAL(m.layers[1].name, "dense");
    CU_ASSERT_STRING_EQUAL(m.layers[2].name, "drop");
    CU_ASSERT_STRING_EQUAL(m.layers[3].name, "dense_1");
    CU_ASSERT_STRING_EQUAL(m.layers[4].name, "dropout");
    nn_model_free(&m);

    /* Keras code pasted as is */
    TU_ASSERT_OK(tu_build("model.add(keras.layers.Dense(8, input_dim=4))\n"
                          "model.add(Activation('tanh'))\n"
                          "model.add(Dense(1))\n"
                          "model.compile(loss='mse', optimizer=keras.optimizers.SGD(lr=0.1))\n",
                          &m, &e), e);
    CU_ASSERT_EQUAL_FATAL(m.nlayers, 3);
    CU_ASSERT_EQUAL(m.nparams, 4 * 8 + 8 + 8 + 1);
    CU_ASSERT_STRING_EQUAL(m.layers[1].name, "activation");
    CU_ASSERT_EQUAL(m.optim.kind, NN_OPT_SGD);
    nn_model_free(&m);
}

/* ---- whole-model gradient checks ------------------------------------------ */

#define RELU_POOL_CNN                                                                     \
    "Conv2D(8, (3, 3), activation=\"relu\", input_shape=(8, 9, 2))\n"                       \
    "MaxPooling2D((2, 2), strides=(2, 1))\n"                                               \
    "Conv2D(8, (2, 2), activation=\"relu\")\n"                                              \
    "MaxPooling2D((2, 2))\n"                                                               \
    "Flatten()\n"                                                                         \
    "Dense(3, activation=\"softmax\")\n"                                                    \
    "compile(loss=\"categorical_crossentropy\")\n"

static const char *const gc_specs[] = {
    /* softmax + SCCE, fused */
    "Dense(6, activation=\"relu\", input_shape=(5,))\n"
    "Dense(4, activation=\"softmax\")\n"
    "compile(loss=\"sparse_categorical_crossentropy\")\n",
    /* sigmoid + BCE, fused (two outputs) */
    "Dense(5, activation=\"tanh\", input_shape=(3,))\n"
    "Dense(2, activation=\"sigmoid\")\n"
    "compile(loss=\"binary_crossentropy\")\n",
    /* linear + MSE */
    "Dense(5, activation=\"relu\", input_shape=(4,))\n"
    "Dense(3)\n"
    "compile(loss=\"mse\")\n",
    /* softmax + MSE: the plain (unfused) softmax derivative */
    "Dense(4, activation=\"tanh\", input_shape=(3,))\n"
    "Dense(3, activation=\"softmax\")\n"
    "compile(loss=\"mse\")\n",
    /* a small CNN: same padding with stride 2, pool, dropout, softmax + CCE */
    "Conv2D(3, (3, 3), strides=2, padding=\"same\", activation=\"relu\", "
    "input_shape=(7, 6, 2))\n"
    "MaxPooling2D((2, 2))\n"
    "Flatten()\n"
    "Dropout(0.3)\n"
    "Dense(4, activation=\"softmax\")\n"
    "compile(loss=\"categorical_crossentropy\")\n",
    /* a ReLU conv under max pooling whose output only the pool's forward
     * reads (the pool applies the ReLU derivative; direct kernels, F = 8) */
    RELU_POOL_CNN,
};

static void test_gradcheck_models(void)
{
    for (size_t i = 0; i < sizeof gc_specs / sizeof gc_specs[0]; i++) {
        gc_model_ok(gc_specs[i], 1, 100 + i);
        gc_model_ok(gc_specs[i], 4, 200 + i);
    }
}

/* Gradients (nparams) and outputs (B, out) of RELU_POOL_CNN on fixed data,
 * with the ReLU handed to the pools (as built) or not, on 1 or 2 threads,
 * cache passes of 2 rows. */
static void relu_pool_run(int fused, int threads, int B, float *grads, float *out)
{
    nn_model m;
    nn_error e;
    TU_ASSERT_OK(tu_build(RELU_POOL_CNN, &m, &e), e);
    CU_ASSERT_EQUAL(m.layers[0].dy_is_preact, 1);
    CU_ASSERT_EQUAL(m.layers[1].mask_relu, 1);
    CU_ASSERT_EQUAL(m.layers[2].dy_is_preact, 1);
    CU_ASSERT_EQUAL(m.layers[3].mask_relu, 1);
    if (!fused)
        for (int i = 0; i < 4; i++)
            m.layers[i].dy_is_preact = m.layers[i].mask_relu = 0;
    TU_ASSERT_OK(nn_model_set_threads(&m, threads, &e), e);
    TU_ASSERT_OK(nn_model_plan(&m, B, &e), e);
    /* the first conv's output is kept one chunk at a time only when fused
     * (the second conv's params exceed its output: it is past the prefix) */
    CU_ASSERT_EQUAL(m.exec->cache_layers, 2);
    CU_ASSERT_EQUAL(m.exec->toff[0] != SIZE_MAX, fused);
    CU_ASSERT_EQUAL(nn_model_layer_out(&m, NULL, 0) == NULL, fused);
    CU_ASSERT(m.exec->toff[1] == SIZE_MAX);
    m.exec->cache_rows = 2;
    size_t nin = nn_model_in_size(&m) * (size_t)B, K = nn_model_out_size(&m);
    float *x = malloc(nin * sizeof *x), *dout = malloc((size_t)B * K * sizeof *dout);
    tu_fill_uniform(m.params, m.nparams, 7, -0.5f, 0.5f);
    tu_fill_uniform(x, nin, 8, -1.0f, 1.0f);
    tu_fill_uniform(dout, (size_t)B * K, 9, -1.0f, 1.0f);
    nn_ctx ctx = {.training = 1, .seed = 1};
    memcpy(out, nn_model_forward(&m, x, B, &ctx), (size_t)B * K * sizeof *out);
    memset(m.grads, 0, m.nparams * sizeof *m.grads);
    nn_model_backward(&m, x, dout, B, &ctx);
    memcpy(grads, m.grads, m.nparams * sizeof *grads);
    free(x);
    free(dout);
    nn_model_free(&m);
}

/* Handing a ReLU's derivative to the max pooling above it, and keeping the
 * ReLU's output only per cache pass, change no bit of the gradients. */
static void test_relu_pool_fusion(void)
{
    enum { B = 5, NP = 8 * 18 + 8 + 8 * 32 + 8 + 16 * 3 + 3, NOUT = B * 3 };
    static float g[2][NP], y[2][NOUT];
    for (int threads = 1; threads <= 2; threads++) {
        relu_pool_run(1, threads, B, g[0], y[0]);
        relu_pool_run(0, threads, B, g[1], y[1]);
        CU_ASSERT(memcmp(y[0], y[1], sizeof y[0]) == 0);
        CU_ASSERT(memcmp(g[0], g[1], sizeof g[0]) == 0);
        double s = 0;
        for (int i = 0; i < NP; i++)
            s += fabs(g[0][i]);
        CU_ASSERT(s > 0);
    }
}

/* ---- initialisation ------------------------------------------------------- */

static void test_init_deterministic(void)
{
    nn_model a, b;
    nn_error e;
    TU_ASSERT_OK(build_file("mnist_cnn.nn", &a, &e), e);
    TU_ASSERT_OK(build_file("mnist_cnn.nn", &b, &e), e);
    nn_model_init_params(&a, 7);
    nn_model_init_params(&b, 7);
    CU_ASSERT_EQUAL(memcmp(a.params, b.params, a.nparams * sizeof(float)), 0);
    nn_model_init_params(&b, 8);
    size_t differ = 0, kernel = 0;
    for (int i = 0; i < a.nlayers; i++) {
        const nn_layer *l = &a.layers[i];
        nn_param_spec ps[NN_MAX_PARAM_SPECS];
        if (!l->param_len)
            continue;
        int n = l->ops->param_specs(l, ps);
        CU_ASSERT_EQUAL(n, 2);
        size_t klen = ps[1].off;   /* kernel first, then the bias */
        for (size_t k = 0; k < klen; k++)
            differ += a.params[l->param_off + k] != b.params[l->param_off + k];
        kernel += klen;
        /* biases are zeros whatever the seed */
        for (size_t k = klen; k < l->param_len; k++) {
            CU_ASSERT_EQUAL(a.params[l->param_off + k], 0.0f);
            CU_ASSERT_EQUAL(b.params[l->param_off + k], 0.0f);
        }
    }
    CU_ASSERT(differ > kernel * 99 / 100);
    /* initialising again with the first seed restores the same values */
    nn_model_init_params(&b, 7);
    CU_ASSERT_EQUAL(memcmp(a.params, b.params, a.nparams * sizeof(float)), 0);
    nn_model_free(&a);
    nn_model_free(&b);
}

static void test_init_glorot_uniform(void)
{
    nn_model m;
    nn_error e;
    TU_ASSERT_OK(tu_build("Dense(10, input_shape=(784,))\n", &m, &e), e);
    CU_ASSERT_EQUAL_FATAL(m.nparams, 7850);
    nn_model_init_params(&m, 42);
    double limit = sqrt(6.0 / (784 + 10)), mx = 0, sum = 0, sq = 0;
    size_t n = 7840, out = 0;
    for (size_t i = 0; i < n; i++) {
        double w = m.params[i];
        if (fabs(w) > limit * (1 + 1e-7))   /* slack for float rounding only */
            out++;
        mx = fmax(mx, fabs(w));
        sum += w;
        sq += w * w;
    }
    CU_ASSERT_EQUAL(out, 0);
    /* the whole range is used and the variance is limit^2 / 3 */
    CU_ASSERT(mx > 0.99 * limit);
    double mean = sum / n, var = sq / n - mean * mean;
    CU_ASSERT(fabs(mean) < 0.05 * limit);
    CU_ASSERT(fabs(var / (limit * limit / 3) - 1) < 0.1);
    for (size_t i = n; i < 7850; i++)
        CU_ASSERT_EQUAL(m.params[i], 0.0f);
    nn_model_free(&m);
}

int main(void)
{
    static const tu_test tests[] = {
        {"Keras parameter totals (jobs/models)", test_param_totals},
        {"Keras parameter totals with BatchNormalization (jobs/models)", test_param_totals_bn},
        {"MNIST CNN shapes, names, compile, fit", test_mnist_cnn_shapes_and_names},
        {"Rick, CIFAR-10, sqrt shapes and settings", test_other_shapes},
        {"summary text", test_summary},
        {"errors: layers and shapes", test_err_layers},
        {"errors: input_shape", test_err_input_shape},
        {"errors: compile", test_err_compile},
        {"errors: names, fit, empty model", test_err_names_fit_empty},
        {"fused loss flag", test_fusion},
        {"metric resolution and defaults", test_metric_resolution},
        {"R and Keras spellings", test_r_spelling},
        {"gradient check: whole models, B = 1 and 4", test_gradcheck_models},
        {"ReLU under max pooling: fused = unfused, bitwise", test_relu_pool_fusion},
        {"init: deterministic in the seed", test_init_deterministic},
        {"init: glorot_uniform limits", test_init_glorot_uniform},
        {NULL, NULL},
    };
    return tu_main("model", tests);
}
