/* Owns GlobalAveragePooling2D and GlobalMaxPooling2D (Keras), channels_last:
 * (H, W, C) -> (C,), or (1, 1, C) with keepdims=True (Keras 2.6+; the
 * default is False as in Keras 2). Both walk the image pixel by pixel over
 * contiguous runs of C channels. The max records, per sample and channel,
 * the pixel of the first maximum in (h, w) order (planned for batch_max
 * rows) and backward sends dy there only, as MaxPooling2D does with ties.
 * With l->mask_relu (a ReLU below) the max's backward also applies that
 * ReLU's derivative: the winner is > 0 exactly when y is. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "layers/layer_util.h"
#include "nntrain/layer.h"

typedef struct gpool {
    int keepdims;
    int HW, C;
    int32_t *arg;      /* (rows, C): the winning pixel h * W + w (max only) */
    size_t rows;       /* batch rows arg holds */
} gpool;

static const char *const gpool_args[] = {"data_format", "keepdims", NULL};

static int gpool_create(nn_layer *l, nn_args *a, nn_error *e)
{
    gpool p;
    memset(&p, 0, sizeof p);
    int rc;
    if ((rc = nn_layer_bind_channels_last(l, a, e)) ||
        (rc = nn_args_bool(a, "keepdims", 0, &p.keepdims, e)))
        return rc;
    return nn_layer_keep(l, &p, sizeof p, e);
}

static int gpool_configure(nn_layer *l, nn_error *e)
{
    gpool *p = l->priv;
    char buf[64], w[96];
    int rc = nn_layer_need_image(l, e);
    if (rc)
        return rc;
    if (nn_shape_size(&l->in) > INT32_MAX)
        return nn_err(e, NN_ESHAPE, "%s: input %s has more than 2^31 elements per sample",
                      nn_layer_who(l, w, sizeof w), nn_shape_str(&l->in, buf, sizeof buf));
    p->HW = l->in.d[0] * l->in.d[1];
    p->C = l->in.d[2];
    l->out = p->keepdims ? nn_shape3(1, 1, p->C) : nn_shape1(p->C);
    l->param_len = 0;
    p->rows = 0;   /* a new shape needs a new plan */
    return NN_OK;
}

static void gpool_destroy(nn_layer *l)
{
    gpool *p = l->priv;
    if (p)
        free(p->arg);
    free(p);
    l->priv = NULL;
}

/* ---- GlobalAveragePooling2D -------------------------------------------- */

static void gavg_forward(nn_layer *l, const float *par, const float *x /* (B, H, W, C) */,
                         float *y /* (B, C) */, int B, nn_ctx *ctx)
{
    const gpool *p = l->priv;
    (void)par;
    (void)ctx;
    const size_t C = (size_t)p->C, img = (size_t)p->HW * C;
    const float inv = 1.0f / (float)p->HW;
    for (int b = 0; b < B; b++) {
        const float *xb = x + (size_t)b * img;
        float *restrict o = y + (size_t)b * C;
        memcpy(o, xb, C * sizeof *o);
        for (int i = 1; i < p->HW; i++) {
            const float *restrict s = xb + (size_t)i * C;
            for (size_t c = 0; c < C; c++)
                o[c] += s[c];
        }
        for (size_t c = 0; c < C; c++)
            o[c] *= inv;
    }
}

static void gavg_backward(nn_layer *l, const float *par, float *g, const float *x,
                          const float *y, float *dy /* (B, C) */,
                          float *dx /* (B, H, W, C) or NULL */, int B, nn_ctx *ctx)
{
    const gpool *p = l->priv;
    (void)par;
    (void)g;
    (void)x;
    (void)y;
    (void)ctx;
    if (!dx)
        return;
    const size_t C = (size_t)p->C, img = (size_t)p->HW * C;
    const float inv = 1.0f / (float)p->HW;
    for (int b = 0; b < B; b++) {
        const float *restrict d = dy + (size_t)b * C;
        float *restrict first = dx + (size_t)b * img;
        for (size_t c = 0; c < C; c++)
            first[c] = d[c] * inv;
        for (int i = 1; i < p->HW; i++)
            memcpy(first + (size_t)i * C, first, C * sizeof *dx);
    }
}

