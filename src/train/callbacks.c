/* The decisions of EarlyStopping and ReduceLROnPlateau (tf.keras 2.11-2.15
 * rules, written out below) and CSVLogger's file. Pure functions of the
 * monitored values: the scripted tests drive them without training. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nntrain/callbacks.h"
#include "nntrain/spec.h"

void nn_callbacks_defaults(nn_callbacks *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->es.monitor, sizeof c->es.monitor, "val_loss");
    snprintf(c->rlr.monitor, sizeof c->rlr.monitor, "val_loss");
    c->rlr.factor = 0.1;
    c->rlr.patience = 10;
    c->rlr.min_delta = 1e-4;
    snprintf(c->csv_sep, sizeof c->csv_sep, ",");
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

/* tf.keras: EarlyStopping's auto maximises monitors ending in acc, accuracy
 * or auc; ReduceLROnPlateau's those containing "acc". */
int nn_cb_maximize(const char *monitor, int mode, int es)
{
    if (mode != NN_CB_AUTO)
        return mode == NN_CB_MAX;
    if (es)
        return ends_with(monitor, "acc") || ends_with(monitor, "accuracy") ||
               ends_with(monitor, "auc");
    return strstr(monitor, "acc") != NULL;
}

static int has_col(const char (*cols)[48], int ncols, const char *name)
{
    for (int i = 0; i < ncols; i++)
        if (!strcmp(cols[i], name))
            return 1;
    return 0;
}

static int check_one(const char *where, const char *monitor,
                     const char (*cols)[48], int ncols, nn_error *e)
{
    const char *cands[64];
    char known[600] = "", hint[120] = "";
    int has_val = 0;
    for (int i = 0; i < ncols && i < 63; i++) {
        if (!strcmp(cols[i], monitor))
            return NN_OK;
        cands[i] = cols[i];
        has_val |= !strncmp(cols[i], "val_", 4);
        snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", i ? ", " : "",
                 cols[i]);
    }
    cands[ncols < 63 ? ncols : 63] = NULL;
    const char *g = nn_suggest(monitor, cands);
    int alt = has_col(cols, ncols, monitor + (strncmp(monitor, "val_", 4) ? 0 : 4));
    if (!strncmp(monitor, "val_", 4) && !has_val)   /* before "did you mean" */
        snprintf(hint, sizeof hint, ": there is no validation data (give --val FILE or "
                 "validation_split%s%s%s)", alt ? ", or monitor \"" : "",
                 alt ? monitor + 4 : "", alt ? "\"" : "");
    else if (g)
        snprintf(hint, sizeof hint, ": did you mean '%s'?", g);
    return nn_err(e, NN_EINVAL, "%s: monitor '%s' is not one of this run's metrics%s "
                  "(monitors: %s)", where, monitor, hint, known);
}

int nn_cb_check(const nn_callbacks *c, const char (*cols)[48], int ncols, nn_error *e)
{
    int rc = NN_OK;
    if (c->es.enabled)
        rc = check_one(c->es.where, c->es.monitor, cols, ncols, e);
    if (!rc && c->rlr.enabled)
        rc = check_one(c->rlr.where, c->rlr.monitor, cols, ncols, e);
    return rc;
}

void nn_cb_reset(const nn_callbacks *c, nn_cb_state *s)
{
    if (!s->started) {
        free(s->best_weights);
        memset(s, 0, sizeof *s);
        s->lr_factor = 1;
        s->started = 1;
    }
    if (strcmp(s->es_monitor, c->es.monitor)) {   /* on_train_begin */
        snprintf(s->es_monitor, sizeof s->es_monitor, "%s", c->es.monitor);
        s->es_wait = 0;
        s->es_best_epoch = -1;
        s->es_best = nn_cb_maximize(c->es.monitor, c->es.mode, 1) ? -INFINITY : INFINITY;
        free(s->best_weights);
        s->best_weights = NULL;
        s->nbest = 0;
    }
    if (strcmp(s->rlr_monitor, c->rlr.monitor)) {   /* _reset */
        snprintf(s->rlr_monitor, sizeof s->rlr_monitor, "%s", c->rlr.monitor);
        s->rlr_wait = s->rlr_cooldown = 0;
        s->rlr_best = nn_cb_maximize(c->rlr.monitor, c->rlr.mode, 0) ? -INFINITY : INFINITY;
    }
}

/* _is_improvement: monitor_op(value - min_delta, reference) with min_delta
 * = |min_delta|, negated when minimising. A NaN never improves. */
static int es_improves(const nn_early_stopping *es, double v, double ref)
{
    double d = fabs(es->min_delta);
    return nn_cb_maximize(es->monitor, es->mode, 1) ? v - d > ref : v + d < ref;
}

/* on_epoch_end: before start_from_epoch nothing counts; the first counted
 * epoch keeps its weights if none are kept; wait grows each epoch and
 * restarts when the value beats the best (and the baseline, if given);
 * an improving epoch never stops; otherwise wait >= patience stops after
 * any epoch but the first. */
