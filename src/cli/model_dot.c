/* The DOT text of a model as tf.keras 2.x's model_to_dot writes it: graph
 * attributes rankdir, concentrate and dpi, record-shaped nodes labelled
 * "name: Class", with show_shapes the table
 *     name: Class | input:  | (None, 26, 26, 32)
 *                 | output: | (None, 13, 13, 32)
 * (the InputLayer's shapes and a merge's inputs in a list, as Keras prints
 * them), and one edge from each inbound layer. The InputLayer is a node of
 * its own, for a Sequential model too (Keras plots Sequential models through
 * their functional graph), named as Keras names it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "model_dot.h"

/* Node id of layer i (-1: the InputLayer). */
static int node_id(int i)
{
    return i + 1;
}

/* name with the characters a record label or a DOT string gives a meaning
 * to escaped, and control characters replaced. */
static void put_escaped(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (strchr("{}|<>\"\\", c))
            fputc('\\', f);
        fputc(c < 0x20 || c == 0x7f ? '?' : c, f);
    }
}

/* The InputLayer's name: the Input's name, or for a Sequential model
 * without one tf.keras's "<first layer>_input". */
static void input_name(const nn_model *m, char *buf, size_t len)
{
    if (m->graph || m->in_name[0] || m->nlayers == 0)
        snprintf(buf, len, "%s", nn_model_input_name(m));
    else
        snprintf(buf, len, "%s_input", m->layers[0].name);
}

/* "name: Class" (or "Class") and, with show_shapes, the shape table; in
 * and out are Keras's printed shapes. */
static void put_node(FILE *f, int id, const char *name, const char *kind, const char *in,
                     const char *out, const cli_dot_opts *o)
{
    fprintf(f, "%d [label=\"", id);
    if (o->show_names) {
        put_escaped(f, name);
        fputs(": ", f);
    }
    put_escaped(f, kind);
    if (o->show_shapes) {
        fputs("\\n|{input:|output:}|{{", f);
        put_escaped(f, in);
        fputs("}|{", f);
        put_escaped(f, out);
        fputs("}}", f);
    }
    fputs("\"];\n", f);
}

/* Whether input k of l is its first from that layer (add([x, x]) draws one
 * arrow, as Keras's add_edge). */
static int first_from(const nn_layer *l, int k)
{
    for (int j = 0; j < k; j++)
        if (l->inp[j] == l->inp[k])
            return 0;
    return 1;
}

int cli_model_dot_edges(const nn_model *m)
{
    int n = 0;
    for (int i = 0; i < m->nlayers; i++)
        for (int k = 0; k < m->layers[i].nin; k++)
            n += first_from(&m->layers[i], k);
    return n;
}

int cli_model_dot(const nn_model *m, const cli_dot_opts *o, FILE *f)
{
    char name[96], in[512], out[96], shape[96];
    fprintf(f, "digraph G {\nrankdir=%s;\nconcentrate=true;\ndpi=%d;\nnode [shape=record];\n",
            o->rankdir, o->dpi);

    input_name(m, name, sizeof name);
    snprintf(in, sizeof in, "[%s]", nn_shape_str(&m->in_shape, shape, sizeof shape));
    put_node(f, node_id(-1), name, "InputLayer", in, in, o);
    for (int i = 0; i < m->nlayers; i++) {
        const nn_layer *l = &m->layers[i];
        if (l->nin > 1) {   /* Keras's input_shape of a merge: a list */
            size_t n = (size_t)snprintf(in, sizeof in, "[");
            for (int k = 0; k < l->nin && n < sizeof in; k++)
                n += (size_t)snprintf(in + n, sizeof in - n, "%s%s", k ? ", " : "",
                                      nn_shape_str(&l->ins[k], shape, sizeof shape));
            if (n < sizeof in)
                snprintf(in + n, sizeof in - n, "]");
        } else {
            nn_shape_str(&l->in, in, sizeof in);
        }
        nn_shape_str(&l->out, out, sizeof out);
        put_node(f, node_id(i), l->name, l->ops->kind, in, out, o);
    }

    for (int i = 0; i < m->nlayers; i++)
        for (int k = 0; k < m->layers[i].nin; k++)
            if (first_from(&m->layers[i], k))
                fprintf(f, "%d -> %d;\n", node_id(m->layers[i].inp[k]), node_id(i));
    fputs("}\n", f);
    if (ferror(f)) {
        if (!errno)
            errno = EIO;
        return -1;
    }
    return 0;
}
