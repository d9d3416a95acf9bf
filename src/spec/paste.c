/* The statement level of the spec language, which makes the model part of a
 * pasted Keras script a valid spec (R kerasR, R keras pipes, Python Keras and
 * tf.keras):
 *   mod <- Sequential(); mod$add(Dense(..))      model.add(layers.Dense(..))
 *   model <- keras_model_sequential() %>% layer_dense(..) %>% ...  (lines
 *     ending in %>% continue)                    model %>% compile(..)
 *   keras_compile(mod, ..), keras_fit(mod, X, Y, ..), history = model.fit(..)
 *   tf.keras.Sequential([tf.keras.Input((4,)), Dense(..)]): one layer each
 *   batch_size <- 128 / callbacks = [ModelCheckpoint(..)]: variables used by
 *     later arguments;  set.seed(1), np.random.seed(1): the run's seed.
 * Data arguments (x_train, validation_data=..) and callbacks other than
 * ModelCheckpoint are dropped with a note. Imports, library(), print(),
 * cat(), plot() and summary() lines are skipped with a note; any other line
 * that does not describe the model (data loading, reshaping, evaluate, save)
 * is refused with a message naming it: nntrain reads data from --data, and
 * guessing what such a line meant would train on something else silently.
 * What each call becomes is paste_emit.c's. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nntrain/args.h"
#include "spec_priv.h"

#define MAX_CHAIN 256

static char peek(const parser *p)
{
    return p->s[p->i];
}

/* Methods of a Keras model, and R keras's functions taking the model first. */
const char *const spec_model_methods[] = {
    "add", "compile", "fit", "fit_generator", "summary", "evaluate", "evaluate_generator",
    "predict", "predict_classes", "predict_proba", "predict_generator", "predict_on_batch",
    "save", "save_weights", "load_weights", "to_json", "to_yaml", "get_weights", "set_weights",
    "train_on_batch", "test_on_batch", "pop", "build", "reset_states", "get_layer",
    "count_params", "keras_compile", "keras_fit", "keras_save", "keras_save_weights",
    "keras_predict", "keras_predict_classes", "keras_predict_proba", "keras_load_weights",
    "save_model_hdf5", "save_model_weights_hdf5", "save_model_tf", "load_model_weights_hdf5",
    "export_savedmodel", "plot", NULL};
/* Lines skipped with a note: they only import or print. */
static const char *const skipped[] = {"library", "require", "requireNamespace", "print", "cat",
                                      "plot", "summary", "str", "head", "message",
                                      "suppressPackageStartupMessages", "use_python",
                                      "use_condaenv", "use_virtualenv", "install_keras", NULL};
/* Why a skipped line is not needed, for its note. */
const char *spec_skip_reason(const char *w, size_t n)
{
    const char *fn = w + n;
    while (fn > w && fn[-1] != '.' && fn[-1] != '$')
        fn--;
    size_t k = (size_t)(w + n - fn);
    if ((k == 4 && !strncmp(fn, "plot", 4)) || !strncmp(w, "plt.", 4))
        return "train writes the history to OUT/history.csv";
    if (k == 7 && !strncmp(fn, "summary", 7))
        return "nntrain summary and train print the model";
    if ((k == 5 && !strncmp(fn, "print", 5)) || (k == 3 && !strncmp(fn, "cat", 3)) ||
        (k == 3 && !strncmp(fn, "str", 3)) || (k == 4 && !strncmp(fn, "head", 4)) ||
        (k == 7 && !strncmp(fn, "message", 7)))
        return "nntrain prints its own output";
    if (!strncmp(fn, "use_", 4) || !strncmp(fn, "install_", 8))
        return "nntrain needs no Python";
    return "nntrain needs no imports";
}

/* Lines refused whatever they hold: Python blocks. */
static const char *const blocks[] = {"def", "class", "for", "while", "if", "elif", "else",
                                     "with", "try", "except", "finally", "return", "assert",
                                     "del", "raise", NULL};

