/* The attribution executor (attr_exec.c), private to attribution.c: forward
 * passes that keep every layer's output and, for layers with an activation,
 * its pre-activation z; backward passes from one class's score down to the
 * input (dx of the first layer, which training skips), with DeepExplain's
 * modified derivatives of the non-linearities for eLRP and DeepLIFT. Rows
 * are split over the model's compute threads as nn_model_forward does. */
#ifndef NNTRAIN_TRAIN_ATTR_EXEC_H
#define NNTRAIN_TRAIN_ATTR_EXEC_H

#include "nntrain/model.h"

typedef enum { ATTR_GRAD = 0, ATTR_RULE_ELRP, ATTR_RULE_DEEPLIFT } attr_rule;

/* How a layer's activation is handled (attr_exec.kind). */
enum { ATTR_PLAIN = 0, ATTR_FUSED, ATTR_PURE };

typedef struct attr_exec {
    nn_model *m;
    int B, T, L;
    unsigned char *kind;    /* (L) ATTR_* */
    nn_act *act;            /* (L) the layer's activation (l->act before) */
    int *saved;             /* (3 L) act, dy_is_preact, mask_relu to restore */
    int applied;            /* the layers run as attribution needs: restore them */
    float **y, **z;         /* (L) (B, out): outputs; pre-activations of
                               fused layers (pure ones read their input) */
    float **ry, **rz;       /* the same for DeepLIFT's reference pass */
    float **dy;             /* (L) (B, out): dL/d(output) */
    float *dx;              /* (B, in): dL/d(input) */
    float *scratch;         /* (B, widest): a layer's dx, rows at stride widest */
    size_t widest;          /* widest layer input */
    float **work;           /* (T) work_bytes each */
    size_t work_bytes;
    float **grads;          /* (T) nparams each: the layers' weight gradients, unused */
    int prob_out;           /* the output is a probability (softmax/sigmoid,
                               or from_logits) */
    int logit;              /* the score is the last layer's z */
    int K;                  /* output units */
    float epsilon;          /* eLRP */
} attr_exec;

/* Plans the model for B rows and sets its layers up for attribution (their
 * activations run linear; attr_exec applies them). attr_close restores the
 * model. */
int attr_open(attr_exec *ax, nn_model *m, int B, nn_error *e);
void attr_close(attr_exec *ax);
/* Allocates the reference buffers (DeepLIFT). */
int attr_want_ref(attr_exec *ax, nn_error *e);

/* Output unit and sign of class c's score (a single sigmoid's class 0 is the
 * negated logit). */
void attr_target(const attr_exec *ax, int c, int *unit, float *sign);

/* x (n, in), n <= B: forward into y/z (ref: into ry/rz). */
void attr_forward(attr_exec *ax, const float *x, int n, int ref);
/* Row r's score for class c after attr_forward. */
float attr_score(const attr_exec *ax, int r, int c);
/* The model's output row r (probabilities for from_logits) into p (K). */
void attr_output(const attr_exec *ax, int r, float *p);
/* After attr_forward (and for DeepLIFT the reference pass): backward from
 * the scores of classes cls (n) under rule, through the layers above stop
 * (-1: all, dL/dx into ax->dx; else dL/d(output of stop) is ax->dy[stop]). */
void attr_backward(attr_exec *ax, const float *x, int n, const int *cls, attr_rule rule,
                   int stop);

#endif
