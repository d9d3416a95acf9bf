/* Reading nntrain HDF5 datasets (schema in h5data.h; validation in
 * h5schema.c).
 *
 * nn_h5_open validates a split, keeps the file and dataset handles open, and
 * gathers only the requested samples: the indices are sorted, each run of
 * consecutive rows is read as one hyperslab into a staging buffer (a repeated
 * index once), and the rows are then placed back in request order (uint8
 * pixels scaled by 1/255). So a rank reads only its own shard of a batch.
 * Labels are small and checked at open, so they stay in memory; float
 * targets are gathered like x.
 *
 * nn_h5_load reads a whole file (every split, raw bytes) for inspect and
 * split. */
#define _POSIX_C_SOURCE 200809L

#include "nntrain/convert.h"
#include "nntrain/h5data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5priv.h"

#define CACHE_CHUNKS 4   /* chunk cache: a few samples; random reads rarely hit */

typedef struct ord {
    uint64_t idx;   /* requested sample */
    int pos;        /* position in the request */
    int u;          /* row in the staging buffer (duplicates share one) */
} ord;

typedef struct h5_priv {
    hid_t file;
    nn_h5_dsplit s;
    int32_t *labels;          /* (n) when y holds class labels */
    ord *ord;
    int ord_cap;
    void *buf;                /* staging rows, sorted and unique */
    size_t buf_cap;
} h5_priv;

/* ---- nn_h5_open: sharded reads ------------------------------------------ */

static int cmp_ord(const void *a, const void *b)
{
    const ord *x = a, *y = b;
    return x->idx < y->idx ? -1 : x->idx > y->idx ? 1 : (x->pos > y->pos) - (x->pos < y->pos);
}

/* Reads the unique rows of o[0..count) (sorted) of ds into buf (nu rows):
 * one regular hyperslab per run of consecutive rows, file and memory side.
 * (HDF5 1.10 maps an OR-union of runs onto a chunked dataset element by
 * element: 12-19 ms for a batch of 64 Fashion-MNIST images, against about
 * 0.4-0.7 ms for these per-run reads.) */
static int read_rows(hid_t ds, int rank, const hsize_t *dims, const ord *o, int count,
                     int nu, hid_t mtype, void *buf, const char *what, nn_dataset *d,
                     nn_error *e)
{
    hid_t fs = H5Dget_space(ds), ms = H5I_INVALID_HID;
    hsize_t start[NN_MAX_DIMS + 1] = {0}, mstart[NN_MAX_DIMS + 1] = {0};
    hsize_t cnt[NN_MAX_DIMS + 1], md[NN_MAX_DIMS + 1];
    for (int i = 1; i < rank; i++)
        cnt[i] = md[i] = dims[i];
    md[0] = (hsize_t)nu;
    int ok = fs >= 0 && (ms = H5Screate_simple(rank, md, NULL)) >= 0;
    for (int k = 0; ok && k < count;) {
        int j = k + 1;
        hsize_t len = 1;
        while (j < count && o[j].idx <= o[j - 1].idx + 1) {
            len += o[j].idx != o[j - 1].idx;
            j++;
        }
        start[0] = o[k].idx;
        mstart[0] = (hsize_t)o[k].u;
        cnt[0] = len;
        ok = H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, cnt, NULL) >= 0 &&
             H5Sselect_hyperslab(ms, H5S_SELECT_SET, mstart, NULL, cnt, NULL) >= 0 &&
             H5Dread(ds, mtype, ms, fs, H5P_DEFAULT, buf) >= 0;
        k = j;
    }
    char why[256];
    int rc = ok ? NN_OK : nn_err(e, NN_EIO, "%s/%s: cannot read %d samples (%s)", d->source,
                                 what, nu, nn_h5_why(why, sizeof why));
    nn_h5_close_id(&ms, H5Sclose);
    nn_h5_close_id(&fs, H5Sclose);
    return rc;
}

static int grow(void **p, size_t *cap, size_t want, nn_error *e, const char *src)
{
    if (want <= *cap)
        return NN_OK;
    void *n = realloc(*p, want);
    if (!n)
        return nn_err(e, NN_ENOMEM, "%s: cannot allocate %zu bytes for a batch", src, want);
    *p = n;
    *cap = want;
    return NN_OK;
}

