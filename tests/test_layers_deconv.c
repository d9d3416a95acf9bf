/* Conv2DTranspose and UpSampling2D: Keras shapes and parameter counts; the
 * (KH, KW, F, C) kernel layout and TensorFlow's padding side pinned by hand;
 * a naive scatter reference; the defining property that Conv2DTranspose is
 * the adjoint of the Conv2D with the same kernel, strides and padding (its
 * forward is that Conv2D's dx, its dx that Conv2D's forward); chunked ==
 * unchunked; finite-difference checks over batch, channels, filters,
 * strides 1/2, same/valid, non-square kernels, output_padding and
 * activations; whole small autoencoders with the fused sigmoid + BCE; the
 * Rick autoencoder spec; error paths. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "nntrain/layer.h"
#include "nntrain/model.h"
#include "testutil.h"

extern const nn_layer_ops nn_conv2d_transpose_ops, nn_upsampling2d_ops;

static void gc_ok(const char *call, nn_shape in, int B, uint64_t seed)
{
    gc_layer_ok(call, in, B, 0, seed);
}

/* tu_assert_close that also asserts it compared something. */
static void assert_close(const char *what, const float *a, const float *b, size_t n,
                         double tol)
{
    CU_ASSERT(n > 0);
    tu_assert_close(what, a, b, n, tol);
}

/* ---- shapes and parameters ------------------------------------------------- */

static void test_registry(void)
{
    CU_ASSERT_PTR_EQUAL(nn_layer_find("Conv2DTranspose"), &nn_conv2d_transpose_ops);
    CU_ASSERT_PTR_EQUAL(nn_layer_find("layer_conv_2d_transpose"), &nn_conv2d_transpose_ops);
    CU_ASSERT_PTR_EQUAL(nn_layer_find("UpSampling2D"), &nn_upsampling2d_ops);
    CU_ASSERT_PTR_EQUAL(nn_layer_find("layer_upsampling_2d"), &nn_upsampling2d_ops);
    CU_ASSERT_STRING_EQUAL(nn_conv2d_transpose_ops.kind, "Conv2DTranspose");
    CU_ASSERT_STRING_EQUAL(nn_upsampling2d_ops.kind, "UpSampling2D");
    CU_ASSERT(tu_contains(nn_layer_known(), "Conv2DTranspose"));
    CU_ASSERT(tu_contains(nn_layer_known(), "UpSampling2D"));
}

