/* Learning-rate schedules and gradient clipping (issue 18): each tf.keras
 * schedule at chosen steps against its formula written out here (and a few
 * values worked by hand), their parsing from compile() lines and pasted
 * scripts, how they compose with Keras 2 decay and the run's scaling and
 * warm-up, their errors; clipvalue, clipnorm and global_clipnorm on a real
 * model's gradients against hand-computed numbers (moving statistics and
 * frozen layers left alone); the history's lr column. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nntrain/history.h"
#include "nntrain/lr_schedule.h"
#include "nntrain/model.h"
#include "nntrain/optim.h"
#include "nntrain/spec.h"
#include "testutil.h"

static const double PI = 3.14159265358979323846;

/* Parses "compile(optimizer=<text>)" and runs nn_optim_from_value on it. */
static int from_text(const char *val, nn_optim *o, nn_error *e)
{
    char line[600];
    nn_spec s;
    snprintf(line, sizeof line, "compile(optimizer=%s)\n", val);
    memset(e, 0, sizeof *e);
    int rc = nn_spec_parse(line, "t.nn", &s, e);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    const nn_call *c = &s.calls[s.ncalls - 1];
    const nn_value *v = NULL;
    for (int i = 0; i < c->nargs; i++)
        if (c->keys[i] && !strcmp(c->keys[i], "optimizer"))
            v = &c->vals[i];
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    rc = nn_optim_from_value(o, c, v, e);
    nn_spec_free(&s);
    return rc;
}

/* The optimizer's learning rate at iteration it (no scaling, no decay). */
static double lr_at(nn_optim *o, int64_t it)
{
    o->iterations = it;
    return nn_optim_lr(o);
}

#define NEAR(a, b) CU_ASSERT(fabs((a) - (b)) <= 1e-12 * fmax(1.0, fabs(b)))

static const int64_t steps[] = {0, 1, 7, 499, 500, 501, 999, 1000, 1001, 1500, 2000, 2500,
                                3999, 10000, -1};

static void test_exponential(void)
{
    nn_error e;
    nn_optim o;
    TU_ASSERT_OK(from_text("Adam(learning_rate=ExponentialDecay(initial_learning_rate=0.1, "
                           "decay_steps=1000, decay_rate=0.96, staircase=False))", &o, &e), e);
    CU_ASSERT_EQUAL(o.sched.kind, NN_SCHED_EXPONENTIAL);
    for (int i = 0; steps[i] >= 0; i++)
        NEAR(lr_at(&o, steps[i]), 0.1 * pow(0.96, (double)steps[i] / 1000.0));
    NEAR(lr_at(&o, 0), 0.1);
    NEAR(lr_at(&o, 1000), 0.096);
    NEAR(lr_at(&o, 2000), 0.09216);
    TU_ASSERT_OK(from_text("SGD(ExponentialDecay(0.1, 1000, 0.96, True))", &o, &e), e);
    CU_ASSERT_EQUAL(o.sched.staircase, 1);
    for (int i = 0; steps[i] >= 0; i++)
        NEAR(lr_at(&o, steps[i]), 0.1 * pow(0.96, floor((double)steps[i] / 1000.0)));
    NEAR(lr_at(&o, 999), 0.1);
    NEAR(lr_at(&o, 1999), 0.096);
}

static void test_piecewise(void)
{
    nn_error e;
    nn_optim o;
    TU_ASSERT_OK(from_text("SGD(learning_rate=PiecewiseConstantDecay(boundaries=[1000, 2000], "
                           "values=[1.0, 0.5, 0.1]))", &o, &e), e);
    CU_ASSERT_EQUAL(o.sched.kind, NN_SCHED_PIECEWISE);
    for (int i = 0; steps[i] >= 0; i++) {
        int64_t s = steps[i];
        NEAR(lr_at(&o, s), s <= 1000 ? 1.0 : s <= 2000 ? 0.5 : 0.1);
    }
    NEAR(lr_at(&o, 1000), 1.0);   /* a boundary belongs to the piece before it */
    NEAR(lr_at(&o, 1001), 0.5);
    NEAR(lr_at(&o, 2001), 0.1);
    CU_ASSERT_DOUBLE_EQUAL(o.lr, 1.0, 0);
}

