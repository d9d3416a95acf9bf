/* Deterministic mode's fused Dense kernel gradient (detsum.h): each chunk's
 * x^T dz is summed over its rows in float for one tile of the kernel kept
 * in registers, scaled and truncated to fixed point, and added to the
 * tile's int64 sums, chunk after chunk. The float gradient of a chunk never
 * goes to memory: per chunk and weight the old path zeroed, wrote, scanned
 * and converted a float in a buffer of its own (memory-bound for a Dense
 * layer at a few rows per chunk). */
#include <limits.h>
#include <math.h>
#include <string.h>

#include "train/detsum.h"

/* One FMA per row, in row order, on every build that has FMA: the same
 * bits in the tile loop and at the edges. */
#ifdef __FMA__
#define MADD(a, b, c) fmaf(a, b, c)
#else
#define MADD(a, b, c) ((c) + (a) * (b))
#endif

enum { IB = 4, JB = 32 };

int nn_det_bound_exp(int ex, int ez, long n)
{
    if (ex == INT_MAX || ez == INT_MAX)
        return INT_MAX;
    if (ex == INT_MIN || ez == INT_MIN || n <= 0)
        return INT_MIN;
    /* each rounded product is at most 2^(ex+ez), so (rounding being
     * monotone) each of the n partial sums is at most n 2^(ex+ez) <
     * 2^(ex+ez+ceil(log2 n)+1) */
    int h = 0;
    while (h < 62 && (1L << h) < n)
        h++;
    return ex + ez + h + 1;
}

/* s * 2^shift truncated toward zero, as nn_det_add does through double: in
 * float the scaling is exact when 2^shift is a normal float (s < 2^e, so
 * no overflow; a product under 2^-126 truncates to 0 either way). */
static inline int64_t fix_f(float s, float fs)
{
    return (int64_t)(s * fs);
}

static inline int64_t fix_d(float s, double ds)
{
    return (int64_t)((double)s * ds);
}

/* A full IB x JB tile at (i, j): its sums stay in registers per chunk. */
static void tile_full(int64_t *acc, const float *x, const float *dz, size_t rows, size_t C,
                      size_t in, size_t units, size_t i, size_t j, int narrow, float fs,
                      double ds)
{
    for (size_t c0 = 0; c0 < rows; c0 += C) {
        size_t c1 = rows - c0 < C ? rows : c0 + C;
        float s[IB][JB];
        memset(s, 0, sizeof s);
        for (size_t r = c0; r < c1; r++) {
            const float *xr = x + r * in + i, *dr = dz + r * units + j;
            for (int a = 0; a < IB; a++) {
                float xv = xr[a];
                for (int b = 0; b < JB; b++)
                    s[a][b] = MADD(xv, dr[b], s[a][b]);
            }
        }
        for (int a = 0; a < IB; a++) {
            int64_t *restrict g = acc + (i + (size_t)a) * units + j;
            if (narrow)
                for (int b = 0; b < JB; b++)
                    g[b] += fix_f(s[a][b], fs);
            else
                for (int b = 0; b < JB; b++)
                    g[b] += fix_d(s[a][b], ds);
        }
    }
}

/* The same arithmetic, element by element, for the edges. */
static void tile_edge(int64_t *acc, const float *x, const float *dz, size_t rows, size_t C,
                      size_t in, size_t units, size_t i, size_t ni, size_t j, size_t nj,
                      int narrow, float fs, double ds)
{
    for (size_t a = i; a < i + ni; a++)
        for (size_t b = j; b < j + nj; b++)
            for (size_t c0 = 0; c0 < rows; c0 += C) {
                size_t c1 = rows - c0 < C ? rows : c0 + C;
                float s = 0;
                for (size_t r = c0; r < c1; r++)
                    s = MADD(x[r * in + a], dz[r * units + b], s);
                acc[a * units + b] += narrow ? fix_f(s, fs) : fix_d(s, ds);
            }
}

#if defined(__AVX512F__) && defined(__AVX512DQ__)
#include <immintrin.h>

/* A tile of NI kernel rows by up to 16 NH columns at (i, j) (mask m of the
 * last 16): the sums of a chunk and the tile's int64 sums (2 NH vectors per
 * row) stay in registers over all chunks; the scaling is a float multiply
 * (narrow shifts only). The arithmetic of tile_full, element by element. */
