/* Keras Conv2DTranspose, channels_last. The layer is the gradient (adjoint)
 * of a Conv2D that maps its OUTPUT (OH, OW, F) back to its input (H, W, C)
 * with the same kernel, strides and padding; TensorFlow defines it that way
 * (conv2d_backprop_input), which fixes the padding side: "same" pads that
 * Conv2D as TF does, the smaller half on the top/left. The Keras kernel
 * (KH, KW, F, C) is exactly that Conv2D's HWIO kernel, viewed as [K x C]
 * with K = KH*KW*F, so it loads as-is. With the Conv2D's im2col geometry:
 *   forward   col = x W^T [n*H*W x K], then col2im add into y (zeroed)
 *   backward  col = im2col(dy); dx = col W; dW += col^T x; db = sums of dy
 * One sgemm per chunk of images; the column buffer is the workspace, chunked
 * under nn_im2col_cap(). 1x1 / stride 1 needs no columns. Output size as in
 * Keras's deconv_output_length; output_padding is supported. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/im2col.h"
#include "nntrain/gemm.h"
#include "nntrain/layer.h"

typedef struct deconv {
    int F, KH, KW, SH, SW, same, use_bias;
    int has_op, OPH, OPW;   /* output_padding (has_op = 0: None) */
    int C;                  /* input channels */
    nn_init kinit, binit;
    nn_conv_geom g;         /* the adjoint Conv2D: (OH, OW, F) -> (H, W, C) */
    int direct;             /* 1x1, stride 1: x W^T is y, no columns */
    int chunk;              /* images per chunk (plan) */
} deconv;

static const char *const deconv_args[] = {
    "filters", "kernel_size", "strides", "padding", "output_padding", "activation",
    "use_bias", "kernel_initializer", "bias_initializer", "data_format", "dilation_rate",
    NULL};

/* "Conv2DTranspose 'conv2d_transpose'" once the layer has a name. */
static const char *who(const nn_layer *l, char *buf, size_t len)
{
    if (l->name[0])
        snprintf(buf, len, "Conv2DTranspose '%s'", l->name);
    else
        snprintf(buf, len, "Conv2DTranspose");
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

/* An option error at the value's path:line:col. */
#define OPT_ERR(code, name, fmt, ...)                                                \
    nn_err(e, code, "%s: %s: " fmt,                                                \
           nn_value_where(a->call, nn_args_get(a, name), where, sizeof where),      \
           who(l, w, sizeof w), __VA_ARGS__)

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
    return OPT_ERR(NN_EINVAL, name, "%s: expected one of %s, found \"%s\"", name, known, s);
}

