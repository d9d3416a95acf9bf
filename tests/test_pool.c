/* Compute threads: the team runs every thread once per job, its barrier
 * holds, row slices cover a batch exactly, a threaded model (by rows, and
 * with team layers) gives the single-thread forward output and gradients,
 * and the compute kernels flush denormals. */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "nntrain/fpmode.h"
#include "nntrain/pool.h"
#include "testutil.h"
#include "train/exec.h"

typedef struct count_job {
    atomic_int hits[8];
    atomic_int calls;
    int n;
} count_job;

static void count_fn(void *arg, int tid, int n)
{
    count_job *j = arg;
    if (tid == 0)   /* one writer: the others would race on it */
        j->n = n;
    atomic_fetch_add(&j->hits[tid], 1);
    atomic_fetch_add(&j->calls, 1);
}

static void test_team_runs_each_thread(void)
{
    nn_error e = {0};
    for (int T = 1; T <= 5; T++) {
        nn_pool *p = NULL;
        TU_ASSERT_OK(nn_pool_create(&p, T, &e), e);
        CU_ASSERT_EQUAL(nn_pool_size(p), T);
        count_job j;
        memset(&j, 0, sizeof j);
        for (int r = 0; r < 200; r++)   /* back to back: spinning and sleeping workers */
            nn_pool_run(p, count_fn, &j);
        CU_ASSERT_EQUAL(atomic_load(&j.calls), 200 * T);
        for (int t = 0; t < T; t++)
            CU_ASSERT_EQUAL(atomic_load(&j.hits[t]), 200);
        CU_ASSERT_EQUAL(j.n, T);
        nn_pool_free(p);
    }
    count_job j;
    memset(&j, 0, sizeof j);
    nn_pool_run(NULL, count_fn, &j);   /* no team: the caller alone */
    CU_ASSERT_EQUAL(atomic_load(&j.hits[0]), 1);
    CU_ASSERT_EQUAL(nn_pool_size(NULL), 1);
    nn_pool *p = NULL;
    CU_ASSERT_EQUAL(nn_pool_create(&p, 0, &e), NN_EINVAL);
    CU_ASSERT(p == NULL && tu_contains(e.msg, "threads"));
}

typedef struct barrier_job {
    nn_pool *p;
    atomic_int seen[8];   /* the round each thread last wrote */
    atomic_int stale;     /* reads of a round not yet reached */
} barrier_job;

/* Each round every thread writes its slot, waits, and must see every slot
 * at that round; a barrier that let one thread through early would let it
 * read a slot of the round before. */
static void barrier_fn(void *arg, int tid, int n)
{
    barrier_job *j = arg;
    for (int r = 1; r <= 300; r++) {
        atomic_store(&j->seen[tid], r);
        nn_pool_barrier(j->p);
        for (int u = 0; u < n; u++)
            if (atomic_load(&j->seen[u]) < r)
                atomic_fetch_add(&j->stale, 1);
        nn_pool_barrier(j->p);
    }
}

static void test_barrier(void)
{
    nn_error e = {0};
    for (int T = 1; T <= 4; T++) {
        barrier_job j;
        memset(&j, 0, sizeof j);
        TU_ASSERT_OK(nn_pool_create(&j.p, T, &e), e);
        for (int k = 0; k < 3; k++)
            nn_pool_run(j.p, barrier_fn, &j);
        CU_ASSERT_EQUAL(atomic_load(&j.stale), 0);
        for (int t = 0; t < T; t++)
            CU_ASSERT_EQUAL(atomic_load(&j.seen[t]), 300);
        nn_pool_free(j.p);
    }
    nn_pool_barrier(NULL);   /* no team: returns */
}

static void test_split_covers_rows(void)
{
    for (long B = 0; B <= 23; B++)
        for (int T = 1; T <= 7; T++) {
            long next = 0, lo = B, hi = 0;
            for (int t = 0; t < T; t++) {
                long r0, n;
                nn_pool_split(B, T, t, &r0, &n);
                CU_ASSERT_EQUAL(r0, next);
                next = r0 + n;
                lo = n < lo ? n : lo;
                hi = n > hi ? n : hi;
            }
            CU_ASSERT_EQUAL(next, B);
            CU_ASSERT(hi - lo <= 1);
        }
}

/* One forward and backward of a model with saved per-row state (pooling
 * argmax, dropout mask, LSTM states) at 1 and T threads, the threaded one in
 * forward passes of 2 rows: the outputs agree and so do the gradients
 * (summed in another order: ulps). */
