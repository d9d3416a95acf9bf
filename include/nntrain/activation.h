/* Keras activations, applied in place over rows of width C (the last axis:
 * features for Dense, channels for NHWC Conv2D outputs). Every derivative is
 * computed from the activation's output y alone, so layers keep no
 * pre-activation copy. */
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
    NN_ACT_COUNT
} nn_act;

/* Keras names ("linear", "relu", ...); NULL-terminated, index = nn_act. */
extern const char *const nn_act_names[];

/* Returns 0 and sets *out, or -1 for an unknown name. NULL or "None" = linear. */
int nn_act_parse(const char *name, nn_act *out);

/* y (rows, C): in place, y = act(y). Softmax normalises each row. */
void nn_act_forward(nn_act a, float *y, size_t rows, size_t C);

/* dy (rows, C) in place: dy = dL/dz given dL/dy and y = act(z). */
void nn_act_backward(nn_act a, const float *y, float *dy, size_t rows, size_t C);

#endif
