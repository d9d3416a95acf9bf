/* The executor's plan (exec.h): the compute threads, the activation, dx and
 * workspace buffers for batch_max rows, the cache prefix (leading layers run
 * a few rows at a time, some outputs kept one chunk at a time) and the team
 * layers with their buffers. Everything is allocated here, once, so that the
 * passes in exec.c never allocate. */
#include <stdlib.h>
#include <string.h>

#include "nntrain/gemm.h"
#include "train/exec.h"

/* Bytes of the widest layer output per forward pass over a thread's rows:
 * about a quarter of a core's L2. */
#define CACHE_BYTES ((size_t)512 << 10)

/* m->exec, made on first use (one thread, nothing planned). */
static nn_exec *exec_get(nn_model *m, nn_error *e)
{
    if (!m->exec && (m->exec = calloc(1, sizeof *m->exec)))
        m->exec->threads = 1;
    if (!m->exec)
        nn_err(e, NN_ENOMEM, "out of memory for the model's executor");
    return m->exec;
}

static void team_free(nn_model *m)
{
    nn_exec *ex = m->exec;
    nn_team *t = ex->team;
    if (!t)
        return;
    for (int i = 1; i < ex->threads; i++) {
        if (t->work)
            free(t->work[i]);
        if (t->grads)
            free(t->grads[i]);
    }
    for (int i = 0; t->part && i < ex->threads; i++)
        free(t->part[i]);
    free(t->part);
    free(t->split);
    free(t->dz);
    free(t->dx);
    free(t->work);
    free(t->grads);
    free(t->done);
    free(t->summed);
    free(t->bn);
    free(t->bdz);
    free(t->bdx);
    free(t);
    ex->team = NULL;
}

/* Which layers the whole team runs, and their buffers for up to B rows; the
 * cache prefix keeps its row passes. dx is planned for the team layers above
 * nn_exec_first_backward as it is now: should trainable flags change that, a
 * team layer whose dx has no buffer runs by rows (nn_exec_team_runs). */
static int team_plan(nn_model *m, nn_team *t, size_t B, nn_error *e)
{
    const nn_exec *ex = m->exec;
    size_t wout = 0, win = 0;
    int first = nn_exec_first_backward(m);
    t->split = calloc((size_t)m->nlayers, sizeof *t->split);
    t->part = calloc((size_t)ex->threads, sizeof *t->part);
    if (!t->split || !t->part)
        return nn_err(e, NN_ENOMEM, "out of memory for %d compute threads", ex->threads);
    for (int i = ex->cache_layers; i < m->nlayers; i++) {
        const nn_layer *l = &m->layers[i];
        if (m->graph || !l->ops->team || !(t->split[i] = l->ops->team->split(l, ex->threads)))
            continue;
        size_t o = nn_shape_size(&l->out), n = nn_shape_size(&l->in);
        wout = o > wout ? o : wout;
        if (i > first)
            win = n > win ? n : win;
    }
    if (!wout)
        return NN_OK;
    for (int i = 0; i < ex->threads; i++)
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
    nn_exec *ex = m->exec;
    int T = ex->threads;
    nn_team *t = calloc(1, sizeof *t);
    ex->team = t;
    if (!t)
        return nn_err(e, NN_ENOMEM, "out of memory for %d compute threads", T);
    t->work = calloc((size_t)T, sizeof *t->work);
    t->grads = calloc((size_t)T, sizeof *t->grads);
    t->done = calloc((size_t)m->nlayers, sizeof *t->done);
    t->summed = calloc((size_t)m->nlayers, sizeof *t->summed);
    size_t TT = (size_t)T * (size_t)T;
    t->bn = malloc(TT * sizeof *t->bn);
    t->bdz = malloc(TT * sizeof *t->bdz);
    t->bdx = malloc(TT * sizeof *t->bdx);
    if (!t->work || !t->grads || !t->done || !t->summed || !t->bn || !t->bdz || !t->bdx)
        return nn_err(e, NN_ENOMEM, "out of memory for %d compute threads", T);
    int rc = team_plan(m, t, B, e);
    if (rc)
        return rc;
    t->work[0] = ex->work;
    t->grads[0] = m->grads;
    for (int i = 1; i < T; i++) {
        t->work[i] = ex->work_bytes ? malloc(ex->work_bytes) : NULL;
        t->grads[i] = m->nparams ? malloc(m->nparams * sizeof(float)) : NULL;
        if ((ex->work_bytes && !t->work[i]) || (m->nparams && !t->grads[i]))
            return nn_err(e, NN_ENOMEM, "cannot allocate %.1f MiB of workspace and gradients "
                          "for compute thread %d of %d",
                          (double)(ex->work_bytes + m->nparams * sizeof(float)) / 1048576.0,
                          i, T);
    }
    return NN_OK;
}

