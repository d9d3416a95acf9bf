/* The model-spec parser and argument binding: every value form (numbers,
 * both quotes, Python and R constants, tuples, lists, c(), nested calls),
 * comments, separators, multi-line calls, model.add() unwrapping and prefix
 * stripping; each malformed input with its exact path:line:col and what was
 * expected; nn_args_* binding and typed getters with their errors; and the
 * options several layers take (initialisers, activations) read by the same
 * rules, with the same message, in every layer. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nntrain/init.h"
#include "nntrain/layer.h"
#include "nntrain/spec.h"
#include "testutil.h"

/* Parses text as "t.nn"; asserts success. */
static void parse_ok(const char *text, nn_spec *s)
{
    nn_error e = {0};
    TU_ASSERT_OK(nn_spec_parse(text, "t.nn", s, &e), e);
}

/* Parses text as "t.nn"; asserts NN_EFORMAT, a message starting with where
 * ("t.nn:1:6: ") and containing needle (and needle2 unless NULL). */
static void parse_fails(const char *text, const char *where, const char *needle,
                        const char *needle2)
{
    nn_spec s;
    nn_error e = {0};
    int rc = nn_spec_parse(text, "t.nn", &s, &e);
    CU_ASSERT_EQUAL(rc, NN_EFORMAT);
    CU_ASSERT_EQUAL(e.code, NN_EFORMAT);
    if (rc == NN_OK) {
        fprintf(stderr, "  parsed although malformed: %s\n", text);
        nn_spec_free(&s);
        return;
    }
    if (strncmp(e.msg, where, strlen(where)))
        fprintf(stderr, "  expected the message to start with \"%s\": %s\n", where, e.msg);
    CU_ASSERT(strncmp(e.msg, where, strlen(where)) == 0);
    CU_ASSERT(tu_contains(e.msg, needle));
    if (needle2)
        CU_ASSERT(tu_contains(e.msg, needle2));
    CU_ASSERT_PTR_NULL(s.calls);   /* the spec was freed and zeroed */
    CU_ASSERT_EQUAL(s.ncalls, 0);
}

static int num_is(const nn_value *v, double x, int is_int)
{
    int ok = v->kind == NN_V_NUM && v->num == x && v->is_int == is_int;
    if (!ok)
        fprintf(stderr, "  expected %g (is_int %d), found kind %d %g (is_int %d)\n", x,
                is_int, v->kind, v->num, v->is_int);
    return ok;
}

/* ---- values --------------------------------------------------------------- */

static void test_numbers(void)
{
    nn_spec s;
    parse_ok("f(10, -3, 2.5, 1e-3, -0.5, +4, .5, 1E3, 7., 0, 2.5e+2)", &s);
    CU_ASSERT_EQUAL_FATAL(s.ncalls, 1);
    const nn_call *c = &s.calls[0];
    CU_ASSERT_STRING_EQUAL(c->fn, "f");
    CU_ASSERT_EQUAL_FATAL(c->nargs, 11);
    CU_ASSERT(num_is(&c->vals[0], 10, 1));
    CU_ASSERT(num_is(&c->vals[1], -3, 1));
    CU_ASSERT(num_is(&c->vals[2], 2.5, 0));
    CU_ASSERT(num_is(&c->vals[3], 1e-3, 0));
    CU_ASSERT(num_is(&c->vals[4], -0.5, 0));
    CU_ASSERT(num_is(&c->vals[5], 4, 1));
    CU_ASSERT(num_is(&c->vals[6], 0.5, 0));
    CU_ASSERT(num_is(&c->vals[7], 1000, 0));
    CU_ASSERT(num_is(&c->vals[8], 7, 0));
    CU_ASSERT(num_is(&c->vals[9], 0, 1));
    CU_ASSERT(num_is(&c->vals[10], 250, 0));
    for (int i = 0; i < c->nargs; i++)
        CU_ASSERT_PTR_NULL(c->keys[i]);
    /* positions: "f(10, -3" -> 10 at col 3, -3 at col 7 */
    CU_ASSERT_EQUAL(c->vals[0].line, 1);
    CU_ASSERT_EQUAL(c->vals[0].col, 3);
    CU_ASSERT_EQUAL(c->vals[1].col, 7);
    nn_spec_free(&s);
}

static void test_strings(void)
{
    nn_spec s;
    parse_ok("f(\"double\", 'single', \"it's\", 'say \"hi\"', \"a # not a comment\", \"\")",
             &s);
    const nn_call *c = &s.calls[0];
    CU_ASSERT_EQUAL_FATAL(c->nargs, 6);
    for (int i = 0; i < 6; i++)
        CU_ASSERT_EQUAL(c->vals[i].kind, NN_V_STR);
    CU_ASSERT_STRING_EQUAL(c->vals[0].str, "double");
    CU_ASSERT_STRING_EQUAL(c->vals[1].str, "single");
    CU_ASSERT_STRING_EQUAL(c->vals[2].str, "it's");
    CU_ASSERT_STRING_EQUAL(c->vals[3].str, "say \"hi\"");
    CU_ASSERT_STRING_EQUAL(c->vals[4].str, "a # not a comment");
    CU_ASSERT_STRING_EQUAL(c->vals[5].str, "");
    nn_spec_free(&s);
}

static void test_constants(void)
{
    nn_spec s;
    parse_ok("f(True, False, None, TRUE, FALSE, NULL, x=True)", &s);
    const nn_call *c = &s.calls[0];
    CU_ASSERT_EQUAL_FATAL(c->nargs, 7);
    CU_ASSERT(c->vals[0].kind == NN_V_BOOL && c->vals[0].boolean == 1);
    CU_ASSERT(c->vals[1].kind == NN_V_BOOL && c->vals[1].boolean == 0);
    CU_ASSERT_EQUAL(c->vals[2].kind, NN_V_NONE);
    CU_ASSERT(c->vals[3].kind == NN_V_BOOL && c->vals[3].boolean == 1);
    CU_ASSERT(c->vals[4].kind == NN_V_BOOL && c->vals[4].boolean == 0);
    CU_ASSERT_EQUAL(c->vals[5].kind, NN_V_NONE);
    CU_ASSERT_STRING_EQUAL(c->keys[6], "x");
    CU_ASSERT(c->vals[6].kind == NN_V_BOOL && c->vals[6].boolean == 1);
    nn_spec_free(&s);
}

