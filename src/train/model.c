/* The model at run time: initialisation, the activation plan, forward and
 * backward over the layer list, and the Keras-style summary. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "nntrain/clock.h"
#include "nntrain/fpmode.h"
#include "nntrain/gemm.h"
#include "nntrain/model.h"

void nn_model_init_params(nn_model *m, uint64_t seed)
{
    for (int i = 0; i < m->nlayers; i++) {
        nn_layer *l = &m->layers[i];
        nn_rng r = nn_rng_key(seed, 0x1a7e5, (uint64_t)i, 0);
        if (l->param_len && l->ops->init_params)
            l->ops->init_params(l, m->params + l->param_off, &r);
    }
}

/* Bytes of the widest layer output per forward pass over a thread's rows:
 * about a quarter of a core's L2. */
#define CACHE_BYTES ((size_t)512 << 10)

/* Per-thread state of the compute team: thread t's workspace and (t >= 1)
 * gradient buffer, and per layer the number of threads done with its
 * backward and whether its gradient has been summed (the last thread to
 * finish a layer adds the others' gradients into m->grads, in thread order). */
typedef struct nn_team {
    float **work;               /* (threads) work_bytes each; [0] is m->work */
    float **grads;              /* (threads) nparams each; [0] is m->grads */
    atomic_int *done;           /* (nlayers) threads past this layer's backward */
    atomic_int *summed;         /* (nlayers) gradient final */
    /* Layers run by the whole team (layer.h, team mode): per layer the input
     * features split over the threads (0: by rows, as the others), each
     * thread's part of the forward product, the batch's dz and the dx of
     * such a layer (NULL when no team layer needs one). */
    int *split;                 /* (nlayers) */
    float **part;               /* (threads) batch_max x widest team output */
    float *dz;                  /* batch_max x widest team output */
    float *dx;                  /* batch_max x dx_width */
    size_t dx_width;            /* widest team input needing dx at planning */
} nn_team;

static void team_free(nn_model *m)
{
    nn_team *t = m->team;
    if (!t)
        return;
    for (int i = 1; i < m->threads; i++) {
        if (t->work)
            free(t->work[i]);
        if (t->grads)
            free(t->grads[i]);
    }
    for (int i = 0; t->part && i < m->threads; i++)
        free(t->part[i]);
    free(t->part);
    free(t->split);
    free(t->dz);
    free(t->dx);
    free(t->work);
    free(t->grads);
    free(t->done);
    free(t->summed);
    free(t);
    m->team = NULL;
}

static int first_backward_layer(const nn_model *m);

/* Which layers the whole team runs, and their buffers for up to B rows; the
 * cache prefix keeps its row passes. dx is planned for the team layers above
 * first_backward_layer as it is now: should trainable flags change that, a
 * team layer whose dx has no buffer runs by rows (team_runs). */
static int team_plan(nn_model *m, nn_team *t, size_t B, nn_error *e)
{
    size_t wout = 0, win = 0;
    int first = first_backward_layer(m);
    t->split = calloc((size_t)m->nlayers, sizeof *t->split);
    t->part = calloc((size_t)m->threads, sizeof *t->part);
    if (!t->split || !t->part)
        return nn_err(e, NN_ENOMEM, "out of memory for %d compute threads", m->threads);
    for (int i = m->cache_layers; i < m->nlayers; i++) {
        const nn_layer *l = &m->layers[i];
        if (!l->ops->team || !(t->split[i] = l->ops->team->split(l, m->threads)))
            continue;
        size_t o = nn_shape_size(&l->out), n = nn_shape_size(&l->in);
        wout = o > wout ? o : wout;
        if (i > first)
            win = n > win ? n : win;
    }
    if (!wout)
        return NN_OK;
    for (int i = 0; i < m->threads; i++)
        if (!(t->part[i] = malloc(B * wout * sizeof(float))))
            return nn_err(e, NN_ENOMEM, "out of memory for the team layers' products");
    t->dz = malloc(B * wout * sizeof(float));
    t->dx = win ? malloc(B * win * sizeof(float)) : NULL;
    t->dx_width = win;
    if (!t->dz || (win && !t->dx))
        return nn_err(e, NN_ENOMEM, "cannot allocate %.1f MiB for the team layers' gradients",
                      (double)(B * (wout + win) * sizeof(float)) / 1048576.0);
    return NN_OK;
}

