/* Data checks, batch buffers, evaluate and predict. Evaluation is sharded
 * like training: every global batch is split over the ranks and the sums are
 * reduced once at the end. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "nntrain/train.h"

int nn_check_data(const nn_model *m, const nn_dataset *ds, nn_error *e)
{
    char ms[64], ds_[64];
    size_t in = nn_model_in_size(m), K = nn_model_out_size(m);
    if (nn_shape_size(&ds->x_shape) != in)
        return nn_err(e, NN_ESHAPE, "%s: samples have shape %s but the model's input is %s",
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
    for (int k = 0; k < m->nmetrics; k++)
        acc[1 + k] += nn_metric_eval(m->metrics[k], out, b->y, n, b->K, b->ydim);
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
    double acc[2 + NN_MAX_METRICS] = {0};
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
    if ((rc = nn_dist_sum_doubles(d, acc, 1 + m->nmetrics, e)))
        return rc;
    for (int k = 0; k <= m->nmetrics; k++)
        out[k] = n ? acc[k] / (double)n : NAN;
    return NN_OK;
}

int nn_predict(nn_model *m, nn_dataset *ds, size_t n, int batch, nn_dist *d, float *out,
               nn_error *e)
{
    int rc = NN_OK;
    size_t K = nn_model_out_size(m), in = nn_model_in_size(m);
    if (nn_shape_size(&ds->x_shape) != in)
        return nn_err(e, NN_ESHAPE, "%s: samples do not match the model's input", ds->source);
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
        if (!rc)
            memcpy(out + start * K, nn_model_forward(m, b.x, (int)bg, &ctx),
                   bg * K * sizeof(float));
    }
    nn_batch_free(&b);
    if ((rc = nn_dist_agree(d, rc, e)))
        return rc;
    return nn_dist_sum_floats(d, out, n * K, e);
}
