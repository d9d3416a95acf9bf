/* Owns Conv2D's products under mixed_bfloat16 (see conv_bf16.h): the fp32
 * column path (conv2d.c) with each sgemm replaced by nn_gemm_bf16, so the
 * columns and the kernel are rounded to bf16 as they are packed and every
 * output sums its products in fp32. The output pixels of the whole batch are
 * taken in blocks of R rows whose columns (R x K floats, about 256 KiB) stay
 * in L2 from im2col to their packing, and from the dx product to col2im: a
 * batch's columns streamed through memory ran the products at half their
 * rate, and whole images (1.2 MB each on a 32x32x32 input) do not fit. A 1x1,
 * stride-1 layer's input is its column matrix. The workspace holds a block's
 * columns and behind them, 64-byte aligned, the packed operands. */
#include <string.h>

#include "core/gemm_bf16.h"
#include "layers/conv_bf16.h"

#define COLS_BYTES (256u << 10)

/* Output pixels per block. */
static long block_rows(const nn_conv *c)
{
    long r = (long)(COLS_BYTES / (nn_conv_geom_k(&c->g) * sizeof(float)));
    return r < 16 ? 16 : r;
}

static size_t cols_bytes(const nn_conv *c)
{
    size_t n = c->direct ? 0 : (size_t)block_rows(c) * nn_conv_geom_k(&c->g) * sizeof(float);
    return (n + 63) & ~(size_t)63;
}

size_t nn_conv_bf16_work_bytes(const nn_conv *c)
{
    int R = (int)block_rows(c), K = (int)nn_conv_geom_k(&c->g), F = c->F;
    size_t f = nn_gemm_bf16_work_bytes(R, K, F);   /* y = col W */
    size_t w = nn_gemm_bf16_work_bytes(K, R, F);   /* dW += col^T dy */
    size_t x = nn_gemm_bf16_work_bytes(R, F, K);   /* dcol = dy W^T */
    return cols_bytes(c) + (f > w ? (f > x ? f : x) : (w > x ? w : x));
}

void nn_conv_bf16_forward(const nn_layer *l, const float *p /* (KH,KW,C,F), (F) */,
                          const float *x /* (B, H, W, C) */, float *y /* (B, OH, OW, F) */,
                          int B, float *work)
{
    const nn_conv *c = l->priv;
    const nn_conv_geom *g = &c->g;
    const int F = c->F, K = (int)nn_conv_geom_k(g);
    const long T = (long)B * g->OH * g->OW, R = block_rows(c);
    void *gw = (char *)work + cols_bytes(c);
    for (long q0 = 0; q0 < T; q0 += R) {
        int n = (int)(T - q0 < R ? T - q0 : R);
        const float *col = x + (size_t)q0 * K;   /* direct: the input rows */
        float *yq = y + (size_t)q0 * F;
        if (!c->direct) {
            nn_im2col_rows(g, x, q0, n, work);
            col = work;
        }
        nn_gemm_bf16(n, F, K, col, K, p, F, 0.0f, yq, F, gw);
        nn_conv_bias_act(l, p + (size_t)K * F, yq, (size_t)n);
    }
}

void nn_conv_bf16_backward(const nn_layer *l, const float *p /* (KH,KW,C,F), (F) */,
                           float *gr /* dkernel, dbias */, const float *x /* (B, H, W, C) */,
                           const float *y /* (B, OH, OW, F) */, float *dy /* (B, OH, OW, F) */,
                           float *dx /* (B, H, W, C) or NULL */, int B, float *work)
{
    const nn_conv *c = l->priv;
    const nn_conv_geom *g = &c->g;
    const int F = c->F, K = (int)nn_conv_geom_k(g);
    const long T = (long)B * g->OH * g->OW, R = block_rows(c);
    float *db = gr && c->use_bias ? gr + (size_t)K * F : NULL;
    void *gw = (char *)work + cols_bytes(c);
    nn_conv_bias_grad(l, y, dy, db, (size_t)T);
    if (dx && !c->direct)   /* col2im adds; the direct path overwrites */
        memset(dx, 0, (size_t)B * g->H * g->W * g->C * sizeof *dx);
    for (long q0 = 0; q0 < T; q0 += R) {
        int n = (int)(T - q0 < R ? T - q0 : R);
        const float *dyq = dy + (size_t)q0 * F, *col = x + (size_t)q0 * K;
        if (gr) {   /* dW += col^T dy */
            if (!c->direct) {
                nn_im2col_rows(g, x, q0, n, work);
                col = work;
            }
            nn_gemm_bf16_t(1, 0, K, F, n, col, K, dyq, F, 1.0f, gr, F, gw);
        }
        if (!dx)
            continue;
        if (c->direct) {   /* dx = dy W^T */
            nn_gemm_bf16_t(0, 1, n, K, F, dyq, F, p, F, 0.0f, dx + (size_t)q0 * K, K, gw);
        } else {   /* dcol = dy W^T in the columns' place, then added into dx */
            nn_gemm_bf16_t(0, 1, n, K, F, dyq, F, p, F, 0.0f, work, K, gw);
            nn_col2im_add_rows(g, work, q0, n, dx);
        }
    }
}
