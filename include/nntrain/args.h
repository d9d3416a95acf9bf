/* Binding a parsed call's arguments to a layer's, optimizer's or
 * generator's parameter names (Python order, keywords, aliases), and typed
 * getters whose errors name the argument and its place in the spec. */
#ifndef NNTRAIN_ARGS_H
#define NNTRAIN_ARGS_H

#include "nntrain/error.h"
#include "nntrain/spec.h"

#define NN_MAX_ARGS 32

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

#endif