/* Frees every planned buffer; the threads stay. */
static void unplan(nn_model *m)
{
    nn_exec *ex = m->exec;
    if (!ex)
        return;
    team_free(m);
    nn_exec_unplan_graph(ex);
    for (int i = 0; i < m->nlayers; i++) {
        if (ex->acts)
            free(ex->acts[i]);
        if (ex->ref_acts)
            free(ex->ref_acts[i]);
        if (ex->ref_dy)
            free(ex->ref_dy[i]);
    }
    free(ex->acts);
    free(ex->ref_acts);
    free(ex->ref_dy);
    free(ex->ref_dbuf[0]);
    free(ex->ref_dbuf[1]);
    free(ex->dbuf[0]);
    free(ex->dbuf[1]);
    free(ex->wbuf[0]);
    free(ex->wbuf[1]);
    free(ex->bpart);
    ex->bpart = NULL;
    ex->bpart_n = 0;
    ex->wbuf[0] = ex->wbuf[1] = NULL;
    free(ex->work);
    free(ex->cbuf);
    free(ex->tbuf);
    free(ex->toff);
    nn_pool *pool = ex->pool;
    int threads = ex->threads;
    memset(ex, 0, sizeof *ex);
    ex->pool = pool;
    ex->threads = threads;
}

void nn_exec_free(nn_model *m)
{
    if (!m->exec)
        return;
    unplan(m);
    nn_pool_free(m->exec->pool);
    free(m->exec);
    m->exec = NULL;
}

int nn_model_set_threads(nn_model *m, int threads, nn_error *e)
{
    if (threads < 1)
        return nn_err(e, NN_EINVAL, "threads: expected a positive count, found %d", threads);
    if (threads == (m->exec ? m->exec->threads : 1))
        return NN_OK;
    nn_exec *ex = exec_get(m, e);
    if (!ex)
        return NN_ENOMEM;
    unplan(m);
    nn_pool_free(ex->pool);
    ex->pool = NULL;
    ex->threads = 1;
    if (threads > 1) {
        int rc = nn_pool_create(&ex->pool, threads, e);
        if (rc)
            return rc;
        nn_blas_set_threads(1);
    }
    ex->threads = threads;
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
    /* a whole-batch layer (BatchNormalization) needs every row at once */
    return !l->ops->whole_batch && (l->rowwise || l->param_len <= nn_shape_size(&l->out));
}

/* The leading chunkable layers, and the rows of one pass over them (their
 * widest output in CACHE_BYTES); then which of their outputs only the next
 * layer's forward reads (toff). */
static int plan_cache(nn_model *m, int batch_max, nn_error *e)
{
    nn_exec *ex = m->exec;
    size_t widest_out = 1;
    ex->cache_layers = 0;
    while (!m->graph && ex->cache_layers < m->nlayers &&
           chunkable(&m->layers[ex->cache_layers])) {
        size_t o = nn_shape_size(&m->layers[ex->cache_layers++].out);
        widest_out = o > widest_out ? o : widest_out;
    }
    ex->cache_rows = (int)(CACHE_BYTES / (widest_out * sizeof(float)));
    if (ex->cache_rows < 1)
        ex->cache_rows = 1;
    if (ex->cache_rows > batch_max)
        ex->cache_rows = batch_max;
    if (!(ex->toff = malloc((size_t)m->nlayers * sizeof *ex->toff)))
        return nn_err(e, NN_ENOMEM, "out of memory planning activations");
    ex->tstride = 0;
    for (int i = 0; i < m->nlayers; i++) {
        const nn_layer *l = &m->layers[i], *next = i + 1 < m->nlayers ? l + 1 : NULL;
        ex->toff[i] = SIZE_MAX;
        if (i + 1 < ex->cache_layers && !l->ops->reshape && !next->ops->reshape &&
            !reads_y(l) && !reads_x(next)) {
            ex->toff[i] = ex->tstride;
            ex->tstride += (size_t)ex->cache_rows * nn_shape_size(&l->out);
        }
    }
    return NN_OK;
}

