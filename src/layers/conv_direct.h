/* Direct NHWC convolution kernels (conv_direct.c): the three products of a
 * Conv2D without a column matrix. sgemm is poor on these shapes (N = F is
 * 20..64, and the column matrix is written, packed again by OpenBLAS and,
 * for dx, scattered back by col2im); these kernels keep a tile of output
 * pixels x 16-32 channels in vector registers and read the NHWC input where
 * it lies. One image at a time, single-threaded (the model's threads split
 * the batch). Internal to the library. */
#ifndef NNTRAIN_CONV_DIRECT_H
#define NNTRAIN_CONV_DIRECT_H

#include <stddef.h>

#include "core/im2col.h"
#include "nntrain/activation.h"

/* 1 if the kernels take a convolution g with F filters: F >= 8 (fewer would
 * leave most of a vector idle) and sizes that fit an int. */
int nn_dconv_usable(const nn_conv_geom *g, int F);
/* 1 if dx can be computed directly as well (stride 1). */
int nn_dconv_dx_usable(const nn_conv_geom *g);

/* Workspace bytes for one image (padded input or dy, repacked kernel). */
size_t nn_dconv_work_bytes(const nn_conv_geom *g, int F);

/* y (n, OH, OW, F) = x (n, H, W, C) * w (KH, KW, C, F) + bias (F or NULL),
 * then act (ReLU and linear fused into the store). */
void nn_dconv_forward(const nn_conv_geom *g, int F, const float *w, const float *bias,
                      nn_act act, const float *x, int n, float *y, float *work);

/* dw (KH, KW, C, F) += the correlation of x (n, H, W, C) with
 * dy (n, OH, OW, F). */
void nn_dconv_backward_w(const nn_conv_geom *g, int F, const float *x, const float *dy,
                         int n, float *dw, float *work);

/* dx (n, H, W, C) = dy (n, OH, OW, F) correlated with the kernel rotated by
 * 180 degrees and transposed in its channels (overwrites dx). Stride 1. */
void nn_dconv_backward_x(const nn_conv_geom *g, int F, const float *w, const float *dy,
                         int n, float *dx, float *work);

#endif
