/* Owns the steps Conv2D and Conv2DTranspose share (see conv_common.h): their
 * options, parameter shapes and initialisation, chunking, bias and
 * activation. */
#include "layers/conv_common.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "layers/layer_util.h"

int nn_conv_create(nn_layer *l, nn_args *a, int transpose, const char *example,
                   nn_error *e)
{
    nn_conv c;
    memset(&c, 0, sizeof c);
    int rc, ks[2], st[2], dil[2], op[2] = {0, 0};
    static const int one[2] = {1, 1};
    if (!nn_args_has(a, "filters") || !nn_args_has(a, "kernel_size"))
        return nn_layer_arg_err(l, a, "", e, NN_EINVAL, "expected filters and kernel_size, "
                                "e.g. %s, found %s missing", example,
                                nn_args_has(a, "filters") ? "kernel_size" : "filters");
    if (transpose) {
        const nn_value *opv = nn_args_get(a, "output_padding");
        c.has_op = opv && opv->kind != NN_V_NONE;
    }
    if ((rc = nn_args_int(a, "filters", 0, &c.F, e)) ||
        (rc = nn_args_ints(a, "kernel_size", 2, NULL, ks, e)) ||
        (rc = nn_args_ints(a, "strides", 2, one, st, e)) ||
        (transpose && (rc = nn_args_ints(a, "output_padding", 2, NULL, op, e))) ||
        (rc = nn_args_ints(a, "dilation_rate", 2, one, dil, e)))
        return rc;
    if (c.F < 1)
        return nn_layer_arg_err(l, a, "filters", e, NN_EINVAL, "filters: expected a positive "
                                "integer, found %d", c.F);
    if ((rc = nn_layer_check_pair(l, a, "kernel_size", ks, e)) ||
        (rc = nn_layer_check_pair(l, a, "strides", st, e)))
        return rc;
    if (c.has_op && (op[0] < 0 || op[1] < 0 || op[0] >= st[0] || op[1] >= st[1]))
        return nn_layer_arg_err(l, a, "output_padding", e, NN_EINVAL, "output_padding: "
                                "expected 0 <= output_padding < strides (%d, %d) per axis, "
                                "found (%d, %d)", st[0], st[1], op[0], op[1]);
    if (dil[0] != 1 || dil[1] != 1)
        return nn_layer_arg_err(l, a, "dilation_rate", e, NN_EINVAL, "dilation_rate: "
                                "expected 1 (dilated convolution is not supported), found "
                                "(%d, %d)", dil[0], dil[1]);
    if ((rc = nn_layer_bind_padding(l, a, &c.same, e)) ||
        (rc = nn_layer_bind_channels_last(l, a, e)) ||
        (rc = nn_layer_bind_act(l, a, "activation", NULL, &l->act, e)) ||
        (rc = nn_args_bool(a, "use_bias", 1, &c.use_bias, e)) ||
        (rc = nn_layer_bind_init(l, a, "kernel_initializer", NN_INIT_GLOROT_UNIFORM,
                                 NN_INITS_COMMON, &c.kinit, e)) ||
        (rc = nn_layer_bind_init(l, a, "bias_initializer", NN_INIT_ZEROS, NN_INITS_COMMON,
                                 &c.binit, e)))
        return rc;
    c.transpose = transpose;
    c.KH = ks[0];
    c.KW = ks[1];
    c.SH = st[0];
    c.SW = st[1];
    c.OPH = op[0];
    c.OPW = op[1];
    return nn_layer_keep(l, &c, sizeof c, e);
}

/* Output channels of the im2col convolution. */
static int conv_n(const nn_conv *c)
{
    return c->transpose ? c->C : c->F;
}

int nn_conv_param_specs(const nn_layer *l, nn_param_spec *s)
{
    const nn_conv *c = l->priv;
    memset(s, 0, 2 * sizeof *s);
    strcpy(s[0].name, "kernel:0");
    s[0].ndim = 4;
    s[0].dims[0] = c->KH;
    s[0].dims[1] = c->KW;
    s[0].dims[2] = c->g.C;   /* Conv2DTranspose: (KH, KW, filters, in_channels) */
    s[0].dims[3] = conv_n(c);
    s[0].off = 0;
    if (!c->use_bias)
        return 1;
    strcpy(s[1].name, "bias:0");
    s[1].ndim = 1;
    s[1].dims[0] = c->F;
    s[1].off = nn_conv_geom_k(&c->g) * conv_n(c);
    return 2;
}

void nn_conv_init_params(nn_layer *l, float *p, nn_rng *rng)
{
    const nn_conv *c = l->priv;
    const int N = conv_n(c);
    size_t kn = nn_conv_geom_k(&c->g) * N;
    double rf = (double)c->KH * c->KW;
    nn_init_fill(c->kinit, p, kn, rf * c->g.C, rf * N, rng);
    if (c->use_bias)
        nn_init_fill(c->binit, p + kn, (size_t)c->F, c->F, c->F, rng); /* 1-D: fans = F */
}

void nn_conv_plan_chunks(nn_conv *c, int batch_max, size_t pix, size_t *work_bytes)
{
    size_t nmax = INT_MAX / pix;
    if (c->direct) {
        c->chunk = (size_t)batch_max < nmax ? batch_max : (int)nmax;
        if (c->chunk < 1)
            c->chunk = 1;
        *work_bytes = 0;
        return;
    }
    /* one image's columns */
    size_t per = (size_t)c->g.OH * c->g.OW * nn_conv_geom_k(&c->g) * sizeof(float);
    size_t n = nn_im2col_cap() / per;
    if (n > nmax)
        n = nmax;
    if (n < 1)
        n = 1;
    if (batch_max >= 1 && n > (size_t)batch_max)
        n = (size_t)batch_max;
    c->chunk = (int)n;
    *work_bytes = n * per;
}

void nn_conv_bias_act(const nn_layer *l, const float *bias, float *y, size_t rows)
{
    const nn_conv *c = l->priv;
    const int F = c->F;
    if (c->use_bias)
        for (size_t r = 0; r < rows; r++) {
            float *yr = y + r * F;
            for (int f = 0; f < F; f++)
                yr[f] += bias[f];
        }
    nn_act_forward(nn_act_inner(l->act), y, rows, (size_t)F);
}

void nn_conv_bias_grad(const nn_layer *l, const float *y, float *dy, float *db, size_t rows)
{
    const nn_conv *c = l->priv;
    const int F = c->F;
    if (!l->dy_is_preact)
        nn_act_backward(nn_act_inner(l->act), y, dy, rows, (size_t)F);
    if (db && c->use_bias)
        for (size_t r = 0; r < rows; r++) {
            const float *d = dy + r * F;
            for (int f = 0; f < F; f++)
                db[f] += d[f];
        }
}
