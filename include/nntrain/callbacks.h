/* Keras callbacks that steer fit(): EarlyStopping, ReduceLROnPlateau,
 * CSVLogger and TerminateOnNaN (ModelCheckpoint is train's --checkpoint,
 * nn_spec_ckpt in model.h). Rules of tf.keras 2.11-2.15 (Keras 2), logs in
 * Keras 2's "Epoch 00012: ..." form.
 *
 * The decisions are pure functions of the epoch's history row, which is the
 * same on every rank (globally reduced), so every rank decides alike with no
 * communication. What changes during a run (best values, wait and cooldown
 * counters, the learning-rate factor, the best weights) is an nn_cb_state,
 * which checkpoints carry so that --resume continues bitwise. */
#ifndef NNTRAIN_CALLBACKS_H
#define NNTRAIN_CALLBACKS_H

#include <stddef.h>
#include <stdio.h>

#include "nntrain/error.h"

enum { NN_CB_AUTO = 0, NN_CB_MIN, NN_CB_MAX };

typedef struct nn_early_stopping {
    int enabled;
    char monitor[48];          /* "val_loss" */
    double min_delta;          /* 0; its absolute value is used, as tf.keras does */
    int patience;              /* 0 */
    int mode;                  /* NN_CB_AUTO: max when the monitor ends in acc,
                                  accuracy or auc */
    int has_baseline;
    double baseline;
    int restore_best_weights;  /* restored when it stops the run (Keras 2) */
    int start_from_epoch;      /* epochs not counted at the start */
    char where[160];           /* the spec call or option, for messages */
} nn_early_stopping;

typedef struct nn_reduce_lr {
    int enabled;
    char monitor[48];          /* "val_loss" */
    double factor;             /* 0.1; must be < 1 */
    int patience;              /* 10 */
    int mode;                  /* NN_CB_AUTO: max when the monitor contains "acc" */
    double min_delta;          /* 1e-4 */
    int cooldown;              /* 0 */
    double min_lr;             /* 0 */
    char where[160];
} nn_reduce_lr;

typedef struct nn_callbacks {
    nn_early_stopping es;
    nn_reduce_lr rlr;
    char csv_path[1024];       /* CSVLogger(filename): "" = none */
    char csv_sep[8];           /* "," */
    int csv_append;
    int terminate_on_nan;      /* accepted: nntrain always stops on a NaN/Inf loss */
} nn_callbacks;

/* The callbacks' run state (Keras's instance attributes). */
typedef struct nn_cb_state {
    int started;               /* 0: nn_cb_begin resets everything below */
    int stopped_epoch;         /* > 0: EarlyStopping stopped the run after this
                                  (1-based) epoch */
    char es_monitor[48], rlr_monitor[48];   /* what the counters are about */
    int es_wait, es_best_epoch;             /* best_epoch 0-based, -1: none */
    double es_best;
    float *best_weights;       /* (nbest) malloc'd; NULL until kept */
    size_t nbest;
    int rlr_wait, rlr_cooldown;
    double rlr_best;
    double lr_factor;          /* ReduceLROnPlateau's multiplier on the lr (1) */
} nn_cb_state;

/* What nn_cb_es_step asks of the caller (bits). */
enum { NN_CB_SNAPSHOT = 1, NN_CB_STOP = 2, NN_CB_RESTORE = 4 };

void nn_callbacks_defaults(nn_callbacks *c);
/* 1 when the monitor is maximised: mode, or Keras's "auto" rule of the
 * callback (es: EarlyStopping's, else ReduceLROnPlateau's). */
int nn_cb_maximize(const char *monitor, int mode, int es);
/* Every enabled callback's monitor is one of cols (ncols names); the error
 * lists those that exist. */
int nn_cb_check(const nn_callbacks *c, const char (*cols)[48], int ncols, nn_error *e);
/* Keras's on_train_begin for a fresh state (started == 0) or one about
 * another monitor; a resumed state is kept. */
void nn_cb_reset(const nn_callbacks *c, nn_cb_state *s);
/* EarlyStopping's on_epoch_end with the monitored value of 0-based epoch:
 * NN_CB_* bits (keep this epoch's weights; stop; restore the kept ones). */
int nn_cb_es_step(const nn_early_stopping *es, nn_cb_state *s, double current, int epoch);
/* ReduceLROnPlateau's on_epoch_end; base_lr is the optimizer's lr without the
 * factor. Returns 1 when it reduced s->lr_factor (*new_lr: the new lr). */
int nn_cb_rlr_step(const nn_reduce_lr *r, nn_cb_state *s, double base_lr, double current,
                   double *new_lr);
/* The CSVLogger row of 0-based epoch (Keras: "epoch" then the sorted column
 * names; the header when the file is empty), appended to c->csv_path. */
int nn_cb_csv_row(const nn_callbacks *c, const char (*cols)[48], int ncols, const double *row,
                  int epoch, nn_error *e);
/* Empties the CSVLogger file at the start of a fresh run (append=False). */
int nn_cb_csv_start(const nn_callbacks *c, nn_error *e);
void nn_cb_state_free(nn_cb_state *s);

#endif
