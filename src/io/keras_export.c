/* nntrain model -> Keras 2 JSON (the other direction: keras_json.c): the
 * model_config and training_config that TF 2.x Keras writes, so model_from_json
 * and load_model accept them: an InputLayer with batch_input_shape, every
 * layer config with the keys Keras needs, initialisers as
 * {"class_name": "GlorotUniform", "config": {"seed": null}}, legacy
 * optimizer configs. Names and shapes come from the built model; the options
 * it does not keep (strides, padding, pool size, rate, initialisers) from
 * the spec call that built each layer. Layers beyond the six Keras 2 core
 * ones and the pooling layers (Embedding, LSTM, ZeroPadding2D, ...) export
 * the options their spec call gave, under the same (Keras) names. */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "io/keras_graph.h"
#include "nntrain/args.h"
#include "nntrain/keras.h"

/* cJSON_Add* return NULL on failure; ok collects that. */
#define ADD(call) ok = ok && (call) != NULL
#define ADDI(obj, key, item)                                                            \
    do {                                                                                \
        cJSON *it_ = (item);                                                            \
        if (!(it_ && ok && cJSON_AddItemToObject(obj, key, it_))) {                     \
            cJSON_Delete(it_);                                                          \
            ok = 0;                                                                     \
        }                                                                               \
    } while (0)

static const char *const core_kinds[] = {"Dense", "Conv2D", "MaxPooling2D", "Dropout",
                                         "Flatten", "Activation", "AveragePooling2D",
                                         "GlobalAveragePooling2D", "GlobalMaxPooling2D", NULL};

/* MaxPooling2D and AveragePooling2D: the same keys. */
static int is_pool(const char *kind)
{
    return !strcmp(kind, "MaxPooling2D") || !strcmp(kind, "AveragePooling2D");
}

static int is_global_pool(const char *kind)
{
    return !strcmp(kind, "GlobalAveragePooling2D") || !strcmp(kind, "GlobalMaxPooling2D");
}

static int is_core(const char *kind)
{
    for (int i = 0; core_kinds[i]; i++)
        if (!strcmp(kind, core_kinds[i]))
            return 1;
    return 0;
}

/* Binds a layer's spec call as nn_layer_create does; names is storage for
 * NN_MAX_ARGS + 1 pointers that must outlive a. */
static int bind_call(const nn_layer *l, const nn_call *c, const char **names, nn_args *a,
                     nn_error *e)
{
    static const char *const common[] = {"input_shape", "input_dim", "name", "trainable", NULL};
    int n = 0;
    for (int i = 0; l->ops->arg_names && l->ops->arg_names[i] && n < NN_MAX_ARGS - 9; i++)
        names[n++] = l->ops->arg_names[i];
    for (int i = 0; common[i]; i++)
        names[n++] = common[i];
    for (int i = 0; nn_reg_options[i]; i++)
        names[n++] = nn_reg_options[i];
    names[n] = NULL;
    return nn_args_bind(a, c, names, l->ops->arg_aliases, e);
}

/* The options of a core layer the model does not keep. */
typedef struct lopts {
    int st[2], pool[2], pst[2], same, has_seed, seed;
    double rate;
    const char *kinit, *binit;
} lopts;

