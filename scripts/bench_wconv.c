/* One 3x3 stride-1 convolution's three products (forward, dx, dW) by the
 * direct kernels, Winograd F(2x2, 3x3) and F(4x4, 3x3), one at a time on
 * one thread: the best of R runs of each, in ms. The figures behind
 * conv2d.c's auto rule and README's "Winograd convolutions".
 *
 *   cc -O2 -march=native -std=c11 -D_POSIX_C_SOURCE=200809L -I src -I include \
 *      scripts/bench_wconv.c build/libnntrain_core.a -lopenblas -lm -lpthread -o bench_wconv
 *   ./bench_wconv H C F B SAME [R]     (an H x H x C input, F filters, B images;
 *                                       SAME 1: padding "same", 0: "valid"; R default 21)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/im2col.h"
#include "layers/conv_direct.h"
#include "layers/conv_winograd.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

static void fill(float *x, size_t n, unsigned s)
{
    for (size_t i = 0; i < n; i++) {
        s = s * 1103515245u + 12345u;
        x[i] = (float)(s >> 8) * (1.0f / 16777216) - 0.5f;
    }
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: bench_wconv H C F B SAME [R]\n");
        return 2;
    }
    int H = atoi(argv[1]), C = atoi(argv[2]), F = atoi(argv[3]), B = atoi(argv[4]);
    int same = atoi(argv[5]), R = argc > 6 ? atoi(argv[6]) : 21;
    nn_conv_geom g = {H, H, C, 3, 3, 1, 1, 0, 0, 0, 0};
    g.OH = (int)nn_conv_out_len(H, 3, 1, same, &g.PT);
    g.OW = (int)nn_conv_out_len(H, 3, 1, same, &g.PL);
    if (H < 1 || C < 1 || F < 8 || B < 1 || R < 1 || g.OH < 1 || !nn_dconv_usable(&g, F)) {
        fprintf(stderr, "bench_wconv: no direct/Winograd convolution for these sizes\n");
        return 2;
    }
    size_t nx = (size_t)B * H * H * C, ny = (size_t)B * g.OH * g.OW * F, nw = (size_t)9 * C * F;
    float *x = malloc(nx * 4), *w = malloc(nw * 4), *dz = malloc(ny * 4), *dz2 = malloc(ny * 4);
    float *y = malloc(ny * 4), *dx = malloc(nx * 4), *dw = calloc(nw, 4), *b = calloc(F, 4);
    size_t wb = nn_dconv_work_bytes(&g, F);
    for (int m = 2; m <= 4; m += 2) {
        size_t t = nn_wconv_work_bytes(&g, F, m, B);
        wb = t > wb ? t : wb;
    }
    float *work = malloc(wb);
    nn_wconv_cache *c2 = nn_wconv_cache_new(&g, F, 2), *c4 = nn_wconv_cache_new(&g, F, 4);
    if (!x || !w || !dz || !dz2 || !y || !dx || !dw || !b || !work || !c2 || !c4) {
        fprintf(stderr, "bench_wconv: out of memory\n");
        return 1;
    }
    fill(x, nx, 1), fill(w, nw, 2), fill(dz, ny, 3);
    double best[9];
    for (int i = 0; i < 9; i++)
        best[i] = 1e30;
    for (int r = 0; r < R; r++) {
        double t;
#define TIME(i, stmt)                                                                     \
    t = now();                                                                            \
    stmt;                                                                                 \
    t = now() - t;                                                                        \
    best[i] = t < best[i] ? t : best[i];
        TIME(0, nn_dconv_forward(&g, F, w, b, NN_ACT_LINEAR, x, B, y, work));
        memcpy(dz2, dz, ny * 4);
        TIME(1, nn_dconv_backward(&g, F, NN_ACT_LINEAR, w, x, NULL, dz2, B, NULL, NULL, dx, work));
        memcpy(dz2, dz, ny * 4);
        TIME(2, nn_dconv_backward(&g, F, NN_ACT_LINEAR, w, x, NULL, dz2, B, dw, NULL, NULL, work));
        TIME(3, nn_wconv_forward(&g, F, 2, w, b, NN_ACT_LINEAR, x, B, y, work, c2));
        TIME(4, nn_wconv_dx(&g, F, 2, w, dz, B, dx, work, c2));
        TIME(5, nn_wconv_dw(&g, F, 2, x, dz, B, dw, work));
        TIME(6, nn_wconv_forward(&g, F, 4, w, b, NN_ACT_LINEAR, x, B, y, work, c4));
        TIME(7, nn_wconv_dx(&g, F, 4, w, dz, B, dx, work, c4));
        TIME(8, nn_wconv_dw(&g, F, 4, x, dz, B, dw, work));
#undef TIME
    }
    printf("%dx%dx%d -> %d, %s, %d images (out %dx%d), ms: direct fwd %.3f dx %.3f dw %.3f | "
           "F2 fwd %.3f dx %.3f dw %.3f | F4 fwd %.3f dx %.3f dw %.3f\n",
           H, H, C, F, same ? "same" : "valid", B, g.OH, g.OW, best[0] * 1e3, best[1] * 1e3,
           best[2] * 1e3, best[3] * 1e3, best[4] * 1e3, best[5] * 1e3, best[6] * 1e3,
           best[7] * 1e3, best[8] * 1e3);
    nn_wconv_cache_free(c2), nn_wconv_cache_free(c4);
    free(x), free(w), free(dz), free(dz2), free(y), free(dx), free(dw), free(b), free(work);
    return 0;
}
