/* model.evaluate(): loss and metrics over a dataset, sharded over the ranks
 * like training; and the data-against-model check that fit shares. */
#ifndef NNTRAIN_EVALUATE_H
#define NNTRAIN_EVALUATE_H

#include <stdint.h>

#include "nntrain/data.h"
#include "nntrain/dist.h"
#include "nntrain/model.h"

/* Checks that the data fits the model (input size, targets vs outputs and
 * loss); the message names the data source. */
int nn_check_data(const nn_model *m, const nn_dataset *ds, nn_error *e);

/* Loss and metrics over idx[0..n) (all of ds if idx == NULL), sharded over
 * ranks. out receives 1 + m->nmetrics values (means). */
int nn_evaluate(nn_model *m, nn_dataset *ds, const uint64_t *idx, size_t n,
                int batch, nn_dist *d, double *out, nn_error *e);
/* The same in deterministic mode (fit(deterministic=True)): the rows in
 * fixed chunks of det_chunk rows, each on one thread with the serial layer
 * calls, the chunks' sums added in chunk order on every rank, so the values
 * are the same bits for any number of ranks and threads. */
int nn_evaluate_det(nn_model *m, nn_dataset *ds, const uint64_t *idx, size_t n, int batch,
                    int det_chunk, nn_dist *d, double *out, nn_error *e);

#endif
