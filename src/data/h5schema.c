/* Validation of the nntrain HDF5 dataset schema (h5data.h), shared by the
 * sharded reader and the whole-file loader (h5read.c). Every problem is
 * reported with the file and the dataset: a file that is missing, not HDF5
 * or truncated; a missing split, a missing or misshaped /split/x or /split/y,
 * wrong types, x/y count mismatch, labels out of range.
 * Files written by other tools (h5py) are accepted when they fit the layout:
 * the root "format" attribute is checked only when present, any integer type
 * is accepted for labels and any float type for features and targets (HDF5
 * converts them on reading). */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "h5priv.h"

void nn_h5_close_id(hid_t *id, herr_t (*fn)(hid_t))
{
    if (*id >= 0)
        fn(*id);
    *id = H5I_INVALID_HID;
}

void nn_h5_close_split(nn_h5_dsplit *s)
{
    nn_h5_close_id(&s->x, H5Dclose);
    nn_h5_close_id(&s->y, H5Dclose);
    nn_h5_close_id(&s->g, H5Gclose);
}

/* ---- file and attributes ------------------------------------------------ */

int nn_h5_open_file(const char *path, hid_t *out, nn_error *e)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return nn_err(e, NN_EIO, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return nn_err(e, NN_EIO, "%s: is a directory, expected an HDF5 file", path);
    nn_h5_quiet();
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0 || H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0) {
        if (fapl >= 0)
            H5Pclose(fapl);
        return nn_err(e, NN_EIO, "%s: cannot set up HDF5 file access", path);
    }
#if H5_VERSION_GE(1, 10, 7)
    /* Files are only ever replaced by rename, never written in place, so a
     * read needs no lock; cluster file systems without flock() then work. */
    H5Pset_file_locking(fapl, 0, 1);
#endif
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    char why[256];
    nn_h5_why(why, sizeof why);   /* before the next call clears the stack */
    H5Pclose(fapl);
    if (f >= 0) {
        *out = f;
        return NN_OK;
    }
    if (H5Fis_hdf5(path) <= 0)
        return nn_err(e, NN_EFORMAT, "%s: not an HDF5 file (no HDF5 signature; %lld bytes)",
                      path, (long long)st.st_size);
    return nn_err(e, NN_EFORMAT, "%s: cannot open HDF5 file, truncated or corrupt? (%s)",
                  path, why);
}

