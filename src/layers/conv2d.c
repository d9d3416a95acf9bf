/* Owns the Conv2D layer (Keras), channels_last: NHWC input, HWIO kernel,
 * im2col + one sgemm per chunk of images. The column matrix
 * [n*OH*OW x KH*KW*C] times the kernel viewed as [KH*KW*C x F] is the output
 * [n*OH*OW x F], already NHWC; a Keras kernel loads as-is. Backward
 * recomputes the columns per chunk: dW += col^T dy, db += column sums of dy,
 * dcol = dy W^T then col2im. The batch is cut into chunks so the column
 * buffer (the layer's workspace) stays under nn_im2col_cap(). 1x1 / stride 1
 * / valid needs no columns at all: the NHWC input already is the column
 * matrix. Cross-correlation (no flip). Shared steps: conv_common.c; the
 * direct kernels: conv_direct.c; under mixed_bfloat16 (l->bf16) the column
 * path with bf16 products: conv_bf16.c. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "layers/conv_bf16.h"
#include "layers/conv_common.h"
#include "layers/conv_direct.h"
#include "layers/conv_winograd.h"
#include "layers/layer_util.h"
#include "nntrain/gemm.h"

typedef nn_conv conv;

static const char *const conv_args[] = {
    "filters", "kernel_size", "strides", "padding", "activation", "use_bias",
    "kernel_initializer", "bias_initializer", "data_format", "dilation_rate", NULL};

static int conv_create(nn_layer *l, nn_args *a, nn_error *e)
{
    return nn_conv_create(l, a, 0, "Conv2D(32, (3, 3))", e);
}

/* Input channels from which Conv2D takes the mixed_bfloat16 policy, and
 * input x output channels from which it does by default: below, its
 * columns cost more than the bf16 products save (scripts/bf16_layers.c,
 * one Zen 5 core, forward + backward against the direct kernels: 16 -> 16
 * 0.52x, 16 -> 32 strided 0.96x, 32 -> 32 0.90-0.91x; 32 -> 64 1.21-1.29x,
 * 64 -> 64 1.22-1.62x), and Winograd is then open to it. */
enum { BF16_MIN_C = 8, BF16_MIN_CF = 2048 };

/* NNTRAIN_BF16_CONV=all: every Conv2D from BF16_MIN_C channels in takes
 * the policy, as in Keras (and the tests of the bf16 kernels). */
static int bf16_pays(const nn_conv_geom *g, int F)
{
    const char *v = getenv("NNTRAIN_BF16_CONV");
    return (v && !strcmp(v, "all")) || (long)g->C * F >= BF16_MIN_CF;
}

/* The multiplies F(4x4, 3x3) saves on a product whose output plane is
 * H x W: the direct count (9 per pixel) over Winograd's (36 per 4x4 tile,
 * whole tiles). 4 on planes of whole tiles, 2.25 on 3x3 (one tile, 9 of
 * its 16 outputs used), 1.56 on 5x5 (four tiles for 25 outputs). */
static double f43_saving(int H, int W)
{
    return 9.0 * H * W / (36.0 * ((H + 3) / 4) * ((W + 3) / 4));
}

/* Which of the layer's products (NN_WINO_* bits) run by Winograd, with
 * tile *m (2 or 4). Forced (winograd, winograd4): all three. auto: each
 * product by F(4x4, 3x3) where its channels in and out are both 16 or
 * more and it saves at least 2x the multiplies; measured one product at a
 * time (scripts/bench_wconv.c: AMD EPYC, AVX-512, one thread, 32-64
 * images, best of 21) against the direct kernels: 1.4-2.8x with 16 to 64
 * channels on planes of 4x4 to 32x32, 4.2x on the 3x3 forward of the MNIST
 * CNN (the direct forward takes columns there), 1.2x on the 6x6 dx plane
 * of a 4x4 output (saving 2.25) but 0.85x on the 5x5 one of a 3x3 output
 * (saving 1.56); from 8 channels 0.9-1.1x, and 0.4x from 3, where the
 * transforms cost about what the products save. */
enum { NN_WINO_FWD = 1, NN_WINO_DX = 2, NN_WINO_DW = 4 };

