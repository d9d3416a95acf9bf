/* nntrain bench MODEL.nn: training throughput on synthetic data of the
 * model's input shape, at the current number of ranks. One nn_fit of W + S
 * steps whose statistics start after the W warm-up steps (first touch of
 * the activation plan, optimizer state and prefetch buffers, thread
 * start-up), so the measured steps run as in the middle of an epoch.
 *
 * The data are a pool of samples (uniform [0, 1) inputs, random labels or
 * targets that fit the loss) generated in memory on every rank from the seed
 * (not the rank); a wrapper maps the fit's sample indices onto the pool, so
 * the pool is one global batch or 64 MiB, whichever is larger, instead of
 * (W + S) batches (Rick dense at batch 500 would need 1.7 GB per rank).
 *
 * Rank 0 prints img/s (total and per rank), ms/step, the time split per step
 * (mean over ranks: the means add up to the mean step time), GFLOP/s from
 * the multiply-adds the layers report (ops->info->macs: Dense and Conv2D),
 * the peak RSS of every rank and one machine-readable BENCH line; --csv
 * appends the same values as a row. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "cli.h"
#include "infer.h"
#include "core/gemm_bf16.h"
#include "nntrain/gemm.h"
#include "nntrain/fit.h"

static const char *help =
    "usage: nntrain bench MODEL.nn [options]\n"
    "\n"
    "Trains MODEL on synthetic data of its input shape (uniform [0, 1) inputs,\n"
    "random labels or targets for its loss) and reports training images/s.\n"
    "Under mpirun the run is data parallel, exactly as nntrain train.\n"
    "\n"
    "  --batch-size B          global batch (default: the spec's fit(batch_size=...))\n"
    "  --per-rank-batch b      weak scaling: global batch b * ranks\n"
    "  --threads T             compute threads per rank (default: cores / local ranks)\n"
    "  --conv-algo A           3x3 stride-1 Conv2D layers: 'direct' (default), 'winograd',\n"
    "                          'winograd4' or 'auto' (as nntrain train; NNTRAIN_CONV_ALGO)\n"
    "  --precision P           'bf16' (mixed_bfloat16) or 'fp32' (default: the spec's\n"
    "                          set_global_policy(), as nntrain train)\n"
    "  --steps S               measured steps (default 20)\n"
    "  --warmup W              warm-up steps before the measurement (default 3)\n"
    "  --allreduce MODE        'overlap' (bucketed, default) or 'blocking'\n"
    "  --bucket-mb M           gradient bucket size for overlap (default 4)\n"
    "  --seed S                seed of the synthetic data and the weights (default 42)\n"
    "  --csv FILE              append one row of results (header if the file is new)\n"
    "  --profile               time every layer's forward and backward (thread 0 of\n"
    "                          rank 0) and print them as a table\n"
    "  --deterministic         also run deterministic mode (train --deterministic) on\n"
    "                          the same data and report its slowdown and allreduce bytes\n"
    "  --det-chunk C           rows per chunk in that mode (default 8)\n"
    "\n"
    "The last line is machine-readable:\n"
    "  BENCH model= ranks= threads= batch= img_s= ms_step= gflops= compute_s= comm_s=\n"
    "        data_s= rss_mb= gflop_sample= rss_mb_ranks= steps= conv_algo= precision=\n"
    "precision is fp32, bf16 (mixed_bfloat16 on AVX512_BF16) or bf16-emulated.\n"
    "compute_s, comm_s (waiting for the gradient allreduce) and data_s are seconds\n"
    "per step, mean over ranks; rss_mb is the largest peak RSS of any rank,\n"
    "rss_mb_ranks lists them all. gflops counts 2 FLOPs per multiply-add of the\n"
    "Dense and Conv2D layers, forward + both backward products (no input\n"
    "gradient for the first layer with parameters), whatever the algorithm: with\n"
    "Winograd it is an effective rate, which may pass the machine's sgemm peak.\n"
    "With --deterministic a second block and BENCH line (model=NAME+det) follow, and\n"
    "the last line is\n"
    "  BENCH_DET model= ranks= threads= batch= img_s= img_s_det= slowdown_pct=\n"
    "        allreduce_bytes= allreduce_bytes_det=\n"
    "with the bytes each rank sends in a step's gradient exchange (loss and metric\n"
    "sums included in deterministic mode) as ring algorithms send them: (N-1)/N of\n"
    "a reduce-scatter's or allgather's vector, twice that of an allreduce's; 0 on\n"
    "one rank (deterministic mode: averaged over the ranks, a wide Dense kernel's\n"
    "gathered rows instead of its int64 sums, and the float sums of Dense groups\n"
    "that rank boundaries cut).\n";

enum { POOL_CAP_BYTES = 64 << 20 };

/* The BENCH line's precision= */
static const char *precision(const nn_model *m)
{
    if (!m->bf16)
        return "fp32";
    return strcmp(nn_gemm_bf16_isa(), "emulated") ? "bf16" : "bf16-emulated";
}

