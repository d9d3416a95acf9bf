/* Keras losses: per-sample values summed over the batch (in double) and their
 * gradients, either w.r.t. the model's output or, fused with the final
 * softmax/sigmoid, w.r.t. its logits (p - y: no 1/p blow-up when saturated).
 *
 * Keras details kept here:
 *  - MSE/MAE and BCE are means over the K outputs of a sample (Keras reduces
 *    the last axis with a mean); CCE/SCCE sum over classes.
 *  - Cross-entropies clip probabilities to [1e-7, 1 - 1e-7] in float32, as
 *    Keras clips with K.epsilon() in the output's dtype; the unfused gradient
 *    is zero where the clip is active (the gradient of clip_by_value).
 *  - CCE first divides each output row by its sum (a no-op after softmax).
 *  - y of width 1 with K > 1 holds class indices for CCE/SCCE (implicit
 *    to_categorical); for MSE/MAE/BCE it is broadcast over the K outputs.
 *  - from_logits=True (NN_OUT_LOGITS): no clipping, as TensorFlow's
 *    softmax/sigmoid cross-entropy with logits: log-sum-exp and
 *    max(z, 0) - z t + log1p(e^-|z|), exact for any finite logits.
 * Targets are validated by the data layer (labels in [0, K), ydim 1 or K).
 * Nothing here reads out of bounds if they are not: a label outside [0, K)
 * counts as the largest clipped loss, -log(1e-7), with a zero gradient, and a
 * ydim that is neither 1 nor K (or SCCE with ydim != 1) returns NaN, which
 * the training loop's NaN check reports. */
#include <math.h>
#include <string.h>

#include "nntrain/activation.h"
#include "nntrain/loss.h"

const char *const nn_loss_names[] = {
    "mean_squared_error", "mean_absolute_error", "binary_crossentropy",
    "categorical_crossentropy", "sparse_categorical_crossentropy", NULL};

const char *const nn_loss_classes[] = {
    "MeanSquaredError", "MeanAbsoluteError", "BinaryCrossentropy",
    "CategoricalCrossentropy", "SparseCategoricalCrossentropy", NULL};

int nn_loss_parse_class(const char *name, nn_loss *out)
{
    if (!name)
        return -1;
    for (int i = 0; i < NN_LOSS_COUNT; i++)
        if (!strcmp(name, nn_loss_classes[i]) ||
            (!strncmp(name, "loss_", 5) && !strcmp(name + 5, nn_loss_names[i]))) {
            *out = (nn_loss)i;
            return 0;
        }
    return -1;
}

int nn_loss_takes_logits(nn_loss k)
{
    return k == NN_LOSS_BCE || k == NN_LOSS_CCE || k == NN_LOSS_SCCE;
}

int nn_loss_parse(const char *name, nn_loss *out)
{
    static const struct {
        const char *name;
        nn_loss k;
    } alias[] = {
        {"mse", NN_LOSS_MSE}, {"MSE", NN_LOSS_MSE}, {"mae", NN_LOSS_MAE},
        {"MAE", NN_LOSS_MAE},
    };
    if (!name)
        return -1;
    for (int i = 0; i < NN_LOSS_COUNT; i++)
        if (!strcmp(name, nn_loss_names[i])) {
            *out = (nn_loss)i;
            return 0;
        }
    for (size_t i = 0; i < sizeof alias / sizeof alias[0]; i++)
        if (!strcmp(name, alias[i].name)) {
            *out = alias[i].k;
            return 0;
        }
    return -1;
}

#define EPS_LO 1e-7f
#define EPS_HI (1.0f - 1e-7f)   /* 0.99999988f, as float32 rounds it in Keras */

static float clipf(float p)
{
    return p < EPS_LO ? EPS_LO : p > EPS_HI ? EPS_HI : p;
}

static int clipped(float p)
{
    return !(p >= EPS_LO && p <= EPS_HI);
}

/* y (B, ydim) element for output j of sample b, broadcasting ydim == 1. */
static double target(const float *y, int b, int j, int K, int ydim)
{
    return ydim == 1 ? y[b] : y[(size_t)b * (size_t)K + (size_t)j];
}

/* MSE or MAE: mean over K of (o - t)^2 or |o - t|. */
static double regression(int mae, const float *out, const float *y, int B, int K,
                         int ydim, float scale, float *d)
{
    double sum = 0;
    for (int b = 0; b < B; b++) {
        const float *o = out + (size_t)b * (size_t)K;
        double s = 0;
        for (int j = 0; j < K; j++) {
            double r = (double)o[j] - target(y, b, j, K, ydim);
            s += mae ? fabs(r) : r * r;
            if (d) {
                double g = mae ? (r > 0) - (r < 0) : 2.0 * r;
                d[(size_t)b * (size_t)K + (size_t)j] = (float)(scale * g / K);
            }
        }
        sum += s / K;
    }
    return sum;
}

/* BCE: mean over K of -(t log p + (1 - t) log(1 - p)), p clipped; on logits
 * z: softplus(z) - t z = max(z, 0) - t z + log1p(e^-|z|). */
