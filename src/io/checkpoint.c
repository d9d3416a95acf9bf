/* HDF5 checkpoints: the Keras 2 model.save layout plus nntrain's /nntrain
 * group (see include/nntrain/checkpoint.h). Every H5* return is checked and
 * every handle is closed on every path; HDF5's own error printing is off and
 * our messages name the file and the object. Writes go to
 * "<path>.tmp-<pid>" (HDF5 1.8 format: checksummed metadata, Fletcher-32 on
 * every dataset), are fsync'd and renamed; a failure removes the temp file.
 * Loads read into scratch buffers and change the model only on success. */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/ckpt_callbacks.h"
#include "io/ckpt_h5.h"
#include "io/keras_zip.h"
#include "nntrain/checkpoint.h"
#include "nntrain/keras.h"
#include "nntrain/tmpfile.h"

#define FORMAT_NAME "nntrain-checkpoint"
#define FORMAT_VERSION 1
#define KERAS_VERSION "2.11.0"
#define KERAS_BACKEND "tensorflow"
#define NSUMS (2 + NN_METRIC_MAX_SUMS)

/* Closes id; a failure becomes the error when there is none yet. */
static int closed(hid_t id, int rc, const char *path, nn_error *e)
{
    if (ck_close_id(id) < 0 && !rc)
        return nn_err(e, NN_EIO, "'%s': closing an HDF5 object failed", path);
    return rc;
}

/* ---- saving ---------------------------------------------------------- */

/* The Keras name of a weight. nn_param_spec.name holds 15 characters, so
 * the LSTM layer stands "rec_kernel:0" in for "recurrent_kernel:0". */
static const char *keras_wname(const char *spec_name)
{
    return !strcmp(spec_name, "rec_kernel:0") ? "recurrent_kernel:0" : spec_name;
}

typedef struct wctx {
    const char *path;
    nn_error *e;
} wctx;

static int werr(wctx *w, const char *what, const char *name)
{
    return nn_err(w->e, NN_EIO, "cannot write checkpoint '%s': %s '%s' failed", w->path, what,
                  name);
}

