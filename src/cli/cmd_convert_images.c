/* nntrain convert images DIR=label [DIR=label ...] -o out.h5 [--size HxW]
 *                        [--dedupe] [--grey|--rgb] [--compress N] [--seed N | --no-shuffle]
 * Image folders (one per class, classes in the order given) become one
 * nntrain HDF5 dataset (/train, uint8 NHWC, int32 labels, class_names).
 * Prints the duplicate report (byte-identical files, also across classes),
 * then writes atomically: on any error no output file is left behind. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "nntrain/clock.h"
#include "nntrain/h5data.h"
#include "nntrain/images.h"

#define MAX_CLASSES 1024

static void usage(FILE *f)
{
    fprintf(f,
            "usage: nntrain convert images DIR=label [DIR=label ...] -o OUT.h5 [options]\n"
            "\n"
            "One folder of images (JPEG, PNG, BMP, ...) per class, classes in the order\n"
            "given (DIR alone: the folder's name is the label). One DIR holding only\n"
            "class subfolders (Keras's flow_from_directory layout): one class per\n"
            "subfolder, numbered in byte order of their names (A-Z before a-z). Files\n"
            "that are not images by their extension (Thumbs.db, notes) are skipped.\n"
            "Files are read in sorted name order, then stored in a shuffled order\n"
            "(seeded), so that Keras's validation_split (the last fraction) holds every\n"
            "class. Writes /train: uint8 (N, H, W, C) images, int32 labels and the class\n"
            "names.\n"
            "\n"
            "options:\n"
            "  -o, --out FILE     the HDF5 file to write (required; also --output)\n"
            "  --size HxW         resize every image to H x W pixels (e.g. 90x160);\n"
            "                     without it all images must have the same size\n"
            "  --grey             convert to 1 channel (also --gray)\n"
            "  --rgb              convert to 3 channels\n"
            "                     (default: the channels of the first image)\n"
            "  --dedupe           drop byte-identical copies: keep the first; a file found\n"
            "                     in two classes is dropped from both\n"
            "  --compress N       gzip level 0..9 for the images (default 0: none)\n"
            "  --seed N           seed of the stored order (default 42)\n"
            "  --no-shuffle       store the images in file order, class after class\n");
}

/* "90x160" -> h = 90, w = 160. */
static int parse_size(const char *s, int *h, int *w, nn_error *e)
{
    char *end;
    long a = strtol(s, &end, 10);
    if (end == s || (*end != 'x' && *end != 'X'))
        goto bad;
    const char *t = end + 1;
    long b = strtol(t, &end, 10);
    if (end == t || *end || a < 1 || b < 1 || a > 65535 || b > 65535)
        goto bad;
    *h = (int)a;
    *w = (int)b;
    return NN_OK;
bad:
    return nn_err(e, NN_EINVAL, "option --size expects HxW (height x width in pixels, e.g. "
                  "90x160), got '%s'", s);
}

/* "DIR=label", or "DIR" (label: the folder's last name). */
static int parse_class(const char *arg, nn_image_class *k, char **dir_copy, nn_error *e)
{
    const char *eq = strrchr(arg, '=');
    if (eq && strchr(eq, '/'))
        eq = NULL;   /* the '=' belongs to the path */
    size_t n = eq ? (size_t)(eq - arg) : strlen(arg);
    char *dir = malloc(n + 1);
    if (!dir)
        return nn_err(e, NN_ENOMEM, "out of memory");
    memcpy(dir, arg, n);
    dir[n] = 0;
    while (n > 1 && dir[n - 1] == '/')
        dir[--n] = 0;
    *dir_copy = dir;
    k->dir = dir;
    if (eq) {
        k->label = eq + 1;
    } else {
        const char *slash = strrchr(dir, '/');
        k->label = slash ? slash + 1 : dir;
    }
    if (!*dir || !*k->label)
        return nn_err(e, NN_EINVAL, "bad class folder '%s': expected DIR=label", arg);
    return NN_OK;
}

/* The output's folder must exist and be writable: found out before the
 * (long) decoding rather than after it. */
static int check_out_dir(const char *out, nn_error *e)
{
    const char *slash = strrchr(out, '/');
    char dir[4096];
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == out)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - out), out);
    if (access(dir, W_OK) != 0)
        return nn_err(e, NN_EIO, "%s: cannot write into folder '%s': %s", out, dir,
                      strerror(errno));
    return NN_OK;
}

