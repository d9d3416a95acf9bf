/* Keras SimpleRNN: h_t = act(x_t W + h_{t-1} U + b), h_0 = 0, over an input
 * (T, D); output h_T (units,) or every h_t (T, units) with
 * return_sequences. Keras layouts: kernel (D, units), recurrent_kernel
 * (units, units), bias (units). Forward is one sgemm for x W over all B*T rows
 * plus one (B x units x units) sgemm per step on strided row views; all h_t
 * are kept (planned for batch_max) for backpropagation through time.
 * go_backwards processes t = T-1 .. 0 and, as Keras, returns the sequence in
 * that processing order. Also defines nn_rnn_orthogonal (shared with LSTM). */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nntrain/gemm.h"
#include "nntrain/layer.h"

void nn_rnn_orthogonal(float *w, int rows, int cols, nn_rng *rng);

#define INIT_ORTHOGONAL NN_INIT_COUNT

typedef struct srnn {
    int D, T, units;
    nn_act act;
    int use_bias, return_sequences, go_backwards;
    int kinit, rinit, binit;   /* NN_INIT_* or INIT_ORTHOGONAL */
    float *h;                  /* (rows, T, units): h_t in input time order */
    size_t rows;               /* batch_max planned for */
} srnn;

static const char *const srnn_args[] = {
    "units", "activation", "use_bias", "kernel_initializer", "recurrent_initializer",
    "bias_initializer", "return_sequences", "return_state", "go_backwards", "stateful",
    "unroll", "dropout", "recurrent_dropout", NULL};

/* Orthogonal initialiser as Keras's Orthogonal(gain=1): a Gaussian matrix
 * made orthonormal along its shorter side (columns of a tall matrix, rows of
 * a wide one). Gram-Schmidt (twice, for accuracy) gives the QR factor with a
 * positive diagonal in R, which is what Keras's sign correction produces. */
void nn_rnn_orthogonal(float *w /* (rows, cols) */, int rows, int cols, nn_rng *rng)
{
    const size_t n = (size_t)rows * cols;
    const int tall = rows >= cols;
    const int nvec = tall ? cols : rows, len = tall ? rows : cols;
    const size_t es = tall ? (size_t)cols : 1, vs = tall ? 1 : (size_t)cols;
    for (size_t i = 0; i < n; i++)
        w[i] = nn_rng_normal(rng);
    for (int k = 0; k < nvec; k++) {
        float *vk = w + (size_t)k * vs;
        for (int tries = 0;; tries++) {
            for (int pass = 0; pass < 2; pass++)
                for (int j = 0; j < k; j++) {
                    const float *vj = w + (size_t)j * vs;
                    double dot = 0;
                    for (int i = 0; i < len; i++)
                        dot += (double)vk[i * es] * vj[i * es];
                    for (int i = 0; i < len; i++)
                        vk[i * es] -= (float)(dot * vj[i * es]);
                }
            double nrm = 0;
            for (int i = 0; i < len; i++)
                nrm += (double)vk[i * es] * vk[i * es];
            nrm = sqrt(nrm);
            if (nrm > 1e-6 || tries == 8) {
                for (int i = 0; i < len; i++)
                    vk[i * es] = (float)(vk[i * es] / (nrm > 0 ? nrm : 1));
                break;
            }
            for (int i = 0; i < len; i++)   /* (almost) dependent: redraw */
                vk[i * es] = nn_rng_normal(rng);
        }
    }
}

