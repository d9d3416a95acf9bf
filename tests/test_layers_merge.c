/* The merge layers Add, Subtract, Multiply, Average, Maximum, Minimum and
 * Concatenate on their own (the model builder wires their inputs): registry
 * names (Keras, R, the functional add/concatenate), Keras shapes and axes; by
 * hand, ties of Maximum/Minimum (the first input wins, as TensorFlow's
 * gradient), Multiply's gradient with a zero input, backward overwriting
 * every dx element and leaving dy alone; finite-difference checks of every
 * kind on 2 and 3 inputs and of Concatenate on each axis; forward and
 * backward against tests/fixtures/golden_merge.h5, which
 * scripts/gen_fixtures_merge.py computed with PyTorch; configure errors. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden_util.h"
#include "gradcheck.h"
#include "nntrain/layer.h"
#include "testutil.h"

extern const nn_layer_ops nn_add_ops, nn_subtract_ops, nn_multiply_ops, nn_average_ops,
    nn_maximum_ops, nn_minimum_ops, nn_concatenate_ops;

static const gu_fixture FX = {NN_FIXTURES_DIR "/golden_merge.h5", "gen_fixtures_merge.py"};

/* A merge layer from one spec line on nin inputs, named "t" and configured:
 * as the model builder will leave it (nin, inp, ins, in == ins[0]). */
static int make_merge(const char *text, int nin, const nn_shape *ins, nn_layer *l, nn_error *e)
{
    nn_spec s;
    nn_shape ish;
    int has;
    memset(l, 0, sizeof *l);
    memset(e, 0, sizeof *e);
    int rc = nn_spec_parse(text, "<test>", &s, e);
    if (rc)
        return rc;
    rc = nn_layer_create(l, &s.calls[0], &ish, &has, e);
    nn_spec_free(&s);
    if (rc)
        return rc;
    snprintf(l->name, sizeof l->name, "t");
    l->nin = nin;
    for (int k = 0; k < nin; k++) {
        l->inp[k] = k - 1;
        l->ins[k] = ins[k];
    }
    l->in = ins[0];
    rc = l->ops->configure(l, e);
    if (rc)
        nn_layer_destroy(l);
    return rc;
}

static nn_shape shp(int n, int a, int b, int c)
{
    nn_shape s = {n, {a, b, c, 0}};
    return s;
}

static void expect_out(const char *call, int nin, const nn_shape *ins, nn_shape out)
{
    nn_layer l;
    nn_error e;
    int rc = make_merge(call, nin, ins, &l, &e);
    if (rc)
        printf("\n  %s: %s\n", call, e.msg);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    char a[64], b[64];
    if (!nn_shape_eq(&l.out, &out))
        printf("\n  %s: out %s, expected %s\n", call, nn_shape_str(&l.out, a, sizeof a),
               nn_shape_str(&out, b, sizeof b));
    CU_ASSERT(nn_shape_eq(&l.out, &out));
    CU_ASSERT_EQUAL(l.param_len, 0);
    CU_ASSERT_PTR_NOT_NULL(l.ops->merge);
    CU_ASSERT_PTR_NULL(l.ops->forward);   /* the executor tells merges by these */
    CU_ASSERT_PTR_NULL(l.ops->backward);
    nn_layer_destroy(&l);
}

static void expect_err(const char *call, int nin, const nn_shape *ins, int code,
                       const char *sub1, const char *sub2)
{
    nn_layer l;
    nn_error e;
    int rc = make_merge(call, nin, ins, &l, &e);
    if (rc != code)
        printf("\n  %s: expected code %d, got %d (%s)\n", call, code, rc, e.msg);
    CU_ASSERT_EQUAL(rc, code);
    CU_ASSERT(tu_contains(e.msg, sub1));
    if (sub2)
        CU_ASSERT(tu_contains(e.msg, sub2));
    if (rc == 0)
        nn_layer_destroy(&l);
}

/* ---- names and shapes ------------------------------------------------------ */

