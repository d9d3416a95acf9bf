/* Keras-style progress output on rank 0: a live bar on a terminal, one line
 * per epoch always. */
#ifndef NNTRAIN_PROGRESS_H
#define NNTRAIN_PROGRESS_H

#include <stdio.h>

typedef struct nn_progress {
    FILE *f;
    int bar;             /* draw the live bar */
    int epoch, epochs;
    long steps;
    double t0, last_draw;
} nn_progress;

void nn_progress_begin(nn_progress *p, FILE *f, int bar, int epoch, int epochs, long steps);
/* names/vals: running means of the epoch so far. Redraws at most 10 times/s. */
void nn_progress_step(nn_progress *p, long step, const char *const *names,
                      const double *vals, int n);
/* "Epoch 3/5 - 12s 6ms/step - loss: 0.3012 - ..." */
void nn_progress_end(nn_progress *p, double train_s, const char *const *names,
                     const double *vals, int n);

#endif
