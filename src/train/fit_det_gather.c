/* Deterministic mode over two or more ranks: a Dense kernel whose batch
 * rows (x and dz) take fewer bytes than its int64 sums (a wide layer at a
 * small batch: mnist_mlp512's 784 x 512 kernel against 128 rows) is not
 * summed by the ring. Every rank gathers all ranks' rows of it (an
 * allgather of floats) and makes the kernel rows of its own slice of the
 * parameters from the whole batch, group by group, as one rank does
 * (nn_det_xtdz_round): the same fixed-point sums, so the same bits. The
 * ring then carries the other parameters only, in a compacted vector
 * whose block q holds the rest of rank q's slice. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "fit_run.h"
#include "nntrain/gemm.h"
#include "train/detsum.h"
#include "train/exec.h"

/* Parameters [lo, hi) but the gathered kernels, between the full int64
 * sums and their compacted form c (to_c: into c; NULL: count only); the
 * number of them. */
static size_t walk(const fit_run *r, size_t lo, size_t hi, int64_t *c, int to_c)
{
    const nn_model *m = r->m;
    size_t n = 0, p = lo;
    for (int i = 0; i <= m->nlayers && p < hi; i++) {
        size_t g0 = hi, g1 = hi;
        if (i < m->nlayers) {
            int s = r->det_slot[i];
            if (s < 0 || !r->det_xch[s])
                continue;
            g0 = m->layers[i].param_off;
            g1 = g0 + dense_in(&m->layers[i]) * dense_units(&m->layers[i]);
            if (g1 <= p)
                continue;
        }
        size_t e = g0 < hi ? g0 : hi;
        if (e > p && c)
            memcpy(to_c ? c + n : r->det_acc + p, to_c ? r->det_acc + p : c + n,
                   (e - p) * sizeof *c);
        n += e > p ? e - p : 0;
        p = g1 > p ? g1 : p;
    }
    return n;
}

int nn_fit_det_gathers(size_t B, size_t in, size_t units, int N)
{
    /* a rank then receives (N-1)/N of the rows' floats instead of sending
     * (N-1)/N of the kernel's int64 sums: where that is at most half the
     * bytes (two allgathers cost more latency than one ring: mnist_cnn's
     * 576 x 64 kernel at 64 rows was no faster); both counts fit an int */
    return N > 1 && B * (in + units) < in * units && B * (in > units ? in : units) <= INT_MAX;
}

int fit_det_gather_open(fit_run *r)
{
    const nn_model *m = r->m;
    int N = r->d->size;
    size_t nk = r->det_nkeep ? (size_t)r->det_nkeep : 1;
    r->det_nxch = 0;
    if (!(r->det_xch = calloc(nk, 1)) || !(r->det_gx = calloc(nk, sizeof *r->det_gx)) ||
        !(r->det_gz = calloc(nk, sizeof *r->det_gz)))
        return 0;
    if (!r->d->active || N == 1)
        return 1;
    for (int i = 0; i < m->nlayers; i++) {
        int s = r->det_slot[i];
        if (s < 0)
            continue;
        size_t in = dense_in(&m->layers[i]), u = dense_units(&m->layers[i]);
        if (!nn_fit_det_gathers(r->B, in, u, N))
            continue;
        r->det_xch[s] = 1;
        r->det_nxch++;
        if (!(r->det_gx[s] = malloc(r->B * in * sizeof(float))) ||
            !(r->det_gz[s] = malloc(r->B * u * sizeof(float))))
            return 0;
    }
    if (!r->det_nxch)
        return 1;
    r->det_ccnt = malloc((size_t)N * sizeof *r->det_ccnt);
    r->det_cdsp = malloc((size_t)N * sizeof *r->det_cdsp);
    r->det_gcnt = malloc((size_t)N * sizeof *r->det_gcnt);
    r->det_gdsp = malloc((size_t)N * sizeof *r->det_gdsp);
    if (!r->det_ccnt || !r->det_cdsp || !r->det_gcnt || !r->det_gdsp)
        return 0;
    size_t at = 0, most = 0;
    for (int q = 0; q < N; q++) {
        size_t n = walk(r, (size_t)r->det_dsp[q], (size_t)r->det_dsp[q] + (size_t)r->det_cnt[q],
                        NULL, 0);
        r->det_ccnt[q] = (int)n;
        r->det_cdsp[q] = (int)at;
        at += n;
        most = n > most ? n : most;
    }
    return (r->det_cacc = malloc((at + 1) * sizeof *r->det_cacc)) != NULL &&
           (r->det_crs = malloc((most + 1) * sizeof *r->det_crs)) != NULL;
}

