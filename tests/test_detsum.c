/* Deterministic mode's arithmetic (train/detsum.h) and pass (exec_det.c):
 * the fixed-point sum is the same bits for any grouping and order of its
 * addends and is as accurate as promised; a chunk's gradient is the same
 * bits on 1 and 3 threads and at any position in the batch, and the chunks
 * add up to the executor's gradient of the whole batch. */
#include <CUnit/CUnit.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nntrain/gemm.h"
#include "nntrain/model.h"
#include "testutil.h"
#include "train/detsum.h"
#include "train/exec.h"

enum { N = 300, K = 13 };

static void test_max_exp(void)
{
    float z[3] = {0, -0.0f, 0}, v[3] = {0.75f, -1.0f, 0.5f};
    CU_ASSERT_EQUAL(nn_det_max_exp(z, 3), INT_MIN);
    CU_ASSERT_EQUAL(nn_det_max_exp(v, 3), 1);   /* |-1| = 0.5 * 2^1 */
    CU_ASSERT_EQUAL(nn_det_max_exp(v, 1), 0);
    v[2] = NAN;
    CU_ASSERT_EQUAL(nn_det_max_exp(v, 3), INT_MAX);
    v[2] = -INFINITY;
    CU_ASSERT_EQUAL(nn_det_max_exp(v, 3), INT_MAX);
    CU_ASSERT_EQUAL(nn_det_shift(0, 1), NN_DET_BITS);
    CU_ASSERT_EQUAL(nn_det_shift(3, 13), NN_DET_BITS - 4 - 3);
}

/* K addends with magnitudes over 40 binades and both signs; the sum in three
 * groupings (one accumulator; three "ranks" added as integers; reversed
 * order) is the same bits, and within fp32 rounding of the exact sum. */
