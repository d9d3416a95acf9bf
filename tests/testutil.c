/* Helpers shared by the CUnit suites. */
#define _XOPEN_SOURCE 700
#include "testutil.h"

#include <ftw.h>
#include <sys/stat.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nntrain/rng.h"

int tu_main(const char *suite, const tu_test *tests)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite s = CU_add_suite(suite, NULL, NULL);
    if (!s)
        return 2;
    for (int i = 0; tests[i].name; i++)
        if (!CU_add_test(s, tests[i].name, tests[i].fn))
            return 2;
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures();
    unsigned failed_tests = CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed || failed_tests ? 1 : 0;
}

void tu_fill_uniform(float *x, size_t n, uint64_t seed, float lo, float hi)
{
    nn_rng r = nn_rng_key(seed, 0x7e57, 0, 0);
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * nn_rng_uniform(&r);
}

/* Every directory tu_tmpdir made is removed when the test program exits. */
static char made[64][256];
static int nmade;

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static void rm_made(void)
{
    for (int i = 0; i < nmade; i++)
        nftw(made[i], rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *tu_tmpdir(void)
{
    static char path[256];
    snprintf(path, sizeof path, "/tmp/nntrain-test-XXXXXX");
    if (!mkdtemp(path))
        return NULL;
    if (nmade < 64) {
        if (!nmade)
            atexit(rm_made);
        snprintf(made[nmade++], sizeof made[0], "%s", path);
    }
    return path;
}

int tu_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t n = strlen(text);
    int rc = fwrite(text, 1, n, f) == n ? 0 : -1;
    return fclose(f) || rc ? -1 : 0;
}

double tu_max_diff(const float *a, const float *b, size_t n, double tol, long *first_bad)
{
    double mx = 0;
    *first_bad = -1;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= mx))
            mx = d;   /* NaN propagates */
        double lim = tol * fmax(1.0, fabs((double)b[i]));
        if (*first_bad < 0 && !(d <= lim))
            *first_bad = (long)i;
    }
    return mx;
}

int tu_contains(const char *hay, const char *needle)
{
    int ok = hay && needle && strstr(hay, needle) != NULL;
    if (!ok)
        fprintf(stderr, "  expected \"%s\" in \"%s\"\n", needle ? needle : "(null)",
                hay ? hay : "(null)");
    return ok;
}