static void test_tuples_lists_vectors(void)
{
    nn_spec s;
    parse_ok("f((3, 3), (784,), [\"accuracy\"], c(3, 3), (), [1, [2, (3,)]], c(\"a\"))", &s);
    const nn_call *c = &s.calls[0];
    CU_ASSERT_EQUAL_FATAL(c->nargs, 7);
    const nn_value *v = c->vals;
    CU_ASSERT_FATAL(v[0].kind == NN_V_LIST && v[0].n == 2);
    CU_ASSERT(num_is(&v[0].items[0], 3, 1) && num_is(&v[0].items[1], 3, 1));
    CU_ASSERT_FATAL(v[1].kind == NN_V_LIST && v[1].n == 1);
    CU_ASSERT(num_is(&v[1].items[0], 784, 1));
    CU_ASSERT_FATAL(v[2].kind == NN_V_LIST && v[2].n == 1);
    CU_ASSERT(v[2].items[0].kind == NN_V_STR && !strcmp(v[2].items[0].str, "accuracy"));
    /* c(3, 3) is a list, not a call named "c" */
    CU_ASSERT_FATAL(v[3].kind == NN_V_LIST && v[3].n == 2);
    CU_ASSERT_PTR_NULL(v[3].call);
    CU_ASSERT(num_is(&v[3].items[0], 3, 1) && num_is(&v[3].items[1], 3, 1));
    CU_ASSERT_EQUAL(v[3].col, 33);   /* at the 'c' */
    CU_ASSERT(v[4].kind == NN_V_LIST && v[4].n == 0);
    CU_ASSERT_FATAL(v[5].kind == NN_V_LIST && v[5].n == 2);
    CU_ASSERT_FATAL(v[5].items[1].kind == NN_V_LIST && v[5].items[1].n == 2);
    CU_ASSERT(v[5].items[1].items[1].kind == NN_V_LIST && v[5].items[1].items[1].n == 1);
    CU_ASSERT_FATAL(v[6].kind == NN_V_LIST && v[6].n == 1);
    CU_ASSERT(v[6].items[0].kind == NN_V_STR);
    nn_spec_free(&s);
}

static void test_nested_call(void)
{
    nn_spec s;
    parse_ok("compile(loss=\"mse\", optimizer=RMSprop(lr=1e-4, rho=0.8), metrics=[\"mae\"])",
             &s);
    const nn_call *c = &s.calls[0];
    CU_ASSERT_STRING_EQUAL(c->fn, "compile");
    CU_ASSERT_EQUAL_FATAL(c->nargs, 3);
    CU_ASSERT_STRING_EQUAL(c->keys[0], "loss");
    CU_ASSERT_STRING_EQUAL(c->keys[1], "optimizer");
    CU_ASSERT_STRING_EQUAL(c->keys[2], "metrics");
    const nn_value *o = &c->vals[1];
    CU_ASSERT_EQUAL_FATAL(o->kind, NN_V_CALL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o->call);
    CU_ASSERT_STRING_EQUAL(o->call->fn, "RMSprop");
    CU_ASSERT_EQUAL_FATAL(o->call->nargs, 2);
    CU_ASSERT_STRING_EQUAL(o->call->keys[0], "lr");
    CU_ASSERT(num_is(&o->call->vals[0], 1e-4, 0));
    CU_ASSERT_STRING_EQUAL(o->call->keys[1], "rho");
    CU_ASSERT(num_is(&o->call->vals[1], 0.8, 0));
    CU_ASSERT_EQUAL(o->call->line, 1);
    CU_ASSERT_EQUAL(o->call->col, 31);
    CU_ASSERT_STRING_EQUAL(o->call->path, "t.nn");
    nn_spec_free(&s);

    /* a module prefix inside a value is stripped too */
    parse_ok("compile(optimizer=tf.keras.optimizers.Adam(learning_rate=0.01))", &s);
    CU_ASSERT_FATAL(s.calls[0].nargs == 1 && s.calls[0].vals[0].kind == NN_V_CALL);
    CU_ASSERT_STRING_EQUAL(s.calls[0].vals[0].call->fn, "Adam");
    nn_spec_free(&s);
}

/* ---- statements ----------------------------------------------------------- */

static void test_comments_blank_lines_separators(void)
{
    const char *text =
        "# a model\n"
        "\n"
        "   \t\n"
        "Dense(10)  # trailing comment\n"
        "Dropout(0.5); Flatten() ;\n"
        ";;\n"
        "  Dense(3)\n"
        "# the end, no newline after";
    nn_spec s;
    parse_ok(text, &s);
    CU_ASSERT_EQUAL_FATAL(s.ncalls, 4);
    CU_ASSERT_STRING_EQUAL(s.calls[0].fn, "Dense");
    CU_ASSERT_EQUAL(s.calls[0].line, 4);
    CU_ASSERT_EQUAL(s.calls[0].col, 1);
    CU_ASSERT_STRING_EQUAL(s.calls[1].fn, "Dropout");
    CU_ASSERT_EQUAL(s.calls[1].line, 5);
    CU_ASSERT_STRING_EQUAL(s.calls[2].fn, "Flatten");
    CU_ASSERT_EQUAL(s.calls[2].line, 5);
    CU_ASSERT_EQUAL(s.calls[2].col, 15);
    CU_ASSERT_EQUAL(s.calls[2].nargs, 0);
    CU_ASSERT_STRING_EQUAL(s.calls[3].fn, "Dense");
    CU_ASSERT_EQUAL(s.calls[3].line, 7);
    CU_ASSERT_EQUAL(s.calls[3].col, 3);
    CU_ASSERT_STRING_EQUAL(s.calls[0].path, "t.nn");
    CU_ASSERT_STRING_EQUAL(s.path, "t.nn");
    CU_ASSERT_STRING_EQUAL(s.text, text);   /* kept verbatim for checkpoints */
    nn_spec_free(&s);

    /* an empty file or only comments: no calls, not an error */
    parse_ok("", &s);
    CU_ASSERT_EQUAL(s.ncalls, 0);
    nn_spec_free(&s);
    parse_ok("# nothing\n\n", &s);
    CU_ASSERT_EQUAL(s.ncalls, 0);
    nn_spec_free(&s);
}

