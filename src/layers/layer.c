/* Owns creating a layer from a parsed call: look the kind up, bind its
 * arguments plus the ones every Keras layer takes (input_shape, input_dim,
 * name, trainable), and let the layer read its own options. Also owns the
 * helpers the layers share (layer_util.h): the one binding of each option
 * several layers take (activation, initialisers, padding, data_format) and
 * the form of their messages. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "layers/layer_util.h"
#include "nntrain/layer.h"

/* Keyword-only in Keras, as in every layer's signature after "*". */
static const char *const common[] = {"*", "input_shape", "input_dim", "name", "trainable",
                                     NULL};

/* The *_regularizer options (nn_reg_options), read for every layer. */
static int bind_regs(nn_layer *l, nn_args *a, const nn_call *c, nn_error *e)
{
    int any = 0;
    for (int r = 0; r < NN_REG_ROLES; r++) {
        int rc = nn_reg_parse(c, nn_args_get(a, nn_reg_options[r]), nn_reg_options[r],
                              &l->reg[r], e);
        if (rc)
            return rc;
        for (int i = 0; a->names[i]; i++)
            if (!strcmp(a->names[i], nn_reg_options[r]))
                a->used[i] = 1;
        any |= nn_reg_active(l->reg[r]);
    }
    if (any && l->ops->param_specs == nn_layer_no_param_specs) {
        char w[300];
        for (int r = 0; r < NN_REG_ROLES; r++)
            if (nn_reg_active(l->reg[r]))
                return nn_err(e, NN_EINVAL, "%s: %s(): %s on a layer without weights",
                              nn_value_where(c, nn_args_get(a, nn_reg_options[r]), w, sizeof w),
                              c->fn, nn_reg_options[r]);
    }
    return NN_OK;
}

int nn_layer_check_regs(const nn_layer *l, nn_error *e)
{
    nn_param_spec specs[NN_MAX_PARAM_SPECS];
    int ns = l->ops->param_specs(l, specs), has[NN_REG_ROLES] = {0};
    for (int i = 0; i < ns; i++) {
        int r = nn_reg_role(specs[i].name);
        if (r >= 0)
            has[r] = 1;
    }
    for (int r = 0; r < NN_REG_ROLES; r++)
        if (nn_reg_active(l->reg[r]) && !has[r] && r != NN_REG_BIAS) {
            char w[96];
            return nn_err(e, NN_EINVAL, "%s: %s: the layer has no %s weights (it has %s%s%s)",
                          nn_layer_who(l, w, sizeof w), nn_reg_options[r],
                          r == NN_REG_KERNEL ? "kernel" : r == NN_REG_RECURRENT ? "recurrent_kernel"
                                                                                 : "embeddings",
                          ns > 0 ? specs[0].name : "none", ns > 1 ? ", " : "",
                          ns > 1 ? specs[1].name : "");
        }
    return NN_OK;
}

