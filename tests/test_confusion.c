/* Confusion matrix, per-class accuracy/precision, most confident mistakes and
 * most confident examples (src/train/confusion.c) on small hand-made
 * prediction tables whose answers are worked out in the comments. */
#include <math.h>
#include <string.h>

#include "nntrain/confusion.h"
#include "testutil.h"

/* 3 classes, 8 samples: probs (8, 3) and labels.
 *   i  true  probs            pred  p(pred)
 *   0   0    .7 .2 .1          0    .7
 *   1   0    .1 .8 .1          1    .8   wrong
 *   2   1    .2 .5 .3          1    .5
 *   3   1    .3 .3 .4          2    .4   wrong
 *   4   2    .05 .05 .9        2    .9
 *   5   2    .6 .3 .1          0    .6   wrong
 *   6   2    .2 .2 .6          2    .6
 *   7   0    .4 .4 .2          0    .4   (tie: first)
 * matrix rows true, cols pred:  [2 1 0; 0 1 1; 1 0 2] */
static const float P3[8 * 3] = {.7f, .2f, .1f, .1f, .8f, .1f, .2f, .5f, .3f, .3f, .3f, .4f,
                                .05f, .05f, .9f, .6f, .3f, .1f, .2f, .2f, .6f, .4f, .4f, .2f};
static const float Y3[8] = {0, 0, 1, 1, 2, 2, 2, 0};