static void test_cosine(void)
{
    nn_error e;
    nn_optim o;
    TU_ASSERT_OK(from_text("Adam(learning_rate=CosineDecay(0.1, 2000, alpha=0.1))", &o, &e),
                 e);
    CU_ASSERT_EQUAL(o.sched.kind, NN_SCHED_COSINE);
    for (int i = 0; steps[i] >= 0; i++) {
        double s = fmin((double)steps[i], 2000.0);
        NEAR(lr_at(&o, steps[i]), 0.1 * (0.9 * 0.5 * (1 + cos(PI * s / 2000.0)) + 0.1));
    }
    NEAR(lr_at(&o, 1000), 0.1 * (0.9 * 0.5 + 0.1));   /* halfway: 0.055 */
    NEAR(lr_at(&o, 2000), 0.01);
    NEAR(lr_at(&o, 10000), 0.01);
    /* warm-up from 0 to 1 over 500 steps, then down from 1 over 2000 */
    TU_ASSERT_OK(from_text("Adam(learning_rate=CosineDecay(initial_learning_rate=0.0, "
                           "decay_steps=2000, warmup_target=1.0, warmup_steps=500))", &o, &e),
                 e);
    for (int i = 0; steps[i] >= 0; i++) {
        double s = fmin((double)steps[i], 2500.0);
        double want = s < 500 ? 0.0 + (1.0 - 0.0) * s / 500.0
                              : 1.0 * 0.5 * (1 + cos(PI * (s - 500.0) / 2000.0));
        NEAR(lr_at(&o, steps[i]), want);
    }
    NEAR(lr_at(&o, 250), 0.5);
    NEAR(lr_at(&o, 500), 1.0);
    NEAR(lr_at(&o, 1500), 0.5);
    CU_ASSERT(fabs(lr_at(&o, 2500)) < 1e-15);
}

static void test_inverse_time(void)
{
    nn_error e;
    nn_optim o;
    TU_ASSERT_OK(from_text("RMSprop(learning_rate=InverseTimeDecay(0.1, 1000, 0.5))", &o, &e), e);
    CU_ASSERT_EQUAL(o.sched.kind, NN_SCHED_INVERSE_TIME);
    for (int i = 0; steps[i] >= 0; i++)
        NEAR(lr_at(&o, steps[i]), 0.1 / (1 + 0.5 * (double)steps[i] / 1000.0));
    NEAR(lr_at(&o, 2000), 0.05);
    TU_ASSERT_OK(from_text("RMSprop(learning_rate=InverseTimeDecay(0.1, 1000, 0.5, "
                           "staircase=True))", &o, &e), e);
    for (int i = 0; steps[i] >= 0; i++)
        NEAR(lr_at(&o, steps[i]), 0.1 / (1 + 0.5 * floor((double)steps[i] / 1000.0)));
    NEAR(lr_at(&o, 1999), 0.1 / 1.5);
}

static void test_polynomial(void)
{
    nn_error e;
    nn_optim o;
    TU_ASSERT_OK(from_text("SGD(learning_rate=PolynomialDecay(0.1, 1000, "
                           "end_learning_rate=0.01, power=0.5))", &o, &e), e);
    CU_ASSERT_EQUAL(o.sched.kind, NN_SCHED_POLYNOMIAL);
    for (int i = 0; steps[i] >= 0; i++) {
        double s = fmin((double)steps[i], 1000.0);
        NEAR(lr_at(&o, steps[i]), (0.1 - 0.01) * pow(1 - s / 1000.0, 0.5) + 0.01);
    }
    NEAR(lr_at(&o, 750), 0.09 * 0.5 + 0.01);
    NEAR(lr_at(&o, 5000), 0.01);
    /* defaults: end 0.0001, power 1; cycle: the horizon grows by whole decay_steps */
    TU_ASSERT_OK(from_text("SGD(learning_rate=PolynomialDecay(0.1, 1000, cycle=True))", &o, &e),
                 e);
    CU_ASSERT_DOUBLE_EQUAL(o.sched.end_lr, 0.0001, 0);
    CU_ASSERT_DOUBLE_EQUAL(o.sched.power, 1.0, 0);
    for (int i = 0; steps[i] >= 0; i++) {
        double s = (double)steps[i];
        double D = 1000.0 * (s == 0 ? 1.0 : ceil(s / 1000.0));
        NEAR(lr_at(&o, steps[i]), (0.1 - 0.0001) * (1 - s / D) + 0.0001);
    }
    NEAR(lr_at(&o, 1000), 0.0001);            /* the end of the first cycle */
    NEAR(lr_at(&o, 1500), 0.0999 * 0.25 + 0.0001);   /* D = 2000 */
}

