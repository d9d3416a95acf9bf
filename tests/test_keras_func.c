/* Functional Keras models in Keras files: the layer graph read from each
 * writer's model_config (Keras 2.2 "Model" with nested inbound_nodes lists,
 * tf.keras 2.3's dict input_layers, tf.keras 2.4 "Functional", Keras 3's
 * keras_history dicts: scripts/gen_keras_func.py), put in topological order
 * and refused with the layer named where nntrain cannot run it; the spec
 * the importer makes (calls with their inputs, the Python functional text);
 * the Functional model_config the writer makes for a graph; the summary
 * table of a graph against tf.keras 2.x's print_summary rules replayed by
 * the same script; fixture and real .h5 files load, predict and round trip.
 * Leaves NN_BINARY_DIR/kfunc_real.h5 for scripts/check_keras_func.py. */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>
#include <unistd.h>

#include "io/keras_graph.h"
#include "nntrain/checkpoint.h"
#include "nntrain/keras.h"
#include "testutil.h"

#define FIX NN_FIXTURES_DIR "/keras_func/"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s (run scripts/gen_keras_func.py)\n", path);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    if (s)
        s[n] = 0;
    fclose(f);
    return s;
}

static cJSON *load_json(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, FIX "%s", name);
    char *s = slurp(path);
    cJSON *j = s ? cJSON_Parse(s) : NULL;
    free(s);
    return j;
}

static cJSON *config(cJSON *root)
{
    return cJSON_GetObjectItemCaseSensitive(root, "config");
}

/* The entry of config.layers named name. */
static cJSON *entry(cJSON *root, const char *name)
{
    cJSON *L;
    cJSON_ArrayForEach(L, cJSON_GetObjectItemCaseSensitive(config(root), "layers")) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(L, "name");
        if (cJSON_IsString(n) && !strcmp(n->valuestring, name))
            return L;
    }
    return NULL;
}

/* Asserts g's layer names in order (input first) and each layer's inputs,
 * given as "0", "4,5", ... per layer after the input. */
static void expect_graph(const kg_graph *g, const char *const *names, const char *const *ins)
{
    int n = 0;
    while (names[n])
        n++;
    CU_ASSERT_EQUAL_FATAL(g->n, n);
    for (int i = 0; i < n; i++) {
        char got[64] = "";
        for (int j = 0, k = 0; j < g->nodes[i].nin; j++)
            k += snprintf(got + k, sizeof got - (size_t)k, "%s%d", j ? "," : "", g->nodes[i].in[j]);
        if (strcmp(g->nodes[i].name, names[i]) || (i && strcmp(got, ins[i - 1])) ||
            (!i && g->nodes[i].nin))
            fprintf(stderr, "  node %d: %s <- [%s], expected %s <- [%s]\n", i, g->nodes[i].name,
                    got, names[i], i ? ins[i - 1] : "");
        CU_ASSERT_STRING_EQUAL(g->nodes[i].name, names[i]);
        if (i)
            CU_ASSERT_STRING_EQUAL(got, ins[i - 1]);
    }
}

static const char *const RESNET[] = {"input_1", "conv2d", "batch_normalization", "activation",
                                     "conv2d_1", "conv2d_2", "add", "activation_1",
                                     "global_average_pooling2d", "dense", NULL};
static const char *const RESNET_IN[] = {"0", "1", "2", "3", "0", "4,5", "6", "7", "8"};
static const char *const UNET[] = {"input_1", "conv2d", "max_pooling2d", "conv2d_1",
                                   "up_sampling2d", "concatenate", "conv2d_2", NULL};
static const char *const UNET_IN[] = {"0", "1", "2", "3", "4,1", "5"};

static void graph_of(const char *file, const char *const *names, const char *const *ins,
                     const char *input_name)
{
    nn_error e = {0};
    kg_graph g;
    cJSON *j = load_json(file);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    const char *const *want = names;
    const char *renamed[32];
    if (input_name) {   /* Keras 3 names its input "input_layer" */
        int n = 0;
        renamed[n++] = input_name;
        while (names[n])
            renamed[n] = names[n], n++;
        renamed[n] = NULL;
        want = renamed;
    }
    int rc = kg_read(config(j), file, &g, &e);
    if (rc)
        fprintf(stderr, "  %s: %s\n", file, e.msg);
    CU_ASSERT_EQUAL_FATAL(rc, NN_OK);
    expect_graph(&g, want, ins);
    kg_free(&g);
    cJSON_Delete(j);
}

