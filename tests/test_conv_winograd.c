/* Winograd F(2x2, 3x3) and F(4x4, 3x3) (src/layers/conv_winograd.c):
 * forward, input gradient and weight gradient against a double-precision
 * convolution and against the direct kernels, on odd and even sizes, same
 * and valid padding, channel counts that are not multiples of the vector
 * width, batch 1 and 3; the Conv2D layer with the algorithm forced (y, dx,
 * dW against the direct layer, and not bitwise equal to it, so the
 * Winograd path really ran); finite-difference gradient checks through the
 * layer; the algorithm names; the cache of transformed kernels (bitwise
 * the uncached result, remade when the weights change: by a change in
 * place, an optimizer step (whose threads remake it ahead of the next
 * forward), a checkpoint load).
 *
 * Errors are measured as max |a - ref| / max |ref| on inputs like
 * post-ReLU activations (uniform [0, 1)) and Glorot-sized weights, and
 * printed. Measured (AVX-512, 12 shapes): F(2x2) at most 2.9e-7 for y,
 * 4.0e-7 for dx and 5.8e-7 for dW, about the direct kernels' own 9.4e-7,
 * 8.3e-7 and 1.0e-6; F(4x4) 3.6e-6, 5.0e-6 and 2.4e-6, 3-10x the direct
 * kernels' (its transforms scale by up to 8 and 1/24). The bounds are
 * about 10x the largest seen. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "nntrain/checkpoint.h"
#include "nntrain/model.h"
#include "layers/conv_common.h"
#include "layers/conv_direct.h"
#include "layers/conv_winograd.h"
#include "nntrain/layer.h"
#include "testutil.h"

extern const nn_layer_ops nn_conv2d_ops;

/* Against the exact result, relative to its largest value: F(2x2, 3x3)
 * and F(4x4, 3x3). */
#define TOL_F23 3e-6
#define TOL_F43 3e-5
static double tol_of(int m)
{
    return m == 2 ? TOL_F23 : TOL_F43;
}

typedef struct wcase {
    int H, W, C, F, same, B;
} wcase;

static const wcase cases[] = {
    {7, 9, 3, 8, 1, 1},    {8, 8, 16, 16, 0, 3},  {11, 5, 5, 13, 1, 3}, {32, 32, 16, 16, 1, 1},
    {28, 28, 1, 32, 0, 1}, {6, 6, 20, 9, 0, 3},   {3, 3, 4, 8, 0, 1},   {3, 4, 7, 33, 1, 3},
    {8, 8, 64, 64, 1, 3},  {16, 16, 32, 32, 1, 1}, {1, 1, 5, 8, 1, 3},  {13, 17, 17, 24, 0, 3},
    /* more tiles than a block holds, the blocks ending inside a row of tiles
     * (F(4x4) on up to 16 channels keeps a tile row's column transforms
     * from block to block) */
    {20, 20, 8, 8, 1, 9},  {12, 12, 24, 40, 0, 9},
};
enum { NCASES = sizeof cases / sizeof cases[0] };

static double worst_y[5], worst_dx[5], worst_dw[5];   /* per tile size, printed at the end */

static nn_conv_geom geom(const wcase *k)
{
    nn_conv_geom g = {k->H, k->W, k->C, 3, 3, 1, 1, 0, 0, 0, 0};
    g.OH = (int)nn_conv_out_len(k->H, 3, 1, k->same, &g.PT);
    g.OW = (int)nn_conv_out_len(k->W, 3, 1, k->same, &g.PL);
    return g;
}

/* y (B, OH, OW, F) = x * w + b in double (b may be NULL). */
static void ref_fwd(const nn_conv_geom *g, int F, const float *x, const float *w,
                    const float *b, int B, float *y)
{
    for (int n = 0; n < B; n++)
        for (int oh = 0; oh < g->OH; oh++)
            for (int ow = 0; ow < g->OW; ow++)
                for (int f = 0; f < F; f++) {
                    double s = b ? b[f] : 0;
                    for (int i = 0; i < 3; i++)
                        for (int j = 0; j < 3; j++) {
                            int ih = oh - g->PT + i, iw = ow - g->PL + j;
                            if (ih < 0 || ih >= g->H || iw < 0 || iw >= g->W)
                                continue;
                            for (int c = 0; c < g->C; c++)
                                s += (double)x[(((size_t)n * g->H + ih) * g->W + iw) * g->C + c] *
                                     w[(((size_t)i * 3 + j) * g->C + c) * F + f];
                        }
                    y[(((size_t)n * g->OH + oh) * g->OW + ow) * F + f] = (float)s;
                }
}