/* lr_t = schedule(it) / (1 + decay * it) * the run's scaling and warm-up */
static void test_composition(void)
{
    nn_error e;
    nn_optim o;
    TU_ASSERT_OK(from_text("SGD(learning_rate=ExponentialDecay(0.1, 100, 0.5), decay=0.01)", &o,
                           &e), e);
    NEAR(lr_at(&o, 200), 0.1 * 0.25 / (1 + 0.01 * 200));
    /* global batch 256 against 32: x8 after a warm-up of 2 epochs x 10 steps */
    nn_optim_schedule(&o, 256, 32, 2.0, 10);
    nn_optim_begin_step(&o, 4);   /* warm-up step 5 of 20: 1 + 7 * 5/20 */
    NEAR(lr_at(&o, 200), 0.1 * 0.25 / 3.0 * 2.75);
    nn_optim_begin_step(&o, 50);
    NEAR(lr_at(&o, 200), 0.1 * 0.25 / 3.0 * 8);
    /* nn_optim_advance records the learning rate the step used */
    o.iterations = 100;
    nn_optim_advance(&o);
    NEAR(o.last_lr, 0.1 * 0.5 / 2.0 * 8);
    CU_ASSERT_EQUAL(o.iterations, 101);
}

static void test_spellings(void)
{
    nn_error e;
    nn_optim o;
    char d[512];
    TU_ASSERT_OK(from_text("keras.optimizers.Adam(learning_rate=keras.optimizers.schedules."
                           "ExponentialDecay(initial_learning_rate=0.1, decay_steps=1000, "
                           "decay_rate=0.96, name=\"exp\"))", &o, &e), e);
    CU_ASSERT_EQUAL(o.sched.kind, NN_SCHED_EXPONENTIAL);
    nn_optim_describe(&o, d, sizeof d);
    CU_ASSERT(tu_contains(d, "Adam(lr=ExponentialDecay(initial_learning_rate=0.1, "
                             "decay_steps=1000, decay_rate=0.96, staircase=False)"));
    TU_ASSERT_OK(from_text("optimizer_sgd(learning_rate = learning_rate_schedule_piecewise_"
                           "constant_decay(boundaries = c(10, 20), values = c(0.1, 0.01, "
                           "0.001)), clipvalue = 0.5)", &o, &e), e);
    CU_ASSERT_EQUAL(o.sched.kind, NN_SCHED_PIECEWISE);
    CU_ASSERT_DOUBLE_EQUAL(o.clipvalue, 0.5, 0);
    NEAR(lr_at(&o, 21), 0.001);
    nn_optim_describe(&o, d, sizeof d);
    CU_ASSERT(tu_contains(d, "PiecewiseConstantDecay(boundaries=[10, 20], "
                             "values=[0.1, 0.01, 0.001])"));
    CU_ASSERT(tu_contains(d, "clipvalue=0.5)"));
    TU_ASSERT_OK(from_text("RMSprop(learning_rate=learning_rate_schedule_cosine_decay(0.1, "
                           "100), global_clipnorm=1)", &o, &e), e);
    CU_ASSERT_EQUAL(o.sched.kind, NN_SCHED_COSINE);
    CU_ASSERT_DOUBLE_EQUAL(o.global_clipnorm, 1.0, 0);
    /* not set: -1 (R keras, Keras 2.2), None, absent */
    TU_ASSERT_OK(from_text("RMSprop(lr=0.001, clipnorm=-1.0, clipvalue=-1, "
                           "global_clipnorm=None)", &o, &e), e);
    CU_ASSERT(!nn_optim_clips(&o));
    CU_ASSERT_EQUAL(o.sched.kind, NN_SCHED_NONE);
    TU_ASSERT_OK(from_text("Nadam(clipnorm=2, clipvalue=3)", &o, &e), e);
    CU_ASSERT_DOUBLE_EQUAL(o.clipnorm, 2.0, 0);
    CU_ASSERT_DOUBLE_EQUAL(o.clipvalue, 3.0, 0);
    nn_optim_describe(&o, d, sizeof d);
    CU_ASSERT(tu_contains(d, ", clipnorm=2, clipvalue=3)"));
}

