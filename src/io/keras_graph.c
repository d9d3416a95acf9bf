/* The graph of a functional Keras model_config (see keras_graph.h). A
 * layer's inbound_nodes hold one node per call of the layer; a node lists
 * the tensors the call took, each naming (layer, node_index, tensor_index):
 *   Keras 2 / tf.keras:  [[["conv2d", 0, 0, {}], ["bn", 0, 0, {}]]]
 *   Keras 3 (tf.keras 2.13+ too):  [{"args": [{"class_name": "__keras_tensor__",
 *       "config": {"keras_history": ["conv2d", 0, 0]}}], "kwargs": {}}]
 *     with a merge's tensors in a list inside args.
 * input_layers/output_layers are [[name, 0, 0]], Keras 3's bare
 * [name, 0, 0] for one tensor, or tf.keras 2.3's {"key": [name, 0, 0]} for
 * named inputs. nntrain runs each layer once on one input, so a second call
 * of a layer (shared weights) and everything with several inputs or
 * outputs are refused here, naming the layer.
 * The spec is written in the Python functional spelling the spec parser
 * reads (x = Conv2D(...)(y), Add()([a, b]), Model(inputs=, outputs=)), one
 * line per layer (line N is the N-th layer in topological order, which is
 * config.layers[N - 1] in a file Keras wrote), then the Model line and
 * compile; checkpoints keep that text. The parse is checked against the
 * graph read here. At the end: the pieces keras_export.c writes for a graph
 * model (inbound_nodes, input_layers, output_layers). */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/keras_graph.h"
#include "io/keras_json.h"
#include "nntrain/strbuf.h"

typedef struct kctx {
    const char *where;
    nn_error *e;
    int n;                    /* entries of config.layers */
    kg_node *file;            /* in file order; in[] are file positions */
} kctx;

