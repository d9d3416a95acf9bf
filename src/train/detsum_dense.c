/* Deterministic mode's fused Dense kernel gradient (detsum.h): each chunk's
 * x^T dz is summed over its rows in float for one tile of the kernel kept
 * in registers, scaled and truncated to fixed point, and added to the
 * tile's integer sums, chunk after chunk (int64 in plain C; two int32 parts
 * in the AVX-512 tiles, see tile_avx512). The float gradient of a chunk never
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
    return ex + ez + nn_det_ceil_log2(n) + 1;
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
 * last 16), the arithmetic of tile_full. The fixed-point conversion costs
 * as much as the FMAs at a few rows per chunk, and a float to int64
 * conversion widens 8 lanes per instruction, so the tile converts 16 lanes
 * at a time into two int32 sums. With g = 31 - ceil(log2 chunks) and G =
 * 2^g, a scaled chunk value v = s 2^shift, |v| < 2^(g+22), is split as
 * q = v rounded to a multiple of G (t = v + M exactly rounded, M = 1.5
 * 2^(23+g): t's low bits count q / G, summed as raw int32 bits) and
 * lo = v - q (exact, |lo| <= G/2, truncated by cvttps2dq). q + trunc(lo)
 * is trunc(v): v has fractional bits only below 2^23 <= G/2, where q is 0.
 * Over n chunks the q / G sum stays below 2^(22+7) and the lo sum below
 * 2^30: both fit int32, and become int64 once per tile. */
