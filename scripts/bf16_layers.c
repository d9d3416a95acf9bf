/* One Conv2D or Dense layer's forward and backward under mixed_bfloat16
 * against fp32 (the direct kernels), best of 20 calls each: the per-layer
 * figures of README "bf16 mixed precision", free of a whole model's other
 * layers on a shared machine. Uses the library's layer API directly.
 *
 *   cc -O2 -march=native -Isrc -Iinclude scripts/bf16_layers.c build/libnntrain_core.a \
 *      $(pkg-config --libs openblas hdf5-serial libcjson libzip ompi-c) -lz -lm -ldl \
 *      -lpthread -o bf16_layers
 *   OPENBLAS_NUM_THREADS=1 ./bf16_layers
 * prints per layer and precision: forward ms, backward (dW + dx) ms, and the
 * bf16 / fp32 speed ratio of forward + backward. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nntrain/layer.h"
#include "nntrain/spec.h"

extern const nn_layer_ops nn_dense_ops, nn_conv2d_ops;   /* linked in, as the tests do */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Best forward and backward seconds of the layer call on input in, batch B. */
static int run(const char *call, nn_shape in, int B, int bf16, double *fwd, double *bwd)
{
    nn_error e = {0};
    nn_spec s;
    nn_shape ish;
    int has;
    nn_layer l;
    memset(&l, 0, sizeof l);
    if (nn_spec_parse(call, "layer", &s, &e))
        return fprintf(stderr, "%s\n", e.msg), -1;
    int rc = nn_layer_create(&l, &s.calls[0], &ish, &has, &e);
    nn_spec_free(&s);
    l.in = in;
    l.bf16 = bf16;
    size_t w = 0;
    if (rc || l.ops->configure(&l, &e) || l.ops->plan(&l, B, &w, &e))
        return fprintf(stderr, "%s\n", e.msg), -1;
    size_t nin = nn_shape_size(&in) * (size_t)B, nout = nn_shape_size(&l.out) * (size_t)B;
    float *p = calloc(l.param_len, 4), *g = calloc(l.param_len, 4), *x = malloc(nin * 4);
    float *dx = malloc(nin * 4), *y = malloc(nout * 4), *dy = malloc(nout * 4);
    nn_ctx c = {.work = malloc(w + 64), .work_bytes = w};
    for (size_t i = 0; i < nin; i++)
        x[i] = (float)rand() / (float)RAND_MAX;
    for (size_t i = 0; i < l.param_len; i++)
        p[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    *fwd = *bwd = 1e9;
    for (int r = 0; r < 20; r++) {
        double t0 = now();
        l.ops->forward(&l, p, x, y, B, &c);
        double t1 = now();
        for (size_t i = 0; i < nout; i++)
            dy[i] = 0.01f * (float)(i % 7);
        double t2 = now();
        l.ops->backward(&l, p, g, x, y, dy, dx, B, &c);
        double t3 = now();
        *fwd = t1 - t0 < *fwd ? t1 - t0 : *fwd;
        *bwd = t3 - t2 < *bwd ? t3 - t2 : *bwd;
    }
    free(p), free(g), free(x), free(dx), free(y), free(dy), free(c.work);
    nn_layer_destroy(&l);
    return 0;
}

int main(void)
{
    static const struct {
        const char *call;
        int h, w, c, B;   /* h = 0: a vector of c */
        const char *model;
    } cases[] = {
        {"Conv2D(64, (3, 3), activation=\"relu\")", 13, 13, 32, 64, "MNIST CNN conv 2"},
        {"Conv2D(64, (3, 3), activation=\"relu\")", 5, 5, 64, 64, "MNIST CNN conv 3"},
        {"Conv2D(32, (3, 3), activation=\"relu\")", 32, 32, 32, 32, "CIFAR-10 CNN conv 2"},
        {"Conv2D(64, (3, 3), padding=\"same\", activation=\"relu\")", 15, 15, 32, 32,
         "CIFAR-10 CNN conv 3"},
        {"Conv2D(64, (3, 3), activation=\"relu\")", 15, 15, 64, 32, "CIFAR-10 CNN conv 4"},
        {"Conv2D(16, (3, 3), padding=\"same\")", 32, 32, 16, 32, "ResNet-20 stack 1"},
        {"Conv2D(32, (3, 3), padding=\"same\")", 16, 16, 32, 32, "ResNet-20 stack 2"},
        {"Conv2D(64, (3, 3), padding=\"same\")", 8, 8, 64, 32, "ResNet-20 stack 3"},
        {"Conv2D(32, (3, 3), strides=2, padding=\"same\")", 32, 32, 16, 32,
         "ResNet-20 stack 2 first"},
        {"Dense(512, activation=\"relu\")", 0, 0, 784, 128, "MNIST MLP 512"},
        {"Dense(512, activation=\"relu\")", 0, 0, 2304, 32, "CIFAR-10 CNN dense"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nn_shape in = cases[i].h ? nn_shape3(cases[i].h, cases[i].w, cases[i].c)
                                 : nn_shape1(cases[i].c);
        double f32, b32, f16, b16;
        if (run(cases[i].call, in, cases[i].B, 0, &f32, &b32) ||
            run(cases[i].call, in, cases[i].B, 1, &f16, &b16))
            return 1;
        printf("%-20s B%-3d fp32 %7.3f + %7.3f ms, bf16 %7.3f + %7.3f ms: %.2fx\n",
               cases[i].model, cases[i].B, 1e3 * f32, 1e3 * b32, 1e3 * f16, 1e3 * b16,
               (f32 + b32) / (f16 + b16));
    }
    return 0;
}
