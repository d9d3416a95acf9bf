/* Dense, Activation, Flatten and Dropout, plus the activation functions:
 * finite-difference gradient checks over every activation and several
 * shapes, Keras parameter counts and shapes, numerically extreme inputs,
 * dropout mask statistics and keying, and every bad-option error path. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "nntrain/layer.h"
#include "testutil.h"

/* Named here so a static link pulls these layers in (the registry's
 * references to them are weak). */
extern const nn_layer_ops nn_dense_ops, nn_dropout_ops, nn_flatten_ops, nn_activation_ops;

/* tu_make_planned, with model position index. */
static int make_layer(const char *text, nn_shape in, int index, int batch_max,
                      nn_layer *l, nn_error *e)
{
    int rc = tu_make_planned(text, in, batch_max, l, NULL, e);
    l->index = index;
    return rc;
}

static void test_registry(void)
{
    CU_ASSERT_PTR_EQUAL(nn_layer_find("Dense"), &nn_dense_ops);
    CU_ASSERT_PTR_EQUAL(nn_layer_find("layer_dense"), &nn_dense_ops);
    CU_ASSERT_PTR_EQUAL(nn_layer_find("Dropout"), &nn_dropout_ops);
    CU_ASSERT_PTR_EQUAL(nn_layer_find("Flatten"), &nn_flatten_ops);
    CU_ASSERT_PTR_EQUAL(nn_layer_find("Activation"), &nn_activation_ops);
    CU_ASSERT_STRING_EQUAL(nn_dense_ops.kind, "Dense");
    CU_ASSERT_STRING_EQUAL(nn_dropout_ops.kind, "Dropout");
    CU_ASSERT_STRING_EQUAL(nn_flatten_ops.kind, "Flatten");
    CU_ASSERT_STRING_EQUAL(nn_activation_ops.kind, "Activation");
}

/* ---- gradient checks ------------------------------------------------------ */

static void test_gc_dense_activations(void)
{
    char call[128];
    for (int a = 0; nn_act_names[a]; a++) {
        snprintf(call, sizeof call, "Dense(5, activation=\"%s\")", nn_act_names[a]);
        gc_layer_ok(call, nn_shape1(7), 3, 0, 11 + (uint64_t)a);
        gc_layer_ok(call, nn_shape1(4), 1, 0, 31 + (uint64_t)a);
    }
}

static void test_gc_dense_sizes(void)
{
    gc_layer_ok("Dense(1)", nn_shape1(1), 1, 0, 1);
    gc_layer_ok("Dense(1, activation=\"sigmoid\")", nn_shape1(9), 4, 0, 2);
    gc_layer_ok("Dense(13, activation=\"tanh\")", nn_shape1(3), 2, 0, 3);
    gc_layer_ok("Dense(8, activation=\"softmax\")", nn_shape1(16), 5, 0, 4);
    gc_layer_ok("Dense(6, use_bias=False)", nn_shape1(5), 3, 0, 5);
    gc_layer_ok("Dense(6, activation=\"relu\", use_bias=False)", nn_shape1(5), 1, 0, 6);
}

static void test_gc_activation_layer(void)
{
    char call[128];
    for (int a = 0; nn_act_names[a]; a++) {
        snprintf(call, sizeof call, "Activation(\"%s\")", nn_act_names[a]);
        gc_layer_ok(call, nn_shape1(6), 2, 0, 50 + (uint64_t)a);
        gc_layer_ok(call, nn_shape3(2, 3, 4), 2, 0, 60 + (uint64_t)a);
    }
}

static void test_gc_flatten(void)
{
    gc_layer_ok("Flatten()", nn_shape3(3, 4, 5), 2, 0, 70);
    gc_layer_ok("Flatten()", nn_shape3(3, 4, 5), 1, 0, 71);
}

static void test_gc_dropout(void)
{
    gc_layer_ok("Dropout(0.3)", nn_shape1(10), 3, 1, 80);
    gc_layer_ok("Dropout(0.5)", nn_shape3(2, 3, 4), 2, 1, 81);
    gc_layer_ok("Dropout(rate=0.5)", nn_shape1(10), 2, 0, 82); /* inference: identity */
}

/* ---- Dense directly ------------------------------------------------------- */