static int h5_read(nn_dataset *d, const uint64_t *idx, int count, float *x, float *y,
                   nn_error *e)
{
    h5_priv *p = d->priv;
    int rc = nn_data_check_read(d, p ? p->s.n : 0, idx, count, e);
    if (rc || count == 0)
        return rc;
    nn_h5_quiet();
    const nn_h5_dsplit *s = &p->s;
    if (count > p->ord_cap) {
        size_t cap = (size_t)p->ord_cap * sizeof *p->ord;
        if ((rc = grow((void **)&p->ord, &cap, (size_t)count * sizeof *p->ord, e, d->source)))
            return rc;
        p->ord_cap = count;
    }
    for (int i = 0; i < count; i++)
        p->ord[i] = (ord){idx[i], i, 0};
    qsort(p->ord, (size_t)count, sizeof *p->ord, cmp_ord);
    int nu = 1;
    for (int k = 1; k < count; k++) {
        nu += p->ord[k].idx != p->ord[k - 1].idx;
        p->ord[k].u = nu - 1;
    }
    if (x) {
        size_t es = s->x_u8 ? 1 : sizeof(float), row = s->per * es;
        rc = grow(&p->buf, &p->buf_cap, (size_t)nu * row, e, d->source);
        if (!rc)
            rc = read_rows(s->x, s->x_rank, s->xd, p->ord, count, nu,
                           s->x_u8 ? H5T_NATIVE_UINT8 : H5T_NATIVE_FLOAT, p->buf, "x", d, e);
        if (rc)
            return rc;
        for (int k = 0; k < count; k++) {
            float *dst = x + (size_t)p->ord[k].pos * s->per;
            if (s->x_u8) {
                const uint8_t *src = (const uint8_t *)p->buf + (size_t)p->ord[k].u * s->per;
                for (size_t i = 0; i < s->per; i++)
                    dst[i] = (float)src[i] / 255.0f;
            } else {
                memcpy(dst, (const float *)p->buf + (size_t)p->ord[k].u * s->per,
                       s->per * sizeof(float));
            }
        }
    }
    if (y && p->labels) {
        for (int i = 0; i < count; i++)
            y[i] = (float)p->labels[idx[i]];
    } else if (y) {
        size_t row = (size_t)s->ydim * sizeof(float);
        rc = grow(&p->buf, &p->buf_cap, (size_t)nu * row, e, d->source);
        if (!rc)
            rc = read_rows(s->y, s->y_rank, s->yd, p->ord, count, nu, H5T_NATIVE_FLOAT, p->buf,
                           "y", d, e);
        if (rc)
            return rc;
        for (int k = 0; k < count; k++)
            memcpy(y + (size_t)p->ord[k].pos * s->ydim,
                   (const float *)p->buf + (size_t)p->ord[k].u * s->ydim, row);
    }
    return NN_OK;
}

static void h5_close(nn_dataset *d)
{
    h5_priv *p = d->priv;
    if (p) {
        nn_h5_close_split(&p->s);
        nn_h5_close_id(&p->file, H5Fclose);
        free(p->labels);
        free(p->ord);
        free(p->buf);
        free(p);
    }
    d->priv = NULL;
}

/* Reopens x with a chunk cache of a few chunks (the default 1 MiB cache
 * would hold hundreds of small samples that a random batch never reuses). */
static void set_chunk_cache(nn_h5_dsplit *s, size_t es)
{
    hid_t pl = H5Dget_create_plist(s->x), ap = H5I_INVALID_HID, x2 = H5I_INVALID_HID;
    hsize_t cd[NN_MAX_DIMS + 1];
    if (pl >= 0 && H5Pget_layout(pl) == H5D_CHUNKED &&
        H5Pget_chunk(pl, s->x_rank, cd) == s->x_rank) {
        size_t bytes = es;
        for (int i = 0; i < s->x_rank; i++)
            bytes *= (size_t)cd[i];
        ap = H5Pcreate(H5P_DATASET_ACCESS);
        if (ap >= 0 && H5Pset_chunk_cache(ap, 101, CACHE_CHUNKS * bytes, 1.0) >= 0 &&
            (x2 = H5Dopen2(s->g, "x", ap)) >= 0) {
            H5Dclose(s->x);
            s->x = x2;
        }
    }
    nn_h5_close_id(&ap, H5Pclose);
    nn_h5_close_id(&pl, H5Pclose);
}

