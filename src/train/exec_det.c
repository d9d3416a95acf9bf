/* Deterministic mode's pass (nn_model_det_pass): this rank's rows in fixed
 * chunks of C rows, each thread a contiguous block of them, each chunk's
 * forward, loss and backward run by one thread with the serial layer calls
 * (no split of a chunk's sums over threads), its gradient into a buffer of
 * its own. A chunk's bits then depend only on its rows and the
 * parameters, not on the rank or thread that runs it nor on how many there
 * are; fit_det.c sums the chunks exactly. Layers whose rows' bits do not
 * depend on the rows called with them (layer.h det_dx: Dense) run over all
 * of a thread's rows at once, so their weights are read once per thread
 * rather than once per chunk: a chain model's tail from its first such
 * layer goes layer by layer (see tail_forward); a wide one runs on all
 * threads at once, each a slice of its columns over all rows (team_layer),
 * so its weights are read once per rank. */
#include <stddef.h>
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
    const nn_det_global *g; /* whole-batch layers: see exec.h */
    int tail;               /* layers [tail, nlayers) go layer by layer */
} det_job;

/* Thread t's chunks [*k0, *k1): a contiguous block (which thread runs a
 * chunk never changes its bits; the block makes its rows contiguous). The
 * split is nn_pool_split's mirrored: the threads with a chunk more are the
 * last ones, where a short last chunk lies, and thread 0, which also runs
 * the reductions between barriers, is not among them. */
static void mine(const det_job *j, int t, int T, int *k0, int *k1)
{
    long a, n;
    nn_pool_split(j->nchunks, T, T - 1 - t, &a, &n);
    *k0 = (int)(j->nchunks - a - n);
    *k1 = (int)(j->nchunks - a);
}

/* Layer l runs over a thread's rows at once (bf16 products: per chunk). */
static int rows_layer(const nn_layer *l)
{
    return l->ops->det_dx && !l->bf16;
}

/* A rows layer that the T threads run together over all rows, each a slice
 * of the columns (its weights read once per rank, not once per thread):
 * when its team mode pays, every thread has chunks (all meet at its
 * barriers), and a thread's rows are few enough that streaming the whole
 * kernel for them costs (rick_dense's 17 MB kernel over 250 rows a thread
 * did not: its 100 columns then split 48 / 52, whose vector tails cost
 * more than the reads saved). */
enum { TEAM_ROWS = 64 };

static int team_layer(const det_job *j, const nn_layer *l, int T)
{
    const nn_layer_team_ops *tm = l->ops->team;
    return T > 1 && j->m->exec->team && j->nchunks >= T && (j->B + T - 1) / T <= TEAM_ROWS &&
           rows_layer(l) && tm && tm->det_cols && tm->split(l, T) > 0;
}

/* Thread t's share of width columns, in whole vectors of 16. */
static void team_cols(size_t width, int t, int T, int *c0, int *c1)
{
    long a, n;
    nn_pool_split(((long)width + 15) / 16, T, t, &a, &n);
    *c0 = (int)(a * 16);
    *c1 = (int)((a + n) * 16 < (long)width ? (a + n) * 16 : (long)width);
}

/* Thread t's rows [*R0, *R1): those of its chunks. */
static void thread_rows(const det_job *j, int t, int T, long *R0, long *R1)
{
    int ka, kb;
    mine(j, t, T, &ka, &kb);
    *R0 = (long)ka * j->C;
    *R1 = (long)kb * j->C < j->B ? (long)kb * j->C : j->B;
}

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

/* Chunk k's rows. */
static void chunk_rows(const det_job *j, int k, long *r0, long *n)
{
    *r0 = (long)k * j->C;
    *n = j->B - *r0 < j->C ? j->B - *r0 : j->C;
}

/* Chunk k's gradient buffer cleared (det_zero: all but what det_keep
 * takes). */
