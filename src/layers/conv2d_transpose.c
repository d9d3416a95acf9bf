/* Owns the Conv2DTranspose layer (Keras), channels_last. The layer is the gradient (adjoint)
 * of a Conv2D that maps its OUTPUT (OH, OW, F) back to its input (H, W, C)
 * with the same kernel, strides and padding; TensorFlow defines it that way
 * (conv2d_backprop_input), which fixes the padding side: "same" pads that
 * Conv2D as TF does, the smaller half on the top/left. The Keras kernel
 * (KH, KW, F, C) is exactly that Conv2D's HWIO kernel, viewed as [K x C]
 * with K = KH*KW*F, so it loads as-is. With the Conv2D's im2col geometry:
 *   forward   col = x W^T [n*H*W x K], then col2im add into y (zeroed)
 *   backward  col = im2col(dy); dx = col W; dW += col^T x; db = sums of dy
 * One sgemm per chunk of images; the column buffer is the workspace, chunked
 * under nn_im2col_cap(). 1x1 / stride 1 needs no columns. Output size as in
 * Keras's deconv_output_length; output_padding is supported. */
#include <limits.h>
#include <string.h>

#include "layers/conv_common.h"
#include "layers/layer_util.h"
#include "nntrain/gemm.h"

/* C: input channels; g: the adjoint Conv2D (OH, OW, F) -> (H, W, C). */
typedef nn_conv deconv;

static const char *const deconv_args[] = {
    "filters", "kernel_size", "strides", "padding", "output_padding", "activation",
    "use_bias", "kernel_initializer", "bias_initializer", "data_format", "dilation_rate",
    NULL};

static int deconv_create(nn_layer *l, nn_args *a, nn_error *e)
{
    return nn_conv_create(l, a, 1, "Conv2DTranspose(16, (3, 3), strides=2)", e);
}

/* Keras deconv_output_length along one axis: input n, kernel k, stride s,
 * output padding op (has_op = 0: None). long: no overflow for int inputs. */
static long deconv_len(int n, int k, int s, int same, int has_op, int op)
{
    if (has_op)
        return (long)(n - 1) * s + k - (same ? 2 * (k / 2) : 0) + op;
    if (same)
        return (long)n * s;
    return (long)n * s + (k > s ? k - s : 0);
}

static int deconv_configure(nn_layer *l, nn_error *e)
{
    deconv *c = l->priv;
    char buf[64], w[96];
    int rc = nn_layer_need_image(l, e);
    if (rc)
        return rc;
    int H = l->in.d[0], W = l->in.d[1];
    c->C = l->in.d[2];
    long OH = deconv_len(H, c->KH, c->SH, c->same, c->has_op, c->OPH);
    long OW = deconv_len(W, c->KW, c->SW, c->same, c->has_op, c->OPW);
    nn_conv_geom *g = &c->g;
    g->KH = c->KH;
    g->KW = c->KW;
    g->SH = c->SH;
    g->SW = c->SW;
    g->C = c->F;
    long bh = nn_conv_out_len(OH, c->KH, c->SH, c->same, &g->PT);
    long bw = nn_conv_out_len(OW, c->KW, c->SW, c->same, &g->PL);
    /* TensorFlow refuses an output the adjoint Conv2D would not map back to
     * the input (only reachable with output_padding). */
    if (OH < 1 || OW < 1 || bh != H || bw != W)
        return nn_err(e, NN_ESHAPE, "%s: input %s with kernel_size (%d, %d), strides "
                      "(%d, %d), padding=\"%s\" and output_padding (%d, %d) gives an output "
                      "of %ld x %ld, which a Conv2D with the same settings maps to %ld x %ld, "
                      "expected %d x %d (TensorFlow rejects this too): change "
                      "output_padding", nn_layer_who(l, w, sizeof w),
                      nn_shape_str(&l->in, buf, sizeof buf), c->KH, c->KW, c->SH, c->SW,
                      c->same ? "same" : "valid", c->OPH, c->OPW, OH, OW, bh, bw, H, W);
    size_t K = (size_t)c->KH * c->KW * c->F, P = (size_t)H * W;
    if (OH > INT_MAX || OW > INT_MAX || (size_t)OH * (size_t)OW * c->F > INT_MAX ||
        K * c->C > INT_MAX || P * (K > (size_t)c->C ? K : (size_t)c->C) > INT_MAX)
        return nn_err(e, NN_ESHAPE, "%s: input %s with kernel_size (%d, %d) and %d filters "
                      "is too large (more than 2^31 elements per sample)",
                      nn_layer_who(l, w, sizeof w), nn_shape_str(&l->in, buf, sizeof buf),
                      c->KH, c->KW, c->F);
    g->H = (int)OH;
    g->W = (int)OW;
    g->OH = H;
    g->OW = W;
    c->direct = c->KH == 1 && c->KW == 1 && c->SH == 1 && c->SW == 1;
    l->out = nn_shape3(g->H, g->W, c->F);
    l->param_len = K * c->C + (c->use_bias ? (size_t)c->F : 0);
    return NN_OK;
}

