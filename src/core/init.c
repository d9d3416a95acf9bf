/* Owns Keras's initialisers: their names (one parser, so every layer reads
 * them the same way) and their draws. Fans as Keras computes them: Dense
 * (in, out); Conv2D fan_in = KH*KW*C, fan_out = KH*KW*F. Normal variants are
 * truncated at two standard deviations and rescaled by 0.8796 as Keras's
 * VarianceScaling. Orthogonal (the recurrent layers' default) is drawn by a
 * Gram-Schmidt of its own. */
#include <math.h>
#include <strings.h>

#include "nntrain/init.h"

const char *const nn_init_names[] = {"glorot_uniform", "glorot_normal", "he_normal",
                                     "he_uniform",     "zeros",         "ones",
                                     "orthogonal",     "uniform",       NULL};

/* Keras's class names, index = nn_init, then other spellings Keras takes. */
static const char *const class_names[] = {"GlorotUniform", "GlorotNormal", "HeNormal",
                                          "HeUniform",     "Zeros",        "Ones",
                                          "Orthogonal",    "RandomUniform"};
_Static_assert(sizeof class_names / sizeof class_names[0] == NN_INIT_COUNT,
               "one class name per nn_init");
static const struct {
    const char *name;
    nn_init kind;
} aliases[] = {{"random_uniform", NN_INIT_UNIFORM}};

int nn_init_parse(const char *name, nn_init *out)
{
    if (!name)
        return -1;
    for (int i = 0; i < NN_INIT_COUNT; i++)
        if (!strcasecmp(name, nn_init_names[i]) || !strcasecmp(name, class_names[i])) {
            *out = (nn_init)i;
            return 0;
        }
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (!strcasecmp(name, aliases[i].name)) {
            *out = aliases[i].kind;
            return 0;
        }
    return -1;
}

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
    case NN_INIT_UNIFORM: lim = 0.05; break;
    case NN_INIT_ORTHOGONAL:
        nn_init_orthogonal(w, (int)fan_in, (int)fan_out, rng);
        return;
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

/* Orthogonal initialiser as Keras's Orthogonal(gain=1): a Gaussian matrix
 * made orthonormal along its shorter side (columns of a tall matrix, rows of
 * a wide one). Gram-Schmidt (twice, for accuracy) gives the QR factor with a
 * positive diagonal in R, which is what Keras's sign correction produces. */
void nn_init_orthogonal(float *w /* (rows, cols) */, int rows, int cols, nn_rng *rng)
{
    const size_t n = (size_t)rows * cols;
    const int tall = rows >= cols;
    const int nvec = tall ? cols : rows, len = tall ? rows : cols;
    const size_t es = tall ? (size_t)cols : 1, vs = tall ? 1 : (size_t)cols;
    for (size_t i = 0; i < n; i++)
        w[i] = nn_rng_normal(rng);
    for (int k = 0; k < nvec; k++) {
        float *vk = w + (size_t)k * vs;
        for (int tries = 0;; tries++) {
            for (int pass = 0; pass < 2; pass++)
                for (int j = 0; j < k; j++) {
                    const float *vj = w + (size_t)j * vs;
                    double dot = 0;
                    for (int i = 0; i < len; i++)
                        dot += (double)vk[i * es] * vj[i * es];
                    for (int i = 0; i < len; i++)
                        vk[i * es] -= (float)(dot * vj[i * es]);
                }
            double nrm = 0;
            for (int i = 0; i < len; i++)
                nrm += (double)vk[i * es] * vk[i * es];
            nrm = sqrt(nrm);
            if (nrm > 1e-6 || tries == 8) {
                for (int i = 0; i < len; i++)
                    vk[i * es] = (float)(vk[i * es] / (nrm > 0 ? nrm : 1));
                break;
            }
            for (int i = 0; i < len; i++)   /* (almost) dependent: redraw */
                vk[i * es] = nn_rng_normal(rng);
        }
    }
}
