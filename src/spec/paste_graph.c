/* Functional (graph) models in pasted Keras scripts: variables that hold
 * tensors.
 *   inputs = Input(shape=(32, 32, 3))         inputs <- layer_input(shape = c(32, 32, 3))
 *   x = Conv2D(16, 3)(inputs)                 x <- inputs %>% layer_conv_2d(16, 3) %>% ...
 *   y = Dense(10)(Flatten()(x))               y <- layer_dense(x, units = 10)
 *   x = add([x, y]), Add()([x, y])            layer_add(list(x, z)), list(x, z) %>% layer_add()
 *   model = Model(inputs=inputs, outputs=y)   model <- keras_model(inputs, outputs)
 * A tensor is the index of the call that makes it. Each layer applied
 * becomes one call whose inputs are those indices (nn_call.inputs), emitted
 * in evaluation order: an inner call before the outer one, so every call's
 * inputs come earlier. A variable can only name a value computed on an
 * earlier line, so a cycle cannot be written. Python's lowercase merges
 * (add, concatenate, ...) become their Keras classes (Add, Concatenate).
 * This file: what starts such a statement (looking ahead), assignments,
 * Model(...) and its checks; the expressions are paste_tensor.c's. Limits,
 * each refused with a message: one input, one output, no layer object
 * applied twice (shared weights). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nntrain/args.h"
#include "graph_priv.h"

static char peek(const parser *p)
{
    return p->s[p->i];
}

int spec_is_input_fn(const char *fn, size_t n)
{
    return (n == 5 && !strncmp(fn, "Input", 5)) || (n == 11 && !strncmp(fn, "layer_input", 11));
}

int spec_is_model_fn(const char *fn, size_t n)
{
    return (n == 5 && !strncmp(fn, "Model", 5)) || (n == 11 && !strncmp(fn, "keras_model", 11));
}

int spec_is_pipe_at(const char *s)
{
    return !strncmp(s, "%>%", 3) || !strncmp(s, "|>", 2);
}

/* Spaces, newlines and comments (inside brackets a statement spans lines). */
size_t spec_skip_ws(const char *s, size_t i)
{
    for (;;) {
        if (s[i] == '#')
            while (s[i] && s[i] != '\n')
                i++;
        else if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')
            i++;
        else
            return i;
    }
}

/* At an opening bracket: the index after the bracket that closes it. */
size_t spec_after_close(const char *s, size_t i)
{
    int depth = 0;
    char q = 0;
    for (; s[i]; i++) {
        char c = s[i];
        if (q) {
            if (c == '\\' && s[i + 1])
                i++;
            else if (c == q)
                q = 0;
        } else if (c == '"' || c == '\'') {
            q = c;
        } else if (c == '#') {
            while (s[i + 1] && s[i + 1] != '\n')
                i++;
        } else if (c == '(' || c == '[' || c == '{') {
            depth++;
        } else if (c == ')' || c == ']' || c == '}') {
            if (--depth == 0)
                return i + 1;
        }
    }
    return i;
}

/* A call that works on the model or is the model (model.fit(x, y),
 * Sequential([...])): its arguments are not the graph's business. */
int spec_model_business(const parser *p, const char *w, size_t n)
{
    const char *fn = spec_last_part(w, n);
    size_t fl = (size_t)(w + n - fn);
    if (p->model && fn > w && (size_t)(fn - 1 - w) == strlen(p->model) &&
        !strncmp(w, p->model, strlen(p->model)))
        return 1;
    if ((fl == 10 && !strncmp(fn, "Sequential", 10)) ||
        (fl == 22 && !strncmp(fn, "keras_model_sequential", 22)))
        return 1;
    return spec_in_list(spec_model_methods, fn, fl) && !(fl == 3 && !strncmp(fn, "add", 3));
}