static void test_multiline_call(void)
{
    nn_spec s;
    parse_ok("Conv2D(32,\n"
             "       (3, 3),   # kernel\n"
             "       padding=\"same\",\n"
             "       activation\n"
             "         = \"relu\",\n"
             "       input_shape=(28,\n"
             "                    28, 1)\n"
             ")\n"
             "Flatten()\n",
             &s);
    CU_ASSERT_EQUAL_FATAL(s.ncalls, 2);
    const nn_call *c = &s.calls[0];
    CU_ASSERT_EQUAL_FATAL(c->nargs, 5);
    CU_ASSERT_PTR_NULL(c->keys[1]);
    CU_ASSERT(c->vals[1].kind == NN_V_LIST && c->vals[1].n == 2);
    CU_ASSERT_EQUAL(c->vals[1].line, 2);
    CU_ASSERT_EQUAL(c->vals[1].col, 8);
    CU_ASSERT_STRING_EQUAL(c->keys[2], "padding");
    CU_ASSERT_EQUAL(c->vals[2].line, 3);
    CU_ASSERT_EQUAL(c->vals[2].col, 16);
    CU_ASSERT_STRING_EQUAL(c->keys[3], "activation");
    CU_ASSERT_STRING_EQUAL(c->vals[3].str, "relu");
    CU_ASSERT_EQUAL(c->vals[3].line, 5);
    CU_ASSERT(c->vals[4].kind == NN_V_LIST && c->vals[4].n == 3);
    CU_ASSERT_STRING_EQUAL(s.calls[1].fn, "Flatten");
    CU_ASSERT_EQUAL(s.calls[1].line, 9);
    nn_spec_free(&s);
}

static void test_model_add_and_prefixes(void)
{
    nn_spec s;
    parse_ok("model.add(Dense(10, activation=\"relu\"))\n"
             "model.add(keras.layers.Conv2D(4, 3))\n"
             "keras.layers.Dense(5)\n"
             "layers.Flatten()\n"
             "add(Dropout(0.5))\n"
             "model.compile(loss=\"mse\")\n",
             &s);
    CU_ASSERT_EQUAL_FATAL(s.ncalls, 6);
    CU_ASSERT_STRING_EQUAL(s.calls[0].fn, "Dense");
    CU_ASSERT_EQUAL_FATAL(s.calls[0].nargs, 2);
    CU_ASSERT_STRING_EQUAL(s.calls[0].keys[1], "activation");
    CU_ASSERT_EQUAL(s.calls[0].col, 11);   /* the inner call's position */
    CU_ASSERT_STRING_EQUAL(s.calls[1].fn, "Conv2D");
    CU_ASSERT_EQUAL(s.calls[1].nargs, 2);
    CU_ASSERT_STRING_EQUAL(s.calls[2].fn, "Dense");
    CU_ASSERT_STRING_EQUAL(s.calls[3].fn, "Flatten");
    CU_ASSERT_STRING_EQUAL(s.calls[4].fn, "Dropout");
    CU_ASSERT_STRING_EQUAL(s.calls[5].fn, "compile");
    nn_spec_free(&s);

    /* add() with anything but one positional call is left alone */
    parse_ok("model.add(Dense(10), x=1)", &s);
    CU_ASSERT_STRING_EQUAL(s.calls[0].fn, "add");
    CU_ASSERT_EQUAL(s.calls[0].nargs, 2);
    nn_spec_free(&s);
}

static void test_r_spelling(void)
{
    nn_spec s;
    parse_ok("layer_dense(units = 10, activation = 'relu', input_shape = c(4), use_bias = TRUE)",
             &s);
    const nn_call *c = &s.calls[0];
    CU_ASSERT_STRING_EQUAL(c->fn, "layer_dense");
    CU_ASSERT_EQUAL_FATAL(c->nargs, 4);
    CU_ASSERT_STRING_EQUAL(c->keys[0], "units");
    CU_ASSERT_STRING_EQUAL(c->keys[2], "input_shape");
    CU_ASSERT(c->vals[2].kind == NN_V_LIST && c->vals[2].n == 1);
    CU_ASSERT(c->vals[3].kind == NN_V_BOOL && c->vals[3].boolean);
    nn_spec_free(&s);
}

static void test_load_file(void)
{
    const char *dir = tu_tmpdir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    char path[512];
    snprintf(path, sizeof path, "%s/m.nn", dir);
    CU_ASSERT_EQUAL_FATAL(tu_write_file(path, "Dense(10, input_shape=(4,))\nDense(2)\n"), 0);
    nn_spec s;
    nn_error e = {0};
    TU_ASSERT_OK(nn_spec_load(path, &s, &e), e);
    CU_ASSERT_EQUAL(s.ncalls, 2);
    CU_ASSERT_STRING_EQUAL(s.path, path);
    CU_ASSERT_STRING_EQUAL(s.calls[1].path, path);
    nn_spec_free(&s);
    remove(path);
    remove(dir);
}

/* ---- malformed input ------------------------------------------------------ */

static void test_err_unclosed_paren(void)
{
    parse_fails("Dense(10", "t.nn:1:6: ", "expected a ')' to close this '('",
                "found end of file");
    /* across lines: still the opener, not the end of the file */
    parse_fails("Dense(10,\n  activation=\"relu\"\n\n", "t.nn:1:6: ", "to close this '('",
                NULL);
    /* innermost opener */
    parse_fails("Dense(10)\ncompile(optimizer=RMSprop(lr=1", "t.nn:2:26: ",
                "to close this '('", NULL);
    parse_fails("f(x=[1, 2", "t.nn:1:5: ", "expected a ']' to close this '['", NULL);
    /* a bracket of the wrong kind is not "unclosed" */
    parse_fails("f((1, 2])", "t.nn:1:8: ", "expected ',' or ')'", "found ']");
}

static void test_err_unclosed_string(void)
{
    parse_fails("Dense(10, activation=\"relu)\nDense(2)\n", "t.nn:1:22: ",
                "expected a closing \" for this string", "found end of line");
    parse_fails("Dense(10, activation='relu", "t.nn:1:22: ", "expected a closing '",
                "found end of file");
}

