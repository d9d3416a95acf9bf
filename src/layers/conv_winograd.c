/* Owns the Winograd convolutions F(2x2, 3x3) and F(4x4, 3x3) (see
 * conv_winograd.h), after Lavin and Gray (2016): per m x m output tile
 * (m = 2 or 4; tiles of a = m + 2 input pixels a side)
 *   Y = A^T [ (G g G^T) .* (B^T d B) ] A,
 * the 1-D transforms spelt out in in1d and out1d below (ker1d, G's, and
 * the kernels' cache in conv_winograd_kernel.c). The
 * elementwise product summed over input channels is, for each of the a*a
 * positions xi of a tile, one matrix product V_xi (tiles x Ci) U_xi (Ci x
 * Co) = M_xi (tiles x Co), over a block of tiles small enough that V and M
 * stay in L2, by a register tile as conv_direct.c's: broadcasts of V times
 * vectors of U (OpenBLAS sgemm, which packed both operands of every one of
 * these small products, ran the layer at half the direct kernels' speed).
 * The weight gradient runs the adjoints: dU_xi (Ci x Co) = the sum over
 * tiles of V_xi^T (A dz A^T)_xi, then dW = G^T dU G. V and M are
 * tile-major (V[t][xi][c]) so that a tile's transform reads and writes one
 * contiguous block. Channels are the innermost index everywhere (NHWC): the
 * transforms work on vectors of channels. The transformed kernels (a*a Ci
 * Co floats for the forward, as many for dx) are kept in the layer's
 * nn_wconv_cache (conv_winograd_kernel.c). */
#include "layers/conv_winograd.h"

#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/simd.h"
#include "layers/conv_winograd_f43.h"
#include "layers/conv_winograd_kernel.h"
#include "layers/conv_winograd_mm.h"

/* One stride-1 3x3 correlation: in (Hi, Wi, Ci) zero-padded by pt / pl on
 * the top / left gives out (Ho, Wo, Co), in tiles of m x m outputs. */
typedef struct plane {
    int Hi, Wi, Ci, Ho, Wo, Co, pt, pl, m;
} plane;

/* V and M (forward, dx), or V and Zt (dW) of a block of tiles: at most
 * this many floats. The forward and dx go through a block three times
 * (input transform, products, output transform), and a block that stays
 * near L1 (64 KiB) ran the 16-channel layers 10-15% faster than one in L2
 * (512 KiB); dW's blocks add to dU (a*a Ci Co floats) each time and keep
 * the larger size (in 64 KiB blocks its 32-channel layers ran 5-30% slower). */
enum { BLOCK_FLOATS = 16384, DW_BLOCK_FLOATS = 131072 };

static int npos(const plane *q)   /* a*a positions per tile */
{
    return (q->m + 2) * (q->m + 2);
}

/* Tiles per block of at most floats floats (16 at least). */
static int block_tiles(const plane *q, long tiles, long floats)
{
    long T = floats / npos(q) / (q->Ci + q->Co);
    if (T < 16)
        T = 16;
    return (int)(tiles < T ? tiles : T);
}

static long tiles_of(const plane *q, int n)
{
    return (long)n * ((q->Ho + q->m - 1) / q->m) * ((q->Wo + q->m - 1) / q->m);
}

/* A tile's image and place, stepped along tile by tile (a division per
 * tile and transform was a visible share at 16 channels). */
typedef struct tpos {
    long b;
    int ty, tx, th, tw;
} tpos;

static tpos tpos_at(const plane *q, long id)
{
    tpos p;
    p.tw = (q->Wo + q->m - 1) / q->m;
    p.th = (q->Ho + q->m - 1) / q->m;
    p.b = id / ((long)p.th * p.tw);
    long r = id % ((long)p.th * p.tw);
    p.ty = (int)(r / p.tw);
    p.tx = (int)(r % p.tw);
    return p;
}

static void tpos_next(tpos *p)
{
    if (++p->tx == p->tw) {
        p->tx = 0;
        if (++p->ty == p->th)
            p->ty = 0, p->b++;
    }
}

/* Output channels rounded up to whole vectors: U's and M's rows. */
static size_t padded_co(const plane *q)
{
    return nn_wker_cop(q->Co);
}

/* input_tf4's E: six rows of a tile row's 4 tw + 2 columns, Ci rounded up
 * to whole vectors. */
