/* A Keras Sequential model: layers, one flat parameter buffer and one flat
 * gradient buffer with the same offsets, the compile() settings and the
 * fit() defaults from the spec. The plan for batch_max rows and the compute
 * threads that run forward and backward are the executor's (an opaque
 * pointer here; src/train/exec.h). */
#ifndef NNTRAIN_MODEL_H
#define NNTRAIN_MODEL_H

#include <stdint.h>
#include <stdio.h>

#include "nntrain/augment.h"
#include "nntrain/callbacks.h"
#include "nntrain/error.h"
#include "nntrain/layer.h"
#include "nntrain/loss.h"
#include "nntrain/optim.h"
#include "nntrain/pool.h"
#include "nntrain/spec.h"

#define NN_MAX_METRICS 8
#define NN_MAX_CLASS_WEIGHTS 256

/* A ModelCheckpoint(...) in the spec's fit(callbacks=...): what train's
 * --checkpoint FILE --monitor --mode --save-best-only --period do (those
 * options override it). */
typedef struct nn_spec_ckpt {
    char path[1024];         /* "" when the spec has none */
    char monitor[64];        /* "val_loss" */
    char mode[8];            /* "auto", "min" or "max" */
    int save_best_only;
    int period;              /* epochs between saves (period=, save_freq="epoch") */
} nn_spec_ckpt;

typedef struct nn_fit_args {
    int batch_size;          /* Keras default 32 */
    int epochs;              /* 1 */
    double validation_split; /* 0: the last fraction, taken before shuffling */
    int shuffle;             /* 1 */
    uint64_t seed;           /* 42 unless set: runs are reproducible */
    int verbose;             /* 1: progress bar on a terminal, 2: epoch lines only */
    int target_input;        /* fit(target="input"): y = x, for autoencoders */
    int deterministic;       /* fit(deterministic=True): the same bits on any
                                number of ranks and threads (fit_det.c) */
    int det_chunk;           /* rows per chunk in that mode (0: the default) */
    int nclass_weight;       /* fit(class_weight={0: 1, 1: 3}): loss weight per class */
    float class_weight[NN_MAX_CLASS_WEIGHTS];
    nn_spec_ckpt ckpt;       /* fit(callbacks=list(ModelCheckpoint(...))) */
    nn_callbacks cb;         /* the other callbacks (EarlyStopping, ...) */
} nn_fit_args;

typedef struct nn_model {
    char name[64];
    nn_shape in_shape;
    char in_name[64];            /* the Input's name= ("" when not given:
                                    Keras's "input_1" in functional tables) */
    int nlayers;
    nn_layer *layers;            /* topological order; the last is the output */
    int graph;                   /* 1: a functional model whose layers are not
                                    a plain chain (a skip, a merge, a tensor
                                    read twice); the executor then runs the
                                    graph path (exec_graph.c) */
    size_t nparams;
    float *params;               /* (nparams) */
    float *grads;                /* (nparams), same offsets */

    int compiled;
    nn_loss loss;
    int from_logits;             /* compile(loss=...(from_logits=True)) */
    int fused;                   /* what the output is to the loss (NN_OUT_*):
                                    NN_OUT_FUSED when the final softmax/sigmoid
                                    is fused with the CE loss, NN_OUT_LOGITS
                                    with from_logits */
    nn_optim optim;
    int nmetrics;
    nn_metric metrics[NN_MAX_METRICS];
    char metric_names[NN_MAX_METRICS][40];  /* as the user wrote them; Keras's
                                               log name for AUC/Precision/Recall */
    char metric_keys[NN_MAX_METRICS][40];   /* as compile() resolves them */
    int metric_sums;             /* doubles the metrics accumulate together
                                    (nn_metrics_width) */
    int bf16;                    /* the mixed_bfloat16 policy: the spec's
                                    set_global_policy(), unless forced
                                    (nn_model_force_bf16) */
    nn_fit_args fit;
    nn_augment aug;              /* ImageDataGenerator(...) line; aug.enabled */

    /* The plan for batch_max rows and the compute threads: private to the
     * executor (src/train/exec.h). NULL until nn_model_set_threads or
     * nn_model_plan; freed by nn_model_free. */
    struct nn_exec *exec;
    /* NULL, or (2 * nlayers) seconds that thread 0 spent in each layer's
     * forward ([2i]) and backward ([2i+1]), added up over the calls;
     * malloc'd by the caller, freed by nn_model_free. */
    double *prof;
} nn_model;

void nn_fit_args_defaults(nn_fit_args *f);

/* --precision: 1 forces mixed_bfloat16 on, 0 off, whatever the spec says;
 * -1 (the default) lets the spec's set_global_policy() decide. Read by
 * nn_model_build; not thread-safe (set it before building models). */