static int write_layer(hid_t mw, const nn_model *m, const nn_layer *l, wctx *w)
{
    nn_param_spec ps[NN_MAX_PARAM_SPECS];
    int np = l->ops->param_specs(l, ps), rc = NN_OK;
    char full[NN_MAX_PARAM_SPECS][112];
    const char *names[NN_MAX_PARAM_SPECS];
    for (int j = 0; j < np; j++) {
        snprintf(full[j], sizeof full[j], "%.63s/%.40s", l->name, keras_wname(ps[j].name));
        names[j] = full[j];
    }
    hid_t g = H5Gcreate2(mw, l->name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), sub = -1;
    if (g < 0)
        rc = werr(w, "creating group model_weights/", l->name);
    else if (ck_put_strs(g, "weight_names", names, np))
        rc = werr(w, "writing weight_names of", l->name);
    else if (np && (sub = H5Gcreate2(g, l->name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0)
        rc = werr(w, "creating the weights group of", l->name);
    for (int j = 0; j < np && !rc; j++) {
        hsize_t dims[NN_MAX_DIMS];
        for (int k = 0; k < ps[j].ndim; k++)
            dims[k] = (hsize_t)ps[j].dims[k];
        if (ck_put_data(sub, keras_wname(ps[j].name), ps[j].ndim, dims, H5T_IEEE_F32LE,
                     H5T_NATIVE_FLOAT, sizeof(float), m->params + l->param_off + ps[j].off, NULL))
            rc = werr(w, "writing dataset", full[j]);
    }
    rc = closed(sub, rc, w->path, w->e);
    return closed(g, rc, w->path, w->e);
}

static int write_keras(hid_t f, const nn_model *m, const char *mc, const char *tc, wctx *w)
{
    int rc = NN_OK;
    if (ck_put_str(f, "keras_version", KERAS_VERSION, 1) ||
        ck_put_str(f, "backend", KERAS_BACKEND, 1) ||
        ck_put_str(f, "model_config", mc, 0) || (tc && ck_put_str(f, "training_config", tc, 0)))
        return werr(w, "writing root attribute", "model_config");
    const char **names = calloc((size_t)m->nlayers + 1, sizeof *names);
    hid_t mw = H5Gcreate2(f, "model_weights", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), top = -1;
    for (int i = 0; names && i < m->nlayers; i++)
        names[i] = m->layers[i].name;
    if (!names)
        rc = nn_err(w->e, NN_ENOMEM, "out of memory");
    else if (mw < 0)
        rc = werr(w, "creating group", "model_weights");
    else if (ck_put_strs(mw, "layer_names", names, m->nlayers) ||
             ck_put_str(mw, "backend", KERAS_BACKEND, 0) ||
             ck_put_str(mw, "keras_version", KERAS_VERSION, 0))
        rc = werr(w, "writing the attributes of", "model_weights");
    for (int i = 0; i < m->nlayers && !rc; i++)
        rc = write_layer(mw, m, &m->layers[i], w);
    /* Keras >= 2.9 also writes the model's own (here: no) weights */
    if (!rc && ((top = H5Gcreate2(mw, "top_level_model_weights", H5P_DEFAULT, H5P_DEFAULT,
                                  H5P_DEFAULT)) < 0 ||
                ck_put_strs(top, "weight_names", NULL, 0)))
        rc = werr(w, "writing group", "model_weights/top_level_model_weights");
    rc = closed(top, rc, w->path, w->e);
    rc = closed(mw, rc, w->path, w->e);
    free(names);
    return rc;
}

static int write_nntrain(hid_t f, const nn_model *m, const char *spec, const nn_train_state *st,
                         const nn_history *h, wctx *w)
{
    nn_train_state zero;
    memset(&zero, 0, sizeof zero);
    if (!st)
        st = &zero;
    int32_t version = FORMAT_VERSION, epoch = st->epoch, has_best = st->has_best;
    int64_t step = st->step, it = m->optim.iterations;
    int rc = NN_OK;
    hid_t g = H5Gcreate2(f, "nntrain", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), og = -1, d = -1;
    if (g < 0)
        return werr(w, "creating group", "nntrain");
    if (ck_put_str(g, "format", FORMAT_NAME, 1) ||
        ck_put_num(g, "version", H5T_STD_I32LE, H5T_NATIVE_INT32, &version) ||
        (spec && ck_put_str(g, "spec", spec, 1)) ||
        ck_put_num(g, "epoch", H5T_STD_I32LE, H5T_NATIVE_INT32, &epoch) ||
        ck_put_num(g, "step", H5T_STD_I64LE, H5T_NATIVE_INT64, &step) ||
        ck_put_num(g, "iterations", H5T_STD_I64LE, H5T_NATIVE_INT64, &it) ||
        ck_put_num(g, "seed", H5T_STD_U64LE, H5T_NATIVE_UINT64, &st->seed) ||
        ck_put_num(g, "data_checksum", H5T_STD_U64LE, H5T_NATIVE_UINT64, &st->data_checksum) ||
        ck_put_str(g, "monitor", st->monitor, 1) ||
        ck_put_num(g, "best", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &st->best) ||
        ck_put_num(g, "has_best", H5T_STD_I32LE, H5T_NATIVE_INT32, &has_best))
        rc = werr(w, "writing the attributes of", "nntrain");
    int32_t det[2] = {st->deterministic, st->det_chunk};
    if (!rc && det[0] &&
        (ck_put_num(g, "deterministic", H5T_STD_I32LE, H5T_NATIVE_INT32, &det[0]) ||
         ck_put_num(g, "det_chunk", H5T_STD_I32LE, H5T_NATIVE_INT32, &det[1])))
        rc = werr(w, "writing the attributes of", "nntrain");
    hsize_t n = NSUMS;
    if (!rc && ck_put_data(g, "epoch_sums", 1, &n, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                           sizeof(double), st->epoch_sums, NULL))
        rc = werr(w, "writing dataset", "nntrain/epoch_sums");
    const nn_optim *o = &m->optim;
    int slots = o->nslots > 0 && o->n == m->nparams;
    for (int s = 0; s < o->nslots && s < NN_OPTIM_MAX_SLOTS; s++)
        slots = slots && o->slot[s];
    if (!rc && slots) {
        if ((og = H5Gcreate2(g, "optimizer", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
            ck_put_str(og, "optimizer", nn_optim_names[o->kind], 1))
            rc = werr(w, "writing group", "nntrain/optimizer");
        for (int s = 0; s < o->nslots && !rc; s++) {
            char name[16];
            hsize_t P = m->nparams;
            snprintf(name, sizeof name, "slot%d", s);
            if (ck_put_data(og, name, 1, &P, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, sizeof(float),
                         o->slot[s], NULL))
                rc = werr(w, "writing dataset nntrain/optimizer/", name);
        }
    }
    if (!rc && h && h->ncols > 0) {
        hsize_t dims[2] = {(hsize_t)h->epochs, (hsize_t)h->ncols};
        const char *cols[NN_HIST_MAX_COLS];
        for (int c = 0; c < h->ncols && c < NN_HIST_MAX_COLS; c++)
            cols[c] = h->cols[c];
        if (h->ncols > NN_HIST_MAX_COLS || h->epochs < 0 || (h->epochs && !h->vals))
            rc = nn_err(w->e, NN_EINVAL, "cannot write checkpoint '%s': bad history (%d epochs, "
                        "%d columns)", w->path, h->epochs, h->ncols);
        else if (ck_put_data(g, "history", 2, dims, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                          sizeof(double), h->vals, &d) ||
                 ck_put_strs(d, "columns", cols, h->ncols))
            rc = werr(w, "writing dataset", "nntrain/history");
    }
    if (!rc && st->cb && st->cb->started && ck_put_callbacks(g, st->cb))
        rc = werr(w, "writing group", "nntrain/callbacks");
    rc = closed(d, rc, w->path, w->e);
    rc = closed(og, rc, w->path, w->e);
    return closed(g, rc, w->path, w->e);
}

/* Flushes a closed file to disk before the rename makes it visible. */
static int sync_file(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    return close(fd) || rc ? -1 : 0;
}

int nn_ckpt_save(const char *path, const nn_model *m, const char *spec_text,
                 const nn_train_state *st, const nn_history *h, nn_error *e)
{
    (void)H5Eset_auto2(H5E_DEFAULT, NULL, NULL);   /* our messages instead */
    wctx w = {path, e};
    for (int i = 0; i < m->nlayers; i++) {
        const char *nm = m->layers[i].name;
        if (!nm[0] || strchr(nm, '/') || !strcmp(nm, ".") || !strcmp(nm, "top_level_model_weights"))
            return nn_err(e, NN_EINVAL, "cannot save checkpoint '%s': layer name '%s' cannot be "
                          "an HDF5 group name", path, nm);
    }
    char *mc = nn_model_to_keras_json(m, spec_text, e), *tc = NULL;
    if (!mc)
        return nn_err_prefix(e, "cannot save checkpoint '%s'", path);
    if (m->compiled && !(tc = nn_model_training_config_json(m, e))) {
        free(mc);
        return nn_err_prefix(e, "cannot save checkpoint '%s'", path);
    }
    char tmp[NN_TMP_NAME_MAX];
    int rc = NN_OK;
    if (nn_tmp_path(tmp, sizeof tmp, path))
        rc = nn_err(e, NN_EINVAL, "checkpoint path '%.200s...' is too long", path);
    hid_t fapl = rc ? -1 : H5Pcreate(H5P_FILE_ACCESS), f = -1;
    if (!rc && (fapl < 0 || H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18) < 0 ||
                H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0))
        rc = nn_err(e, NN_EIO, "cannot save checkpoint '%s': HDF5 file properties failed", path);
    if (!rc) {
        errno = 0;
        f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
        if (f < 0)
            rc = nn_err(e, NN_EIO, "cannot create checkpoint '%s' (as '%s'): %s", path, tmp,
                        errno ? strerror(errno) : "HDF5 error");
    }
    int created = f >= 0;
    if (!rc)
        rc = write_keras(f, m, mc, tc, &w);
    if (!rc && st && st->class_names && st->nclass_names > 0 &&
        ck_put_strs(f, "class_names", st->class_names, st->nclass_names))
        rc = werr(&w, "writing root attribute", "class_names");
    if (!rc && (spec_text || st || h))
        rc = write_nntrain(f, m, spec_text, st, h, &w);
    if (ck_close_id(f) < 0 && !rc)
        rc = nn_err(e, NN_EIO, "cannot write checkpoint '%s': closing the file failed (disk "
                    "full?)", tmp);
    if (ck_close_id(fapl) < 0 && !rc)
        rc = nn_err(e, NN_EIO, "cannot save checkpoint '%s': HDF5 error", path);
    if (!rc && sync_file(tmp))
        rc = nn_err(e, NN_EIO, "cannot sync checkpoint '%s': %s", tmp, strerror(errno));
    if (!rc && nn_tmp_commit(tmp, path))
        rc = nn_err(e, NN_EIO, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
    if (rc && created)
        nn_tmp_discard(tmp);
    free(mc);
    free(tc);
    return rc;
}

/* ---- loading --------------------------------------------------------- */

static int open_ro(const char *path, hid_t *f, nn_error *e)
{
    struct stat sb;
    (void)H5Eset_auto2(H5E_DEFAULT, NULL, NULL);   /* our messages instead */
    *f = -1;
    if (stat(path, &sb))
        return nn_err(e, NN_EIO, "cannot open checkpoint '%s': %s", path, strerror(errno));
    if (S_ISDIR(sb.st_mode))
        return nn_err(e, NN_EIO, "cannot open checkpoint '%s': it is a directory", path);
    if (H5Fis_hdf5(path) <= 0) {
        size_t n = strlen(path);
        if (n > 6 && !strcmp(path + n - 6, ".keras"))
            return nn_err(e, NN_EFORMAT, "'%s' is neither a Keras .keras zip nor an HDF5 file "
                          "(truncated or corrupt?)", path);
        return nn_err(e, NN_EFORMAT, "'%s' is not an HDF5 file (truncated or corrupt?)", path);
    }
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl >= 0 && H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) >= 0)
        *f = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    int rc = *f < 0 ? nn_err(e, NN_EFORMAT, "cannot open checkpoint '%s': the HDF5 file is "
                             "truncated or corrupt", path) : NN_OK;
    if ((rc = closed(fapl, rc, path, e)) && *f >= 0) {
        ck_close_id(*f);   /* already failing */
        *f = -1;
    }
    return rc;
}

/* "kernel:0" from "dense/kernel:0" (or "dense/kernel_1:0"): the weight's role. */
static int same_role(const char *file_name, const char *spec_name)
{
    const char *b = strrchr(file_name, '/');
    b = b ? b + 1 : file_name;
    size_t n = strcspn(b, ":"), k = strcspn(spec_name, ":");
    if (n >= k && !strncmp(b, spec_name, k)) {
        const char *r = b + k;   /* "" or "_<digits>" */
        if (r == b + n)
            return 1;
        if (*r == '_' && r + 1 < b + n && strspn(r + 1, "0123456789") >= (size_t)(b + n - r - 1))
            return 1;
    }
    return 0;
}

/* Weights of one layer into buf (the model's flat layout). */
static int read_layer(hid_t mw, const char *path, const nn_layer *l, float *buf, nn_error *e)
{
    nn_param_spec ps[NN_MAX_PARAM_SPECS];
    int np = l->ops->param_specs(l, ps), nw = 0, rc = NN_OK;
    char **wn = NULL, s1[96], s2[96];
    hid_t g = H5Gopen2(mw, l->name, H5P_DEFAULT), d = -1;
    if (g < 0 || ck_get_strs(g, "weight_names", &wn, &nw) < 0)
        rc = nn_err(e, NN_EFORMAT, "'%s': layer '%s': cannot read its weight_names attribute",
                    path, l->name);
    else if (nw != np)
        rc = nn_err(e, NN_EFORMAT, "'%s': layer '%s' (%s): the file has %d weights (%s%s), the "
                    "model expects %d (%s%s)", path, l->name, l->ops->kind, nw,
                    nw ? wn[0] : "", nw > 1 ? ", ..." : "", np, keras_wname(ps[0].name),
                    np > 1 ? ", ..." : "");
    for (int j = 0; j < np && !rc; j++) {
        int nd = 0;
        hsize_t dims[NN_MAX_DIMS + 1], want[NN_MAX_DIMS];
        H5T_class_t cls;
        for (int k = 0; k < ps[j].ndim; k++)
            want[k] = (hsize_t)ps[j].dims[k];
        int same = 1;
        const char *kn = keras_wname(ps[j].name);
        if (!same_role(wn[j], kn))
            rc = nn_err(e, NN_EFORMAT, "'%s': layer '%s' (%s): weight %d is '%s', expected %s",
                        path, l->name, l->ops->kind, j, wn[j], kn);
        else if (ck_open_ds(g, wn[j], &d, &nd, dims, &cls))
            rc = nn_err(e, NN_EFORMAT, "'%s': layer '%s' (%s): weight '%s' is missing or "
                        "unreadable", path, l->name, l->ops->kind, wn[j]);
        else if (cls != H5T_FLOAT)
            rc = nn_err(e, NN_EFORMAT, "'%s': layer '%s' (%s): weight '%s' is not floating point",
                        path, l->name, l->ops->kind, wn[j]);
        for (int k = 0; !rc && k < ps[j].ndim; k++)
            same = same && k < nd && dims[k] == want[k];
        if (!rc && (!same || nd != ps[j].ndim))
            rc = nn_err(e, NN_EFORMAT, "'%s': layer '%s' (%s): %s has shape %s in the file, the "
                        "model expects %s", path, l->name, l->ops->kind, kn,
                        ck_shape_txt(nd, dims, s1, sizeof s1),
                        ck_shape_txt(ps[j].ndim, want, s2, sizeof s2));
        if (!rc && H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                           buf + l->param_off + ps[j].off) < 0)
            rc = nn_err(e, NN_EFORMAT, "'%s': layer '%s' (%s): cannot read weight '%s': the data "
                        "is corrupt (checksum mismatch) or unreadable", path, l->name,
                        l->ops->kind, wn[j]);
        rc = closed(d, rc, path, e);
        d = -1;
    }
    rc = closed(g, rc, path, e);
    ck_free_strs(wn, nw);
    return rc;
}

/* Loads by layer name from an open file. strict: every weighted layer of
 * the file must be in the model too (the file describes this model). */
static int load_weights_f(hid_t f, const char *path, nn_model *m, int allow_missing, int strict,
                          nn_error *e)
{
    int rc = NN_OK, nn = 0, ex = ck_exists_link(f, "model_weights");
    char **names = NULL;
    /* model.save files keep the weights in model_weights; save_weights files at the root */
    hid_t mw = ex < 0 ? -1 : H5Gopen2(f, ex ? "model_weights" : "/", H5P_DEFAULT);
    float *buf = malloc((m->nparams ? m->nparams : 1) * sizeof *buf);
    if (!buf)
        rc = nn_err(e, NN_ENOMEM, "out of memory loading '%s'", path);
    else if (mw < 0)
        rc = nn_err(e, NN_EFORMAT, "'%s': cannot open group model_weights", path);
    else if (ck_get_strs(mw, "layer_names", &names, &nn))
        rc = nn_err(e, NN_EFORMAT, "'%s': no readable layer_names attribute on model_weights "
                    "(not a Keras or nntrain model file)", path);
    if (!rc)
        memcpy(buf, m->params, m->nparams * sizeof *buf);
    for (int i = 0; i < m->nlayers && !rc; i++) {
        const nn_layer *l = &m->layers[i];
        nn_param_spec ps[NN_MAX_PARAM_SPECS];
        if (!l->ops->param_specs(l, ps))
            continue;
        int found = 0;
        for (int k = 0; k < nn && !found; k++)
            found = !strcmp(names[k], l->name);
        if (!found && !allow_missing) {
            char list[300] = "";
            for (int k = 0, len = 0; k < nn && len < (int)sizeof list - 80; k++)
                len += snprintf(list + len, sizeof list - (size_t)len, "%s%s", k ? ", " : "",
                                names[k]);
            rc = nn_err(e, NN_EFORMAT, "'%s': layer '%s' (%s) is not in the file (its layers: %s)",
                        path, l->name, l->ops->kind, list);
        } else if (found) {
            rc = read_layer(mw, path, l, buf, e);
        }
    }
    for (int k = 0; k < nn && !rc && strict; k++) {
        int inmodel = 0, nw = 0;
        for (int i = 0; i < m->nlayers && !inmodel; i++)
            inmodel = !strcmp(names[k], m->layers[i].name);
        if (inmodel)
            continue;
        char **wn = NULL;
        hid_t g = H5Gopen2(mw, names[k], H5P_DEFAULT);
        if (g < 0 || ck_get_strs(g, "weight_names", &wn, &nw) < 0)
            rc = nn_err(e, NN_EFORMAT, "'%s': layer '%s' is listed in layer_names but its group is "
                        "missing or unreadable", path, names[k]);
        else if (nw)
            rc = nn_err(e, NN_EFORMAT, "'%s': the file has weights for layer '%s', which the model "
                        "does not have", path, names[k]);
        rc = closed(g, rc, path, e);
        ck_free_strs(wn, nw);
    }
    if (!rc)
        memcpy(m->params, buf, m->nparams * sizeof *buf);
    free(buf);
    ck_free_strs(names, nn);
    return closed(mw, rc, path, e);
}

/* The spec of an open file: /nntrain spec, else from the Keras configs. */
static int file_spec(hid_t f, const char *path, nn_spec *s, char **model_name, nn_error *e)
{
    char where[PATH_MAX + 32], *text = NULL, *mc = NULL, *tc = NULL;
    int rc = NN_OK, ex = ck_exists_link(f, "nntrain");
    hid_t g = ex > 0 ? H5Gopen2(f, "nntrain", H5P_DEFAULT) : -1;
    if (ex < 0 || (ex > 0 && g < 0))
        rc = nn_err(e, NN_EFORMAT, "'%s': cannot open group /nntrain", path);
    int got = rc || g < 0 ? 1 : ck_get_str(g, "spec", &text);
    if ((rc = closed(g, rc, path, e))) {
        free(text);
        return rc;
    }
    if (!rc && got < 0)
        rc = nn_err(e, NN_EFORMAT, "'%s': cannot read attribute /nntrain spec", path);
    if (!rc && got == 0) {
        snprintf(where, sizeof where, "%s:/nntrain/spec", path);
        rc = nn_spec_parse(text, where, s, e);
        free(text);
        return rc;
    }
    if (!rc && (got = ck_get_str(f, "model_config", &mc)) != 0)
        rc = nn_err(e, NN_EFORMAT, "'%s': %s", path, got < 0 ? "cannot read attribute model_config"
                    : "no nntrain spec and no Keras model_config attribute: not a model file "
                    "(a weights-only file needs nn_ckpt_load_weights)");
    if (!rc && ck_get_str(f, "training_config", &tc) < 0)
        rc = nn_err(e, NN_EFORMAT, "'%s': cannot read attribute training_config", path);
    if (!rc) {
        snprintf(where, sizeof where, "%s:model_config", path);
        rc = nn_keras_json_to_spec(mc, tc, where, s, e);
    }
    if (!rc && model_name) {
        cJSON *j = cJSON_Parse(mc);
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(j, "config"), "name");
        if (cJSON_IsString(n))
            *model_name = strdup(n->valuestring);
        cJSON_Delete(j);
    }
    free(mc);
    free(tc);
    return rc;
}

