/* Pasted Keras scripts, the call level: one call of a statement applied to
 * the model (a method, a pipe stage, a function taking the model first) or
 * standing alone becomes the spec's call: add() unwrapped, keras_fit/
 * keras_compile renamed, seeds, Sequential([...]) expanded, fit()'s data
 * arguments and unused callbacks turned into notes, summary()/plot()
 * skipped, the model's other methods (evaluate, predict, save) refused. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nntrain/args.h"
#include "spec_priv.h"

/* A value as the script wrote it, for notes: x_train, (x_val, y_val). */
static void print_value(const parser *p, const nn_value *v, char *buf, size_t len)
{
    size_t k = strlen(buf);
    if (k + 8 >= len)
        return;
    switch (v->kind) {
    case NN_V_NUM: snprintf(buf + k, len - k, "%.10g", v->num); break;
    case NN_V_STR:
        snprintf(buf + k, len - k, v->name ? "%s" : "\"%s\"", v->name ? v->name : v->str);
        break;
    case NN_V_BOOL: snprintf(buf + k, len - k, "%s", v->boolean ? "True" : "False"); break;
    case NN_V_NONE: snprintf(buf + k, len - k, "None"); break;
    case NN_V_LIST:
        snprintf(buf + k, len - k, "%s", p->out->r_lang ? "list(" : "(");
        for (int i = 0; i < v->n; i++) {
            if (i)
                snprintf(buf + strlen(buf), len - strlen(buf), ", ");
            print_value(p, &v->items[i], buf, len);
        }
        snprintf(buf + strlen(buf), len - strlen(buf), ")");
        break;
    default: snprintf(buf + k, len - k, "%s(...)", v->call->fn); break;
    }
}

static void drop_arg(nn_call *c, int i)
{
    free(c->keys[i]);
    spec_value_free(&c->vals[i]);
    memmove(&c->keys[i], &c->keys[i + 1], (size_t)(c->nargs - i - 1) * sizeof *c->keys);
    memmove(&c->vals[i], &c->vals[i + 1], (size_t)(c->nargs - i - 1) * sizeof *c->vals);
    c->nargs--;
}

/* Keras callbacks nntrain does not run (Python and R keras names): a
 * pasted script's become notes. Any other name goes on to the model
 * builder, which runs the ones it knows and refuses a misspelled one with
 * "did you mean". */
static int ignored_callback(const char *fn)
{
    static const char *const ignored[] = {
        "TensorBoard", "callback_tensorboard", "LearningRateScheduler",
        "callback_learning_rate_scheduler", "LambdaCallback", "callback_lambda",
        "ProgbarLogger", "callback_progbar_logger", "RemoteMonitor", "callback_remote_monitor",
        "BackupAndRestore", "callback_backup_and_restore", "History", "BaseLogger",
        "SwapEMAWeights", "callback_swap_ema_weights", NULL};
    for (int i = 0; ignored[i]; i++)
        if (!strcmp(fn, ignored[i]))
            return 1;
    return 0;
}

/* fit(): the data arguments and the callbacks nntrain has no use for
 * become notes; ModelCheckpoint, EarlyStopping, ReduceLROnPlateau,
 * CSVLogger and TerminateOnNaN stay for the model builder. */
