/* Keras MaxPooling2D, channels_last. Forward takes the max over each window
 * for a contiguous run of C channels at a time and records, per output
 * element, the offset of the winning input inside its image (the argmax,
 * planned for batch_max rows); backward scatters dy to those offsets. With
 * padding="same" (TensorFlow convention, extra padding at the bottom/right)
 * the window is clipped to the image, so padded cells never win: they act
 * as -inf. Ties go to the first cell in (h, w) order. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nntrain/layer.h"

typedef struct pool {
    int PH, PW, SH, SW, same;
    int H, W, C, OH, OW, PT, PL;
    int32_t *arg;      /* (rows, OH, OW, C): input offset inside the image */
    size_t rows;       /* batch rows arg holds */
} pool;

static const char *const pool_args[] = {"pool_size", "strides", "padding", "data_format",
                                        NULL};

/* "MaxPooling2D 'max_pooling2d'" once the layer has a name. */
static const char *who(const nn_layer *l, char *buf, size_t len)
{
    if (l->name[0])
        snprintf(buf, len, "MaxPooling2D '%s'", l->name);
    else
        snprintf(buf, len, "MaxPooling2D");
    return buf;
}

/* An option error at the value's path:line:col. */
#define OPT_ERR(code, name, fmt, ...)                                                \
    nn_err(e, code, "%s: %s: " fmt,                                                \
           nn_value_where(a->call, nn_args_get(a, name), where, sizeof where),      \
           who(l, w, sizeof w), __VA_ARGS__)

