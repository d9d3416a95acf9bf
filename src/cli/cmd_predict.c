/* nntrain predict MODEL.h5 (--data SRC | --images DIR|FILE) [-o FILE.csv]:
 * model outputs as CSV, one row per sample: its file name (or index), one
 * probability column per class (named by the class names, else class_0..)
 * and the predicted class; the true class too when the data has labels. A
 * regression model gets output_0.. columns. For an autoencoder (output shape
 * = input shape) --recon-dir DIR writes PNG pairs (original | reconstruction)
 * instead. Under mpirun the batches are shared out; rank 0 writes. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "infer.h"
#include "nntrain/confusion.h"
#include "nntrain/gemm.h"
#include "nntrain/predict.h"
#include "nntrain/tmpfile.h"

static const char *help =
    "usage: nntrain predict MODEL.h5 (--data SRC | --images DIR|FILE) [options]\n"
    "\n"
    "Runs a trained model (an nntrain checkpoint, a Keras 2 .h5 saved by\n"
    "model.save or a Keras 3 .keras file) and writes CSV: the file name (or sample index), one probability\n"
    "column per class and the predicted class (plus the true class when the data\n"
    "has labels). Under mpirun/srun the batches are shared out over the ranks.\n"
    "\n"
    "  --data SRC            an nntrain .h5 file, an IDX folder, synthetic:sqrt[:N]\n"
    "  --split test|train    which split of SRC (default: test when SRC has one)\n"
    "  --images DIR|FILE     every image in DIR (JPEG, PNG, BMP, GIF, ...; sorted by\n"
    "                        name; other files such as Thumbs.db are skipped), or one\n"
    "                        image file; resized to the model's input and converted\n"
    "                        to its channels (grey / RGB), pixels / 255\n"
    "  -o, --out FILE        the CSV file (default: standard output)\n"
    "  --class-names A,B,..  column and class names (default: the dataset's\n"
    "                        class_names, else the checkpoint's (first for --images),\n"
    "                        else class_0, class_1, ...)\n"
    "  --limit N             only the first N samples\n"
    "  --recon-dir DIR       autoencoders (output shape = input shape): write PNG\n"
    "                        pairs, original | reconstruction, into DIR instead of CSV\n"
    "                        (default with --data: the first 64 samples)\n"
    "  --batch-size B        samples per forward pass, all ranks together (default 64)\n"
    "  --threads T           compute threads per rank\n";

static int write_csv(FILE *f, const nn_model *m, const cli_input *in, const float *out,
                     size_t n, const float *y)
{
    int K = (int)nn_model_out_size(m), cls = cli_is_classifier(m);
    int C = cls ? nn_class_count(K) : K;
    char buf[32];
    fputs(in->has_im ? "file" : "index", f);
    for (int k = 0; k < C; k++) {
        fputc(',', f);
        if (cls) {
            cli_csv_field(f, cli_class_name(in, k, buf, sizeof buf));
        } else {
            fprintf(f, "output_%d", k);
        }
    }
    if (cls)
        fputs(",predicted", f);
    if (cls && y)
        fputs(",true", f);
    fputc('\n', f);
    for (size_t i = 0; i < n; i++) {
        const float *p = out + i * (size_t)K;
        cli_csv_field(f, cli_sample_name(in, i, buf, sizeof buf));
        for (int k = 0; k < C; k++)
            fprintf(f, ",%.6g", (double)(cls ? nn_class_prob(p, K, k) : p[k]));
        if (cls) {
            fputc(',', f);
            cli_csv_field(f, cli_class_name(in, nn_pred_class(p, K, NULL), buf, sizeof buf));
        }
        if (cls && y) {
            int t = nn_true_class(y + i * (size_t)in->ds.ydim, in->ds.ydim, K);
            fputc(',', f);
            if (t >= 0)
                cli_csv_field(f, cli_class_name(in, t, buf, sizeof buf));
        }
        fputc('\n', f);
    }
    return ferror(f) ? -1 : 0;
}

/* PNG pairs (original | reconstruction), upscaled to at least 64 px tall. */
static int write_recon(const char *dir, const nn_model *m, cli_input *in, const float *out,
                       size_t n, nn_error *e)
{
    nn_shape img;
    char ms[64];
    if (!cli_image_shape(&m->in_shape, &in->ds.x_shape, &img) || img.d[2] > 4)
        return nn_err(e, NN_ESHAPE, "--recon-dir: the model's input %s is not an image",
                      nn_shape_str(&m->in_shape, ms, sizeof ms));
    int rc = cli_mkdirs(dir, e);
    if (rc)
        return rc;
    int H = img.d[0], W = img.d[1], C = img.d[2];
    int s = H >= 64 ? 1 : (64 + H - 1) / H;
    s = s > 8 ? 8 : s;
    int gap = 2 * s, ow = 2 * W * s + gap, oh = H * s;
    size_t per = nn_shape_size(&img);
    uint8_t *px = malloc((size_t)ow * (size_t)oh * (size_t)C);
    float *x = malloc(per * sizeof *x), y[1];
    if (!px || !x) {
        free(px);
        free(x);
        return nn_err(e, NN_ENOMEM, "out of memory");
    }
    float *yb = in->ds.ydim > 1 ? malloc((size_t)in->ds.ydim * sizeof *yb) : y;
    if (!yb)
        rc = nn_err(e, NN_ENOMEM, "out of memory");
    for (size_t i = 0; i < n && !rc; i++) {
        uint64_t id = i;
        if ((rc = in->ds.read(&in->ds, &id, 1, x, yb, e)))
            break;
        memset(px, 255, (size_t)ow * (size_t)oh * (size_t)C);
        cli_blit(px, ow, 0, 0, x, &img, s);
        cli_blit(px, ow, 0, W * s + gap, out + i * per, &img, s);
        char name[4400], b[32];
        if (in->has_im) {
            char stem[256];
            snprintf(stem, sizeof stem, "%s", cli_sample_name(in, i, b, sizeof b));
            char *dot = strrchr(stem, '.');
            if (dot && dot != stem)
                *dot = 0;
            snprintf(name, sizeof name, "%s/%05zu_%s.png", dir, i, stem);
        } else {
            snprintf(name, sizeof name, "%s/%05zu.png", dir, i);
        }
        rc = cli_write_png(name, ow, oh, C, px, e);
    }
    if (yb != y)
        free(yb);
    free(px);
    free(x);
    if (!rc)
        printf("Wrote %zu PNG pairs (original | reconstruction, %dx%d pixels) to %s\n", n, ow,
               oh, dir);
    return rc;
}