/* Synthetic samples: a pool in memory (nn_memory_open) seen through a
 * dataset of n samples whose index i reads pool sample i % pool_n. */
typedef struct synth {
    nn_dataset pool;
    float *x, *y;      /* (pool_n, in), (pool_n, ydim) */
    uint64_t *map;     /* (cap) scratch for the mapped indices */
    int cap;
} synth;

static int synth_read(nn_dataset *d, const uint64_t *idx, int count, float *x, float *y,
                      nn_error *e)
{
    synth *s = d->priv;
    if (count > s->cap)
        return nn_err(e, NN_EINVAL, "%s: read of %d samples, at most %d", d->source, count,
                      s->cap);
    for (int i = 0; i < count; i++)
        s->map[i] = idx[i] % s->pool.n;
    return s->pool.read(&s->pool, s->map, count, x, y, e);
}

static void synth_close(nn_dataset *d)
{
    synth *s = d->priv;
    if (!s)
        return;
    if (s->pool.close)
        s->pool.close(&s->pool);
    free(s->x);
    free(s->y);
    free(s->map);
    free(s);
    d->priv = NULL;
}

/* Targets that fit the model's loss: class labels for the cross-entropies
 * with K > 1 outputs, 0/1 labels for a single sigmoid, 0/1 targets per
 * output for a multi-output binary cross-entropy, uniform [0, 1) for MSE/MAE.
 * n samples in all, batch B: the pool holds max(B, 64 MiB) of them. */
static int synth_open(nn_dataset *d, const nn_model *m, size_t n, int B, uint64_t seed,
                      nn_error *e)
{
    memset(d, 0, sizeof *d);
    size_t in = nn_model_in_size(m), K = nn_model_out_size(m);
    int ydim = 1, nclasses = 0;
    if (m->loss == NN_LOSS_SCCE || m->loss == NN_LOSS_CCE)
        nclasses = (int)K;
    else if (m->loss == NN_LOSS_BCE && K == 1)
        nclasses = 2;
    else
        ydim = (int)K;
    size_t row = (in + (size_t)ydim) * sizeof(float);
    size_t pool_n = POOL_CAP_BYTES / row;
    if (pool_n < (size_t)B)
        pool_n = (size_t)B;
    if (pool_n > n)
        pool_n = n;
    synth *s = calloc(1, sizeof *s);
    if (!s)
        return nn_err(e, NN_ENOMEM, "out of memory");
    s->cap = B + 1;
    s->x = malloc(pool_n * in * sizeof(float));
    s->y = malloc(pool_n * (size_t)ydim * sizeof(float));
    s->map = malloc((size_t)s->cap * sizeof(uint64_t));
    if (!s->x || !s->y || !s->map) {
        d->priv = s;
        synth_close(d);
        return nn_err(e, NN_ENOMEM, "out of memory for %zu synthetic samples (%.1f MB)",
                      pool_n, (double)(pool_n * row) / 1e6);
    }
    nn_rng r = nn_rng_key(seed, 0xbe7c4, 0, 0);
    for (size_t i = 0; i < pool_n * in; i++)
        s->x[i] = nn_rng_uniform(&r);
    for (size_t i = 0; i < pool_n * (size_t)ydim; i++) {
        if (nclasses > 0)
            s->y[i] = (float)nn_rng_below(&r, (uint64_t)nclasses);
        else if (m->loss == NN_LOSS_BCE)
            s->y[i] = (float)nn_rng_below(&r, 2);
        else
            s->y[i] = nn_rng_uniform(&r);
    }
    int rc = nn_memory_open(&s->pool, s->x, s->y, pool_n, m->in_shape, ydim, nclasses,
                            "synthetic", e);
    d->priv = s;
    if (rc) {
        synth_close(d);
        return rc;
    }
    d->n = n;
    d->x_shape = m->in_shape;
    d->ydim = ydim;
    d->nclasses = nclasses;
    snprintf(d->source, sizeof d->source, "synthetic data (%zu distinct samples)", pool_n);
    d->read = synth_read;
    d->close = synth_close;
    return NN_OK;
}

