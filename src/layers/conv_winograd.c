/* Owns the Winograd F(2x2, 3x3) convolution (see conv_winograd.h), after
 * Lavin and Gray (2016): Y = A^T [ (G g G^T) .* (B^T d B) ] A per 2x2 output
 * tile, with
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],
 *   G   = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1],
 *   A^T = [1 1 1 0; 0 1 -1 -1].
 * The elementwise product summed over input channels is, for each of the
 * 16 positions xi of the 4x4 tile, one matrix product V_xi (tiles x Ci)
 * U_xi (Ci x Co) = M_xi (tiles x Co), over a block of tiles small enough
 * that V and M stay in L2, by a register-tiled kernel as conv_direct.c's
 * (OpenBLAS sgemm, packing both operands on every one of these small
 * products, ran the layer at half the direct kernels' speed). Channels are the innermost
 * index everywhere (NHWC), so the transforms are loops over channels that
 * the compiler vectorises. The kernel transform is redone per call: it is
 * 16 Ci Co floats, a few per cent of one image's products even on an 8x8
 * image, and keeps the calls of concurrent threads independent. */
#include "layers/conv_winograd.h"

#include <limits.h>
#include <stddef.h>
#include <string.h>

#include "core/simd.h"

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

/* Output channels rounded up to whole vectors: U's and M's rows. */
static size_t padded_co(const plane *q)
{
    return ((size_t)q->Co + NN_VL - 1) / NN_VL * NN_VL;
}

static size_t plane_work(const plane *q, int n)
{
    size_t T = (size_t)block_tiles(q, tiles_of(q, n > 0 ? n : 1)), Cop = padded_co(q);
    /* U, V and M (the kernel transform's 9 Cop floats first use V's place) */
    return (16 * ((size_t)q->Ci * Cop + T * (q->Ci + Cop)) + 9 * Cop) * sizeof(float);
}

/* U[xi][ci][co] = (G g G^T)[xi] for the 3x3 kernel g(kh, kw) of (ci, co) at
 * w + kh*skh + kw*skw + ci*sci + co*sco (negative strides flip it); rows of
 * Cop floats, zero past Co. Each ci gathers its 9 taps of all co into g9
 * (9 Cop floats), then transforms a vector of co at a time. */
static void filter_transform(const float *w, ptrdiff_t skh, ptrdiff_t skw, ptrdiff_t sci,
                             ptrdiff_t sco, int Ci, int Co, size_t Cop, float *g9, float *U)
{
    const size_t xs = (size_t)Ci * Cop;
    const vf half = vbcast(0.5f);
    memset(g9, 0, 9 * Cop * sizeof *g9);
    for (int ci = 0; ci < Ci; ci++) {
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
            vf g[9], t[4][3];
            for (int k = 0; k < 9; k++)
                g[k] = vload(g9 + (size_t)k * Cop + co);
            for (int k = 0; k < 3; k++) {   /* G g: rows of the tile, columns of g */
                vf a = g[k], b = g[3 + k], c = g[6 + k];
                t[0][k] = a;
                t[1][k] = half * (a + b + c);
                t[2][k] = half * (a - b + c);
                t[3][k] = c;
            }
            float *u = U + (size_t)ci * Cop + co;
            for (int r = 0; r < 4; r++) {   /* then (G g) G^T */
                vf a = t[r][0], b = t[r][1], c = t[r][2];
                vstore(u + (4 * r + 0) * xs, a);
                vstore(u + (4 * r + 1) * xs, half * (a + b + c));
                vstore(u + (4 * r + 2) * xs, half * (a - b + c));
                vstore(u + (4 * r + 3) * xs, c);
            }
        }
    }
}

/* V[t][xi][c] = (B^T d B)[xi] for the nt tiles from tile t0 on; taps in the
 * padding read the zeros row. One vector of channels at a time, all 16
 * taps in registers (GCC left the scalar loop unvectorised). */
static void input_transform(const plane *q, const float *in, long t0, int nt,
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
        float *v = V + (size_t)t * 16 * Ci;
        const size_t vs = (size_t)Ci;
        for (int c = 0; c < Ci; c += NN_VL) {
            lanes n = lanes_first(Ci - c < NN_VL ? Ci - c : NN_VL);
            vf e[4][4];
            for (int j = 0; j < 4; j++) {   /* B^T down column j */
                vf a0 = vload_n(d[j] + c, n), a1 = vload_n(d[4 + j] + c, n),
                   a2 = vload_n(d[8 + j] + c, n), a3 = vload_n(d[12 + j] + c, n);
                e[0][j] = a0 - a2;
                e[1][j] = a1 + a2;
                e[2][j] = a2 - a1;
                e[3][j] = a1 - a3;
            }
            for (int i = 0; i < 4; i++) {   /* then B along row i */
                float *o = v + (size_t)(4 * i) * vs + c;
                vstore_n(o, e[i][0] - e[i][2], n);
                vstore_n(o + vs, e[i][1] + e[i][2], n);
                vstore_n(o + 2 * vs, e[i][2] - e[i][1], n);
                vstore_n(o + 3 * vs, e[i][1] - e[i][3], n);
            }
        }
    }
}

