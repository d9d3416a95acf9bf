/* Functional models pasted as Python or R Keras (src/spec/paste_graph.c):
 * the calls emitted, in order, with each call's inputs (indices of earlier
 * calls); the Python and R spellings of one model giving the same graph; and
 * the refusals (a name not defined, a layer applied twice, two inputs or
 * outputs, a layer applied to a non-tensor, Model() on the wrong input). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nntrain/spec.h"
#include "testutil.h"

/* The calls as "fn fn<in,in> ...": a call's inputs in <>, none for a
 * Sequential-style call (ninputs 0). Also asserts that every input comes
 * earlier (topological order). */
static const char *graph(const nn_spec *s, char *buf, size_t len)
{
    buf[0] = 0;
    for (int i = 0; i < s->ncalls; i++) {
        const nn_call *c = &s->calls[i];
        snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", i ? " " : "", c->fn);
        for (int k = 0; k < c->ninputs; k++) {
            snprintf(buf + strlen(buf), len - strlen(buf), "%c%d", k ? ',' : '<', c->inputs[k]);
            CU_ASSERT(c->inputs[k] >= 0 && c->inputs[k] < i);
        }
        if (c->ninputs)
            snprintf(buf + strlen(buf), len - strlen(buf), ">");
    }
    return buf;
}

static void parse_ok(const char *text, const char *path, nn_spec *s)
{
    nn_error e = {0};
    TU_ASSERT_OK(nn_spec_parse(text, path, s, &e), e);
}

static void expect_graph(const char *text, const char *path, const char *want)
{
    nn_spec s;
    char b[2048];
    nn_error e = {0};
    int rc = nn_spec_parse(text, path, &s, &e);
    if (rc)
        fprintf(stderr, "  %s: %s\n", path, e.msg);
    CU_ASSERT_EQUAL_FATAL(rc, NN_OK);
    graph(&s, b, sizeof b);
    if (strcmp(b, want))
        fprintf(stderr, "  %s:\n    got  %s\n    want %s\n", path, b, want);
    CU_ASSERT_STRING_EQUAL(b, want);
    nn_spec_free(&s);
}

static void parse_fails(const char *text, const char *path, const char *needle)
{
    nn_spec s;
    nn_error e = {0};
    CU_ASSERT_EQUAL(nn_spec_parse(text, path, &s, &e), NN_EFORMAT);
    if (!tu_contains(e.msg, needle))
        fprintf(stderr, "  expected \"%s\" in: %s\n", needle, e.msg);
    CU_ASSERT(tu_contains(e.msg, needle));
}

/* The argument named key of c, or NULL. */
static const nn_value *arg(const nn_call *c, const char *key)
{
    for (int i = 0; i < c->nargs; i++)
        if (c->keys[i] && !strcmp(c->keys[i], key))
            return &c->vals[i];
    return NULL;
}

/* A ResNet v1 block (Keras's cifar10_resnet.py, its resnet_layer unrolled)
 * as Python and as R: the same graph. */
static const char *const resnet_py =
    "import keras\n"
    "from keras.layers import Input, Conv2D, BatchNormalization, Activation, add\n"
    "from keras.models import Model\n"
    "inputs = Input(shape=(32, 32, 3))\n"
    "x = Conv2D(16, kernel_size=3, padding='same', kernel_initializer='he_normal')(inputs)\n"
    "x = BatchNormalization()(x)\n"
    "x = Activation('relu')(x)\n"
    "y = Conv2D(16, kernel_size=3, padding='same')(x)\n"
    "y = BatchNormalization()(y)\n"
    "y = Activation('relu')(y)\n"
    "y = Conv2D(16, kernel_size=3, padding='same')(y)\n"
    "y = BatchNormalization()(y)\n"
    "x = keras.layers.add([x, y])\n"
    "x = Activation('relu')(x)\n"
    "x = AveragePooling2D(pool_size=8)(x)\n"
    "y = Flatten()(x)\n"
    "outputs = Dense(10, activation='softmax', kernel_initializer='he_normal')(y)\n"
    "model = Model(inputs=inputs, outputs=outputs)\n"
    "model.compile(loss='categorical_crossentropy', optimizer=Adam(lr=1e-3),\n"
    "              metrics=['accuracy'])\n"
    "model.summary()\n"
    "model.fit(x_train, y_train, batch_size=32, epochs=200, shuffle=True)\n";