/* A pasted tf.keras script: the schedule held in a variable. */
static void test_pasted(void)
{
    static const char *const text =
        "from tensorflow import keras\n"
        "lr_schedule = keras.optimizers.schedules.ExponentialDecay(\n"
        "    initial_learning_rate=1e-2, decay_steps=10000, decay_rate=0.9)\n"
        "optimizer = keras.optimizers.SGD(learning_rate=lr_schedule, clipnorm=1.0)\n"
        "model = keras.Sequential()\n"
        "model.add(keras.layers.Dense(4, input_shape=(3,)))\n"
        "model.compile(loss='mse', optimizer=optimizer)\n";
    nn_model m;
    nn_error e;
    TU_ASSERT_OK(tu_build(text, &m, &e), e);
    CU_ASSERT_EQUAL(m.optim.kind, NN_OPT_SGD);
    CU_ASSERT_EQUAL(m.optim.sched.kind, NN_SCHED_EXPONENTIAL);
    CU_ASSERT_DOUBLE_EQUAL(m.optim.sched.decay_steps, 10000, 0);
    CU_ASSERT_DOUBLE_EQUAL(m.optim.clipnorm, 1.0, 0);
    nn_model_free(&m);
    /* R keras: learning_rate_schedule_*() in a variable, clipnorm = -1 */
    static const char *const r_text =
        "library(keras)\n"
        "sched <- learning_rate_schedule_polynomial_decay(initial_learning_rate = 0.1,\n"
        "  decay_steps = 100, end_learning_rate = 0.001)\n"
        "model <- keras_model_sequential() %>%\n"
        "  layer_dense(units = 4, input_shape = c(3))\n"
        "model %>% compile(loss = \"mse\",\n"
        "  optimizer = optimizer_rmsprop(learning_rate = sched, clipnorm = -1))\n";
    TU_ASSERT_OK(tu_build(r_text, &m, &e), e);
    CU_ASSERT_EQUAL(m.optim.kind, NN_OPT_RMSPROP);
    CU_ASSERT_EQUAL(m.optim.sched.kind, NN_SCHED_POLYNOMIAL);
    CU_ASSERT_DOUBLE_EQUAL(m.optim.sched.end_lr, 0.001, 0);
    CU_ASSERT(!nn_optim_clips(&m.optim));
    nn_model_free(&m);
}

static void expect_error(const char *val, const char *const needles[])
{
    nn_error e;
    nn_optim o;
    int rc = from_text(val, &o, &e);
    CU_ASSERT_EQUAL(rc, NN_EINVAL);
    for (int i = 0; needles[i]; i++)
        if (!tu_contains(e.msg, needles[i])) {
            CU_FAIL("message lacks a needle");
            printf("\n  '%s' not in: %s\n", needles[i], e.msg);
        }
}

static void test_errors(void)
{
    expect_error("SGD(learning_rate=PiecewiseConstantDecay([2000, 1000], [1, 0.5, 0.1]))",
                 (const char *const[]){"t.nn:1:", "PiecewiseConstantDecay()", "'boundaries'",
                                       "increasing", "boundaries[1] = 1000", NULL});
    expect_error("SGD(learning_rate=PiecewiseConstantDecay([1000, 1000], [1, 0.5, 0.1]))",
                 (const char *const[]){"increasing", NULL});
    expect_error("SGD(learning_rate=PiecewiseConstantDecay([1000, 2000], [1, 0.5]))",
                 (const char *const[]){"'values'", "one entry more than boundaries (3)",
                                       "got 2", NULL});
    expect_error("SGD(learning_rate=PiecewiseConstantDecay([1000], [\"a\", 0.5]))",
                 (const char *const[]){"'values'", "finite numbers", NULL});
    expect_error("SGD(learning_rate=ExponentialDecay(0.1, -5, 0.9))",
                 (const char *const[]){"ExponentialDecay()", "'decay_steps'", "> 0", "-5",
                                       NULL});
    expect_error("SGD(learning_rate=PolynomialDecay(0.1, 0))",
                 (const char *const[]){"'decay_steps'", "> 0", NULL});
    expect_error("SGD(learning_rate=ExponentialDecay(0.1, 100))",
                 (const char *const[]){"'decay_rate'", "required", NULL});
    expect_error("SGD(learning_rate=CosineDecay(0.1, 100, alpha=2))",
                 (const char *const[]){"'alpha'", "[0, 1]", NULL});
    expect_error("SGD(learning_rate=InverseTimeDecay(0.1, 100, 0.5, foo=1))",
                 (const char *const[]){"unknown argument 'foo'", "staircase", NULL});
    expect_error("SGD(learning_rate=ExponentalDecay(0.1, 100, 0.5))",
                 (const char *const[]){"unknown learning-rate schedule 'ExponentalDecay'",
                                       "did you mean 'ExponentialDecay'?", NULL});
    expect_error("Adam(clipnorm=0)", (const char *const[]){"t.nn:1:", "'clipnorm'", "> 0",
                                                         "-1 or None: not set", "got 0", NULL});
    expect_error("Adam(clipvalue=-2)", (const char *const[]){"'clipvalue'", "got -2", NULL});
    expect_error("SGD(global_clipnorm=\"big\")",
                 (const char *const[]){"'global_clipnorm'", "number", NULL});
    expect_error("SGD(clipnorm=1, global_clipnorm=1)",
                 (const char *const[]){"clipnorm and global_clipnorm cannot both be set", NULL});
    expect_error("SGD(0.1, 0.9, 0, False, 1.0)", (const char *const[]){"positional", NULL});
}