static size_t e_floats(const plane *q)
{
    size_t Cv = ((size_t)q->Ci + NN_VL - 1) / NN_VL * NN_VL;
    return q->m == 4 && q->Ci <= NN_VL ? (size_t)6 * (4 * ((q->Wo + 3) / 4) + 2) * Cv : 0;
}

static size_t plane_work(const plane *q, int n)
{
    /* the larger blocks (dW's) */
    size_t T = (size_t)block_tiles(q, tiles_of(q, n > 0 ? n : 1), DW_BLOCK_FLOATS);
    size_t X = (size_t)npos(q), Cop = padded_co(q);
    /* U, V and M (the kernel transform first uses V and M and 9 Cop more),
     * then wconv's zeros and scratch rows, then F(4x4)'s E (input_tf4) */
    return (X * ((size_t)q->Ci * Cop + T * (q->Ci + Cop)) + 9 * Cop + 2 * (q->Ci + Cop) +
            e_floats(q)) *
           sizeof(float);
}

/* The 1-D transforms, on vectors of channels. F(2, 3):
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
 *   G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
 *   A^T = [1 1 1 0; 0 1 -1 -1]
 * F(4, 3):
 *   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0;
 *          0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
 *   G   = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6;
 *          1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
 *   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
 * d[k*s] -> v[k*s] (B^T d), g[k*s] -> u[k*s] (G g), x[k*s] -> y[k*s] (A^T x). */
INLINE void in1d(const vf *d, size_t s, vf *v, size_t sv, const int m)
{
    if (m == 2) {
        vf d0 = d[0], d1 = d[s], d2 = d[2 * s], d3 = d[3 * s];
        v[0] = d0 - d2;
        v[sv] = d1 + d2;
        v[2 * sv] = d2 - d1;
        v[3 * sv] = d1 - d3;
        return;
    }
    const vf c4 = vbcast(4.0f), c5 = vbcast(5.0f), c2 = vbcast(2.0f);
    vf d0 = d[0], d1 = d[s], d2 = d[2 * s], d3 = d[3 * s], d4 = d[4 * s], d5 = d[5 * s];
    vf p = d4 - c4 * d2, r = d3 - c4 * d1;   /* rows 1, 2: d4 - 4 d2 +- (d3 - 4 d1) */
    vf p2 = d4 - d2, r2 = c2 * (d3 - d1);    /* rows 3, 4: d4 - d2 +- 2 (d3 - d1) */
    v[0] = c4 * d0 - c5 * d2 + d4;
    v[sv] = p + r;
    v[2 * sv] = p - r;
    v[3 * sv] = p2 + r2;
    v[4 * sv] = p2 - r2;
    v[5 * sv] = c4 * d1 - c5 * d3 + d5;
}

INLINE void out1d(const vf *x, size_t s, vf *y, size_t sy, const int m)
{
    if (m == 2) {
        vf x0 = x[0], x1 = x[s], x2 = x[2 * s], x3 = x[3 * s];
        y[0] = x0 + x1 + x2;
        y[sy] = x1 - x2 - x3;
        return;
    }
    const vf c2 = vbcast(2.0f), c4 = vbcast(4.0f), c8 = vbcast(8.0f);
    vf x0 = x[0], x1 = x[s], x2 = x[2 * s], x3 = x[3 * s], x4 = x[4 * s], x5 = x[5 * s];
    vf a = x1 + x2, b = x1 - x2, c = x3 + x4, d = x3 - x4;
    y[0] = x0 + a + c;
    y[sy] = b + c2 * d;
    y[2 * sy] = a + c4 * c;
    y[3 * sy] = b + c8 * d + x5;
}

/* The forward (dx 0) or dx (dx 1) kernel transform of w in q's shape: the
 * cache's, or made in work (the call's workspace for n images). */
static const float *kernel_u(const plane *q, const float *w, int dx, nn_wconv_cache *k,
                             float *work, int n)
{
    if (k)
        return nn_wker_cached(k, w, dx);
    /* scratch: V's and M's place, and the 9 Cop floats plane_work adds */
    const size_t X = (size_t)npos(q), Cop = padded_co(q);
    size_t sfl = X * (size_t)block_tiles(q, tiles_of(q, n > 0 ? n : 1), BLOCK_FLOATS) *
                     (q->Ci + Cop) + 9 * Cop;
    nn_wker_transform(q->m, q->Ci, q->Co, w, dx, work + X * q->Ci * Cop, sfl, work);
    return work;
}

