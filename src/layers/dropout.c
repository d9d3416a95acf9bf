/* Owns the Dropout layer (Keras, inverted): in training each element is kept
 * with probability 1 - rate and scaled by 1/(1 - rate); at inference it is
 * the identity. Row b's mask is drawn from a stream keyed by (seed, epoch,
 * sample id of row b, layer index), never by rank or row position, so 1 and
 * N ranks drop the same units for a sample and a repeated forward with the
 * same ctx repeats the mask (the gradient check relies on that). The mask (0
 * or the scale per element) is kept for backward, allocated in plan(). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layers/layer_util.h"
#include "nntrain/layer.h"

typedef struct dropout {
    double rate;
    int has_seed;
    uint64_t seed;     /* seed=: replaces the run seed for this layer's masks */
    float *mask;       /* (batch_max, size): 0 or 1/(1 - rate) */
    size_t mask_cap;   /* floats allocated */
} dropout;

static const char *const dropout_args[] = {"rate", "noise_shape", "seed", NULL};

static int dropout_create(nn_layer *l, nn_args *a, nn_error *e)
{
    char where[128], w[96];
    dropout d = {0};
    int rc, seed = 0;
    const nn_value *ns = nn_args_get(a, "noise_shape");
    if (!nn_args_has(a, "rate"))
        return nn_err(e, NN_EINVAL, "%s: %s needs a rate, e.g. Dropout(0.5)",
                      nn_value_where(a->call, NULL, where, sizeof where),
                      nn_layer_who(l, w, sizeof w));
    if ((rc = nn_args_double(a, "rate", 0.0, &d.rate, e)))
        return rc;
    if (!(d.rate >= 0.0 && d.rate < 1.0))
        return nn_err(e, NN_EINVAL, "%s: %s: rate must be in [0, 1), found %g",
                      nn_value_where(a->call, nn_args_get(a, "rate"), where, sizeof where),
                      nn_layer_who(l, w, sizeof w), d.rate);
    if (ns && ns->kind != NN_V_NONE)
        return nn_err(e, NN_EINVAL, "%s: %s: noise_shape is not supported, expected None",
                      nn_value_where(a->call, ns, where, sizeof where),
                      nn_layer_who(l, w, sizeof w));
    if (nn_args_has(a, "seed")) { /* absent or None: the run seed */
        if ((rc = nn_args_int(a, "seed", 0, &seed, e)))
            return rc;
        d.has_seed = 1;
        d.seed = (uint64_t)(int64_t)seed;
    }
    return nn_layer_keep(l, &d, sizeof d, e);
}

static int dropout_configure(nn_layer *l, nn_error *e)
{
    (void)e;
    l->out = l->in;
    l->param_len = 0;
    return NN_OK;
}

static int dropout_plan(nn_layer *l, int batch_max, size_t *work_bytes, nn_error *e)
{
    dropout *d = l->priv;
    size_t n = nn_shape_size(&l->in);
    char w[96];
    *work_bytes = 0;
    if (batch_max <= 0 || n > SIZE_MAX / sizeof(float) / (size_t)batch_max)
        return nn_err(e, NN_EINVAL, "%s: mask for %d rows of %zu is too large",
                      nn_layer_who(l, w, sizeof w), batch_max, n);
    if ((size_t)batch_max * n <= d->mask_cap)
        return NN_OK;
    float *m = realloc(d->mask, (size_t)batch_max * n * sizeof *m);
    if (!m)
        return nn_err(e, NN_ENOMEM, "%s: out of memory for a (%d, %zu) mask",
                      nn_layer_who(l, w, sizeof w), batch_max, n);
    d->mask = m;
    d->mask_cap = (size_t)batch_max * n;
    return NN_OK;
}

static void dropout_forward(nn_layer *l, const float *p, const float *x /* (B, ...) */,
                            float *y /* (B, ...) */, int B, nn_ctx *ctx)
{
    dropout *d = l->priv;
    size_t n = nn_shape_size(&l->in);
    (void)p;
    if (!ctx->training || d->rate == 0.0) {
        if (y != x)
            memcpy(y, x, (size_t)B * n * sizeof *y);
        return;
    }
    const float scale = (float)(1.0 / (1.0 - d->rate));
    const uint64_t seed = d->has_seed ? d->seed : ctx->seed;
    /* nn_rng_uniform_d(r) >= rate, element by element, as integers: u53 *
     * 2^-53 >= rate exactly when u53 >= ceil(rate * 2^53); each draw is a
     * function of its index, so the loop vectorises (same masks). */
    const uint64_t thr = (uint64_t)ceil(d->rate * 9007199254740992.0);
    for (int b = 0; b < B; b++) {
        uint64_t id = ctx->sample_ids ? ctx->sample_ids[b] : (uint64_t)b;
        nn_rng r = nn_rng_key(seed, ctx->epoch, id, (uint64_t)l->index);
        float *restrict m = d->mask + ((size_t)ctx->row0 + b) * n;
        const float *restrict xr = x + (size_t)b * n;
        float *restrict yr = y + (size_t)b * n;
        for (size_t i = 0; i < n; i++) {
            uint64_t u = nn_rng_at(r, i) >> 11;
            m[i] = u >= thr ? scale : 0.0f;
            yr[i] = xr[i] * m[i];
        }
    }
}

static void dropout_backward(nn_layer *l, const float *p, float *g, const float *x,
                             const float *y, float *dy /* (B, ...) */,
                             float *dx /* (B, ...) or NULL */, int B, nn_ctx *ctx)
{
    const dropout *d = l->priv;
    size_t n = (size_t)B * nn_shape_size(&l->in);
    (void)p;
    (void)g;
    (void)x;
    (void)y;
    if (!dx)
        return;
    if (!ctx->training || d->rate == 0.0) {
        if (dx != dy)
            memcpy(dx, dy, n * sizeof *dx);
        return;
    }
    const float *mask = d->mask + (size_t)ctx->row0 * nn_shape_size(&l->in);
    for (size_t i = 0; i < n; i++)
        dx[i] = dy[i] * mask[i];
}

static void dropout_destroy(nn_layer *l)
{
    dropout *d = l->priv;
    if (d)
        free(d->mask);
    free(d);
    l->priv = NULL;
}

const nn_layer_ops nn_dropout_ops = {
    .kind = "Dropout",
    .arg_names = dropout_args,
    .arg_aliases = NULL,
    .create = dropout_create,
    .configure = dropout_configure,
    .param_specs = nn_layer_no_param_specs,
    .init_params = nn_layer_no_init_params,
    .plan = dropout_plan,
    .forward = dropout_forward,
    .backward = dropout_backward,
    .destroy = dropout_destroy,
    .bwd_skips = NN_SKIPS_X | NN_SKIPS_Y,   /* the mask is kept */
};
