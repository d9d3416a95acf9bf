/* Helpers shared by the CUnit suites. */
#define _XOPEN_SOURCE 700
#include "testutil.h"

#include <ftw.h>
#include <sys/stat.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/im2col.h"
#include "nntrain/rng.h"
#include "nntrain/spec.h"

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

int tu_build(const char *text, nn_model *m, nn_error *e)
{
    nn_spec s;
    memset(e, 0, sizeof *e);
    int rc = nn_spec_parse(text, "t.nn", &s, e);
    if (rc)
        return rc;
    rc = nn_model_build(m, &s, e);
    nn_spec_free(&s);
    return rc;
}

/* ---- layers ----------------------------------------------------------------- */

/* bf16: the mixed_bfloat16 policy, set before configure as the model sets it */
static int make_layer(const char *text, nn_shape in, int bf16, nn_layer *l, nn_error *e)
{
    nn_spec s;
    nn_shape ish;
    int has;
    memset(l, 0, sizeof *l);
    int rc = nn_spec_parse(text, "<test>", &s, e);
    if (rc)
        return rc;
    rc = nn_layer_create(l, &s.calls[0], &ish, &has, e);
    nn_spec_free(&s);
    if (rc)
        return rc;
    snprintf(l->name, sizeof l->name, "t");
    l->in = in;
    l->bf16 = bf16;
    rc = l->ops->configure(l, e);
    if (rc)
        nn_layer_destroy(l);
    return rc;
}

int tu_make_layer(const char *text, nn_shape in, nn_layer *l, nn_error *e)
{
    return make_layer(text, in, 0, l, e);
}

int tu_make_planned(const char *text, nn_shape in, int batch_max, nn_layer *l, size_t *work,
                    nn_error *e)
{
    size_t w = 0;
    int rc = tu_make_layer(text, in, l, e);
    if (!rc && l->ops->plan) {
        rc = l->ops->plan(l, batch_max, &w, e);
        if (rc)
            nn_layer_destroy(l);
    }
    if (work)
        *work = w;
    return rc;
}

void tu_lay_open(tu_lay *t, const char *text, nn_shape in, int B)
{
    tu_lay_open_bf16(t, text, in, B, 0);
}

void tu_lay_open_bf16(tu_lay *t, const char *text, nn_shape in, int B, int bf16)
{
    nn_error e = {0};
    memset(t, 0, sizeof *t);
    TU_ASSERT_OK(make_layer(text, in, bf16, &t->l, &e), e);
    if (t->l.ops->plan)
        TU_ASSERT_OK(t->l.ops->plan(&t->l, B, &t->work, &e), e);
    t->B = B;
    t->nin = nn_shape_size(&in) * (size_t)B;
    t->nout = nn_shape_size(&t->l.out) * (size_t)B;
    t->np = t->l.param_len;
    t->p = calloc(t->np + 1, sizeof(float));
    t->g = calloc(t->np + 1, sizeof(float));
    t->x = calloc(t->nin, sizeof(float));
    t->dx = calloc(t->nin, sizeof(float));
    t->y = calloc(t->nout, sizeof(float));
    t->dy = calloc(t->nout, sizeof(float));
    t->ctx.work = t->work ? malloc(t->work) : NULL;
    t->ctx.work_bytes = t->work;
}

void tu_lay_close(tu_lay *t)
{
    free(t->p), free(t->g), free(t->x), free(t->dx), free(t->y), free(t->dy);
    free(t->ctx.work);
    nn_layer_destroy(&t->l);
}

void tu_lay_forward(tu_lay *t)
{
    t->l.ops->forward(&t->l, t->p, t->x, t->y, t->B, &t->ctx);
}

void tu_lay_backward(tu_lay *t)
{
    t->l.ops->backward(&t->l, t->p, t->g, t->x, t->y, t->dy, t->dx, t->B, &t->ctx);
}

