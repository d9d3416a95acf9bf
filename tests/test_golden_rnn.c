/* Golden tests for Embedding, SimpleRNN and LSTM: forward, dx and parameter
 * gradients against fixtures that scripts/gen_fixtures_rnn.py computed with
 * PyTorch (torch.nn.RNN / torch.nn.LSTM / F.embedding, float64 rounded to
 * float32), plus one small Embedding -> SimpleRNN -> LSTM -> Dense model.
 * Per tensor we print the max |diff| and, on failure, the first bad index. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nntrain/layer.h"
#include "nntrain/model.h"
#include "nntrain/spec.h"
#include "golden_util.h"

static const gu_fixture FX = {NN_FIXTURES_DIR "/golden_rnn.h5", "gen_fixtures_rnn.py"};

/* ---- one layer ------------------------------------------------------------- */

/* Parameters come flat ("params", gradient "dparams") and per spec in block
 * order ("param0", "param1", ...). */
static void layer_case(const char *cs)
{
    gu_layer c;
    float *wg = NULL, *t = NULL;
    int nd;
    hsize_t dims[4];
    size_t n, P = 0;

    if (gu_layer_open(&c, &FX, cs) != 0)
        goto done;
    REQUIRE((c.p = gu_read_f32(c.g, "params", &nd, dims, &P)) != NULL, "%s/params", cs);
    REQUIRE(P == c.P, "%s: layer has %zu params, fixture %zu", cs, c.P, P);
    REQUIRE((wg = gu_read_f32(c.g, "dparams", &nd, dims, &n)) != NULL && n == P,
            "%s/dparams", cs);

    /* the param specs tile the block in the fixture's order with its shapes */
    nn_param_spec specs[NN_MAX_PARAM_SPECS];
    int nspec = c.l.ops->param_specs(&c.l, specs);
    REQUIRE(nspec >= 1 && nspec <= NN_MAX_PARAM_SPECS, "%s: %d param specs", cs, nspec);
    size_t off = 0;
    for (int k = 0; k < nspec; k++) {
        char name[16];
        snprintf(name, sizeof name, "param%d", k);
        REQUIRE((t = gu_read_f32(c.g, name, &nd, dims, &n)) != NULL, "%s: no fixture "
                "tensor %s for spec '%s'", cs, name, specs[k].name);
        REQUIRE(nd == specs[k].ndim, "%s/%s (%s): rank %d in fixture, %d in spec", cs, name,
                specs[k].name, nd, specs[k].ndim);
        for (int i = 0; i < nd; i++)
            REQUIRE((int)dims[i] == specs[k].dims[i], "%s/%s (%s): dim %d is %d in fixture, "
                    "%d in spec", cs, name, specs[k].name, i, (int)dims[i], specs[k].dims[i]);
        REQUIRE(specs[k].off == off, "%s: spec '%s' at %zu, expected %zu", cs, specs[k].name,
                specs[k].off, off);
        REQUIRE(off + n <= P && !memcmp(t, c.p + off, n * sizeof *t),
                "%s/%s: not the flat params at %zu", cs, name, off);
        off += n;
        free(t);
        t = NULL;
    }
    char extra[16];
    snprintf(extra, sizeof extra, "param%d", nspec);
    REQUIRE(gu_exists(c.g, extra) == 0, "%s: fixture has more tensors than the %d specs", cs,
            nspec);
    REQUIRE(off == P, "%s: specs cover %zu of %zu params", cs, off, P);

    gu_layer_run(&c);
    gu_compare(cs, "dparams", c.gr, wg, P, GU_TOL);
    /* a second backward accumulates: twice the gradient */
    memcpy(c.dy, c.wdy, c.ny * sizeof *c.dy);
    c.l.ops->backward(&c.l, c.p, c.gr, c.x, c.y, c.dy, c.dx, c.B, &c.ctx);
    for (size_t i = 0; i < P; i++)
        c.gr[i] *= 0.5f;
    gu_compare(cs, "2x dparams", c.gr, wg, P, GU_TOL);
done:
    free(t), free(wg);
    gu_layer_close(&c);
}

/* ---- a small model ------------------------------------------------------ */

