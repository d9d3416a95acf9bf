/* compile()'s loss and metric values beyond plain names: Keras loss objects
 * (BinaryCrossentropy(from_logits=True)) and metric objects (AUC(),
 * Precision(), Recall()). Private to src/train (model_build.c). */
#ifndef NNTRAIN_COMPILE_NAMES_H
#define NNTRAIN_COMPILE_NAMES_H

#include "nntrain/model.h"

/* compile(loss=...): a name ("binary_crossentropy") or a Keras loss class
 * call (losses.BinaryCrossentropy(from_logits=True), R
 * loss_binary_crossentropy(from_logits = TRUE)). Sets m->loss and
 * m->from_logits. Unknown classes, unknown keyword arguments and options
 * nntrain does not implement (label_smoothing != 0, ...) are errors naming
 * the argument and its spec location; c is the compile() call. */
int nn_compile_loss(nn_model *m, const nn_call *c, const nn_value *v, nn_error *e);

/* One entry of compile(metrics=[...]): a name, or a metric object call
 * (metrics.AUC(), tf.keras.metrics.Precision(name="prec")). Writes the
 * name to resolve later (nn_metric_parse) into name[len] and, for a call
 * with name=, the name to log into log_name[len] (else ""). */
int nn_compile_metric(const nn_call *c, const nn_value *v, char *name, size_t len,
                      char *log_name, size_t log_len, nn_error *e);

/* Keras's to_snake_case: MaxPooling2D -> max_pooling2d, Conv2D -> conv2d,
 * Conv2DTranspose -> conv2d_transpose, SimpleRNN -> simple_rnn,
 * SparseCategoricalCrossentropy -> sparse_categorical_crossentropy. */
void nn_snake_case(const char *kind, char *out, size_t len);

#endif
