/* The executor (src/train/exec.c: row slices, cache passes, team layers)
 * against the serial reference (exec_ref.c) on the same model, parameters
 * and data: the output, every layer output the plan keeps and the gradient
 * of every trainable layer, on 1 and 3 threads, in the planned cache passes
 * and in passes of 2 rows. Bitwise where the summation order is the same
 * (one thread and one cache pass over the batch: the very same layer
 * calls); otherwise within TOL, relative with floor 1 (rows summed per
 * chunk and per thread: ulps). The gradient-ready hook of
 * nn_model_backward_hook is checked on the way: each layer with parameters
 * is announced once, from the last down, and its gradient is final then. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nntrain/model.h"
#include "testutil.h"
#include "train/exec.h"

#define TOL 1e-5

typedef struct exec_case {
    const char *what, *spec;
    nn_shape in;
    int B;
    int team;      /* layers the 3 threads run together */
    int vocab;     /* > 0: integer inputs below vocab (Embedding) */
} exec_case;

static const exec_case cases[] = {
    {"CNN: ReLU under pooling, dropout, fused softmax",
     "Conv2D(8, (3, 3), padding=\"same\", activation=\"relu\", input_shape=(9, 8, 2))\n"
     "MaxPooling2D()\nConv2D(6, (2, 2), activation=\"relu\")\nDropout(0.3)\nFlatten()\n"
     "Dense(12, activation=\"tanh\")\nDense(4, activation=\"softmax\")\n"
     "compile(loss=\"categorical_crossentropy\")\n",
     {3, {9, 8, 2, 0}}, 7, 0, 0},
    {"autoencoder: every layer in the cache prefix",
     "Conv2D(4, (3, 3), strides=2, padding=\"same\", activation=\"relu\", input_shape=(8, 8, 1))\n"
     "UpSampling2D()\nConv2DTranspose(3, (3, 3), strides=2, padding=\"same\", activation=\"relu\")\n"
     "Conv2D(1, (3, 3), padding=\"same\", activation=\"sigmoid\")\n",
     {3, {8, 8, 1, 0}}, 5, 0, 0},
    {"LSTM and SimpleRNN",
     "LSTM(6, return_sequences=True, input_shape=(5, 3))\nSimpleRNN(4)\nDense(2)\n",
     {2, {5, 3, 0, 0}}, 5, 0, 0},
    {"Embedding",
     "Embedding(12, 4, input_length=6)\nSimpleRNN(5)\nDense(3, activation=\"softmax\")\n",
     {1, {6, 0, 0, 0}}, 6, 0, 12},
    {"wide Dense layers run by the team",
     "Dense(300, activation=\"relu\", input_shape=(250,))\n"
     "Dense(240, activation=\"sigmoid\")\nDense(4, activation=\"softmax\")\n",
     {1, {250, 0, 0, 0}}, 5, 2, 0},
    {"wide Dense layers under mixed_bfloat16 run by the team (bf16 products per slice)",
     "mixed_precision.set_global_policy(\"mixed_bfloat16\")\n"
     "Dense(300, activation=\"relu\", input_shape=(250,))\n"
     "Dense(240, activation=\"sigmoid\")\nDense(4, activation=\"softmax\")\n",
     {1, {250, 0, 0, 0}}, 5, 2, 0},
    {"frozen layers: the first and one in the middle",
     "Conv2D(4, (3, 3), activation=\"relu\", input_shape=(6, 6, 1), trainable=False)\n"
     "Flatten()\nDense(8, activation=\"relu\")\nDense(8, trainable=False)\nDense(2)\n",
     {3, {6, 6, 1, 0}}, 6, 0, 0},
    {"gelu/swish keep z per row (cache passes, threads), selu",
     "Conv2D(4, (3, 3), padding=\"same\", activation=\"gelu\", input_shape=(8, 8, 1))\n"
     "Conv2DTranspose(2, (3, 3), strides=2, activation=\"swish\")\nFlatten()\n"
     "Dense(300, activation=\"swish\")\nDense(6, activation=\"selu\")\n"
     "Dense(3, activation=\"gelu\")\n",
     {3, {8, 8, 1, 0}}, 7, 0, 0},
    {"pooling and padding: argmax per row, a ReLU under the global max",
     "ZeroPadding2D(((1, 0), (2, 1)), input_shape=(7, 6, 2))\n"
     "Conv2D(6, (3, 3), activation=\"relu\")\nAveragePooling2D(2, padding=\"same\")\n"
     "Conv2D(5, (2, 2), padding=\"same\", activation=\"relu\")\n"
     "GlobalMaxPooling2D(keepdims=True)\nConv2D(4, 1)\nGlobalAveragePooling2D()\n"
     "Dense(3, activation=\"softmax\")\ncompile(loss=\"categorical_crossentropy\")\n",
     {3, {7, 6, 2, 0}}, 7, 0, 0},
    {"small layers: LeakyReLU, plain ReLU under pooling, Reshape, ReLU options, Softmax",
     "Conv2D(6, (3, 3), padding=\"same\", input_shape=(8, 8, 2))\nLeakyReLU()\n"
     "Conv2D(4, (2, 2))\nReLU()\nMaxPooling2D()\nReshape((-1, 4))\n"
     "ReLU(max_value=0.5, negative_slope=0.1)\nFlatten()\nDense(5)\nSoftmax()\n"
     "compile(loss=\"categorical_crossentropy\")\n",
     {3, {8, 8, 2, 0}}, 7, 0, 0},
    {"BatchNormalization: first layer, after Conv2D and Dense, frozen",
     "BatchNormalization(input_shape=(6, 6, 2))\n"
     "Conv2D(4, (3, 3), padding=\"same\")\nBatchNormalization()\nReLU()\nMaxPooling2D()\n"
     "Flatten()\nDense(260, activation=\"relu\")\nBatchNormalization(momentum=0.5)\n"
     "Dense(5)\nBatchNormalization(trainable=False)\nDense(3, activation=\"softmax\")\n"
     "compile(loss=\"categorical_crossentropy\")\n",
     {3, {6, 6, 2, 0}}, 7, 0, 0},
    {"BatchNormalization between team Dense layers",
     "Dense(300, input_shape=(250,))\nBatchNormalization()\n"
     "Dense(240, activation=\"relu\")\nBatchNormalization(center=False)\n"
     "Dense(4, activation=\"softmax\")\n",
     {1, {250, 0, 0, 0}}, 5, 2, 0},
    {"BatchNormalization, fewer rows than threads (one thread runs all)",
     "Dense(6, input_shape=(4,))\nBatchNormalization()\nDense(2)\n",
     {1, {4, 0, 0, 0}}, 2, 0, 0},
};

