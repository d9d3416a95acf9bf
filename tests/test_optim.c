/* Optimizers: several steps of each against a per-element reference written
 * here in double straight from the Keras 2 formulas (time decay, momentum and
 * Nesterov, Adam's bias correction, Adadelta), the Keras defaults, and
 * nn_optim_from_value on parsed compile() lines, errors included. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nntrain/optim.h"
#include "nntrain/spec.h"
#include "testutil.h"

#define N 5
#define STEPS 4

static const float p0[N] = {0.5f, -0.3f, 1.2f, 0.0f, -2.0f};

/* Gradient of element i at step t: changes sign and size from step to step. */
static float grad(int t, int i)
{
    return (float)(sin(1.3 * i + 0.7 * t) * (1.0 + 0.5 * t) + 0.1 * i);
}

/* Reference: Keras 2 get_updates, one element at a time, in double. */
static void reference(const nn_optim *cfg, double *p, int steps)
{
    double s1[N] = {0}, s2[N] = {0};
    for (int i = 0; i < N; i++)
        p[i] = p0[i];
    for (int t = 0; t < steps; t++) {
        double lr = cfg->lr / (1.0 + cfg->decay * t);   /* iterations = t before the step */
        for (int i = 0; i < N; i++) {
            double g = grad(t, i);
            switch (cfg->kind) {
            case NN_OPT_SGD: {
                double v = cfg->momentum * s1[i] - lr * g;
                s1[i] = v;
                if (cfg->nesterov)
                    p[i] = p[i] + cfg->momentum * v - lr * g;
                else
                    p[i] = p[i] + v;
                break;
            }
            case NN_OPT_RMSPROP:
                s1[i] = cfg->rho * s1[i] + (1 - cfg->rho) * g * g;
                p[i] = p[i] - lr * g / (sqrt(s1[i]) + cfg->epsilon);
                break;
            case NN_OPT_ADAM: {
                double tt = t + 1;
                double lr_t = lr * sqrt(1 - pow(cfg->beta_2, tt)) / (1 - pow(cfg->beta_1, tt));
                s1[i] = cfg->beta_1 * s1[i] + (1 - cfg->beta_1) * g;
                s2[i] = cfg->beta_2 * s2[i] + (1 - cfg->beta_2) * g * g;
                p[i] = p[i] - lr_t * s1[i] / (sqrt(s2[i]) + cfg->epsilon);
                break;
            }
            case NN_OPT_ADADELTA: {
                s1[i] = cfg->rho * s1[i] + (1 - cfg->rho) * g * g;
                double u = g * sqrt(s2[i] + cfg->epsilon) / sqrt(s1[i] + cfg->epsilon);
                p[i] = p[i] - lr * u;
                s2[i] = cfg->rho * s2[i] + (1 - cfg->rho) * u * u;
                break;
            }
            case NN_OPT_NADAM: {
                /* torch.optim.NAdam's arrangement: mu from the step count,
                 * the product of the mus, bias-corrected v */
                double tt = t + 1, prod = 1;
                for (int k = 1; k <= t + 1; k++)
                    prod *= cfg->beta_1 * (1 - 0.5 * pow(0.96, k * cfg->schedule_decay));
                double mu = cfg->beta_1 * (1 - 0.5 * pow(0.96, tt * cfg->schedule_decay));
                double mu1 = cfg->beta_1 * (1 - 0.5 * pow(0.96, (tt + 1) * cfg->schedule_decay));
                s1[i] = cfg->beta_1 * s1[i] + (1 - cfg->beta_1) * g;
                s2[i] = cfg->beta_2 * s2[i] + (1 - cfg->beta_2) * g * g;
                double den = sqrt(s2[i] / (1 - pow(cfg->beta_2, tt))) + cfg->epsilon;
                p[i] -= cfg->lr * (1 - mu) / (1 - prod) * g / den;
                p[i] -= cfg->lr * mu1 / (1 - prod * mu1) * s1[i] / den;
                break;
            }
            default:
                break;
            }
        }
    }
}

/* Runs o for steps, updating in two ranges [0, 2) and [2, N) as the model does
 * per layer; p receives the parameters. */
static void run(nn_optim *o, float *p, int steps)
{
    nn_error e = {0};
    float g[N];
    memcpy(p, p0, sizeof p0);
    TU_ASSERT_OK(nn_optim_alloc(o, N, &e), e);
    for (int t = 0; t < steps; t++) {
        for (int i = 0; i < N; i++)
            g[i] = grad(t, i);
        nn_optim_update(o, p, g, 0, 2);
        nn_optim_update(o, p, g, 2, N - 2);
        nn_optim_advance(o);
    }
    CU_ASSERT_EQUAL(o->iterations, steps);
}

