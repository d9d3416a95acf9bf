/* Keras callbacks: EarlyStopping's and ReduceLROnPlateau's decisions on
 * scripted metric sequences (the expected epochs worked out by hand from
 * tf.keras 2.11's rules, in the comments), their spec arguments and errors,
 * CSVLogger's file, a real fit that EarlyStopping stops at the epoch an
 * independent replay of its history predicts, with the best epoch's weights,
 * and the state's round trip through a checkpoint. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nntrain/callbacks.h"
#include "nntrain/checkpoint.h"
#include "nntrain/fit.h"
#include "testutil.h"

/* Feeds values to EarlyStopping from epoch 0; returns the 0-based epoch
 * it stops after (-1: never) and ORs the actions into *acts. */
static int es_run(const nn_early_stopping *es, const double *v, int n, int *acts,
                  nn_cb_state *s)
{
    nn_callbacks c;
    nn_callbacks_defaults(&c);
    c.es = *es;
    memset(s, 0, sizeof *s);
    nn_cb_reset(&c, s);
    *acts = 0;
    for (int i = 0; i < n; i++) {
        int a = nn_cb_es_step(es, s, v[i], i);
        if (a & NN_CB_SNAPSHOT)   /* what fit.c does: keep a copy */
            s->best_weights = s->best_weights ? s->best_weights : malloc(sizeof(float));
        *acts |= a;
        if (a & NN_CB_STOP)
            return i;
    }
    return -1;
}

static nn_early_stopping es_def(const char *monitor, int patience)
{
    nn_callbacks c;
    nn_callbacks_defaults(&c);
    c.es.enabled = 1;
    snprintf(c.es.monitor, sizeof c.es.monitor, "%s", monitor);
    c.es.patience = patience;
    return c.es;
}

static void test_early_stopping_rules(void)
{
    nn_cb_state s;
    int acts;
    nn_early_stopping es = es_def("val_loss", 2);
    /* best 0.9 at epoch 1; 0.95 (wait 1), 0.92 (wait 2 = patience): stop after epoch 3 */
    const double a[] = {1.0, 0.9, 0.95, 0.92, 0.8};
    CU_ASSERT_EQUAL(es_run(&es, a, 5, &acts, &s), 3);
    CU_ASSERT_EQUAL(s.stopped_epoch, 4);
    CU_ASSERT_EQUAL(s.es_best_epoch, 1);
    CU_ASSERT_EQUAL(acts & NN_CB_RESTORE, 0);   /* restore_best_weights=False */
    nn_cb_state_free(&s);
    es.restore_best_weights = 1;
    CU_ASSERT_EQUAL(es_run(&es, a, 5, &acts, &s), 3);
    CU_ASSERT(acts & NN_CB_RESTORE);
    CU_ASSERT_EQUAL(s.es_best_epoch, 1);
    nn_cb_state_free(&s);

    /* patience 0: the first epoch without improvement stops, but never epoch 0 */
    es = es_def("loss", 0);
    const double b[] = {1.0, 0.9, 0.8, 0.8};
    CU_ASSERT_EQUAL(es_run(&es, b, 4, &acts, &s), 3);
    nn_cb_state_free(&s);
    const double nan2[] = {NAN, NAN};   /* NaN never improves; epoch 0 never stops */
    CU_ASSERT_EQUAL(es_run(&es, nan2, 2, &acts, &s), 1);
    nn_cb_state_free(&s);

    /* min_delta: its absolute value; 0.95 is not 0.1 below 1.0 */
    es = es_def("loss", 1);
    es.min_delta = -0.1;
    const double c[] = {1.0, 0.95, 0.5};
    CU_ASSERT_EQUAL(es_run(&es, c, 3, &acts, &s), 1);
    nn_cb_state_free(&s);

    /* auto mode maximises *accuracy: 0.6 then 0.6 (wait 1), 0.55 (wait 2) */
    es = es_def("val_accuracy", 2);
    const double d[] = {0.5, 0.6, 0.6, 0.55, 0.9};
    CU_ASSERT_EQUAL(es_run(&es, d, 5, &acts, &s), 3);
    nn_cb_state_free(&s);
    es.mode = NN_CB_MIN;   /* explicit min: 0.6 > 0.5 does not improve */
    CU_ASSERT_EQUAL(es_run(&es, d, 5, &acts, &s), 2);
    nn_cb_state_free(&s);

    /* baseline 0.5: improving epochs above it keep counting wait but never
     * stop; 0.4 beats it (wait 0); then 0.45 (1), 0.46 (2): stop after 5 */
    es = es_def("val_loss", 2);
    es.has_baseline = 1;
    es.baseline = 0.5;
    const double f[] = {1.0, 0.9, 0.8, 0.4, 0.45, 0.46};
    CU_ASSERT_EQUAL(es_run(&es, f, 6, &acts, &s), 5);
    nn_cb_state_free(&s);
    const double g[] = {1.0, 1.0, 1.0};   /* never below the baseline: wait 2 after epoch 1 */
    CU_ASSERT_EQUAL(es_run(&es, g, 3, &acts, &s), 1);
    nn_cb_state_free(&s);

    /* start_from_epoch 2: epochs 0 and 1 do not count */
    es = es_def("loss", 0);
    es.start_from_epoch = 2;
    const double h[] = {5, 6, 7, 8};
    CU_ASSERT_EQUAL(es_run(&es, h, 4, &acts, &s), 3);
    CU_ASSERT_EQUAL(s.es_best_epoch, 2);
    nn_cb_state_free(&s);

    /* restore_best_weights keeps the first counted epoch's weights even
     * without improvement (tf.keras), so a stop can restore them */
    es = es_def("loss", 1);
    es.restore_best_weights = 1;
    const double k[] = {NAN, NAN};
    CU_ASSERT_EQUAL(es_run(&es, k, 2, &acts, &s), 1);
    CU_ASSERT(acts & NN_CB_SNAPSHOT);
    CU_ASSERT(acts & NN_CB_RESTORE);
    nn_cb_state_free(&s);
}

