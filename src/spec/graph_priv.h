/* Shared by the two halves of functional models in the spec: the
 * statements (paste_graph.c: what starts one, Model(...), the checks) and
 * the expressions (paste_tensor.c: tensors, layers applied, merges, pipes).
 * Private to src/spec. */
#ifndef NN_GRAPH_PRIV_H
#define NN_GRAPH_PRIV_H

#include <stddef.h>

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
    char key[32];          /* "" when positional */
    int pos;               /* its place among the call's arguments */
    gval g;
} targ;

/* paste_graph.c: looking ahead in the text */
int spec_is_input_fn(const char *fn, size_t n);    /* Input, layer_input */
int spec_is_model_fn(const char *fn, size_t n);    /* Model, keras_model */
int spec_is_pipe_at(const char *s);                /* %>% or |> */
size_t spec_skip_ws(const char *s, size_t i);      /* blanks, newlines, comments */
size_t spec_after_close(const char *s, size_t i);  /* at an opener: after its closer */
/* model.fit(..), Sequential(..): the model's business, not the graph's. */
int spec_model_business(const parser *p, const char *w, size_t n);
/* Whether the expression at s[i] gives a tensor (or tensors). */
int spec_tensorish(const parser *p, size_t i, int depth);

/* paste_tensor.c: evaluating */
void spec_gval_free(gval *g);
const char *spec_call_name(const nn_call *c);   /* as written: layers.Dense */
/* "the Input of line 1", "the output of Dense on line 3" */
const char *spec_describe_tensor(const parser *p, int t, char *buf, size_t len);
/* "PATH:L:C: WHAT the number 3, which is not a tensor: ..." */
int spec_not_tensor(parser *p, const gval *g, const char *what);
/* name(args) at the cursor: *out gets the call with its plain arguments
 * (freed by the caller, also on error), targs[0..*nt) the tensor ones. */
int spec_gcall(parser *p, nn_call **out, targ *targs, int *nt, int depth);
/* An expression and its %>% stages; *g is set even on error (spec_gval_free). */
int spec_gpiped(parser *p, gval *g, int depth);

#endif
