/* Converters into the nntrain HDF5 schema: IDX (MNIST, Fashion-MNIST) and
 * CIFAR-10 binary batches, the duplicate finder they share with CSV (csv.c),
 * inspect and split, and the seeded train/validation split.
 *
 * Every converter builds its splits in memory, then nn_conv_finish finds
 * byte-identical samples (FNV-1a 64 of the x bytes, confirmed with memcmp),
 * counts them (and those whose labels disagree), drops them on request and
 * hands the rest to nn_h5_write, which writes atomically. */
#define _XOPEN_SOURCE 700   /* realpath */

#include "nntrain/convert.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "h5priv.h"
#include "nntrain/rng.h"

#define IDX_BLOCK 1024
#define CIFAR_SIDE 32
#define CIFAR_PIX (CIFAR_SIDE * CIFAR_SIDE)
#define CIFAR_REC (1 + 3 * CIFAR_PIX)
#define CIFAR_MAX_BYTES ((size_t)1 << 32)

static const char *const fashion_names[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress",
                                              "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                                              "Ankle boot"};
static const char *const digit_names[10] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
static const char *const cifar_names[10] = {"airplane", "automobile", "bird", "cat", "deer",
                                            "dog", "frog", "horse", "ship", "truck"};

/* ---- duplicates --------------------------------------------------------- */

typedef struct dupset {
    uint64_t *h;
    size_t *i;          /* row index, SIZE_MAX = empty slot */
    size_t mask;
    const uint8_t *base;
    size_t row;
} dupset;

static int set_init(dupset *s, size_t n, const void *base, size_t row, nn_error *e)
{
    size_t cap = 16;
    while (cap < 2 * n && cap < SIZE_MAX / 4 / sizeof(uint64_t))
        cap <<= 1;
    s->h = malloc(cap * sizeof *s->h);
    s->i = malloc(cap * sizeof *s->i);
    if (!s->h || !s->i) {
        free(s->h);
        free(s->i);
        s->h = NULL;
        s->i = NULL;
        return nn_err(e, NN_ENOMEM, "cannot allocate a duplicate table of %zu slots", cap);
    }
    for (size_t k = 0; k < cap; k++)
        s->i[k] = SIZE_MAX;
    s->mask = cap - 1;
    s->base = base;
    s->row = row;
    return NN_OK;
}

/* The index of a member identical to row r (hash h), or SIZE_MAX; adds
 * index i when nothing matches and add is set. */
static size_t set_find(dupset *s, const uint8_t *r, uint64_t h, size_t i, int add)
{
    for (size_t k = (size_t)h & s->mask;; k = (k + 1) & s->mask) {
        if (s->i[k] == SIZE_MAX) {
            if (add) {
                s->h[k] = h;
                s->i[k] = i;
            }
            return SIZE_MAX;
        }
        if (s->h[k] == h && !memcmp(s->base + s->i[k] * s->row, r, s->row))
            return s->i[k];
    }
}

int nn_find_duplicates(const void *x, size_t n, size_t row, const void *ref, size_t nref,
                       size_t *orig, size_t *in_ref, size_t *ndup, size_t *ncross,
                       nn_error *e)
{
    size_t nd = 0, nc = 0;
    if ((n && (!x || !orig)) || row == 0 || (ref && !in_ref))
        return nn_err(e, NN_EINVAL, "nn_find_duplicates: bad arguments");
    dupset s = {0}, r = {0};
    int rc = set_init(&s, n, x, row, e);
    if (!rc && ref)
        rc = set_init(&r, nref, ref, row, e);
    if (rc) {
        free(s.h);
        free(s.i);
        return rc;
    }
    for (size_t j = 0; ref && j < nref; j++) {
        const uint8_t *p = (const uint8_t *)ref + j * row;
        set_find(&r, p, nn_fnv1a(NN_FNV_INIT, p, row), j, 1);
    }
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = (const uint8_t *)x + i * row;
        uint64_t h = nn_fnv1a(NN_FNV_INIT, p, row);
        orig[i] = set_find(&s, p, h, i, 1);
        nd += orig[i] != SIZE_MAX;
        if (ref) {
            in_ref[i] = set_find(&r, p, h, 0, 0);
            nc += in_ref[i] != SIZE_MAX;
        }
    }
    free(s.h);
    free(s.i);
    free(r.h);
    free(r.i);
    if (ndup)
        *ndup = nd;
    if (ncross)
        *ncross = nc;
    return NN_OK;
}

