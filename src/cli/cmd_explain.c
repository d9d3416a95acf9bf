/* nntrain explain MODEL (--images DIR|FILE | --data SRC [--mistakes K |
 * --indices i,j,..]) --method M -o DIR: attribution maps (DeepExplain's
 * methods and Grad-CAM, nntrain/attribution.h), one PNG per sample (the
 * image, then each method's map on a blue-white-red scale centred on zero,
 * summed over the colour channels and divided by its largest |value|), and
 * with --raw FILE.h5 the float maps per method, the predictions and the
 * sample names. Everything is checked before any file is written. Under
 * mpirun the samples are shared out by batches; rank 0 writes. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "draw.h"
#include "infer.h"
#include "nntrain/attribution.h"
#include "nntrain/confusion.h"
#include "nntrain/h5data.h"
#include "nntrain/predict.h"

#define MIN_PANEL_PX 128     /* panels at least this wide (small images are upscaled) */

static const char *help =
    "usage: nntrain explain MODEL.h5 (--images DIR|FILE | --data SRC) --method M -o DIR\n"
    "                       [options]\n"
    "\n"
    "Attribution maps: which pixels the model's score for a class depends on, by\n"
    "DeepExplain's methods (Ancona et al. 2018) and Grad-CAM. The score is the\n"
    "class's logit (before the final softmax/sigmoid; a single sigmoid's class 0\n"
    "is minus its logit). Writes DIR/<name>.png per sample: the image, then one\n"
    "map per method, blue < 0 < red, summed over colour channels, each scaled by\n"
    "its largest |value|.\n"
    "\n"
    "  --method M            saliency, grad_input, integrated_gradients, elrp,\n"
    "                        deeplift, occlusion, shapley_sampling, gradcam, a\n"
    "                        comma-separated list of them, or all\n"
    "  -o, --out DIR         output folder (created if needed)\n"
    "  --images DIR|FILE     every image in DIR (sorted by name), or one image file\n"
    "  --data SRC            samples of an nntrain .h5 file or IDX folder (default:\n"
    "                        the first 16; --limit N for more)\n"
    "  --split test|train    which split of SRC\n"
    "  --mistakes K          the K misclassified samples with the most confident\n"
    "                        wrong predictions (--data with labels)\n"
    "  --indices i,j,..      these samples of --data\n"
    "  --class K             explain class K (default: the predicted class)\n"
    "  --raw FILE.h5         also the maps as float32 datasets (N, H, W, C) named\n"
    "                        after the methods, 'predictions' (N, outputs) and\n"
    "                        'names'\n"
    "  --steps N             integrated_gradients: steps (default 100)\n"
    "  --baseline B          integrated_gradients, deeplift: zero (default), mean\n"
    "                        (each image's per-channel mean) or a number\n"
    "  --epsilon E           elrp: stabiliser (default 1e-4)\n"
    "  --window W --step S   occlusion: W x W patches every S pixels (default: W a\n"
    "                        twelfth of the shorter side, S = W / 2)\n"
    "  --samples N           shapley_sampling: permutations (default 5); costs N x\n"
    "                        H x W forward passes per image\n"
    "  --layer NAME          gradcam: the layer (default: the last Conv2D)\n"
    "  --class-names A,B,..  class names for the captions\n"
    "  --limit N             at most N samples\n"
    "  --batch-size B        rows per pass (default 16)\n"
    "  --threads T           compute threads per rank\n";

typedef struct explain_args {
    cli_infer_args c;
    const char *out, *raw, *layer, *methods, *indices;
    int mistakes, cls, nmeth, batch_given;
    nn_attr_method meth[NN_ATTR_COUNT];
    int all;
    nn_attr_opts o;
} explain_args;

static int parse_methods(explain_args *a, nn_error *e)
{
    char buf[512], *save = NULL;
    snprintf(buf, sizeof buf, "%s", a->methods);
    a->nmeth = 0;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        nn_attr_method m;
        if (!strcmp(t, "all")) {
            a->all = 1;
            for (int i = 0; i < NN_ATTR_COUNT; i++)
                a->meth[i] = (nn_attr_method)i;
            a->nmeth = NN_ATTR_COUNT;
            continue;
        }
        if (nn_attr_parse(t, &m))
            return nn_err(e, NN_EINVAL, "unknown --method '%s': expected saliency, grad_input, "
                          "integrated_gradients, elrp, deeplift, occlusion, shapley_sampling, "
                          "gradcam, or all", t);
        int dup = 0;
        for (int i = 0; i < a->nmeth; i++)
            dup |= a->meth[i] == m;
        if (!dup && a->nmeth < NN_ATTR_COUNT)
            a->meth[a->nmeth++] = m;
    }
    return a->nmeth ? NN_OK : nn_err(e, NN_EINVAL, "--method is empty");
}

