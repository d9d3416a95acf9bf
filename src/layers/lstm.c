/* Owns the LSTM layer (Keras), over an input (T, D), gates in Keras order
 * i, f, c, o:
 *   z = x_t W + h_{t-1} U + b                       (4 * units)
 *   i = ra(z_i), f = ra(z_f), g = act(z_c), o = ra(z_o)
 *   c_t = f c_{t-1} + i g,   h_t = o act(c_t),      h_0 = c_0 = 0
 * with act = tanh and ra = sigmoid by default (Keras 2.3+; hard_sigmoid is
 * refused). Keras layouts: kernel (D, 4u), recurrent_kernel (u, 4u), bias
 * (4u); output h_T (u,) or every h_t (T, u) with return_sequences. As in
 * SimpleRNN, x W is one sgemm over all B*T rows and each step adds one
 * (B x u x 4u) sgemm on strided row views. Gate outputs, c_t, act(c_t) and
 * h_t are kept (planned for batch_max) for backpropagation through time.
 * go_backwards processes t = T-1 .. 0 and returns the sequence in that order.
 * Options, shapes and the W/U/b steps shared with SimpleRNN: rnn_common.c. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "layers/layer_util.h"
#include "layers/rnn_common.h"
#include "nntrain/gemm.h"
#include "nntrain/layer.h"

typedef struct lstm {
    nn_rnn r;                  /* gates = 4 */
    nn_act act, ract;
    int unit_forget_bias;
    float *gates;              /* (rows, T, 4u): i f g o after their activations */
    float *c, *tc, *h;         /* (rows, T, u): c_t, act(c_t), h_t */
} lstm;

static const char *const lstm_args[] = {
    "units", "activation", "recurrent_activation", "use_bias", "kernel_initializer",
    "recurrent_initializer", "bias_initializer", "unit_forget_bias", "return_sequences",
    "return_state", "go_backwards", "stateful", "unroll", "dropout", "recurrent_dropout",
    NULL};

/* activation / recurrent_activation (nn_layer_bind_act), with a hint for
 * the Keras < 2.3 default. */
static int bind_act(nn_layer *l, nn_args *a, const char *name, const char *def,
                    nn_act *out, nn_error *e)
{
    const nn_value *v = nn_args_get(a, name);
    if (v && v->kind == NN_V_STR && !strcasecmp(v->str, "hard_sigmoid"))
        return nn_layer_arg_err(l, a, name, e, NN_EINVAL, "hard_sigmoid (the Keras < 2.3 "
                                "default) is not supported: use \"sigmoid\" (the Keras 2.3+ "
                                "default)");
    int rc = nn_layer_bind_act(l, a, name, def, out, e);
    if (!rc && nn_act_needs_z(*out))   /* its backward differentiates from outputs */
        return nn_layer_arg_err(l, a, name, e, NN_EINVAL, "%s is not supported in a recurrent "
                                "layer", nn_act_names[*out]);
    return rc;
}

static int lstm_create(nn_layer *l, nn_args *a, nn_error *e)
{
    lstm d = {.r.gates = 4};
    int rc;
    if ((rc = nn_rnn_bind_units(l, a, &d.r, e)) ||
        (rc = bind_act(l, a, "activation", "tanh", &d.act, e)) ||
        (rc = bind_act(l, a, "recurrent_activation", "sigmoid", &d.ract, e)) ||
        (rc = nn_rnn_bind_weights(l, a, &d.r, e)) ||
        (rc = nn_args_bool(a, "unit_forget_bias", 1, &d.unit_forget_bias, e)) ||
        (rc = nn_rnn_bind_sequence(l, a, &d.r, e)))
        return rc;
    return nn_layer_keep(l, &d, sizeof d, e);
}

static int lstm_configure(nn_layer *l, nn_error *e)
{
    lstm *d = l->priv;
    return nn_rnn_configure(l, &d->r, e);
}

static int lstm_param_specs(const nn_layer *l, nn_param_spec *specs)
{
    const lstm *d = l->priv;
    return nn_rnn_param_specs(&d->r, specs);
}

