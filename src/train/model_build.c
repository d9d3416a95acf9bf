/* Building a Sequential model from a parsed spec: layers with shape inference
 * and Keras-style names, the flat parameter buffers, compile() and fit()
 * (callbacks: ModelCheckpoint here, the others in callbacks_spec.c), set.seed(),
 * set_global_policy() (policy.c). Every error is prefixed with
 * the spec location of the call at fault; an unknown name gets "did you mean"
 * in the spelling of the script (R keras names for R). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nntrain/model.h"
#include "train/graph.h"
#include "train/callbacks_spec.h"
#include "train/compile_names.h"
#include "train/policy.h"
#include "nntrain/spec.h"

static const char *const compile_args[] = {"optimizer", "loss", "metrics", NULL};
static const char *const fit_args[] = {"batch_size", "epochs", "validation_split",
                                       "shuffle", "seed", "verbose", "target", "class_weight",
                                       "callbacks", "deterministic", NULL};
static const char *const ckpt_args[] = {"filepath", "monitor", "verbose", "save_best_only",
                                        "save_weights_only", "mode", "period", "save_freq",
                                        NULL};
static const char *const ckpt_modes[] = {"auto", "min", "max", NULL};
static const char *const metric_names[] = {"accuracy", "binary_accuracy", "categorical_accuracy",
                                           "sparse_categorical_accuracy", "mse", "mae",
                                           "mean_squared_error", "mean_absolute_error", "acc",
                                           "auc", "precision", "recall", NULL};
static const char *const targets[] = {"labels", "input", NULL};
static const char *const input_args[] = {"shape", "input_shape", "name", "*", "batch_shape",
                                         "batch_input_shape", "batch_size", "dtype",
                                         "sparse", "ragged", NULL};

/* Keras's automatic layer names: snake_case of the class, then _1, _2 ...
 * Like Keras, only automatically named layers consume a number: after
 * Dense(name="hidden") the next Dense is still "dense". is_auto[i] tells
 * which of the earlier layers were named here. */
static void auto_name(nn_layer *l, nn_model *m, int idx, const unsigned char *is_auto)
{
    char base[48];
    nn_snake_case(l->ops->kind, base, sizeof base);
    int count = 0;
    for (int i = 0; i < idx; i++)
        if (m->layers[i].ops == l->ops && is_auto[i])
            count++;
    if (count)
        snprintf(l->name, sizeof l->name, "%s_%d", base, count);
    else
        snprintf(l->name, sizeof l->name, "%s", base);
}

/* " (did you mean 'x'?)" or "". */
static const char *did_you_mean(const char *name, const char *const cands[], char *buf,
                                 size_t len)
{
    const char *g = nn_suggest(name, cands);
    buf[0] = 0;
    if (g)
        snprintf(buf, len, ": did you mean '%s'?", g);
    return buf;
}

/* An optimizer name nntrain knows: SGD, "rmsprop", optimizer_adam (R). */
static int optim_known(const char *name)
{
    if (!strncmp(name, "optimizer_", 10))
        name += 10;
    for (int i = 0; nn_optim_names[i]; i++)
        if (!strcasecmp(name, nn_optim_names[i]))
            return 1;
    return 0;
}

static int unknown_optim(const nn_call *c, const nn_value *v, const char *name, int r,
                         nn_error *e)
{
    char w[300], g[96], cand[16][40], known[300] = "";
    const char *cands[17];
    int n = 0;
    for (int i = 0; nn_optim_names[i] && n < 16; i++, n++) {
        if (r) {
            snprintf(cand[n], sizeof cand[n], "optimizer_%s", nn_optim_names[i]);
            for (char *q = cand[n]; *q; q++)
                *q = (char)tolower((unsigned char)*q);
        } else {
            snprintf(cand[n], sizeof cand[n], "%s", nn_optim_names[i]);
        }
        cands[n] = cand[n];
        if (strlen(known) + strlen(cand[n]) + 3 < sizeof known)
            strcat(strcat(known, n ? ", " : ""), cand[n]);
    }
    cands[n] = NULL;
    return nn_err(e, NN_EINVAL, "%s: unknown optimizer '%s'%s (known: %s)",
                  nn_value_where(c, v, w, sizeof w), name, did_you_mean(name, cands, g, sizeof g),
                  known);
}

