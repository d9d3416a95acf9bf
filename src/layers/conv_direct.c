/* Owns the direct NHWC convolution kernels (see conv_direct.h). Everything
 * is one register tile shape: P rows x FV vectors of VL floats, accumulated
 * as a sum of broadcast scalars times vectors.
 *  - forward: rows are P neighbouring output pixels of one output row,
 *    vectors are 16-32 filters; the sum runs over kh and the KW*C floats of
 *    one kernel row, which are contiguous in NHWC (so is the kernel).
 *  - dW: rows are P consecutive (kw, c) taps of one kernel row, vectors are
 *    filters, or (when the filters fill vectors worse) rows are filters and
 *    vectors are taps; the sum runs over bands of the image's output pixels.
 *  - dx (stride 1): the forward tile over dy padded by KH-1-PT / KW-1-PL
 *    with the kernel rotated by 180 degrees and its channels transposed.
 * Padding is a zero-bordered copy of the image in the workspace, so the
 * tiles never test bounds. A filter count that is not a multiple of VL is
 * padded with zero columns in the kernel and bias; dy and the outputs are
 * read and written with partial vectors. Sums run in a fixed order:
 * results do not depend on threads. */
#include "layers/conv_direct.h"

#include <limits.h>
#include <string.h>

#include "core/simd.h"

/* This file is compiled once per instruction set (CMakeLists.txt: NN_ISA
 * is avx512, avx2 or generic) and conv_dispatch.c picks one at run time. */
#ifndef NN_ISA
#define NN_ISA generic
#endif

#if NN_VL == 16
#define PMAX 14   /* 28 accumulators + 2 kernel vectors + 1 broadcast of 32 */
#else
#define PMAX 6    /* 12 + 2 + 1 of 16 registers */
#endif
#define VL NN_VL
#define FVMAX 2
#define BAND_BYTES ((size_t)256 << 10)   /* dy rows per dW pass: well inside L2 */
#define WBLOCK_BYTES ((size_t)40 << 10)  /* kernel rows a forward pass keeps in L1 */
#define BLK (VL * FVMAX)   /* filters per tile */

/* The tile's rows as separate variables a<p>0, a<p>1 (p < 14; rows >= P
 * are dead code once P is a constant). GCC kept an array of accumulator
 * vectors in memory and stored all of them on every step. */
#define ROWS(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11) M(12) M(13)
#define DECL(p) vf a##p##0 = zero, a##p##1 = zero;

/* The tile's last vector stores the lanes of last only. */
INLINE void put(float *y, vf a0, vf a1, int relu, lanes last, const int FV)
{
    if (relu) {   /* a > 0 ? a : 0, as nn_act_forward */
        a0 = (vf)((vi)a0 & (a0 > (vf){0}));
        a1 = (vf)((vi)a1 & (a1 > (vf){0}));
    }
    if (FV == 1) {
        vstore_n(y, a0, last);
    } else {
        vstore(y, a0);
        vstore_n(y + VL, a1, last);
    }
}

/* Where a dW tile's second vector lies: VL further (the next filters, or
 * taps of the same kernel row), or one kernel row further (taps of two
 * short kernel rows: its first vector's lane beyond the row then sums
 * taps outside the kernel and is not stored). Lanes first of the first
 * vector and last of the last are stored. */
typedef struct dw_vecs {
    size_t src, dst;   /* offsets of the second vector in dy and dw */
    lanes first, last;
} dw_vecs;

/* The usual layout: the second vector right after the first, nlast lanes. */
static dw_vecs next_vector(int nlast)
{
    dw_vecs v = {VL, VL, lanes_first(VL), lanes_first(nlast)};
    return v;
}

INLINE void add(float *o, vf a0, vf a1, dw_vecs v, const int FV)
{
    if (FV == 1) {
        vstore_n(o, vload_n(o, v.last) + a0, v.last);
    } else {
        vstore_n(o, vload_n(o, v.first) + a0, v.first);
        vstore_n(o + v.dst, vload_n(o + v.dst, v.last) + a1, v.last);
    }
}

/* y[p*yps + v*VL + lane] = act(s + sum over kh < KH, r < R of
 * x[p*xps + kh*xrs + r] * w[kh*wrs + r*ldw + v*VL + lane]) for p < P, where
 * s is y itself (acc: a later pass over more kernel rows) or the bias. */
