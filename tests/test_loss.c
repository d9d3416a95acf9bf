/* Losses and metrics: central-difference checks of every loss gradient, both
 * unfused (w.r.t. the outputs) and fused (w.r.t. the logits of a softmax or
 * sigmoid built here), values against hand arithmetic, saturated logits, and
 * Keras's resolution of "accuracy" plus metric sums on hand-made cases. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nntrain/loss.h"
#include "testutil.h"

#define MAXN 64

/* A one-sum metric over B samples (nn_metric_add on probabilities). */
static double metric_sum(nn_metric m, const float *out, const float *y, int B, int K, int ydim)
{
    double acc = 0;
    nn_metric_add(m, out, y, B, K, ydim, 0, &acc);
    return acc;
}

static void softmax_rows(const float *z, float *p, int B, int K)
{
    for (int b = 0; b < B; b++) {
        const float *zr = z + b * K;
        double mx = zr[0], s = 0;
        for (int j = 1; j < K; j++)
            mx = fmax(mx, zr[j]);
        for (int j = 0; j < K; j++)
            s += exp((double)zr[j] - mx);
        for (int j = 0; j < K; j++)
            p[b * K + j] = (float)(exp((double)zr[j] - mx) / s);
    }
}

static void sigmoid_all(const float *z, float *p, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (float)(1.0 / (1.0 + exp(-(double)z[i])));
}

/* The network output for input x: identity (unfused, or logits), or the
 * activation the loss is fused with (sigmoid for BCE, softmax for CCE/SCCE). */
static void forward(nn_loss k, int fused, const float *x, float *out, int B, int K)
{
    if (fused != NN_OUT_FUSED)
        memcpy(out, x, (size_t)(B * K) * sizeof *x);
    else if (k == NN_LOSS_BCE)
        sigmoid_all(x, out, B * K);
    else
        softmax_rows(x, out, B, K);
}

/* Compares the analytic d (scale * dL/dx) with scale * central differences
 * of nn_loss_eval on every element of x. Passes if
 * |a - n| <= 2e-3 * max(0.1, |a|, |n|); asserts the numeric gradient is not
 * all zero. Returns the number of failing elements. */
static int gradcheck(const char *what, nn_loss k, int fused, const float *x0,
                     const float *y, int B, int K, int ydim, float scale)
{
    float x[MAXN], out[MAXN], d[MAXN];
    int n = B * K, bad = 0;
    double sum_abs = 0;
    memcpy(x, x0, (size_t)n * sizeof *x);
    forward(k, fused, x, out, B, K);
    double L = nn_loss_eval(k, out, y, B, K, ydim, fused, scale, d);
    CU_ASSERT(isfinite(L));
    for (int i = 0; i < n; i++) {
        const float h = 1e-3f, xi = x[i];
        float xp = xi + h, xm = xi - h;
        x[i] = xp;
        forward(k, fused, x, out, B, K);
        double Lp = nn_loss_eval(k, out, y, B, K, ydim, fused, scale, NULL);
        x[i] = xm;
        forward(k, fused, x, out, B, K);
        double Lm = nn_loss_eval(k, out, y, B, K, ydim, fused, scale, NULL);
        x[i] = xi;
        double num = scale * (Lp - Lm) / ((double)xp - (double)xm);
        double a = d[i], lim = 2e-3 * fmax(0.1, fmax(fabs(a), fabs(num)));
        sum_abs += fabs(num);
        if (!(fabs(a - num) <= lim)) {
            if (!bad)
                fprintf(stderr, "  %s: d[%d] analytic %.7g numeric %.7g\n", what, i, a, num);
            bad++;
        }
    }
    CU_ASSERT(sum_abs > 0);
    CU_ASSERT_EQUAL(bad, 0);
    return bad;
}

/* ---- gradient checks ------------------------------------------------ */