static void zero_chunk(const det_job *j, int k)
{
    if (j->ctx->det_zero)
        j->ctx->det_zero(j->ctx->det_arg, k, j->grads[k]);
    else
        memset(j->grads[k], 0, j->m->nparams * sizeof(float));
}

static void det_thread(void *arg, int t, int T)
{
    det_job *j = arg;
    nn_model *m = j->m;
    const nn_exec *ex = m->exec;
    float *work = ex->team ? ex->team->work[t] : ex->work;
    const size_t out = nn_model_out_size(m);
    int ka, kb;
    mine(j, t, T, &ka, &kb);
    for (int k = ka; k < kb; k++) {
        long r0, n;
        chunk_rows(j, k, &r0, &n);
        det_forward(m, j->x, r0, n, t, work, j->ctx);
        const float *y = nn_model_layer_out(m, j->x, m->nlayers - 1) + (size_t)r0 * out;
        j->loss(j->arg, k, r0, (int)n, y);
        if (!j->grads)
            continue;
        zero_chunk(j, k);
        det_backward(j, t, r0, n, work, j->grads[k]);
        if (j->done)
            j->done(j->arg, k, j->grads[k]);
    }
}

/* Models with whole-batch layers (BatchNormalization) go layer by layer:
 * each thread runs its chunks up to the next such layer with the same
 * serial calls as above (so every other layer's bits are the same), then
 * the layer's statistics are summed exactly as the losses are: a slot of
 * partial sums (double) per global chunk, every rank's slots summed over
 * the ranks (one nonzero addend per slot: exact), added in global chunk
 * order by thread 0 between barriers; then each chunk is normalised. */

/* The highest whole-batch layer in [lo, hi], or lo - 1. */
static int whole_below(const nn_model *m, int hi, int lo)
{
    while (hi >= lo && !m->layers[hi].ops->whole_batch)
        hi--;
    return hi;
}

/* The lowest whole-batch layer in [lo, nlayers), or nlayers. */
static int whole_above(const nn_model *m, int lo)
{
    while (lo < m->nlayers && !m->layers[lo].ops->whole_batch)
        lo++;
    return lo;
}

/* Thread 0, between barriers: the table (every rank's slots) summed over
 * the ranks, then its K slots added in chunk order into the row after
 * them, which is returned; the slots are zeroed for the next use (the sum
 * row by table_done, once the layer has read it: layers of another width
 * lay their slots over it). */
static double *table_sum(const det_job *j, size_t ns)
{
    const nn_det_global *g = j->g;
    double *tab = g->tab, *sum = tab + (size_t)g->K * ns;
    /* a failure is the watchdog's to report, as for the plain mode's allsum */
    if (j->ctx->allsum)
        j->ctx->allsum(j->ctx->allsum_arg, tab, (int)((size_t)g->K * ns));
    memset(sum, 0, ns * sizeof *sum);
    for (long k = 0; k < g->K; k++)
        for (size_t i = 0; i < ns; i++)
            sum[i] += tab[(size_t)k * ns + i];
    memset(tab, 0, (size_t)g->K * ns * sizeof *tab);
    return sum;
}

static void table_done(const det_job *j, size_t ns)
{
    memset(j->g->tab + (size_t)j->g->K * ns, 0, ns * sizeof *j->g->tab);
}

/* The ctx of thread 0's reduce steps: the ranks are in the table already. */
static nn_ctx reduce_ctx(const det_job *j, float *work)
{
    nn_ctx c = *j->ctx;
    c.allsum = NULL;
    c.allsum_arg = NULL;
    c.work = work;
    c.work_bytes = j->m->exec->work_bytes;
    return c;
}

/* Whole-batch layer i forward: the statistics' phases (none in inference),
 * then each of this thread's chunks normalised. */
