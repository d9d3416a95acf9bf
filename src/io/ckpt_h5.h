/* Internal HDF5 helpers of the checkpoint code (src/io/ckpt_h5.c): write
 * attributes and datasets as h5py (and so Keras) writes them, read back what
 * h5py wrote. Writers and the close return 0 or -1; readers 0 (read), 1
 * (absent) or -1 (error). The caller names the file and object in its
 * message. */
#ifndef NNTRAIN_IO_CKPT_H5_H
#define NNTRAIN_IO_CKPT_H5_H

#include <hdf5.h>
#include <stddef.h>

#include "nntrain/tensor.h"

/* Closes an id of any kind (file, group, dataset, attribute, space, type,
 * property list); 0 when id < 0. */
int ck_close_id(hid_t id);
void ck_free_strs(char **v, int n);
/* "(8, 16)", "(3,)", "()" into buf. */
const char *ck_shape_txt(int nd, const hsize_t *d, char *buf, size_t len);

/* Scalar variable-length string: h5py's str (utf8) or bytes (ASCII). */
int ck_put_str(hid_t loc, const char *name, const char *s, int utf8);
/* A name list as Keras's save_attributes_to_hdf5_group leaves it: fixed-length
 * null-padded strings, or for n == 0 the empty float64 array h5py makes of []. */
int ck_put_strs(hid_t loc, const char *name, const char *const *v, int n);
int ck_put_num(hid_t loc, const char *name, hid_t ftype, hid_t mtype, const void *v);
/* Dataset of nd (<= NN_MAX_DIMS + 1) dims in chunks of at most 1 MiB with a
 * Fletcher-32 checksum (contiguous when empty). With out, the open dataset
 * is returned there (to add attributes); else it is closed. */
int ck_put_data(hid_t loc, const char *name, int nd, const hsize_t *dims, hid_t ftype,
                hid_t mtype, size_t esize, const void *data, hid_t *out);

int ck_exists_attr(hid_t loc, const char *name);
int ck_exists_link(hid_t loc, const char *name);
/* A list attribute (fixed or variable length strings; an empty array of any
 * type is an empty list; Keras's name0, name1, ... chunks are joined). */
int ck_get_strs(hid_t loc, const char *name, char ***v, int *n);
/* A scalar string attribute -> malloc'd *out. */
int ck_get_str(hid_t loc, const char *name, char **out);
/* A scalar numeric attribute converted to mtype. */
int ck_get_num(hid_t loc, const char *name, hid_t mtype, void *out);
/* Opens a dataset and reports its rank (<= NN_MAX_DIMS + 1), dims and
 * class; *d is -1 on error. */
int ck_open_ds(hid_t loc, const char *name, hid_t *d, int *nd, hsize_t *dims,
               H5T_class_t *cls);

#endif