static int do_compile(nn_model *m, const nn_call *c, int r, nn_error *e)
{
    nn_args a;
    char w[300];
    int rc = nn_args_bind(&a, c, compile_args, NULL, e);
    if (rc || (rc = nn_compile_loss(m, c, nn_args_get(&a, "loss"), e)))
        return rc;
    const nn_value *opt = nn_args_get(&a, "optimizer");
    const char *oname = !opt ? NULL : opt->kind == NN_V_STR ? opt->str
                                    : opt->kind == NN_V_CALL ? opt->call->fn : NULL;
    if (oname && !optim_known(oname))
        return unknown_optim(c, opt, oname, r, e);
    if (opt && opt->kind != NN_V_NONE) {
        if ((rc = nn_optim_from_value(&m->optim, c, opt, e)))
            return rc;
    } else {
        nn_optim_defaults(&m->optim, NN_OPT_RMSPROP);  /* Keras compile() default */
    }
    const nn_value *met = nn_args_get(&a, "metrics");
    m->nmetrics = 0;
    if (met && met->kind != NN_V_NONE) {
        int n = met->kind == NN_V_LIST ? met->n : 1;
        for (int i = 0; i < n; i++) {
            const nn_value *v = met->kind == NN_V_LIST ? &met->items[i] : met;
            if (m->nmetrics >= NN_MAX_METRICS)
                return nn_err(e, NN_EINVAL, "%s: compile(): at most %d metrics",
                              nn_value_where(c, v, w, sizeof w), NN_MAX_METRICS);
            if ((rc = nn_compile_metric(c, v, m->metric_keys[m->nmetrics],
                                        sizeof m->metric_keys[0], m->metric_names[m->nmetrics],
                                        sizeof m->metric_names[0], e)))
                return rc;
            m->nmetrics++;
        }
    }
    m->compiled = c->line;   /* resolved against the output size after the layers */
    return NN_OK;
}

/* class_weight={0: 1.0, 1: 3.0} (Keras) or [1.0, 3.0] (weight per class). */
static int class_weights(nn_fit_args *f, const nn_call *c, const nn_value *v, nn_error *e)
{
    char w[300];
    if (v->kind != NN_V_LIST)
        return nn_err(e, NN_EINVAL, "%s: fit(): class_weight must be a dictionary {class: weight} or a list of weights",
                      nn_value_where(c, v, w, sizeof w));
    for (int i = 0; i < NN_MAX_CLASS_WEIGHTS; i++)
        f->class_weight[i] = 1.0f;
    f->nclass_weight = 0;
    for (int i = 0; i < v->n; i++) {
        const nn_value *it = &v->items[i], *key = NULL, *val = it;
        if (v->is_dict) {
            key = &it->items[0];
            val = &it->items[1];
        }
        double k = key ? key->num : i;
        if ((key && (key->kind != NN_V_NUM || !key->is_int)) || k < 0 ||
            k >= NN_MAX_CLASS_WEIGHTS)
            return nn_err(e, NN_EINVAL, "%s: fit(): class_weight keys must be class indices 0..%d",
                          nn_value_where(c, key ? key : it, w, sizeof w), NN_MAX_CLASS_WEIGHTS - 1);
        if (val->kind != NN_V_NUM || !(val->num >= 0))
            return nn_err(e, NN_EINVAL, "%s: fit(): a class weight must be a number >= 0",
                          nn_value_where(c, val, w, sizeof w));
        f->class_weight[(int)k] = (float)val->num;
        if ((int)k + 1 > f->nclass_weight)
            f->nclass_weight = (int)k + 1;
    }
    return NN_OK;
}

/* ModelCheckpoint(filepath, monitor, verbose, save_best_only, save_weights_only,
 * mode, period / save_freq) (Keras, kerasR) or callback_model_checkpoint (R keras). */
