/* Owns Keras's elementwise merge layers: Add, Subtract, Multiply, Average,
 * Maximum, Minimum. Each takes a list of inputs of one shape (l->nin of
 * them; Subtract exactly 2) and gives that shape. nntrain does not
 * broadcast (Keras 2.x does in some versions): unequal shapes are refused
 * with both shapes named. No parameters, no workspace, no saved state: the
 * passes are plain loops over B * n floats.
 *
 * Maximum and Minimum send dy to the first input holding the extreme value:
 * Keras folds them as max(max(x0, x1), x2) and TensorFlow's gradient of
 * maximum(a, b) goes to a where a >= b, so on ties the earliest input wins.
 * (PyTorch's torch.maximum splits a tie's gradient in halves instead.) */
#include <stdio.h>
#include <string.h>

#include "layers/layer_util.h"
#include "nntrain/layer.h"

static int merge_create(nn_layer *l, nn_args *a, nn_error *e)
{
    (void)l;
    (void)a;
    (void)e;
    return NN_OK;
}

/* The input count against Keras's rule, then equal shapes. */
static int merge_configure(nn_layer *l, nn_error *e)
{
    char w[96], s0[64], sk[64];
    int lo = l->ops->merge->min_inputs;
    if (l->nin < lo || l->nin > NN_MAX_INPUTS)
        return nn_err(e, NN_EINVAL, "%s: merges a list of %d to %d inputs, found %d (call "
                      "it on a list: %s()([a, b]))", nn_layer_who(l, w, sizeof w), lo,
                      NN_MAX_INPUTS, l->nin, l->ops->kind);
    for (int k = 1; k < l->nin; k++)
        if (!nn_shape_eq(&l->ins[k], &l->ins[0]))
            return nn_err(e, NN_ESHAPE, "%s: input %d has shape %s but input 0 has %s: "
                          "the inputs must have equal shapes (nntrain does not broadcast)",
                          nn_layer_who(l, w, sizeof w), k,
                          nn_shape_str(&l->ins[k], sk, sizeof sk),
                          nn_shape_str(&l->ins[0], s0, sizeof s0));
    l->out = l->ins[0];
    l->param_len = 0;
    return NN_OK;
}

static int sub_configure(nn_layer *l, nn_error *e)
{
    char w[96];
    if (l->nin != 2)
        return nn_err(e, NN_EINVAL, "%s: takes exactly 2 inputs (x - y), found %d",
                      nn_layer_who(l, w, sizeof w), l->nin);
    return merge_configure(l, e);
}

/* ---- forward: y := x0 (op) x1 (op) ... ------------------------------------ */

#define FOLD(name, first, step)                                                         \
    static void name(nn_layer *l, const float *const *xs, float *y, int B, nn_ctx *ctx) \
    {                                                                                   \
        (void)ctx;                                                                      \
        const size_t n = (size_t)B * nn_shape_size(&l->out);                            \
        const int N = l->nin;                                                           \
        float *restrict o = y;                                                          \
        const float *restrict a = xs[0], *restrict b = xs[1];                           \
        for (size_t i = 0; i < n; i++)                                                  \
            o[i] = first;                                                               \
        for (int k = 2; k < N; k++) {                                                   \
            const float *restrict c = xs[k];                                            \
            for (size_t i = 0; i < n; i++)                                              \
                o[i] = step;                                                            \
        }                                                                               \
    }

FOLD(add_fwd, a[i] + b[i], o[i] + c[i])
FOLD(mul_fwd, a[i] * b[i], o[i] * c[i])
FOLD(max_fwd, a[i] >= b[i] ? a[i] : b[i], o[i] >= c[i] ? o[i] : c[i])
FOLD(min_fwd, a[i] <= b[i] ? a[i] : b[i], o[i] <= c[i] ? o[i] : c[i])

/* Keras: the sum, then divided by the count */
static void avg_fwd(nn_layer *l, const float *const *xs, float *y, int B, nn_ctx *ctx)
{
    add_fwd(l, xs, y, B, ctx);
    const size_t n = (size_t)B * nn_shape_size(&l->out);
    const float N = (float)l->nin;
    float *restrict o = y;
    for (size_t i = 0; i < n; i++)
        o[i] /= N;
}

static void sub_fwd(nn_layer *l, const float *const *xs, float *y, int B, nn_ctx *ctx)
{
    (void)ctx;
    const size_t n = (size_t)B * nn_shape_size(&l->out);
    const float *restrict a = xs[0], *restrict b = xs[1];
    float *restrict o = y;
    for (size_t i = 0; i < n; i++)
        o[i] = a[i] - b[i];
}

/* ---- backward: dx (of input k) from dy ------------------------------------ */

