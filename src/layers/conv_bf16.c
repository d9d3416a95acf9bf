/* Owns Conv2D's products under mixed_bfloat16 (see conv_bf16.h): the fp32
 * column path (conv2d.c) with each sgemm replaced by nn_gemm_bf16, so the
 * columns and the kernel are rounded to bf16 as they are packed and every
 * output sums its products in fp32. The direct and Winograd kernels stay
 * fp32 only. The workspace holds a chunk's fp32 columns (none for a 1x1,
 * stride-1 layer, whose input is its column matrix) and behind them, 64-byte
 * aligned, the packed operands. */
#include <string.h>

#include "core/gemm_bf16.h"
#include "layers/conv_bf16.h"

static size_t cols_bytes(const nn_conv *c)
{
    if (c->direct)
        return 0;
    size_t n = (size_t)c->chunk * c->g.OH * c->g.OW * nn_conv_geom_k(&c->g) * sizeof(float);
    return (n + 63) & ~(size_t)63;
}

/* A chunk's columns stay in L2 between im2col and their packing: the
 * whole batch's (the fp32 path's chunk) streamed through memory ran the
 * products at half the rate. */
#ifndef BF16_COLS_CAP
#define BF16_COLS_CAP (256u << 10)
#endif

size_t nn_conv_bf16_plan(nn_conv *c)
{
    size_t per = (size_t)c->g.OH * c->g.OW * nn_conv_geom_k(&c->g) * sizeof(float);
    size_t n = BF16_COLS_CAP / per;
    if (!c->direct && (size_t)c->chunk > n)
        c->chunk = n > 1 ? (int)n : 1;
    return nn_conv_bf16_work_bytes(c);
}

size_t nn_conv_bf16_work_bytes(const nn_conv *c)
{
    int M = c->chunk * c->g.OH * c->g.OW, K = (int)nn_conv_geom_k(&c->g), F = c->F;
    size_t f = nn_gemm_bf16_work_bytes(M, K, F);   /* y = col W */
    size_t w = nn_gemm_bf16_work_bytes(K, M, F);   /* dW += col^T dy */
    size_t x = nn_gemm_bf16_work_bytes(M, F, K);   /* dcol = dy W^T */
    return cols_bytes(c) + (f > w ? (f > x ? f : x) : (w > x ? w : x));
}

void nn_conv_bf16_forward(const nn_layer *l, const float *p /* (KH,KW,C,F), (F) */,
                          const float *x /* (B, H, W, C) */, float *y /* (B, OH, OW, F) */,
                          int B, float *work)
{
    const nn_conv *c = l->priv;
    const nn_conv_geom *g = &c->g;
    const int F = c->F, K = (int)nn_conv_geom_k(g), P = g->OH * g->OW;
    const size_t xin = (size_t)g->H * g->W * g->C;
    void *gw = (char *)work + cols_bytes(c);
    for (int b0 = 0; b0 < B; b0 += c->chunk) {
        int n = B - b0 < c->chunk ? B - b0 : c->chunk, M = n * P;
        const float *col = x + (size_t)b0 * xin;
        float *yc = y + (size_t)b0 * P * F;
        if (!c->direct) {
            nn_im2col(g, col, n, work);
            col = work;
        }
        nn_gemm_bf16(M, F, K, col, K, p, F, 0.0f, yc, F, gw);
        nn_conv_bias_act(l, p + (size_t)K * F, yc, (size_t)M);
    }
}

void nn_conv_bf16_backward(const nn_layer *l, const float *p /* (KH,KW,C,F), (F) */,
                           float *gr /* dkernel, dbias */, const float *x /* (B, H, W, C) */,
                           const float *y /* (B, OH, OW, F) */, float *dy /* (B, OH, OW, F) */,
                           float *dx /* (B, H, W, C) or NULL */, int B, float *work)
{
    const nn_conv *c = l->priv;
    const nn_conv_geom *g = &c->g;
    const int F = c->F, K = (int)nn_conv_geom_k(g), P = g->OH * g->OW;
    const size_t xin = (size_t)g->H * g->W * g->C;
    float *db = gr && c->use_bias ? gr + (size_t)K * F : NULL;
    void *gw = (char *)work + cols_bytes(c);
    nn_conv_bias_grad(l, y, dy, db, (size_t)B * P);
    if (dx && !c->direct)   /* col2im adds; the direct path overwrites */
        memset(dx, 0, (size_t)B * xin * sizeof *dx);
    for (int b0 = 0; b0 < B; b0 += c->chunk) {
        int n = B - b0 < c->chunk ? B - b0 : c->chunk, M = n * P;
        const float *dyc = dy + (size_t)b0 * P * F, *col = x + (size_t)b0 * xin;
        if (gr) {   /* dW += col^T dy */
            if (!c->direct) {
                nn_im2col(g, col, n, work);
                col = work;
            }
            nn_gemm_bf16_t(1, 0, K, F, M, col, K, dyc, F, 1.0f, gr, F, gw);
        }
        if (!dx)
            continue;
        if (c->direct) {   /* dx = dy W^T */
            nn_gemm_bf16_t(0, 1, M, K, F, dyc, F, p, F, 0.0f, dx + (size_t)b0 * xin, K, gw);
        } else {   /* dcol = dy W^T in the columns' place, then added into dx */
            nn_gemm_bf16_t(0, 1, M, K, F, dyc, F, p, F, 0.0f, work, K, gw);
            nn_col2im_add(g, work, n, dx + (size_t)b0 * xin);
        }
    }
}