/* dx of that convolution for dz, in double. */
static void ref_dx(const nn_conv_geom *g, int F, const float *dz, const float *w, int B,
                   float *dx)
{
    size_t nx = (size_t)B * g->H * g->W * g->C;
    double *acc = calloc(nx, sizeof *acc);
    for (int n = 0; n < B; n++)
        for (int oh = 0; oh < g->OH; oh++)
            for (int ow = 0; ow < g->OW; ow++)
                for (int i = 0; i < 3; i++)
                    for (int j = 0; j < 3; j++) {
                        int ih = oh - g->PT + i, iw = ow - g->PL + j;
                        if (ih < 0 || ih >= g->H || iw < 0 || iw >= g->W)
                            continue;
                        for (int c = 0; c < g->C; c++)
                            for (int f = 0; f < F; f++)
                                acc[(((size_t)n * g->H + ih) * g->W + iw) * g->C + c] +=
                                    (double)dz[(((size_t)n * g->OH + oh) * g->OW + ow) * F + f] *
                                    w[(((size_t)i * 3 + j) * g->C + c) * F + f];
                    }
    for (size_t i = 0; i < nx; i++)
        dx[i] = (float)acc[i];
    free(acc);
}

/* dw (3, 3, C, F) of that convolution for x and dz, in double. */
static void ref_dw(const nn_conv_geom *g, int F, const float *x, const float *dz, int B,
                   float *dw)
{
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            for (int c = 0; c < g->C; c++)
                for (int f = 0; f < F; f++) {
                    double s = 0;
                    for (int n = 0; n < B; n++)
                        for (int oh = 0; oh < g->OH; oh++)
                            for (int ow = 0; ow < g->OW; ow++) {
                                int ih = oh - g->PT + i, iw = ow - g->PL + j;
                                if (ih < 0 || ih >= g->H || iw < 0 || iw >= g->W)
                                    continue;
                                s += (double)x[(((size_t)n * g->H + ih) * g->W + iw) * g->C + c] *
                                     dz[(((size_t)n * g->OH + oh) * g->OW + ow) * F + f];
                            }
                    dw[(((size_t)i * 3 + j) * g->C + c) * F + f] = (float)s;
                }
}

/* max |a - ref| / max |ref| */
static double rel_err(const float *a, const float *ref, size_t n)
{
    double d = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - ref[i]);
        d = e > d ? e : d;
        m = fabs(ref[i]) > m ? fabs(ref[i]) : m;
    }
    return m > 0 ? d / m : d;
}

