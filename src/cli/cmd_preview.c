/* nntrain augment-preview MODEL.nn --data FILE.h5 [-o grid.png] [--n 8]
 *                         [--versions 7] [--scale S] [--seed S]
 * Shows what the spec's ImageDataGenerator(...) / image_data_generator(...)
 * line does to training images: a PNG grid, one row per sample, the
 * original then augmented versions as epochs 0, 1, ... would see them
 * (the same keyed random numbers as training with that seed). The spec is
 * parsed here and only the augmentation line is read, so the preview works
 * for any model line the builder accepts or not. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stb_image_write.h>

#include "cli.h"
#include "infer.h"
#include "nntrain/augment.h"
#include "nntrain/data.h"
#include "nntrain/spec.h"
#include "nntrain/tmpfile.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: nntrain augment-preview MODEL.nn --data FILE.h5 [options]\n"
            "\n"
            "Writes a PNG grid: one row per training sample, the original followed by\n"
            "augmented versions (epochs 0, 1, ...) from the spec's ImageDataGenerator line.\n"
            "\n"
            "options:\n"
            "  --data SRC         dataset (an nntrain .h5 file, or an IDX folder)\n"
            "  -o, --out FILE     PNG to write (default augment_preview.png; also --output)\n"
            "  --n N              rows: samples, spread over the dataset (default 8)\n"
            "  --versions K       augmented versions per row (default 7)\n"
            "  --scale S          pixel upscaling (default: images at least 128 px tall)\n"
            "  --seed S           the training seed (default: fit(seed=...) or 42)\n");
}

/* The spec's augmentation call; NULL (and a message) if none or two. */
static const nn_call *find_aug(const nn_spec *s, const char *path, nn_error *e)
{
    const nn_call *found = NULL;
    for (int i = 0; i < s->ncalls; i++) {
        const nn_call *c = &s->calls[i];
        if (strcmp(c->fn, "ImageDataGenerator") && strcmp(c->fn, "image_data_generator"))
            continue;
        if (found) {
            nn_err(e, NN_EINVAL, "%s:%d: a second %s() line (the first is on line %d)", path,
                   c->line, c->fn, found->line);
            return NULL;
        }
        found = c;
    }
    if (!found)
        nn_err(e, NN_EINVAL, "%s: no ImageDataGenerator(...) line to preview, e.g. "
               "ImageDataGenerator(horizontal_flip=True, rotation_range=10)", path);
    return found;
}

/* fit(seed=...) if the spec sets one. */
static int spec_seed(const nn_spec *s, long long *seed)
{
    for (int i = 0; i < s->ncalls; i++) {
        const nn_call *c = &s->calls[i];
        if (strcmp(c->fn, "fit"))
            continue;
        for (int k = 0; k < c->nargs; k++)
            if (c->keys[k] && !strcmp(c->keys[k], "seed") && c->vals[k].kind == NN_V_NUM) {
                *seed = (long long)c->vals[k].num;
                return 1;
            }
    }
    return 0;
}

/* augment-preview's command line. */
typedef struct preview_args {
    const char *spec, *data, *outp;
    const char *seed;   /* --seed's text, or NULL */
    int rows, versions, scale;
} preview_args;

/* The command line into a, checked. Returns -1 to go on, else the exit
 * status (after --help or a usage error). */
static int read_args(int argc, char **argv, preview_args *a)
{
    cli_opt opts[] = {{"--data", 1, 0, 0},  {"--out", 1, 0, 0},   {"--output", 1, 0, 0},
                      {"--n", 1, 0, 0},     {"--versions", 1, 0, 0}, {"--scale", 1, 0, 0},
                      {"--seed", 1, 0, 0},  {"--help", 0, 0, 0},  {NULL, 0, 0, 0}};
    const char *pos[1] = {NULL};
    int npos = 0, rc = -1;
    nn_error e = {0};
    if (cli_parse_alias(argc, argv, 2, CLI_ALIAS_O | CLI_ALIAS_H, opts, pos, 1, &npos, &e) ||
        cli_int(opts, "--n", &a->rows, &e) || cli_int(opts, "--versions", &a->versions, &e) ||
        cli_int(opts, "--scale", &a->scale, &e)) {
        rc = cli_usage_hint(&e, "augment-preview");
    } else if (cli_find(opts, "--help")->given) {
        usage(stdout);
        rc = CLI_OK;
    } else if (npos != 1 || !cli_find(opts, "--data")->value) {
        fprintf(stderr, "nntrain: error: augment-preview needs %s\n\n",
                npos != 1 ? "a model spec (MODEL.nn)" : "--data FILE.h5");
        usage(stderr);
        rc = CLI_USAGE;
    } else if (a->rows < 1 || a->rows > 256 || a->versions < 0 || a->versions > 64 ||
               a->scale < 0 || a->scale > 32) {
        fprintf(stderr, "nntrain: error: --n must be in 1..256, --versions in 0..64, --scale "
                        "in 1..32\n");
        rc = CLI_USAGE;
    }
    a->spec = pos[0];
    a->data = cli_find(opts, "--data")->value;
    a->outp = cli_find(opts, "--out")->given      ? cli_find(opts, "--out")->value
              : cli_find(opts, "--output")->given ? cli_find(opts, "--output")->value
                                                  : "augment_preview.png";
    a->seed = cli_find(opts, "--seed")->given ? cli_find(opts, "--seed")->value : NULL;
    return rc;
}

