/* Creating a layer from a parsed call: look the kind up, bind its arguments
 * plus the ones every Keras layer takes (input_shape, input_dim, name,
 * trainable), and let the layer read its own options. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nntrain/layer.h"

/* Keyword-only in Keras, as in every layer's signature after "*". */
static const char *const common[] = {"*", "input_shape", "input_dim", "name", "trainable",
                                     NULL};

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
    for (int i = 0; ops->arg_names && ops->arg_names[i] && n < NN_MAX_ARGS - 5; i++)
        names[n++] = ops->arg_names[i];
    for (int i = 0; common[i]; i++)
        names[n++] = common[i];
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
    if (l->ops && l->ops->destroy)
        l->ops->destroy(l);
    else
        free(l->priv);
    l->priv = NULL;
}