/* Multiply-adds per sample of one layer, as the layer reports them (0: it
 * reports none). */
static double layer_macs(const nn_layer *l)
{
    return l->ops->info && l->ops->info->macs ? l->ops->info->macs(l) : 0;
}

/* Training FLOPs per sample that any framework must spend: forward 2*MACs,
 * backward dW and dx 2*MACs each, but no dx for a layer with no parameters
 * before it (the first Dense/Conv2D: nobody needs its dx; PyTorch skips it,
 * and so does nn_model_backward). fwd and bwd per layer may be NULL. */
static void model_flops(const nn_model *m, double *fwd, double *train, double *lf, double *lb)
{
    int params_before = 0;
    *fwd = *train = 0;
    for (int i = 0; i < m->nlayers; i++) {
        double f = 2 * layer_macs(&m->layers[i]), b = params_before ? 2 * f : f;
        *fwd += f;
        *train += f + b;
        if (lf)
            lf[i] = f;
        if (lb)
            lb[i] = b;
        if (m->layers[i].param_len)
            params_before = 1;
    }
}

static double peak_rss_mb(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru))
        return 0;
    return (double)ru.ru_maxrss / 1024.0;   /* Linux: KiB */
}

static void basename_noext(const char *path, char *out, size_t len)
{
    const char *b = strrchr(path, '/');
    snprintf(out, len, "%s", b ? b + 1 : path);
    char *dot = strrchr(out, '.');
    if (dot && dot != out)
        *dot = 0;
}

enum { R_SAMPLES, R_TOTAL, R_COMPUTE, R_COMM, R_DATA, R_RSS, R_K };

typedef struct result {
    char model[128];
    int ranks, threads, batch, steps;
    double img_s, ms_step, gflops, gflop_sample, compute_s, comm_s, data_s, rss_mb;
} result;

static int append_csv(const char *path, const result *r, nn_error *e)
{
    struct stat st;
    int fresh = stat(path, &st) || st.st_size == 0;
    FILE *f = fopen(path, "a");
    if (!f)
        return nn_err(e, NN_EIO, "cannot append to --csv file '%s'", path);
    if (fresh)
        fprintf(f, "model,ranks,threads,batch,steps,img_s,ms_step,gflops,gflop_sample,"
                   "compute_s,comm_s,data_s,rss_mb\n");
    fprintf(f, "%s,%d,%d,%d,%d,%.2f,%.3f,%.3f,%.6f,%.6f,%.6f,%.6f,%.1f\n", r->model, r->ranks,
            r->threads, r->batch, r->steps, r->img_s, r->ms_step, r->gflops, r->gflop_sample,
            r->compute_s, r->comm_s, r->data_s, r->rss_mb);
    if (fclose(f))
        return nn_err(e, NN_EIO, "cannot write --csv file '%s'", path);
    return NN_OK;
}