/* A model whose weight tensors are kernel (1, 2), bias (2); BN gamma, beta
 * (2 each) and its moving mean and variance (frozen); then a frozen Dense. */
static const char *const model_text =
    "Dense(2, input_shape=(1,))\n"
    "BatchNormalization()\n"
    "Dense(1, trainable=False)\n"
    "compile(loss=\"mse\", optimizer=SGD(learning_rate=1.0, %s))\n";

/* kernel [3, 4] (norm 5), bias [0.6, 0.8] (norm 1), gamma [0, 0],
 * beta [0, 0], moving statistics 100, the frozen Dense 50. */
static void set_grads(nn_model *m)
{
    static const float g0[] = {3, 4, 0.6f, 0.8f};
    memcpy(m->grads, g0, sizeof g0);
    const nn_layer *bn = &m->layers[1], *fz = &m->layers[2];
    for (size_t i = 0; i < bn->param_len; i++)
        m->grads[bn->param_off + i] = i < 4 ? 0.0f : 100.0f;
    for (size_t i = 0; i < fz->param_len; i++)
        m->grads[fz->param_off + i] = 50.0f;
}

static void clip_case(const char *opt, const float want[4])
{
    char text[512];
    snprintf(text, sizeof text, model_text, opt);
    nn_model m;
    nn_error e;
    TU_ASSERT_OK(tu_build(text, &m, &e), e);
    CU_ASSERT_EQUAL_FATAL(m.nparams, 4 + 8 + 3);
    set_grads(&m);
    nn_model_clip_grads(&m);
    for (int i = 0; i < 4; i++)
        if (fabsf(m.grads[i] - want[i]) > 1e-6f) {
            CU_FAIL("clipped gradient");
            printf("\n  %s: grad[%d] = %.8g, want %.8g\n", opt, i, m.grads[i], want[i]);
        }
    const nn_layer *bn = &m.layers[1], *fz = &m.layers[2];
    for (size_t i = 4; i < bn->param_len; i++)   /* moving statistics: untouched */
        CU_ASSERT_EQUAL(m.grads[bn->param_off + i], 100.0f);
    for (size_t i = 0; i < fz->param_len; i++)
        CU_ASSERT_EQUAL(m.grads[fz->param_off + i], 50.0f);
    /* the step uses the clipped gradient: p -= 1.0 * g */
    TU_ASSERT_OK(nn_optim_alloc(&m.optim, m.nparams, &e), e);
    float p0[4];
    memcpy(p0, m.params, sizeof p0);
    set_grads(&m);
    nn_model_update(&m);
    for (int i = 0; i < 4; i++)
        CU_ASSERT(fabsf(p0[i] - m.params[i] - want[i]) < 1e-5f);
    nn_model_free(&m);
}

