/* Issue 16's Keras names in the spec and the files: compile(loss=...)
 * objects with from_logits, metric objects and their log names, their
 * errors; Rescaling (registry, gradient, values, errors); gelu/swish refused
 * by the recurrent layers; a model with all of them through the Keras JSON
 * and a checkpoint (Nadam's slots and counters, so a resumed run continues
 * bitwise). The numbers themselves are checked against PyTorch in
 * test_golden_names.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "nntrain/checkpoint.h"
#include "nntrain/keras.h"
#include "nntrain/model.h"
#include "nntrain/predict.h"
#include "testutil.h"

extern const nn_layer_ops nn_rescaling_ops;

#define L1 "Dense(4, activation=\"relu\", input_shape=(3,))\nDense(2)\n"
#define L1S "Dense(4, activation=\"relu\", input_shape=(3,))\nDense(2, activation=\"sigmoid\")\n"

static void build_ok(const char *text, nn_model *m)
{
    nn_error e = {0};
    TU_ASSERT_OK(tu_build(text, m, &e), e);
}

/* Building text fails with NN_EINVAL and a message holding n1 (and n2). */
static void build_fails(const char *text, const char *n1, const char *n2)
{
    nn_model m;
    nn_error e = {0};
    int rc = tu_build(text, &m, &e);
    CU_ASSERT_EQUAL(rc, NN_EINVAL);
    if (rc == NN_OK)
        nn_model_free(&m);
    if (!tu_contains(e.msg, n1) || (n2 && !tu_contains(e.msg, n2)))
        fprintf(stderr, "  expected '%s' / '%s' in '%s'\n", n1, n2 ? n2 : "", e.msg);
    CU_ASSERT(tu_contains(e.msg, n1));
    if (n2)
        CU_ASSERT(tu_contains(e.msg, n2));
}

static void test_loss_objects(void)
{
    nn_model m;
    build_ok(L1 "compile(loss=losses.BinaryCrossentropy(from_logits=True))\n", &m);
    CU_ASSERT_EQUAL(m.loss, NN_LOSS_BCE);
    CU_ASSERT(m.from_logits);
    CU_ASSERT_EQUAL(m.fused, NN_OUT_LOGITS);
    CU_ASSERT(!m.layers[1].dy_is_preact);
    nn_model_free(&m);
    build_ok(L1 "compile(loss=tf.keras.losses.CategoricalCrossentropy(from_logits=True, "
                "label_smoothing=0.0, axis=-1, reduction=\"auto\", name=\"cce\"))\n", &m);
    CU_ASSERT(m.loss == NN_LOSS_CCE && m.from_logits && m.fused == NN_OUT_LOGITS);
    nn_model_free(&m);
    build_ok(L1 "compile(loss=SparseCategoricalCrossentropy(True))\n", &m);
    CU_ASSERT(m.loss == NN_LOSS_SCCE && m.from_logits);
    nn_model_free(&m);
    build_ok(L1 "compile(loss = loss_sparse_categorical_crossentropy(from_logits = TRUE))\n",
             &m);
    CU_ASSERT(m.loss == NN_LOSS_SCCE && m.from_logits);
    nn_model_free(&m);
    /* from_logits=False is the plain loss, fused with a final sigmoid */
    build_ok(L1S "compile(loss=BinaryCrossentropy())\n", &m);
    CU_ASSERT(m.loss == NN_LOSS_BCE && !m.from_logits && m.fused == NN_OUT_FUSED);
    nn_model_free(&m);
    build_ok(L1 "compile(loss=keras.losses.MeanSquaredError())\n", &m);
    CU_ASSERT(m.loss == NN_LOSS_MSE && !m.from_logits && m.fused == NN_OUT_PROBS);
    nn_model_free(&m);
    /* a final sigmoid with from_logits stays in the model (train warns) */
    build_ok(L1S "compile(loss=BinaryCrossentropy(from_logits=True))\n", &m);
    CU_ASSERT(m.fused == NN_OUT_LOGITS && !m.layers[1].dy_is_preact);
    nn_model_free(&m);
}