/* V[t][xi][c] = (B^T d B)[xi] for the nt tiles from tile t0 on; taps in the
 * padding read the zeros row. One vector of channels at a time, the tile's
 * taps in registers (GCC left the scalar loop unvectorised). */
INLINE void input_tf(const plane *q, const float *in, long t0, int nt, const float *zeros,
                     float *V, const int m)
{
    const int a = m + 2, Ci = q->Ci;
    const size_t img = (size_t)q->Hi * q->Wi * Ci;
    tpos p = tpos_at(q, t0);
    for (int t = 0; t < nt; t++, tpos_next(&p)) {
        long b = p.b;
        int h0 = p.ty * m - q->pt, w0 = p.tx * m - q->pl;
        const float *d[36];
        if (h0 >= 0 && h0 + a <= q->Hi && w0 >= 0 && w0 + a <= q->Wi) {
            const float *base = in + b * img + ((size_t)h0 * q->Wi + w0) * Ci;
            for (int i = 0; i < a; i++)
                for (int j = 0; j < a; j++)
                    d[a * i + j] = base + ((size_t)i * q->Wi + j) * Ci;
        } else
            for (int i = 0; i < a; i++)
                for (int j = 0; j < a; j++) {
                    int h = h0 + i, w = w0 + j;
                    d[a * i + j] = h >= 0 && h < q->Hi && w >= 0 && w < q->Wi
                                       ? in + b * img + ((size_t)h * q->Wi + w) * Ci
                                       : zeros;
                }
        /* the input streams from memory on large batches, and 36 scattered
         * loads wait on it: in an image's first tile row, the pixels the
         * tile two to the right adds; below, the pixels of the m rows the
         * next tile row adds under this tile's columns (a tile row ahead:
         * 10% at 32 images of 32x32x32 over the tile to the right alone) */
        int i0 = p.ty ? a : 0, i1 = p.ty ? a + m : a;
        int w1 = p.ty ? w0 : w0 + a + m, w2 = w1 + (p.ty ? a : m);
        w1 = w1 < 0 ? 0 : w1;
        w2 = w2 < q->Wi ? w2 : q->Wi;
        for (int i = i0; i < i1 && w1 < w2; i++) {
            int h = h0 + i;
            if (h < 0 || h >= q->Hi)
                continue;
            const char *pf = (const char *)(in + b * img + ((size_t)h * q->Wi + w1) * Ci);
            size_t bytes = (size_t)(w2 - w1) * Ci * sizeof(float);
            for (size_t k = 0; k < bytes; k += 64)
                __builtin_prefetch(pf + k);
        }
        float *v = V + (size_t)t * a * a * Ci;
        if (m == 4) {
            int c = 0;
            for (; c + NN_VL <= Ci; c += NN_VL)
                in_tile4(d, (size_t)c, v + c, (size_t)Ci, lanes_first(NN_VL), 1);
            if (c < Ci)
                in_tile4(d, (size_t)c, v + c, (size_t)Ci, lanes_first(Ci - c), 0);
            continue;
        }
        for (int c = 0; c < Ci; c += NN_VL) {
            lanes n = lanes_first(Ci - c < NN_VL ? Ci - c : NN_VL);
            vf x[36], e[36], o[36];
            for (int k = 0; k < a * a; k++)
                x[k] = vload_n(d[k] + c, n);
            for (int j = 0; j < a; j++)   /* B^T down column j */
                in1d(x + j, (size_t)a, e + j, (size_t)a, m);
            for (int i = 0; i < a; i++)   /* then B along row i */
                in1d(e + a * i, 1, o + a * i, 1, m);
            for (int k = 0; k < a * a; k++)
                vstore_n(v + (size_t)k * Ci + c, o[k], n);
        }
    }
}

/* F(4x4)'s B^T down the columns of one tile row, shared by its tiles (a
 * column of six input pixels lies in the windows of two tiles, as the 6x6
 * windows step by 4): E[j][r][c] = (B^T d)[r] for the 4 tw + 2 columns j of
 * the input rows from 4 ty - pt on, columns from -pl on, pixels off the
 * image zero. The tiles then run B along their rows of E: no table of 36
 * pixel addresses with bounds checks per tile (it cost more than the
 * arithmetic at 16 channels), and a third fewer column transforms, but
 * six more stores per column: from 32 channels, where one table serves
 * several vectors, input_tf's table was 5-10% faster (bench_wconv), so
 * only planes of one vector of channels come this way. */
