/* Keras Conv2D, channels_last: NHWC input, HWIO kernel, im2col + one sgemm
 * per chunk of images. The column matrix [n*OH*OW x KH*KW*C] times the
 * kernel viewed as [KH*KW*C x F] is the output [n*OH*OW x F], already NHWC;
 * a Keras kernel loads as-is. Backward recomputes the columns per chunk:
 * dW += col^T dy, db += column sums of dy, dcol = dy W^T then col2im. The
 * batch is cut into chunks so the column buffer (the layer's workspace) stays
 * under nn_im2col_cap(). 1x1 / stride 1 / valid needs no columns at all:
 * the NHWC input already is the column matrix. Cross-correlation (no flip). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/im2col.h"
#include "nntrain/gemm.h"
#include "nntrain/layer.h"

typedef struct conv {
    int F, KH, KW, SH, SW, same, use_bias;
    nn_init kinit, binit;
    nn_conv_geom g;
    int direct;    /* 1x1, stride 1, no padding: x is the column matrix */
    int chunk;     /* images per chunk (plan) */
} conv;

static const char *const conv_args[] = {
    "filters", "kernel_size", "strides", "padding", "activation", "use_bias",
    "kernel_initializer", "bias_initializer", "data_format", "dilation_rate", NULL};

/* "Conv2D 'conv2d_1'" once the layer has a name, else "Conv2D". */
static const char *who(const nn_layer *l, char *buf, size_t len)
{
    if (l->name[0])
        snprintf(buf, len, "Conv2D '%s'", l->name);
    else
        snprintf(buf, len, "Conv2D");
    return buf;
}

/* "a, b, c" from a NULL-terminated list, for "expected one of" messages. */
static void join_names(const char *const *names, char *buf, size_t len)
{
    size_t k = 0;
    buf[0] = '\0';
    for (int i = 0; names[i] && k < len; i++)
        k += (size_t)snprintf(buf + k, len - k, "%s%s", i ? ", " : "", names[i]);
}

/* kernel_initializer / bias_initializer: a Keras initialiser name. */
static int bind_init(nn_layer *l, nn_args *a, const char *name, nn_init def,
                     nn_init *out, nn_error *e)
{
    char where[128], w[96], known[160];
    const char *s;
    int rc = nn_args_str(a, name, nn_init_names[def], &s, e);
    if (rc)
        return rc;
    for (int i = 0; nn_init_names[i]; i++)
        if (!strcasecmp(s, nn_init_names[i])) {
            *out = (nn_init)i;
            return NN_OK;
        }
    join_names(nn_init_names, known, sizeof known);
    return nn_err(e, NN_EINVAL, "%s: %s: %s: expected one of %s, found \"%s\"",
                  nn_value_where(a->call, nn_args_get(a, name), where, sizeof where),
                  who(l, w, sizeof w), name, known, s);
}

/* An option error at the value's path:line:col. */
#define OPT_ERR(code, name, fmt, ...)                                                \
    nn_err(e, code, "%s: %s: " fmt,                                                \
           nn_value_where(a->call, nn_args_get(a, name), where, sizeof where),      \
           who(l, w, sizeof w), __VA_ARGS__)

