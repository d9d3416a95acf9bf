/* fit(callbacks=list(...)) in the spec: EarlyStopping, ReduceLROnPlateau,
 * CSVLogger and TerminateOnNaN with Keras's arguments, positional order and
 * defaults, and their R keras names (callback_early_stopping, ...,
 * callback_terminate_on_naan as R keras spells it; keras3's
 * callback_terminate_on_nan too). Errors name the call's location. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nntrain/args.h"
#include "train/callbacks_spec.h"

static const char *const es_args[] = {"monitor", "min_delta", "patience", "verbose", "mode",
                                      "baseline", "restore_best_weights", "start_from_epoch",
                                      NULL};
static const char *const rlr_args[] = {"monitor", "factor", "patience", "verbose", "mode",
                                       "min_delta", "cooldown", "min_lr", NULL};
/* Keras 2.0-2.1.5 called min_delta epsilon */
static const char *const rlr_alias[] = {"epsilon", "min_delta", NULL};
static const char *const csv_args[] = {"filename", "separator", "append", NULL};
static const char *const modes[] = {"auto", "min", "max", NULL};

enum { CB_ES, CB_RLR, CB_CSV, CB_NAN, CB_CKPT, CB_KINDS };
/* [kind] = {Python, R, R alternative} */
static const char *const names[CB_KINDS][3] = {
    {"EarlyStopping", "callback_early_stopping", NULL},
    {"ReduceLROnPlateau", "callback_reduce_lr_on_plateau", NULL},
    {"CSVLogger", "callback_csv_logger", NULL},
    {"TerminateOnNaN", "callback_terminate_on_naan", "callback_terminate_on_nan"},
    {"ModelCheckpoint", "callback_model_checkpoint", NULL}};

static int kind_of(const char *fn)
{
    for (int k = 0; k < CB_KINDS; k++)
        for (int j = 0; j < 3; j++)
            if (names[k][j] && !strcmp(fn, names[k][j]))
                return k;
    return -1;
}

int nn_cb_is_checkpoint(const char *fn)
{
    return kind_of(fn) == CB_CKPT;
}

static int monitor_arg(nn_args *a, char *out, size_t len, nn_error *e)
{
    char w[300];
    const char *m;
    int rc = nn_args_str(a, "monitor", "val_loss", &m, e);
    if (!rc && (!m || !m[0] || strlen(m) >= len))
        rc = nn_err(e, NN_EINVAL, "%s: %s(): monitor must be a metric name such as \"val_loss\"",
                    nn_value_where(a->call, nn_args_get(a, "monitor"), w, sizeof w), a->call->fn);
    if (!rc)
        snprintf(out, len, "%s", m);
    return rc;
}

static int nonneg_int(nn_args *a, const char *name, int def, int *out, nn_error *e)
{
    char w[300];
    int rc = nn_args_int(a, name, def, out, e);
    if (!rc && *out < 0)
        rc = nn_err(e, NN_EINVAL, "%s: %s(): %s must be >= 0, found %d",
                    nn_value_where(a->call, nn_args_get(a, name), w, sizeof w), a->call->fn,
                    name, *out);
    return rc;
}

static int finite_arg(nn_args *a, const char *name, double def, double *out, nn_error *e)
{
    char w[300];
    int rc = nn_args_double(a, name, def, out, e);
    if (!rc && !isfinite(*out))
        rc = nn_err(e, NN_EINVAL, "%s: %s(): %s must be a finite number",
                    nn_value_where(a->call, nn_args_get(a, name), w, sizeof w), a->call->fn,
                    name);
    return rc;
}

static int early_stopping(nn_early_stopping *es, nn_args *a, nn_error *e)
{
    int rc = monitor_arg(a, es->monitor, sizeof es->monitor, e), ignore;
    if (!rc)
        rc = finite_arg(a, "min_delta", 0, &es->min_delta, e);
    if (!rc)
        rc = nonneg_int(a, "patience", 0, &es->patience, e);
    if (!rc)   /* the messages follow train's --verbose */
        rc = nn_args_int(a, "verbose", 0, &ignore, e);
    if (!rc)
        rc = nn_args_choice(a, "mode", "auto", modes, &es->mode, e);
    const nn_value *b = nn_args_get(a, "baseline");
    es->has_baseline = b && b->kind != NN_V_NONE;
    if (!rc && es->has_baseline)
        rc = finite_arg(a, "baseline", 0, &es->baseline, e);
    if (!rc)
        rc = nn_args_bool(a, "restore_best_weights", 0, &es->restore_best_weights, e);
    if (!rc)
        rc = nonneg_int(a, "start_from_epoch", 0, &es->start_from_epoch, e);
    return rc;
}

