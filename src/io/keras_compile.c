/* A Keras training_config -> the spec's compile(...) line, as every writer
 * writes it: Keras 2.0-2.3 and R keras (lr, clipnorm/clipvalue -1 for "not
 * set", amsgrad), tf.keras 2.x (learning_rate, a schedule as
 * {"class_name", "config"}, the 2.11 optimizers' is_legacy_optimizer,
 * jit_compile, use_ema, weight_decay), Keras 3 (module, registered_name,
 * loss_scale_factor, gradient_accumulation_steps). What nntrain cannot
 * train with is left out with a note naming it: a file is loaded for
 * summary, predict and evaluate far more often than trained further, and
 * Keras's own load_model(compile=False) does the same. */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "io/keras_json.h"
#include "nntrain/loss.h"
#include "nntrain/lr_schedule.h"
#include "nntrain/optim.h"

static int has_class(const cJSON *v)
{
    return cJSON_GetObjectItemCaseSensitive(v, "class_name") != NULL;
}

/* snake_case of a Keras class name: SparseCategoricalCrossentropy ->
 * sparse_categorical_crossentropy. */
static void snake(const char *s, char *out, size_t len)
{
    size_t k = 0;
    for (size_t i = 0; s[i] && k + 2 < len; i++) {
        if (isupper((unsigned char)s[i]) && i > 0)
            out[k++] = '_';
        out[k++] = (char)tolower((unsigned char)s[i]);
    }
    out[k] = 0;
}

/* loss: "name", {"class_name": ..., "config": {...}}, or one of those in a
 * one-element list / one-output dict. */
static int emit_loss(jctx *c, const cJSON *v)
{
    char buf[160], nm[64];
    if ((cJSON_IsArray(v) || (cJSON_IsObject(v) && !has_class(v))) && cJSON_GetArraySize(v) == 1)
        v = v->child;
    nn_loss k;
    if (cJSON_IsString(v)) {
        if (!kj_str_ok(v->valuestring))
            return kj_err(c, NN_EFORMAT, "training_config: bad loss name");
        if (nn_loss_parse(v->valuestring, &k))
            return kj_err(c, NN_EINVAL, "training_config: loss '%.60s' is not one nntrain has",
                          v->valuestring);
        nn_strbuf_printf(c->b, "loss=\"%s\"", v->valuestring);
        return NN_OK;
    }
    if (!cJSON_IsObject(v) && !cJSON_IsArray(v))
        return kj_err(c, NN_EFORMAT, "training_config: loss %s: expected a name or "
                      "{\"class_name\": ..., \"config\": {...}}", kj_show(v, buf, sizeof buf));
    const cJSON *cls = cJSON_GetObjectItemCaseSensitive(v, "class_name");
    const cJSON *cf = cJSON_GetObjectItemCaseSensitive(v, "config");
    if (!cJSON_IsString(cls))
        return kj_err(c, NN_EINVAL, "training_config: loss %s is not supported (one output, a loss "
                    "name or {\"class_name\": ...})", kj_show(v, buf, sizeof buf));
    const cJSON *fl = cJSON_GetObjectItemCaseSensitive(cf, "from_logits");
    const cJSON *ls = cJSON_GetObjectItemCaseSensitive(cf, "label_smoothing");
    if (ls && !(cJSON_IsNumber(ls) && ls->valuedouble == 0))
        return kj_err(c, NN_EINVAL, "training_config: loss %s with label_smoothing %s is not "
                    "supported", cls->valuestring, kj_show(ls, buf, sizeof buf));
    if (cJSON_IsTrue(fl)) {   /* the class call keeps from_logits; it checks the class */
        if (nn_loss_parse_class(cls->valuestring, &k) || !nn_loss_takes_logits(k))
            return kj_err(c, NN_EINVAL, "training_config: loss %s with from_logits=true is not "
                        "supported", cls->valuestring);
        nn_strbuf_printf(c->b, "loss=%s(from_logits=True)", nn_loss_classes[k]);
        return NN_OK;
    }
    /* the config's name, unless the user renamed it (MeanSquaredError(name="m")) */
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(cf, "name");
    if (cJSON_IsString(n) && kj_str_ok(n->valuestring))
        snprintf(nm, sizeof nm, "%s", n->valuestring);
    if (!cJSON_IsString(n) || !kj_str_ok(n->valuestring) || nn_loss_parse(nm, &k))
        snake(cls->valuestring, nm, sizeof nm);
    if (nn_loss_parse(nm, &k))
        return kj_err(c, NN_EINVAL, "training_config: loss %s is not one nntrain has",
                      cls->valuestring);
    nn_strbuf_printf(c->b, "loss=\"%s\"", nm);
    return NN_OK;
}

