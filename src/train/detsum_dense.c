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

void nn_det_add_xtdz(int64_t *acc, const float *x, const float *dz, size_t rows, size_t C,
                     size_t in, size_t units, size_t i0, size_t i1, int shift)
{
    if (C == 0 || rows == 0)
        return;
    int narrow = shift >= -126 && shift <= 127;
    float fs = narrow ? ldexpf(1.0f, shift) : 0.0f;
    double ds = ldexp(1.0, shift);
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
