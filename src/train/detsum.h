/* Exact, order-independent sums of float vectors for deterministic mode
 * (detsum.c): every addend is converted to a 64-bit integer in units of
 * 2^-shift, with one shift per bucket that every rank agrees on, so the sum
 * is integer arithmetic (associative, exact) and is rounded to float once. */
#ifndef NNTRAIN_TRAIN_DETSUM_H
#define NNTRAIN_TRAIN_DETSUM_H

#include <stddef.h>
#include <stdint.h>

/* Bits of an int64 a sum may fill (one spare below the sign bit). */
#define NN_DET_BITS 62

/* The exponent e of the largest |v[i]| (frexp's: |v| < 2^e); INT_MIN when
 * all are zero, INT_MAX when one is NaN or Inf. */
int nn_det_max_exp(const float *v, size_t n);
/* The fixed-point shift for K addends whose largest magnitude is below 2^e:
 * each addend is below 2^(NN_DET_BITS - h) units, h = ceil(log2 K), so the
 * K of them sum below 2^NN_DET_BITS. A component smaller than 2^-(NN_DET_BITS
 * - h) of 2^e is lost (truncated toward zero). */
int nn_det_shift(int e, long K);
/* acc[i] += v[k][off + i] * 2^shift for each of the nv addends v[k] and
 * i < n, each truncated toward zero (exact in double first). */
void nn_det_add(int64_t *acc, const float *const *v, size_t nv, size_t off, size_t n,
                int shift);
/* v[i] := acc[i] * 2^-shift rounded to float (through double). */
void nn_det_round(float *v, const int64_t *acc, size_t n, int shift);

#endif
