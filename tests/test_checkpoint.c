/* Checkpoints and Keras interchange: a bit-exact save/load round trip of a
 * model with every layer kind (optimizer slots, iterations, counters and
 * history too); the Keras 2 fixtures from scripts/gen_keras_fixtures.py load
 * and match PyTorch's outputs; model_config JSON round trips; unsupported
 * Keras layers/options are refused with the layer and key named; truncated,
 * corrupt and misshaped files are refused naming the file and the layer; a
 * failed save leaves no temporary file and keeps the old checkpoint. Also
 * writes NN_BINARY_DIR/ckpt_check.h5 for the scripts/check_keras_h5.py test. */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <dirent.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/keras_zip.h"
#include "nntrain/checkpoint.h"
#include "nntrain/keras.h"
#include "testutil.h"

/* Every layer kind; Dense without bias at the end. 193 parameters. */
static const char *ALL_SPEC =
    "Conv2D(3, (3, 3), padding=\"same\", activation=\"relu\", input_shape=(6, 5, 2))\n"
    "MaxPooling2D((2, 2))\n"
    "Dropout(0.25)\n"
    "Conv2D(4, (2, 2), strides=(1, 1), activation=\"tanh\", kernel_initializer=\"he_normal\", "
    "name=\"conv_b\")\n"
    "Flatten()\n"
    "Dense(7, activation=\"relu\")\n"
    "Activation(\"tanh\")\n"
    "Dropout(0.5, seed=3)\n"
    "Dense(3, activation=\"softmax\", use_bias=False)\n"
    "compile(loss=\"sparse_categorical_crossentropy\", optimizer=Adam(learning_rate=0.002), "
    "metrics=[\"accuracy\"])\n";

static const char *MLP_16 =
    "Dense(16, activation=\"relu\", input_shape=(8,))\nDense(3, activation=\"softmax\")\n";
static const char *MLP_17 =
    "Dense(17, activation=\"relu\", input_shape=(8,))\nDense(3, activation=\"softmax\")\n";

static int json_build(const char *json, const char *tc, nn_model *m, nn_error *e)
{
    nn_spec s;
    memset(e, 0, sizeof *e);
    int rc = nn_keras_json_to_spec(json, tc, "m.json", &s, e);
    if (rc)
        return rc;
    rc = nn_model_build(m, &s, e);
    nn_spec_free(&s);
    return rc;
}

static char *join(const char *dir, const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

/* Entries in dir other than . and .. (and how many look like temp files). */
static int count_entries(const char *dir, int *tmp)
{
    DIR *d = opendir(dir);
    int n = 0;
    *tmp = 0;
    if (!d)
        return -1;
    for (struct dirent *de; (de = readdir(d));) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        n++;
        if (strstr(de->d_name, ".tmp-"))
            (*tmp)++;
    }
    closedir(d);
    return n;
}

static void rm_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    for (struct dirent *de; (de = readdir(d));)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            remove(join(dir, de->d_name));
    closedir(d);
    rmdir(dir);
}

static unsigned char *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long len;
    if (f && !fseek(f, 0, SEEK_END) && (len = ftell(f)) > 0 && !fseek(f, 0, SEEK_SET) &&
        (buf = malloc((size_t)len)) && fread(buf, 1, (size_t)len, f) == (size_t)len)
        *n = (size_t)len;
    else {
        free(buf);
        buf = NULL;
    }
    if (f)
        fclose(f);
    return buf;
}

static int write_all(const char *path, const unsigned char *buf, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int rc = fwrite(buf, 1, n, f) == n ? 0 : -1;
    return fclose(f) || rc ? -1 : 0;
}

/* A model of ALL_SPEC with parameters, optimizer slots and iterations set. */
static void make_all(nn_model *m)
{
    nn_error e;
    TU_ASSERT_OK(tu_build(ALL_SPEC, m, &e), e);
    nn_model_init_params(m, 5);
    for (int i = 0; i < m->nlayers; i++)   /* non-zero biases too */
        if (m->layers[i].param_len)
            tu_fill_uniform(m->params + m->layers[i].param_off, m->layers[i].param_len,
                            100 + (uint64_t)i, -0.7f, 0.7f);
    TU_ASSERT_OK(nn_optim_alloc(&m->optim, m->nparams, &e), e);
    for (int s = 0; s < m->optim.nslots; s++)
        tu_fill_uniform(m->optim.slot[s], m->nparams, 7 + (uint64_t)s, 0.0f, 0.01f);
    m->optim.iterations = 17;
}

/* Forward of B rows of deterministic input; returns a malloc'd copy. */
static float *forward(nn_model *m, int B)
{
    nn_error e;
    size_t in = nn_model_in_size(m), out = nn_model_out_size(m);
    float *x = malloc((size_t)B * in * sizeof *x), *y = malloc((size_t)B * out * sizeof *y);
    nn_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    TU_ASSERT_OK(nn_model_plan(m, B, &e), e);
    tu_fill_uniform(x, (size_t)B * in, 99, -1.0f, 1.0f);
    memcpy(y, nn_model_forward(m, x, B, &ctx), (size_t)B * out * sizeof *y);
    free(x);
    return y;
}

static void same_layers(const nn_model *a, const nn_model *b)
{
    CU_ASSERT_EQUAL_FATAL(a->nlayers, b->nlayers);
    CU_ASSERT_EQUAL(a->nparams, b->nparams);
    for (int i = 0; i < a->nlayers; i++) {
        CU_ASSERT_STRING_EQUAL(a->layers[i].name, b->layers[i].name);
        CU_ASSERT_PTR_EQUAL(a->layers[i].ops, b->layers[i].ops);
        CU_ASSERT(nn_shape_eq(&a->layers[i].out, &b->layers[i].out));
        CU_ASSERT_EQUAL(a->layers[i].act, b->layers[i].act);
    }
}

