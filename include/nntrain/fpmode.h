/* Denormal floats: flushed to zero inside the compute kernels, as
 * TensorFlow (so Keras) does on CPU. A saturated sigmoid or softmax makes
 * gradients of 1e-40 and smaller; arithmetic on such subnormal values takes
 * a microcode assist, and a Dense backward was measured 8x slower
 * (400 ms against 52 ms per step on the Rick dense model). */
#ifndef NNTRAIN_FPMODE_H
#define NNTRAIN_FPMODE_H

/* Sets flush-to-zero and denormals-are-zero on the calling thread and
 * returns the previous mode for nn_fp_leave (no-op where unsupported). */
unsigned nn_fp_enter(void);
void nn_fp_leave(unsigned old);

#endif
