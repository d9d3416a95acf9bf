/* Fixed-point sums of float vectors (detsum.h). */
#include <limits.h>
#include <math.h>

#include "train/detsum.h"

int nn_det_max_exp(const float *v, size_t n)
{
    float mx = 0;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        float a = fabsf(v[i]);
        bad |= !(a <= 3.4028235e38f);   /* NaN or Inf */
        mx = a > mx ? a : mx;
    }
    if (bad)
        return INT_MAX;
    if (mx == 0)
        return INT_MIN;
    int e;
    frexp(mx, &e);
    return e;
}

int nn_det_shift(int e, long K)
{
    int h = 0;
    while (h < 62 && (1L << h) < K)
        h++;
    return NN_DET_BITS - h - e;
}

void nn_det_add(int64_t *acc, const float *v, size_t n, int shift)
{
    const double s = ldexp(1.0, shift);
    for (size_t i = 0; i < n; i++)
        acc[i] += (int64_t)((double)v[i] * s);
}

void nn_det_round(float *v, const int64_t *acc, size_t n, int shift)
{
    const double s = ldexp(1.0, -shift);
    for (size_t i = 0; i < n; i++)
        v[i] = (float)((double)acc[i] * s);
}
