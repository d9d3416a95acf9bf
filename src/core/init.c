/* Keras initialisers. Fans as Keras computes them: Dense (in, out); Conv2D
 * fan_in = KH*KW*C, fan_out = KH*KW*F. Normal variants are truncated at two
 * standard deviations and rescaled by 0.8796 as Keras's VarianceScaling. */
#include <math.h>

#include "nntrain/layer.h"

const char *const nn_init_names[] = {"glorot_uniform", "glorot_normal", "he_normal",
                                     "he_uniform", "zeros", "ones", NULL};

void nn_init_fill(nn_init kind, float *w, size_t n, double fan_in, double fan_out,
                  nn_rng *rng)
{
    const double trunc = 0.87962566103423978;
    double lim = 0, sd = 0;
    switch (kind) {
    case NN_INIT_GLOROT_UNIFORM: lim = sqrt(6.0 / (fan_in + fan_out)); break;
    case NN_INIT_HE_UNIFORM: lim = sqrt(6.0 / fan_in); break;
    case NN_INIT_GLOROT_NORMAL: sd = sqrt(2.0 / (fan_in + fan_out)) / trunc; break;
    case NN_INIT_HE_NORMAL: sd = sqrt(2.0 / fan_in) / trunc; break;
    case NN_INIT_ONES:
        for (size_t i = 0; i < n; i++)
            w[i] = 1.0f;
        return;
    default:
        for (size_t i = 0; i < n; i++)
            w[i] = 0.0f;
        return;
    }
    for (size_t i = 0; i < n; i++)
        w[i] = lim > 0 ? (float)((2.0 * nn_rng_uniform_d(rng) - 1.0) * lim)
                       : (float)(sd * nn_rng_truncnormal(rng));
}