static void model_case(const char *cs)
{
    hid_t f = -1, g = -1;
    char *text = NULL;
    nn_spec s;
    nn_model m;
    int have_spec = 0, have_model = 0;
    nn_error e = {0};
    float *x = NULL, *wp = NULL, *wy = NULL, *wdy = NULL, *wg = NULL, *dout = NULL;
    int nd;
    hsize_t dims[4];
    size_t nx, ny, n, P;

    REQUIRE((f = gu_open(&FX)) >= 0, "no fixture");
    REQUIRE((g = H5Gopen2(f, cs, H5P_DEFAULT)) >= 0, "%s: no group '%s'", FX.path, cs);
    REQUIRE((text = gu_attr_str(g, "spec")) != NULL, "%s: attribute 'spec'", cs);
    int rc = nn_spec_parse(text, cs, &s, &e);
    REQUIRE(rc == NN_OK, "%s: nn_spec_parse: %s", cs, e.msg);
    have_spec = 1;
    rc = nn_model_build(&m, &s, &e);
    REQUIRE(rc == NN_OK, "%s: nn_model_build: %s", cs, e.msg);
    have_model = 1;
    REQUIRE((x = gu_read_f32(g, "x", &nd, dims, &nx)) != NULL, "%s/x", cs);
    int B = (int)dims[0];
    REQUIRE(nx == (size_t)B * nn_model_in_size(&m), "%s: x size", cs);
    REQUIRE((wp = gu_read_f32(g, "params", &nd, dims, &P)) != NULL && P == m.nparams,
            "%s/params: %zu in fixture, model has %zu", cs, P, m.nparams);
    REQUIRE((wy = gu_read_f32(g, "y", &nd, dims, &ny)) != NULL &&
            ny == (size_t)B * nn_model_out_size(&m), "%s/y", cs);
    REQUIRE((wdy = gu_read_f32(g, "dy", &nd, dims, &n)) != NULL && n == ny, "%s/dy", cs);
    REQUIRE((wg = gu_read_f32(g, "dparams", &nd, dims, &n)) != NULL && n == P, "%s/dparams", cs);
    REQUIRE(!m.fused, "%s: the spec has no compile(): nothing may be fused", cs);
    memcpy(m.params, wp, P * sizeof *wp);
    rc = nn_model_plan(&m, B, &e);
    REQUIRE(rc == NN_OK, "%s: nn_model_plan: %s", cs, e.msg);
    REQUIRE((dout = malloc(ny * sizeof *dout)) != NULL, "out of memory");
    nn_ctx ctx = {.training = 1, .seed = 1};
    const float *y = nn_model_forward(&m, x, B, &ctx);
    gu_compare(cs, "y", y, wy, ny, GU_TOL);
    memcpy(dout, wdy, ny * sizeof *dout);
    memset(m.grads, 0, P * sizeof *m.grads);
    nn_model_backward(&m, x, dout, B, &ctx);
    gu_compare(cs, "dparams", m.grads, wg, P, GU_TOL);
done:
    printf("\n  -> ");
    free(x), free(wp), free(wy), free(wdy), free(wg), free(dout), free(text);
    if (have_model)
        nn_model_free(&m);
    if (have_spec)
        nn_spec_free(&s);
    gu_close_group(g);
    gu_close_file(f);
}

#define LAYER_TEST(cs) static void t_##cs(void) { layer_case(#cs); }
LAYER_TEST(emb)
LAYER_TEST(emb_len)
LAYER_TEST(rnn_last)
LAYER_TEST(rnn_seq)
LAYER_TEST(rnn_relu_nobias_seq)
LAYER_TEST(rnn_backwards_seq)
LAYER_TEST(rnn_t1)
LAYER_TEST(lstm_last)
LAYER_TEST(lstm_seq)
LAYER_TEST(lstm_nobias_backwards)
LAYER_TEST(lstm_backwards_seq)
static void t_model_imdb_tiny(void) { model_case("model_imdb_tiny"); }
#define N_CASES 12

/* Every top-level group of the fixture is exercised (a case added to the
 * script must be added here). */
static void t_fixture_complete(void)
{
    gu_fixture_complete(&FX, "test_golden_rnn.c", N_CASES);
}

int main(void)
{
    static const tu_test tests[] = {
        {"fixture_complete", t_fixture_complete},
        {"emb", t_emb},
        {"emb_len", t_emb_len},
        {"rnn_last", t_rnn_last},
        {"rnn_seq", t_rnn_seq},
        {"rnn_relu_nobias_seq", t_rnn_relu_nobias_seq},
        {"rnn_backwards_seq", t_rnn_backwards_seq},
        {"rnn_t1", t_rnn_t1},
        {"lstm_last", t_lstm_last},
        {"lstm_seq", t_lstm_seq},
        {"lstm_nobias_backwards", t_lstm_nobias_backwards},
        {"lstm_backwards_seq", t_lstm_backwards_seq},
        {"model_imdb_tiny", t_model_imdb_tiny},
        {NULL, NULL},
    };
    return tu_main("golden_rnn", tests);
}