static void whole_forward(const det_job *j, int i, int t, int T, float *work)
{
    nn_model *m = j->m;
    nn_layer *l = &m->layers[i];
    const nn_layer_batch_ops *bo = l->ops->batch;
    const size_t win = nn_shape_size(&l->in), wout = nn_shape_size(&l->out);
    const size_t ns = (size_t)bo->nsums(l);
    const float *x = nn_model_layer_out(m, j->x, l->inp[0]);
    float *y = (float *)nn_model_layer_out(m, j->x, i), *p = m->params + l->param_off;
    int np = bo->fwd_phases(l, j->ctx);
    long r0, n;
    int ka, kb;
    mine(j, t, T, &ka, &kb);
    for (int ph = 0; ph < (np ? np : 1); ph++) {
        for (int k = ka; np && k < kb; k++) {
            chunk_rows(j, k, &r0, &n);
            bo->fwd_partial(l, ph, x + (size_t)r0 * win, (int)n,
                            j->g->tab + (size_t)(j->g->k0 + k) * ns);
        }
        nn_pool_barrier(m->exec->pool);
        if (t == 0) {
            nn_ctx c = reduce_ctx(j, work);
            bo->fwd_reduce(l, p, np ? ph : -1, np ? table_sum(j, ns) : NULL,
                           np ? (int)j->g->rows : j->B, &c);
            if (np)
                table_done(j, ns);
        }
        nn_pool_barrier(m->exec->pool);
    }
    for (int k = ka; k < kb; k++) {
        chunk_rows(j, k, &r0, &n);
        bo->fwd_apply(l, p, x + (size_t)r0 * win, y + (size_t)r0 * wout, (int)n);
    }
}

static void whole_batch_forward(const det_job *j, int t, int T, float *work)
{
    nn_model *m = j->m;
    const nn_exec *ex = m->exec;
    long r0, n;
    int ka, kb;
    mine(j, t, T, &ka, &kb);
    for (int i0 = 0; i0 <= j->tail;) {
        int w = whole_above(m, i0), e = w < j->tail ? w : j->tail;
        for (int k = ka; k < kb; k++) {
            chunk_rows(j, k, &r0, &n);
            if (m->graph) {
                nn_exec_graph_forward_layers(m, j->x, i0, e, r0, n, work, j->ctx);
                continue;
            }
            /* the cache prefix lies below the first whole-batch layer */
            long step = ex->cache_rows > 0 ? ex->cache_rows : n;
            int pk = i0 == 0 ? ex->cache_layers : 0;
            for (long s = 0; pk > 0 && s < n; s += step)
                nn_exec_forward_rows(m, j->x, r0 + s, n - s < step ? n - s : step, 0, pk, t,
                                     work, j->ctx, NULL);
            nn_exec_forward_rows(m, j->x, r0, n, pk > i0 ? pk : i0, e, t, work, j->ctx, NULL);
        }
        if (w >= j->tail)
            break;
        whole_forward(j, w, t, T, work);
        i0 = w + 1;
    }
}

/* Team layer i forward: every thread's columns of all rows, then each
 * thread the rest of the layer over its own rows. */
static void team_forward(const det_job *j, int i, int t, int T, long R0, long R1)
{
    nn_model *m = j->m;
    nn_layer *l = &m->layers[i];
    const float *p = m->params + l->param_off;
    const size_t wout = nn_shape_size(&l->out);
    float *y = (float *)nn_model_layer_out(m, j->x, i);
    int c0, c1;
    team_cols(wout, t, T, &c0, &c1);
    nn_pool_barrier(m->exec->pool);   /* every thread's rows of x are written */
    l->ops->team->det_cols(l, p, nn_model_layer_out(m, j->x, l->inp[0]), y, j->B, c0, c1);
    nn_pool_barrier(m->exec->pool);   /* and every column of y */
    l->ops->team->det_finish(l, p, y + (size_t)R0 * wout, j->ctx->row0 + (int)R0,
                             (int)(R1 - R0));
}

/* The tail forward, layer by layer: a rows layer over the thread's rows
 * [R0, R1) in one call (or the team's), any other per chunk as above. */