int spec_in_list(const char *const list[], const char *s, size_t n)
{
    for (int i = 0; list[i]; i++)
        if (strlen(list[i]) == n && !strncmp(list[i], s, n))
            return 1;
    return 0;
}

int spec_note(parser *p, int line, const char *fmt, ...)
{
    char text[400];
    int k = snprintf(text, sizeof text, "%s:%d: ", p->path, line);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text + k, sizeof text - (size_t)k, fmt, ap);
    va_end(ap);
    nn_spec *s = p->out;
    char **notes = realloc(s->notes, (size_t)(s->nnotes + 1) * sizeof *notes);
    if (!notes)
        return nn_err(p->e, NN_ENOMEM, "out of memory");
    s->notes = notes;
    if (!(s->notes[s->nnotes] = strdup(text)))
        return nn_err(p->e, NN_ENOMEM, "out of memory");
    s->nnotes++;
    return NN_OK;
}

/* The text of the line at offset i (up to 60 characters), for messages. */
const char *spec_line_text(const parser *p, size_t i, char *buf, size_t len)
{
    size_t k = 0;
    while (p->s[i] && p->s[i] != '\n' && p->s[i] != '\r' && k + 4 < len && k < 72)
        buf[k++] = p->s[i++];
    while (k && isspace((unsigned char)buf[k - 1]))
        k--;
    if (p->s[i] && p->s[i] != '\n' && p->s[i] != '\r')
        buf[k++] = '.', buf[k++] = '.', buf[k++] = '.';
    buf[k] = 0;
    return buf;
}

/* To the end of the statement: brackets and strings may span lines, and so
 * does a line ending in a pipe. */
static void skip_statement(parser *p)
{
    int depth = 0;
    char q = 0;
    size_t last = p->i;   /* the last character that is not blank */
    while (peek(p)) {
        char c = peek(p);
        if (q) {
            if (c == q)
                q = 0;
            else if (c == '\\' && p->s[p->i + 1])
                spec_adv(p);
        } else if (c == '"' || c == '\'') {
            q = c;
        } else if (c == '#') {
            while (peek(p) && peek(p) != '\n')
                spec_adv(p);
            continue;
        } else if (c == '(' || c == '[' || c == '{') {
            depth++;
        } else if ((c == ')' || c == ']' || c == '}') && depth > 0) {
            depth--;
        } else if (c == ';' && depth == 0) {
            return;
        } else if (c == '\n' && depth == 0) {
            if (!(last >= 2 && !strncmp(p->s + last - 2, "%>%", 3)) &&
                !(last >= 1 && !strncmp(p->s + last - 1, "|>", 2)))
                return;
        }
        if (!isspace((unsigned char)c))
            last = p->i;
        spec_adv(p);
    }
}

/* A line that does not describe the model: remembered, and the statement
 * skipped, so that one message names every line to delete. */
int spec_refuse(parser *p, int line, size_t at, const char *why)
{
    char t[96];
    if (!p->nrefused)
        snprintf(p->refused_msg, sizeof p->refused_msg,
                 "%s:%d: this line is not part of a model: delete it (%s): %s", p->path, line,
                 why, spec_line_text(p, at, t, sizeof t));
    if (p->nrefused < (int)(sizeof p->refused / sizeof p->refused[0]))
        p->refused[p->nrefused] = line;
    p->nrefused++;
    p->i = at;   /* from its start: a parse error may have stopped inside brackets */
    p->line = line;
    p->col = 1;
    skip_statement(p);
    return NN_OK;
}

int spec_refused(parser *p)
{
    if (!p->nrefused)
        return NN_OK;
    char more[200] = "";
    int shown = p->nrefused < 12 ? p->nrefused : 12;
    for (int i = 1; i < shown; i++)
        snprintf(more + strlen(more), sizeof more - strlen(more), "%s%d",
                 i == 1 ? "" : i + 1 == shown && shown == p->nrefused ? " and " : ", ",
                 p->refused[i]);
    if (p->nrefused > shown)
        snprintf(more + strlen(more), sizeof more - strlen(more), " and %d more",
                 p->nrefused - shown);
    return nn_err(p->e, NN_EFORMAT, "%s%s%s%s", p->refused_msg,
                  shown > 2 ? " (so are lines " : shown > 1 ? " (so is line " : "", more,
                  shown > 1 ? ")" : "");
}

