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

#endif
