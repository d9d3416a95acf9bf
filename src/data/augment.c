/* On-the-fly augmentation of training images with Keras ImageDataGenerator
 * semantics: one affine transform (rotation, shift, shear, zoom, composed as
 * Keras does: R * T * Sh * Z about the image centre, mapping output pixels
 * to input coordinates), sampled bilinearly with fill_mode for points
 * outside the image; then channel shift, flips, brightness, and the nntrain
 * extras contrast, Gaussian noise and invert. All random numbers come from
 * one stream keyed by (seed, epoch, sample), never by the rank, so every
 * process count sees the same images. */
#include "nntrain/args.h"
#include "nntrain/augment.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nntrain/rng.h"

#define AUG_STREAM 0xa06a06ULL   /* fourth key of the augmentation stream */
#define DEG2RAD (3.14159265358979323846 / 180.0)

void nn_augment_defaults(nn_augment *a)
{
    memset(a, 0, sizeof *a);
    a->zoom_range[0] = a->zoom_range[1] = 1.0;
    a->brightness_range[0] = a->brightness_range[1] = 1.0;
    a->fill_mode = NN_FILL_NEAREST;
    a->cval = 0.0;
    a->rescale = 1.0 / 255.0;
}

/* Pixel value of "full white" in the units nn_augment_apply works in. */
static double full_scale(const nn_augment *a)
{
    return a->rescale * 255.0;
}

static void set_enabled(nn_augment *a)
{
    a->enabled = a->horizontal_flip || a->vertical_flip || a->rotation_range > 0 ||
                 a->width_shift_range > 0 || a->height_shift_range > 0 || a->shear_range > 0 ||
                 a->zoom_range[0] != 1.0 || a->zoom_range[1] != 1.0 ||
                 a->brightness_range[0] != 1.0 || a->brightness_range[1] != 1.0 ||
                 a->contrast_range > 0 || a->channel_shift_range > 0 || a->gaussian_noise > 0 ||
                 a->invert > 0;
}

/* ---- parsing ----------------------------------------------------------- */

/* Keras's positional order first (Python and R agree), then nntrain extras. */
static const char *const aug_names[] = {
    "featurewise_center", "samplewise_center", "featurewise_std_normalization",
    "samplewise_std_normalization", "zca_whitening", "zca_epsilon", "rotation_range",
    "width_shift_range", "height_shift_range", "brightness_range", "shear_range",
    "zoom_range", "channel_shift_range", "fill_mode", "cval", "horizontal_flip",
    "vertical_flip", "rescale", "preprocessing_function", "data_format", "validation_split",
    "contrast_range", "gaussian_noise", "invert", NULL};

static int bad(nn_args *g, const char *name, const char *what, nn_error *e)
{
    char w[300];
    return nn_err(e, NN_EINVAL, "%s: %s(): %s%s%s", nn_value_where(g->call,
                  nn_args_get(g, name), w, sizeof w), g->call->fn, name,
                  what[0] == '=' ? "" : " ", what);
}

/* A number >= 0 (and < below if below > 0). */
static int nonneg(nn_args *g, const char *name, double below, double *out, nn_error *e)
{
    int rc = nn_args_double(g, name, 0.0, out, e);
    if (rc)
        return rc;
    if (!(*out >= 0) || (below > 0 && !(*out < below))) {
        char what[96];
        if (below > 0)
            snprintf(what, sizeof what, "must be in [0, %g), got %g", below, *out);
        else
            snprintf(what, sizeof what, "must be >= 0, got %g", *out);
        return bad(g, name, what, e);
    }
    return NN_OK;
}

/* A pair (lo, hi) with 0 < lo <= hi. */
static int pair(nn_args *g, const char *name, double out[2], nn_error *e)
{
    const nn_value *v = nn_args_get(g, name);
    if (!v || v->kind == NN_V_NONE)
        return NN_OK;
    if (v->kind != NN_V_LIST || v->n != 2 || v->items[0].kind != NN_V_NUM ||
        v->items[1].kind != NN_V_NUM)
        return bad(g, name, "must be a pair of numbers such as (0.8, 1.2)", e);
    double lo = v->items[0].num, hi = v->items[1].num;
    if (!(lo > 0) || !(lo <= hi))
        return bad(g, name, "must be a pair (lo, hi) with 0 < lo <= hi", e);
    out[0] = lo;
    out[1] = hi;
    return NN_OK;
}

