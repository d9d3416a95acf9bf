/* nntrain evaluate MODEL.h5 --data SRC: loss and metrics as Keras's
 * model.evaluate (sharded over the ranks by nn_evaluate), then for a
 * classifier the confusion matrix with class names, per-class accuracy and
 * precision, and the wrong predictions the model is most sure of (from
 * nn_predict outputs; src/train/confusion.c). Rank 0 prints. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "infer.h"
#include "nntrain/confusion.h"
#include "nntrain/gemm.h"
#include "nntrain/evaluate.h"
#include "nntrain/predict.h"
#include "nntrain/tmpfile.h"

#define MAX_TABLE_CLASSES 30   /* wider matrices go to --confusion-csv only */

static const char *help =
    "usage: nntrain evaluate MODEL.h5 --data SRC [options]\n"
    "\n"
    "Loss and metrics of a trained model (an nntrain checkpoint, a Keras 2 .h5\n"
    "saved by model.save or a Keras 3 .keras file) on a dataset; for a classifier also the confusion\n"
    "matrix, per-class accuracy and the most confident wrong predictions.\n"
    "Under mpirun/srun the samples are shared out over the ranks.\n"
    "\n"
    "  --data SRC            an nntrain .h5 file, an IDX folder, synthetic:sqrt[:N]\n"
    "  --split test|train    which split of SRC (default: test when SRC has one)\n"
    "  --batch-size B        samples per forward pass, all ranks together (default 64)\n"
    "  --errors N            list the N most confident mistakes (default 10; 0: none);\n"
    "                        two lists for one sigmoid output: false positives and\n"
    "                        false negatives\n"
    "  --confusion-csv FILE  write the confusion matrix as CSV (rows: true class);\n"
    "                        scripts/plot_confusion.py FILE draws it as a PNG\n"
    "  --class-names A,B,..  class names (default: the dataset's class_names, else\n"
    "                        those the checkpoint keeps from its training data)\n"
    "  --target input        score reconstructions of the input (autoencoders; the\n"
    "                        default when the model was trained so)\n"
    "  --threads T           compute threads per rank\n";

static int count_digits(size_t v)
{
    int d = 1;
    while (v >= 10)
        v /= 10, d++;
    return d;
}

static void print_matrix(const nn_confusion *c, const cli_input *in)
{
    char buf[32];
    const char *corner = "true \\ predicted";
    int C = c->nclasses, lw = (int)strlen(corner), cw = 5;
    size_t maxc = 0;
    for (size_t i = 0; i < (size_t)C * (size_t)C; i++)
        maxc = c->counts[i] > maxc ? c->counts[i] : maxc;
    for (int k = 0; k < C; k++) {
        int len = (int)strlen(cli_class_name(in, k, buf, sizeof buf));
        lw = len > lw ? len : lw;
        cw = len > cw ? len : cw;
    }
    lw = lw > 24 ? 24 : lw;
    cw = cw > 12 ? 12 : cw;
    cw = count_digits(maxc) > cw ? count_digits(maxc) : cw;
    printf("Confusion matrix (rows: true class, columns: predicted class):\n");
    printf("  %-*.*s", lw, lw, corner);
    for (int p = 0; p < C; p++)
        printf("  %*.*s", cw, cw, cli_class_name(in, p, buf, sizeof buf));
    printf("\n");
    for (int t = 0; t < C; t++) {
        printf("  %-*.*s", lw, lw, cli_class_name(in, t, buf, sizeof buf));
        for (int p = 0; p < C; p++)
            printf("  %*zu", cw, c->counts[(size_t)t * (size_t)C + (size_t)p]);
        printf("\n");
    }
}

static void print_per_class(const nn_confusion *c, const cli_input *in)
{
    char buf[32];
    int lw = 5;
    for (int k = 0; k < c->nclasses; k++) {
        int len = (int)strlen(cli_class_name(in, k, buf, sizeof buf));
        lw = len > lw ? len : lw;
    }
    lw = lw > 24 ? 24 : lw;
    printf("Per-class accuracy:\n  %-*s  %8s  %8s  %8s  %9s\n", lw, "class", "samples", "correct",
           "accuracy", "precision");
    for (int k = 0; k < c->nclasses; k++) {
        size_t n = nn_confusion_true_count(c, k);
        double a = nn_confusion_class_accuracy(c, k), p = nn_confusion_class_precision(c, k);
        char as[16] = "-", ps[16] = "-";
        if (!isnan(a))
            snprintf(as, sizeof as, "%.4f", a);
        if (!isnan(p))
            snprintf(ps, sizeof ps, "%.4f", p);
        printf("  %-*.*s  %8zu  %8zu  %8s  %9s\n", lw, lw, cli_class_name(in, k, buf, sizeof buf),
               n, c->counts[(size_t)k * (size_t)c->nclasses + (size_t)k], as, ps);
    }
}

