/* Keras LSTM over an input (T, D), gates in Keras order i, f, c, o:
 *   z = x_t W + h_{t-1} U + b                       (4 * units)
 *   i = ra(z_i), f = ra(z_f), g = act(z_c), o = ra(z_o)
 *   c_t = f c_{t-1} + i g,   h_t = o act(c_t),      h_0 = c_0 = 0
 * with act = tanh and ra = sigmoid by default (Keras 2.3+; hard_sigmoid is
 * refused). Keras layouts: kernel (D, 4u), recurrent_kernel (u, 4u), bias
 * (4u); output h_T (u,) or every h_t (T, u) with return_sequences. As in
 * SimpleRNN, x W is one sgemm over all B*T rows and each step adds one
 * (B x u x 4u) sgemm on strided row views. Gate outputs, c_t, act(c_t) and
 * h_t are kept (planned for batch_max) for backpropagation through time.
 * go_backwards processes t = T-1 .. 0 and returns the sequence in that order. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nntrain/gemm.h"
#include "nntrain/layer.h"

/* Keras Orthogonal(gain=1) initialiser, defined in simple_rnn.c. */
void nn_rnn_orthogonal(float *w, int rows, int cols, nn_rng *rng);

#define INIT_ORTHOGONAL NN_INIT_COUNT

typedef struct lstm {
    int D, T, units;
    nn_act act, ract;
    int use_bias, unit_forget_bias, return_sequences, go_backwards;
    int kinit, rinit, binit;   /* NN_INIT_* or INIT_ORTHOGONAL */
    float *gates;              /* (rows, T, 4u): i f g o after their activations */
    float *c, *tc, *h;         /* (rows, T, u): c_t, act(c_t), h_t */
    size_t rows;               /* batch_max planned for */
} lstm;

static const char *const lstm_args[] = {
    "units", "activation", "recurrent_activation", "use_bias", "kernel_initializer",
    "recurrent_initializer", "bias_initializer", "unit_forget_bias", "return_sequences",
    "return_state", "go_backwards", "stateful", "unroll", "dropout", "recurrent_dropout",
    NULL};

static const char *who(const nn_layer *l, char *buf, size_t len)
{
    if (l->name[0])
        snprintf(buf, len, "LSTM '%s'", l->name);
    else
        snprintf(buf, len, "LSTM");
    return buf;
}

static int bad_arg(nn_layer *l, nn_args *a, const char *name, const char *what, nn_error *e)
{
    char where[128], w[96];
    return nn_err(e, NN_EINVAL, "%s: %s: %s",
                  nn_value_where(a->call, nn_args_get(a, name), where, sizeof where),
                  who(l, w, sizeof w), what);
}

static int bind_init(nn_layer *l, nn_args *a, const char *name, const char *def, int *out,
                     nn_error *e)
{
    const char *s;
    char what[300];
    int rc = nn_args_str(a, name, def, &s, e);
    if (rc)
        return rc;
    if (!strcasecmp(s, "orthogonal")) {
        *out = INIT_ORTHOGONAL;
        return NN_OK;
    }
    for (int i = 0; nn_init_names[i]; i++)
        if (!strcasecmp(s, nn_init_names[i])) {
            *out = i;
            return NN_OK;
        }
    snprintf(what, sizeof what, "unknown %s '%.60s' (known: orthogonal, glorot_uniform, "
             "glorot_normal, he_normal, he_uniform, zeros, ones)", name, s);
    return bad_arg(l, a, name, what, e);
}

/* activation / recurrent_activation; None means linear as in Keras. */
static int bind_act(nn_layer *l, nn_args *a, const char *name, const char *def,
                    nn_act *out, nn_error *e)
{
    const char *s;
    char what[200];
    int rc = nn_args_str(a, name, def, &s, e);
    if (rc)
        return rc;
    if (nn_args_get(a, name) && !nn_args_has(a, name))
        s = NULL;
    if (s && !strcasecmp(s, "hard_sigmoid"))
        return bad_arg(l, a, name, "hard_sigmoid (the Keras < 2.3 default) is not "
                       "supported: use \"sigmoid\" (the Keras 2.3+ default)", e);
    if (nn_act_parse(s, out)) {
        snprintf(what, sizeof what, "unknown %s '%.60s'", name, s);
        return bad_arg(l, a, name, what, e);
    }
    return NN_OK;
}

