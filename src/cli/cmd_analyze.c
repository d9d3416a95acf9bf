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
#include "draw.h"
#include "infer.h"
#include "nntrain/confusion.h"
#include "nntrain/gemm.h"
#include "nntrain/predict.h"
#include "nntrain/strbuf.h"
#include "nntrain/tmpfile.h"

#define MAX_UNITS 256
#define MIN_TILE_PX 128      /* weight tiles at least this wide */
#define MIN_EXAMPLE_PX 256   /* example images at least this wide */

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
    "  --class-names A,B,..  class names (default: the dataset's class_names, else\n"
    "                        those the checkpoint keeps from its training data)\n"
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

static const uint8_t BG[3] = {230, 230, 230}, INK[3] = {0, 0, 0}, RIGHT[3] = {0, 120, 0},
                     WRONG[3] = {200, 0, 0};

/* The caption s cut to fit width pixels at font scale 2. */
static void fit(char *s, int width)
{
    int max = (width + 2) / ((CLI_GLYPH_W + 1) * 2);
    if ((int)strlen(s) > max && max >= 0)
        s[max] = 0;
}

/* The first weighted layer and its kernels as images; 0 with a note printed
 * when there is none that takes an image. */
static int weight_layer(const nn_model *m, const nn_shape *data_shape, int *li,
                        nn_weight_image *wi)
{
    *li = 0;
    while (*li < m->nlayers && m->layers[*li].param_len == 0)
        (*li)++;
    if (*li == m->nlayers) {
        printf("note: the model has no weights to draw\n");
        return 0;
    }
    const nn_layer *l = &m->layers[*li];
    nn_shape image;
    int is_image = cli_image_shape(&m->in_shape, data_shape, &image);
    memset(wi, 0, sizeof *wi);
    if (!l->ops->info || !l->ops->info->weight_image ||
        !l->ops->info->weight_image(l, is_image ? &image : NULL, wi) || !wi->tile.n ||
        wi->units < 1) {
        printf("note: the first weighted layer '%s' (%s) does not take an image: no weight "
               "images\n", l->name, l->ops->kind);
        return 0;
    }
    return 1;
}

/* Unit u's kernel W (tile size, units) as a tile at (x0, y0), scale s: RGB
 * kernels in min-max colour, others (the channels' mean) through the
 * diverging map of w / max |w|. *lo, *hi: the kernel's range. */
static void draw_kernel(cli_canvas *cv, const float *W, int units, int u, const nn_shape *tile,
                        int s, int x0, int y0, float *lo, float *hi)
{
    int TH = tile->d[0], TW = tile->d[1], C = tile->d[2];
    size_t per = (size_t)TH * (size_t)TW * (size_t)C;
    *lo = INFINITY;
    *hi = -INFINITY;
    for (size_t k = 0; k < per; k++) {
        float w = W[k * (size_t)units + (size_t)u];
        *lo = w < *lo ? w : *lo;
        *hi = w > *hi ? w : *hi;
    }
    float amax = fmaxf(fabsf(*lo), fabsf(*hi));
    for (int y = 0; y < TH * s; y++)
        for (int x = 0; x < TW * s; x++) {
            size_t k0 = ((size_t)(y / s) * (size_t)TW + (size_t)(x / s)) * (size_t)C;
            uint8_t *d = cv->px + ((size_t)(y0 + y) * (size_t)cv->w + (size_t)(x0 + x)) * 3;
            if (C == 3) {
                for (int ch = 0; ch < 3; ch++) {
                    float w = W[(k0 + (size_t)ch) * (size_t)units + (size_t)u];
                    d[ch] = (uint8_t)lrintf(*hi > *lo ? 255.0f * (w - *lo) / (*hi - *lo) : 128);
                }
            } else {
                float w = 0;
                for (int ch = 0; ch < C; ch++)
                    w += W[(k0 + (size_t)ch) * (size_t)units + (size_t)u];
                cli_diverging(amax > 0 ? w / (float)C / amax : 0.0f, d);
            }
        }
}

enum { LEGEND_SWATCHES = 33, SWATCH_W = 10, SWATCH_H = 20, LEGEND_H = 90 };

/* The colour bar under the tiles: swatches of cli_diverging(v), v from -1
 * to 1, the very map of the tiles; each swatch listed in *csv. */