static int team_alloc(nn_model *m, size_t B, nn_error *e)
{
    int T = m->threads;
    nn_team *t = calloc(1, sizeof *t);
    m->team = t;
    if (!t)
        return nn_err(e, NN_ENOMEM, "out of memory for %d compute threads", T);
    t->work = calloc((size_t)T, sizeof *t->work);
    t->grads = calloc((size_t)T, sizeof *t->grads);
    t->done = calloc((size_t)m->nlayers, sizeof *t->done);
    t->summed = calloc((size_t)m->nlayers, sizeof *t->summed);
    if (!t->work || !t->grads || !t->done || !t->summed)
        return nn_err(e, NN_ENOMEM, "out of memory for %d compute threads", T);
    int rc = team_plan(m, t, B, e);
    if (rc)
        return rc;
    t->work[0] = m->work;
    t->grads[0] = m->grads;
    for (int i = 1; i < T; i++) {
        t->work[i] = m->work_bytes ? malloc(m->work_bytes) : NULL;
        t->grads[i] = m->nparams ? malloc(m->nparams * sizeof(float)) : NULL;
        if ((m->work_bytes && !t->work[i]) || (m->nparams && !t->grads[i]))
            return nn_err(e, NN_ENOMEM, "cannot allocate %.1f MiB of workspace and gradients "
                          "for compute thread %d of %d",
                          (double)(m->work_bytes + m->nparams * sizeof(float)) / 1048576.0,
                          i, T);
    }
    return NN_OK;
}

static void unplan(nn_model *m)
{
    team_free(m);
    if (m->acts)
        for (int i = 0; i < m->nlayers; i++)
            free(m->acts[i]);
    free(m->acts);
    free(m->dbuf[0]);
    free(m->dbuf[1]);
    free(m->work);
    free(m->cbuf);
    free(m->tbuf);
    free(m->toff);
    m->cbuf = m->tbuf = NULL;
    m->toff = NULL;
    m->tstride = 0;
    m->acts = NULL;
    m->dbuf[0] = m->dbuf[1] = NULL;
    m->work = NULL;
    m->work_bytes = 0;
    m->dstride = 0;
    m->batch_max = 0;
}

int nn_model_set_threads(nn_model *m, int threads, nn_error *e)
{
    if (threads < 1)
        return nn_err(e, NN_EINVAL, "threads: expected a positive count, found %d", threads);
    if (threads == (m->threads ? m->threads : 1))
        return NN_OK;
    unplan(m);
    nn_pool_free(m->pool);
    m->pool = NULL;
    m->threads = 1;
    if (threads > 1) {
        int rc = nn_pool_create(&m->pool, threads, e);
        if (rc)
            return rc;
        nn_blas_set_threads(1);
    }
    m->threads = threads;
    return NN_OK;
}

static int reads_x(const nn_layer *l)
{
    return !(l->ops->bwd_skips & NN_SKIPS_X);
}

static int reads_y(const nn_layer *l)
{
    unsigned s = l->ops->bwd_skips;
    if (l->mask_relu)
        return 1;
    if (s & NN_SKIPS_Y)
        return 0;
    return !((s & NN_SKIPS_Y_ACT) && (l->dy_is_preact || l->act == NN_ACT_LINEAR));
}

/* Whether a pass over a few rows at a time costs layer l nothing: its work
 * per row outweighs its parameters, or it reads them per row anyway. */
static int chunkable(const nn_layer *l)
{
    return l->rowwise || l->param_len <= nn_shape_size(&l->out);
}

/* The leading chunkable layers, and the rows of one pass over them (their
 * widest output in CACHE_BYTES); then which of their outputs only the next
 * layer's forward reads (toff). */
static int plan_cache(nn_model *m, int batch_max, nn_error *e)
{
    size_t widest_out = 1;
    m->cache_layers = 0;
    while (m->cache_layers < m->nlayers && chunkable(&m->layers[m->cache_layers])) {
        size_t o = nn_shape_size(&m->layers[m->cache_layers++].out);
        widest_out = o > widest_out ? o : widest_out;
    }
    m->cache_rows = (int)(CACHE_BYTES / (widest_out * sizeof(float)));
    if (m->cache_rows < 1)
        m->cache_rows = 1;
    if (m->cache_rows > batch_max)
        m->cache_rows = batch_max;
    if (!(m->toff = malloc((size_t)m->nlayers * sizeof *m->toff)))
        return nn_err(e, NN_ENOMEM, "out of memory planning activations");
    m->tstride = 0;
    for (int i = 0; i < m->nlayers; i++) {
        const nn_layer *l = &m->layers[i], *next = i + 1 < m->nlayers ? l + 1 : NULL;
        m->toff[i] = SIZE_MAX;
        if (i + 1 < m->cache_layers && !l->ops->reshape && !next->ops->reshape &&
            !reads_y(l) && !reads_x(next)) {
            m->toff[i] = m->tstride;
            m->tstride += (size_t)m->cache_rows * nn_shape_size(&l->out);
        }
    }
    return NN_OK;
}