static int do_checkpoint(nn_spec_ckpt *k, const nn_call *c, nn_error *e)
{
    nn_args a;
    char w[300];
    const char *path, *monitor;
    int mode = 0, rc = nn_args_bind(&a, c, ckpt_args, NULL, e), ignore;
    if (k->path[0])
        return nn_err(e, NN_EINVAL, "%s: a second ModelCheckpoint: nntrain keeps one checkpoint file",
                      nn_value_where(c, NULL, w, sizeof w));
    if (!rc)
        rc = nn_args_str(&a, "filepath", NULL, &path, e);
    if (!rc && (!path || !path[0] || strlen(path) >= sizeof k->path))
        rc = nn_err(e, NN_EINVAL, "%s: %s() needs a file name (filepath=\"best.h5\")",
                    nn_value_where(c, NULL, w, sizeof w), c->fn);
    if (!rc && strchr(path, '{'))
        rc = nn_err(e, NN_EINVAL, "%s: %s(): a file name with {epoch}-style fields is not supported: give one file (it is replaced at each save)",
                    nn_value_where(c, nn_args_get(&a, "filepath"), w, sizeof w), c->fn);
    if (!rc)
        rc = nn_args_str(&a, "monitor", "val_loss", &monitor, e);
    if (!rc && strlen(monitor) >= sizeof k->monitor)
        rc = nn_err(e, NN_EINVAL, "%s: %s(): monitor name too long",
                    nn_value_where(c, nn_args_get(&a, "monitor"), w, sizeof w), c->fn);
    if (!rc)
        rc = nn_args_choice(&a, "mode", "auto", ckpt_modes, &mode, e);
    if (!rc)
        rc = nn_args_bool(&a, "save_best_only", 0, &k->save_best_only, e);
    if (!rc)   /* nntrain always writes the whole model, which Keras can load too */
        rc = nn_args_bool(&a, "save_weights_only", 0, &ignore, e);
    if (!rc)
        rc = nn_args_int(&a, "verbose", 0, &ignore, e);
    if (!rc)
        rc = nn_args_int(&a, "period", 1, &k->period, e);
    if (!rc && k->period < 1)
        rc = nn_err(e, NN_EINVAL, "%s: %s(): period must be >= 1, found %d",
                    nn_value_where(c, nn_args_get(&a, "period"), w, sizeof w), c->fn, k->period);
    const nn_value *sf = nn_args_get(&a, "save_freq");
    if (!rc && sf && sf->kind != NN_V_NONE && !(sf->kind == NN_V_STR && !strcmp(sf->str, "epoch")))
        rc = nn_err(e, NN_EINVAL, "%s: %s(): save_freq counts batches; nntrain saves once per epoch: use save_freq=\"epoch\" or period=N (epochs)",
                    nn_value_where(c, sf, w, sizeof w), c->fn);
    if (rc)
        return rc;
    snprintf(k->path, sizeof k->path, "%s", path);
    snprintf(k->monitor, sizeof k->monitor, "%s", monitor);
    snprintf(k->mode, sizeof k->mode, "%s", ckpt_modes[mode]);
    return NN_OK;
}

static int do_callbacks(nn_fit_args *f, const nn_call *c, const nn_value *v, nn_error *e)
{
    char w[300];
    int n = v->kind == NN_V_LIST ? v->n : 1;
    for (int i = 0; i < n; i++) {
        const nn_value *cb = v->kind == NN_V_LIST ? &v->items[i] : v;
        if (cb->kind != NN_V_CALL)
            return nn_err(e, NN_EINVAL, "%s: fit(): callbacks must be a list of callbacks such as ModelCheckpoint(\"best.h5\")",
                          nn_value_where(c, cb, w, sizeof w));
        int rc = nn_cb_is_checkpoint(cb->call->fn) ? do_checkpoint(&f->ckpt, cb->call, e)
                                                    : nn_cb_from_call(&f->cb, cb->call, e);
        if (rc)
            return rc;
    }
    return NN_OK;
}

/* set.seed(N), np.random.seed(N), tf.random.set_seed(N): the run's seed, as
 * fit(seed=N). */
static int do_seed(nn_fit_args *f, const nn_call *c, nn_error *e)
{
    static const char *const names[] = {"seed", NULL};
    static const char *const alias[] = {"x", "seed", NULL};
    nn_args a;
    char w[300];
    double seed = 0;
    int rc = nn_args_bind(&a, c, names, alias, e);
    if (!rc)
        rc = nn_args_double(&a, "seed", -1, &seed, e);
    if (!rc && (seed < 0 || seed > 9007199254740992.0 || seed != floor(seed)))
        rc = nn_err(e, NN_EINVAL, "%s: %s(): the seed must be a non-negative integer",
                    nn_value_where(c, nn_args_get(&a, "seed"), w, sizeof w),
                    c->qual ? c->qual : c->fn);
    if (!rc)
        f->seed = (uint64_t)seed;
    return rc;
}