static void test_grad_regression(void)
{
    enum { B = 3, K = 4 };
    float out[B * K], y[B * K], y1[B];
    tu_fill_uniform(out, B * K, 1, -1.0f, 1.0f);
    tu_fill_uniform(y, B * K, 2, -1.0f, 1.0f);
    tu_fill_uniform(y1, B, 3, -1.0f, 1.0f);
    gradcheck("mse", NN_LOSS_MSE, 0, out, y, B, K, K, 1.0f);
    gradcheck("mse scale", NN_LOSS_MSE, 0, out, y, B, K, K, 1.0f / 3);
    gradcheck("mse broadcast y", NN_LOSS_MSE, 0, out, y1, B, K, 1, 0.5f);
    /* MAE: keep every residual away from the kink at 0 (|r| >= 0.1 > h). */
    for (int i = 0; i < B * K; i++)
        y[i] = out[i] + ((i % 3) ? 0.1f + 0.05f * (float)i : -0.2f - 0.03f * (float)i);
    gradcheck("mae", NN_LOSS_MAE, 0, out, y, B, K, K, 1.0f);
    gradcheck("mae scale", NN_LOSS_MAE, 0, out, y, B, K, K, 0.25f);
}

static void test_grad_bce(void)
{
    enum { B = 3, K = 4 };
    float p[B * K], z[B * K], y[B * K], soft[B * K];
    tu_fill_uniform(p, B * K, 4, 0.05f, 0.95f);
    tu_fill_uniform(z, B * K, 5, -3.0f, 3.0f);
    tu_fill_uniform(soft, B * K, 6, 0.0f, 1.0f);
    for (int i = 0; i < B * K; i++)
        y[i] = (float)((i * 7) % 3 == 0);
    gradcheck("bce unfused", NN_LOSS_BCE, 0, p, y, B, K, K, 1.0f);
    gradcheck("bce unfused soft", NN_LOSS_BCE, 0, p, soft, B, K, K, 0.5f);
    gradcheck("bce fused", NN_LOSS_BCE, 1, z, y, B, K, K, 1.0f);
    gradcheck("bce fused soft", NN_LOSS_BCE, 1, z, soft, B, K, K, 1.0f / 3);
    /* K = 1 (the usual binary classifier), B = 4 */
    gradcheck("bce fused K=1", NN_LOSS_BCE, 1, z, y, 4, 1, 1, 0.25f);
    gradcheck("bce unfused K=1", NN_LOSS_BCE, 0, p, y, 4, 1, 1, 0.25f);
}

static void test_grad_categorical(void)
{
    enum { B = 3, K = 4 };
    float z[B * K], p[B * K], raw[B * K], onehot[B * K] = {0};
    float labels[B] = {2, 0, 3};
    tu_fill_uniform(z, B * K, 7, -2.0f, 2.0f);
    softmax_rows(z, p, B, K);
    tu_fill_uniform(raw, B * K, 8, 0.05f, 1.0f);   /* unnormalised rows */
    for (int b = 0; b < B; b++)
        onehot[b * K + (int)labels[b]] = 1;
    gradcheck("cce unfused one-hot", NN_LOSS_CCE, 0, p, onehot, B, K, K, 1.0f);
    gradcheck("cce unfused unnormalised", NN_LOSS_CCE, 0, raw, onehot, B, K, K, 1.0f);
    gradcheck("cce unfused labels", NN_LOSS_CCE, 0, p, labels, B, K, 1, 0.5f);
    gradcheck("cce fused one-hot", NN_LOSS_CCE, 1, z, onehot, B, K, K, 1.0f);
    gradcheck("cce fused labels", NN_LOSS_CCE, 1, z, labels, B, K, 1, 1.0f / 3);
    gradcheck("scce unfused", NN_LOSS_SCCE, 0, p, labels, B, K, 1, 1.0f);
    gradcheck("scce unfused unnormalised", NN_LOSS_SCCE, 0, raw, labels, B, K, 1, 1.0f);
    gradcheck("scce fused", NN_LOSS_SCCE, 1, z, labels, B, K, 1, 0.5f);
    /* soft targets summing to 1 */
    float soft[B * K];
    tu_fill_uniform(soft, B * K, 9, 0.1f, 1.0f);
    for (int b = 0; b < B; b++) {
        float s = 0;
        for (int j = 0; j < K; j++)
            s += soft[b * K + j];
        for (int j = 0; j < K; j++)
            soft[b * K + j] /= s;
    }
    gradcheck("cce fused soft", NN_LOSS_CCE, 1, z, soft, B, K, K, 1.0f);
    gradcheck("cce unfused soft", NN_LOSS_CCE, 0, p, soft, B, K, K, 1.0f);
}