/* Per layer: ms per step in forward and backward on thread 0 of rank 0,
 * that thread's GFLOP/s and the layer's share of the step. */
static void print_profile(const nn_model *m, const result *r, const nn_dist *d)
{
    double fwd, train, *lf = calloc((size_t)m->nlayers * 2, sizeof *lf);
    if (!lf)
        return;
    double *lb = lf + m->nlayers;
    model_flops(m, &fwd, &train, lf, lb);
    size_t off, cnt;
    long r0, rows;
    nn_dist_shard((size_t)r->batch, d->size, 0, &off, &cnt);
    nn_pool_split((long)cnt, r->threads, 0, &r0, &rows);   /* thread 0's rows */
    double S = r->steps > 0 ? r->steps : 1, total = 0;
    int team = 0;
    for (int i = 0; i < 2 * m->nlayers; i++)
        total += m->prof[i];
    printf("  per layer (thread 0 of rank 0, %ld rows per step):\n", rows);
    printf("    %-32s %-18s %9s %9s %9s %6s\n", "layer", "output", "fwd ms", "bwd ms",
           "GFLOP/s", "share");
    for (int i = 0; i < m->nlayers; i++) {
        const nn_layer *l = &m->layers[i];
        char who[96], shape[48], gf[16] = "-";
        int tl = nn_model_team_layer(m, i, (int)cnt);
        team |= tl;
        snprintf(who, sizeof who, "%s (%s)%s", l->name, l->ops->kind, tl ? " *" : "");
        double tf = m->prof[2 * i], tb = m->prof[2 * i + 1];
        if (lf[i] > 0 && tf + tb > 0)
            snprintf(gf, sizeof gf, "%.1f", (lf[i] + lb[i]) * (double)rows * S / (tf + tb) / 1e9);
        printf("    %-32s %-18s %9.3f %9.3f %9s %5.1f%%\n", who,
               nn_shape_str(&l->out, shape, sizeof shape), 1e3 * tf / S, 1e3 * tb / S, gf,
               total > 0 ? 100 * (tf + tb) / total : 0);
    }
    printf("    layers: %.2f ms per step of %.2f\n", 1e3 * total / S, r->ms_step);
    if (team)
        printf("    * run by all threads together: each thread all rows, a slice of the "
               "inputs\n");
    free(lf);
}

/* Gathers every rank's stats (a sum over slots only the owner fills) and
 * prints the report on rank 0. */