static inline __attribute__((always_inline)) void
tile_avx512(int64_t *acc, float *gout, const int64_t *init, size_t ioff, double rs,
            const float *x, const float *dz, size_t rows, size_t C, size_t in, size_t units,
            size_t i, size_t j, __mmask16 m, float fs, int g, int fresh, const int NI,
            const int NH)
{
    /* per row p and half h: 16 lanes of q / G bits, then 16 of lo */
    int32_t hl[8][2][32] __attribute__((aligned(64)));
    const float mf = ldexpf(1.5f, 23 + g);
    const __m512 vfs = _mm512_set1_ps(fs), vm = _mm512_set1_ps(mf);
    __mmask16 mh[2] = {NH == 1 ? m : 0xffff, m};
    uint32_t n = 0;
    /* what the tile reads and writes at its end (the other ranks' sums,
     * its int64 sums or floats) fetched while its rows are summed, not
     * waited for then: 0.8-1 ms a step each on rick_dense's 17 MB kernel */
    for (int p = 0; p < NI; p++) {
        size_t at = (i + (size_t)p) * units + j;
        for (int h = 0; init && h < 2 * NH; h++)
            _mm_prefetch((const char *)(init + (at - ioff) + 8 * (size_t)h), _MM_HINT_T0);
        for (int h = 0; !gout && h < 2 * NH; h++)
            _mm_prefetch((const char *)(acc + at + 8 * (size_t)h), _MM_HINT_ET0);
        for (int h = 0; gout && h < NH; h++)
            _mm_prefetch((const char *)(gout + at + 16 * (size_t)h), _MM_HINT_ET0);
    }
#pragma GCC unroll 8
    for (int p = 0; p < NI; p++)
#pragma GCC unroll 2
        for (int h = 0; h < NH; h++) {
            _mm512_store_si512(hl[p][h], _mm512_setzero_si512());
            _mm512_store_si512(hl[p][h] + 16, _mm512_setzero_si512());
        }
    for (size_t c0 = 0; c0 < rows; c0 += C, n++) {
        size_t c1 = rows - c0 < C ? rows : c0 + C;
        __m512 s[8][2];
#pragma GCC unroll 8
        for (int p = 0; p < NI; p++)
#pragma GCC unroll 2
            for (int h = 0; h < NH; h++)
                s[p][h] = _mm512_setzero_ps();
        for (size_t r = c0; r < c1; r++) {
            __m512 d[2];
#pragma GCC unroll 2
            for (int h = 0; h < NH; h++) {
                d[h] = _mm512_maskz_loadu_ps(mh[h], dz + r * units + j + 16 * (size_t)h);
                /* one load per vector, not one folded into every FMA */
                __asm__("" : "+v"(d[h]));
            }
            const float *xr = x + r * in + i;
#pragma GCC unroll 8
            for (int p = 0; p < NI; p++) {
                __m512 xv = _mm512_set1_ps(xr[p]);
#pragma GCC unroll 2
                for (int h = 0; h < NH; h++)
                    s[p][h] = _mm512_fmadd_ps(xv, d[h], s[p][h]);
            }
        }
#pragma GCC unroll 8
        for (int p = 0; p < NI; p++)
#pragma GCC unroll 2
            for (int h = 0; h < NH; h++) {
                __m512 t = _mm512_fmadd_ps(s[p][h], vfs, vm);
                __m512 lo = _mm512_fmsub_ps(s[p][h], vfs, _mm512_sub_ps(t, vm));
                int32_t *b = hl[p][h];
                _mm512_store_si512(b, _mm512_add_epi32(_mm512_load_si512(b), _mm512_castps_si512(t)));
                _mm512_store_si512(b + 16, _mm512_add_epi32(_mm512_load_si512(b + 16),
                                                            _mm512_cvttps_epi32(lo)));
            }
    }
    uint32_t mb;
    memcpy(&mb, &mf, sizeof mb);
    const __m512i off = _mm512_set1_epi32((int32_t)(n * mb)), vg = _mm512_set1_epi64(g);
#pragma GCC unroll 8
    for (int p = 0; p < NI; p++)
#pragma GCC unroll 2
        for (int h = 0; h < NH; h++) {
            /* the raw bits' sum less n M's is the q / G sum (mod 2^32) */
            __m512i q = _mm512_sub_epi32(_mm512_load_si512(hl[p][h]), off);
            __m512i lo = _mm512_load_si512(hl[p][h] + 16);
#pragma GCC unroll 2
            for (int k = 0; k < 2; k++) {
                __m256i qh = k ? _mm512_extracti64x4_epi64(q, 1) : _mm512_castsi512_si256(q);
                __m256i lh = k ? _mm512_extracti64x4_epi64(lo, 1) : _mm512_castsi512_si256(lo);
                __m512i v = _mm512_add_epi64(_mm512_sllv_epi64(_mm512_cvtepi32_epi64(qh), vg),
                                             _mm512_cvtepi32_epi64(lh));
                __mmask8 mq = (__mmask8)(mh[h] >> (8 * k));
                size_t at = (i + (size_t)p) * units + j + 16 * (size_t)h + 8 * (size_t)k;
                if (gout) {   /* nn_det_round's arithmetic */
                    if (init)
                        v = _mm512_add_epi64(v, _mm512_maskz_loadu_epi64(mq, init + (at - ioff)));
                    __m512d r = _mm512_mul_pd(_mm512_cvtepi64_pd(v), _mm512_set1_pd(rs));
                    _mm256_mask_storeu_ps(gout + at, mq, _mm512_cvtpd_ps(r));
                    continue;
                }
                int64_t *a = acc + at;
                if (!fresh)
                    v = _mm512_add_epi64(v, _mm512_maskz_loadu_epi64(mq, a));
                _mm512_mask_storeu_epi64(a, mq, v);
            }
        }
}

/* The last nj <= TJ columns (from j) of TI kernel rows (from i) with the
 * lanes along the kernel's rows: a tile of a few columns across the lanes
 * (tile_avx512's NH = 1 with 4 of 16 lanes, as rick_dense's 100 units end)
 * would spend 8 FMAs a row on 2 vectors' worth. Each weight is the same
 * FMA chain and conversion as in tile_avx512; the sums go to their
 * (strided) places one by one at the end. */
enum { TV = 4, TI = 16 * TV, TJ = 4 };