/* An unknown layer (or statement): the nearest name in the script's
 * spelling, then in the other one. */
static int unknown_layer(const nn_call *c, int r, nn_error *e)
{
    static const char *const stmts[2][8] = {
        {"compile", "fit", "Input", "Sequential", "ImageDataGenerator", "set_global_policy", NULL},
        {"compile", "fit", "layer_input", "keras_model_sequential", "image_data_generator",
         "set.seed", "set_global_policy", NULL}};
    const char *cands[2][64];
    char known[600] = "", w[300], g[96];
    for (int fam = 0; fam < 2; fam++) {
        int n = 0;
        for (int i = 0; nn_layer_name_at(i, fam) && n < 50; i++)
            cands[fam][n++] = nn_layer_name_at(i, fam);
        if (fam == r)
            for (int i = 0; i < n; i++)
                snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s",
                         i ? ", " : "", cands[fam][i]);
        for (int i = 0; stmts[fam][i]; i++)
            cands[fam][n++] = stmts[fam][i];
        cands[fam][n] = NULL;
    }
    did_you_mean(c->fn, cands[r], g, sizeof g);
    if (!g[0])
        did_you_mean(c->fn, cands[!r], g, sizeof g);
    return nn_err(e, NN_EINVAL, "%s: unknown layer '%s'%s (known: %s)",
                  nn_value_where(c, NULL, w, sizeof w), c->fn, g, known);
}

static int do_fit(nn_model *m, const nn_call *c, nn_error *e)
{
    nn_args a;
    char w[300];
    int rc = nn_args_bind(&a, c, fit_args, NULL, e);
    nn_fit_args *f = &m->fit;
    double seed = 0;
    if (!rc)
        rc = nn_args_int(&a, "batch_size", f->batch_size, &f->batch_size, e);
    if (!rc)
        rc = nn_args_int(&a, "epochs", f->epochs, &f->epochs, e);
    if (!rc)
        rc = nn_args_double(&a, "validation_split", f->validation_split,
                            &f->validation_split, e);
    if (!rc)
        rc = nn_args_bool(&a, "shuffle", f->shuffle, &f->shuffle, e);
    if (!rc)
        rc = nn_args_double(&a, "seed", (double)f->seed, &seed, e);
    if (!rc)
        rc = nn_args_int(&a, "verbose", f->verbose, &f->verbose, e);
    if (!rc)
        rc = nn_args_choice(&a, "target", "labels", targets, &f->target_input, e);
    if (!rc)
        rc = nn_args_bool(&a, "deterministic", f->deterministic, &f->deterministic, e);
    const nn_value *cw = nn_args_get(&a, "class_weight");
    if (!rc && cw && cw->kind != NN_V_NONE)
        rc = class_weights(f, c, cw, e);
    const nn_value *cb = nn_args_get(&a, "callbacks");
    if (!rc && cb && cb->kind != NN_V_NONE)
        rc = do_callbacks(f, c, cb, e);
    if (rc)
        return rc;
    if (seed < 0 || seed > 9007199254740992.0 || seed != (double)(uint64_t)seed)
        return nn_err(e, NN_EINVAL, "%s: fit(): seed must be a non-negative integer",
                      nn_value_where(c, nn_args_get(&a, "seed"), w, sizeof w));
    f->seed = (uint64_t)seed;
    if (f->batch_size < 1)
        return nn_err(e, NN_EINVAL, "%s: fit(): batch_size must be >= 1, found %d",
                      nn_value_where(c, nn_args_get(&a, "batch_size"), w, sizeof w),
                      f->batch_size);
    if (f->epochs < 0)
        return nn_err(e, NN_EINVAL, "%s: fit(): epochs must be >= 0, found %d",
                      nn_value_where(c, nn_args_get(&a, "epochs"), w, sizeof w), f->epochs);
    if (!(f->validation_split >= 0 && f->validation_split < 1))
        return nn_err(e, NN_EINVAL, "%s: fit(): validation_split must be in [0, 1), found %g",
                      nn_value_where(c, nn_args_get(&a, "validation_split"), w, sizeof w),
                      f->validation_split);
    return NN_OK;
}

