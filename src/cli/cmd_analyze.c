/* nntrain analyze MODEL.h5 --data SRC [-o DIR]: two pictures of what a
 * trained image model does, as the course shows them for MNIST:
 *   first_layer_weights.png  the first weighted layer's kernels as images:
 *       for Dense on image input each unit's weight column reshaped to the
 *       image (for a single softmax layer: the per-class templates), for
 *       Conv2D each filter; blue negative, white 0, red positive (RGB
 *       kernels: per-unit min-max colour); .csv lists tile -> unit / class
 *   most_confident.png  per class, the sample of that class the model gives
 *       the highest probability; .csv: class, sample, probability, prediction
 * Predictions are shared out over the ranks; rank 0 writes. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "infer.h"
#include "nntrain/confusion.h"
#include "nntrain/gemm.h"
#include "nntrain/predict.h"
#include "nntrain/strbuf.h"
#include "nntrain/tmpfile.h"

#define MAX_UNITS 256
#define MIN_TILE_PX 56

static const char *help =
    "usage: nntrain analyze MODEL.h5 --data SRC [-o DIR] [options]\n"
    "\n"
    "Writes into DIR (default 'analysis'):\n"
    "  first_layer_weights.png/.csv  the first Dense (on image input) or Conv2D\n"
    "                layer's weights, one image per unit or filter (for a single\n"
    "                softmax layer: the per-class templates); blue < 0 < red\n"
    "  most_confident.png/.csv       per class, the sample of that class with the\n"
    "                highest predicted probability (classes in order, left to right)\n"
    "\n"
    "  --data SRC            an nntrain .h5 file or an IDX folder (image samples)\n"
    "  --split test|train    which split of SRC (default: test when SRC has one)\n"
    "  -o, --out DIR         output folder (created if needed)\n"
    "  --limit N             only look at the first N samples\n"
    "  --class-names A,B,..  class names (default: the dataset's class_names)\n"
    "  --batch-size B        samples per forward pass (default 64)\n"
    "  --threads T           compute threads per rank\n";

static int write_text(const char *path, const char *text, nn_error *e)
{
    char tmp[NN_TMP_NAME_MAX];
    FILE *f = nn_tmp_fopen(path, tmp, sizeof tmp);
    if (!f)
        return nn_err(e, NN_EIO, "%s: cannot write: %s", path, strerror(errno));
    int bad = fputs(text, f) < 0;
    if (nn_tmp_fclose(f, tmp, bad) || nn_tmp_commit(tmp, path))
        return nn_err(e, NN_EIO, "%s: writing failed", path);
    return NN_OK;
}

/* Appends printf output to the string *s of length *len (a nn_strbuf kept
 * as the pair; *s NULL after a failed malloc). */
