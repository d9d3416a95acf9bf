/* The expressions of functional statements (paste_graph.c): a tensor
 * variable, Input(...), a layer applied to a tensor or to a list of them
 * (Dense(4)(x), Add()([x, y]), d(x)), a merge function (add([x, y]), R
 * layer_add(list(x, y))), an R layer given its input first (layer_dense(x,
 * 4)) and %>% stages. Evaluating one appends a call per layer applied, its
 * inputs set, inner calls first; the value is the tensor made (the index of
 * its call). Python's lowercase merges become their Keras classes (add ->
 * Add, concatenate -> Concatenate). Whether an expression holds a tensor is
 * decided by looking ahead (spec_tensorish), so plain arguments keep the
 * value parser and its messages. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nntrain/args.h"
#include "graph_priv.h"

static const char *const py_merges[] = {"add", "subtract", "multiply", "average", "maximum",
                                        "minimum", "concatenate", "dot", NULL};
static const char *const py_merge_classes[] = {"Add", "Subtract", "Multiply", "Average",
                                               "Maximum", "Minimum", "Concatenate", "Dot"};

static char peek(const parser *p)
{
    return p->s[p->i];
}

void spec_gval_free(gval *g)
{
    if (g->layer) {
        nn_call_free(g->layer);
        free(g->layer);
    }
    spec_value_free(&g->v);
    g->layer = NULL;
    g->kind = G_VALUE;
}

const char *spec_call_name(const nn_call *c)
{
    return c->qual ? c->qual : c->fn;
}

/* "the Input of line 1", "the output of Dense on line 3": a tensor for messages. */
const char *spec_describe_tensor(const parser *p, int t, char *buf, size_t len)
{
    const nn_call *c = &p->out->calls[t];
    if (spec_is_input_fn(c->fn, strlen(c->fn)))
        snprintf(buf, len, "the %s of line %d", c->fn, c->line);
    else
        snprintf(buf, len, "the output of %s on line %d", c->fn, c->line);
    return buf;
}

/* "name 'h' is not defined", with the nearest variable as a guess. */
static int undefined(parser *p, const char *w, size_t n, int line, int col)
{
    const char **cands = calloc((size_t)p->nvars + 1, sizeof *cands);
    if (!cands)
        return nn_err(p->e, NN_ENOMEM, "out of memory");
    for (int i = 0; i < p->nvars; i++)
        cands[i] = p->vars[i].name;
    char name[48];
    snprintf(name, sizeof name, "%.*s", (int)(n < 40 ? n : 40), w);
    const char *g = nn_suggest(name, cands);
    char hint[96] = "";
    if (g)
        snprintf(hint, sizeof hint, " (did you mean '%s'?)", g);
    free(cands);
    p->keep_msg = 1;
    return nn_err(p->e, NN_EFORMAT, "%s:%d:%d: name '%s' is not defined%s: a variable must be "
                  "set on an earlier line", p->path, line, col, name, hint);
}

/* What a non-tensor is, for "... is not a tensor". */
static const char *what_value(const gval *g, char *buf, size_t len)
{
    if (g->kind == G_LAYER)
        snprintf(buf, len, "the layer %s(...)",
                 spec_call_name(g->layer));
    else if (g->v.kind == NN_V_NUM)
        snprintf(buf, len, "the number %g", g->v.num);
    else if (g->v.kind == NN_V_STR && !g->v.name)
        snprintf(buf, len, "the string \"%.40s\"", g->v.str);
    else if (g->v.kind == NN_V_STR)
        snprintf(buf, len, "'%.40s'", g->v.name);
    else if (g->v.kind == NN_V_CALL)
        snprintf(buf, len, "%s(...)", spec_call_name(g->v.call));
    else
        snprintf(buf, len, "a value");
    if (g->name[0] && g->kind == G_VALUE)
        snprintf(buf + strlen(buf), len - strlen(buf), " (variable '%s')", g->name);
    return buf;
}

