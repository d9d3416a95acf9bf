/* The per-epoch history of a run (Keras History.history: one row per epoch,
 * a column per loss/metric and its val_ twin) and its CSV file. */
#ifndef NNTRAIN_HISTORY_H
#define NNTRAIN_HISTORY_H

#include "nntrain/error.h"

#define NN_HIST_MAX_COLS 20

typedef struct nn_history {
    int ncols;
    char cols[NN_HIST_MAX_COLS][48];   /* "loss", "accuracy", "val_loss", ... */
    int epochs;
    double *vals;                      /* (epochs, ncols) */
    int cap;
} nn_history;


void nn_history_free(nn_history *h);
int nn_history_write_csv(const nn_history *h, const char *path, nn_error *e);

#endif
