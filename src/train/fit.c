/* The training loop (Keras Model.fit), data parallel: every rank runs the
 * same steps; each global batch of B samples from one permutation keyed by
 * (seed, epoch) is split over the ranks; the loss seeds dL/dy = 1/B_global,
 * so one sum-allreduce gives the global-mean gradient and the optimizer step
 * is identical everywhere. A small allreduce per step carries the failure
 * flag, the loss and metric sums, so every rank stops at the same step. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "nntrain/clock.h"
#include "nntrain/prefetch.h"
#include "nntrain/timeline.h"
#include "nntrain/fit.h"
#include "nntrain/evaluate.h"
#include "progress.h"

/* Column names of the history: loss, metrics, then val_ versions. */
static void history_cols(nn_history *h, const nn_model *m, int has_val)
{
    h->ncols = 0;
    for (int v = 0; v <= has_val; v++) {
        snprintf(h->cols[h->ncols++], sizeof h->cols[0], "%sloss", v ? "val_" : "");
        for (int k = 0; k < m->nmetrics; k++)
            snprintf(h->cols[h->ncols++], sizeof h->cols[0], "%s%s", v ? "val_" : "",
                     m->metric_names[k]);
    }
}

static int history_add(nn_history *h, const double *row, nn_error *e)
{
    if (h->epochs == h->cap) {
        int cap = h->cap ? 2 * h->cap : 16;
        double *v = realloc(h->vals, (size_t)cap * (size_t)h->ncols * sizeof *v);
        if (!v)
            return nn_err(e, NN_ENOMEM, "out of memory for the history");
        h->vals = v;
        h->cap = cap;
    }
    memcpy(h->vals + (size_t)h->epochs * (size_t)h->ncols, row,
           (size_t)h->ncols * sizeof *row);
    h->epochs++;
    return NN_OK;
}

/* Queues this rank's slice of global batch s for the prefetch thread. */
static void request_step(nn_prefetch *pf, long s, const uint64_t *perm, size_t n, size_t B,
                         const nn_dist *d, int epoch)
{
    size_t start = (size_t)s * B, bg = n - start < B ? n - start : B, off, cnt;
    nn_dist_shard(bg, d->size, d->rank, &off, &cnt);
    nn_prefetch_request(pf, (int)(s & 1), perm + start + off, (int)cnt, (uint64_t)epoch);
}

/* The gradients are synchronised over [lo, hi) of the flat buffer only: the
 * span of the trainable layers (frozen layers send nothing). */
typedef struct sync_span {
    nn_grad_sync *gs;
    size_t lo;
} sync_span;

static void grad_ready(void *arg, size_t off)
{
    sync_span *sp = arg;
    nn_grad_sync_ready(sp->gs, off > sp->lo ? off - sp->lo : 0);
}

