/* One training step of nn_fit, read top to bottom as llm.c's: this rank's
 * rows of the global batch, zeroed gradients, forward, loss and dL/dy,
 * backward with the bucketed gradient allreduce, the checks, this step's
 * learning rate, the optimizer update. The failure flag, the loss and metric
 * sums and the stop requests ride on one small allreduce, so every rank
 * takes the same branch. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fit_run.h"
#include "nntrain/clock.h"
#include "train/exec.h"

/* Global batch s: where it starts in the permutation, its rows, and this
 * rank's slice [off, off + cnt) of them. */
typedef struct step_rows {
    size_t start, rows, off, cnt;
} step_rows;

static step_rows rows_of_step(const fit_run *r, long s)
{
    step_rows sr = {.start = (size_t)s * r->B};
    sr.rows = r->n - sr.start < r->B ? r->n - sr.start : r->B;
    if (r->det)
        fit_det_rows(r, sr.rows, &sr.off, &sr.cnt);
    else
        nn_dist_shard(sr.rows, r->d->size, r->d->rank, &sr.off, &sr.cnt);
    return sr;
}

void fit_request_step(fit_run *r, long s, int epoch)
{
    step_rows sr = rows_of_step(r, s);
    nn_prefetch_request(&r->pf, (int)(s & 1), r->perm + sr.start + sr.off, (int)sr.cnt,
                        (uint64_t)epoch);
}

/* Where a step's time went: reading (t0..t1), forward and backward (..t2),
 * waiting for the allreduce (..t3), the optimizer (..t4). */
typedef struct step_clock {
    double t0, t1, t2, t3, t4;
} step_clock;

/* bench: the first stats_after steps of this call are warm-up. */
static void stats_warmup_over(fit_run *r, double now)
{
    if (r->o->stats_after > 0 && r->step_id - r->first_step == r->o->stats_after) {
        memset(&r->st, 0, sizeof r->st);
        r->t_start = now;
        if (r->m->prof)
            memset(r->m->prof, 0, 2 * (size_t)r->m->nlayers * sizeof *r->m->prof);
    }
}

static void account_step(fit_run *r, const step_clock *t, size_t cnt)
{
    nn_timeline_add(r->tlp, NN_TL_DATA, t->t0, t->t1);
    nn_timeline_add(r->tlp, NN_TL_COMPUTE, t->t1, t->t2);
    nn_timeline_add(r->tlp, NN_TL_ALLREDUCE, t->t2, t->t3);
    nn_timeline_add(r->tlp, NN_TL_OPTIM, t->t3, t->t4);
    r->st.data_s += t->t1 - t->t0;
    r->st.compute_s += (t->t2 - t->t1) + (t->t4 - t->t3);
    r->st.comm_s += t->t3 - t->t2;
    r->st.steps++;
    r->st.samples += (long)cnt;
}

/* This step's rows were read (and augmented) while the previous step
 * trained; queue the next step's now. Returns the read's status. */
static int next_batch(fit_run *r, int epoch, long s, const nn_prefetch_slot **batch,
                      nn_error *e)
{
    int k = (int)(s & 1);
    int rc = nn_prefetch_wait(&r->pf, k, e);
    *batch = &r->pf.slot[k];
    if (s + 1 < r->steps)
        fit_request_step(r, s + 1, epoch);
    return rc;
}

static void zero_grads(fit_run *r)
{
    if (!r->det)   /* fit_det_sync writes every gradient */
        memset(r->m->grads, 0, r->m->nparams * sizeof(float));
    nn_grad_sync_begin(&r->gs);
    r->gs.step = r->step_id;
}

static void grad_ready(void *arg, size_t off)
{
    sync_span *sp = arg;
    nn_grad_sync_ready(sp->gs, off > sp->lo ? off - sp->lo : 0);
}

/* Loss sum of n rows with Keras class_weight: each sample's loss and
 * gradient scaled by its class's weight. */