int spec_not_tensor(parser *p, const gval *g, const char *what)
{
    char b[160];
    p->keep_msg = 1;
    return nn_err(p->e, NN_EFORMAT, "%s:%d:%d: %s %s, which is not a tensor: a layer is applied "
                  "to an Input(...) or to another layer's output", p->path, g->line, g->col,
                  what, what_value(g, b, sizeof b));
}

/* Appends the layer call c applied to the tensors of in; *t gets its index.
 * Takes c (freed on error too). */
static int emit_layer(parser *p, nn_call *c, const gval *in, int *t)
{
    int rc = NN_OK;
    size_t fl = strlen(c->fn);
    char w[300];
    if (spec_is_input_fn(c->fn, fl) || spec_is_model_fn(c->fn, fl) || spec_model_business(p, c->fn, fl) ||
        (c->qual && spec_model_business(p, c->qual, strlen(c->qual))) || !strcmp(c->fn, "InputLayer")) {
        p->keep_msg = 1;
        rc = nn_err(p->e, NN_EFORMAT, "%s: %s(...) is applied to a tensor, but it is not a "
                    "layer", nn_value_where(c, NULL, w, sizeof w), spec_call_name(c));
    }
    for (int i = 0; !rc && py_merges[i]; i++)   /* layers.add -> Add */
        if (!strcmp(c->fn, py_merges[i])) {
            char *cls = strdup(py_merge_classes[i]);
            if (!cls) {
                rc = nn_err(p->e, NN_ENOMEM, "out of memory");
                break;
            }
            free(c->fn);
            free(c->qual);
            c->fn = cls;
            c->qual = NULL;
        }
    for (int i = 0; i < c->nargs && !rc; i++)
        rc = spec_stray_name(p, &c->vals[i]);
    if (!rc && !(c->inputs = malloc((size_t)in->n * sizeof *c->inputs)))
        rc = nn_err(p->e, NN_ENOMEM, "out of memory");
    if (!rc) {
        memcpy(c->inputs, in->t, (size_t)in->n * sizeof *c->inputs);
        c->ninputs = in->n;
        rc = spec_push(p, c);
    }
    if (rc) {
        nn_call_free(c);
        free(c);
        return rc;
    }
    free(c);
    *t = p->out->ncalls - 1;
    return NN_OK;
}

static int gexpr(parser *p, gval *g, int depth);

/* [a, b], (a, b), list(a, b), c(a, b) at the cursor: a list of tensors. */
static int glist(parser *p, gval *g, int depth)
{
    int line = p->line, col = p->col;
    size_t n = spec_ident_len(p->s + p->i);
    for (size_t j = 0; j < n; j++)
        spec_adv(p);
    spec_skip_space(p, 0);
    char close = peek(p) == '[' ? ']' : ')';
    spec_adv(p);
    g->kind = G_LIST;
    g->n = 0;
    for (;;) {
        spec_skip_space(p, 1);
        if (peek(p) == close) {
            spec_adv(p);
            break;
        }
        gval it;
        int rc = spec_gpiped(p, &it, depth + 1);
        if (!rc && it.kind != G_TENSOR)
            rc = it.kind == G_LIST ? (p->keep_msg = 1,
                                      nn_err(p->e, NN_EFORMAT, "%s:%d:%d: a list inside a list "
                                             "of tensors", p->path, it.line, it.col))
                                   : spec_not_tensor(p, &it, "a list of tensors holds");
        spec_gval_free(&it);
        if (rc)
            return rc;
        if (g->n == MAX_IN)
            return spec_fail(p, "at most 64 tensors in one list");
        g->t[g->n++] = it.t[0];
        spec_skip_space(p, 1);
        if (peek(p) == ',')
            spec_adv(p);
        else if (peek(p) != close) {
            char want[32];
            snprintf(want, sizeof want, "',' or '%c'", close);
            return spec_fail(p, want);
        }
    }
    g->line = line, g->col = col;
    return NN_OK;
}

/* name(args) at the cursor: the call with its plain arguments; the tensor
 * arguments (those gexpr finds tensors in) go to targs. */
