/* train's numeric and mode options (src/cli/train_options.h): read over the
 * spec's fit() values, then checked, so that a bad value is a usage error
 * naming the option. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "train_options.h"
#include "nntrain/fit.h"
#include "nntrain/watchdog.h"

/* --class-weight W0,W1,..: replaces the spec's class_weight. */
static int read_class_weights(const cli_opt *cw, nn_fit_args *fit, nn_error *e)
{
    const char *p = cw->value;
    int rc = NN_OK;
    fit->nclass_weight = 0;
    while (!rc && *p) {
        char *end;
        double w = strtod(p, &end);
        if (end == p || !(w >= 0) || fit->nclass_weight >= NN_MAX_CLASS_WEIGHTS ||
            (*end && *end != ','))
            rc = nn_err(e, NN_EINVAL, "--class-weight takes weights >= 0 separated by commas, got '%s'",
                        cw->value);
        else
            fit->class_weight[fit->nclass_weight++] = (float)w;
        p = *end ? end + 1 : end;
    }
    return rc;
}

/* --deterministic (over fit(deterministic=)) and its --det-chunk. */
static int read_deterministic(cli_opt *opts, nn_fit_args *fit, nn_error *e)
{
    cli_opt *dc = cli_find(opts, "--det-chunk");
    if (cli_find(opts, "--deterministic")->given)
        fit->deterministic = 1;
    fit->det_chunk = NN_DET_CHUNK;
    int rc = cli_int(opts, "--det-chunk", &fit->det_chunk, e);
    if (!rc && dc->given && fit->det_chunk < 1)
        rc = nn_err(e, NN_EINVAL, "--det-chunk must be >= 1, got %d", fit->det_chunk);
    /* a resumed deterministic checkpoint's mode is checked after loading it */
    if (!rc && dc->given && !fit->deterministic && !cli_find(opts, "--resume")->given)
        rc = nn_err(e, NN_EINVAL, "--det-chunk %d needs --deterministic (or fit(deterministic=True))",
                    fit->det_chunk);
    return rc;
}

/* The numbers on the command line, over the spec's fit() values. */
static int read_numbers(cli_opt *opts, nn_fit_opts *fo, double *seed, int *threads,
                        double *bucket_mb, nn_error *e)
{
    int rc;
    fo->stall_timeout = NN_STALL_DEFAULT;
    if (!(rc = cli_int(opts, "--epochs", &fo->fit.epochs, e)) &&
        !(rc = cli_int(opts, "--batch-size", &fo->fit.batch_size, e)) &&
        !(rc = cli_double(opts, "--validation-split", &fo->fit.validation_split, e)) &&
        !(rc = cli_double(opts, "--seed", seed, e)) &&
        !(rc = cli_int(opts, "--threads", threads, e)) &&
        !(rc = cli_int(opts, "--verbose", &fo->fit.verbose, e)) &&
        !(rc = cli_int(opts, "--accumulate", &fo->accumulate, e)) &&
        !(rc = cli_int(opts, "--scale-lr", &fo->lr_ref_batch, e)) &&
        !(rc = cli_double(opts, "--warmup-epochs", &fo->warmup_epochs, e)) &&
        !(rc = cli_double(opts, "--stall-timeout", &fo->stall_timeout, e)))
        rc = cli_double(opts, "--bucket-mb", bucket_mb, e);
    cli_opt *cw = cli_find(opts, "--class-weight");
    if (!rc && cw->given)
        rc = read_class_weights(cw, &fo->fit, e);
    if (!rc)
        rc = read_deterministic(opts, &fo->fit, e);
    int stop_after = 0;
    if (!rc && !(rc = cli_int(opts, "--stop-after", &stop_after, e)) && stop_after < 0)
        rc = nn_err(e, NN_EINVAL, "--stop-after must be >= 0, got %d", stop_after);
    fo->stop_at_step = stop_after;
    return rc;
}

/* The spec's fit() values were checked by the parser, so a bad value here
 * came from the command line. */
static int check_numbers(cli_opt *opts, const nn_fit_opts *fo, int threads, double bucket_mb,
                         double seed, const char *mode, nn_error *e)
{
    int rc = NN_OK;
    if (cli_find(opts, "--threads")->given && (threads < 1 || threads > 4096))
        rc = nn_err(e, NN_EINVAL, "--threads must be in 1..4096, got %d", threads);
    if (!rc && cli_find(opts, "--accumulate")->given && fo->accumulate < 1)
        rc = nn_err(e, NN_EINVAL, "--accumulate must be >= 1, got %d", fo->accumulate);
    if (!rc && cli_find(opts, "--scale-lr")->given && fo->lr_ref_batch < 1)
        rc = nn_err(e, NN_EINVAL, "--scale-lr takes the reference batch size (>= 1), got %d",
                    fo->lr_ref_batch);
    if (!rc && !(fo->warmup_epochs >= 0 && fo->stall_timeout >= 0))
        rc = nn_err(e, NN_EINVAL, "--warmup-epochs and --stall-timeout must be >= 0");
    if (!rc && fo->fit.batch_size < 1)
        rc = nn_err(e, NN_EINVAL, "--batch-size must be >= 1, got %d", fo->fit.batch_size);
    if (!rc && fo->fit.epochs < 0)
        rc = nn_err(e, NN_EINVAL, "--epochs must be >= 0, got %d", fo->fit.epochs);
    if (!rc && !(fo->fit.validation_split >= 0 && fo->fit.validation_split < 1))
        rc = nn_err(e, NN_EINVAL, "--validation-split must be in [0, 1), got %g",
                    fo->fit.validation_split);
    if (!rc && !(bucket_mb > 0 && bucket_mb < 1048576))
        rc = nn_err(e, NN_EINVAL, "--bucket-mb must be > 0 and < 1048576, got %g", bucket_mb);
    if (!rc && !(seed >= 0 && seed <= 9007199254740992.0 && seed == (double)(uint64_t)seed))
        rc = nn_err(e, NN_EINVAL, "--seed must be a non-negative integer, got %g", seed);
    if (!rc && mode && strcmp(mode, "overlap") && strcmp(mode, "blocking"))
        rc = nn_err(e, NN_EINVAL, "--allreduce must be 'overlap' or 'blocking', not '%s'", mode);
    return rc;
}

int cli_train_read_options(cli_opt *opts, const nn_model *m, nn_fit_opts *fo, int *threads,
                           nn_dist *d, nn_error *e)
{
    fo->fit = m->fit;
    double seed = (double)fo->fit.seed, bucket_mb = 4;
    const char *mode = cli_find(opts, "--allreduce")->value;
    int rc = read_numbers(opts, fo, &seed, threads, &bucket_mb, e);
    fo->timeline = cli_find(opts, "--timeline")->value;
    if (cli_find(opts, "--no-shuffle")->given)
        fo->fit.shuffle = 0;
    if (cli_find(opts, "--no-progress")->given)
        fo->progress = 0;
    if (cli_find(opts, "--progress")->given)
        fo->progress = 1;
    if (!rc)
        rc = check_numbers(opts, fo, *threads, bucket_mb, seed, mode, e);
    if (!rc)
        fo->fit.seed = (uint64_t)seed;
    d->overlap = !(mode && !strcmp(mode, "blocking"));
    d->bucket_bytes = (size_t)(bucket_mb * 1048576.0);
    return rc;
}