static int parse_baseline(const char *v, nn_attr_opts *o, nn_error *e)
{
    char *end;
    if (!v || !strcmp(v, "zero"))
        return NN_OK;
    if (!strcmp(v, "mean")) {
        o->baseline = NN_BASELINE_MEAN;
        return NN_OK;
    }
    double d = strtod(v, &end);
    if (end == v || *end || !isfinite(d))
        return nn_err(e, NN_EINVAL, "--baseline must be zero, mean or a number, not '%s'", v);
    o->baseline = NN_BASELINE_VALUE;
    o->baseline_value = (float)d;
    return NN_OK;
}

static int read_args(int argc, char **argv, explain_args *a, nn_dist *d)
{
    cli_opt opts[] = {{"--data", 1, 0, 0},      {"--split", 1, 0, 0},
                      {"--images", 1, 0, 0},    {"--out", 1, 0, 0},
                      {"--class-names", 1, 0, 0}, {"--limit", 1, 0, 0},
                      {"--batch-size", 1, 0, 0}, {"--threads", 1, 0, 0},
                      {"--help", 0, 0, 0},      {"--method", 1, 0, 0},
                      {"--mistakes", 1, 0, 0},  {"--indices", 1, 0, 0},
                      {"--class", 1, 0, 0},     {"--raw", 1, 0, 0},
                      {"--steps", 1, 0, 0},     {"--baseline", 1, 0, 0},
                      {"--epsilon", 1, 0, 0},   {"--window", 1, 0, 0},
                      {"--step", 1, 0, 0},      {"--samples", 1, 0, 0},
                      {"--layer", 1, 0, 0},     {NULL, 0, 0, 0}};
    nn_error e = {0};
    nn_attr_opts_defaults(&a->o);
    a->cls = -1;
    int rc = cli_infer_parse(argc, argv, "explain", opts, &a->c, &e);
    if (!rc && a->c.help)
        return cli_help(d, help);
    a->out = cli_find(opts, "--out")->value;
    a->raw = cli_find(opts, "--raw")->value;
    a->layer = cli_find(opts, "--layer")->value;
    a->methods = cli_find(opts, "--method")->value;
    a->indices = cli_find(opts, "--indices")->value;
    a->batch_given = cli_find(opts, "--batch-size")->given;
    double eps = a->o.epsilon;
    if (!rc && !(rc = cli_int(opts, "--mistakes", &a->mistakes, &e)) &&
        !(rc = cli_int(opts, "--class", &a->cls, &e)) &&
        !(rc = cli_int(opts, "--steps", &a->o.steps, &e)) &&
        !(rc = cli_int(opts, "--window", &a->o.window, &e)) &&
        !(rc = cli_int(opts, "--step", &a->o.step, &e)) &&
        !(rc = cli_int(opts, "--samples", &a->o.samples, &e)) &&
        !(rc = cli_double(opts, "--epsilon", &eps, &e)))
        rc = parse_baseline(cli_find(opts, "--baseline")->value, &a->o, &e);
    a->o.epsilon = (float)eps;
    if (a->batch_given)
        a->o.batch = a->c.batch;
    if (!rc && !a->methods)
        rc = nn_err(&e, NN_EINVAL, "explain needs --method (saliency, grad_input, "
                    "integrated_gradients, elrp, deeplift, occlusion, shapley_sampling, "
                    "gradcam or all)");
    if (!rc && !a->out)
        rc = nn_err(&e, NN_EINVAL, "explain needs -o DIR for the PNG files");
    if (!rc)
        rc = parse_methods(a, &e);
    if (!rc && a->c.images && (a->mistakes || a->indices || a->c.split))
        rc = nn_err(&e, NN_EINVAL, "--mistakes, --indices and --split go with --data, not "
                    "--images");
    if (!rc && a->mistakes && a->indices)
        rc = nn_err(&e, NN_EINVAL, "give --mistakes K or --indices i,j,.., not both");
    if (!rc && (a->mistakes < 0 || a->o.steps < 1 || a->o.window < 0 || a->o.step < 0 ||
                a->o.samples < 1 || !(a->o.epsilon > 0) || a->c.batch > 4096))
        rc = nn_err(&e, NN_EINVAL, "--mistakes, --steps, --window, --step, --samples and "
                    "--epsilon must be positive, --batch-size at most 4096");
    if (!rc && cli_find(opts, "--class")->given && a->cls < 0)
        rc = nn_err(&e, NN_EINVAL, "--class must be >= 0, found %d", a->cls);
    return rc ? cli_usage_hint(&e, "explain") : -1;
}

