/* The fit loop in one process: frozen layers keep their weights,
 * class_weight scales the loss like Keras, the autoencoder view feeds y = x,
 * and a Keras dictionary parses. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nntrain/evaluate.h"
#include "nntrain/fit.h"
#include "testutil.h"

#define N 64
static float xs[N * 6], ys[N];

static void make_data(void)
{
    tu_fill_uniform(xs, sizeof xs / sizeof xs[0], 3, -1.0f, 1.0f);
    for (int i = 0; i < N; i++)
        ys[i] = (float)(xs[i * 6] + xs[i * 6 + 1] > 0 ? 1 : 0);
}

/* Fits spec for one epoch on the data; the model is returned trained. */
static int fit_spec(const char *spec, nn_model *m, int epochs, nn_error *e)
{
    nn_spec s;
    nn_dataset ds;
    nn_dist d;
    nn_dist_single(&d);
    int rc = nn_spec_parse(spec, "fit.nn", &s, e);
    if (!rc)
        rc = nn_model_build(m, &s, e);
    if (rc)
        return rc;
    nn_spec_free(&s);
    nn_model_init_params(m, 9);
    nn_memory_open(&ds, xs, ys, N, nn_shape1(6), 1, 2, "memory", e);
    nn_fit_opts o = {.fit = m->fit, .progress = 0};
    o.fit.verbose = 0;
    o.fit.epochs = epochs;
    rc = nn_fit(m, &ds, NULL, &o, &d, NULL, e);
    nn_data_close(&ds);
    return rc;
}

static void test_frozen_layer_keeps_weights(void)
{
    nn_error e = {0};
    nn_model a, b;
    const char *frozen = "Dense(8, activation=\"relu\", input_shape=(6,), trainable=False)\n"
                         "Dense(2, activation=\"softmax\")\n"
                         "compile(loss=\"sparse_categorical_crossentropy\", optimizer=\"adam\")\n"
                         "fit(batch_size=16, shuffle=False)\n";
    TU_ASSERT_OK(fit_spec(frozen, &a, 0, &e), e);   /* initial weights */
    TU_ASSERT_OK(fit_spec(frozen, &b, 2, &e), e);
    size_t n0 = a.layers[0].param_len, n1 = a.layers[1].param_len;
    CU_ASSERT_EQUAL(memcmp(a.params, b.params, n0 * sizeof(float)), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(a.params + n0, b.params + n0, n1 * sizeof(float)), 0);
    nn_model_free(&a);
    nn_model_free(&b);
}

static void test_class_weight_scales_gradient(void)
{
    /* With plain SGD, every class weighted 2 is the same step as twice the
     * learning rate: the weight multiplies each sample's gradient. */
    nn_error e = {0};
    nn_model a, b;
    const char *w2 = "Dense(2, activation=\"softmax\", input_shape=(6,))\n"
                     "compile(loss=\"sparse_categorical_crossentropy\", optimizer=SGD(lr=0.05))\n"
                     "fit(batch_size=16, shuffle=False, class_weight={0: 2.0, 1: 2.0})\n";
    const char *lr2 = "Dense(2, activation=\"softmax\", input_shape=(6,))\n"
                      "compile(loss=\"sparse_categorical_crossentropy\", optimizer=SGD(lr=0.1))\n"
                      "fit(batch_size=16, shuffle=False)\n";
    TU_ASSERT_OK(fit_spec(w2, &a, 1, &e), e);
    TU_ASSERT_OK(fit_spec(lr2, &b, 1, &e), e);
    long bad;
    double md = tu_max_diff(a.params, b.params, a.nparams, 1e-5, &bad);
    printf("\n  class_weight 2 vs lr x2: max diff %.3g", md);
    CU_ASSERT_EQUAL(bad, -1);
    CU_ASSERT_EQUAL(a.fit.nclass_weight, 2);
    nn_model_free(&a);
    nn_model_free(&b);
    /* A weight for one class only changes the result. */
    const char *w1 = "Dense(2, activation=\"softmax\", input_shape=(6,))\n"
                     "compile(loss=\"sparse_categorical_crossentropy\", optimizer=SGD(lr=0.05))\n"
                     "fit(batch_size=16, shuffle=False, class_weight=[1.0, 3.0])\n";
    TU_ASSERT_OK(fit_spec(w1, &a, 1, &e), e);
    TU_ASSERT_OK(fit_spec(lr2, &b, 1, &e), e);
    CU_ASSERT(tu_max_diff(a.params, b.params, a.nparams, 1e-5, &bad) > 1e-4);
    CU_ASSERT_EQUAL(a.fit.class_weight[1], 3.0f);
    nn_model_free(&a);
    nn_model_free(&b);
}

