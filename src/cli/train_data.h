/* `train --data DIR` where DIR holds one subfolder per class (Keras's
 * flow_from_directory layout): converted once into a cached HDF5 file in the
 * output folder (src/cli/train_data.c). */
#ifndef NNTRAIN_CLI_TRAIN_DATA_H
#define NNTRAIN_CLI_TRAIN_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "nntrain/dist.h"
#include "nntrain/error.h"
#include "nntrain/tensor.h"

/* The cached conversion of the class folders of dir for a model whose input
 * is model_in, into h5 (len bytes): OUTDIR/data-<16 hex>.h5, the hash
 * covering the image files' paths, sizes and modification times, the
 * classes, the image shape (H, W, C) and the seed of the stored order. Rank 0
 * converts when the file is missing (images resized to the model's input,
 * stored in a seeded shuffled order as `convert images` does) and says
 * whether it converted or reused it (when verbose); a rank that then cannot
 * see the file (a node-local output folder) converts its own copy, written
 * under a temporary name and renamed, so copies never mix. Collective:
 * every rank gets an error from any rank. */
int cli_class_folder_data(const char *dir, const nn_shape *model_in, uint64_t seed,
                          const char *outdir, int verbose, nn_dist *d, char *h5, size_t len,
                          nn_error *e);

#endif
