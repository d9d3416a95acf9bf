/* Fixed-width float vectors for the hand-tiled kernels (conv_direct.c,
 * maxpool2d.c): GCC vector types of NN_VL floats (16 with AVX-512, 8 with
 * AVX, 4 otherwise), FMA, broadcast, and loads/stores of the first n lanes
 * that touch no memory past them. Internal to the library. */
#ifndef NNTRAIN_SIMD_H
#define NNTRAIN_SIMD_H

#if defined(__AVX512F__)
#include <immintrin.h>
#define NN_VL 16
#elif defined(__AVX__)
#include <immintrin.h>
#define NN_VL 8
#else   /* SSE2 or any other target: vectors the baseline ABI knows */
#define NN_VL 4
#endif

typedef float vf __attribute__((vector_size(NN_VL * sizeof(float))));
typedef float vfu __attribute__((vector_size(NN_VL * sizeof(float)), aligned(sizeof(float))));
typedef int vi __attribute__((vector_size(NN_VL * sizeof(int))));
typedef int viu __attribute__((vector_size(NN_VL * sizeof(int)), aligned(sizeof(int))));

#define INLINE static inline __attribute__((always_inline))

INLINE vf vload(const float *p)
{
    return *(const vfu *)p;
}

INLINE void vstore(float *p, vf v)
{
    *(vfu *)p = v;
}

INLINE vf vbcast(float s)
{
#if defined(__AVX512F__)
    return (vf)_mm512_set1_ps(s);
#elif defined(__AVX__)
    return (vf)_mm256_set1_ps(s);
#else
    vf v;
    for (int i = 0; i < NN_VL; i++)
        v[i] = s;
    return v;
#endif
}

/* a * b + c in one rounding where the target has FMA (ISO C mode does not
 * contract a * b + c on its own). */
INLINE vf vfma(vf a, vf b, vf c)
{
#if defined(__AVX512F__)
    return (vf)_mm512_fmadd_ps((__m512)a, (__m512)b, (__m512)c);
#elif defined(__AVX__) && defined(__FMA__)
    return (vf)_mm256_fmadd_ps((__m256)a, (__m256)b, (__m256)c);
#else
    return a * b + c;
#endif
}

/* The first n (1..NN_VL) lanes of a vector: loads that read no further (so
 * the last pixel of a buffer can be read) and stores that write no further. */
#if defined(__AVX512F__)
typedef __mmask16 lanes;
INLINE lanes lanes_first(int n)
{
    return (lanes)((1u << n) - 1u);
}
INLINE vf vload_n(const float *p, lanes m)
{
    return (vf)_mm512_maskz_loadu_ps(m, p);
}
INLINE void vstore_n(float *p, vf v, lanes m)
{
    _mm512_mask_storeu_ps(p, m, (__m512)v);
}
INLINE vi viload_n(const int *p, lanes m)
{
    return (vi)_mm512_maskz_loadu_epi32(m, p);
}
INLINE void vistore_n(int *p, vi v, lanes m)
{
    _mm512_mask_storeu_epi32(p, m, (__m512i)v);
}
#elif defined(__AVX__)
/* vmaskmovps: a lane-by-lane copy of a variable count became a memcpy call
 * in the kernels' inner loops (the dW tiles spilled every accumulator
 * around it: a 5x5x3 first convolution's dW ran at 4 GFLOP/s). n keeps
 * whole vectors on the plain load and store. */
typedef struct lanes {
    vi m;
    int n;
} lanes;
INLINE lanes lanes_first(int n)
{
    const vi iota = {0, 1, 2, 3, 4, 5, 6, 7};
    lanes l = {iota < (vi){n, n, n, n, n, n, n, n}, n};
    return l;
}
INLINE vf vload_n(const float *p, lanes l)
{
    if (l.n == NN_VL)
        return vload(p);
    return (vf)_mm256_maskload_ps(p, (__m256i)l.m);
}
INLINE void vstore_n(float *p, vf v, lanes l)
{
    if (l.n == NN_VL)
        vstore(p, v);
    else
        _mm256_maskstore_ps(p, (__m256i)l.m, (__m256)v);
}
INLINE vi viload_n(const int *p, lanes l)
{
    if (l.n == NN_VL)
        return *(const viu *)p;
    return (vi)_mm256_maskload_ps((const float *)p, (__m256i)l.m);
}
INLINE void vistore_n(int *p, vi v, lanes l)
{
    if (l.n == NN_VL)
        *(viu *)p = v;
    else
        _mm256_maskstore_ps((float *)p, (__m256i)l.m, (__m256)v);
}
#else
typedef int lanes;
INLINE lanes lanes_first(int n)
{
    return n;
}
INLINE vf vload_n(const float *p, lanes n)
{
    if (n == NN_VL)
        return vload(p);
    vf v = {0};
    for (int i = 0; i < n; i++)
        v[i] = p[i];
    return v;
}
INLINE void vstore_n(float *p, vf v, lanes n)
{
    if (n == NN_VL) {
        vstore(p, v);
        return;
    }
    for (int i = 0; i < n; i++)
        p[i] = v[i];
}
INLINE vi viload_n(const int *p, lanes n)
{
    if (n == NN_VL)
        return *(const viu *)p;
    vi v = {0};
    for (int i = 0; i < n; i++)
        v[i] = p[i];
    return v;
}
INLINE void vistore_n(int *p, vi v, lanes n)
{
    if (n == NN_VL) {
        *(viu *)p = v;
        return;
    }
    for (int i = 0; i < n; i++)
        p[i] = v[i];
}
#endif

/* Lanes of a where m is set (all bits per lane, as comparisons give), else b. */
INLINE vf vselect(vi m, vf a, vf b)
{
    return (vf)((m & (vi)a) | (~m & (vi)b));
}

INLINE vi viselect(vi m, vi a, vi b)
{
    return (m & a) | (~m & b);
}

#endif
