/* A layer is a const vtable (nn_layer_ops) plus an instance (nn_layer) with
 * private state. Conventions:
 *  - Tensors are row-major with the batch first: x is (B, in), y is (B, out),
 *    images NHWC. Parameters are views into the model's flat buffer at
 *    param_off; the gradient buffer has the same offsets.
 *  - forward/backward never allocate: plan() sizes saved state for batch_max
 *    and reports the workspace it needs; the model hands one shared workspace
 *    (the max over layers) in ctx->work.
 *  - backward receives dL/dy in dy (scratch: it may be overwritten), writes
 *    the true dL/dx into dx (overwrite, beta = 0; dx == NULL for the first
 *    layer: skip it) and ACCUMULATES into the parameter gradients g.
 *  - If l->dy_is_preact is set (the model fused softmax/sigmoid with a
 *    cross-entropy loss, or a ReLU with the max pooling above it), dy is
 *    already dL/dz: skip the activation derivative.
 *  - x or y may be NULL in backward when ops->bwd_skips says it is not read
 *    (the model then keeps that activation only for the forward pass). */
#ifndef NNTRAIN_LAYER_H
#define NNTRAIN_LAYER_H

#include <stddef.h>
#include <stdint.h>

#include "nntrain/activation.h"
#include "nntrain/error.h"
#include "nntrain/init.h"
#include "nntrain/rng.h"
#include "nntrain/args.h"
#include "nntrain/regularizer.h"
#include "nntrain/tensor.h"

struct nn_layer;

typedef struct nn_ctx {
    int training;                 /* 1 in fit, 0 in evaluate/predict */
    uint64_t seed;                /* run seed */
    uint64_t epoch;
    const uint64_t *sample_ids;   /* (B) dataset index of each row: RNG keys */
    int row0;                     /* first row of this call in the planned batch:
                                     saved per-row state starts there (a compute
                                     thread runs rows [row0, row0 + B)) */
    float *work;                  /* shared workspace */
    size_t work_bytes;
    /* NULL, or v (n doubles) := its sum over the ranks of a distributed
     * run (whole_batch layers' statistics) */
    int (*allsum)(void *arg, double *v, int n);
    void *allsum_arg;
    /* Deterministic training (train/fit_det.c): NULL, or a Dense layer's
     * backward offers it its rows' x and dz (after the activation's
     * derivative); when it returns 1 the caller adds the kernel gradient
     * itself, exactly, after the pass, and the layer skips dW += x^T dz
     * (its bias gradient and dx as usual). det_zero clears a chunk's
     * gradient buffer except what det_keep takes. */
    int (*det_keep)(void *arg, const struct nn_layer *l, const float *x, const float *dz,
                    int row0, int n);
    void (*det_zero)(void *arg, int chunk, float *grads);
    /* NULL, or where a Dense layer's deterministic forward over rows
     * [row0, row0 + n) puts each row's largest |x| as float bits (for
     * det_keep, which then need not read x again); NULL from it: not
     * wanted. */
    uint32_t *(*det_xmax)(void *arg, const struct nn_layer *l, int row0, int n);
    void *det_arg;
    int det;                      /* a deterministic pass (exec_det.c): a chunk's
                                     rows, same bits wherever it runs */
} nn_ctx;

typedef struct nn_param_spec {
    char name[32];                /* "kernel:0", "recurrent_kernel:0" (Keras names) */
    int ndim;
    int dims[4];                  /* Dense (in, out); Conv2D HWIO */
    size_t off;                   /* offset inside the layer's block */
} nn_param_spec;

#define NN_MAX_PARAM_SPECS 4

typedef struct nn_layer nn_layer;

/* nn_layer_ops.bwd_skips: what a layer's backward never reads. */
enum {
    NN_SKIPS_X = 1,       /* its input x */
    NN_SKIPS_Y = 2,       /* its output y (unless l->mask_relu) */
    NN_SKIPS_Y_ACT = 4    /* y, when the activation is linear or dy_is_preact */
};

/* Optional: activation fusion. The model moves an activation's derivative
 * out of the layer that owns it (l->dy_is_preact): into a fused loss
 * (softmax/sigmoid + cross-entropy) or into the max pooling above a ReLU. */
typedef struct nn_layer_fusion {
    /* forward ends with l->act (set by create: "activation") and backward
     * skips its derivative when l->dy_is_preact is set (Dense, Conv2D,
     * Conv2DTranspose, Activation) */
    int act;
    /* max(relu(x)) == relu(max(x)) and backward honours l->mask_relu, so a
     * ReLU below can hand its derivative to this layer (max pooling) */
    int commutes_relu;
    /* 1: the layer is its activation alone, y = act(x) elementwise when
     * l->act is not linear (Activation, Softmax, a plain ReLU): attribution
     * (nntrain/attribution.h) reads x as the pre-activation */
    int pure;
} nn_layer_fusion;

