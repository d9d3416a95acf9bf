/* nntrain train MODEL.nn --data SRC: fit (data parallel under MPI), then
 * evaluate on the test split. Every rank runs this; rank 0 speaks. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "cli.h"
#include "nntrain/gemm.h"
#include "nntrain/fit.h"
#include "nntrain/evaluate.h"

static const char *help =
    "usage: nntrain train MODEL.nn --data SRC [options]\n"
    "\n"
    "  --data SRC              training data: an IDX directory (MNIST/Fashion-MNIST)\n"
    "                          or synthetic:sqrt[:N]\n"
    "  --val SRC               validation data (default: fit(validation_split=...))\n"
    "  --test SRC              evaluate on SRC after training (default: the test split\n"
    "                          of --data when it has one); --no-test to skip\n"
    "  --epochs N  --batch-size B  --validation-split F  --seed S  --no-shuffle\n"
    "                          override the spec's fit(...) values; B is the global batch\n"
    "  --out DIR               output directory (default runs/<model name>)\n"
    "  --history FILE          per-epoch CSV (default DIR/history.csv)\n"
    "  --threads T             compute threads per rank (default: cores / local ranks)\n"
    "  --verbose 0|1|2         0 silent, 1 progress bar on a terminal, 2 epoch lines\n"
    "  --no-progress           never draw the progress bar\n"
    "  --allreduce MODE        'overlap' (bucketed, default) or 'blocking'\n"
    "  --bucket-mb M           gradient bucket size for overlap (default 4)\n"
    "  --accumulate K          split each rank's shard into K micro-batches whose\n"
    "                          gradients add up before the allreduce (same result)\n"
    "  --scale-lr REF          linear scaling rule: lr * batch / REF (Goyal et al.)\n"
    "  --warmup-epochs E       ramp the learning rate up linearly over E epochs\n"
    "  --stall-timeout S       end the job if a rank has not reached a step's\n"
    "                          allreduce after S seconds, naming the missing ranks\n"
    "  --checkpoint FILE       save the model (Keras .h5 layout) as Keras's ModelCheckpoint:\n"
    "  --monitor M --mode auto|min|max --save-best-only --period N\n"
    "                          (monitor default val_loss; auto = max for accuracies)\n"
    "  --resume FILE|auto      continue exactly where a checkpoint stopped; 'auto' uses\n"
    "                          DIR/last.h5 when it exists (DIR/last.h5 is written every\n"
    "                          epoch). On SIGTERM/SIGUSR1 training stops at the next\n"
    "                          step, writes DIR/last.h5 and exits with status 75.\n"
    "  --init-weights FILE     start from the weights of the layers with the same names\n"
    "                          in a checkpoint or Keras .h5 (transfer learning; freeze\n"
    "                          layers with trainable=False in the spec)\n"
    "  --class-weight W0,W1,.. loss weight per class (Keras fit(class_weight=...))\n"
    "  --stop-after N          behave as if preempted after N optimizer steps (to test\n"
    "                          requeue and resume set-ups)\n"
    "  --target input          train y = x (autoencoders; same as fit(target=\"input\"))\n"
    "  --timeline FILE         Chrome trace (chrome://tracing) of data, compute and\n"
    "                          allreduce time per rank\n";

/* FNV-1a: every rank must train the same spec with the same options. */
static uint64_t fnv(uint64_t h, const char *s)
{
    for (; s && *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h * 0x100000001b3ULL;
}

static void basename_noext(const char *path, char *out, size_t len)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    snprintf(out, len, "%s", b);
    char *dot = strrchr(out, '.');
    if (dot && dot != out)
        *dot = 0;
}

/* Outputs (history CSV, checkpoints) are written to a temporary name and
 * renamed during training: check now that this can work, and that the disk
 * has room for `need` bytes, rather than fail after the first epoch. */
