/* Datasets: random access to samples by index, so that every rank reads only
 * its shard of each global batch. x is float (pixels scaled to [0, 1] as
 * Keras's /255), y is (ydim) floats per sample: a class index when
 * nclasses > 0 and ydim == 1, otherwise targets. */
#ifndef NNTRAIN_DATA_H
#define NNTRAIN_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "nntrain/error.h"
#include "nntrain/tensor.h"

typedef struct nn_dataset nn_dataset;

struct nn_dataset {
    size_t n;                 /* samples */
    nn_shape x_shape;         /* per sample, NHWC for images */
    int ydim;                 /* floats per target */
    int nclasses;             /* > 0: y holds class indices 0..nclasses-1 */
    char source[512];         /* for messages: file or generator */
    uint64_t checksum;        /* of the sample data when known (HDF5 attribute), else 0 */
    /* Gathers samples idx[0..count) into x (count, x_shape) and y (count, ydim). */
    int (*read)(nn_dataset *d, const uint64_t *idx, int count, float *x, float *y,
                nn_error *e);
    void (*close)(nn_dataset *d);
    void *priv;
};

/* Opens the split ("train" or "test") of a data source:
 *   a directory or prefix with IDX files (train-images-idx3-ubyte[.gz], ...),
 *   "synthetic:sqrt[:N]"   x ~ U[0, 100), y = sqrt(x), N samples (default 1000),
 *   an nntrain HDF5 file (.h5 / .hdf5, see h5data.h). */
int nn_data_open(const char *src, const char *split, uint64_t seed, nn_dataset *d,
                 nn_error *e);
void nn_data_close(nn_dataset *d);
/* For readers: d is open (priv set), the request is well formed and every
 * idx[i] < n; messages name d->source. */
int nn_data_check_read(const nn_dataset *d, size_t n, const uint64_t *idx, int count,
                       nn_error *e);

/* IDX (MNIST / Fashion-MNIST): images and labels files, gzip or plain. */
int nn_idx_open(const char *images_path, const char *labels_path, nn_dataset *d,
                nn_error *e);
/* Finds "<dir>/<split>-images-idx3-ubyte[.gz]" (split "train" or "t10k"). */
int nn_idx_open_dir(const char *dir, const char *split, nn_dataset *d, nn_error *e);

int nn_sqrt_open(size_t n, uint64_t seed, nn_dataset *d, nn_error *e);

/* out reads inner with y = x (autoencoders: Keras fit(x, x)). inner must
 * outlive out; closing out does not close inner. The y buffer given to
 * out->read holds a whole input, so the inner labels fit in front of it. */
int nn_data_autoencode(nn_dataset *inner, nn_dataset *out, nn_error *e);

/* Samples already in memory (borrowed: x (n, x_shape), y (n, ydim) must
 * outlive d). nclasses > 0 marks y as class indices. */
int nn_memory_open(nn_dataset *d, const float *x, const float *y, size_t n,
                   nn_shape x_shape, int ydim, int nclasses, const char *name,
                   nn_error *e);

#endif
