/* pad_sequences semantics and the sequences converter. */
#include <stdio.h>
#include <string.h>

#include "nntrain/data.h"
#include "nntrain/h5data.h"
#include "nntrain/sequences.h"
#include "testutil.h"

static void expect(const float *got, const float *want, int n)
{
    for (int i = 0; i < n; i++)
        CU_ASSERT_EQUAL(got[i], want[i]);
}

static void test_pad_pre_default(void)
{
    /* Keras: pad_sequences([[1, 2, 3]], maxlen=5) -> [[0, 0, 1, 2, 3]];
     * pad_sequences([[1..7]], maxlen=5) -> [[3, 4, 5, 6, 7]] */
    nn_seq_opts o;
    nn_seq_defaults(&o);
    o.maxlen = 5;
    const int32_t a[] = {1, 2, 3}, b[] = {1, 2, 3, 4, 5, 6, 7};
    float out[5];
    nn_pad_sequence(a, 3, &o, out);
    expect(out, (const float[]){0, 0, 1, 2, 3}, 5);
    nn_pad_sequence(b, 7, &o, out);
    expect(out, (const float[]){3, 4, 5, 6, 7}, 5);
}

static void test_pad_post_and_num_words(void)
{
    nn_seq_opts o;
    nn_seq_defaults(&o);
    o.maxlen = 5;
    o.pre_padding = 0;
    o.pre_truncating = 0;
    o.num_words = 6;
    const int32_t a[] = {1, 9, 3}, b[] = {1, 2, 3, 4, 5, 6, 7};
    float out[5];
    nn_pad_sequence(a, 3, &o, out);
    expect(out, (const float[]){1, 2, 3, 0, 0}, 5);   /* 9 >= num_words -> oov 2 */
    nn_pad_sequence(b, 7, &o, out);
    expect(out, (const float[]){1, 2, 3, 4, 5}, 5);
}

static void test_convert_round_trip(void)
{
    const char *dir = tu_tmpdir();
    char txt[300], h5[300];
    snprintf(txt, sizeof txt, "%s/t.txt", dir);
    snprintf(h5, sizeof h5, "%s/t.h5", dir);
    CU_ASSERT_EQUAL(tu_write_file(txt, "# comment\n1 5 6 7\n0 8\n\n2 1 2 3 4 5 6\n"), 0);
    nn_seq_opts o;
    nn_seq_defaults(&o);
    o.maxlen = 4;
    nn_error e = {0};
    TU_ASSERT_OK(nn_convert_sequences(txt, NULL, h5, &o, &e), e);
    nn_dataset d;
    TU_ASSERT_OK(nn_data_open(h5, "train", 0, &d, &e), e);
    CU_ASSERT_EQUAL(d.n, 3);
    CU_ASSERT_EQUAL(d.nclasses, 3);
    CU_ASSERT_EQUAL(nn_shape_size(&d.x_shape), 4);
    uint64_t idx[3] = {0, 1, 2};
    float x[12], y[3];
    TU_ASSERT_OK(d.read(&d, idx, 3, x, y, &e), e);
    expect(x, (const float[]){0, 5, 6, 7, 0, 0, 0, 8, 3, 4, 5, 6}, 12);
    expect(y, (const float[]){1, 0, 2}, 3);
    nn_data_close(&d);
}

static void test_convert_errors(void)
{
    const char *dir = tu_tmpdir();
    char txt[300], h5[300];
    snprintf(txt, sizeof txt, "%s/bad.txt", dir);
    snprintf(h5, sizeof h5, "%s/bad.h5", dir);
    nn_seq_opts o;
    nn_seq_defaults(&o);
    o.maxlen = 4;
    nn_error e = {0};
    CU_ASSERT_EQUAL(tu_write_file(txt, "1 2 3\n0 4 five\n"), 0);
    CU_ASSERT_EQUAL(nn_convert_sequences(txt, NULL, h5, &o, &e), NN_EFORMAT);
    CU_ASSERT(tu_contains(e.msg, "bad.txt:2: token 2"));
    CU_ASSERT_EQUAL(tu_write_file(txt, "x 1 2\n"), 0);
    CU_ASSERT_EQUAL(nn_convert_sequences(txt, NULL, h5, &o, &e), NN_EFORMAT);
    CU_ASSERT(tu_contains(e.msg, "bad.txt:1: expected a class label"));
    CU_ASSERT_EQUAL(tu_write_file(txt, "# nothing\n"), 0);
    CU_ASSERT_EQUAL(nn_convert_sequences(txt, NULL, h5, &o, &e), NN_EFORMAT);
    CU_ASSERT(tu_contains(e.msg, "no sequences"));
    CU_ASSERT_EQUAL(nn_convert_sequences("/nonexistent/s.txt", NULL, h5, &o, &e), NN_EIO);
    CU_ASSERT(tu_contains(e.msg, "/nonexistent/s.txt"));
    o.maxlen = 0;
    CU_ASSERT_EQUAL(nn_convert_sequences(txt, NULL, h5, &o, &e), NN_EINVAL);
    FILE *f = fopen(h5, "r");
    CU_ASSERT_PTR_NULL(f);   /* nothing written on failure */
    if (f)
        fclose(f);
}

int main(void)
{
    const tu_test tests[] = {{"pad_sequences defaults (pre, pre)", test_pad_pre_default},
                             {"post padding/truncating, num_words", test_pad_post_and_num_words},
                             {"convert round trip", test_convert_round_trip},
                             {"convert errors name file:line", test_convert_errors},
                             {NULL, NULL}};
    return tu_main("sequences", tests);
}