static int layer_opts(const nn_layer *l, const nn_call *c, lopts *o, nn_error *e)
{
    static const int one[2] = {1, 1}, two[2] = {2, 2};
    const char *pad = "valid", *names[NN_MAX_ARGS + 1];
    const char *kind = l->ops->kind;
    nn_args a;
    int rc;
    memset(o, 0, sizeof *o);
    o->st[0] = o->st[1] = 1;
    o->pool[0] = o->pool[1] = o->pst[0] = o->pst[1] = 2;
    o->kinit = "glorot_uniform";
    o->binit = "zeros";
    if (!c)
        return NN_OK;
    if ((rc = bind_call(l, c, names, &a, e)))
        return rc;
    if (!strcmp(kind, "Conv2D")) {
        rc = nn_args_ints(&a, "strides", 2, one, o->st, e);
        if (!rc)
            rc = nn_args_str(&a, "padding", "valid", &pad, e);
    } else if (is_pool(kind)) {
        rc = nn_args_ints(&a, "pool_size", 2, two, o->pool, e);
        if (!rc)
            rc = nn_args_ints(&a, "strides", 2, o->pool, o->pst, e);
        if (!rc)
            rc = nn_args_str(&a, "padding", "valid", &pad, e);
    } else if (!strcmp(kind, "Dropout")) {
        rc = nn_args_double(&a, "rate", 0.0, &o->rate, e);
        if (!rc && nn_args_has(&a, "seed")) {
            o->has_seed = 1;
            rc = nn_args_int(&a, "seed", 0, &o->seed, e);
        }
    }
    if (!rc && (!strcmp(kind, "Conv2D") || !strcmp(kind, "Dense"))) {
        rc = nn_args_str(&a, "kernel_initializer", o->kinit, &o->kinit, e);
        if (!rc)
            rc = nn_args_str(&a, "bias_initializer", o->binit, &o->binit, e);
    }
    o->same = pad && !strcasecmp(pad, "same");
    return rc;
}

/* Options of a layer built without a spec: only what its shapes decide. */
static int infer_opts(const nn_layer *l, lopts *o, nn_error *e)
{
    const char *kind = l->ops->kind;
    if (!strcmp(kind, "Dense") || !strcmp(kind, "Flatten") || !strcmp(kind, "Activation") ||
        is_global_pool(kind))
        return NN_OK;
    if (!strcmp(kind, "Conv2D")) {
        nn_param_spec ps[NN_MAX_PARAM_SPECS];
        l->ops->param_specs(l, ps);
        int KH = ps[0].dims[0], KW = ps[0].dims[1];
        if (l->out.d[0] == l->in.d[0] - KH + 1 && l->out.d[1] == l->in.d[1] - KW + 1)
            return NN_OK;
        if (l->out.d[0] == l->in.d[0] && l->out.d[1] == l->in.d[1]) {
            o->same = 1;
            return NN_OK;
        }
    }
    return nn_err(e, NN_EINVAL, "layer '%s' (%s): its Keras options (strides, padding, pool "
                  "size, rate, ...) are not kept in the model: pass the model's spec text",
                  l->name, kind);
}

