/* nntrain convert images DIR=label [DIR=label ...] -o out.h5 [--size HxW]
 *                        [--dedupe] [--grey|--rgb] [--compress N]
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
            "given (DIR alone: the folder's name is the label). Files are read in sorted\n"
            "name order. Writes /train: uint8 (N, H, W, C) images and int32 labels.\n"
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
            "  --compress N       gzip level 0..9 for the images (default 0: none)\n");
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

int cmd_convert_images(int argc, char **argv, int first)
{
    cli_opt opts[] = {{"--out", 1, 0, 0},      {"--output", 1, 0, 0}, {"--size", 1, 0, 0},
                      {"--grey", 0, 0, 0},     {"--gray", 0, 0, 0},   {"--rgb", 0, 0, 0},
                      {"--dedupe", 0, 0, 0},   {"--compress", 1, 0, 0}, {"--help", 0, 0, 0},
                      {NULL, 0, 0, 0}};
    nn_error e = {0};
    /* cli_parse knows long options only: map -o and -h */
    char **args = malloc((size_t)(argc > 0 ? argc : 1) * sizeof *args);
    const char **pos = malloc(MAX_CLASSES * sizeof *pos);
    nn_image_class *classes = calloc(MAX_CLASSES, sizeof *classes);
    char **dirs = calloc(MAX_CLASSES, sizeof *dirs);
    const char **names = NULL;
    nn_images im = {0};
    char *source = NULL;
    int npos = 0, rc = CLI_FAIL;
    if (!args || !pos || !classes || !dirs) {
        nn_err(&e, NN_ENOMEM, "out of memory");
        goto fail;
    }
    for (int i = 0; i < argc; i++)
        args[i] = !strcmp(argv[i], "-o") ? "--out" : !strcmp(argv[i], "-h") ? "--help"
                                                                               : argv[i];
    if (cli_parse(argc, args, first, opts, pos, MAX_CLASSES, &npos, &e)) {
        cli_error(NULL, &e);
        fprintf(stderr, "Run 'nntrain convert images --help' for the options.\n");
        rc = CLI_USAGE;
        goto out;
    }
    if (cli_find(opts, "--help")->given) {
        usage(stdout);
        rc = CLI_OK;
        goto out;
    }
    nn_images_opts io = {0};
    int compress = 0;
    const char *outp = cli_find(opts, "--out")->given ? cli_find(opts, "--out")->value
                                                       : cli_find(opts, "--output")->value;
    int grey = cli_find(opts, "--grey")->given || cli_find(opts, "--gray")->given;
    int rgb = cli_find(opts, "--rgb")->given;
    if (!npos || !outp) {
        fprintf(stderr, "nntrain: error: convert images needs %s\n\n",
                !npos ? "at least one DIR=label folder" : "an output file (-o OUT.h5)");
        usage(stderr);
        rc = CLI_USAGE;
        goto out;
    }
    if (grey && rgb) {
        nn_err(&e, NN_EINVAL, "--grey and --rgb exclude each other");
        goto usage_err;
    }
    if (cli_find(opts, "--size")->given &&
        parse_size(cli_find(opts, "--size")->value, &io.h, &io.w, &e))
        goto usage_err;
    if (cli_int(opts, "--compress", &compress, &e))
        goto usage_err;
    if (compress < 0 || compress > 9) {
        nn_err(&e, NN_EINVAL, "option --compress expects a gzip level 0..9, got %d", compress);
        goto usage_err;
    }
    io.channels = grey ? 1 : rgb ? 3 : 0;
    io.dedupe = cli_find(opts, "--dedupe")->given;
    for (int i = 0; i < npos; i++)
        if (parse_class(pos[i], &classes[i], &dirs[i], &e))
            goto usage_err;

    if (check_out_dir(outp, &e))
        goto fail;
    double t0 = nn_now();
    if (nn_images_load(classes, npos, &io, &im, &e))
        goto fail;
    fputs(im.report, stdout);

    size_t slen = 32;
    for (int i = 0; i < npos; i++)
        slen += strlen(pos[i]) + 2;
    if (!(source = malloc(slen)) || !(names = malloc((size_t)im.nclasses * sizeof *names))) {
        nn_err(&e, NN_ENOMEM, "out of memory");
        goto fail;
    }
    strcpy(source, "images:");
    for (int i = 0; i < npos; i++)
        strcat(strcat(source, i ? ", " : " "), pos[i]);
    for (int k = 0; k < im.nclasses; k++)
        names[k] = im.class_names[k];
    nn_h5_split split = {.name = "train", .n = im.n, .shape = nn_shape3(im.h, im.w, im.c),
                         .x_u8 = im.x, .y_label = im.y, .ydim = 1};
    nn_h5_meta meta = {.source = source, .nclasses = im.nclasses, .class_names = names,
                       .compress = compress};
    if (nn_h5_write(outp, &split, 1, &meta, &e))
        goto fail;
    double secs = nn_now() - t0;
    FILE *f = fopen(outp, "rb");
    long bytes = -1;
    if (f && !fseek(f, 0, SEEK_END))
        bytes = ftell(f);
    if (f)
        fclose(f);
    printf("wrote %s: %zu images %dx%dx%d (HxWxC) uint8 in %d class%s (", outp, im.n, im.h,
           im.w, im.c, im.nclasses, im.nclasses == 1 ? "" : "es");
    for (int k = 0; k < im.nclasses; k++)
        printf("%s%s %zu", k ? ", " : "", im.class_names[k], im.class_count[k]);
    printf("), %.1f MB, %.2f s\n", bytes >= 0 ? (double)bytes / 1e6 : 0.0, secs);
    rc = CLI_OK;
    goto out;
usage_err:
    cli_error(NULL, &e);
    rc = CLI_USAGE;
    goto out;
fail:
    cli_error(NULL, &e);
    rc = CLI_FAIL;
out:
    for (int i = 0; dirs && i < npos; i++)
        free(dirs[i]);
    free(dirs);
    free(classes);
    free(pos);
    free(args);
    free(names);
    free(source);
    nn_images_free(&im);
    return rc;
}
