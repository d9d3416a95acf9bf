/* The executor: forward, backward and the optimizer step over the plan
 * (plan.c) on the compute threads. Each thread takes a slice of the rows;
 * the leading cache prefix (convolutions, pooling) goes a few rows at a
 * time so each layer reads its input from cache; wide Dense layers run on
 * the whole team between barriers. Per-thread gradients are added in thread
 * order, so a run is reproducible for a given thread count. exec_ref.c does
 * the same layer calls in the plainest order: read it first. */
#include <stdatomic.h>
#include <string.h>

#include "nntrain/clock.h"
#include "nntrain/fpmode.h"
#include "train/exec.h"

/* Rows [r0, r0 + n) through layers [i0, i1) on thread t; ctx describes the
 * whole call. */
void nn_exec_forward_rows(nn_model *m, const float *x, long r0, long n, int i0, int i1, int t,
                          float *work, const nn_ctx *ctx, double *prof)
{
    const nn_exec *ex = m->exec;
    nn_ctx c = *ctx;
    c.row0 = ctx->row0 + (int)r0;
    c.sample_ids = ctx->sample_ids ? ctx->sample_ids + r0 : NULL;
    c.work = work;
    c.work_bytes = ex->work_bytes;
    if (i0 >= i1)
        return;
    const float *in = nn_model_layer_out(m, x, m->layers[i0].inp[0]);
    in += (size_t)r0 * nn_shape_size(&m->layers[i0].in);
    for (int i = i0; i < i1; i++) {
        nn_layer *l = &m->layers[i];
        float *y = l->ops->reshape          ? (float *)in
                   : ex->toff[i] != SIZE_MAX ? ex->tbuf + (size_t)t * ex->tstride + ex->toff[i]
                                             : ex->acts[i] + (size_t)r0 * nn_shape_size(&l->out);
        double t0 = prof ? nn_now() : 0;
        l->ops->forward(l, m->params + l->param_off, in, y, (int)n, &c);
        if (prof)
            prof[2 * i] += nn_now() - t0;
        in = y;
    }
}

/* Layer i on every thread at once: thread t multiplies all B rows by its
 * slice of the input features, then sums the parts for its own rows. */
static void forward_team(nn_model *m, const float *x, int i, int B, long r0, long n, int t,
                         double *prof)
{
    nn_layer *l = &m->layers[i];
    const nn_exec *ex = m->exec;
    nn_team *tm = ex->team;
    const float *p = m->params + l->param_off;
    const float *in = nn_model_layer_out(m, x, i - 1);
    long k0, kn;
    nn_pool_split(tm->split[i], ex->threads, t, &k0, &kn);
    double t0 = prof ? nn_now() : 0;
    nn_pool_barrier(ex->pool);   /* every row of the input is written */
    l->ops->team->forward(l, p, in, tm->part[t], B, (int)k0, (int)(k0 + kn), tm->work[t]);
    nn_pool_barrier(ex->pool);   /* and every part */
    float *y = ex->acts[i] + (size_t)r0 * nn_shape_size(&l->out);
    l->ops->team->finish(l, p, tm->part, ex->threads, y, (int)r0, (int)n, B);
    if (prof)
        prof[2 * i] += nn_now() - t0;
}

/* Thread 0's partial := the sum of every thread's, in thread order. */
static void add_parts(const nn_exec *ex, size_t n)
{
    double *s = ex->bpart;
    for (int t = 1; t < ex->threads; t++) {
        const double *p = ex->bpart + (size_t)t * ex->bpart_n;
        for (size_t k = 0; k < n; k++)
            s[k] += p[k];
    }
}

/* Whole-batch layer i (BatchNormalization) with T > 1 threads. With batch
 * ops each thread sums over its rows, thread 0 adds the parts and finishes
 * the statistics between barriers (the ranks' allsum inside), and each
 * thread normalises its rows; else thread 0 runs the layer over all B rows
 * once every thread's rows of its input are written. */