/* The samples to explain: --indices, the worst --mistakes, else the first
 * --limit (16 for --data, every image for --images). */
static int select_samples(explain_args *a, nn_model *m, cli_input *in, nn_dist *d,
                          uint64_t **ids, size_t *n, nn_error *e)
{
    size_t N = in->ds.n;
    *ids = NULL;
    *n = 0;
    if (a->indices) {
        size_t cap = 1;
        for (const char *p = a->indices; *p; p++)
            cap += *p == ',';
        if (!(*ids = malloc(cap * sizeof **ids)))
            return nn_err(e, NN_ENOMEM, "out of memory");
        const char *p = a->indices;
        while (*p) {
            char *end;
            errno = 0;
            long long v = strtoll(p, &end, 10);
            if (end == p || (*end && *end != ',') || v < 0 || errno || (size_t)v >= N)
                return nn_err(e, NN_EINVAL, "--indices: '%s' is not a sample index of %s: "
                              "expected 0..%zu", p, in->what, N ? N - 1 : 0);
            (*ids)[(*n)++] = (uint64_t)v;
            p = *end ? end + 1 : end;
        }
        return NN_OK;
    }
    size_t lim = a->c.limit > 0 ? (size_t)a->c.limit : in->has_im || a->mistakes ? N : 16;
    if (lim > N)
        lim = N;
    if (!(*ids = malloc((lim ? lim : 1) * sizeof **ids)))
        return nn_err(e, NN_ENOMEM, "out of memory");
    if (!a->mistakes) {
        for (size_t i = 0; i < lim; i++)
            (*ids)[i] = i;
        *n = lim;
        return NN_OK;
    }
    int K = (int)nn_model_out_size(m);
    if (!in->labelled || !cli_is_classifier(m))
        return nn_err(e, NN_EINVAL, "--mistakes needs a classifier and labelled data (%s)",
                      in->what);
    float *p = malloc(lim * (size_t)K * sizeof *p);
    float *y = malloc(lim * (size_t)in->ds.ydim * sizeof *y);
    float *conf = malloc(lim * sizeof *conf);
    int rc = !p || !y || !conf ? nn_err(e, NN_ENOMEM, "out of memory") : NN_OK;
    if (!rc)
        rc = nn_predict(m, &in->ds, lim, a->c.batch, d, p, e);
    if (!rc)   /* every rank needs the choice: rank 0 holds the outputs */
        rc = nn_dist_bcast_floats(d, p, lim * (size_t)K, e);
    if (!rc)
        rc = cli_read_targets(&in->ds, lim, y, e);
    for (size_t i = 0; !rc && i < lim; i++) {
        int t = nn_true_class(y + i * (size_t)in->ds.ydim, in->ds.ydim, K);
        float pr;
        int c = nn_pred_class(p + i * (size_t)K, K, &pr);
        if (t >= 0 && c != t) {
            conf[*n] = pr;
            (*ids)[(*n)++] = i;
        }
    }
    /* most confident first (stable: lower index on ties) */
    for (size_t i = 1; !rc && i < *n; i++)
        for (size_t j = i; j > 0 && conf[j] > conf[j - 1]; j--) {
            float cf = conf[j];
            uint64_t id = (*ids)[j];
            conf[j] = conf[j - 1], (*ids)[j] = (*ids)[j - 1];
            conf[j - 1] = cf, (*ids)[j - 1] = id;
        }
    if (*n > (size_t)a->mistakes)
        *n = (size_t)a->mistakes;
    free(p);
    free(y);
    free(conf);
    return rc;
}

