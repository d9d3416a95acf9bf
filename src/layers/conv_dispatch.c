/* Owns the run-time choice of the direct convolution kernels (see
 * conv_direct.h): the best instruction set the CPU has, unless NNTRAIN_ISA
 * names one. The choice is made once, before the first plan, and kept:
 * workspace sizes depend on the vector width. */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layers/conv_direct.h"

typedef struct isa {
    const char *name;
    int (*supported)(void);
    size_t (*work_bytes)(const nn_conv_geom *, int);
    void (*forward)(const nn_conv_geom *, int, const float *, const float *, nn_act,
                    const float *, int, float *, float *);
    void (*backward)(const nn_conv_geom *, int, nn_act, const float *, const float *,
                     const float *, float *, int, float *, float *, float *, float *);
} isa;

#if NN_X86_ISAS
static int has_avx512(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}

static int has_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#endif

static int always(void)
{
    return 1;
}

#define ISA(n, ok)                                                                          \
    {#n, ok, nn_dconv_work_bytes_##n, nn_dconv_forward_##n, nn_dconv_backward_##n}
static const isa isas[] = {   /* best first */
#if NN_X86_ISAS
    ISA(avx512, has_avx512),
    ISA(avx2, has_avx2),
#endif
    ISA(generic, always),
};
enum { NISAS = sizeof isas / sizeof isas[0] };

static const isa *chosen;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void choose(void)
{
    const char *want = getenv("NNTRAIN_ISA");
    for (int i = 0; i < NISAS && !chosen; i++)
        if (isas[i].supported() && (!want || !*want || !strcmp(want, isas[i].name)))
            chosen = &isas[i];
    if (!chosen) {
        /* Library code does not exit: say so and take the best there is. */
        fprintf(stderr, "nntrain: warning: NNTRAIN_ISA=%s is not one this CPU and build have "
                "(best first:", want);
        for (int i = 0; i < NISAS; i++)
            if (isas[i].supported())
                fprintf(stderr, " %s", isas[i].name);
        fprintf(stderr, "); using the best\n");
        for (int i = 0; i < NISAS && !chosen; i++)
            if (isas[i].supported())
                chosen = &isas[i];
    }
}

static const isa *pick(void)
{
    pthread_once(&once, choose);
    return chosen;
}

const char *nn_dconv_isa(void)
{
    return pick()->name;
}

const char *nn_layer_isa(void)
{
    return nn_dconv_isa();
}

size_t nn_dconv_work_bytes(const nn_conv_geom *g, int F)
{
    return pick()->work_bytes(g, F);
}

void nn_dconv_forward(const nn_conv_geom *g, int F, const float *w, const float *bias,
                      nn_act act, const float *x, int n, float *y, float *work)
{
    pick()->forward(g, F, w, bias, act, x, n, y, work);
}

void nn_dconv_backward(const nn_conv_geom *g, int F, nn_act act, const float *w,
                       const float *x, const float *y, float *dy, int n, float *dw, float *db,
                       float *dx, float *work)
{
    pick()->backward(g, F, act, w, x, y, dy, n, dw, db, dx, work);
}

int nn_dconv_usable(const nn_conv_geom *g, int F)
{
    /* the zero-padded image the tiles read */
    size_t Hp = (size_t)(g->OH - 1) * g->SH + g->KH, Wp = (size_t)(g->OW - 1) * g->SW + g->KW;
    size_t big = (Hp > (size_t)g->H ? Hp : (size_t)g->H) * (Wp > (size_t)g->W ? Wp : (size_t)g->W) *
                 (size_t)(g->C > F ? g->C : F);
    return F >= 8 && big < (size_t)INT_MAX / 2;
}

int nn_dconv_dx_usable(const nn_conv_geom *g)
{
    return g->SH == 1 && g->SW == 1;
}
