/* Golden tests for Embedding, SimpleRNN and LSTM: forward, dx and parameter
 * gradients against fixtures that scripts/gen_fixtures_rnn.py computed with
 * PyTorch (torch.nn.RNN / torch.nn.LSTM / F.embedding, float64 rounded to
 * float32), plus one small Embedding -> SimpleRNN -> LSTM -> Dense model.
 * Per tensor we print the max |diff| and, on failure, the first bad index. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nntrain/layer.h"
#include "nntrain/model.h"
#include "nntrain/spec.h"
#include "testutil.h"

#define FIXTURE NN_FIXTURES_DIR "/golden_rnn.h5"
#define TOL 1e-5   /* relative, floor 1 (tu_max_diff) */

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
                        "scripts/gen_fixtures_rnn.py)\n", FIXTURE);
    return f;
}

static void close_obj(hid_t id, herr_t (*fn)(hid_t))
{
    if (id >= 0 && fn(id) < 0)
        CU_FAIL("HDF5 close failed");
}

/* 1 if loc/name exists, 0 if not, -1 on error. */
static int exists(hid_t loc, const char *name)
{
    htri_t r = H5Lexists(loc, name, H5P_DEFAULT);
    if (r < 0)
        fprintf(stderr, "%s: H5Lexists('%s') failed\n", FIXTURE, name);
    return r < 0 ? -1 : r > 0;
}

/* A float dataset of rank 1..4. Caller frees. */
static float *read_f32(hid_t loc, const char *name, int *ndim, hsize_t dims[4], size_t *n)
{
    float *buf = NULL;
    int ok = 0;
    hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
    hid_t sp = d >= 0 ? H5Dget_space(d) : -1;
    int nd = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    if (nd < 1 || nd > 4 || H5Sget_simple_extent_dims(sp, dims, NULL) < 0)
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
        fprintf(stderr, "%s: cannot read float dataset '%s' (rank 1..4)\n", FIXTURE, name);
        free(buf);
        buf = NULL;
    }
    return buf;
}

