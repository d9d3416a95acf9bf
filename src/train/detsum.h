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
/* The same for the largest |v| given as its float bits with the sign
 * cleared (0 for none). */
int nn_det_bits_exp(uint32_t mx);
/* ceil(log2 n), at most 62 (0 for n <= 1): the headroom bits of n addends. */
int nn_det_ceil_log2(long n);
/* The fixed-point shift for K addends whose largest magnitude is below 2^e:
 * each addend is below 2^(NN_DET_BITS - h) units, h = ceil(log2 K), so the
 * K of them sum below 2^NN_DET_BITS. A component smaller than 2^-(NN_DET_BITS
 * - h) of 2^e is lost (truncated toward zero). */
int nn_det_shift(int e, long K);
/* Bits of a Dense kernel's fixed-point addend (nn_det_add_xtdz splits each
 * into two int32 parts; 2^-(53 - h) of 2^e is still 2^(29 - h) times
 * finer than float's rounding of 2^e). */
#define NN_DET_DENSE_BITS 53
/* nn_det_shift for a Dense layer whose kernel goes through
 * nn_det_add_xtdz: addends below 2^(NN_DET_DENSE_BITS - h) units. */
int nn_det_shift_dense(int e, long K);
/* acc[i] += v[k][off + i] * 2^shift for each of the nv addends v[k] and
 * i < n, each truncated toward zero (exact in double first). */
void nn_det_add(int64_t *acc, const float *const *v, size_t nv, size_t off, size_t n,
                int shift);
/* The fused Dense kernel gradient (detsum_dense.c). An exponent e with
 * |s| < 2^e for any sum s of n float products, rounded in any order, whose
 * factors are below 2^ex and 2^ez: ex + ez + ceil(log2 n) + 1; INT_MAX when
 * ex or ez is, else INT_MIN when either is (all zero) or n < 1. */
int nn_det_bound_exp(int ex, int ez, long n);
/* Rows [i0, i1) of acc, an (in, units) kernel's fixed-point sums, +=
 * (:= when fresh) for each chunk of C rows of x (rows, in) and dz (rows, units) (the last
 * may be shorter): the chunk's x^T dz, summed over its rows in order with
 * one FMA each (a plain multiply-add on a build without FMA), times
 * 2^shift, truncated toward zero: the bits of nn_det_add of that chunk
 * gradient. shift is at most nn_det_shift_dense(e, K) for chunk gradients
 * below 2^e and K >= the chunks in rows. */
void nn_det_add_xtdz(int64_t *acc, const float *x, const float *dz, size_t rows, size_t C,
                     size_t in, size_t units, size_t i0, size_t i1, int shift, int fresh);
/* nn_det_add_xtdz's fresh sums of rows [i0, i1) rounded straight into g
 * (g[i * units + j], nn_det_round's bits) for a sum that needs no other
 * addends (one rank): acc's rows are scratch, left undefined. */
void nn_det_xtdz_round(float *g, int64_t *acc, const float *x, const float *dz, size_t rows,
                       size_t C, size_t in, size_t units, size_t i0, size_t i1, int shift);
/* The same with init's sums added before the rounding (kernel row i's at
 * init[(i - i0) * units]): a rank's own slice of the kernel, whose other
 * ranks' sums the ring reduce-scatter brought, made and rounded in one
 * pass instead of written as int64, added to and read again. rows may be
 * 0 (init alone). */
void nn_det_xtdz_round_add(float *g, int64_t *acc, const int64_t *init, const float *x,
                           const float *dz, size_t rows, size_t C, size_t in, size_t units,
                           size_t i0, size_t i1, int shift);
/* Rows [i0, i1) of p, an (in, units) kernel's float partial sums, :=
 * (fresh) or += x^T dz over rows of x (rows, in) and dz (rows, units), one
 * FMA per row in row order: the arithmetic of a chunk in nn_det_add_xtdz,
 * so a chunk whose rows lie on two ranks is summed by the first from zero
 * and continued by the second with the same bits. */
void nn_det_xtdz_chain(float *p, const float *x, const float *dz, size_t rows, size_t in,
                       size_t units, size_t i0, size_t i1, int fresh);
/* v[i] := acc[i] * 2^-shift rounded to float (through double). */
void nn_det_round(float *v, const int64_t *acc, size_t n, int shift);
/* The same of acc[i] + b[i]. */
void nn_det_round_sum(float *v, const int64_t *acc, const int64_t *b, size_t n, int shift);

#endif