/* convert images' command line. The arrays hold MAX_CLASSES entries. */
typedef struct images_args {
    const char **pos;          /* the DIR=label arguments */
    int npos;
    nn_image_class *classes;   /* parsed from pos */
    char **dirs;               /* the classes' folder names (owned) */
    nn_images_opts io;
    int compress;
    int shuffle;
    int seed;
    const char *outp;
} images_args;

static int alloc_args(images_args *a)
{
    a->pos = malloc(MAX_CLASSES * sizeof *a->pos);
    a->classes = calloc(MAX_CLASSES, sizeof *a->classes);
    a->dirs = calloc(MAX_CLASSES, sizeof *a->dirs);
    return a->pos && a->classes && a->dirs ? 0 : -1;
}

static void free_args(images_args *a)
{
    for (int i = 0; a->dirs && i < a->npos; i++)
        free(a->dirs[i]);
    free(a->dirs);
    free(a->classes);
    free(a->pos);
}

/* One DIR holding class subfolders and no image files: one class per
 * subfolder, in byte order as Keras's flow_from_directory numbers them. */
static int class_folders(images_args *a, nn_error *e)
{
    char **names;
    int n;
    size_t nimages;
    int rc = nn_images_class_folders(a->dirs[0], &names, &n, &nimages, e);
    if (rc || n == 0 || nimages > 0) {
        if (!rc)
            nn_images_free_names(names, n);
        return rc;
    }
    if (n > MAX_CLASSES) {
        nn_images_free_names(names, n);
        return nn_err(e, NN_EINVAL, "%s: %d class folders, at most %d", a->dirs[0], n,
                      MAX_CLASSES);
    }
    char *parent = a->dirs[0];
    a->npos = 0;
    for (int k = 0; k < n && !rc; k++) {
        size_t len = strlen(parent) + strlen(names[k]) + 2;
        if (!(a->dirs[k] = malloc(len))) {
            rc = nn_err(e, NN_ENOMEM, "out of memory");
            break;
        }
        snprintf(a->dirs[k], len, "%s/%s", parent, names[k]);
        a->classes[k].dir = a->dirs[k];
        a->classes[k].label = strrchr(a->dirs[k], '/') + 1;
        a->pos[k] = a->dirs[k];
        a->npos++;
    }
    free(parent);
    nn_images_free_names(names, n);
    return rc;
}

/* The option values and class folders into a, checked. Returns -1 to go on,
 * else the exit status (after --help or a usage error). */
static int read_args(int argc, char **argv, int first, images_args *a)
{
    cli_opt opts[] = {{"--out", 1, 0, 0},      {"--output", 1, 0, 0}, {"--size", 1, 0, 0},
                      {"--grey", 0, 0, 0},     {"--gray", 0, 0, 0},   {"--rgb", 0, 0, 0},
                      {"--dedupe", 0, 0, 0},   {"--compress", 1, 0, 0}, {"--help", 0, 0, 0},
                      {"--seed", 1, 0, 0},     {"--no-shuffle", 0, 0, 0}, {NULL, 0, 0, 0}};
    nn_error e = {0};
    if (cli_parse_alias(argc, argv, first, CLI_ALIAS_O | CLI_ALIAS_H, opts, a->pos, MAX_CLASSES,
                        &a->npos, &e))
        return cli_usage_hint(&e, "convert images");
    if (cli_find(opts, "--help")->given) {
        usage(stdout);
        return CLI_OK;
    }
    a->outp = cli_find(opts, "--out")->given ? cli_find(opts, "--out")->value
                                             : cli_find(opts, "--output")->value;
    int grey = cli_find(opts, "--grey")->given || cli_find(opts, "--gray")->given;
    int rgb = cli_find(opts, "--rgb")->given;
    if (!a->npos || !a->outp) {
        fprintf(stderr, "nntrain: error: convert images needs %s\n\n",
                !a->npos ? "at least one DIR=label folder" : "an output file (-o OUT.h5)");
        usage(stderr);
        return CLI_USAGE;
    }
    int rc = NN_OK;
    if (grey && rgb)
        rc = nn_err(&e, NN_EINVAL, "--grey and --rgb exclude each other");
    if (!rc && cli_find(opts, "--size")->given)
        rc = parse_size(cli_find(opts, "--size")->value, &a->io.h, &a->io.w, &e);
    if (!rc && !(rc = cli_int(opts, "--compress", &a->compress, &e)) &&
        (a->compress < 0 || a->compress > 9))
        rc = nn_err(&e, NN_EINVAL, "option --compress expects a gzip level 0..9, got %d",
                    a->compress);
    a->seed = 42;
    if (!rc && !(rc = cli_int(opts, "--seed", &a->seed, &e)) && a->seed < 0)
        rc = nn_err(&e, NN_EINVAL, "option --seed expects a number >= 0, got %d", a->seed);
    a->shuffle = !cli_find(opts, "--no-shuffle")->given;
    if (!rc && a->shuffle == 0 && cli_find(opts, "--seed")->given)
        rc = nn_err(&e, NN_EINVAL, "--seed and --no-shuffle exclude each other");
    a->io.channels = grey ? 1 : rgb ? 3 : 0;
    a->io.dedupe = cli_find(opts, "--dedupe")->given;
    for (int i = 0; !rc && i < a->npos; i++)
        rc = parse_class(a->pos[i], &a->classes[i], &a->dirs[i], &e);
    if (!rc && a->npos == 1 && !strchr(a->pos[0], '='))
        rc = class_folders(a, &e);
    if (rc) {
        cli_error(NULL, &e);
        return CLI_USAGE;
    }
    return -1;
}