static unsigned winograd_products(const nn_conv_geom *g, int F, int *m)
{
    *m = 4;
    switch (nn_conv_get_algo()) {
    case NN_CONV_ALGO_WINOGRAD: *m = 2; return NN_WINO_FWD | NN_WINO_DX | NN_WINO_DW;
    case NN_CONV_ALGO_WINOGRAD4: return NN_WINO_FWD | NN_WINO_DX | NN_WINO_DW;
    case NN_CONV_ALGO_AUTO: break;
    default: return 0;
    }
    if (g->C < 16 || F < 16)
        return 0;
    unsigned on = 0;
    if (f43_saving(g->OH, g->OW) >= 2)   /* the forward and dW tile the output */
        on |= NN_WINO_FWD | NN_WINO_DW;
    if (f43_saving(g->H, g->W) >= 2)     /* dx tiles the input */
        on |= NN_WINO_DX;
    return on;
}

static int conv_configure(nn_layer *l, nn_error *e)
{
    conv *c = l->priv;
    char buf[64], w[96];
    int rc = nn_layer_need_image(l, e);
    if (rc)
        return rc;
    nn_conv_geom *g = &c->g;
    g->H = l->in.d[0];
    g->W = l->in.d[1];
    g->C = c->C = l->in.d[2];
    g->KH = c->KH;
    g->KW = c->KW;
    g->SH = c->SH;
    g->SW = c->SW;
    g->OH = (int)nn_conv_out_len(g->H, c->KH, c->SH, c->same, &g->PT);
    g->OW = (int)nn_conv_out_len(g->W, c->KW, c->SW, c->same, &g->PL);
    if (g->OH < 1 || g->OW < 1)
        return nn_err(e, NN_ESHAPE, "%s: kernel_size (%d, %d) is larger than the input "
                      "%s with padding=\"valid\": expected height >= %d and width >= %d "
                      "(or padding=\"same\")", nn_layer_who(l, w, sizeof w), c->KH, c->KW,
                      nn_shape_str(&l->in, buf, sizeof buf), c->KH, c->KW);
    size_t K = nn_conv_geom_k(g), P = (size_t)g->OH * g->OW;
    if (K * c->F > INT_MAX || P * (K > (size_t)c->F ? K : (size_t)c->F) > INT_MAX ||
        (size_t)g->H * g->W * g->C > INT_MAX)
        return nn_err(e, NN_ESHAPE, "%s: input %s with kernel_size (%d, %d) and %d filters "
                      "is too large (more than 2^31 elements per sample)",
                      nn_layer_who(l, w, sizeof w), nn_shape_str(&l->in, buf, sizeof buf),
                      c->KH, c->KW, c->F);
    c->direct = c->KH == 1 && c->KW == 1 && c->SH == 1 && c->SW == 1;
    c->dconv = !c->direct && nn_dconv_usable(g, c->F);
    /* Forward and dx tiles run along an output row: a row of a few pixels
     * leaves them a few accumulators (5x5 -> 3x3 ran at half the im2col
     * rate), so such layers keep the columns for those two products. */
    c->dfwd = c->dconv && g->OW >= 6;
    /* Winograd from 8 filters, as the direct kernels (fewer fill a vector badly) */
    c->wino_on = c->dconv && nn_wconv_usable(g, c->F) ? winograd_products(g, c->F, &c->wino) : 0;
    if (!c->wino_on)
        c->wino = 0;
    /* a pass over a few rows costs the direct forward and dx nothing, and
     * Winograd's kernel transforms are kept from call to call */
    l->rowwise = (c->dfwd || (c->wino_on & NN_WINO_FWD)) &&
                 ((c->dfwd && nn_dconv_dx_usable(g)) || (c->wino_on & NN_WINO_DX));
    /* mixed_bfloat16 from BF16_MIN_C channels in: below, a product of K =
     * KH*KW*C < 72 leaves the bf16 tiles idle (a first layer on 1 or 3
     * channels ran 3-6x slower than the direct kernels), so it keeps fp32
     * products, which are only more exact; so does a layer of fewer
     * channels in x out than BF16_MIN_CF (bf16_pays). Else the columns and
     * bf16 products replace the fp32 kernels. */
    if (l->bf16 && (g->C < BF16_MIN_C || !bf16_pays(g, c->F)))
        l->bf16 = 0;
    if (l->bf16)
        c->dconv = c->dfwd = c->wino = c->wino_on = l->rowwise = 0;
    l->out = nn_shape3(g->OH, g->OW, c->F);
    l->param_len = nn_conv_geom_k(g) * c->F + (c->use_bias ? (size_t)c->F : 0);
    return NN_OK;
}

