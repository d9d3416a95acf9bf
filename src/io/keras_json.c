/* Keras 2 JSON -> nntrain specs (the other direction: keras_export.c).
 * A Sequential model_config (the TF 2.x form with an InputLayer, or
 * the older one with batch_input_shape on the first layer) and an optional
 * training_config become spec text, one call per line, which nn_spec_parse
 * turns into the call tree; the text is kept in the spec, so a Keras model
 * gets a spec that checkpoints can store like a user's. Keys that do not
 * change the computation (dtype, null constraints, dilation 1, ...) are
 * skipped; weight regularizers (L1, L2, L1L2) become the spec's
 * L1L2(l1=, l2=); keys that would change it otherwise (an activity or other
 * regularizer, dilation 2, a clip norm, an unknown key) are refused with the
 * layer and the key named. The other
 * registered layers (Embedding, LSTM, ...) pass their options through under
 * their Keras names, and the layer refuses what it does not support.
 * The text has one line per entry of config.layers (an InputLayer becomes
 * Input(shape=...)), so "file:model_config:N:..." in a model-builder message
 * means config.layers[N - 1]. */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "io/keras_json.h"

/* ---- import ---------------------------------------------------------- */

enum { K_ARG, K_INIT, K_REG, K_NULL, K_ONE, K_FALSE, K_SKIP, K_SHAPE, K_NAME, K_TRAINABLE, K_NHWC };

typedef struct keyrule {
    const char *key;
    int kind;
} keyrule;

#define COMMON_RULES                                                              \
    {"name", K_NAME}, {"trainable", K_TRAINABLE}, {"dtype", K_SKIP},             \
    {"batch_input_shape", K_SHAPE}, {"batch_shape", K_SHAPE}
#define WEIGHT_RULES                                                             \
    {"kernel_initializer", K_INIT}, {"bias_initializer", K_INIT},                \
    {"kernel_regularizer", K_REG}, {"bias_regularizer", K_REG},                  \
    {"activity_regularizer", K_NULL}, {"kernel_constraint", K_NULL},             \
    {"bias_constraint", K_NULL}, {"activation", K_ARG}, {"use_bias", K_ARG}

static const keyrule dense_rules[] = {COMMON_RULES, WEIGHT_RULES, {"units", K_ARG}, {NULL, 0}};
static const keyrule conv_rules[] = {
    COMMON_RULES, WEIGHT_RULES, {"filters", K_ARG}, {"kernel_size", K_ARG},
    {"strides", K_ARG}, {"padding", K_ARG}, {"data_format", K_NHWC},
    {"dilation_rate", K_ONE}, {"groups", K_ONE}, {NULL, 0}};
static const keyrule pool_rules[] = {COMMON_RULES, {"pool_size", K_ARG}, {"strides", K_ARG},
                                     {"padding", K_ARG}, {"data_format", K_NHWC}, {NULL, 0}};
static const keyrule dropout_rules[] = {COMMON_RULES, {"rate", K_ARG}, {"noise_shape", K_NULL},
                                        {"seed", K_ARG}, {NULL, 0}};
static const keyrule flatten_rules[] = {COMMON_RULES, {"data_format", K_NHWC}, {NULL, 0}};
static const keyrule act_rules[] = {COMMON_RULES, {"activation", K_ARG}, {NULL, 0}};
/* Keras 3 releases after 3.6 also write "optional": false (an input that may be None) */
static const keyrule input_rules[] = {{"batch_input_shape", K_SHAPE}, {"batch_shape", K_SHAPE},
                                      {"dtype", K_SKIP}, {"sparse", K_FALSE},
                                      {"ragged", K_FALSE}, {"optional", K_FALSE},
                                      {"name", K_SKIP}, {NULL, 0}};
/* a functional model's InputLayer keeps its name (the summary's input_1) */
static const keyrule input_named_rules[] = {{"batch_input_shape", K_SHAPE}, {"batch_shape", K_SHAPE},
                                            {"dtype", K_SKIP}, {"sparse", K_FALSE},
                                            {"ragged", K_FALSE}, {"optional", K_FALSE},
                                            {"name", K_NAME}, {NULL, 0}};

