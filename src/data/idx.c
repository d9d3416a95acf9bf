/* IDX datasets (MNIST, Fashion-MNIST): an images file (magic 0x00000803, uint8
 * (n, rows, cols)) and a labels file (magic 0x00000801, uint8 (n)), gzip or
 * plain, both read through zlib's gzread (which passes plain files through).
 * Both files are small enough to keep in memory as uint8, so they are loaded
 * once at open and read() only gathers samples and scales pixels by /255 as
 * Keras examples do. Every header field is checked before it sizes anything,
 * and buffers grow with the data actually read, so a lying header cannot make
 * us allocate gigabytes for a truncated file. */
#define _POSIX_C_SOURCE 200809L

#include "nntrain/data.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define IDX_IMAGES_MAGIC 0x00000803u
#define IDX_LABELS_MAGIC 0x00000801u
#define IDX_MAX_SIDE 65535u        /* rows and cols; MNIST is 28 */
#define IDX_PATH_MAX 4096

typedef struct idx_priv {
    uint8_t *pix;   /* (n, rows, cols) */
    uint8_t *lab;   /* (n) */
    size_t n;
    size_t per;     /* rows * cols */
} idx_priv;

/* Reads exactly want bytes into a buffer that grows with the data actually
 * delivered (so a header claiming 4e9 images on a short file fails cleanly).
 * On success *out owns want bytes; on error nothing is left allocated. */
static int read_all(gzFile f, const char *path, const char *what, size_t want,
                    uint8_t **out, nn_error *e)
{
    size_t cap = want < ((size_t)1 << 20) ? want : ((size_t)1 << 20);
    size_t got = 0;
    uint8_t *buf = malloc(cap ? cap : 1);
    if (!buf)
        return nn_err(e, NN_ENOMEM, "%s: cannot allocate %zu bytes for %s", path, cap,
                      what);
    while (got < want) {
        if (got == cap) {
            size_t ncap = cap > want / 2 ? want : cap * 2;
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                return nn_err(e, NN_ENOMEM, "%s: cannot allocate %zu bytes for %s", path,
                              ncap, what);
            }
            buf = nb;
            cap = ncap;
        }
        size_t chunk = cap - got;
        if (chunk > (size_t)INT_MAX)
            chunk = (size_t)INT_MAX;
        int r = gzread(f, buf + got, (unsigned)chunk);
        if (r <= 0) {
            int zerr = Z_OK;
            const char *zmsg = gzerror(f, &zerr);
            size_t plen = strlen(path);
            /* zlib prefixes its message with the path, which we print already */
            if (zmsg && strncmp(zmsg, path, plen) == 0 && strncmp(zmsg + plen, ": ", 2) == 0)
                zmsg += plen + 2;
            free(buf);
            if (r < 0 || (zerr != Z_OK && zerr != Z_STREAM_END))
                return nn_err(e, zerr == Z_ERRNO ? NN_EIO : NN_EFORMAT,
                              "%s: truncated or corrupt %s: expected %zu bytes, got %zu "
                              "(%s)", path, what, want, got, zmsg ? zmsg : "read error");
            return nn_err(e, NN_EFORMAT, "%s: truncated %s: expected %zu bytes, got %zu",
                          path, what, want, got);
        }
        got += (size_t)r;
    }
    *out = buf;
    return NN_OK;
}

static uint32_t be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) |
           (uint32_t)p[3];
}

