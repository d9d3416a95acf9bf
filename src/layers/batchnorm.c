/* Owns the BatchNormalization layer (Keras 2 semantics, last axis only).
 * Block: gamma, beta (each only when scale / center), moving_mean,
 * moving_variance; the moving statistics are the block's frozen tail
 * (l->frozen_len): counted as non-trainable, never stepped by the optimizer.
 * Training: batch statistics over every row of the call, which the executor
 * makes the whole batch (ops->whole_batch), summed across ranks through
 * ctx->allsum when the model is distributed and synchronized. Statistics are
 * accumulated in double, two passes (mean, then centred squares), so large
 * means do not cancel. Inference, and trainable=False even in training
 * (Keras 2): the moving statistics, nothing updated. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layers/layer_util.h"
#include "nntrain/layer.h"

typedef struct batchnorm {
    double momentum, epsilon;
    int center, scale, synchronized;
    nn_init init[4];        /* gamma, beta, moving_mean, moving_variance */
    int C;
    double *acc;            /* (3C) a serial call's sums (2C), the mean in double */
    double cnt;             /* values per channel in the batch (all ranks) */
    float *mean, *istd;     /* (C) of the last training forward */
    float *ka, *ku, *kb;    /* (C) per-channel coefficients of a pass */
} batchnorm;

static const char *const bn_args[] = {"axis", "momentum", "epsilon", "center", "scale",
                                      "beta_initializer", "gamma_initializer",
                                      "moving_mean_initializer",
                                      "moving_variance_initializer", "synchronized", NULL};

static int bn_create(nn_layer *l, nn_args *a, nn_error *e)
{
    batchnorm b = {0};
    int axis = -1, rc;
    static const int def_axis[1] = {-1};
    if ((rc = nn_args_ints(a, "axis", 1, def_axis, &axis, e)) ||
        (rc = nn_args_double(a, "momentum", 0.99, &b.momentum, e)) ||
        (rc = nn_args_double(a, "epsilon", 1e-3, &b.epsilon, e)) ||
        (rc = nn_args_bool(a, "center", 1, &b.center, e)) ||
        (rc = nn_args_bool(a, "scale", 1, &b.scale, e)) ||
        (rc = nn_args_bool(a, "synchronized", 1, &b.synchronized, e)) ||
        (rc = nn_layer_bind_init(l, a, "gamma_initializer", NN_INIT_ONES, NN_INITS_COMMON,
                                 &b.init[0], e)) ||
        (rc = nn_layer_bind_init(l, a, "beta_initializer", NN_INIT_ZEROS, NN_INITS_COMMON,
                                 &b.init[1], e)) ||
        (rc = nn_layer_bind_init(l, a, "moving_mean_initializer", NN_INIT_ZEROS,
                                 NN_INITS_COMMON, &b.init[2], e)) ||
        (rc = nn_layer_bind_init(l, a, "moving_variance_initializer", NN_INIT_ONES,
                                 NN_INITS_COMMON, &b.init[3], e)))
        return rc;
    /* the last axis is checked in configure, once the rank is known */
    b.C = axis;
    if (!(b.momentum >= 0 && b.momentum < 1))
        return nn_layer_arg_err(l, a, "momentum", e, NN_EINVAL,
                                "momentum must be in [0, 1), found %g", b.momentum);
    if (!(b.epsilon > 0 && isfinite(b.epsilon)))
        return nn_layer_arg_err(l, a, "epsilon", e, NN_EINVAL,
                                "epsilon must be a positive number, found %g", b.epsilon);
    return nn_layer_keep(l, &b, sizeof b, e);
}

static int bn_configure(nn_layer *l, nn_error *e)
{
    batchnorm *b = l->priv;
    char w[96];
    int rank = l->in.n, axis = b->C;   /* create left the axis there */
    if (axis != -1 && axis != rank)
        return nn_err(e, NN_EINVAL,
                      "%s: axis=%d: only the last axis (-1 or %d, the channels) is supported",
                      nn_layer_who(l, w, sizeof w), axis, rank);
    b->C = l->in.d[rank - 1];
    l->out = l->in;
    l->param_len = (size_t)(b->scale + b->center + 2) * (size_t)b->C;
    l->frozen_len = 2 * (size_t)b->C;
    return NN_OK;
}

