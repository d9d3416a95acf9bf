/* Losses and metrics (Keras semantics). Targets y are (B, ydim): ydim == K for
 * one-hot / regression targets, ydim == 1 with K > 1 for integer class labels
 * (sparse_categorical_crossentropy, or categorical_crossentropy on labels,
 * which nntrain one-hot encodes implicitly as keras.utils.to_categorical). */
#ifndef NNTRAIN_LOSS_H
#define NNTRAIN_LOSS_H

#include "nntrain/error.h"

typedef enum {
    NN_LOSS_MSE = 0,   /* mean_squared_error, "mse" */
    NN_LOSS_MAE,       /* mean_absolute_error, "mae" */
    NN_LOSS_BCE,       /* binary_crossentropy */
    NN_LOSS_CCE,       /* categorical_crossentropy */
    NN_LOSS_SCCE,      /* sparse_categorical_crossentropy */
    NN_LOSS_COUNT
} nn_loss;

extern const char *const nn_loss_names[];   /* canonical Keras names */
int nn_loss_parse(const char *name, nn_loss *out);  /* 0 or -1; accepts aliases */

/* Sum over the B samples of the per-sample loss (MSE/MAE are means over the
 * K outputs, as Keras). out (B, K) holds the model's outputs (probabilities
 * for the cross-entropies). If d != NULL it receives scale * dLoss/d(...):
 *   fused == 1: w.r.t. the logits of the final softmax (CCE/SCCE) or sigmoid
 *               (BCE): scale * (p - y), stable for saturated outputs;
 *   fused == 0: w.r.t. out itself (probabilities clipped to [1e-7, 1-1e-7]
 *               as Keras does).
 * Training passes scale = 1 / B_global so the summed gradient is the mean. */
double nn_loss_eval(nn_loss k, const float *out, const float *y, int B, int K,
                    int ydim, int fused, float scale, float *d);

typedef enum {
    NN_MET_BINARY_ACC = 0,   /* binary_accuracy: round(p) == y, threshold .5 */
    NN_MET_CAT_ACC,          /* categorical_accuracy: argmax(p) == argmax(y) or label */
    NN_MET_MSE,
    NN_MET_MAE,
    NN_MET_COUNT
} nn_metric;

/* Resolves a metric name as Keras does: "accuracy"/"acc" becomes binary or
 * categorical accuracy depending on the loss and K. Returns 0 or -1. */
int nn_metric_parse(const char *name, nn_loss loss, int K, nn_metric *out);
/* Sum over samples (accuracy: number correct; mse/mae: sum of per-sample means). */
double nn_metric_eval(nn_metric m, const float *out, const float *y, int B, int K,
                      int ydim);

#endif