INLINE void fwd_tile(const float *x, size_t xps, size_t xrs, int KH, int R, const float *w,
                     size_t wrs, size_t ldw, const float *bias, int acc, int relu, float *y,
                     size_t yps, lanes last, const int P, const int FV)
{
    const vf zero = {0};
    ROWS(DECL)
    if (acc) {
#define LOADY(p)                                                                          \
    if (p < P) {                                                                          \
        a##p##0 = FV > 1 ? vload(y + (size_t)p * yps) : vload_n(y + (size_t)p * yps, last); \
        a##p##1 = FV > 1 ? vload_n(y + (size_t)p * yps + VL, last) : zero;                \
    }
        ROWS(LOADY)
#undef LOADY
    } else if (bias) {
        vf b0 = vload(bias), b1 = FV > 1 ? vload(bias + VL) : zero;
#define INIT(p) if (p < P) { a##p##0 = b0; a##p##1 = b1; }
        ROWS(INIT)
#undef INIT
    }
    for (int kh = 0; kh < KH; kh++) {
        const float *xk = x + (size_t)kh * xrs, *wk = w + (size_t)kh * wrs;
        for (int r = 0; r < R; r++) {
            const float *xr = xk + r;
            vf w0 = vload(wk + (size_t)r * ldw);
            vf w1 = FV > 1 ? vload(wk + (size_t)r * ldw + VL) : w0;
#define STEP(p)                                                                           \
    if (p < P) {                                                                          \
        vf b = vbcast(xr[(size_t)p * xps]);                                               \
        a##p##0 = vfma(b, w0, a##p##0);                                                   \
        if (FV > 1)                                                                       \
            a##p##1 = vfma(b, w1, a##p##1);                                               \
    }
            ROWS(STEP)
#undef STEP
        }
    }
#define OUT(p) if (p < P) put(y + (size_t)p * yps, a##p##0, a##p##1, relu, last, FV);
    ROWS(OUT)
#undef OUT
}

/* dw[p*ldw + v*vs.dst + lane] += sum over oh < OH, ow < OW of
 * x[oh*xrs + ow*xps + p] * dy[oh*dyr + ow*dys + v*vs.src + lane] for p < P
 * and the stored lanes (dw_vecs). Lanes past them are never stored, so pixels
 * read whole vectors (the next pixel's values in the spare lanes): a masked
 * load per pixel was a third of the tile's time with AVX2 (vmaskmovps). The
 * call's last `tail` pixels read their lanes only, enough that no whole read
 * reaches past the last pixel's first element (pixels are >= dys apart). */
INLINE void dw_tile(const float *x, size_t xps, size_t xrs, const float *dy, size_t dys,
                    size_t dyr, int OH, int OW, float *dw, size_t ldw, dw_vecs vs,
                    const int P, const int FV)
{
    const lanes last = vs.last;
    const vf zero = {0};
    ROWS(DECL)
#define STEP(p)                                                                           \
    if (p < P) {                                                                          \
        vf b = vbcast(xp[p]);                                                             \
        a##p##0 = vfma(b, d0, a##p##0);                                                   \
        if (FV > 1)                                                                       \
            a##p##1 = vfma(b, d1, a##p##1);                                               \
    }
    const long tail = 1 + (VL - 1) / (long)dys;
    for (int oh = 0; oh < OH; oh++) {
        const float *xr = x + (size_t)oh * xrs, *dr = dy + (size_t)oh * dyr;
        const long w = (long)(OH - oh) * OW - tail;
        const int whole = w < 0 ? 0 : w > OW ? OW : (int)w;
        for (int ow = 0; ow < whole; ow++) {
            const float *xp = xr + (size_t)ow * xps, *dp = dr + (size_t)ow * dys;
            vf d0 = vload(dp);
            vf d1 = FV > 1 ? vload(dp + vs.src) : d0;
            ROWS(STEP)
        }
        for (int ow = whole; ow < OW; ow++) {
            const float *xp = xr + (size_t)ow * xps, *dp = dr + (size_t)ow * dys;
            vf d0 = FV > 1 ? vload(dp) : vload_n(dp, last);
            vf d1 = FV > 1 ? vload_n(dp + vs.src, last) : d0;
            ROWS(STEP)
        }
    }
#undef STEP
#define OUT(p) if (p < P) add(dw + (size_t)p * ldw, a##p##0, a##p##1, vs, FV);
    ROWS(OUT)
#undef OUT
}

/* The forward with output pixels in the vectors, for filter counts that
 * fill vectors badly (20 filters: 20 of 32 lanes): rows are P filters,
 * vectors NV runs of VL neighbouring output pixels (stride 1), read from a
 * channel-planar copy of the image (x[row][c][col]: xcs floats per channel,
 * xrs per row). y[(v*VL + lane)*yps + p] = act(bias[p] + sum over kh, c, kw
 * of w[((kh*KW + kw)*C + c)*ldw + p] * x[kh*xrs + c*xcs + v*VL + lane + kw])
 * for the npix pixels in lanes m0, m1. */
