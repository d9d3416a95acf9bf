/* Owns Keras's activations: their names (nn_act_parse, case-sensitive as in
 * Keras) and their passes over rows of width C, in place. Derivatives are
 * written in terms of the output y where y determines z, so Dense/Conv2D/
 * Activation keep no copy of the pre-activation z; gelu and swish dip below
 * zero and back (two z per y), so theirs take z (nn_act_backward_z).
 * Sigmoid, softplus and softmax are written in forms that do not overflow
 * for large |z| (softmax subtracts the row max). */
#include "nntrain/activation.h"

#include <math.h>
#include <string.h>

const char *const nn_act_names[] = {"linear", "relu",     "sigmoid", "tanh",
                                    "softmax", "elu",      "softplus", "selu",
                                    "gelu",    "swish",    "leaky_relu", NULL};

/* Keras's SELU constants (Klambauer et al. 2017). */
#define SELU_ALPHA 1.6732632423543772848170429916717
#define SELU_SCALE 1.0507009873554804934193349852946
#define INV_SQRT2 0.70710678118654752440
#define INV_SQRT_2PI 0.39894228040143267794
/* keras.activations.leaky_relu's default negative_slope (tf.nn.leaky_relu's) */
#define LEAKY_SLOPE 0.2f

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
    if (!strcmp(name, "silu")) {   /* tf.keras 2.x: silu is swish */
        *out = NN_ACT_SWISH;
        return 0;
    }
    return -1;
}

int nn_act_needs_z(nn_act a)
{
    return a == NN_ACT_GELU || a == NN_ACT_SWISH;
}

nn_act nn_act_inner(nn_act a)
{
    return nn_act_needs_z(a) ? NN_ACT_LINEAR : a;
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

static float selu(float z)
{
    return z > 0.0f ? (float)SELU_SCALE * z : (float)(SELU_SCALE * SELU_ALPHA) * expm1f(z);
}

/* 0.5 z (1 + erf(z / sqrt 2)), computed in double: erf's float rounding
 * near 0 would cost the gradient check its digits. */
static float gelu(float z)
{
    return (float)(0.5 * z * (1.0 + erf(z * INV_SQRT2)));
}

/* d gelu / dz = Phi(z) + z phi(z) */
static float gelu_grad(float z)
{
    double Phi = 0.5 * (1.0 + erf(z * INV_SQRT2));
    double phi = exp(-0.5 * (double)z * z) * INV_SQRT_2PI;
    return (float)(Phi + z * phi);
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
    case NN_ACT_SELU:
        for (size_t i = 0; i < n; i++)
            y[i] = selu(y[i]);
        break;
    case NN_ACT_GELU:
        for (size_t i = 0; i < n; i++)
            y[i] = gelu(y[i]);
        break;
    case NN_ACT_SWISH:
        for (size_t i = 0; i < n; i++)
            y[i] *= sigmoid(y[i]);
        break;
    case NN_ACT_LEAKY_RELU:
        for (size_t i = 0; i < n; i++)
            y[i] = y[i] > 0.0f ? y[i] : LEAKY_SLOPE * y[i];
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
    case NN_ACT_SELU: /* z <= 0: y = s a (e^z - 1), dy/dz = s a e^z = y + s a */
        for (size_t i = 0; i < n; i++)
            dy[i] *= y[i] > 0.0f ? (float)SELU_SCALE : y[i] + (float)(SELU_SCALE * SELU_ALPHA);
        break;
    case NN_ACT_LEAKY_RELU: /* the slope is positive: y has z's sign */
        for (size_t i = 0; i < n; i++)
            dy[i] = y[i] > 0.0f ? dy[i] : LEAKY_SLOPE * dy[i];
        break;
    default: /* linear; gelu and swish go through nn_act_backward_z */
        break;
    }
}

void nn_act_forward_keep(nn_act a, float *y /* (rows, C) */, float *z /* (rows, C) or NULL */,
                         size_t rows, size_t C)
{
    if (z && z != y)
        memcpy(z, y, rows * C * sizeof *z);
    nn_act_forward(a, y, rows, C);
}

void nn_act_backward_z(nn_act a, const float *z /* (rows, C) */, float *dy /* (rows, C) */,
                       size_t rows, size_t C)
{
    size_t n = rows * C;
    switch (a) {
    case NN_ACT_GELU:
        for (size_t i = 0; i < n; i++)
            dy[i] *= gelu_grad(z[i]);
        break;
    case NN_ACT_SWISH: /* s + z s (1 - s) */
        for (size_t i = 0; i < n; i++) {
            float s = sigmoid(z[i]);
            dy[i] *= s * (1.0f + z[i] * (1.0f - s));
        }
        break;
    default:
        nn_act_backward(a, z, dy, rows, C);
        break;
    }
}