/* What the hook saw in one backward. */
typedef struct hook_log {
    const nn_model *m;
    const float *gref;     /* the reference gradients */
    int calls, bad_off, out_of_order, not_final;
    size_t last_off;
} hook_log;

static void on_ready(void *arg, size_t off)
{
    hook_log *h = arg;
    const nn_model *m = h->m;
    int i = m->nlayers - 1;
    while (i >= 0 && !(m->layers[i].param_len && m->layers[i].param_off == off))
        i--;
    if (i < 0) {
        h->bad_off++;
        return;
    }
    if (h->calls++ && off >= h->last_off)
        h->out_of_order++;
    h->last_off = off;
    const nn_layer *l = &m->layers[i];
    long bad;
    if (l->trainable) {
        tu_max_diff(m->grads + off, h->gref + off, l->param_len, TOL, &bad);
        h->not_final += bad >= 0;
    }
}

/* Compares a and b (n floats): bitwise, or within TOL; prints what differs. */
static void compare(const char *what, const float *a, const float *b, size_t n, int bitwise)
{
    long bad;
    double d = tu_max_diff(a, b, n, TOL, &bad);
    int same = memcmp(a, b, n * sizeof *a) == 0;
    if (bitwise ? !same : bad >= 0)
        printf("\n    %s: max diff %.3g%s, first bad [%ld]", what, d, bitwise ? " (want 0)" : "",
               bad);
    CU_ASSERT(bitwise ? same : bad < 0);
}

