/* Golden tests for Conv2DTranspose and UpSampling2D against fixtures that
 * scripts/gen_fixtures_deconv.py computed with PyTorch (conv_transpose2d
 * cropped to TensorFlow's output, the crop verified there as the exact
 * adjoint of TF's Conv2D; float64 reference rounded to float32). Same case
 * layout and checks as test_golden.c (gu_layer_case): forward y, dx and every
 * parameter gradient, with the max |diff| per tensor and the first bad index
 * on failure. */
#include "golden_util.h"

static const gu_fixture FX = {NN_FIXTURES_DIR "/golden_deconv.h5", "gen_fixtures_deconv.py"};

#define LAYER_TEST(cs) static void t_##cs(void) { gu_layer_case(&FX, #cs); }
LAYER_TEST(ct_valid_s1)
LAYER_TEST(ct_valid_s2)
LAYER_TEST(ct_same_s2_even)
LAYER_TEST(ct_same_s2_odd)
LAYER_TEST(ct_same_asym)
LAYER_TEST(ct_nonsquare)
LAYER_TEST(ct_valid_k1_s2)
LAYER_TEST(ct_1x1_nobias)
LAYER_TEST(ct_outpad_valid)
LAYER_TEST(ct_outpad_same)
LAYER_TEST(up_2x2)
LAYER_TEST(up_2x3)
LAYER_TEST(up_3)
#define N_LAYER_CASES 13

/* Every top-level group of the fixture is exercised (a case added to the
 * script must be added here). */
static void t_fixture_complete(void)
{
    gu_fixture_complete(&FX, "test_golden_deconv.c", N_LAYER_CASES);
}

int main(void)
{
    static const tu_test tests[] = {
        {"fixture_complete", t_fixture_complete},
        {"ct_valid_s1", t_ct_valid_s1},
        {"ct_valid_s2", t_ct_valid_s2},
        {"ct_same_s2_even", t_ct_same_s2_even},
        {"ct_same_s2_odd", t_ct_same_s2_odd},
        {"ct_same_asym", t_ct_same_asym},
        {"ct_nonsquare", t_ct_nonsquare},
        {"ct_valid_k1_s2", t_ct_valid_k1_s2},
        {"ct_1x1_nobias", t_ct_1x1_nobias},
        {"ct_outpad_valid", t_ct_outpad_valid},
        {"ct_outpad_same", t_ct_outpad_same},
        {"up_2x2", t_up_2x2},
        {"up_2x3", t_up_2x3},
        {"up_3", t_up_3},
        {NULL, NULL},
    };
    return tu_main("golden_deconv", tests);
}
