/* Model-spec files: one Keras-like call per line, e.g.
 *   Conv2D(32, (3, 3), padding="same", activation="relu", input_shape=(28, 28, 1))
 *   compile(loss="sparse_categorical_crossentropy", optimizer=RMSprop(lr=1e-3), metrics=["accuracy"])
 *   fit(batch_size=64, epochs=5, validation_split=0.1, seed=42)
 * The parser builds a generic call tree; layers, compile and fit bind their
 * arguments by name with nn_args_*, so unknown options are errors that name
 * file:line:col. The same tree can be built from a Keras JSON config.
 * The model part of a pasted Keras script (R kerasR, R keras pipes, Python
 * Keras, tf.keras) gives the same calls: assignments, pipes and model methods
 * are resolved, and what is skipped or ignored becomes a note
 * (src/spec/paste.c). */
#ifndef NNTRAIN_SPEC_H
#define NNTRAIN_SPEC_H

#include "nntrain/error.h"

typedef enum {
    NN_V_NONE,   /* None / NULL */
    NN_V_NUM,    /* 32, 1e-3, -0.5 */
    NN_V_STR,    /* "relu" or 'relu' */
    NN_V_BOOL,   /* True/False (TRUE/FALSE for R users) */
    NN_V_LIST,   /* (3, 3) or [..] or c(3, 3); {0: 1.0, 1: 3.0} as (key, value) pairs */
    NN_V_CALL    /* RMSprop(lr=1e-3) */
} nn_vkind;

struct nn_call;

typedef struct nn_value {
    nn_vkind kind;
    double num;
    int is_int;              /* NUM written without '.', 'e' */
    int is_dict;             /* LIST from {k: v, ...}: items are (k, v) pairs */
    int boolean;
    char *str;               /* STR; for a bare name, its last component */
    char *name;              /* a bare name as written (tf.nn.relu, x_train), else NULL */
    int n;
    struct nn_value *items;  /* LIST */
    struct nn_call *call;    /* CALL */
    int line, col;
} nn_value;

typedef struct nn_call {
    char *fn;                /* name without prefix, e.g. "Conv2D" */
    char *qual;              /* the whole name if it had a prefix ("layers.Dense"), else NULL */
    const char *path;        /* file the call came from (borrowed) */
    int line, col;
    int nargs;
    char **keys;             /* keys[i] == NULL for a positional argument */
    nn_value *vals;
    /* Functional models: the calls (indices into nn_spec.calls: an
     * Input(...) call or a layer call) whose outputs this layer call takes,
     * in order; ninputs 0: the previous layer (Sequential). A Model(...)
     * call takes one: the output layer's call. Set by the parser for
     * `x = Conv2D(...)(y)`, `add([a, b])`, `%>%` pipes and by Keras JSON
     * inbound_nodes; malloc'd, freed with the call. */
    int ninputs;
    int *inputs;
} nn_call;

typedef struct nn_spec {
    char *path;
    int ncalls;
    nn_call *calls;
    char *text;              /* the whole source, kept for checkpoints */
    int r_lang;              /* written in R (<-, %>%, $, library(), layer_*) */
    int nnotes;              /* "path:line: ..." about pasted Keras code: lines */
    char **notes;            /* skipped, arguments ignored (src/spec/paste.c) */
} nn_spec;

/* Parses text; path is used in messages only. Errors: NN_EFORMAT with
 * "path:line:col: expected ..., found ...". */
int nn_spec_parse(const char *text, const char *path, nn_spec *out, nn_error *e);
/* Reads and parses a file (NN_EIO if unreadable). */
int nn_spec_load(const char *path, nn_spec *out, nn_error *e);
void nn_spec_free(nn_spec *s);
void nn_call_free(nn_call *c);  /* frees the contents, not c itself */
/* "did you mean 'x'?": the candidate nearest to name by edit distance
 * (case-insensitive), or NULL when none is close. */
const char *nn_suggest(const char *name, const char *const cands[]);

#endif