static inline __attribute__((always_inline)) void
tile_avx512(int64_t *acc, const float *x, const float *dz, size_t rows, size_t C, size_t in,
            size_t units, size_t i, size_t j, __mmask16 m, float fs, int fresh, const int NI,
            const int NH)
{
    __m512i a[4][4];
    __m512 s[4][2];
    const __m512 vfs = _mm512_set1_ps(fs);
    __mmask16 mh[2] = {NH == 1 ? m : 0xffff, m};
    __mmask8 mq[4] = {(__mmask8)mh[0], (__mmask8)(mh[0] >> 8), (__mmask8)mh[1],
                      (__mmask8)(mh[1] >> 8)};
#pragma GCC unroll 4
    for (int p = 0; p < NI; p++)
#pragma GCC unroll 4
        for (int q = 0; q < 2 * NH; q++)
            a[p][q] = _mm512_maskz_loadu_epi64(fresh ? 0 : mq[q],
                                               acc + (i + (size_t)p) * units + j + 8 * (size_t)q);
    for (size_t c0 = 0; c0 < rows; c0 += C) {
        size_t c1 = rows - c0 < C ? rows : c0 + C;
#pragma GCC unroll 4
        for (int p = 0; p < NI; p++)
#pragma GCC unroll 2
            for (int h = 0; h < NH; h++)
                s[p][h] = _mm512_setzero_ps();
        for (size_t r = c0; r < c1; r++) {
            __m512 d[2];
#pragma GCC unroll 2
            for (int h = 0; h < NH; h++)
                d[h] = _mm512_maskz_loadu_ps(mh[h], dz + r * units + j + 16 * (size_t)h);
#pragma GCC unroll 4
            for (int p = 0; p < NI; p++) {
                __m512 xv = _mm512_set1_ps(x[r * in + i + (size_t)p]);
#pragma GCC unroll 2
                for (int h = 0; h < NH; h++)
                    s[p][h] = _mm512_fmadd_ps(xv, d[h], s[p][h]);
            }
        }
#pragma GCC unroll 4
        for (int p = 0; p < NI; p++)
#pragma GCC unroll 2
            for (int h = 0; h < NH; h++) {
                __m512 v = _mm512_mul_ps(s[p][h], vfs);
                a[p][2 * h] = _mm512_add_epi64(a[p][2 * h],
                                               _mm512_cvttps_epi64(_mm512_castps512_ps256(v)));
                a[p][2 * h + 1] = _mm512_add_epi64(
                    a[p][2 * h + 1], _mm512_cvttps_epi64(_mm512_extractf32x8_ps(v, 1)));
            }
    }
#pragma GCC unroll 4
    for (int p = 0; p < NI; p++)
#pragma GCC unroll 4
        for (int q = 0; q < 2 * NH; q++)
            _mm512_mask_storeu_epi64(acc + (i + (size_t)p) * units + j + 8 * (size_t)q, mq[q],
                                     a[p][q]);
}

/* Rows [i0, i1) in tiles of 4 rows (then single rows) by 32 columns (then
 * the rest in one tile of 16 or 32 lanes, masked). */
static void add_avx512(int64_t *acc, const float *x, const float *dz, size_t rows, size_t C,
                       size_t in, size_t units, size_t i0, size_t i1, float fs, int fresh)
{
    for (size_t i = i0; i < i1;) {
        int four = i + 4 <= i1;
        for (size_t j = 0; j < units; j += 32) {
            size_t nj = units - j < 32 ? units - j : 32;
            __mmask16 m = (__mmask16)(nj % 16 ? (1u << (nj % 16)) - 1 : 0xffffu);
            if (four && nj > 16)
                tile_avx512(acc, x, dz, rows, C, in, units, i, j, m, fs, fresh, 4, 2);
            else if (four)
                tile_avx512(acc, x, dz, rows, C, in, units, i, j, m, fs, fresh, 4, 1);
            else if (nj > 16)
                tile_avx512(acc, x, dz, rows, C, in, units, i, j, m, fs, fresh, 1, 2);
            else
                tile_avx512(acc, x, dz, rows, C, in, units, i, j, m, fs, fresh, 1, 1);
        }
        i += four ? 4 : 1;
    }
}
#endif

void nn_det_add_xtdz(int64_t *acc, const float *x, const float *dz, size_t rows, size_t C,
                     size_t in, size_t units, size_t i0, size_t i1, int shift, int fresh)
{
    int narrow = shift >= -126 && shift <= 127;
    float fs = narrow ? ldexpf(1.0f, shift) : 0.0f;
    double ds = ldexp(1.0, shift);
#if defined(__AVX512F__) && defined(__AVX512DQ__)
    if (narrow && C > 0 && rows > 0) {   /* fresh sums start in registers */
        add_avx512(acc, x, dz, rows, C, in, units, i0, i1, fs, fresh);
        return;
    }
#endif
    if (fresh && i1 > i0)
        memset(acc + i0 * units, 0, (i1 - i0) * units * sizeof *acc);
    if (C == 0 || rows == 0)
        return;
    size_t i = i0;
    for (; i + IB <= i1; i += IB) {
        size_t j = 0;
        for (; j + JB <= units; j += JB)
            tile_full(acc, x, dz, rows, C, in, units, i, j, narrow, fs, ds);
        if (j < units)
            tile_edge(acc, x, dz, rows, C, in, units, i, IB, j, units - j, narrow, fs, ds);
    }
    if (i < i1)
        tile_edge(acc, x, dz, rows, C, in, units, i, i1 - i, 0, units, narrow, fs, ds);
}