static const char *const resnet_r =
    "library(keras)\n"
    "inputs <- layer_input(shape = c(32, 32, 3))\n"
    "x <- inputs %>%\n"
    "  layer_conv_2d(16, kernel_size = 3, padding = 'same', kernel_initializer = 'he_normal') %>%\n"
    "  layer_batch_normalization() %>%\n"
    "  layer_activation('relu')\n"
    "y <- x %>% layer_conv_2d(16, kernel_size = 3, padding = 'same') %>%\n"
    "  layer_batch_normalization() %>% layer_activation('relu') %>%\n"
    "  layer_conv_2d(16, kernel_size = 3, padding = 'same') %>%\n"
    "  layer_batch_normalization()\n"
    "x <- layer_add(list(x, y)) %>% layer_activation('relu')\n"
    "x <- x |> layer_average_pooling_2d(pool_size = 8)\n"
    "outputs <- x %>% layer_flatten() %>%\n"
    "  layer_dense(10, activation = 'softmax', kernel_initializer = 'he_normal')\n"
    "model <- keras_model(inputs = inputs, outputs = outputs)\n"
    "model %>% compile(loss = 'categorical_crossentropy', optimizer = optimizer_adam(lr = 1e-3),\n"
    "                  metrics = c('accuracy'))\n"
    "summary(model)\n"
    "model %>% fit(x_train, y_train, batch_size = 32, epochs = 200, shuffle = TRUE)\n";

static void test_resnet_block(void)
{
    nn_spec py, r;
    char b[2048];
    parse_ok(resnet_py, "res.py", &py);
    CU_ASSERT_STRING_EQUAL(graph(&py, b, sizeof b),
                           "Input Conv2D<0> BatchNormalization<1> Activation<2> Conv2D<3> "
                           "BatchNormalization<4> Activation<5> Conv2D<6> BatchNormalization<7> "
                           "Add<3,8> Activation<9> AveragePooling2D<10> Flatten<11> Dense<12> "
                           "Model<13> compile fit");
    /* each layer keeps its arguments and its line; Input keeps its shape */
    CU_ASSERT_PTR_NOT_NULL(arg(&py.calls[0], "shape"));
    CU_ASSERT_EQUAL(py.calls[1].nargs, 4);
    CU_ASSERT_STRING_EQUAL(arg(&py.calls[1], "padding")->str, "same");
    CU_ASSERT_EQUAL(py.calls[1].line, 5);
    CU_ASSERT_EQUAL(py.calls[9].line, 13);
    CU_ASSERT_EQUAL(py.calls[9].nargs, 0);   /* the tensors are inputs, not arguments */
    CU_ASSERT_PTR_NULL(py.calls[9].qual);    /* keras.layers.add is the class Add */
    CU_ASSERT_EQUAL(py.calls[14].nargs, 0);

    parse_ok(resnet_r, "res.R", &r);
    CU_ASSERT(r.r_lang);
    CU_ASSERT_STRING_EQUAL(graph(&r, b, sizeof b),
                           "layer_input layer_conv_2d<0> layer_batch_normalization<1> "
                           "layer_activation<2> layer_conv_2d<3> layer_batch_normalization<4> "
                           "layer_activation<5> layer_conv_2d<6> layer_batch_normalization<7> "
                           "layer_add<3,8> layer_activation<9> layer_average_pooling_2d<10> "
                           "layer_flatten<11> layer_dense<12> keras_model<13> compile fit");
    /* the same graph: call for call, the same inputs and arguments */
    CU_ASSERT_EQUAL_FATAL(r.ncalls, py.ncalls);
    for (int i = 0; i < py.ncalls; i++) {
        CU_ASSERT_EQUAL(r.calls[i].ninputs, py.calls[i].ninputs);
        for (int k = 0; k < py.calls[i].ninputs && k < r.calls[i].ninputs; k++)
            CU_ASSERT_EQUAL(r.calls[i].inputs[k], py.calls[i].inputs[k]);
        CU_ASSERT_EQUAL(r.calls[i].nargs, py.calls[i].nargs);
    }
    nn_spec_free(&py);
    nn_spec_free(&r);
}