static void test_registry(void)
{
    static const struct {
        const char *name;
        const nn_layer_ops *ops;
        const char *kind;
    } names[] = {
        {"Add", &nn_add_ops, "Add"},
        {"layer_add", &nn_add_ops, NULL},
        {"add", &nn_add_ops, NULL},
        {"Subtract", &nn_subtract_ops, "Subtract"},
        {"layer_subtract", &nn_subtract_ops, NULL},
        {"subtract", &nn_subtract_ops, NULL},
        {"Multiply", &nn_multiply_ops, "Multiply"},
        {"layer_multiply", &nn_multiply_ops, NULL},
        {"multiply", &nn_multiply_ops, NULL},
        {"Average", &nn_average_ops, "Average"},
        {"layer_average", &nn_average_ops, NULL},
        {"average", &nn_average_ops, NULL},
        {"Maximum", &nn_maximum_ops, "Maximum"},
        {"layer_maximum", &nn_maximum_ops, NULL},
        {"maximum", &nn_maximum_ops, NULL},
        {"Minimum", &nn_minimum_ops, "Minimum"},
        {"layer_minimum", &nn_minimum_ops, NULL},
        {"minimum", &nn_minimum_ops, NULL},
        {"Concatenate", &nn_concatenate_ops, "Concatenate"},
        {"layer_concatenate", &nn_concatenate_ops, NULL},
        {"concatenate", &nn_concatenate_ops, NULL},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        CU_ASSERT_PTR_EQUAL(nn_layer_find(names[i].name), names[i].ops);
        if (names[i].kind) {
            CU_ASSERT_STRING_EQUAL(names[i].ops->kind, names[i].kind);
            CU_ASSERT(tu_contains(nn_layer_known(), names[i].kind));
        }
    }
    CU_ASSERT_PTR_NULL(nn_layer_find("ADD"));   /* case-sensitive, as Keras */
    CU_ASSERT_EQUAL(nn_add_ops.merge->min_inputs, 2);
    CU_ASSERT_EQUAL(nn_subtract_ops.merge->min_inputs, 2);
    CU_ASSERT_EQUAL(nn_concatenate_ops.merge->min_inputs, 1);
    /* the R names are offered for "did you mean" */
    int found = 0;
    for (int i = 0; nn_layer_name_at(i, 1); i++)
        found += !strcmp(nn_layer_name_at(i, 1), "layer_concatenate") ||
                 !strcmp(nn_layer_name_at(i, 1), "layer_add");
    CU_ASSERT_EQUAL(found, 2);
}

static void test_shapes(void)
{
    const nn_shape img2[2] = {nn_shape3(4, 4, 8), nn_shape3(4, 4, 8)};
    const nn_shape vec3[3] = {nn_shape1(5), nn_shape1(5), nn_shape1(5)};
    static const char *const elementwise[] = {"Add()", "Subtract()", "Multiply()",
                                              "Average()", "Maximum()", "Minimum()"};
    for (int i = 0; i < 6; i++)
        expect_out(elementwise[i], 2, img2, nn_shape3(4, 4, 8));
    expect_out("Add(name=\"skip\", trainable=False)", 3, vec3, nn_shape1(5));
    expect_out("layer_maximum()", 3, vec3, nn_shape1(5));

    const nn_shape cat_c[3] = {nn_shape3(4, 4, 8), nn_shape3(4, 4, 3), nn_shape3(4, 4, 1)};
    expect_out("Concatenate()", 3, cat_c, nn_shape3(4, 4, 12));
    expect_out("Concatenate(axis=3)", 3, cat_c, nn_shape3(4, 4, 12));
    expect_out("Concatenate(-1)", 2, cat_c, nn_shape3(4, 4, 11));
    const nn_shape cat_h[2] = {nn_shape3(2, 5, 3), nn_shape3(6, 5, 3)};
    expect_out("Concatenate(axis=1)", 2, cat_h, nn_shape3(8, 5, 3));
    expect_out("Concatenate(axis=-3)", 2, cat_h, nn_shape3(8, 5, 3));
    const nn_shape cat_w[2] = {nn_shape3(2, 5, 3), nn_shape3(2, 1, 3)};
    expect_out("Concatenate(axis=2)", 2, cat_w, nn_shape3(2, 6, 3));
    expect_out("Concatenate(axis=-2)", 2, cat_w, nn_shape3(2, 6, 3));
    const nn_shape cat_v[2] = {nn_shape1(3), nn_shape1(7)};
    expect_out("layer_concatenate(axis = 1)", 2, cat_v, nn_shape1(10));
    const nn_shape seq[2] = {shp(2, 10, 4, 0), shp(2, 10, 6, 0)};
    expect_out("Concatenate()", 2, seq, shp(2, 10, 10, 0));
    expect_out("Concatenate()", 1, seq, seq[0]);   /* tf.keras takes a list of one */
}

/* ---- by hand ---------------------------------------------------------------- */

