/* model.predict(): outputs for a dataset's samples in order, batches dealt
 * round-robin over the ranks and gathered on rank 0. */
#ifndef NNTRAIN_PREDICT_H
#define NNTRAIN_PREDICT_H

#include "nntrain/data.h"
#include "nntrain/dist.h"
#include "nntrain/model.h"

/* Model outputs for samples [0, n) of ds, in order, into out (n, out_size),
 * on rank 0 (others compute their shard and send it). A model compiled with
 * from_logits=True gives the probabilities its loss implies (softmax or
 * sigmoid of the logits; Keras's predict would return the logits), so
 * predict, evaluate's confusion matrix and analyze read them as for any
 * other classifier. */
int nn_predict(nn_model *m, nn_dataset *ds, size_t n, int batch, nn_dist *d,
               float *out, nn_error *e);

#endif