const nn_layer_ops nn_global_avgpool2d_ops = {
    .kind = "GlobalAveragePooling2D",
    .arg_names = gpool_args,
    .arg_aliases = NULL,
    .create = gpool_create,
    .configure = gpool_configure,
    .param_specs = nn_layer_no_param_specs,
    .init_params = nn_layer_no_init_params,
    .plan = NULL,
    .forward = gavg_forward,
    .backward = gavg_backward,
    .destroy = gpool_destroy,
    .bwd_skips = NN_SKIPS_X | NN_SKIPS_Y,
};

/* ---- GlobalMaxPooling2D ------------------------------------------------- */

static int gmax_plan(nn_layer *l, int batch_max, size_t *work_bytes, nn_error *e)
{
    gpool *p = l->priv;
    char w[96];
    *work_bytes = 0;
    if (batch_max < 1 || (size_t)batch_max <= p->rows)
        return NN_OK;
    size_t n = (size_t)batch_max * p->C;
    int32_t *a = realloc(p->arg, n * sizeof *a);
    if (!a)
        return nn_err(e, NN_ENOMEM, "%s: cannot allocate the argmax for %d rows (%zu bytes)",
                      nn_layer_who(l, w, sizeof w), batch_max, n * sizeof *a);
    p->arg = a;
    p->rows = (size_t)batch_max;
    return NN_OK;
}

static void gmax_forward(nn_layer *l, const float *par, const float *x /* (B, H, W, C) */,
                         float *y /* (B, C) */, int B, nn_ctx *ctx)
{
    gpool *p = l->priv;
    (void)par;
    const size_t C = (size_t)p->C, img = (size_t)p->HW * C;
    int32_t *arg = p->arg + (size_t)ctx->row0 * C;
    for (int b = 0; b < B; b++) {
        const float *xb = x + (size_t)b * img;
        float *restrict o = y + (size_t)b * C;
        int32_t *restrict at = arg + (size_t)b * C;
        memcpy(o, xb, C * sizeof *o);
        memset(at, 0, C * sizeof *at);
        for (int i = 1; i < p->HW; i++) {
            const float *restrict s = xb + (size_t)i * C;
            for (size_t c = 0; c < C; c++)
                if (s[c] > o[c]) {   /* strictly: ties keep the first */
                    o[c] = s[c];
                    at[c] = i;
                }
        }
    }
}

static void gmax_backward(nn_layer *l, const float *par, float *g, const float *x,
                          const float *y, float *dy /* (B, C) */,
                          float *dx /* (B, H, W, C) or NULL */, int B, nn_ctx *ctx)
{
    const gpool *p = l->priv;
    (void)par;
    (void)g;
    (void)x;
    if (!dx)
        return;
    const size_t C = (size_t)p->C, img = (size_t)p->HW * C;
    const int32_t *arg = p->arg + (size_t)ctx->row0 * C;
    const float *ym = l->mask_relu ? y : NULL;   /* only y > 0 passes */
    memset(dx, 0, (size_t)B * img * sizeof *dx);
    for (int b = 0; b < B; b++) {
        float *db = dx + (size_t)b * img;
        const float *d = dy + (size_t)b * C;
        const int32_t *a = arg + (size_t)b * C;
        for (size_t c = 0; c < C; c++)
            if (!ym || ym[(size_t)b * C + c] > 0.0f)
                db[(size_t)a[c] * C + c] = d[c];
    }
}

static const nn_layer_fusion gmax_fusion = {.commutes_relu = 1};

const nn_layer_ops nn_global_maxpool2d_ops = {
    .kind = "GlobalMaxPooling2D",
    .arg_names = gpool_args,
    .arg_aliases = NULL,
    .create = gpool_create,
    .configure = gpool_configure,
    .param_specs = nn_layer_no_param_specs,
    .init_params = nn_layer_no_init_params,
    .plan = gmax_plan,
    .forward = gmax_forward,
    .backward = gmax_backward,
    .destroy = gpool_destroy,
    .bwd_skips = NN_SKIPS_X | NN_SKIPS_Y,   /* the argmax is kept */
    .fusion = &gmax_fusion,
};
