/* tf.keras learning-rate schedules (lr_schedule.h has the formulas): parsed
 * and validated from a spec call once, then evaluated in double at every
 * step from the optimizer's iteration count alone. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nntrain/args.h"
#include "nntrain/lr_schedule.h"

const char *const nn_sched_names[] = {NULL, "ExponentialDecay", "PiecewiseConstantDecay",
                                      "CosineDecay", "InverseTimeDecay", "PolynomialDecay",
                                      NULL};
/* R keras's functions, in the same order */
static const char *const r_names[] = {NULL, "learning_rate_schedule_exponential_decay",
                                      "learning_rate_schedule_piecewise_constant_decay",
                                      "learning_rate_schedule_cosine_decay",
                                      "learning_rate_schedule_inverse_time_decay",
                                      "learning_rate_schedule_polynomial_decay", NULL};

/* Positional order of each schedule's arguments (tf.keras signatures). */
static const char *const decay_args[] = {"initial_learning_rate", "decay_steps", "decay_rate",
                                         "staircase", "name", NULL};
static const char *const piecewise_args[] = {"boundaries", "values", "name", NULL};
static const char *const cosine_args[] = {"initial_learning_rate", "decay_steps", "alpha",
                                          "name", "warmup_target", "warmup_steps", NULL};
static const char *const poly_args[] = {"initial_learning_rate", "decay_steps",
                                        "end_learning_rate", "power", "cycle", "name", NULL};

static int kind_of(const char *fn)
{
    for (int k = 1; k < NN_SCHED_COUNT; k++)
        if (!strcmp(fn, nn_sched_names[k]) || !strcmp(fn, r_names[k]))
            return k;
    return 0;
}

int nn_lr_schedule_is(const char *fn)
{
    return fn && kind_of(fn) > 0;
}

static int arg_err(nn_args *a, const char *name, const char *what, nn_error *e)
{
    char w[300];
    return nn_err(e, NN_EINVAL, "%s: %s(): argument '%s' %s",
                  nn_value_where(a->call, nn_args_get(a, name), w, sizeof w), a->call->fn,
                  name, what);
}

/* A required number in [lo, inf) (lo_open: (lo, inf)), finite. */
static int number(nn_args *a, const char *name, int required, double def, double lo,
                  int lo_open, double *out, nn_error *e)
{
    const nn_value *v = nn_args_get(a, name);
    if (required && (!v || v->kind == NN_V_NONE))
        return arg_err(a, name, "is required", e);
    int rc = nn_args_double(a, name, def, out, e);
    if (rc)
        return rc;
    if (!isfinite(*out) || (lo_open ? !(*out > lo) : !(*out >= lo))) {
        char what[96];
        snprintf(what, sizeof what, "must be a finite number %s %g, got %g",
                 lo_open ? ">" : ">=", lo, *out);
        return arg_err(a, name, what, e);
    }
    return NN_OK;
}

/* A list of numbers (a single number counts as a list of one). */
static int numbers(nn_args *a, const char *name, double *out, int max, int *n, nn_error *e)
{
    const nn_value *v = nn_args_get(a, name);
    if (!v || v->kind == NN_V_NONE)
        return arg_err(a, name, "is required", e);
    const nn_value *it = v->kind == NN_V_LIST ? v->items : v;
    int cnt = v->kind == NN_V_LIST ? v->n : 1;
    if (cnt > max) {
        char what[96];
        snprintf(what, sizeof what, "has %d entries, at most %d are supported", cnt, max);
        return arg_err(a, name, what, e);
    }
    for (int i = 0; i < cnt; i++) {
        if (it[i].kind != NN_V_NUM || !isfinite(it[i].num))
            return arg_err(a, name, "must be a list of finite numbers", e);
        out[i] = it[i].num;
    }
    *n = cnt;
    return NN_OK;
}