static void test_roundtrip(void)
{
    const char *dir = tu_tmpdir();
    nn_model m, m2;
    nn_error e;
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    make_all(&m);
    CU_ASSERT_EQUAL(m.nparams, 193);
    nn_train_state st;
    memset(&st, 0, sizeof st);
    st.epoch = 3;
    st.step = 11;
    st.seed = 1234567890123ULL;
    st.data_checksum = 0xdeadbeefcafef00dULL;
    for (int i = 0; i < 2 + NN_MAX_METRICS; i++)
        st.epoch_sums[i] = 1.0 / (i + 3);
    snprintf(st.monitor, sizeof st.monitor, "val_loss");
    st.best = 0.1234567890123;
    st.has_best = 1;
    nn_history h = {.ncols = 4, .epochs = 3, .cap = 3};
    const char *cols[] = {"loss", "accuracy", "val_loss", "val_accuracy"};
    for (int c = 0; c < 4; c++)
        snprintf(h.cols[c], sizeof h.cols[c], "%s", cols[c]);
    h.vals = malloc(12 * sizeof *h.vals);
    for (int i = 0; i < 12; i++)
        h.vals[i] = sqrt(i + 2.0);

    const char *path = join(dir, "ck.h5");
    TU_ASSERT_OK(nn_ckpt_save(path, &m, ALL_SPEC, &st, &h, &e), e);
    TU_ASSERT_OK(nn_ckpt_save(path, &m, ALL_SPEC, &st, &h, &e), e);   /* overwrite */
    int tmp, n = count_entries(dir, &tmp);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL(tmp, 0);

    TU_ASSERT_OK(nn_ckpt_load_model(path, &m2, &e), e);
    same_layers(&m, &m2);
    CU_ASSERT(memcmp(m.params, m2.params, m.nparams * sizeof(float)) == 0);
    CU_ASSERT(m2.compiled);
    CU_ASSERT_EQUAL(m2.loss, NN_LOSS_SCCE);
    CU_ASSERT_EQUAL(m2.optim.kind, NN_OPT_ADAM);
    CU_ASSERT_DOUBLE_EQUAL(m2.optim.lr, 0.002, 1e-15);
    CU_ASSERT_EQUAL(m2.nmetrics, 1);
    CU_ASSERT_STRING_EQUAL(m2.layers[3].name, "conv_b");

    nn_train_state st2;
    nn_history h2 = {0};
    TU_ASSERT_OK(nn_optim_alloc(&m2.optim, m2.nparams, &e), e);
    TU_ASSERT_OK(nn_ckpt_load_state(path, &m2, &st2, &h2, &e), e);
    CU_ASSERT_EQUAL(m2.optim.iterations, 17);
    for (int s = 0; s < m.optim.nslots; s++)
        CU_ASSERT(memcmp(m.optim.slot[s], m2.optim.slot[s], m.nparams * sizeof(float)) == 0);
    CU_ASSERT_EQUAL(st2.epoch, 3);
    CU_ASSERT_EQUAL(st2.step, 11);
    CU_ASSERT_EQUAL(st2.seed, st.seed);
    CU_ASSERT_EQUAL(st2.data_checksum, st.data_checksum);
    CU_ASSERT(memcmp(st.epoch_sums, st2.epoch_sums, sizeof st.epoch_sums) == 0);
    CU_ASSERT_STRING_EQUAL(st2.monitor, "val_loss");
    CU_ASSERT(st2.best == st.best);
    CU_ASSERT_EQUAL(st2.has_best, 1);
    CU_ASSERT_EQUAL(h2.ncols, 4);
    CU_ASSERT_EQUAL_FATAL(h2.epochs, 3);
    for (int c = 0; c < 4; c++)
        CU_ASSERT_STRING_EQUAL(h2.cols[c], cols[c]);
    CU_ASSERT(memcmp(h.vals, h2.vals, 12 * sizeof *h.vals) == 0);

    float *y1 = forward(&m, 3), *y2 = forward(&m2, 3);
    CU_ASSERT(memcmp(y1, y2, 3 * nn_model_out_size(&m) * sizeof *y1) == 0);
    free(y1);
    free(y2);

    char *spec = nn_ckpt_read_spec(path, &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(spec);
    CU_ASSERT_STRING_EQUAL(spec, ALL_SPEC);
    free(spec);

    /* weights into a fresh model built from the spec */
    nn_model m3;
    TU_ASSERT_OK(tu_build(ALL_SPEC, &m3, &e), e);
    TU_ASSERT_OK(nn_ckpt_load_weights(path, &m3, 0, &e), e);
    CU_ASSERT(memcmp(m.params, m3.params, m.nparams * sizeof(float)) == 0);
    nn_model_free(&m3);

    /* the file for the check_keras_h5.py test (tests/cli_tests.cmake) */
    TU_ASSERT_OK(nn_ckpt_save(NN_BINARY_DIR "/ckpt_check.h5", &m, ALL_SPEC, &st, &h, &e), e);

    nn_history_free(&h);
    nn_history_free(&h2);
    nn_model_free(&m);
    nn_model_free(&m2);
    rm_dir(dir);
}

/* Transfer learning: a new head is missing from the file. */
static void test_load_weights_missing(void)
{
    const char *dir = tu_tmpdir();
    nn_model a, b;
    nn_error e;
    TU_ASSERT_OK(tu_build(MLP_16, &a, &e), e);
    nn_model_init_params(&a, 1);
    TU_ASSERT_OK(nn_ckpt_save(join(dir, "a.h5"), &a, MLP_16, NULL, NULL, &e), e);
    TU_ASSERT_OK(tu_build("Dense(16, activation=\"relu\", input_shape=(8,))\n"
                          "Dense(5, activation=\"softmax\", name=\"new_head\")\n", &b, &e), e);
    nn_model_init_params(&b, 2);
    float head0 = b.params[b.layers[1].param_off];
    CU_ASSERT_EQUAL(nn_ckpt_load_weights(join(dir, "a.h5"), &b, 0, &e), NN_EFORMAT);
    CU_ASSERT(tu_contains(e.msg, "'new_head'"));
    CU_ASSERT(tu_contains(e.msg, "a.h5"));
    TU_ASSERT_OK(nn_ckpt_load_weights(join(dir, "a.h5"), &b, 1, &e), e);
    CU_ASSERT(memcmp(a.params, b.params, b.layers[0].param_len * sizeof(float)) == 0);
    CU_ASSERT(b.params[b.layers[1].param_off] == head0);
    nn_model_free(&a);
    nn_model_free(&b);
    rm_dir(dir);
}

static float *read_f32(const char *file, const char *name, size_t *n)
{
    hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = f >= 0 ? H5Dopen2(f, name, H5P_DEFAULT) : -1;
    hid_t sp = d >= 0 ? H5Dget_space(d) : -1;
    hssize_t np = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    float *buf = np > 0 ? malloc((size_t)np * sizeof *buf) : NULL;
    if (buf && H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        free(buf);
        buf = NULL;
    }
    if ((sp >= 0 && H5Sclose(sp) < 0) || (d >= 0 && H5Dclose(d) < 0) ||
        (f >= 0 && H5Fclose(f) < 0))
        CU_FAIL("HDF5 close failed");
    if (!buf)
        fprintf(stderr, "  cannot read %s:%s\n", file, name);
    *n = buf ? (size_t)np : 0;
    return buf;
}

/* file's model against keras_expect.h5's which/x -> which/y. */
static void check_fixture(const char *file, const char *which, size_t nparams,
                          const char *const *names, const char *model_name)
{
    char path[512], ds[64];
    nn_model m, m2;
    nn_error e;
    snprintf(path, sizeof path, "%s/%s", NN_FIXTURES_DIR, file);
    TU_ASSERT_OK(nn_ckpt_load_model(path, &m, &e), e);
    CU_ASSERT_EQUAL(m.nparams, nparams);
    CU_ASSERT_STRING_EQUAL(m.name, model_name);
    for (int i = 0; names[i]; i++)
        CU_ASSERT(i < m.nlayers && !strcmp(m.layers[i].name, names[i]));
    size_t nx, ny;
    snprintf(ds, sizeof ds, "%s/x", which);
    float *x = read_f32(NN_FIXTURES_DIR "/keras_expect.h5", ds, &nx);
    snprintf(ds, sizeof ds, "%s/y", which);
    float *y = read_f32(NN_FIXTURES_DIR "/keras_expect.h5", ds, &ny);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    CU_ASSERT_PTR_NOT_NULL_FATAL(y);
    int B = (int)(nx / nn_model_in_size(&m));
    CU_ASSERT_EQUAL_FATAL((size_t)B * nn_model_out_size(&m), ny);
    nn_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    TU_ASSERT_OK(nn_model_plan(&m, B, &e), e);
    const float *out = nn_model_forward(&m, x, B, &ctx);
    long bad;
    double mx = tu_max_diff(out, y, ny, 1e-5, &bad);
    if (bad >= 0)
        fprintf(stderr, "  %s: max diff %g, first bad index %ld (%g vs %g)\n", which, mx, bad,
                out[bad], y[bad]);
    CU_ASSERT(bad < 0 && mx <= 1e-5);

    /* its spec saves into an nntrain checkpoint that loads back the same */
    const char *dir = tu_tmpdir();
    char *spec = nn_ckpt_read_spec(path, &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(spec);
    TU_ASSERT_OK(nn_ckpt_save(join(dir, "k.h5"), &m, spec, NULL, NULL, &e), e);
    TU_ASSERT_OK(nn_ckpt_load_model(join(dir, "k.h5"), &m2, &e), e);
    same_layers(&m, &m2);
    CU_ASSERT(memcmp(m.params, m2.params, m.nparams * sizeof(float)) == 0);
    CU_ASSERT_EQUAL(m2.loss, m.loss);
    CU_ASSERT_EQUAL(m2.optim.kind, m.optim.kind);
    CU_ASSERT(m2.optim.lr == m.optim.lr);
    /* a Keras file has no training state */
    CU_ASSERT_EQUAL(nn_ckpt_load_state(path, &m, NULL, NULL, &e), NN_EFORMAT);
    CU_ASSERT(tu_contains(e.msg, "/nntrain"));
    free(spec);
    free(x);
    free(y);
    nn_model_free(&m);
    nn_model_free(&m2);
    rm_dir(dir);
}

/* The training data's class names are kept (root attribute class_names, as
 * h5py reads it too); a file saved without them, and a Keras file, has none;
 * nn_ckpt_load_state leaves them NULL (they belong to the run). */
static void test_class_names(void)
{
    const char *dir = tu_tmpdir();
    nn_model m;
    nn_error e = {0};
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    make_all(&m);
    static const char *const names[] = {"notrick", "rick", "a, \"quoted\" name"};
    nn_train_state st;
    memset(&st, 0, sizeof st);
    st.class_names = names;
    st.nclass_names = 3;
    const char *with = join(dir, "names.h5"), *without = join(dir, "plain.h5");
    TU_ASSERT_OK(nn_ckpt_save(with, &m, ALL_SPEC, &st, NULL, &e), e);
    TU_ASSERT_OK(nn_ckpt_save(without, &m, ALL_SPEC, NULL, NULL, &e), e);
    char **v;
    int n;
    TU_ASSERT_OK(nn_ckpt_class_names(with, &v, &n, &e), e);
    CU_ASSERT_EQUAL_FATAL(n, 3);
    for (int i = 0; i < 3; i++)
        CU_ASSERT_STRING_EQUAL(v[i], names[i]);
    nn_ckpt_free_names(v, n);
    TU_ASSERT_OK(nn_ckpt_class_names(without, &v, &n, &e), e);
    CU_ASSERT(v == NULL && n == 0);
    TU_ASSERT_OK(nn_ckpt_class_names(NN_FIXTURES_DIR "/keras_mlp.h5", &v, &n, &e), e);
    CU_ASSERT(v == NULL && n == 0);
    CU_ASSERT_EQUAL(nn_ckpt_class_names(join(dir, "missing.h5"), &v, &n, &e), NN_EIO);
    nn_train_state st2;
    TU_ASSERT_OK(nn_optim_alloc(&m.optim, m.nparams, &e), e);
    TU_ASSERT_OK(nn_ckpt_load_state(with, &m, &st2, NULL, &e), e);
    CU_ASSERT(st2.class_names == NULL && st2.nclass_names == 0);
    nn_model_free(&m);
    rm_dir(dir);
}

static void test_keras_fixtures(void)
{
    static const char *const mlp[] = {"dense", "dense_1", NULL};
    static const char *const cnn[] = {"conv2d_1", "max_pooling2d_1", "flatten_1", "dense_1", NULL};
    nn_model m;
    nn_error e;
    check_fixture("keras_mlp.h5", "mlp", 8 * 16 + 16 + 16 * 3 + 3, mlp, "sequential");
    check_fixture("keras_cnn.h5", "cnn", 3 * 3 * 2 * 4 + 4 + 36 * 3 + 3, cnn, "sequential_1");
    /* compile() from training_config */
    TU_ASSERT_OK(nn_ckpt_load_model(NN_FIXTURES_DIR "/keras_mlp.h5", &m, &e), e);
    CU_ASSERT_EQUAL(m.loss, NN_LOSS_SCCE);
    CU_ASSERT_EQUAL(m.optim.kind, NN_OPT_RMSPROP);
    CU_ASSERT_DOUBLE_EQUAL(m.optim.lr, 0.001, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(m.optim.rho, 0.9, 1e-7);
    CU_ASSERT(m.nmetrics == 1 && !strcmp(m.metric_names[0], "accuracy"));
    CU_ASSERT(m.fused);
    nn_model_free(&m);
    TU_ASSERT_OK(nn_ckpt_load_model(NN_FIXTURES_DIR "/keras_cnn.h5", &m, &e), e);
    CU_ASSERT_EQUAL(m.loss, NN_LOSS_CCE);
    CU_ASSERT_EQUAL(m.optim.kind, NN_OPT_ADAM);
    CU_ASSERT_DOUBLE_EQUAL(m.optim.beta_2, 0.999, 1e-7);
    nn_model_free(&m);
}

/* keras_mlp.h5 with each writer's training_config (scripts/gen_keras_fixtures.py):
 * the same predictions, the compile settings read, or left out with a note. */
static nn_model *load_writer(const char *writer, nn_model *m, int nnotes, const char *note)
{
    static const char *const mlp[] = {"dense", "dense_1", NULL};
    char file[64], path[512], **notes;
    int n;
    nn_error e;
    snprintf(file, sizeof file, "keras_mlp_%s.h5", writer);
    snprintf(path, sizeof path, "%s/%s", NN_FIXTURES_DIR, file);
    check_fixture(file, "mlp", 8 * 16 + 16 + 16 * 3 + 3, mlp, "sequential");
    TU_ASSERT_OK(nn_ckpt_load_model_notes(path, m, &notes, &n, &e), e);
    if (n != nnotes)
        fprintf(stderr, "  %s: %d notes, expected %d%s%s\n", writer, n, nnotes,
                n ? ": " : "", n ? notes[0] : "");
    CU_ASSERT_EQUAL(n, nnotes);
    if (note)
        CU_ASSERT(n > 0 && tu_contains(notes[0], note) && tu_contains(notes[0], "left out"));
    nn_ckpt_free_names(notes, n);
    return m;
}

static void test_keras_writers(void)
{
    nn_model m;
    load_writer("rkeras", &m, 0, NULL);   /* clipnorm/clipvalue -1: not set */
    CU_ASSERT(m.compiled && m.optim.kind == NN_OPT_RMSPROP);
    CU_ASSERT(m.optim.clipnorm <= 0 && m.optim.clipvalue <= 0);
    CU_ASSERT_DOUBLE_EQUAL(m.optim.lr, 0.001, 1e-9);
    nn_model_free(&m);
    load_writer("tf211", &m, 0, NULL);
    CU_ASSERT(m.compiled && m.optim.kind == NN_OPT_ADAM && m.loss == NN_LOSS_SCCE);
    CU_ASSERT_DOUBLE_EQUAL(m.optim.clipnorm, 1.0, 0);
    CU_ASSERT_EQUAL(m.optim.sched.kind, NN_SCHED_EXPONENTIAL);
    CU_ASSERT(m.nmetrics == 1 && !strcmp(m.metric_names[0], "accuracy"));
    nn_model_free(&m);
    load_writer("k3", &m, 0, NULL);
    CU_ASSERT(m.compiled && m.optim.kind == NN_OPT_SGD && m.optim.nesterov);
    CU_ASSERT_DOUBLE_EQUAL(m.optim.momentum, 0.9, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(m.optim.global_clipnorm, 1.0, 0);
    CU_ASSERT_EQUAL(m.optim.sched.kind, NN_SCHED_COSINE);
    CU_ASSERT(m.nmetrics == 1 && !strcmp(m.metric_names[0], "sparse_categorical_accuracy"));
    nn_model_free(&m);
    /* the optimizer left out, the loss kept (evaluate reports it) */
    load_writer("amsgrad", &m, 1, "Adam amsgrad=true is not supported");
    CU_ASSERT(m.compiled && m.loss == NN_LOSS_SCCE);
    nn_model_free(&m);
    /* no loss nntrain has: no compile at all */
    load_writer("adagrad", &m, 1, "loss Huber is not one nntrain has");
    CU_ASSERT(!m.compiled);
    nn_model_free(&m);
}

static void test_json_roundtrip(void)
{
    nn_model m, m2;
    nn_error e;
    make_all(&m);
    char *json = nn_model_to_keras_json(&m, ALL_SPEC, &e);
    char *tc = nn_model_training_config_json(&m, &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tc);
    cJSON *j = cJSON_Parse(json);
    const cJSON *layers = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "config"), "layers");
    CU_ASSERT_EQUAL_FATAL(cJSON_GetArraySize(layers), m.nlayers + 1);
    const cJSON *in = cJSON_GetArrayItem(layers, 0);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(in, "class_name")->valuestring, "InputLayer");
    char *bis = cJSON_PrintUnformatted(
        cJSON_GetObjectItem(cJSON_GetObjectItem(in, "config"), "batch_input_shape"));
    CU_ASSERT_STRING_EQUAL(bis, "[null,6,5,2]");
    free(bis);
    const cJSON *c1 = cJSON_GetObjectItem(cJSON_GetArrayItem(layers, 1), "config");
    const cJSON *c4 = cJSON_GetObjectItem(cJSON_GetArrayItem(layers, 4), "config");
    const cJSON *c3 = cJSON_GetObjectItem(cJSON_GetArrayItem(layers, 3), "config");
    const cJSON *c9 = cJSON_GetObjectItem(cJSON_GetArrayItem(layers, 9), "config");
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(cJSON_GetObjectItem(c1, "kernel_initializer"),
                                               "class_name")->valuestring, "GlorotUniform");
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(c1, "padding")->valuestring, "same");
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(cJSON_GetObjectItem(c4, "kernel_initializer"),
                                               "class_name")->valuestring, "HeNormal");
    CU_ASSERT_DOUBLE_EQUAL(cJSON_GetObjectItem(c3, "rate")->valuedouble, 0.25, 0);
    CU_ASSERT(cJSON_IsFalse(cJSON_GetObjectItem(c9, "use_bias")));
    cJSON_Delete(j);

    TU_ASSERT_OK(json_build(json, tc, &m2, &e), e);
    same_layers(&m, &m2);
    CU_ASSERT_EQUAL(m2.optim.kind, NN_OPT_ADAM);
    CU_ASSERT(m2.optim.lr == m.optim.lr);
    CU_ASSERT_EQUAL(m2.loss, m.loss);
    memcpy(m2.params, m.params, m.nparams * sizeof(float));
    float *y1 = forward(&m, 2), *y2 = forward(&m2, 2);
    CU_ASSERT(memcmp(y1, y2, 2 * nn_model_out_size(&m) * sizeof *y1) == 0);
    free(y1);
    free(y2);
    free(json);
    free(tc);
    nn_model_free(&m2);

    /* without the spec only shape-decided options can be exported */
    CU_ASSERT_PTR_NULL(nn_model_to_keras_json(&m, NULL, &e));
    CU_ASSERT(tu_contains(e.msg, "max_pooling2d"));
    CU_ASSERT(tu_contains(e.msg, "spec"));
    nn_model_free(&m);
    TU_ASSERT_OK(tu_build(MLP_16, &m, &e), e);
    json = nn_model_to_keras_json(&m, NULL, &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(json);
    TU_ASSERT_OK(json_build(json, NULL, &m2, &e), e);
    same_layers(&m, &m2);
    CU_ASSERT(!m2.compiled);
    free(json);
    nn_model_free(&m);
    nn_model_free(&m2);

    /* the older form: no InputLayer, config a list, batch_input_shape first */
    TU_ASSERT_OK(json_build(
        "{\"class_name\": \"Sequential\", \"config\": [{\"class_name\": \"Dense\", \"config\": "
        "{\"name\": \"dense_1\", \"trainable\": true, \"batch_input_shape\": [null, 4], "
        "\"dtype\": \"float32\", \"units\": 2, \"activation\": \"linear\", \"use_bias\": true, "
        "\"kernel_initializer\": {\"class_name\": \"VarianceScaling\", "
        "\"config\": {\"scale\": 2.0, "
        "\"mode\": \"fan_in\", \"distribution\": \"normal\", \"seed\": null}}, "
        "\"bias_initializer\": {\"class_name\": \"Zeros\", \"config\": {}}, "
        "\"kernel_regularizer\": null, \"bias_regularizer\": null, \"activity_regularizer\": null, "
        "\"kernel_constraint\": null, \"bias_constraint\": null}}]}",
        "{\"loss\": \"mse\", \"optimizer_config\": {\"class_name\": \"Custom>SGD\", \"config\": "
        "{\"learning_rate\": 0.05, \"momentum\": 0.9, \"nesterov\": true, \"clipnorm\": null}}}",
        &m, &e), e);
    CU_ASSERT_EQUAL(m.nparams, 10);
    CU_ASSERT_STRING_EQUAL(m.layers[0].name, "dense_1");
    CU_ASSERT_EQUAL(m.optim.kind, NN_OPT_SGD);
    CU_ASSERT(m.optim.nesterov && m.optim.momentum == 0.9);
    nn_model_free(&m);
}