static void check_kernels(const wcase *k, int m, uint64_t seed)
{
    nn_conv_geom g = geom(k);
    const int F = k->F, B = k->B;
    size_t nx = (size_t)B * k->H * k->W * k->C, ny = (size_t)B * g.OH * g.OW * F;
    size_t nw = (size_t)9 * k->C * F;
    float *x = malloc(nx * sizeof *x), *w = malloc(nw * sizeof *w), *b = malloc(F * sizeof *b);
    float *y = malloc(ny * sizeof *y), *yd = malloc(ny * sizeof *yd), *yr = malloc(ny * sizeof *yr);
    float *dz = malloc(ny * sizeof *dz), *dz2 = malloc(ny * sizeof *dz2);
    float *dx = malloc(nx * sizeof *dx), *dxd = malloc(nx * sizeof *dxd);
    float *dxr = malloc(nx * sizeof *dxr);
    size_t wb = nn_wconv_work_bytes(&g, F, m, B), db = nn_dconv_work_bytes(&g, F);
    float *work = malloc(wb > db ? wb : db);
    float lim = sqrtf(6.0f / (9.0f * (k->C + F)));   /* Glorot uniform */
    tu_fill_uniform(x, nx, seed, 0, 1);
    tu_fill_uniform(w, nw, seed + 1, -lim, lim);
    tu_fill_uniform(b, (size_t)F, seed + 2, -0.1f, 0.1f);
    tu_fill_uniform(dz, ny, seed + 3, -1, 1);

    ref_fwd(&g, F, x, w, b, B, yr);
    for (size_t i = 0; i < ny; i++)
        y[i] = 123.0f;   /* every element must be written */
    nn_wconv_forward(&g, F, m, w, b, NN_ACT_LINEAR, x, B, y, work, NULL);
    nn_dconv_forward(&g, F, w, b, NN_ACT_LINEAR, x, B, yd, work);
    double ey = rel_err(y, yr, ny), eyd = rel_err(yd, yr, ny);

    ref_dx(&g, F, dz, w, B, dxr);
    for (size_t i = 0; i < nx; i++)
        dx[i] = 123.0f;
    memcpy(dz2, dz, ny * sizeof *dz2);
    nn_wconv_dx(&g, F, m, w, dz, B, dx, work, NULL);
    nn_dconv_backward(&g, F, NN_ACT_LINEAR, w, x, NULL, dz2, B, NULL, NULL, dxd, work);
    double ex = rel_err(dx, dxr, nx), exd = rel_err(dxd, dxr, nx);

    float *dw = calloc(nw, sizeof *dw), *dwd = calloc(nw, sizeof *dwd);
    float *dwr = malloc(nw * sizeof *dwr);
    ref_dw(&g, F, x, dz, B, dwr);
    for (size_t i = 0; i < nw; i++)
        dw[i] = dwd[i] = 0.5f;   /* both add to the gradient */
    nn_wconv_dw(&g, F, m, x, dz, B, dw, work);
    memcpy(dz2, dz, ny * sizeof *dz2);
    nn_dconv_backward(&g, F, NN_ACT_LINEAR, w, x, NULL, dz2, B, dwd, NULL, NULL, work);
    for (size_t i = 0; i < nw; i++)
        dw[i] -= 0.5f, dwd[i] -= 0.5f;
    double ew = rel_err(dw, dwr, nw), ewd = rel_err(dwd, dwr, nw);
    CU_ASSERT(ew <= tol_of(m));
    CU_ASSERT(rel_err(dw, dwd, nw) <= 2 * tol_of(m));
    worst_dw[m] = ew > worst_dw[m] ? ew : worst_dw[m];
    free(dw), free(dwd), free(dwr);

    printf("\n  F(%d) %2dx%-2d C%-2d F%-2d %s B%d: y %.1e (direct %.1e), dx %.1e (%.1e), "
           "dw %.1e (%.1e)", m, k->H, k->W, k->C, F, k->same ? "same " : "valid", B, ey, eyd,
           ex, exd, ew, ewd);
    CU_ASSERT(ey <= tol_of(m));
    CU_ASSERT(ex <= tol_of(m));
    CU_ASSERT(rel_err(y, yd, ny) <= 2 * tol_of(m));
    CU_ASSERT(rel_err(dx, dxd, nx) <= 2 * tol_of(m));
    worst_y[m] = ey > worst_y[m] ? ey : worst_y[m];
    worst_dx[m] = ex > worst_dx[m] ? ex : worst_dx[m];

    /* the fused ReLU is the linear output clipped at 0 */
    nn_wconv_forward(&g, F, m, w, b, NN_ACT_RELU, x, B, yd, work, NULL);
    int bad = 0;
    for (size_t i = 0; i < ny; i++)
        bad += yd[i] != (y[i] > 0 ? y[i] : 0.0f);
    CU_ASSERT_EQUAL(bad, 0);
    free(x), free(w), free(b), free(y), free(yd), free(yr), free(dz), free(dz2);
    free(dx), free(dxd), free(dxr), free(work);
}

static void test_kernels(void)
{
    for (int m = 2; m <= 4; m += 2) {
        for (int i = 0; i < NCASES; i++)
            check_kernels(&cases[i], m, 100 + (uint64_t)i);
        printf("\n  F(%dx%d, 3x3) worst: y %.2e, dx %.2e, dw %.2e (bound %.0e)", m, m,
               worst_y[m], worst_dx[m], worst_dw[m], tol_of(m));
    }
    printf("\n");
}

