/* Per-sample shapes. */
#include "nntrain/tensor.h"

#include <stdint.h>
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

int nn_all_finite(const float *x, size_t n)
{
    /* NaN and Inf are the floats whose exponent bits are all set: the
     * largest magnitude bit pattern decides. An integer max is associative,
     * so the compiler vectorises it (a float sum would run as a serial
     * chain of adds without -ffast-math). */
    uint32_t mx = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, x + i, sizeof u);
        u &= 0x7fffffffu;
        mx = u > mx ? u : mx;
    }
    return mx < 0x7f800000u;
}

static int dims_without_trailing_ones(const nn_shape *s)
{
    int n = s->n;
    while (n > 1 && s->d[n - 1] == 1)
        n--;
    return n;
}

int nn_shape_fits(const nn_shape *model, const nn_shape *data)
{
    if (nn_shape_size(model) != nn_shape_size(data))
        return 0;
    int n = dims_without_trailing_ones(model), nd = dims_without_trailing_ones(data);
    if (model->n == 1 || nd == 1)
        return 1;
    if (model->n == 2 && model->d[0] == data->d[0])   /* (steps, features): image rows as steps */
        return 1;
    if (n != nd)
        return 0;
    for (int i = 0; i < n; i++)
        if (model->d[i] != data->d[i])
            return 0;
    return 1;
}