/* Whether the expression at s[i] gives a tensor (looking ahead, without
 * parsing): a tensor variable, a list starting with one, Input(...), a call
 * applied to something (Dense(4)(x), d(x)), or a call with a tensor among
 * its arguments (add([x, y]), layer_dense(x, 4), tf.nn.relu(x): the last
 * one is refused with its own message). */
int spec_tensorish(const parser *p, size_t i, int depth)
{
    const char *s = p->s;
    if (depth > 32)
        return 0;
    i = spec_skip_ws(s, i);
    if (s[i] == '[' || s[i] == '(')
        return spec_tensorish(p, i + 1, depth + 1);
    size_t n = spec_ident_len(s + i);
    if (!n)
        return 0;
    const char *w = s + i, *fn = spec_last_part(w, n);
    size_t fl = (size_t)(w + n - fn), j = i + n;
    while (s[j] == ' ' || s[j] == '\t')
        j++;
    const spec_var *var = spec_var_find(p, w, n);
    if (s[j] != '(')
        return var && var->tensor;
    if ((n == 4 && !strncmp(w, "list", 4)) || (n == 1 && w[0] == 'c'))
        return spec_tensorish(p, j + 1, depth + 1);
    if (var && var->v.kind == NN_V_CALL)
        return 1;   /* d(x) */
    if (spec_model_business(p, w, n))
        return 0;
    if (spec_is_input_fn(fn, fl) || spec_is_model_fn(fn, fl))
        return 1;
    size_t end = spec_after_close(s, j), k = end;
    while (s[k] == ' ' || s[k] == '\t')
        k++;
    if (s[k] == '(')
        return 1;
    /* the top-level arguments, after their "key =" */
    for (size_t a = j + 1; a < end;) {
        a = spec_skip_ws(s, a);
        size_t kn = spec_ident_len(s + a), b = spec_skip_ws(s, a + kn);
        if (kn && s[b] == '=' && s[b + 1] != '=')
            a = b + 1;
        if (spec_tensorish(p, a, depth + 1))
            return 1;
        while (a < end && s[a] != ',') {   /* to the next argument */
            if (strchr("([{", s[a]))
                a = spec_after_close(s, a);
            else if (s[a] == '#')
                a = spec_skip_ws(s, a);
            else if (s[a] == '"' || s[a] == '\'') {
                char q = s[a++];
                while (s[a] && s[a] != q && s[a] != '\n')
                    a++;
                a += s[a] == q;
            } else
                a++;
        }
        a++;
    }
    return 0;
}

int spec_graph_tensors(const parser *p)
{
    for (int i = 0; i < p->nvars; i++)
        if (p->vars[i].tensor)
            return 1;
    return 0;
}

int spec_graph_starts(const parser *p, int has_lhs)
{
    const char *w = p->s + p->i;
    size_t n = spec_ident_len(w);
    const char *fn = spec_last_part(w, n);
    size_t fl = (size_t)(w + n - fn);
    if (n && spec_is_input_fn(fn, fl) && !has_lhs) {
        /* Input(shape=(4,)) alone: a Sequential spec's input line, unless
         * something is applied to it or piped from it */
        size_t k = n;
        while (w[k] == ' ' || w[k] == '\t')
            k++;
        if (w[k] != '(')
            return 0;
        k = spec_after_close(p->s, p->i + k) - p->i;
        while (w[k] == ' ' || w[k] == '\t')
            k++;
        return w[k] == '(' || spec_is_pipe_at(w + k);
    }
    /* h %>% layer_dense(..) in a functional script: h is not defined (but
     * model %>% compile(..) before the model has its own message) */
    if (n) {
        size_t k = n;
        while (w[k] == ' ' || w[k] == '\t')
            k++;
        if (spec_is_pipe_at(w + k) && spec_graph_tensors(p) && !spec_var_find(p, w, n) &&
            !(p->model && strlen(p->model) == n && !strncmp(w, p->model, n))) {
            k = spec_skip_ws(w, k + (w[k] == '|' ? 2 : 3));
            size_t sn = spec_ident_len(w + k);
            return !spec_in_list(spec_model_methods, w + k, sn);
        }
    }
    return spec_tensorish(p, p->i, 0);
}