/* {"class_name": "GlorotUniform", "config": {"seed": null}} and friends. */
static cJSON *init_json(const char *name)
{
    static const struct {
        const char *name, *cls;
        int seed;
    } map[] = {{"glorot_uniform", "GlorotUniform", 1}, {"glorot_normal", "GlorotNormal", 1},
               {"he_normal", "HeNormal", 1}, {"he_uniform", "HeUniform", 1},
               {"zeros", "Zeros", 0}, {"ones", "Ones", 0}, {"orthogonal", "Orthogonal", 1},
               {"uniform", "RandomUniform", 1}, {"random_uniform", "RandomUniform", 1}};
    char camel[64];
    const char *cls = NULL;
    int seed = 0, ok = 1;
    for (size_t i = 0; i < sizeof map / sizeof map[0] && !cls; i++)
        if (!strcasecmp(name, map[i].name)) {
            cls = map[i].cls;
            seed = map[i].seed;
        }
    if (!cls) {   /* some_name -> SomeName, default config */
        size_t k = 0;
        for (int up = 1; *name && k + 1 < sizeof camel; name++) {
            if (*name == '_') {
                up = 1;
                continue;
            }
            camel[k++] = up ? (char)toupper((unsigned char)*name) : *name;
            up = 0;
        }
        camel[k] = 0;
        cls = camel;
    }
    cJSON *o = cJSON_CreateObject(), *cf = NULL;
    ok = o != NULL;
    ADD(cJSON_AddStringToObject(o, "class_name", cls));
    ADDI(o, "config", cf = cJSON_CreateObject());
    if (!strcmp(cls, "RandomUniform")) {
        ADD(cJSON_AddNumberToObject(cf, "minval", -0.05));
        ADD(cJSON_AddNumberToObject(cf, "maxval", 0.05));
    } else if (!strcmp(cls, "Orthogonal")) {
        ADD(cJSON_AddNumberToObject(cf, "gain", 1.0));
    }
    if (seed)
        ADD(cJSON_AddNullToObject(cf, "seed"));
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static cJSON *pair(int a, int b)
{
    int v[2] = {a, b};
    return cJSON_CreateIntArray(v, 2);
}

static cJSON *batch_shape(const nn_shape *s)
{
    cJSON *a = cJSON_CreateArray();
    int ok = a != NULL;
    for (int i = -1; ok && i < s->n; i++) {   /* [null, d1, ...] */
        cJSON *d = i < 0 ? cJSON_CreateNull() : cJSON_CreateNumber(s->d[i]);
        if (!(d && cJSON_AddItemToArray(a, d))) {
            cJSON_Delete(d);
            ok = 0;
        }
    }
    if (!ok) {
        cJSON_Delete(a);
        return NULL;
    }
    return a;
}

/* A spec value as JSON: tuples become lists; a nested call cannot be. */
static cJSON *value_json(const nn_value *v)
{
    switch (v->kind) {
    case NN_V_NONE: return cJSON_CreateNull();
    case NN_V_NUM: return cJSON_CreateNumber(v->num);
    case NN_V_STR: return cJSON_CreateString(v->str);
    case NN_V_BOOL: return cJSON_CreateBool(v->boolean);
    case NN_V_LIST: {
        cJSON *a = cJSON_CreateArray();
        for (int i = 0; a && i < v->n; i++) {
            cJSON *it = value_json(&v->items[i]);
            if (!(it && cJSON_AddItemToArray(a, it))) {
                cJSON_Delete(it);
                cJSON_Delete(a);
                return NULL;
            }
        }
        return a;
    }
    default: return NULL;
    }
}

/* The options of a non-core layer's spec call, under their Keras names. */
static int generic_config(cJSON *cf, const nn_layer *l, const nn_call *c, nn_error *e)
{
    const char *names[NN_MAX_ARGS + 1];
    nn_args a;
    int rc, ok = 1;
    if (!c)
        return nn_err(e, NN_EINVAL, "layer '%s' (%s): its Keras options are not kept in the "
                      "model: pass the model's spec text", l->name, l->ops->kind);
    if ((rc = bind_call(l, c, names, &a, e)))
        return rc;
    for (int i = 0; l->ops->arg_names && l->ops->arg_names[i] && ok; i++) {
        const nn_value *v = a.v[i];
        const char *key = l->ops->arg_names[i];
        size_t n = strlen(key);
        if (!v || v->kind == NN_V_NONE)
            continue;
        if (v->kind == NN_V_CALL)
            return nn_err(e, NN_EINVAL, "layer '%s' (%s): option %s is a call, which the Keras "
                          "export cannot write", l->name, l->ops->kind, key);
        if (v->kind == NN_V_STR && n > 12 && !strcmp(key + n - 12, "_initializer"))
            ADDI(cf, key, init_json(v->str));
        else
            ADDI(cf, key, value_json(v));
    }
    return ok ? NN_OK : nn_err(e, NN_ENOMEM, "out of memory");
}

/* A regularizer as Keras 2 writes it: {"class_name": "L1L2", "config":
 * {"l1": .., "l2": ..}} (tf.keras reads it too); null when there is none. */
static cJSON *reg_json(nn_reg r)
{
    if (!nn_reg_active(r))
        return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject(), *cf = NULL;
    if (!o || !cJSON_AddStringToObject(o, "class_name", "L1L2") ||
        !(cf = cJSON_AddObjectToObject(o, "config")) ||
        !cJSON_AddNumberToObject(cf, "l1", r.l1) || !cJSON_AddNumberToObject(cf, "l2", r.l2)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static cJSON *layer_json(const nn_model *m, int i, const lopts *o)
{
    const nn_layer *l = &m->layers[i];
    const char *kind = l->ops->kind;
    nn_param_spec ps[NN_MAX_PARAM_SPECS];
    int np = l->ops->param_specs(l, ps), ok = 1;
    cJSON *L = cJSON_CreateObject(), *cf = NULL;
    ok = L != NULL;
    ADD(cJSON_AddStringToObject(L, "class_name", kind));
    ADDI(L, "config", cf = cJSON_CreateObject());
    ADD(cJSON_AddStringToObject(cf, "name", l->name));
    ADD(cJSON_AddBoolToObject(cf, "trainable", l->trainable));
    ADD(cJSON_AddStringToObject(cf, "dtype", "float32"));
    if (i == 0 && !m->graph)
        ADDI(cf, "batch_input_shape", batch_shape(&m->in_shape));
    int weights = !strcmp(kind, "Dense") || !strcmp(kind, "Conv2D");
    if (!strcmp(kind, "Dense")) {
        ADD(cJSON_AddNumberToObject(cf, "units", l->out.d[0]));
    } else if (!strcmp(kind, "Conv2D")) {
        ADD(cJSON_AddNumberToObject(cf, "filters", ps[0].dims[3]));
        ADDI(cf, "kernel_size", pair(ps[0].dims[0], ps[0].dims[1]));
        ADDI(cf, "strides", pair(o->st[0], o->st[1]));
        ADD(cJSON_AddStringToObject(cf, "padding", o->same ? "same" : "valid"));
        ADD(cJSON_AddStringToObject(cf, "data_format", "channels_last"));
        ADDI(cf, "dilation_rate", pair(1, 1));
        ADD(cJSON_AddNumberToObject(cf, "groups", 1));
    } else if (is_pool(kind)) {
        ADDI(cf, "pool_size", pair(o->pool[0], o->pool[1]));
        ADD(cJSON_AddStringToObject(cf, "padding", o->same ? "same" : "valid"));
        ADDI(cf, "strides", pair(o->pst[0], o->pst[1]));
        ADD(cJSON_AddStringToObject(cf, "data_format", "channels_last"));
    } else if (!strcmp(kind, "Flatten")) {
        ADD(cJSON_AddStringToObject(cf, "data_format", "channels_last"));
    } else if (is_global_pool(kind)) {
        ADD(cJSON_AddStringToObject(cf, "data_format", "channels_last"));
        /* keepdims (TF 2.6+) only when set: older Keras (R's 2.2.4) refuses
         * the key, and false is its default */
        if (l->out.n == 3)
            ADD(cJSON_AddBoolToObject(cf, "keepdims", 1));
    } else if (!strcmp(kind, "Dropout")) {
        ADD(cJSON_AddNumberToObject(cf, "rate", o->rate));
        ADD(cJSON_AddNullToObject(cf, "noise_shape"));
        if (o->has_seed)
            ADD(cJSON_AddNumberToObject(cf, "seed", o->seed));
        else
            ADD(cJSON_AddNullToObject(cf, "seed"));
    }
    if (weights || !strcmp(kind, "Activation"))
        ADD(cJSON_AddStringToObject(cf, "activation", nn_act_names[l->act]));
    if (weights) {
        static const char *const nulls[] = {"kernel_regularizer", "bias_regularizer",
                                            "activity_regularizer", "kernel_constraint",
                                            "bias_constraint", NULL};
        ADD(cJSON_AddBoolToObject(cf, "use_bias", np > 1));
        ADDI(cf, "kernel_initializer", init_json(o->kinit));
        ADDI(cf, "bias_initializer", init_json(o->binit));
        for (int k = 0; nulls[k]; k++)
            ADD(cJSON_AddNullToObject(cf, nulls[k]));
    }
    for (int r = 0; r < NN_REG_ROLES && ok; r++)
        if (nn_reg_active(l->reg[r])) {
            cJSON_DeleteItemFromObjectCaseSensitive(cf, nn_reg_options[r]);
            ADDI(cf, nn_reg_options[r], reg_json(l->reg[r]));
        }
    if (!ok) {
        cJSON_Delete(L);
        return NULL;
    }
    return L;
}

char *nn_model_to_keras_json(const nn_model *m, const char *spec_text, nn_error *e)
{
    nn_spec s;
    int rc = NN_OK, ok = 1, k = 0;
    memset(&s, 0, sizeof s);
    if (spec_text && (rc = nn_spec_parse(spec_text, "spec", &s, e)))
        return NULL;
    /* the spec's layer calls, in order, must be the model's layers */
    const nn_call **calls = calloc((size_t)m->nlayers + 1, sizeof *calls);
    if (!calls) {
        nn_spec_free(&s);
        nn_err(e, NN_ENOMEM, "out of memory");
        return NULL;
    }
    char *used = kg_feeds_output(&s);
    if (spec_text && !used)
        rc = nn_err(e, NN_ENOMEM, "out of memory");
    for (int i = 0; i < s.ncalls && !rc; i++) {
        const nn_layer_ops *ops = nn_layer_find(s.calls[i].fn);
        if (!ops || !used[i])
            continue;   /* Input, compile, fit, ...; a layer the model dropped */
        if (k >= m->nlayers || ops != m->layers[k].ops)
            rc = nn_err(e, NN_EINVAL, "the spec text does not match the model: spec layer %d "
                        "is %s, the model's is %s", k + 1, s.calls[i].fn,
                        k < m->nlayers ? m->layers[k].ops->kind : "(none)");
        else
            calls[k++] = &s.calls[i];
    }
    if (!rc && spec_text && k != m->nlayers)
        rc = nn_err(e, NN_EINVAL, "the spec text does not match the model: %d layers in the "
                    "spec, %d in the model", k, m->nlayers);
    cJSON *root = cJSON_CreateObject(), *cf = NULL, *layers = NULL, *in = NULL, *incf = NULL;
    char inname[80];
    ok = root != NULL;
    /* a graph is written as tf.keras 2.4+ writes a functional model */
    ADD(cJSON_AddStringToObject(root, "class_name", m->graph ? "Functional" : "Sequential"));
    ADDI(root, "config", cf = cJSON_CreateObject());
    ADD(cJSON_AddStringToObject(cf, "name", m->name[0] ? m->name
                                            : m->graph ? "model" : "sequential"));
    ADDI(cf, "layers", layers = cJSON_CreateArray());
    /* TF 2.x: the InputLayer of a Sequential model is "<first>_input" */
    snprintf(inname, sizeof inname, "%.60s_input", m->nlayers ? m->layers[0].name : "input");
    if (m->graph)
        snprintf(inname, sizeof inname, "%s", nn_model_input_name(m));
    in = ok ? cJSON_CreateObject() : NULL;
    if (!(in && cJSON_AddItemToArray(layers, in))) {
        cJSON_Delete(in);
        ok = 0;
    }
    ADD(cJSON_AddStringToObject(in, "class_name", "InputLayer"));
    ADDI(in, "config", incf = cJSON_CreateObject());
    ADDI(incf, "batch_input_shape", batch_shape(&m->in_shape));
    ADD(cJSON_AddStringToObject(incf, "dtype", "float32"));
    ADD(cJSON_AddBoolToObject(incf, "sparse", 0));
    ADD(cJSON_AddBoolToObject(incf, "ragged", 0));
    ADD(cJSON_AddStringToObject(incf, "name", inname));
    if (m->graph) {
        ADD(cJSON_AddStringToObject(in, "name", inname));
        ADD(cJSON_AddArrayToObject(in, "inbound_nodes"));
    }
    for (int i = 0; i < m->nlayers && !rc && ok; i++) {
        const nn_layer *l = &m->layers[i];
        lopts o;
        cJSON *L = NULL;
        if (is_core(l->ops->kind)) {
            rc = layer_opts(l, calls[i], &o, e);
            if (!rc && !spec_text)
                rc = infer_opts(l, &o, e);
            if (!rc)
                L = layer_json(m, i, &o);
        } else {
            memset(&o, 0, sizeof o);
            L = layer_json(m, i, &o);   /* name, trainable, dtype, batch_input_shape */
            if (L)
                rc = generic_config(cJSON_GetObjectItemCaseSensitive(L, "config"), l, calls[i],
                                    e);
        }
        if (!rc && L && m->graph && !kg_add_inbound(L, m, l))
            ok = 0;
        if (!rc && ok && !(L && cJSON_AddItemToArray(layers, L)))
            ok = 0;
        if (rc || !ok)
            cJSON_Delete(L);
    }
    if (!rc && ok && m->graph && m->nlayers)
        ok = kg_add_ends(cf, m);
    char *text = NULL;
    if (!rc && ok)
        text = cJSON_PrintUnformatted(root);
    if (!rc && !text)
        nn_err(e, NN_ENOMEM, "out of memory writing the Keras model_config");
    cJSON_Delete(root);
    free(calls);
    free(used);
    nn_spec_free(&s);
    return text;
}

/* {"class_name": "ExponentialDecay", "config": {...}} as tf.keras writes a
 * learning-rate schedule; NULL when out of memory. */
static cJSON *schedule_json(const nn_lr_schedule *s)
{
    cJSON *o = cJSON_CreateObject(), *cf = NULL;
    int ok = o != NULL;
    ADD(cJSON_AddStringToObject(o, "class_name", nn_sched_names[s->kind]));
    ADDI(o, "config", cf = cJSON_CreateObject());
    switch (s->kind) {
    case NN_SCHED_PIECEWISE:
        ADDI(cf, "boundaries", cJSON_CreateDoubleArray(s->bounds, s->nbounds));
        ADDI(cf, "values", cJSON_CreateDoubleArray(s->values, s->nbounds + 1));
        break;
    case NN_SCHED_EXPONENTIAL:
    case NN_SCHED_INVERSE_TIME:
        ADD(cJSON_AddNumberToObject(cf, "initial_learning_rate", s->initial));
        ADD(cJSON_AddNumberToObject(cf, "decay_steps", s->decay_steps));
        ADD(cJSON_AddNumberToObject(cf, "decay_rate", s->decay_rate));
        ADD(cJSON_AddBoolToObject(cf, "staircase", s->staircase));
        break;
    case NN_SCHED_COSINE:
        ADD(cJSON_AddNumberToObject(cf, "initial_learning_rate", s->initial));
        ADD(cJSON_AddNumberToObject(cf, "decay_steps", s->decay_steps));
        ADD(cJSON_AddNumberToObject(cf, "alpha", s->alpha));
        if (s->has_warmup_target)
            ADD(cJSON_AddNumberToObject(cf, "warmup_target", s->warmup_target));
        else
            ADD(cJSON_AddNullToObject(cf, "warmup_target"));
        ADD(cJSON_AddNumberToObject(cf, "warmup_steps", s->warmup_steps));
        break;
    default:
        ADD(cJSON_AddNumberToObject(cf, "initial_learning_rate", s->initial));
        ADD(cJSON_AddNumberToObject(cf, "decay_steps", s->decay_steps));
        ADD(cJSON_AddNumberToObject(cf, "end_learning_rate", s->end_lr));
        ADD(cJSON_AddNumberToObject(cf, "power", s->power));
        ADD(cJSON_AddBoolToObject(cf, "cycle", s->cycle));
        break;
    }
    ADD(cJSON_AddNullToObject(cf, "name"));
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

char *nn_model_training_config_json(const nn_model *m, nn_error *e)
{
    if (!m->compiled) {
        nn_err(e, NN_EINVAL, "the model is not compiled: no training_config");
        return NULL;
    }
    const nn_optim *op = &m->optim;
    const char *name = nn_optim_names[op->kind];
    cJSON *root = cJSON_CreateObject(), *met = NULL, *oc = NULL, *cf = NULL;
    int ok = root != NULL;
    if (m->from_logits) {   /* a loss object, as Keras writes BinaryCrossentropy(...) */
        cJSON *lo = NULL, *lc = NULL;
        ADDI(root, "loss", lo = cJSON_CreateObject());
        ADD(cJSON_AddStringToObject(lo, "class_name", nn_loss_classes[m->loss]));
        ADDI(lo, "config", lc = cJSON_CreateObject());
        ADD(cJSON_AddStringToObject(lc, "reduction", "auto"));
        ADD(cJSON_AddStringToObject(lc, "name", nn_loss_names[m->loss]));
        ADD(cJSON_AddBoolToObject(lc, "from_logits", 1));
        if (m->loss != NN_LOSS_SCCE) {
            ADD(cJSON_AddNumberToObject(lc, "label_smoothing", 0));
            ADD(cJSON_AddNumberToObject(lc, "axis", -1));
        }
    } else {
        ADD(cJSON_AddStringToObject(root, "loss", nn_loss_names[m->loss]));
    }
    ADDI(root, "metrics", met = cJSON_CreateArray());
    for (int i = 0; i < m->nmetrics && ok; i++) {
        /* the name that resolves again (a name= given to AUC() is not kept) */
        cJSON *s = cJSON_CreateString(m->metric_keys[i]);
        if (!(s && cJSON_AddItemToArray(met, s))) {
            cJSON_Delete(s);
            ok = 0;
        }
    }
    ADD(cJSON_AddNullToObject(root, "weighted_metrics"));
    ADD(cJSON_AddNullToObject(root, "loss_weights"));         /* TF 2.x reads it */
    ADD(cJSON_AddNullToObject(root, "sample_weight_mode"));   /* Keras 2.2 reads it */
    ADDI(root, "optimizer_config", oc = cJSON_CreateObject());
    ADD(cJSON_AddStringToObject(oc, "class_name", name));
    ADDI(oc, "config", cf = cJSON_CreateObject());
    /* the legacy (OptimizerV2) keys, which take decay */
    ADD(cJSON_AddStringToObject(cf, "name", name));
    if (op->sched.kind)   /* tf.keras: the schedule's class and config */
        ADDI(cf, "learning_rate", schedule_json(&op->sched));
    else
        ADD(cJSON_AddNumberToObject(cf, "learning_rate", op->lr));
    /* written only when set, as tf.keras's get_config */
    if (op->clipnorm > 0)
        ADD(cJSON_AddNumberToObject(cf, "clipnorm", op->clipnorm));
    if (op->clipvalue > 0)
        ADD(cJSON_AddNumberToObject(cf, "clipvalue", op->clipvalue));
    if (op->global_clipnorm > 0)
        ADD(cJSON_AddNumberToObject(cf, "global_clipnorm", op->global_clipnorm));
    /* tf.keras's Nadam keeps its schedule_decay in "decay" */
    ADD(cJSON_AddNumberToObject(cf, "decay",
                                op->kind == NN_OPT_NADAM ? op->schedule_decay : op->decay));
    switch (op->kind) {
    case NN_OPT_SGD:
        ADD(cJSON_AddNumberToObject(cf, "momentum", op->momentum));
        ADD(cJSON_AddBoolToObject(cf, "nesterov", op->nesterov));
        break;
    case NN_OPT_RMSPROP:
        ADD(cJSON_AddNumberToObject(cf, "rho", op->rho));
        ADD(cJSON_AddNumberToObject(cf, "momentum", 0.0));
        ADD(cJSON_AddNumberToObject(cf, "epsilon", op->epsilon));
        ADD(cJSON_AddBoolToObject(cf, "centered", 0));
        break;
    case NN_OPT_NADAM:
        ADD(cJSON_AddNumberToObject(cf, "beta_1", op->beta_1));
        ADD(cJSON_AddNumberToObject(cf, "beta_2", op->beta_2));
        ADD(cJSON_AddNumberToObject(cf, "epsilon", op->epsilon));
        break;
    case NN_OPT_ADAM:
        ADD(cJSON_AddNumberToObject(cf, "beta_1", op->beta_1));
        ADD(cJSON_AddNumberToObject(cf, "beta_2", op->beta_2));
        ADD(cJSON_AddNumberToObject(cf, "epsilon", op->epsilon));
        ADD(cJSON_AddBoolToObject(cf, "amsgrad", 0));
        break;
    default:
        ADD(cJSON_AddNumberToObject(cf, "rho", op->rho));
        ADD(cJSON_AddNumberToObject(cf, "epsilon", op->epsilon));
        break;
    }
    char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!text)
        nn_err(e, NN_ENOMEM, "out of memory writing the Keras training_config");
    return text;
}
