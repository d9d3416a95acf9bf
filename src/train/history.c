/* Per-epoch history (Keras History.history) and its CSV, written to a
 * temporary name and renamed so a reader never sees half a file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nntrain/history.h"

void nn_history_free(nn_history *h)
{
    free(h->vals);
    memset(h, 0, sizeof *h);
}

int nn_history_write_csv(const nn_history *h, const char *path, nn_error *e)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return nn_err(e, NN_EIO, "cannot write history '%s': %s", tmp, strerror(errno));
    fprintf(f, "epoch");
    for (int c = 0; c < h->ncols; c++)
        fprintf(f, ",%s", h->cols[c]);
    fprintf(f, "\n");
    for (int r = 0; r < h->epochs; r++) {
        fprintf(f, "%d", r + 1);
        for (int c = 0; c < h->ncols; c++)
            fprintf(f, ",%.9g", h->vals[(size_t)r * (size_t)h->ncols + (size_t)c]);
        fprintf(f, "\n");
    }
    int bad = ferror(f);
    if (fclose(f) || bad) {
        remove(tmp);
        return nn_err(e, NN_EIO, "error writing history '%s'", tmp);
    }
    if (rename(tmp, path)) {
        remove(tmp);
        return nn_err(e, NN_EIO, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
    }
    return NN_OK;
}