/* from_logits=True: the gradient w.r.t. the logits by central differences,
 * and the loss equal to the fused one on the probabilities (where the clip
 * is not active); then logits far beyond float's exp range stay finite and
 * exact (softplus / log-sum-exp). */
static void test_logits(void)
{
    enum { B = 3, K = 4 };
    const int L = NN_OUT_LOGITS;
    float z[B * K], p[B * K], s[B * K], y[B * K], onehot[B * K] = {0}, soft[B * K];
    float labels[B] = {1, 3, 0};
    tu_fill_uniform(z, B * K, 21, -3.0f, 3.0f);
    tu_fill_uniform(soft, B * K, 22, 0.0f, 1.0f);
    for (int i = 0; i < B * K; i++)
        y[i] = (float)((i * 5) % 3 == 0);
    for (int b = 0; b < B; b++)
        onehot[b * K + (int)labels[b]] = 1;
    gradcheck("bce logits", NN_LOSS_BCE, L, z, y, B, K, K, 1.0f);
    gradcheck("bce logits soft", NN_LOSS_BCE, L, z, soft, B, K, K, 0.5f);
    gradcheck("bce logits K=1", NN_LOSS_BCE, L, z, y, 4, 1, 1, 0.25f);
    gradcheck("cce logits one-hot", NN_LOSS_CCE, L, z, onehot, B, K, K, 1.0f);
    gradcheck("cce logits labels", NN_LOSS_CCE, L, z, labels, B, K, 1, 1.0f / 3);
    gradcheck("cce logits soft (sum != 1)", NN_LOSS_CCE, L, z, soft, B, K, K, 1.0f);
    gradcheck("scce logits", NN_LOSS_SCCE, L, z, labels, B, K, 1, 0.5f);
    softmax_rows(z, p, B, K);
    sigmoid_all(z, s, B * K);
    CU_ASSERT_DOUBLE_EQUAL(nn_loss_eval(NN_LOSS_CCE, z, onehot, B, K, K, L, 1, NULL),
                           nn_loss_eval(NN_LOSS_CCE, p, onehot, B, K, K, 1, 1, NULL), 1e-5);
    CU_ASSERT_DOUBLE_EQUAL(nn_loss_eval(NN_LOSS_SCCE, z, labels, B, K, 1, L, 1, NULL),
                           nn_loss_eval(NN_LOSS_SCCE, p, labels, B, K, 1, 1, 1, NULL), 1e-5);
    CU_ASSERT_DOUBLE_EQUAL(nn_loss_eval(NN_LOSS_BCE, z, y, B, K, K, L, 1, NULL),
                           nn_loss_eval(NN_LOSS_BCE, s, y, B, K, K, 1, 1, NULL), 1e-5);
    /* z = +-500: the probabilities clip, the logits do not: BCE of a wrong
     * confident answer is 500 (not -log(1e-7) = 16.1), gradient (p - t) */
    float big[2] = {500.0f, -500.0f}, t[2] = {0.0f, 0.0f}, d[2];
    double v = nn_loss_eval(NN_LOSS_BCE, big, t, 2, 1, 1, L, 1.0f, d);
    CU_ASSERT_DOUBLE_EQUAL(v, 500.0, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(d[0], 1.0, 1e-7);
    CU_ASSERT_DOUBLE_EQUAL(d[1], 0.0, 1e-7);
    float zc[3] = {1000.0f, -1000.0f, 0.0f}, lab = 1, dc[3];
    v = nn_loss_eval(NN_LOSS_SCCE, zc, &lab, 1, 3, 1, L, 1.0f, dc);
    CU_ASSERT_DOUBLE_EQUAL(v, 2000.0, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(dc[0], 1.0, 1e-7);
    CU_ASSERT_DOUBLE_EQUAL(dc[1], -1.0, 1e-7);
    CU_ASSERT(isfinite(dc[2]) && dc[2] >= 0 && dc[2] < 1e-30);
    /* names of the classes */
    nn_loss k;
    CU_ASSERT(nn_loss_parse_class("BinaryCrossentropy", &k) == 0 && k == NN_LOSS_BCE);
    CU_ASSERT(nn_loss_parse_class("SparseCategoricalCrossentropy", &k) == 0 &&
              k == NN_LOSS_SCCE);
    CU_ASSERT(nn_loss_parse_class("loss_categorical_crossentropy", &k) == 0 &&
              k == NN_LOSS_CCE);
    CU_ASSERT(nn_loss_parse_class("MeanSquaredError", &k) == 0 && k == NN_LOSS_MSE);
    CU_ASSERT(nn_loss_parse_class("binary_crossentropy", &k) == -1);
    CU_ASSERT(nn_loss_parse_class("Hinge", &k) == -1);
    CU_ASSERT(nn_loss_takes_logits(NN_LOSS_BCE) && !nn_loss_takes_logits(NN_LOSS_MAE));
}

/* ---- values ----------------------------------------------------------- */

#define CLOSE(a, b, tol) CU_ASSERT_DOUBLE_EQUAL((a), (b), (tol))

static void test_values_regression(void)
{
    float out[4] = {0.5f, 1.0f, 2.0f, 0.0f}, y[4] = {1, 1, 0, 0}, d[4];
    /* MSE, B=2, K=2: ((0.5-1)^2 + 0)/2 = 0.125; ((2-0)^2 + 0)/2 = 2; sum 2.125.
     * d = 2 (o - y) / K = {-0.5, 0, 2, 0}. */
    CLOSE(nn_loss_eval(NN_LOSS_MSE, out, y, 2, 2, 2, 0, 1.0f, d), 2.125, 1e-12);
    CLOSE(d[0], -0.5, 1e-7);
    CLOSE(d[1], 0.0, 1e-7);
    CLOSE(d[2], 2.0, 1e-7);
    /* MAE: (0.5 + 0)/2 = 0.25; (2 + 0)/2 = 1; sum 1.25. d = sign(o - y) / K,
     * 0 where o == y; with scale 0.5: {-0.25, 0, 0.25, 0}. */
    CLOSE(nn_loss_eval(NN_LOSS_MAE, out, y, 2, 2, 2, 0, 0.5f, d), 1.25, 1e-12);
    CLOSE(d[0], -0.25, 1e-7);
    CLOSE(d[1], 0.0, 1e-7);
    CLOSE(d[2], 0.25, 1e-7);
    /* y of width 1 broadcasts: y = {1, 0}: same as above. */
    float y1[2] = {1, 0};
    CLOSE(nn_loss_eval(NN_LOSS_MSE, out, y1, 2, 2, 1, 0, 1.0f, NULL), 2.125, 1e-12);
    /* "mse" alias parses; the metric equals the loss sum. */
    nn_loss k = NN_LOSS_CCE;
    CU_ASSERT_EQUAL(nn_loss_parse("mse", &k), 0);
    CU_ASSERT_EQUAL(k, NN_LOSS_MSE);
    CLOSE(metric_sum(NN_MET_MSE, out, y, 2, 2, 2), 2.125, 1e-12);
    CLOSE(metric_sum(NN_MET_MAE, out, y, 2, 2, 2), 1.25, 1e-12);
}

static void test_values_bce(void)
{
    float out[2] = {0.8f, 0.3f}, y[2] = {1, 0}, d[2];
    /* K=1, B=2: -ln 0.8 - ln 0.7 = 0.22314355131 + 0.35667494394 = 0.57981849525 */
    CLOSE(nn_loss_eval(NN_LOSS_BCE, out, y, 2, 1, 1, 0, 1.0f, d), 0.57981849525, 1e-7);
    /* unfused d = -y/p + (1-y)/(1-p): -1/0.8 = -1.25; 1/0.7 = 1.4285714 */
    CLOSE(d[0], -1.25, 1e-6);
    CLOSE(d[1], 1.0 / 0.7, 1e-6);
    /* K=2, B=1: the same terms averaged over K: 0.28990924763.
     * fused d = (p - y)/K = {-0.2/2, 0.3/2} = {-0.1, 0.15} */
    CLOSE(nn_loss_eval(NN_LOSS_BCE, out, y, 1, 2, 2, 1, 1.0f, d), 0.28990924763, 1e-7);
    CLOSE(d[0], -0.1, 1e-7);
    CLOSE(d[1], 0.15, 1e-7);
    /* Clipping in float32 as Keras: p = 0 with y = 1 -> -ln(1e-7f) = 16.1180956;
     * p = 1 with y = 0 -> 1 - (1 - 1e-7f) = 2^-23 in float32 -> 23 ln 2 = 15.9423852.
     * The unfused gradient is 0 where the clip is active. */
    float sat[2] = {0.0f, 1.0f};
    CLOSE(nn_loss_eval(NN_LOSS_BCE, sat, y, 1, 1, 1, 0, 1.0f, d), 16.1180956, 1e-6);
    CLOSE(nn_loss_eval(NN_LOSS_BCE, sat + 1, y + 1, 1, 1, 1, 0, 1.0f, d), 23 * log(2.0),
          1e-6);
    CU_ASSERT_EQUAL(d[0], 0.0f);
}

static void test_values_categorical(void)
{
    float out[6] = {0.2f, 0.7f, 0.1f, 0.5f, 0.25f, 0.25f};
    float onehot[6] = {0, 1, 0, 0, 0, 1}, labels[2] = {1, 2}, d[6];
    /* -ln 0.7 - ln 0.25 = 0.35667494394 + 1.38629436112 = 1.74296930506 */
    const double want = 1.74296930506;
    CLOSE(nn_loss_eval(NN_LOSS_CCE, out, onehot, 2, 3, 3, 0, 1.0f, NULL), want, 1e-6);
    CLOSE(nn_loss_eval(NN_LOSS_CCE, out, labels, 2, 3, 1, 0, 1.0f, NULL), want, 1e-6);
    CLOSE(nn_loss_eval(NN_LOSS_SCCE, out, labels, 2, 3, 1, 1, 1.0f, NULL), want, 1e-6);
    /* fused d = scale (p - y), scale 0.5: row 0 {0.1, -0.15, 0.05} */
    CLOSE(nn_loss_eval(NN_LOSS_SCCE, out, labels, 2, 3, 1, 1, 0.5f, d), want, 1e-6);
    CLOSE(d[0], 0.1, 1e-7);
    CLOSE(d[1], -0.15, 1e-7);
    CLOSE(d[2], 0.05, 1e-7);
    CLOSE(d[5], 0.5 * (0.25 - 1), 1e-7);
    /* unfused, rows sum to 1: d_i = -y_i/p_i + 1: row 0 {1, 1 - 1/0.7, 1} */
    nn_loss_eval(NN_LOSS_CCE, out, onehot, 2, 3, 3, 0, 1.0f, d);
    CLOSE(d[0], 1.0, 1e-6);
    CLOSE(d[1], 1.0 - 1.0 / 0.7, 1e-6);
    /* a true class with p = 0 is clipped: -ln(1e-7f) = 16.1180956 */
    float zero[3] = {0.0f, 1.0f, 0.0f}, lab0[1] = {0};
    CLOSE(nn_loss_eval(NN_LOSS_SCCE, zero, lab0, 1, 3, 1, 0, 1.0f, d), 16.1180956, 1e-6);
    CU_ASSERT(isfinite(d[0]) && isfinite(d[1]) && isfinite(d[2]));
}

static void test_bad_targets(void)
{
    float out[6] = {0.2f, 0.7f, 0.1f, 0.5f, 0.25f, 0.25f}, d[6];
    /* labels outside [0, K) or not integers: largest clipped loss, zero gradient,
     * no read outside the row. Row 1 is valid: -ln 0.25. */
    const float bad[4] = {3, -1, 1.5f, NAN};
    for (int i = 0; i < 4; i++) {
        float lab[2] = {bad[i], 0};
        lab[1] = 2;
        for (int j = 0; j < 6; j++)
            d[j] = 9.0f;
        double L = nn_loss_eval(NN_LOSS_SCCE, out, lab, 2, 3, 1, 1, 1.0f, d);
        CLOSE(L, -log((double)1e-7f) + log(4.0), 1e-6);
        CU_ASSERT(d[0] == 0 && d[1] == 0 && d[2] == 0);
        CLOSE(d[5], 0.25 - 1, 1e-7);
    }
    /* ydim neither 1 nor K, or SCCE on one-hot targets: NaN for the caller's check */
    float y[6] = {0};
    CU_ASSERT(isnan(nn_loss_eval(NN_LOSS_MSE, out, y, 1, 3, 2, 0, 1.0f, NULL)));
    CU_ASSERT(isnan(nn_loss_eval(NN_LOSS_SCCE, out, y, 2, 3, 3, 0, 1.0f, NULL)));
}

/* Logits of +-50 saturate float softmax/sigmoid; loss and gradients stay finite. */
static void test_saturated(void)
{
    enum { B = 2, K = 4 };
    float z[B * K] = {50, -50, 0, 10, -50, 50, -50, 50}, p[B * K], d[B * K];
    float labels[B] = {1, 0}, onehot[B * K] = {0, 1, 0, 0, 1, 0, 0, 0};
    softmax_rows(z, p, B, K);
    for (int fused = 0; fused <= 1; fused++) {
        double L = nn_loss_eval(NN_LOSS_SCCE, p, labels, B, K, 1, fused, 0.5f, d);
        CU_ASSERT(isfinite(L));
        /* both true classes sit at -50 vs 50: each clipped to -ln(1e-7f) */
        CLOSE(L, 2 * 16.1180956, 1e-5);
        for (int i = 0; i < B * K; i++)
            CU_ASSERT(isfinite(d[i]));
        L = nn_loss_eval(NN_LOSS_CCE, p, onehot, B, K, K, fused, 0.5f, d);
        CU_ASSERT(isfinite(L));
        for (int i = 0; i < B * K; i++)
            CU_ASSERT(isfinite(d[i]));
    }
    /* fused: d = 0.5 (p - y); the true class of row 0 has p ~ 0 -> -0.5 */
    nn_loss_eval(NN_LOSS_SCCE, p, labels, B, K, 1, 1, 0.5f, d);
    CLOSE(d[1], -0.5, 1e-6);
    CLOSE(d[0], 0.5, 1e-6);
    float s[B * K], y[B * K] = {1, 1, 0, 0, 0, 1, 1, 0};
    sigmoid_all(z, s, B * K);
    for (int fused = 0; fused <= 1; fused++) {
        double L = nn_loss_eval(NN_LOSS_BCE, s, y, B, K, K, fused, 1.0f, d);
        CU_ASSERT(isfinite(L));
        CU_ASSERT(L > 0);
        for (int i = 0; i < B * K; i++)
            CU_ASSERT(isfinite(d[i]));
    }
    /* fused BCE on z = -50, y = 1: (p - y)/K = -1/4 */
    nn_loss_eval(NN_LOSS_BCE, s, y, B, K, K, 1, 1.0f, d);
    CLOSE(d[1], -0.25, 1e-6);
}

static void test_loss_parse(void)
{
    static const struct {
        const char *name;
        nn_loss k;
    } ok[] = {
        {"mse", NN_LOSS_MSE},
        {"mean_squared_error", NN_LOSS_MSE},
        {"mae", NN_LOSS_MAE},
        {"mean_absolute_error", NN_LOSS_MAE},
        {"binary_crossentropy", NN_LOSS_BCE},
        {"categorical_crossentropy", NN_LOSS_CCE},
        {"sparse_categorical_crossentropy", NN_LOSS_SCCE},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        nn_loss k = NN_LOSS_COUNT;
        CU_ASSERT_EQUAL(nn_loss_parse(ok[i].name, &k), 0);
        CU_ASSERT_EQUAL(k, ok[i].k);
    }
    nn_loss k;
    CU_ASSERT_EQUAL(nn_loss_parse("hinge", &k), -1);
    CU_ASSERT_EQUAL(nn_loss_parse("crossentropy", &k), -1);
    CU_ASSERT_EQUAL(nn_loss_parse(NULL, &k), -1);
    CU_ASSERT_STRING_EQUAL(nn_loss_names[NN_LOSS_SCCE], "sparse_categorical_crossentropy");
    CU_ASSERT_STRING_EQUAL(nn_loss_names[NN_LOSS_MSE], "mean_squared_error");
}

/* ---- metrics ---------------------------------------------------------- */

static void test_metric_parse(void)
{
    nn_metric m = NN_MET_COUNT;
    /* Keras 2: "accuracy" is binary for binary_crossentropy (any K) or K == 1 */
    CU_ASSERT_EQUAL(nn_metric_parse("accuracy", NN_LOSS_BCE, 1, &m), 0);
    CU_ASSERT_EQUAL(m, NN_MET_BINARY_ACC);
    m = NN_MET_COUNT;
    CU_ASSERT_EQUAL(nn_metric_parse("accuracy", NN_LOSS_BCE, 3, &m), 0);
    CU_ASSERT_EQUAL(m, NN_MET_BINARY_ACC);
    m = NN_MET_COUNT;
    CU_ASSERT_EQUAL(nn_metric_parse("acc", NN_LOSS_MSE, 1, &m), 0);
    CU_ASSERT_EQUAL(m, NN_MET_BINARY_ACC);
    /* ... and categorical otherwise (sparse labels are handled by ydim == 1) */
    m = NN_MET_COUNT;
    CU_ASSERT_EQUAL(nn_metric_parse("accuracy", NN_LOSS_SCCE, 10, &m), 0);
    CU_ASSERT_EQUAL(m, NN_MET_CAT_ACC);
    m = NN_MET_COUNT;
    CU_ASSERT_EQUAL(nn_metric_parse("acc", NN_LOSS_CCE, 10, &m), 0);
    CU_ASSERT_EQUAL(m, NN_MET_CAT_ACC);
    m = NN_MET_COUNT;
    CU_ASSERT_EQUAL(nn_metric_parse("accuracy", NN_LOSS_MSE, 3, &m), 0);
    CU_ASSERT_EQUAL(m, NN_MET_CAT_ACC);
    /* explicit names win over the loss */
    CU_ASSERT_EQUAL(nn_metric_parse("binary_accuracy", NN_LOSS_SCCE, 10, &m), 0);
    CU_ASSERT_EQUAL(m, NN_MET_BINARY_ACC);
    CU_ASSERT_EQUAL(nn_metric_parse("categorical_accuracy", NN_LOSS_BCE, 1, &m), 0);
    CU_ASSERT_EQUAL(m, NN_MET_CAT_ACC);
    m = NN_MET_COUNT;
    CU_ASSERT_EQUAL(nn_metric_parse("sparse_categorical_accuracy", NN_LOSS_SCCE, 10, &m), 0);
    CU_ASSERT_EQUAL(m, NN_MET_CAT_ACC);
    CU_ASSERT_EQUAL(nn_metric_parse("mse", NN_LOSS_MSE, 1, &m), 0);
    CU_ASSERT_EQUAL(m, NN_MET_MSE);
    CU_ASSERT_EQUAL(nn_metric_parse("mean_absolute_error", NN_LOSS_MSE, 1, &m), 0);
    CU_ASSERT_EQUAL(m, NN_MET_MAE);
    CU_ASSERT_EQUAL(nn_metric_parse("mean_squared_error", NN_LOSS_MAE, 1, &m), 0);
    CU_ASSERT_EQUAL(m, NN_MET_MSE);
    CU_ASSERT_EQUAL(nn_metric_parse("mae", NN_LOSS_MSE, 1, &m), 0);
    CU_ASSERT_EQUAL(m, NN_MET_MAE);
    /* unknown */
    CU_ASSERT_EQUAL(nn_metric_parse("f1_score", NN_LOSS_BCE, 1, &m), -1);
    CU_ASSERT_EQUAL(nn_metric_parse("", NN_LOSS_BCE, 1, &m), -1);
    CU_ASSERT_EQUAL(nn_metric_parse(NULL, NN_LOSS_BCE, 1, &m), -1);
}

static void test_metric_binary(void)
{
    /* K=1, threshold 0.5 (strictly greater counts as 1):
     * 0.5->0 vs 0 ok; 0.500001->1 vs 1 ok; 0.2->0 vs 0 ok; 0.9->1 vs 0 no;
     * 0.49->0 vs 1 no: 3 correct. */
    float out[5] = {0.5f, 0.500001f, 0.2f, 0.9f, 0.49f}, y[5] = {0, 1, 0, 0, 1};
    CLOSE(metric_sum(NN_MET_BINARY_ACC, out, y, 5, 1, 1), 3.0, 1e-12);
    /* K=2: per-sample mean: {0.6, 0.4} vs {1, 1} -> 1/2; {0.6, 0.6} -> 1; sum 1.5 */
    float o2[4] = {0.6f, 0.4f, 0.6f, 0.6f}, y2[4] = {1, 1, 1, 1};
    CLOSE(metric_sum(NN_MET_BINARY_ACC, o2, y2, 2, 2, 2), 1.5, 1e-12);
}

static void test_metric_categorical(void)
{
    /* rows: a tie {0.4, 0.4, 0.2} (argmax = first = 0) twice, then {0.1, 0.2, 0.7} */
    float out[9] = {0.4f, 0.4f, 0.2f, 0.4f, 0.4f, 0.2f, 0.1f, 0.2f, 0.7f};
    /* one-hot: class 1 (tie lost) no; class 0 yes; class 2 yes: 2 */
    float onehot[9] = {0, 1, 0, 1, 0, 0, 0, 0, 1};
    CLOSE(metric_sum(NN_MET_CAT_ACC, out, onehot, 3, 3, 3), 2.0, 1e-12);
    /* labels {1, 0, 2}: same 2 */
    float labels[3] = {1, 0, 2};
    CLOSE(metric_sum(NN_MET_CAT_ACC, out, labels, 3, 3, 1), 2.0, 1e-12);
    /* labels out of range or not integer never match and never crash */
    float odd[3] = {7, -1, 2.5f};
    CLOSE(metric_sum(NN_MET_CAT_ACC, out, odd, 3, 3, 1), 0.0, 1e-12);
    /* labels {0, 0, 2}: 3 */
    float all[3] = {0, 0, 2};
    CLOSE(metric_sum(NN_MET_CAT_ACC, out, all, 3, 3, 1), 3.0, 1e-12);
}

int main(void)
{
    static const tu_test tests[] = {
        {"gradient: mse/mae", test_grad_regression},
        {"gradient: bce fused/unfused", test_grad_bce},
        {"gradient: cce/scce fused/unfused", test_grad_categorical},
        {"from_logits: gradient, values, extremes", test_logits},
        {"values: mse/mae", test_values_regression},
        {"values: bce", test_values_bce},
        {"values: cce/scce", test_values_categorical},
        {"bad targets", test_bad_targets},
        {"saturated logits", test_saturated},
        {"loss names", test_loss_parse},
        {"metric resolution", test_metric_parse},
        {"metric binary accuracy", test_metric_binary},
        {"metric categorical accuracy", test_metric_categorical},
        {NULL, NULL},
    };
    return tu_main("loss", tests);
}
