/* Weight regularizers (issue 17): every spelling of kernel_regularizer /
 * bias_regularizer / recurrent_regularizer / embeddings_regularizer binds the
 * factors Keras would, the penalty and its gradient pass a finite-difference
 * check of loss + penalty on Dense and Conv2D models (l1 away from 0), Keras
 * JSON export and import and a checkpoint keep them, and bad options fail
 * with their message. PyTorch comparison: test_golden_reg.c; MPI: test_mpi_fit. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "nntrain/checkpoint.h"
#include "nntrain/keras.h"
#include "nntrain/model.h"
#include "testutil.h"

static int build(const char *text, nn_model *m, nn_error *e)
{
    nn_spec s;
    int rc = nn_spec_parse(text, "t.nn", &s, e);
    if (rc)
        return rc;
    rc = nn_model_build(m, &s, e);
    nn_spec_free(&s);
    return rc;
}

/* The first layer of "<call>" (input (4,)) has reg[role] = (l1, l2). */
static void expect_reg(const char *call, int role, double l1, double l2)
{
    char text[400];
    snprintf(text, sizeof text, "%s\n", call);
    nn_model m;
    nn_error e = {0};
    int rc = build(text, &m, &e);
    if (rc)
        fprintf(stderr, "%s: %s\n", call, e.msg);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    const nn_reg r = m.layers[0].reg[role];
    if (fabs(r.l1 - l1) > 1e-12 || fabs(r.l2 - l2) > 1e-12)
        fprintf(stderr, "%s: got l1=%g l2=%g, want %g %g\n", call, r.l1, r.l2, l1, l2);
    CU_ASSERT(fabs(r.l1 - l1) <= 1e-12 && fabs(r.l2 - l2) <= 1e-12);
    for (int k = 0; k < NN_REG_ROLES; k++)
        if (k != role)
            CU_ASSERT(!nn_reg_active(m.layers[0].reg[k]));
    nn_model_free(&m);
}

#define D "Dense(3, input_shape=(4,), "
static void test_spellings(void)
{
    expect_reg(D "kernel_regularizer=l2(1e-4))", NN_REG_KERNEL, 0, 1e-4);
    expect_reg(D "kernel_regularizer=regularizers.l2(0.01))", NN_REG_KERNEL, 0, 0.01);
    expect_reg(D "kernel_regularizer=tf.keras.regularizers.L2(l2=0.02))", NN_REG_KERNEL, 0, 0.02);
    expect_reg(D "kernel_regularizer=L2(l=0.03))", NN_REG_KERNEL, 0, 0.03);
    expect_reg(D "kernel_regularizer=l1(0.5))", NN_REG_KERNEL, 0.5, 0);
    expect_reg(D "kernel_regularizer=L1())", NN_REG_KERNEL, 0.01, 0);
    expect_reg(D "kernel_regularizer=l1_l2(l1=0.1, l2=0.2))", NN_REG_KERNEL, 0.1, 0.2);
    expect_reg(D "kernel_regularizer=l1_l2())", NN_REG_KERNEL, 0.01, 0.01);
    expect_reg(D "kernel_regularizer=L1L2(l2=0.2))", NN_REG_KERNEL, 0, 0.2);
    expect_reg(D "kernel_regularizer=\"l2\")", NN_REG_KERNEL, 0, 0.01);
    expect_reg(D "kernel_regularizer=\"l1\")", NN_REG_KERNEL, 0.01, 0);
    expect_reg(D "kernel_regularizer=None)", NN_REG_BIAS, 0, 0);
    expect_reg(D "bias_regularizer=\"l1_l2\")", NN_REG_BIAS, 0.01, 0.01);
    expect_reg("layer_dense(units = 3, input_shape = c(4), kernel_regularizer = "
               "regularizer_l2(l = 0.001))", NN_REG_KERNEL, 0, 0.001);
    expect_reg("layer_dense(units = 3, input_shape = c(4), bias_regularizer = "
               "regularizer_l1(0.2))", NN_REG_BIAS, 0.2, 0);
    expect_reg("layer_dense(units = 3, input_shape = c(4), kernel_regularizer = "
               "regularizer_l1_l2(l1 = 0.3, l2 = 0.4))", NN_REG_KERNEL, 0.3, 0.4);
    /* pasted Python with its imports */
    expect_reg("from keras.regularizers import l2\nfrom tensorflow.keras import regularizers\n"
               "model = Sequential()\nmodel.add(Dense(3, input_shape=(4,), "
               "kernel_regularizer=regularizers.l1_l2(l1=0.02, l2=0.03)))",
               NN_REG_KERNEL, 0.02, 0.03);
    expect_reg("Embedding(10, 4, input_shape=(4,), embeddings_regularizer=l2(0.1))",
               NN_REG_EMBEDDINGS, 0, 0.1);
    expect_reg("LSTM(3, input_shape=(4, 1), recurrent_regularizer=l1(0.1))", NN_REG_RECURRENT,
               0.1, 0);
    expect_reg("SimpleRNN(3, input_shape=(4, 1), kernel_regularizer=l1(0.1))", NN_REG_KERNEL,
               0.1, 0);
}

