/* Deterministic mode (fit(deterministic=True), train --deterministic): the
 * same bits for any number of ranks N and threads T. Each global batch is
 * cut into fixed chunks of det_c rows whose boundaries do not move with N
 * or T; a rank takes whole chunks (fit_det_rows), and each
 * chunk's forward, loss and backward runs on one thread with the same
 * kernels wherever it runs (nn_model_det_pass). Nothing is summed in float
 * across chunks: the chunk gradients are added as 64-bit fixed point with
 * one exponent per layer agreed by a MAX allreduce (detsum.h), summed over
 * the ranks by a ring reduce-scatter of the integers (each rank gets the
 * total of its slice of the parameters), rounded to float once by the
 * slice's rank and all-gathered as floats; the chunks'
 * loss and metric sums travel in a table with one slot per global chunk
 * and are added in chunk order on every rank, as are BatchNormalization's
 * statistics (exec_det.c). A Dense kernel's gradient is
 * not written per chunk: its backward hands over dz (det_keep), and after
 * the pass a fused kernel adds each group's x^T dz as fixed point
 * (detsum_dense.c; a group is up to NN_DET_DENSE_CHUNKS chunks, summed in
 * float in row order, so it is converted that much less often), with the
 * exponent bounded from each chunk's largest x and dz (nn_det_bound_exp)
 * instead of scanned. A group that a rank boundary cuts is begun by one
 * rank and continued by the next from the float sums it sends (plan_cut);
 * boundaries move to groups' where that costs at most a chunk. */
#include <limits.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fit_run.h"
#include "nntrain/fpmode.h"
#include "nntrain/gemm.h"
#include "nntrain/layer.h"
#include "train/detsum.h"
#include "train/exec.h"

size_t nn_fit_det_group(size_t B, size_t C)
{
    /* up to NN_DET_DENSE_CHUNKS chunks, and at least four groups in the
     * batch (a batch of 32 in 4 chunks stays at one chunk a group, else 2
     * ranks would pass a group's sums every step) */
    size_t m = (B + C - 1) / C / 4;
    return C * (m < 1 ? 1 : m > NN_DET_DENSE_CHUNKS ? NN_DET_DENSE_CHUNKS : m);
}

/* The most chunks a rank gets (rank_rows): an even share, and up to two
 * more where its boundaries moved to Dense groups' (or all of them). */
static size_t most_chunks(const fit_run *r)
{
    size_t k = (r->B + r->det_c - 1) / r->det_c, N = (size_t)r->d->size;
    size_t most = N == 1 ? k : (k + N - 1) / N + 2;
    return most < k ? most : k;
}

int fit_det_plan(fit_run *r, nn_error *e)
{
    const nn_model *m = r->m;
    for (int i = 0; i < m->nlayers; i++) {
        const nn_layer *l = &m->layers[i];
        const nn_layer_batch_ops *bo = l->ops->batch;
        if (l->ops->whole_batch && !bo)
            return nn_err(e, NN_EINVAL, "--deterministic: %s '%s' is not supported (its batch statistics have no partial sums to add exactly): train without --deterministic",
                          l->ops->kind, l->name);
        if (l->ops->whole_batch && bo->per_rank && bo->per_rank(l))
            return nn_err(e, NN_EINVAL, "--deterministic: %s '%s' has synchronized=False: statistics of each rank's rows change with the number of ranks; drop synchronized=False or train without --deterministic",
                          l->ops->kind, l->name);
    }
    if (r->o->accumulate > 1)
        return nn_err(e, NN_EINVAL, "--deterministic cannot be combined with --accumulate: it already runs each rank's rows in fixed chunks");
    if (m->nparams > (size_t)INT_MAX)
        return nn_err(e, NN_EINVAL, "--deterministic: %zu parameters are more than one integer allreduce carries (%d)",
                      m->nparams, INT_MAX);
    r->det_c = r->fa->det_chunk > 0 ? (size_t)r->fa->det_chunk : NN_DET_CHUNK;
    r->det_dg = nn_fit_det_group(r->B, r->det_c);
    /* this rank's most rows: whole chunks; planned for at least a chunk,
     * so that every layer cuts a chunk's rows the same way at any N */
    size_t most = most_chunks(r) * r->det_c;
    if (most > r->B)
        most = r->B;
    r->cap = (int)most + 1;
    r->plan_rows = (int)(most > r->det_c ? most : r->det_c) + 1;
    r->chunk = most;
    return NN_OK;
}

/* Where rank q's rows of a global batch of rows begin (q = ranks: the
 * end). The chunks are split as nn_dist_shard's split mirrored, so that
 * the ranks with a chunk more are the last ones, one of which holds the
 * short last chunk (batch 100 in 13 chunks of 8 on 2 ranks: 48 and 52
 * rows, not 56 and 44). Where every rank has a Dense group's rows or
 * more, a boundary within a chunk of a group's moves there (batch 500 on
 * 2 ranks: 256 and 244 rows, not 248 and 252), which saves the exchange
 * of a cut group's sums for at most a chunk of rows more on a rank.
 * Nondecreasing in q: a boundary moves by at most a chunk and only to a
 * multiple of the group, so two never cross. */
