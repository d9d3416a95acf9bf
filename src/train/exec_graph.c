/* The executor's path for graph models (exec.h): every layer in the
 * topological order over each thread's rows, reading its inputs from the
 * layers that made them; whole-batch layers (BatchNormalization) over all
 * rows between barriers, as in a chain. Backward goes in reverse order:
 * each layer's gradient buffer receives dL/d(output) from its readers, the
 * first one written in place and the others added, so a tensor read twice
 * (a residual block's shortcut) gets the sum. Those buffers are planned by
 * liveness: the gradient of layer i's output lives from the backward of its
 * last reader down to layer i's own, and outputs whose spans do not overlap
 * share a slot. Per-thread gradients and the announcements to the
 * allreduce are exec.c's, unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nntrain/clock.h"
#include "train/exec.h"

/* Row r0 of layer p's output (p = -1: the model input). */
static const float *out_rows(const nn_model *m, const float *x, int p, long r0)
{
    size_t w = p < 0 ? nn_model_in_size(m) : nn_shape_size(&m->layers[p].out);
    return nn_model_layer_out(m, x, p) + (size_t)r0 * w;
}

/* Row r0 of the gradient buffer of layer p's output. */
static float *grad_rows(const bwd_job *j, int p, long r0)
{
    const nn_model *m = j->m;
    if (p == m->nlayers - 1)
        return j->dout + (size_t)r0 * nn_shape_size(&m->layers[p].out);
    return m->exec->gdy[p] + (size_t)r0 * m->exec->gstride[p];
}

void nn_exec_unplan_graph(nn_exec *ex)
{
    for (int s = 0; s < ex->ngslot; s++)
        free(ex->gslot[s]);
    free(ex->gslot);
    free(ex->gdy);
    free(ex->gstride);
    free(ex->gneed);
    free(ex->ginit);
    ex->gslot = ex->gdy = NULL;
    ex->gstride = NULL;
    ex->gneed = ex->ginit = NULL;
    ex->ngslot = 0;
    ex->gdy_bytes = ex->gdy_unshared = 0;
}

/* The highest layer reading layer i's output; -1 if none. */
static int last_reader(const nn_model *m, int i)
{
    for (int j = m->nlayers - 1; j > i; j--)
        for (int k = 0; k < m->layers[j].nin; k++)
            if (m->layers[j].inp[k] == i)
                return j;
    return -1;
}

int nn_exec_plan_graph(nn_model *m, size_t B, nn_error *e)
{
    nn_exec *ex = m->exec;
    int L = m->nlayers;
    int *lo = malloc((size_t)L * sizeof *lo), *slot = malloc((size_t)L * sizeof *slot);
    int *end = malloc((size_t)L * sizeof *end);
    size_t *size = calloc((size_t)L, sizeof *size);
    ex->gdy = calloc((size_t)L, sizeof *ex->gdy);
    ex->gstride = calloc((size_t)L, sizeof *ex->gstride);
    ex->gslot = calloc((size_t)L, sizeof *ex->gslot);
    ex->gneed = calloc((size_t)L, 1);
    ex->ginit = calloc(2 * (size_t)ex->threads * (size_t)L, 1);
    int rc = NN_OK;
    if (!lo || !slot || !end || !size || !ex->gdy || !ex->gstride || !ex->gslot || !ex->gneed ||
        !ex->ginit) {
        rc = nn_err(e, NN_ENOMEM, "out of memory planning the graph's gradients");
        goto out;
    }
    for (int i = 0; i < L; i++)
        end[i] = last_reader(m, i);
    /* Outputs in the order backward first writes them (by last reader,
     * highest first); a slot is free for output i when everything in it
     * lives above i's last reader. */
    for (int done = 0; done < L - 1; done++) {
        int i = -1;
        for (int k = 0; k < L - 1; k++)
            if (end[k] >= 0 && (i < 0 || end[k] > end[i]))
                i = k;
        if (i < 0)
            break;
        int s = 0;
        while (s < ex->ngslot && lo[s] <= end[i])
            s++;
        if (s == ex->ngslot)
            size[ex->ngslot++] = 0;
        lo[s] = i;
        slot[i] = s;
        size_t w = nn_shape_size(&m->layers[i].out);   /* size[]: floats per row */
        ex->gdy_unshared += B * w * sizeof(float);
        if (w > size[s])
            size[s] = w;
        end[i] = -1;   /* placed */
    }
    for (int s = 0; s < ex->ngslot; s++) {
        if (!(ex->gslot[s] = malloc(B * size[s] * sizeof(float)))) {
            rc = nn_err(e, NN_ENOMEM, "cannot allocate %.1f MiB of activation gradients",
                        (double)(B * size[s] * sizeof(float)) / 1048576.0);
            goto out;
        }
        ex->gdy_bytes += B * size[s] * sizeof(float);
    }
    for (int i = 0; i < L - 1; i++)
        if (last_reader(m, i) >= 0) {
            ex->gdy[i] = ex->gslot[slot[i]];
            ex->gstride[i] = size[slot[i]];
        }
out:
    free(lo);
    free(slot);
    free(end);
    free(size);
    return rc;
}