static const struct {
    const char *cls, *call;
    const keyrule *rules;
} classes[] = {
    {"Dense", "Dense", dense_rules},
    {"Conv2D", "Conv2D", conv_rules},
    {"Convolution2D", "Conv2D", conv_rules},
    {"MaxPooling2D", "MaxPooling2D", pool_rules},
    {"MaxPool2D", "MaxPooling2D", pool_rules},
    {"Dropout", "Dropout", dropout_rules},
    {"Flatten", "Flatten", flatten_rules},
    {"Activation", "Activation", act_rules},
};

int kj_err(jctx *c, int code, const char *fmt, ...)
{
    char msg[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->lclass)
        return nn_err(c->e, code, "%s: Keras layer '%s' (%s): %s", c->where,
                      c->lname ? c->lname : "?", c->lclass, msg);
    return nn_err(c->e, code, "%s: %s", c->where, msg);
}

/* A short text of a JSON value for messages. */
const char *kj_show(const cJSON *v, char *buf, size_t len)
{
    char *s = cJSON_PrintUnformatted(v);
    snprintf(buf, len, "%s", s ? s : "?");
    if (s && strlen(s) >= len && len > 4)
        strcpy(buf + len - 4, "...");
    free(s);
    return buf;
}

static int is_int_num(const cJSON *v)
{
    return cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) &&
           fabs(v->valuedouble) < 1e15;
}

/* A string the spec parser can hold: no quote and no line break. */
int kj_str_ok(const char *s)
{
    return !strpbrk(s, "\"\n\r");
}

/* key=value in spec syntax: lists become tuples. */
int kj_emit_value(jctx *c, const char *key, const cJSON *v, int depth)
{
    char buf[120];
    if (depth > 8)
        return kj_err(c, NN_EFORMAT, "%s is nested too deeply", key);
    if (cJSON_IsNull(v)) {
        nn_strbuf_printf(c->b, "None");
    } else if (cJSON_IsBool(v)) {
        nn_strbuf_printf(c->b, cJSON_IsTrue(v) ? "True" : "False");
    } else if (cJSON_IsNumber(v)) {
        if (is_int_num(v))
            nn_strbuf_printf(c->b, "%.0f", v->valuedouble);
        else if (isfinite(v->valuedouble))
            nn_strbuf_printf(c->b, "%.17g", v->valuedouble);
        else
            return kj_err(c, NN_EFORMAT, "%s must be a finite number", key);
    } else if (cJSON_IsString(v)) {
        if (!kj_str_ok(v->valuestring))
            return kj_err(c, NN_EFORMAT, "%s \"%.60s\" contains a quote or a line break", key,
                        v->valuestring);
        nn_strbuf_printf(c->b, "\"%s\"", v->valuestring);
    } else if (cJSON_IsArray(v)) {
        int n = cJSON_GetArraySize(v), i = 0;
        const cJSON *it;
        nn_strbuf_printf(c->b, "(");
        cJSON_ArrayForEach(it, v) {
            if (i++)
                nn_strbuf_printf(c->b, ", ");
            int rc = kj_emit_value(c, key, it, depth + 1);
            if (rc)
                return rc;
        }
        nn_strbuf_printf(c->b, n == 1 ? ",)" : ")");
    } else {
        return kj_err(c, NN_EINVAL, "%s %s is not supported (nntrain takes a number, a string or "
                    "a list)", key, kj_show(v, buf, sizeof buf));
    }
    return NN_OK;
}

/* An initializer: "glorot_uniform", {"class_name": "GlorotUniform", ...} or
 * the VarianceScaling form older Keras writes for Glorot and He. */