int nn_ckpt_load_model(const char *path, nn_model *m, nn_error *e)
{
    return nn_ckpt_load_model_notes(path, m, NULL, NULL, e);
}

int nn_ckpt_load_model_notes(const char *path, nn_model *m, char ***notes, int *nnotes,
                             nn_error *e)
{
    hid_t f;
    nn_spec s;
    char *name = NULL;
    memset(m, 0, sizeof *m);
    if (notes)
        *notes = NULL, *nnotes = 0;
    if (kz_is_zip(path))   /* a Keras 3 .keras file */
        return kz_load_model(path, m, notes, nnotes, e);
    int rc = open_ro(path, &f, e);
    if (rc)
        return rc;
    rc = file_spec(f, path, &s, &name, e);
    if (!rc && notes) {   /* handed over: nn_spec_free then skips them */
        *notes = s.notes, *nnotes = s.nnotes;
        s.notes = NULL, s.nnotes = 0;
    }
    if (!rc) {
        rc = nn_model_build(m, &s, e);
        nn_spec_free(&s);
        if (!rc && name)
            snprintf(m->name, sizeof m->name, "%s", name);
        if (!rc && (rc = load_weights_f(f, path, m, 0, 1, e)))
            nn_model_free(m);
    }
    free(name);
    if (ck_close_id(f) < 0 && !rc) {
        nn_model_free(m);
        rc = nn_err(e, NN_EIO, "'%s': closing the file failed", path);
    }
    return rc;
}