static int conv_create(nn_layer *l, nn_args *a, nn_error *e)
{
    char where[128], w[96];
    conv c;
    memset(&c, 0, sizeof c);
    int rc, ks[2], st[2], dil[2];
    static const int one[2] = {1, 1};
    const char *s;
    if (!nn_args_has(a, "filters") || !nn_args_has(a, "kernel_size"))
        return OPT_ERR(NN_EINVAL, "", "expected filters and kernel_size, e.g. "
                       "Conv2D(32, (3, 3)), found %s missing",
                       nn_args_has(a, "filters") ? "kernel_size" : "filters");
    if ((rc = nn_args_int(a, "filters", 0, &c.F, e)) ||
        (rc = nn_args_ints(a, "kernel_size", 2, NULL, ks, e)) ||
        (rc = nn_args_ints(a, "strides", 2, one, st, e)) ||
        (rc = nn_args_ints(a, "dilation_rate", 2, one, dil, e)))
        return rc;
    if (c.F < 1)
        return OPT_ERR(NN_EINVAL, "filters", "filters: expected a positive integer, found %d",
                       c.F);
    if (ks[0] < 1 || ks[1] < 1)
        return OPT_ERR(NN_EINVAL, "kernel_size", "kernel_size: expected positive integers, "
                       "found (%d, %d)", ks[0], ks[1]);
    if (st[0] < 1 || st[1] < 1)
        return OPT_ERR(NN_EINVAL, "strides", "strides: expected positive integers, found "
                       "(%d, %d)", st[0], st[1]);
    if (dil[0] != 1 || dil[1] != 1)
        return OPT_ERR(NN_EINVAL, "dilation_rate", "dilation_rate: expected 1 (dilated "
                       "convolution is not supported), found (%d, %d)", dil[0], dil[1]);
    if ((rc = nn_args_str(a, "padding", "valid", &s, e)))
        return rc;
    if (!strcasecmp(s, "valid") || !strcasecmp(s, "same"))
        c.same = !strcasecmp(s, "same");
    else
        return OPT_ERR(NN_EINVAL, "padding", "padding: expected \"valid\" or \"same\", "
                       "found \"%s\"", s);
    if ((rc = nn_args_str(a, "data_format", "channels_last", &s, e)))
        return rc;
    if (strcmp(s, "channels_last"))
        return OPT_ERR(NN_EINVAL, "data_format", "data_format: expected \"channels_last\" "
                       "(NHWC is the only layout), found \"%s\"", s);
    if ((rc = nn_args_str(a, "activation", NULL, &s, e)))
        return rc;
    if (nn_act_parse(s, &l->act)) {
        char known[160];
        join_names(nn_act_names, known, sizeof known);
        return OPT_ERR(NN_EINVAL, "activation", "activation: expected one of %s, found \"%s\"",
                       known, s);
    }
    if ((rc = nn_args_bool(a, "use_bias", 1, &c.use_bias, e)) ||
        (rc = bind_init(l, a, "kernel_initializer", NN_INIT_GLOROT_UNIFORM, &c.kinit, e)) ||
        (rc = bind_init(l, a, "bias_initializer", NN_INIT_ZEROS, &c.binit, e)))
        return rc;
    c.KH = ks[0];
    c.KW = ks[1];
    c.SH = st[0];
    c.SW = st[1];
    conv *p = malloc(sizeof *p);
    if (!p)
        return nn_err(e, NN_ENOMEM, "%s: out of memory", who(l, w, sizeof w));
    *p = c;
    l->priv = p;
    return NN_OK;
}

/* Output size and leading pad along one axis (TensorFlow convention). */
static int out_dim(int n, int k, int s, int same, int *pad_lo)
{
    if (!same) {
        *pad_lo = 0;
        return n >= k ? (n - k) / s + 1 : 0;
    }
    int o = (n + s - 1) / s, total = (o - 1) * s + k - n;
    *pad_lo = total > 0 ? total / 2 : 0;
    return o;
}