/* A U-Net-ish encoder/decoder joined by concatenation, in the three
 * spellings of a concatenation (functional, class, R). */
static void test_unet_concat(void)
{
    static const char *const want =
        "Input Conv2D<0> MaxPooling2D<1> Conv2D<2> UpSampling2D<3> Concatenate<4,1> "
        "Conv2D<5> Concatenate<6,1,0> Conv2D<7> Model<8>";
    const char *py =
        "inputs = keras.Input(shape=(16, 16, 1))\n"
        "c1 = layers.Conv2D(8, 3, padding='same', activation='relu')(inputs)\n"
        "p1 = layers.MaxPooling2D((2, 2))(c1)\n"
        "c2 = layers.Conv2D(16, 3, padding='same', activation='relu')(p1)\n"
        "u1 = layers.UpSampling2D((2, 2))(c2)\n"
        "m = layers.concatenate([u1, c1], axis=-1)\n"
        "c3 = layers.Conv2D(8, 3, padding='same')(m)\n"
        "m = layers.Concatenate(axis=3)([c3, c1, inputs])\n"
        "out = layers.Conv2D(1, 1, activation='sigmoid')(m)\n"
        "model = keras.Model(inputs, out, name='unet')\n";
    expect_graph(py, "u.py", want);
    nn_spec s;
    parse_ok(py, "u.py", &s);
    CU_ASSERT_EQUAL(arg(&s.calls[5], "axis")->num, -1);   /* axis= kept */
    CU_ASSERT_EQUAL(arg(&s.calls[7], "axis")->num, 3);
    CU_ASSERT_STRING_EQUAL(arg(&s.calls[9], "name")->str, "unet");
    CU_ASSERT_EQUAL(s.calls[9].nargs, 1);
    nn_spec_free(&s);

    expect_graph("inputs <- layer_input(shape = c(16, 16, 1))\n"
                 "c1 <- inputs %>% layer_conv_2d(8, 3, padding = 'same', activation = 'relu')\n"
                 "c2 <- c1 %>% layer_max_pooling_2d(c(2, 2)) %>%\n"
                 "  layer_conv_2d(16, 3, padding = 'same', activation = 'relu')\n"
                 "m <- layer_concatenate(list(c2 %>% layer_upsampling_2d(c(2, 2)), c1),\n"
                 "                       axis = -1)\n"
                 "m <- list(m %>% layer_conv_2d(8, 3, padding = 'same'), c1, inputs) %>%\n"
                 "  layer_concatenate(axis = 3)\n"
                 "out <- layer_conv_2d(m, 1, 1, activation = 'sigmoid')\n"
                 "model <- keras_model(inputs, out)\n",
                 "u.R",
                 "layer_input layer_conv_2d<0> layer_max_pooling_2d<1> layer_conv_2d<2> "
                 "layer_upsampling_2d<3> layer_concatenate<4,1> layer_conv_2d<5> "
                 "layer_concatenate<6,1,0> layer_conv_2d<7> keras_model<8>");
}

/* Nested calls: the inner layer first; a layer made on one line and
 * applied on a later one; a variable reassigned; Input written alone. */
