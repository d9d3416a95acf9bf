/* Keras loss and metric objects in compile(): each class's keyword
 * arguments (Keras 2 signatures), with only the values nntrain computes
 * accepted (Keras's defaults, and from_logits); anything else is an error
 * at the argument's spec location rather than a silently different model. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nntrain/spec.h"
#include "train/compile_names.h"

void nn_snake_case(const char *kind, char *out, size_t len)
{
    size_t k = 0;
    for (size_t i = 0; kind[i] && k + 2 < len; i++) {
        char ch = kind[i];
        int up = isupper((unsigned char)ch);
        int after_lower = i > 0 && islower((unsigned char)kind[i - 1]);
        int word_start = i > 0 && islower((unsigned char)kind[i + 1]);
        if (up && (after_lower || word_start))
            out[k++] = '_';
        out[k++] = (char)tolower((unsigned char)ch);
    }
    out[k] = 0;
}

/* A metric as a pasted script names it: R's metric_binary_accuracy, Keras's
 * class BinaryAccuracy (bare or called without options) -> binary_accuracy. */
static void metric_key(const char *s, char *out, size_t len)
{
    if (!strncmp(s, "metric_", 7))
        s += 7;
    if (isupper((unsigned char)s[0]) && islower((unsigned char)s[1]))
        nn_snake_case(s, out, len);
    else
        snprintf(out, len, "%s", s);
}

static const char *const ce_args[] = {"from_logits", "label_smoothing", "axis", "reduction",
                                      "name", NULL};
static const char *const scce_args[] = {"from_logits", "ignore_class", "reduction", "name",
                                        NULL};
static const char *const reg_args[] = {"reduction", "name", NULL};
static const char *const reductions[] = {"auto", "sum_over_batch_size", NULL};

static int bad_arg(const nn_args *a, const char *name, const char *want, nn_error *e)
{
    char w[300];
    return nn_err(e, NN_EINVAL, "%s: %s(): %s is not supported (nntrain computes %s)",
                  nn_value_where(a->call, nn_args_get(a, name), w, sizeof w), a->call->fn,
                  name, want);
}

static int loss_call(nn_model *m, const nn_call *lc, nn_error *e)
{
    char w[300];
    nn_loss k;
    if (nn_loss_parse_class(lc->fn, &k)) {
        char known[300] = "", g[96] = "";
        for (int i = 0; nn_loss_classes[i]; i++)
            strcat(strcat(known, i ? ", " : ""), nn_loss_classes[i]);
        const char *s = nn_suggest(lc->fn, nn_loss_classes);
        if (s)
            snprintf(g, sizeof g, ": did you mean %s()?", s);
        return nn_err(e, NN_EINVAL, "%s: compile(): unknown loss %s()%s (known: %s)",
                      nn_value_where(lc, NULL, w, sizeof w), lc->fn, g, known);
    }
    nn_args a;
    int rc = nn_args_bind(&a, lc, k == NN_LOSS_SCCE ? scce_args
                                  : nn_loss_takes_logits(k) ? ce_args : reg_args, NULL, e);
    int logits = 0, axis = -1, red = 0;
    double ls = 0;
    const char *name = NULL;
    if (!rc)
        rc = nn_args_bool(&a, "from_logits", 0, &logits, e);
    if (!rc)
        rc = nn_args_double(&a, "label_smoothing", 0.0, &ls, e);
    if (!rc)
        rc = nn_args_int(&a, "axis", -1, &axis, e);
    if (!rc)
        rc = nn_args_choice(&a, "reduction", "auto", reductions, &red, e);
    if (!rc)
        rc = nn_args_str(&a, "name", NULL, &name, e);   /* Keras's log key; loss is "loss" */
    if (rc)
        return rc;
    const nn_value *ic = nn_args_get(&a, "ignore_class");
    if (ls != 0)
        return bad_arg(&a, "label_smoothing", "label_smoothing=0 only", e);
    if (axis != -1)
        return bad_arg(&a, "axis", "axis=-1 only", e);
    if (ic && ic->kind != NN_V_NONE)
        return bad_arg(&a, "ignore_class", "ignore_class=None only", e);
    m->loss = k;
    m->from_logits = logits;
    return NN_OK;
}