INLINE void pv_tile(const float *x, size_t xcs, size_t xrs, int KH, int KW, int C,
                    const float *w, size_t ldw, const float *bias, int relu, float *y,
                    size_t yps, lanes m0, lanes m1, int npix, const int P, const int NV)
{
    const vf zero = {0};
    ROWS(DECL)
    const size_t wkw = (size_t)C * ldw;
    for (int kh = 0; kh < KH; kh++)
        for (int c = 0; c < C; c++) {
            const float *xr = x + (size_t)kh * xrs + (size_t)c * xcs;
            const float *wr = w + ((size_t)kh * KW * C + c) * ldw;
            for (int kw = 0; kw < KW; kw++) {
                vf x0 = NV > 1 ? vload(xr + kw) : vload_n(xr + kw, m0);
                vf x1 = NV > 1 ? vload_n(xr + kw + VL, m1) : x0;
                const float *wk = wr + (size_t)kw * wkw;
#define STEP(p)                                                                           \
    if (p < P) {                                                                          \
        vf b = vbcast(wk[p]);                                                             \
        a##p##0 = vfma(b, x0, a##p##0);                                                   \
        if (NV > 1)                                                                       \
            a##p##1 = vfma(b, x1, a##p##1);                                               \
    }
                ROWS(STEP)
#undef STEP
            }
        }
    /* The sums are pixel-major in the registers and filter-major in y: a
     * small buffer turns them (a scatter store per vector cost as much as a
     * tile of 75 taps). */
    float tb[PMAX][2 * VL];
#define OUT(p)                                                                            \
    if (p < P) {                                                                          \
        vf b = vbcast(bias ? bias[p] : 0.0f), v0 = a##p##0 + b, v1 = a##p##1 + b;         \
        if (relu) {                                                                       \
            v0 = (vf)((vi)v0 & (v0 > (vf){0}));                                           \
            v1 = (vf)((vi)v1 & (v1 > (vf){0}));                                           \
        }                                                                                 \
        vstore(tb[p], v0);                                                                \
        if (NV > 1)                                                                       \
            vstore(tb[p] + VL, v1);                                                       \
    }
    ROWS(OUT)
#undef OUT
    const int n = npix < NV * VL ? npix : NV * VL;
    for (int px = 0; px < n; px++)
        for (int p = 0; p < P; p++)
            y[(size_t)px * yps + p] = tb[p][px];
}

/* One call per tile size: P and FV become constants in each copy. */
#if PMAX > 6
#define TILE_SIZES(M) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11) M(12) M(13) M(14)
#else
#define TILE_SIZES(M) M(1) M(2) M(3) M(4) M(5) M(6)
#endif
#define FWD_CASE(P_)                                                                      \
    case P_:                                                                              \
        if (FV == 2)                                                                      \
            fwd_tile(x, xps, xrs, KH, R, w, wrs, ldw, bias, acc, relu, y, yps, last, P_, 2); \
        else                                                                              \
            fwd_tile(x, xps, xrs, KH, R, w, wrs, ldw, bias, acc, relu, y, yps, last, P_, 1); \
        break;
#define DW_CASE(P_)                                                                       \
    case P_:                                                                              \
        if (FV == 2)                                                                      \
            dw_tile(x, xps, xrs, dy, dys, dyr, OH, OW, dw, ldw, vs, P_, 2);               \
        else                                                                              \
            dw_tile(x, xps, xrs, dy, dys, dyr, OH, OW, dw, ldw, vs, P_, 1);               \
        break;

#define PV_CASE(P_)                                                                       \
    case P_:                                                                              \
        if (NV == 2)                                                                      \
            pv_tile(x, xcs, xrs, KH, KW, C, w, ldw, bias, relu, y, yps, m0, m1, npix, P_, 2); \
        else                                                                              \
            pv_tile(x, xcs, xrs, KH, KW, C, w, ldw, bias, relu, y, yps, m0, m1, npix, P_, 1); \
        break;

static void pv_any(int P, int NV, const float *x, size_t xcs, size_t xrs, int KH, int KW,
                   int C, const float *w, size_t ldw, const float *bias, int relu, float *y,
                   size_t yps, lanes m0, lanes m1, int npix)
{
    switch (P) {
        TILE_SIZES(PV_CASE)
    default: break;
    }
}

