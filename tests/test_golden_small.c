/* Golden tests for issue 17's small layers: LeakyReLU (Keras 2 default
 * alpha, alpha, the R name with negative_slope), ReLU (plain, max_value, all
 * options), Activation("leaky_relu"), Softmax (features, image channels),
 * Reshape with -1: forward and dx against tests/fixtures/golden_small.h5,
 * which scripts/gen_fixtures_small.py computed independently with PyTorch. */
#include "golden_util.h"

static const gu_fixture FX = {NN_FIXTURES_DIR "/golden_small.h5", "gen_fixtures_small.py"};

#define LAYER_TEST(cs) static void t_##cs(void) { gu_layer_case(&FX, #cs); }
LAYER_TEST(leaky_relu_default)
LAYER_TEST(leaky_relu_alpha)
LAYER_TEST(leaky_relu_r)
LAYER_TEST(relu_plain)
LAYER_TEST(relu_max)
LAYER_TEST(relu_all)
LAYER_TEST(activation_leaky_relu)
LAYER_TEST(softmax_vec)
LAYER_TEST(softmax_image)
LAYER_TEST(reshape)
#define N_CASES 10

static void t_fixture_complete(void)
{
    gu_fixture_complete(&FX, "test_golden_small.c", N_CASES);
}

int main(void)
{
    static const tu_test tests[] = {
        {"leaky_relu_default", t_leaky_relu_default},
        {"leaky_relu_alpha", t_leaky_relu_alpha},
        {"leaky_relu_r", t_leaky_relu_r},
        {"relu_plain", t_relu_plain},
        {"relu_max", t_relu_max},
        {"relu_all", t_relu_all},
        {"activation_leaky_relu", t_activation_leaky_relu},
        {"softmax_vec", t_softmax_vec},
        {"softmax_image", t_softmax_image},
        {"reshape", t_reshape},
        {"fixture complete", t_fixture_complete},
        {NULL, NULL},
    };
    return tu_main("golden_small", tests);
}
