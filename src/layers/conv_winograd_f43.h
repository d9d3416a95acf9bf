/* F(4x4, 3x3)'s tile transforms for conv_winograd.c, one tile and vector of
 * channels at a time, as straight-line code over named variables: the
 * array forms (in1d, out1d, zt1d there, which F(2x2) keeps) left GCC 36
 * intermediates in memory, a store and a reload each, and the stores were
 * the transforms' limit. The arithmetic is theirs, operation for
 * operation. Internal to the library. */
#ifndef NNTRAIN_CONV_WINOGRAD_F43_H
#define NNTRAIN_CONV_WINOGRAD_F43_H

#include <stddef.h>

#include "core/simd.h"

/* The 1-D steps on six (four) named vectors: B^T d (B4), A^T x (A4) and
 * A z (Z4), as in1d, out1d and zt1d; c2, c4, c5, c8: the constants as
 * vectors, in the caller. */
#define B4(i0, i1, i2, i3, i4, i5, o0, o1, o2, o3, o4, o5)                             \
    do {                                                                                \
        vf d0_ = (i0), d1_ = (i1), d2_ = (i2), d3_ = (i3), d4_ = (i4), d5_ = (i5);      \
        vf p_ = d4_ - c4 * d2_, r_ = d3_ - c4 * d1_, p2_ = d4_ - d2_,                   \
           r2_ = c2 * (d3_ - d1_);                                                      \
        o0 = c4 * d0_ - c5 * d2_ + d4_;                                                 \
        o1 = p_ + r_;                                                                   \
        o2 = p_ - r_;                                                                   \
        o3 = p2_ + r2_;                                                                 \
        o4 = p2_ - r2_;                                                                 \
        o5 = c4 * d1_ - c5 * d3_ + d5_;                                                 \
    } while (0)
#define A4(i0, i1, i2, i3, i4, i5, o0, o1, o2, o3)                                     \
    do {                                                                                \
        vf x0_ = (i0), x1_ = (i1), x2_ = (i2), x3_ = (i3), x4_ = (i4), x5_ = (i5);      \
        vf a_ = x1_ + x2_, b_ = x1_ - x2_, c_ = x3_ + x4_, d_ = x3_ - x4_;              \
        o0 = x0_ + a_ + c_;                                                             \
        o1 = b_ + c2 * d_;                                                              \
        o2 = a_ + c4 * c_;                                                              \
        o3 = b_ + c8 * d_ + x5_;                                                        \
    } while (0)
#define Z4(i0, i1, i2, i3, o0, o1, o2, o3, o4, o5)                                     \
    do {                                                                                \
        vf z0_ = (i0), z1_ = (i1), z2_ = (i2), z3_ = (i3);                              \
        vf e_ = z0_ + z2_, d_ = z1_ + z3_, e4_ = z0_ + c4 * z2_,                        \
           d8_ = c2 * z1_ + c8 * z3_;                                                   \
        o0 = z0_;                                                                       \
        o1 = e_ + d_;                                                                   \
        o2 = e_ - d_;                                                                   \
        o3 = e4_ + d8_;                                                                 \
        o4 = e4_ - d8_;                                                                 \
        o5 = z3_;                                                                       \
    } while (0)

/* v[k*Ci] = (B^T d B)[k] of one F(4x4) tile and vector of channels: the 36
 * taps at d[k] + c, n lanes (all if full). */
INLINE void in_tile4(const float *const *d, size_t c, float *v, size_t Ci, lanes n,
                     const int full)
{
    const vf c2 = vbcast(2.0f), c4 = vbcast(4.0f), c5 = vbcast(5.0f);
#define LD(k) (full ? vload(d[k] + c) : vload_n(d[k] + c, n))
#define COL(j)                                                                          \
    vf e0##j, e1##j, e2##j, e3##j, e4##j, e5##j;                                        \
    B4(LD(j), LD(6 + j), LD(12 + j), LD(18 + j), LD(24 + j), LD(30 + j), e0##j, e1##j,  \
       e2##j, e3##j, e4##j, e5##j);
    COL(0) COL(1) COL(2) COL(3) COL(4) COL(5)
#undef COL
#undef LD
#define ST(k, x)                                                                        \
    if (full)                                                                           \
        vstore(v + (size_t)(k) * Ci, x);                                                \
    else                                                                                \
        vstore_n(v + (size_t)(k) * Ci, x, n);
#define ROW(i)                                                                          \
    {                                                                                   \
        vf o0, o1, o2, o3, o4, o5;                                                      \
        B4(e##i##0, e##i##1, e##i##2, e##i##3, e##i##4, e##i##5, o0, o1, o2, o3, o4,    \
           o5);                                                                         \
        ST(6 * i, o0) ST(6 * i + 1, o1) ST(6 * i + 2, o2) ST(6 * i + 3, o3)              \
        ST(6 * i + 4, o4) ST(6 * i + 5, o5)                                             \
    }
    ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)
#undef ROW
#undef ST
}

/* E (conv_winograd.c: input_tf4) for one column of six input pixels
 * at rp[i] + c (NULL: off the image): e[r*Ci] = (B^T d)[r]. */
