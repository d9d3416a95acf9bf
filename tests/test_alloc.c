/* Nothing is allocated per training step: the library's malloc, calloc and
 * realloc calls (counted through the linker's --wrap, see CMakeLists.txt)
 * are the same for a fit of 2 steps and one of 8, with one and with three
 * compute threads, on a model with every kind of saved state (conv, pool
 * argmax, dropout mask, LSTM states) and with validation. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "nntrain/fit.h"
#include "testutil.h"

static atomic_long allocs;

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);

void *__wrap_malloc(size_t n)
{
    atomic_fetch_add(&allocs, 1);
    return __real_malloc(n);
}

void *__wrap_calloc(size_t k, size_t n)
{
    atomic_fetch_add(&allocs, 1);
    return __real_calloc(k, n);
}

void *__wrap_realloc(void *p, size_t n)
{
    atomic_fetch_add(&allocs, 1);
    return __real_realloc(p, n);
}

#define N 96
static float xs[N * 8 * 8 * 2], ys[N];

/* Allocations during one nn_fit of `steps` steps (a fresh model each time:
 * the set-up is the same, only the number of steps differs). */
static long fit_allocs(const char *spec, nn_shape in, int threads, long steps)
{
    nn_error e = {0};
    nn_model m;
    nn_dataset ds;
    nn_dist d;
    nn_dist_single(&d);
    CU_ASSERT_EQUAL_FATAL(tu_build(spec, &m, &e), 0);
    nn_model_init_params(&m, 5);
    CU_ASSERT_EQUAL_FATAL(nn_model_set_threads(&m, threads, &e), 0);
    nn_memory_open(&ds, xs, ys, N, in, 1, 3, "memory", &e);
    nn_fit_opts o = {.fit = m.fit, .progress = 0, .max_steps = steps};
    o.fit.verbose = 0;
    o.fit.validation_split = 0.25;
    long before = atomic_load(&allocs);
    int rc = nn_fit(&m, &ds, NULL, &o, &d, NULL, &e);
    long n = atomic_load(&allocs) - before;
    CU_ASSERT_EQUAL(rc, 0);
    if (rc)
        fprintf(stderr, "fit: %s\n", e.msg);
    nn_data_close(&ds);
    nn_model_free(&m);
    return n;
}

static void check(const char *spec, nn_shape in)
{
    for (int threads = 1; threads <= 3; threads += 2) {
        long a = fit_allocs(spec, in, threads, 2), b = fit_allocs(spec, in, threads, 8);
        printf("\n  %d thread(s): %ld allocations for 2 steps, %ld for 8", threads, a, b);
        CU_ASSERT(a > 0);
        CU_ASSERT_EQUAL(a, b);
    }
}

static void test_cnn_steps_allocate_nothing(void)
{
    check("Conv2D(16, (3, 3), padding=\"same\", activation=\"relu\", input_shape=(8, 8, 2))\n"
          "MaxPooling2D()\nConv2D(8, (3, 3), activation=\"relu\")\nDropout(0.25)\n"
          "Flatten()\nDense(16, activation=\"relu\")\nDense(3, activation=\"softmax\")\n"
          "compile(loss=\"sparse_categorical_crossentropy\", optimizer=\"rmsprop\", "
          "metrics=[\"accuracy\"])\nfit(batch_size=8, epochs=1)\n",
          nn_shape3(8, 8, 2));
}

/* The pooling and padding layers (the global max keeps a per-row argmax). */
static void test_pool_steps_allocate_nothing(void)
{
    check("ZeroPadding2D(((1, 0), (0, 1)), input_shape=(8, 8, 2))\n"
          "Conv2D(8, (3, 3), activation=\"relu\")\nAveragePooling2D(2, padding=\"same\")\n"
          "Conv2D(6, (2, 2), activation=\"relu\")\nGlobalMaxPooling2D(keepdims=True)\n"
          "Conv2D(3, 1)\nGlobalAveragePooling2D()\nActivation(\"softmax\")\n"
          "compile(loss=\"sparse_categorical_crossentropy\", optimizer=\"adam\")\n"
          "fit(batch_size=8, epochs=1)\n",
          nn_shape3(8, 8, 2));
}

static void test_rnn_steps_allocate_nothing(void)
{
    check("LSTM(8, return_sequences=True, input_shape=(16, 8))\nSimpleRNN(4)\n"
          "Dense(3, activation=\"softmax\")\n"
          "compile(loss=\"sparse_categorical_crossentropy\", optimizer=\"adam\")\n"
          "fit(batch_size=8, epochs=1)\n",
          (nn_shape){2, {16, 8, 0, 0}});
}

/* Two wide Dense layers that 3 threads run together (all rows, a slice of
 * the inputs each), one of them passing dx down. */
static void test_team_steps_allocate_nothing(void)
{
    check("Dense(520, activation=\"relu\", input_shape=(128,))\n"
          "Dense(130, activation=\"relu\")\nDense(3, activation=\"softmax\")\n"
          "compile(loss=\"sparse_categorical_crossentropy\", optimizer=\"rmsprop\")\n"
          "fit(batch_size=8, epochs=1)\n",
          nn_shape1(128));
}

int main(void)
{
    tu_fill_uniform(xs, sizeof xs / sizeof xs[0], 7, 0.0f, 1.0f);
    for (int i = 0; i < N; i++)
        ys[i] = (float)(i % 3);
    const tu_test tests[] = {
        {"CNN training steps allocate nothing", test_cnn_steps_allocate_nothing},
        {"pooling/padding training steps allocate nothing", test_pool_steps_allocate_nothing},
        {"RNN training steps allocate nothing", test_rnn_steps_allocate_nothing},
        {"team-layer training steps allocate nothing", test_team_steps_allocate_nothing},
        {NULL, NULL}};
    return tu_main("alloc", tests);
}
