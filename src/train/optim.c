/* Keras 2 optimizers (SGD, RMSprop, Adam, Adadelta, Nadam) over the flat parameter
 * buffer: the state lives in flat slots with the parameters' offsets, so one
 * step is one simple loop per trainable range. Per-step scalars (scheduled
 * and decayed learning rate, Adam's bias correction) are computed once in
 * double; the element loops use float math like Keras's float32 updates.
 * Options come from the spec's compile(optimizer=...) value and are
 * validated here (a learning-rate schedule in lr_schedule.c); a run's
 * warm-up and linear scaling are set by fit. Gradient clipping is here too:
 * the model calls nn_optim_clip with its weight tensors before the step. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nntrain/args.h"
#include "nntrain/optim.h"

const char *const nn_optim_names[] = {"SGD", "RMSprop", "Adam", "Adadelta", "Nadam", NULL};

/* Positional order of each optimizer's arguments (Keras 2 signatures); the
 * clipping options are keyword-only (**kwargs in Keras). */
#define CLIP_ARGS "*", "clipnorm", "clipvalue", "global_clipnorm"
static const char *const sgd_args[] = {"learning_rate", "momentum", "decay", "nesterov",
                                       CLIP_ARGS, NULL};
static const char *const rmsprop_args[] = {"learning_rate", "rho", "epsilon", "decay",
                                           CLIP_ARGS, NULL};
static const char *const adam_args[] = {"learning_rate", "beta_1", "beta_2", "epsilon",
                                        "decay", "amsgrad", CLIP_ARGS, NULL};
static const char *const adadelta_args[] = {"learning_rate", "rho", "epsilon", "decay",
                                            CLIP_ARGS, NULL};
static const char *const nadam_args[] = {"learning_rate", "beta_1", "beta_2", "epsilon",
                                         "schedule_decay", CLIP_ARGS, NULL};
static const char *const *const kind_args[NN_OPT_COUNT] = {sgd_args, rmsprop_args, adam_args,
                                                           adadelta_args, nadam_args};
static const char *const lr_alias[] = {"lr", "learning_rate", NULL};

void nn_optim_defaults(nn_optim *o, nn_optim_kind kind)
{
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->epsilon = 1e-7;
    switch (kind) {
    case NN_OPT_SGD:
        o->lr = 0.01;
        o->nslots = 1;   /* momentum buffer, as Keras always creates */
        break;
    case NN_OPT_RMSPROP:
        o->lr = 0.001;
        o->rho = 0.9;
        o->nslots = 1;
        break;
    case NN_OPT_ADAM:
    case NN_OPT_NADAM:
        o->lr = 0.001;
        o->beta_1 = 0.9;
        o->beta_2 = 0.999;
        o->schedule_decay = kind == NN_OPT_NADAM ? 0.004 : 0;
        o->nslots = 2;
        break;
    default:
        o->kind = NN_OPT_ADADELTA;
        o->lr = 1.0;
        o->rho = 0.95;
        o->nslots = 2;
        break;
    }
}

/* Optimizer kind from a name: Keras class or string ("RMSprop", "rmsprop"),
 * or the R keras function ("optimizer_rmsprop"); case-insensitive. */
static int kind_of(const char *name)
{
    if (!strncasecmp(name, "optimizer_", 10))
        name += 10;
    for (int i = 0; i < NN_OPT_COUNT; i++)
        if (!strcasecmp(name, nn_optim_names[i]))
            return i;
    return -1;
}

static int unknown(const nn_call *where, const nn_value *v, const char *name, nn_error *e)
{
    char w[300];
    return nn_err(e, NN_EINVAL,
                  "%s: unknown optimizer '%s' (known: SGD, RMSprop, Adam, Adadelta, Nadam)",
                  nn_value_where(where, v, w, sizeof w), name);
}

/* An out-of-range option value: names the location, what was expected and
 * what was found. */
static int range_err(nn_args *a, const char *name, double x, const char *want,
                     nn_error *e)
{
    char w[300];
    return nn_err(e, NN_EINVAL, "%s: %s(): argument '%s' must be %s, got %g",
                  nn_value_where(a->call, nn_args_get(a, name), w, sizeof w), a->call->fn,
                  name, want, x);
}

/* clipnorm=, clipvalue=, global_clipnorm=: > 0, or -1/None/absent for not
 * set (stored as 0). */
static int clip_arg(nn_args *a, const char *name, double *out, nn_error *e)
{
    int rc = nn_args_double(a, name, -1.0, out, e);
    if (rc)
        return rc;
    if (*out == -1.0)
        *out = 0;
    else if (!(isfinite(*out) && *out > 0))
        return range_err(a, name, *out, "a finite number > 0 (-1 or None: not set)", e);
    return NN_OK;
}