static void trainable_span(const nn_model *m, size_t *lo, size_t *hi)
{
    *lo = m->nparams;
    *hi = 0;
    for (int i = 0; i < m->nlayers; i++) {
        const nn_layer *l = &m->layers[i];
        if (!l->trainable || !l->param_len)
            continue;
        if (l->param_off < *lo)
            *lo = l->param_off;
        if (l->param_off + l->param_len > *hi)
            *hi = l->param_off + l->param_len;
    }
    if (*hi < *lo)
        *lo = *hi = 0;
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

int nn_fit(nn_model *m, nn_dataset *train, nn_dataset *val, const nn_fit_opts *o,
           nn_dist *d, nn_history *h, nn_error *e)
{
    const nn_fit_args *fa = &o->fit;
    int rc = NN_OK, rank0 = d->rank == 0;
    if (!m->compiled)
        rc = nn_err(e, NN_EINVAL, "the model spec has no compile(loss=..., optimizer=...) line");
    if (!rc)
        rc = nn_check_data(m, train, e);
    if (!rc && fa->nclass_weight && !(train->nclasses > 0 && train->ydim == 1))
        rc = nn_err(e, NN_EINVAL, "%s: class_weight needs integer class labels", train->source);
    if (!rc && val)
        rc = nn_check_data(m, val, e);
    if (!rc && fa->batch_size < d->size)
        rc = nn_err(e, NN_EINVAL, "batch size %d is smaller than the number of ranks (%d): every rank needs at least one sample per step",
                    fa->batch_size, d->size);
    if (rc)
        return rc;

    /* Keras: validation_split takes the last fraction, before shuffling. */
    size_t n = train->n, n_val = 0;
    if (!val && fa->validation_split > 0) {
        size_t split_at = (size_t)((double)n * (1.0 - fa->validation_split));
        n_val = n - split_at;
        n = split_at;
    }
    if (n == 0)
        return nn_err(e, NN_EINVAL, "%s: no training samples left (n=%zu, validation_split=%g)",
                      train->source, train->n, fa->validation_split);
    size_t B = (size_t)fa->batch_size;
    long steps = (long)((n + B - 1) / B);
    if (o->max_steps > 0 && steps > o->max_steps)
        steps = o->max_steps;
    size_t off, cnt;
    nn_dist_shard(B, d->size, d->rank, &off, &cnt);
    int acc_k = o->accumulate > 1 ? o->accumulate : 1;
    int cap = (int)cnt + 1, micro = (int)((cnt + (size_t)acc_k - 1) / (size_t)acc_k) + 1;

    nn_batch b = {0};
    nn_grad_sync gs = {0};
    sync_span span = {&gs, 0};
    size_t span_hi;
    trainable_span(m, &span.lo, &span_hi);
    nn_watchdog wd = {0};
    nn_timeline tl = {0}, *tlp = NULL;
    uint64_t *perm = malloc(n * sizeof *perm), *val_idx = NULL;
    if (!perm)
        return nn_err(e, NN_ENOMEM, "out of memory for a permutation of %zu samples", n);
    if (n_val) {
        val_idx = malloc(n_val * sizeof *val_idx);
        if (!val_idx)
            rc = nn_err(e, NN_ENOMEM, "out of memory");
        for (size_t i = 0; !rc && i < n_val; i++)
            val_idx[i] = n + i;
    }
    if (!rc && !(rc = nn_batch_alloc(&b, cap, m, train, e)) &&
        !(rc = nn_model_plan(m, micro, e)) &&
        /* resumed optimizer state is kept */
        !(rc = m->optim.n == m->nparams && m->optim.slot[0]
                   ? NN_OK : nn_optim_alloc(&m->optim, m->nparams, e)) &&
        !(rc = nn_watchdog_init(&wd, d, o->stall_timeout, e)))
        rc = nn_grad_sync_init(&gs, d, m->grads + span.lo, span_hi - span.lo, &wd, e);
    if (!rc && o->timeline && !(rc = nn_timeline_start(&tl, 1u << 20, e)))
        tlp = &tl;
    nn_prefetch pf = {0};
    if (!rc)
        rc = nn_prefetch_start(&pf, train, cap, o->augment, fa->seed, e);
    rc = nn_dist_agree(d, rc, e);
    if (!rc)   /* rank 0's initial parameters for everybody */
        rc = nn_dist_bcast_floats(d, m->params, m->nparams, e);

    int has_val = val || n_val;
    nn_history hh = {0};
    if (!h)
        h = &hh;
    history_cols(h, m, has_val);
    const char *names[NN_HIST_MAX_COLS];
    for (int c = 0; c < h->ncols; c++)
        names[c] = h->cols[c];
    FILE *log = o->log ? o->log : stdout;
    /* mpirun hands every rank a pseudo-terminal even when the job's output
     * goes to a file, so under Open MPI the bar is opt-in (--progress). */
    int tty = isatty(fileno(log)) && !getenv("OMPI_COMM_WORLD_SIZE");
    int bar = fa->verbose == 1 && (o->progress == 1 || (o->progress < 0 && tty));
    int nm = m->nmetrics;
    nn_fit_stats st = {0};
    double t_start = nn_now();
    /* Linear scaling (Goyal et al.): lr * B / ref, reached by a linear ramp
     * over the warm-up steps; warm-up alone ramps up from lr / steps. */
    double lr_target = o->lr_ref_batch > 0 ? (double)B / o->lr_ref_batch : 1.0;
    double warm_steps = o->warmup_epochs > 0 ? o->warmup_epochs * (double)steps : 0;
    long long step_id = (long long)o->start_epoch * steps + o->start_step;
    const long long first_step = step_id;

    for (int epoch = o->start_epoch; epoch < fa->epochs && !rc; epoch++) {
        nn_rng pr = nn_rng_key(fa->seed, 0x5a0ff1e, (uint64_t)epoch, 0);
        if (fa->shuffle)
            nn_rng_permutation(&pr, perm, n);
        else
            for (size_t i = 0; i < n; i++)
                perm[i] = i;
        nn_progress p;
        if (rank0 && fa->verbose)
            nn_progress_begin(&p, log, bar, epoch + 1, fa->epochs, steps);
        double acc[3 + NN_MAX_METRICS] = {0}, seen = 0, train_s = 0;
        long first = 0;
        if (epoch == o->start_epoch && o->start_step > 0 && o->start_sums) {
            first = o->start_step;   /* resume inside this epoch */
            for (int k = 0; k < 1 + nm; k++)
                acc[k] = o->start_sums[k];
            seen = o->start_sums[1 + nm];
        }
        if (first < steps)
            request_step(&pf, first, perm, n, B, d, epoch);
        for (long s = first; s < steps && !rc; s++, step_id++) {
            size_t start = (size_t)s * B;
            size_t bg = n - start < B ? n - start : B;
            nn_dist_shard(bg, d->size, d->rank, &off, &cnt);
            double t0 = nn_now();
            if (o->stats_after > 0 && step_id - first_step == o->stats_after) {
                memset(&st, 0, sizeof st);   /* warm-up over */
                t_start = t0;
                if (m->prof)
                    memset(m->prof, 0, 2 * (size_t)m->nlayers * sizeof *m->prof);
            }
            /* This step's rows were read (and augmented) while the previous
             * step trained; queue the next step's now. */
            int k = (int)(s & 1);
            int st_local = nn_prefetch_wait(&pf, k, e);
            const float *bx = pf.slot[k].x, *by = pf.slot[k].y;
            const uint64_t *bids = pf.slot[k].ids;
            if (s + 1 < steps)
                request_step(&pf, s + 1, perm, n, B, d, epoch);
            double t1 = nn_now();
            /* stats: [failed, loss sum, metric sums..., stop requests] */
            double red[3 + NN_MAX_METRICS] = {0};
            size_t last_rows = 0;
            const float *last_x = bx;
            memset(m->grads, 0, m->nparams * sizeof(float));
            nn_grad_sync_begin(&gs);
            gs.step = step_id;
            /* Micro-batches accumulate into the gradients; the overlapped
             * allreduce can start only during the last one. */
            for (size_t mo = 0; !st_local && mo < cnt; mo += (size_t)micro - 1) {
                size_t mc = cnt - mo < (size_t)micro - 1 ? cnt - mo : (size_t)micro - 1;
                int last = mo + mc >= cnt;
                nn_ctx ctx = {.training = 1, .seed = fa->seed, .epoch = (uint64_t)epoch,
                              .sample_ids = bids + mo};
                const float *xm = bx + mo * b.in, *ym = by + mo * (size_t)b.ydim;
                const float *out = nn_model_forward(m, xm, (int)mc, &ctx);
                red[1] += weighted_loss(m, fa, out, ym, (int)mc, b.K, b.ydim, 1.0f / (float)bg,
                                        b.dout);
                for (int k = 0; k < nm; k++)
                    red[2 + k] += nn_metric_eval(m->metrics[k], out, ym, (int)mc, b.K, b.ydim);
                nn_model_backward_hook(m, xm, b.dout, (int)mc, &ctx, last ? grad_ready : NULL,
                                       &span);
                last_rows = mc;
                last_x = xm;
            }
            red[0] = st_local ? 1 : 0;
            red[2 + nm] = (o->stop_flag && *o->stop_flag) ||
                                  (o->stop_at_step > 0 && step_id + 1 - first_step >= o->stop_at_step)
                              ? 1 : 0;
            double t2 = nn_now();
            /* A failed rank still joins every collective (with zero
             * gradients) so that nobody hangs; then all stop together. */
            int rc2 = nn_grad_sync_finish(&gs, e);
            if (!rc2)
                rc2 = nn_dist_sum_doubles(d, red, 3 + nm, e);
            double t3 = nn_now();
            if (rc2) {
                rc = rc2;
                break;
            }
            if (red[0] > 0) {
                rc = nn_dist_agree(d, st_local ? st_local : NN_OK, e);
                if (!rc)
                    rc = nn_err(e, NN_EMPI, "a rank reported a failure without a message");
                break;
            }
            if (!isfinite(red[1])) {
                /* Where it starts, as far as this rank's last micro-batch shows. */
                int bl = nonfinite_output(m, last_x, last_rows);
                char where[200];
                if (bl >= 0)
                    snprintf(where, sizeof where, "; the first non-finite output is layer '%s'",
                             m->layers[bl].name);
                else
                    snprintf(where, sizeof where, "; every layer's output is finite, so look at the targets (layer '%s' feeds the loss)",
                             m->layers[m->nlayers - 1].name);
                rc = nn_err(e, NN_ENAN, "loss is %s at epoch %d, step %ld/%ld (learning rate %g)%s: lower the learning rate or check the data for NaN/Inf",
                            isnan(red[1]) ? "NaN" : "infinite", epoch + 1, s + 1, steps,
                            nn_optim_lr(&m->optim), where);
                break;
            }
            /* A NaN input behind a ReLU can leave the loss finite while the
             * gradients are not: check them (identical on every rank after
             * the allreduce, so every rank stops together). */
            int bad_layer = nonfinite_layer(m);
            if (bad_layer >= 0) {
                rc = nn_err(e, NN_ENAN, "gradient of layer '%s' is NaN/Inf at epoch %d, step %ld/%ld (learning rate %g): check the data for NaN/Inf or lower the learning rate",
                            m->layers[bad_layer].name, epoch + 1, s + 1, steps,
                            nn_optim_lr(&m->optim));
                break;
            }
            if (warm_steps > 0 && (double)step_id < warm_steps) {
                double f = ((double)step_id + 1) / warm_steps;
                m->optim.lr_scale = lr_target > 1 ? 1 + (lr_target - 1) * f : f;
            } else {
                m->optim.lr_scale = lr_target;
            }
            nn_model_update(m);
            double t4 = nn_now();
            nn_timeline_add(tlp, NN_TL_DATA, t0, t1);
            nn_timeline_add(tlp, NN_TL_COMPUTE, t1, t2);
            nn_timeline_add(tlp, NN_TL_ALLREDUCE, t2, t3);
            nn_timeline_add(tlp, NN_TL_OPTIM, t3, t4);
            st.data_s += t1 - t0;
            st.compute_s += (t2 - t1) + (t4 - t3);
            st.comm_s += t3 - t2;
            st.steps++;
            st.samples += (long)cnt;
            train_s += t4 - t0;
            for (int k = 0; k < 1 + nm; k++)
                acc[k] += red[1 + k];
            seen += (double)bg;
            if (rank0 && fa->verbose) {
                double run[1 + NN_MAX_METRICS];
                for (int k = 0; k < 1 + nm; k++)
                    run[k] = acc[k] / seen;
                nn_progress_step(&p, s + 1, names, run, 1 + nm);
            }
            /* Preemption: every rank saw the same flag sum, so all stop at
             * this step; the hook writes the checkpoint. */
            if (red[2 + nm] > 0 && s + 1 < steps) {
                double sums[3 + NN_MAX_METRICS];
                memcpy(sums, acc, (size_t)(1 + nm) * sizeof *sums);
                sums[1 + nm] = seen;
                nn_fit_event ev = {.epoch = epoch, .step = s + 1, .iterations = step_id + 1,
                                   .sums = sums, .stopping = 1};
                if (rank0 && fa->verbose && p.bar)
                    fprintf(log, "\n");
                rc = o->hook ? o->hook(o->hook_arg, &ev, e) : NN_OK;
                if (!rc)
                    rc = nn_err(e, NN_ESTOP, "stopped by a signal at epoch %d, step %ld/%ld",
                                epoch + 1, s + 1, steps);
                step_id++;
                break;
            }
        }
        if (rc)
            break;
        double row[NN_HIST_MAX_COLS];
        for (int k = 0; k < 1 + nm; k++)
            row[k] = acc[k] / seen;
        if (has_val) {
            double tv = nn_now();
            rc = val ? nn_evaluate(m, val, NULL, 0, fa->batch_size, d, row + 1 + nm, e)
                     : nn_evaluate(m, train, val_idx, n_val, fa->batch_size, d, row + 1 + nm, e);
            nn_timeline_add(tlp, NN_TL_VALIDATE, tv, nn_now());
            if (rc)
                break;
        }
        if ((rc = history_add(h, row, e)))
            break;
        if (rank0 && fa->verbose)
            nn_progress_end(&p, train_s, names, row, h->ncols);
        int wrc = NN_OK;
        if (rank0 && o->history_csv)
            wrc = nn_history_write_csv(h, o->history_csv, e);
        rc = nn_dist_agree(d, wrc, e);
        if (!rc && o->hook) {
            double zero[3 + NN_MAX_METRICS] = {0};
            nn_fit_event ev = {.epoch = epoch + 1, .step = 0, .iterations = step_id,
                               .row = row, .sums = zero};
            rc = o->hook(o->hook_arg, &ev, e);
        }
        /* A stop requested during the last step of the epoch is honoured here. */
        if (!rc && o->stop_flag && epoch + 1 < fa->epochs) {
            double stop = *o->stop_flag ? 1 : 0;
            if ((rc = nn_dist_sum_doubles(d, &stop, 1, e)) == NN_OK && stop > 0)
                rc = nn_err(e, NN_ESTOP, "stopped by a signal after epoch %d", epoch + 1);
        }
    }
    nn_prefetch_stop(&pf);
    nn_watchdog_free(&wd);
    if (tlp) {
        nn_error te = {0};
        int trc = nn_timeline_write(tlp, d, o->timeline, &te);
        if (!rc && trc) {
            rc = trc;
            *e = te;
        }
        nn_timeline_free(&tl);
    }
    st.total_s = nn_now() - t_start;
    if (o->stats)
        *o->stats = st;
    nn_history_free(&hh);
    nn_grad_sync_free(&gs);
    nn_batch_free(&b);
    free(perm);
    free(val_idx);
    return rc;
}
