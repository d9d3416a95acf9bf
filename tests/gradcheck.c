/* Finite-difference gradient checks shared by the layer and model suites
 * (see gradcheck.h). Central differences in double on float computations:
 * the step actually taken is measured as (float)(x+h) - (float)(x-h). */
#include "gradcheck.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nntrain/model.h"
#include "testutil.h"

#define GC_H 1e-3

typedef double (*objective)(void *ctx);

/* Numeric derivative of obj w.r.t. *v with step h. */
static double numeric(objective obj, void *ctx, float *v, double h)
{
    float orig = *v;
    float up = (float)(orig + h), dn = (float)(orig - h);
    *v = up;
    double fp = obj(ctx);
    *v = dn;
    double fm = obj(ctx);
    *v = orig;
    return (fp - fm) / ((double)up - (double)dn);
}

static void check_vec(const char *what, objective obj, void *ctx, float *v,
                      const float *analytic, size_t n, double tol, gc_result *res)
{
    for (size_t i = 0; i < n; i++) {
        double a = analytic[i];
        double nm = numeric(obj, ctx, &v[i], GC_H);
        double scale = fmax(1.0, fmax(fabs(a), fabs(nm)));
        double err = fabs(a - nm) / scale;
        if (err > tol) {
            /* A kink inside [x-h, x+h] shows as a step-size dependence. */
            double nm2 = numeric(obj, ctx, &v[i], GC_H / 4);
            if (fabs(nm2 - nm) / scale > tol / 2) {
                res->skipped++;
                continue;
            }
        }
        res->checked++;
        res->sum_abs_numeric += fabs(nm);
        if (err > res->max_err)
            res->max_err = err;
        if (!(err <= tol)) {
            if (!res->failed)
                snprintf(res->first_bad, sizeof res->first_bad,
                         "%s[%zu]: analytic %.6g numeric %.6g", what, i, a, nm);
            res->failed++;
        }
    }
}

static int verdict(const char *what, gc_result *res)
{
    long total = res->checked + res->skipped;
    int ok = res->failed == 0 && res->sum_abs_numeric > 0 && total > 0 &&
             res->skipped * 50 <= total;
    printf("  gradcheck %-60s checked %ld skipped %ld failed %ld max_err %.2e %s%s\n",
           what, res->checked, res->skipped, res->failed, res->max_err,
           ok ? "ok" : "FAIL ", ok ? "" : res->first_bad);
    if (res->sum_abs_numeric <= 0)
        printf("    numeric gradient is all zero: the check proves nothing\n");
    return ok ? 0 : 1;
}

/* ---- one layer ---------------------------------------------------------- */

typedef struct layer_case {
    nn_layer l;
    int B;
    float *p, *g, *x, *y, *r, *dy, *dx;
    nn_ctx ctx;
} layer_case;

static double layer_obj(void *vc)
{
    layer_case *c = vc;
    size_t out = nn_shape_size(&c->l.out) * (size_t)c->B;
    c->l.ops->forward(&c->l, c->p, c->x, c->y, c->B, &c->ctx);
    double f = 0;
    for (size_t i = 0; i < out; i++)
        f += (double)c->r[i] * c->y[i];
    return f;
}