/* Prints one list of mistakes (rank 0). */
static int print_mistakes(const char *title, const float *probs, int K, const float *y,
                          int ydim, size_t n, int truth, int pred, size_t max,
                          const cli_input *in, nn_error *e)
{
    nn_mistake *m = malloc(max * sizeof *m);
    if (!m)
        return nn_err(e, NN_ENOMEM, "out of memory");
    size_t k = nn_hardest_mistakes(probs, K, y, ydim, n, truth, pred, m, max);
    printf("%s:%s\n", title, k ? "" : " none");
    int sw = in->has_im ? 24 : 8;
    if (k)
        printf("  %-*s  %-16s  %-16s  %s\n", sw, in->has_im ? "file" : "sample", "true",
               "predicted", "probability");
    for (size_t i = 0; i < k; i++) {
        char b1[32], b2[32], b3[32];
        printf("  %-*s  %-16s  %-16s  %.4f\n", sw, cli_sample_name(in, m[i].index, b1, sizeof b1),
               cli_class_name(in, m[i].truth, b2, sizeof b2),
               cli_class_name(in, m[i].pred, b3, sizeof b3), (double)m[i].prob);
    }
    free(m);
    return NN_OK;
}

static int write_csv(const char *path, const nn_confusion *c, const cli_input *in, nn_error *e)
{
    char tmp[NN_TMP_NAME_MAX], buf[32];
    FILE *f = nn_tmp_fopen(path, tmp, sizeof tmp);
    if (!f)
        return nn_err(e, NN_EIO, "--confusion-csv %s: cannot write: %s", path, strerror(errno));
    fputs("true\\predicted", f);
    for (int p = 0; p < c->nclasses; p++) {
        fputc(',', f);
        cli_csv_field(f, cli_class_name(in, p, buf, sizeof buf));
    }
    fputc('\n', f);
    for (int t = 0; t < c->nclasses; t++) {
        cli_csv_field(f, cli_class_name(in, t, buf, sizeof buf));
        for (int p = 0; p < c->nclasses; p++)
            fprintf(f, ",%zu", c->counts[(size_t)t * (size_t)c->nclasses + (size_t)p]);
        fputc('\n', f);
    }
    if (nn_tmp_fclose(f, tmp, 0) || nn_tmp_commit(tmp, path))
        return nn_err(e, NN_EIO, "--confusion-csv %s: writing failed", path);
    return NN_OK;
}

/* A binary model far below chance on enough samples has most likely been
 * given its classes the other way round (another folder order or naming
 * than at training): say so, with the order of this data. */
static void order_hint(const nn_confusion *c, int K, const cli_input *in)
{
    double acc = nn_confusion_accuracy(c);
    size_t n = 0;
    for (int k = 0; k < c->nclasses; k++)
        n += nn_confusion_true_count(c, k);
    if (K != 1 || n < 20 || isnan(acc) || acc >= 0.3)
        return;
    char b0[32], b1[32];
    fflush(stdout);
    fprintf(stderr, "nntrain: hint: accuracy %.2f is far below chance: the classes may be in the "
            "other order than when the model was trained (class 0 = '%s', 1 = '%s' here)\n",
            acc, cli_class_name(in, 0, b0, sizeof b0), cli_class_name(in, 1, b1, sizeof b1));
}

/* Confusion matrix, per-class table and mistakes; probs (n, K) on every
 * rank, the rest on rank 0 only. */
static int classify_report(nn_model *m, cli_input *in, nn_dataset *ds, const float *probs,
                           int nerr, const char *csv, nn_error *e)
{
    size_t n = ds->n;
    int K = (int)nn_model_out_size(m), ydim = ds->ydim;
    float *y = malloc((n ? n : 1) * (size_t)ydim * sizeof *y);
    nn_confusion c = {0};
    if (!y)
        return nn_err(e, NN_ENOMEM, "out of memory for the targets of %zu samples", n);
    int rc = cli_read_targets(ds, n, y, e);
    if (!rc)
        rc = nn_confusion_compute(probs, K, y, ydim, n, &c, e);
    if (rc) {
        nn_err_prefix(e, "%s", ds->source);
        free(y);
        return rc;
    }
    if (!isnan(nn_confusion_accuracy(&c)) && !m->compiled)
        printf("accuracy (predicted class = true class): %.4f\n", nn_confusion_accuracy(&c));
    order_hint(&c, K, in);
    if (c.nclasses <= MAX_TABLE_CLASSES)
        print_matrix(&c, in);
    else
        printf("Confusion matrix: %d classes, too wide to print: see --confusion-csv FILE\n",
               c.nclasses);
    print_per_class(&c, in);
    if (nerr > 0 && K == 1) {
        char t[200], b0[32], b1[32];
        const char *n0 = cli_class_name(in, 0, b0, sizeof b0),
                   *n1 = cli_class_name(in, 1, b1, sizeof b1);
        snprintf(t, sizeof t, "Hardest false positives (true %s, predicted %s; most confident "
                 "first)", n0, n1);
        rc = print_mistakes(t, probs, K, y, ydim, n, 0, 1, (size_t)nerr, in, e);
        snprintf(t, sizeof t, "Hardest false negatives (true %s, predicted %s; most confident "
                 "first)", n1, n0);
        if (!rc)
            rc = print_mistakes(t, probs, K, y, ydim, n, 1, 0, (size_t)nerr, in, e);
    } else if (nerr > 0) {
        rc = print_mistakes("Most confident wrong predictions (false positives of the "
                            "predicted class, false negatives of the true one)",
                            probs, K, y, ydim, n, -1, -1, (size_t)nerr, in, e);
    }
    if (!rc && csv) {
        rc = write_csv(csv, &c, in, e);
        if (!rc)
            printf("Confusion matrix written to %s (plot: scripts/plot_confusion.py %s)\n", csv,
                   csv);
    }
    nn_confusion_free(&c);
    free(y);
    return rc;
}