/* name = tensor t (takes name). */
static int set_tensor(parser *p, char *name, int t)
{
    spec_var *v = spec_var_find(p, name, strlen(name));
    if (v) {
        free(name);
        spec_value_free(&v->v);
        v->tensor = t + 1;
        v->applied = 0;
        return NN_OK;
    }
    nn_value none = {0};
    int rc = spec_set_var(p, name, &none);
    if (!rc)
        p->vars[p->nvars - 1].tensor = t + 1;
    return rc;
}

static int model_line(const parser *p)
{
    for (int i = 0; i < p->out->ncalls; i++) {
        const char *fn = p->out->calls[i].fn;
        if (spec_is_model_fn(fn, strlen(fn)))
            return p->out->calls[i].line;
    }
    return 0;
}

/* The calls the tensor out is computed from (out included): one pass back,
 * as inputs come earlier (a walk of the paths would take exponential time
 * through a ResNet's merges). malloc'd, NULL when out of memory. */
static char *ancestors(const nn_spec *s, int out)
{
    char *a = calloc((size_t)s->ncalls, 1);
    if (!a)
        return NULL;
    a[out] = 1;
    for (int i = out; i >= 0; i--)
        for (int k = 0; a[i] && k < s->calls[i].ninputs; k++)
            a[s->calls[i].inputs[k]] = 1;
    return a;
}

/* Model(inputs, outputs) / keras_model(inputs = .., outputs = ..): one
 * input that is the graph's Input, one output; the call keeps its other
 * arguments (name=) and takes the output's index. */
