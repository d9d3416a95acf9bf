/* Per-sample shapes. */
#include "nntrain/tensor.h"

#include <stdio.h>
#include <string.h>

nn_shape nn_shape1(int a)
{
    nn_shape s = {1, {a, 0, 0, 0}};
    return s;
}

nn_shape nn_shape3(int h, int w, int c)
{
    nn_shape s = {3, {h, w, c, 0}};
    return s;
}

size_t nn_shape_size(const nn_shape *s)
{
    size_t n = 1;
    for (int i = 0; i < s->n; i++)
        n *= (size_t)s->d[i];
    return n;
}

int nn_shape_eq(const nn_shape *a, const nn_shape *b)
{
    if (a->n != b->n)
        return 0;
    for (int i = 0; i < a->n; i++)
        if (a->d[i] != b->d[i])
            return 0;
    return 1;
}

char *nn_shape_str(const nn_shape *s, char *buf, size_t len)
{
    size_t k = (size_t)snprintf(buf, len, "(None");
    for (int i = 0; i < s->n && k < len; i++)
        k += (size_t)snprintf(buf + k, len - k, ", %d", s->d[i]);
    if (k < len)
        snprintf(buf + k, len - k, ")");
    return buf;
}
