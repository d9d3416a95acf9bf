/* nn_error helpers: messages are built once, where the failure is known. */
#include "nntrain/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int nn_err(nn_error *e, int code, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
        e->code = code;
    }
    return code;
}

int nn_err_prefix(nn_error *e, const char *fmt, ...)
{
    if (!e)
        return NN_EINVAL;
    char pre[512], old[sizeof e->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof old);
    old[sizeof old - 1] = 0;
    /* Built by hand: snprintf("%s: %s") of two buffers warns of truncation. */
    size_t np = strlen(pre), no = strlen(old), cap = sizeof e->msg - 1;
    if (np > cap - 2)
        np = cap - 2;
    if (no > cap - 2 - np)
        no = cap - 2 - np;
    memcpy(e->msg, pre, np);
    memcpy(e->msg + np, ": ", 2);
    memcpy(e->msg + np + 2, old, no);
    e->msg[np + 2 + no] = 0;
    return e->code;
}

const char *nn_err_name(int code)
{
    switch (code) {
    case NN_OK: return "ok";
    case NN_EINVAL: return "invalid argument";
    case NN_ENOMEM: return "out of memory";
    case NN_EIO: return "I/O error";
    case NN_EFORMAT: return "format error";
    case NN_ESHAPE: return "shape error";
    case NN_ENAN: return "non-finite value";
    case NN_EMPI: return "MPI error";
    case NN_ESTOP: return "stopped";
    default: return "error";
    }
}
