/* Keras JSON: a model.to_json() / model_config text turned into a spec
 * (src/io/keras_json.c), and a model's own model_config and training_config
 * written as Keras 2 writes them (src/io/keras_export.c). */
#ifndef NNTRAIN_KERAS_H
#define NNTRAIN_KERAS_H

#include "nntrain/error.h"
#include "nntrain/model.h"
#include "nntrain/spec.h"

/* Keras model.to_json() text -> the equivalent spec (layers only; compile
 * settings from training_config when given, else none). out->text holds the
 * spec text it was parsed from, one line per entry of config.layers (so
 * line N in a later message is config.layers[N - 1]); where
 * ("file:model_config") prefixes messages. Unsupported layers and options
 * are NN_EINVAL naming the layer and the key; bad JSON is NN_EFORMAT. What
 * of training_config nntrain cannot train with is left out with a note in
 * out->notes (the model then loads for inference). */
int nn_keras_json_to_spec(const char *json, const char *training_config, const char *where,
                          nn_spec *out, nn_error *e);

/* The model's Keras model_config JSON (malloc'd string; free()). Names and
 * shapes come from m; the options it does not keep (strides, padding, pool
 * size, dropout rate, initialisers) from spec_text, the text m was built
 * from; spec_text NULL works only for models whose shapes decide them. */
char *nn_model_to_keras_json(const nn_model *m, const char *spec_text, nn_error *e);

/* The Keras training_config JSON of a compiled model (loss, metrics,
 * optimizer_config; malloc'd), NULL with NN_EINVAL if not compiled. */
char *nn_model_training_config_json(const nn_model *m, nn_error *e);

#endif