int nn_exec_graph_need(nn_model *m)
{
    unsigned char *need = m->exec->gneed;
    int first = m->nlayers;
    for (int i = 0; i < m->nlayers; i++) {
        const nn_layer *l = &m->layers[i];
        need[i] = l->trainable && l->param_len > l->frozen_len;
        for (int k = 0; k < l->nin; k++)
            need[i] |= l->inp[k] >= 0 && need[l->inp[k]];
        if (need[i] && i < first)
            first = i;
    }
    return first;
}

/* Layer i over rows [r0, r0 + n). */
static void fwd_layer(nn_model *m, const float *x, int i, long r0, long n, float *work,
                      const nn_ctx *ctx, double *prof)
{
    nn_layer *l = &m->layers[i];
    nn_ctx c = *ctx;
    c.row0 = ctx->row0 + (int)r0;
    c.sample_ids = ctx->sample_ids ? ctx->sample_ids + r0 : NULL;
    c.work = work;
    c.work_bytes = m->exec->work_bytes;
    double t0 = prof ? nn_now() : 0;
    const float *in = out_rows(m, x, l->inp[0], r0);
    if (l->ops->merge) {
        const float *xs[NN_MAX_INPUTS];
        for (int k = 0; k < l->nin; k++)
            xs[k] = out_rows(m, x, l->inp[k], r0);
        l->ops->merge->forward(l, xs, (float *)out_rows(m, x, i, r0), (int)n, &c);
    } else {
        float *y = l->ops->reshape ? (float *)in : (float *)out_rows(m, x, i, r0);
        l->ops->forward(l, m->params + l->param_off, in, y, (int)n, &c);
    }
    if (prof)
        prof[2 * i] += nn_now() - t0;
}

void nn_exec_graph_forward(nn_model *m, const float *x, int B, long r0, long n, int t,
                           float *work, const nn_ctx *ctx, double *prof, int threaded)
{
    for (int i = 0; i < m->nlayers; i++) {
        if (threaded && m->layers[i].ops->whole_batch) {
            nn_exec_forward_whole(m, x, i, B, t, work, ctx, prof);
        } else {
            fwd_layer(m, x, i, r0, n, work, ctx, prof);
        }
    }
}

/* dx (n rows of layer p's output width) into p's gradient buffer: written
 * by the first reader, added by the others. */
static void give(bwd_job *j, unsigned char *init, int p, long r0, long n, const float *dx)
{
    float *g = grad_rows(j, p, r0);
    size_t len = (size_t)n * nn_shape_size(&j->m->layers[p].out);
    if (!init[p]) {
        if (g != dx)
            memcpy(g, dx, len * sizeof *g);
        init[p] = 1;
        return;
    }
    for (size_t k = 0; k < len; k++)
        g[k] += dx[k];
}

/* Where a gradient for layer p's output goes: its buffer when nothing was
 * written there yet, else the thread's scratch (then give adds it). */
static float *dx_target(bwd_job *j, const unsigned char *init, int p, long r0, float *scratch)
{
    return init[p] ? scratch : grad_rows(j, p, r0);
}

void nn_exec_graph_backward(bwd_job *j, int t, int T)
{
    nn_model *m = j->m;
    const nn_exec *ex = m->exec;
    long r0, n;
    nn_pool_split(j->B, T, t, &r0, &n);
    if (n == 0)
        return;
    nn_exec_graph_backward_rows(j, t, T, r0, n, t ? ex->team->grads[t] : m->grads);
}

/* Layer i's backward over rows [r0, r0 + n) on thread t: dL/d(its output)
 * from its buffer (zero when no reader wrote it), its dx given to its
 * inputs' buffers (init: which of them were written). */
