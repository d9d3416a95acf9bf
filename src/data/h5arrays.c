/* nn_h5_write_arrays (h5data.h): named float32 arrays and one list of
 * strings in a plain HDF5 file, for other tools to read (nntrain explain
 * --raw). Built under a temporary name and renamed once HDF5 has closed it,
 * as nn_h5_write does. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "h5priv.h"
#include "nntrain/h5data.h"
#include "nntrain/tmpfile.h"

static int put_array(hid_t f, const nn_h5_array *a, const char *path, nn_error *e)
{
    hsize_t dims[NN_MAX_DIMS + 1];
    for (int i = 0; i < a->ndim; i++)
        dims[i] = (hsize_t)a->dims[i];
    hid_t sp = H5Screate_simple(a->ndim, dims, NULL), ds = H5I_INVALID_HID;
    int ok = sp >= 0 &&
             (ds = H5Dcreate2(f, a->name, H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT,
                              H5P_DEFAULT)) >= 0 &&
             H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, a->data) >= 0;
    if (ds >= 0 && H5Dclose(ds) < 0)
        ok = 0;
    if (sp >= 0)
        H5Sclose(sp);
    char why[256];
    return ok ? NN_OK : nn_err(e, NN_EIO, "%s: cannot write dataset '%s' (%s)", path, a->name,
                               nn_h5_why(why, sizeof why));
}

static int put_names(hid_t f, const char *name, const char *const *v, size_t n,
                     const char *path, nn_error *e)
{
    hsize_t dim = n;
    hid_t t = H5Tcopy(H5T_C_S1), sp = H5I_INVALID_HID, ds = H5I_INVALID_HID;
    int ok = t >= 0 && H5Tset_size(t, H5T_VARIABLE) >= 0 &&
             H5Tset_cset(t, H5T_CSET_UTF8) >= 0 && (sp = H5Screate_simple(1, &dim, NULL)) >= 0 &&
             (ds = H5Dcreate2(f, name, t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
             H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0;
    if (ds >= 0 && H5Dclose(ds) < 0)
        ok = 0;
    if (sp >= 0)
        H5Sclose(sp);
    if (t >= 0)
        H5Tclose(t);
    char why[256];
    return ok ? NN_OK : nn_err(e, NN_EIO, "%s: cannot write dataset '%s' (%s)", path, name,
                               nn_h5_why(why, sizeof why));
}

static int write_file(const char *tmp, const char *path, const nn_h5_array *a, int n,
                      const char *sname, const char *const *strings, size_t nstr, nn_error *e)
{
    char why[256];
    hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0)
        return nn_err(e, NN_EIO, "%s: cannot create '%s' (%s)", path, tmp,
                      nn_h5_why(why, sizeof why));
    int rc = NN_OK;
    for (int i = 0; !rc && i < n; i++)
        rc = put_array(f, &a[i], path, e);
    if (!rc && sname && nstr)
        rc = put_names(f, sname, strings, nstr, path, e);
    if (H5Fclose(f) < 0 && !rc)
        rc = nn_err(e, NN_EIO, "%s: cannot close '%s' (%s)", path, tmp, nn_h5_why(why, sizeof why));
    return rc;
}

typedef struct arrays_job {
    const char *path;
    const nn_h5_array *a;
    int n;
    const char *sname;
    const char *const *strings;
    size_t nstr;
} arrays_job;

static int arrays_job_run(const char *tmp, void *arg, nn_error *e)
{
    const arrays_job *j = arg;
    return write_file(tmp, j->path, j->a, j->n, j->sname, j->strings, j->nstr, e);
}

int nn_h5_write_arrays(const char *path, const nn_h5_array *a, int n, const char *sname,
                       const char *const *strings, size_t nstr, nn_error *e)
{
    for (int i = 0; i < n; i++)
        if (!a[i].name || !*a[i].name || a[i].ndim < 1 || a[i].ndim > NN_MAX_DIMS + 1)
            return nn_err(e, NN_EINVAL, "%s: array %d: a name and 1..%d dims are needed", path,
                          i, NN_MAX_DIMS + 1);
    nn_h5_quiet();
    arrays_job j = {path, a, n, sname, strings, nstr};
    return nn_h5_write_tmp(path, arrays_job_run, &j, e);
}