static void tail_avx512(int64_t *acc, float *gout, const int64_t *init, size_t ioff, double rs,
                        const float *x, const float *dz, size_t rows, size_t C, size_t in,
                        size_t units, size_t i, size_t j, size_t nj, float fs, int g, int fresh)
{
    int32_t hl[TV][TJ][2][16] __attribute__((aligned(64)));
    const float mf = ldexpf(1.5f, 23 + g);
    const __m512 vfs = _mm512_set1_ps(fs), vm = _mm512_set1_ps(mf);
    memset(hl, 0, sizeof hl);
    uint32_t n = 0;
    for (size_t c0 = 0; c0 < rows; c0 += C, n++) {
        size_t c1 = rows - c0 < C ? rows : c0 + C;
        __m512 s[TV][TJ];
        for (int v = 0; v < TV; v++)
            for (int c = 0; c < TJ; c++)
                s[v][c] = _mm512_setzero_ps();
        for (size_t r = c0; r < c1; r++) {
            __m512 xv[TV];
            for (int v = 0; v < TV; v++)
                xv[v] = _mm512_loadu_ps(x + r * in + i + 16 * (size_t)v);
            for (int c = 0; c < TJ; c++) {
                if ((size_t)c >= nj)
                    break;
                __m512 d = _mm512_set1_ps(dz[r * units + j + (size_t)c]);
                for (int v = 0; v < TV; v++)
                    s[v][c] = _mm512_fmadd_ps(xv[v], d, s[v][c]);
            }
        }
        for (int v = 0; v < TV; v++)
            for (int c = 0; c < TJ && (size_t)c < nj; c++) {
                __m512 t = _mm512_fmadd_ps(s[v][c], vfs, vm);
                __m512 lo = _mm512_fmsub_ps(s[v][c], vfs, _mm512_sub_ps(t, vm));
                int32_t *q = hl[v][c][0], *l = hl[v][c][1];
                _mm512_store_si512(q, _mm512_add_epi32(_mm512_load_si512(q), _mm512_castps_si512(t)));
                _mm512_store_si512(l, _mm512_add_epi32(_mm512_load_si512(l), _mm512_cvttps_epi32(lo)));
            }
    }
    uint32_t mb;
    memcpy(&mb, &mf, sizeof mb);
    const int64_t G = (int64_t)1 << g;
    for (int v = 0; v < TV; v++)
        for (size_t c = 0; c < nj; c++)
            for (int e = 0; e < 16; e++) {
                /* the raw bits' sum less n M's is the q / G sum (mod 2^32) */
                int32_t qg = (int32_t)((uint32_t)hl[v][c][0][e] - n * mb);
                int64_t w = (int64_t)qg * G + hl[v][c][1][e];
                size_t at = (i + 16 * (size_t)v + (size_t)e) * units + j + c;
                if (gout)
                    gout[at] = (float)((double)(init ? w + init[at - ioff] : w) * rs);
                else
                    acc[at] = fresh ? w : acc[at] + w;
            }
}

/* Rows [i0, i1) in tiles of 8, 4, then single rows by 32 columns (then
 * the rest in one tile of 16 or 32 lanes, masked; or, when the rest is at
 * most TJ columns, in tail_avx512's tiles of TI rows as far as they go). */
static void add_avx512(int64_t *acc, float *gout, const int64_t *init, double rs, const float *x,
                       const float *dz, size_t rows, size_t C, size_t in, size_t units, size_t i0,
                       size_t i1, float fs, int g, int fresh)
{
    const size_t ioff = i0 * units;
    const size_t nt = units % 32 <= TJ ? units % 32 : 0, jt = units - nt;
    /* by blocks of TI kernel rows, whose x stays in cache for both parts */
    for (size_t ib = i0; ib < i1; ib += TI) {
        size_t ie = i1 - ib < TI ? i1 : ib + TI, je = nt && ie - ib == TI ? jt : units;
        if (je < units)
            tail_avx512(acc, gout, init, ioff, rs, x, dz, rows, C, in, units, ib, jt, nt, fs, g,
                        fresh);
        for (size_t i = ib; i < ie;) {
            int ni = i + 8 <= ie ? 8 : i + 4 <= ie ? 4 : 1;
            for (size_t j = 0; j < je; j += 32) {
                size_t nj = units - j < 32 ? units - j : 32;
                __mmask16 m = (__mmask16)(nj % 16 ? (1u << (nj % 16)) - 1 : 0xffffu);
#define NN_TILE(NI, NH) \
    tile_avx512(acc, gout, init, ioff, rs, x, dz, rows, C, in, units, i, j, m, fs, g, fresh, NI, \
                NH)
                if (ni == 8 && nj > 16)
                    NN_TILE(8, 2);
                else if (ni == 8)
                    NN_TILE(8, 1);
                else if (ni == 4 && nj > 16)
                    NN_TILE(4, 2);
                else if (ni == 4)
                    NN_TILE(4, 1);
                else if (nj > 16)
                    NN_TILE(1, 2);
                else
                    NN_TILE(1, 1);
#undef NN_TILE
            }
            i += (size_t)ni;
        }
    }
}
#endif

