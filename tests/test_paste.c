/* Keras scripts pasted as they are (src/spec/paste.c, model_build.c): each
 * family's statement forms become the same calls a hand-written spec has,
 * with the notes for what is skipped or ignored; variables and arithmetic in
 * numbers; lines that are not part of a model refused all at once; the
 * model built from them (fit numbers, seed, ModelCheckpoint, class-style
 * losses); and "did you mean" in the script's spelling. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nntrain/model.h"
#include "nntrain/spec.h"
#include "testutil.h"

static void parse_ok(const char *text, const char *path, nn_spec *s)
{
    nn_error e = {0};
    TU_ASSERT_OK(nn_spec_parse(text, path, s, &e), e);
}

/* The calls' names joined by spaces, to compare with one string. */
static const char *fns(const nn_spec *s, char *buf, size_t len)
{
    buf[0] = 0;
    for (int i = 0; i < s->ncalls; i++)
        snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", i ? " " : "", s->calls[i].fn);
    return buf;
}

static int has_note(const nn_spec *s, const char *text)
{
    for (int i = 0; i < s->nnotes; i++)
        if (!strcmp(s->notes[i], text))
            return 1;
    fprintf(stderr, "  no note \"%s\"; notes:\n", text);
    for (int i = 0; i < s->nnotes; i++)
        fprintf(stderr, "    %s\n", s->notes[i]);
    return 0;
}

/* Builds text as path; asserts failure with a message containing needle
 * (and needle2 unless NULL). */
static void build_fails(const char *text, const char *path, const char *needle,
                        const char *needle2)
{
    nn_spec s;
    nn_model m;
    nn_error e = {0};
    int rc = nn_spec_parse(text, path, &s, &e);
    if (!rc) {
        rc = nn_model_build(&m, &s, &e);
        nn_spec_free(&s);
        if (!rc)
            nn_model_free(&m);
    }
    CU_ASSERT_NOT_EQUAL(rc, NN_OK);
    if (!tu_contains(e.msg, needle) || (needle2 && !tu_contains(e.msg, needle2)))
        fprintf(stderr, "  expected \"%s\" / \"%s\" in: %s\n", needle, needle2 ? needle2 : "",
                e.msg);
    CU_ASSERT(tu_contains(e.msg, needle));
    if (needle2)
        CU_ASSERT(tu_contains(e.msg, needle2));
}

static const char *const kerasr =
    "library(kerasR)\n"
    "set.seed(12345)\n"
    "mod <- Sequential()\n"
    "mod$add(Dense(100, input_shape = c(1)))\n"
    "mod$add(Activation(\"relu\"))\n"
    "mod$add(Dense(120))\n"
    "mod$add(Activation(\"relu\"))\n"
    "mod$add(Dense(1))\n"
    "keras_compile(mod, loss = 'mse', optimizer = RMSprop())\n"
    "callbacks <- list(ModelCheckpoint(\"best.h5\", save_best_only = TRUE),\n"
    "                  EarlyStopping(patience = 5))\n"
    "keras_fit(mod, X, Y, validation_data = list(valX, valY),\n"
    "          batch_size = 100, epochs = 25, callbacks = callbacks, verbose = 1)\n";

