/* A reader thread that fills the next batch (read, then augment) while the
 * current one trains. Two slots: the trainer requests slot k for step s+1
 * right after taking step s's slot. Only one thread touches the dataset at a
 * time (HDF5 in Debian is not built thread-safe): the trainer may use the
 * dataset directly only when no request is outstanding. */
#ifndef NNTRAIN_PREFETCH_H
#define NNTRAIN_PREFETCH_H

#include <pthread.h>
#include <stdint.h>

#include "nntrain/augment.h"
#include "nntrain/data.h"

typedef struct nn_prefetch_slot {
    float *x, *y;           /* (cap, in), (cap, ydim) */
    uint64_t *ids;          /* (cap) */
    int count;
    uint64_t epoch;
    int state;              /* 0 idle, 1 requested, 2 ready */
    int rc;
    nn_error err;
} nn_prefetch_slot;

typedef struct nn_prefetch {
    nn_dataset *ds;
    const nn_augment *aug;  /* NULL or disabled: no augmentation */
    uint64_t seed;
    int cap;
    size_t in;
    float *scratch;         /* one sample, for the augmenter */
    nn_prefetch_slot slot[2];
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int started, stop;
} nn_prefetch;

int nn_prefetch_start(nn_prefetch *p, nn_dataset *ds, int cap, const nn_augment *aug,
                      uint64_t seed, nn_error *e);
/* Queues a read of ids[0..count) into slot k (count <= cap). */
void nn_prefetch_request(nn_prefetch *p, int k, const uint64_t *ids, int count,
                         uint64_t epoch);
/* Waits for slot k; returns its status (e filled on failure). */
int nn_prefetch_wait(nn_prefetch *p, int k, nn_error *e);
void nn_prefetch_stop(nn_prefetch *p);

#endif
