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
#include "nntrain/watchdog.h"
#include "nntrain/fit.h"
#include "nntrain/evaluate.h"
#include "nntrain/h5data.h"
#include "infer.h"
#include "train_data.h"
#include "train_options.h"

static const char *help =
    "usage: nntrain train MODEL.nn --data SRC [options]\n"
    "       nntrain train MODEL.h5 --data SRC [options]   (a Keras .h5 or .keras file or a\n"
    "                          checkpoint, trained further from its weights)\n"
    "\n"
    "  --data SRC              training data: an nntrain HDF5 file (.h5, made by\n"
    "                          nntrain convert), an IDX directory (MNIST/Fashion-MNIST),\n"
    "                          a folder of class subfolders of images (converted once\n"
    "                          into DIR/data-<hash>.h5, resized to the model's input)\n"
    "                          or synthetic:sqrt[:N]\n"
    "  --val SRC               validation data (default: fit(validation_split=...))\n"
    "  --test SRC              evaluate on SRC after training (default: the test split\n"
    "                          of --data when it has one); --no-test to skip\n"
    "  --epochs N  --batch-size B  --validation-split F  --seed S  --no-shuffle\n"
    "                          override the spec's fit(...) values; B is the global batch\n"
    "  --out DIR               output directory (default runs/<model name>)\n"
    "  --history FILE          per-epoch CSV (default DIR/history.csv)\n"
    "  --threads T             compute threads per rank (default: cores / local ranks)\n"
    "  --conv-algo A           3x3 stride-1 Conv2D layers: 'direct' (default), 'winograd'\n"
    "                          (F(2x2,3x3): fewer multiplies), 'winograd4' (F(4x4,3x3):\n"
    "                          fewer still, larger errors) or 'auto' (Winograd where\n"
    "                          faster); NNTRAIN_CONV_ALGO sets it too\n"
    "  --precision P           'bf16': the mixed_bfloat16 policy (Dense and Conv2D\n"
    "                          products in bf16, sums and weights in fp32); 'fp32': off;\n"
    "                          default: the spec's set_global_policy()\n"
    "  --verbose 0|1|2         0 silent, 1 progress bar on a terminal, 2 epoch lines\n"
    "  --no-progress           never draw the progress bar\n"
    "  --allreduce MODE        'overlap' (bucketed, default) or 'blocking'\n"
    "  --bucket-mb M           gradient bucket size for overlap (default 4)\n"
    "  --accumulate K          split each rank's shard into K micro-batches whose\n"
    "                          gradients add up before the allreduce (same result)\n"
    "  --deterministic         the same bits on any number of ranks and threads\n"
    "                          (fit(deterministic=True)); kept by checkpoints\n"
    "  --det-chunk C           rows per chunk in that mode (default 8)\n"
    "  --scale-lr REF          linear scaling rule: lr * batch / REF (Goyal et al.)\n"
    "  --warmup-epochs E       ramp the learning rate up linearly over E epochs\n"
    "  --stall-timeout S       end the job if a rank has not reached one of the\n"
    "                          training's collectives (gradient allreduce, loss\n"
    "                          sums, epoch end) after S seconds, naming the missing ranks\n"
    "                          (default 600 under MPI; 0: wait for ever)\n"
    "  --checkpoint FILE       save the model (Keras .h5 layout) as Keras's ModelCheckpoint:\n"
    "  --monitor M --mode auto|min|max --save-best-only --period N\n"
    "                          (monitor default val_loss; auto = max for accuracies)\n"
    "  --early-stopping-patience N  --early-stopping-monitor M  --restore-best-weights\n"
    "                          Keras's EarlyStopping (monitor default val_loss): stop\n"
    "                          after N epochs without improvement; restore the best\n"
    "                          epoch's weights when it stops\n"
    "  --reduce-lr-patience N  --reduce-lr-factor F  --reduce-lr-cooldown N\n"
    "  --reduce-lr-monitor M  --min-lr LR\n"
    "                          Keras's ReduceLROnPlateau (defaults: val_loss, factor 0.1,\n"
    "                          patience 10, cooldown 0, min_lr 0). Any of these options\n"
    "                          turns the callback on, over the spec's fit(callbacks=...)\n"
    "  --resume FILE|auto      continue exactly where a checkpoint stopped; 'auto' uses\n"
    "                          DIR/last.h5 when it exists (DIR/last.h5 is written every\n"
    "                          epoch). On SIGTERM/SIGUSR1 training stops at the next\n"
    "                          step, writes DIR/last.h5 and exits with status 75.\n"
    "  --init-weights FILE     start from the weights of the layers with the same names\n"
    "                          in a checkpoint or Keras .h5/.keras (transfer learning; freeze\n"
    "                          layers with trainable=False in the spec)\n"
    "  --class-weight W0,W1,.. loss weight per class (Keras fit(class_weight=...))\n"
    "  --stop-after N          behave as if preempted after N optimizer steps (to test\n"
    "                          requeue and resume set-ups)\n"
    "  --target input          train y = x (autoencoders; same as fit(target=\"input\"))\n"
    "  --timeline FILE         Chrome trace (chrome://tracing) of data, compute and\n"
    "                          allreduce time per rank\n";

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

