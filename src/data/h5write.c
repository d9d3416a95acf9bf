/* nn_h5_write: writes the nntrain HDF5 dataset schema (see h5data.h) from
 * splits held in memory. x is chunked by whole samples, so a rank that reads
 * a random batch touches only the chunks of its own samples. The file is built
 * under "<path>.tmp-<pid>" and renamed into place only after HDF5 has closed it
 * cleanly: a bad argument, a full disk or a crash never leaves a partial
 * dataset under the final name (and a failure removes the temporary file).
 * Also the small HDF5 helpers shared with h5read.c and convert.c (h5priv.h). */
#define _POSIX_C_SOURCE 200809L

#include "nntrain/h5data.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "h5priv.h"
#include "nntrain/tmpfile.h"

#define MAX_SPLITS 8
/* Chunks hold whole samples, at least CHUNK_MIN_BYTES of them: one image per
 * chunk (a random batch then reads exactly its own samples), but a 16-byte
 * Iris row per chunk would cost more in chunk index and calls than in data. */
#define CHUNK_MIN_BYTES 512

void nn_h5_quiet(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

typedef struct why_ctx {
    char *buf;
    size_t len;
} why_ctx;

static herr_t why_cb(unsigned n, const H5E_error2_t *err, void *data)
{
    why_ctx *c = data;
    if (n == 0 && err && err->desc && err->desc[0])
        snprintf(c->buf, c->len, "%s", err->desc);
    return 0;
}

const char *nn_h5_why(char *buf, size_t len)
{
    snprintf(buf, len, "no details");
    why_ctx c = {buf, len};
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, why_cb, &c);
    return buf;
}

const char *nn_h5_type_name(hid_t t, char *buf, size_t len)
{
    size_t bits = H5Tget_size(t) * 8;
    switch (H5Tget_class(t)) {
    case H5T_INTEGER:
        snprintf(buf, len, "%sint%zu", H5Tget_sign(t) == H5T_SGN_NONE ? "u" : "", bits);
        break;
    case H5T_FLOAT: snprintf(buf, len, "float%zu", bits); break;
    case H5T_STRING: snprintf(buf, len, "string"); break;
    case H5T_COMPOUND: snprintf(buf, len, "compound"); break;
    case H5T_ENUM: snprintf(buf, len, "enum (e.g. bool)"); break;
    case H5T_ARRAY: snprintf(buf, len, "array"); break;
    case H5T_VLEN: snprintf(buf, len, "variable-length sequence"); break;
    case H5T_OPAQUE: snprintf(buf, len, "opaque"); break;
    case H5T_REFERENCE: snprintf(buf, len, "reference"); break;
    case H5T_BITFIELD: snprintf(buf, len, "bitfield"); break;
    default: snprintf(buf, len, "unknown type"); break;
    }
    return buf;
}