static void test_shapes(void)
{
    /* Keras: valid -> H*s + max(K - s, 0); same -> H*s; output_padding ->
     * (H-1)*s + K - 2*(K//2 if same) + op. Params KH*KW*F*C + F. */
    tu_expect_shape("Conv2DTranspose(16, (3, 3), strides=2, padding=\"same\")",
                    nn_shape3(8, 8, 32), nn_shape3(16, 16, 16), 4624);
    tu_expect_shape("Conv2DTranspose(8, 3)", nn_shape3(5, 5, 4), nn_shape3(7, 7, 8),
                    3 * 3 * 8 * 4 + 8);
    tu_expect_shape("Conv2DTranspose(32, (3, 3), strides=2, activation=\"relu\")",
                    nn_shape3(7, 7, 64), nn_shape3(15, 15, 32), 18464);
    tu_expect_shape("Conv2DTranspose(4, (3, 2), strides=(2, 3))", nn_shape3(5, 4, 2),
                    nn_shape3(11, 12, 4), 3 * 2 * 4 * 2 + 4);
    tu_expect_shape("Conv2DTranspose(4, 1, strides=2)", nn_shape3(3, 3, 2), nn_shape3(6, 6, 4),
                    12);
    tu_expect_shape("Conv2DTranspose(4, (5, 4), strides=(2, 3), padding=\"same\")",
                    nn_shape3(3, 4, 2), nn_shape3(6, 12, 4), 5 * 4 * 4 * 2 + 4);
    tu_expect_shape("Conv2DTranspose(3, 3, strides=2, padding=\"same\", output_padding=0)",
                    nn_shape3(4, 5, 2), nn_shape3(7, 9, 3), 57);
    tu_expect_shape("Conv2DTranspose(3, 3, strides=2, padding=\"same\", output_padding=1)",
                    nn_shape3(4, 5, 2), nn_shape3(8, 10, 3), 57);
    tu_expect_shape("Conv2DTranspose(3, (3, 2), strides=2, output_padding=(1, 0))",
                    nn_shape3(3, 4, 2), nn_shape3(8, 8, 3), 3 * 2 * 3 * 2 + 3);
    tu_expect_shape("Conv2DTranspose(3, 3, use_bias=False)", nn_shape3(4, 4, 2),
                    nn_shape3(6, 6, 3), 54);
    tu_expect_shape("Conv2DTranspose(3, 1)", nn_shape3(4, 5, 6), nn_shape3(4, 5, 3), 21);
    tu_expect_shape("UpSampling2D()", nn_shape3(3, 4, 5), nn_shape3(6, 8, 5), 0);
    tu_expect_shape("UpSampling2D((2, 3))", nn_shape3(3, 4, 5), nn_shape3(6, 12, 5), 0);
    tu_expect_shape("UpSampling2D(size=3, interpolation=\"nearest\")", nn_shape3(2, 1, 1),
                    nn_shape3(6, 3, 1), 0);

    /* param_specs: kernel (KH, KW, F, C), then the bias (F) right after it. */
    nn_layer l;
    nn_error e = {0};
    nn_param_spec s[NN_MAX_PARAM_SPECS];
    TU_ASSERT_OK(tu_make_layer("Conv2DTranspose(5, (3, 2))", nn_shape3(8, 9, 4), &l, &e), e);
    CU_ASSERT_EQUAL_FATAL(l.ops->param_specs(&l, s), 2);
    CU_ASSERT_STRING_EQUAL(s[0].name, "kernel:0");
    CU_ASSERT_EQUAL(s[0].ndim, 4);
    CU_ASSERT(s[0].dims[0] == 3 && s[0].dims[1] == 2 && s[0].dims[2] == 5 && s[0].dims[3] == 4);
    CU_ASSERT_EQUAL(s[0].off, 0);
    CU_ASSERT_STRING_EQUAL(s[1].name, "bias:0");
    CU_ASSERT(s[1].ndim == 1 && s[1].dims[0] == 5);
    CU_ASSERT_EQUAL(s[1].off, 3 * 2 * 4 * 5);
    nn_layer_destroy(&l);
    TU_ASSERT_OK(tu_make_layer("Conv2DTranspose(5, 3, use_bias=False)", nn_shape3(8, 9, 4), &l,
                               &e), e);
    CU_ASSERT_EQUAL(l.ops->param_specs(&l, s), 1);
    nn_layer_destroy(&l);
    TU_ASSERT_OK(tu_make_layer("UpSampling2D()", nn_shape3(8, 9, 4), &l, &e), e);
    CU_ASSERT_EQUAL(l.ops->param_specs(&l, s), 0);
    nn_layer_destroy(&l);
}

/* Keras fans for the (KH, KW, F, C) kernel: fan_in = KH*KW*F. he_uniform on
 * Conv2DTranspose(8, 3) over 2 channels: limit sqrt(6 / 72) (with Conv2D's
 * fan_in = 9*2 it would be twice that). Bias zeros. */
static void test_init(void)
{
    tu_lay t;
    tu_lay_open(&t, "Conv2DTranspose(8, 3, kernel_initializer=\"he_uniform\")",
                nn_shape3(4, 4, 2), 1);
    nn_rng r = nn_rng_key(7, 0, 0, 0);
    for (size_t i = 0; i < t.np; i++)
        t.p[i] = 99.0f;
    t.l.ops->init_params(&t.l, t.p, &r);
    double lim = sqrt(6.0 / (9 * 8)), mx = 0;
    for (size_t i = 0; i < 144; i++)
        mx = fmax(mx, fabs(t.p[i]));
    CU_ASSERT(mx <= lim && mx > 0.8 * lim);
    for (size_t i = 144; i < t.np; i++)
        CU_ASSERT_EQUAL(t.p[i], 0.0f);
    tu_lay_close(&t);
}

