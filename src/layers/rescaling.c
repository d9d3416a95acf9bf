/* Owns the Rescaling layer (Keras preprocessing): y = x * scale + offset,
 * elementwise, shape unchanged, no parameters; dx = scale * dy. Note that
 * nntrain already delivers uint8 images scaled to [0, 1] (as Keras's /255),
 * so the Keras idiom Rescaling(1./255) in front of such data scales twice;
 * README says so. */
#include <math.h>

#include "layers/layer_util.h"
#include "nntrain/layer.h"

typedef struct rescaling {
    float scale, offset;
} rescaling;

static const char *const rescaling_args[] = {"scale", "offset", NULL};

static int rescaling_create(nn_layer *l, nn_args *a, nn_error *e)
{
    char where[128], w[96];
    double scale, offset;
    int rc;
    if (!nn_args_has(a, "scale"))
        return nn_err(e, NN_EINVAL, "%s: %s needs a scale, e.g. Rescaling(1/255)",
                      nn_value_where(a->call, NULL, where, sizeof where),
                      nn_layer_who(l, w, sizeof w));
    if ((rc = nn_args_double(a, "scale", 1.0, &scale, e)) ||
        (rc = nn_args_double(a, "offset", 0.0, &offset, e)))
        return rc;
    if (!isfinite(scale) || fabs(scale) > 3.4e38)
        return nn_layer_arg_err(l, a, "scale", e, NN_EINVAL,
                                "scale must be a finite number, found %g", scale);
    if (!isfinite(offset) || fabs(offset) > 3.4e38)
        return nn_layer_arg_err(l, a, "offset", e, NN_EINVAL,
                                "offset must be a finite number, found %g", offset);
    rescaling r = {(float)scale, (float)offset};
    return nn_layer_keep(l, &r, sizeof r, e);
}

static int rescaling_configure(nn_layer *l, nn_error *e)
{
    (void)e;
    l->out = l->in;
    l->param_len = 0;
    return NN_OK;
}

static void rescaling_forward(nn_layer *l, const float *p, const float *x /* (B, ...) */,
                              float *y /* (B, ...) */, int B, nn_ctx *ctx)
{
    const rescaling *r = l->priv;
    size_t n = (size_t)B * nn_shape_size(&l->in);
    (void)p;
    (void)ctx;
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] * r->scale + r->offset;
}

static void rescaling_backward(nn_layer *l, const float *p, float *g, const float *x,
                               const float *y, float *dy /* (B, ...) */,
                               float *dx /* (B, ...) or NULL */, int B, nn_ctx *ctx)
{
    const rescaling *r = l->priv;
    size_t n = (size_t)B * nn_shape_size(&l->in);
    (void)p;
    (void)g;
    (void)x;
    (void)y;
    (void)ctx;
    if (!dx)
        return;
    for (size_t i = 0; i < n; i++)
        dx[i] = dy[i] * r->scale;
}

const nn_layer_ops nn_rescaling_ops = {
    .kind = "Rescaling",
    .arg_names = rescaling_args,
    .arg_aliases = NULL,
    .create = rescaling_create,
    .configure = rescaling_configure,
    .param_specs = nn_layer_no_param_specs,
    .init_params = nn_layer_no_init_params,
    .plan = NULL,
    .forward = rescaling_forward,
    .backward = rescaling_backward,
    .destroy = NULL,
    .bwd_skips = NN_SKIPS_X | NN_SKIPS_Y,
};