/* ---- the common tail of every converter ---------------------------------- */

static size_t row_bytes(const nn_conv_split *s, const nn_shape *shape)
{
    return nn_shape_size(shape) * (s->xu ? 1 : sizeof(float));
}

/* Keeps rows i with keep[i] (x and y), in order; returns the new count. */
static size_t compact(nn_conv_split *s, size_t row, const unsigned char *keep)
{
    size_t m = 0, yb = s->y ? sizeof(int32_t) : (size_t)s->ydim * sizeof(float);
    uint8_t *x = s->xu ? s->xu : (uint8_t *)s->xf;
    uint8_t *y = s->y ? (uint8_t *)s->y : (uint8_t *)s->yf;
    for (size_t i = 0; i < s->n; i++) {
        if (!keep[i])
            continue;
        if (m != i) {
            memcpy(x + m * row, x + i * row, row);
            memcpy(y + m * yb, y + i * yb, yb);
        }
        m++;
    }
    return m;
}

int nn_conv_finish(nn_conv_split *s, int ns, nn_shape shape, const char *const *names,
                   int nnames, const char *source, const char *out, const nn_convert_opts *o,
                   nn_convert_stats *st, nn_error *e)
{
    nn_convert_stats local;
    if (!st)
        st = &local;
    memset(st, 0, sizeof *st);
    st->nsplits = ns;
    st->shape = shape;
    st->images = s[0].xu != NULL;
    size_t row = row_bytes(&s[0], &shape);
    int rc = NN_OK;
    nn_h5_split hs[3];
    for (int k = 0; k < ns && !rc; k++) {
        nn_convert_split_stats *ss = &st->split[k];
        snprintf(ss->name, sizeof ss->name, "%s", s[k].name);
        ss->n_read = s[k].n;
        size_t *orig = malloc(s[k].n * sizeof *orig), *in_ref = malloc(s[k].n * sizeof *in_ref);
        unsigned char *keep = malloc(s[k].n);
        const void *x = s[k].xu ? (const void *)s[k].xu : (const void *)s[k].xf;
        const void *ref = s[0].xu ? (const void *)s[0].xu : (const void *)s[0].xf;
        if (!orig || !in_ref || !keep)
            rc = nn_err(e, NN_ENOMEM, "%s: cannot allocate duplicate tables", out);
        if (!rc)
            rc = nn_find_duplicates(x, s[k].n, row, k ? ref : NULL, k ? s[0].n : 0, orig,
                                    k ? in_ref : NULL, &ss->n_dup, &ss->n_cross, e);
        for (size_t i = 0; !rc && i < s[k].n; i++) {
            if (s[k].y && orig[i] != SIZE_MAX && s[k].y[i] != s[k].y[orig[i]])
                ss->n_conflict++;
            keep[i] = !o || !o->dedupe || (orig[i] == SIZE_MAX && (!k || in_ref[i] == SIZE_MAX));
        }
        if (!rc)
            s[k].n = compact(&s[k], row, keep);
        ss->n_written = s[k].n;
        free(orig);
        free(in_ref);
        free(keep);
        hs[k] = (nn_h5_split){.name = s[k].name, .n = s[k].n, .shape = shape, .x_u8 = s[k].xu,
                              .x_f32 = s[k].xf, .y_label = s[k].y, .y_f32 = s[k].yf,
                              .ydim = s[k].y ? 1 : s[k].ydim};
    }
    int maxlab = -1;
    for (int k = 0; k < ns && !rc; k++)
        for (size_t i = 0; s[k].y && i < s[k].n; i++)
            if (s[k].y[i] > maxlab)
                maxlab = s[k].y[i];
    if (!rc && names && maxlab >= nnames)
        rc = nn_err(e, NN_EFORMAT, "%s: label %d found but only %d class names are known",
                    source, maxlab, nnames);
    st->nclasses = s[0].y ? (names ? nnames : maxlab + 1) : 0;
    nn_h5_meta m = {.source = source, .nclasses = names ? nnames : 0,
                    .class_names = names, .compress = o ? o->compress : 0};
    if (!rc)
        rc = nn_h5_write(out, hs, ns, &m, e);
    return rc;
}