static int lstm_create(nn_layer *l, nn_args *a, nn_error *e)
{
    lstm d = {0};
    int rc, flag;
    double rate;
    char what[200];
    if (!nn_args_has(a, "units"))
        return bad_arg(l, a, "units", "needs units, e.g. LSTM(32)", e);
    if ((rc = nn_args_int(a, "units", 0, &d.units, e)))
        return rc;
    if (d.units <= 0)
        return bad_arg(l, a, "units", "units must be a positive integer", e);
    if ((rc = bind_act(l, a, "activation", "tanh", &d.act, e)) ||
        (rc = bind_act(l, a, "recurrent_activation", "sigmoid", &d.ract, e)) ||
        (rc = nn_args_bool(a, "use_bias", 1, &d.use_bias, e)) ||
        (rc = bind_init(l, a, "kernel_initializer", "glorot_uniform", &d.kinit, e)) ||
        (rc = bind_init(l, a, "recurrent_initializer", "orthogonal", &d.rinit, e)) ||
        (rc = bind_init(l, a, "bias_initializer", "zeros", &d.binit, e)) ||
        (rc = nn_args_bool(a, "unit_forget_bias", 1, &d.unit_forget_bias, e)) ||
        (rc = nn_args_bool(a, "return_sequences", 0, &d.return_sequences, e)) ||
        (rc = nn_args_bool(a, "go_backwards", 0, &d.go_backwards, e)) ||
        (rc = nn_args_bool(a, "unroll", 0, &flag, e)))   /* a speed hint only */
        return rc;
    if ((rc = nn_args_bool(a, "return_state", 0, &flag, e)))
        return rc;
    if (flag)
        return bad_arg(l, a, "return_state", "return_state=True needs the functional API; "
                       "nntrain models are Sequential", e);
    if ((rc = nn_args_bool(a, "stateful", 0, &flag, e)))
        return rc;
    if (flag)
        return bad_arg(l, a, "stateful", "stateful=True is not supported", e);
    static const char *const drops[] = {"dropout", "recurrent_dropout"};
    for (int i = 0; i < 2; i++) {
        if ((rc = nn_args_double(a, drops[i], 0, &rate, e)))
            return rc;
        if (rate != 0) {
            snprintf(what, sizeof what, "%s=%g is not supported (only 0); add a Dropout "
                     "layer between layers instead", drops[i], rate);
            return bad_arg(l, a, drops[i], what, e);
        }
    }
    lstm *p = malloc(sizeof *p);
    if (!p)
        return nn_err(e, NN_ENOMEM, "LSTM: out of memory");
    *p = d;
    l->priv = p;
    return NN_OK;
}

static int lstm_configure(nn_layer *l, nn_error *e)
{
    lstm *d = l->priv;
    char w[96], s[96];
    if (l->in.n != 2)
        return nn_err(e, NN_ESHAPE, "%s needs a (timesteps, features) input but gets %s: "
                      "set return_sequences=True on the recurrent layer before it, or put "
                      "an Embedding first, or give input_shape=(T, D)",
                      who(l, w, sizeof w), nn_shape_str(&l->in, s, sizeof s));
    d->T = l->in.d[0];
    d->D = l->in.d[1];
    size_t u4 = 4 * (size_t)d->units;
    if ((size_t)d->T * (size_t)d->D > INT_MAX / 2 || (size_t)d->T * u4 > INT_MAX / 2 ||
        (size_t)d->D * u4 > INT_MAX / 2 || (size_t)d->units * u4 > INT_MAX / 2)
        return nn_err(e, NN_ESHAPE, "%s: %d timesteps x %d features x %d units is too large",
                      who(l, w, sizeof w), d->T, d->D, d->units);
    l->out = d->return_sequences ? (nn_shape){2, {d->T, d->units, 0, 0}} : nn_shape1(d->units);
    l->param_len = (size_t)d->D * u4 + (size_t)d->units * u4 + (d->use_bias ? u4 : 0);
    d->rows = 0;   /* a new shape needs a new plan */
    return NN_OK;
}

/* kernel:0, recurrent_kernel:0, bias:0 as Keras names them. */
static int lstm_param_specs(const nn_layer *l, nn_param_spec *specs)
{
    const lstm *d = l->priv;
    const size_t u4 = 4 * (size_t)d->units;
    memset(specs, 0, 3 * sizeof *specs);
    snprintf(specs[0].name, sizeof specs[0].name, "kernel:0");
    specs[0].ndim = 2;
    specs[0].dims[0] = d->D;
    specs[0].dims[1] = 4 * d->units;
    snprintf(specs[1].name, sizeof specs[1].name, "recurrent_kernel:0");
    specs[1].ndim = 2;
    specs[1].dims[0] = d->units;
    specs[1].dims[1] = 4 * d->units;
    specs[1].off = (size_t)d->D * u4;
    if (!d->use_bias)
        return 2;
    snprintf(specs[2].name, sizeof specs[2].name, "bias:0");
    specs[2].ndim = 1;
    specs[2].dims[0] = 4 * d->units;
    specs[2].off = (size_t)d->D * u4 + (size_t)d->units * u4;
    return 3;
}