/* Feeds values to ReduceLROnPlateau (base lr 0.01); the epochs that reduce
 * go to red[], their new learning rates to lr[]; returns their count. */
static int rlr_run(const nn_reduce_lr *r, const double *v, int n, int *red, double *lr)
{
    nn_callbacks c;
    nn_cb_state s = {0};
    nn_callbacks_defaults(&c);
    c.rlr = *r;
    nn_cb_reset(&c, &s);
    int k = 0;
    for (int i = 0; i < n; i++) {
        double nl;
        if (nn_cb_rlr_step(r, &s, 0.01, v[i], &nl)) {
            red[k] = i;
            lr[k++] = nl;
            CU_ASSERT_DOUBLE_EQUAL(0.01 * s.lr_factor, (float)nl, 1e-12);
        }
    }
    nn_cb_state_free(&s);
    return k;
}

static nn_reduce_lr rlr_def(const char *monitor, int patience, double factor, int cooldown)
{
    nn_callbacks c;
    nn_callbacks_defaults(&c);
    c.rlr.enabled = 1;
    snprintf(c.rlr.monitor, sizeof c.rlr.monitor, "%s", monitor);
    c.rlr.patience = patience;
    c.rlr.factor = factor;
    c.rlr.cooldown = cooldown;
    return c.rlr;
}