void nn_conv_split_free(nn_conv_split *s, int ns)
{
    for (int k = 0; k < ns; k++) {
        free(s[k].xu);
        free(s[k].xf);
        free(s[k].y);
        free(s[k].yf);
        memset(&s[k], 0, sizeof s[k]);
    }
}

/* "<what> in /abs/dir" for the source attribute. */
static void source_of(const char *what, const char *dir, char *buf, size_t len)
{
    char *abs = realpath(dir, NULL);
    snprintf(buf, len, "%s in %s", what, abs ? abs : dir);
    free(abs);
}

/* ---- IDX ------------------------------------------------------------------ */

static int has_prefix_file(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    int found = 0;
    if (!d)
        return 0;
    for (struct dirent *de; !found && (de = readdir(d));)
        found = !strncmp(de->d_name, prefix, strlen(prefix));
    closedir(d);
    return found;
}

static int mentions_fashion(const char *path)
{
    for (const char *p = path; *p; p++) {
        const char *w = "fashion";
        size_t k = 0;
        while (w[k] && tolower((unsigned char)p[k]) == w[k])
            k++;
        if (!w[k])
            return 1;
    }
    return 0;
}

/* Reads an IDX split through nn_idx_open_dir (floats k/255) back into bytes. */
static int idx_split(const char *dir, const char *split, const char *name, nn_conv_split *s,
                     nn_shape *shape, nn_error *e)
{
    nn_dataset d;
    int rc = nn_idx_open_dir(dir, split, &d, e);
    if (rc)
        return rc;
    size_t per = nn_shape_size(&d.x_shape);
    float *xb = malloc(IDX_BLOCK * per * sizeof *xb), *yb = malloc(IDX_BLOCK * sizeof *yb);
    uint64_t *idx = malloc(IDX_BLOCK * sizeof *idx);
    s->name = name;
    s->n = d.n;
    s->xu = malloc(d.n * per);
    s->y = malloc(d.n * sizeof *s->y);
    if (!xb || !yb || !idx || !s->xu || !s->y)
        rc = nn_err(e, NN_ENOMEM, "%s: cannot allocate %zu images", d.source, d.n);
    for (size_t i0 = 0; !rc && i0 < d.n; i0 += IDX_BLOCK) {
        int cnt = d.n - i0 < IDX_BLOCK ? (int)(d.n - i0) : IDX_BLOCK;
        for (int i = 0; i < cnt; i++)
            idx[i] = i0 + (size_t)i;
        rc = d.read(&d, idx, cnt, xb, yb, e);
        for (size_t k = 0; !rc && k < (size_t)cnt * per; k++)
            s->xu[i0 * per + k] = (uint8_t)(xb[k] * 255.0f + 0.5f);
        for (int i = 0; !rc && i < cnt; i++)
            s->y[i0 + (size_t)i] = (int32_t)yb[i];
    }
    *shape = d.x_shape;
    nn_data_close(&d);
    free(xb);
    free(yb);
    free(idx);
    return rc;
}

