/* Owns the Winograd F(2x2, 3x3) convolution (see conv_winograd.h), after
 * Lavin and Gray (2016): Y = A^T [ (G g G^T) .* (B^T d B) ] A per 2x2 output
 * tile, with
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],
 *   G   = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1],
 *   A^T = [1 1 1 0; 0 1 -1 -1].
 * The elementwise product summed over input channels is, for each of the
 * 16 positions xi of the 4x4 tile, one matrix product V_xi (tiles x Ci)
 * U_xi (Ci x Co) = M_xi (tiles x Co), run through sgemm over a block of
 * tiles small enough that V and M stay in L2. Channels are the innermost
 * index everywhere (NHWC), so the transforms are loops over channels that
 * the compiler vectorises. The kernel transform is redone per call: it is
 * 16 Ci Co floats, a few per cent of one image's products even on an 8x8
 * image, and keeps the calls of concurrent threads independent. */
#include "layers/conv_winograd.h"

#include <limits.h>
#include <stddef.h>
#include <string.h>

#include "nntrain/gemm.h"

/* One stride-1 3x3 correlation: in (Hi, Wi, Ci) zero-padded by pt / pl on
 * the top / left gives out (Ho, Wo, Co). */
typedef struct plane {
    int Hi, Wi, Ci, Ho, Wo, Co, pt, pl;
} plane;

enum { TILE_FLOATS = 8192 };   /* T (Ci + Co): 16 of them = 512 KiB of V and M */

/* Tiles per sgemm block. */
static int block_tiles(const plane *q, long tiles)
{
    long T = TILE_FLOATS / (q->Ci + q->Co);
    if (T < 16)
        T = 16;
    return (int)(tiles < T ? tiles : T);
}

static long tiles_of(const plane *q, int n)
{
    return (long)n * ((q->Ho + 1) / 2) * ((q->Wo + 1) / 2);
}

static size_t plane_work(const plane *q, int n)
{
    size_t T = (size_t)block_tiles(q, tiles_of(q, n > 0 ? n : 1));
    return 16 * ((size_t)q->Ci * q->Co + T * (q->Ci + q->Co)) * sizeof(float);
}

/* U[xi][ci][co] = (G g G^T)[xi] for the 3x3 kernel g(kh, kw) of (ci, co) at
 * w + kh*skh + kw*skw + ci*sci + co*sco (negative strides flip it). */
static void filter_transform(const float *w, ptrdiff_t skh, ptrdiff_t skw, ptrdiff_t sci,
                             ptrdiff_t sco, int Ci, int Co, float *U)
{
    const size_t xs = (size_t)Ci * Co;
    for (int ci = 0; ci < Ci; ci++)
        for (int co = 0; co < Co; co++) {
            const float *g = w + ci * sci + co * sco;
            float t[4][3];   /* G g: rows of the tile, columns of g */
            for (int k = 0; k < 3; k++) {
                float a = g[k * skw], b = g[skh + k * skw], c = g[2 * skh + k * skw];
                t[0][k] = a;
                t[1][k] = 0.5f * (a + b + c);
                t[2][k] = 0.5f * (a - b + c);
                t[3][k] = c;
            }
            float *u = U + (size_t)ci * Co + co;
            for (int r = 0; r < 4; r++) {
                float a = t[r][0], b = t[r][1], c = t[r][2];
                u[(4 * r + 0) * xs] = a;
                u[(4 * r + 1) * xs] = 0.5f * (a + b + c);
                u[(4 * r + 2) * xs] = 0.5f * (a - b + c);
                u[(4 * r + 3) * xs] = c;
            }
        }
}

/* V[xi][t][c] = (B^T d B)[xi] for the nt tiles from tile t0 on. */
static void input_transform(const plane *q, const float *in, long t0, int nt, size_t vs,
                            const float *zeros, float *V)
{
    const int Ci = q->Ci, tw = (q->Wo + 1) / 2, th = (q->Ho + 1) / 2;
    const size_t img = (size_t)q->Hi * q->Wi * Ci;
    for (int t = 0; t < nt; t++) {
        long id = t0 + t, b = id / ((long)th * tw), r = id % ((long)th * tw);
        int h0 = (int)(r / tw) * 2 - q->pt, w0 = (int)(r % tw) * 2 - q->pl;
        const float *d[16];
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) {
                int h = h0 + i, w = w0 + j;
                d[4 * i + j] = h >= 0 && h < q->Hi && w >= 0 && w < q->Wi
                                   ? in + b * img + ((size_t)h * q->Wi + w) * Ci
                                   : zeros;
            }
        float *v = V + (size_t)t * Ci;
#pragma GCC ivdep
        for (int c = 0; c < Ci; c++) {
            float e[4][4];
            for (int i = 0; i < 4; i++) {   /* d B along each row */
                float a0 = d[4 * i][c], a1 = d[4 * i + 1][c], a2 = d[4 * i + 2][c],
                      a3 = d[4 * i + 3][c];
                e[i][0] = a0 - a2;
                e[i][1] = a1 + a2;
                e[i][2] = a2 - a1;
                e[i][3] = a1 - a3;
            }
            for (int j = 0; j < 4; j++) {   /* B^T (d B) down each column */
                v[(0 + j) * vs + c] = e[0][j] - e[2][j];
                v[(4 + j) * vs + c] = e[1][j] + e[2][j];
                v[(8 + j) * vs + c] = e[2][j] - e[1][j];
                v[(12 + j) * vs + c] = e[1][j] - e[3][j];
            }
        }
    }
}