/* metrics: strings, {"class_name": "MeanMetricWrapper", "config": {"name": ..}},
 * and the per-output nesting TF 2.x writes ([["accuracy"]]). */
static int emit_metrics(jctx *c, const cJSON *v, int *count, int depth)
{
    char buf[160];
    const cJSON *it;
    if (depth > 3)
        return kj_err(c, NN_EFORMAT, "training_config: metrics are nested too deeply");
    cJSON_ArrayForEach(it, v) {
        const char *name = NULL;
        if (cJSON_IsArray(it) || (cJSON_IsObject(it) && !has_class(it))) {
            int rc = emit_metrics(c, it, count, depth + 1);
            if (rc)
                return rc;
            continue;
        }
        if (cJSON_IsString(it))
            name = it->valuestring;
        else if (cJSON_IsObject(it)) {
            const cJSON *n = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(it, "config"), "name");
            name = cJSON_IsString(n) ? n->valuestring : NULL;
        }
        if (!name || !kj_str_ok(name))
            return kj_err(c, NN_EINVAL, "training_config: metric %s is not supported",
                        kj_show(it, buf, sizeof buf));
        nn_metric m;
        if (nn_metric_parse(name, NN_LOSS_MSE, 2, &m)) {
            /* a custom metric function (PSNR, dice, ...): Keras itself needs
             * custom_objects to compile such a file; its model still runs */
            if (c->nnotes < KJ_MAX_NOTES)
                snprintf(c->notes[c->nnotes++], sizeof c->notes[0], "%s: training_config: "
                         "metric '%.60s' is not one nntrain computes (a custom function?): "
                         "left out", c->where, name);
            continue;
        }
        nn_strbuf_printf(c->b, "%s\"%s\"", (*count)++ ? ", " : "", name);
    }
    return NN_OK;
}

/* learning_rate as a schedule: {"class_name": "ExponentialDecay", "config":
 * {...}} (Keras 3 adds "module" and "registered_name") -> the spec's call. */
static int emit_schedule(jctx *c, const char *opt, const cJSON *v)
{
    char buf[160];
    const cJSON *cls = cJSON_GetObjectItemCaseSensitive(v, "class_name");
    const cJSON *cf = cJSON_GetObjectItemCaseSensitive(v, "config");
    int kind = 0;
    for (int k = 1; cJSON_IsString(cls) && nn_sched_names[k]; k++)
        if (!strcmp(cls->valuestring, nn_sched_names[k]))
            kind = k;
    if (!kind || (cf && !cJSON_IsObject(cf)))
        return kj_err(c, NN_EINVAL, "training_config: %s learning_rate=%s is not supported "
                      "(a number or a schedule: ExponentialDecay, PiecewiseConstantDecay, "
                      "CosineDecay, InverseTimeDecay, PolynomialDecay)", opt,
                      kj_show(v, buf, sizeof buf));
    nn_strbuf_printf(c->b, "%s(", nn_sched_names[kind]);
    int n = 0;
    const cJSON *kv;
    cJSON_ArrayForEach(kv, cf) {
        if (!strcmp(kv->string, "name") || cJSON_IsNull(kv))   /* null: Keras's default */
            continue;
        nn_strbuf_printf(c->b, "%s%s=", n++ ? ", " : "", kv->string);
        int rc = kj_emit_value(c, kv->string, kv, 0);
        if (rc)
            return rc;
    }
    nn_strbuf_printf(c->b, ")");
    return NN_OK;
}

