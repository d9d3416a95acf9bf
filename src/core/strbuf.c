/* The growing text buffer (see strbuf.h): the one printf-append with
 * doubling capacity, used for reports, Keras-to-spec text and CSV files. */
#include "nntrain/strbuf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void nn_strbuf_vprintf(nn_strbuf *b, const char *fmt, va_list ap)
{
    if (b->oom)
        return;
    va_list ap2;
    va_copy(ap2, ap);
    int k = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (k < 0 || (size_t)k >= SIZE_MAX / 2 - b->len) {
        b->oom = 1;
        return;
    }
    size_t need = b->len + (size_t)k + 1;
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < need)   /* need < SIZE_MAX / 2: no overflow */
            cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = 1;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
    vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    b->len += (size_t)k;
}

void nn_strbuf_printf(nn_strbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    nn_strbuf_vprintf(b, fmt, ap);
    va_end(ap);
}

const char *nn_strbuf_str(const nn_strbuf *b)
{
    return b->s ? b->s : "";
}

void nn_strbuf_free(nn_strbuf *b)
{
    free(b->s);
    memset(b, 0, sizeof *b);
}