static int gerr(kctx *c, const kg_node *nd, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int gerr(kctx *c, const kg_node *nd, int code, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (nd)
        return nn_err(c->e, code, "%s: Keras layer '%s' (%s): %s", c->where, nd->name, nd->cls,
                      msg);
    return nn_err(c->e, code, "%s: %s", c->where, msg);
}

static const char *shown(const cJSON *v, char *buf, size_t len)
{
    char *s = cJSON_PrintUnformatted(v);
    snprintf(buf, len, "%s", s ? s : "?");
    if (s && strlen(s) >= len && len > 4)
        strcpy(buf + len - 4, "...");
    free(s);
    return buf;
}

static int find(const kctx *c, const char *name)
{
    for (int i = 0; i < c->n; i++)
        if (!strcmp(c->file[i].name, name))
            return i;
    return -1;
}

/* Call keyword arguments: only null ones (Keras 3's "mask": null) leave
 * the computation as nntrain runs it; training=False on a BatchNormalization
 * would not. */
static int check_kwargs(kctx *c, const kg_node *nd, const cJSON *kw)
{
    char buf[120];
    const cJSON *v;
    if (!kw || cJSON_IsNull(kw))
        return NN_OK;
    if (!cJSON_IsObject(kw))
        return gerr(c, nd, NN_EFORMAT, "call arguments %s: expected an object",
                    shown(kw, buf, sizeof buf));
    cJSON_ArrayForEach(v, kw) if (!cJSON_IsNull(v))
        return gerr(c, nd, NN_EINVAL, "it is called with %s=%s, which nntrain does not support "
                    "(layers are called on their input tensors only)", v->string,
                    shown(v, buf, sizeof buf));
    return NN_OK;
}

/* One tensor reference [name, node_index, tensor_index] -> nd's next input. */
static int add_ref(kctx *c, kg_node *nd, const cJSON *ref)
{
    char buf[160];
    const cJSON *nm = cJSON_GetArrayItem(ref, 0), *ni = cJSON_GetArrayItem(ref, 1),
                *ti = cJSON_GetArrayItem(ref, 2);
    if (!cJSON_IsArray(ref) || !cJSON_IsString(nm) || !cJSON_IsNumber(ni) || !cJSON_IsNumber(ti))
        return gerr(c, nd, NN_EFORMAT, "inbound tensor %s: expected [layer name, node index, "
                    "tensor index]", shown(ref, buf, sizeof buf));
    int k = find(c, nm->valuestring);
    if (k < 0)
        return gerr(c, nd, NN_EINVAL, "its input '%s' is not a layer of the model (no entry of "
                    "config.layers has that name)", nm->valuestring);
    if (ni->valuedouble != 0)
        return gerr(c, nd, NN_EINVAL, "it takes the output of call %.0f of layer '%s', a layer "
                    "called more than once (shared weights): not supported, each layer must be "
                    "called once", ni->valuedouble, nm->valuestring);
    if (ti->valuedouble != 0)
        return gerr(c, nd, NN_EINVAL, "it takes output %.0f of layer '%s': layers with several "
                    "outputs are not supported", ti->valuedouble, nm->valuestring);
    if (nd->nin >= NN_MAX_INPUTS)
        return gerr(c, nd, NN_EINVAL, "more than %d inputs are not supported", NN_MAX_INPUTS);
    nd->in[nd->nin++] = k;
    return NN_OK;
}

/* Keras 3 call arguments: tensors, and lists of tensors for merges. */
static int add_args(kctx *c, kg_node *nd, const cJSON *v, int depth)
{
    char buf[160];
    const cJSON *cls = cJSON_GetObjectItemCaseSensitive(v, "class_name"), *it;
    if (cJSON_IsArray(v) && depth < 3) {
        cJSON_ArrayForEach(it, v) {
            int rc = add_args(c, nd, it, depth + 1);
            if (rc)
                return rc;
        }
        return NN_OK;
    }
    if (cJSON_IsObject(v) && cJSON_IsString(cls) && !strcmp(cls->valuestring, "__keras_tensor__"))
        return add_ref(c, nd, cJSON_GetObjectItemCaseSensitive(
                                  cJSON_GetObjectItemCaseSensitive(v, "config"), "keras_history"));
    return gerr(c, nd, NN_EINVAL, "call argument %s is not a tensor: not supported",
                shown(v, buf, sizeof buf));
}

/* The layer's inbound_nodes -> nd->in[] (file positions). */
static int read_node(kctx *c, kg_node *nd)
{
    char buf[160];
    const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(nd->layer, "inbound_nodes"), *node, *t;
    int calls = cJSON_GetArraySize(nodes), input = !strcmp(nd->cls, "InputLayer"), rc = NN_OK;
    if (nodes && !cJSON_IsArray(nodes))
        return gerr(c, nd, NN_EFORMAT, "inbound_nodes %s: expected a list",
                    shown(nodes, buf, sizeof buf));
    if (input)
        return NN_OK;
    if (calls == 0)
        return gerr(c, nd, NN_EINVAL, "no inbound_nodes: the layer is not connected to the "
                    "model's input");
    if (calls > 1)
        return gerr(c, nd, NN_EINVAL, "it is called %d times (a shared layer): not supported, "
                    "each layer must be called once", calls);
    node = nodes->child;
    if (cJSON_IsArray(node)) {           /* Keras 2: [[name, 0, 0, {kwargs}], ...] */
        cJSON_ArrayForEach(t, node) {
            if (!rc)
                rc = add_ref(c, nd, t);
            if (!rc)
                rc = check_kwargs(c, nd, cJSON_GetArrayItem(t, 3));
        }
    } else if (cJSON_IsObject(node)) {   /* Keras 3: {"args": [...], "kwargs": {...}} */
        const cJSON *args = cJSON_GetObjectItemCaseSensitive(node, "args");
        if (!cJSON_IsArray(args))
            return gerr(c, nd, NN_EFORMAT, "inbound node %s: expected {\"args\": [...], "
                        "\"kwargs\": {...}}", shown(node, buf, sizeof buf));
        rc = add_args(c, nd, args, 0);
        if (!rc)
            rc = check_kwargs(c, nd, cJSON_GetObjectItemCaseSensitive(node, "kwargs"));
    } else {
        return gerr(c, nd, NN_EFORMAT, "inbound node %s: expected a list of tensors or "
                    "{\"args\": [...]}", shown(node, buf, sizeof buf));
    }
    if (!rc && nd->nin == 0)
        rc = gerr(c, nd, NN_EINVAL, "its inbound node takes no tensor");
    return rc;
}

/* input_layers / output_layers: the one layer they name. */
static int one_end(kctx *c, const cJSON *cf, const char *key, int *out)
{
    char buf[160];
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cf, key), *it;
    const char *names[2] = {NULL, NULL};
    int n = 0;
    if (cJSON_IsArray(v) && cJSON_IsString(cJSON_GetArrayItem(v, 0))) {
        names[n++] = v->child->valuestring;   /* Keras 3: one bare [name, 0, 0] */
    } else if (cJSON_IsArray(v) || cJSON_IsObject(v)) {
        cJSON_ArrayForEach(it, v) {           /* [[name, 0, 0], ...] or {"key": [...]} */
            const cJSON *nm = cJSON_GetArrayItem(it, 0);
            if (!cJSON_IsString(nm))
                return gerr(c, NULL, NN_EFORMAT, "%s %s: expected [[layer name, 0, 0]]", key,
                            shown(v, buf, sizeof buf));
            if (n < 2)
                names[n] = nm->valuestring;
            n++;
        }
    } else {
        return gerr(c, NULL, NN_EFORMAT, "%s %s: expected [[layer name, 0, 0]]", key,
                    shown(v, buf, sizeof buf));
    }
    if (n != 1)
        return gerr(c, NULL, NN_EINVAL, "the model has %d %s (%s): nntrain supports models with "
                    "one input and one output", n, key, shown(v, buf, sizeof buf));
    if ((*out = find(c, names[0])) < 0)
        return gerr(c, NULL, NN_EINVAL, "%s names '%s', which is not a layer of the model", key,
                    names[0]);
    return NN_OK;
}