static void tail_forward(const det_job *j, int t, int T, float *work)
{
    nn_model *m = j->m;
    long r0, n, R0, R1;
    int ka, kb;
    mine(j, t, T, &ka, &kb);
    thread_rows(j, t, T, &R0, &R1);
    for (int i = j->tail; i < m->nlayers; i++) {
        if (team_layer(j, &m->layers[i], T)) {
            team_forward(j, i, t, T, R0, R1);
            continue;
        }
        if (ka == kb)
            continue;
        if (rows_layer(&m->layers[i])) {
            nn_exec_forward_rows(m, j->x, R0, R1 - R0, i, i + 1, t, work, j->ctx, NULL);
            continue;
        }
        for (int k = ka; k < kb; k++) {
            chunk_rows(j, k, &r0, &n);
            nn_exec_forward_rows(m, j->x, r0, n, i, i + 1, t, work, j->ctx, NULL);
        }
    }
}

/* Whole-batch layer i backward: per-chunk partial sums, thread 0 reduces
 * (the layer's parameter gradient into global chunk 0's buffer, on the rank
 * that has it: added once, not per chunk or rank), then each chunk's dx
 * (dx(r0) NULL: none wanted). dy(r0) and dx(r0) give a chunk's rows. */
typedef struct rows_at {
    float *base;
    size_t stride;
} rows_at;

static float *at(rows_at a, long r0)
{
    return a.base + (size_t)r0 * a.stride;
}

static void whole_backward_sums(const det_job *j, int i, int want_dx, int t, int T, float *work,
                                float *(*dy)(void *, long, long), void *st)
{
    nn_model *m = j->m;
    nn_layer *l = &m->layers[i];
    const nn_layer_batch_ops *bo = l->ops->batch;
    const size_t win = nn_shape_size(&l->in), ns = (size_t)bo->nsums(l);
    const float *x = nn_model_layer_out(m, j->x, l->inp[0]);
    long r0, n;
    int ka, kb;
    mine(j, t, T, &ka, &kb);
    for (int k = ka; k < kb; k++) {
        chunk_rows(j, k, &r0, &n);
        bo->bwd_partial(l, x + (size_t)r0 * win, dy(st, r0, n), (int)n,
                        j->g->tab + (size_t)(j->g->k0 + k) * ns);
    }
    nn_pool_barrier(m->exec->pool);
    if (t == 0) {
        nn_ctx c = reduce_ctx(j, work);
        /* elsewhere into m->grads, which the exact sum overwrites */
        float *g = j->g->k0 == 0 && j->nchunks > 0 ? j->grads[0] : m->grads;
        bo->bwd_reduce(l, m->params + l->param_off, g + l->param_off, table_sum(j, ns),
                       (int)j->g->rows, want_dx, &c);
        table_done(j, ns);
    }
    nn_pool_barrier(m->exec->pool);
}

/* Chain models: where dL/d(output) of the current layer lives, and the
 * ping-pong state, the same for every chunk. */
typedef struct chain_state {
    rows_at dy;
    int flip;
    int packed;     /* dy is a tail buffer packed from the thread's first row */
} chain_state;

static float *chain_dy(void *st, long r0, long n)
{
    (void)n;
    return at(((chain_state *)st)->dy, r0);
}

/* Layers hi down to lo of chunk rows [r0, r0 + n) from state s; then the
 * cache prefix (layers [first, lo)) when prefix is set. Returns the state
 * after them. */
static chain_state chain_span(const det_job *j, bwd_job *bj, int t, int hi, int lo, int prefix,
                              long r0, long n, float *grads, nn_ctx *c, chain_state s)
{
    nn_model *m = j->m;
    const nn_exec *ex = m->exec;
    for (int i = hi; i >= lo; i--) {
        const nn_layer *l = &m->layers[i];
        float *dy = at(s.dy, r0);
        float *dx = i > j->first ? (l->ops->reshape ? dy : at((rows_at){ex->dbuf[s.flip],
                                                                        ex->dstride}, r0))
                                 : NULL;
        nn_exec_bwd_layer(bj, t, i, r0, n, dy, dx, grads, c, 1, 1);
        if (dx != dy) {
            s.dy = (rows_at){ex->dbuf[s.flip], ex->dstride};
            s.flip ^= 1;
        }
    }
    if (prefix && lo > j->first)
        nn_exec_bwd_prefix(bj, t, lo, r0, n, at(s.dy, r0), grads, c);
    return s;
}