static int report(nn_dist *d, const nn_model *m, result *r, const nn_fit_stats *st,
                  const char *csv, double pool_mb, nn_error *e)
{
    int N = d->size;
    double *all = calloc((size_t)N * R_K, sizeof *all);
    if (!all)
        return nn_err(e, NN_ENOMEM, "out of memory");
    double *mine = all + (size_t)d->rank * R_K;
    mine[R_SAMPLES] = (double)st->samples;
    mine[R_TOTAL] = st->total_s;
    mine[R_COMPUTE] = st->compute_s;
    mine[R_COMM] = st->comm_s;
    mine[R_DATA] = st->data_s;
    mine[R_RSS] = peak_rss_mb();
    int rc = nn_dist_sum_doubles(d, all, N * R_K, e);
    if (rc || d->rank != 0) {
        free(all);
        return rc;
    }
    double wall = 0, mean[R_K] = {0}, rss_max = 0;
    for (int k = 0; k < N; k++) {
        const double *v = all + (size_t)k * R_K;
        if (v[R_TOTAL] > wall)
            wall = v[R_TOTAL];
        if (v[R_RSS] > rss_max)
            rss_max = v[R_RSS];
        for (int j = 0; j < R_K; j++)
            mean[j] += v[j] / N;
    }
    double fwd, train;
    model_flops(m, &fwd, &train, NULL, NULL);
    double S = r->steps > 0 ? r->steps : 1, imgs = (double)r->batch * r->steps;
    r->img_s = wall > 0 ? imgs / wall : 0;
    r->ms_step = 1e3 * wall / S;
    r->gflop_sample = train / 1e9;
    r->gflops = r->img_s * r->gflop_sample;
    r->compute_s = mean[R_COMPUTE] / S;
    r->comm_s = mean[R_COMM] / S;
    r->data_s = mean[R_DATA] / S;
    r->rss_mb = rss_max;

    double step = mean[R_TOTAL] / S;
    printf("bench %s: %d rank%s x %d thread%s, global batch %d, %d measured steps, "
           "convolutions: %s, precision: %s\n", r->model, N, N > 1 ? "s" : "", r->threads,
           r->threads > 1 ? "s" : "", r->batch, r->steps, nn_conv_algo_name(nn_conv_get_algo()),
           precision(m));
    printf("  %.1f img/s total, %.1f img/s per rank, %.2f ms/step\n", r->img_s,
           r->img_s / N, r->ms_step);
    printf("  per step (mean over ranks): compute %.2f ms (%.0f%%), allreduce wait %.2f ms "
           "(%.0f%%), data %.2f ms (%.0f%%)\n",
           1e3 * r->compute_s, step > 0 ? 100 * r->compute_s / step : 0, 1e3 * r->comm_s,
           step > 0 ? 100 * r->comm_s / step : 0, 1e3 * r->data_s,
           step > 0 ? 100 * r->data_s / step : 0);
    printf("  %.4f GFLOP/sample forward, %.4f training: %.2f GFLOP/s (%.2f per rank)\n",
           fwd / 1e9, r->gflop_sample, r->gflops, r->gflops / N);
    if (N > 1)
        for (int k = 0; k < N; k++) {
            const double *v = all + (size_t)k * R_K;
            printf("  rank %d: %ld samples, %.1f img/s, compute %.2f ms/step, allreduce wait "
                   "%.2f ms/step, data %.2f ms/step, peak RSS %.1f MB\n",
                   k, (long)v[R_SAMPLES], v[R_TOTAL] > 0 ? v[R_SAMPLES] / v[R_TOTAL] : 0,
                   1e3 * v[R_COMPUTE] / S, 1e3 * v[R_COMM] / S, 1e3 * v[R_DATA] / S, v[R_RSS]);
        }
    else
        printf("  peak RSS %.1f MB", rss_max);
    printf("%s(synthetic data %.1f MB per rank, parameters + gradients %.1f MB)\n",
           N > 1 ? "  " : " ", pool_mb, 4.0 * (1 + r->threads) * (double)m->nparams / 1e6);
    size_t pa, pg, pu, pw;
    nn_model_plan_bytes(m, &pa, &pg, &pu, &pw);
    printf("  plan of a rank: activations %.1f MB, their gradients %.1f MB", (double)pa / 1e6,
           (double)pg / 1e6);
    if (pu != pg)
        printf(" (%.1f MB without sharing buffers by liveness)", (double)pu / 1e6);
    printf(", workspace %.1f MB\n", (double)pw / 1e6);
    if (m->prof)
        print_profile(m, r, d);
    printf("BENCH model=%s ranks=%d threads=%d batch=%d img_s=%.2f ms_step=%.3f gflops=%.3f "
           "compute_s=%.6f comm_s=%.6f data_s=%.6f rss_mb=%.1f gflop_sample=%.6f rss_mb_ranks=",
           r->model, N, r->threads, r->batch, r->img_s, r->ms_step, r->gflops, r->compute_s,
           r->comm_s, r->data_s, r->rss_mb, r->gflop_sample);
    for (int k = 0; k < N; k++)
        printf("%s%.1f", k ? "," : "", all[(size_t)k * R_K + R_RSS]);
    printf(" steps=%d conv_algo=%s precision=%s\n", r->steps,
           nn_conv_algo_name(nn_conv_get_algo()), precision(m));
    fflush(stdout);
    free(all);
    return csv ? append_csv(csv, r, e) : NN_OK;
}