/* The fast path of nn_det_add_xtdz (and of its rounded twin when gout is
 * set); 0 when it does not apply. */
static int add_fast(int64_t *acc, float *gout, const int64_t *init, const float *x,
                    const float *dz, size_t rows, size_t C, size_t in, size_t units, size_t i0,
                    size_t i1, int shift, int fresh)
{
#if defined(__AVX512F__) && defined(__AVX512DQ__)
    /* the int32 split needs at most 2^7 chunks (g >= 24) */
    long nk = C > 0 ? (long)((rows + C - 1) / C) : 0;
    int h = nn_det_ceil_log2(nk);
    if (shift >= -126 && shift <= 127 && nk > 0 && h <= 7) {
        add_avx512(acc, gout, init, ldexp(1.0, -shift), x, dz, rows, C, in, units, i0, i1,
                   ldexpf(1.0f, shift), 31 - h, fresh);
        return 1;
    }
#else
    (void)acc, (void)gout, (void)init, (void)x, (void)dz, (void)rows, (void)C, (void)in;
    (void)units;
    (void)i0, (void)i1, (void)shift, (void)fresh;
#endif
    return 0;
}

void nn_det_add_xtdz(int64_t *acc, const float *x, const float *dz, size_t rows, size_t C,
                     size_t in, size_t units, size_t i0, size_t i1, int shift, int fresh)
{
    if (add_fast(acc, NULL, NULL, x, dz, rows, C, in, units, i0, i1, shift, fresh))
        return;
    int narrow = shift >= -126 && shift <= 127;
    float fs = narrow ? ldexpf(1.0f, shift) : 0.0f;
    double ds = ldexp(1.0, shift);
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

void nn_det_xtdz_chain(float *p, const float *x, const float *dz, size_t rows, size_t in,
                       size_t units, size_t i0, size_t i1, int fresh)
{
    if (fresh && i1 > i0)
        memset(p + i0 * units, 0, (i1 - i0) * units * sizeof *p);
    for (size_t a = i0; a < i1; a++) {
        float *restrict pa = p + a * units;
        for (size_t r = 0; r < rows; r++) {
            const float xv = x[r * in + a], *restrict dr = dz + r * units;
            for (size_t b = 0; b < units; b++)
                pa[b] = MADD(xv, dr[b], pa[b]);
        }
    }
}

void nn_det_xtdz_round(float *g, int64_t *acc, const float *x, const float *dz, size_t rows,
                       size_t C, size_t in, size_t units, size_t i0, size_t i1, int shift)
{
    nn_det_xtdz_round_add(g, acc, NULL, x, dz, rows, C, in, units, i0, i1, shift);
}

void nn_det_xtdz_round_add(float *g, int64_t *acc, const int64_t *init, const float *x,
                           const float *dz, size_t rows, size_t C, size_t in, size_t units,
                           size_t i0, size_t i1, int shift)
{
    if (add_fast(acc, g, init, x, dz, rows, C, in, units, i0, i1, shift, 1))
        return;
    size_t n = (i1 - i0) * units;
    nn_det_add_xtdz(acc, x, dz, rows, C, in, units, i0, i1, shift, 1);
    if (init)
        nn_det_round_sum(g + i0 * units, acc + i0 * units, init, n, shift);
    else
        nn_det_round(g + i0 * units, acc + i0 * units, n, shift);
}