/* A cross-entropy over outputs that are not probabilities trains quietly
 * to nonsense (Keras clips them: binary_crossentropy after a linear layer
 * sits near loss 8): say so before the first epoch. With from_logits=True
 * it is the other way round: a final sigmoid/softmax would be applied twice
 * (Keras warns about that too). */
static void warn_loss_activation(const nn_model *m)
{
    if (!m->compiled || m->nlayers < 1)
        return;
    nn_act a = m->layers[m->nlayers - 1].act;
    const char *want = m->loss == NN_LOSS_BCE && a != NN_ACT_SIGMOID ? "sigmoid"
                       : (m->loss == NN_LOSS_CCE || m->loss == NN_LOSS_SCCE) && a != NN_ACT_SOFTMAX
                           ? "softmax" : NULL;
    const char *cls = nn_loss_classes[m->loss];
    if (m->from_logits) {
        if (a == NN_ACT_SIGMOID || a == NN_ACT_SOFTMAX)
            fprintf(stderr, "nntrain: warning: loss %s(from_logits=True) expects logits but the "
                    "last layer ('%s') has activation '%s', which the loss applies again: "
                    "remove it, or drop from_logits=True\n", cls,
                    m->layers[m->nlayers - 1].name, nn_act_names[a]);
    } else if (want) {
        fprintf(stderr, "nntrain: warning: loss %s expects probabilities but the last layer "
                "('%s') has activation '%s': give it activation=\"%s\", or use "
                "loss=%s(from_logits=True)\n",
                nn_loss_names[m->loss], m->layers[m->nlayers - 1].name, nn_act_names[a], want,
                cls);
    }
}

/* Where the training time went on the slowest rank (the lowest-numbered
 * one if several tie), so that its compute, allreduce wait and data wait add
 * up to the total printed; rank 0 prints. Collective. */
static void report_time(nn_dist *d, const nn_fit_stats *st, int verbose)
{
    double mine = st->compute_s + st->comm_s + st->data_s;
    double t = nn_dist_max_double(d, mine);
    int slowest = d->size - (int)nn_dist_max_double(d, mine == t ? d->size - d->rank : 0);
    double split[4] = {0, 0, 0, (double)st->samples};
    if (d->rank == slowest) {
        split[0] = st->compute_s;
        split[1] = st->comm_s;
        split[2] = st->data_s;
    }
    nn_dist_sum_doubles(d, split, 4, NULL);
    if (d->rank || !verbose || t <= 0)
        return;
    printf("Training steps took %.1fs (%.0f samples/s over %d rank%s): compute %.1fs, allreduce wait %.1fs (%.1f%%), data wait %.1fs%s\n",
           t, split[3] / t, d->size, d->size > 1 ? "s" : "", split[0], split[1],
           100 * split[1] / t, split[2], d->size > 1 ? " (the slowest rank)" : "");
}

