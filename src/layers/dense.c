/* Owns the Dense layer (Keras): y = act(x W + b) with W the (in, units)
 * kernel, stored as Keras stores it so .h5 kernels load as-is. One sgemm
 * forward; backward is dW += x^T dz, db += column sums of dz, dx = dz W^T.
 * Then its team mode (layer.h) and what reports show of it (FLOPs, the
 * kernel as images). Under mixed_bfloat16 (l->bf16) the three products run
 * on bf16-rounded operands with fp32 sums (core/gemm_bf16.h), in the shared
 * workspace, and team mode is off (its calls get no workspace). Needs a
 * 1-D input:
 * Keras would apply Dense to the last axis of an image, which is almost never
 * what a user meant, so we ask for Flatten() instead. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gemm_bf16.h"
#include "nntrain/gemm.h"
#include "layers/layer_util.h"
#include "nntrain/layer.h"

typedef struct dense {
    int in, units;
    int use_bias;
    int bf16;   /* l->bf16 */
    nn_init kinit, binit;
} dense;

static const char *const dense_args[] = {"units", "activation", "use_bias",
                                         "kernel_initializer", "bias_initializer",
                                         NULL};

static int dense_create(nn_layer *l, nn_args *a, nn_error *e)
{
    char where[128], w[96];
    dense d = {0};
    int rc;
    if (!nn_args_has(a, "units"))
        return nn_err(e, NN_EINVAL, "%s: %s needs units, e.g. Dense(64)",
                      nn_value_where(a->call, NULL, where, sizeof where),
                      nn_layer_who(l, w, sizeof w));
    if ((rc = nn_args_int(a, "units", 0, &d.units, e)))
        return rc;
    if (d.units <= 0)
        return nn_err(e, NN_EINVAL, "%s: %s: units must be a positive integer, found %d",
                      nn_value_where(a->call, nn_args_get(a, "units"), where, sizeof where),
                      nn_layer_who(l, w, sizeof w), d.units);
    if ((rc = nn_layer_bind_act(l, a, "activation", NULL, &l->act, e)) ||
        (rc = nn_args_bool(a, "use_bias", 1, &d.use_bias, e)) ||
        (rc = nn_layer_bind_init(l, a, "kernel_initializer", NN_INIT_GLOROT_UNIFORM,
                                 NN_INITS_COMMON, &d.kinit, e)) ||
        (rc = nn_layer_bind_init(l, a, "bias_initializer", NN_INIT_ZEROS, NN_INITS_COMMON,
                                 &d.binit, e)))
        return rc;
    return nn_layer_keep(l, &d, sizeof d, e);
}

static int dense_configure(nn_layer *l, nn_error *e)
{
    dense *d = l->priv;
    char w[96], s[96];
    if (l->in.n != 1)
        return nn_err(e, NN_ESHAPE,
                      "%s needs a 1-D input but gets %s: add Flatten() before it",
                      nn_layer_who(l, w, sizeof w), nn_shape_str(&l->in, s, sizeof s));
    d->in = l->in.d[0];
    d->bf16 = l->bf16;
    if (d->in <= 0 || (size_t)d->in * (size_t)d->units > (size_t)INT_MAX)
        return nn_err(e, NN_ESHAPE, "%s: kernel (%d, %d) is too large or empty",
                      nn_layer_who(l, w, sizeof w), d->in, d->units);
    l->out = nn_shape1(d->units);
    l->param_len = (size_t)d->in * d->units + (d->use_bias ? (size_t)d->units : 0);
    return NN_OK;
}

static int dense_param_specs(const nn_layer *l, nn_param_spec *specs)
{
    const dense *d = l->priv;
    memset(specs, 0, 2 * sizeof *specs);
    snprintf(specs[0].name, sizeof specs[0].name, "kernel:0");
    specs[0].ndim = 2;
    specs[0].dims[0] = d->in;
    specs[0].dims[1] = d->units;
    specs[0].off = 0;
    if (!d->use_bias)
        return 1;
    snprintf(specs[1].name, sizeof specs[1].name, "bias:0");
    specs[1].ndim = 1;
    specs[1].dims[0] = d->units;
    specs[1].off = (size_t)d->in * d->units;
    return 2;
}

static void dense_init_params(nn_layer *l, float *p /* (in*units [+ units]) */,
                              nn_rng *rng)
{
    const dense *d = l->priv;
    size_t nw = (size_t)d->in * d->units;
    nn_init_fill(d->kinit, p, nw, d->in, d->units, rng);
    if (d->use_bias) /* Keras: a 1-D tensor has fan_in = fan_out = its length */
        nn_init_fill(d->binit, p + nw, (size_t)d->units, d->units, d->units, rng);
}