static int map_init(jctx *c, const char *key, const cJSON *v, const char **out)
{
    static const struct {
        const char *cls, *name;
    } map[] = {{"GlorotUniform", "glorot_uniform"}, {"GlorotNormal", "glorot_normal"},
               {"HeNormal", "he_normal"}, {"HeUniform", "he_uniform"},
               {"Zeros", "zeros"}, {"Ones", "ones"}};
    char buf[120];
    const char *cls = NULL;
    if (cJSON_IsString(v))
        cls = v->valuestring;
    else if (cJSON_IsObject(v) && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(v, "class_name")))
        cls = cJSON_GetObjectItemCaseSensitive(v, "class_name")->valuestring;
    if (!cls)
        return kj_err(c, NN_EFORMAT, "%s %s: expected an initializer name or {\"class_name\": ...}",
                    key, kj_show(v, buf, sizeof buf));
    const cJSON *cf = cJSON_GetObjectItemCaseSensitive(v, "config");
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(cls, map[i].cls) || !strcasecmp(cls, map[i].name)) {
            *out = map[i].name;
            return NN_OK;
        }
    if (cJSON_IsString(v) && (!strcmp(cls, "uniform") || !strcmp(cls, "orthogonal"))) {
        *out = !strcmp(cls, "uniform") ? "uniform" : "orthogonal";
        return NN_OK;
    }
    if (!strcmp(cls, "RandomUniform")) {    /* Keras's "uniform": U(-0.05, 0.05) */
        const cJSON *lo = cJSON_GetObjectItemCaseSensitive(cf, "minval");
        const cJSON *hi = cJSON_GetObjectItemCaseSensitive(cf, "maxval");
        if ((!lo || (cJSON_IsNumber(lo) && lo->valuedouble == -0.05)) &&
            (!hi || (cJSON_IsNumber(hi) && hi->valuedouble == 0.05))) {
            *out = "uniform";
            return NN_OK;
        }
    }
    if (!strcmp(cls, "Orthogonal")) {
        const cJSON *gain = cJSON_GetObjectItemCaseSensitive(cf, "gain");
        if (!gain || (cJSON_IsNumber(gain) && gain->valuedouble == 1.0)) {
            *out = "orthogonal";
            return NN_OK;
        }
    }
    if (!strcmp(cls, "VarianceScaling") && cJSON_IsObject(v)) {
        const cJSON *sc = cJSON_GetObjectItemCaseSensitive(cf, "scale");
        const cJSON *mo = cJSON_GetObjectItemCaseSensitive(cf, "mode");
        const cJSON *di = cJSON_GetObjectItemCaseSensitive(cf, "distribution");
        if (cJSON_IsNumber(sc) && cJSON_IsString(mo) && cJSON_IsString(di)) {
            int uni = !strcmp(di->valuestring, "uniform");
            int nor = !strcmp(di->valuestring, "normal") ||
                      !strcmp(di->valuestring, "truncated_normal");
            if (sc->valuedouble == 1.0 && !strcmp(mo->valuestring, "fan_avg") && (uni || nor)) {
                *out = uni ? "glorot_uniform" : "glorot_normal";
                return NN_OK;
            }
            if (sc->valuedouble == 2.0 && !strcmp(mo->valuestring, "fan_in") && (uni || nor)) {
                *out = uni ? "he_uniform" : "he_normal";
                return NN_OK;
            }
        }
    }
    return kj_err(c, NN_EINVAL, "%s %s is not supported (known: GlorotUniform, GlorotNormal, "
                "HeNormal, HeUniform, Zeros, Ones, RandomUniform(-0.05, 0.05), Orthogonal(gain=1))",
                key, kj_show(v, buf, sizeof buf));
}

/* batch_input_shape [null, d1, ...] -> "(d1, ...)" appended to the text. */
static int emit_shape(jctx *c, const char *key, const cJSON *v)
{
    char buf[120];
    int n = cJSON_GetArraySize(v), i = 0;
    const cJSON *it;
    if (!cJSON_IsArray(v) || n < 2 || n > NN_MAX_DIMS + 1)
        return kj_err(c, NN_EFORMAT, "%s %s: expected [null, d1, ...] with 1 to %d dimensions",
                    key, kj_show(v, buf, sizeof buf), NN_MAX_DIMS);
    nn_strbuf_printf(c->b, "(");
    cJSON_ArrayForEach(it, v) {
        if (i++ == 0)
            continue;   /* the batch dimension */
        if (!is_int_num(it) || it->valuedouble < 1)
            return kj_err(c, NN_EINVAL, "%s %s: every dimension but the batch must be a positive "
                        "integer (variable-size inputs are not supported)", key,
                        kj_show(v, buf, sizeof buf));
        nn_strbuf_printf(c->b, "%s%.0f", i > 2 ? ", " : "", it->valuedouble);
    }
    nn_strbuf_printf(c->b, n == 2 ? ",)" : ")");
    return NN_OK;
}

