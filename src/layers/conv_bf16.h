/* Conv2D under mixed_bfloat16 (conv_bf16.c): im2col and the bf16 product
 * (core/gemm_bf16.h) for the forward, dW and dx (then col2im), in blocks of
 * output pixels. Internal to the library. */
#ifndef NNTRAIN_CONV_BF16_H
#define NNTRAIN_CONV_BF16_H

#include <stddef.h>

#include "layers/conv_common.h"

/* Workspace for c: a block's columns, then the packed operands of the
 * largest of the three products (whatever the batch). */
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