/* Everything one `train` run opens. The p* datasets are the ones to use:
 * for an autoencoder, views of the others with y = x. */
typedef struct train_run {
    const char *spec_path;
    nn_spec s;
    nn_model m;
    nn_fit_opts fo;
    int threads;
    nn_dataset train, val, test, ae_train, ae_val, ae_test;
    nn_dataset *ptrain, *pval, *ptest;
    int has_val, has_test;
    char outdir[2048], hist[2300];
    char **class_names;        /* of the training data (HDF5 class_names), or NULL */
    size_t nclass_names;
    char data_h5[2400];        /* --data DIR of class folders: its cached conversion */
} train_run;

/* One spec and --data, or --help. Returns -1 to go on, else the exit status. */
static int parse_command_line(int argc, char **argv, cli_opt *opts, const char **pos,
                              nn_dist *d)
{
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
    return -1;
}

static int load_model(train_run *t, nn_error *e)
{
    /* a model file (a Keras .h5, a checkpoint): its architecture and
     * compile(), trained further from its weights (start_checkpoints) */
    int rc = cli_is_model_file(t->spec_path) ? nn_ckpt_load_spec(t->spec_path, &t->s, e)
                                             : cli_spec_load(t->spec_path, &t->s, e);
    /* what of a Keras training_config was left out is only a warning for
     * inference; training it as saved would train something else */
    for (int k = 0; !rc && cli_is_model_file(t->spec_path) && k < t->s.nnotes; k++)
        if (strstr(t->s.notes[k], "training_config"))
            rc = nn_err(e, NN_EINVAL, "%s: train cannot use this file's training_config as "
                        "saved (%s): train a spec with the compile() you want and "
                        "--init-weights %s", t->spec_path, t->s.notes[k], t->spec_path);
    if (!rc)
        rc = nn_model_build(&t->m, &t->s, e);
    if (!rc && !t->m.compiled && cli_is_model_file(t->spec_path))
        rc = nn_err(e, NN_EINVAL, "%s: the file has no training_config (Keras saved it without "
                    "compile()): train a spec with a compile(loss=..., optimizer=...) line and "
                    "--init-weights %s", t->spec_path, t->spec_path);
    size_t n = strlen(t->spec_path);
    if (!rc && !t->m.compiled && n > 5 && !strcmp(t->spec_path + n - 5, ".json"))
        rc = nn_err(e, NN_EINVAL, "%s: a Keras model.to_json() file keeps no compile() settings: "
                    "train a spec with a compile(loss=..., optimizer=...) line (a .nn file or the "
                    "pasted Keras script); summary reads the .json as it is", t->spec_path);
    if (!rc && fabs(t->m.aug.rescale * 255.0 - 1.0) > 1e-9)
        rc = nn_err(e, NN_EINVAL, "%s: ImageDataGenerator(rescale=%g): train reads pixels scaled to [0, 1] (rescale=1/255); other scales are not supported yet",
                    t->spec_path, t->m.aug.rescale);
    return rc;
}

/* A pasted script's ModelCheckpoint(...) does what --checkpoint and its
 * options do; each option given on the command line wins. Its val_ monitor
 * needs --val or a validation split (the script's validation_data is not
 * read), said here in the script's terms. */
