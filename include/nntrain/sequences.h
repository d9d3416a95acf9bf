/* Integer token sequences for text models (keras.preprocessing.sequence
 * pad_sequences semantics) and their converter into the HDF5 schema:
 * x float32 (N, maxlen) token ids, y int32 labels. */
#ifndef NNTRAIN_SEQUENCES_H
#define NNTRAIN_SEQUENCES_H

#include <stddef.h>
#include <stdint.h>

#include "nntrain/error.h"

typedef struct nn_seq_opts {
    int maxlen;          /* required */
    int pre_padding;     /* 1 (Keras default): zeros before the tokens */
    int pre_truncating;  /* 1 (Keras default): drop tokens from the start */
    int num_words;       /* > 0: tokens >= num_words become oov (2), as keras.datasets.imdb */
    int compress;
} nn_seq_opts;

void nn_seq_defaults(nn_seq_opts *o);

/* One sequence of n tokens into out (maxlen) floats. */
void nn_pad_sequence(const int32_t *tok, size_t n, const nn_seq_opts *o, float *out);

/* Reads "label tok tok ..." lines (whitespace separated, '#' comments,
 * labels 0..K-1) from text, and the optional test file, into out.h5
 * (/train, /test). Errors name file:line. Atomic output. */
int nn_convert_sequences(const char *text, const char *test_text, const char *out,
                         const nn_seq_opts *o, nn_error *e);

#endif
