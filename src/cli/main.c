/* nntrain: Keras-style Sequential models trained data-parallel over MPI. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "nntrain/gemm.h"
#include "nntrain/layer.h"

/* nntrain bench (src/cli/cmd_bench.c); belongs in cli.h next to cmd_train. */
int cmd_bench(int argc, char **argv, nn_dist *d);

static void usage(FILE *f)
{
    fprintf(f,
            "usage: nntrain <command> [options]\n"
            "\n"
            "commands:\n"
            "  summary MODEL.nn|MODEL.h5         print the Keras-style model summary\n"
            "  plot-model MODEL -o FILE.png      draw the model as Keras's plot_model\n"
            "                                    (Graphviz; also .svg, .pdf, .dot)\n"
            "  train MODEL.nn --data SRC [opts]  train (under mpirun/srun: data parallel)\n"
            "  evaluate MODEL.h5 --data SRC      loss, metrics, confusion matrix, per-class\n"
            "                                    accuracy, most confident mistakes\n"
            "  predict MODEL.h5 --data SRC|--images DIR|FILE [-o FILE.csv]\n"
            "                                    class probabilities and predictions as CSV\n"
            "  analyze MODEL.h5 --data SRC [-o DIR]\n"
            "                                    first-layer weight images, most confident\n"
            "                                    example per class (PNG + CSV)\n"
            "  explain MODEL.h5 --images DIR|--data SRC --method M -o DIR\n"
            "                                    attribution maps (saliency, integrated\n"
            "                                    gradients, DeepLIFT, Grad-CAM, ...) as PNG\n"
            "  convert idx|cifar10|csv|images|sequences SRC -o OUT.h5\n"
            "                                    convert a dataset to an nntrain HDF5 file\n"
            "  inspect FILE.h5                   shapes, classes, duplicates, checksums\n"
            "  split IN.h5 --val-fraction F -o TRAIN.h5 --val-out VAL.h5 [--dedupe]\n"
            "                                    seeded train/validation split\n"
            "  compare A.h5 B.h5                 two checkpoints' weights, optimizer state\n"
            "                                    and history, bit for bit\n"
            "  bench MODEL.nn [opts]             training images/s on synthetic data\n"
            "                                    (under mpirun: at that number of ranks)\n"
            "  augment-preview MODEL.nn --data FILE.h5 [-o grid.png]\n"
            "                                    PNG grid of the spec's ImageDataGenerator\n"
            "  version                           print version and library information\n"
            "\n"
            "Run 'nntrain <command> --help' (or 'nntrain help <command>') for the options\n"
            "of a command.\n");
}

int main(int argc, char **argv)
{
    /* "nntrain help train" is "nntrain train --help" */
    char *help_argv[4];
    if (argc == 3 && !strcmp(argv[1], "help")) {
        help_argv[0] = argv[0], help_argv[1] = argv[2], help_argv[2] = "--help";
        help_argv[3] = NULL;
        argv = help_argv;
    }
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("nntrain %s (OpenBLAS %s, convolution kernels %s)\n", NN_VERSION,
               nn_blas_corename(), nn_layer_isa());
        return CLI_OK;
    }
    if (!strcmp(cmd, "summary"))
        return cmd_summary(argc, argv);
    if (!strcmp(cmd, "plot-model"))
        return cmd_plot_model(argc, argv);
    if (!strcmp(cmd, "convert"))
        return cmd_convert(argc, argv);
    if (!strcmp(cmd, "inspect"))
        return cmd_inspect(argc, argv);
    if (!strcmp(cmd, "split"))
        return cmd_split(argc, argv);
    if (!strcmp(cmd, "compare"))
        return cmd_compare(argc, argv);
    if (!strcmp(cmd, "augment-preview"))
        return cmd_augment_preview(argc, argv);
    if (!strcmp(cmd, "evaluate") || !strcmp(cmd, "predict") || !strcmp(cmd, "analyze") ||
        !strcmp(cmd, "explain")) {
        nn_dist d;
        nn_error e = {0};
        if (nn_dist_init(&argc, &argv, &d, &e)) {
            cli_error(NULL, &e);
            return CLI_FAIL;
        }
        int rc = !strcmp(cmd, "evaluate") ? cmd_evaluate(argc, argv, &d)
                 : !strcmp(cmd, "predict") ? cmd_predict(argc, argv, &d)
                 : !strcmp(cmd, "explain") ? cmd_explain(argc, argv, &d)
                                           : cmd_analyze(argc, argv, &d);
        nn_dist_finalize(&d);
        return rc;
    }
    if (!strcmp(cmd, "train") || !strcmp(cmd, "bench")) {
        nn_dist d;
        nn_error e = {0};
        /* A preemption signal can come while MPI starts or the data opens
         * (a job signalled right after it starts): take it from the first
         * instruction, so training stops with a checkpoint at its first step
         * instead of the process dying. */
        if (!strcmp(cmd, "train"))
            (void)cli_install_stop_signals();
        if (nn_dist_init(&argc, &argv, &d, &e)) {
            cli_error(NULL, &e);
            return CLI_FAIL;
        }
        if (!strcmp(cmd, "train"))
            cli_signal_ready(&d);
        int rc = !strcmp(cmd, "train") ? cmd_train(argc, argv, &d) : cmd_bench(argc, argv, &d);
        nn_dist_finalize(&d);
        return rc;
    }
    fprintf(stderr, "nntrain: error: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return CLI_USAGE;
}