static int conv_plan(nn_layer *l, int batch_max, size_t *work_bytes, nn_error *e)
{
    conv *c = l->priv;
    /* direct: no columns, chunks only keep M = n*H*W an int; else M = n*OH*OW */
    size_t pix = c->direct ? (size_t)c->g.H * c->g.W : (size_t)c->g.OH * c->g.OW;
    nn_conv_plan_chunks(c, batch_max, pix, work_bytes);
    if (c->dconv) {   /* the columns too for a column forward or a strided dx */
        size_t w = nn_dconv_work_bytes(&c->g, c->F);
        int columns = (!(c->wino_on & NN_WINO_FWD) && !c->dfwd) ||
                      (!(c->wino_on & NN_WINO_DX) && !(c->dfwd && nn_dconv_dx_usable(&c->g)));
        *work_bytes = !columns || w > *work_bytes ? w : *work_bytes;
    }
    nn_wconv_cache_free(c->wcache);
    c->wcache = NULL;
    if (c->wino_on) {
        size_t w = nn_wconv_work_bytes(&c->g, c->F, c->wino, batch_max);
        *work_bytes = w > *work_bytes ? w : *work_bytes;
        if (!(c->wcache = nn_wconv_cache_new(&c->g, c->F, c->wino))) {
            char who[96];
            return nn_err(e, NN_ENOMEM, "%s: out of memory for the Winograd kernel transforms",
                          nn_layer_who(l, who, sizeof who));
        }
    }
    if (l->bf16)
        *work_bytes = nn_conv_bf16_work_bytes(c);
    return nn_layer_plan_z(l, batch_max, e);
}

static void conv_destroy(nn_layer *l)
{
    conv *c = l->priv;
    if (c)
        nn_wconv_cache_free(c->wcache);
    free(c);
}

static void conv_refresh(nn_layer *l, const float *p)
{
    const conv *c = l->priv;
    nn_wconv_cache_refresh(c->wcache, p);
}

static void conv_forward(nn_layer *l, const float *p /* kernel (KH,KW,C,F), bias (F) */,
                         const float *x /* (B, H, W, C) */, float *y /* (B, OH, OW, F) */,
                         int B, nn_ctx *ctx)
{
    const conv *c = l->priv;
    const nn_conv_geom *g = &c->g;
    const int F = c->F, K = (int)nn_conv_geom_k(g), P = g->OH * g->OW;
    const size_t xin = (size_t)g->H * g->W * g->C;
    const float *bias = p + (size_t)K * F;
    if (l->bf16) {
        nn_conv_bf16_forward(l, p, x, y, B, ctx->work);
        nn_layer_act_keep(l, y, ctx->row0, B);
        return;
    }
    if (c->wino_on & NN_WINO_FWD) {
        nn_wconv_forward(g, F, c->wino, p, c->use_bias ? bias : NULL, nn_act_inner(l->act), x, B, y,
                         ctx->work, c->wcache);
        nn_layer_act_keep(l, y, ctx->row0, B);
        return;
    }
    if (c->dfwd) {
        nn_dconv_forward(g, F, p, c->use_bias ? bias : NULL, nn_act_inner(l->act), x, B, y,
                         ctx->work);
        nn_layer_act_keep(l, y, ctx->row0, B);
        return;
    }
    int chunk = c->chunk;
    for (int b0 = 0; b0 < B; b0 += chunk) {
        int n = B - b0 < chunk ? B - b0 : chunk, M = n * P;
        const float *col = x + (size_t)b0 * xin;
        float *yc = y + (size_t)b0 * P * F;
        if (!c->direct) {
            nn_im2col(g, col, n, ctx->work);
            col = ctx->work;
        }
        nn_sgemm(0, 0, M, F, K, 1.0f, col, K, p, F, 0.0f, yc, F);
        nn_conv_bias_act(l, bias, yc, (size_t)M);
    }
    nn_layer_act_keep(l, y, ctx->row0, B);
}