static const char *who(const nn_layer *l, char *buf, size_t len)
{
    if (l->name[0])
        snprintf(buf, len, "SimpleRNN '%s'", l->name);
    else
        snprintf(buf, len, "SimpleRNN");
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

static int srnn_create(nn_layer *l, nn_args *a, nn_error *e)
{
    srnn d = {0};
    int rc, flag;
    double rate;
    const char *s;
    char what[200];
    if (!nn_args_has(a, "units"))
        return bad_arg(l, a, "units", "needs units, e.g. SimpleRNN(32)", e);
    if ((rc = nn_args_int(a, "units", 0, &d.units, e)))
        return rc;
    if (d.units <= 0)
        return bad_arg(l, a, "units", "units must be a positive integer", e);
    if ((rc = nn_args_str(a, "activation", "tanh", &s, e)))
        return rc;
    if (nn_args_get(a, "activation") && !nn_args_has(a, "activation"))
        s = NULL;   /* activation=None: linear, as in Keras */
    if (nn_act_parse(s, &d.act)) {
        snprintf(what, sizeof what, "unknown activation '%.60s'", s);
        return bad_arg(l, a, "activation", what, e);
    }
    if ((rc = nn_args_bool(a, "use_bias", 1, &d.use_bias, e)) ||
        (rc = bind_init(l, a, "kernel_initializer", "glorot_uniform", &d.kinit, e)) ||
        (rc = bind_init(l, a, "recurrent_initializer", "orthogonal", &d.rinit, e)) ||
        (rc = bind_init(l, a, "bias_initializer", "zeros", &d.binit, e)) ||
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
    srnn *p = malloc(sizeof *p);
    if (!p)
        return nn_err(e, NN_ENOMEM, "SimpleRNN: out of memory");
    *p = d;
    l->priv = p;
    return NN_OK;
}

static int srnn_configure(nn_layer *l, nn_error *e)
{
    srnn *d = l->priv;
    char w[96], s[96];
    if (l->in.n != 2)
        return nn_err(e, NN_ESHAPE, "%s needs a (timesteps, features) input but gets %s: "
                      "set return_sequences=True on the recurrent layer before it, or put "
                      "an Embedding first, or give input_shape=(T, D)",
                      who(l, w, sizeof w), nn_shape_str(&l->in, s, sizeof s));
    d->T = l->in.d[0];
    d->D = l->in.d[1];
    size_t u = (size_t)d->units;
    if ((size_t)d->T * (size_t)d->D > INT_MAX / 2 || (size_t)d->T * u > INT_MAX / 2 ||
        (size_t)d->D * u > INT_MAX / 2 || u * u > INT_MAX / 2)
        return nn_err(e, NN_ESHAPE, "%s: %d timesteps x %d features x %d units is too large",
                      who(l, w, sizeof w), d->T, d->D, d->units);
    l->out = d->return_sequences ? (nn_shape){2, {d->T, d->units, 0, 0}} : nn_shape1(d->units);
    l->param_len = (size_t)d->D * u + u * u + (d->use_bias ? u : 0);
    d->rows = 0;   /* a new shape needs a new plan */
    return NN_OK;
}

/* kernel:0, recurrent_kernel:0, bias:0 as Keras names them. */
static int srnn_param_specs(const nn_layer *l, nn_param_spec *specs)
{
    const srnn *d = l->priv;
    const size_t u = (size_t)d->units;
    memset(specs, 0, 3 * sizeof *specs);
    snprintf(specs[0].name, sizeof specs[0].name, "kernel:0");
    specs[0].ndim = 2;
    specs[0].dims[0] = d->D;
    specs[0].dims[1] = d->units;
    snprintf(specs[1].name, sizeof specs[1].name, "recurrent_kernel:0");
    specs[1].ndim = 2;
    specs[1].dims[0] = d->units;
    specs[1].dims[1] = d->units;
    specs[1].off = (size_t)d->D * u;
    if (!d->use_bias)
        return 2;
    snprintf(specs[2].name, sizeof specs[2].name, "bias:0");
    specs[2].ndim = 1;
    specs[2].dims[0] = d->units;
    specs[2].off = (size_t)d->D * u + u * u;
    return 3;
}

static void fill(int kind, float *w, int rows, int cols, nn_rng *rng)
{
    if (kind == INIT_ORTHOGONAL)
        nn_rnn_orthogonal(w, rows, cols, rng);
    else   /* a 1-D bias has fan_in = fan_out = its length: rows == cols */
        nn_init_fill((nn_init)kind, w, (size_t)rows * cols, rows, cols, rng);
}

static void srnn_init_params(nn_layer *l, float *p, nn_rng *rng)
{
    const srnn *d = l->priv;
    const int u = d->units;
    fill(d->kinit, p, d->D, u, rng);
    fill(d->rinit, p + (size_t)d->D * u, u, u, rng);
    if (d->use_bias) {
        float *b = p + (size_t)d->D * u + (size_t)u * u;
        if (d->binit == INIT_ORTHOGONAL)   /* Keras refuses a 1-D orthogonal */
            nn_init_fill(NN_INIT_ZEROS, b, (size_t)u, u, u, rng);
        else
            nn_init_fill((nn_init)d->binit, b, (size_t)u, u, u, rng);
    }
}

static size_t work_floats(const srnn *d, size_t B)
{
    return B * (size_t)d->T * d->units + B * d->units;  /* dz (B, T, u), dh (B, u) */
}

static int srnn_plan(nn_layer *l, int batch_max, size_t *work_bytes, nn_error *e)
{
    srnn *d = l->priv;
    char w[96];
    size_t B = batch_max > 0 ? (size_t)batch_max : 1;
    *work_bytes = work_floats(d, B) * sizeof(float);
    if (B <= d->rows)
        return NN_OK;
    size_t n = B * (size_t)d->T * d->units;
    float *h = realloc(d->h, n * sizeof *h);
    if (!h)
        return nn_err(e, NN_ENOMEM, "%s: cannot allocate the hidden states for %d rows "
                      "(%zu bytes)", who(l, w, sizeof w), batch_max, n * sizeof *h);
    d->h = h;
    d->rows = B;
    return NN_OK;
}

/* Input time index processed at step s. */
static int tidx(const srnn *d, int s)
{
    return d->go_backwards ? d->T - 1 - s : s;
}

static void srnn_forward(nn_layer *l, const float *p, const float *x /* (B, T, D) */,
                         float *y /* (B, units) or (B, T, units) */, int B, nn_ctx *ctx)
{
    const srnn *d = l->priv;
    const int T = d->T, D = d->D, u = d->units, ld = T * u;
    const float *W = p, *U = p + (size_t)D * u, *b = U + (size_t)u * u;
    float *H = d->h;
    (void)ctx;
    nn_sgemm(0, 0, B * T, u, D, 1.0f, x, D, W, u, 0.0f, H, u);   /* all x_t W */
    if (d->use_bias)
        for (size_t r = 0; r < (size_t)B * T; r++)
            for (int j = 0; j < u; j++)
                H[r * u + j] += b[j];
    for (int s = 0; s < T; s++) {
        float *cur = H + (size_t)tidx(d, s) * u;   /* rows b: cur + b * ld */
        if (s > 0)
            nn_sgemm(0, 0, B, u, u, 1.0f, H + (size_t)tidx(d, s - 1) * u, ld, U, u, 1.0f,
                     cur, ld);
        for (int r = 0; r < B; r++)
            nn_act_forward(d->act, cur + (size_t)r * ld, 1, (size_t)u);
    }
    for (int r = 0; r < B; r++) {
        const float *Hr = H + (size_t)r * ld;
        if (d->return_sequences)
            for (int s = 0; s < T; s++)
                memcpy(y + (size_t)r * ld + (size_t)s * u, Hr + (size_t)tidx(d, s) * u,
                       (size_t)u * sizeof *y);
        else
            memcpy(y + (size_t)r * u, Hr + (size_t)tidx(d, T - 1) * u, (size_t)u * sizeof *y);
    }
}

static void srnn_backward(nn_layer *l, const float *p, float *g,
                          const float *x /* (B, T, D) */, const float *y,
                          float *dy /* (B, units) or (B, T, units) */,
                          float *dx /* (B, T, D) or NULL */, int B, nn_ctx *ctx)
{
    const srnn *d = l->priv;
    const int T = d->T, D = d->D, u = d->units, ld = T * u;
    const float *W = p, *U = p + (size_t)D * u;
    float *gW = g, *gU = g + (size_t)D * u, *gb = gU + (size_t)u * u;
    const float *H = d->h;
    float *dz = ctx->work;                       /* (B, T, u), input time order */
    float *dh = dz + (size_t)B * ld;             /* (B, u): dL/dh from step s+1 */
    (void)y;
    memset(dh, 0, (size_t)B * u * sizeof *dh);
    for (int s = T - 1; s >= 0; s--) {
        const size_t t = (size_t)tidx(d, s) * u;
        for (int r = 0; r < B; r++) {
            float *z = dz + (size_t)r * ld + t;
            const float *dh_r = dh + (size_t)r * u;
            const float *dy_r = d->return_sequences ? dy + (size_t)r * ld + (size_t)s * u
                                : s == T - 1 ? dy + (size_t)r * u : NULL;
            for (int j = 0; j < u; j++)
                z[j] = dh_r[j] + (dy_r ? dy_r[j] : 0.0f);
            nn_act_backward(d->act, H + (size_t)r * ld + t, z, 1, (size_t)u);
        }
        if (s > 0)   /* dh_{t-1} = dz_t U^T */
            nn_sgemm(0, 1, B, u, u, 1.0f, dz + t, ld, U, u, 0.0f, dh, u);
    }
    nn_sgemm(1, 0, D, u, B * T, 1.0f, x, D, dz, u, 1.0f, gW, u);   /* dW += X^T dZ */
    if (T > 1)   /* dU += sum_t h_{t-1}^T dz_t, one sgemm per row of the batch */
        for (int r = 0; r < B; r++) {
            const float *Hr = H + (size_t)r * ld, *Zr = dz + (size_t)r * ld;
            if (d->go_backwards)   /* h_{t+1} feeds step t */
                nn_sgemm(1, 0, u, u, T - 1, 1.0f, Hr + u, u, Zr, u, 1.0f, gU, u);
            else
                nn_sgemm(1, 0, u, u, T - 1, 1.0f, Hr, u, Zr + u, u, 1.0f, gU, u);
        }
    if (d->use_bias)
        for (size_t r = 0; r < (size_t)B * T; r++)
            for (int j = 0; j < u; j++)
                gb[j] += dz[r * u + j];
    if (dx)
        nn_sgemm(0, 1, B * T, D, u, 1.0f, dz, u, W, u, 0.0f, dx, D);   /* dZ W^T */
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
