/* Image folders as Keras users have them (see image_list.h and images.h):
 * only files with an image extension are read, so a Thumbs.db or a notes
 * file does not stop a conversion; a folder of class subfolders gives one
 * class per subfolder in byte order, as flow_from_directory sorts them; and
 * a fingerprint of names, sizes and modification times tells a cached
 * conversion whether the folders changed. */
#define _POSIX_C_SOURCE 200809L
#include "image_list.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "nntrain/hash.h"
#include "nntrain/images.h"

int nn_images_is_image_name(const char *name)
{
    static const char *const ext[] = {"jpg", "jpeg", "jpe", "jfif", "png", "bmp", "gif",
                                      "tga", "psd", "hdr", "pic", "pnm", "ppm", "pgm"};
    const char *slash = strrchr(name, '/'), *dot = strrchr(name, '.');
    if (!dot || dot == name || (slash && dot < slash) || dot[-1] == '/')
        return 0;
    for (size_t i = 0; i < sizeof ext / sizeof *ext; i++)
        if (!strcasecmp(dot + 1, ext[i]))
            return 1;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir);
    int slash = n > 0 && dir[n - 1] == '/';
    char *p = malloc(n + strlen(name) + 2);
    if (p)
        sprintf(p, "%s%s%s", dir, slash ? "" : "/", name);
    return p;
}

void img_free_list(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

static int push(char ***v, size_t *n, size_t *cap, char *s)
{
    if (!s)
        return -1;
    if (*n == *cap) {
        size_t c2 = *cap ? 2 * *cap : 64;
        char **t = realloc(*v, c2 * sizeof *t);
        if (!t) {
            free(s);
            return -1;
        }
        *v = t;
        *cap = c2;
    }
    (*v)[(*n)++] = s;
    return 0;
}

/* Notes a skipped file; the example is the least name, so it does not
 * depend on the order readdir returns. */
static int skip_other(img_skips *sk, const char *path)
{
    sk->nother++;
    if (sk->example && strcmp(path, sk->example) >= 0)
        return 0;
    char *c = strdup(path);
    if (!c)
        return -1;
    free(sk->example);
    sk->example = c;
    return 0;
}

/* One directory entry: a path pushed, or what was skipped counted. */
static int list_entry(const char *dir, const char *name, char ***v, size_t *n, size_t *cap,
                      img_skips *sk, nn_error *e)
{
    if (name[0] == '.') {
        sk->nhidden += strcmp(name, ".") && strcmp(name, "..");
        return NN_OK;
    }
    char *path = join(dir, name);
    struct stat st;
    if (!path)
        return nn_err(e, NN_ENOMEM, "out of memory listing %s", dir);
    if (stat(path, &st) != 0) {
        int rc = nn_err(e, NN_EIO, "%s: cannot stat: %s", path, strerror(errno));
        free(path);
        return rc;
    }
    if (!S_ISREG(st.st_mode)) {
        sk->ndirs++;
        free(path);
        return NN_OK;
    }
    if (!nn_images_is_image_name(name)) {
        int bad = skip_other(sk, path);
        free(path);
        return bad ? nn_err(e, NN_ENOMEM, "out of memory listing %s", dir) : NN_OK;
    }
    return push(v, n, cap, path) ? nn_err(e, NN_ENOMEM, "out of memory listing %s", dir) : NN_OK;
}

int img_list_files(const char *dir, char ***paths, size_t *n, img_skips *sk, nn_error *e)
{
    *paths = NULL;
    *n = 0;
    struct stat st;
    size_t cap = 0;
    if (stat(dir, &st) == 0 && S_ISREG(st.st_mode))
        return push(paths, n, &cap, strdup(dir)) ? nn_err(e, NN_ENOMEM, "out of memory") : NN_OK;
    DIR *d = opendir(dir);
    if (!d)
        return nn_err(e, NN_EIO, "%s: cannot open folder: %s", dir, strerror(errno));
    int rc = NN_OK;
    struct dirent *de;
    while (!rc && (de = readdir(d)))
        rc = list_entry(dir, de->d_name, paths, n, &cap, sk, e);
    closedir(d);
    if (rc) {
        img_free_list(*paths, *n);
        *paths = NULL;
        *n = 0;
        return rc;
    }
    if (*n)
        qsort(*paths, *n, sizeof **paths, cmp_str);
    return NN_OK;
}

int nn_images_class_folders(const char *dir, char ***names, int *n, size_t *nimages,
                            nn_error *e)
{
    *names = NULL;
    *n = 0;
    *nimages = 0;
    DIR *d = opendir(dir);
    if (!d)
        return nn_err(e, NN_EIO, "%s: cannot open folder: %s", dir, strerror(errno));
    char **v = NULL;
    size_t cnt = 0, cap = 0;
    int rc = NN_OK;
    struct dirent *de;
    while (!rc && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char *path = join(dir, de->d_name);
        struct stat st;
        if (!path || stat(path, &st) != 0) {
            free(path);
            continue;   /* a dangling link: not a class */
        }
        free(path);
        if (S_ISDIR(st.st_mode))
            rc = push(&v, &cnt, &cap, strdup(de->d_name)) ? nn_err(e, NN_ENOMEM, "out of memory")
                                                          : NN_OK;
        else if (S_ISREG(st.st_mode))
            *nimages += (size_t)nn_images_is_image_name(de->d_name);
    }
    closedir(d);
    if (!rc && cnt > INT32_MAX)
        rc = nn_err(e, NN_EINVAL, "%s: too many subfolders", dir);
    if (rc) {
        img_free_list(v, cnt);
        return rc;
    }
    if (cnt)
        qsort(v, cnt, sizeof *v, cmp_str);   /* byte order, as flow_from_directory */
    *names = v;
    *n = (int)cnt;
    return NN_OK;
}

int nn_images_fingerprint(const nn_image_class *classes, int nclasses, uint64_t *h,
                          nn_error *e)
{
    uint64_t f = NN_FNV_INIT;
    int rc = NN_OK;
    for (int k = 0; k < nclasses && !rc; k++) {
        char **paths;
        size_t n;
        img_skips sk = {0};
        rc = img_list_files(classes[k].dir, &paths, &n, &sk, e);
        free(sk.example);
        f = nn_fnv1a_str(f, classes[k].label);
        for (size_t i = 0; i < n && !rc; i++) {
            struct stat st;
            if (stat(paths[i], &st) != 0) {
                rc = nn_err(e, NN_EIO, "%s: cannot stat: %s", paths[i], strerror(errno));
                break;
            }
            int64_t meta[3] = {(int64_t)st.st_size, (int64_t)st.st_mtim.tv_sec,
                               (int64_t)st.st_mtim.tv_nsec};
            f = nn_fnv1a_str(f, paths[i]);
            f = nn_fnv1a(f, meta, sizeof meta);
        }
        img_free_list(paths, n);
    }
    *h = f;
    return rc;
}

void nn_images_free_names(char **names, int n)
{
    img_free_list(names, n > 0 ? (size_t)n : 0);
}
