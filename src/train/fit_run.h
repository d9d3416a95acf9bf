/* Private to fit.c and fit_step.c: the state of one nn_fit call, set up once
 * by fit.c and used by every training step. */
#ifndef NNTRAIN_FIT_RUN_H
#define NNTRAIN_FIT_RUN_H

#include <stdio.h>

#include "batch.h"
#include "nntrain/fit.h"
#include "nntrain/grad_sync.h"
#include "nntrain/prefetch.h"
#include "nntrain/timeline.h"

/* The gradients are synchronised over [lo, hi) of the flat buffer only: the
 * span of the trainable layers (frozen layers send nothing). */
typedef struct sync_span {
    nn_grad_sync *gs;
    size_t lo;
} sync_span;

typedef struct fit_run {
    nn_model *m;
    nn_dataset *train, *val;
    const nn_fit_opts *o;
    const nn_fit_args *fa;
    nn_dist *d;
    nn_history *h;
    int rank0, has_val;

    size_t n, n_val;         /* training rows; rows split off for validation */
    size_t B;                /* global batch */
    long steps;              /* per epoch */
    int cap;                 /* rows of this rank's largest shard + 1 */
    int plan_rows;           /* rows the model is planned for */
    size_t chunk;            /* rows per micro-batch (--accumulate) */
    uint64_t *perm;          /* (n) this epoch's order */
    uint64_t *val_idx;       /* (n_val) the split-off rows */

    nn_batch b;
    nn_grad_sync gs;
    nn_dist stats_d;         /* BatchNormalization's statistics: d on its own
                                communicator (active only across ranks) */
    sync_span span;
    nn_watchdog wd;
    nn_timeline tl, *tlp;    /* tlp: NULL without --timeline */
    nn_prefetch pf;

    const char *names[NN_HIST_MAX_COLS];   /* h's columns */
    FILE *log;
    int bar;                 /* live progress bar */
    nn_fit_stats st;
    double t_start;
    long long step_id;       /* steps of the run so far, resumed ones included */
    long long first_step;    /* step_id when this call began */
    nn_cb_state *cbs;        /* o->cb_state or own_cbs */
    nn_cb_state own_cbs;
    int stop_training;       /* EarlyStopping stopped the run */

    /* Deterministic mode (fit_det.c): chunks of det_c rows; this step's
     * first global chunk det_c0 and det_k of them here; per local chunk its
     * gradient; the fixed-point sum; per global chunk its loss and metric
     * sums (det_ns doubles); per layer the agreed exponent. */
    int det;
    size_t det_c, det_c0, det_k, det_kmax, det_ktot;
    float **det_g;           /* (det_kmax) nparams each */
    int64_t *det_acc;        /* (nparams) */
    double *det_tab;         /* (det_ktot, det_ns), then NN_DET_RED */
    int det_ns;
    int *det_exp;            /* (nlayers) */
    int *det_cexp;           /* (det_kmax, nlayers) per local chunk */
    double *det_stab;        /* NULL, or batch statistics' slots (exec.h
                                nn_det_global): (det_ktot + 1) x the most
                                doubles a layer's partial sums take */
    /* Dense kernels summed by the fused kernel (detsum_dense.c): per layer
     * its slot or -1; per slot the step's dz rows and, per local chunk, the
     * bound of its kernel gradient's exponent; the step's input and rows;
     * the ranges det_zero clears (det_nz pairs of offset and length). */
    int *det_slot;           /* (nlayers) */
    int det_nkeep;
    float **det_dz;          /* (det_nkeep) (chunk rows, units) each */
    int *det_bexp;           /* (det_kmax, det_nkeep) */
    /* per slot each row's largest |x| (float bits) from the forward, and
     * per local chunk and slot whether the forward wrote its rows'
     * (fit_det_xmax; fit_det_keep takes and clears it) */
    uint32_t **det_xam;      /* (det_nkeep) (chunk rows) each */
    unsigned char *det_xamk; /* (det_kmax, det_nkeep) */
    const float *det_x;
    size_t det_rows;
    size_t *det_zr;          /* (det_nz, 2) */
    int det_nz;
    /* Two or more ranks: the parameters are cut into one slice per rank
     * (counts and offsets, the same on every rank); this rank's slice
     * [det_s0, det_s0 + det_ns1) of det_acc is summed over the ranks by a
     * ring reduce-scatter (det_rs: a received block), rounded here and
     * gathered as floats. */
    int *det_cnt, *det_dsp;  /* (ranks) */
    size_t det_s0, det_ns1;
    int64_t *det_rs;         /* (det_cnt[0]) */
    /* This step keeps the ring's last block apart (in det_rs) and makes
     * the kernel rows wholly inside this rank's slice after the ring, from
     * that block and its own rows, rounded at once (fit_det_sync). */
    int det_defer;
    /* A Dense kernel's gradient is summed in float over groups of det_dg
     * rows (NN_DET_DENSE_CHUNKS chunks) and turned into fixed point once a
     * group. With two or more ranks a group that a rank boundary cuts is
     * summed from zero by the rank of its first rows (det_tp, sent on) and
     * continued by the next (det_lp, received) in the same row order. */
    size_t det_dg;
    size_t *det_koff;        /* (det_nkeep) a kernel's place in det_tp and det_lp */
    size_t det_ktot_w;       /* the kept kernels' weights */
    float *det_tp, *det_lp;  /* (det_ktot_w) */
    /* Two or more ranks: kernels summed from every rank's gathered rows
     * (fit_det_gather.c; det_xch set), and the ring's compacted vector of
     * the other parameters (block q at det_cdsp[q], det_ccnt[q] long). */
    unsigned char *det_xch;  /* (det_nkeep) */
    int det_nxch;
    float **det_gx, **det_gz;   /* (det_nkeep) (B, in) and (B, units), or NULL */
    int64_t *det_cacc, *det_crs;
    int *det_ccnt, *det_cdsp;   /* (ranks) */
    int *det_gcnt, *det_gdsp;   /* (ranks) scratch of the row allgathers */
} fit_run;

