/* Conv2D and MaxPooling2D: finite-difference gradient checks over batch,
 * channels, filters, non-square shapes, strides, same/valid padding (with
 * the asymmetric TensorFlow split), the 1x1 shortcut and activations;
 * Keras shapes and parameter counts; hand-computed results that pin the HWIO
 * layout and the padding side; a comparison with a naive direct convolution
 * and pooling; chunked (tiny workspace cap) against unchunked; error paths. */
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
extern const nn_layer_ops nn_conv2d_ops, nn_maxpool2d_ops;

static void gc_ok(const char *call, nn_shape in, int B, uint64_t seed)
{
    gc_layer_ok(call, in, B, 0, seed);
}

/* ---- naive references ----------------------------------------------------- */

/* Direct cross-correlation in double: x (B,H,W,C), k (KH,KW,C,F), b (F) ->
 * y (B,OH,OW,F); pt/pl the top/left zero padding. */
static void ref_conv(const float *x, int B, int H, int W, int C, const float *k,
                     const float *b, int KH, int KW, int F, int SH, int SW, int pt, int pl,
                     int OH, int OW, float *y)
{
    for (int n = 0; n < B; n++)
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++)
                for (int f = 0; f < F; f++) {
                    double s = b ? b[f] : 0;
                    for (int i = 0; i < KH; i++)
                        for (int j = 0; j < KW; j++) {
                            int ih = oh * SH - pt + i, iw = ow * SW - pl + j;
                            if (ih < 0 || ih >= H || iw < 0 || iw >= W)
                                continue;
                            for (int c = 0; c < C; c++)
                                s += (double)x[(((size_t)n * H + ih) * W + iw) * C + c] *
                                     k[(((size_t)i * KW + j) * C + c) * F + f];
                        }
                    y[(((size_t)n * OH + oh) * OW + ow) * F + f] = (float)s;
                }
}

/* Direct max pooling: padded cells are skipped (never win). */
static void ref_pool(const float *x, int B, int H, int W, int C, int PH, int PW, int SH,
                     int SW, int pt, int pl, int OH, int OW, float *y)
{
    for (int n = 0; n < B; n++)
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++)
                for (int c = 0; c < C; c++) {
                    float m = -INFINITY;
                    for (int i = 0; i < PH; i++)
                        for (int j = 0; j < PW; j++) {
                            int ih = oh * SH - pt + i, iw = ow * SW - pl + j;
                            if (ih >= 0 && ih < H && iw >= 0 && iw < W &&
                                x[(((size_t)n * H + ih) * W + iw) * C + c] > m)
                                m = x[(((size_t)n * H + ih) * W + iw) * C + c];
                        }
                    y[(((size_t)n * OH + oh) * OW + ow) * C + c] = m;
                }
}

/* TensorFlow "same": out = ceil(n/s), leading pad = floor(total/2). */
static int same_out(int n, int k, int s, int *pad_lo)
{
    int o = (n + s - 1) / s, total = (o - 1) * s + k - n;
    *pad_lo = total > 0 ? total / 2 : 0;
    return o;
}

/* ---- shapes and parameters -------------------------------------------------- */

static void test_registry(void)
{
    CU_ASSERT_PTR_EQUAL(nn_layer_find("Conv2D"), &nn_conv2d_ops);
    CU_ASSERT_PTR_EQUAL(nn_layer_find("layer_conv_2d"), &nn_conv2d_ops);
    CU_ASSERT_PTR_EQUAL(nn_layer_find("MaxPooling2D"), &nn_maxpool2d_ops);
    CU_ASSERT_PTR_EQUAL(nn_layer_find("MaxPool2D"), &nn_maxpool2d_ops);
    CU_ASSERT_STRING_EQUAL(nn_conv2d_ops.kind, "Conv2D");
    CU_ASSERT_STRING_EQUAL(nn_maxpool2d_ops.kind, "MaxPooling2D");
}

