/* Keras's mixed-precision policy in a spec: set_global_policy("mixed_bfloat16")
 * (policy.c). Private to src/train (model_build.c). */
#ifndef NNTRAIN_POLICY_H
#define NNTRAIN_POLICY_H

#include "nntrain/spec.h"

/* 1 when c sets the global policy: mixed_precision.set_global_policy(...),
 * R's keras$mixed_precision$set_global_policy(...), TF 2.1-2.3's
 * mixed_precision.experimental.set_policy(...). */
int nn_policy_is_call(const nn_call *c);

/* Reads the policy of such a call: "mixed_bfloat16" (*bf16 = 1), "float32"
 * (0), a Policy("...") object as well; "mixed_float16" and anything else
 * are errors naming the spec location. */
int nn_policy_from_call(const nn_call *c, int *bf16, nn_error *e);

/* The --precision override (nn_model_force_bf16): -1 when none. */
int nn_policy_forced(void);

#endif
