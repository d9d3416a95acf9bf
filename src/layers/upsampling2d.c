/* Owns the UpSampling2D layer (Keras), channels_last,
 * interpolation="nearest": every input pixel becomes an SH x SW block,
 * y[h, w] = x[h / SH, w / SW]. Forward builds one output row from runs of C
 * floats and copies it SH - 1 times; backward sums each block's SH*SW
 * gradients into dx (overwritten). No parameters, no workspace. "bilinear"
 * is refused rather than silently approximated. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "layers/layer_util.h"
#include "nntrain/layer.h"

typedef struct upsample {
    int SH, SW;
    int H, W, C;
} upsample;

static const char *const up_args[] = {"size", "data_format", "interpolation", NULL};

static int up_create(nn_layer *l, nn_args *a, nn_error *e)
{
    static const int two[2] = {2, 2};
    int sz[2], rc;
    const char *s;
    if ((rc = nn_args_ints(a, "size", 2, two, sz, e)) ||
        (rc = nn_layer_check_pair(l, a, "size", sz, e)) ||
        (rc = nn_layer_bind_channels_last(l, a, e)) ||
        (rc = nn_args_str(a, "interpolation", "nearest", &s, e)))
        return rc;
    if (strcasecmp(s, "nearest"))
        return nn_layer_arg_err(l, a, "interpolation", e, NN_EINVAL, "interpolation: "
                                "expected \"nearest\" (the only one supported), found "
                                "\"%s\"", s);
    upsample u = {.SH = sz[0], .SW = sz[1]};
    return nn_layer_keep(l, &u, sizeof u, e);
}

static int up_configure(nn_layer *l, nn_error *e)
{
    upsample *u = l->priv;
    char buf[64], w[96];
    int rc = nn_layer_need_image(l, e);
    if (rc)
        return rc;
    u->H = l->in.d[0];
    u->W = l->in.d[1];
    u->C = l->in.d[2];
    size_t OH = (size_t)u->H * u->SH, OW = (size_t)u->W * u->SW;
    if (OH > INT_MAX || OW > INT_MAX || OH * OW * (size_t)u->C > INT_MAX)
        return nn_err(e, NN_ESHAPE, "%s: input %s with size (%d, %d) gives more than 2^31 "
                      "elements per sample", nn_layer_who(l, w, sizeof w),
                      nn_shape_str(&l->in, buf, sizeof buf), u->SH, u->SW);
    l->out = nn_shape3((int)OH, (int)OW, u->C);
    l->param_len = 0;
    return NN_OK;
}

static void up_forward(nn_layer *l, const float *p, const float *x /* (B, H, W, C) */,
                       float *y /* (B, H*SH, W*SW, C) */, int B, nn_ctx *ctx)
{
    const upsample *u = l->priv;
    (void)p;
    (void)ctx;
    const size_t C = (size_t)u->C, orow = (size_t)u->W * u->SW * C;
    for (size_t r = 0; r < (size_t)B * u->H; r++) {   /* one input row (b, h) */
        const float *xr = x + r * u->W * C;
        float *yr = y + r * u->SH * orow;
        float *o = yr;
        for (int w = 0; w < u->W; w++)
            for (int j = 0; j < u->SW; j++, o += C)
                memcpy(o, xr + (size_t)w * C, C * sizeof *o);
        for (int i = 1; i < u->SH; i++)
            memcpy(yr + (size_t)i * orow, yr, orow * sizeof *yr);
    }
}

static void up_backward(nn_layer *l, const float *p, float *g, const float *x,
                        const float *y, float *dy /* (B, H*SH, W*SW, C) */,
                        float *dx /* (B, H, W, C) or NULL */, int B, nn_ctx *ctx)
{
    const upsample *u = l->priv;
    (void)p;
    (void)g;
    (void)x;
    (void)y;
    (void)ctx;
    if (!dx)
        return;
    const size_t C = (size_t)u->C, orow = (size_t)u->W * u->SW * C;
    for (size_t r = 0; r < (size_t)B * u->H; r++) {
        float *dr = dx + r * u->W * C;
        const float *src = dy + r * u->SH * orow;
        for (int i = 0; i < u->SH; i++, src += orow) {
            const float *s = src;
            for (int w = 0; w < u->W; w++) {
                float *restrict d = dr + (size_t)w * C;
                for (int j = 0; j < u->SW; j++, s += C) {
                    if (i == 0 && j == 0)
                        memcpy(d, s, C * sizeof *d);
                    else
                        for (size_t c = 0; c < C; c++)
                            d[c] += s[c];
                }
            }
        }
    }
}

const nn_layer_ops nn_upsampling2d_ops = {
    .kind = "UpSampling2D",
    .arg_names = up_args,
    .arg_aliases = NULL,
    .create = up_create,
    .configure = up_configure,
    .param_specs = nn_layer_no_param_specs,
    .init_params = nn_layer_no_init_params,
    .plan = NULL,
    .forward = up_forward,
    .backward = up_backward,
    .destroy = NULL,
};
