/* Golden test for BatchNormalization (issue 17): a Conv2D + BN + ReLU +
 * Dense model trains 5 full-batch SGD steps through nn_fit (batch
 * statistics); the epoch losses, the parameters with the moving statistics
 * (unbiased variance, momentum 0.8) and evaluate's loss (inference with
 * them) match tests/fixtures/golden_bn.h5, which scripts/gen_fixtures_bn.py
 * computed independently with PyTorch's F.batch_norm. */
#include "golden_util.h"

static const gu_fixture FX = {NN_FIXTURES_DIR "/golden_bn.h5", "gen_fixtures_bn.py"};
#define STEPS 5
#define TOL 1e-4

static void t_sgd_steps(void)
{
    gu_fit_steps(&FX, "golden_bn", STEPS, TOL);
}

int main(void)
{
    static const tu_test tests[] = {
        {"5 SGD steps through BatchNormalization, moving statistics", t_sgd_steps},
        {NULL, NULL},
    };
    return tu_main("golden_bn", tests);
}
