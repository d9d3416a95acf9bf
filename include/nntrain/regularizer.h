/* Keras weight regularizers (kernel_regularizer=l2(1e-4), ...): a penalty
 * l1*sum|w| + l2*sum w^2 added to the loss of every batch (not divided by
 * the batch size, as Keras 2), whose gradient l1*sign(w) + 2*l2*w the
 * training step adds once to the averaged gradient. */
#ifndef NNTRAIN_REGULARIZER_H
#define NNTRAIN_REGULARIZER_H

#include <stddef.h>

#include "nntrain/error.h"
#include "nntrain/spec.h"

typedef struct nn_reg {
    double l1, l2;                /* both 0: none */
} nn_reg;

/* Which weight an option regularizes; a parameter maps to one by its Keras
 * name (nn_reg_role). */
enum { NN_REG_KERNEL, NN_REG_BIAS, NN_REG_RECURRENT, NN_REG_EMBEDDINGS, NN_REG_ROLES };

/* The layer options, indexed by role, then "activity_regularizer" (which
 * nntrain refuses), NULL-terminated. */
extern const char *const nn_reg_options[];

/* The role of a parameter named as Keras names it ("kernel:0" -> kernel,
 * "recurrent_kernel:0", "bias:0", "embeddings:0"), or -1. */
int nn_reg_role(const char *param_name);

/* Reads a spec value: None, a string ("l1", "l2", "l1_l2": factor 0.01 as
 * Keras) or a call l1(0.01), l2(...), l1_l2(l1=, l2=), L1(...), L2(...),
 * L1L2(l1=0, l2=0), regularizer_l1(l = 0.01), regularizer_l2(...),
 * regularizer_l1_l2(l1 = 0.01, l2 = 0.01) (any module prefix). c and v give
 * messages their place; opt is the option's name. Errors (NN_EINVAL): an
 * unknown regularizer, a negative or non-finite factor. */
int nn_reg_parse(const nn_call *c, const nn_value *v, const char *opt, nn_reg *out,
                 nn_error *e);

static inline int nn_reg_active(nn_reg r)
{
    return r.l1 != 0 || r.l2 != 0;
}

/* l1*sum|w| + l2*sum w^2 over n weights, summed in double in order. */
double nn_reg_penalty(nn_reg r, const float *w, size_t n);
/* g += l1*sign(w) + 2*l2*w (sign(0) = 0, as TensorFlow's). */
void nn_reg_grad(nn_reg r, const float *w, float *g, size_t n);

#endif