static void bwd_node(bwd_job *j, int t, int T, int i, long r0, long n, float *grads,
                     unsigned char *init, nn_ctx *c)
{
    nn_model *m = j->m;
    nn_layer *l = &m->layers[i];
    const unsigned char *need = m->exec->gneed;
    float *scratch = m->exec->dbuf[0] + (size_t)r0 * m->exec->dstride;
    float *dy = nn_exec_graph_dy(j, init, i, r0, n);
    int p = l->inp[0];
    int want = p >= 0 && need[p];
    c->row0 = j->ctx->row0 + (int)r0;
    c->sample_ids = j->ctx->sample_ids ? j->ctx->sample_ids + r0 : NULL;
    if (l->ops->merge) {
        const float *xs[NN_MAX_INPUTS];
        for (int k = 0; k < l->nin; k++)
            xs[k] = out_rows(m, j->x, l->inp[k], r0);
        double t0 = t == 0 && m->prof ? nn_now() : 0;
        for (int k = 0; k < l->nin; k++) {
            int q = l->inp[k];
            if (q < 0 || !need[q])
                continue;
            float *dx = dx_target(j, init, q, r0, scratch);
            l->ops->merge->backward(l, k, xs, out_rows(m, j->x, i, r0), dy, dx, (int)n, c);
            give(j, init, q, r0, n, dx);
        }
        if (t == 0 && m->prof)
            m->prof[2 * i + 1] += nn_now() - t0;
        nn_exec_layer_final(j, t, i);
    } else if (l->ops->reshape) {
        if (want)
            give(j, init, p, r0, n, dy);
        nn_exec_layer_final(j, t, i);
    } else if (T > 1 && l->ops->whole_batch) {
        float *dx = nn_exec_bwd_whole(j, t, i, r0, n, dy, want, c);
        if (want)
            give(j, init, p, r0, n, dx);
    } else {
        float *dx = want ? dx_target(j, init, p, r0, scratch) : NULL;
        nn_exec_bwd_layer(j, t, i, r0, n, dy, dx, grads, c, 1, 1);
        if (want)
            give(j, init, p, r0, n, dx);
    }
}

void nn_exec_graph_backward_rows(bwd_job *j, int t, int T, long r0, long n, float *grads)
{
    nn_model *m = j->m;
    const nn_exec *ex = m->exec;
    nn_ctx c = *j->ctx;
    c.work = ex->team ? ex->team->work[t] : ex->work;
    c.work_bytes = ex->work_bytes;
    unsigned char *init = ex->ginit + (size_t)t * (size_t)m->nlayers;
    memset(init, 0, (size_t)m->nlayers);
    init[m->nlayers - 1] = 1;
    for (int i = m->nlayers - 1; i >= 0; i--)
        if (ex->gneed[i])
            bwd_node(j, t, T, i, r0, n, grads, init, &c);
}

void nn_exec_graph_backward_span(bwd_job *j, int t, int hi, int lo, long r0, long n,
                                 float *grads, unsigned char *init, nn_ctx *c)
{
    for (int i = hi; i >= lo; i--)
        if (j->m->exec->gneed[i])
            bwd_node(j, t, 1, i, r0, n, grads, init, c);
}

float *nn_exec_graph_dy(bwd_job *j, const unsigned char *init, int i, long r0, long n)
{
    float *dy = grad_rows(j, i, r0);
    if (!init[i])   /* no reader wrote it: a gradient of zero */
        memset(dy, 0, (size_t)n * nn_shape_size(&j->m->layers[i].out) * sizeof *dy);
    return dy;
}

float *nn_exec_graph_dx(bwd_job *j, const unsigned char *init, int p, long r0)
{
    const nn_exec *ex = j->m->exec;
    return dx_target(j, init, p, r0, ex->dbuf[0] + (size_t)r0 * ex->dstride);
}

void nn_exec_graph_give(bwd_job *j, unsigned char *init, int p, long r0, long n,
                        const float *dx)
{
    give(j, init, p, r0, n, dx);
}

void nn_exec_graph_forward_layers(nn_model *m, const float *x, int i0, int i1, long r0, long n,
                                  float *work, const nn_ctx *ctx)
{
    for (int i = i0; i < i1; i++)
        fwd_layer(m, x, i, r0, n, work, ctx, NULL);
}