/* Team layer l's dx: each thread a slice of dx's columns for every
 * thread's rows (dz in its dy rows, dx at its place in the packed buffer).
 * A packed buffer holds a thread's rows from its own first row's place, so
 * thread u's lie (U0 - R0) (dstride - stride) floats from this thread's. */
static float *rows_of(rows_at a, int packed, size_t dstride, long U0, long R0)
{
    ptrdiff_t shift = packed ? (ptrdiff_t)(U0 - R0) * ((ptrdiff_t)dstride - (ptrdiff_t)a.stride)
                             : 0;
    return a.base + shift + (ptrdiff_t)U0 * (ptrdiff_t)a.stride;
}

static void team_dx(const det_job *j, nn_layer *l, int t, int T, chain_state s, rows_at dx,
                    long R0)
{
    nn_model *m = j->m;
    const size_t dstride = m->exec->dstride;
    const nn_team *tm = m->exec->team;
    int *bn = tm->bn + (size_t)t * (size_t)T;
    const float **bdz = tm->bdz + (size_t)t * (size_t)T;
    float **bdx = tm->bdx + (size_t)t * (size_t)T;
    int c0, c1;
    team_cols(nn_shape_size(&l->in), t, T, &c0, &c1);
    for (int u = 0; u < T; u++) {
        long U0, U1;
        thread_rows(j, u, T, &U0, &U1);
        bn[u] = (int)(U1 - U0);
        bdz[u] = rows_of(s.dy, s.packed, dstride, U0, R0);
        bdx[u] = rows_of(dx, 1, dstride, U0, R0) + c0;
    }
    nn_pool_barrier(m->exec->pool);   /* every thread's dz is written */
    l->ops->team->det_dx(l, m->params + l->param_off, T, bn, bdz, bdx, c0, c1);
    nn_pool_barrier(m->exec->pool);   /* and every column of dx */
}

/* The tail backward, layer by layer from the top: each layer's backward per
 * chunk (a rows layer's with dx NULL, then its det_dx over the thread's
 * rows [R0, R1)). dx rows lie packed from row R0's place in the dx buffer
 * (a layer's rows span the thread's rows at once), so the state's rows_at
 * is that buffer shifted: chunk k's rows at at(dy, r0) as everywhere. */
static chain_state tail_backward(const det_job *j, bwd_job *bj, int t, int T, nn_ctx *c)
{
    nn_model *m = j->m;
    const nn_exec *ex = m->exec;
    chain_state s = {{j->dout, nn_model_out_size(m)}, 0, 0};
    long r0, n, R0, R1;
    int ka, kb;
    mine(j, t, T, &ka, &kb);
    thread_rows(j, t, T, &R0, &R1);
    for (int i = m->nlayers - 1; i >= j->tail && i >= j->first; i--) {
        nn_layer *l = &m->layers[i];
        const size_t win = nn_shape_size(&l->in);
        int rows = rows_layer(l), want = i > j->first;
        rows_at dx = l->ops->reshape ? s.dy
                                     : (rows_at){ex->dbuf[s.flip] + (size_t)R0 *
                                                     (ex->dstride - win), win};
        for (int k = ka; k < kb; k++) {
            chunk_rows(j, k, &r0, &n);
            nn_exec_bwd_layer(bj, t, i, r0, n, at(s.dy, r0), want && !rows ? at(dx, r0) : NULL,
                              j->grads[k], c, 0, 1);
        }
        if (want && rows && team_layer(j, l, T))
            team_dx(j, l, t, T, s, dx, R0);
        else if (want && rows)
            l->ops->det_dx(l, m->params + l->param_off, at(s.dy, R0), at(dx, R0),
                           (int)(R1 - R0));
        if (want && !l->ops->reshape) {
            s.dy = dx;
            s.flip ^= 1;
            s.packed = 1;
        }
    }
    return s;
}