static void test_graph_writers(void)
{
    graph_of("resnet_k222.json", RESNET, RESNET_IN, NULL);
    graph_of("resnet_tf23.json", RESNET, RESNET_IN, NULL);
    graph_of("resnet_tf24.json", RESNET, RESNET_IN, NULL);
    graph_of("resnet_k3.json", RESNET, RESNET_IN, "input_layer");
    graph_of("unet_k222.json", UNET, UNET_IN, NULL);
    graph_of("unet_k3.json", UNET, UNET_IN, "input_layer");
}

/* A file whose layers are not in topological order gets Keras's order. */
static void test_graph_order(void)
{
    nn_error e = {0};
    kg_graph g;
    cJSON *j = load_json("resnet_tf24.json");
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    cJSON *layers = cJSON_GetObjectItemCaseSensitive(config(j), "layers");
    /* add (entry 6) and dense (entry 9) moved to the front */
    cJSON *add = cJSON_DetachItemFromArray(layers, 6);
    cJSON_InsertItemInArray(layers, 0, add);
    cJSON *dense = cJSON_DetachItemFromArray(layers, 9);
    cJSON_InsertItemInArray(layers, 0, dense);
    TU_ASSERT_OK(kg_read(config(j), "x", &g, &e), e);
    expect_graph(&g, RESNET, RESNET_IN);
    kg_free(&g);
    cJSON_Delete(j);
}

/* kg_read of file after edit(root) fails with code and the needles. */
static void graph_fails(const char *file, void (*edit)(cJSON *), int code, const char *n1,
                        const char *n2)
{
    nn_error e = {0};
    kg_graph g;
    cJSON *j = load_json(file);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    edit(j);
    int rc = kg_read(config(j), "m.h5:model_config", &g, &e);
    if (rc != code || !tu_contains(e.msg, n1) || (n2 && !tu_contains(e.msg, n2)))
        fprintf(stderr, "  expected %d with '%s', '%s'; got %d: %s\n", code, n1, n2 ? n2 : "",
                rc, e.msg);
    CU_ASSERT_EQUAL(rc, code);
    if (!rc)
        kg_free(&g);
    CU_ASSERT(tu_contains(e.msg, "m.h5:model_config"));
    CU_ASSERT(tu_contains(e.msg, n1));
    if (n2)
        CU_ASSERT(tu_contains(e.msg, n2));
    cJSON_Delete(j);
}

/* the first inbound tensor of layer name (Keras 2 form) */
static cJSON *ref0(cJSON *root, const char *name)
{
    cJSON *nodes = cJSON_GetObjectItemCaseSensitive(entry(root, name), "inbound_nodes");
    return cJSON_GetArrayItem(cJSON_GetArrayItem(nodes, 0), 0);
}

static void set_str(cJSON *arr, int i, const char *s)
{
    cJSON_ReplaceItemInArray(arr, i, cJSON_CreateString(s));
}

static void ed_undefined(cJSON *j) { set_str(ref0(j, "dense_1"), 0, "densee"); }
static void ed_cycle(cJSON *j) { set_str(ref0(j, "conv2d"), 0, "activation"); }
static void ed_node1(cJSON *j) { cJSON_ReplaceItemInArray(ref0(j, "dense_1"), 1, cJSON_CreateNumber(1)); }
static void ed_tensor1(cJSON *j) { cJSON_ReplaceItemInArray(ref0(j, "dense_1"), 2, cJSON_CreateNumber(1)); }
static void ed_twice(cJSON *j)
{
    cJSON *nodes = cJSON_GetObjectItemCaseSensitive(entry(j, "dense_1"), "inbound_nodes");
    cJSON_AddItemToArray(nodes, cJSON_Duplicate(cJSON_GetArrayItem(nodes, 0), 1));
}
static void ed_two_inputs(cJSON *j)
{
    cJSON *in = cJSON_GetObjectItemCaseSensitive(config(j), "input_layers");
    cJSON_AddItemToArray(in, cJSON_Duplicate(cJSON_GetArrayItem(in, 0), 1));
}
static void ed_two_outputs(cJSON *j)
{
    cJSON *out = cJSON_GetObjectItemCaseSensitive(config(j), "output_layers");
    cJSON_AddItemToArray(out, cJSON_Parse("[\"dense\", 0, 0]"));
}
static void ed_training(cJSON *j)
{
    cJSON_ReplaceItemInArray(ref0(j, "batch_normalization"), 3,
                             cJSON_Parse("{\"training\": false}"));
}
static void ed_dangling(cJSON *j)
{
    cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(config(j), "layers"), cJSON_Parse(
        "{\"class_name\": \"Dense\", \"config\": {\"name\": \"extra\", \"units\": 2}, \"name\": "
        "\"extra\", \"inbound_nodes\": [[[\"dense\", 0, 0, {}]]]}"));
}
static void ed_unconnected(cJSON *j)
{
    cJSON *L = entry(j, "dense_1");
    cJSON_ReplaceItemInObject(L, "inbound_nodes", cJSON_CreateArray());
}
static void ed_k3_scalar(cJSON *j)
{
    cJSON *node = cJSON_GetArrayItem(
        cJSON_GetObjectItemCaseSensitive(entry(j, "dense_1"), "inbound_nodes"), 0);
    cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(node, "args"), cJSON_CreateNumber(0.5));
}
static void ed_k3_shared(cJSON *j)
{
    cJSON *node = cJSON_GetArrayItem(
        cJSON_GetObjectItemCaseSensitive(entry(j, "dense_1"), "inbound_nodes"), 0);
    cJSON *t = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(node, "args"), 0);
    cJSON *h = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(t, "config"),
                                                "keras_history");
    cJSON_ReplaceItemInArray(h, 1, cJSON_CreateNumber(1));
}
static void ed_dup_name(cJSON *j)
{
    cJSON *L = entry(j, "dense_1");
    cJSON_ReplaceItemInObject(L, "name", cJSON_CreateString("dense"));
}

