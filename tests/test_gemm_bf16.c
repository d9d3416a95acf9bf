/* bf16 products (src/core/gemm_bf16.c): rounding to bf16 (ties to even,
 * carries into the exponent, NaN and infinities); nn_gemm_bf16 against an
 * fp32 reference computed in double from the bf16-rounded inputs, within
 * the rounding of an fp32 sum of K terms, on sizes that leave partial
 * tiles (odd K, N not a multiple of 32, M not a multiple of 8), beta 0 and
 * 1, strided and transposed operands; the kernel the CPU runs (avx512_bf16 where it has
 * it) against the emulation, bitwise. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gemm_bf16.h"
#include "testutil.h"

static float bits(uint32_t u)
{
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

static void test_round(void)
{
    CU_ASSERT_EQUAL(nn_bf16_from_f32(1.0f), 0x3f80);
    CU_ASSERT_EQUAL(nn_bf16_from_f32(-2.0f), 0xc000);
    /* 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even (1) */
    CU_ASSERT_EQUAL(nn_bf16_from_f32(1.0f + 1.0f / 256), 0x3f80);
    /* 1 + 3 * 2^-8 is halfway between 1 + 2^-7 and 1 + 2^-6: to even (1 + 2^-6) */
    CU_ASSERT_EQUAL(nn_bf16_from_f32(1.0f + 3.0f / 256), 0x3f82);
    /* just above halfway rounds up */
    CU_ASSERT_EQUAL(nn_bf16_from_f32(bits(0x3f808001u)), 0x3f81);
    /* the largest mantissa carries into the exponent */
    CU_ASSERT_EQUAL(nn_bf16_from_f32(bits(0x3fffffffu)), 0x4000);
    CU_ASSERT_EQUAL(nn_bf16_from_f32(INFINITY), 0x7f80);
    CU_ASSERT_EQUAL(nn_bf16_from_f32(-INFINITY), 0xff80);
    CU_ASSERT(isnan(nn_bf16_to_f32(nn_bf16_from_f32(NAN))));
    /* a NaN whose payload is only in the low bits stays a NaN */
    CU_ASSERT(isnan(nn_bf16_round(bits(0x7f800001u))));
    CU_ASSERT_EQUAL(nn_bf16_round(3.140625f), 3.140625f);   /* exact in bf16 */
}

/* Element (r, c) of op(X): X stored transposed when t. */
static float at(const float *X, int t, int r, int c, int ld)
{
    return t ? X[(size_t)c * ld + r] : X[(size_t)r * ld + c];
}

/* C = beta C0 + bf16(op(A)) bf16(op(B)) in double; bound[i] = sum |a b| of
 * output i. */
static void reference(int ta, int tb, int M, int N, int K, const float *A, int lda,
                      const float *B, int ldb, float beta, const float *C0, int ldc,
                      double *ref, double *bound)
{
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            double s = 0, b = 0;
            for (int k = 0; k < K; k++) {
                double p = (double)nn_bf16_round(at(A, ta, m, k, lda)) *
                           nn_bf16_round(at(B, tb, k, n, ldb));
                s += p;
                b += fabs(p);
            }
            double c0 = beta != 0.0f ? C0[(size_t)m * ldc + n] : 0;
            ref[(size_t)m * N + n] = s + c0;
            bound[(size_t)m * N + n] = b + fabs(c0);
        }
}

