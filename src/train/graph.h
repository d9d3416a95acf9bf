/* Functional models: from the spec's call inputs to the layers' inputs
 * (model_graph.c), for the model builder. */
#ifndef NNTRAIN_TRAIN_GRAPH_H
#define NNTRAIN_TRAIN_GRAPH_H

#include "nntrain/model.h"
#include "nntrain/spec.h"

/* call_layer[c]: the layer made by spec call c, -1 for the Input call, -2
 * for any other call. Sets every layer's nin and inp (a call without
 * inputs takes the previous layer); when output_call >= 0 (a Model(...)
 * call's output), drops the layers that do not feed it, as Keras does, and
 * renumbers layer_call; sets m->graph. Shapes come later (finish). */
int nn_graph_connect(nn_model *m, const nn_spec *s, int *layer_call, const int *call_layer,
                     int output_call, nn_error *e);
/* The layers reading layer i's output (i = -1: the model input). */
int nn_graph_consumers(const nn_model *m, int i);
/* " (inputs: 'a' (None, 8, 8, 16), 'b' (None, 4, 4, 16))" for messages
 * about layer l's inputs. */
void nn_graph_describe_inputs(const nn_model *m, const nn_layer *l, char *buf, size_t len);

#endif