/* A long input (a flattened image: 43,200 for 90x160x3) into far fewer units
 * than rows: OpenBLAS 0.3.21 ran y = x W (its column-major m = units = 100,
 * n = B = 500) at 10 GFLOP/s on a Zen core, y^T = W^T x^T (m = B) at 21-25:
 * its m of at most about 320 takes a path that ran at 7-10 whatever the
 * orientation (y^T: 7.5 at B = 250 and 300, 18-27 from 384 on). The
 * transposed product goes to the workspace and is turned back with the bias. */
#define LONG_IN 4096

static int transposed_forward(const dense *d, int B)
{
    return !d->bf16 && d->in >= LONG_IN && B >= 4 * d->units;
}

/* The bf16 products' packed operands for B rows: the largest of the three. */
static size_t bf16_work(const dense *d, int B)
{
    size_t f = nn_gemm_bf16_work_bytes(B, d->in, d->units);    /* y = x W */
    size_t w = nn_gemm_bf16_work_bytes(d->in, B, d->units);    /* dW += x^T dz */
    size_t x = nn_gemm_bf16_work_bytes(B, d->units, d->in);    /* dx = dz W^T */
    return f > w ? (f > x ? f : x) : (w > x ? w : x);
}

static int dense_plan(nn_layer *l, int batch_max, size_t *work_bytes, nn_error *e)
{
    const dense *d = l->priv;
    *work_bytes = d->bf16 ? bf16_work(d, batch_max)
                  : transposed_forward(d, batch_max)
                      ? (size_t)batch_max * (size_t)d->units * sizeof(float) : 0;
    return nn_layer_plan_z(l, batch_max, e);
}

/* The product over input features [k0, k1) for all B rows into part:
 * (units, B) when tr, else (B, units). */
static void product(const dense *d, const float *p, const float *x, float *part, int B, int k0,
                    int k1, int tr)
{
    const int in = d->in, out = d->units;
    const float *w = p + (size_t)k0 * out;
    if (tr)
        nn_sgemm(1, 1, out, B, k1 - k0, 1.0f, w, out, x + k0, in, 0.0f, part, B);
    else
        nn_sgemm(0, 0, B, out, k1 - k0, 1.0f, x + k0, in, w, out, 0.0f, part, out);
}

/* Rows [r0, r0 + n) of y (row 0 at y) := parts[0] + ... + parts[T-1] + b,
 * the parts (units, B) when tr (read in blocks of 16 rows), else (B, units). */
static void sum_parts(const dense *d, const float *b, const float *const *parts, int T, int tr,
                      float *y, int r0, int n, int B)
{
    const int out = d->units;
    if (tr) {
        for (int q = 0; q < n; q += 16)
            for (int j = 0; j < out; j++)
                for (int r = q; r < n && r < q + 16; r++) {
                    size_t at = (size_t)j * B + (size_t)(r0 + r);
                    float s = parts[0][at];
                    for (int t = 1; t < T; t++)
                        s += parts[t][at];
                    y[(size_t)r * out + j] = s + (b ? b[j] : 0.0f);
                }
        return;
    }
    for (int r = 0; r < n; r++) {
        float *yr = y + (size_t)r * out;
        for (int t = 0; t < T; t++) {
            const float *pr = parts[t] + (size_t)(r0 + r) * out;
            if (pr != yr)
                for (int j = 0; j < out; j++)
                    yr[j] = t ? yr[j] + pr[j] : pr[j];
        }
        for (int j = 0; b && j < out; j++)
            yr[j] += b[j];
    }
}

/* db += column sums of dz (B, units). */
static void bias_grad(const dense *d, float *g, const float *dz, int B)
{
    const int out = d->units;
    float *gb = g + (size_t)d->in * out;
    for (int r = 0; r < B; r++) {
        const float *dr = dz + (size_t)r * out;
        for (int j = 0; j < out; j++)
            gb[j] += dr[j];
    }
}

static void dense_forward(nn_layer *l, const float *p, const float *x /* (B, in) */,
                          float *y /* (B, units) */, int B, nn_ctx *ctx)
{
    const dense *d = l->priv;
    const int out = d->units;
    const float *b = d->use_bias ? p + (size_t)d->in * out : NULL;
    int tr = transposed_forward(d, B) && ctx && ctx->work &&
             ctx->work_bytes >= (size_t)B * (size_t)out * sizeof(float);
    float *part = tr ? ctx->work : y; /* (units, B) or y itself */
    if (d->bf16) {
        nn_gemm_bf16(B, out, d->in, x, d->in, p, out, 0.0f, y, out, ctx->work);
    } else if (ctx && ctx->det) {   /* a row's bits alone: exec_det.c passes any rows */
        tr = 0;
        part = y;
        uint32_t *xmax = ctx->det_xmax ? ctx->det_xmax(ctx->det_arg, l, ctx->row0, B) : NULL;
        nn_sgemm_rows_amax(B, out, d->in, x, d->in, p, out, y, out, xmax);
    } else {
        product(d, p, x, part, B, 0, d->in, tr);
    }
    sum_parts(d, b, (const float *const *)&part, 1, tr, y, 0, B, B);
    nn_act_forward(nn_act_inner(l->act), y, (size_t)B, (size_t)out);
    nn_layer_act_keep(l, y, ctx ? ctx->row0 : 0, B);
}

