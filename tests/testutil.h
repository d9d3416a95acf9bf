/* Small helpers shared by the CUnit suites. */
#ifndef NNTRAIN_TESTUTIL_H
#define NNTRAIN_TESTUTIL_H

#include <CUnit/Basic.h>
#include <stddef.h>
#include <stdint.h>

#include "nntrain/layer.h"
#include "nntrain/model.h"

typedef struct tu_test {
    const char *name;
    void (*fn)(void);
} tu_test;

/* Runs one suite; returns non-zero if any assertion failed (use as main's
 * return value). tests is terminated by {NULL, NULL}. */
int tu_main(const char *suite, const tu_test *tests);

/* Deterministic fill with uniform values in [lo, hi). */
void tu_fill_uniform(float *x, size_t n, uint64_t seed, float lo, float hi);
/* Makes a fresh temporary directory (mkdtemp); returns a static path copy. */
const char *tu_tmpdir(void);
/* Writes text to path; returns 0 on success. */
int tu_write_file(const char *path, const char *text);
/* Max |a - b| and the first index where |a-b| > tol*max(1,|b|) (-1 if none). */
double tu_max_diff(const float *a, const float *b, size_t n, double tol, long *first_bad);
/* Asserts that the contents of the file at path contain needle. */
int tu_contains(const char *hay, const char *needle);

/* Builds a model from spec text (file name "t.nn" in messages); returns the
 * code, message in e (cleared first). */
int tu_build(const char *text, nn_model *m, nn_error *e);

/* ---- layers (test_layers_*.c) ---- */

/* A layer from one spec line on input shape in, named "t" and configured
 * (not planned). On error the layer is destroyed and e is filled. */
int tu_make_layer(const char *text, nn_shape in, nn_layer *l, nn_error *e);
/* tu_make_layer, then planned for batch_max rows (workspace bytes in *work
 * when work is not NULL). */
int tu_make_planned(const char *text, nn_shape in, int batch_max, nn_layer *l, size_t *work,
                    nn_error *e);

/* A planned layer with its buffers: params p/g, x (B, in), y and dy (B, out),
 * dx (B, in), and the workspace it asked for (all zeroed). */
typedef struct tu_lay {
    nn_layer l;
    int B;
    size_t nin, nout, np, work;
    float *p, *g, *x, *y, *dy, *dx;
    nn_ctx ctx;
} tu_lay;

void tu_lay_open(tu_lay *t, const char *text, nn_shape in, int B);  /* 1 or 2 asserts */
/* the same under the mixed_bfloat16 policy when bf16 is set */
void tu_lay_open_bf16(tu_lay *t, const char *text, nn_shape in, int B, int bf16);
void tu_lay_close(tu_lay *t);
void tu_lay_forward(tu_lay *t);
void tu_lay_backward(tu_lay *t);

/* Asserts (1 assert) every |a - b| <= tol * max(1, |b|); prints the first bad
 * element otherwise. */
void tu_assert_close(const char *what, const float *a, const float *b, size_t n, double tol);
typedef void (*tu_close_fn)(const char *what, const float *a, const float *b, size_t n,
                            double tol);
/* A layer whose workspace holds whole images' im2col columns: with the cap
 * set to 1 and 2 images, y, dx and dparams (also with dx NULL) match the
 * unchunked run, compared with close. */
void tu_check_chunked(const char *call, nn_shape in, tu_close_fn close);

/* Asserts the layer's output shape and parameter count (3 asserts). */
void tu_expect_shape(const char *call, nn_shape in, nn_shape out, size_t params);
/* Asserts that the layer (planned for batch_max rows when > 0) fails with
 * code and a message containing sub1 and, unless NULL, sub2. */
void tu_expect_layer_err(const char *call, nn_shape in, int batch_max, int code,
                         const char *sub1, const char *sub2);

#define TU_ASSERT_OK(expr, err)                                                \
    do {                                                                       \
        int tu_rc_ = (expr);                                                   \
        if (tu_rc_ != 0)                                                       \
            fprintf(stderr, "%s:%d: %s -> %d: %s\n", __FILE__, __LINE__, #expr,\
                    tu_rc_, (err).msg);                                        \
        CU_ASSERT_EQUAL_FATAL(tu_rc_, 0);                                      \
    } while (0)

#endif