static void e_fill(const plane *q, const float *in, long b, int ty, float *E, size_t Cv)
{
    const int Ci = q->Ci, Wp = 4 * ((q->Wo + 3) / 4) + 2, h0 = 4 * ty - q->pt;
    const float *row[10], *rp[6];
    for (int i = 0; i < 10; i++) {
        int h = h0 + i;
        row[i] = h >= 0 && h < q->Hi ? in + ((size_t)b * q->Hi + h) * q->Wi * Ci : NULL;
    }
    for (int j = 0; j < Wp; j++) {
        int w = j - q->pl, in_w = w >= 0 && w < q->Wi;
        for (int i = 0; i < 6; i++)
            rp[i] = row[i] && in_w ? row[i] + (size_t)w * Ci : NULL;
        /* the four rows the next tile row adds (of this image): the input
         * streams from memory on large batches, the rows a few pixels at a
         * time (half of the loads here waited on it at 32 images) */
        for (int i = 6; i < 10; i++)
            if (row[i] && in_w)
                __builtin_prefetch(row[i] + (size_t)w * Ci);
        float *e = E + (size_t)j * 6 * Cv;
        int c = 0;
        for (; c + NN_VL <= Ci; c += NN_VL)
            e_column(rp, (size_t)c, e, Cv, lanes_first(NN_VL), 1);
        if (c < Ci)
            e_column(rp, (size_t)c, e, Cv, lanes_first(Ci - c), 0);
    }
}

/* input_tf for F(4x4) through E; *erow: the tile row E holds (b th + ty),
 * kept across the blocks of one call (-1: none). */
static void input_tf4(const plane *q, const float *in, long t0, int nt, float *V, float *E,
                      long *erow)
{
    const int Ci = q->Ci, tw = (q->Wo + 3) / 4;
    const size_t Cv = ((size_t)Ci + NN_VL - 1) / NN_VL * NN_VL;
    for (int t = 0; t < nt; t++) {
        long id = t0 + t, rowid = id / tw;
        int tx = (int)(id % tw);
        if (rowid != *erow) {
            int th = (q->Ho + 3) / 4;
            e_fill(q, in, rowid / th, (int)(rowid % th), E, Cv);
            *erow = rowid;
        }
        const float *e = E + (size_t)4 * tx * 6 * Cv;
        float *v = V + (size_t)t * 36 * Ci;
        int c = 0;
        for (; c + NN_VL <= Ci; c += NN_VL)
            e_tile(e, Cv, v, (size_t)Ci, (size_t)c, lanes_first(NN_VL), 1);
        if (c < Ci)
            e_tile(e, Cv, v, (size_t)Ci, (size_t)c, lanes_first(Ci - c), 0);
    }
}

static void input_transform(const plane *q, const float *in, long t0, int nt,
                            const float *zeros, float *V, float *E, long *erow)
{
    if (q->m == 2)
        input_tf(q, in, t0, nt, zeros, V, 2);
    else if (q->Ci <= NN_VL)
        input_tf4(q, in, t0, nt, V, E, erow);
    else
        input_tf(q, in, t0, nt, zeros, V, 4);
}

/* out's m x m tiles from M[t][xi][co]: A^T x A, + bias, ReLU if relu;
 * outputs past the image edge go to scratch (Co floats). */
