/* Learning-rate schedules as tf.keras spells them (keras.optimizers.schedules),
 * given where a learning rate goes: Adam(learning_rate=ExponentialDecay(...)).
 * The step is the optimizer's iteration count, as in tf.keras; each is a pure
 * function of it (no state), so a resumed run continues where it stopped.
 *   ExponentialDecay(initial_learning_rate, decay_steps, decay_rate, staircase=False)
 *       lr0 * decay_rate^(s / decay_steps)            (floor(s / decay_steps) if staircase)
 *   PiecewiseConstantDecay(boundaries, values)
 *       values[0] for s <= b[0], values[i] for b[i-1] < s <= b[i], values[n] for s > b[n-1]
 *   CosineDecay(initial_learning_rate, decay_steps, alpha=0, name=None,
 *               warmup_target=None, warmup_steps=0)
 *       without warmup_target: s' = min(s, decay_steps);
 *           lr0 * ((1 - alpha) * 0.5 * (1 + cos(pi s' / decay_steps)) + alpha)
 *       with it: s' = min(s, warmup_steps + decay_steps);
 *           s' < warmup_steps: lr0 + (warmup_target - lr0) * s' / warmup_steps,
 *           else the cosine above from warmup_target at s' - warmup_steps
 *   InverseTimeDecay(initial_learning_rate, decay_steps, decay_rate, staircase=False)
 *       lr0 / (1 + decay_rate * s / decay_steps)       (floor(s / decay_steps) if staircase)
 *   PolynomialDecay(initial_learning_rate, decay_steps, end_learning_rate=0.0001,
 *                   power=1.0, cycle=False)
 *       D = decay_steps * max(1, ceil(s / decay_steps)) if cycle, else D = decay_steps and
 *       s = min(s, D); (lr0 - end) * (1 - s / D)^power + end
 * R keras's learning_rate_schedule_exponential_decay(...) and friends are the
 * same schedules. */
#ifndef NNTRAIN_LR_SCHEDULE_H
#define NNTRAIN_LR_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "nntrain/error.h"
#include "nntrain/spec.h"

typedef enum {
    NN_SCHED_NONE = 0, NN_SCHED_EXPONENTIAL, NN_SCHED_PIECEWISE, NN_SCHED_COSINE,
    NN_SCHED_INVERSE_TIME, NN_SCHED_POLYNOMIAL, NN_SCHED_COUNT
} nn_sched_kind;

#define NN_SCHED_MAX_BOUNDARIES 64

typedef struct nn_lr_schedule {
    nn_sched_kind kind;                /* NN_SCHED_NONE: a constant learning rate */
    double initial, decay_steps, decay_rate;
    int staircase, cycle;
    double alpha, warmup_steps, warmup_target;   /* CosineDecay */
    int has_warmup_target;
    double end_lr, power;                        /* PolynomialDecay */
    int nbounds;                                 /* PiecewiseConstantDecay */
    double bounds[NN_SCHED_MAX_BOUNDARIES];
    double values[NN_SCHED_MAX_BOUNDARIES + 1];
} nn_lr_schedule;

/* Keras class names, indexed by nn_sched_kind (NULL for NONE). */
extern const char *const nn_sched_names[];

/* Whether a call's name is a schedule (Keras class, case-sensitive as in
 * Keras, or the R keras function). */
int nn_lr_schedule_is(const char *fn);
/* Fills s from a schedule call; every option is validated (decay_steps > 0,
 * boundaries increasing, len(values) = len(boundaries) + 1, ...). Errors:
 * NN_EINVAL naming path:line:col, the argument, what was expected and found. */
int nn_lr_schedule_from_call(nn_lr_schedule *s, const nn_call *c, nn_error *e);
/* The learning rate at step (the optimizer's iterations before the step). */
double nn_lr_schedule_at(const nn_lr_schedule *s, int64_t step);
/* "ExponentialDecay(initial_learning_rate=0.1, decay_steps=1000, ...)" */
void nn_lr_schedule_describe(const nn_lr_schedule *s, char *buf, size_t len);

#endif
