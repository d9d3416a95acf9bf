/* Owns Keras's activations: their names (nn_act_parse, case-sensitive as in
 * Keras) and their passes over rows of width C, in place. Every derivative
 * is written in terms of the output y only, so Dense/Conv2D/Activation keep
 * no copy of the pre-activation z. Sigmoid, softplus and softmax are written in
 * forms that do not overflow for large |z| (softmax subtracts the row max). */
#include "nntrain/activation.h"

#include <math.h>
#include <string.h>

const char *const nn_act_names[] = {"linear", "relu",    "sigmoid",  "tanh",
                                    "softmax", "elu",    "softplus", NULL};

int nn_act_parse(const char *name, nn_act *out)
{
    if (!name || !strcmp(name, "None")) {
        *out = NN_ACT_LINEAR;
        return 0;
    }
    for (int i = 0; nn_act_names[i]; i++)
        if (!strcmp(name, nn_act_names[i])) {
            *out = (nn_act)i;
            return 0;
        }
    return -1;
}

static float sigmoid(float z)
{
    if (z >= 0.0f)
        return 1.0f / (1.0f + expf(-z));
    float e = expf(z); /* z < 0: e in (0, 1), no overflow */
    return e / (1.0f + e);
}

/* log(1 + e^z) = max(z, 0) + log1p(e^-|z|) */
static float softplus(float z)
{
    return fmaxf(z, 0.0f) + log1pf(expf(-fabsf(z)));
}

static void softmax_rows(float *y /* (rows, C) */, size_t rows, size_t C)
{
    for (size_t r = 0; r < rows; r++) {
        float *v = y + r * C;
        float mx = v[0];
        for (size_t c = 1; c < C; c++)
            if (v[c] > mx)
                mx = v[c];
        double sum = 0.0;
        for (size_t c = 0; c < C; c++) {
            v[c] = expf(v[c] - mx);
            sum += v[c];
        }
        float inv = (float)(1.0 / sum); /* sum >= 1: the max term is exp(0) */
        for (size_t c = 0; c < C; c++)
            v[c] *= inv;
    }
}

void nn_act_forward(nn_act a, float *y /* (rows, C) */, size_t rows, size_t C)
{
    size_t n = rows * C;
    switch (a) {
    case NN_ACT_RELU:
        for (size_t i = 0; i < n; i++)
            y[i] = y[i] > 0.0f ? y[i] : 0.0f;
        break;
    case NN_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++)
            y[i] = sigmoid(y[i]);
        break;
    case NN_ACT_TANH:
        for (size_t i = 0; i < n; i++)
            y[i] = tanhf(y[i]);
        break;
    case NN_ACT_SOFTMAX:
        softmax_rows(y, rows, C);
        break;
    case NN_ACT_ELU:
        for (size_t i = 0; i < n; i++)
            y[i] = y[i] > 0.0f ? y[i] : expm1f(y[i]);
        break;
    case NN_ACT_SOFTPLUS:
        for (size_t i = 0; i < n; i++)
            y[i] = softplus(y[i]);
        break;
    default: /* linear */
        break;
    }
}

void nn_act_backward(nn_act a, const float *y /* (rows, C) */,
                     float *dy /* (rows, C) */, size_t rows, size_t C)
{
    size_t n = rows * C;
    switch (a) {
    case NN_ACT_RELU:
        /* Select, not branch: random signs make a branch mispredict half
         * the time; the select vectorises at -O3. */
        for (size_t i = 0; i < n; i++)
            dy[i] = y[i] > 0.0f ? dy[i] : 0.0f;
        break;
    case NN_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++)
            dy[i] *= y[i] * (1.0f - y[i]);
        break;
    case NN_ACT_TANH:
        for (size_t i = 0; i < n; i++)
            dy[i] *= 1.0f - y[i] * y[i];
        break;
    case NN_ACT_SOFTMAX:
        /* dz_c = y_c (dy_c - sum_k dy_k y_k) */
        for (size_t r = 0; r < rows; r++) {
            const float *yr = y + r * C;
            float *d = dy + r * C;
            double s = 0.0;
            for (size_t c = 0; c < C; c++)
                s += (double)d[c] * yr[c];
            for (size_t c = 0; c < C; c++)
                d[c] = yr[c] * (d[c] - (float)s);
        }
        break;
    case NN_ACT_ELU: /* z <= 0: y = e^z - 1, dy/dz = e^z = y + 1 */
        for (size_t i = 0; i < n; i++)
            if (!(y[i] > 0.0f))
                dy[i] *= y[i] + 1.0f;
        break;
    case NN_ACT_SOFTPLUS: /* dy/dz = sigmoid(z) = 1 - e^-y */
        for (size_t i = 0; i < n; i++)
            dy[i] *= -expm1f(-y[i]);
        break;
    default: /* linear */
        break;
    }
}