static int is_one(const cJSON *v)
{
    if (cJSON_IsNumber(v))
        return v->valuedouble == 1;
    if (!cJSON_IsArray(v))
        return 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, v) if (!cJSON_IsNumber(it) || it->valuedouble != 1) return 0;
    return 1;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

/* Rules for the other registered layers (Embedding, LSTM, ...): options
 * pass through under their Keras names and the layer checks them. */
static int generic_rule(const char *key)
{
    static const keyrule fixed[] = {COMMON_RULES, {"dilation_rate", K_ONE}, {"groups", K_ONE},
                                    {"implementation", K_SKIP}, {"time_major", K_FALSE},
                                    {"data_format", K_NHWC}, {NULL, 0}};
    for (int i = 0; fixed[i].key; i++)
        if (!strcmp(key, fixed[i].key))
            return fixed[i].kind;
    if (!strcmp(key, "kernel_regularizer") || !strcmp(key, "bias_regularizer") ||
        !strcmp(key, "recurrent_regularizer") || !strcmp(key, "embeddings_regularizer"))
        return K_REG;
    if (ends_with(key, "_regularizer") || ends_with(key, "_constraint"))
        return K_NULL;
    if (ends_with(key, "_initializer"))
        return K_INIT;
    return K_ARG;
}

/* A weight regularizer {"class_name": "L2" | "L1" | "L1L2" (Keras 2.2 writes
 * L1L2 with both keys), "config": {"l2": 0.01}} -> key=L1L2(l1=.., l2=..). */
static int emit_reg(jctx *c, const char *key, const cJSON *v, int nargs)
{
    char buf[160];
    const cJSON *cls = cJSON_GetObjectItemCaseSensitive(v, "class_name");
    const cJSON *cf = cJSON_GetObjectItemCaseSensitive(v, "config");
    if (!cJSON_IsString(cls) || (strcmp(cls->valuestring, "L1") &&
                                 strcmp(cls->valuestring, "L2") &&
                                 strcmp(cls->valuestring, "L1L2")))
        return kj_err(c, NN_EINVAL, "%s %s is not supported (nntrain reads L1, L2 and L1L2)", key,
                    kj_show(v, buf, sizeof buf));
    double f[2] = {0, 0};
    static const char *const keys[2] = {"l1", "l2"};
    for (int k = 0; k < 2; k++) {
        const cJSON *x = cJSON_IsObject(cf) ? cJSON_GetObjectItemCaseSensitive(cf, keys[k]) : NULL;
        if (x && !cJSON_IsNumber(x))
            return kj_err(c, NN_EINVAL, "%s %s: %s must be a number", key,
                        kj_show(v, buf, sizeof buf), keys[k]);
        if (x)
            f[k] = x->valuedouble;
    }
    /* the layer checks the factors (>= 0) with the spec's message */
    nn_strbuf_printf(c->b, "%s%s=L1L2(l1=%.17g, l2=%.17g)", nargs ? ", " : "", key, f[0], f[1]);
    return NN_OK;
}

/* One layer of the model_config -> one spec call, without the line break
 * (an InputLayer becomes Input(shape=...)). */