int nn_ckpt_load_spec(const char *path, nn_spec *s, nn_error *e)
{
    hid_t f;
    char *name = NULL;
    if (kz_is_zip(path))
        return kz_load_spec(path, s, e);
    int rc = open_ro(path, &f, e);
    if (rc)
        return rc;
    rc = file_spec(f, path, s, &name, e);
    free(name);
    if (ck_close_id(f) < 0 && !rc) {
        nn_spec_free(s);
        rc = nn_err(e, NN_EIO, "'%s': closing the file failed", path);
    }
    return rc;
}

int nn_ckpt_load_weights(const char *path, nn_model *m, int allow_missing, nn_error *e)
{
    hid_t f;
    if (kz_is_zip(path))
        return kz_load_weights(path, m, allow_missing, e);
    int rc = open_ro(path, &f, e);
    if (rc)
        return rc;
    rc = load_weights_f(f, path, m, allow_missing, 0, e);
    if (ck_close_id(f) < 0 && !rc)
        rc = nn_err(e, NN_EIO, "'%s': closing the file failed", path);
    return rc;
}

int nn_ckpt_class_names(const char *path, char ***names, int *n, nn_error *e)
{
    hid_t f;
    *names = NULL;
    *n = 0;
    if (kz_is_zip(path))   /* .keras files keep no class names */
        return NN_OK;
    int rc = open_ro(path, &f, e), ex = rc ? 0 : ck_exists_attr(f, "class_names");
    if (!rc && (ex < 0 || (ex > 0 && ck_get_strs(f, "class_names", names, n))))
        rc = nn_err(e, NN_EFORMAT, "'%s': cannot read root attribute class_names", path);
    return closed(f, rc, path, e);
}

