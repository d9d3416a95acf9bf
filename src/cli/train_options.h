/* train's command-line options over the spec's fit() values
 * (src/cli/train_options.c). */
#ifndef NNTRAIN_CLI_TRAIN_OPTIONS_H
#define NNTRAIN_CLI_TRAIN_OPTIONS_H

#include "cli.h"
#include "nntrain/dist.h"
#include "nntrain/fit.h"

/* The options into fo (over m's fit() values), *threads and d's allreduce
 * settings (overlap, bucket size). An error here is a usage error (exit 2). */
int cli_train_read_options(cli_opt *opts, const nn_model *m, nn_fit_opts *fo, int *threads,
                           nn_dist *d, nn_error *e);

/* --early-stopping-* and --reduce-lr-* over the spec's callbacks
 * (src/cli/train_callbacks.c); a bad value is a usage error. */
int cli_train_callbacks(cli_opt *opts, nn_fit_opts *fo, nn_error *e);

#endif