int nn_convert_idx(const char *dir, const char *out, const nn_convert_opts *o,
                   nn_convert_stats *st, nn_error *e)
{
    if (!dir || !out)
        return nn_err(e, NN_EINVAL, "nn_convert_idx: need an input directory and an output");
    nn_conv_split s[2] = {{0}};
    nn_shape shape, tshape;
    int ns = 1;
    int rc = idx_split(dir, "train", "train", &s[0], &shape, e);
    if (!rc && (has_prefix_file(dir, "t10k-images") || has_prefix_file(dir, "t10k-labels"))) {
        rc = idx_split(dir, "t10k", "test", &s[1], &tshape, e);
        ns = 2;
        if (!rc && !nn_shape_eq(&shape, &tshape))
            rc = nn_err(e, NN_EFORMAT, "%s: t10k images are %dx%d but train images are %dx%d",
                        dir, tshape.d[0], tshape.d[1], shape.d[0], shape.d[1]);
    }
    const char *const *names = digit_names;
    int nnames = 10, maxlab = -1;
    for (int k = 0; k < ns && !rc; k++)
        for (size_t i = 0; i < s[k].n; i++)
            maxlab = s[k].y[i] > maxlab ? s[k].y[i] : maxlab;
    if (o && o->class_names) {
        names = o->class_names;
        nnames = o->nclass_names;
    } else if (maxlab >= 10) {
        names = NULL;   /* not MNIST-like: nclasses = max label + 1 */
    } else if (mentions_fashion(dir)) {
        names = fashion_names;
    }
    char source[1024];
    source_of("IDX files", dir, source, sizeof source);
    if (!rc)
        rc = nn_conv_finish(s, ns, shape, names, nnames, source, out, o, st, e);
    nn_conv_split_free(s, 2);
    return rc;
}

/* ---- CIFAR-10 ---------------------------------------------------------------- */

/* Appends the records of one batch file to s (NHWC from channel planes). */
static int cifar_file(const char *path, int nclasses, nn_conv_split *s, size_t *cap,
                      nn_error *e)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return nn_err(e, NN_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    uint8_t *rec = malloc(CIFAR_REC);
    int rc = NN_OK;
    if (!rec)
        rc = nn_err(e, NN_ENOMEM, "%s: cannot allocate a record", path);
    else if (fstat(fileno(f), &st) != 0)
        rc = nn_err(e, NN_EIO, "%s: cannot stat: %s", path, strerror(errno));
    else if (st.st_size == 0 || st.st_size % CIFAR_REC != 0 ||
             (size_t)st.st_size > CIFAR_MAX_BYTES)
        rc = nn_err(e, NN_EFORMAT, "%s: size %lld is not a positive multiple of %d bytes "
                    "(1 label byte + 3072 pixel bytes per image): truncated, or not a "
                    "CIFAR-10 binary batch?", path, (long long)st.st_size, CIFAR_REC);
    size_t nrec = rc ? 0 : (size_t)st.st_size / CIFAR_REC;
    if (!rc && s->n + nrec > *cap) {
        size_t ncap = s->n + nrec;
        uint8_t *x = realloc(s->xu, ncap * 3 * CIFAR_PIX);
        if (x)
            s->xu = x;
        int32_t *y = x ? realloc(s->y, ncap * sizeof *y) : NULL;
        if (y)
            s->y = y;
        if (!x || !y)
            rc = nn_err(e, NN_ENOMEM, "%s: cannot allocate %zu images", path, ncap);
        else
            *cap = ncap;
    }
    for (size_t r = 0; !rc && r < nrec; r++) {
        if (fread(rec, 1, CIFAR_REC, f) != CIFAR_REC) {
            rc = nn_err(e, NN_EIO, "%s: read error at record %zu: %s", path, r,
                        ferror(f) ? strerror(errno) : "unexpected end of file");
            break;
        }
        if (rec[0] >= nclasses) {
            rc = nn_err(e, NN_EFORMAT, "%s: record %zu (byte offset %zu) has label %d: "
                        "expected 0..%d (%s)", path, r, r * CIFAR_REC, rec[0], nclasses - 1,
                        nclasses == 10 ? "CIFAR-10; CIFAR-100 files are not supported"
                                       : "as many as batches.meta.txt names");
            break;
        }
        uint8_t *x = s->xu + s->n * 3 * CIFAR_PIX;
        for (int p = 0; p < CIFAR_PIX; p++)
            for (int c = 0; c < 3; c++)
                x[p * 3 + c] = rec[1 + c * CIFAR_PIX + p];
        s->y[s->n++] = rec[0];
    }
    free(rec);
    fclose(f);
    return rc;
}