static void test_nested_and_objects(void)
{
    expect_graph("x = Input(shape=(8, 8, 1))\n"
                 "y = Dense(10)(Dropout(0.5)(Flatten()(x)))\n"
                 "model = Model(inputs=x, outputs=y)\n",
                 "n.py", "Input Flatten<0> Dropout<1> Dense<2> Model<3>");
    expect_graph("inputs = Input((4,))\n"
                 "d = Dense(4, activation='relu')\n"
                 "h = inputs\n"
                 "h = d(h)\n"
                 "h = Dense(2)(inputs=h)\n"
                 "model = Model(inputs=[inputs], outputs=[h])\n",
                 "o.py", "Input Dense<0> Dense<1> Model<2>");
    /* d = Dense(4) then d = Dense(8): a new layer, applied once each */
    expect_graph("inputs = Input((4,))\n"
                 "d = Dense(4)\n"
                 "x = d(inputs)\n"
                 "d = Dense(8)\n"
                 "x = d(x)\n"
                 "model = tf.keras.models.Model(inputs=inputs, outputs=x)\n",
                 "o.py", "Input Dense<0> Dense<1> Model<2>");
    expect_graph("d <- layer_dense(units = 4)\n"
                 "inputs <- layer_input(shape = c(4))\n"
                 "model <- keras_model(inputs, d(layer_dense(inputs, 3)))\n",
                 "o.R", "layer_input layer_dense<0> layer_dense<1> keras_model<2>");
    /* merges in every spelling: Add with the same inputs */
    expect_graph("a = Input(shape=(4,))\n"
                 "b = Dense(4)(a)\n"
                 "x = add([a, b])\n"
                 "x = layers.add([x, b])\n"
                 "x = Add()([x, a])\n"
                 "x = keras.layers.Add(name='a')([x, b])\n"
                 "x = subtract([x, a])\n"
                 "x = layers.maximum([x, a, b])\n"
                 "model = keras.Model(inputs=a, outputs=x)\n",
                 "m.py",
                 "Input Dense<0> Add<0,1> Add<2,1> Add<3,0> Add<4,1> Subtract<5,0> "
                 "Maximum<6,0,1> Model<7>");
    expect_graph("a <- layer_input(shape = c(4))\n"
                 "b <- a %>% layer_dense(4)\n"
                 "x <- layer_add(list(a, b))\n"
                 "x <- layer_add(inputs = list(x, b))\n"
                 "x <- list(x, a) %>% layer_add()\n"
                 "x <- layer_multiply(c(x, b), name = 'm')\n"
                 "model <- keras_model(inputs = a, outputs = x)\n",
                 "m.R",
                 "layer_input layer_dense<0> layer_add<0,1> layer_add<2,1> layer_add<3,0> "
                 "layer_multiply<4,1> keras_model<5>");
    /* the model variable gets the model's methods; tensors named like data
     * in fit() are data there */
    nn_spec s;
    parse_ok("x = Input(shape=(4,))\n"
             "y = Dense(1)(x)\n"
             "net = Model(x, y)\n"
             "net.compile(loss='mse')\n"
             "net.fit(x, y, epochs=3)\n",
             "f.py", &s);
    char b[512];
    CU_ASSERT_STRING_EQUAL(graph(&s, b, sizeof b), "Input Dense<0> Model<1> compile fit");
    CU_ASSERT_EQUAL(s.calls[4].nargs, 1);
    CU_ASSERT_EQUAL(s.nnotes, 1);
    nn_spec_free(&s);
    /* what the output is not computed from is left out, as Keras's Model does */
    parse_ok("inputs = Input(shape=(4,))\n"
             "other = layers.Input(shape=(2,))\n"
             "a = Dense(4)(inputs)\n"
             "unused = Dense(3)(a)\n"
             "b = Dense(2)(a)\n"
             "model = Model(inputs, b)\n"
             "c = Dense(1)(b)\n"
             "model.compile(loss='mse')\n",
             "u.py", &s);
    CU_ASSERT_STRING_EQUAL(graph(&s, b, sizeof b), "Input Dense<0> Dense<1> Model<2> compile");
    CU_ASSERT_EQUAL(s.calls[2].line, 5);
    CU_ASSERT_EQUAL(s.nnotes, 3);
    CU_ASSERT(s.nnotes == 3 && !strcmp(s.notes[0], "u.py:2: layers.Input(...) is not used by "
                                       "the model's output: left out, as Keras does"));
    CU_ASSERT(s.nnotes == 3 && !strcmp(s.notes[1], "u.py:4: Dense(...) is not used by the "
                                       "model's output: left out, as Keras does"));
    CU_ASSERT(s.nnotes == 3 && tu_contains(s.notes[2], "u.py:7: Dense(...) is not used"));
    nn_spec_free(&s);
    /* Sequential specs: an Input line alone stays a Sequential line */
    expect_graph("Input(shape=(4,))\nDense(3)\n", "s.nn", "Input Dense");
    expect_graph("model = tf.keras.Sequential([tf.keras.Input((4,)), Dense(3)])\n", "s.py",
                 "Sequential Input Dense");
}