void nn_ckpt_free_names(char **names, int n)
{
    ck_free_strs(names, n);
}

char *nn_ckpt_read_spec(const char *path, nn_error *e)
{
    hid_t f;
    nn_spec s;
    char *text = NULL;
    int rc;
    if (kz_is_zip(path)) {
        if ((rc = kz_load_spec(path, &s, e)))
            return NULL;
        if (!(text = strdup(s.text)))
            nn_err(e, NN_ENOMEM, "out of memory");
        nn_spec_free(&s);
        return text;
    }
    if (open_ro(path, &f, e))
        return NULL;
    rc = file_spec(f, path, &s, NULL, e);
    if (!rc) {
        if (!(text = strdup(s.text)))
            nn_err(e, NN_ENOMEM, "out of memory");
        nn_spec_free(&s);
    }
    if (closed(f, rc, path, e) && !rc) {
        free(text);
        text = NULL;
    }
    return text;
}

/* /nntrain/optimizer/slot<s> (nparams floats) into buf. */
static int read_slot(hid_t og, const char *path, int s, size_t P, float *buf, nn_error *e)
{
    char name[16], sh[64];
    hid_t d;
    int nd;
    hsize_t dims[NN_MAX_DIMS + 1];
    H5T_class_t cls;
    snprintf(name, sizeof name, "slot%d", s);
    if (ck_open_ds(og, name, &d, &nd, dims, &cls))
        return nn_err(e, NN_EFORMAT, "'%s': optimizer state /nntrain/optimizer/%s is missing or "
                      "unreadable", path, name);
    int rc = NN_OK;
    if (cls != H5T_FLOAT || nd != 1 || dims[0] != P)
        rc = nn_err(e, NN_EFORMAT, "'%s': /nntrain/optimizer/%s has shape %s, the model has "
                    "%zu parameters", path, name, ck_shape_txt(nd, dims, sh, sizeof sh), P);
    else if (P && H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
        rc = nn_err(e, NN_EFORMAT, "'%s': cannot read /nntrain/optimizer/%s: the data is corrupt "
                    "(checksum mismatch) or unreadable", path, name);
    return closed(d, rc, path, e);
}

static int read_history(hid_t g, const char *path, nn_history *h, nn_error *e)
{
    int ex = ck_exists_link(g, "history"), nd = 0, nc = 0, rc = NN_OK;
    memset(h, 0, sizeof *h);
    if (ex <= 0)
        return ex < 0 ? nn_err(e, NN_EFORMAT, "'%s': cannot read /nntrain", path) : NN_OK;
    hid_t d;
    hsize_t dims[NN_MAX_DIMS + 1];
    H5T_class_t cls;
    char **cols = NULL;
    if (ck_open_ds(g, "history", &d, &nd, dims, &cls))
        return nn_err(e, NN_EFORMAT, "'%s': /nntrain/history is unreadable", path);
    if (cls != H5T_FLOAT || nd != 2 || dims[1] < 1 || dims[1] > NN_HIST_MAX_COLS ||
        dims[0] > INT_MAX / NN_HIST_MAX_COLS || ck_get_strs(d, "columns", &cols, &nc) ||
        (hsize_t)nc != dims[1])
        rc = nn_err(e, NN_EFORMAT, "'%s': /nntrain/history: expected (epochs, columns) floats with "
                    "a columns attribute of at most %d names", path, NN_HIST_MAX_COLS);
    if (!rc) {
        h->ncols = nc;
        h->epochs = h->cap = (int)dims[0];
        for (int c = 0; c < nc; c++)
            snprintf(h->cols[c], sizeof h->cols[c], "%s", cols[c]);
        if (h->epochs && !(h->vals = malloc((size_t)h->epochs * (size_t)nc * sizeof(double))))
            rc = nn_err(e, NN_ENOMEM, "out of memory");
        else if (h->epochs &&
                 H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, h->vals) < 0)
            rc = nn_err(e, NN_EFORMAT, "'%s': cannot read /nntrain/history (corrupt?)", path);
    }
    ck_free_strs(cols, nc);
    if ((rc = closed(d, rc, path, e)))
        nn_history_free(h);
    return rc;
}