static void test_kerasr(void)
{
    nn_spec s;
    char b[512];
    parse_ok(kerasr, "k.R", &s);
    CU_ASSERT(s.r_lang);
    CU_ASSERT_STRING_EQUAL(fns(&s, b, sizeof b),
                           "set.seed Sequential Dense Activation Dense Activation Dense "
                           "compile fit");
    /* the model argument is dropped, the data ones too */
    CU_ASSERT_EQUAL(s.calls[7].nargs, 2);
    CU_ASSERT_STRING_EQUAL(s.calls[7].keys[0], "loss");
    CU_ASSERT(has_note(&s, "k.R:1: skipped library(kerasR): nntrain needs no imports"));
    CU_ASSERT(!has_note(&s, "k.R:11: EarlyStopping(...) ignored"));   /* it is run */
    CU_ASSERT(has_note(&s, "k.R:12: validation_data=list(valX, valY) ignored: use --val FILE"));
    CU_ASSERT(has_note(&s, "k.R:12: X, Y ignored: the data comes from --data"));
    CU_ASSERT_EQUAL(s.nnotes, 3);
    /* notes in line order */
    for (int i = 1; i < s.nnotes; i++)
        CU_ASSERT(atoi(s.notes[i] + 4) >= atoi(s.notes[i - 1] + 4));

    nn_model m;
    nn_error e = {0};
    TU_ASSERT_OK(nn_model_build(&m, &s, &e), e);
    CU_ASSERT_EQUAL(m.nparams, 12441);   /* DESIGN.md's sqrt regression */
    CU_ASSERT_EQUAL(m.fit.batch_size, 100);
    CU_ASSERT_EQUAL(m.fit.epochs, 25);
    CU_ASSERT_EQUAL(m.fit.seed, 12345);
    CU_ASSERT_STRING_EQUAL(m.fit.ckpt.path, "best.h5");
    CU_ASSERT_STRING_EQUAL(m.fit.ckpt.monitor, "val_loss");
    CU_ASSERT_STRING_EQUAL(m.fit.ckpt.mode, "auto");
    CU_ASSERT_EQUAL(m.fit.ckpt.save_best_only, 1);
    CU_ASSERT_EQUAL(m.fit.ckpt.period, 1);
    CU_ASSERT(m.fit.cb.es.enabled);
    CU_ASSERT_EQUAL(m.fit.cb.es.patience, 5);
    CU_ASSERT_STRING_EQUAL(m.fit.cb.es.monitor, "val_loss");
    CU_ASSERT_EQUAL(m.loss, NN_LOSS_MSE);
    CU_ASSERT_EQUAL(m.optim.kind, NN_OPT_RMSPROP);
    nn_model_free(&m);
    nn_spec_free(&s);
}

static void test_r_pipes(void)
{
    nn_spec s;
    char b[512];
    parse_ok("library(keras)\n"
             "batch_size <- 128\n"
             "num_classes <- 10\n"
             "model <- keras_model_sequential() %>%\n"
             "  layer_dense(units = 256, activation = 'relu', input_shape = c(28^2)) %>%\n"
             "  # a comment between the stages\n"
             "  layer_dropout(rate = 0.4)\n"
             "model %>% layer_dense(units = num_classes, activation = 'softmax')\n"
             "summary(model)\n"
             "model %>% compile(loss = 'categorical_crossentropy',\n"
             "  optimizer = optimizer_rmsprop(lr = 0.001), metrics = c('accuracy'))\n"
             "history <- model %>% fit(x_train, y_train, batch_size = batch_size,\n"
             "  epochs = 12, validation_split = 0.2,\n"
             "  callbacks = list(callback_model_checkpoint('cnn.h5', monitor = 'val_accuracy',\n"
             "                   mode = 'max', period = 2), callback_tensorboard('logs')))\n"
             "plot(history)\n",
             "p.R", &s);
    CU_ASSERT(s.r_lang);
    CU_ASSERT_STRING_EQUAL(fns(&s, b, sizeof b), "keras_model_sequential layer_dense "
                           "layer_dropout layer_dense compile fit");
    CU_ASSERT(has_note(&s, "p.R:9: skipped summary(model): nntrain summary and train print "
                           "the model"));
    CU_ASSERT(has_note(&s, "p.R:12: x_train, y_train ignored: the data comes from --data"));
    CU_ASSERT(has_note(&s, "p.R:15: callback_tensorboard(...) ignored: nntrain runs "
                           "ModelCheckpoint, EarlyStopping, ReduceLROnPlateau, CSVLogger and "
                           "TerminateOnNaN"));
    CU_ASSERT(has_note(&s, "p.R:16: skipped plot(history): train writes the history to "
                           "OUT/history.csv"));
    nn_model m;
    nn_error e = {0};
    TU_ASSERT_OK(nn_model_build(&m, &s, &e), e);
    CU_ASSERT_EQUAL(m.in_shape.d[0], 784);
    CU_ASSERT_EQUAL(m.nparams, 784 * 256 + 256 + 2570);
    CU_ASSERT_EQUAL(m.fit.batch_size, 128);
    CU_ASSERT_EQUAL(m.fit.epochs, 12);
    CU_ASSERT_DOUBLE_EQUAL(m.fit.validation_split, 0.2, 1e-12);
    CU_ASSERT_STRING_EQUAL(m.fit.ckpt.path, "cnn.h5");
    CU_ASSERT_STRING_EQUAL(m.fit.ckpt.monitor, "val_accuracy");
    CU_ASSERT_STRING_EQUAL(m.fit.ckpt.mode, "max");
    CU_ASSERT_EQUAL(m.fit.ckpt.period, 2);
    CU_ASSERT_EQUAL(m.fit.ckpt.save_best_only, 0);
    nn_model_free(&m);
    nn_spec_free(&s);
}