/* Below the tail, each chunk runs a span's layers in turn, the chunks
 * last first: a chunk's writes at its own place in the dx buffers, row
 * r0's at r0 * dstride, then never reach the tail's packed rows of the
 * chunks still to run, which lie below it. */
static void chain_backward(const det_job *j, bwd_job *bj, int t, int T, float *work, nn_ctx *c)
{
    nn_model *m = j->m;
    const nn_exec *ex = m->exec;
    const int kp = ex->cache_layers > j->first ? ex->cache_layers : j->first;
    chain_state s = {{j->dout, nn_model_out_size(m)}, 0, 0};
    long r0, n;
    int ka, kb;
    mine(j, t, T, &ka, &kb);
    if (j->tail < m->nlayers && ka < kb)
        s = tail_backward(j, bj, t, T, c);
    for (int hi = j->tail - 1; hi >= j->first;) {
        int w = whole_below(m, hi, j->first);
        int lo = w >= j->first ? w + 1 : kp;
        chain_state e = s;
        for (int k = kb - 1; k >= ka; k--) {
            chunk_rows(j, k, &r0, &n);
            e = chain_span(j, bj, t, hi, lo, w < j->first, r0, n, j->grads[k], c, s);
        }
        s = e;
        if (w < j->first)
            break;
        whole_backward_sums(j, w, w > j->first, t, T, work, chain_dy, &s);
        if (w > j->first) {
            const nn_layer *l = &m->layers[w];
            rows_at dx = {ex->dbuf[s.flip], ex->dstride};
            const float *x = nn_model_layer_out(m, j->x, l->inp[0]);
            for (int k = ka; k < kb; k++) {
                chunk_rows(j, k, &r0, &n);
                l->ops->batch->bwd_apply((nn_layer *)l, x + (size_t)r0 * nn_shape_size(&l->in),
                                         at(s.dy, r0), at(dx, r0), (int)n);
            }
            s.dy = dx;
            s.flip ^= 1;
        }
        hi = w - 1;
    }
}

/* Graph models: each thread's flags of written gradient buffers (the same
 * sequence for every chunk, so each chunk starts a span from a saved copy). */
typedef struct graph_state {
    bwd_job *bj;
    unsigned char *init;
    int i;          /* the whole-batch layer */
} graph_state;

static float *graph_dy(void *st, long r0, long n)
{
    graph_state *g = st;
    return nn_exec_graph_dy(g->bj, g->init, g->i, r0, n);
}

static void graph_backward(const det_job *j, bwd_job *bj, int t, int T, float *work, nn_ctx *c)
{
    nn_model *m = j->m;
    const nn_exec *ex = m->exec;
    const size_t L = (size_t)m->nlayers;
    unsigned char *init = ex->ginit + (size_t)t * L;
    unsigned char *saved = ex->ginit + ((size_t)ex->threads + (size_t)t) * L;
    long r0, n;
    int ka, kb;
    mine(j, t, T, &ka, &kb);
    memset(init, 0, L);
    init[L - 1] = 1;
    for (int hi = m->nlayers - 1; hi >= 0;) {
        int w = whole_below(m, hi, 0);
        memcpy(saved, init, L);
        for (int k = ka; k < kb; k++) {
            chunk_rows(j, k, &r0, &n);
            memcpy(init, saved, L);
            nn_exec_graph_backward_span(bj, t, hi, w + 1, r0, n, j->grads[k], init, c);
        }
        if (w < 0)
            break;
        if (ex->gneed[w]) {
            const nn_layer *l = &m->layers[w];
            graph_state gs = {bj, init, w};
            int p = l->inp[0], want = p >= 0 && ex->gneed[p];
            whole_backward_sums(j, w, want, t, T, work, graph_dy, &gs);
            if (want) {
                const float *x = nn_model_layer_out(m, j->x, p);
                unsigned char was = init[p];
                for (int k = ka; k < kb; k++) {
                    chunk_rows(j, k, &r0, &n);
                    init[p] = was;
                    float *dx = nn_exec_graph_dx(bj, init, p, r0);
                    l->ops->batch->bwd_apply((nn_layer *)l, x + (size_t)r0 * nn_shape_size(&l->in),
                                             graph_dy(&gs, r0, n), dx, (int)n);
                    nn_exec_graph_give(bj, init, p, r0, n, dx);
                }
                init[p] = 1;
            }
        }
        hi = w - 1;
    }
}