/* The layer with the algorithm forced against the direct layer. */
static void check_layer_m(const char *call, nn_shape in, int B, int expect_wino, int m)
{
    tu_lay d, t;
    const double tol = tol_of(m);
    nn_conv_set_algo(NN_CONV_ALGO_DIRECT);
    tu_lay_open(&d, call, in, B);
    nn_conv_set_algo(m == 2 ? NN_CONV_ALGO_WINOGRAD : NN_CONV_ALGO_WINOGRAD4);
    tu_lay_open(&t, call, in, B);
    nn_conv_set_algo(NN_CONV_ALGO_DIRECT);
    tu_fill_uniform(d.x, d.nin, 31, 0, 1);
    tu_fill_uniform(d.p, d.np, 32, -0.3f, 0.3f);
    tu_fill_uniform(d.dy, d.nout, 33, -1, 1);
    memcpy(t.x, d.x, d.nin * sizeof(float));
    memcpy(t.p, d.p, d.np * sizeof(float));
    memcpy(t.dy, d.dy, d.nout * sizeof(float));
    tu_lay_forward(&d);
    tu_lay_forward(&t);
    CU_ASSERT(rel_err(t.y, d.y, d.nout) <= 2 * tol);
    /* Winograd rounds differently: bitwise equality means it did not run */
    CU_ASSERT_EQUAL(memcmp(t.y, d.y, d.nout * sizeof(float)) != 0, expect_wino);
    tu_lay_backward(&d);
    tu_lay_backward(&t);
    CU_ASSERT(rel_err(t.dx, d.dx, d.nin) <= 2 * tol);
    CU_ASSERT(rel_err(t.g, d.g, d.np) <= 2 * tol);
    tu_lay_close(&d);
    tu_lay_close(&t);
}

static void check_layer(const char *call, nn_shape in, int B, int expect_wino)
{
    for (int m = 2; m <= 4; m += 2)
        check_layer_m(call, in, B, expect_wino, m);
}

static void test_layer(void)
{
    check_layer("Conv2D(16, (3, 3), padding=\"same\", activation=\"relu\")",
                nn_shape3(9, 11, 5), 3, 1);
    check_layer("Conv2D(13, 3)", nn_shape3(8, 7, 16), 1, 1);
    check_layer("Conv2D(32, 3, activation=\"tanh\", use_bias=False)", nn_shape3(6, 6, 3), 3, 1);
    check_layer("Conv2D(24, 3, padding=\"same\")", nn_shape3(32, 32, 8), 2, 1);
    /* outside Winograd's reach: stride 2, 5x5, fewer than 8 filters */
    check_layer("Conv2D(16, 3, strides=2)", nn_shape3(9, 9, 4), 2, 0);
    check_layer("Conv2D(16, 5)", nn_shape3(9, 9, 4), 2, 0);
    check_layer("Conv2D(4, 3)", nn_shape3(9, 9, 4), 2, 0);
}

/* auto: Winograd (not bitwise equal to direct) exactly where the rule says,
 * per product: the forward, dx and dW; the others bitwise the direct
 * layer's. */
static void check_auto(const char *call, nn_shape in, int fwd, int dx, int dw)
{
    tu_lay d, t;
    nn_conv_set_algo(NN_CONV_ALGO_DIRECT);
    tu_lay_open(&d, call, in, 2);
    nn_conv_set_algo(NN_CONV_ALGO_AUTO);
    tu_lay_open(&t, call, in, 2);
    nn_conv_set_algo(NN_CONV_ALGO_DIRECT);
    tu_fill_uniform(d.x, d.nin, 51, 0, 1);
    tu_fill_uniform(d.p, d.np, 52, -0.3f, 0.3f);
    tu_fill_uniform(d.dy, d.nout, 53, -1, 1);
    memcpy(t.x, d.x, d.nin * sizeof(float));
    memcpy(t.p, d.p, d.np * sizeof(float));
    memcpy(t.dy, d.dy, d.nout * sizeof(float));
    tu_lay_forward(&d);
    tu_lay_forward(&t);
    CU_ASSERT_EQUAL(memcmp(t.y, d.y, d.nout * sizeof(float)) != 0, fwd);
    CU_ASSERT(rel_err(t.y, d.y, d.nout) <= 2 * TOL_F43);
    tu_lay_backward(&d);
    tu_lay_backward(&t);
    CU_ASSERT_EQUAL(memcmp(t.dx, d.dx, d.nin * sizeof(float)) != 0, dx);
    CU_ASSERT(rel_err(t.dx, d.dx, d.nin) <= 2 * TOL_F43);
    size_t nk = d.np - (size_t)t.l.out.d[2];   /* the kernel; the bias is dz's sums in both */
    CU_ASSERT_EQUAL(memcmp(t.g, d.g, nk * sizeof(float)) != 0, dw);
    CU_ASSERT(memcmp(t.g + nk, d.g + nk, (d.np - nk) * sizeof(float)) == 0);
    CU_ASSERT(rel_err(t.g, d.g, d.np) <= 2 * TOL_F43);
    tu_lay_close(&d);
    tu_lay_close(&t);
}

