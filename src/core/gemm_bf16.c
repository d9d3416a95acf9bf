/* Owns the bf16 product (see gemm_bf16.h). B is packed once per call as
 * pairs of rows interleaved (for k pair p and column n: B[2p][n],
 * B[2p+1][n]), which is VDPBF16PS's operand layout: one 32-bit lane holds
 * the two bf16 of a column, and the instruction adds both products of a
 * lane to an fp32 accumulator. A register tile holds P rows of C x 32
 * columns; a row's pair of A values is one broadcast 32-bit word. The
 * emulation does the same sums in fp32 with plain vectors. */
#include "core/gemm_bf16.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define NN_BF16_X86 1
#else
#define NN_BF16_X86 0
#endif

uint16_t nn_bf16_from_f32(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u)   /* NaN: keep it a quiet NaN */
        return (uint16_t)((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);   /* round to nearest, ties to even */
    return (uint16_t)(u >> 16);
}

float nn_bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

float nn_bf16_round(float x)
{
    return nn_bf16_to_f32(nn_bf16_from_f32(x));
}

static uint32_t a_pair(const float *a, int k, int K);

size_t nn_gemm_bf16_work_bytes(int M, int K, int N)
{
    size_t Np = ((size_t)N + 31) / 32 * 32, Kp = ((size_t)K + 1) / 2;
    return Kp * (Np + (size_t)M) * sizeof(uint32_t);
}

/* Ap[m][p] = A's pair (2p, 2p+1) of row m as one word (zero past K). */
static void pack_a(int M, int K, const float *A, int lda, uint32_t *Ap)
{
    int Kp = (K + 1) / 2;
    for (int m = 0; m < M; m++)
        for (int p = 0; p < Kp; p++)
            Ap[(size_t)m * Kp + p] = a_pair(A + (size_t)m * lda, 2 * p, K);
}

/* Bp[p][n] = (B[2p][n], B[2p+1][n]) as one 32-bit word (the odd row past K
 * is zero, as are the columns past N up to Np). */
static void pack_b(int N, int K, const float *B, int ldb, size_t Np, uint32_t *Bp)
{
    int Kp = (K + 1) / 2;
    for (int p = 0; p < Kp; p++) {
        const float *b0 = B + (size_t)(2 * p) * ldb, *b1 = 2 * p + 1 < K ? b0 + ldb : NULL;
        uint32_t *row = Bp + (size_t)p * Np;
        for (int n = 0; n < N; n++)
            row[n] = nn_bf16_from_f32(b0[n]) |
                     (uint32_t)(b1 ? nn_bf16_from_f32(b1[n]) : 0) << 16;
        for (size_t n = (size_t)N; n < Np; n++)
            row[n] = 0;
    }
}

/* A's pair (k, k+1) of row m as one word. */
static uint32_t a_pair(const float *a, int k, int K)
{
    return nn_bf16_from_f32(a[k]) | (uint32_t)(k + 1 < K ? nn_bf16_from_f32(a[k + 1]) : 0)
                                        << 16;
}

/* The emulation, in VDPBF16PS's order (Intel's pseudo-code): per pair,
 * acc += hi(a) hi(b), then acc += lo(a) lo(b), each rounded in fp32 (a
 * product of two bf16 is exact in fp32); columns in blocks of 32 as the
 * tiles. */
static void gemm_emulated(int M, int N, int K, const uint32_t *Ap, const uint32_t *Bp,
                          size_t Np, float beta, float *C, int ldc)
{
    const int Kp = (K + 1) / 2;
    for (int m = 0; m < M; m++) {
        const uint32_t *a = Ap + (size_t)m * Kp;
        float *c = C + (size_t)m * ldc;
        for (int n0 = 0; n0 < N; n0 += 32) {
            int nn = N - n0 < 32 ? N - n0 : 32;
            float acc[32] = {0};
            for (int p = 0; p < Kp; p++) {
                uint32_t w = a[p];
                float a0 = nn_bf16_to_f32((uint16_t)w), a1 = nn_bf16_to_f32((uint16_t)(w >> 16));
                const uint32_t *row = Bp + (size_t)p * Np + n0;
                for (int n = 0; n < nn; n++) {
                    acc[n] += a1 * nn_bf16_to_f32((uint16_t)(row[n] >> 16));
                    acc[n] += a0 * nn_bf16_to_f32((uint16_t)row[n]);
                }
            }
            for (int n = 0; n < nn; n++)
                c[n0 + n] = beta != 0.0f ? c[n0 + n] + acc[n] : acc[n];
        }
    }
}

