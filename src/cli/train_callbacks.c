/* train's EarlyStopping and ReduceLROnPlateau options, over the spec's
 * fit(callbacks=...): giving any of a callback's options turns it on with
 * Keras's defaults for the rest (src/cli/train_options.h). */
#include <stdio.h>
#include <string.h>

#include "train_options.h"

/* A monitor from the command line: messages about it name the option. */
static int monitor_opt(cli_opt *opts, const char *name, char *out, size_t len, char *where,
                       size_t wlen, int *on, nn_error *e)
{
    cli_opt *o = cli_find(opts, name);
    if (!o->given)
        return NN_OK;
    if (!o->value[0] || strlen(o->value) >= len)
        return nn_err(e, NN_EINVAL, "%s needs a metric name such as val_loss", name);
    snprintf(out, len, "%s", o->value);
    snprintf(where, wlen, "%s", name);
    *on = 1;
    return NN_OK;
}

static int count_opt(cli_opt *opts, const char *name, int *out, int *on, nn_error *e)
{
    int rc = cli_int(opts, name, out, e);
    if (!rc && cli_find(opts, name)->given) {
        *on = 1;
        if (*out < 0)
            rc = nn_err(e, NN_EINVAL, "%s must be >= 0, got %d", name, *out);
    }
    return rc;
}

static int read_es(cli_opt *opts, nn_early_stopping *es, nn_error *e)
{
    int on = es->enabled;
    int rc = count_opt(opts, "--early-stopping-patience", &es->patience, &on, e);
    if (!rc && !es->enabled)
        snprintf(es->where, sizeof es->where, "--early-stopping-*");
    if (!rc)
        rc = monitor_opt(opts, "--early-stopping-monitor", es->monitor, sizeof es->monitor,
                         es->where, sizeof es->where, &on, e);
    if (!rc && cli_find(opts, "--restore-best-weights")->given)
        es->restore_best_weights = on = 1;
    es->enabled = on;
    return rc;
}

static int read_rlr(cli_opt *opts, nn_reduce_lr *r, nn_error *e)
{
    int on = r->enabled;
    int rc = count_opt(opts, "--reduce-lr-patience", &r->patience, &on, e);
    if (!rc)
        rc = count_opt(opts, "--reduce-lr-cooldown", &r->cooldown, &on, e);
    if (!rc && !r->enabled)
        snprintf(r->where, sizeof r->where, "--reduce-lr-*");
    if (!rc)
        rc = monitor_opt(opts, "--reduce-lr-monitor", r->monitor, sizeof r->monitor, r->where,
                         sizeof r->where, &on, e);
    if (!rc && !(rc = cli_double(opts, "--reduce-lr-factor", &r->factor, e)) &&
        cli_find(opts, "--reduce-lr-factor")->given) {
        on = 1;
        if (!(r->factor > 0 && r->factor < 1))
            rc = nn_err(e, NN_EINVAL, "--reduce-lr-factor must be in (0, 1), got %g", r->factor);
    }
    if (!rc && !(rc = cli_double(opts, "--min-lr", &r->min_lr, e)) &&
        cli_find(opts, "--min-lr")->given) {
        on = 1;
        if (!(r->min_lr >= 0))
            rc = nn_err(e, NN_EINVAL, "--min-lr must be >= 0, got %g", r->min_lr);
    }
    r->enabled = on;
    return rc;
}

int cli_train_callbacks(cli_opt *opts, nn_fit_opts *fo, nn_error *e)
{
    int rc = read_es(opts, &fo->fit.cb.es, e);
    return rc ? rc : read_rlr(opts, &fo->fit.cb.rlr, e);
}