/* predict's command line: the part evaluate and analyze share, and its own. */
typedef struct predict_args {
    cli_infer_args c;             /* MODEL.h5, --data / --images, --split, ... */
    const char *outp, *recon;     /* -o FILE, --recon-dir DIR (NULL: not given) */
} predict_args;

/* The command line into a, checked. Returns -1 to go on, else the exit
 * status (after --help or a usage error). */
static int read_args(int argc, char **argv, predict_args *a, nn_dist *d)
{
    cli_opt opts[] = {{"--data", 1, 0, 0},        {"--split", 1, 0, 0},
                      {"--images", 1, 0, 0},      {"--out", 1, 0, 0},
                      {"--class-names", 1, 0, 0}, {"--limit", 1, 0, 0},
                      {"--recon-dir", 1, 0, 0},   {"--batch-size", 1, 0, 0},
                      {"--threads", 1, 0, 0},     {"--precision", 1, 0, 0},
                      {"--help", 0, 0, 0},
                      {NULL, 0, 0, 0}};
    nn_error e = {0};
    int rc = cli_infer_parse(argc, argv, "predict", opts, &a->c, &e);
    if (!rc && a->c.help)
        return cli_help(d, help);
    a->outp = cli_find(opts, "--out")->value;
    a->recon = cli_find(opts, "--recon-dir")->value;
    if (!rc && a->c.split && a->c.images)
        rc = nn_err(&e, NN_EINVAL, "--split goes with --data, not --images");
    if (!rc && a->recon && a->outp)
        rc = nn_err(&e, NN_EINVAL, "--recon-dir writes PNG files, not CSV: drop -o %s", a->outp);
    return rc ? cli_usage(d, &e, help) : -1;
}