static int use_spec_checkpoint(cli_opt *opts, const train_run *t, nn_error *e)
{
    static char period[16];
    const nn_spec_ckpt *k = &t->m.fit.ckpt;
    const char *const set[][2] = {{"--checkpoint", k->path}, {"--monitor", k->monitor},
                                  {"--mode", k->mode}, {"--period", period}};
    if (!k->path[0])
        return NN_OK;
    if (!cli_find(opts, "--monitor")->given && !strncmp(k->monitor, "val_", 4) &&
        !cli_find(opts, "--val")->given && !(t->fo.fit.validation_split > 0))
        return nn_err(e, NN_EINVAL, "%s: ModelCheckpoint(monitor=\"%s\") needs validation data: give --val FILE or validation_split, or monitor=\"%s\"",
                      t->spec_path, k->monitor, k->monitor + 4);
    snprintf(period, sizeof period, "%d", k->period);
    for (size_t i = 0; i < sizeof set / sizeof set[0]; i++) {
        cli_opt *o = cli_find(opts, set[i][0]);
        if (!o->given)
            o->value = set[i][1], o->given = 1;
    }
    if (k->save_best_only)
        cli_find(opts, "--save-best-only")->given = 1;
    return NN_OK;
}

/* --target input (or fit(target="input")): autoencoders learn y = x. */
static int use_targets(cli_opt *opts, train_run *t, nn_error *e)
{
    cli_opt *tg = cli_find(opts, "--target");
    int rc = NN_OK;
    if (tg->given) {
        if (!strcmp(tg->value, "input") || !strcmp(tg->value, "labels"))
            t->fo.fit.target_input = !strcmp(tg->value, "input");
        else
            rc = nn_err(e, NN_EINVAL, "--target must be 'labels' or 'input', not '%s'", tg->value);
    }
    if (!rc && t->fo.fit.target_input) {
        rc = nn_data_autoencode(&t->train, &t->ae_train, e);
        t->ptrain = &t->ae_train;
        if (!rc && t->has_val && !(rc = nn_data_autoencode(&t->val, &t->ae_val, e)))
            t->pval = &t->ae_val;
        if (!rc && t->has_test && !(rc = nn_data_autoencode(&t->test, &t->ae_test, e)))
            t->ptest = &t->ae_test;
    }
    return rc;
}

/* The output directory (--out, default runs/<spec name>) into t->outdir. */
static void set_output_dir(cli_opt *opts, train_run *t)
{
    char base[256];
    basename_noext(t->spec_path, base, sizeof base);
    cli_opt *o = cli_find(opts, "--out");
    snprintf(t->outdir, sizeof t->outdir, "%s", o->given ? o->value : "runs");
    if (!o->given)
        snprintf(t->outdir + strlen(t->outdir), sizeof t->outdir - strlen(t->outdir), "/%s",
                 base);
}

/* DIR holds MNIST-layout IDX files: it is read as IDX, subfolders or not. */
static int has_idx(const char *dir)
{
    static const char *const names[] = {"train-images-idx3-ubyte", "train-images-idx3-ubyte.gz",
                                        "train-images.idx3-ubyte", "train-images.idx3-ubyte.gz"};
    char p[4200];
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        if (access(p, F_OK) == 0)
            return 1;
    }
    return 0;
}

/* --data DIR of class subfolders (flow_from_directory): its cached HDF5
 * conversion in the output folder becomes the data (t->data_h5). Every rank
 * calls this, with the status so far, so that the collectives match. */
static int use_class_folders(cli_opt *opts, train_run *t, nn_dist *d, int rc, nn_error *e)
{
    const char *data = cli_find(opts, "--data")->value;
    rc = nn_dist_agree(d, rc, e);
    int folders = !rc && cli_path_kind(data) == CLI_KIND_CLASS_FOLDERS && !has_idx(data);
    if (!rc && d->size > 1)
        rc = nn_dist_check_same(d, (uint64_t)folders, "whether --data is a folder of class "
                                "folders", e);
    if (rc || !folders)
        return rc;
    set_output_dir(opts, t);
    return cli_class_folder_data(data, &t->m.in_shape, t->fo.fit.seed, t->outdir,
                                 t->fo.fit.verbose, d, t->data_h5, sizeof t->data_h5, e);
}

