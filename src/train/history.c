/* Per-epoch history (Keras History.history): its column names, bound here
 * once for fit and for the checkpoint callback's --monitor, its rows, and its
 * CSV, written to a temporary name and renamed so a reader never sees half a
 * file. The last column is the learning rate of the epoch's last step (the
 * "lr" Keras's History gets from its learning-rate callbacks). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nntrain/history.h"
#include "nntrain/model.h"
#include "nntrain/tmpfile.h"

int nn_history_columns(nn_history *h, const nn_model *m, int has_val, nn_error *e)
{
    nn_history nw = {0};
    for (int v = 0; v <= has_val; v++) {
        snprintf(nw.cols[nw.ncols++], sizeof nw.cols[0], "%sloss", v ? "val_" : "");
        for (int k = 0; k < m->nmetrics; k++)
            snprintf(nw.cols[nw.ncols++], sizeof nw.cols[0], "%s%s", v ? "val_" : "",
                     m->metric_names[k]);
    }
    snprintf(nw.cols[nw.ncols++], sizeof nw.cols[0], "lr");
    /* Rows kept from a checkpoint move to the columns of the same names; one
     * written before a column existed (lr) gets NaN there. */
    int same = h->ncols == nw.ncols;
    for (int c = 0; same && c < nw.ncols; c++)
        same = !strcmp(h->cols[c], nw.cols[c]);
    if (h->epochs > 0 && !same) {
        nw.vals = malloc((size_t)h->epochs * (size_t)nw.ncols * sizeof *nw.vals);
        if (!nw.vals)
            return nn_err(e, NN_ENOMEM, "out of memory for the history");
        for (int c = 0; c < nw.ncols; c++) {
            int from = nn_history_find(h, nw.cols[c]);
            for (int r = 0; r < h->epochs; r++)
                nw.vals[(size_t)r * (size_t)nw.ncols + (size_t)c] =
                    from < 0 ? NAN : h->vals[(size_t)r * (size_t)h->ncols + (size_t)from];
        }
        free(h->vals);
        h->vals = nw.vals;
        h->cap = h->epochs;
    }
    h->ncols = nw.ncols;
    memcpy(h->cols, nw.cols, sizeof h->cols);
    return NN_OK;
}

int nn_history_find(const nn_history *h, const char *name)
{
    for (int c = 0; c < h->ncols; c++)
        if (!strcmp(h->cols[c], name))
            return c;
    return -1;
}

int nn_history_add(nn_history *h, const double *row, nn_error *e)
{
    if (h->epochs == h->cap) {
        int cap = h->cap ? 2 * h->cap : 16;
        double *v = realloc(h->vals, (size_t)cap * (size_t)h->ncols * sizeof *v);
        if (!v)
            return nn_err(e, NN_ENOMEM, "out of memory for the history");
        h->vals = v;
        h->cap = cap;
    }
    memcpy(h->vals + (size_t)h->epochs * (size_t)h->ncols, row,
           (size_t)h->ncols * sizeof *row);
    h->epochs++;
    return NN_OK;
}

void nn_history_free(nn_history *h)
{
    free(h->vals);
    memset(h, 0, sizeof *h);
}

int nn_history_write_csv(const nn_history *h, const char *path, nn_error *e)
{
    char tmp[NN_TMP_NAME_MAX];
    FILE *f = nn_tmp_fopen(path, tmp, sizeof tmp);
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
    if (nn_tmp_fclose(f, tmp, 0))
        return nn_err(e, NN_EIO, "error writing history '%s'", tmp);
    if (nn_tmp_commit(tmp, path))
        return nn_err(e, NN_EIO, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
    return NN_OK;
}
