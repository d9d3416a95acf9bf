/* Dense and Conv2D under mixed_bfloat16 (l->bf16): forward, dx and dW
 * against the fp32 layer run on bf16-rounded inputs, kernel and dy (the same
 * products up to the order of their fp32 sums), also over several blocks
 * of output pixels that cut images; against PyTorch fixtures (scripts/gen_fixtures_bf16.py:
 * float64 on inputs rounded by torch); and the policy statement of a spec
 * (set_global_policy in its spellings, the errors, --precision's override).
 * A finite-difference check would see the rounding, not the gradient: the
 * comparison with the fp32 layer on rounded values is the check that the
 * gradients are exactly those of the rounded forward. CTest runs it on the
 * CPU's kernel and again with NNTRAIN_BF16=emulated. */
#define _POSIX_C_SOURCE 200809L   /* setenv */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gemm_bf16.h"
#include "golden_util.h"
#include "nntrain/layer.h"
#include "nntrain/model.h"
#include "testutil.h"

extern const nn_layer_ops nn_dense_ops, nn_conv2d_ops;

/* The products' fp32 sums against the fp32 layer's (sgemm, direct kernels):
 * a few units of 2^-24 of sums of up to a few hundred terms of size 1. */
#define SUM_TOL 2e-5

static void round_all(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = nn_bf16_round(x[i]);
}

/* Floats of the kernel (the first parameter tensor). */
static size_t kernel_len(const nn_layer *l)
{
    nn_param_spec s[NN_MAX_PARAM_SPECS];
    l->ops->param_specs(l, s);
    size_t n = 1;
    for (int d = 0; d < s[0].ndim; d++)
        n *= (size_t)s[0].dims[d];
    return n;
}

/* One layer: the bf16 run on raw values against the fp32 run on rounded
 * ones (x, kernel; dy is rounded for both, the bias never is). dz = dy
 * act'(z) is what the backward products round: exact in bf16 for linear and
 * relu; for other activations preact makes dy dz itself (dy_is_preact, as a
 * fused loss does), so the products are compared alone. */
static void check_layer(const char *call, nn_shape in, int B, int preact, uint64_t seed)
{
    tu_lay a, r, f;
    tu_lay_open_bf16(&a, call, in, B, 1);
    tu_lay_open_bf16(&r, call, in, B, 0);
    tu_lay_open_bf16(&f, call, in, B, 0);
    a.l.dy_is_preact = r.l.dy_is_preact = preact;
    tu_fill_uniform(a.x, a.nin, seed, -1, 1);
    tu_fill_uniform(a.p, a.np, seed + 1, -0.5f, 0.5f);
    tu_fill_uniform(a.dy, a.nout, seed + 2, -1, 1);
    round_all(a.dy, a.nout);
    memcpy(r.x, a.x, a.nin * sizeof *a.x);
    memcpy(f.x, a.x, a.nin * sizeof *a.x);
    memcpy(r.p, a.p, a.np * sizeof *a.p);
    memcpy(f.p, a.p, a.np * sizeof *a.p);
    memcpy(r.dy, a.dy, a.nout * sizeof *a.dy);
    round_all(r.x, r.nin);
    round_all(r.p, kernel_len(&r.l));
    tu_lay_forward(&a);
    tu_lay_forward(&r);
    tu_lay_forward(&f);
    tu_lay_backward(&a);
    tu_lay_backward(&r);
    char what[160];
    snprintf(what, sizeof what, "%s B%d y", call, B);
    tu_assert_close(what, a.y, r.y, a.nout, SUM_TOL);
    snprintf(what, sizeof what, "%s B%d dx", call, B);
    tu_assert_close(what, a.dx, r.dx, a.nin, SUM_TOL);
    snprintf(what, sizeof what, "%s B%d dparams", call, B);
    tu_assert_close(what, a.g, r.g, a.np, SUM_TOL);
    /* the rounding is there: the fp32 layer on raw values differs */
    long first;
    double dy32 = tu_max_diff(a.y, f.y, a.nout, 0, &first);
    printf("\n  %s B%d: |y - y_fp32| up to %.2g", call, B, dy32);
    CU_ASSERT(dy32 > 1e-4);
    tu_lay_close(&a);
    tu_lay_close(&r);
    tu_lay_close(&f);
}

