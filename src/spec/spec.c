/* Model-spec parser: a file of Keras-like calls, one statement per line (or
 * separated by ';'), '#' comments, calls may span lines inside parentheses.
 * Values: numbers (also quotients such as 1/255), "strings" or 'strings',
 * True/False/None (R: TRUE/FALSE/NULL), tuples (..), lists [..], R vectors
 * c(..) and nested calls RMSprop(lr=1e-3). A "model.add(Dense(..))" wrapper
 * and any "a.b." prefix are accepted so Keras code can be pasted. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nntrain/spec.h"

typedef struct parser {
    const char *s, *path;
    size_t i;
    int line, col;
    nn_error *e;
    int keep_msg;    /* the message is final: unclosed() leaves it alone */
} parser;

static void skip_space(parser *p, int newlines)
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

static void adv(parser *p)
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

static int fail(parser *p, const char *expected)
{
    char b[32];
    return nn_err(p->e, NN_EFORMAT, "%s:%d:%d: expected %s, found %s", p->path,
                  p->line, p->col, expected, found(p, b, sizeof b));
}

static char *dupn(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

static int is_ident0(char c)
{
    return isalpha((unsigned char)c) || c == '_';
}

static int is_ident(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '.';
}

static void value_free(nn_value *v)
{
    free(v->str);
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
    memset(c, 0, sizeof *c);
}

static int parse_call_args(parser *p, nn_call *c, int depth);
static int parse_value(parser *p, nn_value *v, int depth);

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

static int parse_value(parser *p, nn_value *v, int depth)
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
    if (isdigit((unsigned char)c) || c == '-' || c == '+' || c == '.') {
        int rc = parse_number(p, v);
        /* "1/255" (R) or "1./255" (Python, e.g. rescale=): a quotient of
         * numbers, evaluated left to right */
        for (;;) {
            size_t i = p->i;
            int line = p->line, col = p->col;
            if (rc)
                return rc;
            skip_space(p, 0);
            if (peek(p) != '/') {
                p->i = i, p->line = line, p->col = col;
                return NN_OK;
            }
            adv(p);
            skip_space(p, 0);
            char d0 = peek(p);
            if (!isdigit((unsigned char)d0) && d0 != '-' && d0 != '+' && d0 != '.')
                return fail(p, "a number after '/'");
            nn_value d = {0};
            d.line = p->line, d.col = p->col;
            if ((rc = parse_number(p, &d)))
                return rc;
            if (d.num == 0)
                return nn_err(p->e, NN_EFORMAT, "%s:%d:%d: division by zero", p->path, d.line,
                              d.col);
            v->num /= d.num;
            v->is_int = 0;
            if (v->num - v->num != 0)   /* overflowed to inf */
                return nn_err(p->e, NN_EFORMAT, "%s:%d:%d: the quotient is out of range",
                              p->path, d.line, d.col);
        }
    }
    if (is_ident0(c)) {
        size_t start = p->i;
        while (is_ident(peek(p)))
            adv(p);
        size_t n = p->i - start;
        const char *w = p->s + start;
#define IS(lit) (n == sizeof(lit) - 1 && !strncmp(w, lit, n))
        skip_space(p, 0);
        if (peek(p) == '(') {
            nn_call *call = calloc(1, sizeof *call);
            if (!call)
                return nn_err(p->e, NN_ENOMEM, "out of memory");
            const char *dot = memchr(w, '.', n) ? w + n : NULL;
            while (dot && dot > w && dot[-1] != '.')
                dot--;
            call->fn = dot ? dupn(dot, (size_t)(w + n - dot)) : dupn(w, n);
            call->path = p->path;
            call->line = v->line;
            call->col = v->col;
            v->kind = NN_V_CALL;
            v->call = call;
            if (!call->fn)
                return nn_err(p->e, NN_ENOMEM, "out of memory");
            int rc = parse_call_args(p, call, depth);
            if (rc)
                return rc;
            if (!strcmp(call->fn, "c")) {   /* R vector: a list */
                nn_value list = {.kind = NN_V_LIST, .line = v->line, .col = v->col};
                list.n = call->nargs;
                list.items = call->vals;
                for (int i = 0; i < call->nargs; i++)
                    if (call->keys[i])
                        return nn_err(p->e, NN_EFORMAT,
                                      "%s:%d:%d: c() takes no named elements", p->path,
                                      v->line, v->col);
                call->vals = NULL;
                call->nargs = 0;
                nn_call_free(call);
                free(call);
                *v = list;
            }
            return NN_OK;
        }
        if (IS("True") || IS("TRUE") || IS("true") || IS("False") || IS("FALSE") ||
            IS("false")) {
            v->kind = NN_V_BOOL;
            v->boolean = w[0] == 'T' || w[0] == 't';
            return NN_OK;
        }
        if (IS("None") || IS("NULL") || IS("null")) {
            v->kind = NN_V_NONE;
            return NN_OK;
        }
        p->i = start;
        p->col = v->col;
        if (depth == 0)
            return fail(p, "a call such as Dense(10) or compile(...)");
        return nn_err(p->e, NN_EFORMAT,
                      "%s:%d:%d: expected a value (number, \"string\", tuple, True/False/None "
                      "or a call), found '%.*s' (a string needs quotes: \"%.*s\")",
                      p->path, v->line, v->col, (int)(n < 40 ? n : 40), w,
                      (int)(n < 40 ? n : 40), w);
#undef IS
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
        char **keys = realloc(c->keys, (size_t)(c->nargs + 1) * sizeof *keys);
        nn_value *vals = keys ? realloc(c->vals, (size_t)(c->nargs + 1) * sizeof *vals) : NULL;
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
        int rc = parse_value(p, &c->vals[c->nargs - 1], depth + 1);
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
    parser p = {.s = text, .path = out->path, .line = 1, .col = 1, .e = e};
    int rc = NN_OK;
    for (;;) {
        skip_space(&p, 1);
        if (peek(&p) == ';') {
            adv(&p);
            continue;
        }
        if (!peek(&p))
            break;
        if (!is_ident0(peek(&p))) {
            rc = fail(&p, "a call such as Dense(10) or compile(...)");
            break;
        }
        nn_value v = {0};
        rc = parse_value(&p, &v, 0);
        if (!rc && v.kind != NN_V_CALL) {
            nn_err(e, NN_EFORMAT, "%s:%d:%d: expected a call such as Dense(10), found a bare value",
                   p.path, v.line, v.col);
            rc = NN_EFORMAT;
        }
        if (rc) {
            value_free(&v);
            break;
        }
        /* model.add(Dense(..)) -> Dense(..) */
        if (!strcmp(v.call->fn, "add") && v.call->nargs == 1 && !v.call->keys[0] &&
            v.call->vals[0].kind == NN_V_CALL) {
            nn_call *inner = v.call->vals[0].call;
            v.call->vals[0].call = NULL;
            v.call->vals[0].kind = NN_V_NONE;
            value_free(&v);
            v.kind = NN_V_CALL;
            v.call = inner;
        }
        skip_space(&p, 0);
        if (peek(&p) && peek(&p) != '\n' && peek(&p) != ';') {
            value_free(&v);
            rc = fail(&p, "end of line after the call");
            break;
        }
        nn_call *calls = realloc(out->calls, (size_t)(out->ncalls + 1) * sizeof *calls);
        if (!calls) {
            value_free(&v);
            rc = nn_err(e, NN_ENOMEM, "out of memory");
            break;
        }
        out->calls = calls;
        out->calls[out->ncalls++] = *v.call;
        free(v.call);
    }
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
    for (int i = 0; i < s->ncalls; i++)
        nn_call_free(&s->calls[i]);
    free(s->calls);
    free(s->path);
    free(s->text);
    memset(s, 0, sizeof *s);
}
