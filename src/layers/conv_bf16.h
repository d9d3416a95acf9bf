/* Conv2D under mixed_bfloat16 (conv_bf16.c): im2col and the bf16 product
 * (core/gemm_bf16.h) for the forward, dW and dx (then col2im), in chunks of
 * images as the fp32 column path. Internal to the library. */
#ifndef NNTRAIN_CONV_BF16_H
#define NNTRAIN_CONV_BF16_H

#include <stddef.h>

#include "layers/conv_common.h"

/* plan(), after nn_conv_plan_chunks: fewer images per chunk where their
 * columns would leave the cache; returns nn_conv_bf16_work_bytes. */
size_t nn_conv_bf16_plan(nn_conv *c);

/* Workspace for c's chunk (after nn_conv_plan_chunks): the columns, then the
 * packed operands of the largest of the three products. */
size_t nn_conv_bf16_work_bytes(const nn_conv *c);

/* As Conv2D's forward: x (B, H, W, C) -> y (B, OH, OW, F), bias and
 * activation included. */
void nn_conv_bf16_forward(const nn_layer *l, const float *p, const float *x, float *y, int B,
                          float *work);

/* As Conv2D's backward after the kept pre-activation is restored: dy (B, OH,
 * OW, F) through the activation, db and dW (gr NULL: none) accumulated, dx
 * (NULL: none) overwritten. */
void nn_conv_bf16_backward(const nn_layer *l, const float *p, float *gr, const float *x,
                           const float *y, float *dy, float *dx, int B, float *work);

#endif