static void lstm_init_params(nn_layer *l, float *p, nn_rng *rng)
{
    const lstm *d = l->priv;
    nn_rnn_init_params(&d->r, p, d->unit_forget_bias, rng);
}

static size_t work_floats(const lstm *d, size_t B)
{
    /* dz (B, T, 4u), dh (B, u), dc (B, u), one row of dL/dc (u) */
    return B * (size_t)d->r.T * 4 * d->r.units + 2 * B * d->r.units + (size_t)d->r.units;
}

static int lstm_plan(nn_layer *l, int batch_max, size_t *work_bytes, nn_error *e)
{
    lstm *d = l->priv;
    char w[96];
    size_t B = batch_max > 0 ? (size_t)batch_max : 1;
    *work_bytes = work_floats(d, B) * sizeof(float);
    if (B <= d->r.rows)
        return NN_OK;
    size_t n = B * (size_t)d->r.T * d->r.units;
    float **bufs[4] = {&d->gates, &d->c, &d->tc, &d->h};
    const size_t lens[4] = {4 * n, n, n, n};
    for (int k = 0; k < 4; k++) {
        float *q = realloc(*bufs[k], lens[k] * sizeof(float));
        if (!q) {
            d->r.rows = 0;   /* the others may have grown already: plan again */
            return nn_err(e, NN_ENOMEM, "%s: cannot allocate the saved states for %d rows "
                          "(%zu bytes)", nn_layer_who(l, w, sizeof w), batch_max,
                          7 * n * sizeof(float));
        }
        *bufs[k] = q;
    }
    d->r.rows = B;
    return NN_OK;
}

static void lstm_forward(nn_layer *l, const float *p, const float *x /* (B, T, D) */,
                         float *y /* (B, units) or (B, T, units) */, int B, nn_ctx *ctx)
{
    const lstm *d = l->priv;
    const nn_rnn *r = &d->r;
    const int T = r->T, D = r->D, u = r->units, u4 = 4 * u, ldh = T * u, ldg = T * u4;
    const float *U = p + (size_t)D * u4;
    const size_t r0 = (size_t)ctx->row0;   /* this call's rows of the saved states */
    float *G = d->gates + r0 * ldg, *Cs = d->c + r0 * ldh, *TC = d->tc + r0 * ldh,
          *Hs = d->h + r0 * ldh;
    nn_rnn_input_gemm(r, p, x, G, B);   /* all x_t W + b */
    for (int s = 0; s < T; s++) {
        const size_t t = (size_t)nn_rnn_tidx(r, s);
        const size_t tp = s > 0 ? (size_t)nn_rnn_tidx(r, s - 1) : 0;
        if (s > 0)
            nn_sgemm(0, 0, B, u4, u, 1.0f, Hs + tp * u, ldh, U, u4, 1.0f, G + t * u4, ldg);
        for (int b = 0; b < B; b++) {
            float *gi = G + (size_t)b * ldg + t * u4, *gf = gi + u, *gg = gf + u, *go = gg + u;
            float *c = Cs + (size_t)b * ldh + t * u, *tc = TC + (size_t)b * ldh + t * u;
            float *h = Hs + (size_t)b * ldh + t * u;
            const float *cp = s > 0 ? Cs + (size_t)b * ldh + tp * u : NULL;
            nn_act_forward(d->ract, gi, 1, (size_t)u);
            nn_act_forward(d->ract, gf, 1, (size_t)u);
            nn_act_forward(d->act, gg, 1, (size_t)u);
            nn_act_forward(d->ract, go, 1, (size_t)u);
            for (int j = 0; j < u; j++)
                tc[j] = c[j] = (cp ? gf[j] * cp[j] : 0.0f) + gi[j] * gg[j];
            nn_act_forward(d->act, tc, 1, (size_t)u);
            for (int j = 0; j < u; j++)
                h[j] = go[j] * tc[j];
        }
    }
    nn_rnn_output(r, Hs, y, B);
}