/* |p - ref| <= 2e-6 + 1e-4 |ref - p0|: float rounding only. Returns the
 * number of mismatching elements. */
static int compare(const char *what, const nn_optim *cfg, int steps)
{
    nn_optim o = *cfg;
    float p[N];
    double ref[N];
    run(&o, p, steps);
    reference(cfg, ref, steps);
    int bad = 0;
    double moved = 0;
    for (int i = 0; i < N; i++) {
        double lim = 2e-6 + 1e-4 * fabs(ref[i] - p0[i]);
        moved += fabs(ref[i] - p0[i]);
        if (!(fabs(p[i] - ref[i]) <= lim)) {
            if (!bad)
                fprintf(stderr, "  %s: p[%d] = %.9g, reference %.9g\n", what, i, p[i], ref[i]);
            bad++;
        }
    }
    CU_ASSERT(moved > 1e-4);   /* the case exercises the update at all */
    CU_ASSERT_EQUAL(bad, 0);
    nn_optim_free(&o);
    return bad;
}

static void test_defaults(void)
{
    nn_optim o;
    nn_optim_defaults(&o, NN_OPT_SGD);
    CU_ASSERT_DOUBLE_EQUAL(o.lr, 0.01, 0);
    CU_ASSERT_DOUBLE_EQUAL(o.momentum, 0.0, 0);
    CU_ASSERT_EQUAL(o.nesterov, 0);
    CU_ASSERT_DOUBLE_EQUAL(o.decay, 0.0, 0);
    nn_optim_defaults(&o, NN_OPT_RMSPROP);
    CU_ASSERT_DOUBLE_EQUAL(o.lr, 0.001, 0);
    CU_ASSERT_DOUBLE_EQUAL(o.rho, 0.9, 0);
    CU_ASSERT_DOUBLE_EQUAL(o.epsilon, 1e-7, 0);
    CU_ASSERT_EQUAL(o.nslots, 1);
    nn_optim_defaults(&o, NN_OPT_ADAM);
    CU_ASSERT_DOUBLE_EQUAL(o.lr, 0.001, 0);
    CU_ASSERT_DOUBLE_EQUAL(o.beta_1, 0.9, 0);
    CU_ASSERT_DOUBLE_EQUAL(o.beta_2, 0.999, 0);
    CU_ASSERT_DOUBLE_EQUAL(o.epsilon, 1e-7, 0);
    CU_ASSERT_EQUAL(o.nslots, 2);
    CU_ASSERT_EQUAL(o.iterations, 0);
    nn_optim_defaults(&o, NN_OPT_ADADELTA);
    CU_ASSERT_DOUBLE_EQUAL(o.lr, 1.0, 0);
    CU_ASSERT_DOUBLE_EQUAL(o.rho, 0.95, 0);
    CU_ASSERT_DOUBLE_EQUAL(o.epsilon, 1e-7, 0);
    CU_ASSERT_EQUAL(o.nslots, 2);
    CU_ASSERT_STRING_EQUAL(nn_optim_names[NN_OPT_SGD], "SGD");
    CU_ASSERT_STRING_EQUAL(nn_optim_names[NN_OPT_RMSPROP], "RMSprop");
    CU_ASSERT_STRING_EQUAL(nn_optim_names[NN_OPT_ADAM], "Adam");
    CU_ASSERT_STRING_EQUAL(nn_optim_names[NN_OPT_ADADELTA], "Adadelta");
}

static void test_sgd(void)
{
    nn_optim o;
    nn_optim_defaults(&o, NN_OPT_SGD);
    compare("sgd defaults", &o, STEPS);
    o.lr = 0.1;
    o.decay = 0.1;
    compare("sgd decay", &o, STEPS);
}

static void test_sgd_momentum(void)
{
    nn_optim o;
    nn_optim_defaults(&o, NN_OPT_SGD);
    o.lr = 0.05;
    o.momentum = 0.9;
    o.decay = 0.01;
    compare("sgd momentum", &o, STEPS);
    nn_optim n = o;
    n.nesterov = 1;
    compare("sgd nesterov", &n, STEPS);
    /* Nesterov must make a difference (else the check above proves little) */
    float a[N], b[N];
    run(&o, a, STEPS);
    run(&n, b, STEPS);
    double diff = 0;
    for (int i = 0; i < N; i++)
        diff += fabs(a[i] - b[i]);
    CU_ASSERT(diff > 1e-3);
    nn_optim_free(&o);
    nn_optim_free(&n);
}