/* Keras options that nntrain accepts only at their defaults. */
static int only_default(nn_args *g, nn_error *e)
{
    static const char *const flags[] = {"featurewise_center", "samplewise_center",
                                        "featurewise_std_normalization",
                                        "samplewise_std_normalization", "zca_whitening", NULL};
    for (int i = 0; flags[i]; i++) {
        int on;
        int rc = nn_args_bool(g, flags[i], 0, &on, e);
        if (rc)
            return rc;
        if (on)
            return bad(g, flags[i], "=True is not supported: nntrain augments each image on "
                       "its own and does not fit dataset statistics (remove the option)", e);
    }
    double eps;
    int rc = nn_args_double(g, "zca_epsilon", 1e-6, &eps, e);
    if (rc)
        return rc;
    if (nn_args_has(g, "preprocessing_function"))
        return bad(g, "preprocessing_function", "is not supported (only None)", e);
    static const char *const formats[] = {"channels_last", "channels_first", NULL};
    int fmt = 0;
    if ((rc = nn_args_choice(g, "data_format", "channels_last", formats, &fmt, e)))
        return rc;
    if (fmt != 0)
        return bad(g, "data_format", "must be \"channels_last\": nntrain images are NHWC", e);
    double vs;
    if ((rc = nn_args_double(g, "validation_split", 0.0, &vs, e)))
        return rc;
    if (vs != 0)
        return bad(g, "validation_split", "is not supported here: use "
                   "fit(validation_split=...) so that only training samples are augmented", e);
    return NN_OK;
}

int nn_augment_from_call(nn_augment *a, const nn_call *c, nn_error *e)
{
    nn_args g;
    nn_augment_defaults(a);
    int rc = nn_args_bind(&g, c, aug_names, NULL, e);
    if (rc || (rc = only_default(&g, e)))
        return rc;
    double z = 0, csr = 0, cval = 0;
    int fill = 0;
    static const char *const fills[] = {"nearest", "constant", "reflect", "wrap", NULL};
    if ((rc = nonneg(&g, "rotation_range", 0, &a->rotation_range, e)) ||
        (rc = nonneg(&g, "width_shift_range", 0, &a->width_shift_range, e)) ||
        (rc = nonneg(&g, "height_shift_range", 0, &a->height_shift_range, e)) ||
        (rc = nonneg(&g, "shear_range", 0, &a->shear_range, e)) ||
        (rc = nonneg(&g, "channel_shift_range", 0, &csr, e)) ||
        (rc = nonneg(&g, "contrast_range", 1.0, &a->contrast_range, e)) ||
        (rc = nonneg(&g, "gaussian_noise", 0, &a->gaussian_noise, e)) ||
        (rc = pair(&g, "brightness_range", a->brightness_range, e)) ||
        (rc = nn_args_choice(&g, "fill_mode", "nearest", fills, &fill, e)) ||
        (rc = nn_args_double(&g, "cval", 0.0, &cval, e)) ||
        (rc = nn_args_bool(&g, "horizontal_flip", 0, &a->horizontal_flip, e)) ||
        (rc = nn_args_bool(&g, "vertical_flip", 0, &a->vertical_flip, e)) ||
        (rc = nn_args_double(&g, "invert", 0.0, &a->invert, e)))
        return rc;
    if (!(a->invert >= 0 && a->invert <= 1))
        return bad(&g, "invert", "is a probability and must be in [0, 1]", e);
    if (a->rotation_range > 360)
        return bad(&g, "rotation_range", "is in degrees and must be at most 360", e);
    if (a->shear_range >= 90)
        return bad(&g, "shear_range", "is in degrees and must be below 90", e);
    a->fill_mode = (nn_fill)fill;
    a->channel_shift_range = csr / 255.0;   /* Keras: raw pixel levels */
    a->cval = cval / 255.0;

    const nn_value *zv = nn_args_get(&g, "zoom_range");
    if (zv && zv->kind == NN_V_LIST) {
        if ((rc = pair(&g, "zoom_range", a->zoom_range, e)))
            return rc;
    } else if ((rc = nonneg(&g, "zoom_range", 1.0, &z, e))) {
        return rc;
    } else {
        a->zoom_range[0] = 1.0 - z;   /* Keras: zoom_range=z means [1-z, 1+z] */
        a->zoom_range[1] = 1.0 + z;
    }

    const nn_value *rv = nn_args_get(&g, "rescale");
    if (rv && rv->kind == NN_V_NONE)
        return bad(&g, "rescale", "=None is not supported: nntrain reads pixels already "
                   "scaled by 1/255; write rescale=1/255 (the default) or rescale=1 to keep "
                   "0..255 values", e);
    double r;
    if ((rc = nn_args_double(&g, "rescale", 1.0 / 255.0, &r, e)))
        return rc;
    if (fabs(r * 255.0 - 1.0) < 1e-3)
        a->rescale = 1.0 / 255.0;
    else if (r == 1.0)
        a->rescale = 1.0;
    else
        return bad(&g, "rescale", "must be 1/255 (the default: pixels are scaled on read) or "
                   "1 (keep 0..255 values)", e);
    set_enabled(a);
    return NN_OK;
}