static void test_dense_shapes_and_counts(void)
{
    nn_error e = {0};
    nn_layer l;
    nn_param_spec ps[NN_MAX_PARAM_SPECS];
    TU_ASSERT_OK(make_layer("Dense(128, activation=\"relu\")", nn_shape1(784), 0, 4, &l, &e), e);
    CU_ASSERT_EQUAL(l.param_len, 100480);
    CU_ASSERT_EQUAL(l.out.n, 1);
    CU_ASSERT_EQUAL(l.out.d[0], 128);
    CU_ASSERT_EQUAL(l.act, NN_ACT_RELU);
    CU_ASSERT_EQUAL(l.ops->param_specs(&l, ps), 2);
    CU_ASSERT_STRING_EQUAL(ps[0].name, "kernel:0");
    CU_ASSERT(ps[0].ndim == 2 && ps[0].dims[0] == 784 && ps[0].dims[1] == 128 && ps[0].off == 0);
    CU_ASSERT_STRING_EQUAL(ps[1].name, "bias:0");
    CU_ASSERT(ps[1].ndim == 1 && ps[1].dims[0] == 128 && ps[1].off == 784 * 128);
    nn_layer_destroy(&l);

    /* MNIST MLP second layer: 101,770 in total with the first */
    TU_ASSERT_OK(make_layer("Dense(10, activation=\"softmax\")", nn_shape1(128), 1, 4, &l, &e), e);
    CU_ASSERT_EQUAL(l.param_len + 100480, 101770);
    nn_layer_destroy(&l);

    TU_ASSERT_OK(make_layer("Dense(7, use_bias=False)", nn_shape1(3), 0, 4, &l, &e), e);
    CU_ASSERT_EQUAL(l.param_len, 21);
    CU_ASSERT_EQUAL(l.act, NN_ACT_LINEAR);
    CU_ASSERT_EQUAL(l.ops->param_specs(&l, ps), 1);
    nn_layer_destroy(&l);
}

/* y = x W + b by hand, (in, out) kernel layout, and dW accumulating. */
static void test_dense_forward_values(void)
{
    nn_error e = {0};
    nn_layer l;
    TU_ASSERT_OK(make_layer("Dense(2)", nn_shape1(3), 0, 2, &l, &e), e);
    /* W (3, 2) then b (2) */
    float p[8] = {1, 2, 3, 4, 5, 6, 0.5f, -1};
    float x[6] = {1, 0, -1, 2, 1, 0}; /* (2, 3) */
    float y[4], g[8] = {0}, dy[4], dx[6];
    nn_ctx ctx = {0};
    l.ops->forward(&l, p, x, y, 2, &ctx);
    float want[4] = {1 - 5 + 0.5f, 2 - 6 - 1, 2 + 3 + 0.5f, 4 + 4 - 1};
    for (int i = 0; i < 4; i++)
        CU_ASSERT_DOUBLE_EQUAL(y[i], want[i], 1e-6);
    for (int rep = 1; rep <= 2; rep++) {
        float d[4] = {1, 0, 0, 1};
        memcpy(dy, d, sizeof d);
        l.ops->backward(&l, p, g, x, y, dy, rep == 1 ? dx : NULL, 2, &ctx);
        /* dW = x^T dy: rows of x^T are (1, 2), (0, 1), (-1, 0) */
        CU_ASSERT_DOUBLE_EQUAL(g[0], rep * 1.0, 1e-6);
        CU_ASSERT_DOUBLE_EQUAL(g[1], rep * 2.0, 1e-6);
        CU_ASSERT_DOUBLE_EQUAL(g[3], rep * 1.0, 1e-6);
        CU_ASSERT_DOUBLE_EQUAL(g[4], rep * -1.0, 1e-6);
        CU_ASSERT_DOUBLE_EQUAL(g[6], rep * 1.0, 1e-6);
        CU_ASSERT_DOUBLE_EQUAL(g[7], rep * 1.0, 1e-6);
    }
    /* dx = dy W^T: row 0 = W[:,0] = (1, 3, 5), row 1 = W[:,1] = (2, 4, 6) */
    float wdx[6] = {1, 3, 5, 2, 4, 6};
    for (int i = 0; i < 6; i++)
        CU_ASSERT_DOUBLE_EQUAL(dx[i], wdx[i], 1e-6);
    nn_layer_destroy(&l);
}

