/* Rows times a matrix in a fixed summation order (nntrain/gemm.h):
 * OpenBLAS packs all of w for every call, which at 8 rows cost more than
 * the product (mnist_mlp512's 784 x 512 kernel: 2.1 ms per 128 rows in
 * calls of 8 against 0.6 in one call), and its bits depend on the row
 * count. Here a tile of rows by 32 columns keeps its sums in registers over
 * a block of KB input features; the sums go to y between blocks (a float
 * stored and reloaded is exact), so a block of w is read from cache by every
 * row tile and w streams from memory once per call, whatever the rows. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "nntrain/gemm.h"

#ifdef __FMA__
#define MADD(a, b, c) fmaf(a, b, c)
#else
#define MADD(a, b, c) ((c) + (a) * (b))
#endif

/* Input features per block: a block of 32 columns of w is 32 KB. */
#define KB 256

#if defined(__AVX512F__)
#include <immintrin.h>

/* NR rows of x by up to 16 NH columns (mask m on the last 16) over K
 * features: y += x w when acc, else y = x w. */
static inline __attribute__((always_inline)) void
tile(const float *x, int ldx, const float *w, int ldw, float *y, int ldy, int K, __mmask16 m,
     int acc, const int NR, const int NH)
{
    __m512 s[8][2];
    __mmask16 mh[2] = {NH == 1 ? m : 0xffff, m};
#pragma GCC unroll 8
    for (int a = 0; a < NR; a++)
#pragma GCC unroll 2
        for (int h = 0; h < NH; h++)
            s[a][h] = acc ? _mm512_maskz_loadu_ps(mh[h], y + (size_t)a * ldy + 16 * h)
                          : _mm512_setzero_ps();
    for (int k = 0; k < K; k++) {
        __m512 v[2];
#pragma GCC unroll 2
        for (int h = 0; h < NH; h++)
            v[h] = _mm512_maskz_loadu_ps(mh[h], w + (size_t)k * ldw + 16 * h);
#pragma GCC unroll 8
        for (int a = 0; a < NR; a++) {
            __m512 xv = _mm512_set1_ps(x[(size_t)a * ldx + k]);
#pragma GCC unroll 2
            for (int h = 0; h < NH; h++)
                s[a][h] = _mm512_fmadd_ps(xv, v[h], s[a][h]);
        }
    }
#pragma GCC unroll 8
    for (int a = 0; a < NR; a++)
#pragma GCC unroll 2
        for (int h = 0; h < NH; h++)
            _mm512_mask_storeu_ps(y + (size_t)a * ldy + 16 * h, mh[h], s[a][h]);
}

/* All n rows by nj <= 32 columns over K features (w: the block's first
 * row, at column 0). */
static void panel(int n, int nj, int K, const float *x, int ldx, const float *w, int ldw,
                  float *y, int ldy, int acc)
{
    __mmask16 m = (__mmask16)(nj % 16 ? (1u << (nj % 16)) - 1 : 0xffffu);
    int two = nj > 16;
    for (int r = 0; r < n;) {
        int nr = n - r >= 8 ? 8 : n - r >= 4 ? 4 : 1;
        const float *xr = x + (size_t)r * ldx;
        float *yr = y + (size_t)r * ldy;
        if (nr == 8)
            two ? tile(xr, ldx, w, ldw, yr, ldy, K, m, acc, 8, 2)
                : tile(xr, ldx, w, ldw, yr, ldy, K, m, acc, 8, 1);
        else if (nr == 4)
            two ? tile(xr, ldx, w, ldw, yr, ldy, K, m, acc, 4, 2)
                : tile(xr, ldx, w, ldw, yr, ldy, K, m, acc, 4, 1);
        else
            two ? tile(xr, ldx, w, ldw, yr, ldy, K, m, acc, 1, 2)
                : tile(xr, ldx, w, ldw, yr, ldy, K, m, acc, 1, 1);
        r += nr;
    }
}

/* amax[r] = the largest |x[r][k]| bits over the block's features: read
 * just before the panels, the block's rows are then in cache for them. */
