/* Keras 3 `.keras` files (see keras_zip.h). Keras's saving_lib writes:
 *   config.json     {"module", "class_name": "Sequential" | "Functional",
 *                    "config": {"layers": [...], ...}, "compile_config":
 *                    {"optimizer": {...}, "loss", "metrics", ...}, ...}
 *   metadata.json   {"keras_version": "3.6.0", "date_saved": ...}
 *   model.weights.h5  one group per layer of model.layers, named not by the
 *                    layer's name but by its class in snake_case, numbered
 *                    per class in layer order (dense, dense_1, conv2d, ...):
 *                    layers/<that>/vars/0, 1, ... in the layer's weight order
 *                    (an RNN's under layers/<that>/cell/vars); tf.keras
 *                    2.13-2.15 wrote _layer_checkpoint_dependencies/ instead
 *                    of layers/.
 * The members are read into memory with libzip (CRCs checked); the weights
 * image is opened by HDF5's core driver, nothing is written to disk. The
 * layer configs are those Keras 3's legacy .h5 writer puts in model_config,
 * so keras_json.c imports config.json as it is; compile_config becomes the
 * training_config it reads (its "optimizer" is "optimizer_config" there). */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "io/ckpt_h5.h"
#include "io/keras_zip.h"
#include "nntrain/keras.h"

#define CONFIG_NAME "config.json"
#define WEIGHTS_NAME "model.weights.h5"
#define MAX_CONFIG (64u << 20)

typedef struct kz_archive {
    char *config;            /* config.json, NUL-terminated */
    char *training_config;   /* compile_config as a Keras 2 training_config, or NULL */
    cJSON *cfg;              /* config.json parsed */
    void *weights;           /* model.weights.h5 */
    size_t nweights;
} kz_archive;

static void kz_free(kz_archive *z)
{
    free(z->config);
    free(z->training_config);
    cJSON_Delete(z->cfg);
    free(z->weights);
    memset(z, 0, sizeof *z);
}

int kz_is_zip(const char *path)
{
    unsigned char sig[4] = {0};
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t n = fread(sig, 1, 4, f);
    fclose(f);
    return n == 4 && sig[0] == 'P' && sig[1] == 'K' && sig[2] == 3 && sig[3] == 4;
}

void kz_snake(const char *cls, char *out, size_t len)
{
    char a[128], b[256];
    size_t n = 0, k = 0;
    for (size_t i = 0; cls[i] && n + 1 < sizeof a; i++)   /* \W+ removed */
        if (isalnum((unsigned char)cls[i]) || cls[i] == '_')
            a[n++] = cls[i];
    a[n] = 0;
    /* (.)([A-Z][a-z]+) -> \1_\2, left to right without overlaps */
    for (size_t i = 0; i < n && k + 3 < sizeof b;) {
        size_t j = i + 2;
        while (j < n && islower((unsigned char)a[j]))
            j++;
        if (i + 2 < n && isupper((unsigned char)a[i + 1]) && j > i + 2) {
            b[k++] = a[i];
            b[k++] = '_';
            for (size_t t = i + 1; t < j && k + 2 < sizeof b; t++)
                b[k++] = a[t];
            i = j;
        } else {
            b[k++] = a[i++];
        }
    }
    b[k] = 0;
    /* ([a-z])([A-Z]) -> \1_\2, then lower case */
    if (!len)
        return;
    k = 0;
    for (size_t i = 0; b[i] && k + 1 < len; i++) {
        if (i && islower((unsigned char)b[i - 1]) && isupper((unsigned char)b[i])) {
            if (k + 2 >= len)
                break;
            out[k++] = '_';
        }
        out[k++] = (char)tolower((unsigned char)b[i]);
    }
    out[k] = 0;
}

static int zip_fail(const char *path, zip_error_t *ze, nn_error *e)
{
    return nn_err(e, NN_EFORMAT, "'%s': not a readable .keras zip (%s): truncated or corrupt?",
                  path, zip_error_strerror(ze));
}

