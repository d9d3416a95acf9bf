/* The model at run time: initialisation, the activation plan, forward and
 * backward over the layer list, and the Keras-style summary. */
#include <stdlib.h>
#include <string.h>

#include "nntrain/model.h"

void nn_model_init_params(nn_model *m, uint64_t seed)
{
    for (int i = 0; i < m->nlayers; i++) {
        nn_layer *l = &m->layers[i];
        nn_rng r = nn_rng_key(seed, 0x1a7e5, (uint64_t)i, 0);
        if (l->param_len && l->ops->init_params)
            l->ops->init_params(l, m->params + l->param_off, &r);
    }
}

static void unplan(nn_model *m)
{
    if (m->acts)
        for (int i = 0; i < m->nlayers; i++)
            free(m->acts[i]);
    free(m->acts);
    free(m->dbuf[0]);
    free(m->dbuf[1]);
    free(m->work);
    m->acts = NULL;
    m->dbuf[0] = m->dbuf[1] = NULL;
    m->work = NULL;
    m->work_bytes = 0;
    m->batch_max = 0;
}

int nn_model_plan(nn_model *m, int batch_max, nn_error *e)
{
    if (batch_max <= m->batch_max)
        return NN_OK;
    unplan(m);
    size_t B = (size_t)batch_max, widest = nn_model_in_size(m), work = 0;
    m->acts = calloc((size_t)m->nlayers, sizeof *m->acts);
    if (!m->acts)
        return nn_err(e, NN_ENOMEM, "out of memory planning activations");
    for (int i = 0; i < m->nlayers; i++) {
        nn_layer *l = &m->layers[i];
        size_t n = nn_shape_size(&l->out), w = 0;
        if (n > widest)
            widest = n;
        m->acts[i] = malloc(B * n * sizeof(float));
        if (!m->acts[i]) {
            unplan(m);
            return nn_err(e, NN_ENOMEM, "cannot allocate %.1f MiB of activations for layer '%s' at batch %d",
                          (double)(B * n * sizeof(float)) / 1048576.0, l->name, batch_max);
        }
        if (l->ops->plan) {
            int rc = l->ops->plan(l, batch_max, &w, e);
            if (rc) {
                unplan(m);
                return nn_err_prefix(e, "layer '%s'", l->name);
            }
        }
        if (w > work)
            work = w;
    }
    m->dbuf[0] = malloc(B * widest * sizeof(float));
    m->dbuf[1] = malloc(B * widest * sizeof(float));
    m->work = work ? malloc(work) : NULL;
    if (!m->dbuf[0] || !m->dbuf[1] || (work && !m->work)) {
        unplan(m);
        return nn_err(e, NN_ENOMEM, "cannot allocate the %.1f MiB workspace", (double)work / 1048576.0);
    }
    m->work_bytes = work;
    m->batch_max = batch_max;
    return NN_OK;
}

const float *nn_model_forward(nn_model *m, const float *x, int B, nn_ctx *ctx)
{
    ctx->work = m->work;
    ctx->work_bytes = m->work_bytes;
    const float *in = x;
    for (int i = 0; i < m->nlayers; i++) {
        nn_layer *l = &m->layers[i];
        l->ops->forward(l, m->params + l->param_off, in, m->acts[i], B, ctx);
        in = m->acts[i];
    }
    return in;
}

void nn_model_backward(nn_model *m, const float *x, float *dout, int B, nn_ctx *ctx)
{
    ctx->work = m->work;
    ctx->work_bytes = m->work_bytes;
    /* Below the first trainable layer with parameters nothing needs a
     * gradient: stop there and skip its dx (for Flatten -> Dense that is a
     * third of the work of the first Dense; for a frozen base model, all of
     * its backward pass). */
    int first = 0;
    while (first < m->nlayers - 1 &&
           (m->layers[first].param_len == 0 || !m->layers[first].trainable))
        first++;
    float *dy = dout;
    int flip = 0;
    for (int i = m->nlayers - 1; i >= first; i--) {
        nn_layer *l = &m->layers[i];
        const float *in = i ? m->acts[i - 1] : x;
        float *dx = i > first ? m->dbuf[flip] : NULL;
        l->ops->backward(l, m->params + l->param_off, m->grads + l->param_off, in,
                         m->acts[i], dy, dx, B, ctx);
        if (ctx->grad_ready && l->param_len)
            ctx->grad_ready(ctx->grad_arg, l->param_off);
        dy = dx;
        flip ^= 1;
    }
}

size_t nn_model_in_size(const nn_model *m)
{
    return nn_shape_size(&m->in_shape);
}

size_t nn_model_out_size(const nn_model *m)
{
    return m->nlayers ? nn_shape_size(&m->layers[m->nlayers - 1].out) : 0;
}

size_t nn_model_trainable_params(const nn_model *m)
{
    size_t n = 0;
    for (int i = 0; i < m->nlayers; i++)
        if (m->layers[i].trainable)
            n += m->layers[i].param_len;
    return n;
}

/* 1234567 -> "1,234,567" */
static const char *commas(size_t v, char *buf)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%zu", v), k = 0;
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0)
            buf[k++] = ',';
        buf[k++] = tmp[i];
    }
    buf[k] = 0;
    return buf;
}

void nn_model_summary(const nn_model *m, FILE *f)
{
    /* Keras's layout, with a first column wide enough for the longest
     * "name (Type)" instead of Keras's wrapping. */
    const char *rule = "__________________________________________________________________________";
    const char *dbl = "==========================================================================";
    char shape[64], who[128], n1[32];
    fprintf(f, "Model: \"%s\"\n%s\n", m->name, rule);
    fprintf(f, " %-37s %-25s %-10s\n%s\n", "Layer (type)", "Output Shape", "Param #", dbl);
    for (int i = 0; i < m->nlayers; i++) {
        const nn_layer *l = &m->layers[i];
        snprintf(who, sizeof who, "%s (%s)", l->name, l->ops->kind);
        fprintf(f, " %-37s %-25s %-10zu\n", who, nn_shape_str(&l->out, shape, sizeof shape),
                l->param_len);
        if (i + 1 < m->nlayers)
            fprintf(f, "\n");
    }
    size_t tr = nn_model_trainable_params(m);
    fprintf(f, "%s\nTotal params: %s\n", dbl, commas(m->nparams, n1));
    fprintf(f, "Trainable params: %s\n", commas(tr, n1));
    fprintf(f, "Non-trainable params: %s\n%s\n", commas(m->nparams - tr, n1), rule);
}

void nn_model_free(nn_model *m)
{
    unplan(m);
    for (int i = 0; i < m->nlayers; i++)
        nn_layer_destroy(&m->layers[i]);
    free(m->layers);
    free(m->params);
    free(m->grads);
    nn_optim_free(&m->optim);
    memset(m, 0, sizeof *m);
}