static void draw_legend(cli_canvas *cv, int y0, int rgb_tiles, char **csv, size_t *clen)
{
    int x0 = 8;
    if (rgb_tiles) {
        cli_text(cv, x0, y0, 2, INK, "RGB: EACH TILE FROM ITS MIN TO ITS MAX");
        return;
    }
    cli_text(cv, x0, y0, 2, INK, "WEIGHT / MAX |WEIGHT| OF ITS TILE");
    int by = y0 + 22;
    sappend(csv, clen, "value,x,y,width,height,r,g,b\n");
    for (int i = 0; i < LEGEND_SWATCHES; i++) {
        /* steps of 1/16: exact in binary, so the CSV's value is the swatch's */
        float v = -1.0f + 2.0f * (float)i / (float)(LEGEND_SWATCHES - 1);
        uint8_t rgb[3];
        cli_diverging(v, rgb);
        cli_fill(cv, x0 + i * SWATCH_W, by, SWATCH_W, SWATCH_H, rgb);
        sappend(csv, clen, "%.9g,%d,%d,%d,%d,%d,%d,%d\n", (double)v, x0 + i * SWATCH_W, by,
                SWATCH_W, SWATCH_H, rgb[0], rgb[1], rgb[2]);
    }
    int bw = LEGEND_SWATCHES * SWATCH_W, ty = by + SWATCH_H + 4;
    cli_text(cv, x0, ty, 2, INK, "-1");
    cli_text(cv, x0 + bw / 2 - cli_text_width("0", 2) / 2, ty, 2, INK, "0");
    cli_text(cv, x0 + bw - cli_text_width("+1", 2), ty, 2, INK, "+1");
    cli_text(cv, x0 + bw + 12, by + 3, 2, INK, "BLUE < 0 < RED");
}

/* The first weighted layer's kernels as a PNG grid with captions and a
 * legend, and CSVs of the tiles and the legend's swatches. *done is 0 with
 * a note printed when the model has no layer that fits. */
static int weight_images(const nn_model *m, const nn_shape *data_shape, const cli_input *in,
                         const char *dir, int *done, nn_error *e)
{
    int li;
    nn_weight_image wi;
    *done = 0;
    if (!weight_layer(m, data_shape, &li, &wi))
        return NN_OK;
    const nn_layer *l = &m->layers[li];
    const float *W = m->params + l->param_off + wi.off;   /* (tile size, units) */
    int shown = wi.units > MAX_UNITS ? MAX_UNITS : wi.units, cols, rows;
    int TH = wi.tile.d[0], TW = wi.tile.d[1], C = wi.tile.d[2];
    int s = TW >= MIN_TILE_PX ? 1 : (MIN_TILE_PX + TW - 1) / TW;
    s = s > 16 ? 16 : s;
    int gap = 6, cap = 20, th = TH * s, tw = TW * s;
    grid_dims(shown, &cols, &rows);
    int gw = cols * tw + (cols + 1) * gap, gh = rows * (th + cap) + (rows + 1) * gap;
    int cw = gw > 560 ? gw : 560, ch = gh + LEGEND_H;
    cli_canvas cv = cli_canvas_new(cw, ch, BG);
    char *csv = malloc(1), *leg = malloc(1);
    size_t clen = 0, llen = 0;
    if (!cv.px || !csv || !leg) {
        free(cv.px), free(csv), free(leg);
        return nn_err(e, NN_ENOMEM, "out of memory");
    }
    csv[0] = leg[0] = 0;
    int last = li == m->nlayers - 1 && cli_is_classifier(m);
    sappend(&csv, &clen, "tile,row,col,unit,label,min,max,x,y,width,height,scale\n");
    for (int u = 0; u < shown; u++) {
        int r = u / cols, c = u % cols;
        int x0 = gap + c * (tw + gap), y0 = gap + r * (th + cap + gap);
        float lo, hi;
        draw_kernel(&cv, W, wi.units, u, &wi.tile, s, x0, y0, &lo, &hi);
        char b[32], lab[96], q[160];
        if (last)   /* one sigmoid unit: the probability of class 1 */
            snprintf(lab, sizeof lab, "%s", cli_class_name(in, wi.units == 1 ? 1 : u, b, sizeof b));
        else
            snprintf(lab, sizeof lab, "%s/%d", l->name, u);
        snprintf(q, sizeof q, "%s", lab);
        fit(q, tw);
        cli_text(&cv, x0, y0 + th + 4, 2, INK, q);
        sappend(&csv, &clen, "%d,%d,%d,%d,%s,%.6g,%.6g,%d,%d,%d,%d,%d\n", u, r, c, u,
                cli_csv_quote(lab, q, sizeof q), (double)lo, (double)hi, x0, y0, tw, th, s);
    }
    draw_legend(&cv, gh + 4, C == 3, &leg, &llen);
    char path[4200];
    snprintf(path, sizeof path, "%s/first_layer_weights.png", dir);
    int rc = cli_write_png(path, cw, ch, 3, cv.px, e);
    if (!rc) {
        snprintf(path, sizeof path, "%s/first_layer_weights.csv", dir);
        rc = csv ? write_text(path, csv, e) : nn_err(e, NN_ENOMEM, "out of memory");
    }
    if (!rc && C != 3) {
        snprintf(path, sizeof path, "%s/first_layer_weights_legend.csv", dir);
        rc = leg ? write_text(path, leg, e) : nn_err(e, NN_ENOMEM, "out of memory");
    }
    if (!rc) {
        printf("Wrote %s/first_layer_weights.png: %d of %d %s of layer '%s' (%s) as %dx%dx%d "
               "images%s, %dx larger (blue < 0 < red, legend below), tiles listed in "
               "first_layer_weights.csv\n", dir, shown, wi.units, wi.what, l->name,
               l->ops->kind, TH, TW, C, last ? ", one per class" : "", s);
        *done = 1;
    }
    free(cv.px);
    free(csv);
    free(leg);
    return rc;
}