static void test_err_missing_comma(void)
{
    parse_fails("Dense(10 20)", "t.nn:1:10: ", "expected ',' or ')' after an argument",
                "found '20)'");
    parse_fails("Dense(10)\n  Conv2D(3 (3, 3))", "t.nn:2:12: ", "expected ',' or ')'", NULL);
}

static void test_err_bare_value(void)
{
    parse_fails("Dense(10)\n42\n", "t.nn:2:1: ", "expected a call such as Dense(10)",
                "found '42'");
    parse_fails("\"relu\"", "t.nn:1:1: ", "expected a call", NULL);
    parse_fails("(3, 3)", "t.nn:1:1: ", "expected a call", NULL);
    parse_fails("  True", "t.nn:1:3: ", "expected a call such as Dense(10)",
                "found a bare value");
    parse_fails("relu", "t.nn:1:1: ", "expected a call such as Dense(10)", "found 'relu'");
}

static void test_err_garbage_after_call(void)
{
    parse_fails("Dense(10) x", "t.nn:1:11: ", "expected end of line after the call",
                "found 'x'");
    parse_fails("Dense(10)\n\n   Dense(5) junk # c\n", "t.nn:3:13: ", "expected end of line",
                "found 'junk");
    /* Keras's functional API: a layer applied to a tensor that was never made */
    parse_fails("Dense(10)(x)", "t.nn:1:11: ", "name 'x' is not defined",
                "a variable must be set on an earlier line");
}

static void test_err_empty_argument(void)
{
    parse_fails("Dense(10,,)", "t.nn:1:10: ", "expected a value", "found ',)'");
    parse_fails("Dense(,10)", "t.nn:1:7: ", "expected a value", NULL);
    parse_fails("Dense(units=)", "t.nn:1:13: ", "expected a value", "found ')'");
}

static void test_err_bad_number(void)
{
    parse_fails("Dense(1.2.3)", "t.nn:1:7: ", "expected a number", "found '1.2.3'");
    parse_fails("Dropout(\n  rate=0.5x)", "t.nn:2:8: ", "expected a number", "found '0.5x'");
    parse_fails("Dense(-)", "t.nn:1:7: ", "expected a number", NULL);
    parse_fails("Dense(1e999)", "t.nn:1:7: ", "expected a number", NULL);
    /* strtod would take these; Python literals do not */
    parse_fails("Dropout(-inf)", "t.nn:1:9: ", "expected a number", "found '-inf'");
    parse_fails("Dropout(+nan)", "t.nn:1:9: ", "expected a number", NULL);
    parse_fails("Dense(0x10)", "t.nn:1:7: ", "expected a number", NULL);
}

static void test_err_unquoted_word(void)
{
    parse_fails("Dense(10, activation=relu)", "t.nn:1:22: ", "expected a value",
                "a string needs quotes: \"relu\"");
    parse_fails("compile(loss=mse)", "t.nn:1:14: ", "found 'mse'", NULL);
}

static void test_err_c_with_names(void)
{
    parse_fails("f(x=c(a=1))", "t.nn:1:5: ", "c() takes no named elements", NULL);
}

static void test_err_too_deep(void)
{
    char text[256] = "f(";
    for (int i = 0; i < 40; i++)
        strcat(text, "(");
    strcat(text, "1");
    for (int i = 0; i < 40; i++)
        strcat(text, ")");
    strcat(text, ")");
    parse_fails(text, "t.nn:1:", "less deeply nested", NULL);
}

static void test_err_nul_byte(void)
{
    const char *dir = tu_tmpdir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    char path[512];
    snprintf(path, sizeof path, "%s/nul.nn", dir);
    static const char bytes[] = "Dense(10)\nDen\0se(2)\n";
    FILE *f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(fwrite(bytes, 1, sizeof bytes - 1, f), sizeof bytes - 1);
    fclose(f);
    nn_spec s;
    nn_error e = {0};
    int rc = nn_spec_load(path, &s, &e);
    CU_ASSERT_EQUAL(rc, NN_EFORMAT);
    char where[600];
    snprintf(where, sizeof where, "%s:2:4: ", path);
    CU_ASSERT(tu_contains(e.msg, where));
    CU_ASSERT(tu_contains(e.msg, "NUL byte"));
    if (rc == NN_OK)
        nn_spec_free(&s);
    remove(path);
    remove(dir);
}

static void test_err_missing_file(void)
{
    nn_spec s;
    nn_error e = {0};
    const char *path = "/nonexistent-dir-nntrain/model.nn";
    int rc = nn_spec_load(path, &s, &e);
    CU_ASSERT_EQUAL(rc, NN_EIO);
    CU_ASSERT_EQUAL(e.code, NN_EIO);
    CU_ASSERT(tu_contains(e.msg, path));
    CU_ASSERT(tu_contains(e.msg, "No such file"));
    if (rc == NN_OK)
        nn_spec_free(&s);
}

/* ---- binding -------------------------------------------------------------- */

static const char *const dense_names[] = {"units", "activation", "use_bias", NULL};
static const char *const opt_names[] = {"learning_rate", "rho", NULL};
static const char *const opt_aliases[] = {"lr", "learning_rate", NULL};

/* Binds the first call of text to names; returns the code, message in e. */
static int bind(const char *text, const char *const names[], const char *const aliases[],
                nn_spec *s, nn_args *a, nn_error *e)
{
    memset(e, 0, sizeof *e);
    if (nn_spec_parse(text, "t.nn", s, e) || s->ncalls != 1) {
        fprintf(stderr, "  cannot parse %s: %s\n", text, e->msg);
        return 99;
    }
    return nn_args_bind(a, &s->calls[0], names, aliases, e);
}

