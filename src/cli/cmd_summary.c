/* nntrain summary MODEL.nn | MODEL.json | MODEL.h5 | MODEL.keras: the Keras
 * model.summary() table of a spec, a Keras model.to_json() file, or a trained
 * model file (an nntrain checkpoint, a Keras 2 .h5 saved by model.save or a
 * Keras 3 .keras file, loaded with nn_ckpt_load_model). plot-model loads its
 * model the same way (cli_summary_model). */
#include <stdio.h>

#include "cli.h"
#include "infer.h"
#include "nntrain/model.h"

int cli_summary_model(const char *path, nn_model *m, nn_error *e)
{
    if (cli_is_model_file(path))
        return cli_load_model(path, m, 1, e);
    nn_spec s;
    int rc = cli_spec_load(path, &s, e);
    if (rc)
        return rc;
    rc = nn_model_build(m, &s, e);
    for (int i = 0; !rc && i < s.nnotes; i++)
        fprintf(stderr, "note: %s\n", s.notes[i]);
    nn_spec_free(&s);
    return rc;
}

int cmd_summary(int argc, char **argv)
{
    cli_opt opts[] = {{"--help", 0, NULL, 0}, {NULL, 0, NULL, 0}};
    const char *pos[1];
    int npos;
    nn_error e = {0};
    if (cli_parse(argc, argv, 2, opts, pos, 1, &npos, &e) || (npos != 1 && !opts[0].given)) {
        if (!e.msg[0])
            nn_err(&e, NN_EINVAL, "summary needs one model spec or model file");
        cli_error(NULL, &e);
        fprintf(stderr, "usage: nntrain summary MODEL.nn|MODEL.json|MODEL.h5|MODEL.keras\n");
        return CLI_USAGE;
    }
    if (opts[0].given) {
        printf("usage: nntrain summary MODEL.nn|MODEL.json|MODEL.h5|MODEL.keras\nPrints the "
               "layers, output "
               "shapes and parameter counts of a model spec, of a Keras model.to_json()\n"
               "file, or of a trained model file (an nntrain checkpoint or a Keras 2 .h5 saved "
               "by\nmodel.save, also .hdf5; or a Keras 3 .keras file).\n");
        return CLI_OK;
    }
    nn_model m;
    if (cli_summary_model(pos[0], &m, &e)) {
        cli_error(NULL, &e);
        return CLI_FAIL;
    }
    nn_model_summary(&m, stdout);
    if (m.compiled) {
        char opt[512];
        nn_optim_describe(&m.optim, opt, sizeof opt);
        printf("Loss: %s%s\nOptimizer: %s\n", nn_loss_names[m.loss],
               m.fused == NN_OUT_FUSED   ? " (fused with the final activation)"
               : m.fused == NN_OUT_LOGITS ? " (from_logits=True)" : "", opt);
    }
    nn_model_free(&m);
    return CLI_OK;
}
