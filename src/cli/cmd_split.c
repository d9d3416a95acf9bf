/* nntrain split IN.h5 --val-fraction F --seed S -o TRAIN.h5 --val-out VAL.h5
 * [--dedupe]: a seeded random train/validation split of IN's /train into two
 * files (IN's /test goes with TRAIN.h5), so that validation data can be fixed
 * and, with --dedupe, free of byte-identical copies of training samples. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nntrain/convert.h"

static const char *help =
    "usage: nntrain split IN.h5 --val-fraction F -o TRAIN.h5 --val-out VAL.h5 [options]\n"
    "\n"
    "Splits IN's /train at random into TRAIN.h5 (/train, plus IN's /test if any) and\n"
    "VAL.h5 (/train, for `nntrain train --val VAL.h5`). Rows keep their order.\n"
    "  --val-fraction F        share of the samples for validation, 0 < F < 1\n"
    "  --seed S                permutation seed (default 1): same seed, same split\n"
    "  -o, --out TRAIN.h5      training output\n"
    "  --val-out VAL.h5        validation output\n"
    "  --dedupe                drop byte-identical duplicates first, so that no\n"
    "                          sample is in both files\n"
    "  --compress N            gzip level 0..9 for x (default 0)\n";

int cmd_split(int argc, char **argv)
{
    cli_opt opts[] = {{"--val-fraction", 1, 0, 0}, {"--seed", 1, 0, 0},
                      {"--out", 1, 0, 0},          {"--val-out", 1, 0, 0},
                      {"--dedupe", 0, 0, 0},       {"--compress", 1, 0, 0},
                      {"--help", 0, 0, 0},         {NULL, 0, 0, 0}};
    const char *pos[1];
    int npos = 0;
    nn_error e = {0};
    int rc = cli_parse_alias(argc, argv, 2, CLI_ALIAS_O, opts, pos, 1, &npos, &e);
    if (!rc && cli_find(opts, "--help")->given)
        return cli_help(NULL, help);
    double frac = 0, seed = 1;
    nn_convert_opts o = {.dedupe = cli_find(opts, "--dedupe")->given};
    if (!rc && npos != 1)
        rc = nn_err(&e, NN_EINVAL, "split needs one input file");
    if (!rc && !cli_find(opts, "--val-fraction")->given)
        rc = nn_err(&e, NN_EINVAL, "split needs --val-fraction F");
    if (!rc && (!cli_find(opts, "--out")->given || !cli_find(opts, "--val-out")->given))
        rc = nn_err(&e, NN_EINVAL, "split needs -o TRAIN.h5 and --val-out VAL.h5");
    if (!rc)
        rc = cli_double(opts, "--val-fraction", &frac, &e);
    if (!rc)
        rc = cli_double(opts, "--seed", &seed, &e);
    if (!rc)
        rc = cli_int(opts, "--compress", &o.compress, &e);
    if (!rc && !(frac > 0 && frac < 1))
        rc = nn_err(&e, NN_EINVAL, "--val-fraction must be between 0 and 1, got %g", frac);
    if (!rc && !(seed >= 0 && seed <= 9007199254740992.0 && seed == (double)(uint64_t)seed))
        rc = nn_err(&e, NN_EINVAL, "--seed must be a non-negative integer, got %g", seed);
    if (!rc && (o.compress < 0 || o.compress > 9))
        rc = nn_err(&e, NN_EINVAL, "--compress must be 0..9, got %d", o.compress);
    if (rc)
        return cli_usage(NULL, &e, help);
    const char *out = cli_find(opts, "--out")->value, *vout = cli_find(opts, "--val-out")->value;
    nn_convert_stats st;
    rc = nn_split_file(pos[0], out, vout, frac, (uint64_t)seed, &o, &st, &e);
    if (rc) {
        cli_error(NULL, &e);
        return CLI_FAIL;
    }
    const nn_convert_split_stats *t = &st.split[0], *v = &st.split[1];
    printf("Split %s (%zu samples, %zu byte-identical duplicate%s%s%s): %s gets %zu, %s gets "
           "%zu", pos[0], t->n_read, t->n_dup, t->n_dup == 1 ? "" : "s",
           t->n_conflict ? ", some with different labels" : "",
           o.dedupe && t->n_dup ? ", dropped" : "", out, t->n_written, vout, v->n_written);
    if (st.nsplits > 2)
        printf(" (and /test: %zu)", st.split[2].n_written);
    printf("\n");
    if (v->n_cross)
        printf("Warning: %zu validation sample%s also in %s (byte-identical); use --dedupe "
               "for an independent validation set\n", v->n_cross, v->n_cross == 1 ? " is" :
               "s are", out);
    return CLI_OK;
}
