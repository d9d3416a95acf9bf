/* Checkpoints in HDF5, laid out as Keras 2 saves a model (model.save), plus
 * nntrain's own group for exact resuming:
 *
 *   /  attrs  model_config (JSON of the Sequential model), keras_version
 *             ("2.11.0"), backend ("tensorflow"), training_config (JSON:
 *             loss, metrics, optimizer_config)
 *   /model_weights  attr layer_names (fixed-length strings), backend, keras_version
 *   /model_weights/<layer>  attr weight_names ["<layer>/kernel:0", "<layer>/bias:0"]
 *   /model_weights/<layer>/<layer>/kernel:0   Dense (in, out); Conv2D HWIO
 *   /model_weights/<layer>/<layer>/bias:0
 *   (layers without weights: an empty weight_names and no subgroup; also
 *   /model_weights/top_level_model_weights with an empty weight_names, as
 *   Keras >= 2.9 writes; LSTM's recurrent kernel is "recurrent_kernel:0")
 *   /  attr class_names (strings, optional): the training data's classes, in
 *             label order (as the dataset schema's root attribute)
 *   /nntrain   attrs format "nntrain-checkpoint", version 1, spec (the spec text),
 *              epoch, step (within the epoch; 0 = epoch boundary), iterations,
 *              seed, data_checksum, monitor, best, has_best
 *   /nntrain/optimizer/slot0, slot1      flat float32, parameter offsets;
 *              attr optimizer (its Keras class name)
 *   /nntrain/epoch_sums                 float64: partial-epoch loss/metric sums + count
 *   /nntrain/history  float64 (epochs, cols), attr columns (strings)
 *   /nntrain/callbacks  the callbacks' state (src/io/ckpt_callbacks.c)
 *
 * Files are written to "<path>.tmp-<pid>" and renamed: never half-written.
 * Every dataset carries a Fletcher-32 checksum and the metadata is in the
 * HDF5 1.8 format (checksummed, readable by h5py/Keras), so a corrupt file is
 * refused rather than loaded. Errors name the file and the object. */
#ifndef NNTRAIN_CHECKPOINT_H
#define NNTRAIN_CHECKPOINT_H

#include <stdint.h>

#include "nntrain/model.h"
#include "nntrain/spec.h"
#include "nntrain/history.h"

typedef struct nn_train_state {
    int epoch;                 /* epochs completed */
    long step;                 /* steps completed inside epoch `epoch` (0 = boundary) */
    uint64_t seed;
    uint64_t data_checksum;    /* of the training data, 0 = unknown */
    double epoch_sums[2 + NN_METRIC_MAX_SUMS]; /* loss, metric sums (m.metric_sums),
                                                 samples seen (partial epoch) */
    char monitor[48];          /* ModelCheckpoint monitor, "" = none */
    double best;               /* best monitored value so far */
    int has_best;
    int deterministic;         /* trained in deterministic mode (fit_det.c) */
    int det_chunk;             /* its rows per chunk */
    const nn_cb_state *cb;     /* the callbacks' state to save (borrowed), or NULL */
    /* the training data's class names (borrowed; NULL: none), saved as the
     * root attribute class_names; nn_ckpt_load_state leaves them NULL */
    const char *const *class_names;
    int nclass_names;
} nn_train_state;

/* Saves weights (Keras layout), spec, optimizer state, counters and history
 * (h may be NULL; the optimizer slots are saved when allocated).
 * spec_text may be NULL: then the Keras options the model does not keep
 * (strides, pooling, dropout rate) cannot be exported and such a model is
 * refused; with spec_text, st and h all NULL the file is Keras-only (no
 * /nntrain group). Only the caller's rank should call it. */
int nn_ckpt_save(const char *path, const nn_model *m, const char *spec_text,
                 const nn_train_state *st, const nn_history *h, nn_error *e);

/* Builds the model stored in path: from /nntrain spec when present, else from
 * the Keras model_config JSON (a file saved by Keras 2), and loads the
 * weights by layer name, checking every shape. Unsupported Keras layers are
 * errors naming the layer class. */
int nn_ckpt_load_model(const char *path, nn_model *m, nn_error *e);
/* The same, also handing over the notes of the Keras import (what of the
 * training_config was left out, custom metrics): *notes (malloc'd, free
 * with nn_ckpt_free_names) and *nnotes, NULL and 0 when there are none. */
int nn_ckpt_load_model_notes(const char *path, nn_model *m, char ***notes, int *nnotes,
                             nn_error *e);
/* The spec of the model stored in path, as nn_ckpt_load_model reads it
 * (train MODEL.h5: the architecture and compile() of a Keras file). */
int nn_ckpt_load_spec(const char *path, nn_spec *s, nn_error *e);

/* Loads weights by layer name into an already built model (transfer
 * learning / continued training); layers missing in the file are an error
 * unless allow_missing. */
int nn_ckpt_load_weights(const char *path, nn_model *m, int allow_missing, nn_error *e);

/* Restores optimizer slots (allocated by the caller with nn_optim_alloc),
 * iterations, counters and history for --resume. st and h may be NULL; h's
 * old contents are freed (pass a zeroed or valid history). Nothing is
 * changed when an error is returned. */
int nn_ckpt_load_state(const char *path, nn_model *m, nn_train_state *st, nn_history *h,
                       nn_error *e);

/* The callbacks' state of a checkpoint (/nntrain/callbacks) into s (its
 * old best weights are freed); a checkpoint without it gives a fresh state.
 * s is unchanged on error. */
int nn_ckpt_load_callbacks(const char *path, nn_cb_state *s, size_t nparams, nn_error *e);

/* The class_names root attribute of a checkpoint: *names NULL and *n 0 when
 * the file has none (Keras files, older checkpoints). Free with
 * nn_ckpt_free_names. */
int nn_ckpt_class_names(const char *path, char ***names, int *n, nn_error *e);
void nn_ckpt_free_names(char **names, int n);

/* The spec text stored in a checkpoint (/nntrain spec), or for a file saved
 * by Keras the spec made from its model_config and training_config
 * (malloc'd; NULL and e set on error). What --resume passes back to
 * nn_ckpt_save. */
char *nn_ckpt_read_spec(const char *path, nn_error *e);

#endif