static void fwd_any(int P, int FV, const float *x, size_t xps, size_t xrs, int KH, int R,
                    const float *w, size_t wrs, size_t ldw, const float *bias, int acc, int relu,
                    float *y, size_t yps, lanes last)
{
    switch (P) {
        TILE_SIZES(FWD_CASE)
    default: break;
    }
}

static void dw_any(int P, int FV, const float *x, size_t xps, size_t xrs, const float *dy,
                   size_t dys, size_t dyr, int OH, int OW, float *dw, size_t ldw, dw_vecs vs)
{
    switch (P) {
        TILE_SIZES(DW_CASE)
    default: break;
    }
}

/* n split into near-equal tiles of at most PMAX: the size of tile i. */
static int tile_len(int n, int i)
{
    int tiles = (n + PMAX - 1) / PMAX, base = n / tiles, extra = n % tiles;
    return base + (i < extra);
}

static size_t round_vl(size_t n)
{
    return (n + VL - 1) / VL * VL;
}

/* Channel block [c0, c0 + BLK): vectors in use and lanes of the last. */
static void block(int N, int c0, int *FV, int *nlast)
{
    int left = N - c0 > BLK ? BLK : N - c0;
    *FV = (left + VL - 1) / VL;
    *nlast = left - (*FV - 1) * VL;
}

/* Extent of the zero-padded input the tiles read. */
static void padded(const nn_conv_geom *g, int *Hp, int *Wp, int *need)
{
    *Hp = (g->OH - 1) * g->SH + g->KH;
    *Wp = (g->OW - 1) * g->SW + g->KW;
    *need = g->PT > 0 || g->PL > 0 || *Hp > g->H || *Wp > g->W;
}

/* dq, the backward's dy image: (Hq, Wq, F) with a zero border of top rows
 * and left columns for dx (the full correlation), else (OH, OW, F). */
static void dq_geom(const nn_conv_geom *g, int with_dx, int *Hq, int *Wq, int *top, int *left)
{
    *top = with_dx ? g->KH - 1 - g->PT : 0;
    *left = with_dx ? g->KW - 1 - g->PL : 0;
    *Hq = with_dx ? g->H + g->KH - 1 : g->OH;
    *Wq = with_dx ? g->W + g->KW - 1 : g->OW;
}

size_t NN_ISA_FN(nn_dconv_work_bytes)(const nn_conv_geom *g, int F)
{
    int Hp, Wp, need, Hq, Wq, top, left;
    padded(g, &Hp, &Wp, &need);
    dq_geom(g, g->SH == 1 && g->SW == 1, &Hq, &Wq, &top, &left);
    size_t K = nn_conv_geom_k(g), Fp = round_vl((size_t)F), Cp = round_vl((size_t)g->C);
    size_t xpad = (size_t)Hp * Wp * g->C;
    size_t fwd = K * Fp + Fp + xpad;
    size_t bwd = xpad + 2 * (size_t)Hq * Wq * F + (size_t)g->KH * g->KW * F * Cp + K * F;
    return (fwd > bwd ? fwd : bwd) * sizeof(float);
}

/* The image x (H, W, C) as the tiles read it: itself, or a zero-padded
 * copy (Hp, Wp, C) in buf. *row = floats per padded row. */
static const float *pad_image(const nn_conv_geom *g, const float *x, float *buf, size_t *row)
{
    int Hp, Wp, need;
    padded(g, &Hp, &Wp, &need);
    const int C = g->C;
    if (!need) {
        *row = (size_t)g->W * C;
        return x;
    }
    *row = (size_t)Wp * C;
    memset(buf, 0, (size_t)Hp * Wp * C * sizeof *buf);
    int w0 = g->PL, wn = g->W < Wp - w0 ? g->W : Wp - w0;
    for (int h = 0; h < g->H; h++) {
        int hp = h + g->PT;
        if (hp >= Hp)
            break;
        memcpy(buf + ((size_t)hp * Wp + w0) * C, x + (size_t)h * g->W * C,
               (size_t)wn * C * sizeof *buf);
    }
    return buf;
}

/* out (OH, OW, N) = the valid stride (SH, SW) correlation of the image xs
 * (xrs floats per row, xc channels) with w (KH * KW*xc rows of ldw, N used),
 * plus bias, then ReLU if relu. Only rows [vr0, vr1) and columns [vc0, vc1)
 * of xs may be non-zero (a padded border): kernel rows and columns that
 * read only zeros are skipped (the full correlation of dx on a small image
 * is mostly border). */