/* A layer on a cycle, found from a layer left over by the sort: walk its
 * unplaced inputs until one repeats. */
static int on_cycle(const kctx *c, const int *pos, int start)
{
    int k = start;
    for (int step = 0; step < c->n; step++) {
        const kg_node *nd = &c->file[k];
        for (int j = 0; j < nd->nin; j++)
            if (pos[nd->in[j]] < 0) {
                k = nd->in[j];
                break;
            }
    }
    return k;   /* after n steps the walk is inside the cycle */
}

int kg_read(const cJSON *cf, const char *where, kg_graph *g, nn_error *e)
{
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(cf, "layers"), *L;
    kctx c = {.where = where, .e = e, .n = cJSON_GetArraySize(layers)};
    char buf[160];
    int rc = NN_OK, in = -1, out = -1, k = 0, *pos = NULL, ninput = 0;
    memset(g, 0, sizeof *g);
    if (!cJSON_IsArray(layers) || c.n == 0)
        return gerr(&c, NULL, NN_EFORMAT, "model_config has no layers (expected config.layers "
                    "[...])");
    c.file = calloc((size_t)c.n, sizeof *c.file);
    pos = malloc((size_t)c.n * sizeof *pos);
    g->nodes = calloc((size_t)c.n, sizeof *g->nodes);
    if (!c.file || !pos || !g->nodes)
        rc = nn_err(e, NN_ENOMEM, "out of memory");
    cJSON_ArrayForEach(L, layers) {
        if (rc)
            break;
        kg_node *nd = &c.file[k++];
        const cJSON *cls = cJSON_GetObjectItemCaseSensitive(L, "class_name");
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(L, "name");
        if (!cJSON_IsString(nm))
            nm = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(L, "config"),
                                                  "name");
        if (!cJSON_IsObject(L) || !cJSON_IsString(cls) || !cJSON_IsString(nm))
            rc = gerr(&c, NULL, NN_EFORMAT, "layer %s: expected {\"class_name\": ..., \"name\": "
                      "..., \"config\": {...}, \"inbound_nodes\": [...]}",
                      shown(L, buf, sizeof buf));
        else {
            nd->layer = L;
            nd->cls = cls->valuestring;
            nd->name = nm->valuestring;
            ninput += !strcmp(nd->cls, "InputLayer");
            int twice = find(&c, nd->name);   /* the entries before this one */
            if (twice >= 0 && twice < k - 1)
                rc = gerr(&c, nd, NN_EFORMAT, "the name is used by two entries of config.layers");
        }
    }
    for (int i = 0; i < c.n && !rc; i++)
        rc = read_node(&c, &c.file[i]);
    if (!rc)
        rc = one_end(&c, cf, "input_layers", &in);
    if (!rc)
        rc = one_end(&c, cf, "output_layers", &out);
    if (!rc && strcmp(c.file[in].cls, "InputLayer"))
        rc = gerr(&c, &c.file[in], NN_EINVAL, "input_layers names it, but it is not an "
                  "InputLayer");
    if (!rc && ninput != 1)
        rc = gerr(&c, NULL, NN_EINVAL, "the model has %d InputLayers: nntrain supports models "
                  "with one input", ninput);
    /* Kahn's order, earliest file position first: a file in topological
     * order (Keras writes them so) keeps its order and line numbers */
    for (int i = 0; i < c.n && !rc; i++)
        pos[i] = -1;
    for (g->n = 0; g->n < c.n && !rc;) {
        int pick = -1;
        for (int i = 0; i < c.n && pick < 0; i++) {
            int ready = pos[i] < 0;
            for (int j = 0; ready && j < c.file[i].nin; j++)
                ready = pos[c.file[i].in[j]] >= 0;
            if (ready)
                pick = i;
        }
        if (pick < 0) {
            int s = 0;
            while (pos[s] >= 0)
                s++;
            rc = gerr(&c, &c.file[on_cycle(&c, pos, s)], NN_EINVAL, "its inbound_nodes form a "
                      "cycle (a layer that takes its own output, through other layers)");
            break;
        }
        pos[pick] = g->n;
        g->nodes[g->n++] = c.file[pick];
    }
    for (int i = 0; i < g->n && !rc; i++)
        for (int j = 0; j < g->nodes[i].nin; j++)
            g->nodes[i].in[j] = pos[g->nodes[i].in[j]];
    /* every layer must lead to the output, which then comes last */
    if (!rc) {
        char *need = calloc((size_t)c.n, 1);
        if (!need)
            rc = nn_err(e, NN_ENOMEM, "out of memory");
        for (int i = c.n - 1; i >= 0 && !rc; i--) {
            need[i] |= i == pos[out];
            for (int j = 0; need[i] && j < g->nodes[i].nin; j++)
                need[g->nodes[i].in[j]] = 1;
        }
        for (int i = 0; i < c.n && !rc; i++)
            if (!need[i])
                rc = gerr(&c, &g->nodes[i], NN_EINVAL, "the layer does not lead to the model's "
                          "output '%s': nntrain supports one output", c.file[out].name);
        free(need);
    }
    free(pos);
    free(c.file);
    if (rc)
        kg_free(g);
    return rc;
}