static void test_shapes(void)
{
    /* MNIST CNN: 320, 18,496 and 36,928 parameters as Keras prints. */
    tu_expect_shape("Conv2D(32, (3, 3), activation=\"relu\")", nn_shape3(28, 28, 1),
                    nn_shape3(26, 26, 32), 320);
    tu_expect_shape("Conv2D(64, (3, 3))", nn_shape3(13, 13, 32), nn_shape3(11, 11, 64), 18496);
    tu_expect_shape("Conv2D(64, 3)", nn_shape3(5, 5, 64), nn_shape3(3, 3, 64), 36928);
    tu_expect_shape("Conv2D(6, (3, 3), strides=2, padding=\"same\")", nn_shape3(7, 7, 3),
                    nn_shape3(4, 4, 6), 3 * 3 * 3 * 6 + 6);
    tu_expect_shape("Conv2D(4, (3, 2), strides=(2, 1))", nn_shape3(9, 6, 2),
                    nn_shape3(4, 5, 4), 3 * 2 * 2 * 4 + 4);
    tu_expect_shape("Conv2D(4, (3, 2), use_bias=False)", nn_shape3(9, 6, 2),
                    nn_shape3(7, 5, 4), 3 * 2 * 2 * 4);
    tu_expect_shape("Conv2D(32, (3, 3), padding=\"same\")", nn_shape3(32, 32, 3),
                    nn_shape3(32, 32, 32), 896);   /* CIFAR-10 example, first layer */
    tu_expect_shape("Conv2D(20, (5, 5))", nn_shape3(90, 160, 3), nn_shape3(86, 156, 20), 1520);
    tu_expect_shape("Conv2D(8, 1)", nn_shape3(5, 4, 3), nn_shape3(5, 4, 8), 32);
    tu_expect_shape("MaxPooling2D()", nn_shape3(26, 26, 32), nn_shape3(13, 13, 32), 0);
    tu_expect_shape("MaxPooling2D(3)", nn_shape3(86, 156, 20), nn_shape3(28, 52, 20), 0);
    tu_expect_shape("MaxPooling2D((2, 3), strides=1, padding=\"same\")", nn_shape3(5, 7, 2),
                    nn_shape3(5, 7, 2), 0);
    tu_expect_shape("MaxPooling2D(2, padding=\"same\")", nn_shape3(5, 5, 1),
                    nn_shape3(3, 3, 1), 0);
    tu_expect_shape("MaxPooling2D(pool_size=(3, 2), strides=(1, 2))", nn_shape3(6, 7, 1),
                    nn_shape3(4, 3, 1), 0);

    /* param_specs: HWIO kernel first, then the bias right after it. */
    nn_layer l;
    nn_error e = {0};
    nn_param_spec s[NN_MAX_PARAM_SPECS];
    TU_ASSERT_OK(tu_make_layer("Conv2D(5, (3, 2))", nn_shape3(8, 9, 4), &l, &e), e);
    CU_ASSERT_EQUAL_FATAL(l.ops->param_specs(&l, s), 2);
    CU_ASSERT_STRING_EQUAL(s[0].name, "kernel:0");
    CU_ASSERT_EQUAL(s[0].ndim, 4);
    CU_ASSERT(s[0].dims[0] == 3 && s[0].dims[1] == 2 && s[0].dims[2] == 4 && s[0].dims[3] == 5);
    CU_ASSERT_EQUAL(s[0].off, 0);
    CU_ASSERT_STRING_EQUAL(s[1].name, "bias:0");
    CU_ASSERT(s[1].ndim == 1 && s[1].dims[0] == 5);
    CU_ASSERT_EQUAL(s[1].off, 3 * 2 * 4 * 5);
    nn_layer_destroy(&l);
    TU_ASSERT_OK(tu_make_layer("Conv2D(5, 3, use_bias=False)", nn_shape3(8, 9, 4), &l, &e), e);
    CU_ASSERT_EQUAL(l.ops->param_specs(&l, s), 1);
    nn_layer_destroy(&l);
}

/* Keras defaults: glorot_uniform kernel with limit sqrt(6 / (9*1 + 9*32)) for
 * Conv2D(32, 3) on one channel, zero bias; initialisers by name. */
static void test_init(void)
{
    tu_lay t;
    tu_lay_open(&t, "Conv2D(32, (3, 3))", nn_shape3(28, 28, 1), 1);
    nn_rng r = nn_rng_key(7, 0, 0, 0);
    for (size_t i = 0; i < t.np; i++)
        t.p[i] = 99.0f;
    t.l.ops->init_params(&t.l, t.p, &r);
    double lim = sqrt(6.0 / (9 + 9 * 32)), mx = 0;
    for (size_t i = 0; i < 288; i++)
        mx = fmax(mx, fabs(t.p[i]));
    CU_ASSERT(mx <= lim && mx > 0.8 * lim);
    for (size_t i = 288; i < 320; i++)
        CU_ASSERT_EQUAL(t.p[i], 0.0f);
    tu_lay_close(&t);

    tu_lay_open(&t, "Conv2D(2, 2, kernel_initializer=\"ones\", bias_initializer=\"ones\")",
                nn_shape3(3, 3, 2), 1);
    t.l.ops->init_params(&t.l, t.p, &r);
    for (size_t i = 0; i < t.np; i++)
        CU_ASSERT_EQUAL(t.p[i], 1.0f);
    tu_lay_close(&t);
}

/* ---- hand-computed results ----------------------------------------------------- */

/* x (1, 3, 3, 2): channel 0 = 1..9 row-major, channel 1 = all ones.
 * Filter 0: channel 0 taps [[1, 2], [3, 4]], channel 1 taps [[0, 0], [0, 10]],
 *   bias 0.5: y = x00 + 2 x01 + 3 x10 + 4 x11 + 10 + 0.5
 *   top-left window 1,2,4,5 -> 1 + 4 + 12 + 20 + 10.5 = 47.5; then 57.5,
 *   77.5, 87.5 (each step right adds 1+2+3+4 = 10, each step down 3*10).
 * Filter 1: channel 0 top-left tap only, bias -1: y = x00 - 1 -> 0, 1, 3, 4.
 * The kernel is HWIO: index ((kh*KW + kw)*C + c)*F + f. */