static void test_graph_errors(void)
{
    graph_fails("chain_tf24.json", ed_undefined, NN_EINVAL, "Keras layer 'dense_1' (Dense)",
                "its input 'densee' is not a layer of the model");
    graph_fails("resnet_tf24.json", ed_cycle, NN_EINVAL, "form a cycle", "Keras layer '");
    graph_fails("chain_tf24.json", ed_node1, NN_EINVAL, "'dense_1'",
                "call 1 of layer 'dense', a layer called more than once (shared weights)");
    graph_fails("chain_tf24.json", ed_tensor1, NN_EINVAL, "'dense_1'", "several outputs");
    graph_fails("chain_tf24.json", ed_twice, NN_EINVAL, "'dense_1'",
                "called 2 times (a shared layer)");
    graph_fails("chain_tf24.json", ed_two_inputs, NN_EINVAL, "the model has 2 input_layers",
                "one input and one output");
    graph_fails("resnet_tf24.json", ed_two_outputs, NN_EINVAL, "the model has 2 output_layers",
                "one input and one output");
    graph_fails("resnet_tf24.json", ed_training, NN_EINVAL, "'batch_normalization'",
                "called with training=false");
    graph_fails("resnet_tf24.json", ed_dangling, NN_EINVAL, "Keras layer 'extra'",
                "does not lead to the model's output 'dense'");
    graph_fails("chain_tf24.json", ed_unconnected, NN_EINVAL, "'dense_1'", "not connected");
    graph_fails("chain_k3.json", ed_k3_scalar, NN_EINVAL, "'dense_1'", "0.5 is not a tensor");
    graph_fails("chain_k3.json", ed_k3_shared, NN_EINVAL, "'dense_1'", "called more than once");
    graph_fails("chain_tf24.json", ed_dup_name, NN_EFORMAT, "Keras layer 'dense'",
                "used by two entries");
}

/* The spec of a functional file: calls (Input, layers, Model, compile) and
 * their inputs; the text is the Python functional spelling. */