static void test_rmsprop(void)
{
    nn_optim o;
    nn_optim_defaults(&o, NN_OPT_RMSPROP);
    compare("rmsprop defaults", &o, STEPS);
    o.lr = 0.01;
    o.rho = 0.8;
    o.decay = 0.05;
    compare("rmsprop decay", &o, STEPS);
    o.epsilon = 0.1;   /* large enough to pin where epsilon enters */
    compare("rmsprop epsilon", &o, STEPS);
}

static void test_adam(void)
{
    nn_optim o;
    nn_optim_defaults(&o, NN_OPT_ADAM);
    compare("adam defaults", &o, STEPS);
    o.lr = 0.01;
    o.beta_1 = 0.8;
    o.decay = 0.05;
    compare("adam decay", &o, STEPS);
    o.epsilon = 0.1;
    compare("adam epsilon", &o, STEPS);
    /* Bias correction, independently of the reference: the first step moves
     * every element by lr * g / (|g| + eps sqrt(1 - b2)/(1 - b1)) ~ lr sign(g). */
    nn_optim d;
    nn_optim_defaults(&d, NN_OPT_ADAM);
    float p[N];
    run(&d, p, 1);
    for (int i = 0; i < N; i++) {
        double g = grad(0, i), want = 0.001 * g / (fabs(g) + 1e-7 / sqrt(1 - 0.999));
        CU_ASSERT_DOUBLE_EQUAL(p0[i] - p[i], want, 1e-6);
        if (fabs(g) > 0.1)   /* ~ lr sign(g): no bias correction would give ~3.16 lr */
            CU_ASSERT_DOUBLE_EQUAL(fabs(p0[i] - p[i]), 0.001, 1e-5);
    }
    nn_optim_free(&d);
}

static void test_nadam(void)
{
    nn_optim o;
    nn_optim_defaults(&o, NN_OPT_NADAM);
    CU_ASSERT_DOUBLE_EQUAL(o.lr, 0.001, 0);
    CU_ASSERT_DOUBLE_EQUAL(o.beta_1, 0.9, 0);
    CU_ASSERT_DOUBLE_EQUAL(o.beta_2, 0.999, 0);
    CU_ASSERT_DOUBLE_EQUAL(o.epsilon, 1e-7, 0);
    CU_ASSERT_DOUBLE_EQUAL(o.schedule_decay, 0.004, 0);
    CU_ASSERT_EQUAL(o.nslots, 2);
    compare("nadam defaults", &o, STEPS + 3);
    o.lr = 0.01;
    o.beta_1 = 0.8;
    o.schedule_decay = 0.5;   /* a schedule that moves within a few steps */
    compare("nadam schedule", &o, STEPS);
    o.epsilon = 0.1;
    compare("nadam epsilon", &o, STEPS);
    /* Resume: a fresh optimizer given the iterations and slots after 3
     * steps continues bitwise as the uninterrupted one (the product of the
     * mus is multiplied again in the same order). */
    nn_optim a, b;
    nn_error e = {0};
    float pa[N], pb[N], g[N];
    nn_optim_defaults(&a, NN_OPT_NADAM);
    run(&a, pa, 3);
    nn_optim_defaults(&b, NN_OPT_NADAM);
    TU_ASSERT_OK(nn_optim_alloc(&b, N, &e), e);
    memcpy(b.slot[0], a.slot[0], sizeof pa);
    memcpy(b.slot[1], a.slot[1], sizeof pa);
    b.iterations = a.iterations;
    memcpy(pb, pa, sizeof pa);
    for (int t = 3; t < 6; t++) {
        for (int i = 0; i < N; i++)
            g[i] = grad(t, i);
        nn_optim_update(&a, pa, g, 0, N);
        nn_optim_advance(&a);
        nn_optim_update(&b, pb, g, 0, N);
        nn_optim_advance(&b);
    }
    CU_ASSERT(memcmp(pa, pb, sizeof pa) == 0);
    CU_ASSERT(memcmp(pa, p0, sizeof pa) != 0);
    nn_optim_free(&a);
    nn_optim_free(&b);
}