static int clip_args(nn_optim *o, nn_args *a, nn_error *e)
{
    int rc;
    if ((rc = clip_arg(a, "clipnorm", &o->clipnorm, e)) ||
        (rc = clip_arg(a, "clipvalue", &o->clipvalue, e)) ||
        (rc = clip_arg(a, "global_clipnorm", &o->global_clipnorm, e)))
        return rc;
    if (o->clipnorm > 0 && o->global_clipnorm > 0) {
        char w[300];
        return nn_err(e, NN_EINVAL, "%s: %s(): clipnorm and global_clipnorm cannot both be set "
                      "(clipnorm clips each weight's gradient, global_clipnorm all of them "
                      "together: pick one)",
                      nn_value_where(a->call, nn_args_get(a, "global_clipnorm"), w, sizeof w),
                      a->call->fn);
    }
    return NN_OK;
}

/* learning_rate=0.01 or a schedule, ExponentialDecay(...). */
static int lr_arg(nn_optim *o, nn_args *a, nn_error *e)
{
    const nn_value *v = nn_args_get(a, "learning_rate");
    if (v && v->kind == NN_V_CALL) {
        int rc = nn_lr_schedule_from_call(&o->sched, v->call, e);
        o->lr = o->sched.initial;
        return rc;
    }
    return nn_args_double(a, "learning_rate", o->lr, &o->lr, e);
}

static int from_call(nn_optim *o, const nn_call *c, nn_error *e)
{
    nn_args a;
    int rc = nn_args_bind(&a, c, kind_args[o->kind], lr_alias, e);
    if (rc)
        return rc;
    if ((rc = lr_arg(o, &a, e)) || (rc = nn_args_double(&a, "decay", 0.0, &o->decay, e)) ||
        (rc = clip_args(o, &a, e)))
        return rc;
    if (!(isfinite(o->lr) && o->lr >= 0))
        return range_err(&a, "learning_rate", o->lr, "a finite number >= 0", e);
    if (!(isfinite(o->decay) && o->decay >= 0))
        return range_err(&a, "decay", o->decay, "a finite number >= 0", e);
    if (o->kind != NN_OPT_SGD) {
        if ((rc = nn_args_double(&a, "epsilon", o->epsilon, &o->epsilon, e)))
            return rc;
        if (o->kind == NN_OPT_ADADELTA ? !(isfinite(o->epsilon) && o->epsilon > 0)
                                       : !(isfinite(o->epsilon) && o->epsilon >= 0))
            return range_err(&a, "epsilon", o->epsilon,
                             o->kind == NN_OPT_ADADELTA ? "a finite number > 0"
                                                        : "a finite number >= 0", e);
    }
    switch (o->kind) {
    case NN_OPT_SGD:
        if ((rc = nn_args_double(&a, "momentum", 0.0, &o->momentum, e)) ||
            (rc = nn_args_bool(&a, "nesterov", 0, &o->nesterov, e)))
            return rc;
        if (!(o->momentum >= 0 && o->momentum <= 1))
            return range_err(&a, "momentum", o->momentum, "in [0, 1]", e);
        break;
    case NN_OPT_RMSPROP:
    case NN_OPT_ADADELTA:
        if ((rc = nn_args_double(&a, "rho", o->rho, &o->rho, e)))
            return rc;
        if (!(o->rho >= 0 && o->rho < 1))
            return range_err(&a, "rho", o->rho, "in [0, 1)", e);
        break;
    case NN_OPT_NADAM:
        if ((rc = nn_args_double(&a, "beta_1", o->beta_1, &o->beta_1, e)) ||
            (rc = nn_args_double(&a, "beta_2", o->beta_2, &o->beta_2, e)) ||
            (rc = nn_args_double(&a, "schedule_decay", o->schedule_decay, &o->schedule_decay,
                                 e)))
            return rc;
        if (!(o->beta_1 >= 0 && o->beta_1 < 1))
            return range_err(&a, "beta_1", o->beta_1, "in [0, 1)", e);
        if (!(o->beta_2 >= 0 && o->beta_2 < 1))
            return range_err(&a, "beta_2", o->beta_2, "in [0, 1)", e);
        if (!(isfinite(o->schedule_decay) && o->schedule_decay >= 0))
            return range_err(&a, "schedule_decay", o->schedule_decay, "a finite number >= 0", e);
        break;
    case NN_OPT_ADAM: {
        int ams;
        if ((rc = nn_args_double(&a, "beta_1", o->beta_1, &o->beta_1, e)) ||
            (rc = nn_args_double(&a, "beta_2", o->beta_2, &o->beta_2, e)) ||
            (rc = nn_args_bool(&a, "amsgrad", 0, &ams, e)))
            return rc;
        if (!(o->beta_1 >= 0 && o->beta_1 < 1))
            return range_err(&a, "beta_1", o->beta_1, "in [0, 1)", e);
        if (!(o->beta_2 >= 0 && o->beta_2 < 1))
            return range_err(&a, "beta_2", o->beta_2, "in [0, 1)", e);
        if (ams) {
            char w[300];
            return nn_err(e, NN_EINVAL, "%s: %s(): amsgrad=True is not supported",
                          nn_value_where(c, nn_args_get(&a, "amsgrad"), w, sizeof w), c->fn);
        }
        break;
    }
    default:
        break;
    }
    return NN_OK;
}

