/* The HDF5 dataset schema (h5data.h) and its tools (convert.h): write/read
 * round trips for uint8 images and float features, reads in any order and
 * sharded like MPI ranks equal to full reads, every schema error (code and a
 * message naming the file and dataset) on files built here with raw HDF5
 * calls, the IDX, CIFAR-10 and CSV converters on files generated here in
 * their exact formats, duplicate counts, split determinism and the atomic
 * write (a failed write leaves neither the file nor a temporary). */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "nntrain/convert.h"
#include "nntrain/data.h"
#include "nntrain/h5data.h"
#include "nntrain/rng.h"
#include "testutil.h"

#define H 3
#define W 4
#define C 2
#define PER (H * W * C)

static char g_dir[256];

static const char *tmp_path(const char *name)
{
    static char buf[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_dir, name);
    return buf[k];
}

static void fill_u8(uint8_t *x, size_t n, uint64_t seed)
{
    nn_rng r = nn_rng_key(seed, 1, 2, 3);
    for (size_t i = 0; i < n; i++)
        x[i] = (uint8_t)nn_rng_below(&r, 256);
}

/* No file in g_dir whose name contains ".tmp-". */
static int no_temp_files(void)
{
    DIR *d = opendir(g_dir);
    int ok = d != NULL;
    for (struct dirent *de; d && (de = readdir(d));)
        if (strstr(de->d_name, ".tmp-")) {
            fprintf(stderr, "  left behind: %s\n", de->d_name);
            ok = 0;
        }
    if (d)
        closedir(d);
    return ok;
}

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* ---- round trips ---------------------------------------------------------- */

#define NTR 37
#define NTE 5
static uint8_t g_x[NTR * PER], g_xt[NTE * PER];
static int32_t g_y[NTR], g_yt[NTE];
static const char *const g_names[3] = {"cat", "dog", "bird"};

static const char *write_images_file(const char *name)
{
    fill_u8(g_x, sizeof g_x, 1);
    fill_u8(g_xt, sizeof g_xt, 2);
    for (int i = 0; i < NTR; i++)
        g_y[i] = (i * 7) % 3;
    for (int i = 0; i < NTE; i++)
        g_yt[i] = i % 3;
    nn_h5_split s[2] = {
        {.name = "train", .n = NTR, .shape = nn_shape3(H, W, C), .x_u8 = g_x, .y_label = g_y},
        {.name = "test", .n = NTE, .shape = nn_shape3(H, W, C), .x_u8 = g_xt, .y_label = g_yt}};
    nn_h5_meta m = {.source = "unit test", .nclasses = 3, .class_names = g_names, .compress = 3};
    nn_error err = {0};
    const char *p = tmp_path(name);
    TU_ASSERT_OK(nn_h5_write(p, s, 2, &m, &err), err);
    return p;
}

/* Reads idx[0..count) from d and compares with x/255, y exactly. */
static int check_rows(nn_dataset *d, const uint64_t *idx, int count, const uint8_t *x,
                      const int32_t *y)
{
    float *xb = malloc((size_t)count * PER * sizeof *xb), yb[64];
    nn_error err = {0};
    int bad = d->read(d, idx, count, xb, yb, &err) != NN_OK;
    if (bad)
        fprintf(stderr, "  read: %s\n", err.msg);
    for (int i = 0; !bad && i < count; i++) {
        for (int k = 0; k < PER; k++)
            bad += xb[i * PER + k] != (float)x[idx[i] * PER + k] / 255.0f;
        bad += yb[i] != (float)y[idx[i]];
    }
    free(xb);
    return bad;
}

static void test_roundtrip_images(void)
{
    const char *p = write_images_file("img.h5");
    nn_dataset d;
    nn_error err = {0};
    TU_ASSERT_OK(nn_h5_open(p, "train", &d, &err), err);
    CU_ASSERT_EQUAL(d.n, NTR);
    CU_ASSERT(nn_shape_eq(&d.x_shape, &(nn_shape){3, {H, W, C}}));
    CU_ASSERT_EQUAL(d.ydim, 1);
    CU_ASSERT_EQUAL(d.nclasses, 3);
    CU_ASSERT(tu_contains(d.source, "img.h5"));
    uint64_t all[NTR];
    for (int i = 0; i < NTR; i++)
        all[i] = (uint64_t)i;
    CU_ASSERT_EQUAL(check_rows(&d, all, NTR, g_x, g_y), 0);
    nn_data_close(&d);
    TU_ASSERT_OK(nn_data_open(p, "test", 0, &d, &err), err);   /* routed by suffix */
    CU_ASSERT_EQUAL(d.n, NTE);
    CU_ASSERT_EQUAL(check_rows(&d, all, NTE, g_xt, g_yt), 0);
    nn_data_close(&d);

    nn_h5_file f;
    TU_ASSERT_OK(nn_h5_load(p, &f, &err), err);
    CU_ASSERT_STRING_EQUAL(f.format, "nntrain-dataset");
    CU_ASSERT_EQUAL(f.version, 1);
    CU_ASSERT_STRING_EQUAL(f.source, "unit test");
    CU_ASSERT(tu_contains(f.creator, "nntrain "));
    CU_ASSERT_EQUAL(f.nsplits, 2);
    CU_ASSERT_EQUAL(f.nclasses, 3);
    CU_ASSERT_EQUAL_FATAL(f.nclass_names, 3);
    CU_ASSERT_STRING_EQUAL(f.class_names[2], "bird");
    CU_ASSERT_EQUAL(f.split[0].chunk0, 22);   /* 24-byte samples: grouped to >= 512 bytes */
    CU_ASSERT_EQUAL(f.split[0].gzip, 3);
    CU_ASSERT_EQUAL(memcmp(f.split[0].x, g_x, sizeof g_x), 0);
    char hex[17];
    snprintf(hex, sizeof hex, "%016llx",
             (unsigned long long)nn_fnv1a(NN_FNV_INIT, g_x, sizeof g_x));
    CU_ASSERT_STRING_EQUAL(f.split[0].checksum, hex);
    nn_h5_file_free(&f);
}

