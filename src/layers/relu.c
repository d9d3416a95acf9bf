/* Owns the ReLU and LeakyReLU layers (Keras 2 advanced activations), one
 * elementwise map for both, shape unchanged, no parameters:
 *   y = min(x, max_value)            for x > threshold
 *   y = slope * (x - threshold)      otherwise
 * as Keras 2's backend relu(x, alpha, max_value, threshold) computes it
 * (Keras 3 differs only at x == threshold). LeakyReLU(alpha) is that map
 * with threshold 0 and no max_value. The derivative is read from x (1, 0
 * above max_value, or slope), since y does not tell x apart once clipped.
 * A ReLU() without options is the plain relu activation (l->act), so the
 * model fuses it as it fuses Activation("relu"): under a max pooling the
 * pool applies its derivative (l->dy_is_preact). */
#include <math.h>
#include <string.h>

#include "layers/layer_util.h"
#include "nntrain/layer.h"

typedef struct relu {
    float slope, threshold, max_value;   /* max_value INFINITY: None */
} relu;

static const char *const relu_args[] = {"max_value", "negative_slope", "threshold", NULL};
static const char *const leaky_args[] = {"alpha", NULL};
/* tf.keras >= 2.13 and Keras 3 spell LeakyReLU's alpha negative_slope */
static const char *const leaky_aliases[] = {"negative_slope", "alpha", NULL};

/* A finite option >= 0 (Keras refuses negative ones); max_value may also
 * be None (absent: None), *out = INFINITY. */
static int nonneg(const nn_layer *l, nn_args *a, const char *name, int none_ok, double *out,
                  nn_error *e)
{
    int rc = nn_args_double(a, name, 0.0, out, e);
    if (rc)
        return rc;
    if (none_ok && !nn_args_has(a, name)) {
        *out = INFINITY;
        return NN_OK;
    }
    if (!isfinite(*out) || fabs(*out) > 3.4e38 || *out < 0)
        return nn_layer_arg_err(l, a, name, e, NN_EINVAL,
                                "%s must be a finite number >= 0%s, found %g", name,
                                none_ok ? " or None" : "", *out);
    return NN_OK;
}

static int relu_create(nn_layer *l, nn_args *a, nn_error *e)
{
    double mx, slope, thr;
    int rc;
    if ((rc = nonneg(l, a, "max_value", 1, &mx, e)) ||
        (rc = nonneg(l, a, "negative_slope", 0, &slope, e)) ||
        (rc = nonneg(l, a, "threshold", 0, &thr, e)))
        return rc;
    if (isinf(mx) && slope == 0 && thr == 0)
        l->act = NN_ACT_RELU;
    relu r = {(float)slope, (float)thr, isinf(mx) ? INFINITY : (float)mx};
    return nn_layer_keep(l, &r, sizeof r, e);
}

static int leaky_create(nn_layer *l, nn_args *a, nn_error *e)
{
    double alpha;
    int rc;
    if (nn_args_get(a, "alpha") && !nn_args_has(a, "alpha"))
        return nn_layer_arg_err(l, a, "alpha", e, NN_EINVAL,
                                "alpha must be a number (Keras 2's default is 0.3), found None");
    if ((rc = nn_args_double(a, "alpha", 0.3, &alpha, e)))   /* Keras 2's default */
        return rc;
    if (!isfinite(alpha) || fabs(alpha) > 3.4e38)
        return nn_layer_arg_err(l, a, "alpha", e, NN_EINVAL,
                                "alpha must be a finite number, found %g", alpha);
    relu r = {(float)alpha, 0.0f, INFINITY};
    return nn_layer_keep(l, &r, sizeof r, e);
}

static int relu_configure(nn_layer *l, nn_error *e)
{
    (void)e;
    l->out = l->in;
    l->param_len = 0;
    return NN_OK;
}

static void relu_forward(nn_layer *l, const float *p, const float *x /* (B, ...) */,
                         float *y /* (B, ...) */, int B, nn_ctx *ctx)
{
    const relu *r = l->priv;
    const float s = r->slope, t = r->threshold, mx = r->max_value;
    size_t n = (size_t)B * nn_shape_size(&l->in);
    (void)p;
    (void)ctx;
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] > t ? fminf(x[i], mx) : s * (x[i] - t);
}

static void relu_backward(nn_layer *l, const float *p, float *g, const float *x /* (B, ...) */,
                          const float *y, float *dy /* (B, ...) */,
                          float *dx /* (B, ...) or NULL */, int B, nn_ctx *ctx)
{
    const relu *r = l->priv;
    const float s = r->slope, t = r->threshold, mx = r->max_value;
    size_t n = (size_t)B * nn_shape_size(&l->in);
    (void)p;
    (void)g;
    (void)y;
    (void)ctx;
    if (!dx)
        return;
    if (l->dy_is_preact) {   /* a max pooling above applied the relu derivative */
        if (dx != dy)
            memcpy(dx, dy, n * sizeof *dx);
        return;
    }
    for (size_t i = 0; i < n; i++)
        dx[i] = x[i] > t ? (x[i] < mx ? dy[i] : 0.0f) : s * dy[i];
}

const nn_layer_ops nn_relu_ops = {
    .kind = "ReLU",
    .arg_names = relu_args,
    .arg_aliases = NULL,
    .create = relu_create,
    .configure = relu_configure,
    .param_specs = nn_layer_no_param_specs,
    .init_params = nn_layer_no_init_params,
    .plan = NULL,
    .forward = relu_forward,
    .backward = relu_backward,
    .destroy = NULL,
    .bwd_skips = NN_SKIPS_Y,
    .fusion = &nn_layer_is_act,
};

const nn_layer_ops nn_leaky_relu_ops = {
    .kind = "LeakyReLU",
    .arg_names = leaky_args,
    .arg_aliases = leaky_aliases,
    .create = leaky_create,
    .configure = relu_configure,
    .param_specs = nn_layer_no_param_specs,
    .init_params = nn_layer_no_init_params,
    .plan = NULL,
    .forward = relu_forward,
    .backward = relu_backward,
    .destroy = NULL,
    .bwd_skips = NN_SKIPS_Y,
};