INLINE void e_column(const float *const *rp, size_t c, float *e, size_t Ci, lanes n,
                     const int full)
{
    const vf c2 = vbcast(2.0f), c4 = vbcast(4.0f), c5 = vbcast(5.0f), zero = {0};
#define LD(i) (!rp[i] ? zero : full ? vload(rp[i] + c) : vload_n(rp[i] + c, n))
    vf o0, o1, o2, o3, o4, o5;
    B4(LD(0), LD(1), LD(2), LD(3), LD(4), LD(5), o0, o1, o2, o3, o4, o5);
#undef LD
    vstore(e + c, o0);   /* E's rows: Ci rounded up to whole vectors */
    vstore(e + Ci + c, o1);
    vstore(e + 2 * Ci + c, o2);
    vstore(e + 3 * Ci + c, o3);
    vstore(e + 4 * Ci + c, o4);
    vstore(e + 5 * Ci + c, o5);
}

/* v[(6 r + s) Ci] = (B^T d B)[r][s] of one tile from its six columns of E
 * at e (E[j][r] at e + (6 j + r) Cv). */
INLINE void e_tile(const float *e, size_t Cv, float *v, size_t Ci, size_t c, lanes n,
                   const int full)
{
    const vf c2 = vbcast(2.0f), c4 = vbcast(4.0f), c5 = vbcast(5.0f);
#define LD(j, r) vload(e + (size_t)(6 * (j) + (r)) * Cv + c)
#define ST(k, x)                                                                        \
    if (full)                                                                           \
        vstore(v + (size_t)(k) * Ci + c, x);                                            \
    else                                                                                \
        vstore_n(v + (size_t)(k) * Ci + c, x, n);
#define ROW(r)                                                                          \
    {                                                                                   \
        vf o0, o1, o2, o3, o4, o5;                                                      \
        B4(LD(0, r), LD(1, r), LD(2, r), LD(3, r), LD(4, r), LD(5, r), o0, o1, o2, o3,  \
           o4, o5);                                                                     \
        ST(6 * r, o0) ST(6 * r + 1, o1) ST(6 * r + 2, o2) ST(6 * r + 3, o3)              \
        ST(6 * r + 4, o4) ST(6 * r + 5, o5)                                             \
    }
    ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)
#undef ROW
#undef ST
#undef LD
}

/* One F(4x4) tile's outputs for one vector of channels: o[k] + co = A^T x A
 * + bias (ReLU if relu) for x[k] = mt[k*Cop]; n lanes (all if full). */
INLINE void out_tile4(const float *mt, size_t Cop, const float *bias, int relu,
                      float *const *o, size_t co, lanes n, const int full)
{
    const vf c2 = vbcast(2.0f), c4 = vbcast(4.0f), c8 = vbcast(8.0f), zero = {0};
    const vf bs = full ? vload(bias) : vload_n(bias, n);
#define LD(k) vload(mt + (size_t)(k) * Cop)   /* M's rows are whole vectors */
#define COL(j)                                                                          \
    vf e0##j, e1##j, e2##j, e3##j;                                                      \
    A4(LD(j), LD(6 + j), LD(12 + j), LD(18 + j), LD(24 + j), LD(30 + j), e0##j, e1##j,  \
       e2##j, e3##j);
    COL(0) COL(1) COL(2) COL(3) COL(4) COL(5)
#undef COL
#undef LD
#define ST(k, x)                                                                        \
    {                                                                                   \
        vf v_ = (x) + bs;                                                               \
        if (relu)   /* y > 0 ? y : 0, as nn_act_forward */                              \
            v_ = (vf)((vi)v_ & (v_ > zero));                                            \
        if (full)                                                                       \
            vstore(o[k] + co, v_);                                                      \
        else                                                                            \
            vstore_n(o[k] + co, v_, n);                                                 \
    }
#define ROW(i)                                                                          \
    {                                                                                   \
        vf y0, y1, y2, y3;                                                              \
        A4(e##i##0, e##i##1, e##i##2, e##i##3, e##i##4, e##i##5, y0, y1, y2, y3);       \
        ST(4 * i, y0) ST(4 * i + 1, y1) ST(4 * i + 2, y2) ST(4 * i + 3, y3)              \
    }
    ROW(0) ROW(1) ROW(2) ROW(3)
#undef ROW
#undef ST
}

/* One F(4x4) tile of zt_tf for one vector of output channels: o[k*Cop] =
 * (A z A^T)[k] for the 16 gradients at z[k] + co (n lanes; all if full). */
INLINE void zt_tile4(const float *const *z, size_t co, float *o, size_t Cop, lanes n,
                     const int full)
{
    const vf c2 = vbcast(2.0f), c4 = vbcast(4.0f), c8 = vbcast(8.0f);
#define LD(k) (full ? vload(z[k] + co) : vload_n(z[k] + co, n))
#define COL(j)                                                                          \
    vf e0##j, e1##j, e2##j, e3##j, e4##j, e5##j;                                        \
    Z4(LD(j), LD(4 + j), LD(8 + j), LD(12 + j), e0##j, e1##j, e2##j, e3##j, e4##j, e5##j);
    COL(0) COL(1) COL(2) COL(3)
#undef COL
#undef LD
#define ROW(i)                                                                          \
    {                                                                                   \
        vf y0, y1, y2, y3, y4, y5;                                                      \
        Z4(e##i##0, e##i##1, e##i##2, e##i##3, y0, y1, y2, y3, y4, y5);                 \
        vstore(o + (size_t)(6 * i) * Cop, y0);                                          \
        vstore(o + (size_t)(6 * i + 1) * Cop, y1);                                      \
        vstore(o + (size_t)(6 * i + 2) * Cop, y2);                                      \
        vstore(o + (size_t)(6 * i + 3) * Cop, y3);                                      \
        vstore(o + (size_t)(6 * i + 4) * Cop, y4);                                      \
        vstore(o + (size_t)(6 * i + 5) * Cop, y5);                                      \
    }
    ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)
#undef ROW
}

#endif
