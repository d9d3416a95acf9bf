/* The shared command line and preamble, model files and inputs for
 * evaluate / predict / analyze (see infer.h).
 * Class names of an nntrain HDF5 dataset come from nn_h5_class_names:
 * nn_dataset itself does not carry them. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stb_image_write.h>

#include "infer.h"
#include "nntrain/checkpoint.h"
#include "nntrain/h5data.h"
#include "nntrain/keras.h"
#include "nntrain/tmpfile.h"

static int ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), k = strlen(suf);
    return n >= k && !strcmp(s + n - k, suf);
}

int cli_is_model_file(const char *path)
{
    return ends_with(path, ".h5") || ends_with(path, ".hdf5") || ends_with(path, ".keras");
}

int cli_spec_load(const char *path, nn_spec *s, nn_error *e)
{
    if (!ends_with(path, ".json"))
        return nn_spec_load(path, s, e);
    /* Keras's model.to_json(): the architecture, no compile() */
    FILE *f = fopen(path, "rb");
    if (!f)
        return nn_err(e, NN_EIO, "cannot open Keras model JSON '%s': %s", path, strerror(errno));
    char *text = NULL;
    size_t n = 0, cap = 0;
    int rc = NN_OK;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            char *t = cap > (64u << 20) ? NULL : realloc(text, cap = 2 * cap + 8192);
            if (!t) {
                rc = nn_err(e, NN_ENOMEM, "'%s': larger than 64 MiB or out of memory", path);
                break;
            }
            text = t;
        }
        size_t got = fread(text + n, 1, 4096, f);
        n += got;
        if (got < 4096)
            break;
    }
    if (!rc && ferror(f))
        rc = nn_err(e, NN_EIO, "error reading Keras model JSON '%s'", path);
    fclose(f);
    if (!rc) {
        text[n] = 0;
        rc = nn_keras_json_to_spec(text, NULL, path, s, e);
    }
    free(text);
    return rc;
}

int cli_load_model(const char *path, nn_model *m, int speak, nn_error *e)
{
    memset(m, 0, sizeof *m);
    if (ends_with(path, ".nn"))
        return nn_err(e, NN_EINVAL, "%s is a model spec without weights: give a trained model "
                      "file (a checkpoint or a Keras .h5 saved by model.save)", path);
    char **notes;
    int n, rc = nn_ckpt_load_model_notes(path, m, &notes, &n, e);
    for (int i = 0; !rc && speak && i < n; i++)
        fprintf(stderr, "warning: %s\n", notes[i]);
    nn_ckpt_free_names(notes, n);
    return cli_hint_path(rc, e, path, CLI_WANT_MODEL);
}

int cli_is_classifier(const nn_model *m)
{
    size_t K = nn_model_out_size(m);
    if (m->compiled)
        return m->loss == NN_LOSS_SCCE || m->loss == NN_LOSS_CCE ||
               (m->loss == NN_LOSS_BCE && K == 1);
    if (m->nlayers < 1)
        return 0;
    nn_act a = m->layers[m->nlayers - 1].act;
    return a == NN_ACT_SOFTMAX || (a == NN_ACT_SIGMOID && K == 1);
}

int cli_image_shape(const nn_shape *model_in, const nn_shape *data, nn_shape *img)
{
    memset(img, 0, sizeof *img);
    if (data && data->n == 3) {
        *img = *data;
        return 1;
    }
    if (model_in->n == 3) {
        *img = *model_in;
        return 1;
    }
    if (model_in->n != 1)
        return 0;
    for (int c = 1; c <= 3; c += 2) {   /* grey, then RGB */
        int F = model_in->d[0];
        if (F % c)
            continue;
        int s = (int)lround(sqrt((double)(F / c)));
        if (s > 1 && s * s * c == F) {
            *img = nn_shape3(s, s, c);
            return 1;
        }
    }
    return 0;
}

/* ---- hints for a path given in the wrong place ---------------------------- */

/* 1: a folder holding image files, 2: a folder of class subfolders holding
 * image files (the first few are looked at), 0: neither. */
