/* The Winograd kernel transforms and the layer's cache of them
 * (conv_winograd_kernel.c), for conv_winograd.c. Internal to the library. */
#ifndef NNTRAIN_CONV_WINOGRAD_KERNEL_H
#define NNTRAIN_CONV_WINOGRAD_KERNEL_H

#include <stddef.h>

#include "layers/conv_winograd.h"

/* Co rounded up to whole vectors: the rows of U. */
size_t nn_wker_cop(int Co);

/* U[xi][ci][co] (a*a positions, Ci rows of nn_wker_cop(Co) floats, zero
 * past Co) = (G g G^T)[xi] of F(m x m, 3x3) for the 3x3 kernel g of (ci,
 * co): the forward's (dx 0: w (3, 3, Ci, Co)) or dx's (dx 1: w (3, 3, Co,
 * Ci), rotated by 180 degrees and transposed in its channels). scratch:
 * sfl floats, at least (9 + a*a) nn_wker_cop(Co). */
void nn_wker_transform(int m, int Ci, int Co, const float *w, int dx, float *scratch,
                       size_t sfl, float *U);

/* The cache's forward (dx 0) or dx transform of w, made now if it does not
 * hold it. Calls on the same weights may run at once. */
const float *nn_wker_cached(nn_wconv_cache *cache, const float *w, int dx);

#endif