static void check_threads(const char *spec, nn_shape in, int B, int team)
{
    nn_error e = {0};
    nn_model m1, mt;
    TU_ASSERT_OK(tu_build(spec, &m1, &e), e);
    TU_ASSERT_OK(tu_build(spec, &mt, &e), e);
    nn_model_init_params(&m1, 3);
    nn_model_init_params(&mt, 3);
    TU_ASSERT_OK(nn_model_set_threads(&mt, 3, &e), e);
    TU_ASSERT_OK(nn_model_plan(&m1, B, &e), e);
    TU_ASSERT_OK(nn_model_plan(&mt, B, &e), e);
    mt.exec->cache_rows = 2;   /* forward passes of 2 rows within each thread's slice */
    /* wide Dense layers run on the whole team (all rows, a slice of the
     * inputs each): the count the test expects, so it cannot pass by rows */
    int nt = 0, n1 = 0;
    for (int i = 0; i < mt.nlayers; i++) {
        nt += nn_model_team_layer(&mt, i, B);
        n1 += nn_model_team_layer(&m1, i, B);
    }
    CU_ASSERT_EQUAL(nt, team);
    CU_ASSERT_EQUAL(n1, 0);
    size_t nin = (size_t)B * nn_shape_size(&in), K = nn_model_out_size(&m1);
    float *x = malloc(nin * sizeof *x), *d1 = malloc((size_t)B * K * sizeof *d1),
          *dt = malloc((size_t)B * K * sizeof *dt);
    uint64_t ids[64];
    for (int b = 0; b < B; b++)
        ids[b] = 1000 + (uint64_t)b * 7;
    tu_fill_uniform(x, nin, 5, -1, 1);
    tu_fill_uniform(d1, (size_t)B * K, 6, -1, 1);
    memcpy(dt, d1, (size_t)B * K * sizeof *dt);
    nn_ctx c1 = {.training = 1, .seed = 9, .epoch = 2, .sample_ids = ids};
    nn_ctx ct = c1;
    const float *y1 = nn_model_forward(&m1, x, B, &c1);
    const float *yt = nn_model_forward(&mt, x, B, &ct);
    long bad, gbad;
    double od = tu_max_diff(yt, y1, (size_t)B * K, 1e-6, &bad);
    CU_ASSERT(od < 1e-5 && bad < 0);
    memset(m1.grads, 0, m1.nparams * sizeof(float));
    memset(mt.grads, 0, mt.nparams * sizeof(float));
    nn_model_backward(&m1, x, d1, B, &c1);
    nn_model_backward(&mt, x, dt, B, &ct);
    double md = tu_max_diff(mt.grads, m1.grads, m1.nparams, 1e-5, &gbad);
    printf("\n  %d threads vs 1: max output diff %.3g, max gradient diff %.3g", 3, od, md);
    CU_ASSERT(gbad < 0);
    double sum = 0;
    for (size_t k = 0; k < m1.nparams; k++)
        sum += fabs(m1.grads[k]);
    CU_ASSERT(sum > 0);
    free(x);
    free(d1);
    free(dt);
    nn_model_free(&m1);
    nn_model_free(&mt);
}

static void test_threaded_model_matches(void)
{
    check_threads("Conv2D(16, (3, 3), padding=\"same\", activation=\"relu\", input_shape=(9, 8, 2))\n"
                  "MaxPooling2D()\nDropout(0.3)\nFlatten()\nDense(12, activation=\"tanh\")\n"
                  "Dense(4, activation=\"softmax\")\n",
                  nn_shape3(9, 8, 2), 7, 0);
    check_threads("LSTM(6, return_sequences=True, input_shape=(5, 3))\nSimpleRNN(4)\nDense(2)\n",
                  (nn_shape){2, {5, 3, 0, 0}}, 5, 0);
    /* fewer rows than threads: the idle thread must not count as arrived */
    check_threads("Dense(5, activation=\"relu\", input_shape=(6,))\nDense(3)\n", nn_shape1(6),
                  2, 0);
    /* team layers: the first layer (no dx), one between row layers (dx to
     * a row layer), two in a row (one's dx is the other's dy), the
     * transposed product of a long input, and too few rows for the team */
    check_threads("Dense(70, activation=\"relu\", input_shape=(1000,))\n"
                  "Dense(3, activation=\"softmax\")\n", nn_shape1(1000), 7, 1);
    check_threads("Dense(100, activation=\"tanh\", input_shape=(30,))\n"
                  "Dense(700, activation=\"relu\")\nDense(2)\n", nn_shape1(30), 8, 1);
    check_threads("Dense(300, activation=\"relu\", input_shape=(250,))\n"
                  "Dense(240, activation=\"sigmoid\")\nDense(4, activation=\"softmax\")\n",
                  nn_shape1(250), 5, 2);
    check_threads("Flatten(input_shape=(70, 60, 1))\nDense(16, activation=\"relu\")\n"
                  "Dense(1, activation=\"sigmoid\")\n", nn_shape3(70, 60, 1), 64, 1);
    check_threads("Flatten(input_shape=(70, 60, 1))\nDense(16, activation=\"relu\")\n"
                  "Dense(1, activation=\"sigmoid\")\n", nn_shape3(70, 60, 1), 2, 0);
}

static void test_denormals_flushed(void)
{
    volatile float a = 1e-30f, b = 1e-10f;
    float plain = a * b;   /* 1e-40: subnormal */
    unsigned old = nn_fp_enter();
    float flushed = a * b;
    nn_fp_leave(old);
    float again = a * b;
    CU_ASSERT(plain > 0.0f && plain < 1.2e-38f);
#if defined(__SSE2__)
    CU_ASSERT_EQUAL(flushed, 0.0f);
#endif
    CU_ASSERT(again == plain);   /* the caller's mode is restored */
}

int main(void)
{
    const tu_test tests[] = {
        {"team runs every thread once per job", test_team_runs_each_thread},
        {"row slices cover the batch", test_split_covers_rows},
        {"barrier: every thread sees the others' writes", test_barrier},
        {"threaded model = one thread", test_threaded_model_matches},
        {"denormals flushed in the kernels", test_denormals_flushed},
        {NULL, NULL}};
    return tu_main("pool", tests);
}
