/* Golden-suite helpers: see golden_util.h. */
#include "golden_util.h"
#include "nntrain/data.h"
#include "nntrain/evaluate.h"
#include "nntrain/fit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The file name of an open HDF5 object, for messages. */
static const char *fname_of(hid_t loc, char *buf, size_t len)
{
    if (H5Fget_name(loc, buf, len) < 0)
        snprintf(buf, len, "?");
    return buf;
}

hid_t gu_open(const gu_fixture *fx)
{
    hid_t f = H5Fopen(fx->path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        fprintf(stderr, "%s: cannot open (regenerate with /usr/bin/python3 scripts/%s)\n",
                fx->path, fx->script);
    return f;
}

void gu_close_file(hid_t f)
{
    if (f >= 0 && H5Fclose(f) < 0)
        CU_FAIL("H5Fclose failed");
}

void gu_close_group(hid_t g)
{
    if (g >= 0 && H5Gclose(g) < 0)
        CU_FAIL("H5Gclose failed");
}

int gu_exists(hid_t loc, const char *name)
{
    char fn[512];
    htri_t r = H5Lexists(loc, name, H5P_DEFAULT);
    if (r < 0)
        fprintf(stderr, "%s: H5Lexists('%s') failed\n", fname_of(loc, fn, sizeof fn), name);
    return r < 0 ? -1 : r > 0;
}

float *gu_read_f32(hid_t loc, const char *name, int *ndim, hsize_t dims[4], size_t *n)
{
    char fn[512];
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
        fprintf(stderr, "%s: cannot read float dataset '%s' (rank <= 4)\n",
                fname_of(loc, fn, sizeof fn), name);
        free(buf);
        buf = NULL;
    }
    return buf;
}

char *gu_attr_str(hid_t obj, const char *name)
{
    char fn[512];
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
        fprintf(stderr, "%s: cannot read string attribute '%s'\n",
                fname_of(obj, fn, sizeof fn), name);
        free(out);
        out = NULL;
    }
    return out;
}

int gu_attr_num(hid_t obj, const char *name, hid_t mem_type, void *buf, int max)
{
    char fn[512];
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
                fname_of(obj, fn, sizeof fn), name, max);
    return n;
}