size_t nn_fit_det_rank_start(size_t rows, size_t C, size_t G, int N, int q, int align)
{
    if (q <= 0)
        return 0;
    if (q >= N)
        return rows;
    size_t k = (rows + C - 1) / C, a, n;
    nn_dist_shard(k, N, N - 1 - q, &a, &n);
    size_t b = (k - a - n) * C < rows ? (k - a - n) * C : rows, g = (b + G / 2) / G * G;
    if (align && k / (size_t)N * C >= G && g <= rows && (g > b ? g - b : b - g) <= C)
        return g;
    return b;
}

void fit_det_rank_rows(const fit_run *r, size_t rows, int q, size_t *off, size_t *cnt)
{
    int N = r->d->size, al = r->det_nkeep > 0;
    *off = nn_fit_det_rank_start(rows, r->det_c, r->det_dg, N, q, al);
    *cnt = nn_fit_det_rank_start(rows, r->det_c, r->det_dg, N, q + 1, al) - *off;
}

void fit_det_rows(const fit_run *r, size_t rows, size_t *off, size_t *cnt)
{
    fit_det_rank_rows(r, rows, r->d->rank, off, cnt);
}

/* The rank whose rows hold global row `row`. */
static int row_owner(const fit_run *r, size_t rows, size_t row)
{
    for (int q = 0; q < r->d->size; q++) {
        size_t off, cnt;
        fit_det_rank_rows(r, rows, q, &off, &cnt);
        if (row >= off && row < off + cnt)
            return q;
    }
    return -1;
}

/* How a step's rows here fall into Dense groups (det_dg rows from global
 * row 0): [0, lead) end a group that began on rank `from`, then full whole
 * groups, then trail rows begin one that goes on on rank `to`; or
 * (through) all the rows lie inside a group that began below and goes on
 * above: continued from `from` and passed to `to`. */
typedef struct det_cut {
    size_t lead, full, trail;
    int through, from, to;
    int rows_here;   /* the pass ran on these rows (not on a failed rank) */
} det_cut;

static det_cut plan_cut(const fit_run *r, size_t rows)
{
    det_cut c = {0, 0, 0, 0, -1, -1, 0};
    size_t off, cnt, G = r->det_dg;
    fit_det_rank_rows(r, rows, r->d->rank, &off, &cnt);
    c.rows_here = r->det_rows == cnt;
    if (!cnt || r->det_nkeep == r->det_nxch)   /* no kernel summed by the ring */
        return c;
    size_t end = off + cnt, up = (off + G - 1) / G * G, dn = end / G * G;
    int cut_lo = off % G != 0, cut_hi = end < rows && end % G != 0;
    if (cut_lo)
        c.from = row_owner(r, rows, off - 1);
    if (cut_hi)
        c.to = row_owner(r, rows, end);
    if (cut_lo && cut_hi && up > end) {
        c.lead = cnt;
        c.through = 1;
        return c;
    }
    c.lead = cut_lo ? (up < end ? up : end) - off : 0;
    c.trail = cut_hi ? end - (dn > off ? dn : off) : 0;
    c.full = cnt - c.lead - c.trail;
    return c;
}

int fit_det_kernels(fit_run *r, nn_error *e)
{
    char mine[NN_DIST_TEXT];
    snprintf(mine, sizeof mine, "conv kernels %s, OpenBLAS %s", nn_layer_isa(),
             nn_blas_corename());
    return nn_dist_same_kernels(r->d, mine, e);
}

static int is_kept(const nn_layer *l)
{
    return l->trainable && l->param_len && strcmp(l->ops->kind, "Dense") == 0;
}

double nn_fit_det_dense_bytes(const nn_model *m, size_t B, size_t C, int N)
{
    size_t W = 0, G = nn_fit_det_group(B, C), cuts = 0, last = 0;
    double f = N > 0 ? (N - 1.0) / N : 0, bytes = 0;
    for (int i = 0; i < m->nlayers; i++) {
        const nn_layer *l = &m->layers[i];
        size_t in, u;
        if (!is_kept(l))
            continue;
        in = dense_in(l);
        u = dense_units(l);
        if (nn_fit_det_gathers(B, in, u, N))
            bytes += f * 4.0 * (double)(B * (in + u)) - f * 8.0 * (double)(in * u);
        else
            W += in * u;
    }
    for (int q = 1; W && q < N; q++) {
        size_t s = nn_fit_det_rank_start(B, C, G, N, q, 1);
        cuts += s != last && s < B && s % G;
        last = s;
    }
    return bytes + (N > 0 ? 4.0 * (double)W * (double)cuts / N : 0);
}

