/* Owns the bf16 product (see gemm_bf16.h). B is packed as pairs of rows
 * interleaved (for k pair p and column n: B[2p][n], B[2p+1][n]), which is
 * VDPBF16PS's operand layout: one 32-bit lane holds the two bf16 of a
 * column, and the instruction adds both products of a lane to an fp32
 * accumulator. A is packed by tiles of TR rows: for each pair p, the TR rows'
 * words side by side, so a tile reads them from one pointer at fixed
 * offsets. A register tile holds TR rows of C x 32 columns; a row's pair of
 * A values is one broadcast 32-bit word. The emulation does the same sums in
 * fp32 with plain vectors. The product runs in blocks of k and rows that
 * keep the packed operands in cache. */
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

/* Blocks of the product: KBP pairs of k (a 32-column stripe of packed B is
 * 32 KiB, L1) by MB rows of A (packed, about 100 KiB: L2; a multiple of 16,
 * the packing's step). Outputs sum their products block after block in
 * increasing k, in fp32. TR: rows of a register tile (16 accumulators). */
enum { KBP = 256, MB = 112, TR = 8 };

size_t nn_gemm_bf16_work_bytes(int M, int K, int N)
{
    size_t Np = ((size_t)N + 31) / 32 * 32, Kp = ((size_t)K + 1) / 2;
    size_t kb = Kp < KBP ? Kp : KBP, mb = M < MB ? (size_t)M : MB;
    return kb * (Np + (mb + TR - 1) / TR * TR) * sizeof(uint32_t);
}

/* The pair (x0, x1) as one word: x0 in the low half, as VDPBF16PS reads it. */
static uint32_t pair(float x0, float x1)
{
    return nn_bf16_from_f32(x0) | (uint32_t)nn_bf16_from_f32(x1) << 16;
}

/* Word of row m, pair p in A's tile layout (Kp pairs a row). */
static size_t at_a(int m, int p, int Kp)
{
    return ((size_t)(m / TR) * Kp + p) * TR + m % TR;
}

/* Ap (tile layout) = op(A)'s pairs (2p, 2p+1) as words (zero past K and in
 * the last tile's rows past M); op(A) = A (M x K) or, when ta, A^T with A
 * stored (K x M). */
static void pack_a(int ta, int M, int K, const float *A, int lda, uint32_t *Ap)
{
    int Kp = (K + 1) / 2, Mt = (M + TR - 1) / TR * TR;
    for (int m = 0; m < Mt; m++)
        for (int p = 0; p < Kp; p++) {
            int k = 2 * p;
            float x0 = 0.0f, x1 = 0.0f;
            if (m < M) {
                x0 = ta ? A[(size_t)k * lda + m] : A[(size_t)m * lda + k];
                x1 = k + 1 >= K ? 0.0f : ta ? A[(size_t)(k + 1) * lda + m]
                                            : A[(size_t)m * lda + k + 1];
            }
            Ap[at_a(m, p, Kp)] = pair(x0, x1);
        }
}

/* Bp[p][n] = (op(B)[2p][n], op(B)[2p+1][n]) as one word (the odd row past K
 * is zero, as are the columns past N up to Np); op(B) = B (K x N) or, when
 * tb, B^T with B stored (N x K). */
