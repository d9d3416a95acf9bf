/* Image folders (src/data/images.c): PNGs and JPEGs generated with
 * stb_image_write into a temporary directory (two classes, a duplicate in one
 * class and one across classes, a grey image among RGB ones), then the
 * loader's arrays, labels, order, duplicate report and dedupe; resizing,
 * grey/RGB conversion; the errors (non-image file, truncated JPEG, empty and
 * missing folders, mixed sizes) with the file named; a round trip through
 * nn_h5_write and nn_data_open; when ../shared/data/rick-and-morty is
 * present, the Rick folders' counts against their README; and the nntrain
 * binary's convert images / augment-preview when it is built. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stb_image.h>
#include <stb_image_write.h>

#include "nntrain/clock.h"
#include "nntrain/data.h"
#include "nntrain/h5data.h"
#include "nntrain/images.h"
#include "testutil.h"

enum { IH = 8, IW = 12 };

static char root[256];

/* Pattern k: distinct, deterministic pixel values. */
static void pattern(uint8_t *p, int h, int w, int c, int k)
{
    for (int i = 0; i < h * w * c; i++)
        p[i] = (uint8_t)(i * (3 + 2 * k) + 17 * k);
}

static void path_of(char *buf, size_t len, const char *rel)
{
    snprintf(buf, len, "%s/%s", root, rel);
}

static void mkdir_rel(const char *rel)
{
    char p[512];
    path_of(p, sizeof p, rel);
    mkdir(p, 0777);
}

static int write_png(const char *rel, int h, int w, int c, int k)
{
    char p[512];
    uint8_t *px = malloc((size_t)h * w * c);
    pattern(px, h, w, c, k);
    path_of(p, sizeof p, rel);
    int ok = stbi_write_png(p, w, h, c, px, w * c);
    free(px);
    return ok ? 0 : -1;
}

static int write_jpg(const char *rel, int h, int w, int k)
{
    char p[512];
    uint8_t *px = malloc((size_t)h * w * 3);
    pattern(px, h, w, 3, k);
    path_of(p, sizeof p, rel);
    int ok = stbi_write_jpg(p, w, h, 3, px, 90);
    free(px);
    return ok ? 0 : -1;
}

static void *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    rewind(f);
    void *b = malloc(*n);
    if (b && fread(b, 1, *n, f) != *n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    return b;
}

/* Copies rel_from to rel_to, keeping only `keep` bytes (0: all). */
static int copy_file(const char *rel_from, const char *rel_to, size_t keep)
{
    char a[512], b[512];
    size_t n;
    path_of(a, sizeof a, rel_from);
    path_of(b, sizeof b, rel_to);
    void *buf = slurp(a, &n);
    if (!buf)
        return -1;
    FILE *f = fopen(b, "wb");
    int rc = f && fwrite(buf, 1, keep ? keep : n, f) == (keep ? keep : n) ? 0 : -1;
    if (f)
        fclose(f);
    free(buf);
    return rc;
}