/* The training data's class names (HDF5 class_names), kept in checkpoints. */
static int read_class_names(const char *data, train_run *t, nn_error *e)
{
    size_t n = strlen(data);
    if (n < 3 || (strcmp(data + n - 3, ".h5") && (n < 5 || strcmp(data + n - 5, ".hdf5"))))
        return NN_OK;
    return nn_h5_class_names(data, &t->class_names, &t->nclass_names, e);
}

/* --data, --val, and --test (default: the test split of --data, if any). */
static int open_data(cli_opt *opts, train_run *t, nn_error *e)
{
    const char *data = t->data_h5[0] ? t->data_h5 : cli_find(opts, "--data")->value;
    uint64_t seed = t->fo.fit.seed;
    int rc = nn_data_open(data, "train", seed, &t->train, e);
    if (rc)
        rc = cli_hint_path(rc, e, data, CLI_WANT_DATA);
    if (!rc)
        rc = read_class_names(data, t, e);
    if (!rc && cli_find(opts, "--val")->given) {
        const char *val = cli_find(opts, "--val")->value;
        rc = cli_hint_path(nn_data_open(val, "train", seed, &t->val, e), e, val, CLI_WANT_DATA);
        t->has_val = !rc;
    }
    if (!rc && !cli_find(opts, "--no-test")->given) {
        cli_opt *o = cli_find(opts, "--test");
        if (o->given) {
            rc = nn_data_open(o->value, "test", seed, &t->test, e);
            rc = cli_hint_path(rc, e, o->value, CLI_WANT_DATA);
            t->has_test = !rc;
        } else {
            nn_error ignore = {0};
            t->has_test = nn_data_open(data, "test", seed, &t->test, &ignore) == NN_OK;
        }
    }
    return rc ? rc : use_targets(opts, t, e);
}

/* What a rank opened, as text all ranks can compare: sample counts, shapes,
 * classes and the checksum the HDF5 file carries (0 for IDX and synthetic
 * data, which the counts and shapes identify). Ranks started in different
 * folders can open different files under one path; their step counts then
 * differ and the job would hang in the first collective one rank skips. */
static void describe_data(const nn_dataset *ds, const char *what, char *buf, size_t len)
{
    char shape[64];
    size_t k = strlen(buf);
    snprintf(buf + k, len - k, "%s%s: %zu samples of %s, %d classes, checksum %016llx",
             k ? "; " : "", what, ds->n, nn_shape_str(&ds->x_shape, shape, sizeof shape),
             ds->nclasses, (unsigned long long)ds->checksum);
}

static int check_same_data(const train_run *t, nn_dist *d, nn_error *e)
{
    char text[NN_DIST_TEXT] = "";
    describe_data(&t->train, "--data", text, sizeof text);
    if (t->has_val)
        describe_data(&t->val, "--val", text, sizeof text);
    if (t->has_test)
        describe_data(&t->test, "test", text, sizeof text);
    return nn_dist_same_text(d, text, "data", e);
}

/* The output directory (--out, default runs/<spec name>) and history file;
 * rank 0 checks that they and the checkpoints can be written now, not after
 * training. Collective. */
static int check_outputs(cli_opt *opts, train_run *t, nn_dist *d, nn_error *e)
{
    char last_path[2400];
    set_output_dir(opts, t);
    cli_opt *h = cli_find(opts, "--history");
    if (h->given)
        snprintf(t->hist, sizeof t->hist, "%s", h->value);
    else
        snprintf(t->hist, sizeof t->hist, "%s/history.csv", t->outdir);
    snprintf(last_path, sizeof last_path, "%s/last.h5", t->outdir);
    int wrc = NN_OK;
    if (d->rank == 0) {
        wrc = cli_mkdirs(t->outdir, e);
        if (!wrc && access(t->outdir, W_OK))
            wrc = nn_err(e, NN_EIO, "output directory '%s' is not writable: %s", t->outdir,
                         strerror(errno));
        /* a checkpoint holds the weights and up to two optimizer slots */
        double ck = 3.0 * sizeof(float) * (double)t->m.nparams + (1 << 20);
        cli_opt *cko = cli_find(opts, "--checkpoint");
        if (!wrc)
            wrc = check_output_path(t->hist, "history", 1 << 20, e);
        if (!wrc)
            wrc = check_output_path(last_path, "checkpoint", 2 * ck, e);
        if (!wrc && cko->given)
            wrc = check_output_path(cko->value, "checkpoint", 2 * ck, e);
        if (!wrc && t->fo.timeline)   /* also written when a run is aborted */
            wrc = check_output_path(t->fo.timeline, "timeline", 1 << 20, e);
    }
    t->fo.history_csv = t->hist;
    return nn_dist_agree(d, wrc, e);
}