/* The model's outputs (probabilities) for x (n rows), on every rank. */
static int outputs(nn_model *m, const float *x, size_t n, int batch, float *p, nn_error *e)
{
    size_t in = nn_model_in_size(m), K = nn_model_out_size(m);
    int rc = nn_model_plan(m, batch, e);
    nn_ctx ctx = {0};
    for (size_t s = 0; !rc && s < n; s += (size_t)batch) {
        int k = n - s < (size_t)batch ? (int)(n - s) : batch;
        memcpy(p + s * K, nn_model_forward(m, x + s * in, k, &ctx), (size_t)k * K * sizeof *p);
        if (m->from_logits)
            nn_loss_logits_to_probs(m->loss, p + s * K, k, (int)K);
    }
    return rc;
}

/* This rank's share of method's maps into maps (n, in), zeros elsewhere,
 * then summed over the ranks. */
static int compute(explain_args *a, nn_model *m, nn_attr_method meth, const float *x,
                   int *cls, const uint64_t *ids, size_t n, nn_dist *d, float *maps, nn_error *e)
{
    size_t in = nn_model_in_size(m);
    int B = a->o.batch, rc = NN_OK;
    memset(maps, 0, n * in * sizeof *maps);
    size_t k = 0;
    for (size_t s = 0; !rc && s < n; s += (size_t)B, k++) {
        if ((int)(k % (size_t)d->size) != d->rank)
            continue;
        int cnt = n - s < (size_t)B ? (int)(n - s) : B;
        rc = nn_attribute(m, meth, &a->o, x + s * in, cls + s, ids + s, cnt, maps + s * in,
                          NULL, e);
    }
    if ((rc = nn_dist_agree(d, rc, e)))
        return rc;
    return nn_dist_sum_floats(d, maps, n * in, e);
}

static const uint8_t BG[3] = {255, 255, 255}, INK[3] = {0, 0, 0};

/* One sample's picture: the image and each map, captions above, the
 * prediction below. */
static int draw_sample(const explain_args *a, const nn_model *m, const cli_input *in,
                       const float *x, float *const *maps, size_t row, const float *p,
                       int cls, const char *path, nn_error *e)
{
    nn_shape img;
    if (!cli_image_shape(&m->in_shape, &in->ds.x_shape, &img)) {
        img = nn_shape3(1, (int)nn_model_in_size(m), 1);
    }
    int H = img.d[0], W = img.d[1], C = img.d[2];
    int s = W >= MIN_PANEL_PX ? 1 : (MIN_PANEL_PX + W - 1) / W;
    if (H * s > 4 * MIN_PANEL_PX && H > W)
        s = 1;
    int pw = W * s, ph = H * s, gap = 6, top = 14, bottom = 14, np = 1 + a->nmeth;
    int cw = np * pw + (np + 1) * gap, ch = top + ph + bottom + gap;
    cli_canvas cv = cli_canvas_new(cw, ch, BG);
    if (!cv.px)
        return nn_err(e, NN_ENOMEM, "out of memory for a %dx%d picture", cw, ch);
    size_t P = (size_t)H * W, in_sz = P * (size_t)C;
    cli_draw_image(&cv, gap, top, x + row * in_sz, &img, s);
    cli_text(&cv, gap, 4, 1, INK, "IMAGE");
    float *v = malloc(P * sizeof *v);
    for (int k = 0; v && k < a->nmeth; k++) {
        const float *mp = maps[k] + row * in_sz;
        float mx = 0;
        for (size_t q = 0; q < P; q++) {
            float t = 0;
            for (int c = 0; c < C; c++)
                t += mp[q * (size_t)C + (size_t)c];
            v[q] = t;
            mx = fabsf(t) > mx ? fabsf(t) : mx;
        }
        int x0 = gap + (k + 1) * (pw + gap);
        for (int yy = 0; yy < ph; yy++)
            for (int xx = 0; xx < pw; xx++) {
                uint8_t rgb[3];
                cli_diverging(mx > 0 ? v[(size_t)(yy / s) * W + (size_t)(xx / s)] / mx : 0.0f, rgb);
                memcpy(cv.px + ((size_t)(top + yy) * cw + (size_t)(x0 + xx)) * 3, rgb, 3);
            }
        char cap[64];
        snprintf(cap, sizeof cap, "%s", nn_attr_names[a->meth[k]]);
        while (strlen(cap) > 1 && cli_text_width(cap, 1) > pw)
            cap[strlen(cap) - 1] = 0;
        cli_text(&cv, x0, 4, 1, INK, cap);
    }
    char line[256], b1[32], b2[32];
    int K = (int)nn_model_out_size(m), pc = nn_pred_class(p, K, NULL);
    if (cli_is_classifier(m))
        snprintf(line, sizeof line, "PREDICTED %s (%.2f)  EXPLAINED: %s",
                 cli_class_name(in, pc, b1, sizeof b1), (double)nn_class_prob(p, K, pc),
                 cli_class_name(in, cls, b2, sizeof b2));
    else
        snprintf(line, sizeof line, "OUTPUT %d = %.4g", cls, (double)p[cls]);
    cli_text(&cv, gap, top + ph + gap, 1, INK, line);
    int rc = v ? cli_write_png(path, cw, ch, 3, cv.px, e)
               : nn_err(e, NN_ENOMEM, "out of memory");
    free(v);
    free(cv.px);
    return rc;
}