/* One member into a malloc'd buffer (one byte more, NUL); 1 when absent. */
static int read_member(zip_t *za, const char *path, const char *name, size_t max, char **out,
                       size_t *len, nn_error *e)
{
    zip_stat_t st;
    *out = NULL;
    zip_stat_init(&st);
    if (zip_stat(za, name, 0, &st))
        return 1;
    if (!(st.valid & ZIP_STAT_SIZE) || st.size > max)
        return nn_err(e, NN_EFORMAT, "'%s': member %s is larger than %zu MiB", path, name,
                      max >> 20);
    char *buf = malloc((size_t)st.size + 1);
    if (!buf)
        return nn_err(e, NN_ENOMEM, "'%s': out of memory reading member %s", path, name);
    zip_file_t *zf = zip_fopen(za, name, 0);
    zip_int64_t got = zf ? zip_fread(zf, buf, st.size) : -1;
    char extra;
    int rc = NN_OK;
    /* libzip checks the CRC when a read reaches the end */
    if (!zf || got < 0 || (zip_uint64_t)got != st.size || zip_fread(zf, &extra, 1) != 0) {
        zip_error_t *ze = zf ? zip_file_get_error(zf) : zip_get_error(za);
        rc = nn_err(e, NN_EFORMAT, "'%s': cannot read member %s (%s): the zip is truncated or "
                    "corrupt", path, name, zip_error_strerror(ze));
    }
    if (zf && zip_fclose(zf) && !rc)   /* the CRC is checked at the end */
        rc = nn_err(e, NN_EFORMAT, "'%s': member %s is corrupt (CRC mismatch)", path, name);
    if (rc) {
        free(buf);
        return rc;
    }
    buf[st.size] = 0;
    *out = buf;
    *len = (size_t)st.size;
    return NN_OK;
}

/* compile_config -> training_config: "optimizer" (a serialized optimizer or
 * a name) becomes "optimizer_config". NULL config: not compiled. */
static int compile_to_training(kz_archive *z, const char *path, nn_error *e)
{
    const cJSON *cc = cJSON_GetObjectItemCaseSensitive(z->cfg, "compile_config");
    if (!cc || cJSON_IsNull(cc))
        return NN_OK;
    if (!cJSON_IsObject(cc))
        return nn_err(e, NN_EFORMAT, "'%s': %s: compile_config is not a JSON object", path,
                      CONFIG_NAME);
    cJSON *tc = cJSON_Duplicate(cc, 1);
    cJSON *opt = tc ? cJSON_DetachItemFromObjectCaseSensitive(tc, "optimizer") : NULL;
    if (cJSON_IsString(opt)) {   /* compile(optimizer="adam") before Keras resolved it */
        cJSON *o = cJSON_CreateObject();
        if (o && cJSON_AddStringToObject(o, "class_name", opt->valuestring) &&
            cJSON_AddObjectToObject(o, "config")) {
            cJSON_Delete(opt);
            opt = o;
        } else {
            cJSON_Delete(o);
        }
    }
    if (opt)
        cJSON_AddItemToObject(tc, "optimizer_config", opt);
    z->training_config = tc ? cJSON_PrintUnformatted(tc) : NULL;
    cJSON_Delete(tc);
    return z->training_config ? NN_OK : nn_err(e, NN_ENOMEM, "out of memory");
}