static void dense_backward(nn_layer *l, const float *p, float *g,
                           const float *x /* (B, in) */, const float *y /* (B, units) */,
                           float *dy /* (B, units) */, float *dx /* (B, in) or NULL */,
                           int B, nn_ctx *ctx)
{
    const dense *d = l->priv;
    const int in = d->in, out = d->units;
    if (!l->dy_is_preact) /* dy := dL/dz */
        nn_act_backward(nn_act_inner(l->act), y, dy, (size_t)B, (size_t)out);
    nn_layer_act_grad_z(l, dy, ctx ? ctx->row0 : 0, B);
    /* deterministic mode sums the kernel gradient itself, exactly, from the
     * fp32 x and dz (also under mixed_bfloat16) */
    int kept = ctx && ctx->det_keep && ctx->det_keep(ctx->det_arg, l, x, dy, ctx->row0, B);
    if (d->bf16) {
        if (!kept)
            nn_gemm_bf16_t(1, 0, in, out, B, x, in, dy, out, 1.0f, g, out, ctx->work);
        if (d->use_bias)
            bias_grad(d, g, dy, B);
        if (dx)
            nn_gemm_bf16_t(0, 1, B, in, out, dy, out, p, out, 0.0f, dx, in, ctx->work);
        return;
    }
    if (!kept)
        nn_sgemm(1, 0, in, out, B, 1.0f, x, in, dy, out, 1.0f, g, out); /* dW += x^T dz */
    if (d->use_bias)
        bias_grad(d, g, dy, B);
    if (dx && ctx && ctx->det)
        nn_sgemm_rows_t(B, in, out, dy, out, p, out, dx, in);
    else if (dx)
        nn_sgemm(0, 1, B, in, out, 1.0f, dy, out, p, out, 0.0f, dx, in); /* dz W^T */
}

/* Deterministic mode (layer.h det_dx): dx = dz W^T over a thread's rows
 * at once, each row's bits those of a call on that row alone. */
static void dense_det_dx(nn_layer *l, const float *p, const float *dz /* (B, units) */,
                         float *dx /* (B, in) */, int B)
{
    const dense *d = l->priv;
    nn_sgemm_rows_t(B, d->in, d->units, dz, d->units, p, d->units, dx, d->in);
}

/* Team mode (layer.h): a kernel of at least 64K weights, with at least 32
 * input features per thread. Smaller layers cost less than the barriers.
 * Not with gelu/swish: dz would need the kept z of rows it is not told.
 * Under mixed_bfloat16 too: without it each thread packs the whole kernel
 * for its rows and adds a gradient copy of its own. */
static int dense_team_split(const nn_layer *l, int T)
{
    const dense *d = l->priv;
    if (nn_act_needs_z(l->act))
        return 0;
    return (size_t)d->in * (size_t)d->units >= 65536 && d->in >= 32 * T ? d->in : 0;
}

static void dense_team_forward(nn_layer *l, const float *p, const float *x, float *part, int B,
                               int k0, int k1, void *work)
{
    const dense *d = l->priv;
    int tr = transposed_forward(d, B);
    if (k1 > k0 && d->bf16)
        nn_gemm_bf16(B, d->units, k1 - k0, x + k0, d->in, p + (size_t)k0 * d->units, d->units,
                     0.0f, part, d->units, work);
    else if (k1 > k0)
        product(d, p, x, part, B, k0, k1, tr);
    else
        memset(part, 0, (size_t)B * (size_t)d->units * sizeof *part);
}

static void dense_team_finish(nn_layer *l, const float *p, float *const *parts, int T, float *y,
                              int r0, int n, int B)
{
    const dense *d = l->priv;
    const float *b = d->use_bias ? p + (size_t)d->in * d->units : NULL;
    sum_parts(d, b, (const float *const *)parts, T, transposed_forward(d, B), y, r0, n, B);
    nn_act_forward(l->act, y, (size_t)n, (size_t)d->units);
}