INLINE void output_tf(const plane *q, const float *M, long t0, int nt, const float *bias,
                      float *scratch, int relu, float *out, const int m)
{
    const int a = m + 2, Co = q->Co;
    const size_t img = (size_t)q->Ho * q->Wo * Co, Cop = padded_co(q);
    const vf zero = {0};
    tpos p = tpos_at(q, t0);
    for (int t = 0; t < nt; t++, tpos_next(&p)) {
        long b = p.b;
        int h0 = p.ty * m, w0 = p.tx * m;
        const float *mt = M + (size_t)t * a * a * Cop;
        float *o[16];
        if (h0 + m <= q->Ho && w0 + m <= q->Wo) {
            float *base = out + b * img + ((size_t)h0 * q->Wo + w0) * Co;
            for (int k = 0; k < m * m; k++)
                o[k] = base + ((size_t)(k / m) * q->Wo + k % m) * Co;
        } else
            for (int k = 0; k < m * m; k++) {
                int h = h0 + k / m, w = w0 + k % m;
                o[k] = h < q->Ho && w < q->Wo ? out + b * img + ((size_t)h * q->Wo + w) * Co
                                              : scratch;
            }
        if (m == 4) {
            int co = 0;
            for (; co + NN_VL <= Co; co += NN_VL)
                out_tile4(mt + co, Cop, bias + co, relu, o, (size_t)co, lanes_first(NN_VL), 1);
            if (co < Co)
                out_tile4(mt + co, Cop, bias + co, relu, o, (size_t)co, lanes_first(Co - co),
                          0);
            continue;
        }
        for (int co = 0; co < Co; co += NN_VL) {
            lanes n = lanes_first(Co - co < NN_VL ? Co - co : NN_VL);
            vf x[36], e[24], y[16];
            for (int k = 0; k < a * a; k++)   /* M's rows are whole vectors */
                x[k] = vload(mt + (size_t)k * Cop + co);
            for (int j = 0; j < a; j++)   /* A^T down column j: e is m x a */
                out1d(x + j, (size_t)a, e + j, (size_t)a, m);
            for (int i = 0; i < m; i++)   /* then A along row i: y is m x m */
                out1d(e + a * i, 1, y + m * i, 1, m);
            vf bs = vload_n(bias + co, n);
            for (int k = 0; k < m * m; k++) {
                vf v = y[k] + bs;
                if (relu)   /* y > 0 ? y : 0, as nn_act_forward */
                    v = (vf)((vi)v & (v > zero));
                vstore_n(o[k] + co, v, n);
            }
        }
    }
}

static void output_transform(const plane *q, const float *M, long t0, int nt,
                             const float *bias, float *scratch, int relu, float *out)
{
    if (q->m == 2)
        output_tf(q, M, t0, nt, bias, scratch, relu, out, 2);
    else
        output_tf(q, M, t0, nt, bias, scratch, relu, out, 4);
}

/* out (n images of q) from in, with U the transformed kernel; ws past
 * U's own place (kept for the uncached calls) holds V and M. */
static void wconv(const plane *q, const float *U, const float *bias, int relu, const float *in,
                  int n, float *out, float *ws)
{
    const long tiles = tiles_of(q, n);
    const int T = block_tiles(q, tiles, BLOCK_FLOATS), X = npos(q);
    const size_t Cop = padded_co(q);
    float *V = ws + (size_t)X * q->Ci * Cop, *M = V + (size_t)X * T * q->Ci;
    /* zeros: the padding's taps and a zero bias; scratch: outputs off the edge */
    float *zeros = M + (size_t)X * T * Cop, *scratch = zeros + q->Ci + Cop;
    float *E = zeros + 2 * (q->Ci + Cop);
    long erow = -1;
    memset(zeros, 0, (size_t)(q->Ci + Cop) * sizeof *zeros);
    if (!bias)
        bias = zeros;
    for (long t0 = 0; t0 < tiles; t0 += T) {
        int nt = tiles - t0 < T ? (int)(tiles - t0) : T;
        input_transform(q, in, t0, nt, zeros, V, E, &erow);
        nn_wmm_forward(V, nt, X, q->Ci, U, (int)Cop, M);
        output_transform(q, M, t0, nt, bias, scratch, relu, out);
    }
}

/* The weight gradient's 1-D steps. A z: an output tile's m gradient values
 * -> a (the adjoint of out1d); G^T u: a values -> the 3 taps (the adjoint
 * of ker1d). */
INLINE void zt1d(const vf *z, size_t s, vf *o, size_t so, const int m)
{
    if (m == 2) {
        vf z0 = z[0], z1 = z[s];
        o[0] = z0;
        o[so] = z0 + z1;
        o[2 * so] = z0 - z1;
        o[3 * so] = -z1;
        return;
    }
    const vf c2 = vbcast(2.0f), c4 = vbcast(4.0f), c8 = vbcast(8.0f);
    vf z0 = z[0], z1 = z[s], z2 = z[2 * s], z3 = z[3 * s];
    vf e = z0 + z2, d = z1 + z3, e4 = z0 + c4 * z2, d8 = c2 * z1 + c8 * z3;
    o[0] = z0;
    o[so] = e + d;
    o[2 * so] = e - d;
    o[3 * so] = e4 + d8;
    o[4 * so] = e4 - d8;
    o[5 * so] = z3;
}

