/* Golden tests for Conv2DTranspose and UpSampling2D against fixtures that
 * scripts/gen_fixtures_deconv.py computed with PyTorch (conv_transpose2d
 * cropped to TensorFlow's output, the crop verified there as the exact
 * adjoint of TF's Conv2D; float64 reference rounded to float32). Same case
 * layout and checks as test_golden.c: forward y, dx and every parameter
 * gradient, with the max |diff| per tensor and the first bad index on failure. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nntrain/layer.h"
#include "nntrain/spec.h"
#include "testutil.h"

#define FIXTURE NN_FIXTURES_DIR "/golden_deconv.h5"
#define LAYER_TOL 1e-5   /* relative, floor 1 (tu_max_diff) */

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

/* ---- HDF5 helpers: NULL/-1 with a message on any failed call ------------- */

static hid_t open_fixture(void)
{
    hid_t f = H5Fopen(FIXTURE, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        fprintf(stderr, "%s: cannot open (regenerate with /usr/bin/python3 "
                        "scripts/gen_fixtures_deconv.py)\n", FIXTURE);
    return f;
}

static void close_file(hid_t f)
{
    if (f >= 0 && H5Fclose(f) < 0)
        CU_FAIL("H5Fclose failed");
}

static void close_group(hid_t g)
{
    if (g >= 0 && H5Gclose(g) < 0)
        CU_FAIL("H5Gclose failed");
}

/* 1 if loc/name exists, 0 if not, -1 on error. */
static int exists(hid_t loc, const char *name)
{
    htri_t r = H5Lexists(loc, name, H5P_DEFAULT);
    if (r < 0)
        fprintf(stderr, "%s: H5Lexists('%s') failed\n", FIXTURE, name);
    return r < 0 ? -1 : r > 0;
}

/* Reads a float dataset of rank <= 4 (rank 0 = scalar). Caller frees. */
static float *read_f32(hid_t loc, const char *name, int *ndim, hsize_t dims[4],
                       size_t *n)
{
    float *buf = NULL;
    int ok = 0;
    hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
    hid_t sp = d >= 0 ? H5Dget_space(d) : -1;
    int nd = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    if (nd < 0 || nd > 4)
        goto out;
    if (nd > 0 && H5Sget_simple_extent_dims(sp, dims, NULL) < 0)
        goto out;
    *ndim = nd;
    *n = 1;
    for (int i = 0; i < nd; i++)
        *n *= (size_t)dims[i];
    buf = malloc((*n ? *n : 1) * sizeof *buf);
    if (buf && H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0)
        ok = 1;
out:
    if (sp >= 0 && H5Sclose(sp) < 0)
        ok = 0;
    if (d >= 0 && H5Dclose(d) < 0)
        ok = 0;
    if (!ok) {
        fprintf(stderr, "%s: cannot read float dataset '%s' (rank <= 4)\n", FIXTURE, name);
        free(buf);
        buf = NULL;
    }
    return buf;
}

/* A string attribute (fixed-length or variable-length). Caller frees. */
static char *attr_str(hid_t obj, const char *name)
{
    char *out = NULL;
    int ok = 0;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t t = a >= 0 ? H5Aget_type(a) : -1;
    hid_t mt = t >= 0 ? H5Tcopy(H5T_C_S1) : -1;
    if (mt < 0 || H5Tget_class(t) != H5T_STRING)
        goto out;
    htri_t vl = H5Tis_variable_str(t);
    if (vl > 0) {
        char *p = NULL;
        if (H5Tset_size(mt, H5T_VARIABLE) < 0 || H5Aread(a, mt, &p) < 0 || !p)
            goto out;
        size_t len = strlen(p);
        out = malloc(len + 1);
        if (out)
            memcpy(out, p, len + 1);
        ok = out != NULL;
        if (H5free_memory(p) < 0)
            ok = 0;
    } else if (vl == 0) {
        size_t sz = H5Tget_size(t);
        out = sz ? calloc(sz + 1, 1) : NULL;
        ok = out && H5Tset_size(mt, sz + 1) >= 0 &&
             H5Tset_strpad(mt, H5T_STR_NULLTERM) >= 0 && H5Aread(a, mt, out) >= 0;
    }
out:
    if (mt >= 0 && H5Tclose(mt) < 0)
        ok = 0;
    if (t >= 0 && H5Tclose(t) < 0)
        ok = 0;
    if (a >= 0 && H5Aclose(a) < 0)
        ok = 0;
    if (!ok) {
        fprintf(stderr, "%s: cannot read string attribute '%s'\n", FIXTURE, name);
        free(out);
        out = NULL;
    }
    return out;
}

/* A numeric attribute read as mem_type into buf (at most max elements).
 * Returns the element count or -1. */
static int attr_num(hid_t obj, const char *name, hid_t mem_type, void *buf, int max)
{
    int n = -1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t sp = a >= 0 ? H5Aget_space(a) : -1;
    hssize_t np = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    if (np >= 1 && np <= max && H5Aread(a, mem_type, buf) >= 0)
        n = (int)np;
    if (sp >= 0 && H5Sclose(sp) < 0)
        n = -1;
    if (a >= 0 && H5Aclose(a) < 0)
        n = -1;
    if (n < 0)
        fprintf(stderr, "%s: cannot read numeric attribute '%s' (<= %d values)\n",
                FIXTURE, name, max);
    return n;
}

/* ---- comparison ------------------------------------------------------------ */

/* Prints "case what n max|diff|" and asserts every element within tol. */
static int compare(const char *cs, const char *what, const float *got, const float *want,
                   size_t n, double tol)
{
    long bad;
    double md = tu_max_diff(got, want, n, tol, &bad);
    printf("\n    %-22s %-8s n=%-4zu max|diff| %.3g", cs, what, n, md);
    if (bad >= 0)
        fprintf(stderr, "\n%s/%s: first bad index %ld: got %.9g want %.9g (tol %g rel)\n",
                cs, what, bad, got[bad], want[bad], tol);
    CU_ASSERT(n > 0);
    CU_ASSERT(bad < 0);
    return n > 0 && bad < 0;
}

static void nan_fill(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = NAN;
}

/* ---- layers ---------------------------------------------------------------- */

/* "kernel:0" -> prefix + "kernel" (the fixture's dataset name); out holds at
 * least strlen(prefix) + sizeof spec name bytes, prefix is "" or "d". */
static void fixture_name(char *out, const char *prefix, const char *spec_name)
{
    size_t k = 0;
    for (; prefix[k]; k++)
        out[k] = prefix[k];
    for (size_t i = 0; i < sizeof ((nn_param_spec *)0)->name && spec_name[i] &&
                       spec_name[i] != ':'; i++)
        out[k++] = spec_name[i];
    out[k] = '\0';
}

/* One layer case: spec line -> layer -> forward/backward vs the fixture. */
static void layer_case(const char *cs)
{
    hid_t f = -1, g = -1;
    char *call = NULL;
    nn_spec s;
    int have_spec = 0, have_layer = 0;
    nn_layer l;
    nn_error e = {0};
    float *x = NULL, *y = NULL, *dy = NULL, *dx = NULL, *wy = NULL, *wdy = NULL,
          *wdx = NULL, *p = NULL, *gr = NULL, *work = NULL, *fp = NULL;
    uint64_t *ids = NULL;
    int nd;
    hsize_t dims[4];
    size_t n, nx, ny;

    REQUIRE((f = open_fixture()) >= 0, "no fixture");
    REQUIRE((g = H5Gopen2(f, cs, H5P_DEFAULT)) >= 0, "%s: no group '%s'", FIXTURE, cs);
    REQUIRE((call = attr_str(g, "call")) != NULL, "%s: attribute 'call'", cs);
    int ish[NN_MAX_DIMS];
    int ind = attr_num(g, "input_shape", H5T_NATIVE_INT, ish, NN_MAX_DIMS);
    REQUIRE(ind >= 1, "%s: attribute 'input_shape'", cs);

    int rc = nn_spec_parse(call, cs, &s, &e);
    REQUIRE(rc == NN_OK, "%s: nn_spec_parse(%s): %s", cs, call, e.msg);
    have_spec = 1;
    REQUIRE(s.ncalls == 1, "%s: expected one call in '%s', got %d", cs, call, s.ncalls);
    nn_shape ignored;
    int has_in;
    rc = nn_layer_create(&l, &s.calls[0], &ignored, &has_in, &e);
    REQUIRE(rc == NN_OK, "%s: nn_layer_create(%s): %s", cs, call, e.msg);
    have_layer = 1;
    l.in.n = ind;
    for (int i = 0; i < ind; i++)
        l.in.d[i] = ish[i];
    l.index = 0;
    rc = l.ops->configure(&l, &e);
    REQUIRE(rc == NN_OK, "%s: configure: %s", cs, e.msg);

    /* x (B, in...) and y (B, out...) must agree with the layer's shapes */
    REQUIRE((x = read_f32(g, "x", &nd, dims, &nx)) != NULL, "%s/x", cs);
    REQUIRE(nd == ind + 1, "%s: x rank %d, input_shape rank %d", cs, nd, ind);
    int B = (int)dims[0];
    REQUIRE(B > 0 && nx == (size_t)B * nn_shape_size(&l.in), "%s: x size", cs);
    REQUIRE((wy = read_f32(g, "y", &nd, dims, &ny)) != NULL, "%s/y", cs);
    REQUIRE(nd == l.out.n + 1 && (int)dims[0] == B, "%s: y rank %d vs layer out rank %d",
            cs, nd, l.out.n);
    for (int i = 0; i < l.out.n; i++)
        REQUIRE((int)dims[i + 1] == l.out.d[i], "%s: y dim %d is %d, layer says %d", cs,
                i + 1, (int)dims[i + 1], l.out.d[i]);
    REQUIRE(ny == (size_t)B * nn_shape_size(&l.out), "%s: y size", cs);
    REQUIRE((wdy = read_f32(g, "dy", &nd, dims, &n)) != NULL && n == ny, "%s/dy", cs);
    REQUIRE((wdx = read_f32(g, "dx", &nd, dims, &n)) != NULL && n == nx, "%s/dx", cs);

    size_t wb = 0;
    if (l.ops->plan) {
        rc = l.ops->plan(&l, B, &wb, &e);
        REQUIRE(rc == NN_OK, "%s: plan(%d): %s", cs, B, e.msg);
    }
    work = malloc(wb + sizeof(float));
    ids = calloc((size_t)B, sizeof *ids);
    size_t P = l.param_len;
    p = calloc(P + 1, sizeof *p);
    gr = calloc(P + 1, sizeof *gr);
    y = malloc(ny * sizeof *y);
    dy = malloc(ny * sizeof *dy);
    dx = malloc(nx * sizeof *dx);
    REQUIRE(work && ids && p && gr && y && dy && dx, "out of memory");
    for (int i = 0; i < B; i++)
        ids[i] = (uint64_t)i;

    /* parameters: every spec must match a fixture tensor by name and shape,
     * and the specs must tile the block and cover every fixture tensor */
    nn_param_spec specs[NN_MAX_PARAM_SPECS];
    int nspec = l.ops->param_specs ? l.ops->param_specs(&l, specs) : 0;
    REQUIRE(nspec >= 0 && nspec <= NN_MAX_PARAM_SPECS, "%s: %d param specs", cs, nspec);
    int nfix = 0;
    REQUIRE((rc = exists(g, "kernel")) >= 0, "%s/kernel", cs);
    nfix += rc;
    REQUIRE((rc = exists(g, "bias")) >= 0, "%s/bias", cs);
    nfix += rc;
    REQUIRE(nspec == nfix, "%s: layer declares %d param tensors, fixture has %d", cs, nspec,
            nfix);
    size_t covered = 0;
    for (int k = 0; k < nspec; k++) {
        char fname[sizeof specs[0].name + 2];
        fixture_name(fname, "", specs[k].name);
        REQUIRE((fp = read_f32(g, fname, &nd, dims, &n)) != NULL, "%s: no fixture tensor "
                "for param spec '%s'", cs, specs[k].name);
        REQUIRE(nd == specs[k].ndim, "%s/%s: rank %d in fixture, %d in spec", cs, fname,
                nd, specs[k].ndim);
        for (int i = 0; i < nd; i++)
            REQUIRE((int)dims[i] == specs[k].dims[i], "%s/%s: dim %d is %d in fixture, %d "
                    "in spec", cs, fname, i, (int)dims[i], specs[k].dims[i]);
        REQUIRE(specs[k].off + n <= P, "%s/%s: spec off %zu + %zu > param_len %zu", cs,
                fname, specs[k].off, n, P);
        memcpy(p + specs[k].off, fp, n * sizeof *p);
        covered += n;
        free(fp);
        fp = NULL;
    }
    REQUIRE(covered == P, "%s: specs cover %zu of %zu params", cs, covered, P);

    nn_ctx ctx = {.training = 1, .seed = 1, .epoch = 0, .sample_ids = ids,
                  .work = work, .work_bytes = wb};
    nan_fill(y, ny);
    l.ops->forward(&l, p, x, y, B, &ctx);
    compare(cs, "y", y, wy, ny, LAYER_TOL);

    memcpy(dy, wdy, ny * sizeof *dy);  /* dy is scratch for the layer */
    nan_fill(dx, nx);                  /* backward must overwrite dx */
    l.ops->backward(&l, p, gr, x, y, dy, dx, B, &ctx);
    compare(cs, "dx", dx, wdx, nx, LAYER_TOL);
    for (int k = 0; k < nspec; k++) {
        char fname[sizeof specs[0].name + 2];
        fixture_name(fname, "d", specs[k].name);
        REQUIRE((fp = read_f32(g, fname, &nd, dims, &n)) != NULL, "%s/%s", cs, fname);
        compare(cs, fname, gr + specs[k].off, fp, n, LAYER_TOL);
        free(fp);
        fp = NULL;
    }
done:
    printf("\n  -> ");  /* CUnit's verdict goes on its own line */
    free(fp);
    free(x), free(y), free(dy), free(dx), free(wy), free(wdy), free(wdx);
    free(p), free(gr), free(work), free(ids);
    if (have_layer)
        nn_layer_destroy(&l);
    if (have_spec)
        nn_spec_free(&s);
    free(call);
    close_group(g);
    close_file(f);
}

#define LAYER_TEST(cs) static void t_##cs(void) { layer_case(#cs); }
LAYER_TEST(ct_valid_s1)
LAYER_TEST(ct_valid_s2)
LAYER_TEST(ct_same_s2_even)
LAYER_TEST(ct_same_s2_odd)
LAYER_TEST(ct_same_asym)
LAYER_TEST(ct_nonsquare)
LAYER_TEST(ct_valid_k1_s2)
LAYER_TEST(ct_1x1_nobias)
LAYER_TEST(ct_outpad_valid)
LAYER_TEST(ct_outpad_same)
LAYER_TEST(up_2x2)
LAYER_TEST(up_2x3)
LAYER_TEST(up_3)
#define N_LAYER_CASES 13

/* Every top-level group of the fixture is exercised (a case added to the
 * script must be added here). */
static void t_fixture_complete(void)
{
    hid_t f = open_fixture();
    CU_ASSERT_FATAL(f >= 0);
    H5G_info_t info;
    herr_t rc = H5Gget_info(f, &info);
    CU_ASSERT(rc >= 0);
    if (rc >= 0) {
        if (info.nlinks != N_LAYER_CASES)
            fprintf(stderr, "%s: %llu top-level groups, test_golden_deconv.c covers %d\n",
                    FIXTURE, (unsigned long long)info.nlinks, N_LAYER_CASES);
        CU_ASSERT_EQUAL(info.nlinks, N_LAYER_CASES);
    }
    close_file(f);
}

int main(void)
{
    static const tu_test tests[] = {
        {"fixture_complete", t_fixture_complete},
        {"ct_valid_s1", t_ct_valid_s1},
        {"ct_valid_s2", t_ct_valid_s2},
        {"ct_same_s2_even", t_ct_same_s2_even},
        {"ct_same_s2_odd", t_ct_same_s2_odd},
        {"ct_same_asym", t_ct_same_asym},
        {"ct_nonsquare", t_ct_nonsquare},
        {"ct_valid_k1_s2", t_ct_valid_k1_s2},
        {"ct_1x1_nobias", t_ct_1x1_nobias},
        {"ct_outpad_valid", t_ct_outpad_valid},
        {"ct_outpad_same", t_ct_outpad_same},
        {"up_2x2", t_up_2x2},
        {"up_2x3", t_up_2x3},
        {"up_3", t_up_3},
        {NULL, NULL},
    };
    return tu_main("golden_deconv", tests);
}
