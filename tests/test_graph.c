/* Graph models at the builder and executor level: spec calls wired by
 * nn_call.inputs (as the parser and the Keras importer set them, here set
 * by hand from a wiring string, so these tests do not depend on either),
 * the builder's checks and pruning, and the graph executor (exec_graph.c)
 * against the serial reference on 1 and 3 threads: outputs, every kept
 * layer output and every gradient; bitwise on one thread (the same layer
 * calls, the same order of the gradient sums). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nntrain/model.h"
#include "gradcheck.h"
#include "testutil.h"
#include "train/exec.h"

/* Builds text with call i taking the calls listed in field i of wiring
 * ("-": none; "0 2": calls 0 and 2), fields separated by '|'. */
static int wired(const char *text, const char *wiring, nn_model *m, nn_error *e)
{
    nn_spec s;
    memset(e, 0, sizeof *e);
    int rc = nn_spec_parse(text, "t.nn", &s, e);
    if (rc)
        return rc;
    const char *w = wiring;
    for (int i = 0; i < s.ncalls && *w; i++) {
        nn_call *c = &s.calls[i];
        c->inputs = malloc(NN_MAX_INPUTS * sizeof *c->inputs);
        while (*w && *w != '|') {
            char *end;
            long v = strtol(w, &end, 10);
            if (end == w) {
                w++;
                continue;
            }
            c->inputs[c->ninputs++] = (int)v;
            w = end;
        }
        if (*w == '|')
            w++;
    }
    rc = nn_model_build(m, &s, e);
    nn_spec_free(&s);
    return rc;
}

/* A residual block with BatchNormalization and a strided 1x1 shortcut, a
 * tensor read by three layers, a Concatenate of two branches, and a dead
 * branch (dropped: it does not feed the output). */
static const char *const RES_SPEC =
    "Input(shape=(6, 6, 3))\n"                                           /* 0 */
    "Conv2D(4, 3, padding=\"same\")\n"                                   /* 1 <- 0 */
    "BatchNormalization()\n"                                             /* 2 <- 1 */
    "Activation(\"relu\")\n"                                             /* 3 <- 2 */
    "Conv2D(4, 3, strides=2, padding=\"same\")\n"                        /* 4 <- 3 */
    "BatchNormalization(momentum=0.5)\n"                                 /* 5 <- 4 */
    "Conv2D(4, 1, strides=2)\n"                                          /* 6 <- 3: shortcut */
    "Add()\n"                                                            /* 7 <- 6 5 */
    "Activation(\"relu\")\n"                                             /* 8 <- 7 */
    "Conv2D(2, 1)\n"                                                     /* 9 <- 3: a 3rd read */
    "MaxPooling2D()\n"                                                   /* 10 <- 9 */
    "Concatenate()\n"                                                    /* 11 <- 8 10 */
    "Dense(7)\n"                                                         /* 12 <- 8: dead */
    "Flatten()\n"                                                        /* 13 <- 11 */
    "Dense(3, activation=\"softmax\")\n"                                 /* 14 <- 13 */
    "Functional()\n"                                                          /* 15 <- 14 */
    "compile(loss=\"categorical_crossentropy\")\n";
static const char *const RES_WIRING = "-|0|1|2|3|4|3|6 5|7|3|9|8 10|8|11|13|14";

static void compare(const char *what, const float *a, const float *b, size_t n, int bitwise)
{
    long bad;
    double d = tu_max_diff(a, b, n, bitwise ? 0 : 1e-5, &bad);
    if (bad >= 0)
        printf("\n    %s: max diff %g at %ld", what, d, bad);
    CU_ASSERT_EQUAL(bad, -1);
}

static void test_build_graph(void)
{
    nn_error e;
    nn_model m;
    TU_ASSERT_OK(wired(RES_SPEC, RES_WIRING, &m, &e), e);
    CU_ASSERT(m.graph);
    CU_ASSERT_EQUAL(m.nlayers, 13);   /* 14 layers, the dead Dense dropped */
    CU_ASSERT_STRING_EQUAL(m.name, "model");
    /* the merge's inputs and shapes */
    const nn_layer *add = &m.layers[6], *cat = &m.layers[10];
    CU_ASSERT_STRING_EQUAL(add->ops->kind, "Add");
    CU_ASSERT_EQUAL(add->nin, 2);
    CU_ASSERT_EQUAL(add->inp[0], 5);
    CU_ASSERT_EQUAL(add->inp[1], 4);
    CU_ASSERT_STRING_EQUAL(cat->ops->kind, "Concatenate");
    CU_ASSERT_EQUAL(cat->out.d[2], 6);   /* 4 + 2 channels at 3x3 */
    CU_ASSERT_EQUAL(cat->out.d[0], 3);
    CU_ASSERT_STRING_EQUAL(m.layers[m.nlayers - 1].ops->kind, "Dense");
    /* a ReLU read elsewhere is not fused into the pooling above it */
    for (int i = 0; i < m.nlayers; i++)
        CU_ASSERT(!m.layers[i].mask_relu);
    nn_model_free(&m);

    /* a merge in a Sequential chain (a one-input Concatenate) runs as a graph */
    TU_ASSERT_OK(tu_build("Dense(4, input_shape=(1,))\nConcatenate()\nDense(1)\n", &m, &e), e);
    CU_ASSERT(m.graph);
    TU_ASSERT_OK(nn_model_plan(&m, 2, &e), e);
    float x[2] = {0.5f, -1}, dy[2] = {1, 1};
    nn_ctx ctx = {.training = 1};
    CU_ASSERT(isfinite(nn_model_forward(&m, x, 2, &ctx)[1]));
    nn_model_backward(&m, x, dy, 2, &ctx);
    nn_model_free(&m);

    /* a chain written with inputs is still a chain: the Sequential path */
    TU_ASSERT_OK(wired("Input(shape=(4,))\nDense(3)\nDense(2)\nFunctional()\n", "-|0|1|2", &m, &e), e);
    CU_ASSERT(!m.graph);
    CU_ASSERT_EQUAL(m.nlayers, 2);
    nn_model_free(&m);
}