int nn_model_plan(nn_model *m, int batch_max, nn_error *e)
{
    if (batch_max <= m->batch_max)
        return NN_OK;
    unplan(m);
    if (m->threads < 1)
        m->threads = 1;
    size_t B = (size_t)batch_max, widest = nn_model_in_size(m), work = 0;
    m->acts = calloc((size_t)m->nlayers, sizeof *m->acts);
    if (!m->acts)
        return nn_err(e, NN_ENOMEM, "out of memory planning activations");
    int rc = plan_cache(m, batch_max, e);
    if (rc) {
        unplan(m);
        return rc;
    }
    for (int i = 0; i < m->nlayers; i++) {
        nn_layer *l = &m->layers[i];
        size_t n = nn_shape_size(&l->out), w = 0;
        if (n > widest)
            widest = n;
        int own = !l->ops->reshape && m->toff[i] == SIZE_MAX;
        m->acts[i] = own ? malloc(B * n * sizeof(float)) : NULL;
        if (!m->acts[i] && own) {
            unplan(m);
            return nn_err(e, NN_ENOMEM, "cannot allocate %.1f MiB of activations for layer '%s' at batch %d",
                          (double)(B * n * sizeof(float)) / 1048576.0, l->name, batch_max);
        }
        if (l->ops->plan) {
            rc = l->ops->plan(l, batch_max, &w, e);
            if (rc) {
                unplan(m);
                return nn_err_prefix(e, "layer '%s'", l->name);
            }
        }
        if (w > work)
            work = w;
    }
    m->dbuf[0] = malloc(B * widest * sizeof(float));
    m->dbuf[1] = malloc(B * widest * sizeof(float));
    m->work = work ? malloc(work) : NULL;
    if (!m->dbuf[0] || !m->dbuf[1] || (work && !m->work)) {
        unplan(m);
        return nn_err(e, NN_ENOMEM, "cannot allocate the %.1f MiB workspace", (double)work / 1048576.0);
    }
    m->work_bytes = work;
    m->dstride = widest;
    if (m->tstride && !(m->tbuf = malloc((size_t)m->threads * m->tstride * sizeof(float)))) {
        unplan(m);
        return nn_err(e, NN_ENOMEM, "cannot allocate %.1f MiB of forward chunk buffers",
                      (double)(m->threads * m->tstride * sizeof(float)) / 1048576.0);
    }
    if (m->cache_layers > 0) {   /* two backward chunk buffers per thread */
        size_t cb = 2 * (size_t)m->threads * (size_t)m->cache_rows * widest;
        if (!(m->cbuf = malloc(cb * sizeof(float)))) {
            unplan(m);
            return nn_err(e, NN_ENOMEM, "cannot allocate %.1f MiB of backward buffers",
                          (double)(cb * sizeof(float)) / 1048576.0);
        }
    }
    if (m->threads > 1) {
        rc = team_alloc(m, B, e);
        if (rc) {
            unplan(m);
            return rc;
        }
    }
    m->batch_max = batch_max;
    return NN_OK;
}

const float *nn_model_layer_out(const nn_model *m, const float *x, int i)
{
    while (i >= 0 && m->layers[i].ops->reshape)
        i--;
    return i < 0 ? x : m->acts[i];   /* NULL when not kept */
}

/* Rows [r0, r0 + n) through layers [i0, i1) on thread t; ctx describes the
 * whole call. */
