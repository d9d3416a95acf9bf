/* The nntrain HDF5 dataset schema, its writer and checks.
 *
 *   /train/x   uint8 (N, H, W, C) images (NHWC), or float32 (N, F) features;
 *              chunked by sample, optionally gzip-compressed
 *   /train/y   int32 (N,) class labels 0..nclasses-1, or float32 (N, K) targets
 *   /test/x, /test/y       optional, same layout (or one split per file)
 *   root attributes:
 *     format      "nntrain-dataset"       version   1 (int)
 *     class_names string array (optional; nclasses = its length, else max label + 1)
 *     source      where the data came from (paths, URL)
 *     creator     "nntrain <version>"
 *   per-split attribute on x: "checksum" = FNV-1a 64 of x's bytes, hex
 *   (detects a file changed under a running or resumed job).
 * Images are scaled to [0, 1] (Keras /255) on reading. */
#ifndef NNTRAIN_H5DATA_H
#define NNTRAIN_H5DATA_H

#include <stddef.h>
#include <stdint.h>

#include "nntrain/data.h"
#include "nntrain/error.h"
#include "nntrain/hash.h"   /* the checksum attribute */
#include "nntrain/tensor.h"

typedef struct nn_h5_split {
    const char *name;          /* "train", "test" */
    size_t n;
    nn_shape shape;            /* per sample: (H, W, C) for images, (F) for features */
    const uint8_t *x_u8;       /* exactly one of x_u8 / x_f32 */
    const float *x_f32;
    const int32_t *y_label;    /* exactly one of y_label / y_f32 */
    const float *y_f32;
    int ydim;                  /* columns of y_f32 */
} nn_h5_split;

typedef struct nn_h5_meta {
    const char *source;
    int nclasses;                    /* 0 if y are targets */
    const char *const *class_names;  /* nclasses names, or NULL */
    int compress;                    /* gzip level 0..9 */
} nn_h5_meta;

/* Writes path atomically: "<path>.tmp-<pid>" then rename(); nothing is left
 * behind on failure. */
int nn_h5_write(const char *path, const nn_h5_split *splits, int nsplits,
                const nn_h5_meta *meta, nn_error *e);

/* One float32 array of a plain HDF5 file (nn_h5_write_arrays). */
typedef struct nn_h5_array {
    const char *name;
    const float *data;
    int ndim;                  /* 1..NN_MAX_DIMS + 1 (a batch and a sample) */
    size_t dims[NN_MAX_DIMS + 1];
} nn_h5_array;

/* Writes the n arrays as datasets of path, plus (sname != NULL) a dataset
 * sname of nstr variable-length strings; atomically, as nn_h5_write. */
int nn_h5_write_arrays(const char *path, const nn_h5_array *a, int n, const char *sname,
                       const char *const *strings, size_t nstr, nn_error *e);

/* Opens split of an nntrain HDF5 file for reading (validates the schema:
 * every problem is named with the file and dataset). Reads gather only the
 * requested samples (hyperslab selections), so a rank holds only its batch. */
int nn_h5_open(const char *path, const char *split, nn_dataset *d, nn_error *e);

/* The class_names root attribute of an nntrain HDF5 dataset: *names NULL
 * and *n 0 when the file has none; free with nn_h5_free_strings. */
int nn_h5_class_names(const char *path, char ***names, size_t *n, nn_error *e);
void nn_h5_free_strings(char **v, size_t n);

/* What an HDF5 file holds, for hints when a file is given in the wrong
 * place: a dataset (a format attribute or a /train or /test group), a model
 * (Keras's model_config attribute or model_weights group: a checkpoint or a
 * file saved by Keras), something else, or not a readable HDF5 file. */
enum { NN_H5_UNREADABLE = 0, NN_H5_DATASET, NN_H5_MODEL, NN_H5_OTHER };
int nn_h5_kind(const char *path);

#endif