static int piecewise(nn_lr_schedule *s, nn_args *a, nn_error *e)
{
    int nv = 0, rc;
    if ((rc = numbers(a, "boundaries", s->bounds, NN_SCHED_MAX_BOUNDARIES, &s->nbounds, e)) ||
        (rc = numbers(a, "values", s->values, NN_SCHED_MAX_BOUNDARIES + 1, &nv, e)))
        return rc;
    char what[160];
    for (int i = 1; i < s->nbounds; i++)
        if (!(s->bounds[i] > s->bounds[i - 1])) {
            snprintf(what, sizeof what, "must be increasing: boundaries[%d] = %g follows "
                     "boundaries[%d] = %g", i, s->bounds[i], i - 1, s->bounds[i - 1]);
            return arg_err(a, "boundaries", what, e);
        }
    if (nv != s->nbounds + 1) {
        snprintf(what, sizeof what, "must have one entry more than boundaries (%d), got %d",
                 s->nbounds + 1, nv);
        return arg_err(a, "values", what, e);
    }
    for (int i = 0; i < nv; i++)
        if (s->values[i] < 0)
            return arg_err(a, "values", "must be learning rates >= 0", e);
    s->initial = s->values[0];
    return NN_OK;
}

static int from_args(nn_lr_schedule *s, nn_args *a, nn_error *e)
{
    const char *name;
    int rc = nn_args_str(a, "name", NULL, &name, e);
    if (rc)
        return rc;
    if (s->kind == NN_SCHED_PIECEWISE)
        return piecewise(s, a, e);
    if ((rc = number(a, "initial_learning_rate", 1, 0, 0, 0, &s->initial, e)) ||
        (rc = number(a, "decay_steps", 1, 0, 0, 1, &s->decay_steps, e)))
        return rc;
    switch (s->kind) {
    case NN_SCHED_EXPONENTIAL:
    case NN_SCHED_INVERSE_TIME:
        if ((rc = number(a, "decay_rate", 1, 0, 0, 0, &s->decay_rate, e)) ||
            (rc = nn_args_bool(a, "staircase", 0, &s->staircase, e)))
            return rc;
        break;
    case NN_SCHED_COSINE:
        if ((rc = number(a, "alpha", 0, 0.0, 0, 0, &s->alpha, e)) ||
            (rc = number(a, "warmup_steps", 0, 0.0, 0, 0, &s->warmup_steps, e)))
            return rc;
        if (s->alpha > 1)
            return arg_err(a, "alpha", "must be in [0, 1] (the floor as a fraction of the "
                           "learning rate)", e);
        s->has_warmup_target = nn_args_get(a, "warmup_target") &&
                               nn_args_get(a, "warmup_target")->kind != NN_V_NONE;
        if ((rc = number(a, "warmup_target", 0, 0.0, 0, 0, &s->warmup_target, e)))
            return rc;
        break;
    case NN_SCHED_POLYNOMIAL:
        if ((rc = number(a, "end_learning_rate", 0, 0.0001, 0, 0, &s->end_lr, e)) ||
            (rc = number(a, "power", 0, 1.0, 0, 0, &s->power, e)) ||
            (rc = nn_args_bool(a, "cycle", 0, &s->cycle, e)))
            return rc;
        break;
    default:
        break;
    }
    return NN_OK;
}

int nn_lr_schedule_from_call(nn_lr_schedule *s, const nn_call *c, nn_error *e)
{
    static const char *const *const args[NN_SCHED_COUNT] = {
        NULL, decay_args, piecewise_args, cosine_args, decay_args, poly_args};
    memset(s, 0, sizeof *s);
    s->kind = (nn_sched_kind)kind_of(c->fn);
    if (!s->kind) {
        char w[300], mean[96] = "";
        const char *g = nn_suggest(c->fn, nn_sched_names + 1);
        if (g)
            snprintf(mean, sizeof mean, ": did you mean '%s'?", g);
        return nn_err(e, NN_EINVAL, "%s: unknown learning-rate schedule '%s'%s (known: "
                      "ExponentialDecay, PiecewiseConstantDecay, CosineDecay, "
                      "InverseTimeDecay, PolynomialDecay)",
                      nn_value_where(c, NULL, w, sizeof w), c->fn, mean);
    }
    nn_args a;
    int rc = nn_args_bind(&a, c, args[s->kind], NULL, e);
    return rc ? rc : from_args(s, &a, e);
}

