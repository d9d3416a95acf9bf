/* Keras weight regularizers: the one reading of a *_regularizer option for
 * every layer (Python, R and Keras-class spellings), and the penalty with
 * its gradient. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nntrain/args.h"
#include "nntrain/regularizer.h"

const char *const nn_reg_options[] = {"kernel_regularizer", "bias_regularizer",
                                      "recurrent_regularizer", "embeddings_regularizer",
                                      "activity_regularizer", NULL};

int nn_reg_role(const char *param_name)
{
    static const char *const names[NN_REG_ROLES] = {"kernel:0", "bias:0", "recurrent_kernel:0",
                                                    "embeddings:0"};
    for (int i = 0; i < NN_REG_ROLES; i++)
        if (!strcmp(param_name, names[i]))
            return i;
    return -1;
}

/* A regularizer function or class: its argument names (l1/l2 factors, or
 * R's single "l") and their defaults. */
typedef struct reg_kind {
    const char *fn;
    const char *const *args;
    double d1, d2;      /* default l1, l2 */
} reg_kind;

static const char *const a_l1[] = {"l1", NULL}, *const a_l2[] = {"l2", NULL};
static const char *const a_l[] = {"l", NULL}, *const a_both[] = {"l1", "l2", NULL};
/* Keras 2's L1(l1=0.01, **kwargs) also reads the legacy l= */
static const char *const alias_l1[] = {"l", "l1", NULL}, *const alias_l2[] = {"l", "l2", NULL};

static const reg_kind kinds[] = {
    {"l1", a_l1, 0.01, 0}, {"L1", a_l1, 0.01, 0},
    {"l2", a_l2, 0, 0.01}, {"L2", a_l2, 0, 0.01},
    {"l1_l2", a_both, 0.01, 0.01}, {"L1L2", a_both, 0, 0},
    {"regularizer_l1", a_l, 0.01, 0}, {"regularizer_l2", a_l, 0, 0.01},
    {"regularizer_l1_l2", a_both, 0.01, 0.01},
};
#define NKINDS (sizeof kinds / sizeof kinds[0])
static const char known[] = "l1, l2, l1_l2, L1, L2, L1L2, regularizer_l1, regularizer_l2, "
                            "regularizer_l1_l2, or None";

static int bad(const nn_call *c, const nn_value *v, nn_error *e, const char *opt,
               const char *what, const char *found)
{
    char w[300];
    return nn_err(e, NN_EINVAL, "%s: %s(): unknown %s %s'%s' (known: %s)",
                  nn_value_where(c, v, w, sizeof w), c->fn, opt, what, found, known);
}

static int factor(nn_args *a, const char *name, double def, double *out, const char *opt,
                  nn_error *e)
{
    int rc = nn_args_double(a, name, def, out, e);
    if (rc)
        return rc;
    if (!isfinite(*out) || *out < 0) {
        char w[300];
        return nn_err(e, NN_EINVAL, "%s: %s(): %s factor %s must be >= 0, found %g",
                      nn_value_where(a->call, nn_args_get(a, name), w, sizeof w), a->call->fn,
                      opt, name, *out);
    }
    return NN_OK;
}

int nn_reg_parse(const nn_call *c, const nn_value *v, const char *opt, nn_reg *out,
                 nn_error *e)
{
    *out = (nn_reg){0, 0};
    if (!v || v->kind == NN_V_NONE)
        return NN_OK;
    if (v->kind == NN_V_STR) {
        /* Keras's strings: the functions at their default factor */
        for (size_t k = 0; k < 3; k++)
            if (!strcmp(v->str, kinds[2 * k].fn)) {
                *out = (nn_reg){kinds[2 * k].d1, kinds[2 * k].d2};
                return NN_OK;
            }
        return bad(c, v, e, opt, "", v->str);
    }
    if (v->kind != NN_V_CALL)
        return bad(c, v, e, opt, "value ", "?");
    const nn_call *rc_call = v->call;
    const reg_kind *k = NULL;
    for (size_t i = 0; i < NKINDS && !k; i++)
        if (!strcmp(rc_call->fn, kinds[i].fn))
            k = &kinds[i];
    if (!k)
        return bad(c, v, e, opt, "", rc_call->fn);
    const char *const *alias = k->args == a_l1 ? alias_l1 : k->args == a_l2 ? alias_l2 : NULL;
    nn_args a;
    int rc = nn_args_bind(&a, rc_call, k->args, alias, e);
    if (rc)
        return rc;
    double l1 = 0, l2 = 0;
    if (k->args == a_l)
        rc = factor(&a, "l", k->d1 ? k->d1 : k->d2, k->d1 ? &l1 : &l2, opt, e);
    else {
        if (k->args != a_l2)
            rc = factor(&a, "l1", k->d1, &l1, opt, e);
        if (!rc && k->args != a_l1)
            rc = factor(&a, "l2", k->d2, &l2, opt, e);
    }
    if (!rc)
        *out = (nn_reg){l1, l2};
    return rc;
}

double nn_reg_penalty(nn_reg r, const float *w, size_t n)
{
    double s1 = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) {
        s1 += fabs((double)w[i]);
        s2 += (double)w[i] * w[i];
    }
    return r.l1 * s1 + r.l2 * s2;
}

void nn_reg_grad(nn_reg r, const float *w, float *g, size_t n)
{
    float l1 = (float)r.l1, l2x2 = (float)(2 * r.l2);
    for (size_t i = 0; i < n; i++) {
        float s = w[i] > 0 ? 1.0f : w[i] < 0 ? -1.0f : 0.0f;
        g[i] += l1 * s + l2x2 * w[i];
    }
}