static void test_roundtrip_features(void)
{
    enum { N = 9, F = 5, K = 2 };
    float x[N * F], y[N * K];
    int32_t lab[N] = {0, 4, 1, 1, 0, 2, 4, 3, 0};
    tu_fill_uniform(x, N * F, 3, -5, 5);
    tu_fill_uniform(y, N * K, 4, -1, 1);
    nn_h5_split s = {.name = "train", .n = N, .shape = nn_shape1(F), .x_f32 = x, .y_f32 = y,
                     .ydim = K};
    nn_error err = {0};
    const char *p = tmp_path("feat.h5");
    TU_ASSERT_OK(nn_h5_write(p, &s, 1, NULL, &err), err);
    nn_dataset d;
    TU_ASSERT_OK(nn_h5_open(p, "train", &d, &err), err);
    CU_ASSERT_EQUAL(d.n, N);
    CU_ASSERT_EQUAL(d.ydim, K);
    CU_ASSERT_EQUAL(d.nclasses, 0);
    CU_ASSERT_EQUAL(d.x_shape.n, 1);
    CU_ASSERT_EQUAL(d.x_shape.d[0], F);
    uint64_t idx[4] = {8, 2, 2, 0};
    float xb[4 * F], yb[4 * K];
    TU_ASSERT_OK(d.read(&d, idx, 4, xb, yb, &err), err);
    int bad = 0;
    for (int i = 0; i < 4; i++) {
        bad += memcmp(xb + i * F, x + idx[i] * F, F * sizeof(float)) != 0;
        bad += memcmp(yb + i * K, y + idx[i] * K, K * sizeof(float)) != 0;
    }
    CU_ASSERT_EQUAL(bad, 0);
    nn_data_close(&d);

    /* Labels without class_names: nclasses = max label + 1. */
    s = (nn_h5_split){.name = "train", .n = N, .shape = nn_shape1(F), .x_f32 = x, .y_label = lab};
    TU_ASSERT_OK(nn_h5_write(p, &s, 1, NULL, &err), err);
    TU_ASSERT_OK(nn_h5_open(p, "train", &d, &err), err);
    CU_ASSERT_EQUAL(d.nclasses, 5);
    CU_ASSERT_EQUAL(d.ydim, 1);
    nn_data_close(&d);
}

static void test_arbitrary_order(void)
{
    const char *p = write_images_file("order.h5");
    nn_dataset d;
    nn_error err = {0};
    TU_ASSERT_OK(nn_h5_open(p, "train", &d, &err), err);
    uint64_t idx[] = {36, 0, 5, 5, 17, 3, 4, 2, 36, 1, 18, 19, 20};
    CU_ASSERT_EQUAL(check_rows(&d, idx, (int)(sizeof idx / sizeof idx[0]), g_x, g_y), 0);
    uint64_t one = 11;
    CU_ASSERT_EQUAL(check_rows(&d, &one, 1, g_x, g_y), 0);
    CU_ASSERT_EQUAL(d.read(&d, idx, 0, NULL, NULL, &err), NN_OK);
    uint64_t out = NTR;
    CU_ASSERT_EQUAL(d.read(&d, &out, 1, NULL, NULL, &err), NN_EINVAL);
    CU_ASSERT(tu_contains(err.msg, "out of range"));
    nn_data_close(&d);
}

/* A global batch split over R ranks (shards differ by at most one sample),
 * each rank reading its shard: the concatenation equals the full read. */