static void test_loss_object_errors(void)
{
    build_fails(L1 "compile(loss=BinaryCrossentropy(from_logit=True))\n", "t.nn:3:",
                "from_logit");
    build_fails(L1 "compile(loss=CategoricalCrossentropy(label_smoothing=0.1))\n",
                "label_smoothing", "not supported");
    build_fails(L1 "compile(loss=BinaryCrossentropy(axis=1))\n", "axis", NULL);
    build_fails(L1 "compile(loss=BinaryCrossentropy(reduction=\"sum\"))\n", "reduction", "sum");
    build_fails(L1 "compile(loss=SparseCategoricalCrossentropy(ignore_class=0))\n",
                "ignore_class", NULL);
    build_fails(L1 "compile(loss=MeanSquaredError(from_logits=True))\n", "from_logits",
                "MeanSquaredError");
    build_fails(L1 "compile(loss=Hinge())\n", "unknown loss Hinge()", "BinaryCrossentropy");
    build_fails(L1 "compile(loss=3)\n", "loss must be a name", NULL);
}

static void test_metric_objects(void)
{
    nn_model m;
    build_ok(L1S "compile(loss=\"binary_crossentropy\", metrics=[\"AUC\", metrics.AUC(), "
                 "tf.keras.metrics.Precision(), \"recall\", Recall(name=\"rec\"), "
                 "\"accuracy\"])\n", &m);
    CU_ASSERT_EQUAL(m.nmetrics, 6);
    static const nn_metric kinds[] = {NN_MET_AUC, NN_MET_AUC, NN_MET_PRECISION, NN_MET_RECALL,
                                      NN_MET_RECALL, NN_MET_BINARY_ACC};
    static const char *const names[] = {"auc", "auc", "precision", "recall", "rec",
                                        "accuracy"};
    for (int i = 0; i < 6 && i < m.nmetrics; i++) {
        CU_ASSERT_EQUAL(m.metrics[i], kinds[i]);
        CU_ASSERT_STRING_EQUAL(m.metric_names[i], names[i]);
    }
    CU_ASSERT_EQUAL(m.metric_sums, 2 * 402 + 3 * 2 + 1);
    nn_model_free(&m);
    build_ok(L1 "compile(loss=\"mse\", metrics=[AUC(num_thresholds=200, curve=\"ROC\", "
                "summation_method=\"interpolation\", multi_label=False), "
                "Precision(thresholds=0.5)])\n", &m);
    CU_ASSERT_EQUAL(m.nmetrics, 2);
    nn_model_free(&m);
    build_fails(L1 "compile(loss=\"mse\", metrics=[AUC(num_thresholds=100)])\n",
                "num_thresholds", "200");
    build_fails(L1 "compile(loss=\"mse\", metrics=[AUC(curve=\"PR\")])\n", "curve", "ROC");
    build_fails(L1 "compile(loss=\"mse\", metrics=[AUC(multi_label=True)])\n", "multi_label",
                NULL);
    build_fails(L1 "compile(loss=\"mse\", metrics=[Precision(thresholds=0.7)])\n",
                "thresholds", "0.5");
    build_fails(L1 "compile(loss=\"mse\", metrics=[Recall(top_k=2)])\n", "top_k", NULL);
    build_fails(L1 "compile(loss=\"mse\", metrics=[Recall(treshold=0.5)])\n", "treshold",
                NULL);
    build_fails(L1 "compile(loss=\"mse\", metrics=[F1Score()])\n", "unknown metric F1Score()",
                "AUC, Precision, Recall");
    build_fails(L1 "compile(loss=\"mse\", metrics=[\"AUC\", \"AUC\", \"AUC\"])\n",
                "at most 1024", "402");
}

/* Hand-made counts: a perfect ranking has AUC 1, a reversed one 0, ties at
 * one value 0.5; precision and recall with nothing positive are 0. */
