/* Embedding, SimpleRNN and LSTM: finite-difference gradient checks through
 * time (return_sequences on and off, go_backwards, B = 1 and 3, T = 1 and 5,
 * D != units, no bias, other activations), whole small models, Keras
 * parameter counts (the IMDB RNN: 324,193), initialisers, hand-computed
 * values, token-id handling and every bad-option error path. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "nntrain/layer.h"
#include "nntrain/model.h"
#include "testutil.h"

#define TOL 1e-2

extern const nn_layer_ops nn_embedding_ops, nn_simple_rnn_ops, nn_lstm_ops;
unsigned long long nn_embedding_invalid_ids(const nn_layer *l);

static nn_shape seq(int T, int D)
{
    nn_shape s = {2, {T, D, 0, 0}};
    return s;
}

static void gc_ok(const char *call, nn_shape in, int B, uint64_t seed)
{
    gc_layer_ok(call, in, B, 0, seed);
}

static void test_registry(void)
{
    CU_ASSERT_PTR_EQUAL(nn_layer_find("Embedding"), &nn_embedding_ops);
    CU_ASSERT_PTR_EQUAL(nn_layer_find("layer_embedding"), &nn_embedding_ops);
    CU_ASSERT_PTR_EQUAL(nn_layer_find("SimpleRNN"), &nn_simple_rnn_ops);
    CU_ASSERT_PTR_EQUAL(nn_layer_find("layer_simple_rnn"), &nn_simple_rnn_ops);
    CU_ASSERT_PTR_EQUAL(nn_layer_find("LSTM"), &nn_lstm_ops);
    CU_ASSERT_PTR_EQUAL(nn_layer_find("layer_lstm"), &nn_lstm_ops);
    CU_ASSERT(tu_contains(nn_layer_known(), "Embedding"));
    CU_ASSERT(tu_contains(nn_layer_known(), "SimpleRNN"));
    CU_ASSERT(tu_contains(nn_layer_known(), "LSTM"));
}

/* ---- gradient checks through time ----------------------------------------- */

static void test_gc_simple_rnn(void)
{
    static const char *const calls[] = {
        "SimpleRNN(4)",
        "SimpleRNN(4, return_sequences=True)",
        "SimpleRNN(4, use_bias=False)",
        "SimpleRNN(4, return_sequences=True, use_bias=False)",
        "SimpleRNN(4, activation=\"relu\")",
        "SimpleRNN(4, activation=\"relu\", return_sequences=True)",
        "SimpleRNN(4, go_backwards=True)",
        "SimpleRNN(4, go_backwards=True, return_sequences=True)",
        "SimpleRNN(4, activation=\"sigmoid\", return_sequences=True)",
        "SimpleRNN(4, activation=None)",
        NULL};
    uint64_t seed = 100;
    for (int i = 0; calls[i]; i++) {
        gc_ok(calls[i], seq(5, 3), 3, seed++);   /* T=5, D=3 != units */
        gc_ok(calls[i], seq(5, 3), 1, seed++);
        gc_ok(calls[i], seq(1, 2), 3, seed++);   /* T=1 */
        gc_ok(calls[i], seq(1, 2), 1, seed++);
    }
    gc_ok("SimpleRNN(3, return_sequences=True)", seq(4, 3), 2, seed++);   /* D == units */
    gc_ok("SimpleRNN(1)", seq(6, 1), 2, seed++);
}

static void test_gc_lstm(void)
{
    static const char *const calls[] = {
        "LSTM(4)",
        "LSTM(4, return_sequences=True)",
        "LSTM(4, use_bias=False)",
        "LSTM(4, return_sequences=True, use_bias=False)",
        "LSTM(4, go_backwards=True)",
        "LSTM(4, go_backwards=True, return_sequences=True)",
        "LSTM(4, activation=\"relu\", return_sequences=True)",
        "LSTM(4, recurrent_activation=\"tanh\")",
        "LSTM(4, unit_forget_bias=False)",
        NULL};
    uint64_t seed = 300;
    for (int i = 0; calls[i]; i++) {
        gc_ok(calls[i], seq(5, 3), 3, seed++);
        gc_ok(calls[i], seq(5, 3), 1, seed++);
        gc_ok(calls[i], seq(1, 2), 3, seed++);
        gc_ok(calls[i], seq(1, 2), 1, seed++);
    }
    gc_ok("LSTM(3, return_sequences=True)", seq(4, 3), 2, seed++);
    gc_ok("LSTM(2)", seq(7, 5), 2, seed++);
}

/* gc_layer fills x with values in [-1, 1): every one is token 0 (ids are cast
 * toward zero), so only row 0 gets a gradient and the x perturbations of
 * +-1e-3 do not change the lookup. It runs, but proves little: see below. */
