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
 * Limits, each refused with a message: one input, one output, no layer
 * object applied twice (shared weights). */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nntrain/args.h"
#include "spec_priv.h"

#define MAX_IN 64     /* tensors in one list: add([...]), concatenate([...]) */
#define MAX_TARGS 3   /* tensor arguments of one call: Model(inputs, outputs) */

enum { G_VALUE, G_TENSOR, G_LIST, G_LAYER };

/* What an expression gave: a plain value, a tensor, a list of tensors, or a
 * layer not applied yet (Dense(4), or the variable d of d = Dense(4)). */
typedef struct gval {
    int kind;
    int n;                 /* G_TENSOR: 1; G_LIST: the count */
    int t[MAX_IN];         /* call indices */
    nn_call *layer;        /* G_LAYER (owned) */
    spec_var *var;         /* G_LAYER from a variable: marked when applied */
    nn_value v;            /* G_VALUE */
    char name[48];         /* the variable as written, "" if none */
    int line, col;
} gval;

/* A call's tensor argument: add([x, y]), layer_dense(x, 4), Model(inputs=a, ..). */
typedef struct targ {
    char key[16];          /* "" when positional */
    int pos;               /* its place among the call's arguments */
    gval g;
} targ;

static const char *const py_merges[] = {"add", "subtract", "multiply", "average", "maximum",
                                        "minimum", "concatenate", "dot", NULL};
static const char *const py_merge_classes[] = {"Add", "Subtract", "Multiply", "Average",
                                               "Maximum", "Minimum", "Concatenate", "Dot"};

static char peek(const parser *p)
{
    return p->s[p->i];
}

static size_t ident_len(const char *s)
{
    size_t n = 0;
    if (!spec_is_ident0(s[0]))
        return 0;
    while (spec_is_ident(s[n]))
        n++;
    return n;
}

static const char *last_part(const char *w, size_t n)
{
    const char *last = w + n;
    while (last > w && last[-1] != '.' && last[-1] != '$')
        last--;
    return last;
}

static int is_input_fn(const char *fn, size_t n)
{
    return (n == 5 && !strncmp(fn, "Input", 5)) || (n == 11 && !strncmp(fn, "layer_input", 11));
}

static int is_model_fn(const char *fn, size_t n)
{
    return (n == 5 && !strncmp(fn, "Model", 5)) || (n == 11 && !strncmp(fn, "keras_model", 11));
}

static int is_pipe_at(const char *s)
{
    return !strncmp(s, "%>%", 3) || !strncmp(s, "|>", 2);
}