static void import_chain(const char *file, const char *input_name, const char *model_name)
{
    char path[512], want[256];
    nn_error e = {0};
    nn_spec s;
    snprintf(path, sizeof path, FIX "%s", file);
    char *json = slurp(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(json);
    TU_ASSERT_OK(nn_keras_json_to_spec(json, "{\"loss\": \"mse\"}", "m.json", &s, &e), e);
    CU_ASSERT_EQUAL_FATAL(s.ncalls, 5);
    static const char *const fns[] = {"Input", "Dense", "Dense", "Model", "compile"};
    static const int nin[] = {0, 1, 1, 1, 0}, in0[] = {-1, 0, 1, 2, -1};
    for (int i = 0; i < 5; i++) {
        CU_ASSERT_STRING_EQUAL(s.calls[i].fn, fns[i]);
        CU_ASSERT_EQUAL(s.calls[i].ninputs, nin[i]);
        if (nin[i] && s.calls[i].ninputs == nin[i])
            CU_ASSERT_EQUAL(s.calls[i].inputs[0], in0[i]);
        CU_ASSERT_EQUAL(s.calls[i].line, i + 1);   /* line N: config.layers[N - 1] */
    }
    /* the Input keeps its name */
    int named = 0;
    for (int k = 0; k < s.calls[0].nargs; k++)
        named |= s.calls[0].keys[k] && !strcmp(s.calls[0].keys[k], "name") &&
                 s.calls[0].vals[k].kind == NN_V_STR &&
                 !strcmp(s.calls[0].vals[k].str, input_name);
    CU_ASSERT(named);
    snprintf(want, sizeof want, "%s = Input(shape=(4,), name=\"%s\")\n", input_name, input_name);
    CU_ASSERT(tu_contains(s.text, want));
    snprintf(want, sizeof want, ")(%s)\ndense_1 = Dense(", input_name);
    CU_ASSERT(tu_contains(s.text, want));
    snprintf(want, sizeof want, ")(dense)\nmodel = Model(inputs=%s, outputs=dense_1, "
             "name=\"%s\")\ncompile(loss=\"mse\")\n", input_name, model_name);
    CU_ASSERT(tu_contains(s.text, want));
    if (!tu_contains(s.text, want))
        fprintf(stderr, "  text:\n%s\n", s.text);

    /* it builds: a chain, so not a graph model; the Input's name kept */
    nn_model m;
    TU_ASSERT_OK(nn_model_build(&m, &s, &e), e);
    CU_ASSERT_EQUAL(m.nparams, 37);
    CU_ASSERT_EQUAL(m.graph, 0);
    CU_ASSERT_STRING_EQUAL(m.in_name, input_name);
    CU_ASSERT_STRING_EQUAL(m.name, model_name);
    nn_model_free(&m);
    nn_spec_free(&s);
    free(json);
}

static void test_import_chain(void)
{
    import_chain("chain_tf24.json", "input_1", "model");
    import_chain("chain_k3.json", "input_layer", "functional");
}

/* Layer names that cannot be spec variables (a keyword, a name taken by a
 * fallback) still import with their names. */
static void test_import_names(void)
{
    nn_error e = {0};
    nn_spec s;
    nn_model m;
    cJSON *j = load_json("chain_tf24.json");
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    cJSON *d = entry(j, "dense"), *d1 = entry(j, "dense_1");
    cJSON_ReplaceItemInObject(d, "name", cJSON_CreateString("from"));
    cJSON_ReplaceItemInObject(cJSON_GetObjectItemCaseSensitive(d, "config"), "name",
                              cJSON_CreateString("from"));
    cJSON_ReplaceItemInObject(d1, "name", cJSON_CreateString("t1"));
    cJSON_ReplaceItemInObject(cJSON_GetObjectItemCaseSensitive(d1, "config"), "name",
                              cJSON_CreateString("t1"));
    set_str(ref0(j, "t1"), 0, "from");
    cJSON_ReplaceItemInArray(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(config(j),
                                                                                 "output_layers"),
                                                0), 0, cJSON_CreateString("t1"));
    char *text = cJSON_PrintUnformatted(j);
    TU_ASSERT_OK(nn_keras_json_to_spec(text, NULL, "m.json", &s, &e), e);
    CU_ASSERT(tu_contains(s.text, "\nt1_ = Dense(name=\"from\""));
    CU_ASSERT(tu_contains(s.text, "\nt1 = Dense(name=\"t1\""));
    CU_ASSERT(tu_contains(s.text, ")(t1_)\nmodel = Model(inputs=input_1, outputs=t1, "));
    TU_ASSERT_OK(nn_model_build(&m, &s, &e), e);
    CU_ASSERT_STRING_EQUAL(m.layers[0].name, "from");
    CU_ASSERT_STRING_EQUAL(m.layers[1].name, "t1");
    nn_model_free(&m);
    nn_spec_free(&s);
    free(text);
    cJSON_Delete(j);
}

/* Messages of the importer proper on a functional file. */
static void test_import_errors(void)
{
    nn_error e = {0};
    nn_spec s;
    cJSON *j = load_json("chain_tf24.json");
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    cJSON_ReplaceItemInObject(entry(j, "dense_1"), "class_name",
                              cJSON_CreateString("LayerNormalization"));
    char *text = cJSON_PrintUnformatted(j);
    CU_ASSERT_EQUAL(nn_keras_json_to_spec(text, NULL, "m.h5:model_config", &s, &e), NN_EINVAL);
    CU_ASSERT(tu_contains(e.msg, "m.h5:model_config: unsupported Keras layer "
                                 "'LayerNormalization' (layer 'dense_1')"));
    free(text);
    cJSON_Delete(j);
    /* an option of a layer in a functional file names the layer, as in a Sequential one */
    j = load_json("chain_k3.json");
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    cJSON_AddNumberToObject(cJSON_GetObjectItemCaseSensitive(entry(j, "dense"), "config"),
                            "foo", 1);
    text = cJSON_PrintUnformatted(j);
    CU_ASSERT_EQUAL(nn_keras_json_to_spec(text, NULL, "m.json", &s, &e), NN_EINVAL);
    CU_ASSERT(tu_contains(e.msg, "Keras layer 'dense' (Dense): config key 'foo'"));
    free(text);
    cJSON_Delete(j);
    /* the builder's messages name config.layers[N - 1] as line N */
    nn_model m;
    j = load_json("resnet_tf24.json");
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItemCaseSensitive(entry(j, "conv2d_2"), "config"),
                              "filters", cJSON_CreateNumber(5));
    text = cJSON_PrintUnformatted(j);
    TU_ASSERT_OK(nn_keras_json_to_spec(text, NULL, "m.h5:model_config", &s, &e), e);
    CU_ASSERT_NOT_EQUAL(nn_model_build(&m, &s, &e), NN_OK);
    CU_ASSERT(tu_contains(e.msg, "m.h5:model_config:7:"));
    CU_ASSERT(tu_contains(e.msg, "Add 'add'"));
    CU_ASSERT(tu_contains(e.msg, "'conv2d_2' (None, 6, 6, 5)"));
    nn_spec_free(&s);
    free(text);
    cJSON_Delete(j);
    /* neither Sequential nor functional */
    CU_ASSERT_EQUAL(nn_keras_json_to_spec("{\"class_name\": \"Graph\", \"config\": {}}", NULL,
                                          "m.json", &s, &e), NN_EINVAL);
    CU_ASSERT(tu_contains(e.msg, "a Keras 'Graph' model is not supported"));
}