static void test_class_weight_errors(void)
{
    nn_error e = {0};
    nn_model m;
    nn_spec s;
    const char *bad[] = {
        "Dense(1, input_shape=(2,))\nfit(class_weight={0: -1})\n",
        "Dense(1, input_shape=(2,))\nfit(class_weight={\"a\": 1})\n",
        "Dense(1, input_shape=(2,))\nfit(class_weight=2)\n",
        "Dense(1, input_shape=(2,))\nfit(class_weight={0 1})\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = nn_spec_parse(bad[i], "cw.nn", &s, &e);
        if (!rc) {
            rc = nn_model_build(&m, &s, &e);
            nn_spec_free(&s);
        }
        CU_ASSERT(rc != 0);
        CU_ASSERT(tu_contains(e.msg, "cw.nn:2:"));
    }
}

static void test_autoencode_view(void)
{
    nn_error e = {0};
    nn_dataset in, ae;
    nn_memory_open(&in, xs, ys, N, nn_shape1(6), 1, 2, "memory", &e);
    TU_ASSERT_OK(nn_data_autoencode(&in, &ae, &e), e);
    CU_ASSERT_EQUAL(ae.ydim, 6);
    CU_ASSERT_EQUAL(ae.nclasses, 0);
    uint64_t idx[3] = {5, 0, 63};
    float x[18], y[18];
    TU_ASSERT_OK(ae.read(&ae, idx, 3, x, y, &e), e);
    CU_ASSERT_EQUAL(memcmp(x, y, sizeof x), 0);
    CU_ASSERT_EQUAL(memcmp(x, xs + 5 * 6, 6 * sizeof(float)), 0);
    nn_data_close(&ae);
    nn_data_close(&in);
}

/* Data in another layout with the right element count must be refused
 * (Keras refuses it too): only a 1-D input takes any data of its size. */
static void test_input_shape_must_match(void)
{
    static const char *spec = "Conv2D(2, 3, input_shape=(6, 4, 1))\nFlatten()\n"
                              "Dense(1, activation=\"sigmoid\")\n"
                              "compile(loss=\"binary_crossentropy\", optimizer=\"sgd\")\n";
    static const struct { nn_shape data; int ok; } cases[] = {
        {{3, {6, 4, 1}}, 1}, {{2, {6, 4}}, 1}, {{3, {4, 6, 1}}, 0},
        {{3, {6, 2, 2}}, 0}, {{1, {24}}, 1}, {{2, {24, 1}}, 1}, {{2, {4, 6}}, 0}};
    nn_error e = {0};
    nn_spec s;
    nn_model m;
    TU_ASSERT_OK(nn_spec_parse(spec, "shape.nn", &s, &e), e);
    TU_ASSERT_OK(nn_model_build(&m, &s, &e), e);
    nn_spec_free(&s);
    static float x[2 * 24], y[2];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nn_dataset ds;
        TU_ASSERT_OK(nn_memory_open(&ds, x, y, 2, cases[i].data, 1, 2, "mem", &e), e);
        memset(&e, 0, sizeof e);
        int rc = nn_check_data(&m, &ds, &e);
        CU_ASSERT_EQUAL(rc == NN_OK, cases[i].ok);
        if (!cases[i].ok)
            CU_ASSERT(tu_contains(e.msg, "the model's input is (None, 6, 4, 1)"));
        nn_data_close(&ds);
    }
    /* a flat MLP input takes images of its size */
    nn_shape flat = nn_shape1(24), img = nn_shape3(4, 6, 1);
    CU_ASSERT(nn_shape_fits(&flat, &img));
    nn_shape wide = {2, {6, 4}}, tall = {2, {4, 6}};
    CU_ASSERT(!nn_shape_fits(&wide, &tall));
    CU_ASSERT(!nn_shape_fits(&flat, &(nn_shape){1, {23}}));
    nn_shape seq = {2, {6, 4}}, rows = {3, {6, 2, 2}}, cols = {3, {2, 6, 2}};
    CU_ASSERT(nn_shape_fits(&seq, &rows));    /* rows as time steps */
    CU_ASSERT(!nn_shape_fits(&seq, &cols));
    nn_model_free(&m);
}

int main(void)
{
    make_data();
    const tu_test tests[] = {
        {"frozen layer keeps its weights", test_frozen_layer_keeps_weights},
        {"class_weight scales the gradient", test_class_weight_scales_gradient},
        {"class_weight errors name the location", test_class_weight_errors},
        {"autoencoder view has y = x", test_autoencode_view},
        {"input_shape must match the data's layout", test_input_shape_must_match},
        {NULL, NULL}};
    return tu_main("fit", tests);
}
