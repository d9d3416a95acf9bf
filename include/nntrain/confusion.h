/* Confusion matrix, per-class accuracy and the most confident mistakes of a
 * classifier, computed from nn_predict outputs (probabilities, one row of K
 * per sample) and the dataset's targets. Pure functions (no I/O, no MPI), so
 * `nntrain evaluate` and `analyze` share them and the unit tests check them.
 *
 * Classes: K softmax outputs stand for K classes; one sigmoid output (K == 1)
 * for two, class 1 when p >= 0.5 (Keras's binary_accuracy threshold). A
 * target is a class index (ydim == 1, K > 1), a one-hot row (ydim == K > 1:
 * its argmax) or a 0/1 value (K == 1). */
#ifndef NNTRAIN_CONFUSION_H
#define NNTRAIN_CONFUSION_H

#include <stddef.h>

#include "nntrain/error.h"

/* Classes that K output columns stand for: K, or 2 when K == 1. */
int nn_class_count(int K);

/* Predicted class of one output row p (K): the argmax (the first on ties), or
 * p[0] >= 0.5 for K == 1. *prob (may be NULL) receives the probability the
 * model gives that class (p[c], or 1 - p[0] for class 0 of a sigmoid). */
int nn_pred_class(const float *p, int K, float *prob);

/* True class of one target row y (ydim), or -1 when it is not a class of a
 * K-output model (not an integer in 0..classes-1, or ydim fits no rule). */
int nn_true_class(const float *y, int ydim, int K);

/* The probability the model gives class c for output row p (K). */
float nn_class_prob(const float *p, int K, int c);

typedef struct nn_confusion {
    int nclasses;
    size_t n;          /* samples counted */
    size_t *counts;    /* (nclasses, nclasses): [true * nclasses + predicted] */
} nn_confusion;

/* Counts n samples: probs (n, K), y (n, ydim). A target that is not a class
 * is NN_EINVAL naming the sample. c is allocated here (nn_confusion_free);
 * on error it is left empty. */
int nn_confusion_compute(const float *probs, int K, const float *y, int ydim, size_t n,
                         nn_confusion *c, nn_error *e);
void nn_confusion_free(nn_confusion *c);

/* Samples of true class t (row sum), samples predicted as p (column sum). */
size_t nn_confusion_true_count(const nn_confusion *c, int t);
size_t nn_confusion_pred_count(const nn_confusion *c, int p);
/* Correct / samples of class t (recall; "per-class accuracy"); NAN if none. */
double nn_confusion_class_accuracy(const nn_confusion *c, int t);
/* Correct / predicted as p (precision); NAN if nothing was predicted p. */
double nn_confusion_class_precision(const nn_confusion *c, int p);
/* Trace / n; NAN if n == 0. */
double nn_confusion_accuracy(const nn_confusion *c);

typedef struct nn_mistake {
    size_t index;      /* sample */
    int truth, pred;   /* classes */
    float prob;        /* the model's probability of pred */
} nn_mistake;

/* The wrong predictions the model is most sure of: up to max of them, with
 * true class `truth` and predicted class `pred` (-1: any), into out, highest
 * prob first (ties: lower index first). truth = 0, pred = 1 of a binary
 * model are its false positives; truth = 1, pred = 0 its false negatives.
 * Samples whose target is not a class are skipped. Returns the count. */
size_t nn_hardest_mistakes(const float *probs, int K, const float *y, int ydim, size_t n,
                           int truth, int pred, nn_mistake *out, size_t max);

/* Per class t, the sample of true class t with the highest probability of t
 * (ties: lower index); best[t] = n when class t has no sample, and prob[t]
 * (may be NULL) gets that probability. best and prob hold nn_class_count(K). */
void nn_most_confident(const float *probs, int K, const float *y, int ydim, size_t n,
                       size_t *best, float *prob);

#endif
