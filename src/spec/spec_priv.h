/* Shared by the value parser (spec.c) and the statement layer that accepts
 * pasted Keras scripts (paste.c): the cursor, the script's variables and
 * model name, and the helpers both use. Private to src/spec. */
#ifndef NN_SPEC_PRIV_H
#define NN_SPEC_PRIV_H

#include <stddef.h>

#include "nntrain/spec.h"

typedef struct spec_var {
    char *name;
    nn_value v;
    int tensor;      /* holds a tensor: 1 + the index of the call making it (paste_graph.c) */
    int applied;     /* a layer object (d = Dense(4)): the line it was applied on, 0 if not yet */
} spec_var;

typedef struct parser {
    const char *s, *path;
    size_t i;
    int line, col;
    nn_error *e;
    int keep_msg;    /* the message is final: unclosed() leaves it alone */
    int names_ok;    /* a bare name is a value (data such as x_train), not an error */
    int nvars;       /* batch_size <- 128, callbacks = [...] */
    spec_var *vars;
    char *model;     /* the model variable (model <- keras_model_sequential()) */
    int nrefused;    /* lines that are not part of a model: all are named at once */
    int refused[12];
    char refused_msg[400];
    nn_spec *out;
} parser;

/* Appends an argument named key (NULL: positional; key is taken, freed on
 * failure) to c; returns its zeroed value, NULL when out of memory (the
 * error is in p->e). */
nn_value *spec_call_add_arg(parser *p, nn_call *c, char *key);
void spec_skip_space(parser *p, int newlines);
void spec_adv(parser *p);
int spec_fail(parser *p, const char *expected);
int spec_is_ident0(char c);
int spec_is_ident(char c);      /* also '.' and R's '$' */
char *spec_dupn(const char *s, size_t n);
size_t spec_ident_len(const char *s);                 /* a name at s, 0 if none */
const char *spec_last_part(const char *w, size_t n);  /* after the last '.' or '$' */
int spec_parse_value(parser *p, nn_value *v, int depth);   /* with arithmetic (arith.c) */
int spec_parse_primary(parser *p, nn_value *v, int depth); /* one value, no operator */
void spec_value_free(nn_value *v);
int spec_value_copy(nn_value *dst, const nn_value *src);
/* A variable by name; one holding a tensor is found too (check ->tensor). */
spec_var *spec_var_find(const parser *p, const char *name, size_t n);
/* Sets (or replaces) a variable: takes name and v's contents; tensor and
 * applied start at 0. */
int spec_set_var(parser *p, char *name, nn_value *v);
/* Appends "path:line: text" to the spec's notes (NN_ENOMEM on failure). */
int spec_note(parser *p, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Shared by the statement level (paste.c) and the call level (paste_emit.c). */
extern const char *const spec_model_methods[];   /* add, compile, fit, evaluate, ... */
int spec_in_list(const char *const list[], const char *s, size_t n);
const char *spec_skip_reason(const char *w, size_t n);   /* why a skipped line is not needed */
const char *spec_line_text(const parser *p, size_t i, char *buf, size_t len);
int spec_is_ctor(const char *fn);                  /* Sequential, keras_model_sequential */
int spec_is_model_name(const parser *p, const nn_value *v);
/* Remembers a line that is not part of a model and skips its statement
 * (from its start at, on line); NN_OK. */
int spec_refuse(parser *p, int line, size_t at, const char *why);
/* Turns one call of a statement into the spec's calls (p->out); takes c's
 * contents. on_model: applied to the model (method, pipe stage). */
int spec_emit(parser *p, nn_call *c, int on_model, int line, size_t at);
/* Appends c to the spec's calls, taking its contents. */
int spec_push(parser *p, nn_call *c);
/* The error for a bare undotted name left in a call's value (a string
 * without quotes or a variable never set), NN_OK when there is none. */
int spec_stray_name(parser *p, const nn_value *v);
/* The error for the refused lines, if any (NN_OK when none). */
int spec_refused(parser *p);
/* One statement at the cursor: a call, an assignment, a pipeline, a line to
 * skip or to refuse (paste.c). Appends its calls to p->out. */
int spec_statement(parser *p);
/* Functional models (paste_graph.c). Whether the statement at the cursor
 * works on tensors: an Input(...), a layer applied to a tensor, a merge of
 * tensors, Model(...)/keras_model(...), a pipe from a tensor. has_lhs: it is
 * assigned (an Input alone on a line stays a Sequential spec's line). */
int spec_graph_starts(const parser *p, int has_lhs);
/* Parses that statement, emitting one call per layer applied (inputs set);
 * takes lhs (the variable assigned, or NULL). */
int spec_graph_statement(parser *p, char *lhs, size_t at);
/* Whether a variable holds a tensor (the script is a functional one). */
int spec_graph_tensors(const parser *p);
/* At the end: layers applied to tensors need a Model(...) line. */
int spec_graph_finish(parser *p);
/* Whether a script is R (<-, %>%, x$y, library(), layer_*): names in
 * "did you mean" follow its spelling. */
int spec_is_r(const char *text);

#endif