/* A Python tuple assignment "(x, y), (a, b) = load()" or "a, b = f()": an '='
 * or '<-' outside brackets before the end of the statement. */
static int has_assignment(parser *p)
{
    size_t i = p->i;
    int line = p->line, col = p->col, found = 0;
    size_t end;
    skip_statement(p);
    end = p->i;
    int depth = 0;
    for (size_t k = i; k < end && !found; k++) {
        char c = p->s[k];
        if (c == '(' || c == '[')
            depth++;
        else if ((c == ')' || c == ']') && depth)
            depth--;
        else if (!depth && c == '=' && p->s[k + 1] != '=' && !strchr("=!<>", p->s[k - 1]))
            found = 1;
        else if (!depth && c == '<' && p->s[k + 1] == '-')
            found = 1;
    }
    p->i = i, p->line = line, p->col = col;
    return found;
}

size_t spec_ident_len(const char *s)
{
    size_t n = 0;
    if (!spec_is_ident0(s[0]))
        return 0;
    while (spec_is_ident(s[n]))
        n++;
    return n;
}

const char *spec_last_part(const char *w, size_t n)
{
    const char *last = w + n;
    while (last > w && last[-1] != '.' && last[-1] != '$')
        last--;
    return last;
}

static int is_pipe(const parser *p)
{
    return !strncmp(p->s + p->i, "%>%", 3) || !strncmp(p->s + p->i, "|>", 2);
}

static int is_ctor_n(const char *fn, size_t n)
{
    return (n == 10 && !strncmp(fn, "Sequential", n)) ||
           (n == 22 && !strncmp(fn, "keras_model_sequential", n));
}

int spec_is_ctor(const char *fn)
{
    return is_ctor_n(fn, strlen(fn));
}

/* A Keras object a variable may hold: a class (RMSprop(..), ModelCheckpoint(..))
 * or R keras's optimizer_*, callback_*, learning_rate_schedule_*, ... */
static int is_keras_object(const char *fn)
{
    static const char *const pre[] = {"optimizer_", "callback_", "loss_", "metric_", "layer_",
                                      "initializer_", "regularizer_", "learning_rate_schedule_",
                                      NULL};
    if (isupper((unsigned char)fn[0]))
        return 1;
    for (int i = 0; pre[i]; i++)
        if (!strncmp(fn, pre[i], strlen(pre[i])))
            return 1;
    return 0;
}

/* What a variable may hold: numbers, strings, booleans, lists of them and
 * Keras objects; never a bare name (data such as mnist$train$x). */
static int storable(const nn_value *v)
{
    if (v->name)
        return 0;
    if (v->kind == NN_V_CALL)
        return is_keras_object(v->call->fn);
    for (int i = 0; i < v->n; i++)
        if (!storable(&v->items[i]))
            return 0;
    return 1;
}

int spec_is_model_name(const parser *p, const nn_value *v)
{
    return v->kind == NN_V_STR && v->name && p->model && !strcmp(v->name, p->model);
}

int spec_set_var(parser *p, char *name, nn_value *v)
{
    for (int i = 0; i < p->nvars; i++)
        if (!strcmp(p->vars[i].name, name)) {
            free(name);
            spec_value_free(&p->vars[i].v);
            p->vars[i].v = *v;
            p->vars[i].tensor = p->vars[i].applied = 0;
            return NN_OK;
        }
    spec_var *vars = realloc(p->vars, (size_t)(p->nvars + 1) * sizeof *vars);
    if (!vars) {
        free(name);
        spec_value_free(v);
        return nn_err(p->e, NN_ENOMEM, "out of memory");
    }
    p->vars = vars;
    memset(&p->vars[p->nvars], 0, sizeof p->vars[p->nvars]);
    p->vars[p->nvars].name = name;
    p->vars[p->nvars++].v = *v;
    return NN_OK;
}