static void forward_rows(nn_model *m, const float *x, long r0, long n, int i0, int i1, int t,
                         float *work, const nn_ctx *ctx, double *prof)
{
    nn_ctx c = *ctx;
    c.row0 = ctx->row0 + (int)r0;
    c.sample_ids = ctx->sample_ids ? ctx->sample_ids + r0 : NULL;
    c.work = work;
    c.work_bytes = m->work_bytes;
    const float *in = nn_model_layer_out(m, x, i0 - 1);
    in += (size_t)r0 * (i0 ? nn_shape_size(&m->layers[i0 - 1].out) : nn_model_in_size(m));
    for (int i = i0; i < i1; i++) {
        nn_layer *l = &m->layers[i];
        float *y = l->ops->reshape        ? (float *)in
                   : m->toff[i] != SIZE_MAX ? m->tbuf + (size_t)t * m->tstride + m->toff[i]
                                            : m->acts[i] + (size_t)r0 * nn_shape_size(&l->out);
        double t0 = prof ? nn_now() : 0;
        l->ops->forward(l, m->params + l->param_off, in, y, (int)n, &c);
        if (prof)
            prof[2 * i] += nn_now() - t0;
        in = y;
    }
}

/* Whether the whole team runs layer i in this call of B rows (every thread
 * has rows; need_dx: its dx is wanted and must fit the planned buffer). */
static int team_runs(const nn_model *m, int i, int B, int need_dx)
{
    const nn_team *t = m->team;
    if (m->threads < 2 || !t || B < m->threads || !t->split[i])
        return 0;
    return !need_dx || (t->dx && nn_shape_size(&m->layers[i].in) <= t->dx_width);
}

int nn_model_team_layer(const nn_model *m, int i, int B)
{
    return i >= 0 && i < m->nlayers && team_runs(m, i, B, 0);
}

/* Layer i on every thread at once: thread t multiplies all B rows by its
 * slice of the input features, then sums the parts for its own rows. */
static void forward_team(nn_model *m, const float *x, int i, int B, long r0, long n, int t,
                         double *prof)
{
    nn_layer *l = &m->layers[i];
    nn_team *tm = m->team;
    const float *p = m->params + l->param_off;
    const float *in = nn_model_layer_out(m, x, i - 1);
    long k0, kn;
    nn_pool_split(tm->split[i], m->threads, t, &k0, &kn);
    double t0 = prof ? nn_now() : 0;
    nn_pool_barrier(m->pool);   /* every row of the input is written */
    l->ops->team->forward(l, p, in, tm->part[t], B, (int)k0, (int)(k0 + kn));
    nn_pool_barrier(m->pool);   /* and every part */
    float *y = m->acts[i] + (size_t)r0 * nn_shape_size(&l->out);
    l->ops->team->finish(l, p, tm->part, m->threads, y, (int)r0, (int)n, B);
    if (prof)
        prof[2 * i] += nn_now() - t0;
}

/* A thread's rows through the model. The leading chunkable layers
 * (convolutions, pooling) take a few rows at a time, so each reads its input from cache (a whole slice of large images
 * at once goes out to memory and back between layers); the rest (Dense,
 * recurrent) take the whole slice, as their weights are read once per call,
 * except the team layers, which take all B rows on every thread. */
static void forward_slice(nn_model *m, const float *x, int B, long r0, long n, int t,
                          float *work, const nn_ctx *ctx, double *prof)
{
    long step = m->cache_rows > 0 ? m->cache_rows : n;
    int k = m->cache_layers;
    for (long j = 0; k > 0 && j < n; j += step)
        forward_rows(m, x, r0 + j, n - j < step ? n - j : step, 0, k, t, work, ctx, prof);
    for (int i0 = k, i = k; i <= m->nlayers; i++) {
        int team = i < m->nlayers && team_runs(m, i, B, 0);
        if (i < m->nlayers && !team)
            continue;
        if (i > i0)
            forward_rows(m, x, r0, n, i0, i, t, work, ctx, prof);
        if (team)
            forward_team(m, x, i, B, r0, n, t, prof);
        i0 = i + 1;
    }
}

typedef struct fwd_job {
    nn_model *m;
    const float *x;
    int B;
    const nn_ctx *ctx;
} fwd_job;

static void fwd_thread(void *arg, int t, int T)
{
    fwd_job *j = arg;
    long r0, n;
    nn_pool_split(j->B, T, t, &r0, &n);
    if (n > 0)
        forward_slice(j->m, j->x, j->B, r0, n, t, j->m->team->work[t], j->ctx,
                      t ? NULL : j->m->prof);
}

