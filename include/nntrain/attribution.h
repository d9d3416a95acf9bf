/* Attribution maps (nntrain explain): which input values a model's output
 * for a class depends on, by DeepExplain's methods (Ancona et al., ICLR 2018)
 * and Grad-CAM (Selvaraju et al. 2017). The target is the class's score
 * before the model's final softmax or sigmoid (its logit); a single sigmoid
 * unit stands for two classes, class 1's score being the logit and class
 * 0's its negative; any other output unit is its own score. Gradients come
 * from the layers' own backward passes, carried down to the input; eLRP and
 * DeepLIFT replace the derivative of each relu, elu, sigmoid, tanh and
 * softplus by DeepExplain's ratios (its gradient override). */
#ifndef NNTRAIN_ATTRIBUTION_H
#define NNTRAIN_ATTRIBUTION_H

#include <stdint.h>

#include "nntrain/error.h"
#include "nntrain/model.h"

typedef enum {
    NN_ATTR_SALIENCY = 0,   /* |d score / dx| */
    NN_ATTR_GRAD_INPUT,     /* x * d score / dx */
    NN_ATTR_INTEGRATED,     /* integrated gradients: (x - x0) * mean of the
                               gradients at x0 + (x - x0) k / steps, k = 1..steps */
    NN_ATTR_ELRP,           /* epsilon-LRP: x * modified gradient, y / (z + eps sign z) */
    NN_ATTR_DEEPLIFT,       /* Rescale: (x - x0) * modified gradient, dy / dz
                               against the baseline's forward pass */
    NN_ATTR_OCCLUSION,      /* drop of the score when a window is zeroed,
                               divided over the window, averaged over windows */
    NN_ATTR_SHAPLEY,        /* Shapley value sampling over pixels */
    NN_ATTR_GRADCAM,        /* ReLU(sum_k w_k A_k), w = mean d score / dA,
                               bilinearly upsampled to the input */
    NN_ATTR_COUNT
} nn_attr_method;

/* "saliency", "grad_input", ... (DeepExplain's names); index = method. */
extern const char *const nn_attr_names[];
/* 0 and *out, or -1 for an unknown name. */
int nn_attr_parse(const char *name, nn_attr_method *out);

enum { NN_BASELINE_ZERO = 0, NN_BASELINE_MEAN, NN_BASELINE_VALUE };

typedef struct nn_attr_opts {
    int batch;              /* rows per pass (default 16) */
    int steps;              /* integrated gradients (100) */
    int baseline;           /* NN_BASELINE_*: zeros (DeepExplain's default),
                               each image's per-channel mean, or value */
    float baseline_value;
    float epsilon;          /* eLRP (1e-4, DeepExplain's) */
    int window, step;       /* occlusion: square window over every channel,
                               moved by step pixels (0: a twelfth of the
                               shorter side, at least 1; half a window) */
    int samples;            /* Shapley sampling: permutations (5) */
    int layer;              /* Grad-CAM: layer index, -1: the last Conv2D */
    uint64_t seed;          /* Shapley permutations: keyed by (seed, sample id) */
} nn_attr_opts;

void nn_attr_opts_defaults(nn_attr_opts *o);

/* The Grad-CAM layer: name's index (NULL: the last Conv2D). Its output must
 * be an image (H, W, C). */
int nn_attr_find_layer(const nn_model *m, const char *name, int *index, nn_error *e);

/* Classes a target may name: nn_class_count of the output size when the
 * output is a probability (softmax, or a sigmoid: 2 for one unit), else the
 * number of output units. */
int nn_attr_classes(const nn_model *m);

/* NN_OK when attributions can be computed for m: its input is not ids
 * (Embedding first), and every layer can carry a gradient. */
int nn_attr_check(const nn_model *m, nn_error *e);

/* Attributions of x (n, in) for classes cls (n; -1: the predicted class,
 * written back) by method into out (n, in) (NHWC for images; gradcam and
 * shapley give each channel 1/C of the pixel's value). probs (n, K, may be
 * NULL) receives the model's outputs (probabilities for from_logits
 * models, as nn_predict). ids (n, may be NULL: 0..n-1) key the Shapley
 * permutations. Uses the model's compute threads (one when it has a
 * BatchNormalization: its passes need the whole batch) and plans it for
 * o->batch rows. Errors: NN_EINVAL (class out of range, bad options),
 * NN_ENOMEM. The model's activations and fusion flags are restored. */
int nn_attribute(nn_model *m, nn_attr_method method, const nn_attr_opts *o, const float *x,
                 int *cls, const uint64_t *ids, int n, float *out, float *probs, nn_error *e);

#endif