/* The head of the expression at the cursor looks like the model's business:
 * a call or pipe on the model, a model constructor, a Keras object, or a
 * plain call (layers, compile, fit ...: their own errors apply). */
static int looks_like_model(parser *p, int assign)
{
    const char *w = p->s + p->i;
    size_t n = spec_ident_len(w);
    if (!n)
        return !assign;
    const char *last = spec_last_part(w, n);
    size_t k = n;
    while (w[k] == ' ' || w[k] == '\t')
        k++;
    int call = w[k] == '(';
    int on_model = p->model && !strncmp(w, p->model, strlen(p->model)) &&
                   (n == strlen(p->model) || w[strlen(p->model)] == '.' ||
                    w[strlen(p->model)] == '$');
    if (on_model || (call && is_ctor_n(last, (size_t)(w + n - last))) ||
        (call && (size_t)(w + n - last) == 20 && !strncmp(last, "image_data_generator", 20)))
        return 1;
    if (!assign)
        return call || !strncmp(w + k, "%>%", 3) || !strncmp(w + k, "|>", 2);
    return call && is_keras_object(last);
}

/* True, None ... alone on a line. */
static int bare_constant(parser *p, const char *w, size_t n)
{
    static const char *const consts[] = {"True", "TRUE", "true", "False", "FALSE", "false",
                                         "None", "NULL", "null", NULL};
    if (!spec_in_list(consts, w, n))
        return NN_OK;
    return nn_err(p->e, NN_EFORMAT, "%s:%d:%d: expected a call such as Dense(10), found a bare "
                  "value", p->path, p->line, p->col);
}

/* Python's "img_rows, img_cols = 28, 28": constants into variables. Anything
 * else of that form (x, y = load()) is refused. */
static int tuple_assignment(parser *p, int line, size_t at)
{
    char *names[16];
    nn_value vals[16];
    int n = 0, nv = 0, rc = NN_OK;
    memset(vals, 0, sizeof vals);
    for (;;) {
        size_t len = spec_ident_len(p->s + p->i);
        if (!len || n == 16 || memchr(p->s + p->i, '.', len) || memchr(p->s + p->i, '$', len))
            break;
        if (!(names[n] = spec_dupn(p->s + p->i, len))) {
            rc = nn_err(p->e, NN_ENOMEM, "out of memory");
            break;
        }
        n++;
        for (size_t j = 0; j < len; j++)
            spec_adv(p);
        spec_skip_space(p, 0);
        if (peek(p) != ',')
            break;
        spec_adv(p);
        spec_skip_space(p, 0);
    }
    int ok = !rc && n > 1 && peek(p) == '=' && p->s[p->i + 1] != '=';
    if (ok) {
        spec_adv(p);
        p->names_ok = 0;
        for (; nv < n && ok; nv++) {
            nn_error quiet = {0}, *keep = p->e;
            p->e = &quiet;
            ok = !spec_parse_value(p, &vals[nv], 1) && storable(&vals[nv]);
            p->e = keep;
            spec_skip_space(p, 0);
            if (ok && nv + 1 < n)
                ok = peek(p) == ',' ? (spec_adv(p), 1) : 0;
        }
        ok = ok && (!peek(p) || peek(p) == '\n' || peek(p) == ';' || peek(p) == '#' ||
                    peek(p) == '\r');
    }
    for (int i = 0; i < n; i++) {
        if (ok && !rc) {
            rc = spec_set_var(p, names[i], &vals[i]);
            memset(&vals[i], 0, sizeof vals[i]);
        } else {
            free(names[i]);
        }
        spec_value_free(&vals[i]);
    }
    if (rc)
        return rc;
    return ok ? NN_OK : spec_refuse(p, line, at, "the data comes from --data");
}