static int clean_fit(parser *p, nn_call *c)
{
    char data[200] = "";
    int rc = NN_OK;
    for (int i = 0; i < c->nargs && !rc;) {
        const char *k = c->keys[i];
        nn_value *v = &c->vals[i];
        char t[200] = "";
        if ((!k && v->name) || (k && (!strcmp(k, "x") || !strcmp(k, "y") ||
                                      !strcmp(k, "generator")))) {
            if (data[0])
                snprintf(data + strlen(data), sizeof data - strlen(data), ", ");
            print_value(p, v, data, sizeof data);
        } else if (k && (!strcmp(k, "validation_data") || !strcmp(k, "validation_steps") ||
                         !strcmp(k, "steps_per_epoch") || !strcmp(k, "view_metrics") ||
                         !strcmp(k, "workers") || !strcmp(k, "use_multiprocessing") ||
                         !strcmp(k, "max_queue_size"))) {
            print_value(p, v, t, sizeof t);
            const char *why = !strcmp(k, "validation_data")  ? "use --val FILE"
                              : !strcmp(k, "steps_per_epoch") ? "an epoch is one pass over --data"
                              : !strcmp(k, "validation_steps")
                                  ? "validation reads all of --val or the validation split"
                                  : "nntrain does not use it";
            rc = spec_note(p, v->line, "%s=%s ignored: %s", k, t, why);
        } else if (k && !strcmp(k, "callbacks") && (v->kind == NN_V_LIST || v->kind == NN_V_CALL)) {
            if (v->kind == NN_V_CALL) {   /* one callback: a list of one */
                nn_value one = *v;
                memset(v, 0, sizeof *v);
                v->kind = NN_V_LIST;
                v->line = one.line, v->col = one.col;
                if (!(v->items = malloc(sizeof *v->items)))
                    return nn_err(p->e, NN_ENOMEM, "out of memory");
                v->items[0] = one;
                v->n = 1;
            }
            for (int j = 0; j < v->n && !rc;) {
                nn_value *cb = &v->items[j];
                if (cb->kind == NN_V_CALL && ignored_callback(cb->call->fn)) {
                    rc = spec_note(p, cb->line, "%s(...) ignored: nntrain runs ModelCheckpoint, "
                                   "EarlyStopping, ReduceLROnPlateau, CSVLogger and "
                                   "TerminateOnNaN", cb->call->fn);
                    spec_value_free(cb);
                    memmove(cb, cb + 1, (size_t)(v->n - j - 1) * sizeof *cb);
                    v->n--;
                } else {
                    j++;
                }
            }
            if (v->n) {
                i++;
                continue;
            }
        } else {
            i++;
            continue;
        }
        drop_arg(c, i);
    }
    if (!rc && data[0])
        rc = spec_note(p, c->line, "%s ignored: the data comes from --data", data);
    return rc;
}

int spec_push(parser *p, nn_call *c)
{
    nn_spec *s = p->out;
    nn_call *calls = realloc(s->calls, (size_t)(s->ncalls + 1) * sizeof *calls);
    if (!calls)
        return nn_err(p->e, NN_ENOMEM, "out of memory");
    s->calls = calls;
    s->calls[s->ncalls++] = *c;
    memset(c, 0, sizeof *c);
    return NN_OK;
}

/* An undotted bare name left where a value belongs: Dense(10, activation=relu)
 * (a string without quotes) or a variable that was never set. */
int spec_stray_name(parser *p, const nn_value *v)
{
    /* R keras's function objects: loss = loss_binary_crossentropy */
    static const char *const r_objects[] = {"loss_", "metric_", "optimizer_", NULL};
    int r_object = 0;
    for (int i = 0; v->name && r_objects[i]; i++)
        r_object |= !strncmp(v->name, r_objects[i], strlen(r_objects[i]));
    if (v->name && !r_object && !strchr(v->name, '.') && !strchr(v->name, '$')) {
        size_t n = strlen(v->name) < 40 ? strlen(v->name) : 40;
        p->keep_msg = 1;
        return nn_err(p->e, NN_EFORMAT,
                      "%s:%d:%d: expected a value (number, \"string\", tuple, True/False/None "
                      "or a call), found '%.*s' (a string needs quotes: \"%.*s\"; a variable "
                      "must be set on an earlier line)",
                      p->path, v->line, v->col, (int)n, v->name, (int)n, v->name);
    }
    for (int i = 0; i < v->n; i++)
        if (spec_stray_name(p, &v->items[i]))
            return NN_EFORMAT;
    if (v->call)
        for (int i = 0; i < v->call->nargs; i++)
            if (spec_stray_name(p, &v->call->vals[i]))
                return NN_EFORMAT;
    return NN_OK;
}

/* One call of a statement, applied to the model (method, pipe stage or
 * function taking the model first) or standing alone. Takes c's contents. */