static int pool_create(nn_layer *l, nn_args *a, nn_error *e)
{
    char where[128], w[96];
    pool p;
    memset(&p, 0, sizeof p);
    static const int two[2] = {2, 2};
    int ps[2], st[2], rc;
    const char *s;
    if ((rc = nn_args_ints(a, "pool_size", 2, two, ps, e)))
        return rc;
    if (ps[0] < 1 || ps[1] < 1)
        return OPT_ERR(NN_EINVAL, "pool_size", "pool_size: expected positive integers, "
                       "found (%d, %d)", ps[0], ps[1]);
    if ((rc = nn_args_ints(a, "strides", 2, ps, st, e)))   /* None: pool_size */
        return rc;
    if (st[0] < 1 || st[1] < 1)
        return OPT_ERR(NN_EINVAL, "strides", "strides: expected positive integers, found "
                       "(%d, %d)", st[0], st[1]);
    if ((rc = nn_args_str(a, "padding", "valid", &s, e)))
        return rc;
    if (!strcasecmp(s, "valid") || !strcasecmp(s, "same"))
        p.same = !strcasecmp(s, "same");
    else
        return OPT_ERR(NN_EINVAL, "padding", "padding: expected \"valid\" or \"same\", "
                       "found \"%s\"", s);
    if ((rc = nn_args_str(a, "data_format", "channels_last", &s, e)))
        return rc;
    if (strcmp(s, "channels_last"))
        return OPT_ERR(NN_EINVAL, "data_format", "data_format: expected \"channels_last\" "
                       "(NHWC is the only layout), found \"%s\"", s);
    p.PH = ps[0];
    p.PW = ps[1];
    p.SH = st[0];
    p.SW = st[1];
    pool *q = malloc(sizeof *q);
    if (!q)
        return nn_err(e, NN_ENOMEM, "%s: out of memory", who(l, w, sizeof w));
    *q = p;
    l->priv = q;
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

static int pool_configure(nn_layer *l, nn_error *e)
{
    pool *p = l->priv;
    char buf[64], w[96];
    if (l->in.n != 3)
        return nn_err(e, NN_ESHAPE, "%s: expected a 3-D input (height, width, channels), "
                      "found %s", who(l, w, sizeof w), nn_shape_str(&l->in, buf, sizeof buf));
    p->H = l->in.d[0];
    p->W = l->in.d[1];
    p->C = l->in.d[2];
    p->OH = out_dim(p->H, p->PH, p->SH, p->same, &p->PT);
    p->OW = out_dim(p->W, p->PW, p->SW, p->same, &p->PL);
    if (p->OH < 1 || p->OW < 1)
        return nn_err(e, NN_ESHAPE, "%s: pool_size (%d, %d) is larger than the input %s "
                      "with padding=\"valid\": expected height >= %d and width >= %d",
                      who(l, w, sizeof w), p->PH, p->PW, nn_shape_str(&l->in, buf, sizeof buf),
                      p->PH, p->PW);
    if ((size_t)p->H * p->W * p->C > INT32_MAX)
        return nn_err(e, NN_ESHAPE, "%s: input %s has more than 2^31 elements per sample",
                      who(l, w, sizeof w), nn_shape_str(&l->in, buf, sizeof buf));
    l->out = nn_shape3(p->OH, p->OW, p->C);
    l->param_len = 0;
    p->rows = 0;   /* a new shape needs a new plan */
    return NN_OK;
}

static int pool_param_specs(const nn_layer *l, nn_param_spec *specs)
{
    (void)l;
    (void)specs;
    return 0;
}

static void pool_init_params(nn_layer *l, float *p, nn_rng *rng)
{
    (void)l;
    (void)p;
    (void)rng;
}

static int pool_plan(nn_layer *l, int batch_max, size_t *work_bytes, nn_error *e)
{
    pool *p = l->priv;
    char w[96];
    *work_bytes = 0;
    if (batch_max < 1 || (size_t)batch_max <= p->rows)
        return NN_OK;
    size_t n = (size_t)batch_max * p->OH * p->OW * p->C;
    int32_t *a = realloc(p->arg, n * sizeof *a);
    if (!a)
        return nn_err(e, NN_ENOMEM, "%s: cannot allocate the argmax for %d rows (%zu bytes)",
                      who(l, w, sizeof w), batch_max, n * sizeof *a);
    p->arg = a;
    p->rows = (size_t)batch_max;
    return NN_OK;
}

/* Valid window [*lo, *hi) on an axis of length n starting at i0 (may be < 0). */
static void window(int i0, int k, int n, int *lo, int *hi)
{
    *lo = i0 < 0 ? 0 : i0;
    *hi = i0 + k < n ? i0 + k : n;
}

static void pool_forward(nn_layer *l, const float *par, const float *x /* (B, H, W, C) */,
                         float *y /* (B, OH, OW, C) */, int B, nn_ctx *ctx)
{
    pool *p = l->priv;
    (void)par;
    (void)ctx;
    const int C = p->C, W = p->W;
    const size_t img = (size_t)p->H * W * C;
    float *yo = y;
    int32_t *ao = p->arg;
    for (int b = 0; b < B; b++) {
        const float *xb = x + (size_t)b * img;
        for (int oh = 0; oh < p->OH; oh++) {
            int h_lo, h_hi;
            window(oh * p->SH - p->PT, p->PH, p->H, &h_lo, &h_hi);
            for (int ow = 0; ow < p->OW; ow++, yo += C, ao += C) {
                int w_lo, w_hi;
                window(ow * p->SW - p->PL, p->PW, W, &w_lo, &w_hi);
                int32_t off0 = (int32_t)(((size_t)h_lo * W + w_lo) * C);
                for (int c = 0; c < C; c++) {
                    yo[c] = xb[off0 + c];
                    ao[c] = off0 + c;
                }
                for (int ih = h_lo; ih < h_hi; ih++)
                    for (int iw = ih == h_lo ? w_lo + 1 : w_lo; iw < w_hi; iw++) {
                        int32_t off = (int32_t)(((size_t)ih * W + iw) * C);
                        const float *src = xb + off;
                        for (int c = 0; c < C; c++) {
                            float v = src[c];
                            int gt = v > yo[c];
                            yo[c] = gt ? v : yo[c];
                            ao[c] = gt ? off + c : ao[c];
                        }
                    }
            }
        }
    }
}

static void pool_backward(nn_layer *l, const float *par, float *g, const float *x,
                          const float *y, float *dy /* (B, OH, OW, C) */,
                          float *dx /* (B, H, W, C) or NULL */, int B, nn_ctx *ctx)
{
    const pool *p = l->priv;
    (void)par;
    (void)g;
    (void)x;
    (void)y;
    (void)ctx;
    if (!dx)
        return;
    const size_t img = (size_t)p->H * p->W * p->C, out = (size_t)p->OH * p->OW * p->C;
    memset(dx, 0, (size_t)B * img * sizeof *dx);
    for (int b = 0; b < B; b++) {
        float *db = dx + (size_t)b * img;
        const float *d = dy + (size_t)b * out;
        const int32_t *a = p->arg + (size_t)b * out;
        for (size_t i = 0; i < out; i++)
            db[a[i]] += d[i];
    }
}

static void pool_destroy(nn_layer *l)
{
    pool *p = l->priv;
    if (p)
        free(p->arg);
    free(p);
    l->priv = NULL;
}

const nn_layer_ops nn_maxpool2d_ops = {
    .kind = "MaxPooling2D",
    .arg_names = pool_args,
    .arg_aliases = NULL,
    .create = pool_create,
    .configure = pool_configure,
    .param_specs = pool_param_specs,
    .init_params = pool_init_params,
    .plan = pool_plan,
    .forward = pool_forward,
    .backward = pool_backward,
    .destroy = pool_destroy,
};
