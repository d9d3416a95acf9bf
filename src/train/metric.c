/* Keras metrics: name resolution ("accuracy" means binary or categorical
 * accuracy depending on the loss and the output width, as Keras 2 decides)
 * and per-batch sums that the training loop reduces over ranks and divides by
 * the number of samples. Targets follow loss.h: (B, K), or (B, 1) holding
 * class labels when K > 1. */
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

double nn_metric_eval(nn_metric m, const float *out, const float *y, int B, int K,
                      int ydim)
{
    if (B <= 0 || K <= 0)
        return 0;
    if (ydim != 1 && ydim != K)
        return NAN;
    switch (m) {
    case NN_MET_BINARY_ACC: {
        double sum = 0;
        for (int b = 0; b < B; b++) {
            int hit = 0;
            for (int j = 0; j < K; j++) {
                float t = ydim == 1 ? y[b] : y[(size_t)b * (size_t)K + (size_t)j];
                float p = out[(size_t)b * (size_t)K + (size_t)j] > 0.5f ? 1.0f : 0.0f;
                hit += p == t;
            }
            sum += (double)hit / K;
        }
        return sum;
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
        return sum;
    }
    case NN_MET_MSE:
        return nn_loss_eval(NN_LOSS_MSE, out, y, B, K, ydim, 0, 1.0f, NULL);
    case NN_MET_MAE:
        return nn_loss_eval(NN_LOSS_MAE, out, y, B, K, ydim, 0, 1.0f, NULL);
    default:
        return NAN;
    }
}
