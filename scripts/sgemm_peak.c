/* sgemm peak of this machine: C = A B for square float matrices (default
 * 2048) through OpenBLAS at the threads it was given (OPENBLAS_NUM_THREADS).
 * One untimed call, then calls until about a second has passed; the best
 * call's rate is the peak the benchmark tables compare against.
 *
 *   cc -O2 scripts/sgemm_peak.c -o sgemm_peak $(pkg-config --cflags --libs openblas)
 *   OPENBLAS_NUM_THREADS=1 ./sgemm_peak [N]
 * prints "SGEMM threads=T n=N gflops=G" (2 N^3 FLOPs per call). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cblas.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 2048;
    if (n < 1 || n > 16384) {
        fprintf(stderr, "sgemm_peak: matrix size must be 1..16384, got '%s'\n", argv[1]);
        return 2;
    }
    size_t nn = (size_t)n * (size_t)n;
    float *a = malloc(nn * sizeof *a), *b = malloc(nn * sizeof *b), *c = malloc(nn * sizeof *c);
    if (!a || !b || !c) {
        fprintf(stderr, "sgemm_peak: out of memory for three %dx%d matrices\n", n, n);
        return 1;
    }
    unsigned s = 12345;
    for (size_t i = 0; i < nn; i++) {
        s = s * 1103515245u + 12345u;
        a[i] = (float)(s >> 8) / 16777216.0f - 0.5f;
        b[i] = (float)(s >> 9) / 8388608.0f - 0.5f;
        c[i] = 0;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c,
                n);
    double best = 1e30, start = now();
    int calls = 0;
    while (calls < 3 || (now() - start < 1.0 && calls < 100)) {
        double t0 = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f,
                    c, n);
        double t = now() - t0;
        if (t < best)
            best = t;
        calls++;
    }
    double gflops = 2.0 * (double)n * (double)n * (double)n / best / 1e9;
    printf("SGEMM threads=%d n=%d gflops=%.2f calls=%d check=%g\n", openblas_get_num_threads(),
           n, gflops, calls, (double)c[nn / 2]);
    free(a);
    free(b);
    free(c);
    return 0;
}
