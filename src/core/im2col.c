/* NHWC im2col / col2im (see im2col.h). For an output pixel and a kernel row
 * kh, the valid taps kw_lo..kw_hi-1 read input pixels that are neighbours in
 * W, hence one contiguous run of (kw_hi - kw_lo) * C floats: a single memcpy
 * (or a single add loop in col2im), with zero fill only at the borders. */
#include "core/im2col.h"

#include <string.h>

/* Column chunks that stay in L2: im2col writes them and the sgemm packing
 * reads them back while still cached (64 MiB chunks were 1.3-1.6x slower on
 * the CIFAR-10 CNN, measured). */
#define DEFAULT_CAP ((size_t)2 << 20)

static size_t cap_bytes = DEFAULT_CAP;

size_t nn_im2col_cap(void)
{
    return cap_bytes;
}

size_t nn_im2col_set_cap(size_t bytes)
{
    size_t old = cap_bytes;
    cap_bytes = bytes ? bytes : DEFAULT_CAP;
    return old;
}

size_t nn_conv_geom_k(const nn_conv_geom *g)
{
    return (size_t)g->KH * g->KW * g->C;
}

long nn_conv_out_len(long n, int k, int s, int same, int *pad_lo)
{
    *pad_lo = 0;
    if (!same)
        return n >= k ? (n - k) / s + 1 : 0;
    long out = (n + s - 1) / s, total = (out - 1) * s + k - n;
    *pad_lo = total > 0 ? (int)(total / 2) : 0;
    return out;
}

/* Valid tap range [*lo, *hi) of a window starting at input index i0 over an
 * axis of length n with k taps. */
static void tap_range(int i0, int n, int k, int *lo, int *hi)
{
    int a = i0 < 0 ? -i0 : 0;
    int b = n - i0 < k ? n - i0 : k;
    if (b < a)
        b = a;
    *lo = a;
    *hi = b;
}

/* Kernel rows [*lo, *hi) of output row oh fall inside the image; returns the
 * input row under kernel row 0 (negative in the top padding). */
static inline int row_taps(const nn_conv_geom *g, int oh, int *lo, int *hi)
{
    int ih0 = oh * g->SH - g->PT;
    tap_range(ih0, g->H, g->KH, lo, hi);
    return ih0;
}

/* The taps of output column ow inside the image: after *lead padded floats,
 * a run of *run input floats from the returned input column on. */
static inline int col_taps(const nn_conv_geom *g, int ow, size_t *lead, size_t *run)
{
    int iw0 = ow * g->SW - g->PL, lo, hi;
    tap_range(iw0, g->W, g->KW, &lo, &hi);
    *lead = (size_t)lo * g->C;
    *run = (size_t)(hi - lo) * g->C;
    return iw0 + lo;
}

/* memcpy for long runs; an inline loop for short ones (C = 1 or 3 input
 * images), where the call would cost more than the copy. */
static inline void copy(float *restrict dst, const float *restrict src, size_t n)
{
    if (n > 32) {
        memcpy(dst, src, n * sizeof *dst);
        return;
    }
    for (size_t i = 0; i < n; i++)
        dst[i] = src[i];
}

/* The column row of output pixel (oh, ow) of image xb. */
static inline void fill_row(const nn_conv_geom *g, const float *xb, int oh, int ow, float *row)
{
    const int C = g->C;
    const size_t rowlen = (size_t)g->KW * C;
    int kh_lo, kh_hi, ih0 = row_taps(g, oh, &kh_lo, &kh_hi);
    size_t lead, run;
    int iw = col_taps(g, ow, &lead, &run);
    size_t tail = rowlen - lead - run;
    if (kh_lo > 0)
        memset(row, 0, (size_t)kh_lo * rowlen * sizeof *row);
    for (int kh = kh_lo; kh < kh_hi; kh++) {
        float *r = row + (size_t)kh * rowlen;
        const float *src = xb + ((size_t)(ih0 + kh) * g->W + iw) * C;
        if (lead)
            memset(r, 0, lead * sizeof *r);
        copy(r + lead, src, run);
        if (tail)
            memset(r + lead + run, 0, tail * sizeof *r);
    }
    if (kh_hi < g->KH)
        memset(row + (size_t)kh_hi * rowlen, 0, (size_t)(g->KH - kh_hi) * rowlen * sizeof *row);
}

void nn_im2col(const nn_conv_geom *g, const float *x /* (n, H, W, C) */, int n,
               float *col /* (n*OH*OW, KH*KW*C) */)
{
    nn_im2col_rows(g, x, 0, (long)n * g->OH * g->OW, col);
}

void nn_im2col_rows(const nn_conv_geom *g, const float *x /* (n, H, W, C) */, long q0,
                    long rows, float *col /* (rows, KH*KW*C) */)
{
    const size_t K = nn_conv_geom_k(g), img = (size_t)g->H * g->W * g->C;
    const long P = (long)g->OH * g->OW;
    for (long q = q0; q < q0 + rows; q++, col += K) {
        long b = q / P, pix = q % P;
        fill_row(g, x + (size_t)b * img, (int)(pix / g->OW), (int)(pix % g->OW), col);
    }
}

void nn_col2im_add_rows(const nn_conv_geom *g, const float *col /* (rows, KH*KW*C) */,
                        long q0, long rows, float *dx /* (n, H, W, C) */)
{
    const int C = g->C;
    const size_t K = nn_conv_geom_k(g), rowlen = (size_t)g->KW * C;
    const size_t img = (size_t)g->H * g->W * C;
    const long P = (long)g->OH * g->OW;
    for (long q = q0; q < q0 + rows; q++, col += K) {
        long b = q / P, pix = q % P;
        int oh = (int)(pix / g->OW), ow = (int)(pix % g->OW);
        int kh_lo, kh_hi, ih0 = row_taps(g, oh, &kh_lo, &kh_hi);
        size_t lead, run;
        int iw = col_taps(g, ow, &lead, &run);
        float *db = dx + (size_t)b * img;
        for (int kh = kh_lo; kh < kh_hi; kh++) {
            const float *restrict r = col + (size_t)kh * rowlen + lead;
            float *restrict dst = db + ((size_t)(ih0 + kh) * g->W + iw) * C;
            for (size_t i = 0; i < run; i++)
                dst[i] += r[i];
        }
    }
}

void nn_col2im_add(const nn_conv_geom *g, const float *col /* (n*OH*OW, KH*KW*C) */,
                   int n, float *dx /* (n, H, W, C) */)
{
    const int C = g->C, KW = g->KW;
    const size_t K = nn_conv_geom_k(g), rowlen = (size_t)KW * C;
    const size_t img = (size_t)g->H * g->W * C;
    const float *row = col;
    for (int b = 0; b < n; b++) {
        float *db = dx + (size_t)b * img;
        for (int oh = 0; oh < g->OH; oh++) {
            int kh_lo, kh_hi, ih0 = row_taps(g, oh, &kh_lo, &kh_hi);
            for (int ow = 0; ow < g->OW; ow++, row += K) {
                size_t lead, run;
                int iw = col_taps(g, ow, &lead, &run);
                for (int kh = kh_lo; kh < kh_hi; kh++) {
                    const float *restrict r = row + (size_t)kh * rowlen + lead;
                    float *restrict dst = db + ((size_t)(ih0 + kh) * g->W + iw) * C;
                    for (size_t i = 0; i < run; i++)
                        dst[i] += r[i];
                }
            }
        }
    }
}
