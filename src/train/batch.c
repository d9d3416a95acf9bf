/* Per-rank batch buffers and the loss/metric sums of one batch, shared by
 * fit, evaluate and predict. */
#include <stdlib.h>
#include <string.h>

#include "batch.h"

int nn_batch_alloc(nn_batch *b, int cap, const nn_model *m, const nn_dataset *ds,
                   nn_error *e)
{
    memset(b, 0, sizeof *b);
    b->cap = cap;
    b->in = nn_model_in_size(m);
    b->ydim = ds->ydim;
    b->K = (int)nn_model_out_size(m);
    size_t c = (size_t)cap;
    b->x = malloc(c * b->in * sizeof(float));
    b->y = malloc(c * (size_t)b->ydim * sizeof(float));
    b->dout = malloc(c * (size_t)b->K * sizeof(float));
    b->ids = malloc(c * sizeof(uint64_t));
    if (!b->x || !b->y || !b->dout || !b->ids) {
        nn_batch_free(b);
        return nn_err(e, NN_ENOMEM, "cannot allocate batch buffers for %d samples", cap);
    }
    return NN_OK;
}

void nn_batch_free(nn_batch *b)
{
    free(b->x);
    free(b->y);
    free(b->dout);
    free(b->ids);
    memset(b, 0, sizeof *b);
}

void nn_batch_score(const nn_model *m, const nn_batch *b, const float *out, int n,
                    double *acc)
{
    acc[0] += nn_loss_eval(m->loss, out, b->y, n, b->K, b->ydim, m->fused, 0, NULL);
    nn_metrics_add(m->metrics, m->nmetrics, out, b->y, n, b->K, b->ydim, m->from_logits,
                   acc + 1);
}
