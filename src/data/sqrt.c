/* Synthetic regression set "synthetic:sqrt": x ~ U[0, 100), y = sqrt(x), the
 * smallest end-to-end problem (DESIGN.md's sqrt regression model). The x values
 * are drawn once, in sample order, from the stream nn_rng_key(seed, 0x5eed, 0, 0)
 * so a given (n, seed) always yields the same data on every rank; y is computed
 * with sqrtf when read. */
#include "nntrain/data.h"
#include "nntrain/rng.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct sqrt_priv {
    float *x;   /* (n) */
    size_t n;
} sqrt_priv;

static int sqrt_read(nn_dataset *d, const uint64_t *idx, int count, float *x, float *y,
                     nn_error *e)
{
    const sqrt_priv *p = d->priv;
    int rc = nn_data_check_read(d, p ? p->n : 0, idx, count, e);
    if (rc)
        return rc;
    for (int i = 0; i < count; i++) {
        float v = p->x[idx[i]];
        if (x)
            x[i] = v;
        if (y)
            y[i] = sqrtf(v);
    }
    return NN_OK;
}

static void sqrt_close(nn_dataset *d)
{
    sqrt_priv *p = d->priv;
    if (p) {
        free(p->x);
        free(p);
    }
    d->priv = NULL;
}

int nn_sqrt_open(size_t n, uint64_t seed, nn_dataset *d, nn_error *e)
{
    if (!d)
        return nn_err(e, NN_EINVAL, "nn_sqrt_open: dataset pointer is NULL");
    memset(d, 0, sizeof *d);
    if (n == 0 || n > SIZE_MAX / sizeof(float))
        return nn_err(e, NN_EINVAL, "synthetic:sqrt: bad sample count %zu: expected >= 1",
                      n);
    sqrt_priv *p = calloc(1, sizeof *p);
    float *xs = malloc(n * sizeof *xs);
    if (!p || !xs) {
        free(p);
        free(xs);
        return nn_err(e, NN_ENOMEM, "synthetic:sqrt: cannot allocate %zu samples", n);
    }
    nn_rng r = nn_rng_key(seed, 0x5eed, 0, 0);
    for (size_t i = 0; i < n; i++) {
        float v = nn_rng_uniform(&r) * 100.0f;
        /* u < 1 but the product may round up to 100; keep the interval open. */
        xs[i] = v < 100.0f ? v : nextafterf(100.0f, 0.0f);
    }
    p->x = xs;
    p->n = n;
    d->n = n;
    d->x_shape = nn_shape1(1);
    d->ydim = 1;
    d->nclasses = 0;
    strcpy(d->source, "synthetic:sqrt");
    d->read = sqrt_read;
    d->close = sqrt_close;
    d->priv = p;
    return NN_OK;
}
