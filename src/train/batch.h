/* Per-rank batch buffers shared by fit, evaluate and predict. */
#ifndef NNTRAIN_BATCH_H
#define NNTRAIN_BATCH_H

#include "nntrain/data.h"
#include "nntrain/model.h"

typedef struct nn_batch {
    int cap;
    size_t in;
    int ydim, K;
    float *x;        /* (cap, in) */
    float *y;        /* (cap, ydim) */
    float *dout;     /* (cap, K) */
    uint64_t *ids;   /* (cap) dataset indices */
} nn_batch;

int nn_batch_alloc(nn_batch *b, int cap, const nn_model *m, const nn_dataset *ds,
                   nn_error *e);
void nn_batch_free(nn_batch *b);

/* Loss sum and metric sums of one forward output into acc[0 .. 1 + m->metric_sums). */
void nn_batch_score(const nn_model *m, const nn_batch *b, const float *out, int n,
                    double *acc);

#endif