static void fwd_image(const float *xs, size_t xrs, int xc, int SH, int SW, int KH, int KW,
                      int vr0, int vr1, int vc0, int vc1, int OH, int OW, const float *w,
                      size_t ldw, const float *bias, int relu, int N, float *out)
{
    const size_t wrs = (size_t)KW * xc * ldw;   /* floats per kernel row */
    /* A tile reads the kernel rows of its channel block once per tile:
     * when they do not stay in L1 (a large C * F on a small image), one pass
     * per kernel row keeps that row's weights in L1 for every tile, adding
     * into the output. */
    int passes = (size_t)KH * KW * xc * BLK * sizeof(float) > WBLOCK_BYTES ? KH : 1;
    for (int c0 = 0; c0 < N; c0 += BLK) {
        int FV, nlast;
        block(N, c0, &FV, &nlast);
        for (int pass = 0; pass < passes; pass++) {
            int last_pass = pass == passes - 1;
            for (int oh = 0; oh < OH; oh++) {
                /* kernel rows of this output row that read non-zero rows */
                int klo = vr0 - oh * SH > 0 ? vr0 - oh * SH : 0;
                int khi = vr1 - oh * SH < KH ? vr1 - oh * SH : KH;
                if (passes > 1) {
                    if (pass < klo || pass >= khi) {
                        if (pass > 0 && !(relu && last_pass))
                            continue;   /* nothing to add */
                        klo = khi = pass;   /* the first pass must set, the last activate */
                    } else {
                        klo = pass;
                        khi = pass + 1;
                    }
                } else if (khi < klo) {
                    khi = klo;
                }
                const float *xrow = xs + ((size_t)oh * SH + klo) * xrs;
                float *yrow = out + (size_t)oh * OW * N;
                for (int ow = 0, i = 0; ow < OW; i++) {
                    int P = tile_len(OW, i);
                    /* kernel columns that read a non-zero column for some pixel */
                    int c_lo = vc0 - (ow + P - 1) * SW, c_hi = vc1 - ow * SW;
                    c_lo = c_lo > 0 ? c_lo : 0;
                    c_hi = c_hi < KW ? c_hi : KW;
                    if (c_hi < c_lo)
                        c_hi = c_lo;
                    fwd_any(P, FV, xrow + ((size_t)ow * SW + c_lo) * xc, (size_t)SW * xc, xrs,
                            khi - klo, (c_hi - c_lo) * xc,
                            w + (size_t)klo * wrs + (size_t)c_lo * xc * ldw + c0, wrs, ldw,
                            bias ? bias + c0 : NULL, pass > 0, relu && last_pass,
                            yrow + (size_t)ow * N + c0, (size_t)N, lanes_first(nlast));
                    ow += P;
                }
            }
        }
    }
}

/* Whether the forward puts output pixels in the vectors (pv_tile): stride
 * 1 along rows and rows that fill vectors better than the filters do. */
static int fwd_pixels_in_vectors(const nn_conv_geom *g, int F)
{
    return g->SW == 1 && (double)g->OW / round_vl((size_t)g->OW) >
                             (double)F / round_vl((size_t)F) + 0.1;
}

/* x (H, W, C) -> xt (Hp, C, Wp): zero-padded and channel-planar per row. */
static void planar_pad(const nn_conv_geom *g, const float *x, float *xt, int Hp, int Wp)
{
    const int C = g->C;
    memset(xt, 0, (size_t)Hp * C * Wp * sizeof *xt);
    for (int h = 0; h < g->H && h + g->PT < Hp; h++) {
        const float *xr = x + (size_t)h * g->W * C;
        float *row = xt + (size_t)(h + g->PT) * C * Wp + g->PL;
        int wn = g->W < Wp - g->PL ? g->W : Wp - g->PL;
        for (int c = 0; c < C; c++)
            for (int w = 0; w < wn; w++)
                row[(size_t)c * Wp + w] = xr[(size_t)w * C + c];
    }
}

/* One image through pv tiles: out (OH, OW, N) from the channel-planar image
 * xt (rows of xc channels x Wp columns) and w (KH*KW*xc rows of ldw). Only
 * rows [vr0, vr1) of xt may be non-zero: kernel rows reading only the zero
 * border are skipped, as in fwd_image. */