static int read_state(hid_t g, const char *path, nn_train_state *st, int64_t *it, nn_error *e)
{
    char *fmt = NULL, *mon = NULL;
    int32_t version = 0, epoch = 0, has_best = 0;
    int64_t step = 0;
    int rc = NN_OK;
    memset(st, 0, sizeof *st);
    if (ck_get_str(g, "format", &fmt) || strcmp(fmt, FORMAT_NAME))
        rc = nn_err(e, NN_EFORMAT, "'%s': /nntrain has no format \"%s\" attribute", path,
                    FORMAT_NAME);
    else if (ck_get_num(g, "version", H5T_NATIVE_INT32, &version) || version < 1)
        rc = nn_err(e, NN_EFORMAT, "'%s': /nntrain has no valid version attribute", path);
    else if (version > FORMAT_VERSION)
        rc = nn_err(e, NN_EFORMAT, "'%s': checkpoint version %d is newer than this nntrain reads "
                    "(%d)", path, (int)version, FORMAT_VERSION);
    else if (ck_get_num(g, "epoch", H5T_NATIVE_INT32, &epoch) ||
             ck_get_num(g, "step", H5T_NATIVE_INT64, &step) ||
             ck_get_num(g, "iterations", H5T_NATIVE_INT64, it) ||
             ck_get_num(g, "seed", H5T_NATIVE_UINT64, &st->seed) ||
             ck_get_num(g, "data_checksum", H5T_NATIVE_UINT64, &st->data_checksum) ||
             ck_get_num(g, "best", H5T_NATIVE_DOUBLE, &st->best) ||
             ck_get_num(g, "has_best", H5T_NATIVE_INT32, &has_best) ||
             ck_get_str(g, "monitor", &mon))
        rc = nn_err(e, NN_EFORMAT, "'%s': /nntrain: a counter attribute (epoch, step, "
                    "iterations, seed, data_checksum, best, has_best, monitor) is missing or "
                    "unreadable", path);
    /* written only by deterministic runs (absent: 0) */
    int32_t det[2] = {0, 0};
    if (!rc && (ck_get_num(g, "deterministic", H5T_NATIVE_INT32, &det[0]) < 0 ||
                ck_get_num(g, "det_chunk", H5T_NATIVE_INT32, &det[1]) < 0 ||
                (det[0] && det[1] < 1)))
        rc = nn_err(e, NN_EFORMAT, "'%s': /nntrain: the deterministic or det_chunk attribute is unreadable or not a positive chunk size",
                    path);
    st->deterministic = det[0] != 0;
    st->det_chunk = det[1];
    int nd;
    hid_t d = -1;
    hsize_t dims[NN_MAX_DIMS + 1];
    H5T_class_t cls;
    if (!rc && (ck_open_ds(g, "epoch_sums", &d, &nd, dims, &cls) || cls != H5T_FLOAT || nd != 1 ||
                dims[0] > NSUMS ||
                (dims[0] && H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                                    st->epoch_sums) < 0)))
        rc = nn_err(e, NN_EFORMAT, "'%s': /nntrain/epoch_sums is missing or corrupt", path);
    rc = closed(d, rc, path, e);
    if (!rc) {
        st->epoch = epoch;
        st->step = (long)step;
        st->has_best = has_best;
        snprintf(st->monitor, sizeof st->monitor, "%s", mon);
    }
    free(fmt);
    free(mon);
    return rc;
}

