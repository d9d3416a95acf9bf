/* Owns the Winograd kernel transforms U = G g G^T (conv_winograd_kernel.h)
 * and the layer's cache of them: kept from call to call and remade only
 * when the weights differ bitwise from the copy they were made from, so
 * that every call (a thread's rows, a cache pass's few rows) does not redo
 * them, and nothing that writes the weights (optimizer step, set_params,
 * checkpoint load, the broadcast, a gradient check's perturbation) has to
 * say so. The optimizer step's threads remake them ahead of the next
 * forward (nn_wconv_cache_refresh). */
#include "layers/conv_winograd_kernel.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/simd.h"

/* The 1-D kernel transform u = G g on vectors of channels (the matrices G
 * of F(2, 3) and F(4, 3): conv_winograd.c). */
INLINE void ker1d(const vf *g, size_t s, vf *u, size_t su, const int m)
{
    vf g0 = g[0], g1 = g[s], g2 = g[2 * s];
    if (m == 2) {
        const vf h = vbcast(0.5f);
        u[0] = g0;
        u[su] = h * (g0 + g1 + g2);
        u[2 * su] = h * (g0 - g1 + g2);
        u[3 * su] = g2;
        return;
    }
    const vf s6 = vbcast(1.0f / 6), q4 = vbcast(0.25f), e = vbcast(1.0f / 24),
             t = vbcast(1.0f / 12);
    vf a = g0 + g2, b = e * g0 + s6 * g2;
    u[0] = q4 * g0;
    u[su] = -s6 * (a + g1);
    u[2 * su] = -s6 * (a - g1);
    u[3 * su] = b + t * g1;
    u[4 * su] = b - t * g1;
    u[5 * su] = g2;
}

/* U[xi][ci][co] = (G g G^T)[xi] for the 3x3 kernel g(kh, kw) of (ci, co) at
 * w + kh*skh + kw*skw + ci*sci + co*sco (negative strides flip it); rows of
 * Cop floats, zero past Co. Each ci gathers its 9 taps of all co into g9
 * (9 Cop floats), then transforms a vector of co at a time into tmp, ch
 * input channels (a*a ch Cop floats) at a time; then each position's ch
 * rows go to U in one run. Storing each vector straight to its 36 places
 * (Ci Cop floats apart: 16 KiB at 64 channels, the same cache set) took
 * two thirds of the transform, which then took about what the layer's
 * forward on 16 images of 8x8x64 did (85 us against 0.13 ms; 15 us now). */
INLINE void kernel_tf(const float *w, ptrdiff_t skh, ptrdiff_t skw, ptrdiff_t sci, ptrdiff_t sco,
                      int Ci, int Co, size_t Cop, float *g9, float *tmp, int ch, float *U,
                      const int m)
{
    const int a = m + 2;
    const size_t xs = (size_t)Ci * Cop;
    memset(g9, 0, 9 * Cop * sizeof *g9);
    for (int c0 = 0; c0 < Ci; c0 += ch) {
        int nc = Ci - c0 < ch ? Ci - c0 : ch;
        for (int ci = c0; ci < c0 + nc; ci++) {
            for (int k = 0; k < 9; k++) {
                const float *src = w + (k / 3) * skh + (k % 3) * skw + ci * sci;
                float *dst = g9 + (size_t)k * Cop;
                if (sco == 1)
                    memcpy(dst, src, (size_t)Co * sizeof *dst);
                else
                    for (int co = 0; co < Co; co++)
                        dst[co] = src[co * sco];
            }
            for (size_t co = 0; co < Cop; co += NN_VL) {
                vf g[9], t[6 * 3], u[36];
                for (int k = 0; k < 9; k++)
                    g[k] = vload(g9 + (size_t)k * Cop + co);
                for (int k = 0; k < 3; k++)   /* G g: column k of g -> column k of t (a x 3) */
                    ker1d(g + k, 3, t + k, 3, m);
                for (int r = 0; r < a; r++)   /* (G g) G^T: row r of t -> row r of u */
                    ker1d(t + 3 * r, 1, u + a * r, 1, m);
                float *dst = tmp + (size_t)(ci - c0) * Cop + co;   /* tmp[xi][ci - c0] */
                for (int xi = 0; xi < a * a; xi++)
                    vstore(dst + (size_t)xi * ch * Cop, u[xi]);
            }
        }
        for (int xi = 0; xi < a * a; xi++)
            memcpy(U + xi * xs + (size_t)c0 * Cop, tmp + (size_t)xi * ch * Cop,
                   (size_t)nc * Cop * sizeof *U);
    }
}