static void run_hand(const char *call, int nin, int n, const float *const *xs,
                     const float *want_y, const float *dy, const float *const *want_dx)
{
    nn_layer l;
    nn_error e;
    nn_shape ins[NN_MAX_INPUTS];
    for (int k = 0; k < nin; k++)
        ins[k] = nn_shape1(n);
    TU_ASSERT_OK(make_merge(call, nin, ins, &l, &e), e);
    nn_ctx ctx = {0};
    float y[16], d[16], dx[16];
    CU_ASSERT_FATAL(n <= 16);
    for (int i = 0; i < n; i++)
        y[i] = NAN;
    l.ops->merge->forward(&l, xs, y, 1, &ctx);
    tu_assert_close(call, y, want_y, (size_t)n, 0);
    memcpy(d, dy, (size_t)n * sizeof *d);
    for (int k = 0; k < nin; k++) {
        for (int i = 0; i < n; i++)
            dx[i] = NAN;   /* backward overwrites every element */
        l.ops->merge->backward(&l, k, xs, y, d, dx, 1, &ctx);
        char what[80];
        snprintf(what, sizeof what, "%s dx%d", call, k);
        tu_assert_close(what, dx, want_dx[k], (size_t)n, 0);
        tu_assert_close("dy only read", d, dy, (size_t)n, 0);
    }
    nn_layer_destroy(&l);
}

static void test_hand(void)
{
    const float a[4] = {1, -2, 3, 0}, b[4] = {2, -2, -1, 5}, c[4] = {2, 4, 3, -1};
    const float *const x2[2] = {a, b}, *const x3[3] = {a, b, c};
    const float dy[4] = {1, 2, -3, 4};
    const float dyn[4] = {-1, -2, 3, -4}, dy3[4] = {1.0f / 3, 2.0f / 3, -1, 4.0f / 3};
    const float zero[4] = {0, 0, 0, 0};

    const float add[4] = {5, 0, 5, 4};
    run_hand("Add()", 3, 4, x3, add, dy, (const float *const[]){dy, dy, dy});
    const float sub[4] = {-1, 0, 4, -5};
    run_hand("Subtract()", 2, 4, x2, sub, dy, (const float *const[]){dy, dyn});
    /* x0 = 0 at element 3: dx1 = dy * x0 * x2 = 0 there, dx0 = dy * x1 * x2
     * = 4 * 5 * -1 (no y / x0 division) */
    const float mul[4] = {4, 16, -9, 0};
    const float m0[4] = {4, -16, 9, -20}, m1[4] = {2, -16, -27, 0}, m2[4] = {2, 8, 9, 0};
    run_hand("Multiply()", 3, 4, x3, mul, dy, (const float *const[]){m0, m1, m2});
    const float avg[4] = {5.0f / 3, 0, 5.0f / 3, 4.0f / 3};
    run_hand("Average()", 3, 4, x3, avg, dy, (const float *const[]){dy3, dy3, dy3});
    /* ties at the extreme: the max's at elements 0 (b = c = 2) and 2 (a = c
     * = 3), the min's at 1 (a = b = -2); the first of the tied inputs takes
     * dy, as tf.maximum's gradient does (to a where a >= b) */
    const float max[4] = {2, 4, 3, 5};
    const float x0[4] = {0, 0, -3, 0}, x1[4] = {1, 0, 0, 4}, xc[4] = {0, 2, 0, 0};
    run_hand("Maximum()", 3, 4, x3, max, dy, (const float *const[]){x0, x1, xc});
    const float min[4] = {1, -2, -1, -1};
    const float n0[4] = {1, 2, 0, 0}, n1[4] = {0, 0, -3, 0}, n2[4] = {0, 0, 0, 4};
    run_hand("Minimum()", 3, 4, x3, min, dy, (const float *const[]){n0, n1, n2});
    /* equal inputs: all to the first */
    run_hand("Maximum()", 2, 4, (const float *const[]){a, a}, a, dy,
             (const float *const[]){dy, zero});
    run_hand("Minimum()", 2, 4, (const float *const[]){b, b}, b, dy,
             (const float *const[]){dy, zero});
}

/* Concatenate(axis=1) of (1, 2, 1) and (2, 2, 1) images, batch 2: each
 * sample is input 0's rows, then input 1's. */
