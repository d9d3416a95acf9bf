/* Row-major sgemm through OpenBLAS: C = alpha * op(A) op(B) + beta * C. */
#ifndef NNTRAIN_GEMM_H
#define NNTRAIN_GEMM_H

void nn_sgemm(int transA, int transB, int M, int N, int K, float alpha,
              const float *A, int lda, const float *B, int ldb, float beta,
              float *C, int ldc);
/* OpenBLAS threads for this process (no-op if the build lacks the call). */
void nn_blas_set_threads(int n);
int nn_blas_get_threads(void);
const char *nn_blas_corename(void);

#endif