static int image_folder(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return 0;
    char **names;
    int n, kind = 0;
    size_t nimg;
    nn_error ignore = {0};
    if (nn_images_class_folders(path, &names, &n, &nimg, &ignore))
        return 0;
    kind = nimg > 0;
    for (int i = 0; i < n && i < 8 && !kind; i++) {
        char sub[4096], **sn;
        int sc;
        size_t si = 0;
        snprintf(sub, sizeof sub, "%s/%s", path, names[i]);
        if (!nn_images_class_folders(sub, &sn, &sc, &si, &ignore))
            nn_images_free_names(sn, sc);
        kind = si > 0 ? 2 : 0;
    }
    nn_images_free_names(names, n);
    return kind;
}

int cli_path_kind(const char *path)
{
    int img = image_folder(path);
    if (img)
        return img == 2 ? CLI_KIND_CLASS_FOLDERS : CLI_KIND_IMAGES;
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return CLI_KIND_OTHER;
    if (nn_images_is_image_name(path))
        return CLI_KIND_IMAGES;
    int h5 = nn_h5_kind(path);
    return h5 == NN_H5_MODEL ? CLI_KIND_MODEL : h5 == NN_H5_DATASET ? CLI_KIND_DATASET
                                                                  : CLI_KIND_OTHER;
}

int cli_hint_path(int rc, nn_error *e, const char *path, int want)
{
    int kind = cli_path_kind(path);
    int images = kind == CLI_KIND_IMAGES || kind == CLI_KIND_CLASS_FOLDERS;
    if (!rc || kind == CLI_KIND_OTHER || (want == CLI_WANT_DATA && kind == CLI_KIND_DATASET) ||
        (want == CLI_WANT_MODEL && kind == CLI_KIND_MODEL) || (want == CLI_WANT_IMAGES && images) ||
        (want == CLI_WANT_SPEC && kind == CLI_KIND_MODEL))   /* train MODEL.h5 trains it on */
        return rc;
    struct stat st;
    int file = stat(path, &st) == 0 && S_ISREG(st.st_mode);
    if (kind == CLI_KIND_IMAGES)
        return nn_err(e, rc, "%s is %s: use predict --images %s or convert images %s -o "
                      "out.h5", path, file ? "an image file" : "a folder of images", path, path);
    if (images)
        return nn_err(e, rc, "%s is a folder of class folders of images: convert it (nntrain "
                      "convert images %s -o out.h5) and give --data out.h5, or use predict "
                      "--images %s/CLASS%s", path, path, path,
                      want == CLI_WANT_SPEC ? " (train takes it as --data)" : "");
    const char *wanted = want == CLI_WANT_SPEC ? "model spec" : want == CLI_WANT_DATA ?
                         "dataset" : want == CLI_WANT_MODEL ? "trained model" :
                         "folder of images";
    if (kind == CLI_KIND_MODEL)
        return nn_err(e, rc, "%s is a checkpoint (a trained model), not a %s: use "
                      "train --resume/--init-weights %s, or evaluate/predict %s", path, wanted,
                      path, path);
    return nn_err(e, rc, "%s is a dataset, not a %s: give it as --data %s (e.g. nntrain %s "
                  "--data %s)", path, wanted, path,
                  want == CLI_WANT_SPEC ? "train MODEL.nn" : "evaluate MODEL.h5", path);
}

/* ---- inputs -------------------------------------------------------------- */

static int read_names(cli_input *in, const char *src, nn_error *e)
{
    if (!ends_with(src, ".h5") && !ends_with(src, ".hdf5"))
        return NN_OK;
    char **names;
    size_t n;
    int rc = nn_h5_class_names(src, &names, &n, e);
    if (!rc && names) {
        in->names = names;
        in->nnames = (int)n;
    }
    return rc;
}