static int check_output_path(const char *path, const char *what, double need, nn_error *e)
{
    char dir[2300];
    struct stat st;
    struct statvfs vfs;
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else
        slash[slash == dir] = 0;   /* "/h.csv" -> "/" */
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return nn_err(e, NN_EIO, "%s '%s' is a directory", what, path);
    if (stat(dir, &st))
        return nn_err(e, NN_EIO, "cannot write %s '%s': directory '%s': %s", what, path, dir,
                      strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return nn_err(e, NN_EIO, "cannot write %s '%s': '%s' is not a directory", what, path,
                      dir);
    if (access(dir, W_OK))
        return nn_err(e, NN_EIO, "cannot write %s '%s': directory '%s' is not writable: %s",
                      what, path, dir, strerror(errno));
    if (statvfs(dir, &vfs) == 0 && (double)vfs.f_bavail * (double)vfs.f_frsize < need)
        return nn_err(e, NN_EIO, "cannot write %s '%s': %.1f MiB free in '%s', %.1f MiB needed (No space left on device)",
                      what, path, (double)vfs.f_bavail * (double)vfs.f_frsize / 1048576.0, dir,
                      need / 1048576.0);
    return NN_OK;
}

/* Where the training time went, slowest rank (rank 0 prints). */
static void report_time(nn_dist *d, const nn_fit_stats *st, int verbose)
{
    double c = nn_dist_max_double(d, st->compute_s), w = nn_dist_max_double(d, st->comm_s);
    double r = nn_dist_max_double(d, st->data_s);
    double t = nn_dist_max_double(d, st->compute_s + st->comm_s + st->data_s);
    double n = (double)st->samples;
    nn_dist_sum_doubles(d, &n, 1, NULL);
    if (d->rank || !verbose || t <= 0)
        return;
    printf("Training steps took %.1fs (%.0f samples/s over %d rank%s): compute %.1fs, allreduce wait %.1fs (%.1f%%), data wait %.1fs\n",
           t, n / t, d->size, d->size > 1 ? "s" : "", c, w, 100 * w / t, r);
}

int cmd_train(int argc, char **argv, nn_dist *d)
{
    cli_opt opts[] = {
        {"--data", 1, 0, 0}, {"--val", 1, 0, 0}, {"--test", 1, 0, 0}, {"--no-test", 0, 0, 0},
        {"--epochs", 1, 0, 0}, {"--batch-size", 1, 0, 0}, {"--validation-split", 1, 0, 0},
        {"--seed", 1, 0, 0}, {"--no-shuffle", 0, 0, 0}, {"--out", 1, 0, 0},
        {"--history", 1, 0, 0}, {"--threads", 1, 0, 0}, {"--verbose", 1, 0, 0},
        {"--no-progress", 0, 0, 0}, {"--progress", 0, 0, 0}, {"--allreduce", 1, 0, 0},
        {"--bucket-mb", 1, 0, 0}, {"--accumulate", 1, 0, 0}, {"--scale-lr", 1, 0, 0},
        {"--warmup-epochs", 1, 0, 0}, {"--stall-timeout", 1, 0, 0}, {"--timeline", 1, 0, 0},
        {"--target", 1, 0, 0}, {"--checkpoint", 1, 0, 0}, {"--monitor", 1, 0, 0},
        {"--mode", 1, 0, 0}, {"--save-best-only", 0, 0, 0}, {"--period", 1, 0, 0},
        {"--resume", 1, 0, 0}, {"--stop-after", 1, 0, 0}, {"--init-weights", 1, 0, 0},
        {"--class-weight", 1, 0, 0}, {"--help", 0, 0, 0},
        {NULL, 0, 0, 0}};
    const char *pos[1];
    int npos = 0;
    nn_error e = {0};
    int rc = cli_parse(argc, argv, 2, opts, pos, 1, &npos, &e);
    if (!rc && cli_find(opts, "--help")->given) {
        if (d->rank == 0)
            fputs(help, stdout);
        return CLI_OK;
    }
    if (!rc && npos != 1)
        rc = nn_err(&e, NN_EINVAL, "train needs one model spec (nntrain train MODEL.nn --data SRC)");
    if (!rc && !cli_find(opts, "--data")->given)
        rc = nn_err(&e, NN_EINVAL, "train needs --data SRC");
    if (rc) {
        cli_error(d, &e);
        if (d->rank == 0)
            fputs(help, stderr);
        return CLI_USAGE;
    }

    nn_spec s = {0};
    nn_model m = {0};
    nn_dataset train = {0}, val = {0}, test = {0};
    int has_val = 0, has_test = 0;
    rc = nn_spec_load(pos[0], &s, &e);
    if (!rc)
        rc = nn_model_build(&m, &s, &e);
    if (!rc && fabs(m.aug.rescale * 255.0 - 1.0) > 1e-9)
        rc = nn_err(&e, NN_EINVAL, "%s: ImageDataGenerator(rescale=%g): train reads pixels scaled to [0, 1] (rescale=1/255); other scales are not supported yet",
                    pos[0], m.aug.rescale);
    nn_fit_opts fo = {.progress = -1};
    int threads = 0, usage = 0, preempted = 0;   /* usage: a bad option value (exit 2) */
    double bucket_mb = 4;
    if (!rc) {
        fo.fit = m.fit;
        double seed = (double)fo.fit.seed;
        if (!(rc = cli_int(opts, "--epochs", &fo.fit.epochs, &e)) &&
            !(rc = cli_int(opts, "--batch-size", &fo.fit.batch_size, &e)) &&
            !(rc = cli_double(opts, "--validation-split", &fo.fit.validation_split, &e)) &&
            !(rc = cli_double(opts, "--seed", &seed, &e)) &&
            !(rc = cli_int(opts, "--threads", &threads, &e)) &&
            !(rc = cli_int(opts, "--verbose", &fo.fit.verbose, &e)) &&
            !(rc = cli_int(opts, "--accumulate", &fo.accumulate, &e)) &&
            !(rc = cli_int(opts, "--scale-lr", &fo.lr_ref_batch, &e)) &&
            !(rc = cli_double(opts, "--warmup-epochs", &fo.warmup_epochs, &e)) &&
            !(rc = cli_double(opts, "--stall-timeout", &fo.stall_timeout, &e)))
            rc = cli_double(opts, "--bucket-mb", &bucket_mb, &e);
        fo.timeline = cli_find(opts, "--timeline")->value;
        cli_opt *cw = cli_find(opts, "--class-weight");
        if (!rc && cw->given) {
            const char *p = cw->value;
            fo.fit.nclass_weight = 0;
            while (!rc && *p) {
                char *end;
                double w = strtod(p, &end);
                if (end == p || !(w >= 0) || fo.fit.nclass_weight >= NN_MAX_CLASS_WEIGHTS ||
                    (*end && *end != ','))
                    rc = nn_err(&e, NN_EINVAL, "--class-weight takes weights >= 0 separated by commas, got '%s'",
                                cw->value);
                else
                    fo.fit.class_weight[fo.fit.nclass_weight++] = (float)w;
                p = *end ? end + 1 : end;
            }
        }
        int stop_after = 0;
        if (!rc && !(rc = cli_int(opts, "--stop-after", &stop_after, &e)) && stop_after < 0)
            rc = nn_err(&e, NN_EINVAL, "--stop-after must be >= 0, got %d", stop_after);
        fo.stop_at_step = stop_after;
        if (!rc && cli_find(opts, "--threads")->given && (threads < 1 || threads > 4096))
            rc = nn_err(&e, NN_EINVAL, "--threads must be in 1..4096, got %d", threads);
        if (!rc && cli_find(opts, "--accumulate")->given && fo.accumulate < 1)
            rc = nn_err(&e, NN_EINVAL, "--accumulate must be >= 1, got %d", fo.accumulate);
        if (!rc && cli_find(opts, "--scale-lr")->given && fo.lr_ref_batch < 1)
            rc = nn_err(&e, NN_EINVAL, "--scale-lr takes the reference batch size (>= 1), got %d",
                        fo.lr_ref_batch);
        if (!rc && !(fo.warmup_epochs >= 0 && fo.stall_timeout >= 0))
            rc = nn_err(&e, NN_EINVAL, "--warmup-epochs and --stall-timeout must be >= 0");
        if (cli_find(opts, "--no-shuffle")->given)
            fo.fit.shuffle = 0;
        if (cli_find(opts, "--no-progress")->given)
            fo.progress = 0;
        if (cli_find(opts, "--progress")->given)
            fo.progress = 1;
        /* The spec's fit() values were checked by the parser, so a bad
         * value here came from the command line. */
        if (!rc && fo.fit.batch_size < 1)
            rc = nn_err(&e, NN_EINVAL, "--batch-size must be >= 1, got %d", fo.fit.batch_size);
        if (!rc && fo.fit.epochs < 0)
            rc = nn_err(&e, NN_EINVAL, "--epochs must be >= 0, got %d", fo.fit.epochs);
        if (!rc && !(fo.fit.validation_split >= 0 && fo.fit.validation_split < 1))
            rc = nn_err(&e, NN_EINVAL, "--validation-split must be in [0, 1), got %g",
                        fo.fit.validation_split);
        if (!rc && !(bucket_mb > 0 && bucket_mb < 1048576))
            rc = nn_err(&e, NN_EINVAL, "--bucket-mb must be > 0 and < 1048576, got %g", bucket_mb);
        if (!rc && !(seed >= 0 && seed <= 9007199254740992.0 && seed == (double)(uint64_t)seed))
            rc = nn_err(&e, NN_EINVAL, "--seed must be a non-negative integer, got %g", seed);
        const char *mode = cli_find(opts, "--allreduce")->value;
        d->overlap = 1;
        if (!rc && mode && strcmp(mode, "overlap") && strcmp(mode, "blocking"))
            rc = nn_err(&e, NN_EINVAL, "--allreduce must be 'overlap' or 'blocking', not '%s'", mode);
        usage = rc != NN_OK;
        if (!rc)
            fo.fit.seed = (uint64_t)seed;
        if (mode && !strcmp(mode, "blocking"))
            d->overlap = 0;
        d->bucket_bytes = (size_t)(bucket_mb * 1048576.0);
    }
    const char *data = cli_find(opts, "--data")->value;
    if (!rc)
        rc = nn_data_open(data, "train", fo.fit.seed, &train, &e);
    if (!rc && cli_find(opts, "--val")->given) {
        rc = nn_data_open(cli_find(opts, "--val")->value, "train", fo.fit.seed, &val, &e);
        has_val = !rc;
    }
    if (!rc && !cli_find(opts, "--no-test")->given) {
        cli_opt *t = cli_find(opts, "--test");
        if (t->given) {
            rc = nn_data_open(t->value, "test", fo.fit.seed, &test, &e);
            has_test = !rc;
        } else {
            nn_error ignore = {0};
            has_test = nn_data_open(data, "test", fo.fit.seed, &test, &ignore) == NN_OK;
        }
    }
    /* Autoencoders (fit(target="input") or --target input) learn y = x. */
    nn_dataset ae_train, ae_val, ae_test, *ptrain = &train, *pval = &val, *ptest = &test;
    cli_opt *tg = cli_find(opts, "--target");
    if (!rc && tg->given) {
        if (!strcmp(tg->value, "input") || !strcmp(tg->value, "labels"))
            fo.fit.target_input = !strcmp(tg->value, "input");
        else
            rc = nn_err(&e, NN_EINVAL, "--target must be 'labels' or 'input', not '%s'", tg->value);
    }
    if (!rc && fo.fit.target_input) {
        rc = nn_data_autoencode(&train, &ae_train, &e);
        ptrain = &ae_train;
        if (!rc && has_val && !(rc = nn_data_autoencode(&val, &ae_val, &e)))
            pval = &ae_val;
        if (!rc && has_test && !(rc = nn_data_autoencode(&test, &ae_test, &e)))
            ptest = &ae_test;
    }
    /* Every rank parsed and opened the same things; agree before any
     * collective so that a rank-local failure cannot hang the others. */
    rc = nn_dist_agree(d, rc, &e);
    if (!rc) {
        uint64_t h = fnv(0xcbf29ce484222325ULL, s.text);
        for (int i = 2; i < argc; i++)
            h = fnv(h, argv[i]);
        rc = nn_dist_check_same(d, h, "the model spec and command line", &e);
    }

    char outdir[2048], hist[2300], base[256];
    if (!rc) {
        basename_noext(pos[0], base, sizeof base);
        cli_opt *o = cli_find(opts, "--out");
        snprintf(outdir, sizeof outdir, "%s", o->given ? o->value : "runs");
        if (!o->given)
            snprintf(outdir + strlen(outdir), sizeof outdir - strlen(outdir), "/%s", base);
        cli_opt *h = cli_find(opts, "--history");
        if (h->given)
            snprintf(hist, sizeof hist, "%s", h->value);
        else
            snprintf(hist, sizeof hist, "%s/history.csv", outdir);
        int wrc = NN_OK;
        char last_path[2400];
        snprintf(last_path, sizeof last_path, "%s/last.h5", outdir);
        if (d->rank == 0) {   /* an unwritable output fails now, not after training */
            wrc = cli_mkdirs(outdir, &e);
            if (!wrc && access(outdir, W_OK))
                wrc = nn_err(&e, NN_EIO, "output directory '%s' is not writable: %s", outdir,
                             strerror(errno));
            /* a checkpoint holds the weights and up to two optimizer slots */
            double ck = 3.0 * sizeof(float) * (double)m.nparams + (1 << 20);
            cli_opt *cko = cli_find(opts, "--checkpoint");
            if (!wrc)
                wrc = check_output_path(hist, "history", 1 << 20, &e);
            if (!wrc)
                wrc = check_output_path(last_path, "checkpoint", 2 * ck, &e);
            if (!wrc && cko->given)
                wrc = check_output_path(cko->value, "checkpoint", 2 * ck, &e);
        }
        rc = nn_dist_agree(d, wrc, &e);
        fo.history_csv = hist;
    }
    if (!rc) {
        rc = cli_use_threads(d, &m, threads, &threads, &e);
        if (d->rank == 0 && fo.fit.verbose) {
            nn_model_summary(&m, stdout);
            size_t nv = has_val ? val.n : (size_t)((double)train.n * fo.fit.validation_split > 0 ? train.n - (size_t)((double)train.n * (1.0 - fo.fit.validation_split)) : 0);
            char opt[256];
            nn_optim_describe(&m.optim, opt, sizeof opt);
            printf("Train on %zu samples, validate on %zu samples (%s)\n", train.n - (has_val ? 0 : nv), nv, train.source);
            printf("Global batch %d over %d rank%s (%d threads each), %s, loss %s\n",
                   fo.fit.batch_size, d->size, d->size > 1 ? "s" : "", threads, opt,
                   nn_loss_names[m.loss]);
            fflush(stdout);
        }
        if (m.aug.enabled) {
            if (m.in_shape.n != 3 && d->rank == 0)
                fprintf(stderr, "nntrain: warning: ImageDataGenerator on non-image input %s is ignored\n",
                        pos[0]);
            else
                fo.augment = &m.aug;
            if (d->rank == 0 && fo.fit.verbose && fo.augment) {
                char desc[512];
                nn_augment_describe(&m.aug, desc, sizeof desc);
                printf("Augmenting training samples: %s\n", desc);
            }
        }
        nn_model_init_params(&m, fo.fit.seed);
        nn_history h = {0};
        nn_fit_stats st = {0};
        cli_ckpt ck;
        fo.stats = &st;
        rc = cli_ckpt_setup(&ck, opts, outdir, &m, has_val || fo.fit.validation_split > 0, &e);
        ck.d = d;
        ck.m = &m;
        ck.spec_text = s.text;
        ck.h = &h;
        ck.verbose = fo.fit.verbose;
        ck.st.seed = fo.fit.seed;
        ck.st.data_checksum = train.checksum;
        cli_opt *iw = cli_find(opts, "--init-weights");
        if (!rc && iw->given && !(rc = nn_ckpt_load_weights(iw->value, &m, 1, &e)) &&
            d->rank == 0 && fo.fit.verbose)
            printf("Initial weights of the layers named as in %s loaded from it\n", iw->value);
        cli_opt *res = cli_find(opts, "--resume");
        if (!rc && res->given)
            rc = cli_ckpt_resume(&ck, res->value, &m, &fo, &train,
                                 cli_find(opts, "--seed")->given, &h, d, &e);
        rc = nn_dist_agree(d, rc, &e);
        if (!rc) {
            fo.hook = cli_ckpt_hook;
            fo.hook_arg = &ck;
            fo.stop_flag = cli_install_stop_signals();
            rc = nn_fit(&m, ptrain, has_val ? pval : NULL, &fo, d, &h, &e);
            preempted = rc == NN_ESTOP;
        }
        nn_history_free(&h);
        if (!rc)
            report_time(d, &st, fo.fit.verbose);
    }
    if (!rc && has_test) {
        double r[1 + NN_MAX_METRICS];
        rc = nn_evaluate(&m, ptest, NULL, 0, fo.fit.batch_size, d, r, &e);
        if (!rc && d->rank == 0 && fo.fit.verbose) {
            printf("Test (%zu samples) - loss: %.4f", test.n, r[0]);
            for (int k = 0; k < m.nmetrics; k++)
                printf(" - %s: %.4f", m.metric_names[k], r[1 + k]);
            printf("\n");
        }
    }
    if (!rc && d->rank == 0 && fo.fit.verbose)
        printf("History written to %s\n", hist);
    if (preempted && d->rank == 0)
        fprintf(stderr, "nntrain: %s (exit status %d: resume with --resume)\n", e.msg,
                NN_EXIT_PREEMPTED);
    else if (rc)
        cli_error(d, &e);
    nn_data_close(&train);
    nn_data_close(&val);
    nn_data_close(&test);
    nn_model_free(&m);
    nn_spec_free(&s);
    if (preempted)
        return NN_EXIT_PREEMPTED;
    return rc ? (usage ? CLI_USAGE : CLI_FAIL) : CLI_OK;
}
