/* Attribution maps (nntrain/attribution.h): saliency, gradient x input,
 * integrated gradients and Grad-CAM against PyTorch autograd on the same
 * weights (scripts/gen_explain_fixtures.py); Ancona et al.'s identities on
 * ReLU networks without biases (eLRP with a tiny epsilon and DeepLIFT with a
 * zero baseline equal gradient x input), for a chain and a graph model;
 * integrated gradients' completeness; the input gradient of a graph model
 * with smooth activations against central differences; occlusion against a
 * direct loop of masked predictions; Shapley sampling's efficiency (each
 * permutation's deltas add up to f(x) - f(0)); the sign of a single sigmoid's
 * class 0; and the refusals. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "golden_util.h"
#include "nntrain/attribution.h"

static const gu_fixture FX = {NN_FIXTURES_DIR "/golden_explain.h5", "gen_explain_fixtures.py"};

static void opts(nn_attr_opts *o)
{
    nn_attr_opts_defaults(o);
    o->batch = 3;   /* several chunks, a short last one */
}

static int build(const char *spec, nn_model *m, int threads)
{
    nn_error e = {0};
    int rc = tu_build(spec, m, &e);
    if (rc) {
        fprintf(stderr, "%s\n", e.msg);
        return rc;
    }
    nn_model_init_params(m, 7);
    if (threads > 1 && (rc = nn_model_set_threads(m, threads, &e)))
        fprintf(stderr, "%s\n", e.msg);
    return rc;
}

/* The model's outputs for x (n rows) into out (n, K). */
static void outputs(nn_model *m, const float *x, int n, float *out)
{
    nn_error e = {0};
    nn_ctx ctx = {0};
    CU_ASSERT_FATAL(nn_model_plan(m, n, &e) == NN_OK);
    memcpy(out, nn_model_forward(m, x, n, &ctx), (size_t)n * nn_model_out_size(m) * sizeof *out);
}

static double abs_sum(const float *v, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += fabs(v[i]);
    return s;
}

static void run_method(nn_model *m, nn_attr_method meth, const nn_attr_opts *o, const float *x,
                       int *cls, int n, float *out)
{
    nn_error e = {0};
    int rc = nn_attribute(m, meth, o, x, cls, NULL, n, out, NULL, &e);
    if (rc)
        fprintf(stderr, "%s: %s\n", nn_attr_names[meth], e.msg);
    CU_ASSERT_FATAL(rc == NN_OK);
}

static void t_golden(void)
{
    hid_t f = gu_open(&FX);
    CU_ASSERT_FATAL(f >= 0);
    int nd, threads[] = {1, 2};
    hsize_t dims[4];
    size_t nx, np, n;
    char *spec = gu_attr_str(f, "spec");
    float *x = gu_read_f32(f, "x", &nd, dims, &nx);
    float *p = gu_read_f32(f, "params", &nd, dims, &np);
    float *wc = gu_read_f32(f, "cls", &nd, dims, &n);
    CU_ASSERT_FATAL(spec && x && p && wc);
    int N = (int)n;
    float *got = malloc(nx * sizeof *got), *cam = malloc((size_t)N * 64 * sizeof *cam);
    for (int ti = 0; ti < 2; ti++) {
        nn_model m;
        CU_ASSERT_FATAL(build(spec, &m, threads[ti]) == NN_OK);
        CU_ASSERT_FATAL(m.nparams == np);
        memcpy(m.params, p, np * sizeof *p);
        static const nn_attr_method meths[] = {NN_ATTR_SALIENCY, NN_ATTR_GRAD_INPUT,
                                               NN_ATTR_INTEGRATED, NN_ATTR_GRADCAM};
        for (int k = 0; k < 4; k++) {
            nn_attr_opts o;
            opts(&o);
            int cls[8];
            for (int i = 0; i < N; i++)
                cls[i] = -1;
            run_method(&m, meths[k], &o, x, cls, N, got);
            for (int i = 0; i < N; i++)
                CU_ASSERT(cls[i] == (int)wc[i]);
            const char *name = nn_attr_names[meths[k]];
            float *want = gu_read_f32(f, name, &nd, dims, &n);
            CU_ASSERT_FATAL(want != NULL);
            if (meths[k] == NN_ATTR_GRADCAM) {   /* the map is spread over the channels */
                for (size_t q = 0; q < (size_t)N * 64; q++)
                    cam[q] = got[3 * q] + got[3 * q + 1] + got[3 * q + 2];
                gu_compare("golden", name, cam, want, n, 1e-5);
            } else {
                gu_compare("golden", name, got, want, n, 1e-5);
            }
            CU_ASSERT(abs_sum(want, n) > 0);
            free(want);
        }
        nn_model_free(&m);
    }
    free(got);
    free(cam);
    free(spec);
    free(x);
    free(p);
    free(wc);
    gu_close_file(f);
}

