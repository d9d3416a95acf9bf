/* Helpers shared by the HDF5 dataset writer, schema checks, reader and
 * converters (h5write.c, h5schema.c, h5read.c, convert.c, csv.c); not part of
 * the public API. */
#ifndef NNTRAIN_H5PRIV_H
#define NNTRAIN_H5PRIV_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#include "nntrain/convert.h"
#include "nntrain/error.h"
#include "nntrain/tensor.h"

#define NN_H5_FORMAT "nntrain-dataset"
#define NN_H5_VERSION 1
#define NN_H5_MAX_LABEL (1 << 24)   /* class labels travel as float y: exact below */

/* Turns off HDF5's own error printing for the calling thread (a threadsafe
 * HDF5 keeps this setting per thread), so that our messages are the only ones. */
void nn_h5_quiet(void);

/* The most specific description on the calling thread's HDF5 error stack
 * (e.g. "truncated file: eof = ..."), or "no details" when it is empty. */
const char *nn_h5_why(char *buf, size_t len);

/* "uint8", "int32", "float64", "string", ... for a datatype, into buf. */
const char *nn_h5_type_name(hid_t type, char *buf, size_t len);

/* ---- schema validation (h5schema.c) ---- */

/* The handles and validated layout of one split (/name/x, /name/y). */
typedef struct nn_h5_dsplit {
    hid_t g, x, y;
    int x_u8, y_label;
    int x_rank, y_rank;
    hsize_t xd[NN_MAX_DIMS + 1], yd[2];
    size_t n, per;            /* samples, x elements per sample */
    nn_shape shape;
    int ydim;
    char x_type[32], y_type[32];
} nn_h5_dsplit;

/* Closes *id with fn if it is valid and marks it invalid. */
void nn_h5_close_id(hid_t *id, herr_t (*fn)(hid_t));
void nn_h5_close_split(nn_h5_dsplit *s);
/* Opens path read-only (no file lock: files are replaced by rename only),
 * saying whether it is missing, not HDF5, or truncated. */
int nn_h5_open_file(const char *path, hid_t *out, nn_error *e);

/* Writes path through its temporary name (tmpfile.h): write(tmp, arg, e)
 * makes the whole file at tmp, which then replaces path; on any failure
 * tmp is removed and path stays as it was. */
int nn_h5_write_tmp(const char *path, int (*write)(const char *tmp, void *arg, nn_error *e),
                    void *arg, nn_error *e);
/* Root attributes: format and version (checked when present) and the
 * class_names list (*names NULL when absent; free with nn_h5_free_strings). */
int nn_h5_read_root(hid_t f, const char *path, char *format, size_t flen, int *version,
                    char ***names, size_t *nnames, nn_error *e);
/* One string attribute of obj into buf ("" when absent); where names obj. */
int nn_h5_get_string(hid_t obj, const char *name, char *buf, size_t len, const char *path,
                     const char *where, nn_error *e);
int nn_h5_split_exists(hid_t f, const char *split);
/* Opens and validates /split (x, y, their types, shapes and counts). */
int nn_h5_open_split(hid_t f, const char *path, const char *split, nn_h5_dsplit *s,
                     nn_error *e);
/* All labels of s as int32, checked to lie in 0..nclasses-1 (>= 0 when
 * nclasses is 0); *maxlab gets the largest. */
int nn_h5_read_labels(const nn_h5_dsplit *s, const char *path, const char *split,
                      int nclasses, int32_t **out, int *maxlab, nn_error *e);

/* ---- converters (convert.c, csv.c) ---- */

/* One split being converted: owned buffers, exactly one x and one y. */
typedef struct nn_conv_split {
    const char *name;
    size_t n;
    uint8_t *xu;     /* (n, H, W, C) images, or */
    float *xf;       /* (n, F) features */
    int32_t *y;      /* (n) labels, or */
    float *yf;       /* (n, ydim) targets */
    int ydim;
} nn_conv_split;

/* Finds duplicates in every split (and test samples equal to train ones),
 * drops them when o->dedupe, fills st and writes out atomically. names may be
 * NULL (nclasses = max label + 1). The splits are compacted in place. */
int nn_conv_finish(nn_conv_split *s, int ns, nn_shape shape, const char *const *names,
                   int nnames, const char *source, const char *out,
                   const nn_convert_opts *o, nn_convert_stats *st, nn_error *e);
void nn_conv_split_free(nn_conv_split *s, int ns);

#endif
