/* Owns the steps SimpleRNN and LSTM share (see rnn_common.h): their common
 * options, shapes, parameter layout and initialisation, the input product
 * and the W/U/b gradients. */
#include "layers/rnn_common.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "layers/layer_util.h"
#include "nntrain/gemm.h"

int nn_rnn_bind_units(nn_layer *l, nn_args *a, nn_rnn *r, nn_error *e)
{
    int rc;
    if (!nn_args_has(a, "units"))
        return nn_layer_arg_err(l, a, "units", e, NN_EINVAL, "needs units, e.g. %s(32)",
                                l->ops->kind);
    if ((rc = nn_args_int(a, "units", 0, &r->units, e)))
        return rc;
    if (r->units <= 0)
        return nn_layer_arg_err(l, a, "units", e, NN_EINVAL,
                                "units must be a positive integer");
    return NN_OK;
}

int nn_rnn_bind_weights(nn_layer *l, nn_args *a, nn_rnn *r, nn_error *e)
{
    const unsigned ok = NN_INITS_COMMON | 1u << NN_INIT_ORTHOGONAL;
    int rc;
    if ((rc = nn_args_bool(a, "use_bias", 1, &r->use_bias, e)) ||
        (rc = nn_layer_bind_init(l, a, "kernel_initializer", NN_INIT_GLOROT_UNIFORM, ok,
                                 &r->kinit, e)) ||
        (rc = nn_layer_bind_init(l, a, "recurrent_initializer", NN_INIT_ORTHOGONAL, ok,
                                 &r->rinit, e)) ||
        (rc = nn_layer_bind_init(l, a, "bias_initializer", NN_INIT_ZEROS, ok, &r->binit, e)))
        return rc;
    return NN_OK;
}

int nn_rnn_bind_sequence(nn_layer *l, nn_args *a, nn_rnn *r, nn_error *e)
{
    int rc, flag;
    double rate;
    if ((rc = nn_args_bool(a, "return_sequences", 0, &r->return_sequences, e)) ||
        (rc = nn_args_bool(a, "go_backwards", 0, &r->go_backwards, e)) ||
        (rc = nn_args_bool(a, "unroll", 0, &flag, e)))   /* a speed hint only */
        return rc;
    if ((rc = nn_args_bool(a, "return_state", 0, &flag, e)))
        return rc;
    if (flag)
        return nn_layer_arg_err(l, a, "return_state", e, NN_EINVAL, "return_state=True "
                                "needs the functional API; nntrain models are Sequential");
    if ((rc = nn_args_bool(a, "stateful", 0, &flag, e)))
        return rc;
    if (flag)
        return nn_layer_arg_err(l, a, "stateful", e, NN_EINVAL,
                                "stateful=True is not supported");
    static const char *const drops[] = {"dropout", "recurrent_dropout"};
    for (int i = 0; i < 2; i++) {
        if ((rc = nn_args_double(a, drops[i], 0, &rate, e)))
            return rc;
        if (rate != 0)
            return nn_layer_arg_err(l, a, drops[i], e, NN_EINVAL, "%s=%g is not supported "
                                    "(only 0); add a Dropout layer between layers instead",
                                    drops[i], rate);
    }
    return NN_OK;
}

int nn_rnn_configure(nn_layer *l, nn_rnn *r, nn_error *e)
{
    char w[96], s[96];
    if (l->in.n != 2)
        return nn_err(e, NN_ESHAPE, "%s needs a (timesteps, features) input but gets %s: "
                      "set return_sequences=True on the recurrent layer before it, or put "
                      "an Embedding first, or give input_shape=(T, D)",
                      nn_layer_who(l, w, sizeof w), nn_shape_str(&l->in, s, sizeof s));
    r->T = l->in.d[0];
    r->D = l->in.d[1];
    size_t G = (size_t)r->gates * r->units;
    if ((size_t)r->T * (size_t)r->D > INT_MAX / 2 || (size_t)r->T * G > INT_MAX / 2 ||
        (size_t)r->D * G > INT_MAX / 2 || (size_t)r->units * G > INT_MAX / 2)
        return nn_err(e, NN_ESHAPE, "%s: %d timesteps x %d features x %d units is too large",
                      nn_layer_who(l, w, sizeof w), r->T, r->D, r->units);
    l->out = r->return_sequences ? (nn_shape){2, {r->T, r->units, 0, 0}} : nn_shape1(r->units);
    l->param_len = (size_t)r->D * G + (size_t)r->units * G + (r->use_bias ? G : 0);
    r->rows = 0;   /* a new shape needs a new plan */
    return NN_OK;
}