/* Ancona et al.: on a ReLU network without biases, eLRP (epsilon -> 0) and
 * DeepLIFT Rescale with a zero baseline are gradient x input. */
static void identities(const char *spec)
{
    nn_model m;
    CU_ASSERT_FATAL(build(spec, &m, 2) == NN_OK);
    int N = 5;
    size_t in = nn_model_in_size(&m);
    float *x = malloc((size_t)N * in * sizeof *x), *gi = malloc((size_t)N * in * sizeof *x),
          *a = malloc((size_t)N * in * sizeof *x);
    tu_fill_uniform(x, (size_t)N * in, 3, -1.0f, 1.0f);
    int cls[5] = {0, 1, 2, 1, 0};
    nn_attr_opts o;
    opts(&o);
    run_method(&m, NN_ATTR_GRAD_INPUT, &o, x, cls, N, gi);
    CU_ASSERT(abs_sum(gi, (size_t)N * in) > 0);
    o.epsilon = 1e-9f;
    run_method(&m, NN_ATTR_ELRP, &o, x, cls, N, a);
    gu_compare("relu_nobias", "elrp", a, gi, (size_t)N * in, 1e-4);
    run_method(&m, NN_ATTR_DEEPLIFT, &o, x, cls, N, a);
    gu_compare("relu_nobias", "deeplift", a, gi, (size_t)N * in, 1e-4);
    /* the identities need the ReLU: with a large epsilon eLRP differs */
    o.epsilon = 10.0f;
    run_method(&m, NN_ATTR_ELRP, &o, x, cls, N, a);
    long bad;
    tu_max_diff(a, gi, (size_t)N * in, 1e-3, &bad);
    CU_ASSERT(bad >= 0);
    free(x);
    free(gi);
    free(a);
    nn_model_free(&m);
}

static void t_identities_chain(void)
{
    identities("Conv2D(4, (3, 3), activation=\"relu\", use_bias=False, input_shape=(8, 8, 3))\n"
               "MaxPooling2D((2, 2))\n"
               "Flatten()\n"
               "Dense(6, activation=\"relu\", use_bias=False)\n"
               "Dense(3, use_bias=False)\n");
}

static void t_identities_graph(void)
{
    identities("inputs = Input(shape=(6, 6, 2))\n"
               "a = Conv2D(3, 3, padding=\"same\", activation=\"relu\", use_bias=False)(inputs)\n"
               "b = Conv2D(3, 3, padding=\"same\", use_bias=False)(a)\n"
               "b = ReLU()(b)\n"
               "x = add([a, b])\n"
               "x = Activation(\"relu\")(x)\n"
               "x = Flatten()(x)\n"
               "outputs = Dense(3, use_bias=False)(x)\n"
               "model = Model(inputs=inputs, outputs=outputs)\n");
}

static const char *LINEAR_CNN =
    "Conv2D(4, (3, 3), activation=\"relu\", input_shape=(8, 8, 3), bias_initializer=\"ones\")\n"
    "MaxPooling2D((2, 2))\n"
    "Flatten()\n"
    "Dense(8, activation=\"tanh\")\n"
    "Dense(3)\n";

static void t_ig_completeness(void)
{
    nn_model m;
    CU_ASSERT_FATAL(build(LINEAR_CNN, &m, 1) == NN_OK);
    int N = 4;
    size_t in = nn_model_in_size(&m);
    float *x = malloc((size_t)N * in * sizeof *x), *a = malloc((size_t)N * in * sizeof *x);
    float *z = calloc((size_t)N * in, sizeof *z), f1[12], f0[12];
    tu_fill_uniform(x, (size_t)N * in, 11, 0.0f, 1.0f);
    int cls[4] = {-1, -1, 2, 0};
    nn_attr_opts o;
    opts(&o);
    run_method(&m, NN_ATTR_INTEGRATED, &o, x, cls, N, a);
    outputs(&m, x, N, f1);
    outputs(&m, z, N, f0);
    for (int i = 0; i < N; i++) {
        double s = 0, want = (double)f1[i * 3 + cls[i]] - f0[i * 3 + cls[i]];
        for (size_t q = 0; q < in; q++)
            s += a[(size_t)i * in + q];
        printf("\n    completeness row %d: sum %.6g, f(x) - f(0) %.6g", i, s, want);
        CU_ASSERT(fabs(want) > 1e-3);
        CU_ASSERT(fabs(s - want) <= 0.01 * fabs(want));
    }
    free(x);
    free(a);
    free(z);
    nn_model_free(&m);
}