static void test_auto(void)
{
    check_auto("Conv2D(16, 3, padding=\"same\")", nn_shape3(12, 12, 16), 1, 1, 1);
    check_auto("Conv2D(64, 3)", nn_shape3(9, 9, 32), 1, 1, 1);
    /* the MNIST CNN's last: 3x3 outputs (one tile, saving 2.25), dx on 5x5 (1.56) */
    check_auto("Conv2D(64, 3, activation=\"relu\")", nn_shape3(5, 5, 64), 1, 0, 1);
    check_auto("Conv2D(16, 3, padding=\"same\")", nn_shape3(12, 12, 8), 0, 0, 0);   /* 8 in */
    check_auto("Conv2D(8, 3, padding=\"same\")", nn_shape3(12, 12, 32), 0, 0, 0);   /* 8 out */
    check_auto("Conv2D(32, 3, strides=2)", nn_shape3(12, 12, 32), 0, 0, 0);
}

static void test_gradcheck(void)
{
    nn_conv_set_algo(NN_CONV_ALGO_WINOGRAD);
    gc_layer_ok("Conv2D(8, (3, 3), padding=\"same\")", nn_shape3(5, 7, 3), 3, 0, 41);
    gc_layer_ok("Conv2D(9, (3, 3))", nn_shape3(6, 5, 2), 1, 0, 42);
    gc_layer_ok("Conv2D(12, (3, 3), padding=\"same\", activation=\"relu\")",
                nn_shape3(5, 4, 2), 1, 0, 45);
    gc_layer_ok("Conv2D(17, (3, 3), activation=\"tanh\", use_bias=False)", nn_shape3(5, 6, 4),
                2, 0, 44);
    nn_conv_set_algo(NN_CONV_ALGO_WINOGRAD4);
    gc_layer_ok("Conv2D(8, (3, 3), padding=\"same\")", nn_shape3(7, 6, 3), 2, 0, 46);
    gc_layer_ok("Conv2D(10, (3, 3), activation=\"tanh\")", nn_shape3(9, 7, 2), 1, 0, 47);
    /* auto on a 3x3 output: the forward and dW by F(4x4), dx direct */
    nn_conv_set_algo(NN_CONV_ALGO_AUTO);
    gc_layer_ok("Conv2D(16, (3, 3), activation=\"tanh\")", nn_shape3(5, 5, 16), 2, 0, 48);
    nn_conv_set_algo(NN_CONV_ALGO_DIRECT);
}

/* The kernels with the layer's cache against the uncached calls, bitwise:
 * first fill, reuse, a weight changed in place (one element), forward and
 * dx in either order. */