/* Asserts that importing json fails with code and the needles in the message. */
static void json_fails(const char *json, const char *tc, int code, const char *n1,
                       const char *n2)
{
    nn_model m;
    nn_error e;
    int rc = json_build(json, tc, &m, &e);
    if (rc != code)
        fprintf(stderr, "  expected %d, got %d (%s)\n", code, rc, e.msg);
    CU_ASSERT_EQUAL(rc, code);
    if (rc == NN_OK)
        nn_model_free(&m);
    CU_ASSERT(tu_contains(e.msg, n1));
    if (n2)
        CU_ASSERT(tu_contains(e.msg, n2));
}

/* json + tc load, with one note naming n1 (and n2); compiled or not. */
static void json_note(const char *json, const char *tc, int compiled, const char *n1,
                      const char *n2)
{
    nn_spec s;
    nn_model m;
    nn_error e = {0};
    TU_ASSERT_OK(nn_keras_json_to_spec(json, tc, "m.json", &s, &e), e);
    CU_ASSERT_EQUAL(s.nnotes, 1);
    if (s.nnotes != 1)
        fprintf(stderr, "  %d notes for %s\n", s.nnotes, tc);
    for (int i = 0; i < s.nnotes; i++) {
        CU_ASSERT(tu_contains(s.notes[i], n1) && tu_contains(s.notes[i], "left out"));
        if (n2)
            CU_ASSERT(tu_contains(s.notes[i], n2));
    }
    TU_ASSERT_OK(nn_model_build(&m, &s, &e), e);
    CU_ASSERT_EQUAL(m.compiled != 0, compiled);
    nn_model_free(&m);
    nn_spec_free(&s);
}