static int gmodel(parser *p, char *lhs, size_t at)
{
    nn_call *c = NULL;
    targ targs[MAX_TARGS];
    int nt = 0;
    int rc = spec_gcall(p, &c, targs, &nt, 0);
    const targ *io[2] = {NULL, NULL};   /* inputs, outputs */
    char w[300], d[120];
    for (int i = 0; i < nt && !rc; i++) {
        const targ *ta = &targs[i];
        int which = !ta->key[0] ? ta->pos
                    : !strcmp(ta->key, "inputs") || !strcmp(ta->key, "input") ? 0
                    : !strcmp(ta->key, "outputs") || !strcmp(ta->key, "output") ? 1 : 2;
        if (which > 1 || io[which]) {
            p->keep_msg = 1;
            rc = nn_err(p->e, NN_EFORMAT, "%s:%d:%d: %s(): a tensor here; a model takes "
                        "inputs= and outputs=", p->path, ta->g.line, ta->g.col, spec_call_name(c));
        } else {
            io[which] = ta;
        }
    }
    for (int k = 0; k < 2 && !rc; k++) {
        static const char *const word[] = {"input", "output"};
        if (!io[k]) {
            p->keep_msg = 1;
            rc = nn_err(p->e, NN_EFORMAT, "%s: %s() needs %ss=, a tensor",
                        nn_value_where(c, NULL, w, sizeof w), spec_call_name(c), word[k]);
        } else if (io[k]->g.n != 1) {
            p->keep_msg = 1;
            rc = nn_err(p->e, NN_EFORMAT, "%s:%d:%d: %s(): %d %ss; one %s is supported",
                        p->path, io[k]->g.line, io[k]->g.col, spec_call_name(c), io[k]->g.n,
                        word[k], word[k]);
        }
    }
    if (!rc && model_line(p)) {
        p->keep_msg = 1;
        rc = nn_err(p->e, NN_EFORMAT, "%s: a second model (the first is on line %d): one "
                    "model per spec", nn_value_where(c, NULL, w, sizeof w), model_line(p));
    }
    if (!rc) {
        const nn_spec *s = p->out;
        int in = io[0]->g.t[0], out = io[1]->g.t[0];
        const char *iname = io[0]->g.name[0] ? io[0]->g.name : "inputs";
        const char *oname = io[1]->g.name[0] ? io[1]->g.name : "outputs";
        const char *fn = s->calls[in].fn;
        char *from = ancestors(s, out);
        p->keep_msg = 1;
        if (!from)
            rc = nn_err(p->e, NN_ENOMEM, "out of memory");
        else if (!spec_is_input_fn(fn, strlen(fn)))
            rc = nn_err(p->e, NN_EFORMAT, "%s:%d:%d: %s(): the input '%s' is not an Input(...): "
                        "it is %s", p->path, io[0]->g.line, io[0]->g.col, spec_call_name(c), iname,
                        spec_describe_tensor(p, in, d, sizeof d));
        else if (!from[in])
            rc = nn_err(p->e, NN_EFORMAT, "%s:%d:%d: %s(): the output '%s' does not depend on "
                        "the input '%s' (%s)", p->path, io[1]->g.line, io[1]->g.col,
                        spec_call_name(c), oname, iname, spec_describe_tensor(p, in, d, sizeof d));
        for (int i = 0; !rc && i < s->ncalls; i++)
            if (i != in && spec_is_input_fn(s->calls[i].fn, strlen(s->calls[i].fn)) && from[i])
                rc = nn_err(p->e, NN_EFORMAT, "%s:%d:%d: %s(): the output '%s' also depends "
                            "on %s, which is not the model's input: one input is supported",
                            p->path, io[1]->g.line, io[1]->g.col, spec_call_name(c), oname,
                            spec_describe_tensor(p, i, d, sizeof d));
        free(from);
        if (!rc && !(c->inputs = malloc(sizeof *c->inputs)))
            rc = nn_err(p->e, NN_ENOMEM, "out of memory");
        if (!rc) {
            c->inputs[0] = out;
            c->ninputs = 1;
            for (int i = 0; i < c->nargs && !rc; i++)
                rc = spec_stray_name(p, &c->vals[i]);
        }
        if (!rc && !(rc = spec_push(p, c))) {
            free(c);
            c = NULL;
        }
    }
    for (int i = 0; i < nt; i++)
        spec_gval_free(&targs[i].g);
    if (c) {
        nn_call_free(c);
        free(c);
    }
    if (!rc && lhs) {   /* model.compile(..), model %>% fit(..) */
        free(p->model);
        p->model = lhs;
        lhs = NULL;
    }
    free(lhs);
    /* keras_model(inputs, outputs) %>% compile(...): the model's methods */
    for (;;) {
        if (rc)
            return rc;
        size_t i = p->i;
        int l = p->line, col = p->col;
        spec_skip_space(p, 0);
        if (!spec_is_pipe_at(p->s + p->i)) {
            p->i = i, p->line = l, p->col = col;
            return NN_OK;
        }
        for (int k = p->s[p->i] == '|' ? 2 : 3; k > 0; k--)
            spec_adv(p);
        nn_value v = {0};
        if (!(rc = spec_parse_value(p, &v, 1))) {
            if (v.kind != NN_V_CALL) {
                rc = nn_err(p->e, NN_EFORMAT, "%s:%d:%d: expected a call after %%>%%", p->path,
                            v.line, v.col);
            } else {
                rc = spec_emit(p, v.call, 1, v.line, at);
                free(v.call);
                v.call = NULL;
                v.kind = NN_V_NONE;
            }
        }
        spec_value_free(&v);
    }
}

