/* Keras's weight initialisers (src/core/init.c): fan-in/fan-out scaled
 * uniform and normal draws, constants, and the recurrent layers' orthogonal
 * matrices, all drawn from an nn_rng so a seed fixes them. */
#ifndef NNTRAIN_INIT_H
#define NNTRAIN_INIT_H

#include <stddef.h>

#include "nntrain/rng.h"

typedef enum {
    NN_INIT_GLOROT_UNIFORM = 0, NN_INIT_GLOROT_NORMAL, NN_INIT_HE_NORMAL,
    NN_INIT_HE_UNIFORM, NN_INIT_ZEROS, NN_INIT_ONES, NN_INIT_COUNT
} nn_init;
extern const char *const nn_init_names[];  /* NULL-terminated, index = nn_init */
void nn_init_fill(nn_init kind, float *w, size_t n, double fan_in, double fan_out,
                  nn_rng *rng);
/* Keras Orthogonal(gain=1) for a (rows, cols) matrix: orthonormal along its
 * shorter side. Not in nn_init: only the recurrent layers accept it. */
void nn_init_orthogonal(float *w, int rows, int cols, nn_rng *rng);

#endif
