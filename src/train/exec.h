/* The executor's private state, behind nn_model.exec: the compute threads,
 * the plan for batch_max rows (plan.c) and the buffers the passes use
 * (exec.c), plus the serial reference executor (exec_ref.c) that tests
 * compare the passes against. Users of nn_model need none of it; tests that
 * check the plan include it through the src/ include path. */
#ifndef NNTRAIN_TRAIN_EXEC_H
#define NNTRAIN_TRAIN_EXEC_H

#include <stdatomic.h>
#include <stddef.h>

#include "nntrain/error.h"
#include "nntrain/model.h"
#include "nntrain/pool.h"

/* Per-thread state of the compute team: thread t's workspace and (t >= 1)
 * gradient buffer, and per layer the number of threads done with its
 * backward and whether its gradient has been summed (the last thread to
 * finish a layer adds the others' gradients into m->grads, in thread order). */
typedef struct nn_team {
    float **work;               /* (threads) work_bytes each; [0] is exec->work */
    float **grads;              /* (threads) nparams each; [0] is m->grads */
    atomic_int *done;           /* (nlayers) threads past this layer's backward */
    atomic_int *summed;         /* (nlayers) gradient final */
    /* Layers run by the whole team (layer.h, team mode): per layer the input
     * features split over the threads (0: by rows, as the others), each
     * thread's part of the forward product, the batch's dz and the dx of
     * such a layer (NULL when no team layer needs one). */
    int *split;                 /* (nlayers) */
    float **part;               /* (threads) batch_max x widest team output */
    float *dz;                  /* batch_max x widest team output */
    float *dx;                  /* batch_max x dx_width */
    size_t dx_width;            /* widest team input needing dx at planning */
    /* deterministic mode's team layers (exec_det.c): each thread's list of
     * every thread's row block, (threads, threads) */
    int *bn;
    const float **bdz;
    float **bdx;
} nn_team;

/* Compute threads (nn_model_set_threads): each runs forward and backward on
 * its own slice of the batch's rows, with its own workspace and, for threads
 * >= 1, its own gradient buffer that is added into grads in thread order as
 * each layer finishes, so a run is reproducible for a given thread count.
 * Wide Dense layers instead run on all threads at once (each all rows and a
 * slice of the inputs; nn_model_team_layer), writing disjoint slices of
 * grads. NULL pool: one thread, no extra buffers. */
typedef struct nn_exec {
    nn_pool *pool;
    int threads;

    int batch_max;               /* 0: not planned */
    float **acts;                /* per layer output (batch_max, out); NULL for a
                                    reshape layer: see nn_model_layer_out */
    float *dbuf[2];              /* ping-pong dL/dx buffers (batch_max, dstride) */
    size_t dstride;              /* widest layer input or output */
    float *work;                 /* thread 0's workspace */
    size_t work_bytes;           /* per thread */
    int cache_layers;            /* leading layers run cache_rows rows at a time */
    int cache_rows;              /* (plan: their outputs fit in cache; may be
                                    lowered after planning, not raised) */
    float *cbuf;                 /* (threads, 2, cache_rows, dstride) backward chunks */
    size_t *toff;                /* per layer: SIZE_MAX, or the output is only read
                                    by the next layer's forward (no backward reads
                                    it: a ReLU conv under max pooling), so it
                                    lives at toff in its thread's tbuf region
                                    instead of acts, one cache chunk at a time */
    float *tbuf;                 /* (threads, tstride) */
    size_t tstride;
    nn_team *team;               /* threads > 1 */
    /* threads > 1 and a whole_batch layer (BatchNormalization): its dy and
     * dx over the whole batch, contiguous (batch_max, dstride); else NULL */
    float *wbuf[2];
    /* threads > 1 and a whole-batch layer with batch ops: each thread's
     * partial sums, bpart_n doubles each (thread 0's receives the total) */
    double *bpart;
    size_t bpart_n;

    /* Graph models (m->graph, exec_graph.c): per layer the buffer of
     * dL/d(its output) (NULL for the last layer: the caller's dout), slots
     * shared by outputs whose gradients are never live at once; whether
     * the layer's backward runs (something below it trains); per thread
     * and layer, whether its gradient buffer has been written this call. */
    float **gdy;                 /* (nlayers) */
    /* (nlayers) floats per row in gdy[i]: the widest output sharing its
     * slot, so that each thread's rows of a slot are the same bytes
     * whichever output the slot holds (threads reach a layer at different
     * times) */
    size_t *gstride;
    float **gslot;               /* (ngslot) */
    int ngslot;
    size_t gdy_bytes;            /* their total, for reports */
    size_t gdy_unshared;         /* what one buffer per output would take */
    unsigned char *gneed;        /* (nlayers) */
    unsigned char *ginit;        /* (threads, nlayers), then as many more:
                                    the deterministic pass's saved copies */

    /* nn_model_plan_ref: every layer's output kept whole, and two dx
     * buffers, for the reference executor; NULL until then. */
    float **ref_acts;            /* (nlayers) (batch_max, out); NULL for reshape */
    float *ref_dbuf[2];          /* (batch_max, dstride) */
    float **ref_dy;              /* graph models: (nlayers) (batch_max, out) */
} nn_exec;

