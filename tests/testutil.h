/* Small helpers shared by the CUnit suites. */
#ifndef NNTRAIN_TESTUTIL_H
#define NNTRAIN_TESTUTIL_H

#include <CUnit/Basic.h>
#include <stddef.h>
#include <stdint.h>

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

#define TU_ASSERT_OK(expr, err)                                                \
    do {                                                                       \
        int tu_rc_ = (expr);                                                   \
        if (tu_rc_ != 0)                                                       \
            fprintf(stderr, "%s:%d: %s -> %d: %s\n", __FILE__, __LINE__, #expr,\
                    tu_rc_, (err).msg);                                        \
        CU_ASSERT_EQUAL_FATAL(tu_rc_, 0);                                      \
    } while (0)

#endif