int nn_cb_es_step(const nn_early_stopping *es, nn_cb_state *s, double current, int epoch)
{
    int act = 0;
    if (epoch < es->start_from_epoch)
        return 0;
    if (es->restore_best_weights && !s->best_weights)
        act |= NN_CB_SNAPSHOT;
    s->es_wait++;
    if (es_improves(es, current, s->es_best)) {
        s->es_best = current;
        s->es_best_epoch = epoch;
        if (es->restore_best_weights)
            act |= NN_CB_SNAPSHOT;
        if (!es->has_baseline || es_improves(es, current, es->baseline))
            s->es_wait = 0;
        return act;
    }
    if (s->es_wait >= es->patience && epoch > 0) {
        s->stopped_epoch = epoch + 1;
        act |= NN_CB_STOP;
        if (es->restore_best_weights && (s->best_weights || (act & NN_CB_SNAPSHOT)))
            act |= NN_CB_RESTORE;
    }
    return act;
}

/* on_epoch_end: in cooldown the counter drops and wait restarts; a value
 * beyond best by min_delta becomes the best and restarts wait; otherwise,
 * out of cooldown, wait grows and at patience the lr (as a float32, like
 * Keras's variable) becomes max(lr * factor, min_lr) if it is above min_lr,
 * then cooldown starts and wait restarts. */
int nn_cb_rlr_step(const nn_reduce_lr *r, nn_cb_state *s, double base_lr, double current,
                   double *new_lr)
{
    int max = nn_cb_maximize(r->monitor, r->mode, 0);
    if (s->rlr_cooldown > 0) {
        s->rlr_cooldown--;
        s->rlr_wait = 0;
    }
    if (max ? current > s->rlr_best + r->min_delta : current < s->rlr_best - r->min_delta) {
        s->rlr_best = current;
        s->rlr_wait = 0;
        return 0;
    }
    if (s->rlr_cooldown > 0 || ++s->rlr_wait < r->patience)
        return 0;
    double old_lr = (float)(base_lr * s->lr_factor);
    if (!(old_lr > (float)r->min_lr))
        return 0;
    double lr = old_lr * r->factor;
    if (lr < r->min_lr)
        lr = r->min_lr;
    s->lr_factor = base_lr > 0 ? (double)(float)lr / base_lr : 1;
    s->rlr_cooldown = r->cooldown;
    s->rlr_wait = 0;
    *new_lr = lr;
    return 1;
}

/* A float as Python's repr writes it: the shortest text that reads back. */
static void repr(double v, char *buf, size_t len)
{
    if (isnan(v)) {
        snprintf(buf, len, "nan");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, len, v > 0 ? "inf" : "-inf");
        return;
    }
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, len, "%.*g", p, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    if (!strpbrk(buf, ".en"))   /* 1 -> 1.0, as Python */
        snprintf(buf + strlen(buf), len - strlen(buf), ".0");
}

int nn_cb_csv_start(const nn_callbacks *c, nn_error *e)
{
    if (!c->csv_path[0] || c->csv_append)
        return NN_OK;
    FILE *f = fopen(c->csv_path, "w");
    if (!f || fclose(f))
        return nn_err(e, NN_EIO, "CSVLogger: cannot write '%s': %s", c->csv_path,
                      strerror(errno));
    return NN_OK;
}

int nn_cb_csv_row(const nn_callbacks *c, const char (*cols)[48], int ncols, const double *row,
                  int epoch, nn_error *e)
{
    if (!c->csv_path[0])
        return NN_OK;
    int idx[64], n = ncols < 64 ? ncols : 64;
    for (int i = 0; i < n; i++) {   /* Keras sorts the keys */
        int j = i;
        for (; j > 0 && strcmp(cols[idx[j - 1]], cols[i]) > 0; j--)
            idx[j] = idx[j - 1];
        idx[j] = i;
    }
    struct stat st;
    int header = stat(c->csv_path, &st) != 0 || st.st_size == 0;
    FILE *f = fopen(c->csv_path, "a");
    if (!f)
        return nn_err(e, NN_EIO, "CSVLogger: cannot write '%s': %s", c->csv_path,
                      strerror(errno));
    if (header) {
        fprintf(f, "epoch");
        for (int i = 0; i < n; i++)
            fprintf(f, "%s%s", c->csv_sep, cols[idx[i]]);
        fprintf(f, "\n");
    }
    fprintf(f, "%d", epoch);
    for (int i = 0; i < n; i++) {
        char v[40];
        repr(row[idx[i]], v, sizeof v);
        fprintf(f, "%s%s", c->csv_sep, v);
    }
    fprintf(f, "\n");
    if (ferror(f) | fclose(f))
        return nn_err(e, NN_EIO, "CSVLogger: error writing '%s'", c->csv_path);
    return NN_OK;
}

void nn_cb_state_free(nn_cb_state *s)
{
    free(s->best_weights);
    memset(s, 0, sizeof *s);
}
