/* nntrain convert idx|cifar10|csv|images SRC -o OUT.h5: turns a dataset into
 * one nntrain HDF5 file (schema in include/nntrain/h5data.h), reporting
 * byte-identical duplicates (and dropping them with --dedupe). Image folders
 * are handled by cmd_convert_images.c. Also the report and "-o" helpers that
 * `nntrain split` shares. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "infer.h"
#include "nntrain/clock.h"
#include "nntrain/convert.h"

#define MAX_CLASS_NAMES 4096

static const char *help =
    "usage: nntrain convert idx DIR -o OUT.h5 [options]\n"
    "       nntrain convert cifar10 DIR -o OUT.h5 [options]\n"
    "       nntrain convert csv FILE.csv (--label-column NAME | --target-columns A,B |\n"
    "                              --sklearn) -o OUT.h5 [options]\n"
    "       nntrain convert images DIR=label [DIR=label ...] -o OUT.h5 [options]\n"
    "                              (see nntrain convert images --help)\n"
    "       nntrain convert sequences FILE.txt --maxlen L -o OUT.h5 [options]\n"
    "                              (see nntrain convert sequences --help)\n"
    "\n"
    "Converts a dataset into one nntrain HDF5 file (uint8 NHWC images or float32\n"
    "features, int32 labels or float32 targets; see include/nntrain/h5data.h).\n"
    "  idx       MNIST-style IDX files, gzip or plain: train-images-idx3-ubyte[.gz] and\n"
    "            train-labels-idx1-ubyte[.gz] -> /train, t10k-* -> /test\n"
    "  cifar10   CIFAR-10 binary batches: data_batch_1..5.bin -> /train,\n"
    "            test_batch.bin -> /test; class names from batches.meta.txt\n"
    "  csv       a CSV file with a header row -> /train; other columns are features\n"
    "\n"
    "  -o, --out OUT.h5        output file (written to a temporary name, then renamed)\n"
    "  --dedupe                drop byte-identical duplicate samples (keep the first;\n"
    "                          test samples equal to a train sample are dropped too).\n"
    "                          Duplicates are always counted and reported.\n"
    "  --compress N            gzip level 0..9 for x (default 0: none)\n"
    "  --class-names A,B,...   idx: names of labels 0, 1, ... (default: Fashion-MNIST's\n"
    "                          when DIR mentions fashion, else the digits)\n"
    "  --label-column NAME     csv: class labels (strings or integers), classes sorted\n"
    "  --target-columns A,B    csv: float regression targets\n"
    "  --sklearn               csv: scikit-learn's bundled tables (sklearn/datasets/data/\n"
    "                          iris.csv): header \"n_samples,n_features,class names...\",\n"
    "                          rows of features and a class index\n";

void cli_convert_report(const nn_convert_stats *st, const char *out, int dedupe)
{
    char shape[64];
    nn_shape_str(&st->shape, shape, sizeof shape);
    printf("Wrote %s:", out);
    for (int k = 0; k < st->nsplits; k++)
        printf("%s %s %zu", k ? "," : "", st->split[k].name, st->split[k].n_written);
    printf(" samples of %s %s, ", shape, st->images ? "uint8" : "float32");
    if (st->nclasses)
        printf("%d classes\n", st->nclasses);
    else
        printf("regression targets\n");
    for (int k = 0; k < st->nsplits; k++) {
        const nn_convert_split_stats *s = &st->split[k];
        if (!s->n_read)
            continue;
        printf("  %-5s %zu read, %zu byte-identical duplicate%s", s->name, s->n_read, s->n_dup,
               s->n_dup == 1 ? "" : "s");
        if (s->n_conflict)
            printf(" (%zu with a different label)", s->n_conflict);
        if (k > 0 && s->n_cross)
            printf(", %zu also in train", s->n_cross);
        printf(", %zu written%s\n", s->n_written,
               dedupe && s->n_written < s->n_read ? " (duplicates dropped)" : "");
    }
}

/* "a,b,c" into at most max names (pointers into buf, which is modified). */
static int split_names(char *buf, const char **names, int max)
{
    int n = 0;
    for (char *p = buf; p && n < max;) {
        char *c = strchr(p, ',');
        if (c)
            *c = 0;
        names[n++] = p;
        p = c ? c + 1 : NULL;
    }
    return n;
}

