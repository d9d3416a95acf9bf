/* The weight regularizers of a whole model: each layer's parameters mapped
 * to their kernel/bias/recurrent/embeddings role by Keras name, the penalty
 * summed and its gradient added (regularizer.h has the maths). */
#include "nntrain/model.h"
#include "nntrain/regularizer.h"

/* Calls fn on every regularized weight tensor of layer l. */
static void each_reg(const nn_layer *l, void (*fn)(nn_reg, size_t off, size_t n, void *),
                     void *arg)
{
    nn_param_spec specs[NN_MAX_PARAM_SPECS];
    int ns = l->ops->param_specs(l, specs);
    for (int i = 0; i < ns; i++) {
        int r = nn_reg_role(specs[i].name);
        if (r < 0 || !nn_reg_active(l->reg[r]))
            continue;
        size_t n = 1;
        for (int d = 0; d < specs[i].ndim; d++)
            n *= (size_t)specs[i].dims[d];
        fn(l->reg[r], l->param_off + specs[i].off, n, arg);
    }
}

typedef struct reg_walk {
    nn_model *m;
    double sum;
} reg_walk;

static void add_penalty(nn_reg r, size_t off, size_t n, void *arg)
{
    reg_walk *w = arg;
    w->sum += nn_reg_penalty(r, w->m->params + off, n);
}

static void add_grad(nn_reg r, size_t off, size_t n, void *arg)
{
    reg_walk *w = arg;
    nn_reg_grad(r, w->m->params + off, w->m->grads + off, n);
}

double nn_model_reg_penalty(const nn_model *m)
{
    reg_walk w = {(nn_model *)m, 0};
    for (int i = 0; i < m->nlayers; i++)
        each_reg(&m->layers[i], add_penalty, &w);
    return w.sum;
}

void nn_model_reg_grad(nn_model *m)
{
    reg_walk w = {m, 0};
    for (int i = 0; i < m->nlayers; i++)
        if (m->layers[i].trainable)
            each_reg(&m->layers[i], add_grad, &w);
}