int gc_layer(const char *call, nn_shape in, int B, int training, uint64_t seed,
             double tol, gc_result *res)
{
    memset(res, 0, sizeof *res);
    nn_error e = {0};
    nn_spec s;
    if (nn_spec_parse(call, "<gradcheck>", &s, &e) || s.ncalls != 1) {
        printf("gradcheck: cannot parse %s: %s\n", call, e.msg);
        return 1;
    }
    layer_case c = {.B = B};
    nn_shape ish;
    int has;
    int rc = nn_layer_create(&c.l, &s.calls[0], &ish, &has, &e);
    nn_spec_free(&s);
    if (rc) {
        printf("gradcheck: %s: %s\n", call, e.msg);
        return 1;
    }
    c.l.in = in;
    size_t work = 0;
    if (c.l.ops->configure(&c.l, &e) ||
        (c.l.ops->plan && c.l.ops->plan(&c.l, B, &work, &e))) {
        printf("gradcheck: %s: %s\n", call, e.msg);
        nn_layer_destroy(&c.l);
        return 1;
    }
    size_t nin = nn_shape_size(&in) * (size_t)B, nout = nn_shape_size(&c.l.out) * (size_t)B;
    size_t np = c.l.param_len;
    c.p = calloc(np + 1, sizeof(float));
    c.g = calloc(np + 1, sizeof(float));
    c.x = calloc(nin, sizeof(float));
    c.dx = calloc(nin, sizeof(float));
    c.y = calloc(nout, sizeof(float));
    c.r = calloc(nout, sizeof(float));
    c.dy = calloc(nout, sizeof(float));
    uint64_t *ids = calloc((size_t)B, sizeof *ids);
    c.ctx.work = work ? malloc(work) : NULL;
    c.ctx.work_bytes = work;
    for (int b = 0; b < B; b++)
        ids[b] = 100 + (uint64_t)b;
    c.ctx.training = training;
    c.ctx.seed = seed;
    c.ctx.sample_ids = ids;
    tu_fill_uniform(c.p, np, seed + 1, -0.5f, 0.5f);
    /* frozen state (moving statistics): a variance must be positive */
    tu_fill_uniform(c.p + np - c.l.frozen_len, c.l.frozen_len, seed + 4, 0.5f, 1.5f);
    tu_fill_uniform(c.x, nin, seed + 2, -1.0f, 1.0f);
    tu_fill_uniform(c.r, nout, seed + 3, -1.0f, 1.0f);

    layer_obj(&c);
    memcpy(c.dy, c.r, nout * sizeof(float));
    for (size_t i = 0; i < nin; i++)   /* backward must overwrite every element of dx */
        c.dx[i] = NAN;
    c.l.ops->backward(&c.l, c.p, c.g, c.x, c.y, c.dy, c.dx, B, &c.ctx);
    float *dx_a = malloc(nin * sizeof(float)), *g_a = malloc((np + 1) * sizeof(float));
    memcpy(dx_a, c.dx, nin * sizeof(float));
    memcpy(g_a, c.g, np * sizeof(float));
    check_vec("dx", layer_obj, &c, c.x, dx_a, nin, tol, res);
    /* frozen state is no weight: it has no gradient */
    check_vec("dparams", layer_obj, &c, c.p, g_a, np - c.l.frozen_len, tol, res);
    char what[200];
    snprintf(what, sizeof what, "%s B=%d", call, B);
    int bad = verdict(what, res);
    free(dx_a);
    free(g_a);
    free(c.p), free(c.g), free(c.x), free(c.dx), free(c.y), free(c.r), free(c.dy);
    free(ids);
    free(c.ctx.work);
    nn_layer_destroy(&c.l);
    return bad;
}

/* ---- a whole model with its loss ---------------------------------------- */

typedef struct model_case {
    nn_model m;
    int B, K, ydim;
    float *x, *y;
    nn_ctx ctx;
} model_case;

static double model_obj(void *vc)
{
    model_case *c = vc;
    const float *out = nn_model_forward(&c->m, c->x, c->B, &c->ctx);
    return nn_loss_eval(c->m.loss, out, c->y, c->B, c->K, c->ydim, c->m.fused, 0, NULL) /
               c->B +
           nn_model_reg_penalty(&c->m);
}