void nn_h5_free_strings(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

/* Reads string attribute name of obj (scalar or 1-D, fixed or variable
 * length) into *out (n malloc'ed strings); *out stays NULL if it is absent. */
static int get_strings(hid_t obj, const char *name, char ***out, size_t *n, const char *path,
                       const char *where, nn_error *e)
{
    *out = NULL;
    *n = 0;
    htri_t ex = H5Aexists(obj, name);
    if (ex <= 0)
        return ex < 0 ? nn_err(e, NN_EFORMAT, "%s: cannot query attribute %s of %s", path,
                               name, where) : NN_OK;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT), t = H5I_INVALID_HID, sp = H5I_INVALID_HID;
    hid_t mt = H5I_INVALID_HID;
    char tn[32] = "?", **v = NULL;
    hssize_t np = 0;
    int rc = NN_OK;
    if (a < 0 || (t = H5Aget_type(a)) < 0 || (sp = H5Aget_space(a)) < 0) {
        rc = nn_err(e, NN_EFORMAT, "%s: cannot open attribute %s of %s", path, name, where);
        goto done;
    }
    np = H5Sget_simple_extent_npoints(sp);
    int rank = H5Sget_simple_extent_ndims(sp);
    if (H5Tget_class(t) != H5T_STRING || np < 1 || np > 100000 || rank < 0 || rank > 1) {
        rc = nn_err(e, NN_EFORMAT, "%s: attribute %s of %s is %s with %lld values: expected "
                    "%s", path, name, where, nn_h5_type_name(t, tn, sizeof tn),
                    (long long)np, rank == 1 ? "a list of strings" : "a string");
        goto done;
    }
    v = calloc((size_t)np, sizeof *v);
    mt = H5Tcopy(H5T_C_S1);
    int var = H5Tis_variable_str(t) > 0;
    size_t sz = H5Tget_size(t);
    if (!v || mt < 0 || H5Tset_cset(mt, H5Tget_cset(t)) < 0 ||
        H5Tset_size(mt, var ? H5T_VARIABLE : sz + 1) < 0 ||
        (!var && H5Tset_strpad(mt, H5T_STR_NULLTERM) < 0)) {
        rc = nn_err(e, NN_ENOMEM, "%s: cannot read attribute %s of %s", path, name, where);
        goto done;
    }
    if (var) {
        char **raw = calloc((size_t)np, sizeof *raw);
        int ok = raw && H5Aread(a, mt, raw) >= 0;
        for (hssize_t i = 0; ok && i < np; i++)
            ok = (v[i] = strdup(raw[i] ? raw[i] : "")) != NULL;
        if (raw && ok)
            H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, raw);
        free(raw);
        if (!ok)
            rc = nn_err(e, NN_EFORMAT, "%s: cannot read attribute %s of %s", path, name, where);
    } else {
        char *raw = calloc((size_t)np, sz + 1);
        int ok = raw && H5Aread(a, mt, raw) >= 0;
        for (hssize_t i = 0; ok && i < np; i++)
            ok = (v[i] = strndup(raw + (size_t)i * (sz + 1), sz)) != NULL;
        free(raw);
        if (!ok)
            rc = nn_err(e, NN_EFORMAT, "%s: cannot read attribute %s of %s", path, name, where);
    }
    if (!rc) {
        *out = v;
        *n = (size_t)np;
        v = NULL;
    }
done:
    nn_h5_free_strings(v, np > 0 ? (size_t)np : 0);
    nn_h5_close_id(&mt, H5Tclose);
    nn_h5_close_id(&sp, H5Sclose);
    nn_h5_close_id(&t, H5Tclose);
    nn_h5_close_id(&a, H5Aclose);
    return rc;
}

/* One string attribute into buf ("" when absent). */
int nn_h5_get_string(hid_t obj, const char *name, char *buf, size_t len, const char *path,
                     const char *where, nn_error *e)
{
    char **v = NULL;
    size_t n = 0;
    buf[0] = 0;
    int rc = get_strings(obj, name, &v, &n, path, where, e);
    if (!rc && v && n != 1)
        rc = nn_err(e, NN_EFORMAT, "%s: attribute %s of %s holds %zu strings: expected one",
                    path, name, where, n);
    if (!rc && v)
        snprintf(buf, len, "%s", v[0]);
    nn_h5_free_strings(v, n);
    return rc;
}

/* Root attributes: format and version (checked when present), class_names. */
int nn_h5_read_root(hid_t f, const char *path, char *format, size_t flen, int *version,
                    char ***names, size_t *nnames, nn_error *e)
{
    int rc = nn_h5_get_string(f, "format", format, flen, path, "/", e);
    if (!rc && format[0] && strcmp(format, NN_H5_FORMAT) != 0)
        rc = nn_err(e, NN_EFORMAT, "%s: root attribute format is '%s': expected '%s'", path,
                    format, NN_H5_FORMAT);
    *version = -1;
    htri_t ex = rc ? 0 : H5Aexists(f, "version");
    if (ex > 0) {
        hid_t a = H5Aopen(f, "version", H5P_DEFAULT), t = a >= 0 ? H5Aget_type(a) : -1;
        int ok = t >= 0 && H5Tget_class(t) == H5T_INTEGER &&
                 H5Aread(a, H5T_NATIVE_INT, version) >= 0;
        nn_h5_close_id(&t, H5Tclose);
        nn_h5_close_id(&a, H5Aclose);
        if (!ok)
            rc = nn_err(e, NN_EFORMAT, "%s: root attribute version is not an integer", path);
        else if (*version > NN_H5_VERSION || *version < 1)
            rc = nn_err(e, NN_EFORMAT, "%s: schema version %d: this nntrain reads version %d "
                        "(upgrade nntrain)", path, *version, NN_H5_VERSION);
    }
    if (!rc)
        rc = get_strings(f, "class_names", names, nnames, path, "/", e);
    return rc;
}