static void test_hand_concat(void)
{
    nn_layer l;
    nn_error e;
    const nn_shape ins[2] = {nn_shape3(1, 2, 1), nn_shape3(2, 2, 1)};
    TU_ASSERT_OK(make_merge("Concatenate(axis=1)", 2, ins, &l, &e), e);
    const float a[4] = {1, 2, 3, 4}, b[8] = {10, 11, 12, 13, 20, 21, 22, 23};
    float y[12], dx0[4], dx1[8];
    nn_ctx ctx = {0};
    l.ops->merge->forward(&l, (const float *const[]){a, b}, y, 2, &ctx);
    const float want[12] = {1, 2, 10, 11, 12, 13, 3, 4, 20, 21, 22, 23};
    tu_assert_close("concat axis 1", y, want, 12, 0);
    float dy[12];
    for (int i = 0; i < 12; i++)
        dy[i] = (float)(i + 1);
    l.ops->merge->backward(&l, 0, NULL, NULL, dy, dx0, 2, &ctx);   /* reads neither */
    l.ops->merge->backward(&l, 1, NULL, NULL, dy, dx1, 2, &ctx);
    const float w0[4] = {1, 2, 7, 8}, w1[8] = {3, 4, 5, 6, 9, 10, 11, 12};
    tu_assert_close("concat axis 1 dx0", dx0, w0, 4, 0);
    tu_assert_close("concat axis 1 dx1", dx1, w1, 8, 0);
    nn_layer_destroy(&l);

    /* the channels of a (1, 2, C) image, interleaved per pixel */
    const nn_shape inc[2] = {nn_shape3(1, 2, 1), nn_shape3(1, 2, 2)};
    TU_ASSERT_OK(make_merge("Concatenate()", 2, inc, &l, &e), e);
    const float p[2] = {1, 2}, q[4] = {10, 11, 20, 21};
    l.ops->merge->forward(&l, (const float *const[]){p, q}, y, 1, &ctx);
    const float wc[6] = {1, 10, 11, 2, 20, 21};
    tu_assert_close("concat channels", y, wc, 6, 0);
    nn_layer_destroy(&l);
}

/* ---- gradient checks ----------------------------------------------------------- */

static void test_gc_elementwise(void)
{
    static const char *const kinds[] = {"Add()", "Subtract()", "Multiply()", "Average()",
                                        "Maximum()", "Minimum()"};
    const nn_shape img[3] = {nn_shape3(3, 2, 4), nn_shape3(3, 2, 4), nn_shape3(3, 2, 4)};
    const nn_shape vec[3] = {nn_shape1(7), nn_shape1(7), nn_shape1(7)};
    for (int i = 0; i < 6; i++) {
        int distinct = i >= 4;   /* Maximum, Minimum: away from ties */
        gc_merge_ok(kinds[i], 2, img, 3, distinct, 40 + (uint64_t)i);
        if (i != 1)   /* Subtract takes exactly 2 */
            gc_merge_ok(kinds[i], 3, vec, 2, distinct, 50 + (uint64_t)i);
    }
    const nn_shape vec4[4] = {nn_shape1(5), nn_shape1(5), nn_shape1(5), nn_shape1(5)};
    gc_merge_ok("Maximum()", 4, vec4, 3, 1, 61);
    gc_merge_ok("Multiply()", 4, vec4, 2, 0, 62);
}

static void test_gc_concat(void)
{
    const nn_shape last[3] = {nn_shape3(3, 2, 4), nn_shape3(3, 2, 1), nn_shape3(3, 2, 3)};
    gc_merge_ok("Concatenate()", 2, last, 2, 0, 70);
    gc_merge_ok("Concatenate(axis=-1)", 3, last, 3, 0, 71);
    const nn_shape rows[3] = {nn_shape3(2, 3, 2), nn_shape3(1, 3, 2), nn_shape3(4, 3, 2)};
    gc_merge_ok("Concatenate(axis=1)", 2, rows, 2, 0, 72);
    gc_merge_ok("Concatenate(axis=1)", 3, rows, 3, 0, 73);
    const nn_shape cols[2] = {nn_shape3(2, 3, 2), nn_shape3(2, 2, 2)};
    gc_merge_ok("Concatenate(axis=2)", 2, cols, 2, 0, 74);
    const nn_shape vec[3] = {nn_shape1(4), nn_shape1(1), nn_shape1(6)};
    gc_merge_ok("Concatenate()", 3, vec, 3, 0, 75);
    gc_merge_ok("Concatenate()", 1, vec, 2, 0, 76);
}

/* ---- PyTorch fixture ------------------------------------------------------------- */

