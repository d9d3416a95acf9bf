/* Owns the batched products of the Winograd convolutions (see
 * conv_winograd.h): per tile position, (tiles x Ci) (Ci x Co) for the
 * forward and dx, and the sum over tiles of (Ci x tiles) (tiles x Co) for
 * dW, by register tiles as conv_direct.c's: broadcasts of one operand times
 * vectors of the other, P rows of one or two vectors at a time. */
#include "layers/conv_winograd_mm.h"

#include <stddef.h>

#include "core/simd.h"

#if NN_VL == 16
#define PMAX 14    /* 28 accumulators + 2 kernel vectors + 1 broadcast of 32 */
#define PMAX1 28   /* one kernel vector: 28 + 1 + 1 */
#else
#define PMAX 6     /* 12 + 2 + 1 of 16 registers */
#define PMAX1 12
#endif
#define VL NN_VL

/* The tile's rows as separate variables (conv_direct.c: GCC kept an array
 * of accumulators in memory). */
#define ROWS(M)                                                                         \
    M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11) M(12) M(13) M(14)     \
    M(15) M(16) M(17) M(18) M(19) M(20) M(21) M(22) M(23) M(24) M(25) M(26) M(27)
#define DECL(p) vf a##p##0 = zero, a##p##1 = zero;

/* m[p*ldm + v*VL + lane] (+)= sum over k < K of v[p*ldv + k*ksv] *
 * u[k*ldu + v*VL + lane] for p < P, v < FV: P rows (tiles, or input
 * channels for dW) times FV vectors of output channels; acc adds to m. */
INLINE void mm_tile(const float *v, size_t ldv, size_t ksv, const float *u, size_t ldu, int K,
                    float *m, size_t ldm, int acc, const int P, const int FV)
{
    const vf zero = {0};
    ROWS(DECL)
    if (acc) {
#define LOADM(p)                                                                          \
    if (p < P) {                                                                          \
        a##p##0 = vload(m + (size_t)p * ldm);                                             \
        if (FV > 1)                                                                       \
            a##p##1 = vload(m + (size_t)p * ldm + VL);                                    \
    }
        ROWS(LOADM)
#undef LOADM
    }
    for (int k = 0; k < K; k++) {
        const float *vk = v + (size_t)k * ksv;
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

#if NN_VL == 16
#define SIZES2(M) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11) M(12) M(13) M(14)
#define SIZES1(M)                                                                       \
    SIZES2(M) M(15) M(16) M(17) M(18) M(19) M(20) M(21) M(22) M(23) M(24) M(25) M(26)     \
    M(27) M(28)
#else
#define SIZES2(M) M(1) M(2) M(3) M(4) M(5) M(6)
#define SIZES1(M) SIZES2(M) M(7) M(8) M(9) M(10) M(11) M(12)
#endif

/* mm_tile over rows rows (rows past the first in steps of ldv, and of ldm
 * in m) in groups of P, FV vectors wide; returns the rows done (a whole
 * number of groups). One call runs many groups: the products here are
 * short (K of 16 to 64), and a call per group cost a quarter of them. */
#define MM_LOOP(P_, FV_)                                                                \
    case P_:                                                                            \
        for (; r + P_ <= rows; r += P_)                                                 \
            mm_tile(v + (size_t)r * ldv, ldv, ksv, u, ldu, K, m + (size_t)r * ldm, ldm,  \
                    acc, P_, FV_);                                                      \
        break;
#define MM_LOOP1(P_) MM_LOOP(P_, 1)
#define MM_LOOP2(P_) MM_LOOP(P_, 2)

static int mm_groups(int P, int FV, int rows, const float *v, size_t ldv, size_t ksv,
                     const float *u, size_t ldu, int K, float *m, size_t ldm, int acc)
{
    int r = 0;
    if (FV == 1)
        switch (P) {
            SIZES1(MM_LOOP1)
        default: break;
        }
    else
        switch (P) {
            SIZES2(MM_LOOP2)
        default: break;
        }
    return r;
}

/* m (rows x FV vectors) (+)= the product as mm_tile, the rows split into
 * groups as even as the register tile allows (16 = 8 + 8, not 14 + 2). */
static void mm_rows(int rows, int FV, const float *v, size_t ldv, size_t ksv, const float *u,
                    size_t ldu, int K, float *m, size_t ldm, int acc)
{
    const int pmax = FV == 1 ? PMAX1 : PMAX, groups = (rows + pmax - 1) / pmax;
    if (rows < 1)
        return;
    int P = (rows + groups - 1) / groups;
    int r = mm_groups(P, FV, rows, v, ldv, ksv, u, ldu, K, m, ldm, acc);
    if (r < rows)
        mm_groups(rows - r, FV, rows - r, v + (size_t)r * ldv, ldv, ksv, u, ldu, K,
                  m + (size_t)r * ldm, ldm, acc);
}

/* M[t][xi] (nt, Cop) = V[t][xi] (nt, Ci) U[xi] (Ci, Cop) for each of the X
 * positions xi; Cop, a whole number of vectors, is U's and M's row (zero
 * columns past Co). */
void nn_wmm_forward(const float *V, int nt, int X, int Ci, const float *U, int Cop, float *M)
{
    const size_t ldv = (size_t)X * Ci, ldm = (size_t)X * Cop;
    for (int xi = 0; xi < X; xi++) {
        const float *u = U + (size_t)xi * Ci * Cop;
        for (int f0 = 0; f0 < Cop; f0 += 2 * VL) {   /* U's block stays in L1 */
            int FV = Cop - f0 >= 2 * VL ? 2 : 1;
            mm_rows(nt, FV, V + (size_t)xi * Ci, ldv, 1, u + f0, (size_t)Cop, Ci,
                    M + (size_t)xi * Cop + f0, ldm, 0);
        }
    }
}

/* dU[xi] (Ci x Cop) (+ if acc)= V[.][xi]^T Zt[.][xi] over the nt tiles of a block:
 * rows are input channels, vectors output channels, the sum runs over
 * tiles. */
void nn_wmm_dw(const float *V, const float *Zt, int nt, int X, int Ci, int Cop, float *dU,
               int acc)
{
    const size_t ksv = (size_t)X * Ci, ldz = (size_t)X * Cop;
    for (int xi = 0; xi < X; xi++)
        for (int f0 = 0; f0 < Cop; f0 += 2 * VL) {
            int FV = Cop - f0 >= 2 * VL ? 2 : 1;
            mm_rows(Ci, FV, V + (size_t)xi * Ci, 1, ksv, Zt + (size_t)xi * Cop + f0, ldz, nt,
                    dU + (size_t)xi * Ci * Cop + f0, (size_t)Cop, acc);
        }
}