int spec_gcall(parser *p, nn_call **out, targ *targs, int *nt, int depth)
{
    *nt = 0;
    nn_call *c = calloc(1, sizeof *c);
    if (!c)
        return nn_err(p->e, NN_ENOMEM, "out of memory");
    *out = c;
    const char *w = p->s + p->i;
    size_t n = spec_ident_len(w);
    const char *last = spec_last_part(w, n);
    c->fn = spec_dupn(last, (size_t)(w + n - last));
    c->qual = last > w ? spec_dupn(w, n) : NULL;
    c->path = p->path;
    c->line = p->line;
    c->col = p->col;
    if (!c->fn || (last > w && !c->qual))
        return nn_err(p->e, NN_ENOMEM, "out of memory");
    for (size_t j = 0; j < n; j++)
        spec_adv(p);
    spec_skip_space(p, 0);
    spec_adv(p);   /* '(' */
    for (int pos = 0;; pos++) {
        spec_skip_space(p, 1);
        if (peek(p) == ')') {
            spec_adv(p);
            return NN_OK;
        }
        char *key = NULL;
        size_t save = p->i;
        int sl = p->line, sc = p->col;
        size_t kn = spec_ident_len(p->s + p->i);
        if (kn) {
            for (size_t j = 0; j < kn; j++)
                spec_adv(p);
            spec_skip_space(p, 1);
            if (peek(p) == '=' && p->s[p->i + 1] != '=') {
                if (!(key = spec_dupn(p->s + save, kn)))
                    return nn_err(p->e, NN_ENOMEM, "out of memory");
                spec_adv(p);
                spec_skip_space(p, 1);
            } else {
                p->i = save, p->line = sl, p->col = sc;
            }
        }
        int rc;
        if (spec_tensorish(p, p->i, depth + 1)) {
            if (*nt == MAX_TARGS) {
                free(key);
                return spec_fail(p, "fewer tensor arguments");
            }
            targ *ta = &targs[(*nt)++];
            snprintf(ta->key, sizeof ta->key, "%s", key ? key : "");
            ta->pos = pos;
            free(key);
            if ((rc = spec_gpiped(p, &ta->g, depth + 1)))
                return rc;
            if (ta->g.kind != G_TENSOR && ta->g.kind != G_LIST) {
                char what[160];
                snprintf(what, sizeof what, "%s(...) is given", spec_call_name(c));
                rc = spec_not_tensor(p, &ta->g, what);
                spec_gval_free(&ta->g);
                return rc;
            }
        } else {
            nn_value *v = spec_call_add_arg(p, c, key);
            if (!v)
                return NN_ENOMEM;
            if ((rc = spec_parse_value(p, v, depth + 1)))
                return rc;
        }
        spec_skip_space(p, 1);
        if (peek(p) == ',')
            spec_adv(p);
        else if (peek(p) != ')')
            return spec_fail(p, "',' or ')' after an argument");
    }
}

/* A layer's input among a call's tensor arguments: the first positional
 * one or inputs=/object= (add([x, y]), layer_dense(x, 4)); *in gets it
 * (G_VALUE when there is none). */
static int layer_input(parser *p, const nn_call *c, targ *targs, int nt, gval *in)
{
    in->kind = G_VALUE;
    for (int i = 0; i < nt; i++) {
        const targ *ta = &targs[i];
        int ok = (!ta->key[0] && ta->pos == 0) || !strcmp(ta->key, "inputs") ||
                 !strcmp(ta->key, "object");
        if (!ok || in->kind != G_VALUE) {
            p->keep_msg = 1;
            return nn_err(p->e, NN_EFORMAT, "%s:%d:%d: %s(%s%s...): a tensor here; a layer "
                          "takes its input tensor when applied, %s(...)(x)", p->path,
                          ta->g.line, ta->g.col, spec_call_name(c), ta->key, ta->key[0] ? "=" : "",
                          c->fn);
        }
        *in = ta->g;
    }
    if (in->kind == G_VALUE)
        return NN_OK;
    /* Python's tensor functions are the lowercase merges; R's are layer_* */
    int merge = spec_in_list(py_merges, c->fn, strlen(c->fn));
    if (!merge && strncmp(c->fn, "layer_", 6)) {
        p->keep_msg = 1;
        return nn_err(p->e, NN_EFORMAT, "%s:%d:%d: %s(...) is given a tensor, but it is not a "
                      "Keras layer: only layers work on tensors here (Activation(\"relu\")(x), "
                      "Add()([x, y]))", p->path, c->line, c->col, spec_call_name(c));
    }
    return NN_OK;
}