static void expect_error(const char *text, const char *wiring, const char *needle)
{
    nn_error e;
    nn_model m;
    int rc = wired(text, wiring, &m, &e);
    CU_ASSERT_NOT_EQUAL(rc, NN_OK);
    if (rc == NN_OK)
        nn_model_free(&m);
    else if (!tu_contains(e.msg, needle))
        printf("\n    expected '%s' in: %s", needle, e.msg);
    CU_ASSERT(rc != NN_OK && tu_contains(e.msg, needle));
}

static void test_build_errors(void)
{
    /* shapes that do not add up: both inputs named with their shapes */
    expect_error("Input(shape=(4,))\nDense(3)\nDense(5)\nAdd()\nFunctional()\n", "-|0|0|1 2|3",
                 "(inputs: 'dense' (None, 3), 'dense_1' (None, 5))");
    expect_error("Input(shape=(4,))\nDense(3)\nDense(5)\nAdd()\nFunctional()\n", "-|0|0|1 2|3",
                 "t.nn:4:1");
    /* one input only for an ordinary layer */
    expect_error("Input(shape=(4,))\nDense(3)\nDense(3)\nDense(2)\nFunctional()\n", "-|0|0|1 2|3",
                 "Dense() takes one input, it is given 2");
    /* a merge of one */
    expect_error("Input(shape=(4,))\nDense(3)\nAdd()\nFunctional()\n", "-|0|1|2",
                 "Add() needs at least 2 inputs, it is given 1");
    /* an input that is not a layer or the Input (compile), or comes later */
    expect_error("Input(shape=(4,))\nset.seed(1)\nDense(3)\nFunctional()\n", "-|-|1|2",
                 "input 1 is not a layer or the Input defined before it");
    expect_error("Input(shape=(4,))\nDense(3)\nDense(2)\nFunctional()\n", "-|2|1|2",
                 "input 1 is not a layer or the Input defined before it");
    /* Model's output must be a layer */
    expect_error("Input(shape=(4,))\nDense(3)\nFunctional()\n", "-|0|0",
                 "outputs must be a layer's output defined before it");
    expect_error("Input(shape=(4,))\nInput(shape=(4,))\nDense(3)\n", "-|-|0",
                 "a second Input(): a model has one input here");
}

