/* Model-spec files: one Keras-like call per line, e.g.
 *   Conv2D(32, (3, 3), padding="same", activation="relu", input_shape=(28, 28, 1))
 *   compile(loss="sparse_categorical_crossentropy", optimizer=RMSprop(lr=1e-3), metrics=["accuracy"])
 *   fit(batch_size=64, epochs=5, validation_split=0.1, seed=42)
 * The parser builds a generic call tree; layers, compile and fit bind their
 * arguments by name with nn_args_*, so unknown options are errors that name
 * file:line:col. The same tree can be built from a Keras JSON config. */
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
    char *str;
    int n;
    struct nn_value *items;  /* LIST */
    struct nn_call *call;    /* CALL */
    int line, col;
} nn_value;

typedef struct nn_call {
    char *fn;                /* name as written, e.g. "Conv2D" */
    const char *path;        /* file the call came from (borrowed) */
    int line, col;
    int nargs;
    char **keys;             /* keys[i] == NULL for a positional argument */
    nn_value *vals;
} nn_call;

typedef struct nn_spec {
    char *path;
    int ncalls;
    nn_call *calls;
    char *text;              /* the whole source, kept for checkpoints */
} nn_spec;

/* Parses text; path is used in messages only. Errors: NN_EFORMAT with
 * "path:line:col: expected ..., found ...". */
int nn_spec_parse(const char *text, const char *path, nn_spec *out, nn_error *e);
/* Reads and parses a file (NN_EIO if unreadable). */
int nn_spec_load(const char *path, nn_spec *out, nn_error *e);
void nn_spec_free(nn_spec *s);
void nn_call_free(nn_call *c);  /* frees the contents, not c itself */

/* ---- argument binding ------------------------------------------------ */
#define NN_MAX_ARGS 24

typedef struct nn_args {
    const nn_call *call;
    const char *const *names;          /* NULL-terminated, positional order */
    const nn_value *v[NN_MAX_ARGS];    /* bound value per name, or NULL */
    int used[NN_MAX_ARGS];
} nn_args;

/* Binds c's arguments to names: positional ones in order, keywords by name;
 * names after a "*" entry are keyword-only, as in Python.
 * Errors (NN_EINVAL, message with path:line:col and the known names): unknown
 * keyword, too many positional arguments, an argument given twice.
 * aliases: NULL or NULL-terminated pairs {"lr", "learning_rate", NULL}. */
int nn_args_bind(nn_args *a, const nn_call *c, const char *const names[],
                 const char *const aliases[], nn_error *e);
int nn_args_has(const nn_args *a, const char *name);
const nn_value *nn_args_get(const nn_args *a, const char *name);
/* Typed getters: the default is used when absent; a wrong type is an error
 * naming the argument, what was expected and the location. */
int nn_args_int(nn_args *a, const char *name, int def, int *out, nn_error *e);
int nn_args_double(nn_args *a, const char *name, double def, double *out, nn_error *e);
int nn_args_bool(nn_args *a, const char *name, int def, int *out, nn_error *e);
int nn_args_str(nn_args *a, const char *name, const char *def, const char **out, nn_error *e);
/* A string that must be one of choices (NULL-terminated); *idx is its index. */
int nn_args_choice(nn_args *a, const char *name, const char *def,
                   const char *const choices[], int *idx, nn_error *e);
/* n ints: accepts a scalar (repeated n times) or a list of exactly n.
 * Used for kernel_size=3 or (3, 3). */
int nn_args_ints(nn_args *a, const char *name, int n, const int *def, int *out, nn_error *e);
/* A list of 1..max positive ints (input_shape); *n receives the count. */
int nn_args_shape(nn_args *a, const char *name, int max, int *out, int *n, nn_error *e);
/* "path:line:col" of a value or of the call (value NULL). */
const char *nn_value_where(const nn_call *c, const nn_value *v, char *buf, int len);
/* Error for a call that is not understood: "path:line:col: unknown X 'name'". */

#endif