static void test_metric_values(void)
{
    float p[6] = {0.9f, 0.8f, 0.7f, 0.3f, 0.2f, 0.1f}, y[6] = {1, 1, 1, 0, 0, 0};
    float r[6] = {0, 0, 0, 1, 1, 1}, tie[6] = {0.4f, 0.4f, 0.4f, 0.4f, 0.4f, 0.4f};
    double acc[NN_METRIC_MAX_SUMS] = {0};
    nn_metric_add(NN_MET_AUC, p, y, 6, 1, 1, 0, acc);
    CU_ASSERT_DOUBLE_EQUAL(nn_metric_value(NN_MET_AUC, acc, 6), 1.0, 1e-12);
    memset(acc, 0, sizeof acc);
    nn_metric_add(NN_MET_AUC, p, r, 6, 1, 1, 0, acc);
    CU_ASSERT_DOUBLE_EQUAL(nn_metric_value(NN_MET_AUC, acc, 6), 0.0, 1e-12);
    memset(acc, 0, sizeof acc);
    nn_metric_add(NN_MET_AUC, tie, y, 6, 1, 1, 0, acc);
    CU_ASSERT_DOUBLE_EQUAL(nn_metric_value(NN_MET_AUC, acc, 6), 0.5, 1e-12);
    /* 0.7 > 0.5 counts, 0.5 itself does not (Keras: p > threshold) */
    float q[4] = {0.7f, 0.5f, 0.6f, 0.2f}, t[4] = {1, 1, 0, 1};
    memset(acc, 0, sizeof acc);
    nn_metric_add(NN_MET_PRECISION, q, t, 4, 1, 1, 0, acc);
    CU_ASSERT_DOUBLE_EQUAL(nn_metric_value(NN_MET_PRECISION, acc, 4), 0.5, 1e-12);
    memset(acc, 0, sizeof acc);
    nn_metric_add(NN_MET_RECALL, q, t, 4, 1, 1, 0, acc);
    CU_ASSERT_DOUBLE_EQUAL(nn_metric_value(NN_MET_RECALL, acc, 4), 1.0 / 3, 1e-12);
    /* logits: 0.2 -> sigmoid 0.55 is a positive prediction; -0.2 is not */
    float z[2] = {0.2f, -0.2f}, tz[2] = {1, 1};
    memset(acc, 0, sizeof acc);
    nn_metric_add(NN_MET_RECALL, z, tz, 2, 1, 1, 1, acc);
    CU_ASSERT_DOUBLE_EQUAL(nn_metric_value(NN_MET_RECALL, acc, 2), 0.5, 1e-12);
    memset(acc, 0, sizeof acc);
    nn_metric_add(NN_MET_BINARY_ACC, z, tz, 2, 1, 1, 1, acc);
    CU_ASSERT_DOUBLE_EQUAL(acc[0], 1.0, 0);
    float none[2] = {0.1f, 0.2f}, zero[2] = {0, 0};
    memset(acc, 0, sizeof acc);
    nn_metric_add(NN_MET_PRECISION, none, zero, 2, 1, 1, 0, acc);
    CU_ASSERT(nn_metric_value(NN_MET_PRECISION, acc, 2) == 0.0);
    /* labels for K > 1 outputs are one-hot: label 1 of 3 */
    float o3[3] = {0.2f, 0.9f, 0.6f}, lab = 1;
    memset(acc, 0, sizeof acc);
    nn_metric_add(NN_MET_PRECISION, o3, &lab, 1, 3, 1, 0, acc);
    CU_ASSERT(acc[0] == 1 && acc[1] == 1);
    CU_ASSERT_STRING_EQUAL(nn_metric_log_name(NN_MET_AUC), "auc");
    CU_ASSERT_PTR_NULL(nn_metric_log_name(NN_MET_CAT_ACC));
}

static void test_rescaling(void)
{
    CU_ASSERT_PTR_EQUAL(nn_layer_find("Rescaling"), &nn_rescaling_ops);
    CU_ASSERT_PTR_EQUAL(nn_layer_find("layer_rescaling"), &nn_rescaling_ops);
    gc_layer_ok("Rescaling(1/255)", nn_shape3(3, 4, 2), 2, 0, 1);
    gc_layer_ok("Rescaling(scale=-2.5, offset=1)", nn_shape1(7), 3, 0, 2);
    nn_layer l;
    nn_error e = {0};
    TU_ASSERT_OK(tu_make_planned("Rescaling(scale=0.5, offset=-1)", nn_shape1(3), 2, &l, NULL,
                                 &e), e);
    CU_ASSERT_EQUAL(l.param_len, 0);
    CU_ASSERT(nn_shape_eq(&l.out, &l.in));
    float x[3] = {0, 2, 4}, y[3];
    nn_ctx ctx = {0};
    l.ops->forward(&l, NULL, x, y, 1, &ctx);
    CU_ASSERT(y[0] == -1 && y[1] == 0 && y[2] == 1);
    nn_layer_destroy(&l);
    nn_model m;
    build_ok("Rescaling(1/255, input_shape=(4, 4, 1))\nFlatten()\nDense(2)\n", &m);
    CU_ASSERT_EQUAL(m.nparams, 34);
    CU_ASSERT_STRING_EQUAL(m.layers[0].name, "rescaling");
    nn_model_free(&m);
    build_fails("Rescaling(input_shape=(3,))\nDense(1)\n", "needs a scale", "Rescaling(1/255)");
    build_fails("Rescaling(\"x\", input_shape=(3,))\nDense(1)\n", "scale", "number");
    build_fails("Rescaling(1, offset=1e39, input_shape=(3,))\nDense(1)\n", "offset", "finite");
    build_fails("Rescaling(1, bias=1, input_shape=(3,))\nDense(1)\n", "bias", NULL);
}

