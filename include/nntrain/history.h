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

struct nn_model;

/* Sets the columns of a run of m: "loss", m's metric names, then their val_
 * twins when has_val, then "lr" (the learning rate of the epoch's last step).
 * Keeps the rows (a resumed run's), moved to the columns of the same names
 * (NaN where a column is new). NN_ENOMEM leaves h as it was. */
int nn_history_columns(nn_history *h, const struct nn_model *m, int has_val, nn_error *e);
/* Index of the column called name, or -1. */
int nn_history_find(const nn_history *h, const char *name);
/* Appends one epoch's row of ncols values (copied); NN_ENOMEM leaves h as it was. */
int nn_history_add(nn_history *h, const double *row, nn_error *e);
void nn_history_free(nn_history *h);
int nn_history_write_csv(const nn_history *h, const char *path, nn_error *e);

#endif