/* Opens path and checks the magic; reads ndims big-endian dims into dims. */
static int open_header(const char *path, uint32_t magic, int ndims, uint32_t *dims,
                       gzFile *out, nn_error *e)
{
    errno = 0;
    gzFile f = gzopen(path, "rb");
    if (!f)
        return nn_err(e, NN_EIO, "%s: cannot open: %s", path,
                      errno ? strerror(errno) : "out of memory");
    uint8_t hdr[4 + 4 * 3];
    size_t want = 4 + 4 * (size_t)ndims;
    int r = gzread(f, hdr, (unsigned)want);
    if (r < 4) {
        gzclose(f);
        return nn_err(e, NN_EFORMAT,
                      "%s: file too short for an IDX header (%d bytes; not an IDX file?)",
                      path, r < 0 ? 0 : r);
    }
    uint32_t found = be32(hdr);
    if (found != magic) {
        gzclose(f);
        return nn_err(e, NN_EFORMAT,
                      "%s: bad magic number: expected 0x%08x, found 0x%08x "
                      "(not an IDX file?)", path, (unsigned)magic, (unsigned)found);
    }
    if ((size_t)r < want) {
        gzclose(f);
        return nn_err(e, NN_EFORMAT,
                      "%s: truncated IDX header: expected %zu bytes, got %d", path, want, r);
    }
    for (int i = 0; i < ndims; i++)
        dims[i] = be32(hdr + 4 + 4 * i);
    *out = f;
    return NN_OK;
}

static int load_images(const char *path, idx_priv *p, int *rows, int *cols, nn_error *e)
{
    uint32_t dims[3] = {0, 0, 0};
    gzFile f = NULL;
    int rc = open_header(path, IDX_IMAGES_MAGIC, 3, dims, &f, e);
    if (rc)
        return rc;
    if (dims[0] == 0 || dims[1] == 0 || dims[2] == 0 || dims[1] > IDX_MAX_SIDE ||
        dims[2] > IDX_MAX_SIDE) {
        gzclose(f);
        return nn_err(e, NN_EFORMAT,
                      "%s: bad image dims (%u, %u, %u): expected count >= 1 and "
                      "1 <= rows, cols <= %u", path, (unsigned)dims[0], (unsigned)dims[1],
                      (unsigned)dims[2], IDX_MAX_SIDE);
    }
    size_t per = (size_t)dims[1] * dims[2];
    if (per > (size_t)INT_MAX || (size_t)dims[0] > SIZE_MAX / per) {
        gzclose(f);
        return nn_err(e, NN_EFORMAT, "%s: image data too large: %u images of %u x %u",
                      path, (unsigned)dims[0], (unsigned)dims[1], (unsigned)dims[2]);
    }
    rc = read_all(f, path, "image data", (size_t)dims[0] * per, &p->pix, e);
    gzclose(f);
    if (rc)
        return rc;
    p->n = dims[0];
    p->per = per;
    *rows = (int)dims[1];
    *cols = (int)dims[2];
    return NN_OK;
}

static int load_labels(const char *path, idx_priv *p, size_t *n, nn_error *e)
{
    uint32_t dims[1] = {0};
    gzFile f = NULL;
    int rc = open_header(path, IDX_LABELS_MAGIC, 1, dims, &f, e);
    if (rc)
        return rc;
    if (dims[0] == 0) {
        gzclose(f);
        return nn_err(e, NN_EFORMAT, "%s: label count is 0: expected at least 1", path);
    }
    rc = read_all(f, path, "label data", dims[0], &p->lab, e);
    gzclose(f);
    if (rc)
        return rc;
    *n = dims[0];
    return NN_OK;
}

static int idx_read(nn_dataset *d, const uint64_t *idx, int count, float *x, float *y,
                    nn_error *e)
{
    const idx_priv *p = d->priv;
    int rc = nn_data_check_read(d, p ? p->n : 0, idx, count, e);
    if (rc)
        return rc;
    for (int i = 0; i < count; i++) {
        size_t s = (size_t)idx[i];
        if (x) {
            const uint8_t *src = p->pix + s * p->per;
            float *dst = x + (size_t)i * p->per;
            for (size_t k = 0; k < p->per; k++)
                dst[k] = (float)src[k] / 255.0f;
        }
        if (y)
            y[i] = (float)p->lab[s];
    }
    return NN_OK;
}

static void idx_close(nn_dataset *d)
{
    idx_priv *p = d->priv;
    if (p) {
        free(p->pix);
        free(p->lab);
        free(p);
    }
    d->priv = NULL;
}