int spec_graph_statement(parser *p, char *lhs, size_t at)
{
    p->names_ok = 1;   /* bare names in arguments: spec_stray_name's message */
    const char *w = p->s + p->i;
    size_t n = spec_ident_len(w);
    const char *fn = spec_last_part(w, n);
    int rc = NN_OK;
    if (spec_is_model_fn(fn, (size_t)(w + n - fn)))
        rc = gmodel(p, lhs, at);
    else {
        gval g;
        rc = spec_gpiped(p, &g, 0);
        if (!rc) {
            spec_skip_space(p, 0);
            if (peek(p) && peek(p) != '\n' && peek(p) != ';')
                rc = spec_fail(p, "end of line after the call");
        }
        if (!rc && lhs && g.kind == G_LIST) {
            p->keep_msg = 1;
            rc = nn_err(p->e, NN_EFORMAT, "%s:%d:%d: '%s' would hold a list of tensors: write "
                        "the list where it is used, add([a, b])", p->path, g.line, g.col, lhs);
        } else if (!rc && lhs && g.kind == G_LAYER) {
            nn_value v = {.kind = NN_V_CALL, .call = g.layer, .line = g.line, .col = g.col};
            g.layer = NULL;
            rc = spec_set_var(p, lhs, &v);   /* d = Dense(4) */
            lhs = NULL;
        } else if (!rc && g.kind != G_TENSOR && g.kind != G_LIST) {
            rc = spec_not_tensor(p, &g, "the line gives");
        } else if (!rc && lhs) {
            rc = set_tensor(p, lhs, g.t[0]);
            lhs = NULL;
        }
        spec_gval_free(&g);
        free(lhs);
    }
    return rc;
}

/* Keras's Model(...) holds the layers its output is computed from: the
 * others (a branch left unused, an Input not taken) are left out with a
 * note, and the indices renumbered. */
static int prune(parser *p, int model)
{
    nn_spec *s = p->out;
    int *keep = calloc((size_t)s->ncalls, sizeof *keep);
    if (!keep)
        return nn_err(p->e, NN_ENOMEM, "out of memory");
    keep[s->calls[model].inputs[0]] = 1;
    for (int i = s->ncalls - 1; i >= 0; i--)   /* inputs come earlier: one pass */
        for (int k = 0; keep[i] && k < s->calls[i].ninputs; k++)
            keep[s->calls[i].inputs[k]] = 1;
    int rc = NN_OK, n = 0;
    for (int i = 0; i < s->ncalls; i++) {
        nn_call *c = &s->calls[i];
        int graph = c->ninputs || spec_is_input_fn(c->fn, strlen(c->fn));
        if (i != model && graph && !keep[i]) {
            if (!rc)
                rc = spec_note(p, c->line, "%s(...) is not used by the model's output: left out, "
                               "as Keras does", spec_call_name(c));
            nn_call_free(c);
            keep[i] = -1;
            continue;
        }
        keep[i] = n;   /* its new index */
        s->calls[n++] = *c;
    }
    s->ncalls = n;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < s->calls[i].ninputs; k++)
            s->calls[i].inputs[k] = keep[s->calls[i].inputs[k]];
    free(keep);
    return rc;
}

int spec_graph_finish(parser *p)
{
    const nn_spec *s = p->out;
    int first = -1, model = -1, seq = -1;
    for (int i = 0; i < s->ncalls; i++) {
        const char *fn = s->calls[i].fn;
        if (spec_is_model_fn(fn, strlen(fn)))
            model = i;
        else if (s->calls[i].ninputs && first < 0)
            first = i;
        else if (spec_is_ctor(fn))
            seq = i;
    }
    if (model >= 0 && seq >= 0)
        return nn_err(p->e, NN_EFORMAT, "%s:%d: %s() and the model of line %d: one model per "
                      "spec", p->path, s->calls[seq].line, s->calls[seq].fn,
                      s->calls[model].line);
    if (model >= 0)
        return prune(p, model);
    if (first < 0)
        return NN_OK;
    return nn_err(p->e, NN_EFORMAT, "%s:%d: %s(...) is applied to a tensor (a functional model) "
                  "but no line makes the model: add %s", p->path, s->calls[first].line,
                  s->calls[first].fn,
                  s->r_lang ? "model <- keras_model(inputs, outputs)"
                            : "model = Model(inputs=inputs, outputs=outputs)");
}
