/* Dataset converters and whole-file tools for the nntrain HDF5 schema
 * (h5data.h): IDX, CIFAR-10 binary batches and CSV files become one .h5 file;
 * byte-identical duplicate samples are found (FNV-1a of the x bytes, confirmed
 * byte by byte), reported and optionally dropped; a file can be split into
 * seeded train/validation files, or loaded whole (for `nntrain inspect`).
 * Every function returns NN_OK or a negative NN_E* code with a message naming
 * the file (and line, for CSV); outputs are written atomically (nn_h5_write). */
#ifndef NNTRAIN_CONVERT_H
#define NNTRAIN_CONVERT_H

#include <stddef.h>
#include <stdint.h>

#include "nntrain/error.h"
#include "nntrain/h5data.h"
#include "nntrain/tensor.h"

typedef struct nn_convert_opts {
    int dedupe;                      /* drop byte-identical duplicates (keep the first;
                                        a test sample equal to a train sample is dropped) */
    int compress;                    /* gzip level 0..9 for x (0: none) */
    const char *label_column;        /* CSV: column of class labels (strings or integers) */
    const char *target_columns;      /* CSV: "a,b": float regression targets */
    int sklearn;                     /* CSV: scikit-learn's bundled table (iris.csv):
                                        header "n_samples,n_features,class names...",
                                        rows of n_features values and a class index */
    const char *const *class_names;  /* IDX: names for labels 0..nclass_names-1 (else
                                        Fashion-MNIST's when the path says so, or digits) */
    int nclass_names;
} nn_convert_opts;

typedef struct nn_convert_split_stats {
    char name[16];       /* "train", "test", "val" */
    size_t n_read;       /* samples in the source */
    size_t n_dup;        /* byte-identical to an earlier sample of the same source split */
    size_t n_conflict;   /* of those, with a different label than the first copy */
    size_t n_cross;      /* identical to a sample of the train split (test only) */
    size_t n_written;
} nn_convert_split_stats;

typedef struct nn_convert_stats {
    int nsplits;
    nn_convert_split_stats split[3];
    nn_shape shape;      /* per sample */
    int nclasses;        /* 0: regression targets */
    int images;          /* x is uint8 images (else float features) */
} nn_convert_stats;

/* DIR holds train-images-idx3-ubyte[.gz] + train-labels-idx1-ubyte[.gz] and
 * optionally the t10k pair: written as /train and /test, uint8 (N, H, W, 1). */
int nn_convert_idx(const char *dir, const char *out, const nn_convert_opts *o,
                   nn_convert_stats *st, nn_error *e);

/* DIR holds data_batch_1.bin .. data_batch_5.bin (those present, at least one)
 * and optionally test_batch.bin: records of 1 label byte + 3072 bytes (R, G, B
 * planes of 32x32, row-major), written as uint8 NHWC (32, 32, 3). Class names
 * come from DIR/batches.meta.txt if present, else the standard ten. */
int nn_convert_cifar10(const char *dir, const char *out, const nn_convert_opts *o,
                       nn_convert_stats *st, nn_error *e);

/* A CSV file with a header row: o->label_column (classification: labels are
 * mapped to sorted class names, numerically when all are integers) or
 * o->target_columns (regression); every other column is a float32 feature.
 * With o->sklearn, scikit-learn's layout instead (the header gives the
 * counts and the class names; the last column is the class index), checked
 * against the header's counts. Written as /train. Errors name file:line and
 * the column. */
int nn_convert_csv(const char *csv, const char *out, const nn_convert_opts *o,
                   nn_convert_stats *st, nn_error *e);

/* Splits in's /train into train_out (/train, plus in's /test copied as is)
 * and val_out (/train), choosing round(val_fraction * N) validation samples
 * with a permutation from seed; rows keep their original order. With
 * o->dedupe, byte-identical duplicates are dropped first, so no sample is in
 * both outputs. st->split: [0] the input train split and what train_out got,
 * [1] val_out, [2] the copied test split if any. */
int nn_split_file(const char *in, const char *train_out, const char *val_out,
                  double val_fraction, uint64_t seed, const nn_convert_opts *o,
                  nn_convert_stats *st, nn_error *e);

/* Duplicates among n rows of row_bytes each at x: orig[i] = the index of the
 * first row identical to row i, or SIZE_MAX when row i is the first of its
 * kind. With ref (nref rows of the same size), in_ref[i] = the index of a ref
 * row identical to row i, or SIZE_MAX. Counts go to *ndup and *ncross (either
 * may be NULL). in_ref may be NULL when ref is. */
int nn_find_duplicates(const void *x, size_t n, size_t row_bytes, const void *ref,
                       size_t nref, size_t *orig, size_t *in_ref, size_t *ndup,
                       size_t *ncross, nn_error *e);

/* A whole nntrain .h5 file in memory, validated like nn_h5_open. */
typedef struct nn_h5_loaded {
    nn_h5_split s;        /* views of x and y below (s.name = name) */
    char name[16];
    void *x, *y;          /* owned: uint8 or float32 x; int32 labels or float32 y */
    char x_type[32], y_type[32];   /* as stored, e.g. "uint8", "int64" */
    int x_rank, y_rank;
    unsigned long long chunk0;     /* samples per chunk of x, 0 if not chunked */
    int gzip;             /* deflate level of x, -1 if none */
    char checksum[40];    /* stored "checksum" attribute of x, "" if none */
} nn_h5_loaded;

typedef struct nn_h5_file {
    char format[64];      /* "" when the attribute is absent */
    int version;          /* -1 when absent */
    char source[1024], creator[128];
    int nclasses;         /* from class_names, else max label + 1; 0 for targets */
    char **class_names;   /* nclass_names names (the "class_names" attribute) or NULL */
    int nclass_names;
    int nsplits;
    nn_h5_loaded split[2];   /* "train" then "test", those present */
} nn_h5_file;

/* Loads every split of path; free with nn_h5_file_free (also after errors). */
int nn_h5_load(const char *path, nn_h5_file *f, nn_error *e);
void nn_h5_file_free(nn_h5_file *f);

#endif
