/* model.fit(): the training loop (Keras semantics), data parallel over the
 * ranks of an nn_dist. Only rank 0 prints and writes files. */
#ifndef NNTRAIN_FIT_H
#define NNTRAIN_FIT_H

#include <stdio.h>

#include "nntrain/callbacks.h"
#include "nntrain/data.h"
#include "nntrain/dist.h"
#include "nntrain/history.h"
#include "nntrain/model.h"

/* Deterministic mode's rows per chunk unless fit.det_chunk says otherwise:
 * small enough that a batch of 32 feeds 4 threads or ranks. */
#define NN_DET_CHUNK 8
/* A Dense kernel's gradient in that mode is summed in float over groups of
 * up to this many chunks (fewer where the batch would have under four
 * groups) before it becomes fixed point: the conversion, once per weight
 * and group, costs about as much as the multiply-adds of 8 rows. */
#define NN_DET_DENSE_CHUNKS 8
/* That mode's Dense group rows for a global batch of B in chunks of C. */
size_t nn_fit_det_group(size_t B, size_t C);
/* Where rank q of N begins in a step of rows rows (q = N: rows) with groups
 * of G rows; align: a model with Dense kernels (boundaries move to groups'). */
size_t nn_fit_det_rank_start(size_t rows, size_t C, size_t G, int N, int q, int align);
/* Over N ranks, whether a Dense kernel (in x units) is summed from every
 * rank's gathered rows instead of by the ring of int64 sums. */
int nn_fit_det_gathers(size_t B, size_t in, size_t units, int N);
/* What the Dense kernels change in the bytes a rank sends in a step of B
 * rows, on average over the ranks, against 8 (N-1)/N bytes of int64 sums a
 * weight: the gathered kernels' rows instead of their sums, and the float
 * sums of Dense groups that rank boundaries cut. */
double nn_fit_det_dense_bytes(const nn_model *m, size_t B, size_t C, int N);

typedef struct nn_fit_stats {
    long steps, samples;      /* this rank's */
    double data_s;            /* reading batches */
    double compute_s;         /* forward + backward + optimizer */
    double comm_s;            /* waiting for the gradient allreduce */
    double total_s;
} nn_fit_stats;

/* What nn_fit reports to its hook: at every epoch end, and at the step
 * boundary where a stop request (preemption) was agreed. Called on every
 * rank, in step, so the hook may use collectives. */
typedef struct nn_fit_event {
    int epoch;                 /* epochs completed */
    long step;                 /* steps completed inside epoch `epoch`; 0 at a boundary */
    long long iterations;      /* optimizer steps so far */
    const double *row;         /* the new history row at an epoch end, else NULL */
    const double *sums;        /* partial-epoch loss/metric sums and sample count */
    int stopping;              /* 1: nn_fit returns NN_ESTOP after the hook */
} nn_fit_event;

typedef int (*nn_fit_hook)(void *arg, const nn_fit_event *ev, nn_error *e);

typedef struct nn_fit_opts {
    nn_fit_args fit;          /* spec values, overridden by the CLI */
    int progress;             /* -1: auto (stdout is a terminal), 0, 1 */
    FILE *log;                /* epoch lines (rank 0); NULL = stdout */
    const char *history_csv;  /* written after each epoch (rank 0), or NULL */
    long max_steps;           /* > 0: stop each epoch after this many steps (bench) */
    int accumulate;           /* > 1: each rank runs its shard in this many
                                 micro-batches before the allreduce */
    int lr_ref_batch;         /* > 0: linear scaling, lr * B / lr_ref_batch */
    double warmup_epochs;     /* > 0: ramp the learning rate up over these epochs */
    double stall_timeout;     /* > 0: stall watchdog (seconds) */
    const char *timeline;     /* Chrome trace path, or NULL */
    nn_fit_hook hook;         /* checkpoints; may be NULL */
    void *hook_arg;
    volatile int *stop_flag;  /* set asynchronously (SIGTERM); agreed each step */
    long long stop_at_step;   /* > 0: act as if stopped by a signal after this many
                                 steps of this run (tests of preemption and requeue) */
    int start_epoch;          /* resume: epochs already done (history in h) */
    long start_step;          /* resume: steps already done inside start_epoch */
    const double *start_sums; /* resume: that partial epoch's sums */
    const struct nn_augment *augment; /* training-sample augmentation, or NULL */
    nn_cb_state *cb_state;    /* the callbacks' state (fit.cb), kept by the caller
                                 for checkpoints and --resume; NULL: nn_fit's own */
    nn_fit_stats *stats;      /* filled if non-NULL */
    long stats_after;         /* > 0: stats count only the steps after the first
                                 stats_after of this call (bench warm-up) */
} nn_fit_opts;

/* Trains m on train (validation: val if non-NULL, else the last
 * fit.validation_split of train). Parameters must be initialised and equal on
 * every rank (nn_fit broadcasts rank 0's). */
int nn_fit(nn_model *m, nn_dataset *train, nn_dataset *val, const nn_fit_opts *o,
           nn_dist *d, nn_history *h, nn_error *e);

#endif