static void lstm_backward(nn_layer *l, const float *p, float *g,
                          const float *x /* (B, T, D) */, const float *y,
                          float *dy /* (B, units) or (B, T, units) */,
                          float *dx /* (B, T, D) or NULL */, int B, nn_ctx *ctx)
{
    const lstm *d = l->priv;
    const nn_rnn *r = &d->r;
    const int T = r->T, D = r->D, u = r->units, u4 = 4 * u, ldh = T * u, ldg = T * u4;
    const float *U = p + (size_t)D * u4;
    float *dz = ctx->work;                    /* (B, T, 4u), input time order */
    float *dh = dz + (size_t)B * ldg;         /* (B, u): dL/dh_t from step s+1 */
    float *dc = dh + (size_t)B * u;           /* (B, u): dL/dc_t from step s+1 */
    float *dtc = dc + (size_t)B * u;          /* (u) */
    const size_t r0 = (size_t)ctx->row0;
    const float *G = d->gates + r0 * ldg, *Cs = d->c + r0 * ldh, *TC = d->tc + r0 * ldh,
                *Hs = d->h + r0 * ldh;
    (void)y;
    memset(dh, 0, 2 * (size_t)B * u * sizeof *dh);
    for (int s = T - 1; s >= 0; s--) {
        const size_t t = (size_t)nn_rnn_tidx(r, s);
        const size_t tp = s > 0 ? (size_t)nn_rnn_tidx(r, s - 1) : 0;
        for (int b = 0; b < B; b++) {
            const float *gi = G + (size_t)b * ldg + t * u4, *gf = gi + u,
                        *gg = gf + u, *go = gg + u;
            const float *tc = TC + (size_t)b * ldh + t * u;
            const float *cp = s > 0 ? Cs + (size_t)b * ldh + tp * u : NULL;
            float *zi = dz + (size_t)b * ldg + t * u4, *zf = zi + u, *zg = zf + u,
                  *zo = zg + u;
            float *dh_b = dh + (size_t)b * u, *dc_b = dc + (size_t)b * u;
            const float *dy_b = nn_rnn_dy_row(r, dy, b, s);
            if (dy_b)
                for (int j = 0; j < u; j++)
                    dh_b[j] += dy_b[j];
            for (int j = 0; j < u; j++) {   /* h = o act(c) */
                zo[j] = dh_b[j] * tc[j];
                dtc[j] = dh_b[j] * go[j];
            }
            nn_act_backward(d->act, tc, dtc, 1, (size_t)u);   /* dtc := dL/dc via h */
            for (int j = 0; j < u; j++) {   /* c = f c_prev + i g */
                float dcj = dc_b[j] + dtc[j];
                zi[j] = dcj * gg[j];
                zg[j] = dcj * gi[j];
                zf[j] = cp ? dcj * cp[j] : 0.0f;
                dc_b[j] = dcj * gf[j];
            }
            nn_act_backward(d->ract, gi, zi, 1, (size_t)u);
            nn_act_backward(d->ract, gf, zf, 1, (size_t)u);
            nn_act_backward(d->act, gg, zg, 1, (size_t)u);
            nn_act_backward(d->ract, go, zo, 1, (size_t)u);
        }
        if (s > 0)   /* dh_{t-1} = dz_t U^T */
            nn_sgemm(0, 1, B, u, u4, 1.0f, dz + t * u4, ldg, U, u4, 0.0f, dh, u);
    }
    nn_rnn_grads(r, p, g, x, Hs, dz, dx, B);
}

static void lstm_destroy(nn_layer *l)
{
    lstm *d = l->priv;
    if (d) {
        free(d->gates);
        free(d->c);
        free(d->tc);
        free(d->h);
    }
    free(d);
    l->priv = NULL;
}

const nn_layer_ops nn_lstm_ops = {
    .kind = "LSTM",
    .arg_names = lstm_args,
    .arg_aliases = NULL,
    .create = lstm_create,
    .configure = lstm_configure,
    .param_specs = lstm_param_specs,
    .init_params = lstm_init_params,
    .plan = lstm_plan,
    .forward = lstm_forward,
    .backward = lstm_backward,
    .destroy = lstm_destroy,
};