/* Offsets in the block: gamma (or -1), beta (or -1), moving mean, variance. */
static void bn_offs(const batchnorm *b, long o[4])
{
    long k = 0;
    o[0] = b->scale ? k++ * b->C : -1;
    o[1] = b->center ? k++ * b->C : -1;
    o[2] = k++ * b->C;
    o[3] = k * b->C;
}

static int bn_param_specs(const nn_layer *l, nn_param_spec *s)
{
    const batchnorm *b = l->priv;
    static const char *const names[4] = {"gamma:0", "beta:0", "moving_mean:0",
                                         "moving_variance:0"};
    long o[4];
    int n = 0;
    bn_offs(b, o);
    for (int k = 0; k < 4; k++) {
        if (o[k] < 0)
            continue;
        memset(&s[n], 0, sizeof s[n]);
        snprintf(s[n].name, sizeof s[n].name, "%s", names[k]);
        s[n].ndim = 1;
        s[n].dims[0] = b->C;
        s[n].off = (size_t)o[k];
        n++;
    }
    return n;
}

static void bn_init_params(nn_layer *l, float *p, nn_rng *rng)
{
    const batchnorm *b = l->priv;
    long o[4];
    bn_offs(b, o);
    for (int k = 0; k < 4; k++)
        if (o[k] >= 0)
            nn_init_fill(b->init[k], p + o[k], (size_t)b->C, b->C, b->C, rng);
}

static int bn_plan(nn_layer *l, int batch_max, size_t *work_bytes, nn_error *e)
{
    batchnorm *b = l->priv;
    (void)batch_max;
    *work_bytes = 0;
    free(b->acc);
    free(b->mean);
    b->acc = calloc(3 * (size_t)b->C, sizeof *b->acc);
    b->mean = calloc(5 * (size_t)b->C, sizeof *b->mean);
    b->istd = b->mean + b->C;
    b->ka = b->istd + b->C;
    b->ku = b->ka + b->C;
    b->kb = b->ku + b->C;
    if (!b->acc || !b->mean)
        return nn_err(e, NN_ENOMEM, "out of memory for BatchNormalization");
    return NN_OK;
}

static int batch_mode(const nn_layer *l, const nn_ctx *ctx)
{
    return ctx->training && l->trainable;
}

/* v (n doubles) := its sum over the ranks when synchronized; *count too. */
static void bn_allsum(const batchnorm *b, const nn_ctx *ctx, double *v, int n)
{
    if (b->synchronized && ctx->allsum)
        ctx->allsum(ctx->allsum_arg, v, n);
}

/* s[c] += sum over the R rows of x (C wide), in double: the inner loop runs
 * along the channels, which vectorises. */
static void sum_rows(const float *restrict x, size_t R, int C, double *restrict s)
{
    for (size_t r = 0; r < R; r++) {
        const float *xr = x + r * (size_t)C;
        for (int c = 0; c < C; c++)
            s[c] += xr[c];
    }
}

/* s[c] += sum of (x - m[c])^2: the centred second pass, so a large mean
 * does not cancel the variance away. */
static void sum_sq_rows(const float *restrict x, size_t R, int C, const double *restrict m,
                        double *restrict s)
{
    for (size_t r = 0; r < R; r++) {
        const float *xr = x + r * (size_t)C;
        for (int c = 0; c < C; c++) {
            double d = xr[c] - m[c];
            s[c] += d * d;
        }
    }
}

/* y = (x - m[c]) a[c] + k[c] over R rows (centred first: x a + k would
 * cancel for a large mean). */
static void affine_rows(const float *restrict x, size_t R, int C, const float *restrict m,
                        const float *restrict a, const float *restrict k, float *restrict y)
{
    for (size_t r = 0; r < R; r++)
        for (int c = 0; c < C; c++)
            y[r * C + c] = (x[r * C + c] - m[c]) * a[c] + k[c];
}

/* Values per channel in rows rows. */
static size_t per_channel(const nn_layer *l, int rows)
{
    const batchnorm *b = l->priv;
    return (size_t)rows * (nn_shape_size(&l->in) / (size_t)b->C);
}

static int bn_nsums(const nn_layer *l)
{
    return 2 * ((const batchnorm *)l->priv)->C;
}

