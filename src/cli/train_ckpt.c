/* Checkpoints for `nntrain train`: Keras ModelCheckpoint semantics for
 * --checkpoint (monitor, mode, save_best_only, period), an always-written
 * DIR/last.h5 for resuming, --resume, and preemption: SIGTERM/SIGUSR1 set a
 * flag that nn_fit agrees on across ranks at the next step; last.h5 is then
 * written and train exits with NN_EXIT_PREEMPTED so a requeued job resumes. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "nntrain/checkpoint.h"

static volatile sig_atomic_t stop_requested;
static volatile int stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
    stop_flag = 1;
}

volatile int *cli_install_stop_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    return &stop_flag;
}

/* A signal that reaches a rank before its handler is in place kills it
 * (SIGUSR1's default action), so the job scripts hold a signal until rank 0
 * creates NNTRAIN_READY_FILE: that happens once every rank has passed MPI
 * start-up, which each enters with its handler installed. */
void cli_signal_ready(nn_dist *d)
{
    nn_error e = {0};
    if (nn_dist_agree(d, NN_OK, &e))
        return;
    const char *path = getenv("NNTRAIN_READY_FILE");
    if (d->rank != 0 || !path || !*path)
        return;
    FILE *f = fopen(path, "w");
    if (f)
        fclose(f);
    else
        fprintf(stderr, "nntrain: warning: cannot create NNTRAIN_READY_FILE %s: %s\n", path,
                strerror(errno));
}

int cli_ckpt_setup(cli_ckpt *c, cli_opt *opts, const char *outdir, const nn_model *m,
                   int has_val, nn_error *e)
{
    memset(c, 0, sizeof *c);
    c->st.cb = &c->cbs;
    c->col = -1;
    snprintf(c->last, sizeof c->last, "%s/last.h5", outdir);
    cli_opt *ck = cli_find(opts, "--checkpoint");
    c->best = ck->given ? ck->value : NULL;
    c->best_only = cli_find(opts, "--save-best-only")->given;
    c->period = 1;
    int rc = cli_int(opts, "--period", &c->period, e);
    if (!rc && c->period < 1)
        rc = nn_err(e, NN_EINVAL, "--period must be >= 1, got %d", c->period);
    const char *mon = cli_find(opts, "--monitor")->value;
    snprintf(c->monitor, sizeof c->monitor, "%s", mon ? mon : "val_loss");
    const char *mode = cli_find(opts, "--mode")->value;
    if (!rc && mode && strcmp(mode, "auto") && strcmp(mode, "min") && strcmp(mode, "max"))
        rc = nn_err(e, NN_EINVAL, "--mode must be auto, min or max, not '%s'", mode);
    /* Keras: auto means max for accuracies, min for everything else; here
     * also for auc, precision and recall, which Keras 2 would minimise. */
    c->maximize = mode && strcmp(mode, "auto") ? !strcmp(mode, "max")
                                               : strstr(c->monitor, "acc") != NULL ||
                                                     strstr(c->monitor, "auc") != NULL ||
                                                     strstr(c->monitor, "precision") != NULL ||
                                                     strstr(c->monitor, "recall") != NULL;
    if (rc || !c->best)
        return rc;
    nn_history cols = {0};   /* the columns nn_fit will produce */
    if ((rc = nn_history_columns(&cols, m, has_val, e)))
        return rc;
    c->col = nn_history_find(&cols, c->monitor);
    if (c->col < 0)
        return nn_err(e, NN_EINVAL, "--monitor %s is not one of this run's metrics (loss%s%s%s)",
                      c->monitor, m->nmetrics ? ", " : "", m->nmetrics ? m->metric_names[0] : "",
                      has_val ? ", and val_ versions" : "; there is no validation data");
    return NN_OK;
}