/* Reads config.json (and model.weights.h5 when weights). */
static int kz_read(const char *path, int weights, kz_archive *z, nn_error *e)
{
    int zerr = 0;
    size_t len = 0;
    memset(z, 0, sizeof *z);
    zip_t *za = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &zerr);
    if (!za) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, zerr);
        int rc = zerr == ZIP_ER_OPEN || zerr == ZIP_ER_NOENT || zerr == ZIP_ER_READ
                     ? nn_err(e, NN_EIO, "cannot open '%s': %s", path, zip_error_strerror(&ze))
                     : zip_fail(path, &ze, e);
        zip_error_fini(&ze);
        return rc;
    }
    int rc = read_member(za, path, CONFIG_NAME, MAX_CONFIG, &z->config, &len, e);
    if (rc == 1)
        rc = nn_err(e, NN_EFORMAT, "'%s': the zip has no %s: not a Keras .keras model file",
                    path, CONFIG_NAME);
    if (!rc && !(z->cfg = cJSON_Parse(z->config)))
        rc = nn_err(e, NN_EFORMAT, "'%s': %s is not valid JSON", path, CONFIG_NAME);
    if (!rc)
        rc = compile_to_training(z, path, e);
    if (!rc && weights) {
        rc = read_member(za, path, WEIGHTS_NAME, (size_t)1 << 40, (char **)&z->weights,
                         &z->nweights, e);
        if (rc == 1)
            rc = nn_err(e, NN_EFORMAT, "'%s': the zip has no %s%s", path, WEIGHTS_NAME,
                        zip_name_locate(za, "model.weights.npz", 0) >= 0
                            ? " (its weights are in model.weights.npz, which nntrain does not "
                              "read: save with the default weights format)" : "");
    }
    zip_discard(za);   /* read only */
    if (rc)
        kz_free(z);
    return rc;
}

static int kz_spec(const char *path, kz_archive *z, nn_spec *s, nn_error *e)
{
    char where[4200];
    snprintf(where, sizeof where, "%s:%s", path, CONFIG_NAME);
    return nn_keras_json_to_spec(z->config, z->training_config, where, s, e);
}

int kz_load_spec(const char *path, nn_spec *s, nn_error *e)
{
    kz_archive z;
    int rc = kz_read(path, 0, &z, e);
    if (!rc)
        rc = kz_spec(path, &z, s, e);
    kz_free(&z);
    return rc;
}

/* ---- weights --------------------------------------------------------- */

static int open_image(kz_archive *z, const char *path, hid_t *f, nn_error *e)
{
    (void)H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    *f = -1;
    if (fapl >= 0 && H5Pset_fapl_core(fapl, 1 << 20, 0) >= 0 &&
        H5Pset_file_image(fapl, z->weights, z->nweights) >= 0)
        *f = H5Fopen(WEIGHTS_NAME, H5F_ACC_RDONLY, fapl);
    ck_close_id(fapl);
    free(z->weights);   /* HDF5 holds its own copy */
    z->weights = NULL;
    if (*f < 0)
        return nn_err(e, NN_EFORMAT, "'%s': member %s is not a readable HDF5 file (corrupt?)",
                      path, WEIGHTS_NAME);
    return NN_OK;
}

/* The group holding config.layers[i]'s weights: "<root>/<snake>[_k]/vars". */
static void layer_group(const cJSON *layers, int i, const char *root, char *out, size_t len)
{
    char want[128], other[128];
    const cJSON *cls = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(layers, i),
                                                        "class_name");
    kz_snake(cJSON_IsString(cls) ? cls->valuestring : "", want, sizeof want);
    int k = 0;
    for (int j = 0; j < i; j++) {
        cls = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(layers, j), "class_name");
        kz_snake(cJSON_IsString(cls) ? cls->valuestring : "", other, sizeof other);
        k += !strcmp(want, other);
    }
    if (k)
        snprintf(out, len, "%s/%s_%d", root, want, k);
    else
        snprintf(out, len, "%s/%s", root, want);
}

/* How many weights the group at gpath/vars (or gpath/cell/vars) holds; the
 * vars group that has them goes to vars. -1 on error. */