static double weighted_loss(const nn_model *m, const nn_fit_args *fa, const float *out,
                            const float *y, int n, int K, int ydim, float scale, float *d)
{
    if (!fa->nclass_weight)
        return nn_loss_eval(m->loss, out, y, n, K, ydim, m->fused, scale, d);
    double sum = 0;
    for (int b = 0; b < n; b++) {
        float c = y[(size_t)b * ydim], w = 1.0f;
        if (c >= 0 && c < (float)fa->nclass_weight)
            w = fa->class_weight[(int)c];
        sum += w * nn_loss_eval(m->loss, out + (size_t)b * K, y + (size_t)b * ydim, 1, K, ydim,
                                m->fused, scale * w, d + (size_t)b * K);
    }
    return sum;
}

/* The input and rows of a forward pass. */
/* ctx->allsum: BatchNormalization's batch statistics over the ranks, on
 * their own communicator, waited on with the stall check as every other
 * collective of the step (a rank stopped there used to leave the others
 * in MPI_Allreduce for ever). A failure is the watchdog's or the
 * communicator's to report. */
static int allsum(void *arg, double *v, int n)
{
    fit_run *r = arg;
    return nn_watchdog_allreduce_on(r->d->wd, r->stats_d.comm, v, n, MPI_DOUBLE, MPI_SUM,
                                    "BatchNormalization statistics", NULL);
}

/* Global batch statistics when the model has them and there are ranks. */
static void stats_ctx(fit_run *r, nn_ctx *ctx)
{
    if (r->stats_d.active && r->stats_d.size > 1 && nn_exec_whole_batch(r->m)) {
        ctx->allsum = allsum;
        ctx->allsum_arg = r;
    }
}

typedef struct micro_batch {
    const float *x;   /* (rows, in) */
    size_t rows;
} micro_batch;

/* This rank's cnt rows of a global batch of bg, in micro-batches whose
 * gradients accumulate; the overlapped allreduce can start only during the
 * last one. Adds the loss and metric sums into red[1..]. Returns the last
 * micro-batch: its layer outputs are still there to trace a NaN loss. */
static micro_batch forward_backward(fit_run *r, const nn_prefetch_slot *batch, int epoch,
                                    size_t cnt, size_t bg, double *red)
{
    nn_model *m = r->m;
    const nn_batch *b = &r->b;
    micro_batch last = {batch->x, 0};
    for (size_t mo = 0; mo < cnt; mo += r->chunk) {
        size_t mc = cnt - mo < r->chunk ? cnt - mo : r->chunk;
        nn_ctx ctx = {.training = 1, .seed = r->fa->seed, .epoch = (uint64_t)epoch,
                      .sample_ids = batch->ids + mo};
        stats_ctx(r, &ctx);
        const float *xm = batch->x + mo * b->in, *ym = batch->y + mo * (size_t)b->ydim;
        const float *out = nn_model_forward(m, xm, (int)mc, &ctx);
        red[1] += weighted_loss(m, r->fa, out, ym, (int)mc, b->K, b->ydim, 1.0f / (float)bg,
                                b->dout);
        nn_metrics_add(m->metrics, m->nmetrics, out, ym, (int)mc, b->K, b->ydim,
                       m->from_logits, red + 2);
        nn_model_backward_hook(m, xm, b->dout, (int)mc, &ctx,
                               mo + mc >= cnt ? grad_ready : NULL, &r->span);
        last = (micro_batch){xm, mc};
    }
    return last;
}

/* Deterministic mode: chunk k's loss and metric sums into its slot of the
 * step's table (fit_det.c), its dL/dy into the batch's. */
typedef struct det_loss_arg {
    fit_run *r;
    const nn_prefetch_slot *batch;
    size_t bg;
} det_loss_arg;