void fit_det_gather_close(fit_run *r)
{
    for (int s = 0; r->det_gx && s < r->det_nkeep; s++) {
        free(r->det_gx[s]);
        free(r->det_gz[s]);
    }
    free(r->det_xch);
    free(r->det_gx);
    free(r->det_gz);
    free(r->det_cacc);
    free(r->det_crs);
    free(r->det_ccnt);
    free(r->det_cdsp);
    free(r->det_gcnt);
    free(r->det_gdsp);
    r->det_xch = NULL;
    r->det_gx = r->det_gz = NULL;
    r->det_cacc = r->det_crs = NULL;
    r->det_ccnt = r->det_cdsp = r->det_gcnt = r->det_gdsp = NULL;
}

/* One gathered matrix: this rank's rows (or zeros, on a failed rank) at
 * their global place, then every rank's. */
static int gather(fit_run *r, float *buf, const float *mine, size_t rows, size_t width,
                  const char *what, nn_error *e)
{
    size_t off, cnt;
    for (int q = 0; q < r->d->size; q++) {
        fit_det_rank_rows(r, rows, q, &off, &cnt);
        r->det_gcnt[q] = (int)(cnt * width);
        r->det_gdsp[q] = (int)(off * width);
    }
    fit_det_rank_rows(r, rows, r->d->rank, &off, &cnt);
    if (r->det_rows == cnt && cnt)
        memcpy(buf + off * width, mine, cnt * width * sizeof *buf);
    else
        memset(buf + off * width, 0, cnt * width * sizeof *buf);
    return nn_watchdog_allgatherv(&r->wd, buf, r->det_gcnt, r->det_gdsp, MPI_FLOAT, what, e);
}

int fit_det_gather_rows(fit_run *r, size_t rows, nn_error *e)
{
    const nn_model *m = r->m;
    int rc = NN_OK;
    for (int i = 0; !rc && r->det_nxch && i < m->nlayers; i++) {
        const nn_layer *l = &m->layers[i];
        int s = r->det_slot[i];
        if (s < 0 || !r->det_xch[s])
            continue;
        const float *x = r->det_rows ? nn_model_layer_out(m, r->det_x, l->inp[0]) : NULL;
        rc = gather(r, r->det_gx[s], x, rows, dense_in(l), "deterministic Dense rows allgather", e);
        if (!rc)
            rc = gather(r, r->det_gz[s], r->det_dz[s], rows, dense_units(l),
                        "deterministic Dense rows allgather", e);
    }
    return rc;
}

void fit_det_pack(fit_run *r, int own)
{
    if (own) {
        int q = r->d->rank;
        walk(r, (size_t)r->det_dsp[q], (size_t)r->det_dsp[q] + (size_t)r->det_cnt[q],
             r->det_cacc + r->det_cdsp[q], 0);
    } else {
        walk(r, 0, r->m->nparams, r->det_cacc, 1);
    }
}

void fit_det_round_gathered(fit_run *r, int i, size_t a, size_t b, size_t rows, int shift,
                            int t, int T)
{
    const nn_layer *l = &r->m->layers[i];
    int s = r->det_slot[i];
    size_t in = dense_in(l), u = dense_units(l), ra = a / u, rb = (b + u - 1) / u;
    long i0, ni;
    nn_pool_split((long)(rb - ra), T, t, &i0, &ni);
    i0 += (long)ra;
    /* whole kernel rows: one that the slice cuts is made by both ranks,
     * the same bits, each keeping its part */
    nn_det_xtdz_round(r->m->grads + l->param_off, r->det_acc + l->param_off, r->det_gx[s],
                      r->det_gz[s], rows, r->det_dg, in, u, (size_t)i0, (size_t)(i0 + ni),
                      shift);
}