/* ---- hand-computed results ----------------------------------------------------- */

/* TensorFlow's padding side: Conv2DTranspose(1, (3, 1), strides=(2, 1),
 * padding="same") on x = [1, 10] (H = 2), kernel taps [1, 2, 3]. The full
 * scatter is x0*k at rows 0-2 and x1*k at rows 2-4 = [1, 2, 3+10, 20, 30];
 * OH = 4 and the adjoint Conv2D(same) pads 1 at the bottom, 0 at the top, so
 * the output is the first four rows [1, 2, 13, 20]. (A top crop would give
 * [2, 13, 20, 30].) Backward with dy = [1, 0, 0, 1]: dx0 = k0 = 1,
 * dx1 = k1 = 2; dkernel = [x0 + 0, 0 + x1 * dy3, x0 * 0 + 0] = [1, 10, 0]. */
static void test_same_padding_side(void)
{
    tu_lay t;
    tu_lay_open(&t, "Conv2DTranspose(1, (3, 1), strides=(2, 1), padding=\"same\", "
                "use_bias=False)", nn_shape3(2, 1, 1), 1);
    CU_ASSERT_FATAL(t.l.out.d[0] == 4 && t.l.out.d[1] == 1);
    t.x[0] = 1.0f;
    t.x[1] = 10.0f;
    t.p[0] = 1.0f;
    t.p[1] = 2.0f;
    t.p[2] = 3.0f;
    tu_lay_forward(&t);
    const float want[4] = {1, 2, 13, 20};
    assert_close("same padding side", t.y, want, 4, 1e-6);
    const float dy[4] = {1, 0, 0, 1};
    memcpy(t.dy, dy, sizeof dy);
    t.dx[0] = t.dx[1] = 123.0f;   /* must be overwritten */
    tu_lay_backward(&t);
    const float wdx[2] = {1, 2}, wdk[3] = {1, 10, 0};
    assert_close("same padding dx", t.dx, wdx, 2, 1e-6);
    assert_close("same padding dkernel", t.g, wdk, 3, 1e-6);
    tu_lay_close(&t);
}

/* The (KH, KW, F, C) layout: kernel (1, 1, 2, 3) flat = f0: [1, 0, 0],
 * f1: [0, 10, 100] (index f*C + c), x = [1, 2, 3], bias [0.5, -1]:
 * y = [1.5, 319]. The stride-2 variant (im2col path, K < s) puts that pixel
 * at (0, 0) of a 2x2 output and only the bias elsewhere. */
static void test_kernel_layout(void)
{
    static const char *calls[2] = {"Conv2DTranspose(2, 1)",
                                   "Conv2DTranspose(2, 1, strides=2)"};
    for (int k = 0; k < 2; k++) {
        tu_lay t;
        tu_lay_open(&t, calls[k], nn_shape3(1, 1, 3), 1);
        const float p[8] = {1, 0, 0, 0, 10, 100, 0.5f, -1};
        memcpy(t.p, p, sizeof p);
        t.x[0] = 1, t.x[1] = 2, t.x[2] = 3;
        tu_lay_forward(&t);
        const float want[8] = {1.5f, 319, 0.5f, -1, 0.5f, -1, 0.5f, -1};
        CU_ASSERT_EQUAL(t.nout, k ? 8u : 2u);
        assert_close(calls[k], t.y, want, t.nout, 1e-6);
        tu_lay_close(&t);
    }
}

/* Nearest upsampling by hand: x (1, 2, 2, 1) = [[1, 2], [3, 4]], size (1, 2)
 * -> [[1, 1, 2, 2], [3, 3, 4, 4]]; backward sums each pair. Two channels
 * with size (2, 1) keep the channels apart. */