#define SEQ(layers)                                                                      \
    "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"s\", \"layers\": [" layers "]}}"
#define INPUT(shape)                                                                     \
    "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": " shape    \
    ", \"name\": \"in\"}}"
#define DENSE_OK "{\"class_name\": \"Dense\", \"config\": {\"name\": \"dense\", \"units\": 2}}"

static void test_json_errors(void)
{
    json_fails(SEQ(INPUT("[null, 4]") ", {\"class_name\": \"LayerNormalization\", \"config\": "
                   "{\"name\": \"layer_normalization\", \"axis\": -1}}"), NULL, NN_EINVAL,
               "unsupported Keras layer 'LayerNormalization' (layer 'layer_normalization'): "
               "nntrain supports Dense, Conv2D", "m.json");
    json_fails(SEQ(INPUT("[null, 4]") ", {\"class_name\": \"Dense\", \"config\": {\"name\": "
                   "\"dense\", \"units\": 2, \"kernel_regularizer\": {\"class_name\": "
                   "\"OrthogonalRegularizer\", \"config\": {\"factor\": 0.01}}}}"), NULL, NN_EINVAL,
               "'dense'", "kernel_regularizer");
    json_fails(SEQ(INPUT("[null, 6, 6, 1]") ", {\"class_name\": \"Conv2D\", \"config\": {\"name\": "
                   "\"conv2d\", \"filters\": 2, \"kernel_size\": [3, 3], "
                   "\"dilation_rate\": [2, 2]}}"),
               NULL, NN_EINVAL, "'conv2d'", "dilation_rate [2,2]");
    json_fails(SEQ(INPUT("[null, 4]") ", {\"class_name\": \"Dense\", \"config\": {\"name\": "
                   "\"dense\", \"units\": 2, \"foo\": 1}}"), NULL, NN_EINVAL, "'foo'", "'dense'");
    json_fails(SEQ(INPUT("[null, null, 3]") "," DENSE_OK), NULL, NN_EINVAL, "variable-size", NULL);
    json_fails("{\"class_name\": \"Sequential\", \"config\": {\"layers\": [}", NULL, NN_EFORMAT,
               "not valid JSON", "m.json");
    json_fails("{\"class_name\": \"Graph\", \"config\": {\"layers\": []}}", NULL, NN_EINVAL,
               "'Graph'", "Sequential and functional");
    json_fails("{\"class_name\": \"Functional\", \"config\": {\"layers\": []}}", NULL,
               NN_EFORMAT, "no layers", NULL);
    /* what nntrain cannot train with is left out with a note, not refused */
    json_note(SEQ(INPUT("[null, 4]") "," DENSE_OK),
              "{\"loss\": \"mse\", \"optimizer_config\": {\"class_name\": \"Adamax\", "
              "\"config\": {}}}", 1, "'Adamax'", "Nadam");
    json_note(SEQ(INPUT("[null, 4]") "," DENSE_OK),
              "{\"loss\": {\"class_name\": \"CategoricalCrossentropy\", \"config\": "
              "{\"label_smoothing\": 0.1}}}", 0, "label_smoothing", NULL);
    json_note(SEQ(INPUT("[null, 4]") "," DENSE_OK),
              "{\"loss\": \"mse\", \"optimizer_config\": {\"class_name\": \"SGD\", \"config\": "
              "{\"weight_decay\": 0.004}}}", 1, "SGD weight_decay=0.004", NULL);
    json_note(SEQ(INPUT("[null, 4]") "," DENSE_OK),
              "{\"loss\": \"mse\", \"optimizer_config\": {\"class_name\": \"Adam\", \"config\": "
              "{\"learning_rate\": {\"class_name\": \"CosineDecayRestarts\", \"config\": {}}}}}",
              1, "CosineDecayRestarts", "ExponentialDecay");
    json_note(SEQ(INPUT("[null, 4]") "," DENSE_OK), "{\"loss\": \"huber_loss\"}", 0,
              "loss 'huber_loss'", NULL);
    json_note(SEQ(INPUT("[null, 4]") "," DENSE_OK),
              "{\"loss\": \"mse\", \"optimizer_config\": {\"class_name\": \"RMSprop\", "
              "\"config\": {\"centered\": true}}, \"metrics\": [\"mae\"]}", 1, "centered=true",
              NULL);
    /* a renamed loss object is its class */
    nn_model m;
    nn_error e;
    TU_ASSERT_OK(json_build(SEQ(INPUT("[null, 4]") "," DENSE_OK),
                            "{\"loss\": {\"class_name\": \"MeanAbsoluteError\", \"config\": "
                            "{\"name\": \"my_mae\", \"reduction\": \"auto\"}}}", &m, &e), e);
    CU_ASSERT(m.compiled && m.loss == NN_LOSS_MAE);
    nn_model_free(&m);
    /* malformed is still an error */
    json_fails(SEQ(INPUT("[null, 4]") "," DENSE_OK),
               "{\"loss\": \"mse\", \"optimizer_config\": [1]}", NN_EFORMAT,
               "optimizer_config [1]", NULL);
    /* the model builder still checks what the importer passes through */
    json_fails(SEQ(INPUT("[null, 4]") ", {\"class_name\": \"Dense\", \"config\": {\"name\": "
                   "\"dense\", \"units\": 2, \"activation\": \"hard_sigmoid\"}}"), NULL,
               NN_EINVAL, "hard_sigmoid", NULL);
}