static void test_gc_embedding_generic(void)
{
    gc_ok("Embedding(5, 3)", nn_shape1(4), 2, 500);
}

/* Embedding with real token ids: central differences on every parameter
 * (x is not differentiable; dx must be zeros). Ids repeat within and across
 * rows, and one is out of range. */
static void test_gc_embedding_ids(void)
{
    enum { V = 7, OD = 3, T = 5, B = 3 };
    nn_error e = {0};
    nn_layer l;
    TU_ASSERT_OK(tu_make_planned("Embedding(7, 3)", nn_shape1(T), B, &l, NULL, &e), e);
    const float x[B * T] = {1, 4, 4, 0, 6, 2, 2, 5, 1, 9, 3, 1, 1, 0, 6.5f};
    float p[V * OD], g[V * OD] = {0}, y[B * T * OD], r[B * T * OD], dy[B * T * OD];
    float dx[B * T];
    tu_fill_uniform(p, V * OD, 1, -0.5f, 0.5f);
    tu_fill_uniform(r, B * T * OD, 2, -1.0f, 1.0f);
    nn_ctx ctx = {0};
    l.ops->forward(&l, p, x, y, B, &ctx);
    memcpy(dy, r, sizeof dy);
    for (int i = 0; i < B * T; i++)
        dx[i] = NAN;
    l.ops->backward(&l, p, g, x, y, dy, dx, B, &ctx);
    for (int i = 0; i < B * T; i++)
        CU_ASSERT_EQUAL(dx[i], 0.0f);
    double sum_abs = 0, max_err = 0;
    int failed = 0;
    for (int k = 0; k < V * OD; k++) {
        float orig = p[k], up = orig + 1e-3f, dn = orig - 1e-3f;
        double f[2];
        for (int s = 0; s < 2; s++) {
            p[k] = s ? dn : up;
            l.ops->forward(&l, p, x, y, B, &ctx);
            f[s] = 0;
            for (int i = 0; i < B * T * OD; i++)
                f[s] += (double)r[i] * y[i];
        }
        p[k] = orig;
        double nm = (f[0] - f[1]) / ((double)up - (double)dn);
        double err = fabs(g[k] - nm) / fmax(1.0, fmax(fabs(g[k]), fabs(nm)));
        sum_abs += fabs(nm);
        max_err = fmax(max_err, err);
        if (!(err <= TOL)) {
            if (!failed)
                printf("\n  embedding dparams[%d]: analytic %g numeric %g", k, g[k], nm);
            failed++;
        }
    }
    printf("\n  gradcheck Embedding(7, 3) ids B=3 T=5: %d params, max_err %.2e ", V * OD,
           max_err);
    CU_ASSERT_EQUAL(failed, 0);
    CU_ASSERT(sum_abs > 0);
    /* id 9 is out of range: counted once per forward (1 + 2 * V * OD so far) */
    CU_ASSERT_EQUAL(nn_embedding_invalid_ids(&l), 1 + 2 * V * OD);
    nn_layer_destroy(&l);
}

/* ---- whole models ------------------------------------------------------------ */

static void test_gc_models(void)
{
    gc_model_ok("SimpleRNN(4, return_sequences=True, input_shape=(5, 3))\n"
                "LSTM(3)\n"
                "Dense(1, activation=\"sigmoid\")\n"
                "compile(loss=\"binary_crossentropy\", optimizer=\"rmsprop\")\n", 3, 1);
    gc_model_ok("LSTM(4, return_sequences=True, input_shape=(4, 3))\n"
                "SimpleRNN(3, go_backwards=True)\n"
                "Dense(2, activation=\"softmax\")\n"
                "compile(loss=\"categorical_crossentropy\")\n", 2, 2);
    gc_model_ok("SimpleRNN(3, return_sequences=True, input_shape=(3, 2))\n"
                "Flatten()\n"
                "Dense(2)\n"
                "compile(loss=\"mse\")\n", 2, 3);
}

/* The IMDB-style stack with real token ids: Embedding -> SimpleRNN(rs) ->
 * LSTM -> Dense(sigmoid) with the fused BCE, every parameter checked. */
static double text_loss(nn_model *m, const float *x, const float *t, int B, nn_ctx *ctx)
{
    const float *out = nn_model_forward(m, x, B, ctx);
    return nn_loss_eval(m->loss, out, t, B, 1, 1, m->fused, 0, NULL) / B;
}