static void test_python_keras(void)
{
    nn_spec s;
    char b[512];
    parse_ok("from keras.models import Sequential\n"
             "from keras import (layers, models,\n"
             "    optimizers, losses, metrics)\n"
             "import numpy as np\n"
             "np.random.seed(3)\n"
             "batch_size = 32\n"
             "model = models.Sequential()\n"
             "model.add(layers.Dense(16, activation='relu', input_shape=(10000,)))\n"
             "model.add(layers.Dense(1, activation='sigmoid'))\n"
             "model.compile(optimizer=optimizers.RMSprop(lr=0.001),\n"
             "              loss=losses.binary_crossentropy,\n"
             "              metrics=[metrics.binary_accuracy])\n"
             "model.summary()\n"
             "history = model.fit(x_train, y_train, epochs=5, batch_size=batch_size,\n"
             "                    validation_data=(x_val, y_val))\n",
             "m.py", &s);
    CU_ASSERT(!s.r_lang);
    CU_ASSERT_STRING_EQUAL(fns(&s, b, sizeof b), "set.seed Sequential Dense Dense compile fit");
    /* a bare dotted name is its last component, and keeps what was written */
    const nn_value *loss = &s.calls[4].vals[1];
    CU_ASSERT_EQUAL(loss->kind, NN_V_STR);
    CU_ASSERT_STRING_EQUAL(loss->str, "binary_crossentropy");
    CU_ASSERT_STRING_EQUAL(loss->name, "losses.binary_crossentropy");
    CU_ASSERT(has_note(&s, "m.py:2: skipped from keras import (layers, models,: nntrain "
                           "needs no imports"));
    CU_ASSERT(has_note(&s, "m.py:13: skipped model.summary(): nntrain summary and train "
                           "print the model"));
    CU_ASSERT(has_note(&s, "m.py:15: validation_data=(x_val, y_val) ignored: use --val FILE"));
    CU_ASSERT(has_note(&s, "m.py:14: x_train, y_train ignored: the data comes from --data"));
    nn_model m;
    nn_error e = {0};
    TU_ASSERT_OK(nn_model_build(&m, &s, &e), e);
    CU_ASSERT_EQUAL(m.nparams, 10000 * 16 + 16 + 17);
    CU_ASSERT_EQUAL(m.fit.batch_size, 32);
    CU_ASSERT_EQUAL(m.fit.epochs, 5);
    CU_ASSERT_EQUAL(m.fit.seed, 3);
    CU_ASSERT_EQUAL(m.loss, NN_LOSS_BCE);
    CU_ASSERT_STRING_EQUAL(m.metric_names[0], "binary_accuracy");
    CU_ASSERT_EQUAL(m.fit.ckpt.path[0], 0);
    nn_model_free(&m);
    nn_spec_free(&s);
}