static void test_hand_upsampling(void)
{
    tu_lay t;
    tu_lay_open(&t, "UpSampling2D((1, 2))", nn_shape3(2, 2, 1), 1);
    for (int i = 0; i < 4; i++)
        t.x[i] = (float)(i + 1);
    tu_lay_forward(&t);
    const float want[8] = {1, 1, 2, 2, 3, 3, 4, 4};
    assert_close("upsampling y", t.y, want, 8, 0);
    for (int i = 0; i < 8; i++)
        t.dy[i] = (float)(1 << i);
    tu_lay_backward(&t);
    const float wdx[4] = {3, 12, 48, 192};
    assert_close("upsampling dx", t.dx, wdx, 4, 0);
    tu_lay_close(&t);

    tu_lay_open(&t, "UpSampling2D((2, 1))", nn_shape3(1, 2, 2), 1);
    const float x[4] = {1, -1, 2, -2};
    memcpy(t.x, x, sizeof x);
    tu_lay_forward(&t);
    const float w2[8] = {1, -1, 2, -2, 1, -1, 2, -2};
    assert_close("upsampling channels", t.y, w2, 8, 0);
    tu_lay_close(&t);
}

/* ---- against a naive scatter ---------------------------------------------------- */

typedef struct dc_case {
    int F, KH, KW, SH, SW, same, OPH, OPW, H, W, C, B;   /* OPH < 0: no output_padding */
} dc_case;

/* Keras output length and TF's leading pad of the adjoint Conv2D, written
 * out independently of the layer. */
static int ref_len(int n, int k, int s, int same, int op, int *pad)
{
    int o = op >= 0 ? (n - 1) * s + k - (same ? 2 * (k / 2) : 0) + op
                    : same ? n * s : n * s + (k > s ? k - s : 0);
    int total = (n - 1) * s + k - o;
    *pad = same && total > 0 ? total / 2 : 0;
    return o;
}

static void dc_call(const dc_case *k, char *call, size_t len)
{
    int n = snprintf(call, len, "Conv2DTranspose(%d, (%d, %d), strides=(%d, %d), "
                     "padding=\"%s\"", k->F, k->KH, k->KW, k->SH, k->SW,
                     k->same ? "same" : "valid");
    if (k->OPH >= 0)
        n += snprintf(call + n, len - (size_t)n, ", output_padding=(%d, %d)", k->OPH, k->OPW);
    snprintf(call + n, len - (size_t)n, ")");
}

/* y[oh][ow][f] = b[f] + sum over (h, w, i, j, c) with h*SH + i - pt = oh and
 * w*SW + j - pl = ow of x[h][w][c] * k[i][j][f][c], in double. */
static void check_deconv_ref(const dc_case *k)
{
    char call[200];
    dc_call(k, call, sizeof call);
    tu_lay t;
    tu_lay_open(&t, call, nn_shape3(k->H, k->W, k->C), k->B);
    int pt, pl, OH = ref_len(k->H, k->KH, k->SH, k->same, k->OPH, &pt);
    int OW = ref_len(k->W, k->KW, k->SW, k->same, k->OPH >= 0 ? k->OPW : -1, &pl);
    CU_ASSERT_FATAL(t.l.out.d[0] == OH && t.l.out.d[1] == OW && t.l.out.d[2] == k->F);
    tu_fill_uniform(t.x, t.nin, 5, -1, 1);
    tu_fill_uniform(t.p, t.np, 6, -1, 1);
    const float *bias = t.p + (size_t)k->KH * k->KW * k->F * k->C;
    double *acc = calloc(t.nout, sizeof *acc);
    for (int n = 0; n < k->B; n++)
        for (int h = 0; h < k->H; h++)
            for (int w = 0; w < k->W; w++)
                for (int i = 0; i < k->KH; i++)
                    for (int j = 0; j < k->KW; j++) {
                        int oh = h * k->SH + i - pt, ow = w * k->SW + j - pl;
                        if (oh < 0 || oh >= OH || ow < 0 || ow >= OW)
                            continue;
                        for (int f = 0; f < k->F; f++)
                            for (int c = 0; c < k->C; c++)
                                acc[(((size_t)n * OH + oh) * OW + ow) * k->F + f] +=
                                    (double)t.x[(((size_t)n * k->H + h) * k->W + w) * k->C + c] *
                                    t.p[(((size_t)i * k->KW + j) * k->F + f) * k->C + c];
                    }
    float *ref = malloc(t.nout * sizeof *ref);
    for (size_t i = 0; i < t.nout; i++)
        ref[i] = (float)(acc[i] + bias[i % (size_t)k->F]);
    tu_lay_forward(&t);
    assert_close(call, t.y, ref, t.nout, 1e-5);
    free(acc);
    free(ref);
    tu_lay_close(&t);
}