static void golden_case(const char *cs)
{
    hid_t f = gu_open(&FX), g = -1;
    nn_spec s;
    int have_spec = 0, have_layer = 0, nin = 0;
    nn_layer l;
    nn_error e = {0};
    char *call = NULL;
    float *xs[NN_MAX_INPUTS] = {0}, *wdx[NN_MAX_INPUTS] = {0}, *wy = NULL, *dy = NULL;
    float *y = NULL, *dx = NULL;
    size_t nx[NN_MAX_INPUTS], ny = 0, n;
    int nd, B = 0;
    hsize_t dims[4];
    REQUIRE(f >= 0, "no fixture");
    REQUIRE((g = H5Gopen2(f, cs, H5P_DEFAULT)) >= 0, "%s: no such case", cs);
    REQUIRE((call = gu_attr_str(g, "call")), "%s: no call", cs);
    REQUIRE(!nn_spec_parse(call, "<fixture>", &s, &e), "%s: %s", call, e.msg);
    have_spec = 1;
    nn_shape ins[NN_MAX_INPUTS];
    for (char name[8]; nin < NN_MAX_INPUTS; nin++) {
        snprintf(name, sizeof name, "x%d", nin);
        if (gu_exists(g, name) != 1)
            break;
        REQUIRE((xs[nin] = gu_read_f32(g, name, &nd, dims, &nx[nin])) && nd >= 2, "%s", name);
        snprintf(name, sizeof name, "dx%d", nin);
        REQUIRE((wdx[nin] = gu_read_f32(g, name, &nd, dims, &n)) && n == nx[nin], "%s", name);
        B = (int)dims[0];
        ins[nin].n = nd - 1;
        for (int i = 1; i < nd; i++)
            ins[nin].d[i - 1] = (int)dims[i];
    }
    REQUIRE(nin > 0, "%s: no inputs", cs);
    REQUIRE(!make_merge(call, nin, ins, &l, &e), "%s: %s", call, e.msg);
    have_layer = 1;
    REQUIRE((wy = gu_read_f32(g, "y", &nd, dims, &ny)), "y");
    REQUIRE(ny == nn_shape_size(&l.out) * (size_t)B, "%s: y has %zu elements", cs, ny);
    REQUIRE((dy = gu_read_f32(g, "dy", &nd, dims, &n)) && n == ny, "dy");
    REQUIRE((y = malloc(ny * sizeof *y)), "memory");
    gu_nan_fill(y, ny);
    nn_ctx ctx = {0};
    l.ops->merge->forward(&l, (const float *const *)xs, y, B, &ctx);
    gu_compare(cs, "y", y, wy, ny, GU_TOL);
    for (int k = 0; k < nin; k++) {
        char what[8];
        free(dx);
        REQUIRE((dx = malloc(nx[k] * sizeof *dx)), "memory");
        gu_nan_fill(dx, nx[k]);
        l.ops->merge->backward(&l, k, (const float *const *)xs, y, dy, dx, B, &ctx);
        snprintf(what, sizeof what, "dx%d", k);
        gu_compare(cs, what, dx, wdx[k], nx[k], GU_TOL);
    }
done:
    printf("\n");
    for (int k = 0; k < NN_MAX_INPUTS; k++)
        free(xs[k]), free(wdx[k]);
    free(wy), free(dy), free(y), free(dx), free(call);
    if (have_layer)
        nn_layer_destroy(&l);
    if (have_spec)
        nn_spec_free(&s);
    gu_close_group(g);
    gu_close_file(f);
}

static const char *const golden_cases[] = {
    "add_2",      "add_3",        "subtract",     "multiply_2",  "multiply_3", "average_2",
    "average_3",  "maximum_2",    "maximum_3",    "minimum_3",   "r_add",      "concat_last",
    "concat_axis1", "concat_axis2", "concat_neg3", "concat_1d", "concat_one",
};
#define N_GOLDEN (int)(sizeof golden_cases / sizeof golden_cases[0])

static void test_golden(void)
{
    for (int i = 0; i < N_GOLDEN; i++)
        golden_case(golden_cases[i]);
    gu_fixture_complete(&FX, "test_layers_merge.c", N_GOLDEN);
}

/* ---- errors ---------------------------------------------------------------------- */