/* A long input into fewer units than rows takes the transposed product
 * through the workspace: same values as a double-precision reference, and as
 * the plain product (no workspace), for bias, no bias and few rows. */
static void test_dense_long_input(void)
{
    static const char *calls[] = {"Dense(7, activation=\"relu\")",
                                  "Dense(5, use_bias=False)"};
    const int in = 4500;
    for (int c = 0; c < 2; c++) {
        for (int B = 3; B <= 33; B += 30) {
            tu_lay t;
            tu_lay_open(&t, calls[c], nn_shape1(in), B);
            const int out = (int)nn_shape_size(&t.l.out);
            CU_ASSERT_EQUAL(t.work, B >= 4 * out ? (size_t)B * out * sizeof(float) : 0);
            tu_fill_uniform(t.p, t.np, 11, -0.05f, 0.05f);
            tu_fill_uniform(t.x, (size_t)B * in, 12, -1, 1);
            tu_lay_forward(&t);
            float *want = malloc((size_t)B * out * sizeof *want);
            float *plain = malloc((size_t)B * out * sizeof *plain);
            for (int r = 0; r < B; r++)
                for (int j = 0; j < out; j++) {
                    double z = t.np > (size_t)in * out ? t.p[(size_t)in * out + j] : 0;
                    for (int k = 0; k < in; k++)
                        z += (double)t.x[(size_t)r * in + k] * t.p[(size_t)k * out + j];
                    want[r * out + j] = (float)(c == 0 && z < 0 ? 0 : z);
                }
            tu_assert_close("y against the reference", t.y, want, (size_t)B * out, 1e-5);
            nn_ctx bare = {0};
            t.l.ops->forward(&t.l, t.p, t.x, plain, B, &bare);
            tu_assert_close("y against the plain product", t.y, plain, (size_t)B * out, 1e-5);
            free(want);
            free(plain);
            tu_lay_close(&t);
        }
    }
}

static void test_dense_init(void)
{
    nn_error e = {0};
    nn_layer l;
    TU_ASSERT_OK(make_layer("Dense(30)", nn_shape1(20), 0, 1, &l, &e), e);
    float *p = malloc(l.param_len * sizeof *p);
    nn_rng r = nn_rng_key(1, 2, 3, 4);
    l.ops->init_params(&l, p, &r);
    double lim = sqrt(6.0 / 50.0), mx = 0;
    for (int i = 0; i < 600; i++)
        mx = fmax(mx, fabs(p[i]));
    CU_ASSERT(mx <= lim && mx > 0.8 * lim); /* glorot_uniform */
    for (int i = 600; i < 630; i++)
        CU_ASSERT_EQUAL(p[i], 0.0f); /* zeros */
    free(p);
    nn_layer_destroy(&l);

    TU_ASSERT_OK(make_layer("Dense(2, kernel_initializer=\"ones\", bias_initializer=\"ones\")",
                            nn_shape1(3), 0, 1, &l, &e), e);
    float q[8];
    l.ops->init_params(&l, q, &r);
    for (int i = 0; i < 8; i++)
        CU_ASSERT_EQUAL(q[i], 1.0f);
    nn_layer_destroy(&l);
}

/* ---- errors --------------------------------------------------------------- */

static void expect_err(const char *text, nn_shape in, int code, const char *needle)
{
    tu_expect_layer_err(text, in, 2, code, needle, NULL);
}