static void pack_b(int tb, int N, int K, const float *B, int ldb, size_t Np, uint32_t *Bp)
{
    int Kp = (K + 1) / 2;
    for (int p = 0; p < Kp; p++) {
        int k = 2 * p;
        uint32_t *row = Bp + (size_t)p * Np;
        for (int n = 0; n < N; n++) {
            float x0 = tb ? B[(size_t)n * ldb + k] : B[(size_t)k * ldb + n];
            float x1 = k + 1 >= K ? 0.0f : tb ? B[(size_t)n * ldb + k + 1]
                                              : B[(size_t)(k + 1) * ldb + n];
            row[n] = pair(x0, x1);
        }
        for (size_t n = (size_t)N; n < Np; n++)
            row[n] = 0;
    }
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
        float *c = C + (size_t)m * ldc;
        for (int n0 = 0; n0 < N; n0 += 32) {
            int nn = N - n0 < 32 ? N - n0 : 32;
            float acc[32] = {0};
            for (int p = 0; p < Kp; p++) {
                uint32_t w = Ap[at_a(m, p, Kp)];
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
/* Rows [t TR, t TR + P) x columns [n0, n0 + 32) of C (At: tile t of A, C
 * from its first row); the tile's rows past P are zeros of A, not stored. */
BF16_TARGET static void tile_avx512(int P, int N, int Kp, const uint32_t *At,
                                    const uint32_t *Bp, size_t Np, int n0, float beta,
                                    float *C, int ldc)
{
    __m512 acc[TR][2];
    for (int i = 0; i < TR; i++)
        acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    for (int p = 0; p < Kp; p++) {
        const uint32_t *row = Bp + (size_t)p * Np + n0, *a = At + (size_t)p * TR;
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(row);
        __m512bh b1 = (__m512bh)_mm512_loadu_si512(row + 16);
        for (int i = 0; i < TR; i++) {
            __m512bh ai = (__m512bh)_mm512_set1_epi32((int)a[i]);
            acc[i][0] = _mm512_dpbf16_ps(acc[i][0], ai, b0);
            acc[i][1] = _mm512_dpbf16_ps(acc[i][1], ai, b1);
        }
    }
    int left = N - n0 < 32 ? N - n0 : 32;
    __mmask16 m0 = (__mmask16)(left >= 16 ? 0xffffu : (1u << left) - 1u);
    __mmask16 m1 = (__mmask16)(left >= 32 ? 0xffffu : left > 16 ? (1u << (left - 16)) - 1u : 0u);
    for (int i = 0; i < TR && i < P; i++) {
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
    const int Kp = (K + 1) / 2;
    for (int n0 = 0; n0 < N; n0 += 32)   /* a stripe of B stays in L1 */
        for (int m0 = 0; m0 < M; m0 += TR)
            tile_avx512(M - m0, N, Kp, Ap + (size_t)m0 * Kp, Bp, Np, n0, beta,
                        C + (size_t)m0 * ldc, ldc);
}

/* 16 floats (those of mask k; the others read as 0) rounded as
 * nn_bf16_from_f32 rounds, each in the low half of its lane. */
BF16_TARGET static inline __m512i round16(const float *x, __mmask16 k)
{
    __m512i u = _mm512_castps_si512(_mm512_maskz_loadu_ps(k, x));
    __m512i hi = _mm512_srli_epi32(u, 16);
    __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff)),
                                            _mm512_set1_epi32(0x7f800000));
    __m512i odd = _mm512_and_si512(hi, _mm512_set1_epi32(1));
    __m512i r = _mm512_add_epi32(u, _mm512_add_epi32(_mm512_set1_epi32(0x7fff), odd));
    r = _mm512_srli_epi32(r, 16);
    return _mm512_mask_or_epi32(r, nan, hi, _mm512_set1_epi32(0x40));
}

static __mmask16 first(int n)
{
    return (__mmask16)(n >= 16 ? 0xffffu : n <= 0 ? 0u : (1u << n) - 1u);
}

/* r[i][j] := r[j][i] (16 x 16 words): pairs of rows, then of pairs, then
 * 4 x 4 blocks of 128-bit lanes. */
BF16_TARGET static inline void transpose16(__m512i r[16])
{
    __m512i t[16], u[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
    }
    for (int j = 0; j < 16; j += 4) {   /* u[j + q]: column 4L + q of rows j..j+3 in lane L */
        u[j] = _mm512_unpacklo_epi64(t[j], t[j + 2]);
        u[j + 1] = _mm512_unpackhi_epi64(t[j], t[j + 2]);
        u[j + 2] = _mm512_unpacklo_epi64(t[j + 1], t[j + 3]);
        u[j + 3] = _mm512_unpackhi_epi64(t[j + 1], t[j + 3]);
    }
    for (int q = 0; q < 4; q++) {
        __m512i v0 = _mm512_shuffle_i32x4(u[q], u[4 + q], 0x44);
        __m512i v1 = _mm512_shuffle_i32x4(u[q], u[4 + q], 0xee);
        __m512i v2 = _mm512_shuffle_i32x4(u[8 + q], u[12 + q], 0x44);
        __m512i v3 = _mm512_shuffle_i32x4(u[8 + q], u[12 + q], 0xee);
        r[q] = _mm512_shuffle_i32x4(v0, v2, 0x88);
        r[4 + q] = _mm512_shuffle_i32x4(v0, v2, 0xdd);
        r[8 + q] = _mm512_shuffle_i32x4(v1, v3, 0x88);
        r[12 + q] = _mm512_shuffle_i32x4(v1, v3, 0xdd);
    }
}

/* pack_a and pack_b, 16 values a step: the same words. */
/* The 16 words of rows m0..m0+15 for one pair (r) into tile layout: the
 * first 8 to tile m0 / 8, the others to the next tile if there is one. */
BF16_TARGET static inline void put_tiles(uint32_t *Ap, int m0, int p, int Kp, int ntiles,
                                         __m512i r)
{
    int t = m0 / TR;
    _mm256_storeu_si256((__m256i *)(Ap + ((size_t)t * Kp + p) * TR), _mm512_castsi512_si256(r));
    if (t + 1 < ntiles)
        _mm256_storeu_si256((__m256i *)(Ap + ((size_t)(t + 1) * Kp + p) * TR),
                            _mm512_extracti64x4_epi64(r, 1));
}

BF16_TARGET static void pack_a_avx512(int ta, int M, int K, const float *A, int lda,
                                      uint32_t *Ap)
{
    const int Kp = (K + 1) / 2, ntiles = (M + TR - 1) / TR;
    for (int m0 = 0; m0 < M; m0 += 16) {
        __mmask16 km = first(M - m0);
        if (ta) {   /* a pair's 16 rows are 16 neighbours in A's rows 2p, 2p+1 */
            for (int p = 0; p < Kp; p++) {
                const float *a0 = A + (size_t)(2 * p) * lda + m0;
                __m512i lo = round16(a0, km);
                __m512i hi = 2 * p + 1 < K ? round16(a0 + lda, km) : _mm512_setzero_si512();
                put_tiles(Ap, m0, p, Kp, ntiles, _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16)));
            }
            continue;
        }
        /* 16 rows x 16 pairs: a row's words are its bf16 in order; transposed */
        for (int p0 = 0; p0 < Kp; p0 += 16) {
            __m512i r[16];
            int left = K - 2 * p0;
            for (int i = 0; i < 16; i++) {
                if (m0 + i >= M) {
                    r[i] = _mm512_setzero_si512();
                    continue;
                }
                const float *a = A + (size_t)(m0 + i) * lda + 2 * p0;
                __m256i lo = _mm512_cvtepi32_epi16(round16(a, first(left)));
                __m256i hi = _mm512_cvtepi32_epi16(round16(a + 16, first(left - 16)));
                r[i] = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
            }
            transpose16(r);
            for (int j = 0; j < 16 && p0 + j < Kp; j++)
                put_tiles(Ap, m0, p0 + j, Kp, ntiles, r[j]);
        }
    }
}