static void test_deconv_reference(void)
{
    static const dc_case cases[] = {
        {4, 3, 3, 1, 1, 0, -1, -1, 4, 5, 3, 2}, {3, 3, 3, 2, 2, 1, -1, -1, 4, 3, 2, 3},
        {2, 5, 4, 2, 3, 1, -1, -1, 3, 4, 2, 2}, {3, 2, 2, 2, 2, 0, -1, -1, 3, 3, 4, 2},
        {2, 1, 1, 3, 2, 0, -1, -1, 3, 4, 3, 2}, {5, 1, 1, 1, 1, 0, -1, -1, 3, 4, 6, 2},
        {2, 3, 2, 2, 2, 0, 1, 0, 3, 4, 2, 2},   {3, 3, 3, 2, 2, 1, 0, 1, 3, 4, 2, 2},
        {2, 4, 4, 2, 2, 1, 1, 1, 3, 3, 2, 1},   {3, 2, 5, 1, 3, 1, -1, -1, 4, 3, 3, 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_deconv_ref(&cases[i]);
}

/* ---- the adjoint of Conv2D --------------------------------------------------- */

/* Conv2DTranspose(C_out=F) on (H, W, C) and Conv2D(C, same kernel, strides,
 * padding) on (OH, OW, F) share the block (KH, KW, F, C) = HWIO of the
 * Conv2D. Then, elementwise: deconv.forward(x) == conv.backward-dx(dy = x)
 * and deconv.backward-dx(dy = u) == conv.forward(u); and the parameter
 * gradients agree with the roles of x and u swapped. */
static void check_adjoint(int F, int KH, int KW, int SH, int SW, int same, int H, int W,
                          int C, int B)
{
    char dc[200], cv[200];
    const char *pad = same ? "same" : "valid";
    snprintf(dc, sizeof dc, "Conv2DTranspose(%d, (%d, %d), strides=(%d, %d), padding=\"%s\", "
             "use_bias=False)", F, KH, KW, SH, SW, pad);
    snprintf(cv, sizeof cv, "Conv2D(%d, (%d, %d), strides=(%d, %d), padding=\"%s\", "
             "use_bias=False)", C, KH, KW, SH, SW, pad);
    tu_lay d, c;
    tu_lay_open(&d, dc, nn_shape3(H, W, C), B);
    tu_lay_open(&c, cv, d.l.out, B);
    CU_ASSERT_FATAL(nn_shape_eq(&c.l.out, &d.l.in) && c.np == d.np);
    tu_fill_uniform(d.p, d.np, 31, -1, 1);
    memcpy(c.p, d.p, d.np * sizeof(float));
    tu_fill_uniform(d.x, d.nin, 32, -1, 1);    /* x: deconv input = conv output */
    tu_fill_uniform(c.x, c.nin, 33, -1, 1);    /* u: conv input = deconv output */
    /* deconv forward vs conv dx with dy = x */
    tu_lay_forward(&d);
    tu_lay_forward(&c);
    memcpy(c.dy, d.x, d.nin * sizeof(float));
    tu_lay_backward(&c);
    assert_close("deconv y == conv dx", d.y, c.dx, d.nout, 1e-5);
    /* deconv dx with dy = u vs conv forward; dW agree too: both are sum x u */
    memcpy(d.dy, c.x, c.nin * sizeof(float));
    tu_lay_backward(&d);
    assert_close("deconv dx == conv y", d.dx, c.y, d.nin, 1e-5);
    assert_close("deconv dW == conv dW", d.g, c.g, d.np, 1e-5);
    tu_lay_close(&d);
    tu_lay_close(&c);
}

static void test_adjoint(void)
{
    check_adjoint(3, 3, 3, 1, 1, 0, 4, 5, 2, 2);
    check_adjoint(3, 3, 3, 2, 2, 1, 4, 4, 2, 3);
    check_adjoint(2, 3, 3, 2, 2, 1, 3, 5, 3, 2);
    check_adjoint(2, 5, 4, 2, 3, 1, 3, 4, 2, 2);
    check_adjoint(4, 2, 3, 2, 1, 0, 3, 4, 2, 2);
    check_adjoint(2, 1, 1, 2, 2, 0, 3, 3, 2, 2);
    check_adjoint(3, 1, 1, 1, 1, 0, 3, 4, 5, 2);
    check_adjoint(3, 4, 4, 3, 3, 1, 4, 3, 2, 2);
}

/* ---- chunked == unchunked ------------------------------------------------------- */

static void test_chunked(void)
{
    tu_check_chunked("Conv2DTranspose(4, (3, 3), strides=2, activation=\"relu\")",
                     nn_shape3(4, 3, 3), assert_close);
    tu_check_chunked("Conv2DTranspose(3, (2, 3), strides=2, padding=\"same\")",
                     nn_shape3(3, 4, 2), assert_close);
    /* 1x1 / stride 1: no columns, no workspace */
    tu_lay t;
    tu_lay_open(&t, "Conv2DTranspose(3, 1)", nn_shape3(4, 5, 6), 4);
    CU_ASSERT_EQUAL(t.work, 0);
    tu_lay_close(&t);
}

/* ---- gradient checks ------------------------------------------------------------ */

static void test_gc_deconv(void)
{
    gc_ok("Conv2DTranspose(2, (3, 3))", nn_shape3(3, 3, 1), 1, 1);
    gc_ok("Conv2DTranspose(2, (3, 3))", nn_shape3(3, 4, 2), 3, 2);
    gc_ok("Conv2DTranspose(2, (3, 3), strides=2, activation=\"gelu\")", nn_shape3(3, 4, 2), 3,
          40);
    gc_ok("Conv2DTranspose(3, 1, activation=\"swish\")", nn_shape3(2, 3, 2), 2, 41);
    /* seed 3 puts one output within 1e-4 of the ReLU kink (29 of 192 skipped) */
    gc_ok("Conv2DTranspose(3, (3, 3), activation=\"relu\")", nn_shape3(4, 3, 3), 3, 17);
    gc_ok("Conv2DTranspose(4, (3, 3), strides=2)", nn_shape3(3, 3, 2), 2, 4);
    gc_ok("Conv2DTranspose(3, (3, 3), strides=2, activation=\"sigmoid\")", nn_shape3(3, 4, 3),
          3, 5);
    /* same, stride 2, even and odd input: crop 0 top/left, 1 bottom/right */
    gc_ok("Conv2DTranspose(2, (3, 3), strides=2, padding=\"same\")", nn_shape3(4, 4, 2), 2, 6);
    gc_ok("Conv2DTranspose(3, (3, 3), strides=2, padding=\"same\", activation=\"relu\")",
          nn_shape3(3, 5, 2), 3, 7);
    /* non-square kernel and strides: H crop 1/2 (asymmetric), W crop 0/1 */
    gc_ok("Conv2DTranspose(2, (5, 4), strides=(2, 3), padding=\"same\")", nn_shape3(3, 3, 2),
          2, 8);
    gc_ok("Conv2DTranspose(3, (2, 3), strides=(2, 1), activation=\"sigmoid\")",
          nn_shape3(3, 4, 2), 3, 9);
    gc_ok("Conv2DTranspose(2, (3, 3), padding=\"same\", activation=\"relu\")",
          nn_shape3(4, 3, 3), 1, 10);
    gc_ok("Conv2DTranspose(3, (2, 2), strides=2, use_bias=False)", nn_shape3(3, 3, 4), 3, 11);
    /* K < s (rows that only get the bias) and the 1x1 / stride 1 shortcut */
    gc_ok("Conv2DTranspose(2, 1, strides=2)", nn_shape3(3, 3, 3), 2, 12);
    gc_ok("Conv2DTranspose(4, 1)", nn_shape3(3, 3, 3), 3, 13);
    gc_ok("Conv2DTranspose(2, (1, 1), activation=\"relu\", use_bias=False)",
          nn_shape3(3, 4, 2), 1, 14);
    /* output_padding */
    gc_ok("Conv2DTranspose(2, (3, 2), strides=2, output_padding=(1, 0))", nn_shape3(3, 3, 2),
          2, 15);
    gc_ok("Conv2DTranspose(2, 3, strides=2, padding=\"same\", output_padding=0, "
          "activation=\"tanh\")", nn_shape3(3, 4, 2), 2, 16);
}

static void test_gc_upsampling(void)
{
    gc_ok("UpSampling2D()", nn_shape3(3, 4, 2), 1, 31);
    gc_ok("UpSampling2D()", nn_shape3(3, 3, 3), 3, 32);
    gc_ok("UpSampling2D((2, 3))", nn_shape3(2, 3, 2), 3, 33);
    gc_ok("UpSampling2D(size=(3, 1))", nn_shape3(2, 4, 1), 2, 34);
    gc_ok("UpSampling2D(1)", nn_shape3(2, 2, 3), 2, 35);
}

/* Whole small autoencoders, loss and fused sigmoid + BCE included. */
static void test_gc_models(void)
{
    gc_result r;
    int bad = gc_model("Conv2D(4, 3, strides=2, padding=\"same\", activation=\"relu\", "
                       "input_shape=(6, 8, 2))\n"
                       "Conv2DTranspose(3, 3, strides=2, padding=\"same\", activation=\"relu\")\n"
                       "Conv2D(2, 3, padding=\"same\", activation=\"sigmoid\")\n"
                       "compile(loss=\"binary_crossentropy\", optimizer=\"adam\")\n",
                       3, 41, GC_TOL, &r);
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT(r.checked > 0 && r.sum_abs_numeric > 0);
    bad = gc_model("Conv2D(3, 3, padding=\"same\", activation=\"tanh\", input_shape=(4, 6, 1))\n"
                   "MaxPooling2D()\n"
                   "UpSampling2D()\n"
                   "Conv2DTranspose(1, (3, 2), padding=\"same\", activation=\"sigmoid\")\n"
                   "compile(loss=\"binary_crossentropy\", optimizer=\"adam\")\n",
                   2, 42, GC_TOL, &r);
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT(r.checked > 0 && r.sum_abs_numeric > 0);
}

/* jobs/models/rick_autoencoder.nn: 90x160x3 in, 90x160x3 out, BCE. */
static void test_rick_autoencoder(void)
{
    nn_spec s;
    nn_model m;
    nn_error e = {0};
    TU_ASSERT_OK(nn_spec_load(NN_SOURCE_DIR "/jobs/models/rick_autoencoder.nn", &s, &e), e);
    int rc = nn_model_build(&m, &s, &e);
    nn_spec_free(&s);
    TU_ASSERT_OK(rc, e);
    nn_shape want = nn_shape3(90, 160, 3);
    CU_ASSERT(nn_shape_eq(&m.layers[0].in, &want));
    CU_ASSERT(nn_shape_eq(&m.layers[m.nlayers - 1].out, &want));
    CU_ASSERT_EQUAL(m.nparams, 3795);
    CU_ASSERT_EQUAL(m.loss, NN_LOSS_BCE);
    CU_ASSERT(m.fused);
    nn_model_free(&m);
}

/* ---- errors ------------------------------------------------------------------- */

static void expect_err(const char *call, nn_shape in, int code, const char *sub1,
                       const char *sub2)
{
    tu_expect_layer_err(call, in, 0, code, sub1, sub2);
}

static void test_errors(void)
{
    nn_shape img = nn_shape3(4, 4, 2);
    expect_err("Conv2DTranspose(4, 3)", nn_shape1(10), NN_ESHAPE, "Conv2DTranspose 't'",
               "(None, 10)");
    expect_err("Conv2DTranspose(4, 3)", nn_shape1(10), NN_ESHAPE, "3-D", NULL);
    expect_err("Conv2DTranspose(2, 3, padding=\"full\")", img, NN_EINVAL, "\"full\"",
               "padding");
    expect_err("Conv2DTranspose(2, 3, padding=\"full\")", img, NN_EINVAL, "<test>:1:", NULL);
    expect_err("Conv2DTranspose(2, 3, data_format=\"channels_first\")", img, NN_EINVAL,
               "channels_first", "data_format");
    expect_err("Conv2DTranspose(2, 3, dilation_rate=2)", img, NN_EINVAL, "dilation_rate",
               NULL);
    expect_err("Conv2DTranspose(2, 3, activation=\"swish2\")", img, NN_EINVAL, "swish2",
               "activation");
    expect_err("Conv2DTranspose(0, 3)", img, NN_EINVAL, "filters", "found 0");
    expect_err("Conv2DTranspose(kernel_size=3)", img, NN_EINVAL, "filters", NULL);
    expect_err("Conv2DTranspose(2)", img, NN_EINVAL, "kernel_size", NULL);
    expect_err("Conv2DTranspose(2, 3, strides=0)", img, NN_EINVAL, "strides", NULL);
    expect_err("Conv2DTranspose(2, 3, kernel_initializer=\"magic\")", img, NN_EINVAL,
               "magic", "kernel_initializer");
    /* Keras: output_padding must be smaller than the stride */
    expect_err("Conv2DTranspose(2, 3, strides=2, output_padding=2)", img, NN_EINVAL,
               "output_padding", "found (2, 2)");
    expect_err("Conv2DTranspose(2, 3, output_padding=1)", img, NN_EINVAL, "output_padding",
               NULL);
    /* same, K2 s2, op 0 -> OH = 2H - 2, which Conv2D(same) maps to H - 1 */
    expect_err("Conv2DTranspose(2, 2, strides=2, padding=\"same\", output_padding=0)", img,
               NN_ESHAPE, "output_padding", "maps to 3 x 3");
    expect_err("UpSampling2D()", nn_shape1(10), NN_ESHAPE, "UpSampling2D 't'", "(None, 10)");
    expect_err("UpSampling2D(interpolation=\"bilinear\")", img, NN_EINVAL, "\"bilinear\"",
               "interpolation");
    expect_err("UpSampling2D(0)", img, NN_EINVAL, "size", "found (0, 0)");
    expect_err("UpSampling2D((2, 2, 2))", img, NN_EINVAL, "size", NULL);
    expect_err("UpSampling2D(data_format=\"channels_first\")", img, NN_EINVAL,
               "channels_first", NULL);
}

int main(void)
{
    static const tu_test tests[] = {
        {"registry", test_registry},
        {"shapes and parameter counts (Keras)", test_shapes},
        {"Keras fans for the (KH, KW, F, C) kernel", test_init},
        {"same padding: TensorFlow's crop side", test_same_padding_side},
        {"kernel layout (KH, KW, F, C) and bias", test_kernel_layout},
        {"hand-computed UpSampling2D", test_hand_upsampling},
        {"deconv vs naive scatter", test_deconv_reference},
        {"deconv is the adjoint of Conv2D", test_adjoint},
        {"chunked == unchunked", test_chunked},
        {"gradcheck Conv2DTranspose", test_gc_deconv},
        {"gradcheck UpSampling2D", test_gc_upsampling},
        {"gradcheck small autoencoders (BCE)", test_gc_models},
        {"Rick autoencoder spec", test_rick_autoencoder},
        {"errors", test_errors},
        {NULL, NULL},
    };
    return tu_main("layers_deconv", tests);
}
