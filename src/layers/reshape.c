/* Owns the Reshape layer (Keras): the per-sample shape becomes target_shape,
 * one entry of which may be -1 (inferred from the input's size, as Keras
 * does). Tensors are row-major, so the data do not move: like Flatten it is
 * a reshape layer (ops->reshape), the model passes y == x and dx == dy, and
 * both passes copy only when handed distinct buffers. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "layers/layer_util.h"
#include "nntrain/layer.h"

typedef struct reshape {
    nn_shape target;   /* d[i] == -1: inferred */
} reshape;

static const char *const reshape_args[] = {"target_shape", NULL};

static int reshape_create(nn_layer *l, nn_args *a, nn_error *e)
{
    const nn_value *v = nn_args_get(a, "target_shape");
    reshape r;
    int unknown = 0;
    memset(&r, 0, sizeof r);
    if (!nn_args_has(a, "target_shape"))
        return nn_layer_arg_err(l, a, "target_shape", e, NN_EINVAL,
                                "needs a target_shape, e.g. Reshape((7, 7, 64)) or "
                                "layer_reshape(target_shape = c(7, 7, 64))");
    for (int i = 0; a->names[i]; i++)   /* read here, not by a typed getter */
        if (!strcmp(a->names[i], "target_shape"))
            a->used[i] = 1;
    const nn_value *items = v->kind == NN_V_LIST ? v->items : v;
    int n = v->kind == NN_V_LIST ? v->n : 1;
    if (n < 1 || n > NN_MAX_DIMS)
        return nn_layer_arg_err(l, a, "target_shape", e, NN_EINVAL,
                                "target_shape must hold 1 to %d dimensions, found %d",
                                NN_MAX_DIMS, n);
    for (int i = 0; i < n; i++) {
        const nn_value *d = &items[i];
        int ok = d->kind == NN_V_NUM && d->num == (double)(int)d->num &&
                 (d->num >= 1 || d->num == -1);
        if (!ok || (d->num == -1 && unknown++))
            return nn_layer_arg_err(l, a, "target_shape", e, NN_EINVAL,
                                    "target_shape must hold positive integers and at most "
                                    "one -1 (inferred), e.g. (-1, 4)");
        r.target.d[i] = (int)d->num;
    }
    r.target.n = n;
    return nn_layer_keep(l, &r, sizeof r, e);
}

static int reshape_configure(nn_layer *l, nn_error *e)
{
    const reshape *r = l->priv;
    size_t in = nn_shape_size(&l->in), known = 1;
    int at = -1;
    char s1[96], s2[96], w[96];
    size_t k = 0;
    for (int i = 0; i < r->target.n; i++)   /* Keras's spelling: (-1, 4), (5,) */
        k += (size_t)snprintf(s2 + k, sizeof s2 - k, "%s%d", i ? ", " : "(", r->target.d[i]);
    snprintf(s2 + k, sizeof s2 - k, "%s", r->target.n == 1 ? ",)" : ")");
    for (int i = 0; i < r->target.n; i++) {
        if (r->target.d[i] == -1)
            at = i;
        else if ((known *= (size_t)r->target.d[i]) > (size_t)INT_MAX)
            break;
    }
    l->out = r->target;
    if (at >= 0 && known <= (size_t)INT_MAX && in % known == 0)
        l->out.d[at] = (int)(in / known);
    if ((at < 0 && known != in) || (at >= 0 && (in % known || in / known < 1)) ||
        known > (size_t)INT_MAX)
        return nn_err(e, NN_ESHAPE, "%s: cannot reshape its input %s (%zu value%s) to "
                      "target_shape %s: the number of values must stay the same",
                      nn_layer_who(l, w, sizeof w), nn_shape_str(&l->in, s1, sizeof s1), in,
                      in == 1 ? "" : "s", s2);
    l->param_len = 0;
    return NN_OK;
}

static void reshape_forward(nn_layer *l, const float *p, const float *x /* (B, in...) */,
                            float *y /* (B, target...) */, int B, nn_ctx *ctx)
{
    (void)p;
    (void)ctx;
    if (y != x)
        memcpy(y, x, (size_t)B * nn_shape_size(&l->in) * sizeof *y);
}

static void reshape_backward(nn_layer *l, const float *p, float *g, const float *x,
                             const float *y, float *dy /* (B, target...) */,
                             float *dx /* (B, in...) or NULL */, int B, nn_ctx *ctx)
{
    (void)p;
    (void)g;
    (void)x;
    (void)y;
    (void)ctx;
    if (dx && dx != dy)
        memcpy(dx, dy, (size_t)B * nn_shape_size(&l->in) * sizeof *dx);
}

const nn_layer_ops nn_reshape_ops = {
    .kind = "Reshape",
    .arg_names = reshape_args,
    .arg_aliases = NULL,
    .create = reshape_create,
    .configure = reshape_configure,
    .param_specs = nn_layer_no_param_specs,
    .init_params = nn_layer_no_init_params,
    .plan = NULL,
    .forward = reshape_forward,
    .backward = reshape_backward,
    .destroy = NULL,
    .reshape = 1,
    .bwd_skips = NN_SKIPS_X | NN_SKIPS_Y,
};