/* Class c's tile: the sample upscaled, then "TRUE: name", "PRED: name"
 * (green when right, red when wrong) and the probability of class c. */
static void draw_example(cli_canvas *cv, int x0, int y0, const float *x, const nn_shape *img,
                         int s, const cli_input *in, int c, int pred, float prob)
{
    char b[32], t[160];
    int tw = img->d[1] * s, ty = y0 + img->d[0] * s + 4;
    if (x)
        cli_draw_image(cv, x0, y0, x, img, s);
    snprintf(t, sizeof t, "TRUE: %s", cli_class_name(in, c, b, sizeof b));
    fit(t, tw);
    cli_text(cv, x0, ty, 2, INK, t);
    if (!x) {
        cli_text(cv, x0, ty + 18, 2, INK, "NO SAMPLE");
        return;
    }
    snprintf(t, sizeof t, "PRED: %s", cli_class_name(in, pred, b, sizeof b));
    fit(t, tw);
    cli_text(cv, x0, ty + 18, 2, pred == c ? RIGHT : WRONG, t);
    snprintf(t, sizeof t, "P(TRUE) = %.3f", (double)prob);
    fit(t, tw);
    cli_text(cv, x0, ty + 36, 2, INK, t);
}

/* Per class, the sample of that class with the highest probability of it,
 * upscaled to at least MIN_EXAMPLE_PX wide, with its caption. */
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
    int H = img.d[0], W = img.d[1];
    int s = W >= MIN_EXAMPLE_PX ? 1 : (MIN_EXAMPLE_PX + W - 1) / W, cols, rows, gap = 8, cap = 60;
    s = s > 32 ? 32 : s;
    grid_dims(C, &cols, &rows);
    int th = H * s, tw = W * s, gw = cols * tw + (cols + 1) * gap;
    int gh = rows * (th + cap) + (rows + 1) * gap;
    cli_canvas cv = cli_canvas_new(gw, gh, BG);
    char *csv = malloc(1);
    size_t clen = 0;
    int rc = y && prob && x && yb && best && cv.px && csv ? NN_OK
                                                          : nn_err(e, NN_ENOMEM, "out of memory");
    if (!rc)
        rc = cli_read_targets(&in->ds, n, y, e);
    if (!rc) {
        csv[0] = 0;
        nn_most_confident(probs, K, y, ydim, n, best, prob);
        sappend(&csv, &clen, "class,name,sample,probability,predicted\n");
    }
    int found = 0;
    for (int c = 0; c < C && !rc; c++) {
        char b1[32], b2[32], q[160];
        int x0 = gap + (c % cols) * (tw + gap), y0 = gap + (c / cols) * (th + cap + gap);
        sappend(&csv, &clen, "%d,%s,", c,
                cli_csv_quote(cli_class_name(in, c, b1, sizeof b1), q, sizeof q));
        if (best[c] == n) {
            draw_example(&cv, x0, y0, NULL, &img, s, in, c, -1, 0);
            sappend(&csv, &clen, ",,\n");
            continue;
        }
        uint64_t id = best[c];
        if ((rc = in->ds.read(&in->ds, &id, 1, x, yb, e)))
            break;
        int p = nn_pred_class(probs + best[c] * (size_t)K, K, NULL);
        draw_example(&cv, x0, y0, x, &img, s, in, c, p, prob[c]);
        sappend(&csv, &clen, "%zu,%.6g,%s\n", best[c], (double)prob[c],
                cli_csv_quote(cli_class_name(in, p, b2, sizeof b2), q, sizeof q));
        found++;
    }
    char path[4200];
    if (!rc && !csv)
        rc = nn_err(e, NN_ENOMEM, "out of memory");
    if (!rc) {
        snprintf(path, sizeof path, "%s/most_confident.png", dir);
        rc = cli_write_png(path, gw, gh, 3, cv.px, e);
    }
    if (!rc) {
        snprintf(path, sizeof path, "%s/most_confident.csv", dir);
        rc = write_text(path, csv, e);
    }
    if (!rc)
        printf("Wrote %s/most_confident.png: the most confident example of %d of %d classes "
               "(of %zu samples; classes left to right, %d per row; images %dx larger, with the "
               "true and predicted class and the probability), listed in most_confident.csv\n",
               dir, found, C, n, cols, s);
    free(y);
    free(prob);
    free(x);
    free(yb);
    free(best);
    free(cv.px);
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