int nn_ckpt_load_state(const char *path, nn_model *m, nn_train_state *st, nn_history *h,
                       nn_error *e)
{
    hid_t f, g = -1, og = -1;
    nn_train_state st2;
    nn_history h2;
    int64_t it = 0;
    float *slots[NN_OPTIM_MAX_SLOTS] = {NULL};
    nn_optim *o = &m->optim;
    memset(&h2, 0, sizeof h2);
    if (kz_is_zip(path))
        return nn_err(e, NN_EFORMAT, "'%s' is a Keras .keras file, not an nntrain checkpoint: it "
                      "has no training state to resume", path);
    int rc = open_ro(path, &f, e), ex = 0;
    if (rc)
        return rc;
    if ((ex = ck_exists_link(f, "nntrain")) <= 0 || (g = H5Gopen2(f, "nntrain", H5P_DEFAULT)) < 0)
        rc = nn_err(e, NN_EFORMAT, "'%s' has no /nntrain group: it is not an nntrain checkpoint "
                    "(a Keras file has no training state to resume)", path);
    if (!rc)
        rc = read_state(g, path, &st2, &it, e);
    if (!rc && o->nslots > 0) {
        int alloc = o->n == m->nparams;
        for (int s = 0; s < o->nslots && s < NN_OPTIM_MAX_SLOTS; s++)
            alloc = alloc && o->slot[s];
        ex = ck_exists_link(g, "optimizer");
        char *kind = NULL;
        if (!alloc)
            rc = nn_err(e, NN_EINVAL, "'%s': the optimizer slots are not allocated (call "
                        "nn_optim_alloc first)", path);
        else if (ex < 0 || (ex == 0 && it > 0))
            rc = nn_err(e, NN_EFORMAT, "'%s': no optimizer state (/nntrain/optimizer) after %lld "
                        "iterations", path, (long long)it);
        else if (ex > 0 && ((og = H5Gopen2(g, "optimizer", H5P_DEFAULT)) < 0 ||
                            ck_get_str(og, "optimizer", &kind)))
            rc = nn_err(e, NN_EFORMAT, "'%s': /nntrain/optimizer is unreadable", path);
        else if (ex > 0 && strcmp(kind, nn_optim_names[o->kind]))
            rc = nn_err(e, NN_EFORMAT, "'%s': the optimizer state is %s's, the model uses %s",
                        path, kind, nn_optim_names[o->kind]);
        free(kind);
        for (int s = 0; s < o->nslots && !rc && ex > 0; s++) {
            if (!(slots[s] = malloc((m->nparams ? m->nparams : 1) * sizeof(float))))
                rc = nn_err(e, NN_ENOMEM, "out of memory");
            else
                rc = read_slot(og, path, s, m->nparams, slots[s], e);
        }
    }
    if (!rc && h)
        rc = read_history(g, path, &h2, e);
    rc = closed(og, rc, path, e);
    rc = closed(g, rc, path, e);
    rc = closed(f, rc, path, e);
    if (rc) {
        nn_history_free(&h2);
    } else {
        for (int s = 0; s < o->nslots && slots[s]; s++)
            memcpy(o->slot[s], slots[s], m->nparams * sizeof(float));
        if (o->nslots > 0 && ex == 0)
            for (int s = 0; s < o->nslots; s++)
                memset(o->slot[s], 0, m->nparams * sizeof(float));
        o->iterations = it;
        if (st)
            *st = st2;
        if (h) {
            nn_history_free(h);
            *h = h2;
        }
    }
    for (int s = 0; s < NN_OPTIM_MAX_SLOTS; s++)
        free(slots[s]);
    return rc;
}