static void test_hand_conv(void)
{
    tu_lay t;
    tu_lay_open(&t, "Conv2D(2, (2, 2))", nn_shape3(3, 3, 2), 1);
    CU_ASSERT_EQUAL_FATAL(t.np, 2 * 2 * 2 * 2 + 2);
    for (int i = 0; i < 9; i++) {
        t.x[i * 2] = (float)(i + 1);
        t.x[i * 2 + 1] = 1.0f;
    }
    const float k0[4] = {1, 2, 3, 4}, k0c1[4] = {0, 0, 0, 10};
    for (int tap = 0; tap < 4; tap++) {
        t.p[(tap * 2 + 0) * 2 + 0] = k0[tap];
        t.p[(tap * 2 + 1) * 2 + 0] = k0c1[tap];
        t.p[(tap * 2 + 0) * 2 + 1] = tap == 0 ? 1.0f : 0.0f;
    }
    t.p[16] = 0.5f;
    t.p[17] = -1.0f;
    tu_lay_forward(&t);
    const float want[8] = {47.5f, 0, 57.5f, 1, 77.5f, 3, 87.5f, 4};
    tu_assert_close("hand conv", t.y, want, 8, 1e-6);

    /* Backward with dy = 1 on filter 0 only: dbias = (4, 0); dkernel for
     * filter 0, channel 0, tap (0,0) = sum of the four window corners
     * 1+2+4+5 = 12; tap (1,1) = 5+6+8+9 = 28; channel 1 taps = 4 each.
     * dx = sum over windows of the filter-0 taps: the centre pixel (1,1) is
     * in all four windows at taps 4, 3, 2, 1 -> 10 on channel 0, 10 on
     * channel 1 (tap (1,1) of the top-left window only -> 10). */
    for (int i = 0; i < 4; i++)
        t.dy[i * 2] = 1.0f;
    for (size_t i = 0; i < t.nin; i++)
        t.dx[i] = 123.0f;   /* backward must overwrite dx, not add to it */
    t.l.ops->backward(&t.l, t.p, t.g, t.x, t.y, t.dy, t.dx, 1, &t.ctx);
    CU_ASSERT_DOUBLE_EQUAL(t.g[16], 4.0, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(t.g[17], 0.0, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(t.g[0], 12.0, 1e-6);            /* tap (0,0) c0 f0 */
    CU_ASSERT_DOUBLE_EQUAL(t.g[(3 * 2 + 0) * 2], 28.0, 1e-6); /* tap (1,1) c0 f0 */
    CU_ASSERT_DOUBLE_EQUAL(t.g[(2 * 2 + 1) * 2], 4.0, 1e-6);  /* tap (1,0) c1 f0 */
    CU_ASSERT_DOUBLE_EQUAL(t.dx[(1 * 3 + 1) * 2 + 0], 10.0, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(t.dx[(1 * 3 + 1) * 2 + 1], 10.0, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(t.dx[0], 1.0, 1e-6);               /* corner: tap 1 only */
    CU_ASSERT_DOUBLE_EQUAL(t.dx[(2 * 3 + 2) * 2 + 0], 4.0, 1e-6); /* corner: tap 4 */
    CU_ASSERT_DOUBLE_EQUAL(t.dx[1], 0.0, 1e-6);
    tu_lay_close(&t);
}

/* Non-square: x (1, 2, 3, 1) = [[1, 2, 3], [4, 5, 6]], kernel (1, 2) = [1, 10]
 * -> y[i][j] = x[i][j] + 10 x[i][j+1] = [[21, 32], [54, 65]]. A transposed
 * H/W would give a (1, 3) kernel and a different shape. */
static void test_hand_nonsquare(void)
{
    tu_lay t;
    tu_lay_open(&t, "Conv2D(1, (1, 2), use_bias=False)", nn_shape3(2, 3, 1), 1);
    CU_ASSERT(t.l.out.d[0] == 2 && t.l.out.d[1] == 2);
    for (int i = 0; i < 6; i++)
        t.x[i] = (float)(i + 1);
    t.p[0] = 1.0f;
    t.p[1] = 10.0f;
    tu_lay_forward(&t);
    const float want[4] = {21, 32, 54, 65};
    tu_assert_close("non-square conv", t.y, want, 4, 1e-6);
    tu_lay_close(&t);
}

/* TensorFlow "same" with stride 2 on an odd size pads only at the bottom and
 * right: x (1, 3, 3, 1) = 1..9, kernel 2x2 of ones, stride 2: OH = 2, total
 * pad 1 -> top 0, bottom 1. Windows: rows 0-1 x cols 0-1 = 1+2+4+5 = 12;
 * rows 0-1 x col 2 = 3+6 = 9; row 2 x cols 0-1 = 7+8 = 15; (2,2) = 9.
 * (Padding at the top would give 1, 2+3, 4+7, 5+6+8+9 instead.)
 * MaxPooling2D(2, padding="same") on -x: padded cells must not win (they
 * would give 0): max(-1,-2,-4,-5) = -1, max(-3,-6) = -3, -7, -9. */
static void test_same_padding_side(void)
{
    tu_lay t;
    tu_lay_open(&t, "Conv2D(1, 2, strides=2, padding=\"same\", use_bias=False)",
                nn_shape3(3, 3, 1), 1);
    for (int i = 0; i < 9; i++)
        t.x[i] = (float)(i + 1);
    for (int i = 0; i < 4; i++)
        t.p[i] = 1.0f;
    tu_lay_forward(&t);
    const float want[4] = {12, 9, 15, 9};
    tu_assert_close("same padding conv", t.y, want, 4, 1e-6);
    tu_lay_close(&t);

    tu_lay_open(&t, "MaxPooling2D(2, padding=\"same\")", nn_shape3(3, 3, 1), 1);
    for (int i = 0; i < 9; i++)
        t.x[i] = -(float)(i + 1);
    tu_lay_forward(&t);
    const float wp[4] = {-1, -3, -7, -9};
    tu_assert_close("same padding pool", t.y, wp, 4, 1e-6);
    tu_lay_close(&t);
}

/* Max pooling forward/backward by hand: pool 3, stride 1 on (1, 3, 4, 1)
 * x = [[0, 1, 2, 3], [4, 9, 5, 6], [7, 8, 1, 2]]: both windows hold the 9,
 * so y = [9, 9] and dx gets dy0 + dy1 at the 9 and 0 elsewhere. */
static void test_hand_pool(void)
{
    tu_lay t;
    tu_lay_open(&t, "MaxPooling2D(3, strides=1)", nn_shape3(3, 4, 1), 1);
    const float x[12] = {0, 1, 2, 3, 4, 9, 5, 6, 7, 8, 1, 2};
    memcpy(t.x, x, sizeof x);
    for (int i = 0; i < 12; i++)
        t.dx[i] = 123.0f;   /* backward must overwrite */
    tu_lay_forward(&t);
    CU_ASSERT_DOUBLE_EQUAL(t.y[0], 9.0, 0);
    CU_ASSERT_DOUBLE_EQUAL(t.y[1], 9.0, 0);
    t.dy[0] = 0.25f;
    t.dy[1] = 0.5f;
    t.l.ops->backward(&t.l, t.p, t.g, t.x, t.y, t.dy, t.dx, 1, &t.ctx);
    for (int i = 0; i < 12; i++)
        CU_ASSERT_DOUBLE_EQUAL(t.dx[i], i == 5 ? 0.75 : 0.0, 0);
    tu_lay_close(&t);

    /* Ties: the first cell in (h, w) order takes the gradient, once. */
    tu_lay_open(&t, "MaxPooling2D()", nn_shape3(2, 2, 2), 1);
    for (int i = 0; i < 8; i++)
        t.x[i] = i % 2 ? 3.0f : -1.0f;   /* channel 0 all -1, channel 1 all 3 */
    tu_lay_forward(&t);
    CU_ASSERT(t.y[0] == -1.0f && t.y[1] == 3.0f);
    t.dy[0] = 2.0f;
    t.dy[1] = 5.0f;
    t.l.ops->backward(&t.l, t.p, t.g, t.x, t.y, t.dy, t.dx, 1, &t.ctx);
    const float want[8] = {2, 5, 0, 0, 0, 0, 0, 0};
    tu_assert_close("pool ties", t.dx, want, 8, 0);
    tu_lay_close(&t);
}

/* ---- against naive loops --------------------------------------------------------- */

typedef struct conv_case {
    int F, KH, KW, SH, SW, same, H, W, C, B;
} conv_case;

static void check_conv_ref(const conv_case *k)
{
    char call[160];
    snprintf(call, sizeof call, "Conv2D(%d, (%d, %d), strides=(%d, %d), padding=\"%s\")",
             k->F, k->KH, k->KW, k->SH, k->SW, k->same ? "same" : "valid");
    tu_lay t;
    tu_lay_open(&t, call, nn_shape3(k->H, k->W, k->C), k->B);
    int pt = 0, pl = 0, OH, OW;
    if (k->same) {
        OH = same_out(k->H, k->KH, k->SH, &pt);
        OW = same_out(k->W, k->KW, k->SW, &pl);
    } else {
        OH = (k->H - k->KH) / k->SH + 1;
        OW = (k->W - k->KW) / k->SW + 1;
    }
    CU_ASSERT_FATAL(t.l.out.d[0] == OH && t.l.out.d[1] == OW && t.l.out.d[2] == k->F);
    tu_fill_uniform(t.x, t.nin, 5, -1, 1);
    tu_fill_uniform(t.p, t.np, 6, -1, 1);
    float *ref = malloc(t.nout * sizeof *ref);
    size_t kf = (size_t)k->KH * k->KW * k->C * k->F;
    ref_conv(t.x, k->B, k->H, k->W, k->C, t.p, t.p + kf, k->KH, k->KW, k->F, k->SH, k->SW,
             pt, pl, OH, OW, ref);
    tu_lay_forward(&t);
    tu_assert_close(call, t.y, ref, t.nout, 1e-5);
    free(ref);
    tu_lay_close(&t);
}

static void test_conv_reference(void)
{
    static const conv_case cases[] = {
        {4, 3, 3, 1, 1, 0, 6, 6, 3, 2},  {3, 3, 3, 2, 2, 1, 7, 6, 3, 3},
        {5, 2, 4, 2, 3, 1, 5, 7, 2, 2},  {2, 5, 5, 1, 1, 1, 5, 5, 1, 1},
        {6, 1, 1, 1, 1, 0, 4, 5, 7, 3},  {6, 1, 1, 2, 2, 0, 5, 5, 3, 2},
        {3, 3, 2, 1, 2, 0, 8, 5, 4, 2},  {4, 4, 4, 3, 3, 1, 10, 9, 2, 2},
        /* F >= 8: the direct kernels (whole, two and partial vectors, several
         * pixel tiles per row, strides, same padding, C = 1 and odd) */
        {8, 3, 3, 1, 1, 0, 9, 17, 3, 2},   {16, 3, 3, 1, 1, 1, 6, 31, 5, 2},
        {20, 5, 5, 1, 1, 0, 9, 20, 3, 2},  {32, 3, 3, 1, 1, 1, 7, 15, 17, 2},
        {33, 2, 3, 2, 1, 1, 6, 13, 4, 3},  {48, 3, 2, 1, 2, 0, 5, 30, 2, 2},
        {64, 3, 3, 1, 1, 0, 5, 16, 32, 1}, {10, 4, 4, 3, 3, 1, 11, 10, 1, 2},
        {16, 3, 3, 1, 1, 0, 7, 7, 8, 2},  /* 5 pixels a row: column forward */
        {32, 3, 3, 1, 1, 1, 4, 7, 48, 1}, {40, 3, 3, 1, 1, 1, 9, 8, 40, 1},   /* pass per row */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_conv_ref(&cases[i]);
}

static void check_pool_ref(int PH, int PW, int SH, int SW, int same, int H, int W, int C,
                           int B)
{
    char call[160];
    snprintf(call, sizeof call, "MaxPooling2D((%d, %d), strides=(%d, %d), padding=\"%s\")",
             PH, PW, SH, SW, same ? "same" : "valid");
    tu_lay t;
    tu_lay_open(&t, call, nn_shape3(H, W, C), B);
    int pt = 0, pl = 0, OH, OW;
    if (same) {
        OH = same_out(H, PH, SH, &pt);
        OW = same_out(W, PW, SW, &pl);
    } else {
        OH = (H - PH) / SH + 1;
        OW = (W - PW) / SW + 1;
    }
    CU_ASSERT_FATAL(t.l.out.d[0] == OH && t.l.out.d[1] == OW && t.l.out.d[2] == C);
    tu_fill_uniform(t.x, t.nin, 9, -2, -1);   /* all negative: padding must not win */
    float *ref = malloc(t.nout * sizeof *ref);
    ref_pool(t.x, B, H, W, C, PH, PW, SH, SW, pt, pl, OH, OW, ref);
    tu_lay_forward(&t);
    tu_assert_close(call, t.y, ref, t.nout, 0);
    free(ref);
    tu_lay_close(&t);
}

static void test_pool_reference(void)
{
    check_pool_ref(2, 2, 2, 2, 0, 6, 6, 3, 2);
    check_pool_ref(3, 3, 3, 3, 0, 8, 7, 2, 2);
    check_pool_ref(3, 3, 2, 2, 1, 6, 7, 2, 3);
    check_pool_ref(2, 3, 1, 2, 1, 5, 8, 4, 2);
    check_pool_ref(3, 2, 1, 1, 0, 5, 4, 1, 1);
    check_pool_ref(2, 2, 3, 3, 1, 7, 8, 2, 2);
}

/* ---- chunked == unchunked ------------------------------------------------------- */

static void test_chunked(void)
{
    tu_check_chunked("Conv2D(4, (3, 3), activation=\"relu\")", nn_shape3(6, 5, 3),
                     tu_assert_close);
    tu_check_chunked("Conv2D(3, (2, 3), strides=2, padding=\"same\")", nn_shape3(7, 6, 2),
                     tu_assert_close);
    tu_check_chunked("Conv2D(2, 1, strides=2)", nn_shape3(5, 5, 3), tu_assert_close);
}

/* A fused ReLU equals ReLU after the linear layer: "act" is call with
 * activation="relu" inserted. */
static void check_fused_relu(const char *lin, const char *act, nn_shape in)
{
    tu_lay a, b;
    tu_lay_open(&a, act, in, 2);
    tu_lay_open(&b, lin, in, 2);
    tu_fill_uniform(a.x, a.nin, 3, -1, 1);
    tu_fill_uniform(a.p, a.np, 4, -0.2f, 0.2f);
    memcpy(b.x, a.x, a.nin * sizeof *a.x);
    memcpy(b.p, a.p, a.np * sizeof *a.p);
    tu_lay_forward(&a);
    tu_lay_forward(&b);
    int bad = 0, neg = 0;
    for (size_t i = 0; i < a.nout; i++) {
        bad += a.y[i] != (b.y[i] > 0 ? b.y[i] : 0.0f);
        neg += b.y[i] < 0;
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT(neg > 0);
    tu_lay_close(&a);
    tu_lay_close(&b);
}

/* The fused ReLU is applied once, after the last pass over the kernel rows
 * (3x3x48 kernel rows exceed the L1 block), and in the tiles with output
 * pixels in the vectors (20 filters on rows of 36 pixels). */
static void test_fused_relu(void)
{
    check_fused_relu("Conv2D(40, (3, 3), padding=\"same\")",
                     "Conv2D(40, (3, 3), padding=\"same\", activation=\"relu\")",
                     nn_shape3(6, 9, 48));
    check_fused_relu("Conv2D(20, (5, 5))", "Conv2D(20, (5, 5), activation=\"relu\")",
                     nn_shape3(7, 40, 3));
}

/* The 1x1 / stride 1 shortcut needs no workspace and matches im2col. */
static void test_shortcut(void)
{
    tu_lay t;
    tu_lay_open(&t, "Conv2D(3, 1)", nn_shape3(4, 5, 6), 4);
    CU_ASSERT_EQUAL(t.work, 0);
    tu_lay_close(&t);
    tu_lay_open(&t, "Conv2D(3, 1, strides=2)", nn_shape3(4, 5, 6), 4);
    CU_ASSERT(t.work > 0);
    tu_lay_close(&t);
}

/* ---- gradient checks ------------------------------------------------------------ */

static void test_gc_conv(void)
{
    gc_ok("Conv2D(2, (3, 3))", nn_shape3(5, 5, 1), 1, 1);
    gc_ok("Conv2D(2, (3, 3))", nn_shape3(5, 5, 1), 3, 2);
    gc_ok("Conv2D(4, (3, 3), activation=\"relu\")", nn_shape3(6, 5, 3), 3, 3);
    gc_ok("Conv2D(4, (3, 3), activation=\"relu\")", nn_shape3(5, 6, 1), 1, 4);
    gc_ok("Conv2D(4, (3, 2), strides=2)", nn_shape3(7, 6, 3), 3, 5);
    gc_ok("Conv2D(2, (2, 3), strides=(1, 2))", nn_shape3(4, 7, 3), 1, 6);
    /* same + stride 2 on odd/even sizes: H pad 0/1 (asymmetric), W pad 1/1 */
    gc_ok("Conv2D(2, (3, 3), strides=2, padding=\"same\")", nn_shape3(6, 7, 3), 3, 7);
    /* H pad 0/1, W pad 1/2 */
    gc_ok("Conv2D(4, (2, 4), strides=(2, 3), padding=\"same\", activation=\"relu\")",
          nn_shape3(5, 7, 2), 3, 8);
    gc_ok("Conv2D(4, (3, 3), padding=\"same\", activation=\"relu\")", nn_shape3(5, 4, 3), 1,
          9);
    gc_ok("Conv2D(2, (3, 3), padding=\"same\")", nn_shape3(4, 4, 1), 3, 10);
    /* 1x1 shortcut and 1x1 with stride (im2col) */
    gc_ok("Conv2D(4, 1)", nn_shape3(4, 3, 3), 3, 11);
    gc_ok("Conv2D(2, (1, 1), activation=\"relu\", use_bias=False)", nn_shape3(3, 4, 1), 1,
          12);
    /* selu from y; gelu and swish from the kept z: on the direct kernels
     * (rows of >= 6 pixels), the columns, the 1x1 shortcut and a stride */
    static const char *const acts[] = {"selu", "gelu", "swish"};
    char call[128];
    for (int a = 0; a < 3; a++) {
        snprintf(call, sizeof call, "Conv2D(3, (3, 3), activation=\"%s\")", acts[a]);
        gc_ok(call, nn_shape3(5, 8, 2), 3, 20 + (uint64_t)a);
        gc_ok(call, nn_shape3(5, 4, 2), 2, 23 + (uint64_t)a);
        snprintf(call, sizeof call, "Conv2D(2, 1, activation=\"%s\")", acts[a]);
        gc_ok(call, nn_shape3(3, 4, 3), 2, 26 + (uint64_t)a);
        snprintf(call, sizeof call, "Conv2D(2, (2, 2), strides=2, padding=\"same\", "
                 "activation=\"%s\")", acts[a]);
        gc_ok(call, nn_shape3(5, 7, 2), 3, 29 + (uint64_t)a);
    }
    gc_ok("Conv2D(2, 1, strides=2)", nn_shape3(5, 5, 3), 3, 13);
    gc_ok("Conv2D(4, (2, 2), use_bias=False)", nn_shape3(4, 4, 3), 3, 14);
    gc_ok("Conv2D(2, (2, 2), activation=\"tanh\")", nn_shape3(3, 4, 3), 1, 15);
    /* F >= 8 (direct kernels): partial vectors, two vectors, several tiles
     * per row, same padding, non-fused activation, no bias, and strided
     * (dx through the columns) */
    gc_ok("Conv2D(8, (3, 3), activation=\"relu\")", nn_shape3(5, 18, 2), 2, 16);
    gc_ok("Conv2D(20, (3, 2), padding=\"same\")", nn_shape3(4, 6, 3), 2, 17);
    gc_ok("Conv2D(33, (2, 2), activation=\"tanh\", use_bias=False)", nn_shape3(3, 4, 2), 1,
          18);
    gc_ok("Conv2D(16, (3, 3), strides=2, padding=\"same\")", nn_shape3(5, 6, 3), 2, 19);
    gc_ok("Conv2D(9, (2, 3), strides=(1, 2))", nn_shape3(4, 7, 2), 1, 20);
    gc_ok("Conv2D(12, (3, 3), activation=\"relu\")", nn_shape3(6, 6, 3), 2, 28);   /* 4 a row */
    /* 3x3x40 kernel rows exceed the L1 block: forward and dx one pass per
     * kernel row; same padding clips rows/columns. Linear: with 360 inputs
     * per output a ReLU kink is too often within the difference step. */
    gc_ok("Conv2D(40, (3, 3), padding=\"same\")", nn_shape3(4, 7, 40), 1, 29);
    /* dW with kernel taps in the vectors (F = 20 fills 20 of 32 lanes, a
     * 3x5 row 15 of 16; 42 taps: two blocks, the second partial) */
    gc_ok("Conv2D(20, (3, 3), activation=\"tanh\")", nn_shape3(5, 7, 5), 2, 30);
    gc_ok("Conv2D(12, (2, 3), strides=(2, 1))", nn_shape3(5, 6, 14), 1, 31);
    /* forward with output pixels in the vectors: 20 filters on rows of 16
     * and 19 pixels (one full, one partial vector; stride 2 down rows) */
    gc_ok("Conv2D(20, (3, 3), activation=\"tanh\")", nn_shape3(4, 18, 3), 1, 32);
    gc_ok("Conv2D(20, (2, 4), strides=(2, 1), padding=\"same\")", nn_shape3(5, 19, 2), 2, 33);
}

static void test_gc_pool(void)
{
    gc_ok("MaxPooling2D()", nn_shape3(4, 4, 3), 3, 21);
    gc_ok("MaxPooling2D()", nn_shape3(5, 4, 1), 1, 22);
    gc_ok("MaxPooling2D(3)", nn_shape3(7, 7, 2), 1, 23);
    gc_ok("MaxPooling2D(3, strides=1)", nn_shape3(5, 4, 3), 3, 24);
    gc_ok("MaxPooling2D((2, 3), strides=1)", nn_shape3(4, 5, 2), 3, 25);
    gc_ok("MaxPooling2D(3, strides=2, padding=\"same\")", nn_shape3(6, 7, 2), 3, 26);
    gc_ok("MaxPooling2D(2, padding=\"same\")", nn_shape3(5, 3, 1), 3, 27);
    gc_ok("MaxPooling2D(2, strides=3)", nn_shape3(8, 8, 2), 1, 28);
    gc_ok("MaxPooling2D((3, 2), strides=(2, 3), padding=\"same\")", nn_shape3(7, 8, 3), 3,
          29);
}

/* ---- errors ------------------------------------------------------------------- */

static void expect_err(const char *call, nn_shape in, int code, const char *sub1,
                       const char *sub2)
{
    tu_expect_layer_err(call, in, 0, code, sub1, sub2);
}

static void test_errors(void)
{
    expect_err("Conv2D(4, 3)", nn_shape1(10), NN_ESHAPE, "Conv2D 't'", "(None, 10)");
    expect_err("Conv2D(4, 3)", nn_shape1(10), NN_ESHAPE, "3-D", NULL);
    expect_err("Conv2D(2, (5, 5))", nn_shape3(4, 6, 1), NN_ESHAPE, "(None, 4, 6, 1)",
               "kernel_size (5, 5)");
    expect_err("Conv2D(2, (3, 7))", nn_shape3(4, 6, 1), NN_ESHAPE, "valid", "Conv2D 't'");
    expect_err("Conv2D(2, 3, data_format=\"channels_first\")", nn_shape3(4, 4, 1), NN_EINVAL,
               "channels_first", "data_format");
    expect_err("Conv2D(2, 3, padding=\"full\")", nn_shape3(4, 4, 1), NN_EINVAL, "\"full\"",
               "padding");
    expect_err("Conv2D(2, 3, padding=\"full\")", nn_shape3(4, 4, 1), NN_EINVAL, "<test>:1:",
               NULL);
    expect_err("Conv2D(2, 3, dilation_rate=2)", nn_shape3(4, 4, 1), NN_EINVAL,
               "dilation_rate", NULL);
    expect_err("Conv2D(2, 3, activation=\"swish2\")", nn_shape3(4, 4, 1), NN_EINVAL,
               "swish2", "activation");
    expect_err("Conv2D(0, 3)", nn_shape3(4, 4, 1), NN_EINVAL, "filters", "found 0");
    expect_err("Conv2D(kernel_size=3)", nn_shape3(4, 4, 1), NN_EINVAL, "filters", NULL);
    expect_err("Conv2D(2, (3, 3, 3))", nn_shape3(4, 4, 1), NN_EINVAL, "kernel_size", NULL);
    expect_err("Conv2D(2, 3, strides=0)", nn_shape3(4, 4, 1), NN_EINVAL, "strides", NULL);
    expect_err("Conv2D(2, 3, kernel_initializer=\"magic\")", nn_shape3(4, 4, 1), NN_EINVAL,
               "magic", "kernel_initializer");
    expect_err("MaxPooling2D()", nn_shape1(10), NN_ESHAPE, "MaxPooling2D 't'", "(None, 10)");
    expect_err("MaxPooling2D(5)", nn_shape3(4, 6, 1), NN_ESHAPE, "(None, 4, 6, 1)",
               "pool_size (5, 5)");
    expect_err("MaxPooling2D(2, padding=\"full\")", nn_shape3(4, 4, 1), NN_EINVAL, "\"full\"",
               "padding");
    expect_err("MaxPooling2D(data_format=\"channels_first\")", nn_shape3(4, 4, 1), NN_EINVAL,
               "channels_first", NULL);
    expect_err("MaxPooling2D(2, strides=-1)", nn_shape3(4, 4, 1), NN_EINVAL, "strides", NULL);
}

/* ---- what reports show (ops->info) ------------------------------------------ */

/* What nntrain bench counted before the layers reported it: the kernel's
 * size times the output positions it is applied at (out size / filters). */
static double kernel_macs(const nn_layer *l)
{
    nn_param_spec ps[NN_MAX_PARAM_SPECS];
    int n = l->ops->param_specs(l, ps);
    double k = 1;
    for (int j = 0; j < ps[0].ndim; j++)
        k *= ps[0].dims[j];
    CU_ASSERT(n >= 1 && !strcmp(ps[0].name, "kernel:0"));
    return k * (double)nn_shape_size(&l->out) / ps[0].dims[ps[0].ndim - 1];
}

static void test_info(void)
{
    static const struct {
        const char *call;
        nn_shape in;
        double macs;
        int units, th, tw, tc;
    } cases[] = {
        {"Dense(7)", {1, {20}}, 140, 7, 2, 2, 5},
        {"Conv2D(6, (3, 2), strides=2, padding=\"same\")", {3, {9, 8, 3}}, 3 * 2 * 3 * 6 * 5 * 4,
         6, 3, 2, 3},
        {"Conv2D(4, 1)", {3, {5, 5, 2}}, 2 * 4 * 25, 4, 1, 1, 2},
    };
    const nn_shape image = nn_shape3(2, 2, 5), other = nn_shape3(3, 3, 1);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nn_layer l;
        nn_error e = {0};
        nn_weight_image wi = {0};
        TU_ASSERT_OK(tu_make_layer(cases[i].call, cases[i].in, &l, &e), e);
        CU_ASSERT_PTR_NOT_NULL_FATAL(l.ops->info);
        CU_ASSERT_EQUAL(l.ops->info->macs(&l), cases[i].macs);
        CU_ASSERT_EQUAL(l.ops->info->macs(&l), kernel_macs(&l));
        int dense = cases[i].call[0] == 'D';
        CU_ASSERT_EQUAL(l.ops->info->weight_image(&l, &image, &wi), 1);
        CU_ASSERT_EQUAL(wi.units, cases[i].units);
        CU_ASSERT_EQUAL(wi.off, 0);
        CU_ASSERT(wi.tile.n == 3 && wi.tile.d[0] == cases[i].th && wi.tile.d[1] == cases[i].tw &&
                  wi.tile.d[2] == cases[i].tc);
        CU_ASSERT_STRING_EQUAL(wi.what, dense ? "units" : "filters");
        /* Dense draws its columns only over an input image of its width */
        CU_ASSERT_EQUAL(l.ops->info->weight_image(&l, NULL, &wi), !dense);
        CU_ASSERT_EQUAL(l.ops->info->weight_image(&l, &other, &wi), !dense);
        nn_layer_destroy(&l);
    }
    /* bench counts no FLOPs and analyze draws nothing for these */
    static const char *const none[] = {"MaxPooling2D()", "Conv2DTranspose(2, 3)"};
    for (size_t i = 0; i < 2; i++) {
        nn_layer l;
        nn_error e = {0};
        TU_ASSERT_OK(tu_make_layer(none[i], nn_shape3(4, 4, 2), &l, &e), e);
        CU_ASSERT_PTR_NULL(l.ops->info);
        nn_layer_destroy(&l);
    }
}

int main(void)
{
    /* CTest runs this suite once per instruction set (NNTRAIN_ISA): one the
     * CPU lacks is skipped, not tested with another. */
    const char *want = getenv("NNTRAIN_ISA");
    if (want && *want && strcmp(want, nn_layer_isa())) {
        printf("SKIP: NNTRAIN_ISA=%s: not available with this CPU and build (it uses %s)\n", want,
               nn_layer_isa());
        return 77;
    }
    static const tu_test tests[] = {
        {"registry", test_registry},
        {"shapes and parameter counts", test_shapes},
        {"Keras default initialisers", test_init},
        {"hand-computed 2x2 conv (HWIO, bias, backward)", test_hand_conv},
        {"hand-computed non-square conv", test_hand_nonsquare},
        {"same padding goes bottom/right, never wins in pooling", test_same_padding_side},
        {"hand-computed max pool with overlapping windows", test_hand_pool},
        {"conv vs naive loops", test_conv_reference},
        {"pool vs naive loops", test_pool_reference},
        {"chunked == unchunked", test_chunked},
        {"fused ReLU: after the kernel-row passes, pixel tiles", test_fused_relu},
        {"1x1 shortcut needs no workspace", test_shortcut},
        {"gradcheck Conv2D", test_gc_conv},
        {"gradcheck MaxPooling2D", test_gc_pool},
        {"errors", test_errors},
        {"MACs and weight images (Dense, Conv2D)", test_info},
        {NULL, NULL},
    };
    return tu_main("layers_conv", tests);
}