void kg_free(kg_graph *g)
{
    free(g->nodes);
    memset(g, 0, sizeof *g);
}

/* A spec variable for layer k: its name when that is a plain identifier no
 * call or R marker could take for something else, else t<k> (unique). */
static void var_name(const kg_graph *g, int k, char *out, size_t len)
{
    static const char *const reserved[] = {
        "True", "False", "None", "TRUE", "FALSE", "NULL", "NA", "Inf", "NaN", "model", "Model",
        "Input", "compile", "fit", "and", "or", "not", "in", "is", "if", "else", "elif", "for",
        "while", "lambda", "function", "import", "from", "as", "with", "def", "class", "return",
        "pass", "del", "global", "try", "except", "raise", "library", "require", "print",
        "cat", "plot", "summary", "set", "tf", "keras", "layers", "np", NULL};
    const char *nm = g->nodes[k].name;
    int ok = (nm[0] == '_' || isalpha((unsigned char)nm[0])) && strlen(nm) < len &&
             strlen(nm) < 64 && strncmp(nm, "layer_", 6) && !nn_layer_find(nm);
    for (const char *q = nm; ok && *q; q++)
        ok = *q == '_' || isalnum((unsigned char)*q);
    for (int i = 0; ok && reserved[i]; i++)
        ok = strcmp(nm, reserved[i]) != 0;
    if (ok) {
        snprintf(out, len, "%s", nm);
        return;
    }
    int n = snprintf(out, len, "t%d", k);
    for (int i = 0; i < g->n && n > 0 && (size_t)n + 1 < len; i++)
        if (!strcmp(out, g->nodes[i].name)) {
            out[n++] = '_';
            out[n] = 0;
            i = -1;
        }
}