static void test_gc_text_model(void)
{
    enum { B = 3, T = 6 };
    const char *text = "Embedding(9, 3, input_length=6)\n"
                       "SimpleRNN(4, return_sequences=True)\n"
                       "LSTM(3)\n"
                       "Dense(1, activation=\"sigmoid\")\n"
                       "compile(loss=\"binary_crossentropy\", optimizer=\"rmsprop\")\n";
    nn_error e = {0};
    nn_spec s;
    nn_model m;
    TU_ASSERT_OK(nn_spec_parse(text, "<text>", &s, &e), e);
    int rc = nn_model_build(&m, &s, &e);
    nn_spec_free(&s);
    TU_ASSERT_OK(rc, e);
    TU_ASSERT_OK(nn_model_plan(&m, B, &e), e);
    CU_ASSERT(m.fused);
    const float x[B * T] = {0, 0, 3, 8, 1, 3, 0, 5, 5, 2, 7, 4, 6, 6, 1, 2, 8, 0};
    const float t[B] = {1, 0, 1};
    float dout[B];
    uint64_t ids[B] = {0, 1, 2};
    nn_ctx ctx = {.training = 1, .seed = 1, .sample_ids = ids};
    tu_fill_uniform(m.params, m.nparams, 7, -0.5f, 0.5f);
    const float *out = nn_model_forward(&m, x, B, &ctx);
    nn_loss_eval(m.loss, out, t, B, 1, 1, m.fused, 1.0f / B, dout);
    memset(m.grads, 0, m.nparams * sizeof *m.grads);
    nn_model_backward(&m, x, dout, B, &ctx);
    double sum_abs = 0, max_err = 0;
    int failed = 0;
    for (size_t k = 0; k < m.nparams; k++) {
        float orig = m.params[k], up = orig + 1e-3f, dn = orig - 1e-3f;
        m.params[k] = up;
        double fp = text_loss(&m, x, t, B, &ctx);
        m.params[k] = dn;
        double fm = text_loss(&m, x, t, B, &ctx);
        m.params[k] = orig;
        double nm = (fp - fm) / ((double)up - (double)dn), a = m.grads[k];
        double err = fabs(a - nm) / fmax(1.0, fmax(fabs(a), fabs(nm)));
        sum_abs += fabs(nm);
        max_err = fmax(max_err, err);
        if (!(err <= TOL)) {
            if (!failed)
                printf("\n  text model dparams[%zu]: analytic %g numeric %g", k, a, nm);
            failed++;
        }
    }
    printf("\n  gradcheck text model (%zu params) B=3: max_err %.2e ", m.nparams, max_err);
    CU_ASSERT_EQUAL(failed, 0);
    CU_ASSERT(sum_abs > 0);
    /* rows 0..8 of the embeddings all appear in x: each has a gradient */
    for (int v = 0; v < 9; v++) {
        double row = 0;
        for (int j = 0; j < 3; j++)
            row += fabs(m.grads[v * 3 + j]);
        CU_ASSERT(row > 0);
    }
    nn_model_free(&m);
}

/* ---- parameter counts and shapes ----------------------------------------- */

static void test_imdb_counts(void)
{
    nn_error e = {0};
    nn_model m;
    TU_ASSERT_OK(tu_build("Embedding(10000, 32, input_length=100)\n"
                          "SimpleRNN(32, return_sequences=True)\n"
                          "SimpleRNN(32)\n"
                          "Dense(1, activation=\"sigmoid\")\n", &m, &e), e);
    CU_ASSERT_EQUAL(m.nparams, 324193);
    CU_ASSERT_EQUAL(m.layers[0].param_len, 320000);
    CU_ASSERT_EQUAL(m.layers[1].param_len, 2080);
    CU_ASSERT_EQUAL(m.layers[2].param_len, 2080);
    CU_ASSERT_EQUAL(m.layers[3].param_len, 33);
    CU_ASSERT(m.in_shape.n == 1 && m.in_shape.d[0] == 100);
    CU_ASSERT(m.layers[0].out.n == 2 && m.layers[0].out.d[0] == 100 &&
              m.layers[0].out.d[1] == 32);
    CU_ASSERT(m.layers[1].out.n == 2 && m.layers[1].out.d[0] == 100);
    CU_ASSERT(m.layers[2].out.n == 1 && m.layers[2].out.d[0] == 32);
    CU_ASSERT_STRING_EQUAL(m.layers[0].name, "embedding");
    CU_ASSERT_STRING_EQUAL(m.layers[1].name, "simple_rnn");
    CU_ASSERT_STRING_EQUAL(m.layers[2].name, "simple_rnn_1");
    nn_model_free(&m);

    /* the shipped spec files */
    static const struct {
        const char *file;
        size_t total;
    } files[] = {{"imdb_rnn.nn", 324193}, {"text_lstm.nn", 328353}};
    for (int i = 0; i < 2; i++) {
        char path[512];
        nn_spec s;
        snprintf(path, sizeof path, "%s/jobs/models/%s", NN_SOURCE_DIR, files[i].file);
        TU_ASSERT_OK(nn_spec_load(path, &s, &e), e);
        int rc = nn_model_build(&m, &s, &e);
        nn_spec_free(&s);
        TU_ASSERT_OK(rc, e);
        CU_ASSERT_EQUAL(m.nparams, files[i].total);
        CU_ASSERT(m.compiled && m.loss == NN_LOSS_BCE && m.fused);
        nn_model_free(&m);
    }

    /* input_shape instead of input_length; R spelling */
    TU_ASSERT_OK(tu_build("layer_embedding(input_dim=10000, output_dim=32, input_shape=(100,))\n"
                          "layer_lstm(units=32)\n", &m, &e), e);
    CU_ASSERT_EQUAL(m.nparams, 320000 + 8320);
    CU_ASSERT(m.in_shape.n == 1 && m.in_shape.d[0] == 100);
    nn_model_free(&m);
}