static int deconv_create(nn_layer *l, nn_args *a, nn_error *e)
{
    char where[128], w[96];
    deconv c;
    memset(&c, 0, sizeof c);
    int rc, ks[2], st[2], dil[2], op[2];
    static const int one[2] = {1, 1};
    const char *s;
    if (!nn_args_has(a, "filters") || !nn_args_has(a, "kernel_size"))
        return OPT_ERR(NN_EINVAL, "", "expected filters and kernel_size, e.g. "
                       "Conv2DTranspose(16, (3, 3), strides=2), found %s missing",
                       nn_args_has(a, "filters") ? "kernel_size" : "filters");
    const nn_value *opv = nn_args_get(a, "output_padding");
    c.has_op = opv && opv->kind != NN_V_NONE;
    if ((rc = nn_args_int(a, "filters", 0, &c.F, e)) ||
        (rc = nn_args_ints(a, "kernel_size", 2, NULL, ks, e)) ||
        (rc = nn_args_ints(a, "strides", 2, one, st, e)) ||
        (rc = nn_args_ints(a, "output_padding", 2, NULL, op, e)) ||
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
    if (c.has_op && (op[0] < 0 || op[1] < 0 || op[0] >= st[0] || op[1] >= st[1]))
        return OPT_ERR(NN_EINVAL, "output_padding", "output_padding: expected 0 <= "
                       "output_padding < strides (%d, %d) per axis, found (%d, %d)",
                       st[0], st[1], op[0], op[1]);
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
    c.OPH = op[0];
    c.OPW = op[1];
    deconv *p = malloc(sizeof *p);
    if (!p)
        return nn_err(e, NN_ENOMEM, "%s: out of memory", who(l, w, sizeof w));
    *p = c;
    l->priv = p;
    return NN_OK;
}

/* Keras deconv_output_length along one axis: input n, kernel k, stride s,
 * output padding op (has_op = 0: None). long: no overflow for int inputs. */
static long deconv_len(int n, int k, int s, int same, int has_op, int op)
{
    if (has_op)
        return (long)(n - 1) * s + k - (same ? 2 * (k / 2) : 0) + op;
    if (same)
        return (long)n * s;
    return (long)n * s + (k > s ? k - s : 0);
}

/* The adjoint Conv2D along one axis: its input has length o; returns its
 * output length and sets its leading pad (TensorFlow convention). */
static long conv_len(long o, int k, int s, int same, int *pad_lo)
{
    *pad_lo = 0;
    if (!same)
        return o >= k ? (o - k) / s + 1 : 0;
    long out = (o + s - 1) / s, total = (out - 1) * s + k - o;
    *pad_lo = total > 0 ? (int)(total / 2) : 0;
    return out;
}

static int deconv_configure(nn_layer *l, nn_error *e)
{
    deconv *c = l->priv;
    char buf[64], w[96];
    if (l->in.n != 3)
        return nn_err(e, NN_ESHAPE, "%s: expected a 3-D input (height, width, channels), "
                      "found %s", who(l, w, sizeof w), nn_shape_str(&l->in, buf, sizeof buf));
    int H = l->in.d[0], W = l->in.d[1];
    c->C = l->in.d[2];
    long OH = deconv_len(H, c->KH, c->SH, c->same, c->has_op, c->OPH);
    long OW = deconv_len(W, c->KW, c->SW, c->same, c->has_op, c->OPW);
    nn_conv_geom *g = &c->g;
    g->KH = c->KH;
    g->KW = c->KW;
    g->SH = c->SH;
    g->SW = c->SW;
    g->C = c->F;
    long bh = conv_len(OH, c->KH, c->SH, c->same, &g->PT);
    long bw = conv_len(OW, c->KW, c->SW, c->same, &g->PL);
    /* TensorFlow refuses an output the adjoint Conv2D would not map back to
     * the input (only reachable with output_padding). */
    if (OH < 1 || OW < 1 || bh != H || bw != W)
        return nn_err(e, NN_ESHAPE, "%s: input %s with kernel_size (%d, %d), strides "
                      "(%d, %d), padding=\"%s\" and output_padding (%d, %d) gives an output "
                      "of %ld x %ld, which a Conv2D with the same settings maps to %ld x %ld, "
                      "expected %d x %d (TensorFlow rejects this too): change "
                      "output_padding", who(l, w, sizeof w),
                      nn_shape_str(&l->in, buf, sizeof buf), c->KH, c->KW, c->SH, c->SW,
                      c->same ? "same" : "valid", c->OPH, c->OPW, OH, OW, bh, bw, H, W);
    size_t K = (size_t)c->KH * c->KW * c->F, P = (size_t)H * W;
    if (OH > INT_MAX || OW > INT_MAX || (size_t)OH * (size_t)OW * c->F > INT_MAX ||
        K * c->C > INT_MAX || P * (K > (size_t)c->C ? K : (size_t)c->C) > INT_MAX)
        return nn_err(e, NN_ESHAPE, "%s: input %s with kernel_size (%d, %d) and %d filters "
                      "is too large (more than 2^31 elements per sample)", who(l, w, sizeof w),
                      nn_shape_str(&l->in, buf, sizeof buf), c->KH, c->KW, c->F);
    g->H = (int)OH;
    g->W = (int)OW;
    g->OH = H;
    g->OW = W;
    c->direct = c->KH == 1 && c->KW == 1 && c->SH == 1 && c->SW == 1;
    l->out = nn_shape3(g->H, g->W, c->F);
    l->param_len = K * c->C + (c->use_bias ? (size_t)c->F : 0);
    return NN_OK;
}

static int deconv_param_specs(const nn_layer *l, nn_param_spec *s)
{
    const deconv *c = l->priv;
    memset(s, 0, 2 * sizeof *s);
    strcpy(s[0].name, "kernel:0");
    s[0].ndim = 4;
    s[0].dims[0] = c->KH;
    s[0].dims[1] = c->KW;
    s[0].dims[2] = c->F;   /* Keras: (KH, KW, filters, in_channels) */
    s[0].dims[3] = c->C;
    s[0].off = 0;
    if (!c->use_bias)
        return 1;
    strcpy(s[1].name, "bias:0");
    s[1].ndim = 1;
    s[1].dims[0] = c->F;
    s[1].off = (size_t)c->KH * c->KW * c->F * c->C;
    return 2;
}

/* Keras computes fans from the kernel shape (KH, KW, F, C): fan_in uses
 * shape[-2] = F and fan_out shape[-1] = C, the reverse of Conv2D. */
static void deconv_init_params(nn_layer *l, float *p, nn_rng *rng)
{
    const deconv *c = l->priv;
    double rf = (double)c->KH * c->KW;
    size_t kc = (size_t)c->KH * c->KW * c->F * c->C;
    nn_init_fill(c->kinit, p, kc, rf * c->F, rf * c->C, rng);
    if (c->use_bias)
        nn_init_fill(c->binit, p + kc, (size_t)c->F, c->F, c->F, rng);
}

static int deconv_plan(nn_layer *l, int batch_max, size_t *work_bytes, nn_error *e)
{
    deconv *c = l->priv;
    (void)e;
    size_t P = (size_t)c->g.OH * c->g.OW, Q = (size_t)c->g.H * c->g.W;
    size_t nmax = INT_MAX / (P > Q ? P : Q);   /* M = n*H*W and n*OH*OW are ints */
    if (c->direct) {
        c->chunk = (size_t)batch_max < nmax ? batch_max : (int)nmax;
        if (c->chunk < 1)
            c->chunk = 1;
        *work_bytes = 0;
        return NN_OK;
    }
    size_t per = P * nn_conv_geom_k(&c->g) * sizeof(float), n = nn_im2col_cap() / per;
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

static void deconv_forward(nn_layer *l, const float *p /* kernel (KH,KW,F,C), bias (F) */,
                           const float *x /* (B, H, W, C) */,
                           float *y /* (B, OH, OW, F) */, int B, nn_ctx *ctx)
{
    const deconv *c = l->priv;
    const nn_conv_geom *g = &c->g;
    const int F = c->F, C = c->C, K = (int)nn_conv_geom_k(g), P = g->OH * g->OW;
    const size_t Q = (size_t)g->H * g->W;   /* output pixels per image */
    const float *bias = p + (size_t)K * C;
    int chunk = c->chunk;
    for (int b0 = 0; b0 < B; b0 += chunk) {
        int n = B - b0 < chunk ? B - b0 : chunk, M = n * P;
        const float *xc = x + (size_t)b0 * P * C;
        float *yc = y + (size_t)b0 * Q * F;
        if (c->direct) {
            nn_sgemm(0, 1, M, F, C, 1.0f, xc, C, p, C, 0.0f, yc, F);
        } else {
            nn_sgemm(0, 1, M, K, C, 1.0f, xc, C, p, C, 0.0f, ctx->work, K);
            memset(yc, 0, (size_t)n * Q * F * sizeof *yc);
            nn_col2im_add(g, ctx->work, n, yc);
        }
        size_t rows = (size_t)n * Q;
        if (c->use_bias)
            for (size_t r = 0; r < rows; r++) {
                float *yr = yc + r * F;
                for (int f = 0; f < F; f++)
                    yr[f] += bias[f];
            }
        nn_act_forward(l->act, yc, rows, (size_t)F);
    }
}

static void deconv_backward(nn_layer *l, const float *p /* kernel (KH,KW,F,C), bias (F) */,
                            float *gr /* dkernel, dbias */, const float *x /* (B, H, W, C) */,
                            const float *y /* (B, OH, OW, F) */,
                            float *dy /* (B, OH, OW, F) */,
                            float *dx /* (B, H, W, C) or NULL */, int B, nn_ctx *ctx)
{
    const deconv *c = l->priv;
    const nn_conv_geom *g = &c->g;
    const int F = c->F, C = c->C, K = (int)nn_conv_geom_k(g), P = g->OH * g->OW;
    const size_t Q = (size_t)g->H * g->W;
    if (!l->dy_is_preact)
        nn_act_backward(l->act, y, dy, (size_t)B * Q, (size_t)F);
    if (gr && c->use_bias) {
        float *db = gr + (size_t)K * C;
        for (size_t r = 0; r < (size_t)B * Q; r++) {
            const float *d = dy + r * F;
            for (int f = 0; f < F; f++)
                db[f] += d[f];
        }
    }
    if (!gr && !dx)
        return;
    int chunk = c->chunk;
    for (int b0 = 0; b0 < B; b0 += chunk) {
        int n = B - b0 < chunk ? B - b0 : chunk, M = n * P;
        const float *col = dy + (size_t)b0 * Q * F;   /* direct: dy is the column matrix */
        if (!c->direct) {
            nn_im2col(g, col, n, ctx->work);
            col = ctx->work;
        }
        if (dx)
            nn_sgemm(0, 0, M, C, K, 1.0f, col, K, p, C, 0.0f, dx + (size_t)b0 * P * C, C);
        if (gr)
            nn_sgemm(1, 0, K, C, M, 1.0f, col, K, x + (size_t)b0 * P * C, C, 1.0f, gr, C);
    }
}

static void deconv_destroy(nn_layer *l)
{
    free(l->priv);
    l->priv = NULL;
}

const nn_layer_ops nn_conv2d_transpose_ops = {
    .kind = "Conv2DTranspose",
    .arg_names = deconv_args,
    .arg_aliases = NULL,
    .create = deconv_create,
    .configure = deconv_configure,
    .param_specs = deconv_param_specs,
    .init_params = deconv_init_params,
    .plan = deconv_plan,
    .forward = deconv_forward,
    .backward = deconv_backward,
    .destroy = deconv_destroy,
};