/* Executor = reference on RES_SPEC, B rows, T threads. */
static void run(int T, int B)
{
    nn_error e;
    nn_model m;
    TU_ASSERT_OK(wired(RES_SPEC, RES_WIRING, &m, &e), e);
    nn_model_init_params(&m, 4);
    TU_ASSERT_OK(nn_model_set_threads(&m, T, &e), e);
    TU_ASSERT_OK(nn_model_plan(&m, B, &e), e);
    TU_ASSERT_OK(nn_model_plan_ref(&m, &e), e);
    size_t nin = (size_t)B * nn_model_in_size(&m), K = nn_model_out_size(&m), P = m.nparams;
    float *x = malloc(nin * sizeof *x), *dout = malloc((size_t)B * K * sizeof *dout);
    float *d = malloc((size_t)B * K * sizeof *d), *gref = malloc(P * sizeof *gref);
    float *pref = malloc(P * sizeof *pref), *yref = malloc((size_t)B * K * sizeof *yref);
    CU_ASSERT_FATAL(x && dout && d && gref && pref && yref);
    tu_fill_uniform(x, nin, 5, -1, 1);
    tu_fill_uniform(dout, (size_t)B * K, 6, -1, 1);
    nn_ctx ctx = {.training = 1, .seed = 9};
    float *p0 = malloc(P * sizeof *p0);
    memcpy(p0, m.params, P * sizeof *p0);   /* BN moves its statistics each forward */

    memcpy(yref, nn_model_forward_ref(&m, x, B, &ctx), (size_t)B * K * sizeof *yref);
    memcpy(pref, m.params, P * sizeof *pref);
    memcpy(d, dout, (size_t)B * K * sizeof *d);
    memset(m.grads, 0, P * sizeof *m.grads);
    nn_model_backward_ref(&m, x, d, B, &ctx);
    memcpy(gref, m.grads, P * sizeof *gref);

    int bitwise = T == 1;
    memcpy(m.params, p0, P * sizeof *p0);
    compare("output", nn_model_forward(&m, x, B, &ctx), yref, (size_t)B * K, bitwise);
    compare("moving statistics", m.params, pref, P, bitwise);
    for (int i = 0; i < m.nlayers; i++)
        compare(m.layers[i].name, nn_model_layer_out(&m, x, i), nn_model_layer_out_ref(&m, x, i),
                (size_t)B * nn_shape_size(&m.layers[i].out), bitwise);
    memcpy(d, dout, (size_t)B * K * sizeof *d);
    memset(m.grads, 0, P * sizeof *m.grads);
    nn_model_backward(&m, x, d, B, &ctx);
    for (int i = 0; i < m.nlayers; i++)
        if (m.layers[i].param_len)
            compare(m.layers[i].name, m.grads + m.layers[i].param_off, gref + m.layers[i].param_off,
                    m.layers[i].param_len - m.layers[i].frozen_len, bitwise);
    double sum = 0;
    for (int i = 0; i < m.nlayers; i++) {   /* every layer with weights gets a gradient */
        const nn_layer *l = &m.layers[i];
        double s = 0;
        for (size_t k = 0; k < l->param_len - l->frozen_len; k++)
            s += fabs(gref[l->param_off + k]);
        CU_ASSERT(l->param_len == 0 || s > 0);
        sum += s;
    }
    CU_ASSERT(sum > 0);
    size_t pa, pg, pu, pw;
    nn_model_plan_bytes(&m, &pa, &pg, &pu, &pw);
    CU_ASSERT(pg < pu);   /* the gradient buffers share slots */
    printf("\n  %d thread%s, batch %d: %s; gradient buffers %zu of %zu bytes", T,
           T > 1 ? "s" : "", B, bitwise ? "bitwise" : "within 1e-5", pg, pu);
    free(x), free(dout), free(d), free(gref), free(pref), free(yref), free(p0);
    nn_model_free(&m);
}

static void test_exec_graph(void)
{
    run(1, 5);
    run(3, 7);
    run(3, 2);   /* fewer rows than threads: one thread runs all */
}

/* Finite differences through whole graph models (gradcheck.c's gc_model:
 * every parameter, loss included), written as pasted Python functional
 * Keras. */
static void test_gradcheck_graphs(void)
{
    /* a tensor used twice by one merge, and by two layers */
    gc_model_ok("inputs = Input(shape=(5,))\n"
                "x = Dense(4, activation=\"tanh\")(inputs)\n"
                "y = add([x, x])\n"
                "z = Dense(4, activation=\"sigmoid\")(x)\n"
                "w = Multiply()([y, z])\n"
                "outputs = Dense(3, activation=\"softmax\")(w)\n"
                "model = Model(inputs, outputs)\n"
                "model.compile(loss=\"categorical_crossentropy\")\n",
                4, 11);
    /* a residual block with BatchNormalization in training mode (batch 6),
     * a strided shortcut, Concatenate on channels */
    gc_model_ok("inputs = Input(shape=(4, 4, 2))\n"
                "x = Conv2D(3, 3, padding=\"same\")(inputs)\n"
                "x = BatchNormalization()(x)\n"
                "x = Activation(\"tanh\")(x)\n"
                "y = Conv2D(3, 3, strides=2, padding=\"same\")(x)\n"
                "y = BatchNormalization(momentum=0.5)(y)\n"
                "s = Conv2D(3, 1, strides=2)(x)\n"
                "x = add([s, y])\n"
                "c = Conv2D(2, 1, activation=\"tanh\")(x)\n"
                "x = Concatenate()([x, c])\n"
                "x = GlobalAveragePooling2D()(x)\n"
                "outputs = Dense(3, activation=\"softmax\")(x)\n"
                "model = Model(inputs=inputs, outputs=outputs)\n"
                "model.compile(loss=\"categorical_crossentropy\")\n",
                6, 12);
    /* a frozen BN (inference statistics) inside the block, Subtract */
    gc_model_ok("inputs = Input(shape=(6,))\n"
                "x = Dense(5)(inputs)\n"
                "y = BatchNormalization(trainable=False)(x)\n"
                "y = Dense(5, activation=\"tanh\")(y)\n"
                "x = subtract([x, y])\n"
                "outputs = Dense(2)(x)\n"
                "model = Model(inputs, outputs)\n"
                "model.compile(loss=\"mse\")\n",
                5, 13);
}

int main(void)
{
    const tu_test tests[] = {{"builder: wiring, pruning, merges", test_build_graph},
                             {"builder: bad graphs", test_build_errors},
                             {"executor = reference on a graph", test_exec_graph},
                             {"gradient checks through graphs", test_gradcheck_graphs},
                             {NULL, NULL}};
    return tu_main("graph", tests);
}