int cmd_convert(int argc, char **argv)
{
    cli_opt opts[] = {{"--out", 1, 0, 0},          {"--dedupe", 0, 0, 0},
                      {"--compress", 1, 0, 0},     {"--class-names", 1, 0, 0},
                      {"--label-column", 1, 0, 0}, {"--target-columns", 1, 0, 0},
                      {"--sklearn", 0, 0, 0},      {"--help", 0, 0, 0},
                      {NULL, 0, 0, 0}};
    const char *kind = argc > 2 ? argv[2] : NULL;
    if (!kind || !strcmp(kind, "--help") || !strcmp(kind, "-h")) {
        fputs(help, kind ? stdout : stderr);
        return kind ? CLI_OK : CLI_USAGE;
    }
    if (!strcmp(kind, "images"))   /* image folders: cmd_convert_images.c */
        return cmd_convert_images(argc, argv, 3);
    if (!strcmp(kind, "sequences"))   /* token sequences: cmd_convert_sequences.c */
        return cmd_convert_sequences(argc, argv, 3);
    const char *pos[1];
    int npos = 0;
    nn_error e = {0};
    int rc = cli_parse_alias(argc, argv, 3, CLI_ALIAS_O, opts, pos, 1, &npos, &e);
    if (!rc && cli_find(opts, "--help")->given)
        return cli_help(NULL, help);
    nn_convert_opts o = {.dedupe = cli_find(opts, "--dedupe")->given,
                         .label_column = cli_find(opts, "--label-column")->value,
                         .target_columns = cli_find(opts, "--target-columns")->value,
                         .sklearn = cli_find(opts, "--sklearn")->given};
    const char *out = cli_find(opts, "--out")->value;
    int is_idx = !strcmp(kind, "idx"), is_cifar = !strcmp(kind, "cifar10"),
        is_csv = !strcmp(kind, "csv");
    if (!rc && !is_idx && !is_cifar && !is_csv)
        rc = nn_err(&e, NN_EINVAL, "unknown dataset kind '%s' (known: idx, cifar10, csv, images, sequences)",
                    kind);
    if (!rc && npos != 1)
        rc = nn_err(&e, NN_EINVAL, "convert %s needs one input %s", kind,
                    is_csv ? "file" : "directory");
    if (!rc && !out)
        rc = nn_err(&e, NN_EINVAL, "convert needs an output file: -o OUT.h5");
    if (!rc)
        rc = cli_int(opts, "--compress", &o.compress, &e);
    if (!rc && (o.compress < 0 || o.compress > 9))
        rc = nn_err(&e, NN_EINVAL, "--compress must be 0..9, got %d", o.compress);
    if (!rc && !is_csv && (o.label_column || o.target_columns || o.sklearn))
        rc = nn_err(&e, NN_EINVAL, "--label-column, --target-columns and --sklearn are for csv "
                    "only");
    if (!rc && !is_idx && cli_find(opts, "--class-names")->given)
        rc = nn_err(&e, NN_EINVAL, "--class-names is for idx only");
    if (!rc && is_csv && (!o.label_column + !o.target_columns + !o.sklearn) != 2)
        rc = nn_err(&e, NN_EINVAL, "convert csv needs one of --label-column NAME "
                    "(classification), --target-columns A,B (regression) or --sklearn "
                    "(scikit-learn's tables: the classes from the header)");
    char *names_buf = NULL;
    const char *names[MAX_CLASS_NAMES];
    if (!rc && cli_find(opts, "--class-names")->given) {
        names_buf = strdup(cli_find(opts, "--class-names")->value);
        if (!names_buf)
            rc = nn_err(&e, NN_ENOMEM, "out of memory");
        else {
            o.class_names = names;
            o.nclass_names = split_names(names_buf, names, MAX_CLASS_NAMES);
        }
    }
    if (rc) {
        free(names_buf);
        return cli_usage(NULL, &e, help);
    }
    nn_convert_stats st;
    double t0 = nn_now();
    if (is_idx)
        rc = nn_convert_idx(pos[0], out, &o, &st, &e);
    else if (is_cifar)
        rc = nn_convert_cifar10(pos[0], out, &o, &st, &e);
    else
        rc = nn_convert_csv(pos[0], out, &o, &st, &e);
    free(names_buf);
    rc = cli_hint_path(rc, &e, pos[0], CLI_WANT_DATA);
    if (rc) {
        cli_error(NULL, &e);
        return CLI_FAIL;
    }
    cli_convert_report(&st, out, o.dedupe);
    printf("  (%.2f s)\n", nn_now() - t0);
    return CLI_OK;
}