static void test_bind_ok(void)
{
    nn_spec s;
    nn_args a;
    nn_error e;
    TU_ASSERT_OK(bind("Dense(10, use_bias=False, activation='tanh')", dense_names, NULL, &s,
                      &a, &e), e);
    CU_ASSERT(nn_args_has(&a, "units"));
    CU_ASSERT(nn_args_has(&a, "activation"));
    CU_ASSERT(nn_args_has(&a, "use_bias"));
    CU_ASSERT(!nn_args_has(&a, "nosuch"));
    int units = 0, bias = 1;
    const char *act = NULL;
    TU_ASSERT_OK(nn_args_int(&a, "units", 5, &units, &e), e);
    TU_ASSERT_OK(nn_args_bool(&a, "use_bias", 1, &bias, &e), e);
    TU_ASSERT_OK(nn_args_str(&a, "activation", NULL, &act, &e), e);
    CU_ASSERT_EQUAL(units, 10);
    CU_ASSERT_EQUAL(bias, 0);
    CU_ASSERT_STRING_EQUAL(act, "tanh");
    CU_ASSERT(a.used[0] && a.used[1] && a.used[2]);
    nn_spec_free(&s);

    /* absent and None both give the default */
    TU_ASSERT_OK(bind("Dense(activation=None)", dense_names, NULL, &s, &a, &e), e);
    CU_ASSERT(!nn_args_has(&a, "activation"));
    CU_ASSERT_PTR_NOT_NULL(nn_args_get(&a, "activation"));
    CU_ASSERT_PTR_NULL(nn_args_get(&a, "units"));
    TU_ASSERT_OK(nn_args_int(&a, "units", 7, &units, &e), e);
    TU_ASSERT_OK(nn_args_str(&a, "activation", "linear", &act, &e), e);
    CU_ASSERT_EQUAL(units, 7);
    CU_ASSERT_STRING_EQUAL(act, "linear");
    nn_spec_free(&s);

    /* aliases: lr is learning_rate */
    double lr = 0;
    TU_ASSERT_OK(bind("RMSprop(lr=1e-4)", opt_names, opt_aliases, &s, &a, &e), e);
    TU_ASSERT_OK(nn_args_double(&a, "learning_rate", 1e-3, &lr, &e), e);
    CU_ASSERT_DOUBLE_EQUAL(lr, 1e-4, 1e-12);
    nn_spec_free(&s);
}

static void test_bind_unknown_keyword(void)
{
    nn_spec s;
    nn_args a;
    nn_error e;
    int rc = bind("Dense(10,\n      activaton=\"relu\")", dense_names, NULL, &s, &a, &e);
    CU_ASSERT_EQUAL(rc, NN_EINVAL);
    CU_ASSERT(tu_contains(e.msg, "t.nn:2:17: "));
    CU_ASSERT(tu_contains(e.msg, "Dense() got an unknown argument 'activaton'"));
    CU_ASSERT(tu_contains(e.msg, "known: units, activation, use_bias"));
    nn_spec_free(&s);
}

static void test_bind_too_many_positional(void)
{
    nn_spec s;
    nn_args a;
    nn_error e;
    int rc = bind("Dense(10, \"relu\", True, 4, use_bias=False)", dense_names, NULL, &s, &a,
                  &e);
    CU_ASSERT_EQUAL(rc, NN_EINVAL);
    CU_ASSERT(tu_contains(e.msg, "t.nn:1:25: "));
    CU_ASSERT(tu_contains(e.msg, "Dense() takes at most 3 positional arguments"));
    CU_ASSERT(tu_contains(e.msg, "units, activation, use_bias"));
    CU_ASSERT(tu_contains(e.msg, "4 given"));   /* the keyword is not counted */
    nn_spec_free(&s);
}

static void test_bind_twice(void)
{
    nn_spec s;
    nn_args a;
    nn_error e;
    int rc = bind("Dense(10, units=20)", dense_names, NULL, &s, &a, &e);
    CU_ASSERT_EQUAL(rc, NN_EINVAL);
    CU_ASSERT(tu_contains(e.msg, "t.nn:1:17: "));
    CU_ASSERT(tu_contains(e.msg, "Dense() got argument 'units' twice"));
    nn_spec_free(&s);

    rc = bind("Dense(activation=\"relu\", activation=\"tanh\")", dense_names, NULL, &s, &a, &e);
    CU_ASSERT_EQUAL(rc, NN_EINVAL);
    CU_ASSERT(tu_contains(e.msg, "got argument 'activation' twice"));
    nn_spec_free(&s);

    /* an alias and its target are the same argument */
    rc = bind("RMSprop(lr=0.1, learning_rate=0.2)", opt_names, opt_aliases, &s, &a, &e);
    CU_ASSERT_EQUAL(rc, NN_EINVAL);
    CU_ASSERT(tu_contains(e.msg, "t.nn:1:31: "));
    CU_ASSERT(tu_contains(e.msg, "got argument 'learning_rate' twice"));
    nn_spec_free(&s);
}

static void test_bind_positional_after_keyword(void)
{
    nn_spec s;
    nn_args a;
    nn_error e;
    int rc = bind("Dense(units=10, \"relu\")", dense_names, NULL, &s, &a, &e);
    CU_ASSERT_EQUAL(rc, NN_EINVAL);
    CU_ASSERT(tu_contains(e.msg, "t.nn:1:17: "));
    CU_ASSERT(tu_contains(e.msg, "positional argument follows keyword argument"));
    nn_spec_free(&s);
}

/* Binds text to names, then asserts that getter(name) fails with NN_EINVAL
 * and a message containing where and each needle. */
typedef int (*getter)(nn_args *a, const char *name, nn_error *e);

static int get_int(nn_args *a, const char *name, nn_error *e)
{
    int x;
    return nn_args_int(a, name, 0, &x, e);
}

static int get_double(nn_args *a, const char *name, nn_error *e)
{
    double x;
    return nn_args_double(a, name, 0, &x, e);
}

static int get_bool(nn_args *a, const char *name, nn_error *e)
{
    int x;
    return nn_args_bool(a, name, 0, &x, e);
}

static int get_str(nn_args *a, const char *name, nn_error *e)
{
    const char *x;
    return nn_args_str(a, name, NULL, &x, e);
}

static int get_ints2(nn_args *a, const char *name, nn_error *e)
{
    int x[2];
    return nn_args_ints(a, name, 2, NULL, x, e);
}

static int get_shape3(nn_args *a, const char *name, nn_error *e)
{
    int x[3], n;
    return nn_args_shape(a, name, 3, x, &n, e);
}

static int get_choice(nn_args *a, const char *name, nn_error *e)
{
    static const char *const choices[] = {"valid", "same", NULL};
    int i;
    return nn_args_choice(a, name, "valid", choices, &i, e);
}