static void test_adadelta(void)
{
    nn_optim o;
    nn_optim_defaults(&o, NN_OPT_ADADELTA);
    compare("adadelta defaults", &o, STEPS + 2);
    o.lr = 0.5;
    o.rho = 0.9;
    o.decay = 0.1;
    compare("adadelta decay", &o, STEPS);
    o.epsilon = 0.01;
    compare("adadelta epsilon", &o, STEPS);
}

static void test_lr_and_describe(void)
{
    nn_optim o;
    nn_optim_defaults(&o, NN_OPT_RMSPROP);
    char buf[200];
    nn_optim_describe(&o, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "RMSprop(lr=0.001, rho=0.9, epsilon=1e-07, decay=0)");
    o.decay = 0.1;
    CU_ASSERT_DOUBLE_EQUAL(nn_optim_lr(&o), 0.001, 1e-15);
    for (int i = 0; i < 3; i++)
        nn_optim_advance(&o);
    CU_ASSERT_DOUBLE_EQUAL(nn_optim_lr(&o), 0.001 / 1.3, 1e-15);
    nn_optim_defaults(&o, NN_OPT_SGD);
    o.momentum = 0.9;
    o.nesterov = 1;
    nn_optim_describe(&o, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "SGD(lr=0.01, momentum=0.9, decay=0, nesterov=True)");
    nn_optim_defaults(&o, NN_OPT_ADAM);
    nn_optim_describe(&o, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "Adam(lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-07, decay=0)");
    nn_optim_defaults(&o, NN_OPT_NADAM);
    nn_optim_describe(&o, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "Nadam(lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-07, "
                                "schedule_decay=0.004)");
}

/* Linear scaling and warm-up (Goyal et al.): a linear ramp from lr to
 * lr * B / ref over the warm-up steps, then B / ref; warm-up alone ramps up
 * from lr / steps; time decay still counts iterations. */
static void test_schedule(void)
{
    nn_optim o;
    nn_optim_defaults(&o, NN_OPT_SGD);
    CU_ASSERT_DOUBLE_EQUAL(nn_optim_lr(&o), 0.01, 1e-15);   /* no schedule: lr */
    nn_optim_schedule(&o, 256, 64, 1.0, 4);                 /* x4, over 4 steps */
    CU_ASSERT_DOUBLE_EQUAL(nn_optim_lr(&o), 0.01, 1e-15);   /* from the next step on */
    const double ramp[] = {1.75, 2.5, 3.25, 4, 4, 4};
    for (int s = 0; s < 6; s++) {
        nn_optim_begin_step(&o, s);
        CU_ASSERT_DOUBLE_EQUAL(o.lr_scale, ramp[s], 1e-15);
        CU_ASSERT_DOUBLE_EQUAL(nn_optim_lr(&o), 0.01 * ramp[s], 1e-15);
    }
    nn_optim_schedule(&o, 32, 0, 0.5, 8);                   /* warm-up alone */
    nn_optim_begin_step(&o, 0);
    CU_ASSERT_DOUBLE_EQUAL(o.lr_scale, 0.25, 1e-15);
    nn_optim_begin_step(&o, 3);
    CU_ASSERT_DOUBLE_EQUAL(o.lr_scale, 1, 1e-15);
    nn_optim_schedule(&o, 32, 64, 0, 8);                    /* scaled down, no ramp */
    nn_optim_begin_step(&o, 0);
    CU_ASSERT_DOUBLE_EQUAL(o.lr_scale, 0.5, 1e-15);
    o.decay = 0.5;
    nn_optim_advance(&o);
    CU_ASSERT_DOUBLE_EQUAL(nn_optim_lr(&o), 0.5 * 0.01 / 1.5, 1e-15);
}

static void test_alloc_and_bounds(void)
{
    nn_error e = {0};
    nn_optim o;
    nn_optim_defaults(&o, NN_OPT_ADAM);
    TU_ASSERT_OK(nn_optim_alloc(&o, N, &e), e);
    CU_ASSERT_EQUAL(o.n, (size_t)N);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o.slot[0]);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o.slot[1]);
    for (int i = 0; i < N; i++)
        CU_ASSERT(o.slot[0][i] == 0 && o.slot[1][i] == 0);
    /* a range past the buffers is ignored rather than written */
    float p[N], g[N] = {1, 1, 1, 1, 1};
    memcpy(p, p0, sizeof p);
    nn_optim_update(&o, p, g, 3, 3);
    CU_ASSERT(memcmp(p, p0, sizeof p) == 0);
    nn_optim_update(&o, p, g, 4, 1);
    CU_ASSERT(p[4] != p0[4]);
    CU_ASSERT(p[3] == p0[3]);
    nn_optim_free(&o);
    CU_ASSERT_PTR_NULL(o.slot[0]);
}