const float *nn_model_forward(nn_model *m, const float *x, int B, nn_ctx *ctx)
{
    unsigned fp = nn_fp_enter();
    ctx->work = m->work;
    ctx->work_bytes = m->work_bytes;
    if (m->threads > 1 && m->team && B > 1) {
        fwd_job j = {m, x, B, ctx};
        nn_pool_run(m->pool, fwd_thread, &j);
    } else {
        forward_slice(m, x, B, 0, B, 0, m->work, ctx, m->prof);
    }
    nn_fp_leave(fp);
    return nn_model_layer_out(m, x, m->nlayers - 1);
}

/* Below the first trainable layer with parameters nothing needs a gradient:
 * backward stops there and skips its dx (for Flatten -> Dense that is a
 * third of the work of the first Dense; for a frozen base model, all of its
 * backward pass). */
static int first_backward_layer(const nn_model *m)
{
    int first = 0;
    while (first < m->nlayers - 1 &&
           (m->layers[first].param_len == 0 || !m->layers[first].trainable))
        first++;
    return first;
}

typedef struct bwd_job {
    nn_model *m;
    const float *x;
    float *dout;
    int B, first, active;   /* active: threads with rows */
    const nn_ctx *ctx;
} bwd_job;

/* grads[layer] += the other threads' buffers, in thread order. */
static void sum_layer(nn_model *m, const nn_layer *l, int active)
{
    float *g = m->grads + l->param_off;
    for (int t = 1; t < active; t++) {
        const float *restrict s = m->team->grads[t] + l->param_off;
        for (size_t k = 0; k < l->param_len; k++)
            g[k] += s[k];
    }
}

/* Announces (on the calling thread) the layers from *next down whose
 * gradients are final; wait: block until all of them are. */
static void announce(bwd_job *j, int *next, int wait)
{
    nn_model *m = j->m;
    while (*next >= j->first) {
        if (!atomic_load_explicit(&m->team->summed[*next], memory_order_acquire)) {
            if (!wait)
                return;
            continue;
        }
        const nn_layer *l = &m->layers[*next];
        if (j->ctx->grad_ready && l->param_len)
            j->ctx->grad_ready(j->ctx->grad_arg, l->param_off);
        (*next)--;
    }
}

/* Row r0 of a (rows, width) buffer; NULL for an output not kept (toff). */
static const float *rows_at(const float *buf, long r0, size_t width)
{
    return buf ? buf + (size_t)r0 * width : NULL;
}

/* Layer i's backward over rows [r0, r0 + n): dy in, dx out (NULL: none).
 * fresh: thread t's private gradient of the layer starts at zero; final:
 * the thread's last rows of this layer in this call, so it counts as done
 * (and thread 0 announces the gradients that are final). */
static void bwd_layer(bwd_job *j, int t, int i, long r0, long n, float *dy, float *dx,
                      float *grads, nn_ctx *c, int fresh, int final, int *next)
{
    nn_model *m = j->m;
    nn_layer *l = &m->layers[i];
    const float *in = rows_at(nn_model_layer_out(m, j->x, i - 1), r0, nn_shape_size(&l->in));
    const float *y = rows_at(nn_model_layer_out(m, j->x, i), r0, nn_shape_size(&l->out));
    c->row0 = j->ctx->row0 + (int)r0;
    c->sample_ids = j->ctx->sample_ids ? j->ctx->sample_ids + r0 : NULL;
    if (t && fresh && l->param_len)
        memset(grads + l->param_off, 0, l->param_len * sizeof *grads);
    double t0 = t == 0 && m->prof ? nn_now() : 0;
    l->ops->backward(l, m->params + l->param_off, grads + l->param_off, in, y, dy, dx, (int)n,
                     c);
    if (t == 0 && m->prof)
        m->prof[2 * i + 1] += nn_now() - t0;
    if (!final)
        return;
    if (j->active > 1 &&
        atomic_fetch_add_explicit(&m->team->done[i], 1, memory_order_acq_rel) ==
            j->active - 1) {
        if (l->param_len && l->trainable)
            sum_layer(m, l, j->active);
        atomic_store_explicit(&m->team->summed[i], 1, memory_order_release);
    }
    if (t == 0) {
        if (j->active > 1)
            announce(j, next, 0);
        else if (c->grad_ready && l->param_len)
            c->grad_ready(c->grad_arg, l->param_off);
    }
}

