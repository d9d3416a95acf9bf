/* Deterministic mode's pass (nn_model_det_pass): this rank's rows in fixed
 * chunks of C rows, each chunk's forward, loss and backward run by one
 * thread with the serial layer calls (no team layers, no split of a chunk
 * over threads), its gradient into a buffer of its own. A chunk's bits then
 * depend only on its rows and the parameters, not on the rank or thread
 * that runs it nor on how many there are; fit_det.c sums the chunks
 * exactly. */
#include <string.h>

#include "nntrain/fpmode.h"
#include "train/exec.h"

typedef struct det_job {
    nn_model *m;
    const float *x;         /* (B, in) */
    float *dout;            /* (B, out) */
    int B, C, nchunks, first;
    const nn_ctx *ctx;
    nn_det_loss_fn loss;
    nn_det_done_fn done;
    void *arg;
    float **grads;          /* (nchunks) nparams each */
} det_job;

/* Rows [r0, r0 + n) forward on thread t: the cache prefix cache_rows rows
 * at a time (its outputs may live in the thread's small buffer), then the
 * other layers over all n rows. */
static void det_forward(nn_model *m, const float *x, long r0, long n, int t, float *work,
                        const nn_ctx *ctx)
{
    const nn_exec *ex = m->exec;
    if (m->graph) {   /* layer by layer over the rows, no cache prefix */
        nn_exec_graph_forward(m, x, (int)(r0 + n), r0, n, t, work, ctx, NULL, 0);
        return;
    }
    long step = ex->cache_rows > 0 ? ex->cache_rows : n;
    int k = ex->cache_layers;
    for (long j = 0; k > 0 && j < n; j += step)
        nn_exec_forward_rows(m, x, r0 + j, n - j < step ? n - j : step, 0, k, t, work, ctx,
                             NULL);
    nn_exec_forward_rows(m, x, r0, n, k, m->nlayers, t, work, ctx, NULL);
}

/* Rows [r0, r0 + n) backward on thread t, the gradient into grads (zeroed
 * by the caller). */
static void det_backward(const det_job *dj, int t, long r0, long n, float *work, float *grads)
{
    nn_model *m = dj->m;
    const nn_exec *ex = m->exec;
    bwd_job j = {m, dj->x, dj->dout, dj->B, dj->first, 1, dj->ctx, NULL, NULL, m->nlayers - 1};
    if (m->graph) {
        nn_exec_graph_backward_rows(&j, t, 1, r0, n, grads);
        return;
    }
    nn_ctx c = *dj->ctx;
    c.work = work;
    c.work_bytes = ex->work_bytes;
    float *dbuf[2] = {ex->dbuf[0] + (size_t)r0 * ex->dstride,
                      ex->dbuf[1] + (size_t)r0 * ex->dstride};
    float *dy = dj->dout + (size_t)r0 * nn_model_out_size(m);
    int flip = 0;
    int k = ex->cache_layers > j.first ? ex->cache_layers : j.first;
    for (int i = m->nlayers - 1; i >= k; i--) {
        const nn_layer *l = &m->layers[i];
        float *dx = i > j.first ? (l->ops->reshape ? dy : dbuf[flip]) : NULL;
        /* not fresh: det_thread cleared the chunk's buffer (a thread's
         * first call would clear the layer's again, a Dense kernel's too) */
        nn_exec_bwd_layer(&j, t, i, r0, n, dy, dx, grads, &c, 0, 1);
        if (dx != dy)
            flip ^= 1;
        dy = dx;
    }
    if (k > j.first)
        nn_exec_bwd_prefix(&j, t, k, r0, n, dy, grads, &c);
}

static void det_thread(void *arg, int t, int T)
{
    det_job *j = arg;
    nn_model *m = j->m;
    const nn_exec *ex = m->exec;
    float *work = ex->team ? ex->team->work[t] : ex->work;
    const size_t out = nn_model_out_size(m);
    for (int k = t; k < j->nchunks; k += T) {
        long r0 = (long)k * j->C, n = j->B - r0 < j->C ? j->B - r0 : j->C;
        det_forward(m, j->x, r0, n, t, work, j->ctx);
        const float *y = nn_model_layer_out(m, j->x, m->nlayers - 1) + (size_t)r0 * out;
        j->loss(j->arg, k, r0, (int)n, y);
        if (!j->grads)
            continue;
        if (j->ctx->det_zero)
            j->ctx->det_zero(j->ctx->det_arg, k, j->grads[k]);
        else
            memset(j->grads[k], 0, m->nparams * sizeof(float));
        det_backward(j, t, r0, n, work, j->grads[k]);
        if (j->done)
            j->done(j->arg, k, j->grads[k]);
    }
}

void nn_model_det_pass(nn_model *m, const float *x, float *dout, int B, int C, nn_ctx *ctx,
                       nn_det_loss_fn loss, nn_det_done_fn done, void *arg, float **grads)
{
    nn_exec *ex = m->exec;
    unsigned fp = nn_fp_enter();
    ctx->work = ex->work;
    ctx->work_bytes = ex->work_bytes;
    ctx->det = 1;
    int first = m->graph ? nn_exec_graph_need(m) : nn_exec_first_backward(m);
    det_job j = {m, x, dout, B, C, (B + C - 1) / C, first, ctx, loss, done, arg, grads};
    nn_pool_run(ex->threads > 1 ? ex->pool : NULL, det_thread, &j);
    nn_fp_leave(fp);
}