static void pv_image(const float *xt, int xc, int Wp, int SH, int KH, int KW, int vr0, int vr1,
                     int OH, int OW, const float *w, size_t ldw, int N, const float *bias,
                     int relu, float *out)
{
    const size_t xcs = (size_t)Wp, xrs = (size_t)xc * Wp, wrs = (size_t)KW * xc * ldw;
    for (int oh = 0; oh < OH; oh++) {
        int klo = vr0 - oh * SH > 0 ? vr0 - oh * SH : 0;
        int khi = vr1 - oh * SH < KH ? vr1 - oh * SH : KH;
        if (khi < klo)
            khi = klo;
        const float *xrow = xt + ((size_t)oh * SH + klo) * xrs;
        float *yrow = out + (size_t)oh * OW * N;
        for (int f0 = 0, i = 0; f0 < N; i++) {
            int P = tile_len(N, i);
            for (int ow = 0; ow < OW; ow += 2 * VL) {
                int npix = OW - ow < 2 * VL ? OW - ow : 2 * VL, NV = npix > VL ? 2 : 1;
                lanes m0 = lanes_first(NV > 1 ? VL : npix), m1 = lanes_first(NV > 1 ? npix - VL : 1);
                pv_any(P, NV, xrow + ow, xcs, xrs, khi - klo, KW, xc,
                       w + (size_t)klo * wrs + f0, ldw, bias ? bias + f0 : NULL, relu,
                       yrow + (size_t)ow * N + f0, (size_t)N, m0, m1, npix);
            }
            f0 += P;
        }
    }
}

/* The image q (H, W, C) channel-planar: qt (H, C, W). */
static void planar(const float *q, int H, int W, int C, float *qt)
{
    for (int h = 0; h < H; h++)
        for (int c = 0; c < C; c++) {
            float *row = qt + ((size_t)h * C + c) * W;
            const float *src = q + (size_t)h * W * C + c;
            for (int w = 0; w < W; w++)
                row[w] = src[(size_t)w * C];
        }
}

/* The kernel for dx: rot[(kh*KW + kw)*F + f][c] = w[((KH-1-kh)*KW + KW-1-kw)*C + c][f],
 * rows of Cp floats (zero beyond C). */
static void rotate_kernel(const nn_conv_geom *g, int F, const float *w, size_t Cp, float *rot)
{
    const int C = g->C, KH = g->KH, KW = g->KW;
    for (int kh = 0; kh < KH; kh++)
        for (int kw = 0; kw < KW; kw++) {
            const float *src = w + ((size_t)(KH - 1 - kh) * KW + (KW - 1 - kw)) * C * F;
            float *dst = rot + ((size_t)kh * KW + kw) * F * Cp;
            for (int f = 0; f < F; f++) {
                float *row = dst + (size_t)f * Cp;
                for (int c = 0; c < C; c++)
                    row[c] = src[(size_t)c * F + f];
                for (size_t c = (size_t)C; c < Cp; c++)
                    row[c] = 0.0f;
            }
        }
}

/* dq of one image: dy through ReLU (from y) or as is, zero border; db adds
 * the pixels of dq in order (as nn_conv_bias_grad does). */
static void build_dq(const nn_conv_geom *g, int F, int relu, const float *y, const float *dy,
                     float *db, float *dq, int Hq, int Wq, int top, int left)
{
    const size_t row = (size_t)Wq * F;
    memset(dq, 0, (size_t)top * row * sizeof *dq);
    memset(dq + (size_t)(top + g->OH) * row, 0,
           (size_t)(Hq - top - g->OH) * row * sizeof *dq);
    for (int oh = 0; oh < g->OH; oh++) {
        float *q = dq + (size_t)(oh + top) * row;
        memset(q, 0, (size_t)left * F * sizeof *q);
        memset(q + (size_t)(left + g->OW) * F, 0, (size_t)(Wq - left - g->OW) * F * sizeof *q);
        q += (size_t)left * F;
        const size_t off = (size_t)oh * g->OW * F, n = (size_t)g->OW * F;
        const float *restrict d = dy + off;
        float *restrict o = q;
        if (relu) {
            const float *restrict yy = y + off;
            for (size_t i = 0; i < n; i++)
                o[i] = yy[i] > 0.0f ? d[i] : 0.0f;
        } else
            memcpy(o, d, n * sizeof *o);
        if (db)
            for (int ow = 0; ow < g->OW; ow++) {
                const float *restrict r = o + (size_t)ow * F;
                for (int f = 0; f < F; f++)
                    db[f] += r[f];
            }
    }
}

/* Whether dW tiles hold kernel taps in their vectors (and broadcast dy's
 * filters as rows) rather than filters: when F fills vectors worse than a
 * kernel row's KW*C taps do (20 filters use 20 of 32 lanes; 15 taps of a
 * 5x5x3 row use 15 of 16). */