static const struct {
    const char *call;
    int h, w, c, B;   /* h = 0: a vector of c */
    int preact;       /* dy is dz (check_layer) */
} cases[] = {
    {"Dense(37, activation=\"relu\")", 0, 0, 50, 9, 0},
    {"Dense(130)", 0, 0, 300, 33, 0},
    {"Dense(10, activation=\"softmax\")", 0, 0, 64, 5, 1},
    {"Conv2D(8, (3, 3), activation=\"relu\")", 8, 9, 8, 2, 0},
    {"Conv2D(12, (3, 3), strides=2, padding=\"same\")", 9, 8, 10, 3, 0},
    {"Conv2D(6, (1, 1))", 4, 5, 11, 2, 0},
    {"Conv2D(16, (5, 5), padding=\"same\", activation=\"tanh\")", 8, 8, 9, 2, 1},
    {"Conv2D(64, (3, 3), padding=\"same\", activation=\"relu\")", 12, 12, 32, 4, 0},
    {"Conv2D(5, (2, 3), strides=(1, 2))", 7, 9, 12, 3, 0},
    /* K = 288: blocks of 227 output pixels (conv_bf16.c), 1,200 pixels in all */
    {"Conv2D(16, (3, 3), padding=\"same\", activation=\"relu\")", 20, 20, 32, 3, 0},
    /* 1x1 (no columns) over 2 blocks */
    {"Conv2D(8, (1, 1))", 30, 30, 64, 2, 0},
};

static void test_against_fp32(void)
{
    printf("\n  kernel %s", nn_gemm_bf16_isa());
    for (int i = 0; i < (int)(sizeof cases / sizeof cases[0]); i++) {
        nn_shape in = cases[i].h ? nn_shape3(cases[i].h, cases[i].w, cases[i].c)
                                 : nn_shape1(cases[i].c);
        check_layer(cases[i].call, in, cases[i].B, cases[i].preact, 100 + 10 * (uint64_t)i);
    }
    printf("\n");
}

/* A Conv2D layer's outputs under the policy and without it: the same bits
 * or not (same is 1 or 0); its bf16 flag after planning is want_bf16. */
static void policy_case(const char *call, nn_shape in, int want_bf16, int same)
{
    tu_lay a, f;
    tu_lay_open_bf16(&a, call, in, 2, 1);
    tu_lay_open_bf16(&f, call, in, 2, 0);
    CU_ASSERT_EQUAL(a.l.bf16, want_bf16);
    tu_fill_uniform(a.x, a.nin, 7, -1, 1);
    tu_fill_uniform(a.p, a.np, 8, -0.5f, 0.5f);
    memcpy(f.x, a.x, a.nin * sizeof *a.x);
    memcpy(f.p, a.p, a.np * sizeof *a.p);
    tu_lay_forward(&a);
    tu_lay_forward(&f);
    CU_ASSERT_EQUAL(memcmp(a.y, f.y, a.nout * sizeof *a.y) == 0, same);
    tu_lay_close(&a);
    tu_lay_close(&f);
}

/* A Conv2D on fewer than 8 channels keeps fp32 products (conv2d.c): the
 * same bits as without the policy, NNTRAIN_BF16_CONV=all or not. */
static void test_few_channels_fp32(void)
{
    policy_case("Conv2D(8, (3, 3))", nn_shape3(9, 9, 3), 0, 1);
}

/* By default a Conv2D of fewer than 2048 channels in x out keeps fp32
 * (its columns cost more than bf16 saves): 16 x 16 the same bits as
 * without the policy, 32 x 64 bf16 products (other bits); with
 * NNTRAIN_BF16_CONV=all (the other tests' setting) 16 x 16 takes bf16. */