static void test_errors(void)
{
    expect_err("Dense(64, activation=\"relu\")", nn_shape3(26, 26, 32), NN_ESHAPE,
               "(None, 26, 26, 32)");
    expect_err("Dense(64)", nn_shape3(26, 26, 32), NN_ESHAPE, "Flatten");
    expect_err("Dense(4, activation=\"relux\")", nn_shape1(3), NN_EINVAL, "'relux'");
    expect_err("Dense(4, activation=\"relux\")", nn_shape1(3), NN_EINVAL, "softplus");
    expect_err("Dense(4, kernel_initializer=\"glorot_uniformm\")", nn_shape1(3), NN_EINVAL,
               "'glorot_uniformm'");
    expect_err("Dense(4, bias_initializer=\"zero\")", nn_shape1(3), NN_EINVAL, "he_normal");
    expect_err("Dense(-3)", nn_shape1(3), NN_EINVAL, "-3");
    expect_err("Dense(0)", nn_shape1(3), NN_EINVAL, "units");
    expect_err("Dense()", nn_shape1(3), NN_EINVAL, "units");
    expect_err("Activation(\"foo\")", nn_shape1(3), NN_EINVAL, "'foo'");
    expect_err("Activation()", nn_shape1(3), NN_EINVAL, "activation");
    expect_err("Dropout(1.0)", nn_shape1(3), NN_EINVAL, "found 1");
    expect_err("Dropout(-0.1)", nn_shape1(3), NN_EINVAL, "-0.1");
    expect_err("Dropout()", nn_shape1(3), NN_EINVAL, "rate");
    expect_err("Dropout(0.5, noise_shape=(1, 3))", nn_shape1(3), NN_EINVAL, "noise_shape");
    expect_err("Flatten(data_format=\"channels_first\")", nn_shape3(2, 2, 2), NN_EINVAL,
               "channels_first");
}

static void test_none_options(void)
{
    nn_error e = {0};
    nn_layer l;
    TU_ASSERT_OK(make_layer("Dense(4, activation=None)", nn_shape1(3), 0, 2, &l, &e), e);
    CU_ASSERT_EQUAL(l.act, NN_ACT_LINEAR);
    nn_layer_destroy(&l);
    TU_ASSERT_OK(make_layer("Dropout(0.2, noise_shape=None, seed=7)", nn_shape1(3), 0, 2,
                            &l, &e), e);
    nn_layer_destroy(&l);
    nn_act a = NN_ACT_RELU;
    CU_ASSERT(nn_act_parse(NULL, &a) == 0 && a == NN_ACT_LINEAR);
    CU_ASSERT(nn_act_parse("None", &a) == 0 && a == NN_ACT_LINEAR);
    CU_ASSERT(nn_act_parse("elu", &a) == 0 && a == NN_ACT_ELU);
    CU_ASSERT_EQUAL(nn_act_parse("Relu", &a), -1);
}

/* ---- activations on extreme inputs --------------------------------------- */

