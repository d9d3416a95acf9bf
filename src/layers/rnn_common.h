/* What SimpleRNN and LSTM share (rnn_common.c). Both read an input (T, D)
 * with a kernel W (D, G), a recurrent kernel U (units, G) and a bias b (G),
 * G = gates * units, stored in that order; the output is h_T (units,) or,
 * with return_sequences, every h_t (T, units) in processing order.
 * Internal to the library. */
#ifndef NNTRAIN_RNN_COMMON_H
#define NNTRAIN_RNN_COMMON_H

#include <stddef.h>

#include "nntrain/layer.h"

typedef struct nn_rnn {
    int D, T, units, gates;    /* gates: 1 (SimpleRNN) or 4 (LSTM) */
    int use_bias, return_sequences, go_backwards;
    nn_init kinit, rinit, binit;
    size_t rows;               /* batch_max planned for */
} nn_rnn;

/* create(), in this order around the layer's own options: units (required,
 * positive); use_bias and the three initialisers; then return_sequences,
 * go_backwards, unroll (a speed hint) and the options accepted only at their
 * defaults (return_state, stateful, dropout, recurrent_dropout). */
int nn_rnn_bind_units(nn_layer *l, nn_args *a, nn_rnn *r, nn_error *e);
int nn_rnn_bind_weights(nn_layer *l, nn_args *a, nn_rnn *r, nn_error *e);
int nn_rnn_bind_sequence(nn_layer *l, nn_args *a, nn_rnn *r, nn_error *e);

/* configure(): checks the (T, D) input, sets l->out and l->param_len. */
int nn_rnn_configure(nn_layer *l, nn_rnn *r, nn_error *e);
/* kernel:0, recurrent_kernel:0, bias:0 as Keras names them. */
int nn_rnn_param_specs(const nn_rnn *r, nn_param_spec *specs);
/* W, U, then b (an orthogonal bias is zeros, as Keras refuses a 1-D one);
 * forget_ones: b is init(units), ones(units), init(rest) (LSTM). */
void nn_rnn_init_params(const nn_rnn *r, float *p, int forget_ones, nn_rng *rng);

/* Input time index processed at step s. */
static inline int nn_rnn_tidx(const nn_rnn *r, int s)
{
    return r->go_backwards ? r->T - 1 - s : s;
}

/* Row b's dL/dh from the output at step s, or NULL if h is not an output. */
static inline const float *nn_rnn_dy_row(const nn_rnn *r, const float *dy, int b, int s)
{
    if (r->return_sequences)
        return dy + (size_t)b * r->T * r->units + (size_t)s * r->units;
    return s == r->T - 1 ? dy + (size_t)b * r->units : NULL;
}

/* Z (B*T, G) = x W + b over all rows at once. */
void nn_rnn_input_gemm(const nn_rnn *r, const float *p, const float *x, float *Z, int B);
/* y from H (B, T, units), kept in input time order. */
void nn_rnn_output(const nn_rnn *r, const float *H, float *y, int B);
/* From dZ (B, T, G) and H: dW += X^T dZ, dU += sum_t h_{t-1}^T dz_t,
 * db += sums of dZ, dx = dZ W^T (dx may be NULL). */
void nn_rnn_grads(const nn_rnn *r, const float *p, float *g, const float *x,
                  const float *H, const float *dz, float *dx, int B);

#endif
