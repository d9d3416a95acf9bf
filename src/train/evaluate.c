/* evaluate(), and the check that a dataset fits a model (input size,
 * targets against outputs and loss). Evaluation is sharded like training:
 * every global batch is split over the ranks and the sums are reduced once
 * at the end. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "nntrain/evaluate.h"

int nn_check_data(const nn_model *m, const nn_dataset *ds, nn_error *e)
{
    char ms[64], ds_[64];
    size_t in = nn_model_in_size(m), K = nn_model_out_size(m);
    if (nn_shape_size(&ds->x_shape) != in)
        return nn_err(e, NN_ESHAPE, "%s: samples have shape %s but the model's input is %s",
                      ds->source, nn_shape_str(&ds->x_shape, ds_, sizeof ds_),
                      nn_shape_str(&m->in_shape, ms, sizeof ms));
    if (!nn_shape_fits(&m->in_shape, &ds->x_shape))
        return nn_err(e, NN_ESHAPE, "%s: samples have shape %s but the model's input is %s: "
                      "the same number of values in another layout would train on "
                      "scrambled samples; set input_shape to the data's shape (only a 1-D "
                      "input_shape takes any data of its size)",
                      ds->source, nn_shape_str(&ds->x_shape, ds_, sizeof ds_),
                      nn_shape_str(&m->in_shape, ms, sizeof ms));
    if (!m->compiled)
        return NN_OK;
    const char *loss = nn_loss_names[m->loss];
    if (ds->nclasses > 0 && ds->ydim == 1) {
        if ((m->loss == NN_LOSS_SCCE || m->loss == NN_LOSS_CCE) &&
            K < (size_t)ds->nclasses)
            return nn_err(e, NN_ESHAPE, "%s: labels go up to %d but the model has %zu outputs: make the last layer Dense(%d, activation=\"softmax\")",
                          ds->source, ds->nclasses - 1, K, ds->nclasses);
        if (m->loss == NN_LOSS_SCCE || m->loss == NN_LOSS_CCE)
            return NN_OK;
        if (K != 1 || (m->loss == NN_LOSS_BCE && ds->nclasses > 2))
            return nn_err(e, NN_ESHAPE, "%s: %d classes with loss %s and %zu outputs: use sparse_categorical_crossentropy with Dense(%d, activation=\"softmax\")%s",
                          ds->source, ds->nclasses, loss, K, ds->nclasses,
                          ds->nclasses == 2 ? ", or binary_crossentropy with Dense(1, activation=\"sigmoid\")" : "");
        return NN_OK;
    }
    if (m->loss == NN_LOSS_SCCE)
        return nn_err(e, NN_ESHAPE, "%s: sparse_categorical_crossentropy needs integer class labels, the data has %d targets per sample",
                      ds->source, ds->ydim);
    if ((size_t)ds->ydim != K)
        return nn_err(e, NN_ESHAPE, "%s: %d targets per sample but the model has %zu outputs",
                      ds->source, ds->ydim, K);
    return NN_OK;
}

int nn_evaluate(nn_model *m, nn_dataset *ds, const uint64_t *idx, size_t n, int batch,
                nn_dist *d, double *out, nn_error *e)
{
    if (!idx)
        n = ds->n;
    int rc = nn_check_data(m, ds, e);
    if (rc)
        return rc;
    if (batch < 1)
        batch = 32;
    size_t off, cnt;
    nn_dist_shard((size_t)batch, d->size, d->rank, &off, &cnt);
    int cap = (int)cnt + 1;
    nn_batch b;
    if ((rc = nn_batch_alloc(&b, cap, m, ds, e)) || (rc = nn_model_plan(m, cap, e)))
        return nn_dist_agree(d, rc, e);
    double acc[2 + NN_METRIC_MAX_SUMS] = {0};
    nn_ctx ctx = {0};
    for (size_t start = 0; start < n && !rc; start += (size_t)batch) {
        size_t bg = n - start < (size_t)batch ? n - start : (size_t)batch;
        nn_dist_shard(bg, d->size, d->rank, &off, &cnt);
        if (!cnt)
            continue;
        for (size_t i = 0; i < cnt; i++)
            b.ids[i] = idx ? idx[start + off + i] : start + off + i;
        rc = ds->read(ds, b.ids, (int)cnt, b.x, b.y, e);
        if (rc)
            break;
        const float *o = nn_model_forward(m, b.x, (int)cnt, &ctx);
        nn_batch_score(m, &b, o, (int)cnt, acc);
    }
    nn_batch_free(&b);
    if ((rc = nn_dist_agree(d, rc, e)))
        return rc;
    if ((rc = nn_dist_sum_doubles(d, acc, 1 + (size_t)m->metric_sums, e)))
        return rc;
    /* Keras's evaluate (and val_loss) include the regularization losses */
    out[0] = n ? acc[0] / (double)n + nn_model_reg_penalty(m) : NAN;
    nn_metrics_values(m->metrics, m->nmetrics, acc + 1, (double)n, out + 1);
    return NN_OK;
}