/* The Dense kernels' slots, their dz buffers and the ranges det_zero
 * clears: every parameter but those kernels. */
static int open_kept(fit_run *r)
{
    const nn_model *m = r->m;
    if (!(r->det_slot = malloc((size_t)m->nlayers * sizeof *r->det_slot)) ||
        !(r->det_zr = malloc(2 * ((size_t)m->nlayers + 1) * sizeof *r->det_zr)))
        return 0;
    r->det_nkeep = 0;
    r->det_nz = 0;
    size_t from = 0;
    for (int i = 0; i < m->nlayers; i++) {
        const nn_layer *l = &m->layers[i];
        r->det_slot[i] = is_kept(l) ? r->det_nkeep++ : -1;
        if (r->det_slot[i] < 0)
            continue;
        if (l->param_off > from) {
            r->det_zr[2 * r->det_nz] = from;
            r->det_zr[2 * r->det_nz++ + 1] = l->param_off - from;
        }
        from = l->param_off + dense_in(l) * dense_units(l);
    }
    if (m->nparams > from) {
        r->det_zr[2 * r->det_nz] = from;
        r->det_zr[2 * r->det_nz++ + 1] = m->nparams - from;
    }
    size_t nk = r->det_nkeep ? (size_t)r->det_nkeep : 1;
    r->det_dz = calloc(nk, sizeof *r->det_dz);
    r->det_bexp = malloc(r->det_kmax * nk * sizeof *r->det_bexp);
    r->det_koff = malloc(nk * sizeof *r->det_koff);
    r->det_xam = calloc(nk, sizeof *r->det_xam);
    r->det_xamk = calloc(r->det_kmax * nk, 1);
    if (!r->det_dz || !r->det_bexp || !r->det_koff || !r->det_xam || !r->det_xamk)
        return 0;
    r->det_ktot_w = 0;
    for (int i = 0; i < m->nlayers; i++) {
        int s = r->det_slot[i];
        if (s < 0)
            continue;
        const nn_layer *l = &m->layers[i];
        r->det_koff[s] = r->det_ktot_w;
        r->det_ktot_w += dense_in(l) * dense_units(l);
        size_t rows = r->chunk ? r->chunk : 1;
        if (!(r->det_dz[s] = malloc(rows * dense_units(l) * sizeof(float))) ||
            !(r->det_xam[s] = malloc(rows * sizeof(uint32_t))))
            return 0;
    }
    return 1;
}

int fit_det_keep(void *arg, const nn_layer *l, const float *x, const float *dz, int row0,
                 int n)
{
    fit_run *r = arg;
    int s = r->det_slot[l - r->m->layers];
    if (s < 0)
        return 0;
    size_t in = dense_in(l), units = dense_units(l), k = (size_t)row0 / r->det_c;
    size_t ks = k * (size_t)r->det_nkeep + (size_t)s;
    memcpy(r->det_dz[s] + (size_t)row0 * units, dz, (size_t)n * units * sizeof *dz);
    /* x's largest from the forward where it read these rows (one pass over
     * x fewer: rick_dense's is 43 MB a step), else read here */
    int ex;
    if (r->det_xamk[ks] && (size_t)row0 + (size_t)n <= (k + 1) * r->det_c) {
        uint32_t mx = 0;
        for (int i = 0; i < n; i++)
            mx = r->det_xam[s][row0 + i] > mx ? r->det_xam[s][row0 + i] : mx;
        ex = nn_det_bits_exp(mx);
    } else {
        ex = nn_det_max_exp(x, (size_t)n * in);
    }
    r->det_xamk[ks] = 0;
    /* a bound for any group of det_dg rows whose factors are at most this
     * chunk's: the largest over the chunks bounds every group */
    r->det_bexp[ks] =
        nn_det_bound_exp(ex, nn_det_max_exp(dz, (size_t)n * units), (long)r->det_dg);
    return 1;
}

uint32_t *fit_det_xmax(void *arg, const nn_layer *l, int row0, int n)
{
    fit_run *r = arg;
    int s = r->det_slot[l - r->m->layers];
    if (s < 0 || n <= 0)
        return NULL;
    /* the local chunks whose rows the call covers, each on the thread
     * that runs its backward */
    size_t C = r->det_c, a = (size_t)row0, b = a + (size_t)n;
    for (size_t k = (a + C - 1) / C; k * C < b; k++) {
        size_t e = (k + 1) * C < r->det_rows ? (k + 1) * C : r->det_rows;
        if (e <= b)
            r->det_xamk[k * (size_t)r->det_nkeep + (size_t)s] = 1;
    }
    return r->det_xam[s] + row0;
}

