/* Owns the Embedding layer (Keras): integer token ids (stored as floats, as
 * every nntrain input is) -> rows of the (input_dim, output_dim) "embeddings"
 * matrix. An input of shape (T,) gives (T, output_dim). Ids are cast as
 * Keras casts them (tf.cast to int32: truncation toward zero). An id outside
 * [0, input_dim) (or NaN) cannot be an error inside forward, so it reads
 * nothing: its output row is zero, it gets no gradient, and it is counted
 * (nn_embedding_invalid_ids). Keras on a GPU behaves the same way; on a CPU
 * it raises. Ids are not differentiable: backward writes zeros to dx. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layers/layer_util.h"
#include "nntrain/layer.h"

extern const nn_layer_ops nn_embedding_ops;
unsigned long long nn_embedding_invalid_ids(const nn_layer *l);

typedef struct embedding {
    int input_dim, output_dim;
    int input_length;          /* 0 = not given */
    nn_init init;
    unsigned long long invalid;
} embedding;

/* "input_dim" here shadows the common input_dim of layer.c, which would make
 * the vocabulary size the input shape; embedding_create unbinds it. */
static const char *const embedding_args[] = {"input_dim", "output_dim",
                                             "embeddings_initializer", "mask_zero",
                                             "input_length", NULL};

static int slot(const nn_args *a, const char *name)
{
    for (int i = 0; a->names[i]; i++)
        if (!strcmp(a->names[i], name))
            return i;
    return -1;
}

static int positive(nn_layer *l, nn_args *a, const char *name, int *out, nn_error *e)
{
    char where[128], w[96];
    int rc = nn_args_int(a, name, 0, out, e);
    if (rc)
        return rc;
    if (*out <= 0)
        return nn_err(e, NN_EINVAL, "%s: %s: %s must be a positive integer, e.g. "
                      "Embedding(10000, 32)",
                      nn_value_where(a->call, nn_args_get(a, name), where, sizeof where),
                      nn_layer_who(l, w, sizeof w), name);
    return NN_OK;
}

static int embedding_create(nn_layer *l, nn_args *a, nn_error *e)
{
    char where[128], w[96];
    embedding d = {0};
    int rc, mask_zero = 0;
    if (!nn_args_has(a, "input_dim") || !nn_args_has(a, "output_dim"))
        return nn_err(e, NN_EINVAL, "%s: %s needs input_dim (vocabulary size) and "
                      "output_dim, e.g. Embedding(10000, 32)",
                      nn_value_where(a->call, NULL, where, sizeof where),
                      nn_layer_who(l, w, sizeof w));
    if ((rc = positive(l, a, "input_dim", &d.input_dim, e)) ||
        (rc = positive(l, a, "output_dim", &d.output_dim, e)) ||
        (rc = nn_layer_bind_init(l, a, "embeddings_initializer", NN_INIT_UNIFORM,
                                 NN_INITS_COMMON | 1u << NN_INIT_UNIFORM, &d.init, e)) ||
        (rc = nn_args_bool(a, "mask_zero", 0, &mask_zero, e)))
        return rc;
    if (mask_zero)
        return nn_err(e, NN_EINVAL, "%s: %s: mask_zero=True is not supported (nntrain has "
                      "no masking): remove it; padded positions are then read like tokens",
                      nn_value_where(a->call, nn_args_get(a, "mask_zero"), where,
                                     sizeof where),
                      nn_layer_who(l, w, sizeof w));
    if (nn_args_has(a, "input_length") &&
        (rc = positive(l, a, "input_length", &d.input_length, e)))
        return rc;
    /* The vocabulary size must not become the input shape (layer.c reads the
     * first "input_dim" slot, which is ours). input_length=T becomes
     * input_shape=(T,) unless input_shape is given too (configure checks
     * that they agree). */
    a->v[slot(a, "input_dim")] = NULL;
    int is = slot(a, "input_shape");
    if (d.input_length && is >= 0 && !a->v[is])
        a->v[is] = nn_args_get(a, "input_length");
    return nn_layer_keep(l, &d, sizeof d, e);
}

