/* nntrain summary MODEL.nn: the Keras model.summary() table. */
#include <stdio.h>

#include "cli.h"
#include "nntrain/model.h"

int cmd_summary(int argc, char **argv)
{
    cli_opt opts[] = {{"--help", 0, NULL, 0}, {NULL, 0, NULL, 0}};
    const char *pos[1];
    int npos;
    nn_error e = {0};
    if (cli_parse(argc, argv, 2, opts, pos, 1, &npos, &e) || (npos != 1 && !opts[0].given)) {
        if (!e.msg[0])
            nn_err(&e, NN_EINVAL, "summary needs one model spec");
        cli_error(NULL, &e);
        fprintf(stderr, "usage: nntrain summary MODEL.nn\n");
        return CLI_USAGE;
    }
    if (opts[0].given) {
        printf("usage: nntrain summary MODEL.nn\nPrints the layers, output shapes and parameter counts.\n");
        return CLI_OK;
    }
    nn_spec s;
    nn_model m;
    if (nn_spec_load(pos[0], &s, &e)) {
        cli_error(NULL, &e);
        return CLI_FAIL;
    }
    int rc = nn_model_build(&m, &s, &e);
    nn_spec_free(&s);
    if (rc) {
        cli_error(NULL, &e);
        return CLI_FAIL;
    }
    nn_model_summary(&m, stdout);
    if (m.compiled) {
        char opt[256];
        nn_optim_describe(&m.optim, opt, sizeof opt);
        printf("Loss: %s%s\nOptimizer: %s\n", nn_loss_names[m.loss],
               m.fused ? " (fused with the final activation)" : "", opt);
    }
    nn_model_free(&m);
    return CLI_OK;
}
