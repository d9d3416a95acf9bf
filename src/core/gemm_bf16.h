/* bf16 products with fp32 accumulation (gemm_bf16.c), the first step of
 * mixed_bfloat16 (issue 21): inputs rounded to bfloat16 (the top 16 bits of
 * an fp32, round to nearest even), products summed in fp32. Debian's
 * OpenBLAS 0.3.21 exports no cblas_sbgemm, so the kernel is ours: with
 * AVX512_BF16 (VDPBF16PS: Zen 4, Cooper Lake, Sapphire Rapids) chosen at
 * run time, else an fp32 emulation of the same arithmetic. Dense and Conv2D
 * run their products through it under mixed_bfloat16. Internal to the
 * library. */
#ifndef NNTRAIN_GEMM_BF16_H
#define NNTRAIN_GEMM_BF16_H

#include <stddef.h>
#include <stdint.h>

/* Round to nearest even; NaN stays a (quiet) NaN. */
uint16_t nn_bf16_from_f32(float x);
float nn_bf16_to_f32(uint16_t h);
/* x rounded to bf16 and back. */
float nn_bf16_round(float x);

/* "avx512_bf16" or "emulated": the kernel nn_gemm_bf16 runs (NNTRAIN_BF16=
 * emulated forces the emulation), chosen at the first call. */
const char *nn_gemm_bf16_isa(void);

/* Bytes of work nn_gemm_bf16 needs (A and B packed as bf16 pairs). */
size_t nn_gemm_bf16_work_bytes(int M, int K, int N);

/* C (M x N, ldc) = beta * C + bf16(A) (M x K, lda) bf16(B) (K x N, ldb),
 * row-major, beta 0 or 1. Each output sums its products in pairs of k
 * (k, k+1) in increasing k, in fp32, in blocks of 512 k whose sums are added
 * to C in turn: results agree with an fp32 sum of the same bf16 products to
 * within the rounding of that order. */
void nn_gemm_bf16(int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                  float beta, float *C, int ldc, void *work);

/* The same with op(A) = A^T when ta (A stored K x M, lda) and op(B) = B^T
 * when tb (B stored N x K, ldb): C = beta C + bf16(op(A)) bf16(op(B)). */
void nn_gemm_bf16_t(int ta, int tb, int M, int N, int K, const float *A, int lda,
                    const float *B, int ldb, float beta, float *C, int ldc, void *work);

/* nn_gemm_bf16 through the emulation whatever the CPU (the tests compare
 * it with the instructions, bitwise). */
void nn_gemm_bf16_emulated(int M, int N, int K, const float *A, int lda, const float *B,
                           int ldb, float beta, float *C, int ldc, void *work);
void nn_gemm_bf16_emulated_t(int ta, int tb, int M, int N, int K, const float *A, int lda,
                             const float *B, int ldb, float beta, float *C, int ldc,
                             void *work);

#endif