static int embedding_configure(nn_layer *l, nn_error *e)
{
    embedding *d = l->priv;
    char w[96], s[96];
    if (l->in.n < 1 || l->in.n >= NN_MAX_DIMS)
        return nn_err(e, NN_ESHAPE, "%s needs token ids of shape (timesteps,) but gets %s",
                      nn_layer_who(l, w, sizeof w), nn_shape_str(&l->in, s, sizeof s));
    if (d->input_length && (l->in.n != 1 || l->in.d[0] != d->input_length))
        return nn_err(e, NN_ESHAPE, "%s: input_length=%d but the input shape is %s",
                      nn_layer_who(l, w, sizeof w), d->input_length,
                      nn_shape_str(&l->in, s, sizeof s));
    if ((size_t)d->input_dim * (size_t)d->output_dim > (size_t)INT_MAX ||
        nn_shape_size(&l->in) * (size_t)d->output_dim > (size_t)INT_MAX)
        return nn_err(e, NN_ESHAPE, "%s: embeddings (%d, %d) or output is too large",
                      nn_layer_who(l, w, sizeof w), d->input_dim, d->output_dim);
    l->out = l->in;
    l->out.d[l->out.n++] = d->output_dim;
    l->param_len = (size_t)d->input_dim * d->output_dim;
    return NN_OK;
}

static int embedding_param_specs(const nn_layer *l, nn_param_spec *specs)
{
    const embedding *d = l->priv;
    memset(specs, 0, sizeof *specs);
    snprintf(specs[0].name, sizeof specs[0].name, "embeddings:0");
    specs[0].ndim = 2;
    specs[0].dims[0] = d->input_dim;
    specs[0].dims[1] = d->output_dim;
    specs[0].off = 0;
    return 1;
}

static void embedding_init_params(nn_layer *l, float *p /* (input_dim, output_dim) */,
                                  nn_rng *rng)
{
    const embedding *d = l->priv;
    size_t n = (size_t)d->input_dim * d->output_dim;
    nn_init_fill(d->init, p, n, d->input_dim, d->output_dim, rng);
}

/* Row index of token value v, or -1 if it is not a valid id. */
static long token(float v, int input_dim)
{
    if (!(v > -1.0f && v < (float)input_dim))  /* also rejects NaN */
        return -1;
    long id = (long)v;                         /* truncation, as tf.cast */
    return id < input_dim ? id : -1;
}

static void embedding_forward(nn_layer *l, const float *p /* (input_dim, od) */,
                              const float *x /* (B, T) ids */, float *y /* (B, T, od) */,
                              int B, nn_ctx *ctx)
{
    embedding *d = l->priv;
    const size_t od = (size_t)d->output_dim, n = nn_shape_size(&l->in) * (size_t)B;
    (void)ctx;
    for (size_t i = 0; i < n; i++) {
        long id = token(x[i], d->input_dim);
        if (id < 0) {
            memset(y + i * od, 0, od * sizeof *y);
            d->invalid++;
        } else {
            memcpy(y + i * od, p + (size_t)id * od, od * sizeof *y);
        }
    }
}

static void embedding_backward(nn_layer *l, const float *p, float *g /* (input_dim, od) */,
                               const float *x /* (B, T) ids */, const float *y,
                               float *dy /* (B, T, od) */, float *dx /* (B, T) or NULL */,
                               int B, nn_ctx *ctx)
{
    const embedding *d = l->priv;
    const size_t od = (size_t)d->output_dim, n = nn_shape_size(&l->in) * (size_t)B;
    (void)p, (void)y, (void)ctx;
    for (size_t i = 0; i < n; i++) {
        long id = token(x[i], d->input_dim);
        if (id < 0)
            continue;
        float *gr = g + (size_t)id * od;
        const float *dr = dy + i * od;
        for (size_t j = 0; j < od; j++)
            gr[j] += dr[j];
    }
    if (dx)
        memset(dx, 0, n * sizeof *dx);
}

/* Token ids that were out of range (or NaN) in this layer's forward calls so
 * far; 0 for a layer that is not an Embedding. */
unsigned long long nn_embedding_invalid_ids(const nn_layer *l)
{
    if (!l || l->ops != &nn_embedding_ops || !l->priv)
        return 0;
    return ((const embedding *)l->priv)->invalid;
}

static void embedding_destroy(nn_layer *l)
{
    free(l->priv);
    l->priv = NULL;
}

const nn_layer_ops nn_embedding_ops = {
    .kind = "Embedding",
    .arg_names = embedding_args,
    .arg_aliases = NULL,
    .create = embedding_create,
    .configure = embedding_configure,
    .param_specs = embedding_param_specs,
    .init_params = embedding_init_params,
    .plan = NULL,
    .forward = embedding_forward,
    .backward = embedding_backward,
    .destroy = embedding_destroy,
    .no_dx = 1,
};