/* Checks the arguments before anything touches the disk. */
static int check_args(const char *path, const nn_h5_split *s, int ns, const nn_h5_meta *m,
                      int *nclasses, nn_error *e)
{
    if (!path || !*path)
        return nn_err(e, NN_EINVAL, "nn_h5_write: empty output path");
    if (!s || ns < 1 || ns > MAX_SPLITS)
        return nn_err(e, NN_EINVAL, "%s: need 1 to %d splits, got %d", path, MAX_SPLITS, ns);
    if (m && (m->compress < 0 || m->compress > 9))
        return nn_err(e, NN_EINVAL, "%s: gzip level %d: expected 0..9", path, m->compress);
    int ncls = m ? m->nclasses : 0;
    if (ncls < 0 || (m && m->class_names && ncls == 0))
        return nn_err(e, NN_EINVAL, "%s: class_names given but nclasses is %d", path, ncls);
    for (int c = 0; m && m->class_names && c < ncls; c++)
        if (!m->class_names[c])
            return nn_err(e, NN_EINVAL, "%s: class name %d is NULL", path, c);
    int maxlab = -1;
    for (int k = 0; k < ns; k++) {
        const nn_h5_split *p = &s[k];
        const char *nm = p->name;
        if (!nm || !*nm || strchr(nm, '/') || strlen(nm) > 64)
            return nn_err(e, NN_EINVAL, "%s: split %d: bad name '%s': expected e.g. train or "
                          "test", path, k, nm ? nm : "(null)");
        if (p->n == 0)
            return nn_err(e, NN_EINVAL, "%s: split '%s' has no samples", path, nm);
        if (p->shape.n < 1 || p->shape.n > NN_MAX_DIMS)
            return nn_err(e, NN_EINVAL, "%s: split '%s': sample rank %d: expected 1..%d", path,
                          nm, p->shape.n, NN_MAX_DIMS);
        for (int i = 0; i < p->shape.n; i++)
            if (p->shape.d[i] < 1)
                return nn_err(e, NN_EINVAL, "%s: split '%s': sample dim %d is %d", path, nm,
                              i, p->shape.d[i]);
        if (!p->x_u8 == !p->x_f32 || !p->y_label == !p->y_f32)
            return nn_err(e, NN_EINVAL, "%s: split '%s': give exactly one of x_u8/x_f32 and "
                          "one of y_label/y_f32", path, nm);
        if (p->x_u8 && p->shape.n != 3)
            return nn_err(e, NN_EINVAL, "%s: split '%s': uint8 images need a (H, W, C) sample "
                          "shape, got rank %d", path, nm, p->shape.n);
        if (p->y_f32 && (p->ydim < 1 || ncls > 0))
            return nn_err(e, NN_EINVAL, "%s: split '%s': float targets need ydim >= 1 (got "
                          "%d) and nclasses 0 (got %d)", path, nm, p->ydim, ncls);
        size_t per = nn_shape_size(&p->shape);
        if (p->n > SIZE_MAX / 4 / per)
            return nn_err(e, NN_EINVAL, "%s: split '%s' too large", path, nm);
        if (k > 0 && (!nn_shape_eq(&p->shape, &s[0].shape) || !p->x_u8 != !s[0].x_u8 ||
                      !p->y_label != !s[0].y_label || (p->y_f32 && p->ydim != s[0].ydim)))
            return nn_err(e, NN_EINVAL, "%s: split '%s' differs from '%s' in sample shape or "
                          "x/y types", path, nm, s[0].name);
        for (int j = 0; j < k; j++)
            if (!strcmp(s[j].name, nm))
                return nn_err(e, NN_EINVAL, "%s: split name '%s' given twice", path, nm);
        for (size_t i = 0; p->y_label && i < p->n; i++) {
            int32_t l = p->y_label[i];
            if (l < 0 || (ncls > 0 && l >= ncls))
                return nn_err(e, NN_EINVAL, "%s: split '%s': label %d of sample %zu out of "
                              "range: expected 0..%d", path, nm, (int)l, i,
                              ncls > 0 ? ncls - 1 : INT_MAX);
            if (l > maxlab)
                maxlab = l;
        }
    }
    *nclasses = ncls > 0 ? ncls : maxlab + 1;
    return NN_OK;
}

