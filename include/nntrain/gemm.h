/* Row-major sgemm through OpenBLAS: C = alpha * op(A) op(B) + beta * C. */
#ifndef NNTRAIN_GEMM_H
#define NNTRAIN_GEMM_H

#include <stdint.h>

void nn_sgemm(int transA, int transB, int M, int N, int K, float alpha,
              const float *A, int lda, const float *B, int ldb, float beta,
              float *C, int ldc);
/* OpenBLAS threads for this process (no-op if the build lacks the call). */
void nn_blas_set_threads(int n);
int nn_blas_get_threads(void);
const char *nn_blas_corename(void);
/* y (n, N) = x (n, K) w (K, N), row-major, for a few rows without
 * OpenBLAS's packing of w (gemm_rows.c): each y[r][j] is one FMA per k in
 * k order (a multiply-add without FMA), so a row's bits depend on neither
 * n nor its position (deterministic mode's Dense forward over a thread's
 * rows). w streams from memory once per call. */
void nn_sgemm_rows(int n, int N, int K, const float *x, int ldx, const float *w, int ldw,
                   float *y, int ldy);
/* The same, and amax[r] (when not NULL) = the largest |x[r][k]| as float
 * bits with the sign cleared (NaN and Inf above every finite value), read
 * with the product's blocks of x (deterministic mode's Dense: the
 * exponent of its kernel gradient's sums without another pass over x). */
void nn_sgemm_rows_amax(int n, int N, int K, const float *x, int ldx, const float *w, int ldw,
                        float *y, int ldy, uint32_t *amax);
/* y (n, N) = x (n, K) w^T with w (N, K) row-major, in the same fixed order:
 * each y[r][j] is one FMA per k in k order (deterministic mode's Dense
 * dx = dz W^T over a thread's rows). */
void nn_sgemm_rows_t(int n, int N, int K, const float *x, int ldx, const float *w, int ldw,
                     float *y, int ldy);
/* The same over nb blocks of rows (x[b] (n[b], K), y[b] (n[b], N), each
 * row's bits as above): w is read once for all of them. */
void nn_sgemm_rows_t_blocks(int nb, const int *n, const float *const *x, int ldx, int N, int K,
                            const float *w, int ldw, float *const *y, int ldy);

#endif