/* A fixed-length string attribute (what the script writes). Caller frees. */
static char *attr_str(hid_t obj, const char *name)
{
    char *out = NULL;
    int ok = 0;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t t = a >= 0 ? H5Aget_type(a) : -1;
    hid_t mt = t >= 0 ? H5Tcopy(H5T_C_S1) : -1;
    if (mt >= 0 && H5Tget_class(t) == H5T_STRING && H5Tis_variable_str(t) == 0) {
        size_t sz = H5Tget_size(t);
        out = sz ? calloc(sz + 1, 1) : NULL;
        ok = out && H5Tset_size(mt, sz + 1) >= 0 &&
             H5Tset_strpad(mt, H5T_STR_NULLTERM) >= 0 && H5Aread(a, mt, out) >= 0;
    }
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

/* An int attribute of at most max elements; returns the count or -1. */
static int attr_ints(hid_t obj, const char *name, int *buf, int max)
{
    int n = -1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t sp = a >= 0 ? H5Aget_space(a) : -1;
    hssize_t np = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    if (np >= 1 && np <= max && H5Aread(a, H5T_NATIVE_INT, buf) >= 0)
        n = (int)np;
    if (sp >= 0 && H5Sclose(sp) < 0)
        n = -1;
    if (a >= 0 && H5Aclose(a) < 0)
        n = -1;
    if (n < 0)
        fprintf(stderr, "%s: cannot read int attribute '%s' (<= %d values)\n", FIXTURE,
                name, max);
    return n;
}

/* Prints "case what n max|diff|" and asserts every element within tol. */
static int compare(const char *cs, const char *what, const float *got, const float *want,
                   size_t n)
{
    long bad;
    double md = tu_max_diff(got, want, n, TOL, &bad);
    printf("\n    %-22s %-9s n=%-4zu max|diff| %.3g", cs, what, n, md);
    if (bad >= 0)
        fprintf(stderr, "\n%s/%s: first bad index %ld: got %.9g want %.9g (tol %g rel)\n",
                cs, what, bad, got[bad], want[bad], TOL);
    CU_ASSERT(n > 0);
    CU_ASSERT(bad < 0);
    return n > 0 && bad < 0;
}

static void nan_fill(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = NAN;
}

/* ---- one layer ------------------------------------------------------------- */

static void layer_case(const char *cs)
{
    hid_t f = -1, g = -1;
    char *call = NULL;
    nn_spec s;
    int have_spec = 0, have_layer = 0;
    nn_layer l;
    nn_error e = {0};
    float *x = NULL, *y = NULL, *dy = NULL, *dx = NULL, *wy = NULL, *wdy = NULL,
          *wdx = NULL, *wp = NULL, *wg = NULL, *gr = NULL, *work = NULL, *t = NULL;
    int nd;
    hsize_t dims[4];
    size_t n, nx, ny, P = 0;

    REQUIRE((f = open_fixture()) >= 0, "no fixture");
    REQUIRE((g = H5Gopen2(f, cs, H5P_DEFAULT)) >= 0, "%s: no group '%s'", FIXTURE, cs);
    REQUIRE((call = attr_str(g, "call")) != NULL, "%s: attribute 'call'", cs);
    int ish[NN_MAX_DIMS];
    int ind = attr_ints(g, "input_shape", ish, NN_MAX_DIMS);
    REQUIRE(ind >= 1, "%s: attribute 'input_shape'", cs);

    int rc = nn_spec_parse(call, cs, &s, &e);
    REQUIRE(rc == NN_OK, "%s: nn_spec_parse(%s): %s", cs, call, e.msg);
    have_spec = 1;
    REQUIRE(s.ncalls == 1, "%s: expected one call in '%s'", cs, call);
    nn_shape ignored;
    int has_in;
    rc = nn_layer_create(&l, &s.calls[0], &ignored, &has_in, &e);
    REQUIRE(rc == NN_OK, "%s: nn_layer_create(%s): %s", cs, call, e.msg);
    have_layer = 1;
    l.in.n = ind;
    for (int i = 0; i < ind; i++)
        l.in.d[i] = ish[i];
    rc = l.ops->configure(&l, &e);
    REQUIRE(rc == NN_OK, "%s: configure: %s", cs, e.msg);

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
    REQUIRE((wdy = read_f32(g, "dy", &nd, dims, &n)) != NULL && n == ny, "%s/dy", cs);
    REQUIRE((wdx = read_f32(g, "dx", &nd, dims, &n)) != NULL && n == nx, "%s/dx", cs);
    REQUIRE((wp = read_f32(g, "params", &nd, dims, &P)) != NULL, "%s/params", cs);
    REQUIRE(P == l.param_len, "%s: layer has %zu params, fixture %zu", cs, l.param_len, P);
    REQUIRE((wg = read_f32(g, "dparams", &nd, dims, &n)) != NULL && n == P, "%s/dparams", cs);

    /* the param specs tile the block in the fixture's order with its shapes */
    nn_param_spec specs[NN_MAX_PARAM_SPECS];
    int nspec = l.ops->param_specs(&l, specs);
    REQUIRE(nspec >= 1 && nspec <= NN_MAX_PARAM_SPECS, "%s: %d param specs", cs, nspec);
    size_t off = 0;
    for (int k = 0; k < nspec; k++) {
        char name[16];
        snprintf(name, sizeof name, "param%d", k);
        REQUIRE((t = read_f32(g, name, &nd, dims, &n)) != NULL, "%s: no fixture tensor %s "
                "for spec '%s'", cs, name, specs[k].name);
        REQUIRE(nd == specs[k].ndim, "%s/%s (%s): rank %d in fixture, %d in spec", cs, name,
                specs[k].name, nd, specs[k].ndim);
        for (int i = 0; i < nd; i++)
            REQUIRE((int)dims[i] == specs[k].dims[i], "%s/%s (%s): dim %d is %d in fixture, "
                    "%d in spec", cs, name, specs[k].name, i, (int)dims[i], specs[k].dims[i]);
        REQUIRE(specs[k].off == off, "%s: spec '%s' at %zu, expected %zu", cs, specs[k].name,
                specs[k].off, off);
        REQUIRE(off + n <= P && !memcmp(t, wp + off, n * sizeof *t),
                "%s/%s: not the flat params at %zu", cs, name, off);
        off += n;
        free(t);
        t = NULL;
    }
    char extra[16];
    snprintf(extra, sizeof extra, "param%d", nspec);
    REQUIRE(exists(g, extra) == 0, "%s: fixture has more tensors than the %d specs", cs,
            nspec);
    REQUIRE(off == P, "%s: specs cover %zu of %zu params", cs, off, P);

    size_t wb = 0;
    if (l.ops->plan) {
        rc = l.ops->plan(&l, B, &wb, &e);
        REQUIRE(rc == NN_OK, "%s: plan(%d): %s", cs, B, e.msg);
    }
    work = malloc(wb + sizeof(float));
    gr = calloc(P + 1, sizeof *gr);
    y = malloc(ny * sizeof *y);
    dy = malloc(ny * sizeof *dy);
    dx = malloc(nx * sizeof *dx);
    REQUIRE(work && gr && y && dy && dx, "out of memory");
    nn_ctx ctx = {.training = 1, .seed = 1, .work = work, .work_bytes = wb};

    nan_fill(y, ny);
    l.ops->forward(&l, wp, x, y, B, &ctx);
    compare(cs, "y", y, wy, ny);
    memcpy(dy, wdy, ny * sizeof *dy);   /* dy is scratch for the layer */
    nan_fill(dx, nx);                   /* backward must overwrite dx */
    l.ops->backward(&l, wp, gr, x, y, dy, dx, B, &ctx);
    compare(cs, "dx", dx, wdx, nx);
    compare(cs, "dparams", gr, wg, P);
    /* a second backward accumulates: twice the gradient */
    memcpy(dy, wdy, ny * sizeof *dy);
    l.ops->backward(&l, wp, gr, x, y, dy, dx, B, &ctx);
    for (size_t i = 0; i < P; i++)
        gr[i] *= 0.5f;
    compare(cs, "2x dparams", gr, wg, P);
done:
    printf("\n  -> ");
    free(t);
    free(x), free(y), free(dy), free(dx), free(wy), free(wdy), free(wdx);
    free(wp), free(wg), free(gr), free(work);
    if (have_layer)
        nn_layer_destroy(&l);
    if (have_spec)
        nn_spec_free(&s);
    free(call);
    close_obj(g, H5Gclose);
    close_obj(f, H5Fclose);
}

/* ---- a small model ------------------------------------------------------ */

static void model_case(const char *cs)
{
    hid_t f = -1, g = -1;
    char *text = NULL;
    nn_spec s;
    nn_model m;
    int have_spec = 0, have_model = 0;
    nn_error e = {0};
    float *x = NULL, *wp = NULL, *wy = NULL, *wdy = NULL, *wg = NULL, *dout = NULL;
    int nd;
    hsize_t dims[4];
    size_t nx, ny, n, P;

    REQUIRE((f = open_fixture()) >= 0, "no fixture");
    REQUIRE((g = H5Gopen2(f, cs, H5P_DEFAULT)) >= 0, "%s: no group '%s'", FIXTURE, cs);
    REQUIRE((text = attr_str(g, "spec")) != NULL, "%s: attribute 'spec'", cs);
    int rc = nn_spec_parse(text, cs, &s, &e);
    REQUIRE(rc == NN_OK, "%s: nn_spec_parse: %s", cs, e.msg);
    have_spec = 1;
    rc = nn_model_build(&m, &s, &e);
    REQUIRE(rc == NN_OK, "%s: nn_model_build: %s", cs, e.msg);
    have_model = 1;
    REQUIRE((x = read_f32(g, "x", &nd, dims, &nx)) != NULL, "%s/x", cs);
    int B = (int)dims[0];
    REQUIRE(nx == (size_t)B * nn_model_in_size(&m), "%s: x size", cs);
    REQUIRE((wp = read_f32(g, "params", &nd, dims, &P)) != NULL && P == m.nparams,
            "%s/params: %zu in fixture, model has %zu", cs, P, m.nparams);
    REQUIRE((wy = read_f32(g, "y", &nd, dims, &ny)) != NULL &&
            ny == (size_t)B * nn_model_out_size(&m), "%s/y", cs);
    REQUIRE((wdy = read_f32(g, "dy", &nd, dims, &n)) != NULL && n == ny, "%s/dy", cs);
    REQUIRE((wg = read_f32(g, "dparams", &nd, dims, &n)) != NULL && n == P, "%s/dparams", cs);
    REQUIRE(!m.fused, "%s: the spec has no compile(): nothing may be fused", cs);
    memcpy(m.params, wp, P * sizeof *wp);
    rc = nn_model_plan(&m, B, &e);
    REQUIRE(rc == NN_OK, "%s: nn_model_plan: %s", cs, e.msg);
    REQUIRE((dout = malloc(ny * sizeof *dout)) != NULL, "out of memory");
    nn_ctx ctx = {.training = 1, .seed = 1};
    const float *y = nn_model_forward(&m, x, B, &ctx);
    compare(cs, "y", y, wy, ny);
    memcpy(dout, wdy, ny * sizeof *dout);
    memset(m.grads, 0, P * sizeof *m.grads);
    nn_model_backward(&m, x, dout, B, &ctx);
    compare(cs, "dparams", m.grads, wg, P);
done:
    printf("\n  -> ");
    free(x), free(wp), free(wy), free(wdy), free(wg), free(dout), free(text);
    if (have_model)
        nn_model_free(&m);
    if (have_spec)
        nn_spec_free(&s);
    close_obj(g, H5Gclose);
    close_obj(f, H5Fclose);
}

#define LAYER_TEST(cs) static void t_##cs(void) { layer_case(#cs); }
LAYER_TEST(emb)
LAYER_TEST(emb_len)
LAYER_TEST(rnn_last)
LAYER_TEST(rnn_seq)
LAYER_TEST(rnn_relu_nobias_seq)
LAYER_TEST(rnn_backwards_seq)
LAYER_TEST(rnn_t1)
LAYER_TEST(lstm_last)
LAYER_TEST(lstm_seq)
LAYER_TEST(lstm_nobias_backwards)
LAYER_TEST(lstm_backwards_seq)
static void t_model_imdb_tiny(void) { model_case("model_imdb_tiny"); }
#define N_CASES 12

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
        if (info.nlinks != N_CASES)
            fprintf(stderr, "%s: %llu top-level groups, test_golden_rnn.c covers %d\n",
                    FIXTURE, (unsigned long long)info.nlinks, N_CASES);
        CU_ASSERT_EQUAL(info.nlinks, N_CASES);
    }
    close_obj(f, H5Fclose);
}

int main(void)
{
    static const tu_test tests[] = {
        {"fixture_complete", t_fixture_complete},
        {"emb", t_emb},
        {"emb_len", t_emb_len},
        {"rnn_last", t_rnn_last},
        {"rnn_seq", t_rnn_seq},
        {"rnn_relu_nobias_seq", t_rnn_relu_nobias_seq},
        {"rnn_backwards_seq", t_rnn_backwards_seq},
        {"rnn_t1", t_rnn_t1},
        {"lstm_last", t_lstm_last},
        {"lstm_seq", t_lstm_seq},
        {"lstm_nobias_backwards", t_lstm_nobias_backwards},
        {"lstm_backwards_seq", t_lstm_backwards_seq},
        {"model_imdb_tiny", t_model_imdb_tiny},
        {NULL, NULL},
    };
    return tu_main("golden_rnn", tests);
}
