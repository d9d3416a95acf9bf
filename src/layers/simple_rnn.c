/* Owns the SimpleRNN layer (Keras): h_t = act(x_t W + h_{t-1} U + b),
 * h_0 = 0, over an input (T, D); output h_T (units,) or every h_t
 * (T, units) with return_sequences. Keras layouts: kernel (D, units),
 * recurrent_kernel (units, units), bias (units). Forward is one sgemm for
 * x W over all B*T rows plus one (B x units x units) sgemm per step on
 * strided row views; all h_t are kept (planned for batch_max) for
 * backpropagation through time. go_backwards processes t = T-1 .. 0 and, as
 * Keras, returns the sequence in that processing order. Options, shapes and
 * the W/U/b steps shared with LSTM are in rnn_common.c. */
#include <stdlib.h>
#include <string.h>

#include "layers/layer_util.h"
#include "layers/rnn_common.h"
#include "nntrain/gemm.h"
#include "nntrain/layer.h"

typedef struct srnn {
    nn_rnn r;                  /* gates = 1 */
    nn_act act;
    float *h;                  /* (rows, T, units): h_t in input time order */
} srnn;

static const char *const srnn_args[] = {
    "units", "activation", "use_bias", "kernel_initializer", "recurrent_initializer",
    "bias_initializer", "return_sequences", "return_state", "go_backwards", "stateful",
    "unroll", "dropout", "recurrent_dropout", NULL};

static int srnn_create(nn_layer *l, nn_args *a, nn_error *e)
{
    srnn d = {.r.gates = 1};
    int rc;
    if ((rc = nn_rnn_bind_units(l, a, &d.r, e)) ||
        (rc = nn_layer_bind_act(l, a, "activation", "tanh", &d.act, e)) ||
        (nn_act_needs_z(d.act) &&   /* its backward differentiates from outputs */
         (rc = nn_layer_arg_err(l, a, "activation", e, NN_EINVAL, "%s is not supported in a "
                                "recurrent layer", nn_act_names[d.act]))) ||
        (rc = nn_rnn_bind_weights(l, a, &d.r, e)) ||
        (rc = nn_rnn_bind_sequence(l, a, &d.r, e)))
        return rc;
    return nn_layer_keep(l, &d, sizeof d, e);
}

static int srnn_configure(nn_layer *l, nn_error *e)
{
    srnn *d = l->priv;
    return nn_rnn_configure(l, &d->r, e);
}

static int srnn_param_specs(const nn_layer *l, nn_param_spec *specs)
{
    const srnn *d = l->priv;
    return nn_rnn_param_specs(&d->r, specs);
}

static void srnn_init_params(nn_layer *l, float *p, nn_rng *rng)
{
    const srnn *d = l->priv;
    nn_rnn_init_params(&d->r, p, 0, rng);
}

static size_t work_floats(const srnn *d, size_t B)
{
    /* dz (B, T, u), dh (B, u) */
    return B * (size_t)d->r.T * d->r.units + B * d->r.units;
}

static int srnn_plan(nn_layer *l, int batch_max, size_t *work_bytes, nn_error *e)
{
    srnn *d = l->priv;
    char w[96];
    size_t B = batch_max > 0 ? (size_t)batch_max : 1;
    *work_bytes = work_floats(d, B) * sizeof(float);
    if (B <= d->r.rows)
        return NN_OK;
    size_t n = B * (size_t)d->r.T * d->r.units;
    float *h = realloc(d->h, n * sizeof *h);
    if (!h)
        return nn_err(e, NN_ENOMEM, "%s: cannot allocate the hidden states for %d rows "
                      "(%zu bytes)", nn_layer_who(l, w, sizeof w), batch_max, n * sizeof *h);
    d->h = h;
    d->r.rows = B;
    return NN_OK;
}

static void srnn_forward(nn_layer *l, const float *p, const float *x /* (B, T, D) */,
                         float *y /* (B, units) or (B, T, units) */, int B, nn_ctx *ctx)
{
    const srnn *d = l->priv;
    const nn_rnn *r = &d->r;
    const int T = r->T, D = r->D, u = r->units, ld = T * u;
    const float *U = p + (size_t)D * u;
    float *H = d->h + (size_t)ctx->row0 * ld;   /* this call's rows */
    nn_rnn_input_gemm(r, p, x, H, B);   /* all x_t W + b */
    for (int s = 0; s < T; s++) {
        float *cur = H + (size_t)nn_rnn_tidx(r, s) * u;   /* rows b: cur + b * ld */
        if (s > 0)
            nn_sgemm(0, 0, B, u, u, 1.0f, H + (size_t)nn_rnn_tidx(r, s - 1) * u, ld, U, u,
                     1.0f, cur, ld);
        for (int b = 0; b < B; b++)
            nn_act_forward(d->act, cur + (size_t)b * ld, 1, (size_t)u);
    }
    nn_rnn_output(r, H, y, B);
}

static void srnn_backward(nn_layer *l, const float *p, float *g,
                          const float *x /* (B, T, D) */, const float *y,
                          float *dy /* (B, units) or (B, T, units) */,
                          float *dx /* (B, T, D) or NULL */, int B, nn_ctx *ctx)
{
    const srnn *d = l->priv;
    const nn_rnn *r = &d->r;
    const int T = r->T, D = r->D, u = r->units, ld = T * u;
    const float *U = p + (size_t)D * u;
    const float *H = d->h + (size_t)ctx->row0 * ld;
    float *dz = ctx->work;                       /* (B, T, u), input time order */
    float *dh = dz + (size_t)B * ld;             /* (B, u): dL/dh from step s+1 */
    (void)y;
    memset(dh, 0, (size_t)B * u * sizeof *dh);
    for (int s = T - 1; s >= 0; s--) {
        const size_t t = (size_t)nn_rnn_tidx(r, s) * u;
        for (int b = 0; b < B; b++) {
            float *z = dz + (size_t)b * ld + t;
            const float *dh_b = dh + (size_t)b * u, *dy_b = nn_rnn_dy_row(r, dy, b, s);
            for (int j = 0; j < u; j++)
                z[j] = dh_b[j] + (dy_b ? dy_b[j] : 0.0f);
            nn_act_backward(d->act, H + (size_t)b * ld + t, z, 1, (size_t)u);
        }
        if (s > 0)   /* dh_{t-1} = dz_t U^T */
            nn_sgemm(0, 1, B, u, u, 1.0f, dz + t, ld, U, u, 0.0f, dh, u);
    }
    nn_rnn_grads(r, p, g, x, H, dz, dx, B);
}

static void srnn_destroy(nn_layer *l)
{
    srnn *d = l->priv;
    if (d)
        free(d->h);
    free(d);
    l->priv = NULL;
}

const nn_layer_ops nn_simple_rnn_ops = {
    .kind = "SimpleRNN",
    .arg_names = srnn_args,
    .arg_aliases = NULL,
    .create = srnn_create,
    .configure = srnn_configure,
    .param_specs = srnn_param_specs,
    .init_params = srnn_init_params,
    .plan = srnn_plan,
    .forward = srnn_forward,
    .backward = srnn_backward,
    .destroy = srnn_destroy,
};