/* "images: DIR=a, DIR=b" (*source) and the class names array (*names). */
static int dataset_names(const images_args *a, const nn_images *im, char **source,
                         const char ***names, nn_error *e)
{
    size_t slen = 32;
    for (int i = 0; i < a->npos; i++)
        slen += strlen(a->pos[i]) + 2;
    if (!(*source = malloc(slen)) || !(*names = malloc((size_t)im->nclasses * sizeof **names)))
        return nn_err(e, NN_ENOMEM, "out of memory");
    strcpy(*source, "images:");
    for (int i = 0; i < a->npos; i++)
        strcat(strcat(*source, i ? ", " : " "), a->pos[i]);
    for (int k = 0; k < im->nclasses; k++)
        (*names)[k] = im->class_names[k];
    return NN_OK;
}

static void report(const char *outp, const nn_images *im, double secs, int shuffled, int seed)
{
    FILE *f = fopen(outp, "rb");
    long bytes = -1;
    if (f && !fseek(f, 0, SEEK_END))
        bytes = ftell(f);
    if (f)
        fclose(f);
    printf("wrote %s: %zu images %dx%dx%d (HxWxC) uint8 in %d class%s (", outp, im->n, im->h,
           im->w, im->c, im->nclasses, im->nclasses == 1 ? "" : "es");
    for (int k = 0; k < im->nclasses; k++)
        printf("%s%s %zu", k ? ", " : "", im->class_names[k], im->class_count[k]);
    printf("), %.1f MB, %.2f s\n", bytes >= 0 ? (double)bytes / 1e6 : 0.0, secs);
    if (shuffled)
        printf("stored in a shuffled order (seed %d; --no-shuffle keeps file order)\n", seed);
    else
        printf("stored in file order, class after class: shuffle before validation_split\n");
}

/* Decodes the folders, prints the duplicate report, writes the file. */
static int convert(const images_args *a, nn_images *im, nn_error *e)
{
    char *source = NULL;
    const char **names = NULL;
    int rc = check_out_dir(a->outp, e);
    double t0 = nn_now();
    if (!rc && !(rc = nn_images_load(a->classes, a->npos, &a->io, im, e)))
        fputs(im->report, stdout);
    if (!rc && a->shuffle)
        rc = nn_images_shuffle(im, (uint64_t)a->seed, e);
    if (!rc)
        rc = dataset_names(a, im, &source, &names, e);
    if (!rc) {
        nn_h5_split split = {.name = "train", .n = im->n,
                             .shape = nn_shape3(im->h, im->w, im->c), .x_u8 = im->x,
                             .y_label = im->y, .ydim = 1};
        nn_h5_meta meta = {.source = source, .nclasses = im->nclasses, .class_names = names,
                           .compress = a->compress};
        rc = nn_h5_write(a->outp, &split, 1, &meta, e);
    }
    if (!rc)
        report(a->outp, im, nn_now() - t0, a->shuffle, a->seed);
    free(names);
    free(source);
    return rc;
}

int cmd_convert_images(int argc, char **argv, int first)
{
    images_args a = {0};
    nn_images im = {0};
    nn_error e = {0};
    int rc;
    if (alloc_args(&a)) {
        nn_err(&e, NN_ENOMEM, "out of memory");
        cli_error(NULL, &e);
        rc = CLI_FAIL;
    } else {
        rc = read_args(argc, argv, first, &a);
    }
    if (rc < 0) {
        rc = convert(&a, &im, &e) ? CLI_FAIL : CLI_OK;
        if (rc)
            cli_error(NULL, &e);
    }
    free_args(&a);
    nn_images_free(&im);
    return rc;
}