/* DIR/<file stem>.png for images, DIR/<index>.png for data. */
static void png_name(const cli_input *in, uint64_t id, const char *dir, char *buf, size_t len)
{
    char b[32], stem[256];
    snprintf(stem, sizeof stem, "%s", cli_sample_name(in, (size_t)id, b, sizeof b));
    char *dot = strrchr(stem, '.');
    if (in->has_im && dot && dot != stem)
        *dot = 0;
    if (in->has_im)
        snprintf(buf, len, "%s/%s.png", dir, stem);
    else
        snprintf(buf, len, "%s/%05llu.png", dir, (unsigned long long)id);
}

static int write_raw(const explain_args *a, const nn_model *m, const cli_input *in,
                     float *const *maps, const float *p, const uint64_t *ids, size_t n,
                     nn_error *e)
{
    nn_h5_array arr[NN_ATTR_COUNT + 1];
    const nn_shape *s = &m->in_shape;
    for (int k = 0; k <= a->nmeth; k++) {
        arr[k].name = k < a->nmeth ? nn_attr_names[a->meth[k]] : "predictions";
        arr[k].data = k < a->nmeth ? maps[k] : p;
        arr[k].dims[0] = n;
        if (k < a->nmeth) {
            arr[k].ndim = 1 + s->n;
            for (int i = 0; i < s->n; i++)
                arr[k].dims[1 + i] = (size_t)s->d[i];
        } else {
            arr[k].ndim = 2;
            arr[k].dims[1] = nn_model_out_size(m);
        }
    }
    char **names = calloc(n ? n : 1, sizeof *names);
    int rc = names ? NN_OK : nn_err(e, NN_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < n; i++) {
        char b[32];
        if (!(names[i] = strdup(cli_sample_name(in, (size_t)ids[i], b, sizeof b))))
            rc = nn_err(e, NN_ENOMEM, "out of memory");
    }
    if (!rc)
        rc = nn_h5_write_arrays(a->raw, arr, a->nmeth + 1, "names", (const char *const *)names,
                                n, e);
    for (size_t i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

static int write_all(const explain_args *a, const nn_model *m, const cli_input *in,
                     const float *x, float *const *maps, const float *p, const int *cls,
                     const uint64_t *ids, size_t n, nn_error *e)
{
    int rc = cli_mkdirs(a->out, e);
    size_t K = nn_model_out_size(m);
    for (size_t i = 0; !rc && i < n; i++) {
        char path[4400];
        png_name(in, ids[i], a->out, path, sizeof path);
        rc = draw_sample(a, m, in, x, maps, i, p + i * K, cls[i], path, e);
    }
    if (!rc && a->raw)
        rc = write_raw(a, m, in, maps, p, ids, n, e);
    if (!rc) {
        printf("Wrote %zu PNG file%s to %s", n, n == 1 ? "" : "s", a->out);
        if (a->raw)
            printf(" and the maps to %s", a->raw);
        printf("\n");
    }
    return rc;
}

/* Checks that need the model, before anything is computed or written. */
static int check_model(explain_args *a, nn_model *m, const cli_input *in, int speak,
                       nn_error *e)
{
    int rc = cli_input_check_shape(in, m, e);
    if (!rc)
        rc = nn_attr_check(m, e);
    int classes = nn_attr_classes(m);
    if (!rc && a->cls >= classes)
        rc = nn_err(e, NN_EINVAL, "--class %d is out of range: the model has %d class%s "
                    "(0..%d)", a->cls, classes, classes == 1 ? "" : "es", classes - 1);
    for (int k = 0; !rc && k < a->nmeth; k++) {
        if (a->meth[k] != NN_ATTR_GRADCAM)
            continue;
        rc = nn_attr_find_layer(m, a->layer, &a->o.layer, e);
        if (rc && a->all && !a->layer) {   /* all: drop what cannot be drawn */
            if (speak)
                fprintf(stderr, "nntrain: note: no gradcam: %s\n", e->msg);
            memmove(&a->meth[k], &a->meth[k + 1], (size_t)(a->nmeth - k - 1) * sizeof *a->meth);
            a->nmeth--;
            k--;
            rc = NN_OK;
        }
    }
    int H = m->in_shape.n == 3 ? m->in_shape.d[0] : 1;
    int W = m->in_shape.n == 3 ? m->in_shape.d[1] : (int)nn_model_in_size(m);
    for (int k = 0; !rc && k < a->nmeth; k++)
        if (a->meth[k] == NN_ATTR_OCCLUSION && (a->o.window > H || a->o.window > W))
            rc = nn_err(e, NN_EINVAL, "--window %d is larger than the %dx%d input", a->o.window,
                        H, W);
    return rc;
}

int cmd_explain(int argc, char **argv, nn_dist *d)
{
    explain_args a;
    memset(&a, 0, sizeof a);
    int code = read_args(argc, argv, &a, d);
    if (code >= 0)
        return code;
    nn_model m = {0};
    cli_input in = {0};
    nn_error e = {0};
    uint64_t *ids = NULL;
    float *x = NULL, *p = NULL, *maps[NN_ATTR_COUNT] = {0};
    int *cls = NULL;
    size_t n = 0;
    int have_model, rc = cli_infer_open(&a.c, d->rank == 0, &m, &have_model, &in, &e);
    if (!rc)
        rc = check_model(&a, &m, &in, d->rank == 0, &e);
    rc = nn_dist_agree(d, rc, &e);
    if (!rc)
        rc = cli_use_threads(d, &m, a.c.threads, NULL, &e);
    if (!rc)
        rc = select_samples(&a, &m, &in, d, &ids, &n, &e);
    size_t in_sz = nn_model_in_size(&m), K = nn_model_out_size(&m);
    if (!rc && n == 0)
        rc = nn_err(&e, NN_EINVAL, "nothing to explain: %s", a.mistakes ? "no misclassified "
                    "samples" : "no samples");
    if (!rc) {
        x = malloc(n * in_sz * sizeof *x);
        p = malloc(n * K * sizeof *p);
        cls = malloc(n * sizeof *cls);
        int ok = x && p && cls;
        for (int k = 0; k < a.nmeth; k++)
            ok &= (maps[k] = malloc(n * in_sz * sizeof(float))) != NULL;
        if (!ok)
            rc = nn_err(&e, NN_ENOMEM, "out of memory for %zu samples", n);
    }
    float *ybuf = NULL;
    if (!rc && !(ybuf = malloc(n * ((size_t)in.ds.ydim ? (size_t)in.ds.ydim : 1) * sizeof *ybuf)))
        rc = nn_err(&e, NN_ENOMEM, "out of memory");
    for (size_t s = 0; !rc && s < n; s += 64)
        rc = in.ds.read(&in.ds, ids + s, n - s < 64 ? (int)(n - s) : 64, x + s * in_sz,
                        ybuf + s * (size_t)(in.ds.ydim ? in.ds.ydim : 1), &e);
    free(ybuf);
    if (!rc)
        rc = outputs(&m, x, n, a.o.batch, p, &e);
    for (size_t i = 0; !rc && i < n; i++)
        cls[i] = a.cls >= 0 ? a.cls
                 : K > 1 || cli_is_classifier(&m) ? nn_pred_class(p + i * K, (int)K, NULL) : 0;
    rc = nn_dist_agree(d, rc, &e);
    for (int k = 0; !rc && k < a.nmeth; k++)
        rc = compute(&a, &m, a.meth[k], x, cls, ids, n, d, maps[k], &e);
    int rc0 = NN_OK;
    if (!rc && d->rank == 0)
        rc0 = write_all(&a, &m, &in, x, maps, p, cls, ids, n, &e);
    if (!rc)
        rc = nn_dist_agree(d, rc0, &e);
    if (rc)
        cli_error(d, &e);
    for (int k = 0; k < NN_ATTR_COUNT; k++)
        free(maps[k]);
    free(x);
    free(p);
    free(cls);
    free(ids);
    cli_input_free(&in);
    if (have_model)
        nn_model_free(&m);
    return rc ? CLI_FAIL : CLI_OK;
}