static void test_tf_keras(void)
{
    nn_spec s;
    char b[512];
    parse_ok("import tensorflow as tf\n"
             "model = tf.keras.Sequential([\n"
             "    tf.keras.Input((4,)),\n"
             "    tf.keras.layers.Dense(10, activation=tf.nn.relu),\n"
             "    tf.keras.layers.Dense(10, activation=tf.keras.activations.tanh),\n"
             "    tf.keras.layers.Dense(3, activation='softmax')\n"
             "], name='iris')\n"
             "model.compile(optimizer='adam',\n"
             "              loss=tf.keras.losses.SparseCategoricalCrossentropy(),\n"
             "              metrics=[tf.keras.metrics.SparseCategoricalAccuracy()])\n"
             "model.fit(x_train, y_train, epochs=5,\n"
             "          callbacks=[tf.keras.callbacks.ModelCheckpoint(filepath='b.h5',\n"
             "                     save_freq='epoch')])\n",
             "t.py", &s);
    CU_ASSERT_STRING_EQUAL(fns(&s, b, sizeof b), "Sequential Input Dense Dense Dense compile fit");
    CU_ASSERT_EQUAL(s.calls[2].line, 4);   /* each layer keeps its own line */
    nn_model m;
    nn_error e = {0};
    TU_ASSERT_OK(nn_model_build(&m, &s, &e), e);
    CU_ASSERT_STRING_EQUAL(m.name, "iris");
    CU_ASSERT_EQUAL(m.nparams, 50 + 110 + 33);
    CU_ASSERT_EQUAL(m.layers[0].act, NN_ACT_RELU);
    CU_ASSERT_EQUAL(m.layers[1].act, NN_ACT_TANH);
    CU_ASSERT_EQUAL(m.loss, NN_LOSS_SCCE);
    CU_ASSERT_STRING_EQUAL(m.metric_names[0], "sparse_categorical_accuracy");
    CU_ASSERT_EQUAL(m.optim.kind, NN_OPT_ADAM);
    CU_ASSERT_STRING_EQUAL(m.fit.ckpt.path, "b.h5");
    nn_model_free(&m);
    nn_spec_free(&s);
}

static int num(const nn_value *v, double x, int is_int)
{
    int ok = v->kind == NN_V_NUM && v->num == x && v->is_int == is_int;
    if (!ok)
        fprintf(stderr, "  expected %g (is_int %d), found kind %d %g (is_int %d)\n", x, is_int,
                v->kind, v->num, v->is_int);
    return ok;
}

static void test_arithmetic_and_variables(void)
{
    nn_spec s;
    parse_ok("side <- 28\n"
             "f(c(28^2), 28 * 28, 2**3, 1/255, 2 + 3 * 4, 2^3^2, 10 - 4 - 3, side * side,\n"
             "  (side, side, 1), 1.5 * 2, 7 / 7)\n",
             "a.R", &s);
    const nn_call *c = &s.calls[0];
    CU_ASSERT_EQUAL_FATAL(c->nargs, 11);
    CU_ASSERT(num(&c->vals[0].items[0], 784, 1));
    CU_ASSERT(num(&c->vals[1], 784, 1));
    CU_ASSERT(num(&c->vals[2], 8, 1));
    CU_ASSERT(num(&c->vals[3], 1.0 / 255, 0));
    CU_ASSERT(num(&c->vals[4], 14, 1));
    CU_ASSERT(num(&c->vals[5], 512, 1));
    CU_ASSERT(num(&c->vals[6], 3, 1));
    CU_ASSERT(num(&c->vals[7], 784, 1));
    CU_ASSERT(c->vals[8].kind == NN_V_LIST && num(&c->vals[8].items[1], 28, 1));
    CU_ASSERT(num(&c->vals[9], 3, 0));
    CU_ASSERT(num(&c->vals[10], 1, 0));   /* a quotient is a float, as in Python 3 */
    CU_ASSERT_EQUAL(c->vals[7].line, 2);
    CU_ASSERT_EQUAL(c->vals[7].col, 64);
    nn_spec_free(&s);

    nn_error e = {0};
    CU_ASSERT_EQUAL(nn_spec_parse("f(2 * \"a\")", "a.py", &s, &e), NN_EFORMAT);
    CU_ASSERT(tu_contains(e.msg, "a.py:1:7: expected a number after '*'"));
    CU_ASSERT_EQUAL(nn_spec_parse("f(1e300 * 1e300)", "a.py", &s, &e), NN_EFORMAT);
    CU_ASSERT(tu_contains(e.msg, "the product is out of range"));
    /* a variable that was never set is a word without quotes, in fit() too */
    CU_ASSERT_EQUAL(nn_spec_parse("Dense(units=bs)", "a.py", &s, &e), NN_EFORMAT);
    CU_ASSERT(tu_contains(e.msg, "a.py:1:13: expected a value"));
    CU_ASSERT(tu_contains(e.msg, "found 'bs' (a string needs quotes: \"bs\"; a variable must "
                                 "be set on an earlier line)"));
    CU_ASSERT_EQUAL(nn_spec_parse("fit(x, y, batch_size = bs)", "a.py", &s, &e), NN_EFORMAT);
    CU_ASSERT(tu_contains(e.msg, "a.py:1:24: expected a value"));
    /* the model variable is not data: x %>% f() needs a model made earlier */
    CU_ASSERT_EQUAL(nn_spec_parse("model %>% layer_dense(units = 1)", "a.R", &s, &e),
                    NN_EFORMAT);
    CU_ASSERT(tu_contains(e.msg, "a.R:1: model %>% ... before any model: start with model <- "
                                 "keras_model_sequential()"));
    CU_ASSERT_EQUAL(nn_spec_parse("model <- keras_model_sequential()\nx %>% layer_dense(1)",
                                  "a.R", &s, &e), NN_EFORMAT);
    CU_ASSERT(tu_contains(e.msg, "a.R:2: this line is not part of a model"));
    /* later assignments replace earlier ones */
    parse_ok("n = 4\nn = n * 2\nDense(n)\n", "a.py", &s);
    CU_ASSERT(num(&s.calls[0].vals[0], 8, 1));
    nn_spec_free(&s);
}

