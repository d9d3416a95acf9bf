/* Confusion matrix, per-class accuracy and most confident mistakes from
 * predicted probabilities (include/nntrain/confusion.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nntrain/confusion.h"

int nn_class_count(int K)
{
    return K == 1 ? 2 : K;
}

int nn_pred_class(const float *p, int K, float *prob)
{
    if (K == 1) {
        int c = p[0] >= 0.5f;
        if (prob)
            *prob = c ? p[0] : 1.0f - p[0];
        return c;
    }
    int best = 0;
    for (int k = 1; k < K; k++)
        if (p[k] > p[best])
            best = k;
    if (prob)
        *prob = p[best];
    return best;
}

float nn_class_prob(const float *p, int K, int c)
{
    if (K == 1)
        return c ? p[0] : 1.0f - p[0];
    return p[c];
}

int nn_true_class(const float *y, int ydim, int K)
{
    int classes = nn_class_count(K);
    if (ydim == 1) {
        float v = y[0];
        if (!(v >= 0.0f && v < (float)classes) || v != floorf(v))
            return -1;
        return (int)v;
    }
    if (ydim == K && K > 1) {   /* one-hot (or soft) targets */
        int best = 0;
        for (int k = 1; k < K; k++)
            if (y[k] > y[best])
                best = k;
        return isfinite(y[best]) ? best : -1;
    }
    return -1;
}

int nn_confusion_compute(const float *probs, int K, const float *y, int ydim, size_t n,
                         nn_confusion *c, nn_error *e)
{
    memset(c, 0, sizeof *c);
    if (K < 1 || ydim < 1)
        return nn_err(e, NN_EINVAL, "confusion matrix: %d outputs and %d targets per sample",
                      K, ydim);
    int C = nn_class_count(K);
    if (ydim != 1 && ydim != K)
        return nn_err(e, NN_ESHAPE, "confusion matrix: %d targets per sample for a model with "
                      "%d outputs (expected class labels or one-hot rows of %d)", ydim, K, K);
    size_t *counts = calloc((size_t)C * (size_t)C, sizeof *counts);
    if (!counts)
        return nn_err(e, NN_ENOMEM, "out of memory for a %dx%d confusion matrix", C, C);
    for (size_t i = 0; i < n; i++) {
        const float *yi = y + i * (size_t)ydim;
        int t = nn_true_class(yi, ydim, K);
        if (t < 0) {
            free(counts);
            return nn_err(e, NN_EINVAL, "sample %zu: target %g is not a class of a model with "
                          "%d class%s (expected 0..%d)", i, (double)yi[0], C,
                          C == 1 ? "" : "es", C - 1);
        }
        int p = nn_pred_class(probs + i * (size_t)K, K, NULL);
        counts[(size_t)t * (size_t)C + (size_t)p]++;
    }
    c->nclasses = C;
    c->n = n;
    c->counts = counts;
    return NN_OK;
}

void nn_confusion_free(nn_confusion *c)
{
    free(c->counts);
    memset(c, 0, sizeof *c);
}

size_t nn_confusion_true_count(const nn_confusion *c, int t)
{
    size_t s = 0;
    for (int p = 0; p < c->nclasses; p++)
        s += c->counts[(size_t)t * (size_t)c->nclasses + (size_t)p];
    return s;
}

size_t nn_confusion_pred_count(const nn_confusion *c, int p)
{
    size_t s = 0;
    for (int t = 0; t < c->nclasses; t++)
        s += c->counts[(size_t)t * (size_t)c->nclasses + (size_t)p];
    return s;
}

static size_t diag(const nn_confusion *c, int k)
{
    return c->counts[(size_t)k * (size_t)c->nclasses + (size_t)k];
}

double nn_confusion_class_accuracy(const nn_confusion *c, int t)
{
    size_t n = nn_confusion_true_count(c, t);
    return n ? (double)diag(c, t) / (double)n : NAN;
}

double nn_confusion_class_precision(const nn_confusion *c, int p)
{
    size_t n = nn_confusion_pred_count(c, p);
    return n ? (double)diag(c, p) / (double)n : NAN;
}

double nn_confusion_accuracy(const nn_confusion *c)
{
    size_t s = 0;
    for (int k = 0; k < c->nclasses; k++)
        s += diag(c, k);
    return c->n ? (double)s / (double)c->n : NAN;
}

size_t nn_hardest_mistakes(const float *probs, int K, const float *y, int ydim, size_t n,
                           int truth, int pred, nn_mistake *out, size_t max)
{
    size_t got = 0;
    if (!max)
        return 0;
    for (size_t i = 0; i < n; i++) {
        int t = nn_true_class(y + i * (size_t)ydim, ydim, K);
        float pr;
        int p = nn_pred_class(probs + i * (size_t)K, K, &pr);
        if (t < 0 || t == p || (truth >= 0 && t != truth) || (pred >= 0 && p != pred))
            continue;
        /* Insert into the sorted top list; equal probabilities keep index
         * order because later samples go after the earlier ones. */
        size_t at = got;
        while (at > 0 && out[at - 1].prob < pr)
            at--;
        if (at >= max)
            continue;
        size_t last = got < max ? got : max - 1;
        memmove(out + at + 1, out + at, (last - at) * sizeof *out);
        out[at] = (nn_mistake){.index = i, .truth = t, .pred = p, .prob = pr};
        if (got < max)
            got++;
    }
    return got;
}

void nn_most_confident(const float *probs, int K, const float *y, int ydim, size_t n,
                       size_t *best, float *prob)
{
    int C = nn_class_count(K);
    for (int c = 0; c < C; c++) {
        best[c] = n;
        if (prob)
            prob[c] = NAN;
    }
    for (size_t i = 0; i < n; i++) {
        int t = nn_true_class(y + i * (size_t)ydim, ydim, K);
        if (t < 0)
            continue;
        float p = nn_class_prob(probs + i * (size_t)K, K, t);
        if (best[t] == n || p > nn_class_prob(probs + best[t] * (size_t)K, K, t)) {
            best[t] = i;
            if (prob)
                prob[t] = p;
        }
    }
}
