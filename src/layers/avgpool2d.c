/* Owns the AveragePooling2D layer (Keras), channels_last. Each output pixel
 * is the mean of its window over a contiguous run of C channels. With
 * padding="same" (TensorFlow convention, extra padding at the bottom/right)
 * the window is clipped to the image and the mean is over the cells inside
 * it only, as TensorFlow's avg_pool does (count_include_pad=False in torch
 * terms): padded cells are not zeros that dilute the mean. Backward spreads
 * dy / count over the same cells. No parameters, no saved state. */
#include <string.h>

#include "core/im2col.h"
#include "layers/layer_util.h"
#include "nntrain/layer.h"

typedef struct avgpool {
    int PH, PW, SH, SW, same;
    int H, W, C, OH, OW, PT, PL;
} avgpool;

static const char *const avg_args[] = {"pool_size", "strides", "padding", "data_format",
                                       NULL};

static int avg_create(nn_layer *l, nn_args *a, nn_error *e)
{
    avgpool p;
    memset(&p, 0, sizeof p);
    static const int two[2] = {2, 2};
    int ps[2], st[2], rc;
    if ((rc = nn_args_ints(a, "pool_size", 2, two, ps, e)) ||
        (rc = nn_layer_check_pair(l, a, "pool_size", ps, e)) ||
        (rc = nn_args_ints(a, "strides", 2, ps, st, e)) ||   /* None: pool_size */
        (rc = nn_layer_check_pair(l, a, "strides", st, e)) ||
        (rc = nn_layer_bind_padding(l, a, &p.same, e)) ||
        (rc = nn_layer_bind_channels_last(l, a, e)))
        return rc;
    p.PH = ps[0];
    p.PW = ps[1];
    p.SH = st[0];
    p.SW = st[1];
    return nn_layer_keep(l, &p, sizeof p, e);
}

static int avg_configure(nn_layer *l, nn_error *e)
{
    avgpool *p = l->priv;
    char buf[64], w[96];
    int rc = nn_layer_need_image(l, e);
    if (rc)
        return rc;
    p->H = l->in.d[0];
    p->W = l->in.d[1];
    p->C = l->in.d[2];
    p->OH = (int)nn_conv_out_len(p->H, p->PH, p->SH, p->same, &p->PT);
    p->OW = (int)nn_conv_out_len(p->W, p->PW, p->SW, p->same, &p->PL);
    if (p->OH < 1 || p->OW < 1)
        return nn_err(e, NN_ESHAPE, "%s: pool_size (%d, %d) is larger than the input %s "
                      "with padding=\"valid\": expected height >= %d and width >= %d",
                      nn_layer_who(l, w, sizeof w), p->PH, p->PW,
                      nn_shape_str(&l->in, buf, sizeof buf), p->PH, p->PW);
    l->out = nn_shape3(p->OH, p->OW, p->C);
    l->param_len = 0;
    return NN_OK;
}

/* Cells [*lo, *hi) of an axis of length n inside the window starting at i0
 * (may be < 0) of length k. Never empty: TensorFlow's padding is < k. */
static void window(int i0, int k, int n, int *lo, int *hi)
{
    *lo = i0 < 0 ? 0 : i0;
    *hi = i0 + k < n ? i0 + k : n;
}

static void avg_forward(nn_layer *l, const float *par, const float *x /* (B, H, W, C) */,
                        float *y /* (B, OH, OW, C) */, int B, nn_ctx *ctx)
{
    const avgpool *p = l->priv;
    (void)par;
    (void)ctx;
    const size_t C = (size_t)p->C, row = (size_t)p->W * C, img = (size_t)p->H * row;
    float *yo = y;
    for (int b = 0; b < B; b++) {
        const float *xb = x + (size_t)b * img;
        for (int oh = 0; oh < p->OH; oh++) {
            int h_lo, h_hi;
            window(oh * p->SH - p->PT, p->PH, p->H, &h_lo, &h_hi);
            for (int ow = 0; ow < p->OW; ow++, yo += C) {
                int w_lo, w_hi;
                window(ow * p->SW - p->PL, p->PW, p->W, &w_lo, &w_hi);
                float *restrict o = yo;
                memset(o, 0, C * sizeof *o);
                for (int ih = h_lo; ih < h_hi; ih++)
                    for (int iw = w_lo; iw < w_hi; iw++) {
                        const float *restrict s = xb + (size_t)ih * row + (size_t)iw * C;
                        for (size_t c = 0; c < C; c++)
                            o[c] += s[c];
                    }
                const float inv = 1.0f / (float)((h_hi - h_lo) * (w_hi - w_lo));
                for (size_t c = 0; c < C; c++)
                    o[c] *= inv;
            }
        }
    }
}

static void avg_backward(nn_layer *l, const float *par, float *g, const float *x,
                         const float *y, float *dy /* (B, OH, OW, C) */,
                         float *dx /* (B, H, W, C) or NULL */, int B, nn_ctx *ctx)
{
    const avgpool *p = l->priv;
    (void)par;
    (void)g;
    (void)x;
    (void)y;
    (void)ctx;
    if (!dx)
        return;
    const size_t C = (size_t)p->C, row = (size_t)p->W * C, img = (size_t)p->H * row;
    memset(dx, 0, (size_t)B * img * sizeof *dx);
    const float *d = dy;
    for (int b = 0; b < B; b++) {
        float *db = dx + (size_t)b * img;
        for (int oh = 0; oh < p->OH; oh++) {
            int h_lo, h_hi;
            window(oh * p->SH - p->PT, p->PH, p->H, &h_lo, &h_hi);
            for (int ow = 0; ow < p->OW; ow++, d += C) {
                int w_lo, w_hi;
                window(ow * p->SW - p->PL, p->PW, p->W, &w_lo, &w_hi);
                const float inv = 1.0f / (float)((h_hi - h_lo) * (w_hi - w_lo));
                for (int ih = h_lo; ih < h_hi; ih++)
                    for (int iw = w_lo; iw < w_hi; iw++) {
                        float *restrict t = db + (size_t)ih * row + (size_t)iw * C;
                        for (size_t c = 0; c < C; c++)
                            t[c] += d[c] * inv;
                    }
            }
        }
    }
}

const nn_layer_ops nn_avgpool2d_ops = {
    .kind = "AveragePooling2D",
    .arg_names = avg_args,
    .arg_aliases = NULL,
    .create = avg_create,
    .configure = avg_configure,
    .param_specs = nn_layer_no_param_specs,
    .init_params = nn_layer_no_init_params,
    .plan = NULL,
    .forward = avg_forward,
    .backward = avg_backward,
    .destroy = NULL,
    .bwd_skips = NN_SKIPS_X | NN_SKIPS_Y,   /* dy and the window sizes suffice */
};