/* gradient x input / x against central differences of the output (3
 * outputs, 2 rows). */
static void gradient_fd(const char *spec, int threads)
{
    nn_model m;
    CU_ASSERT_FATAL(build(spec, &m, threads) == NN_OK);
    int N = 2, cls[2] = {1, 2}, in = (int)nn_model_in_size(&m);
    float x[2 * 64], a[2 * 64], xp[2 * 64], fp[6], fm[6];
    CU_ASSERT_FATAL(in <= 64);
    tu_fill_uniform(x, (size_t)(N * in), 5, 0.2f, 1.0f);
    nn_attr_opts o;
    opts(&o);
    run_method(&m, NN_ATTR_GRAD_INPUT, &o, x, cls, N, a);
    double nsum = 0;
    for (int q = 0; q < N * in; q++) {
        const float h = 1e-2f;
        memcpy(xp, x, sizeof xp);
        xp[q] = x[q] + h;
        outputs(&m, xp, N, fp);
        xp[q] = x[q] - h;
        outputs(&m, xp, N, fm);
        int r = q / in;
        double num = ((double)fp[r * 3 + cls[r]] - fm[r * 3 + cls[r]]) / (2.0 * h);
        double an = (double)a[q] / x[q];
        nsum += fabs(num);
        CU_ASSERT(fabs(an - num) <= 1e-2 * fmax(1.0, fmax(fabs(an), fabs(num))));
    }
    CU_ASSERT(nsum > 0);
    nn_model_free(&m);
}

static void t_gradient_fd(void)
{
    gradient_fd("inputs = Input(shape=(5,))\n"
                "a = Dense(6, activation=\"tanh\")(inputs)\n"
                "b = Dense(6)(a)\n"
                "b = Activation(\"sigmoid\")(b)\n"
                "c = Dense(6, activation=\"elu\")(inputs)\n"
                "x = add([a, b, c])\n"
                "x = Dense(4, activation=\"softplus\")(x)\n"
                "outputs = Dense(3)(x)\n"
                "model = Model(inputs=inputs, outputs=outputs)\n", 2);
}

/* BatchNormalization in inference (moving statistics; one thread) and a
 * global pooling. */
static void t_gradient_fd_bn(void)
{
    gradient_fd("Conv2D(3, (2, 2), activation=\"tanh\", input_shape=(4, 4, 2))\n"
                "BatchNormalization(beta_initializer=\"ones\",\n"
                "                   moving_variance_initializer=\"ones\")\n"
                "Activation(\"sigmoid\")\n"
                "GlobalAveragePooling2D()\n"
                "Dense(3)\n", 2);
}

static void t_occlusion(void)
{
    nn_model m;
    CU_ASSERT_FATAL(build(LINEAR_CNN, &m, 2) == NN_OK);
    const int H = 8, W = 8, C = 3, win = 3, st = 2, N = 2;
    size_t in = 192;
    float *x = malloc(N * in * sizeof *x), *a = malloc(N * in * sizeof *x);
    float *mx = malloc(in * sizeof *x), *want = malloc(N * in * sizeof *x);
    tu_fill_uniform(x, N * in, 21, 0.0f, 1.0f);
    int cls[2] = {0, 2};
    nn_attr_opts o;
    opts(&o);
    o.window = win;
    o.step = st;
    run_method(&m, NN_ATTR_OCCLUSION, &o, x, cls, N, a);
    for (int i = 0; i < N; i++) {
        double heat[192] = {0}, cnt[192] = {0};
        float f0[3], f[3];
        outputs(&m, x + i * in, 1, f0);
        for (int py = 0; py + win <= H; py += st)
            for (int px = 0; px + win <= W; px += st) {
                memcpy(mx, x + i * in, in * sizeof *mx);
                for (int h = py; h < py + win; h++)
                    for (int w = px; w < px + win; w++)
                        for (int c = 0; c < C; c++)
                            mx[(h * W + w) * C + c] = 0;
                outputs(&m, mx, 1, f);
                for (int h = py; h < py + win; h++)
                    for (int w = px; w < px + win; w++)
                        for (int c = 0; c < C; c++) {
                            heat[(h * W + w) * C + c] += f0[cls[i]] - f[cls[i]];
                            cnt[(h * W + w) * C + c] += win * win * C;
                        }
            }
        for (size_t q = 0; q < in; q++)
            want[i * in + q] = cnt[q] > 0 ? (float)(heat[q] / cnt[q]) : 0.0f;
    }
    CU_ASSERT(abs_sum(want, N * in) > 0);
    gu_compare("occlusion", "loop", a, want, N * in, 1e-5);
    free(x);
    free(a);
    free(mx);
    free(want);
    nn_model_free(&m);
}