static void test_refused_lines(void)
{
    nn_spec s;
    nn_error e = {0};
    const char *text = "library(keras)\n"
                       "mnist <- dataset_mnist()\n"
                       "x_train <- mnist$train$x\n"
                       "x_train <- array_reshape(x_train, c(nrow(x_train),\n"
                       "                                    784))\n"
                       "x_train <- x_train / 255\n"
                       "model <- keras_model_sequential() %>%\n"
                       "  layer_dense(units = 10, input_shape = c(784))\n"
                       "model %>% evaluate(x_test, y_test)\n";
    CU_ASSERT_EQUAL(nn_spec_parse(text, "d.R", &s, &e), NN_EFORMAT);
    CU_ASSERT_STRING_EQUAL(e.msg, "d.R:2: this line is not part of a model: delete it (the "
                                  "data comes from --data): mnist <- dataset_mnist() (so are "
                                  "lines 3, 4, 6 and 9)");
    CU_ASSERT_PTR_NULL(s.calls);

    static const struct {
        const char *text, *msg;
    } one[] = {
        {"(x_train, y_train), (x_test, y_test) = mnist.load_data()\nDense(1)",
         "t.py:1: this line is not part of a model: delete it (the data comes from --data): "
         "(x_train, y_train), (x_test, y_test) = mnist.load_data()"},
        {"x_train = x_train.reshape((60000, 28 * 28))", "t.py:1: this line is not part"},
        {"x_train /= 255", "t.py:1: this line is not part"},
        {"y = to_categorical(y, 10)", "t.py:1: this line is not part"},
        {"dim(x_train) <- c(60000, 784)", "t.py:1: this line is not part"},
        {"for i in range(3):\n  Dense(1)", "t.py:1: this line is not part"},
        {"model.save('m.h5')", "(train writes OUT/last.h5, and --checkpoint FILE or "
                               "ModelCheckpoint): model.save('m.h5')"},
        {"score = model.evaluate(x_test, y_test)", "(train evaluates on --test"},
        {"model.predict(x)", "(use nntrain predict MODEL.h5)"},
    };
    for (size_t i = 0; i < sizeof one / sizeof one[0]; i++) {
        CU_ASSERT_EQUAL(nn_spec_parse(one[i].text, "t.py", &s, &e), NN_EFORMAT);
        if (!tu_contains(e.msg, one[i].msg))
            fprintf(stderr, "  expected \"%s\" in: %s\n", one[i].msg, e.msg);
        CU_ASSERT(tu_contains(e.msg, one[i].msg));
    }
    /* a model line that is wrong keeps its own message */
    CU_ASSERT_EQUAL(nn_spec_parse("model = Sequential()\nmodel.add(Dense(10,, 2))", "t.py", &s,
                                  &e),
                    NN_EFORMAT);
    CU_ASSERT(tu_contains(e.msg, "t.py:2:20: expected a value"));
}