static void whole_batch_thread(void *arg, int t, int T)
{
    det_job *j = arg;
    nn_model *m = j->m;
    const nn_exec *ex = m->exec;
    float *work = ex->team ? ex->team->work[t] : ex->work;
    const size_t out = nn_model_out_size(m);
    long r0, n;
    int ka, kb;
    mine(j, t, T, &ka, &kb);
    whole_batch_forward(j, t, T, work);
    if (j->tail < m->nlayers)
        tail_forward(j, t, T, work);
    for (int k = ka; k < kb; k++) {
        chunk_rows(j, k, &r0, &n);
        j->loss(j->arg, k, r0, (int)n,
                nn_model_layer_out(m, j->x, m->nlayers - 1) + (size_t)r0 * out);
    }
    if (!j->grads)
        return;
    for (int k = ka; k < kb; k++)
        zero_chunk(j, k);
    bwd_job bj = {m, j->x, j->dout, j->B, j->first, 1, j->ctx, NULL, NULL, m->nlayers - 1};
    nn_ctx c = *j->ctx;
    c.work = work;
    c.work_bytes = ex->work_bytes;
    if (m->graph)
        graph_backward(j, &bj, t, T, work, &c);
    else
        chain_backward(j, &bj, t, T, work, &c);
    for (int k = ka; j->done && k < kb; k++)
        j->done(j->arg, k, j->grads[k]);
}

/* A chain model's tail: from its first rows layer above the cache prefix
 * and every whole-batch layer (nlayers: none; graph models have none). */
static int det_tail(const nn_model *m)
{
    if (m->graph)
        return m->nlayers;
    int i = m->exec->cache_layers;
    for (int w = 0; w < m->nlayers; w++)
        if (m->layers[w].ops->whole_batch && w + 1 > i)
            i = w + 1;
    while (i < m->nlayers && !rows_layer(&m->layers[i]))
        i++;
    return i;
}

size_t nn_model_det_stat_sums(const nn_model *m)
{
    size_t most = 0;
    for (int i = 0; i < m->nlayers; i++) {
        const nn_layer_batch_ops *bo = m->layers[i].ops->batch;
        size_t k = bo && m->layers[i].ops->whole_batch ? (size_t)bo->nsums(&m->layers[i]) : 0;
        most = k > most ? k : most;
    }
    return most;
}

void nn_model_det_pass(nn_model *m, const float *x, float *dout, int B, int C, nn_ctx *ctx,
                       nn_det_loss_fn loss, nn_det_done_fn done, void *arg, float **grads,
                       const nn_det_global *g)
{
    nn_exec *ex = m->exec;
    unsigned fp = nn_fp_enter();
    ctx->work = ex->work;
    ctx->work_bytes = ex->work_bytes;
    ctx->det = 1;
    int first = m->graph ? nn_exec_graph_need(m) : nn_exec_first_backward(m);
    det_job j = {m,    x,     dout, B,   C,     (B + C - 1) / C, first,
                 ctx,  loss,  done, arg, grads, g,               det_tail(m)};
    /* chain models go layer by layer (per chunk up to the tail) */
    nn_pool_run(ex->threads > 1 ? ex->pool : NULL,
                nn_exec_whole_batch(m) || !m->graph ? whole_batch_thread : det_thread, &j);
    nn_fp_leave(fp);
}