int nn_h5_class_names(const char *path, char ***names, size_t *n, nn_error *e)
{
    *names = NULL;
    *n = 0;
    hid_t f;
    char fmt[64];
    int ver;
    int rc = nn_h5_open_file(path, &f, e);
    if (rc)
        return rc;
    rc = nn_h5_read_root(f, path, fmt, sizeof fmt, &ver, names, n, e);
    H5Fclose(f);
    return rc;
}

int nn_h5_kind(const char *path)
{
    hid_t f;
    nn_error ignore = {0};
    if (nn_h5_open_file(path, &f, &ignore))
        return NN_H5_UNREADABLE;
    int kind = NN_H5_OTHER;
    if (H5Aexists(f, "model_config") > 0 || H5Lexists(f, "model_weights", H5P_DEFAULT) > 0)
        kind = NN_H5_MODEL;
    else if (H5Aexists(f, "format") > 0 || H5Lexists(f, "train", H5P_DEFAULT) > 0 ||
             H5Lexists(f, "test", H5P_DEFAULT) > 0)
        kind = NN_H5_DATASET;
    H5Fclose(f);
    return kind;
}

/* ---- one split ---------------------------------------------------------- */

int nn_h5_split_exists(hid_t f, const char *split)
{
    return H5Lexists(f, split, H5P_DEFAULT) > 0;
}

static herr_t list_cb(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
    (void)g;
    (void)info;
    char *buf = data;
    size_t k = strlen(buf);
    if (k < 200)
        snprintf(buf + k, 256 - k, "%s/%s", k ? ", " : "", name);
    return 0;
}

/* Opens /split/name as a dataset, or says what is there instead. */
static int open_dataset(hid_t g, const char *name, const char *path, const char *split,
                        const char *expect, hid_t *out, nn_error *e)
{
    htri_t ex = H5Lexists(g, name, H5P_DEFAULT);
    if (ex <= 0)
        return nn_err(e, NN_EFORMAT, "%s: missing dataset /%s/%s: expected %s", path, split,
                      name, expect);
    hid_t o = H5Oopen(g, name, H5P_DEFAULT);
    if (o < 0 || H5Iget_type(o) != H5I_DATASET) {
        if (o >= 0)
            H5Oclose(o);
        return nn_err(e, NN_EFORMAT, "%s: /%s/%s is not a dataset: expected %s", path, split,
                      name, expect);
    }
    *out = o;
    return NN_OK;
}

static const char *dims_str(const hsize_t *d, int rank, char *buf, size_t len)
{
    size_t k = (size_t)snprintf(buf, len, "(");
    for (int i = 0; i < rank && k < len; i++)
        k += (size_t)snprintf(buf + k, len - k, "%s%llu", i ? ", " : "",
                              (unsigned long long)d[i]);
    if (k < len)
        snprintf(buf + k, len - k, "%s)", rank == 1 ? "," : "");
    return buf;
}

#define X_EXPECT "uint8 (N, H, W, C) images or float32 (N, F) features"
#define Y_EXPECT "int32 (N,) class labels or float32 (N, K) targets"

/* The type and shape of dataset d (/split/name): its type name into type,
 * *is_int (an integer type; u8_only: only uint8 counts), *rank and dims.
 * NN_EFORMAT naming expect unless it is such an integer or a float type
 * with 1..maxrank dimensions. */
