/* Optimizers with Keras 2 semantics and defaults, one loop over the flat
 * parameter buffer. lr_t = lr / (1 + decay * iterations) (Keras time decay).
 *   SGD      lr=0.01 momentum=0 nesterov=False   v = m v - lr g; p += v
 *                                                (nesterov: p += m v - lr g)
 *   RMSprop  lr=0.001 rho=0.9 epsilon=1e-7       a = rho a + (1-rho) g^2;
 *                                                p -= lr g / (sqrt(a) + eps)
 *   Adam     lr=0.001 beta_1=0.9 beta_2=0.999 epsilon=1e-7
 *            t = it + 1; lr_t *= sqrt(1-b2^t) / (1-b1^t)
 *            m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= lr_t m / (sqrt(v) + eps)
 *   Adadelta lr=1.0 rho=0.95 epsilon=1e-7
 *            a = rho a + (1-rho) g^2; u = g sqrt(d + eps) / sqrt(a + eps)
 *            p -= lr u; d = rho d + (1-rho) u^2
 *   Nadam    lr=0.001 beta_1=0.9 beta_2=0.999 epsilon=1e-7 schedule_decay=0.004
 *            (tf.keras 2.x, Dozat 2016; torch.optim.NAdam(momentum_decay=0.004)):
 *            t = it + 1; mu_t = b1 (1 - 0.5 * 0.96^(sd t)); M_t = mu_1 ... mu_t
 *            m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2
 *            p -= lr ((1-mu_t) g / (1-M_t) + mu_{t+1} m / (1-M_t mu_{t+1}))
 *                 / (sqrt(v / (1-b2^t)) + eps)
 *            no time decay: tf.keras reuses "decay" for schedule_decay
 * A learning rate may be a schedule (lr_schedule.h) evaluated at the
 * iteration count. The learning rate of a step composes as tf.keras's
 * OptimizerV2 _decayed_lr, then Goyal et al. 2017 (scaling and warm-up
 * multiply whatever base rate the schedule gives):
 *   lr_t = schedule(it) / (1 + decay * it) * lr_scale     (schedule(it) = lr if none)
 * Gradient clipping, tf.keras >= 2.4 (OptimizerV2) semantics and order, on the
 * final (rank-averaged, regularized) gradient before the step:
 *   clipvalue        every element to [-clipvalue, clipvalue], first;
 *   clipnorm         each weight tensor (kernel, bias, gamma, ...) g *= c / max(|g|, c);
 *   global_clipnorm  all trainable tensors together by their joint norm;
 * clipnorm and global_clipnorm exclude each other (tf.keras refuses both).
 * Standalone Keras 2's clipnorm was the global one: use global_clipnorm. */
#ifndef NNTRAIN_OPTIM_H
#define NNTRAIN_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "nntrain/error.h"
#include "nntrain/lr_schedule.h"
#include "nntrain/spec.h"

typedef enum {
    NN_OPT_SGD = 0, NN_OPT_RMSPROP, NN_OPT_ADAM, NN_OPT_ADADELTA, NN_OPT_NADAM, NN_OPT_COUNT
} nn_optim_kind;

#define NN_OPTIM_MAX_SLOTS 2

typedef struct nn_optim {
    nn_optim_kind kind;
    double lr, momentum, rho, beta_1, beta_2, epsilon, decay;
    nn_lr_schedule sched;        /* kind NN_SCHED_NONE: lr is constant */
    double clipnorm, clipvalue, global_clipnorm;   /* 0: not set */
    int nesterov;
    double schedule_decay;       /* Nadam's momentum schedule (0.004) */
    double m_product;            /* Nadam: mu_1 ... mu_t, valid for t = */
    int64_t m_product_t;         /* this (0: recompute from iterations) */
    int64_t iterations;          /* steps taken (Keras "iterations") */
    /* A training run's schedule (nn_optim_schedule): linear scaling and
     * warm-up, Goyal et al. 2017. */
    double lr_target;            /* lr factor after the warm-up */
    double warmup_steps;         /* ramp length in steps; 0: none */
    double lr_scale;             /* this step's factor (nn_optim_begin_step);
                                    0 counts as 1 */
    double lr_factor;            /* ReduceLROnPlateau's (nn_optim_set_lr_factor);
                                    0 counts as 1 */
    double last_lr;              /* the learning rate of the last step taken
                                    (nn_optim_advance); 0 before any */
    size_t n;                    /* parameters */
    int nslots;
    float *slot[NN_OPTIM_MAX_SLOTS];  /* same offsets as params */
} nn_optim;