/* The reference, then the executor, on one model; 1 if compared bitwise. */
static int run(const exec_case *c, int threads, int cache_rows)
{
    nn_error e = {0};
    nn_model m;
    TU_ASSERT_OK(tu_build(c->spec, &m, &e), e);
    nn_model_init_params(&m, 3);
    TU_ASSERT_OK(nn_model_set_threads(&m, threads, &e), e);
    TU_ASSERT_OK(nn_model_plan(&m, c->B, &e), e);
    TU_ASSERT_OK(nn_model_plan_ref(&m, &e), e);
    if (cache_rows && cache_rows < m.exec->cache_rows)
        m.exec->cache_rows = cache_rows;
    int bitwise = threads == 1 && m.exec->cache_rows >= c->B;
    int team = 0;
    for (int i = 0; i < m.nlayers; i++)
        team += nn_model_team_layer(&m, i, c->B);
    CU_ASSERT_EQUAL(team, threads > 1 ? c->team : 0);

    CU_ASSERT_EQUAL_FATAL(nn_model_in_size(&m), nn_shape_size(&c->in));
    const int B = c->B;
    size_t nin = (size_t)B * nn_shape_size(&c->in), K = nn_model_out_size(&m), P = m.nparams;
    float *x = malloc(nin * sizeof *x), *dout = malloc((size_t)B * K * sizeof *dout);
    float *d = malloc((size_t)B * K * sizeof *d), *yref = malloc((size_t)B * K * sizeof *yref);
    float *gref = malloc(P * sizeof *gref);
    uint64_t ids[16];
    CU_ASSERT_FATAL(x && dout && d && yref && gref && B <= 16);
    tu_fill_uniform(x, nin, 5, -1, 1);
    for (size_t k = 0; c->vocab && k < nin; k++)
        x[k] = floorf((x[k] + 1) * 0.5f * (float)c->vocab);
    tu_fill_uniform(dout, (size_t)B * K, 6, -1, 1);
    for (int b = 0; b < B; b++)
        ids[b] = 1000 + (uint64_t)b * 7;
    nn_ctx ctx = {.training = 1, .seed = 9, .epoch = 2, .sample_ids = ids};

    memcpy(yref, nn_model_forward_ref(&m, x, B, &ctx), (size_t)B * K * sizeof *yref);
    memcpy(d, dout, (size_t)B * K * sizeof *d);
    memset(m.grads, 0, P * sizeof *m.grads);
    nn_model_backward_ref(&m, x, d, B, &ctx);
    memcpy(gref, m.grads, P * sizeof *gref);

    compare("output", nn_model_forward(&m, x, B, &ctx), yref, (size_t)B * K, bitwise);
    for (int i = 0; i < m.nlayers; i++) {
        const float *y = nn_model_layer_out(&m, x, i);   /* NULL: kept per chunk */
        if (y)
            compare(m.layers[i].name, y, nn_model_layer_out_ref(&m, x, i),
                    (size_t)B * nn_shape_size(&m.layers[i].out), bitwise);
    }
    memcpy(d, dout, (size_t)B * K * sizeof *d);
    memset(m.grads, 0, P * sizeof *m.grads);
    hook_log h = {.m = &m, .gref = gref};
    nn_model_backward_hook(&m, x, d, B, &ctx, on_ready, &h);
    int announced = 0;
    double sum = 0;
    for (int i = nn_exec_first_backward(&m); i < m.nlayers; i++) {
        const nn_layer *l = &m.layers[i];
        announced += l->param_len > 0;
        if (!l->trainable || !l->param_len)
            continue;   /* frozen: the threads' parts are not summed */
        compare(l->name, m.grads + l->param_off, gref + l->param_off, l->param_len, bitwise);
        for (size_t k = 0; k < l->param_len; k++)
            sum += fabs(gref[l->param_off + k]);
    }
    CU_ASSERT(sum > 0);
    if (h.calls != announced || h.bad_off + h.out_of_order + h.not_final)
        printf("\n    hook: %d calls for %d layers, %d unknown offsets, %d out of order, "
               "%d before the gradient was final", h.calls, announced, h.bad_off,
               h.out_of_order, h.not_final);
    CU_ASSERT_EQUAL(h.calls, announced);
    CU_ASSERT_EQUAL(h.bad_off + h.out_of_order + h.not_final, 0);
    printf("\n  %s, %d thread%s, passes of %d rows: %s", c->what, threads,
           threads > 1 ? "s" : "", m.exec->cache_rows, bitwise ? "bitwise" : "within 1e-5");
    free(x), free(dout), free(d), free(yref), free(gref);
    nn_model_free(&m);
    return bitwise;
}

static void test_exec_matches_reference(void)
{
    int bitwise = 0;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        for (int threads = 1; threads <= 3; threads += 2) {
            bitwise += run(&cases[k], threads, 0);
            run(&cases[k], threads, 2);
        }
    /* the bitwise comparison is the strong one: it must have happened */
    CU_ASSERT(bitwise >= 4);
}

/* The reference needs a plan to run on. */
static void test_ref_needs_plan(void)
{
    nn_error e = {0};
    nn_model m;
    TU_ASSERT_OK(tu_build("Dense(2, input_shape=(3,))\n", &m, &e), e);
    CU_ASSERT_EQUAL(nn_model_plan_ref(&m, &e), NN_EINVAL);
    CU_ASSERT(tu_contains(e.msg, "nn_model_plan"));
    nn_model_free(&m);
}

int main(void)
{
    const tu_test tests[] = {
        {"executor = serial reference", test_exec_matches_reference},
        {"reference: planned first", test_ref_needs_plan},
        {NULL, NULL}};
    return tu_main("exec", tests);
}