static double cosine(const nn_lr_schedule *s, double step, double from)
{
    const double pi = 3.14159265358979323846;
    double decayed = 0.5 * (1.0 + cos(pi * step / s->decay_steps));
    return from * ((1.0 - s->alpha) * decayed + s->alpha);
}

double nn_lr_schedule_at(const nn_lr_schedule *s, int64_t step)
{
    double t = (double)step, p;
    switch (s->kind) {
    case NN_SCHED_EXPONENTIAL:
        p = t / s->decay_steps;
        return s->initial * pow(s->decay_rate, s->staircase ? floor(p) : p);
    case NN_SCHED_INVERSE_TIME:
        p = t / s->decay_steps;
        return s->initial / (1.0 + s->decay_rate * (s->staircase ? floor(p) : p));
    case NN_SCHED_PIECEWISE: {
        int i = 0;
        while (i < s->nbounds && t > s->bounds[i])
            i++;
        return s->values[i];
    }
    case NN_SCHED_COSINE:
        if (!s->has_warmup_target)
            return cosine(s, fmin(t, s->decay_steps), s->initial);
        t = fmin(t, s->warmup_steps + s->decay_steps);
        if (t < s->warmup_steps)
            return s->initial + (s->warmup_target - s->initial) * t / s->warmup_steps;
        return cosine(s, t - s->warmup_steps, s->warmup_target);
    case NN_SCHED_POLYNOMIAL: {
        double D = s->decay_steps;
        if (s->cycle)
            D *= t == 0 ? 1.0 : ceil(t / s->decay_steps);
        else
            t = fmin(t, D);
        return (s->initial - s->end_lr) * pow(1.0 - t / D, s->power) + s->end_lr;
    }
    default:
        return s->initial;
    }
}

void nn_lr_schedule_describe(const nn_lr_schedule *s, char *buf, size_t len)
{
    if (!buf || !len)
        return;
    const char *n = s->kind > 0 && s->kind < NN_SCHED_COUNT ? nn_sched_names[s->kind] : "?";
    size_t k = 0;
    switch (s->kind) {
    case NN_SCHED_EXPONENTIAL:
    case NN_SCHED_INVERSE_TIME:
        snprintf(buf, len, "%s(initial_learning_rate=%g, decay_steps=%g, decay_rate=%g, "
                 "staircase=%s)", n, s->initial, s->decay_steps, s->decay_rate,
                 s->staircase ? "True" : "False");
        break;
    case NN_SCHED_COSINE:
        if (s->has_warmup_target)
            snprintf(buf, len, "%s(initial_learning_rate=%g, decay_steps=%g, alpha=%g, "
                     "warmup_target=%g, warmup_steps=%g)", n, s->initial, s->decay_steps,
                     s->alpha, s->warmup_target, s->warmup_steps);
        else
            snprintf(buf, len, "%s(initial_learning_rate=%g, decay_steps=%g, alpha=%g)", n,
                     s->initial, s->decay_steps, s->alpha);
        break;
    case NN_SCHED_POLYNOMIAL:
        snprintf(buf, len, "%s(initial_learning_rate=%g, decay_steps=%g, "
                 "end_learning_rate=%g, power=%g, cycle=%s)", n, s->initial, s->decay_steps,
                 s->end_lr, s->power, s->cycle ? "True" : "False");
        break;
    case NN_SCHED_PIECEWISE:
        k = (size_t)snprintf(buf, len, "%s(boundaries=[", n);
        for (int i = 0; i < s->nbounds && k < len; i++)
            k += (size_t)snprintf(buf + k, len - k, "%s%g", i ? ", " : "", s->bounds[i]);
        if (k < len)
            k += (size_t)snprintf(buf + k, len - k, "], values=[");
        for (int i = 0; i <= s->nbounds && k < len; i++)
            k += (size_t)snprintf(buf + k, len - k, "%s%g", i ? ", " : "", s->values[i]);
        if (k < len)
            snprintf(buf + k, len - k, "])");
        break;
    default:
        snprintf(buf, len, "%g", s->initial);
        break;
    }
}