/* out's 2x2 tiles from M[t][xi][co]: A^T m A, + bias, ReLU if relu; outputs
 * past the image edge go to scratch (Co floats). */
static void output_transform(const plane *q, const float *M, long t0, int nt,
                             const float *bias, float *scratch, int relu, float *out)
{
    const int Co = q->Co, tw = (q->Wo + 1) / 2, th = (q->Ho + 1) / 2;
    const size_t img = (size_t)q->Ho * q->Wo * Co, Cop = padded_co(q), ms = Cop;
    const vf zero = {0};
    for (int t = 0; t < nt; t++) {
        long id = t0 + t, b = id / ((long)th * tw), r = id % ((long)th * tw);
        int h0 = (int)(r / tw) * 2, w0 = (int)(r % tw) * 2;
        const float *m = M + (size_t)t * 16 * Cop;
        float *o[4];
        for (int k = 0; k < 4; k++) {
            int h = h0 + k / 2, w = w0 + k % 2;
            o[k] = h < q->Ho && w < q->Wo ? out + b * img + ((size_t)h * q->Wo + w) * Co
                                          : scratch;
        }
        for (int co = 0; co < Co; co += NN_VL) {
            lanes n = lanes_first(Co - co < NN_VL ? Co - co : NN_VL);
            vf s0[4], s1[4];
            for (int i = 0; i < 4; i++) {   /* m A along each row (M's rows are whole vectors) */
                vf a0 = vload(m + (4 * i) * ms + co), a1 = vload(m + (4 * i + 1) * ms + co),
                   a2 = vload(m + (4 * i + 2) * ms + co), a3 = vload(m + (4 * i + 3) * ms + co);
                s0[i] = a0 + a1 + a2;
                s1[i] = a1 - a2 - a3;
            }
            vf bs = vload_n(bias + co, n);
            vf y[4] = {s0[0] + s0[1] + s0[2] + bs, s1[0] + s1[1] + s1[2] + bs,
                       s0[1] - s0[2] - s0[3] + bs, s1[1] - s1[2] - s1[3] + bs};
            for (int k = 0; k < 4; k++) {
                if (relu)   /* y > 0 ? y : 0, as nn_act_forward */
                    y[k] = (vf)((vi)y[k] & (y[k] > zero));
                vstore_n(o[k] + co, y[k], n);
            }
        }
    }
}

#if NN_VL == 16
#define PMAX 14   /* 28 accumulators + 2 kernel vectors + 1 broadcast of 32 */
#else
#define PMAX 6    /* 12 + 2 + 1 of 16 registers */
#endif
#define VL NN_VL

/* The tile's rows as separate variables (conv_direct.c: GCC kept an array
 * of accumulators in memory). */
#define ROWS(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11) M(12) M(13)
#define DECL(p) vf a##p##0 = zero, a##p##1 = zero;

/* m[p*ldm + v*VL + lane] = sum over k < K of v[p*ldv + k] * u[k*ldu + v*VL + lane]
 * for p < P, v < FV: P tiles times FV vectors of output channels. */
