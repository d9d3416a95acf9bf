/* Direct NHWC convolution kernels (conv_direct.c): the three products of a
 * Conv2D without a column matrix. sgemm is poor on these shapes (N = F is
 * 20..64, and the column matrix is written, packed again by OpenBLAS and,
 * for dx, scattered back by col2im); these kernels keep a tile of output
 * pixels x 16-32 channels in vector registers and read the NHWC input where
 * it lies. One image at a time, single-threaded (the model's threads split
 * the batch). The kernels are built for AVX-512, AVX2+FMA and plain
 * vectors, whatever the build's -march; conv_dispatch.c picks the best the
 * CPU has at the first call (NNTRAIN_ISA=avx512|avx2|generic overrides),
 * so a portable build is as fast and a login node's build runs on any
 * compute node. Internal to the library. */
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

/* The instruction set in use ("avx512", "avx2", "generic"), chosen at the
 * first call of any of these functions. */
const char *nn_dconv_isa(void);

/* Workspace bytes for one image (padded input or dy, repacked kernel). */
size_t nn_dconv_work_bytes(const nn_conv_geom *g, int F);

/* y (n, OH, OW, F) = x (n, H, W, C) * w (KH, KW, C, F) + bias (F or NULL),
 * then act (ReLU and linear fused into the store). */
void nn_dconv_forward(const nn_conv_geom *g, int F, const float *w, const float *bias,
                      nn_act act, const float *x, int n, float *y, float *work);

/* The backward of nn_dconv_forward, one image at a time in the workspace:
 * dy (n, OH, OW, F; scratch) goes through act's derivative (from its output
 * y; NN_ACT_LINEAR when dy already is dL/dz), then
 *   db (F) += its sums, dw (KH, KW, C, F) += the correlation of x with it,
 *   dx (n, H, W, C) = its full correlation with the kernel rotated by 180
 *   degrees and transposed in its channels (overwritten; stride 1 only).
 * dw, db and dx may each be NULL. */
void nn_dconv_backward(const nn_conv_geom *g, int F, nn_act act, const float *w,
                       const float *x, const float *y, float *dy, int n, float *dw, float *db,
                       float *dx, float *work);

/* The variants behind them: NN_ISA_FN(name) is name_<isa> (conv_direct.c). */
#define NN_ISA_CAT2(a, b) a##_##b
#define NN_ISA_CAT(a, b) NN_ISA_CAT2(a, b)
#define NN_ISA_FN(name) NN_ISA_CAT(name, NN_ISA)
#define NN_DCONV_DECLARE(isa)                                                              \
    size_t nn_dconv_work_bytes_##isa(const nn_conv_geom *g, int F);                        \
    void nn_dconv_forward_##isa(const nn_conv_geom *g, int F, const float *w,              \
                                const float *bias, nn_act act, const float *x, int n,      \
                                float *y, float *work);                                    \
    void nn_dconv_backward_##isa(const nn_conv_geom *g, int F, nn_act act, const float *w, \
                                 const float *x, const float *y, float *dy, int n,         \
                                 float *dw, float *db, float *dx, float *work);
NN_DCONV_DECLARE(generic)
NN_DCONV_DECLARE(avx2)
NN_DCONV_DECLARE(avx512)

#endif