static void det_loss(void *arg, int k, long r0, int n, const float *y)
{
    const det_loss_arg *a = arg;
    fit_run *r = a->r;
    const nn_batch *b = &r->b;
    double *slot = r->det_tab + (r->det_c0 + (size_t)k) * (size_t)r->det_ns;
    const float *ym = a->batch->y + (size_t)r0 * b->ydim;
    slot[0] = weighted_loss(r->m, r->fa, y, ym, n, b->K, b->ydim, 1.0f / (float)a->bg,
                            b->dout + (size_t)r0 * b->K);
    nn_metrics_add(r->m->metrics, r->m->nmetrics, y, ym, n, b->K, b->ydim, r->m->from_logits,
                   slot + 1);
}

static void det_done(void *arg, int k, const float *g)
{
    fit_det_chunk_done(((det_loss_arg *)arg)->r, k, g);
}

/* This rank's whole chunks of the global batch of bg rows, each with its
 * own gradient (fit_det.c adds them); cnt may be 0 (a model with batch
 * statistics joins their collectives all the same). */
static micro_batch det_forward_backward(fit_run *r, const nn_prefetch_slot *batch, int epoch,
                                        size_t cnt, size_t bg)
{
    nn_ctx ctx = {.training = 1, .seed = r->fa->seed, .epoch = (uint64_t)epoch,
                  .sample_ids = batch->ids, .det_keep = fit_det_keep, .det_zero = fit_det_zero,
                  .det_xmax = fit_det_xmax, .det_arg = r};
    stats_ctx(r, &ctx);
    det_loss_arg a = {r, batch, bg};
    nn_det_global g = {(long)r->det_c0, (long)((bg + r->det_c - 1) / r->det_c), (long)bg,
                       r->det_stab};
    r->det_x = batch->x;
    r->det_rows = cnt;
    nn_model_det_pass(r->m, batch->x, r->b.dout, (int)cnt, (int)r->det_c, &ctx, det_loss,
                      det_done, &a, r->det_g, &g);
    return (micro_batch){batch->x, cnt};
}

static double stop_requested(const fit_run *r)
{
    const nn_fit_opts *o = r->o;
    return (o->stop_flag && *o->stop_flag) ||
                   (o->stop_at_step > 0 && r->step_id + 1 - r->first_step >= o->stop_at_step)
               ? 1 : 0;
}

/* A failed rank still joins every collective (with zero gradients) so that
 * nobody hangs; then all stop together. */
static int finish_sync(fit_run *r, size_t rows, double *red, nn_error *e)
{
    if (r->det)   /* red goes with the loss table */
        return fit_det_sync(r, rows, red, e);
    int rc = nn_grad_sync_finish(&r->gs, e);
    return rc ? rc : nn_watchdog_sum_doubles(&r->wd, red, 3 + r->m->metric_sums, r->step_id, e);
}

/* The first layer whose output over the last forward's rows (input x)
 * holds a NaN or Inf, or -1. */
static int nonfinite_output(const nn_model *m, const float *x, size_t rows)
{
    for (int i = 0; i < m->nlayers; i++) {
        const float *y = nn_model_layer_out(m, x, i);   /* NULL: not kept */
        if (y && !nn_all_finite(y, rows * nn_shape_size(&m->layers[i].out)))
            return i;
    }
    return -1;
}

/* The last layer (closest to the loss) whose trainable gradient holds a NaN
 * or Inf, or -1: one vectorised pass over P. */
static int nonfinite_layer(const nn_model *m)
{
    for (int i = m->nlayers - 1; i >= 0; i--) {
        const nn_layer *l = &m->layers[i];
        if (!l->trainable || !l->param_len)
            continue;
        if (!nn_all_finite(m->grads + l->param_off, l->param_len))
            return i;
    }
    return -1;
}

static int nonfinite_loss(const fit_run *r, double loss, const micro_batch *last, int epoch,
                          long s, nn_error *e)
{
    const nn_model *m = r->m;
    /* Where it starts, as far as this rank's last micro-batch shows. */
    int bl = nonfinite_output(m, last->x, last->rows);
    char where[200];
    if (bl >= 0)
        snprintf(where, sizeof where, "; the first non-finite output is layer '%s'",
                 m->layers[bl].name);
    else
        snprintf(where, sizeof where, "; every layer's output is finite, so look at the targets (layer '%s' feeds the loss)",
                 m->layers[m->nlayers - 1].name);
    return nn_err(e, NN_ENAN, "loss is %s at epoch %d, step %ld/%ld (learning rate %g)%s: lower the learning rate or check the data for NaN/Inf",
                  isnan(loss) ? "NaN" : "infinite", epoch + 1, s + 1, r->steps,
                  nn_optim_lr(&m->optim), where);
}