void fit_det_zero(void *arg, int k, float *g)
{
    const fit_run *r = arg;
    (void)k;
    for (int z = 0; z < r->det_nz; z++)
        memset(g + r->det_zr[2 * z], 0, r->det_zr[2 * z + 1] * sizeof *g);
}

/* Two or more ranks: rank q's slice of the parameters is nn_dist_shard's
 * q-th of nparams, the same on every rank. */
static int open_slices(fit_run *r)
{
    if (!r->d->active || r->d->size == 1)
        return 1;
    int N = r->d->size;
    r->det_cnt = malloc((size_t)N * sizeof *r->det_cnt);
    r->det_dsp = malloc((size_t)N * sizeof *r->det_dsp);
    if (!r->det_cnt || !r->det_dsp)
        return 0;
    for (int q = 0; q < N; q++) {
        size_t off, cnt;
        nn_dist_shard(r->m->nparams, N, q, &off, &cnt);
        r->det_cnt[q] = (int)cnt;
        r->det_dsp[q] = (int)off;
        if (q == r->d->rank) {
            r->det_s0 = off;
            r->det_ns1 = cnt;
        }
    }
    size_t nw = r->det_ktot_w ? r->det_ktot_w : 1;
    r->det_tp = malloc(nw * sizeof *r->det_tp);
    r->det_lp = malloc(nw * sizeof *r->det_lp);
    /* the largest slice: the first (nn_dist_shard) */
    return (r->det_rs = malloc(((size_t)r->det_cnt[0] + 1) * sizeof *r->det_rs)) != NULL &&
           r->det_tp && r->det_lp;
}

int fit_det_open(fit_run *r, nn_error *e)
{
    const nn_model *m = r->m;
    r->det_ktot = (r->B + r->det_c - 1) / r->det_c;
    r->det_kmax = most_chunks(r);
    r->det_ns = 1 + m->metric_sums;
    r->det_g = calloc(r->det_kmax, sizeof *r->det_g);
    r->det_acc = malloc((m->nparams ? m->nparams : 1) * sizeof *r->det_acc);
    /* the table, then the step's other sums (fit_det_sync) */
    r->det_tab = malloc((r->det_ktot * (size_t)r->det_ns + NN_DET_RED) * sizeof *r->det_tab);
    r->det_exp = malloc((size_t)m->nlayers * sizeof *r->det_exp);
    r->det_cexp = malloc(r->det_kmax * (size_t)m->nlayers * sizeof *r->det_cexp);
    int ok = r->det_g && r->det_acc && r->det_tab && r->det_exp && r->det_cexp;
    size_t ns = nn_model_det_stat_sums(m);
    if (ns && ok)
        ok = (r->det_stab = calloc((r->det_ktot + 1) * ns, sizeof *r->det_stab)) != NULL;
    for (size_t k = 0; ok && k < r->det_kmax; k++)
        ok = (r->det_g[k] = malloc((m->nparams ? m->nparams : 1) * sizeof(float))) != NULL;
    ok = ok && open_kept(r) && open_slices(r) && fit_det_gather_open(r);
    if (!ok)
        return nn_err(e, NN_ENOMEM, "--deterministic: out of memory for %zu chunk gradients of %zu parameters",
                      r->det_kmax, m->nparams);
    /* OpenBLAS's own threads split a product by another rule */
    nn_blas_set_threads(1);
    return NN_OK;
}

void fit_det_close(fit_run *r)
{
    fit_det_gather_close(r);
    for (size_t k = 0; r->det_g && k < r->det_kmax; k++)
        free(r->det_g[k]);
    free(r->det_g);
    free(r->det_acc);
    free(r->det_tab);
    free(r->det_exp);
    free(r->det_cexp);
    free(r->det_stab);
    r->det_stab = NULL;
    for (int s = 0; r->det_dz && s < r->det_nkeep; s++)
        free(r->det_dz[s]);
    for (int s = 0; r->det_xam && s < r->det_nkeep; s++)
        free(r->det_xam[s]);
    free(r->det_dz);
    free(r->det_xam);
    free(r->det_xamk);
    r->det_xam = NULL;
    r->det_xamk = NULL;
    free(r->det_bexp);
    free(r->det_slot);
    free(r->det_zr);
    free(r->det_cnt);
    free(r->det_dsp);
    free(r->det_rs);
    free(r->det_koff);
    free(r->det_tp);
    free(r->det_lp);
    r->det_koff = NULL;
    r->det_tp = NULL;
    r->det_lp = NULL;
    r->det_cnt = NULL;
    r->det_dsp = NULL;
    r->det_rs = NULL;
    r->det_dz = NULL;
    r->det_bexp = NULL;
    r->det_slot = NULL;
    r->det_zr = NULL;
    r->det_cexp = NULL;
    r->det_g = NULL;
    r->det_acc = NULL;
    r->det_tab = NULL;
    r->det_exp = NULL;
}

