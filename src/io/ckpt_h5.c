/* Small HDF5 helpers for checkpoint.c: attributes and datasets written the
 * way h5py (and so Keras) writes them, and read back whatever h5py wrote
 * (variable- or fixed-length strings, Keras's split name lists). Every
 * function checks every H5* return and closes what it opened. */
#define _POSIX_C_SOURCE 200809L
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/ckpt_h5.h"

#if H5_VERSION_GE(1, 12, 0)
#define VLEN_RECLAIM H5Treclaim
#else
#define VLEN_RECLAIM H5Dvlen_reclaim
#endif
#define CHUNK_BYTES (1u << 20)

/* Closes an id this file created (any kind); < 0 on failure, 0 if id < 0. */
int ck_close_id(hid_t id)
{
    if (id < 0)
        return 0;
    switch (H5Iget_type(id)) {
    case H5I_FILE: return H5Fclose(id);
    case H5I_GROUP: return H5Gclose(id);
    case H5I_DATASET: return H5Dclose(id);
    case H5I_ATTR: return H5Aclose(id);
    case H5I_DATASPACE: return H5Sclose(id);
    case H5I_DATATYPE: return H5Tclose(id);
    case H5I_GENPROP_LST: return H5Pclose(id);
    default: return -1;
    }
}

void ck_free_strs(char **v, int n)
{
    for (int i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

/* "(8, 16)" */
const char *ck_shape_txt(int nd, const hsize_t *d, char *buf, size_t len)
{
    size_t k = (size_t)snprintf(buf, len, "(");
    for (int i = 0; i < nd && k < len; i++)
        k += (size_t)snprintf(buf + k, len - k, "%s%llu", i ? ", " : "", (unsigned long long)d[i]);
    if (k < len)
        snprintf(buf + k, len - k, nd == 1 ? ",)" : ")");
    return buf;
}

/* ---- attribute and dataset writers (0 or -1) ------------------------- */

/* A scalar variable-length string, as h5py writes str (UTF-8) or bytes. */
int ck_put_str(hid_t loc, const char *name, const char *s, int utf8)
{
    hid_t t = H5Tcopy(H5T_C_S1), sp = -1, a = -1;
    int ok = t >= 0 && H5Tset_size(t, H5T_VARIABLE) >= 0 &&
             H5Tset_cset(t, utf8 ? H5T_CSET_UTF8 : H5T_CSET_ASCII) >= 0 &&
             (sp = H5Screate(H5S_SCALAR)) >= 0 &&
             (a = H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
             H5Awrite(a, t, &s) >= 0;
    ok &= ck_close_id(a) >= 0;
    ok &= ck_close_id(sp) >= 0;
    ok &= ck_close_id(t) >= 0;
    return ok ? 0 : -1;
}

/* A list of names as Keras's save_attributes_to_hdf5_group leaves it: a
 * fixed-length, null-padded string array, or for an empty list the empty
 * float64 array numpy makes of []. */
int ck_put_strs(hid_t loc, const char *name, const char *const *v, int n)
{
    size_t len = 1;
    for (int i = 0; i < n; i++)
        if (strlen(v[i]) > len)
            len = strlen(v[i]);
    hsize_t dims[1] = {(hsize_t)n};
    char *buf = n ? calloc((size_t)n, len) : NULL;
    hid_t t = n ? H5Tcopy(H5T_C_S1) : H5Tcopy(H5T_IEEE_F64LE), sp = -1, a = -1;
    int ok = (!n || buf) && t >= 0;
    for (int i = 0; ok && i < n; i++)
        memcpy(buf + (size_t)i * len, v[i], strlen(v[i]));
    if (ok && n)
        ok = H5Tset_size(t, len) >= 0 && H5Tset_strpad(t, H5T_STR_NULLPAD) >= 0;
    ok = ok && (sp = H5Screate_simple(1, dims, NULL)) >= 0 &&
         (a = H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
         (!n || H5Awrite(a, t, buf) >= 0);
    ok &= ck_close_id(a) >= 0;
    ok &= ck_close_id(sp) >= 0;
    ok &= ck_close_id(t) >= 0;
    free(buf);
    return ok ? 0 : -1;
}

int ck_put_num(hid_t loc, const char *name, hid_t ftype, hid_t mtype, const void *v)
{
    hid_t sp = H5Screate(H5S_SCALAR), a = -1;
    int ok = sp >= 0 && (a = H5Acreate2(loc, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
             H5Awrite(a, mtype, v) >= 0;
    ok &= ck_close_id(a) >= 0;
    ok &= ck_close_id(sp) >= 0;
    return ok ? 0 : -1;
}

/* A dataset in chunks of at most CHUNK_BYTES with a Fletcher-32 checksum
 * (contiguous when empty: chunks cannot be). */
int ck_put_data(hid_t loc, const char *name, int nd, const hsize_t *dims, hid_t ftype,
                    hid_t mtype, size_t esize, const void *data, hid_t *out)
{
    hsize_t chunk[NN_MAX_DIMS + 1], n = 1;
    for (int i = 0; i < nd; i++)
        n *= dims[i], chunk[i] = dims[i];
    hid_t sp = nd ? H5Screate_simple(nd, dims, NULL) : H5Screate(H5S_SCALAR);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE), d = -1;
    int ok = sp >= 0 && dcpl >= 0;
    if (ok && nd && n) {
        hsize_t bytes = n * esize;
        for (int k = 0; k < nd && bytes > CHUNK_BYTES; k++) {
            hsize_t rest = bytes / chunk[k], want = CHUNK_BYTES / rest;
            chunk[k] = want < 1 ? 1 : want < chunk[k] ? want : chunk[k];
            bytes = rest * chunk[k];
        }
        ok = H5Pset_chunk(dcpl, nd, chunk) >= 0 && H5Pset_fletcher32(dcpl) >= 0;
    }
    ok = ok && (d = H5Dcreate2(loc, name, ftype, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT)) >= 0 &&
         (!n || H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
    ok &= ck_close_id(dcpl) >= 0;
    ok &= ck_close_id(sp) >= 0;
    if (out && ok)
        *out = d;
    else
        ok &= ck_close_id(d) >= 0;
    return ok ? 0 : -1;
}

/* ---- readers: 0 = ok, 1 = absent, -1 = error ------------------------- */

int ck_exists_attr(hid_t loc, const char *name)
{
    htri_t r = H5Aexists(loc, name);
    return r < 0 ? -1 : r > 0;
}

int ck_exists_link(hid_t loc, const char *name)
{
    htri_t r = H5Lexists(loc, name, H5P_DEFAULT);
    return r < 0 ? -1 : r > 0;
}

/* n strings of an attribute (fixed or variable length; an empty array of
 * any type is an empty list). Appends to *v / *n. */
static int get_strs_one(hid_t a, char ***v, int *n)
{
    hid_t t = H5Aget_type(a), sp = H5Aget_space(a), mt = -1;
    hssize_t np = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    int ok = t >= 0 && np >= 0 && np < INT_MAX - *n;
    char *fixed = NULL, **vl = NULL;
    if (ok && np > 0) {
        char **nv = realloc(*v, (size_t)(*n + np) * sizeof *nv);
        ok = nv && H5Tget_class(t) == H5T_STRING;
        if (nv)
            *v = nv;
    }
    if (ok && np > 0) {
        htri_t isv = H5Tis_variable_str(t);
        size_t sz = H5Tget_size(t);
        ok = isv >= 0 && (mt = H5Tcopy(t)) >= 0;
        if (ok && isv) {
            ok = (vl = calloc((size_t)np, sizeof *vl)) && H5Aread(a, mt, vl) >= 0;
            for (hssize_t i = 0; ok && i < np; i++)
                ok = ((*v)[(*n)++] = strdup(vl[i] ? vl[i] : "")) != NULL;
            if (vl && VLEN_RECLAIM(mt, sp, H5P_DEFAULT, vl) < 0)
                ok = 0;
        } else if (ok) {
            ok = sz > 0 && (fixed = calloc((size_t)np, sz)) && H5Aread(a, mt, fixed) >= 0;
            for (hssize_t i = 0; ok && i < np; i++)
                ok = ((*v)[(*n)++] = strndup(fixed + (size_t)i * sz, sz)) != NULL;
        }
    }
    free(fixed);
    free(vl);
    ok &= ck_close_id(mt) >= 0;
    ok &= ck_close_id(sp) >= 0;
    ok &= ck_close_id(t) >= 0;
    return ok ? 0 : -1;
}

static int get_attr_strs(hid_t loc, const char *key, char ***v, int *n)
{
    hid_t a = H5Aopen(loc, key, H5P_DEFAULT);
    int rc = a >= 0 ? get_strs_one(a, v, n) : -1;
    if (ck_close_id(a) < 0)
        rc = -1;
    return rc;
}

/* A list attribute; Keras splits long ones into name0, name1, ...
 * (HDF5_OBJECT_HEADER_LIMIT). */
int ck_get_strs(hid_t loc, const char *name, char ***v, int *n)
{
    char key[80];
    *v = NULL;
    *n = 0;
    int ex = ck_exists_attr(loc, name);
    if (ex > 0 && !get_attr_strs(loc, name, v, n))
        return 0;
    for (int part = 0; ex == 0; part++) {
        snprintf(key, sizeof key, "%s%d", name, part);
        int ok = ck_exists_attr(loc, key);
        if (ok == 0)
            return part ? 0 : 1;
        if (ok < 0 || get_attr_strs(loc, key, v, n))
            break;
    }
    ck_free_strs(*v, *n);
    *v = NULL;
    *n = 0;
    return -1;
}

/* A scalar string attribute (variable or fixed length) -> malloc'd. */
int ck_get_str(hid_t loc, const char *name, char **out)
{
    char **v = NULL;
    int n = 0, ex = ck_exists_attr(loc, name);
    *out = NULL;
    if (ex <= 0)
        return ex < 0 ? -1 : 1;
    int rc = get_attr_strs(loc, name, &v, &n);
    if (!rc && n == 1) {
        *out = v[0];
        free(v);
        return 0;
    }
    ck_free_strs(v, n);
    return -1;
}

int ck_get_num(hid_t loc, const char *name, hid_t mtype, void *out)
{
    int ex = ck_exists_attr(loc, name);
    if (ex <= 0)
        return ex < 0 ? -1 : 1;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT), sp = a >= 0 ? H5Aget_space(a) : -1;
    int ok = sp >= 0 && H5Sget_simple_extent_npoints(sp) == 1 && H5Aread(a, mtype, out) >= 0;
    ok &= ck_close_id(sp) >= 0;
    ok &= ck_close_id(a) >= 0;
    return ok ? 0 : -1;
}

/* Opens a dataset and reports its rank, dims and class. */
int ck_open_ds(hid_t loc, const char *name, hid_t *d, int *nd, hsize_t *dims,
                   H5T_class_t *cls)
{
    hid_t sp = -1, t = -1;
    *d = H5Dopen2(loc, name, H5P_DEFAULT);
    int ok = *d >= 0 && (sp = H5Dget_space(*d)) >= 0 && (t = H5Dget_type(*d)) >= 0 &&
             (*nd = H5Sget_simple_extent_ndims(sp)) >= 0 && *nd <= NN_MAX_DIMS + 1 &&
             H5Sget_simple_extent_dims(sp, dims, NULL) >= 0 &&
             (*cls = H5Tget_class(t)) != H5T_NO_CLASS;
    ok &= ck_close_id(t) >= 0;
    ok &= ck_close_id(sp) >= 0;
    if (!ok) {
        ck_close_id(*d);
        *d = -1;
    }
    return ok ? 0 : -1;
}