/* batch_shape=(None, 28, 28, 1) (Keras 3, and batch_input_shape in Keras 2
 * files): the batch entry is dropped, as nntrain picks the batch size. */
static int batch_shape(nn_args *a, const char *key, int *dims, int *nd, nn_error *e)
{
    const nn_value *v = nn_args_get(a, key);
    char w[300];
    int ok = v->kind == NN_V_LIST && v->n >= 2 && v->n <= NN_MAX_DIMS + 1 &&
             (v->items[0].kind == NN_V_NONE || v->items[0].kind == NN_V_NUM);
    for (int i = 1; ok && i < v->n; i++) {
        const nn_value *d = &v->items[i];
        ok = d->kind == NN_V_NUM && d->num >= 1 && d->num <= 2147483647.0 &&
             d->num == (double)(int)d->num;
        dims[i - 1] = ok ? (int)d->num : 0;
    }
    if (!ok)
        return nn_err(e, NN_EINVAL, "%s: %s(): %s must be (None, d1, ...) with 1 to %d positive "
                      "integers after the batch entry", nn_value_where(a->call, v, w, sizeof w),
                      a->call->fn, key, NN_MAX_DIMS);
    *nd = v->n - 1;
    return NN_OK;
}

static int do_input(nn_model *m, const nn_call *c, int *has_input, nn_error *e)
{
    nn_args a;
    int rc = nn_args_bind(&a, c, input_args, NULL, e);
    int dims[NN_MAX_DIMS + 1], nd = 0, bs = 0, flag = 0;
    const char *dtype = NULL;
    char w[300];
    const char *key = nn_args_has(&a, "shape") ? "shape" : "input_shape";
    const char *bkey = nn_args_has(&a, "batch_shape") ? "batch_shape" : "batch_input_shape";
    if (rc)
        return rc;
    if (nn_args_has(&a, bkey) && !nn_args_has(&a, key))
        rc = batch_shape(&a, bkey, dims, &nd, e);
    else
        rc = nn_args_shape(&a, key, NN_MAX_DIMS, dims, &nd, e);
    /* no effect on the computation: the batch size comes from fit() */
    if (!rc)
        rc = nn_args_int(&a, "batch_size", 0, &bs, e);
    if (!rc)
        rc = nn_args_str(&a, "dtype", "float32", &dtype, e);
    if (!rc && strcmp(dtype, "float32"))
        rc = nn_err(e, NN_EINVAL, "%s: %s(): dtype \"%s\" is not supported (nntrain computes "
                    "in float32)", nn_value_where(c, nn_args_get(&a, "dtype"), w, sizeof w),
                    c->fn, dtype);
    for (int i = 0; i < 2 && !rc; i++) {
        const char *k = i ? "ragged" : "sparse";
        if (!(rc = nn_args_bool(&a, k, 0, &flag, e)) && flag)
            rc = nn_err(e, NN_EINVAL, "%s: %s(): %s=True is not supported (dense tensors only)",
                        nn_value_where(c, nn_args_get(&a, k), w, sizeof w), c->fn, k);
    }
    if (rc)
        return rc;
    if (!nd)
        return nn_err(e, NN_EINVAL, "%s: %s() needs shape=(...)", nn_value_where(c, NULL, w, sizeof w),
                      c->fn);
    m->in_shape.n = nd;
    for (int i = 0; i < nd; i++)
        m->in_shape.d[i] = dims[i];
    const char *name = NULL;
    if ((rc = nn_args_str(&a, "name", NULL, &name, e)))
        return rc;
    if (name)   /* a functional model's summary and Keras export name it */
        snprintf(m->in_name, sizeof m->in_name, "%s", name);
    *has_input = 1;
    return NN_OK;
}

void nn_fit_args_defaults(nn_fit_args *f)
{
    f->batch_size = 32;
    f->epochs = 1;
    f->validation_split = 0;
    f->shuffle = 1;
    f->seed = 42;
    f->verbose = 1;
    nn_callbacks_defaults(&f->cb);
}

