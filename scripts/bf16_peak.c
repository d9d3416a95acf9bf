/* The ceiling of mixed_bfloat16 on this core: VDPBF16PS (AVX512_BF16, 32
 * bf16 multiply-adds into 16 fp32 lanes) against fp32 FMAs (16 lanes), both
 * on 512-bit registers, 16 independent accumulators (more than latency x
 * throughput), best of 5 runs of 2e7 iterations. Their ratio bounds what
 * bf16 products can gain over fp32 ones.
 *
 *   cc -O2 scripts/bf16_peak.c -o bf16_peak && ./bf16_peak
 * prints "BF16_PEAK dpbf16_gflops=G fma_gflops=F ratio=R" (2 FLOPs per
 * multiply-add), or says the CPU lacks the instructions. */
#define _POSIX_C_SOURCE 200809L
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* 16 accumulators in registers: OP(acc) is one instruction on acc */
#define ACC16(OP)                                                                           \
    for (long i = 0; i < n; i++) {                                                          \
        a0 = OP(a0); a1 = OP(a1); a2 = OP(a2); a3 = OP(a3);                                 \
        a4 = OP(a4); a5 = OP(a5); a6 = OP(a6); a7 = OP(a7);                                 \
        a8 = OP(a8); a9 = OP(a9); a10 = OP(a10); a11 = OP(a11);                             \
        a12 = OP(a12); a13 = OP(a13); a14 = OP(a14); a15 = OP(a15);                         \
        __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5),  \
                         "+v"(a6), "+v"(a7));                                               \
    }
#define DECL __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, \
    a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0, a12 = a0, a13 = a0, a14 = a0, a15 = a0
#define SUM                                                                                 \
    _mm512_reduce_add_ps(_mm512_add_ps(                                                     \
        _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),          \
                      _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7))),         \
        _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)),        \
                      _mm512_add_ps(_mm512_add_ps(a12, a13), _mm512_add_ps(a14, a15)))))

static volatile float sink;

__attribute__((target("avx512f,avx512bf16"))) static double dpbf16(long n)
{
    DECL;
    __m512bh x = (__m512bh)_mm512_set1_epi32(0x3f803f80);
#define DP(acc) _mm512_dpbf16_ps(acc, x, x)
    double t0 = now();
    ACC16(DP)
    double t = now() - t0;
    sink = SUM;
    return (double)n * 16 * 32 * 2 / t / 1e9;
}

__attribute__((target("avx512f"))) static double fma32(long n)
{
    DECL;
    __m512 x = _mm512_set1_ps(1.0f);
#define FMA(acc) _mm512_fmadd_ps(x, x, acc)
    double t0 = now();
    ACC16(FMA)
    double t = now() - t0;
    sink = SUM;
    return (double)n * 16 * 16 * 2 / t / 1e9;
}

int main(void)
{
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bf16")) {
        printf("bf16_peak: this CPU has no AVX512_BF16 (grep avx512_bf16 /proc/cpuinfo)\n");
        return 1;
    }
    double b = 0, f = 0;
    for (int r = 0; r < 5; r++) {
        double x = dpbf16(20000000);
        b = x > b ? x : b;
        x = fma32(20000000);
        f = x > f ? x : f;
    }
    printf("BF16_PEAK dpbf16_gflops=%.0f fma_gflops=%.0f ratio=%.2f\n", b, f, b / f);
    return 0;
}