static void test_order_and_accuracy(void)
{
    static float v[K][N];
    static int64_t a[N], g[3][N];
    float s1[N], s2[N];
    for (int k = 0; k < K; k++) {
        tu_fill_uniform(v[k], N, 40 + (uint64_t)k, -1, 1);
        for (int i = 0; i < N; i++)
            v[k][i] = ldexpf(v[k][i], (i * 7 + k) % 40 - 30);
    }
    int e = INT_MIN;
    for (int k = 0; k < K; k++) {
        int x = nn_det_max_exp(v[k], N);
        e = x > e ? x : e;
    }
    int sh = nn_det_shift(e, K);
    memset(a, 0, sizeof a);
    memset(g, 0, sizeof g);
    const float *all[K], *rev[K];
    for (int k = 0; k < K; k++) {
        all[k] = v[k];
        rev[k] = v[K - 1 - k];
    }
    nn_det_add(a, all, K, 0, N, sh);
    for (int k = 0; k < K; k++)   /* three "ranks", each one addend at a time */
        nn_det_add(g[k % 3], rev + k, 1, 0, N, sh);
    for (int i = 0; i < N; i++)
        g[0][i] += g[2][i] + g[1][i];
    nn_det_round(s1, a, N, sh);
    nn_det_round(s2, g[0], N, sh);
    CU_ASSERT(memcmp(a, g[0], sizeof a) == 0);
    CU_ASSERT(memcmp(s1, s2, sizeof s1) == 0);
    double lost = ldexp(1.0, -sh) * K;   /* truncation: under one unit per addend */
    int bad = 0;
    for (int i = 0; i < N; i++) {
        double exact = 0;
        for (int k = 0; k < K; k++)
            exact += v[k][i];
        bad += fabs(s1[i] - exact) > fabs(exact) * 0x1p-24 + lost;
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT(lost < ldexp(1.0, e - 50));   /* far below fp32's 2^-24 of the largest */
}

/* The headroom: K addends at the top of the binade do not overflow. */
static void test_headroom(void)
{
    enum { KK = 1000 };
    float top = nextafterf(1.0f, 0.0f);   /* just below 2^0 */
    int64_t acc = 0;
    int sh = nn_det_shift(nn_det_max_exp(&top, 1), KK);
    const float *one[1] = {&top};
    for (int k = 0; k < KK; k++)
        nn_det_add(&acc, one, 1, 0, 1, sh);
    float s;
    nn_det_round(&s, &acc, 1, sh);
    CU_ASSERT(acc > 0);
    CU_ASSERT(fabsf(s - KK * top) <= KK * top * 0x1p-23f);
}

/* The exponent bound of a Dense kernel's chunk gradient: special values,
 * and n products at the top of their binades summed in float stay below
 * it (the sum rounds up to n exactly when n is a power of two). */
static void test_bound_exp(void)
{
    CU_ASSERT_EQUAL(nn_det_bound_exp(INT_MAX, INT_MIN, 4), INT_MAX);
    CU_ASSERT_EQUAL(nn_det_bound_exp(INT_MIN, INT_MAX, 4), INT_MAX);
    CU_ASSERT_EQUAL(nn_det_bound_exp(INT_MIN, 3, 4), INT_MIN);
    CU_ASSERT_EQUAL(nn_det_bound_exp(2, 3, 0), INT_MIN);
    CU_ASSERT_EQUAL(nn_det_bound_exp(2, -3, 1), 0);
    CU_ASSERT_EQUAL(nn_det_bound_exp(2, -3, 8), 3);
    CU_ASSERT_EQUAL(nn_det_bound_exp(2, -3, 9), 4);
    float a = nextafterf(1.0f, 0.0f);
    for (int n = 1; n <= 64; n++) {
        float s = 0;
        for (int r = 0; r < n; r++)
            s = fmaf(a, a, s);
        int e = nn_det_bound_exp(nn_det_max_exp(&a, 1), nn_det_max_exp(&a, 1), n);
        CU_ASSERT(fabsf(s) < ldexpf(1.0f, e));
    }
}

/* The rule the fused kernel promises: one FMA per row in row order. */
static float chunk_dot(const float *x, const float *dz, size_t in, size_t units, size_t r0,
                       size_t r1, size_t i, size_t j)
{
    float s = 0;
    for (size_t r = r0; r < r1; r++)
#ifdef __FMA__
        s = fmaf(x[r * in + i], dz[r * units + j], s);
#else
        s = s + x[r * in + i] * dz[r * units + j];
#endif
    return s;
}

/* The fused Dense kernel gradient (nn_det_add_xtdz) against each chunk's
 * x^T dz written out and added by nn_det_add: the same bits, over full and
 * edge tiles (8, 4 and single kernel rows; 32, 16 and fewer columns), a
 * short last chunk, a split of the rows over two "threads", sums already
 * in acc, sums rounded straight to float (nn_det_xtdz_round) with other
 * sums added first (nn_det_xtdz_round_add: a rank's own slice), a shift
 * beyond float's range (2^shift is not a float: the double path), and up
 * to 2^7 chunks (the int32 split) or more (int64 sums); and a chunk's
 * float sums cut in two and continued (nn_det_xtdz_chain).
 * Every chunk gradient is below its bound; the shift comes from the
 * largest chunk value itself, so that one sits right under the limit,
 * where the split's parts are largest. */
static void xtdz_case(size_t R, size_t CC, size_t IN, size_t U, int tiny)
{
    size_t NK = (R + CC - 1) / CC, n = IN * U;
    float *x = malloc(R * IN * sizeof *x), *dz = malloc(R * U * sizeof *dz),
          *g = malloc(NK * n * sizeof *g);
    int64_t *ref = malloc(n * sizeof *ref), *got = malloc(n * sizeof *got),
            *fresh = malloc(n * sizeof *fresh), *sum0 = malloc(n * sizeof *sum0);
    const float **gk = malloc(NK * sizeof *gk);
    CU_ASSERT_FATAL(x && dz && g && ref && got && fresh && sum0 && gk);
    tu_fill_uniform(x, R * IN, 71, -1, 1);
    tu_fill_uniform(dz, R * U, 72, -1, 1);
    for (size_t i = 0; i < R * U; i++)   /* magnitudes over 30 binades */
        dz[i] = ldexpf(dz[i], (int)(i * 5 % 30) - (tiny ? 70 : 20));
    for (size_t i = 0; i < R * IN; i++)
        x[i] = tiny ? ldexpf(x[i], -40) : x[i];
    int e = INT_MIN, et = INT_MIN, held = 1;
    for (size_t k = 0; k < NK; k++) {
        size_t r0 = k * CC, r1 = r0 + CC < R ? r0 + CC : R;
        int b = nn_det_bound_exp(nn_det_max_exp(x + r0 * IN, (r1 - r0) * IN),
                                 nn_det_max_exp(dz + r0 * U, (r1 - r0) * U), (long)(r1 - r0));
        e = b > e ? b : e;
        for (size_t i = 0; i < IN; i++)
            for (size_t j = 0; j < U; j++) {
                g[k * n + i * U + j] = chunk_dot(x, dz, IN, U, r0, r1, i, j);
                held &= fabsf(g[k * n + i * U + j]) < ldexpf(1.0f, b);
            }
        gk[k] = g + k * n;
        int t = nn_det_max_exp(gk[k], n);
        et = t > et ? t : et;
    }
    CU_ASSERT(held);
    CU_ASSERT(et <= e);
    /* the scanned exponent, not the looser bound: values near the limit */
    int sh = nn_det_shift_dense(et, (long)NK);
    CU_ASSERT(tiny ? sh > 127 : (sh >= -126 && sh <= 127));
    for (size_t i = 0; i < n; i++)
        ref[i] = got[i] = (int64_t)i * 1000003 - 5000000;
    nn_det_add(ref, gk, NK, 0, n, sh);
    size_t cut = IN / 2 + 1;
    nn_det_add_xtdz(got, x, dz, R, CC, IN, U, 0, cut, sh, 0);
    nn_det_add_xtdz(got, x, dz, R, CC, IN, U, cut, IN, sh, 0);
    CU_ASSERT(memcmp(ref, got, n * sizeof *ref) == 0);
    for (size_t i = 0; i < n; i++)   /* := instead of += */
        fresh[i] = 77;
    memset(sum0, 0, n * sizeof *sum0);
    nn_det_add(sum0, gk, NK, 0, n, sh);
    nn_det_add_xtdz(fresh, x, dz, R, CC, IN, U, 0, IN, sh, 1);
    CU_ASSERT(memcmp(fresh, sum0, n * sizeof *sum0) == 0);
    /* rounded straight to float: nn_det_round's bits of the same sums */
    float *want = malloc(n * sizeof *want), *gr = malloc(n * sizeof *gr);
    CU_ASSERT_FATAL(want && gr);
    nn_det_round(want, sum0, n, sh);
    nn_det_xtdz_round(gr, fresh, x, dz, R, CC, IN, U, 0, cut, sh);
    nn_det_xtdz_round(gr, fresh, x, dz, R, CC, IN, U, cut, IN, sh);
    CU_ASSERT(memcmp(gr, want, n * sizeof *gr) == 0);
    /* with other ranks' sums added before the rounding (kernel row i's at
     * init[(i - i0) * U] for a call on rows [i0, i1)); and with no rows */
    int64_t *init = malloc(n * sizeof *init), *both = malloc(n * sizeof *both);
    CU_ASSERT_FATAL(init && both);
    for (size_t i = 0; i < n; i++) {
        init[i] = (int64_t)(i * 7919 % 1000) * ((int64_t)1 << (i % 40)) * (i % 3 ? 1 : -1);
        both[i] = sum0[i] + init[i];
    }
    nn_det_round(want, both, n, sh);
    nn_det_xtdz_round_add(gr, fresh, init, x, dz, R, CC, IN, U, 0, cut, sh);
    nn_det_xtdz_round_add(gr, fresh, init + cut * U, x, dz, R, CC, IN, U, cut, IN, sh);
    CU_ASSERT(memcmp(gr, want, n * sizeof *gr) == 0);
    nn_det_round(want, init, n, sh);
    nn_det_xtdz_round_add(gr, fresh, init, x, dz, 0, CC, IN, U, 0, IN, sh);
    CU_ASSERT(memcmp(gr, want, n * sizeof *gr) == 0);
    free(want), free(gr), free(init), free(both);
    nn_det_add_xtdz(fresh, x, dz, 0, CC, IN, U, 0, IN, sh, 1);   /* no rows: zeros */
    memset(sum0, 0, n * sizeof *sum0);
    CU_ASSERT(memcmp(fresh, sum0, n * sizeof *sum0) == 0);
    /* a chunk cut in two (a rank boundary inside a Dense group): its first
     * rows from zero, the rest continued (over two "threads'" kernel rows)
     * give the chunk's own float sums, cut anywhere, even before its first
     * row or after its last */
    float *p = malloc(n * sizeof *p);
    CU_ASSERT_FATAL(p != NULL);
    int chained = 1;
    for (size_t k = 0; k < NK; k++) {
        size_t r0 = k * CC, r1 = r0 + CC < R ? r0 + CC : R, m = r0 + k % (r1 - r0 + 1);
        for (size_t i = 0; i < n; i++)
            p[i] = -1;
        nn_det_xtdz_chain(p, x + r0 * IN, dz + r0 * U, m - r0, IN, U, 0, IN, 1);
        nn_det_xtdz_chain(p, x + m * IN, dz + m * U, r1 - m, IN, U, 0, cut, 0);
        nn_det_xtdz_chain(p, x + m * IN, dz + m * U, r1 - m, IN, U, cut, IN, 0);
        chained &= memcmp(p, gk[k], n * sizeof *p) == 0;
    }
    CU_ASSERT(chained);
    free(p);
    long nz = 0;
    for (size_t i = 0; i < n; i++)
        nz += ref[i] != (int64_t)i * 1000003 - 5000000;
    CU_ASSERT(nz > (long)n / 2);   /* the sums moved: the comparison means something */
    free(x), free(dz), free(g), free(ref), free(got), free(fresh), free(sum0), free(gk);
}

static void test_xtdz(void)
{
    xtdz_case(37, 8, 11, 70, 0);
    xtdz_case(37, 8, 11, 70, 1);
    xtdz_case(45, 3, 21, 45, 0);    /* 8 + 8 + 4 + 1 kernel rows, 32 + 13 columns */
    xtdz_case(128, 1, 13, 40, 0);   /* 2^7 chunks: the int32 split's limit */
    xtdz_case(131, 1, 13, 40, 0);   /* more: int64 sums */
    /* the last 1-4 columns in tiles of 64 kernel rows across the lanes
     * (and the rows past the last whole 64, and the two "threads'" halves,
     * as the tiles of 8) */
    xtdz_case(37, 8, 150, 100, 0);
    xtdz_case(37, 8, 150, 36, 1);
    xtdz_case(29, 4, 131, 1, 0);
    xtdz_case(128, 1, 140, 35, 0);
}

/* nn_sgemm_rows (deterministic mode's Dense forward) and nn_sgemm_rows_t
 * (its dx = dz W^T, tr): every row is the bits of one FMA per k in k order,
 * whether it runs alone, in a tile of 4 or 8, at the edge of the columns,
 * at another position or among many rows, in blocks of rows (the team's
 * dx) or a slice of the columns (the team's forward), with K under and over
 * a block of features (the sums then go through y between blocks); and
 * nn_sgemm_rows_amax's y the same bits, its rows' largest |x| exact (NaN
 * and Inf above every finite value). */
static void rows_case(int tr, int K)
{
    enum { R = 29, NC = 70, LD = 75 };
    float *x = malloc(sizeof(float) * R * (size_t)K), *w = malloc(sizeof(float) * K * NC);
    float *y = malloc(sizeof(float) * R * LD), *ref = malloc(sizeof(float) * R * NC);
    float y1[NC];
    tu_fill_uniform(x, (size_t)R * K, 81, -1, 1);
    tu_fill_uniform(w, (size_t)K * NC, 82, -1, 1);
    for (int r = 0; r < R; r++)
        for (int j = 0; j < NC; j++) {
            float s = 0;
            for (int k = 0; k < K; k++) {
                float wk = tr ? w[j * K + k] : w[k * NC + j];
#ifdef __FMA__
                s = fmaf(x[r * K + k], wk, s);
#else
                s = s + x[r * K + k] * wk;
#endif
            }
            ref[r * NC + j] = s;
        }
    void (*f)(int, int, int, const float *, int, const float *, int, float *, int) =
        tr ? nn_sgemm_rows_t : nn_sgemm_rows;
    int ldw = tr ? K : NC, same = 1;
    f(R, NC, K, x, K, w, ldw, y, LD);   /* rows 0-7, 8-15, 16-23, 24-27, 28 */
    for (int r = 0; r < R; r++)
        same &= !memcmp(y + r * LD, ref + r * NC, NC * sizeof *y);
    CU_ASSERT(same);
    for (int r = 0; r < R; r++) {   /* each row alone */
        f(1, NC, K, x + r * K, K, w, ldw, y1, NC);
        same &= !memcmp(y1, ref + r * NC, sizeof y1);
    }
    CU_ASSERT(same);
    f(4, NC, K, x + 9 * K, K, w, ldw, y, NC);   /* rows 9-12 as one tile */
    CU_ASSERT(memcmp(y, ref + 9 * NC, 4 * NC * sizeof *y) == 0);
    f(11, NC, K, x + 3 * K, K, w, ldw, y, NC);   /* rows 3-13: a tile of 8 then 1s */
    CU_ASSERT(memcmp(y, ref + 3 * NC, 11 * NC * sizeof *y) == 0);
    if (tr) {   /* blocks of rows (the team's dx), and a slice of the columns */
        const float *xb[3] = {x + 20 * K, x, x + 7 * K};
        float *yb[3] = {y + 5 + 20 * LD, y + 5, y + 5 + 7 * LD};
        int nb[3] = {9, 7, 13};
        nn_sgemm_rows_t_blocks(3, nb, xb, K, 51, K, w + 5 * K, K, yb, LD);
        for (int r = 0; r < R; r++)
            same &= !memcmp(y + r * LD + 5, ref + r * NC + 5, 51 * sizeof *y);
        CU_ASSERT(same);
    } else {    /* a slice of the columns */
        f(R, 51, K, x, K, w + 5, ldw, y + 5, LD);
        for (int r = 0; r < R; r++)
            same &= !memcmp(y + r * LD + 5, ref + r * NC + 5, 51 * sizeof *y);
        CU_ASSERT(same);
        uint32_t am[R];
        x[3 * K + K - 1] = -7.5f;   /* row 3's largest, in its last block's tail */
        x[5 * K + 1] = NAN;
        x[6 * K + K / 2] = -INFINITY;
        for (int r = 0; r < R; r++)
            am[r] = 12345;
        nn_sgemm_rows_amax(R, NC, K, x, K, w, ldw, y, LD, am);
        int right = 1;
        for (int r = 0; r < R; r++) {
            uint32_t want = 0;
            for (int k = 0; k < K; k++) {
                uint32_t u;
                memcpy(&u, &x[r * K + k], sizeof u);
                u &= 0x7fffffffu;
                want = u > want ? u : want;
            }
            right &= am[r] == want;
            if (r != 3 && r != 5 && r != 6)
                same &= !memcmp(y + r * LD, ref + r * NC, NC * sizeof *y);
        }
        CU_ASSERT(right);
        CU_ASSERT(same);
        CU_ASSERT(nn_det_bits_exp(am[3]) == 3);
        CU_ASSERT(nn_det_bits_exp(am[5]) == INT_MAX);
        CU_ASSERT(nn_det_bits_exp(am[6]) == INT_MAX);
    }
    free(x);
    free(w);
    free(y);
    free(ref);
}

static void test_sgemm_rows(void)
{
    rows_case(0, 37);
    rows_case(0, 600);
}

static void test_sgemm_rows_t(void)
{
    rows_case(1, 37);
    rows_case(1, 600);
}

/* One chunk's gradient through nn_model_det_pass: the same bits on 1 and 3
 * threads, and the chunks' sum equals the executor's whole-batch gradient. */
typedef struct pass_arg {
    const float *dout;   /* (B, K) */
    float *dbuf;         /* the pass's dout: rows copied in by the loss */
    size_t K;
} pass_arg;

static void seed_dout(void *arg, int k, long r0, int n, const float *y)
{
    const pass_arg *a = arg;
    (void)k;
    (void)y;
    memcpy(a->dbuf + (size_t)r0 * a->K, a->dout + (size_t)r0 * a->K,
           (size_t)n * a->K * sizeof(float));
}

static void det_pass(const char *spec, nn_shape in, int threads, int B, int C, float **g,
                     float *whole)
{
    nn_error e = {0};
    nn_model m;
    TU_ASSERT_OK(tu_build(spec, &m, &e), e);
    nn_model_init_params(&m, 3);
    TU_ASSERT_OK(nn_model_set_threads(&m, threads, &e), e);
    TU_ASSERT_OK(nn_model_plan(&m, B, &e), e);
    size_t nin = (size_t)B * nn_shape_size(&in), Ko = nn_model_out_size(&m);
    float *x = malloc(nin * sizeof *x), *dout = malloc((size_t)B * Ko * sizeof *dout);
    float *dbuf = malloc((size_t)B * Ko * sizeof *dbuf);
    uint64_t ids[32];
    CU_ASSERT_FATAL(x && dout && dbuf && B <= 32);
    tu_fill_uniform(x, nin, 5, -1, 1);
    tu_fill_uniform(dout, (size_t)B * Ko, 6, -1, 1);
    for (int b = 0; b < B; b++)
        ids[b] = 1000 + (uint64_t)b * 7;
    nn_ctx ctx = {.training = 1, .seed = 9, .epoch = 2, .sample_ids = ids};
    pass_arg a = {dout, dbuf, Ko};
    /* BatchNormalization's statistics: one rank holding every chunk */
    const long K = (B + C - 1) / C;
    size_t ns = nn_model_det_stat_sums(&m);
    double *tab = calloc((size_t)(K + 1) * (ns ? ns : 1), sizeof *tab);
    CU_ASSERT_FATAL(tab != NULL);
    nn_det_global gl = {0, K, B, tab};
    nn_model_det_pass(&m, x, dbuf, B, C, &ctx, seed_dout, NULL, &a, g, &gl);
    for (size_t i = 0; i < (size_t)(K + 1) * ns; i++)   /* left zero for the next step */
        CU_ASSERT(tab[i] == 0);
    free(tab);
    if (whole) {
        nn_ctx c2 = ctx;
        nn_model_forward(&m, x, B, &c2);
        memcpy(dbuf, dout, (size_t)B * Ko * sizeof *dbuf);
        memset(m.grads, 0, m.nparams * sizeof *m.grads);
        nn_model_backward(&m, x, dbuf, B, &c2);
        memcpy(whole, m.grads, m.nparams * sizeof *whole);
    }
    free(x);
    free(dout);
    free(dbuf);
    nn_model_free(&m);
}

static void pass_case(const char *spec)
{
    nn_shape in = {3, {8, 8, 2, 0}};
    enum { B = 21, C = 4, NC = (B + C - 1) / C };
    nn_error e = {0};
    nn_model m;
    TU_ASSERT_OK(tu_build(spec, &m, &e), e);
    size_t P = m.nparams;
    nn_model_free(&m);
    float *g1[NC], *g3[NC], *whole = malloc(P * sizeof *whole), *sum = calloc(P, sizeof *sum);
    CU_ASSERT_FATAL(whole && sum);
    for (int k = 0; k < NC; k++) {
        g1[k] = malloc(P * sizeof(float));
        g3[k] = malloc(P * sizeof(float));
        CU_ASSERT_FATAL(g1[k] && g3[k]);
    }
    det_pass(spec, in, 1, B, C, g1, NULL);
    det_pass(spec, in, 3, B, C, g3, whole);
    int same = 1;
    double mag = 0;
    for (int k = 0; k < NC; k++) {
        same &= !memcmp(g1[k], g3[k], P * sizeof(float));
        for (size_t i = 0; i < P; i++) {
            sum[i] += g1[k][i];
            mag += fabsf(g1[k][i]);
        }
    }
    CU_ASSERT(same);
    CU_ASSERT(mag > 0);
    long bad;
    double d = tu_max_diff(sum, whole, P, 1e-5, &bad);
    if (bad >= 0)
        printf("\n    chunks' sum against the whole batch: max diff %.3g at [%ld]", d, bad);
    CU_ASSERT(bad < 0);
    for (int k = 0; k < NC; k++) {
        free(g1[k]);
        free(g3[k]);
    }
    free(whole);
    free(sum);
}

static void test_pass(void)
{
    pass_case("Conv2D(6, (3, 3), padding=\"same\", activation=\"relu\", input_shape=(8, 8, 2))\n"
              "MaxPooling2D()\nDropout(0.3)\nFlatten()\nDense(300, activation=\"relu\")\n"
              "Dense(4, activation=\"softmax\")\ncompile(loss=\"categorical_crossentropy\")\n");
    /* No cache prefix (each conv has more weights than outputs): the convs
     * run per chunk below the Dense tail, the second's dx (384 wide) written
     * into the buffer of the tail's packed dx rows (64 wide) */
    pass_case("Conv2D(24, (5, 5), activation=\"relu\", input_shape=(8, 8, 2))\n"
              "Conv2D(24, (3, 3), padding=\"same\", activation=\"relu\")\n"
              "Conv2D(4, (3, 3), padding=\"same\", activation=\"relu\")\nFlatten()\n"
              "Dense(30, activation=\"relu\")\nDropout(0.2)\nDense(4, activation=\"softmax\")\n"
              "compile(loss=\"categorical_crossentropy\")\n");
    /* Dense layers wide enough for the team (exec_det.c team_layer): on 3
     * threads each takes a slice of their columns over all rows, the
     * second's dx into the Dropout's packed rows and the first's into the
     * convolution's; widths not multiples of 16 */
    pass_case("Conv2D(6, (3, 3), padding=\"same\", activation=\"relu\", input_shape=(8, 8, 2))\n"
              "MaxPooling2D()\nFlatten()\nDense(700, activation=\"relu\")\nDropout(0.3)\n"
              "Dense(203, activation=\"tanh\")\nDense(4, activation=\"softmax\")\n"
              "compile(loss=\"categorical_crossentropy\")\n");
}

/* A graph: a residual add, a branch read twice, a concatenation. */
static void test_pass_graph(void)
{
    pass_case("inputs = Input(shape=(8, 8, 2))\n"
              "x = Conv2D(4, (3, 3), padding=\"same\", activation=\"relu\")(inputs)\n"
              "y = Conv2D(4, (3, 3), padding=\"same\")(x)\n"
              "x = add([x, y])\nz = MaxPooling2D()(x)\nw = Conv2D(3, (1, 1))(z)\n"
              "z = concatenate([z, w])\nz = Dropout(0.2)(Flatten()(z))\n"
              "outputs = Dense(3, activation=\"softmax\")(z)\n"
              "model = Model(inputs=inputs, outputs=outputs)\n"
              "model.compile(loss=\"categorical_crossentropy\")\n");
}

/* BatchNormalization (statistics of the whole batch from the chunks'
 * partial sums; gamma's and beta's gradient counted once), in a chain and
 * in a graph, one BN without scale. */
static void test_pass_bn(void)
{
    pass_case("Conv2D(6, (3, 3), padding=\"same\", input_shape=(8, 8, 2))\n"
              "BatchNormalization()\nActivation(\"relu\")\nMaxPooling2D()\n"
              "Conv2D(5, (3, 3))\nBatchNormalization(momentum=0.9, scale=False)\nFlatten()\n"
              "Dense(4, activation=\"softmax\")\ncompile(loss=\"categorical_crossentropy\")\n");
    pass_case("inputs = Input(shape=(8, 8, 2))\n"
              "x = Conv2D(4, (3, 3), padding=\"same\")(inputs)\n"
              "x = Activation(\"relu\")(BatchNormalization()(x))\n"
              "y = Conv2D(4, (3, 3), padding=\"same\")(x)\ny = BatchNormalization()(y)\n"
              "x = add([x, y])\nz = Flatten()(MaxPooling2D()(x))\n"
              "outputs = Dense(3, activation=\"softmax\")(z)\n"
              "model = Model(inputs=inputs, outputs=outputs)\n"
              "model.compile(loss=\"categorical_crossentropy\")\n");
}

int main(void)
{
    const tu_test tests[] = {
        {"max exponent, NaN/Inf and zero, shift", test_max_exp},
        {"fixed-point sum: any grouping, same bits, fp32 accuracy", test_order_and_accuracy},
        {"fixed-point sum: headroom for K addends", test_headroom},
        {"Dense chunk gradient's exponent bound", test_bound_exp},
        {"fused Dense kernel gradient: the bits of the chunk buffers' sum", test_xtdz},
        {"rows times a matrix: the same bits alone, in tiles, anywhere", test_sgemm_rows},
        {"rows times a matrix transposed (Dense dx): the same bits alone, in tiles, anywhere",
         test_sgemm_rows_t},
        {"det pass: 1 and 3 threads the same bits, chunks sum to the gradient", test_pass},
        {"det pass of a graph model: the same", test_pass_graph},
        {"det pass with BatchNormalization, chain and graph: the same", test_pass_bn},
        {NULL, NULL}};
    return tu_main("detsum", tests);
}