static void test_errors(void)
{
    /* a name not defined, with the nearest variable */
    parse_fails("inputs = Input(shape=(4,))\nx = Dense(4)(h)\n", "e.py",
                "e.py:2:14: name 'h' is not defined: a variable must be set on an earlier line");
    parse_fails("inputs = Input(shape=(4,))\nx = Dense(4)(input)\n", "e.py",
                "e.py:2:14: name 'input' is not defined (did you mean 'inputs'?)");
    parse_fails("inputs = Input(shape=(4,))\nx = add([inputs, y])\n", "e.py",
                "e.py:2:18: name 'y' is not defined");
    parse_fails("inputs <- layer_input(shape = c(4))\nx <- inputz %>% layer_dense(4)\n", "e.R",
                "e.R:2:6: name 'inputz' is not defined (did you mean 'inputs'?)");
    parse_fails("Dense(10)(x)", "e.nn", "e.nn:1:11: name 'x' is not defined");
    /* a layer object applied twice */
    parse_fails("inputs = Input(shape=(4,))\nd = Dense(4)\nx = d(inputs)\ny = d(x)\n", "e.py",
                "e.py:4:5: layer 'd' is applied twice (shared layers are not supported): "
                "line 3 and line 4");
    /* two outputs, two inputs */
    parse_fails("inputs = Input(shape=(4,))\na = Dense(4)(inputs)\nb = Dense(4)(inputs)\n"
                "model = Model(inputs=inputs, outputs=[a, b])\n",
                "e.py", "e.py:4:38: Model(): 2 outputs; one output is supported");
    parse_fails("a <- layer_input(shape = c(4))\nb <- layer_input(shape = c(4))\n"
                "x <- layer_add(list(a, b))\nmodel <- keras_model(list(a, b), x)\n",
                "e.R", "e.R:4:22: keras_model(): 2 inputs; one input is supported");
    parse_fails("a = Input(shape=(4,))\nb = Input(shape=(4,))\nx = add([a, b])\n"
                "model = Model(inputs=a, outputs=x)\n",
                "e.py", "e.py:4:33: Model(): the output 'x' also depends on the Input of line 2, "
                "which is not the model's input: one input is supported");
    /* Model() on something that is not the graph's Input */
    parse_fails("inputs = Input(shape=(4,))\nother = Input(shape=(4,))\nx = Dense(4)(inputs)\n"
                "model = Model(inputs=other, outputs=x)\n",
                "e.py", "e.py:4:37: Model(): the output 'x' does not depend on the input "
                "'other' (the Input of line 2)");
    parse_fails("inputs = Input(shape=(4,))\nx = Dense(4)(inputs)\nmodel = Model(x, x)\n", "e.py",
                "e.py:3:15: Model(): the input 'x' is not an Input(...): it is the output of "
                "Dense on line 2");
    parse_fails("inputs = Input(shape=(4,))\nx = Dense(4)(inputs)\nmodel = Model(inputs)\n",
                "e.py", "e.py:3:9: Model() needs outputs=, a tensor");
    parse_fails("x = Input(shape=(4,))\ny = Dense(4)(x)\nm = Model(x, y)\nm2 = Model(x, y)\n",
                "e.py", "e.py:4:6: a second model (the first is on line 3): one model per spec");
    parse_fails("model = Sequential()\nmodel.add(Dense(4, input_shape=(4,)))\n"
                "x = Input(shape=(4,))\ny = Dense(4)(x)\nm = Model(x, y)\n",
                "e.py", "e.py:1: Sequential() and the model of line 5: one model per spec");
    /* a layer applied to what is not a tensor */
    parse_fails("inputs = Input(shape=(4,))\nx = Dense(4)(3)\n", "e.py",
                "e.py:2:14: Dense(...) is applied to the number 3, which is not a tensor");
    parse_fails("inputs = Input(shape=(4,))\nx = Dense(4)('inputs')\n", "e.py",
                "e.py:2:14: Dense(...) is applied to the string \"inputs\", which is not a tensor");
    parse_fails("inputs = Input(shape=(4,))\nn = 3\nx = Dense(4)(n)\n", "e.py",
                "e.py:3:14: Dense(...) is applied to the number 3 (variable 'n'), which is not "
                "a tensor");
    parse_fails("inputs = Input(shape=(4,))\nx = Dense(4)(Flatten())\n", "e.py",
                "e.py:2:14: Dense(...) is applied to the layer Flatten(...), which is not a "
                "tensor");
    parse_fails("inputs = Input(shape=(4,))\nx = add([inputs, 2])\n", "e.py",
                "e.py:2:18: a list of tensors holds the number 2, which is not a tensor");
    parse_fails("inputs = Input(shape=(4,))\nx = tf.nn.relu(inputs)\n", "e.py",
                "e.py:2:5: tf.nn.relu(...) is given a tensor, but it is not a Keras layer");
    parse_fails("inputs = Input(shape=(4,))\nx = Dense(4, activation=inputs)(inputs)\n", "e.py",
                "e.py:2:25: Dense(activation=...): 'inputs' is a tensor, not a value");
    parse_fails("inputs = Input(shape=(4,))\nx = Dense(4)(inputs)(inputs)\n", "e.py",
                "e.py:2:21: a tensor is applied as if it were a layer");
    parse_fails("inputs = Input(shape=(4,))\nx = Dropout(0.5)(inputs, training=True)\n", "e.py",
                "e.py:2:24: Dropout(...)(x, ...): only the input tensor is supported");
    /* layers applied but no model made of them */
    parse_fails("inputs = Input(shape=(4,))\nx = Dense(4)(inputs)\ncompile(loss='mse')\n", "e.py",
                "e.py:2: Dense(...) is applied to a tensor (a functional model) but no line "
                "makes the model: add model = Model(inputs=inputs, outputs=outputs)");
    parse_fails("inputs <- layer_input(shape = c(4))\nx <- inputs %>% layer_dense(4)\n", "e.R",
                "add model <- keras_model(inputs, outputs)");
    parse_fails("inputs <- layer_input(shape = c(4))\nx <- inputs %>% layer_dense(4)\n"
                "model %>% compile(loss = 'mse')\n", "e.R",
                "e.R:3: model %>% ... before any model: start with model <- "
                "keras_model(inputs, outputs)");
}

