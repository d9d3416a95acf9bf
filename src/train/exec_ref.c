/* The serial reference executor (exec.h): what nn_model_forward and
 * nn_model_backward compute, as plainly as it can be written. One thread,
 * every layer over all B rows, every output kept whole; backward from the
 * last layer down to the first one that needs a gradient. exec.c makes the
 * same layer calls, split into row slices, cache chunks and team layers;
 * tests compare the two. */
#include <stdlib.h>

#include "nntrain/fpmode.h"
#include "train/exec.h"

int nn_model_plan_ref(nn_model *m, nn_error *e)
{
    nn_exec *ex = m->exec;
    if (!ex || !ex->batch_max)
        return nn_err(e, NN_EINVAL, "reference executor: plan the model first (nn_model_plan)");
    if (ex->ref_acts)
        return NN_OK;
    size_t B = (size_t)ex->batch_max;
    if (!(ex->ref_acts = calloc((size_t)m->nlayers, sizeof *ex->ref_acts)))
        return nn_err(e, NN_ENOMEM, "out of memory for the reference executor");
    for (int i = 0; i < m->nlayers; i++) {
        const nn_layer *l = &m->layers[i];
        if (!l->ops->reshape &&
            !(ex->ref_acts[i] = malloc(B * nn_shape_size(&l->out) * sizeof(float))))
            return nn_err(e, NN_ENOMEM, "out of memory for the reference executor");
    }
    ex->ref_dbuf[0] = malloc(B * ex->dstride * sizeof(float));
    ex->ref_dbuf[1] = malloc(B * ex->dstride * sizeof(float));
    if (!ex->ref_dbuf[0] || !ex->ref_dbuf[1])
        return nn_err(e, NN_ENOMEM, "out of memory for the reference executor");
    return NN_OK;
}

const float *nn_model_layer_out_ref(const nn_model *m, const float *x, int i)
{
    while (i >= 0 && m->layers[i].ops->reshape)
        i--;
    return i < 0 ? x : m->exec->ref_acts[i];
}

const float *nn_model_forward_ref(nn_model *m, const float *x, int B, nn_ctx *ctx)
{
    unsigned fp = nn_fp_enter();
    ctx->work = m->exec->work;
    ctx->work_bytes = m->exec->work_bytes;
    for (int i = 0; i < m->nlayers; i++) {
        nn_layer *l = &m->layers[i];
        const float *in = nn_model_layer_out_ref(m, x, i - 1);
        float *y = l->ops->reshape ? (float *)in : m->exec->ref_acts[i];
        l->ops->forward(l, m->params + l->param_off, in, y, B, ctx);
    }
    nn_fp_leave(fp);
    return nn_model_layer_out_ref(m, x, m->nlayers - 1);
}

void nn_model_backward_ref(nn_model *m, const float *x, float *dout, int B, nn_ctx *ctx)
{
    unsigned fp = nn_fp_enter();
    ctx->work = m->exec->work;
    ctx->work_bytes = m->exec->work_bytes;
    int first = nn_exec_first_backward(m), flip = 0;
    float *dy = dout;   /* dL/d(output of layer i) */
    for (int i = m->nlayers - 1; i >= first; i--) {
        nn_layer *l = &m->layers[i];
        float *dx = i == first ? NULL : l->ops->reshape ? dy : m->exec->ref_dbuf[flip ^= 1];
        l->ops->backward(l, m->params + l->param_off, m->grads + l->param_off,
                         nn_model_layer_out_ref(m, x, i - 1), nn_model_layer_out_ref(m, x, i),
                         dy, dx, B, ctx);
        dy = dx;
    }
    nn_fp_leave(fp);
}