static void test_errors(void)
{
    const nn_shape img[3] = {nn_shape3(4, 4, 16), nn_shape3(4, 4, 8), nn_shape3(4, 4, 16)};
    /* no broadcasting: both shapes named */
    expect_err("Add()", 2, img, NN_ESHAPE, "Add 't': input 1 has shape (None, 4, 4, 8)",
               "input 0 has (None, 4, 4, 16)");
    expect_err("Add()", 2, img, NN_ESHAPE, "does not broadcast", NULL);
    const nn_shape bc[2] = {nn_shape3(4, 4, 16), nn_shape3(1, 1, 16)};
    expect_err("Multiply()", 2, bc, NN_ESHAPE, "(None, 1, 1, 16)", "(None, 4, 4, 16)");
    const nn_shape rank[2] = {nn_shape1(16), shp(2, 1, 16, 0)};
    expect_err("Maximum()", 2, rank, NN_ESHAPE, "input 1 has shape (None, 1, 16)",
               "Maximum 't'");
    const nn_shape three[3] = {nn_shape3(4, 4, 16), nn_shape3(4, 4, 16), nn_shape3(4, 4, 8)};
    expect_err("Average()", 3, three, NN_ESHAPE, "input 2 has shape (None, 4, 4, 8)", NULL);
    expect_err("Subtract()", 3, three, NN_EINVAL, "Subtract 't': takes exactly 2 inputs",
               "found 3");
    expect_err("Subtract()", 1, three, NN_EINVAL, "exactly 2 inputs", "found 1");
    expect_err("Add()", 1, three, NN_EINVAL, "Add 't': merges a list of 2 to", "found 1");
    expect_err("Minimum()", 1, three, NN_EINVAL, "found 1", NULL);

    const nn_shape cat[2] = {nn_shape3(4, 4, 16), nn_shape3(4, 5, 8)};
    expect_err("Concatenate()", 2, cat, NN_ESHAPE,
               "Concatenate 't': input 1 has shape (None, 4, 5, 8) but input 0 has "
               "(None, 4, 4, 16)", "all dimensions but the concatenation axis (axis=-1)");
    const nn_shape cat1[2] = {nn_shape3(2, 4, 3), nn_shape3(2, 4, 4)};
    expect_err("Concatenate(axis=1)", 2, cat1, NN_ESHAPE, "(None, 2, 4, 4)", "(axis=1)");
    const nn_shape cr[2] = {nn_shape3(2, 4, 3), shp(2, 8, 3, 0)};
    expect_err("Concatenate()", 2, cr, NN_ESHAPE, "input 1 has shape (None, 8, 3)", NULL);
    expect_err("Concatenate(axis=4)", 2, cat1, NN_ESHAPE, "axis=4 is out of range",
               "for inputs of shape (None, 2, 4, 3): expected 1..3 or -3..-1");
    expect_err("Concatenate(axis=-5)", 2, cat1, NN_ESHAPE, "axis=-5 is out of range", NULL);
    expect_err("Concatenate(axis=0)", 2, cat1, NN_ESHAPE, "axis=0 is the batch axis",
               "1..3 or -3..-1");
    expect_err("Concatenate(axis=-4)", 2, cat1, NN_ESHAPE, "axis=-4 is the batch axis", NULL);
    const nn_shape v[1] = {nn_shape1(3)};
    expect_err("Concatenate(axis=2)", 1, v, NN_ESHAPE, "axis=2 is out of range",
               "expected 1..1 or -1..-1");
    expect_err("Concatenate()", 0, v, NN_EINVAL, "joins a list of 1 to", "found 0");

    /* options, bound as every layer's */
    expect_err("Concatenate(axis=1.5)", 2, cat1, NN_EINVAL, "axis", NULL);
    expect_err("Concatenate(axis=\"channels\")", 2, cat1, NN_EINVAL, "axis", NULL);
    expect_err("Add(3)", 2, img, NN_EINVAL, "Add", NULL);
    expect_err("Add(axis=1)", 2, img, NN_EINVAL, "axis", NULL);
    expect_err("Maximum(kernel_regularizer=l2(0.01))", 2, img, NN_EINVAL,
               "on a layer without weights", NULL);
}

int main(void)
{
    static const tu_test tests[] = {
        {"registry: Keras, R, functional names", test_registry},
        {"shapes and axes (Keras)", test_shapes},
        {"hand-computed elementwise: ties, zero factors", test_hand},
        {"hand-computed concatenate", test_hand_concat},
        {"gradcheck elementwise merges, 2-4 inputs", test_gc_elementwise},
        {"gradcheck concatenate on every axis", test_gc_concat},
        {"PyTorch fixture: forward and backward", test_golden},
        {"errors", test_errors},
        {NULL, NULL},
    };
    return tu_main("layers_merge", tests);
}