/* optimizer_config {"class_name": "RMSprop", "config": {...}} -> a call. */
static int emit_optimizer(jctx *c, const cJSON *oc)
{
    char buf[160];
    const cJSON *cls = cJSON_GetObjectItemCaseSensitive(oc, "class_name");
    const cJSON *cf = cJSON_GetObjectItemCaseSensitive(oc, "config");
    /* config's members are read by key: an array has none (kv->string NULL) */
    if (!cJSON_IsString(cls) || (cf && !cJSON_IsNull(cf) && !cJSON_IsObject(cf)))
        return kj_err(c, NN_EFORMAT, "training_config: optimizer_config %s: expected "
                      "{\"class_name\": ..., \"config\": {...}}", kj_show(oc, buf, sizeof buf));
    const char *name = cls->valuestring;
    if (!strncmp(name, "Custom>", 7))   /* TF 2.11 new optimizers */
        name = name + 7;
    int kind = -1;
    for (int i = 0; i < NN_OPT_COUNT; i++)
        if (!strcasecmp(name, nn_optim_names[i]))
            kind = i;
    if (kind < 0)
        return kj_err(c, NN_EINVAL, "training_config: optimizer '%s' is not supported (nntrain "
                      "supports SGD, RMSprop, Adam, Adadelta, Nadam)", cls->valuestring);
    nn_strbuf_printf(c->b, "optimizer=%s(", nn_optim_names[kind]);
    int n = 0;
    const cJSON *kv;
    cJSON_ArrayForEach(kv, cf) {
        const char *k = kv->string;
        /* R keras and Keras 2.2 write -1 for "not set" */
        int clip = !strcmp(k, "clipnorm") || !strcmp(k, "clipvalue") ||
                   !strcmp(k, "global_clipnorm");
        int must_zero = !strcmp(k, "weight_decay") ||
                        (!strcmp(k, "momentum") && kind != NN_OPT_SGD);
        int must_false = !strcmp(k, "centered") || !strcmp(k, "use_ema") ||
                         (!strcmp(k, "amsgrad") && kind == NN_OPT_ADAM);
        /* Keras 3: null (or 1) leaves the loss and the update cadence as they are */
        int must_one = !strcmp(k, "loss_scale_factor") ||
                       !strcmp(k, "gradient_accumulation_steps");
        int arg = clip || !strcmp(k, "learning_rate") || !strcmp(k, "lr") ||
                  !strcmp(k, "decay") || !strcmp(k, "epsilon") ||
                  (kind == NN_OPT_SGD && (!strcmp(k, "momentum") || !strcmp(k, "nesterov"))) ||
                  ((kind == NN_OPT_RMSPROP || kind == NN_OPT_ADADELTA) && !strcmp(k, "rho")) ||
                  (kind == NN_OPT_ADAM && (!strcmp(k, "beta_1") || !strcmp(k, "beta_2"))) ||
                  (kind == NN_OPT_NADAM && (!strcmp(k, "beta_1") || !strcmp(k, "beta_2") ||
                                            !strcmp(k, "schedule_decay")));
        int skip = !strcmp(k, "name") || !strcmp(k, "jit_compile") ||
                   !strcmp(k, "is_legacy_optimizer") || !strcmp(k, "ema_momentum") ||
                   !strcmp(k, "ema_overwrite_frequency");
        if (skip || (clip && cJSON_IsNumber(kv) && kv->valuedouble == -1))
            continue;
        if (must_zero || must_false || must_one) {
            int ok = cJSON_IsNull(kv) || (must_false && cJSON_IsFalse(kv)) ||
                     (must_zero && cJSON_IsNumber(kv) && kv->valuedouble == 0) ||
                     (must_one && cJSON_IsNumber(kv) && kv->valuedouble == 1);
            if (!ok)
                return kj_err(c, NN_EINVAL, "training_config: %s %s=%s is not supported",
                              cls->valuestring, k, kj_show(kv, buf, sizeof buf));
            continue;
        }
        if (!arg)
            return kj_err(c, NN_EINVAL, "training_config: %s option '%s' (%s) is not supported",
                          cls->valuestring, k, kj_show(kv, buf, sizeof buf));
        if (cJSON_IsNull(kv))
            continue;
        int lr = !strcmp(k, "lr") || !strcmp(k, "learning_rate");
        if (lr && cJSON_IsObject(kv)) {
            nn_strbuf_printf(c->b, "%slearning_rate=", n++ ? ", " : "");
            int rc = emit_schedule(c, cls->valuestring, kv);
            if (rc)
                return rc;
            continue;
        }
        if (!cJSON_IsNumber(kv) && !cJSON_IsBool(kv))
            return kj_err(c, NN_EINVAL, "training_config: %s %s=%s is not supported: expected "
                          "a number", cls->valuestring, k, kj_show(kv, buf, sizeof buf));
        /* tf.keras's Nadam stores schedule_decay as "decay" */
        const char *as = !strcmp(k, "lr") ? "learning_rate"
                         : kind == NN_OPT_NADAM && !strcmp(k, "decay") ? "schedule_decay" : k;
        nn_strbuf_printf(c->b, "%s%s=", n++ ? ", " : "", as);
        int rc = kj_emit_value(c, k, kv, 0);
        if (rc)
            return rc;
    }
    nn_strbuf_printf(c->b, ")");
    return NN_OK;
}