static void test_reduce_lr_rules(void)
{
    int red[16];
    double lr[16];
    const double flat[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    /* patience 2, cooldown 1: wait 1, 2 -> reduce at epoch 2; epoch 3 leaves
     * cooldown (counter 1 -> 0) and counts wait 1 in the same epoch; 4 reduces */
    nn_reduce_lr r = rlr_def("val_loss", 2, 0.5, 1);
    CU_ASSERT_EQUAL(rlr_run(&r, flat, 9, red, lr), 4);
    CU_ASSERT_EQUAL(red[0], 2);
    CU_ASSERT_EQUAL(red[1], 4);
    CU_ASSERT_EQUAL(red[2], 6);
    CU_ASSERT_EQUAL(red[3], 8);
    CU_ASSERT_DOUBLE_EQUAL(lr[0], (double)0.01f * 0.5, 1e-15);   /* Keras's float32 lr */
    CU_ASSERT_DOUBLE_EQUAL(lr[1], (double)(float)((double)0.01f * 0.5) * 0.5, 1e-15);
    /* cooldown 2: reduce at 2; epochs 3 and 4 in cooldown (4 leaves it and
     * counts wait 1); 5 reduces; then 8 */
    r = rlr_def("val_loss", 2, 0.5, 2);
    CU_ASSERT_EQUAL(rlr_run(&r, flat, 9, red, lr), 3);
    CU_ASSERT_EQUAL(red[0], 2);
    CU_ASSERT_EQUAL(red[1], 5);
    CU_ASSERT_EQUAL(red[2], 8);
    /* no cooldown, patience 1: every epoch after the first */
    r = rlr_def("loss", 1, 0.1, 0);
    CU_ASSERT_EQUAL(rlr_run(&r, flat, 4, red, lr), 3);
    CU_ASSERT_EQUAL(red[0], 1);
    /* min_lr 5e-4: 0.01 -> 0.001 -> 0.0005 (floor), then nothing (lr not above min_lr) */
    r.min_lr = 5e-4;
    CU_ASSERT_EQUAL(rlr_run(&r, flat, 6, red, lr), 2);
    CU_ASSERT_DOUBLE_EQUAL(lr[1], 5e-4, 1e-15);
    /* min_delta 1e-4 (default): 0.99995 is no improvement over 1, 0.9998 is */
    r = rlr_def("val_loss", 1, 0.1, 0);
    const double md[] = {1.0, 0.99995, 0.9998, 0.9998};
    CU_ASSERT_EQUAL(rlr_run(&r, md, 4, red, lr), 2);
    CU_ASSERT_EQUAL(red[0], 1);
    CU_ASSERT_EQUAL(red[1], 3);
    /* auto maximises monitors containing "acc" (val_acc too) */
    r = rlr_def("val_acc", 1, 0.1, 0);
    const double acc[] = {0.5, 0.7, 0.7, 0.6};
    CU_ASSERT_EQUAL(rlr_run(&r, acc, 4, red, lr), 2);
    CU_ASSERT_EQUAL(red[0], 2);
    CU_ASSERT_EQUAL(red[1], 3);
    /* an improvement during cooldown becomes the best and resets wait */
    r = rlr_def("loss", 1, 0.5, 2);
    const double cd[] = {1.0, 1.0, 0.5, 0.6, 0.6};
    /* 1 reduces (cooldown 2); 2: cooldown 1, 0.5 best; 3: cooldown 0, wait 1 -> reduce */
    CU_ASSERT_EQUAL(rlr_run(&r, cd, 5, red, lr), 2);
    CU_ASSERT_EQUAL(red[1], 3);
    /* NaN never improves */
    r = rlr_def("loss", 1, 0.5, 0);
    const double nn[] = {1.0, NAN};
    CU_ASSERT_EQUAL(rlr_run(&r, nn, 2, red, lr), 1);
}

static void expect_spec_err(const char *cb, const char *n1, const char *n2)
{
    char text[600];
    nn_model m;
    nn_error e = {0};
    snprintf(text, sizeof text, "Dense(1, input_shape=(2,))\ncompile(loss=\"mse\", "
             "optimizer=\"sgd\")\nfit(callbacks=list(%s))\n", cb);
    int rc = tu_build(text, &m, &e);
    CU_ASSERT_EQUAL(rc, NN_EINVAL);
    if (!rc)
        nn_model_free(&m);
    if (!tu_contains(e.msg, n1) || (n2 && !tu_contains(e.msg, n2)))
        fprintf(stderr, "\n  %s: got '%s'\n", cb, e.msg);
    CU_ASSERT(tu_contains(e.msg, n1));
    if (n2)
        CU_ASSERT(tu_contains(e.msg, n2));
}

static void test_spec_arguments(void)
{
    nn_model m;
    nn_error e = {0};
    const char *ok =
        "Dense(1, input_shape=(2,))\ncompile(loss=\"mse\", optimizer=\"sgd\")\n"
        "fit(callbacks=list(EarlyStopping(\"loss\", 0.01, 3, mode=\"max\", baseline=2, "
        "restore_best_weights=TRUE, start_from_epoch=1), ReduceLROnPlateau(factor=0.5, "
        "epsilon=0.001, cooldown=2, min_lr=1e-5), CSVLogger(\"log.csv\", separator=\";\", "
        "append=True), TerminateOnNaN()))\n";
    TU_ASSERT_OK(tu_build(ok, &m, &e), e);
    const nn_callbacks *c = &m.fit.cb;
    CU_ASSERT(c->es.enabled && c->rlr.enabled && c->terminate_on_nan);
    CU_ASSERT_STRING_EQUAL(c->es.monitor, "loss");
    CU_ASSERT_DOUBLE_EQUAL(c->es.min_delta, 0.01, 0);
    CU_ASSERT_EQUAL(c->es.patience, 3);
    CU_ASSERT_EQUAL(c->es.mode, NN_CB_MAX);
    CU_ASSERT(c->es.has_baseline && c->es.baseline == 2);
    CU_ASSERT(c->es.restore_best_weights);
    CU_ASSERT_EQUAL(c->es.start_from_epoch, 1);
    CU_ASSERT_STRING_EQUAL(c->rlr.monitor, "val_loss");
    CU_ASSERT_EQUAL(c->rlr.patience, 10);
    CU_ASSERT_DOUBLE_EQUAL(c->rlr.min_delta, 0.001, 0);   /* Keras 2.0's epsilon */
    CU_ASSERT_EQUAL(c->rlr.cooldown, 2);
    CU_ASSERT_STRING_EQUAL(c->csv_path, "log.csv");
    CU_ASSERT_STRING_EQUAL(c->csv_sep, ";");
    CU_ASSERT(c->csv_append);
    nn_model_free(&m);
    /* R keras names, and keras3's callback_terminate_on_nan */
    const char *r =
        "layer_dense(units = 1, input_shape = c(2))\ncompile(loss = \"mse\", optimizer = \"sgd\")\n"
        "fit(callbacks = list(callback_early_stopping(patience = 2), "
        "callback_reduce_lr_on_plateau(monitor = \"loss\"), callback_csv_logger(\"a.csv\"), "
        "callback_terminate_on_naan()))\n";
    TU_ASSERT_OK(tu_build(r, &m, &e), e);
    CU_ASSERT(m.fit.cb.es.enabled && m.fit.cb.es.patience == 2 && !m.fit.cb.es.has_baseline);
    CU_ASSERT_STRING_EQUAL(m.fit.cb.rlr.monitor, "loss");
    CU_ASSERT_DOUBLE_EQUAL(m.fit.cb.rlr.factor, 0.1, 0);
    CU_ASSERT_DOUBLE_EQUAL(m.fit.cb.rlr.min_delta, 1e-4, 0);
    CU_ASSERT(m.fit.cb.terminate_on_nan);
    nn_model_free(&m);

    expect_spec_err("EarlyStopping(patience=-1)", "t.nn:3:", "patience must be >= 0, found -1");
    expect_spec_err("ReduceLROnPlateau(factor=1.5)", "factor must be in (0, 1), found 1.5",
                    "does not support a factor >= 1.0");
    expect_spec_err("ReduceLROnPlateau(cooldown=-2)", "cooldown must be >= 0", NULL);
    expect_spec_err("EarlyStoping(patience=2)", "unknown callback 'EarlyStoping': did you mean "
                    "'EarlyStopping'?", "known: EarlyStopping, ReduceLROnPlateau");
    expect_spec_err("callback_early_stoping()", "did you mean 'callback_early_stopping'?",
                    "known: callback_early_stopping");
    /* a Keras callback nntrain does not run is a note, not an error */
    nn_spec sp;
    TU_ASSERT_OK(nn_spec_parse("Dense(1, input_shape=(2,))\nfit(callbacks=list("
                               "TensorBoard(\"logs\"), EarlyStopping()))\n", "t.nn", &sp, &e), e);
    CU_ASSERT(sp.nnotes == 1 && tu_contains(sp.notes[0], "TensorBoard(...) ignored"));
    nn_spec_free(&sp);
    expect_spec_err("EarlyStopping(), EarlyStopping()", "a second EarlyStopping()", NULL);
    expect_spec_err("EarlyStopping(mode=\"up\")", "unknown mode 'up'", "auto, min, max");
    expect_spec_err("CSVLogger()", "CSVLogger() needs a file name", NULL);
}

static void test_monitor_check(void)
{
    nn_callbacks c;
    nn_error e = {0};
    const char cols[4][48] = {"loss", "accuracy", "val_loss", "val_accuracy"};
    nn_callbacks_defaults(&c);
    CU_ASSERT_EQUAL(nn_cb_check(&c, cols, 4, &e), NN_OK);   /* nothing enabled */
    c.es.enabled = 1;
    snprintf(c.es.where, sizeof c.es.where, "m.nn:3:5: EarlyStopping()");
    snprintf(c.es.monitor, sizeof c.es.monitor, "val_acc");
    CU_ASSERT_EQUAL(nn_cb_check(&c, cols, 4, &e), NN_EINVAL);
    CU_ASSERT(tu_contains(e.msg, "m.nn:3:5: EarlyStopping(): monitor 'val_acc' is not one of "
                                 "this run's metrics"));
    CU_ASSERT(tu_contains(e.msg, "(monitors: loss, accuracy, val_loss, val_accuracy)"));
    snprintf(c.es.monitor, sizeof c.es.monitor, "val_accuracy");
    CU_ASSERT_EQUAL(nn_cb_check(&c, cols, 4, &e), NN_OK);
    c.rlr.enabled = 1;   /* its default val_loss without validation data */
    snprintf(c.rlr.where, sizeof c.rlr.where, "--reduce-lr-*");
    snprintf(c.es.monitor, sizeof c.es.monitor, "loss");
    CU_ASSERT_EQUAL(nn_cb_check(&c, cols, 2, &e), NN_EINVAL);
    CU_ASSERT(tu_contains(e.msg, "--reduce-lr-*: monitor 'val_loss'"));
    CU_ASSERT(tu_contains(e.msg, "there is no validation data"));
}

static void test_csv_logger(void)
{
    nn_callbacks c;
    nn_error e = {0};
    const char cols[3][48] = {"loss", "mae", "val_loss"};
    const double r0[3] = {0.5, 1.0, 0.25}, r1[3] = {0.1, 1e-5, 1.0 / 3};
    nn_callbacks_defaults(&c);
    snprintf(c.csv_path, sizeof c.csv_path, "%s/log.csv", tu_tmpdir());
    TU_ASSERT_OK(nn_cb_csv_start(&c, &e), e);
    TU_ASSERT_OK(nn_cb_csv_row(&c, cols, 3, r0, 0, &e), e);
    TU_ASSERT_OK(nn_cb_csv_row(&c, cols, 3, r1, 1, &e), e);
    char buf[512] = "";
    FILE *f = fopen(c.csv_path, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    /* Keras: epoch from 0, keys sorted, floats as Python's repr */
    CU_ASSERT_STRING_EQUAL(buf, "epoch,loss,mae,val_loss\n0,0.5,1.0,0.25\n"
                                "1,0.1,1e-05,0.3333333333333333\n");
    /* append=False empties it at a fresh start; append=True keeps it */
    c.csv_append = 1;
    TU_ASSERT_OK(nn_cb_csv_start(&c, &e), e);
    TU_ASSERT_OK(nn_cb_csv_row(&c, cols, 3, r0, 2, &e), e);
    c.csv_append = 0;
    snprintf(c.csv_sep, sizeof c.csv_sep, ";");
    f = fopen(c.csv_path, "r");
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    CU_ASSERT(tu_contains(buf, "\n2,0.5,1.0,0.25\n"));
    TU_ASSERT_OK(nn_cb_csv_start(&c, &e), e);
    TU_ASSERT_OK(nn_cb_csv_row(&c, cols, 3, r0, 0, &e), e);
    f = fopen(c.csv_path, "r");
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    CU_ASSERT_STRING_EQUAL(buf, "epoch;loss;mae;val_loss\n0;0.5;1.0;0.25\n");
}

/* ---- a real run ---------------------------------------------------------- */
#define N 96
static float xs[N * 4], ys[N];

static const char *const spec_base =
    "Dense(8, activation=\"tanh\", input_shape=(4,))\n"
    "Dense(1)\n"
    "compile(loss=\"mse\", optimizer=SGD(lr=0.05))\n";

/* Trains spec_base + fit_line for epochs; the history and model come back. */
static int fit_run(const char *fit_line, int epochs, nn_model *m, nn_history *h, nn_error *e)
{
    char text[1024];
    nn_dataset ds;
    nn_dist d;
    nn_dist_single(&d);
    snprintf(text, sizeof text, "%s%s", spec_base, fit_line);
    int rc = tu_build(text, m, e);
    if (rc)
        return rc;
    nn_model_init_params(m, 3);
    nn_memory_open(&ds, xs, ys, N, nn_shape1(4), 1, 0, "memory", e);
    nn_fit_opts o = {.fit = m->fit, .progress = 0};
    o.fit.verbose = 0;
    o.fit.epochs = epochs;
    memset(h, 0, sizeof *h);
    rc = nn_fit(m, &ds, NULL, &o, &d, h, e);
    nn_data_close(&ds);
    return rc;
}

/* The epoch EarlyStopping(min_delta=md, patience=p) on a minimised column
 * stops after, replayed from a history: the best so far must drop by more
 * than md; p epochs without that stop (not after epoch 0). */
static int replay_stop(const nn_history *h, int col, double md, int p, int *best_epoch)
{
    double best = INFINITY;
    int since = 0;
    for (int i = 0; i < h->epochs; i++) {
        double v = h->vals[i * h->ncols + col];
        if (v < best - md) {
            best = v;
            *best_epoch = i;
            since = 0;
            continue;
        }
        if (++since >= p && i > 0)
            return i;
    }
    return -1;
}

static void test_fit_stops_and_restores(void)
{
    nn_error e = {0};
    nn_model full, stop, best;
    nn_history hf, hs, hb;
    const int E = 12;
    const char *plain = "fit(batch_size=16, validation_split=0.25, shuffle=False)\n";
    TU_ASSERT_OK(fit_run(plain, E, &full, &hf, &e), e);
    int col = nn_history_find(&hf, "val_loss"), be = -1;
    CU_ASSERT_FATAL(col >= 0);
    /* min_delta from the curve: an improvement must beat 3% of the first drop */
    double md = 0.03 * (hf.vals[col] - hf.vals[hf.ncols + col]);
    int expect = replay_stop(&hf, col, md, 2, &be);
    CU_ASSERT_FATAL(expect > 0 && expect < E - 1);   /* the set-up stops early */
    char line[300];
    snprintf(line, sizeof line, "fit(batch_size=16, validation_split=0.25, shuffle=False, "
             "callbacks=list(EarlyStopping(min_delta=%.17g, patience=2, "
             "restore_best_weights=True)))\n", md);
    TU_ASSERT_OK(fit_run(line, E, &stop, &hs, &e), e);
    CU_ASSERT_EQUAL(hs.epochs, expect + 1);
    CU_ASSERT_EQUAL(memcmp(hs.vals, hf.vals, (size_t)hs.epochs * hs.ncols * sizeof(double)), 0);
    /* the weights are those after epoch be: a plain run of be + 1 epochs */
    TU_ASSERT_OK(fit_run(plain, be + 1, &best, &hb, &e), e);
    CU_ASSERT_EQUAL(memcmp(stop.params, best.params, best.nparams * sizeof(float)), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(stop.params, full.params, full.nparams * sizeof(float)), 0);
    printf("\n  stopped after epoch %d of %d, best epoch %d (min_delta %.3g) ", expect + 1, E,
           be + 1, md);
    nn_model_free(&full);
    nn_model_free(&stop);
    nn_model_free(&best);
    nn_history_free(&hf);
    nn_history_free(&hs);
    nn_history_free(&hb);
}

/* ReduceLROnPlateau in a run: its factor reaches the optimizer. */
static void test_fit_reduces_lr(void)
{
    nn_error e = {0};
    nn_model m;
    nn_history h;
    /* min_delta 100: nothing improves after epoch 0; patience 1: epochs 1, 2 reduce */
    const char *line = "fit(batch_size=16, shuffle=False, callbacks=list(ReduceLROnPlateau("
                       "\"loss\", factor=0.5, patience=1, min_delta=100)))\n";
    TU_ASSERT_OK(fit_run(line, 3, &m, &h, &e), e);
    CU_ASSERT_DOUBLE_EQUAL(nn_optim_lr(&m.optim), (double)(float)((double)0.05f * 0.5) * 0.5,
                           1e-9);
    nn_model_free(&m);
    nn_history_free(&h);
}

/* The state round-trips bitwise through a checkpoint (infinities, kept
 * weights); a checkpoint without it gives a fresh state; kept weights of
 * another size are refused and leave the state alone. */
static void test_state_in_checkpoint(void)
{
    nn_error e = {0};
    nn_model m;
    const char *spec = "Dense(3, input_shape=(2,))\ncompile(loss=\"mse\", optimizer=\"adam\")\n";
    TU_ASSERT_OK(tu_build(spec, &m, &e), e);
    nn_model_init_params(&m, 1);
    nn_cb_state s = {0}, t = {0}, u = {0};
    nn_callbacks c;
    nn_callbacks_defaults(&c);
    nn_cb_reset(&c, &s);
    s.stopped_epoch = 7;
    s.es_wait = 3;
    s.es_best_epoch = 2;
    s.es_best = 0.1234567890123;
    s.rlr_best = INFINITY;   /* nothing seen yet */
    s.rlr_wait = 1;
    s.rlr_cooldown = 2;
    s.lr_factor = (double)(float)(0.001 * 0.1) / 0.001;
    s.nbest = m.nparams;
    s.best_weights = malloc(m.nparams * sizeof(float));
    memcpy(s.best_weights, m.params, m.nparams * sizeof(float));
    s.best_weights[0] = -0.0f;
    char path[1024], bare[1024];
    snprintf(path, sizeof path, "%s/cb.h5", tu_tmpdir());
    snprintf(bare, sizeof bare, "%s/nocb.h5", tu_tmpdir());
    nn_train_state st;
    memset(&st, 0, sizeof st);
    st.cb = &s;
    TU_ASSERT_OK(nn_ckpt_save(path, &m, spec, &st, NULL, &e), e);
    st.cb = NULL;
    TU_ASSERT_OK(nn_ckpt_save(bare, &m, spec, &st, NULL, &e), e);
    TU_ASSERT_OK(nn_ckpt_load_callbacks(path, &t, m.nparams, &e), e);
    CU_ASSERT(t.started && t.stopped_epoch == 7 && t.es_wait == 3 && t.es_best_epoch == 2);
    CU_ASSERT(t.es_best == s.es_best && isinf(t.rlr_best) && t.rlr_best > 0);
    CU_ASSERT(t.rlr_wait == 1 && t.rlr_cooldown == 2 && t.lr_factor == s.lr_factor);
    CU_ASSERT_STRING_EQUAL(t.es_monitor, "val_loss");
    CU_ASSERT_FATAL(t.best_weights && t.nbest == m.nparams);
    CU_ASSERT_EQUAL(memcmp(t.best_weights, s.best_weights, m.nparams * sizeof(float)), 0);
    /* no /nntrain/callbacks: a fresh state replaces the old one */
    TU_ASSERT_OK(nn_ckpt_load_callbacks(bare, &t, m.nparams, &e), e);
    CU_ASSERT(!t.started && !t.best_weights);
    /* kept weights for another model: refused, u untouched */
    u.es_wait = 5;
    CU_ASSERT_EQUAL(nn_ckpt_load_callbacks(path, &u, m.nparams + 1, &e), NN_EFORMAT);
    CU_ASSERT(tu_contains(e.msg, "/nntrain/callbacks"));
    CU_ASSERT_EQUAL(u.es_wait, 5);
    nn_cb_state_free(&s);
    nn_cb_state_free(&t);
    nn_model_free(&m);
}

int main(void)
{
    tu_fill_uniform(xs, N * 4, 11, -1.0f, 1.0f);
    for (int i = 0; i < N; i++)
        ys[i] = sinf(2 * xs[i * 4]) + xs[i * 4 + 1] * xs[i * 4 + 2];
    const tu_test tests[] = {
        {"EarlyStopping's rules on scripted values", test_early_stopping_rules},
        {"ReduceLROnPlateau's reductions and cooldown", test_reduce_lr_rules},
        {"callbacks in the spec: arguments and errors", test_spec_arguments},
        {"unknown monitors list the run's metrics", test_monitor_check},
        {"CSVLogger writes Keras's file", test_csv_logger},
        {"EarlyStopping stops a run and restores the best weights", test_fit_stops_and_restores},
        {"ReduceLROnPlateau reaches the optimizer", test_fit_reduces_lr},
        {"the callbacks' state in a checkpoint", test_state_in_checkpoint},
        {NULL, NULL}};
    return tu_main("callbacks", tests);
}
