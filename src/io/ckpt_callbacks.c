/* The callbacks' state (include/nntrain/callbacks.h) in a checkpoint, for
 * a bitwise --resume mid-patience or after a learning-rate reduction:
 *   /nntrain/callbacks  attrs started, stopped_epoch, es_monitor, es_wait,
 *                       es_best_epoch, es_best, rlr_monitor, rlr_wait,
 *                       rlr_cooldown, rlr_best, lr_factor (float64/int32/str)
 *   /nntrain/callbacks/best_weights  float32 (parameters), when kept
 * A checkpoint without the group resumes with a fresh state. */
#include <stdlib.h>
#include <string.h>

#include "io/ckpt_callbacks.h"
#include "io/ckpt_h5.h"
#include "nntrain/checkpoint.h"

static int put_int(hid_t g, const char *name, int v)
{
    int32_t x = v;
    return ck_put_num(g, name, H5T_STD_I32LE, H5T_NATIVE_INT32, &x);
}

static int put_dbl(hid_t g, const char *name, double v)
{
    return ck_put_num(g, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &v);
}

int ck_put_callbacks(hid_t g, const nn_cb_state *s)
{
    hid_t cg = H5Gcreate2(g, "callbacks", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (cg < 0)
        return -1;
    int rc = put_int(cg, "started", s->started) || put_int(cg, "stopped_epoch", s->stopped_epoch) ||
             ck_put_str(cg, "es_monitor", s->es_monitor, 1) || put_int(cg, "es_wait", s->es_wait) ||
             put_int(cg, "es_best_epoch", s->es_best_epoch) || put_dbl(cg, "es_best", s->es_best) ||
             ck_put_str(cg, "rlr_monitor", s->rlr_monitor, 1) ||
             put_int(cg, "rlr_wait", s->rlr_wait) || put_int(cg, "rlr_cooldown", s->rlr_cooldown) ||
             put_dbl(cg, "rlr_best", s->rlr_best) || put_dbl(cg, "lr_factor", s->lr_factor)
                 ? -1 : 0;
    hsize_t n = s->nbest;
    if (!rc && s->best_weights &&
        ck_put_data(cg, "best_weights", 1, &n, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, sizeof(float),
                    s->best_weights, NULL))
        rc = -1;
    if (ck_close_id(cg) < 0)
        rc = -1;
    return rc;
}

static int get_int(hid_t g, const char *name, int *v)
{
    int32_t x = 0;
    int rc = ck_get_num(g, name, H5T_NATIVE_INT32, &x);
    *v = x;
    return rc;
}

static int get_text(hid_t g, const char *name, char *out, size_t len)
{
    char *s = NULL;
    int rc = ck_get_str(g, name, &s);
    if (!rc)
        snprintf(out, len, "%s", s);
    free(s);
    return rc;
}

/* best_weights into s (malloc'd); 0 absent or read, -1 bad. */
static int get_weights(hid_t cg, nn_cb_state *s, size_t nparams)
{
    int ex = ck_exists_link(cg, "best_weights"), nd;
    if (ex <= 0)
        return ex;
    hid_t d;
    hsize_t dims[NN_MAX_DIMS + 1];
    H5T_class_t cls;
    if (ck_open_ds(cg, "best_weights", &d, &nd, dims, &cls))
        return -1;
    int rc = cls == H5T_FLOAT && nd == 1 && dims[0] == nparams &&
                     (s->best_weights = malloc((nparams ? nparams : 1) * sizeof(float))) &&
                     (!nparams || H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                                          s->best_weights) >= 0)
                 ? 0 : -1;
    s->nbest = nparams;
    if (ck_close_id(d) < 0)
        rc = -1;
    return rc;
}

int nn_ckpt_load_callbacks(const char *path, nn_cb_state *s, size_t nparams, nn_error *e)
{
    nn_cb_state t;
    memset(&t, 0, sizeof t);
    (void)H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT), cg = -1;
    int rc = f < 0 ? -1 : 0, ex = 0;
    if (!rc && (ex = ck_exists_link(f, "nntrain")) > 0)
        ex = ck_exists_link(f, "nntrain/callbacks");
    if (!rc && ex > 0) {
        rc = (cg = H5Gopen2(f, "nntrain/callbacks", H5P_DEFAULT)) < 0 ||
             get_int(cg, "started", &t.started) || get_int(cg, "stopped_epoch", &t.stopped_epoch) ||
             get_text(cg, "es_monitor", t.es_monitor, sizeof t.es_monitor) ||
             get_int(cg, "es_wait", &t.es_wait) || get_int(cg, "es_best_epoch", &t.es_best_epoch) ||
             ck_get_num(cg, "es_best", H5T_NATIVE_DOUBLE, &t.es_best) ||
             get_text(cg, "rlr_monitor", t.rlr_monitor, sizeof t.rlr_monitor) ||
             get_int(cg, "rlr_wait", &t.rlr_wait) || get_int(cg, "rlr_cooldown", &t.rlr_cooldown) ||
             ck_get_num(cg, "rlr_best", H5T_NATIVE_DOUBLE, &t.rlr_best) ||
             ck_get_num(cg, "lr_factor", H5T_NATIVE_DOUBLE, &t.lr_factor) ||
             get_weights(cg, &t, nparams)
                 ? -1 : 0;
    } else if (ex < 0) {
        rc = -1;
    }
    if (cg >= 0 && ck_close_id(cg) < 0)
        rc = -1;
    if (f >= 0 && ck_close_id(f) < 0)
        rc = -1;
    if (rc || !(t.lr_factor > 0 || !t.started)) {
        free(t.best_weights);
        return nn_err(e, NN_EFORMAT, "'%s': /nntrain/callbacks (the callbacks' state) is "
                      "missing a value or corrupt", path);
    }
    nn_cb_state_free(s);
    *s = t;
    return NN_OK;
}