/* --seed S, else fit(seed=...), else 42. -1 after a usage error. */
static int preview_seed(const nn_spec *spec, const char *arg, long long *seed)
{
    *seed = 42;
    spec_seed(spec, seed);
    if (arg) {
        char *end;
        *seed = strtoll(arg, &end, 10);
        if (end == arg || *end || *seed < 0) {
            fprintf(stderr, "nntrain: error: option --seed expects an integer >= 0, got '%s'\n",
                    arg);
            return -1;
        }
    }
    return 0;
}

/* The grid of a->rows samples spread over the dataset (fewer if it is
 * smaller: a->rows is lowered), each with a->versions augmented copies. */
static int make_grid(const nn_augment *aug, nn_dataset *d, preview_args *a, long long seed,
                     uint8_t **grid, int *gh, int *gw, nn_error *e)
{
    if (d->x_shape.n != 3)
        return nn_err(e, NN_ESHAPE, "%s: samples are not images (H, W, C): nothing to preview",
                      a->data);
    if ((size_t)a->rows > d->n)
        a->rows = (int)d->n;
    int rows = a->rows, rc;
    size_t per = nn_shape_size(&d->x_shape);
    float *x = malloc((size_t)rows * per * sizeof *x);
    float *y = malloc((size_t)rows * (size_t)(d->ydim > 0 ? d->ydim : 1) * sizeof *y);
    uint64_t *ids = malloc((size_t)rows * sizeof *ids);
    if (!x || !y || !ids) {
        rc = nn_err(e, NN_ENOMEM, "out of memory");
    } else {
        for (int i = 0; i < rows; i++)   /* spread over the dataset */
            ids[i] = (uint64_t)((double)i * (double)d->n / rows);
        rc = d->read(d, ids, rows, x, y, e);
    }
    if (!rc && !a->scale)
        a->scale = d->x_shape.d[0] >= 128 ? 1 : (int)ceil(128.0 / d->x_shape.d[0]);
    if (!rc)
        rc = nn_augment_grid(aug, x, ids, rows, &d->x_shape, a->versions, a->scale,
                             (uint64_t)seed, grid, gh, gw, e);
    free(x);
    free(y);
    free(ids);
    return rc;
}

/* Writes, then renames: no half-written PNG. */
static int write_png(const char *outp, const uint8_t *grid, int gw, int gh, int C, nn_error *e)
{
    char tmp[NN_TMP_NAME_MAX];
    if (nn_tmp_path(tmp, sizeof tmp, outp) || !stbi_write_png(tmp, gw, gh, C, grid, gw * C) ||
        nn_tmp_commit(tmp, outp)) {
        nn_tmp_discard(tmp);
        return nn_err(e, NN_EIO, "%s: cannot write the PNG file", outp);
    }
    return NN_OK;
}

int cmd_augment_preview(int argc, char **argv)
{
    preview_args a = {.rows = 8, .versions = 7};
    int rc = read_args(argc, argv, &a);
    if (rc >= 0)
        return rc;
    long long seed;
    nn_error e = {0};
    nn_spec spec = {0};
    nn_dataset d = {0};
    nn_augment aug;
    int have_spec = 0, have_data = 0, gh, gw;
    uint8_t *grid = NULL;
    if (cli_spec_load(a.spec, &spec, &e))
        goto fail;
    have_spec = 1;
    if (preview_seed(&spec, a.seed, &seed)) {
        rc = CLI_USAGE;
        goto out;
    }
    const nn_call *call = find_aug(&spec, a.spec, &e);
    if (!call || nn_augment_from_call(&aug, call, &e))
        goto fail;
    if (nn_data_open(a.data, "train", (uint64_t)seed, &d, &e))
        goto fail;
    have_data = 1;
    if (make_grid(&aug, &d, &a, seed, &grid, &gh, &gw, &e) ||
        write_png(a.outp, grid, gw, gh, d.x_shape.d[2], &e))
        goto fail;
    char desc[512];
    nn_augment_describe(&aug, desc, sizeof desc);
    printf("wrote %s: %dx%d pixels, %d samples of %s x %d versions (%s; seed %lld)\n", a.outp, gw,
           gh, a.rows, d.source, a.versions, desc, seed);
    if (!aug.enabled)
        printf("note: the ImageDataGenerator line enables no transform: every version equals "
               "the original\n");
    rc = CLI_OK;
    goto out;
fail:
    cli_error(NULL, &e);
    rc = CLI_FAIL;
out:
    free(grid);
    if (have_data)
        nn_data_close(&d);
    if (have_spec)
        nn_spec_free(&spec);
    return rc;
}