/* A backward call's state, shared by its threads (exec.c). */
typedef struct bwd_job {
    nn_model *m;
    const float *x;
    float *dout;
    int B, first, active;   /* active: threads with rows */
    const nn_ctx *ctx;
    nn_grad_ready_fn ready; /* may be NULL */
    void *ready_arg;
    int next;               /* the highest layer not yet announced */
} bwd_job;

/* plan.c */
/* Drops the plan and the threads (nn_model_free). */
void nn_exec_free(nn_model *m);
/* Below the first trainable layer with parameters nothing needs a gradient:
 * backward stops there and skips its dx. */
int nn_exec_first_backward(const nn_model *m);
/* Whether the whole team runs layer i in a call of B rows (every thread
 * has rows; need_dx: its dx is wanted and must fit the planned buffer). */
int nn_exec_team_runs(const nn_model *m, int i, int B, int need_dx);
/* Whether the model has a layer needing the whole batch (ops->whole_batch). */
int nn_exec_whole_batch(const nn_model *m);
/* A rank with no rows in a training step (a short last batch, a failed
 * read): the whole-batch layers' forward and backward over 0 rows, so it
 * joins their collectives (ctx->allsum) as the other ranks do. */
void nn_model_whole_batch_idle(nn_model *m, nn_ctx *ctx);

/* exec.c, for exec_graph.c and exec_det.c */
/* Rows [r0, r0 + n) through layers [i0, i1) on thread t with its workspace
 * (no team or whole-batch handling); prof may be NULL. */
void nn_exec_forward_rows(nn_model *m, const float *x, long r0, long n, int i0, int i1, int t,
                          float *work, const nn_ctx *ctx, double *prof);
/* The cache prefix (layers [j->first, k)) backwards over thread t's rows
 * [r0, r0 + n), cache_rows at a time; dy: dL/d(output of layer k - 1). */
void nn_exec_bwd_prefix(bwd_job *j, int t, int k, long r0, long n, float *dy, float *grads,
                        nn_ctx *c);
/* Layer i's backward over rows [r0, r0 + n) on thread t (see exec.c). */
void nn_exec_bwd_layer(bwd_job *j, int t, int i, long r0, long n, float *dy, float *dx,
                       float *grads, nn_ctx *c, int fresh, int final);
/* A layer without parameters done on thread t: counts it as final. */
void nn_exec_layer_final(bwd_job *j, int t, int i);
/* Whole-batch layer i forward on T > 1 threads (thread t's part). */
void nn_exec_forward_whole(nn_model *m, const float *x, int i, int B, int t, float *work,
                           const nn_ctx *ctx, double *prof);
/* Whole-batch layer i backwards on T > 1 threads; thread t's dx rows. */
float *nn_exec_bwd_whole(bwd_job *j, int t, int i, long r0, long n, const float *dy,
                         int want_dx, nn_ctx *c);

/* exec_det.c: deterministic mode. The loss of chunk k (rows [r0, r0 + n),
 * output y (n, out)): fills those rows of dout; called on the chunk's
 * thread. */
typedef void (*nn_det_loss_fn)(void *arg, int k, long r0, int n, const float *y);
/* Chunk k's gradient g (nparams) is complete; called on the chunk's thread. */
typedef void (*nn_det_done_fn)(void *arg, int k, const float *g);
/* Where this rank's chunks sit in the global batch, for the batch
 * statistics of whole-batch layers (BatchNormalization) in training: this
 * rank's chunk 0 is global chunk k0 of K, rows rows in all; tab holds
 * (K + 1) * nn_model_det_stat_sums(m) doubles, zero between calls (the
 * pass leaves it so). */
