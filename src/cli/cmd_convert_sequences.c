/* nntrain convert sequences FILE --maxlen L -o OUT.h5: tokenised text
 * ("label tok tok ..." per line) padded as keras pad_sequences does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nntrain/sequences.h"

static const char *help =
    "usage: nntrain convert sequences TRAIN.txt --maxlen L -o OUT.h5 [options]\n"
    "\n"
    "Each line: a class label, then the token ids of one sample (integers, as\n"
    "keras.datasets.imdb gives them), separated by spaces. Samples are padded or\n"
    "truncated to L tokens like keras pad_sequences (default: zeros before, and the\n"
    "first tokens dropped) and stored as float32 (N, L) with int32 labels.\n"
    "  --maxlen L              sequence length (required)\n"
    "  --test TEST.txt         a test split in the same format -> /test\n"
    "  --num-words V           ids >= V become 2 (out of vocabulary), as imdb.load_data\n"
    "  --padding pre|post      where the zeros go (default pre)\n"
    "  --truncating pre|post   which end is cut (default pre: keep the last L)\n"
    "  -o, --out OUT.h5        output (temporary name, then renamed)\n";

int cmd_convert_sequences(int argc, char **argv, int first)
{
    cli_opt opts[] = {{"--maxlen", 1, 0, 0}, {"--test", 1, 0, 0}, {"--num-words", 1, 0, 0},
                      {"--padding", 1, 0, 0}, {"--truncating", 1, 0, 0}, {"--out", 1, 0, 0},
                      {"--compress", 1, 0, 0}, {"--help", 0, 0, 0}, {NULL, 0, 0, 0}};
    nn_error e = {0};
    const char *pos[1];
    int npos = 0;
    int rc = cli_parse_alias(argc, argv, first, CLI_ALIAS_O, opts, pos, 1, &npos, &e);
    if (!rc && cli_find(opts, "--help")->given)
        return cli_help(NULL, help);
    nn_seq_opts o;
    nn_seq_defaults(&o);
    if (!rc && npos != 1)
        rc = nn_err(&e, NN_EINVAL, "convert sequences needs one input file");
    if (!rc && !cli_find(opts, "--out")->given)
        rc = nn_err(&e, NN_EINVAL, "convert sequences needs -o OUT.h5");
    if (!rc && !cli_find(opts, "--maxlen")->given)
        rc = nn_err(&e, NN_EINVAL, "convert sequences needs --maxlen L");
    if (!rc)
        rc = cli_int(opts, "--maxlen", &o.maxlen, &e);
    if (!rc)
        rc = cli_int(opts, "--num-words", &o.num_words, &e);
    if (!rc)
        rc = cli_int(opts, "--compress", &o.compress, &e);
    const char *pad = cli_find(opts, "--padding")->value, *tr = cli_find(opts, "--truncating")->value;
    if (!rc && ((pad && strcmp(pad, "pre") && strcmp(pad, "post")) ||
                (tr && strcmp(tr, "pre") && strcmp(tr, "post"))))
        rc = nn_err(&e, NN_EINVAL, "--padding and --truncating take 'pre' or 'post'");
    if (rc)
        return cli_usage(NULL, &e, help);
    o.pre_padding = !pad || !strcmp(pad, "pre");
    o.pre_truncating = !tr || !strcmp(tr, "pre");
    const char *out = cli_find(opts, "--out")->value;
    rc = nn_convert_sequences(pos[0], cli_find(opts, "--test")->value, out, &o, &e);
    if (rc) {
        cli_error(NULL, &e);
        return CLI_FAIL;
    }
    printf("wrote %s: sequences of %d tokens\n", out, o.maxlen);
    return CLI_OK;
}