/* ---- from compile() values ------------------------------------------- */

/* Parses "compile(optimizer=<text>)" and runs nn_optim_from_value on it. */
static int from_text(const char *val, nn_optim *o, nn_error *e)
{
    char line[300];
    nn_spec s;
    snprintf(line, sizeof line, "compile(optimizer=%s)\n", val);
    int rc = nn_spec_parse(line, "t.nn", &s, e);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    const nn_call *c = NULL;
    const nn_value *v = NULL;
    for (int i = 0; i < s.ncalls; i++)
        if (!strcmp(s.calls[i].fn, "compile"))
            c = &s.calls[i];
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    for (int i = 0; i < c->nargs; i++)
        if (c->keys[i] && !strcmp(c->keys[i], "optimizer"))
            v = &c->vals[i];
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    memset(e, 0, sizeof *e);
    rc = nn_optim_from_value(o, c, v, e);
    nn_spec_free(&s);
    return rc;
}

static void test_from_value(void)
{
    nn_error e = {0};
    nn_optim o;
    TU_ASSERT_OK(from_text("RMSprop(lr=1e-4, decay=1e-6)", &o, &e), e);
    CU_ASSERT_EQUAL(o.kind, NN_OPT_RMSPROP);
    CU_ASSERT_DOUBLE_EQUAL(o.lr, 1e-4, 0);
    CU_ASSERT_DOUBLE_EQUAL(o.decay, 1e-6, 0);
    CU_ASSERT_DOUBLE_EQUAL(o.rho, 0.9, 0);
    CU_ASSERT_DOUBLE_EQUAL(o.epsilon, 1e-7, 0);

    TU_ASSERT_OK(from_text("\"adam\"", &o, &e), e);
    CU_ASSERT_EQUAL(o.kind, NN_OPT_ADAM);
    CU_ASSERT_DOUBLE_EQUAL(o.lr, 0.001, 0);
    TU_ASSERT_OK(from_text("'RMSPROP'", &o, &e), e);
    CU_ASSERT_EQUAL(o.kind, NN_OPT_RMSPROP);
    TU_ASSERT_OK(from_text("\"sgd\"", &o, &e), e);
    CU_ASSERT_EQUAL(o.kind, NN_OPT_SGD);
    CU_ASSERT_DOUBLE_EQUAL(o.lr, 0.01, 0);
    TU_ASSERT_OK(from_text("\"Adadelta\"", &o, &e), e);
    CU_ASSERT_EQUAL(o.kind, NN_OPT_ADADELTA);
    CU_ASSERT_DOUBLE_EQUAL(o.lr, 1.0, 0);

    TU_ASSERT_OK(from_text("Adam(learning_rate=0.002, beta_1=0.8)", &o, &e), e);
    CU_ASSERT_EQUAL(o.kind, NN_OPT_ADAM);
    CU_ASSERT_DOUBLE_EQUAL(o.lr, 0.002, 0);
    CU_ASSERT_DOUBLE_EQUAL(o.beta_1, 0.8, 0);
    CU_ASSERT_DOUBLE_EQUAL(o.beta_2, 0.999, 0);

    TU_ASSERT_OK(from_text("SGD(0.05, momentum=0.9, nesterov=True)", &o, &e), e);
    CU_ASSERT_EQUAL(o.kind, NN_OPT_SGD);
    CU_ASSERT_DOUBLE_EQUAL(o.lr, 0.05, 0);
    CU_ASSERT_DOUBLE_EQUAL(o.momentum, 0.9, 0);
    CU_ASSERT_EQUAL(o.nesterov, 1);

    TU_ASSERT_OK(from_text("Adadelta(rho=0.9, epsilon=None)", &o, &e), e);
    CU_ASSERT_EQUAL(o.kind, NN_OPT_ADADELTA);
    CU_ASSERT_DOUBLE_EQUAL(o.rho, 0.9, 0);
    CU_ASSERT_DOUBLE_EQUAL(o.epsilon, 1e-7, 0);

    /* R keras and dotted Python names */
    TU_ASSERT_OK(from_text("optimizer_rmsprop(lr = 1e-4)", &o, &e), e);
    CU_ASSERT_EQUAL(o.kind, NN_OPT_RMSPROP);
    CU_ASSERT_DOUBLE_EQUAL(o.lr, 1e-4, 0);
    TU_ASSERT_OK(from_text("keras.optimizers.Adam(3e-4)", &o, &e), e);
    CU_ASSERT_EQUAL(o.kind, NN_OPT_ADAM);
    CU_ASSERT_DOUBLE_EQUAL(o.lr, 3e-4, 0);
    TU_ASSERT_OK(from_text("\"nadam\"", &o, &e), e);
    CU_ASSERT_EQUAL(o.kind, NN_OPT_NADAM);
    TU_ASSERT_OK(from_text("optimizer_nadam(lr = 0.002, beta_2 = 0.99)", &o, &e), e);
    CU_ASSERT_EQUAL(o.kind, NN_OPT_NADAM);
    CU_ASSERT_DOUBLE_EQUAL(o.lr, 0.002, 0);
    CU_ASSERT_DOUBLE_EQUAL(o.beta_2, 0.99, 0);
    CU_ASSERT_DOUBLE_EQUAL(o.schedule_decay, 0.004, 0);
    TU_ASSERT_OK(from_text("Nadam(learning_rate=0.01, schedule_decay=0.01)", &o, &e), e);
    CU_ASSERT_DOUBLE_EQUAL(o.schedule_decay, 0.01, 0);
}