static void test_sharded_reads(void)
{
    const char *p = write_images_file("shard.h5");
    nn_dataset d;
    nn_error err = {0};
    TU_ASSERT_OK(nn_h5_open(p, "train", &d, &err), err);
    uint64_t perm[NTR];
    nn_rng r = nn_rng_key(9, 0, 0, 0);
    nn_rng_permutation(&r, perm, NTR);
    enum { B = 16 };
    float full[B * PER], part[B * PER], yf[B], yp[B];
    int bad = 0;
    for (int ranks = 1; ranks <= 4; ranks++) {
        for (int b0 = 0; b0 < NTR; b0 += B) {
            int nb = NTR - b0 < B ? NTR - b0 : B;
            TU_ASSERT_OK(d.read(&d, perm + b0, nb, full, yf, &err), err);
            for (int rk = 0, off = 0; rk < ranks; rk++) {
                int cnt = nb / ranks + (rk < nb % ranks);
                TU_ASSERT_OK(d.read(&d, perm + b0 + off, cnt, part + off * PER, yp + off, &err),
                             err);
                off += cnt;
            }
            bad += memcmp(full, part, (size_t)nb * PER * sizeof(float)) != 0;
            bad += memcmp(yf, yp, (size_t)nb * sizeof(float)) != 0;
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    nn_data_close(&d);
}

/* ---- schema errors ---------------------------------------------------------- */

enum { BAD_NO_X, BAD_X3D, BAD_YLEN, BAD_LABEL, BAD_XTYPE, BAD_YTYPE };

/* A file with /train/x and /train/y made with raw HDF5 calls, broken as asked. */
static const char *make_bad(const char *name, int how)
{
    const char *p = tmp_path(name);
    hid_t f = H5Fcreate(p, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    CU_ASSERT_FATAL(f >= 0);
    hid_t g = H5Gcreate2(f, "train", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t xd[4] = {10, 4, 4, 1}, yd[1] = {how == BAD_YLEN ? 9 : 10};
    uint8_t x[160] = {0};
    int32_t y[10] = {0, 1, 2, 0, 1, 2, 0, 1, 2, how == BAD_LABEL ? 7 : 0};
    hid_t xs = H5Screate_simple(how == BAD_X3D ? 3 : 4, xd, NULL);
    hid_t ys = H5Screate_simple(1, yd, NULL);
    hid_t xt = how == BAD_XTYPE ? H5T_STD_I16LE : H5T_STD_U8LE;
    if (how != BAD_NO_X) {
        hid_t ds = H5Dcreate2(g, "x", xt, xs, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        CU_ASSERT_FATAL(ds >= 0);
        if (how != BAD_XTYPE)
            CU_ASSERT(H5Dwrite(ds, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) >= 0);
        H5Dclose(ds);
    }
    hid_t st = H5Tcopy(H5T_C_S1);
    H5Tset_size(st, 4);
    hid_t ds = H5Dcreate2(g, "y", how == BAD_YTYPE ? st : H5T_STD_I32LE, ys, H5P_DEFAULT,
                          H5P_DEFAULT, H5P_DEFAULT);
    CU_ASSERT_FATAL(ds >= 0);
    if (how != BAD_YTYPE)
        CU_ASSERT(H5Dwrite(ds, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, y) >= 0);
    H5Dclose(ds);
    if (how == BAD_LABEL) {   /* three class names: label 7 is out of range */
        hid_t vt = H5Tcopy(H5T_C_S1), as;
        hsize_t n = 3;
        const char *names[3] = {"a", "b", "c"};
        H5Tset_size(vt, H5T_VARIABLE);
        as = H5Screate_simple(1, &n, NULL);
        hid_t a = H5Acreate2(f, "class_names", vt, as, H5P_DEFAULT, H5P_DEFAULT);
        CU_ASSERT(H5Awrite(a, vt, names) >= 0);
        H5Aclose(a);
        H5Sclose(as);
        H5Tclose(vt);
    }
    H5Tclose(st);
    H5Sclose(xs);
    H5Sclose(ys);
    H5Gclose(g);
    CU_ASSERT_FATAL(H5Fclose(f) >= 0);
    return p;
}

/* nn_h5_open(path, split) fails with code; the message has every needle. */
static void expect_open_error(const char *path, const char *split, int code,
                              const char *n1, const char *n2)
{
    nn_dataset d;
    nn_error err = {0};
    int rc = nn_h5_open(path, split, &d, &err);
    CU_ASSERT_EQUAL(rc, code);
    if (rc != code)
        fprintf(stderr, "  %s: got %d (%s)\n", path, rc, err.msg);
    if (rc == NN_OK) {
        nn_data_close(&d);
        return;
    }
    CU_ASSERT(tu_contains(err.msg, path));
    CU_ASSERT(tu_contains(err.msg, n1));
    if (n2)
        CU_ASSERT(tu_contains(err.msg, n2));
}

static void test_schema_errors(void)
{
    expect_open_error(make_bad("nox.h5", BAD_NO_X), "train", NN_EFORMAT,
                      "missing dataset /train/x", "uint8 (N, H, W, C)");
    expect_open_error(make_bad("x3d.h5", BAD_X3D), "train", NN_EFORMAT, "/train/x",
                      "images must be 4-D");
    expect_open_error(make_bad("ylen.h5", BAD_YLEN), "train", NN_EFORMAT,
                      "/train/x has 10 samples but /train/y has 9", NULL);
    expect_open_error(make_bad("label.h5", BAD_LABEL), "train", NN_EFORMAT,
                      "/train/y[9] = 7 is out of range", "3 classes");
    expect_open_error(make_bad("xtype.h5", BAD_XTYPE), "train", NN_EFORMAT,
                      "/train/x has type int16", "expected uint8");
    expect_open_error(make_bad("ytype.h5", BAD_YTYPE), "train", NN_EFORMAT,
                      "/train/y has type string", "int32");
    /* the control: the same builder without a defect opens */
    expect_open_error(make_bad("good.h5", -1), "train", NN_OK, "", NULL);
    expect_open_error(make_bad("notest.h5", -1), "test", NN_EFORMAT, "no /test split",
                      "the file has: /train");

    const char *txt = tmp_path("text.h5");
    CU_ASSERT_EQUAL_FATAL(tu_write_file(txt, "x,y\n1,2\n"), 0);
    expect_open_error(txt, "train", NN_EFORMAT, "not an HDF5 file", NULL);
    expect_open_error(tmp_path("missing.h5"), "train", NN_EIO, "No such file", NULL);

    /* a valid file cut in half */
    const char *p = write_images_file("trunc.h5");
    struct stat st;
    CU_ASSERT_FATAL(stat(p, &st) == 0);
    CU_ASSERT_EQUAL_FATAL(truncate(p, st.st_size / 2), 0);
    expect_open_error(p, "train", NN_EFORMAT, "truncated or corrupt", NULL);
    nn_h5_file f;
    nn_error err = {0};
    CU_ASSERT_EQUAL(nn_h5_load(p, &f, &err), NN_EFORMAT);
    CU_ASSERT(tu_contains(err.msg, "trunc.h5"));
    nn_h5_file_free(&f);
}

/* ---- atomic writes ---------------------------------------------------------- */

static void test_atomic_write(void)
{
    uint8_t x[2 * PER] = {0};
    int32_t y[2] = {0, 5};
    nn_h5_split s = {.name = "train", .n = 2, .shape = nn_shape3(H, W, C), .x_u8 = x,
                     .y_label = y};
    nn_h5_meta m = {.nclasses = 3};
    nn_error err = {0};
    /* bad input: refused before anything is written; an old file stays intact */
    const char *p = write_images_file("keep.h5");
    struct stat before, after;
    CU_ASSERT_FATAL(stat(p, &before) == 0);
    CU_ASSERT_EQUAL(nn_h5_write(p, &s, 1, &m, &err), NN_EINVAL);
    CU_ASSERT(tu_contains(err.msg, "label 5 of sample 1 out of range"));
    CU_ASSERT_FATAL(stat(p, &after) == 0);
    CU_ASSERT_EQUAL(before.st_size, after.st_size);
    CU_ASSERT_EQUAL(before.st_mtime, after.st_mtime);
    nn_dataset d;
    TU_ASSERT_OK(nn_h5_open(p, "train", &d, &err), err);
    nn_data_close(&d);
    /* failing after the whole temporary file was written: the target is a directory */
    y[1] = 1;
    const char *dir = tmp_path("adir.h5");
    CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0700), 0);
    CU_ASSERT_EQUAL(nn_h5_write(dir, &s, 1, &m, &err), NN_EIO);
    CU_ASSERT(tu_contains(err.msg, "cannot rename"));
    CU_ASSERT(no_temp_files());
    /* failing at create: a missing directory */
    const char *nodir = tmp_path("no/such/dir/x.h5");
    CU_ASSERT_EQUAL(nn_h5_write(nodir, &s, 1, &m, &err), NN_EIO);
    CU_ASSERT(tu_contains(err.msg, "x.h5"));
    CU_ASSERT(!exists(nodir));
    /* a converter failing on its input leaves no output */
    const char *out = tmp_path("never.h5");
    nn_convert_opts o = {0};
    CU_ASSERT_EQUAL(nn_convert_idx(tmp_path("no_idx_here"), out, &o, NULL, &err), NN_EIO);
    CU_ASSERT(!exists(out));
    CU_ASSERT(no_temp_files());
}

/* ---- converters --------------------------------------------------------------- */

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void write_idx(const char *path, uint32_t magic, const uint32_t *dims, int nd,
                      const uint8_t *data, size_t len)
{
    uint8_t hdr[16];
    be32(hdr, magic);
    for (int i = 0; i < nd; i++)
        be32(hdr + 4 + 4 * i, dims[i]);
    gzFile f = gzopen(path, "wb");
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT(gzwrite(f, hdr, 4 + 4 * (unsigned)nd) == 4 + 4 * nd);
    CU_ASSERT(gzwrite(f, data, (unsigned)len) == (int)len);
    CU_ASSERT(gzclose(f) == Z_OK);
}

static void test_convert_idx(void)
{
    enum { NI = 8, NT = 3, R = 4, CC = 5 };
    uint8_t xi[NI * R * CC], xt[NT * R * CC], yi[NI] = {1, 2, 3, 4, 5, 6, 7, 8},
                                              yt[NT] = {0, 9, 2};
    fill_u8(xi, sizeof xi, 5);
    fill_u8(xt, sizeof xt, 6);
    memcpy(xi + 5 * R * CC, xi + 1 * R * CC, R * CC);   /* 5 = 1, other label */
    memcpy(xi + 7 * R * CC, xi + 2 * R * CC, R * CC);   /* 7 = 2 */
    memcpy(xt + 1 * R * CC, xi + 3 * R * CC, R * CC);   /* test 1 = train 3 */
    char dir[512];
    snprintf(dir, sizeof dir, "%s/fashion-idx", g_dir);
    CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0700), 0);
    char path[640];
    uint32_t di[3] = {NI, R, CC}, dt[3] = {NT, R, CC}, li[1] = {NI}, lt[1] = {NT};
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", dir);
    write_idx(path, 0x803, di, 3, xi, sizeof xi);
    snprintf(path, sizeof path, "%s/train-labels-idx1-ubyte.gz", dir);
    write_idx(path, 0x801, li, 1, yi, sizeof yi);
    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte.gz", dir);
    write_idx(path, 0x803, dt, 3, xt, sizeof xt);
    snprintf(path, sizeof path, "%s/t10k-labels-idx1-ubyte.gz", dir);
    write_idx(path, 0x801, lt, 1, yt, sizeof yt);

    const char *out = tmp_path("idx.h5");
    nn_convert_opts o = {0};
    nn_convert_stats st;
    nn_error err = {0};
    TU_ASSERT_OK(nn_convert_idx(dir, out, &o, &st, &err), err);
    CU_ASSERT_EQUAL(st.nsplits, 2);
    CU_ASSERT_EQUAL(st.split[0].n_read, NI);
    CU_ASSERT_EQUAL(st.split[0].n_dup, 2);
    CU_ASSERT_EQUAL(st.split[0].n_conflict, 2);
    CU_ASSERT_EQUAL(st.split[0].n_written, NI);
    CU_ASSERT_EQUAL(st.split[1].n_cross, 1);
    CU_ASSERT_EQUAL(st.nclasses, 10);
    nn_h5_file f;
    TU_ASSERT_OK(nn_h5_load(out, &f, &err), err);
    CU_ASSERT_EQUAL_FATAL(f.nsplits, 2);
    CU_ASSERT_STRING_EQUAL(f.split[1].name, "test");
    CU_ASSERT(nn_shape_eq(&f.split[0].s.shape, &(nn_shape){3, {R, CC, 1}}));
    CU_ASSERT_EQUAL(memcmp(f.split[0].x, xi, sizeof xi), 0);
    CU_ASSERT_EQUAL(memcmp(f.split[1].x, xt, sizeof xt), 0);
    int bad = 0;
    for (int i = 0; i < NI; i++)
        bad += ((int32_t *)f.split[0].y)[i] != yi[i];
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_STRING_EQUAL(f.class_names[0], "T-shirt/top");   /* the path says fashion */
    CU_ASSERT(tu_contains(f.source, "fashion-idx"));
    nn_h5_file_free(&f);

    o.dedupe = 1;
    TU_ASSERT_OK(nn_convert_idx(dir, out, &o, &st, &err), err);
    CU_ASSERT_EQUAL(st.split[0].n_written, NI - 2);
    CU_ASSERT_EQUAL(st.split[1].n_written, NT - 1);
    TU_ASSERT_OK(nn_h5_load(out, &f, &err), err);
    CU_ASSERT_EQUAL(f.split[0].s.n, NI - 2);
    CU_ASSERT_EQUAL(memcmp(f.split[0].x, xi, 5 * R * CC), 0);   /* 0..4 kept in order */
    CU_ASSERT_EQUAL(memcmp((uint8_t *)f.split[0].x + 5 * R * CC, xi + 6 * R * CC, R * CC), 0);
    CU_ASSERT_EQUAL(((int32_t *)f.split[0].y)[5], 7);
    nn_h5_file_free(&f);
}

#define CIFAR_REC 3073

static void test_convert_cifar10(void)
{
    enum { NB = 4, NTB = 2 };
    char dir[512];
    snprintf(dir, sizeof dir, "%s/cifar-10-batches-bin", g_dir);
    CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0700), 0);
    uint8_t *tr = malloc(NB * CIFAR_REC), *te = malloc(NTB * CIFAR_REC);
    CU_ASSERT_FATAL(tr && te);
    fill_u8(tr, NB * CIFAR_REC, 7);
    fill_u8(te, NTB * CIFAR_REC, 8);
    for (int i = 0; i < NB; i++)
        tr[i * CIFAR_REC] = (uint8_t)(i * 3 % 10);
    for (int i = 0; i < NTB; i++)
        te[i * CIFAR_REC] = (uint8_t)(9 - i);
    char path[640];
    snprintf(path, sizeof path, "%s/data_batch_1.bin", dir);
    FILE *fp = fopen(path, "wb");
    CU_ASSERT_FATAL(fp && fwrite(tr, CIFAR_REC, NB, fp) == NB && fclose(fp) == 0);
    snprintf(path, sizeof path, "%s/test_batch.bin", dir);
    fp = fopen(path, "wb");
    CU_ASSERT_FATAL(fp && fwrite(te, CIFAR_REC, NTB, fp) == NTB && fclose(fp) == 0);

    const char *out = tmp_path("cifar.h5");
    nn_convert_opts o = {0};
    nn_convert_stats st;
    nn_error err = {0};
    TU_ASSERT_OK(nn_convert_cifar10(dir, out, &o, &st, &err), err);
    nn_h5_file f;
    TU_ASSERT_OK(nn_h5_load(out, &f, &err), err);
    CU_ASSERT_EQUAL_FATAL(f.nsplits, 2);
    CU_ASSERT(nn_shape_eq(&f.split[0].s.shape, &(nn_shape){3, {32, 32, 3}}));
    CU_ASSERT_EQUAL(f.split[0].s.n, NB);
    CU_ASSERT_EQUAL(f.split[1].s.n, NTB);
    CU_ASSERT_EQUAL(f.nclasses, 10);
    CU_ASSERT_STRING_EQUAL(f.class_names[0], "airplane");
    CU_ASSERT_STRING_EQUAL(f.class_names[9], "truck");
    long bad = 0;
    for (int k = 0; k < 2; k++) {
        const uint8_t *src = k ? te : tr, *x = f.split[k].x;
        for (size_t i = 0; i < f.split[k].s.n; i++) {
            const uint8_t *rec = src + i * CIFAR_REC;
            bad += ((int32_t *)f.split[k].y)[i] != rec[0];
            for (int h = 0; h < 32; h++)
                for (int w = 0; w < 32; w++)
                    for (int c = 0; c < 3; c++)
                        bad += x[((i * 32 + (size_t)h) * 32 + (size_t)w) * 3 + (size_t)c] !=
                               rec[1 + c * 1024 + h * 32 + w];
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    nn_h5_file_free(&f);

    /* names from batches.meta.txt; then a truncated batch */
    snprintf(path, sizeof path, "%s/batches.meta.txt", dir);
    CU_ASSERT_EQUAL_FATAL(tu_write_file(path, "a0\na1\na2\na3\na4\na5\na6\na7\na8\na9\n\n"), 0);
    TU_ASSERT_OK(nn_convert_cifar10(dir, out, &o, &st, &err), err);
    TU_ASSERT_OK(nn_h5_load(out, &f, &err), err);
    CU_ASSERT_STRING_EQUAL(f.class_names[7], "a7");
    CU_ASSERT_EQUAL(f.nclasses, 10);
    nn_h5_file_free(&f);
    snprintf(path, sizeof path, "%s/data_batch_2.bin", dir);
    fp = fopen(path, "wb");
    CU_ASSERT_FATAL(fp && fwrite(tr, 1, CIFAR_REC + 100, fp) == CIFAR_REC + 100 &&
                    fclose(fp) == 0);
    CU_ASSERT_EQUAL(nn_convert_cifar10(dir, tmp_path("cifar_bad.h5"), &o, &st, &err),
                    NN_EFORMAT);
    CU_ASSERT(tu_contains(err.msg, "data_batch_2.bin"));
    CU_ASSERT(tu_contains(err.msg, "3073"));
    CU_ASSERT(!exists(tmp_path("cifar_bad.h5")));
    CU_ASSERT_EQUAL(nn_convert_cifar10(g_dir, out, &o, &st, &err), NN_EIO);
    CU_ASSERT(tu_contains(err.msg, "data_batch_1.bin"));
    free(tr);
    free(te);
}

static void expect_csv_error(const char *text, const char *label, const char *targets,
                             const char *n1, const char *n2)
{
    const char *p = tmp_path("bad.csv"), *out = tmp_path("bad_csv.h5");
    CU_ASSERT_EQUAL_FATAL(tu_write_file(p, text), 0);
    nn_convert_opts o = {.label_column = label, .target_columns = targets};
    nn_error err = {0};
    int rc = nn_convert_csv(p, out, &o, NULL, &err);
    CU_ASSERT(rc == NN_EFORMAT || rc == NN_EINVAL);
    CU_ASSERT(tu_contains(err.msg, n1));
    if (n2)
        CU_ASSERT(tu_contains(err.msg, n2));
    CU_ASSERT(!exists(out));
}

static void test_convert_csv(void)
{
    const char *p = tmp_path("iris.csv"), *out = tmp_path("iris.h5");
    CU_ASSERT_EQUAL_FATAL(tu_write_file(p, "sepal_length, sepal_width,species,petal\r\n"
                                           "5.1,3.5,setosa,0.2\r\n"
                                           "7.0,3.2,\"versi,color\",1.4\r\n"
                                           "\n"
                                           "6.3,3.3,virginica,\"2.5\"\r\n"
                                           "4.9,3.0,setosa,0.2\r\n"
                                           "5.1,3.5,setosa,0.2\r\n"), 0);
    nn_convert_opts o = {.label_column = "species"};
    nn_convert_stats st;
    nn_error err = {0};
    TU_ASSERT_OK(nn_convert_csv(p, out, &o, &st, &err), err);
    CU_ASSERT_EQUAL(st.split[0].n_dup, 1);
    nn_h5_file f;
    TU_ASSERT_OK(nn_h5_load(out, &f, &err), err);
    CU_ASSERT_EQUAL_FATAL(f.nclasses, 3);
    CU_ASSERT_STRING_EQUAL(f.class_names[0], "setosa");
    CU_ASSERT_STRING_EQUAL(f.class_names[1], "versi,color");
    CU_ASSERT_STRING_EQUAL(f.class_names[2], "virginica");
    CU_ASSERT_EQUAL_FATAL(f.split[0].s.n, 5);
    CU_ASSERT_EQUAL(f.split[0].s.shape.d[0], 3);
    const float *x = f.split[0].x;
    const int32_t *y = f.split[0].y;
    CU_ASSERT_EQUAL(x[3], 7.0f);
    CU_ASSERT_EQUAL(x[5], 1.4f);
    CU_ASSERT_EQUAL(x[8], 2.5f);
    CU_ASSERT(y[0] == 0 && y[1] == 1 && y[2] == 2 && y[3] == 0);
    nn_h5_file_free(&f);

    /* integer labels sort numerically: 2 < 10 */
    CU_ASSERT_EQUAL_FATAL(tu_write_file(p, "a,label\n1,10\n2,2\n3,10\n"), 0);
    o.label_column = "label";
    TU_ASSERT_OK(nn_convert_csv(p, out, &o, &st, &err), err);
    TU_ASSERT_OK(nn_h5_load(out, &f, &err), err);
    CU_ASSERT_STRING_EQUAL(f.class_names[0], "2");
    CU_ASSERT_STRING_EQUAL(f.class_names[1], "10");
    CU_ASSERT_EQUAL(((int32_t *)f.split[0].y)[0], 1);
    nn_h5_file_free(&f);

    /* regression: targets in the order given */
    CU_ASSERT_EQUAL_FATAL(tu_write_file(p, "x1,t1,x2,t2\n1,2,3,4\n5,6,7,8\n"), 0);
    nn_convert_opts r = {.target_columns = "t2,t1"};
    TU_ASSERT_OK(nn_convert_csv(p, out, &r, &st, &err), err);
    nn_dataset d;
    TU_ASSERT_OK(nn_h5_open(out, "train", &d, &err), err);
    CU_ASSERT_EQUAL(d.ydim, 2);
    CU_ASSERT_EQUAL(d.nclasses, 0);
    uint64_t idx[2] = {1, 0};
    float xb[4], yb[4];
    TU_ASSERT_OK(d.read(&d, idx, 2, xb, yb, &err), err);
    CU_ASSERT(xb[0] == 5 && xb[1] == 7 && xb[2] == 1 && xb[3] == 3);
    CU_ASSERT(yb[0] == 8 && yb[1] == 6 && yb[2] == 4 && yb[3] == 2);
    nn_data_close(&d);

    expect_csv_error("a,b,c\n1,2,x\n3,oops,y\n", "c", NULL, "bad.csv:3", "column 'b': 'oops'");
    expect_csv_error("a,b,c\n1,2,x\n\n3,y\n", "c", NULL, "bad.csv:4",
                     "2 fields, expected 3");
    expect_csv_error("a,b,c\n1,,x\n", "c", NULL, "bad.csv:2", "empty value");
    expect_csv_error("a,b,c\n1,2,x\n", "species", NULL, "no column 'species'", "'a', 'b'");
    expect_csv_error("a,b,c\n1,2,\"x\n", "c", NULL, "bad.csv:2", "unterminated quote");
    expect_csv_error("a,b,c\n", "c", NULL, "no data rows", NULL);
    expect_csv_error("a,b,c\n1,2,3\n", NULL, "a,b,c", "no feature columns", NULL);
    expect_csv_error("a,b,c\n1,nan,3\n", NULL, "c", "bad.csv:2", "finite");
}

static void test_find_duplicates(void)
{
    uint8_t x[6][3] = {{1, 2, 3}, {4, 5, 6}, {1, 2, 3}, {7, 8, 9}, {4, 5, 6}, {1, 2, 3}};
    uint8_t ref[2][3] = {{7, 8, 9}, {0, 0, 0}};
    size_t orig[6], in_ref[6], nd = 0, nc = 0;
    nn_error err = {0};
    TU_ASSERT_OK(nn_find_duplicates(x, 6, 3, ref, 2, orig, in_ref, &nd, &nc, &err), err);
    CU_ASSERT_EQUAL(nd, 3);
    CU_ASSERT_EQUAL(nc, 1);
    CU_ASSERT(orig[0] == SIZE_MAX && orig[2] == 0 && orig[4] == 1 && orig[5] == 0);
    CU_ASSERT(in_ref[3] == 0 && in_ref[0] == SIZE_MAX);
}

/* ---- split ---------------------------------------------------------------------- */

static void test_split(void)
{
    enum { N = 60 };
    uint8_t x[N * PER];
    int32_t y[N];
    fill_u8(x, sizeof x, 11);
    for (int i = 0; i < N; i++) {
        y[i] = i % 3;
        if (i % 10 == 9)   /* every tenth sample repeats an earlier one */
            memcpy(x + i * PER, x + (i - 5) * PER, PER), y[i] = y[i - 5];
    }
    nn_h5_split s = {.name = "train", .n = N, .shape = nn_shape3(H, W, C), .x_u8 = x,
                     .y_label = y};
    nn_h5_meta m = {.nclasses = 3, .class_names = g_names};
    nn_error err = {0};
    const char *in = tmp_path("pool.h5");
    TU_ASSERT_OK(nn_h5_write(in, &s, 1, &m, &err), err);
    const char *t1 = tmp_path("t1.h5"), *v1 = tmp_path("v1.h5"), *t2 = tmp_path("t2.h5"),
               *v2 = tmp_path("v2.h5"), *t3 = tmp_path("t3.h5"), *v3 = tmp_path("v3.h5");
    nn_convert_opts o = {.dedupe = 1};
    nn_convert_stats st;
    TU_ASSERT_OK(nn_split_file(in, t1, v1, 0.25, 7, &o, &st, &err), err);
    CU_ASSERT_EQUAL(st.split[0].n_read, N);
    CU_ASSERT_EQUAL(st.split[0].n_dup, 6);
    CU_ASSERT_EQUAL(st.split[1].n_written, 14);   /* round(0.25 * 54) */
    CU_ASSERT_EQUAL(st.split[0].n_written, 40);
    CU_ASSERT_EQUAL(st.split[1].n_cross, 0);
    TU_ASSERT_OK(nn_split_file(in, t2, v2, 0.25, 7, &o, &st, &err), err);
    TU_ASSERT_OK(nn_split_file(in, t3, v3, 0.25, 8, &o, &st, &err), err);
    nn_h5_file a, b, c, va, vb;
    TU_ASSERT_OK(nn_h5_load(t1, &a, &err), err);
    TU_ASSERT_OK(nn_h5_load(t2, &b, &err), err);
    TU_ASSERT_OK(nn_h5_load(t3, &c, &err), err);
    TU_ASSERT_OK(nn_h5_load(v1, &va, &err), err);
    TU_ASSERT_OK(nn_h5_load(v2, &vb, &err), err);
    CU_ASSERT_EQUAL_FATAL(a.split[0].s.n, b.split[0].s.n);
    CU_ASSERT_EQUAL(memcmp(a.split[0].x, b.split[0].x, a.split[0].s.n * PER), 0);
    CU_ASSERT_EQUAL(memcmp(a.split[0].y, b.split[0].y, a.split[0].s.n * 4), 0);
    CU_ASSERT_EQUAL(memcmp(va.split[0].x, vb.split[0].x, va.split[0].s.n * PER), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(a.split[0].x, c.split[0].x, a.split[0].s.n * PER), 0);
    CU_ASSERT_STRING_EQUAL(va.class_names[1], "dog");
    /* no sample in both files, none lost: train + val = the distinct samples */
    size_t orig[N], in_ref[N], nd = 0, nc = 0;
    TU_ASSERT_OK(nn_find_duplicates(va.split[0].x, va.split[0].s.n, PER, a.split[0].x,
                                    a.split[0].s.n, orig, in_ref, &nd, &nc, &err), err);
    CU_ASSERT_EQUAL(nc, 0);
    CU_ASSERT_EQUAL(nd, 0);
    CU_ASSERT_EQUAL(a.split[0].s.n + va.split[0].s.n, N - 6);
    nn_h5_file_free(&a);
    nn_h5_file_free(&b);
    nn_h5_file_free(&c);
    nn_h5_file_free(&va);
    nn_h5_file_free(&vb);
    /* without --dedupe all samples are kept and leaks are counted */
    o.dedupe = 0;
    TU_ASSERT_OK(nn_split_file(in, t1, v1, 0.5, 3, &o, &st, &err), err);
    CU_ASSERT_EQUAL(st.split[0].n_written + st.split[1].n_written, N);
    CU_ASSERT_EQUAL(st.split[1].n_written, N / 2);
    CU_ASSERT_EQUAL(nn_split_file(in, t1, t1, 0.5, 3, &o, &st, &err), NN_EINVAL);
    CU_ASSERT_EQUAL(nn_split_file(in, t1, v1, 1.0, 3, &o, &st, &err), NN_EINVAL);
    CU_ASSERT(tu_contains(err.msg, "fraction"));
}

int main(void)
{
    const char *d = tu_tmpdir();
    if (!d)
        return 2;
    snprintf(g_dir, sizeof g_dir, "%s", d);
    static const tu_test tests[] = {
        {"roundtrip_images", test_roundtrip_images},
        {"roundtrip_features", test_roundtrip_features},
        {"arbitrary_order", test_arbitrary_order},
        {"sharded_reads", test_sharded_reads},
        {"schema_errors", test_schema_errors},
        {"atomic_write", test_atomic_write},
        {"find_duplicates", test_find_duplicates},
        {"convert_idx", test_convert_idx},
        {"convert_cifar10", test_convert_cifar10},
        {"convert_csv", test_convert_csv},
        {"split", test_split},
        {NULL, NULL}};
    int rc = tu_main("h5data", tests);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", g_dir);
    return rc;
}