static void block_amax(int n, int kn, const float *x, int ldx, uint32_t *amax, int first)
{
    const __m512i ab = _mm512_set1_epi32(0x7fffffff);
    __mmask16 mt = (__mmask16)((1u << (kn % 16)) - 1);
    for (int r = 0; r < n; r++) {
        const float *xr = x + (size_t)r * ldx;
        __m512i m = _mm512_setzero_si512();
        int k = 0;
        for (; k + 16 <= kn; k += 16)
            m = _mm512_max_epu32(m, _mm512_and_si512(_mm512_loadu_si512(xr + k), ab));
        if (k < kn)
            m = _mm512_max_epu32(m, _mm512_and_si512(_mm512_maskz_loadu_epi32(mt, xr + k), ab));
        uint32_t v = _mm512_reduce_max_epu32(m);
        amax[r] = first || v > amax[r] ? v : amax[r];
    }
}

void nn_sgemm_rows_amax(int n, int N, int K, const float *x, int ldx, const float *w, int ldw,
                        float *y, int ldy, uint32_t *amax)
{
    for (int k0 = 0; k0 < K || k0 == 0; k0 += KB) {
        int kn = K - k0 < KB ? K - k0 : KB;
        if (amax)
            block_amax(n, kn, x + k0, ldx, amax, k0 == 0);
        for (int j = 0; j < N; j += 32)
            panel(n, N - j < 32 ? N - j : 32, kn, x + k0, ldx, w + (size_t)k0 * ldw + j, ldw,
                  y + j, ldy, k0 > 0);
        if (K == 0)
            break;
    }
}

void nn_sgemm_rows_t_blocks(int nb, const int *n, const float *const *x, int ldx, int N, int K,
                            const float *w, int ldw, float *const *y, int ldy)
{
    float wt[KB * 32];   /* (kn, 32): the block of w transposed, for every row block */
    for (int j = 0; j < N; j += 32) {
        int nj = N - j < 32 ? N - j : 32;
        for (int k0 = 0; k0 < K || k0 == 0; k0 += KB) {
            int kn = K - k0 < KB ? K - k0 : KB;
            for (int c = 0; c < nj; c++)
                for (int k = 0; k < kn; k++)
                    wt[k * 32 + c] = w[(size_t)(j + c) * ldw + k0 + k];
            for (int b = 0; b < nb; b++)
                panel(n[b], nj, kn, x[b] + k0, ldx, wt, 32, y[b] + j, ldy, k0 > 0);
            if (K == 0)
                break;
        }
    }
}
#else
void nn_sgemm_rows_amax(int n, int N, int K, const float *x, int ldx, const float *w, int ldw,
                        float *y, int ldy, uint32_t *amax)
{
    for (int r = 0; amax && r < n; r++) {
        uint32_t v = 0;
        for (int k = 0; k < K; k++) {
            uint32_t u;
            memcpy(&u, &x[(size_t)r * ldx + k], sizeof u);
            u &= 0x7fffffffu;
            v = u > v ? u : v;
        }
        amax[r] = v;
    }
    for (int r = 0; r < n; r++)
        for (int j = 0; j < N; j++) {
            float s = 0;
            for (int k = 0; k < K; k++)
                s = MADD(x[(size_t)r * ldx + k], w[(size_t)k * ldw + j], s);
            y[(size_t)r * ldy + j] = s;
        }
}

void nn_sgemm_rows_t_blocks(int nb, const int *n, const float *const *x, int ldx, int N, int K,
                            const float *w, int ldw, float *const *y, int ldy)
{
    for (int b = 0; b < nb; b++)
        for (int r = 0; r < n[b]; r++)
            for (int j = 0; j < N; j++) {
                float s = 0;
                for (int k = 0; k < K; k++)
                    s = MADD(x[b][(size_t)r * ldx + k], w[(size_t)j * ldw + k], s);
                y[b][(size_t)r * ldy + j] = s;
            }
}
#endif

void nn_sgemm_rows(int n, int N, int K, const float *x, int ldx, const float *w, int ldw,
                   float *y, int ldy)
{
    nn_sgemm_rows_amax(n, N, K, x, ldx, w, ldw, y, ldy, NULL);
}

void nn_sgemm_rows_t(int n, int N, int K, const float *x, int ldx, const float *w, int ldw,
                     float *y, int ldy)
{
    nn_sgemm_rows_t_blocks(1, &n, &x, ldx, N, K, w, ldw, &y, ldy);
}