#if NN_BF16_X86
#define BF16_TARGET __attribute__((target("avx512f,avx512bf16")))
enum { BP = 14 };   /* rows per tile: 28 accumulators + 2 of B + 1 broadcast of 32 */

/* Rows [m0, m0 + P) x columns [n0, n0 + 32) of C (Ap from row m0). */
BF16_TARGET static void tile_avx512(int P, int N, int K, const uint32_t *Ap,
                                    const uint32_t *Bp, size_t Np, int n0, float beta,
                                    float *C, int ldc)
{
    const int Kp = (K + 1) / 2;
    __m512 acc[BP][2];
    for (int i = 0; i < BP; i++)
        acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    for (int p = 0; p < Kp; p++) {
        const uint32_t *row = Bp + (size_t)p * Np + n0;
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(row);
        __m512bh b1 = (__m512bh)_mm512_loadu_si512(row + 16);
        for (int i = 0; i < BP; i++) {
            if (i >= P)
                break;
            __m512bh a = (__m512bh)_mm512_set1_epi32((int)Ap[(size_t)i * Kp + p]);
            acc[i][0] = _mm512_dpbf16_ps(acc[i][0], a, b0);
            acc[i][1] = _mm512_dpbf16_ps(acc[i][1], a, b1);
        }
    }
    int left = N - n0 < 32 ? N - n0 : 32;
    __mmask16 m0 = (__mmask16)(left >= 16 ? 0xffffu : (1u << left) - 1u);
    __mmask16 m1 = (__mmask16)(left >= 32 ? 0xffffu : left > 16 ? (1u << (left - 16)) - 1u : 0u);
    for (int i = 0; i < P; i++) {
        float *c = C + (size_t)i * ldc + n0;
        __m512 r0 = acc[i][0], r1 = acc[i][1];
        if (beta != 0.0f) {
            r0 = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, c), r0);
            r1 = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, c + 16), r1);
        }
        _mm512_mask_storeu_ps(c, m0, r0);
        _mm512_mask_storeu_ps(c + 16, m1, r1);
    }
}

BF16_TARGET static void gemm_avx512(int M, int N, int K, const uint32_t *Ap,
                                    const uint32_t *Bp, size_t Np, float beta, float *C,
                                    int ldc)
{
    const size_t Kp = ((size_t)K + 1) / 2;
    for (int n0 = 0; n0 < N; n0 += 32)   /* a block of B stays in L1/L2 */
        for (int m0 = 0; m0 < M; m0 += BP)
            tile_avx512(M - m0 < BP ? M - m0 : BP, N, K, Ap + (size_t)m0 * Kp, Bp, Np, n0,
                        beta, C + (size_t)m0 * ldc, ldc);
}

static int has_bf16(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bf16");
}
#endif

static int use_avx512;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void choose(void)
{
    const char *want = getenv("NNTRAIN_BF16");
#if NN_BF16_X86
    use_avx512 = has_bf16() && !(want && !strcmp(want, "emulated"));
#else
    (void)want;
#endif
}

const char *nn_gemm_bf16_isa(void)
{
    pthread_once(&once, choose);
    return use_avx512 ? "avx512_bf16" : "emulated";
}

void nn_gemm_bf16(int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                  float beta, float *C, int ldc, void *work)
{
    pthread_once(&once, choose);
    size_t Np = ((size_t)N + 31) / 32 * 32;
    uint32_t *Bp = work, *Ap = Bp + ((size_t)K + 1) / 2 * Np;
    pack_b(N, K, B, ldb, Np, Bp);
    pack_a(M, K, A, lda, Ap);
#if NN_BF16_X86
    if (use_avx512) {
        gemm_avx512(M, N, K, Ap, Bp, Np, beta, C, ldc);
        return;
    }
#endif
    gemm_emulated(M, N, K, Ap, Bp, Np, beta, C, ldc);
}

void nn_gemm_bf16_emulated(int M, int N, int K, const float *A, int lda, const float *B,
                           int ldb, float beta, float *C, int ldc, void *work)
{
    size_t Np = ((size_t)N + 31) / 32 * 32;
    uint32_t *Bp = work, *Ap = Bp + ((size_t)K + 1) / 2 * Np;
    pack_b(N, K, B, ldb, Np, Bp);
    pack_a(M, K, A, lda, Ap);
    gemm_emulated(M, N, K, Ap, Bp, Np, beta, C, ldc);
}
