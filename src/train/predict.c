/* predict(): rank r computes every size-th batch, and the rows are summed
 * into rank 0 (zeros elsewhere), which is exact. */
#include <string.h>

#include "batch.h"
#include "nntrain/predict.h"

int nn_predict(nn_model *m, nn_dataset *ds, size_t n, int batch, nn_dist *d, float *out,
               nn_error *e)
{
    int rc = NN_OK;
    size_t K = nn_model_out_size(m);
    if (!nn_shape_fits(&m->in_shape, &ds->x_shape)) {
        char ds_[64], ms[64];
        return nn_err(e, NN_ESHAPE, "%s: samples have shape %s but the model's input is %s",
                      ds->source, nn_shape_str(&ds->x_shape, ds_, sizeof ds_),
                      nn_shape_str(&m->in_shape, ms, sizeof ms));
    }
    if (batch < 1)
        batch = 32;
    nn_batch b;
    if ((rc = nn_batch_alloc(&b, batch, m, ds, e)) || (rc = nn_model_plan(m, batch, e)))
        return rc;
    nn_ctx ctx = {0};
    /* Rank r predicts every size-th batch; the rows are summed into rank 0
     * (zeros elsewhere), which is exact. */
    memset(out, 0, n * K * sizeof(float));
    size_t k = 0;
    for (size_t start = 0; start < n && !rc; start += (size_t)batch, k++) {
        if ((int)(k % (size_t)d->size) != d->rank)
            continue;
        size_t bg = n - start < (size_t)batch ? n - start : (size_t)batch;
        for (size_t i = 0; i < bg; i++)
            b.ids[i] = start + i;
        rc = ds->read(ds, b.ids, (int)bg, b.x, b.y, e);
        if (!rc) {
            memcpy(out + start * K, nn_model_forward(m, b.x, (int)bg, &ctx),
                   bg * K * sizeof(float));
            if (m->from_logits)   /* probabilities, as the other models give */
                nn_loss_logits_to_probs(m->loss, out + start * K, (int)bg, (int)K);
        }
    }
    nn_batch_free(&b);
    if ((rc = nn_dist_agree(d, rc, e)))
        return rc;
    return nn_dist_sum_floats(d, out, n * K, e);
}