/* ---- the writer and the summary of a graph --------------------------- */

/* The resnet of the fixtures built from a functional spec (short: names
 * that Keras's columns hold without cutting). */
typedef struct hand {
    nn_model m;
    char spec[2048];
} hand;

#define RESNET_SPEC(c1, bn, a1, c2, c3, add, a2, gap, d)                                     \
    "input_1 = Input(shape=(6, 6, 2), name=\"input_1\")\n"                                 \
    c1 " = Conv2D(4, (3, 3), padding=\"same\", name=\"" c1 "\")(input_1)\n"                  \
    bn " = BatchNormalization(name=\"" bn "\")(" c1 ")\n"                                    \
    a1 " = Activation(\"relu\", name=\"" a1 "\")(" bn ")\n"                                 \
    c2 " = Conv2D(4, (3, 3), padding=\"same\", name=\"" c2 "\")(" a1 ")\n"                   \
    c3 " = Conv2D(4, (1, 1), name=\"" c3 "\")(input_1)\n"                                     \
    add " = Add(name=\"" add "\")([" c2 ", " c3 "])\n"                                        \
    a2 " = Activation(\"relu\", name=\"" a2 "\")(" add ")\n"                                \
    gap " = GlobalAveragePooling2D(name=\"" gap "\")(" a2 ")\n"                               \
    d " = Dense(3, activation=\"softmax\", name=\"" d "\")(" gap ")\n"                       \
    "model = Model(inputs=input_1, outputs=" d ")\n"

static void make_hand(hand *h, int short_names)
{
    nn_error e = {0};
    memset(h, 0, sizeof *h);
    snprintf(h->spec, sizeof h->spec, "%s",
             short_names ? RESNET_SPEC("c1", "bn", "a1", "c2", "c3", "add", "a2", "gap", "d")
                         : RESNET_SPEC("conv2d", "batch_normalization", "activation", "conv2d_1",
                                       "conv2d_2", "add", "activation_1",
                                       "global_average_pooling2d", "dense"));
    TU_ASSERT_OK(tu_build(h->spec, &h->m, &e), e);
    CU_ASSERT_EQUAL(h->m.graph, 1);
}

static void free_hand(hand *h)
{
    nn_model_free(&h->m);
}