static void dense_team_dz(nn_layer *l, const float *y, float *dy, float *dz, int n)
{
    const dense *d = l->priv;
    if (!l->dy_is_preact)
        nn_act_backward(l->act, y, dy, (size_t)n, (size_t)d->units);
    memcpy(dz, dy, (size_t)n * (size_t)d->units * sizeof *dz);
}

static void dense_team_backward(nn_layer *l, const float *p, float *g, const float *x,
                                const float *dz, float *dx, int B, int k0, int k1, int bias,
                                void *work)
{
    const dense *d = l->priv;
    const int in = d->in, out = d->units;
    if (k1 > k0 && d->bf16) {
        nn_gemm_bf16_t(1, 0, k1 - k0, out, B, x + k0, in, dz, out, 1.0f, g + (size_t)k0 * out,
                       out, work);
        if (dx)
            nn_gemm_bf16_t(0, 1, B, k1 - k0, out, dz, out, p + (size_t)k0 * out, out, 0.0f,
                           dx + k0, in, work);
    } else if (k1 > k0) {
        nn_sgemm(1, 0, k1 - k0, out, B, 1.0f, x + k0, in, dz, out, 1.0f, g + (size_t)k0 * out,
                 out);
        if (dx)
            nn_sgemm(0, 1, B, k1 - k0, out, 1.0f, dz, out, p + (size_t)k0 * out, out, 0.0f,
                     dx + k0, in);
    }
    if (bias && d->use_bias)
        bias_grad(d, g, dz, B);
}

/* Multiply-adds per sample: one per kernel weight. */
static double dense_macs(const nn_layer *l)
{
    const dense *d = l->priv;
    return (double)d->in * d->units;
}

/* Each unit's kernel column as an image of the model's input (a Dense on a
 * flattened image; for a single softmax layer, the per-class templates). */
static int dense_weight_image(const nn_layer *l, const nn_shape *image, nn_weight_image *wi)
{
    const dense *d = l->priv;
    if (!image || nn_shape_size(image) != (size_t)d->in)
        return 0;
    *wi = (nn_weight_image){.tile = *image, .units = d->units, .off = 0, .what = "units"};
    return 1;
}

static void dense_destroy(nn_layer *l)
{
    free(l->priv);
    l->priv = NULL;
}

/* Deterministic mode's team: nn_sgemm_rows gives every element of y and
 * dx one FMA chain in k order, so a slice of columns has the bits of the
 * whole call's (dense_forward's, dense_det_dx's). */
static void dense_det_cols(nn_layer *l, const float *p, const float *x, float *y, int B, int j0,
                           int j1)
{
    const dense *d = l->priv;
    if (j1 > j0)
        nn_sgemm_rows(B, j1 - j0, d->in, x, d->in, p + j0, d->units, y + j0, d->units);
}

static void dense_det_finish(nn_layer *l, const float *p, float *y, int r0, int n)
{
    const dense *d = l->priv;
    const float *b = d->use_bias ? p + (size_t)d->in * d->units : NULL;
    sum_parts(d, b, (const float *const *)&y, 1, 0, y, 0, n, n);
    nn_act_forward(nn_act_inner(l->act), y, (size_t)n, (size_t)d->units);
    nn_layer_act_keep(l, y, r0, n);
}

static void dense_det_team_dx(nn_layer *l, const float *p, int nb, const int *n,
                              const float *const *dz, float *const *dx, int k0, int k1)
{
    const dense *d = l->priv;
    if (k1 > k0)
        nn_sgemm_rows_t_blocks(nb, n, dz, d->units, k1 - k0, d->units, p + (size_t)k0 * d->units,
                               d->units, dx, d->in);
}

static const nn_layer_team_ops dense_team = {
    .split = dense_team_split,
    .forward = dense_team_forward,
    .finish = dense_team_finish,
    .dz = dense_team_dz,
    .backward = dense_team_backward,
    .det_cols = dense_det_cols,
    .det_finish = dense_det_finish,
    .det_dx = dense_det_team_dx,
};

static const nn_layer_info_ops dense_info = {
    .macs = dense_macs,
    .weight_image = dense_weight_image,
};

const nn_layer_ops nn_dense_ops = {
    .kind = "Dense",
    .arg_names = dense_args,
    .arg_aliases = NULL,
    .create = dense_create,
    .configure = dense_configure,
    .param_specs = dense_param_specs,
    .init_params = dense_init_params,
    .plan = dense_plan,
    .forward = dense_forward,
    .backward = dense_backward,
    .destroy = dense_destroy,
    .det_dx = dense_det_dx,
    .fusion = &nn_layer_fuses_act,
    .team = &dense_team,
    .info = &dense_info,
};
