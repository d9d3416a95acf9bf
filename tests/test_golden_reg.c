/* Golden test for the weight regularizers (issue 17): a Conv2D + Dense model
 * with l1, l2 and l1_l2 on kernels and biases trains 3 full-batch SGD steps
 * through nn_fit; the epoch losses (penalty included), the parameters and
 * evaluate's loss (penalty included) match tests/fixtures/golden_reg.h5,
 * which scripts/gen_fixtures_reg.py computed independently with PyTorch. */
#include "golden_util.h"

static const gu_fixture FX = {NN_FIXTURES_DIR "/golden_reg.h5", "gen_fixtures_reg.py"};
#define STEPS 3
#define TOL 1e-4

static void t_sgd_steps(void)
{
    gu_fit_steps(&FX, "golden_reg", STEPS, TOL);
}

int main(void)
{
    static const tu_test tests[] = {
        {"3 SGD steps with l1/l2/l1_l2 on kernels and biases", t_sgd_steps},
        {NULL, NULL},
    };
    return tu_main("golden_reg", tests);
}
