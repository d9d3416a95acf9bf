/* Augmentation (src/data/augment.c): the ImageDataGenerator / R
 * image_data_generator line, exact transforms against hand-made ones (flip,
 * whole-pixel shifts with nearest/constant fill, a 90 degree rotation),
 * identity, determinism of the (seed, epoch, sample) keys, value ranges,
 * the preview grid as a PNG, and the spec parser's "1/255" quotients. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb_image.h>
#include <stb_image_write.h>

#include "nntrain/augment.h"
#include "nntrain/spec.h"
#include "testutil.h"

/* Parses one spec line into *a; returns the code (message in e). */
static int aug_from(const char *text, nn_augment *a, nn_error *e)
{
    nn_spec s;
    int rc = nn_spec_parse(text, "t.nn", &s, e);
    if (rc)
        return rc;
    rc = nn_augment_from_call(a, &s.calls[0], e);
    nn_spec_free(&s);
    return rc;
}

static nn_augment_params identity(void)
{
    nn_augment_params p;
    memset(&p, 0, sizeof p);
    p.zx = p.zy = 1;
    p.brightness = p.contrast = 1;
    return p;
}

static void test_parse_keras(void)
{
    nn_augment a;
    nn_error e = {0};
    TU_ASSERT_OK(aug_from("ImageDataGenerator(horizontal_flip=True, rotation_range=20, "
                          "width_shift_range=0.1, height_shift_range=0.2, shear_range=10, "
                          "zoom_range=0.1, brightness_range=(0.8, 1.2), "
                          "channel_shift_range=25.5, fill_mode=\"constant\", cval=255, "
                          "rescale=1./255, vertical_flip=False, contrast_range=0.3, "
                          "gaussian_noise=0.02, invert=0.1)", &a, &e), e);
    CU_ASSERT(a.enabled);
    CU_ASSERT(a.horizontal_flip && !a.vertical_flip);
    CU_ASSERT_DOUBLE_EQUAL(a.rotation_range, 20, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(a.width_shift_range, 0.1, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(a.height_shift_range, 0.2, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(a.shear_range, 10, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(a.zoom_range[0], 0.9, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(a.zoom_range[1], 1.1, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(a.brightness_range[0], 0.8, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(a.brightness_range[1], 1.2, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(a.channel_shift_range, 0.1, 1e-12);   /* 25.5 of 255 */
    CU_ASSERT_EQUAL(a.fill_mode, NN_FILL_CONSTANT);
    CU_ASSERT_DOUBLE_EQUAL(a.cval, 1.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(a.rescale, 1.0 / 255, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(a.contrast_range, 0.3, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(a.gaussian_noise, 0.02, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(a.invert, 0.1, 1e-12);
    char d[512];
    nn_augment_describe(&a, d, sizeof d);
    CU_ASSERT(tu_contains(d, "horizontal_flip, rotation_range=20"));
    CU_ASSERT(tu_contains(d, "zoom_range=[0.9, 1.1]"));
    CU_ASSERT(tu_contains(d, "fill_mode=constant"));

    /* R spelling; zoom as a pair; rescale = 1 */
    TU_ASSERT_OK(aug_from("image_data_generator(horizontal_flip = TRUE, "
                          "zoom_range = c(0.8, 1.25), rescale = 1)", &a, &e), e);
    CU_ASSERT(a.horizontal_flip);
    CU_ASSERT_DOUBLE_EQUAL(a.zoom_range[0], 0.8, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(a.zoom_range[1], 1.25, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(a.rescale, 1.0, 0);
    nn_augment_describe(&a, d, sizeof d);
    CU_ASSERT(tu_contains(d, "rescale=1"));

    /* defaults: nothing enabled; Keras flags at their defaults are fine */
    TU_ASSERT_OK(aug_from("ImageDataGenerator(featurewise_center=False, zca_whitening=False, "
                          "data_format=\"channels_last\", rescale=1/255)", &a, &e), e);
    CU_ASSERT(!a.enabled);
    CU_ASSERT_DOUBLE_EQUAL(a.rescale, 1.0 / 255, 1e-15);
    nn_augment_describe(&a, d, sizeof d);
    CU_ASSERT(tu_contains(d, "none"));
}

static void test_parse_errors(void)
{
    static const struct {
        const char *text, *want1, *want2;
    } cases[] = {
        {"ImageDataGenerator(rotation_rang=20)", "unknown argument 'rotation_rang'",
         "rotation_range"},
        {"ImageDataGenerator(featurewise_center=True)", "featurewise_center=True",
         "not supported"},
        {"ImageDataGenerator(rescale=2)", "t.nn:1:28", "rescale must be 1/255"},
        {"ImageDataGenerator(rescale=None)", "rescale=None", "1/255"},
        {"ImageDataGenerator(fill_mode=\"mirror\")", "unknown fill_mode 'mirror'", "reflect"},
        {"ImageDataGenerator(zoom_range=1.5)", "zoom_range", "[0, 1)"},
        {"ImageDataGenerator(brightness_range=1.2)", "brightness_range", "pair"},
        {"ImageDataGenerator(rotation_range=-5)", "rotation_range", ">= 0"},
        {"ImageDataGenerator(invert=2)", "invert", "probability"},
        {"ImageDataGenerator(horizontal_flip=1)", "horizontal_flip", "True or False"},
        {"ImageDataGenerator(validation_split=0.2)", "validation_split", "fit(validation_split"},
        {"ImageDataGenerator(data_format=\"channels_first\")", "data_format", "NHWC"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        nn_augment a;
        nn_error e = {0};
        int rc = aug_from(cases[i].text, &a, &e);
        CU_ASSERT_EQUAL(rc, NN_EINVAL);
        CU_ASSERT(tu_contains(e.msg, cases[i].want1));
        CU_ASSERT(tu_contains(e.msg, cases[i].want2));
    }
}

/* The spec parser's quotients ("1/255", "1./255", "1.0 / 255"). */
static void test_spec_quotient(void)
{
    nn_spec s;
    nn_error e = {0};
    TU_ASSERT_OK(nn_spec_parse("f(a=1/255, b=1./255, c=1.0 / 255, d=(1/2, 3), e=-6/4/3, g=4)",
                               "q.nn", &s, &e), e);
    const nn_call *c = &s.calls[0];
    CU_ASSERT_EQUAL_FATAL(c->nargs, 6);
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(c->vals[i].kind, NN_V_NUM);
        CU_ASSERT_DOUBLE_EQUAL(c->vals[i].num, 1.0 / 255, 1e-17);
        CU_ASSERT(!c->vals[i].is_int);
    }
    CU_ASSERT_EQUAL(c->vals[3].kind, NN_V_LIST);
    CU_ASSERT_DOUBLE_EQUAL(c->vals[3].items[0].num, 0.5, 0);
    CU_ASSERT_DOUBLE_EQUAL(c->vals[3].items[1].num, 3, 0);
    CU_ASSERT_DOUBLE_EQUAL(c->vals[4].num, -0.5, 1e-15);   /* (-6/4)/3 */
    CU_ASSERT(c->vals[5].is_int);
    nn_spec_free(&s);

    static const struct {
        const char *text, *want;
    } bad[] = {{"f(a=1/0)", "q.nn:1:7: division by zero"},
               {"f(a=1/)", "q.nn:1:7: expected a number after '/'"},
               {"f(a=1/x)", "expected a number after '/'"},
               {"f(a=1e300/1e-300)", "out of range"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = nn_spec_parse(bad[i].text, "q.nn", &s, &e);
        CU_ASSERT_EQUAL(rc, NN_EFORMAT);
        CU_ASSERT(tu_contains(e.msg, bad[i].want));
        if (!rc)
            nn_spec_free(&s);
    }
}

static void test_identity(void)
{
    enum { H = 7, W = 9, C = 3, N = H * W * C };
    float x[N], ref[N], scratch[N];
    nn_shape sh = nn_shape3(H, W, C);
    tu_fill_uniform(ref, N, 1, 0, 1);
    memcpy(x, ref, sizeof x);
    nn_augment a;
    nn_augment_defaults(&a);
    CU_ASSERT(!a.enabled);
    nn_augment_apply(&a, x, &sh, 1, 2, 3, scratch);
    CU_ASSERT(!memcmp(x, ref, sizeof x));
    /* identity parameters are a no-op even with options enabled */
    nn_error e = {0};
    TU_ASSERT_OK(aug_from("ImageDataGenerator(rotation_range=30, zoom_range=0.2, "
                          "brightness_range=(0.5, 1.5), fill_mode=\"constant\")", &a, &e), e);
    nn_augment_params p = identity();
    nn_augment_apply_params(&a, &p, x, &sh, scratch);
    CU_ASSERT(!memcmp(x, ref, sizeof x));
}

static void test_flips(void)
{
    enum { H = 5, W = 8, C = 2, N = H * W * C };
    float x[N], ref[N], scratch[N];
    nn_shape sh = nn_shape3(H, W, C);
    tu_fill_uniform(ref, N, 2, 0, 1);
    nn_augment a;
    nn_error e = {0};
    TU_ASSERT_OK(aug_from("ImageDataGenerator(horizontal_flip=True, vertical_flip=True)", &a,
                          &e), e);
    nn_augment_params p = identity();
    p.hflip = 1;
    memcpy(x, ref, sizeof x);
    nn_augment_apply_params(&a, &p, x, &sh, scratch);
    int ok = 1;
    for (int r = 0; r < H; r++)
        for (int c = 0; c < W; c++)
            for (int k = 0; k < C; k++)
                ok &= x[(r * W + c) * C + k] == ref[(r * W + (W - 1 - c)) * C + k];
    CU_ASSERT(ok);
    p.hflip = 0;
    p.vflip = 1;
    memcpy(x, ref, sizeof x);
    nn_augment_apply_params(&a, &p, x, &sh, scratch);
    ok = 1;
    for (int r = 0; r < H; r++)
        for (int c = 0; c < W; c++)
            for (int k = 0; k < C; k++)
                ok &= x[(r * W + c) * C + k] == ref[((H - 1 - r) * W + c) * C + k];
    CU_ASSERT(ok);

    /* drawn flips: each output is the image or its exact mirror, both occur */
    TU_ASSERT_OK(aug_from("ImageDataGenerator(horizontal_flip=True)", &a, &e), e);
    int same = 0, mirrored = 0;
    for (uint64_t s = 0; s < 200; s++) {
        memcpy(x, ref, sizeof x);
        nn_augment_apply(&a, x, &sh, 7, 0, s, scratch);
        if (!memcmp(x, ref, sizeof x)) {
            same++;
            continue;
        }
        int m = 1;
        for (int r = 0; r < H; r++)
            for (int c = 0; c < W; c++)
                for (int k = 0; k < C; k++)
                    m &= x[(r * W + c) * C + k] == ref[(r * W + (W - 1 - c)) * C + k];
        mirrored += m;
    }
    CU_ASSERT_EQUAL(same + mirrored, 200);
    CU_ASSERT(same > 70 && mirrored > 70);
}

/* Whole-pixel shifts are exact: out(r, c) = in(r + tx, c + ty), outside
 * points per fill mode. */
static void test_shift(void)
{
    enum { H = 6, W = 7, C = 3, N = H * W * C };
    float x[N], ref[N], scratch[N];
    nn_shape sh = nn_shape3(H, W, C);
    tu_fill_uniform(ref, N, 3, 0, 1);
    static const char *const specs[] = {
        "ImageDataGenerator(width_shift_range=3, fill_mode=\"nearest\")",
        "ImageDataGenerator(width_shift_range=3, fill_mode=\"constant\", cval=51)",
        "ImageDataGenerator(width_shift_range=3, fill_mode=\"wrap\")",
        "ImageDataGenerator(width_shift_range=3, fill_mode=\"reflect\")"};
    static const int shifts[][2] = {{2, -3}, {-1, 4}, {0, 1}, {-5, 0}};
    for (int m = 0; m < 4; m++) {
        nn_augment a;
        nn_error e = {0};
        TU_ASSERT_OK(aug_from(specs[m], &a, &e), e);
        for (int s = 0; s < 4; s++) {
            nn_augment_params p = identity();
            p.tx = shifts[s][0];
            p.ty = shifts[s][1];
            memcpy(x, ref, sizeof x);
            nn_augment_apply_params(&a, &p, x, &sh, scratch);
            int ok = 1;
            for (int r = 0; r < H; r++)
                for (int c = 0; c < W; c++) {
                    int ir = r + shifts[s][0], ic = c + shifts[s][1];
                    int out = ir < 0 || ir >= H || ic < 0 || ic >= W;
                    if (m == 0) {
                        ir = ir < 0 ? 0 : ir >= H ? H - 1 : ir;
                        ic = ic < 0 ? 0 : ic >= W ? W - 1 : ic;
                    } else if (m == 2) {
                        ir = (ir % H + H) % H;
                        ic = (ic % W + W) % W;
                    } else if (m == 3) {   /* d c b a | a b c d | d c b a */
                        ir = ir < 0 ? -ir - 1 : ir >= H ? 2 * H - 1 - ir : ir;
                        ic = ic < 0 ? -ic - 1 : ic >= W ? 2 * W - 1 - ic : ic;
                    }
                    for (int k = 0; k < C; k++) {
                        float want = m == 1 && out ? 0.2f : ref[(ir * W + ic) * C + k];
                        ok &= x[(r * W + c) * C + k] == want;
                    }
                }
            if (!ok)
                fprintf(stderr, "  shift (%d, %d) with %s differs\n", shifts[s][0],
                        shifts[s][1], specs[m]);
            CU_ASSERT(ok);
        }
    }
}

/* rotation by 90 degrees of a square image: out(r, c) = in(N-1-c, r) */
static void test_rotate90(void)
{
    enum { S = 8, C = 2, N = S * S * C };
    float x[N], ref[N], scratch[N], want[N];
    nn_shape sh = nn_shape3(S, S, C);
    tu_fill_uniform(ref, N, 4, 0, 1);
    nn_augment a;
    nn_error e = {0};
    TU_ASSERT_OK(aug_from("ImageDataGenerator(rotation_range=90)", &a, &e), e);
    nn_augment_params p = identity();
    p.theta = 90;
    memcpy(x, ref, sizeof x);
    nn_augment_apply_params(&a, &p, x, &sh, scratch);
    for (int r = 0; r < S; r++)
        for (int c = 0; c < S; c++)
            for (int k = 0; k < C; k++)
                want[(r * S + c) * C + k] = ref[((S - 1 - c) * S + r) * C + k];
    long bad;
    double d = tu_max_diff(x, want, N, 1e-5, &bad);
    CU_ASSERT_EQUAL(bad, -1);
    CU_ASSERT(d < 1e-5);
    /* four quarter turns give the image back */
    for (int t = 0; t < 3; t++)
        nn_augment_apply_params(&a, &p, x, &sh, scratch);
    d = tu_max_diff(x, ref, N, 1e-5, &bad);
    CU_ASSERT_EQUAL(bad, -1);
    /* zoom keeps the image centre fixed (odd size: a pixel centre) */
    enum { M = 9 };
    float z[M * M], zs[M * M];
    nn_shape shz = nn_shape3(M, M, 1);
    tu_fill_uniform(z, M * M, 5, 0, 1);
    float centre = z[(M / 2) * M + M / 2];
    p = identity();
    p.zx = 0.7;
    p.zy = 1.3;
    nn_augment_apply_params(&a, &p, z, &shz, zs);
    CU_ASSERT_DOUBLE_EQUAL(z[(M / 2) * M + M / 2], centre, 1e-6);
}

static void test_determinism_and_range(void)
{
    enum { H = 12, W = 10, C = 3, N = H * W * C };
    float ref[N], x1[N], x2[N], scratch[N];
    nn_shape sh = nn_shape3(H, W, C);
    tu_fill_uniform(ref, N, 6, 0, 1);
    nn_augment a;
    nn_error e = {0};
    TU_ASSERT_OK(aug_from("ImageDataGenerator(horizontal_flip=True, rotation_range=40, "
                          "width_shift_range=0.2, height_shift_range=0.2, shear_range=20, "
                          "zoom_range=0.3, brightness_range=(0.5, 1.6), "
                          "channel_shift_range=60, contrast_range=0.5, gaussian_noise=0.1, "
                          "invert=0.3, fill_mode=\"constant\", cval=400)", &a, &e), e);
    memcpy(x1, ref, sizeof x1);
    memcpy(x2, ref, sizeof x2);
    nn_augment_apply(&a, x1, &sh, 42, 3, 17, scratch);
    nn_augment_apply(&a, x2, &sh, 42, 3, 17, scratch);
    CU_ASSERT(!memcmp(x1, x2, sizeof x1));
    CU_ASSERT(memcmp(x1, ref, sizeof x1) != 0);
    memcpy(x2, ref, sizeof x2);
    nn_augment_apply(&a, x2, &sh, 42, 3, 18, scratch);   /* another sample */
    CU_ASSERT(memcmp(x1, x2, sizeof x1) != 0);
    memcpy(x2, ref, sizeof x2);
    nn_augment_apply(&a, x2, &sh, 42, 4, 17, scratch);   /* another epoch */
    CU_ASSERT(memcmp(x1, x2, sizeof x1) != 0);
    memcpy(x2, ref, sizeof x2);
    nn_augment_apply(&a, x2, &sh, 43, 3, 17, scratch);   /* another seed */
    CU_ASSERT(memcmp(x1, x2, sizeof x1) != 0);

    /* values stay in [0, 1] (rescale 1/255) and [0, 255] (rescale 1) */
    int in_range = 1;
    for (uint64_t s = 0; s < 300; s++) {
        memcpy(x1, ref, sizeof x1);
        nn_augment_apply(&a, x1, &sh, 1, s % 3, s, scratch);
        for (int i = 0; i < N; i++)
            in_range &= x1[i] >= 0 && x1[i] <= 1;
    }
    CU_ASSERT(in_range);
    a.rescale = 1.0;
    for (uint64_t s = 0; s < 100; s++) {
        for (int i = 0; i < N; i++)
            x1[i] = ref[i] * 255;
        nn_augment_apply(&a, x1, &sh, 1, 0, s, scratch);
        for (int i = 0; i < N; i++)
            in_range &= x1[i] >= 0 && x1[i] <= 255;
    }
    CU_ASSERT(in_range);

    /* the draws cover their ranges: |theta| <= 40, shifts within 0.2 * size */
    double tmax = 0, smax = 0, zlo = 9, zhi = 0;
    int flips = 0;
    for (uint64_t s = 0; s < 2000; s++) {
        nn_augment_params p;
        nn_augment_draw(&a, &sh, 9, 0, s, &p);
        tmax = fmax(tmax, fabs(p.theta));
        smax = fmax(smax, fabs(p.tx) / (0.2 * H));
        zlo = fmin(zlo, fmin(p.zx, p.zy));
        zhi = fmax(zhi, fmax(p.zx, p.zy));
        flips += p.hflip;
    }
    CU_ASSERT(tmax <= 40 && tmax > 38);
    CU_ASSERT(smax <= 1 && smax > 0.95);
    CU_ASSERT(zlo >= 0.7 && zlo < 0.72 && zhi <= 1.3 && zhi > 1.28);
    CU_ASSERT(flips > 900 && flips < 1100);
}

static void test_grid_png(void)
{
    enum { H = 5, W = 7, C = 3, ROWS = 2, VERS = 3, SCALE = 2, PER = H * W * C };
    float x[ROWS * PER];
    uint64_t ids[ROWS] = {0, 5};
    nn_shape sh = nn_shape3(H, W, C);
    tu_fill_uniform(x, ROWS * PER, 8, 0, 1);
    nn_augment a;
    nn_error e = {0};
    TU_ASSERT_OK(aug_from("ImageDataGenerator(horizontal_flip=True, rotation_range=10, "
                          "zoom_range=0.1)", &a, &e), e);
    uint8_t *g = NULL;
    int gh = 0, gw = 0;
    TU_ASSERT_OK(nn_augment_grid(&a, x, ids, ROWS, &sh, VERS, SCALE, 42, &g, &gh, &gw, &e), e);
    int want_h = ROWS * H * SCALE + (ROWS + 1) * 2, want_w = (1 + VERS) * W * SCALE + (VERS + 2) * 2;
    CU_ASSERT_EQUAL(gh, want_h);
    CU_ASSERT_EQUAL(gw, want_w);
    const char *dir = tu_tmpdir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    char path[512];
    snprintf(path, sizeof path, "%s/grid.png", dir);
    CU_ASSERT_FATAL(stbi_write_png(path, gw, gh, C, g, gw * C) != 0);
    int w, h, c;
    uint8_t *png = stbi_load(path, &w, &h, &c, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(png);
    CU_ASSERT_EQUAL(w, want_w);
    CU_ASSERT_EQUAL(h, want_h);
    CU_ASSERT_EQUAL(c, C);
    CU_ASSERT(!memcmp(png, g, (size_t)gw * gh * C));
    /* corner separator, then the original's pixel (1, 2) upscaled 2x at row 1 */
    CU_ASSERT_EQUAL(png[0], 255);
    int ok = 1;
    for (int dr = 0; dr < SCALE; dr++)
        for (int dc = 0; dc < SCALE; dc++)
            for (int k = 0; k < C; k++) {
                int gr = 2 + H * SCALE + 2 + 1 * SCALE + dr, gc = 2 + 2 * SCALE + dc;
                float v = x[PER + (1 * W + 2) * C + k] * 255.0f + 0.5f;
                ok &= png[((size_t)gr * gw + gc) * C + k] == (uint8_t)v;
            }
    CU_ASSERT(ok);
    /* the augmented versions differ from the original cell */
    int differs = 0;
    for (int r = 0; r < H * SCALE; r++)
        differs += memcmp(png + ((size_t)(2 + r) * gw + 2) * C,
                          png + ((size_t)(2 + r) * gw + 2 + W * SCALE + 2) * C,
                          (size_t)W * SCALE * C) != 0;
    CU_ASSERT(differs > 0);
    stbi_image_free(png);
    free(g);
    remove(path);
    remove(dir);
    /* bad shapes are errors */
    nn_shape flat = nn_shape1(12);
    CU_ASSERT_EQUAL(nn_augment_grid(&a, x, ids, 1, &flat, 1, 1, 0, &g, &gh, &gw, &e),
                    NN_ESHAPE);
}

int main(void)
{
    static const tu_test tests[] = {
        {"ImageDataGenerator / image_data_generator options", test_parse_keras},
        {"bad options are errors naming them", test_parse_errors},
        {"spec parser: 1/255 quotients", test_spec_quotient},
        {"identity changes nothing", test_identity},
        {"flips are exact mirrors", test_flips},
        {"whole-pixel shifts are exact (nearest, constant, wrap, reflect)", test_shift},
        {"rotation by 90 degrees, zoom about the centre", test_rotate90},
        {"keyed determinism, value ranges, draw ranges", test_determinism_and_range},
        {"preview grid decodes as a PNG of the expected size", test_grid_png},
        {NULL, NULL}};
    return tu_main("augment", tests);
}
