/* State and steps shared by Conv2D and Conv2DTranspose (conv_common.c).
 * Each runs one im2col convolution g with the HWIO kernel (KH, KW, g.C, N):
 * Conv2D its own (N = F), Conv2DTranspose the adjoint Conv2D that maps its
 * output back to its input (g.C = F, N = C). Internal to the library. */
#ifndef NNTRAIN_CONV_COMMON_H
#define NNTRAIN_CONV_COMMON_H

#include <stddef.h>

#include "core/im2col.h"
#include "nntrain/layer.h"

typedef struct nn_conv {
    int F, KH, KW, SH, SW, same, use_bias;
    int transpose;          /* Conv2DTranspose */
    int has_op, OPH, OPW;   /* its output_padding (has_op = 0: None) */
    int C;                  /* input channels */
    nn_init kinit, binit;
    nn_conv_geom g;         /* the im2col convolution */
    int direct;             /* 1x1, stride 1: no columns */
    int dconv;              /* Conv2D dW through the direct kernels (conv_direct.h) */
    int dfwd;               /* ... and the forward and (stride 1) dx too */
    int wino;               /* Winograd's tile: F(wino x wino, 3x3), or 0 */
    unsigned wino_on;       /* the products it runs (conv2d.c's NN_WINO_* bits) */
    struct nn_wconv_cache *wcache;   /* its transformed kernels (plan; Conv2D frees it) */
    int chunk;              /* images per chunk (plan) */
} nn_conv;

/* create(): reads and checks the options (output_padding only when
 * transpose; example is the call shown when filters or kernel_size is
 * missing), sets l->act and l->priv. */
int nn_conv_create(nn_layer *l, nn_args *a, int transpose, const char *example,
                   nn_error *e);

/* kernel:0 (KH, KW, g.C, N) and bias:0 (F), as Keras stores them. */
int nn_conv_param_specs(const nn_layer *l, nn_param_spec *s);
/* Keras fans from that kernel shape: fan_in = KH*KW*g.C, fan_out = KH*KW*N. */
void nn_conv_init_params(nn_layer *l, float *p, nn_rng *rng);

/* plan(): images per chunk so that a chunk's columns stay under
 * nn_im2col_cap() (no columns when direct) and n * pix stays an int. */
void nn_conv_plan_chunks(nn_conv *c, int batch_max, size_t pix, size_t *work_bytes);

/* y (rows, F) += bias, then the activation. */
void nn_conv_bias_act(const nn_layer *l, const float *bias, float *y, size_t rows);
/* dy (rows, F) through the activation (unless fused), then db += column
 * sums of dy (db NULL or no bias: skipped). */
void nn_conv_bias_grad(const nn_layer *l, const float *y, float *dy, float *db,
                       size_t rows);

#endif