static void test_softmax_stable(void)
{
    float y[6] = {1000, 999, 0, -1000, -999, -1000};
    nn_act_forward(NN_ACT_SOFTMAX, y, 2, 3);
    for (int r = 0; r < 2; r++) {
        double s = 0;
        for (int c = 0; c < 3; c++) {
            CU_ASSERT(isfinite(y[r * 3 + c]));
            s += y[r * 3 + c];
        }
        CU_ASSERT_DOUBLE_EQUAL(s, 1.0, 1e-6);
    }
    double p0 = 1.0 / (1.0 + exp(-1.0)); /* e / (e + 1) */
    CU_ASSERT_DOUBLE_EQUAL(y[0], p0, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(y[1], 1 - p0, 1e-6);
    CU_ASSERT_EQUAL(y[2], 0.0f);
    CU_ASSERT_DOUBLE_EQUAL(y[4], 1.0 / (1.0 + 2.0 * exp(-1.0)), 1e-6);

    float z[20];
    tu_fill_uniform(z, 20, 9, -5, 5);
    nn_act_forward(NN_ACT_SOFTMAX, z, 4, 5);
    for (int r = 0; r < 4; r++) {
        double s = 0;
        for (int c = 0; c < 5; c++)
            s += z[r * 5 + c];
        CU_ASSERT_DOUBLE_EQUAL(s, 1.0, 1e-5);
    }
}

static void test_extremes_finite(void)
{
    float s[4] = {100, -100, 0, 30}, sp[4] = {100, -100, 0, 30}, el[2] = {-100, 3};
    nn_act_forward(NN_ACT_SIGMOID, s, 1, 4);
    nn_act_forward(NN_ACT_SOFTPLUS, sp, 1, 4);
    nn_act_forward(NN_ACT_ELU, el, 1, 2);
    for (int i = 0; i < 4; i++)
        CU_ASSERT(isfinite(s[i]) && isfinite(sp[i]));
    CU_ASSERT_EQUAL(s[0], 1.0f);
    CU_ASSERT(s[1] >= 0.0f && s[1] < 1e-40f);
    CU_ASSERT_EQUAL(s[2], 0.5f);
    CU_ASSERT_EQUAL(sp[0], 100.0f);
    CU_ASSERT(sp[1] >= 0.0f && sp[1] < 1e-40f);
    CU_ASSERT_DOUBLE_EQUAL(sp[2], log(2.0), 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(sp[3], 30.0, 1e-5);
    CU_ASSERT_DOUBLE_EQUAL(el[0], -1.0, 1e-6);
    CU_ASSERT_EQUAL(el[1], 3.0f);
    /* derivatives from y stay finite and in range */
    float ds[4] = {1, 1, 1, 1}, dsp[4] = {1, 1, 1, 1};
    nn_act_backward(NN_ACT_SIGMOID, s, ds, 1, 4);
    nn_act_backward(NN_ACT_SOFTPLUS, sp, dsp, 1, 4);
    for (int i = 0; i < 4; i++) {
        CU_ASSERT(isfinite(ds[i]) && ds[i] >= 0.0f && ds[i] <= 0.25f);
        CU_ASSERT(isfinite(dsp[i]) && dsp[i] >= 0.0f && dsp[i] <= 1.0f);
    }
    CU_ASSERT_DOUBLE_EQUAL(dsp[0], 1.0, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(dsp[2], 0.5, 1e-6);
}

/* ---- Dropout directly ----------------------------------------------------- */

typedef struct drop_run {
    nn_layer l;
    float *x, *y;
    int B, n;
} drop_run;

static void drop_forward(drop_run *d, int training, uint64_t seed, uint64_t epoch,
                         const uint64_t *ids)
{
    nn_ctx ctx = {.training = training, .seed = seed, .epoch = epoch, .sample_ids = ids};
    d->l.ops->forward(&d->l, NULL, d->x, d->y, d->B, &ctx);
}

static int drop_open(drop_run *d, const char *call, int B, int n)
{
    nn_error e = {0};
    d->B = B;
    d->n = n;
    d->x = malloc((size_t)B * n * sizeof(float));
    d->y = malloc((size_t)B * n * sizeof(float));
    tu_fill_uniform(d->x, (size_t)B * n, 5, 0.5f, 1.5f); /* never 0 */
    int rc = make_layer(call, nn_shape1(n), 3, B, &d->l, &e);
    if (rc)
        fprintf(stderr, "%s: %s\n", call, e.msg);
    return rc;
}

static void drop_close(drop_run *d)
{
    nn_layer_destroy(&d->l);
    free(d->x);
    free(d->y);
}

static void test_dropout_statistics(void)
{
    const double rates[2] = {0.3, 0.5};
    const char *calls[2] = {"Dropout(0.3)", "Dropout(rate=0.5)"};
    for (int k = 0; k < 2; k++) {
        drop_run d;
        CU_ASSERT_EQUAL_FATAL(drop_open(&d, calls[k], 4, 10000), 0);
        uint64_t ids[4] = {7, 8, 9, 10};
        drop_forward(&d, 1, 42, 0, ids);
        long kept = 0, bad = 0, N = (long)d.B * d.n;
        for (long i = 0; i < N; i++) {
            if (d.y[i] == 0.0f)
                continue;
            kept++;
            if (fabs(d.y[i] - d.x[i] / (1.0 - rates[k])) > 1e-5 * fabs(d.y[i]))
                bad++;
        }
        double frac = (double)kept / (double)N; /* sd ~ 0.0025 */
        CU_ASSERT(fabs(frac - (1.0 - rates[k])) < 0.015);
        CU_ASSERT_EQUAL(bad, 0);
        /* backward: dx = dy * mask */
        float *dy = malloc((size_t)N * sizeof *dy), *dx = malloc((size_t)N * sizeof *dx);
        for (long i = 0; i < N; i++)
            dy[i] = 2.0f;
        nn_ctx ctx = {.training = 1, .seed = 42, .sample_ids = ids};
        d.l.ops->backward(&d.l, NULL, NULL, d.x, d.y, dy, dx, d.B, &ctx);
        long mism = 0;
        for (long i = 0; i < N; i++)
            if ((dx[i] == 0.0f) != (d.y[i] == 0.0f) ||
                (dx[i] != 0.0f && fabs(dx[i] - 2.0 / (1.0 - rates[k])) > 1e-5))
                mism++;
        CU_ASSERT_EQUAL(mism, 0);
        free(dy);
        free(dx);
        drop_close(&d);
    }
}

static void test_dropout_inference_identity(void)
{
    drop_run d;
    CU_ASSERT_EQUAL_FATAL(drop_open(&d, "Dropout(0.5)", 3, 50), 0);
    drop_forward(&d, 0, 42, 0, NULL);
    CU_ASSERT_EQUAL(memcmp(d.x, d.y, (size_t)d.B * d.n * sizeof(float)), 0);
    float dy[150], dx[150];
    for (int i = 0; i < 150; i++)
        dy[i] = (float)i;
    nn_ctx ctx = {.training = 0};
    d.l.ops->backward(&d.l, NULL, NULL, d.x, d.y, dy, dx, d.B, &ctx);
    CU_ASSERT_EQUAL(memcmp(dx, dy, sizeof dx), 0);
    drop_close(&d);
}

/* The mask of a row depends on (seed, epoch, sample id, layer), not on the
 * row's position in the batch. */
static void test_dropout_keying(void)
{
    drop_run d;
    const int n = 200;
    CU_ASSERT_EQUAL_FATAL(drop_open(&d, "Dropout(0.5)", 2, n), 0);
    for (int i = 0; i < n; i++)
        d.x[n + i] = d.x[i]; /* both rows equal */
    float *a = malloc(2 * n * sizeof *a);
    uint64_t ids[2] = {5, 9}, swapped[2] = {9, 5}, same[2] = {5, 5};

    drop_forward(&d, 1, 42, 1, ids);
    memcpy(a, d.y, 2 * n * sizeof *a);
    drop_forward(&d, 1, 42, 1, ids); /* repeated: same mask */
    CU_ASSERT_EQUAL(memcmp(a, d.y, 2 * n * sizeof *a), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(a, a + n, n * sizeof *a), 0); /* ids 5 and 9 differ */

    drop_forward(&d, 1, 42, 1, swapped); /* rows follow their sample id */
    CU_ASSERT_EQUAL(memcmp(a, d.y + n, n * sizeof *a), 0);
    CU_ASSERT_EQUAL(memcmp(a + n, d.y, n * sizeof *a), 0);

    drop_forward(&d, 1, 42, 1, same); /* same id: same mask */
    CU_ASSERT_EQUAL(memcmp(d.y, d.y + n, n * sizeof *a), 0);

    drop_forward(&d, 1, 42, 2, ids); /* another epoch */
    CU_ASSERT_NOT_EQUAL(memcmp(a, d.y, n * sizeof *a), 0);
    drop_forward(&d, 1, 43, 1, ids); /* another seed */
    CU_ASSERT_NOT_EQUAL(memcmp(a, d.y, n * sizeof *a), 0);

    drop_forward(&d, 1, 42, 1, NULL); /* no ids: row number */
    uint64_t rows[2] = {0, 1};
    memcpy(a, d.y, 2 * n * sizeof *a);
    drop_forward(&d, 1, 42, 1, rows);
    CU_ASSERT_EQUAL(memcmp(a, d.y, 2 * n * sizeof *a), 0);
    free(a);
    drop_close(&d);
}

/* Element i of a row is kept when draw i of the stream keyed by (seed,
 * epoch, sample id, layer index) is >= rate: the documented mask, whatever
 * loop computes it. Rates 0.25 and 0.3 are not dyadic: the threshold has
 * to round the right way. */
static void test_dropout_mask_is_the_stream(void)
{
    const double rates[] = {0.25, 0.3, 0.5, 0.9};
    for (int k = 0; k < 4; k++) {
        char call[32];
        snprintf(call, sizeof call, "Dropout(%g)", rates[k]);
        drop_run d;
        const int n = 999;
        CU_ASSERT_EQUAL_FATAL(drop_open(&d, call, 2, n), 0);
        for (int i = 0; i < 2 * n; i++)
            d.x[i] = 1.0f;
        uint64_t ids[2] = {17, 4};
        drop_forward(&d, 1, 42, 3, ids);
        float scale = (float)(1.0 / (1.0 - rates[k]));
        int bad = 0, kept = 0;
        for (int b = 0; b < 2; b++) {
            nn_rng r = nn_rng_key(42, 3, ids[b], (uint64_t)d.l.index);
            for (int i = 0; i < n; i++) {
                float want = nn_rng_uniform_d(&r) >= rates[k] ? scale : 0.0f;
                bad += d.y[b * n + i] != want;
                kept += want != 0.0f;
            }
        }
        CU_ASSERT_EQUAL(bad, 0);
        CU_ASSERT(kept > 0 && kept < 2 * n);
        drop_close(&d);
    }
}

/* seed= fixes this layer's masks whatever the run seed is. */
static void test_dropout_seed_option(void)
{
    drop_run d;
    const int n = 100;
    uint64_t ids[1] = {3};
    CU_ASSERT_EQUAL_FATAL(drop_open(&d, "Dropout(0.5, seed=7)", 1, n), 0);
    float *a = malloc(n * sizeof *a);
    drop_forward(&d, 1, 42, 0, ids);
    memcpy(a, d.y, n * sizeof *a);
    drop_forward(&d, 1, 43, 0, ids);
    CU_ASSERT_EQUAL(memcmp(a, d.y, n * sizeof *a), 0);
    drop_forward(&d, 1, 43, 0, NULL); /* id 0 instead of 3 */
    CU_ASSERT_NOT_EQUAL(memcmp(a, d.y, n * sizeof *a), 0);
    free(a);
    drop_close(&d);
}

static void test_flatten_shape(void)
{
    nn_error e = {0};
    nn_layer l;
    TU_ASSERT_OK(make_layer("Flatten()", nn_shape3(3, 4, 5), 0, 2, &l, &e), e);
    CU_ASSERT(l.out.n == 1 && l.out.d[0] == 60 && l.param_len == 0);
    float x[120], y[120];
    tu_fill_uniform(x, 120, 3, -1, 1);
    nn_ctx ctx = {0};
    l.ops->forward(&l, NULL, x, y, 2, &ctx);
    CU_ASSERT_EQUAL(memcmp(x, y, sizeof x), 0);
    nn_layer_destroy(&l);

    TU_ASSERT_OK(make_layer("Activation(\"softmax\")", nn_shape3(2, 3, 4), 0, 2, &l, &e), e);
    CU_ASSERT(nn_shape_eq(&l.out, &l.in));
    l.ops->forward(&l, NULL, x, y, 1, &ctx);
    for (int r = 0; r < 6; r++) { /* softmax over the last axis (4) */
        double s = 0;
        for (int c = 0; c < 4; c++)
            s += y[r * 4 + c];
        CU_ASSERT_DOUBLE_EQUAL(s, 1.0, 1e-5);
    }
    nn_layer_destroy(&l);
}

int main(void)
{
    static const tu_test tests[] = {
        {"registry finds the layers", test_registry},
        {"gradcheck Dense x 7 activations", test_gc_dense_activations},
        {"gradcheck Dense sizes, use_bias=False", test_gc_dense_sizes},
        {"gradcheck Activation 1-D and 3-D", test_gc_activation_layer},
        {"gradcheck Flatten", test_gc_flatten},
        {"gradcheck Dropout", test_gc_dropout},
        {"Dense shapes and Keras counts", test_dense_shapes_and_counts},
        {"Dense forward/backward values", test_dense_forward_values},
        {"Dense long input: transposed product", test_dense_long_input},
        {"Dense initialisers", test_dense_init},
        {"option errors", test_errors},
        {"None options", test_none_options},
        {"softmax stable", test_softmax_stable},
        {"sigmoid/softplus/elu extremes", test_extremes_finite},
        {"Dropout kept fraction and scale", test_dropout_statistics},
        {"Dropout identity at inference", test_dropout_inference_identity},
        {"Dropout mask keying", test_dropout_keying},
        {"Dropout mask is the keyed stream", test_dropout_mask_is_the_stream},
        {"Dropout seed= option", test_dropout_seed_option},
        {"Flatten and Activation shapes", test_flatten_shape},
        {NULL, NULL},
    };
    return tu_main("layers_dense", tests);
}
