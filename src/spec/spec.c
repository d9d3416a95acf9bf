/* Model-spec parser, the value level: numbers and arithmetic on them (arith.c:
 * 1/255, 28^2, 28 * 28, batch_size <- 128 used later), "strings" or 'strings',
 * True/False/None (R: TRUE/FALSE/NULL), tuples (..), lists [..], R vectors
 * c(..) and list(..), nested calls RMSprop(lr=1e-3) whose "a.b." or "a$b"
 * prefix is kept aside, and bare names (tf.nn.relu means "relu"). The
 * statements (one per line or ';'-separated, '#' comments, calls spanning
 * lines inside parentheses, assignments and pipes of pasted Keras scripts)
 * are paste.c's. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec_priv.h"

#define skip_space spec_skip_space
#define adv spec_adv
#define fail spec_fail
#define dupn spec_dupn
#define is_ident0 spec_is_ident0
#define is_ident spec_is_ident
#define value_free spec_value_free
#define parse_value spec_parse_value

void spec_skip_space(parser *p, int newlines)
{
    for (;;) {
        char c = p->s[p->i];
        if (c == '#') {
            while (p->s[p->i] && p->s[p->i] != '\n')
                p->i++, p->col++;
        } else if (c == ' ' || c == '\t' || c == '\r' || (newlines && c == '\n')) {
            if (c == '\n')
                p->line++, p->col = 1;
            else
                p->col++;
            p->i++;
        } else {
            return;
        }
    }
}

static char peek(parser *p)
{
    return p->s[p->i];
}

void spec_adv(parser *p)
{
    if (p->s[p->i] == '\n')
        p->line++, p->col = 1;
    else
        p->col++;
    p->i++;
}

/* Describes the token at the cursor for messages. */
static const char *found(parser *p, char *buf, size_t len)
{
    char c = peek(p);
    if (!c)
        return "end of file";
    if (c == '\n')
        return "end of line";
    size_t k = 0;
    buf[k++] = '\'';
    for (size_t j = p->i; p->s[j] && p->s[j] != '\n' && k < len - 2 && k < 12; j++)
        buf[k++] = p->s[j];
    buf[k++] = '\'';
    buf[k] = 0;
    return buf;
}

int spec_fail(parser *p, const char *expected)
{
    char b[32];
    return nn_err(p->e, NN_EFORMAT, "%s:%d:%d: expected %s, found %s", p->path,
                  p->line, p->col, expected, found(p, b, sizeof b));
}