void nn_augment_describe(const nn_augment *a, char *buf, size_t len)
{
    static const char *const fills[] = {"nearest", "constant", "reflect", "wrap"};
    size_t k = 0;
    buf[0] = 0;
#define ADD(...)                                                                   \
    do {                                                                           \
        if (k < len) {                                                             \
            int n_ = snprintf(buf + k, len - k, "%s", k ? ", " : "");              \
            k += n_ > 0 ? (size_t)n_ : 0;                                          \
        }                                                                          \
        if (k < len) {                                                             \
            int n_ = snprintf(buf + k, len - k, __VA_ARGS__);                      \
            k += n_ > 0 ? (size_t)n_ : 0;                                          \
        }                                                                          \
    } while (0)
    if (a->horizontal_flip)
        ADD("horizontal_flip");
    if (a->vertical_flip)
        ADD("vertical_flip");
    if (a->rotation_range > 0)
        ADD("rotation_range=%g", a->rotation_range);
    if (a->width_shift_range > 0)
        ADD("width_shift_range=%g", a->width_shift_range);
    if (a->height_shift_range > 0)
        ADD("height_shift_range=%g", a->height_shift_range);
    if (a->shear_range > 0)
        ADD("shear_range=%g", a->shear_range);
    if (a->zoom_range[0] != 1.0 || a->zoom_range[1] != 1.0)
        ADD("zoom_range=[%g, %g]", a->zoom_range[0], a->zoom_range[1]);
    if (a->brightness_range[0] != 1.0 || a->brightness_range[1] != 1.0)
        ADD("brightness_range=[%g, %g]", a->brightness_range[0], a->brightness_range[1]);
    if (a->channel_shift_range > 0)
        ADD("channel_shift_range=%g", a->channel_shift_range * 255.0);
    if (a->contrast_range > 0)
        ADD("contrast_range=%g", a->contrast_range);
    if (a->gaussian_noise > 0)
        ADD("gaussian_noise=%g", a->gaussian_noise);
    if (a->invert > 0)
        ADD("invert=%g", a->invert);
    if (!a->enabled)
        ADD("none");
    else
        ADD("fill_mode=%s", fills[a->fill_mode]);
    if (a->fill_mode == NN_FILL_CONSTANT)
        ADD("cval=%g", a->cval * 255.0);
    if (a->rescale == 1.0)
        ADD("rescale=1 (0..255 pixel values)");
#undef ADD
}

/* ---- the random draw ---------------------------------------------------- */

static double sym(nn_rng *r, double range)   /* uniform in [-range, range] */
{
    double u = nn_rng_uniform_d(r);
    return range > 0 ? (2.0 * u - 1.0) * range : 0.0;
}