int nn_layer_create(nn_layer *l, const nn_call *c, nn_shape *input_shape,
                    int *has_input, nn_error *e)
{
    char w[300];
    memset(l, 0, sizeof *l);
    *has_input = 0;
    const nn_layer_ops *ops = nn_layer_find(c->fn);
    if (!ops)
        return nn_err(e, NN_EINVAL, "%s: unknown layer '%s' (known: %s)",
                      nn_value_where(c, NULL, w, sizeof w), c->fn, nn_layer_known());
    const char *names[NN_MAX_ARGS + 1];
    int n = 0;
    for (int i = 0; ops->arg_names && ops->arg_names[i] && n < NN_MAX_ARGS - 10; i++)
        names[n++] = ops->arg_names[i];
    for (int i = 0; common[i]; i++)
        names[n++] = common[i];
    for (int i = 0; nn_reg_options[i]; i++)
        names[n++] = nn_reg_options[i];
    names[n] = NULL;

    nn_args a;
    int rc = nn_args_bind(&a, c, names, ops->arg_aliases, e);
    if (rc)
        return rc;
    l->ops = ops;
    l->trainable = 1;
    l->act = NN_ACT_LINEAR;
    rc = ops->create(l, &a, e);
    if (!rc)
        rc = bind_regs(l, &a, c, e);
    if (!rc)
        rc = nn_args_bool(&a, "trainable", 1, &l->trainable, e);
    const char *name = NULL;
    if (!rc)
        rc = nn_args_str(&a, "name", NULL, &name, e);
    if (!rc && name)
        snprintf(l->name, sizeof l->name, "%s", name);
    int dims[NN_MAX_DIMS], nd = 0, in_dim = 0;
    if (!rc)
        rc = nn_args_shape(&a, "input_shape", NN_MAX_DIMS, dims, &nd, e);
    if (!rc)
        rc = nn_args_int(&a, "input_dim", 0, &in_dim, e);
    if (!rc && in_dim < 0)
        rc = nn_err(e, NN_EINVAL, "%s: %s(): input_dim must be positive",
                    nn_value_where(c, nn_args_get(&a, "input_dim"), w, sizeof w), c->fn);
    if (!rc && nd) {
        input_shape->n = nd;
        for (int i = 0; i < nd; i++)
            input_shape->d[i] = dims[i];
        *has_input = 1;
    } else if (!rc && in_dim > 0) {
        *input_shape = nn_shape1(in_dim);
        *has_input = 1;
    }
    /* An option that was bound but never read is a layer we would silently
     * misconfigure: refuse it. */
    for (int i = 0; !rc && names[i]; i++)
        if (a.v[i] && !a.used[i] && a.v[i]->kind != NN_V_NONE)
            rc = nn_err(e, NN_EINVAL, "%s: %s(): argument '%s' is not supported by nntrain",
                        nn_value_where(c, a.v[i], w, sizeof w), c->fn, names[i]);
    if (rc)
        nn_layer_destroy(l);
    return rc;
}

void nn_layer_destroy(nn_layer *l)
{
    free(l->z);
    l->z = NULL;
    if (l->ops && l->ops->destroy)
        l->ops->destroy(l);
    else
        free(l->priv);
    l->priv = NULL;
}

/* ---- helpers shared by the layers (layer_util.h) ----------------------------- */

int nn_layer_plan_z(nn_layer *l, int batch_max, nn_error *e)
{
    free(l->z);
    l->z = NULL;
    if (!nn_act_needs_z(l->act))
        return NN_OK;
    size_t n = nn_shape_size(&l->out);
    if (batch_max < 1 || n > SIZE_MAX / sizeof(float) / (size_t)batch_max ||
        !(l->z = malloc((size_t)batch_max * n * sizeof(float)))) {
        char w[96];
        return nn_err(e, NN_ENOMEM, "%s: out of memory for the %s pre-activations",
                      nn_layer_who(l, w, sizeof w), nn_act_names[l->act]);
    }
    return NN_OK;
}

void nn_layer_act_keep(nn_layer *l, float *y, int row0, int B)
{
    if (!nn_act_needs_z(l->act))
        return;
    size_t n = nn_shape_size(&l->out), C = (size_t)l->out.d[l->out.n - 1];
    float *z = l->z ? l->z + (size_t)row0 * n : NULL;
    nn_act_forward_keep(l->act, y, z, (size_t)B * n / C, C);
}

void nn_layer_act_grad_z(const nn_layer *l, float *dy, int row0, int B)
{
    if (!nn_act_needs_z(l->act) || l->dy_is_preact || !l->z)
        return;
    size_t n = nn_shape_size(&l->out), C = (size_t)l->out.d[l->out.n - 1];
    nn_act_backward_z(l->act, l->z + (size_t)row0 * n, dy, (size_t)B * n / C, C);
}

const char *nn_layer_who(const nn_layer *l, char *buf, size_t len)
{
    if (l->name[0])
        snprintf(buf, len, "%s '%s'", l->ops->kind, l->name);
    else
        snprintf(buf, len, "%s", l->ops->kind);
    return buf;
}

void nn_join_names(const char *const *names, char *buf, size_t len)
{
    size_t k = 0;
    buf[0] = '\0';
    for (int i = 0; names[i] && k < len; i++)
        k += (size_t)snprintf(buf + k, len - k, "%s%s", i ? ", " : "", names[i]);
}