static int setup(void)
{
    const char *t = tu_tmpdir();
    if (!t)
        return -1;
    snprintf(root, sizeof root, "%s", t);
    mkdir_rel("A");
    mkdir_rel("B");
    mkdir_rel("A/subdir");   /* skipped with a note */
    int rc = write_png("A/img_b.png", IH, IW, 3, 1) | write_png("A/img_a.png", IH, IW, 3, 2) |
             write_jpg("A/img_c.jpg", IH, IW, 3) | copy_file("A/img_a.png", "A/img_d.png", 0) |
             write_png("B/x1.png", IH, IW, 3, 4) | copy_file("A/img_b.png", "B/x2.png", 0) |
             write_png("B/x3.png", IH, IW, 1, 5);
    char hidden[512];
    path_of(hidden, sizeof hidden, "A/.hidden");
    rc |= tu_write_file(hidden, "x");
    /* error cases, one folder each */
    mkdir_rel("mixed");
    rc |= write_png("mixed/p1.png", IH, IW, 3, 1) | write_png("mixed/p2.png", 10, IW, 3, 2);
    mkdir_rel("notimg");
    char p[512];
    path_of(p, sizeof p, "notimg/readme.png");   /* an image name, text inside */
    rc |= write_png("notimg/a.png", IH, IW, 3, 1) |
          tu_write_file(p, "these are not the pixels you are looking for\n");
    mkdir_rel("trunc");
    rc |= write_png("trunc/a.png", IH, IW, 3, 1) | write_jpg("trunc/full.jpg", IH, IW, 6);
    {
        char f[512];
        size_t n;
        path_of(f, sizeof f, "trunc/full.jpg");
        free(slurp(f, &n));
        rc |= copy_file("trunc/full.jpg", "trunc/b.jpg", n / 2);
        remove(f);
    }
    mkdir_rel("empty");
    mkdir_rel("grey");
    rc |= write_png("grey/g1.png", IH, IW, 1, 7) | write_png("grey/g2.png", IH, IW, 1, 8);
    return rc;
}