/* out's 2x2 tiles from M[xi][t][co]: A^T m A, + bias, ReLU if relu. */
static void output_transform(const plane *q, const float *M, long t0, int nt, size_t ms,
                             const float *bias, const float *zeros, int relu, float *out)
{
    const int Co = q->Co, tw = (q->Wo + 1) / 2, th = (q->Ho + 1) / 2;
    const size_t img = (size_t)q->Ho * q->Wo * Co;
    const float *bs = bias ? bias : zeros;
    for (int t = 0; t < nt; t++) {
        long id = t0 + t, b = id / ((long)th * tw), r = id % ((long)th * tw);
        int h0 = (int)(r / tw) * 2, w0 = (int)(r % tw) * 2;
        const float *m = M + (size_t)t * Co;
        float *o[4];
        for (int k = 0; k < 4; k++) {
            int h = h0 + k / 2, w = w0 + k % 2;
            o[k] = h < q->Ho && w < q->Wo ? out + b * img + ((size_t)h * q->Wo + w) * Co : NULL;
        }
        for (int co = 0; co < Co; co++) {
            float s0[4], s1[4];
            for (int i = 0; i < 4; i++) {   /* m A along each row */
                float a0 = m[(4 * i) * ms + co], a1 = m[(4 * i + 1) * ms + co],
                      a2 = m[(4 * i + 2) * ms + co], a3 = m[(4 * i + 3) * ms + co];
                s0[i] = a0 + a1 + a2;
                s1[i] = a1 - a2 - a3;
            }
            float y[4] = {s0[0] + s0[1] + s0[2] + bs[co], s1[0] + s1[1] + s1[2] + bs[co],
                          s0[1] - s0[2] - s0[3] + bs[co], s1[1] - s1[2] - s1[3] + bs[co]};
            for (int k = 0; k < 4; k++) {
                if (!o[k])
                    continue;
                o[k][co] = relu ? (y[k] > 0.0f ? y[k] : 0.0f) : y[k];
            }
        }
    }
}

/* out (n images of q) from in, with U the transformed kernel. */
static void wconv(const plane *q, const float *U, const float *bias, int relu, const float *in,
                  int n, float *out, float *ws)
{
    const long tiles = tiles_of(q, n);
    const int T = block_tiles(q, tiles);
    const size_t vs = (size_t)T * q->Ci, ms = (size_t)T * q->Co;
    float *V = ws, *M = V + 16 * vs, *zeros = M + 16 * ms;
    memset(zeros, 0, (size_t)(q->Ci > q->Co ? q->Ci : q->Co) * sizeof *zeros);
    for (long t0 = 0; t0 < tiles; t0 += T) {
        int nt = tiles - t0 < T ? (int)(tiles - t0) : T;
        input_transform(q, in, t0, nt, vs, zeros, V);
        for (int xi = 0; xi < 16; xi++)
            nn_sgemm(0, 0, nt, q->Co, q->Ci, 1.0f, V + xi * vs, q->Ci,
                     U + (size_t)xi * q->Ci * q->Co, q->Co, 0.0f, M + xi * ms, q->Co);
        output_transform(q, M, t0, nt, ms, bias, zeros, relu, out);
    }
}

static plane fwd_plane(const nn_conv_geom *g, int F)
{
    plane q = {g->H, g->W, g->C, g->OH, g->OW, F, g->PT, g->PL};
    return q;
}

/* dx: the full correlation of dz with the rotated kernel, padded so that
 * the 3x3 window covers every output tap that reads an input pixel. */
static plane dx_plane(const nn_conv_geom *g, int F)
{
    plane q = {g->OH, g->OW, F, g->H, g->W, g->C, 2 - g->PT, 2 - g->PL};
    return q;
}

int nn_wconv_usable(const nn_conv_geom *g, int F)
{
    size_t big = (size_t)(g->H > g->OH ? g->H : g->OH) * (g->W > g->OW ? g->W : g->OW) *
                 (size_t)(g->C > F ? g->C : F);
    return g->KH == 3 && g->KW == 3 && g->SH == 1 && g->SW == 1 && big < (size_t)INT_MAX / 2;
}

size_t nn_wconv_work_bytes(const nn_conv_geom *g, int F, int n)
{
    plane a = fwd_plane(g, F), b = dx_plane(g, F);
    size_t wa = plane_work(&a, n), wb = plane_work(&b, n);
    /* + the zeros row, one per plane */
    return (wa > wb ? wa : wb) + (size_t)(g->C > F ? g->C : F) * sizeof(float);
}

void nn_wconv_forward(const nn_conv_geom *g, int F, const float *w, const float *bias,
                      nn_act act, const float *x, int n, float *y, float *work)
{
    const plane q = fwd_plane(g, F);
    const int C = g->C;
    float *U = work;
    filter_transform(w, (ptrdiff_t)3 * C * F, (ptrdiff_t)C * F, F, 1, C, F, U);
    int relu = act == NN_ACT_RELU;
    wconv(&q, U, bias, relu, x, n, y, U + (size_t)16 * C * F);
    if (!relu && act != NN_ACT_LINEAR)
        nn_act_forward(act, y, (size_t)n * g->OH * g->OW, (size_t)F);
}

void nn_wconv_dx(const nn_conv_geom *g, int F, const float *w, const float *dz, int n,
                 float *dx, float *work)
{
    const plane q = dx_plane(g, F);
    const int C = g->C;
    float *U = work;
    /* g'(kh, kw, f, c) = w(2 - kh, 2 - kw, c, f) */
    filter_transform(w + (size_t)8 * C * F, -(ptrdiff_t)3 * C * F, -(ptrdiff_t)C * F, 1, F,
                     F, C, U);
    wconv(&q, U, NULL, 0, dz, n, dx, U + (size_t)16 * C * F);
}