/* What a step hands back to its epoch. */
typedef struct fit_step_out {
    double red[3 + NN_METRIC_MAX_SUMS];   /* over the ranks: failed, loss sum,
                                             metric sums (m->metric_sums), stop
                                             requests */
    size_t rows;                      /* of the global batch */
    double secs;
} fit_step_out;

/* fit_det.c: deterministic mode. Checks the model and options and sizes
 * the chunks and this rank's buffers (at plan time); this rank's rows of a global batch of rows
 * (whole chunks); buffers, the ranks' kernel check and the exact gradient
 * and loss sums of a step (red as the plain mode's allreduce leaves it:
 * every rank holds the global sums; with the loss table in one allreduce). */
int fit_det_plan(fit_run *r, nn_error *e);
void fit_det_rows(const fit_run *r, size_t rows, size_t *off, size_t *cnt);
/* A Dense kernel's shape (in, units). */
static inline size_t dense_in(const nn_layer *l)
{
    return (size_t)l->in.d[0];
}

static inline size_t dense_units(const nn_layer *l)
{
    return (size_t)l->out.d[0];
}
/* The same for rank q. */
void fit_det_rank_rows(const fit_run *r, size_t rows, int q, size_t *off, size_t *cnt);
/* fit_det_gather.c: plans the gathered kernels (after the slices; 0: out
 * of memory), frees them, gathers a step's rows of them, packs det_acc
 * into the compacted vector (own: unpacks this rank's block back), and
 * rounds the kernel rows over the parameters [a, b) of Dense layer i
 * (relative to the layer) into m->grads from the gathered rows. */
int fit_det_gather_open(fit_run *r);
void fit_det_gather_close(fit_run *r);
int fit_det_gather_rows(fit_run *r, size_t rows, nn_error *e);
void fit_det_pack(fit_run *r, int own);
void fit_det_round_gathered(fit_run *r, int i, size_t a, size_t b, size_t rows, int shift,
                            int t, int T);
int fit_det_open(fit_run *r, nn_error *e);
/* Ranks with different kernels (an AVX-512 and an AVX2 node, another
 * OpenBLAS core) would round a chunk's gradient differently: refused, naming
 * them. Collective, after the ranks agreed that fit_det_open succeeded. */
int fit_det_kernels(fit_run *r, nn_error *e);
void fit_det_close(fit_run *r);
#define NN_DET_RED (3 + NN_METRIC_MAX_SUMS)   /* fit_step_out's red */
int fit_det_sync(fit_run *r, size_t rows, double *red, nn_error *e);
/* Local chunk k's gradient g is complete (on its thread): its exponents. */
void fit_det_chunk_done(fit_run *r, int k, const float *g);
/* nn_ctx's det_keep and det_zero, arg the fit_run. */
int fit_det_keep(void *arg, const nn_layer *l, const float *x, const float *dz, int row0,
                 int n);
void fit_det_zero(void *arg, int k, float *g);
uint32_t *fit_det_xmax(void *arg, const nn_layer *l, int row0, int n);

/* Queues this rank's slice of global batch s for the reader thread. */
void fit_request_step(fit_run *r, long s, int epoch);
/* Runs global batch s of the epoch: one optimizer step, identical on every
 * rank. An error (a rank's read failure, NaN/Inf, MPI) is the same on every
 * rank. */
int fit_step(fit_run *r, int epoch, long s, fit_step_out *out, nn_error *e);

#endif