int gc_model(const char *spec_text, int B, uint64_t seed, double tol, gc_result *res)
{
    memset(res, 0, sizeof *res);
    nn_error e = {0};
    nn_spec s;
    model_case c = {.B = B};
    if (nn_spec_parse(spec_text, "<gradcheck>", &s, &e) || nn_model_build(&c.m, &s, &e)) {
        printf("gradcheck model: %s\n", e.msg);
        return 1;
    }
    nn_spec_free(&s);
    if (nn_model_plan(&c.m, B, &e)) {
        printf("gradcheck model: %s\n", e.msg);
        nn_model_free(&c.m);
        return 1;
    }
    size_t nin = nn_model_in_size(&c.m) * (size_t)B;
    c.K = (int)nn_model_out_size(&c.m);
    int sparse = c.m.loss == NN_LOSS_SCCE;
    c.ydim = sparse ? 1 : c.K;
    c.x = malloc(nin * sizeof(float));
    c.y = calloc((size_t)B * (size_t)c.ydim, sizeof(float));
    float *dout = malloc((size_t)B * (size_t)c.K * sizeof(float));
    uint64_t *ids = calloc((size_t)B, sizeof *ids);
    for (int b = 0; b < B; b++)
        ids[b] = (uint64_t)b;
    c.ctx.training = 1;
    c.ctx.seed = seed;
    c.ctx.sample_ids = ids;
    tu_fill_uniform(c.m.params, c.m.nparams, seed + 1, -0.5f, 0.5f);
    for (int i = 0; i < c.m.nlayers; i++) {   /* positive moving variances */
        const nn_layer *l = &c.m.layers[i];
        tu_fill_uniform(c.m.params + l->param_off + l->param_len - l->frozen_len,
                        l->frozen_len, seed + 4 + (uint64_t)i, 0.5f, 1.5f);
    }
    tu_fill_uniform(c.x, nin, seed + 2, -1.0f, 1.0f);
    nn_rng r = nn_rng_key(seed, 3, 0, 0);
    for (int b = 0; b < B; b++) {
        if (sparse)
            c.y[b] = (float)nn_rng_below(&r, (uint64_t)c.K);
        else if (c.m.loss == NN_LOSS_CCE)
            c.y[(size_t)b * c.K + nn_rng_below(&r, (uint64_t)c.K)] = 1.0f;
        else if (c.m.loss == NN_LOSS_BCE)
            for (int k = 0; k < c.K; k++)
                c.y[(size_t)b * c.K + k] = (float)nn_rng_below(&r, 2);
        else
            for (int k = 0; k < c.K; k++)
                c.y[(size_t)b * c.K + k] = nn_rng_uniform(&r);
    }
    const float *out = nn_model_forward(&c.m, c.x, B, &c.ctx);
    nn_loss_eval(c.m.loss, out, c.y, B, c.K, c.ydim, c.m.fused, 1.0f / (float)B, dout);
    memset(c.m.grads, 0, c.m.nparams * sizeof(float));
    nn_model_backward(&c.m, c.x, dout, B, &c.ctx);
    nn_model_reg_grad(&c.m);
    float *g_a = malloc(c.m.nparams * sizeof(float));
    memcpy(g_a, c.m.grads, c.m.nparams * sizeof(float));
    for (int i = 0; i < c.m.nlayers; i++) {   /* each block but its frozen state */
        const nn_layer *l = &c.m.layers[i];
        check_vec("dparams", model_obj, &c, c.m.params + l->param_off, g_a + l->param_off,
                  l->param_len - l->frozen_len, tol, res);
    }
    char what[120];
    snprintf(what, sizeof what, "model (%d layers, %zu params, loss %s%s) B=%d",
             c.m.nlayers, c.m.nparams, nn_loss_names[c.m.loss], c.m.fused ? ", fused" : "",
             B);
    int bad = verdict(what, res);
    free(g_a), free(dout), free(ids), free(c.x), free(c.y);
    nn_model_free(&c.m);
    return bad;
}

void gc_layer_ok(const char *call, nn_shape in, int B, int training, uint64_t seed)
{
    gc_result r;
    int bad = gc_layer(call, in, B, training, seed, GC_TOL, &r);
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT(r.checked > 0);
    CU_ASSERT(r.sum_abs_numeric > 0);
}

void gc_model_ok(const char *spec_text, int B, uint64_t seed)
{
    gc_result r;
    int bad = gc_model(spec_text, B, seed, GC_TOL, &r);
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT(r.checked > 0);
    CU_ASSERT(r.sum_abs_numeric > 0);
}

/* ---- a merge layer with several inputs ---------------------------------- */

typedef struct merge_case {
    nn_layer l;
    int B;
    float *xs[NN_MAX_INPUTS], *y, *r;
    nn_ctx ctx;
} merge_case;

static double merge_obj(void *vc)
{
    merge_case *c = vc;
    size_t out = nn_shape_size(&c->l.out) * (size_t)c->B;
    c->l.ops->merge->forward(&c->l, (const float *const *)c->xs, c->y, c->B, &c->ctx);
    double f = 0;
    for (size_t i = 0; i < out; i++)
        f += (double)c->r[i] * c->y[i];
    return f;
}

/* Moves x_k[i] away from every x_j[i], j < k, by at least 0.05 (the extreme
 * of Maximum/Minimum then has no tie within the step h). */
static void spread(float *const *xs, int nin, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (int k = 1; k < nin; k++)
            for (int j = 0; j < k; j++)
                if (fabsf(xs[k][i] - xs[j][i]) < 0.05f) {
                    xs[k][i] += 0.13f;
                    j = -1;   /* recheck against every earlier input */
                }
}