/* The other registered layers: weights under their Keras names (LSTM's
 * recurrent_kernel:0), options exported from the spec under Keras names. */
static void test_other_layers(void)
{
    static const char *spec =
        "Embedding(50, 4, input_length=6)\n"
        "SimpleRNN(5, return_sequences=True)\n"
        "LSTM(3)\n"
        "Dense(2, activation=\"softmax\")\n"
        "compile(loss=\"sparse_categorical_crossentropy\", optimizer=\"adam\")\n";
    const char *dir = tu_tmpdir();
    nn_model m, m2;
    nn_error e;
    TU_ASSERT_OK(tu_build(spec, &m, &e), e);
    nn_model_init_params(&m, 9);
    const char *path = join(dir, "rnn.h5");
    TU_ASSERT_OK(nn_ckpt_save(path, &m, spec, NULL, NULL, &e), e);
    TU_ASSERT_OK(nn_ckpt_load_model(path, &m2, &e), e);
    same_layers(&m, &m2);
    CU_ASSERT(memcmp(m.params, m2.params, m.nparams * sizeof(float)) == 0);
    nn_model_free(&m2);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CU_ASSERT(f >= 0 &&
              H5Lexists(f, "model_weights/lstm/lstm/recurrent_kernel:0", H5P_DEFAULT) > 0);
    CU_ASSERT(f >= 0 &&
              H5Lexists(f, "model_weights/embedding/embedding/embeddings:0", H5P_DEFAULT) > 0);
    CU_ASSERT(f >= 0 && H5Fclose(f) >= 0);

    char *json = nn_model_to_keras_json(&m, spec, &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(json);
    CU_ASSERT(tu_contains(json, "\"return_sequences\":true"));
    CU_ASSERT(tu_contains(json, "\"input_dim\":50"));
    TU_ASSERT_OK(json_build(json, NULL, &m2, &e), e);
    same_layers(&m, &m2);
    free(json);
    nn_model_free(&m2);
    CU_ASSERT_PTR_NULL(nn_model_to_keras_json(&m, NULL, &e));
    CU_ASSERT(tu_contains(e.msg, "'embedding'"));
    nn_model_free(&m);
    rm_dir(dir);
}

/* The pooling and padding layers: checkpoint round trip; Keras JSON export
 * with the keys Keras writes (pools as MaxPooling2D, keepdims only when
 * set, ZeroPadding2D's nested padding) and back; a config as TF 2.x and
 * Keras 2.2 write it; channels_first refused, named. */
static void test_pool_layers(void)
{
    static const char *spec =
        "ZeroPadding2D(((1, 0), (2, 1)), input_shape=(7, 6, 2))\n"
        "Conv2D(4, 3, activation=\"relu\")\n"
        "AveragePooling2D(3, strides=2, padding=\"same\")\n"
        "GlobalMaxPooling2D(keepdims=True)\n"
        "Conv2D(3, 1)\n"
        "GlobalAveragePooling2D()\n"
        "Dense(2, activation=\"softmax\")\n"
        "compile(loss=\"categorical_crossentropy\", optimizer=\"adam\")\n";
    const char *dir = tu_tmpdir();
    nn_model m, m2;
    nn_error e;
    TU_ASSERT_OK(tu_build(spec, &m, &e), e);
    nn_model_init_params(&m, 4);
    const char *path = join(dir, "pool.h5");
    TU_ASSERT_OK(nn_ckpt_save(path, &m, spec, NULL, NULL, &e), e);
    TU_ASSERT_OK(nn_ckpt_load_model(path, &m2, &e), e);
    same_layers(&m, &m2);
    CU_ASSERT(memcmp(m.params, m2.params, m.nparams * sizeof(float)) == 0);
    float *y1 = forward(&m, 3), *y2 = forward(&m2, 3);
    CU_ASSERT(memcmp(y1, y2, 3 * nn_model_out_size(&m) * sizeof *y1) == 0);
    free(y2);
    nn_model_free(&m2);

    char *json = nn_model_to_keras_json(&m, spec, &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(json);
    cJSON *j = cJSON_Parse(json);
    const cJSON *layers = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "config"), "layers");
    CU_ASSERT_EQUAL_FATAL(cJSON_GetArraySize(layers), m.nlayers + 1);
    static const char *const want[] = {
        "{\"padding\":[[1,0],[2,1]]}",
        "{\"pool_size\":[3,3],\"padding\":\"same\",\"strides\":[2,2],"
        "\"data_format\":\"channels_last\"}",
        "{\"data_format\":\"channels_last\",\"keepdims\":true}",
        "{\"data_format\":\"channels_last\"}"};
    static const int at[] = {1, 3, 4, 6};
    for (int i = 0; i < 4; i++) {
        /* the layer's own keys: drop the common ones */
        cJSON *cf = cJSON_Duplicate(
            cJSON_GetObjectItem(cJSON_GetArrayItem(layers, at[i]), "config"), 1);
        cJSON_DeleteItemFromObject(cf, "name");
        cJSON_DeleteItemFromObject(cf, "trainable");
        cJSON_DeleteItemFromObject(cf, "dtype");
        cJSON_DeleteItemFromObject(cf, "batch_input_shape");
        char *got = cJSON_PrintUnformatted(cf);
        if (strcmp(got, want[i]))
            fprintf(stderr, "  layer %d: %s, expected %s\n", at[i], got, want[i]);
        CU_ASSERT_STRING_EQUAL(got, want[i]);
        free(got);
        cJSON_Delete(cf);
    }
    cJSON_Delete(j);
    TU_ASSERT_OK(json_build(json, NULL, &m2, &e), e);
    same_layers(&m, &m2);
    memcpy(m2.params, m.params, m.nparams * sizeof(float));
    y2 = forward(&m2, 3);
    CU_ASSERT(memcmp(y1, y2, 3 * nn_model_out_size(&m) * sizeof *y1) == 0);
    free(y1);
    free(y2);
    free(json);
    nn_model_free(&m2);
    /* ZeroPadding2D's sides are not in the shapes: the spec is needed */
    CU_ASSERT_PTR_NULL(nn_model_to_keras_json(&m, NULL, &e));
    CU_ASSERT(tu_contains(e.msg, "'zero_padding2d'"));
    nn_model_free(&m);
    rm_dir(dir);

    /* as TF 2.x writes it (keepdims false), then Keras 2.2 (no keepdims) */
#define POOLS(keep)                                                                          \
    SEQ(INPUT("[null, 6, 6, 2]")                                                             \
        ", {\"class_name\": \"ZeroPadding2D\", \"config\": {\"name\": \"zero_padding2d\", "      \
        "\"trainable\": true, \"dtype\": \"float32\", \"padding\": [[1, 1], [1, 1]], "          \
        "\"data_format\": \"channels_last\"}}, "                                              \
        "{\"class_name\": \"AveragePooling2D\", \"config\": {\"name\": \"avg\", "                \
        "\"trainable\": true, \"dtype\": \"float32\", \"pool_size\": [2, 2], "                  \
        "\"padding\": \"valid\", \"strides\": [2, 2], \"data_format\": \"channels_last\"}}, "     \
        "{\"class_name\": \"GlobalMaxPooling2D\", \"config\": {\"name\": \"gmp\", "              \
        "\"trainable\": true, \"dtype\": \"float32\", \"data_format\": \"channels_last\"" keep   \
        "}}, " DENSE_OK)
    static const char *const keras[] = {POOLS(", \"keepdims\": false"), POOLS("")};
    for (int i = 0; i < 2; i++) {
        TU_ASSERT_OK(json_build(keras[i], NULL, &m, &e), e);
        CU_ASSERT_EQUAL_FATAL(m.nlayers, 4);
        CU_ASSERT_STRING_EQUAL(m.layers[1].name, "avg");
        nn_shape s0 = nn_shape3(8, 8, 2), s1 = nn_shape3(4, 4, 2), s2 = nn_shape1(2);
        CU_ASSERT(nn_shape_eq(&m.layers[0].out, &s0));
        CU_ASSERT(nn_shape_eq(&m.layers[1].out, &s1));
        CU_ASSERT(nn_shape_eq(&m.layers[2].out, &s2));
        CU_ASSERT_EQUAL(m.nparams, 6);
        nn_model_free(&m);
    }
    json_fails(SEQ(INPUT("[null, 2, 6, 6]") ", {\"class_name\": \"AveragePooling2D\", "
                   "\"config\": {\"name\": \"avg\", \"pool_size\": [2, 2], "
                   "\"data_format\": \"channels_first\"}}"),
               NULL, NN_EINVAL, "Keras layer 'avg' (AveragePooling2D): data_format "
               "\"channels_first\" is not supported", "m.json");
    json_fails(SEQ(INPUT("[null, 2, 6, 6]") ", {\"class_name\": \"GlobalAveragePooling2D\", "
                   "\"config\": {\"name\": \"gap\", \"data_format\": \"channels_first\"}}"),
               NULL, NN_EINVAL, "channels_first", "'gap' (GlobalAveragePooling2D)");
}