/* penalty = sum of l1*|w| + l2*w^2 over the regularized tensors only */
static void test_penalty_value(void)
{
    nn_model m;
    nn_error e = {0};
    TU_ASSERT_OK(build("Dense(2, input_shape=(3,), kernel_regularizer=l1_l2(l1=0.5, l2=2), "
                       "bias_regularizer=l2(1))\nDense(1)\n", &m, &e), e);
    CU_ASSERT_EQUAL_FATAL(m.nparams, 3 * 2 + 2 + 2 + 1);
    for (size_t i = 0; i < m.nparams; i++)
        m.params[i] = (i % 2 ? -1.0f : 1.0f) * (float)(i + 1) / 10;
    double want = 0;
    for (size_t i = 0; i < 6; i++)
        want += 0.5 * fabs(m.params[i]) + 2.0 * m.params[i] * m.params[i];
    for (size_t i = 6; i < 8; i++)
        want += m.params[i] * m.params[i];
    CU_ASSERT_DOUBLE_EQUAL(nn_model_reg_penalty(&m), want, 1e-6);
    memset(m.grads, 0, m.nparams * sizeof(float));
    nn_model_reg_grad(&m);
    CU_ASSERT_DOUBLE_EQUAL(m.grads[1], 0.5 * -1 + 4.0 * m.params[1], 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(m.grads[7], 2.0 * m.params[7], 1e-6);
    CU_ASSERT_EQUAL(m.grads[8], 0.0f);   /* the second layer has none */
    /* a frozen layer's penalty still counts in the loss (Keras's losses)
     * but gets no gradient */
    m.layers[0].trainable = 0;
    memset(m.grads, 0, m.nparams * sizeof(float));
    nn_model_reg_grad(&m);
    CU_ASSERT_EQUAL(m.grads[1], 0.0f);
    CU_ASSERT_DOUBLE_EQUAL(nn_model_reg_penalty(&m), want, 1e-6);
    nn_model_free(&m);
}

#define SCCE "compile(loss=\"sparse_categorical_crossentropy\", optimizer=\"sgd\")\n"
static void test_gradcheck_dense(void)
{
    gc_model_ok("Dense(5, activation=\"tanh\", input_shape=(4,), kernel_regularizer=l1(0.3), "
                "bias_regularizer=l2(0.7))\n"
                "Dense(3, activation=\"softmax\", kernel_regularizer=l1_l2(l1=0.2, l2=0.4))\n"
                SCCE, 3, 41);
}

static void test_gradcheck_conv(void)
{
    gc_model_ok("Conv2D(3, (2, 2), activation=\"tanh\", input_shape=(4, 4, 2), "
                "kernel_regularizer=l1_l2(l1=0.3, l2=0.5), bias_regularizer=l1(0.2))\n"
                "Conv2DTranspose(2, (2, 2), strides=2, kernel_regularizer=l2(0.4))\n"
                "Flatten()\n"
                "Dense(2, activation=\"sigmoid\", kernel_regularizer=\"l2\")\n"
                "compile(loss=\"binary_crossentropy\", optimizer=\"sgd\")\n", 2, 43);
}

static void test_gradcheck_rnn(void)
{
    gc_model_ok("Embedding(6, 3, input_shape=(4,), embeddings_regularizer=l2(0.3))\n"
                "SimpleRNN(3, kernel_regularizer=l1(0.2), recurrent_regularizer=l2(0.5), "
                "bias_regularizer=l2(0.1))\n"
                "Dense(2, activation=\"softmax\")\n" SCCE, 2, 47);
}

/* Without the penalty's gradient the check must fail: the regularizers are
 * really in both sides of it. */
static void test_gradcheck_sees_the_penalty(void)
{
    gc_result r;
    const char *spec = "Dense(3, activation=\"softmax\", input_shape=(4,), "
                       "kernel_regularizer=l2(5))\n" SCCE;
    int bad = gc_model(spec, 2, 41, GC_TOL, &r);
    CU_ASSERT_EQUAL(bad, 0);
    double a = r.sum_abs_numeric;
    gc_model("Dense(3, activation=\"softmax\", input_shape=(4,))\n" SCCE, 2, 41, GC_TOL, &r);
    CU_ASSERT(a > r.sum_abs_numeric * 1.5);
}

static const char *reg_spec =
    "Conv2D(2, (3, 3), input_shape=(5, 5, 1), kernel_regularizer=l2(1e-4), "
    "bias_regularizer=l1_l2(l1=0.25, l2=0.5))\n"
    "Flatten()\n"
    "Dense(3, kernel_regularizer=l1(0.125))\n"
    "Dense(2, bias_regularizer=\"l2\")\n";

static void expect_same_regs(const nn_model *a, const nn_model *b)
{
    CU_ASSERT_EQUAL_FATAL(a->nlayers, b->nlayers);
    for (int i = 0; i < a->nlayers; i++)
        for (int k = 0; k < NN_REG_ROLES; k++) {
            CU_ASSERT_EQUAL(a->layers[i].reg[k].l1, b->layers[i].reg[k].l1);
            CU_ASSERT_EQUAL(a->layers[i].reg[k].l2, b->layers[i].reg[k].l2);
        }
}

static void test_keras_json_round_trip(void)
{
    nn_model m, m2;
    nn_spec s2;
    nn_error e = {0};
    TU_ASSERT_OK(build(reg_spec, &m, &e), e);
    char *json = nn_model_to_keras_json(&m, reg_spec, &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(json);
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"kernel_regularizer\":{\"class_name\":\"L1L2\","
                                        "\"config\":{\"l1\":0,\"l2\":0.0001}}"));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"bias_regularizer\":null"));
    TU_ASSERT_OK(nn_keras_json_to_spec(json, NULL, "m.json", &s2, &e), e);
    TU_ASSERT_OK(nn_model_build(&m2, &s2, &e), e);
    expect_same_regs(&m, &m2);
    CU_ASSERT_EQUAL(m2.layers[0].reg[NN_REG_KERNEL].l2, 1e-4);
    nn_spec_free(&s2);
    nn_model_free(&m2);
    free(json);

    /* tf.keras 2.x writes L2 / L1 with one key; Keras 2.2 L1L2 with both */
    const char *tf =
        "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"s\", \"layers\": ["
        "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d\", \"units\": 2, "
        "\"batch_input_shape\": [null, 4], "
        "\"kernel_regularizer\": {\"class_name\": \"L2\", \"config\": {\"l2\": 0.01}}, "
        "\"bias_regularizer\": {\"class_name\": \"L1\", \"config\": {\"l1\": 0.5}}}}, "
        "{\"class_name\": \"Dense\", \"config\": {\"name\": \"e\", \"units\": 1, "
        "\"kernel_regularizer\": {\"class_name\": \"L1L2\", \"config\": {\"l1\": 0.0, "
        "\"l2\": 9.999999747378752e-05}}}}]}}";
    TU_ASSERT_OK(nn_keras_json_to_spec(tf, NULL, "tf.json", &s2, &e), e);
    TU_ASSERT_OK(nn_model_build(&m2, &s2, &e), e);
    CU_ASSERT_EQUAL(m2.layers[0].reg[NN_REG_KERNEL].l2, 0.01);
    CU_ASSERT_EQUAL(m2.layers[0].reg[NN_REG_BIAS].l1, 0.5);
    CU_ASSERT_EQUAL(m2.layers[1].reg[NN_REG_KERNEL].l2, 9.999999747378752e-05);
    nn_spec_free(&s2);
    nn_model_free(&m2);
    nn_model_free(&m);
}