static void test_recurrent_refuses(void)
{
    build_fails("SimpleRNN(4, activation=\"gelu\", input_shape=(3, 2))\n", "gelu",
                "recurrent");
    build_fails("LSTM(4, recurrent_activation=\"swish\", input_shape=(3, 2))\n", "swish",
                "recurrent");
    nn_model m;
    build_ok("SimpleRNN(4, activation=\"selu\", input_shape=(3, 2))\n", &m);   /* from y */
    nn_model_free(&m);
    build_ok("Dense(3, activation=\"silu\", input_shape=(2,))\n", &m);   /* alias of swish */
    CU_ASSERT_EQUAL(m.layers[0].act, NN_ACT_SWISH);
    nn_model_free(&m);
}

/* One model of every new name through the Keras JSON and a checkpoint. */
static const char *NAMES_SPEC =
    "Rescaling(scale=1/255, offset=-0.5, input_shape=(4, 4, 1))\n"
    "Conv2D(3, (3, 3), activation=\"gelu\")\n"
    "Flatten()\n"
    "Dense(6, activation=\"swish\")\n"
    "Activation(\"selu\")\n"
    "Dense(1)\n"
    "compile(loss=BinaryCrossentropy(from_logits=True), "
    "optimizer=Nadam(learning_rate=0.01, schedule_decay=0.01), "
    "metrics=[\"AUC\", \"precision\", \"recall\", \"accuracy\"])\n";

/* n steps of full-batch training on fixed data. */
static void steps(nn_model *m, int n)
{
    enum { B = 5 };
    float x[B * 16], y[B] = {1, 0, 0, 1, 1}, d[B];
    nn_ctx ctx = {.training = 1};
    nn_error e = {0};
    tu_fill_uniform(x, B * 16, 3, 0.0f, 255.0f);
    TU_ASSERT_OK(nn_model_plan(m, B, &e), e);
    for (int s = 0; s < n; s++) {
        const float *out = nn_model_forward(m, x, B, &ctx);
        nn_loss_eval(m->loss, out, y, B, 1, 1, m->fused, 1.0f / B, d);
        memset(m->grads, 0, m->nparams * sizeof *m->grads);
        nn_model_backward(m, x, d, B, &ctx);
        nn_model_update(m);
    }
}