static void expect_refused(const char *path, const char *n1, const char *n2)
{
    nn_model m;
    nn_error e;
    memset(&e, 0, sizeof e);
    int rc = nn_ckpt_load_model(path, &m, &e);
    if (rc != NN_EFORMAT && rc != NN_EIO)
        fprintf(stderr, "  %s: expected a refusal, got %d (%s)\n", path, rc, e.msg);
    CU_ASSERT(rc == NN_EFORMAT || rc == NN_EIO);
    if (rc == NN_OK)
        nn_model_free(&m);
    CU_ASSERT(tu_contains(e.msg, path));
    if (n1)
        CU_ASSERT(tu_contains(e.msg, n1));
    if (n2)
        CU_ASSERT(tu_contains(e.msg, n2));
}

static void test_truncated_corrupt(void)
{
    const char *dir = tu_tmpdir();
    nn_model m;
    nn_error e;
    make_all(&m);
    const char *good = join(dir, "good.h5");
    TU_ASSERT_OK(nn_ckpt_save(good, &m, ALL_SPEC, NULL, NULL, &e), e);
    size_t n = 0;
    unsigned char *buf = read_all(good, &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);

    const char *trunc = join(dir, "trunc.h5");
    CU_ASSERT_EQUAL_FATAL(write_all(trunc, buf, n / 2), 0);
    expect_refused(trunc, NULL, NULL);

    /* the kernel of layer "dense": find its bytes, damage them */
    const nn_layer *dl = &m.layers[5];
    CU_ASSERT_STRING_EQUAL(dl->name, "dense");
    unsigned char *hit = NULL;
    for (size_t i = 0; i + 32 <= n && !hit; i++)
        if (!memcmp(buf + i, m.params + dl->param_off, 32))
            hit = buf + i;
    CU_ASSERT_PTR_NOT_NULL_FATAL(hit);
    hit[9] ^= 0x40;
    const char *bad = join(dir, "bad_data.h5");
    CU_ASSERT_EQUAL_FATAL(write_all(bad, buf, n), 0);
    expect_refused(bad, "'dense'", "corrupt");
    hit[9] ^= 0x40;

    memcpy(buf, "NOTHDF5!", 8);   /* the superblock signature */
    const char *sig = join(dir, "bad_sig.h5");
    CU_ASSERT_EQUAL_FATAL(write_all(sig, buf, n), 0);
    expect_refused(sig, "not an HDF5 file", NULL);

    const char *txt = join(dir, "text.h5");
    CU_ASSERT_EQUAL_FATAL(tu_write_file(txt, "Dense(3)\n"), 0);
    expect_refused(txt, "not an HDF5 file", NULL);
    expect_refused(join(dir, "missing.h5"), "No such file", NULL);
    char *spec = nn_ckpt_read_spec(trunc, &e);
    CU_ASSERT_PTR_NULL(spec);
    CU_ASSERT(tu_contains(e.msg, trunc));
    free(buf);
    nn_model_free(&m);
    rm_dir(dir);
}

