/* The one place that talks to OpenBLAS. */
#include "nntrain/gemm.h"

#include <cblas.h>

void nn_sgemm(int transA, int transB, int M, int N, int K, float alpha,
              const float *A, int lda, const float *B, int ldb, float beta,
              float *C, int ldc)
{
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
                transB ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B,
                ldb, beta, C, ldc);
}

void nn_blas_set_threads(int n)
{
    if (n > 0)
        openblas_set_num_threads(n);
}

int nn_blas_get_threads(void)
{
    return openblas_get_num_threads();
}

const char *nn_blas_corename(void)
{
    return openblas_get_corename();
}
