/* The batched products of the Winograd convolutions (conv_winograd_mm.c),
 * on conv_winograd.c's tile-major layouts: V[t][xi][c] (tiles x a*a
 * positions x Ci), U[xi][c][f] and M[t][xi][f] with rows of Cop floats (a
 * whole number of vectors, zero past the output channels). Internal to the
 * library. */
#ifndef NNTRAIN_CONV_WINOGRAD_MM_H
#define NNTRAIN_CONV_WINOGRAD_MM_H

/* M[t][xi] (nt x Cop) = V[t][xi] (nt x Ci) U[xi] (Ci x Cop) for each of
 * the X positions xi. */
void nn_wmm_forward(const float *V, int nt, int X, int Ci, const float *U, int Cop, float *M);

/* dU[xi] (Ci x Cop) (+ if acc)= V[.][xi]^T Zt[.][xi] over the nt tiles
 * (Zt: as M). */
void nn_wmm_dw(const float *V, const float *Zt, int nt, int X, int Ci, int Cop, float *dU,
               int acc);

#endif