static int read_layout(hid_t d, const char *path, const char *split, const char *name,
                       const char *expect, int u8_only, int maxrank, char *type, size_t tlen,
                       int *is_int, int *rank, hsize_t *dims, nn_error *e)
{
    hid_t t = H5Dget_type(d), sp = H5Dget_space(d);
    int rc = NN_OK;
    if (t < 0 || sp < 0) {
        rc = nn_err(e, NN_EFORMAT, "%s: cannot read type and shape of /%s/%s", path, split,
                    name);
        goto done;
    }
    nn_h5_type_name(t, type, tlen);
    H5T_class_t c = H5Tget_class(t);
    *is_int = c == H5T_INTEGER &&
              (!u8_only || (H5Tget_size(t) == 1 && H5Tget_sign(t) == H5T_SGN_NONE));
    if (!*is_int && c != H5T_FLOAT) {
        rc = nn_err(e, NN_EFORMAT, "%s: /%s/%s has type %s: expected %s", path, split, name,
                    type, expect);
        goto done;
    }
    *rank = H5Sget_simple_extent_ndims(sp);
    if (*rank < 1 || *rank > maxrank || H5Sget_simple_extent_dims(sp, dims, NULL) < 0)
        rc = nn_err(e, NN_EFORMAT, "%s: /%s/%s has %d dimensions: expected %s", path, split,
                    name, *rank, expect);
done:
    nn_h5_close_id(&sp, H5Sclose);
    nn_h5_close_id(&t, H5Tclose);
    return rc;
}

static int check_x(nn_h5_dsplit *s, const char *path, const char *split, nn_error *e)
{
    char ds[160];
    int rc = read_layout(s->x, path, split, "x", X_EXPECT, 1, NN_MAX_DIMS + 1, s->x_type,
                         sizeof s->x_type, &s->x_u8, &s->x_rank, s->xd, e);
    if (rc)
        return rc;
    dims_str(s->xd, s->x_rank, ds, sizeof ds);
    if (s->x_u8 && s->x_rank != 4)
        return nn_err(e, NN_EFORMAT, "%s: /%s/x is uint8 %s, %d-D: images must be 4-D "
                      "(N, H, W, C)%s", path, split, ds, s->x_rank,
                      s->x_rank == 3 ? "; add a channel axis, e.g. (N, H, W, 1) for grey" : "");
    if (!s->x_u8 && s->x_rank != 2 && s->x_rank != 4)
        return nn_err(e, NN_EFORMAT, "%s: /%s/x is %s %s: expected (N, F) features or "
                      "(N, H, W, C) images", path, split, s->x_type, ds);
    s->n = (size_t)s->xd[0];
    s->shape.n = s->x_rank - 1;
    s->per = 1;
    for (int i = 1; i < s->x_rank; i++) {
        if (s->xd[i] < 1 || s->xd[i] > (hsize_t)INT_MAX / 16 ||
            s->per > (size_t)INT_MAX / (size_t)s->xd[i])
            return nn_err(e, NN_EFORMAT, "%s: /%s/x has shape %s: bad sample size", path,
                          split, ds);
        s->shape.d[i - 1] = (int)s->xd[i];
        s->per *= (size_t)s->xd[i];
    }
    if (s->n == 0)
        return nn_err(e, NN_EFORMAT, "%s: /%s/x has shape %s: no samples", path, split, ds);
    return NN_OK;
}

static int check_y(nn_h5_dsplit *s, const char *path, const char *split, nn_error *e)
{
    char ds[160];
    int rc = read_layout(s->y, path, split, "y", Y_EXPECT, 0, 2, s->y_type, sizeof s->y_type,
                         &s->y_label, &s->y_rank, s->yd, e);
    if (rc)
        return rc;
    dims_str(s->yd, s->y_rank, ds, sizeof ds);
    s->ydim = s->y_rank == 2 ? (int)(s->yd[1] < 1 || s->yd[1] > 65536 ? 0 : s->yd[1]) : 1;
    if (s->ydim < 1 || (s->y_label && s->ydim != 1))
        return nn_err(e, NN_EFORMAT, "%s: /%s/y is %s %s: expected " Y_EXPECT, path, split,
                      s->y_type, ds);
    if ((size_t)s->yd[0] != s->n)
        return nn_err(e, NN_EFORMAT, "%s: /%s/x has %zu samples but /%s/y has %llu: the "
                      "counts must match", path, split, s->n, split,
                      (unsigned long long)s->yd[0]);
    /* Readers size whole-split buffers as n * per * 4 and n * ydim * 4
     * bytes: a dataspace can claim up to 2^64 rows without storing them. */
    if (s->n > SIZE_MAX / sizeof(float) / (s->per > (size_t)s->ydim ? s->per : (size_t)s->ydim))
        return nn_err(e, NN_EFORMAT, "%s: /%s/x has shape %s: too many samples to address",
                      path, split, dims_str(s->xd, s->x_rank, ds, sizeof ds));
    return NN_OK;
}

