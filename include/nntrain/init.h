/* Keras's weight initialisers (src/core/init.c): fan-in/fan-out scaled
 * uniform and normal draws, constants, RandomUniform(-0.05, 0.05) and
 * orthogonal matrices, all drawn from an nn_rng so a seed fixes them; and
 * their names, as a spec writes them. */
#ifndef NNTRAIN_INIT_H
#define NNTRAIN_INIT_H

#include <stddef.h>

#include "nntrain/rng.h"

typedef enum {
    NN_INIT_GLOROT_UNIFORM = 0, NN_INIT_GLOROT_NORMAL, NN_INIT_HE_NORMAL,
    NN_INIT_HE_UNIFORM, NN_INIT_ZEROS, NN_INIT_ONES,
    NN_INIT_ORTHOGONAL,   /* Orthogonal(gain=1): a 2-D (fan_in, fan_out) matrix */
    NN_INIT_UNIFORM,      /* Keras's "uniform": RandomUniform(-0.05, 0.05) */
    NN_INIT_COUNT
} nn_init;

/* Keras's snake_case names ("glorot_uniform", ...); NULL-terminated,
 * index = nn_init. */
extern const char *const nn_init_names[];

/* Returns 0 and sets *out, or -1 for an unknown name. Case-insensitive;
 * accepts the snake_case names, Keras's class names ("GlorotUniform",
 * "HeNormal", "RandomUniform", ...) and "random_uniform". Which kinds a layer
 * accepts is its own choice (nn_layer_bind_init). */
int nn_init_parse(const char *name, nn_init *out);

/* Fills w (n floats) with Keras fans fan_in and fan_out. NN_INIT_ORTHOGONAL
 * needs w to be a (fan_in, fan_out) matrix (n = fan_in * fan_out). */
void nn_init_fill(nn_init kind, float *w, size_t n, double fan_in, double fan_out,
                  nn_rng *rng);
/* Keras Orthogonal(gain=1) for a (rows, cols) matrix: orthonormal along its
 * shorter side. */
void nn_init_orthogonal(float *w, int rows, int cols, nn_rng *rng);

#endif