void nn_model_force_bf16(int on);

/* Builds layers (shape inference, Keras-style names), the parameter buffers,
 * compile() and fit() from a parsed spec. Errors name path:line:col. */
int nn_model_build(nn_model *m, const nn_spec *s, nn_error *e);
/* Keras default initialisation, deterministic in seed. */
void nn_model_init_params(nn_model *m, uint64_t seed);
/* Allocates activations and workspace for up to batch_max rows (idempotent
 * for smaller batches). */
int nn_model_plan(nn_model *m, int batch_max, nn_error *e);
/* Compute threads for forward/backward/update (>= 1; default 1). OpenBLAS is
 * set to one thread when threads > 1: each thread runs its own sgemm calls.
 * Drops the plan when the count changes. */
int nn_model_set_threads(nn_model *m, int threads, nn_error *e);
/* x (B, in) -> returns the output (B, out), owned by the model. Forward,
 * backward and update flush denormals to zero (nntrain/fpmode.h). */
const float *nn_model_forward(nn_model *m, const float *x, int B, nn_ctx *ctx);
/* dout (B, out) = dL/d(output) (or dL/dlogits when m->fused); it is used as
 * scratch. Accumulates into m->grads (zero them first). */
void nn_model_backward(nn_model *m, const float *x, float *dout, int B, nn_ctx *ctx);
/* Told that grads[off .. off + the layer's param_len) are final. */
typedef void (*nn_grad_ready_fn)(void *arg, size_t off);
/* nn_model_backward, calling ready(arg, l->param_off) on the calling thread
 * for each layer with parameters, from the last down, once its gradient
 * (all threads' rows) is final: the gradient allreduce of those buckets can
 * start during backward. ready may be NULL. */
void nn_model_backward_hook(nn_model *m, const float *x, float *dout, int B, nn_ctx *ctx,
                            nn_grad_ready_fn ready, void *arg);
/* Whether the compute threads run layer i together (each thread all rows,
 * a slice of the layer's inputs: a wide Dense, layer.h's team mode) in a
 * call of B rows; the other layers split the rows. 0 with one thread. */
int nn_model_team_layer(const nn_model *m, int i, int B);
/* One optimizer step over every trainable layer (split over the threads),
 * then nn_optim_advance; the optimizer's gradient clipping first
 * (nn_model_clip_grads). */
void nn_model_update(nn_model *m);
/* The optimizer's clipvalue, clipnorm (each trainable weight tensor, by its
 * param specs) and global_clipnorm (all of them together) applied to
 * m->grads in place; nothing without them. Serial, in layer order: the same
 * on every rank. */
void nn_model_clip_grads(nn_model *m);
/* What the plan holds, in bytes: the layer outputs kept for backward,
 * the buffers of their gradients (*grads; for a graph model also what one
 * buffer per output would take, *unshared, else *grads) and the
 * workspace of all threads. Zeros before nn_model_plan. */
void nn_model_plan_bytes(const nn_model *m, size_t *acts, size_t *grads, size_t *unshared,
                         size_t *work);
/* Layer i's output buffer of the last forward on input x: its own, or for a
 * reshape layer (Flatten) the buffer of its input; NULL for a layer whose
 * output was only kept a cache chunk at a time (a ReLU conv under max
 * pooling, in the plan's cache passes). */
const float *nn_model_layer_out(const nn_model *m, const float *x, int i);
/* The weight regularizers' penalty (l1*sum|w| + l2*sum w^2 over every
 * layer, frozen ones included, as Keras counts them in the loss) at the
 * model's parameters; 0 without regularizers. Serial and in a fixed order:
 * the same on every rank and at any thread count. */
double nn_model_reg_penalty(const nn_model *m);
/* Adds the penalty's gradient to m->grads of the trainable layers. Called
 * once per step on the averaged gradient (after the allreduce), so it counts
 * once whatever the number of ranks. */
void nn_model_reg_grad(nn_model *m);
size_t nn_model_in_size(const nn_model *m);
size_t nn_model_out_size(const nn_model *m);
size_t nn_model_trainable_params(const nn_model *m);
/* Keras-format summary table: Keras 2.9+'s Sequential one, or for a graph
 * (m->graph) tf.keras 2.x's functional one with the InputLayer and
 * "Connected to" ("conv2d[0][0]", a line per input of a merge). */
void nn_model_summary(const nn_model *m, FILE *f);
/* The Input's name in Keras tables and configs: in_name, else "input_1". */
const char *nn_model_input_name(const nn_model *m);
void nn_model_free(nn_model *m);

#endif