/* The error has code NN_EINVAL and a message holding every needle. */
static void expect_error(const char *val, const char *const needles[])
{
    nn_error e = {0};
    nn_optim o;
    int rc = from_text(val, &o, &e);
    CU_ASSERT_EQUAL(rc, NN_EINVAL);
    CU_ASSERT_EQUAL(e.code, NN_EINVAL);
    for (int i = 0; needles[i]; i++)
        CU_ASSERT(tu_contains(e.msg, needles[i]));
}

static void test_from_value_errors(void)
{
    /* "compile(optimizer=" is 18 characters: the value starts at column 19 */
    expect_error("\"Adamax\"", (const char *const[]){"t.nn:1:19", "unknown optimizer",
                                                      "Adamax", "RMSprop", "Adadelta", NULL});
    expect_error("Adamax(lr=0.1)", (const char *const[]){"t.nn:1:19", "Adamax", "SGD", NULL});
    expect_error("RMSprop(foo=1)",
                 (const char *const[]){"t.nn:1:", "foo", "rho", "learning_rate", NULL});
    expect_error("RMSprop(lr=\"fast\")",
                 (const char *const[]){"t.nn:1:", "learning_rate", "number", NULL});
    expect_error("SGD(momentum=\"high\")", (const char *const[]){"momentum", "number", NULL});
    expect_error("SGD(momentum=1.5)", (const char *const[]){"momentum", "[0, 1]", "1.5", NULL});
    expect_error("Adam(lr=-1)", (const char *const[]){"learning_rate", ">= 0", NULL});
    expect_error("Adam(amsgrad=True)", (const char *const[]){"amsgrad", NULL});
    expect_error("Nadam(decay=0.1)", (const char *const[]){"decay", "schedule_decay", NULL});
    expect_error("Nadam(beta_1=1)", (const char *const[]){"beta_1", "[0, 1)", NULL});
    expect_error("Nadam(schedule_decay=-1)", (const char *const[]){"schedule_decay", ">= 0",
                                                                 NULL});
    expect_error("SGD(0.1, lr=0.2)", (const char *const[]){"twice", NULL});
    expect_error("SGD(0.1, 0.9, 0, False, 7)", (const char *const[]){"positional", NULL});
    expect_error("3", (const char *const[]){"t.nn:1:19", "optimizer", "rmsprop", NULL});
}

int main(void)
{
    static const tu_test tests[] = {
        {"Keras defaults", test_defaults},
        {"SGD", test_sgd},
        {"SGD momentum / nesterov", test_sgd_momentum},
        {"RMSprop", test_rmsprop},
        {"Adam", test_adam},
        {"Adadelta", test_adadelta},
        {"Nadam", test_nadam},
        {"lr decay and describe", test_lr_and_describe},
        {"lr schedule: scaling and warm-up", test_schedule},
        {"alloc and bounds", test_alloc_and_bounds},
        {"from compile() values", test_from_value},
        {"from compile() errors", test_from_value_errors},
        {NULL, NULL},
    };
    return tu_main("optim", tests);
}