INLINE void mm_tile(const float *v, size_t ldv, const float *u, size_t ldu, int K, float *m,
                    size_t ldm, const int P, const int FV)
{
    const vf zero = {0};
    ROWS(DECL)
    for (int k = 0; k < K; k++) {
        const float *vk = v + k;
        vf u0 = vload(u + (size_t)k * ldu), u1 = FV > 1 ? vload(u + (size_t)k * ldu + VL) : u0;
#define STEP(p)                                                                           \
    if (p < P) {                                                                          \
        vf b = vbcast(vk[(size_t)p * ldv]);                                               \
        a##p##0 = vfma(b, u0, a##p##0);                                                   \
        if (FV > 1)                                                                       \
            a##p##1 = vfma(b, u1, a##p##1);                                               \
    }
        ROWS(STEP)
#undef STEP
    }
#define OUT(p)                                                                            \
    if (p < P) {                                                                          \
        vstore(m + (size_t)p * ldm, a##p##0);                                             \
        if (FV > 1)                                                                       \
            vstore(m + (size_t)p * ldm + VL, a##p##1);                                    \
    }
    ROWS(OUT)
#undef OUT
}

#if PMAX > 6
#define TILE_SIZES(M) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11) M(12) M(13) M(14)
#else
#define TILE_SIZES(M) M(1) M(2) M(3) M(4) M(5) M(6)
#endif
#define MM_CASE(P_)                                                                       \
    case P_:                                                                              \
        if (FV == 2)                                                                      \
            mm_tile(v, ldv, u, ldu, K, m, ldm, P_, 2);                                    \
        else                                                                              \
            mm_tile(v, ldv, u, ldu, K, m, ldm, P_, 1);                                    \
        break;

static void mm_any(int P, int FV, const float *v, size_t ldv, const float *u, size_t ldu, int K,
                   float *m, size_t ldm)
{
    switch (P) {
        TILE_SIZES(MM_CASE)
    default: break;
    }
}

/* M[t][xi] (nt, Cop) = V[t][xi] (nt, Ci) U[xi] (Ci, Cop) for each of the 16
 * positions xi; Cop, a whole number of vectors, is U's and M's row (zero
 * columns past Co). */
static void batched_product(const float *V, int nt, int Ci, const float *U, int Cop, float *M)
{
    const size_t ldv = (size_t)16 * Ci, ldm = (size_t)16 * Cop;
    for (int xi = 0; xi < 16; xi++) {
        const float *u = U + (size_t)xi * Ci * Cop;
        for (int f0 = 0; f0 < Cop; f0 += 2 * VL) {   /* U's block stays in L1 */
            int FV = Cop - f0 >= 2 * VL ? 2 : 1;
            for (int t0 = 0; t0 < nt; t0 += PMAX) {
                int P = nt - t0 < PMAX ? nt - t0 : PMAX;
                mm_any(P, FV, V + (size_t)t0 * ldv + (size_t)xi * Ci, ldv, u + f0, (size_t)Cop,
                       Ci, M + (size_t)t0 * ldm + (size_t)xi * Cop + f0, ldm);
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
    const size_t Cop = padded_co(q), vs = (size_t)T * q->Ci, ms = (size_t)T * Cop;
    /* zeros: the padding's taps and a zero bias; scratch: outputs off the edge */
    float *V = ws, *M = V + 16 * vs, *zeros = M + 16 * ms, *scratch = zeros + q->Ci + q->Co;
    memset(zeros, 0, (size_t)(q->Ci + q->Co) * sizeof *zeros);
    if (!bias)
        bias = zeros;
    for (long t0 = 0; t0 < tiles; t0 += T) {
        int nt = tiles - t0 < T ? (int)(tiles - t0) : T;
        input_transform(q, in, t0, nt, zeros, V);
        batched_product(V, nt, q->Ci, U, (int)Cop, M);
        output_transform(q, M, t0, nt, bias, scratch, relu, out);
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
    /* + wconv's zeros and scratch rows */
    return (wa > wb ? wa : wb) + (size_t)2 * (g->C + F) * sizeof(float);
}

void nn_wconv_forward(const nn_conv_geom *g, int F, const float *w, const float *bias,
                      nn_act act, const float *x, int n, float *y, float *work)
{
    const plane q = fwd_plane(g, F);
    const int C = g->C;
    const size_t Cop = padded_co(&q);
    float *U = work;
    filter_transform(w, (ptrdiff_t)3 * C * F, (ptrdiff_t)C * F, F, 1, C, F, Cop,
                     U + 16 * C * Cop, U);
    int relu = act == NN_ACT_RELU;
    wconv(&q, U, bias, relu, x, n, y, U + 16 * C * Cop);
    if (!relu && act != NN_ACT_LINEAR)
        nn_act_forward(act, y, (size_t)n * g->OH * g->OW, (size_t)F);
}

void nn_wconv_dx(const nn_conv_geom *g, int F, const float *w, const float *dz, int n,
                 float *dx, float *work)
{
    const plane q = dx_plane(g, F);
    const int C = g->C;
    const size_t Cop = padded_co(&q);
    float *U = work;
    /* g'(kh, kw, f, c) = w(2 - kh, 2 - kw, c, f) */
    filter_transform(w + (size_t)8 * C * F, -(ptrdiff_t)3 * C * F, -(ptrdiff_t)C * F, 1, F,
                     F, C, Cop, U + 16 * F * Cop, U);
    wconv(&q, U, NULL, 0, dz, n, dx, U + 16 * F * Cop);
}