static int conv_configure(nn_layer *l, nn_error *e)
{
    conv *c = l->priv;
    char buf[64], w[96];
    if (l->in.n != 3)
        return nn_err(e, NN_ESHAPE, "%s: expected a 3-D input (height, width, channels), "
                      "found %s", who(l, w, sizeof w), nn_shape_str(&l->in, buf, sizeof buf));
    nn_conv_geom *g = &c->g;
    g->H = l->in.d[0];
    g->W = l->in.d[1];
    g->C = l->in.d[2];
    g->KH = c->KH;
    g->KW = c->KW;
    g->SH = c->SH;
    g->SW = c->SW;
    g->OH = out_dim(g->H, c->KH, c->SH, c->same, &g->PT);
    g->OW = out_dim(g->W, c->KW, c->SW, c->same, &g->PL);
    if (g->OH < 1 || g->OW < 1)
        return nn_err(e, NN_ESHAPE, "%s: kernel_size (%d, %d) is larger than the input "
                      "%s with padding=\"valid\": expected height >= %d and width >= %d "
                      "(or padding=\"same\")", who(l, w, sizeof w), c->KH, c->KW,
                      nn_shape_str(&l->in, buf, sizeof buf), c->KH, c->KW);
    size_t K = nn_conv_geom_k(g), P = (size_t)g->OH * g->OW;
    if (K * c->F > INT_MAX || P * (K > (size_t)c->F ? K : (size_t)c->F) > INT_MAX ||
        (size_t)g->H * g->W * g->C > INT_MAX)
        return nn_err(e, NN_ESHAPE, "%s: input %s with kernel_size (%d, %d) and %d filters "
                      "is too large (more than 2^31 elements per sample)", who(l, w, sizeof w),
                      nn_shape_str(&l->in, buf, sizeof buf), c->KH, c->KW, c->F);
    c->direct = c->KH == 1 && c->KW == 1 && c->SH == 1 && c->SW == 1;
    l->out = nn_shape3(g->OH, g->OW, c->F);
    l->param_len = nn_conv_geom_k(g) * c->F + (c->use_bias ? (size_t)c->F : 0);
    return NN_OK;
}

static int conv_param_specs(const nn_layer *l, nn_param_spec *s)
{
    const conv *c = l->priv;
    memset(s, 0, 2 * sizeof *s);
    strcpy(s[0].name, "kernel:0");
    s[0].ndim = 4;
    s[0].dims[0] = c->KH;
    s[0].dims[1] = c->KW;
    s[0].dims[2] = c->g.C;
    s[0].dims[3] = c->F;
    s[0].off = 0;
    if (!c->use_bias)
        return 1;
    strcpy(s[1].name, "bias:0");
    s[1].ndim = 1;
    s[1].dims[0] = c->F;
    s[1].off = nn_conv_geom_k(&c->g) * c->F;
    return 2;
}

static void conv_init_params(nn_layer *l, float *p, nn_rng *rng)
{
    const conv *c = l->priv;
    size_t k = nn_conv_geom_k(&c->g), kf = k * c->F;
    double rf = (double)c->KH * c->KW;
    nn_init_fill(c->kinit, p, kf, rf * c->g.C, rf * c->F, rng);
    if (c->use_bias)
        nn_init_fill(c->binit, p + kf, (size_t)c->F, c->F, c->F, rng); /* 1-D: fans = F */
}

/* Column bytes for one image. */
static size_t col_bytes(const conv *c)
{
    return (size_t)c->g.OH * c->g.OW * nn_conv_geom_k(&c->g) * sizeof(float);
}

static int conv_plan(nn_layer *l, int batch_max, size_t *work_bytes, nn_error *e)
{
    conv *c = l->priv;
    (void)e;
    if (c->direct) {   /* no columns: chunks only keep M = n*H*W an int */
        size_t nmax = INT_MAX / ((size_t)c->g.H * c->g.W);
        c->chunk = (size_t)batch_max < nmax ? batch_max : (int)nmax;
        if (c->chunk < 1)
            c->chunk = 1;
        *work_bytes = 0;
        return NN_OK;
    }
    size_t per = col_bytes(c), n = nn_im2col_cap() / per;
    size_t nmax = INT_MAX / ((size_t)c->g.OH * c->g.OW);  /* M = n*OH*OW is an int */
    if (n > nmax)
        n = nmax;
    if (n < 1)
        n = 1;
    if (batch_max >= 1 && n > (size_t)batch_max)
        n = (size_t)batch_max;
    c->chunk = (int)n;
    *work_bytes = n * per;
    return NN_OK;
}