static double between(nn_rng *r, const double lohi[2])
{
    double u = nn_rng_uniform_d(r);
    return lohi[0] == lohi[1] ? lohi[0] : lohi[0] + u * (lohi[1] - lohi[0]);
}

void nn_augment_draw(const nn_augment *a, const nn_shape *shape, uint64_t seed,
                     uint64_t epoch, uint64_t sample, nn_augment_params *p)
{
    nn_rng r = nn_rng_key(seed, epoch, sample, AUG_STREAM);
    int H = shape->d[0], W = shape->n >= 2 ? shape->d[1] : 1;
    /* Shifts: a fraction of the size below 1, whole pixels from 1 (Keras). */
    double hs = a->height_shift_range, ws = a->width_shift_range;
    double flip_h, flip_v, inv;
    memset(p, 0, sizeof *p);
    p->theta = sym(&r, a->rotation_range);
    p->tx = sym(&r, hs < 1 ? hs * H : hs);
    p->ty = sym(&r, ws < 1 ? ws * W : ws);
    p->shear = sym(&r, a->shear_range);
    p->zx = between(&r, a->zoom_range);
    p->zy = between(&r, a->zoom_range);
    flip_h = nn_rng_uniform_d(&r);
    flip_v = nn_rng_uniform_d(&r);
    p->hflip = a->horizontal_flip && flip_h < 0.5;
    p->vflip = a->vertical_flip && flip_v < 0.5;
    p->channel_shift = sym(&r, a->channel_shift_range);
    p->brightness = between(&r, a->brightness_range);
    double c = a->contrast_range;
    double cr[2] = {1.0 - c, 1.0 + c};
    p->contrast = between(&r, cr);
    inv = nn_rng_uniform_d(&r);
    p->invert = inv < a->invert;
    p->noise_key = nn_rng_u64(&r);
}

/* ---- applying ----------------------------------------------------------- */

/* Maps an out-of-range index into [0, n) per fill mode (not constant). */
static int fold(long i, int n, nn_fill mode)
{
    if (i >= 0 && i < n)
        return (int)i;
    if (mode == NN_FILL_WRAP) {
        long m = i % n;
        return (int)(m < 0 ? m + n : m);
    }
    if (mode == NN_FILL_REFLECT) {   /* scipy "reflect": d c b a | a b c d | d c b a */
        long period = 2L * n, m = i % period;
        if (m < 0)
            m += period;
        return (int)(m < n ? m : period - 1 - m);
    }
    return i < 0 ? 0 : n - 1;        /* nearest */
}

/* dst (H, W, C) = src sampled at T * (row, col, 1); T is 2x3. */
static void warp(const float *src, float *dst, int H, int W, int C, const double T[6],
                 nn_fill mode, float cval)
{
    const double eps = 1e-6;
    for (int r = 0; r < H; r++)
        for (int c = 0; c < W; c++) {
            double ir = T[0] * r + T[1] * c + T[2];
            double ic = T[3] * r + T[4] * c + T[5];
            float *o = dst + ((size_t)r * W + c) * C;
            if (mode == NN_FILL_CONSTANT &&
                (ir < -eps || ir > H - 1 + eps || ic < -eps || ic > W - 1 + eps)) {
                for (int k = 0; k < C; k++)
                    o[k] = cval;
                continue;
            }
            double fr = floor(ir), fc = floor(ic);
            double wr = ir - fr, wc = ic - fc;
            long r0 = (long)fr, c0 = (long)fc;
            int ra, rb, ca, cb;
            if (mode == NN_FILL_CONSTANT) {   /* inside within eps: clamp */
                ra = fold(r0, H, NN_FILL_NEAREST), rb = fold(r0 + 1, H, NN_FILL_NEAREST);
                ca = fold(c0, W, NN_FILL_NEAREST), cb = fold(c0 + 1, W, NN_FILL_NEAREST);
            } else {
                ra = fold(r0, H, mode), rb = fold(r0 + 1, H, mode);
                ca = fold(c0, W, mode), cb = fold(c0 + 1, W, mode);
            }
            const float *p00 = src + ((size_t)ra * W + ca) * C;
            const float *p01 = src + ((size_t)ra * W + cb) * C;
            const float *p10 = src + ((size_t)rb * W + ca) * C;
            const float *p11 = src + ((size_t)rb * W + cb) * C;
            for (int k = 0; k < C; k++) {
                double top = p00[k] + wc * (p01[k] - p00[k]);
                double bot = p10[k] + wc * (p11[k] - p10[k]);
                o[k] = (float)(top + wr * (bot - top));
            }
        }
}