int gu_compare(const char *cs, const char *what, const float *got, const float *want,
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

void gu_nan_fill(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = NAN;
}

void gu_fixture_complete(const gu_fixture *fx, const char *suite, int ncases)
{
    hid_t f = gu_open(fx);
    CU_ASSERT_FATAL(f >= 0);
    H5G_info_t info;
    herr_t rc = H5Gget_info(f, &info);
    CU_ASSERT(rc >= 0);
    if (rc >= 0) {
        if (info.nlinks != (hsize_t)ncases)
            fprintf(stderr, "%s: %llu top-level groups, %s covers %d\n", fx->path,
                    (unsigned long long)info.nlinks, suite, ncases);
        CU_ASSERT_EQUAL(info.nlinks, (hsize_t)ncases);
    }
    gu_close_file(f);
}

/* ---- one layer case ------------------------------------------------------ */

int gu_layer_open(gu_layer *c, const gu_fixture *fx, const char *cs)
{
    int nd;
    hsize_t dims[4];
    size_t n;
    nn_layer *l = &c->l;

    memset(c, 0, sizeof *c);
    c->cs = cs;
    c->f = c->g = -1;
    REQUIRE((c->f = gu_open(fx)) >= 0, "no fixture");
    REQUIRE((c->g = H5Gopen2(c->f, cs, H5P_DEFAULT)) >= 0, "%s: no group '%s'", fx->path,
            cs);
    REQUIRE((c->call = gu_attr_str(c->g, "call")) != NULL, "%s: attribute 'call'", cs);
    int ish[NN_MAX_DIMS];
    int ind = gu_attr_num(c->g, "input_shape", H5T_NATIVE_INT, ish, NN_MAX_DIMS);
    REQUIRE(ind >= 1, "%s: attribute 'input_shape'", cs);

    int rc = nn_spec_parse(c->call, cs, &c->s, &c->e);
    REQUIRE(rc == NN_OK, "%s: nn_spec_parse(%s): %s", cs, c->call, c->e.msg);
    c->have_spec = 1;
    REQUIRE(c->s.ncalls == 1, "%s: expected one call in '%s', got %d", cs, c->call,
            c->s.ncalls);
    nn_shape ignored;
    int has_in;
    rc = nn_layer_create(l, &c->s.calls[0], &ignored, &has_in, &c->e);
    REQUIRE(rc == NN_OK, "%s: nn_layer_create(%s): %s", cs, c->call, c->e.msg);
    c->have_layer = 1;
    l->in.n = ind;
    for (int i = 0; i < ind; i++)
        l->in.d[i] = ish[i];
    l->index = 0;
    rc = l->ops->configure(l, &c->e);
    REQUIRE(rc == NN_OK, "%s: configure: %s", cs, c->e.msg);

    /* x (B, in...) and y (B, out...) must agree with the layer's shapes */
    REQUIRE((c->x = gu_read_f32(c->g, "x", &nd, dims, &c->nx)) != NULL, "%s/x", cs);
    REQUIRE(nd == ind + 1, "%s: x rank %d, input_shape rank %d", cs, nd, ind);
    int B = c->B = (int)dims[0];
    REQUIRE(B > 0 && c->nx == (size_t)B * nn_shape_size(&l->in), "%s: x size", cs);
    REQUIRE((c->wy = gu_read_f32(c->g, "y", &nd, dims, &c->ny)) != NULL, "%s/y", cs);
    REQUIRE(nd == l->out.n + 1 && (int)dims[0] == B, "%s: y rank %d vs layer out rank %d",
            cs, nd, l->out.n);
    for (int i = 0; i < l->out.n; i++)
        REQUIRE((int)dims[i + 1] == l->out.d[i], "%s: y dim %d is %d, layer says %d", cs,
                i + 1, (int)dims[i + 1], l->out.d[i]);
    REQUIRE(c->ny == (size_t)B * nn_shape_size(&l->out), "%s: y size", cs);
    REQUIRE((c->wdy = gu_read_f32(c->g, "dy", &nd, dims, &n)) != NULL && n == c->ny,
            "%s/dy", cs);
    REQUIRE((c->wdx = gu_read_f32(c->g, "dx", &nd, dims, &n)) != NULL && n == c->nx,
            "%s/dx", cs);

    size_t wb = 0;
    if (l->ops->plan) {
        rc = l->ops->plan(l, B, &wb, &c->e);
        REQUIRE(rc == NN_OK, "%s: plan(%d): %s", cs, B, c->e.msg);
    }
    c->P = l->param_len;
    c->work = malloc(wb + sizeof(float));
    c->ids = calloc((size_t)B, sizeof *c->ids);
    c->gr = calloc(c->P + 1, sizeof *c->gr);
    c->y = malloc(c->ny * sizeof *c->y);
    c->dy = malloc(c->ny * sizeof *c->dy);
    c->dx = malloc(c->nx * sizeof *c->dx);
    REQUIRE(c->work && c->ids && c->gr && c->y && c->dy && c->dx, "out of memory");
    for (int i = 0; i < B; i++)
        c->ids[i] = (uint64_t)i;
    c->ctx = (nn_ctx){.training = 1, .seed = 1, .epoch = 0, .sample_ids = c->ids,
                      .work = c->work, .work_bytes = wb};
    return 0;
done:
    return -1;
}

/* The layer tolerance of this run: F(4x4, 3x3) Winograd convolutions round
 * more (their transforms scale by up to 8 and 1/24: errors of 1e-5 relative
 * to the largest output, test_conv_winograd), so the golden suite run with
 * NNTRAIN_CONV_ALGO=winograd4 compares layers within 1e-4. */
static double layer_tol(void)
{
    const char *a = getenv("NNTRAIN_CONV_ALGO");
    return a && !strcmp(a, "winograd4") ? 1e-4 : GU_TOL;
}

void gu_layer_run(gu_layer *c)
{
    nn_layer *l = &c->l;
    gu_nan_fill(c->y, c->ny);
    l->ops->forward(l, c->p, c->x, c->y, c->B, &c->ctx);
    gu_compare(c->cs, "y", c->y, c->wy, c->ny, layer_tol());

    memcpy(c->dy, c->wdy, c->ny * sizeof *c->dy);  /* dy is scratch for the layer */
    gu_nan_fill(c->dx, c->nx);                     /* backward must overwrite dx */
    l->ops->backward(l, c->p, c->gr, c->x, c->y, c->dy, c->dx, c->B, &c->ctx);
    gu_compare(c->cs, "dx", c->dx, c->wdx, c->nx, layer_tol());
}

void gu_layer_close(gu_layer *c)
{
    printf("\n  -> ");  /* CUnit's verdict goes on its own line */
    free(c->x), free(c->wy), free(c->wdy), free(c->wdx);
    free(c->y), free(c->dy), free(c->dx), free(c->gr), free(c->work), free(c->p);
    free(c->ids);
    if (c->have_layer)
        nn_layer_destroy(&c->l);
    if (c->have_spec)
        nn_spec_free(&c->s);
    free(c->call);
    gu_close_group(c->g);
    gu_close_file(c->f);
    memset(c, 0, sizeof *c);
    c->f = c->g = -1;
}

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

void gu_layer_case(const gu_fixture *fx, const char *cs)
{
    gu_layer c;
    float *fp = NULL;
    int nd, rc;
    hsize_t dims[4];
    size_t n;

    if (gu_layer_open(&c, fx, cs) != 0)
        goto done;
    size_t P = c.P;
    REQUIRE((c.p = calloc(P + 1, sizeof *c.p)) != NULL, "out of memory");

    /* parameters: every spec must match a fixture tensor by name and shape,
     * and the specs must tile the block and cover every fixture tensor */
    nn_param_spec specs[NN_MAX_PARAM_SPECS];
    int nspec = c.l.ops->param_specs ? c.l.ops->param_specs(&c.l, specs) : 0;
    REQUIRE(nspec >= 0 && nspec <= NN_MAX_PARAM_SPECS, "%s: %d param specs", cs, nspec);
    int nfix = 0;
    REQUIRE((rc = gu_exists(c.g, "kernel")) >= 0, "%s/kernel", cs);
    nfix += rc;
    REQUIRE((rc = gu_exists(c.g, "bias")) >= 0, "%s/bias", cs);
    nfix += rc;
    REQUIRE(nspec == nfix, "%s: layer declares %d param tensors, fixture has %d", cs, nspec,
            nfix);
    size_t covered = 0;
    for (int k = 0; k < nspec; k++) {
        char fname[sizeof specs[0].name + 2];
        fixture_name(fname, "", specs[k].name);
        REQUIRE((fp = gu_read_f32(c.g, fname, &nd, dims, &n)) != NULL, "%s: no fixture "
                "tensor for param spec '%s'", cs, specs[k].name);
        REQUIRE(nd == specs[k].ndim, "%s/%s: rank %d in fixture, %d in spec", cs, fname,
                nd, specs[k].ndim);
        for (int i = 0; i < nd; i++)
            REQUIRE((int)dims[i] == specs[k].dims[i], "%s/%s: dim %d is %d in fixture, %d "
                    "in spec", cs, fname, i, (int)dims[i], specs[k].dims[i]);
        REQUIRE(specs[k].off + n <= P, "%s/%s: spec off %zu + %zu > param_len %zu", cs,
                fname, specs[k].off, n, P);
        memcpy(c.p + specs[k].off, fp, n * sizeof *c.p);
        covered += n;
        free(fp);
        fp = NULL;
    }
    REQUIRE(covered == P, "%s: specs cover %zu of %zu params", cs, covered, P);

    gu_layer_run(&c);
    for (int k = 0; k < nspec; k++) {
        char fname[sizeof specs[0].name + 2];
        fixture_name(fname, "d", specs[k].name);
        REQUIRE((fp = gu_read_f32(c.g, fname, &nd, dims, &n)) != NULL, "%s/%s", cs, fname);
        gu_compare(cs, fname, c.gr + specs[k].off, fp, n, layer_tol());
        free(fp);
        fp = NULL;
    }
done:
    free(fp);
    gu_layer_close(&c);
}

/* One full batch per epoch through nn_fit for steps epochs from the
 * fixture's params0, then evaluate: the epoch losses, the parameters and
 * evaluate's loss against the fixture (x, y, spec, losses, params,
 * eval_loss), within tol. */
void gu_fit_steps(const gu_fixture *fx, const char *name, int steps, double tol)
{
    hid_t f = -1;
    char *spec = NULL;
    float *x = NULL, *y = NULL, *p0 = NULL, *wl = NULL, *wp = NULL, *we = NULL;
    nn_spec s;
    nn_model m;
    nn_dataset ds;
    nn_history h = {0};
    int have_spec = 0, have_model = 0, have_ds = 0, nd;
    hsize_t dims[4];
    size_t nx, n, P;
    nn_error e = {0};

    REQUIRE((f = gu_open(fx)) >= 0, "no fixture");
    REQUIRE((spec = gu_attr_str(f, "spec")) != NULL, "attribute 'spec'");
    REQUIRE((x = gu_read_f32(f, "x", &nd, dims, &nx)) != NULL && nd == 4, "x");
    int B = (int)dims[0];
    nn_shape in = nn_shape3((int)dims[1], (int)dims[2], (int)dims[3]);
    REQUIRE((y = gu_read_f32(f, "y", &nd, dims, &n)) != NULL && n == (size_t)B, "y");
    REQUIRE((p0 = gu_read_f32(f, "params0", &nd, dims, &P)) != NULL, "params0");
    REQUIRE((wl = gu_read_f32(f, "losses", &nd, dims, &n)) != NULL && n == (size_t)steps, "losses");
    REQUIRE((wp = gu_read_f32(f, "params", &nd, dims, &n)) != NULL && n == P, "params");
    REQUIRE((we = gu_read_f32(f, "eval_loss", &nd, dims, &n)) != NULL && n == 1, "eval_loss");

    REQUIRE(nn_spec_parse(spec, name, &s, &e) == NN_OK, "parse: %s", e.msg);
    have_spec = 1;
    REQUIRE(nn_model_build(&m, &s, &e) == NN_OK, "build: %s", e.msg);
    have_model = 1;
    REQUIRE(m.nparams == P, "model has %zu params, fixture %zu", m.nparams, P);
    memcpy(m.params, p0, P * sizeof *p0);
    REQUIRE(nn_memory_open(&ds, x, y, (size_t)B, in, 1, 3, "memory", &e) == NN_OK, "%s", e.msg);
    have_ds = 1;
    nn_dist d;
    nn_dist_single(&d);
    nn_fit_opts o = {.fit = m.fit, .progress = 0};
    o.fit.verbose = 0;
    REQUIRE(o.fit.epochs == steps && o.fit.batch_size == B && !o.fit.shuffle,
            "spec: one full batch per epoch, %d epochs, no shuffle", steps);
    REQUIRE(nn_fit(&m, &ds, NULL, &o, &d, &h, &e) == NN_OK, "fit: %s", e.msg);
    REQUIRE(h.epochs == steps, "history has %d epochs", h.epochs);
    float losses[64];
    REQUIRE(steps <= 64, "at most 64 steps");
    for (int k = 0; k < steps; k++)
        losses[k] = (float)h.vals[(size_t)k * (size_t)h.ncols];   /* column "loss" */
    gu_compare("sgd", "losses", losses, wl, (size_t)steps, tol);
    gu_compare("sgd", "params", m.params, wp, P, tol);
    double out[1 + NN_METRIC_MAX_SUMS];
    REQUIRE(nn_evaluate(&m, &ds, NULL, 0, B, &d, out, &e) == NN_OK, "evaluate: %s", e.msg);
    float ev = (float)out[0];
    gu_compare("sgd", "eval_loss", &ev, we, 1, tol);
done:
    printf("\n  -> ");
    nn_history_free(&h);
    if (have_ds)
        nn_data_close(&ds);
    if (have_model)
        nn_model_free(&m);
    if (have_spec)
        nn_spec_free(&s);
    free(x), free(y), free(p0), free(wl), free(wp), free(we), free(spec);
    gu_close_file(f);
}