static int count_vars(hid_t f, const char *gpath, char *vars, size_t len)
{
    static const char *const sub[2] = {"vars", "cell/vars"};
    int n = 0;
    for (int s = 0; s < 2 && !n; s++) {
        char p[400];
        snprintf(p, sizeof p, "%s/%s", gpath, sub[s]);
        if (H5Lexists(f, gpath, H5P_DEFAULT) <= 0 || H5Lexists(f, p, H5P_DEFAULT) <= 0)
            continue;
        hid_t g = H5Gopen2(f, p, H5P_DEFAULT);
        H5G_info_t info;
        if (g < 0 || H5Gget_info(g, &info) < 0) {
            ck_close_id(g);
            return -1;
        }
        ck_close_id(g);
        n = (int)info.nlinks;
        snprintf(vars, len, "%s", p);
    }
    return n;
}

static const char *layer_name(const cJSON *L)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(L, "config"),
                                                      "name");
    return cJSON_IsString(n) ? n->valuestring : "";
}

/* Weights of model layer l from the vars group into buf. */
static int read_vars(hid_t f, const char *path, const char *vars, const nn_layer *l, float *buf,
                     nn_error *e)
{
    nn_param_spec ps[NN_MAX_PARAM_SPECS];
    int np = l->ops->param_specs(l, ps), rc = NN_OK;
    for (int j = 0; j < np && !rc; j++) {
        char ds[420], s1[96], s2[96];
        hsize_t dims[NN_MAX_DIMS + 1], want[NN_MAX_DIMS];
        int nd = 0, same = 1;
        H5T_class_t cls;
        hid_t d = -1;
        snprintf(ds, sizeof ds, "%s/%d", vars, j);
        for (int k = 0; k < ps[j].ndim; k++)
            want[k] = (hsize_t)ps[j].dims[k];
        if (ck_open_ds(f, ds, &d, &nd, dims, &cls))
            rc = nn_err(e, NN_EFORMAT, "'%s': %s: layer '%s' (%s): %s is missing or unreadable",
                        path, WEIGHTS_NAME, l->name, l->ops->kind, ds);
        else if (cls != H5T_FLOAT)
            rc = nn_err(e, NN_EFORMAT, "'%s': %s: layer '%s' (%s): %s is not floating point",
                        path, WEIGHTS_NAME, l->name, l->ops->kind, ds);
        for (int k = 0; !rc && k < ps[j].ndim; k++)
            same = same && k < nd && dims[k] == want[k];
        if (!rc && (!same || nd != ps[j].ndim))
            rc = nn_err(e, NN_EFORMAT, "'%s': %s: layer '%s' (%s): %s (%s) has shape %s, the "
                        "model expects %s", path, WEIGHTS_NAME, l->name, l->ops->kind, ds,
                        ps[j].name, ck_shape_txt(nd, dims, s1, sizeof s1),
                        ck_shape_txt(ps[j].ndim, want, s2, sizeof s2));
        if (!rc && H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                           buf + l->param_off + ps[j].off) < 0)
            rc = nn_err(e, NN_EFORMAT, "'%s': %s: cannot read %s (corrupt?)", path, WEIGHTS_NAME,
                        ds);
        ck_close_id(d);
    }
    return rc;
}

/* By layer name through config.layers. strict: every layer of the file
 * with weights is in the model (the file describes this model). */