/* Runs one emitter into its own buffer: its text is appended on success;
 * NN_EINVAL (nntrain has no such thing) becomes a note and NN_OK, with
 * *left_out set; other errors (malformed JSON) stay errors. */
static int try_emit(jctx *c, int (*fn)(jctx *, const cJSON *), const cJSON *v, int *left_out)
{
    nn_strbuf part = {0}, *out = c->b;
    nn_error sub = {0}, *e = c->e;
    c->b = &part;
    c->e = &sub;
    int rc = fn(c, v);
    c->b = out;
    c->e = e;
    if (!rc && part.s)
        nn_strbuf_printf(out, "%s", part.s);
    if (part.oom)
        out->oom = 1;
    nn_strbuf_free(&part);
    if (rc == NN_EINVAL) {
        *left_out = 1;
        if (c->nnotes < KJ_MAX_NOTES)
            snprintf(c->notes[c->nnotes++], sizeof c->notes[0], "%.380s: left out (the model "
                     "loads for summary, predict and evaluate; it cannot be trained as "
                     "saved)", sub.msg);
        return NN_OK;
    }
    return rc ? nn_err(e, rc, "%s", sub.msg) : NN_OK;
}

static int emit_loss_weights(jctx *c, const cJSON *tc)
{
    char buf[160];
    const cJSON *lw = cJSON_GetObjectItemCaseSensitive(tc, "loss_weights");
    const cJSON *wm = cJSON_GetObjectItemCaseSensitive(tc, "weighted_metrics");
    if (lw && !cJSON_IsNull(lw) && !(cJSON_IsArray(lw) && cJSON_GetArraySize(lw) == 1 &&
                                     cJSON_IsNumber(lw->child) && lw->child->valuedouble == 1))
        return kj_err(c, NN_EINVAL, "training_config: loss_weights %s are not supported",
                      kj_show(lw, buf, sizeof buf));
    if (wm && !cJSON_IsNull(wm) && cJSON_GetArraySize(wm) > 0)
        return kj_err(c, NN_EINVAL, "training_config: weighted_metrics are not supported");
    return NN_OK;
}

static int emit_optimizer_arg(jctx *c, const cJSON *oc)
{
    nn_strbuf_printf(c->b, ", ");
    return emit_optimizer(c, oc);
}

static int emit_metric_list(jctx *c, const cJSON *met)
{
    int n = 0;
    nn_strbuf_printf(c->b, ", metrics=[");
    int rc = emit_metrics(c, met, &n, 0);
    nn_strbuf_printf(c->b, "]");
    return rc;
}

int kj_emit_compile(jctx *c, const cJSON *tc)
{
    const cJSON *loss = cJSON_GetObjectItemCaseSensitive(tc, "loss");
    const cJSON *met = cJSON_GetObjectItemCaseSensitive(tc, "metrics");
    const cJSON *oc = cJSON_GetObjectItemCaseSensitive(tc, "optimizer_config");
    c->lclass = NULL;
    if (!cJSON_IsObject(tc))
        return kj_err(c, NN_EFORMAT, "training_config: expected a JSON object");
    if (!loss || cJSON_IsNull(loss))
        return NN_OK;   /* not compiled */
    /* without the loss (or with other weights) there is nothing to compile */
    nn_strbuf line = {0}, *out = c->b;
    int dropped = 0, rc = try_emit(c, emit_loss_weights, tc, &dropped);
    c->b = &line;
    nn_strbuf_printf(c->b, "compile(");
    if (!rc && !dropped)
        rc = try_emit(c, emit_loss, loss, &dropped);
    /* a left-out optimizer: the spec's default stands in, for evaluate's loss only */
    int no_opt = 0, no_met = 0;
    if (!rc && !dropped && oc && !cJSON_IsNull(oc))
        rc = try_emit(c, emit_optimizer_arg, oc, &no_opt);
    if (!rc && !dropped && met && !cJSON_IsNull(met))
        rc = try_emit(c, emit_metric_list, met, &no_met);
    c->b = out;
    if (!rc && !dropped)
        nn_strbuf_printf(out, "%s)\n", nn_strbuf_str(&line));
    if (line.oom)
        out->oom = 1;
    nn_strbuf_free(&line);
    return rc;
}