int cmd_evaluate(int argc, char **argv, nn_dist *d)
{
    cli_opt opts[] = {{"--data", 1, 0, 0},          {"--split", 1, 0, 0},
                      {"--batch-size", 1, 0, 0},    {"--errors", 1, 0, 0},
                      {"--confusion-csv", 1, 0, 0}, {"--class-names", 1, 0, 0},
                      {"--target", 1, 0, 0},        {"--threads", 1, 0, 0},
                      {"--precision", 1, 0, 0},
                      {"--help", 0, 0, 0},          {NULL, 0, 0, 0}};
    cli_infer_args a;
    int target_input = -1;
    nn_error e = {0};
    int rc = cli_infer_parse(argc, argv, "evaluate", opts, &a, &e);
    if (!rc && a.help)
        return cli_help(d, help);
    const char *tg = cli_find(opts, "--target")->value;
    if (!rc && tg) {
        if (strcmp(tg, "input") && strcmp(tg, "labels"))
            rc = nn_err(&e, NN_EINVAL, "--target must be 'labels' or 'input', not '%s'", tg);
        target_input = !strcmp(tg, "input");
    }
    if (rc)
        return cli_usage(d, &e, help);

    nn_model m = {0};
    cli_input in = {0};
    nn_dataset ae = {0}, *ds = &in.ds;
    float *probs = NULL;
    int have_model = 0;
    rc = cli_infer_open(&a, d->rank == 0, &m, &have_model, &in, &e);
    if (target_input < 0)
        target_input = m.fit.target_input;
    if (!rc && target_input && !(rc = nn_data_autoencode(&in.ds, &ae, &e)))
        ds = &ae;
    if (!rc)
        rc = nn_check_data(&m, ds, &e);
    rc = nn_dist_agree(d, rc, &e);
    if (!rc) {
        rc = cli_use_threads(d, &m, a.threads, NULL, &e);
    }
    if (!rc && d->rank == 0) {
        printf("Model: %s (%s, %zu parameters); data: %s\n", a.model, m.name, m.nparams,
               in.what);
        fflush(stdout);
    }
    if (!rc && m.compiled) {
        double r[1 + NN_MAX_METRICS];
        rc = nn_evaluate(&m, ds, NULL, 0, a.batch, d, r, &e);
        if (!rc && d->rank == 0) {
            printf("%zu samples - loss: %.4f", ds->n, r[0]);
            for (int k = 0; k < m.nmetrics; k++)
                printf(" - %s: %.4f", m.metric_names[k], r[1 + k]);
            printf("\n");
        }
    } else if (!rc && d->rank == 0) {
        printf("note: %s has no compile() settings (no loss or metrics to report)\n", a.model);
    }
    int classify = !rc && !target_input && cli_is_classifier(&m);
    if (classify) {
        size_t K = nn_model_out_size(&m);
        probs = malloc((ds->n ? ds->n : 1) * K * sizeof *probs);
        rc = probs ? NN_OK : nn_err(&e, NN_ENOMEM, "out of memory for %zu predictions", ds->n);
        rc = nn_dist_agree(d, rc, &e);
        if (!rc)
            rc = nn_predict(&m, ds, ds->n, a.batch, d, probs, &e);
        int rc0 = NN_OK;
        if (!rc && d->rank == 0)
            rc0 = classify_report(&m, &in, ds, probs, a.errors, cli_find(opts, "--confusion-csv")->value,
                                  &e);
        if (!rc)
            rc = nn_dist_agree(d, rc0, &e);
    } else if (!rc && d->rank == 0 && cli_find(opts, "--confusion-csv")->given) {
        fprintf(stderr, "nntrain: warning: %s is not a classifier: no confusion matrix written\n",
                a.model);
    }
    fflush(stdout);
    if (rc)
        cli_error(d, &e);
    free(probs);
    if (ds == &ae)
        nn_data_close(&ae);
    cli_input_free(&in);
    if (have_model)
        nn_model_free(&m);
    return rc ? CLI_FAIL : CLI_OK;
}