/* Class names from batches.meta.txt (one per line; blank lines skipped). */
static int cifar_meta(const char *path, char ***names, int *n, nn_error *e)
{
    *names = NULL;
    *n = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? NN_OK : nn_err(e, NN_EIO, "%s: cannot open: %s", path,
                                                 strerror(errno));
    char line[256];
    int rc = NN_OK;
    while (!rc && fgets(line, sizeof line, f)) {
        size_t len = strlen(line);
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' '))
            line[--len] = 0;
        if (!len)
            continue;
        char **nv = *n < 1000 ? realloc(*names, (size_t)(*n + 1) * sizeof *nv) : NULL;
        if (!nv || !(nv[*n] = strdup(line))) {
            if (nv)
                *names = nv;
            rc = nn_err(e, NN_ENOMEM, "%s: too many class names", path);
            break;
        }
        *names = nv;
        (*n)++;
    }
    if (!rc && ferror(f))
        rc = nn_err(e, NN_EIO, "%s: read error", path);
    fclose(f);
    return rc;
}

int nn_convert_cifar10(const char *dir, const char *out, const nn_convert_opts *o,
                       nn_convert_stats *st, nn_error *e)
{
    if (!dir || !out)
        return nn_err(e, NN_EINVAL, "nn_convert_cifar10: need an input directory and an output");
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return nn_err(e, NN_EIO, "%s: %s", dir, stat(dir, &sb) ? strerror(errno) :
                      "not a directory (expected cifar-10-batches-bin/)");
    nn_conv_split s[2] = {{.name = "train"}, {.name = "test"}};
    size_t cap[2] = {0, 0};
    char path[4200], **meta = NULL;
    int nmeta = 0, found = 0;
    snprintf(path, sizeof path, "%s/batches.meta.txt", dir);
    int rc = cifar_meta(path, &meta, &nmeta, e);
    int ncls = meta ? nmeta : 10;
    for (int b = 1; b <= 5 && !rc; b++) {
        snprintf(path, sizeof path, "%s/data_batch_%d.bin", dir, b);
        if (access(path, F_OK) == 0) {
            found++;
            rc = cifar_file(path, ncls, &s[0], &cap[0], e);
        }
    }
    if (!rc && !found)
        rc = nn_err(e, NN_EIO, "%s: no data_batch_1.bin .. data_batch_5.bin: expected the "
                    "CIFAR-10 binary version (cifar-10-binary.tar.gz unpacks to "
                    "cifar-10-batches-bin/)", dir);
    int ns = 1;
    snprintf(path, sizeof path, "%s/test_batch.bin", dir);
    if (!rc && access(path, F_OK) == 0) {
        ns = 2;
        rc = cifar_file(path, ncls, &s[1], &cap[1], e);
    }
    char source[1024];
    source_of("CIFAR-10 binary batches", dir, source, sizeof source);
    if (!rc)
        rc = nn_conv_finish(s, ns, nn_shape3(CIFAR_SIDE, CIFAR_SIDE, 3),
                            meta ? (const char *const *)meta : cifar_names, meta ? nmeta : 10,
                            source, out, o, st, e);
    for (int i = 0; i < nmeta; i++)
        free(meta[i]);
    free(meta);
    nn_conv_split_free(s, 2);
    return rc;
}

