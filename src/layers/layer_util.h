/* Helpers shared by the layer implementations (src/layers/layer.c): names
 * and option errors in messages, and the options several layers take, each
 * bound by one helper so every layer reads it the same way (case, defaults,
 * messages). Internal to the library, not a public header. */
#ifndef NNTRAIN_LAYER_UTIL_H
#define NNTRAIN_LAYER_UTIL_H

#include <stddef.h>

#include "nntrain/layer.h"

/* "Conv2D 'conv2d_1'" once the layer has a name, else its kind "Conv2D". */
const char *nn_layer_who(const nn_layer *l, char *buf, size_t len);

/* "a, b, c" from a NULL-terminated list, for "expected one of" messages. */
void nn_join_names(const char *const *names, char *buf, size_t len);

/* An option error at the value's path:line:col (the call's when the
 * argument is absent): "where: Kind 'name': <fmt>". Returns code. */
int nn_layer_arg_err(const nn_layer *l, const nn_args *a, const char *name, nn_error *e,
                     int code, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* "<name>: expected positive integers, found (a, b)" unless both are >= 1. */
int nn_layer_check_pair(const nn_layer *l, const nn_args *a, const char *name,
                        const int v[2], nn_error *e);
/* An activation option (name: "activation", "recurrent_activation"): a
 * Keras name, case-sensitive as in Keras; absent: def (NULL: linear); None:
 * linear. Else "where: Kind: unknown <name> '<value>' (known: ...)". */
int nn_layer_bind_act(const nn_layer *l, nn_args *a, const char *name, const char *def,
                      nn_act *out, nn_error *e);

/* Initialiser kinds a layer accepts, as bits (1u << NN_INIT_*): the common
 * six, plus orthogonal (recurrent layers) or uniform (Embedding). */
#define NN_INITS_COMMON ((1u << NN_INIT_ORTHOGONAL) - 1u)
/* An initialiser option (name: "kernel_initializer", ...): any spelling
 * nn_init_parse takes (case-insensitive, snake_case or class name) of a kind
 * in accept; absent or None: def. Else "where: Kind: unknown <name>
 * '<value>' (known: <the accepted snake_case names>)". */
int nn_layer_bind_init(const nn_layer *l, nn_args *a, const char *name, nn_init def,
                       unsigned accept, nn_init *out, nn_error *e);

/* padding="valid" (default) or "same": *same = 1 for "same". */
int nn_layer_bind_padding(const nn_layer *l, nn_args *a, int *same, nn_error *e);
/* data_format: only "channels_last" (the default) is accepted. */
int nn_layer_bind_channels_last(const nn_layer *l, nn_args *a, nn_error *e);

/* Activations that need the pre-activation (nn_act_needs_z: gelu, swish) in
 * a layer that applies l->act itself: its kernels apply nn_act_inner(l->act)
 * (linear), then the layer calls these on its output rows.
 * plan(): allocates l->z for batch_max samples when l->act needs z (else
 * frees it). */
int nn_layer_plan_z(nn_layer *l, int batch_max, nn_error *e);
/* forward: y holds B samples (starting at sample row0 of the planned batch)
 * of pre-activations; keeps them in l->z and applies l->act. No-op unless
 * l->act needs z. */
void nn_layer_act_keep(nn_layer *l, float *y, int row0, int B);
/* backward: dy := dL/dz for those samples from the kept z. No-op unless
 * l->act needs z, or when l->dy_is_preact. */
void nn_layer_act_grad_z(const nn_layer *l, float *dy, int row0, int B);

/* create(): l->priv = a heap copy of the size bytes at state. */
int nn_layer_keep(nn_layer *l, const void *state, size_t size, nn_error *e);

/* configure(): the input must be an image (height, width, channels). */
int nn_layer_need_image(const nn_layer *l, nn_error *e);

/* ops->fusion of a layer that applies its own activation l->act. */
extern const nn_layer_fusion nn_layer_fuses_act;
/* The same for a layer that is only its activation (fusion.pure). */
extern const nn_layer_fusion nn_layer_is_act;

/* param_specs / init_params of a layer without parameters. */
int nn_layer_no_param_specs(const nn_layer *l, nn_param_spec *specs);
void nn_layer_no_init_params(nn_layer *l, float *p, nn_rng *rng);

#endif