static int reduce_lr(nn_reduce_lr *r, nn_args *a, nn_error *e)
{
    char w[300];
    int rc = monitor_arg(a, r->monitor, sizeof r->monitor, e), ignore;
    if (!rc)
        rc = finite_arg(a, "factor", 0.1, &r->factor, e);
    if (!rc && !(r->factor > 0 && r->factor < 1))
        rc = nn_err(e, NN_EINVAL, "%s: %s(): factor must be in (0, 1), found %g (Keras: "
                    "ReduceLROnPlateau does not support a factor >= 1.0)",
                    nn_value_where(a->call, nn_args_get(a, "factor"), w, sizeof w), a->call->fn,
                    r->factor);
    if (!rc)
        rc = nonneg_int(a, "patience", 10, &r->patience, e);
    if (!rc)
        rc = nn_args_int(a, "verbose", 0, &ignore, e);
    if (!rc)
        rc = nn_args_choice(a, "mode", "auto", modes, &r->mode, e);
    if (!rc)
        rc = finite_arg(a, "min_delta", 1e-4, &r->min_delta, e);
    if (!rc)
        rc = nonneg_int(a, "cooldown", 0, &r->cooldown, e);
    if (!rc)
        rc = finite_arg(a, "min_lr", 0, &r->min_lr, e);
    if (!rc && r->min_lr < 0)
        rc = nn_err(e, NN_EINVAL, "%s: %s(): min_lr must be >= 0, found %g",
                    nn_value_where(a->call, nn_args_get(a, "min_lr"), w, sizeof w), a->call->fn,
                    r->min_lr);
    return rc;
}

static int csv_logger(nn_callbacks *c, nn_args *a, nn_error *e)
{
    char w[300];
    const char *path, *sep;
    int rc = nn_args_str(a, "filename", NULL, &path, e);
    if (!rc && (!path || !path[0] || strlen(path) >= sizeof c->csv_path))
        rc = nn_err(e, NN_EINVAL, "%s: %s() needs a file name (filename=\"log.csv\")",
                    nn_value_where(a->call, NULL, w, sizeof w), a->call->fn);
    if (!rc)
        rc = nn_args_str(a, "separator", ",", &sep, e);
    if (!rc && (!sep || strlen(sep) != 1))
        rc = nn_err(e, NN_EINVAL, "%s: %s(): separator must be one character",
                    nn_value_where(a->call, nn_args_get(a, "separator"), w, sizeof w),
                    a->call->fn);
    if (!rc)
        rc = nn_args_bool(a, "append", 0, &c->csv_append, e);
    if (!rc) {
        snprintf(c->csv_path, sizeof c->csv_path, "%s", path);
        snprintf(c->csv_sep, sizeof c->csv_sep, "%s", sep);
    }
    return rc;
}

static int unknown(const nn_call *call, nn_error *e)
{
    const char *cands[CB_KINDS * 3 + 1];
    char known[400] = "", w[300], hint[120] = "";
    int n = 0, r = !strncmp(call->fn, "callback_", 9);
    for (int k = 0; k < CB_KINDS; k++) {
        for (int j = 0; j < 3; j++)
            if (names[k][j])
                cands[n++] = names[k][j];
        snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", k ? ", " : "",
                 names[k][r]);
    }
    cands[n] = NULL;
    const char *g = nn_suggest(call->fn, cands);
    if (g)
        snprintf(hint, sizeof hint, ": did you mean '%s'?", g);
    return nn_err(e, NN_EINVAL, "%s: unknown callback '%s'%s (known: %s)",
                  nn_value_where(call, NULL, w, sizeof w), call->fn, hint, known);
}

int nn_cb_from_call(nn_callbacks *c, const nn_call *call, nn_error *e)
{
    static const char *const none[] = {NULL};
    static const char *const *const args[] = {es_args, rlr_args, csv_args, none};
    char w[300];
    int k = kind_of(call->fn);
    if (k < 0 || k == CB_CKPT)
        return unknown(call, e);
    int twice = (k == CB_ES && c->es.enabled) || (k == CB_RLR && c->rlr.enabled) ||
                (k == CB_CSV && c->csv_path[0]) || (k == CB_NAN && c->terminate_on_nan);
    if (twice)
        return nn_err(e, NN_EINVAL, "%s: a second %s(): give each callback once",
                      nn_value_where(call, NULL, w, sizeof w), call->fn);
    nn_args a;
    int rc = nn_args_bind(&a, call, args[k], k == CB_RLR ? rlr_alias : NULL, e);
    if (!rc && k == CB_ES && !(rc = early_stopping(&c->es, &a, e))) {
        c->es.enabled = 1;
        snprintf(c->es.where, sizeof c->es.where, "%s: %s()",
                 nn_value_where(call, NULL, w, sizeof w), call->fn);
    } else if (!rc && k == CB_RLR && !(rc = reduce_lr(&c->rlr, &a, e))) {
        c->rlr.enabled = 1;
        snprintf(c->rlr.where, sizeof c->rlr.where, "%s: %s()",
                 nn_value_where(call, NULL, w, sizeof w), call->fn);
    } else if (!rc && k == CB_CSV) {
        rc = csv_logger(c, &a, e);
    } else if (!rc && k == CB_NAN) {
        c->terminate_on_nan = 1;
    }
    return rc;
}