char *spec_dupn(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

int spec_is_ident0(char c)
{
    return isalpha((unsigned char)c) || c == '_';
}

int spec_is_ident(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '$';
}

void spec_value_free(nn_value *v)
{
    free(v->str);
    free(v->name);
    for (int i = 0; i < v->n; i++)
        value_free(&v->items[i]);
    free(v->items);
    if (v->call) {
        nn_call_free(v->call);
        free(v->call);
    }
    memset(v, 0, sizeof *v);
}

void nn_call_free(nn_call *c)
{
    for (int i = 0; i < c->nargs; i++) {
        free(c->keys[i]);
        value_free(&c->vals[i]);
    }
    free(c->keys);
    free(c->vals);
    free(c->fn);
    free(c->qual);
    free(c->inputs);
    memset(c, 0, sizeof *c);
}

static int call_copy(nn_call *d, const nn_call *c)
{
    memset(d, 0, sizeof *d);
    d->path = c->path;
    d->line = c->line;
    d->col = c->col;
    d->fn = strdup(c->fn);
    d->qual = c->qual ? strdup(c->qual) : NULL;
    d->keys = calloc((size_t)c->nargs + 1, sizeof *d->keys);
    d->vals = calloc((size_t)c->nargs + 1, sizeof *d->vals);
    if (!d->fn || (c->qual && !d->qual) || !d->keys || !d->vals)
        return NN_ENOMEM;
    if (c->ninputs) {
        if (!(d->inputs = malloc((size_t)c->ninputs * sizeof *d->inputs)))
            return NN_ENOMEM;
        memcpy(d->inputs, c->inputs, (size_t)c->ninputs * sizeof *d->inputs);
        d->ninputs = c->ninputs;
    }
    for (int i = 0; i < c->nargs; i++) {
        d->nargs++;
        if ((c->keys[i] && !(d->keys[i] = strdup(c->keys[i]))) ||
            spec_value_copy(&d->vals[i], &c->vals[i]))
            return NN_ENOMEM;
    }
    return NN_OK;
}

/* A deep copy (dst is freed with spec_value_free even after a failure). */
nn_value *spec_call_add_arg(parser *p, nn_call *c, char *key)
{
    char **keys = realloc(c->keys, (size_t)(c->nargs + 1) * sizeof *keys);
    nn_value *vals = keys ? realloc(c->vals, (size_t)(c->nargs + 1) * sizeof *vals) : NULL;
    if (keys)
        c->keys = keys;
    if (!keys || !vals) {
        free(key);
        nn_err(p->e, NN_ENOMEM, "out of memory");
        return NULL;
    }
    c->vals = vals;
    c->keys[c->nargs] = key;
    memset(&c->vals[c->nargs], 0, sizeof *vals);
    return &c->vals[c->nargs++];
}

int spec_value_copy(nn_value *d, const nn_value *v)
{
    *d = *v;
    d->str = NULL;
    d->name = NULL;
    d->items = NULL;
    d->call = NULL;
    d->n = 0;
    if ((v->str && !(d->str = strdup(v->str))) || (v->name && !(d->name = strdup(v->name))))
        return NN_ENOMEM;
    if (v->n) {
        if (!(d->items = calloc((size_t)v->n, sizeof *d->items)))
            return NN_ENOMEM;
        for (int i = 0; i < v->n; i++) {
            d->n++;
            if (spec_value_copy(&d->items[i], &v->items[i]))
                return NN_ENOMEM;
        }
    }
    if (v->call && (!(d->call = calloc(1, sizeof *d->call)) || call_copy(d->call, v->call)))
        return NN_ENOMEM;
    return NN_OK;
}

spec_var *spec_var_find(const parser *p, const char *name, size_t n)
{
    for (int i = p->nvars - 1; i >= 0; i--)
        if (strlen(p->vars[i].name) == n && !strncmp(p->vars[i].name, name, n))
            return &p->vars[i];
    return NULL;
}

static int parse_call_args(parser *p, nn_call *c, int depth);

/* A bracket still open at the end of the file: the end-of-file position says
 * nothing useful, so the message points at the opener (innermost one). */
static int unclosed(parser *p, int rc, char open, int line, int col)
{
    if (rc != NN_EFORMAT || p->s[p->i] || p->keep_msg)
        return rc;
    p->keep_msg = 1;
    char close = open == '(' ? ')' : open == '[' ? ']' : ')';
    return nn_err(p->e, NN_EFORMAT,
                  "%s:%d:%d: expected a '%c' to close this '%c', found end of file",
                  p->path, line, col, close, open);
}

static int parse_list(parser *p, nn_value *v, char close, int depth)
{
    char open = peek(p);
    int ol = p->line, oc = p->col;
    v->kind = NN_V_LIST;
    adv(p);
    for (;;) {
        skip_space(p, 1);
        if (peek(p) == close) {
            adv(p);
            return NN_OK;
        }
        nn_value *items = realloc(v->items, (size_t)(v->n + 1) * sizeof *items);
        if (!items)
            return nn_err(p->e, NN_ENOMEM, "out of memory parsing %s", p->path);
        v->items = items;
        memset(&v->items[v->n], 0, sizeof *items);
        v->n++;
        int rc = parse_value(p, &v->items[v->n - 1], depth + 1);
        if (rc)
            return unclosed(p, rc, open, ol, oc);
        skip_space(p, 1);
        if (open == '{') {   /* key: value becomes the pair (key, value) */
            nn_value *pair = &v->items[v->n - 1], key = *pair;
            if (peek(p) != ':')
                return unclosed(p, fail(p, "':' after a dictionary key"), open, ol, oc);
            adv(p);
            memset(pair, 0, sizeof *pair);
            pair->kind = NN_V_LIST;
            pair->line = key.line;
            pair->col = key.col;
            pair->items = calloc(2, sizeof *pair->items);
            if (!pair->items) {
                value_free(&key);
                return nn_err(p->e, NN_ENOMEM, "out of memory parsing %s", p->path);
            }
            pair->n = 2;
            pair->items[0] = key;
            if ((rc = parse_value(p, &pair->items[1], depth + 1)))
                return unclosed(p, rc, open, ol, oc);
            skip_space(p, 1);
        }
        if (peek(p) == ',') {
            adv(p);
        } else if (peek(p) != close) {
            char want[32];
            snprintf(want, sizeof want, "',' or '%c'", close);
            return unclosed(p, fail(p, want), open, ol, oc);
        }
    }
}

/* A plain number at the cursor (v->line/col already set). */
static int parse_number(parser *p, nn_value *v)
{
    const char *start = p->s + p->i;
    char *end;
    errno = 0;
    double x = strtod(start, &end);
    /* strtod also takes inf, nan and hex: only digits, '.', e/E, signs */
    int bad = end == start || errno == ERANGE;
    for (const char *q = start; q < end && !bad; q++)
        bad = !isdigit((unsigned char)*q) && !strchr(".eE+-", *q);
    if (bad || is_ident(*end)) {
        size_t k = 0;
        while (is_ident(start[k]) || start[k] == '+' || start[k] == '-')
            k++;
        return nn_err(p->e, NN_EFORMAT, "%s:%d:%d: expected a number, found '%.*s'",
                      p->path, v->line, v->col, (int)(k < 40 ? k : 40), start);
    }
    v->kind = NN_V_NUM;
    v->num = x;
    v->is_int = 1;
    for (const char *q = start; q < end; q++)
        if (*q == '.' || *q == 'e' || *q == 'E')
            v->is_int = 0;
    while (p->s + p->i < end)
        adv(p);
    return NN_OK;
}

/* A bare name (not a call): a variable's value, True/False/None, or the
 * name itself as a string value: its last component (tf.nn.relu is "relu",
 * losses.binary_crossentropy is "binary_crossentropy"), with v->name as
 * written. An undotted unknown name is an error unless names are data here
 * (x_train in fit()) or it is the model variable. */
static int bare_name(parser *p, nn_value *v, const char *w, size_t n, int depth)
{
#define IS(lit) (n == sizeof(lit) - 1 && !strncmp(w, lit, n))
    if (IS("True") || IS("TRUE") || IS("true") || IS("False") || IS("FALSE") || IS("false")) {
        v->kind = NN_V_BOOL;
        v->boolean = w[0] == 'T' || w[0] == 't';
        return NN_OK;
    }
    if (IS("None") || IS("NULL") || IS("null")) {
        v->kind = NN_V_NONE;
        return NN_OK;
    }
#undef IS
    const spec_var *var = spec_var_find(p, w, n);
    if (var && !var->tensor) {   /* a tensor's name is data here: fit(x, y) */
        int line = v->line, col = v->col;
        if (spec_value_copy(v, &var->v))
            return nn_err(p->e, NN_ENOMEM, "out of memory");
        v->line = line;
        v->col = col;
        return NN_OK;
    }
    int dotted = memchr(w, '.', n) || memchr(w, '$', n);
    int is_model = p->model && strlen(p->model) == n && !strncmp(p->model, w, n);
    if (dotted || p->names_ok || is_model) {
        const char *last = w + n;
        while (last > w && last[-1] != '.' && last[-1] != '$')
            last--;
        v->kind = NN_V_STR;
        v->str = dupn(last, (size_t)(w + n - last));
        v->name = dupn(w, n);
        return v->str && v->name ? NN_OK : nn_err(p->e, NN_ENOMEM, "out of memory");
    }
    if (depth == 0)
        return fail(p, "a call such as Dense(10) or compile(...)");
    return nn_err(p->e, NN_EFORMAT,
                  "%s:%d:%d: expected a value (number, \"string\", tuple, True/False/None "
                  "or a call), found '%.*s' (a string needs quotes: \"%.*s\")",
                  p->path, v->line, v->col, (int)(n < 40 ? n : 40), w,
                  (int)(n < 40 ? n : 40), w);
}

/* c(..) and R's list(..) without names: a list value. */
static int call_to_list(parser *p, nn_value *v)
{
    nn_call *call = v->call;
    for (int i = 0; i < call->nargs; i++)
        if (call->keys[i]) {
            if (strcmp(call->fn, "c"))
                return NN_OK;   /* a named list() stays a call */
            return nn_err(p->e, NN_EFORMAT, "%s:%d:%d: c() takes no named elements", p->path,
                          v->line, v->col);
        }
    nn_value list = {.kind = NN_V_LIST, .line = v->line, .col = v->col};
    list.n = call->nargs;
    list.items = call->vals;
    call->vals = NULL;
    call->nargs = 0;
    nn_call_free(call);
    free(call);
    *v = list;
    return NN_OK;
}

int spec_parse_primary(parser *p, nn_value *v, int depth)
{
    if (depth > 32)
        return fail(p, "less deeply nested values");
    skip_space(p, 1);
    v->line = p->line;
    v->col = p->col;
    char c = peek(p);
    if (c == '"' || c == '\'') {
        size_t start = p->i + 1;
        adv(p);
        while (peek(p) && peek(p) != c && peek(p) != '\n')
            adv(p);
        if (peek(p) != c) {   /* reported at the opening quote */
            char b[32];
            p->keep_msg = 1;
            return nn_err(p->e, NN_EFORMAT, "%s:%d:%d: expected a closing %c for this "
                          "string, found %s", p->path, v->line, v->col, c, found(p, b, sizeof b));
        }
        v->kind = NN_V_STR;
        v->str = dupn(p->s + start, p->i - start);
        adv(p);
        return v->str ? NN_OK : nn_err(p->e, NN_ENOMEM, "out of memory");
    }
    if (c == '(' || c == '[' || c == '{') {
        v->is_dict = c == '{';
        return parse_list(p, v, c == '(' ? ')' : c == '[' ? ']' : '}', depth);
    }
    if (isdigit((unsigned char)c) || c == '-' || c == '+' || c == '.')
        return parse_number(p, v);
    if (is_ident0(c)) {
        size_t start = p->i;
        while (is_ident(peek(p)))
            adv(p);
        size_t n = p->i - start;
        const char *w = p->s + start;
        size_t after = p->i;
        int al = p->line, ac = p->col;
        skip_space(p, 0);
        if (peek(p) != '(') {
            p->i = after, p->line = al, p->col = ac;
            int rc = bare_name(p, v, w, n, depth);
            if (rc == NN_EFORMAT)   /* point at the name */
                p->i = start, p->line = v->line, p->col = v->col;
            return rc;
        }
        nn_call *call = calloc(1, sizeof *call);
        if (!call)
            return nn_err(p->e, NN_ENOMEM, "out of memory");
        const char *last = w + n;
        while (last > w && last[-1] != '.' && last[-1] != '$')
            last--;
        call->fn = dupn(last, (size_t)(w + n - last));
        call->qual = last > w ? dupn(w, n) : NULL;
        call->path = p->path;
        call->line = v->line;
        call->col = v->col;
        v->kind = NN_V_CALL;
        v->call = call;
        if (!call->fn || (last > w && !call->qual))
            return nn_err(p->e, NN_ENOMEM, "out of memory");
        int rc = parse_call_args(p, call, depth);
        if (!rc && (!strcmp(call->fn, "c") || !strcmp(call->fn, "list")) && !call->qual)
            rc = call_to_list(p, v);
        return rc;
    }
    return fail(p, "a value");
}

/* At '(' of a call: parses "(arg, key=value, ...)". */
static int parse_call_args(parser *p, nn_call *c, int depth)
{
    if (peek(p) != '(')
        return fail(p, "'('");
    int ol = p->line, oc = p->col;
    adv(p);
    for (;;) {
        skip_space(p, 1);
        if (peek(p) == ')') {
            adv(p);
            return NN_OK;
        }
        char *key = NULL;
        size_t save = p->i;
        int sl = p->line, sc = p->col;
        if (is_ident0(peek(p))) {
            while (is_ident(peek(p)))
                adv(p);
            size_t kend = p->i;
            skip_space(p, 1);
            if (peek(p) == '=' && p->s[p->i + 1] != '=') {
                key = dupn(p->s + save, kend - save);
                if (!key)
                    return nn_err(p->e, NN_ENOMEM, "out of memory");
                adv(p);
            } else {
                p->i = save, p->line = sl, p->col = sc;
            }
        }
        nn_value *v = spec_call_add_arg(p, c, key);
        if (!v)
            return NN_ENOMEM;
        int rc = parse_value(p, v, depth + 1);
        if (rc)
            return unclosed(p, rc, '(', ol, oc);
        skip_space(p, 1);
        if (peek(p) == ',')
            adv(p);
        else if (peek(p) != ')')
            return unclosed(p, fail(p, "',' or ')' after an argument"), '(', ol, oc);
    }
}

int nn_spec_parse(const char *text, const char *path, nn_spec *out, nn_error *e)
{
    memset(out, 0, sizeof *out);
    out->path = strdup(path ? path : "<spec>");
    out->text = strdup(text);
    if (!out->path || !out->text) {
        nn_spec_free(out);
        return nn_err(e, NN_ENOMEM, "out of memory");
    }
    parser p = {.s = text, .path = out->path, .line = 1, .col = 1, .e = e, .out = out};
    out->r_lang = spec_is_r(text);
    int rc = NN_OK;
    for (;;) {
        skip_space(&p, 1);
        if (peek(&p) == ';') {
            adv(&p);
            continue;
        }
        if (!peek(&p))
            break;
        p.keep_msg = 0;
        p.names_ok = 0;
        if ((rc = spec_statement(&p)))
            break;
    }
    if (!rc)
        rc = spec_refused(&p);
    if (!rc)
        rc = spec_graph_finish(&p);
    /* in line order: a callback's note comes from its earlier definition */
    size_t plen = strlen(out->path);
    for (int i = 1; !rc && i < out->nnotes; i++)
        for (int j = i; j > 0 && atoi(out->notes[j] + plen + 1) <
                                     atoi(out->notes[j - 1] + plen + 1); j--) {
            char *t = out->notes[j];
            out->notes[j] = out->notes[j - 1];
            out->notes[j - 1] = t;
        }
    for (int i = 0; i < p.nvars; i++) {
        free(p.vars[i].name);
        value_free(&p.vars[i].v);
    }
    free(p.vars);
    free(p.model);
    if (rc)
        nn_spec_free(out);
    return rc;
}

int nn_spec_load(const char *path, nn_spec *out, nn_error *e)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return nn_err(e, NN_EIO, "cannot open model spec '%s': %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            fclose(f);
            return nn_err(e, NN_ENOMEM, "out of memory reading '%s'", path);
        }
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1)
            break;
        if (cap > (64u << 20)) {
            free(buf);
            fclose(f);
            return nn_err(e, NN_EFORMAT, "model spec '%s' is larger than 64 MiB", path);
        }
        char *nb = realloc(buf, cap * 2);
        if (!nb)
            free(buf);
        buf = nb;
        cap *= 2;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return nn_err(e, NN_EIO, "error reading model spec '%s'", path);
    }
    buf[n] = 0;
    const char *nul = memchr(buf, 0, n);
    if (nul) {
        int line = 1, col = 1;
        for (const char *q = buf; q < nul; q++)
            if (*q == '\n')
                line++, col = 1;
            else
                col++;
        free(buf);
        return nn_err(e, NN_EFORMAT, "%s:%d:%d: expected text, found a NUL byte "
                      "(not a text file)", path, line, col);
    }
    int rc = nn_spec_parse(buf, path, out, e);
    free(buf);
    return rc;
}

void nn_spec_free(nn_spec *s)
{
    for (int i = 0; i < s->nnotes; i++)
        free(s->notes[i]);
    free(s->notes);
    for (int i = 0; i < s->ncalls; i++)
        nn_call_free(&s->calls[i]);
    free(s->calls);
    free(s->path);
    free(s->text);
    memset(s, 0, sizeof *s);
}