/* Optional team mode, for a layer whose weights outweigh a thread's rows (a
 * wide Dense): a rank's T compute threads run it together over all B rows,
 * thread t taking a slice [k0, k1) of the input features, so the kernel's
 * gradient falls into disjoint slices (no per-thread copies to zero and add)
 * and each product has all the rows. split returns the number of input
 * features to split, or 0 when it is not worth it at T threads. Between the
 * model's barriers:
 *  forward   part (this thread's; B x out floats) := the product of x's
 *            features [k0, k1) with their kernel rows (work: the thread's
 *            workspace of the plan's size, for bf16 packing);
 *  finish    rows [r0, r0 + n) of y := the sum of the T parts in order, plus
 *            bias, activated;
 *  dz        n rows: dz := dL/dz from dy (dy is scratch);
 *  backward  the gradient of kernel rows [k0, k1) += over all B rows of dz;
 *            dx columns [k0, k1) (dx NULL: none; row stride: the input
 *            width); the bias gradient when bias is set (one thread does it);
 *            work as in forward. */
typedef struct nn_layer_team_ops {
    int (*split)(const nn_layer *l, int T);
    void (*forward)(nn_layer *l, const float *p, const float *x, float *part, int B, int k0,
                    int k1, void *work);
    void (*finish)(nn_layer *l, const float *p, float *const *parts, int T, float *y, int r0,
                   int n, int B);
    void (*dz)(nn_layer *l, const float *y, float *dy, float *dz, int n);
    void (*backward)(nn_layer *l, const float *p, float *g, const float *x, const float *dz,
                     float *dx, int B, int k0, int k1, int bias, void *work);
    /* Deterministic mode's team (exec_det.c; NULL: none), where every
     * element keeps the bits of the layer's own forward and det_dx, so the
     * split never shows in them:
     *  det_cols    columns [j0, j1) of y := x times the kernel's columns, all
     *              B rows (before bias and activation);
     *  det_finish  rows [r0, r0 + n) of y (y: row r0's): the rest of forward;
     *  det_dx      columns [k0, k1) of dx for nb blocks of rows: dz[b] and
     *              dx[b] hold n[b] rows (row strides: the widths), dx[b]
     *              at the block's column k0. */
    void (*det_cols)(nn_layer *l, const float *p, const float *x, float *y, int B, int j0,
                     int j1);
    void (*det_finish)(nn_layer *l, const float *p, float *y, int r0, int n);
    void (*det_dx)(nn_layer *l, const float *p, int nb, const int *n, const float *const *dz,
                   float *const *dx, int k0, int k1);
} nn_layer_team_ops;

/* A layer's kernel drawn as one image per unit (nntrain analyze): the
 * (tile size, units) matrix at off in the layer's parameter block. */
typedef struct nn_weight_image {
    nn_shape tile;        /* (H, W, C) of one image */
    int units;            /* images */
    size_t off;           /* of the kernel in the layer's block */
    const char *what;     /* "units" or "filters", for the caption */
} nn_weight_image;

/* Optional: what reports show of a layer (each member may be NULL). */
typedef struct nn_layer_info_ops {
    /* Multiply-adds per sample of the forward pass (nntrain bench counts 2
     * FLOPs each; its backward twice that, dx and dW). */
    double (*macs)(const nn_layer *l);
    /* 1 and *wi filled when the kernel can be drawn as images: image is the
     * model's input as (H, W, C), or NULL when it is not an image. 0: no. */
    int (*weight_image)(const nn_layer *l, const nn_shape *image, nn_weight_image *wi);
} nn_layer_info_ops;

/* Optional: a merge layer (Add, Concatenate): several inputs, l->nin of
 * them with shapes l->ins[] (configure checks them; l->in is ins[0]). These
 * replace forward and backward, which such a layer leaves NULL. */
typedef struct nn_layer_merge_ops {
    int min_inputs;                   /* Keras: 2 for Add, 1 for Concatenate */
    /* xs[k] (B, ins[k]) -> y (B, out) */
    void (*forward)(nn_layer *l, const float *const *xs, float *y, int B, nn_ctx *ctx);
    /* dx (B, ins[k]) := dL/d(input k) given dy (B, out), which it only
     * reads; xs and y are the forward's inputs and output (Maximum reads
     * them, Add does not). Called once per input that wants a gradient. */
    void (*backward)(nn_layer *l, int k, const float *const *xs, const float *y,
                     const float *dy, float *dx, int B, nn_ctx *ctx);
} nn_layer_merge_ops;

