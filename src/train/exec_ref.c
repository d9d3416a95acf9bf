/* The serial reference executor (exec.h): what nn_model_forward and
 * nn_model_backward compute, as plainly as it can be written. One thread,
 * every layer over all B rows, every output kept whole; backward from the
 * last layer down to the first one that needs a gradient. exec.c makes the
 * same layer calls, split into row slices, cache chunks and team layers;
 * tests compare the two. */
#include <stdlib.h>
#include <string.h>

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
    if (m->graph && !(ex->ref_dy = calloc((size_t)m->nlayers, sizeof *ex->ref_dy)))
        return nn_err(e, NN_ENOMEM, "out of memory for the reference executor");
    for (int i = 0; m->graph && i < m->nlayers; i++)
        if (!(ex->ref_dy[i] = malloc(B * nn_shape_size(&m->layers[i].out) * sizeof(float))))
            return nn_err(e, NN_ENOMEM, "out of memory for the reference executor");
    ex->ref_dbuf[0] = malloc(B * ex->dstride * sizeof(float));
    ex->ref_dbuf[1] = malloc(B * ex->dstride * sizeof(float));
    if (!ex->ref_dbuf[0] || !ex->ref_dbuf[1])
        return nn_err(e, NN_ENOMEM, "out of memory for the reference executor");
    return NN_OK;
}

const float *nn_model_layer_out_ref(const nn_model *m, const float *x, int i)
{
    while (i >= 0 && m->layers[i].ops->reshape)
        i = m->layers[i].inp[0];
    return i < 0 ? x : m->exec->ref_acts[i];
}

const float *nn_model_forward_ref(nn_model *m, const float *x, int B, nn_ctx *ctx)
{
    unsigned fp = nn_fp_enter();
    ctx->work = m->exec->work;
    ctx->work_bytes = m->exec->work_bytes;
    for (int i = 0; i < m->nlayers; i++) {
        nn_layer *l = &m->layers[i];
        const float *in = nn_model_layer_out_ref(m, x, l->inp[0]);
        float *y = l->ops->reshape ? (float *)in : m->exec->ref_acts[i];
        if (l->ops->merge) {
            const float *xs[NN_MAX_INPUTS];
            for (int k = 0; k < l->nin; k++)
                xs[k] = nn_model_layer_out_ref(m, x, l->inp[k]);
            l->ops->merge->forward(l, xs, y, B, ctx);
        } else {
            l->ops->forward(l, m->params + l->param_off, in, y, B, ctx);
        }
    }
    nn_fp_leave(fp);
    return nn_model_layer_out_ref(m, x, m->nlayers - 1);
}

/* Graph models: every output's gradient in its own zeroed buffer, each
 * reader's dx added into it through a scratch buffer. */
static void backward_graph_ref(nn_model *m, const float *x, float *dout, int B, nn_ctx *ctx)
{
    nn_exec *ex = m->exec;
    int L = m->nlayers;
    for (int i = 0; i < L - 1; i++)
        memset(ex->ref_dy[i], 0, (size_t)B * nn_shape_size(&m->layers[i].out) * sizeof(float));
    memcpy(ex->ref_dy[L - 1], dout, (size_t)B * nn_shape_size(&m->layers[L - 1].out) * sizeof(float));
    float *dx = ex->ref_dbuf[0];
    nn_exec_graph_need(m);   /* gneed: it or a layer below it trains */
    for (int i = L - 1; i >= 0; i--) {
        nn_layer *l = &m->layers[i];
        if (!ex->gneed[i])
            continue;
        const float *xs[NN_MAX_INPUTS];
        for (int k = 0; k < l->nin; k++)
            xs[k] = nn_model_layer_out_ref(m, x, l->inp[k]);
        const float *y = nn_model_layer_out_ref(m, x, i);
        for (int k = 0; k < l->nin; k++) {
            int p = l->inp[k];
            int want = p >= 0 && ex->gneed[p];
            if (!want && (k > 0 || l->ops->merge || l->ops->reshape))
                continue;
            size_t len = (size_t)B * nn_shape_size(&l->ins[k]);
            if (l->ops->merge)
                l->ops->merge->backward(l, k, xs, y, ex->ref_dy[i], dx, B, ctx);
            else if (l->ops->reshape)
                memcpy(dx, ex->ref_dy[i], len * sizeof *dx);
            else   /* dy is scratch to a layer: give it a copy */
                l->ops->backward(l, m->params + l->param_off, m->grads + l->param_off, xs[0], y,
                                 memcpy(ex->ref_dbuf[1], ex->ref_dy[i],
                                        (size_t)B * nn_shape_size(&l->out) * sizeof(float)),
                                 want ? dx : NULL, B, ctx);
            for (size_t q = 0; want && q < len; q++)
                ex->ref_dy[p][q] += dx[q];
        }
    }
}

void nn_model_backward_ref(nn_model *m, const float *x, float *dout, int B, nn_ctx *ctx)
{
    unsigned fp = nn_fp_enter();
    ctx->work = m->exec->work;
    ctx->work_bytes = m->exec->work_bytes;
    if (m->graph) {
        backward_graph_ref(m, x, dout, B, ctx);
        nn_fp_leave(fp);
        return;
    }
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