/* 3x3 product m = m * b (row-major, last row 0 0 1 implied). */
static void mul(double m[6], const double b[6])
{
    double t[6] = {m[0] * b[0] + m[1] * b[3], m[0] * b[1] + m[1] * b[4],
                   m[0] * b[2] + m[1] * b[5] + m[2],
                   m[3] * b[0] + m[4] * b[3], m[3] * b[1] + m[4] * b[4],
                   m[3] * b[2] + m[4] * b[5] + m[5]};
    memcpy(m, t, sizeof t);
}

static float clampf(double v, double hi)
{
    return (float)(v < 0 ? 0 : v > hi ? hi : v);
}

void nn_augment_apply_params(const nn_augment *a, const nn_augment_params *p, float *x,
                             const nn_shape *shape, float *scratch)
{
    int H = shape->d[0], W = shape->n >= 2 ? shape->d[1] : 1;
    int C = shape->n >= 3 ? shape->d[2] : 1;
    size_t n = (size_t)H * W * C;
    double full = full_scale(a);

    if (p->theta != 0 || p->tx != 0 || p->ty != 0 || p->shear != 0 || p->zx != 1 ||
        p->zy != 1) {
        double th = p->theta * DEG2RAD, sh = p->shear * DEG2RAD;
        double m[6] = {cos(th), -sin(th), 0, sin(th), cos(th), 0};
        const double shift[6] = {1, 0, p->tx, 0, 1, p->ty};
        const double shear[6] = {1, -sin(sh), 0, 0, cos(sh), 0};
        const double zoom[6] = {p->zx, 0, 0, 0, p->zy, 0};
        mul(m, shift);
        mul(m, shear);
        mul(m, zoom);
        /* about the centre of the pixel grid: T = offset * m * reset */
        double orow = (H - 1) / 2.0, ocol = (W - 1) / 2.0;
        const double reset[6] = {1, 0, -orow, 0, 1, -ocol};
        mul(m, reset);
        m[2] += orow;
        m[5] += ocol;
        memcpy(scratch, x, n * sizeof *x);
        warp(scratch, x, H, W, C, m, a->fill_mode, clampf(a->cval * full, full));
    }
    if (p->channel_shift != 0) {   /* Keras: clipped to the image's own range */
        float lo = x[0], hi = x[0];
        for (size_t i = 1; i < n; i++) {
            lo = x[i] < lo ? x[i] : lo;
            hi = x[i] > hi ? x[i] : hi;
        }
        float s = (float)(p->channel_shift * full);
        for (size_t i = 0; i < n; i++) {
            float v = x[i] + s;
            x[i] = v < lo ? lo : v > hi ? hi : v;
        }
    }
    if (p->hflip)
        for (int r = 0; r < H; r++)
            for (int c = 0; c < W / 2; c++) {
                float *u = x + ((size_t)r * W + c) * C, *v = x + ((size_t)r * W + W - 1 - c) * C;
                for (int k = 0; k < C; k++) {
                    float t = u[k];
                    u[k] = v[k];
                    v[k] = t;
                }
            }
    if (p->vflip)
        for (int r = 0; r < H / 2; r++) {
            float *u = x + (size_t)r * W * C, *v = x + (size_t)(H - 1 - r) * W * C;
            for (size_t k = 0; k < (size_t)W * C; k++) {
                float t = u[k];
                u[k] = v[k];
                v[k] = t;
            }
        }
    if (p->brightness != 1.0)
        for (size_t i = 0; i < n; i++)
            x[i] = clampf(x[i] * p->brightness, full);
    if (p->contrast != 1.0) {
        double mean = 0;
        for (size_t i = 0; i < n; i++)
            mean += x[i];
        mean /= (double)n;
        for (size_t i = 0; i < n; i++)
            x[i] = clampf(mean + p->contrast * (x[i] - mean), full);
    }
    if (a->gaussian_noise > 0) {
        nn_rng r = nn_rng_key(p->noise_key, 0, 0, 0);
        double sd = a->gaussian_noise * full;
        for (size_t i = 0; i < n; i++)
            x[i] = clampf(x[i] + sd * nn_rng_normal(&r), full);
    }
    if (p->invert)
        for (size_t i = 0; i < n; i++)
            x[i] = (float)full - x[i];
}