/* At the '(' after a layer: applies it to its argument, a tensor or a list
 * of them (Dense(4)(x), Add()([x, y]), d(x)). Takes layer. */
static int gapply(parser *p, nn_call *layer, spec_var *var, gval *g, int depth)
{
    int line = p->line, col = p->col, rc = NN_OK;
    gval in = {.kind = G_VALUE};
    char what[160];
    if (var)
        snprintf(what, sizeof what, "layer '%s' is applied to", var->name);
    else
        snprintf(what, sizeof what, "%s(...) is applied to", spec_call_name(layer));
    spec_adv(p);
    spec_skip_space(p, 1);
    size_t kn = spec_ident_len(p->s + p->i), k = p->i + kn;
    while (p->s[k] == ' ' || p->s[k] == '\t')
        k++;
    if (kn && p->s[k] == '=' && p->s[k + 1] != '=') {
        if (!(kn == 6 && !strncmp(p->s + p->i, "inputs", 6))) {
            p->keep_msg = 1;
            rc = nn_err(p->e, NN_EFORMAT, "%s:%d:%d: %s(...)(%.*s=...): only the input tensor "
                        "is supported when a layer is applied", p->path, p->line, p->col,
                        spec_call_name(layer), (int)(kn < 30 ? kn : 30), p->s + p->i);
        }
        while (!rc && p->i <= k)
            spec_adv(p);
    }
    if (!rc && peek(p) == ')') {
        p->keep_msg = 1;
        rc = nn_err(p->e, NN_EFORMAT, "%s:%d:%d: %s(...)() needs a tensor to apply the layer "
                    "to", p->path, line, col, var ? var->name : spec_call_name(layer));
    }
    if (!rc && !(rc = spec_gpiped(p, &in, depth + 1)) && in.kind != G_TENSOR && in.kind != G_LIST)
        rc = spec_not_tensor(p, &in, what);
    if (!rc) {
        spec_skip_space(p, 1);
        if (peek(p) == ',') {
            p->keep_msg = 1;
            rc = nn_err(p->e, NN_EFORMAT, "%s:%d:%d: %s(...)(x, ...): only the input tensor is "
                        "supported when a layer is applied (a list [a, b] for several)",
                        p->path, p->line, p->col, spec_call_name(layer));
        } else if (peek(p) != ')') {
            rc = spec_fail(p, "')'");
        } else {
            spec_adv(p);
        }
    }
    if (!rc && var) {   /* d = Dense(4) applied: once */
        if (var->applied) {
            p->keep_msg = 1;
            rc = nn_err(p->e, NN_EFORMAT, "%s:%d:%d: layer '%s' is applied twice (shared "
                        "layers are not supported): line %d and line %d", p->path, layer->line,
                        layer->col, var->name, var->applied, layer->line);
        } else {
            var->applied = layer->line;
        }
    }
    int t = 0;
    if (!rc) {
        rc = emit_layer(p, layer, &in, &t);
        layer = NULL;
    }
    spec_gval_free(&in);
    if (layer) {
        nn_call_free(layer);
        free(layer);
    }
    if (rc)
        return rc;
    g->kind = G_TENSOR;
    g->n = 1;
    g->t[0] = t;
    return NN_OK;
}

/* One expression of a functional statement; *g is set even on error (free
 * it with spec_gval_free). */