static void type_fails(const char *text, const char *name, getter g, const char *where,
                       const char *needle, const char *needle2)
{
    static const char *const names[] = {"x", NULL};
    nn_spec s;
    nn_args a;
    nn_error e;
    TU_ASSERT_OK(bind(text, names, NULL, &s, &a, &e), e);
    int rc = g(&a, name, &e);
    CU_ASSERT_EQUAL(rc, NN_EINVAL);
    CU_ASSERT(tu_contains(e.msg, where));
    CU_ASSERT(tu_contains(e.msg, needle));
    if (needle2)
        CU_ASSERT(tu_contains(e.msg, needle2));
    nn_spec_free(&s);
}

static void test_typed_getter_errors(void)
{
    type_fails("f(x=\"ten\")", "x", get_int, "t.nn:1:5: ",
               "f(): argument 'x' must be an integer", "got \"ten\"");
    type_fails("f(3.5)", "x", get_int, "t.nn:1:3: ", "must be an integer", "got 3.5");
    type_fails("f(x=(1,))", "x", get_int, "t.nn:1:5: ", "must be an integer",
               "got a tuple of 1 value");
    type_fails("f(x=1e12)", "x", get_int, "t.nn:1:5: ", "must be an integer", NULL);
    type_fails("f(x=True)", "x", get_double, "t.nn:1:5: ", "must be a number", "got True");
    type_fails("f(x=1)", "x", get_bool, "t.nn:1:5: ", "must be True or False", "got 1");
    type_fails("f(x=Adam())", "x", get_str, "t.nn:1:5: ", "must be a \"string\"",
               "got a call Adam()");
    type_fails("f(x=\"full\")", "x", get_choice, "t.nn:1:5: ", "unknown x 'full'",
               "known: valid, same");
    /* kernel_size-like: a scalar or exactly 2 */
    type_fails("f(x=(3, 3, 3))", "x", get_ints2, "t.nn:1:5: ",
               "must be an integer or a tuple of 2 integers", "got a tuple of 3 values");
    type_fails("f(x=(3, 2.5))", "x", get_ints2, "t.nn:1:5: ", "tuple of 2 integers", NULL);
    type_fails("f(x=\"3\")", "x", get_ints2, "t.nn:1:5: ", "tuple of 2 integers",
               "got \"3\"");
    /* input_shape-like */
    type_fails("f(x=(28, 0, 1))", "x", get_shape3, "t.nn:1:10: ",
               "x must hold positive integers", NULL);
    type_fails("f(x=(1, 2, 3, 4))", "x", get_shape3, "t.nn:1:5: ",
               "a tuple of 1 to 3 positive integers", NULL);
    type_fails("f(x=())", "x", get_shape3, "t.nn:1:5: ", "1 to 3 positive integers", NULL);
    type_fails("f(x=-4)", "x", get_shape3, "t.nn:1:5: ", "positive integers", NULL);
}

static void test_typed_getters_ok(void)
{
    static const char *const names[] = {"k", "s", "shape", "r", "p", NULL};
    static const char *const choices[] = {"valid", "same", NULL};
    nn_spec s;
    nn_args a;
    nn_error e;
    TU_ASSERT_OK(bind("f(3, (2, 1), c(28, 28, 1), 0.25, \"SAME\")", names, NULL, &s, &a, &e),
                 e);
    int k[2], st[2], shape[4], n = 0, idx = -1;
    static const int def[2] = {1, 1};
    double r;
    TU_ASSERT_OK(nn_args_ints(&a, "k", 2, NULL, k, &e), e);
    CU_ASSERT(k[0] == 3 && k[1] == 3);   /* a scalar is repeated */
    TU_ASSERT_OK(nn_args_ints(&a, "s", 2, def, st, &e), e);
    CU_ASSERT(st[0] == 2 && st[1] == 1);
    TU_ASSERT_OK(nn_args_shape(&a, "shape", 4, shape, &n, &e), e);
    CU_ASSERT_EQUAL(n, 3);
    CU_ASSERT(shape[0] == 28 && shape[1] == 28 && shape[2] == 1);
    TU_ASSERT_OK(nn_args_double(&a, "r", 0.5, &r, &e), e);
    CU_ASSERT_DOUBLE_EQUAL(r, 0.25, 0);
    TU_ASSERT_OK(nn_args_choice(&a, "p", "valid", choices, &idx, &e), e);
    CU_ASSERT_EQUAL(idx, 1);   /* case-insensitive */
    nn_spec_free(&s);

    /* 3.0 is an integer value; the defaults fill what is absent */
    TU_ASSERT_OK(bind("f(3.0)", names, NULL, &s, &a, &e), e);
    int x = 0;
    TU_ASSERT_OK(nn_args_int(&a, "k", 0, &x, &e), e);
    CU_ASSERT_EQUAL(x, 3);
    TU_ASSERT_OK(nn_args_ints(&a, "s", 2, def, st, &e), e);
    CU_ASSERT(st[0] == 1 && st[1] == 1);
    TU_ASSERT_OK(nn_args_shape(&a, "shape", 4, shape, &n, &e), e);
    CU_ASSERT_EQUAL(n, 0);
    TU_ASSERT_OK(nn_args_choice(&a, "p", "valid", choices, &idx, &e), e);
    CU_ASSERT_EQUAL(idx, 0);
    nn_spec_free(&s);
}

static void test_value_where(void)
{
    nn_spec s;
    parse_ok("\n  Dense(10,\n    activation=\"relu\")", &s);
    char buf[64];
    const nn_call *c = &s.calls[0];
    CU_ASSERT_STRING_EQUAL(nn_value_where(c, NULL, buf, sizeof buf), "t.nn:2:3");
    CU_ASSERT_STRING_EQUAL(nn_value_where(c, &c->vals[1], buf, sizeof buf), "t.nn:3:16");
    nn_spec_free(&s);
}

/* The layer path binds the same way: arity, types and unknown options of a
 * real layer reach the user with the layer's location. */