static void test_small_conv_fp32(void)
{
    unsetenv("NNTRAIN_BF16_CONV");
    policy_case("Conv2D(16, (3, 3), padding=\"same\")", nn_shape3(9, 9, 16), 0, 1);
    policy_case("Conv2D(64, (3, 3), padding=\"same\")", nn_shape3(9, 9, 32), 1, 0);
    setenv("NNTRAIN_BF16_CONV", "all", 1);
    policy_case("Conv2D(16, (3, 3), padding=\"same\")", nn_shape3(9, 9, 16), 1, 0);
}

/* ---- PyTorch fixtures -------------------------------------------------- */

static const gu_fixture FX = {NN_FIXTURES_DIR "/golden_bf16.h5", "gen_fixtures_bf16.py"};
static const char *const fx_cases[] = {"dense_linear", "dense_relu", "conv_valid_relu",
                                       "conv_same_s2", "conv_1x1", "conv_5x5", NULL};

static void fixture_case(hid_t f, const char *cs)
{
    hid_t g = H5Gopen2(f, cs, H5P_DEFAULT);
    CU_ASSERT_FATAL(g >= 0);
    char *call = gu_attr_str(g, "call");
    int shp[4] = {0}, nd = gu_attr_num(g, "input_shape", H5T_NATIVE_INT, shp, 4);
    CU_ASSERT_FATAL(call && nd >= 1);
    nn_shape in = nd == 1 ? nn_shape1(shp[0]) : nn_shape3(shp[0], shp[1], shp[2]);
    int ndim;
    hsize_t dims[4];
    size_t nx, ny, nk, nb, n;
    float *x = gu_read_f32(g, "x", &ndim, dims, &nx);
    float *k = gu_read_f32(g, "kernel", &ndim, dims, &nk);
    float *b = gu_read_f32(g, "bias", &ndim, dims, &nb);
    float *y = gu_read_f32(g, "y", &ndim, dims, &ny);
    float *dy = gu_read_f32(g, "dy", &ndim, dims, &n);
    float *dx = gu_read_f32(g, "dx", &ndim, dims, &n);
    float *dk = gu_read_f32(g, "dkernel", &ndim, dims, &n);
    float *db = gu_read_f32(g, "dbias", &ndim, dims, &n);
    CU_ASSERT_FATAL(x && k && b && y && dy && dx && dk && db);
    int B = (int)(nx / nn_shape_size(&in));
    tu_lay t;
    tu_lay_open_bf16(&t, call, in, B, 1);
    CU_ASSERT_FATAL(t.nin == nx && t.nout == ny && t.np == nk + nb);
    memcpy(t.x, x, nx * sizeof *x);
    memcpy(t.p, k, nk * sizeof *k);
    memcpy(t.p + nk, b, nb * sizeof *b);
    memcpy(t.dy, dy, ny * sizeof *dy);
    tu_lay_forward(&t);
    tu_lay_backward(&t);
    /* float64 against fp32 sums of up to 400 products */
    gu_compare(cs, "y", t.y, y, ny, 1e-5);
    gu_compare(cs, "dx", t.dx, dx, nx, 1e-5);
    gu_compare(cs, "dkernel", t.g, dk, nk, 1e-5);
    gu_compare(cs, "dbias", t.g + nk, db, nb, 1e-5);
    tu_lay_close(&t);
    free(call), free(x), free(k), free(b), free(y), free(dy), free(dx), free(dk), free(db);
    gu_close_group(g);
}

static void test_torch_fixtures(void)
{
    hid_t f = gu_open(&FX);
    CU_ASSERT_FATAL(f >= 0);
    int n = 0;
    for (; fx_cases[n]; n++)
        fixture_case(f, fx_cases[n]);
    gu_close_file(f);
    gu_fixture_complete(&FX, "test_layers_bf16", n);
}

/* ---- the policy in a spec ---------------------------------------------- */

/* The policy a spec's model gets (-1: an error, message in e). */
static int policy_of(const char *text, nn_error *e)
{
    nn_model m;
    int rc = tu_build(text, &m, e);
    if (rc)
        return -1;
    int bf16 = m.bf16;
    for (int i = 0; i < m.nlayers; i++)
        CU_ASSERT_EQUAL(m.layers[i].bf16, bf16);
    nn_model_free(&m);
    return bf16;
}