/* Team layer i backwards (see forward_team): each thread's dz rows into
 * the batch's dz, then each thread's slice of the kernel gradient and of dx
 * over all rows; the gradient is final at the second barrier, with no
 * per-thread copy to add. */
static void bwd_team(bwd_job *j, int t, int i, long r0, long n, float *dy, float *dx, int *next)
{
    nn_model *m = j->m;
    nn_layer *l = &m->layers[i];
    nn_team *tm = m->team;
    const size_t out = nn_shape_size(&l->out);
    const float *y = nn_model_layer_out(m, j->x, i) + (size_t)r0 * out;
    long k0, kn;
    nn_pool_split(tm->split[i], m->threads, t, &k0, &kn);
    double t0 = t == 0 && m->prof ? nn_now() : 0;
    l->ops->team->dz(l, y, dy, tm->dz + (size_t)r0 * out, (int)n);
    nn_pool_barrier(m->pool);
    l->ops->team->backward(l, m->params + l->param_off, m->grads + l->param_off,
                           nn_model_layer_out(m, j->x, i - 1), tm->dz, dx, j->B, (int)k0,
                           (int)(k0 + kn), t == 0);
    nn_pool_barrier(m->pool);
    if (t)
        return;
    if (m->prof)
        m->prof[2 * i + 1] += nn_now() - t0;
    atomic_store_explicit(&m->team->summed[i], 1, memory_order_release);
    announce(j, next, 0);
}

/* Thread t's rows backwards: the layers above the cache prefix (Dense,
 * recurrent) over the whole slice, as their weights are read once per
 * call; then the prefix (convolutions, pooling) a few rows at a time
 * through all of its layers, between two small per-thread buffers, so each
 * layer's dx is read from cache by the layer below. */
static void bwd_rows(bwd_job *j, int t, int T)
{
    nn_model *m = j->m;
    long r0, n;
    nn_pool_split(j->B, T, t, &r0, &n);
    if (n == 0)
        return;
    nn_ctx c = *j->ctx;
    c.work = m->team ? m->team->work[t] : m->work;
    c.work_bytes = m->work_bytes;
    float *grads = t ? m->team->grads[t] : m->grads;
    /* Thread t's rows of the dx buffers: a fixed region per thread, as a
     * layer's rows are narrower or wider than its neighbour's. */
    float *dbuf[2] = {m->dbuf[0] + (size_t)r0 * m->dstride, m->dbuf[1] + (size_t)r0 * m->dstride};
    float *dy = j->dout + (size_t)r0 * nn_model_out_size(m);
    int flip = 0, next = m->nlayers - 1;
    int k = m->cache_layers > j->first ? m->cache_layers : j->first;
    for (int i = m->nlayers - 1; i >= k; i--) {
        const nn_layer *l = &m->layers[i];
        if (T > 1 && team_runs(m, i, j->B, i > j->first)) {
            float *dxt = i > j->first ? m->team->dx : NULL;
            bwd_team(j, t, i, r0, n, dy, dxt, &next);
            dy = dxt ? dxt + (size_t)r0 * nn_shape_size(&l->in) : NULL;
            continue;
        }
        float *dx = i > j->first ? (l->ops->reshape ? dy : dbuf[flip]) : NULL;
        bwd_layer(j, t, i, r0, n, dy, dx, grads, &c, 1, 1, &next);
        if (dx != dy)
            flip ^= 1;
        dy = dx;
    }
    if (k == j->first)
        return;
    const size_t chunk = (size_t)m->cache_rows * m->dstride;
    float *cb[2] = {m->cbuf + (2 * (size_t)t) * chunk, m->cbuf + (2 * (size_t)t + 1) * chunk};
    const size_t dyrow = nn_shape_size(&m->layers[k - 1].out);
    for (long s = 0; s < n; s += m->cache_rows) {
        long cn = n - s < m->cache_rows ? n - s : m->cache_rows;
        float *cdy = dy + (size_t)s * dyrow;
        int cf = 0;
        for (int i = k - 1; i >= j->first; i--) {
            const nn_layer *l = &m->layers[i];
            float *cdx = i > j->first ? (l->ops->reshape ? cdy : cb[cf]) : NULL;
            bwd_layer(j, t, i, r0 + s, cn, cdy, cdx, grads, &c, s == 0, s + cn >= n, &next);
            if (cdx != cdy)
                cf ^= 1;
            cdy = cdx;
        }
    }
}

