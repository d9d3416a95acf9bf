/* A model as Graphviz DOT text, drawn as Keras's plot_model draws it
 * (src/cli/model_dot.c), for `nntrain plot-model`. */
#ifndef NNTRAIN_CLI_MODEL_DOT_H
#define NNTRAIN_CLI_MODEL_DOT_H

#include <stdio.h>

#include "nntrain/model.h"

typedef struct cli_dot_opts {
    int show_shapes;       /* the input:/output: table (Keras default: off) */
    int show_names;        /* "name: Class" rather than "Class" (default: on) */
    const char *rankdir;   /* "TB" or "LR" */
    int dpi;               /* Keras's default 96 */
} cli_dot_opts;

/* Writes the digraph of m to f: tf.keras 2.x's model_to_dot (record nodes,
 * concentrate=true), one node per layer with the InputLayer first and one
 * edge per distinct (input, layer) pair. Returns 0, or -1 when writing f
 * failed (errno set). */
int cli_model_dot(const nn_model *m, const cli_dot_opts *o, FILE *f);

/* The edges cli_model_dot draws. */
int cli_model_dot_edges(const nn_model *m);

#endif