static void conv_backward(nn_layer *l, const float *p /* kernel (KH,KW,C,F), bias (F) */,
                          float *gr /* dkernel, dbias */, const float *x /* (B, H, W, C) */,
                          const float *y /* (B, OH, OW, F) */, float *dy /* (B, OH, OW, F) */,
                          float *dx /* (B, H, W, C) or NULL */, int B, nn_ctx *ctx)
{
    const conv *c = l->priv;
    const nn_conv_geom *g = &c->g;
    const int F = c->F, K = (int)nn_conv_geom_k(g), P = g->OH * g->OW;
    const size_t xin = (size_t)g->H * g->W * g->C;
    float *db = gr && c->use_bias ? gr + (size_t)K * F : NULL;
    nn_layer_act_grad_z(l, dy, ctx->row0, B);
    if (l->bf16) {
        nn_conv_bf16_backward(l, p, gr, x, y, dy, dx, B, ctx->work);
        return;
    }
    int dz = l->dy_is_preact;   /* dy is already dz, and db is done */
    if (c->wino_on & (NN_WINO_DX | NN_WINO_DW)) {   /* dz and db, then Winograd's products */
        nn_conv_bias_grad(l, y, dy, db, (size_t)B * P);
        dz = 1, db = NULL;
        if (gr && (c->wino_on & NN_WINO_DW)) {
            nn_wconv_dw(g, F, c->wino, x, dy, B, gr, ctx->work);
            gr = NULL;
        }
        if (dx && (c->wino_on & NN_WINO_DX)) {
            nn_wconv_dx(g, F, c->wino, p, dy, B, dx, ctx->work, c->wcache);
            dx = NULL;
        }
        if (!gr && !dx)
            return;
    }
    if (c->dconv && (!dx || (c->dfwd && nn_dconv_dx_usable(g)))) {
        nn_dconv_backward(g, F, dz ? NN_ACT_LINEAR : nn_act_inner(l->act), p, x, y, dy, B, gr,
                          db, dx, ctx->work);
        return;
    }
    if (!dz || db)
        nn_conv_bias_grad(l, y, dy, db, (size_t)B * P);
    if (c->dconv) {   /* dW here, dx through the columns below */
        if (gr)
            nn_dconv_backward(g, F, NN_ACT_LINEAR, p, x, y, dy, B, gr, NULL, NULL, ctx->work);
        gr = NULL;
    }
    if (dx && !c->direct)   /* col2im adds; the direct path overwrites */
        memset(dx, 0, (size_t)B * xin * sizeof *dx);
    int chunk = c->chunk;
    for (int b0 = 0; b0 < B; b0 += chunk) {
        int n = B - b0 < chunk ? B - b0 : chunk, M = n * P;
        const float *dyc = dy + (size_t)b0 * P * F;
        if (c->direct) {
            /* dW += x^T dy, dx = dy W^T: no columns needed. */
            if (gr)
                nn_sgemm(1, 0, K, F, M, 1.0f, x + (size_t)b0 * xin, K, dyc, F, 1.0f, gr, F);
            if (dx)
                nn_sgemm(0, 1, M, K, F, 1.0f, dyc, F, p, F, 0.0f, dx + (size_t)b0 * xin, K);
            continue;
        }
        float *col = ctx->work;
        if (gr) {
            nn_im2col(g, x + (size_t)b0 * xin, n, col);
            nn_sgemm(1, 0, K, F, M, 1.0f, col, K, dyc, F, 1.0f, gr, F);
        }
        if (dx) {
            /* The columns are no longer needed: reuse the buffer for dcol. */
            nn_sgemm(0, 1, M, K, F, 1.0f, dyc, F, p, F, 0.0f, col, K);
            nn_col2im_add(g, col, n, dx + (size_t)b0 * xin);
        }
    }
}

/* Multiply-adds per sample: the kernel at every output pixel. */
static double conv_macs(const nn_layer *l)
{
    const conv *c = l->priv;
    return (double)nn_conv_geom_k(&c->g) * c->F * ((double)c->g.OH * c->g.OW);
}

/* Each filter as a (KH, KW, C) image. */
static int conv_weight_image(const nn_layer *l, const nn_shape *image, nn_weight_image *wi)
{
    const conv *c = l->priv;
    (void)image;
    *wi = (nn_weight_image){.tile = nn_shape3(c->KH, c->KW, c->C), .units = c->F, .off = 0,
                            .what = "filters"};
    return 1;
}

static const nn_layer_info_ops conv_info = {
    .macs = conv_macs,
    .weight_image = conv_weight_image,
};

const nn_layer_ops nn_conv2d_ops = {
    .kind = "Conv2D",
    .arg_names = conv_args,
    .arg_aliases = NULL,
    .create = conv_create,
    .configure = conv_configure,
    .param_specs = nn_conv_param_specs,
    .init_params = nn_conv_init_params,
    .plan = conv_plan,
    .forward = conv_forward,
    .backward = conv_backward,
    .destroy = conv_destroy,
    .refresh = conv_refresh,
    .bwd_skips = NN_SKIPS_Y_ACT,
    .fusion = &nn_layer_fuses_act,
    .info = &conv_info,
};