int nn_h5_open(const char *path, const char *split, nn_dataset *d, nn_error *e)
{
    if (!d)
        return nn_err(e, NN_EINVAL, "nn_h5_open: dataset pointer is NULL");
    memset(d, 0, sizeof *d);
    if (!path || !split || !*split || strchr(split, '/'))
        return nn_err(e, NN_EINVAL, "nn_h5_open: need a path and a split name");
    h5_priv *p = calloc(1, sizeof *p);
    if (!p)
        return nn_err(e, NN_ENOMEM, "%s: cannot allocate dataset state", path);
    p->file = H5I_INVALID_HID;
    p->s.g = p->s.x = p->s.y = H5I_INVALID_HID;
    char format[64], **names = NULL;
    size_t nnames = 0;
    int version = 0, maxlab = -1;
    int rc = nn_h5_open_file(path, &p->file, e);
    if (!rc)
        rc = nn_h5_read_root(p->file, path, format, sizeof format, &version, &names, &nnames, e);
    nn_h5_free_strings(names, nnames);
    if (!rc)
        rc = nn_h5_open_split(p->file, path, split, &p->s, e);
    if (!rc && p->s.y_label)
        rc = nn_h5_read_labels(&p->s, path, split, (int)nnames, &p->labels, &maxlab, e);
    if (rc) {
        nn_dataset tmp = {.priv = p};
        h5_close(&tmp);
        return rc;
    }
    /* The writer's checksum of x identifies the data: a resumed job refuses
     * a file that changed since its checkpoint. */
    char sum[40] = "", where[64];
    snprintf(where, sizeof where, "/%s/x", split);
    if (nn_h5_get_string(p->s.x, "checksum", sum, sizeof sum, path, where, e) == NN_OK)
        d->checksum = strtoull(sum, NULL, 16);
    set_chunk_cache(&p->s, p->s.x_u8 ? 1 : sizeof(float));
    d->n = p->s.n;
    d->x_shape = p->s.shape;
    d->ydim = p->s.ydim;
    d->nclasses = p->s.y_label ? (nnames ? (int)nnames : maxlab + 1) : 0;
    snprintf(d->source, sizeof d->source, "%s:/%s", path, split);
    d->read = h5_read;
    d->close = h5_close;
    d->priv = p;
    return NN_OK;
}

/* ---- nn_h5_load: whole files -------------------------------------------- */

static void storage_info(const nn_h5_dsplit *s, nn_h5_loaded *l)
{
    hid_t pl = H5Dget_create_plist(s->x);
    hsize_t cd[NN_MAX_DIMS + 1];
    l->gzip = -1;
    if (pl < 0)
        return;
    if (H5Pget_layout(pl) == H5D_CHUNKED && H5Pget_chunk(pl, s->x_rank, cd) == s->x_rank)
        l->chunk0 = (unsigned long long)cd[0];
    int nf = H5Pget_nfilters(pl);
    for (int i = 0; i < nf; i++) {
        unsigned flags, cv[4] = {0};
        size_t ncv = 4;
        char nm[64];
        if (H5Pget_filter2(pl, (unsigned)i, &flags, &ncv, cv, sizeof nm, nm, NULL) ==
            H5Z_FILTER_DEFLATE)
            l->gzip = ncv > 0 ? (int)cv[0] : 0;
    }
    H5Pclose(pl);
}