int nn_optim_from_value(nn_optim *o, const nn_call *where, const nn_value *v,
                        nn_error *e)
{
    char w[300];
    if (!v)
        return nn_err(e, NN_EINVAL, "%s: missing optimizer", nn_value_where(where, NULL, w,
                                                                            sizeof w));
    if (v->kind == NN_V_STR) {
        int k = kind_of(v->str);
        if (k < 0)
            return unknown(where, v, v->str, e);
        nn_optim_defaults(o, (nn_optim_kind)k);
        return NN_OK;
    }
    if (v->kind == NN_V_CALL) {
        int k = kind_of(v->call->fn);
        if (k < 0)
            return unknown(where, v, v->call->fn, e);
        nn_optim_defaults(o, (nn_optim_kind)k);
        return from_call(o, v->call, e);
    }
    return nn_err(e, NN_EINVAL,
                  "%s: optimizer must be a name such as \"rmsprop\" or a call such as "
                  "RMSprop(lr=1e-3) (known: SGD, RMSprop, Adam, Adadelta, Nadam)",
                  nn_value_where(where, v, w, sizeof w));
}

int nn_optim_alloc(nn_optim *o, size_t n, nn_error *e)
{
    for (int s = 0; s < NN_OPTIM_MAX_SLOTS; s++) {
        free(o->slot[s]);
        o->slot[s] = NULL;
    }
    o->n = 0;
    if (n > SIZE_MAX / sizeof(float))
        return nn_err(e, NN_ENOMEM, "optimizer state for %zu parameters is too large", n);
    for (int s = 0; s < o->nslots && s < NN_OPTIM_MAX_SLOTS; s++) {
        o->slot[s] = calloc(n ? n : 1, sizeof(float));
        if (!o->slot[s]) {
            nn_optim_free(o);
            return nn_err(e, NN_ENOMEM, "out of memory for %s state (%zu parameters)",
                          nn_optim_names[o->kind], n);
        }
    }
    o->n = n;
    return NN_OK;
}

void nn_optim_schedule(nn_optim *o, size_t batch, int ref_batch, double warmup_epochs,
                       long steps_per_epoch)
{
    o->lr_target = ref_batch > 0 ? (double)batch / ref_batch : 1.0;
    o->warmup_steps = warmup_epochs > 0 ? warmup_epochs * (double)steps_per_epoch : 0;
}

void nn_optim_begin_step(nn_optim *o, long long step)
{
    if (o->warmup_steps > 0 && (double)step < o->warmup_steps) {
        double f = ((double)step + 1) / o->warmup_steps;
        o->lr_scale = o->lr_target > 1 ? 1 + (o->lr_target - 1) * f : f;
    } else {
        o->lr_scale = o->lr_target;
    }
}

void nn_optim_set_lr_factor(nn_optim *o, double factor)
{
    o->lr_factor = factor;
}

double nn_optim_lr(const nn_optim *o)
{
    double scale = o->lr_scale > 0 ? o->lr_scale : 1.0;
    double lr = o->sched.kind ? nn_lr_schedule_at(&o->sched, o->iterations) : o->lr;
    if (o->lr_factor > 0)
        lr *= o->lr_factor;
    return scale * lr / (1.0 + o->decay * (double)o->iterations);
}

static void sgd(const nn_optim *o, float *restrict p, const float *restrict g,
                float *restrict v, size_t len)
{
    const float lr = (float)nn_optim_lr(o), m = (float)o->momentum;
    if (o->nesterov) {
        for (size_t i = 0; i < len; i++) {
            v[i] = m * v[i] - lr * g[i];
            p[i] += m * v[i] - lr * g[i];
        }
    } else {
        for (size_t i = 0; i < len; i++) {
            v[i] = m * v[i] - lr * g[i];
            p[i] += v[i];
        }
    }
}

