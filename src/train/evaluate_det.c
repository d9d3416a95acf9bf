/* evaluate() in deterministic mode (evaluate.h): the rows [0, n) in fixed
 * chunks of C rows, global batches of whole chunks split over the ranks by
 * chunks; each chunk's forward and loss on one thread with the serial layer
 * calls (nn_model_det_pass), its sums into its own slot of a table; the
 * table is summed over the ranks (one rank writes each slot, the others
 * zeros, so the float sum is exact) and added in chunk order. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "nntrain/evaluate.h"
#include "train/exec.h"

typedef struct eval_arg {
    const nn_model *m;
    const nn_batch *b;
    double *tab;        /* this batch's first chunk's slot */
    int ns;
} eval_arg;

static void eval_chunk(void *arg, int k, long r0, int n, const float *y)
{
    const eval_arg *a = arg;
    const nn_batch *b = a->b;
    double *slot = a->tab + (size_t)k * (size_t)a->ns;
    const float *t = b->y + (size_t)r0 * b->ydim;
    slot[0] = nn_loss_eval(a->m->loss, y, t, n, b->K, b->ydim, a->m->fused, 0, NULL);
    nn_metrics_add(a->m->metrics, a->m->nmetrics, y, t, n, b->K, b->ydim, a->m->from_logits,
                   slot + 1);
}

int nn_evaluate_det(nn_model *m, nn_dataset *ds, const uint64_t *idx, size_t n, int batch,
                    int det_chunk, nn_dist *d, double *out, nn_error *e)
{
    if (!idx)
        n = ds->n;
    int rc = nn_check_data(m, ds, e);
    if (rc)
        return rc;
    const size_t C = det_chunk > 0 ? (size_t)det_chunk : 1;
    /* global batches of whole chunks, at least one chunk per rank */
    size_t kb = ((size_t)(batch > 0 ? batch : 32) + C - 1) / C;
    if (kb < (size_t)d->size)
        kb = (size_t)d->size;
    const size_t kr = (kb + (size_t)d->size - 1) / (size_t)d->size, K = (n + C - 1) / C;
    const int ns = 1 + m->metric_sums;
    nn_batch b;
    double *tab = calloc((K ? K : 1) * (size_t)ns, sizeof *tab);
    if (!tab)
        rc = nn_err(e, NN_ENOMEM, "out of memory for the loss sums of %zu chunks", K);
    if (rc || (rc = nn_batch_alloc(&b, (int)(kr * C) + 1, m, ds, e)) ||
        (rc = nn_model_plan(m, (int)(kr * C) + 1, e))) {
        free(tab);
        return nn_dist_agree(d, rc, e);
    }
    nn_ctx ctx = {0};
    for (size_t k0 = 0; k0 < K && !rc; k0 += kb) {
        size_t nk = K - k0 < kb ? K - k0 : kb, c0, cc;
        nn_dist_shard(nk, d->size, d->rank, &c0, &cc);
        size_t lo = (k0 + c0) * C, hi = (k0 + c0 + cc) * C < n ? (k0 + c0 + cc) * C : n;
        if (!cc || lo >= hi)
            continue;
        for (size_t i = 0; i < hi - lo; i++)
            b.ids[i] = idx ? idx[lo + i] : lo + i;
        if ((rc = ds->read(ds, b.ids, (int)(hi - lo), b.x, b.y, e)))
            break;
        eval_arg a = {m, &b, tab + (k0 + c0) * (size_t)ns, ns};
        nn_model_det_pass(m, b.x, b.dout, (int)(hi - lo), (int)C, &ctx, eval_chunk, NULL, &a, NULL,
                          NULL);
    }
    nn_batch_free(&b);
    if (!(rc = nn_dist_agree(d, rc, e)))
        rc = K ? nn_dist_sum_doubles(d, tab, (int)(K * (size_t)ns), e) : NN_OK;
    double acc[1 + NN_METRIC_MAX_SUMS] = {0};
    for (int j = 0; !rc && j < ns; j++)
        for (size_t k = 0; k < K; k++)
            acc[j] += tab[k * (size_t)ns + (size_t)j];
    free(tab);
    if (rc)
        return rc;
    out[0] = n ? acc[0] / (double)n + nn_model_reg_penalty(m) : NAN;
    nn_metrics_values(m->metrics, m->nmetrics, acc + 1, (double)n, out + 1);
    return NN_OK;
}