static void test_classes(void)
{
    float pr;
    CU_ASSERT_EQUAL(nn_class_count(1), 2);
    CU_ASSERT_EQUAL(nn_class_count(10), 10);
    CU_ASSERT_EQUAL(nn_pred_class(P3 + 3, 3, &pr), 1);
    CU_ASSERT_DOUBLE_EQUAL(pr, 0.8, 1e-6);
    CU_ASSERT_EQUAL(nn_pred_class(P3 + 21, 3, NULL), 0);   /* tie -> first */
    const float s[2] = {0.25f, 0.5f};
    CU_ASSERT_EQUAL(nn_pred_class(s, 1, &pr), 0);
    CU_ASSERT_DOUBLE_EQUAL(pr, 0.75, 1e-6);
    CU_ASSERT_EQUAL(nn_pred_class(s + 1, 1, &pr), 1);      /* 0.5 is class 1 */
    CU_ASSERT_DOUBLE_EQUAL(pr, 0.5, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(nn_class_prob(s, 1, 0), 0.75, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(nn_class_prob(P3, 3, 2), 0.1, 1e-6);

    const float lab[] = {2, 2.5f, -1, 3, NAN};
    CU_ASSERT_EQUAL(nn_true_class(lab, 1, 3), 2);
    CU_ASSERT_EQUAL(nn_true_class(lab + 1, 1, 3), -1);     /* not an integer */
    CU_ASSERT_EQUAL(nn_true_class(lab + 2, 1, 3), -1);
    CU_ASSERT_EQUAL(nn_true_class(lab + 3, 1, 3), -1);     /* out of range */
    CU_ASSERT_EQUAL(nn_true_class(lab + 4, 1, 3), -1);
    CU_ASSERT_EQUAL(nn_true_class(lab + 0, 1, 1), -1);     /* sigmoid: 0 or 1 */
    const float onehot[3] = {0, 0, 1}, bin[1] = {1};
    CU_ASSERT_EQUAL(nn_true_class(onehot, 3, 3), 2);
    CU_ASSERT_EQUAL(nn_true_class(onehot, 3, 4), -1);      /* ydim fits no rule */
    CU_ASSERT_EQUAL(nn_true_class(bin, 1, 1), 1);
}

static void test_matrix(void)
{
    nn_confusion c;
    nn_error e = {0};
    TU_ASSERT_OK(nn_confusion_compute(P3, 3, Y3, 1, 8, &c, &e), e);
    static const size_t want[9] = {2, 1, 0, 0, 1, 1, 1, 0, 2};
    CU_ASSERT_EQUAL(c.nclasses, 3);
    CU_ASSERT_EQUAL(c.n, 8);
    CU_ASSERT(memcmp(c.counts, want, sizeof want) == 0);
    CU_ASSERT_EQUAL(nn_confusion_true_count(&c, 2), 3);
    CU_ASSERT_EQUAL(nn_confusion_pred_count(&c, 0), 3);
    CU_ASSERT_DOUBLE_EQUAL(nn_confusion_accuracy(&c), 5.0 / 8, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(nn_confusion_class_accuracy(&c, 0), 2.0 / 3, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(nn_confusion_class_accuracy(&c, 1), 0.5, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(nn_confusion_class_accuracy(&c, 2), 2.0 / 3, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(nn_confusion_class_precision(&c, 0), 2.0 / 3, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(nn_confusion_class_precision(&c, 1), 0.5, 1e-12);
    nn_confusion_free(&c);
    CU_ASSERT_PTR_NULL(c.counts);

    /* the same with one-hot targets */
    float oh[8 * 3] = {0};
    for (int i = 0; i < 8; i++)
        oh[i * 3 + (int)Y3[i]] = 1;
    TU_ASSERT_OK(nn_confusion_compute(P3, 3, oh, 3, 8, &c, &e), e);
    CU_ASSERT(memcmp(c.counts, want, sizeof want) == 0);
    nn_confusion_free(&c);

    /* a class nobody belongs to / nobody predicts: NAN, not a division by 0 */
    TU_ASSERT_OK(nn_confusion_compute(P3, 3, Y3, 1, 2, &c, &e), e);
    CU_ASSERT(isnan(nn_confusion_class_accuracy(&c, 1)));
    CU_ASSERT(isnan(nn_confusion_class_precision(&c, 2)));
    nn_confusion_free(&c);
    TU_ASSERT_OK(nn_confusion_compute(P3, 3, Y3, 1, 0, &c, &e), e);
    CU_ASSERT(isnan(nn_confusion_accuracy(&c)));
    nn_confusion_free(&c);
}

static void test_binary(void)
{
    /* sigmoid outputs: true 0 0 0 1 1 1, p .9 .2 .6 .3 .8 .45
     * pred 1 0 1 0 1 0 -> [1 2; 2 1]; FP: 0 (.9), 2 (.6); FN: 5 (.55), 3 (.7) */
    const float p[6] = {.9f, .2f, .6f, .3f, .8f, .45f}, y[6] = {0, 0, 0, 1, 1, 1};
    nn_confusion c;
    nn_error e = {0};
    TU_ASSERT_OK(nn_confusion_compute(p, 1, y, 1, 6, &c, &e), e);
    static const size_t want[4] = {1, 2, 2, 1};
    CU_ASSERT_EQUAL(c.nclasses, 2);
    CU_ASSERT(memcmp(c.counts, want, sizeof want) == 0);
    nn_confusion_free(&c);

    nn_mistake m[4];
    size_t k = nn_hardest_mistakes(p, 1, y, 1, 6, 0, 1, m, 4);
    CU_ASSERT_EQUAL_FATAL(k, 2);
    CU_ASSERT_EQUAL(m[0].index, 0);
    CU_ASSERT_DOUBLE_EQUAL(m[0].prob, 0.9, 1e-6);
    CU_ASSERT_EQUAL(m[1].index, 2);
    k = nn_hardest_mistakes(p, 1, y, 1, 6, 1, 0, m, 4);
    CU_ASSERT_EQUAL_FATAL(k, 2);
    CU_ASSERT_EQUAL(m[0].index, 3);
    CU_ASSERT_DOUBLE_EQUAL(m[0].prob, 0.7, 1e-6);
    CU_ASSERT_EQUAL(m[0].truth, 1);
    CU_ASSERT_EQUAL(m[0].pred, 0);
    CU_ASSERT_EQUAL(m[1].index, 5);
    CU_ASSERT_DOUBLE_EQUAL(m[1].prob, 0.55, 1e-6);
}

static void test_hardest(void)
{
    nn_mistake m[8];
    /* all mistakes: 1 (.8), 5 (.6), 3 (.4) */
    size_t k = nn_hardest_mistakes(P3, 3, Y3, 1, 8, -1, -1, m, 8);
    CU_ASSERT_EQUAL_FATAL(k, 3);
    CU_ASSERT_EQUAL(m[0].index, 1);
    CU_ASSERT_EQUAL(m[0].truth, 0);
    CU_ASSERT_EQUAL(m[0].pred, 1);
    CU_ASSERT_DOUBLE_EQUAL(m[0].prob, 0.8, 1e-6);
    CU_ASSERT_EQUAL(m[1].index, 5);
    CU_ASSERT_EQUAL(m[2].index, 3);
    /* the top 2 only, and a top 1 */
    k = nn_hardest_mistakes(P3, 3, Y3, 1, 8, -1, -1, m, 2);
    CU_ASSERT_EQUAL_FATAL(k, 2);
    CU_ASSERT_EQUAL(m[0].index, 1);
    CU_ASSERT_EQUAL(m[1].index, 5);
    k = nn_hardest_mistakes(P3, 3, Y3, 1, 8, -1, -1, m, 1);
    CU_ASSERT_EQUAL_FATAL(k, 1);
    CU_ASSERT_EQUAL(m[0].index, 1);
    CU_ASSERT_EQUAL(nn_hardest_mistakes(P3, 3, Y3, 1, 8, -1, -1, m, 0), 0);
    /* filters: true class 2 (sample 5), predicted 2 (sample 3), none 2 -> 1 */
    k = nn_hardest_mistakes(P3, 3, Y3, 1, 8, 2, -1, m, 8);
    CU_ASSERT(k == 1 && m[0].index == 5);
    k = nn_hardest_mistakes(P3, 3, Y3, 1, 8, -1, 2, m, 8);
    CU_ASSERT(k == 1 && m[0].index == 3);
    CU_ASSERT_EQUAL(nn_hardest_mistakes(P3, 3, Y3, 1, 8, 2, 1, m, 8), 0);

    /* equal probabilities keep sample order; a bounded list keeps the first */
    const float p[5 * 2] = {.3f, .7f, .3f, .7f, .9f, .1f, .3f, .7f, .3f, .7f};
    const float y[5] = {0, 0, 1, 0, 0};
    k = nn_hardest_mistakes(p, 2, y, 1, 5, -1, -1, m, 8);
    CU_ASSERT_EQUAL_FATAL(k, 5);
    for (size_t i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(m[i].index, i == 0 ? 2 : i < 3 ? i - 1 : i);
    k = nn_hardest_mistakes(p, 2, y, 1, 5, -1, -1, m, 3);
    CU_ASSERT_EQUAL_FATAL(k, 3);
    CU_ASSERT(m[0].index == 2 && m[1].index == 0 && m[2].index == 1);
}

static void test_most_confident(void)
{
    size_t best[3];
    float prob[3];
    /* class 0: samples 0 (.7), 1 (.1), 7 (.4) -> 0; class 1: 2 (.5), 3 (.3) -> 2;
     * class 2: 4 (.9), 5 (.1), 6 (.6) -> 4 */
    nn_most_confident(P3, 3, Y3, 1, 8, best, prob);
    CU_ASSERT(best[0] == 0 && best[1] == 2 && best[2] == 4);
    CU_ASSERT_DOUBLE_EQUAL(prob[2], 0.9, 1e-6);
    /* only samples 0..1: classes 1 and 2 have none */
    nn_most_confident(P3, 3, Y3, 1, 2, best, NULL);
    CU_ASSERT(best[0] == 0 && best[1] == 2 && best[2] == 2);
    /* sigmoid: class 0's best is the lowest p */
    const float p[4] = {.4f, .1f, .8f, .6f}, y[4] = {0, 0, 1, 1};
    size_t b2[2];
    nn_most_confident(p, 1, y, 1, 4, b2, prob);
    CU_ASSERT(b2[0] == 1 && b2[1] == 2);
    CU_ASSERT_DOUBLE_EQUAL(prob[0], 0.9, 1e-6);
}

static void test_errors(void)
{
    nn_confusion c;
    nn_error e = {0};
    const float bad[3] = {1, 3, 1};   /* sample 0 wrong, 1 not a class, 2 right */
    CU_ASSERT_EQUAL(nn_confusion_compute(P3, 3, bad, 1, 3, &c, &e), NN_EINVAL);
    CU_ASSERT(tu_contains(e.msg, "sample 1: target 3 is not a class"));
    CU_ASSERT(tu_contains(e.msg, "expected 0..2"));
    CU_ASSERT_PTR_NULL(c.counts);
    CU_ASSERT_EQUAL(nn_confusion_compute(P3, 3, Y3, 2, 3, &c, &e), NN_ESHAPE);
    CU_ASSERT(tu_contains(e.msg, "2 targets per sample"));
    CU_ASSERT_EQUAL(nn_confusion_compute(P3, 0, Y3, 1, 3, &c, &e), NN_EINVAL);
    /* mistakes skip targets that are not classes instead of failing */
    nn_mistake m[2];
    CU_ASSERT_EQUAL(nn_hardest_mistakes(P3, 3, bad, 1, 3, -1, -1, m, 2), 1);
}

int main(void)
{
    static const tu_test tests[] = {
        {"predicted and true classes", test_classes},
        {"matrix, accuracy, precision", test_matrix},
        {"sigmoid: false positives and negatives", test_binary},
        {"hardest mistakes: order, bound, filters", test_hardest},
        {"most confident per class", test_most_confident},
        {"bad targets", test_errors},
        {NULL, NULL},
    };
    return tu_main("confusion", tests);
}