extern const char *const nn_optim_names[];   /* "SGD", "RMSprop", "Adam", "Adadelta",
                                                "Nadam" */

/* Sets kind and Keras defaults. */
void nn_optim_defaults(nn_optim *o, nn_optim_kind kind);
/* From a compile() value: a string ("rmsprop", "adam", ...) or a call
 * (RMSprop(lr=1e-4, decay=1e-6)); unknown names/options are errors that name
 * the location. learning_rate may be a schedule call; clipnorm, clipvalue and
 * global_clipnorm are keyword-only, -1 or None meaning not set (R keras and
 * Keras 2.2 write -1). Does not allocate. */
int nn_optim_from_value(nn_optim *o, const nn_call *where, const nn_value *v,
                        nn_error *e);
/* Allocates zeroed slots for n parameters. */
int nn_optim_alloc(nn_optim *o, size_t n, nn_error *e);
/* The learning-rate schedule of a training run with global batch `batch`
 * and steps_per_epoch steps an epoch: ref_batch > 0 scales lr by
 * batch / ref_batch (the linear scaling rule); warmup_epochs > 0 ramps up to
 * that linearly over warmup_epochs * steps_per_epoch steps (without scaling
 * up, from lr / those steps). Takes effect at the next nn_optim_begin_step. */
void nn_optim_schedule(nn_optim *o, size_t batch, int ref_batch, double warmup_epochs,
                       long steps_per_epoch);
/* Sets lr_scale for the run's step `step` (0-based over all its epochs; a
 * resumed run continues the count). Time decay counts iterations instead. */
void nn_optim_begin_step(nn_optim *o, long long step);
/* ReduceLROnPlateau: lr becomes lr * factor before decay and lr_scale. */
void nn_optim_set_lr_factor(nn_optim *o, double factor);
/* The learning rate the next step will use (schedule, decay, lr_scale and lr_factor
 * applied). */
double nn_optim_lr(const nn_optim *o);
/* One step over params[off .. off+len) of the flat buffers; call for each
 * trainable range, then nn_optim_advance once. */
void nn_optim_update(nn_optim *o, float *params, const float *grads, size_t off,
                     size_t len);
void nn_optim_advance(nn_optim *o);       /* last_lr = nn_optim_lr; iterations++ */
/* Whether any clipping option is set. */
int nn_optim_clips(const nn_optim *o);
/* Clipping one weight tensor's gradient g (n floats) in place: clipvalue,
 * then clipnorm by its own norm. */
void nn_optim_clip_tensor(const nn_optim *o, float *g, size_t n);
/* Sum of g's squares, in double (a global norm sums these in a fixed order:
 * the same on every rank and at any thread count). */
double nn_optim_sumsq(const float *g, size_t n);
/* global_clipnorm: scales g when norm (of all tensors) exceeds it. */
void nn_optim_clip_global(const nn_optim *o, float *g, size_t n, double norm);
/* "RMSprop(lr=0.001, rho=0.9, epsilon=1e-07, decay=0)"; a schedule and the
 * clipping options set are written out too. */
void nn_optim_describe(const nn_optim *o, char *buf, size_t len);
void nn_optim_free(nn_optim *o);

#endif