int cli_ckpt_resume(cli_ckpt *c, const char *resume, nn_model *m, nn_fit_opts *fo,
                    const nn_dataset *train, int seed_given, nn_history *h, nn_dist *d,
                    nn_error *e)
{
    const char *path = resume;
    if (!strcmp(resume, "auto")) {
        if (access(c->last, R_OK)) {
            if (d->rank == 0 && fo->fit.verbose)
                printf("No %s yet: starting from scratch\n", c->last);
            return NN_OK;
        }
        path = c->last;
    }
    nn_train_state st;
    int rc = nn_optim_alloc(&m->optim, m->nparams, e);
    if (!rc)
        rc = nn_ckpt_load_weights(path, m, 0, e);
    if (!rc)
        rc = nn_ckpt_load_state(path, m, &st, h, e);
    if (!rc)
        rc = nn_ckpt_load_callbacks(path, &c->cbs, m->nparams, e);
    if (!rc && st.data_checksum && train->checksum && st.data_checksum != train->checksum)
        rc = nn_err(e, NN_EINVAL, "%s: the training data changed since checkpoint %s was written (checksum %016llx, now %016llx): resume with the same data or start a new run",
                    train->source, path, (unsigned long long)st.data_checksum,
                    (unsigned long long)train->checksum);
    if (!rc && seed_given && st.seed != fo->fit.seed)
        rc = nn_err(e, NN_EINVAL, "--seed %llu differs from the checkpoint's seed %llu: a resumed run keeps its seed",
                    (unsigned long long)fo->fit.seed, (unsigned long long)st.seed);
    if (rc)
        return rc;
    fo->fit.seed = st.seed;
    st.class_names = c->st.class_names;   /* of this run's data */
    st.nclass_names = c->st.nclass_names;
    st.cb = &c->cbs;
    c->st = st;
    fo->start_epoch = st.epoch;
    fo->start_step = st.step;
    memcpy(c->sums, st.epoch_sums, sizeof c->sums);
    fo->start_sums = c->sums;
    if (d->rank == 0 && fo->fit.verbose && st.step)
        printf("Resuming from %s: %ld steps into epoch %d, %lld optimizer steps done\n", path,
               st.step, st.epoch + 1, (long long)m->optim.iterations);
    else if (d->rank == 0 && fo->fit.verbose)
        printf("Resuming from %s: %d epoch%s done, %lld optimizer steps\n", path, st.epoch,
               st.epoch == 1 ? "" : "s", (long long)m->optim.iterations);
    if (d->rank == 0 && !st.step && st.epoch >= fo->fit.epochs)
        printf("Nothing left to train: %s has all %d epoch%s of this run (raise --epochs to "
               "train on)\n", path, fo->fit.epochs, fo->fit.epochs == 1 ? "" : "s");
    return NN_OK;
}

int cli_ckpt_hook(void *arg, const nn_fit_event *ev, nn_error *e)
{
    cli_ckpt *c = arg;
    int rc = NN_OK;
    c->st.epoch = ev->epoch;
    c->st.step = ev->step;
    memcpy(c->st.epoch_sums, ev->sums, sizeof c->st.epoch_sums);
    snprintf(c->st.monitor, sizeof c->st.monitor, "%s", c->best ? c->monitor : "");
    if (c->d->rank == 0) {
        if (ev->row && c->best) {
            double v = ev->row[c->col], old = c->st.best;
            int had = c->st.has_best;
            int better = isfinite(v) && (!had || (c->maximize ? v > old : v < old));
            if (better) {
                c->st.best = v;
                c->st.has_best = 1;
            }
            if ((!c->best_only || better) && ev->epoch % c->period == 0) {
                rc = nn_ckpt_save(c->best, c->m, c->spec_text, &c->st, c->h, e);
                if (!rc && c->verbose && better && had)
                    printf("Epoch %d: %s improved from %.5f to %.5f, saving model to %s\n",
                           ev->epoch, c->monitor, old, v, c->best);
                else if (!rc && c->verbose)
                    printf("Epoch %d: saving model to %s\n", ev->epoch, c->best);
            } else if (c->verbose) {
                printf("Epoch %d: %s did not improve from %.5f\n", ev->epoch, c->monitor, old);
            }
        }
        if (!rc)
            rc = nn_ckpt_save(c->last, c->m, c->spec_text, &c->st, c->h, e);
        if (!rc && ev->stopping)
            fprintf(stderr, "nntrain: stop requested: checkpoint written to %s at epoch %d, step %ld; resume with --resume %s\n",
                    c->last, ev->epoch + 1, ev->step, c->last);
        fflush(stdout);
    }
    return nn_dist_agree(c->d, rc, e);
}
