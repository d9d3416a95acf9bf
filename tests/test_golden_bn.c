/* Golden test for BatchNormalization (issue 17): a Conv2D + BN + ReLU +
 * Dense model trains 5 full-batch SGD steps through nn_fit (batch
 * statistics); the epoch losses, the parameters with the moving statistics
 * (unbiased variance, momentum 0.8) and evaluate's loss (inference with
 * them) match tests/fixtures/golden_bn.h5, which scripts/gen_fixtures_bn.py
 * computed independently with PyTorch's F.batch_norm. */
#include <stdlib.h>
#include <string.h>

#include "golden_util.h"
#include "nntrain/evaluate.h"
#include "nntrain/fit.h"

static const gu_fixture FX = {NN_FIXTURES_DIR "/golden_bn.h5", "gen_fixtures_bn.py"};
#define STEPS 5
#define TOL 1e-4

static void t_sgd_steps(void)
{
    hid_t f = -1;
    char *spec = NULL;
    float *x = NULL, *y = NULL, *p0 = NULL, *wl = NULL, *wp = NULL, *we = NULL;
    nn_spec s;
    nn_model m;
    nn_dataset ds;
    nn_history h = {0};
    int have_spec = 0, have_model = 0, have_ds = 0, nd;
    hsize_t dims[4];
    size_t nx, n, P;
    nn_error e = {0};

    REQUIRE((f = gu_open(&FX)) >= 0, "no fixture");
    REQUIRE((spec = gu_attr_str(f, "spec")) != NULL, "attribute 'spec'");
    REQUIRE((x = gu_read_f32(f, "x", &nd, dims, &nx)) != NULL && nd == 4, "x");
    int B = (int)dims[0];
    nn_shape in = nn_shape3((int)dims[1], (int)dims[2], (int)dims[3]);
    REQUIRE((y = gu_read_f32(f, "y", &nd, dims, &n)) != NULL && n == (size_t)B, "y");
    REQUIRE((p0 = gu_read_f32(f, "params0", &nd, dims, &P)) != NULL, "params0");
    REQUIRE((wl = gu_read_f32(f, "losses", &nd, dims, &n)) != NULL && n == STEPS, "losses");
    REQUIRE((wp = gu_read_f32(f, "params", &nd, dims, &n)) != NULL && n == P, "params");
    REQUIRE((we = gu_read_f32(f, "eval_loss", &nd, dims, &n)) != NULL && n == 1, "eval_loss");

    REQUIRE(nn_spec_parse(spec, "golden_bn", &s, &e) == NN_OK, "parse: %s", e.msg);
    have_spec = 1;
    REQUIRE(nn_model_build(&m, &s, &e) == NN_OK, "build: %s", e.msg);
    have_model = 1;
    REQUIRE(m.nparams == P, "model has %zu params, fixture %zu", m.nparams, P);
    memcpy(m.params, p0, P * sizeof *p0);
    REQUIRE(nn_memory_open(&ds, x, y, (size_t)B, in, 1, 3, "memory", &e) == NN_OK, "%s", e.msg);
    have_ds = 1;
    nn_dist d;
    nn_dist_single(&d);
    nn_fit_opts o = {.fit = m.fit, .progress = 0};
    o.fit.verbose = 0;
    REQUIRE(o.fit.epochs == STEPS && o.fit.batch_size == B && !o.fit.shuffle,
            "spec: one full batch per epoch, %d epochs, no shuffle", STEPS);
    REQUIRE(nn_fit(&m, &ds, NULL, &o, &d, &h, &e) == NN_OK, "fit: %s", e.msg);
    REQUIRE(h.epochs == STEPS, "history has %d epochs", h.epochs);
    float losses[STEPS];
    for (int k = 0; k < STEPS; k++)
        losses[k] = (float)h.vals[(size_t)k * (size_t)h.ncols];   /* column "loss" */
    gu_compare("sgd", "losses", losses, wl, STEPS, TOL);
    gu_compare("sgd", "params", m.params, wp, P, TOL);
    double out[1 + NN_METRIC_MAX_SUMS];
    REQUIRE(nn_evaluate(&m, &ds, NULL, 0, B, &d, out, &e) == NN_OK, "evaluate: %s", e.msg);
    float ev = (float)out[0];
    gu_compare("sgd", "eval_loss", &ev, we, 1, TOL);
done:
    printf("\n  -> ");
    nn_history_free(&h);
    if (have_ds)
        nn_data_close(&ds);
    if (have_model)
        nn_model_free(&m);
    if (have_spec)
        nn_spec_free(&s);
    free(x), free(y), free(p0), free(wl), free(wp), free(we), free(spec);
    gu_close_file(f);
}

int main(void)
{
    static const tu_test tests[] = {
        {"5 SGD steps through BatchNormalization, moving statistics", t_sgd_steps},
        {NULL, NULL},
    };
    return tu_main("golden_bn", tests);
}