/* Connects the layers: shapes, offsets, names, fusion and metrics. */
static int finish(nn_model *m, const nn_spec *s, const int *layer_call, int has_input,
                  const nn_call *compile_call, nn_error *e)
{
    char w[300];
    if (m->nlayers == 0)
        return nn_err(e, NN_EINVAL, "%s: the model has no layers", s->path);
    if (!has_input)
        return nn_err(e, NN_EINVAL, "%s: the first layer needs input_shape=(...) (or add an Input(shape=(...)) line)",
                      nn_value_where(&s->calls[layer_call[0]], NULL, w, sizeof w));
    size_t off = 0;
    unsigned char *is_auto = calloc((size_t)m->nlayers, 1);
    if (!is_auto)
        return nn_err(e, NN_ENOMEM, "out of memory");
    int rc = NN_OK;
    for (int i = 0; i < m->nlayers && !rc; i++) {
        nn_layer *l = &m->layers[i];
        const nn_call *c = &s->calls[layer_call[i]];
        l->index = i;
        for (int k = 0; k < l->nin; k++)
            l->ins[k] = l->inp[k] < 0 ? m->in_shape : m->layers[l->inp[k]].out;
        l->in = l->ins[0];
        if (!l->name[0]) {
            auto_name(l, m, i, is_auto);
            is_auto[i] = 1;
        }
        for (int j = 0; j < i && !rc; j++)
            if (!strcmp(m->layers[j].name, l->name))
                rc = nn_err(e, NN_EINVAL, "%s: layer name '%s' is used twice",
                            nn_value_where(c, NULL, w, sizeof w), l->name);
        if (!rc && ((rc = l->ops->configure(l, e)) || (rc = nn_layer_check_regs(l, e)))) {
            /* the layers' messages mostly start with "Kind 'name'" already */
            if (!strncmp(e->msg, l->ops->kind, strlen(l->ops->kind)))
                nn_err_prefix(e, "%s", nn_value_where(c, NULL, w, sizeof w));
            else
                nn_err_prefix(e, "%s: %s '%s'", nn_value_where(c, NULL, w, sizeof w),
                              l->ops->kind, l->name);
            if (l->nin > 1) {   /* a merge: say where its inputs come from */
                char in[400];
                nn_graph_describe_inputs(m, l, in, sizeof in);
                snprintf(e->msg + strlen(e->msg), sizeof e->msg - strlen(e->msg), "%s", in);
            }
        }
        l->param_off = off;
        off += l->param_len;
    }
    free(is_auto);
    if (rc)
        return rc;
    m->nparams = off;
    m->params = calloc(off ? off : 1, sizeof(float));
    m->grads = calloc(off ? off : 1, sizeof(float));
    if (!m->params || !m->grads)
        return nn_err(e, NN_ENOMEM, "cannot allocate %zu parameters", off);
    /* A ReLU under max pooling: the pool's backward applies its derivative
     * (exact, see maxpool2d.c), so neither backward reads the ReLU's output
     * and the model keeps it only for the forward pass. */
    for (int i = 0; i + 1 < m->nlayers; i++) {
        const nn_layer_fusion *lo = m->layers[i].ops->fusion, *up = m->layers[i + 1].ops->fusion;
        if (m->layers[i + 1].inp[0] != i || nn_graph_consumers(m, i) != 1)
            continue;   /* the ReLU's output is read elsewhere too */
        if (lo && lo->act && m->layers[i].act == NN_ACT_RELU && up && up->commutes_relu) {
            m->layers[i].dy_is_preact = 1;
            m->layers[i + 1].mask_relu = 1;
        }
    }
    if (!m->compiled)
        return NN_OK;
    nn_layer *last = &m->layers[m->nlayers - 1];
    int K = (int)nn_shape_size(&last->out);
    int is_ce = m->loss == NN_LOSS_CCE || m->loss == NN_LOSS_SCCE;
    int fuses = last->ops->fusion && last->ops->fusion->act;
    if (m->from_logits) {
        m->fused = NN_OUT_LOGITS;   /* the loss applies softmax/sigmoid itself */
    } else if (fuses && ((is_ce && last->act == NN_ACT_SOFTMAX && K > 1 && last->out.n == 1) ||
                         (m->loss == NN_LOSS_BCE && last->act == NN_ACT_SIGMOID))) {
        m->fused = NN_OUT_FUSED;
        last->dy_is_preact = 1;
    }
    for (int i = 0; i < m->nmetrics; i++) {
        if (nn_metric_parse(m->metric_keys[i], m->loss, K, &m->metrics[i])) {
            /* point at the metric: compile() was bound once already */
            nn_args a;
            const nn_value *v = NULL;
            if (compile_call && !nn_args_bind(&a, compile_call, compile_args, NULL, NULL)) {
                v = nn_args_get(&a, "metrics");
                if (v && v->kind == NN_V_LIST && i < v->n)
                    v = &v->items[i];
            }
            char g[96];
            return nn_err(e, NN_EINVAL, "%s: compile(): unknown metric '%s'%s (known: accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy, mse, mae, auc, precision, recall)",
                          compile_call ? nn_value_where(compile_call, v, w, sizeof w) : s->path,
                          m->metric_keys[i],
                          did_you_mean(m->metric_keys[i], metric_names, g, sizeof g));
        }
        /* Keras logs AUC() and "AUC" as auc (name= overrides it) */
        const char *log = nn_metric_log_name(m->metrics[i]);
        if (!m->metric_names[i][0])
            snprintf(m->metric_names[i], sizeof m->metric_names[0], "%s",
                     log ? log : m->metric_keys[i]);
    }
    m->metric_sums = nn_metrics_width(m->metrics, m->nmetrics);
    if (m->metric_sums > NN_METRIC_MAX_SUMS)
        return nn_err(e, NN_EINVAL, "%s: compile(): these metrics keep %d counts, at most %d "
                      "fit (each AUC keeps %d)",
                      compile_call ? nn_value_where(compile_call, NULL, w, sizeof w) : s->path,
                      m->metric_sums, NN_METRIC_MAX_SUMS, nn_metric_width(NN_MET_AUC));
    return NN_OK;
}