static int dw_taps_in_vectors(const nn_conv_geom *g, int F)
{
    size_t R = (size_t)g->KW * g->C;
    return (double)R / round_vl(R) > (double)F / round_vl((size_t)F) + 0.1;
}

/* dw += the correlation of the image xs (padded, xrs floats per row) with
 * dq's interior (OH, OW, F; dqr floats per row), in bands of output rows
 * whose dq stays in cache while every tile passes over them. With taps in
 * the vectors, the sums go to dwt (F, KH*KW*C) instead. */
static void dw_image(const nn_conv_geom *g, int F, const float *xs, size_t xrs,
                     const float *dq, size_t dqr, float *dw, float *dwt)
{
    const int R = g->KW * g->C;
    const size_t K = nn_conv_geom_k(g), xps = (size_t)g->SW * g->C, xoh = (size_t)g->SH * xrs;
    int band = (int)(BAND_BYTES / (dqr * sizeof(float)));
    if (band < 1)
        band = 1;
    for (int oh0 = 0; oh0 < g->OH; oh0 += band) {
        int nb = g->OH - oh0 < band ? g->OH - oh0 : band;
        const float *db = dq + (size_t)oh0 * dqr;
        const float *xb = xs + (size_t)oh0 * xoh;
        for (int kh = 0; kh < g->KH; kh++) {
            const float *xk = xb + (size_t)kh * xrs;
            if (dwt && R <= VL && kh + 1 < g->KH) {
                /* rows: filters of dq; vectors: a kernel row each, two at a
                 * time, so each broadcast of dq feeds two FMAs */
                dw_vecs vs = {xrs, (size_t)R, lanes_first(R), lanes_first(R)};
                for (int f0 = 0, i = 0; f0 < F; i++) {
                    int T = tile_len(F, i);
                    dw_any(T, 2, db + f0, (size_t)F, dqr, xk, xps, xoh, nb, g->OW,
                           dwt + (size_t)f0 * K + (size_t)kh * R, K, vs);
                    f0 += T;
                }
                kh++;
                continue;
            }
            if (dwt) {   /* rows: filters of dq; vectors: taps of x */
                for (int t0 = 0; t0 < R; t0 += BLK) {
                    int FV, nlast;
                    block(R, t0, &FV, &nlast);
                    dw_vecs vs = next_vector(nlast);
                    for (int f0 = 0, i = 0; f0 < F; i++) {
                        int T = tile_len(F, i);
                        dw_any(T, FV, db + f0, (size_t)F, dqr, xk + t0, xps, xoh, nb, g->OW,
                               dwt + (size_t)f0 * K + (size_t)kh * R + t0, K, vs);
                        f0 += T;
                    }
                }
                continue;
            }
            for (int f0 = 0; f0 < F; f0 += BLK) {   /* rows: taps of x; vectors: filters */
                int FV, nlast;
                block(F, f0, &FV, &nlast);
                dw_vecs vs = next_vector(nlast);
                for (int r0 = 0, i = 0; r0 < R; i++) {
                    int T = tile_len(R, i);
                    dw_any(T, FV, xk + r0, xps, xoh, db + f0, (size_t)F, dqr, nb, g->OW,
                           dw + ((size_t)kh * R + r0) * F + f0, (size_t)F, vs);
                    r0 += T;
                }
            }
        }
    }
}

void NN_ISA_FN(nn_dconv_forward)(const nn_conv_geom *g, int F, const float *w,
                                 const float *bias, nn_act act, const float *x, int n, float *y, float *work)
{
    const size_t K = nn_conv_geom_k(g), Fp = round_vl((size_t)F);
    const size_t xin = (size_t)g->H * g->W * g->C, yout = (size_t)g->OH * g->OW * F;
    const float *wp = w;
    size_t ldw = (size_t)F;
    float *ws = work;
    if (Fp != (size_t)F) {   /* zero columns up to a whole vector */
        float *pk = ws;
        for (size_t k = 0; k < K; k++) {
            memcpy(pk + k * Fp, w + k * F, (size_t)F * sizeof *pk);
            memset(pk + k * Fp + F, 0, (Fp - F) * sizeof *pk);
        }
        wp = pk;
        ldw = Fp;
        ws += K * Fp;
    }
    float *bp = ws;
    memset(bp, 0, Fp * sizeof *bp);
    if (bias)
        memcpy(bp, bias, (size_t)F * sizeof *bp);
    ws += Fp;
    int relu = act == NN_ACT_RELU, fused = relu || act == NN_ACT_LINEAR;
    if (fwd_pixels_in_vectors(g, F)) {
        int Hp, Wp, need;
        padded(g, &Hp, &Wp, &need);
        for (int b = 0; b < n; b++) {
            float *yb = y + (size_t)b * yout;
            planar_pad(g, x + (size_t)b * xin, ws, Hp, Wp);
            pv_image(ws, g->C, Wp, g->SH, g->KH, g->KW, g->PT, g->PT + g->H, g->OH, g->OW, w,
                     (size_t)F, F, bias, relu, yb);
            if (!fused)
                nn_act_forward(act, yb, (size_t)g->OH * g->OW, (size_t)F);
        }
        return;
    }
    for (int b = 0; b < n; b++) {
        size_t xrs;
        const float *xs = pad_image(g, x + (size_t)b * xin, ws, &xrs);
        float *yb = y + (size_t)b * yout;
        int Hp, Wp, need;
        padded(g, &Hp, &Wp, &need);
        fwd_image(xs, xrs, g->C, g->SH, g->SW, g->KH, g->KW,
                  need ? g->PT : 0, need ? g->PT + g->H : g->H, need ? g->PL : 0,
                  need ? g->PL + g->W : g->W, g->OH, g->OW, wp, ldw, bp,
                  relu, F, yb);
        if (!fused)
            nn_act_forward(act, yb, (size_t)g->OH * g->OW, (size_t)F);
    }
}