int kj_emit_layer(jctx *c, const cJSON *L)
{
    char buf[160];
    const cJSON *cls = cJSON_GetObjectItemCaseSensitive(L, "class_name");
    const cJSON *cf = cJSON_GetObjectItemCaseSensitive(L, "config");
    c->lclass = NULL;
    c->lname = NULL;
    if (!cJSON_IsObject(L) || !cJSON_IsString(cls) || !cJSON_IsObject(cf))
        return kj_err(c, NN_EFORMAT, "layer %s: expected {\"class_name\": ..., \"config\": {...}}",
                    kj_show(L, buf, sizeof buf));
    const cJSON *nm = cJSON_GetObjectItemCaseSensitive(cf, "name");
    c->lname = cJSON_IsString(nm) ? nm->valuestring : "?";
    c->lclass = cls->valuestring;
    const keyrule *rules = NULL;
    const char *call = NULL;
    int input = !strcmp(cls->valuestring, "InputLayer");
    if (input) {
        if (!c->first || c->have_input)
            return kj_err(c, NN_EINVAL, "an InputLayer must come first");
        rules = c->functional ? input_named_rules : input_rules;
    }
    for (size_t i = 0; !rules && i < sizeof classes / sizeof classes[0]; i++)
        if (!strcmp(cls->valuestring, classes[i].cls)) {
            rules = classes[i].rules;
            call = classes[i].call;
        }
    if (!rules && nn_layer_find(cls->valuestring))
        call = cls->valuestring;   /* generic_rule */
    else if (!rules) {
        c->lclass = NULL;
        return nn_err(c->e, NN_EINVAL, "%s: unsupported Keras layer '%s' (layer '%s'): "
                      "nntrain supports %s", c->where, cls->valuestring, c->lname,
                      nn_layer_known());
    }
    nn_strbuf_printf(c->b, "%s(", input ? "Input" : call);
    int nargs = 0, rc = NN_OK;
    const cJSON *v;
    cJSON_ArrayForEach(v, cf) {
        const char *key = v->string, *s = NULL;
        int kind = rules ? -1 : generic_rule(key);
        for (int r = 0; rules && rules[r].key && kind < 0; r++)
            if (!strcmp(key, rules[r].key))
                kind = rules[r].kind;
        switch (kind) {
        case K_SKIP:
            break;
        case K_NULL:
            if (!cJSON_IsNull(v))
                rc = kj_err(c, NN_EINVAL, "%s %s is not supported (nntrain needs null)", key,
                          kj_show(v, buf, sizeof buf));
            break;
        case K_REG:
            if (!cJSON_IsNull(v))
                rc = emit_reg(c, key, v, nargs++);
            break;
        case K_FALSE:
            if (!cJSON_IsNull(v) && !cJSON_IsFalse(v))
                rc = kj_err(c, NN_EINVAL, "%s %s is not supported (nntrain needs false)", key,
                          kj_show(v, buf, sizeof buf));
            break;
        case K_ONE:
            if (!is_one(v))
                rc = kj_err(c, NN_EINVAL, "%s %s is not supported (nntrain needs 1)", key,
                          kj_show(v, buf, sizeof buf));
            break;
        case K_NHWC:   /* the layer would refuse it too, without the Keras name */
            if (!cJSON_IsNull(v) && !(cJSON_IsString(v) && !strcmp(v->valuestring,
                                                                    "channels_last"))) {
                rc = kj_err(c, NN_EINVAL, "data_format %s is not supported: nntrain tensors are "
                          "channels_last (NHWC)", kj_show(v, buf, sizeof buf));
                break;
            }
            if (!cJSON_IsNull(v)) {
                nn_strbuf_printf(c->b, "%sdata_format=", nargs++ ? ", " : "");
                rc = kj_emit_value(c, key, v, 0);
            }
            break;
        case K_SHAPE:
            /* the first layer's (or InputLayer's); later ones are ignored, as
             * Keras ignores them */
            if (c->first && !c->have_input) {
                nn_strbuf_printf(c->b, "%s%s=", nargs++ ? ", " : "", input ? "shape" : "input_shape");
                rc = emit_shape(c, key, v);
                c->have_input = !rc;
            }
            break;
        case K_NAME:
        case K_TRAINABLE:
        case K_ARG:
            if (cJSON_IsNull(v) || (kind == K_TRAINABLE && cJSON_IsTrue(v)))
                break;
            nn_strbuf_printf(c->b, "%s%s=", nargs++ ? ", " : "", key);
            rc = kj_emit_value(c, key, v, 0);
            break;
        case K_INIT:
            if (cJSON_IsNull(v))
                break;
            if (!(rc = map_init(c, key, v, &s)))
                nn_strbuf_printf(c->b, "%s%s=\"%s\"", nargs++ ? ", " : "", key, s);
            break;
        default:
            rc = kj_err(c, NN_EINVAL, "config key '%s' (%s) is not supported: nntrain cannot tell "
                      "whether it changes the computation", key, kj_show(v, buf, sizeof buf));
        }
        if (rc)
            return rc;
    }
    if (input && !c->have_input)
        return kj_err(c, NN_EFORMAT, "an InputLayer needs batch_input_shape");
    nn_strbuf_printf(c->b, ")");
    c->first = 0;
    return NN_OK;
}