static void test_specs(void)
{
    nn_error e = {0};
    nn_layer l;
    nn_param_spec ps[NN_MAX_PARAM_SPECS];
    const char *rk = "recurrent_kernel:0";
    TU_ASSERT_OK(tu_make_planned("LSTM(32)", seq(10, 32), 2, &l, NULL, &e), e);
    CU_ASSERT_EQUAL(l.param_len, 8320);
    CU_ASSERT_EQUAL(l.ops->param_specs(&l, ps), 3);
    CU_ASSERT_STRING_EQUAL(ps[0].name, "kernel:0");
    CU_ASSERT(ps[0].ndim == 2 && ps[0].dims[0] == 32 && ps[0].dims[1] == 128 && ps[0].off == 0);
    CU_ASSERT_STRING_EQUAL(ps[1].name, rk);
    CU_ASSERT(ps[1].ndim == 2 && ps[1].dims[0] == 32 && ps[1].dims[1] == 128 &&
              ps[1].off == 4096);
    CU_ASSERT_STRING_EQUAL(ps[2].name, "bias:0");
    CU_ASSERT(ps[2].ndim == 1 && ps[2].dims[0] == 128 && ps[2].off == 8192);
    CU_ASSERT(l.out.n == 1 && l.out.d[0] == 32);
    nn_layer_destroy(&l);

    TU_ASSERT_OK(tu_make_planned("LSTM(5, use_bias=False, return_sequences=True)", seq(7, 3),
                                 2, &l, NULL, &e), e);
    CU_ASSERT_EQUAL(l.param_len, 4 * (3 * 5 + 5 * 5));
    CU_ASSERT_EQUAL(l.ops->param_specs(&l, ps), 2);
    CU_ASSERT(l.out.n == 2 && l.out.d[0] == 7 && l.out.d[1] == 5);
    nn_layer_destroy(&l);

    TU_ASSERT_OK(tu_make_planned("SimpleRNN(6)", seq(4, 3), 2, &l, NULL, &e), e);
    CU_ASSERT_EQUAL(l.param_len, 3 * 6 + 6 * 6 + 6);
    CU_ASSERT_EQUAL(l.ops->param_specs(&l, ps), 3);
    CU_ASSERT(ps[0].dims[0] == 3 && ps[0].dims[1] == 6 && ps[0].off == 0);
    CU_ASSERT_STRING_EQUAL(ps[1].name, rk);
    CU_ASSERT(ps[1].dims[0] == 6 && ps[1].dims[1] == 6 && ps[1].off == 18);
    CU_ASSERT(ps[2].dims[0] == 6 && ps[2].off == 54);
    nn_layer_destroy(&l);

    TU_ASSERT_OK(tu_make_planned("Embedding(50, 4)", nn_shape1(9), 2, &l, NULL, &e), e);
    CU_ASSERT_EQUAL(l.param_len, 200);
    CU_ASSERT_EQUAL(l.ops->param_specs(&l, ps), 1);
    CU_ASSERT_STRING_EQUAL(ps[0].name, "embeddings:0");
    CU_ASSERT(ps[0].ndim == 2 && ps[0].dims[0] == 50 && ps[0].dims[1] == 4);
    CU_ASSERT(l.out.n == 2 && l.out.d[0] == 9 && l.out.d[1] == 4);
    nn_layer_destroy(&l);

    /* a 2-D id input gives (T1, T2, output_dim) */
    TU_ASSERT_OK(tu_make_planned("Embedding(50, 4)", seq(3, 5), 2, &l, NULL, &e), e);
    CU_ASSERT(l.out.n == 3 && l.out.d[0] == 3 && l.out.d[1] == 5 && l.out.d[2] == 4);
    nn_layer_destroy(&l);
}

/* ---- initialisers ------------------------------------------------------------ */

/* max |A A^T - I| over the rows of A (rows, cols), or of A^T A when by_cols. */
static double orth_err(const float *A, int rows, int cols, int by_cols)
{
    int n = by_cols ? cols : rows, len = by_cols ? rows : cols;
    double mx = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int k = 0; k < len; k++)
                s += by_cols ? (double)A[k * cols + i] * A[k * cols + j]
                             : (double)A[i * cols + k] * A[j * cols + k];
            mx = fmax(mx, fabs(s - (i == j)));
        }
    return mx;
}