/* Per layer: its output buffer (unless a reshape or kept per chunk) and its
 * saved state; *widest and *work grow to the widest output and the largest
 * workspace. */
static int plan_layers(nn_model *m, int batch_max, size_t *widest, size_t *work, nn_error *e)
{
    nn_exec *ex = m->exec;
    size_t B = (size_t)batch_max;
    for (int i = 0; i < m->nlayers; i++) {
        nn_layer *l = &m->layers[i];
        size_t n = nn_shape_size(&l->out), w = 0;
        if (n > *widest)
            *widest = n;
        int own = !l->ops->reshape && ex->toff[i] == SIZE_MAX;
        ex->acts[i] = own ? malloc(B * n * sizeof(float)) : NULL;
        if (!ex->acts[i] && own)
            return nn_err(e, NN_ENOMEM, "cannot allocate %.1f MiB of activations for layer '%s' at batch %d",
                          (double)(B * n * sizeof(float)) / 1048576.0, l->name, batch_max);
        if (l->ops->plan && l->ops->plan(l, batch_max, &w, e))
            return nn_err_prefix(e, "layer '%s'", l->name);
        if (w > *work)
            *work = w;
    }
    return NN_OK;
}

/* The dx, workspace and chunk buffers once the layers are planned. */
static int plan_buffers(nn_model *m, size_t B, size_t widest, size_t work, nn_error *e)
{
    nn_exec *ex = m->exec;
    ex->dbuf[0] = malloc(B * widest * sizeof(float));
    ex->dbuf[1] = malloc(B * widest * sizeof(float));
    ex->work = work ? malloc(work) : NULL;
    if (!ex->dbuf[0] || !ex->dbuf[1] || (work && !ex->work))
        return nn_err(e, NN_ENOMEM, "cannot allocate the %.1f MiB workspace", (double)work / 1048576.0);
    ex->work_bytes = work;
    ex->dstride = widest;
    for (int i = 0; ex->threads > 1 && i < m->nlayers; i++) {
        const nn_layer_batch_ops *bo = m->layers[i].ops->batch;
        size_t k = bo ? (size_t)bo->nsums(&m->layers[i]) : 0;
        ex->bpart_n = k > ex->bpart_n ? k : ex->bpart_n;
    }
    if (ex->bpart_n &&
        !(ex->bpart = malloc((size_t)ex->threads * ex->bpart_n * sizeof *ex->bpart)))
        return nn_err(e, NN_ENOMEM, "out of memory for the batch statistics' partial sums");
    if (ex->threads > 1 && nn_exec_whole_batch(m)) {
        ex->wbuf[0] = malloc(B * widest * sizeof(float));
        ex->wbuf[1] = malloc(B * widest * sizeof(float));
        if (!ex->wbuf[0] || !ex->wbuf[1])
            return nn_err(e, NN_ENOMEM, "cannot allocate %.1f MiB of batch buffers",
                          (double)(2 * B * widest * sizeof(float)) / 1048576.0);
    }
    if (ex->tstride && !(ex->tbuf = malloc((size_t)ex->threads * ex->tstride * sizeof(float))))
        return nn_err(e, NN_ENOMEM, "cannot allocate %.1f MiB of forward chunk buffers",
                      (double)(ex->threads * ex->tstride * sizeof(float)) / 1048576.0);
    if (ex->cache_layers > 0) {   /* two backward chunk buffers per thread */
        size_t cb = 2 * (size_t)ex->threads * (size_t)ex->cache_rows * widest;
        if (!(ex->cbuf = malloc(cb * sizeof(float))))
            return nn_err(e, NN_ENOMEM, "cannot allocate %.1f MiB of backward buffers",
                          (double)(cb * sizeof(float)) / 1048576.0);
    }
    return ex->threads > 1 ? team_alloc(m, B, e) : NN_OK;
}