/* ---- split ------------------------------------------------------------------- */

/* Copies rows sel[0..m) of l into a fresh split named name. */
static int gather(const nn_h5_loaded *l, const size_t *sel, size_t m, const char *name,
                  nn_conv_split *out, nn_error *e)
{
    const nn_h5_split *s = &l->s;
    size_t row = nn_shape_size(&s->shape) * (s->x_u8 ? 1 : sizeof(float));
    size_t yb = s->y_label ? sizeof(int32_t) : (size_t)s->ydim * sizeof(float);
    uint8_t *x = malloc(m * row + 1), *y = malloc(m * yb + 1);
    if (!x || !y) {
        free(x);
        free(y);
        return nn_err(e, NN_ENOMEM, "cannot allocate %zu samples for %s", m, name);
    }
    const uint8_t *sx = s->x_u8 ? s->x_u8 : (const uint8_t *)s->x_f32;
    const uint8_t *sy = s->y_label ? (const uint8_t *)s->y_label : (const uint8_t *)s->y_f32;
    for (size_t i = 0; i < m; i++) {
        memcpy(x + i * row, sx + sel[i] * row, row);
        memcpy(y + i * yb, sy + sel[i] * yb, yb);
    }
    *out = (nn_conv_split){.name = name, .n = m, .ydim = s->ydim};
    if (s->x_u8)
        out->xu = x;
    else
        out->xf = (float *)x;
    if (s->y_label)
        out->y = (int32_t *)y;
    else
        out->yf = (float *)y;
    return NN_OK;
}