static void check_cache(const wcase *k, int m, uint64_t seed)
{
    nn_conv_geom g = geom(k);
    const int F = k->F, B = k->B;
    size_t nx = (size_t)B * k->H * k->W * k->C, ny = (size_t)B * g.OH * g.OW * F;
    size_t nw = (size_t)9 * k->C * F;
    float *x = malloc(nx * sizeof *x), *w = malloc(nw * sizeof *w), *dz = malloc(ny * sizeof *dz);
    float *y0 = malloc(ny * sizeof *y0), *y1 = malloc(ny * sizeof *y1);
    float *x0 = malloc(nx * sizeof *x0), *x1 = malloc(nx * sizeof *x1);
    float *work = malloc(nn_wconv_work_bytes(&g, F, m, B));
    nn_wconv_cache *cache = nn_wconv_cache_new(&g, F, m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cache);
    tu_fill_uniform(x, nx, seed, 0, 1);
    tu_fill_uniform(w, nw, seed + 1, -0.3f, 0.3f);
    tu_fill_uniform(dz, ny, seed + 2, -1, 1);
    for (int round = 0; round < 5; round++) {
        if (round >= 2)   /* the same pointer, one weight changed (and back, and again) */
            w[nw / 2] += round == 3 ? -0.25f : 0.25f;
        nn_wconv_forward(&g, F, m, w, NULL, NN_ACT_LINEAR, x, B, y0, work, NULL);
        nn_wconv_dx(&g, F, m, w, dz, B, x0, work, NULL);
        if (round == 1) {   /* dx first, then the forward */
            nn_wconv_dx(&g, F, m, w, dz, B, x1, work, cache);
            nn_wconv_forward(&g, F, m, w, NULL, NN_ACT_LINEAR, x, B, y1, work, cache);
        } else {
            nn_wconv_forward(&g, F, m, w, NULL, NN_ACT_LINEAR, x, B, y1, work, cache);
            nn_wconv_dx(&g, F, m, w, dz, B, x1, work, cache);
        }
        CU_ASSERT(memcmp(y0, y1, ny * sizeof *y0) == 0);
        CU_ASSERT(memcmp(x0, x1, nx * sizeof *x0) == 0);
        CU_ASSERT(nn_wconv_cache_made(cache, w, 0) && nn_wconv_cache_made(cache, w, 1));
    }
    /* refresh remakes what was asked for before (here both) */
    w[0] += 0.5f;
    CU_ASSERT(!nn_wconv_cache_made(cache, w, 0) && !nn_wconv_cache_made(cache, w, 1));
    nn_wconv_cache_refresh(cache, w);
    CU_ASSERT(nn_wconv_cache_made(cache, w, 0) && nn_wconv_cache_made(cache, w, 1));
    nn_wconv_forward(&g, F, m, w, NULL, NN_ACT_LINEAR, x, B, y0, work, NULL);
    nn_wconv_dx(&g, F, m, w, dz, B, x0, work, NULL);
    nn_wconv_forward(&g, F, m, w, NULL, NN_ACT_LINEAR, x, B, y1, work, cache);
    nn_wconv_dx(&g, F, m, w, dz, B, x1, work, cache);
    CU_ASSERT(memcmp(y0, y1, ny * sizeof *y0) == 0);
    CU_ASSERT(memcmp(x0, x1, nx * sizeof *x0) == 0);
    nn_wconv_cache_free(cache);
    free(x), free(w), free(dz), free(y0), free(y1), free(x0), free(x1), free(work);
}

static void test_cache_kernels(void)
{
    for (int m = 2; m <= 4; m += 2)
        for (int i = 0; i < NCASES; i++)
            check_cache(&cases[i], m, 300 + (uint64_t)i);
}

#define CACHE_SPEC                                                                        \
    "Conv2D(16, 3, padding=\"same\", activation=\"relu\", input_shape=(9, 10, 16))\n"  \
    "Conv2D(24, 3, name=\"c2\")\n"                                                       \
    "Flatten()\nDense(3, activation=\"softmax\")\n"                                     \
    "compile(loss=\"sparse_categorical_crossentropy\", optimizer=\"sgd\")\n"

enum { CB = 5 };

/* The model's output for x, copied to y (n floats). */
static void model_out(nn_model *mo, const float *x, float *y, size_t n)
{
    nn_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    memcpy(y, nn_model_forward(mo, x, CB, &ctx), n * sizeof *y);
}

/* A fresh model (an empty cache) with mo's weights: its output for x. */
static void fresh_out(const nn_model *mo, const float *x, float *y, size_t n, int threads)
{
    nn_model f;
    nn_error e;
    TU_ASSERT_OK(tu_build(CACHE_SPEC, &f, &e), e);
    TU_ASSERT_OK(nn_model_set_threads(&f, threads, &e), e);
    TU_ASSERT_OK(nn_model_plan(&f, CB, &e), e);
    memcpy(f.params, mo->params, mo->nparams * sizeof *f.params);
    model_out(&f, x, y, n);
    nn_model_free(&f);
}

/* Through a model on F(4x4) (two threads: both fill and read the cache):
 * after an optimizer step and after loading a checkpoint, the output is
 * the new weights' (bitwise a fresh model's) and not the old one's. */