static void test_skipped_lines(void)
{
    nn_spec s;
    parse_ok("import os\n"
             "print(f'not even a value we read {x}')\n"
             "cat('Test loss:', score$loss, '\\n')\n"
             "plt.plot(history.history['loss'])\n"
             "Dense(1, input_shape=(2,))\n",
             "s.py", &s);
    CU_ASSERT_EQUAL(s.ncalls, 1);
    CU_ASSERT_EQUAL(s.nnotes, 4);
    CU_ASSERT(has_note(&s, "s.py:1: skipped import os: nntrain needs no imports"));
    CU_ASSERT(has_note(&s, "s.py:2: skipped print(f'not even a value we read {x}'): nntrain "
                           "prints its own output"));
    CU_ASSERT(has_note(&s, "s.py:4: skipped plt.plot(history.history['loss']): train writes "
                           "the history to OUT/history.csv"));
    nn_spec_free(&s);
}

static void test_did_you_mean(void)
{
    /* R spelling for R scripts, Keras class names for Python */
    build_fails("model <- keras_model_sequential() %>% layer_dens(units = 1, input_shape = 2)",
                "r.R", "r.R:1:39: unknown layer 'layer_dens': did you mean 'layer_dense'?",
                "(known: layer_dense, layer_conv_2d");
    build_fails("model = Sequential()\nmodel.add(Dens(1, input_shape=(2,)))", "p.py",
                "p.py:2:11: unknown layer 'Dens': did you mean 'Dense'?", "(known: Dense, Conv2D");
    /* kerasR writes Keras class names in R: the other spelling is tried too */
    build_fails("mod <- Sequential()\nmod$add(Dens(1, input_shape = c(2)))", "k.R",
                "did you mean 'Dense'?", "(known: layer_dense");
    build_fails("Dense(1, input_shape=(2,))\ncomplie(loss='mse')", "p.py",
                "did you mean 'compile'?", NULL);
    build_fails("layer_dense(units = 1, input_shape = 2)\n"
                "compile(loss = 'mse', optimizer = optimizer_rmsprp())", "r.R",
                "unknown optimizer 'optimizer_rmsprp': did you mean 'optimizer_rmsprop'?",
                "(known: optimizer_sgd, optimizer_rmsprop");
    build_fails("Dense(1, input_shape=(2,))\ncompile(loss='mse', optimizer=optimizers.RMSpro())",
                "p.py", "unknown optimizer 'RMSpro': did you mean 'RMSprop'?", NULL);
    build_fails("Dense(1, input_shape=(2,))\ncompile(loss='mean_squared_eror')", "p.py",
                "unknown loss 'mean_squared_eror': did you mean 'mean_squared_error'?", NULL);
    build_fails("Dense(1, input_shape=(2,))\ncompile(loss=tf.keras.losses.BinaryCrossentropi())",
                "p.py", "unknown loss BinaryCrossentropi(): did you mean BinaryCrossentropy()?",
                NULL);
    build_fails("Dense(2, input_shape=(2,))\ncompile(loss='mse', metrics=['acuracy'])", "p.py",
                "unknown metric 'acuracy': did you mean 'accuracy'?", NULL);
    build_fails("Dense(2, activation='rleu', input_shape=(2,))", "p.py",
                "unknown activation 'rleu': did you mean 'relu'?", NULL);
    build_fails("Dense(2, activaton='relu', input_shape=(2,))", "p.py",
                "unknown argument 'activaton': did you mean 'activation'?", NULL);
    /* nothing close: no guess */
    build_fails("Dense(1, input_shape=(2,))\nGRU(4)", "p.py", "unknown layer 'GRU' (known:",
                NULL);
}

