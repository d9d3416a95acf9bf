/* Owns the mixed-precision policy (policy.h, nn_model_force_bf16): which
 * spec calls set it, the names Keras gives policies, and the command line's
 * override. Only "mixed_bfloat16" changes anything: its products run on
 * bf16-rounded operands (core/gemm_bf16.h); "mixed_float16" is refused,
 * fp16 products having no fast path on a CPU. */
#include <string.h>

#include "nntrain/args.h"
#include "nntrain/model.h"
#include "train/policy.h"

static int forced = -1;

void nn_model_force_bf16(int on)
{
    forced = on < 0 ? -1 : !!on;
}

int nn_policy_forced(void)
{
    return forced;
}

int nn_policy_is_call(const nn_call *c)
{
    if (!strcmp(c->fn, "set_global_policy"))
        return 1;
    return !strcmp(c->fn, "set_policy") && c->qual && strstr(c->qual, "mixed_precision");
}

int nn_policy_from_call(const nn_call *c, int *bf16, nn_error *e)
{
    static const char *const names[] = {"policy", NULL};
    char w[300];
    const char *fn = c->qual ? c->qual : c->fn;
    nn_args a;
    int rc = nn_args_bind(&a, c, names, NULL, e);
    if (rc)
        return rc;
    const nn_value *v = nn_args_get(&a, "policy");
    /* Policy("mixed_bfloat16") / mixed_precision.Policy(name = "...") */
    if (v && v->kind == NN_V_CALL && (!strcmp(v->call->fn, "Policy") ||
                                      !strcmp(v->call->fn, "DTypePolicy")) &&
        v->call->nargs == 1 && (!v->call->keys[0] || !strcmp(v->call->keys[0], "name")))
        v = &v->call->vals[0];
    if (!v || v->kind != NN_V_STR)
        return nn_err(e, NN_EINVAL, "%s: %s() takes a policy name: \"mixed_bfloat16\" or "
                      "\"float32\"", nn_value_where(c, v, w, sizeof w), fn);
    if (!strcmp(v->str, "mixed_bfloat16") || !strcmp(v->str, "float32")) {
        *bf16 = v->str[0] == 'm';
        return NN_OK;
    }
    if (!strcmp(v->str, "mixed_float16") || !strcmp(v->str, "float16"))
        return nn_err(e, NN_EINVAL, "%s: %s(\"%s\"): float16 products are for GPUs; on a CPU "
                      "use \"mixed_bfloat16\" (bf16 with fp32 sums, fast with AVX512_BF16) or "
                      "\"float32\"", nn_value_where(c, v, w, sizeof w), fn, v->str);
    return nn_err(e, NN_EINVAL, "%s: %s(): unknown policy \"%s\" (known: \"mixed_bfloat16\", "
                  "\"float32\")", nn_value_where(c, v, w, sizeof w), fn, v->str);
}