INLINE void gt1d(const vf *u, size_t s, vf *r, size_t sr, const int m)
{
    if (m == 2) {
        const vf h = vbcast(0.5f);
        vf u0 = u[0], u1 = u[s], u2 = u[2 * s], u3 = u[3 * s];
        r[0] = u0 + h * (u1 + u2);
        r[sr] = h * (u1 - u2);
        r[2 * sr] = h * (u1 + u2) + u3;
        return;
    }
    const vf s6 = vbcast(1.0f / 6), q4 = vbcast(0.25f), e = vbcast(1.0f / 24),
             t = vbcast(1.0f / 12);
    vf u0 = u[0], u1 = u[s], u2 = u[2 * s], u3 = u[3 * s], u4 = u[4 * s], u5 = u[5 * s];
    vf p = u1 + u2, q = u1 - u2, p2 = u3 + u4, q2 = u3 - u4;
    r[0] = q4 * u0 - s6 * p + e * p2;
    r[sr] = t * q2 - s6 * q;
    r[2 * sr] = s6 * (p2 - p) + u5;
}

/* Zt[t][xi][f] = (A z A^T)[xi] of the output-gradient tiles of the nt tiles
 * from t0 on (taps past the image edge: the zeros row); rows of Cop floats,
 * zero past Co. */
INLINE void zt_tf(const plane *q, const float *dz, long t0, int nt, const float *zeros,
                  float *Zt, const int m)
{
    const int a = m + 2, Co = q->Co;
    const size_t img = (size_t)q->Ho * q->Wo * Co, Cop = padded_co(q);
    tpos p = tpos_at(q, t0);
    for (int t = 0; t < nt; t++, tpos_next(&p)) {
        long b = p.b;
        int h0 = p.ty * m, w0 = p.tx * m;
        const float *z[16];
        if (h0 + m <= q->Ho && w0 + m <= q->Wo) {
            const float *base = dz + b * img + ((size_t)h0 * q->Wo + w0) * Co;
            for (int k = 0; k < m * m; k++)
                z[k] = base + ((size_t)(k / m) * q->Wo + k % m) * Co;
        } else
            for (int k = 0; k < m * m; k++) {
                int h = h0 + k / m, w = w0 + k % m;
                z[k] = h < q->Ho && w < q->Wo ? dz + b * img + ((size_t)h * q->Wo + w) * Co
                                              : zeros;
            }
        float *o = Zt + (size_t)t * a * a * Cop;
        if (m == 4) {
            int co = 0;
            for (; co + NN_VL <= Co; co += NN_VL)
                zt_tile4(z, (size_t)co, o + co, Cop, lanes_first(NN_VL), 1);
            if (co < Co)
                zt_tile4(z, (size_t)co, o + co, Cop, lanes_first(Co - co), 0);
            continue;
        }
        for (int co = 0; co < Co; co += NN_VL) {
            lanes n = lanes_first(Co - co < NN_VL ? Co - co : NN_VL);
            vf x[16], e[24], y[36];
            for (int k = 0; k < m * m; k++)
                x[k] = vload_n(z[k] + co, n);
            for (int j = 0; j < m; j++)   /* A down column j: e is a x m */
                zt1d(x + j, (size_t)m, e + j, (size_t)m, m);
            for (int i = 0; i < a; i++)   /* then A^T along row i: y is a x a */
                zt1d(e + m * i, 1, y + a * i, 1, m);
            for (int k = 0; k < a * a; k++)
                vstore(o + (size_t)k * Cop + co, y[k]);
        }
    }
}

/* dw (3, 3, Ci, Co) += G^T dU[.][ci] G for each ci (dU: a*a x Ci x Cop). */
INLINE void dw_back(const float *dU, int Ci, int Co, size_t Cop, float *dw, const int m)
{
    const int a = m + 2;
    const size_t xs = (size_t)Ci * Cop;
    for (int ci = 0; ci < Ci; ci++)
        for (int co = 0; co < Co; co += NN_VL) {
            lanes n = lanes_first(Co - co < NN_VL ? Co - co : NN_VL);
            vf u[36], t[18], r[9];
            for (int k = 0; k < a * a; k++)
                u[k] = vload(dU + k * xs + (size_t)ci * Cop + co);
            for (int j = 0; j < a; j++)   /* G^T down column j: t is 3 x a */
                gt1d(u + j, (size_t)a, t + j, (size_t)a, m);
            for (int i = 0; i < 3; i++)   /* then G along row i: r is 3 x 3 */
                gt1d(t + a * i, 1, r + 3 * i, 1, m);
            for (int k = 0; k < 9; k++) {
                float *d = dw + ((size_t)k * Ci + ci) * Co + co;
                vstore_n(d, vload_n(d, n) + r[k], n);
            }
        }
}

