/* Floating-point mode of the compute threads (see fpmode.h). */
#include "nntrain/fpmode.h"

#if defined(__SSE2__)
#include <immintrin.h>
#define FTZ_DAZ 0x8040u   /* MXCSR bits 15 (flush to zero) and 6 (denormals are zero) */

unsigned nn_fp_enter(void)
{
    unsigned old = _mm_getcsr();
    _mm_setcsr(old | FTZ_DAZ);
    return old;
}

void nn_fp_leave(unsigned old)
{
    _mm_setcsr(old);
}
#else
unsigned nn_fp_enter(void)
{
    return 0;
}

void nn_fp_leave(unsigned old)
{
    (void)old;
}
#endif
