/* Per-sample shapes (the batch dimension is never stored: Keras "None"),
 * NHWC order for images. */
#ifndef NNTRAIN_TENSOR_H
#define NNTRAIN_TENSOR_H

#include <stddef.h>

#define NN_MAX_DIMS 4

typedef struct nn_shape {
    int n;               /* number of dims, 1..NN_MAX_DIMS */
    int d[NN_MAX_DIMS];  /* e.g. (H, W, C) or (features,) */
} nn_shape;

nn_shape nn_shape1(int a);
nn_shape nn_shape3(int h, int w, int c);
size_t nn_shape_size(const nn_shape *s);   /* product of dims */
int nn_shape_eq(const nn_shape *a, const nn_shape *b);
/* Whether samples of shape data may feed a model whose input is model: a 1-D
 * input (an MLP) takes any data of its size, and 1-D data (CSV features, no
 * layout of its own) feeds any input of its size in the model's order; a
 * (steps, features) input takes data whose rows are the steps ((8, 16) takes
 * (8, 8, 2) images row by row, as Keras's MNIST RNN); otherwise the dims must
 * be equal, trailing 1s aside ((28, 28, 1) IDX images feed (28, 28)), so
 * (160, 90, 3) images never feed a (90, 160, 3) model. */
int nn_shape_fits(const nn_shape *model, const nn_shape *data);
/* Writes "(None, 26, 26, 32)" Keras-style into buf; returns buf. */
char *nn_shape_str(const nn_shape *s, char *buf, size_t len);
/* 1 if no element of x is NaN or Inf. Vectorised: one pass at memory speed. */
int nn_all_finite(const float *x, size_t n);

#endif