static plane fwd_plane(const nn_conv_geom *g, int F, int m)
{
    plane q = {g->H, g->W, g->C, g->OH, g->OW, F, g->PT, g->PL, m};
    return q;
}

/* dx: the full correlation of dz with the rotated kernel, padded so that
 * the 3x3 window covers every output tap that reads an input pixel. */
static plane dx_plane(const nn_conv_geom *g, int F, int m)
{
    plane q = {g->OH, g->OW, F, g->H, g->W, g->C, 2 - g->PT, 2 - g->PL, m};
    return q;
}

int nn_wconv_usable(const nn_conv_geom *g, int F)
{
    size_t big = (size_t)(g->H > g->OH ? g->H : g->OH) * (g->W > g->OW ? g->W : g->OW) *
                 (size_t)(g->C > F ? g->C : F);
    return g->KH == 3 && g->KW == 3 && g->SH == 1 && g->SW == 1 && big < (size_t)INT_MAX / 2;
}

size_t nn_wconv_work_bytes(const nn_conv_geom *g, int F, int m, int n)
{
    plane a = fwd_plane(g, F, m), b = dx_plane(g, F, m);
    size_t wa = plane_work(&a, n), wb = plane_work(&b, n);
    return wa > wb ? wa : wb;
}

void nn_wconv_forward(const nn_conv_geom *g, int F, int m, const float *w, const float *bias,
                      nn_act act, const float *x, int n, float *y, float *work,
                      nn_wconv_cache *cache)
{
    const plane q = fwd_plane(g, F, m);
    const float *U = kernel_u(&q, w, 0, cache, work, n);
    int relu = act == NN_ACT_RELU;
    wconv(&q, U, bias, relu, x, n, y, work);
    if (!relu && act != NN_ACT_LINEAR)
        nn_act_forward(act, y, (size_t)n * g->OH * g->OW, (size_t)F);
}

void nn_wconv_dw(const nn_conv_geom *g, int F, int m, const float *x, const float *dz, int n,
                 float *dw, float *work)
{
    const plane q = fwd_plane(g, F, m);
    const long tiles = tiles_of(&q, n);
    const int T = block_tiles(&q, tiles, DW_BLOCK_FLOATS), X = npos(&q), C = g->C;
    const size_t Cop = padded_co(&q);
    float *dU = work, *V = dU + (size_t)X * C * Cop, *Zt = V + (size_t)X * T * C;
    float *zeros = Zt + (size_t)X * T * Cop;
    if (tiles < 1)
        return;
    float *E = zeros + 2 * (C + Cop);
    long erow = -1;
    memset(zeros, 0, (size_t)(C + Cop) * sizeof *zeros);
    for (long t0 = 0; t0 < tiles; t0 += T) {
        int nt = tiles - t0 < T ? (int)(tiles - t0) : T;
        input_transform(&q, x, t0, nt, zeros, V, E, &erow);
        if (m == 2)
            zt_tf(&q, dz, t0, nt, zeros, Zt, 2);
        else
            zt_tf(&q, dz, t0, nt, zeros, Zt, 4);
        /* the first block sets dU (no pass to zero its a*a Ci Cop floats) */
        nn_wmm_dw(V, Zt, nt, X, C, (int)Cop, dU, t0 > 0);
    }
    if (m == 2)
        dw_back(dU, C, F, Cop, dw, 2);
    else
        dw_back(dU, C, F, Cop, dw, 4);
}

void nn_wconv_dx(const nn_conv_geom *g, int F, int m, const float *w, const float *dz, int n,
                 float *dx, float *work, nn_wconv_cache *cache)
{
    const plane q = dx_plane(g, F, m);
    wconv(&q, kernel_u(&q, w, 1, cache, work, n), NULL, 0, dz, n, dx, work);
}