void NN_ISA_FN(nn_dconv_backward)(const nn_conv_geom *g, int F, nn_act act,
                                  const float *w, const float *x, const float *y, float *dy, int n, float *dw, float *db,
                       float *dx, float *work)
{
    const int C = g->C;
    const size_t Cp = round_vl((size_t)C), P = (size_t)g->OH * g->OW;
    const size_t xin = (size_t)g->H * g->W * C;
    int Hp, Wp, need, Hq, Wq, top, left;
    padded(g, &Hp, &Wp, &need);
    dq_geom(g, dx != NULL, &Hq, &Wq, &top, &left);
    const size_t K = nn_conv_geom_k(g);
    float *xbuf = work, *dq = xbuf + (size_t)Hp * Wp * C, *rot = dq + (size_t)Hq * Wq * F;
    float *dwt = dw && dw_taps_in_vectors(g, F) ? rot + (size_t)g->KH * g->KW * F * Cp : NULL;
    /* dx with its pixels in the vectors when its rows fill them better than
     * its C channels do, and are long enough that the zero border (which the
     * filter tiles skip column by column) is a small part; dqt: dq planar */
    const int dx_pixels = g->W >= 8 * (g->KW - 1) &&
                          (double)g->W / round_vl((size_t)g->W) >
                              (double)C / round_vl((size_t)C) + 0.1;
    float *dqt = rot + (size_t)g->KH * g->KW * F * Cp + K * F;
    if (dx)
        rotate_kernel(g, F, w, Cp, rot);
    if (dwt)
        memset(dwt, 0, (size_t)F * K * sizeof *dwt);
    const int relu = act == NN_ACT_RELU;
    for (int b = 0; b < n; b++) {
        float *dyb = dy + (size_t)b * P * F;
        const float *yb = y ? y + (size_t)b * P * F : NULL;   /* NULL: not read */
        if (act != NN_ACT_LINEAR && !relu)   /* dy is scratch: in place */
            nn_act_backward(act, yb, dyb, P, (size_t)F);
        build_dq(g, F, relu, yb, dyb, db, dq, Hq, Wq, top, left);
        const size_t dqr = (size_t)Wq * F;
        const float *in = dq + ((size_t)top * Wq + left) * F;
        if (dw) {
            size_t xrs;
            const float *xs = pad_image(g, x + (size_t)b * xin, xbuf, &xrs);
            dw_image(g, F, xs, xrs, in, dqr, dw, dwt);
        }
        if (dx && dx_pixels) {
            planar(dq, Hq, Wq, F, dqt);
            pv_image(dqt, F, Wq, 1, g->KH, g->KW, top, top + g->OH, g->H, g->W, rot, Cp, C,
                     NULL, 0, dx + (size_t)b * xin);
        } else if (dx) {
            fwd_image(dq, dqr, F, 1, 1, g->KH, g->KW, top, top + g->OH, left, left + g->OW,
                      g->H, g->W, rot, Cp, NULL, 0, C,
                      dx + (size_t)b * xin);
        }
    }
    if (dwt)   /* dw (K, F) += dwt (F, K) transposed */
        for (size_t k = 0; k < K; k++)
            for (int f = 0; f < F; f++)
                dw[k * F + f] += dwt[(size_t)f * K + k];
}
