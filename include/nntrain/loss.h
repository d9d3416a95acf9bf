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
extern const char *const nn_loss_classes[];  /* Keras classes: "MeanSquaredError", ... */
int nn_loss_parse(const char *name, nn_loss *out);  /* 0 or -1; accepts aliases */
/* A Keras loss class (BinaryCrossentropy) or R function (loss_binary_crossentropy)
 * for compile(loss=Class(...)); 0 or -1. */
int nn_loss_parse_class(const char *name, nn_loss *out);
/* 1 for the cross-entropies, the losses that take from_logits. */
int nn_loss_takes_logits(nn_loss k);

/* What the model's output is to nn_loss_eval (its `fused` argument). */
enum {
    NN_OUT_PROBS = 0,    /* probabilities (or regression outputs) */
    NN_OUT_FUSED = 1,    /* probabilities of a final softmax/sigmoid whose
                            derivative the loss takes over */
    NN_OUT_LOGITS = 2    /* logits: the loss was compiled with from_logits=True */
};

/* Sum over the B samples of the per-sample loss (MSE/MAE are means over the
 * K outputs, as Keras). out (B, K) holds the model's outputs. If d != NULL it
 * receives scale * dLoss/d(...):
 *   NN_OUT_FUSED: w.r.t. the logits of the final softmax (CCE/SCCE) or
 *                 sigmoid (BCE): scale * (p - y), stable for saturated outputs;
 *   NN_OUT_PROBS: w.r.t. out itself (probabilities clipped to
 *                 [1e-7, 1-1e-7] as Keras does);
 *   NN_OUT_LOGITS: out are logits: log-sum-exp / softplus forms, no clipping,
 *                 the gradient w.r.t. out (softmax(z) sum(y) - y, or
 *                 (sigmoid(z) - y) / K), finite for any finite logits.
 * Training passes scale = 1 / B_global so the summed gradient is the mean. */
double nn_loss_eval(nn_loss k, const float *out, const float *y, int B, int K,
                    int ydim, int fused, float scale, float *d);
/* out (B, K) in place: the logits of a from_logits loss k become the
 * probabilities its loss implies (softmax for CCE/SCCE, sigmoid for BCE). */
void nn_loss_logits_to_probs(nn_loss k, float *out, int B, int K);

typedef enum {
    NN_MET_BINARY_ACC = 0,   /* binary_accuracy: round(p) == y, threshold .5 */
    NN_MET_CAT_ACC,          /* categorical_accuracy: argmax(p) == argmax(y) or label */
    NN_MET_MSE,
    NN_MET_MAE,
    NN_MET_AUC,              /* AUC(): ROC, 200 thresholds, trapezoids */
    NN_MET_PRECISION,        /* Precision(): TP / (TP + FP), p > 0.5 */
    NN_MET_RECALL,           /* Recall(): TP / (TP + FN), p > 0.5 */
    NN_MET_COUNT
} nn_metric;

#define NN_AUC_THRESHOLDS 200   /* Keras's num_thresholds default */
/* The doubles all of a model's metrics may accumulate together. */
#define NN_METRIC_MAX_SUMS 1024

/* Keras's name of a metric in logs and history ("auc", "precision", ...);
 * NULL for the accuracies and errors, which keep the name the user wrote. */
const char *nn_metric_log_name(nn_metric m);

/* Resolves a metric name as Keras does: "accuracy"/"acc" becomes binary or
 * categorical accuracy depending on the loss and K; "AUC"/"auc",
 * "Precision"/"precision", "Recall"/"recall" name the count-based metrics.
 * Returns 0 or -1. */
int nn_metric_parse(const char *name, nn_loss loss, int K, nn_metric *out);

/* A metric accumulates sums over an epoch (or an evaluation), which the
 * ranks add up (one allreduce), and its value comes from the reduced sums
 * alone, so it is the same for any number of ranks: one sum over samples
 * (accuracies: the number correct; mse/mae: per-sample means) divided by
 * the sample count, or counts (AUC: TP and FP at each threshold, then the
 * positives and negatives; precision: TP, FP; recall: TP, FN) that are not
 * means of per-batch values. Each output element is one binary prediction,
 * a label is positive when it is not 0 (Keras casts to bool); labels of
 * width 1 for K > 1 outputs are class indices, one-hot encoded.
 * logits: out holds logits (from_logits=True): binary accuracy thresholds
 * at 0 and the count-based metrics apply the sigmoid first, so they mean
 * what they mean on probabilities. */
int nn_metric_width(nn_metric m);
/* Adds the B samples' sums into acc[0 .. nn_metric_width(m)). */
void nn_metric_add(nn_metric m, const float *out, const float *y, int B, int K, int ydim,
                   int logits, double *acc);
/* The metric from its reduced sums and the number of samples n. */
double nn_metric_value(nn_metric m, const double *acc, double n);

/* The same over a model's list of metrics, their sums one after another. */
int nn_metrics_width(const nn_metric *ms, int n);
void nn_metrics_add(const nn_metric *ms, int n, const float *out, const float *y, int B,
                    int K, int ydim, int logits, double *acc);
/* val[0 .. n) from acc (nn_metrics_width doubles) and the sample count. */
void nn_metrics_values(const nn_metric *ms, int n, const double *acc, double count,
                       double *val);

#endif