static void test_roundtrip(void)
{
    nn_model m, m2, m3;
    nn_spec s;
    nn_error e = {0};
    build_ok(NAMES_SPEC, &m);
    nn_model_init_params(&m, 5);
    TU_ASSERT_OK(nn_optim_alloc(&m.optim, m.nparams, &e), e);
    steps(&m, 3);

    /* Keras JSON: model_config and training_config, back to a model */
    char *json = nn_model_to_keras_json(&m, NAMES_SPEC, &e);
    char *tc = nn_model_training_config_json(&m, &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tc);
    CU_ASSERT(tu_contains(json, "\"class_name\":\"Rescaling\""));
    CU_ASSERT(tu_contains(json, "\"activation\":\"gelu\""));
    CU_ASSERT(tu_contains(tc, "\"from_logits\":true"));
    CU_ASSERT(tu_contains(tc, "\"class_name\":\"Nadam\""));
    CU_ASSERT(tu_contains(tc, "\"decay\":0.01"));   /* tf.keras keeps schedule_decay there */
    TU_ASSERT_OK(nn_keras_json_to_spec(json, tc, "m.json", &s, &e), e);
    TU_ASSERT_OK(nn_model_build(&m2, &s, &e), e);
    nn_spec_free(&s);
    CU_ASSERT_EQUAL(m2.nlayers, m.nlayers);
    for (int i = 0; i < m.nlayers && i < m2.nlayers; i++) {
        CU_ASSERT_PTR_EQUAL(m2.layers[i].ops, m.layers[i].ops);
        CU_ASSERT_EQUAL(m2.layers[i].act, m.layers[i].act);
    }
    CU_ASSERT(m2.loss == NN_LOSS_BCE && m2.from_logits && m2.fused == NN_OUT_LOGITS);
    CU_ASSERT(m2.optim.kind == NN_OPT_NADAM && m2.optim.lr == 0.01 &&
              m2.optim.schedule_decay == 0.01);
    CU_ASSERT_EQUAL(m2.nmetrics, 4);
    CU_ASSERT(m2.nmetrics == 4 && m2.metrics[0] == NN_MET_AUC && m2.metrics[2] == NN_MET_RECALL);
    nn_model_free(&m2);
    free(json);
    free(tc);

    /* checkpoint: Nadam's slots and iterations; both continue bitwise */
    char path[512];
    snprintf(path, sizeof path, "%s/names.h5", tu_tmpdir());
    nn_train_state st = {0};
    TU_ASSERT_OK(nn_ckpt_save(path, &m, NAMES_SPEC, &st, NULL, &e), e);
    TU_ASSERT_OK(nn_ckpt_load_model(path, &m3, &e), e);
    CU_ASSERT(m3.from_logits && m3.optim.kind == NN_OPT_NADAM);
    TU_ASSERT_OK(nn_optim_alloc(&m3.optim, m3.nparams, &e), e);
    TU_ASSERT_OK(nn_ckpt_load_state(path, &m3, NULL, NULL, &e), e);
    CU_ASSERT_EQUAL(m3.optim.iterations, 3);
    CU_ASSERT(memcmp(m3.optim.slot[1], m.optim.slot[1], m.nparams * sizeof(float)) == 0);
    steps(&m, 2);
    steps(&m3, 2);
    CU_ASSERT(memcmp(m3.params, m.params, m.nparams * sizeof(float)) == 0);
    nn_model_free(&m3);
    nn_model_free(&m);
}

/* predict on a from_logits model gives probabilities: the softmax (CCE) or
 * sigmoid (BCE) of the forward pass's logits. */
static void test_predict_logits(void)
{
    static const char *const specs[] = {
        "Dense(4, activation=\"relu\", input_shape=(3,))\nDense(3)\n"
        "compile(loss=SparseCategoricalCrossentropy(from_logits=True))\n",
        "Dense(4, activation=\"relu\", input_shape=(3,))\nDense(1)\n"
        "compile(loss=BinaryCrossentropy(from_logits=True))\n"};
    enum { N = 5 };
    float x[N * 3], y[N] = {0, 1, 2, 1, 0}, out[N * 3];
    tu_fill_uniform(x, N * 3, 9, -2.0f, 2.0f);
    for (int k = 0; k < 2; k++) {
        nn_model m;
        nn_dataset ds;
        nn_dist d;
        nn_error e = {0};
        build_ok(specs[k], &m);
        nn_model_init_params(&m, 3 + (uint64_t)k);
        int K = (int)nn_model_out_size(&m);
        nn_dist_single(&d);
        TU_ASSERT_OK(nn_memory_open(&ds, x, y, N, nn_shape1(3), 1, 3, "memory", &e), e);
        TU_ASSERT_OK(nn_predict(&m, &ds, N, 2, &d, out, &e), e);
        TU_ASSERT_OK(nn_model_plan(&m, N, &e), e);
        nn_ctx ctx = {0};
        const float *z = nn_model_forward(&m, x, N, &ctx);
        for (int b = 0; b < N; b++) {
            double S = 0;
            for (int j = 0; j < K; j++)
                S += exp(z[b * K + j]);
            for (int j = 0; j < K; j++) {
                double want = K == 1 ? 1 / (1 + exp(-z[b])) : exp(z[b * K + j]) / S;
                CU_ASSERT_DOUBLE_EQUAL(out[b * K + j], want, 1e-6);
            }
        }
        nn_data_close(&ds);
        nn_model_free(&m);
    }
}

int main(void)
{
    static const tu_test tests[] = {
        {"loss objects and from_logits", test_loss_objects},
        {"loss object errors", test_loss_object_errors},
        {"metric objects, log names, errors", test_metric_objects},
        {"AUC/precision/recall by hand", test_metric_values},
        {"Rescaling", test_rescaling},
        {"recurrent layers refuse gelu/swish", test_recurrent_refuses},
        {"Keras JSON and checkpoint round trip (Nadam resumes bitwise)", test_roundtrip},
        {"predict on from_logits models gives probabilities", test_predict_logits},
        {NULL, NULL},
    };
    return tu_main("names", tests);
}