static void expect_summary(const hand *h, const char *fixture)
{
    char path[512], *got = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, FIX "%s", fixture);
    char *want = slurp(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(want);
    FILE *f = open_memstream(&got, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    nn_model_summary(&h->m, f);
    fclose(f);
    CU_ASSERT_STRING_EQUAL(got, want);
    if (strcmp(got, want))
        fprintf(stderr, "  got:\n%s  expected (%s):\n%s", got, fixture, want);
    free(got);
    free(want);
}

static void test_summary(void)
{
    hand h;
    make_hand(&h, 1);
    CU_ASSERT_EQUAL(h.m.nparams, 267);
    CU_ASSERT_EQUAL(nn_model_trainable_params(&h.m), 259);
    expect_summary(&h, "resnet_short_summary.txt");   /* Keras's 98 columns exactly */
    free_hand(&h);
    make_hand(&h, 0);
    expect_summary(&h, "resnet_summary.txt");         /* long names: columns widened */
    free_hand(&h);
}

/* The Functional model_config of a graph: tf.keras 2.4's nesting, and it
 * reads back to the same graph. */
static void test_writer(void)
{
    hand h;
    nn_error e = {0};
    make_hand(&h, 0);
    char *json = nn_model_to_keras_json(&h.m, h.spec, &e);
    if (!json)
        fprintf(stderr, "  %s\n", e.msg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(json);
    cJSON *j = cJSON_Parse(json), *want = load_json("resnet_tf24.json");
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_PTR_NOT_NULL_FATAL(want);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(j, "class_name")->valuestring, "Functional");
    /* the same keys as the tf.keras 2.4 writer's at the top and per entry,
     * the same inbound_nodes, input_layers and output_layers */
    static const char *const same[] = {"input_layers", "output_layers", NULL};
    for (int i = 0; same[i]; i++) {
        char *a = cJSON_PrintUnformatted(cJSON_GetObjectItem(config(j), same[i]));
        char *b = cJSON_PrintUnformatted(cJSON_GetObjectItem(config(want), same[i]));
        CU_ASSERT_STRING_EQUAL(a, b);
        free(a);
        free(b);
    }
    const cJSON *L, *W = cJSON_GetObjectItem(config(want), "layers")->child;
    int n = 0;
    cJSON_ArrayForEach(L, cJSON_GetObjectItem(config(j), "layers")) {
        CU_ASSERT_PTR_NOT_NULL_FATAL(W);
        const cJSON *k1 = L->child, *k2 = W->child;
        for (; k1 && k2; k1 = k1->next, k2 = k2->next)
            CU_ASSERT_STRING_EQUAL(k1->string, k2->string);   /* key order too */
        CU_ASSERT(!k1 && !k2);
        char *a = cJSON_PrintUnformatted(cJSON_GetObjectItem(L, "inbound_nodes"));
        char *b = cJSON_PrintUnformatted(cJSON_GetObjectItem(W, "inbound_nodes"));
        CU_ASSERT_STRING_EQUAL(a, b);
        if (strcmp(a, b))
            fprintf(stderr, "  layer %d: inbound_nodes %s, expected %s\n", n, a, b);
        free(a);
        free(b);
        CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(L, "name")->valuestring,
                               cJSON_GetObjectItem(W, "name")->valuestring);
        /* batch_input_shape only on the InputLayer */
        CU_ASSERT_EQUAL(cJSON_HasObjectItem(cJSON_GetObjectItem(L, "config"),
                                            "batch_input_shape"), n == 0);
        W = W->next;
        n++;
    }
    CU_ASSERT_EQUAL(n, 10);
    cJSON_Delete(want);
    cJSON_Delete(j);

    /* what it wrote reads back to the same graph */
    kg_graph g;
    j = cJSON_Parse(json);
    TU_ASSERT_OK(kg_read(config(j), "w", &g, &e), e);
    expect_graph(&g, RESNET, RESNET_IN);
    kg_free(&g);
    cJSON_Delete(j);
    free(json);

    /* a layer that does not feed the output is dropped by the builder and
     * left out of the config; the spec's other calls still match */
    nn_model d;
    static const char *const dropped =
        "inp = Input(shape=(4,))\n"
        "a = Dense(3, name=\"a\")(inp)\n"
        "b = Dense(3, name=\"b\")(a)\n"
        "dead = Dense(5, name=\"dead\")(b)\n"
        "s = Add(name=\"s\")([a, b])\n"
        "out = Dense(2, name=\"out\")(s)\n"
        "model = Model(inp, out)\n";
    TU_ASSERT_OK(tu_build(dropped, &d, &e), e);
    CU_ASSERT_EQUAL(d.nlayers, 4);
    json = nn_model_to_keras_json(&d, dropped, &e);
    if (!json)
        fprintf(stderr, "  %s\n", e.msg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(json);
    CU_ASSERT(!strstr(json, "dead"));
    CU_ASSERT(tu_contains(json, "\"inbound_nodes\":[[[\"a\",0,0,{}],[\"b\",0,0,{}]]]"));
    j = cJSON_Parse(json);
    TU_ASSERT_OK(kg_read(config(j), "w", &g, &e), e);
    CU_ASSERT_EQUAL(g.n, 5);
    kg_free(&g);
    cJSON_Delete(j);
    free(json);
    nn_model_free(&d);

    /* a Sequential model is written as before */
    nn_model s;
    TU_ASSERT_OK(tu_build("Dense(2, input_shape=(3,))\n", &s, &e), e);
    json = nn_model_to_keras_json(&s, NULL, &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(json);
    CU_ASSERT(tu_contains(json, "{\"class_name\":\"Sequential\""));
    CU_ASSERT(!strstr(json, "inbound_nodes"));
    free(json);
    nn_model_free(&s);
    free_hand(&h);
}

/* Each writer's resnet and unet build: a graph with the file's names, its
 * parameter count and layer inputs; the tf.keras summary of the resnet. */
static void build_file(const char *file, size_t nparams, const char *const *names,
                       const char *const *ins, const char *summary)
{
    char path[512];
    nn_error e = {0};
    nn_spec s;
    nn_model m;
    snprintf(path, sizeof path, FIX "%s", file);
    char *json = slurp(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(json);
    TU_ASSERT_OK(nn_keras_json_to_spec(json, NULL, file, &s, &e), e);
    TU_ASSERT_OK(nn_model_build(&m, &s, &e), e);
    CU_ASSERT_EQUAL(m.graph, 1);
    CU_ASSERT_EQUAL(m.nparams, nparams);
    CU_ASSERT_EQUAL_FATAL(m.nlayers + 1, (int)(sizeof RESNET / sizeof RESNET[0]) - 1 -
                                             (names == UNET ? 3 : 0));
    for (int i = 0; i < m.nlayers; i++) {
        char got[32] = "";
        for (int j = 0, k = 0; j < m.layers[i].nin; j++)
            k += snprintf(got + k, sizeof got - (size_t)k, "%s%d", j ? "," : "",
                          m.layers[i].inp[j] + 1);   /* -1: the input, as node 0 */
        CU_ASSERT_STRING_EQUAL(m.layers[i].name, names[i + 1]);
        CU_ASSERT_STRING_EQUAL(got, ins[i]);
    }
    if (summary) {
        hand h = {.m = m};
        expect_summary(&h, summary);
    }
    nn_model_free(&m);
    nn_spec_free(&s);
    free(json);
}

static void test_build_files(void)
{
    static const char *const w[] = {"k222", "tf23", "tf24", "k3"};
    char f[64];
    for (int i = 0; i < 4; i++) {
        snprintf(f, sizeof f, "resnet_%s.json", w[i]);
        /* tf.keras 2.3/2.4 name the model "model" */
        build_file(f, 267, RESNET, RESNET_IN,
                   i == 1 || i == 2 ? "resnet_summary.txt" : NULL);
    }
    build_file("unet_k222.json", 206, UNET, UNET_IN, NULL);
    build_file("unet_k3.json", 206, UNET, UNET_IN, NULL);
}

static float *read_f32(const char *file, const char *name, size_t *n)
{
    hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = f >= 0 ? H5Dopen2(f, name, H5P_DEFAULT) : -1;
    hid_t sp = d >= 0 ? H5Dget_space(d) : -1;
    hssize_t np = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    float *buf = np > 0 ? malloc((size_t)np * sizeof *buf) : NULL;
    if (buf && H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        free(buf);
        buf = NULL;
    }
    if (sp >= 0)
        H5Sclose(sp);
    if (d >= 0)
        H5Dclose(d);
    if (f >= 0)
        H5Fclose(f);
    *n = buf ? (size_t)np : 0;
    return buf;
}

/* forward of m on the fixture's x, against its PyTorch y */
static void expect_outputs(nn_model *m, const char *what)
{
    nn_error e = {0};
    nn_ctx ctx;
    size_t nx, ny;
    float *x = read_f32(FIX "resnet_expect.h5", "x", &nx);
    float *y = read_f32(FIX "resnet_expect.h5", "y", &ny);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    CU_ASSERT_PTR_NOT_NULL_FATAL(y);
    int B = (int)(nx / nn_model_in_size(m));
    CU_ASSERT_EQUAL_FATAL((size_t)B * nn_model_out_size(m), ny);
    memset(&ctx, 0, sizeof ctx);
    TU_ASSERT_OK(nn_model_plan(m, B, &e), e);
    tu_assert_close(what, nn_model_forward(m, x, B, &ctx), y, ny, 1e-5);
    free(x);
    free(y);
}

/* tf.keras 2.4's .h5 of the resnet loads (weights by layer name, BN's four)
 * and predicts as PyTorch; saved by nntrain, it loads back through its
 * spec and through the Functional model_config alone, with the same
 * outputs. */
static void test_h5_roundtrip(void)
{
    nn_error e = {0};
    nn_model m, m2;
    char path[600];
    TU_ASSERT_OK(nn_ckpt_load_model(FIX "resnet_tf24.h5", &m, &e), e);
    CU_ASSERT_EQUAL(m.graph, 1);
    CU_ASSERT_STRING_EQUAL(m.name, "model");
    CU_ASSERT_EQUAL(nn_model_trainable_params(&m), 259);
    expect_outputs(&m, "resnet_tf24.h5");
    char *spec = nn_ckpt_read_spec(FIX "resnet_tf24.h5", &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(spec);
    /* "add" is also the name of Keras's add([...]): the variable is t6 */
    CU_ASSERT(tu_contains(spec, "t6 = Add(name=\"add\")([conv2d_1, conv2d_2])\n"));

    const char *dir = tu_tmpdir();
    for (int keras_only = 0; keras_only < 2; keras_only++) {
        snprintf(path, sizeof path, "%s/rt%d.h5", dir, keras_only);
        TU_ASSERT_OK(nn_ckpt_save(path, &m, spec, NULL, NULL, &e), e);
        if (keras_only) {   /* no /nntrain: it loads from its model_config */
            hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
            CU_ASSERT(f >= 0 && H5Ldelete(f, "nntrain", H5P_DEFAULT) >= 0);
            CU_ASSERT(f >= 0 && H5Fclose(f) >= 0);
        }
        TU_ASSERT_OK(nn_ckpt_load_model(path, &m2, &e), e);
        CU_ASSERT_EQUAL(m2.graph, 1);
        CU_ASSERT_EQUAL(m2.nparams, m.nparams);
        CU_ASSERT(memcmp(m2.params, m.params, m.nparams * sizeof(float)) == 0);
        expect_outputs(&m2, keras_only ? "reloaded from model_config" : "reloaded");
        nn_model_free(&m2);
        unlink(path);
    }
    rmdir(dir);
    free(spec);
    nn_model_free(&m);
}

/* A real tf.keras 2.4 functional file (../shared/data/keras-real, skipped
 * when absent): loaded, saved by nntrain to NN_BINARY_DIR/kfunc_real.h5
 * (scripts/check_keras_func.py then compares its model_config with the
 * real one's: keys and nesting) and loaded back with the same outputs. */
static void test_real_file(void)
{
    static const char *const dirs[] = {NN_SOURCE_DIR "/../shared/data/keras-real",
                                       NN_SOURCE_DIR "/../../shared/data/keras-real"};
    const char *name = "tfkeras240_functional_unet_concat_upsample.h5";
    const char *out = NN_BINARY_DIR "/kfunc_real.h5";
    char path[1024];
    unlink(out);   /* never a stale one for the structure check */
    path[0] = 0;
    for (int i = -1; i < 2 && !path[0]; i++) {
        const char *d = i < 0 ? getenv("NN_KERAS_REAL") : dirs[i];
        if (d && d[0]) {
            snprintf(path, sizeof path, "%s/%s", d, name);
            if (access(path, R_OK))
                path[0] = 0;
        }
    }
    if (!path[0]) {
        fprintf(stderr, "  note: %s not found: skipped\n", name);
        return;
    }
    nn_error e = {0};
    nn_model m, m2;
    TU_ASSERT_OK(nn_ckpt_load_model(path, &m, &e), e);
    char *spec = nn_ckpt_read_spec(path, &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(spec);
    TU_ASSERT_OK(nn_ckpt_save(out, &m, spec, NULL, NULL, &e), e);
    TU_ASSERT_OK(nn_ckpt_load_model(out, &m2, &e), e);
    CU_ASSERT_EQUAL(m2.nparams, 93889);
    CU_ASSERT(memcmp(m2.params, m.params, m.nparams * sizeof(float)) == 0);
    int B = 2;
    size_t nx = (size_t)B * nn_model_in_size(&m), ny = (size_t)B * nn_model_out_size(&m);
    float *x = malloc(nx * sizeof *x), *y = malloc(ny * sizeof *y);
    nn_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    tu_fill_uniform(x, nx, 5, 0.0f, 1.0f);
    TU_ASSERT_OK(nn_model_plan(&m, B, &e), e);
    TU_ASSERT_OK(nn_model_plan(&m2, B, &e), e);
    memcpy(y, nn_model_forward(&m, x, B, &ctx), ny * sizeof *y);
    CU_ASSERT(memcmp(nn_model_forward(&m2, x, B, &ctx), y, ny * sizeof *y) == 0);
    free(x);
    free(y);
    free(spec);
    nn_model_free(&m2);
    nn_model_free(&m);
}

int main(void)
{
    static const tu_test tests[] = {
        {"graph from Keras 2.2, tf.keras 2.3/2.4 and Keras 3 configs", test_graph_writers},
        {"layers out of order are sorted", test_graph_order},
        {"graphs nntrain cannot run are refused, naming the layer", test_graph_errors},
        {"functional JSON -> spec calls with inputs", test_import_chain},
        {"layer names that are not spec variables", test_import_names},
        {"importer messages on functional files", test_import_errors},
        {"functional summary table (tf.keras 2.x rules)", test_summary},
        {"Functional model_config of a graph", test_writer},
        {"each writer's resnet and unet build as graphs", test_build_files},
        {"tf.keras 2.4 .h5: load, predict as PyTorch, save, load back", test_h5_roundtrip},
        {"a real tf.keras 2.4 functional file: save, load back", test_real_file},
        {NULL, NULL},
    };
    return tu_main("keras_func", tests);
}