int cli_input_data(cli_input *in, const char *src, const char *split, nn_error *e)
{
    memset(in, 0, sizeof *in);
    int rc;
    if (split) {
        rc = nn_data_open(src, split, 42, &in->ds, e);
    } else {
        nn_error ignore = {0};
        split = "test";
        rc = nn_data_open(src, split, 42, &in->ds, &ignore);
        if (rc) {
            split = "train";
            rc = nn_data_open(src, split, 42, &in->ds, e);
        }
    }
    if (rc)
        return cli_hint_path(rc, e, src, CLI_WANT_DATA);
    in->open = 1;
    in->labelled = 1;
    snprintf(in->split, sizeof in->split, "%s", split);
    snprintf(in->what, sizeof in->what, "%s (%s split: %zu samples)", src, split, in->ds.n);
    if ((rc = read_names(in, src, e)))
        cli_input_free(in);
    return rc;
}

/* Reads images as the model's floats: pixels / 255 (Keras rescale=1/255). */
static int img_read(nn_dataset *d, const uint64_t *idx, int count, float *x, float *y,
                    nn_error *e)
{
    const nn_images *im = d->priv;
    size_t per = (size_t)im->h * (size_t)im->w * (size_t)im->c;
    for (int i = 0; i < count; i++) {
        if (idx[i] >= im->n)
            return nn_err(e, NN_EINVAL, "%s: image %llu out of range (%zu images)", d->source,
                          (unsigned long long)idx[i], im->n);
        const uint8_t *p = im->x + idx[i] * per;
        for (size_t k = 0; k < per; k++)
            x[(size_t)i * per + k] = (float)p[k] * (1.0f / 255.0f);
        y[i] = 0;
    }
    return NN_OK;
}

/* Notes on stderr: files skipped, images resized or converted. */
static void image_notes(const nn_images *im, const nn_shape *img)
{
    if (im->nskipped)
        fprintf(stderr, "nntrain: note: skipped %zu file%s that %s (e.g. %s)\n",
                im->nskipped, im->nskipped == 1 ? "" : "s",
                im->nskipped == 1 ? "is not an image" : "are not images",
                im->skipped_example);
    if (im->nresized)
        fprintf(stderr, "nntrain: note: resized %zu of %zu images from their sizes (e.g. %dx%d) "
                "to the model's input %dx%dx%d (HxWxC)\n", im->nresized, im->n,
                im->resized_from_h, im->resized_from_w, img->d[0], img->d[1], img->d[2]);
    if (im->nconverted)
        fprintf(stderr, "nntrain: note: %zu of %zu images converted to %d channel%s (%s), as "
                "the model's input\n", im->nconverted, im->n, img->d[2],
                img->d[2] == 1 ? "" : "s",
                img->d[2] == 1 ? "grey" : img->d[2] == 2 ? "grey + alpha"
                : img->d[2] == 3 ? "RGB" : "RGBA");
}