static void test_callback_errors(void)
{
    const char *m = "Dense(1, input_shape=(2,))\ncompile(loss='mse')\n";
    char text[512];
    static const struct {
        const char *fit, *msg;
    } bad[] = {
        {"fit(callbacks=[ModelCheckpoint('e{epoch:02d}.h5')])",
         "t.py:3:32: ModelCheckpoint(): a file name with {epoch}-style fields is not supported"},
        {"fit(callbacks=[ModelCheckpoint('a.h5', save_freq=100)])",
         "ModelCheckpoint(): save_freq counts batches"},
        {"fit(callbacks=[ModelCheckpoint('a.h5'), ModelCheckpoint('b.h5')])",
         "t.py:3:41: a second ModelCheckpoint"},
        {"fit(callbacks=[ModelCheckpoint()])", "ModelCheckpoint() needs a file name"},
        {"fit(callbacks=[ModelCheckpoint('a.h5', mode='maximum')])", "unknown mode 'maximum'"},
        {"fit(callbacks=['a.h5'])", "fit(): callbacks must be a list of callbacks"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, "%s%s", m, bad[i].fit);
        build_fails(text, "t.py", bad[i].msg, NULL);
    }
    build_fails("Dense(1, input_shape=(2,))\n"
                "compile(loss=BinaryCrossentropy(from_logits=True, label_smoothing=0.1))",
                "t.py", "label_smoothing is not supported", NULL);
    build_fails("Dense(1, input_shape=(2,))\nset.seed(-1)", "t.R",
                "set.seed(): the seed must be a non-negative integer", NULL);
}

/* Keras's own mnist_cnn.py and the R course's generator script, with the
 * lines the refusal names deleted. */
static void test_keras_examples(void)
{
    nn_spec s;
    nn_error e = {0};
    char b[512];
    const char *py = "'''Trains a simple convnet\non the MNIST dataset.'''\n"
                     "from __future__ import print_function\n"
                     "batch_size = 128\n"
                     "img_rows, img_cols = 28, 28\n"
                     "(x_train, y_train), (x_test, y_test) = mnist.load_data()\n"
                     "if K.image_data_format() == 'channels_first':\n"
                     "    input_shape = (1, img_rows, img_cols)\n"
                     "else:\n"
                     "    input_shape = (img_rows, img_cols, 1)\n"
                     "model = Sequential()\n"
                     "model.add(Conv2D(32, kernel_size=(3, 3), input_shape=input_shape))\n";
    CU_ASSERT_EQUAL(nn_spec_parse(py, "c.py", &s, &e), NN_EFORMAT);
    CU_ASSERT(tu_contains(e.msg, "c.py:6: this line is not part of a model"));
    CU_ASSERT(tu_contains(e.msg, "(so are lines 7 and 9)"));
    /* without those lines: the later input_shape (channels_last) wins */
    char text[1024];
    snprintf(text, sizeof text, "%s", py);
    char *cut = strstr(text, "(x_train"), *end = strstr(text, "    input_shape = (1");
    memmove(cut, end, strlen(end) + 1);
    cut = strstr(text, "else:\n");
    memmove(cut, cut + 6, strlen(cut + 6) + 1);
    parse_ok(text, "c.py", &s);
    CU_ASSERT_STRING_EQUAL(fns(&s, b, sizeof b), "Sequential Conv2D");
    CU_ASSERT(s.calls[1].vals[2].kind == NN_V_LIST && s.calls[1].vals[2].n == 3 &&
              s.calls[1].vals[2].items[0].num == 28 && s.calls[1].vals[2].items[2].num == 1);
    CU_ASSERT_EQUAL(s.nnotes, 1);   /* the import; the docstring is a comment */
    nn_spec_free(&s);
    /* a tuple of anything but constants is data */
    CU_ASSERT_EQUAL(nn_spec_parse("a, b = load()\nDense(1)", "c.py", &s, &e), NN_EFORMAT);
    CU_ASSERT(tu_contains(e.msg, "c.py:1: this line is not part of a model"));

    parse_ok("train_dir <- 'data/train'\n"
             "train_datagen <- image_data_generator(rescale = 1/255, horizontal_flip = TRUE)\n"
             "model <- keras_model_sequential() %>% layer_flatten(input_shape = c(8, 8, 3))\n"
             "history <- model %>% fit_generator(train_generator, steps_per_epoch = 100,\n"
             "  epochs = 30, validation_data = validation_generator, validation_steps = 50)\n",
             "g.R", &s);
    CU_ASSERT_STRING_EQUAL(fns(&s, b, sizeof b),
                           "image_data_generator keras_model_sequential layer_flatten fit");
    CU_ASSERT(has_note(&s, "g.R:4: steps_per_epoch=100 ignored: an epoch is one pass over --data"));
    CU_ASSERT(has_note(&s, "g.R:5: validation_steps=50 ignored: validation reads all of --val "
                           "or the validation split"));
    CU_ASSERT(has_note(&s, "g.R:4: train_generator ignored: the data comes from --data"));
    nn_model m;
    TU_ASSERT_OK(nn_model_build(&m, &s, &e), e);
    CU_ASSERT(m.aug.enabled);
    CU_ASSERT_EQUAL(m.fit.epochs, 30);
    nn_model_free(&m);
    nn_spec_free(&s);
}