/* The model summary and the run's sizes (rank 0). */
static void print_run(const train_run *t, const nn_dist *d, int threads)
{
    const nn_fit_opts *fo = &t->fo;
    nn_model_summary(&t->m, stdout);
    cli_precision_warn(&t->m, 1);
    size_t nv = t->has_val ? t->val.n : (size_t)((double)t->train.n * fo->fit.validation_split > 0 ? t->train.n - (size_t)((double)t->train.n * (1.0 - fo->fit.validation_split)) : 0);
    char opt[512];
    nn_optim_describe(&t->m.optim, opt, sizeof opt);
    printf("Train on %zu samples, validate on %zu samples (%s)\n", t->train.n - (t->has_val ? 0 : nv), nv, t->train.source);
    printf("Global batch %d over %d rank%s (%d thread%s each), %s, loss %s%s\n",
           fo->fit.batch_size, d->size, d->size > 1 ? "s" : "", threads, threads > 1 ? "s" : "",
           opt, nn_loss_names[t->m.loss], t->m.from_logits ? " (from_logits=True)" : "");
    fflush(stdout);
}

/* The spec's ImageDataGenerator line, for image inputs only. */
static void use_augmentation(train_run *t, const nn_dist *d)
{
    if (!t->m.aug.enabled)
        return;
    if (t->m.in_shape.n != 3 && d->rank == 0)
        fprintf(stderr, "nntrain: warning: ImageDataGenerator on non-image input %s is ignored\n",
                t->spec_path);
    else
        t->fo.augment = &t->m.aug;
    if (d->rank == 0 && t->fo.fit.verbose && t->fo.augment) {
        char desc[512];
        nn_augment_describe(&t->m.aug, desc, sizeof desc);
        printf("Augmenting training samples: %s\n", desc);
    }
}

/* A deterministic checkpoint resumes deterministic with its chunks (the
 * chunks are part of the arithmetic); the run's mode goes into its own
 * checkpoints. */
static int keep_deterministic(cli_ckpt *ck, cli_opt *opts, nn_fit_opts *fo, nn_error *e)
{
    if (ck->st.deterministic) {   /* read from --resume's file */
        if (cli_find(opts, "--det-chunk")->given && fo->fit.det_chunk != ck->st.det_chunk)
            return nn_err(e, NN_EINVAL, "--det-chunk %d differs from the checkpoint's %d: a resumed deterministic run keeps its chunks",
                          fo->fit.det_chunk, ck->st.det_chunk);
        fo->fit.deterministic = 1;
        fo->fit.det_chunk = ck->st.det_chunk;
    }
    if (cli_find(opts, "--det-chunk")->given && !fo->fit.deterministic)
        return nn_err(e, NN_EINVAL, "--det-chunk %d needs --deterministic (or fit(deterministic=True)); the resumed checkpoint was not trained in that mode",
                      fo->fit.det_chunk);
    ck->st.deterministic = fo->fit.deterministic;
    ck->st.det_chunk = fo->fit.deterministic ? fo->fit.det_chunk : 0;
    return NN_OK;
}

/* Checkpointing (--checkpoint, DIR/last.h5), then --init-weights and
 * --resume. Collective. */