int nn_h5_open_split(hid_t f, const char *path, const char *split, nn_h5_dsplit *s,
                     nn_error *e)
{
    memset(s, 0, sizeof *s);
    s->g = s->x = s->y = H5I_INVALID_HID;
    if (!nn_h5_split_exists(f, split)) {
        char have[256] = "";
        hsize_t it = 0;
        H5Literate(f, H5_INDEX_NAME, H5_ITER_INC, &it, list_cb, have);
        return nn_err(e, NN_EFORMAT, "%s: no /%s split (the file has: %s)%s", path, split,
                      have[0] ? have : "nothing",
                      !strcmp(split, "test") ? "; pass a file with /test, or --no-test" : "");
    }
    s->g = H5Gopen2(f, split, H5P_DEFAULT);
    if (s->g < 0)
        return nn_err(e, NN_EFORMAT, "%s: /%s is not a group: expected /%s/x and /%s/y", path,
                      split, split, split);
    int rc = open_dataset(s->g, "x", path, split, X_EXPECT, &s->x, e);
    if (!rc)
        rc = check_x(s, path, split, e);
    if (!rc)
        rc = open_dataset(s->g, "y", path, split, Y_EXPECT, &s->y, e);
    if (!rc)
        rc = check_y(s, path, split, e);
    if (rc)
        nn_h5_close_split(s);
    return rc;
}

/* Reads all labels of s (any integer type, converted) and checks their range:
 * 0..nclasses-1 when class_names gave nclasses, else >= 0. */
int nn_h5_read_labels(const nn_h5_dsplit *s, const char *path, const char *split,
                      int nclasses, int32_t **out, int *maxlab, nn_error *e)
{
    int32_t *lab = malloc(s->n * sizeof *lab);
    if (!lab)
        return nn_err(e, NN_ENOMEM, "%s: cannot allocate %zu labels", path, s->n);
    char why[256];
    if (H5Dread(s->y, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, lab) < 0) {
        free(lab);
        return nn_err(e, NN_EFORMAT, "%s: cannot read /%s/y (%s)", path, split,
                      nn_h5_why(why, sizeof why));
    }
    int mx = -1;
    for (size_t i = 0; i < s->n; i++) {
        /* readers pass class indices as float: exact only below 2^24 */
        if (lab[i] < 0 || (nclasses > 0 && lab[i] >= nclasses) || lab[i] >= NN_H5_MAX_LABEL) {
            int l = lab[i];
            free(lab);
            if (l >= NN_H5_MAX_LABEL && (nclasses <= 0 || l < nclasses))
                return nn_err(e, NN_EFORMAT, "%s: /%s/y[%zu] = %d is out of range: class "
                              "labels must be below %d", path, split, i, l, NN_H5_MAX_LABEL);
            if (nclasses > 0)
                return nn_err(e, NN_EFORMAT, "%s: /%s/y[%zu] = %d is out of range: "
                              "class_names has %d classes (labels 0..%d)", path, split, i, l,
                              nclasses, nclasses - 1);
            return nn_err(e, NN_EFORMAT, "%s: /%s/y[%zu] = %d is out of range: labels must "
                          "be >= 0", path, split, i, l);
        }
        if (lab[i] > mx)
            mx = lab[i];
    }
    *out = lab;
    *maxlab = mx;
    return NN_OK;
}