int nn_layer_arg_err(const nn_layer *l, const nn_args *a, const char *name, nn_error *e,
                     int code, const char *fmt, ...)
{
    char where[128], w[96], msg[sizeof e->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return nn_err(e, code, "%s: %s: %s",
                  nn_value_where(a->call, nn_args_get(a, name), where, sizeof where),
                  nn_layer_who(l, w, sizeof w), msg);
}

int nn_layer_check_pair(const nn_layer *l, const nn_args *a, const char *name,
                        const int v[2], nn_error *e)
{
    if (v[0] < 1 || v[1] < 1)
        return nn_layer_arg_err(l, a, name, e, NN_EINVAL, "%s: expected positive integers, "
                                "found (%d, %d)", name, v[0], v[1]);
    return NN_OK;
}

int nn_layer_bind_act(const nn_layer *l, nn_args *a, const char *name, const char *def,
                      nn_act *out, nn_error *e)
{
    const char *s;
    char known[160];
    int rc = nn_args_str(a, name, def, &s, e);
    if (rc)
        return rc;
    if (nn_args_get(a, name) && !nn_args_has(a, name))
        s = NULL;   /* activation=None: linear, as in Keras */
    if (!nn_act_parse(s, out))
        return NN_OK;
    nn_join_names(nn_act_names, known, sizeof known);
    const char *g = nn_suggest(s, nn_act_names);
    return nn_layer_arg_err(l, a, name, e, NN_EINVAL, "unknown %s '%.60s'%s%s%s (known: %s)",
                            name, s, g ? ": did you mean '" : "", g ? g : "", g ? "'?" : "",
                            known);
}

int nn_layer_bind_init(const nn_layer *l, nn_args *a, const char *name, nn_init def,
                       unsigned accept, nn_init *out, nn_error *e)
{
    const char *s, *names[NN_INIT_COUNT + 1];
    char known[160];
    nn_init k;
    int rc = nn_args_str(a, name, nn_init_names[def], &s, e), n = 0;
    if (rc)
        return rc;
    if (!nn_init_parse(s, &k) && (accept >> k & 1u)) {
        *out = k;
        return NN_OK;
    }
    for (int i = 0; i < NN_INIT_COUNT; i++)
        if (accept >> i & 1u)
            names[n++] = nn_init_names[i];
    names[n] = NULL;
    nn_join_names(names, known, sizeof known);
    return nn_layer_arg_err(l, a, name, e, NN_EINVAL, "unknown %s '%.60s' (known: %s)", name,
                            s, known);
}

int nn_layer_bind_padding(const nn_layer *l, nn_args *a, int *same, nn_error *e)
{
    const char *s;
    int rc = nn_args_str(a, "padding", "valid", &s, e);
    if (rc)
        return rc;
    if (strcasecmp(s, "valid") && strcasecmp(s, "same"))
        return nn_layer_arg_err(l, a, "padding", e, NN_EINVAL, "padding: expected \"valid\" "
                                "or \"same\", found \"%s\"", s);
    *same = !strcasecmp(s, "same");
    return NN_OK;
}

int nn_layer_bind_channels_last(const nn_layer *l, nn_args *a, nn_error *e)
{
    const char *s;
    int rc = nn_args_str(a, "data_format", "channels_last", &s, e);
    if (rc)
        return rc;
    if (strcmp(s, "channels_last"))
        return nn_layer_arg_err(l, a, "data_format", e, NN_EINVAL, "data_format: expected "
                                "\"channels_last\" (NHWC is the only layout), found \"%s\"",
                                s);
    return NN_OK;
}

int nn_layer_keep(nn_layer *l, const void *state, size_t size, nn_error *e)
{
    char w[96];
    void *p = malloc(size);
    if (!p)
        return nn_err(e, NN_ENOMEM, "%s: out of memory", nn_layer_who(l, w, sizeof w));
    memcpy(p, state, size);
    l->priv = p;
    return NN_OK;
}

int nn_layer_need_image(const nn_layer *l, nn_error *e)
{
    char buf[64], w[96];
    if (l->in.n != 3)
        return nn_err(e, NN_ESHAPE, "%s: expected a 3-D input (height, width, channels), "
                      "found %s", nn_layer_who(l, w, sizeof w),
                      nn_shape_str(&l->in, buf, sizeof buf));
    return NN_OK;
}

const nn_layer_fusion nn_layer_fuses_act = {.act = 1};
const nn_layer_fusion nn_layer_is_act = {.act = 1, .pure = 1};

int nn_layer_no_param_specs(const nn_layer *l, nn_param_spec *specs)
{
    (void)l;
    (void)specs;
    return 0;
}

void nn_layer_no_init_params(nn_layer *l, float *p, nn_rng *rng)
{
    (void)l;
    (void)p;
    (void)rng;
}
