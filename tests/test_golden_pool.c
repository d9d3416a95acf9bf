/* Golden tests for AveragePooling2D, GlobalAveragePooling2D,
 * GlobalMaxPooling2D and ZeroPadding2D against fixtures that
 * scripts/gen_fixtures_pool.py computed with PyTorch (TensorFlow's "same"
 * average pooling as padded window sums over padded counts; adaptive
 * pooling; F.pad; float64 reference rounded to float32). Same case layout and
 * checks as test_golden.c (gu_layer_case): forward y and dx, with the max
 * |diff| per tensor and the first bad index on failure. */
#include "golden_util.h"

static const gu_fixture FX = {NN_FIXTURES_DIR "/golden_pool.h5", "gen_fixtures_pool.py"};

#define LAYER_TEST(cs) static void t_##cs(void) { gu_layer_case(&FX, #cs); }
LAYER_TEST(avg_2x2_valid)
LAYER_TEST(avg_odd_valid)
LAYER_TEST(avg_3x3_s2_same)
LAYER_TEST(avg_2x3_same)
LAYER_TEST(avg_4_same_s1)
LAYER_TEST(avg_8_resnet)
LAYER_TEST(gap)
LAYER_TEST(gap_keepdims)
LAYER_TEST(gmp)
LAYER_TEST(gmp_keepdims)
LAYER_TEST(zpad_1)
LAYER_TEST(zpad_hw)
LAYER_TEST(zpad_tblr)
#define N_LAYER_CASES 13

/* Every top-level group of the fixture is exercised (a case added to the
 * script must be added here). */
static void t_fixture_complete(void)
{
    gu_fixture_complete(&FX, "test_golden_pool.c", N_LAYER_CASES);
}

int main(void)
{
    static const tu_test tests[] = {
        {"fixture_complete", t_fixture_complete},
        {"avg_2x2_valid", t_avg_2x2_valid},
        {"avg_odd_valid", t_avg_odd_valid},
        {"avg_3x3_s2_same", t_avg_3x3_s2_same},
        {"avg_2x3_same", t_avg_2x3_same},
        {"avg_4_same_s1", t_avg_4_same_s1},
        {"avg_8_resnet", t_avg_8_resnet},
        {"gap", t_gap},
        {"gap_keepdims", t_gap_keepdims},
        {"gmp", t_gmp},
        {"gmp_keepdims", t_gmp_keepdims},
        {"zpad_1", t_zpad_1},
        {"zpad_hw", t_zpad_hw},
        {"zpad_tblr", t_zpad_tblr},
        {NULL, NULL},
    };
    return tu_main("golden_pool", tests);
}
