/* Owns the Flatten layer (Keras): (H, W, C) -> (H*W*C,). Our tensors are
 * NHWC, row-major, so the flattened order is already Keras's (H, W, C) order
 * and both passes are plain copies; Dense kernels imported from Keras line
 * up unchanged. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "layers/layer_util.h"
#include "nntrain/layer.h"

static const char *const flatten_args[] = {"data_format", NULL};

static int flatten_create(nn_layer *l, nn_args *a, nn_error *e)
{
    const char *fmt;
    char where[128];
    int rc = nn_args_str(a, "data_format", "channels_last", &fmt, e);
    if (rc)
        return rc;
    if (strcmp(fmt, "channels_last"))
        return nn_err(e, NN_EINVAL,
                      "%s: Flatten%s%s%s: data_format must be \"channels_last\" "
                      "(tensors are NHWC), found \"%s\"",
                      nn_value_where(a->call, nn_args_get(a, "data_format"), where,
                                     sizeof where),
                      l->name[0] ? " '" : "", l->name, l->name[0] ? "'" : "", fmt);
    return NN_OK;
}

static int flatten_configure(nn_layer *l, nn_error *e)
{
    size_t n = nn_shape_size(&l->in);
    if (n == 0 || n > (size_t)INT_MAX) {
        char s[96];
        return nn_err(e, NN_ESHAPE, "Flatten '%s': input %s has %zu elements, "
                      "expected 1 to %d", l->name, nn_shape_str(&l->in, s, sizeof s),
                      n, INT_MAX);
    }
    l->out = nn_shape1((int)n);
    l->param_len = 0;
    return NN_OK;
}

static void flatten_forward(nn_layer *l, const float *p, const float *x /* (B, ...) */,
                            float *y /* (B, prod) */, int B, nn_ctx *ctx)
{
    (void)p;
    (void)ctx;
    if (y != x)
        memcpy(y, x, (size_t)B * nn_shape_size(&l->in) * sizeof *y);
}

static void flatten_backward(nn_layer *l, const float *p, float *g, const float *x,
                             const float *y, float *dy /* (B, prod) */,
                             float *dx /* (B, ...) or NULL */, int B, nn_ctx *ctx)
{
    (void)p;
    (void)g;
    (void)x;
    (void)y;
    (void)ctx;
    if (dx && dx != dy)
        memcpy(dx, dy, (size_t)B * nn_shape_size(&l->in) * sizeof *dx);
}

const nn_layer_ops nn_flatten_ops = {
    .kind = "Flatten",
    .arg_names = flatten_args,
    .arg_aliases = NULL,
    .create = flatten_create,
    .configure = flatten_configure,
    .param_specs = nn_layer_no_param_specs,
    .init_params = nn_layer_no_init_params,
    .plan = NULL,
    .forward = flatten_forward,
    .backward = flatten_backward,
    .destroy = NULL,
    .reshape = 1,
};
