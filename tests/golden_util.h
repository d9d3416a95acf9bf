/* Shared helpers for the golden suites (tests/test_golden*.c): reading the
 * HDF5 fixtures that scripts/gen_fixtures*.py write, comparing tensors, and
 * running one layer case (spec line -> layer -> forward/backward). Readers
 * return NULL/-1 with a message on any failed HDF5 call. */
#ifndef NNTRAIN_GOLDEN_UTIL_H
#define NNTRAIN_GOLDEN_UTIL_H

#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>

#include "nntrain/layer.h"
#include "nntrain/spec.h"
#include "testutil.h"

#define GU_TOL 1e-5 /* layer tolerance: relative, floor 1 (tu_max_diff) */

/* On failure: print why, record a CUnit failure, jump to the cleanup. */
#define REQUIRE(cond, ...)                                                     \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                    \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
            CU_FAIL(#cond);                                                    \
            goto done;                                                         \
        }                                                                      \
    } while (0)

/* A fixture file and the script (under scripts/) that regenerates it. */
typedef struct gu_fixture {
    const char *path;
    const char *script;
} gu_fixture;

hid_t gu_open(const gu_fixture *fx);
void gu_close_file(hid_t f);   /* CU_FAIL if closing fails; ignores -1 */
void gu_close_group(hid_t g);
/* 1 if loc/name exists, 0 if not, -1 on error. */
int gu_exists(hid_t loc, const char *name);
/* A float dataset of rank <= 4 (rank 0 = scalar). Caller frees. */
float *gu_read_f32(hid_t loc, const char *name, int *ndim, hsize_t dims[4], size_t *n);
/* A string attribute (fixed- or variable-length). Caller frees. */
char *gu_attr_str(hid_t obj, const char *name);
/* A numeric attribute read as mem_type into buf (at most max elements);
 * returns the element count or -1. */
int gu_attr_num(hid_t obj, const char *name, hid_t mem_type, void *buf, int max);

/* Prints "case what n max|diff|" and asserts (2 asserts) n > 0 and every
 * element within tol; returns 1 if both hold. */
int gu_compare(const char *cs, const char *what, const float *got, const float *want,
               size_t n, double tol);
void gu_nan_fill(float *x, size_t n);

/* Asserts (3 asserts) that the fixture has exactly ncases top-level groups;
 * suite names the test file for the message. */
void gu_fixture_complete(const gu_fixture *fx, const char *suite, int ncases);

/* One layer case: group cs of the fixture holds attributes call and
 * input_shape and datasets x, y, dy, dx (batch first). */
typedef struct gu_layer {
    const char *cs;
    hid_t f, g;
    char *call;
    nn_spec s;
    nn_layer l;
    int have_spec, have_layer;
    nn_error e;
    int B;
    size_t nx, ny, P;                       /* P = l.param_len */
    float *x, *wy, *wdy, *wdx;              /* from the fixture */
    float *y, *dy, *dx, *gr, *work;         /* gr: P + 1 zeros */
    float *p;                               /* parameters: the caller sets them */
    uint64_t *ids;
    nn_ctx ctx;
} gu_layer;

/* Builds and configures the layer, reads and checks x/y/dy/dx against its
 * shapes, plans it and allocates the buffers. 0 or -1 (failure recorded). */
int gu_layer_open(gu_layer *c, const gu_fixture *fx, const char *cs);
/* Forward with c->p and backward into c->gr; compares y and dx (4 asserts). */
void gu_layer_run(gu_layer *c);
/* Frees everything (c->p included) and ends the case's output line. */
void gu_layer_close(gu_layer *c);

/* A layer case whose parameters are datasets named after the layer's param
 * specs ("kernel", "bias") with gradients "dkernel", "dbias". */
void gu_layer_case(const gu_fixture *fx, const char *cs);

/* nn_fit for steps full-batch epochs from the fixture's params0, then
 * nn_evaluate: epoch losses, parameters and evaluate's loss compared with the
 * fixture's losses, params and eval_loss within tol (name: the spec's path
 * in messages). */
void gu_fit_steps(const gu_fixture *fx, const char *name, int steps, double tol);

#endif