size_t nn_wker_cop(int Co)
{
    return ((size_t)Co + NN_VL - 1) / NN_VL * NN_VL;
}

void nn_wker_transform(int m, int Ci, int Co, const float *w, int dx, float *scratch,
                       size_t sfl, float *U)
{
    const size_t Cop = nn_wker_cop(Co), row = (size_t)(m + 2) * (m + 2) * Cop;
    size_t ch = (sfl - 9 * Cop) / row;
    ch = ch > 4 ? 4 : ch < 1 ? 1 : ch;   /* 4 (36 KiB at 64 channels) ran faster than 2, 8 or 16 */
    float *tmp = scratch + 9 * Cop;
    /* w (3, 3, C, F): forward C = Ci, F = Co; dx C = Co, F = Ci, and
     * g'(kh, kw, f, c) = w(2 - kh, 2 - kw, c, f) */
    const ptrdiff_t C = dx ? Co : Ci, F = dx ? Ci : Co;
    const float *w0 = dx ? w + 8 * C * F : w;
    ptrdiff_t skh = dx ? -3 * C * F : 3 * C * F, skw = dx ? -C * F : C * F;
    ptrdiff_t sci = dx ? 1 : F, sco = dx ? F : 1;
    if (m == 2)
        kernel_tf(w0, skh, skw, sci, sco, Ci, Co, Cop, scratch, tmp, (int)ch, U, 2);
    else
        kernel_tf(w0, skh, skw, sci, sco, Ci, Co, Cop, scratch, tmp, (int)ch, U, 4);
}

/* Two versions of the transformed kernels: the current one, which calls
 * read without the lock, and the other, into which a change of weights is
 * transformed under the lock before it becomes current. The weights only
 * change between calls (never while a call on them runs), so no call
 * still reads the other version when it is rewritten: all calls of one
 * round of a model see the same weights, and its rounds are separated by
 * the thread pool's barriers. */
typedef struct wversion {
    float *w;               /* the weights U[] were made from */
    float *U[2];            /* forward, dx (a*a Ci Cop each); valid if ok[] */
    atomic_int ok[2];
} wversion;

struct nn_wconv_cache {
    pthread_mutex_t lock;   /* a remake runs under it */
    int m, Ci[2], Co[2];    /* the tile; forward's and dx's channels in and out */
    size_t nw;              /* 9 C F: the kernel's floats */
    wversion v[2];
    atomic_int cur;         /* v[cur] is current; -1: none yet */
    float *scratch;         /* nn_wker_transform's, under the lock */
    size_t sfl;
};

