/* Owns Keras's Concatenate(axis=-1): joins a list of inputs along one axis
 * of the sample (any axis but the batch; negative axes count from the end,
 * -1 the last, as Keras counts them on the batched tensor). Every other
 * dimension must match. A sample is outer blocks of the dims before the axis;
 * in each block, input k holds one contiguous run of ins[k].d[axis] * (the
 * dims after) floats, so both passes copy row slices (memcpy) in order. No
 * parameters, no workspace; backward hands input k its slice of dy. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "layers/layer_util.h"
#include "nntrain/layer.h"

typedef struct concat {
    int axis;                       /* as given (Keras: batch axis 0) */
    size_t outer;                   /* blocks per sample */
    size_t run[NN_MAX_INPUTS];      /* floats of input k per block */
    size_t off[NN_MAX_INPUTS];      /* its offset in an output block */
    size_t orun;                    /* floats per output block */
} concat;

static const char *const concat_args[] = {"axis", NULL};

static int concat_create(nn_layer *l, nn_args *a, nn_error *e)
{
    concat c;
    memset(&c, 0, sizeof c);
    int rc = nn_args_int(a, "axis", -1, &c.axis, e);
    if (rc)
        return rc;
    return nn_layer_keep(l, &c, sizeof c, e);
}

static int concat_configure(nn_layer *l, nn_error *e)
{
    concat *c = l->priv;
    char w[96], s0[64], sk[64];
    if (l->nin < l->ops->merge->min_inputs || l->nin > NN_MAX_INPUTS)
        return nn_err(e, NN_EINVAL, "%s: joins a list of %d to %d inputs, found %d",
                      nn_layer_who(l, w, sizeof w), l->ops->merge->min_inputs, NN_MAX_INPUTS,
                      l->nin);
    const nn_shape *s = &l->ins[0];
    const int r = s->n;
    /* Keras counts the batch as axis 0: a sample's axes are 1..r, or -r..-1 */
    int ax = c->axis < 0 ? c->axis + r + 1 : c->axis;
    if (ax == 0)
        return nn_err(e, NN_ESHAPE, "%s: axis=%d is the batch axis: expected a sample axis, "
                      "1..%d or -%d..-1, for inputs of shape %s", nn_layer_who(l, w, sizeof w),
                      c->axis, r, r, nn_shape_str(s, s0, sizeof s0));
    if (ax < 0 || ax > r)
        return nn_err(e, NN_ESHAPE, "%s: axis=%d is out of range for inputs of shape %s: "
                      "expected 1..%d or -%d..-1", nn_layer_who(l, w, sizeof w), c->axis,
                      nn_shape_str(s, s0, sizeof s0), r, r);
    const int p = ax - 1;   /* in the sample's dims */
    size_t total = 0;
    for (int k = 0; k < l->nin; k++) {
        const nn_shape *t = &l->ins[k];
        int ok = t->n == r;
        for (int i = 0; ok && i < r; i++)
            ok = i == p || t->d[i] == s->d[i];
        if (!ok)
            return nn_err(e, NN_ESHAPE, "%s: input %d has shape %s but input 0 has %s: all "
                          "dimensions but the concatenation axis (axis=%d) must match",
                          nn_layer_who(l, w, sizeof w), k, nn_shape_str(t, sk, sizeof sk),
                          nn_shape_str(s, s0, sizeof s0), c->axis);
        total += (size_t)t->d[p];
    }
    nn_shape out = *s;
    if (total > INT_MAX || nn_shape_size(s) / (size_t)s->d[p] * total > INT_MAX)
        return nn_err(e, NN_ESHAPE, "%s: the joined output has more than 2^31 elements per "
                      "sample", nn_layer_who(l, w, sizeof w));
    out.d[p] = (int)total;
    size_t inner = 1, outer = 1;
    for (int i = p + 1; i < r; i++)
        inner *= (size_t)s->d[i];
    for (int i = 0; i < p; i++)
        outer *= (size_t)s->d[i];
    c->outer = outer;
    c->orun = total * inner;
    for (int k = 0, off = 0; k < l->nin; k++) {
        c->run[k] = (size_t)l->ins[k].d[p] * inner;
        c->off[k] = (size_t)off * inner;
        off += l->ins[k].d[p];
    }
    l->out = out;
    l->param_len = 0;
    return NN_OK;
}

static void concat_forward(nn_layer *l, const float *const *xs /* (B, ins[k]) */,
                           float *y /* (B, out) */, int B, nn_ctx *ctx)
{
    const concat *c = l->priv;
    (void)ctx;
    const size_t blocks = (size_t)B * c->outer;
    for (int k = 0; k < l->nin; k++) {
        const size_t run = c->run[k];
        const float *x = xs[k];
        float *o = y + c->off[k];
        for (size_t i = 0; i < blocks; i++)
            memcpy(o + i * c->orun, x + i * run, run * sizeof *o);
    }
}

static void concat_backward(nn_layer *l, int k, const float *const *xs, const float *y,
                            const float *dy /* (B, out) */, float *dx /* (B, ins[k]) */,
                            int B, nn_ctx *ctx)
{
    const concat *c = l->priv;
    (void)xs, (void)y, (void)ctx;
    const size_t blocks = (size_t)B * c->outer, run = c->run[k];
    const float *g = dy + c->off[k];
    for (size_t i = 0; i < blocks; i++)
        memcpy(dx + i * run, g + i * c->orun, run * sizeof *dx);
}

/* tf.keras and Keras 3 accept a list of one input (Keras 2.2 wanted 2) */
static const nn_layer_merge_ops concat_merge = {1, concat_forward, concat_backward};

const nn_layer_ops nn_concatenate_ops = {
    .kind = "Concatenate",
    .arg_names = concat_args,
    .arg_aliases = NULL,
    .create = concat_create,
    .configure = concat_configure,
    .param_specs = nn_layer_no_param_specs,
    .init_params = nn_layer_no_init_params,
    .bwd_skips = NN_SKIPS_X | NN_SKIPS_Y,
    .merge = &concat_merge,
};