/* Whether the parsed spec is the graph: call k is layer k with its inputs,
 * call n the Model taking the last layer (the parser's work, checked). */
static int same_graph(const kg_graph *g, const nn_spec *s)
{
    if (s->ncalls <= g->n || strcmp(s->calls[g->n].fn, "Model") ||
        s->calls[g->n].ninputs != 1 || s->calls[g->n].inputs[0] != g->n - 1)
        return 0;
    for (int k = 0; k < g->n; k++) {
        const nn_call *c = &s->calls[k];
        if ((k == 0) != !strcmp(c->fn, "Input") || c->ninputs != g->nodes[k].nin)
            return 0;
        for (int j = 0; j < c->ninputs; j++)
            if (c->inputs[j] != g->nodes[k].in[j])
                return 0;
    }
    return 1;
}

int kj_functional_spec(jctx *c, const cJSON *cf, const cJSON *tc, nn_spec *out)
{
    kg_graph g;
    char (*var)[72] = NULL, model[72] = "model";
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(cf, "name");
    int rc = kg_read(cf, c->where, &g, c->e);
    if (!rc && !(var = calloc((size_t)g.n, sizeof *var)))
        rc = nn_err(c->e, NN_ENOMEM, "out of memory");
    for (int k = 0; k < g.n && !rc; k++) {
        var_name(&g, k, var[k], sizeof var[k]);
        if (!strcmp(var[k], model))
            snprintf(model, sizeof model, "model_");
    }
    for (int k = 0; k < g.n && !rc; k++) {
        const kg_node *nd = &g.nodes[k];
        nn_strbuf_printf(c->b, "%s = ", var[k]);
        if ((rc = kj_emit_layer(c, nd->layer)))
            break;
        for (int j = 0; j < nd->nin; j++)
            nn_strbuf_printf(c->b, "%s%s", j ? ", " : nd->nin > 1 ? "([" : "(", var[nd->in[j]]);
        nn_strbuf_printf(c->b, nd->nin > 1 ? "])\n" : nd->nin ? ")\n" : "\n");
    }
    if (!rc) {
        nn_strbuf_printf(c->b, "%s = Model(inputs=%s, outputs=%s", model, var[0], var[g.n - 1]);
        if (cJSON_IsString(name) && !strpbrk(name->valuestring, "\"\n\r"))
            nn_strbuf_printf(c->b, ", name=\"%s\"", name->valuestring);
        nn_strbuf_printf(c->b, ")\n");
        if (tc)
            rc = kj_emit_compile(c, tc);
    }
    if (!rc && c->b->oom)
        rc = nn_err(c->e, NN_ENOMEM, "%s: out of memory", c->where);
    if (!rc)
        rc = nn_spec_parse(c->b->s, c->where, out, c->e);
    if (!rc && !same_graph(&g, out)) {
        nn_spec_free(out);
        rc = nn_err(c->e, NN_EINVAL, "%s: internal error: the spec written for the functional "
                    "model does not parse back to its graph", c->where);
    }
    free(var);
    kg_free(&g);
    return rc;
}