/* Variable-length UTF-8 string attribute: a scalar (n == 0) or an array. */
static int put_strings(hid_t obj, const char *name, const char *const *v, size_t n,
                       const char *path, nn_error *e)
{
    hid_t t = H5Tcopy(H5T_C_S1), sp = H5I_INVALID_HID, a = H5I_INVALID_HID;
    hsize_t dim = n;
    int ok = t >= 0 && H5Tset_size(t, H5T_VARIABLE) >= 0 &&
             H5Tset_cset(t, H5T_CSET_UTF8) >= 0 &&
             (sp = n ? H5Screate_simple(1, &dim, NULL) : H5Screate(H5S_SCALAR)) >= 0 &&
             (a = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
             H5Awrite(a, t, v) >= 0;
    char why[256];
    if (!ok)
        nn_err(e, NN_EIO, "%s: cannot write attribute '%s' (%s)", path, name,
               nn_h5_why(why, sizeof why));
    if (a >= 0 && H5Aclose(a) < 0 && ok)
        ok = 0, nn_err(e, NN_EIO, "%s: cannot close attribute '%s'", path, name);
    if (sp >= 0)
        H5Sclose(sp);
    if (t >= 0)
        H5Tclose(t);
    return ok ? NN_OK : NN_EIO;
}

static int put_int(hid_t obj, const char *name, int v, const char *path, nn_error *e)
{
    hid_t sp = H5Screate(H5S_SCALAR), a = H5I_INVALID_HID;
    int ok = sp >= 0 &&
             (a = H5Acreate2(obj, name, H5T_STD_I32LE, sp, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
             H5Awrite(a, H5T_NATIVE_INT, &v) >= 0;
    if (a >= 0 && H5Aclose(a) < 0)
        ok = 0;
    if (sp >= 0)
        H5Sclose(sp);
    return ok ? NN_OK : nn_err(e, NN_EIO, "%s: cannot write attribute '%s'", path, name);
}

/* Writes one dataset: dims (n, per-sample dims...), chunked by whole samples
 * when chunk is set, gzip level gz (with the shuffle filter for floats). */
static int put_dataset(hid_t g, const char *name, const void *buf, hid_t ftype, hid_t mtype,
                       int rank, const hsize_t *dims, int chunk, int gz, const char *where,
                       hid_t *out, nn_error *e)
{
    hid_t sp = H5Screate_simple(rank, dims, NULL), pl = H5Pcreate(H5P_DATASET_CREATE);
    hid_t ds = H5I_INVALID_HID;
    int ok = sp >= 0 && pl >= 0 && H5Pset_obj_track_times(pl, 0) >= 0;
    if (ok && chunk) {
        hsize_t cd[NN_MAX_DIMS + 1];
        size_t row = H5Tget_size(ftype);
        for (int i = 1; i < rank; i++) {
            cd[i] = dims[i];
            row *= (size_t)dims[i];
        }
        hsize_t rows = row >= CHUNK_MIN_BYTES ? 1 : (CHUNK_MIN_BYTES + row - 1) / row;
        cd[0] = rows < dims[0] ? rows : dims[0];
        ok = H5Pset_chunk(pl, rank, cd) >= 0 &&
             (!gz || H5Tget_class(ftype) != H5T_FLOAT || H5Pset_shuffle(pl) >= 0) &&
             (!gz || H5Pset_deflate(pl, (unsigned)gz) >= 0);
    }
    ok = ok && (ds = H5Dcreate2(g, name, ftype, sp, H5P_DEFAULT, pl, H5P_DEFAULT)) >= 0 &&
         H5Dwrite(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0;
    char why[256];
    int rc = ok ? NN_OK : nn_err(e, NN_EIO, "cannot write dataset %s/%s (%s)", where, name,
                                 nn_h5_why(why, sizeof why));
    if (pl >= 0)
        H5Pclose(pl);
    if (sp >= 0)
        H5Sclose(sp);
    if (rc && ds >= 0)
        H5Dclose(ds);
    *out = rc ? H5I_INVALID_HID : ds;
    return rc;
}

static int write_split(hid_t f, const nn_h5_split *s, int gz, const char *path, nn_error *e)
{
    char where[80];
    snprintf(where, sizeof where, "/%s", s->name);
    hid_t gp = H5Pcreate(H5P_GROUP_CREATE), g = H5I_INVALID_HID;
    if (gp >= 0 && H5Pset_obj_track_times(gp, 0) >= 0)
        g = H5Gcreate2(f, s->name, H5P_DEFAULT, gp, H5P_DEFAULT);
    if (gp >= 0)
        H5Pclose(gp);
    if (g < 0) {
        char why[256];
        return nn_err(e, NN_EIO, "%s: cannot create group %s (%s)", path, where,
                      nn_h5_why(why, sizeof why));
    }
    hsize_t dims[NN_MAX_DIMS + 1] = {(hsize_t)s->n};
    for (int i = 0; i < s->shape.n; i++)
        dims[i + 1] = (hsize_t)s->shape.d[i];
    size_t bytes = s->n * nn_shape_size(&s->shape) * (s->x_u8 ? 1 : sizeof(float));
    const void *x = s->x_u8 ? (const void *)s->x_u8 : (const void *)s->x_f32;
    hid_t ds = H5I_INVALID_HID;
    int rc = put_dataset(g, "x", x, s->x_u8 ? H5T_STD_U8LE : H5T_IEEE_F32LE,
                         s->x_u8 ? H5T_NATIVE_UINT8 : H5T_NATIVE_FLOAT, s->shape.n + 1, dims,
                         1, gz, where, &ds, e);
    if (!rc) {
        char hex[17];
        const char *v = hex;
        snprintf(hex, sizeof hex, "%016llx", (unsigned long long)nn_fnv1a(NN_FNV_INIT, x, bytes));
        rc = put_strings(ds, "checksum", &v, 0, path, e);
        if (H5Dclose(ds) < 0 && !rc)
            rc = nn_err(e, NN_EIO, "%s: cannot close %s/x", path, where);
    }
    if (!rc) {
        hsize_t yd[2] = {(hsize_t)s->n, (hsize_t)s->ydim};
        rc = put_dataset(g, "y", s->y_label ? (const void *)s->y_label : (const void *)s->y_f32,
                         s->y_label ? H5T_STD_I32LE : H5T_IEEE_F32LE,
                         s->y_label ? H5T_NATIVE_INT32 : H5T_NATIVE_FLOAT, s->y_label ? 1 : 2,
                         yd, 0, 0, where, &ds, e);
        if (!rc && H5Dclose(ds) < 0)
            rc = nn_err(e, NN_EIO, "%s: cannot close %s/y", path, where);
    }
    if (rc && e && !strstr(e->msg, path))
        nn_err_prefix(e, "%s", path);
    if (H5Gclose(g) < 0 && !rc)
        rc = nn_err(e, NN_EIO, "%s: cannot close group %s", path, where);
    return rc;
}

static int write_file(const char *tmp, const char *path, const nn_h5_split *s, int ns,
                      const nn_h5_meta *m, int nclasses, nn_error *e)
{
    char why[256];
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    /* Closing the file also closes anything an error path left open. The
     * HDF5 1.10 format indexes the chunks of a fixed-size dataset with a
     * fixed array (one lookup per sample, half the read time of 1.8's
     * B-tree); such files need HDF5 >= 1.10 (h5py 3 has it). */
    if (fapl < 0 || H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0 ||
        H5Pset_libver_bounds(fapl, H5F_LIBVER_V110, H5F_LIBVER_V110) < 0) {
        if (fapl >= 0)
            H5Pclose(fapl);
        return nn_err(e, NN_EIO, "%s: cannot set up HDF5 file access", path);
    }
    /* No modification times (root group here, the others where created):
     * the same data gives a byte-identical file. */
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE), f = H5I_INVALID_HID;
    errno = 0;
    if (fcpl >= 0 && H5Pset_obj_track_times(fcpl, 0) >= 0)
        f = H5Fcreate(tmp, H5F_ACC_TRUNC, fcpl, fapl);
    int err = errno;
    nn_h5_why(why, sizeof why);   /* before the next call clears the stack */
    if (fcpl >= 0)
        H5Pclose(fcpl);
    H5Pclose(fapl);
    if (f < 0)
        return nn_err(e, NN_EIO, "%s: cannot create '%s': %s", path, tmp,
                      err ? strerror(err) : why);
    const char *fmt = NN_H5_FORMAT, *creator = "nntrain " NN_VERSION;
    int rc = put_strings(f, "format", &fmt, 0, path, e);
    if (!rc)
        rc = put_int(f, "version", NN_H5_VERSION, path, e);
    if (!rc)
        rc = put_strings(f, "creator", &creator, 0, path, e);
    if (!rc && m && m->source)
        rc = put_strings(f, "source", &m->source, 0, path, e);
    if (!rc && m && m->class_names)
        rc = put_strings(f, "class_names", m->class_names, (size_t)nclasses, path, e);
    for (int k = 0; !rc && k < ns; k++)
        rc = write_split(f, &s[k], m ? m->compress : 0, path, e);
    if (!rc && H5Fflush(f, H5F_SCOPE_GLOBAL) < 0)
        rc = nn_err(e, NN_EIO, "%s: cannot flush '%s' (%s)", path, tmp,
                    nn_h5_why(why, sizeof why));
    if (H5Fclose(f) < 0 && !rc)
        rc = nn_err(e, NN_EIO, "%s: cannot close '%s' (%s)", path, tmp,
                    nn_h5_why(why, sizeof why));
    return rc;
}

int nn_h5_write_tmp(const char *path, int (*write)(const char *tmp, void *arg, nn_error *e),
                    void *arg, nn_error *e)
{
    size_t len = strlen(path) + NN_TMP_EXTRA;
    char *tmp = malloc(len);
    if (!tmp)
        return nn_err(e, NN_ENOMEM, "%s: cannot allocate a path", path);
    nn_tmp_path(tmp, len, path);   /* fits: len has room for the suffix */
    int rc = write(tmp, arg, e);
    if (!rc && nn_tmp_commit(tmp, path))
        rc = nn_err(e, NN_EIO, "%s: cannot rename '%s' into place: %s", path, tmp,
                    strerror(errno));
    if (rc)
        nn_tmp_discard(tmp);
    free(tmp);
    return rc;
}

typedef struct write_job {
    const char *path;
    const nn_h5_split *splits;
    int nsplits, nclasses;
    const nn_h5_meta *meta;
} write_job;

static int write_job_run(const char *tmp, void *arg, nn_error *e)
{
    const write_job *j = arg;
    return write_file(tmp, j->path, j->splits, j->nsplits, j->meta, j->nclasses, e);
}

int nn_h5_write(const char *path, const nn_h5_split *splits, int nsplits,
                const nn_h5_meta *meta, nn_error *e)
{
    int nclasses = 0;
    int rc = check_args(path, splits, nsplits, meta, &nclasses, e);
    if (rc)
        return rc;
    nn_h5_quiet();
    write_job j = {path, splits, nsplits, nclasses, meta};
    return nn_h5_write_tmp(path, write_job_run, &j, e);
}