typedef struct nn_det_global {
    long k0, K, rows;
    double *tab;
} nn_det_global;
/* x (B, in) in chunks of C rows (chunk k: rows [k*C, k*C + C), the last
 * shorter), each forward, loss and backward on one thread with the serial
 * layer calls, its gradient into grads[k] (nparams floats, overwritten);
 * then done (may be NULL) on it; grads NULL: forward and loss only
 * (evaluation), dout unused. A model with whole-batch layers runs layer by
 * layer instead: every chunk up to such a layer, then its statistics from
 * per-chunk partial sums in g->tab (summed over the ranks by ctx->allsum
 * when set, then added in global chunk order), then on; the gradient of
 * its parameters goes once into global chunk 0's grads. g may be NULL when
 * no whole-batch layer keeps statistics (inference). Every rank calls it for
 * every step, with B = 0 when it has no chunks (their collectives). */
void nn_model_det_pass(nn_model *m, const float *x, float *dout, int B, int C, nn_ctx *ctx,
                       nn_det_loss_fn loss, nn_det_done_fn done, void *arg, float **grads,
                       const nn_det_global *g);
/* The most doubles a whole-batch layer's partial sums take (0: none). */
size_t nn_model_det_stat_sums(const nn_model *m);

/* exec_graph.c: graph models. Their passes go layer by layer in the
 * topological order over each thread's rows (no cache prefix and no team
 * layers); backward adds the gradients of a tensor read by several layers. */
int nn_exec_plan_graph(nn_model *m, size_t B, nn_error *e);
void nn_exec_unplan_graph(nn_exec *ex);
/* Fills ex->gneed for the current trainable flags; returns the lowest
 * layer whose backward runs (nlayers: none). */
int nn_exec_graph_need(nn_model *m);
void nn_exec_graph_forward(nn_model *m, const float *x, int B, long r0, long n, int t,
                           float *work, const nn_ctx *ctx, double *prof, int threaded);
void nn_exec_graph_backward(bwd_job *j, int t, int T);
/* Thread t's rows [r0, r0 + n) of it, param gradients into grads; T > 1:
 * the whole-batch layers run on the team (deterministic mode passes 1). */
void nn_exec_graph_backward_rows(bwd_job *j, int t, int T, long r0, long n, float *grads);
/* For deterministic mode's layer-by-layer pass (T = 1, rows [r0, r0 + n)):
 * layers [lo, hi] forward (i0..i1 exclusive) or backward, hi first, with
 * the caller's flags init (nlayers: which gradient buffers were written);
 * layer i's dL/d(output) rows (zeroed when not written yet); where a dx
 * for input p goes, and giving it there. */
void nn_exec_graph_forward_layers(nn_model *m, const float *x, int i0, int i1, long r0, long n,
                                  float *work, const nn_ctx *ctx);
void nn_exec_graph_backward_span(bwd_job *j, int t, int hi, int lo, long r0, long n,
                                 float *grads, unsigned char *init, nn_ctx *c);
float *nn_exec_graph_dy(bwd_job *j, const unsigned char *init, int i, long r0, long n);
float *nn_exec_graph_dx(bwd_job *j, const unsigned char *init, int p, long r0);
void nn_exec_graph_give(bwd_job *j, unsigned char *init, int p, long r0, long n,
                        const float *dx);

/* exec_ref.c: the serial reference executor. Every layer in order over all
 * B rows on the calling thread, each output kept whole; then backward in
 * reverse, ping-ponging dx. No cache passes, no threads, no team layers: the
 * same layer calls the executor makes, in the plainest order, for tests to
 * compare against. nn_model_plan_ref allocates its buffers (after
 * nn_model_plan, for its batch_max); they live until the plan is dropped. */
int nn_model_plan_ref(nn_model *m, nn_error *e);
/* x (B, in) -> the output (B, out), owned by the model. */
const float *nn_model_forward_ref(nn_model *m, const float *x, int B, nn_ctx *ctx);
/* Layer i's output of the last nn_model_forward_ref (x for i < 0). */
const float *nn_model_layer_out_ref(const nn_model *m, const float *x, int i);
/* As nn_model_backward, on the calling thread. */
void nn_model_backward_ref(nn_model *m, const float *x, float *dout, int B, nn_ctx *ctx);

#endif