/* Training: the mean (phase 0), then the centred squares (phase 1). */
static int bn_fwd_phases(const nn_layer *l, const nn_ctx *ctx)
{
    return batch_mode(l, ctx) ? 2 : 0;
}

static void bn_fwd_partial(nn_layer *l, int phase, const float *x, int rows, double *part)
{
    batchnorm *b = l->priv;
    memset(part, 0, (size_t)b->C * sizeof *part);
    if (phase == 0)
        sum_rows(x, per_channel(l, rows), b->C, part);
    else
        sum_sq_rows(x, per_channel(l, rows), b->C, b->acc + 2 * b->C, part);
}

static void bn_fwd_reduce(nn_layer *l, float *p, int phase, double *sum, int B, nn_ctx *ctx)
{
    batchnorm *b = l->priv;
    const int C = b->C;
    long o[4];
    bn_offs(b, o);
    float *mm = p + o[2], *mv = p + o[3];   /* updated in place */
    double *mean = b->acc + 2 * C;
    if (phase == 0) {
        b->cnt = (double)per_channel(l, B);
        bn_allsum(b, ctx, &b->cnt, 1);
        bn_allsum(b, ctx, sum, C);
        for (int c = 0; c < C; c++)
            mean[c] = sum[c] / b->cnt;
        return;
    }
    if (phase == 1) {
        bn_allsum(b, ctx, sum, C);
        for (int c = 0; c < C; c++) {
            double var = sum[c] / b->cnt;
            double unb = b->cnt > 1 ? sum[c] / (b->cnt - 1) : var;
            b->mean[c] = (float)mean[c];
            b->istd[c] = (float)(1.0 / sqrt(var + b->epsilon));
            mm[c] = (float)(b->momentum * mm[c] + (1 - b->momentum) * mean[c]);
            mv[c] = (float)(b->momentum * mv[c] + (1 - b->momentum) * unb);
        }
    } else {   /* inference statistics */
        for (int c = 0; c < C; c++) {
            b->mean[c] = mm[c];
            b->istd[c] = (float)(1.0 / sqrt((double)mv[c] + b->epsilon));
        }
    }
    /* y = (x - mean) gamma istd + beta */
    for (int c = 0; c < C; c++) {
        b->ka[c] = (o[0] >= 0 ? p[o[0] + c] : 1.0f) * b->istd[c];
        b->kb[c] = o[1] >= 0 ? p[o[1] + c] : 0.0f;
    }
}

static void bn_fwd_apply(nn_layer *l, const float *p, const float *x, float *y, int rows)
{
    const batchnorm *b = l->priv;
    (void)p;
    affine_rows(x, per_channel(l, rows), b->C, b->mean, b->ka, b->kb, y);
}

/* The phases on the calling thread over all B rows. */
static void bn_forward(nn_layer *l, const float *p, const float *x, float *y, int B,
                       nn_ctx *ctx)
{
    batchnorm *b = l->priv;
    int np = bn_fwd_phases(l, ctx);
    for (int ph = 0; ph < np; ph++) {
        bn_fwd_partial(l, ph, x, B, b->acc);
        bn_fwd_reduce(l, (float *)p, ph, b->acc, B, ctx);
    }
    if (!np)
        bn_fwd_reduce(l, (float *)p, -1, NULL, B, ctx);
    bn_fwd_apply(l, p, x, y, B);
}

/* s[c] += sum dy, s[C + c] += sum dy x (products of floats are exact in
 * double). */
static void sum_dy_rows(const float *restrict x, const float *restrict dy, size_t R, int C,
                        double *restrict s)
{
    for (size_t r = 0; r < R; r++) {
        const float *xr = x + r * (size_t)C, *dr = dy + r * (size_t)C;
        for (int c = 0; c < C; c++) {
            s[c] += dr[c];
            s[C + c] += (double)dr[c] * xr[c];
        }
    }
}

/* dx = dy a[c] + (x - m[c]) u[c] + k[c] over R rows. */
static void dx_rows(const float *restrict x, const float *restrict dy, size_t R, int C,
                    const float *restrict m, const float *restrict a, const float *restrict u,
                    const float *restrict k, float *restrict dx)
{
    for (size_t r = 0; r < R; r++)
        for (int c = 0; c < C; c++)
            dx[r * C + c] = dy[r * C + c] * a[c] + (x[r * C + c] - m[c]) * u[c] + k[c];
}