static void test_init(void)
{
    nn_error e = {0};
    nn_layer l;
    nn_rng r = nn_rng_key(5, 6, 7, 8);

    TU_ASSERT_OK(tu_make_planned("Embedding(100, 8)", nn_shape1(4), 1, &l, NULL, &e), e);
    float *p = malloc(l.param_len * sizeof *p);
    l.ops->init_params(&l, p, &r);
    double mx = 0, mean = 0;
    for (size_t i = 0; i < l.param_len; i++) {
        mx = fmax(mx, fabs(p[i]));
        mean += p[i] / (double)l.param_len;
    }
    CU_ASSERT(mx <= 0.05 && mx > 0.045);   /* uniform(-0.05, 0.05) */
    CU_ASSERT(fabs(mean) < 0.01);
    free(p);
    nn_layer_destroy(&l);

    TU_ASSERT_OK(tu_make_planned("SimpleRNN(16)", seq(3, 5), 1, &l, NULL, &e), e);
    p = malloc(l.param_len * sizeof *p);
    l.ops->init_params(&l, p, &r);
    double lim = sqrt(6.0 / (5 + 16));
    mx = 0;
    for (int i = 0; i < 5 * 16; i++)
        mx = fmax(mx, fabs(p[i]));
    CU_ASSERT(mx <= lim && mx > 0.7 * lim);                  /* glorot_uniform */
    CU_ASSERT(orth_err(p + 80, 16, 16, 1) < 1e-5);           /* orthogonal */
    CU_ASSERT(orth_err(p + 80, 16, 16, 0) < 1e-5);
    for (int i = 80 + 256; i < 80 + 256 + 16; i++)
        CU_ASSERT_EQUAL(p[i], 0.0f);
    free(p);
    nn_layer_destroy(&l);

    /* LSTM: recurrent (u, 4u) has orthonormal rows; forget-gate bias 1 */
    enum { U = 6, D = 4 };
    TU_ASSERT_OK(tu_make_planned("LSTM(6)", seq(3, D), 1, &l, NULL, &e), e);
    p = malloc(l.param_len * sizeof *p);
    l.ops->init_params(&l, p, &r);
    lim = sqrt(6.0 / (D + 4 * U));
    mx = 0;
    for (int i = 0; i < D * 4 * U; i++)
        mx = fmax(mx, fabs(p[i]));
    CU_ASSERT(mx <= lim && mx > 0.7 * lim);
    CU_ASSERT(orth_err(p + D * 4 * U, U, 4 * U, 0) < 1e-5);
    const float *b = p + D * 4 * U + U * 4 * U;
    for (int j = 0; j < 4 * U; j++)
        CU_ASSERT_EQUAL(b[j], j >= U && j < 2 * U ? 1.0f : 0.0f);
    free(p);
    nn_layer_destroy(&l);

    TU_ASSERT_OK(tu_make_planned("LSTM(2, unit_forget_bias=False, "
                                 "recurrent_initializer=\"zeros\", "
                                 "kernel_initializer=\"ones\", bias_initializer=\"ones\")",
                                 seq(3, 1), 1, &l, NULL, &e), e);
    float q[4 * (1 * 2 + 2 * 2 + 2)];
    CU_ASSERT_EQUAL(l.param_len, 32);
    l.ops->init_params(&l, q, &r);
    for (int i = 0; i < 8; i++)
        CU_ASSERT_EQUAL(q[i], 1.0f);
    for (int i = 8; i < 24; i++)
        CU_ASSERT_EQUAL(q[i], 0.0f);
    for (int i = 24; i < 32; i++)
        CU_ASSERT_EQUAL(q[i], 1.0f);
    nn_layer_destroy(&l);

    /* a tall orthogonal kernel: orthonormal columns */
    TU_ASSERT_OK(tu_make_planned("SimpleRNN(3, kernel_initializer=\"orthogonal\")", seq(2, 7),
                                 1, &l, NULL, &e), e);
    p = malloc(l.param_len * sizeof *p);
    l.ops->init_params(&l, p, &r);
    CU_ASSERT(orth_err(p, 7, 3, 1) < 1e-5);
    free(p);
    nn_layer_destroy(&l);
}

/* ---- values by hand ------------------------------------------------------------- */

/* Runs a planned layer forward on x (B, in) into y with a fresh workspace. */
static void run_forward(nn_layer *l, size_t work, const float *p, const float *x, float *y,
                        int B)
{
    float *w = malloc(work + sizeof(float));
    nn_ctx ctx = {.work = w, .work_bytes = work};
    l->ops->forward(l, p, x, y, B, &ctx);
    free(w);
}

