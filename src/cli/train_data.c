/* train --data DIR of class folders (see train_data.h). The cache is keyed
 * by what decides its bytes, so a reused file is the file a conversion would
 * write now; nn_h5_write's temporary name and rename keep a reader from
 * ever seeing half a file, on a shared file system as on node-local disks. */
#define _POSIX_C_SOURCE 200809L
#include "train_data.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "infer.h"
#include "nntrain/clock.h"
#include "nntrain/h5data.h"
#include "nntrain/hash.h"
#include "nntrain/images.h"

typedef struct class_dirs {
    nn_image_class *k;
    char **paths;           /* owned "DIR/name" */
    char **names;           /* owned subfolder names = labels */
    int n;
} class_dirs;

static void free_dirs(class_dirs *c)
{
    for (int i = 0; c->paths && i < c->n; i++)
        free(c->paths[i]);
    free(c->paths);
    free(c->k);
    nn_images_free_names(c->names, c->n);
    memset(c, 0, sizeof *c);
}

static int list_classes(const char *dir, class_dirs *c, nn_error *e)
{
    size_t nimg, dl = strlen(dir);
    while (dl > 1 && dir[dl - 1] == '/')   /* "DIR/" and "DIR" name the same files */
        dl--;
    memset(c, 0, sizeof *c);
    int rc = nn_images_class_folders(dir, &c->names, &c->n, &nimg, e);
    if (!rc && c->n < 1)
        rc = nn_err(e, NN_EINVAL, "--data %s: no class subfolders", dir);
    if (!rc && (!(c->k = calloc((size_t)c->n, sizeof *c->k)) ||
                !(c->paths = calloc((size_t)c->n, sizeof *c->paths))))
        rc = nn_err(e, NN_ENOMEM, "out of memory");
    for (int i = 0; !rc && i < c->n; i++) {
        size_t l = dl + strlen(c->names[i]) + 2;
        if (!(c->paths[i] = malloc(l)))
            rc = nn_err(e, NN_ENOMEM, "out of memory");
        else
            snprintf(c->paths[i], l, "%.*s/%s", (int)dl, dir, c->names[i]);
        c->k[i] = (nn_image_class){c->paths[i], c->names[i]};
    }
    return rc;
}

/* Decodes, resizes, shuffles and writes the cache file h5. */
static int convert(const char *dir, const class_dirs *c, const nn_shape *img, uint64_t seed,
                   const char *h5, int speak, nn_error *e)
{
    nn_images im;
    nn_images_opts o = {.h = img->d[0], .w = img->d[1], .channels = img->d[2]};
    double t0 = nn_now();
    int rc = nn_images_load(c->k, c->n, &o, &im, e);
    if (rc)
        return nn_err_prefix(e, "--data %s", dir);
    char source[4200];
    snprintf(source, sizeof source, "images: %s (class folders, train --data)", dir);
    if (!(rc = nn_images_shuffle(&im, seed, e))) {
        nn_h5_split s = {.name = "train", .n = im.n, .shape = *img, .x_u8 = im.x,
                         .y_label = im.y, .ydim = 1};
        nn_h5_meta meta = {.source = source, .nclasses = im.nclasses,
                           .class_names = (const char *const *)im.class_names};
        rc = nn_h5_write(h5, &s, 1, &meta, e);
    }
    if (!rc && speak) {
        if (im.nskipped)
            printf("note: skipped %zu file%s that %s (e.g. %s)\n", im.nskipped,
                   im.nskipped == 1 ? "" : "s",
                   im.nskipped == 1 ? "is not an image" : "are not images",
                   im.skipped_example);
        if (im.ndistinct < im.nfiles)
            printf("note: %zu of %zu files repeat another file's bytes, kept (a validation "
                   "split may hold copies of training images; nntrain convert images %s -o "
                   "F.h5 --dedupe lists and drops them)\n", im.nfiles - im.ndistinct, im.nfiles,
                   dir);
        printf("Converted %s (%zu images in %d classes: ", dir, im.n, im.nclasses);
        for (int k = 0; k < im.nclasses; k++)
            printf("%s%d = %s %zu", k ? ", " : "", k, im.class_names[k], im.class_count[k]);
        printf("; %zu resized to %dx%dx%d, the model's input; shuffled with seed %llu) into "
               "%s in %.1f s; reused while the files stay the same\n", im.nresized, img->d[0],
               img->d[1], img->d[2], (unsigned long long)seed, h5, nn_now() - t0);
        fflush(stdout);
    }
    nn_images_free(&im);
    return rc;
}

