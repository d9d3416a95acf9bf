/* The training loop (Keras Model.fit), data parallel: every rank runs the
 * same steps; each global batch of B samples from one permutation keyed by
 * (seed, epoch) is split over the ranks; the loss seeds dL/dy = 1/B_global,
 * so one sum-allreduce gives the global-mean gradient and the optimizer step
 * is identical everywhere. A small allreduce per step carries the failure
 * flag, the loss and metric sums, so every rank stops at the same step.
 * This file sets a run up, runs its epochs and tears it down; the step
 * itself is in fit_step.c. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fit_run.h"
#include "nntrain/clock.h"
#include "nntrain/evaluate.h"
#include "train/exec.h"
#include "progress.h"

static int check_inputs(const nn_model *m, nn_dataset *train, nn_dataset *val,
                        const nn_fit_args *fa, const nn_dist *d, nn_error *e)
{
    int rc = NN_OK;
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
    return rc;
}

/* The run's shape: training and validation rows, steps per epoch, rows per
 * rank and micro-batch; and the permutation buffer. */
static int fit_plan(fit_run *r, nn_error *e)
{
    const nn_fit_args *fa = r->fa;
    /* Keras: validation_split takes the last fraction, before shuffling. */
    size_t n = r->train->n, n_val = 0;
    if (!r->val && fa->validation_split > 0) {
        size_t split_at = (size_t)((double)n * (1.0 - fa->validation_split));
        n_val = n - split_at;
        n = split_at;
    }
    if (n == 0)
        return nn_err(e, NN_EINVAL, "%s: no training samples left (n=%zu, validation_split=%g)",
                      r->train->source, r->train->n, fa->validation_split);
    r->n = n;
    r->n_val = n_val;
    r->has_val = r->val || n_val;
    r->B = (size_t)fa->batch_size;
    r->steps = (long)((n + r->B - 1) / r->B);
    if (r->o->max_steps > 0 && r->steps > r->o->max_steps)
        r->steps = r->o->max_steps;
    size_t off, cnt;
    nn_dist_shard(r->B, r->d->size, r->d->rank, &off, &cnt);
    int acc_k = r->o->accumulate > 1 ? r->o->accumulate : 1;
    if (acc_k > 1 && nn_exec_whole_batch(r->m))   /* micro-batches would each have their own */
        return nn_err(e, NN_EINVAL,
                      "--accumulate %d: BatchNormalization needs the whole batch at once "
                      "(its statistics); train without --accumulate", acc_k);
    r->cap = (int)cnt + 1;
    r->plan_rows = (int)((cnt + (size_t)acc_k - 1) / (size_t)acc_k) + 1;
    r->chunk = (size_t)r->plan_rows - 1;
    r->det = fa->deterministic;
    if (r->det) {
        int rc = fit_det_plan(r, e);
        if (rc)
            return rc;
    }
    r->perm = malloc(n * sizeof *r->perm);
    if (!r->perm)
        return nn_err(e, NN_ENOMEM, "out of memory for a permutation of %zu samples", n);
    return NN_OK;
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

/* Keras's validation_split takes the last fraction of the file, so data
 * stored class after class validates on one class (val_accuracy 0 or 1 for
 * ever). Rank 0 reads up to 256 validation labels spread evenly over it
 * (before the reader thread starts: one reader at a time) and warns when
 * they are all the same class. Nothing fails here: a read error shows up
 * again, as an error, in the first validation. */
static void warn_one_class_val(const fit_run *r)
{
    nn_dataset *ds = r->val ? r->val : r->train;
    size_t n = r->val ? r->val->n : r->n_val;
    if (r->d->rank != 0 || ds->nclasses < 2 || ds->ydim != 1 || n < 2 || !r->fa->verbose)
        return;
    enum { PICK = 256 };
    size_t k = n < PICK ? n : PICK, in = nn_shape_size(&ds->x_shape);
    uint64_t idx[PICK];
    float y[PICK], *x = malloc(k * in * sizeof *x);
    nn_error ignore = {0};
    for (size_t i = 0; i < k; i++)
        idx[i] = (r->val ? 0 : r->n) + i * (n - 1) / (k > 1 ? k - 1 : 1);
    if (x && !ds->read(ds, idx, (int)k, x, y, &ignore)) {
        size_t same = 1;
        while (same < k && y[same] == y[0])
            same++;
        if (same == k)
            fprintf(stderr, "nntrain: warning: the validation set (%zu samples%s) looks like "
                    "one class: the %zu labels read across it are all %d. Keras's "
                    "validation_split takes the file's last fraction: store the data "
                    "shuffled (nntrain convert images does by default) or give --val FILE\n",
                    n, r->val ? "" : ", the last of the training file", k, (int)y[0]);
    }
    free(x);
}

/* The callbacks' monitors are this run's columns; a fresh state is reset
 * (Keras's on_train_begin), a resumed one kept; its lr factor goes to the
 * optimizer. Every rank takes the same path. */
static int callbacks_begin(fit_run *r, nn_error *e)
{
    const nn_callbacks *c = &r->fa->cb;
    nn_history cols = {0};
    int rc = nn_history_columns(&cols, r->m, r->has_val, e);
    if (!rc)
        rc = nn_cb_check(c, (const char(*)[48])cols.cols, cols.ncols, e);
    nn_history_free(&cols);
    /* as tf.keras: a schedule's rate is not the plateau's to change */
    if (!rc && c->rlr.enabled && r->m->optim.sched.kind)
        rc = nn_err(e, NN_EINVAL, "ReduceLROnPlateau cannot lower a learning-rate schedule's "
                    "rate (tf.keras refuses it too): give the optimizer a fixed learning_rate, "
                    "or drop the callback");
    r->cbs = r->o->cb_state ? r->o->cb_state : &r->own_cbs;
    if (rc)
        return rc;
    nn_cb_reset(c, r->cbs);
    nn_optim_set_lr_factor(&r->m->optim, r->cbs->lr_factor);
    if (r->rank0 && r->o->start_epoch == 0 && r->o->start_step == 0)
        rc = nn_cb_csv_start(c, e);
    return rc;
}

/* Buffers, plan, optimizer state, watchdog, gradient sync, timeline and the
 * reader thread; then the ranks agree and take rank 0's parameters. */
static int fit_open(fit_run *r, nn_error *e)
{
    nn_model *m = r->m;
    const nn_fit_opts *o = r->o;
    size_t span_hi;
    trainable_span(m, &r->span.lo, &span_hi);
    r->span.gs = &r->gs;
    int rc = callbacks_begin(r, e);
    if (!rc && r->n_val) {
        r->val_idx = malloc(r->n_val * sizeof *r->val_idx);
        if (!r->val_idx)
            rc = nn_err(e, NN_ENOMEM, "out of memory");
        for (size_t i = 0; !rc && i < r->n_val; i++)
            r->val_idx[i] = r->n + i;
    }
    if (!rc && !(rc = nn_batch_alloc(&r->b, r->cap, m, r->train, e)) &&
        !(rc = nn_model_plan(m, r->plan_rows, e)) &&
        /* resumed optimizer state is kept */
        !(rc = m->optim.n == m->nparams && m->optim.slot[0]
                   ? NN_OK : nn_optim_alloc(&m->optim, m->nparams, e)) &&
        !(rc = nn_watchdog_init(&r->wd, r->d, o->stall_timeout, e)) &&
        !(rc = nn_dist_dup(r->d, &r->stats_d, e)))
        rc = nn_grad_sync_init(&r->gs, r->d, m->grads + r->span.lo, span_hi - r->span.lo,
                               &r->wd, e);
    if (!rc && r->det)
        rc = fit_det_open(r, e);
    if (!rc && o->timeline && !(rc = nn_timeline_start(&r->tl, 1u << 20, e)))
        r->tlp = &r->tl;
    if (!rc)   /* a stall or a lost rank ends the job where no gather can run */
        nn_watchdog_keep(&r->wd, r->tlp, o->timeline, o->stop_flag);
    if (!rc)
        warn_one_class_val(r);
    if (!rc)
        rc = nn_prefetch_start(&r->pf, r->train, r->cap, o->augment, r->fa->seed, e);
    rc = nn_dist_agree(r->d, rc, e);
    if (!rc && r->det)
        rc = fit_det_kernels(r, e);
    if (!rc)   /* rank 0's initial parameters for everybody */
        rc = nn_dist_bcast_floats(r->d, m->params, m->nparams, e);
    return rc;
}

/* The history's columns, and where and how progress is shown. */
static int fit_output(fit_run *r, nn_error *e)
{
    int rc = nn_history_columns(r->h, r->m, r->has_val, e);
    for (int c = 0; c < r->h->ncols; c++)
        r->names[c] = r->h->cols[c];
    r->log = r->o->log ? r->o->log : stdout;
    /* mpirun hands every rank a pseudo-terminal even when the job's output
     * goes to a file, so under Open MPI the bar is opt-in (--progress). */
    int tty = isatty(fileno(r->log)) && !getenv("OMPI_COMM_WORLD_SIZE");
    r->bar = r->fa->verbose == 1 && (r->o->progress == 1 || (r->o->progress < 0 && tty));
    return rc;
}

/* One epoch's running sums. */
typedef struct fit_epoch {
    int epoch;
    long first;                       /* first step: > 0 when resumed inside it */
    double acc[2 + NN_METRIC_MAX_SUMS];   /* loss and metric sums */
    double seen, train_s;
    nn_progress p;
} fit_epoch;

static void epoch_begin(fit_run *r, fit_epoch *ep, int epoch)
{
    const nn_fit_opts *o = r->o;
    int W = r->m->metric_sums;
    memset(ep, 0, sizeof *ep);
    ep->epoch = epoch;
    nn_rng pr = nn_rng_key(r->fa->seed, 0x5a0ff1e, (uint64_t)epoch, 0);
    if (r->fa->shuffle)
        nn_rng_permutation(&pr, r->perm, r->n);
    else
        for (size_t i = 0; i < r->n; i++)
            r->perm[i] = i;
    if (r->rank0 && r->fa->verbose)
        nn_progress_begin(&ep->p, r->log, r->bar, epoch + 1, r->fa->epochs, r->steps);
    if (epoch == o->start_epoch && o->start_step > 0 && o->start_sums) {
        ep->first = o->start_step;
        for (int k = 0; k < 1 + W; k++)
            ep->acc[k] = o->start_sums[k];
        ep->seen = o->start_sums[1 + W];
    }
    if (ep->first < r->steps)
        fit_request_step(r, ep->first, epoch);
}

static void epoch_add_step(fit_run *r, fit_epoch *ep, long s, const fit_step_out *so)
{
    const nn_model *m = r->m;
    ep->train_s += so->secs;
    for (int k = 0; k < 1 + m->metric_sums; k++)
        ep->acc[k] += so->red[1 + k];
    ep->seen += (double)so->rows;
    if (r->rank0 && r->fa->verbose) {
        double run[1 + NN_MAX_METRICS];
        run[0] = ep->acc[0] / ep->seen;
        nn_metrics_values(m->metrics, m->nmetrics, ep->acc + 1, ep->seen, run + 1);
        nn_progress_step(&ep->p, s + 1, r->names, run, 1 + m->nmetrics);
    }
}

/* Preemption after step s: every rank saw the same flag sum, so all stop
 * here; the hook writes the checkpoint. */
static int stop_in_epoch(fit_run *r, fit_epoch *ep, long s, nn_error *e)
{
    const nn_fit_opts *o = r->o;
    int W = r->m->metric_sums;
    double sums[2 + NN_METRIC_MAX_SUMS] = {0};
    memcpy(sums, ep->acc, (size_t)(1 + W) * sizeof *sums);
    sums[1 + W] = ep->seen;
    nn_fit_event ev = {.epoch = ep->epoch, .step = s + 1, .iterations = r->step_id + 1,
                       .sums = sums, .stopping = 1};
    if (r->rank0 && r->fa->verbose && ep->p.bar)
        fprintf(r->log, "\n");
    int rc = o->hook ? o->hook(o->hook_arg, &ev, e) : NN_OK;
    if (!rc)
        rc = nn_err(e, NN_ESTOP, "stopped by %s at epoch %d, step %ld/%ld",
                    o->stop_at_step > 0 && r->step_id + 1 - r->first_step >= o->stop_at_step
                        ? "--stop-after" : "a signal",
                    ep->epoch + 1, s + 1, r->steps);
    r->step_id++;
    return rc;
}

static int validate(fit_run *r, double *scores, nn_error *e)
{
    int bs = r->fa->batch_size;
    double tv = nn_now();
    int rc;
    if (r->det)
        rc = r->val ? nn_evaluate_det(r->m, r->val, NULL, 0, bs, (int)r->det_c, r->d, scores, e)
                    : nn_evaluate_det(r->m, r->train, r->val_idx, r->n_val, bs, (int)r->det_c,
                                      r->d, scores, e);
    else
        rc = r->val ? nn_evaluate(r->m, r->val, NULL, 0, bs, r->d, scores, e)
                    : nn_evaluate(r->m, r->train, r->val_idx, r->n_val, bs, r->d, scores, e);
    nn_timeline_add(r->tlp, NN_TL_VALIDATE, tv, nn_now());
    return rc;
}

/* ReduceLROnPlateau, then EarlyStopping (keeping or restoring the best
 * weights) on the epoch's row, the same on every rank; then CSVLogger's row
 * (rank 0). Keras's messages on rank 0. */
static int callbacks_end(fit_run *r, int epoch, const double *row, nn_error *e)
{
    const nn_callbacks *c = &r->fa->cb;
    nn_cb_state *s = r->cbs;
    nn_model *m = r->m;
    FILE *say = r->rank0 && r->fa->verbose ? r->log : NULL;
    double lr;
    if (c->rlr.enabled &&
        nn_cb_rlr_step(&c->rlr, s, m->optim.lr, row[nn_history_find(r->h, c->rlr.monitor)], &lr)) {
        nn_optim_set_lr_factor(&m->optim, s->lr_factor);
        if (say)
            fprintf(say, "Epoch %05d: ReduceLROnPlateau reducing learning rate to %g.\n",
                    epoch + 1, lr);
    }
    int act = c->es.enabled
                  ? nn_cb_es_step(&c->es, s, row[nn_history_find(r->h, c->es.monitor)], epoch)
                  : 0;
    if ((act & NN_CB_SNAPSHOT) && !s->best_weights) {
        if (!(s->best_weights = malloc((m->nparams ? m->nparams : 1) * sizeof(float))))
            return nn_err(e, NN_ENOMEM, "EarlyStopping(restore_best_weights=True): out of "
                          "memory for a copy of %zu parameters", m->nparams);
        s->nbest = m->nparams;
    }
    if (act & NN_CB_SNAPSHOT)
        memcpy(s->best_weights, m->params, m->nparams * sizeof(float));
    if (act & NN_CB_RESTORE) {
        memcpy(m->params, s->best_weights, m->nparams * sizeof(float));
        if (say)
            fprintf(say, "Restoring model weights from the end of the best epoch: %d.\n",
                    s->es_best_epoch + 1);
    }
    if (act & NN_CB_STOP) {
        r->stop_training = 1;
        if (say)
            fprintf(say, "Epoch %05d: early stopping\n", epoch + 1);
    }
    if (say)
        fflush(say);
    return r->rank0 ? nn_cb_csv_row(c, (const char(*)[48])r->h->cols, r->h->ncols, row, epoch, e)
                    : NN_OK;
}

/* The epoch's history row (training means, then validation scores), the
 * epoch line, the callbacks, the CSV, the hook; then a stop requested during
 * the epoch's last step. */
static int epoch_end(fit_run *r, fit_epoch *ep, nn_error *e)
{
    const nn_fit_opts *o = r->o;
    int nm = r->m->nmetrics, rc = NN_OK;
    double row[NN_HIST_MAX_COLS];
    row[0] = ep->acc[0] / ep->seen;
    nn_metrics_values(r->m->metrics, nm, ep->acc + 1, ep->seen, row + 1);
    if (r->has_val && (rc = validate(r, row + 1 + nm, e)))
        return rc;
    row[r->h->ncols - 1] = r->m->optim.last_lr;   /* "lr", the last column */
    if ((rc = nn_history_add(r->h, row, e)))
        return rc;
    if (r->rank0 && r->fa->verbose)   /* the epoch line as before, without lr */
        nn_progress_end(&ep->p, ep->train_s, r->names, row, r->h->ncols - 1);
    int wrc = callbacks_end(r, ep->epoch, row, e);
    if (!wrc && r->rank0 && o->history_csv)
        wrc = nn_history_write_csv(r->h, o->history_csv, e);
    rc = nn_dist_agree(r->d, wrc, e);
    if (!rc && o->hook) {
        double zero[2 + NN_METRIC_MAX_SUMS] = {0};
        nn_fit_event ev = {.epoch = ep->epoch + 1, .step = 0, .iterations = r->step_id,
                           .row = row, .sums = zero};
        rc = o->hook(o->hook_arg, &ev, e);
    }
    if (!rc && o->stop_flag && ep->epoch + 1 < r->fa->epochs && !r->stop_training) {
        double stop = *o->stop_flag ? 1 : 0;
        if ((rc = nn_dist_sum_doubles(r->d, &stop, 1, e)) == NN_OK && stop > 0)
            rc = nn_err(e, NN_ESTOP, "stopped by a signal after epoch %d", ep->epoch + 1);
    }
    return rc;
}

static int run_epoch(fit_run *r, int epoch, nn_error *e)
{
    fit_epoch ep;
    epoch_begin(r, &ep, epoch);
    for (long s = ep.first; s < r->steps; s++, r->step_id++) {
        fit_step_out so;
        int rc = fit_step(r, epoch, s, &so, e);
        if (rc)
            return rc;
        epoch_add_step(r, &ep, s, &so);
        if (so.red[2 + r->m->metric_sums] > 0 && s + 1 < r->steps)
            return stop_in_epoch(r, &ep, s, e);
    }
    return epoch_end(r, &ep, e);
}

/* Stops the reader, writes the timeline (collective) and the stats, frees. */
static int fit_close(fit_run *r, int rc, nn_error *e)
{
    nn_prefetch_stop(&r->pf);
    nn_watchdog_free(&r->wd);
    if (r->tlp) {
        nn_error te = {0};
        int trc = nn_timeline_write(r->tlp, r->d, r->o->timeline, &te);
        if (!rc && trc) {
            rc = trc;
            *e = te;
        }
        nn_timeline_free(&r->tl);
    }
    r->st.total_s = nn_now() - r->t_start;
    if (r->o->stats)
        *r->o->stats = r->st;
    nn_grad_sync_free(&r->gs);
    fit_det_close(r);
    nn_dist_free_sub(&r->stats_d);
    nn_batch_free(&r->b);
    free(r->perm);
    free(r->val_idx);
    return rc;
}

int nn_fit(nn_model *m, nn_dataset *train, nn_dataset *val, const nn_fit_opts *o,
           nn_dist *d, nn_history *h, nn_error *e)
{
    int rc = check_inputs(m, train, val, &o->fit, d, e);
    if (rc)
        return rc;
    nn_history own = {0};
    fit_run r = {.m = m, .train = train, .val = val, .o = o, .fa = &o->fit, .d = d,
                 .h = h ? h : &own, .rank0 = d->rank == 0};
    if ((rc = fit_plan(&r, e)))
        return rc;
    rc = fit_open(&r, e);
    if (!rc)
        rc = fit_output(&r, e);
    r.t_start = nn_now();
    nn_optim_schedule(&m->optim, r.B, o->lr_ref_batch, o->warmup_epochs, r.steps);
    r.step_id = r.first_step = (long long)o->start_epoch * r.steps + o->start_step;
    if (!rc && r.cbs->stopped_epoch > 0 && r.rank0 && o->fit.verbose)
        fprintf(r.log, "EarlyStopping stopped this run after epoch %d: nothing left to train\n",
                r.cbs->stopped_epoch);
    for (int epoch = o->start_epoch;
         epoch < o->fit.epochs && !rc && !r.stop_training && !r.cbs->stopped_epoch; epoch++)
        rc = run_epoch(&r, epoch, e);
    rc = fit_close(&r, rc, e);
    nn_cb_state_free(&r.own_cbs);
    nn_history_free(&own);
    return rc;
}