static void test_wrong_shapes(void)
{
    const char *dir = tu_tmpdir();
    nn_model m, m2;
    nn_error e;
    TU_ASSERT_OK(tu_build(MLP_16, &m, &e), e);
    nn_model_init_params(&m, 3);
    /* a file whose spec says Dense(17) but whose kernel is (8, 16) */
    const char *path = join(dir, "shape.h5");
    TU_ASSERT_OK(nn_ckpt_save(path, &m, MLP_17, NULL, NULL, &e), e);
    expect_refused(path, "layer 'dense' (Dense): kernel:0 has shape (8, 16) in the file",
                   "the model expects (8, 17)");

    /* a weight listed in weight_names but missing */
    const char *gone = join(dir, "gone.h5");
    TU_ASSERT_OK(nn_ckpt_save(gone, &m, MLP_16, NULL, NULL, &e), e);
    hid_t f = H5Fopen(gone, H5F_ACC_RDWR, H5P_DEFAULT);
    CU_ASSERT_FATAL(f >= 0);
    CU_ASSERT(H5Ldelete(f, "model_weights/dense_1/dense_1/bias:0", H5P_DEFAULT) >= 0);
    CU_ASSERT(H5Fclose(f) >= 0);
    expect_refused(gone, "'dense_1'", "bias:0");

    /* load_state needs allocated slots and the same optimizer */
    TU_ASSERT_OK(tu_build("Dense(2, input_shape=(3,))\ncompile(loss=\"mse\", optimizer=\"adam\")\n",
                          &m2, &e), e);
    TU_ASSERT_OK(nn_optim_alloc(&m2.optim, m2.nparams, &e), e);
    m2.optim.iterations = 4;
    const char *opt = join(dir, "opt.h5");
    TU_ASSERT_OK(nn_ckpt_save(opt, &m2, "Dense(2, input_shape=(3,))\ncompile(loss=\"mse\", "
                              "optimizer=\"adam\")\n", NULL, NULL, &e), e);
    nn_model_free(&m2);
    TU_ASSERT_OK(tu_build("Dense(2, input_shape=(3,))\ncompile(loss=\"mse\", optimizer=\"rmsprop\")\n",
                          &m2, &e), e);
    CU_ASSERT_EQUAL(nn_ckpt_load_state(opt, &m2, NULL, NULL, &e), NN_EINVAL);
    CU_ASSERT(tu_contains(e.msg, "nn_optim_alloc"));
    TU_ASSERT_OK(nn_optim_alloc(&m2.optim, m2.nparams, &e), e);
    CU_ASSERT_EQUAL(nn_ckpt_load_state(opt, &m2, NULL, NULL, &e), NN_EFORMAT);
    CU_ASSERT(tu_contains(e.msg, "Adam"));
    CU_ASSERT(tu_contains(e.msg, "RMSprop"));
    CU_ASSERT_EQUAL(m2.optim.iterations, 0);   /* unchanged on error */
    nn_model_free(&m2);
    nn_model_free(&m);
    rm_dir(dir);
}

