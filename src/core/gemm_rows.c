/* A few rows times a matrix in a fixed summation order (nntrain/gemm.h):
 * OpenBLAS packs all of w for every call, which at 8 rows cost more than
 * the product (mnist_mlp512's 784 x 512 kernel: 2.1 ms per 128 rows in
 * calls of 8 against 0.6 in one call). Here a tile of rows by 32 columns
 * keeps its sums in registers while w streams through once per tile. */
#include <math.h>
#include <stddef.h>

#include "nntrain/gemm.h"

#ifdef __FMA__
#define MADD(a, b, c) fmaf(a, b, c)
#else
#define MADD(a, b, c) ((c) + (a) * (b))
#endif

#if defined(__AVX512F__)
#include <immintrin.h>

/* NR rows from r by up to 16 NH columns from j (mask m on the last 16). */
static inline __attribute__((always_inline)) void
tile(const float *x, int ldx, const float *w, int ldw, float *y, int ldy, int K, int r, int j,
     __mmask16 m, const int NR, const int NH)
{
    __m512 s[8][2];
    __mmask16 mh[2] = {NH == 1 ? m : 0xffff, m};
#pragma GCC unroll 8
    for (int a = 0; a < NR; a++)
#pragma GCC unroll 2
        for (int h = 0; h < NH; h++)
            s[a][h] = _mm512_setzero_ps();
    for (int k = 0; k < K; k++) {
        __m512 v[2];
#pragma GCC unroll 2
        for (int h = 0; h < NH; h++)
            v[h] = _mm512_maskz_loadu_ps(mh[h], w + (size_t)k * ldw + j + 16 * h);
#pragma GCC unroll 8
        for (int a = 0; a < NR; a++) {
            __m512 xv = _mm512_set1_ps(x[(size_t)(r + a) * ldx + k]);
#pragma GCC unroll 2
            for (int h = 0; h < NH; h++)
                s[a][h] = _mm512_fmadd_ps(xv, v[h], s[a][h]);
        }
    }
#pragma GCC unroll 8
    for (int a = 0; a < NR; a++)
#pragma GCC unroll 2
        for (int h = 0; h < NH; h++)
            _mm512_mask_storeu_ps(y + (size_t)(r + a) * ldy + j + 16 * h, mh[h], s[a][h]);
}

void nn_sgemm_rows(int n, int N, int K, const float *x, int ldx, const float *w, int ldw,
                   float *y, int ldy)
{
    for (int r = 0; r < n;) {
        int nr = n - r >= 8 ? 8 : n - r >= 4 ? 4 : 1;
        for (int j = 0; j < N; j += 32) {
            int nj = N - j < 32 ? N - j : 32;
            __mmask16 m = (__mmask16)(nj % 16 ? (1u << (nj % 16)) - 1 : 0xffffu);
            int two = nj > 16;
            if (nr == 8)
                two ? tile(x, ldx, w, ldw, y, ldy, K, r, j, m, 8, 2)
                    : tile(x, ldx, w, ldw, y, ldy, K, r, j, m, 8, 1);
            else if (nr == 4)
                two ? tile(x, ldx, w, ldw, y, ldy, K, r, j, m, 4, 2)
                    : tile(x, ldx, w, ldw, y, ldy, K, r, j, m, 4, 1);
            else
                two ? tile(x, ldx, w, ldw, y, ldy, K, r, j, m, 1, 2)
                    : tile(x, ldx, w, ldw, y, ldy, K, r, j, m, 1, 1);
        }
        r += nr;
    }
}
#else
void nn_sgemm_rows(int n, int N, int K, const float *x, int ldx, const float *w, int ldw,
                   float *y, int ldy)
{
    for (int r = 0; r < n; r++)
        for (int j = 0; j < N; j++) {
            float s = 0;
            for (int k = 0; k < K; k++)
                s = MADD(x[(size_t)r * ldx + k], w[(size_t)k * ldw + j], s);
            y[(size_t)r * ldy + j] = s;
        }
}
#endif
