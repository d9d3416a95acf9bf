/* NHWC im2col / col2im for Conv2D. One row of the column matrix holds the
 * receptive field of one output pixel in (kh, kw, c) order, so it lines up
 * with a HWIO kernel viewed as [KH*KW*C x F] and col * W is the NHWC output
 * with no transposes. In NHWC the taps of one kernel row are adjacent in
 * memory (KW*C floats), so each kernel row is one memcpy; padding is zeros.
 * Internal to the library (src/), not a public header. */
#ifndef NNTRAIN_IM2COL_H
#define NNTRAIN_IM2COL_H

#include <stddef.h>

/* Geometry of one 2-D cross-correlation (no dilation). */
typedef struct nn_conv_geom {
    int H, W, C;    /* input image */
    int KH, KW;     /* kernel window */
    int SH, SW;     /* strides */
    int PT, PL;     /* zero padding on the top and left (bottom/right follow) */
    int OH, OW;     /* output image */
} nn_conv_geom;

/* Columns per row of the column matrix: KH*KW*C. */
size_t nn_conv_geom_k(const nn_conv_geom *g);

/* Output length and leading pad along one axis of input length n, window k,
 * stride s (TensorFlow convention: "same" puts the smaller half of the
 * padding first); 0 when a "valid" window does not fit. */
long nn_conv_out_len(long n, int k, int s, int same, int *pad_lo);

/* x (n, H, W, C) -> col (n*OH*OW, KH*KW*C); padded taps are written as 0. */
void nn_im2col(const nn_conv_geom *g, const float *x, int n, float *col);

/* Rows [q0, q0 + rows) of nn_im2col's column matrix (q counts output pixels
 * over the images: image q / (OH*OW)): a block of columns that stays in
 * cache. */
void nn_im2col_rows(const nn_conv_geom *g, const float *x, long q0, long rows, float *col);

/* col (rows, KH*KW*C), rows [q0, q0 + rows) of a column matrix, is added
 * into dx (n, H, W, C), as nn_col2im_add. */
void nn_col2im_add_rows(const nn_conv_geom *g, const float *col, long q0, long rows,
                        float *dx);

/* col (n*OH*OW, KH*KW*C) is added into dx (n, H, W, C); taps that fall in the
 * padding are dropped. dx is NOT zeroed here (the caller does that once). */
void nn_col2im_add(const nn_conv_geom *g, const float *col, int n, float *dx);

/* Cap on the column buffer Conv2D plans per layer (bytes); the batch is cut
 * into chunks of whole images so that one chunk fits, with at least one image
 * per chunk whatever the cap. Default 2 MiB (L2). nn_im2col_set_cap(0) restores
 * the default; it returns the previous cap. Read at plan time, so tests can
 * force tiny chunks. Not thread-safe: set it before building models. */
size_t nn_im2col_cap(void);
size_t nn_im2col_set_cap(size_t bytes);

#endif