int cli_input_images(cli_input *in, const char *dir, const nn_model *m, int notes,
                     nn_error *e)
{
    memset(in, 0, sizeof *in);
    struct stat st;
    if (stat(dir, &st) != 0)
        return nn_err(e, NN_EIO, "--images %s: %s (expected a folder of JPEG/PNG/BMP images "
                      "or one image file)", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
        return nn_err(e, NN_EIO, "--images %s: not a folder nor a file (give the folder holding "
                      "the images, or one image)", dir);
    if (S_ISREG(st.st_mode) && !nn_images_is_image_name(dir))
        return cli_hint_path(nn_err(e, NN_EINVAL, "--images %s: not an image file name "
                                    "(expected .jpg, .png, .bmp, ...; or a folder of images)",
                                    dir), e, dir, CLI_WANT_IMAGES);
    nn_shape img;
    char ms[64];
    if (!cli_image_shape(&m->in_shape, NULL, &img))
        return nn_err(e, NN_ESHAPE, "the model's input %s is not an image (H, W, C), nor a "
                      "flat square image: --images cannot feed it",
                      nn_shape_str(&m->in_shape, ms, sizeof ms));
    if (cli_path_kind(dir) == CLI_KIND_CLASS_FOLDERS)
        return nn_err(e, NN_EINVAL, "--images %s holds class folders, not images: give one of "
                      "them (--images %s/CLASS), or evaluate the lot: nntrain convert images %s "
                      "-o data.h5, then --data data.h5", dir, dir, dir);
    nn_image_class k = {dir, ""};   /* no class: messages name the folder alone */
    nn_images_opts o = {.h = img.d[0], .w = img.d[1], .channels = img.d[2]};
    if (img.d[2] > 4)
        return nn_err(e, NN_ESHAPE, "the model's input has %d channels: images have 1 to 4",
                      img.d[2]);
    int rc = nn_images_load(&k, 1, &o, &in->im, e);
    if (rc)
        return rc;
    in->has_im = 1;
    if (notes)
        image_notes(&in->im, &img);
    nn_dataset *d = &in->ds;
    d->n = in->im.n;
    d->x_shape = m->in_shape.n == 3 ? img : m->in_shape;
    d->ydim = 1;
    snprintf(d->source, sizeof d->source, "%s", dir);
    d->read = img_read;
    d->priv = &in->im;
    in->open = 1;
    snprintf(in->what, sizeof in->what, "%s (%zu images)", dir, in->im.n);
    return NN_OK;
}

int cli_input_names(cli_input *in, const char *list, nn_error *e)
{
    int n = 1;
    for (const char *p = list; *p; p++)
        n += *p == ',';
    char **v = calloc((size_t)n, sizeof *v);
    if (!v)
        return nn_err(e, NN_ENOMEM, "out of memory");
    const char *p = list;
    for (int i = 0; i < n; i++) {
        const char *q = strchr(p, ',');
        size_t len = q ? (size_t)(q - p) : strlen(p);
        if (!len || !(v[i] = strndup(p, len))) {
            nn_h5_free_strings(v, (size_t)n);
            return len ? nn_err(e, NN_ENOMEM, "out of memory")
                       : nn_err(e, NN_EINVAL, "--class-names '%s': name %d is empty "
                                "(expected A,B,...)", list, i + 1);
        }
        p = q ? q + 1 : p + len;
    }
    nn_h5_free_strings(in->names, (size_t)in->nnames);
    in->names = v;
    in->nnames = n;
    return NN_OK;
}

int cli_input_check_names(cli_input *in, const nn_model *m, int given, int speak, nn_error *e)
{
    if (!in->names || !cli_is_classifier(m))
        return NN_OK;
    int C = nn_model_out_size(m) == 1 ? 2 : (int)nn_model_out_size(m);
    if (in->nnames == C)
        return NN_OK;
    if (given)
        return nn_err(e, NN_EINVAL, "--class-names gives %d name%s but the model has %d "
                      "classes", in->nnames, in->nnames == 1 ? "" : "s", C);
    if (speak)
        fprintf(stderr, "nntrain: warning: %s has %d class names (%s%s) but the model has %d "
                "classes: they are not used (give --class-names A,B,...)\n", in->ds.source,
                in->nnames, in->names[0], in->nnames > 1 ? ", ..." : "", C);
    nn_h5_free_strings(in->names, (size_t)in->nnames);
    in->names = NULL;
    in->nnames = 0;
    return NN_OK;
}

int cli_infer_parse(int argc, char **argv, const char *cmd, cli_opt *opts, cli_infer_args *a,
                    nn_error *e)
{
    const char *pos[1];
    int npos = 0, has_images = cli_find(opts, "--images") != NULL;
    int has_errors = cli_find(opts, "--errors") != NULL;
    cli_opt *limit = cli_find(opts, "--limit");
    memset(a, 0, sizeof *a);
    a->batch = 64;
    a->limit = -1;
    a->errors = 10;
    int rc = cli_parse_alias(argc, argv, 2, cli_find(opts, "--out") ? CLI_ALIAS_O : 0, opts,
                             pos, 1, &npos, e);
    if (!rc && (a->help = cli_find(opts, "--help")->given))
        return NN_OK;
    a->model = npos ? pos[0] : NULL;
    a->data = cli_find(opts, "--data")->value;
    a->split = cli_find(opts, "--split")->value;
    a->images = has_images ? cli_find(opts, "--images")->value : NULL;
    a->names = cli_find(opts, "--class-names")->value;
    if (!rc && npos != 1)
        rc = nn_err(e, NN_EINVAL, "%s needs one model file (nntrain %s MODEL.h5 %s)", cmd, cmd,
                    has_images ? "--images DIR" : "--data SRC");
    if (!rc && has_images && !a->data == !a->images)
        rc = nn_err(e, NN_EINVAL, "%s needs either --data SRC or --images DIR", cmd);
    else if (!rc && !has_images && !a->data)
        rc = nn_err(e, NN_EINVAL, "%s needs --data SRC", cmd);
    if (!rc && !(rc = cli_int(opts, "--batch-size", &a->batch, e)) &&
        !(rc = cli_int(opts, "--errors", &a->errors, e)) &&
        !(rc = cli_int(opts, "--limit", &a->limit, e)))
        rc = cli_int(opts, "--threads", &a->threads, e);
    if (!rc)
        rc = cli_precision(opts, e);
    if (!rc && has_errors && (a->batch < 1 || a->errors < 0 || a->errors > 100000))
        rc = nn_err(e, NN_EINVAL, "--batch-size must be >= 1 and --errors in 0..100000");
    else if (!rc && !has_errors && (a->batch < 1 || (limit && limit->given && a->limit < 1)))
        rc = nn_err(e, NN_EINVAL, "--batch-size and --limit must be >= 1");
    if (!rc && a->split && strcmp(a->split, "test") && strcmp(a->split, "train"))
        rc = nn_err(e, NN_EINVAL, "--split must be 'test' or 'train', not '%s'", a->split);
    return rc;
}

/* The class names the checkpoint keeps from its training data: they replace
 * the input's for images (which have none), and fill in for data without
 * names. Keras files and older checkpoints have none: class_N is used. */
/* 1 when the two lists hold the same names in another order. */
static int reordered(char **a, int na, char **b, int nb)
{
    if (na != nb || na < 2)
        return 0;
    int same_order = 1;
    for (int i = 0; i < na; i++) {
        int found = 0;
        for (int j = 0; j < nb && !found; j++)
            found = !strcmp(a[i], b[j]);
        if (!found)
            return 0;
        same_order = same_order && !strcmp(a[i], b[i]);
    }
    return !same_order;
}

static void join_names(char **v, int n, char *buf, size_t len)
{
    buf[0] = 0;
    for (int i = 0; i < n && strlen(buf) + 8 < len; i++)
        snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", i ? ", " : "", v[i]);
}

static int model_names(cli_input *in, const char *model, int images, int speak, nn_error *e)
{
    char **names;
    int n;
    int rc = nn_ckpt_class_names(model, &names, &n, e);
    if (rc || !names)
        return rc;
    if (in->names && !images) {
        char a[300], b[300];
        join_names(in->names, in->nnames, a, sizeof a);
        join_names(names, n, b, sizeof b);
        if (speak && reordered(in->names, in->nnames, names, n))
            fprintf(stderr, "nntrain: warning: %s has its classes in the order 0, 1, ... = "
                    "(%s) but %s was trained with (%s): labels and predictions do not match; "
                    "convert the data again with the classes in the model's order\n",
                    in->ds.source, a, model, b);
        nn_ckpt_free_names(names, n);
        return NN_OK;
    }
    nn_h5_free_strings(in->names, (size_t)in->nnames);
    in->names = names;
    in->nnames = n;
    return NN_OK;
}

int cli_infer_open(const cli_infer_args *a, int speak, nn_model *m, int *have_model,
                   cli_input *in, nn_error *e)
{
    int rc = cli_load_model(a->model, m, speak, e);
    *have_model = !rc;
    if (!rc)
        cli_precision_warn(m, speak);
    if (!rc)
        rc = a->images ? cli_input_images(in, a->images, m, speak, e)
                       : cli_input_data(in, a->data, a->split, e);
    if (!rc && !a->names)
        rc = model_names(in, a->model, a->images != NULL, speak, e);
    if (!rc && a->names)
        rc = cli_input_names(in, a->names, e);
    if (!rc)
        rc = cli_input_check_names(in, m, a->names != NULL, speak, e);
    return rc;
}

int cli_input_check_shape(const cli_input *in, const nn_model *m, nn_error *e)
{
    if (nn_shape_size(&in->ds.x_shape) == nn_model_in_size(m))
        return NN_OK;
    char a[64], b[64];
    return nn_err(e, NN_ESHAPE, "%s: samples have shape %s but the model's input is %s",
                  in->ds.source, nn_shape_str(&in->ds.x_shape, a, sizeof a),
                  nn_shape_str(&m->in_shape, b, sizeof b));
}

void cli_input_free(cli_input *in)
{
    if (in->open && !in->has_im)
        nn_data_close(&in->ds);
    if (in->has_im)
        nn_images_free(&in->im);
    nn_h5_free_strings(in->names, (size_t)in->nnames);
    memset(in, 0, sizeof *in);
}

const char *cli_class_name(const cli_input *in, int c, char *buf, size_t len)
{
    if (in->names && c >= 0 && c < in->nnames)
        return in->names[c];
    snprintf(buf, len, "class_%d", c);
    return buf;
}

const char *cli_sample_name(const cli_input *in, size_t i, char *buf, size_t len)
{
    if (in->has_im && i < in->im.n) {
        const char *f = in->im.files[i], *s = strrchr(f, '/');
        return s ? s + 1 : f;
    }
    snprintf(buf, len, "%zu", i);
    return buf;
}

int cli_read_targets(nn_dataset *ds, size_t n, float *y, nn_error *e)
{
    enum { CHUNK = 64 };
    size_t per = nn_shape_size(&ds->x_shape);
    float *x = malloc(CHUNK * per * sizeof *x);
    uint64_t ids[CHUNK];
    if (!x)
        return nn_err(e, NN_ENOMEM, "out of memory reading the targets of %s", ds->source);
    int rc = NN_OK;
    for (size_t s = 0; s < n && !rc; s += CHUNK) {
        int cnt = n - s < CHUNK ? (int)(n - s) : CHUNK;
        for (int i = 0; i < cnt; i++)
            ids[i] = s + (size_t)i;
        rc = ds->read(ds, ids, cnt, x, y + s * (size_t)ds->ydim, e);
    }
    free(x);
    return rc;
}

/* ---- output ---------------------------------------------------------------- */

void cli_csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

const char *cli_csv_quote(const char *s, char *buf, size_t len)
{
    if (!strpbrk(s, ",\"\n\r"))
        return s;
    size_t k = 0;
    buf[k++] = '"';
    for (; *s && k + 3 < len; s++) {
        if (*s == '"')
            buf[k++] = '"';
        buf[k++] = *s;
    }
    buf[k++] = '"';
    buf[k] = 0;
    return buf;
}

int cli_write_png(const char *path, int w, int h, int c, const uint8_t *px, nn_error *e)
{
    char tmp[NN_TMP_NAME_MAX];
    errno = 0;
    if (nn_tmp_path(tmp, sizeof tmp, path) || !stbi_write_png(tmp, w, h, c, px, w * c)) {
        int err = errno;
        nn_tmp_discard(tmp);
        return nn_err(e, NN_EIO, "%s: cannot write the PNG file: %s", path,
                      err ? strerror(err) : "stb_image_write failed");
    }
    if (nn_tmp_commit(tmp, path))
        return nn_err(e, NN_EIO, "%s: cannot rename %s to it: %s", path, tmp, strerror(errno));
    return NN_OK;
}

void cli_blit(uint8_t *dst, int dw, int row, int col, const float *src, const nn_shape *img,
              int scale)
{
    int H = img->d[0], W = img->d[1], C = img->d[2];
    for (int y = 0; y < H * scale; y++)
        for (int x = 0; x < W * scale; x++) {
            const float *s = src + ((size_t)(y / scale) * (size_t)W + (size_t)(x / scale)) * C;
            uint8_t *d = dst + ((size_t)(row + y) * (size_t)dw + (size_t)(col + x)) * C;
            for (int c = 0; c < C; c++) {
                float v = s[c] != s[c] ? 0.0f : s[c] < 0 ? 0.0f : s[c] > 1 ? 1.0f : s[c];
                d[c] = (uint8_t)lrintf(v * 255.0f);
            }
        }
}