static int load(const char *a, const char *la, const char *b, const char *lb,
                nn_images_opts o, nn_images *im, nn_error *e)
{
    char pa[512], pb[512];
    path_of(pa, sizeof pa, a);
    if (b)
        path_of(pb, sizeof pb, b);
    nn_image_class k[2] = {{pa, la}, {pb, lb}};
    return nn_images_load(k, b ? 2 : 1, &o, im, e);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

static void test_load_report(void)
{
    nn_images im;
    nn_error e = {0};
    TU_ASSERT_OK(load("A", "cat", "B", "dog", (nn_images_opts){0}, &im, &e), e);
    CU_ASSERT_EQUAL(im.n, 7);
    CU_ASSERT_EQUAL(im.nfiles, 7);
    CU_ASSERT_EQUAL(im.h, IH);
    CU_ASSERT_EQUAL(im.w, IW);
    CU_ASSERT_EQUAL(im.c, 3);   /* the first image's channels */
    CU_ASSERT_EQUAL(im.nclasses, 2);
    CU_ASSERT_STRING_EQUAL(im.class_names[0], "cat");
    CU_ASSERT_STRING_EQUAL(im.class_names[1], "dog");
    static const char *const order[] = {"A/img_a.png", "A/img_b.png", "A/img_c.jpg",
                                        "A/img_d.png", "B/x1.png", "B/x2.png", "B/x3.png"};
    for (size_t i = 0; i < 7 && i < im.n; i++) {
        CU_ASSERT(ends_with(im.files[i], order[i]));
        CU_ASSERT_EQUAL(im.y[i], i < 4 ? 0 : 1);
    }
    CU_ASSERT_EQUAL(im.class_count[0], 4);
    CU_ASSERT_EQUAL(im.class_count[1], 3);
    /* PNG pixels are exact; the grey PNG became RGB with equal channels */
    uint8_t ref[IH * IW * 3];
    size_t per = IH * IW * 3;
    pattern(ref, IH, IW, 3, 2);
    CU_ASSERT(!memcmp(im.x, ref, per));
    CU_ASSERT(!memcmp(im.x + 3 * per, ref, per));   /* img_d = copy of img_a */
    pattern(ref, IH, IW, 1, 5);
    int grey_ok = 1;
    for (int i = 0; i < IH * IW; i++)
        for (int k = 0; k < 3; k++)
            grey_ok &= im.x[6 * per + (size_t)i * 3 + k] == ref[i];
    CU_ASSERT(grey_ok);
    CU_ASSERT_EQUAL(im.nconverted, 1);
    CU_ASSERT_EQUAL(im.ndistinct, 5);
    CU_ASSERT_EQUAL(im.nrepeats, 1);
    CU_ASSERT_EQUAL(im.ncross, 1);
    CU_ASSERT_EQUAL(im.ndropped, 0);
    CU_ASSERT(tu_contains(im.report, "7 files in 2 classes, 5 distinct contents"));
    CU_ASSERT(tu_contains(im.report, "cat: 1 of 4 files repeat another cat file"));
    CU_ASSERT(tu_contains(im.report, "(1 groups; e.g. img_a.png = img_d.png)"));
    CU_ASSERT(tu_contains(im.report, "in 2 classes:"));
    CU_ASSERT(tu_contains(im.report, "A/img_b.png (cat) = "));
    CU_ASSERT(tu_contains(im.report, "B/x2.png (dog)"));
    CU_ASSERT(tu_contains(im.report, "no dedupe"));
    CU_ASSERT(tu_contains(im.report, "1 image converted to 3 channels"));
    CU_ASSERT(tu_contains(im.report, "skipped 1 subfolder"));
    CU_ASSERT(tu_contains(im.report, "skipped 1 hidden file"));
    nn_images_free(&im);
}

static void test_dedupe(void)
{
    nn_images im;
    nn_error e = {0};
    TU_ASSERT_OK(load("A", "cat", "B", "dog", (nn_images_opts){.dedupe = 1}, &im, &e), e);
    /* kept: img_a, img_c (img_b is also in B; img_d repeats img_a), x1, x3 */
    CU_ASSERT_EQUAL_FATAL(im.n, 4);
    CU_ASSERT(ends_with(im.files[0], "A/img_a.png"));
    CU_ASSERT(ends_with(im.files[1], "A/img_c.jpg"));
    CU_ASSERT(ends_with(im.files[2], "B/x1.png"));
    CU_ASSERT(ends_with(im.files[3], "B/x3.png"));
    CU_ASSERT(im.y[0] == 0 && im.y[1] == 0 && im.y[2] == 1 && im.y[3] == 1);
    CU_ASSERT_EQUAL(im.class_count[0], 2);
    CU_ASSERT_EQUAL(im.class_count[1], 2);
    CU_ASSERT_EQUAL(im.ndropped, 3);
    uint8_t ref[IH * IW * 3];
    size_t per = IH * IW * 3;
    pattern(ref, IH, IW, 3, 4);
    CU_ASSERT(!memcmp(im.x + 2 * per, ref, per));   /* x1 moved to slot 2 */
    CU_ASSERT(tu_contains(im.report, "dedupe: dropped 3 files"));
    CU_ASSERT(tu_contains(im.report, "dropped from every class"));
    nn_images_free(&im);
}

static void test_resize_and_channels(void)
{
    nn_images im;
    nn_error e = {0};
    /* grey: RGB images converted with stb's luma weights */
    TU_ASSERT_OK(load("A", "cat", "B", "dog", (nn_images_opts){.channels = 1}, &im, &e), e);
    CU_ASSERT_EQUAL(im.c, 1);
    uint8_t rgb[IH * IW * 3];
    pattern(rgb, IH, IW, 3, 2);
    int ok = 1;
    for (int i = 0; i < IH * IW; i++) {
        int want = (rgb[3 * i] * 77 + rgb[3 * i + 1] * 150 + rgb[3 * i + 2] * 29) >> 8;
        ok &= abs(im.x[i] - want) <= 1;
    }
    CU_ASSERT(ok);
    CU_ASSERT_EQUAL(im.nconverted, 6);
    nn_images_free(&im);

    /* rgb forced on a grey-only folder; default keeps 1 channel */
    TU_ASSERT_OK(load("grey", "g", NULL, NULL, (nn_images_opts){0}, &im, &e), e);
    CU_ASSERT_EQUAL(im.c, 1);
    CU_ASSERT_EQUAL(im.nconverted, 0);
    nn_images_free(&im);
    TU_ASSERT_OK(load("grey", "g", NULL, NULL, (nn_images_opts){.channels = 3}, &im, &e), e);
    CU_ASSERT_EQUAL(im.c, 3);
    CU_ASSERT_EQUAL(im.nconverted, 2);
    nn_images_free(&im);

    /* resize to 4x6, and mixed sizes are fine with a size */
    TU_ASSERT_OK(load("A", "cat", "B", "dog", (nn_images_opts){.h = 4, .w = 6}, &im, &e), e);
    CU_ASSERT_EQUAL(im.h, 4);
    CU_ASSERT_EQUAL(im.w, 6);
    CU_ASSERT_EQUAL(im.nresized, 7);
    CU_ASSERT(tu_contains(im.report, "7 images resized to 4x6"));
    nn_images_free(&im);
    TU_ASSERT_OK(load("mixed", "m", NULL, NULL, (nn_images_opts){.h = IH, .w = IW}, &im, &e), e);
    CU_ASSERT_EQUAL(im.n, 2);
    CU_ASSERT_EQUAL(im.nresized, 1);
    nn_images_free(&im);

    /* a constant image stays constant when resized */
    mkdir_rel("flat");
    char p[512];
    uint8_t flat[20 * 30 * 3];
    memset(flat, 200, sizeof flat);
    path_of(p, sizeof p, "flat/f.png");
    CU_ASSERT_FATAL(stbi_write_png(p, 30, 20, 3, flat, 30 * 3) != 0);
    TU_ASSERT_OK(load("flat", "f", NULL, NULL, (nn_images_opts){.h = 7, .w = 11}, &im, &e), e);
    ok = 1;
    for (int i = 0; i < 7 * 11 * 3; i++)
        ok &= abs(im.x[i] - 200) <= 1;
    CU_ASSERT(ok);
    nn_images_free(&im);
}

static void test_errors(void)
{
    static const struct {
        const char *dir;
        nn_images_opts o;
        int code;
        const char *want[3];
    } cases[] = {
        {"mixed", {0}, NN_EFORMAT, {"mixed image sizes", "p1.png is 8x12", "p2.png is 10x12"}},
        {"notimg", {0}, NN_EFORMAT, {"notimg/readme.png", "not an image",
                                     "stb_image: unknown image type"}},
        {"trunc", {0}, NN_EFORMAT, {"trunc/b.jpg", "JPEG", "truncated or corrupt"}},
        {"empty", {0}, NN_EINVAL, {"empty", "empty folder", "class 'e'"}},
        {"missing", {0}, NN_EIO, {"missing", "cannot open folder", "No such file"}},
        {"A", {.h = 5}, NN_EINVAL, {"bad image size", "5x0", "HxW"}},
        {"A", {.channels = 7}, NN_EINVAL, {"channels", "got 7", "1..4"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        nn_images im;
        nn_error e = {0};
        int rc = load(cases[i].dir, "e", NULL, NULL, cases[i].o, &im, &e);
        CU_ASSERT_EQUAL(rc, cases[i].code);
        for (int k = 0; k < 3; k++)
            CU_ASSERT(tu_contains(e.msg, cases[i].want[k]));
        CU_ASSERT_PTR_NULL(im.x);
        if (!rc)
            nn_images_free(&im);
    }
    /* the truncated JPEG's message carries stb's reason */
    nn_images im;
    nn_error e = {0};
    load("trunc", "e", NULL, NULL, (nn_images_opts){0}, &im, &e);
    CU_ASSERT(tu_contains(e.msg, "(stb_image: "));
}

/* Files that are not images by name are skipped with a count and an example;
 * an image name is decided without case; a class may be one image file. */
static void test_skip_and_single_file(void)
{
    mkdir_rel("skip");
    char p[512];
    path_of(p, sizeof p, "skip/Thumbs.db");
    CU_ASSERT_FATAL(tu_write_file(p, "thumbnail cache") == 0);
    path_of(p, sizeof p, "skip/labels.csv");
    CU_ASSERT_FATAL(tu_write_file(p, "file,label\n") == 0);
    CU_ASSERT_FATAL(write_png("skip/one.PNG", IH, IW, 3, 1) == 0);
    CU_ASSERT_FATAL(write_jpg("skip/two.JpEg", IH, IW, 2) == 0);
    nn_images im;
    nn_error e = {0};
    TU_ASSERT_OK(load("skip", "s", NULL, NULL, (nn_images_opts){0}, &im, &e), e);
    CU_ASSERT_EQUAL(im.n, 2);
    CU_ASSERT_EQUAL(im.nskipped, 2);
    CU_ASSERT(ends_with(im.skipped_example, "skip/Thumbs.db"));   /* least name */
    CU_ASSERT(tu_contains(im.report, "note: skipped 2 files that are not images (e.g. "));
    CU_ASSERT(ends_with(im.files[0], "one.PNG") && ends_with(im.files[1], "two.JpEg"));
    nn_images_free(&im);
    CU_ASSERT(nn_images_is_image_name("a/b.Tga") && nn_images_is_image_name("x.ppm"));
    CU_ASSERT(!nn_images_is_image_name("a.png/Thumbs") && !nn_images_is_image_name(".png") &&
              !nn_images_is_image_name("png") && !nn_images_is_image_name("d/.jpg"));
    /* one file as a class; only other files: an error naming one of them */
    TU_ASSERT_OK(load("skip/two.JpEg", "t", NULL, NULL, (nn_images_opts){0}, &im, &e), e);
    CU_ASSERT_EQUAL(im.n, 1);
    CU_ASSERT_EQUAL(im.h, IH);
    nn_images_free(&im);
    mkdir_rel("noimages");
    path_of(p, sizeof p, "noimages/Thumbs.db");
    CU_ASSERT_FATAL(tu_write_file(p, "x") == 0);
    CU_ASSERT_EQUAL(load("noimages", "n", NULL, NULL, (nn_images_opts){0}, &im, &e), NN_EINVAL);
    CU_ASSERT(tu_contains(e.msg, "no image files for class 'n'") &&
              tu_contains(e.msg, "noimages/Thumbs.db"));
}

/* Class subfolders in byte order (as flow_from_directory: upper case before
 * lower case, '_' between them), image files counted, hidden ones left out;
 * the fingerprint follows names, sizes and modification times. */
static void test_class_folders(void)
{
    mkdir_rel("cf");
    const char *sub[] = {"cf/rick", "cf/Morty", "cf/not_rick", "cf/notrick", "cf/.cache",
                         "cf/Zeta", "cf/_under"};
    for (int i = 0; i < 7; i++)
        mkdir_rel(sub[i]);
    CU_ASSERT_FATAL(write_png("cf/rick/a.png", IH, IW, 3, 1) == 0);
    char root_cf[512], **names;
    int n;
    size_t nimg;
    nn_error e = {0};
    path_of(root_cf, sizeof root_cf, "cf");
    TU_ASSERT_OK(nn_images_class_folders(root_cf, &names, &n, &nimg, &e), e);
    const char *want[] = {"Morty", "Zeta", "_under", "not_rick", "notrick", "rick"};
    CU_ASSERT_EQUAL_FATAL(n, 6);
    for (int i = 0; i < 6; i++)
        CU_ASSERT_STRING_EQUAL(names[i], want[i]);
    CU_ASSERT_EQUAL(nimg, 0);
    nn_images_free_names(names, n);
    char rick[512];
    path_of(rick, sizeof rick, "cf/rick");
    nn_image_class k = {rick, "rick"};
    uint64_t h1, h2, h3;
    TU_ASSERT_OK(nn_images_fingerprint(&k, 1, &h1, &e), e);
    TU_ASSERT_OK(nn_images_fingerprint(&k, 1, &h2, &e), e);
    CU_ASSERT_EQUAL(h1, h2);
    CU_ASSERT_FATAL(write_png("cf/rick/b.png", IH, IW, 3, 2) == 0);
    TU_ASSERT_OK(nn_images_fingerprint(&k, 1, &h3, &e), e);
    CU_ASSERT_NOT_EQUAL(h1, h3);
    k.label = "other";
    TU_ASSERT_OK(nn_images_fingerprint(&k, 1, &h2, &e), e);
    CU_ASSERT_NOT_EQUAL(h2, h3);
}

/* load -> nn_h5_write -> nn_data_open reads the same pixels / 255 */
static void test_h5_round_trip(void)
{
    nn_images im;
    nn_error e = {0};
    TU_ASSERT_OK(load("A", "cat", "B", "dog", (nn_images_opts){.dedupe = 1}, &im, &e), e);
    const char *names[2] = {im.class_names[0], im.class_names[1]};
    nn_h5_split s = {.name = "train", .n = im.n, .shape = nn_shape3(im.h, im.w, im.c),
                     .x_u8 = im.x, .y_label = im.y, .ydim = 1};
    nn_h5_meta m = {.source = "images: A=cat, B=dog", .nclasses = 2, .class_names = names};
    char path[512];
    path_of(path, sizeof path, "imgs.h5");
    TU_ASSERT_OK(nn_h5_write(path, &s, 1, &m, &e), e);
    nn_dataset d;
    TU_ASSERT_OK(nn_data_open(path, "train", 1, &d, &e), e);
    CU_ASSERT_EQUAL(d.n, im.n);
    CU_ASSERT_EQUAL(d.nclasses, 2);
    nn_shape want = nn_shape3(IH, IW, 3);
    CU_ASSERT(nn_shape_eq(&d.x_shape, &want));
    size_t per = IH * IW * 3;
    float *x = malloc(2 * per * sizeof *x), y[2];
    uint64_t idx[2] = {3, 1};
    TU_ASSERT_OK(d.read(&d, idx, 2, x, y, &e), e);
    int ok = 1;
    for (size_t i = 0; i < per; i++)
        ok &= x[i] == im.x[3 * per + i] / 255.0f || x[i] == (float)(im.x[3 * per + i] / 255.0);
    CU_ASSERT(ok);
    CU_ASSERT_EQUAL(y[0], 1);
    CU_ASSERT_EQUAL(y[1], 0);
    free(x);
    nn_data_close(&d);
    remove(path);
    nn_images_free(&im);
}

/* The Rick folders' figures from their README (skipped when absent). */
static void test_rick(void)
{
    char rick[512], morty[512];
    snprintf(rick, sizeof rick, "%s/../shared/data/rick-and-morty/AllRickImages", NN_SOURCE_DIR);
    snprintf(morty, sizeof morty, "%s/../shared/data/rick-and-morty/AllMortyImages",
             NN_SOURCE_DIR);
    struct stat st;
    if (stat(rick, &st) || stat(morty, &st)) {
        printf("\n  note: %s absent: Rick image check skipped ", rick);
        return;
    }
    nn_image_class k[2] = {{rick, "rick"}, {morty, "not_rick"}};
    nn_images im;
    nn_error e = {0};
    double t0 = nn_now();
    TU_ASSERT_OK(nn_images_load(k, 2, &(nn_images_opts){.dedupe = 1}, &im, &e), e);
    printf("\n  Rick folders loaded with dedupe in %.2f s ", nn_now() - t0);
    CU_ASSERT_EQUAL(im.nfiles, 5257);
    CU_ASSERT_EQUAL(im.ndistinct, 4118);
    CU_ASSERT_EQUAL(im.ncross, 1);
    CU_ASSERT_EQUAL(im.nrepeats, 89 + 1049);
    CU_ASSERT_EQUAL(im.n, 4117);   /* the image in both classes is dropped from both */
    CU_ASSERT_EQUAL(im.class_count[0], 2211 - 89 - 1);
    CU_ASSERT_EQUAL(im.class_count[1], 3046 - 1049 - 1);
    CU_ASSERT(im.h == 90 && im.w == 160 && im.c == 3);
    CU_ASSERT(tu_contains(im.report, "rick: 89 of 2211 files repeat another rick file"));
    CU_ASSERT(tu_contains(im.report, "not_rick: 1049 of 3046 files"));
    CU_ASSERT(tu_contains(im.report, "Rick_82.jpg (rick) = "));
    CU_ASSERT(tu_contains(im.report, "Morty_776.jpg (not_rick)"));
    nn_images_free(&im);
}

/* The stored order is a seeded permutation that moves each image's pixels,
 * label and file name together, and differs from the file order. */
static void test_shuffle(void)
{
    nn_images a, b;
    nn_error e = {0};
    TU_ASSERT_OK(load("A", "cat", "B", "dog", (nn_images_opts){0}, &a, &e), e);
    TU_ASSERT_OK(load("A", "cat", "B", "dog", (nn_images_opts){0}, &b, &e), e);
    TU_ASSERT_OK(nn_images_shuffle(&b, 42, &e), e);
    size_t per = (size_t)a.h * (size_t)a.w * (size_t)a.c, moved = 0;
    int used[7] = {0};
    for (size_t i = 0; i < b.n && b.n == 7; i++) {
        size_t j = 0;
        while (j < a.n && strcmp(a.files[j], b.files[i]))
            j++;
        CU_ASSERT_FATAL(j < a.n);
        used[j]++;
        moved += j != i;
        CU_ASSERT_EQUAL(b.y[i], a.y[j]);
        CU_ASSERT(!memcmp(b.x + i * per, a.x + j * per, per));
    }
    for (int j = 0; j < 7; j++)
        CU_ASSERT_EQUAL(used[j], 1);
    CU_ASSERT(moved > 0);
    nn_images c;
    TU_ASSERT_OK(load("A", "cat", "B", "dog", (nn_images_opts){0}, &c, &e), e);
    TU_ASSERT_OK(nn_images_shuffle(&c, 42, &e), e);
    for (size_t i = 0; i < c.n; i++)   /* the same seed, the same order */
        CU_ASSERT_STRING_EQUAL(c.files[i], b.files[i]);
    nn_images_free(&a);
    nn_images_free(&b);
    nn_images_free(&c);
}

/* Runs a shell command; returns its exit status, output (2>&1) in out. */
static int run(const char *cmd, char *out, size_t len)
{
    char full[4096];
    snprintf(full, sizeof full, "%s 2>&1", cmd);
    FILE *f = popen(full, "r");
    size_t n = 0;
    out[0] = 0;
    if (!f)
        return -1;
    while (n + 1 < len) {
        size_t k = fread(out + n, 1, len - 1 - n, f);
        if (!k)
            break;
        n += k;
    }
    out[n] = 0;
    int st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Files in root whose name starts with prefix. */
static int count_prefix(const char *prefix)
{
    DIR *d = opendir(root);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        n += !strncmp(de->d_name, prefix, strlen(prefix));
    if (d)
        closedir(d);
    return n;
}

/* The nntrain binary end to end: convert images, its errors leave no file,
 * augment-preview writes a PNG of the expected size. */
static void test_cli(void)
{
    const char *bin = NN_BINARY_DIR "/nntrain";
    if (access(bin, X_OK) != 0) {
        printf("\n  note: %s not built: CLI check skipped ", bin);
        return;
    }
    char cmd[4096], out[8192];
    snprintf(cmd, sizeof cmd, "'%s' convert images '%s/A=cat' '%s/B=dog' -o '%s/cli.h5' --dedupe",
             bin, root, root, root);
    CU_ASSERT_EQUAL(run(cmd, out, sizeof out), 0);
    CU_ASSERT(tu_contains(out, "dedupe: dropped 3 files"));
    CU_ASSERT(tu_contains(out, "wrote "));
    CU_ASSERT(tu_contains(out, "4 images 8x12x3 (HxWxC) uint8 in 2 classes (cat 2, dog 2)"));
    char h5[512];
    path_of(h5, sizeof h5, "cli.h5");
    nn_dataset d;
    nn_error e = {0};
    TU_ASSERT_OK(nn_data_open(h5, "train", 1, &d, &e), e);
    CU_ASSERT_EQUAL(d.n, 4);
    nn_data_close(&d);

    /* errors: the file is named, nothing is left behind */
    static const char *const bad[][2] = {{"notimg=x", "notimg/readme.png"},
                                         {"trunc=x", "trunc/b.jpg"},
                                         {"empty=x", "empty folder"},
                                         {"mixed=x", "mixed image sizes"}};
    for (int i = 0; i < 4; i++) {
        snprintf(cmd, sizeof cmd, "'%s' convert images '%s/%s' -o '%s/bad.h5'", bin, root,
                 bad[i][0], root);
        CU_ASSERT_EQUAL(run(cmd, out, sizeof out), 1);
        CU_ASSERT(tu_contains(out, bad[i][1]));
        CU_ASSERT_EQUAL(count_prefix("bad.h5"), 0);
    }
    snprintf(cmd, sizeof cmd, "'%s' convert images '%s/A=cat' -o '%s/bad.h5' --size 8", bin,
             root, root);
    CU_ASSERT_EQUAL(run(cmd, out, sizeof out), 2);
    CU_ASSERT(tu_contains(out, "--size expects HxW"));

    /* augment-preview: 2 rows x (1 + 3) cells of 16x24, 2 px separators */
    char spec[512], png[512];
    path_of(spec, sizeof spec, "aug.nn");
    path_of(png, sizeof png, "grid.png");
    CU_ASSERT_FATAL(tu_write_file(spec, "ImageDataGenerator(horizontal_flip=True, "
                                        "rotation_range=10, rescale=1./255)\nDense(1)\n") == 0);
    snprintf(cmd, sizeof cmd, "'%s' augment-preview '%s' --data '%s' -o '%s' --n 2 --versions 3 "
             "--scale 2", bin, spec, h5, png);
    CU_ASSERT_EQUAL(run(cmd, out, sizeof out), 0);
    CU_ASSERT(tu_contains(out, "wrote "));
    int w = 0, h = 0, c = 0;
    uint8_t *img = stbi_load(png, &w, &h, &c, 0);
    CU_ASSERT_PTR_NOT_NULL(img);
    CU_ASSERT_EQUAL(w, 4 * IW * 2 + 5 * 2);
    CU_ASSERT_EQUAL(h, 2 * IH * 2 + 3 * 2);
    CU_ASSERT_EQUAL(c, 3);
    stbi_image_free(img);
    /* a spec without the line is an error naming it */
    path_of(spec, sizeof spec, "plain.nn");
    CU_ASSERT_FATAL(tu_write_file(spec, "Dense(1)\n") == 0);
    snprintf(cmd, sizeof cmd, "'%s' augment-preview '%s' --data '%s'", bin, spec, h5);
    CU_ASSERT_EQUAL(run(cmd, out, sizeof out), 1);
    CU_ASSERT(tu_contains(out, "plain.nn: no ImageDataGenerator"));
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(path);
}

int main(void)
{
    if (setup()) {
        fprintf(stderr, "test_images: cannot create the fixture images\n");
        return 1;
    }
    static const tu_test tests[] = {
        {"two classes: arrays, order, labels, duplicate report", test_load_report},
        {"dedupe keeps first copies, drops cross-class contents", test_dedupe},
        {"resize, grey and RGB conversion", test_resize_and_channels},
        {"seeded shuffle keeps pixels, labels and names together", test_shuffle},
        {"errors name the file and stb's reason", test_errors},
        {"files that are not images are skipped; one file as a class", test_skip_and_single_file},
        {"class subfolders in byte order; fingerprint", test_class_folders},
        {"round trip through nn_h5_write and nn_data_open", test_h5_round_trip},
        {"Rick folders: counts from the README", test_rick},
        {"CLI: convert images, augment-preview", test_cli},
        {NULL, NULL}};
    int rc = tu_main("images", tests);
    if (nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf(stderr, "test_images: could not remove %s\n", root);
    return rc;
}