static int over_ranks(fit_run *r, void *buf, int n, MPI_Datatype type, MPI_Op op,
                      const char *what, nn_error *e)
{
    if (!r->d->active || r->d->size == 1)
        return NN_OK;
    r->wd.step = r->step_id;
    return nn_watchdog_allreduce(&r->wd, buf, n, type, op, what, e);
}

void fit_det_chunk_done(fit_run *r, int k, const float *g)
{
    const nn_model *m = r->m;
    int *ex = r->det_cexp + (size_t)k * (size_t)m->nlayers;
    for (int i = 0; i < m->nlayers; i++) {
        const nn_layer *l = &m->layers[i];
        int s = r->det_slot[i];
        if (s >= 0) {   /* the kernel's bound, the bias's largest */
            size_t nw = dense_in(l) * dense_units(l);
            int b = r->det_bexp[(size_t)k * (size_t)r->det_nkeep + (size_t)s];
            int c = nn_det_max_exp(g + l->param_off + nw, l->param_len - nw);
            ex[i] = b == INT_MAX || c == INT_MAX ? INT_MAX : b > c ? b : c;
        } else {
            ex[i] = l->trainable && l->param_len ? nn_det_max_exp(g + l->param_off, l->param_len)
                                                 : INT_MIN;
        }
    }
}

/* Per layer the largest exponent of its gradient over this rank's chunks. */
static void local_exponents(fit_run *r)
{
    const nn_model *m = r->m;
    for (int i = 0; i < m->nlayers; i++) {
        int ex = INT_MIN;
        for (size_t k = 0; k < r->det_k; k++) {
            int x = r->det_cexp[k * (size_t)m->nlayers + (size_t)i];
            ex = x > ex ? x : ex;
        }
        r->det_exp[i] = ex;
    }
}

/* The fixed-point work over the compute threads, each a slice of every
 * layer: add this rank's chunks (FIX_ADD), round the sum into the gradient
 * (FIX_ROUND), or the float sums of the Dense groups cut by a rank
 * boundary: the trail's from zero (FIX_TRAIL), the lead's continued and,
 * where its group ends here, added (FIX_LEAD). */
enum { FIX_ROUND, FIX_ADD, FIX_TRAIL, FIX_LEAD };

typedef struct fix_job {
    fit_run *r;
    const det_cut *cut;
    long K;        /* chunks in the global batch */
    int mode;
    size_t rows;   /* of the global batch */
} fix_job;

static int one_rank(const fit_run *r)
{
    return !r->d->active || r->d->size == 1;
}

/* The fixed-point shift of layer i's gradient (largest exponent ex, K
 * chunks in the global batch): narrower for a fused Dense kernel. */
static int layer_shift(const fit_run *r, int i, int ex, long K)
{
    return r->det_slot[i] >= 0 ? nn_det_shift_dense(ex, K) : nn_det_shift(ex, K);
}

/* Kernel rows [*da, *db) of kept layer l lie wholly inside this rank's
 * slice and are made after the ring (det_defer; else none). */
static void own_rows(const fit_run *r, const nn_layer *l, size_t *da, size_t *db)
{
    size_t u = dense_units(l), off = l->param_off, nw = dense_in(l) * u;
    size_t s0 = r->det_s0, s1 = s0 + r->det_ns1;
    *da = *db = 0;
    if (!r->det_defer || s1 <= off || s0 >= off + nw)
        return;
    size_t a = s0 > off ? s0 - off : 0, b = s1 < off + nw ? s1 - off : nw;
    if (b / u > (a + u - 1) / u) {
        *da = (a + u - 1) / u;
        *db = b / u;
    }
}

/* Kernel rows [i0, i1) of Dense layer l into the fixed-point sums: the
 * fused kernel over this rank's whole groups, or zeros. */
static void add_rows(fit_run *r, const det_cut *c, const nn_layer *l, int fin, int shift,
                     size_t i0, size_t i1)
{
    size_t in = dense_in(l), units = dense_units(l);
    const float *x = nn_model_layer_out(r->m, r->det_x, l->inp[0]);
    const float *dz = r->det_dz[r->det_slot[l - r->m->layers]];
    if (i1 <= i0)
        return;
    if (fin && one_rank(r))   /* nothing else to add: straight to the gradient */
        nn_det_xtdz_round(r->m->grads + l->param_off, r->det_acc + l->param_off, x, dz,
                          r->det_rows, r->det_dg, in, units, i0, i1, shift);
    else if (fin && c->rows_here && c->full)
        nn_det_add_xtdz(r->det_acc + l->param_off, x + c->lead * in, dz + c->lead * units,
                        c->full, r->det_dg, in, units, i0, i1, shift, 1);
    else
        nn_det_add_xtdz(r->det_acc + l->param_off, NULL, NULL, 0, r->det_dg, in, units, i0, i1,
                        shift, 1);
}