static void t_shapley_efficiency(void)
{
    nn_model m;
    CU_ASSERT_FATAL(build(LINEAR_CNN, &m, 2) == NN_OK);
    size_t in = 192;
    float *x = malloc(in * sizeof *x), *a = malloc(in * sizeof *x);
    float *z = calloc(in, sizeof *z), f1[3], f0[3];
    tu_fill_uniform(x, in, 23, 0.0f, 1.0f);
    int cls[1] = {1};
    nn_attr_opts o;
    opts(&o);
    o.samples = 2;
    o.batch = 7;
    run_method(&m, NN_ATTR_SHAPLEY, &o, x, cls, 1, a);
    outputs(&m, x, 1, f1);
    outputs(&m, z, 1, f0);
    double s = 0, want = (double)f1[1] - f0[1];
    for (size_t q = 0; q < in; q++)
        s += a[q];
    printf("\n    shapley sum %.6g, f(x) - f(0) %.6g", s, want);
    CU_ASSERT(fabs(want) > 1e-3);
    CU_ASSERT(fabs(s - want) <= 1e-4 * fmax(1.0, fabs(want)));
    free(x);
    free(a);
    free(z);
    nn_model_free(&m);
}

static void t_sigmoid_sign(void)
{
    nn_model m;
    CU_ASSERT_FATAL(build("Dense(4, activation=\"relu\", input_shape=(6,))\n"
                          "Dense(1, activation=\"sigmoid\")\n", &m, 1) == NN_OK);
    CU_ASSERT(nn_attr_classes(&m) == 2);
    float x[6], a0[6], a1[6];
    tu_fill_uniform(x, 6, 9, 0.0f, 1.0f);
    int c0 = 0, c1 = 1, bad = 2;
    nn_attr_opts o;
    opts(&o);
    float before[1], after[1];
    outputs(&m, x, 1, before);
    CU_ASSERT(before[0] > 0 && before[0] < 1);
    run_method(&m, NN_ATTR_GRAD_INPUT, &o, x, &c0, 1, a0);
    run_method(&m, NN_ATTR_GRAD_INPUT, &o, x, &c1, 1, a1);
    outputs(&m, x, 1, after);   /* the activations are the model's again */
    CU_ASSERT(before[0] == after[0]);
    for (int q = 0; q < 6; q++)
        CU_ASSERT(a0[q] == -a1[q]);
    CU_ASSERT(abs_sum(a1, 6) > 0);
    nn_error e = {0};
    CU_ASSERT(nn_attribute(&m, NN_ATTR_SALIENCY, &o, x, &bad, NULL, 1, a0, NULL, &e) == NN_EINVAL);
    CU_ASSERT(tu_contains(e.msg, "class 2 is out of range: the model has 2 classes"));
    nn_model_free(&m);
}

static void t_refusals(void)
{
    nn_model m;
    CU_ASSERT_FATAL(build("Embedding(10, 4, input_length=3)\nFlatten()\nDense(2)\n", &m, 1) ==
                    NN_OK);
    nn_error e = {0};
    CU_ASSERT(nn_attr_check(&m, &e) == NN_EINVAL);
    CU_ASSERT(tu_contains(e.msg, "integer ids"));
    nn_model_free(&m);
    CU_ASSERT_FATAL(build("Dense(4, input_shape=(6,))\nDense(2)\n", &m, 1) == NN_OK);
    int layer;
    CU_ASSERT(nn_attr_find_layer(&m, NULL, &layer, &e) == NN_EINVAL);
    CU_ASSERT(tu_contains(e.msg, "no Conv2D layer"));
    nn_attr_method meth;
    CU_ASSERT(nn_attr_parse("deeplift", &meth) == 0 && meth == NN_ATTR_DEEPLIFT);
    CU_ASSERT(nn_attr_parse("lime", &meth) == -1);
    nn_model_free(&m);
}

int main(void)
{
    static const tu_test tests[] = {
        {"golden_torch", t_golden},
        {"identities_chain", t_identities_chain},
        {"identities_graph", t_identities_graph},
        {"ig_completeness", t_ig_completeness},
        {"gradient_fd_graph", t_gradient_fd},
        {"gradient_fd_batchnorm", t_gradient_fd_bn},
        {"occlusion_loop", t_occlusion},
        {"shapley_efficiency", t_shapley_efficiency},
        {"sigmoid_sign", t_sigmoid_sign},
        {"refusals", t_refusals},
        {NULL, NULL},
    };
    return tu_main("attribution", tests);
}