static int start_checkpoints(cli_ckpt *ck, cli_opt *opts, train_run *t, nn_history *h,
                             nn_dist *d, nn_error *e)
{
    int rc = cli_ckpt_setup(ck, opts, t->outdir, &t->m,
                            t->has_val || t->fo.fit.validation_split > 0, e);
    ck->d = d;
    ck->m = &t->m;
    ck->spec_text = t->s.text;
    ck->h = h;
    ck->verbose = t->fo.fit.verbose;
    ck->st.seed = t->fo.fit.seed;
    ck->st.data_checksum = t->train.checksum;
    ck->st.class_names = (const char *const *)t->class_names;
    ck->st.nclass_names = (int)t->nclass_names;
    cli_opt *iw = cli_find(opts, "--init-weights");
    if (!rc && iw->given && !(rc = nn_ckpt_load_weights(iw->value, &t->m, 1, e)) &&
        d->rank == 0 && t->fo.fit.verbose)
        printf("Initial weights of the layers named as in %s loaded from it\n", iw->value);
    else if (!rc && !iw->given && !cli_find(opts, "--resume")->given &&
             cli_is_model_file(t->spec_path) &&
             !(rc = nn_ckpt_load_weights(t->spec_path, &t->m, 0, e)) && d->rank == 0 &&
             t->fo.fit.verbose)
        printf("Weights loaded from %s: training it further\n", t->spec_path);
    cli_opt *res = cli_find(opts, "--resume");
    if (!rc && res->given)
        rc = cli_ckpt_resume(ck, res->value, &t->m, &t->fo, &t->train,
                             cli_find(opts, "--seed")->given, h, d, e);
    if (!rc)
        rc = keep_deterministic(ck, opts, &t->fo, e);
    if (!rc && t->fo.fit.deterministic && d->rank == 0 && t->fo.fit.verbose)
        printf("Deterministic mode: chunks of %d rows, the same bits on any number of ranks "
               "and threads\n", t->fo.fit.det_chunk);
    return nn_dist_agree(d, rc, e);
}

/* Threads, the run's description, initial weights, checkpoints, nn_fit and
 * the time report. *preempted: stopped by a signal (resume later). */
static int train_model(train_run *t, cli_opt *opts, nn_dist *d, int *preempted, nn_error *e)
{
    int threads = t->threads;
    int rc = cli_use_threads(d, &t->m, threads, &threads, e);
    if (d->rank == 0 && t->fo.fit.verbose)
        print_run(t, d, threads);
    if (d->rank == 0)
        warn_loss_activation(&t->m);
    use_augmentation(t, d);
    nn_model_init_params(&t->m, t->fo.fit.seed);
    nn_history h = {0};
    nn_fit_stats st = {0};
    cli_ckpt ck;
    t->fo.stats = &st;
    rc = start_checkpoints(&ck, opts, t, &h, d, e);
    if (!rc) {
        t->fo.hook = cli_ckpt_hook;
        t->fo.hook_arg = &ck;
        t->fo.stop_flag = cli_install_stop_signals();
        t->fo.cb_state = &ck.cbs;
        rc = nn_fit(&t->m, t->ptrain, t->has_val ? t->pval : NULL, &t->fo, d, &h, e);
        *preempted = rc == NN_ESTOP;
    }
    nn_history_free(&h);
    nn_cb_state_free(&ck.cbs);
    if (!rc)
        report_time(d, &st, t->fo.fit.verbose);
    return rc;
}