static int gexpr(parser *p, gval *g, int depth)
{
    memset(g, 0, sizeof *g);
    if (depth > 32)
        return spec_fail(p, "less deeply nested values");
    spec_skip_space(p, 1);
    g->line = p->line;
    g->col = p->col;
    const char *w = p->s + p->i;
    size_t n = spec_ident_len(w), j = n;
    while (w[j] == ' ' || w[j] == '\t')
        j++;
    int list = (n == 4 && !strncmp(w, "list", 4) && w[j] == '(') ||
               (n == 1 && w[0] == 'c' && w[j] == '(');
    if (peek(p) == '[' || peek(p) == '(' || list) {
        if (spec_tensorish(p, p->i, 0))
            return glist(p, g, depth);
        return spec_parse_value(p, &g->v, depth + 1);   /* (3, 4): not a tensor */
    }
    spec_var *var = n ? spec_var_find(p, w, n) : NULL;
    if (n && var && w[j] != '(' && (var->tensor || var->v.kind == NN_V_CALL)) {
        snprintf(g->name, sizeof g->name, "%.*s", (int)(n < 40 ? n : 40), w);
        for (size_t k = 0; k < n; k++)
            spec_adv(p);
        if (var->tensor) {
            g->kind = G_TENSOR;
            g->n = 1;
            g->t[0] = var->tensor - 1;
            return NN_OK;
        }
        g->kind = G_LAYER;
        g->var = var;
        if (!(g->layer = calloc(1, sizeof *g->layer)))
            return nn_err(p->e, NN_ENOMEM, "out of memory");
        nn_value v;
        int rc = spec_value_copy(&v, &var->v);
        if (!rc)
            *g->layer = *v.call, free(v.call), v.call = NULL;
        spec_value_free(&v);
        return rc ? nn_err(p->e, NN_ENOMEM, "out of memory") : NN_OK;
    }
    if (!n || w[j] != '(') {   /* a number, a string, a variable holding one */
        static const char *const consts[] = {"True", "TRUE", "False", "FALSE", "None", "NULL",
                                             NULL};
        if (n && !var && !spec_in_list(consts, w, n))
            return undefined(p, w, n, g->line, g->col);
        if (n)
            snprintf(g->name, sizeof g->name, "%.*s", (int)(n < 40 ? n : 40), w);
        g->kind = G_VALUE;
        return spec_parse_value(p, &g->v, depth + 1);
    }
    nn_call *c = NULL;
    int rc = NN_OK, nt = 0;
    targ targs[MAX_TARGS];
    if (var && var->v.kind == NN_V_CALL) {   /* d(x): the layer object applied */
        nn_value v;
        for (size_t k = 0; k < n; k++)
            spec_adv(p);
        spec_skip_space(p, 0);
        if ((rc = spec_value_copy(&v, &var->v))) {
            spec_value_free(&v);
            return nn_err(p->e, NN_ENOMEM, "out of memory");
        }
        c = v.call;
        v.call = NULL;
        spec_value_free(&v);
        c->line = g->line, c->col = g->col;
        return gapply(p, c, var, g, depth);
    }
    if ((rc = spec_gcall(p, &c, targs, &nt, depth))) {
        for (int i = 0; i < nt; i++)
            spec_gval_free(&targs[i].g);
        nn_call_free(c);
        free(c);
        return rc;
    }
    size_t fl = strlen(c->fn);
    spec_skip_space(p, 0);
    gval in;
    if (spec_is_model_fn(c->fn, fl)) {
        p->keep_msg = 1;
        rc = nn_err(p->e, NN_EFORMAT, "%s:%d:%d: %s(...) inside an expression: write model = "
                    "%s(inputs, outputs) on a line of its own", p->path, c->line, c->col,
                    spec_call_name(c), c->fn);
    } else if (peek(p) == '(') {   /* Dense(4)(x) */
        if (nt) {
            const targ *ta = &targs[0];
            p->keep_msg = 1;
            rc = nn_err(p->e, NN_EFORMAT, "%s:%d:%d: %s(%s%s...): '%s' is a tensor, not a value: "
                        "a layer takes its input tensor when applied, %s(...)(x)", p->path,
                        ta->g.line, ta->g.col, spec_call_name(c), ta->key, ta->key[0] ? "=" : "",
                        ta->g.name[0] ? ta->g.name : "[...]", c->fn);
        } else {
            rc = gapply(p, c, NULL, g, depth);
            c = NULL;
            spec_skip_space(p, 0);
            if (!rc && peek(p) == '(') {
                p->keep_msg = 1;
                rc = nn_err(p->e, NN_EFORMAT, "%s:%d:%d: a tensor is applied as if it were a "
                            "layer", p->path, p->line, p->col);
            }
        }
    } else if (spec_is_input_fn(c->fn, fl)) {   /* Input(shape=..): a tensor of its own */
        if (nt) {
            p->keep_msg = 1;
            rc = nn_err(p->e, NN_EFORMAT, "%s:%d:%d: %s(...) takes a shape, not a tensor",
                        p->path, c->line, c->col, spec_call_name(c));
        } else if (!(rc = spec_push(p, c))) {
            free(c);
            c = NULL;
            g->kind = G_TENSOR;
            g->n = 1;
            g->t[0] = p->out->ncalls - 1;
        }
    } else if (!(rc = layer_input(p, c, targs, nt, &in)) && in.kind != G_VALUE) {
        rc = emit_layer(p, c, &in, &g->t[0]);   /* add([x, y]), layer_dense(x, 4) */
        c = NULL;
        if (!rc)
            g->kind = G_TENSOR, g->n = 1;
    } else if (!rc) {   /* Dense(4): a layer, applied by the caller or refused */
        g->kind = G_LAYER;
        g->layer = c;
        c = NULL;
    }
    for (int i = 0; i < nt; i++)
        spec_gval_free(&targs[i].g);
    if (c) {
        nn_call_free(c);
        free(c);
    }
    return rc;
}