static void conv_forward(nn_layer *l, const float *p /* kernel (KH,KW,C,F), bias (F) */,
                         const float *x /* (B, H, W, C) */, float *y /* (B, OH, OW, F) */,
                         int B, nn_ctx *ctx)
{
    const conv *c = l->priv;
    const nn_conv_geom *g = &c->g;
    const int F = c->F, K = (int)nn_conv_geom_k(g), P = g->OH * g->OW;
    const size_t xin = (size_t)g->H * g->W * g->C;
    const float *bias = p + (size_t)K * F;
    int chunk = c->chunk;
    for (int b0 = 0; b0 < B; b0 += chunk) {
        int n = B - b0 < chunk ? B - b0 : chunk, M = n * P;
        const float *col = x + (size_t)b0 * xin;
        float *yc = y + (size_t)b0 * P * F;
        if (!c->direct) {
            nn_im2col(g, col, n, ctx->work);
            col = ctx->work;
        }
        nn_sgemm(0, 0, M, F, K, 1.0f, col, K, p, F, 0.0f, yc, F);
        if (c->use_bias)
            for (int r = 0; r < M; r++) {
                float *yr = yc + (size_t)r * F;
                for (int f = 0; f < F; f++)
                    yr[f] += bias[f];
            }
        nn_act_forward(l->act, yc, (size_t)M, (size_t)F);
    }
}

static void conv_backward(nn_layer *l, const float *p /* kernel (KH,KW,C,F), bias (F) */,
                          float *gr /* dkernel, dbias */, const float *x /* (B, H, W, C) */,
                          const float *y /* (B, OH, OW, F) */, float *dy /* (B, OH, OW, F) */,
                          float *dx /* (B, H, W, C) or NULL */, int B, nn_ctx *ctx)
{
    const conv *c = l->priv;
    const nn_conv_geom *g = &c->g;
    const int F = c->F, K = (int)nn_conv_geom_k(g), P = g->OH * g->OW;
    const size_t xin = (size_t)g->H * g->W * g->C;
    if (!l->dy_is_preact)
        nn_act_backward(l->act, y, dy, (size_t)B * P, (size_t)F);
    if (gr && c->use_bias) {
        float *db = gr + (size_t)K * F;
        for (size_t r = 0; r < (size_t)B * P; r++) {
            const float *d = dy + r * F;
            for (int f = 0; f < F; f++)
                db[f] += d[f];
        }
    }
    if (dx && !c->direct)   /* col2im adds; the direct path overwrites */
        memset(dx, 0, (size_t)B * xin * sizeof *dx);
    int chunk = c->chunk;
    for (int b0 = 0; b0 < B; b0 += chunk) {
        int n = B - b0 < chunk ? B - b0 : chunk, M = n * P;
        const float *dyc = dy + (size_t)b0 * P * F;
        if (c->direct) {
            /* dW += x^T dy, dx = dy W^T: no columns needed. */
            if (gr)
                nn_sgemm(1, 0, K, F, M, 1.0f, x + (size_t)b0 * xin, K, dyc, F, 1.0f, gr, F);
            if (dx)
                nn_sgemm(0, 1, M, K, F, 1.0f, dyc, F, p, F, 0.0f, dx + (size_t)b0 * xin, K);
            continue;
        }
        float *col = ctx->work;
        if (gr) {
            nn_im2col(g, x + (size_t)b0 * xin, n, col);
            nn_sgemm(1, 0, K, F, M, 1.0f, col, K, dyc, F, 1.0f, gr, F);
        }
        if (dx) {
            /* The columns are no longer needed: reuse the buffer for dcol. */
            nn_sgemm(0, 1, M, K, F, 1.0f, dyc, F, p, F, 0.0f, col, K);
            nn_col2im_add(g, col, n, dx + (size_t)b0 * xin);
        }
    }
}

static void conv_destroy(nn_layer *l)
{
    free(l->priv);
    l->priv = NULL;
}

const nn_layer_ops nn_conv2d_ops = {
    .kind = "Conv2D",
    .arg_names = conv_args,
    .arg_aliases = NULL,
    .create = conv_create,
    .configure = conv_configure,
    .param_specs = conv_param_specs,
    .init_params = conv_init_params,
    .plan = conv_plan,
    .forward = conv_forward,
    .backward = conv_backward,
    .destroy = conv_destroy,
};