static void test_layer_binding(void)
{
    static const struct {
        const char *text, *where, *needle, *needle2;
    } cases[] = {
        {"Conv2D(32, (3, 3, 3), input_shape=(8, 8, 1))", "t.nn:1:12: ",
         "argument 'kernel_size' must be an integer or a tuple of 2 integers",
         "got a tuple of 3 values"},
        {"Dense(\"ten\")", "t.nn:1:7: ", "argument 'units' must be an integer", "got \"ten\""},
        {"Dense(3.5)", "t.nn:1:7: ", "argument 'units' must be an integer", "got 3.5"},
        {"Dense(10, foo=1)", "t.nn:1:15: ", "Dense() got an unknown argument 'foo'",
         "known: units, activation"},
        /* where it stops depends on whether input_shape, name, ... may be
         * given by position: Keras takes them as keywords only */
        {"Flatten(None, None, None, None, None, None)", "t.nn:1:",
         "Flatten() takes at most", "positional arguments (data_format"},
        {"layer_dense(units = 10, units = 3)", "t.nn:1:33: ", "argument 'units' twice",
         NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nn_spec s;
        nn_error e = {0};
        nn_layer l;
        nn_shape ish;
        int has;
        parse_ok(cases[i].text, &s);
        int rc = nn_layer_create(&l, &s.calls[0], &ish, &has, &e);
        CU_ASSERT_EQUAL(rc, NN_EINVAL);
        if (rc == NN_OK)
            nn_layer_destroy(&l);
        CU_ASSERT(tu_contains(e.msg, cases[i].where));
        CU_ASSERT(tu_contains(e.msg, cases[i].needle));
        if (cases[i].needle2)
            CU_ASSERT(tu_contains(e.msg, cases[i].needle2));
        nn_spec_free(&s);
    }
}

/* ---- one rule per option, in every layer ----------------------------------- */

/* Builds call on input in, expecting NN_EINVAL; copies the message from
 * "<kind>: " on (after the location, which differs per call) into tail. */
static void layer_err_tail(const char *call, nn_shape in, const char *kind, char *tail,
                           size_t len)
{
    nn_layer l;
    nn_error e = {0};
    char who[64];
    int rc = tu_make_layer(call, in, &l, &e);
    CU_ASSERT_EQUAL(rc, NN_EINVAL);
    if (rc == NN_OK)
        nn_layer_destroy(&l);
    snprintf(who, sizeof who, ": %s: ", kind);
    const char *at = strstr(e.msg, who);
    CU_ASSERT_PTR_NOT_NULL(at);
    snprintf(tail, len, "%s", at ? at + strlen(who) : e.msg);
    if (!at)
        fprintf(stderr, "%s: %s\n", call, e.msg);
}

/* Parameters of call on input in, initialised from a fixed seed. */
static void init_params_of(const char *call, nn_shape in, float *p, size_t n)
{
    nn_layer l;
    nn_error e = {0};
    TU_ASSERT_OK(tu_make_layer(call, in, &l, &e), e);
    CU_ASSERT_EQUAL_FATAL(l.param_len, n);
    nn_rng r = nn_rng_key(7, 1, 2, 3);
    l.ops->init_params(&l, p, &r);
    nn_layer_destroy(&l);
}

static void test_initializer_names(void)
{
    nn_init k = NN_INIT_ZEROS;
    static const struct {
        const char *name;
        nn_init kind;
    } ok[] = {{"he_normal", NN_INIT_HE_NORMAL},       {"He_Normal", NN_INIT_HE_NORMAL},
              {"HeNormal", NN_INIT_HE_NORMAL},        {"HE_NORMAL", NN_INIT_HE_NORMAL},
              {"GlorotUniform", NN_INIT_GLOROT_UNIFORM}, {"Zeros", NN_INIT_ZEROS},
              {"orthogonal", NN_INIT_ORTHOGONAL},     {"Orthogonal", NN_INIT_ORTHOGONAL},
              {"uniform", NN_INIT_UNIFORM},           {"random_uniform", NN_INIT_UNIFORM},
              {"RandomUniform", NN_INIT_UNIFORM}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        CU_ASSERT_EQUAL(nn_init_parse(ok[i].name, &k), 0);
        CU_ASSERT_EQUAL(k, ok[i].kind);
    }
    CU_ASSERT_EQUAL(nn_init_parse("magic", &k), -1);
    CU_ASSERT_EQUAL(nn_init_parse("he normal", &k), -1);
    CU_ASSERT_EQUAL(nn_init_parse(NULL, &k), -1);

    /* Dense on 9 features and a 1x1 Conv2D on 9 channels have the same
     * kernel layout and fans: every spelling gives the same draw in both. */
    float ref[40], p[40];
    init_params_of("Dense(4, kernel_initializer=\"he_normal\")", nn_shape1(9), ref, 40);
    static const char *const same[] = {
        "Dense(4, kernel_initializer=\"He_Normal\")",
        "Dense(4, kernel_initializer=\"HeNormal\")",
        "Conv2D(4, 1, kernel_initializer=\"he_normal\")",
        "Conv2D(4, 1, kernel_initializer=\"He_Normal\")",
        "Conv2D(4, 1, kernel_initializer=\"HeNormal\", bias_initializer=\"Zeros\")"};
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        nn_shape in = same[i][0] == 'D' ? nn_shape1(9) : nn_shape3(1, 1, 9);
        init_params_of(same[i], in, p, 40);
        CU_ASSERT_EQUAL(memcmp(p, ref, sizeof p), 0);
    }

    /* An unknown name: the same message in every layer, listing what that
     * layer accepts. */
    static const char *const common =
        "unknown kernel_initializer 'magic' (known: glorot_uniform, glorot_normal, "
        "he_normal, he_uniform, zeros, ones)";
    static const struct {
        const char *call, *kind, *msg;
        nn_shape in;
    } bad[] = {
        {"Dense(4, kernel_initializer=\"magic\")", "Dense", NULL, {1, {9}}},
        {"Conv2D(4, 1, kernel_initializer=\"magic\")", "Conv2D", NULL, {3, {1, 1, 9}}},
        {"Conv2DTranspose(4, 1, kernel_initializer=\"magic\")", "Conv2DTranspose", NULL,
         {3, {1, 1, 9}}},
        {"Dense(4, bias_initializer=\"zero\")", "Dense",
         "unknown bias_initializer 'zero' (known: glorot_uniform, glorot_normal, he_normal, "
         "he_uniform, zeros, ones)", {1, {9}}},
        {"SimpleRNN(4, recurrent_initializer=\"identity\")", "SimpleRNN",
         "unknown recurrent_initializer 'identity' (known: glorot_uniform, glorot_normal, "
         "he_normal, he_uniform, zeros, ones, orthogonal)", {2, {3, 2}}},
        {"LSTM(4, kernel_initializer=\"magic\")", "LSTM",
         "unknown kernel_initializer 'magic' (known: glorot_uniform, glorot_normal, "
         "he_normal, he_uniform, zeros, ones, orthogonal)", {2, {3, 2}}},
        {"Embedding(10, 8, embeddings_initializer=\"normal\")", "Embedding",
         "unknown embeddings_initializer 'normal' (known: glorot_uniform, glorot_normal, "
         "he_normal, he_uniform, zeros, ones, uniform)", {1, {5}}},
    };
    char tail[sizeof ((nn_error *)0)->msg];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        layer_err_tail(bad[i].call, bad[i].in, bad[i].kind, tail, sizeof tail);
        CU_ASSERT_STRING_EQUAL(tail, bad[i].msg ? bad[i].msg : common);
    }
    /* orthogonal is for 2-D recurrent kernels only; uniform for Embedding */
    layer_err_tail("Dense(4, kernel_initializer=\"orthogonal\")", nn_shape1(9), "Dense", tail,
                   sizeof tail);
    CU_ASSERT(tu_contains(tail, "unknown kernel_initializer 'orthogonal'"));
    layer_err_tail("Conv2D(4, 1, bias_initializer=\"uniform\")", nn_shape3(1, 1, 9),
                   "Conv2D", tail, sizeof tail);
    CU_ASSERT(tu_contains(tail, "unknown bias_initializer 'uniform'"));
}