/* 60 residual blocks: every path through the merges is 2^60 long, so the
 * Model() checks must not walk paths (a refusal has to look at all of them). */
static void test_deep_residual(void)
{
    size_t len = 64 * 1024;
    char *text = malloc(len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    size_t at = (size_t)snprintf(text, len, "inputs = Input(shape=(4,))\nx = Dense(4)(inputs)\n");
    for (int i = 0; i < 60; i++)
        at += (size_t)snprintf(text + at, len - at, "y = Dense(4)(x)\nx = add([x, y])\n");
    size_t body = at;
    snprintf(text + at, len - at, "other = Input(shape=(4,))\nmodel = Model(other, x)\n");
    parse_fails(text, "d.py", "d.py:124:22: Model(): the output 'x' does not depend on the input "
                "'other' (the Input of line 123)");
    snprintf(text + body, len - body, "model = Model(inputs, x)\n");
    nn_spec s;
    parse_ok(text, "d.py", &s);
    CU_ASSERT_EQUAL(s.ncalls, 2 + 120 + 1);
    CU_ASSERT_EQUAL(s.calls[s.ncalls - 1].inputs[0], s.ncalls - 2);
    nn_spec_free(&s);
    free(text);
}

int main(void)
{
    static const tu_test tests[] = {
        {"ResNet block, Python and R", test_resnet_block},
        {"U-Net-ish concatenation", test_unet_concat},
        {"nested calls, layer objects, merges", test_nested_and_objects},
        {"refusals", test_errors},
        {"Model() checks on a deep residual graph", test_deep_residual},
        {NULL, NULL},
    };
    return tu_main("functional_spec", tests);
}