/* Optional for a whole_batch layer: its passes split over the compute
 * threads. Each thread gathers partial sums over its own rows; between
 * barriers thread 0 adds them in thread order and finishes the statistics
 * (the ranks' allsum included); then each thread applies them to its rows.
 * rows: a thread's row count; B: the call's (all threads'). forward and
 * backward above must give the same result run over all rows at once. */
typedef struct nn_layer_batch_ops {
    int (*nsums)(const nn_layer *l);  /* doubles in a partial */
    /* reduction phases of a forward (0: no statistics, e.g. inference) */
    int (*fwd_phases)(const nn_layer *l, const nn_ctx *ctx);
    void (*fwd_partial)(nn_layer *l, int phase, const float *x, int rows, double *part);
    /* phase -1 when fwd_phases is 0: only sets up the apply step */
    void (*fwd_reduce)(nn_layer *l, float *p, int phase, double *sum, int B, nn_ctx *ctx);
    void (*fwd_apply)(nn_layer *l, const float *p, const float *x, float *y, int rows);
    void (*bwd_partial)(nn_layer *l, const float *x, const float *dy, int rows, double *part);
    /* adds the parameter gradients to g; want_dx: the apply step follows */
    void (*bwd_reduce)(nn_layer *l, const float *p, float *g, double *sum, int B, int want_dx,
                       nn_ctx *ctx);
    void (*bwd_apply)(nn_layer *l, const float *x, const float *dy, float *dx, int rows);
    /* 1: the statistics are of this rank's rows only (BatchNormalization's
     * synchronized=False), so they change with the number of ranks */
    int (*per_rank)(const nn_layer *l);
} nn_layer_batch_ops;

typedef struct nn_layer_ops {
    const char *kind;                 /* Keras class name: "Dense" */
    const char *const *arg_names;     /* positional order, NULL-terminated;
                                         the model also binds "input_shape",
                                         "name" and "trainable" */
    const char *const *arg_aliases;   /* NULL or {"alias", "name", ..., NULL} */
    /* Reads options from a (already bound to arg_names) into l->priv. */
    int (*create)(nn_layer *l, nn_args *a, nn_error *e);
    /* l->in is set: check it, set l->out and l->param_len. */
    int (*configure)(nn_layer *l, nn_error *e);
    /* Fills specs (at most NN_MAX_PARAM_SPECS); returns their count. */
    int (*param_specs)(const nn_layer *l, nn_param_spec *specs);
    /* Keras default initialisation of the layer's block p. */
    void (*init_params)(nn_layer *l, float *p, nn_rng *rng);
    /* Allocates saved state for up to batch_max rows; *work_bytes receives the
     * shared workspace this layer needs. NULL = nothing to plan. */
    int (*plan)(nn_layer *l, int batch_max, size_t *work_bytes, nn_error *e);
    /* x (B, in) -> y (B, out); p is the layer's parameter block. */
    void (*forward)(nn_layer *l, const float *p, const float *x, float *y, int B,
                    nn_ctx *ctx);
    /* See the conventions above. x and y are the forward's input and output. */
    void (*backward)(nn_layer *l, const float *p, float *g, const float *x,
                     const float *y, float *dy, float *dx, int B, nn_ctx *ctx);
    void (*destroy)(nn_layer *l);     /* frees priv and saved state; may be NULL */
    /* Deterministic mode, NULL unless the layer has it: dx (B, in) := dL/dx
     * from the dz (B, out) its backward left in dy, each row's bits
     * independent of B and of the other rows, as are its forward's under
     * ctx->det. exec_det.c then runs forward over a thread's rows at once
     * and backward per chunk with dx NULL, then this over the thread's rows
     * (the layer's weights read once per thread, not once per chunk). */
    void (*det_dx)(nn_layer *l, const float *p, const float *dz, float *dx, int B);
    /* Optional: an optimizer step has changed p; remake now what the layer
     * derives from it (Conv2D's Winograd kernels). The step's threads share
     * the layers out, one thread per layer. */
    void (*refresh)(nn_layer *l, const float *p);

    /* What the model's planner may rely on (0: nothing special). */
    /* 1: y is x reshaped (Flatten). The model then passes y == x and
     * dx == dy, so forward and backward have nothing to copy. */
    int reshape;
    unsigned bwd_skips;               /* NN_SKIPS_* bits; 0: reads x and y */
    /* 1: forward and backward need statistics of the whole batch
     * (BatchNormalization): the executor calls them once over all B rows,
     * never per thread slice or cache chunk. */
    int whole_batch;
    /* 1: the input is integer ids (Embedding): backward has no dL/dx (it
     * writes zeros), so nothing can be attributed to the input */
    int no_dx;

    /* Optional capabilities; NULL: the layer has none. */
    const nn_layer_fusion *fusion;
    const nn_layer_team_ops *team;
    const nn_layer_info_ops *info;
    const nn_layer_merge_ops *merge;
    const nn_layer_batch_ops *batch;
} nn_layer_ops;

