/* The layer graph of a functional Keras model_config ("Model" in Keras
 * 2.0-2.3 and R keras, "Functional" in tf.keras 2.4+ and Keras 3): which
 * layers each layer takes, read from inbound_nodes in both spellings, put in
 * a topological order (keras_graph.c; keras_json.c turns each layer into a
 * spec call). */
#ifndef NNTRAIN_IO_KERAS_GRAPH_H
#define NNTRAIN_IO_KERAS_GRAPH_H

#include <cjson/cJSON.h>

#include "nntrain/error.h"
#include "nntrain/layer.h"

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

#endif