static double binary_ce(const float *out, const float *y, int B, int K, int ydim,
                        int fused, float scale, float *d)
{
    double sum = 0;
    for (int b = 0; b < B; b++) {
        const float *o = out + (size_t)b * (size_t)K;
        double s = 0;
        for (int j = 0; j < K; j++) {
            double t = target(y, b, j, K, ydim);
            if (fused == NN_OUT_LOGITS) {
                double z = o[j];
                s += fmax(z, 0.0) - t * z + log1p(exp(-fabs(z)));
                if (d) {
                    double p = z >= 0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z));
                    d[(size_t)b * (size_t)K + (size_t)j] = (float)(scale * (p - t) / K);
                }
                continue;
            }
            double p = clipf(o[j]);
            s -= t * log(p) + (1.0 - t) * log(1.0 - p);
            if (!d)
                continue;
            double g;
            if (fused)
                g = (double)o[j] - t;
            else
                g = clipped(o[j]) ? 0.0 : -t / p + (1.0 - t) / (1.0 - p);
            d[(size_t)b * (size_t)K + (size_t)j] = (float)(scale * g / K);
        }
        sum += s / K;
    }
    return sum;
}

/* CCE/SCCE on logits z for one sample: sum_j t_j (lse(z) - z_j); gradient
 * softmax(z) sum(t) - t. */
static double cat_ce_logits(const float *z, const float *t, int label, int K, float scale,
                            float *d)
{
    double mx = z[0], S = 0, tsum = 0, loss = 0;
    for (int j = 1; j < K; j++)
        if (z[j] > mx)
            mx = z[j];
    for (int j = 0; j < K; j++)
        S += exp((double)z[j] - mx);
    double lse = mx + log(S);
    for (int j = 0; j < K; j++) {
        double tj = t ? t[j] : j == label;
        tsum += tj;
        if (tj != 0)
            loss += tj * (lse - z[j]);
    }
    if (d)
        for (int j = 0; j < K; j++)
            d[j] = (float)(scale * (exp((double)z[j] - lse) * tsum - (t ? t[j] : j == label)));
    return loss;
}

/* CCE/SCCE for one sample. t: one-hot/soft row (K) or NULL with label lab. */
static double cat_ce_row(const float *o, const float *t, double lab, int K, int fused,
                         float scale, float *d)
{
    int label = -1;
    if (!t) {
        if (!(lab >= 0 && lab < K && lab == floor(lab))) {
            if (d)
                memset(d, 0, (size_t)K * sizeof *d);
            return -log((double)EPS_LO);
        }
        label = (int)lab;
    }
    if (fused == NN_OUT_LOGITS)
        return cat_ce_logits(o, t, label, K, scale, d);
    double S = 0;
    for (int j = 0; j < K; j++)
        S += o[j];
    if (!(S > 0) || !isfinite(S))
        S = 1;   /* Keras would produce NaN/garbage; keep the clip meaningful */
    double loss = 0, sum_gq = 0;
    for (int j = 0; j < K; j++) {
        double tj = t ? t[j] : j == label;
        if (tj == 0)
            continue;
        loss -= tj * log(clipf((float)(o[j] / S)));
    }
    if (!d)
        return loss;
    if (fused) {
        for (int j = 0; j < K; j++)
            d[j] = (float)(scale * ((double)o[j] - (t ? t[j] : j == label)));
        return loss;
    }
    /* dL/dq_j = -t_j / q_j where q = o / S is not clipped, else 0;
     * dL/do_i = (dL/dq_i - sum_j dL/dq_j q_j) / S. */
    for (int j = 0; j < K; j++) {
        double tj = t ? t[j] : j == label;
        float q = (float)(o[j] / S);
        double gq = (tj == 0 || clipped(q)) ? 0.0 : -tj / q;
        d[j] = (float)gq;
        sum_gq += gq * q;
    }
    for (int j = 0; j < K; j++)
        d[j] = (float)(scale * ((double)d[j] - sum_gq) / S);
    return loss;
}

void nn_loss_logits_to_probs(nn_loss k, float *out, int B, int K)
{
    if (B <= 0 || K <= 0 || !nn_loss_takes_logits(k))
        return;
    nn_act_forward(k == NN_LOSS_BCE ? NN_ACT_SIGMOID : NN_ACT_SOFTMAX, out, (size_t)B,
                   (size_t)K);
}

double nn_loss_eval(nn_loss k, const float *out, const float *y, int B, int K,
                    int ydim, int fused, float scale, float *d)
{
    if (B <= 0 || K <= 0)
        return 0;
    if (ydim != 1 && ydim != K)
        return NAN;
    switch (k) {
    case NN_LOSS_MSE:
    case NN_LOSS_MAE:
        return regression(k == NN_LOSS_MAE, out, y, B, K, ydim, scale, d);
    case NN_LOSS_BCE:
        return binary_ce(out, y, B, K, ydim, fused, scale, d);
    case NN_LOSS_CCE:
    case NN_LOSS_SCCE: {
        int labels = ydim == 1 && (K > 1 || k == NN_LOSS_SCCE);
        if (k == NN_LOSS_SCCE && !labels)
            return NAN;
        double sum = 0;
        for (int b = 0; b < B; b++) {
            size_t r = (size_t)b * (size_t)K;
            sum += cat_ce_row(out + r, labels ? NULL : y + r, labels ? y[b] : 0, K, fused,
                              scale, d ? d + r : NULL);
        }
        return sum;
    }
    default:
        return NAN;
    }
}
