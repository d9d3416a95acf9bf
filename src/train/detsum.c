/* Fixed-point sums of float vectors (detsum.h). */
#include <limits.h>
#include <math.h>
#include <string.h>

#include "train/detsum.h"

int nn_det_max_exp(const float *v, size_t n)
{
    /* |v| as bits orders like |v| (NaN and Inf above every finite value):
     * an integer max, which vectorises */
    uint32_t mx = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], sizeof u);
        u &= 0x7fffffffu;
        mx = u > mx ? u : mx;
    }
    return nn_det_bits_exp(mx);
}

int nn_det_bits_exp(uint32_t mx)
{
    if (mx >= 0x7f800000u)
        return INT_MAX;
    if (mx == 0)
        return INT_MIN;
    float a;
    memcpy(&a, &mx, sizeof a);
    int e;
    frexp(a, &e);
    return e;
}

int nn_det_ceil_log2(long n)
{
    int h = 0;
    while (h < 62 && (1L << h) < n)
        h++;
    return h;
}

int nn_det_shift(int e, long K)
{
    return NN_DET_BITS - nn_det_ceil_log2(K) - e;
}

int nn_det_shift_dense(int e, long K)
{
    return nn_det_shift(e, K) - (NN_DET_BITS - NN_DET_DENSE_BITS);
}

void nn_det_add(int64_t *acc, const float *const *v, size_t nv, size_t off, size_t n,
                int shift)
{
    const double s = ldexp(1.0, shift);
    /* a block of acc stays in cache while every addend passes over it */
    enum { BLOCK = 512 };
    for (size_t b = 0; b < n; b += BLOCK) {
        size_t m = n - b < BLOCK ? n - b : BLOCK;
        int64_t *restrict a = acc + b;
        for (size_t k = 0; k < nv; k++) {
            const float *restrict x = v[k] + off + b;
            for (size_t i = 0; i < m; i++)
                a[i] += (int64_t)((double)x[i] * s);
        }
    }
}

void nn_det_round(float *v, const int64_t *acc, size_t n, int shift)
{
    const double s = ldexp(1.0, -shift);
    for (size_t i = 0; i < n; i++)
        v[i] = (float)((double)acc[i] * s);
}

void nn_det_round_sum(float *v, const int64_t *acc, const int64_t *b, size_t n, int shift)
{
    const double s = ldexp(1.0, -shift);
    for (size_t i = 0; i < n; i++)
        v[i] = (float)((double)(acc[i] + b[i]) * s);
}