static void fill(int kind, float *w, int rows, int cols, nn_rng *rng)
{
    if (kind == INIT_ORTHOGONAL)
        nn_rnn_orthogonal(w, rows, cols, rng);
    else
        nn_init_fill((nn_init)kind, w, (size_t)rows * cols, rows, cols, rng);
}

static void lstm_init_params(nn_layer *l, float *p, nn_rng *rng)
{
    const lstm *d = l->priv;
    const int u = d->units, u4 = 4 * u;
    fill(d->kinit, p, d->D, u4, rng);
    fill(d->rinit, p + (size_t)d->D * u4, u, u4, rng);
    if (!d->use_bias)
        return;
    float *b = p + (size_t)d->D * u4 + (size_t)u * u4;
    nn_init kb = d->binit == INIT_ORTHOGONAL ? NN_INIT_ZEROS : (nn_init)d->binit;
    if (d->unit_forget_bias) {   /* Keras: init(u), ones(u), init(2u) */
        nn_init_fill(kb, b, (size_t)u, u, u, rng);
        nn_init_fill(NN_INIT_ONES, b + u, (size_t)u, u, u, rng);
        nn_init_fill(kb, b + 2 * u, 2 * (size_t)u, 2 * u, 2 * u, rng);
    } else {
        nn_init_fill(kb, b, (size_t)u4, u4, u4, rng);
    }
}

static size_t work_floats(const lstm *d, size_t B)
{
    /* dz (B, T, 4u), dh (B, u), dc (B, u), one row of dL/dc (u) */
    return B * (size_t)d->T * 4 * d->units + 2 * B * d->units + (size_t)d->units;
}

static int lstm_plan(nn_layer *l, int batch_max, size_t *work_bytes, nn_error *e)
{
    lstm *d = l->priv;
    char w[96];
    size_t B = batch_max > 0 ? (size_t)batch_max : 1;
    *work_bytes = work_floats(d, B) * sizeof(float);
    if (B <= d->rows)
        return NN_OK;
    size_t n = B * (size_t)d->T * d->units;
    float **bufs[4] = {&d->gates, &d->c, &d->tc, &d->h};
    const size_t lens[4] = {4 * n, n, n, n};
    for (int k = 0; k < 4; k++) {
        float *q = realloc(*bufs[k], lens[k] * sizeof(float));
        if (!q) {
            d->rows = 0;   /* the others may have grown already: plan again */
            return nn_err(e, NN_ENOMEM, "%s: cannot allocate the saved states for %d rows "
                          "(%zu bytes)", who(l, w, sizeof w), batch_max, 7 * n * sizeof(float));
        }
        *bufs[k] = q;
    }
    d->rows = B;
    return NN_OK;
}

static int tidx(const lstm *d, int s)
{
    return d->go_backwards ? d->T - 1 - s : s;
}