void nn_augment_apply(const nn_augment *a, float *x, const nn_shape *shape, uint64_t seed,
                      uint64_t epoch, uint64_t sample, float *scratch)
{
    if (!a || !a->enabled)
        return;
    nn_augment_params p;
    nn_augment_draw(a, shape, seed, epoch, sample, &p);
    nn_augment_apply_params(a, &p, x, shape, scratch);
}

/* ---- preview grid ------------------------------------------------------- */

#define SEP 2
#define SEP_VALUE 255

/* Copies one image (H, W, C) in [0, 1] into the grid at (top, left), each
 * pixel repeated scale x scale. */
static void blit(uint8_t *g, int gw, const float *img, int H, int W, int C, int scale,
                 int top, int left)
{
    for (int r = 0; r < H * scale; r++)
        for (int c = 0; c < W * scale; c++) {
            const float *s = img + ((size_t)(r / scale) * W + c / scale) * C;
            uint8_t *d = g + ((size_t)(top + r) * gw + left + c) * C;
            for (int k = 0; k < C; k++) {
                float v = s[k] * 255.0f + 0.5f;
                d[k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
        }
}

int nn_augment_grid(const nn_augment *a, const float *x, const uint64_t *sample_ids, int n,
                    const nn_shape *shape, int versions, int scale, uint64_t seed,
                    uint8_t **out, int *gh, int *gw, nn_error *e)
{
    *out = NULL;
    if (shape->n != 3)
        return nn_err(e, NN_ESHAPE, "augment preview needs images (H, W, C), got %d-D samples",
                      shape->n);
    int H = shape->d[0], W = shape->d[1], C = shape->d[2];
    if (n < 1 || versions < 0 || scale < 1 || C < 1 || C > 4)
        return nn_err(e, NN_EINVAL, "augment preview: bad grid (rows %d, versions %d, scale %d, "
                      "channels %d; channels must be 1..4)", n, versions, scale, C);
    int cols = 1 + versions;
    double h = (double)n * H * scale + (double)(n + 1) * SEP;
    double w = (double)cols * W * scale + (double)(cols + 1) * SEP;
    if (h > 30000 || w > 30000)
        return nn_err(e, NN_EINVAL, "augment preview: a %.0f x %.0f grid is too large; use "
                      "fewer rows, versions or a smaller scale", h, w);
    *gh = (int)h;
    *gw = (int)w;
    size_t per = (size_t)H * W * C;
    uint8_t *g = malloc((size_t)*gh * (size_t)*gw * (size_t)C);
    float *img = malloc(2 * per * sizeof *img);
    if (!g || !img) {
        free(g);
        free(img);
        return nn_err(e, NN_ENOMEM, "augment preview: out of memory for a %d x %d grid", *gh,
                      *gw);
    }
    memset(g, SEP_VALUE, (size_t)*gh * (size_t)*gw * (size_t)C);
    float full = (float)full_scale(a);
    for (int i = 0; i < n; i++) {
        const float *src = x + (size_t)i * per;
        int top = SEP + i * (H * scale + SEP);
        blit(g, *gw, src, H, W, C, scale, top, SEP);
        for (int v = 0; v < versions; v++) {
            for (size_t k = 0; k < per; k++)
                img[k] = src[k] * full;          /* model units */
            nn_augment_apply(a, img, shape, seed, (uint64_t)v, sample_ids[i], img + per);
            for (size_t k = 0; k < per; k++)
                img[k] /= full;
            blit(g, *gw, img, H, W, C, scale, top, SEP + (v + 1) * (W * scale + SEP));
        }
    }
    free(img);
    *out = g;
    return NN_OK;
}