static void bn_bwd_partial(nn_layer *l, const float *x, const float *dy, int rows,
                           double *part)
{
    const batchnorm *b = l->priv;
    memset(part, 0, 2 * (size_t)b->C * sizeof *part);
    sum_dy_rows(x, dy, per_channel(l, rows), b->C, part);
}

/* dx = gamma istd (dy - mean(dy) - xhat mean(dy xhat)) over the (global)
 * batch, which is affine in dy and x per channel; inference mode:
 * dx = gamma istd dy. sum(dy xhat) = istd (sum(dy x) - mean sum(dy)). */
static void bn_bwd_reduce(nn_layer *l, const float *p, float *g, double *s, int B, int want_dx,
                          nn_ctx *ctx)
{
    batchnorm *b = l->priv;
    const int C = b->C;
    long o[4];
    bn_offs(b, o);
    for (int c = 0; c < C; c++)   /* s[C + c] := sum dy xhat */
        s[C + c] = b->istd[c] * (s[C + c] - (double)b->mean[c] * s[c]);
    /* the local sums: the model's gradient sync adds the ranks */
    if (o[0] >= 0)
        for (int c = 0; c < C; c++)
            g[o[0] + c] += (float)s[C + c];
    if (o[1] >= 0)
        for (int c = 0; c < C; c++)
            g[o[1] + c] += (float)s[c];
    if (!want_dx)
        return;
    int batch = batch_mode(l, ctx);
    double cnt = (double)per_channel(l, B);
    if (batch) {
        bn_allsum(b, ctx, &cnt, 1);
        bn_allsum(b, ctx, s, 2 * C);
    }
    /* dx = ks (dy - sum dy / cnt - xhat sum(dy xhat) / cnt), ks = gamma istd,
     * xhat = (x - mean) istd */
    for (int c = 0; c < C; c++) {
        double ks = (o[0] >= 0 ? p[o[0] + c] : 1.0) * b->istd[c];
        b->ka[c] = (float)ks;
        b->ku[c] = batch ? (float)(-ks * b->istd[c] * s[C + c] / cnt) : 0.0f;
        b->kb[c] = batch ? (float)(-ks * s[c] / cnt) : 0.0f;
    }
}

static void bn_bwd_apply(nn_layer *l, const float *x, const float *dy, float *dx, int rows)
{
    const batchnorm *b = l->priv;
    dx_rows(x, dy, per_channel(l, rows), b->C, b->mean, b->ka, b->ku, b->kb, dx);
}

static void bn_backward(nn_layer *l, const float *p, float *g, const float *x, const float *y,
                        float *dy, float *dx, int B, nn_ctx *ctx)
{
    batchnorm *b = l->priv;
    (void)y;
    bn_bwd_partial(l, x, dy, B, b->acc);
    bn_bwd_reduce(l, p, g, b->acc, B, dx != NULL, ctx);
    if (dx)
        bn_bwd_apply(l, x, dy, dx, B);
}

static int bn_per_rank(const nn_layer *l)
{
    return !((const batchnorm *)l->priv)->synchronized;
}

static const nn_layer_batch_ops bn_batch = {
    .nsums = bn_nsums,
    .fwd_phases = bn_fwd_phases,
    .fwd_partial = bn_fwd_partial,
    .fwd_reduce = bn_fwd_reduce,
    .fwd_apply = bn_fwd_apply,
    .bwd_partial = bn_bwd_partial,
    .bwd_reduce = bn_bwd_reduce,
    .bwd_apply = bn_bwd_apply,
    .per_rank = bn_per_rank,
};

static void bn_destroy(nn_layer *l)
{
    batchnorm *b = l->priv;
    if (b) {
        free(b->acc);
        free(b->mean);
    }
    free(b);
    l->priv = NULL;
}

const nn_layer_ops nn_batchnorm_ops = {
    .kind = "BatchNormalization",
    .arg_names = bn_args,
    .arg_aliases = NULL,
    .create = bn_create,
    .configure = bn_configure,
    .param_specs = bn_param_specs,
    .init_params = bn_init_params,
    .plan = bn_plan,
    .forward = bn_forward,
    .backward = bn_backward,
    .destroy = bn_destroy,
    .whole_batch = 1,
    .batch = &bn_batch,
    .bwd_skips = NN_SKIPS_Y,
};
