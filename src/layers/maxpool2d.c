/* Owns the MaxPooling2D layer (Keras), channels_last. Forward takes the max
 * over each window for a contiguous run of C channels at a time and records,
 * per output element, the offset of the winning input inside its image (the
 * argmax, planned for batch_max rows); backward scatters dy to those
 * offsets. With padding="same" (TensorFlow convention, extra padding at the
 * bottom/right) the window is clipped to the image, so padded cells never
 * win: they act as -inf. Ties go to the first cell in (h, w) order. With
 * l->mask_relu (the layer below ends in a ReLU), backward also applies that
 * ReLU's derivative: the winner of a window is > 0 exactly when the window's
 * max is, so the conv's output need not be kept for its own backward. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/im2col.h"
#include "core/simd.h"
#include "layers/layer_util.h"
#include "nntrain/layer.h"

typedef struct pool {
    int PH, PW, SH, SW, same;
    int H, W, C, OH, OW, PT, PL;
    int32_t *arg;      /* (rows, OH, OW, C): input offset inside the image */
    size_t rows;       /* batch rows arg holds */
} pool;

static const char *const pool_args[] = {"pool_size", "strides", "padding", "data_format",
                                        NULL};

static int pool_create(nn_layer *l, nn_args *a, nn_error *e)
{
    pool p;
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

static int pool_configure(nn_layer *l, nn_error *e)
{
    pool *p = l->priv;
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
    if ((size_t)p->H * p->W * p->C > INT32_MAX)
        return nn_err(e, NN_ESHAPE, "%s: input %s has more than 2^31 elements per sample",
                      nn_layer_who(l, w, sizeof w), nn_shape_str(&l->in, buf, sizeof buf));
    l->out = nn_shape3(p->OH, p->OW, p->C);
    l->param_len = 0;
    p->rows = 0;   /* a new shape needs a new plan */
    return NN_OK;
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
                      nn_layer_who(l, w, sizeof w), batch_max, n * sizeof *a);
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

/* One output pixel: the max over the window rows [h_lo, h_hi) and columns
 * [w_lo, w_hi) of image xb, channel block by channel block in vector
 * registers, and the winner's offset in the image (the first in (h, w)
 * order on ties: only a strictly greater value replaces the best). */
static void window_max(const float *xb, int W, int C, int h_lo, int h_hi, int w_lo, int w_hi,
                       float *y, int32_t *arg)
{
    vi iota;
    for (int i = 0; i < NN_VL; i++)
        iota[i] = i;
    for (int c0 = 0; c0 < C; c0 += NN_VL) {
        lanes m = lanes_first(C - c0 < NN_VL ? C - c0 : NN_VL);
        int32_t off0 = (int32_t)(((size_t)h_lo * W + w_lo) * C) + c0;
        vf best = vload_n(xb + off0, m);
        vi at = iota + off0;
        for (int ih = h_lo; ih < h_hi; ih++)
            for (int iw = ih == h_lo ? w_lo + 1 : w_lo; iw < w_hi; iw++) {
                int32_t off = (int32_t)(((size_t)ih * W + iw) * C) + c0;
                vf v = vload_n(xb + off, m);
                vi gt = v > best;
                best = vselect(gt, v, best);
                at = viselect(gt, iota + off, at);
            }
        vstore_n(y + c0, best, m);
        vistore_n(arg + c0, at, m);
    }
}

/* Backward of one image when the windows do not overlap (strides = pool
 * size): each cell of a window is written once; the rows and columns no
 * window covers (valid padding leaves a remainder) are zeroed. */
static void tile_backward(const pool *p, const int32_t *a, const float *y, const float *dy,
                          float *dx)
{
    const int C = p->C, W = p->W;
    const size_t row = (size_t)W * C;
    int r_lo = p->H, r_hi = 0, c_lo = 0, c_hi = 0;
    vi iota;
    for (int i = 0; i < NN_VL; i++)
        iota[i] = i;
    for (int oh = 0; oh < p->OH; oh++) {
        int h_lo, h_hi;
        window(oh * p->SH - p->PT, p->PH, p->H, &h_lo, &h_hi);
        r_lo = h_lo < r_lo ? h_lo : r_lo;
        r_hi = h_hi > r_hi ? h_hi : r_hi;
        for (int ow = 0; ow < p->OW; ow++, a += C, dy += C, y += y ? C : 0) {
            int w_lo, w_hi;
            window(ow * p->SW - p->PL, p->PW, W, &w_lo, &w_hi);
            if (ow == 0)
                c_lo = w_lo;
            c_hi = w_hi;
            for (int c0 = 0; c0 < C; c0 += NN_VL) {
                lanes m = lanes_first(C - c0 < NN_VL ? C - c0 : NN_VL);
                vf d = vload_n(dy + c0, m);
                if (y)
                    d = vselect(vload_n(y + c0, m) > (vf){0}, d, (vf){0});
                vi at = viload_n(a + c0, m);
                for (int ih = h_lo; ih < h_hi; ih++)
                    for (int iw = w_lo; iw < w_hi; iw++) {
                        int32_t off = (int32_t)(((size_t)ih * W + iw) * C) + c0;
                        vstore_n(dx + off, vselect(at == iota + off, d, (vf){0}), m);
                    }
            }
        }
    }
    memset(dx, 0, (size_t)r_lo * row * sizeof *dx);
    memset(dx + (size_t)r_hi * row, 0, (size_t)(p->H - r_hi) * row * sizeof *dx);
    for (int h = r_lo; h < r_hi; h++) {
        memset(dx + (size_t)h * row, 0, (size_t)c_lo * C * sizeof *dx);
        memset(dx + (size_t)h * row + (size_t)c_hi * C, 0, (size_t)(W - c_hi) * C * sizeof *dx);
    }
}

static void pool_forward(nn_layer *l, const float *par, const float *x /* (B, H, W, C) */,
                         float *y /* (B, OH, OW, C) */, int B, nn_ctx *ctx)
{
    pool *p = l->priv;
    (void)par;
    const int C = p->C, W = p->W;
    const size_t img = (size_t)p->H * W * C;
    float *yo = y;
    int32_t *ao = p->arg + (size_t)ctx->row0 * p->OH * p->OW * C;
    for (int b = 0; b < B; b++) {
        const float *xb = x + (size_t)b * img;
        for (int oh = 0; oh < p->OH; oh++) {
            int h_lo, h_hi;
            window(oh * p->SH - p->PT, p->PH, p->H, &h_lo, &h_hi);
            for (int ow = 0; ow < p->OW; ow++, yo += C, ao += C) {
                int w_lo, w_hi;
                window(ow * p->SW - p->PL, p->PW, W, &w_lo, &w_hi);
                window_max(xb, W, C, h_lo, h_hi, w_lo, w_hi, yo, ao);
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
    if (!dx)
        return;
    const size_t img = (size_t)p->H * p->W * p->C, out = (size_t)p->OH * p->OW * p->C;
    const int32_t *arg = p->arg + (size_t)ctx->row0 * out;
    const float *ym = l->mask_relu ? y : NULL;   /* only y > 0 passes */
    if (p->SH == p->PH && p->SW == p->PW) {
        /* Windows tile the image: write every cell once (no memset pass and
         * no scattered read-modify-write over a large dx). */
        for (int b = 0; b < B; b++)
            tile_backward(p, arg + (size_t)b * out, ym ? ym + (size_t)b * out : NULL,
                          dy + (size_t)b * out, dx + (size_t)b * img);
        return;
    }
    memset(dx, 0, (size_t)B * img * sizeof *dx);
    for (int b = 0; b < B; b++) {
        float *db = dx + (size_t)b * img;
        const float *d = dy + (size_t)b * out;
        const int32_t *a = arg + (size_t)b * out;
        const float *yb = ym ? ym + (size_t)b * out : NULL;
        for (size_t i = 0; i < out; i++)
            if (!yb || yb[i] > 0.0f)
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

static const nn_layer_fusion pool_fusion = {.commutes_relu = 1};

const nn_layer_ops nn_maxpool2d_ops = {
    .kind = "MaxPooling2D",
    .arg_names = pool_args,
    .arg_aliases = NULL,
    .create = pool_create,
    .configure = pool_configure,
    .param_specs = nn_layer_no_param_specs,
    .init_params = nn_layer_no_init_params,
    .plan = pool_plan,
    .forward = pool_forward,
    .backward = pool_backward,
    .destroy = pool_destroy,
    .bwd_skips = NN_SKIPS_X | NN_SKIPS_Y,   /* the argmax is kept */
    .fusion = &pool_fusion,
};