static void test_clipping(void)
{
    /* every tensor within its bound: nothing changes */
    clip_case("clipnorm=5", (const float[]){3, 4, 0.6f, 0.8f});
    /* each weight by its own norm: kernel 5 -> 2, bias 1 stays */
    clip_case("clipnorm=2", (const float[]){1.2f, 1.6f, 0.6f, 0.8f});
    clip_case("clipnorm=0.5", (const float[]){0.3f, 0.4f, 0.3f, 0.4f});
    /* all together: norm sqrt(25 + 1) = sqrt(26) -> 2; factor 2/sqrt(26) = 0.39223227 */
    clip_case("global_clipnorm=2", (const float[]){1.1766968f, 1.5689291f, 0.23533936f,
                                                   0.31378582f});
    clip_case("global_clipnorm=6", (const float[]){3, 4, 0.6f, 0.8f});
    clip_case("clipvalue=0.7", (const float[]){0.7f, 0.7f, 0.6f, 0.7f});
    /* clipvalue first: kernel [3, 3.5], norm sqrt(21.25) = 4.6097722 -> 2 */
    clip_case("clipvalue=3.5, clipnorm=2", (const float[]){1.3015827f, 1.5185132f, 0.6f, 0.8f});
    /* clipvalue 0.7: [0.7, 0.7, 0.6, 0.7], norm sqrt(1.83) = 1.3527749 -> 1 */
    clip_case("clipvalue=0.7, global_clipnorm=1", (const float[]){0.51745489f, 0.51745489f,
                                                                  0.44353276f, 0.51745489f});
}

/* The lr column comes last; rows of a checkpoint written before it move to
 * the columns of the same names, with NaN for lr. */
static void test_history_lr(void)
{
    nn_model m;
    nn_error e;
    TU_ASSERT_OK(tu_build("Dense(1, input_shape=(2,))\ncompile(loss=\"mse\", "
                          "optimizer=\"sgd\", metrics=[\"mae\"])\n", &m, &e), e);
    nn_history h = {0};
    h.ncols = 4;
    const char *old[] = {"loss", "mae", "val_loss", "val_mae"};
    for (int c = 0; c < 4; c++)
        snprintf(h.cols[c], sizeof h.cols[c], "%s", old[c]);
    double r1[] = {1, 2, 3, 4}, r2[] = {5, 6, 7, 8};
    TU_ASSERT_OK(nn_history_add(&h, r1, &e), e);
    TU_ASSERT_OK(nn_history_add(&h, r2, &e), e);
    TU_ASSERT_OK(nn_history_columns(&h, &m, 1, &e), e);
    CU_ASSERT_EQUAL_FATAL(h.ncols, 5);
    CU_ASSERT_STRING_EQUAL(h.cols[4], "lr");
    CU_ASSERT_EQUAL(nn_history_find(&h, "lr"), 4);
    CU_ASSERT_EQUAL(h.epochs, 2);
    CU_ASSERT_EQUAL(h.vals[5 + 2], 7);   /* row 2, val_loss */
    CU_ASSERT(isnan(h.vals[4]) && isnan(h.vals[9]));
    double r3[] = {9, 10, 11, 12, 0.01};
    TU_ASSERT_OK(nn_history_add(&h, r3, &e), e);
    CU_ASSERT_EQUAL(h.vals[14], 0.01);
    /* again (same columns): nothing moves */
    TU_ASSERT_OK(nn_history_columns(&h, &m, 1, &e), e);
    CU_ASSERT_EQUAL(h.vals[1], 2);
    CU_ASSERT_EQUAL(h.vals[14], 0.01);
    /* without validation: loss, mae, lr */
    nn_history w = {0};
    TU_ASSERT_OK(nn_history_columns(&w, &m, 0, &e), e);
    CU_ASSERT_EQUAL(w.ncols, 3);
    CU_ASSERT_STRING_EQUAL(w.cols[2], "lr");
    nn_history_free(&h);
    nn_model_free(&m);
}

int main(void)
{
    static const tu_test tests[] = {
        {"ExponentialDecay", test_exponential},
        {"PiecewiseConstantDecay", test_piecewise},
        {"CosineDecay (with warm-up)", test_cosine},
        {"InverseTimeDecay", test_inverse_time},
        {"PolynomialDecay (cycle)", test_polynomial},
        {"schedule x decay x scaling x warm-up", test_composition},
        {"spellings, clip options, describe", test_spellings},
        {"pasted script: schedule in a variable", test_pasted},
        {"errors", test_errors},
        {"clipvalue, clipnorm, global_clipnorm", test_clipping},
        {"history lr column", test_history_lr},
        {NULL, NULL},
    };
    return tu_main("lr_schedule", tests);
}