static void test_save_failures(void)
{
    const char *dir = tu_tmpdir();
    char nodir[600];
    nn_model m, k;
    nn_error e;
    int tmp;
    make_all(&m);
    snprintf(nodir, sizeof nodir, "%s/nope/x.h5", dir);
    CU_ASSERT_EQUAL(nn_ckpt_save(nodir, &m, ALL_SPEC, NULL, NULL, &e), NN_EIO);
    CU_ASSERT(tu_contains(e.msg, "nope/x.h5"));
    CU_ASSERT_EQUAL(count_entries(dir, &tmp), 0);

    /* a failed save keeps the previous checkpoint and leaves no temp file */
    const char *keep = join(dir, "keep.h5");
    TU_ASSERT_OK(nn_ckpt_save(keep, &m, ALL_SPEC, NULL, NULL, &e), e);
    CU_ASSERT_EQUAL(nn_ckpt_save(keep, &m, NULL, NULL, NULL, &e), NN_EINVAL);
    CU_ASSERT(tu_contains(e.msg, "keep.h5"));
    nn_history h = {.ncols = NN_HIST_MAX_COLS + 1, .epochs = 1};   /* fails mid-write */
    double row[NN_HIST_MAX_COLS + 1] = {0};
    h.vals = row;
    CU_ASSERT_EQUAL(nn_ckpt_save(keep, &m, ALL_SPEC, NULL, &h, &e), NN_EINVAL);
    CU_ASSERT(tu_contains(e.msg, "history"));
    CU_ASSERT_EQUAL(count_entries(dir, &tmp), 1);
    CU_ASSERT_EQUAL(tmp, 0);
    TU_ASSERT_OK(nn_ckpt_load_model(keep, &k, &e), e);
    CU_ASSERT(memcmp(k.params, m.params, m.nparams * sizeof(float)) == 0);
    nn_model_free(&k);

    /* a layer name HDF5 cannot hold */
    nn_model_free(&m);
    TU_ASSERT_OK(tu_build("Dense(2, input_shape=(3,), name=\"a/b\")\n", &m, &e), e);
    CU_ASSERT_EQUAL(nn_ckpt_save(join(dir, "slash.h5"), &m, NULL, NULL, NULL, &e), NN_EINVAL);
    CU_ASSERT(tu_contains(e.msg, "'a/b'"));
    CU_ASSERT_EQUAL(count_entries(dir, &tmp), 1);
    nn_model_free(&m);
    rm_dir(dir);
}

/* The weights of a .keras file are found by the class name in snake_case:
 * the right side is what Keras's naming.to_snake_case returns (its three
 * regular expressions run in Python), for every class nntrain imports and a
 * few that show its rules (LeakyReLU -> leaky_re_lu). */
static void test_keras_snake(void)
{
    static const char *const cases[][2] = {
        {"Dense", "dense"}, {"Conv2D", "conv2d"}, {"Conv2DTranspose", "conv2d_transpose"},
        {"MaxPooling2D", "max_pooling2d"}, {"AveragePooling2D", "average_pooling2d"},
        {"GlobalAveragePooling2D", "global_average_pooling2d"},
        {"BatchNormalization", "batch_normalization"}, {"SimpleRNN", "simple_rnn"},
        {"LSTM", "lstm"}, {"UpSampling2D", "up_sampling2d"}, {"ZeroPadding2D", "zero_padding2d"},
        {"LeakyReLU", "leaky_re_lu"}, {"ReLU", "re_lu"}, {"PReLU", "p_re_lu"},
        {"InputLayer", "input_layer"}, {"Embedding", "embedding"}, {"ABCDef", "abc_def"},
        {"Add", "add"}, {"Concatenate", "concatenate"}, {"My.Layer", "my_layer"},
    };
    char out[128];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kz_snake(cases[i][0], out, sizeof out);
        if (strcmp(out, cases[i][1]))
            fprintf(stderr, "kz_snake(%s) = %s, Keras: %s\n", cases[i][0], out, cases[i][1]);
        CU_ASSERT_STRING_EQUAL(out, cases[i][1]);
    }
    kz_snake("BatchNormalization", out, 6);   /* cut, still terminated */
    CU_ASSERT_STRING_EQUAL(out, "batch");
}

int main(void)
{
    static const tu_test tests[] = {
        {"save/load round trip, every layer kind, state and history", test_roundtrip},
        {"load_weights by name, missing layers", test_load_weights_missing},
        {"class names of the training data kept", test_class_names},
        {"Keras 2 fixtures load and match PyTorch", test_keras_fixtures},
        {"Keras files as R keras, tf.keras 2.11, Keras 3 write them", test_keras_writers},
        {"Keras model_config JSON round trip", test_json_roundtrip},
        {"Keras JSON: unsupported layers and options", test_json_errors},
        {"Embedding, SimpleRNN, LSTM: checkpoint and JSON", test_other_layers},
        {"pooling and padding layers: checkpoint and JSON", test_pool_layers},
        {"truncated, corrupt and missing files", test_truncated_corrupt},
        {"misshaped or missing weights, optimizer mismatch", test_wrong_shapes},
        {"failed saves leave no temp file", test_save_failures},
        {".keras weights groups: Keras's snake_case class names", test_keras_snake},
        {NULL, NULL},
    };
    return tu_main("checkpoint", tests);
}