/* Removes the earlier caches (data-<16 hex>.h5) of outdir but keep: a
 * conversion replaces them, so that changing folders do not fill the disk. */
static void remove_stale(const char *outdir, const char *keep, int speak)
{
    DIR *dir = opendir(outdir);
    struct dirent *de;
    const char *kb = strrchr(keep, '/');
    kb = kb ? kb + 1 : keep;
    while (dir && (de = readdir(dir))) {
        const char *n = de->d_name;
        if (strlen(n) != 24 || strncmp(n, "data-", 5) || strcmp(n + 21, ".h5") ||
            strspn(n + 5, "0123456789abcdef") != 16 || !strcmp(n, kb))
            continue;
        char p[4400];
        snprintf(p, sizeof p, "%s/%s", outdir, n);
        if (!unlink(p) && speak)
            printf("Removed %s, the conversion of an earlier state of the folders\n", p);
    }
    if (dir)
        closedir(dir);
}

/* The image shape of the model input and the cache path for it. */
static int cache_path(const char *dir, const class_dirs *c, const nn_shape *model_in,
                      uint64_t seed, const char *outdir, nn_shape *img, char *h5, size_t len,
                      nn_error *e)
{
    char ms[64];
    if (!cli_image_shape(model_in, NULL, img) || img->d[2] > 4)
        return nn_err(e, NN_ESHAPE, "--data %s is a folder of class folders of images, but the "
                      "model's input %s is not an image (H, W, C) of 1 to 4 channels", dir,
                      nn_shape_str(model_in, ms, sizeof ms));
    uint64_t h;
    int rc = nn_images_fingerprint(c->k, c->n, &h, e);
    if (rc)
        return rc;
    int32_t key[4] = {img->d[0], img->d[1], img->d[2], 1 /* cache layout version */};
    h = nn_fnv1a(h, key, sizeof key);
    h = nn_fnv1a(h, &seed, sizeof seed);
    if ((size_t)snprintf(h5, len, "%s/data-%016llx.h5", outdir, (unsigned long long)h) >= len)
        return nn_err(e, NN_EINVAL, "--out %s: path too long", outdir);
    return NN_OK;
}

int cli_class_folder_data(const char *dir, const nn_shape *model_in, uint64_t seed,
                          const char *outdir, int verbose, nn_dist *d, char *h5, size_t len,
                          nn_error *e)
{
    class_dirs c;
    nn_shape img;
    int rc = list_classes(dir, &c, e);
    if (!rc)
        rc = cache_path(dir, &c, model_in, seed, outdir, &img, h5, len, e);
    int speak = d->rank == 0 && verbose;
    if (!rc && d->rank == 0 && !(rc = cli_mkdirs(outdir, e))) {
        if (access(h5, R_OK) == 0) {
            if (speak)
                printf("Reusing %s: converted from %s before (same files, sizes, times, "
                       "input %dx%dx%d and seed)\n", h5, dir, img.d[0], img.d[1], img.d[2]);
        } else {
            rc = convert(dir, &c, &img, seed, h5, speak, e);
            if (!rc)
                remove_stale(outdir, h5, speak);
        }
    }
    rc = nn_dist_agree(d, rc, e);
    /* node-local output folders: a rank that cannot see rank 0's file makes its own */
    if (!rc && d->rank != 0 && access(h5, R_OK) != 0 && !(rc = cli_mkdirs(outdir, e)))
        rc = convert(dir, &c, &img, seed, h5, 0, e);
    if (d->size > 1)
        rc = nn_dist_agree(d, rc, e);
    free_dirs(&c);
    return rc;
}