void nn_exec_forward_whole(nn_model *m, const float *x, int i, int B, int t, float *work,
                           const nn_ctx *ctx, double *prof)
{
    nn_exec *ex = m->exec;
    nn_layer *l = &m->layers[i];
    const nn_layer_batch_ops *bo = l->ops->batch;
    if (!bo || !ex->bpart) {
        nn_pool_barrier(ex->pool);
        if (t == 0)
            nn_exec_forward_rows(m, x, 0, B, i, i + 1, 0, work, ctx, prof);
        nn_pool_barrier(ex->pool);
        return;
    }
    long r0, n;
    nn_pool_split(B, ex->threads, t, &r0, &n);
    const float *in = nn_model_layer_out(m, x, l->inp[0]) + (size_t)r0 * nn_shape_size(&l->in);
    float *y = ex->acts[i] + (size_t)r0 * nn_shape_size(&l->out);
    float *p = m->params + l->param_off;
    double *part = ex->bpart + (size_t)t * ex->bpart_n;
    double t0 = prof ? nn_now() : 0;
    nn_ctx c = *ctx;
    c.work = work;
    int np = bo->fwd_phases(l, ctx);
    for (int ph = 0; ph < (np ? np : 1); ph++) {
        if (np)
            bo->fwd_partial(l, ph, in, (int)n, part);
        nn_pool_barrier(ex->pool);
        if (t == 0) {
            if (np)
                add_parts(ex, (size_t)bo->nsums(l));
            bo->fwd_reduce(l, p, np ? ph : -1, ex->bpart, B, &c);
        }
        nn_pool_barrier(ex->pool);
    }
    bo->fwd_apply(l, p, in, y, (int)n);
    if (prof)
        prof[2 * i] += nn_now() - t0;
}

/* A thread's rows through the model. The leading chunkable layers
 * (convolutions, pooling) take a few rows at a time, so each reads its
 * input from cache (a whole slice of large images at once goes out to
 * memory and back between layers); the rest (Dense, recurrent) take the
 * whole slice, as their weights are read once per call, except the team
 * layers, which take all B rows on every thread, and the whole-batch
 * layers (forward_whole). threaded: T > 1 threads run this together. */
static void forward_slice(nn_model *m, const float *x, int B, long r0, long n, int t,
                          float *work, const nn_ctx *ctx, double *prof, int threaded)
{
    const nn_exec *ex = m->exec;
    if (m->graph) {
        nn_exec_graph_forward(m, x, B, r0, n, t, work, ctx, prof, threaded);
        return;
    }
    long step = ex->cache_rows > 0 ? ex->cache_rows : n;
    int k = ex->cache_layers;
    for (long j = 0; k > 0 && j < n; j += step)
        nn_exec_forward_rows(m, x, r0 + j, n - j < step ? n - j : step, 0, k, t, work, ctx, prof);
    for (int i0 = k, i = k; i <= m->nlayers; i++) {
        int team = i < m->nlayers && nn_exec_team_runs(m, i, B, 0);
        int whole = threaded && i < m->nlayers && m->layers[i].ops->whole_batch;
        if (i < m->nlayers && !team && !whole)
            continue;
        if (i > i0)
            nn_exec_forward_rows(m, x, r0, n, i0, i, t, work, ctx, prof);
        if (team)
            forward_team(m, x, i, B, r0, n, t, prof);
        else if (whole)
            nn_exec_forward_whole(m, x, i, B, t, work, ctx, prof);
        i0 = i + 1;
    }
}

/* Whether a call of B rows runs on the thread pool: every thread must have
 * rows when a whole-batch layer's barriers wait for them all. */
static int threaded(const nn_model *m, int B)
{
    const nn_exec *ex = m->exec;
    return ex->threads > 1 && ex->team && B > 1 &&
           (B >= ex->threads || !ex->wbuf[0]);
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
        forward_slice(j->m, j->x, j->B, r0, n, t, j->m->exec->team->work[t], j->ctx,
                      t ? NULL : j->m->prof, 1);
}

const float *nn_model_forward(nn_model *m, const float *x, int B, nn_ctx *ctx)
{
    nn_exec *ex = m->exec;
    unsigned fp = nn_fp_enter();
    ctx->work = ex->work;
    ctx->work_bytes = ex->work_bytes;
    if (threaded(m, B)) {
        fwd_job j = {m, x, B, ctx};
        nn_pool_run(ex->pool, fwd_thread, &j);
    } else {
        forward_slice(m, x, B, 0, B, 0, ex->work, ctx, m->prof, 0);
    }
    nn_fp_leave(fp);
    return nn_model_layer_out(m, x, m->nlayers - 1);
}

/* grads[layer] += the other threads' buffers, in thread order. */
static void sum_layer(nn_model *m, const nn_layer *l, int active)
{
    float *g = m->grads + l->param_off;
    for (int t = 1; t < active; t++) {
        const float *restrict s = m->exec->team->grads[t] + l->param_off;
        for (size_t k = 0; k < l->param_len; k++)
            g[k] += s[k];
    }
}

/* Announces (on the calling thread, thread 0) the layers from j->next
 * down whose gradients are final, each once; wait: block until all of them
 * are. */