int spec_emit(parser *p, nn_call *c, int on_model, int line, size_t at)
{
    int rc = NN_OK;
    /* R keras and kerasR functions take the model first: keras_fit(mod, X, Y) */
    if (c->nargs && !c->keys[0] && spec_is_model_name(p, &c->vals[0]) &&
        spec_in_list(spec_model_methods, c->fn, strlen(c->fn))) {
        drop_arg(c, 0);
        on_model = 1;
    }
    if (c->qual && spec_in_list(spec_model_methods, c->fn, strlen(c->fn)))
        on_model = 1;
    const char *fn = c->fn;
    if (!strcmp(fn, "add") && c->nargs == 1 && !c->keys[0] && c->vals[0].kind == NN_V_CALL) {
        nn_call *inner = c->vals[0].call;
        c->vals[0].call = NULL;
        nn_call_free(c);
        rc = spec_emit(p, inner, 0, line, at);
        free(inner);
        return rc;
    }
    const char *rename = NULL;
    if (!strcmp(fn, "keras_compile"))
        rename = "compile";
    else if (!strcmp(fn, "keras_fit") || !strcmp(fn, "fit_generator"))
        rename = "fit";
    else if ((!strcmp(fn, "seed") && c->qual) || !strcmp(fn, "set_seed") ||
             !strcmp(fn, "set_random_seed") || !strcmp(fn, "use_session_with_seed"))
        rename = "set.seed";   /* the run's seed, read by the model builder */
    if (rename) {
        free(c->fn);
        if (!(c->fn = strdup(rename))) {
            nn_call_free(c);
            return nn_err(p->e, NN_ENOMEM, "out of memory");
        }
        fn = c->fn;
    }
    if (!strcmp(fn, "summary") || !strcmp(fn, "plot") ||
        (c->qual && !strncmp(c->qual, "plt.", 4))) {
        char t[96];
        rc = spec_note(p, line, "skipped %s: %s", spec_line_text(p, at, t, sizeof t),
                       spec_skip_reason(fn, strlen(fn)));
        nn_call_free(c);
        return rc;
    }
    if ((on_model || c->qual) && spec_in_list(spec_model_methods, fn, strlen(fn)) &&
        strcmp(fn, "compile") && strcmp(fn, "fit") && strcmp(fn, "add")) {
        const char *why = "the data comes from --data";
        if (strstr(fn, "evaluate"))
            why = "train evaluates on --test; nntrain evaluate MODEL.h5 --data FILE";
        else if (strstr(fn, "predict"))
            why = "use nntrain predict MODEL.h5";
        else if (strstr(fn, "save"))
            why = "train writes OUT/last.h5, and --checkpoint FILE or ModelCheckpoint";
        nn_call_free(c);
        return spec_refuse(p, line, at, why);
    }
    if (!strcmp(fn, "fit"))
        rc = clean_fit(p, c);
    /* Sequential([layer, ...]) or Sequential(layers = list(...)): one layer each */
    nn_value layers = {0};
    if (!rc && spec_is_ctor(fn))
        for (int i = 0; i < c->nargs; i++)
            if (c->vals[i].kind == NN_V_LIST && (!c->keys[i] || !strcmp(c->keys[i], "layers"))) {
                layers = c->vals[i];
                memset(&c->vals[i], 0, sizeof c->vals[i]);
                drop_arg(c, i);
                break;
            }
    for (int i = 0; i < c->nargs && !rc; i++)
        rc = spec_stray_name(p, &c->vals[i]);
    if (!rc)
        rc = spec_push(p, c);
    else
        nn_call_free(c);
    for (int i = 0; i < layers.n && !rc; i++) {
        nn_value *v = &layers.items[i];
        if (v->kind != NN_V_CALL) {
            char w[300];
            rc = nn_err(p->e, NN_EFORMAT, "%s: Sequential([...]) takes layers such as Dense(10)",
                        nn_value_where(&p->out->calls[p->out->ncalls - 1], v, w, sizeof w));
        } else {
            rc = spec_emit(p, v->call, 0, v->line, at);
            free(v->call);
            v->call = NULL;
            v->kind = NN_V_NONE;
        }
    }
    spec_value_free(&layers);
    return rc;
}

