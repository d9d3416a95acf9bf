/* Dataset readers: IDX files (plain and gzip) written here byte by byte and
 * read back exactly, every IDX error path (code plus a message naming the
 * file), the synthetic sqrt set, nn_data_open's source strings, and the real
 * Fashion-MNIST files when the Debian package is installed. */
#define _POSIX_C_SOURCE 200809L

#include "nntrain/data.h"
#include "nntrain/rng.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define NIMG 5
#define ROWS 3
#define COLS 4
#define PER (ROWS * COLS)

static uint8_t g_pix[NIMG * PER];
static uint8_t g_lab[NIMG] = {3, 0, 9, 7, 1};

static void make_pixels(void)
{
    for (int i = 0; i < NIMG * PER; i++)
        g_pix[i] = (uint8_t)((i * 37 + 11) % 256);
    g_pix[0] = 0;
    g_pix[1] = 255;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Writes an IDX file: magic, nd big-endian dims, then len bytes of data
 * (len may be shorter than the dims imply, to make a truncated file). */
static int write_idx(const char *path, int gz, uint32_t magic, const uint32_t *dims,
                     int nd, const uint8_t *data, size_t len)
{
    uint8_t hdr[16];
    put_be32(hdr, magic);
    for (int i = 0; i < nd; i++)
        put_be32(hdr + 4 + 4 * i, dims[i]);
    size_t hlen = 4 + 4 * (size_t)nd;
    if (gz) {
        gzFile f = gzopen(path, "wb");
        if (!f)
            return -1;
        int ok = gzwrite(f, hdr, (unsigned)hlen) == (int)hlen &&
                 (len == 0 || gzwrite(f, data, (unsigned)len) == (int)len);
        return (gzclose(f) == Z_OK && ok) ? 0 : -1;
    }
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int ok = fwrite(hdr, 1, hlen, f) == hlen && fwrite(data, 1, len, f) == len;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

static int write_images(const char *path, int gz, uint32_t n, size_t len)
{
    uint32_t dims[3] = {n, ROWS, COLS};
    return write_idx(path, gz, 0x803, dims, 3, g_pix, len);
}

static int write_labels(const char *path, int gz, uint32_t n, size_t len)
{
    uint32_t dims[1] = {n};
    return write_idx(path, gz, 0x801, dims, 1, g_lab, len);
}

/* A fresh directory holding <split>-images/labels files in the given spelling. */
static void make_dir_pair(char *dir, size_t dlen, const char *images, const char *labels,
                          int gz, char *ipath, char *lpath)
{
    snprintf(dir, dlen, "%s", tu_tmpdir());
    snprintf(ipath, 1024, "%s/%s", dir, images);
    snprintf(lpath, 1024, "%s/%s", dir, labels);
    CU_ASSERT_EQUAL_FATAL(write_images(ipath, gz, NIMG, sizeof g_pix), 0);
    CU_ASSERT_EQUAL_FATAL(write_labels(lpath, gz, NIMG, sizeof g_lab), 0);
}

/* Reads idx[0..count) and compares with g_pix/255 and g_lab exactly. */
static void check_samples(nn_dataset *d, const uint64_t *idx, int count)
{
    float x[8 * PER], y[8];
    nn_error err = {0};
    CU_ASSERT_FATAL(count <= 8);
    memset(x, 0xff, sizeof x);
    memset(y, 0xff, sizeof y);
    TU_ASSERT_OK(d->read(d, idx, count, x, y, &err), err);
    int bad = 0;
    for (int i = 0; i < count; i++) {
        for (int k = 0; k < PER; k++)
            if (x[i * PER + k] != (float)g_pix[idx[i] * PER + k] / 255.0f)
                bad++;
        if (y[i] != (float)g_lab[idx[i]])
            bad++;
    }
    CU_ASSERT_EQUAL(bad, 0);
}

static void test_idx_plain_roundtrip(void)
{
    char dir[512], ip[1024], lp[1024];
    make_dir_pair(dir, sizeof dir, "a-images", "a-labels", 0, ip, lp);
    nn_dataset d;
    nn_error err = {0};
    TU_ASSERT_OK(nn_idx_open(ip, lp, &d, &err), err);
    nn_shape want = nn_shape3(ROWS, COLS, 1);
    CU_ASSERT_EQUAL(d.n, NIMG);
    CU_ASSERT(nn_shape_eq(&d.x_shape, &want));
    CU_ASSERT_EQUAL(d.ydim, 1);
    CU_ASSERT_EQUAL(d.nclasses, 10);
    CU_ASSERT(tu_contains(d.source, "a-images"));
    const uint64_t order[] = {4, 0, 2, 2, 1, 3};
    check_samples(&d, order, 6);
    const uint64_t one[] = {3};
    check_samples(&d, one, 1);
    /* the extremes: byte 0 -> 0.0f exactly, byte 255 -> 1.0f exactly */
    float x[PER], y;
    const uint64_t first[] = {0};
    TU_ASSERT_OK(d.read(&d, first, 1, x, &y, &err), err);
    CU_ASSERT(x[0] == 0.0f && x[1] == 1.0f);
    TU_ASSERT_OK(d.read(&d, NULL, 0, x, &y, &err), err);
    nn_data_close(&d);
    CU_ASSERT_PTR_NULL(d.priv);
    CU_ASSERT_PTR_NULL(d.read);
    CU_ASSERT_EQUAL(d.n, 0);
}

static void test_idx_gzip_roundtrip(void)
{
    char dir[512], ip[1024], lp[1024];
    uint8_t saved = g_lab[2];
    g_lab[2] = 12; /* a label above 9 widens nclasses to max + 1 */
    make_dir_pair(dir, sizeof dir, "b-images.gz", "b-labels.gz", 1, ip, lp);
    /* make sure the files really are gzip, or this test would prove nothing */
    FILE *f = fopen(ip, "rb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    int c0 = fgetc(f), c1 = fgetc(f);
    fclose(f);
    CU_ASSERT(c0 == 0x1f && c1 == 0x8b);
    nn_dataset d;
    nn_error err = {0};
    int rc = nn_idx_open(ip, lp, &d, &err);
    if (rc != 0) {
        g_lab[2] = saved;
        TU_ASSERT_OK(rc, err);
    }
    CU_ASSERT_EQUAL(d.n, NIMG);
    CU_ASSERT_EQUAL(d.nclasses, 13);
    const uint64_t order[] = {2, 1, 4, 0, 3};
    check_samples(&d, order, 5);
    g_lab[2] = saved;
    nn_data_close(&d);
}

static void test_idx_open_dir_spellings(void)
{
    char d1[512], d2[512], ip[1024], lp[1024];
    nn_dataset d;
    nn_error err = {0};
    make_dir_pair(d1, sizeof d1, "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                  1, ip, lp);
    TU_ASSERT_OK(nn_idx_open_dir(d1, "train", &d, &err), err);
    CU_ASSERT_EQUAL(d.n, NIMG);
    CU_ASSERT(tu_contains(d.source, "train-images-idx3-ubyte.gz"));
    const uint64_t order[] = {1, 3};
    check_samples(&d, order, 2);
    nn_data_close(&d);
    TU_ASSERT_OK(nn_data_open(d1, "train", 0, &d, &err), err);
    CU_ASSERT_EQUAL(d.n, NIMG);
    nn_data_close(&d);

    make_dir_pair(d2, sizeof d2, "t10k-images.idx3-ubyte", "t10k-labels.idx1-ubyte", 0, ip,
                  lp);
    TU_ASSERT_OK(nn_idx_open_dir(d2, "t10k", &d, &err), err);
    CU_ASSERT(tu_contains(d.source, "t10k-images.idx3-ubyte"));
    check_samples(&d, order, 2);
    nn_data_close(&d);
    TU_ASSERT_OK(nn_data_open(d2, "test", 0, &d, &err), err);
    CU_ASSERT_EQUAL(d.n, NIMG);
    nn_data_close(&d);
    /* d2 has no train split */
    CU_ASSERT_EQUAL(nn_data_open(d2, "train", 0, &d, &err), NN_EIO);
    CU_ASSERT(tu_contains(err.msg, "train-images-idx3-ubyte"));
    CU_ASSERT_EQUAL(nn_idx_open_dir(d2, "valid", &d, &err), NN_EINVAL);
    CU_ASSERT(tu_contains(err.msg, "valid"));
}

static void test_idx_missing_file(void)
{
    char dir[512], ip[1024], lp[1024];
    nn_dataset d;
    nn_error err = {0};
    snprintf(dir, sizeof dir, "%s", tu_tmpdir());
    CU_ASSERT_EQUAL(nn_idx_open_dir(dir, "train", &d, &err), NN_EIO);
    CU_ASSERT(tu_contains(err.msg, dir));
    CU_ASSERT(tu_contains(err.msg, "tried"));
    CU_ASSERT(tu_contains(err.msg, "train-images-idx3-ubyte.gz"));
    CU_ASSERT(tu_contains(err.msg, "train-images.idx3-ubyte"));
    CU_ASSERT_PTR_NULL(d.priv);

    /* images present, labels missing: the message is about the labels */
    snprintf(ip, sizeof ip, "%s/train-images-idx3-ubyte", dir);
    CU_ASSERT_EQUAL_FATAL(write_images(ip, 0, NIMG, sizeof g_pix), 0);
    CU_ASSERT_EQUAL(nn_idx_open_dir(dir, "train", &d, &err), NN_EIO);
    CU_ASSERT(tu_contains(err.msg, "train-labels-idx1-ubyte"));

    snprintf(lp, sizeof lp, "%s/no-such-labels", dir);
    CU_ASSERT_EQUAL(nn_idx_open(ip, lp, &d, &err), NN_EIO);
    CU_ASSERT(tu_contains(err.msg, "no-such-labels"));
    snprintf(ip, sizeof ip, "%s/no-such-images", dir);
    CU_ASSERT_EQUAL(nn_idx_open(ip, lp, &d, &err), NN_EIO);
    CU_ASSERT(tu_contains(err.msg, "no-such-images"));

    snprintf(ip, sizeof ip, "%s/not-a-dir", dir);
    CU_ASSERT_EQUAL(nn_idx_open_dir(ip, "train", &d, &err), NN_EIO);
    CU_ASSERT(tu_contains(err.msg, "not-a-dir"));
}

static void test_idx_truncated_images(void)
{
    char dir[512], ip[1024], lp[1024];
    nn_dataset d;
    nn_error err = {0};
    snprintf(dir, sizeof dir, "%s", tu_tmpdir());
    snprintf(lp, sizeof lp, "%s/labels", dir);
    CU_ASSERT_EQUAL_FATAL(write_labels(lp, 0, NIMG, sizeof g_lab), 0);
    for (int gz = 0; gz < 2; gz++) {
        snprintf(ip, sizeof ip, "%s/short-images%s", dir, gz ? ".gz" : "");
        CU_ASSERT_EQUAL_FATAL(write_images(ip, gz, NIMG, 3 * PER), 0);
        CU_ASSERT_EQUAL(nn_idx_open(ip, lp, &d, &err), NN_EFORMAT);
        CU_ASSERT(tu_contains(err.msg, ip));
        CU_ASSERT(tu_contains(err.msg, "expected 60 bytes, got 36"));
        CU_ASSERT_PTR_NULL(d.priv);
    }
    /* header itself cut short */
    snprintf(ip, sizeof ip, "%s/header-only", dir);
    CU_ASSERT_EQUAL_FATAL(write_idx(ip, 0, 0x803, NULL, 0, g_pix, 3), 0); /* 7 bytes */
    CU_ASSERT_EQUAL(nn_idx_open(ip, lp, &d, &err), NN_EFORMAT);
    CU_ASSERT(tu_contains(err.msg, "header-only"));
    CU_ASSERT(tu_contains(err.msg, "truncated"));

    /* a gzip stream cut in the middle of its compressed bytes */
    char full[1024];
    snprintf(full, sizeof full, "%s/full.gz", dir);
    CU_ASSERT_EQUAL_FATAL(write_images(full, 1, NIMG, sizeof g_pix), 0);
    FILE *f = fopen(full, "rb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    uint8_t buf[4096];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    CU_ASSERT_FATAL(len > 30);
    snprintf(ip, sizeof ip, "%s/cut-images.gz", dir);
    f = fopen(ip, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(fwrite(buf, 1, len / 2, f), len / 2);
    fclose(f);
    CU_ASSERT_EQUAL(nn_idx_open(ip, lp, &d, &err), NN_EFORMAT);
    CU_ASSERT(tu_contains(err.msg, "cut-images.gz"));
    CU_ASSERT(tu_contains(err.msg, "truncated"));
}

static void test_idx_truncated_labels(void)
{
    char dir[512], ip[1024], lp[1024];
    nn_dataset d;
    nn_error err = {0};
    snprintf(dir, sizeof dir, "%s", tu_tmpdir());
    snprintf(ip, sizeof ip, "%s/images", dir);
    CU_ASSERT_EQUAL_FATAL(write_images(ip, 0, NIMG, sizeof g_pix), 0);
    for (int gz = 0; gz < 2; gz++) {
        snprintf(lp, sizeof lp, "%s/short-labels%s", dir, gz ? ".gz" : "");
        CU_ASSERT_EQUAL_FATAL(write_labels(lp, gz, NIMG, 2), 0);
        CU_ASSERT_EQUAL(nn_idx_open(ip, lp, &d, &err), NN_EFORMAT);
        CU_ASSERT(tu_contains(err.msg, lp));
        CU_ASSERT(tu_contains(err.msg, "expected 5 bytes, got 2"));
        CU_ASSERT_PTR_NULL(d.priv);
    }
}

static void test_idx_bad_magic(void)
{
    char dir[512], ip[1024], lp[1024];
    nn_dataset d;
    nn_error err = {0};
    snprintf(dir, sizeof dir, "%s", tu_tmpdir());
    snprintf(ip, sizeof ip, "%s/images", dir);
    snprintf(lp, sizeof lp, "%s/labels", dir);
    CU_ASSERT_EQUAL_FATAL(write_images(ip, 0, NIMG, sizeof g_pix), 0);
    CU_ASSERT_EQUAL_FATAL(write_labels(lp, 0, NIMG, sizeof g_lab), 0);
    /* the two files swapped */
    CU_ASSERT_EQUAL(nn_idx_open(lp, ip, &d, &err), NN_EFORMAT);
    CU_ASSERT(tu_contains(err.msg, lp));
    CU_ASSERT(tu_contains(err.msg, "expected 0x00000803, found 0x00000801"));
    CU_ASSERT(tu_contains(err.msg, "not an IDX file?"));
    /* right images, labels file is text */
    char tp[1024];
    snprintf(tp, sizeof tp, "%s/notes.txt", dir);
    CU_ASSERT_EQUAL_FATAL(tu_write_file(tp, "hello, this is not IDX\n"), 0);
    CU_ASSERT_EQUAL(nn_idx_open(ip, tp, &d, &err), NN_EFORMAT);
    CU_ASSERT(tu_contains(err.msg, "notes.txt"));
    CU_ASSERT(tu_contains(err.msg, "expected 0x00000801"));
    CU_ASSERT_PTR_NULL(d.priv);
}

static void test_idx_bad_dims(void)
{
    char dir[512], ip[1024], lp[1024];
    nn_dataset d;
    nn_error err = {0};
    snprintf(dir, sizeof dir, "%s", tu_tmpdir());
    snprintf(lp, sizeof lp, "%s/labels", dir);
    CU_ASSERT_EQUAL_FATAL(write_labels(lp, 0, NIMG, sizeof g_lab), 0);
    const uint32_t bad[][3] = {{NIMG, 0, COLS}, {0, ROWS, COLS}, {NIMG, 100000, 28}};
    for (int i = 0; i < 3; i++) {
        snprintf(ip, sizeof ip, "%s/dims%d-images", dir, i);
        CU_ASSERT_EQUAL_FATAL(write_idx(ip, 0, 0x803, bad[i], 3, g_pix, sizeof g_pix), 0);
        CU_ASSERT_EQUAL(nn_idx_open(ip, lp, &d, &err), NN_EFORMAT);
        CU_ASSERT(tu_contains(err.msg, ip));
        CU_ASSERT(tu_contains(err.msg, "bad image dims"));
    }
    /* a huge count on a short file fails as truncated, without a huge allocation */
    const uint32_t huge[3] = {0xffffffffu, 28, 28};
    snprintf(ip, sizeof ip, "%s/huge-images", dir);
    CU_ASSERT_EQUAL_FATAL(write_idx(ip, 0, 0x803, huge, 3, g_pix, sizeof g_pix), 0);
    CU_ASSERT_EQUAL(nn_idx_open(ip, lp, &d, &err), NN_EFORMAT);
    CU_ASSERT(tu_contains(err.msg, "huge-images"));
    CU_ASSERT(tu_contains(err.msg, "got 60"));
    /* zero labels */
    snprintf(ip, sizeof ip, "%s/images", dir);
    CU_ASSERT_EQUAL_FATAL(write_images(ip, 0, NIMG, sizeof g_pix), 0);
    snprintf(lp, sizeof lp, "%s/zero-labels", dir);
    CU_ASSERT_EQUAL_FATAL(write_labels(lp, 0, 0, 0), 0);
    CU_ASSERT_EQUAL(nn_idx_open(ip, lp, &d, &err), NN_EFORMAT);
    CU_ASSERT(tu_contains(err.msg, "zero-labels"));
}

static void test_idx_count_mismatch(void)
{
    char dir[512], ip[1024], lp[1024];
    nn_dataset d;
    nn_error err = {0};
    snprintf(dir, sizeof dir, "%s", tu_tmpdir());
    snprintf(ip, sizeof ip, "%s/five-images", dir);
    snprintf(lp, sizeof lp, "%s/four-labels", dir);
    CU_ASSERT_EQUAL_FATAL(write_images(ip, 0, NIMG, sizeof g_pix), 0);
    CU_ASSERT_EQUAL_FATAL(write_labels(lp, 0, 4, 4), 0);
    CU_ASSERT_EQUAL(nn_idx_open(ip, lp, &d, &err), NN_EFORMAT);
    CU_ASSERT(tu_contains(err.msg, "image count 5"));
    CU_ASSERT(tu_contains(err.msg, "label count 4"));
    CU_ASSERT(tu_contains(err.msg, "five-images"));
    CU_ASSERT(tu_contains(err.msg, "four-labels"));
    CU_ASSERT_PTR_NULL(d.priv);
}

static void test_idx_index_out_of_range(void)
{
    char dir[512], ip[1024], lp[1024];
    make_dir_pair(dir, sizeof dir, "c-images", "c-labels", 0, ip, lp);
    nn_dataset d;
    nn_error err = {0};
    TU_ASSERT_OK(nn_idx_open(ip, lp, &d, &err), err);
    float x[2 * PER], y[2];
    const uint64_t idx[] = {0, NIMG};
    CU_ASSERT_EQUAL(d.read(&d, idx, 2, x, y, &err), NN_EINVAL);
    CU_ASSERT(tu_contains(err.msg, "c-images"));
    CU_ASSERT(tu_contains(err.msg, "index 5"));
    CU_ASSERT(tu_contains(err.msg, "5 samples"));
    const uint64_t far[] = {UINT64_MAX};
    CU_ASSERT_EQUAL(d.read(&d, far, 1, x, y, &err), NN_EINVAL);
    CU_ASSERT_EQUAL(d.read(&d, idx, -1, x, y, &err), NN_EINVAL);
    nn_data_close(&d);
}

static void read_all_sqrt(nn_dataset *d, float *x, float *y)
{
    nn_error err = {0};
    uint64_t *idx = malloc(d->n * sizeof *idx);
    CU_ASSERT_PTR_NOT_NULL_FATAL(idx);
    for (size_t i = 0; i < d->n; i++)
        idx[i] = i;
    int rc = d->read(d, idx, (int)d->n, x, y, &err);
    free(idx);
    TU_ASSERT_OK(rc, err);
}

static void test_sqrt_values(void)
{
    enum { N = 500 };
    static float x[N], y[N], x2[N], y2[N];
    nn_dataset d;
    nn_error err = {0};
    TU_ASSERT_OK(nn_sqrt_open(N, 42, &d, &err), err);
    nn_shape want = nn_shape1(1);
    CU_ASSERT_EQUAL(d.n, N);
    CU_ASSERT(nn_shape_eq(&d.x_shape, &want));
    CU_ASSERT_EQUAL(d.ydim, 1);
    CU_ASSERT_EQUAL(d.nclasses, 0);
    CU_ASSERT_STRING_EQUAL(d.source, "synthetic:sqrt");
    read_all_sqrt(&d, x, y);
    int bad = 0, distinct = 0;
    double mean = 0;
    for (int i = 0; i < N; i++) {
        if (!(x[i] >= 0.0f && x[i] < 100.0f) || y[i] != sqrtf(x[i]))
            bad++;
        if (i && x[i] != x[i - 1])
            distinct++;
        mean += x[i] / N;
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT(distinct > N - 5);
    /* the documented stream: nn_rng_key(seed, 0x5eed, 0, 0), one draw per sample */
    nn_rng r = nn_rng_key(42, 0x5eed, 0, 0);
    for (int i = 0; i < 3; i++)
        CU_ASSERT(x[i] == nn_rng_uniform(&r) * 100.0f);
    CU_ASSERT(mean > 40 && mean < 60);

    /* gathering in another order gives the same per-sample values */
    const uint64_t order[] = {N - 1, 7, 7, 0};
    float xs[4], ys[4];
    TU_ASSERT_OK(d.read(&d, order, 4, xs, ys, &err), err);
    for (int i = 0; i < 4; i++)
        CU_ASSERT(xs[i] == x[order[i]] && ys[i] == y[order[i]]);
    const uint64_t out[] = {N};
    CU_ASSERT_EQUAL(d.read(&d, out, 1, xs, ys, &err), NN_EINVAL);
    CU_ASSERT(tu_contains(err.msg, "synthetic:sqrt"));
    nn_data_close(&d);

    /* same seed: same data; another seed: different data */
    TU_ASSERT_OK(nn_sqrt_open(N, 42, &d, &err), err);
    read_all_sqrt(&d, x2, y2);
    nn_data_close(&d);
    CU_ASSERT(memcmp(x, x2, sizeof x) == 0 && memcmp(y, y2, sizeof y) == 0);
    TU_ASSERT_OK(nn_sqrt_open(N, 43, &d, &err), err);
    read_all_sqrt(&d, x2, y2);
    nn_data_close(&d);
    CU_ASSERT(memcmp(x, x2, sizeof x) != 0);
    /* a shorter set with the same seed is a prefix (drawn in sample order) */
    TU_ASSERT_OK(nn_sqrt_open(10, 42, &d, &err), err);
    read_all_sqrt(&d, x2, y2);
    nn_data_close(&d);
    CU_ASSERT(memcmp(x, x2, 10 * sizeof *x) == 0);

    CU_ASSERT_EQUAL(nn_sqrt_open(0, 42, &d, &err), NN_EINVAL);
}

static void test_data_open_sources(void)
{
    static float xa[1000], ya[1000], xb[1000], yb[1000];
    nn_dataset d;
    nn_error err = {0};
    TU_ASSERT_OK(nn_data_open("synthetic:sqrt", "train", 5, &d, &err), err);
    CU_ASSERT_EQUAL(d.n, 1000);
    read_all_sqrt(&d, xa, ya);
    nn_data_close(&d);
    TU_ASSERT_OK(nn_data_open("synthetic:sqrt:37", "train", 5, &d, &err), err);
    CU_ASSERT_EQUAL(d.n, 37);
    read_all_sqrt(&d, xb, yb);
    nn_data_close(&d);
    CU_ASSERT(memcmp(xa, xb, 37 * sizeof *xa) == 0);

    TU_ASSERT_OK(nn_data_open("synthetic:sqrt:37", "test", 5, &d, &err), err);
    CU_ASSERT_EQUAL(d.n, 200);
    read_all_sqrt(&d, xb, yb);
    nn_data_close(&d);
    CU_ASSERT(memcmp(xa, xb, 200 * sizeof *xa) != 0);
    int same = 0;
    for (int i = 0; i < 200; i++)
        same += xb[i] == xa[i];
    CU_ASSERT(same < 5);
    TU_ASSERT_OK(nn_data_open("synthetic:sqrt", "test", 5, &d, &err), err);
    read_all_sqrt(&d, xa, ya);
    nn_data_close(&d);
    CU_ASSERT(memcmp(xa, xb, 200 * sizeof *xa) == 0);

    const char *bad_n[] = {"synthetic:sqrt:", "synthetic:sqrt:abc", "synthetic:sqrt:0",
                           "synthetic:sqrt:-3", "synthetic:sqrt:12x"};
    for (int i = 0; i < 5; i++) {
        CU_ASSERT_EQUAL(nn_data_open(bad_n[i], "train", 5, &d, &err), NN_EINVAL);
        CU_ASSERT(tu_contains(err.msg, bad_n[i]));
    }
    CU_ASSERT_EQUAL(nn_data_open("synthetic:cube", "train", 5, &d, &err), NN_EIO);
    CU_ASSERT(tu_contains(err.msg, "synthetic:cube"));
    CU_ASSERT(tu_contains(err.msg, "synthetic:sqrt"));
    CU_ASSERT_EQUAL(nn_data_open("/no/such/train.h5", "train", 5, &d, &err), NN_EIO);
    CU_ASSERT(tu_contains(err.msg, "/no/such/train.h5"));
    CU_ASSERT(tu_contains(err.msg, "No such file or directory"));
    CU_ASSERT_EQUAL(nn_data_open("/no/such/dir", "train", 5, &d, &err), NN_EIO);
    CU_ASSERT(tu_contains(err.msg, "/no/such/dir"));
    CU_ASSERT(tu_contains(err.msg, "IDX"));
    CU_ASSERT(tu_contains(err.msg, "synthetic:sqrt[:N]"));
    char fp[1024];
    snprintf(fp, sizeof fp, "%s/plain.txt", tu_tmpdir());
    CU_ASSERT_EQUAL_FATAL(tu_write_file(fp, "x\n"), 0);
    CU_ASSERT_EQUAL(nn_data_open(fp, "train", 5, &d, &err), NN_EIO);
    CU_ASSERT(tu_contains(err.msg, "plain.txt"));
    CU_ASSERT_EQUAL(nn_data_open("synthetic:sqrt", "valid", 5, &d, &err), NN_EINVAL);
    CU_ASSERT(tu_contains(err.msg, "valid"));
    CU_ASSERT_PTR_NULL(d.priv);
    nn_data_close(&d); /* closing a failed open is harmless */
}

/* First label and first image's pixel sum of each split, obtained with
 *   python3 -c "import gzip; b=gzip.open(P).read(); print(b[8])"        (labels)
 *   python3 -c "import gzip; b=gzip.open(P).read(); print(sum(b[16:800]))" (images)
 * on Debian's dataset-fashion-mnist files; collections.Counter over the labels
 * gave 6000 (train) and 1000 (t10k) samples of every class. */
static void check_fashion(const char *dir, const char *split, const char *data_split,
                          size_t n, int label0, long pixsum0)
{
    nn_dataset d;
    nn_error err = {0};
    TU_ASSERT_OK(nn_idx_open_dir(dir, split, &d, &err), err);
    nn_shape want = nn_shape3(28, 28, 1);
    CU_ASSERT_EQUAL(d.n, n);
    CU_ASSERT(nn_shape_eq(&d.x_shape, &want));
    CU_ASSERT_EQUAL(d.nclasses, 10);
    enum { B = 1000 };
    static float x[B * 784], y[B];
    static uint64_t idx[B];
    int bad = 0, hist[10] = {0};
    for (size_t s = 0; s < d.n; s += B) {
        int cnt = d.n - s < B ? (int)(d.n - s) : B;
        for (int i = 0; i < cnt; i++)
            idx[i] = s + (size_t)i;
        TU_ASSERT_OK(d.read(&d, idx, cnt, x, y, &err), err);
        if (s == 0) {
            CU_ASSERT_EQUAL(y[0], (float)label0);
            double sum = 0;
            for (int k = 0; k < 784; k++)
                sum += x[k] * 255.0;
            CU_ASSERT(fabs(sum - (double)pixsum0) < 0.01);
        }
        for (int i = 0; i < cnt; i++) {
            int l = (int)y[i];
            if (y[i] != (float)l || l < 0 || l > 9)
                bad++;
            else
                hist[l]++;
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    for (int c = 0; c < 10; c++)
        CU_ASSERT_EQUAL(hist[c], (int)(n / 10)); /* Fashion-MNIST is balanced */
    nn_data_close(&d);
    TU_ASSERT_OK(nn_data_open(dir, data_split, 0, &d, &err), err);
    CU_ASSERT_EQUAL(d.n, n);
    nn_data_close(&d);
}

static void test_fashion_mnist(void)
{
    const char *dir = "/usr/share/datasets/fashion-mnist";
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        printf("\n  note: %s absent (apt-get install dataset-fashion-mnist); skipped\n", dir);
        return;
    }
    check_fashion(dir, "train", "train", 60000, 9, 76247);
    check_fashion(dir, "t10k", "test", 10000, 9, 33456);
}

int main(void)
{
    make_pixels();
    static const tu_test tests[] = {
        {"idx_plain_roundtrip", test_idx_plain_roundtrip},
        {"idx_gzip_roundtrip", test_idx_gzip_roundtrip},
        {"idx_open_dir_spellings", test_idx_open_dir_spellings},
        {"idx_missing_file", test_idx_missing_file},
        {"idx_truncated_images", test_idx_truncated_images},
        {"idx_truncated_labels", test_idx_truncated_labels},
        {"idx_bad_magic", test_idx_bad_magic},
        {"idx_bad_dims", test_idx_bad_dims},
        {"idx_count_mismatch", test_idx_count_mismatch},
        {"idx_index_out_of_range", test_idx_index_out_of_range},
        {"sqrt_values", test_sqrt_values},
        {"data_open_sources", test_data_open_sources},
        {"fashion_mnist", test_fashion_mnist},
        {NULL, NULL}};
    return tu_main("data", tests);
}