/* Thread t's share of Dense layer i's sum (exponent ex): its part of the
 * kernel's rows (but the deferred ones) written by the fused kernel from
 * this rank's whole groups (zeros when ex is not finite: the sums travel
 * in the allreduce but are not read), of the bias added from the chunk
 * buffers. */
static void add_kept(fit_run *r, const det_cut *c, int i, int ex, long K, int t, int T)
{
    const nn_layer *l = &r->m->layers[i];
    size_t in = dense_in(l), units = dense_units(l), nw = in * units, da, db;
    int fin = ex != INT_MIN && ex != INT_MAX, shift = fin ? layer_shift(r, i, ex, K) : 0;
    long p0, np, b0, nb;
    own_rows(r, l, &da, &db);
    /* made from the gathered rows (round_slice): none here */
    size_t rest = r->det_xch[r->det_slot[i]] ? 0 : in - (db - da);
    nn_pool_split((long)rest, T, t, &p0, &np);
    /* the share of the rows but [da, db): below da, then from db on */
    size_t q0 = (size_t)p0, q1 = (size_t)(p0 + np);
    add_rows(r, c, l, fin, shift, q0, q1 < da ? q1 : da);
    add_rows(r, c, l, fin, shift, (q0 > da ? q0 : da) + db - da, q1 + db - da);
    if (!fin)
        return;
    nn_pool_split((long)(l->param_len - nw), T, t, &b0, &nb);
    nn_det_add(r->det_acc + l->param_off + nw + b0, (const float *const *)r->det_g, r->det_k,
               l->param_off + nw + (size_t)b0, (size_t)nb, shift);
}

/* Thread t's share of the cut groups of every Dense kernel (its slice of
 * the kernel's rows): the trail's float sums from zero, or the lead's
 * continued from the received ones and, where the group ends here, added
 * to the fixed-point sums as one addend, as a whole group is. */
static void cut_kept(fit_run *r, const det_cut *c, int lead, long K, int t, int T)
{
    const nn_model *m = r->m;
    for (int i = 0; i < m->nlayers; i++) {
        int s = r->det_slot[i], ex = r->det_exp[i];
        if (s < 0 || r->det_xch[s])
            continue;
        const nn_layer *l = &m->layers[i];
        size_t in = dense_in(l), units = dense_units(l);
        size_t at = lead ? 0 : c->lead + c->full, n = lead ? c->lead : c->trail;
        long i0, ni;
        nn_pool_split((long)in, T, t, &i0, &ni);
        float *p = (lead ? r->det_lp : r->det_tp) + r->det_koff[s];
        if (c->rows_here && n)
            nn_det_xtdz_chain(p, nn_model_layer_out(m, r->det_x, l->inp[0]) + at * in,
                              r->det_dz[s] + at * units, n, in, units, (size_t)i0,
                              (size_t)(i0 + ni), !lead);
        else if (!lead)
            nn_det_xtdz_chain(p, NULL, NULL, 0, in, units, (size_t)i0, (size_t)(i0 + ni), 1);
        if (lead && !c->through && ex != INT_MIN && ex != INT_MAX) {
            size_t o = (size_t)i0 * units;
            const float *pv = p;
            nn_det_add(r->det_acc + l->param_off + o, &pv, 1, o, (size_t)ni * units,
                       layer_shift(r, i, ex, K));
        }
    }
}

/* Thread t's share of parameters [a, b) of layer i (exponent ex), inside
 * this rank's slice: their sums rounded (with the ring's last block where
 * it was kept apart). */
static void round_range(fit_run *r, int i, int ex, long K, size_t a, size_t b, int t, int T)
{
    if (a >= b)
        return;
    long p0, n;
    nn_pool_split((long)(b - a), T, t, &p0, &n);
    size_t off = a + (size_t)p0;
    float *g = r->m->grads + off;
    if (ex == INT_MAX)
        for (long k = 0; k < n; k++)
            g[k] = NAN;
    else if (ex == INT_MIN)
        memset(g, 0, (size_t)n * sizeof *g);
    else if (r->det_defer)
        nn_det_round_sum(g, r->det_acc + off, r->det_rs + (off - r->det_s0), (size_t)n,
                         layer_shift(r, i, ex, K));
    else
        nn_det_round(g, r->det_acc + off, (size_t)n, layer_shift(r, i, ex, K));
}

/* Thread t's share of this rank's slice of the summed gradient (det_rs):
 * each layer's part of it rounded by that layer's rule, the same function
 * of an element's sum as on one rank; the deferred kernel rows made here,
 * from the ring's block and this rank's groups. */