static void test_simple_rnn_values(void)
{
    nn_error e = {0};
    nn_layer l;
    size_t work;
    /* D = 1, units = 1: h1 = tanh(0.5 x1 + 0.1), h2 = tanh(0.5 x2 + 0.8 h1 + 0.1) */
    TU_ASSERT_OK(tu_make_planned("SimpleRNN(1, return_sequences=True)", seq(2, 1), 1, &l,
                                 &work, &e), e);
    const float p[3] = {0.5f, 0.8f, 0.1f}, x[2] = {1.0f, -2.0f};
    float y[2];
    run_forward(&l, work, p, x, y, 1);
    double h1 = tanh(0.5 * 1 + 0.1), h2 = tanh(0.5 * -2 + 0.8 * h1 + 0.1);
    CU_ASSERT_DOUBLE_EQUAL(y[0], h1, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(y[1], h2, 1e-6);
    nn_layer_destroy(&l);

    /* go_backwards: processes x2 then x1 and returns (h(x2), h(x2, x1)) */
    TU_ASSERT_OK(tu_make_planned("SimpleRNN(1, return_sequences=True, go_backwards=True)",
                                 seq(2, 1), 1, &l, &work, &e), e);
    run_forward(&l, work, p, x, y, 1);
    double g1 = tanh(0.5 * -2 + 0.1), g2 = tanh(0.5 * 1 + 0.8 * g1 + 0.1);
    CU_ASSERT_DOUBLE_EQUAL(y[0], g1, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(y[1], g2, 1e-6);
    nn_layer_destroy(&l);
}

static void test_lstm_values(void)
{
    nn_error e = {0};
    nn_layer l;
    size_t work;
    /* D = 1, units = 1, two steps, gate order i f c o */
    TU_ASSERT_OK(tu_make_planned("LSTM(1)", seq(2, 1), 1, &l, &work, &e), e);
    const float p[12] = {0.3f, -0.2f, 0.5f, 0.7f,    /* kernel (1, 4) */
                         0.1f, 0.4f, -0.6f, 0.2f,    /* recurrent (1, 4) */
                         0.05f, 1.0f, -0.1f, 0.0f};  /* bias (4) */
    const float x[2] = {0.8f, -1.5f};
    float y[1];
    run_forward(&l, work, p, x, y, 1);
    double h = 0, c = 0;
    for (int t = 0; t < 2; t++) {
        double z[4];
        for (int k = 0; k < 4; k++)
            z[k] = p[k] * x[t] + p[4 + k] * h + p[8 + k];
        double i = 1 / (1 + exp(-z[0])), f = 1 / (1 + exp(-z[1])), g = tanh(z[2]),
               o = 1 / (1 + exp(-z[3]));
        c = f * c + i * g;
        h = o * tanh(c);
    }
    CU_ASSERT_DOUBLE_EQUAL(y[0], h, 1e-6);
    nn_layer_destroy(&l);
}

/* Rows of a batch are independent: B = 3 at once equals three B = 1 runs
 * (checks the strided per-step sgemm views), forward and backward. */
static void batch_rows_independent(const char *call, int T, int D)
{
    enum { B = 3 };
    nn_error e = {0};
    nn_layer l;
    size_t work;
    TU_ASSERT_OK(tu_make_planned(call, seq(T, D), B, &l, &work, &e), e);
    size_t nin = (size_t)T * D, nout = nn_shape_size(&l.out), P = l.param_len;
    float *p = malloc(P * sizeof *p), *x = malloc(B * nin * sizeof *x);
    float *y = malloc(B * nout * sizeof *y), *y1 = malloc(nout * sizeof *y1);
    float *r = malloc(B * nout * sizeof *r), *dy = malloc(B * nout * sizeof *dy);
    float *dx = malloc(B * nin * sizeof *dx), *dx1 = malloc(nin * sizeof *dx1);
    float *g = calloc(P, sizeof *g), *g1 = calloc(P, sizeof *g1);
    float *w = malloc(work + sizeof(float));
    nn_ctx ctx = {.work = w, .work_bytes = work};
    tu_fill_uniform(p, P, 11, -0.5f, 0.5f);
    tu_fill_uniform(x, B * nin, 12, -1.0f, 1.0f);
    tu_fill_uniform(r, B * nout, 13, -1.0f, 1.0f);
    l.ops->forward(&l, p, x, y, B, &ctx);
    memcpy(dy, r, B * nout * sizeof *dy);
    l.ops->backward(&l, p, g, x, y, dy, dx, B, &ctx);
    double md = 0;
    for (int b = 0; b < B; b++) {
        l.ops->forward(&l, p, x + b * nin, y1, 1, &ctx);
        for (size_t i = 0; i < nout; i++)
            md = fmax(md, fabs(y1[i] - y[b * nout + i]));
        memcpy(dy, r + b * nout, nout * sizeof *dy);
        l.ops->backward(&l, p, g1, x + b * nin, y1, dy, dx1, 1, &ctx);
        for (size_t i = 0; i < nin; i++)
            md = fmax(md, fabs(dx1[i] - dx[b * nin + i]));
    }
    for (size_t i = 0; i < P; i++)   /* g1 accumulated the three rows */
        md = fmax(md, fabs(g1[i] - g[i]));
    CU_ASSERT(md < 1e-5);
    if (!(md < 1e-5))
        printf("\n  %s: rows differ by %g", call, md);
    free(p), free(x), free(y), free(y1), free(r), free(dy), free(dx), free(dx1);
    free(g), free(g1), free(w);
    nn_layer_destroy(&l);
}

static void test_batch_rows(void)
{
    batch_rows_independent("SimpleRNN(5, return_sequences=True)", 4, 3);
    batch_rows_independent("SimpleRNN(5, go_backwards=True)", 4, 3);
    batch_rows_independent("LSTM(5, return_sequences=True)", 4, 3);
    batch_rows_independent("LSTM(5, go_backwards=True)", 4, 3);
}

static void test_embedding_values(void)
{
    nn_error e = {0};
    nn_layer l;
    TU_ASSERT_OK(tu_make_planned("Embedding(4, 2)", nn_shape1(6), 1, &l, NULL, &e), e);
    const float p[8] = {0, 1, 10, 11, 20, 21, 30, 31};
    /* 2.7 -> 2 and -0.5 -> 0 (cast toward zero, as Keras); 4, -1, NaN invalid */
    const float x[6] = {3, 2.7f, -0.5f, 4, -1, NAN};
    const float want[12] = {30, 31, 20, 21, 0, 1, 0, 0, 0, 0, 0, 0};
    float y[12];
    nn_ctx ctx = {0};
    for (int i = 0; i < 12; i++)
        y[i] = NAN;
    l.ops->forward(&l, p, x, y, 1, &ctx);
    for (int i = 0; i < 12; i++)
        CU_ASSERT_EQUAL(y[i], want[i]);
    CU_ASSERT_EQUAL(nn_embedding_invalid_ids(&l), 3);
    CU_ASSERT_EQUAL(nn_embedding_invalid_ids(NULL), 0);

    /* backward accumulates repeated ids (and onto existing gradients) */
    const float x2[6] = {1, 1, 3, 1, 0, 7};
    float dy[12], g[8];
    for (int i = 0; i < 12; i++)
        dy[i] = (float)(i + 1);
    for (int i = 0; i < 8; i++)
        g[i] = 0.5f;
    l.ops->forward(&l, p, x2, y, 1, &ctx);
    l.ops->backward(&l, p, g, x2, y, dy, NULL, 1, &ctx);
    const float gw[8] = {0.5f + 9, 0.5f + 10, 0.5f + 1 + 3 + 7, 0.5f + 2 + 4 + 8, 0.5f, 0.5f,
                         0.5f + 5, 0.5f + 6};
    for (int i = 0; i < 8; i++)
        CU_ASSERT_EQUAL(g[i], gw[i]);
    nn_layer_destroy(&l);
}

/* ---- errors ----------------------------------------------------------------- */

static void expect_err(const char *text, nn_shape in, int code, const char *needle)
{
    tu_expect_layer_err(text, in, 2, code, needle, NULL);
}

static void expect_model_err(const char *text, int code, const char *needle)
{
    nn_error e = {0};
    nn_model m;
    int rc = tu_build(text, &m, &e);
    CU_ASSERT_EQUAL(rc, code);
    CU_ASSERT(tu_contains(e.msg, needle));
    if (!rc)
        nn_model_free(&m);
}

static void test_errors(void)
{
    expect_err("Embedding()", nn_shape1(5), NN_EINVAL, "input_dim");
    expect_err("Embedding(100)", nn_shape1(5), NN_EINVAL, "output_dim");
    expect_err("Embedding(0, 8)", nn_shape1(5), NN_EINVAL, "input_dim must be a positive");
    expect_err("Embedding(10, -8)", nn_shape1(5), NN_EINVAL, "output_dim must be a positive");
    expect_err("Embedding(10, 8, mask_zero=True)", nn_shape1(5), NN_EINVAL, "mask_zero");
    expect_err("Embedding(10, 8, embeddings_initializer=\"normal\")", nn_shape1(5),
               NN_EINVAL, "'normal'");
    expect_err("Embedding(10, 8, input_length=6)", nn_shape1(5), NN_ESHAPE, "input_length=6");
    expect_err("Embedding(10, 8, embeddings_constraint=\"non_neg\")", nn_shape1(5), NN_EINVAL,
               "embeddings_constraint");
    expect_err("Embedding(10, 8)", (nn_shape){4, {2, 2, 2, 2}}, NN_ESHAPE, "token ids");

    expect_err("SimpleRNN()", seq(3, 2), NN_EINVAL, "units");
    expect_err("SimpleRNN(0)", seq(3, 2), NN_EINVAL, "positive");
    expect_err("SimpleRNN(4)", nn_shape1(6), NN_ESHAPE, "(timesteps, features)");
    expect_err("SimpleRNN(4)", nn_shape3(2, 3, 4), NN_ESHAPE, "(None, 2, 3, 4)");
    expect_err("SimpleRNN(4, activation=\"tanhh\")", seq(3, 2), NN_EINVAL, "'tanhh'");
    expect_err("SimpleRNN(4, return_state=True)", seq(3, 2), NN_EINVAL, "return_state");
    expect_err("SimpleRNN(4, stateful=True)", seq(3, 2), NN_EINVAL, "stateful");
    expect_err("SimpleRNN(4, dropout=0.2)", seq(3, 2), NN_EINVAL, "dropout=0.2");
    expect_err("SimpleRNN(4, recurrent_initializer=\"identity\")", seq(3, 2), NN_EINVAL,
               "'identity'");
    expect_err("SimpleRNN(4, return_sequences=1)", seq(3, 2), NN_EINVAL, "True or False");

    expect_err("LSTM()", seq(3, 2), NN_EINVAL, "units");
    expect_err("LSTM(4, recurrent_activation=\"hard_sigmoid\")", seq(3, 2), NN_EINVAL,
               "hard_sigmoid");
    expect_err("LSTM(4, recurrent_activation=\"hard_sigmoid\")", seq(3, 2), NN_EINVAL,
               "\"sigmoid\"");
    expect_err("LSTM(4, activation=\"foo\")", seq(3, 2), NN_EINVAL, "'foo'");
    expect_err("LSTM(4, return_state=True)", seq(3, 2), NN_EINVAL, "Sequential");
    expect_err("LSTM(4, recurrent_dropout=0.1)", seq(3, 2), NN_EINVAL, "recurrent_dropout");
    expect_err("LSTM(4)", nn_shape1(6), NN_ESHAPE, "Embedding");
    expect_err("LSTM(4, activity_regularizer=\"l2\")", seq(3, 2), NN_EINVAL,
               "activity_regularizer");

    /* the vocabulary size must not become the input shape */
    expect_model_err("Embedding(10000, 32)\nSimpleRNN(4)\n", NN_EINVAL, "input_shape");
    /* Dense on a sequence */
    expect_model_err("Embedding(100, 8, input_length=5)\nSimpleRNN(4, return_sequences=True)\n"
                     "Dense(1)\n", NN_ESHAPE, "Flatten");
    expect_model_err("Embedding(100, 8, input_length=5)\nLSTM(4)\nLSTM(4)\n", NN_ESHAPE,
                     "return_sequences");
}

/* Options that are accepted: None activations, no-op flags. */
static void test_accepted_options(void)
{
    nn_error e = {0};
    nn_layer l;
    TU_ASSERT_OK(tu_make_planned("SimpleRNN(4, activation=None, unroll=True, dropout=0.0, "
                                 "stateful=False, return_state=False)", seq(3, 2), 2, &l, NULL,
                                 &e), e);
    nn_layer_destroy(&l);
    TU_ASSERT_OK(tu_make_planned("LSTM(4, recurrent_activation=\"sigmoid\", "
                                 "activation=\"tanh\", unit_forget_bias=True, "
                                 "recurrent_dropout=0)", seq(3, 2), 2, &l, NULL, &e), e);
    nn_layer_destroy(&l);
    TU_ASSERT_OK(tu_make_planned("Embedding(input_dim=10, output_dim=3, mask_zero=False, "
                                 "embeddings_initializer=\"glorot_uniform\")", nn_shape1(4), 2,
                                 &l, NULL, &e), e);
    nn_layer_destroy(&l);
}

int main(void)
{
    static const tu_test tests[] = {
        {"registry", test_registry},
        {"gc_simple_rnn", test_gc_simple_rnn},
        {"gc_lstm", test_gc_lstm},
        {"gc_embedding_generic", test_gc_embedding_generic},
        {"gc_embedding_ids", test_gc_embedding_ids},
        {"gc_models", test_gc_models},
        {"gc_text_model", test_gc_text_model},
        {"imdb_counts", test_imdb_counts},
        {"specs", test_specs},
        {"init", test_init},
        {"simple_rnn_values", test_simple_rnn_values},
        {"lstm_values", test_lstm_values},
        {"batch_rows", test_batch_rows},
        {"embedding_values", test_embedding_values},
        {"errors", test_errors},
        {"accepted_options", test_accepted_options},
        {NULL, NULL},
    };
    return tu_main("layers_rnn", tests);
}
