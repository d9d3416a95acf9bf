/* Owns the Activation layer (Keras): y = act(x) over the last axis, shape
 * unchanged. Softmax normalises each run of the last dimension (features, or
 * channels of an NHWC image), as Keras's default axis=-1 does. Its input x
 * is the pre-activation, so gelu and swish differentiate from x and keep
 * nothing more. Also the Softmax layer (Keras 2 advanced activation): the
 * same layer with activation softmax, so a final Softmax() fuses with a
 * cross-entropy loss as Activation("softmax") does; only its last axis. */
#include <stdio.h>
#include <string.h>

#include "layers/layer_util.h"
#include "nntrain/layer.h"

static const char *const activation_args[] = {"activation", NULL};

static int activation_create(nn_layer *l, nn_args *a, nn_error *e)
{
    char where[128];
    /* activation=None is allowed and means linear, as in Keras */
    if (!nn_args_get(a, "activation"))
        return nn_err(e, NN_EINVAL, "%s: Activation needs an activation, "
                      "e.g. Activation(\"relu\")",
                      nn_value_where(a->call, NULL, where, sizeof where));
    return nn_layer_bind_act(l, a, "activation", NULL, &l->act, e);
}

static int activation_configure(nn_layer *l, nn_error *e)
{
    (void)e;
    l->out = l->in;
    l->param_len = 0;
    return NN_OK;
}

static void activation_forward(nn_layer *l, const float *p, const float *x /* (B, ..., C) */,
                               float *y /* (B, ..., C) */, int B, nn_ctx *ctx)
{
    size_t C = (size_t)l->in.d[l->in.n - 1];
    size_t n = (size_t)B * nn_shape_size(&l->in);
    (void)p;
    (void)ctx;
    if (y != x)
        memcpy(y, x, n * sizeof *y);
    nn_act_forward(l->act, y, n / C, C);
}

static void activation_backward(nn_layer *l, const float *p, float *g, const float *x,
                                const float *y /* (B, ..., C) */,
                                float *dy /* (B, ..., C) */,
                                float *dx /* (B, ..., C) or NULL */, int B, nn_ctx *ctx)
{
    size_t C = (size_t)l->in.d[l->in.n - 1];
    size_t n = (size_t)B * nn_shape_size(&l->in);
    (void)p;
    (void)g;
    (void)ctx;
    if (!dx)
        return;
    if (!l->dy_is_preact)
        nn_act_backward_z(l->act, nn_act_needs_z(l->act) ? x : y, dy, n / C, C);
    if (dx != dy)
        memcpy(dx, dy, n * sizeof *dx);
}

static const char *const softmax_args[] = {"axis", NULL};

static int softmax_create(nn_layer *l, nn_args *a, nn_error *e)
{
    int axis;
    int rc = nn_args_int(a, "axis", -1, &axis, e);
    if (rc)
        return rc;
    l->act = NN_ACT_SOFTMAX;
    return nn_layer_keep(l, &axis, sizeof axis, e);
}

/* Keras counts the batch as axis 0: the last axis of an (H, W, C) input
 * is -1 or 3. */
static int softmax_configure(nn_layer *l, nn_error *e)
{
    int axis = *(const int *)l->priv;
    if (axis != -1 && axis != l->in.n) {
        char s[96], w[96];
        return nn_err(e, NN_EINVAL, "%s: axis=%d is not supported: nntrain normalises over "
                      "the last axis (axis=-1, or %d for its input %s)",
                      nn_layer_who(l, w, sizeof w), axis, l->in.n,
                      nn_shape_str(&l->in, s, sizeof s));
    }
    return activation_configure(l, e);
}

const nn_layer_ops nn_softmax_ops = {
    .kind = "Softmax",
    .arg_names = softmax_args,
    .arg_aliases = NULL,
    .create = softmax_create,
    .configure = softmax_configure,
    .param_specs = nn_layer_no_param_specs,
    .init_params = nn_layer_no_init_params,
    .plan = NULL,
    .forward = activation_forward,
    .backward = activation_backward,
    .destroy = NULL,
    .fusion = &nn_layer_is_act,
};

const nn_layer_ops nn_activation_ops = {
    .kind = "Activation",
    .arg_names = activation_args,
    .arg_aliases = NULL,
    .create = activation_create,
    .configure = activation_configure,
    .param_specs = nn_layer_no_param_specs,
    .init_params = nn_layer_no_init_params,
    .plan = NULL,
    .forward = activation_forward,
    .backward = activation_backward,
    .destroy = NULL,
    .fusion = &nn_layer_is_act,
};
