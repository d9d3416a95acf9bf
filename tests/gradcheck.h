/* Finite-difference gradient checks (Caffe style): objective
 * f = sum_i r_i * y_i with fixed random r, accumulated in double; central
 * differences on every element of x and every parameter; an element passes if
 * |analytic - numeric| <= tol * max(1, |analytic|, |numeric|). Points next to
 * a kink (ReLU at 0, pooling ties) are detected by comparing differences with
 * h and h/2 and skipped; at most 2% may be skipped. The check asserts that the
 * numeric gradient is not all zero. */
#ifndef NNTRAIN_GRADCHECK_H
#define NNTRAIN_GRADCHECK_H

#include <stdint.h>

#include "nntrain/loss.h"
#include "nntrain/tensor.h"

typedef struct gc_result {
    long checked, skipped, failed;
    double max_err;          /* max |a - n| / max(1, |a|, |n|) */
    double sum_abs_numeric;  /* must be > 0 */
    char first_bad[256];     /* "dx[17]: analytic 0.31 numeric 0.28" */
} gc_result;

/* One layer built from its spec line (e.g. "Conv2D(3, (2, 2), strides=2)")
 * on input shape in, batch B. training=1 runs Dropout in training mode with a
 * fixed mask. Returns 0 if every element passed; prints a report. */
int gc_layer(const char *call, nn_shape in, int B, int training, uint64_t seed,
             double tol, gc_result *res);

/* A whole model from spec text (layers and compile line) with its loss:
 * f = loss sum / B + the weight regularizers' penalty, with targets from seed. Checks every parameter (and the
 * fused softmax/sigmoid path when the spec ends that way). */
int gc_model(const char *spec_text, int B, uint64_t seed, double tol, gc_result *res);

/* A merge layer (Add, Concatenate, ...) on nin inputs of shapes ins: f as
 * above on its output; every element of every input's dx checked, and dy
 * must come back unchanged. distinct: inputs spread so that no two agree
 * within 0.05 at any element (Maximum/Minimum away from ties). */
int gc_merge(const char *call, int nin, const nn_shape *ins, int B, int distinct,
             uint64_t seed, double tol, gc_result *res);

/* The suites' usual tolerance. */
#define GC_TOL 1e-2

/* gc_layer / gc_model with GC_TOL as CUnit assertions (3 each): no element
 * failed, something was checked, the numeric gradient is not all zero. */
void gc_layer_ok(const char *call, nn_shape in, int B, int training, uint64_t seed);
void gc_model_ok(const char *spec_text, int B, uint64_t seed);
/* gc_merge with GC_TOL (3 asserts; a 4th with distinct: nothing skipped). */
void gc_merge_ok(const char *call, int nin, const nn_shape *ins, int B, int distinct,
                 uint64_t seed);

#endif