static void bwd_thread(void *arg, int t, int T)
{
    bwd_rows(arg, t, T);
}

void nn_model_backward(nn_model *m, const float *x, float *dout, int B, nn_ctx *ctx)
{
    unsigned fp = nn_fp_enter();
    ctx->work = m->work;
    ctx->work_bytes = m->work_bytes;
    bwd_job j = {m, x, dout, B, first_backward_layer(m), 1, ctx};
    if (m->threads > 1 && m->team && B > 1) {
        j.active = B < m->threads ? B : m->threads;
        for (int i = 0; i < m->nlayers; i++) {
            atomic_store_explicit(&m->team->done[i], 0, memory_order_relaxed);
            atomic_store_explicit(&m->team->summed[i], 0, memory_order_relaxed);
        }
        nn_pool_run(m->pool, bwd_thread, &j);
        int next = m->nlayers - 1;
        announce(&j, &next, 1);   /* all summed by now: the rest, in order */
    } else {
        bwd_rows(&j, 0, 1);
    }
    nn_fp_leave(fp);
}

typedef struct upd_job {
    nn_model *m;
} upd_job;

static void upd_thread(void *arg, int t, int T)
{
    nn_model *m = ((upd_job *)arg)->m;
    for (int i = 0; i < m->nlayers; i++) {
        const nn_layer *l = &m->layers[i];
        if (!l->trainable || !l->param_len)
            continue;
        long r0, n;
        nn_pool_split((long)l->param_len, T, t, &r0, &n);
        if (n > 0)
            nn_optim_update(&m->optim, m->params, m->grads, l->param_off + (size_t)r0,
                            (size_t)n);
    }
}

void nn_model_update(nn_model *m)
{
    unsigned fp = nn_fp_enter();
    upd_job j = {m};
    nn_pool_run(m->threads > 1 ? m->pool : NULL, upd_thread, &j);
    nn_optim_advance(&m->optim);
    nn_fp_leave(fp);
}

size_t nn_model_in_size(const nn_model *m)
{
    return nn_shape_size(&m->in_shape);
}

size_t nn_model_out_size(const nn_model *m)
{
    return m->nlayers ? nn_shape_size(&m->layers[m->nlayers - 1].out) : 0;
}

size_t nn_model_trainable_params(const nn_model *m)
{
    size_t n = 0;
    for (int i = 0; i < m->nlayers; i++)
        if (m->layers[i].trainable)
            n += m->layers[i].param_len;
    return n;
}

/* 1234567 -> "1,234,567" */
static const char *commas(size_t v, char *buf)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%zu", v), k = 0;
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0)
            buf[k++] = ',';
        buf[k++] = tmp[i];
    }
    buf[k] = 0;
    return buf;
}

void nn_model_summary(const nn_model *m, FILE *f)
{
    /* Keras's layout, with a first column wide enough for the longest
     * "name (Type)" instead of Keras's wrapping. */
    const char *rule = "__________________________________________________________________________";
    const char *dbl = "==========================================================================";
    char shape[64], who[128], n1[32];
    fprintf(f, "Model: \"%s\"\n%s\n", m->name, rule);
    fprintf(f, " %-37s %-25s %-10s\n%s\n", "Layer (type)", "Output Shape", "Param #", dbl);
    for (int i = 0; i < m->nlayers; i++) {
        const nn_layer *l = &m->layers[i];
        snprintf(who, sizeof who, "%s (%s)", l->name, l->ops->kind);
        fprintf(f, " %-37s %-25s %-10zu\n", who, nn_shape_str(&l->out, shape, sizeof shape),
                l->param_len);
        if (i + 1 < m->nlayers)
            fprintf(f, "\n");
    }
    size_t tr = nn_model_trainable_params(m);
    fprintf(f, "%s\nTotal params: %s\n", dbl, commas(m->nparams, n1));
    fprintf(f, "Trainable params: %s\n", commas(tr, n1));
    fprintf(f, "Non-trainable params: %s\n%s\n", commas(m->nparams - tr, n1), rule);
}

void nn_model_free(nn_model *m)
{
    unplan(m);
    nn_pool_free(m->pool);
    free(m->prof);
    for (int i = 0; i < m->nlayers; i++)
        nn_layer_destroy(&m->layers[i]);
    free(m->layers);
    free(m->params);
    free(m->grads);
    nn_optim_free(&m->optim);
    memset(m, 0, sizeof *m);
}