int nn_rnn_param_specs(const nn_rnn *r, nn_param_spec *specs)
{
    const int G = r->gates * r->units;
    memset(specs, 0, 3 * sizeof *specs);
    snprintf(specs[0].name, sizeof specs[0].name, "kernel:0");
    specs[0].ndim = 2;
    specs[0].dims[0] = r->D;
    specs[0].dims[1] = G;
    snprintf(specs[1].name, sizeof specs[1].name, "recurrent_kernel:0");
    specs[1].ndim = 2;
    specs[1].dims[0] = r->units;
    specs[1].dims[1] = G;
    specs[1].off = (size_t)r->D * G;
    if (!r->use_bias)
        return 2;
    snprintf(specs[2].name, sizeof specs[2].name, "bias:0");
    specs[2].ndim = 1;
    specs[2].dims[0] = G;
    specs[2].off = (size_t)r->D * G + (size_t)r->units * G;
    return 3;
}

void nn_rnn_init_params(const nn_rnn *r, float *p, int forget_ones, nn_rng *rng)
{
    const int u = r->units, G = r->gates * u;
    nn_init_fill(r->kinit, p, (size_t)r->D * G, r->D, G, rng);
    nn_init_fill(r->rinit, p + (size_t)r->D * G, (size_t)u * G, u, G, rng);
    if (!r->use_bias)
        return;
    float *b = p + (size_t)r->D * G + (size_t)u * G;
    nn_init kb = r->binit == NN_INIT_ORTHOGONAL ? NN_INIT_ZEROS : r->binit;
    if (forget_ones) {   /* Keras: init(u), ones(u), init(rest) */
        nn_init_fill(kb, b, (size_t)u, u, u, rng);
        nn_init_fill(NN_INIT_ONES, b + u, (size_t)u, u, u, rng);
        nn_init_fill(kb, b + 2 * u, (size_t)(G - 2 * u), G - 2 * u, G - 2 * u, rng);
    } else {
        nn_init_fill(kb, b, (size_t)G, G, G, rng);
    }
}

void nn_rnn_input_gemm(const nn_rnn *r, const float *p, const float *x, float *Z, int B)
{
    const int T = r->T, D = r->D, G = r->gates * r->units;
    const float *b = p + (size_t)D * G + (size_t)r->units * G;
    nn_sgemm(0, 0, B * T, G, D, 1.0f, x, D, p, G, 0.0f, Z, G);
    if (r->use_bias)
        for (size_t i = 0; i < (size_t)B * T; i++)
            for (int j = 0; j < G; j++)
                Z[i * G + j] += b[j];
}

void nn_rnn_output(const nn_rnn *r, const float *H, float *y, int B)
{
    const int T = r->T, u = r->units, ld = T * u;
    for (int b = 0; b < B; b++) {
        const float *Hb = H + (size_t)b * ld;
        if (r->return_sequences)
            for (int s = 0; s < T; s++)
                memcpy(y + (size_t)b * ld + (size_t)s * u, Hb + (size_t)nn_rnn_tidx(r, s) * u,
                       (size_t)u * sizeof *y);
        else
            memcpy(y + (size_t)b * u, Hb + (size_t)nn_rnn_tidx(r, T - 1) * u,
                   (size_t)u * sizeof *y);
    }
}

void nn_rnn_grads(const nn_rnn *r, const float *p, float *g, const float *x,
                  const float *H, const float *dz, float *dx, int B)
{
    const int T = r->T, D = r->D, u = r->units, G = r->gates * u;
    const int ldh = T * u, ldz = T * G;
    float *gW = g, *gU = g + (size_t)D * G, *gb = gU + (size_t)u * G;
    nn_sgemm(1, 0, D, G, B * T, 1.0f, x, D, dz, G, 1.0f, gW, G);   /* dW += X^T dZ */
    if (T > 1)   /* dU += sum_t h_{t-1}^T dz_t, one sgemm per row of the batch */
        for (int b = 0; b < B; b++) {
            const float *Hb = H + (size_t)b * ldh, *Zb = dz + (size_t)b * ldz;
            if (r->go_backwards)   /* h_{t+1} feeds step t */
                nn_sgemm(1, 0, u, G, T - 1, 1.0f, Hb + u, u, Zb, G, 1.0f, gU, G);
            else
                nn_sgemm(1, 0, u, G, T - 1, 1.0f, Hb, u, Zb + G, G, 1.0f, gU, G);
        }
    if (r->use_bias)
        for (size_t i = 0; i < (size_t)B * T; i++)
            for (int j = 0; j < G; j++)
                gb[j] += dz[i * G + j];
    if (dx)
        nn_sgemm(0, 1, B * T, D, G, 1.0f, dz, G, p, G, 0.0f, dx, D);   /* dZ W^T */
}