int gc_merge(const char *call, int nin, const nn_shape *ins, int B, int distinct,
             uint64_t seed, double tol, gc_result *res)
{
    memset(res, 0, sizeof *res);
    nn_error e = {0};
    nn_spec s;
    if (nin < 1 || nin > NN_MAX_INPUTS || nn_spec_parse(call, "<gradcheck>", &s, &e) ||
        s.ncalls != 1) {
        printf("gradcheck: cannot parse %s (%d inputs): %s\n", call, nin, e.msg);
        return 1;
    }
    merge_case c = {.B = B};
    nn_shape ish;
    int has;
    int rc = nn_layer_create(&c.l, &s.calls[0], &ish, &has, &e);
    nn_spec_free(&s);
    if (rc || !c.l.ops->merge) {
        printf("gradcheck: %s: %s\n", call, rc ? e.msg : "not a merge layer");
        if (!rc)
            nn_layer_destroy(&c.l);
        return 1;
    }
    c.l.nin = nin;
    for (int k = 0; k < nin; k++) {
        c.l.ins[k] = ins[k];
        c.l.inp[k] = k - 1;
    }
    c.l.in = ins[0];
    size_t work = 0;
    if (c.l.ops->configure(&c.l, &e) ||
        (c.l.ops->plan && c.l.ops->plan(&c.l, B, &work, &e))) {
        printf("gradcheck: %s: %s\n", call, e.msg);
        nn_layer_destroy(&c.l);
        return 1;
    }
    size_t nx[NN_MAX_INPUTS], nout = nn_shape_size(&c.l.out) * (size_t)B;
    float *dx[NN_MAX_INPUTS];
    for (int k = 0; k < nin; k++) {
        nx[k] = nn_shape_size(&ins[k]) * (size_t)B;
        c.xs[k] = malloc(nx[k] * sizeof(float));
        dx[k] = malloc(nx[k] * sizeof(float));
        tu_fill_uniform(c.xs[k], nx[k], seed + 10 + (uint64_t)k, -1.0f, 1.0f);
    }
    if (distinct)
        spread(c.xs, nin, nx[0]);
    c.y = calloc(nout, sizeof(float));
    c.r = calloc(nout, sizeof(float));
    float *dy = malloc(nout * sizeof(float));
    uint64_t *ids = calloc((size_t)B, sizeof *ids);
    c.ctx.work = work ? malloc(work) : NULL;
    c.ctx.work_bytes = work;
    c.ctx.seed = seed;
    c.ctx.sample_ids = ids;
    tu_fill_uniform(c.r, nout, seed + 3, -1.0f, 1.0f);

    merge_obj(&c);
    memcpy(dy, c.r, nout * sizeof(float));
    for (int k = 0; k < nin; k++) {   /* every element overwritten, dy only read */
        for (size_t i = 0; i < nx[k]; i++)
            dx[k][i] = NAN;
        c.l.ops->merge->backward(&c.l, k, (const float *const *)c.xs, c.y, dy, dx[k], B,
                                 &c.ctx);
    }
    for (size_t i = 0; i < nout; i++)
        if (dy[i] != c.r[i]) {
            res->failed++;
            snprintf(res->first_bad, sizeof res->first_bad, "dy[%zu] was written", i);
            break;
        }
    for (int k = 0; k < nin; k++) {
        char what[16];
        snprintf(what, sizeof what, "dx%d", k);
        check_vec(what, merge_obj, &c, c.xs[k], dx[k], nx[k], tol, res);
    }
    char what[200];
    snprintf(what, sizeof what, "%s x%d B=%d", call, nin, B);
    int bad = verdict(what, res);
    for (int k = 0; k < nin; k++)
        free(c.xs[k]), free(dx[k]);
    free(c.y), free(c.r), free(dy), free(ids), free(c.ctx.work);
    nn_layer_destroy(&c.l);
    return bad;
}

void gc_merge_ok(const char *call, int nin, const nn_shape *ins, int B, int distinct,
                 uint64_t seed)
{
    gc_result r;
    int bad = gc_merge(call, nin, ins, B, distinct, seed, GC_TOL, &r);
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT(r.checked > 0);
    CU_ASSERT(r.sum_abs_numeric > 0);
    if (distinct)   /* spread inputs leave no kink to skip */
        CU_ASSERT_EQUAL(r.skipped, 0);
}
