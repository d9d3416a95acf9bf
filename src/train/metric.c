/* Keras metrics: name resolution ("accuracy" means binary or categorical
 * accuracy depending on the loss and the output width, as Keras 2 decides)
 * and the sums the training loop reduces over ranks: one sum over samples
 * (divided by their number), or the counts of AUC, Precision and Recall
 * (Keras's stateful metrics, reset each epoch), from which the value is
 * computed once the counts of every rank are in. Targets follow loss.h:
 * (B, K), or (B, 1) holding class labels when K > 1. */
#include <math.h>
#include <string.h>

#include "nntrain/loss.h"

int nn_metric_parse(const char *name, nn_loss loss, int K, nn_metric *out)
{
    static const struct {
        const char *name;
        nn_metric m;
    } table[] = {
        {"binary_accuracy", NN_MET_BINARY_ACC},
        {"categorical_accuracy", NN_MET_CAT_ACC},
        {"sparse_categorical_accuracy", NN_MET_CAT_ACC},
        {"mse", NN_MET_MSE}, {"MSE", NN_MET_MSE}, {"mean_squared_error", NN_MET_MSE},
        {"mae", NN_MET_MAE}, {"MAE", NN_MET_MAE}, {"mean_absolute_error", NN_MET_MAE},
        {"AUC", NN_MET_AUC}, {"auc", NN_MET_AUC},
        {"Precision", NN_MET_PRECISION}, {"precision", NN_MET_PRECISION},
        {"Recall", NN_MET_RECALL}, {"recall", NN_MET_RECALL},
    };
    if (!name)
        return -1;
    if (!strcmp(name, "accuracy") || !strcmp(name, "acc")) {
        /* Keras 2: a single output or binary_crossentropy -> binary accuracy;
         * otherwise categorical (sparse when the targets are labels). */
        *out = (K == 1 || loss == NN_LOSS_BCE) ? NN_MET_BINARY_ACC : NN_MET_CAT_ACC;
        return 0;
    }
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (!strcmp(name, table[i].name)) {
            *out = table[i].m;
            return 0;
        }
    return -1;
}

/* Index of the first maximum (argmax as numpy/TF break ties); NaNs never win
 * unless every value is NaN, then 0. */
static int argmax(const float *x, int K)
{
    int best = 0;
    for (int j = 1; j < K; j++)
        if (x[j] > x[best] || (x[best] != x[best] && x[j] == x[j]))
            best = j;
    return best;
}

const char *nn_metric_log_name(nn_metric m)
{
    return m == NN_MET_AUC ? "auc" : m == NN_MET_PRECISION ? "precision"
                                   : m == NN_MET_RECALL ? "recall" : NULL;
}

int nn_metric_width(nn_metric m)
{
    switch (m) {
    case NN_MET_AUC: return 2 * (NN_AUC_THRESHOLDS + 1);
    case NN_MET_PRECISION:
    case NN_MET_RECALL: return 2;
    default: return 1;
    }
}

/* Keras's AUC thresholds as float32: -1e-7, i / 199 (i = 1 .. 198), 1 + 1e-7. */
static float auc_threshold(int i)
{
    if (i == 0)
        return (float)(0.0 - 1e-7);
    if (i == NN_AUC_THRESHOLDS - 1)
        return (float)(1.0 + 1e-7);
    return (float)((double)i / (NN_AUC_THRESHOLDS - 1));
}

