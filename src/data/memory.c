/* A dataset over arrays the caller owns: for library users and tests. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nntrain/data.h"

typedef struct mem {
    const float *x, *y;
} mem;

static int mem_read(nn_dataset *d, const uint64_t *idx, int count, float *x, float *y,
                    nn_error *e)
{
    const mem *m = d->priv;
    size_t in = nn_shape_size(&d->x_shape), yd = (size_t)d->ydim;
    for (int i = 0; i < count; i++) {
        if (idx[i] >= d->n)
            return nn_err(e, NN_EINVAL, "%s: sample %llu out of range (n = %zu)", d->source,
                          (unsigned long long)idx[i], d->n);
        memcpy(x + (size_t)i * in, m->x + idx[i] * in, in * sizeof(float));
        memcpy(y + (size_t)i * yd, m->y + idx[i] * yd, yd * sizeof(float));
    }
    return NN_OK;
}

static void mem_close(nn_dataset *d)
{
    free(d->priv);
    d->priv = NULL;
}

int nn_memory_open(nn_dataset *d, const float *x, const float *y, size_t n,
                   nn_shape x_shape, int ydim, int nclasses, const char *name,
                   nn_error *e)
{
    memset(d, 0, sizeof *d);
    mem *m = malloc(sizeof *m);
    if (!m)
        return nn_err(e, NN_ENOMEM, "out of memory");
    m->x = x;
    m->y = y;
    d->n = n;
    d->x_shape = x_shape;
    d->ydim = ydim;
    d->nclasses = nclasses;
    snprintf(d->source, sizeof d->source, "%s", name ? name : "memory");
    d->priv = m;
    d->read = mem_read;
    d->close = mem_close;
    return NN_OK;
}
