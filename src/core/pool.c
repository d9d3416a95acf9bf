/* Compute thread team (see pool.h). A job is published by bumping a
 * generation counter; workers notice it while spinning or are woken from
 * the condition variable. The caller is thread 0 and waits for the others
 * the same way. */
#define _GNU_SOURCE
#include "nntrain/pool.h"

#include "nntrain/fpmode.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Polls before sleeping: about 50-100 us on current x86 cores, longer than
 * the gap between the jobs of one training step, far shorter than a step. */
#define SPIN_POLLS 4000

struct nn_pool {
    int n;
    pthread_t *th;
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    nn_pool_fn fn;
    void *arg;
    atomic_uint gen;       /* jobs published */
    atomic_int pending;    /* workers still in the current job */
    atomic_int bar_count;  /* threads at the current barrier */
    atomic_uint bar_gen;   /* barriers passed */
    int stop;
    int pin;               /* cpus[] valid */
    int *cpus;
};

typedef struct worker_arg {
    nn_pool *p;
    int tid;
} worker_arg;

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void pin_self(const nn_pool *p, int tid)
{
    if (!p->pin)
        return;
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(p->cpus[tid], &s);
    (void)pthread_setaffinity_np(pthread_self(), sizeof s, &s);
}

static void *worker(void *v)
{
    worker_arg wa = *(worker_arg *)v;
    nn_pool *p = wa.p;
    free(v);
    pin_self(p, wa.tid);
    (void)nn_fp_enter();   /* a compute thread for good: denormals flushed */
    unsigned seen = 0;
    for (;;) {
        unsigned g = atomic_load_explicit(&p->gen, memory_order_acquire);
        for (int i = 0; g == seen && i < SPIN_POLLS; i++) {
            cpu_relax();
            g = atomic_load_explicit(&p->gen, memory_order_acquire);
        }
        if (g == seen) {
            pthread_mutex_lock(&p->mu);
            while ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen &&
                   !p->stop)
                pthread_cond_wait(&p->go, &p->mu);
            int stop = p->stop;
            pthread_mutex_unlock(&p->mu);
            if (stop)
                return NULL;
        }
        seen = g;
        p->fn(p->arg, wa.tid, p->n);
        if (atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
}

/* The CPUs of this thread's affinity mask, if there are exactly n of them. */
static int own_cpus(int n, int *cpus)
{
    const char *env = getenv("NNTRAIN_PIN");
    if (env && !strcmp(env, "0"))
        return 0;
    cpu_set_t s;
    if (sched_getaffinity(0, sizeof s, &s) || CPU_COUNT(&s) != n)
        return 0;
    int k = 0;
    for (int c = 0; c < CPU_SETSIZE && k < n; c++)
        if (CPU_ISSET(c, &s))
            cpus[k++] = c;
    return k == n;
}

int nn_pool_create(nn_pool **out, int threads, nn_error *e)
{
    *out = NULL;
    if (threads < 1 || threads > 4096)
        return nn_err(e, NN_EINVAL, "threads: expected 1 to 4096, found %d", threads);
    nn_pool *p = calloc(1, sizeof *p);
    if (!p)
        return nn_err(e, NN_ENOMEM, "out of memory for a team of %d threads", threads);
    p->n = threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->go, NULL);
    pthread_cond_init(&p->done, NULL);
    atomic_init(&p->gen, 0);
    atomic_init(&p->pending, 0);
    atomic_init(&p->bar_count, 0);
    atomic_init(&p->bar_gen, 0);
    p->th = calloc((size_t)threads, sizeof *p->th);
    p->cpus = calloc((size_t)threads, sizeof *p->cpus);
    if (!p->th || !p->cpus) {
        nn_pool_free(p);
        return nn_err(e, NN_ENOMEM, "out of memory for a team of %d threads", threads);
    }
    /* Workers only: the caller keeps the whole mask (it may start other
     * threads, such as the prefetcher, that inherit it). */
    p->pin = threads > 1 && own_cpus(threads, p->cpus);
    for (int t = 1; t < threads; t++) {
        worker_arg *wa = malloc(sizeof *wa);
        int rc = wa ? 0 : ENOMEM;
        if (wa) {
            wa->p = p;
            wa->tid = t;
            rc = pthread_create(&p->th[t], NULL, worker, wa);
            if (rc)
                free(wa);
        }
        if (rc) {
            p->n = t;   /* join the ones that started */
            nn_pool_free(p);
            return nn_err(e, NN_EIO, "cannot start compute thread %d of %d: %s", t, threads,
                          strerror(rc));
        }
    }
    *out = p;
    return NN_OK;
}

int nn_pool_size(const nn_pool *p)
{
    return p ? p->n : 1;
}

void nn_pool_run(nn_pool *p, nn_pool_fn fn, void *arg)
{
    if (!p || p->n == 1) {
        fn(arg, 0, 1);
        return;
    }
    p->fn = fn;
    p->arg = arg;
    atomic_store_explicit(&p->pending, p->n - 1, memory_order_relaxed);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    fn(arg, 0, p->n);
    for (int i = 0; i < SPIN_POLLS; i++) {
        if (atomic_load_explicit(&p->pending, memory_order_acquire) == 0)
            return;
        cpu_relax();
    }
    pthread_mutex_lock(&p->mu);
    while (atomic_load_explicit(&p->pending, memory_order_acquire) != 0)
        pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

void nn_pool_barrier(nn_pool *p)
{
    if (!p || p->n == 1)
        return;
    unsigned g = atomic_load_explicit(&p->bar_gen, memory_order_acquire);
    if (atomic_fetch_add_explicit(&p->bar_count, 1, memory_order_acq_rel) == p->n - 1) {
        atomic_store_explicit(&p->bar_count, 0, memory_order_relaxed);
        atomic_fetch_add_explicit(&p->bar_gen, 1, memory_order_release);
        return;
    }
    /* The threads of a step arrive within microseconds of each other; an
     * oversubscribed node must not be starved by spinning. */
    for (long i = 0; atomic_load_explicit(&p->bar_gen, memory_order_acquire) == g; i++) {
        if (i < SPIN_POLLS)
            cpu_relax();
        else
            sched_yield();
    }
}

void nn_pool_free(nn_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    for (int t = 1; t < p->n && p->th; t++)
        pthread_join(p->th[t], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->go);
    pthread_cond_destroy(&p->done);
    free(p->th);
    free(p->cpus);
    free(p);
}

void nn_pool_split(long B, int T, int t, long *r0, long *n)
{
    long base = B / T, rem = B % T;
    *r0 = (long)t * base + (t < rem ? t : rem);
    *n = base + (t < rem ? 1 : 0);
}