static void rmsprop(const nn_optim *o, float *restrict p, const float *restrict g,
                    float *restrict a, size_t len)
{
    const float lr = (float)nn_optim_lr(o), rho = (float)o->rho,
                one_rho = (float)(1.0 - o->rho), eps = (float)o->epsilon;
    for (size_t i = 0; i < len; i++) {
        a[i] = rho * a[i] + one_rho * g[i] * g[i];
        p[i] -= lr * g[i] / (sqrtf(a[i]) + eps);
    }
}

static void adam(const nn_optim *o, float *restrict p, const float *restrict g,
                 float *restrict m, float *restrict v, size_t len)
{
    const double t = (double)(o->iterations + 1);
    const float lr = (float)(nn_optim_lr(o) * sqrt(1.0 - pow(o->beta_2, t)) /
                             (1.0 - pow(o->beta_1, t)));
    const float b1 = (float)o->beta_1, one_b1 = (float)(1.0 - o->beta_1),
                b2 = (float)o->beta_2, one_b2 = (float)(1.0 - o->beta_2),
                eps = (float)o->epsilon;
    for (size_t i = 0; i < len; i++) {
        m[i] = b1 * m[i] + one_b1 * g[i];
        v[i] = b2 * v[i] + one_b2 * g[i] * g[i];
        p[i] -= lr * m[i] / (sqrtf(v[i]) + eps);
    }
}

static void adadelta(const nn_optim *o, float *restrict p, const float *restrict g,
                     float *restrict a, float *restrict d, size_t len)
{
    const float lr = (float)nn_optim_lr(o), rho = (float)o->rho,
                one_rho = (float)(1.0 - o->rho), eps = (float)o->epsilon;
    for (size_t i = 0; i < len; i++) {
        a[i] = rho * a[i] + one_rho * g[i] * g[i];
        float u = g[i] * sqrtf(d[i] + eps) / sqrtf(a[i] + eps);
        p[i] -= lr * u;
        d[i] = rho * d[i] + one_rho * u * u;
    }
}

/* Nadam's momentum coefficient mu_t for step t (1-based). */
static double nadam_mu(const nn_optim *o, double t)
{
    return o->beta_1 * (1.0 - 0.5 * pow(0.96, o->schedule_decay * t));
}

/* M_t = mu_1 ... mu_t: one product a step (nn_optim_advance keeps it); a
 * resumed run multiplies them again in the same order, so it continues
 * with the very same value. Read-only: the threads' updates call it. */
static double nadam_product(const nn_optim *o, int64_t t)
{
    if (o->m_product_t == t)
        return o->m_product;
    if (o->m_product_t == t - 1 && t > 1)
        return o->m_product * nadam_mu(o, (double)t);
    double M = 1.0;
    for (int64_t i = 1; i <= t; i++)
        M *= nadam_mu(o, (double)i);
    return M;
}

static void nadam(const nn_optim *o, float *restrict p, const float *restrict g, float *restrict m,
                  float *restrict v, size_t len)
{
    const double t = (double)(o->iterations + 1), lr = nn_optim_lr(o);
    const double mu = nadam_mu(o, t), mu_next = nadam_mu(o, t + 1);
    const double M = nadam_product(o, o->iterations + 1);
    const float cg = (float)(lr * (1.0 - mu) / (1.0 - M)),
                cm = (float)(lr * mu_next / (1.0 - M * mu_next)),
                inv_bc2 = (float)(1.0 / (1.0 - pow(o->beta_2, t)));
    const float b1 = (float)o->beta_1, one_b1 = (float)(1.0 - o->beta_1),
                b2 = (float)o->beta_2, one_b2 = (float)(1.0 - o->beta_2),
                eps = (float)o->epsilon;
    for (size_t i = 0; i < len; i++) {
        m[i] = b1 * m[i] + one_b1 * g[i];
        v[i] = b2 * v[i] + one_b2 * g[i] * g[i];
        p[i] -= (cg * g[i] + cm * m[i]) / (sqrtf(v[i] * inv_bc2) + eps);
    }
}

