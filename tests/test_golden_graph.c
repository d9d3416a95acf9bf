/* Golden test for a functional model (issue 17): a residual block with
 * BatchNormalization, a strided 1x1 shortcut, Add, Concatenate and
 * GlobalAveragePooling2D, written in the spec's functional syntax, against
 * tests/fixtures/golden_graph.h5, which scripts/gen_fixtures_graph.py
 * computed independently with PyTorch. One training forward and backward on
 * 1 and 3 threads (the graph executor splits rows, BN sums over all of
 * them): output, every parameter's gradient and the moving statistics after
 * it; then 5 SGD-momentum steps through nn_fit: losses, parameters with the
 * moving statistics, and evaluate's loss (inference with them). Tolerances
 * as test_golden_bn. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "golden_util.h"
#include "nntrain/loss.h"
#include "nntrain/model.h"

static const gu_fixture FX = {NN_FIXTURES_DIR "/golden_graph.h5", "gen_fixtures_graph.py"};
#define STEPS 5
#define TOL 1e-4

/* Forward and backward of one batch at params0 on T threads. */
static void one_batch(int T)
{
    hid_t f = -1;
    char *spec = NULL, cs[16];
    float *x = NULL, *y = NULL, *p0 = NULL, *wo = NULL, *wg = NULL, *wpf = NULL, *d = NULL;
    float *g = NULL;
    uint64_t *ids = NULL;
    nn_spec s;
    nn_model m;
    int have_spec = 0, have_model = 0, nd;
    hsize_t dims[4];
    size_t nx, n, P;
    nn_error e = {0};

    snprintf(cs, sizeof cs, "T=%d", T);
    REQUIRE((f = gu_open(&FX)) >= 0, "no fixture");
    REQUIRE((spec = gu_attr_str(f, "spec")) != NULL, "attribute 'spec'");
    REQUIRE((x = gu_read_f32(f, "x", &nd, dims, &nx)) != NULL && nd == 4, "x");
    int B = (int)dims[0];
    REQUIRE((y = gu_read_f32(f, "y", &nd, dims, &n)) != NULL && n == (size_t)B, "y");
    REQUIRE((p0 = gu_read_f32(f, "params0", &nd, dims, &P)) != NULL, "params0");
    REQUIRE((wg = gu_read_f32(f, "grads", &nd, dims, &n)) != NULL && n == P, "grads");
    REQUIRE((wpf = gu_read_f32(f, "params_fwd", &nd, dims, &n)) != NULL && n == P, "params_fwd");
    REQUIRE((wo = gu_read_f32(f, "out", &nd, dims, &n)) != NULL && nd == 2 && (int)dims[0] == B,
            "out");

    REQUIRE(nn_spec_parse(spec, "golden_graph", &s, &e) == NN_OK, "parse: %s", e.msg);
    have_spec = 1;
    REQUIRE(nn_model_build(&m, &s, &e) == NN_OK, "build: %s", e.msg);
    have_model = 1;
    REQUIRE(m.graph, "the spec builds a graph, not a chain");
    REQUIRE(m.nparams == P, "model has %zu params, fixture %zu", m.nparams, P);
    REQUIRE(nn_model_in_size(&m) * (size_t)B == nx, "input size");
    size_t K = nn_model_out_size(&m);
    REQUIRE(n == (size_t)B * K, "out has %zu values, the model gives %zu", n, (size_t)B * K);
    memcpy(m.params, p0, P * sizeof *p0);
    REQUIRE(nn_model_set_threads(&m, T, &e) == NN_OK, "threads: %s", e.msg);
    REQUIRE(nn_model_plan(&m, B, &e) == NN_OK, "plan: %s", e.msg);
    REQUIRE((d = malloc((size_t)B * K * sizeof *d)) && (g = malloc(P * sizeof *g)) &&
            (ids = calloc((size_t)B, sizeof *ids)), "out of memory");
    for (int i = 0; i < B; i++)
        ids[i] = (uint64_t)i;
    nn_ctx ctx = {.training = 1, .seed = 1, .sample_ids = ids};

    const float *out = nn_model_forward(&m, x, B, &ctx);
    gu_compare(cs, "out", out, wo, (size_t)B * K, TOL);
    gu_compare(cs, "params_fwd", m.params, wpf, P, TOL);   /* the moving statistics moved */
    /* d = (1/B) dL/d(logits) of the fused softmax + cross-entropy */
    nn_loss_eval(m.loss, out, y, B, (int)K, 1, m.fused, 1.0f / (float)B, d);
    memset(m.grads, 0, P * sizeof *m.grads);
    nn_model_backward(&m, x, d, B, &ctx);
    memcpy(g, m.grads, P * sizeof *g);
    int blocks = 0;
    for (int i = 0; i < m.nlayers; i++) {
        const nn_layer *l = &m.layers[i];
        if (!l->param_len)
            continue;
        /* the moving statistics have no gradient (the fixture's are 0) */
        memset(g + l->param_off + l->param_len - l->frozen_len, 0, l->frozen_len * sizeof *g);
        double sum = 0;
        for (size_t k = 0; k < l->param_len - l->frozen_len; k++)
            sum += fabs(wg[l->param_off + k]);
        CU_ASSERT(sum > 0);   /* every layer with weights is reached */
        blocks++;
    }
    CU_ASSERT_EQUAL(blocks, 9);   /* 5 Conv2D, 3 BN, 1 Dense */
    gu_compare(cs, "grads", g, wg, P, TOL);
done:
    printf("\n  -> ");
    if (have_model)
        nn_model_free(&m);
    if (have_spec)
        nn_spec_free(&s);
    free(x), free(y), free(p0), free(wo), free(wg), free(wpf), free(d), free(g), free(ids);
    free(spec);
    gu_close_file(f);
}

static void t_one_batch_1(void) { one_batch(1); }
static void t_one_batch_3(void) { one_batch(3); }

static void t_sgd_steps(void)
{
    gu_fit_steps(&FX, "golden_graph", STEPS, TOL);
}

int main(void)
{
    static const tu_test tests[] = {
        {"forward, gradients, moving statistics: 1 thread", t_one_batch_1},
        {"forward, gradients, moving statistics: 3 threads", t_one_batch_3},
        {"5 SGD momentum steps, moving statistics, evaluate", t_sgd_steps},
        {NULL, NULL},
    };
    return tu_main("golden_graph", tests);
}