static void test_checkpoint_round_trip(void)
{
    nn_model m, m2;
    nn_error e = {0};
    char path[600];
    TU_ASSERT_OK(build(reg_spec, &m, &e), e);
    nn_model_init_params(&m, 3);
    snprintf(path, sizeof path, "%s/reg.h5", tu_tmpdir());
    TU_ASSERT_OK(nn_ckpt_save(path, &m, reg_spec, NULL, NULL, &e), e);
    TU_ASSERT_OK(nn_ckpt_load_model(path, &m2, &e), e);
    expect_same_regs(&m, &m2);
    CU_ASSERT_DOUBLE_EQUAL(nn_model_reg_penalty(&m2), nn_model_reg_penalty(&m), 0);
    CU_ASSERT(nn_model_reg_penalty(&m) > 0);
    nn_model_free(&m2);
    nn_model_free(&m);
    /* Keras-only file (no nntrain group): the model_config carries them */
    TU_ASSERT_OK(build("Dense(3, input_shape=(4,), kernel_regularizer=l1_l2(l1=0.5, l2=0.25))\n"
                       "Dense(1, bias_regularizer=l2(2))\n", &m, &e), e);
    snprintf(path, sizeof path, "%s/reg_keras.h5", tu_tmpdir());
    TU_ASSERT_OK(nn_ckpt_save(path, &m, NULL, NULL, NULL, &e), e);
    TU_ASSERT_OK(nn_ckpt_load_model(path, &m2, &e), e);
    expect_same_regs(&m, &m2);
    CU_ASSERT_EQUAL(m2.layers[1].reg[NN_REG_BIAS].l2, 2);
    nn_model_free(&m2);
    nn_model_free(&m);
}