static int deconv_plan(nn_layer *l, int batch_max, size_t *work_bytes, nn_error *e)
{
    deconv *c = l->priv;
    size_t P = (size_t)c->g.OH * c->g.OW, Q = (size_t)c->g.H * c->g.W;
    nn_conv_plan_chunks(c, batch_max, P > Q ? P : Q, work_bytes);  /* M: n*P and n*Q */
    return nn_layer_plan_z(l, batch_max, e);
}

static void deconv_forward(nn_layer *l, const float *p /* kernel (KH,KW,F,C), bias (F) */,
                           const float *x /* (B, H, W, C) */,
                           float *y /* (B, OH, OW, F) */, int B, nn_ctx *ctx)
{
    const deconv *c = l->priv;
    const nn_conv_geom *g = &c->g;
    const int F = c->F, C = c->C, K = (int)nn_conv_geom_k(g), P = g->OH * g->OW;
    const size_t Q = (size_t)g->H * g->W;   /* output pixels per image */
    const float *bias = p + (size_t)K * C;
    int chunk = c->chunk;
    for (int b0 = 0; b0 < B; b0 += chunk) {
        int n = B - b0 < chunk ? B - b0 : chunk, M = n * P;
        const float *xc = x + (size_t)b0 * P * C;
        float *yc = y + (size_t)b0 * Q * F;
        if (c->direct) {
            nn_sgemm(0, 1, M, F, C, 1.0f, xc, C, p, C, 0.0f, yc, F);
        } else {
            nn_sgemm(0, 1, M, K, C, 1.0f, xc, C, p, C, 0.0f, ctx->work, K);
            memset(yc, 0, (size_t)n * Q * F * sizeof *yc);
            nn_col2im_add(g, ctx->work, n, yc);
        }
        nn_conv_bias_act(l, bias, yc, (size_t)n * Q);
    }
    nn_layer_act_keep(l, y, ctx->row0, B);
}

static void deconv_backward(nn_layer *l, const float *p /* kernel (KH,KW,F,C), bias (F) */,
                            float *gr /* dkernel, dbias */, const float *x /* (B, H, W, C) */,
                            const float *y /* (B, OH, OW, F) */,
                            float *dy /* (B, OH, OW, F) */,
                            float *dx /* (B, H, W, C) or NULL */, int B, nn_ctx *ctx)
{
    const deconv *c = l->priv;
    const nn_conv_geom *g = &c->g;
    const int F = c->F, C = c->C, K = (int)nn_conv_geom_k(g), P = g->OH * g->OW;
    const size_t Q = (size_t)g->H * g->W;
    nn_layer_act_grad_z(l, dy, ctx->row0, B);
    nn_conv_bias_grad(l, y, dy, gr ? gr + (size_t)K * C : NULL, (size_t)B * Q);
    if (!gr && !dx)
        return;
    int chunk = c->chunk;
    for (int b0 = 0; b0 < B; b0 += chunk) {
        int n = B - b0 < chunk ? B - b0 : chunk, M = n * P;
        const float *col = dy + (size_t)b0 * Q * F;   /* direct: dy is the column matrix */
        if (!c->direct) {
            nn_im2col(g, col, n, ctx->work);
            col = ctx->work;
        }
        if (dx)
            nn_sgemm(0, 0, M, C, K, 1.0f, col, K, p, C, 0.0f, dx + (size_t)b0 * P * C, C);
        if (gr)
            nn_sgemm(1, 0, K, C, M, 1.0f, col, K, x + (size_t)b0 * P * C, C, 1.0f, gr, C);
    }
}

const nn_layer_ops nn_conv2d_transpose_ops = {
    .kind = "Conv2DTranspose",
    .arg_names = deconv_args,
    .arg_aliases = NULL,
    .create = deconv_create,
    .configure = deconv_configure,
    .param_specs = nn_conv_param_specs,
    .init_params = nn_conv_init_params,
    .plan = deconv_plan,
    .forward = deconv_forward,
    .backward = deconv_backward,
    .destroy = NULL,   /* frees priv */
    .fusion = &nn_layer_fuses_act,
};
