/* AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D and
 * ZeroPadding2D: registry names (Keras, aliases, R); Keras shapes; by hand,
 * TensorFlow's "same" side and a mean over the cells inside the image only,
 * first-maximum ties, the ReLU mask of the global max, the three padding
 * forms, and backward overwriting dx; finite-difference checks over batch,
 * channels, non-square pools, strides below/above the pool, same/valid and
 * keepdims; whole small models (a CNN ending in global pooling); Keras
 * names and totals in a model summary; error paths. The PyTorch comparison
 * is test_golden_pool.c. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "nntrain/layer.h"
#include "nntrain/model.h"
#include "testutil.h"

extern const nn_layer_ops nn_avgpool2d_ops, nn_global_avgpool2d_ops, nn_global_maxpool2d_ops,
    nn_zero_padding2d_ops;

static void gc_ok(const char *call, nn_shape in, int B, uint64_t seed)
{
    gc_layer_ok(call, in, B, 0, seed);
}

/* ---- names and shapes ------------------------------------------------------ */

static void test_registry(void)
{
    static const struct {
        const char *name;
        const nn_layer_ops *ops;
    } names[] = {
        {"AveragePooling2D", &nn_avgpool2d_ops},
        {"AvgPool2D", &nn_avgpool2d_ops},
        {"layer_average_pooling_2d", &nn_avgpool2d_ops},
        {"GlobalAveragePooling2D", &nn_global_avgpool2d_ops},
        {"GlobalAvgPool2D", &nn_global_avgpool2d_ops},
        {"layer_global_average_pooling_2d", &nn_global_avgpool2d_ops},
        {"GlobalMaxPooling2D", &nn_global_maxpool2d_ops},
        {"GlobalMaxPool2D", &nn_global_maxpool2d_ops},
        {"layer_global_max_pooling_2d", &nn_global_maxpool2d_ops},
        {"ZeroPadding2D", &nn_zero_padding2d_ops},
        {"layer_zero_padding_2d", &nn_zero_padding2d_ops},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        CU_ASSERT_PTR_EQUAL(nn_layer_find(names[i].name), names[i].ops);
    CU_ASSERT_STRING_EQUAL(nn_avgpool2d_ops.kind, "AveragePooling2D");
    CU_ASSERT_STRING_EQUAL(nn_global_avgpool2d_ops.kind, "GlobalAveragePooling2D");
    CU_ASSERT_STRING_EQUAL(nn_global_maxpool2d_ops.kind, "GlobalMaxPooling2D");
    CU_ASSERT_STRING_EQUAL(nn_zero_padding2d_ops.kind, "ZeroPadding2D");
    CU_ASSERT(tu_contains(nn_layer_known(), "AveragePooling2D"));
    CU_ASSERT(tu_contains(nn_layer_known(), "GlobalAveragePooling2D"));
    CU_ASSERT(tu_contains(nn_layer_known(), "GlobalMaxPooling2D"));
    CU_ASSERT(tu_contains(nn_layer_known(), "ZeroPadding2D"));
}

static void test_shapes(void)
{
    /* valid: (n - k) / s + 1; same: ceil(n / s) */
    tu_expect_shape("AveragePooling2D()", nn_shape3(26, 26, 32), nn_shape3(13, 13, 32), 0);
    tu_expect_shape("AveragePooling2D(3)", nn_shape3(86, 156, 20), nn_shape3(28, 52, 20), 0);
    tu_expect_shape("AveragePooling2D(pool_size=8)", nn_shape3(8, 8, 64), nn_shape3(1, 1, 64),
                    0);   /* the ResNet20 head */
    tu_expect_shape("AveragePooling2D((2, 3), strides=1, padding=\"same\")", nn_shape3(5, 7, 2),
                    nn_shape3(5, 7, 2), 0);
    tu_expect_shape("AveragePooling2D(2, padding=\"same\")", nn_shape3(5, 5, 1),
                    nn_shape3(3, 3, 1), 0);
    tu_expect_shape("AveragePooling2D(pool_size=(3, 2), strides=(1, 2))", nn_shape3(6, 7, 1),
                    nn_shape3(4, 3, 1), 0);
    tu_expect_shape("AveragePooling2D(5, padding=\"same\")", nn_shape3(3, 3, 2),
                    nn_shape3(1, 1, 2), 0);   /* a pool larger than the image is fine */
    tu_expect_shape("AveragePooling2D(strides=None)", nn_shape3(4, 4, 1), nn_shape3(2, 2, 1),
                    0);
    tu_expect_shape("GlobalAveragePooling2D()", nn_shape3(8, 8, 64), nn_shape1(64), 0);
    tu_expect_shape("GlobalAveragePooling2D(keepdims=True)", nn_shape3(8, 7, 6),
                    nn_shape3(1, 1, 6), 0);
    tu_expect_shape("GlobalAveragePooling2D(data_format=None, keepdims=False)",
                    nn_shape3(2, 3, 4), nn_shape1(4), 0);
    tu_expect_shape("GlobalMaxPooling2D()", nn_shape3(5, 3, 7), nn_shape1(7), 0);
    tu_expect_shape("GlobalMaxPooling2D(keepdims=True)", nn_shape3(5, 3, 7), nn_shape3(1, 1, 7),
                    0);
    tu_expect_shape("ZeroPadding2D()", nn_shape3(28, 28, 1), nn_shape3(30, 30, 1), 0);
    tu_expect_shape("ZeroPadding2D(3)", nn_shape3(224, 224, 3), nn_shape3(230, 230, 3), 0);
    tu_expect_shape("ZeroPadding2D((1, 2))", nn_shape3(4, 5, 2), nn_shape3(6, 9, 2), 0);
    tu_expect_shape("ZeroPadding2D(((0, 2), (3, 1)))", nn_shape3(4, 5, 2), nn_shape3(6, 9, 2),
                    0);
    tu_expect_shape("ZeroPadding2D(padding=0)", nn_shape3(4, 5, 2), nn_shape3(4, 5, 2), 0);
    /* R: c(1, 2) and list(c(0, 2), c(3, 1)) */
    tu_expect_shape("layer_zero_padding_2d(padding = c(1, 2))", nn_shape3(4, 5, 2),
                    nn_shape3(6, 9, 2), 0);
    tu_expect_shape("layer_zero_padding_2d(padding = list(c(0, 2), c(3, 1)))",
                    nn_shape3(4, 5, 2), nn_shape3(6, 9, 2), 0);
}

/* ---- by hand --------------------------------------------------------------------- */

/* AveragePooling2D(2, padding="same") on 3x3 x = 1..9: TensorFlow pads only
 * the bottom and right and divides by the cells inside the image:
 * (1+2+4+5)/4 = 3, (3+6)/2 = 4.5, (7+8)/2 = 7.5, 9/1 = 9. (Padding on the
 * top/left would give 1 first; counting the padding would give 2.25, 2.25,
 * 3.75, 2.25.) Backward: each cell gets dy / count of its window. */
static void test_hand_avg(void)
{
    tu_lay t;
    tu_lay_open(&t, "AveragePooling2D(2, padding=\"same\")", nn_shape3(3, 3, 1), 1);
    for (int i = 0; i < 9; i++) {
        t.x[i] = (float)(i + 1);
        t.dx[i] = 123.0f;   /* backward must overwrite dx */
    }
    tu_lay_forward(&t);
    const float want[4] = {3, 4.5f, 7.5f, 9};
    tu_assert_close("same avg pool", t.y, want, 4, 0);
    const float dy[4] = {4, 2, 6, 1};
    memcpy(t.dy, dy, sizeof dy);
    t.l.ops->backward(&t.l, t.p, t.g, t.x, t.y, t.dy, t.dx, 1, &t.ctx);
    const float wdx[9] = {1, 1, 1, 1, 1, 1, 3, 3, 1};
    tu_assert_close("same avg pool dx", t.dx, wdx, 9, 0);
    tu_lay_close(&t);

    /* Overlapping windows (pool 2, stride 1) sum into dx; channels stay
     * apart: channel 1 is 10x channel 0. */
    tu_lay_open(&t, "AveragePooling2D(2, strides=1)", nn_shape3(2, 3, 2), 1);
    for (int i = 0; i < 6; i++) {
        t.x[2 * i] = (float)i;
        t.x[2 * i + 1] = 10.0f * (float)i;
    }
    tu_lay_forward(&t);
    const float wy[4] = {2, 20, 3, 30};   /* (0+1+3+4)/4, (1+2+4+5)/4 */
    tu_assert_close("overlapping avg pool", t.y, wy, 4, 0);
    for (int i = 0; i < 4; i++)
        t.dy[i] = 4.0f;
    t.l.ops->backward(&t.l, t.p, t.g, t.x, t.y, t.dy, t.dx, 1, &t.ctx);
    const float wdx2[12] = {1, 1, 2, 2, 1, 1, 1, 1, 2, 2, 1, 1};
    tu_assert_close("overlapping avg pool dx", t.dx, wdx2, 12, 0);
    tu_lay_close(&t);
}

/* Global pooling of a (2, 2, 2) image: channel 0 = 1, 4, 2, 4 (a tie at
 * pixels 1 and 3), channel 1 = -3, -1, -2, -5. */
static void test_hand_global(void)
{
    const float x[8] = {1, -3, 4, -1, 2, -2, 4, -5};
    tu_lay t;
    tu_lay_open(&t, "GlobalAveragePooling2D()", nn_shape3(2, 2, 2), 1);
    memcpy(t.x, x, sizeof x);
    for (int i = 0; i < 8; i++)
        t.dx[i] = 123.0f;
    tu_lay_forward(&t);
    const float wa[2] = {2.75f, -2.75f};
    tu_assert_close("global avg", t.y, wa, 2, 0);
    t.dy[0] = 4.0f;
    t.dy[1] = -8.0f;
    t.l.ops->backward(&t.l, t.p, t.g, t.x, t.y, t.dy, t.dx, 1, &t.ctx);
    const float wda[8] = {1, -2, 1, -2, 1, -2, 1, -2};
    tu_assert_close("global avg dx", t.dx, wda, 8, 0);
    tu_lay_close(&t);

    /* the first maximum in (h, w) order takes the gradient, once */
    tu_lay_open(&t, "GlobalMaxPooling2D(keepdims=True)", nn_shape3(2, 2, 2), 1);
    memcpy(t.x, x, sizeof x);
    for (int i = 0; i < 8; i++)
        t.dx[i] = 123.0f;
    tu_lay_forward(&t);
    const float wm[2] = {4, -1};
    tu_assert_close("global max", t.y, wm, 2, 0);
    t.dy[0] = 2.0f;
    t.dy[1] = 5.0f;
    t.l.ops->backward(&t.l, t.p, t.g, t.x, t.y, t.dy, t.dx, 1, &t.ctx);
    const float wdm[8] = {0, 0, 2, 5, 0, 0, 0, 0};
    tu_assert_close("global max dx", t.dx, wdm, 8, 0);
    /* under a fused ReLU (mask_relu) a channel whose max is <= 0 passes
     * nothing: relu(x) was all zero there */
    t.l.mask_relu = 1;
    t.dy[0] = 2.0f;
    t.dy[1] = 5.0f;
    t.l.ops->backward(&t.l, t.p, t.g, t.x, t.y, t.dy, t.dx, 1, &t.ctx);
    const float wdr[8] = {0, 0, 2, 0, 0, 0, 0, 0};
    tu_assert_close("global max dx under a ReLU", t.dx, wdr, 8, 0);
    tu_lay_close(&t);
}

/* The rows of a batch run as separate calls (row0), as the executor's
 * threads do: the argmax of each row is its own. */
static void test_global_max_rows(void)
{
    tu_lay t;
    tu_lay_open(&t, "GlobalMaxPooling2D()", nn_shape3(2, 3, 2), 3);
    tu_fill_uniform(t.x, t.nin, 11, -1, 1);
    tu_fill_uniform(t.dy, t.nout, 12, -1, 1);
    tu_lay_forward(&t);
    t.l.ops->backward(&t.l, t.p, t.g, t.x, t.y, t.dy, t.dx, 3, &t.ctx);
    float y[6], dx[36];
    memcpy(y, t.y, sizeof y);
    memcpy(dx, t.dx, sizeof dx);
    memset(t.dx, 0, sizeof dx);
    const size_t in = 12, out = 2;
    for (int r = 2; r >= 0; r--) {   /* rows in reverse: a shared argmax would be overwritten */
        t.ctx.row0 = r;
        t.l.ops->forward(&t.l, t.p, t.x + r * in, t.y + r * out, 1, &t.ctx);
    }
    for (int r = 0; r < 3; r++) {
        t.ctx.row0 = r;
        t.l.ops->backward(&t.l, t.p, t.g, t.x + r * in, t.y + r * out, t.dy + r * out,
                          t.dx + r * in, 1, &t.ctx);
    }
    tu_assert_close("rows y", t.y, y, 6, 0);
    tu_assert_close("rows dx", t.dx, dx, 36, 0);
    t.ctx.row0 = 0;
    tu_lay_close(&t);
}

/* ZeroPadding2D(((0, 2), (3, 1))) of a (1, 2, 1) image [5, 6]: a (3, 6, 1)
 * output with 5, 6 at row 0, columns 3 and 4; dx is the same block of dy. */
static void test_hand_zero_padding(void)
{
    tu_lay t;
    tu_lay_open(&t, "ZeroPadding2D(((0, 2), (3, 1)))", nn_shape3(1, 2, 1), 1);
    CU_ASSERT_FATAL(t.nout == 18);
    t.x[0] = 5.0f;
    t.x[1] = 6.0f;
    for (size_t i = 0; i < t.nout; i++)
        t.y[i] = 99.0f;   /* forward writes the margins too */
    tu_lay_forward(&t);
    float want[18] = {0};
    want[3] = 5.0f;
    want[4] = 6.0f;
    tu_assert_close("zero padding", t.y, want, 18, 0);
    for (size_t i = 0; i < t.nout; i++)
        t.dy[i] = (float)i;
    t.l.ops->backward(&t.l, t.p, t.g, t.x, t.y, t.dy, t.dx, 1, &t.ctx);
    const float wdx[2] = {3, 4};
    tu_assert_close("zero padding dx", t.dx, wdx, 2, 0);
    tu_lay_close(&t);

    /* (1, 2): one row above and below, two columns left and right */
    tu_lay_open(&t, "ZeroPadding2D((1, 2))", nn_shape3(1, 1, 2), 1);
    CU_ASSERT_FATAL(t.l.out.d[0] == 3 && t.l.out.d[1] == 5);
    t.x[0] = 7.0f;
    t.x[1] = 8.0f;
    tu_lay_forward(&t);
    float w2[30] = {0};
    w2[(1 * 5 + 2) * 2] = 7.0f;
    w2[(1 * 5 + 2) * 2 + 1] = 8.0f;
    tu_assert_close("zero padding (1, 2)", t.y, w2, 30, 0);
    tu_lay_close(&t);
}

/* ---- gradient checks ------------------------------------------------------------ */

static void test_gc_avg(void)
{
    gc_ok("AveragePooling2D()", nn_shape3(4, 4, 3), 3, 51);
    gc_ok("AveragePooling2D()", nn_shape3(5, 4, 1), 1, 52);   /* a row left over */
    gc_ok("AveragePooling2D(3, strides=1)", nn_shape3(5, 4, 2), 2, 53);
    gc_ok("AveragePooling2D((2, 3), strides=(1, 2), padding=\"same\")", nn_shape3(5, 8, 2), 3,
          54);
    gc_ok("AveragePooling2D(3, strides=2, padding=\"same\")", nn_shape3(6, 7, 2), 2, 55);
    gc_ok("AveragePooling2D(4, strides=1, padding=\"same\")", nn_shape3(5, 5, 1), 2, 56);
    gc_ok("AveragePooling2D(2, strides=3)", nn_shape3(8, 8, 2), 1, 57);
    gc_ok("AveragePooling2D(5, padding=\"same\")", nn_shape3(3, 3, 2), 2, 58);
    gc_ok("AveragePooling2D(pool_size=8)", nn_shape3(8, 8, 3), 2, 59);
}

static void test_gc_global(void)
{
    gc_ok("GlobalAveragePooling2D()", nn_shape3(3, 4, 5), 3, 61);
    gc_ok("GlobalAveragePooling2D(keepdims=True)", nn_shape3(2, 5, 3), 2, 62);
    gc_ok("GlobalAveragePooling2D()", nn_shape3(1, 1, 4), 2, 63);
    gc_ok("GlobalMaxPooling2D()", nn_shape3(4, 3, 3), 3, 64);
    gc_ok("GlobalMaxPooling2D(keepdims=True)", nn_shape3(3, 3, 2), 2, 65);
    gc_ok("GlobalMaxPooling2D()", nn_shape3(1, 1, 3), 1, 66);
}

static void test_gc_zero_padding(void)
{
    gc_ok("ZeroPadding2D()", nn_shape3(3, 4, 2), 2, 71);
    gc_ok("ZeroPadding2D((1, 2))", nn_shape3(2, 3, 3), 3, 72);
    gc_ok("ZeroPadding2D(((0, 2), (3, 1)))", nn_shape3(3, 2, 2), 2, 73);
    gc_ok("ZeroPadding2D(0)", nn_shape3(2, 2, 1), 1, 74);
}

/* Whole small models, gradients through every layer to the weights below:
 * the ResNet-style stem (ZeroPadding2D, valid conv) and head (average pool,
 * global average), and a ReLU conv under GlobalMaxPooling2D (the fused
 * ReLU mask). */
static void test_gc_models(void)
{
    gc_model_ok("ZeroPadding2D(((1, 0), (2, 1)), input_shape=(5, 4, 2))\n"
                "Conv2D(3, 3, activation=\"tanh\")\n"
                "AveragePooling2D(2, padding=\"same\")\n"
                "Conv2D(4, 1, activation=\"tanh\")\n"
                "GlobalAveragePooling2D()\n"
                "Dense(3, activation=\"softmax\")\n"
                "compile(loss=\"categorical_crossentropy\")\n",
                3, 81);
    gc_model_ok("Conv2D(4, 3, padding=\"same\", activation=\"relu\", input_shape=(5, 4, 2))\n"
                "GlobalMaxPooling2D(keepdims=True)\n"
                "Flatten()\n"
                "Dense(2, activation=\"sigmoid\")\n"
                "compile(loss=\"binary_crossentropy\")\n",
                3, 82);
}

/* ---- models: names, the ReLU fusion, summary -------------------------------------- */

/* An all-convolutional CIFAR-10 style net ending in global average pooling.
 * Keras's counts by hand: Conv2D 3x3 from C to F has 9*C*F + F parameters:
 * 3 -> 16: 448; 16 -> 16: 2,320; 16 -> 32: 4,640; 1x1 32 -> 10: 330. Total
 * 7,738, all trainable. */
static const char *GAP_NET =
    "ZeroPadding2D(1, input_shape=(32, 32, 3))\n"
    "Conv2D(16, (3, 3), activation=\"relu\")\n"
    "Conv2D(16, (3, 3), padding=\"same\", activation=\"relu\")\n"
    "AveragePooling2D()\n"
    "Conv2D(32, (3, 3), padding=\"same\", activation=\"relu\")\n"
    "GlobalMaxPooling2D(keepdims=True)\n"
    "Conv2D(10, 1)\n"
    "GlobalAveragePooling2D()\n"
    "Activation(\"softmax\")\n"
    "compile(loss=\"categorical_crossentropy\", optimizer=\"adam\")\n";

static void test_model_names_summary(void)
{
    nn_model m;
    nn_error e = {0};
    TU_ASSERT_OK(tu_build(GAP_NET, &m, &e), e);
    static const char *const names[] = {"zero_padding2d", "conv2d", "conv2d_1",
                                        "average_pooling2d", "conv2d_2",
                                        "global_max_pooling2d", "conv2d_3",
                                        "global_average_pooling2d", "activation"};
    CU_ASSERT_EQUAL_FATAL(m.nlayers, 9);
    for (int i = 0; i < 9; i++)
        CU_ASSERT_STRING_EQUAL(m.layers[i].name, names[i]);
    CU_ASSERT_EQUAL(m.nparams, 7738);
    CU_ASSERT_EQUAL(nn_model_trainable_params(&m), 7738);
    nn_shape s1 = nn_shape3(34, 34, 3), s3 = nn_shape3(16, 16, 16), s5 = nn_shape3(1, 1, 32),
             s7 = nn_shape1(10);
    CU_ASSERT(nn_shape_eq(&m.layers[0].out, &s1));
    CU_ASSERT(nn_shape_eq(&m.layers[3].out, &s3));
    CU_ASSERT(nn_shape_eq(&m.layers[5].out, &s5));
    CU_ASSERT(nn_shape_eq(&m.layers[7].out, &s7));
    /* the ReLU under the global max hands it its derivative */
    CU_ASSERT(m.layers[4].dy_is_preact && m.layers[5].mask_relu);
    CU_ASSERT(!m.layers[2].dy_is_preact && !m.layers[3].mask_relu);   /* average: no */

    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    nn_model_summary(&m, f);
    fclose(f);
    CU_ASSERT(tu_contains(text, " global_average_pooling2d (GlobalAveragePooling2D) (None, 10) "));
    CU_ASSERT(tu_contains(text, " zero_padding2d (ZeroPadding2D)"));
    CU_ASSERT(tu_contains(text, "(None, 34, 34, 3)"));
    CU_ASSERT(tu_contains(text, "(None, 1, 1, 32)"));
    CU_ASSERT(tu_contains(text, "Total params: 7,738\n"));
    CU_ASSERT(tu_contains(text, "Non-trainable params: 0\n"));
    /* the first column fits the longest "name (Type)": the shapes line up */
    const char *a = strstr(text, "(None, 34, 34, 3)"), *b = strstr(text, "(None, 10) ");
    const char *la = a, *lb = b;
    while (la > text && la[-1] != '\n')
        la--;
    while (lb > text && lb[-1] != '\n')
        lb--;
    CU_ASSERT(a && b && a - la == b - lb);
    free(text);
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
    expect_err("AveragePooling2D()", nn_shape1(10), NN_ESHAPE, "AveragePooling2D 't'",
               "(None, 10)");
    expect_err("AveragePooling2D(5)", nn_shape3(4, 6, 1), NN_ESHAPE, "(None, 4, 6, 1)",
               "pool_size (5, 5)");
    expect_err("AveragePooling2D((2, 7))", nn_shape3(4, 6, 1), NN_ESHAPE, "valid",
               "width >= 7");
    expect_err("AveragePooling2D(2, padding=\"full\")", img, NN_EINVAL, "\"full\"", "padding");
    expect_err("AveragePooling2D(data_format=\"channels_first\")", img, NN_EINVAL,
               "channels_first", "data_format");
    expect_err("AveragePooling2D(0)", img, NN_EINVAL, "pool_size", "found (0, 0)");
    expect_err("AveragePooling2D(2, strides=-1)", img, NN_EINVAL, "strides", NULL);
    expect_err("AveragePooling2D((2, 2, 2))", img, NN_EINVAL, "pool_size", NULL);
    expect_err("GlobalAveragePooling2D()", nn_shape1(10), NN_ESHAPE,
               "GlobalAveragePooling2D 't'", "(None, 10)");
    expect_err("GlobalMaxPooling2D()", (nn_shape){2, {5, 3, 0, 0}}, NN_ESHAPE, "3-D",
               "(None, 5, 3)");
    expect_err("GlobalMaxPooling2D(data_format=\"channels_first\")", img, NN_EINVAL,
               "channels_first", "GlobalMaxPooling2D");
    expect_err("GlobalAveragePooling2D(keepdims=1)", img, NN_EINVAL, "keepdims",
               "True or False");
    expect_err("ZeroPadding2D()", nn_shape1(10), NN_ESHAPE, "ZeroPadding2D 't'", "(None, 10)");
    expect_err("ZeroPadding2D(-1)", img, NN_EINVAL, "non-negative",
               "found ((-1, -1), (-1, -1))");
    expect_err("ZeroPadding2D(((1, 0), (2, -3)))", img, NN_EINVAL, "non-negative",
               "found ((1, 0), (2, -3))");
    expect_err("ZeroPadding2D((1, 2, 3))", img, NN_EINVAL, "((top, bottom), (left, right))",
               "ZeroPadding2D: padding");
    expect_err("ZeroPadding2D((1, 2, 3))", img, NN_EINVAL, "found (1, 2, 3)", NULL);
    expect_err("ZeroPadding2D(((1, 2), 3))", img, NN_EINVAL, "((top, bottom), (left, right))",
               "found ((1, 2), 3)");
    expect_err("ZeroPadding2D(((1, 2), (3,)))", img, NN_EINVAL, "found ((1, 2), (3,))", NULL);
    expect_err("ZeroPadding2D(1.5)", img, NN_EINVAL, "padding", "found 1.5");
    expect_err("ZeroPadding2D(1.5)", img, NN_EINVAL, "<test>:1:", NULL);
    expect_err("ZeroPadding2D(\"same\")", img, NN_EINVAL, "padding", "found a string");
    expect_err("ZeroPadding2D(data_format=\"channels_first\")", img, NN_EINVAL,
               "channels_first", NULL);
    expect_err("ZeroPadding2D(1000000000)", img, NN_ESHAPE, "2^31", NULL);
}

int main(void)
{
    static const tu_test tests[] = {
        {"registry: Keras, aliases, R", test_registry},
        {"shapes (Keras)", test_shapes},
        {"hand-computed average pooling: same side, count, overlaps", test_hand_avg},
        {"hand-computed global pooling: ties, ReLU mask", test_hand_global},
        {"global max: each row keeps its own argmax", test_global_max_rows},
        {"hand-computed zero padding", test_hand_zero_padding},
        {"gradcheck AveragePooling2D", test_gc_avg},
        {"gradcheck global pooling", test_gc_global},
        {"gradcheck ZeroPadding2D", test_gc_zero_padding},
        {"gradcheck small models", test_gc_models},
        {"names, ReLU fusion and summary of a GAP net", test_model_names_summary},
        {"errors", test_errors},
        {NULL, NULL},
    };
    return tu_main("layers_pool", tests);
}