/* Loss and metric objects as the families write them reach compile():
 * from_logits, class-style and R-prefixed names, AUC() logged as auc. */
static void test_loss_metric_objects(void)
{
    static const struct {
        const char *text, *path;
        nn_loss loss;
        int logits;
        const char *metric;
    } cases[] = {
        {"model = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(3)])\n"
         "model.compile(optimizer='adam', loss=tf.keras.losses.SparseCategoricalCrossentropy("
         "from_logits=True), metrics=[tf.keras.metrics.SparseCategoricalAccuracy()])\n",
         "t.py", NN_LOSS_SCCE, 1, "sparse_categorical_accuracy"},
        {"model <- keras_model_sequential() %>% layer_dense(units = 1, input_shape = c(4))\n"
         "model %>% compile(loss = loss_binary_crossentropy, optimizer = optimizer_nadam(),\n"
         "                  metrics = metric_binary_accuracy)\n",
         "t.R", NN_LOSS_BCE, 0, "binary_accuracy"},
        {"model = models.Sequential()\nmodel.add(layers.Dense(1, activation='sigmoid', "
         "input_shape=(4,)))\nmodel.compile(loss=losses.BinaryCrossentropy, "
         "metrics=[metrics.AUC()])\n", "t.py", NN_LOSS_BCE, 0, "auc"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nn_spec s;
        nn_model m;
        nn_error e = {0};
        int rc = nn_spec_parse(cases[i].text, cases[i].path, &s, &e);
        if (!rc) {
            rc = nn_model_build(&m, &s, &e);
            nn_spec_free(&s);
        }
        if (rc)
            fprintf(stderr, "  case %zu: %s\n", i, e.msg);
        CU_ASSERT_EQUAL_FATAL(rc, NN_OK);
        CU_ASSERT_EQUAL(m.loss, cases[i].loss);
        CU_ASSERT_EQUAL(m.from_logits, cases[i].logits);
        CU_ASSERT_EQUAL(m.nmetrics, 1);
        CU_ASSERT_STRING_EQUAL(m.metric_names[0], cases[i].metric);
        nn_model_free(&m);
    }
}

static void test_language(void)
{
    nn_spec s;
    static const struct {
        const char *text;
        int r;
    } cases[] = {
        {"Dense(1)", 0},
        {"layer_dense(units = 1)", 1},
        {"n <- 3\nDense(n)", 1},
        {"m = Sequential()\nm.add(Dense(1, name='a$b'))  # x <- y", 0},
        {"library(keras)\nDense(1)", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        parse_ok(cases[i].text, "l", &s);
        CU_ASSERT_EQUAL(s.r_lang, cases[i].r);
        nn_spec_free(&s);
    }
}

int main(void)
{
    static const tu_test tests[] = {
        {"R kerasR script", test_kerasr},
        {"R keras pipes", test_r_pipes},
        {"Python Keras 2", test_python_keras},
        {"tf.keras, Sequential([...])", test_tf_keras},
        {"arithmetic and variables", test_arithmetic_and_variables},
        {"lines that are not part of a model", test_refused_lines},
        {"lines skipped with a note", test_skipped_lines},
        {"did you mean, in the script's spelling", test_did_you_mean},
        {"ModelCheckpoint and loss errors", test_callback_errors},
        {"Keras's mnist_cnn.py, R generators", test_keras_examples},
        {"R or Python", test_language},
        {"loss and metric objects", test_loss_metric_objects},
        {NULL, NULL},
    };
    return tu_main("paste", tests);
}
