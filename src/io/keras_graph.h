/* The layer graph of a functional Keras model_config ("Model" in Keras
 * 2.0-2.3 and R keras, "Functional" in tf.keras 2.4+ and Keras 3): which
 * layers each layer takes, read from inbound_nodes in both spellings, put in
 * a topological order (keras_graph.c; keras_json.c turns each layer into a
 * spec call); and the parts keras_export.c writes for a graph model. */
#ifndef NNTRAIN_IO_KERAS_GRAPH_H
#define NNTRAIN_IO_KERAS_GRAPH_H

#include <cjson/cJSON.h>

#include "nntrain/error.h"
#include "nntrain/layer.h"
#include "nntrain/model.h"
#include "nntrain/spec.h"

typedef struct kg_node {
    const cJSON *layer;        /* the entry of config.layers (borrowed) */
    const char *name, *cls;    /* borrowed from layer */
    int nin;                   /* inputs, as positions in kg_graph.order */
    int in[NN_MAX_INPUTS];
} kg_node;

typedef struct kg_graph {
    int n;
    kg_node *nodes;            /* in topological order: the InputLayer first,
                                  the output last (file order where the file
                                  is already ordered, as Keras writes it) */
} kg_graph;

/* Reads config (the model_config's "config" object). Refused (NN_EINVAL or
 * NN_EFORMAT, messages prefixed with where and naming the layer): other than
 * one input and one output layer, an inbound node naming a layer that is not
 * defined, a cycle, a layer called twice or a reference to its second call
 * (shared layers), a layer with several outputs, call arguments (training=,
 * mask tensors), a layer that does not lead to the output. */
int kg_read(const cJSON *config, const char *where, kg_graph *g, nn_error *e);
void kg_free(kg_graph *g);

/* Writing (tf.keras 2.4's Functional config); each returns 0 when out of
 * memory. The layer entry L gets "name" and "inbound_nodes"
 * [[["conv2d", 0, 0, {}], ...]] (each layer is called once). */
int kg_add_inbound(cJSON *L, const nn_model *m, const nn_layer *l);
/* config gets input_layers [[input, 0, 0]] and output_layers [[last, 0, 0]]. */
int kg_add_ends(cJSON *config, const nn_model *m);
/* Which calls of s the model keeps (malloc'd flags, NULL without memory):
 * all, or in a functional spec those that feed the Model(...) call's output
 * (the model builder drops the others, as Keras builds a model from its
 * output back). */
char *kg_feeds_output(const nn_spec *s);

#endif