/* Spaces, newlines and comments (inside brackets a statement spans lines). */
static size_t skip_ws(const char *s, size_t i)
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
static size_t after_close(const char *s, size_t i)
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
static int model_business(const parser *p, const char *w, size_t n)
{
    const char *fn = last_part(w, n);
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
static int tensorish(const parser *p, size_t i, int depth)
{
    const char *s = p->s;
    if (depth > 32)
        return 0;
    i = skip_ws(s, i);
    if (s[i] == '[' || s[i] == '(')
        return tensorish(p, i + 1, depth + 1);
    size_t n = ident_len(s + i);
    if (!n)
        return 0;
    const char *w = s + i, *fn = last_part(w, n);
    size_t fl = (size_t)(w + n - fn), j = i + n;
    while (s[j] == ' ' || s[j] == '\t')
        j++;
    const spec_var *var = spec_var_find(p, w, n);
    if (s[j] != '(')
        return var && var->tensor;
    if ((n == 4 && !strncmp(w, "list", 4)) || (n == 1 && w[0] == 'c'))
        return tensorish(p, j + 1, depth + 1);
    if (var && var->v.kind == NN_V_CALL)
        return 1;   /* d(x) */
    if (model_business(p, w, n))
        return 0;
    if (is_input_fn(fn, fl) || is_model_fn(fn, fl))
        return 1;
    size_t end = after_close(s, j), k = end;
    while (s[k] == ' ' || s[k] == '\t')
        k++;
    if (s[k] == '(')
        return 1;
    /* the top-level arguments, after their "key =" */
    for (size_t a = j + 1; a < end;) {
        a = skip_ws(s, a);
        size_t kn = ident_len(s + a), b = skip_ws(s, a + kn);
        if (kn && s[b] == '=' && s[b + 1] != '=')
            a = b + 1;
        if (tensorish(p, a, depth + 1))
            return 1;
        while (a < end && s[a] != ',') {   /* to the next argument */
            if (strchr("([{", s[a]))
                a = after_close(s, a);
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
    size_t n = ident_len(w);
    const char *fn = last_part(w, n);
    size_t fl = (size_t)(w + n - fn);
    if (n && is_input_fn(fn, fl) && !has_lhs) {
        /* Input(shape=(4,)) alone: a Sequential spec's input line, unless
         * something is applied to it or piped from it */
        size_t k = n;
        while (w[k] == ' ' || w[k] == '\t')
            k++;
        if (w[k] != '(')
            return 0;
        k = after_close(p->s, p->i + k) - p->i;
        while (w[k] == ' ' || w[k] == '\t')
            k++;
        return w[k] == '(' || is_pipe_at(w + k);
    }
    /* h %>% layer_dense(..) in a functional script: h is not defined (but
     * model %>% compile(..) before the model has its own message) */
    if (n) {
        size_t k = n;
        while (w[k] == ' ' || w[k] == '\t')
            k++;
        if (is_pipe_at(w + k) && spec_graph_tensors(p) && !spec_var_find(p, w, n) &&
            !(p->model && strlen(p->model) == n && !strncmp(w, p->model, n))) {
            k = skip_ws(w, k + (w[k] == '|' ? 2 : 3));
            size_t sn = ident_len(w + k);
            return !spec_in_list(spec_model_methods, w + k, sn);
        }
    }
    return tensorish(p, p->i, 0);
}

static void gval_free(gval *g)
{
    if (g->layer) {
        nn_call_free(g->layer);
        free(g->layer);
    }
    spec_value_free(&g->v);
    g->layer = NULL;
    g->kind = G_VALUE;
}

static const char *call_name(const nn_call *c)
{
    return c->qual ? c->qual : c->fn;
}

/* "the Input of line 1", "the output of Dense on line 3": a tensor for messages. */
static const char *describe(const parser *p, int t, char *buf, size_t len)
{
    const nn_call *c = &p->out->calls[t];
    if (is_input_fn(c->fn, strlen(c->fn)))
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
                 call_name(g->layer));
    else if (g->v.kind == NN_V_NUM)
        snprintf(buf, len, "the number %g", g->v.num);
    else if (g->v.kind == NN_V_STR && !g->v.name)
        snprintf(buf, len, "the string \"%.40s\"", g->v.str);
    else if (g->v.kind == NN_V_STR)
        snprintf(buf, len, "'%.40s'", g->v.name);
    else if (g->v.kind == NN_V_CALL)
        snprintf(buf, len, "%s(...)", call_name(g->v.call));
    else
        snprintf(buf, len, "a value");
    if (g->name[0] && g->kind == G_VALUE)
        snprintf(buf + strlen(buf), len - strlen(buf), " (variable '%s')", g->name);
    return buf;
}

static int not_tensor(parser *p, const gval *g, const char *what)
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
    if (is_input_fn(c->fn, fl) || is_model_fn(c->fn, fl) || model_business(p, c->fn, fl) ||
        (c->qual && model_business(p, c->qual, strlen(c->qual))) || !strcmp(c->fn, "InputLayer")) {
        p->keep_msg = 1;
        rc = nn_err(p->e, NN_EFORMAT, "%s: %s(...) is applied to a tensor, but it is not a "
                    "layer", nn_value_where(c, NULL, w, sizeof w), call_name(c));
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
static int gpiped(parser *p, gval *g, int depth);

/* [a, b], (a, b), list(a, b), c(a, b) at the cursor: a list of tensors. */
static int glist(parser *p, gval *g, int depth)
{
    int line = p->line, col = p->col;
    size_t n = ident_len(p->s + p->i);
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
        int rc = gpiped(p, &it, depth + 1);
        if (!rc && it.kind != G_TENSOR)
            rc = it.kind == G_LIST ? (p->keep_msg = 1,
                                      nn_err(p->e, NN_EFORMAT, "%s:%d:%d: a list inside a list "
                                             "of tensors", p->path, it.line, it.col))
                                   : not_tensor(p, &it, "a list of tensors holds");
        gval_free(&it);
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
static int gcall(parser *p, nn_call **out, targ *targs, int *nt, int depth)
{
    *nt = 0;
    nn_call *c = calloc(1, sizeof *c);
    if (!c)
        return nn_err(p->e, NN_ENOMEM, "out of memory");
    *out = c;
    const char *w = p->s + p->i;
    size_t n = ident_len(w);
    const char *last = last_part(w, n);
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
        size_t kn = ident_len(p->s + p->i);
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
        if (tensorish(p, p->i, depth + 1)) {
            if (*nt == MAX_TARGS) {
                free(key);
                return spec_fail(p, "fewer tensor arguments");
            }
            targ *ta = &targs[(*nt)++];
            snprintf(ta->key, sizeof ta->key, "%s", key ? key : "");
            ta->pos = pos;
            free(key);
            if ((rc = gpiped(p, &ta->g, depth + 1)))
                return rc;
            if (ta->g.kind != G_TENSOR && ta->g.kind != G_LIST) {
                char what[160];
                snprintf(what, sizeof what, "%s(...) is given", call_name(c));
                rc = not_tensor(p, &ta->g, what);
                gval_free(&ta->g);
                return rc;
            }
        } else {
            char **keys = realloc(c->keys, (size_t)(c->nargs + 1) * sizeof *keys);
            nn_value *vals = keys ? realloc(c->vals, (size_t)(c->nargs + 1) * sizeof *vals)
                                  : NULL;
            if (keys)
                c->keys = keys;
            if (!keys || !vals) {
                free(key);
                return nn_err(p->e, NN_ENOMEM, "out of memory");
            }
            c->vals = vals;
            c->keys[c->nargs] = key;
            memset(&c->vals[c->nargs], 0, sizeof *vals);
            c->nargs++;
            if ((rc = spec_parse_value(p, &c->vals[c->nargs - 1], depth + 1)))
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
                          ta->g.line, ta->g.col, call_name(c), ta->key, ta->key[0] ? "=" : "",
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
                      "Add()([x, y]))", p->path, c->line, c->col, call_name(c));
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
        snprintf(what, sizeof what, "%s(...) is applied to", call_name(layer));
    spec_adv(p);
    spec_skip_space(p, 1);
    size_t kn = ident_len(p->s + p->i), k = p->i + kn;
    while (p->s[k] == ' ' || p->s[k] == '\t')
        k++;
    if (kn && p->s[k] == '=' && p->s[k + 1] != '=') {
        if (!(kn == 6 && !strncmp(p->s + p->i, "inputs", 6))) {
            p->keep_msg = 1;
            rc = nn_err(p->e, NN_EFORMAT, "%s:%d:%d: %s(...)(%.*s=...): only the input tensor "
                        "is supported when a layer is applied", p->path, p->line, p->col,
                        call_name(layer), (int)(kn < 30 ? kn : 30), p->s + p->i);
        }
        while (!rc && p->i <= k)
            spec_adv(p);
    }
    if (!rc && peek(p) == ')') {
        p->keep_msg = 1;
        rc = nn_err(p->e, NN_EFORMAT, "%s:%d:%d: %s() needs a tensor to apply the layer to",
                    p->path, line, col, what);
    }
    if (!rc && !(rc = gpiped(p, &in, depth + 1)) && in.kind != G_TENSOR && in.kind != G_LIST)
        rc = not_tensor(p, &in, what);
    if (!rc) {
        spec_skip_space(p, 1);
        if (peek(p) == ',') {
            p->keep_msg = 1;
            rc = nn_err(p->e, NN_EFORMAT, "%s:%d:%d: %s(...)(x, ...): only the input tensor is "
                        "supported when a layer is applied (a list [a, b] for several)",
                        p->path, p->line, p->col, call_name(layer));
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
    gval_free(&in);
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
 * it with gval_free). */
static int gexpr(parser *p, gval *g, int depth)
{
    memset(g, 0, sizeof *g);
    if (depth > 32)
        return spec_fail(p, "less deeply nested values");
    spec_skip_space(p, 1);
    g->line = p->line;
    g->col = p->col;
    const char *w = p->s + p->i;
    size_t n = ident_len(w), j = n;
    while (w[j] == ' ' || w[j] == '\t')
        j++;
    int list = (n == 4 && !strncmp(w, "list", 4) && w[j] == '(') ||
               (n == 1 && w[0] == 'c' && w[j] == '(');
    if (peek(p) == '[' || peek(p) == '(' || list) {
        if (tensorish(p, p->i, 0))
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
    if ((rc = gcall(p, &c, targs, &nt, depth))) {
        for (int i = 0; i < nt; i++)
            gval_free(&targs[i].g);
        nn_call_free(c);
        free(c);
        return rc;
    }
    size_t fl = strlen(c->fn);
    spec_skip_space(p, 0);
    gval in;
    if (is_model_fn(c->fn, fl)) {
        p->keep_msg = 1;
        rc = nn_err(p->e, NN_EFORMAT, "%s:%d:%d: %s(...) inside an expression: write model = "
                    "%s(inputs, outputs) on a line of its own", p->path, c->line, c->col,
                    call_name(c), c->fn);
    } else if (peek(p) == '(') {   /* Dense(4)(x) */
        if (nt) {
            const targ *ta = &targs[0];
            p->keep_msg = 1;
            rc = nn_err(p->e, NN_EFORMAT, "%s:%d:%d: %s(%s%s...): '%s' is a tensor, not a value: "
                        "a layer takes its input tensor when applied, %s(...)(x)", p->path,
                        ta->g.line, ta->g.col, call_name(c), ta->key, ta->key[0] ? "=" : "",
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
    } else if (is_input_fn(c->fn, fl)) {   /* Input(shape=..): a tensor of its own */
        if (nt) {
            p->keep_msg = 1;
            rc = nn_err(p->e, NN_EFORMAT, "%s:%d:%d: %s(...) takes a shape, not a tensor",
                        p->path, c->line, c->col, call_name(c));
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
        gval_free(&targs[i].g);
    if (c) {
        nn_call_free(c);
        free(c);
    }
    return rc;
}

/* An expression and the %>% (or |>) stages after it, each a layer call
 * taking the tensor before it: x <- inputs %>% layer_dense(4) %>% ... */
static int gpiped(parser *p, gval *g, int depth)
{
    int rc = gexpr(p, g, depth);
    for (;;) {
        if (rc)
            return rc;
        size_t i = p->i;
        int l = p->line, col = p->col;
        spec_skip_space(p, depth > 0);   /* inside brackets a pipe may start a line */
        if (!is_pipe_at(p->s + p->i)) {
            p->i = i, p->line = l, p->col = col;
            return NN_OK;
        }
        for (int k = p->s[p->i] == '|' ? 2 : 3; k > 0; k--)
            spec_adv(p);
        spec_skip_space(p, 1);
        if (g->kind != G_TENSOR && g->kind != G_LIST)
            return not_tensor(p, g, "%>% pipes");
        const char *sw = p->s + p->i;
        size_t sn = ident_len(sw), k = sn;
        while (sw[k] == ' ' || sw[k] == '\t')
            k++;
        if (!sn || sw[k] != '(')
            return spec_fail(p, "a layer call such as layer_dense(units = 4) after %>%");
        nn_call *c = NULL;
        targ targs[MAX_TARGS];
        int nt = 0;
        if (!(rc = gcall(p, &c, targs, &nt, depth)) && nt) {
            p->keep_msg = 1;
            rc = nn_err(p->e, NN_EFORMAT, "%s:%d:%d: %s(...) takes its input from the pipe and "
                        "is given another tensor", p->path, targs[0].g.line, targs[0].g.col,
                        call_name(c));
        }
        for (int t = 0; t < nt; t++)
            gval_free(&targs[t].g);
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
        if (is_model_fn(fn, strlen(fn)))
            return p->out->calls[i].line;
    }
    return 0;
}

/* Whether the tensor t depends on the call a (t == a included). */
static int depends(const nn_spec *s, int t, int a, int depth)
{
    if (t == a)
        return 1;
    if (depth > s->ncalls)
        return 0;
    for (int i = 0; i < s->calls[t].ninputs; i++)
        if (depends(s, s->calls[t].inputs[i], a, depth + 1))
            return 1;
    return 0;
}

/* Model(inputs, outputs) / keras_model(inputs = .., outputs = ..): one
 * input that is the graph's Input, one output; the call keeps its other
 * arguments (name=) and takes the output's index. */
static int gmodel(parser *p, char *lhs, size_t at)
{
    nn_call *c = NULL;
    targ targs[MAX_TARGS];
    int nt = 0;
    int rc = gcall(p, &c, targs, &nt, 0);
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
                        "inputs= and outputs=", p->path, ta->g.line, ta->g.col, call_name(c));
        } else {
            io[which] = ta;
        }
    }
    for (int k = 0; k < 2 && !rc; k++) {
        static const char *const word[] = {"input", "output"};
        if (!io[k]) {
            p->keep_msg = 1;
            rc = nn_err(p->e, NN_EFORMAT, "%s: %s() needs %ss=, a tensor",
                        nn_value_where(c, NULL, w, sizeof w), call_name(c), word[k]);
        } else if (io[k]->g.n != 1) {
            p->keep_msg = 1;
            rc = nn_err(p->e, NN_EFORMAT, "%s:%d:%d: %s(): %d %ss; one %s is supported",
                        p->path, io[k]->g.line, io[k]->g.col, call_name(c), io[k]->g.n,
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
        p->keep_msg = 1;
        if (!is_input_fn(fn, strlen(fn)))
            rc = nn_err(p->e, NN_EFORMAT, "%s:%d:%d: %s(): the input '%s' is not an Input(...): "
                        "it is %s", p->path, io[0]->g.line, io[0]->g.col, call_name(c), iname,
                        describe(p, in, d, sizeof d));
        else if (!depends(s, out, in, 0))
            rc = nn_err(p->e, NN_EFORMAT, "%s:%d:%d: %s(): the output '%s' does not depend on "
                        "the input '%s' (%s)", p->path, io[1]->g.line, io[1]->g.col,
                        call_name(c), oname, iname, describe(p, in, d, sizeof d));
        for (int i = 0; !rc && i < s->ncalls; i++)
            if (i != in && is_input_fn(s->calls[i].fn, strlen(s->calls[i].fn)) &&
                depends(s, out, i, 0))
                rc = nn_err(p->e, NN_EFORMAT, "%s:%d:%d: %s(): the output '%s' also depends "
                            "on %s, which is not the model's input: one input is supported",
                            p->path, io[1]->g.line, io[1]->g.col, call_name(c), oname,
                            describe(p, i, d, sizeof d));
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
        gval_free(&targs[i].g);
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
        if (!is_pipe_at(p->s + p->i)) {
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
    size_t n = ident_len(w);
    const char *fn = last_part(w, n);
    int rc = NN_OK;
    if (is_model_fn(fn, (size_t)(w + n - fn)))
        rc = gmodel(p, lhs, at);
    else {
        gval g;
        rc = gpiped(p, &g, 0);
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
            rc = not_tensor(p, &g, "the line gives");
        } else if (!rc && lhs) {
            rc = set_tensor(p, lhs, g.t[0]);
            lhs = NULL;
        }
        gval_free(&g);
        free(lhs);
    }
    return rc;
}

int spec_graph_finish(parser *p)
{
    const nn_spec *s = p->out;
    int first = -1;
    for (int i = 0; i < s->ncalls && first < 0; i++)
        if (s->calls[i].ninputs && !is_model_fn(s->calls[i].fn, strlen(s->calls[i].fn)))
            first = i;
    if (first < 0 || model_line(p))
        return NN_OK;
    return nn_err(p->e, NN_EFORMAT, "%s:%d: %s(...) is applied to a tensor (a functional model) "
                  "but no line makes the model: add %s", p->path, s->calls[first].line,
                  s->calls[first].fn,
                  s->r_lang ? "model <- keras_model(inputs, outputs)"
                            : "model = Model(inputs=inputs, outputs=outputs)");
}