int nn_model_plan(nn_model *m, int batch_max, nn_error *e)
{
    if (batch_max <= (m->exec ? m->exec->batch_max : 0))
        return NN_OK;
    nn_exec *ex = exec_get(m, e);
    if (!ex)
        return NN_ENOMEM;
    unplan(m);
    size_t widest = nn_model_in_size(m), work = 0;
    int rc = NN_OK;
    if (!(ex->acts = calloc((size_t)m->nlayers, sizeof *ex->acts)))
        rc = nn_err(e, NN_ENOMEM, "out of memory planning activations");
    if (!rc)
        rc = plan_cache(m, batch_max, e);
    if (!rc)
        rc = plan_layers(m, batch_max, &widest, &work, e);
    if (!rc)
        rc = plan_buffers(m, (size_t)batch_max, widest, work, e);
    if (!rc && m->graph)
        rc = nn_exec_plan_graph(m, (size_t)batch_max, e);
    if (rc) {
        unplan(m);
        return rc;
    }
    ex->batch_max = batch_max;
    return NN_OK;
}

const float *nn_model_layer_out(const nn_model *m, const float *x, int i)
{
    while (i >= 0 && m->layers[i].ops->reshape)
        i = m->layers[i].inp[0];
    return i < 0 ? x : m->exec->acts[i];   /* NULL when not kept */
}

/* For Flatten -> Dense, skipping the first Dense's dx is a third of its
 * work; for a frozen base model, all of its backward pass. */
int nn_exec_first_backward(const nn_model *m)
{
    int first = 0;
    while (first < m->nlayers - 1 &&
           (m->layers[first].param_len == 0 || !m->layers[first].trainable))
        first++;
    return first;
}

int nn_exec_team_runs(const nn_model *m, int i, int B, int need_dx)
{
    const nn_exec *ex = m->exec;
    const nn_team *t = ex ? ex->team : NULL;
    if (!t || ex->threads < 2 || B < ex->threads || !t->split[i])
        return 0;
    return !need_dx || (t->dx && nn_shape_size(&m->layers[i].in) <= t->dx_width);
}

int nn_exec_whole_batch(const nn_model *m)
{
    for (int i = 0; i < m->nlayers; i++)
        if (m->layers[i].ops->whole_batch)
            return 1;
    return 0;
}

int nn_model_team_layer(const nn_model *m, int i, int B)
{
    return i >= 0 && i < m->nlayers && nn_exec_team_runs(m, i, B, 0);
}

void nn_model_plan_bytes(const nn_model *m, size_t *acts, size_t *grads, size_t *unshared,
                         size_t *work)
{
    const nn_exec *ex = m->exec;
    *acts = *grads = *unshared = *work = 0;
    if (!ex || !ex->batch_max)
        return;
    size_t B = (size_t)ex->batch_max, T = (size_t)ex->threads;
    for (int i = 0; i < m->nlayers; i++)
        if (ex->acts[i])
            *acts += B * nn_shape_size(&m->layers[i].out) * sizeof(float);
    *acts += T * ex->tstride * sizeof(float);
    /* the two dx buffers, the cache passes' chunks, the batch buffers */
    *grads = 2 * B * ex->dstride * sizeof(float) +
             (ex->cache_layers > 0 ? 2 * T * (size_t)ex->cache_rows * ex->dstride * sizeof(float)
                                   : 0) +
             (ex->wbuf[0] ? 2 * B * ex->dstride * sizeof(float) : 0);
    *unshared = *grads + ex->gdy_unshared;
    *grads += ex->gdy_bytes;
    *work = T * ex->work_bytes;
}