/* How many thresholds p exceeds (p > t_i holds for i below it): 0 .. 200. */
static int thresholds_below(float p)
{
    int lo = 0, hi = NN_AUC_THRESHOLDS;   /* t_i < p for i < lo, not for i >= hi */
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (p > auc_threshold(mid))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Output j of sample b as a probability, and whether its label is positive. */
static float prob(const float *out, int b, int j, int K, int logits)
{
    float z = out[(size_t)b * (size_t)K + (size_t)j];
    if (!logits)
        return z;
    return z >= 0 ? 1.0f / (1.0f + expf(-z)) : expf(z) / (1.0f + expf(z));
}

static int positive(const float *y, int b, int j, int K, int ydim)
{
    if (ydim == K)
        return y[(size_t)b * (size_t)K + (size_t)j] != 0;
    return K == 1 ? y[b] != 0 : (double)y[b] == (double)j;   /* labels: one-hot */
}

/* AUC: acc[k] / acc[201 + k] count the positive / negative predictions that
 * exceed exactly k thresholds; precision/recall: acc = TP, FP or FN. */
static void add_counts(nn_metric m, const float *out, const float *y, int B, int K, int ydim,
                       int logits, double *acc)
{
    for (int b = 0; b < B; b++)
        for (int j = 0; j < K; j++) {
            float p = prob(out, b, j, K, logits);
            int pos = positive(y, b, j, K, ydim);
            if (m == NN_MET_AUC) {
                acc[(pos ? 0 : NN_AUC_THRESHOLDS + 1) + thresholds_below(p)] += 1;
                continue;
            }
            int pred = p > 0.5f;
            if (pred && pos)
                acc[0] += 1;
            else if (m == NN_MET_PRECISION ? pred && !pos : !pred && pos)
                acc[1] += 1;
        }
}

/* Trapezoids under the ROC curve through the 200 thresholds. */
static double auc_value(const double *acc)
{
    const double *ph = acc, *nh = acc + NN_AUC_THRESHOLDS + 1;
    double P = 0, N = 0;
    for (int k = 0; k <= NN_AUC_THRESHOLDS; k++) {
        P += ph[k];
        N += nh[k];
    }
    /* TP_i, FP_i: predictions exceeding threshold i, i.e. more than i */
    double tp = P, fp = N, auc = 0, tpr0 = 0, fpr0 = 0;
    for (int i = 0; i < NN_AUC_THRESHOLDS; i++) {
        tp -= ph[i];
        fp -= nh[i];
        double tpr = P > 0 ? tp / P : 0, fpr = N > 0 ? fp / N : 0;
        if (i > 0)
            auc += (fpr0 - fpr) * (tpr0 + tpr) / 2;
        tpr0 = tpr;
        fpr0 = fpr;
    }
    return auc;
}

void nn_metric_add(nn_metric m, const float *out, const float *y, int B, int K, int ydim,
                   int logits, double *acc)
{
    if (B <= 0 || K <= 0)
        return;
    if (ydim != 1 && ydim != K) {
        acc[0] = NAN;
        return;
    }
    switch (m) {
    case NN_MET_BINARY_ACC: {
        double sum = 0;
        float cut = logits ? 0.0f : 0.5f;   /* sigmoid(z) > .5 exactly when z > 0 */
        for (int b = 0; b < B; b++) {
            int hit = 0;
            for (int j = 0; j < K; j++) {
                float t = ydim == 1 ? y[b] : y[(size_t)b * (size_t)K + (size_t)j];
                float p = out[(size_t)b * (size_t)K + (size_t)j] > cut ? 1.0f : 0.0f;
                hit += p == t;
            }
            sum += (double)hit / K;
        }
        acc[0] += sum;
        return;
    }
    case NN_MET_CAT_ACC: {
        double sum = 0;
        int labels = ydim == 1 && K > 1;
        for (int b = 0; b < B; b++) {
            int a = argmax(out + (size_t)b * (size_t)K, K);
            if (labels)
                sum += (double)y[b] == (double)a;   /* a label 2.5 or 12 never matches */
            else
                sum += argmax(y + (size_t)b * (size_t)K, K) == a;
        }
        acc[0] += sum;
        return;
    }
    case NN_MET_MSE:
        acc[0] += nn_loss_eval(NN_LOSS_MSE, out, y, B, K, ydim, 0, 1.0f, NULL);
        return;
    case NN_MET_MAE:
        acc[0] += nn_loss_eval(NN_LOSS_MAE, out, y, B, K, ydim, 0, 1.0f, NULL);
        return;
    case NN_MET_AUC:
    case NN_MET_PRECISION:
    case NN_MET_RECALL:
        add_counts(m, out, y, B, K, ydim, logits, acc);
        return;
    default:
        acc[0] = NAN;
        return;
    }
}

double nn_metric_value(nn_metric m, const double *acc, double n)
{
    switch (m) {
    case NN_MET_AUC:
        return auc_value(acc);
    case NN_MET_PRECISION:
    case NN_MET_RECALL:   /* 0 when nothing was predicted / labelled positive, as Keras */
        return acc[0] + acc[1] > 0 ? acc[0] / (acc[0] + acc[1]) : 0.0;
    default:
        return n > 0 ? acc[0] / n : NAN;
    }
}

int nn_metrics_width(const nn_metric *ms, int n)
{
    int w = 0;
    for (int i = 0; i < n; i++)
        w += nn_metric_width(ms[i]);
    return w;
}

void nn_metrics_add(const nn_metric *ms, int n, const float *out, const float *y, int B,
                    int K, int ydim, int logits, double *acc)
{
    for (int i = 0; i < n; i++) {
        nn_metric_add(ms[i], out, y, B, K, ydim, logits, acc);
        acc += nn_metric_width(ms[i]);
    }
}

void nn_metrics_values(const nn_metric *ms, int n, const double *acc, double count,
                       double *val)
{
    for (int i = 0; i < n; i++) {
        val[i] = nn_metric_value(ms[i], acc, count);
        acc += nn_metric_width(ms[i]);
    }
}