nn_wconv_cache *nn_wconv_cache_new(const nn_conv_geom *g, int F, int m)
{
    nn_wconv_cache *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    const size_t a2 = (size_t)(m + 2) * (m + 2);
    k->m = m;
    k->Ci[0] = k->Co[1] = g->C;
    k->Co[0] = k->Ci[1] = F;
    k->nw = (size_t)9 * g->C * F;
    /* 4 channels at a time, nn_wker_transform's fastest */
    size_t big = nn_wker_cop(F) > nn_wker_cop(g->C) ? nn_wker_cop(F) : nn_wker_cop(g->C);
    k->sfl = (9 + 4 * a2) * big;
    k->scratch = malloc(k->sfl * sizeof(float));
    int bad = !k->scratch;
    for (int i = 0; i < 2; i++) {
        wversion *v = &k->v[i];
        v->w = malloc(k->nw * sizeof *v->w);
        for (int d = 0; d < 2; d++) {
            v->U[d] = malloc(a2 * (size_t)k->Ci[d] * nn_wker_cop(k->Co[d]) * sizeof(float));
            atomic_init(&v->ok[d], 0);
            bad |= !v->U[d];
        }
        bad |= !v->w;
    }
    atomic_init(&k->cur, -1);
    if (bad || pthread_mutex_init(&k->lock, NULL)) {
        k->nw = 0;   /* no lock to destroy */
        nn_wconv_cache_free(k);
        return NULL;
    }
    return k;
}

void nn_wconv_cache_free(nn_wconv_cache *k)
{
    if (!k)
        return;
    if (k->nw)
        pthread_mutex_destroy(&k->lock);
    for (int i = 0; i < 2; i++)
        free(k->v[i].w), free(k->v[i].U[0]), free(k->v[i].U[1]);
    free(k->scratch), free(k);
}

static void transform(nn_wconv_cache *k, const float *w, int dx, float *U)
{
    nn_wker_transform(k->m, k->Ci[dx], k->Co[dx], w, dx, k->scratch, k->sfl, U);
}

/* The version holding the forward (dx 0) or dx transform of w, or -1. */
static int made_in(nn_wconv_cache *k, const float *w, int dx)
{
    int c = atomic_load_explicit(&k->cur, memory_order_acquire);
    return c >= 0 && atomic_load_explicit(&k->v[c].ok[dx], memory_order_acquire) &&
                   !memcmp(k->v[c].w, w, k->nw * sizeof *w)
               ? c
               : -1;
}

int nn_wconv_cache_made(nn_wconv_cache *k, const float *w, int dx)
{
    return made_in(k, w, dx) >= 0;
}

/* The cache's forward (dx 0) or dx transform of w, made if it is not. */
const float *nn_wker_cached(nn_wconv_cache *k, const float *w, int dx)
{
    int c = made_in(k, w, dx);
    if (c >= 0)
        return k->v[c].U[dx];
    pthread_mutex_lock(&k->lock);
    c = atomic_load_explicit(&k->cur, memory_order_relaxed);
    if (c < 0 || memcmp(k->v[c].w, w, k->nw * sizeof *w)) {
        c = c < 0 ? 0 : 1 - c;   /* made in the version no call reads */
        memcpy(k->v[c].w, w, k->nw * sizeof *w);
        atomic_store_explicit(&k->v[c].ok[0], 0, memory_order_relaxed);
        atomic_store_explicit(&k->v[c].ok[1], 0, memory_order_relaxed);
        transform(k, w, dx, k->v[c].U[dx]);
        atomic_store_explicit(&k->v[c].ok[dx], 1, memory_order_release);
        atomic_store_explicit(&k->cur, c, memory_order_release);
    } else if (!atomic_load_explicit(&k->v[c].ok[dx], memory_order_relaxed)) {
        transform(k, w, dx, k->v[c].U[dx]);
        atomic_store_explicit(&k->v[c].ok[dx], 1, memory_order_release);
    }
    pthread_mutex_unlock(&k->lock);
    return k->v[c].U[dx];
}

void nn_wconv_cache_refresh(nn_wconv_cache *k, const float *w)
{
    int c = k ? atomic_load_explicit(&k->cur, memory_order_acquire) : -1;
    if (c < 0)
        return;
    int fwd = atomic_load_explicit(&k->v[c].ok[0], memory_order_relaxed);
    int dx = atomic_load_explicit(&k->v[c].ok[1], memory_order_relaxed);
    if (fwd)
        nn_wker_cached(k, w, 0);
    if (dx)
        nn_wker_cached(k, w, 1);
}