/* ---- writing: the Functional model_config of a graph model ----------- */

/* [name, 0, 0] (an entry of input_layers, output_layers) or, with kwargs,
 * one inbound tensor [name, 0, 0, {}] as tf.keras 2.x writes it. */
static cJSON *tensor_ref(const char *name, int kwargs)
{
    cJSON *a = cJSON_CreateArray();
    for (int k = 0; a && k < 3 + kwargs; k++) {
        cJSON *it = k == 0 ? cJSON_CreateString(name) : k < 3 ? cJSON_CreateNumber(0)
                                                              : cJSON_CreateObject();
        if (!(it && cJSON_AddItemToArray(a, it))) {
            cJSON_Delete(it);
            cJSON_Delete(a);
            return NULL;
        }
    }
    return a;
}

int kg_add_inbound(cJSON *L, const nn_model *m, const nn_layer *l)
{
    cJSON *nodes = NULL, *node = NULL;
    if (!cJSON_AddStringToObject(L, "name", l->name) ||
        !(nodes = cJSON_AddArrayToObject(L, "inbound_nodes")))
        return 0;
    node = cJSON_CreateArray();
    if (!(node && cJSON_AddItemToArray(nodes, node))) {
        cJSON_Delete(node);
        return 0;
    }
    for (int k = 0; k < l->nin; k++) {
        int p = l->inp[k];
        cJSON *t = tensor_ref(p < 0 ? nn_model_input_name(m) : m->layers[p].name, 1);
        if (!(t && cJSON_AddItemToArray(node, t))) {
            cJSON_Delete(t);
            return 0;
        }
    }
    return 1;
}

int kg_add_ends(cJSON *cf, const nn_model *m)
{
    for (int k = 0; k < 2; k++) {
        cJSON *list = cJSON_CreateArray();
        cJSON *t = tensor_ref(k ? m->layers[m->nlayers - 1].name : nn_model_input_name(m), 0);
        if (!(list && t && cJSON_AddItemToArray(list, t))) {
            cJSON_Delete(t);
            cJSON_Delete(list);
            return 0;
        }
        if (!cJSON_AddItemToObject(cf, k ? "output_layers" : "input_layers", list)) {
            cJSON_Delete(list);
            return 0;
        }
    }
    return 1;
}

char *kg_feeds_output(const nn_spec *s)
{
    char *used = calloc((size_t)s->ncalls + 1, 1);
    int model = -1;
    for (int i = 0; used && i < s->ncalls; i++)
        if (s->calls[i].ninputs == 1 && (!strcmp(s->calls[i].fn, "Model") ||
                                         !strcmp(s->calls[i].fn, "keras_model") ||
                                         !strcmp(s->calls[i].fn, "Functional")))
            model = i;
    for (int i = 0; used && i < s->ncalls; i++)
        used[i] = model < 0;
    if (used && model >= 0) {
        used[model] = 1;
        for (int i = model; i >= 0; i--)
            for (int k = 0; used[i] && k < s->calls[i].ninputs; k++)
                if (s->calls[i].inputs[k] >= 0 && s->calls[i].inputs[k] < s->ncalls)
                    used[s->calls[i].inputs[k]] = 1;
    }
    return used;
}