void tu_assert_close(const char *what, const float *a, const float *b, size_t n, double tol)
{
    long bad;
    double d = tu_max_diff(a, b, n, tol, &bad);
    if (bad >= 0)
        printf("\n  %s: max diff %.3g, first bad [%ld]: %.7g vs %.7g\n", what, d, bad,
               a[bad], b[bad]);
    CU_ASSERT_EQUAL(bad, -1);
}

void tu_check_chunked(const char *call, nn_shape in, tu_close_fn close)
{
    const int B = 5;
    tu_lay ref, t;
    tu_lay_open(&ref, call, in, B);
    tu_fill_uniform(ref.x, ref.nin, 21, -1, 1);
    tu_fill_uniform(ref.p, ref.np, 22, -0.5f, 0.5f);
    tu_fill_uniform(ref.dy, ref.nout, 23, -1, 1);
    tu_lay_forward(&ref);
    float *dy0 = malloc(ref.nout * sizeof *dy0);
    memcpy(dy0, ref.dy, ref.nout * sizeof *dy0);
    tu_lay_backward(&ref);
    size_t per = ref.work / (size_t)B;   /* one image's columns */
    CU_ASSERT_FATAL(per > 0 && ref.work == per * B);
    for (int imgs = 1; imgs <= 2; imgs++) {
        size_t old = nn_im2col_set_cap(per * (size_t)imgs + per / 2);
        tu_lay_open(&t, call, in, B);
        nn_im2col_set_cap(old);
        CU_ASSERT_EQUAL(t.work, per * (size_t)imgs);
        memcpy(t.x, ref.x, t.nin * sizeof(float));
        memcpy(t.p, ref.p, t.np * sizeof(float));
        memcpy(t.dy, dy0, t.nout * sizeof(float));
        for (size_t i = 0; i < t.nout; i++)
            t.y[i] = 123.0f;   /* must be overwritten */
        tu_lay_forward(&t);
        close("chunked y", t.y, ref.y, t.nout, 1e-5);
        for (size_t i = 0; i < t.nin; i++)
            t.dx[i] = 123.0f;
        tu_lay_backward(&t);
        close("chunked dx", t.dx, ref.dx, t.nin, 1e-5);
        close("chunked dparams", t.g, ref.g, t.np, 1e-5);
        /* no dx: same parameter gradient */
        memset(t.g, 0, t.np * sizeof(float));
        memcpy(t.dy, dy0, t.nout * sizeof(float));
        t.l.ops->backward(&t.l, t.p, t.g, t.x, t.y, t.dy, NULL, B, &t.ctx);
        close("chunked dparams (dx NULL)", t.g, ref.g, t.np, 1e-5);
        tu_lay_close(&t);
    }
    free(dy0);
    tu_lay_close(&ref);
}

void tu_expect_shape(const char *call, nn_shape in, nn_shape out, size_t params)
{
    nn_layer l;
    nn_error e = {0};
    TU_ASSERT_OK(tu_make_layer(call, in, &l, &e), e);
    if (!nn_shape_eq(&l.out, &out) || l.param_len != params) {
        char a[64], b[64];
        printf("\n  %s: out %s params %zu, expected %s params %zu\n", call,
               nn_shape_str(&l.out, a, sizeof a), l.param_len,
               nn_shape_str(&out, b, sizeof b), params);
    }
    CU_ASSERT(nn_shape_eq(&l.out, &out));
    CU_ASSERT_EQUAL(l.param_len, params);
    nn_layer_destroy(&l);
}

void tu_expect_layer_err(const char *call, nn_shape in, int batch_max, int code,
                         const char *sub1, const char *sub2)
{
    nn_layer l;
    nn_error e = {0};
    int rc = batch_max > 0 ? tu_make_planned(call, in, batch_max, &l, NULL, &e)
                           : tu_make_layer(call, in, &l, &e);
    if (rc != code)
        printf("\n  %s: expected code %d, got %d (%s)\n", call, code, rc, e.msg);
    CU_ASSERT_EQUAL(rc, code);
    CU_ASSERT(tu_contains(e.msg, sub1));
    if (sub2)
        CU_ASSERT(tu_contains(e.msg, sub2));
    if (rc == 0)
        nn_layer_destroy(&l);
}
