/* Gradient clipping over a model's weight tensors: a "weight" is each
 * trainable parameter tensor a layer declares (kernel, bias, gamma, ...,
 * its param specs), as tf.keras clips each variable's gradient; moving
 * statistics (a layer's frozen tail) and frozen layers are not trained, so
 * they neither count in the global norm nor get clipped. Serial and in layer
 * order, so every rank computes the same clipped gradient from the same
 * averaged one. */
#include <math.h>

#include "nntrain/model.h"

/* Calls fn on the gradient of every trainable weight tensor of m. */
static void each_weight(nn_model *m, void (*fn)(const nn_optim *, float *, size_t, void *),
                        void *arg)
{
    for (int i = 0; i < m->nlayers; i++) {
        const nn_layer *l = &m->layers[i];
        if (!l->trainable || !l->param_len || l->frozen_len >= l->param_len)
            continue;
        size_t end = l->param_len - l->frozen_len;
        nn_param_spec specs[NN_MAX_PARAM_SPECS];
        int ns = l->ops->param_specs(l, specs);
        if (ns <= 0) {   /* no names declared: the block is one tensor */
            fn(&m->optim, m->grads + l->param_off, end, arg);
            continue;
        }
        for (int k = 0; k < ns; k++) {
            size_t n = 1;
            for (int d = 0; d < specs[k].ndim; d++)
                n *= (size_t)specs[k].dims[d];
            if (specs[k].off >= end)
                continue;
            if (n > end - specs[k].off)
                n = end - specs[k].off;
            fn(&m->optim, m->grads + l->param_off + specs[k].off, n, arg);
        }
    }
}

static void clip_one(const nn_optim *o, float *g, size_t n, void *arg)
{
    (void)arg;
    nn_optim_clip_tensor(o, g, n);
}

static void add_sumsq(const nn_optim *o, float *g, size_t n, void *arg)
{
    (void)o;
    *(double *)arg += nn_optim_sumsq(g, n);
}

static void clip_global(const nn_optim *o, float *g, size_t n, void *arg)
{
    nn_optim_clip_global(o, g, n, *(const double *)arg);
}

void nn_model_clip_grads(nn_model *m)
{
    const nn_optim *o = &m->optim;
    if (!nn_optim_clips(o) || !m->grads)
        return;
    if (o->clipvalue > 0 || o->clipnorm > 0)
        each_weight(m, clip_one, NULL);
    if (o->global_clipnorm > 0) {
        double s = 0;
        each_weight(m, add_sumsq, &s);
        s = sqrt(s);
        each_weight(m, clip_global, &s);
    }
}