static int load_weights_f(hid_t f, const char *path, const kz_archive *z, nn_model *m,
                          int allow_missing, int strict, nn_error *e)
{
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(z->cfg, "config"), "layers");
    int n = cJSON_GetArraySize(layers), rc = NN_OK;
    const char *root = H5Lexists(f, "layers", H5P_DEFAULT) <= 0 &&
                       H5Lexists(f, "_layer_checkpoint_dependencies", H5P_DEFAULT) > 0
                           ? "_layer_checkpoint_dependencies" : "layers";
    if (!cJSON_IsArray(layers))
        return nn_err(e, NN_EFORMAT, "'%s': %s has no config.layers list", path, CONFIG_NAME);
    float *buf = malloc((m->nparams ? m->nparams : 1) * sizeof *buf);
    if (!buf)
        return nn_err(e, NN_ENOMEM, "out of memory loading '%s'", path);
    memcpy(buf, m->params, m->nparams * sizeof *buf);
    for (int i = 0; i < m->nlayers && !rc; i++) {
        const nn_layer *l = &m->layers[i];
        nn_param_spec ps[NN_MAX_PARAM_SPECS];
        int np = l->ops->param_specs(l, ps), at = -1;
        if (!np)
            continue;
        for (int k = 0; k < n && at < 0; k++)
            if (!strcmp(layer_name(cJSON_GetArrayItem(layers, k)), l->name))
                at = k;
        if (at < 0) {
            if (!allow_missing)
                rc = nn_err(e, NN_EFORMAT, "'%s': layer '%s' (%s) is not in %s", path, l->name,
                            l->ops->kind, CONFIG_NAME);
            continue;
        }
        char g[300], vars[400] = "";
        layer_group(layers, at, root, g, sizeof g);
        int nv = count_vars(f, g, vars, sizeof vars);
        if (nv != np)
            rc = nn_err(e, NN_EFORMAT, "'%s': %s: layer '%s' (%s): %s/vars holds %d weights, the "
                        "model expects %d (%s%s)", path, WEIGHTS_NAME, l->name, l->ops->kind, g,
                        nv < 0 ? 0 : nv, np, ps[0].name, np > 1 ? ", ..." : "");
        else
            rc = read_vars(f, path, vars, l, buf, e);
    }
    for (int k = 0; k < n && !rc && strict; k++) {
        const char *nm = layer_name(cJSON_GetArrayItem(layers, k));
        int inmodel = 0;
        for (int i = 0; i < m->nlayers && !inmodel; i++)
            inmodel = !strcmp(nm, m->layers[i].name);
        char g[300], vars[400];
        layer_group(layers, k, root, g, sizeof g);
        if (!inmodel && count_vars(f, g, vars, sizeof vars) > 0)
            rc = nn_err(e, NN_EFORMAT, "'%s': %s has weights for layer '%s' (%s), which the "
                        "model does not have", path, WEIGHTS_NAME, nm, g);
    }
    if (!rc)
        memcpy(m->params, buf, m->nparams * sizeof *buf);
    free(buf);
    return rc;
}

static int weights_into(const char *path, kz_archive *z, nn_model *m, int allow_missing,
                        int strict, nn_error *e)
{
    hid_t f;
    int rc = open_image(z, path, &f, e);
    if (!rc)
        rc = load_weights_f(f, path, z, m, allow_missing, strict, e);
    if (f >= 0 && ck_close_id(f) < 0 && !rc)
        rc = nn_err(e, NN_EIO, "'%s': closing %s failed", path, WEIGHTS_NAME);
    return rc;
}

int kz_load_weights(const char *path, nn_model *m, int allow_missing, nn_error *e)
{
    kz_archive z;
    int rc = kz_read(path, 1, &z, e);
    if (!rc)
        rc = weights_into(path, &z, m, allow_missing, 0, e);
    kz_free(&z);
    return rc;
}

int kz_load_model(const char *path, nn_model *m, char ***notes, int *nnotes, nn_error *e)
{
    kz_archive z;
    nn_spec s;
    memset(m, 0, sizeof *m);
    int rc = kz_read(path, 1, &z, e);
    if (!rc && !(rc = kz_spec(path, &z, &s, e))) {
        if (notes) {   /* handed over: nn_spec_free then skips them */
            *notes = s.notes, *nnotes = s.nnotes;
            s.notes = NULL, s.nnotes = 0;
        }
        rc = nn_model_build(m, &s, e);
        nn_spec_free(&s);
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(z.cfg, "config"), "name");
        if (!rc && cJSON_IsString(nm))
            snprintf(m->name, sizeof m->name, "%s", nm->valuestring);
        if (!rc && (rc = weights_into(path, &z, m, 0, 1, e)))
            nn_model_free(m);
    }
    kz_free(&z);
    return rc;
}