static void lstm_forward(nn_layer *l, const float *p, const float *x /* (B, T, D) */,
                         float *y /* (B, units) or (B, T, units) */, int B, nn_ctx *ctx)
{
    const lstm *d = l->priv;
    const int T = d->T, D = d->D, u = d->units, u4 = 4 * u, ldh = T * u, ldg = T * u4;
    const float *W = p, *U = p + (size_t)D * u4, *b = U + (size_t)u * u4;
    float *G = d->gates;
    (void)ctx;
    nn_sgemm(0, 0, B * T, u4, D, 1.0f, x, D, W, u4, 0.0f, G, u4);   /* all x_t W */
    if (d->use_bias)
        for (size_t r = 0; r < (size_t)B * T; r++)
            for (int j = 0; j < u4; j++)
                G[r * u4 + j] += b[j];
    for (int s = 0; s < T; s++) {
        const size_t t = (size_t)tidx(d, s), tp = s > 0 ? (size_t)tidx(d, s - 1) : 0;
        if (s > 0)
            nn_sgemm(0, 0, B, u4, u, 1.0f, d->h + tp * u, ldh, U, u4, 1.0f, G + t * u4, ldg);
        for (int r = 0; r < B; r++) {
            float *gi = G + (size_t)r * ldg + t * u4, *gf = gi + u, *gg = gf + u, *go = gg + u;
            float *c = d->c + (size_t)r * ldh + t * u, *tc = d->tc + (size_t)r * ldh + t * u;
            float *h = d->h + (size_t)r * ldh + t * u;
            const float *cp = s > 0 ? d->c + (size_t)r * ldh + tp * u : NULL;
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
    for (int r = 0; r < B; r++) {
        const float *Hr = d->h + (size_t)r * ldh;
        if (d->return_sequences)
            for (int s = 0; s < T; s++)
                memcpy(y + (size_t)r * ldh + (size_t)s * u, Hr + (size_t)tidx(d, s) * u,
                       (size_t)u * sizeof *y);
        else
            memcpy(y + (size_t)r * u, Hr + (size_t)tidx(d, T - 1) * u, (size_t)u * sizeof *y);
    }
}

static void lstm_backward(nn_layer *l, const float *p, float *g,
                          const float *x /* (B, T, D) */, const float *y,
                          float *dy /* (B, units) or (B, T, units) */,
                          float *dx /* (B, T, D) or NULL */, int B, nn_ctx *ctx)
{
    const lstm *d = l->priv;
    const int T = d->T, D = d->D, u = d->units, u4 = 4 * u, ldh = T * u, ldg = T * u4;
    const float *W = p, *U = p + (size_t)D * u4;
    float *gW = g, *gU = g + (size_t)D * u4, *gb = gU + (size_t)u * u4;
    float *dz = ctx->work;                    /* (B, T, 4u), input time order */
    float *dh = dz + (size_t)B * ldg;         /* (B, u): dL/dh_t from step s+1 */
    float *dc = dh + (size_t)B * u;           /* (B, u): dL/dc_t from step s+1 */
    float *dtc = dc + (size_t)B * u;          /* (u) */
    (void)y;
    memset(dh, 0, 2 * (size_t)B * u * sizeof *dh);
    for (int s = T - 1; s >= 0; s--) {
        const size_t t = (size_t)tidx(d, s), tp = s > 0 ? (size_t)tidx(d, s - 1) : 0;
        for (int r = 0; r < B; r++) {
            const float *gi = d->gates + (size_t)r * ldg + t * u4, *gf = gi + u,
                        *gg = gf + u, *go = gg + u;
            const float *tc = d->tc + (size_t)r * ldh + t * u;
            const float *cp = s > 0 ? d->c + (size_t)r * ldh + tp * u : NULL;
            float *zi = dz + (size_t)r * ldg + t * u4, *zf = zi + u, *zg = zf + u,
                  *zo = zg + u;
            float *dh_r = dh + (size_t)r * u, *dc_r = dc + (size_t)r * u;
            const float *dy_r = d->return_sequences ? dy + (size_t)r * ldh + (size_t)s * u
                                : s == T - 1 ? dy + (size_t)r * u : NULL;
            if (dy_r)
                for (int j = 0; j < u; j++)
                    dh_r[j] += dy_r[j];
            for (int j = 0; j < u; j++) {   /* h = o act(c) */
                zo[j] = dh_r[j] * tc[j];
                dtc[j] = dh_r[j] * go[j];
            }
            nn_act_backward(d->act, tc, dtc, 1, (size_t)u);   /* dtc := dL/dc via h */
            for (int j = 0; j < u; j++) {   /* c = f c_prev + i g */
                float dcj = dc_r[j] + dtc[j];
                zi[j] = dcj * gg[j];
                zg[j] = dcj * gi[j];
                zf[j] = cp ? dcj * cp[j] : 0.0f;
                dc_r[j] = dcj * gf[j];
            }
            nn_act_backward(d->ract, gi, zi, 1, (size_t)u);
            nn_act_backward(d->ract, gf, zf, 1, (size_t)u);
            nn_act_backward(d->act, gg, zg, 1, (size_t)u);
            nn_act_backward(d->ract, go, zo, 1, (size_t)u);
        }
        if (s > 0)   /* dh_{t-1} = dz_t U^T */
            nn_sgemm(0, 1, B, u, u4, 1.0f, dz + t * u4, ldg, U, u4, 0.0f, dh, u);
    }
    nn_sgemm(1, 0, D, u4, B * T, 1.0f, x, D, dz, u4, 1.0f, gW, u4);   /* dW += X^T dZ */
    if (T > 1)   /* dU += sum_t h_{t-1}^T dz_t, one sgemm per row of the batch */
        for (int r = 0; r < B; r++) {
            const float *Hr = d->h + (size_t)r * ldh, *Zr = dz + (size_t)r * ldg;
            if (d->go_backwards)   /* h_{t+1} feeds step t */
                nn_sgemm(1, 0, u, u4, T - 1, 1.0f, Hr + u, u, Zr, u4, 1.0f, gU, u4);
            else
                nn_sgemm(1, 0, u, u4, T - 1, 1.0f, Hr, u, Zr + u4, u4, 1.0f, gU, u4);
        }
    if (d->use_bias)
        for (size_t r = 0; r < (size_t)B * T; r++)
            for (int j = 0; j < u4; j++)
                gb[j] += dz[r * u4 + j];
    if (dx)
        nn_sgemm(0, 1, B * T, D, u4, 1.0f, dz, u4, W, u4, 0.0f, dx, D);   /* dZ W^T */
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