/* Inputs of one layer (merge layers take several). */
#define NN_MAX_INPUTS 16

struct nn_layer {
    const nn_layer_ops *ops;
    char name[64];                /* Keras-style: "dense", "dense_1", "conv2d" */
    int index;                    /* position in the model: RNG key */
    nn_shape in, out;             /* per-sample shapes (in: of input 0) */
    /* The graph: the layers whose outputs are this layer's inputs (-1: the
     * model's input), in topological order (inp[k] < index). A Sequential
     * layer has nin 1 and inp[0] == index - 1. */
    int nin;
    int inp[NN_MAX_INPUTS];
    nn_shape ins[NN_MAX_INPUTS];  /* their shapes (ins[0] == in) */
    size_t param_off, param_len;  /* block in the flat buffers */
    int trainable;
    size_t frozen_len;            /* the block's last frozen_len floats are
                                     never trained (moving statistics): not
                                     stepped, counted as non-trainable */
    nn_act act;                   /* its fused activation (ops->fusion->act) */
    int dy_is_preact;             /* set by the model: fused losses, and a
                                     ReLU whose max pooling applies it */
    int rowwise;                  /* set by configure: forward and backward
                                     read the weights once per row anyway (the
                                     direct convolution), so a pass over a few
                                     rows costs nothing more */
    int mask_relu;                /* set by the model: backward keeps dx only
                                     where y > 0 (the ReLU derivative of the
                                     layer below, whose dy_is_preact is set) */
    nn_reg reg[NN_REG_ROLES];     /* *_regularizer options, by role (set by
                                     nn_layer_create; weights of a role the
                                     layer lacks are refused by
                                     nn_layer_check_regs) */
    int bf16;                     /* set by the model before configure: the
                                     mixed_bfloat16 policy, Dense and Conv2D
                                     products on bf16-rounded operands with
                                     fp32 sums (core/gemm_bf16.h) */
    float *z;                     /* (batch_max, out) pre-activation kept by
                                     plan() only for an activation whose
                                     derivative needs it (gelu, swish) */
    void *priv;
};

/* Instruction set of the hand-written convolution kernels ("avx512",
 * "avx2" or "generic"), chosen from the CPU at the first use, or from
 * NNTRAIN_ISA. */
const char *nn_layer_isa(void);

/* How Conv2D layers with a 3x3, stride-1 kernel and at least 8 filters
 * convolve: the direct kernels (the default and the reference), Winograd
 * F(2x2, 3x3) or F(4x4, 3x3) (fewer multiplies, larger rounding errors;
 * README "Winograd"), or auto (Winograd where it was measured faster). Read
 * when a layer is configured; until nn_conv_set_algo is called,
 * NNTRAIN_CONV_ALGO sets it (an unknown value warns and keeps direct). */
typedef enum nn_conv_algo {
    NN_CONV_ALGO_DIRECT,
    NN_CONV_ALGO_WINOGRAD,
    NN_CONV_ALGO_AUTO,
    NN_CONV_ALGO_WINOGRAD4
} nn_conv_algo;
/* "direct", "winograd", "winograd4" or "auto" -> *a; -1 (and *a untouched)
 * otherwise. */
int nn_conv_algo_parse(const char *s, nn_conv_algo *a);
const char *nn_conv_algo_name(nn_conv_algo a);
void nn_conv_set_algo(nn_conv_algo a);
nn_conv_algo nn_conv_get_algo(void);

/* Registry (src/layers/registry.c). */
const nn_layer_ops *nn_layer_find(const char *kind);  /* also R names: layer_dense */
/* "Dense, Conv2D, ..." for "unknown layer" messages. */
const char *nn_layer_known(void);
/* The i-th layer kind's Keras class name (r_name 0) or R keras function
 * (r_name 1); NULL past the last. For "did you mean" suggestions. */
const char *nn_layer_name_at(int i, int r_name);

/* Creates a layer from a parsed call: binds arguments, runs ops->create.
 * input_shape (if given) is stored in input_shape, and has_input is set. */
int nn_layer_create(nn_layer *l, const nn_call *c, nn_shape *input_shape,
                    int *has_input, nn_error *e);
void nn_layer_destroy(nn_layer *l);

/* After configure: every regularizer set names a weight the layer has (a
 * bias_regularizer with use_bias=False is ignored, as Keras does). */
int nn_layer_check_regs(const nn_layer *l, nn_error *e);

#endif
