/* A growing text buffer filled printf-style (reports, generated spec text,
 * CSV written in one go). A failed allocation is remembered, not reported
 * at once: fill, then check oom once. */
#ifndef NNTRAIN_STRBUF_H
#define NNTRAIN_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct nn_strbuf {
    char *s;          /* the text, NUL-terminated; NULL until the first append */
    size_t len, cap;  /* strlen(s), bytes allocated */
    int oom;          /* an append failed (out of memory): later ones do nothing */
} nn_strbuf;          /* start with {0} */

/* Appends printf output to b; on failure sets b->oom (b->s keeps what it had). */
void nn_strbuf_printf(nn_strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The same with a va_list (ap is used up). */
void nn_strbuf_vprintf(nn_strbuf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* b->s, or "" while b holds nothing. */
const char *nn_strbuf_str(const nn_strbuf *b);

/* Frees the text and empties b. */
void nn_strbuf_free(nn_strbuf *b);

#endif