static void round_slice(fit_run *r, const det_cut *c, long K, size_t rows, int t, int T)
{
    nn_model *m = r->m;
    size_t s0 = r->det_s0, s1 = s0 + r->det_ns1;
    for (int i = 0; i < m->nlayers; i++) {
        const nn_layer *l = &m->layers[i];
        size_t a = l->param_off > s0 ? l->param_off : s0,
               b = l->param_off + l->param_len < s1 ? l->param_off + l->param_len : s1;
        if (a >= b)
            continue;
        int ex = r->det_exp[i], s = r->det_slot[i], fin = ex != INT_MIN && ex != INT_MAX;
        if (s >= 0 && r->det_xch[s] && fin) {
            /* the kernel's part from the gathered rows, then the bias's */
            size_t nw = dense_in(l) * dense_units(l), ka = a - l->param_off,
                   kb = b - l->param_off < nw ? b - l->param_off : nw;
            if (ka < kb)
                fit_det_round_gathered(r, i, ka, kb, rows, layer_shift(r, i, ex, K), t, T);
            a = a > l->param_off + nw ? a : l->param_off + nw;
            round_range(r, i, ex, K, a, b, t, T);
            continue;
        }
        size_t da = 0, db = 0;
        if (s >= 0 && fin)
            own_rows(r, l, &da, &db);
        if (db > da) {
            size_t in = dense_in(l), u = dense_units(l), off = l->param_off;
            long p0, n;
            nn_pool_split((long)(db - da), T, t, &p0, &n);
            size_t i0 = da + (size_t)p0, have = c->rows_here ? c->full : 0;
            nn_det_xtdz_round_add(m->grads + off, r->det_acc + off,
                                  r->det_rs + (off + i0 * u - s0),
                                  nn_model_layer_out(m, r->det_x, l->inp[0]), r->det_dz[s], have,
                                  r->det_dg, in, u, i0, i0 + (size_t)n, layer_shift(r, i, ex, K));
            round_range(r, i, ex, K, a, off + da * u, t, T);
            round_range(r, i, ex, K, off + db * u, b, t, T);
            continue;
        }
        round_range(r, i, ex, K, a, b, t, T);
    }
}

static void fix_thread(void *arg, int t, int T)
{
    const fix_job *j = arg;
    fit_run *r = j->r;
    nn_model *m = r->m;
    const int add = j->mode == FIX_ADD;
    /* the same flush-to-zero rule on every thread (the chunk pass's) */
    unsigned fp = nn_fp_enter();
    if (j->mode == FIX_TRAIL || j->mode == FIX_LEAD) {
        cut_kept(r, j->cut, j->mode == FIX_LEAD, j->K, t, T);
        nn_fp_leave(fp);
        return;
    }
    if (!add && !one_rank(r)) {
        round_slice(r, j->cut, j->K, j->rows, t, T);
        nn_fp_leave(fp);
        return;
    }
    for (int i = 0; i < m->nlayers; i++) {
        const nn_layer *l = &m->layers[i];
        int ex = r->det_exp[i];
        long p0, n;
        nn_pool_split((long)l->param_len, T, t, &p0, &n);
        if (!add && r->det_slot[i] >= 0 && ex != INT_MIN && ex != INT_MAX && one_rank(r)) {
            /* add_kept rounded the kernel: the bias's share of this slice */
            long nw = (long)(dense_in(l) * dense_units(l)), e0 = p0 + n;
            p0 = p0 > nw ? p0 : nw;
            n = e0 > p0 ? e0 - p0 : 0;
        }
        size_t off = l->param_off + (size_t)p0;
        float *g = m->grads + off;
        if (!add && ex == INT_MAX)   /* a NaN or Inf somewhere: check_step reports it */
            for (long k = 0; k < n; k++)
                g[k] = NAN;
        else if (!add && ex == INT_MIN)
            memset(g, 0, (size_t)n * sizeof *g);
        else if (!add)
            nn_det_round(g, r->det_acc + off, (size_t)n, layer_shift(r, i, ex, j->K));
        else if (r->det_slot[i] >= 0)
            add_kept(r, j->cut, i, ex, j->K, t, T);
        else if (ex != INT_MIN && ex != INT_MAX)
            nn_det_add(r->det_acc + off, (const float *const *)r->det_g, r->det_k, off, (size_t)n,
                       nn_det_shift(ex, j->K));
    }
    nn_fp_leave(fp);
}

static void fix_run(fit_run *r, const det_cut *c, long K, int mode, size_t rows)
{
    const nn_exec *ex = r->m->exec;
    fix_job j = {r, c, K, mode, rows};
    nn_pool_run(ex && ex->threads > 1 ? ex->pool : NULL, fix_thread, &j);
}

/* The cut groups' messages (two or more ranks): the trail's sums sent on,
 * the lead's posted to receive; q[0] and q[1] are their requests. */