void nn_optim_update(nn_optim *o, float *params, const float *grads, size_t off,
                     size_t len)
{
    /* Programming errors (no nn_optim_alloc, range past the buffers) leave
     * the parameters untouched rather than write out of bounds. */
    if (!params || !grads || len == 0 || off > o->n || len > o->n - off)
        return;
    float *s[NN_OPTIM_MAX_SLOTS] = {NULL, NULL};
    for (int k = 0; k < o->nslots && k < NN_OPTIM_MAX_SLOTS; k++) {
        if (!o->slot[k])
            return;
        s[k] = o->slot[k] + off;
    }
    float *p = params + off;
    const float *g = grads + off;
    switch (o->kind) {
    case NN_OPT_SGD: sgd(o, p, g, s[0], len); break;
    case NN_OPT_RMSPROP: rmsprop(o, p, g, s[0], len); break;
    case NN_OPT_ADAM: adam(o, p, g, s[0], s[1], len); break;
    case NN_OPT_ADADELTA: adadelta(o, p, g, s[0], s[1], len); break;
    case NN_OPT_NADAM: nadam(o, p, g, s[0], s[1], len); break;
    default: break;
    }
}

void nn_optim_advance(nn_optim *o)
{
    if (o->kind == NN_OPT_NADAM) {
        o->m_product = nadam_product(o, o->iterations + 1);
        o->m_product_t = o->iterations + 1;
    }
    o->last_lr = nn_optim_lr(o);
    o->iterations++;
}

int nn_optim_clips(const nn_optim *o)
{
    return o->clipnorm > 0 || o->clipvalue > 0 || o->global_clipnorm > 0;
}

double nn_optim_sumsq(const float *g, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)g[i] * g[i];
    return s;
}

/* g *= c / norm when norm > c (tf.clip_by_norm, clip_by_global_norm). */
static void scale_to(float *g, size_t n, double norm, double c)
{
    if (!(norm > c))
        return;
    const float f = (float)(c / norm);
    for (size_t i = 0; i < n; i++)
        g[i] *= f;
}

void nn_optim_clip_tensor(const nn_optim *o, float *g, size_t n)
{
    if (o->clipvalue > 0) {
        const float c = (float)o->clipvalue;
        for (size_t i = 0; i < n; i++)
            g[i] = g[i] > c ? c : g[i] < -c ? -c : g[i];
    }
    if (o->clipnorm > 0)
        scale_to(g, n, sqrt(nn_optim_sumsq(g, n)), o->clipnorm);
}

void nn_optim_clip_global(const nn_optim *o, float *g, size_t n, double norm)
{
    if (o->global_clipnorm > 0)
        scale_to(g, n, norm, o->global_clipnorm);
}

void nn_optim_describe(const nn_optim *o, char *buf, size_t len)
{
    if (!buf || len == 0)
        return;
    char lr[400];
    if (o->sched.kind)
        nn_lr_schedule_describe(&o->sched, lr, sizeof lr);
    else
        snprintf(lr, sizeof lr, "%g", o->lr);
    int k = 0;
    switch (o->kind) {
    case NN_OPT_SGD:
        k = snprintf(buf, len, "SGD(lr=%s, momentum=%g, decay=%g, nesterov=%s", lr,
                     o->momentum, o->decay, o->nesterov ? "True" : "False");
        break;
    case NN_OPT_RMSPROP:
        k = snprintf(buf, len, "RMSprop(lr=%s, rho=%g, epsilon=%g, decay=%g", lr, o->rho,
                     o->epsilon, o->decay);
        break;
    case NN_OPT_ADAM:
        k = snprintf(buf, len, "Adam(lr=%s, beta_1=%g, beta_2=%g, epsilon=%g, decay=%g", lr,
                     o->beta_1, o->beta_2, o->epsilon, o->decay);
        break;
    case NN_OPT_NADAM:
        k = snprintf(buf, len, "Nadam(lr=%s, beta_1=%g, beta_2=%g, epsilon=%g, "
                     "schedule_decay=%g", lr, o->beta_1, o->beta_2, o->epsilon,
                     o->schedule_decay);
        break;
    case NN_OPT_ADADELTA:
        k = snprintf(buf, len, "Adadelta(lr=%s, rho=%g, epsilon=%g, decay=%g", lr, o->rho,
                     o->epsilon, o->decay);
        break;
    default:
        snprintf(buf, len, "unknown optimizer");
        return;
    }
    static const char *const clip_names[] = {"clipnorm", "clipvalue", "global_clipnorm"};
    const double clip[] = {o->clipnorm, o->clipvalue, o->global_clipnorm};
    for (int i = 0; i < 3; i++)
        if (clip[i] > 0 && k >= 0 && (size_t)k < len)
            k += snprintf(buf + k, len - (size_t)k, ", %s=%g", clip_names[i], clip[i]);
    if (k >= 0 && (size_t)k < len)
        snprintf(buf + k, len - (size_t)k, ")");
}

void nn_optim_free(nn_optim *o)
{
    for (int s = 0; s < NN_OPTIM_MAX_SLOTS; s++) {
        free(o->slot[s]);
        o->slot[s] = NULL;
    }
    o->n = 0;
}