static int parse_json(const char *text, const char *what, const char *where, cJSON **out,
                      nn_error *e)
{
    *out = cJSON_Parse(text);
    if (*out)
        return NN_OK;
    const char *at = cJSON_GetErrorPtr();
    long off = at && at >= text ? (long)(at - text) : -1;
    return nn_err(e, NN_EFORMAT, "%s: %s is not valid JSON (near byte %ld: '%.20s')", where,
                  what, off, at && off >= 0 ? at : "");
}

/* The importer's notes join the spec's (printed where a spec's notes are). */
static int add_notes(jctx *c, nn_spec *out)
{
    for (int i = 0; i < c->nnotes; i++) {
        char **v = realloc(out->notes, (size_t)(out->nnotes + 1) * sizeof *v);
        char *t = strdup(c->notes[i]);
        if (v)
            out->notes = v;
        if (!v || !t) {
            free(t);
            nn_spec_free(out);
            return nn_err(c->e, NN_ENOMEM, "out of memory");
        }
        out->notes[out->nnotes++] = t;
    }
    return NN_OK;
}

int nn_keras_json_to_spec(const char *json, const char *training_config, const char *where,
                          nn_spec *out, nn_error *e)
{
    memset(out, 0, sizeof *out);
    where = where ? where : "<keras json>";
    if (!json)
        return nn_err(e, NN_EINVAL, "%s: no model_config", where);
    cJSON *root = NULL, *tc = NULL;
    nn_strbuf b = {0};
    jctx c = {.where = where, .e = e, .b = &b, .first = 1};
    int rc = parse_json(json, "model_config", where, &root, e);
    if (!rc && training_config)
        rc = parse_json(training_config, "training_config", where, &tc, e);
    const cJSON *cls = cJSON_GetObjectItemCaseSensitive(root, "class_name");
    const cJSON *cf = cJSON_GetObjectItemCaseSensitive(root, "config");
    const cJSON *layers = cJSON_IsArray(cf) ? cf : cJSON_GetObjectItemCaseSensitive(cf, "layers");
    int functional = !rc && cJSON_IsString(cls) && (!strcmp(cls->valuestring, "Model") ||
                                                    !strcmp(cls->valuestring, "Functional"));
    if (!rc && !cJSON_IsString(cls))
        rc = nn_err(e, NN_EFORMAT, "%s: model_config has no class_name (expected "
                    "{\"class_name\": \"Sequential\", \"config\": {...}})", where);
    else if (!rc && !functional && strcmp(cls->valuestring, "Sequential"))
        rc = nn_err(e, NN_EINVAL, "%s: a Keras '%s' model is not supported: nntrain imports "
                    "Sequential and functional (Model, Functional) models", where,
                    cls->valuestring);
    else if (!rc && (!cJSON_IsArray(layers) || !cJSON_GetArraySize(layers)))
        rc = nn_err(e, NN_EFORMAT, "%s: model_config has no layers (expected config.layers "
                    "[...])", where);
    if (!rc && functional) {
        c.functional = 1;
        rc = kj_functional_spec(&c, cf, tc, out);
    } else if (!rc) {
        const cJSON *L;
        cJSON_ArrayForEach(L, layers) {
            if (!rc && !(rc = kj_emit_layer(&c, L)))
                nn_strbuf_printf(&b, "\n");
        }
        if (!rc && tc)
            rc = kj_emit_compile(&c, tc);
        if (!rc && b.oom)
            rc = nn_err(e, NN_ENOMEM, "%s: out of memory", where);
        if (!rc)
            rc = nn_spec_parse(b.s, where, out, e);
    }
    if (!rc)
        rc = add_notes(&c, out);
    nn_strbuf_free(&b);
    cJSON_Delete(root);
    cJSON_Delete(tc);
    return rc;
}