/* Bytes a rank sends in one step's gradient exchange over N ranks, as
 * ring algorithms send them ((N - 1) / N of a reduce-scatter's or an
 * allgather's vector, twice that for an allreduce; 0 on one rank): the
 * plain mode's float gradient of the trainable layers in an allreduce;
 * deterministic mode's per-layer exponents, its int64 gradient in a
 * reduce-scatter and the rounded floats in an allgather, the chunks' loss
 * and metric table and, per whole-batch layer (BatchNormalization), a
 * table of partial sums per chunk for each forward phase and for
 * backward, all in allreduces. */
static void allreduce_bytes(const nn_model *m, int B, int C, int N, double *plain, double *det)
{
    double P = 0, K = (B + C - 1) / C, f = (N - 1.0) / N;
    nn_ctx train = {.training = 1};
    for (int i = 0; i < m->nlayers; i++)
        if (m->layers[i].trainable)
            P += (double)m->layers[i].param_len;
    *plain = 2 * f * 4 * P;
    double sums = 4 * m->nlayers + 8.0 * K * (1 + m->metric_sums);
    for (int i = 0; i < m->nlayers; i++) {
        const nn_layer *l = &m->layers[i];
        const nn_layer_batch_ops *bo = l->ops->batch;
        if (l->ops->whole_batch && bo)
            sums += 8.0 * K * bo->nsums(l) * (bo->fwd_phases(l, &train) + 1);
    }
    *det = f * (8 + 4) * (double)m->nparams + 2 * f * sums +
           nn_fit_det_dense_bytes(m, (size_t)B, (size_t)C, N);
}

/* --deterministic: the same steps again in deterministic mode (fresh
 * weights and optimizer state), its report, and the comparison. */
static int bench_det(nn_dist *d, nn_model *m, nn_dataset *ds, nn_fit_opts *fo, const result *r0,
                     int chunk, const char *csv, double pool_mb, nn_error *e)
{
    result r = *r0;
    nn_fit_stats st = {0};
    snprintf(r.model, sizeof r.model, "%.120s+det", r0->model);
    fo->fit.deterministic = 1;
    fo->fit.det_chunk = chunk;
    fo->stats = &st;
    nn_model_init_params(m, fo->fit.seed);
    nn_optim_free(&m->optim);
    m->optim.iterations = 0;
    if (m->prof)
        memset(m->prof, 0, 2 * (size_t)m->nlayers * sizeof *m->prof);
    int rc = nn_fit(m, ds, NULL, fo, d, NULL, e);
    if (!rc)
        rc = nn_dist_agree(d, report(d, m, &r, &st, csv, pool_mb, e), e);
    if (rc || d->rank != 0)
        return rc;
    double plain, det;
    allreduce_bytes(m, r.batch, chunk, d->size, &plain, &det);
    printf("deterministic mode (chunks of %d rows): %.1f img/s against %.1f: %.1f%% slower; "
           "a rank sends %.0f bytes per step against %.0f (%+.0f)\n", chunk, r.img_s,
           r0->img_s, r0->img_s > 0 ? 100.0 * (r0->img_s / r.img_s - 1) : 0, det, plain,
           det - plain);
    printf("BENCH_DET model=%s ranks=%d threads=%d batch=%d img_s=%.2f img_s_det=%.2f "
           "slowdown_pct=%.2f allreduce_bytes=%.0f allreduce_bytes_det=%.0f\n", r0->model,
           r.ranks, r.threads, r.batch, r0->img_s, r.img_s,
           r.img_s > 0 ? 100.0 * (r0->img_s / r.img_s - 1) : 0, plain, det);
    return NN_OK;
}

