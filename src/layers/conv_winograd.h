/* Winograd F(m x m, 3x3) convolutions for 3x3 stride-1 Conv2D layers
 * (conv_winograd.c), m = 2 or 4: each m x m block of outputs comes from an
 * (m+2) x (m+2) block of input through (m+2)^2 products instead of 9 m^2
 * (16 for 36, or 36 for 144), at the price of transforms and roundings
 * (F(4x4) multiplies by up to 8 and divides by 24: larger errors). The
 * products per position are batched over tiles and channels as products
 * (tiles x Cin) x (Cin x Cout). Forward, the input gradient (the same
 * transform over dy with the kernel rotated by 180 degrees and transposed
 * in its channels) and the weight gradient (the adjoint transforms:
 * G^T [sum over tiles of (B^T d B)^T (A dz A^T)] G). One call runs its n
 * images single-threaded (the model's threads split the batch). Internal to
 * the library. */
#ifndef NNTRAIN_CONV_WINOGRAD_H
#define NNTRAIN_CONV_WINOGRAD_H

#include <stddef.h>

#include "core/im2col.h"
#include "nntrain/activation.h"

/* A layer's transformed kernels for nn_wconv_forward and nn_wconv_dx, kept
 * from call to call and remade when the weights passed differ bitwise from
 * those they were made from; safe to share between concurrent calls on the
 * same weights (weights change only between calls). One per layer, for one
 * (g, F, m). */
typedef struct nn_wconv_cache nn_wconv_cache;

/* A new, empty cache, or NULL when out of memory. */
nn_wconv_cache *nn_wconv_cache_new(const nn_conv_geom *g, int F, int m);
void nn_wconv_cache_free(nn_wconv_cache *cache);   /* NULL: nothing */

/* Remakes now, for w, the transforms that calls have asked the cache for
 * (forward, dx), so that the next calls find them made: the optimizer
 * step's threads call it, one layer each, where the first forward's
 * threads would wait for each other. cache NULL: nothing. */
void nn_wconv_cache_refresh(nn_wconv_cache *cache, const float *w);

/* 1 if the cache holds the forward (dx 0) or dx (dx 1) transform of w. */
int nn_wconv_cache_made(nn_wconv_cache *cache, const float *w, int dx);

/* 1 if g is a 3x3, stride-1 convolution that fits an int per image. */
int nn_wconv_usable(const nn_conv_geom *g, int F);

/* Workspace bytes of nn_wconv_forward and nn_wconv_dx for up to n images. */
size_t nn_wconv_work_bytes(const nn_conv_geom *g, int F, int m, int n);

/* y (n, OH, OW, F) = x (n, H, W, C) * w (3, 3, C, F) + bias (F or NULL),
 * then act (ReLU and linear fused into the output transform). cache: NULL
 * (the kernel is transformed in work) or the layer's (made for g, F, m). */
void nn_wconv_forward(const nn_conv_geom *g, int F, int m, const float *w, const float *bias,
                      nn_act act, const float *x, int n, float *y, float *work,
                      nn_wconv_cache *cache);

/* dx (n, H, W, C) = the input gradient of that convolution for dz (n, OH,
 * OW, F), the gradient of its pre-activation (overwritten). */
void nn_wconv_dx(const nn_conv_geom *g, int F, int m, const float *w, const float *dz, int n,
                 float *dx, float *work, nn_wconv_cache *cache);

/* dw (3, 3, C, F) += the weight gradient of that convolution for x (n, H,
 * W, C) and dz (n, OH, OW, F), the gradient of its pre-activation. */
void nn_wconv_dw(const nn_conv_geom *g, int F, int m, const float *x, const float *dz, int n,
                 float *dw, float *work);

#endif
