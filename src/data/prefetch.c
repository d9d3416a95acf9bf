/* Batch prefetching on a second thread (see prefetch.h). */
#include "nntrain/prefetch.h"

#include <stdlib.h>
#include <string.h>

static void fill(nn_prefetch *p, nn_prefetch_slot *s)
{
    s->rc = p->ds->read(p->ds, s->ids, s->count, s->x, s->y, &s->err);
    if (s->rc || !p->aug || !p->aug->enabled)
        return;
    for (int i = 0; i < s->count; i++)
        nn_augment_apply(p->aug, s->x + (size_t)i * p->in, &p->ds->x_shape, p->seed, s->epoch,
                         s->ids[i], p->scratch);
}

static void *worker(void *arg)
{
    nn_prefetch *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        nn_prefetch_slot *s = NULL;
        while (!p->stop && !s) {
            for (int k = 0; k < 2 && !s; k++)
                if (p->slot[k].state == 1)
                    s = &p->slot[k];
            if (!s && !p->stop)
                pthread_cond_wait(&p->cv, &p->mu);
        }
        if (p->stop)
            break;
        pthread_mutex_unlock(&p->mu);
        fill(p, s);
        pthread_mutex_lock(&p->mu);
        s->state = 2;
        pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int nn_prefetch_start(nn_prefetch *p, nn_dataset *ds, int cap, const nn_augment *aug,
                      uint64_t seed, nn_error *e)
{
    memset(p, 0, sizeof *p);
    p->ds = ds;
    p->aug = aug;
    p->seed = seed;
    p->cap = cap;
    p->in = nn_shape_size(&ds->x_shape);
    size_t c = (size_t)cap;
    p->scratch = malloc(p->in * sizeof(float));
    int ok = p->scratch != NULL;
    for (int k = 0; k < 2; k++) {
        p->slot[k].x = malloc(c * p->in * sizeof(float));
        p->slot[k].y = malloc(c * (size_t)ds->ydim * sizeof(float));
        p->slot[k].ids = malloc(c * sizeof(uint64_t));
        ok = ok && p->slot[k].x && p->slot[k].y && p->slot[k].ids;
    }
    if (!ok) {
        nn_prefetch_stop(p);
        return nn_err(e, NN_ENOMEM, "cannot allocate prefetch buffers for %d samples", cap);
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (pthread_create(&p->thread, NULL, worker, p)) {
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->cv);
        nn_prefetch_stop(p);
        return nn_err(e, NN_ENOMEM, "cannot start the prefetch thread");
    }
    p->started = 1;
    return NN_OK;
}

void nn_prefetch_request(nn_prefetch *p, int k, const uint64_t *ids, int count,
                         uint64_t epoch)
{
    nn_prefetch_slot *s = &p->slot[k];
    pthread_mutex_lock(&p->mu);
    memcpy(s->ids, ids, (size_t)count * sizeof *ids);
    s->count = count;
    s->epoch = epoch;
    s->rc = 0;
    s->state = count ? 1 : 2;   /* a rank may get no rows of a short batch */
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

int nn_prefetch_wait(nn_prefetch *p, int k, nn_error *e)
{
    nn_prefetch_slot *s = &p->slot[k];
    pthread_mutex_lock(&p->mu);
    while (s->state == 1)
        pthread_cond_wait(&p->cv, &p->mu);
    s->state = 0;
    int rc = s->rc;
    pthread_mutex_unlock(&p->mu);
    if (rc && e)
        *e = s->err;
    return rc;
}

void nn_prefetch_stop(nn_prefetch *p)
{
    if (p->started) {
        pthread_mutex_lock(&p->mu);
        p->stop = 1;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        pthread_join(p->thread, NULL);
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->cv);
    }
    for (int k = 0; k < 2; k++) {
        free(p->slot[k].x);
        free(p->slot[k].y);
        free(p->slot[k].ids);
    }
    free(p->scratch);
    memset(p, 0, sizeof *p);
}