BF16_TARGET static void pack_b_avx512(int tb, int N, int K, const float *B, int ldb,
                                      size_t Np, uint32_t *Bp)
{
    const int Kp = (K + 1) / 2;
    if (!tb) {
        for (int p = 0; p < Kp; p++) {
            const float *b0 = B + (size_t)(2 * p) * ldb, *b1 = b0 + ldb;
            int has1 = 2 * p + 1 < K;
            uint32_t *row = Bp + (size_t)p * Np;
            for (int n0 = 0; n0 < (int)Np; n0 += 16) {
                __mmask16 k = first(N - n0);
                __m512i lo = round16(b0 + n0, k);
                __m512i hi = has1 ? round16(b1 + n0, k) : _mm512_setzero_si512();
                _mm512_storeu_si512(row + n0, _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16)));
            }
        }
        return;
    }
    /* row n of B holds column n's pairs in order: 16 rows x 16 pairs at a
     * time, transposed */
    for (int n0 = 0; n0 < (int)Np; n0 += 16)
        for (int p0 = 0; p0 < Kp; p0 += 16) {
            __m512i r[16];
            for (int i = 0; i < 16; i++) {
                if (n0 + i >= N) {
                    r[i] = _mm512_setzero_si512();
                    continue;
                }
                const float *b = B + (size_t)(n0 + i) * ldb + 2 * p0;
                int left = K - 2 * p0;
                __m256i lo = _mm512_cvtepi32_epi16(round16(b, first(left)));
                __m256i hi = _mm512_cvtepi32_epi16(round16(b + 16, first(left - 16)));
                r[i] = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
            }
            transpose16(r);
            for (int j = 0; j < 16 && p0 + j < Kp; j++)
                _mm512_storeu_si512(Bp + (size_t)(p0 + j) * Np + n0, r[j]);
        }
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

