/* Keras 3 (and tf.keras 2.13+) `.keras` files: a zip holding config.json
 * (the model's serialized config with its compile_config), metadata.json
 * and model.weights.h5 (src/io/keras_zip.c). checkpoint.c hands a path to
 * these functions when the file is a zip; each mirrors the nn_ckpt_*
 * function of the same role. Messages name the file and the member. */
#ifndef NNTRAIN_IO_KERAS_ZIP_H
#define NNTRAIN_IO_KERAS_ZIP_H

#include "nntrain/error.h"
#include "nntrain/model.h"
#include "nntrain/spec.h"

/* 1 when path starts with a zip's local file header ("PK\3\4"). */
int kz_is_zip(const char *path);

/* nn_ckpt_load_model_notes for a .keras file (notes may be NULL). */
int kz_load_model(const char *path, nn_model *m, char ***notes, int *nnotes, nn_error *e);
/* nn_ckpt_load_spec for a .keras file: config.json and its compile_config. */
int kz_load_spec(const char *path, nn_spec *s, nn_error *e);
/* nn_ckpt_load_weights for a .keras file: model.weights.h5 matched to the
 * model's layers by name through config.json. */
int kz_load_weights(const char *path, nn_model *m, int allow_missing, nn_error *e);

/* snake_case of a Keras class name as Keras's naming.to_snake_case writes
 * it (Conv2D -> conv2d, BatchNormalization -> batch_normalization,
 * SimpleRNN -> simple_rnn): the weights file names layers by it. */
void kz_snake(const char *cls, char *out, size_t len);

#endif