static void announce(bwd_job *j, int wait)
{
    nn_model *m = j->m;
    while (j->next >= j->first) {
        if (!atomic_load_explicit(&m->exec->team->summed[j->next], memory_order_acquire)) {
            if (!wait)
                return;
            continue;
        }
        const nn_layer *l = &m->layers[j->next];
        if (j->ready && l->param_len)
            j->ready(j->ready_arg, l->param_off);
        j->next--;
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
void nn_exec_bwd_layer(bwd_job *j, int t, int i, long r0, long n, float *dy, float *dx,
                       float *grads, nn_ctx *c, int fresh, int final)
{
    nn_model *m = j->m;
    nn_layer *l = &m->layers[i];
    const float *in = rows_at(nn_model_layer_out(m, j->x, l->inp[0]), r0, nn_shape_size(&l->in));
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
    if (final)
        nn_exec_layer_final(j, t, i);
}

void nn_exec_layer_final(bwd_job *j, int t, int i)
{
    nn_model *m = j->m;
    const nn_layer *l = &m->layers[i];
    nn_team *tm = m->exec->team;
    if (j->active > 1 &&
        atomic_fetch_add_explicit(&tm->done[i], 1, memory_order_acq_rel) == j->active - 1) {
        if (l->param_len && l->trainable)
            sum_layer(m, l, j->active);
        atomic_store_explicit(&tm->summed[i], 1, memory_order_release);
    }
    if (t == 0) {
        if (j->active > 1)
            announce(j, 0);
        else if (j->ready && l->param_len)
            j->ready(j->ready_arg, l->param_off);
    }
}

/* Team layer i backwards (see forward_team): each thread's dz rows into
 * the batch's dz, then each thread's slice of the kernel gradient and of dx
 * over all rows; the gradient is final at the second barrier, with no
 * per-thread copy to add. */
static void bwd_team(bwd_job *j, int t, int i, long r0, long n, float *dy, float *dx)
{
    nn_model *m = j->m;
    nn_layer *l = &m->layers[i];
    const nn_exec *ex = m->exec;
    nn_team *tm = ex->team;
    const size_t out = nn_shape_size(&l->out);
    const float *y = nn_model_layer_out(m, j->x, i) + (size_t)r0 * out;
    long k0, kn;
    nn_pool_split(tm->split[i], ex->threads, t, &k0, &kn);
    double t0 = t == 0 && m->prof ? nn_now() : 0;
    l->ops->team->dz(l, y, dy, tm->dz + (size_t)r0 * out, (int)n);
    nn_pool_barrier(ex->pool);
    l->ops->team->backward(l, m->params + l->param_off, m->grads + l->param_off,
                          nn_model_layer_out(m, j->x, i - 1), tm->dz, dx, j->B, (int)k0,
                          (int)(k0 + kn), t == 0, tm->work[t]);
    nn_pool_barrier(ex->pool);
    if (t)
        return;
    if (m->prof)
        m->prof[2 * i + 1] += nn_now() - t0;
    atomic_store_explicit(&tm->summed[i], 1, memory_order_release);
    announce(j, 0);
}

/* Whole-batch layer i backwards with T > 1 threads (see
 * nn_exec_forward_whole): with batch ops each thread's partial sums over its
 * rows, thread 0 finishes (the gradient of the layer's weights goes straight
 * into m->grads, final at once), each thread its rows of dx; else each
 * thread's dy rows into one batch buffer and thread 0 runs the layer over
 * all B rows. Returns thread t's rows of dx (NULL: none). */
float *nn_exec_bwd_whole(bwd_job *j, int t, int i, long r0, long n, const float *dy,
                         int want_dx, nn_ctx *c)
{
    nn_model *m = j->m;
    nn_layer *l = &m->layers[i];
    const nn_exec *ex = m->exec;
    const nn_layer_batch_ops *bo = l->ops->batch;
    const size_t out = nn_shape_size(&l->out), in = nn_shape_size(&l->in);
    const float *x = nn_model_layer_out(m, j->x, l->inp[0]);
    double t0 = t == 0 && m->prof ? nn_now() : 0;
    if (bo && ex->bpart)
        bo->bwd_partial(l, x + (size_t)r0 * in, dy, (int)n, ex->bpart + (size_t)t * ex->bpart_n);
    else
        memcpy(ex->wbuf[0] + (size_t)r0 * out, dy, (size_t)n * out * sizeof *dy);
    nn_pool_barrier(ex->pool);
    if (t == 0) {
        /* every layer above is final: announce them all before the layer's
         * own collectives, so each rank starts the same gradient buckets
         * before them (MPI matches collectives by order) */
        announce(j, 0);
        c->row0 = j->ctx->row0;
        c->sample_ids = j->ctx->sample_ids;
        if (bo && ex->bpart) {
            add_parts(ex, (size_t)bo->nsums(l));
            bo->bwd_reduce(l, m->params + l->param_off, m->grads + l->param_off, ex->bpart,
                           j->B, want_dx, c);
        } else {
            l->ops->backward(l, m->params + l->param_off, m->grads + l->param_off, x,
                             nn_model_layer_out(m, j->x, i), ex->wbuf[0],
                             want_dx ? ex->wbuf[1] : NULL, j->B, c);
        }
        atomic_store_explicit(&ex->team->summed[i], 1, memory_order_release);
        announce(j, 0);
    }
    nn_pool_barrier(ex->pool);
    float *dx = want_dx ? ex->wbuf[1] + (size_t)r0 * in : NULL;
    if (dx && bo && ex->bpart)
        bo->bwd_apply(l, x + (size_t)r0 * in, dy, dx, (int)n);
    if (t == 0 && m->prof)
        m->prof[2 * i + 1] += nn_now() - t0;
    return dx;
}

/* The cache prefix backwards, layers [first, k), over thread t's rows
 * [r0, r0 + n) a few rows at a time through all of its layers, between two
 * small per-thread buffers, so each layer's dx is read from cache by the
 * layer below. dy: the rows' dL/d(output of layer k - 1). */
void nn_exec_bwd_prefix(bwd_job *j, int t, int k, long r0, long n, float *dy, float *grads,
                       nn_ctx *c)
{
    nn_model *m = j->m;
    const nn_exec *ex = m->exec;
    const size_t chunk = (size_t)ex->cache_rows * ex->dstride;
    float *cb[2] = {ex->cbuf + (2 * (size_t)t) * chunk, ex->cbuf + (2 * (size_t)t + 1) * chunk};
    const size_t dyrow = nn_shape_size(&m->layers[k - 1].out);
    for (long s = 0; s < n; s += ex->cache_rows) {
        long cn = n - s < ex->cache_rows ? n - s : ex->cache_rows;
        float *cdy = dy + (size_t)s * dyrow;
        int cf = 0;
        for (int i = k - 1; i >= j->first; i--) {
            const nn_layer *l = &m->layers[i];
            float *cdx = i > j->first ? (l->ops->reshape ? cdy : cb[cf]) : NULL;
            nn_exec_bwd_layer(j, t, i, r0 + s, cn, cdy, cdx, grads, c, s == 0, s + cn >= n);
            if (cdx != cdy)
                cf ^= 1;
            cdy = cdx;
        }
    }
}

/* Thread t's rows backwards: the layers above the cache prefix (Dense,
 * recurrent) over the whole slice, as their weights are read once per
 * call; then the prefix (bwd_prefix). */
static void bwd_rows(bwd_job *j, int t, int T)
{
    nn_model *m = j->m;
    const nn_exec *ex = m->exec;
    long r0, n;
    nn_pool_split(j->B, T, t, &r0, &n);
    if (n == 0)
        return;
    nn_ctx c = *j->ctx;
    c.work = ex->team ? ex->team->work[t] : ex->work;
    c.work_bytes = ex->work_bytes;
    float *grads = t ? ex->team->grads[t] : m->grads;
    /* Thread t's rows of the dx buffers: a fixed region per thread, as a
     * layer's rows are narrower or wider than its neighbour's. */
    float *dbuf[2] = {ex->dbuf[0] + (size_t)r0 * ex->dstride,
                      ex->dbuf[1] + (size_t)r0 * ex->dstride};
    float *dy = j->dout + (size_t)r0 * nn_model_out_size(m);
    int flip = 0;
    int k = ex->cache_layers > j->first ? ex->cache_layers : j->first;
    for (int i = m->nlayers - 1; i >= k; i--) {
        const nn_layer *l = &m->layers[i];
        if (T > 1 && nn_exec_team_runs(m, i, j->B, i > j->first)) {
            float *dxt = i > j->first ? ex->team->dx : NULL;
            bwd_team(j, t, i, r0, n, dy, dxt);
            dy = dxt ? dxt + (size_t)r0 * nn_shape_size(&l->in) : NULL;
            continue;
        }
        if (T > 1 && l->ops->whole_batch) {
            dy = nn_exec_bwd_whole(j, t, i, r0, n, dy, i > j->first, &c);
            continue;
        }
        float *dx = i > j->first ? (l->ops->reshape ? dy : dbuf[flip]) : NULL;
        nn_exec_bwd_layer(j, t, i, r0, n, dy, dx, grads, &c, 1, 1);
        if (dx != dy)
            flip ^= 1;
        dy = dx;
    }
    if (k > j->first)
        nn_exec_bwd_prefix(j, t, k, r0, n, dy, grads, &c);
}

static void bwd_thread(void *arg, int t, int T)
{
    bwd_job *j = arg;
    if (j->m->graph)
        nn_exec_graph_backward(j, t, T);
    else
        bwd_rows(j, t, T);
}

void nn_model_backward_hook(nn_model *m, const float *x, float *dout, int B, nn_ctx *ctx,
                            nn_grad_ready_fn ready, void *arg)
{
    nn_exec *ex = m->exec;
    unsigned fp = nn_fp_enter();
    ctx->work = ex->work;
    ctx->work_bytes = ex->work_bytes;
    int first = m->graph ? nn_exec_graph_need(m) : nn_exec_first_backward(m);
    bwd_job j = {m, x, dout, B, first, 1, ctx, ready, arg, m->nlayers - 1};
    if (threaded(m, B)) {
        j.active = B < ex->threads ? B : ex->threads;
        for (int i = 0; i < m->nlayers; i++) {
            /* a graph layer whose backward does not run is final at once */
            int skip = m->graph && !ex->gneed[i];
            atomic_store_explicit(&ex->team->done[i], 0, memory_order_relaxed);
            atomic_store_explicit(&ex->team->summed[i], skip, memory_order_relaxed);
        }
        nn_pool_run(ex->pool, bwd_thread, &j);
        announce(&j, 1);   /* all summed by now: the rest, in order */
    } else {
        bwd_thread(&j, 0, 1);
    }
    nn_fp_leave(fp);
}

void nn_model_backward(nn_model *m, const float *x, float *dout, int B, nn_ctx *ctx)
{
    nn_model_backward_hook(m, x, dout, B, ctx, NULL, NULL);
}

void nn_model_whole_batch_idle(nn_model *m, nn_ctx *ctx)
{
    float dummy[1] = {0};
    int first = m->graph ? nn_exec_graph_need(m) : nn_exec_first_backward(m);
    ctx->work = m->exec->work;
    ctx->work_bytes = m->exec->work_bytes;
    for (int i = 0; i < m->nlayers; i++) {
        nn_layer *l = &m->layers[i];
        if (l->ops->whole_batch)
            l->ops->forward(l, m->params + l->param_off, dummy, dummy, 0, ctx);
    }
    for (int i = m->nlayers - 1; i >= first; i--) {
        nn_layer *l = &m->layers[i];
        int p = l->inp[0];
        int runs = !m->graph || m->exec->gneed[i];
        int dx = m->graph ? p >= 0 && m->exec->gneed[p] : i > first;
        if (l->ops->whole_batch && runs)
            l->ops->backward(l, m->params + l->param_off, m->grads + l->param_off, dummy, dummy,
                             dummy, dx ? dummy : NULL, 0, ctx);
    }
}

typedef struct upd_job {
    nn_model *m;
} upd_job;

static int refreshes(const nn_layer *l)
{
    return l->ops->refresh && l->trainable && l->param_len;
}

static void upd_thread(void *arg, int t, int T)
{
    nn_model *m = ((upd_job *)arg)->m;
    int k = 0;
    for (int i = 0; i < m->nlayers; i++) {
        const nn_layer *l = &m->layers[i];
        if (!l->trainable || !l->param_len)
            continue;
        long r0, n;
        nn_pool_split((long)(l->param_len - l->frozen_len), T, t, &r0, &n);
        if (n > 0)
            nn_optim_update(&m->optim, m->params, m->grads, l->param_off + (size_t)r0,
                            (size_t)n);
        k += refreshes(l);
    }
    if (!k)
        return;
    /* a layer's weights are whole once every thread's slice is updated */
    if (T > 1)
        nn_pool_barrier(m->exec->pool);
    k = 0;
    for (int i = 0; i < m->nlayers; i++) {
        nn_layer *l = &m->layers[i];
        if (refreshes(l) && k++ % T == t)
            l->ops->refresh(l, m->params + l->param_off);
    }
}

void nn_model_update(nn_model *m)
{
    const nn_exec *ex = m->exec;
    unsigned fp = nn_fp_enter();
    upd_job j = {m};
    nn_model_clip_grads(m);
    nn_pool_run(ex && ex->threads > 1 ? ex->pool : NULL, upd_thread, &j);
    nn_optim_advance(&m->optim);
    nn_fp_leave(fp);
}
