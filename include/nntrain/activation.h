/* Keras activations, applied in place over rows of width C (the last axis:
 * features for Dense, channels for NHWC Conv2D outputs). Most derivatives are
 * computed from the activation's output y alone, so layers keep no
 * pre-activation copy. gelu and swish are not invertible from y: for them
 * (nn_act_needs_z) a layer runs its own kernels linear (nn_act_inner), keeps
 * the pre-activation z (nn_act_forward_keep) and differentiates from z
 * (nn_act_backward_z), so only layers with these activations pay the memory. */
#ifndef NNTRAIN_ACTIVATION_H
#define NNTRAIN_ACTIVATION_H

#include <stddef.h>

typedef enum {
    NN_ACT_LINEAR = 0,
    NN_ACT_RELU,
    NN_ACT_SIGMOID,
    NN_ACT_TANH,
    NN_ACT_SOFTMAX,
    NN_ACT_ELU,
    NN_ACT_SOFTPLUS,
    NN_ACT_SELU,
    NN_ACT_GELU,       /* exact erf form (Keras approximate=False) */
    NN_ACT_SWISH,      /* z sigmoid(z), also "silu" */
    NN_ACT_LEAKY_RELU, /* Keras 3's activation string: slope 0.2 (the
                          LeakyReLU layer has its own alpha, 0.3) */
    NN_ACT_COUNT
} nn_act;

/* Keras names ("linear", "relu", ...); NULL-terminated, index = nn_act. */
extern const char *const nn_act_names[];

/* Returns 0 and sets *out, or -1 for an unknown name. NULL or "None" = linear;
 * "silu" is swish. */
int nn_act_parse(const char *name, nn_act *out);

/* y (rows, C): in place, y = act(y). Softmax normalises each row. */
void nn_act_forward(nn_act a, float *y, size_t rows, size_t C);

/* dy (rows, C) in place: dy = dL/dz given dL/dy and y = act(z). */
void nn_act_backward(nn_act a, const float *y, float *dy, size_t rows, size_t C);

/* 1 when the derivative needs the pre-activation z (gelu, swish). */
int nn_act_needs_z(nn_act a);
/* The activation a layer's own kernels apply: linear when a needs z (the
 * layer then applies a itself with nn_act_forward_keep), else a. */
nn_act nn_act_inner(nn_act a);
/* y (rows, C) in place: z := y (when z != NULL), then y = act(y). */
void nn_act_forward_keep(nn_act a, float *y, float *z, size_t rows, size_t C);
/* dy (rows, C) in place: dy = dL/dz given dL/dy and the kept z (rows, C).
 * For an activation that does not need z, z may be y (nn_act_backward). */
void nn_act_backward_z(nn_act a, const float *z, float *dy, size_t rows, size_t C);

#endif