static void test_policy(void)
{
    static const char *const on[] = {
        "mixed_precision.set_global_policy(\"mixed_bfloat16\")\n",
        "tf.keras.mixed_precision.set_global_policy('mixed_bfloat16')\n",
        "keras$mixed_precision$set_global_policy(\"mixed_bfloat16\")\n",
        "set_global_policy(policy = \"mixed_bfloat16\")\n",
        "mixed_precision.set_global_policy(mixed_precision.Policy(\"mixed_bfloat16\"))\n",
        "tf.keras.mixed_precision.experimental.set_policy(\"mixed_bfloat16\")\n",
        NULL};
    const char *layers = "Dense(4, activation=\"relu\", input_shape=(3,))\nDense(2)\n";
    char text[512];
    nn_error e = {0};
    for (int i = 0; on[i]; i++) {
        snprintf(text, sizeof text, "%s%s", on[i], layers);
        int p = policy_of(text, &e);
        if (p != 1)
            printf("\n  %s-> %d %s", on[i], p, e.msg);
        CU_ASSERT_EQUAL(p, 1);
    }
    snprintf(text, sizeof text, "mixed_precision.set_global_policy(\"float32\")\n%s", layers);
    CU_ASSERT_EQUAL(policy_of(text, &e), 0);
    CU_ASSERT_EQUAL(policy_of(layers, &e), 0);

    /* --precision overrides the spec either way */
    snprintf(text, sizeof text, "%s%s", on[0], layers);
    nn_model_force_bf16(0);
    CU_ASSERT_EQUAL(policy_of(text, &e), 0);
    nn_model_force_bf16(1);
    CU_ASSERT_EQUAL(policy_of(layers, &e), 1);
    nn_model_force_bf16(-1);
    CU_ASSERT_EQUAL(policy_of(layers, &e), 0);

    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"mixed_precision.set_global_policy(\"mixed_float16\")\n",
         "t.nn:1:35: mixed_precision.set_global_policy(\"mixed_float16\"): float16 products are "
         "for GPUs"},
        {"set_global_policy(\"bfloat16\")\n", "unknown policy \"bfloat16\""},
        {"set_global_policy(42)\n", "takes a policy name"},
        {"set_global_policy()\n", "takes a policy name"},
    };
    for (int i = 0; i < (int)(sizeof bad / sizeof bad[0]); i++) {
        snprintf(text, sizeof text, "%s%s", bad[i].text, layers);
        CU_ASSERT_EQUAL(policy_of(text, &e), -1);
        CU_ASSERT_EQUAL(e.code, NN_EINVAL);
        if (!tu_contains(e.msg, bad[i].msg))
            printf("\n  got: %s\n  want: %s", e.msg, bad[i].msg);
        CU_ASSERT(tu_contains(e.msg, bad[i].msg));
    }
    snprintf(text, sizeof text, "%sset_global_policy(\"mixed_bfloat16\")\n", layers);
    CU_ASSERT_EQUAL(policy_of(text, &e), -1);
    CU_ASSERT(tu_contains(e.msg, "t.nn:3:1: set_global_policy() must come before the first "
                                 "layer"));
}

int main(void)
{
    /* the kernels' tests take small layers: bf16 in every Conv2D */
    setenv("NNTRAIN_BF16_CONV", "all", 1);
    static const tu_test tests[] = {
        {"bf16 Dense and Conv2D against fp32 on rounded values", test_against_fp32},
        {"bf16 Dense and Conv2D against PyTorch", test_torch_fixtures},
        {"Conv2D on 1-7 channels keeps fp32", test_few_channels_fp32},
        {"Conv2D of fewer than 2048 channels in x out keeps fp32 by default",
         test_small_conv_fp32},
        {"set_global_policy in a spec", test_policy},
        {NULL, NULL},
    };
    return tu_main("layers_bf16", tests);
}