static int test_model(train_run *t, nn_dist *d, nn_error *e)
{
    double r[1 + NN_MAX_METRICS];
    const nn_fit_args *f = &t->fo.fit;
    int rc = f->deterministic
                 ? nn_evaluate_det(&t->m, t->ptest, NULL, 0, f->batch_size, f->det_chunk, d, r, e)
                 : nn_evaluate(&t->m, t->ptest, NULL, 0, f->batch_size, d, r, e);
    if (!rc && d->rank == 0 && t->fo.fit.verbose) {
        printf("Test (%zu samples) - loss: %.4f", t->test.n, r[0]);
        for (int k = 0; k < t->m.nmetrics; k++)
            printf(" - %s: %.4f", t->m.metric_names[k], r[1 + k]);
        printf("\n");
    }
    return rc;
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
        {"--class-weight", 1, 0, 0}, {"--early-stopping-patience", 1, 0, 0},
        {"--early-stopping-monitor", 1, 0, 0}, {"--restore-best-weights", 0, 0, 0},
        {"--reduce-lr-patience", 1, 0, 0}, {"--reduce-lr-monitor", 1, 0, 0},
        {"--reduce-lr-factor", 1, 0, 0}, {"--reduce-lr-cooldown", 1, 0, 0},
        {"--min-lr", 1, 0, 0}, {"--deterministic", 0, 0, 0}, {"--det-chunk", 1, 0, 0},
        {"--conv-algo", 1, 0, 0}, {"--precision", 1, 0, 0}, {"--help", 0, 0, 0},
        {NULL, 0, 0, 0}};
    const char *pos[1];
    int code = parse_command_line(argc, argv, opts, pos, d);
    if (code >= 0)
        return code;

    train_run t = {.spec_path = pos[0], .fo = {.progress = -1}};
    t.ptrain = &t.train;
    t.pval = &t.val;
    t.ptest = &t.test;
    nn_error e = {0};
    int usage = 0, preempted = 0;   /* usage: a bad option value (exit 2) */
    int rc = cli_conv_algo(opts, &e);   /* before the layers are configured */
    if (!rc)
        rc = cli_precision(opts, &e);
    usage = rc != NN_OK;
    if (!rc && (rc = load_model(&t, &e)))
        rc = cli_hint_path(rc, &e, t.spec_path, CLI_WANT_SPEC);
    for (int i = 0; !rc && d->rank == 0 && i < t.s.nnotes; i++)
        fprintf(stderr, "note: %s\n", t.s.notes[i]);
    if (!rc) {
        rc = cli_train_read_options(opts, &t.m, &t.fo, &t.threads, d, &e);
        if (!rc)
            rc = cli_train_callbacks(opts, &t.fo, &e);
        usage = rc != NN_OK;
    }
    rc = use_class_folders(opts, &t, d, rc, &e);
    if (!rc)
        rc = use_spec_checkpoint(opts, &t, &e);
    if (!rc)
        rc = open_data(opts, &t, &e);
    /* Every rank parsed and opened the same things; agree before any
     * collective so that a rank-local failure cannot hang the others. */
    rc = nn_dist_agree(d, rc, &e);
    if (!rc)
        rc = cli_check_same_run(d, t.s.text, argc, argv, &e);
    if (!rc)
        rc = check_same_data(&t, d, &e);
    if (!rc)
        rc = check_outputs(opts, &t, d, &e);
    if (!rc)
        rc = train_model(&t, opts, d, &preempted, &e);
    if (!rc && t.has_test)
        rc = test_model(&t, d, &e);
    if (!rc && d->rank == 0 && t.fo.fit.verbose)
        printf("History written to %s\n", t.hist);
    if (preempted && d->rank == 0)
        fprintf(stderr, "nntrain: %s (exit status %d: resume with --resume)\n", e.msg,
                NN_EXIT_PREEMPTED);
    else if (rc)
        cli_error(d, &e);
    nn_data_close(&t.train);
    nn_data_close(&t.val);
    nn_data_close(&t.test);
    nn_h5_free_strings(t.class_names, t.nclass_names);
    nn_model_free(&t.m);
    nn_spec_free(&t.s);
    if (preempted)
        return NN_EXIT_PREEMPTED;
    return rc ? (usage ? CLI_USAGE : CLI_FAIL) : CLI_OK;
}