/* The sums are the same on every rank, and so are the gradients after the
 * allreduce: every rank takes the same branch and stops together. */
static int check_step(const fit_run *r, int failed, const double *red, const micro_batch *last,
                      int epoch, long s, nn_error *e)
{
    if (red[0] > 0) {
        int rc = nn_dist_agree(r->d, failed, e);
        return rc ? rc : nn_err(e, NN_EMPI, "a rank reported a failure without a message");
    }
    if (!isfinite(red[1]))
        return nonfinite_loss(r, red[1], last, epoch, s, e);
    /* A NaN input behind a ReLU can leave the loss finite while the
     * gradients are not. */
    int bad = nonfinite_layer(r->m);
    if (bad >= 0)
        return nn_err(e, NN_ENAN, "gradient of layer '%s' is NaN/Inf at epoch %d, step %ld/%ld (learning rate %g): check the data for NaN/Inf or lower the learning rate",
                      r->m->layers[bad].name, epoch + 1, s + 1, r->steps,
                      nn_optim_lr(&r->m->optim));
    return NN_OK;
}

int fit_step(fit_run *r, int epoch, long s, fit_step_out *out, nn_error *e)
{
    nn_model *m = r->m;
    step_clock t = {.t0 = nn_now()};
    stats_warmup_over(r, t.t0);
    step_rows sr = rows_of_step(r, s);
    const nn_prefetch_slot *batch;
    int failed = next_batch(r, epoch, s, &batch, e);
    t.t1 = nn_now();

    memset(out->red, 0, sizeof out->red);
    zero_grads(r);
    micro_batch last = {batch->x, 0};
    if (r->det) {
        r->det_c0 = sr.off / r->det_c;
        r->det_k = failed ? 0 : (sr.cnt + r->det_c - 1) / r->det_c;
        r->det_rows = 0;   /* det_forward_backward sets them */
        memset(r->det_tab, 0, r->det_ktot * (size_t)r->det_ns * sizeof *r->det_tab);
        if (r->det_k || r->det_stab)
            last = det_forward_backward(r, batch, epoch, r->det_k ? sr.cnt : 0, sr.rows);
    } else if (!failed && sr.cnt)
        last = forward_backward(r, batch, epoch, sr.cnt, sr.rows, out->red);
    else {   /* no rows here: join the ranks' batch statistics all the same */
        nn_ctx ctx = {.training = 1, .seed = r->fa->seed, .epoch = (uint64_t)epoch};
        stats_ctx(r, &ctx);
        if (ctx.allsum)
            nn_model_whole_batch_idle(m, &ctx);
    }
    out->red[0] = failed ? 1 : 0;
    out->red[2 + m->metric_sums] = stop_requested(r);
    t.t2 = nn_now();
    int rc = finish_sync(r, sr.rows, out->red, e);
    t.t3 = nn_now();
    /* The regularizers' gradient, once on the averaged gradient; their
     * penalty once per batch, weighted by its rows as Keras's mean of the
     * batches' losses is. */
    if (!rc && out->red[0] == 0) {
        nn_model_reg_grad(m);
        out->red[1] += nn_model_reg_penalty(m) * (double)sr.rows;
    }
    if (!rc)
        rc = check_step(r, failed, out->red, &last, epoch, s, e);
    if (rc)
        return rc;

    nn_optim_begin_step(&m->optim, r->step_id);
    nn_model_update(m);
    t.t4 = nn_now();
    account_step(r, &t, sr.cnt);
    out->rows = sr.rows;
    out->secs = t.t4 - t.t0;
    return NN_OK;
}