int nn_compile_loss(nn_model *m, const nn_call *c, const nn_value *v, nn_error *e)
{
    char w[300];
    m->from_logits = 0;
    if (v && v->kind == NN_V_CALL)
        return loss_call(m, v->call, e);
    if (!v || v->kind == NN_V_NONE)
        return nn_err(e, NN_EINVAL, "%s: compile() needs loss=\"...\" (e.g. loss=\"sparse_categorical_crossentropy\")",
                      nn_value_where(c, NULL, w, sizeof w));
    if (v->kind != NN_V_STR)
        return nn_err(e, NN_EINVAL, "%s: compile(): loss must be a name such as "
                      "\"binary_crossentropy\" or a call such as "
                      "BinaryCrossentropy(from_logits=True)", nn_value_where(c, v, w, sizeof w));
    /* "binary_crossentropy", or pasted: loss_binary_crossentropy (R),
     * losses.BinaryCrossentropy without a call */
    if (nn_loss_parse(v->str, &m->loss) && nn_loss_parse_class(v->str, &m->loss)) {
        char known[300] = "", g[96] = "";
        for (int i = 0; nn_loss_names[i]; i++)
            strcat(strcat(known, i ? ", " : ""), nn_loss_names[i]);
        const char *s = nn_suggest(v->str, nn_loss_names);
        if (s)
            snprintf(g, sizeof g, ": did you mean '%s'?", s);
        return nn_err(e, NN_EINVAL, "%s: compile(): unknown loss '%s'%s (known: %s)",
                      nn_value_where(c, v, w, sizeof w), v->str, g, known);
    }
    return NN_OK;
}

static const char *const auc_args[] = {"num_thresholds", "curve", "summation_method", "name",
                                       "multi_label", NULL};
static const char *const pr_args[] = {"thresholds", "top_k", "class_id", "name", NULL};
static const char *const curves[] = {"ROC", NULL};
static const char *const summations[] = {"interpolation", NULL};

int nn_compile_metric(const nn_call *c, const nn_value *v, char *name, size_t len,
                      char *log_name, size_t log_len, nn_error *e)
{
    char w[300];
    log_name[0] = 0;
    if (v->kind == NN_V_STR) {
        metric_key(v->str, name, len);
        return NN_OK;
    }
    if (v->kind != NN_V_CALL)
        return nn_err(e, NN_EINVAL, "%s: compile(): metrics must be a list of names such as "
                      "[\"accuracy\"] or metric objects such as AUC()",
                      nn_value_where(c, v, w, sizeof w));
    const nn_call *mc = v->call;
    int auc = !strcmp(mc->fn, "AUC") || !strcmp(mc->fn, "metric_auc");
    int prec = !strcmp(mc->fn, "Precision") || !strcmp(mc->fn, "metric_precision");
    int rec = !strcmp(mc->fn, "Recall") || !strcmp(mc->fn, "metric_recall");
    nn_metric plain;
    metric_key(mc->fn, name, len);
    if (!auc && !prec && !rec && nn_metric_parse(name, NN_LOSS_MSE, 1, &plain) == 0 &&
        (mc->nargs == 0 || (mc->nargs == 1 && mc->keys[0] && !strcmp(mc->keys[0], "name")))) {
        /* metrics.SparseCategoricalAccuracy(): a plain metric as an object */
        if (mc->nargs && mc->vals[0].kind == NN_V_STR)
            snprintf(log_name, log_len, "%s", mc->vals[0].str);
        return NN_OK;
    }
    if (!auc && !prec && !rec)
        return nn_err(e, NN_EINVAL, "%s: compile(): unknown metric %s() (known calls: AUC, "
                      "Precision, Recall; or names such as \"accuracy\")",
                      nn_value_where(mc, NULL, w, sizeof w), mc->fn);
    nn_args a;
    int rc = nn_args_bind(&a, mc, auc ? auc_args : pr_args, NULL, e), idx, multi = 0, n = 200;
    const char *nm = NULL;
    if (!rc)
        rc = nn_args_str(&a, "name", NULL, &nm, e);
    if (!rc && auc) {
        if ((rc = nn_args_int(&a, "num_thresholds", NN_AUC_THRESHOLDS, &n, e)) ||
            (rc = nn_args_choice(&a, "curve", "ROC", curves, &idx, e)) ||
            (rc = nn_args_choice(&a, "summation_method", "interpolation", summations, &idx, e)) ||
            (rc = nn_args_bool(&a, "multi_label", 0, &multi, e)))
            return rc;
        if (n != NN_AUC_THRESHOLDS)
            return bad_arg(&a, "num_thresholds", "num_thresholds=200 only", e);
        if (multi)
            return bad_arg(&a, "multi_label", "multi_label=False only", e);
    } else if (!rc) {
        double t = 0.5;
        const nn_value *k = nn_args_get(&a, "top_k"), *ci = nn_args_get(&a, "class_id");
        if ((rc = nn_args_double(&a, "thresholds", 0.5, &t, e)))
            return rc;
        if (t != 0.5)
            return bad_arg(&a, "thresholds", "thresholds=0.5 only", e);
        if (k && k->kind != NN_V_NONE)
            return bad_arg(&a, "top_k", "top_k=None only", e);
        if (ci && ci->kind != NN_V_NONE)
            return bad_arg(&a, "class_id", "class_id=None only", e);
    }
    if (rc)
        return rc;
    snprintf(name, len, "%s", auc ? "auc" : prec ? "precision" : "recall");
    if (nm)
        snprintf(log_name, log_len, "%s", nm);
    return NN_OK;
}
