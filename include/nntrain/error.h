/* Error values: library functions return NN_OK or a negative NN_E* code and
 * fill a caller-owned nn_error with a message that names the file/field, what
 * was expected and what was found. Only the CLI decides to exit. */
#ifndef NNTRAIN_ERROR_H
#define NNTRAIN_ERROR_H

enum {
    NN_OK = 0,
    NN_EINVAL = -1,  /* bad argument or option */
    NN_ENOMEM = -2,  /* allocation failed */
    NN_EIO = -3,     /* file missing, unreadable or unwritable */
    NN_EFORMAT = -4, /* file or spec malformed */
    NN_ESHAPE = -5,  /* shapes that cannot connect */
    NN_ENAN = -6,    /* NaN/Inf in loss or gradients */
    NN_EMPI = -7,    /* an MPI call or another rank failed */
    NN_ESTOP = -8    /* interrupted (signal, stall) */
};

typedef struct nn_error {
    int code;
    char msg[1024];
} nn_error;

/* Sets e->code and a printf-style message (e may be NULL); returns code. */
int nn_err(nn_error *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to an existing message, e.g. a file name. Returns e->code. */
int nn_err_prefix(nn_error *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

const char *nn_err_name(int code);

#endif