int nn_idx_open(const char *images_path, const char *labels_path, nn_dataset *d,
                nn_error *e)
{
    if (!d)
        return nn_err(e, NN_EINVAL, "nn_idx_open: dataset pointer is NULL");
    memset(d, 0, sizeof *d);
    if (!images_path || !labels_path)
        return nn_err(e, NN_EINVAL, "nn_idx_open: images and labels paths are required");
    idx_priv *p = calloc(1, sizeof *p);
    if (!p)
        return nn_err(e, NN_ENOMEM, "%s: cannot allocate dataset state", images_path);
    int rows = 0, cols = 0;
    size_t nlab = 0;
    int rc = load_images(images_path, p, &rows, &cols, e);
    if (!rc)
        rc = load_labels(labels_path, p, &nlab, e);
    if (!rc && nlab != p->n)
        rc = nn_err(e, NN_EFORMAT,
                    "image count %zu in %s does not match label count %zu in %s",
                    p->n, images_path, nlab, labels_path);
    if (rc) {
        free(p->pix);
        free(p->lab);
        free(p);
        return rc;
    }
    int maxlab = 0;
    for (size_t i = 0; i < p->n; i++)
        if (p->lab[i] > maxlab)
            maxlab = p->lab[i];
    d->n = p->n;
    d->x_shape = nn_shape3(rows, cols, 1);
    d->ydim = 1;
    d->nclasses = maxlab + 1 > 10 ? maxlab + 1 : 10;
    snprintf(d->source, sizeof d->source, "%s", images_path);
    d->read = idx_read;
    d->close = idx_close;
    d->priv = p;
    return NN_OK;
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Tries the four spellings "<dir>/<split>-<kind>-<ext>[.gz]" and
 * "<dir>/<split>-<kind>.<ext>[.gz]"; on failure lists them in the message. */
static int find_file(const char *dir, const char *split, const char *kind,
                     const char *ext, char *out, nn_error *e)
{
    static const char *const fmts[] = {"%s/%s-%s-%s", "%s/%s-%s-%s.gz", "%s/%s-%s.%s",
                                       "%s/%s-%s.%s.gz"};
    char tried[900];
    size_t k = 0;
    tried[0] = '\0';
    for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
        int len = snprintf(out, IDX_PATH_MAX, fmts[i], dir, split, kind, ext);
        if (len < 0 || len >= IDX_PATH_MAX)
            return nn_err(e, NN_EINVAL, "%s: directory path too long", dir);
        if (is_file(out))
            return NN_OK;
        if (k < sizeof tried) {
            int w = snprintf(tried + k, sizeof tried - k, "%s%s", i ? ", " : "", out);
            k = w < 0 ? sizeof tried : k + (size_t)w;
        }
    }
    return nn_err(e, NN_EIO, "no IDX %s file for split '%s' in %s: tried %s", kind, split,
                  dir, tried);
}

int nn_idx_open_dir(const char *dir, const char *split, nn_dataset *d, nn_error *e)
{
    if (!d)
        return nn_err(e, NN_EINVAL, "nn_idx_open_dir: dataset pointer is NULL");
    memset(d, 0, sizeof *d);
    if (!dir || !split)
        return nn_err(e, NN_EINVAL, "nn_idx_open_dir: directory and split are required");
    if (strcmp(split, "train") != 0 && strcmp(split, "t10k") != 0)
        return nn_err(e, NN_EINVAL, "%s: unknown IDX split '%s': expected train or t10k",
                      dir, split);
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return nn_err(e, NN_EIO, "%s: not a directory (looking for IDX files)", dir);
    char *images = malloc(2 * IDX_PATH_MAX);
    if (!images)
        return nn_err(e, NN_ENOMEM, "%s: cannot allocate path buffers", dir);
    char *labels = images + IDX_PATH_MAX;
    int rc = find_file(dir, split, "images", "idx3-ubyte", images, e);
    if (!rc)
        rc = find_file(dir, split, "labels", "idx1-ubyte", labels, e);
    if (!rc)
        rc = nn_idx_open(images, labels, d, e);
    free(images);
    return rc;
}