static void test_activation_names(void)
{
    static const char *const known =
        "(known: linear, relu, sigmoid, tanh, softmax, elu, softplus, selu, gelu, swish, leaky_relu)";
    static const struct {
        const char *call, *kind, *option;
        nn_shape in;
    } bad[] = {
        {"Dense(4, activation=\"%s\")", "Dense", "activation", {1, {9}}},
        {"Conv2D(4, 1, activation=\"%s\")", "Conv2D", "activation", {3, {1, 1, 9}}},
        {"Conv2DTranspose(4, 1, activation=\"%s\")", "Conv2DTranspose", "activation",
         {3, {1, 1, 9}}},
        {"Activation(\"%s\")", "Activation", "activation", {1, {9}}},
        {"SimpleRNN(4, activation=\"%s\")", "SimpleRNN", "activation", {2, {3, 2}}},
        {"LSTM(4, activation=\"%s\")", "LSTM", "activation", {2, {3, 2}}},
        {"LSTM(4, recurrent_activation=\"%s\")", "LSTM", "recurrent_activation",
         {2, {3, 2}}},
    };
    /* Keras's activation names are case-sensitive: "Relu" is refused the
     * same way as a misspelling, by every layer, with the same suggestion. */
    static const char *const names[] = {"relux", "Relu"};
    char call[128], tail[sizeof ((nn_error *)0)->msg], want[256];
    for (size_t n = 0; n < 2; n++)
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            snprintf(call, sizeof call, bad[i].call, names[n]);
            snprintf(want, sizeof want, "unknown %s '%s': did you mean 'relu'? %s",
                     bad[i].option, names[n], known);
            layer_err_tail(call, bad[i].in, bad[i].kind, tail, sizeof tail);
            CU_ASSERT_STRING_EQUAL(tail, want);
        }

    /* None is linear in every layer that fuses its activation */
    static const char *const none[] = {"Dense(4, activation=None)",
                                       "Conv2D(4, 1, activation=None)",
                                       "Activation(None)"};
    nn_shape none_in[] = {nn_shape1(9), nn_shape3(1, 1, 9), nn_shape1(9)};
    for (size_t i = 0; i < 3; i++) {
        nn_layer l;
        nn_error e = {0};
        TU_ASSERT_OK(tu_make_layer(none[i], none_in[i], &l, &e), e);
        CU_ASSERT_EQUAL(l.act, NN_ACT_LINEAR);
        nn_layer_destroy(&l);
    }
}

int main(void)
{
    static const tu_test tests[] = {
        {"numbers", test_numbers},
        {"strings", test_strings},
        {"constants", test_constants},
        {"tuples, lists, c()", test_tuples_lists_vectors},
        {"nested call", test_nested_call},
        {"comments, blank lines, ';'", test_comments_blank_lines_separators},
        {"multi-line call", test_multiline_call},
        {"model.add() and prefixes", test_model_add_and_prefixes},
        {"R spelling", test_r_spelling},
        {"nn_spec_load", test_load_file},
        {"error: unclosed parenthesis", test_err_unclosed_paren},
        {"error: unclosed string", test_err_unclosed_string},
        {"error: missing comma", test_err_missing_comma},
        {"error: bare value line", test_err_bare_value},
        {"error: garbage after a call", test_err_garbage_after_call},
        {"error: empty argument", test_err_empty_argument},
        {"error: bad number", test_err_bad_number},
        {"error: unquoted word", test_err_unquoted_word},
        {"error: c() with names", test_err_c_with_names},
        {"error: nesting too deep", test_err_too_deep},
        {"error: NUL byte", test_err_nul_byte},
        {"error: missing file", test_err_missing_file},
        {"bind: ok, defaults, aliases", test_bind_ok},
        {"bind: unknown keyword", test_bind_unknown_keyword},
        {"bind: too many positional", test_bind_too_many_positional},
        {"bind: argument twice", test_bind_twice},
        {"bind: positional after keyword", test_bind_positional_after_keyword},
        {"getters: wrong types", test_typed_getter_errors},
        {"getters: values and defaults", test_typed_getters_ok},
        {"nn_value_where", test_value_where},
        {"layer binding errors", test_layer_binding},
        {"initialiser names: one rule in every layer", test_initializer_names},
        {"activation names: one rule in every layer", test_activation_names},
        {NULL, NULL},
    };
    return tu_main("spec", tests);
}