static void expect_build_err(const char *text, const char *sub1, const char *sub2)
{
    nn_model m;
    nn_error e = {0};
    int rc = build(text, &m, &e);
    CU_ASSERT_EQUAL(rc, NN_EINVAL);
    if (rc == NN_OK) {
        nn_model_free(&m);
        return;
    }
    if (!strstr(e.msg, sub1) || (sub2 && !strstr(e.msg, sub2)))
        fprintf(stderr, "message '%s' lacks '%s' / '%s'\n", e.msg, sub1, sub2 ? sub2 : "");
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, sub1));
    if (sub2)
        CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, sub2));
}

static void test_errors(void)
{
    expect_build_err(D "kernel_regularizer=l2(-0.1))\n",
                     "t.nn:1:50: l2(): kernel_regularizer factor l2 must be >= 0, found -0.1",
                     NULL);
    expect_build_err(D "bias_regularizer=l1_l2(l1=0.1, l2=-2))\n", "factor l2 must be >= 0",
                     NULL);
    expect_build_err(D "kernel_regularizer=l3(0.1))\n",
                     "t.nn:1:47: Dense(): unknown kernel_regularizer 'l3'",
                     "known: l1, l2, l1_l2, L1, L2, L1L2, regularizer_l1");
    expect_build_err(D "kernel_regularizer=\"l22\")\n", "unknown kernel_regularizer 'l22'", NULL);
    expect_build_err(D "kernel_regularizer=0.1)\n", "unknown kernel_regularizer value", NULL);
    expect_build_err(D "kernel_regularizer=l2(0.1, 0.2))\n", "l2()", NULL);
    expect_build_err("Flatten(input_shape=(2, 2), kernel_regularizer=l2(0.1))\n",
                     "t.nn:1:48: Flatten(): kernel_regularizer on a layer without weights", NULL);
    expect_build_err("Dense(2, input_shape=(2,))\nDropout(0.5, bias_regularizer=\"l2\")\n",
                     "Dropout(): bias_regularizer on a layer without weights", NULL);
    expect_build_err(D "recurrent_regularizer=l2(0.1))\n",
                     "Dense 'dense': recurrent_regularizer: the layer has no recurrent_kernel "
                     "weights (it has kernel:0, bias:0)", NULL);
    expect_build_err(D "activity_regularizer=l2(0.1))\n",
                     "argument 'activity_regularizer' is not supported by nntrain", NULL);
}

int main(void)
{
    const tu_test tests[] = {
        {"spellings of Python, R and Keras classes", test_spellings},
        {"penalty and gradient values, frozen layer", test_penalty_value},
        {"gradient check: Dense with l1/l2/l1_l2", test_gradcheck_dense},
        {"gradient check: Conv2D, Conv2DTranspose, Dense", test_gradcheck_conv},
        {"gradient check: Embedding, SimpleRNN", test_gradcheck_rnn},
        {"gradient check includes the penalty", test_gradcheck_sees_the_penalty},
        {"Keras JSON export and import", test_keras_json_round_trip},
        {"checkpoint round trip", test_checkpoint_round_trip},
        {"bad options", test_errors},
        {NULL, NULL}};
    return tu_main("regularizer", tests);
}