static void sappend(char **s, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void sappend(char **s, size_t *len, const char *fmt, ...)
{
    if (!*s)
        return;
    nn_strbuf b = {.s = *s, .len = *len, .cap = *len + 1};
    va_list ap;
    va_start(ap, fmt);
    nn_strbuf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (b.oom) {
        nn_strbuf_free(&b);
        *s = NULL;
        return;
    }
    *s = b.s;
    *len = b.len;
}

static void grid_dims(int n, int *cols, int *rows)
{
    *cols = n <= 5 ? n : n <= 10 ? 5 : (int)ceil(sqrt((double)n));
    *rows = (n + *cols - 1) / *cols;
}

/* Blue (-1) .. white (0) .. red (+1). */
static void diverging(float v, uint8_t *rgb)
{
    v = v != v ? 0.0f : v < -1 ? -1.0f : v > 1 ? 1.0f : v;
    uint8_t f = (uint8_t)lrintf(255.0f * (1.0f - fabsf(v)));
    rgb[0] = v < 0 ? f : 255;
    rgb[1] = f;
    rgb[2] = v > 0 ? f : 255;
}

/* The first weighted layer's kernels as a PNG grid (RGB) and a CSV. *done is
 * 0 with a note printed when the model has no layer that fits. */
static int weight_images(const nn_model *m, const nn_shape *data_shape, const cli_input *in,
                         const char *dir, int *done, nn_error *e)
{
    *done = 0;
    int li = 0;
    while (li < m->nlayers && m->layers[li].param_len == 0)
        li++;
    if (li == m->nlayers) {
        printf("note: the model has no weights to draw\n");
        return NN_OK;
    }
    const nn_layer *l = &m->layers[li];
    nn_shape image;
    nn_weight_image wi = {0};
    int is_image = cli_image_shape(&m->in_shape, data_shape, &image);
    if (!l->ops->info || !l->ops->info->weight_image ||
        !l->ops->info->weight_image(l, is_image ? &image : NULL, &wi) || !wi.tile.n ||
        wi.units < 1) {
        printf("note: the first weighted layer '%s' (%s) does not take an image: no weight "
               "images\n", l->name, l->ops->kind);
        return NN_OK;
    }
    const nn_shape tile = wi.tile;
    const int units = wi.units;
    const float *W = m->params + l->param_off + wi.off;   /* (tile size, units) */
    int shown = units > MAX_UNITS ? MAX_UNITS : units, cols, rows;
    int TH = tile.d[0], TW = tile.d[1], C = tile.d[2];
    int s = TH >= MIN_TILE_PX ? 1 : (MIN_TILE_PX + TH - 1) / TH;
    s = s > 16 ? 16 : s;
    int gap = 2, th = TH * s, tw = TW * s;
    grid_dims(shown, &cols, &rows);
    int gw = cols * tw + (cols + 1) * gap, gh = rows * th + (rows + 1) * gap;
    size_t per = (size_t)TH * (size_t)TW * (size_t)C;
    uint8_t *px = malloc((size_t)gw * (size_t)gh * 3);
    char *csv = malloc(1);
    size_t clen = 0;
    if (!px || !csv) {
        free(px);
        free(csv);
        return nn_err(e, NN_ENOMEM, "out of memory");
    }
    csv[0] = 0;
    memset(px, 200, (size_t)gw * (size_t)gh * 3);
    int last = li == m->nlayers - 1 && cli_is_classifier(m);
    sappend(&csv, &clen, "tile,row,col,unit,label,min,max\n");
    for (int u = 0; u < shown; u++) {
        float lo = INFINITY, hi = -INFINITY;
        for (size_t k = 0; k < per; k++) {
            float w = W[k * (size_t)units + (size_t)u];
            lo = w < lo ? w : lo;
            hi = w > hi ? w : hi;
        }
        float amax = fmaxf(fabsf(lo), fabsf(hi));
        int r = u / cols, c = u % cols, y0 = gap + r * (th + gap), x0 = gap + c * (tw + gap);
        for (int y = 0; y < th; y++)
            for (int x = 0; x < tw; x++) {
                size_t k0 = ((size_t)(y / s) * (size_t)TW + (size_t)(x / s)) * (size_t)C;
                uint8_t *d = px + ((size_t)(y0 + y) * (size_t)gw + (size_t)(x0 + x)) * 3;
                if (C == 3) {   /* RGB kernel: min-max colour */
                    for (int ch = 0; ch < 3; ch++) {
                        float w = W[(k0 + (size_t)ch) * (size_t)units + (size_t)u];
                        d[ch] = (uint8_t)lrintf(hi > lo ? 255.0f * (w - lo) / (hi - lo) : 128);
                    }
                } else {        /* grey (or the channels' mean): diverging */
                    float w = 0;
                    for (int ch = 0; ch < C; ch++)
                        w += W[(k0 + (size_t)ch) * (size_t)units + (size_t)u];
                    diverging(amax > 0 ? w / (float)C / amax : 0.0f, d);
                }
            }
        char b[32], lab[96];
        if (last)
            snprintf(lab, sizeof lab, "%s", cli_class_name(in, u, b, sizeof b));
        else
            snprintf(lab, sizeof lab, "%s/%d", l->name, u);
        char q[160];
        sappend(&csv, &clen, "%d,%d,%d,%d,%s,%.6g,%.6g\n", u, r, c, u,
                cli_csv_quote(lab, q, sizeof q), (double)lo, (double)hi);
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/first_layer_weights.png", dir);
    int rc = cli_write_png(path, gw, gh, 3, px, e);
    if (!rc) {
        snprintf(path, sizeof path, "%s/first_layer_weights.csv", dir);
        rc = csv ? write_text(path, csv, e) : nn_err(e, NN_ENOMEM, "out of memory");
    }
    if (!rc) {
        printf("Wrote %s/first_layer_weights.png: %d of %d %s of layer '%s' (%s) as %dx%dx%d "
               "images%s (blue < 0 < red), tiles listed in first_layer_weights.csv\n",
               dir, shown, units, wi.what, l->name, l->ops->kind, TH, TW, C,
               last ? ", one per class" : "");
        *done = 1;
    }
    free(px);
    free(csv);
    return rc;
}

/* Per class, the sample of that class with the highest probability of it. */
static int confident_examples(const nn_model *m, cli_input *in, const float *probs, size_t n,
                              const char *dir, nn_error *e)
{
    nn_shape img;
    if (!cli_image_shape(&m->in_shape, &in->ds.x_shape, &img) || img.d[2] > 4) {
        printf("note: the samples are not images: no most_confident.png\n");
        return NN_OK;
    }
    int K = (int)nn_model_out_size(m), C = nn_class_count(K), ydim = in->ds.ydim;
    size_t per = nn_shape_size(&img);
    float *y = malloc((n ? n : 1) * (size_t)ydim * sizeof *y), *prob = malloc((size_t)C * sizeof *prob);
    float *x = malloc(per * sizeof *x), *yb = malloc((size_t)ydim * sizeof *yb);
    size_t *best = malloc((size_t)C * sizeof *best);
    int H = img.d[0], W = img.d[1], ch = img.d[2];
    int s = H >= MIN_TILE_PX ? 1 : (MIN_TILE_PX + H - 1) / H, cols, rows, gap = 4;
    s = s > 8 ? 8 : s;
    grid_dims(C, &cols, &rows);
    int th = H * s, tw = W * s, gw = cols * tw + (cols + 1) * gap, gh = rows * th + (rows + 1) * gap;
    uint8_t *px = malloc((size_t)gw * (size_t)gh * (size_t)ch);
    char *csv = malloc(1);
    size_t clen = 0;
    int rc = y && prob && x && yb && best && px && csv ? NN_OK
                                                       : nn_err(e, NN_ENOMEM, "out of memory");
    if (!rc)
        rc = cli_read_targets(&in->ds, n, y, e);
    if (!rc) {
        csv[0] = 0;
        memset(px, 255, (size_t)gw * (size_t)gh * (size_t)ch);
        nn_most_confident(probs, K, y, ydim, n, best, prob);
        sappend(&csv, &clen, "class,name,sample,probability,predicted\n");
    }
    int found = 0;
    for (int c = 0; c < C && !rc; c++) {
        char b1[32], b2[32], q[160];
        sappend(&csv, &clen, "%d,%s,", c,
                cli_csv_quote(cli_class_name(in, c, b1, sizeof b1), q, sizeof q));
        if (best[c] == n) {
            sappend(&csv, &clen, ",,\n");
            continue;
        }
        uint64_t id = best[c];
        if ((rc = in->ds.read(&in->ds, &id, 1, x, yb, e)))
            break;
        cli_blit(px, gw, gap + (c / cols) * (th + gap), gap + (c % cols) * (tw + gap), x, &img,
                 s);
        int p = nn_pred_class(probs + best[c] * (size_t)K, K, NULL);
        sappend(&csv, &clen, "%zu,%.6g,%s\n", best[c], (double)prob[c],
                cli_csv_quote(cli_class_name(in, p, b2, sizeof b2), q, sizeof q));
        found++;
    }
    char path[4200];
    if (!rc && !csv)
        rc = nn_err(e, NN_ENOMEM, "out of memory");
    if (!rc) {
        snprintf(path, sizeof path, "%s/most_confident.png", dir);
        rc = cli_write_png(path, gw, gh, ch, px, e);
    }
    if (!rc) {
        snprintf(path, sizeof path, "%s/most_confident.csv", dir);
        rc = write_text(path, csv, e);
    }
    if (!rc)
        printf("Wrote %s/most_confident.png: the most confident example of %d of %d classes "
               "(of %zu samples; classes left to right, %d per row), listed in "
               "most_confident.csv\n", dir, found, C, n, cols);
    free(y);
    free(prob);
    free(x);
    free(yb);
    free(best);
    free(px);
    free(csv);
    return rc;
}

int cmd_analyze(int argc, char **argv, nn_dist *d)
{
    cli_opt opts[] = {{"--data", 1, 0, 0},       {"--split", 1, 0, 0},
                      {"--out", 1, 0, 0},        {"--limit", 1, 0, 0},
                      {"--class-names", 1, 0, 0}, {"--batch-size", 1, 0, 0},
                      {"--threads", 1, 0, 0},    {"--help", 0, 0, 0},
                      {NULL, 0, 0, 0}};
    cli_infer_args a;
    nn_error e = {0};
    int rc = cli_infer_parse(argc, argv, "analyze", opts, &a, &e);
    if (!rc && a.help)
        return cli_help(d, help);
    const char *dir = cli_find(opts, "--out")->given ? cli_find(opts, "--out")->value
                                                     : "analysis";
    if (rc)
        return cli_usage(d, &e, help);

    nn_model m = {0};
    cli_input in = {0};
    float *probs = NULL;
    int have_model = 0, classify = 0;
    rc = cli_infer_open(&a, d->rank == 0, &m, &have_model, &in, &e);
    size_t n = in.ds.n, K = nn_model_out_size(&m);
    if (a.limit > 0 && (size_t)a.limit < n)
        n = (size_t)a.limit;
    if (!rc)
        rc = cli_input_check_shape(&in, &m, &e);
    if (!rc && d->rank == 0)
        rc = cli_mkdirs(dir, &e);
    if (!rc && d->rank == 0 && access(dir, W_OK))
        rc = nn_err(&e, NN_EIO, "-o %s: the folder is not writable: %s", dir, strerror(errno));
    classify = !rc && cli_is_classifier(&m) && (in.ds.nclasses > 0 || in.ds.ydim == (int)K);
    if (classify && !(probs = malloc((n ? n : 1) * K * sizeof *probs)))
        rc = nn_err(&e, NN_ENOMEM, "out of memory for %zu predictions", n);
    rc = nn_dist_agree(d, rc, &e);
    if (!rc) {
        rc = cli_use_threads(d, &m, a.threads, NULL, &e);
        if (d->rank == 0)
            printf("Model: %s (%s, %zu parameters); data: %s\n", a.model, m.name, m.nparams,
                   in.what);
    }
    if (!rc && classify)
        rc = nn_predict(&m, &in.ds, n, a.batch, d, probs, &e);
    int rc0 = NN_OK, done = 0;
    if (!rc && d->rank == 0) {
        rc0 = weight_images(&m, &in.ds.x_shape, &in, dir, &done, &e);
        if (!rc0 && classify)
            rc0 = confident_examples(&m, &in, probs, n, dir, &e);
        else if (!rc0)
            printf("note: %s is not a classifier of labelled data: no most_confident.png\n",
                   a.model);
    }
    if (!rc)
        rc = nn_dist_agree(d, rc0, &e);
    fflush(stdout);
    if (rc)
        cli_error(d, &e);
    free(probs);
    cli_input_free(&in);
    if (have_model)
        nn_model_free(&m);
    return rc ? CLI_FAIL : CLI_OK;
}