int cmd_bench(int argc, char **argv, nn_dist *d)
{
    cli_opt opts[] = {
        {"--batch-size", 1, 0, 0}, {"--per-rank-batch", 1, 0, 0}, {"--threads", 1, 0, 0},
        {"--steps", 1, 0, 0}, {"--warmup", 1, 0, 0}, {"--allreduce", 1, 0, 0},
        {"--bucket-mb", 1, 0, 0}, {"--seed", 1, 0, 0}, {"--csv", 1, 0, 0},
        {"--profile", 0, 0, 0}, {"--deterministic", 0, 0, 0}, {"--det-chunk", 1, 0, 0},
        {"--conv-algo", 1, 0, 0}, {"--precision", 1, 0, 0}, {"--help", 0, 0, 0},
        {NULL, 0, 0, 0}};
    const char *pos[1];
    int npos = 0;
    nn_error e = {0};
    int rc = cli_parse(argc, argv, 2, opts, pos, 1, &npos, &e);
    if (!rc && cli_find(opts, "--help")->given)
        return cli_help(d, help);
    int batch = 0, per_rank = 0, threads = 0, steps = 20, warmup = 3, seed = 42;
    int det = cli_find(opts, "--deterministic")->given, det_chunk = NN_DET_CHUNK;
    double bucket_mb = 4;
    const char *mode = cli_find(opts, "--allreduce")->value;
    if (!rc && npos != 1)
        rc = nn_err(&e, NN_EINVAL, "bench needs one model spec (nntrain bench MODEL.nn)");
    if (!rc && !(rc = cli_int(opts, "--batch-size", &batch, &e)) &&
        !(rc = cli_int(opts, "--per-rank-batch", &per_rank, &e)) &&
        !(rc = cli_int(opts, "--threads", &threads, &e)) &&
        !(rc = cli_int(opts, "--steps", &steps, &e)) &&
        !(rc = cli_int(opts, "--warmup", &warmup, &e)) &&
        !(rc = cli_int(opts, "--seed", &seed, &e)) &&
        !(rc = cli_int(opts, "--det-chunk", &det_chunk, &e)))
        rc = cli_double(opts, "--bucket-mb", &bucket_mb, &e);
    if (!rc && det_chunk < 1)
        rc = nn_err(&e, NN_EINVAL, "--det-chunk must be >= 1, got %d", det_chunk);
    if (!rc && cli_find(opts, "--det-chunk")->given && !det)
        rc = nn_err(&e, NN_EINVAL, "--det-chunk %d needs --deterministic", det_chunk);
    int given_b = cli_find(opts, "--batch-size")->given;
    int given_pb = cli_find(opts, "--per-rank-batch")->given;
    if (!rc && given_b && given_pb)
        rc = nn_err(&e, NN_EINVAL, "give --batch-size (strong scaling) or --per-rank-batch "
                    "(weak scaling), not both");
    if (!rc && ((given_b && batch < 1) || (given_pb && per_rank < 1)))
        rc = nn_err(&e, NN_EINVAL, "%s must be >= 1, got %d",
                    given_b ? "--batch-size" : "--per-rank-batch", given_b ? batch : per_rank);
    if (!rc && cli_find(opts, "--threads")->given && threads < 1)
        rc = nn_err(&e, NN_EINVAL, "--threads must be >= 1, got %d", threads);
    if (!rc && steps < 1)
        rc = nn_err(&e, NN_EINVAL, "--steps must be >= 1, got %d", steps);
    if (!rc && warmup < 0)
        rc = nn_err(&e, NN_EINVAL, "--warmup must be >= 0, got %d", warmup);
    if (!rc && seed < 0)
        rc = nn_err(&e, NN_EINVAL, "--seed must be >= 0, got %d", seed);
    if (!rc && !(bucket_mb > 0 && bucket_mb < 1048576))
        rc = nn_err(&e, NN_EINVAL, "--bucket-mb must be > 0 and < 1048576, got %g", bucket_mb);
    if (!rc && mode && strcmp(mode, "overlap") && strcmp(mode, "blocking"))
        rc = nn_err(&e, NN_EINVAL, "--allreduce must be 'overlap' or 'blocking', not '%s'", mode);
    if (!rc)
        rc = cli_conv_algo(opts, &e);
    if (!rc)
        rc = cli_precision(opts, &e);
    if (rc)
        return cli_usage(d, &e, help);
    d->overlap = !(mode && !strcmp(mode, "blocking"));
    d->bucket_bytes = (size_t)(bucket_mb * 1048576.0);

    nn_spec s = {0};
    nn_model m = {0};
    nn_dataset ds = {0};
    result r = {0};
    basename_noext(pos[0], r.model, sizeof r.model);
    rc = cli_spec_load(pos[0], &s, &e);
    if (!rc)
        rc = nn_model_build(&m, &s, &e);
    if (!rc)
        cli_precision_warn(&m, d->rank == 0);
    if (!rc && !m.compiled)
        rc = nn_err(&e, NN_EINVAL, "%s: the model spec has no compile(loss=..., optimizer=...) "
                    "line: bench trains it", pos[0]);
    nn_fit_opts fo = {.progress = 0};
    if (!rc) {
        fo.fit = m.fit;
        fo.fit.batch_size = given_pb ? per_rank * d->size : given_b ? batch : m.fit.batch_size;
        fo.fit.epochs = 1;
        fo.fit.validation_split = 0;
        fo.fit.verbose = 0;
        fo.fit.seed = (uint64_t)seed;
        nn_callbacks_defaults(&fo.fit.cb);   /* no stopping, lr changes or logs in a benchmark */
        if (fo.fit.batch_size < d->size)
            rc = nn_err(&e, NN_EINVAL, "global batch %d is smaller than the number of ranks "
                        "(%d)", fo.fit.batch_size, d->size);
    }
    int B = fo.fit.batch_size;
    size_t n = (size_t)B * (size_t)(warmup + steps);
    if (!rc)
        rc = synth_open(&ds, &m, n, B, (uint64_t)seed, &e);
    rc = nn_dist_agree(d, rc, &e);
    if (!rc)
        rc = cli_check_same_run(d, s.text, argc, argv, &e);
    if (!rc) {
        rc = cli_use_threads(d, &m, threads, &r.threads, &e);
        r.ranks = d->size;
        r.batch = B;
        r.steps = steps;
        nn_model_init_params(&m, fo.fit.seed);
    }
    nn_fit_stats st = {0};
    if (!rc && cli_find(opts, "--profile")->given && d->rank == 0 &&
        !(m.prof = calloc(2 * (size_t)m.nlayers, sizeof *m.prof)))
        rc = nn_err(&e, NN_ENOMEM, "out of memory");
    rc = nn_dist_agree(d, rc, &e);
    if (!rc) {
        /* one fit: the prefetch thread is running and the pages are touched
         * when the measured steps start */
        fo.max_steps = warmup + steps;
        fo.stats_after = warmup;
        fo.stats = &st;
        rc = nn_fit(&m, &ds, NULL, &fo, d, NULL, &e);
    }
    if (!rc) {
        const synth *sy = ds.priv;
        double pool_mb = (double)sy->pool.n * (double)(nn_model_in_size(&m) + (size_t)ds.ydim) *
                         4.0 / 1e6;
        rc = report(d, &m, &r, &st, cli_find(opts, "--csv")->value, pool_mb, &e);
        rc = nn_dist_agree(d, rc, &e);
        if (!rc && det)
            rc = bench_det(d, &m, &ds, &fo, &r, det_chunk, cli_find(opts, "--csv")->value,
                           pool_mb, &e);
    }
    if (rc)
        cli_error(d, &e);
    if (ds.close)
        ds.close(&ds);
    nn_model_free(&m);
    nn_spec_free(&s);
    return rc ? CLI_FAIL : CLI_OK;
}