static int load_split(hid_t f, const char *path, const char *split, int nclasses,
                      nn_h5_loaded *l, int *maxlab, nn_error *e)
{
    nn_h5_dsplit s;
    int rc = nn_h5_open_split(f, path, split, &s, e);
    if (rc)
        return rc;
    snprintf(l->name, sizeof l->name, "%s", split);
    memcpy(l->x_type, s.x_type, sizeof l->x_type);
    memcpy(l->y_type, s.y_type, sizeof l->y_type);
    l->x_rank = s.x_rank;
    l->y_rank = s.y_rank;
    storage_info(&s, l);
    char where[80], why[256];
    snprintf(where, sizeof where, "/%s/x", split);
    rc = nn_h5_get_string(s.x, "checksum", l->checksum, sizeof l->checksum, path, where, e);
    size_t es = s.x_u8 ? 1 : sizeof(float);
    if (!rc && s.n > SIZE_MAX / es / s.per)
        rc = nn_err(e, NN_ENOMEM, "%s: %s too large to load", path, where);
    if (!rc && !(l->x = malloc(s.n * s.per * es)))
        rc = nn_err(e, NN_ENOMEM, "%s: cannot allocate %zu bytes for %s", path,
                    s.n * s.per * es, where);
    if (!rc && H5Dread(s.x, s.x_u8 ? H5T_NATIVE_UINT8 : H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL,
                       H5P_DEFAULT, l->x) < 0)
        rc = nn_err(e, NN_EFORMAT, "%s: cannot read %s (%s)", path, where,
                    nn_h5_why(why, sizeof why));
    if (!rc && s.y_label) {
        int32_t *lab = NULL;
        rc = nn_h5_read_labels(&s, path, split, nclasses, &lab, maxlab, e);
        l->y = lab;
    } else if (!rc) {
        if (!(l->y = malloc(s.n * (size_t)s.ydim * sizeof(float))))
            rc = nn_err(e, NN_ENOMEM, "%s: cannot allocate /%s/y", path, split);
        else if (H5Dread(s.y, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, l->y) < 0)
            rc = nn_err(e, NN_EFORMAT, "%s: cannot read /%s/y (%s)", path, split,
                        nn_h5_why(why, sizeof why));
    }
    nn_h5_close_split(&s);
    if (rc)
        return rc;
    l->s = (nn_h5_split){.name = l->name, .n = s.n, .shape = s.shape, .ydim = s.ydim};
    if (s.x_u8)
        l->s.x_u8 = l->x;
    else
        l->s.x_f32 = l->x;
    if (s.y_label)
        l->s.y_label = l->y;
    else
        l->s.y_f32 = l->y;
    return NN_OK;
}

int nn_h5_load(const char *path, nn_h5_file *f, nn_error *e)
{
    if (!f)
        return nn_err(e, NN_EINVAL, "nn_h5_load: file pointer is NULL");
    memset(f, 0, sizeof *f);
    f->version = -1;
    if (!path)
        return nn_err(e, NN_EINVAL, "nn_h5_load: path is NULL");
    hid_t h = H5I_INVALID_HID;
    size_t nnames = 0;
    int rc = nn_h5_open_file(path, &h, e);
    if (!rc)
        rc = nn_h5_read_root(h, path, f->format, sizeof f->format, &f->version, &f->class_names,
                       &nnames, e);
    f->nclass_names = (int)nnames;
    if (!rc)
        rc = nn_h5_get_string(h, "source", f->source, sizeof f->source, path, "/", e);
    if (!rc)
        rc = nn_h5_get_string(h, "creator", f->creator, sizeof f->creator, path, "/", e);
    static const char *const names[2] = {"train", "test"};
    int maxlab = -1, any = 0;
    for (int k = 0; !rc && k < 2; k++) {
        if (!nn_h5_split_exists(h, names[k]))
            continue;
        any = 1;
        int mx = -1;
        rc = load_split(h, path, names[k], (int)nnames, &f->split[f->nsplits], &mx, e);
        if (!rc) {
            f->nsplits++;
            if (mx > maxlab)
                maxlab = mx;
        }
    }
    if (!rc && !any)   /* the error names what the file has instead */
        rc = nn_h5_open_split(h, path, "train", &(nn_h5_dsplit){0}, e);
    for (int k = 1; !rc && k < f->nsplits; k++) {
        const nn_h5_split *a = &f->split[0].s, *b = &f->split[k].s;
        if (!nn_shape_eq(&a->shape, &b->shape) || !a->x_u8 != !b->x_u8 ||
            !a->y_label != !b->y_label || a->ydim != b->ydim)
            rc = nn_err(e, NN_EFORMAT, "%s: /%s and /%s differ in sample shape or x/y types",
                        path, a->name, b->name);
    }
    nn_h5_close_id(&h, H5Fclose);
    if (!rc && f->nsplits)
        f->nclasses = f->split[0].s.y_label ? (nnames ? (int)nnames : maxlab + 1) : 0;
    return rc;
}

void nn_h5_file_free(nn_h5_file *f)
{
    if (!f)
        return;
    for (int k = 0; k < 2; k++) {
        free(f->split[k].x);
        free(f->split[k].y);
    }
    nn_h5_free_strings(f->class_names, (size_t)f->nclass_names);
    memset(f, 0, sizeof *f);
}