int nn_split_file(const char *in, const char *train_out, const char *val_out,
                  double val_fraction, uint64_t seed, const nn_convert_opts *o,
                  nn_convert_stats *st, nn_error *e)
{
    if (!in || !train_out || !val_out)
        return nn_err(e, NN_EINVAL, "nn_split_file: need an input and two outputs");
    if (!strcmp(train_out, val_out))
        return nn_err(e, NN_EINVAL, "%s: the train and validation outputs must differ",
                      train_out);
    if (!(val_fraction > 0 && val_fraction < 1))
        return nn_err(e, NN_EINVAL, "validation fraction must be in (0, 1), got %g",
                      val_fraction);
    nn_h5_file f;
    int rc = nn_h5_load(in, &f, e);
    if (!rc && strcmp(f.split[0].name, "train") != 0)
        rc = nn_err(e, NN_EFORMAT, "%s: no /train split to split", in);
    if (rc) {
        nn_h5_file_free(&f);
        return rc;
    }
    const nn_h5_loaded *tr = &f.split[0];
    size_t n = tr->s.n, row = nn_shape_size(&tr->s.shape) * (tr->s.x_u8 ? 1 : sizeof(float));
    size_t *orig = malloc(n * sizeof *orig), *keep = malloc(n * sizeof *keep);
    uint64_t *perm = malloc(n * sizeof *perm);
    unsigned char *is_val = calloc(n, 1);
    size_t ndup = 0, m = 0, nval = 0;
    nn_conv_split out[3] = {{0}};
    if (!orig || !keep || !perm || !is_val)
        rc = nn_err(e, NN_ENOMEM, "%s: cannot allocate %zu-sample tables", in, n);
    if (!rc)
        rc = nn_find_duplicates(tr->x, n, row, NULL, 0, orig, NULL, &ndup, NULL, e);
    size_t nconflict = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        if (!(o && o->dedupe) || orig[i] == SIZE_MAX)
            keep[m++] = i;
        if (orig[i] != SIZE_MAX && tr->s.y_label && tr->s.y_label[i] != tr->s.y_label[orig[i]])
            nconflict++;
    }
    if (!rc) {
        nval = (size_t)llround(val_fraction * (double)m);
        if (nval < 1 || nval >= m)
            rc = nn_err(e, NN_EINVAL, "%s: %zu samples with validation fraction %g leave %zu "
                        "for validation and %zu for training: both need at least one", in, m,
                        val_fraction, nval, m - nval);
    }
    if (!rc) {
        nn_rng r = nn_rng_key(seed, 0x5911, 0, 0);
        nn_rng_permutation(&r, perm, m);
        for (size_t i = 0; i < nval; i++)
            is_val[perm[i]] = 1;
        size_t a = 0, b = 0;   /* rows keep their order: train in keep[0..), val after */
        for (size_t i = 0; i < m; i++)
            perm[is_val[i] ? m - nval + b++ : a++] = keep[i];
        for (size_t i = 0; i < m; i++)
            keep[i] = (size_t)perm[i];
        rc = gather(tr, keep, m - nval, "train", &out[0], e);
        if (!rc)
            rc = gather(tr, keep + m - nval, nval, "train", &out[1], e);
    }
    if (!rc && f.nsplits > 1) {
        size_t nt = f.split[1].s.n, *all = malloc(nt * sizeof *all);
        for (size_t i = 0; all && i < nt; i++)
            all[i] = i;
        rc = all ? gather(&f.split[1], all, nt, "test", &out[2], e)
                 : nn_err(e, NN_ENOMEM, "%s: cannot allocate %zu indices", in, nt);
        free(all);
    }
    char source[1400];
    snprintf(source, sizeof source, "%s; split of %s: validation fraction %g, seed %llu%s",
             f.source[0] ? f.source : "(unknown source)", in, val_fraction,
             (unsigned long long)seed, o && o->dedupe ? ", duplicates dropped" : "");
    const char *const *names = (const char *const *)f.class_names;
    nn_convert_opts wo = {.compress = o ? o->compress : 0};
    nn_convert_stats s1, s2;
    nn_conv_split pair[2] = {out[0], out[2]};
    if (!rc)
        rc = nn_conv_finish(&out[1], 1, tr->s.shape, names, f.nclass_names, source, val_out,
                            &wo, &s2, e);
    if (!rc) {
        rc = nn_conv_finish(pair, f.nsplits, tr->s.shape, names, f.nclass_names, source,
                            train_out, &wo, &s1, e);
        if (rc)
            unlink(val_out);
    }
    if (!rc && st) {
        /* Leak check: validation samples that also occur in the train output. */
        size_t *vin = malloc((out[1].n + 1) * sizeof *vin);
        size_t *vo = malloc((out[1].n + 1) * sizeof *vo);
        size_t ncross = 0;
        const void *vx = out[1].xu ? (const void *)out[1].xu : (const void *)out[1].xf;
        const void *tx = out[0].xu ? (const void *)out[0].xu : (const void *)out[0].xf;
        if (!vin || !vo)
            rc = nn_err(e, NN_ENOMEM, "cannot allocate the leak check");
        else
            rc = nn_find_duplicates(vx, out[1].n, row, tx, out[0].n, vo, vin, NULL, &ncross, e);
        free(vin);
        free(vo);
        memset(st, 0, sizeof *st);
        st->nsplits = 1 + f.nsplits;
        st->shape = tr->s.shape;
        st->nclasses = f.nclasses;
        st->images = tr->s.x_u8 != NULL;
        st->split[0] = s1.split[0];
        st->split[0].n_read = n;
        st->split[0].n_dup = ndup;
        st->split[0].n_conflict = nconflict;
        st->split[0].n_written = m - nval;
        st->split[1] = s2.split[0];
        snprintf(st->split[1].name, sizeof st->split[1].name, "val");
        st->split[1].n_cross = ncross;
        if (f.nsplits > 1)
            st->split[2] = s1.split[1];
    }
    nn_conv_split_free(out, 3);
    free(orig);
    free(keep);
    free(perm);
    free(is_val);
    nn_h5_file_free(&f);
    return rc;
}