int nn_model_build(nn_model *m, const nn_spec *s, nn_error *e)
{
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "sequential");
    nn_fit_args_defaults(&m->fit);
    nn_augment_defaults(&m->aug);
    int *layer_call = calloc((size_t)s->ncalls + 1, sizeof *layer_call);
    int *call_layer = malloc(((size_t)s->ncalls + 1) * sizeof *call_layer);
    m->layers = calloc((size_t)s->ncalls + 1, sizeof *m->layers);
    if (!layer_call || !call_layer || !m->layers) {
        free(layer_call);
        free(call_layer);
        return nn_err(e, NN_ENOMEM, "out of memory");
    }
    int rc = NN_OK, has_input = 0, seen_compile = 0, seen_fit = 0, seen_aug = 0;
    int output_call = -1;   /* the Model(...) call of a functional model */
    const nn_call *compile_call = NULL;
    char w[300];
    for (int i = 0; i < s->ncalls && !rc; i++) {
        const nn_call *c = &s->calls[i];
        call_layer[i] = -2;
        if (!strcmp(c->fn, "compile")) {
            if (seen_compile++)
                rc = nn_err(e, NN_EINVAL, "%s: a second compile() line", nn_value_where(c, NULL, w, sizeof w));
            else
                rc = do_compile(m, compile_call = c, s->r_lang, e);
        } else if (!strcmp(c->fn, "fit")) {
            if (seen_fit++)
                rc = nn_err(e, NN_EINVAL, "%s: a second fit() line", nn_value_where(c, NULL, w, sizeof w));
            else
                rc = do_fit(m, c, e);
        } else if (!strcmp(c->fn, "Input") || !strcmp(c->fn, "InputLayer") ||
                   !strcmp(c->fn, "input_shape") || !strcmp(c->fn, "layer_input")) {
            call_layer[i] = -1;
            if (m->nlayers)
                rc = nn_err(e, NN_EINVAL, "%s: %s() must come before the first layer",
                            nn_value_where(c, NULL, w, sizeof w), c->fn);
            else if (has_input)
                rc = nn_err(e, NN_EINVAL, "%s: a second %s(): a model has one input here",
                            nn_value_where(c, NULL, w, sizeof w), c->fn);
            else if (!strcmp(c->fn, "input_shape")) {
                /* input_shape(28, 28, 1) */
                m->in_shape.n = 0;
                for (int k = 0; k < c->nargs && !rc; k++) {
                    const nn_value *v = &c->vals[k];
                    if (k >= NN_MAX_DIMS || c->keys[k] || v->kind != NN_V_NUM || !v->is_int || v->num < 1)
                        rc = nn_err(e, NN_EINVAL, "%s: input_shape() takes 1 to %d positive integers",
                                    nn_value_where(c, v, w, sizeof w), NN_MAX_DIMS);
                    else
                        m->in_shape.d[m->in_shape.n++] = (int)v->num;
                }
                if (!rc && !m->in_shape.n)
                    rc = nn_err(e, NN_EINVAL, "%s: input_shape() is empty", nn_value_where(c, NULL, w, sizeof w));
                has_input = !rc;
            } else {
                rc = do_input(m, c, &has_input, e);
            }
        } else if (!strcmp(c->fn, "ImageDataGenerator") ||
                   !strcmp(c->fn, "image_data_generator")) {
            if (seen_aug++)
                rc = nn_err(e, NN_EINVAL, "%s: a second %s() line", nn_value_where(c, NULL, w, sizeof w),
                            c->fn);
            else
                rc = nn_augment_from_call(&m->aug, c, e);
        } else if (!strcmp(c->fn, "Sequential") || !strcmp(c->fn, "keras_model_sequential")) {
            /* the parser gave each layer of Sequential([...]) a line */
            static const char *const seq_args[] = {"name", NULL};
            nn_args a;
            const char *name = NULL;
            if (!(rc = nn_args_bind(&a, c, seq_args, NULL, e)) &&
                !(rc = nn_args_str(&a, "name", NULL, &name, e)) && name)
                snprintf(m->name, sizeof m->name, "%s", name);
        } else if (!strcmp(c->fn, "Model") || !strcmp(c->fn, "keras_model") ||
                   !strcmp(c->fn, "Functional")) {
            static const char *const model_args[] = {"inputs", "outputs", "name", NULL};
            nn_args a;
            const char *name = NULL;
            if (output_call >= 0)
                rc = nn_err(e, NN_EINVAL, "%s: a second %s(): a spec holds one model",
                            nn_value_where(c, NULL, w, sizeof w), c->fn);
            else if (!(rc = nn_args_bind(&a, c, model_args, NULL, e)) &&
                     !(rc = nn_args_str(&a, "name", NULL, &name, e)) && name)
                snprintf(m->name, sizeof m->name, "%s", name);
            output_call = i;
            if (!rc && !strcmp(m->name, "sequential"))
                snprintf(m->name, sizeof m->name, "model");
        } else if (!strcmp(c->fn, "set.seed")) {
            rc = do_seed(&m->fit, c, e);
        } else if (nn_policy_is_call(c)) {
            /* Keras applies a policy to the layers made after it */
            if (m->nlayers)
                rc = nn_err(e, NN_EINVAL, "%s: %s() must come before the first layer",
                            nn_value_where(c, NULL, w, sizeof w), c->fn);
            else
                rc = nn_policy_from_call(c, &m->bf16, e);
        } else if (!nn_layer_find(c->fn)) {
            rc = unknown_layer(c, s->r_lang, e);
        } else {
            if (seen_compile || seen_fit)
                rc = nn_err(e, NN_EINVAL, "%s: layer %s() after compile()/fit(): layers come first",
                            nn_value_where(c, NULL, w, sizeof w), c->fn);
            nn_shape ish;
            int has = 0;
            if (!rc)
                rc = nn_layer_create(&m->layers[m->nlayers], c, &ish, &has, e);
            if (!rc) {
                layer_call[m->nlayers] = i;
                call_layer[i] = m->nlayers;
                m->nlayers++;
                if (has && (m->nlayers > 1 || has_input) &&
                    !(m->nlayers == 1 && nn_shape_eq(&ish, &m->in_shape)))
                    rc = nn_err(e, NN_EINVAL, "%s: input_shape is only allowed on the first layer",
                                nn_value_where(c, NULL, w, sizeof w));
                else if (has) {
                    m->in_shape = ish;
                    has_input = 1;
                }
            }
        }
    }
    if (nn_policy_forced() >= 0)
        m->bf16 = nn_policy_forced();
    for (int i = 0; i < m->nlayers; i++)
        m->layers[i].bf16 = m->bf16;
    if (!rc && m->nlayers)
        rc = nn_graph_connect(m, s, layer_call, call_layer, output_call, e);
    if (!rc)
        rc = finish(m, s, layer_call, has_input, compile_call, e);
    free(layer_call);
    free(call_layer);
    if (rc)
        nn_model_free(m);
    return rc;
}