static void add_bwd(nn_layer *l, int k, const float *const *xs, const float *y,
                    const float *dy, float *dx, int B, nn_ctx *ctx)
{
    (void)k, (void)xs, (void)y, (void)ctx;
    memcpy(dx, dy, (size_t)B * nn_shape_size(&l->out) * sizeof *dx);
}

static void sub_bwd(nn_layer *l, int k, const float *const *xs, const float *y,
                    const float *dy, float *dx, int B, nn_ctx *ctx)
{
    (void)xs, (void)y, (void)ctx;
    const size_t n = (size_t)B * nn_shape_size(&l->out);
    if (k == 0) {
        memcpy(dx, dy, n * sizeof *dx);
        return;
    }
    const float *restrict g = dy;
    float *restrict d = dx;
    for (size_t i = 0; i < n; i++)
        d[i] = -g[i];
}

static void avg_bwd(nn_layer *l, int k, const float *const *xs, const float *y,
                    const float *dy, float *dx, int B, nn_ctx *ctx)
{
    (void)k, (void)xs, (void)y, (void)ctx;
    const size_t n = (size_t)B * nn_shape_size(&l->out);
    const float N = (float)l->nin;
    const float *restrict g = dy;
    float *restrict d = dx;
    for (size_t i = 0; i < n; i++)
        d[i] = g[i] / N;
}

/* dy times the product of the other inputs (never y / x_k: x_k may be 0) */
static void mul_bwd(nn_layer *l, int k, const float *const *xs, const float *y,
                    const float *dy, float *dx, int B, nn_ctx *ctx)
{
    (void)y, (void)ctx;
    const size_t n = (size_t)B * nn_shape_size(&l->out);
    float *restrict d = dx;
    memcpy(d, dy, n * sizeof *d);
    for (int j = 0; j < l->nin; j++) {
        if (j == k)
            continue;
        const float *restrict c = xs[j];
        for (size_t i = 0; i < n; i++)
            d[i] *= c[i];
    }
}

/* dy where input k is the first extreme: beyond every earlier input
 * strictly, at least equal to every later one. */
#define PICK(name, strict, loose)                                                      \
    static void name(nn_layer *l, int k, const float *const *xs, const float *y,       \
                     const float *dy, float *dx, int B, nn_ctx *ctx)                   \
    {                                                                                  \
        (void)y, (void)ctx;                                                            \
        const size_t n = (size_t)B * nn_shape_size(&l->out);                           \
        const float *restrict v = xs[k];                                               \
        float *restrict d = dx;                                                        \
        memcpy(d, dy, n * sizeof *d);                                                  \
        for (int j = 0; j < l->nin; j++) {                                             \
            if (j == k)                                                                \
                continue;                                                              \
            const float *restrict c = xs[j];                                           \
            if (j < k) {                                                               \
                for (size_t i = 0; i < n; i++)                                         \
                    d[i] = v[i] strict c[i] ? d[i] : 0.0f;                             \
            } else {                                                                   \
                for (size_t i = 0; i < n; i++)                                         \
                    d[i] = v[i] loose c[i] ? d[i] : 0.0f;                              \
            }                                                                          \
        }                                                                              \
    }

PICK(max_bwd, >, >=)
PICK(min_bwd, <, <=)

/* ---- the table -------------------------------------------------------------- */

#define MERGE_OPS(sym, kind_name, lo, conf, fwd, bwd, skips)                          \
    static const nn_layer_merge_ops sym##_merge = {lo, fwd, bwd};                     \
    const nn_layer_ops sym = {                                                        \
        .kind = kind_name,                                                            \
        .arg_names = NULL,                                                            \
        .create = merge_create,                                                       \
        .configure = conf,                                                            \
        .param_specs = nn_layer_no_param_specs,                                       \
        .init_params = nn_layer_no_init_params,                                       \
        .bwd_skips = skips,                                                           \
        .merge = &sym##_merge,                                                        \
    };

/* Keras 2: every merge takes at least 2 inputs (Subtract exactly 2) */
MERGE_OPS(nn_add_ops, "Add", 2, merge_configure, add_fwd, add_bwd, NN_SKIPS_X | NN_SKIPS_Y)
MERGE_OPS(nn_subtract_ops, "Subtract", 2, sub_configure, sub_fwd, sub_bwd,
          NN_SKIPS_X | NN_SKIPS_Y)
MERGE_OPS(nn_multiply_ops, "Multiply", 2, merge_configure, mul_fwd, mul_bwd, NN_SKIPS_Y)
MERGE_OPS(nn_average_ops, "Average", 2, merge_configure, avg_fwd, avg_bwd,
          NN_SKIPS_X | NN_SKIPS_Y)
MERGE_OPS(nn_maximum_ops, "Maximum", 2, merge_configure, max_fwd, max_bwd, NN_SKIPS_Y)
MERGE_OPS(nn_minimum_ops, "Minimum", 2, merge_configure, min_fwd, min_bwd, NN_SKIPS_Y)