static void check(int ta, int tb, int M, int N, int K, int pad, float beta, uint64_t seed)
{
    int lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
    size_t arows = ta ? (size_t)K : (size_t)M, brows = tb ? (size_t)N : (size_t)K;
    float *A = malloc(arows * lda * sizeof *A), *B = malloc(brows * ldb * sizeof *B);
    float *C = malloc((size_t)M * ldc * sizeof *C), *C0 = malloc((size_t)M * ldc * sizeof *C0);
    float *E = malloc((size_t)M * ldc * sizeof *E);
    double *ref = malloc((size_t)M * N * sizeof *ref);
    double *bound = malloc((size_t)M * N * sizeof *bound);
    void *work = malloc(nn_gemm_bf16_work_bytes(M, K, N));
    tu_fill_uniform(A, arows * lda, seed, -1, 1);
    tu_fill_uniform(B, brows * ldb, seed + 1, -1, 1);
    tu_fill_uniform(C0, (size_t)M * ldc, seed + 2, -1, 1);
    memcpy(C, C0, (size_t)M * ldc * sizeof *C);
    if (ta || tb)
        nn_gemm_bf16_t(ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc, work);
    else
        nn_gemm_bf16(M, N, K, A, lda, B, ldb, beta, C, ldc, work);
    reference(ta, tb, M, N, K, A, lda, B, ldb, beta, C0, ldc, ref, bound);
    /* an fp32 sum of K + 1 terms in any order: |error| <= (K + 1) 2^-24 sum |terms| */
    const double u = ldexp(1.0, -24);
    int bad = 0;
    double worst = 0;
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            size_t i = (size_t)m * N + n;
            double e = fabs(C[(size_t)m * ldc + n] - ref[i]), lim = (K + 1) * u * bound[i];
            worst = e / (u * bound[i] + 1e-300) > worst ? e / (u * bound[i] + 1e-300) : worst;
            bad += e > lim;
        }
    /* the padding between rows is left alone */
    for (int m = 0; m < M; m++)
        for (int n = N; n < ldc; n++)
            bad += C[(size_t)m * ldc + n] != C0[(size_t)m * ldc + n];
    printf("\n  %s %c%c M%d N%d K%d beta %g: worst error %.1f units of 2^-24 sum|ab| (bound %d)",
           nn_gemm_bf16_isa(), ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, beta, worst, K + 1);
    CU_ASSERT_EQUAL(bad, 0);

    /* the emulation does VDPBF16PS's sums in its order: bitwise equal */
    memcpy(E, C0, (size_t)M * ldc * sizeof *E);
    nn_gemm_bf16_emulated_t(ta, tb, M, N, K, A, lda, B, ldb, beta, E, ldc, work);
    int differ = 0;
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++)
            differ += memcmp(&C[(size_t)m * ldc + n], &E[(size_t)m * ldc + n], sizeof *C) != 0;
    if (differ)
        printf(" (%d of %d outputs differ from the emulation)", differ, M * N);
    CU_ASSERT_EQUAL(differ, 0);
    free(A), free(B), free(C), free(C0), free(E), free(ref), free(bound), free(work);
}

static void test_gemm(void)
{
    static const int sizes[][3] = {{1, 1, 1},   {8, 32, 64},  {9, 33, 65},  {3, 7, 5},
                                   {17, 50, 31}, {64, 64, 576}, {5, 100, 2}, {13, 16, 300},
                                   {130, 40, 1100}, {250, 70, 1025}};   /* 2-3 blocks each way */
    for (int i = 0; i < (int)(sizeof sizes / sizeof sizes[0]); i++) {
        check(0, 0, sizes[i][0], sizes[i][1], sizes[i][2], 0, 0.0f, 10 + (uint64_t)i);
        check(0, 0, sizes[i][0], sizes[i][1], sizes[i][2], 3, 1.0f, 20 + (uint64_t)i);
        /* the transposed operands Dense and Conv2D backward use */
        check(1, 0, sizes[i][0], sizes[i][1], sizes[i][2], 2, 1.0f, 30 + (uint64_t)i);
        check(0, 1, sizes[i][0], sizes[i][1], sizes[i][2], 1, 0.0f, 40 + (uint64_t)i);
        check(1, 1, sizes[i][0], sizes[i][1], sizes[i][2], 0, 1.0f, 50 + (uint64_t)i);
    }
    printf("\n");
}

int main(void)
{
    static const tu_test tests[] = {
        {"bf16 rounding", test_round},
        {"gemm against an fp32 reference of the rounded inputs", test_gemm},
        {NULL, NULL},
    };
    return tu_main("gemm_bf16", tests);
}