static void check_cache_model(int threads)
{
    nn_model mo;
    nn_error e;
    nn_conv_set_algo(NN_CONV_ALGO_WINOGRAD4);
    TU_ASSERT_OK(tu_build(CACHE_SPEC, &mo, &e), e);
    nn_model_init_params(&mo, 3);
    TU_ASSERT_OK(nn_model_set_threads(&mo, threads, &e), e);
    TU_ASSERT_OK(nn_model_plan(&mo, CB, &e), e);
    TU_ASSERT_OK(nn_optim_alloc(&mo.optim, mo.nparams, &e), e);
    size_t in = nn_model_in_size(&mo), out = nn_model_out_size(&mo), ny = (size_t)CB * out;
    float *x = malloc(CB * in * sizeof *x), *dout = malloc(ny * sizeof *dout);
    float *y0 = malloc(ny * sizeof *y0), *y1 = malloc(ny * sizeof *y1), *yf = malloc(ny * sizeof *yf);
    tu_fill_uniform(x, CB * in, 61, 0, 1);
    char path[512];
    snprintf(path, sizeof path, "%s/wino_cache.h5", tu_tmpdir());
    TU_ASSERT_OK(nn_ckpt_save(path, &mo, CACHE_SPEC, NULL, NULL, &e), e);
    model_out(&mo, x, y0, ny);

    /* one SGD step on a made-up output gradient */
    nn_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.training = 1;
    (void)nn_model_forward(&mo, x, CB, &ctx);
    tu_fill_uniform(dout, ny, 62, -1, 1);
    memset(mo.grads, 0, mo.nparams * sizeof *mo.grads);
    nn_model_backward(&mo, x, dout, CB, &ctx);
    nn_model_update(&mo);
    /* the step remade what the last forward and backward used: the first
     * layer's forward, c2's forward and dx (the first layer has no dx) */
    for (int i = 0; i < 2; i++) {
        const nn_layer *l = &mo.layers[i];
        nn_wconv_cache *k = ((const nn_conv *)l->priv)->wcache;
        const float *w = mo.params + l->param_off;
        CU_ASSERT(nn_wconv_cache_made(k, w, 0));
        CU_ASSERT(nn_wconv_cache_made(k, w, 1) == (i == 1));
    }
    model_out(&mo, x, y1, ny);
    fresh_out(&mo, x, yf, ny, threads);
    CU_ASSERT(memcmp(y1, yf, ny * sizeof *y1) == 0);
    CU_ASSERT(memcmp(y1, y0, ny * sizeof *y1) != 0);

    /* back to the saved weights */
    TU_ASSERT_OK(nn_ckpt_load_weights(path, &mo, 0, &e), e);
    model_out(&mo, x, y1, ny);
    CU_ASSERT(memcmp(y1, y0, ny * sizeof *y1) == 0);
    fresh_out(&mo, x, yf, ny, threads);
    CU_ASSERT(memcmp(y1, yf, ny * sizeof *y1) == 0);
    nn_conv_set_algo(NN_CONV_ALGO_DIRECT);
    remove(path);
    nn_model_free(&mo);
    free(x), free(dout), free(y0), free(y1), free(yf);
}

static void test_cache_model(void)
{
    check_cache_model(1);
    check_cache_model(2);
}

static void test_names(void)
{
    nn_conv_algo a = NN_CONV_ALGO_AUTO;
    CU_ASSERT(nn_conv_algo_parse("winograd", &a) == 0 && a == NN_CONV_ALGO_WINOGRAD);
    CU_ASSERT(nn_conv_algo_parse("direct", &a) == 0 && a == NN_CONV_ALGO_DIRECT);
    CU_ASSERT(nn_conv_algo_parse("auto", &a) == 0 && a == NN_CONV_ALGO_AUTO);
    CU_ASSERT(nn_conv_algo_parse("fast", &a) == -1 && a == NN_CONV_ALGO_AUTO);
    CU_ASSERT(nn_conv_algo_parse(NULL, &a) == -1);
    CU_ASSERT(nn_conv_algo_parse("winograd4", &a) == 0 && a == NN_CONV_ALGO_WINOGRAD4);
    CU_ASSERT_STRING_EQUAL(nn_conv_algo_name(NN_CONV_ALGO_WINOGRAD), "winograd");
    CU_ASSERT_STRING_EQUAL(nn_conv_algo_name(NN_CONV_ALGO_WINOGRAD4), "winograd4");
}

int main(void)
{
    (void)nn_conv2d_ops;
    static const tu_test tests[] = {
        {"kernels against double and direct", test_kernels},
        {"Conv2D layer: winograd against direct", test_layer},
        {"auto: F(4x4) per product by channels and tile saving", test_auto},
        {"gradient checks with winograd", test_gradcheck},
        {"kernel transform cache: bitwise the uncached calls", test_cache_kernels},
        {"kernel transform cache: new weights after a step and a checkpoint load",
         test_cache_model},
        {"algorithm names", test_names},
        {NULL, NULL},
    };
    return tu_main("conv_winograd", tests);
}