static int statement(parser *p, nn_value *chain, int *nchain)
{
    size_t at = p->i;
    int line = p->line;
    char *lhs = NULL;
    const char *w = p->s + p->i;
    size_t n = spec_ident_len(w);
    const char *fn = spec_last_part(w, n);
    /* imports, library(), print() ...: skipped with a note */
    if ((n == 6 && !strncmp(w, "import", 6) && isspace((unsigned char)w[6])) ||
        (n == 4 && !strncmp(w, "from", 4) && isspace((unsigned char)w[4])) ||
        (n && w[n] == '(' && fn == w && spec_in_list(skipped, w, n)) ||
        (n && fn > w && spec_in_list(skipped, fn, (size_t)(w + n - fn)) &&
         !spec_in_list(spec_model_methods, fn, (size_t)(w + n - fn))) ||
        (n > 4 && !strncmp(w, "plt.", 4))) {
        char t[96];
        int rc = spec_note(p, line, "skipped %s: %s", spec_line_text(p, at, t, sizeof t),
                           spec_skip_reason(w, n));
        skip_statement(p);
        return rc;
    }
    if (!strncmp(w, "\"\"\"", 3) || !strncmp(w, "'''", 3)) {   /* a docstring */
        const char *end = strstr(w + 3, w[0] == '"' ? "\"\"\"" : "'''");
        size_t stop = end ? (size_t)(end - p->s) + 3 : strlen(p->s);
        while (p->i < stop)
            spec_adv(p);
        skip_statement(p);
        return NN_OK;
    }
    if (n && spec_in_list(blocks, w, n) && !spec_is_ident(w[n]))
        return spec_refuse(p, line, at, "the data comes from --data");
    if (!n) {
        if ((peek(p) == '(' || peek(p) == '[') && has_assignment(p))
            return spec_refuse(p, line, at, "the data comes from --data");
        return spec_fail(p, "a call such as Dense(10) or compile(...)");
    }
    /* name <- value, name = value */
    size_t k = n;
    while (w[k] == ' ' || w[k] == '\t')
        k++;
    if (w[k] == ',' && has_assignment(p))
        return tuple_assignment(p, line, at);
    if ((w[k] == '<' && w[k + 1] == '-') || (w[k] == '=' && w[k + 1] != '=')) {
        if (!(lhs = spec_dupn(w, n)))
            return nn_err(p->e, NN_ENOMEM, "out of memory");
        for (size_t j = 0; j < k + (w[k] == '<' ? 2 : 1); j++)
            spec_adv(p);
        spec_skip_space(p, 1);
    } else if (w[k] != '(' && w[k] != '%' && w[k] != '|') {
        if (!w[k] || w[k] == '\n' || w[k] == '\r' || w[k] == '#' || w[k] == ';') {
            int rc = bare_constant(p, w, n);
            return rc ? rc : spec_fail(p, "a call such as Dense(10) or compile(...)");
        }
        if (!has_assignment(p))
            return spec_fail(p, "a call such as Dense(10) or compile(...)");
        return spec_refuse(p, line, at, "the data comes from --data");
    }
    if (spec_graph_starts(p, lhs != NULL))   /* x = Dense(4)(inputs), keras_model(..) */
        return spec_graph_statement(p, lhs, at);
    int model_ish = looks_like_model(p, lhs != NULL);
    p->names_ok = 1;
    int rc = spec_parse_value(p, &chain[0], 1);
    *nchain = 1;
    for (;;) {
        if (rc)
            break;
        size_t i = p->i;
        int l = p->line, c = p->col;
        spec_skip_space(p, 0);
        if (!is_pipe(p)) {
            p->i = i, p->line = l, p->col = c;
            break;
        }
        int two = p->s[p->i] == '|';
        for (int j = 0; j < (two ? 2 : 3); j++)
            spec_adv(p);
        if (*nchain >= MAX_CHAIN) {
            rc = spec_fail(p, "a shorter pipeline");
            break;
        }
        rc = spec_parse_value(p, &chain[(*nchain)++], 1);
        if (!rc && chain[*nchain - 1].kind != NN_V_CALL) {
            char w2[300];
            nn_call where = {.path = p->path};
            rc = nn_err(p->e, NN_EFORMAT, "%s: expected a call after %%>%%",
                        nn_value_where(&where, &chain[*nchain - 1], w2, sizeof w2));
        }
    }
    if (!rc) {
        spec_skip_space(p, 0);
        if ((peek(p) == '<' && p->s[p->i + 1] == '-') ||
                   (peek(p) == '=' && p->s[p->i + 1] != '=')) {
            model_ish = 0;   /* dim(x_train) <- c(...): R assigning into data */
            rc = NN_EFORMAT;
        } else if (peek(p) && peek(p) != '\n' && peek(p) != ';') {
            rc = model_ish ? spec_fail(p, "end of line after the call") : NN_EFORMAT;
        }
    }
    if (rc && !model_ish) {
        free(lhs);
        if (rc == NN_ENOMEM)
            return rc;
        return spec_refuse(p, line, at, "the data comes from --data");
    }
    if (rc) {
        free(lhs);
        return rc;
    }
    nn_value *head = &chain[0];
    int first = 0, on_model = 0;
    if (head->kind == NN_V_STR && head->name) {   /* model %>% ..., score <- model ... */
        if (*nchain > 1 && !p->model) {
            free(lhs);
            p->keep_msg = 1;
            return nn_err(p->e, NN_EFORMAT, "%s:%d: %s %%>%% ... before any model: start "
                          "with %s <- %s", p->path, line, head->name, head->name,
                          spec_graph_tensors(p) ? "keras_model(inputs, outputs)"
                                                : "keras_model_sequential()");
        }
        if (*nchain == 1 || !spec_is_model_name(p, head)) {
            free(lhs);
            return spec_refuse(p, line, at, "the data comes from --data");
        }
        first = 1;
        on_model = 1;
    } else if (lhs && head->kind == NN_V_CALL && spec_is_ctor(head->call->fn)) {
        free(p->model);
        p->model = lhs;   /* model <- keras_model_sequential() */
        lhs = NULL;
    } else if (lhs && *nchain == 1 &&
               !(head->kind == NN_V_CALL && (!strcmp(head->call->fn, "ImageDataGenerator") ||
                                             !strcmp(head->call->fn, "image_data_generator"))) &&
               !(head->kind == NN_V_CALL &&
                 spec_in_list(spec_model_methods, head->call->fn, strlen(head->call->fn)) &&
                 (head->call->qual || head->call->nargs))) {
        if (!storable(head)) {
            free(lhs);
            return spec_refuse(p, line, at, "the data comes from --data");
        }
        rc = spec_set_var(p, lhs, head);   /* batch_size <- 128 */
        memset(head, 0, sizeof *head);
        *nchain = 0;
        return rc;
    }
    free(lhs);
    for (int i = first; i < *nchain && !rc; i++) {
        if (chain[i].kind != NN_V_CALL)
            return spec_fail(p, "a call");
        nn_call *c = chain[i].call;
        chain[i].call = NULL;
        chain[i].kind = NN_V_NONE;
        rc = spec_emit(p, c, on_model || i > 0, chain[i].line, at);
        free(c);
    }
    return rc;
}

int spec_statement(parser *p)
{
    nn_value *chain = calloc(MAX_CHAIN, sizeof *chain);
    if (!chain)
        return nn_err(p->e, NN_ENOMEM, "out of memory");
    int n = 0;
    int rc = statement(p, chain, &n);
    for (int i = 0; i < MAX_CHAIN; i++)
        spec_value_free(&chain[i]);
    free(chain);
    return rc;
}

int spec_is_r(const char *s)
{
    char q = 0;
    for (size_t i = 0; s[i]; i++) {
        char c = s[i];
        if (q) {
            q = c == q ? 0 : q;
        } else if (c == '"' || c == '\'') {
            q = c;
        } else if (c == '#') {
            while (s[i + 1] && s[i + 1] != '\n')
                i++;
        } else if ((c == '<' && s[i + 1] == '-') || (c == '%' && !strncmp(s + i, "%>%", 3)) ||
                   (c == '$' && i && spec_is_ident(s[i - 1])) ||
                   ((!i || !spec_is_ident(s[i - 1])) &&
                    (!strncmp(s + i, "library(", 8) || !strncmp(s + i, "layer_", 6)))) {
            return 1;
        }
    }
    return 0;
}