/* op(A) op(B) through the instructions unless emulate or the CPU lacks them:
 * blocks of 2 KBP k (all of B's columns packed), then of MB rows (A
 * packed), each block's sums added to C (beta for the first). */
static void run(int emulate, int ta, int tb, int M, int N, int K, const float *A, int lda,
                const float *B, int ldb, float beta, float *C, int ldc, void *work)
{
    pthread_once(&once, choose);
    if (M <= 0 || N <= 0)
        return;
    size_t Np = ((size_t)N + 31) / 32 * 32;
    int fast = NN_BF16_X86 && use_avx512 && !emulate;
    for (int k0 = 0; k0 == 0 || k0 < K; k0 += 2 * KBP) {
        int kb = K - k0 < 2 * KBP ? K - k0 : 2 * KBP;
        float bk = k0 ? 1.0f : beta;
        uint32_t *Bp = work, *Ap = Bp + ((size_t)kb + 1) / 2 * Np;
        const float *Bk = tb ? B + k0 : B + (size_t)k0 * ldb;
#if NN_BF16_X86
        if (fast)
            pack_b_avx512(tb, N, kb, Bk, ldb, Np, Bp);
#endif
        if (!fast)
            pack_b(tb, N, kb, Bk, ldb, Np, Bp);
        for (int m0 = 0; m0 < M; m0 += MB) {
            int mb = M - m0 < MB ? M - m0 : MB;
            const float *Ak = ta ? A + (size_t)k0 * lda + m0 : A + (size_t)m0 * lda + k0;
            float *Cm = C + (size_t)m0 * ldc;
#if NN_BF16_X86
            if (fast) {
                pack_a_avx512(ta, mb, kb, Ak, lda, Ap);
                gemm_avx512(mb, N, kb, Ap, Bp, Np, bk, Cm, ldc);
                continue;
            }
#endif
            pack_a(ta, mb, kb, Ak, lda, Ap);
            gemm_emulated(mb, N, kb, Ap, Bp, Np, bk, Cm, ldc);
        }
    }
}

void nn_gemm_bf16(int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                  float beta, float *C, int ldc, void *work)
{
    run(0, 0, 0, M, N, K, A, lda, B, ldb, beta, C, ldc, work);
}

void nn_gemm_bf16_t(int ta, int tb, int M, int N, int K, const float *A, int lda,
                    const float *B, int ldb, float beta, float *C, int ldc, void *work)
{
    run(0, ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc, work);
}

void nn_gemm_bf16_emulated(int M, int N, int K, const float *A, int lda, const float *B,
                           int ldb, float beta, float *C, int ldc, void *work)
{
    run(1, 0, 0, M, N, K, A, lda, B, ldb, beta, C, ldc, work);
}

void nn_gemm_bf16_emulated_t(int ta, int tb, int M, int N, int K, const float *A, int lda,
                             const float *B, int ldb, float beta, float *C, int ldc,
                             void *work)
{
    run(1, ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc, work);
}
