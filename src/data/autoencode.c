/* A view of a dataset whose target is its input (Keras fit(x, x)), for
 * autoencoders: y has the input's size and there are no classes. */
#include <stdlib.h>
#include <string.h>

#include "nntrain/data.h"

static int ae_read(nn_dataset *d, const uint64_t *idx, int count, float *x, float *y,
                   nn_error *e)
{
    nn_dataset *in = d->priv;
    size_t n = nn_shape_size(&d->x_shape);
    /* The inner reader writes its labels into the front of y; x is copied over. */
    int rc = in->read(in, idx, count, x, y, e);
    if (!rc)
        memcpy(y, x, (size_t)count * n * sizeof(float));
    return rc;
}

static void ae_close(nn_dataset *d)
{
    (void)d;   /* the inner dataset belongs to the caller */
}

int nn_data_autoencode(nn_dataset *inner, nn_dataset *out, nn_error *e)
{
    if ((size_t)inner->ydim > nn_shape_size(&inner->x_shape))
        return nn_err(e, NN_EINVAL, "%s: %d targets per sample do not fit an autoencoder's y",
                      inner->source, inner->ydim);
    *out = *inner;
    out->ydim = (int)nn_shape_size(&inner->x_shape);
    out->nclasses = 0;
    out->priv = inner;
    out->read = ae_read;
    out->close = ae_close;
    return NN_OK;
}