static int cut_start(fit_run *r, const det_cut *c, long K, MPI_Request *q, nn_error *e)
{
    int n = (int)r->det_ktot_w, rc = NN_OK;
    q[0] = q[1] = MPI_REQUEST_NULL;
    if (c->trail) {
        fix_run(r, c, K, FIX_TRAIL, 0);
        rc = nn_watchdog_start_floats(&r->wd, r->det_tp, n, c->to, 1, &q[0],
                                      "deterministic Dense group send", e);
    }
    if (!rc && c->lead)
        rc = nn_watchdog_start_floats(&r->wd, r->det_lp, n, c->from, 0, &q[1],
                                      "deterministic Dense group receive", e);
    return rc;
}

/* The lead's sums received and continued over this rank's rows (then
 * added, or passed on when the group goes on above); every send waited. */
static int cut_finish(fit_run *r, const det_cut *c, long K, MPI_Request *q, nn_error *e)
{
    static const char what[] = "deterministic Dense group exchange";
    int rc = NN_OK;
    if (!c->lead && !c->trail)
        return NN_OK;
    nn_watchdog_arrive(&r->wd, r->step_id);
    if (c->lead && !(rc = nn_watchdog_wait(&r->wd, 1, &q[1], r->step_id, what, e))) {
        fix_run(r, c, K, FIX_LEAD, 0);
        if (c->through)
            rc = nn_watchdog_start_floats(&r->wd, r->det_lp, (int)r->det_ktot_w, c->to, 1,
                                          &q[1], "deterministic Dense group send", e);
    }
    int rc2 = nn_watchdog_wait(&r->wd, 2, q, r->step_id, what, e);
    return rc ? rc : rc2;
}

int fit_det_sync(fit_run *r, size_t rows, double *red, nn_error *e)
{
    nn_model *m = r->m;
    const long K = (long)((rows + r->det_c - 1) / r->det_c);
    local_exponents(r);
    int rc = over_ranks(r, r->det_exp, m->nlayers, MPI_INT, MPI_MAX,
                        "deterministic gradient exponents", e);
    /* the Dense kernels' sums are written whole by add_kept, or not read */
    for (int z = 0; z < r->det_nz; z++)
        memset(r->det_acc + r->det_zr[2 * z], 0, r->det_zr[2 * z + 1] * sizeof *r->det_acc);
    det_cut c = {0, 0, 0, 0, -1, -1, 0};
    MPI_Request q[2];
    if (!rc && !one_rank(r)) {
        c = plan_cut(r, rows);
        rc = cut_start(r, &c, K, q, e);
    }
    /* (a cut group's lead adds to every kernel row; the gathered kernels'
     * ring carries a compacted vector) */
    r->det_defer = !one_rank(r) && !r->det_nxch && !c.lead && !c.trail;
    if (!rc && !one_rank(r))
        rc = fit_det_gather_rows(r, rows, e);
    if (!rc)
        fix_run(r, &c, K, FIX_ADD, rows);
    if (!rc && !one_rank(r))
        rc = cut_finish(r, &c, K, q, e);
    /* two or more ranks: each receives the sums of its slice, rounds them
     * and gathers the others' floats (8 + 4 bytes a parameter, not an
     * allreduce's 2 x 8; the rounding split over the ranks); the gathered
     * kernels stay out of the ring */
    if (!rc && !one_rank(r) && r->det_nxch) {
        fit_det_pack(r, 0);
        rc = nn_watchdog_ring_sum_i64(&r->wd, r->det_cacc, r->det_crs, r->det_ccnt, r->det_cdsp, 1,
                                      r->step_id, "deterministic gradient reduce-scatter", e);
        if (!rc)
            fit_det_pack(r, 1);
    } else if (!rc && !one_rank(r)) {
        rc = nn_watchdog_ring_sum_i64(&r->wd, r->det_acc, r->det_rs, r->det_cnt, r->det_dsp,
                                      !r->det_defer, r->step_id,
                                      "deterministic gradient reduce-scatter", e);
    }
    if (!rc)
        fix_run(r, &c, K, FIX_ROUND, rows);
    if (!rc && !one_rank(r))
        rc = nn_watchdog_allgatherv(&r->wd, m->grads, r->det_cnt, r->det_dsp, MPI_FLOAT,
                                    "deterministic gradient allgather", e);
    /* each slot has one rank's value and zeros: the sum is that value; the
     * step's failure and stop flags ride along (one allreduce, not two) */
    const size_t nt = (size_t)K * (size_t)r->det_ns, nred = 3 + (size_t)m->metric_sums;
    memcpy(r->det_tab + nt, red, nred * sizeof *red);
    if (!rc)
        rc = over_ranks(r, r->det_tab, (int)(nt + nred), MPI_DOUBLE, MPI_SUM,
                        "deterministic loss and metric table", e);
    if (!rc)
        memcpy(red, r->det_tab + nt, nred * sizeof *red);
    for (int j = 0; !rc && j < r->det_ns; j++) {
        double s = 0;
        for (long k = 0; k < K; k++)
            s += r->det_tab[(size_t)k * r->det_ns + j];
        red[1 + j] = s;
    }
    return rc;
}