/* --limit, else all n (--recon-dir with --data: the first 64). */
static size_t sample_count(const predict_args *a, size_t n)
{
    if (a->c.limit > 0 && (size_t)a->c.limit < n)
        return (size_t)a->c.limit;
    if (a->recon && !a->c.images && a->c.limit < 0 && n > 64)
        return 64;
    return n;
}

static int check_shapes(const predict_args *a, const nn_model *m, const cli_input *in,
                        nn_error *e)
{
    size_t K = nn_model_out_size(m);
    if (a->recon && K != nn_model_in_size(m))
        return nn_err(e, NN_ESHAPE, "--recon-dir needs an autoencoder (output shape = input "
                      "shape): %s has %zu outputs for %zu inputs", a->c.model, K,
                      nn_model_in_size(m));
    return cli_input_check_shape(in, m, e);
}

/* The true classes of samples [0, n) into *y (NULL when the data has no
 * labels a classifier's outputs can be scored against). */
static int true_classes(cli_input *in, const nn_model *m, size_t n, float **y, nn_error *e)
{
    size_t K = nn_model_out_size(m);
    *y = NULL;
    if (!(in->labelled && cli_is_classifier(m) && in->ds.ydim >= 1 &&
          (in->ds.nclasses > 0 || in->ds.ydim == (int)K)))
        return NN_OK;
    *y = malloc((n ? n : 1) * (size_t)in->ds.ydim * sizeof **y);
    return *y ? cli_read_targets(&in->ds, n, *y, e) : nn_err(e, NN_ENOMEM, "out of memory");
}

/* The CSV to -o FILE (a temporary name, then renamed) or standard output. */
static int write_predictions(const predict_args *a, const nn_model *m, cli_input *in,
                             const float *out, size_t n, nn_error *e)
{
    float *y;
    int rc = true_classes(in, m, n, &y, e);
    char tmp[NN_TMP_NAME_MAX];
    FILE *f = stdout;
    if (!rc && a->outp && !(f = nn_tmp_fopen(a->outp, tmp, sizeof tmp)))
        rc = nn_err(e, NN_EIO, "-o %s: cannot write: %s", a->outp, strerror(errno));
    if (!rc) {
        int bad = write_csv(f, m, in, out, n, y);
        if (a->outp) {
            if (nn_tmp_fclose(f, tmp, bad) || nn_tmp_commit(tmp, a->outp))
                rc = nn_err(e, NN_EIO, "-o %s: writing failed", a->outp);
        } else {
            bad |= fflush(stdout) != 0;
            if (bad)
                rc = nn_err(e, NN_EIO, "writing the CSV to standard output failed");
        }
    }
    if (!rc && a->outp)
        fprintf(stderr, "Wrote %zu predictions of %s to %s\n", n, in->what, a->outp);
    free(y);
    return rc;
}

int cmd_predict(int argc, char **argv, nn_dist *d)
{
    predict_args a = {0};
    int code = read_args(argc, argv, &a, d);
    if (code >= 0)
        return code;

    nn_model m = {0};
    cli_input in = {0};
    float *out = NULL;
    nn_error e = {0};
    int have_model, rc = cli_infer_open(&a.c, d->rank == 0, &m, &have_model, &in, &e);
    size_t K = nn_model_out_size(&m), n = sample_count(&a, in.ds.n);
    if (!rc)
        rc = check_shapes(&a, &m, &in, &e);
    if (!rc && !(out = malloc((n ? n : 1) * K * sizeof *out)))
        rc = nn_err(&e, NN_ENOMEM, "out of memory for %zu x %zu outputs", n, K);
    rc = nn_dist_agree(d, rc, &e);
    if (!rc && !(rc = cli_use_threads(d, &m, a.c.threads, NULL, &e)))
        rc = nn_predict(&m, &in.ds, n, a.c.batch, d, out, &e);
    int rc0 = NN_OK;   /* rank 0 writes */
    if (!rc && d->rank == 0)
        rc0 = a.recon ? write_recon(a.recon, &m, &in, out, n, &e)
                      : write_predictions(&a, &m, &in, out, n, &e);
    if (!rc)
        rc = nn_dist_agree(d, rc0, &e);
    if (rc)
        cli_error(d, &e);
    free(out);
    cli_input_free(&in);
    if (have_model)
        nn_model_free(&m);
    return rc ? CLI_FAIL : CLI_OK;
}