/* An expression and the %>% (or |>) stages after it, each a layer call
 * taking the tensor before it: x <- inputs %>% layer_dense(4) %>% ... */
int spec_gpiped(parser *p, gval *g, int depth)
{
    int rc = gexpr(p, g, depth);
    for (;;) {
        if (rc)
            return rc;
        size_t i = p->i;
        int l = p->line, col = p->col;
        spec_skip_space(p, depth > 0);   /* inside brackets a pipe may start a line */
        if (!spec_is_pipe_at(p->s + p->i)) {
            p->i = i, p->line = l, p->col = col;
            return NN_OK;
        }
        for (int k = p->s[p->i] == '|' ? 2 : 3; k > 0; k--)
            spec_adv(p);
        spec_skip_space(p, 1);
        if (g->kind != G_TENSOR && g->kind != G_LIST)
            return spec_not_tensor(p, g, "%>% pipes");
        const char *sw = p->s + p->i;
        size_t sn = spec_ident_len(sw), k = sn;
        while (sw[k] == ' ' || sw[k] == '\t')
            k++;
        if (!sn || sw[k] != '(')
            return spec_fail(p, "a layer call such as layer_dense(units = 4) after %>%");
        nn_call *c = NULL;
        targ targs[MAX_TARGS];
        int nt = 0;
        if (!(rc = spec_gcall(p, &c, targs, &nt, depth)) && nt) {
            p->keep_msg = 1;
            rc = nn_err(p->e, NN_EFORMAT, "%s:%d:%d: %s(...) takes its input from the pipe and "
                        "is given another tensor", p->path, targs[0].g.line, targs[0].g.col,
                        spec_call_name(c));
        }
        for (int t = 0; t < nt; t++)
            spec_gval_free(&targs[t].g);
        if (!rc) {
            gval in = *g;
            rc = emit_layer(p, c, &in, &g->t[0]);
            c = NULL;
            g->kind = G_TENSOR;
            g->n = 1;
            g->name[0] = 0;
        }
        if (c) {
            nn_call_free(c);
            free(c);
        }
    }
}
